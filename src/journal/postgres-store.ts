/**
 * The PostgreSQL journal (docs/spec/journal.md, JNL-005), on `postgres` (porsager). Same tables as
 * SQLite, in a schema of the caller's choice (default `public`), JSON kept as text so the bytes
 * that were hashed are the bytes that are stored. A commit is durable under PostgreSQL's default
 * `synchronous_commit = on`; `append` resolves after the commit.
 */
import postgres from 'postgres'
import { entryFromRow, type JournalEntry, type JournalHead } from './entry.ts'
import { JournalError } from './errors.ts'
import {
  checkBatchContinues,
  checkSchemaVersions,
  genesisFromRow,
  snapshotFromRow,
} from './sqlite-store.ts'
import {
  JOURNAL_SCHEMA_VERSION,
  type JournalGenesis,
  type JournalSnapshot,
  type JournalStore,
} from './store.ts'

export interface PostgresStoreOptions {
  /** Schema holding the journal's tables; created if missing. Default `public`. */
  readonly schema?: string
}

/** Rows per INSERT statement (PostgreSQL allows 65,535 parameters; an entry takes 9). */
const INSERT_CHUNK = 5000

type Sql = postgres.Sql

/** Opens (creating tables if needed) a PostgreSQL journal at `url`. */
export async function openPostgresStore(
  url: string,
  options: PostgresStoreOptions = {},
): Promise<JournalStore> {
  const sql = postgres(url, {
    max: 4,
    onnotice: () => undefined,
    idle_timeout: 20,
    connect_timeout: 10,
  })
  const schema = options.schema ?? 'public'
  try {
    await sql.begin(async (transaction) => {
      // one creator at a time: concurrent first opens would race on CREATE TABLE IF NOT EXISTS
      await transaction`SELECT pg_advisory_xact_lock(7301000001)`
      await transaction`CREATE SCHEMA IF NOT EXISTS ${sql(schema)}`
      const tables = tableNames(sql, schema)
      await transaction`CREATE TABLE IF NOT EXISTS ${tables.version} (version INTEGER NOT NULL)`
      await transaction`CREATE TABLE IF NOT EXISTS ${tables.genesis} (
        id INTEGER PRIMARY KEY CHECK (id = 1), genesis_json TEXT NOT NULL, genesis_hash TEXT NOT NULL)`
      await transaction`CREATE TABLE IF NOT EXISTS ${tables.entries} (
        sequence BIGINT PRIMARY KEY, timestamp_ms BIGINT NOT NULL, idempotency_key TEXT NOT NULL UNIQUE,
        command_json TEXT NOT NULL, result_json TEXT NOT NULL, events_json TEXT NOT NULL,
        state_hash TEXT NOT NULL, previous_hash TEXT NOT NULL, entry_hash TEXT NOT NULL)`
      await transaction`CREATE TABLE IF NOT EXISTS ${tables.snapshots} (
        sequence BIGINT PRIMARY KEY, snapshot_json TEXT NOT NULL, snapshot_hash TEXT NOT NULL,
        state_hash TEXT NOT NULL, entry_hash TEXT NOT NULL)`
      const versions = await transaction<
        { version: unknown }[]
      >`SELECT version FROM ${tables.version}`
      if (versions.length === 0)
        await transaction`INSERT INTO ${tables.version} (version) VALUES (${JOURNAL_SCHEMA_VERSION})`
      else checkSchemaVersions(versions.map((row) => row.version))
    })
  } catch (error) {
    await sql.end({ timeout: 1 })
    throw error
  }
  return new PostgresStore(sql, schema, redactPassword(url))
}

function tableNames(sql: Sql, schema: string) {
  return {
    version: sql(`${schema}.lor_schema_version`),
    genesis: sql(`${schema}.lor_journal_genesis`),
    entries: sql(`${schema}.lor_journal_entries`),
    snapshots: sql(`${schema}.lor_journal_snapshots`),
  }
}

/** The URL with its password replaced by `***`, for messages. */
export function redactPassword(url: string): string {
  try {
    const parsed = new URL(url)
    if (parsed.password !== '') parsed.password = '***'
    return parsed.toString()
  } catch {
    return 'postgres://(unparsable url)'
  }
}

class PostgresStore implements JournalStore {
  readonly backend = 'postgres'
  readonly location: string
  private readonly sql: Sql
  private readonly tables: ReturnType<typeof tableNames>

  constructor(sql: Sql, schema: string, location: string) {
    this.sql = sql
    this.location = location
    this.tables = tableNames(sql, schema)
  }

  /** The entry columns under their entry field names (a fresh fragment per query). */
  private get entryColumns() {
    return this.sql`sequence, timestamp_ms AS "timestampMs", idempotency_key AS "idempotencyKey",
      command_json AS "commandJson", result_json AS "resultJson", events_json AS "eventsJson",
      state_hash AS "stateHash", previous_hash AS "previousHash", entry_hash AS "entryHash"`
  }

  async schemaVersion(): Promise<number> {
    const rows = await this.sql<{ version: unknown }[]>`SELECT version FROM ${this.tables.version}`
    return checkSchemaVersions(rows.map((row) => row.version))
  }

  async readGenesis(): Promise<JournalGenesis | null> {
    return this.readGenesisWith(this.sql)
  }

