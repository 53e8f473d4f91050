/**
 * Accounts and positions (docs/spec/accounts.md, ACC-*).
 *
 * A position keeps its signed `size` (contracts) and its signed `entryValue`, the exact sum of the
 * values of the fills that opened it (linear: Σ size × contractSize × price, in quote; inverse:
 * Σ size × contractSize ÷ price, in base, each fill rounded once, half-even). The average entry
 * price is derived from these two. Keeping the value rather than the average price is what makes
 * conservation exact: a fill's value is computed once and booked with opposite signs on both sides.
 */
import type { Fixed } from '../num/fixed.ts'

export type MarginMode = 'cross' | 'isolated'

export interface Position {
  readonly market: string
  /** Signed contracts: + long, − short. Never 0 for a stored position. */
  readonly size: Fixed
  /** Signed value at entry, same sign as size (see the module note). */
  readonly entryValue: Fixed
  readonly marginMode: MarginMode
  /** Isolated mode: the margin posted to this position, in the settlement asset. 0 in cross. */
  readonly isolatedMargin: Fixed
  /** Leverage the trader picked; `null` uses the tier's maximum. */
  readonly leverage: Fixed | null
}

export interface Account {
  readonly id: string
  /** Wallet balance per asset (cross collateral). Realized PnL, fees and funding of cross positions land here. */
  readonly balances: ReadonlyMap<string, Fixed>
  /** Open positions by market id. */
  readonly positions: ReadonlyMap<string, Position>
}
