/**
 * Per-rule-set metrics computed from a `SimulationResult` (SIM-052): the numbers of the report's
 * comparison table and of the metrics CSV. Everything is derived from the result's lists, exactly.
 */
import { type Fixed, formatFixed, ZERO } from '../../core/num/fixed.ts'
import {
  cascadeAmplification,
  maxDrawdown,
  percentile,
  quantile,
  sortAscending,
  total,
} from '../metrics.ts'
import { isLiquidationKind, type RuleSetOutcome, type SimulationResult } from './result.ts'

export interface OutcomeSummary {
  readonly ruleSetId: string
  readonly venue: string
  readonly liquidationCount: number
  readonly liquidatedValue: Fixed
  /** Stop-loss, take-profit and daily-loss-limit closes. */
  readonly exitOrderCount: number
  readonly exitOrderValue: Fixed
  readonly badDebt: Fixed
  readonly insuranceFundStart: Fixed | null
  readonly insuranceFundEnd: Fixed | null
  readonly insuranceFundMinimum: Fixed | null
  readonly insuranceFundDrawdown: Fixed
  readonly autoDeleverageCount: number
  readonly autoDeleverageValue: Fixed
  readonly socializedLoss: Fixed
  readonly lowestPrice: Fixed | null
  /** Endogenous ÷ exogenous fall (see metrics.ts); null without a fall or without prices. */
  readonly cascadeAmplification: Fixed | null
  readonly monteCarloPaths: number
  readonly monteCarloLossP95: Fixed | null
  readonly monteCarloLossP99: Fixed | null
}

/** Summarizes one rule set's outcome against the shared exogenous path. */
export function summarizeOutcome(
  result: SimulationResult,
  outcome: RuleSetOutcome,
): OutcomeSummary {
  const liquidations = outcome.forcedCloses.filter((close) => isLiquidationKind(close.kind))
  const exits = outcome.forcedCloses.filter((close) => !isLiquidationKind(close.kind))
  const fund = outcome.insuranceFund.map((point) => point.balance)
  const prices = outcome.prices.map((point) => point.price)
  const exogenous = result.exogenousPrices.map((point) => point.price)
  const comparable = prices.length > 0 && prices.length === exogenous.length
  const losses = sortAscending(outcome.monteCarloLosses ?? [])
  return {
    ruleSetId: outcome.ruleSetId,
    venue: outcome.venue,
    liquidationCount: liquidations.length,
    liquidatedValue: total(liquidations.map((close) => close.value)),
    exitOrderCount: exits.length,
    exitOrderValue: total(exits.map((close) => close.value)),
    badDebt: outcome.badDebt,
    insuranceFundStart: fund[0] ?? null,
    insuranceFundEnd: fund.at(-1) ?? null,
    insuranceFundMinimum:
      fund.length > 0 ? fund.reduce((low, value) => (value < low ? value : low)) : null,
    insuranceFundDrawdown: fund.length > 0 ? maxDrawdown(fund).drawdown : ZERO,
    autoDeleverageCount: outcome.autoDeleverages.length,
    autoDeleverageValue: total(outcome.autoDeleverages.map((event) => event.value)),
    socializedLoss: total(outcome.socializedLosses.map((loss) => loss.amount)),
    lowestPrice:
      prices.length > 0 ? prices.reduce((low, value) => (value < low ? value : low)) : null,
    cascadeAmplification: comparable ? cascadeAmplification(exogenous, prices).amplification : null,
    monteCarloPaths: losses.length,
    monteCarloLossP95: losses.length > 0 ? quantile(losses, percentile(95)) : null,
    monteCarloLossP99: losses.length > 0 ? quantile(losses, percentile(99)) : null,
  }
}

export interface MetricRow {
  readonly key: string
  readonly label: string
  readonly unit: string
  /** One exact text value per rule set, in the result's order ('' when not applicable). */
  readonly values: readonly string[]
}

const decimalOrEmpty = (value: Fixed | null, decimals?: number): string =>
  value === null ? '' : formatFixed(value, decimals)

/** The comparison table: one row per metric, one column per rule set (exact decimals). */
export function metricRows(result: SimulationResult): MetricRow[] {
  const summaries = result.outcomes.map((outcome) => summarizeOutcome(result, outcome))
  const asset = result.settlementAsset
  const row = (
    key: string,
    label: string,
    unit: string,
    value: (summary: OutcomeSummary) => string,
  ): MetricRow => ({
    key,
    label,
    unit,
    values: summaries.map(value),
  })
  const rows: MetricRow[] = [
    row('liquidation_count', 'Liquidations', 'count', (s) => String(s.liquidationCount)),
    row('liquidated_value', 'Liquidated value', asset, (s) => formatFixed(s.liquidatedValue)),
    row('exit_order_count', 'Stops, targets, loss limits', 'count', (s) =>
      String(s.exitOrderCount),
    ),
    row('exit_order_value', 'Value closed by exit orders', asset, (s) =>
      formatFixed(s.exitOrderValue),
    ),
    row('bad_debt', 'Bad debt (shortfall)', asset, (s) => formatFixed(s.badDebt)),
    row('insurance_fund_start', 'Insurance fund, start', asset, (s) =>
      decimalOrEmpty(s.insuranceFundStart),
    ),
    row('insurance_fund_end', 'Insurance fund, end', asset, (s) =>
      decimalOrEmpty(s.insuranceFundEnd),
    ),
    row('insurance_fund_minimum', 'Insurance fund, lowest', asset, (s) =>
      decimalOrEmpty(s.insuranceFundMinimum),
    ),
    row('insurance_fund_drawdown', 'Insurance fund, max drawdown', asset, (s) =>
      formatFixed(s.insuranceFundDrawdown),
    ),
    row('auto_deleverage_count', 'Auto-deleveraging events', 'count', (s) =>
      String(s.autoDeleverageCount),
    ),
    row('auto_deleverage_value', 'Auto-deleveraged value', asset, (s) =>
      formatFixed(s.autoDeleverageValue),
    ),
    row('socialized_loss', 'Socialized loss', asset, (s) => formatFixed(s.socializedLoss)),
    row('lowest_price', 'Lowest simulated price', 'price', (s) => decimalOrEmpty(s.lowestPrice)),
    row(
      'cascade_amplification',
      'Cascade amplification (endogenous ÷ exogenous fall)',
      'ratio',
      (s) => decimalOrEmpty(s.cascadeAmplification, 4),
    ),
  ]
  if (summaries.some((summary) => summary.monteCarloPaths > 0)) {
    rows.push(
      row('monte_carlo_paths', 'Monte Carlo paths', 'count', (s) => String(s.monteCarloPaths)),
      row('monte_carlo_loss_p95', 'Uncovered loss, p95', asset, (s) =>
        decimalOrEmpty(s.monteCarloLossP95),
      ),
      row('monte_carlo_loss_p99', 'Uncovered loss, p99', asset, (s) =>
        decimalOrEmpty(s.monteCarloLossP99),
      ),
    )
  }
  return rows
}
