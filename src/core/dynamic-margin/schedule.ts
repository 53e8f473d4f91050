/**
 * When dynamic margin re-sets a venue's rates (docs/spec/dynamic-margin.md, DYN-015..DYN-017):
 * from a price series, the APC rate of `marginHistory` (DYN-008) is read every `everyMs` after a
 * warm-up; the published margin model is taken to be right at the end of the warm-up, so the rate
 * then is the baseline and the factor applied to the published rates is rate ÷ baseline, never
 * below `minimumFactor`. A re-set is made only when the factor moved by at least `minimumChange`
 * (relative) from the factor in force, as a venue changes its rates in steps rather than every
 * hour. Pure and exact.
 */
import { assert } from '../assert.ts'
import { abs, div, type Fixed, fixedOf, max, ONE, roundToDecimals, sub } from '../num/fixed.ts'
import type { RuleIssue } from '../rules/parse.ts'
import { type DynamicMarginParams, marginHistory } from './apc.ts'
import { decimalField, parseDuration, parseDynamicMarginParams } from './params.ts'

/** How often and how far rates are re-set. */
export interface MarginScheduleRules {
  /** Time between two readings of the rate, from the end of the warm-up. */
  readonly everyMs: number
  /** Smallest relative move of the factor that is put in force (0.1: 10 %). */
  readonly minimumChange: Fixed
  /** Lowest factor (1: never below the published rates). */
  readonly minimumFactor: Fixed
  /** Time from the first price until the baseline rate is read. */
  readonly warmupMs: number
}

/** Defaults of a schedule (DYN-017): hourly, 10 % steps, never below the published ladder, 4 h warm-up. */
export const MARGIN_SCHEDULE_DEFAULTS: MarginScheduleRules = {
  everyMs: 3_600_000,
  minimumChange: fixedOf('0.1'),
  minimumFactor: ONE,
  warmupMs: 4 * 3_600_000,
}

/** Decimals a factor is rounded up to (DYN-015). */
export const FACTOR_DECIMALS = 4

/** One re-set of the margin rates: from `timeMs` on, the published rates × `factor`. */
export interface MarginReset {
  readonly timeMs: number
  /** The APC rate read at `timeMs` (DYN-008). */
  readonly rate: Fixed
  readonly factor: Fixed
}

/**
 * The re-sets along a price series (DYN-015, DYN-016). `timesMs[i]` is the time of `prices[i]`
 * (increasing); the rate at a time is that of the last return ending at or before it. The
 * baseline is the rate at the end of the warm-up; at the end of the warm-up and every `everyMs`
 * after it, factor = max(minimumFactor, rate ÷ baseline rounded up to `FACTOR_DECIMALS`), and it
 * is put in force when |factor − in force| ≥ minimumChange × in force (the published rates, factor
 * 1, are in force at first). A series shorter than the warm-up, or with a baseline rate of 0 (no
 * price move in the warm-up: no ratio to take), has no re-set.
 */
export function dynamicMarginSchedule(
  prices: readonly Fixed[],
  timesMs: readonly number[],
  params: DynamicMarginParams,
  schedule: MarginScheduleRules,
): MarginReset[] {
  assert(
    prices.length === timesMs.length,
    `Invariant: every price has its time (DYN-015, prices=${prices.length}, times=${timesMs.length})`,
  )
  assert(
    schedule.everyMs > 0 && schedule.warmupMs > 0,
    'Invariant: a schedule reads rates at positive intervals after a positive warm-up (DYN-015)',
  )
  assert(
    schedule.minimumFactor > 0n && schedule.minimumChange >= 0n,
    'Invariant: the minimum factor is positive and the minimum change not negative (DYN-015)',
  )
  const start = timesMs[0]
  const end = timesMs.at(-1)
  if (start === undefined || end === undefined) return []
  const history = marginHistory(prices, params)
  let next = 0
  let rate: Fixed | null = null
  /** The rate at `timeMs`: readings come in increasing time, so one pass over the history. */
  const rateAt = (timeMs: number): Fixed | null => {
    for (let point = history[next]; point !== undefined; point = history[++next]) {
      const endMs = timesMs[point.index + 1] ?? Number.POSITIVE_INFINITY
      if (endMs > timeMs) break
      rate = point.rate
    }
    return rate
  }
  const warmupEnd = start + schedule.warmupMs
  const baseline = warmupEnd <= end ? rateAt(warmupEnd) : null
  if (baseline === null || baseline === 0n) return []
  const resets: MarginReset[] = []
  let inForce = ONE
  for (let timeMs = warmupEnd; timeMs <= end; timeMs += schedule.everyMs) {
    const current = rateAt(timeMs) ?? baseline
    const ratio = roundToDecimals(div(current, baseline, 'ceil'), FACTOR_DECIMALS, 'ceil')
    const factor = max(schedule.minimumFactor, ratio)
    // |factor − in force| ≥ minimumChange × in force, compared exactly on the scaled integers.
    const moved = abs(sub(factor, inForce)) * ONE >= schedule.minimumChange * inForce
    if (factor !== inForce && moved) {
      resets.push({ timeMs, rate: current, factor })
      inForce = factor
    }
  }
  return resets
}

