import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { abs, type Fixed, fixedOf, formatFixed, sub, toNumber } from '../../src/core/num/fixed.ts'
import { black76, black76Value, intrinsicValue } from '../../src/core/options/black76.ts'
import { settlementValue, timeToExpiryYears } from '../../src/core/options/option.ts'
import {
  normalCdf,
  realExp,
  realLn,
  realOf,
  realPow,
  toFixed,
} from '../../src/core/options/real-math.ts'

const f = fixedOf
const show = (value: Fixed, decimals?: number): string => formatFixed(value, decimals)
const real = (text: string) => realOf(f(text))

describe('OPT-001: deterministic transcendental functions', () => {
  it.each([
    // Reference values from an independent 60-digit decimal evaluation of the same series; they agree
    // with Abramowitz & Stegun table 26.1 to the 15 digits printed there.
    ['0', '0.5'],
    ['1', '0.841344746068542949'],
    ['-1.96', '0.024997895148220434'],
    ['2.5', '0.993790334674223865'],
    ['-9.9', '0'],
    ['11', '1'],
  ])('Φ(%s) = %s to 18 decimals', (x, expected) => {
    const value = toFixed(normalCdf(real(x)), 'half_even')
    expect(show(value)).toBe(expected)
  })

  it('ln 2, e and 2^0.3 to 18 decimals', () => {
    expect(show(toFixed(realLn(real('2')), 'half_even'))).toBe('0.693147180559945309')
    expect(show(toFixed(realExp(real('1')), 'half_even'))).toBe('2.718281828459045235')
    expect(show(toFixed(realPow(real('2'), real('0.3')), 'half_even'))).toBe('1.231144413344916284')
  })

  it('ln and exp are inverse to 10^-17 over a wide range (property, seed 7)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 10_000_000 }), (thousandths) => {
        const x = f((thousandths / 1000).toFixed(3))
        const back = toFixed(realExp(realLn(realOf(x))), 'half_even')
        expect(abs(sub(back, x)) <= f('0.00000000001')).toBe(true)
      }),
      { seed: 7, numRuns: 100 },
    )
  })
})

describe('OPT-002..OPT-004: Black-76 value and greeks', () => {
  it('OPT-002: Hull, Options, Futures and Other Derivatives, futures option example (F = K = 20, r 9 %, T 4/12, σ 25 %): put 1.1166', () => {
    const result = black76({
      right: 'put',
      forward: f('20'),
      strike: f('20'),
      timeToExpiryYears: f('0.333333333333333333'),
      volatility: f('0.25'),
      rate: f('0.09'),
    })
    expect(show(result.value, 4)).toBe('1.1166')
  })

  it('OPT-002: Haug, The Complete Guide to Option Pricing Formulas, Black-76 example (F = K = 19, T 0.75, r 10 %, σ 28 %): call = put = 1.7011', () => {
    const input = {
      forward: f('19'),
      strike: f('19'),
      timeToExpiryYears: f('0.75'),
      volatility: f('0.28'),
      rate: f('0.1'),
    }
    expect(show(black76({ ...input, right: 'call' }).value, 4)).toBe('1.7011')
    expect(show(black76({ ...input, right: 'put' }).value, 4)).toBe('1.7011')
  })

  it('OPT-003: put-call parity c − p = e^(−rT)(F − K) and delta parity hold to 10^-17 (property, seed 11)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1_000, max: 200_000 }),
        fc.integer({ min: 1_000, max: 200_000 }),
        fc.integer({ min: 1, max: 730 }),
        fc.integer({ min: 5, max: 300 }),
        fc.integer({ min: 0, max: 10 }),
        (forward, strike, days, volPercent, ratePercent) => {
          const input = {
            forward: f(String(forward)),
            strike: f(String(strike)),
            timeToExpiryYears: f((days / 365).toFixed(12)),
            volatility: f((volPercent / 100).toFixed(2)),
            rate: f((ratePercent / 100).toFixed(2)),
          }
          const call = black76({ ...input, right: 'call' })
          const put = black76({ ...input, right: 'put' })
          const discounted = black76({ ...input, right: 'call', volatility: f('0') })
          const discount = toNumber(sub(call.delta, put.delta))
          expect(
            Math.abs(
              discount - Math.exp((-(ratePercent / 100) * Number(input.timeToExpiryYears)) / 1e18),
            ),
          ).toBeLessThan(1e-15)
          const parity = toNumber(sub(call.value, put.value)) - discount * (forward - strike)
          expect(Math.abs(parity)).toBeLessThan(1e-9 * Math.max(forward, strike))
          expect(call.gamma).toBe(put.gamma)
          expect(call.vega).toBe(put.vega)
          expect(call.value >= discounted.value).toBe(true)
        },
      ),
      { seed: 11, numRuns: 40 },
    )
  })

  it('OPT-004: at expiry the value is intrinsic and the greeks are 0 (delta ½ at the money)', () => {
    const base = { strike: f('100'), timeToExpiryYears: f('0'), volatility: f('0.5'), rate: f('0') }
    expect(show(black76({ ...base, right: 'call', forward: f('120') }).value)).toBe('20')
    expect(show(black76({ ...base, right: 'call', forward: f('120') }).delta)).toBe('1')
    expect(show(black76({ ...base, right: 'put', forward: f('120') }).value)).toBe('0')
    expect(show(black76({ ...base, right: 'put', forward: f('80') }).delta)).toBe('-1')
    expect(show(black76({ ...base, right: 'call', forward: f('100') }).delta)).toBe('0.5')
    expect(black76({ ...base, right: 'call', forward: f('120') }).gamma).toBe(0n)
  })

  it('OPT-004: a call gains value with the forward and with volatility (property, seed 5)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 50, max: 150 }),
        fc.integer({ min: 10, max: 100 }),
        (forward, vol) => {
          const input = {
            right: 'call' as const,
            forward: f(String(forward)),
            strike: f('100'),
            timeToExpiryYears: f('0.25'),
            volatility: f((vol / 100).toFixed(2)),
            rate: f('0'),
          }
          const base = black76(input).value
          expect(black76({ ...input, forward: f(String(forward + 1)) }).value >= base).toBe(true)
          expect(
            black76({ ...input, volatility: f(((vol + 1) / 100).toFixed(2)) }).value >= base,
          ).toBe(true)
        },
      ),
      { seed: 5, numRuns: 30 },
    )
  })
})

