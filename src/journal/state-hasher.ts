/**
 * The state hash, computed incrementally (docs/spec/journal.md, JNL-003, JNL-020).
 *
 * The state hash is SHA-256 of the engine's canonical state encoding (`encodeStateCanonical`).
 * Encoding the whole state after every journal entry costs time in proportion to the state, while
 * a command changes a few accounts. `StateHasher` keeps the encoded text of each part of the state
 * and re-encodes only the parts whose content changed:
 *
 * - each account's text is kept with a fingerprint of its content: the keys and values of its
 *   balance, position and setting maps, positions and settings compared by identity (they are
 *   immutable values the engine replaces when they change, never edits in place);
 * - accounts are grouped in blocks of consecutive ids (in encoding order); a block's joined text is
 *   rebuilt only when one of its accounts changed, and the SHA-256 is fed block by block;
 * - the other maps of the state (prices, funds, pools, the liquidation state's maps) are kept the
 *   same way, walked leaf by leaf (nested maps included, other values by identity);
 * - the rule set's text is kept per rule-set object (rule sets are immutable values).
 *
 * The bytes hashed are exactly the full encoding's, so the hash is the same by construction; the
 * `fullCheckEvery` option also recomputes the full hash every N calls and throws an
 * `InvariantError` if the two differ (a part changed in place where the engine promises a new
 * value). Only SHA-256 itself still reads the whole text: a hash call costs O(changed parts) to
 * encode plus O(state bytes) at SHA-256 speed.
 */
import { createHash, type Hash } from 'node:crypto'
import { InvariantError } from '../core/assert.ts'
import { encodeCanonical, encodeStateCanonical } from '../core/engine/canonical.ts'
import type { AccountState, EngineState } from '../core/engine/state.ts'
import type { RuleSet } from '../core/rules/rule-set.ts'
import { compareCodeUnits, sha256Hex } from './canonical.ts'

/** SHA-256 of the engine's canonical state encoding: the state hash (JNL-003), the full way. */
export function stateHashOf(state: EngineState): string {
  return sha256Hex(encodeStateCanonical(state))
}

export interface StateHasherOptions {
  /**
   * Compare with the full hash (`stateHashOf`) on the first call and every this many calls after
   * it, throwing an `InvariantError` on a difference; 0 (the default) never compares.
   */
  readonly fullCheckEvery?: number
}

/** Accounts per block of joined account texts. */
const BLOCK_SIZE = 32

/** Marks the start of a map in a fingerprint (never equal to a value of the state). */
const MAP_MARK = Symbol('map')

/**
 * A fingerprint being compared with the one kept from the previous call, and rebuilt in place from
 * the first difference on: `add` each leaf in walk order, then `finish` tells whether any differed.
 */
class Fingerprint {
  private parts: unknown[] = []
  private index = 0
  private same = true

  /** Starts comparing with (and rebuilding) `parts`. */
  reset(parts: unknown[]): this {
    this.parts = parts
    this.index = 0
    this.same = true
    return this
  }

  add(leaf: unknown): void {
    if (this.same) {
      if (this.index < this.parts.length && this.parts[this.index] === leaf) {
        this.index += 1
        return
      }
      this.same = false
      this.parts.length = this.index
    }
    this.parts.push(leaf)
    this.index += 1
  }

  /** Leaves of a map: its size, then each key and value; nested maps walked, objects by identity. */
  addMap(map: ReadonlyMap<unknown, unknown>): void {
    this.add(MAP_MARK)
    this.add(map.size)
    map.forEach(this.addEntry)
  }

  private readonly addEntry = (value: unknown, key: unknown): void => {
    this.add(key)
    if (value instanceof Map) this.addMap(value)
    else this.add(value)
  }

  /** True when every leaf equals the kept one (and there were as many). */
  finish(): boolean {
    if (this.same && this.index === this.parts.length) return true
    this.parts.length = this.index
    return false
  }
}

/** A part of the state's text with the fingerprint it was encoded from. */
interface KeptText {
  readonly parts: unknown[]
  text: string
}

/** An account's `"id":{...}` text, its fingerprint and the block it is written in. */
interface KeptAccount extends KeptText {
  /** The account object the fingerprint was taken of, and whether it has the usual four fields. */
  object: AccountState | null
  usualShape: boolean
  block: AccountBlock | null
}

/** Consecutive accounts (in encoding order) whose texts are joined and hashed together. */
interface AccountBlock {
  readonly ids: string[]
  /** The joined texts as UTF-8 (what SHA-256 reads); null: rebuild. */
  bytes: Buffer | null
}

const COMMA = Buffer.from(',')

/**
 * The order in which `JSON.stringify` writes the keys of an object built by assigning `keys` in
 * code-unit order into a prototype-less object, as the canonical encoder builds it: array-index
 * keys first, in numeric order, then the others.
 */
function jsonKeyOrder(keys: Iterable<string>): string[] {
  const object = Object.create(null) as Record<string, true>
  for (const key of [...keys].sort(compareCodeUnits)) object[key] = true
  return Object.keys(object)
}

