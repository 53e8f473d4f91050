/**
 * Insurance-fund rules as data (docs/spec/insurance-fund.md, INS-*): which fund backs a market, how
 * much one shortfall may draw from it, and when the fund's state triggers auto-deleveraging. Pure:
 * the caller supplies fund balances and balance history; the planner returns a draw plan.
 */
import { assert } from '../assert.ts'
import { type Fixed, max, min, mul, sub, ZERO } from '../num/fixed.ts'
import { compareRatio, issue, type PolicyIssue, ratio, ratioToFixed } from './common.ts'

/** Which fund backs which market. */
export type FundLayout =
  /** Every market has its own fund, whose id is the market id (Bybit isolated pools, Vega). */
  | { readonly kind: 'per_market' }
  /** One fund for all markets (Deribit per currency, OKX per settlement currency and line). */
  | { readonly kind: 'pooled'; readonly fundId: string }
  /**
   * Grouped pools: markets listed in `marketToFund` use that fund; others use `fallbackFundId`
   * (`null`: no fund, the whole shortfall is uncovered). Binance: BTCUSDT and ETHUSDT have their
   * own funds, the rest share one; Bybit shared pools.
   */
  | {
      readonly kind: 'grouped'
      readonly marketToFund: ReadonlyMap<string, string>
      readonly fallbackFundId: string | null
    }

/** A condition on the fund's state under which auto-deleveraging starts (and, with hysteresis, stops). */
export type AdlTriggerRule =
  /** Exhaustion: active while balance ≤ `threshold` (Bybit pool-equity ADL: 0; stop when > 0). */
  | { readonly kind: 'exhaustion'; readonly threshold: Fixed }
  /**
   * Drawdown from the rolling peak: active while (peak − balance) ÷ peak ≥ `maxDrawdownRate`,
   * peak = highest balance over the last `windowMs` (OKX: 30% within 8 h; Binance 2019: 7.5% in 8 h).
   */
  | {
      readonly kind: 'drawdown_from_peak'
      readonly windowMs: number
      readonly maxDrawdownRate: Fixed
    }
  /**
   * Bybit contract PnL drawdown: pnlRatio = (market PnL now − highest market PnL in the window) ÷
   * highest pool balance in the window. Starts when balance > `minBalance` and pnlRatio is below
   * (`inclusive`: at or below) `triggerRatio`; once active, stays active until pnlRatio > `stopRatio`.
   */
  | {
      readonly kind: 'market_pnl_ratio'
      readonly windowMs: number
      readonly triggerRatio: Fixed
      readonly stopRatio: Fixed
      readonly minBalance: Fixed
      readonly inclusive: boolean
    }

export interface InsuranceFundPolicy {
  readonly layout: FundLayout
  /** A draw never takes a fund below this balance (Drift keeps one unit: `vault − 1`; most venues 0). */
  readonly drawFloor: Fixed
  /**
   * Most a market may draw in total from its fund (Drift `quote_max_insurance`); markets absent
   * from the map are uncapped.
   */
  readonly marketDrawCaps: ReadonlyMap<string, Fixed>
  readonly adlTriggers: readonly AdlTriggerRule[]
}

/** The caller's view of one fund. */
export interface FundState {
  readonly fundId: string
  readonly balance: Fixed
  /** Total already drawn per market under the caps (Drift `quote_settled_insurance`). */
  readonly drawnByMarket: ReadonlyMap<string, Fixed>
}

/** Validates an insurance-fund policy; an empty list means valid. */
export function validateInsuranceFundPolicy(policy: InsuranceFundPolicy): PolicyIssue[] {
  const issues: PolicyIssue[] = []
  if (policy.drawFloor < 0n)
    issues.push(issue('negative_draw_floor', 'drawFloor', 'the draw floor is not negative'))
  for (const [market, cap] of policy.marketDrawCaps) {
    if (cap < 0n)
      issues.push(
        issue(
          'negative_market_cap',
          `marketDrawCaps.${market}`,
          'a market draw cap is not negative',
        ),
      )
  }
  if (policy.layout.kind === 'pooled' && policy.layout.fundId.length === 0) {
    issues.push(issue('empty_fund_id', 'layout.fundId', 'a pooled layout names its fund'))
  }
  policy.adlTriggers.forEach((trigger, index) => {
    const path = `adlTriggers[${index}]`
    switch (trigger.kind) {
      case 'exhaustion':
        break
      case 'drawdown_from_peak':
        if (!Number.isSafeInteger(trigger.windowMs) || trigger.windowMs <= 0) {
          issues.push(
            issue(
              'bad_window',
              `${path}.windowMs`,
              'the window is a positive whole number of milliseconds',
            ),
          )
        }
        if (trigger.maxDrawdownRate <= 0n || trigger.maxDrawdownRate > 10n ** 18n) {
          issues.push(
            issue(
              'bad_drawdown_rate',
              `${path}.maxDrawdownRate`,
              'the drawdown rate lies in (0, 1]',
            ),
          )
        }
        break
      case 'market_pnl_ratio':
        if (!Number.isSafeInteger(trigger.windowMs) || trigger.windowMs <= 0) {
          issues.push(
            issue(
              'bad_window',
              `${path}.windowMs`,
              'the window is a positive whole number of milliseconds',
            ),
          )
        }
        if (trigger.triggerRatio >= 0n) {
          issues.push(
            issue('bad_trigger_ratio', `${path}.triggerRatio`, 'the trigger ratio is negative'),
          )
        }
        if (trigger.stopRatio < trigger.triggerRatio) {
          issues.push(
            issue(
              'stop_below_trigger',
              `${path}.stopRatio`,
              'the stop ratio is at or above the trigger ratio',
            ),
          )
        }
        break
    }
  })
  return issues
}

