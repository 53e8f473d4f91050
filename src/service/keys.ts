/**
 * API keys and roles (docs/spec/service.md, SVC-020..SVC-026). A key reads `lor_<id>_<secret>`; the
 * service stores its id, name, role, account (traders), a random per-key salt and SHA-256(salt ‖
 * secret), never the secret, in the table `lor_service_keys` of the journal's database, and checks a
 * presented secret with a constant-time comparison. The same database holds `lor_service_state`,
 * small named values of the service (the NATS publishing cursor), and `lor_service_simulations`,
 * the simulations started from the service with their status and report (SVC-051).
 *
 * Verified keys are cached in memory (SVC-027): SHA-256 of the presented text → its record, so a
 * request with a known key costs one hash and no database read. A revoke or create through this
 * process drops the key's cache entries at once; a key revoked by another process that shares the
 * database stops working here within the cache's time to live (default 5 s). Failed verifications
 * are never cached, so a key created elsewhere works at once.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'
import Database from 'better-sqlite3'
import postgres from 'postgres'
import type { JournalLocation } from '../journal/open.ts'

/** What a key may do (SVC-020). */
export const ROLES = ['viewer', 'trader', 'operator', 'admin'] as const

/** A key's role. */
export type Role = (typeof ROLES)[number]

/** A stored key, without its secret. */
export interface ApiKeyRecord {
  readonly id: string
  readonly name: string
  readonly role: Role
  /** The one account a trader key may see and act on; null for other roles. */
  readonly account: string | null
  readonly createdMs: number
  readonly revokedMs: number | null
}

/** A key as stored: the record plus its salt and hash. */
interface StoredKey extends ApiKeyRecord {
  readonly salt: string
  readonly hash: string
}

/** A simulation as stored: its status (JSON of `SimulationStatus`) and, once finished, its report. */
export interface StoredSimulation {
  readonly id: string
  readonly startedMs: number
  readonly statusJson: string
  readonly reportHtml: string | null
}

/** Where keys (and the service's other tables) live: SQLite or PostgreSQL, next to the journal. */
export interface KeyStore {
  insert(key: StoredKey): Promise<void>
  byId(id: string): Promise<StoredKey | null>
  list(): Promise<StoredKey[]>
  revoke(id: string, revokedMs: number): Promise<boolean>
  count(): Promise<number>
  readState(name: string): Promise<string | null>
  writeState(name: string, value: string): Promise<void>
  /** Inserts or replaces a simulation (the report is kept when `reportHtml` is null). */
  saveSimulation(simulation: StoredSimulation): Promise<void>
  /** Every stored simulation without its report, oldest first. */
  listSimulations(): Promise<Omit<StoredSimulation, 'reportHtml'>[]>
  simulationReport(id: string): Promise<string | null>
  deleteSimulation(id: string): Promise<void>
  close(): Promise<void>
}

const SIMULATIONS_TABLE_COLUMNS = `id TEXT PRIMARY KEY, started_ms BIGINT NOT NULL,
  status_json TEXT NOT NULL, report_html TEXT`

function simulationFromRow(row: Record<string, unknown>): Omit<StoredSimulation, 'reportHtml'> {
  return {
    id: String(row.id),
    startedMs: Number(row.started_ms),
    statusJson: String(row.status_json),
  }
}

const KEY_PATTERN = /^lor_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/

/** A key's id and secret: from the `lor_<id>_<secret>` shape, or (a key given by the operator in another shape) id = first 16 hex of SHA-256(key), secret = the whole text. */
function splitKey(text: string): { readonly id: string; readonly secret: string } {
  const parsed = KEY_PATTERN.exec(text)
  if (parsed !== null) return { id: parsed[1] ?? '', secret: parsed[2] ?? '' }
  return { id: createHash('sha256').update(text, 'utf8').digest('hex').slice(0, 16), secret: text }
}

/** Shortest key the operator may choose (LOR_ADMIN_KEY). */
export const MINIMUM_CHOSEN_KEY_LENGTH = 24

function hashSecret(salt: string, secret: string): string {
  return createHash('sha256').update(salt, 'hex').update(secret, 'utf8').digest('hex')
}

function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value)
}

