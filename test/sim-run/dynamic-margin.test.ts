/**
 * SIMRUN-019: dynamic margin in the simulator. The EWMA + APC rate of the exogenous path re-sets
 * each rule set's margin rates (DYN-012, DYN-015); the tick loop puts them in force as rules
 * changes. In a crash the re-sets come during the fall and accounts are liquidated no later and
 * no fewer than under the published rates; every asset is conserved; the re-sets are in the
 * result (and only with dynamic margin), the report, the workers' runs and the journal, which
 * replays to the run's final state. SIMRUN-020: a bad document comes back as issues.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { formatFixed, ONE } from '../../src/core/num/fixed.ts'
import { recoverState } from '../../src/journal/replay.ts'
import { openSqliteStore } from '../../src/journal/sqlite-store.ts'
import { renderReport } from '../../src/sim/report/html.ts'
import {
  isLiquidationKind,
  parseSimulationResult,
  type RuleSetOutcome,
  simulationResultToJson,
} from '../../src/sim/report/result.ts'
import { metricRows } from '../../src/sim/report/summary.ts'
import { runJournaledSimulation } from '../../src/sim/run/journal.ts'
import { runMonteCarlo } from '../../src/sim/run/monte-carlo.ts'
import {
  buildScenario,
  DEFAULT_SCENARIO_OPTIONS,
  type ScenarioOptions,
} from '../../src/sim/run/scenario.ts'
import { runSimulation, type SimulationRun } from '../../src/sim/run/simulate.ts'

const CRASH_FILE = fileURLToPath(
  new URL('../../../shared/data/binance-btcusdt-1m/2020-03-12_13.csv', import.meta.url),
)

let directory = ''
beforeAll(() => {
  directory = mkdtempSync(join(tmpdir(), 'lor-dynamic-margin-'))
})
afterAll(() => {
  rmSync(directory, { recursive: true, force: true })
})

function scenario(overrides: Partial<ScenarioOptions>): ScenarioOptions {
  return {
    ...DEFAULT_SCENARIO_OPTIONS,
    ruleSets: ['binance-usdm', 'hyperliquid'],
    accounts: 200,
    ...overrides,
  }
}

function simulate(options: ScenarioOptions, seed = 1): SimulationRun {
  const built = buildScenario(options, seed)
  if (!built.ok) throw new Error(built.issues.map((found) => found.message).join('; '))
  return runSimulation(built.value, options, seed)
}

/** When each account was first liquidated. */
function firstLiquidations(outcome: RuleSetOutcome): Map<string, number> {
  const first = new Map<string, number>()
  for (const close of outcome.forcedCloses)
    if (isLiquidationKind(close.kind) && !first.has(close.account))
      first.set(close.account, close.timeMs)
  return first
}

/** Times at which the exogenous price is at least 10 % below its highest so far, up to the low. */
function crashTimes(run: SimulationRun): { from: number; low: number } {
  let high = 0n
  let from = Number.POSITIVE_INFINITY
  let low = run.result.exogenousPrices[0]
  for (const point of run.result.exogenousPrices) {
    if (point.price > high) high = point.price
    if (point.price * 10n <= high * 9n && from === Number.POSITIVE_INFINITY) from = point.timeMs
    if (low === undefined || point.price < low.price) low = point
  }
  return { from, low: low?.timeMs ?? 0 }
}

function comparison(staticRun: SimulationRun, dynamicRun: SimulationRun) {
  return staticRun.runs.map((fixedRates, index) => {
    const moving = dynamicRun.runs[index]
    if (moving === undefined) throw new Error('the same rule sets')
    const before = firstLiquidations(fixedRates.outcome)
    const after = firstLiquidations(moving.outcome)
    let earlier = 0
    let later = 0
    for (const [account, timeMs] of before) {
      const moved = after.get(account)
      if (moved !== undefined && moved < timeMs) earlier += 1
      if (moved !== undefined && moved > timeMs) later += 1
    }
    // At every moment, at least as many accounts liquidated so far.
    const times = [...new Set([...before.values(), ...after.values()])].sort((a, b) => a - b)
    const countBy = (map: Map<string, number>, timeMs: number) =>
      [...map.values()].filter((value) => value <= timeMs).length
    const neverBehind = times.every((timeMs) => countBy(after, timeMs) >= countBy(before, timeMs))
    return {
      ruleSetId: fixedRates.outcome.ruleSetId,
      before,
      after,
      earlier,
      later,
      neverBehind,
      conserved: moving.diagnostics.conservation.every((asset) => asset.held === asset.expected),
    }
  })
}

