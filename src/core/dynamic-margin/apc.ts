/**
 * Anti-procyclicality tools (docs/spec/dynamic-margin.md, DYN-005..DYN-009), after EU Delegated
 * Regulation 153/2013 Art. 28 (theory.md §3.2): a CCP uses at least one of
 *   (a) a buffer ≥ 25 % of the calculated margin, released when margins rise significantly;
 *   (b) a weight ≥ 25 % on stressed observations;
 *   (c) a floor: margin computed with volatility over a 10-year look-back.
 * Each tool is a pure function of rates; `marginHistory` applies them to a price series and
 * marks, per step, which tools changed the rate and which one bound it (DYN-009).
 */
import { add, div, type Fixed, fixed, max, min, mul, ONE, sub, ZERO } from '../num/fixed.ts'
import {
  type EwmaParams,
  ewmaVolatilities,
  logReturns,
  marginRateFromVolatility,
  sizeScaledRate,
  sqrtCeil,
} from './ewma.ts'

/** Root mean square of returns[from, to) from prefix sums of squares (same as `rootMeanSquare`). */
function windowVolatility(prefix: readonly Fixed[], from: number, to: number): Fixed {
  const total = sub(prefix[to] ?? ZERO, prefix[from] ?? ZERO)
  return sqrtCeil(div(total, fixed(to - from), 'ceil'))
}

/** (c) floor: max(model, floor) (DYN-005). */
export function applyFloor(model: Fixed, floor: Fixed): Fixed {
  return max(model, floor)
}

/** (b) stress weight: (1 − w) × model + w × stressed, rounded up (DYN-006). */
export function applyStressWeight(model: Fixed, stressed: Fixed, weight: Fixed): Fixed {
  return add(mul(sub(ONE, weight), model, 'ceil'), mul(weight, stressed, 'ceil'))
}

/**
 * (a) buffer (DYN-007): collected = max(M, min((1 + b) × M, previous + rebuild × b × M)); the
 * first collected margin is (1 + b) × M. An increase is absorbed by the buffer until it is used
 * up; with rebuild 0 the buffer comes back only as M falls, with rebuild 1 it is restored at once.
 */
export function applyBuffer(
  model: Fixed,
  previousCollected: Fixed | null,
  buffer: Fixed,
  rebuild: Fixed,
): Fixed {
  const full = mul(add(ONE, buffer), model, 'ceil')
  if (previousCollected === null) return full
  const rebuilt = add(previousCollected, mul(mul(rebuild, buffer, 'ceil'), model, 'ceil'))
  return max(model, min(full, rebuilt))
}

/** Parameters of a dynamic margin history (DYN-008). */
export interface DynamicMarginParams {
  readonly ewma: EwmaParams
  /** rate = k × σ. */
  readonly multiplier: Fixed
  /** Returns in the floor's look-back (e.g. 10 years of observations); the window ends at each step. */
  readonly floorLookback?: number
  /** Weight on the stressed rate (≥ 0.25 under Art. 28(b)); omitted: tool not used. */
  readonly stressWeight?: Fixed
  /** Buffer share (≥ 0.25 under Art. 28(a)); omitted: tool not used. */
  readonly buffer?: Fixed
  /** Share of the buffer restored per step when margins do not rise (default 0). */
  readonly bufferRebuild?: Fixed
  /** Square-root size premium applied last (DYN-004); omitted: not used. */
  readonly sizeScaling?: { readonly size: Fixed; readonly factor: Fixed }
}

/**
 * What changed a step's rate after the model (DYN-009): `floor`, `stress_weight`, `buffer`,
 * `size` (the size premium) and `cap` (the rate held at 1).
 */
export type ApcTool = 'floor' | 'stress_weight' | 'buffer' | 'size' | 'cap'

/** One step of a margin history. */
export interface MarginHistoryPoint {
  readonly index: number
  readonly logReturn: Fixed
  readonly volatility: Fixed
  /** k × σ. */
  readonly modelRate: Fixed
  /** k × root-mean-square return over the floor look-back (or null without a floor). */
  readonly floorRate: Fixed | null
  /** k × the highest σ so far: the stressed observation. */
  readonly stressedRate: Fixed
  /** After floor, stress weight, buffer and size premium, in that order. */
  readonly rate: Fixed
  /** The tools that changed the rate at this step, in the order applied (DYN-009). */
  readonly changedBy: readonly ApcTool[]
  /** The last tool that changed the rate, or `model` when the rate is the model rate (DYN-009). */
  readonly binding: ApcTool | 'model'
}

/** Margin rates along a price series with the chosen APC tools (DYN-008). */
export function marginHistory(
  prices: readonly Fixed[],
  params: DynamicMarginParams,
): MarginHistoryPoint[] {
  const returns = logReturns(prices)
  const volatilities = ewmaVolatilities(returns, params.ewma)
  const points: MarginHistoryPoint[] = []
  // Prefix sums of squared returns: the floor's mean square over any window in O(1).
  const prefix: Fixed[] = [ZERO]
  for (const value of returns)
    prefix.push(add(prefix[prefix.length - 1] ?? ZERO, mul(value, value, 'ceil')))
  let highest: Fixed | null = null
  let collected: Fixed | null = null
  returns.forEach((logReturn, index) => {
    const volatility = volatilities[index] ?? logReturn
    highest = highest === null ? volatility : max(highest, volatility)
    const modelRate = marginRateFromVolatility(volatility, params.multiplier)
    const stressedRate = marginRateFromVolatility(highest, params.multiplier)
    const floorRate =
      params.floorLookback === undefined
        ? null
        : marginRateFromVolatility(
            windowVolatility(prefix, Math.max(0, index + 1 - params.floorLookback), index + 1),
            params.multiplier,
          )
    const changedBy: ApcTool[] = []
    if (mul(params.multiplier, volatility, 'ceil') > ONE) changedBy.push('cap')
    let rate = modelRate
    const step = (tool: ApcTool, next: Fixed): void => {
      if (next !== rate) changedBy.push(tool)
      rate = next
    }
    if (floorRate !== null) step('floor', applyFloor(rate, floorRate))
    // The blend rounds each part up; it counts as a change only when the stressed rate differs.
    if (params.stressWeight !== undefined && params.stressWeight !== 0n) {
      const blended = applyStressWeight(rate, stressedRate, params.stressWeight)
      if (stressedRate === rate) rate = blended
      else step('stress_weight', blended)
    }
    if (params.buffer !== undefined) {
      collected = applyBuffer(rate, collected, params.buffer, params.bufferRebuild ?? (0n as Fixed))
      step('buffer', min(collected, ONE))
      if (collected > ONE && changedBy.at(-1) === 'buffer') changedBy.push('cap')
    }
    if (params.sizeScaling !== undefined) {
      const { size, factor } = params.sizeScaling
      const uncapped = add(rate, mul(factor, sqrtCeil(max(size, ZERO)), 'ceil'))
      step('size', sizeScaledRate(rate, size, factor))
      if (uncapped > ONE && changedBy.at(-1) === 'size') changedBy.push('cap')
    }
    const binding = changedBy.at(-1) ?? 'model'
    points.push({
      index,
      logReturn,
      volatility,
      modelRate,
      floorRate,
      stressedRate,
      rate,
      changedBy,
      binding,
    })
  })
  return points
}