function keyFromRow(row: Record<string, unknown>): StoredKey {
  const role = row.role
  if (!isRole(role))
    throw new Error(`Invariant: a stored key has a known role (SVC-020, id=${String(row.id)})`)
  const revoked = row.revoked_ms
  return {
    id: String(row.id),
    name: String(row.name),
    role,
    account: typeof row.account === 'string' ? row.account : null,
    createdMs: Number(row.created_ms),
    revokedMs: revoked === null || revoked === undefined ? null : Number(revoked),
    salt: String(row.salt),
    hash: String(row.hash),
  }
}

/** The record of a stored key, without salt and hash. */
function publicRecord(key: StoredKey): ApiKeyRecord {
  return {
    id: key.id,
    name: key.name,
    role: key.role,
    account: key.account,
    createdMs: key.createdMs,
    revokedMs: key.revokedMs,
  }
}

class SqliteKeyStore implements KeyStore {
  private readonly database: Database.Database
  private readonly statements

  constructor(path: string) {
    this.database = new Database(path)
    this.database.pragma('journal_mode = WAL')
    this.database.pragma('busy_timeout = 5000')
    this.database.exec(`
      CREATE TABLE IF NOT EXISTS lor_service_keys (
        id TEXT PRIMARY KEY, name TEXT NOT NULL, role TEXT NOT NULL, account TEXT,
        salt TEXT NOT NULL, hash TEXT NOT NULL, created_ms INTEGER NOT NULL, revoked_ms INTEGER);
      CREATE TABLE IF NOT EXISTS lor_service_state (name TEXT PRIMARY KEY, value TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS lor_service_simulations (${SIMULATIONS_TABLE_COLUMNS});`)
    this.statements = {
      insert: this.database.prepare(
        'INSERT INTO lor_service_keys (id, name, role, account, salt, hash, created_ms, revoked_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
      ),
      byId: this.database.prepare('SELECT * FROM lor_service_keys WHERE id = ?'),
      list: this.database.prepare('SELECT * FROM lor_service_keys ORDER BY created_ms, id'),
      revoke: this.database.prepare(
        'UPDATE lor_service_keys SET revoked_ms = ? WHERE id = ? AND revoked_ms IS NULL',
      ),
      count: this.database.prepare('SELECT COUNT(*) AS n FROM lor_service_keys'),
      readState: this.database.prepare('SELECT value FROM lor_service_state WHERE name = ?'),
      writeState: this.database.prepare(
        'INSERT INTO lor_service_state (name, value) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = excluded.value',
      ),
      saveSimulation: this.database.prepare(
        `INSERT INTO lor_service_simulations (id, started_ms, status_json, report_html) VALUES (?, ?, ?, ?)
          ON CONFLICT(id) DO UPDATE SET started_ms = excluded.started_ms, status_json = excluded.status_json,
          report_html = COALESCE(excluded.report_html, lor_service_simulations.report_html)`,
      ),
      listSimulations: this.database.prepare(
        'SELECT id, started_ms, status_json FROM lor_service_simulations ORDER BY started_ms, id',
      ),
      simulationReport: this.database.prepare(
        'SELECT report_html FROM lor_service_simulations WHERE id = ?',
      ),
      deleteSimulation: this.database.prepare('DELETE FROM lor_service_simulations WHERE id = ?'),
    }
  }

  saveSimulation(simulation: StoredSimulation): Promise<void> {
    return settle(() => {
      this.statements.saveSimulation.run(
        simulation.id,
        simulation.startedMs,
        simulation.statusJson,
        simulation.reportHtml,
      )
    })
  }

  listSimulations(): Promise<Omit<StoredSimulation, 'reportHtml'>[]> {
    return settle(() =>
      (this.statements.listSimulations.all() as Record<string, unknown>[]).map(simulationFromRow),
    )
  }

  simulationReport(id: string): Promise<string | null> {
    return settle(() => {
      const row = this.statements.simulationReport.get(id) as
        | { report_html: string | null }
        | undefined
      return row?.report_html ?? null
    })
  }

  deleteSimulation(id: string): Promise<void> {
    return settle(() => {
      this.statements.deleteSimulation.run(id)
    })
  }

