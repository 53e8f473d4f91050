/**
 * Canonical encoding and snapshots of engine state (ENG-010, ENG-011).
 *
 * - `encodeStateCanonical`: JSON with object keys sorted, Maps as objects sorted by key, `Fixed`
 *   (every bigint in the state) as decimal strings, no whitespace. Two states are equal exactly when
 *   their encodings are; adapters hash it (SHA-256) to get the state hash.
 * - `snapshotState` / `restoreState`: a JSON-compatible value that restores the state exactly.
 *   Bigints are tagged `{ "$fixed": "1.5" }` and Maps `{ "$map": [[key, value], ...] }` (sorted by key),
 *   so nothing depends on knowing which strings are numbers.
 */
import { assert, InvariantError } from '../assert.ts'
import { type Fixed, fixedOf, formatFixed } from '../num/fixed.ts'
import { checkInvariants } from './invariants.ts'
import { createLiquidationState } from './liquidation/state.ts'
import type { EngineState } from './state.ts'

/** A JSON value. */
export type JsonValue =
  | string
  | number
  | boolean
  | null
  | readonly JsonValue[]
  | { readonly [key: string]: JsonValue }

function compareKeys(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}

/** Plain data (what the state, events and rule sets are made of) as canonical JSON-ready values. */
export function toCanonicalValue(value: unknown): JsonValue {
  if (value === null) return null
  switch (typeof value) {
    case 'bigint':
      return formatFixed(value as Fixed)
    case 'string':
    case 'boolean':
      return value
    case 'number':
      assert(Number.isFinite(value), 'Invariant: numbers in the state are finite (ENG-010)')
      return value
    case 'object': {
      if (Array.isArray(value)) return value.map((item) => toCanonicalValue(item))
      const entries: [string, unknown][] =
        value instanceof Map
          ? [...(value as Map<unknown, unknown>)].map(([key, item]) => [String(key), item])
          : Object.entries(value)
      // No prototype: a key `__proto__` (an account may be named so) is an own key like any other.
      const result = Object.create(null) as Record<string, JsonValue>
      for (const [key, item] of entries.sort(([a], [b]) => compareKeys(a, b))) {
        if (item !== undefined) result[key] = toCanonicalValue(item)
      }
      return result
    }
    case 'undefined':
    case 'function':
    case 'symbol':
      break
  }
  throw new InvariantError(
    `Invariant: the state holds plain data only (ENG-010, type=${typeof value})`,
  )
}

/** Canonical JSON of plain data: sorted keys, Maps as sorted objects, Fixed as decimal strings. */
export function encodeCanonical(value: unknown): string {
  return JSON.stringify(toCanonicalValue(value))
}

/** Canonical JSON of each rule set object, computed once: rule sets are immutable values. */
const ruleSetEncodings = new WeakMap<object, string>()

function encodeRuleSet(rules: EngineState['rules']): string {
  let encoded = ruleSetEncodings.get(rules)
  if (encoded === undefined) {
    encoded = encodeCanonical(rules)
    ruleSetEncodings.set(rules, encoded)
  }
  return encoded
}

/**
 * The state's canonical JSON; its SHA-256 (computed by adapters) is the state hash. The same text
 * as `encodeCanonical(state)`; the rule set's part is encoded once per rule set object.
 */
export function encodeStateCanonical(state: EngineState): string {
  const entries = Object.entries(state).sort(([a], [b]) => compareKeys(a, b))
  const parts: string[] = []
  for (const [key, item] of entries) {
    if (item === undefined) continue
    const encoded = key === 'rules' ? encodeRuleSet(state.rules) : encodeCanonical(item)
    parts.push(`${JSON.stringify(key)}:${encoded}`)
  }
  return `{${parts.join(',')}}`
}

/** The version of the snapshot format. */
export const SNAPSHOT_FORMAT = 'lor-engine-state/1'

/** A JSON-compatible copy of the state that `restoreState` turns back into the same state. */
export interface EngineSnapshot {
  readonly format: typeof SNAPSHOT_FORMAT
  readonly state: JsonValue
}

function toTagged(value: unknown): JsonValue {
  if (value === null) return null
  switch (typeof value) {
    case 'bigint':
      return { $fixed: formatFixed(value as Fixed) }
    case 'string':
    case 'boolean':
    case 'number':
      return value
    case 'object': {
      if (Array.isArray(value)) return value.map((item) => toTagged(item))
      if (value instanceof Map) {
        const entries = [...(value as Map<unknown, unknown>)].map(
          ([key, item]): [string, unknown] => {
            assert(typeof key === 'string', 'Invariant: state maps are keyed by strings (ENG-011)')
            return [key, item]
          },
        )
        entries.sort(([a], [b]) => compareKeys(a, b))
        return { $map: entries.map(([key, item]) => [key, toTagged(item)]) }
      }
      const result: Record<string, JsonValue> = {}
      for (const [key, item] of Object.entries(value).sort(([a], [b]) => compareKeys(a, b))) {
        if (item !== undefined) result[key] = toTagged(item)
      }
      return result
    }
    case 'undefined':
    case 'function':
    case 'symbol':
      break
  }
  throw new InvariantError(
    `Invariant: the state holds plain data only (ENG-011, type=${typeof value})`,
  )
}

function fromTagged(value: JsonValue): unknown {
  if (value === null || typeof value !== 'object') return value
  if (Array.isArray(value)) return (value as readonly JsonValue[]).map((item) => fromTagged(item))
  const record = value as { readonly [key: string]: JsonValue }
  const fixedText = record.$fixed
  if (typeof fixedText === 'string') return fixedOf(fixedText)
  const mapEntries = record.$map
  if (Array.isArray(mapEntries)) {
    const map = new Map<string, unknown>()
    for (const entry of mapEntries as readonly JsonValue[]) {
      assert(
        Array.isArray(entry) && entry.length === 2,
        'Condition failed: a snapshot map entry is a [key, value] pair (ENG-011)',
      )
      const [key, item] = entry as readonly JsonValue[]
      assert(
        typeof key === 'string' && item !== undefined,
        'Condition failed: a snapshot map key is a string (ENG-011)',
      )
      map.set(key, fromTagged(item))
    }
    return map
  }
  const result: Record<string, unknown> = {}
  for (const [key, item] of Object.entries(record)) result[key] = fromTagged(item)
  return result
}

/** A JSON-compatible snapshot of the state (deep copy; later commands do not change it). */
export function snapshotState(state: EngineState): EngineSnapshot {
  return { format: SNAPSHOT_FORMAT, state: toTagged(state) }
}

/**
 * The state a snapshot was taken of. Checks the invariants of the restored state, so a damaged
 * snapshot fails loudly rather than being trusted.
 */
export function restoreState(snapshot: EngineSnapshot): EngineState {
  assert(
    snapshot.format === SNAPSHOT_FORMAT,
    `Condition failed: the snapshot format is ${SNAPSHOT_FORMAT} (ENG-011)`,
  )
  const state = fromTagged(snapshot.state) as EngineState
  // Snapshots written before liquidation state existed restore with an empty one.
  if ((state as Partial<EngineState>).liquidation === undefined)
    (state as { liquidation: EngineState['liquidation'] }).liquidation = createLiquidationState()
  checkInvariants(state)
  return state
}
