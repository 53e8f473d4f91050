/**
 * Automatic execution of liquidation orders in a scenario (docs/scenarios.md, SCN-010): every open
 * order is filled against `@book` at the chosen price for its whole remaining size, or taken over
 * when that price is beyond the order's limit. Plays the part of a venue's matching engine.
 */
import type { Command, CommandResult, EngineEvent, EngineState } from '../core/engine/index.ts'
import { execute } from '../core/engine/index.ts'
import { abs, type Fixed, mul, ONE, roundToStep, sub, add } from '../core/num/fixed.ts'
import type { LiquidationExecution } from './parse.ts'

/** One automatic command and what it did. */
export interface AutoStep {
  /** The command as executed (for a journal). */
  readonly command: Command
  readonly sequence: number | null
  readonly timestampMs: number
  readonly type: string
  readonly result: CommandResult
  readonly events: readonly EngineEvent[]
}

/** Executes every open liquidation order (orders placed meanwhile too), oldest first. */
export function executeLiquidations(
  state: EngineState,
  execution: LiquidationExecution,
  nowMs: number,
): AutoStep[] {
  const steps: AutoStep[] = []
  // Each command closes or shrinks an order; the bound only guards against a rule that would loop.
  for (let round = 0; round < 1000; round += 1) {
    const order = [...state.liquidation.orders.values()].sort(
      (a, b) => Number(a.orderId.slice(1)) - Number(b.orderId.slice(1)),
    )[0]
    if (order === undefined) break
    const market = state.rules.markets.get(order.market)
    const mark = state.prices.get(order.market)?.mark
    if (market === undefined || mark === undefined) break
    const tick = market.instrument.tickSize
    const sells = order.remaining < 0n
    let price: Fixed
    if (execution.price === 'bankruptcy')
      price = order.limitPrice ?? roundToStep(order.bankruptcyPrice, tick, sells ? 'ceil' : 'floor')
    else if (execution.price === 'mark') price = mark
    else {
      const factor = sells ? sub(ONE, execution.slippage) : add(ONE, execution.slippage)
      price = roundToStep(
        mul(mark, factor, sells ? 'floor' : 'ceil'),
        tick,
        sells ? 'floor' : 'ceil',
      )
    }
    const beyond =
      price <= 0n ||
      (order.limitPrice !== null && (sells ? price < order.limitPrice : price > order.limitPrice))
    const command: Command = beyond
      ? { type: 'liquidation_takeover', orderId: order.orderId }
      : { type: 'liquidation_fill', orderId: order.orderId, size: abs(order.remaining), price }
    const sequence = state.lastSequence + 1
    const outcome = execute(state, command, { sequence, timestampMs: nowMs })
    steps.push({
      command,
      sequence: outcome.result.status === 'ok' ? sequence : null,
      timestampMs: nowMs,
      type: command.type,
      result: outcome.result,
      events: outcome.events,
    })
    if (outcome.result.status !== 'ok') {
      const takeover: Command = { type: 'liquidation_takeover', orderId: order.orderId }
      const fallback = execute(state, takeover, { sequence, timestampMs: nowMs })
      steps.push({
        command: takeover,
        sequence: fallback.result.status === 'ok' ? sequence : null,
        timestampMs: nowMs,
        type: 'liquidation_takeover',
        result: fallback.result,
        events: fallback.events,
      })
      if (fallback.result.status !== 'ok') break
    }
  }
  return steps
}
