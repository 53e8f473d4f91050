// SCN-030: `lor run FILE --db PATH` writes every command of the run to a new journal; `lor replay`
// rebuilds the same state hash from it and `lor explain` reads it. Without the option nothing is
// journaled. The real CLI is spawned.
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { describe, expect, it } from 'vitest'

const root = join(import.meta.dirname, '..', '..')
// by file URL, so that the CLI also starts from a directory outside the repository
const tsx = pathToFileURL(join(root, 'node_modules', 'tsx', 'dist', 'loader.mjs')).href

function lor(cwd: string, ...args: string[]) {
  return spawnSync(process.execPath, ['--import', tsx, join(root, 'src/cli/main.ts'), ...args], {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, LOR_DATABASE_URL: '' },
  })
}

function temporaryDirectory(): string {
  return mkdtempSync(join(tmpdir(), 'lor-run-journal-'))
}

const hashOf = (text: string, label: RegExp) => label.exec(text)?.[1]

describe('lor run --db (SCN-030)', () => {
  it('journals the run; lor replay rebuilds the same state hash; lor explain reads it', () => {
    const database = join(temporaryDirectory(), 'run.db')
    const example = join(root, 'examples', 'waterfall', 'vega.yaml')
    const run = lor(root, 'run', example, '--db', database)
    expect(run.status).toBe(0)
    expect(run.stdout).toMatch(/Checks: all \d+ passed/)
    const runHash = hashOf(run.stdout, /^State hash sha256:([0-9a-f]{64})$/m)
    const journalLine = new RegExp(
      `^Journal ${database.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(sqlite\\): (\\d+) entries, state hash sha256:([0-9a-f]{64})$`,
      'm',
    ).exec(run.stdout)
    expect(journalLine?.[2]).toBe(runHash)
    const replay = lor(root, 'replay', '--db', database, '--json')
    expect(replay.status).toBe(0)
    const replayed = JSON.parse(replay.stdout)
    expect(replayed.stateHash).toBe(runHash)
    expect(replayed.matches).toBe(true)
    expect(String(replayed.entries)).toBe(journalLine?.[1])
    // the liquidation steps executed automatically (SCN-010) are in the journal too
    const explain = lor(root, 'explain', '--db', database, '--account', 'alice')
    expect(explain.status).toBe(0)
    expect(explain.stdout).toContain('liquidation')
  })

  it('--json carries the journal; the state hash equals the replayed one', () => {
    const database = join(temporaryDirectory(), 'run.db')
    const run = lor(root, 'run', 'examples/waterfall/okx.yaml', '--db', database, '--json')
    expect(run.status).toBe(0)
    const report = JSON.parse(run.stdout)
    expect(report.journal).toMatchObject({ location: database, backend: 'sqlite' })
    expect(report.journal.stateHash).toBe(report.stateHash)
    const replayed = JSON.parse(lor(root, 'replay', '--db', database, '--json').stdout)
    expect(`sha256:${replayed.stateHash}`).toBe(report.stateHash)
  })

  it('OPT-023: a run with option markets replays to the same hash (volatilities journaled)', () => {
    const database = join(temporaryDirectory(), 'run.db')
    const run = lor(root, 'run', 'examples/deribit-pm-options.yaml', '--db', database, '--json')
    expect(run.status).toBe(0)
    const report = JSON.parse(run.stdout)
    expect(report.journal.stateHash).toBe(report.stateHash)
    const replayed = JSON.parse(lor(root, 'replay', '--db', database, '--json').stdout)
    expect(`sha256:${replayed.stateHash}`).toBe(report.stateHash)
    expect(replayed.matches).toBe(true)
  })

  it('--journal uses ./lor.db; without an option no journal is written', () => {
    const directory = temporaryDirectory()
    const example = join(root, 'examples', 'waterfall', 'drift.yaml')
    expect(lor(directory, 'run', example).status).toBe(0)
    expect(existsSync(join(directory, 'lor.db'))).toBe(false)
    const run = lor(directory, 'run', example, '--journal')
    expect(run.status).toBe(0)
    expect(run.stdout).toContain('Journal ./lor.db (sqlite)')
    expect(lor(directory, 'replay').status).toBe(0)
  })

  it('refuses a journal that already holds entries, and seeded positions (exit 2)', () => {
    const database = join(temporaryDirectory(), 'run.db')
    const example = join(root, 'examples', 'waterfall', 'drift.yaml')
    expect(lor(root, 'run', example, '--db', database).status).toBe(0)
    const again = lor(root, 'run', example, '--db', database)
    expect(again.status).toBe(2)
    expect(again.stderr).toContain('already holds a journal')
    const seeded = join(temporaryDirectory(), 'seeded.yaml')
    writeFileSync(
      seeded,
      `preset: bitmex
accounts:
  alice: { balances: { XBT: "1" }, positions: { XBTUSD: { size: "100", entryPrice: "1000" } } }
`,
    )
    const refused = lor(root, 'run', seeded, '--db', join(temporaryDirectory(), 'x.db'))
    expect(refused.status).toBe(2)
    expect(refused.stderr).toContain(
      'accounts.alice.positions.XBTUSD: a seeded position cannot be journaled',
    )
    expect(lor(root, 'run', seeded).status).toBe(0)
  })
})
