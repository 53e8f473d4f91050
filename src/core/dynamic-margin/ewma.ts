/**
 * Dynamic margin (docs/spec/dynamic-margin.md, DYN-001..DYN-004): EWMA volatility and a margin
 * rate proportional to it, all in exact arithmetic (logarithms through the deterministic series of
 * options/real-math.ts).
 *
 *   r_i = ln(P_i ÷ P_{i−1})
 *   σ²_i = λ σ²_{i−1} + (1 − λ) r_i²      (σ²_{−1} = the initial variance, default r_0²)
 *   rate_i = min(1, k × σ_i)              (k folds in the quantile and the horizon, e.g. 2.33 × √MPOR)
 */
import { assert } from '../assert.ts'
import { add, div, type Fixed, fixed, fromScaled, max, min, mul, ONE, sub } from '../num/fixed.ts'
import { integerSqrt, realDiv, realLn, realOf, toFixed } from '../options/real-math.ts'

/** EWMA parameters. */
export interface EwmaParams {
  /** Decay λ in (0, 1): RiskMetrics 0.94 for daily returns; CCPs use 0.94–0.99. */
  readonly lambda: Fixed
  /** Variance before the first return; default: the first return squared. */
  readonly initialVariance?: Fixed
}

/** √x of a non-negative `Fixed`, rounded up (requirements round against the account). */
export function sqrtCeil(value: Fixed): Fixed {
  assert(value >= 0n, 'Invariant: a variance is not negative (DYN-002)')
  const scaled = value * 10n ** 18n
  const root = integerSqrt(scaled)
  return fromScaled(root * root === scaled ? root : root + 1n)
}

/** Log returns of consecutive prices, rounded half-even to 18 decimals (DYN-001). */
export function logReturns(prices: readonly Fixed[]): Fixed[] {
  const returns: Fixed[] = []
  for (let index = 1; index < prices.length; index++) {
    const previous = prices[index - 1]
    const current = prices[index]
    assert(
      previous !== undefined && current !== undefined && previous > 0n && current > 0n,
      `Invariant: prices are positive (DYN-001, index=${index})`,
    )
    returns.push(toFixed(realLn(realDiv(realOf(current), realOf(previous))), 'half_even'))
  }
  return returns
}

/** EWMA variance after each return (DYN-002); variances round up. */
export function ewmaVariances(returns: readonly Fixed[], params: EwmaParams): Fixed[] {
  assert(params.lambda > 0n && params.lambda < ONE, 'Invariant: λ lies in (0, 1) (DYN-002)')
  const first = returns[0]
  let variance =
    params.initialVariance ?? (first === undefined ? fixed(0) : mul(first, first, 'ceil'))
  const keep = sub(ONE, params.lambda)
  return returns.map((value) => {
    variance = add(
      mul(params.lambda, variance, 'ceil'),
      mul(keep, mul(value, value, 'ceil'), 'ceil'),
    )
    return variance
  })
}

/** EWMA volatility σ_i = √σ²_i after each return (DYN-002). */
export function ewmaVolatilities(returns: readonly Fixed[], params: EwmaParams): Fixed[] {
  return ewmaVariances(returns, params).map(sqrtCeil)
}

/** rate = min(1, k × σ), rounded up (DYN-003). */
export function marginRateFromVolatility(volatility: Fixed, multiplier: Fixed): Fixed {
  return min(ONE, mul(multiplier, volatility, 'ceil'))
}

/**
 * Size scaling (DYN-004): rate + factor × √size, capped at 1 (the square-root premium of Drift's
 * imf_factor and dYdX's legacy base position size; size in the same unit as the factor expects).
 */
export function sizeScaledRate(rate: Fixed, size: Fixed, factor: Fixed): Fixed {
  return min(ONE, add(rate, mul(factor, sqrtCeil(max(size, fixed(0))), 'ceil')))
}

/** Root mean square of returns (the long-look-back volatility of the floor, DYN-005). */
export function rootMeanSquare(returns: readonly Fixed[]): Fixed {
  if (returns.length === 0) return fixed(0)
  let total = fixed(0)
  for (const value of returns) total = add(total, mul(value, value, 'ceil'))
  return sqrtCeil(div(total, fixed(returns.length), 'ceil'))
}
