/**
 * Differences between two rule sets (docs/spec/portfolio-margin.md, RUL-D01..RUL-D03): every
 * changed parameter with its path, old and new value. Both sides are compared in file form
 * (`ruleSetToJson`), so a difference is a difference in meaning, not in how a file abbreviated
 * it. Markets are matched by id (`markets.BTCUSDT.…`), tiers and other lists by position.
 */
import { ruleSetToJson } from './parse.ts'
import type { RuleSet } from './rule-set.ts'

/** One changed parameter. `before`/`after` are absent when the parameter is added or removed. */
export interface RuleChange {
  readonly path: string
  readonly kind: 'changed' | 'added' | 'removed'
  /** `metadata`: id, venue, version, dates, sources, description; `parameter`: everything that changes a computation. */
  readonly category: 'metadata' | 'parameter'
  readonly before?: unknown
  readonly after?: unknown
}

/** Identity fields that differ between any two versions and are reported separately. */
const IDENTITY_FIELDS = new Set(['$schemaVersion'])
const METADATA_FIELDS = new Set([
  'id',
  'venue',
  'version',
  'effectiveDate',
  'sources',
  'description',
])

type Change = Omit<RuleChange, 'category'>

/** Every difference between two rule sets, in path order of the first, then the second (RUL-D01). */
export function diffRuleSets(before: RuleSet, after: RuleSet): RuleChange[] {
  const changes: Change[] = []
  compare(keyed(ruleSetToJson(before)), keyed(ruleSetToJson(after)), '', changes)
  return changes
    .filter((change) => !IDENTITY_FIELDS.has(change.path))
    .map((change) => ({
      ...change,
      category: METADATA_FIELDS.has(change.path.split(/[.[]/)[0] ?? '') ? 'metadata' : 'parameter',
    }))
}

/** Replaces the market list by an object keyed by market id, so markets match by id. */
function keyed(document: unknown): unknown {
  const root = document as Record<string, unknown>
  const markets = root.markets as readonly Record<string, unknown>[]
  const byId: Record<string, unknown> = {}
  for (const market of markets) byId[String(market.market)] = market
  return { ...root, markets: byId }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function join(path: string, key: string): string {
  return path === '' ? key : `${path}.${key}`
}

function compare(before: unknown, after: unknown, path: string, changes: Change[]): void {
  if (isObject(before) && isObject(after)) {
    const keys = [...Object.keys(before), ...Object.keys(after).filter((key) => !(key in before))]
    for (const key of keys) {
      const childPath = join(path, key)
      if (!(key in after)) changes.push({ path: childPath, kind: 'removed', before: before[key] })
      else if (!(key in before)) changes.push({ path: childPath, kind: 'added', after: after[key] })
      else compare(before[key], after[key], childPath, changes)
    }
    return
  }
  if (Array.isArray(before) && Array.isArray(after)) {
    const length = Math.max(before.length, after.length)
    for (let index = 0; index < length; index++) {
      const childPath = `${path}[${index}]`
      if (index >= after.length)
        changes.push({ path: childPath, kind: 'removed', before: before[index] })
      else if (index >= before.length)
        changes.push({ path: childPath, kind: 'added', after: after[index] })
      else compare(before[index], after[index], childPath, changes)
    }
    return
  }
  if (JSON.stringify(before) !== JSON.stringify(after))
    changes.push({ path, kind: 'changed', before, after })
}
