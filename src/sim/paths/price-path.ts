/**
 * Price paths: the exogenous prices a simulation is driven by (SIM-010..SIM-013).
 *
 * A path is a list of points on a regular time grid. Each price is an exact `Fixed` on the
 * market's tick grid; models may compute in floating point, but what they emit is rounded to the
 * tick here, once, so the path is exact data from then on. `high`/`low` carry the range traded
 * within the step when it is known (from candles), so a liquidation check can use the wick.
 */
import { createHash } from 'node:crypto'
import { type Fixed, formatFixed, fromScaled, roundToStep, toNumber } from '../../core/num/fixed.ts'

export interface PricePoint {
  /** End of the step this point closes, milliseconds since the Unix epoch (UTC). */
  readonly timeMs: number
  /** Price at `timeMs`, on the tick grid. */
  readonly price: Fixed
  /** Highest price traded during the step ending at `timeMs`, when known. */
  readonly high?: Fixed
  /** Lowest price traded during the step ending at `timeMs`, when known. */
  readonly low?: Fixed
}

export interface PricePath {
  readonly name: string
  /** Time of the first point. */
  readonly startTimeMs: number
  /** Time between consecutive points. */
  readonly stepMs: number
  /** Price grid every emitted price lies on. */
  readonly tickSize: Fixed
  /** points[i].timeMs = startTimeMs + i × stepMs. */
  readonly points: readonly PricePoint[]
  /** Where the path comes from: a file and its rule, or a model with its parameters and seed. */
  readonly source: string
}

const FRACTION_DIGITS = 1_000_000_000_000n

/**
 * Converts a model's float to an exact multiple of `step` (half-even). The float is first written
 * as an exact decimal with 12 fraction digits (truncated), so the result does not depend on how
 * the step is represented in binary.
 */
export function fixedFromNumber(value: number, step: Fixed): Fixed {
  if (!Number.isFinite(value)) {
    throw new RangeError(`Condition failed: a model value is finite (SIM-011, value=${value})`)
  }
  const whole = Math.trunc(value)
  const fraction = Math.trunc((value - whole) * Number(FRACTION_DIGITS))
  const scaled =
    (BigInt(whole) * FRACTION_DIGITS + BigInt(fraction)) * (10n ** 18n / FRACTION_DIGITS)
  return roundToStep(fromScaled(scaled), step, 'half_even')
}

/** Rounds a model's floating-point price to the tick grid (half-even), never below one tick. */
export function priceOnTick(value: number, tickSize: Fixed): Fixed {
  const rounded = fixedFromNumber(value, tickSize)
  return rounded < tickSize ? tickSize : rounded
}

/** Builds a path from model prices (floats), one per step, rounding each to the tick. */
export function pathFromModelPrices(options: {
  readonly name: string
  readonly startTimeMs: number
  readonly stepMs: number
  readonly tickSize: Fixed
  readonly source: string
  readonly prices: readonly number[]
}): PricePath {
  const points = options.prices.map((value, index) => ({
    timeMs: options.startTimeMs + index * options.stepMs,
    price: priceOnTick(value, options.tickSize),
  }))
  return {
    name: options.name,
    startTimeMs: options.startTimeMs,
    stepMs: options.stepMs,
    tickSize: options.tickSize,
    points,
    source: options.source,
  }
}

/** Float view of the prices, for models (returns, bootstrap) and charts; never for decisions. */
export function pathPrices(path: PricePath): number[] {
  return path.points.map((point) => toNumber(point.price))
}

/** Natural-log returns between consecutive points. */
export function logReturns(path: PricePath): number[] {
  const prices = pathPrices(path)
  const returns: number[] = []
  for (let index = 1; index < prices.length; index += 1) {
    returns.push(Math.log((prices[index] ?? 1) / (prices[index - 1] ?? 1)))
  }
  return returns
}

/** Lowest price of the path, using `low` where present. */
export function pathMinimum(path: PricePath): Fixed {
  let lowest: Fixed | null = null
  for (const point of path.points) {
    const candidate = point.low ?? point.price
    if (lowest === null || candidate < lowest) lowest = candidate
  }
  if (lowest === null)
    throw new RangeError('Condition failed: a path has at least one point (SIM-010)')
  return lowest
}

/** Highest price of the path, using `high` where present. */
export function pathMaximum(path: PricePath): Fixed {
  let highest: Fixed | null = null
  for (const point of path.points) {
    const candidate = point.high ?? point.price
    if (highest === null || candidate > highest) highest = candidate
  }
  if (highest === null)
    throw new RangeError('Condition failed: a path has at least one point (SIM-010)')
  return highest
}

/**
 * SHA-256 of a canonical text form of the path (name, grid, and every point as exact decimals).
 * Two paths with the same hash are the same data; used to check reproducibility (SIM-001).
 */
export function pathHash(path: PricePath): string {
  const hash = createHash('sha256')
  hash.update(`${path.name}\n${path.startTimeMs}\n${path.stepMs}\n${formatFixed(path.tickSize)}\n`)
  for (const point of path.points) {
    const high = point.high === undefined ? '' : formatFixed(point.high)
    const low = point.low === undefined ? '' : formatFixed(point.low)
    hash.update(`${point.timeMs},${formatFixed(point.price)},${high},${low}\n`)
  }
  return hash.digest('hex')
}

/** Throws when a path breaks its own grid rules; used by generators before returning. */
export function assertPathShape(path: PricePath): void {
  path.points.forEach((point, index) => {
    const expectedTime = path.startTimeMs + index * path.stepMs
    if (point.timeMs !== expectedTime) {
      throw new RangeError(
        `Invariant: points lie on the time grid (SIM-010, index=${index}, timeMs=${point.timeMs})`,
      )
    }
    if (point.price <= 0n || point.price % path.tickSize !== 0n) {
      throw new RangeError(
        `Invariant: prices are positive and on the tick grid (SIM-010, index=${index})`,
      )
    }
  })
}