  insert(key: StoredKey): Promise<void> {
    return settle(() => {
      this.statements.insert.run(
        key.id,
        key.name,
        key.role,
        key.account,
        key.salt,
        key.hash,
        key.createdMs,
        key.revokedMs,
      )
    })
  }

  byId(id: string): Promise<StoredKey | null> {
    return settle(() => {
      const row = this.statements.byId.get(id) as Record<string, unknown> | undefined
      return row === undefined ? null : keyFromRow(row)
    })
  }

  list(): Promise<StoredKey[]> {
    return settle(() => (this.statements.list.all() as Record<string, unknown>[]).map(keyFromRow))
  }

  revoke(id: string, revokedMs: number): Promise<boolean> {
    return settle(() => this.statements.revoke.run(revokedMs, id).changes > 0)
  }

  count(): Promise<number> {
    return settle(() => (this.statements.count.get() as { n: number }).n)
  }

  readState(name: string): Promise<string | null> {
    return settle(() => {
      const row = this.statements.readState.get(name) as { value: string } | undefined
      return row === undefined ? null : row.value
    })
  }

  writeState(name: string, value: string): Promise<void> {
    return settle(() => {
      this.statements.writeState.run(name, value)
    })
  }

  close(): Promise<void> {
    if (this.database.open) this.database.close()
    return Promise.resolve()
  }
}

/** Runs synchronous work and hands its value or its exception over as a promise. */
function settle<T>(work: () => T): Promise<T> {
  try {
    return Promise.resolve(work())
  } catch (error) {
    return Promise.reject(error instanceof Error ? error : new Error(String(error)))
  }
}

class PostgresKeyStore implements KeyStore {
  private readonly sql: postgres.Sql
  private readonly keys: postgres.Helper<string>
  private readonly state: postgres.Helper<string>
  private readonly simulations: postgres.Helper<string>

  private constructor(sql: postgres.Sql, schema: string) {
    this.sql = sql
    this.keys = sql(`${schema}.lor_service_keys`)
    this.state = sql(`${schema}.lor_service_state`)
    this.simulations = sql(`${schema}.lor_service_simulations`)
  }

  static async open(url: string, schema: string): Promise<PostgresKeyStore> {
    const sql = postgres(url, { max: 2, onnotice: () => undefined, connect_timeout: 10 })
    const store = new PostgresKeyStore(sql, schema)
    await sql.begin(async (transaction) => {
      await transaction`SELECT pg_advisory_xact_lock(7301000002)`
      await transaction`CREATE SCHEMA IF NOT EXISTS ${sql(schema)}`
      await transaction`CREATE TABLE IF NOT EXISTS ${store.keys} (
        id TEXT PRIMARY KEY, name TEXT NOT NULL, role TEXT NOT NULL, account TEXT,
        salt TEXT NOT NULL, hash TEXT NOT NULL, created_ms BIGINT NOT NULL, revoked_ms BIGINT)`
      await transaction`CREATE TABLE IF NOT EXISTS ${store.state} (name TEXT PRIMARY KEY, value TEXT NOT NULL)`
      await transaction`CREATE TABLE IF NOT EXISTS ${store.simulations} (${transaction.unsafe(SIMULATIONS_TABLE_COLUMNS)})`
    })
    return store
  }

  async saveSimulation(simulation: StoredSimulation): Promise<void> {
    await this.sql`INSERT INTO ${this.simulations} (id, started_ms, status_json, report_html)
      VALUES (${simulation.id}, ${simulation.startedMs}, ${simulation.statusJson}, ${simulation.reportHtml})
      ON CONFLICT (id) DO UPDATE SET started_ms = EXCLUDED.started_ms, status_json = EXCLUDED.status_json,
      report_html = COALESCE(EXCLUDED.report_html, ${this.simulations}.report_html)`
  }

  async listSimulations(): Promise<Omit<StoredSimulation, 'reportHtml'>[]> {
    const rows = await this.sql<
      Record<string, unknown>[]
    >`SELECT id, started_ms, status_json FROM ${this.simulations} ORDER BY started_ms, id`
    return rows.map(simulationFromRow)
  }

