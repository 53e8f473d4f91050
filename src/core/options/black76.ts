/**
 * Black-76: European options on a forward or futures price (docs/spec/options.md, OPT-002..OPT-005).
 *
 *   d1 = (ln(F/K) + σ²T/2) ÷ (σ√T),  d2 = d1 − σ√T,  D = e^(−rT)
 *   call = D (F Φ(d1) − K Φ(d2)),     put = D (K Φ(−d2) − F Φ(−d1))
 *   delta: call D Φ(d1), put −D Φ(−d1);  gamma D φ(d1) ÷ (F σ√T);  vega D F φ(d1) √T (per 1.00 of vol)
 *
 * Computed on `Real`s (10^-50) and rounded once to `Fixed` with the caller's rounding. At expiry
 * (T = 0) or with zero volatility the value is the discounted intrinsic value D × max(±(F − K), 0),
 * the delta is D, 0 or −D (at the money: half of it), and gamma and vega are 0.
 */
import { assert } from '../assert.ts'
import { divideRounded, type Fixed, type Rounding, ZERO } from '../num/fixed.ts'
import {
  normalCdf,
  normalDensity,
  type Real,
  realDiv,
  realExp,
  realInteger,
  realLn,
  realAdd,
  realMul,
  realNeg,
  realOf,
  realSub,
  realSqrt,
  toFixed,
} from './real-math.ts'

/** Call or put. */
export type OptionRight = 'call' | 'put'

/** What Black-76 needs to value one option on one unit of the underlying. */
export interface Black76Input {
  readonly right: OptionRight
  /** Forward or futures price F of the underlying, ≥ 0. */
  readonly forward: Fixed
  /** Strike K, > 0. */
  readonly strike: Fixed
  /** Time to expiry in years, ≥ 0. */
  readonly timeToExpiryYears: Fixed
  /** Annualised volatility σ (0.8 = 80 %), ≥ 0. */
  readonly volatility: Fixed
  /** Continuously compounded annual rate r used for discounting (0 for futures-style margined options). */
  readonly rate: Fixed
}

/** Value and sensitivities of one option on one unit of the underlying. */
export interface Black76Result {
  readonly value: Fixed
  /** ∂value/∂F. */
  readonly delta: Fixed
  /** ∂²value/∂F². */
  readonly gamma: Fixed
  /** ∂value/∂σ, per 1.00 (100 vol points). */
  readonly vega: Fixed
}

interface RealGreeks {
  readonly value: Real
  readonly delta: Real
  readonly gamma: Real
  readonly vega: Real
}

function checkInput(input: Black76Input): void {
  assert(
    input.forward >= 0n,
    `Invariant: a forward price is not negative (OPT-002, forward=${input.forward})`,
  )
  assert(input.strike > 0n, `Invariant: a strike is positive (OPT-002, strike=${input.strike})`)
  assert(input.timeToExpiryYears >= 0n, 'Invariant: time to expiry is not negative (OPT-002)')
  assert(input.volatility >= 0n, 'Invariant: volatility is not negative (OPT-002)')
}

/** What value and greeks share: the inputs as reals, the discount and the standard deviation. */
interface RealTerms {
  readonly forward: Real
  readonly strike: Real
  readonly time: Real
  readonly discount: Real
  readonly deviation: Real
  readonly call: boolean
}

function realTerms(input: Black76Input): RealTerms {
  checkInput(input)
  const time = realOf(input.timeToExpiryYears)
  return {
    forward: realOf(input.forward),
    strike: realOf(input.strike),
    time,
    discount: realExp(realNeg(realMul(realOf(input.rate), time))),
    deviation: realMul(realOf(input.volatility), realSqrt(time)),
    call: input.right === 'call',
  }
}

/** Discounted intrinsic value: the value when there is no deviation or no forward (OPT-005). */
function realIntrinsic(terms: RealTerms): Real {
  const intrinsic = terms.call ? terms.forward - terms.strike : terms.strike - terms.forward
  return intrinsic > 0n ? realMul(terms.discount, intrinsic as Real) : (0n as Real)
}

/** d1 = (ln(F ÷ K) + s² ÷ 2) ÷ s with s = σ√T. */
function realD1(terms: RealTerms): Real {
  const { deviation } = terms
  return realDiv(
    realAdd(
      realLn(realDiv(terms.forward, terms.strike)),
      divideRounded(realMul(deviation, deviation), 2n, 'half_even') as Real,
    ),
    deviation,
  )
}

/**
 * The value alone (OPT-002): the same terms in the same order as `realGreeks`, so the two agree
 * to the last digit, without the density and the greeks (margin models need only values).
 */