/** Whether `key` is an array index, the keys objects list first (ECMA-262 CanonicalNumericIndex). */
function isArrayIndex(key: string): boolean {
  return /^(?:0|[1-9][0-9]{0,9})$/.test(key) && Number(key) < 4_294_967_295
}

/** The order of `jsonKeyOrder`, as a comparison: array indexes first, by value, then code units. */
function compareJsonKeys(a: string, b: string): number {
  const aIndex = isArrayIndex(a)
  const bIndex = isArrayIndex(b)
  if (aIndex !== bIndex) return aIndex ? -1 : 1
  if (aIndex) return Number(a) - Number(b)
  return compareCodeUnits(a, b)
}

/** Keeps the encoded parts of one engine state's canonical text; see the module note. */
export class StateHasher {
  private readonly fullCheckEvery: number
  private calls = 0
  /** Per account id: fingerprint, `"id":{...}` text and block. */
  private readonly accounts = new Map<string, KeptAccount>()
  /** The accounts in encoding order, in blocks of about BLOCK_SIZE. */
  private blocks: AccountBlock[] = []
  private readonly fingerprint = new Fingerprint()
  /** Texts of the other maps and containers, by path. */
  private readonly kept = new Map<string, KeptText>()
  private readonly rulesTexts = new WeakMap<RuleSet, string>()
  private readonly keyOrders = new Map<
    string,
    { readonly from: readonly string[]; readonly order: readonly string[] }
  >()
  /** The state's keys in encoding order, and the key list they were sorted from. */
  private stateKeys: { readonly from: string[]; readonly sorted: string[] } = {
    from: [],
    sorted: [],
  }

  constructor(options: StateHasherOptions = {}) {
    const every = options.fullCheckEvery ?? 0
    if (!Number.isSafeInteger(every) || every < 0)
      throw new RangeError(
        `Condition failed: fullCheckEvery is a whole number ≥ 0, got ${String(every)}`,
      )
    this.fullCheckEvery = every
  }

  /** The state hash of `state`: equal to `stateHashOf(state)`. */
  hash(state: EngineState): string {
    const sha = createHash('sha256')
    // text is gathered and fed in as few pieces as possible: each update has a fixed cost
    let text = '{'
    let first = true
    const record = state as unknown as Record<string, unknown>
    for (const key of this.sortedStateKeys(state)) {
      const value = record[key]
      if (value === undefined) continue
      text += `${first ? '' : ','}${JSON.stringify(key)}:`
      first = false
      if (key === 'accounts' && value instanceof Map) {
        sha.update(`${text}{`)
        this.updateAccounts(sha, value as ReadonlyMap<string, AccountState>)
        text = '}'
      } else {
        text += this.textOf(key, value)
      }
    }
    sha.update(`${text}}`)
    const digest = sha.digest('hex')
    if (this.fullCheckEvery > 0 && this.calls % this.fullCheckEvery === 0) {
      const full = stateHashOf(state)
      if (full !== digest)
        throw new InvariantError(
          `Invariant: the incremental state hash equals the full one (JNL-020, call=${this.calls + 1}, incremental=${digest}, full=${full})`,
        )
    }
    this.calls += 1
    return digest
  }

  /** The top-level keys, sorted as `encodeStateCanonical` sorts them (plain code-unit order). */
  private sortedStateKeys(state: EngineState): readonly string[] {
    const keys = Object.keys(state)
    const kept = this.stateKeys
    if (keys.length === kept.from.length && keys.every((key, index) => key === kept.from[index]))
      return kept.sorted
    this.stateKeys = { from: keys, sorted: [...keys].sort(compareCodeUnits) }
    return this.stateKeys.sorted
  }

  /** The canonical text of a top-level value other than the accounts. */
  private textOf(key: string, value: unknown): string {
    if (key === 'rules') return this.rulesText(value as RuleSet)
    if (value instanceof Map) return this.mapText(key, value)
    if (typeof value === 'object' && value !== null && !Array.isArray(value))
      return this.containerText(key, value as Record<string, unknown>)
    return encodeCanonical(value)
  }

  private rulesText(rules: RuleSet): string {
    let text = this.rulesTexts.get(rules)
    if (text === undefined) {
      text = encodeCanonical(rules)
      this.rulesTexts.set(rules, text)
    }
    return text
  }

  /** A map's text, re-encoded only when a key or value changed. */
  private mapText(path: string, map: ReadonlyMap<unknown, unknown>): string {
    let kept = this.kept.get(path)
    if (kept === undefined) {
      kept = { parts: [], text: '' }
      this.kept.set(path, kept)
    }
    const fingerprint = this.fingerprint.reset(kept.parts)
    fingerprint.addMap(map)
    if (!fingerprint.finish()) kept.text = encodeCanonical(map)
    return kept.text
  }