describe('OPT-005..OPT-007: option data, time to expiry and settlement', () => {
  it('OPT-005: intrinsic value', () => {
    expect(show(intrinsicValue('call', f('105'), f('100')))).toBe('5')
    expect(show(intrinsicValue('put', f('105'), f('100')))).toBe('0')
    expect(show(intrinsicValue('put', f('95.5'), f('100')))).toBe('4.5')
  })

  it('OPT-006: time to expiry is (expiry − valuation) ÷ 365 days, never negative', () => {
    const day = 86_400_000
    expect(show(timeToExpiryYears(73 * day, 0))).toBe('0.2')
    expect(show(timeToExpiryYears(0, 5 * day))).toBe('0')
  })

  it('OPT-007: settlement pays intrinsic × contract size', () => {
    const option = {
      market: 'BTC-27DEC24-60000-C',
      underlyingMarket: 'BTC-27DEC24',
      right: 'call' as const,
      strike: f('60000'),
      expiryTimeMs: 1_735_286_400_000,
      contractSize: f('0.1'),
    }
    expect(show(settlementValue(option, f('62500')))).toBe('250')
    expect(show(settlementValue(option, f('59000')))).toBe('0')
  })
})

describe('OPT-002: the value alone', () => {
  it('black76Value equals the value of black76 to the last digit (property, seed 7)', () => {
    const decimal = (low: number, high: number) =>
      fc.integer({ min: low, max: high }).map((units) => f((units / 100).toFixed(2)))
    fc.assert(
      fc.property(
        fc.constantFrom('call' as const, 'put' as const),
        decimal(0, 20_000_000),
        decimal(1, 20_000_000),
        decimal(0, 300),
        decimal(0, 400),
        decimal(0, 20),
        fc.constantFrom('half_even' as const, 'floor' as const, 'ceil' as const),
        (right, forward, strike, time, volatility, rate, rounding) => {
          const input = {
            right,
            forward,
            strike,
            timeToExpiryYears: time,
            volatility,
            rate,
          }
          // The value-only path first, so neither answer comes from the other's cache.
          const alone = black76Value(input, rounding)
          expect(alone).toBe(black76(input, rounding).value)
        },
      ),
      { seed: 7, numRuns: 150 },
    )
  })
})
