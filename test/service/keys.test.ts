/**
 * The service's key store on both backends (docs/spec/service.md, SVC-021, SVC-023, SVC-027,
 * SVC-051): the same contract on a SQLite file and on the real PostgreSQL server (skipped with the
 * reason when none answers, a failure under LOR_REQUIRE_SERVICES=1), the verified-key cache, and
 * the simulations table.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import postgres from 'postgres'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { KeyRing, type KeyStore, openKeyStore } from '../../src/service/keys.ts'
import {
  describeWithPostgres,
  dropSchema,
  TEST_DATABASE_URL,
  testSchemaName,
} from '../journal/postgres-harness.ts'

const NOW = 1_700_000_000_000

interface Backend {
  /** Opens (again) the same key store. */
  open(): Promise<KeyStore>
  /** The stored rows of the key table, for checking what is written. */
  rows(): Promise<Record<string, unknown>[]>
  dispose(): Promise<void>
}

function sqliteBackend(): Backend {
  const directory = mkdtempSync(join(tmpdir(), 'lor-keys-'))
  const path = join(directory, 'lor.db')
  return {
    open: () => openKeyStore({ backend: 'sqlite', target: path }),
    async rows() {
      const { default: Database } = await import('better-sqlite3')
      const database = new Database(path, { readonly: true })
      try {
        return database.prepare('SELECT * FROM lor_service_keys').all() as Record<string, unknown>[]
      } finally {
        database.close()
      }
    },
    dispose() {
      rmSync(directory, { recursive: true, force: true })
      return Promise.resolve()
    },
  }
}

function postgresBackend(): Backend {
  const schema = testSchemaName()
  return {
    open: () => openKeyStore({ backend: 'postgres', target: TEST_DATABASE_URL, schema }),
    async rows() {
      const sql = postgres(TEST_DATABASE_URL, { max: 1, onnotice: () => undefined })
      try {
        return [...(await sql`SELECT * FROM ${sql(schema)}.lor_service_keys`)]
      } finally {
        await sql.end({ timeout: 1 })
      }
    },
    dispose: () => dropSchema(schema),
  }
}

