/**
 * Exact numbers (docs/spec/numbers.md). Goal: parsing, formatting and every rounding mode behave as
 * written, and the operations that claim exactness never lose a unit.
 */
import { fc, test } from '@fast-check/vitest'
import { describe, expect, it } from 'vitest'
import { InvariantError } from '../../src/core/assert.ts'
import {
  divideRounded,
  fixedOf,
  formatFixed,
  fromScaled,
  mul,
  mulDiv,
  parseFixed,
  type Rounding,
  roundToDecimals,
  roundToStep,
} from '../../src/core/num/fixed.ts'

describe('NUM-001 parsing decimal strings', () => {
  it.each([
    ['0', '0'],
    ['10.72', '10.72'],
    ['-0.005', '-0.005'],
    ['+3', '3'],
    ['9451.530', '9451.53'],
    ['0.000000000000000001', '0.000000000000000001'],
    ['-0', '0'],
  ])('parses %s exactly', (text, formatted) => {
    const parsed = parseFixed(text)
    expect(parsed.ok).toBe(true)
    if (parsed.ok) expect(formatFixed(parsed.value)).toBe(formatted)
  })

  it.each([
    ['abc', 'not_a_decimal'],
    ['', 'not_a_decimal'],
    ['1e5', 'not_a_decimal'],
    ['1,000', 'not_a_decimal'],
    [' 1', 'not_a_decimal'],
    ['NaN', 'not_a_decimal'],
    ['Infinity', 'not_a_decimal'],
    ['.5', 'not_a_decimal'],
    ['1.', 'not_a_decimal'],
    ['0.0000000000000000001', 'too_many_decimals'],
  ])('refuses %j with code %s', (text, code) => {
    const parsed = parseFixed(text)
    expect(parsed.ok).toBe(false)
    if (!parsed.ok) expect(parsed.code).toBe(code)
  })

  test.prop([fc.bigInt({ min: -(10n ** 30n), max: 10n ** 30n })], { seed: 20261124 })(
    'format then parse is the identity',
    (raw) => {
      const value = fromScaled(raw)
      const parsed = parseFixed(formatFixed(value))
      expect(parsed.ok && parsed.value === value).toBe(true)
    },
  )
})

describe('NUM-002 formatting', () => {
  it('pads to the requested decimals and rounds with the named rounding', () => {
    expect(formatFixed(fixedOf('11383.994'), 2)).toBe('11383.99')
    expect(formatFixed(fixedOf('2.5'), 0, 'half_even')).toBe('2')
    expect(formatFixed(fixedOf('2.5'), 0, 'half_up')).toBe('3')
    expect(formatFixed(fixedOf('-2.5'), 0, 'half_up')).toBe('-3')
    expect(formatFixed(fixedOf('1'), 3)).toBe('1.000')
    expect(formatFixed(fixedOf('-0.0001'), 2)).toBe('0.00')
  })
})

describe('NUM-003 division states its rounding', () => {
  const cases: [bigint, bigint, Rounding, bigint][] = [
    [7n, 2n, 'floor', 3n],
    [-7n, 2n, 'floor', -4n],
    [7n, 2n, 'ceil', 4n],
    [-7n, 2n, 'ceil', -3n],
    [-7n, 2n, 'trunc', -3n],
    [-7n, 2n, 'away', -4n],
    [7n, 2n, 'half_even', 4n],
    [5n, 2n, 'half_even', 2n],
    [-5n, 2n, 'half_even', -2n],
    [5n, 2n, 'half_up', 3n],
    [-5n, 2n, 'half_up', -3n],
    [7n, -2n, 'floor', -4n],
    [10n, 3n, 'half_up', 3n],
    [11n, 3n, 'half_up', 4n],
  ]
  it.each(cases)('%d / %d with %s is %d', (numerator, denominator, rounding, expected) => {
    expect(divideRounded(numerator, denominator, rounding)).toBe(expected)
  })

  it('exact division asserts that nothing is dropped', () => {
    expect(divideRounded(6n, 3n, 'exact')).toBe(2n)
    expect(() => divideRounded(7n, 3n, 'exact')).toThrow(InvariantError)
    expect(() => divideRounded(7n, 0n, 'floor')).toThrow(InvariantError)
  })

  const integers = fc.bigInt({ min: -(10n ** 40n), max: 10n ** 40n })
  const divisors = fc.bigInt({ min: -(10n ** 20n), max: 10n ** 20n }).filter((d) => d !== 0n)
  test.prop([integers, divisors], { seed: 7 })(
    'floor ≤ exact quotient ≤ ceil, within one unit',
    (n, d) => {
      const floor = divideRounded(n, d, 'floor')
      const ceil = divideRounded(n, d, 'ceil')
      // floor × d ≤ n (for d > 0) or ≥ n (for d < 0); ceil is floor or floor + 1
      expect(ceil - floor === 0n || ceil - floor === 1n).toBe(true)
      expect(d > 0n ? floor * d <= n && ceil * d >= n : floor * d >= n && ceil * d <= n).toBe(true)
      const nearest = divideRounded(n, d, 'half_even')
      expect(nearest === floor || nearest === ceil).toBe(true)
    },
  )

  test.prop([integers, divisors], { seed: 11 })(
    'half-even and trunc are symmetric in sign',
    (n, d) => {
      expect(divideRounded(-n, d, 'half_even')).toBe(-divideRounded(n, d, 'half_even'))
      expect(divideRounded(-n, d, 'trunc')).toBe(-divideRounded(n, d, 'trunc'))
    },
  )
})

describe('NUM-004 products and steps', () => {
  it('multiplies published inputs exactly', () => {
    // exchanges.md §11 BN-01: TMM1 = 200 × 1 × 0.65% = 1.3
    expect(formatFixed(mul(fixedOf('200'), fixedOf('0.0065'), 'exact'))).toBe('1.3')
    expect(formatFixed(mul(fixedOf('9451.53'), fixedOf('-0.005'), 'exact'))).toBe('-47.25765')
    expect(formatFixed(mulDiv(fixedOf('1'), fixedOf('1'), fixedOf('3'), 'floor'))).toBe(
      '0.333333333333333333',
    )
  })

  it('rounds to ticks and decimals', () => {
    const tick = fixedOf('0.5')
    expect(formatFixed(roundToStep(fixedOf('10.26'), tick, 'floor'))).toBe('10')
    expect(formatFixed(roundToStep(fixedOf('10.26'), tick, 'ceil'))).toBe('10.5')
    expect(formatFixed(roundToStep(fixedOf('-10.26'), tick, 'floor'))).toBe('-10.5')
    expect(formatFixed(roundToDecimals(fixedOf('9036.144578'), 2, 'half_up'))).toBe('9036.14')
    expect(formatFixed(roundToDecimals(fixedOf('9036.144578'), 2, 'ceil'))).toBe('9036.15')
  })

  test.prop(
    [fc.bigInt({ min: -(10n ** 24n), max: 10n ** 24n }), fc.bigInt({ min: 1n, max: 10n ** 20n })],
    { seed: 3 },
  )('a rounded value is a multiple of its step and within one step', (raw, stepRaw) => {
    const value = fromScaled(raw)
    const step = fromScaled(stepRaw)
    for (const rounding of ['floor', 'ceil', 'half_even'] as const) {
      const rounded = roundToStep(value, step, rounding)
      expect(rounded % step).toBe(0n)
      const distance = rounded > value ? rounded - value : value - rounded
      expect(distance < step).toBe(true)
    }
  })
})