/** The fund that backs `market`, or `null` when none does (INS-001). */
export function fundIdOf(layout: FundLayout, market: string): string | null {
  switch (layout.kind) {
    case 'per_market':
      return market
    case 'pooled':
      return layout.fundId
    case 'grouped':
      return layout.marketToFund.get(market) ?? layout.fallbackFundId
  }
}

/** What limited a draw. */
export type DrawLimit = 'shortfall' | 'fund_balance' | 'market_cap' | 'no_fund'

export interface FundDrawPlan {
  readonly market: string
  readonly fundId: string | null
  readonly shortfall: Fixed
  readonly drawn: Fixed
  readonly uncovered: Fixed
  /** The fund's balance after the draw (unchanged input when no fund backs the market). */
  readonly balanceAfter: Fixed
  readonly limitedBy: DrawLimit
  readonly explanation: { readonly rule: string; readonly reason: string }
}

/**
 * Plans how much of `shortfall` the fund backing `market` pays (INS-002..INS-004):
 * drawn = min(shortfall, max(0, balance − drawFloor), max(0, cap − drawnByMarket)); uncovered =
 * shortfall − drawn. Exact: no rounding. `funds` is keyed by fund id.
 */
export function planFundDraw(
  policy: InsuranceFundPolicy,
  funds: ReadonlyMap<string, FundState>,
  market: string,
  shortfall: Fixed,
): FundDrawPlan {
  assert(shortfall >= 0n, `Invariant: a shortfall is not negative (INS-002, market=${market})`)
  const fundId = fundIdOf(policy.layout, market)
  const fund = fundId === null ? undefined : funds.get(fundId)
  if (fundId === null || fund === undefined) {
    return {
      market,
      fundId,
      shortfall,
      drawn: ZERO,
      uncovered: shortfall,
      balanceAfter: ZERO,
      limitedBy: 'no_fund',
      explanation: {
        rule: 'INS-001',
        reason:
          fundId === null
            ? 'no fund backs this market'
            : `fund ${fundId} is not in the supplied state`,
      },
    }
  }
  const available = max(ZERO, sub(fund.balance, policy.drawFloor))
  const cap = policy.marketDrawCaps.get(market)
  const capRoom =
    cap === undefined ? null : max(ZERO, sub(cap, fund.drawnByMarket.get(market) ?? ZERO))
  let drawn = min(shortfall, available)
  let limitedBy: DrawLimit = drawn === shortfall ? 'shortfall' : 'fund_balance'
  if (capRoom !== null && capRoom < drawn) {
    drawn = capRoom
    limitedBy = 'market_cap'
  }
  const uncovered = sub(shortfall, drawn)
  assert(
    drawn >= 0n && uncovered >= 0n && drawn + uncovered === shortfall,
    `Invariant: drawn + uncovered = shortfall (INS-002, market=${market})`,
  )
  assert(
    sub(fund.balance, drawn) >= policy.drawFloor || drawn === 0n,
    `Invariant: a draw keeps the fund at or above its floor (INS-003, fund=${fundId})`,
  )
  const reasons: Record<DrawLimit, string> = {
    shortfall: 'the fund covers the whole shortfall',
    fund_balance: 'the fund is drawn down to its floor',
    market_cap: 'the market reached its cumulative draw cap',
    no_fund: '',
  }
  return {
    market,
    fundId,
    shortfall,
    drawn,
    uncovered,
    balanceAfter: sub(fund.balance, drawn),
    limitedBy,
    explanation: {
      rule: limitedBy === 'market_cap' ? 'INS-004' : 'INS-002',
      reason: reasons[limitedBy],
    },
  }
}

/** One observation of a fund, supplied by the caller in any order. */
export interface FundHistoryPoint {
  readonly timestampMs: number
  readonly balance: Fixed
  /** Cumulative PnL of the market being watched, from the fund's point of view (Bybit pnlRatio). */
  readonly marketPnl: Fixed
}

export interface AdlTriggerEvaluation {
  readonly ruleIndex: number
  readonly kind: AdlTriggerRule['kind']
  readonly active: boolean
  /** The measured quantity: balance, drawdown rate or pnlRatio (null when undefined, e.g. a zero peak). */
  readonly measure: Fixed | null
  /**
   * `market_pnl_ratio` only: the loss beyond the trigger level that ADL must close to bring the
   * market back to the trigger ratio, (triggerRatio − pnlRatio) × peak balance, at least 0 (BY-07 (1)).
   */
  readonly lossBeyondTrigger: Fixed
  readonly reason: string
}

