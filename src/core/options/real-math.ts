/**
 * Deterministic transcendental functions on integers (docs/spec/options.md, OPT-001).
 *
 * Option pricing needs ln, exp, sqrt and the normal distribution. Floats are not used: results
 * would depend on the platform's libm, and floats never decide an outcome in core. Instead every
 * function here works on a `Real`, a bigint scaled by 10^50, with series whose truncation and
 * rounding errors stay far below 10^-40. Crossing back into money, `toFixed` rounds to the 18
 * decimals of `Fixed` with a named rounding, so a result is exact to the last decimal shown in
 * all but pathological ties.
 */
import { assert } from '../assert.ts'
import { divideRounded, type Fixed, fromScaled, type Rounding } from '../num/fixed.ts'

declare const realBrand: unique symbol
/** A real number as a bigint scaled by 10^50 (internal working precision of the pricing models). */
export type Real = bigint & { readonly [realBrand]: true }

/** Decimal digits of a `Real`. */
export const REAL_DECIMALS = 50
const SCALE = 10n ** 50n
const HALF = 5n * 10n ** 49n
const FIXED_TO_REAL = 10n ** 32n

/** π to 50 decimals. */
const PI = 314159265358979323846264338327950288419716939937510n as Real

function real(raw: bigint): Real {
  return raw as Real
}

/** A `Fixed` as a `Real` (exact). */
export function realOf(value: Fixed): Real {
  return real(value * FIXED_TO_REAL)
}

/** A whole number as a `Real`. */
export function realInteger(value: bigint): Real {
  return real(value * SCALE)
}

/** Rounds a `Real` to a `Fixed` (18 decimals) with the named rounding. */
export function toFixed(value: Real, rounding: Rounding): Fixed {
  return fromScaled(divideRounded(value, FIXED_TO_REAL, rounding))
}

/** a × b, nearest. */
export function realMul(a: Real, b: Real): Real {
  return real(divideRounded(a * b, SCALE, 'half_even'))
}

/** a ÷ b, nearest. */
export function realDiv(a: Real, b: Real): Real {
  return real(divideRounded(a * SCALE, b, 'half_even'))
}

/** Σ y^(2k+1) ÷ (2k+1): atanh(y) for |y| < 1 (the series ln and ln 2 are built on). */
function atanh(y: Real): Real {
  const ySquared = realMul(y, y)
  let power: bigint = y
  let total = 0n
  for (let k = 1n; power !== 0n; k += 2n) {
    total += divideRounded(power, k, 'half_even')
    power = realMul(real(power), ySquared)
  }
  return real(total)
}

/** ln 2 = 2 atanh(1/3). */
const LN2 = real(2n * atanh(real(divideRounded(SCALE, 3n, 'half_even'))))

/** Natural logarithm of a positive `Real`. */
export function realLn(x: Real): Real {
  assert(x > 0n, `Invariant: a logarithm's argument is positive (OPT-001, x=${x})`)
  // x = m × 2^k with m in [1, 2): ln x = k ln 2 + 2 atanh((m − 1) ÷ (m + 1)).
  let k = BigInt(x.toString(2).length - SCALE.toString(2).length)
  let m: bigint = k >= 0n ? divideRounded(x, 1n << k, 'half_even') : x << -k
  while (m >= 2n * SCALE) {
    m = divideRounded(m, 2n, 'half_even')
    k += 1n
  }
  while (m < SCALE) {
    m *= 2n
    k -= 1n
  }
  const y = realDiv(real(m - SCALE), real(m + SCALE))
  return real(k * LN2 + 2n * atanh(y))
}

/** e^x. Results below 10^-50 are 0. */
export function realExp(x: Real): Real {
  // x = k ln 2 + r with |r| ≤ ln 2 ÷ 2; e^r by its Taylor series.
  const k = divideRounded(x, LN2, 'half_even')
  const r = x - k * LN2
  let term: bigint = SCALE
  let total = 0n
  for (let n = 1n; term !== 0n; n += 1n) {
    total += term
    term = divideRounded(divideRounded(term * r, SCALE, 'half_even'), n, 'half_even')
  }
  if (k >= 0n) return real(total << k)
  return real(divideRounded(total, 1n << -k, 'half_even'))
}

/** Square root of a non-negative `Real`, rounded down. */
export function realSqrt(x: Real): Real {
  assert(x >= 0n, `Invariant: a square root's argument is not negative (OPT-001, x=${x})`)
  return real(integerSqrt(x * SCALE))
}

/** ⌊√n⌋ of a non-negative integer (Newton's method on integers). */
export function integerSqrt(n: bigint): bigint {
  assert(n >= 0n, 'Invariant: a square root of a negative integer is not taken (OPT-001)')
  if (n < 2n) return n
  let x = 1n << BigInt(Math.ceil(n.toString(2).length / 2))
  for (;;) {
    const next = (x + divideRounded(n, x, 'floor')) >> 1n
    if (next >= x) return x
    x = next
  }
}

/** x^y = e^(y ln x) for x > 0. */
export function realPow(x: Real, y: Real): Real {
  return realExp(realMul(y, realLn(x)))
}

const SQRT_TWO_PI = realSqrt(real(2n * PI))
/** Beyond ±10 the normal CDF is within 8 × 10^-24 of 0 or 1 and is returned as exactly 0 or 1. */
const CDF_CUTOFF = 10n * SCALE

/** Standard normal density φ(x) = e^(−x²/2) ÷ √(2π). */
export function normalDensity(x: Real): Real {
  return realDiv(realExp(real(-divideRounded(x * x, 2n * SCALE, 'half_even'))), SQRT_TWO_PI)
}

/**
 * Standard normal distribution function Φ(x), by the everywhere-convergent series
 * Φ(x) = 1/2 + φ(x) × Σ x^(2n+1) ÷ (1·3·5···(2n+1)).
 */
export function normalCdf(x: Real): Real {
  if (x <= -CDF_CUTOFF) return real(0n)
  if (x >= CDF_CUTOFF) return real(SCALE)
  const xSquared = realMul(x, x)
  let term: bigint = x
  let total = 0n
  for (let odd = 3n; term !== 0n; odd += 2n) {
    total += term
    term = divideRounded(divideRounded(term * xSquared, SCALE, 'half_even'), odd, 'half_even')
  }
  return real(HALF + realMul(normalDensity(x), real(total)))
}

/** −a. */
export function realNeg(a: Real): Real {
  return real(0n - a)
}

/** a + b. */
export function realAdd(a: Real, b: Real): Real {
  return real(a + b)
}

/** a − b. */
export function realSub(a: Real, b: Real): Real {
  return real(a - b)
}
