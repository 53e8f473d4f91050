/**
 * Declarative shock scenarios (SIM-014, SIM-015): a start price, a horizon and a list of legs
 * (a move of x % over a duration, with a shape), optionally with seeded noise on top. Named shocks
 * ship with the simulator; `builtin-crash` is the default scenario of `lor simulate`.
 *
 * Price at time t (offset from the start) = start × Π legs factor(t) × exp(noise(t)), where a leg
 * starting at s with duration d and move m has factor 1 before s, 1 + m after s + d, and in between
 * 1 + m·f (`linear`) or (1 + m)^f (`geometric`), with f = (t − s) ÷ d; a `step` leg jumps to 1 + m
 * at s. Moves compound: legs of −25 % and −1/3 leave the price at half the start. Noise is driftless
 * geometric Brownian motion (E[exp(noise)] = 1) with an annual volatility and its own seed.
 */
import { type Fixed, fixedOf, formatFixed, parseFixed, toNumber } from '../../core/num/fixed.ts'
import { type Checked, type Issue, issue } from '../issue.ts'
import { createRandom } from '../random.ts'
import { checkGrid, modelIncrements, YEAR_MS } from './models.ts'
import { assertPathShape, type PricePath, pathFromModelPrices } from './price-path.ts'

export type LegShape = 'linear' | 'geometric' | 'step'

export interface ShockLeg {
  /** Offset of the leg's start from the scenario start, in ms. */
  readonly startMs: number
  /** Length of the leg in ms (0 for `step`). */
  readonly durationMs: number
  /** Relative move over the leg: −0.35 is a 35 % fall, 0.1 a 10 % rise. Greater than −1. */
  readonly move: number
  readonly shape: LegShape
}

export interface ShockSpec {
  readonly name: string
  readonly description: string
  readonly startPrice: Fixed
  readonly tickSize: Fixed
  readonly startTimeMs: number
  readonly stepMs: number
  readonly durationMs: number
  readonly legs: readonly ShockLeg[]
  /** Annual volatility of the noise and its seed; absent or 0 volatility: a pure trend. */
  readonly noise?: { readonly volatility: number; readonly seed: number }
}

const HOUR = 3_600_000
const MINUTE = 60_000
/** 2024-01-01T00:00:00Z: named shocks start here so their timestamps read as real dates. */
const NAMED_START_MS = 1_704_067_200_000

/** Name of the default scenario of `lor simulate`. */
export const DEFAULT_SCENARIO_NAME = 'builtin-crash'