/** Outcome of `parseMarginScheduleDocument`. */
export type ParseMarginScheduleResult =
  | {
      readonly ok: true
      readonly params: DynamicMarginParams
      readonly schedule: MarginScheduleRules
      readonly multiplierSource: string
    }
  | { readonly ok: false; readonly issues: readonly RuleIssue[] }

const SCHEDULE_FIELDS = ['every', 'minimumChange', 'minimumFactor', 'warmup'] as const

/**
 * Validates a dynamic margin document for prices every `intervalMs` (DYN-017): the parameters of
 * DYN-010 plus `every` and `warmup` (durations, whole numbers of intervals), `minimumChange`
 * (a decimal ≥ 0) and `minimumFactor` (a decimal > 0), every decimal written as a string. Every
 * problem is an issue {code, path, message}; omitted fields take `MARGIN_SCHEDULE_DEFAULTS`.
 */
export function parseMarginScheduleDocument(
  input: unknown,
  intervalMs: number,
): ParseMarginScheduleResult {
  if (typeof input !== 'object' || input === null || Array.isArray(input))
    return {
      ok: false,
      issues: [{ code: 'not_an_object', path: '', message: 'expected an object' }],
    }
  const root = input as Record<string, unknown>
  const rest: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(root))
    if (!(SCHEDULE_FIELDS as readonly string[]).includes(key)) rest[key] = value
  const parsed = parseDynamicMarginParams(rest, intervalMs)
  // The parameters' own list of known fields gains the schedule's.
  const issues: RuleIssue[] = parsed.ok
    ? []
    : parsed.issues.map((found) =>
        found.code === 'unknown_field'
          ? { ...found, message: found.message.replace(/\)$/, `, ${SCHEDULE_FIELDS.join(', ')})`) }
          : found,
      )
  const report = (code: string, path: string, message: string): undefined => {
    issues.push({ code, path, message })
    return undefined
  }
  const duration = (key: 'every' | 'warmup', fallback: number): number | undefined => {
    const value = root[key]
    if (value === undefined) return fallback
    const milliseconds = typeof value === 'string' ? parseDuration(value) : undefined
    if (milliseconds === undefined)
      return report('not_a_duration', key, 'expected a duration such as "1h", "30m", "4h"')
    if (milliseconds % intervalMs !== 0)
      return report(
        `${key}_off_interval`,
        key,
        `must be a whole number of price intervals (${intervalMs} ms)`,
      )
    return milliseconds
  }
  const decimal = (
    key: 'minimumChange' | 'minimumFactor',
    fallback: Fixed,
    check: (value: Fixed) => string | undefined,
  ): Fixed | undefined => {
    const value = root[key]
    return value === undefined ? fallback : decimalField(value, key, check, report, '0.1')
  }
  const everyMs = duration('every', MARGIN_SCHEDULE_DEFAULTS.everyMs)
  const warmupMs = duration('warmup', MARGIN_SCHEDULE_DEFAULTS.warmupMs)
  const minimumChange = decimal('minimumChange', MARGIN_SCHEDULE_DEFAULTS.minimumChange, (value) =>
    value >= 0n ? undefined : 'must not be negative',
  )
  const minimumFactor = decimal('minimumFactor', MARGIN_SCHEDULE_DEFAULTS.minimumFactor, (value) =>
    value > 0n ? undefined : 'must be greater than 0',
  )
  if (
    !parsed.ok ||
    issues.length > 0 ||
    everyMs === undefined ||
    warmupMs === undefined ||
    minimumChange === undefined ||
    minimumFactor === undefined
  )
    return { ok: false, issues }
  const schedule: MarginScheduleRules = { everyMs, warmupMs, minimumChange, minimumFactor }
  return { ok: true, params: parsed.params, schedule, multiplierSource: parsed.multiplierSource }
}