/** Result of evaluating the triggers at the latest history point. */
export interface AdlTriggerReport {
  readonly active: boolean
  readonly evaluations: readonly AdlTriggerEvaluation[]
}

function windowOf(
  history: readonly FundHistoryPoint[],
  windowMs: number,
): { readonly latest: FundHistoryPoint; readonly inWindow: FundHistoryPoint[] } {
  const ordered = [...history].sort((a, b) => a.timestampMs - b.timestampMs)
  const latest = ordered.at(-1)
  assert(
    latest !== undefined,
    'Invariant: an ADL trigger is evaluated over a non-empty history (INS-005)',
  )
  const since = latest.timestampMs - windowMs
  return { latest, inWindow: ordered.filter((point) => point.timestampMs >= since) }
}

function highest(values: readonly Fixed[]): Fixed {
  let best = values[0]
  assert(best !== undefined, 'Invariant: a peak is taken over at least one value (INS-005)')
  for (const value of values) best = max(best, value)
  return best
}

/**
 * Evaluates the policy's ADL triggers at the latest point of `history` (INS-005..INS-007). The
 * window is [latest − windowMs, latest], both ends included. `previouslyActive[i]` is whether rule i
 * was active at the previous evaluation (hysteresis of `market_pnl_ratio`); missing entries are false.
 */
export function evaluateAdlTriggers(
  policy: InsuranceFundPolicy,
  history: readonly FundHistoryPoint[],
  previouslyActive: readonly boolean[] = [],
): AdlTriggerReport {
  const evaluations = policy.adlTriggers.map((rule, ruleIndex): AdlTriggerEvaluation => {
    const wasActive = previouslyActive[ruleIndex] ?? false
    switch (rule.kind) {
      case 'exhaustion': {
        const { latest } = windowOf(history, 0)
        const active = latest.balance <= rule.threshold
        return {
          ruleIndex,
          kind: rule.kind,
          active,
          measure: latest.balance,
          lossBeyondTrigger: ZERO,
          reason: active
            ? 'the fund balance is at or below the exhaustion threshold'
            : 'the fund balance is above the exhaustion threshold',
        }
      }
      case 'drawdown_from_peak': {
        const { latest, inWindow } = windowOf(history, rule.windowMs)
        const peak = highest(inWindow.map((point) => point.balance))
        if (peak <= 0n) {
          return {
            ruleIndex,
            kind: rule.kind,
            active: false,
            measure: null,
            lossBeyondTrigger: ZERO,
            reason: 'the peak balance is not positive',
          }
        }
        const drawdown = ratio(peak - latest.balance, peak)
        const active = compareRatio(drawdown, ratio(rule.maxDrawdownRate, 10n ** 18n)) >= 0
        return {
          ruleIndex,
          kind: rule.kind,
          active,
          measure: ratioToFixed(drawdown),
          lossBeyondTrigger: ZERO,
          reason: active
            ? 'the fund fell from its rolling peak by at least the drawdown rate'
            : 'the drawdown from the rolling peak is below the rate',
        }
      }
      case 'market_pnl_ratio': {
        const { latest, inWindow } = windowOf(history, rule.windowMs)
        const peakBalance = highest(inWindow.map((point) => point.balance))
        const peakPnl = highest(inWindow.map((point) => point.marketPnl))
        if (peakBalance <= 0n) {
          return {
            ruleIndex,
            kind: rule.kind,
            active: false,
            measure: null,
            lossBeyondTrigger: ZERO,
            reason: 'the peak pool balance is not positive',
          }
        }
        const pnlRatio = ratio(latest.marketPnl - peakPnl, peakBalance)
        const versusTrigger = compareRatio(pnlRatio, ratio(rule.triggerRatio, 10n ** 18n))
        const belowTrigger = rule.inclusive ? versusTrigger <= 0 : versusTrigger < 0
        const aboveStop = compareRatio(pnlRatio, ratio(rule.stopRatio, 10n ** 18n)) > 0
        const starts = latest.balance > rule.minBalance && belowTrigger
        const active = wasActive ? !aboveStop : starts
        // (triggerRatio − pnlRatio) × peakBalance = triggerRatio × peakBalance − (pnl − peakPnl);
        // the trigger level rounds up so that the amount to close is never under-stated.
        const triggerLevel = mul(rule.triggerRatio, peakBalance, 'ceil')
        const beyond = max(ZERO, (triggerLevel - (latest.marketPnl - peakPnl)) as Fixed)
        return {
          ruleIndex,
          kind: rule.kind,
          active,
          measure: ratioToFixed(pnlRatio),
          lossBeyondTrigger: active ? beyond : ZERO,
          reason: wasActive
            ? active
              ? 'still active: the PnL ratio has not risen above the stop ratio'
              : 'stopped: the PnL ratio rose above the stop ratio'
            : active
              ? 'the market PnL ratio reached the trigger ratio with the pool above its minimum balance'
              : 'the market PnL ratio is above the trigger ratio or the pool is at its minimum',
        }
      }
    }
  })
  return { active: evaluations.some((evaluation) => evaluation.active), evaluations }
}
