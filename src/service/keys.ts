/**
 * API keys and roles (docs/spec/service.md, SVC-020..SVC-026). A key reads `lor_<id>_<secret>`; the
 * service stores its id, name, role, account (traders), a random per-key salt and SHA-256(salt ‖
 * secret), never the secret, in the table `lor_service_keys` of the journal's database, and checks a
 * presented secret with a constant-time comparison. The same database holds `lor_service_state`,
 * small named values of the service (the NATS publishing cursor).
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

/** Where keys live: SQLite or PostgreSQL, next to the journal. */
export interface KeyStore {
  insert(key: StoredKey): Promise<void>
  byId(id: string): Promise<StoredKey | null>
  list(): Promise<StoredKey[]>
  revoke(id: string, revokedMs: number): Promise<boolean>
  count(): Promise<number>
  readState(name: string): Promise<string | null>
  writeState(name: string, value: string): Promise<void>
  close(): Promise<void>
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

  constructor(path: string) {
    this.database = new Database(path)
    this.database.pragma('journal_mode = WAL')
    this.database.pragma('busy_timeout = 5000')
    this.database.exec(`
      CREATE TABLE IF NOT EXISTS lor_service_keys (
        id TEXT PRIMARY KEY, name TEXT NOT NULL, role TEXT NOT NULL, account TEXT,
        salt TEXT NOT NULL, hash TEXT NOT NULL, created_ms INTEGER NOT NULL, revoked_ms INTEGER);
      CREATE TABLE IF NOT EXISTS lor_service_state (name TEXT PRIMARY KEY, value TEXT NOT NULL);`)
  }

  insert(key: StoredKey): Promise<void> {
    this.database
      .prepare(
        'INSERT INTO lor_service_keys (id, name, role, account, salt, hash, created_ms, revoked_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
      )
      .run(
        key.id,
        key.name,
        key.role,
        key.account,
        key.salt,
        key.hash,
        key.createdMs,
        key.revokedMs,
      )
    return Promise.resolve()
  }

  byId(id: string): Promise<StoredKey | null> {
    const row = this.database.prepare('SELECT * FROM lor_service_keys WHERE id = ?').get(id) as
      | Record<string, unknown>
      | undefined
    return Promise.resolve(row === undefined ? null : keyFromRow(row))
  }

  list(): Promise<StoredKey[]> {
    const rows = this.database
      .prepare('SELECT * FROM lor_service_keys ORDER BY created_ms, id')
      .all() as Record<string, unknown>[]
    return Promise.resolve(rows.map(keyFromRow))
  }

  revoke(id: string, revokedMs: number): Promise<boolean> {
    const result = this.database
      .prepare('UPDATE lor_service_keys SET revoked_ms = ? WHERE id = ? AND revoked_ms IS NULL')
      .run(revokedMs, id)
    return Promise.resolve(result.changes > 0)
  }

  count(): Promise<number> {
    const row = this.database.prepare('SELECT COUNT(*) AS n FROM lor_service_keys').get() as {
      n: number
    }
    return Promise.resolve(row.n)
  }

  readState(name: string): Promise<string | null> {
    const row = this.database
      .prepare('SELECT value FROM lor_service_state WHERE name = ?')
      .get(name) as { value: string } | undefined
    return Promise.resolve(row === undefined ? null : row.value)
  }

  writeState(name: string, value: string): Promise<void> {
    this.database
      .prepare(
        'INSERT INTO lor_service_state (name, value) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = excluded.value',
      )
      .run(name, value)
    return Promise.resolve()
  }

  close(): Promise<void> {
    if (this.database.open) this.database.close()
    return Promise.resolve()
  }
}

class PostgresKeyStore implements KeyStore {
  private readonly sql: postgres.Sql
  private readonly keys: postgres.Helper<string>
  private readonly state: postgres.Helper<string>

  private constructor(sql: postgres.Sql, schema: string) {
    this.sql = sql
    this.keys = sql(`${schema}.lor_service_keys`)
    this.state = sql(`${schema}.lor_service_state`)
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
    })
    return store
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

/** Issues, checks and revokes keys (SVC-021..SVC-023). */
export class KeyRing {
  constructor(private readonly store: KeyStore) {}

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
    return { key, record: publicRecord(stored) }
  }

  /** The record of a presented key, or null when it is malformed, unknown, wrong or revoked. */
  async verify(presented: string): Promise<ApiKeyRecord | null> {
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

  async list(): Promise<ApiKeyRecord[]> {
    return (await this.store.list()).map(publicRecord)
  }

  async revoke(id: string, nowMs: number): Promise<boolean> {
    return this.store.revoke(id, nowMs)
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
