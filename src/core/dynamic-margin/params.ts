/**
 * Dynamic margin parameters as data (docs/spec/dynamic-margin.md, DYN-010): a JSON/YAML document
 * with every decimal written as a string, validated whole into `DynamicMarginParams`. Problems are
 * issues {code, path, message}; bad input never throws. Omitted fields take the defaults below,
 * which follow theory.md §3.1–§3.2 (RiskMetrics λ, EU Delegated Regulation 153/2013 Art. 24–28).
 */
import {
  type Fixed,
  fixed,
  fixedOf,
  formatFixed,
  mul,
  ONE,
  parseFixed,
  ZERO,
} from '../num/fixed.ts'
import type { RuleIssue } from '../rules/parse.ts'
import type { DynamicMarginParams } from './apc.ts'
import { sqrtCeil } from './ewma.ts'

/** Defaults of a margin history, each with its source (DYN-010). */
export const DYNAMIC_MARGIN_DEFAULTS = {
  /** RiskMetrics decay (theory.md §3.1; CCPs calibrate 0.94–0.99). */
  lambda: fixedOf('0.94'),
  /** One-sided 99 % normal quantile: Art. 24's confidence for instruments other than OTC derivatives. */
  quantile: fixedOf('2.33'),
  /** One day in milliseconds: Art. 26's shortest liquidation period (ETD client accounts margined near real time). */
  horizonMs: 86_400_000,
  /** Art. 28(a): a buffer of at least 25 % (theory.md W14: 100 → 125). */
  buffer: fixedOf('0.25'),
  /** The buffer comes back only as the model falls. */
  bufferRebuild: ZERO,
} as const

/**
 * k = quantile × √(horizon ÷ interval), rounded up (DYN-003: the √MPOR scaling of a one-period σ);
 * the horizon is a whole number of intervals.
 */
export function horizonMultiplier(quantile: Fixed, horizonMs: number, intervalMs: number): Fixed {
  const periods = fixed(Math.floor(horizonMs / intervalMs))
  return mul(quantile, sqrtCeil(periods), 'ceil')
}

/**
 * A decimal written as a string (DYN-010), checked by `check` (a problem sentence or undefined);
 * each problem goes to `report` as an issue and gives undefined.
 */
export function decimalField(
  value: unknown,
  path: string,
  check: (number: Fixed) => string | undefined,
  report: (code: string, path: string, message: string) => undefined,
  example: string,
): Fixed | undefined {
  if (typeof value !== 'string')
    return report(
      'not_a_decimal_string',
      path,
      `expected a decimal written as a string, e.g. "${example}"`,
    )
  const parsed = parseFixed(value)
  if (!parsed.ok) return report(parsed.code, path, parsed.message)
  const problem = check(parsed.value)
  return problem === undefined ? parsed.value : report('out_of_range', path, problem)
}

/** Outcome of `parseDynamicMarginParams`. */
export type ParseDynamicMarginResult =
  | { readonly ok: true; readonly params: DynamicMarginParams; readonly multiplierSource: string }
  | { readonly ok: false; readonly issues: readonly RuleIssue[] }

const DURATION = /^(\d+)(ms|s|m|h|d)$/
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }

/** A duration such as `1d`, `4h`, `30m`, in milliseconds, or undefined when malformed. */
export function parseDuration(text: string): number | undefined {
  const match = DURATION.exec(text)
  if (match === null) return undefined
  const value = Number(match[1]) * (UNIT_MS[match[2] ?? ''] ?? 0)
  return Number.isSafeInteger(value) && value > 0 ? value : undefined
}

const KNOWN = new Set([
  'lambda',
  'initialVariance',
  'multiplier',
  'quantile',
  'horizon',
  'floorLookback',
  'stressWeight',
  'buffer',
  'bufferRebuild',
  'sizeScaling',
])

/**
 * Validates a parameter document against a price series sampled every `intervalMs` (DYN-010).
 * Fields: lambda, initialVariance, multiplier (or quantile and horizon, e.g. "2.33" and "1d"),
 * floorLookback (returns, a whole number), stressWeight, buffer ("0" turns it off),
 * bufferRebuild, sizeScaling {size, factor}.
 */
