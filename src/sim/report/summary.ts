/**
 * Per-rule-set metrics computed from a `SimulationResult` (SIM-052): the numbers of the report's
 * comparison table and of the metrics CSV. Everything is derived from the result's lists, exactly.
 * Amounts are in each rule set's settlement asset; when a compared market settles in the coin
 * (inverse), the main amounts are also given in the quote currency (SIM-055), each converted at
 * the price of its moment: fills at their fill price, shortfalls, socialized losses and the final
 * fund at the simulated price of their step.
 */
import { add, type Fixed, formatFixed, max, ONE, ZERO } from '../../core/num/fixed.ts'
import {
  cascadeAmplification,
  maxDrawdown,
  percentile,
  quantile,
  sortAscending,
  total,
} from '../metrics.ts'
import {
  isLiquidationKind,
  quoteValue,
  type RuleSetOutcome,
  type SimulationResult,
  settlesInCoin,
} from './result.ts'

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
  /** Margin re-sets by dynamic margin (SIMRUN-019); null when the run had none. */
  readonly marginResetCount: number | null
  /** Highest margin factor in force (1: the published rates); null without dynamic margin. */
  readonly marginFactorPeak: Fixed | null
  /** The main amounts in the quote currency at the price of their moment (SIM-055). */
  readonly inQuote: {
    readonly liquidatedValue: Fixed
    readonly badDebt: Fixed
    readonly insuranceFundEnd: Fixed | null
    readonly autoDeleverageValue: Fixed
    readonly socializedLoss: Fixed
    readonly monteCarloLossP95: Fixed | null
  }
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
  const lossesInQuote = sortAscending(outcome.monteCarloLossesInQuote ?? [])
  const priceAt = new Map(outcome.prices.map((point) => [point.timeMs, point.price]))
  const atStep = (amount: Fixed, timeMs: number): Fixed => {
    const price = priceAt.get(timeMs)
    if (price === undefined)
      throw new RangeError(
        `Condition failed: an amount's time is a step of the simulated price (SIM-055, ${outcome.ruleSetId}, time=${timeMs})`,
      )
    return quoteValue(outcome, amount, price)
  }
  const sumOf = (values: readonly Fixed[]): Fixed =>
    values.reduce((accumulated, value) => add(accumulated, value), ZERO)
  const lastFund = outcome.insuranceFund.at(-1)
  const inQuote = {
    liquidatedValue: sumOf(
      liquidations.map((close) => quoteValue(outcome, close.value, close.price)),
    ),
    badDebt: sumOf(outcome.shortfalls.map((entry) => atStep(entry.amount, entry.timeMs))),
    insuranceFundEnd: lastFund === undefined ? null : atStep(lastFund.balance, lastFund.timeMs),
    autoDeleverageValue: sumOf(
      outcome.autoDeleverages.map((event) => quoteValue(outcome, event.value, event.price)),
    ),
    socializedLoss: sumOf(outcome.socializedLosses.map((loss) => atStep(loss.amount, loss.timeMs))),
    monteCarloLossP95: lossesInQuote.length > 0 ? quantile(lossesInQuote, percentile(95)) : null,
  }
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
    marginResetCount: outcome.marginResets?.length ?? null,
    marginFactorPeak:
      outcome.marginResets?.reduce((peak, reset) => max(peak, reset.factor), ONE) ?? null,
    inQuote,
  }
}

export interface MetricRow {
  readonly key: string
  readonly label: string
  /** The unit of every value, or `settlement asset` when the rule sets settle in different assets. */
  readonly unit: string
  /** The unit of each value, in the result's order (`count`, `ratio`, `price`, an asset, `USD`). */
  readonly units: readonly string[]
  /** One exact text value per rule set, in the result's order ('' when not applicable). */
  readonly values: readonly string[]
}

/** The unit of the quote-currency rows: inverse markets are quoted in USD; USDT and USDC count as USD. */
export const QUOTE_UNIT = 'USD'

/** Units that are amounts of a coin (shown with 8 decimals rather than 2). */
export function coinUnits(result: SimulationResult): Set<string> {
  return new Set(result.outcomes.filter(settlesInCoin).map((outcome) => outcome.settlementAsset))
}

const decimalOrEmpty = (value: Fixed | null, decimals?: number): string =>
  value === null ? '' : formatFixed(value, decimals)

