/**
 * Metrics of simulation outputs (SIM-040..SIM-045), exact on `Fixed` data. Ratios are rounded
 * half-even to 18 decimals; quantiles follow a stated rule (`QuantileRule`).
 */
import { divideRounded, div, type Fixed, FIXED_SCALE, fixed, ZERO } from '../core/num/fixed.ts'

export interface Drawdown {
  /** Largest fall from a running peak to a later value (≥ 0). */
  readonly drawdown: Fixed
  /** drawdown ÷ peak, half-even; null when the peak is not positive. */
  readonly fraction: Fixed | null
  readonly peakIndex: number
  readonly troughIndex: number
}

/** Maximum drawdown of a series (SIM-040); an empty or never-falling series has drawdown 0 at index 0. */
export function maxDrawdown(series: readonly Fixed[]): Drawdown {
  let peak = series[0]
  let peakIndex = 0
  let best: Drawdown = { drawdown: ZERO, fraction: null, peakIndex: 0, troughIndex: 0 }
  series.forEach((value, index) => {
    if (peak === undefined || value > peak) {
      peak = value
      peakIndex = index
      return
    }
    const fall = (peak - value) as Fixed
    if (fall > best.drawdown) {
      best = {
        drawdown: fall,
        fraction: peak > 0n ? div(fall, peak, 'half_even') : null,
        peakIndex,
        troughIndex: index,
      }
    }
  })
  if (best.drawdown === 0n && series.length > 0 && series[0] !== undefined && series[0] > 0n) {
    best = { ...best, fraction: ZERO }
  }
  return best
}

/**
 * How a quantile is read from sorted data x(0) ≤ … ≤ x(n−1):
 * - `linear` (Hyndman–Fan type 7, the default of R and NumPy): h = (n − 1) × p,
 *   q = x(⌊h⌋) + (h − ⌊h⌋) × (x(⌊h⌋+1) − x(⌊h⌋)), rounded half-even to the data's unit;
 * - `nearest_rank` (type 1): q = x(⌈n × p⌉ − 1), the smallest value with at least p of the data
 *   at or below it; always a value of the data, no rounding.
 */
export type QuantileRule = 'linear' | 'nearest_rank'

/** Sorts bigint-valued data ascending (a copy). */
export function sortAscending<T extends bigint>(values: readonly T[]): T[] {
  return [...values].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
}

/** The p-quantile (p a `Fixed` in [0, 1]) of ascending-sorted data (SIM-041). */
export function quantile<T extends bigint>(
  sorted: readonly T[],
  probability: Fixed,
  rule: QuantileRule = 'linear',
): T {
  const count = BigInt(sorted.length)
  if (count === 0n) throw new RangeError('Condition failed: a quantile needs data (SIM-041)')
  if (probability < 0n || probability > FIXED_SCALE)
    throw new RangeError('Condition failed: a quantile probability lies in [0, 1] (SIM-041)')
  for (let index = 1; index < sorted.length; index += 1) {
    if ((sorted[index] ?? 0n) < (sorted[index - 1] ?? 0n))
      throw new RangeError(
        `Condition failed: quantile data is sorted ascending (SIM-041, index=${index})`,
      )
  }
  const at = (index: bigint): T => sorted[Number(index)] as T
  if (rule === 'nearest_rank') {
    const rank = divideRounded(count * probability, FIXED_SCALE, 'ceil')
    return at(rank < 1n ? 0n : rank - 1n)
  }
  const position = (count - 1n) * probability
  const lower = position / FIXED_SCALE
  const weight = position % FIXED_SCALE
  if (weight === 0n) return at(lower)
  const low = at(lower)
  const high = at(lower + 1n)
  const difference: bigint = (high as bigint) - (low as bigint)
  return divideRounded(
    (low as bigint) * FIXED_SCALE + weight * difference,
    FIXED_SCALE,
    'half_even',
  ) as T
}

/** p = percent ÷ 100 as a `Fixed` (percentile(95) is 0.95). */
export function percentile(percent: number): Fixed {
  const thousandths = Math.round(percent * 1000)
  if (Math.abs(thousandths - percent * 1000) > 1e-6 || thousandths < 0 || thousandths > 100_000) {
    throw new RangeError(
      `Condition failed: a percentile is in [0, 100] with at most 3 decimals (SIM-041, percent=${percent})`,
    )
  }
  return (BigInt(thousandths) * 10n ** 13n) as Fixed
}

export interface LossGivenDefaultSummary {
  readonly count: number
  readonly totalExposure: Fixed
  readonly totalLoss: Fixed
  /** Σ loss ÷ Σ exposure; null with no exposure. */
  readonly pooled: Fixed | null
  /** Per-default LGD (loss ÷ exposure): mean, median, p95, p99 (linear rule), maximum; null with no defaults. */
  readonly mean: Fixed | null
  readonly median: Fixed | null
  readonly p95: Fixed | null
  readonly p99: Fixed | null
  readonly maximum: Fixed | null
}