/** The key store contract, run on each backend. */
function keyStoreContract(makeBackend: () => Backend): void {
  let backend: Backend
  const opened: KeyStore[] = []
  const open = async (): Promise<KeyStore> => {
    const store = await backend.open()
    opened.push(store)
    return store
  }
  beforeAll(() => {
    backend = makeBackend()
  })
  afterEach(async () => {
    for (const store of opened.splice(0)) await store.close()
  })
  afterAll(async () => {
    await backend.dispose()
  })

  it('SVC-021, SVC-023: a created key verifies, is stored salted and hashed, and survives a reopen', async () => {
    const keys = new KeyRing(await open())
    expect(await keys.isEmpty()).toBe(true)
    const admin = await keys.create({ name: 'admin', role: 'admin', nowMs: NOW })
    const trader = await keys.create({
      name: 'alice-desk',
      role: 'trader',
      account: 'alice',
      nowMs: NOW + 1,
    })
    expect(admin.key).toMatch(/^lor_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/)
    expect(await keys.verify(admin.key)).toEqual(admin.record)
    expect(await keys.verify(trader.key)).toMatchObject({ role: 'trader', account: 'alice' })
    for (const row of await backend.rows()) {
      expect(String(row.salt)).toMatch(/^[0-9a-f]{32}$/)
      expect(String(row.hash)).toMatch(/^[0-9a-f]{64}$/)
      for (const value of Object.values(row))
        for (const key of [admin.key, trader.key])
          expect(String(value)).not.toContain(key.slice(21))
    }
    const reopened = new KeyRing(await open())
    expect(await reopened.isEmpty()).toBe(false)
    expect(await reopened.verify(trader.key)).toEqual(trader.record)
    expect((await reopened.list()).map((record) => record.name)).toEqual(['admin', 'alice-desk'])
    const listed = await reopened.list()
    expect(listed[0]).toEqual(admin.record)
    expect(typeof listed[0]?.createdMs).toBe('number')
  })

  it('SVC-022: wrong, truncated and revoked keys are refused; a revoke is answered once', async () => {
    const keys = new KeyRing(await open())
    const created = await keys.create({ name: 'short-lived', role: 'viewer', nowMs: NOW + 2 })
    const last = created.key.at(-1) === 'A' ? 'B' : 'A'
    expect(await keys.verify(`${created.key.slice(0, -1)}${last}`)).toBeNull()
    expect(await keys.verify(created.key.slice(0, 30))).toBeNull()
    expect(await keys.status(created.key)).toBe('valid')
    expect(await keys.revoke(created.record.id, NOW + 3)).toBe(true)
    expect(await keys.revoke(created.record.id, NOW + 4)).toBe(false)
    expect(await keys.revoke('0000000000000000', NOW + 4)).toBe(false)
    expect(await keys.verify(created.key)).toBeNull()
    expect(await keys.status(created.key)).toBe('revoked')
    expect(await keys.status(`${created.key.slice(0, -1)}${last}`)).toBe('mismatch')
    const record = (await keys.list()).find((each) => each.id === created.record.id)
    expect(record?.revokedMs).toBe(NOW + 3)
  })

  it('SVC-021: a chosen key text (LOR_ADMIN_KEY) is a key of its own id; creating it twice fails', async () => {
    const keys = new KeyRing(await open())
    const chosen = 'a-chosen-admin-key-of-some-length-0123'
    expect(await keys.status(chosen)).toBe('unknown')
    await keys.create({ name: 'admin', role: 'admin', nowMs: NOW + 5, key: chosen })
    expect(await keys.verify(chosen)).toMatchObject({ role: 'admin', name: 'admin' })
    await expect(
      keys.create({ name: 'admin', role: 'admin', nowMs: NOW + 6, key: chosen }),
    ).rejects.toThrow()
  })

  it('SVC-063: named service values are written, replaced and read back', async () => {
    const keys = new KeyRing(await open())
    expect(await keys.readState('cursor')).toBeNull()
    await keys.writeState('cursor', '12')
    await keys.writeState('cursor', '13')
    expect(await new KeyRing(await open()).readState('cursor')).toBe('13')
  })

  it('SVC-051: simulations are stored, updated with their report, listed oldest first and deleted', async () => {
    const store = await open()
    await store.saveSimulation({
      id: 'sim-b',
      startedMs: NOW + 20,
      statusJson: '{"status":"running"}',
      reportHtml: null,
    })
    await store.saveSimulation({
      id: 'sim-a',
      startedMs: NOW + 10,
      statusJson: '{"status":"finished"}',
      reportHtml: '<html>a</html>',
    })
    await store.saveSimulation({
      id: 'sim-b',
      startedMs: NOW + 20,
      statusJson: '{"status":"finished"}',
      reportHtml: '<html>b</html>',
    })
    // a later status without a report keeps the stored report
    await store.saveSimulation({
      id: 'sim-a',
      startedMs: NOW + 10,
      statusJson: '{"status":"finished","note":1}',
      reportHtml: null,
    })
    const again = await open()
    expect(await again.listSimulations()).toEqual([
      { id: 'sim-a', startedMs: NOW + 10, statusJson: '{"status":"finished","note":1}' },
      { id: 'sim-b', startedMs: NOW + 20, statusJson: '{"status":"finished"}' },
    ])
    expect(await again.simulationReport('sim-a')).toBe('<html>a</html>')
    expect(await again.simulationReport('sim-b')).toBe('<html>b</html>')
    expect(await again.simulationReport('sim-none')).toBeNull()
    await again.deleteSimulation('sim-a')
    expect((await again.listSimulations()).map((each) => each.id)).toEqual(['sim-b'])
  })

  it('two stores opening the same tables at once both work', async () => {
    const [first, second] = await Promise.all([open(), open()])
    if (first === undefined || second === undefined) throw new Error('both opened')
    const created = await new KeyRing(first).create({
      name: 'concurrent',
      role: 'operator',
      nowMs: NOW + 30,
    })
    expect(await new KeyRing(second).verify(created.key)).toEqual(created.record)
  })
}

