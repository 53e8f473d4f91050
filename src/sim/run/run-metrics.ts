/**
 * Metrics of one run and across Monte Carlo seeds (SIMRUN-040..SIMRUN-046), computed with
 * `src/sim/metrics.ts` from what the tick loop recorded. Amounts are exact.
 */
import { add, type Fixed, ZERO } from '../../core/num/fixed.ts'
import {
  cascadeAmplification,
  type LossGivenDefaultSummary,
  liquidationsAtRisk,
  lossGivenDefault,
  maxDrawdown,
  percentile,
  quantile,
  sortAscending,
  total,
} from '../metrics.ts'
import type { PricePath } from '../paths/price-path.ts'
import { isLiquidationKind } from '../report/result.ts'
import type { TickLoopOutput } from './tick-loop.ts'

/** What one rule set did on one path. */
export interface RunMetrics {
  readonly liquidationCount: number
  readonly liquidatedValue: Fixed
  readonly exitOrderCount: number
  readonly exitOrderValue: Fixed
  readonly insuranceFundStart: Fixed
  readonly insuranceFundEnd: Fixed
  readonly insuranceFundMaxDrawdown: Fixed
  readonly autoDeleverageCount: number
  readonly autoDeleverageValue: Fixed
  readonly socializedLoss: Fixed
  readonly badDebt: Fixed
  /** Bad debt the insurance fund did not absorb: ADL + socialized + left unresolved. */
  readonly uncoveredLoss: Fixed
  /** The same in the quote currency, each part at the mark of its moment. */
  readonly uncoveredLossInQuote: Fixed
  readonly lossGivenDefault: LossGivenDefaultSummary
  /** (simulated fall − exogenous fall) ÷ exogenous fall; null without a fall. */
  readonly cascadeAmplification: Fixed | null
  /** Sum of the two largest single-account shortfalls (the Cover-2 standard's stress loss). */
  readonly coverTwoLoss: Fixed
  /** Whether the fund at the start covers the two largest shortfalls. */
  readonly coverTwoAdequate: boolean
}

/** Metrics of one tick-loop run. */
export function runMetrics(output: TickLoopOutput, path: PricePath): RunMetrics {
  const outcome = output.outcome
  const liquidations = outcome.forcedCloses.filter((close) => isLiquidationKind(close.kind))
  const exits = outcome.forcedCloses.filter((close) => !isLiquidationKind(close.kind))
  const fund = outcome.insuranceFund.map((point) => point.balance)
  const fundStart = output.insuranceFundStart
  const fundEnd = fund.at(-1) ?? ZERO
  const socialized = total(outcome.socializedLosses.map((loss) => loss.amount))
  const adlValue = total(outcome.autoDeleverages.map((event) => event.value))
  const uncovered = output.uncoveredLoss
  const losses = sortAscending(output.defaults.map((entry) => entry.loss))
  const coverTwoLoss = add(losses.at(-1) ?? ZERO, losses.at(-2) ?? ZERO)
  const defaults = output.defaults.filter((entry) => entry.exposure > 0n)
  return {
    liquidationCount: liquidations.length,
    liquidatedValue: total(liquidations.map((close) => close.value)),
    exitOrderCount: exits.length,
    exitOrderValue: total(exits.map((close) => close.value)),
    insuranceFundStart: fundStart,
    insuranceFundEnd: fundEnd,
    insuranceFundMaxDrawdown: fund.length > 0 ? maxDrawdown(fund).drawdown : ZERO,
    autoDeleverageCount: outcome.autoDeleverages.length,
    autoDeleverageValue: adlValue,
    socializedLoss: socialized,
    badDebt: outcome.badDebt,
    uncoveredLoss: uncovered,
    uncoveredLossInQuote: output.uncoveredLossInQuote,
    lossGivenDefault: lossGivenDefault(defaults),
    cascadeAmplification: cascadeAmplification(
      path.points.map((point) => point.price),
      outcome.prices.map((point) => point.price),
    ).amplification,
    coverTwoLoss,
    coverTwoAdequate: fundStart >= coverTwoLoss,
  }
}

/** One rule set's figures on one Monte Carlo path (small enough to send between threads). */
export interface SeedFigures {
  readonly ruleSetId: string
  readonly liquidationCount: number
  readonly liquidatedValue: Fixed
  readonly badDebt: Fixed
  readonly uncoveredLoss: Fixed
  readonly uncoveredLossInQuote: Fixed
  readonly autoDeleverageValue: Fixed
  readonly socializedLoss: Fixed
  readonly coverTwoAdequate: boolean
}

/** Across seeds, per rule set (SIMRUN-045). */
export interface MonteCarloMetrics {
  readonly ruleSetId: string
  readonly paths: number
  /** p95 and p99 (linear) of the uncovered loss per path: the insolvency the fund did not absorb. */
  readonly insolvencyP95: Fixed
  readonly insolvencyP99: Fixed
  /** Share of paths with any uncovered loss, in thousandths-free exact form (count ÷ paths). */
  readonly pathsWithUncoveredLoss: number
  /** p95 of liquidated value across paths (liquidations-at-risk). */
  readonly liquidationsAtRisk: Fixed
  readonly badDebtP95: Fixed
  /** Paths whose fund covered the two largest shortfalls. */
  readonly coverTwoAdequatePaths: number
}

/** Aggregates per-seed figures of one rule set. */
export function monteCarloMetrics(
  ruleSetId: string,
  figures: readonly SeedFigures[],
): MonteCarloMetrics {
  const uncovered = sortAscending(figures.map((entry) => entry.uncoveredLoss))
  const badDebt = sortAscending(figures.map((entry) => entry.badDebt))
  return {
    ruleSetId,
    paths: figures.length,
    insolvencyP95: uncovered.length > 0 ? quantile(uncovered, percentile(95)) : ZERO,
    insolvencyP99: uncovered.length > 0 ? quantile(uncovered, percentile(99)) : ZERO,
    pathsWithUncoveredLoss: figures.filter((entry) => entry.uncoveredLoss > 0n).length,
    liquidationsAtRisk:
      figures.length > 0 ? liquidationsAtRisk(figures.map((entry) => entry.liquidatedValue)) : ZERO,
    badDebtP95: badDebt.length > 0 ? quantile(badDebt, percentile(95)) : ZERO,
    coverTwoAdequatePaths: figures.filter((entry) => entry.coverTwoAdequate).length,
  }
}

/** The per-seed figures of a run's metrics. */
export function seedFigures(ruleSetId: string, metrics: RunMetrics): SeedFigures {
  return {
    ruleSetId,
    liquidationCount: metrics.liquidationCount,
    liquidatedValue: metrics.liquidatedValue,
    badDebt: metrics.badDebt,
    uncoveredLoss: metrics.uncoveredLoss,
    uncoveredLossInQuote: metrics.uncoveredLossInQuote,
    autoDeleverageValue: metrics.autoDeleverageValue,
    socializedLoss: metrics.socializedLoss,
    coverTwoAdequate: metrics.coverTwoAdequate,
  }
}
