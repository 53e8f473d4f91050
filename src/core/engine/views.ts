/**
 * Read-only views of engine state for reports and expectations (ACC-040, ACC-041).
 */
import { entryPriceOf, unrealizedPnl } from '../model/position-math.ts'
import { add, type Fixed, ZERO } from '../num/fixed.ts'
import type { EngineState } from './state.ts'

/**
 * An account's equity in `asset` (ACC-040): wallet balance + isolated margins + unrealized PnL at
 * the mark of every position settled in `asset` (a position without a mark counts at its entry).
 */
export function equityOf(state: EngineState, accountId: string, asset: string): Fixed {
  const account = state.accounts.get(accountId)
  if (account === undefined) return ZERO
  let equity = account.balances.get(asset) ?? ZERO
  for (const position of account.positions.values()) {
    const instrument = state.rules.markets.get(position.market)?.instrument
    if (instrument?.settlementAsset !== asset) continue
    equity = add(equity, position.isolatedMargin)
    const mark = state.prices.get(position.market)?.mark
    if (mark !== undefined)
      equity = add(equity, unrealizedPnl(instrument, position.size, position.entryValue, mark))
  }
  return equity
}

/** The average entry price of an open position (ACC-003), or `null` when there is none. */
export function entryPriceOfPosition(
  state: EngineState,
  accountId: string,
  market: string,
): Fixed | null {
  const position = state.accounts.get(accountId)?.positions.get(market)
  const instrument = state.rules.markets.get(market)?.instrument
  if (position === undefined || instrument === undefined) return null
  return entryPriceOf(instrument, position.size, position.entryValue)
}

/** The assets an account touches: its balances and its positions' settlement assets, sorted. */
export function assetsOf(state: EngineState, accountId: string): string[] {
  const account = state.accounts.get(accountId)
  if (account === undefined) return []
  const assets = new Set(account.balances.keys())
  for (const position of account.positions.values()) {
    const asset = state.rules.markets.get(position.market)?.instrument.settlementAsset
    if (asset !== undefined) assets.add(asset)
  }
  return [...assets].sort()
}
