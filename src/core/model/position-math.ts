/**
 * Values and PnL of one position at a price (ACC-001..ACC-004). All exact, or rounded once with the
 * rounding named at the call. Linear values are in the quote asset, inverse values in the base asset.
 */
import { assert } from '../assert.ts'
import { abs, div, type Fixed, mul, mul3, neg, type Rounding, sub } from '../num/fixed.ts'
import { type Instrument, quotingOf } from './instrument.ts'

/**
 * Signed value of `size` contracts at `price`: linear size × contractSize × price (exact);
 * inverse size × contractSize ÷ price, rounded with `rounding` (half-even by default, which is
 * symmetric in sign, so a fill's two sides book opposite values exactly).
 */
export function contractValue(
  instrument: Instrument,
  size: Fixed,
  price: Fixed,
  rounding: Rounding = 'half_even',
): Fixed {
  // An option's premium may be worth nothing (a model mark far out of the money, OPT-027).
  assert(
    price > 0n || (price === 0n && instrument.option !== undefined),
    `Invariant: prices are positive (ACC-001, market=${instrument.market})`,
  )
  if (quotingOf(instrument.kind) === 'linear')
    return mul3(size, instrument.contractSize, price, 'exact')
  return div(mul(size, instrument.contractSize, 'exact'), price, rounding)
}

/** Unsigned value of a position at `price` (its notional in the settlement asset). */
export function positionValue(instrument: Instrument, size: Fixed, price: Fixed): Fixed {
  return contractValue(instrument, abs(size), price)
}

/**
 * Unrealized PnL at `price`, in the settlement asset (ACC-002):
 * linear  = value(size, price) − entryValue;
 * inverse = entryValue − value(size, price)   (coin PnL = size × contractSize × (1/entry − 1/price)).
 */
export function unrealizedPnl(
  instrument: Instrument,
  size: Fixed,
  entryValue: Fixed,
  price: Fixed,
): Fixed {
  const valueNow = contractValue(instrument, size, price)
  return quotingOf(instrument.kind) === 'linear'
    ? sub(valueNow, entryValue)
    : sub(entryValue, valueNow)
}

/**
 * Average entry price implied by size and entry value (ACC-003):
 * linear entryValue ÷ (size × contractSize); inverse size × contractSize ÷ entryValue.
 */
export function entryPriceOf(
  instrument: Instrument,
  size: Fixed,
  entryValue: Fixed,
  rounding: Rounding = 'half_even',
): Fixed {
  assert(size !== 0n, 'Invariant: an entry price belongs to a non-empty position (ACC-003)')
  const contracts = mul(size, instrument.contractSize, 'exact')
  return quotingOf(instrument.kind) === 'linear'
    ? div(entryValue, contracts, rounding)
    : div(contracts, entryValue, rounding)
}

/**
 * A position's cash leg: what its entry value contributes to the cash a venue holds (INV-001):
 * −entryValue for linear (the quote paid to open), +entryValue for inverse.
 */
export function cashLegOf(instrument: Instrument, entryValue: Fixed): Fixed {
  return quotingOf(instrument.kind) === 'linear' ? neg(entryValue) : entryValue
}

/** Entry value of a position given as size and average entry price (calculator input). */
export function entryValueOf(instrument: Instrument, size: Fixed, entryPrice: Fixed): Fixed {
  return contractValue(instrument, size, entryPrice)
}

/** The realized PnL of closing `closedSize` (same sign as the position) whose entry value is `closedEntryValue`, at `price`. */
export function realizedPnl(
  instrument: Instrument,
  closedSize: Fixed,
  closedEntryValue: Fixed,
  price: Fixed,
): Fixed {
  return unrealizedPnl(instrument, closedSize, closedEntryValue, price)
}