export function parseDynamicMarginParams(
  input: unknown,
  intervalMs: number,
): ParseDynamicMarginResult {
  const issues: RuleIssue[] = []
  const add = (code: string, path: string, message: string): undefined => {
    issues.push({ code, path, message })
    return undefined
  }
  if (typeof input !== 'object' || input === null || Array.isArray(input))
    return {
      ok: false,
      issues: [{ code: 'not_an_object', path: '', message: 'expected an object' }],
    }
  const root = input as Record<string, unknown>
  for (const key of Object.keys(root))
    if (!KNOWN.has(key))
      add('unknown_field', key, `unknown field (known: ${[...KNOWN].join(', ')})`)
  const decimal = (
    path: string,
    value: unknown,
    check: (number: Fixed) => string | undefined,
  ): Fixed | undefined =>
    value === undefined ? undefined : decimalField(value, path, check, add, '0.25')
  const positive = (number: Fixed) => (number > 0n ? undefined : 'must be greater than 0')
  const fraction = (number: Fixed) =>
    number >= 0n && number <= ONE ? undefined : 'must lie in 0..1'
  const nonNegative = (number: Fixed) => (number >= 0n ? undefined : 'must not be negative')
  const lambda =
    decimal('lambda', root.lambda, (number) =>
      number > 0n && number < ONE ? undefined : 'must lie strictly between 0 and 1',
    ) ?? DYNAMIC_MARGIN_DEFAULTS.lambda
  const initialVariance = decimal('initialVariance', root.initialVariance, nonNegative)
  const multiplier = decimal('multiplier', root.multiplier, positive)
  const quantile = decimal('quantile', root.quantile, positive)
  let horizonMs: number = DYNAMIC_MARGIN_DEFAULTS.horizonMs
  if (root.horizon !== undefined) {
    const parsed = typeof root.horizon === 'string' ? parseDuration(root.horizon) : undefined
    if (parsed === undefined)
      add('not_a_duration', 'horizon', 'expected a duration such as "1d", "4h", "30m"')
    else if (parsed % intervalMs !== 0)
      add(
        'horizon_off_interval',
        'horizon',
        `must be a whole number of price intervals (${intervalMs} ms)`,
      )
    else horizonMs = parsed
  }
  if (multiplier !== undefined && (quantile !== undefined || root.horizon !== undefined))
    add(
      'multiplier_and_quantile',
      'multiplier',
      'give either multiplier or quantile/horizon, not both',
    )
  let floorLookback: number | undefined
  if (root.floorLookback !== undefined) {
    const value = root.floorLookback
    const number = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value
    if (typeof number !== 'number' || !Number.isSafeInteger(number) || number < 1)
      add('not_a_count', 'floorLookback', 'expected a whole number of returns, at least 1')
    else floorLookback = number
  }
  const stressWeight = decimal('stressWeight', root.stressWeight, fraction)
  const buffer = decimal('buffer', root.buffer, nonNegative) ?? DYNAMIC_MARGIN_DEFAULTS.buffer
  const bufferRebuild =
    decimal('bufferRebuild', root.bufferRebuild, fraction) ?? DYNAMIC_MARGIN_DEFAULTS.bufferRebuild
  let sizeScaling: { size: Fixed; factor: Fixed } | undefined
  if (root.sizeScaling !== undefined) {
    const scaling = root.sizeScaling
    if (typeof scaling !== 'object' || scaling === null || Array.isArray(scaling)) {
      add('not_an_object', 'sizeScaling', 'expected {size, factor}')
    } else {
      const object = scaling as Record<string, unknown>
      const size = decimal('sizeScaling.size', object.size, nonNegative)
      const factor = decimal('sizeScaling.factor', object.factor, nonNegative)
      if (size === undefined || factor === undefined) {
        if (object.size === undefined) add('missing', 'sizeScaling.size', 'required')
        if (object.factor === undefined) add('missing', 'sizeScaling.factor', 'required')
      } else sizeScaling = { size, factor }
    }
  }
  if (issues.length > 0) return { ok: false, issues }
  const chosenQuantile = quantile ?? DYNAMIC_MARGIN_DEFAULTS.quantile
  const k = multiplier ?? horizonMultiplier(chosenQuantile, horizonMs, intervalMs)
  const multiplierSource =
    multiplier !== undefined
      ? 'given'
      : `${formatFixed(chosenQuantile)} × √(${horizonMs / intervalMs} returns)`
  const params: DynamicMarginParams = {
    ewma: initialVariance === undefined ? { lambda } : { lambda, initialVariance },
    multiplier: k,
    ...(floorLookback === undefined ? {} : { floorLookback }),
    ...(stressWeight === undefined ? {} : { stressWeight }),
    ...(buffer === ZERO ? {} : { buffer, bufferRebuild }),
    ...(sizeScaling === undefined ? {} : { sizeScaling }),
  }
  return { ok: true, params, multiplierSource }
}
