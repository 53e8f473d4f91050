/**
 * Margin rates of a position under each margin model (docs/spec/margin.md, MRG-001..MRG-008).
 *
 * A model yields, for a position of a size at a price, the initial and maintenance rates in force
 * and a maintenance deduction: maintenance = value × maintenanceRate − maintenanceDeduction. Rates
 * that need rounding (products with a size, interpolations) round up: requirements round against
 * the account (NUM-006).
 */
import { assert } from '../assert.ts'
import { quotingOf } from '../model/instrument.ts'
import { positionValue } from '../model/position-math.ts'
import {
  abs,
  add,
  div,
  divideRounded,
  type Fixed,
  fromScaled,
  max,
  mul,
  mulDiv,
  ONE,
  sub,
  ZERO,
} from '../num/fixed.ts'
import type { MarginTier, MarketRules, TierBasis } from '../rules/rule-set.ts'

/** The rates in force for one position. */
export interface MarginRates {
  readonly initialRate: Fixed
  readonly maintenanceRate: Fixed
  /** Subtracted from value × maintenanceRate, in the settlement asset (0 outside tax-bracket ladders). */
  readonly maintenanceDeduction: Fixed
  /** Tier (ladder), step count (risk-limit steps) or 0 (continuous models). */
  readonly tierIndex: number
}

/** Rates in force for a position of `size` contracts valued at `price` (openInterestValue only for open_interest_scaled). */
export function marginRates(
  market: MarketRules,
  size: Fixed,
  price: Fixed,
  openInterestValue?: Fixed,
): MarginRates {
  return marginRatesForValue(
    market,
    size,
    positionValue(market.instrument, size, price),
    openInterestValue,
  )
}

/**
 * Rates for a position of `size` contracts whose value (notional, unsigned) is `value`. The same
 * as `marginRates` at the price that gives this value; used where the value is known (entry value).
 */
export function marginRatesForValue(
  market: MarketRules,
  size: Fixed,
  value: Fixed,
  openInterestValue?: Fixed,
): MarginRates {
  const model = market.margin
  switch (model.kind) {
    case 'tiered': {
      const basis = tierBasisValue(market, model.basis, size, value)
      const tierIndex = tierIndexOf(model.tiers, basis)
      const tier = model.tiers[tierIndex]
      assert(
        tier !== undefined,
        `Invariant: a tiered margin model has a tier for every basis (MRG-002, market=${market.instrument.market})`,
      )
      return {
        initialRate: tier.initialRate,
        maintenanceRate: tier.maintenanceRate,
        maintenanceDeduction: tier.maintenanceDeduction,
        tierIndex,
      }
    }
    case 'risk_limit_steps': {
      const basis = tierBasisValue(market, model.basis, size, value)
      assert(
        model.riskLimitStep > 0n,
        `Invariant: a risk limit step is positive (MRG-003, market=${market.instrument.market})`,
      )
      const above = sub(basis, model.baseRiskLimit)
      const steps = above > 0n ? divideRounded(above, model.riskLimitStep, 'ceil') : 0n
      return {
        initialRate: add(model.initialRateBase, fromScaled(model.initialRateStep * steps)),
        maintenanceRate: add(
          model.maintenanceRateBase,
          fromScaled(model.maintenanceRateStep * steps),
        ),
        maintenanceDeduction: ZERO,
        tierIndex: Number(steps),
      }
    }
    case 'linear_in_size': {
      const basis = tierBasisValue(market, model.basis, size, value)
      return {
        initialRate: add(model.initialRateBase, mul(basis, model.initialRatePerUnit, 'ceil')),
        maintenanceRate: add(
          model.maintenanceRateBase,
          mul(basis, model.maintenanceRatePerUnit, 'ceil'),
        ),
        maintenanceDeduction: ZERO,
        tierIndex: 0,
      }
    }
    case 'open_interest_scaled': {
      const initialRate = openInterestInitialRate(
        model.initialRate,
        model.openInterestLowerCap,
        model.openInterestUpperCap,
        openInterestValue ?? ZERO,
      )
      return {
        initialRate,
        maintenanceRate: mul(model.maintenanceFraction, initialRate, 'ceil'),
        maintenanceDeduction: ZERO,
        tierIndex: 0,
      }
    }
  }
}

