/**
 * The state hash, computed incrementally (docs/spec/journal.md, JNL-003, JNL-020, JNL-021).
 *
 * Two definitions exist; a journal's genesis names the one its entries carry (genesis.ts):
 *
 * - version 1: SHA-256 of the engine's canonical state encoding (`encodeStateCanonical`);
 * - version 2 (new journals): SHA-256 of the *digest text*, the same encoding with the accounts
 *   and the rule set each replaced by a digest (as a JSON string). The accounts' digest is a tree
 *   whose shape depends only on which accounts exist: an account's leaf is SHA-256 of its
 *   `"id":{...}` text; it falls in one of 256 buckets by the first byte of SHA-256 of its id; a
 *   bucket's digest is SHA-256 of its leaves (ids in code-unit order), a group's of its 16 buckets,
 *   and the root of the 16 groups. The rule set's digest is SHA-256 of its canonical text.
 *
 * Encoding the whole state after every journal entry costs time in proportion to the state, while a
 * command changes a few accounts. `StateHasher` keeps the encoded text (version 1) or leaf digest
 * (version 2) of each account and re-encodes only the accounts the engine touched since the last
 * call: it reads a change log that `applyPlan` fills (`startChangeLog`, ENG-013's touched accounts).
 * A state it has not seen before is encoded whole; accounts added or removed outside the engine are
 * noticed by their count. The other maps of the state (prices, funds, pools, the liquidation
 * state's maps) are kept with a fingerprint, walked leaf by leaf (nested maps included, other
 * values by identity); the rule set's text and digest are kept per rule-set object (rule sets are
 * immutable values).
 *
 * Version 1 still feeds SHA-256 the whole text (O(state bytes) per call); version 2 hashes
 * O(changed accounts) leaves, their buckets and groups, and a digest text without the accounts.
 * The `fullCheckEvery` option recomputes the hash from scratch every N calls (`stateHashOf`, its
 * own code path) and throws an `InvariantError` if the two differ (a part changed in place
 * without the engine, where the engine promises a new value or a logged change).
 */
import { createHash, type Hash, hash as oneShotHash } from 'node:crypto'
import { InvariantError } from '../core/assert.ts'
import { encodeCanonical, encodeStateCanonical } from '../core/engine/canonical.ts'
import { startChangeLog, stopChangeLog } from '../core/engine/state-index.ts'
import type { AccountState, EngineState } from '../core/engine/state.ts'
import type { RuleSet } from '../core/rules/rule-set.ts'
import { compareCodeUnits, type PlainDataStyle, plainDataText, sha256Hex } from './canonical.ts'

/** Which definition of the state hash (see the module note). */
export type StateHashVersion = 1 | 2

/** The definition new journals use. */
export const CURRENT_STATE_HASH_VERSION: StateHashVersion = 2

/** The state hash of `state`, computed from scratch (JNL-003; version 2: JNL-021). */
export function stateHashOf(
  state: EngineState,
  version: StateHashVersion = CURRENT_STATE_HASH_VERSION,
): string {
  if (version === 1) return sha256Hex(encodeStateCanonical(state))
  const buckets: { id: string; leaf: Buffer }[][] = Array.from({ length: BUCKETS }, () => [])
  // the core's encoder, not the hasher's own (`stateText`): the full check compares the two
  for (const [id, account] of state.accounts)
    buckets[bucketOf(id)]?.push({
      id,
      leaf: sha256(`${JSON.stringify(id)}:${encodeCanonical(account)}`),
    })
  const bucketDigests = buckets.map((leaves) =>
    sha256(
      Buffer.concat(leaves.sort((a, b) => compareCodeUnits(a.id, b.id)).map((leaf) => leaf.leaf)),
    ),
  )
  const groupDigests = Array.from({ length: GROUPS }, (_, group) =>
    sha256(Buffer.concat(bucketDigests.slice(group * GROUP_SIZE, (group + 1) * GROUP_SIZE))),
  )
  const accountsDigest = sha256(Buffer.concat(groupDigests)).toString('hex')
  const parts: string[] = []
  for (const [key, item] of Object.entries(state).sort(([a], [b]) => compareCodeUnits(a, b))) {
    if (item === undefined) continue
    const encoded =
      key === 'accounts'
        ? JSON.stringify(accountsDigest)
        : key === 'rules'
          ? JSON.stringify(sha256Hex(encodeCanonical(item)))
          : encodeCanonical(item)
    parts.push(`${JSON.stringify(key)}:${encoded}`)
  }
  return sha256Hex(`{${parts.join(',')}}`)
}

