/**
 * Implied volatility that follows the path (SIMRUN-006): in a crash option sellers lose twice, on
 * the price and on the volatility that jumps with it. With `volatilityFromPath` the options'
 * implied volatility is re-set at fixed times to the larger of the holdings' implied volatility
 * and the path's realized volatility: the EWMA of its returns (DYN-002, exact), started at the
 * implied volatility and annualized with √(periods in 365 days), rounded up to 10⁻⁴. It is computed
 * from the exogenous path, known in advance and the same for every rule set.
 */
import { ewmaVolatilities, logReturns, sqrtCeil } from '../../core/dynamic-margin/ewma.ts'
import { div, type Fixed, fixed, fixedOf, max, mul, roundToStep } from '../../core/num/fixed.ts'
import type { OptionHoldingsSpec } from '../option-holdings.ts'
import type { PricePath } from '../paths/price-path.ts'

const YEAR_MS = 365 * 86_400_000
const VOLATILITY_STEP = fixedOf('0.0001')

/** A new implied volatility for every listed option from `timeMs` on. */
export interface VolatilityReset {
  readonly timeMs: number
  readonly volatility: Fixed
}

/**
 * The implied volatility re-sets along `path` (SIMRUN-006): every `volatilityEveryMinutes` after the
 * start, the volatility then in force when it differs from the last one; none when the holdings
 * keep one volatility.
 */
export function impliedVolatilityResets(
  path: PricePath,
  spec: OptionHoldingsSpec,
): VolatilityReset[] {
  if (!spec.volatilityFromPath || path.points.length < 2) return []
  const implied = fixedOf(spec.impliedVolatility)
  const periods = sqrtCeil(fixed(Math.max(1, Math.floor(YEAR_MS / path.stepMs))))
  // The EWMA starts at the implied volatility, per step: σ² = (implied ÷ √periods)².
  const perStep = div(implied, periods, 'half_even')
  const volatilities = ewmaVolatilities(logReturns(path.points.map((point) => point.price)), {
    lambda: fixedOf(spec.volatilityLambda),
    initialVariance: mul(perStep, perStep, 'ceil'),
  })
  const everyMs = spec.volatilityEveryMinutes * 60_000
  const first = path.points[0]?.timeMs ?? path.startTimeMs
  const resets: VolatilityReset[] = []
  let inForce = implied
  for (let timeMs = first + everyMs; ; timeMs += everyMs) {
    // The volatility after the last return at or before this time (return i ends at point i + 1).
    const index = Math.floor((timeMs - first) / path.stepMs) - 1
    const realized = volatilities[Math.min(index, volatilities.length - 1)]
    if (realized === undefined || index >= volatilities.length) break
    const annual = roundToStep(mul(realized, periods, 'ceil'), VOLATILITY_STEP, 'ceil')
    const volatility = max(implied, annual)
    if (volatility !== inForce) resets.push({ timeMs, volatility })
    inForce = volatility
  }
  return resets
}
