/**
 * The planner of one liquidation command (docs/spec/liquidation.md): collects the transfers,
 * position changes, events and liquidation-state changes of the chain as it is worked out, then
 * hands them over as one plan (ENG-005).
 */
import type { OptionValuation } from '../../margin/evaluate.ts'
import { add, type Fixed, neg, sub, ZERO } from '../../num/fixed.ts'
import type { LiquidationRules, MarketRules, RuleSet } from '../../rules/rule-set.ts'
import type { EngineEvent } from '../events.ts'
import {
  type Holder,
  insuranceFundOf,
  plan,
  type Plan,
  type PositionChange,
  type Transfer,
} from '../plan.ts'
import type { Refusal } from '../result-codes.ts'
import { type EngineState, optionValuationOf } from '../state.ts'
import type { LiquidationPlan, ShortfallRecord } from './plan-part.ts'
import { fundMarketKey, type LiquidationOrder, poolBalance } from './state.ts'

/** A handler's answer, as in execute.ts. */
export type Handled = Refusal | { readonly plan: Plan; readonly events: readonly EngineEvent[] }

export function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}

/** Collects a plan's parts while the chain is worked out. */
export class Planner {
  readonly transfers: Transfer[] = []
  readonly positionChanges: PositionChange[] = []
  readonly events: EngineEvent[] = []
  readonly openAccounts: string[] = []
  readonly setOrders: LiquidationOrder[] = []
  readonly removeOrders: string[] = []
  readonly historyMarkets: { fund: string; asset: string; market: string }[] = []
  readonly marketPnlDeltas: { key: string; delta: Fixed }[] = []
  readonly drawnDeltas: { key: string; delta: Fixed }[] = []
  readonly triggerActive: { key: string; active: readonly boolean[] }[] = []
  readonly partialTimes: { key: string; timestampMs: number }[] = []
  readonly shortfalls: ShortfallRecord[] = []
  readonly settledScopes: { account: string; asset: string; uncovered: Fixed }[] = []
  /**
   * `account/market` of positions this plan closes whole (closeouts, backstop takeovers): their
   * holders are no longer winners of the market and are never charged a socialized loss.
   */
  readonly closedPositions = new Set<string>()
  /** Pool changes not yet applied: `fund/asset` → amount. */
  readonly pendingPools = new Map<string, Fixed>()
  nextOrderNumber: number

  constructor(
    readonly state: EngineState,
    readonly rules: RuleSet,
    readonly liquidation: LiquidationRules,
    readonly nowMs: number,
  ) {
    this.nextOrderNumber = state.liquidation.nextOrderNumber
  }

  /**
   * Marks of the command being planned: a `mark_price` plans with its new mark before the state
   * holds it (a closeout in that command sees it); `null`: the state's marks.
   */
  marks: ReadonlyMap<string, Fixed> | null = null

  /**
   * How options are valued in this plan: a `mark_price` of an option plans with its new volatility
   * before the state holds it (OPT-023); `null`: the state's, at the plan's time.
   */
  valuation: OptionValuation | null = null

  /** The option valuation this plan works with. */
  optionValuation(): OptionValuation {
    return this.valuation ?? optionValuationOf(this.state, this.nowMs)
  }

  /** The mark of `market` this plan works with. */
  markOf(market: string): Fixed | undefined {
    return this.marks?.get(market) ?? this.state.prices.get(market)?.mark
  }

  /** Pool balance including this plan's pending changes. */
  poolBalance(fund: string, asset: string): Fixed {
    return add(
      poolBalance(this.state.liquidation, fund, asset),
      this.pendingPools.get(`${fund}/${asset}`) ?? ZERO,
    )
  }

  /** Moves `amount` (> 0) into (credit) or out of (draw) the fund backing `market`. */
  fundFlow(
    market: string,
    asset: string,
    other: Holder,
    amount: Fixed,
    reason:
      | 'liquidation_fee'
      | 'liquidation_surplus'
      | 'shortfall_draw'
      | 'over_collection'
      | 'network_pnl',
    rule: string,
  ): void {
    if (amount === 0n) return
    const fundHolder = insuranceFundOf(this.rules, market)
    const credit = reason !== 'shortfall_draw'
    this.transfers.push(
      credit
        ? { asset, from: other, to: fundHolder, amount }
        : { asset, from: fundHolder, to: other, amount },
    )
    if (fundHolder.kind !== 'insurance_fund' || fundHolder.fund === undefined) return
    const fund = fundHolder.fund
    const signed = credit ? amount : neg(amount)
    const poolKey = `${fund}/${asset}`
    this.pendingPools.set(poolKey, add(this.pendingPools.get(poolKey) ?? ZERO, signed))
    const key = fundMarketKey(fund, asset, market)
    this.marketPnlDeltas.push({ key, delta: signed })
    if (!credit) this.drawnDeltas.push({ key: `${fund}/${market}`, delta: amount })
    if (
      !this.historyMarkets.some((entry) => `${entry.fund}/${entry.asset}/${entry.market}` === key)
    )
      this.historyMarkets.push({ fund, asset, market })
    this.events.push({
      type: 'insurance_fund_pool_changed',
      fund,
      asset,
      market,
      amount: signed,
      balance: this.poolBalance(fund, asset),
      reason,
      rule,
    })
  }

  /** The account's wallet in `asset` after the transfers planned so far. */
  projectedWallet(account: string, asset: string): Fixed {
    let balance = this.state.accounts.get(account)?.balances.get(asset) ?? ZERO
    for (const transfer of this.transfers) {
      if (transfer.asset !== asset) continue
      if (transfer.to.kind === 'wallet' && transfer.to.account === account)
        balance = add(balance, transfer.amount)
      if (transfer.from.kind === 'wallet' && transfer.from.account === account)
        balance = sub(balance, transfer.amount)
    }
    return balance
  }

  toHandled(): Handled {
    const part: LiquidationPlan = {
      setOrders: this.setOrders,
      removeOrders: this.removeOrders,
      nextOrderNumber: this.nextOrderNumber,
      historyMarkets: this.historyMarkets,
      marketPnlDeltas: this.marketPnlDeltas,
      drawnDeltas: this.drawnDeltas,
      triggerActive: this.triggerActive,
      partialTimes: this.partialTimes,
      shortfalls: this.shortfalls,
      settledScopes: this.settledScopes,
    }
    return {
      plan: plan({
        openAccounts: this.openAccounts,
        transfers: this.transfers,
        positionChanges: this.positionChanges,
        liquidation: part,
      }),
      events: this.events,
    }
  }
}

/** Market rules with the trading fees set to zero (takeovers and ADL pay no fee). */
export function withoutFees(market: MarketRules): MarketRules {
  return { ...market, makerFeeRate: ZERO, takerFeeRate: ZERO }
}

export function ruleSetFields(rules: RuleSet) {
  return { ruleSetId: rules.id, ruleSetVersion: rules.version }
}