describe('SIMRUN-019: dynamic margin re-sets rates in a crash and liquidates earlier', () => {
  it('built-in crash, re-sets every 5 minutes: never fewer accounts liquidated at any moment', () => {
    const fixedRates = scenario({})
    const moving = scenario({ dynamicMargin: { every: '5m' } })
    const staticRun = simulate(fixedRates)
    const dynamicRun = simulate(moving)
    const resets = dynamicRun.result.outcomes[0]?.marginResets ?? []
    const crash = crashTimes(dynamicRun)
    expect(
      resets.some(
        (reset) => reset.factor > ONE && reset.timeMs >= crash.from && reset.timeMs <= crash.low,
      ),
    ).toBe(true)
    // The schedule is the exogenous path's: the same for every rule set.
    for (const outcome of dynamicRun.result.outcomes) expect(outcome.marginResets).toEqual(resets)
    for (const entry of comparison(staticRun, dynamicRun)) {
      expect(entry.conserved, entry.ruleSetId).toBe(true)
      expect(entry.neverBehind, entry.ruleSetId).toBe(true)
      expect(entry.after.size, entry.ruleSetId).toBeGreaterThanOrEqual(entry.before.size)
      expect(entry.earlier, entry.ruleSetId).toBeGreaterThan(0)
      expect(entry.later, entry.ruleSetId).toBe(0)
    }
    for (const entry of dynamicRun.runs) expect(entry.diagnostics.screenMisses).toBe(0)
  }, 120_000)

  it('without dynamic margin the result has no re-sets, so its hash is unchanged', () => {
    const run = simulate(scenario({ accounts: 40, model: 'shock:flash-crash-15m' }))
    for (const outcome of run.result.outcomes) expect(outcome.marginResets).toBeUndefined()
    expect(JSON.stringify(simulationResultToJson(run.result))).not.toContain('marginResets')
    expect(metricRows(run.result).map((row) => row.key)).not.toContain('margin_reset_count')
    expect(renderReport(run.result)).not.toContain('<h2>Dynamic margin</h2>')
  })

  it('puts the re-sets in the result JSON, the report and the metrics', () => {
    const run = simulate(scenario({ accounts: 40, dynamicMargin: { every: '5m' } }))
    const outcome = run.result.outcomes[0]
    const resets = outcome?.marginResets ?? []
    expect(resets.length).toBeGreaterThan(0)
    const back = parseSimulationResult(
      JSON.parse(JSON.stringify(simulationResultToJson(run.result))),
    )
    expect(back.ok).toBe(true)
    if (back.ok) expect(back.value.outcomes[0]?.marginResets).toEqual(resets)
    const rows = metricRows(run.result)
    let peak = ONE
    for (const reset of resets) if (reset.factor > peak) peak = reset.factor
    expect(rows.find((row) => row.key === 'margin_reset_count')?.values[0]).toBe(
      String(resets.length),
    )
    expect(rows.find((row) => row.key === 'margin_factor_peak')?.values[0]).toBe(formatFixed(peak))
    const html = renderReport(run.result)
    expect(html).toContain('<h2>Dynamic margin</h2>')
    expect(html).toContain('Margin factor: rates in force ÷ published rates')
  })

  describe.skipIf(!existsSync(CRASH_FILE))(
    '2020-03-12/13 with the defaults (../shared/data, absent in a bare clone)',
    () => {
      it('re-sets during the fall, liquidates more accounts, more of them earlier; conserves', () => {
        const staticRun = simulate(scenario({ dataFile: CRASH_FILE, accounts: 150 }))
        const dynamicRun = simulate(
          scenario({ dataFile: CRASH_FILE, accounts: 150, dynamicMargin: {} }),
        )
        const resets = dynamicRun.result.outcomes[0]?.marginResets ?? []
        const crash = crashTimes(dynamicRun)
        // The APC rate in the crash is several times its level at the end of the warm-up.
        expect(
          resets.some(
            (reset) =>
              reset.factor >= 2n * ONE && reset.timeMs >= crash.from && reset.timeMs <= crash.low,
          ),
        ).toBe(true)
        for (const entry of comparison(staticRun, dynamicRun)) {
          expect(entry.conserved, entry.ruleSetId).toBe(true)
          expect(entry.after.size, entry.ruleSetId).toBeGreaterThanOrEqual(entry.before.size)
          expect(entry.earlier, entry.ruleSetId).toBeGreaterThan(entry.later)
        }
      }, 180_000)
    },
  )
})

