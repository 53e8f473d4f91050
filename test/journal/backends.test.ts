/**
 * JNL-010 the same commands give the same journal on every backend: SQLite and PostgreSQL end with
 * the same state hash and the very same chain of entry hashes, and each recovers to it.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { expect, it } from 'vitest'
import { JournaledEngine } from '../../src/journal/journaled-engine.ts'
import { openPostgresStore } from '../../src/journal/postgres-store.ts'
import { recoverState } from '../../src/journal/replay.ts'
import { openSqliteStore } from '../../src/journal/sqlite-store.ts'
import type { JournalStore } from '../../src/journal/store.ts'
import {
  dropSchema,
  describeWithPostgres,
  TEST_DATABASE_URL,
  testSchemaName,
} from './postgres-harness.ts'
import { smallRuleSet } from './small-rules.ts'
import { takeWorkload } from './workload.ts'

const ruleSet = smallRuleSet()

async function journalInto(
  store: JournalStore,
  reopen: () => Promise<JournalStore>,
): Promise<{ hash: string; chain: string[]; recovered: string }> {
  const engine = await JournaledEngine.open({ store, ruleSet, snapshotEvery: 40 })
  const outcomes = await Promise.all(
    takeWorkload(77, 150, { accounts: 4, ruleSet }).map((item) =>
      engine.submit(item.command, item),
    ),
  )
  expect(outcomes.at(-1)?.sequence).toBe(150)
  const hash = engine.stateHash()
  await engine.close()
  const reopened = await reopen()
  try {
    const chain = (await reopened.readRange(1, 1000)).map((entry) => entry.entryHash)
    const restarted = await JournaledEngine.open({ store: reopened, ruleSet, snapshotEvery: 40 })
    expect(restarted.recovery).toMatchObject({ snapshotSequence: 120, replayedEntries: 30 })
    const clean = await recoverState(reopened, { useSnapshot: false })
    return { hash, chain, recovered: clean.stateHash }
  } finally {
    await reopened.close()
  }
}

describeWithPostgres('JNL-010 SQLite and PostgreSQL', () => {
  it('the same commands give the same state hash and the same entry hashes on both backends', async () => {
    const directory = mkdtempSync(join(tmpdir(), 'lor-backends-'))
    const path = join(directory, 'journal.db')
    const schema = testSchemaName()
    try {
      const sqlite = await journalInto(openSqliteStore(path), () =>
        Promise.resolve(openSqliteStore(path)),
      )
      const postgres = await journalInto(
        await openPostgresStore(TEST_DATABASE_URL, { schema }),
        () => openPostgresStore(TEST_DATABASE_URL, { schema }),
      )
      expect(postgres.hash).toBe(sqlite.hash)
      expect(postgres.recovered).toBe(sqlite.hash)
      expect(sqlite.recovered).toBe(sqlite.hash)
      expect(postgres.chain).toEqual(sqlite.chain)
      expect(sqlite.chain).toHaveLength(150)
    } finally {
      rmSync(directory, { recursive: true, force: true })
      await dropSchema(schema)
    }
  })
})
