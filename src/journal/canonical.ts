/**
 * Canonical JSON and hashing for the journal (docs/spec/journal.md, JNL-003). One encoder for
 * everything that is hashed: object keys sorted by UTF-16 code unit, no whitespace, integers only
 * (decimal values travel as strings), so equal values always encode to equal bytes.
 */
import { hash } from 'node:crypto'

/** A JSON value as the journal stores it. */
export type JsonValue =
  | null
  | boolean
  | number
  | string
  | readonly JsonValue[]
  | { readonly [key: string]: JsonValue }

/** Encodes a JSON value canonically. Throws a TypeError on a non-JSON value (a programming error). */
export function canonicalJson(value: JsonValue): string {
  if (value === null) return 'null'
  switch (typeof value) {
    case 'boolean':
      return value ? 'true' : 'false'
    case 'number':
      if (!Number.isSafeInteger(value))
        throw new TypeError(`canonical JSON holds safe integers only, got ${value}`)
      return Object.is(value, -0) ? '0' : String(value)
    case 'string':
      return JSON.stringify(value)
    case 'object': {
      if (Array.isArray(value))
        return `[${(value as readonly JsonValue[]).map(canonicalJson).join(',')}]`
      const record = value as { readonly [key: string]: JsonValue }
      const keys = Object.keys(record).sort(compareCodeUnits)
      const parts: string[] = []
      for (const key of keys) {
        const item = record[key]
        if (item === undefined) continue
        parts.push(`${JSON.stringify(key)}:${canonicalJson(item)}`)
      }
      return `{${parts.join(',')}}`
    }
    case 'bigint':
    case 'function':
    case 'symbol':
    case 'undefined':
      throw new TypeError(`canonical JSON cannot encode a ${typeof value}`)
  }
}

/** Orders strings by UTF-16 code units (what `<` does), independent of locale. */
export function compareCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}

/** SHA-256 of a UTF-8 text, as 64 lowercase hex digits (one-shot `crypto.hash`, Node ≥ 20.12). */
export function sha256Hex(text: string): string {
  return hash('sha256', text, 'hex')
}

/** True for 64 lowercase hex digits (a SHA-256 as the journal writes it). */
export function isSha256Hex(text: unknown): text is string {
  return typeof text === 'string' && /^[0-9a-f]{64}$/.test(text)
}
