/**
 * Liquidation state kept by the engine (docs/spec/liquidation.md, LIQ-020..): open liquidation
 * orders, insurance-fund pools with their balance history (for drawdown triggers) and per-market
 * draws (for caps), ADL trigger hysteresis, partial-liquidation cooldowns and uncovered deficits.
 */
import type { FundHistoryPoint } from '../../loss/insurance-fund.ts'
import type { Fixed } from '../../num/fixed.ts'
import type { LiquidationPolicy } from '../../rules/rule-set.ts'

/** An open liquidation order: the engine emits it, a venue's matcher (or the simulator) fills it. */
export interface LiquidationOrder {
  readonly orderId: string
  readonly account: string
  readonly market: string
  readonly asset: string
  /** `cross` (the account's cross positions in `asset`) or `isolated` (this position). */
  readonly scope: 'cross' | 'isolated'
  /** Signed contracts still to close (opposite sign to the position). */
  readonly remaining: Fixed
  /** Size at placement (signed). */
  readonly size: Fixed
  /** Limit price (the bankruptcy price on the tick grid), or `null` for a market order. */
  readonly limitPrice: Fixed | null
  /**
   * The bankruptcy price at placement (rounded to the rule set's `exactDecimals`): shown in events
   * and the price of ADL at bankruptcy; surplus and gap come from the scope's equity (LIQ-034).
   */
  readonly bankruptcyPrice: Fixed
  readonly markPrice: Fixed
  readonly policy: LiquidationPolicy['kind']
  readonly ruleSetId: string
  readonly ruleSetVersion: string
  readonly placedAtMs: number
  /**
   * `network_disposal`: an order of the network party disposing of the positions it took over
   * (LIQ-072); its `bankruptcyPrice` is the reference price the limit was set from. Absent: an
   * order liquidating a trader's position.
   */
  readonly purpose?: 'network_disposal'
}

export interface LiquidationState {
  /** Open orders by id. */
  readonly orders: Map<string, LiquidationOrder>
  /** Number of the next order id (`L1`, `L2`, ...). */
  nextOrderNumber: number
  /** Insurance-fund pools: fund id → asset → balance (a breakdown of `insuranceFunds`, INV-008). */
  readonly fundPools: Map<string, Map<string, Fixed>>
  /** Draws per `fund/market` (for per-market caps, INS-004). */
  readonly drawnByMarket: Map<string, Fixed>
  /** Balance history per `fund/asset/market`, trimmed to the longest trigger window. */
  readonly fundHistory: Map<string, FundHistoryPoint[]>
  /** Cumulative fund PnL from each market, per `fund/asset/market` (Bybit pnlRatio). */
  readonly fundMarketPnl: Map<string, Fixed>
  /** Whether each ADL trigger rule was active at its last evaluation, per `fund/asset/market`. */
  readonly triggerActive: Map<string, boolean[]>
  /**
   * Time of the last partial liquidation order per `account/market` (cooldowns); for the network
   * party, the start of its current disposal time step (LIQ-071).
   */
  readonly lastPartialMs: Map<string, number>
  /** Deficits the chain could not allocate, per `account/asset` (LIQ-045). */
  readonly uncovered: Map<string, Fixed>
}

/** An empty liquidation state. */
export function createLiquidationState(): LiquidationState {
  return {
    orders: new Map(),
    nextOrderNumber: 1,
    fundPools: new Map(),
    drawnByMarket: new Map(),
    fundHistory: new Map(),
    fundMarketPnl: new Map(),
    triggerActive: new Map(),
    lastPartialMs: new Map(),
    uncovered: new Map(),
  }
}

/** The key of a fund's history and trigger state for one market. */
export function fundMarketKey(fundId: string, asset: string, market: string): string {
  return `${fundId}/${asset}/${market}`
}

/** Balance of a fund pool in `asset` (0 when it has none). */
export function poolBalance(state: LiquidationState, fundId: string, asset: string): Fixed {
  return state.fundPools.get(fundId)?.get(asset) ?? (0n as Fixed)
}

/**
 * A fund history with `point` appended (LIQ-041, INS-005). Several points may share a millisecond:
 * the earlier ones that hold that millisecond's peak balance or peak market PnL are kept, so a peak
 * reached and lost within one millisecond still counts for drawdown and PnL-ratio triggers; the
 * others of that millisecond add nothing to a peak and are dropped. Points older than `windowMs`
 * before `point` are dropped too.
 */
export function withFundPoint(
  history: readonly FundHistoryPoint[],
  point: FundHistoryPoint,
  windowMs: number,
): FundHistoryPoint[] {
  const kept = history.filter((each) => each.timestampMs >= point.timestampMs - windowMs)
  const earlier = kept.filter((each) => each.timestampMs !== point.timestampMs)
  const sameMillisecond = kept.filter((each) => each.timestampMs === point.timestampMs)
  let peakBalance = point.balance
  let peakPnl = point.marketPnl
  for (const each of sameMillisecond) {
    if (each.balance > peakBalance) peakBalance = each.balance
    if (each.marketPnl > peakPnl) peakPnl = each.marketPnl
  }
  const holdsBalance =
    point.balance === peakBalance
      ? null
      : (sameMillisecond.find((each) => each.balance === peakBalance) ?? null)
  const holdsPnl =
    point.marketPnl === peakPnl
      ? null
      : (sameMillisecond.find((each) => each.marketPnl === peakPnl) ?? null)
  const peaks = sameMillisecond.filter((each) => each === holdsBalance || each === holdsPnl)
  return [...earlier, ...peaks, point]
}