export interface StateHasherOptions {
  /**
   * Compare with the hash from scratch (`stateHashOf`) on the first call and every this many calls
   * after it, throwing an `InvariantError` on a difference; 0 (the default) never compares.
   */
  readonly fullCheckEvery?: number
  /** The definition to compute (default `CURRENT_STATE_HASH_VERSION`). */
  readonly version?: StateHashVersion
}

/** Buckets of the version-2 account tree, and how many buckets a group holds. */
const BUCKETS = 256
const GROUP_SIZE = 16
const GROUPS = BUCKETS / GROUP_SIZE

/** Accounts per block of joined account texts (version 1). */
const BLOCK_SIZE = 32

/** SHA-256 of a text (UTF-8) or bytes, as 32 bytes. */
function sha256(data: string | Buffer): Buffer {
  return oneShotHash('sha256', data, 'buffer')
}

/** The bucket of an account id in the version-2 tree: the first byte of SHA-256 of the id. */
function bucketOf(id: string): number {
  return sha256(id)[0] ?? 0
}

/** An account's part of the canonical state text: `"id":{...}`. */
function accountText(id: string, account: AccountState): string {
  return `${JSON.stringify(id)}:${stateText(account)}`
}

/**
 * `encodeCanonical(value)` in one pass (no intermediate values): the same text, object and Map keys
 * in the order `JSON.stringify` writes the canonical encoder's objects (array-index keys first, in
 * numeric order, then code-unit order). `stateHashOf` uses `encodeCanonical`, so the full check
 * compares two encoders.
 */
function stateText(value: unknown): string {
  return plainDataText(value, STATE_TEXT)
}

const STATE_TEXT: PlainDataStyle = {
  numberText: (value) => JSON.stringify(value),
  keyOrder: (keys) => jsonOrder(keys),
}

/** Positions of `keys` in `compareJsonKeys` order (keys already in that order: no sort). */
function jsonOrder(keys: readonly string[]): number[] {
  const order = keys.map((_, index) => index)
  for (let index = 0; index < keys.length; index += 1) {
    const key = keys[index] as string
    const code = key.charCodeAt(0)
    // a key that may be an array index, or one out of order: sort them all
    if ((code >= 48 && code <= 57) || (index > 0 && (keys[index - 1] as string) > key))
      return order.sort((a, b) => compareJsonKeys(keys[a] as string, keys[b] as string))
  }
  return order
}

/** The digest of an empty bucket. */
const EMPTY_DIGEST = sha256(Buffer.alloc(0))

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

/** What is kept of one account: its text (version 1) or leaf digest (version 2), and its place. */
interface KeptAccount {
  /** Version 1: the `"id":{...}` text and the block it is written in. */
  text: string
  block: AccountBlock | null
  /** Version 2: the leaf digest and the bucket (index into the buckets). */
  leaf: Buffer
  bucket: number
}

/** A bucket of the version-2 tree: its ids in code-unit order and its digest (null: recompute). */
interface Bucket {
  readonly ids: string[]
  digest: Buffer | null
}