const NAMED_SHOCKS: Readonly<Record<string, ShockSpec>> = {
  'builtin-crash': {
    name: 'builtin-crash',
    description:
      '48 h of 1-minute steps from 60,000: a 35 % crash over 4 h from hour 12, a partial 12 % rebound over 8 h, then a second 20 % leg over 2 h from hour 30 (−41.8 % at the low before noise), with 50 % annual noise (seed 20200312).',
    startPrice: fixedOf('60000'),
    tickSize: fixedOf('0.1'),
    startTimeMs: NAMED_START_MS,
    stepMs: MINUTE,
    durationMs: 48 * HOUR,
    legs: [
      { startMs: 12 * HOUR, durationMs: 4 * HOUR, move: -0.35, shape: 'geometric' },
      { startMs: 16 * HOUR, durationMs: 8 * HOUR, move: 0.12, shape: 'linear' },
      { startMs: 30 * HOUR, durationMs: 2 * HOUR, move: -0.2, shape: 'geometric' },
    ],
    noise: { volatility: 0.5, seed: 20_200_312 },
  },
  'crash-50-20h-second-leg': {
    name: 'crash-50-20h-second-leg',
    description:
      'Shaped like 2020-03-12/13: from 60,000, a 25 % first leg over 1 h at hour 1, a plateau, then a second leg of −1/3 over 3 h ending at hour 21: −50 % over 20 h; 24 h of 1-minute steps, 40 % annual noise (seed 12).',
    startPrice: fixedOf('60000'),
    tickSize: fixedOf('0.1'),
    startTimeMs: NAMED_START_MS,
    stepMs: MINUTE,
    durationMs: 24 * HOUR,
    legs: [
      { startMs: 1 * HOUR, durationMs: 1 * HOUR, move: -0.25, shape: 'linear' },
      { startMs: 18 * HOUR, durationMs: 3 * HOUR, move: -1 / 3, shape: 'linear' },
    ],
    noise: { volatility: 0.4, seed: 12 },
  },
  'flash-crash-15m': {
    name: 'flash-crash-15m',
    description:
      'From 60,000 in 10-second steps over 2 h: −20 % in 5 minutes at minute 30, then back to −5 % over the next 10 minutes (15 minutes in all); 30 % annual noise (seed 15).',
    startPrice: fixedOf('60000'),
    tickSize: fixedOf('0.1'),
    startTimeMs: NAMED_START_MS,
    stepMs: 10_000,
    durationMs: 2 * HOUR,
    legs: [
      { startMs: 30 * MINUTE, durationMs: 5 * MINUTE, move: -0.2, shape: 'linear' },
      { startMs: 35 * MINUTE, durationMs: 10 * MINUTE, move: 0.1875, shape: 'linear' },
    ],
    noise: { volatility: 0.3, seed: 15 },
  },
  'calm-day': {
    name: 'calm-day',
    description:
      'From 60,000, 24 h of 1-minute steps with no shock and 35 % annual noise (seed 1).',
    startPrice: fixedOf('60000'),
    tickSize: fixedOf('0.1'),
    startTimeMs: NAMED_START_MS,
    stepMs: MINUTE,
    durationMs: 24 * HOUR,
    legs: [],
    noise: { volatility: 0.35, seed: 1 },
  },
}

/** Names of the shipped shocks. */
export function namedShockNames(): string[] {
  return Object.keys(NAMED_SHOCKS)
}

/** A shipped shock by name, or undefined. */
export function namedShock(name: string): ShockSpec | undefined {
  return Object.hasOwn(NAMED_SHOCKS, name) ? NAMED_SHOCKS[name] : undefined
}

/** The trend factor Π legs factor(t) at an offset (no noise). */
export function trendFactor(legs: readonly ShockLeg[], offsetMs: number): number {
  let factor = 1
  for (const leg of legs) {
    if (offsetMs < leg.startMs) continue
    const progress =
      leg.shape === 'step' || leg.durationMs === 0
        ? 1
        : Math.min(1, (offsetMs - leg.startMs) / leg.durationMs)
    factor *= leg.shape === 'geometric' ? (1 + leg.move) ** progress : 1 + leg.move * progress
  }
  return factor
}

/** Builds the path of a shock spec. Same spec → same path, bit for bit. */
export function generateShockPath(spec: ShockSpec): PricePath {
  const steps = Math.floor(spec.durationMs / spec.stepMs)
  checkGrid({ steps, stepMs: spec.stepMs, startPrice: spec.startPrice, tickSize: spec.tickSize })
  const noiseVolatility = spec.noise?.volatility ?? 0
  const noise =
    noiseVolatility > 0
      ? modelIncrements(
          { kind: 'geometric_brownian', drift: 0, volatility: noiseVolatility },
          steps,
          spec.stepMs / YEAR_MS,
          createRandom(spec.noise?.seed ?? 0),
        )
      : []
  const start = toNumber(spec.startPrice)
  const prices: number[] = []
  let logNoise = 0
  for (let step = 0; step <= steps; step += 1) {
    if (step > 0) logNoise += noise[step - 1] ?? 0
    prices.push(start * trendFactor(spec.legs, step * spec.stepMs) * Math.exp(logNoise))
  }
  const noiseText =
    noiseVolatility > 0 ? `, noise ${noiseVolatility} seed ${spec.noise?.seed ?? 0}` : ''
  const path = pathFromModelPrices({
    name: spec.name,
    startTimeMs: spec.startTimeMs,
    stepMs: spec.stepMs,
    tickSize: spec.tickSize,
    source: `shock "${spec.name}" from ${formatFixed(spec.startPrice)}: ${spec.legs.length} legs${noiseText}`,
    prices,
  })
  assertPathShape(path)
  return path
}

