/**
 * The SQLite journal (docs/spec/journal.md, JNL-005), on better-sqlite3: one file, WAL mode, one
 * transaction per appended batch.
 *
 * Durability: with `synchronous: 'full'` (the default) a commit is on disk when `append` returns,
 * so an acknowledged command survives a power loss. With `'normal'` the WAL is synced only at
 * checkpoints: a commit survives the process being killed but the last commits may be lost if the
 * machine loses power; appends are several times faster.
 *
 * Writer thread (`writerThread: true`, what `lor serve` uses): better-sqlite3 is synchronous, so a
 * commit (an fsync of several milliseconds with `full`) would stop the whole process. With a writer
 * thread, appends and snapshots are committed by a worker thread on its own connection, and the
 * main thread goes on executing commands meanwhile; those become the next batch (group commit).
 * Reads stay on the main thread's connection (WAL readers see every committed batch).
 */
import type { Worker } from 'node:worker_threads'
import { startTypeScriptWorker } from '../runtime/typescript-worker.ts'
import Database from 'better-sqlite3'
import { ZERO_HASH, entryFromRow, type JournalEntry, type JournalHead } from './entry.ts'
import { JournalError, type JournalErrorCode } from './errors.ts'
import type { WriterAnswer, WriterRequest } from './sqlite-writer.ts'
import {
  JOURNAL_SCHEMA_VERSION,
  type JournalGenesis,
  type JournalSnapshot,
  type JournalStore,
} from './store.ts'

/** How hard SQLite syncs a commit (see the module note). */
export type SqliteSynchronous = 'full' | 'normal'