  async simulationReport(id: string): Promise<string | null> {
    const rows = await this.sql<
      { report_html: string | null }[]
    >`SELECT report_html FROM ${this.simulations} WHERE id = ${id}`
    return rows[0]?.report_html ?? null
  }

  async deleteSimulation(id: string): Promise<void> {
    await this.sql`DELETE FROM ${this.simulations} WHERE id = ${id}`
  }

  async insert(key: StoredKey): Promise<void> {
    await this
      .sql`INSERT INTO ${this.keys} (id, name, role, account, salt, hash, created_ms, revoked_ms)
      VALUES (${key.id}, ${key.name}, ${key.role}, ${key.account}, ${key.salt}, ${key.hash}, ${key.createdMs}, ${key.revokedMs})`
  }

  async byId(id: string): Promise<StoredKey | null> {
    const rows = await this.sql<
      Record<string, unknown>[]
    >`SELECT * FROM ${this.keys} WHERE id = ${id}`
    const row = rows[0]
    return row === undefined ? null : keyFromRow(row)
  }

  async list(): Promise<StoredKey[]> {
    const rows = await this.sql<
      Record<string, unknown>[]
    >`SELECT * FROM ${this.keys} ORDER BY created_ms, id`
    return rows.map(keyFromRow)
  }

  async revoke(id: string, revokedMs: number): Promise<boolean> {
    const result = await this
      .sql`UPDATE ${this.keys} SET revoked_ms = ${revokedMs} WHERE id = ${id} AND revoked_ms IS NULL`
    return result.count > 0
  }

  async count(): Promise<number> {
    const rows = await this.sql<{ n: string }[]>`SELECT COUNT(*) AS n FROM ${this.keys}`
    return Number(rows[0]?.n ?? 0)
  }

  async readState(name: string): Promise<string | null> {
    const rows = await this.sql<
      { value: string }[]
    >`SELECT value FROM ${this.state} WHERE name = ${name}`
    return rows[0]?.value ?? null
  }

  async writeState(name: string, value: string): Promise<void> {
    await this.sql`INSERT INTO ${this.state} (name, value) VALUES (${name}, ${value})
      ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value`
  }

  async close(): Promise<void> {
    await this.sql.end({ timeout: 1 })
  }
}

/** Opens the key table in the journal's database (SQLite file or PostgreSQL schema). */
export async function openKeyStore(location: JournalLocation): Promise<KeyStore> {
  if (location.backend === 'postgres')
    return PostgresKeyStore.open(location.target, location.schema ?? 'public')
  return new SqliteKeyStore(location.target)
}

/** A key just created: the full key text is shown once and never stored. */
export interface CreatedKey {
  readonly key: string
  readonly record: ApiKeyRecord
}

/** Options of the verified-key cache. */
export interface KeyCacheOptions {
  /** How long a verified key is trusted without reading the store (default 5,000 ms; 0: no cache). */
  readonly ttlMs?: number
  /** Most keys kept (default 10,000); the cache is emptied when it is full. */
  readonly maximumEntries?: number
  /** The clock (default `performance.now`-like monotonic milliseconds). */
  readonly now?: () => number
}

interface CachedKey {
  readonly record: ApiKeyRecord
  readonly verifiedAt: number
}

/** Issues, checks and revokes keys (SVC-021..SVC-023, SVC-027). */
export class KeyRing {
  private readonly cache = new Map<string, CachedKey>()
  private readonly ttlMs: number
  private readonly maximumEntries: number
  private readonly now: () => number
  /** Counts revokes and creates, so a verification that raced one is not cached. */
  private generation = 0

  constructor(
    private readonly store: KeyStore,
    cache: KeyCacheOptions = {},
  ) {
    this.ttlMs = cache.ttlMs ?? 5_000
    this.maximumEntries = cache.maximumEntries ?? 10_000
    this.now = cache.now ?? (() => performance.now())
  }

