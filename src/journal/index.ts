/**
 * The event journal (docs/journal.md, docs/spec/journal.md): an append-only, hash-chained record of
 * every command, its result and events, on SQLite or PostgreSQL, and the engine behind it.
 */
export { canonicalJson, type JsonValue, sha256Hex } from './canonical.ts'
export {
  commandToJson,
  decodeCommand,
  decodeCommandText,
  type DecodeCommandResult,
  encodeCommand,
  encodeEngineValue,
  type InputIssue,
  type JournalCommand,
  type JournaledRulesChange,
  WIRE_COMMAND_TYPES,
} from './codec.ts'
export { entryHashOf, type JournalEntry, type JournalHead, sealEntry, ZERO_HASH } from './entry.ts'
export {
  isJournalError,
  JOURNAL_ERROR_CODES,
  JournalError,
  type JournalErrorCode,
} from './errors.ts'
export { genesisOf, ruleSetOfGenesis } from './genesis.ts'
export {
  JournaledEngine,
  type JournaledEngineOptions,
  type ResultJson,
  type SubmitOptions,
  type StreamRefusalCode,
  type SubmitOutcome,
} from './journaled-engine.ts'
export {
  DATABASE_URL_VARIABLE,
  DEFAULT_JOURNAL_PATH,
  type JournalLocation,
  openJournal,
  resolveJournalLocation,
} from './open.ts'
export { openPostgresStore } from './postgres-store.ts'
export {
  readEntries,
  type Recovery,
  type RecoveryOptions,
  recoverState,
  stateHashOf,
} from './replay.ts'
export { openSqliteStore, type SqliteSynchronous } from './sqlite-store.ts'
export {
  JOURNAL_SCHEMA_VERSION,
  type JournalBackend,
  type JournalGenesis,
  type JournalSnapshot,
  type JournalStore,
} from './store.ts'
export { verifyJournal } from './verify.ts'
