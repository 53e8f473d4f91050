/**
 * Overrides of rule-set documents (docs/presets.md, RUL-017, RUL-018). They work on the file form,
 * before validation, so any parameter can be changed and markets can be added, and the result is
 * checked exactly like a file.
 */
import type { RuleIssue } from '../core/rules/parse.ts'

type JsonRecord = Record<string, unknown>

function isRecord(value: unknown): value is JsonRecord {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/**
 * Deep-merges `patch` into `base` (neither is modified). Objects merge key by key; arrays and
 * scalars replace; `null` sets null. The top-level `markets` array merges by market id: a patch
 * entry with the id of an existing market merges into it, any other is appended (RUL-017).
 */
export function mergeRuleSetPatch(base: unknown, patch: unknown): unknown {
  if (!isRecord(base) || !isRecord(patch)) return mergeValue(base, patch)
  const merged: JsonRecord = { ...base }
  for (const [key, value] of Object.entries(patch)) {
    merged[key] =
      key === 'markets' && Array.isArray(base.markets) && Array.isArray(value)
        ? mergeMarkets(base.markets, value)
        : mergeValue(base[key], value)
  }
  return merged
}

function mergeValue(base: unknown, patch: unknown): unknown {
  if (patch === undefined) return base
  if (!isRecord(base) || !isRecord(patch)) return structuredClone(patch)
  const merged: JsonRecord = { ...base }
  for (const [key, value] of Object.entries(patch)) merged[key] = mergeValue(base[key], value)
  return merged
}

function marketIdOf(entry: unknown): unknown {
  return isRecord(entry) ? entry.market : undefined
}

function mergeMarkets(base: readonly unknown[], patch: readonly unknown[]): unknown[] {
  const merged = [...base]
  for (const entry of patch) {
    const id = marketIdOf(entry)
    const index =
      typeof id === 'string' ? merged.findIndex((market) => marketIdOf(market) === id) : -1
    if (index >= 0) merged[index] = mergeValue(merged[index], entry)
    else merged.push(structuredClone(entry))
  }
  return merged
}

/** A parsed `PATH=VALUE` assignment. */
export interface Assignment {
  readonly segments: readonly string[]
  readonly value: unknown
}

/**
 * Parses `PATH=VALUE` (RUL-018). PATH is dot-separated; after `markets` comes a market id; a
 * whole number indexes an array (`markets.BTCUSDT.margin.tiers.0.maintenanceRate=0.005`). VALUE
 * is kept as a string (decimals stay exact) unless it is `null` or JSON starting with `{`, `[` or `"`.
 */
export function parseAssignment(
  text: string,
): { ok: true; assignment: Assignment } | { ok: false; issue: RuleIssue } {
  const equals = text.indexOf('=')
  const path = equals < 0 ? '' : text.slice(0, equals)
  const raw = equals < 0 ? '' : text.slice(equals + 1)
  const segments = path.split('.')
  if (equals <= 0 || segments.some((segment) => segment === '')) {
    return invalid(path, `"${text}" is not PATH=VALUE (e.g. markets.BTCUSDT.takerFeeRate=0.0005)`)
  }
  let value: unknown = raw
  if (raw === 'null') value = null
  else if (/^[[{"]/.test(raw)) {
    try {
      value = JSON.parse(raw)
    } catch {
      return invalid(path, `the value of ${path} is not valid JSON`)
    }
  }
  return { ok: true, assignment: { segments, value } }
}

function invalid(path: string, message: string): { ok: false; issue: RuleIssue } {
  return { ok: false, issue: { code: 'invalid_assignment', path, message } }
}

/** Applies one `PATH=VALUE` assignment to a copy of `document` (RUL-018). */
export function applyAssignment(
  document: unknown,
  text: string,
): { ok: true; document: unknown } | { ok: false; issue: RuleIssue } {
  const parsed = parseAssignment(text)
  if (!parsed.ok) return parsed
  const { segments, value } = parsed.assignment
  const root: unknown = structuredClone(document)
  const path = segments.join('.')
  let container: unknown = root
  for (let index = 0; index < segments.length; index++) {
    const segment = segments[index] ?? ''
    const last = index === segments.length - 1
    const previous = segments[index - 1]
    if (Array.isArray(container)) {
      let position: number
      if (index === 1 && previous === 'markets') {
        position = container.findIndex((market) => marketIdOf(market) === segment)
        if (position < 0) {
          return {
            ok: false,
            issue: {
              code: 'unknown_market',
              path,
              message: `no market "${segment}" to set ${path} on`,
            },
          }
        }
      } else if (/^\d+$/.test(segment) && Number(segment) <= container.length) {
        position = Number(segment)
      } else {
        return invalid(
          path,
          `"${segment}" is not an index of ${segments.slice(0, index).join('.')}`,
        )
      }
      if (last) container[position] = value
      else {
        if (container[position] === undefined) container[position] = {}
        container = container[position]
      }
    } else if (isRecord(container)) {
      if (last) container[segment] = value
      else {
        if (container[segment] === undefined) container[segment] = {}
        container = container[segment]
      }
    } else {
      return invalid(path, `${segments.slice(0, index).join('.')} is not an object`)
    }
  }
  return { ok: true, document: root }
}
