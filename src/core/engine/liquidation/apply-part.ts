/**
 * Applies the liquidation part of a plan (called by `applyPlan` only, ENG-005) and checks the
 * loss-allocation invariants: INV-009 (every unit of a shortfall is allocated once) and INV-010
 * (an account whose scope was liquidated is not left below zero unless the event says so).
 * Open orders are then brought in line with the positions (LIQ-024).
 */
import { assert } from '../../assert.ts'
import { abs, add, type Fixed, min, neg, sign, ZERO } from '../../num/fixed.ts'
import type { Plan } from '../plan.ts'
import { type LiquidationOrder, withFundPoint } from './state.ts'
import type { EngineState } from '../state.ts'
import { engineIndexOf, noteOrder } from '../state-index.ts'

function addTo(map: Map<string, Fixed>, key: string, amount: Fixed): void {
  map.set(key, add(map.get(key) ?? ZERO, amount))
}

/** The longest ADL-trigger window of the rule set in force (history older than it is dropped). */
function longestWindowMs(state: EngineState): number {
  let longest = 0
  for (const trigger of state.rules.liquidation?.insuranceFund.adlTriggers ?? [])
    if (trigger.kind !== 'exhaustion') longest = Math.max(longest, trigger.windowMs)
  return longest
}

/**
 * `touchedAccounts`: the accounts whose positions the plan may have changed; only their orders
 * and the orders the plan sets are brought in line (LIQ-024), the others are unchanged.
 */
export function applyLiquidationPart(
  state: EngineState,
  planned: Plan,
  timestampMs: number,
  touchedAccounts: ReadonlySet<string>,
): void {
  const liquidation = state.liquidation
  const index = engineIndexOf(state)
  const part = planned.liquidation
  const setOrder = (order: LiquidationOrder): void => {
    liquidation.orders.set(order.orderId, order)
    noteOrder(index, order.account, order.orderId, true)
  }
  const deleteOrder = (id: string): void => {
    const order = liquidation.orders.get(id)
    if (order === undefined) return
    liquidation.orders.delete(id)
    noteOrder(index, order.account, id, false)
  }
  const reconcile = new Set(touchedAccounts)
  if (part !== null) {
    for (const record of part.shortfalls) {
      const allocated = add(
        add(record.insuranceFund, record.adl),
        add(record.socialized, record.uncovered),
      )
      assert(
        record.shortfall >= 0n &&
          record.insuranceFund >= 0n &&
          record.adl >= 0n &&
          record.socialized >= 0n &&
          record.uncovered >= 0n &&
          allocated === record.shortfall,
        `Invariant: every unit of a shortfall is allocated exactly once (INV-009, order=${record.orderId}, shortfall=${record.shortfall}, allocated=${allocated})`,
      )
      if (record.uncovered > 0n)
        addTo(liquidation.uncovered, `${record.account}/${record.asset}`, record.uncovered)
    }
    for (const id of part.removeOrders) deleteOrder(id)
    for (const order of part.setOrders) {
      setOrder(order)
      reconcile.add(order.account)
    }
    if (part.nextOrderNumber !== null) liquidation.nextOrderNumber = part.nextOrderNumber
    for (const { key, delta } of part.marketPnlDeltas) addTo(liquidation.fundMarketPnl, key, delta)
    for (const { key, delta } of part.drawnDeltas) addTo(liquidation.drawnByMarket, key, delta)
    for (const { key, active } of part.triggerActive)
      liquidation.triggerActive.set(key, [...active])
    for (const { key, timestampMs: at } of part.partialTimes) liquidation.lastPartialMs.set(key, at)
    const windowMs = longestWindowMs(state)
    for (const { fund, asset, market } of part.historyMarkets) {
      const key = `${fund}/${asset}/${market}`
      const point = {
        timestampMs,
        balance: liquidation.fundPools.get(fund)?.get(asset) ?? ZERO,
        marketPnl: liquidation.fundMarketPnl.get(key) ?? ZERO,
      }
      liquidation.fundHistory.set(
        key,
        withFundPoint(liquidation.fundHistory.get(key) ?? [], point, windowMs),
      )
    }
    for (const scope of part.settledScopes) {
      const balance = state.accounts.get(scope.account)?.balances.get(scope.asset) ?? ZERO
      assert(
        balance >= neg(scope.uncovered),
        `Invariant: a liquidated account is not left below zero unless the chain is exhausted (INV-010, account=${scope.account}, asset=${scope.asset}, balance=${balance}, uncovered=${scope.uncovered})`,
      )
    }
  }
  // LIQ-024: an order never closes more than its position holds, nor the other way. Orders of
  // accounts the plan did not touch are already in line: their positions did not change.
  const ids: string[] = []
  for (const account of reconcile)
    for (const id of index.ordersByAccount.get(account) ?? []) ids.push(id)
  ids.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
  for (const id of ids) {
    const order = liquidation.orders.get(id)
    if (order === undefined) continue
    const position = state.accounts.get(order.account)?.positions.get(order.market)
    if (position === undefined || sign(position.size) === sign(order.remaining)) {
      deleteOrder(id)
      continue
    }
    const remaining = min(abs(order.remaining), abs(position.size))
    if (remaining !== abs(order.remaining))
      setOrder({
        ...order,
        remaining: sign(order.remaining) < 0n ? neg(remaining) : remaining,
      })
  }
}
