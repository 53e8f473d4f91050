/**
 * Exact fixed-point decimals on `bigint`.
 *
 * Every domain number (amount, price, size, rate) is a `Fixed`: an integer count of 10^-18 units.
 * Sums and differences are exact. Products and quotients name their rounding; nothing rounds
 * silently. With 18 decimals, the product of two inputs of up to 9 decimals each is exact, which
 * covers every price, size and rate a venue publishes (docs/spec/numbers.md, NUM-001..NUM-006).
 */
import { assert } from '../assert.ts'

declare const fixedBrand: unique symbol
/** A decimal number scaled by 10^18. Build one with `fixed`, `parseFixed` or an operation here. */
export type Fixed = bigint & { readonly [fixedBrand]: true }

export const FIXED_DECIMALS = 18
export const FIXED_SCALE = 10n ** 18n

/**
 * How a quotient or a rescale drops digits (NUM-003).
 * - `floor` toward −∞, `ceil` toward +∞, `trunc` toward zero, `away` away from zero;
 * - `half_even` to nearest, ties to even; `half_up` to nearest, ties away from zero;
 * - `exact` asserts that nothing is dropped.
 */
export type Rounding = 'floor' | 'ceil' | 'trunc' | 'away' | 'half_even' | 'half_up' | 'exact'

export const ZERO = 0n as Fixed
export const ONE = FIXED_SCALE as Fixed

/** Wraps a raw scaled integer. Use only where the integer is known to be in 10^-18 units. */
export function fromScaled(raw: bigint): Fixed {
  return raw as Fixed
}

/** A whole number as a `Fixed` (fixed(3) is 3.000…). */
export function fixed(whole: bigint | number): Fixed {
  const integer = typeof whole === 'number' ? BigInt(whole) : whole
  return (integer * FIXED_SCALE) as Fixed
}

/** Integer division of `numerator` by a non-zero `denominator` with the named rounding. */
export function divideRounded(numerator: bigint, denominator: bigint, rounding: Rounding): bigint {
  assert(denominator !== 0n, 'Invariant: a divisor is not zero (NUM-003)')
  const quotient = numerator / denominator // truncates toward zero
  // = numerator % denominator: one multiplication costs far less than a second division.
  const remainder = numerator - quotient * denominator
  if (remainder === 0n) return quotient
  const negative = numerator < 0n !== denominator < 0n
  switch (rounding) {
    case 'trunc':
      return quotient
    case 'floor':
      return negative ? quotient - 1n : quotient
    case 'ceil':
      return negative ? quotient : quotient + 1n
    case 'away':
      return negative ? quotient - 1n : quotient + 1n
    case 'half_up':
    case 'half_even': {
      const twiceRemainder = 2n * (remainder < 0n ? -remainder : remainder)
      const divisor = denominator < 0n ? -denominator : denominator
      const step = negative ? -1n : 1n
      if (twiceRemainder > divisor) return quotient + step
      if (twiceRemainder < divisor) return quotient
      if (rounding === 'half_up') return quotient + step
      return quotient % 2n === 0n ? quotient : quotient + step
    }
    case 'exact':
      assert(
        false,
        `Invariant: an exact division leaves no remainder (NUM-003, numerator=${numerator}, denominator=${denominator})`,
      )
  }
}

export function add(a: Fixed, b: Fixed): Fixed {
  return (a + b) as Fixed
}

export function sub(a: Fixed, b: Fixed): Fixed {
  return (a - b) as Fixed
}

export function neg(a: Fixed): Fixed {
  return (0n - a) as Fixed
}

export function abs(a: Fixed): Fixed {
  return (a < 0n ? 0n - a : a) as Fixed
}

export function sign(a: Fixed): -1n | 0n | 1n {
  return a > 0n ? 1n : a < 0n ? -1n : 0n
}

export function min(a: Fixed, b: Fixed): Fixed {
  return a < b ? a : b
}

export function max(a: Fixed, b: Fixed): Fixed {
  return a > b ? a : b
}

export function sum(values: Iterable<Fixed>): Fixed {
  let total = 0n
  for (const value of values) total += value
  return total as Fixed
}

/** a × b, rounded to 18 decimals. Exact (no rounding needed) when the decimals of a and b add up to ≤ 18. */
export function mul(a: Fixed, b: Fixed, rounding: Rounding): Fixed {
  return divideRounded(a * b, FIXED_SCALE, rounding) as Fixed
}

/** a × b × c with one rounding at the end. */
export function mul3(a: Fixed, b: Fixed, c: Fixed, rounding: Rounding): Fixed {
  return divideRounded(a * b * c, FIXED_SCALE * FIXED_SCALE, rounding) as Fixed
}

