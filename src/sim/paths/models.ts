/**
 * Stochastic price models (SIM-013). Each model is a small JSON-able spec; `generatePath` turns
 * (model, grid, seed) into a path. Models work on the natural log of the price in floating point;
 * every emitted price is rounded to the tick by `priceOnTick`, so the path is reproducible bit for
 * bit from the same inputs (see random.ts for why the floats are reproducible).
 *
 * Rates and volatilities are annual (a year is 365 days: crypto markets trade every day) unless a
 * field says otherwise; the model scales them to the step: dt = stepMs ÷ one year.
 */
import type { Fixed } from '../../core/num/fixed.ts'
import { toNumber } from '../../core/num/fixed.ts'
import { createRandom, type Random } from '../random.ts'
import { assertPathShape, type PricePath, pathFromModelPrices } from './price-path.ts'

export const YEAR_MS = 365 * 24 * 60 * 60 * 1000

export type PathModel =
  /** Geometric Brownian motion: d ln P = (drift − σ²/2) dt + σ dW. */
  | { readonly kind: 'geometric_brownian'; readonly drift: number; readonly volatility: number }
  /**
   * Merton jump diffusion: GBM plus Poisson jumps (`jumpIntensity` per year) whose log sizes are
   * normal(jumpMean, jumpVolatility); the drift is compensated so the expected price grows at `drift`.
   */
  | {
      readonly kind: 'jump_diffusion'
      readonly drift: number
      readonly volatility: number
      readonly jumpIntensity: number
      readonly jumpMean: number
      readonly jumpVolatility: number
    }
  /**
   * GARCH(1,1) volatility clustering on log returns: h(t) = ω + α ε(t−1)² + β h(t−1), with ω set
   * so the long-run variance matches `longRunVolatility`; requires α + β < 1.
   */
  | {
      readonly kind: 'garch'
      readonly drift: number
      readonly longRunVolatility: number
      readonly alpha: number
      readonly beta: number
    }
  /**
   * Block bootstrap: log returns drawn in blocks of `blockLength` consecutive steps (at random
   * starts) from `returns`, e.g. the 1-minute returns of a kline file (`logReturns`).
   */
  | {
      readonly kind: 'bootstrap'
      readonly returns: readonly number[]
      readonly blockLength: number
      readonly source: string
    }

export interface GeneratedPathSpec {
  readonly name: string
  readonly model: PathModel
  readonly startPrice: Fixed
  readonly startTimeMs: number
  readonly stepMs: number
  /** Number of steps after the start point (the path has steps + 1 points). */
  readonly steps: number
  readonly tickSize: Fixed
  readonly seed: number
}

/** Generates a path from a model; same spec → same path, bit for bit. */
export function generatePath(spec: GeneratedPathSpec): PricePath {
  checkGrid(spec)
  const random = createRandom(spec.seed)
  const logIncrements = modelIncrements(spec.model, spec.steps, spec.stepMs / YEAR_MS, random)
  const prices = [toNumber(spec.startPrice)]
  let logPrice = Math.log(toNumber(spec.startPrice))
  for (const increment of logIncrements) {
    logPrice += increment
    prices.push(Math.exp(logPrice))
  }
  const path = pathFromModelPrices({
    name: spec.name,
    startTimeMs: spec.startTimeMs,
    stepMs: spec.stepMs,
    tickSize: spec.tickSize,
    source: `${describeModel(spec.model)}, seed ${spec.seed}`,
    prices,
  })
  assertPathShape(path)
  return path
}