/**
 * Validates a shock spec read from JSON (prices as decimal strings, times as numbers) and
 * returns it typed, or every issue found with its JSON path.
 */
export function parseShockSpec(input: unknown): Checked<ShockSpec> {
  const issues: Issue[] = []
  if (typeof input !== 'object' || input === null)
    return {
      ok: false,
      issues: [issue('shock_not_an_object', '$', 'a shock spec is a JSON object')],
    }
  const record = input as Record<string, unknown>
  const text = (key: string): string => {
    const value = record[key]
    if (typeof value === 'string' && value.length > 0) return value
    issues.push(issue('shock_field_invalid', `$.${key}`, `${key} is a non-empty string`))
    return ''
  }
  const decimal = (key: string): Fixed => {
    const value = record[key]
    const parsed = typeof value === 'string' ? parseFixed(value) : null
    if (parsed?.ok === true && parsed.value > 0n) return parsed.value
    issues.push(issue('shock_field_invalid', `$.${key}`, `${key} is a positive decimal string`))
    return 1n as Fixed
  }
  const whole = (value: unknown, path: string, minimum: number): number => {
    if (typeof value === 'number' && Number.isSafeInteger(value) && value >= minimum) return value
    issues.push(issue('shock_field_invalid', path, `a whole number ≥ ${minimum}`))
    return minimum
  }
  const name = text('name')
  const description = typeof record.description === 'string' ? record.description : ''
  const startPrice = decimal('startPrice')
  const tickSize = decimal('tickSize')
  const startTimeMs = whole(record.startTimeMs ?? 0, '$.startTimeMs', 0)
  const stepMs = whole(record.stepMs, '$.stepMs', 1)
  const durationMs = whole(record.durationMs, '$.durationMs', 0)
  const legs: ShockLeg[] = []
  if (!Array.isArray(record.legs))
    issues.push(issue('shock_field_invalid', '$.legs', 'legs is an array'))
  else {
    record.legs.forEach((leg: unknown, index) => {
      const path = `$.legs[${index}]`
      const entry = (typeof leg === 'object' && leg !== null ? leg : {}) as Record<string, unknown>
      const move = entry.move
      const shape = entry.shape ?? 'linear'
      if (typeof move !== 'number' || !Number.isFinite(move) || move <= -1) {
        issues.push(
          issue('shock_move_invalid', `${path}.move`, 'a move is a number greater than −1'),
        )
      }
      if (shape !== 'linear' && shape !== 'geometric' && shape !== 'step') {
        issues.push(
          issue('shock_shape_invalid', `${path}.shape`, 'a shape is linear, geometric or step'),
        )
      }
      legs.push({
        startMs: whole(entry.startMs, `${path}.startMs`, 0),
        durationMs: whole(entry.durationMs ?? 0, `${path}.durationMs`, 0),
        move: typeof move === 'number' ? move : 0,
        shape: shape === 'geometric' || shape === 'step' ? shape : 'linear',
      })
    })
  }
  let noise: ShockSpec['noise']
  if (record.noise !== undefined) {
    const entry = (
      typeof record.noise === 'object' && record.noise !== null ? record.noise : {}
    ) as Record<string, unknown>
    const volatility = entry.volatility
    if (typeof volatility !== 'number' || !(volatility >= 0))
      issues.push(
        issue('shock_field_invalid', '$.noise.volatility', 'a volatility is a number ≥ 0'),
      )
    noise = {
      volatility: typeof volatility === 'number' ? volatility : 0,
      seed: whole(entry.seed, '$.noise.seed', 0),
    }
  }
  if (issues.length > 0) return { ok: false, issues }
  const spec: ShockSpec = {
    name,
    description,
    startPrice,
    tickSize,
    startTimeMs,
    stepMs,
    durationMs,
    legs,
  }
  return { ok: true, value: noise === undefined ? spec : { ...spec, noise }, warnings: [] }
}
