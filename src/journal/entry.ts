/**
 * Journal entries and their hash chain (docs/spec/journal.md, JNL-001..JNL-004).
 *
 * An entry records one command the engine executed: its place (sequence, timestamp), its
 * idempotency key, the command, result and events as canonical JSON texts, the hash of the engine
 * state after it, and the hash of the entry before it. `entryHash` is the SHA-256 of the canonical
 * JSON of every other field, with command, result and events embedded as JSON values; changing any
 * byte of any entry breaks the chain from there on.
 */
import { isSha256Hex, sha256Hex } from './canonical.ts'
import { JournalError } from './errors.ts'

/** The previousHash of entry 1 when no genesis record anchors the chain: 64 zeros. */
export const ZERO_HASH = '0'.repeat(64)

/** One journal entry as stored. JSON fields are canonical JSON texts. */
export interface JournalEntry {
  /** 1, 2, 3, … without gaps. */
  readonly sequence: number
  /** Milliseconds since the Unix epoch (UTC), supplied by the caller; never before the previous entry's. */
  readonly timestampMs: number
  /** Unique in the journal; a retried command with the same key answers the recorded result. */
  readonly idempotencyKey: string
  readonly commandJson: string
  readonly resultJson: string
  readonly eventsJson: string
  /** SHA-256 of the engine's canonical state encoding after this command. */
  readonly stateHash: string
  /** entryHash of the previous entry (the genesis hash for entry 1). */
  readonly previousHash: string
  readonly entryHash: string
}

/** An entry before its hash is computed. */
export type UnhashedEntry = Omit<JournalEntry, 'entryHash'>

/** The last entry's position: where the next append continues the chain. */
export interface JournalHead {
  readonly sequence: number
  readonly timestampMs: number
  readonly entryHash: string
  readonly stateHash: string
}

/**
 * The canonical JSON of an entry without its own hash: keys in code-unit order, JSON texts embedded
 * as they are (they are canonical already). This is the text `entryHash` is the SHA-256 of.
 */
export function canonicalEntryText(entry: UnhashedEntry): string {
  return (
    `{"command":${entry.commandJson},"events":${entry.eventsJson},` +
    `"idempotencyKey":${JSON.stringify(entry.idempotencyKey)},"previousHash":"${entry.previousHash}",` +
    `"result":${entry.resultJson},"sequence":${entry.sequence},"stateHash":"${entry.stateHash}",` +
    `"timestampMs":${entry.timestampMs}}`
  )
}

/** The hash of an entry (JNL-003). */
export function entryHashOf(entry: UnhashedEntry): string {
  return sha256Hex(canonicalEntryText(entry))
}

/** Completes an entry with its hash. */
export function sealEntry(entry: UnhashedEntry): JournalEntry {
  return { ...entry, entryHash: entryHashOf(entry) }
}

/**
 * Checks a stored row's shape and returns it as an entry, or throws `corrupt_entry` naming what is
 * wrong (JNL-008). Adapters call it on every row they read, so a damaged row never reaches replay.
 */
export function entryFromRow(row: {
  readonly sequence: unknown
  readonly timestampMs: unknown
  readonly idempotencyKey: unknown
  readonly commandJson: unknown
  readonly resultJson: unknown
  readonly eventsJson: unknown
  readonly stateHash: unknown
  readonly previousHash: unknown
  readonly entryHash: unknown
}): JournalEntry {
  const sequence = integerOf(row.sequence)
  const at = sequence ?? null
  const fail = (what: string): never => {
    throw new JournalError('corrupt_entry', `entry ${at ?? '?'}: ${what}`, at)
  }
  if (sequence === undefined || sequence < 1) return fail('sequence is not a positive integer')
  const timestampMs = integerOf(row.timestampMs)
  if (timestampMs === undefined || timestampMs < 0)
    return fail('timestampMs is not a non-negative integer')
  if (typeof row.idempotencyKey !== 'string' || row.idempotencyKey.length === 0)
    return fail('idempotencyKey is not a non-empty string')
  for (const field of ['commandJson', 'resultJson', 'eventsJson'] as const) {
    const text = row[field]
    if (typeof text !== 'string' || !isJsonText(text)) return fail(`${field} is not JSON`)
  }
  for (const field of ['stateHash', 'previousHash', 'entryHash'] as const) {
    if (!isSha256Hex(row[field])) return fail(`${field} is not a SHA-256 hex digest`)
  }
  return {
    sequence,
    timestampMs,
    idempotencyKey: row.idempotencyKey,
    commandJson: row.commandJson as string,
    resultJson: row.resultJson as string,
    eventsJson: row.eventsJson as string,
    stateHash: row.stateHash as string,
    previousHash: row.previousHash as string,
    entryHash: row.entryHash as string,
  }
}

/** Number or decimal-integer string (PostgreSQL returns BIGINT as text) to a safe integer. */
function integerOf(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isSafeInteger(value) ? value : undefined
  if (typeof value === 'bigint')
    return value <= BigInt(Number.MAX_SAFE_INTEGER) && value >= 0n ? Number(value) : undefined
  if (typeof value === 'string' && /^-?\d{1,16}$/.test(value)) {
    const parsed = Number(value)
    return Number.isSafeInteger(parsed) ? parsed : undefined
  }
  return undefined
}

/**
 * A cheap shape check for the JSON fields (command and result are objects, events an array): full
 * parsing happens in replay, and any changed byte already fails the entry hash.
 */
function isJsonText(text: string): boolean {
  const first = text.charCodeAt(0)
  const last = text.charCodeAt(text.length - 1)
  return (first === 0x7b && last === 0x7d) || (first === 0x5b && last === 0x5d)
}

/**
 * Verifies a run of entries against the chain (JNL-004): consecutive sequences starting at
 * `previous.sequence + 1`, non-decreasing timestamps, each previousHash equal to the hash before it,
 * and each entryHash equal to the hash of its content. Returns the new head; throws a `JournalError`
 * naming the first entry that fails.
 */
export function verifyChainSegment(
  previous: JournalHead | null,
  entries: readonly JournalEntry[],
  genesisHash: string,
): JournalHead | null {
  let head = previous
  for (const entry of entries) {
    const expectedSequence = head === null ? 1 : head.sequence + 1
    if (entry.sequence !== expectedSequence) {
      throw new JournalError(
        'sequence_gap',
        `expected entry ${expectedSequence}, found ${entry.sequence}`,
        expectedSequence,
      )
    }
    const expectedPrevious = head === null ? genesisHash : head.entryHash
    if (entry.previousHash !== expectedPrevious) {
      throw new JournalError(
        'hash_chain_broken',
        `entry ${entry.sequence} does not point at the hash of entry ${entry.sequence - 1}`,
        entry.sequence,
      )
    }
    if (head !== null && entry.timestampMs < head.timestampMs) {
      throw new JournalError(
        'timestamp_before_previous',
        `entry ${entry.sequence} is timed before entry ${head.sequence}`,
        entry.sequence,
      )
    }
    if (entryHashOf(entry) !== entry.entryHash) {
      throw new JournalError(
        'entry_hash_mismatch',
        `entry ${entry.sequence} does not match its hash`,
        entry.sequence,
      )
    }
    head = headOf(entry)
  }
  return head
}

/** The head an entry makes. */
export function headOf(entry: JournalEntry): JournalHead {
  return {
    sequence: entry.sequence,
    timestampMs: entry.timestampMs,
    entryHash: entry.entryHash,
    stateHash: entry.stateHash,
  }
}