/**
 * The quantity a tier is looked up by (MRG-001): `value` the position value; `size` |size| in
 * contracts; `base_size` |size| × contractSize for linear, the value (in base) for inverse.
 */
export function tierBasisValue(
  market: MarketRules,
  basis: TierBasis,
  size: Fixed,
  value: Fixed,
): Fixed {
  switch (basis) {
    case 'value':
      return value
    case 'size':
      return abs(size)
    case 'base_size':
      return quotingOf(market.instrument.kind) === 'linear'
        ? mul(abs(size), market.instrument.contractSize, 'ceil')
        : value
  }
}

/** Index of the tier whose [floor, cap) holds `basis`; the first tier below its floor, the last above every cap (MRG-002). */
export function tierIndexOf(tiers: readonly MarginTier[], basis: Fixed): number {
  assert(tiers.length > 0, 'Invariant: a tiered margin model has at least one tier (MRG-002)')
  for (let index = 0; index < tiers.length; index++) {
    const tier = tiers[index]
    if (tier === undefined) continue
    if (tier.cap === null || basis < tier.cap) return index
  }
  return tiers.length - 1
}

/**
 * Open-interest initial margin fraction (MRG-005): `initialRate` up to the lower cap, rising
 * linearly to 1 at the upper cap, 1 above it; rounded up.
 */
export function openInterestInitialRate(
  initialRate: Fixed,
  lowerCap: Fixed,
  upperCap: Fixed,
  openInterestValue: Fixed,
): Fixed {
  // dYdX writes both caps as 0 for a liquidity tier without open-interest scaling (MRG-005).
  if (upperCap === 0n) return initialRate
  if (openInterestValue <= lowerCap) return initialRate
  if (openInterestValue >= upperCap) return max(initialRate, ONE)
  const rise = mulDiv(
    sub(ONE, initialRate),
    sub(openInterestValue, lowerCap),
    sub(upperCap, lowerCap),
    'ceil',
  )
  return add(initialRate, rise)
}

/**
 * Cumulative maintenance deductions of a tax-bracket ladder (MRG-002): deduction(0) = 0,
 * deduction(n) = floor(n) × (rate(n) − rate(n−1)) + deduction(n−1). Exact.
 */
export function taxBracketDeductions(
  tiers: readonly { readonly floor: Fixed; readonly maintenanceRate: Fixed }[],
): Fixed[] {
  const deductions: Fixed[] = []
  let previousRate = ZERO
  let previousDeduction = ZERO
  for (const [index, tier] of tiers.entries()) {
    const deduction =
      index === 0
        ? ZERO
        : add(mul(tier.floor, sub(tier.maintenanceRate, previousRate), 'exact'), previousDeduction)
    deductions.push(deduction)
    previousRate = tier.maintenanceRate
    previousDeduction = deduction
  }
  return deductions
}

/** Maintenance margin of a position of value `value` at `rates`: value × rate − deduction, rounded up, never below 0 (MRG-006). */
export function maintenanceMarginOf(value: Fixed, rates: MarginRates): Fixed {
  return max(ZERO, sub(mul(value, rates.maintenanceRate, 'ceil'), rates.maintenanceDeduction))
}

/**
 * Initial margin of a position of value `value` (MRG-007): value × max(initialRate, 1 ÷ leverage)
 * when the trader picked a leverage, else value × initialRate; one rounding, up.
 */
export function initialMarginOf(value: Fixed, rates: MarginRates, leverage: Fixed | null): Fixed {
  if (leverage === null) return mul(value, rates.initialRate, 'ceil')
  assert(leverage > 0n, `Invariant: a picked leverage is positive (MRG-007, leverage=${leverage})`)
  // 1 ÷ leverage > initialRate exactly when initialRate × leverage < 1.
  const leverageBinds = rates.initialRate * leverage < ONE * ONE
  return leverageBinds ? div(value, leverage, 'ceil') : mul(value, rates.initialRate, 'ceil')
}

/** 1 ÷ leverage, rounded up. */
export function leverageRate(leverage: Fixed): Fixed {
  assert(leverage > 0n, `Invariant: a picked leverage is positive (MRG-007, leverage=${leverage})`)
  return div(ONE, leverage, 'ceil')
}