  async writeGenesis(genesis: JournalGenesis): Promise<void> {
    await this.sql.begin(async (transaction) => {
      await transaction`LOCK TABLE ${this.tables.genesis} IN EXCLUSIVE MODE`
      const stored = await this.readGenesisWith(transaction)
      if (stored === null) {
        await transaction`INSERT INTO ${this.tables.genesis} (id, genesis_json, genesis_hash)
          VALUES (1, ${genesis.genesisJson}, ${genesis.genesisHash})`
      } else if (stored.genesisHash !== genesis.genesisHash) {
        throw new JournalError(
          'genesis_mismatch',
          'the journal already starts from a different genesis',
        )
      }
    })
  }

  async append(entries: readonly JournalEntry[]): Promise<void> {
    if (entries.length === 0) return
    try {
      await this.sql.begin(async (transaction) => {
        checkBatchContinues(
          await this.headWith(transaction),
          await this.readGenesisWith(transaction),
          entries,
        )
        for (let start = 0; start < entries.length; start += INSERT_CHUNK) {
          const rows = entries.slice(start, start + INSERT_CHUNK).map((entry) => ({
            sequence: entry.sequence,
            timestamp_ms: entry.timestampMs,
            idempotency_key: entry.idempotencyKey,
            command_json: entry.commandJson,
            result_json: entry.resultJson,
            events_json: entry.eventsJson,
            state_hash: entry.stateHash,
            previous_hash: entry.previousHash,
            entry_hash: entry.entryHash,
          }))
          await transaction`INSERT INTO ${this.tables.entries} ${this.sql(rows)}`
        }
      })
    } catch (error) {
      throw translateConstraint(error, entries)
    }
  }

  async head(): Promise<JournalHead | null> {
    return this.headWith(this.sql)
  }

  async readRange(fromSequence: number, limit: number): Promise<JournalEntry[]> {
    const rows = await this.sql<
      Parameters<typeof entryFromRow>[0][]
    >`SELECT ${this.entryColumns} FROM ${this.tables.entries}
      WHERE sequence >= ${fromSequence} ORDER BY sequence LIMIT ${limit}`
    return rows.map(entryFromRow)
  }

  async readEntry(sequence: number): Promise<JournalEntry | null> {
    const [row] = await this.sql<
      Parameters<typeof entryFromRow>[0][]
    >`SELECT ${this.entryColumns} FROM ${this.tables.entries}
      WHERE sequence = ${sequence}`
    return row === undefined ? null : entryFromRow(row)
  }

  async findByIdempotencyKey(idempotencyKey: string): Promise<JournalEntry | null> {
    const [row] = await this.sql<
      Parameters<typeof entryFromRow>[0][]
    >`SELECT ${this.entryColumns} FROM ${this.tables.entries}
      WHERE idempotency_key = ${idempotencyKey}`
    return row === undefined ? null : entryFromRow(row)
  }

  async writeSnapshot(snapshot: JournalSnapshot): Promise<void> {
    await this
      .sql`INSERT INTO ${this.tables.snapshots} (sequence, snapshot_json, snapshot_hash, state_hash, entry_hash)
      VALUES (${snapshot.sequence}, ${snapshot.snapshotJson}, ${snapshot.snapshotHash}, ${snapshot.stateHash}, ${snapshot.entryHash})
      ON CONFLICT (sequence) DO UPDATE SET snapshot_json = EXCLUDED.snapshot_json, snapshot_hash = EXCLUDED.snapshot_hash,
        state_hash = EXCLUDED.state_hash, entry_hash = EXCLUDED.entry_hash`
  }

  async latestSnapshot(): Promise<JournalSnapshot | null> {
    const [row] = await this.sql<
      Record<string, unknown>[]
    >`SELECT sequence, snapshot_json AS "snapshotJson",
      snapshot_hash AS "snapshotHash", state_hash AS "stateHash", entry_hash AS "entryHash"
      FROM ${this.tables.snapshots} ORDER BY sequence DESC LIMIT 1`
    return row === undefined ? null : snapshotFromRow(row)
  }

  async close(): Promise<void> {
    await this.sql.end({ timeout: 5 })
  }

  private async readGenesisWith(
    sql: postgres.Sql | postgres.TransactionSql,
  ): Promise<JournalGenesis | null> {
    const [row] = await sql<
      { genesisJson: unknown; genesisHash: unknown }[]
    >`SELECT genesis_json AS "genesisJson",
      genesis_hash AS "genesisHash" FROM ${this.tables.genesis} WHERE id = 1`
    return row === undefined ? null : genesisFromRow(row)
  }

  private async headWith(sql: postgres.Sql | postgres.TransactionSql): Promise<JournalHead | null> {
    const [row] = await sql<
      Parameters<typeof entryFromRow>[0][]
    >`SELECT ${this.entryColumns} FROM ${this.tables.entries}
      ORDER BY sequence DESC LIMIT 1`
    if (row === undefined) return null
    const entry = entryFromRow(row)
    return {
      sequence: entry.sequence,
      timestampMs: entry.timestampMs,
      entryHash: entry.entryHash,
      stateHash: entry.stateHash,
    }
  }
}

function translateConstraint(error: unknown, entries: readonly JournalEntry[]): unknown {
  if (error instanceof postgres.PostgresError && error.code === '23505') {
    const sequence = entries[0]?.sequence ?? null
    if ((error.constraint_name ?? '').endsWith('_pkey')) {
      return new JournalError(
        'sequence_conflict',
        'an entry with this sequence is already journaled',
        sequence,
      )
    }
    return new JournalError(
      'duplicate_idempotency_key',
      'an idempotency key of the batch is already journaled',
      sequence,
    )
  }
  return error
}
