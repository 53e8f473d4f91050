/**
 * Instruments (docs/spec/instruments.md, INS-*). A position's `size` is always in contracts, signed
 * (+ long, − short). What one contract is worth depends on the kind:
 * - linear (USDT/USDC-margined): one contract is `contractSize` base units; value = size × contractSize × price,
 *   in the quote asset, which is also the settlement asset;
 * - inverse (coin-margined): one contract is `contractSize` quote units (e.g. 100 USD); value =
 *   size × contractSize ÷ price, in the base asset, which is the settlement asset.
 * Dated futures add an expiry and settle at a settlement price; perpetuals never expire.
 * - option: a European option on another market of the rule set (docs/spec/options.md, OPT-020..).
 *   Its price is the premium per unit of the underlying, in the settlement asset (USDC for a
 *   USDC-settled option, BTC for a coin-settled one), so value = size × contractSize × premium,
 *   the linear formula. Options are booked futures-style: the premium is settled through PnL.
 */
import type { Fixed } from '../num/fixed.ts'
import type { OptionRight } from '../options/black76.ts'

export type InstrumentKind =
  | 'linear_perpetual'
  | 'inverse_perpetual'
  | 'linear_future'
  | 'inverse_future'
  | 'option'

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
  /** Dated futures and options: expiry time, milliseconds since the Unix epoch (UTC). */
  readonly expiryTimeMs?: number
  /** Options only: what the option is written on (OPT-020). */
  readonly option?: OptionTerms
}

/** The terms of an option market (OPT-020). */
export interface OptionTerms {
  /** The market whose mark is the option's underlying price F (a perpetual or future of the rule set). */
  readonly underlyingMarket: string
  readonly right: OptionRight
  /** Strike, in the underlying's quote asset. */
  readonly strike: Fixed
  /** Rate r used by Black-76 to discount (0 for futures-style options). */
  readonly rate: Fixed
}

/** How a position's value follows its price: options are linear in their premium. */
export function quotingOf(kind: InstrumentKind): Quoting {
  return kind === 'inverse_perpetual' || kind === 'inverse_future' ? 'inverse' : 'linear'
}

/**
 * How the market settles against its underlying: `inverse` when it settles in its base asset (a
 * coin-margined future, or a coin-settled option), `linear` when in its quote asset.
 */
export function settlementQuotingOf(instrument: Instrument): Quoting {
  if (instrument.kind !== 'option') return quotingOf(instrument.kind)
  return instrument.settlementAsset === instrument.baseAsset ? 'inverse' : 'linear'
}

export function isOption(kind: InstrumentKind): boolean {
  return kind === 'option'
}

export function isDatedFuture(kind: InstrumentKind): boolean {
  return kind === 'linear_future' || kind === 'inverse_future'
}
