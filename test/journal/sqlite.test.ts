/**
 * The journal contract on SQLite (docs/spec/journal.md, JNL-005): a fresh file per test.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { openSqliteStore } from '../../src/journal/sqlite-store.ts'
import type { JournalStore } from '../../src/journal/store.ts'
import { runJournalContract, type StoreHarness } from './contract.ts'

/** A fresh SQLite journal in a temporary directory. */
export function makeSqliteHarness(): Promise<StoreHarness> {
  const directory = mkdtempSync(join(tmpdir(), 'lor-journal-'))
  const path = join(directory, 'journal.db')
  let store: JournalStore = openSqliteStore(path)
  const harness: StoreHarness = {
    get store() {
      return store
    },
    runSql(statement) {
      const database = new Database(path)
      try {
        database.exec(statement)
      } finally {
        database.close()
      }
      return Promise.resolve()
    },
    async reopen() {
      await store.close()
      store = openSqliteStore(path)
      return store
    },
    async dispose() {
      await store.close()
      rmSync(directory, { recursive: true, force: true })
    },
  }
  return Promise.resolve(harness)
}

runJournalContract('sqlite', makeSqliteHarness)
