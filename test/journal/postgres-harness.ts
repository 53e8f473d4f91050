/**
 * PostgreSQL for the journal tests: the server named by LOR_TEST_DATABASE_URL (default the local
 * `test` database), one throw-away schema per journal, dropped afterwards. When the server cannot
 * be reached the PostgreSQL suites are skipped with the reason in their name, unless
 * LOR_REQUIRE_SERVICES=1 (CI), where unreachability fails.
 */
import { randomBytes } from 'node:crypto'
import postgres from 'postgres'
import { describe, expect, it } from 'vitest'
import { openPostgresStore } from '../../src/journal/postgres-store.ts'
import type { JournalStore } from '../../src/journal/store.ts'
import type { StoreHarness } from './contract.ts'

export const TEST_DATABASE_URL =
  process.env.LOR_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test'
export const SERVICES_REQUIRED = process.env.LOR_REQUIRE_SERVICES === '1'

async function probe(): Promise<string | null> {
  const sql = postgres(TEST_DATABASE_URL, { max: 1, connect_timeout: 3, onnotice: () => undefined })
  try {
    await sql`SELECT 1`
    return null
  } catch (error) {
    return error instanceof Error ? error.message : String(error)
  } finally {
    await sql.end({ timeout: 1 })
  }
}

/** Null when the server answers, else why it does not. */
export const postgresUnreachable = await probe()

/** A unique schema name for one journal. */
export function testSchemaName(): string {
  return `lor_test_${process.pid}_${randomBytes(4).toString('hex')}`
}

/** Drops a test schema and everything in it. */
export async function dropSchema(schema: string): Promise<void> {
  const sql = postgres(TEST_DATABASE_URL, { max: 1, onnotice: () => undefined })
  try {
    await sql`DROP SCHEMA IF EXISTS ${sql(schema)} CASCADE`
  } finally {
    await sql.end({ timeout: 1 })
  }
}

/** A fresh PostgreSQL journal in its own schema. */
export async function makePostgresHarness(): Promise<StoreHarness> {
  const schema = testSchemaName()
  let store: JournalStore = await openPostgresStore(TEST_DATABASE_URL, { schema })
  return {
    get store() {
      return store
    },
    async runSql(statement) {
      const sql = postgres(TEST_DATABASE_URL, {
        max: 1,
        onnotice: () => undefined,
        connection: { search_path: schema },
      })
      try {
        await sql.unsafe(statement)
      } finally {
        await sql.end({ timeout: 1 })
      }
    },
    async reopen() {
      await store.close()
      store = await openPostgresStore(TEST_DATABASE_URL, { schema })
      return store
    },
    async dispose() {
      await store.close()
      await dropSchema(schema)
    },
  }
}

/**
 * A describe block that needs PostgreSQL: run when the server answers; skipped with the reason in
 * its name when it does not; and, when LOR_REQUIRE_SERVICES=1, a failing test instead of a skip.
 */
export function describeWithPostgres(name: string, body: () => void): void {
  if (postgresUnreachable === null) {
    describe(name, body)
  } else if (SERVICES_REQUIRED) {
    describe(name, () => {
      it(`needs PostgreSQL at ${TEST_DATABASE_URL} (LOR_REQUIRE_SERVICES=1)`, () => {
        expect(postgresUnreachable).toBeNull()
      })
    })
  } else {
    describe.skip(
      `${name} (skipped: PostgreSQL unreachable at ${TEST_DATABASE_URL}: ${postgresUnreachable})`,
      body,
    )
  }
}