/** Log-price increments of a model, one per step (exported for shock noise and tests). */
export function modelIncrements(
  model: PathModel,
  steps: number,
  dt: number,
  random: Random,
): number[] {
  const increments: number[] = []
  switch (model.kind) {
    case 'geometric_brownian': {
      const drift = (model.drift - (model.volatility * model.volatility) / 2) * dt
      const scale = model.volatility * Math.sqrt(dt)
      for (let step = 0; step < steps; step += 1) increments.push(drift + scale * random.normal())
      return increments
    }
    case 'jump_diffusion': {
      const compensator =
        model.jumpIntensity *
        (Math.exp(model.jumpMean + (model.jumpVolatility * model.jumpVolatility) / 2) - 1)
      const drift = (model.drift - (model.volatility * model.volatility) / 2 - compensator) * dt
      const scale = model.volatility * Math.sqrt(dt)
      for (let step = 0; step < steps; step += 1) {
        let increment = drift + scale * random.normal()
        const jumps = random.poisson(model.jumpIntensity * dt)
        for (let jump = 0; jump < jumps; jump += 1)
          increment += model.jumpMean + model.jumpVolatility * random.normal()
        increments.push(increment)
      }
      return increments
    }
    case 'garch': {
      if (!(model.alpha >= 0 && model.beta >= 0 && model.alpha + model.beta < 1)) {
        throw new RangeError(
          `Condition failed: GARCH needs α, β ≥ 0 and α + β < 1 (SIM-013, alpha=${model.alpha}, beta=${model.beta})`,
        )
      }
      const longRunVariance = model.longRunVolatility * model.longRunVolatility * dt
      const omega = longRunVariance * (1 - model.alpha - model.beta)
      let variance = longRunVariance
      let shock = 0
      for (let step = 0; step < steps; step += 1) {
        if (step > 0) variance = omega + model.alpha * shock * shock + model.beta * variance
        shock = Math.sqrt(variance) * random.normal()
        increments.push(model.drift * dt - variance / 2 + shock)
      }
      return increments
    }
    case 'bootstrap': {
      const count = model.returns.length
      if (count === 0 || !Number.isInteger(model.blockLength) || model.blockLength < 1) {
        throw new RangeError(
          'Condition failed: a bootstrap has returns and a block length ≥ 1 (SIM-013)',
        )
      }
      const blockLength = Math.min(model.blockLength, count)
      while (increments.length < steps) {
        const start = random.integer(0, count - blockLength)
        for (let offset = 0; offset < blockLength && increments.length < steps; offset += 1) {
          increments.push(model.returns[start + offset] ?? 0)
        }
      }
      return increments
    }
  }
}

/** One-line description of a model and its parameters, for a path's `source`. */
export function describeModel(model: PathModel): string {
  switch (model.kind) {
    case 'geometric_brownian':
      return `geometric Brownian motion (drift ${model.drift}, volatility ${model.volatility})`
    case 'jump_diffusion':
      return `Merton jump diffusion (drift ${model.drift}, volatility ${model.volatility}, jumps ${model.jumpIntensity}/year, jump mean ${model.jumpMean}, jump volatility ${model.jumpVolatility})`
    case 'garch':
      return `GARCH(1,1) (drift ${model.drift}, long-run volatility ${model.longRunVolatility}, alpha ${model.alpha}, beta ${model.beta})`
    case 'bootstrap':
      return `block bootstrap of ${model.returns.length} returns from ${model.source} (block ${model.blockLength})`
  }
}

function checkGrid(spec: {
  readonly steps: number
  readonly stepMs: number
  readonly startPrice: Fixed
  readonly tickSize: Fixed
}): void {
  if (!Number.isInteger(spec.steps) || spec.steps < 0)
    throw new RangeError(
      `Condition failed: steps is a whole number ≥ 0 (SIM-013, steps=${spec.steps})`,
    )
  if (!Number.isInteger(spec.stepMs) || spec.stepMs <= 0)
    throw new RangeError(
      `Condition failed: stepMs is a whole number > 0 (SIM-013, stepMs=${spec.stepMs})`,
    )
  if (spec.tickSize <= 0n || spec.startPrice <= 0n)
    throw new RangeError('Condition failed: start price and tick size are positive (SIM-013)')
}

export { checkGrid }
