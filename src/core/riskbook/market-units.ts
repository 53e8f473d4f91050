/**
 * Small integer units for the risk book's hot path (docs/spec/riskbook.md, RBK-001..RBK-003).
 *
 * A linear market's price is a count of ticks and a position's size a count of lots, so
 * lots × ticks counts "value units" of tickSize × lotSize × contractSize. Money in a book is a
 * count of the book's money unit μ = 10^-moneyDecimals of the settlement asset, chosen so that every
 * value and every value × maintenance rate is a whole number of μ. All exact arithmetic then stays
 * in small `bigint`s; `Fixed` appears only at the edges.
 */
import { divideRounded, FIXED_DECIMALS, FIXED_SCALE, type Fixed } from '../num/fixed.ts'
import { quotingOf } from '../model/instrument.ts'
import type { MarketRules } from '../rules/rule-set.ts'

/** Why a market cannot use the risk book's fast path (it is evaluated by the core instead). */
export type MarketSupportIssue =
  | 'not_linear'
  | 'not_tiered_by_value'
  | 'tiers_not_contiguous'
  | 'tiers_not_tax_bracket'
  | 'units_too_fine'
  | 'portfolio_margined'

/** Number of decimals of a `Fixed`: the least k with value × 10^k a whole number. */
export function decimalsOf(value: Fixed): number {
  return decimalsOfScaled(value, FIXED_DECIMALS)
}

/** Decimals of `raw` × 10^-scale (raw an integer). */
function decimalsOfScaled(raw: bigint, scale: number): number {
  let decimals = scale
  let rest = raw
  while (decimals > 0 && rest % 10n === 0n) {
    rest = divideRounded(rest, 10n, 'exact')
    decimals -= 1
  }
  return rest === 0n ? 0 : decimals
}

/**
 * A supported market's constants in book units. Tier j's line is MM = a × rate_j × L − C_j (μ),
 * where a = |lots × ticks| counts value units and L = value unit ÷ μ.
 */
export interface MarketUnits {
  readonly market: string
  readonly tickSize: Fixed
  readonly lotSize: Fixed
  /** Value unit tickSize × lotSize × contractSize, as a count of 10^-54 (exact). */
  readonly valueUnitScaled54: bigint
  /** Decimals of the value unit (the least k with valueUnit × 10^k whole). */
  readonly valueUnitDecimals: number
  /** Decimals needed by the maintenance rates and deductions (μ must be at least this fine for them). */
  readonly rateDecimals: number
  readonly deductionDecimals: number
  /** Tier floors, requirement rates (maintenance rate + close fee rate) and deductions (Fixed). */
  readonly floors: readonly Fixed[]
  readonly maintenanceRates: readonly Fixed[]
  readonly deductions: readonly Fixed[]
}