/** The comparison table: one row per metric, one column per rule set (exact decimals). */
export function metricRows(result: SimulationResult): MetricRow[] {
  const summaries = result.outcomes.map((outcome) => summarizeOutcome(result, outcome))
  const settlement = result.outcomes.map((outcome) => outcome.settlementAsset)
  const sameAsset = new Set(settlement).size <= 1
  const row = (
    key: string,
    label: string,
    unit: 'count' | 'ratio' | 'price' | 'settlement' | 'quote',
    value: (summary: OutcomeSummary) => string,
  ): MetricRow => {
    const units =
      unit === 'settlement'
        ? settlement
        : summaries.map(() => (unit === 'quote' ? QUOTE_UNIT : unit))
    return {
      key,
      label,
      unit:
        unit === 'settlement'
          ? sameAsset
            ? (settlement[0] ?? result.settlementAsset)
            : 'settlement asset'
          : (units[0] ?? unit),
      units,
      values: summaries.map(value),
    }
  }
  const rows: MetricRow[] = [
    row('liquidation_count', 'Liquidations', 'count', (s) => String(s.liquidationCount)),
    row('liquidated_value', 'Liquidated value', 'settlement', (s) =>
      formatFixed(s.liquidatedValue),
    ),
    row('exit_order_count', 'Stops, targets, loss limits', 'count', (s) =>
      String(s.exitOrderCount),
    ),
    row('exit_order_value', 'Value closed by exit orders', 'settlement', (s) =>
      formatFixed(s.exitOrderValue),
    ),
    row('bad_debt', 'Bad debt (shortfall)', 'settlement', (s) => formatFixed(s.badDebt)),
    row('insurance_fund_start', 'Insurance fund, start', 'settlement', (s) =>
      decimalOrEmpty(s.insuranceFundStart),
    ),
    row('insurance_fund_end', 'Insurance fund, end', 'settlement', (s) =>
      decimalOrEmpty(s.insuranceFundEnd),
    ),
    row('insurance_fund_minimum', 'Insurance fund, lowest', 'settlement', (s) =>
      decimalOrEmpty(s.insuranceFundMinimum),
    ),
    row('insurance_fund_drawdown', 'Insurance fund, max drawdown', 'settlement', (s) =>
      formatFixed(s.insuranceFundDrawdown),
    ),
    row('auto_deleverage_count', 'Auto-deleveraging events', 'count', (s) =>
      String(s.autoDeleverageCount),
    ),
    row('auto_deleverage_value', 'Auto-deleveraged value', 'settlement', (s) =>
      formatFixed(s.autoDeleverageValue),
    ),
    row('socialized_loss', 'Socialized loss', 'settlement', (s) => formatFixed(s.socializedLoss)),
    row('lowest_price', 'Lowest simulated price', 'price', (s) => decimalOrEmpty(s.lowestPrice)),
    row(
      'cascade_amplification',
      'Cascade amplification (endogenous ÷ exogenous fall)',
      'ratio',
      (s) => decimalOrEmpty(s.cascadeAmplification, 4),
    ),
  ]
  if (summaries.some((summary) => summary.marginResetCount !== null))
    rows.push(
      row('margin_reset_count', 'Margin re-sets (dynamic margin)', 'count', (s) =>
        s.marginResetCount === null ? '' : String(s.marginResetCount),
      ),
      row('margin_factor_peak', 'Highest margin factor (× published rates)', 'ratio', (s) =>
        decimalOrEmpty(s.marginFactorPeak),
      ),
    )
  const monteCarlo = summaries.some((summary) => summary.monteCarloPaths > 0)
  if (monteCarlo) {
    rows.push(
      row('monte_carlo_paths', 'Monte Carlo paths', 'count', (s) => String(s.monteCarloPaths)),
      row('monte_carlo_loss_p95', 'Uncovered loss, p95', 'settlement', (s) =>
        decimalOrEmpty(s.monteCarloLossP95),
      ),
      row('monte_carlo_loss_p99', 'Uncovered loss, p99', 'settlement', (s) =>
        decimalOrEmpty(s.monteCarloLossP99),
      ),
    )
  }
  if (result.outcomes.some(settlesInCoin)) {
    rows.push(
      row('liquidated_value_usd', 'Liquidated value, at the fill price', 'quote', (s) =>
        formatFixed(s.inQuote.liquidatedValue),
      ),
      row('bad_debt_usd', 'Bad debt, at the price of its step', 'quote', (s) =>
        formatFixed(s.inQuote.badDebt),
      ),
      row('insurance_fund_end_usd', 'Insurance fund, end, at the last price', 'quote', (s) =>
        decimalOrEmpty(s.inQuote.insuranceFundEnd),
      ),
      row('auto_deleverage_value_usd', 'Auto-deleveraged value, at the ADL price', 'quote', (s) =>
        formatFixed(s.inQuote.autoDeleverageValue),
      ),
      row('socialized_loss_usd', 'Socialized loss, at the price of its step', 'quote', (s) =>
        formatFixed(s.inQuote.socializedLoss),
      ),
    )
    if (monteCarlo)
      rows.push(
        row(
          'monte_carlo_loss_p95_usd',
          'Uncovered loss, p95, at the price of its moment',
          'quote',
          (s) => decimalOrEmpty(s.inQuote.monteCarloLossP95),
        ),
      )
  }
  return rows
}
