/**
 * The engine's use of the margin functions (src/core/margin/evaluate.ts): what a withdrawal may
 * take, and which accounts a new mark puts below maintenance (ENG-020, ENG-021).
 */
import {
  type AccountMargin,
  crossGroupBreached,
  evaluateAccountMargin,
  isolatedPositionBreached,
  withdrawableAmount,
} from '../margin/evaluate.ts'
import type { Account } from '../model/account.ts'
import { positionValue } from '../model/position-math.ts'
import { add, type Fixed } from '../num/fixed.ts'
import type { RuleSet } from '../rules/rule-set.ts'
import type { EngineEvent } from './events.ts'
import { type EngineState, optionValuationOf } from './state.ts'
import { engineIndexOf } from './state-index.ts'

/**
 * Value at the mark of each market's open interest (Σ long sizes, `@book` included), from the
 * running totals: O(markets).
 */
export function openInterestValues(
  state: EngineState,
  marks: ReadonlyMap<string, Fixed>,
): Map<string, Fixed> {
  const values = new Map<string, Fixed>()
  for (const [market, size] of engineIndexOf(state).longSize) {
    if (size <= 0n) continue
    const instrument = state.rules.markets.get(market)?.instrument
    const mark = marks.get(market)
    if (instrument !== undefined && mark !== undefined)
      values.set(market, positionValue(instrument, size, mark))
  }
  return values
}

/**
 * Whether every position of the account has a mark (an option's underlying too), so it can be
 * evaluated.
 */
export function hasAllMarks(
  rules: RuleSet,
  account: Account,
  marks: ReadonlyMap<string, Fixed>,
): boolean {
  for (const market of account.positions.keys()) {
    if (!marks.has(market)) return false
    const underlying = rules.markets.get(market)?.instrument.option?.underlyingMarket
    if (underlying !== undefined && !marks.has(underlying)) return false
  }
  return true
}

/** The most of `asset` the account may withdraw at `marks` without breaching initial margin (ENG-020). */
export function withdrawable(
  state: EngineState,
  account: Account,
  marks: ReadonlyMap<string, Fixed>,
  asset: string,
  valuationTimeMs: number,
): Fixed {
  return withdrawableAmount(
    state.rules,
    account,
    marks,
    asset,
    openInterestValues(state, marks),
    optionValuationOf(state, valuationTimeMs),
  )
}

/**
 * One `account_below_maintenance` event per cross scope (market `null`) and per isolated position
 * whose equity is below its maintenance requirement at `marks` (ENG-021), options valued at the
 * last applied command's time. Accounts with a position lacking a mark cannot be evaluated and are
 * skipped. Uses the light evaluation (equity and requirements only, `evaluateAccountMargin`).
 */
export function accountsBelowMaintenance(
  state: EngineState,
  rules: RuleSet,
  accounts: readonly Account[],
  marks: ReadonlyMap<string, Fixed>,
): EngineEvent[] {
  const events: EngineEvent[] = []
  const openInterest = openInterestValues(state, marks)
  const valuation = optionValuationOf(state, state.lastTimestampMs ?? 0)
  for (const account of accounts) {
    if (!hasAllMarks(rules, account, marks)) continue
    const risk = evaluateAccountMargin(rules, account, marks, openInterest, valuation)
    events.push(...belowMaintenanceEvents(account.id, risk))
  }
  return events
}

/** The `account_below_maintenance` events of one evaluated account (ENG-008), in group order. */
export function belowMaintenanceEvents(accountId: string, risk: AccountMargin): EngineEvent[] {
  const events: EngineEvent[] = []
  for (const group of risk.groups) {
    if (crossGroupBreached(group)) {
      events.push({
        type: 'account_below_maintenance',
        account: accountId,
        asset: group.asset,
        market: null,
        equity: group.crossEquity,
        maintenanceMargin: group.crossMaintenanceMargin,
      })
    }
    for (const position of group.positions) {
      if (!isolatedPositionBreached(position)) continue
      events.push({
        type: 'account_below_maintenance',
        account: accountId,
        asset: group.asset,
        market: position.market,
        equity: add(position.isolatedMargin, position.unrealizedPnl),
        maintenanceMargin: position.maintenanceRequirement,
      })
    }
  }
  return events
}
