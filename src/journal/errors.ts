/**
 * Journal errors (docs/spec/journal.md, JNL-008). A journal that cannot be trusted is reported with a
 * stable code and the sequence where the problem was found; the journaled engine refuses to start
 * on any of them. They are thrown, not returned: nothing can proceed on a corrupt journal.
 */

export const JOURNAL_ERROR_CODES = [
  /** A stored row does not have the shape of an entry (wrong type, malformed hash, invalid JSON). */
  'corrupt_entry',
  /** An entry's hash does not match its content: the row was changed after it was written. */
  'entry_hash_mismatch',
  /** An entry's previousHash is not the hash of the entry before it. */
  'hash_chain_broken',
  /** Sequences are not 1, 2, 3, … without gaps. */
  'sequence_gap',
  /** An append names a sequence that is already taken (another writer, or a retry of a committed batch). */
  'sequence_conflict',
  /** An append names an idempotency key that is already in the journal. */
  'duplicate_idempotency_key',
  /** An entry's timestamp is before the previous entry's. */
  'timestamp_before_previous',
  /** The journal was written by a schema version this code does not know. */
  'unknown_schema_version',
  /** The journal has entries but no genesis record (the rule set it started from). */
  'genesis_missing',
  /** The genesis record is corrupt or differs from the one the caller expects. */
  'genesis_mismatch',
  /** A snapshot does not decode, or its hash does not match its content or its entry. */
  'corrupt_snapshot',
  /** Replaying a command gave a different result, events or state hash than the journal recorded. */
  'replay_divergence',
  /** A command stored in the journal does not decode to an engine command. */
  'undecodable_command',
  /** The database option names neither a file path nor a postgres:// URL. */
  'invalid_database_option',
  /** The journaled engine was stopped after a failed append; restart it to recover from the journal. */
  'engine_halted',
] as const

export type JournalErrorCode = (typeof JOURNAL_ERROR_CODES)[number]

/** A journal that cannot be trusted, or cannot be written as asked. */
export class JournalError extends Error {
  override readonly name = 'JournalError'
  readonly code: JournalErrorCode
  /** The entry (or snapshot) sequence the problem was found at, when there is one. */
  readonly sequence: number | null

  constructor(code: JournalErrorCode, message: string, sequence: number | null = null) {
    super(`${code}: ${message}`)
    this.code = code
    this.sequence = sequence
  }
}

/** True when `error` is a `JournalError`, optionally with the given code. */
export function isJournalError(error: unknown, code?: JournalErrorCode): error is JournalError {
  return error instanceof JournalError && (code === undefined || error.code === code)
}
