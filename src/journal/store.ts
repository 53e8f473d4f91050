/**
 * The journal port (docs/spec/journal.md, JNL-001..JNL-009): what the journaled engine needs from a
 * database. SQLite (`sqlite-store.ts`) and PostgreSQL (`postgres-store.ts`) implement it, and one
 * contract suite (test/journal/contract.ts) runs against both.
 */
import type { JournalEntry, JournalHead } from './entry.ts'

/** The schema version this code writes and reads. */
export const JOURNAL_SCHEMA_VERSION = 1

/**
 * What the chain starts from: a canonical JSON text (the rule set the engine was created with) and
 * its SHA-256, which is entry 1's previousHash.
 */
export interface JournalGenesis {
  readonly genesisJson: string
  readonly genesisHash: string
}

/** A stored engine state, anchored to the entry it follows. */
export interface JournalSnapshot {
  /** The sequence of the last entry the snapshot includes. */
  readonly sequence: number
  /** The engine's snapshot, as canonical JSON. */
  readonly snapshotJson: string
  /** SHA-256 of `snapshotJson`. */
  readonly snapshotHash: string
  /** The stateHash recorded by the entry at `sequence`. */
  readonly stateHash: string
  /** The entryHash of the entry at `sequence`. */
  readonly entryHash: string
}

/** Which database holds a journal. */
export type JournalBackend = 'sqlite' | 'postgres'

/**
 * An append-only, hash-chained journal. Every method is safe to call in any order; `append` is
 * atomic (all of a batch or nothing) and durable when its promise resolves.
 */
export interface JournalStore {
  readonly backend: JournalBackend
  /** Where the journal lives: a file path, or a URL without its password. */
  readonly location: string
  /** The schema version stored in the journal (JNL-009). */
  schemaVersion(): Promise<number>
  readGenesis(): Promise<JournalGenesis | null>
  /** Records the genesis; throws `genesis_mismatch` if a different one is already stored. */
  writeGenesis(genesis: JournalGenesis): Promise<void>
  /**
   * Appends entries atomically. The first must continue the stored head (sequence head + 1,
   * previousHash = head's entryHash, or the genesis hash for entry 1); throws `sequence_conflict`,
   * `hash_chain_broken` or `duplicate_idempotency_key` and writes nothing otherwise.
   */
  append(entries: readonly JournalEntry[]): Promise<void>
  /** The last entry's position, or null for an empty journal. */
  head(): Promise<JournalHead | null>
  /** Up to `limit` entries from `fromSequence` on, in sequence order. */
  readRange(fromSequence: number, limit: number): Promise<JournalEntry[]>
  /** The entry with this sequence, or null. */
  readEntry(sequence: number): Promise<JournalEntry | null>
  /** The entry recorded under an idempotency key, or null. */
  findByIdempotencyKey(idempotencyKey: string): Promise<JournalEntry | null>
  /** Stores a snapshot (replacing one at the same sequence). */
  writeSnapshot(snapshot: JournalSnapshot): Promise<void>
  /** The snapshot with the highest sequence, or null. */
  latestSnapshot(): Promise<JournalSnapshot | null>
  close(): Promise<void>
}