/** a ÷ b, rounded to 18 decimals. */
export function div(a: Fixed, b: Fixed, rounding: Rounding): Fixed {
  return divideRounded(a * FIXED_SCALE, b, rounding) as Fixed
}

/** a × b ÷ c with one rounding at the end (no intermediate loss). */
export function mulDiv(a: Fixed, b: Fixed, c: Fixed, rounding: Rounding): Fixed {
  return divideRounded(a * b, c, rounding) as Fixed
}

/** Multiplies by a whole number: exact. */
export function mulInteger(a: Fixed, integer: bigint): Fixed {
  return (a * integer) as Fixed
}

/** Rounds `value` to a multiple of `step` (a tick or lot size) with the named rounding. */
export function roundToStep(value: Fixed, step: Fixed, rounding: Rounding): Fixed {
  assert(step > 0n, 'Invariant: a rounding step is positive (NUM-004)')
  return (divideRounded(value, step, rounding) * step) as Fixed
}

/** True when `value` is a whole multiple of `step`. */
export function isMultipleOf(value: Fixed, step: Fixed): boolean {
  return step > 0n && value % step === 0n
}

/** Rounds to `decimals` places (0..18) with the named rounding. */
export function roundToDecimals(value: Fixed, decimals: number, rounding: Rounding): Fixed {
  assert(
    Number.isInteger(decimals) && decimals >= 0 && decimals <= FIXED_DECIMALS,
    'Invariant: decimals lie in 0..18 (NUM-004)',
  )
  const step = 10n ** BigInt(FIXED_DECIMALS - decimals)
  return (divideRounded(value, step, rounding) * step) as Fixed
}

const decimalPattern = /^([+-]?)(\d+)(?:\.(\d+))?$/

/** Outcome of parsing a decimal string: a value, or a reason with a stable code. */
export type ParseFixedResult =
  | { readonly ok: true; readonly value: Fixed }
  | {
      readonly ok: false
      readonly code: 'not_a_decimal' | 'too_many_decimals'
      readonly message: string
    }

/**
 * Parses a plain decimal string ("-12.5", "0.004", "10") exactly (NUM-001). Exponents, spaces,
 * thousands separators, "NaN" and more than 18 decimals are refused, never rounded.
 */
export function parseFixed(text: string): ParseFixedResult {
  const match = decimalPattern.exec(text)
  if (match === null) {
    return { ok: false, code: 'not_a_decimal', message: `"${text}" is not a decimal number` }
  }
  const [, signText = '', wholeText = '0', fractionText = ''] = match
  if (fractionText.length > FIXED_DECIMALS) {
    return {
      ok: false,
      code: 'too_many_decimals',
      message: `"${text}" has more than ${FIXED_DECIMALS} decimals`,
    }
  }
  const magnitude =
    BigInt(wholeText) * FIXED_SCALE + BigInt(fractionText.padEnd(FIXED_DECIMALS, '0'))
  return { ok: true, value: (signText === '-' ? -magnitude : magnitude) as Fixed }
}

/** Parses a decimal string that the caller has already validated; asserts on bad input. */
export function fixedOf(text: string): Fixed {
  const parsed = parseFixed(text)
  assert(parsed.ok, `Condition failed: "${text}" is a decimal number (NUM-001)`)
  return parsed.value
}

/**
 * Formats exactly (NUM-002): all significant decimals and no trailing zeros by default; with
 * `decimals`, rounds to that many places with `rounding` (default half_even) and pads with zeros.
 */
export function formatFixed(
  value: Fixed,
  decimals?: number,
  rounding: Rounding = 'half_even',
): string {
  const shown = decimals === undefined ? value : roundToDecimals(value, decimals, rounding)
  const negative = shown < 0n
  const magnitude = negative ? 0n - shown : shown
  const whole = magnitude / FIXED_SCALE
  let fraction = (magnitude % FIXED_SCALE).toString().padStart(FIXED_DECIMALS, '0')
  fraction = decimals === undefined ? fraction.replace(/0+$/, '') : fraction.slice(0, decimals)
  const body = fraction.length > 0 ? `${whole}.${fraction}` : `${whole}`
  return negative && shown !== 0n ? `-${body}` : body
}

/** Nearest float64, for display, charts and the screening pre-pass only; never for decisions. */
export function toNumber(value: Fixed): number {
  const whole = value / FIXED_SCALE
  const fraction = value % FIXED_SCALE
  return Number(whole) + Number(fraction) / 1e18
}
