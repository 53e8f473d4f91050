/**
 * Margin rates of a rule set scaled by a factor (docs/spec/dynamic-margin.md, DYN-012..DYN-014):
 * how a dynamic margin rate (DYN-008) re-sets a venue's published margin model. Every initial and
 * maintenance rate of one market's model is multiplied by the factor, rounded up (against the
 * account) and held at 1; everything else in the rule set is left as it is. The result is a rule
 * set the validator accepts (`parseRuleSet(ruleSetToJson(scaled))` gives it back) and the engine
 * takes as a `rules_change`: the instruments do not change.
 */
import { assert } from '../assert.ts'
import { abs, add, type Fixed, formatFixed, max, min, mul, ONE, sub, ZERO } from '../num/fixed.ts'
import { DEDUCTION_TOLERANCE, recurrenceDeductions } from '../rules/parse.ts'
import type { MarginModel, MarginTier, RuleSet } from '../rules/rule-set.ts'

/** A rate × factor, rounded up and held at 1 (DYN-012). */
export function scaleRate(rate: Fixed, factor: Fixed): Fixed {
  return min(ONE, mul(rate, factor, 'ceil'))
}

/**
 * The version label of a rule set whose margin was scaled: the published version with the factor
 * appended (`2024-06-01-margin-x1.25`), so that a journal's `rules_changed` events tell the
 * re-sets apart from the published rules.
 */
export function scaledVersion(version: string, factor: Fixed): string {
  return `${version}-margin-x${formatFixed(factor)}`
}

/**
 * A tax-bracket ladder with scaled rates (DYN-012). Rates only ever rise (or fall) together, so the
 * ladder stays non-decreasing and each tier's initial rate stays at or above its maintenance
 * rate. A marginal ladder's deductions follow the tax-bracket recurrence of the new rates, keeping
 * the offset (under a cent, RUL-006) a published deduction had from the recurrence of the old
 * ones; a whole-position ladder keeps its zero deductions.
 */
function scaleTiers(tiers: readonly MarginTier[], factor: Fixed): MarginTier[] {
  const scaled = tiers.map((tier) => ({
    ...tier,
    maintenanceRate: scaleRate(tier.maintenanceRate, factor),
    initialRate: scaleRate(tier.initialRate, factor),
  }))
  const before = recurrenceDeductions(tiers)
  const marginal = tiers.every(
    (tier, index) =>
      abs(sub(tier.maintenanceDeduction, before[index] ?? ZERO)) < DEDUCTION_TOLERANCE,
  )
  if (!marginal) {
    assert(
      tiers.every((tier) => tier.maintenanceDeduction === 0n),
      'Invariant: a ladder is marginal (deductions from the recurrence) or whole-position (no deductions) (RUL-006)',
    )
    return scaled
  }
  const after = recurrenceDeductions(scaled)
  return scaled.map((tier, index) => {
    const offset = sub(tiers[index]?.maintenanceDeduction ?? ZERO, before[index] ?? ZERO)
    return { ...tier, maintenanceDeduction: max(ZERO, add(after[index] ?? ZERO, offset)) }
  })
}

/** A margin model with every initial and maintenance rate × factor (DYN-012). */
export function scaleMarginModel(model: MarginModel, factor: Fixed): MarginModel {
  assert(factor > 0n, `Invariant: a margin scaling factor is positive (DYN-012, factor=${factor})`)
  switch (model.kind) {
    case 'tiered':
      return { ...model, tiers: scaleTiers(model.tiers, factor) }
    case 'risk_limit_steps':
      // Rate at n steps = base + n × step: scaling both scales every step's rate.
      return {
        ...model,
        maintenanceRateBase: scaleRate(model.maintenanceRateBase, factor),
        maintenanceRateStep: scaleRate(model.maintenanceRateStep, factor),
        initialRateBase: scaleRate(model.initialRateBase, factor),
        initialRateStep: scaleRate(model.initialRateStep, factor),
      }
    case 'linear_in_size':
      return {
        ...model,
        initialRateBase: scaleRate(model.initialRateBase, factor),
        initialRatePerUnit: scaleRate(model.initialRatePerUnit, factor),
        maintenanceRateBase: scaleRate(model.maintenanceRateBase, factor),
        maintenanceRatePerUnit: scaleRate(model.maintenanceRatePerUnit, factor),
      }
    case 'open_interest_scaled':
      // Maintenance is a fraction of the initial rate, so it scales with it; above the lower
      // open-interest cap the rise to 1 starts from the scaled rate.
      return { ...model, initialRate: scaleRate(model.initialRate, factor) }
  }
}

/** True when two margin models state the same rates and deductions. */
function sameMarginModel(a: MarginModel, b: MarginModel): boolean {
  const bigintsAsText = (_key: string, value: unknown): unknown =>
    typeof value === 'bigint' ? String(value) : value
  return JSON.stringify(a, bigintsAsText) === JSON.stringify(b, bigintsAsText)
}

/**
 * `ruleSet` with the margin model of `marketId` scaled by `factor` (DYN-012..DYN-014): a new rule
 * set with the same id, the version `scaledVersion(version, factor)` and every other market,
 * fee, liquidation and portfolio rule unchanged. When the rates do not change (factor 1, or a
 * model whose rates are all 0) the rule set itself is returned.
 */
export function scaleMarketMargin(ruleSet: RuleSet, marketId: string, factor: Fixed): RuleSet {
  const market = ruleSet.markets.get(marketId)
  assert(
    market !== undefined,
    `Invariant: a scaled market is in the rule set (DYN-012, market=${marketId})`,
  )
  const margin = scaleMarginModel(market.margin, factor)
  if (sameMarginModel(margin, market.margin)) return ruleSet
  const markets = new Map(
    [...ruleSet.markets].map(([id, rules]) => [id, id === marketId ? { ...rules, margin } : rules]),
  )
  return {
    ...ruleSet,
    version: scaledVersion(ruleSet.version, factor),
    description: `${ruleSet.description} (${marketId} margin rates × ${formatFixed(factor)}, dynamic margin)`,
    markets,
  }
}