  /** A plain object whose fields are maps or values (the liquidation state): field by field. */
  private containerText(path: string, container: Record<string, unknown>): string {
    const texts: string[] = []
    for (const key of this.keyOrder(path, Object.keys(container))) {
      const value = container[key]
      if (value === undefined) continue
      const text =
        value instanceof Map ? this.mapText(`${path}.${key}`, value) : encodeCanonical(value)
      texts.push(`${JSON.stringify(key)}:${text}`)
    }
    return `{${texts.join(',')}}`
  }

  /** `jsonKeyOrder(keys)`, kept per path while the keys stay the same. */
  private keyOrder(path: string, keys: readonly string[]): readonly string[] {
    const kept = this.keyOrders.get(path)
    if (
      kept !== undefined &&
      kept.from.length === keys.length &&
      keys.every((key, index) => key === kept.from[index])
    )
      return kept.order
    const order = jsonKeyOrder(keys)
    this.keyOrders.set(path, { from: keys, order })
    return order
  }

  /** Feeds `"id":{...},...` of every account, in encoding order, block by block. */
  private updateAccounts(sha: Hash, accounts: ReadonlyMap<string, AccountState>): void {
    let seen = 0
    for (const [id, account] of accounts) {
      let kept = this.accounts.get(id)
      if (kept === undefined) {
        kept = { parts: [], text: '', object: null, usualShape: false, block: null }
        this.accounts.set(id, kept)
        this.insert(id, kept)
      }
      seen += 1
      if (kept.object !== account) {
        kept.object = account
        kept.usualShape = hasUsualShape(account)
      }
      const fingerprint = this.fingerprint.reset(kept.parts)
      if (kept.usualShape) {
        fingerprint.add(account.id)
        fingerprint.addMap(account.balances)
        fingerprint.addMap(account.positions)
        fingerprint.addMap(account.settings)
      } else addFields(fingerprint, account)
      if (!fingerprint.finish()) {
        kept.text = `${JSON.stringify(id)}:${encodeCanonical(account)}`
        if (kept.block !== null) kept.block.bytes = null
      }
    }
    if (seen !== this.accounts.size)
      for (const [id, kept] of this.accounts) if (!accounts.has(id)) this.remove(id, kept)
    let first = true
    for (const block of this.blocks) {
      if (block.bytes === null) {
        const texts: string[] = []
        for (const id of block.ids) texts.push(this.accounts.get(id)?.text ?? '')
        block.bytes = Buffer.from(texts.join(','), 'utf8')
      }
      if (!first) sha.update(COMMA)
      sha.update(block.bytes)
      first = false
    }
  }

  /** Puts a new account in its block, splitting a block that grew to twice the usual size. */
  private insert(id: string, kept: KeptAccount): void {
    const blocks = this.blocks
    // the first block whose last id comes after `id` (or the last block)
    let low = 0
    let high = blocks.length - 1
    while (low < high) {
      const middle = (low + high) >> 1
      const last = blocks[middle]?.ids.at(-1) ?? ''
      if (compareJsonKeys(last, id) < 0) low = middle + 1
      else high = middle
    }
    let block = blocks[low]
    if (block === undefined) {
      block = { ids: [], bytes: null }
      blocks.push(block)
    }
    let at = 0
    let end = block.ids.length
    while (at < end) {
      const middle = (at + end) >> 1
      if (compareJsonKeys(block.ids[middle] ?? '', id) < 0) at = middle + 1
      else end = middle
    }
    block.ids.splice(at, 0, id)
    block.bytes = null
    kept.block = block
    if (block.ids.length >= 2 * BLOCK_SIZE) {
      const moved: AccountBlock = { ids: block.ids.splice(BLOCK_SIZE), bytes: null }
      for (const each of moved.ids) {
        const keptEach = this.accounts.get(each)
        if (keptEach !== undefined) keptEach.block = moved
      }
      blocks.splice(blocks.indexOf(block) + 1, 0, moved)
    }
  }

  /** Takes an account that is gone out of its block. */
  private remove(id: string, kept: KeptAccount): void {
    this.accounts.delete(id)
    const block = kept.block
    if (block === null) return
    block.ids.splice(block.ids.indexOf(id), 1)
    block.bytes = null
    if (block.ids.length === 0) this.blocks.splice(this.blocks.indexOf(block), 1)
  }
}

/** Whether an account has exactly the fields id, balances, positions and settings, as own fields. */
function hasUsualShape(account: AccountState): boolean {
  const keys = Object.keys(account)
  return (
    keys.length === 4 &&
    ['balances', 'id', 'positions', 'settings'].every((key) => Object.hasOwn(account, key)) &&
    account.balances instanceof Map &&
    account.positions instanceof Map &&
    account.settings instanceof Map
  )
}

/** An object's leaves: each own field, maps walked, other values by identity. */
function addFields(fingerprint: Fingerprint, account: AccountState): void {
  const record = account as unknown as Record<string, unknown>
  for (const key in record) {
    if (!Object.hasOwn(record, key)) continue
    fingerprint.add(key)
    const value = record[key]
    if (value instanceof Map) fingerprint.addMap(value)
    else fingerprint.add(value)
  }
}
