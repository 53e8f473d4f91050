/**
 * JNL-007 `lor replay` and JNL-017 `lor explain`, on a journal with a story (fixture-journal.ts):
 * the explanation functions in process, then the command line end to end (exit codes, output).
 */
import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import Database from 'better-sqlite3'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { explainAccount, explainEntry } from '../../src/journal/explain.ts'
import { openSqliteStore } from '../../src/journal/sqlite-store.ts'
import { writeStory } from './fixture-journal.ts'

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url))
let directory = ''
let path = ''
let liveHash = ''

beforeAll(async () => {
  directory = mkdtempSync(join(tmpdir(), 'lor-cli-'))
  path = join(directory, 'story.db')
  liveHash = await writeStory(openSqliteStore(path))
})
afterAll(() => {
  rmSync(directory, { recursive: true, force: true })
})

function lor(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', MAIN, ...args],
      { env: { ...process.env, LOR_DATABASE_URL: '' } },
      (error, stdout, stderr) => {
        resolve({
          code: error === null ? 0 : typeof error.code === 'number' ? error.code : -1,
          stdout,
          stderr,
        })
      },
    )
  })
}

describe('JNL-017 explanations from what the journal recorded', () => {
  it('explains a price move that put an account below maintenance: trigger, prices, equity, maintenance, rules', async () => {
    const store = openSqliteStore(path)
    const explanation = await explainEntry(store, 7)
    await store.close()
    expect(explanation).toMatchObject({
      sequence: 7,
      command: { type: 'mark_price', market: 'BTCUSDT', mark: '29100' },
      rules: { id: 'journal-test', version: '2', sinceSequence: 4, author: 'risk desk' },
      marksBefore: { BTCUSDT: { mark: '30000', sequence: 3 } },
    })
    expect(explanation?.chain).toEqual([
      'entry 7 at 2023-11-14T22:13:27.000Z: mark price of BTCUSDT set to 29100 → applied',
      'rules in force: journal-test version 2 (since entry 4, changed by risk desk)',
      'previous mark of BTCUSDT: 30000 (set by entry 3)',
      'mark of BTCUSDT is now 29100',
      'because of the new mark of BTCUSDT (29100): alice is below maintenance in USDT: equity 85 < maintenance margin 116.4',
    ])
  })

  it("tells an account's history, refusals and fills included, with the rules in force at each step", async () => {
    const store = openSqliteStore(path)
    const history = await explainAccount(store, 'alice')
    const lastTwo = await explainAccount(store, 'alice', 2)
    await store.close()
    expect(history.entries.map((entry) => entry.sequence)).toEqual([1, 5, 6, 7, 8])
    expect(history.entries[0]?.rules).toMatchObject({
      id: 'journal-test',
      version: '1',
      sinceSequence: null,
    })
    expect(history.entries[1]?.events.map((event) => event.text)).toEqual([
      'fill: alice bought 1 BTCUSDT at 30000 against bob (taker, fee 15, realized PnL 0); position now 1',
      'fill: bob sold 1 BTCUSDT at 30000 against alice (maker, fee 6, realized PnL 0); position now -1',
    ])
    expect(history.entries[2]?.resultText).toMatch(/^refused: insufficient_balance/)
    expect(lastTwo).toMatchObject({ total: 5, entries: [{ sequence: 7 }, { sequence: 8 }] })
  })
})

describe('lor replay and lor explain (command line)', () => {
  it('replay, explain and their refusals of bad input', async () => {
    const [replayed, event, account, missing, both] = await Promise.all([
      lor('replay', '--db', path, '--json'),
      lor('explain', '--db', path, '--event', '7'),
      lor('explain', '--db', path, '--account', 'bob', '--json'),
      lor('explain', '--db', join(directory, 'absent.db'), '--event', '1'),
      lor('explain', '--db', path),
    ])
    expect(replayed.code).toBe(0)
    expect(JSON.parse(replayed.stdout)).toMatchObject({
      entries: 8,
      replayedEntries: 8,
      stateHash: liveHash,
      recordedStateHash: liveHash,
      matches: true,
    })
    expect(event.code).toBe(0)
    expect(event.stdout).toContain(
      'alice is below maintenance in USDT: equity 85 < maintenance margin 116.4',
    )
    expect(account.code).toBe(0)
    expect(JSON.parse(account.stdout)).toMatchObject({ account: 'bob', total: 3 })
    expect(missing).toMatchObject({ code: 2, stdout: '' })
    expect(missing.stderr).toContain('no journal at')
    expect(both.code).toBe(2)
  })

  it('JNL-008: replay of a damaged journal names the code and the entry, exit 1', async () => {
    const damaged = join(directory, 'damaged.db')
    liveHash = await writeStory(openSqliteStore(damaged))
    const database = new Database(damaged)
    database.exec(
      `UPDATE lor_journal_entries SET events_json = replace(events_json, '"85"', '"850"') WHERE sequence = 7`,
    )
    database.close()
    const replayed = await lor('replay', '--db', damaged)
    expect(replayed.code).toBe(1)
    expect(replayed.stderr).toBe(
      'lor: journal: entry_hash_mismatch: entry 7 does not match its hash\n',
    )
  })
})
