/**
 * Simulator benchmark (docs/simulator.md, "Performance"): throughput of `lor simulate` in
 * account-ticks per second (accounts × path points × rule sets ÷ seconds), Monte Carlo scaling from
 * 1 to 2 worker threads, and the cost at 100,000 accounts of the two engine operations that bound a
 * run's time there (seeding, and one mark that evaluates every holder).
 *
 * Run alone: node --import tsx bench/simulate.ts [--quick]. `benchSimulate` returns the rows.
 */
import { existsSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import { fileURLToPath } from 'node:url'
import { createEngineState, execute, seedState } from '../src/core/engine/index.ts'
import { runMonteCarlo } from '../src/sim/run/monte-carlo.ts'
import {
  buildScenario,
  DEFAULT_SCENARIO_OPTIONS,
  type ScenarioOptions,
} from '../src/sim/run/scenario.ts'
import { mapPopulation, simulatedMarketOf } from '../src/sim/run/setup.ts'
import { runSimulation } from '../src/sim/run/simulate.ts'

export interface SimulateBenchRow {
  readonly measure: string
  readonly result: string
  readonly note: string
}

const WINDOW_2025 = fileURLToPath(
  new URL('../../shared/data/binance-btcusdt-1m/2025-10-10_11.csv', import.meta.url),
)

function seconds(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e9
}

/** Runs the simulator benchmark; `quick` uses smaller populations. */
export async function benchSimulate(quick = false): Promise<SimulateBenchRow[]> {
  const rows: SimulateBenchRow[] = []
  const hasWindow = existsSync(WINDOW_2025)
  const accounts = quick ? 200 : 1000
  const options: ScenarioOptions = {
    ...DEFAULT_SCENARIO_OPTIONS,
    accounts,
    ...(hasWindow ? { dataFile: WINDOW_2025 } : {}),
  }
  const built = buildScenario(options, 1)
  if (!built.ok) throw new Error(built.issues.map((entry) => entry.message).join('; '))
  const scenario = built.value
  const start = process.hrtime.bigint()
  const run = runSimulation(scenario, options, 1)
  const elapsed = seconds(start)
  const points = scenario.path.points.length
  const accountTicks = accounts * points * scenario.ruleSets.length
  const engineSteps = run.runs.reduce((total, entry) => total + entry.diagnostics.engineSteps, 0)
  rows.push({
    measure: 'end-to-end run',
    result: `${Math.round(accountTicks / elapsed).toLocaleString('en-US')} account-ticks/s`,
    note: `${accounts} accounts × ${points} points × ${scenario.ruleSets.length} rule sets in ${elapsed.toFixed(1)} s (${hasWindow ? '2025-10-10/11 window' : 'builtin-crash; 2025-10-10 window absent'}); engine given a mark in ${engineSteps} of ${points * scenario.ruleSets.length} steps`,
  })

  const { dataFile: _unused, ...withoutData } = options
  const mcOptions: ScenarioOptions = {
    ...withoutData,
    accounts: quick ? 60 : 150,
    model: 'shock:flash-crash-15m',
  }
  const seeds = [1, 2, 3, 4]
  const timings: number[] = []
  for (const workers of [1, 2]) {
    const begin = process.hrtime.bigint()
    await runMonteCarlo({ options: mcOptions, seeds, workers, fullSeeds: [] })
    timings.push(seconds(begin))
  }
  const [one = 0, two = 0] = timings
  rows.push({
    measure: 'Monte Carlo scaling',
    result: `${(one / two).toFixed(2)}× with 2 workers`,
    note: `${seeds.length} seeds of flash-crash-15m, ${mcOptions.accounts} accounts: 1 worker ${one.toFixed(1)} s, 2 workers ${two.toFixed(1)} s`,
  })

  // At 100,000 accounts: seeding, the first mark (every holder evaluated once) and a second mark
  // (only the holders the mark screen names, ENG-014), with the whole-state checks off as in a run.
  const large = buildScenario({ ...options, accounts: quick ? 20_000 : 100_000 }, 1)
  if (!large.ok) throw new Error('large population')
  const ruleSet = large.value.ruleSets[0]
  const choice = ruleSet === undefined ? null : simulatedMarketOf(ruleSet, 'BTC')
  if (ruleSet !== undefined && choice?.ok === true) {
    const mapped = mapPopulation(
      large.value.population,
      large.value.populationMarket.instrument,
      choice.market,
      large.value.populationMarket.referencePrice,
    )
    const state = createEngineState(ruleSet, { verify: false })
    const seedStart = process.hrtime.bigint()
    seedState(
      state,
      mapped.map((entry) => entry.seed),
      0,
    )
    const seedSeconds = seconds(seedStart)
    const markStart = process.hrtime.bigint()
    execute(
      state,
      {
        type: 'mark_price',
        market: choice.market.instrument.market,
        mark: large.value.path.points[0]?.price ?? choice.market.instrument.tickSize,
      },
      { sequence: 1, timestampMs: 1 },
    )
    const markSeconds = seconds(markStart)
    const firstMark = large.value.path.points[0]?.price ?? choice.market.instrument.tickSize
    const secondStart = process.hrtime.bigint()
    execute(
      state,
      {
        type: 'mark_price',
        market: choice.market.instrument.market,
        mark: (firstMark - choice.market.instrument.tickSize * 1000n) as typeof firstMark,
      },
      { sequence: 2, timestampMs: 2 },
    )
    const secondSeconds = seconds(secondStart)
    rows.push({
      measure: `engine at ${mapped.length.toLocaleString('en-US')} accounts`,
      result: `seed ${seedSeconds.toFixed(1)} s, first mark ${markSeconds.toFixed(2)} s, next mark ${secondSeconds.toFixed(3)} s`,
      note: 'the first mark evaluates every holder; later marks only those the mark screen names (ENG-014)',
    })
  }

  if (!quick && hasWindow) {
    // The target: what `lor simulate --data …2025-10-10_11.csv --accounts 100000 --no-journal`
    // runs (the three default presets, one worker thread each, at most two per core, as the CLI
    // does), then the same in one thread.
    const target: ScenarioOptions = { ...options, accounts: 100_000 }
    const workers = Math.min(target.ruleSets.length, 2 * availableParallelism())
    const parallelStart = process.hrtime.bigint()
    const spread = await runMonteCarlo({ options: target, seeds: [1], workers, fullSeeds: [1] })
    const parallelSeconds = seconds(parallelStart)
    const builtTarget = buildScenario(target, 1)
    if (!builtTarget.ok) throw new Error('target population')
    const targetStart = process.hrtime.bigint()
    const single = runSimulation(builtTarget.value, target, 1)
    const targetSeconds = seconds(targetStart)
    const same = spread.results[0]?.resultHash === single.resultHash
    rows.push({
      measure: 'target run: 100,000 accounts × 3 presets, 2025-10-10/11 window',
      result: `${parallelSeconds.toFixed(1)} s on ${workers} workers, ${targetSeconds.toFixed(1)} s in one thread`,
      note: `${builtTarget.value.ruleSets.length} rule sets × ${builtTarget.value.path.points.length} points; target 60 s; result hashes ${same ? 'equal' : 'DIFFER'}`,
    })
  }
  return rows
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const rows = await benchSimulate(process.argv.includes('--quick'))
  for (const row of rows) process.stdout.write(`${row.measure}: ${row.result}\n  ${row.note}\n`)
}
