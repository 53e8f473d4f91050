/**
 * Canonical JSON and hashing for the journal (docs/spec/journal.md, JNL-003). One encoder for
 * everything that is hashed: object keys sorted by UTF-16 code unit, no whitespace, integers only
 * (decimal values travel as strings), so equal values always encode to equal bytes.
 */
import { hash } from 'node:crypto'
import { InvariantError } from '../core/assert.ts'
import type { Fixed } from '../core/num/fixed.ts'

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

/**
 * How `plainDataText` writes numbers and orders object keys: the journal's canonical JSON and the
 * state hasher's text (the engine's canonical encoder) differ only there.
 */
export interface PlainDataStyle {
  /** The text of a finite number. */
  readonly numberText: (value: number) => string
  /** Positions of an object's keys in the order they are written. */
  readonly keyOrder: (keys: readonly string[]) => number[]
}

/**
 * JSON of plain engine data in one pass: bigints are `Fixed` decimals written as strings, Maps
 * (keyed by strings, as the engine's are) objects, undefined fields are left out, numbers and key
 * order as `style` says; a non-finite number or anything but plain data is an `InvariantError`
 * (ENG-010).
 */
export function plainDataText(value: unknown, style: PlainDataStyle): string {
  if (value === null) return 'null'
  switch (typeof value) {
    case 'bigint':
      return `"${decimalText(value as Fixed)}"`
    case 'string':
      return JSON.stringify(value)
    case 'boolean':
      return value ? 'true' : 'false'
    case 'number':
      if (!Number.isFinite(value))
        throw new InvariantError('Invariant: numbers in the state are finite (ENG-010)')
      return style.numberText(value)
    case 'object': {
      if (Array.isArray(value)) {
        let text = '['
        for (let index = 0; index < value.length; index += 1)
          text += `${index === 0 ? '' : ','}${plainDataText(value[index], style)}`
        return `${text}]`
      }
      let keys: string[]
      let items: unknown[]
      if (value instanceof Map) {
        keys = []
        items = []
        for (const [key, item] of value as Map<unknown, unknown>) {
          keys.push(String(key))
          items.push(item)
        }
      } else {
        keys = Object.keys(value)
        items = keys.map((key) => (value as Record<string, unknown>)[key])
      }
      let text = '{'
      let first = true
      for (const index of style.keyOrder(keys)) {
        const item = items[index]
        if (item === undefined) continue
        text += `${first ? '' : ','}${quotedKey(keys[index] as string)}:${plainDataText(item, style)}`
        first = false
      }
      return `${text}}`
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

/** The journal's canonical JSON: safe integers only, keys in code-unit order. */
const CANONICAL_DATA: PlainDataStyle = {
  numberText: (value) => {
    if (!Number.isSafeInteger(value))
      throw new TypeError(`canonical JSON holds safe integers only, got ${value}`)
    return Object.is(value, -0) ? '0' : String(value)
  },
  keyOrder: codeUnitOrder,
}

/**
 * Canonical JSON of plain engine data (results, events): the same text as
 * `canonicalJson(toCanonicalValue(value))` in one pass, without the intermediate values; a number
 * that is not a safe integer is a TypeError, as in the two steps.
 */
export function canonicalJsonOfData(value: unknown): string {
  return plainDataText(value, CANONICAL_DATA)
}

/** Positions of `keys` in code-unit order (the common case, keys already in order, without a sort). */
function codeUnitOrder(keys: readonly string[]): number[] {
  const order = keys.map((_, index) => index)
  for (let index = 1; index < keys.length; index += 1) {
    if ((keys[index - 1] as string) > (keys[index] as string))
      return order.sort((a, b) => compareCodeUnits(keys[a] as string, keys[b] as string))
  }
  return order
}

/** `JSON.stringify(key)`, kept for the few hundred field names data objects use. */
const quotedKeys = new Map<string, string>()
function quotedKey(key: string): string {
  let quoted = quotedKeys.get(key)
  if (quoted === undefined) {
    quoted = JSON.stringify(key)
    if (quotedKeys.size < 1_000) quotedKeys.set(key, quoted)
  }
  return quoted
}

/** Decimal places of `Fixed`, and a zero fraction's text. */
const FIXED_PLACES = 18
const ZERO_FRACTION = '0'.repeat(FIXED_PLACES)

/**
 * `formatFixed(value)` from one `toString` of the scaled integer (no bigint division): the digits
 * split 18 places from the right, trailing zeros of the fraction dropped.
 */
export function decimalText(value: Fixed): string {
  const negative = value < 0n
  const digits = (negative ? 0n - value : value).toString()
  const cut = digits.length - FIXED_PLACES
  const whole = cut > 0 ? digits.slice(0, cut) : '0'
  let fraction = cut > 0 ? digits.slice(cut) : (ZERO_FRACTION + digits).slice(-FIXED_PLACES)
  let end = fraction.length
  while (end > 0 && fraction.charCodeAt(end - 1) === 48) end -= 1
  fraction = fraction.slice(0, end)
  const body = end > 0 ? `${whole}.${fraction}` : whole
  return negative ? `-${body}` : body
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