  /** Creates a key; `account` is required for traders and refused for the other roles. */
  async create(input: {
    readonly name: string
    readonly role: Role
    readonly account?: string | null
    readonly nowMs: number
    /** A given key text (the admin bootstrap key from LOR_ADMIN_KEY); otherwise random. */
    readonly key?: string
  }): Promise<CreatedKey> {
    const key =
      input.key ?? `lor_${randomBytes(8).toString('hex')}_${randomBytes(32).toString('base64url')}`
    const { id: keyId, secret: keySecret } = splitKey(key)
    const salt = randomBytes(16).toString('hex')
    const stored: StoredKey = {
      id: keyId,
      name: input.name,
      role: input.role,
      account: input.role === 'trader' ? (input.account ?? null) : null,
      createdMs: input.nowMs,
      revokedMs: null,
      salt,
      hash: hashSecret(salt, keySecret),
    }
    await this.store.insert(stored)
    this.forget(keyId)
    return { key, record: publicRecord(stored) }
  }

  /** The record of a presented key, or null when it is malformed, unknown, wrong or revoked. */
  async verify(presented: string): Promise<ApiKeyRecord | null> {
    if (this.ttlMs <= 0) return this.verifyInStore(presented)
    // the cache is keyed by a hash of the presented text: the process keeps no secret as a key
    const cacheKey = createHash('sha256').update(presented, 'utf8').digest('base64')
    const cached = this.cache.get(cacheKey)
    if (cached !== undefined && this.now() - cached.verifiedAt < this.ttlMs) return cached.record
    const generation = this.generation
    const record = await this.verifyInStore(presented)
    // a revoke or create that ran while the store was read may have changed the answer
    if (record === null || generation !== this.generation) {
      this.cache.delete(cacheKey)
      return record
    }
    if (this.cache.size >= this.maximumEntries) this.cache.clear()
    this.cache.set(cacheKey, { record, verifiedAt: this.now() })
    return record
  }

  /** Drops the cached verifications of key `id`. */
  private forget(id: string): void {
    this.generation += 1
    for (const [cacheKey, cached] of this.cache)
      if (cached.record.id === id) this.cache.delete(cacheKey)
  }

  private async verifyInStore(presented: string): Promise<ApiKeyRecord | null> {
    const { id, secret } = splitKey(presented)
    const stored =
      presented.length < MINIMUM_CHOSEN_KEY_LENGTH || presented.length > 512
        ? null
        : await this.store.byId(id)
    // compare against a dummy when the id is unknown, so the time taken does not tell
    const salt = stored?.salt ?? '00'.repeat(16)
    const expected = Buffer.from(stored?.hash ?? '00'.repeat(32), 'hex')
    const actual = Buffer.from(hashSecret(salt, secret), 'hex')
    const equal = timingSafeEqual(expected, actual)
    if (stored === null || !equal || stored.revokedMs !== null) return null
    return publicRecord(stored)
  }

  /**
   * What the store says of a presented key: `valid`, `revoked` (right secret, revoked), `mismatch`
   * (a stored key has its id but another secret) or `unknown`. Not cached; for start-up checks.
   */
  async status(presented: string): Promise<'valid' | 'revoked' | 'mismatch' | 'unknown'> {
    const { id, secret } = splitKey(presented)
    const stored = await this.store.byId(id)
    if (stored === null) return 'unknown'
    const equal = timingSafeEqual(
      Buffer.from(stored.hash, 'hex'),
      Buffer.from(hashSecret(stored.salt, secret), 'hex'),
    )
    if (!equal) return 'mismatch'
    return stored.revokedMs === null ? 'valid' : 'revoked'
  }

  async list(): Promise<ApiKeyRecord[]> {
    return (await this.store.list()).map(publicRecord)
  }

  async revoke(id: string, nowMs: number): Promise<boolean> {
    // forget before and after: no request may be answered from the cache once revoke resolves
    this.forget(id)
    const revoked = await this.store.revoke(id, nowMs)
    this.forget(id)
    return revoked
  }

  async isEmpty(): Promise<boolean> {
    return (await this.store.count()) === 0
  }

  /** A named value of the service (kept in `lor_service_state`), or null. */
  readState(name: string): Promise<string | null> {
    return this.store.readState(name)
  }

  /** Stores a named value of the service. */
  writeState(name: string, value: string): Promise<void> {
    return this.store.writeState(name, value)
  }
}

/** Whether a text has the shape of a key (`lor_<16 hex>_<43 base64url>`). */
export function isKeyText(text: string): boolean {
  return KEY_PATTERN.test(text)
}