function realValue(input: Black76Input): Real {
  const terms = realTerms(input)
  if (terms.deviation === 0n || terms.forward === 0n) return realIntrinsic(terms)
  const d1 = realD1(terms)
  const d2 = realSub(d1, terms.deviation)
  const { discount, forward, strike } = terms
  return terms.call
    ? realMul(discount, realSub(realMul(forward, normalCdf(d1)), realMul(strike, normalCdf(d2))))
    : realMul(
        discount,
        realSub(realMul(strike, normalCdf(realNeg(d2))), realMul(forward, normalCdf(realNeg(d1)))),
      )
}

function realGreeks(input: Black76Input): RealGreeks {
  const terms = realTerms(input)
  const { discount, forward, strike, deviation, time, call } = terms
  const zero = 0n as Real
  if (deviation === 0n || forward === 0n) {
    const intrinsic = call ? forward - strike : strike - forward
    const side = call ? 1n : -1n
    let delta: bigint = 0n
    if (forward !== 0n && intrinsic > 0n) delta = side * discount
    else if (forward !== 0n && intrinsic === 0n) delta = side * realDiv(discount, realInteger(2n))
    else if (forward === 0n && !call) delta = realNeg(discount)
    return { value: realIntrinsic(terms), delta: delta as Real, gamma: zero, vega: zero }
  }
  const d1 = realD1(terms)
  const d2 = realSub(d1, deviation)
  const density = normalDensity(d1)
  // N(d1) (call) or N(−d1) (put) serves both the value and the delta.
  const nearCdf = normalCdf(call ? d1 : realNeg(d1))
  const value = call
    ? realMul(discount, realSub(realMul(forward, nearCdf), realMul(strike, normalCdf(d2))))
    : realMul(discount, realSub(realMul(strike, normalCdf(realNeg(d2))), realMul(forward, nearCdf)))
  const delta = call ? realMul(discount, nearCdf) : realNeg(realMul(discount, nearCdf))
  const gamma = realDiv(realMul(discount, density), realMul(forward, deviation))
  const vega = realMul(realMul(discount, forward), realMul(density, realSqrt(time)))
  return { value, delta, gamma, vega }
}

/**
 * Results of recent valuations, by input. A valuation costs about 0.6 ms, and margining many
 * accounts at the same marks values the same options in the same scenarios again and again
 * (OPT-008). The result is a pure function of the input, so the cache changes no outcome; it keeps
 * at most `CACHE_LIMIT` entries and starts afresh when full.
 */
const recentResults = new Map<string, Black76Result>()
const CACHE_LIMIT = 50_000

/** Black-76 value and greeks, each rounded once to `Fixed` with `rounding` (OPT-002..OPT-004). */
export function black76(input: Black76Input, rounding: Rounding = 'half_even'): Black76Result {
  const key = `${input.right}|${input.forward}|${input.strike}|${input.timeToExpiryYears}|${input.volatility}|${input.rate}|${rounding}`
  const known = recentResults.get(key)
  if (known !== undefined) return known
  const greeks = realGreeks(input)
  const result = {
    value: toFixed(greeks.value, rounding),
    delta: toFixed(greeks.delta, rounding),
    gamma: toFixed(greeks.gamma, rounding),
    vega: toFixed(greeks.vega, rounding),
  }
  if (recentResults.size >= CACHE_LIMIT) recentResults.clear()
  recentResults.set(key, result)
  return result
}

/** Recent values by input, for `black76Value` (same policy as `recentResults`). */
const recentValues = new Map<string, Fixed>()

/**
 * Black-76 value alone, rounded once with `rounding`: equal to `black76(input, rounding).value`
 * (OPT-002), at about half the cost, since margin models revalue options many times per account.
 */
export function black76Value(input: Black76Input, rounding: Rounding = 'half_even'): Fixed {
  const key = `${input.right}|${input.forward}|${input.strike}|${input.timeToExpiryYears}|${input.volatility}|${input.rate}|${rounding}`
  const known = recentResults.get(key)?.value ?? recentValues.get(key)
  if (known !== undefined) return known
  const value = toFixed(realValue(input), rounding)
  if (recentValues.size >= CACHE_LIMIT) recentValues.clear()
  recentValues.set(key, value)
  return value
}

/** Settlement value at expiry per unit of the underlying: max(F − K, 0) for a call, max(K − F, 0) for a put (OPT-005). */
export function intrinsicValue(right: OptionRight, settlementPrice: Fixed, strike: Fixed): Fixed {
  const payoff = right === 'call' ? settlementPrice - strike : strike - settlementPrice
  return payoff > 0n ? (payoff as Fixed) : ZERO
}
