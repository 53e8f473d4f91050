/**
 * Options as data (docs/spec/options.md, OPT-006..OPT-007): what an option contract is, and how
 * long it has left, without any clock: the valuation time is always given by the caller.
 */
import { assert } from '../assert.ts'
import { div, type Fixed, fixed, fromScaled, mul, type Rounding, ZERO } from '../num/fixed.ts'
import { intrinsicValue, type OptionRight } from './black76.ts'

/** A European option contract on an underlying market (a future, forward or index). */
export interface OptionSpec {
  /** Option market id, e.g. "BTC-27DEC24-60000-C". */
  readonly market: string
  /** The market whose price is the option's underlying (F in Black-76), e.g. "BTC-27DEC24". */
  readonly underlyingMarket: string
  readonly right: OptionRight
  readonly strike: Fixed
  /** Expiry, milliseconds since the Unix epoch (UTC). */
  readonly expiryTimeMs: number
  /** Units of the underlying per contract. */
  readonly contractSize: Fixed
}

/** Milliseconds in the 365-day year used for time to expiry. */
export const YEAR_MS = 31_536_000_000n

/** Time to expiry in years, (expiry − valuation) ÷ 365 days, never below 0; rounded with `rounding` (OPT-006). */
export function timeToExpiryYears(
  expiryTimeMs: number,
  valuationTimeMs: number,
  rounding: Rounding = 'half_even',
): Fixed {
  assert(
    Number.isSafeInteger(expiryTimeMs) && Number.isSafeInteger(valuationTimeMs),
    'Invariant: times are whole milliseconds (OPT-006)',
  )
  const remaining = BigInt(expiryTimeMs) - BigInt(valuationTimeMs)
  if (remaining <= 0n) return ZERO
  return div(fromScaled(remaining * 10n ** 18n), fixed(YEAR_MS), rounding)
}

/** Cash paid per contract at expiry: intrinsic value at the settlement price × contract size (OPT-007). */
export function settlementValue(option: OptionSpec, settlementPrice: Fixed): Fixed {
  return mul(
    intrinsicValue(option.right, settlementPrice, option.strike),
    option.contractSize,
    'half_even',
  )
}
