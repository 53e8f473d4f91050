/**
 * SIMRUN-060..SIMRUN-062: a journaled simulation. The run gives the same result with and without
 * its journal; `lor simulate --journal DIR` writes one SQLite journal per rule set, `lor replay`
 * rebuilds from it the final state hash the run reported, and `lor explain` tells its liquidations.
 */
import { execFile } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { explainAccount } from '../../src/journal/explain.ts'
import { openSqliteStore } from '../../src/journal/sqlite-store.ts'
import { journalPathOf, runJournaledSimulation } from '../../src/sim/run/journal.ts'
import { buildScenario, DEFAULT_SCENARIO_OPTIONS } from '../../src/sim/run/scenario.ts'
import { runSimulation } from '../../src/sim/run/simulate.ts'
import { expectJournalsReplay } from './replay-check.ts'

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url))
let directory = ''

beforeAll(() => {
  directory = mkdtempSync(join(tmpdir(), 'lor-sim-journal-'))
})
afterAll(() => {
  rmSync(directory, { recursive: true, force: true })
})

function lor(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', MAIN, ...args],
      { env: { ...process.env, LOR_DATABASE_URL: '' }, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) =>
        resolve({
          code: error === null ? 0 : typeof error.code === 'number' ? error.code : -1,
          stdout,
          stderr,
        }),
    )
  })
}

describe('SIMRUN-060 journaling does not change the run', () => {
  it('gives the same result hash as the run without a journal, and replays to its state', async () => {
    const options = {
      ...DEFAULT_SCENARIO_OPTIONS,
      accounts: 60,
      ruleSets: ['binance-usdm', 'dydx-v4'],
    }
    const built = buildScenario(options, 3)
    if (!built.ok) throw new Error('the scenario does not build')
    const plain = runSimulation(built.value, options, 3)
    const journaled = await runJournaledSimulation(
      built.value,
      options,
      3,
      join(directory, 'in-process'),
    )
    expect(journaled.run.resultHash).toBe(plain.resultHash)
    expect(journaled.journals.map((journal) => journal.ruleSetId)).toEqual([
      'binance-usdm',
      'dydx-v4',
    ])
    for (const journal of journaled.journals)
      expect(journal.path).toBe(journalPathOf(join(directory, 'in-process'), journal.ruleSetId))
    await expectJournalsReplay(journaled.journals)
  }, 120_000)
})

describe('SIMRUN-061 lor simulate --journal, then lor replay and lor explain', () => {
  it('replays to the final state hash the run reported and explains a liquidation', async () => {
    const journals = join(directory, 'cli')
    const simulated = await lor(
      'simulate',
      '--preset',
      'binance-usdm',
      '--accounts',
      '80',
      '--journal',
      journals,
      '--report',
      join(directory, 'report.html'),
      '--json',
    )
    expect(simulated.code).toBe(0)
    const reported = JSON.parse(simulated.stdout) as {
      journals: { ruleSetId: string; path: string; entries: number; stateHash: string }[]
      metrics: { liquidationCount: number }[]
    }
    const [journal] = reported.journals
    expect(journal?.path).toBe(join(journals, 'binance-usdm.db'))
    const replayed = await lor('replay', '--db', journal?.path ?? '', '--json')
    expect(replayed.code).toBe(0)
    const replay = JSON.parse(replayed.stdout) as {
      stateHash: string
      matches: boolean
      entries: number
    }
    expect(replay).toMatchObject({
      stateHash: journal?.stateHash,
      matches: true,
      entries: journal?.entries,
    })

    // Every liquidation of the run is in the journal, and explained from the triggering mark on.
    expect(reported.metrics[0]?.liquidationCount ?? 0).toBeGreaterThan(0)
    const store = openSqliteStore(journal?.path ?? '')
    try {
      const entry = (await store.readRange(1, 100_000)).find((candidate) =>
        candidate.eventsJson.includes('"liquidation_order_placed"'),
      )
      const placed = (
        JSON.parse(entry?.eventsJson ?? '[]') as { type: string; account?: string }[]
      ).find((event) => event.type === 'liquidation_order_placed')
      const explained = await explainAccount(store, placed?.account ?? '')
      const chain = explained.liquidations[0]
      expect(chain?.role).toBe('liquidated')
      expect(chain?.trigger?.sequence).toBe(entry?.sequence)
      expect(chain?.steps[0]?.step).toBe('trigger')
      expect(chain?.steps.some((step) => step.step === 'fill')).toBe(true)
    } finally {
      await store.close()
    }
  }, 180_000)

  it('--no-journal writes no journal', async () => {
    const journals = join(directory, 'none')
    const simulated = await lor(
      'simulate',
      '--preset',
      'binance-usdm',
      '--accounts',
      '20',
      '--no-journal',
      '--report',
      join(directory, 'none.html'),
      '--json',
    )
    expect(simulated.code).toBe(0)
    expect((JSON.parse(simulated.stdout) as { journals: unknown[] }).journals).toEqual([])
    expect(existsSync(journals)).toBe(false)
  }, 120_000)
})
