/**
 * Instruments (docs/spec/instruments.md, INS-*). A position's `size` is always in contracts, signed
 * (+ long, − short). What one contract is worth depends on the kind:
 * - linear (USDT/USDC-margined): one contract is `contractSize` base units; value = size × contractSize × price,
 *   in the quote asset, which is also the settlement asset;
 * - inverse (coin-margined): one contract is `contractSize` quote units (e.g. 100 USD); value =
 *   size × contractSize ÷ price, in the base asset, which is the settlement asset.
 * Dated futures add an expiry and settle at a settlement price; perpetuals never expire.
 */
import type { Fixed } from '../num/fixed.ts'

export type InstrumentKind =
  | 'linear_perpetual'
  | 'inverse_perpetual'
  | 'linear_future'
  | 'inverse_future'

export type Quoting = 'linear' | 'inverse'

export interface Instrument {
  /** Market id, e.g. "BTCUSDT". Unique within a rule set. */
  readonly market: string
  readonly kind: InstrumentKind
  readonly baseAsset: string
  readonly quoteAsset: string
  /** The asset margin, PnL, fees and funding are paid in (quote for linear, base for inverse). */
  readonly settlementAsset: string
  /** Linear: base units per contract. Inverse: quote units (USD) per contract. */
  readonly contractSize: Fixed
  /** Price step. */
  readonly tickSize: Fixed
  /** Size step, in contracts. */
  readonly lotSize: Fixed
  /** Dated futures only: expiry time, milliseconds since the Unix epoch (UTC). */
  readonly expiryTimeMs?: number
}

export function quotingOf(kind: InstrumentKind): Quoting {
  return kind === 'linear_perpetual' || kind === 'linear_future' ? 'linear' : 'inverse'
}

export function isDatedFuture(kind: InstrumentKind): boolean {
  return kind === 'linear_future' || kind === 'inverse_future'
}