/**
 * Loss given default (SIM-042): for each default, the loss left after the account's collateral
 * (the shortfall) over its exposure at default (the position value when it was liquidated).
 */
export function lossGivenDefault(
  defaults: readonly { readonly exposure: Fixed; readonly loss: Fixed }[],
): LossGivenDefaultSummary {
  let totalExposure = 0n
  let totalLoss = 0n
  const ratios: Fixed[] = []
  for (const entry of defaults) {
    if (entry.exposure <= 0n || entry.loss < 0n)
      throw new RangeError('Condition failed: a default has exposure > 0 and loss ≥ 0 (SIM-042)')
    totalExposure += entry.exposure
    totalLoss += entry.loss
    ratios.push(div(entry.loss, entry.exposure, 'half_even'))
  }
  const sorted = sortAscending(ratios)
  const count = sorted.length
  const total = sorted.reduce((sum, value) => sum + value, 0n)
  return {
    count,
    totalExposure: totalExposure as Fixed,
    totalLoss: totalLoss as Fixed,
    pooled:
      totalExposure > 0n ? div(totalLoss as Fixed, totalExposure as Fixed, 'half_even') : null,
    mean: count > 0 ? (divideRounded(total, BigInt(count), 'half_even') as Fixed) : null,
    median: count > 0 ? quantile(sorted, percentile(50)) : null,
    p95: count > 0 ? quantile(sorted, percentile(95)) : null,
    p99: count > 0 ? quantile(sorted, percentile(99)) : null,
    maximum: sorted.at(-1) ?? null,
  }
}

export interface CascadeAmplification {
  /** Start − lowest exogenous price (for a fall; mirrored for a rise). */
  readonly exogenousMove: Fixed
  /** Start − lowest simulated price. */
  readonly totalMove: Fixed
  /** totalMove − exogenousMove: the part of the move caused by forced orders. */
  readonly endogenousMove: Fixed
  /** endogenousMove ÷ exogenousMove; null when the exogenous path never moved that way. */
  readonly amplification: Fixed | null
}

/**
 * Cascade amplification (SIM-043): how much deeper forced selling (or buying, `direction` up)
 * took the simulated price than the exogenous path alone. Both series start at the same price.
 */
export function cascadeAmplification(
  exogenous: readonly Fixed[],
  simulated: readonly Fixed[],
  direction: 'down' | 'up' = 'down',
): CascadeAmplification {
  const start = exogenous[0]
  if (start === undefined || simulated.length !== exogenous.length) {
    throw new RangeError(
      'Condition failed: exogenous and simulated series are non-empty and of equal length (SIM-043)',
    )
  }
  const extreme = (series: readonly Fixed[]): Fixed =>
    series.reduce(
      (best, value) =>
        direction === 'down' ? (value < best ? value : best) : value > best ? value : best,
      start,
    )
  const move = (value: Fixed): Fixed =>
    (direction === 'down' ? start - value : value - start) as Fixed
  const exogenousMove = move(extreme(exogenous))
  const totalMove = move(extreme(simulated))
  const endogenousMove = (totalMove - exogenousMove) as Fixed
  return {
    exogenousMove,
    totalMove,
    endogenousMove,
    amplification: exogenousMove > 0n ? div(endogenousMove, exogenousMove, 'half_even') : null,
  }
}

/**
 * Liquidations-at-risk (SIM-044): the p-quantile (default p95, linear rule) of the liquidated
 * notional across Monte Carlo paths, as Gauntlet defines LaR.
 */
export function liquidationsAtRisk(
  liquidatedNotionalPerPath: readonly Fixed[],
  probability: Fixed = percentile(95),
): Fixed {
  return quantile(sortAscending(liquidatedNotionalPerPath), probability)
}

/**
 * Static liquidation ladder (SIM-045): for each relative price move (−0.1 = a 10 % fall), the
 * total value of positions whose liquidation price is reached by that move from `referencePrice`
 * (longs on falls, shorts on rises). Moves are `Fixed` fractions.
 */
export function liquidationLadder(
  positions: readonly {
    readonly size: Fixed
    readonly liquidationPrice: Fixed
    readonly value: Fixed
  }[],
  referencePrice: Fixed,
  moves: readonly Fixed[],
): { readonly move: Fixed; readonly price: Fixed; readonly value: Fixed }[] {
  return moves.map((move) => {
    const price = (referencePrice +
      divideRounded(referencePrice * move, FIXED_SCALE, 'half_even')) as Fixed
    let value = 0n
    for (const position of positions) {
      const reached =
        position.size > 0n
          ? move < 0n && price <= position.liquidationPrice
          : move > 0n && price >= position.liquidationPrice
      if (reached) value += position.value
    }
    return { move, price, value: value as Fixed }
  })
}

/** Sum of a list of amounts. */
export function total(values: readonly Fixed[]): Fixed {
  return values.reduce((sum, value) => (sum + value) as Fixed, fixed(0))
}