describe('key store on SQLite', () => {
  keyStoreContract(sqliteBackend)
})

describeWithPostgres('key store on PostgreSQL', () => {
  keyStoreContract(postgresBackend)
})

/** A store that counts its key reads (a real SQLite store underneath). */
function countingStore(store: KeyStore): { store: KeyStore; reads: () => number } {
  let reads = 0
  const counted: KeyStore = Object.create(store) as KeyStore
  counted.byId = (id) => {
    reads += 1
    return store.byId(id)
  }
  return { store: counted, reads: () => reads }
}

describe('SVC-027: verified keys are cached', () => {
  const backend = sqliteBackend()
  afterAll(() => backend.dispose())

  it('SVC-027: a known key is checked against the store once per time to live', async () => {
    let clock = 0
    const base = await backend.open()
    const { store, reads } = countingStore(base)
    const keys = new KeyRing(store, { ttlMs: 1_000, now: () => clock })
    const created = await keys.create({ name: 'cached', role: 'viewer', nowMs: NOW })
    for (let index = 0; index < 5; index += 1) expect(await keys.verify(created.key)).not.toBeNull()
    expect(reads()).toBe(1)
    clock = 999
    await keys.verify(created.key)
    expect(reads()).toBe(1)
    clock = 1_000
    await keys.verify(created.key)
    expect(reads()).toBe(2)
    // failures are never cached: each wrong key is looked up
    const wrong = `${created.key.slice(0, -2)}xx`
    await keys.verify(wrong)
    await keys.verify(wrong)
    expect(reads()).toBe(4)
    await base.close()
  })

  it('SVC-027: a revoke through the same key ring takes effect at once, cache or not', async () => {
    const base = await backend.open()
    const keys = new KeyRing(base, { ttlMs: 60_000 })
    const created = await keys.create({ name: 'revoked-at-once', role: 'viewer', nowMs: NOW })
    expect(await keys.verify(created.key)).not.toBeNull()
    expect(await keys.revoke(created.record.id, NOW + 1)).toBe(true)
    expect(await keys.verify(created.key)).toBeNull()
    await base.close()
  })

  it('SVC-027: a revoke through another process stops the key when the cached entry expires', async () => {
    let clock = 0
    const here = await backend.open()
    const elsewhere = await backend.open()
    const keys = new KeyRing(here, { ttlMs: 5_000, now: () => clock })
    const other = new KeyRing(elsewhere)
    const created = await keys.create({ name: 'revoked-elsewhere', role: 'viewer', nowMs: NOW })
    expect(await keys.verify(created.key)).not.toBeNull()
    expect(await other.revoke(created.record.id, NOW + 1)).toBe(true)
    clock = 4_999
    expect(await keys.verify(created.key)).not.toBeNull()
    clock = 5_000
    expect(await keys.verify(created.key)).toBeNull()
    await here.close()
    await elsewhere.close()
  })

  it('SVC-027: a verification that raced a revoke is not cached', async () => {
    const base = await backend.open()
    let release: () => void = () => undefined
    const gate = new Promise<void>((resolve) => {
      release = resolve
    })
    const slow: KeyStore = Object.create(base) as KeyStore
    slow.byId = async (id) => {
      const found = await base.byId(id)
      await gate
      return found
    }
    const keys = new KeyRing(slow, { ttlMs: 60_000 })
    const created = await keys.create({ name: 'raced', role: 'viewer', nowMs: NOW })
    const verifying = keys.verify(created.key)
    await keys.revoke(created.record.id, NOW + 1)
    release()
    // the racing request may see the key (it was read before the revoke), the next one may not
    await verifying
    expect(await keys.verify(created.key)).toBeNull()
    await base.close()
  })
})
