/**
 * Market impact of forced orders (SIM-030..SIM-034): the square-root law with exponential recovery.
 *
 * Forced flow (liquidations, triggered stops) moves the price away from the exogenous path by a
 * relative shift; the simulated price is exogenous × (1 + shift). Within one step the net signed
 * notional F of all forced orders has impact
 *
 *     I(F) = sign(F) × Y × σ × sqrt(|F| ÷ V)
 *
 * (Y the impact coefficient, of order 1; σ the volatility and V the traded notional over the same
 * window, e.g. a day; theory.md §4.4). Orders in the same step add to F, so splitting a step's flow
 * into several calls gives the same total impact as one call. Past impact decays toward the
 * exogenous path with a half-life: a step's impact has weight 2^(−(t − s) ÷ halfLifeSteps) at step t.
 * Sells (negative notional) push the price down. The model is deterministic (floats, no randomness).
 */
import { type Fixed, fromScaled, mul, roundToStep, toNumber } from '../core/num/fixed.ts'
import type { Kline } from './paths/binance-klines.ts'
import { fixedFromNumber } from './paths/price-path.ts'

export interface ImpactParams {
  /** Y in the square-root law; empirical values 0.5–1. */
  readonly impactCoefficient: number
  /** σ: volatility over the reference window (e.g. 0.04 for 4 % daily). */
  readonly volatility: number
  /** V: traded notional over the same window, in the quote asset (e.g. USDT per day). */
  readonly volume: number
  /** Steps after which an impact has recovered halfway toward the exogenous path. Infinity: permanent impact. */
  readonly halfLifeSteps: number
}

export interface ImpactTraceEntry {
  readonly stepIndex: number
  /** Net signed forced notional of the step (sells negative). */
  readonly netFlow: number
  /** Impact of the step's flow, as a relative price shift. */
  readonly impact: number
  /** Total shift at the end of the step (this step's impact plus decayed earlier ones). */
  readonly shift: number
}

export interface ImpactModel {
  readonly params: ImpactParams
  /**
   * Adds forced flow at a step (steps never go back) and returns the change of the relative shift
   * it causes: I(F + flow) − I(F), F the step's flow so far.
   */
  applyForcedFlow(stepIndex: number, signedNotional: number): number
  /** Relative shift of the price at a step (≥ the last step with flow); does not change the model. */
  currentShift(stepIndex: number): number
  /** Exogenous price moved by the current shift, rounded half-even to the tick, at least one tick. */
  impactedPrice(exogenousPrice: Fixed, stepIndex: number, tickSize: Fixed): Fixed
  /** One entry per step that had forced flow, in step order. */
  trace(): readonly ImpactTraceEntry[]
}

/** The square-root impact of a net signed notional, as a relative shift (SIM-030). */
export function squareRootImpact(params: ImpactParams, signedNotional: number): number {
  if (signedNotional === 0) return 0
  const magnitude =
    params.impactCoefficient *
    params.volatility *
    Math.sqrt(Math.abs(signedNotional) / params.volume)
  return signedNotional < 0 ? -magnitude : magnitude
}

/** Throws on parameters outside the model's domain. */
export function checkImpactParams(params: ImpactParams): void {
  const valid =
    Number.isFinite(params.impactCoefficient) &&
    params.impactCoefficient >= 0 &&
    Number.isFinite(params.volatility) &&
    params.volatility >= 0 &&
    Number.isFinite(params.volume) &&
    params.volume > 0 &&
    params.halfLifeSteps > 0
  if (!valid) {
    throw new RangeError(
      `Condition failed: impact parameters have Y ≥ 0, σ ≥ 0, V > 0, half-life > 0 (SIM-030, Y=${params.impactCoefficient}, sigma=${params.volatility}, V=${params.volume}, halfLifeSteps=${params.halfLifeSteps})`,
    )
  }
}

/** Creates an impact model with no flow yet: shift 0 everywhere. */
export function createImpactModel(params: ImpactParams): ImpactModel {
  checkImpactParams(params)
  let step = 0
  let stepFlow = 0
  let stepImpact = 0
  /** Shift from steps before `step`, as of `step`. */
  let pastShift = 0
  const entries: ImpactTraceEntry[] = []
  const decay = (steps: number): number =>
    params.halfLifeSteps === Number.POSITIVE_INFINITY ? 1 : 2 ** (-steps / params.halfLifeSteps)
  const checkStep = (stepIndex: number): void => {
    if (!Number.isInteger(stepIndex) || stepIndex < step) {
      throw new RangeError(
        `Condition failed: impact steps never go back (SIM-031, stepIndex=${stepIndex}, current=${step})`,
      )
    }
  }
  const model: ImpactModel = {
    params,
    applyForcedFlow(stepIndex, signedNotional) {
      checkStep(stepIndex)
      if (!Number.isFinite(signedNotional))
        throw new RangeError('Condition failed: forced flow is finite (SIM-030)')
      if (stepIndex > step) {
        pastShift = (pastShift + stepImpact) * decay(stepIndex - step)
        step = stepIndex
        stepFlow = 0
        stepImpact = 0
      }
      if (signedNotional === 0) return 0
      stepFlow += signedNotional
      const impact = squareRootImpact(params, stepFlow)
      const change = impact - stepImpact
      stepImpact = impact
      const last = entries.at(-1)
      const entry = { stepIndex, netFlow: stepFlow, impact, shift: pastShift + impact }
      if (last?.stepIndex === stepIndex) entries[entries.length - 1] = entry
      else entries.push(entry)
      return change
    },
    currentShift(stepIndex) {
      checkStep(stepIndex)
      return (pastShift + stepImpact) * (stepIndex === step ? 1 : decay(stepIndex - step))
    },
    impactedPrice(exogenousPrice, stepIndex, tickSize) {
      const shift = fixedFromNumber(model.currentShift(stepIndex), fromScaled(1_000_000n))
      const moved = roundToStep(
        (exogenousPrice + mul(exogenousPrice, shift, 'half_even')) as Fixed,
        tickSize,
        'half_even',
      )
      return moved < tickSize ? tickSize : moved
    },
    trace: () => entries,
  }
  return model
}

/**
 * Estimates σ and V over a window (default one day) from candles: σ is the standard deviation of
 * close-to-close log returns scaled by √(window ÷ interval); V is the mean quote volume per candle
 * times (window ÷ interval).
 */
export function impactInputsFromKlines(
  klines: readonly Kline[],
  windowMs = 86_400_000,
): { readonly volatility: number; readonly volume: number } {
  const first = klines[0]
  const second = klines[1]
  if (first === undefined || second === undefined)
    throw new RangeError('Condition failed: at least two candles (SIM-034)')
  const intervalMs = second.openTimeMs - first.openTimeMs
  const returns: number[] = []
  for (let index = 1; index < klines.length; index += 1) {
    returns.push(
      Math.log(
        toNumber(klines[index]?.close ?? first.close) /
          toNumber(klines[index - 1]?.close ?? first.close),
      ),
    )
  }
  const mean = returns.reduce((total, value) => total + value, 0) / returns.length
  const variance =
    returns.reduce((total, value) => total + (value - mean) ** 2, 0) /
    Math.max(1, returns.length - 1)
  const quoteVolume =
    klines.reduce((total, kline) => total + toNumber(kline.quoteVolume), 0) / klines.length
  const scale = windowMs / intervalMs
  return { volatility: Math.sqrt(variance * scale), volume: quoteVolume * scale }
}