/** Reads a market's rules into book constants, or names why the fast path cannot take it. */
export function marketUnitsOf(
  rules: MarketRules,
  closeFeeRate: Fixed,
): { ok: true; units: MarketUnits } | { ok: false; code: MarketSupportIssue } {
  const { instrument, margin } = rules
  if (quotingOf(instrument.kind) !== 'linear') return { ok: false, code: 'not_linear' }
  if (margin.kind !== 'tiered' || margin.basis !== 'value' || margin.tiers.length === 0) {
    return { ok: false, code: 'not_tiered_by_value' }
  }
  const tiers = margin.tiers
  const first = tiers[0]
  if (first === undefined || first.floor !== 0n) return { ok: false, code: 'tiers_not_contiguous' }
  for (let index = 0; index < tiers.length; index++) {
    const tier = tiers[index]
    if (tier === undefined) return { ok: false, code: 'tiers_not_contiguous' }
    const next = tiers[index + 1]
    if (
      next === undefined ? tier.cap !== null : tier.cap !== next.floor || next.floor <= tier.floor
    ) {
      return { ok: false, code: 'tiers_not_contiguous' }
    }
    // Tax-bracket ladder: 0 ≤ rate ≤ 1, rates non-decreasing, cum(0) = 0,
    // cum(n) = floor(n) × (rate(n) − rate(n−1)) + cum(n−1). This makes MM continuous and convex in value.
    if (tier.maintenanceRate < 0n || tier.maintenanceRate > FIXED_SCALE)
      return { ok: false, code: 'tiers_not_tax_bracket' }
    if (index === 0) {
      if (tier.maintenanceDeduction !== 0n) return { ok: false, code: 'tiers_not_tax_bracket' }
    } else {
      const previous = tiers[index - 1]
      if (previous === undefined || tier.maintenanceRate < previous.maintenanceRate) {
        return { ok: false, code: 'tiers_not_tax_bracket' }
      }
      const expected =
        tier.floor * (tier.maintenanceRate - previous.maintenanceRate) +
        previous.maintenanceDeduction * FIXED_SCALE
      if (expected !== tier.maintenanceDeduction * FIXED_SCALE)
        return { ok: false, code: 'tiers_not_tax_bracket' }
    }
  }
  // The close fee (value × closeFeeRate) joins the maintenance requirement, so it adds to every tier's rate.
  const requirementRates = tiers.map((tier) => (tier.maintenanceRate + closeFeeRate) as Fixed)
  const last = requirementRates[requirementRates.length - 1]
  if (closeFeeRate < 0n || last === undefined || last > FIXED_SCALE)
    return { ok: false, code: 'tiers_not_tax_bracket' }
  const valueUnitScaled54 = instrument.tickSize * instrument.lotSize * instrument.contractSize
  if (valueUnitScaled54 <= 0n) return { ok: false, code: 'units_too_fine' }
  const valueUnitDecimals = decimalsOfScaled(valueUnitScaled54, 3 * FIXED_DECIMALS)
  const rateDecimals = Math.max(...requirementRates.map(decimalsOf))
  const deductionDecimals = Math.max(...tiers.map((tier) => decimalsOf(tier.maintenanceDeduction)))
  if (valueUnitDecimals + rateDecimals > FIXED_DECIMALS)
    return { ok: false, code: 'units_too_fine' }
  return {
    ok: true,
    units: {
      market: instrument.market,
      tickSize: instrument.tickSize,
      lotSize: instrument.lotSize,
      valueUnitScaled54,
      valueUnitDecimals,
      rateDecimals,
      deductionDecimals,
      floors: tiers.map((tier) => tier.floor),
      maintenanceRates: requirementRates,
      deductions: tiers.map((tier) => tier.maintenanceDeduction),
    },
  }
}

/** The least money decimals a set of markets needs: every value, value × rate and deduction whole in μ. */
export function requiredMoneyDecimals(markets: readonly MarketUnits[]): number {
  let decimals = 0
  for (const units of markets) {
    decimals = Math.max(
      decimals,
      units.valueUnitDecimals + units.rateDecimals,
      units.deductionDecimals,
    )
  }
  return decimals
}

/**
 * Per-tier coefficients in μ for a book with `moneyDecimals`:
 * valuePerUnit L = valueUnit ÷ μ; maintenancePerUnit_j = rate_j × L; deduction_j = cum_j ÷ μ;
 * threshold_j = ceil(floor_j ÷ valueUnit), the least a in tier j (a is a whole count of value units).
 */
export interface MarketCoefficients {
  readonly valuePerUnit: bigint
  readonly maintenancePerUnit: readonly bigint[]
  readonly deductions: readonly bigint[]
  readonly thresholds: readonly bigint[]
}

/** Converts a market's constants to whole numbers of μ (moneyDecimals ≥ requiredMoneyDecimals). */
export function coefficientsOf(units: MarketUnits, moneyDecimals: number): MarketCoefficients {
  const scale54 = 10n ** BigInt(3 * FIXED_DECIMALS - moneyDecimals)
  const valuePerUnit = divideRounded(units.valueUnitScaled54, scale54, 'exact')
  const moneyScale = 10n ** BigInt(FIXED_DECIMALS - moneyDecimals)
  return {
    valuePerUnit,
    maintenancePerUnit: units.maintenanceRates.map((rate) =>
      divideRounded(rate * valuePerUnit, FIXED_SCALE, 'exact'),
    ),
    deductions: units.deductions.map((deduction) => divideRounded(deduction, moneyScale, 'exact')),
    thresholds: units.floors.map((floor) =>
      divideRounded(floor * FIXED_SCALE * FIXED_SCALE, units.valueUnitScaled54, 'ceil'),
    ),
  }
}