describe('SIMRUN-019: dynamic margin in workers and in the journal', () => {
  it('Monte Carlo workers get the document as data and give the same hashes as this thread', async () => {
    const options = scenario({
      accounts: 40,
      model: 'shock:flash-crash-15m',
      dynamicMargin: { every: '5m', warmup: '1h', minimumChange: '0.05' },
    })
    const here = await runMonteCarlo({ options, seeds: [1, 2], workers: 0, fullSeeds: [1] })
    const threads = await runMonteCarlo({ options, seeds: [1, 2], workers: 1, fullSeeds: [1] })
    const hashes = (outcome: typeof here) =>
      outcome.results.map((entry) => [entry.seed, entry.resultHash])
    expect(hashes(threads)).toEqual(hashes(here))
    expect(here.results[0]?.run?.result.outcomes[0]?.marginResets).toBeDefined()
  }, 120_000)

  it('journals the re-sets as rule changes and replays to the final state hash', async () => {
    const options = scenario({ accounts: 60, dynamicMargin: { every: '5m' } })
    const built = buildScenario(options, 2)
    if (!built.ok) throw new Error('the scenario builds')
    const plain = runSimulation(built.value, options, 2)
    const journaled = await runJournaledSimulation(built.value, options, 2, join(directory, 'j'))
    expect(journaled.run.resultHash).toBe(plain.resultHash)
    const resets = plain.result.outcomes[0]?.marginResets ?? []
    expect(resets.length).toBeGreaterThan(0)
    for (const journal of journaled.journals) {
      const store = openSqliteStore(journal.path)
      try {
        const recovery = await recoverState(store, {
          useSnapshot: false,
          verifyEveryStateHash: true,
        })
        expect(recovery.stateHash).toBe(journal.stateHash)
        expect(recovery.replayedEntries).toBe(journal.entries)
        const changes = (await store.readRange(1, 1_000_000)).filter((entry) =>
          entry.commandJson.includes('"type":"rules_change"'),
        )
        // The seeding's change, then one per re-set, each effective at its own time.
        expect(changes).toHaveLength(resets.length + 1)
        changes.slice(1).forEach((entry, index) => {
          expect(entry.timestampMs).toBe(resets[index]?.timeMs)
          expect(entry.commandJson).toContain(`"effectiveTimeMs":${entry.timestampMs}`)
          expect(entry.eventsJson).toContain('"rules_changed"')
        })
      } finally {
        await store.close()
      }
    }
  }, 120_000)
})

describe('SIMRUN-020: a bad dynamic margin document comes back as issues', () => {
  it.each([
    [{ every: '90s' }, '--dynamic-margin every', 'every_off_interval'],
    [{ warmup: '4 hours' }, '--dynamic-margin warmup', 'not_a_duration'],
    [{ lambda: '2' }, '--dynamic-margin lambda', 'out_of_range'],
    [{ speed: 'fast' }, '--dynamic-margin speed', 'unknown_field'],
  ])('%j → %s', (document, path, code) => {
    const built = buildScenario(scenario({ accounts: 10, dynamicMargin: document }), 1)
    expect(built.ok).toBe(false)
    if (built.ok) return
    expect(built.issues[0]).toMatchObject({ path, code })
  })

  it('builds the re-sets once per path when the document is good', () => {
    const built = buildScenario(scenario({ accounts: 10, dynamicMargin: {} }), 1)
    expect(built.ok && built.value.marginResets !== undefined).toBe(true)
    const none = buildScenario(scenario({ accounts: 10 }), 1)
    expect(none.ok && none.value.marginResets === undefined).toBe(true)
  })
})