/** Keeps the encoded parts of one engine state's hash; see the module note. */
export class StateHasher {
  readonly version: StateHashVersion
  private readonly fullCheckEvery: number
  private calls = 0
  /** The state whose accounts are kept, and the change log its engine fills. */
  private tracked: { readonly state: EngineState; readonly log: Set<string> } | null = null
  /** Per account id: text or leaf digest, and its block or bucket. */
  private readonly accounts = new Map<string, KeptAccount>()
  /** Version 1: the accounts in encoding order, in blocks of about BLOCK_SIZE. */
  private blocks: AccountBlock[] = []
  /** Version 2: the buckets, the group digests (null: recompute) and the root as hex. */
  private buckets: Bucket[] = []
  private groups: (Buffer | null)[] = []
  private accountsDigest: string | null = null
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
    const version = options.version ?? CURRENT_STATE_HASH_VERSION
    if (version !== 1 && version !== 2)
      throw new RangeError(`Condition failed: version is 1 or 2, got ${String(version)}`)
    this.fullCheckEvery = every
    this.version = version
  }

  /** The state hash of `state`: equal to `stateHashOf(state, version)`. */
  hash(state: EngineState): string {
    this.syncAccounts(state)
    const digest = this.version === 1 ? this.hashVersion1(state) : this.hashVersion2(state)
    if (this.fullCheckEvery > 0 && this.calls % this.fullCheckEvery === 0) {
      const full = stateHashOf(state, this.version)
      if (full !== digest)
        throw new InvariantError(
          `Invariant: the incremental state hash equals the full one (JNL-020, version=${this.version}, call=${this.calls + 1}, incremental=${digest}, full=${full})`,
        )
    }
    this.calls += 1
    return digest
  }

  /** Stops reading the state's change log (the hasher may still be used; it starts over). */
  release(): void {
    if (this.tracked !== null) stopChangeLog(this.tracked.state, this.tracked.log)
    this.tracked = null
  }

  private hashVersion1(state: EngineState): string {
    const sha = createHash('sha256')
    // text is gathered and fed in as few pieces as possible: each update has a fixed cost
    let text = '{'
    for (const { head, key, value } of this.stateFields(state)) {
      text += head
      if (key === 'accounts') {
        sha.update(`${text}{`)
        this.feedAccountBlocks(sha)
        text = '}'
      } else {
        text += this.textOf(key, value)
      }
    }
    sha.update(`${text}}`)
    return sha.digest('hex')
  }

  private hashVersion2(state: EngineState): string {
    let text = '{'
    for (const { head, key, value } of this.stateFields(state)) {
      text += head
      if (key === 'accounts') text += JSON.stringify(this.rootDigest())
      else if (key === 'rules') text += JSON.stringify(this.rulesDigest(value as RuleSet))
      else text += this.textOf(key, value)
    }
    return sha256Hex(`${text}}`)
  }

  /**
   * The state's defined fields in key order, each with the text that opens it in the canonical
   * object (`"key":`, after a comma from the second on): what both hash versions walk.
   */
  private *stateFields(
    state: EngineState,
  ): Generator<{ head: string; key: string; value: unknown }> {
    const record = state as unknown as Record<string, unknown>
    let first = true
    for (const key of this.sortedStateKeys(state)) {
      const value = record[key]
      if (value === undefined) continue
      yield { head: `${first ? '' : ','}${JSON.stringify(key)}:`, key, value }
      first = false
    }
  }

  /**
   * Brings the kept accounts up to date: everything for a state not seen before, else the accounts
   * in the change log (and, when the count differs, those added or removed outside the engine).
   */
  private syncAccounts(state: EngineState): void {
    const accounts = state.accounts
    if (this.tracked?.state !== state) {
      this.release()
      this.tracked = { state, log: startChangeLog(state) }
      this.accounts.clear()
      this.blocks = []
      this.buckets = Array.from({ length: BUCKETS }, () => ({ ids: [], digest: null }))
      this.groups = Array.from({ length: GROUPS }, () => null)
      this.accountsDigest = null
      for (const [id, account] of accounts) this.encodeAccount(id, account)
      return
    }
    const log = this.tracked.log
    for (const id of log) {
      const account = accounts.get(id)
      if (account !== undefined) this.encodeAccount(id, account)
      else this.removeAccount(id)
    }
    log.clear()
    if (accounts.size !== this.accounts.size) {
      for (const id of [...this.accounts.keys()]) if (!accounts.has(id)) this.removeAccount(id)
      for (const [id, account] of accounts)
        if (!this.accounts.has(id)) this.encodeAccount(id, account)
    }
  }

  /** (Re-)encodes one account and marks its block or bucket for rebuilding. */
  private encodeAccount(id: string, account: AccountState): void {
    const text = accountText(id, account)
    let kept = this.accounts.get(id)
    if (kept === undefined) {
      kept = { text: '', block: null, leaf: EMPTY_DIGEST, bucket: 0 }
      this.accounts.set(id, kept)
      if (this.version === 1) this.insertInBlock(id, kept)
      else this.insertInBucket(id, kept)
    }
    if (this.version === 1) {
      kept.text = text
      if (kept.block !== null) kept.block.bytes = null
    } else {
      kept.leaf = sha256(text)
      this.invalidateBucket(kept.bucket)
    }
  }

  private removeAccount(id: string): void {
    const kept = this.accounts.get(id)
    if (kept === undefined) return
    this.accounts.delete(id)
    if (this.version === 1) {
      const block = kept.block
      if (block === null) return
      block.ids.splice(block.ids.indexOf(id), 1)
      block.bytes = null
      if (block.ids.length === 0) this.blocks.splice(this.blocks.indexOf(block), 1)
      return
    }
    const bucket = this.buckets[kept.bucket]
    if (bucket === undefined) return
    bucket.ids.splice(bucket.ids.indexOf(id), 1)
    this.invalidateBucket(kept.bucket)
  }

  private invalidateBucket(index: number): void {
    const bucket = this.buckets[index]
    if (bucket !== undefined) bucket.digest = null
    this.groups[Math.floor(index / GROUP_SIZE)] = null
    this.accountsDigest = null
  }

  private insertInBucket(id: string, kept: KeptAccount): void {
    kept.bucket = bucketOf(id)
    const bucket = this.buckets[kept.bucket]
    if (bucket === undefined) return
    let at = 0
    let end = bucket.ids.length
    while (at < end) {
      const middle = (at + end) >> 1
      if (compareCodeUnits(bucket.ids[middle] ?? '', id) < 0) at = middle + 1
      else end = middle
    }
    bucket.ids.splice(at, 0, id)
  }

  /** The version-2 accounts digest, recomputing the buckets and groups that changed. */
  private rootDigest(): string {
    if (this.accountsDigest !== null) return this.accountsDigest
    for (let group = 0; group < GROUPS; group += 1) {
      if (this.groups[group] !== null) continue
      const digests: Buffer[] = []
      for (let index = group * GROUP_SIZE; index < (group + 1) * GROUP_SIZE; index += 1) {
        const bucket = this.buckets[index]
        if (bucket === undefined) continue
        if (bucket.digest === null) {
          const leaves: Buffer[] = []
          for (const id of bucket.ids) leaves.push(this.accounts.get(id)?.leaf ?? EMPTY_DIGEST)
          bucket.digest = sha256(Buffer.concat(leaves))
        }
        digests.push(bucket.digest)
      }
      this.groups[group] = sha256(Buffer.concat(digests))
    }
    this.accountsDigest = sha256(Buffer.concat(this.groups as Buffer[])).toString('hex')
    return this.accountsDigest
  }

  /** The version-1 account texts, `"id":{...},...` in encoding order, block by block. */
  private feedAccountBlocks(sha: Hash): void {
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
    return stateText(value)
  }

  private rulesText(rules: RuleSet): string {
    let text = this.rulesTexts.get(rules)
    if (text === undefined) {
      text = encodeCanonical(rules)
      this.rulesTexts.set(rules, text)
    }
    return text
  }

  /** Version 2: SHA-256 of the rule set's canonical text, kept per rule-set object. */
  private rulesDigest(rules: RuleSet): string {
    let digest = this.rulesDigests.get(rules)
    if (digest === undefined) {
      digest = sha256Hex(encodeCanonical(rules))
      this.rulesDigests.set(rules, digest)
    }
    return digest
  }

  private readonly rulesDigests = new WeakMap<RuleSet, string>()

  /** A map's text, re-encoded only when a key or value changed. */
  private mapText(path: string, map: ReadonlyMap<unknown, unknown>): string {
    let kept = this.kept.get(path)
    if (kept === undefined) {
      kept = { parts: [], text: '' }
      this.kept.set(path, kept)
    }
    const fingerprint = this.fingerprint.reset(kept.parts)
    fingerprint.addMap(map)
    if (!fingerprint.finish()) kept.text = stateText(map)
    return kept.text
  }

  /** A plain object whose fields are maps or values (the liquidation state): field by field. */
  private containerText(path: string, container: Record<string, unknown>): string {
    const texts: string[] = []
    for (const key of this.keyOrder(path, Object.keys(container))) {
      const value = container[key]
      if (value === undefined) continue
      const text = value instanceof Map ? this.mapText(`${path}.${key}`, value) : stateText(value)
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

  /** Version 1: puts a new account in its block, splitting a block that grew to twice the usual size. */
  private insertInBlock(id: string, kept: KeptAccount): void {
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
}