export interface SqliteStoreOptions {
  readonly synchronous?: SqliteSynchronous
  /** Commit appends and snapshots on a worker thread (see the module note; not for `:memory:`). */
  readonly writerThread?: boolean
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS lor_schema_version (version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS lor_journal_genesis (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  genesis_json TEXT NOT NULL,
  genesis_hash TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS lor_journal_entries (
  sequence INTEGER PRIMARY KEY,
  timestamp_ms INTEGER NOT NULL,
  idempotency_key TEXT NOT NULL UNIQUE,
  command_json TEXT NOT NULL,
  result_json TEXT NOT NULL,
  events_json TEXT NOT NULL,
  state_hash TEXT NOT NULL,
  previous_hash TEXT NOT NULL,
  entry_hash TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS lor_journal_snapshots (
  sequence INTEGER PRIMARY KEY,
  snapshot_json TEXT NOT NULL,
  snapshot_hash TEXT NOT NULL,
  state_hash TEXT NOT NULL,
  entry_hash TEXT NOT NULL
);
`

const ENTRY_COLUMNS = `sequence, timestamp_ms AS timestampMs, idempotency_key AS idempotencyKey,
  command_json AS commandJson, result_json AS resultJson, events_json AS eventsJson,
  state_hash AS stateHash, previous_hash AS previousHash, entry_hash AS entryHash`

/** Opens (creating if needed) a SQLite journal at `path` (`:memory:` for a private in-memory one). */
export function openSqliteStore(path: string, options: SqliteStoreOptions = {}): JournalStore {
  const database = new Database(path)
  const synchronous = options.synchronous ?? 'full'
  let store: SqliteStore
  try {
    store = new SqliteStore(database, path, synchronous)
  } catch (error) {
    database.close()
    throw error
  }
  if (options.writerThread !== true || path === ':memory:' || path === '') return store
  return new ThreadedSqliteStore(store, path, synchronous)
}

class SqliteStore implements JournalStore {
  readonly backend = 'sqlite'
  readonly location: string
  private readonly database: Database.Database
  private readonly statements
  private readonly appendTransaction: (entries: readonly JournalEntry[]) => void

  constructor(database: Database.Database, location: string, synchronous: SqliteSynchronous) {
    this.database = database
    this.location = location
    database.pragma('journal_mode = WAL')
    database.pragma(`synchronous = ${synchronous === 'full' ? 'FULL' : 'NORMAL'}`)
    database.pragma('busy_timeout = 5000')
    database.transaction(() => {
      database.exec(SCHEMA)
      const versions = database.prepare('SELECT version FROM lor_schema_version').all() as {
        version: unknown
      }[]
      if (versions.length === 0) {
        database
          .prepare('INSERT INTO lor_schema_version (version) VALUES (?)')
          .run(JOURNAL_SCHEMA_VERSION)
      } else {
        checkSchemaVersions(versions.map((row) => row.version))
      }
    })()
    this.statements = {
      schemaVersion: database.prepare('SELECT version FROM lor_schema_version'),
      readGenesis: database.prepare(
        'SELECT genesis_json AS genesisJson, genesis_hash AS genesisHash FROM lor_journal_genesis WHERE id = 1',
      ),
      writeGenesis: database.prepare(
        'INSERT INTO lor_journal_genesis (id, genesis_json, genesis_hash) VALUES (1, ?, ?)',
      ),
      head: database.prepare(
        `SELECT ${ENTRY_COLUMNS} FROM lor_journal_entries ORDER BY sequence DESC LIMIT 1`,
      ),
      insert: database.prepare(
        `INSERT INTO lor_journal_entries (sequence, timestamp_ms, idempotency_key, command_json, result_json,
          events_json, state_hash, previous_hash, entry_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      // rows as arrays: about twice as fast as objects on long scans (replay)
      readRange: database
        .prepare(
          `SELECT ${ENTRY_COLUMNS} FROM lor_journal_entries WHERE sequence >= ? ORDER BY sequence LIMIT ?`,
        )
        .raw(true),
      readEntry: database.prepare(
        `SELECT ${ENTRY_COLUMNS} FROM lor_journal_entries WHERE sequence = ?`,
      ),
      byKey: database.prepare(
        `SELECT ${ENTRY_COLUMNS} FROM lor_journal_entries WHERE idempotency_key = ?`,
      ),
      writeSnapshot: database.prepare(
        `INSERT OR REPLACE INTO lor_journal_snapshots (sequence, snapshot_json, snapshot_hash, state_hash, entry_hash)
          VALUES (?, ?, ?, ?, ?)`,
      ),
      latestSnapshot: database.prepare(
        `SELECT sequence, snapshot_json AS snapshotJson, snapshot_hash AS snapshotHash, state_hash AS stateHash,
          entry_hash AS entryHash FROM lor_journal_snapshots ORDER BY sequence DESC LIMIT 1`,
      ),
    }
    this.appendTransaction = database.transaction((entries: readonly JournalEntry[]) => {
      this.checkContinues(entries)
      for (const entry of entries) {
        this.statements.insert.run(
          entry.sequence,
          entry.timestampMs,
          entry.idempotencyKey,
          entry.commandJson,
          entry.resultJson,
          entry.eventsJson,
          entry.stateHash,
          entry.previousHash,
          entry.entryHash,
        )
      }
    })
  }

  schemaVersion(): Promise<number> {
    return settle(() =>
      checkSchemaVersions(
        (this.statements.schemaVersion.all() as { version: unknown }[]).map((row) => row.version),
      ),
    )
  }

  readGenesis(): Promise<JournalGenesis | null> {
    return settle(() => this.readGenesisNow())
  }

  writeGenesis(genesis: JournalGenesis): Promise<void> {
    return settle(() => {
      this.database.transaction(() => {
        const stored = this.readGenesisNow()
        if (stored === null)
          this.statements.writeGenesis.run(genesis.genesisJson, genesis.genesisHash)
        else if (stored.genesisHash !== genesis.genesisHash)
          throw new JournalError(
            'genesis_mismatch',
            'the journal already starts from a different genesis',
          )
      })()
    })
  }

  append(entries: readonly JournalEntry[]): Promise<void> {
    return settle(() => {
      if (entries.length === 0) return
      try {
        this.appendTransaction(entries)
      } catch (error) {
        throw translateConstraint(error, entries)
      }
    })
  }

  head(): Promise<JournalHead | null> {
    return settle(() => this.headNow())
  }

  readRange(fromSequence: number, limit: number): Promise<JournalEntry[]> {
    return settle(() =>
      (this.statements.readRange.all(fromSequence, limit) as unknown[][]).map(entryFromColumns),
    )
  }

  readEntry(sequence: number): Promise<JournalEntry | null> {
    return settle(() => {
      const row = this.statements.readEntry.get(sequence) as
        | Parameters<typeof entryFromRow>[0]
        | undefined
      return row === undefined ? null : entryFromRow(row)
    })
  }

  findByIdempotencyKey(idempotencyKey: string): Promise<JournalEntry | null> {
    return settle(() => {
      const row = this.statements.byKey.get(idempotencyKey) as
        | Parameters<typeof entryFromRow>[0]
        | undefined
      return row === undefined ? null : entryFromRow(row)
    })
  }

  writeSnapshot(snapshot: JournalSnapshot): Promise<void> {
    return settle(() => {
      this.statements.writeSnapshot.run(
        snapshot.sequence,
        snapshot.snapshotJson,
        snapshot.snapshotHash,
        snapshot.stateHash,
        snapshot.entryHash,
      )
    })
  }

  latestSnapshot(): Promise<JournalSnapshot | null> {
    return settle(() => {
      const row = this.statements.latestSnapshot.get() as Record<string, unknown> | undefined
      return row === undefined ? null : snapshotFromRow(row)
    })
  }

  close(): Promise<void> {
    if (this.database.open) this.database.close()
    return Promise.resolve()
  }

  private readGenesisNow(): JournalGenesis | null {
    const row = this.statements.readGenesis.get() as
      | { genesisJson: unknown; genesisHash: unknown }
      | undefined
    return row === undefined ? null : genesisFromRow(row)
  }

  private headNow(): JournalHead | null {
    const row = this.statements.head.get() as Parameters<typeof entryFromRow>[0] | undefined
    if (row === undefined) return null
    const entry = entryFromRow(row)
    return {
      sequence: entry.sequence,
      timestampMs: entry.timestampMs,
      entryHash: entry.entryHash,
      stateHash: entry.stateHash,
    }
  }

  private checkContinues(entries: readonly JournalEntry[]): void {
    checkBatchContinues(this.headNow(), this.readGenesisNow(), entries)
  }
}

/** Starts the writer worker (a TypeScript module). */
function startWriter(path: string, synchronous: SqliteSynchronous): Worker {
  return startTypeScriptWorker(new URL('./sqlite-writer.ts', import.meta.url), {
    workerData: { path, synchronous },
  })
}

type WithoutId<T> = T extends unknown ? Omit<T, 'id'> : never

/** A SQLite journal whose writes are committed on a writer thread (see the module note). */
class ThreadedSqliteStore implements JournalStore {
  readonly backend = 'sqlite'
  readonly location: string
  private readonly reader: SqliteStore
  private readonly writer: Worker
  private nextId = 1
  private readonly waiting = new Map<
    number,
    { readonly resolve: () => void; readonly reject: (error: Error) => void }
  >()
  private failure: Error | null = null
  private closed: Promise<void> | null = null

  constructor(reader: SqliteStore, path: string, synchronous: SqliteSynchronous) {
    this.reader = reader
    this.location = reader.location
    this.writer = startWriter(path, synchronous)
    this.writer.on('message', (answer: WriterAnswer) => {
      const waiting = this.waiting.get(answer.id)
      if (waiting === undefined) return
      this.waiting.delete(answer.id)
      if (answer.ok) waiting.resolve()
      else waiting.reject(errorOfAnswer(answer))
    })
    const fail = (error: Error): void => {
      this.failure = error
      for (const waiting of this.waiting.values()) waiting.reject(error)
      this.waiting.clear()
    }
    this.writer.on('error', fail)
    this.writer.on('exit', (code) => {
      if (this.waiting.size > 0 || code !== 0)
        fail(new Error(`the journal's writer thread stopped (exit code ${code})`))
    })
    // the writer thread must not keep the process alive on its own
    this.writer.unref()
  }

  private send(request: WithoutId<WriterRequest>): Promise<void> {
    if (this.failure !== null) return Promise.reject(this.failure)
    if (this.closed !== null && request.op !== 'close')
      return Promise.reject(new Error('the journal is closed'))
    const id = this.nextId
    this.nextId += 1
    return new Promise<void>((resolve, reject) => {
      this.waiting.set(id, { resolve, reject })
      // while a request waits, the thread keeps the process alive (an acknowledgement is due)
      this.writer.ref()
      this.writer.postMessage({ ...request, id })
    }).finally(() => {
      if (this.waiting.size === 0) this.writer.unref()
    })
  }

  schemaVersion(): Promise<number> {
    return this.reader.schemaVersion()
  }

  readGenesis(): Promise<JournalGenesis | null> {
    return this.reader.readGenesis()
  }

  writeGenesis(genesis: JournalGenesis): Promise<void> {
    return this.reader.writeGenesis(genesis)
  }

  append(entries: readonly JournalEntry[]): Promise<void> {
    if (entries.length === 0) return Promise.resolve()
    return this.send({ op: 'append', entries })
  }

  head(): Promise<JournalHead | null> {
    return this.reader.head()
  }

  readRange(fromSequence: number, limit: number): Promise<JournalEntry[]> {
    return this.reader.readRange(fromSequence, limit)
  }

  readEntry(sequence: number): Promise<JournalEntry | null> {
    return this.reader.readEntry(sequence)
  }

  findByIdempotencyKey(idempotencyKey: string): Promise<JournalEntry | null> {
    return this.reader.findByIdempotencyKey(idempotencyKey)
  }

  writeSnapshot(snapshot: JournalSnapshot): Promise<void> {
    return this.send({ op: 'snapshot', snapshot })
  }

  latestSnapshot(): Promise<JournalSnapshot | null> {
    return this.reader.latestSnapshot()
  }

  close(): Promise<void> {
    this.closed ??= (async () => {
      if (this.failure === null) await this.send({ op: 'close' }).catch(() => undefined)
      await this.writer.terminate()
      await this.reader.close()
    })()
    return this.closed
  }
}

function errorOfAnswer(answer: Extract<WriterAnswer, { ok: false }>): Error {
  if (answer.code === null) return new Error(answer.message)
  const prefix = `${answer.code}: `
  return new JournalError(
    answer.code as JournalErrorCode,
    answer.message.startsWith(prefix) ? answer.message.slice(prefix.length) : answer.message,
    answer.sequence,
  )
}

/** An entry from a row read as an array, in ENTRY_COLUMNS order. */
function entryFromColumns(row: readonly unknown[]): JournalEntry {
  const [
    sequence,
    timestampMs,
    idempotencyKey,
    commandJson,
    resultJson,
    eventsJson,
    stateHash,
    previousHash,
    entryHash,
  ] = row
  return entryFromRow({
    sequence,
    timestampMs,
    idempotencyKey,
    commandJson,
    resultJson,
    eventsJson,
    stateHash,
    previousHash,
    entryHash,
  })
}

/** Runs synchronous work and hands its value or its exception over as a promise. */
function settle<T>(work: () => T): Promise<T> {
  try {
    return Promise.resolve(work())
  } catch (error) {
    return Promise.reject(error instanceof Error ? error : new Error(String(error)))
  }
}

/**
 * Checks that a batch continues `head`: consecutive sequences from head + 1 and a linked hash
 * chain (shared by both backends; runs inside the append transaction).
 */
export function checkBatchContinues(
  head: JournalHead | null,
  genesis: JournalGenesis | null,
  entries: readonly JournalEntry[],
): void {
  let sequence = head === null ? 0 : head.sequence
  let previousHash =
    head === null ? (genesis === null ? ZERO_HASH : genesis.genesisHash) : head.entryHash
  const keys = new Set<string>()
  for (const entry of entries) {
    if (entry.sequence !== sequence + 1) {
      throw new JournalError(
        'sequence_conflict',
        `append of entry ${entry.sequence} where entry ${sequence + 1} comes next`,
        entry.sequence,
      )
    }
    if (entry.previousHash !== previousHash) {
      throw new JournalError(
        'hash_chain_broken',
        `entry ${entry.sequence} does not point at the hash of entry ${sequence}`,
        entry.sequence,
      )
    }
    if (keys.has(entry.idempotencyKey)) {
      throw new JournalError(
        'duplicate_idempotency_key',
        `idempotency key ${JSON.stringify(entry.idempotencyKey)} appears twice in one batch`,
        entry.sequence,
      )
    }
    keys.add(entry.idempotencyKey)
    sequence = entry.sequence
    previousHash = entry.entryHash
  }
}

/** The one schema version stored, or `unknown_schema_version` (JNL-009). */
export function checkSchemaVersions(versions: readonly unknown[]): number {
  const [version] = versions
  if (versions.length !== 1 || version !== JOURNAL_SCHEMA_VERSION) {
    throw new JournalError(
      'unknown_schema_version',
      `the journal has schema version ${versions.length === 0 ? 'none' : versions.map(String).join(', ')}; this lor reads version ${JOURNAL_SCHEMA_VERSION}`,
    )
  }
  return version
}

/** Checks a stored genesis row's shape. */
export function genesisFromRow(row: {
  genesisJson: unknown
  genesisHash: unknown
}): JournalGenesis {
  if (typeof row.genesisJson !== 'string' || typeof row.genesisHash !== 'string') {
    throw new JournalError('genesis_mismatch', 'the genesis record is not two texts')
  }
  return { genesisJson: row.genesisJson, genesisHash: row.genesisHash }
}

/** Checks a stored snapshot row's shape (integrity is checked when it is loaded). */
export function snapshotFromRow(row: Record<string, unknown>): JournalSnapshot {
  const sequence = typeof row.sequence === 'string' ? Number(row.sequence) : row.sequence
  const { snapshotJson, snapshotHash, stateHash, entryHash } = row
  if (
    typeof sequence !== 'number' ||
    !Number.isSafeInteger(sequence) ||
    typeof snapshotJson !== 'string' ||
    typeof snapshotHash !== 'string' ||
    typeof stateHash !== 'string' ||
    typeof entryHash !== 'string'
  ) {
    throw new JournalError(
      'corrupt_snapshot',
      'a snapshot row does not have the shape of a snapshot',
    )
  }
  return { sequence, snapshotJson, snapshotHash, stateHash, entryHash }
}

function translateConstraint(error: unknown, entries: readonly JournalEntry[]): unknown {
  if (error instanceof Database.SqliteError) {
    if (error.code === 'SQLITE_CONSTRAINT_PRIMARYKEY') {
      return new JournalError(
        'sequence_conflict',
        'an entry with this sequence is already journaled',
        entries[0]?.sequence ?? null,
      )
    }
    if (error.code === 'SQLITE_CONSTRAINT_UNIQUE') {
      return new JournalError(
        'duplicate_idempotency_key',
        'an idempotency key of the batch is already journaled',
        entries[0]?.sequence ?? null,
      )
    }
  }
  return error
}
