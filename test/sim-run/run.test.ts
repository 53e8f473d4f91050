import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { abs, fixedOf, isMultipleOf, type Fixed } from '../../src/core/num/fixed.ts'
import { loadRuleSet } from '../../src/presets/index.ts'
import {
  DEFAULT_POPULATION_MARKET,
  defaultPopulationSpec,
  generatePopulation,
} from '../../src/sim/population.ts'
import { runMonteCarlo, runSeed } from '../../src/sim/run/monte-carlo.ts'
import { DEFAULT_SCENARIO_OPTIONS, type ScenarioOptions } from '../../src/sim/run/scenario.ts'
import { mapAccount, simulatedMarketOf } from '../../src/sim/run/setup.ts'
import { TriggerBook } from '../../src/sim/run/trigger-heap.ts'

const CRASH_FILE = fileURLToPath(
  new URL('../../../shared/data/binance-btcusdt-1m/2020-03-12_13.csv', import.meta.url),
)

function options(overrides: Partial<ScenarioOptions>): ScenarioOptions {
  return { ...DEFAULT_SCENARIO_OPTIONS, ruleSets: ['binance-usdm'], accounts: 120, ...overrides }
}

function seedRun(scenario: ScenarioOptions, seed = 1) {
  const outcome = runSeed(scenario, seed, true)
  if (!outcome.ok) throw new Error(outcome.issues.map((entry) => entry.message).join('; '))
  const run = outcome.value.run
  if (run === undefined) throw new Error('full run expected')
  return { seedResult: outcome.value, run }
}

describe('trigger book (SIMRUN-010)', () => {
  it('fires exactly the current triggers the price crosses', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ key: fc.integer({ min: 1, max: 100 }), fall: fc.boolean() }), {
          maxLength: 40,
        }),
        fc.integer({ min: 1, max: 100 }),
        (entries, price) => {
          const book = new TriggerBook(entries.length)
          entries.forEach((entry, account) => {
            const version = book.renew(account)
            const trigger = {
              key: BigInt(entry.key) as Fixed,
              account,
              kind: 'liquidation' as const,
              version,
            }
            if (entry.fall) book.addFall(trigger)
            else book.addRise(trigger)
          })
          const fired = new Set(
            book.takeFired(BigInt(price) as Fixed).map((entry) => entry.account),
          )
          entries.forEach((entry, account) => {
            const expected = entry.fall ? price <= entry.key : price >= entry.key
            expect(fired.has(account)).toBe(expected)
          })
        },
      ),
    )
  })

  it('drops the triggers of an account whose version was renewed', () => {
    const book = new TriggerBook(1)
    book.addFall({ key: 10n as Fixed, account: 0, kind: 'stop_loss', version: book.renew(0) })
    book.renew(0)
    expect(book.takeFired(5n as Fixed)).toEqual([])
  })
})

describe('mapping a population onto a rule set (SIMRUN-001, SIMRUN-002)', () => {
  it('keeps sizes on the lot, entries on the tick and leverage within the market maximum', () => {
    const population = generatePopulation(defaultPopulationSpec({ accountCount: 200, seed: 7 }))
    for (const preset of ['binance-usdm', 'bybit-linear', 'hyperliquid']) {
      const loaded = loadRuleSet(preset)
      if (!loaded.ok) throw new Error(preset)
      const choice = simulatedMarketOf(loaded.ruleSet, 'BTC')
      if (!choice.ok) throw new Error(choice.message)
      const instrument = choice.market.instrument
      for (const account of population.accounts) {
        const mapped = mapAccount(
          account,
          DEFAULT_POPULATION_MARKET.instrument,
          choice.market,
          DEFAULT_POPULATION_MARKET.referencePrice,
        )
        for (const position of mapped.seed.positions) {
          expect(isMultipleOf(abs(position.size), instrument.lotSize)).toBe(true)
          expect(isMultipleOf(position.entryPrice, instrument.tickSize)).toBe(true)
          expect(position.leverage !== null && position.leverage <= choice.market.maxLeverage).toBe(
            true,
          )
        }
      }
    }
  })

  it('refuses a rule set without a market of the underlying (coin-margined ones map, inverse.test.ts)', () => {
    const loaded = loadRuleSet('binance-coinm')
    if (!loaded.ok) throw new Error('binance-coinm')
    expect(simulatedMarketOf(loaded.ruleSet, 'BTC').ok).toBe(true)
    expect(simulatedMarketOf(loaded.ruleSet, 'ETH').ok).toBe(false)
  })
})

describe('tick loop and comparison (SIMRUN-011..SIMRUN-033)', () => {
  const flash = options({
    model: 'shock:flash-crash-15m',
    ruleSets: ['binance-usdm', 'hyperliquid'],
  })

  it('SIMRUN-031: the same seed gives the same result hash; another seed another', () => {
    const first = seedRun(flash, 3)
    const again = seedRun(flash, 3)
    const other = seedRun(flash, 4)
    expect(again.run.resultHash).toBe(first.run.resultHash)
    expect(other.run.resultHash).not.toBe(first.run.resultHash)
  })

  it('SIMRUN-015: every run conserves each asset and records one point per step', () => {
    const { run } = seedRun(flash, 5)
    expect(run.result.outcomes.map((outcome) => outcome.ruleSetId)).toEqual([
      'binance-usdm',
      'hyperliquid',
    ])
    for (const entry of run.runs) {
      expect(entry.diagnostics.conservation.length).toBeGreaterThan(0)
      for (const asset of entry.diagnostics.conservation) expect(asset.held).toBe(asset.expected)
      expect(entry.outcome.prices).toHaveLength(run.result.exogenousPrices.length)
      expect(entry.outcome.insuranceFund).toHaveLength(run.result.exogenousPrices.length)
      expect(entry.diagnostics.screenMisses).toBe(0)
    }
  })

  it('SIMRUN-016: forced selling pushes the simulated price below the exogenous one in a crash', () => {
    const { run } = seedRun({ ...flash, impactCoefficient: 3 }, 2)
    const entry = run.runs[0]
    if (entry === undefined) throw new Error('a run')
    expect(entry.metrics.liquidationCount).toBeGreaterThan(0)
    const lowest = (prices: readonly { price: Fixed }[]) =>
      prices.reduce((low, point) => (point.price < low ? point.price : low), prices[0]?.price ?? 0n)
    expect(lowest(entry.outcome.prices)).toBeLessThan(lowest(run.result.exogenousPrices))
  })

  it('SIMRUN-017: a calm generated day liquidates few accounts, a crash many', () => {
    // The default population has 15 % of accounts at 25–100x, which a 1–2 % daily move liquidates.
    const calm = seedRun(options({ model: 'shock:calm-day', accounts: 300 }), 1).run.runs[0]
    const crash = seedRun(options({ accounts: 300 }), 1).run.runs[0]
    if (calm === undefined || crash === undefined) throw new Error('runs')
    expect(calm.metrics.liquidationCount).toBeLessThanOrEqual(30)
    expect(calm.metrics.liquidationCount * 4).toBeLessThan(crash.metrics.liquidationCount)
  }, 60_000)

  describe.skipIf(!existsSync(CRASH_FILE))(
    'SIMRUN-018: 2020-03-12/13 (../shared/data, absent in a bare clone)',
    () => {
      it('produces bad debt that a zero insurance fund cannot cover', () => {
        const { run } = seedRun(options({ dataFile: CRASH_FILE, accounts: 150 }), 1)
        const entry = run.runs[0]
        if (entry === undefined) throw new Error('a run')
        expect(entry.metrics.liquidationCount).toBeGreaterThan(10)
        expect(entry.metrics.badDebt).toBeGreaterThan(0n)
        expect(entry.metrics.insuranceFundStart).toBe(0n)
        expect(entry.metrics.uncoveredLoss).toBeGreaterThan(0n)
        expect(entry.metrics.coverTwoAdequate).toBe(false)
      }, 120_000)
    },
  )
})

describe('Monte Carlo on worker threads (SIMRUN-050..SIMRUN-052)', () => {
  const scenario = options({ model: 'shock:flash-crash-15m', accounts: 60 })

  it('gives each seed the same result hash with 1 and 2 workers, and in this thread', async () => {
    const seeds = [1, 2, 3]
    const one = await runMonteCarlo({ options: scenario, seeds, workers: 1, fullSeeds: [] })
    const two = await runMonteCarlo({ options: scenario, seeds, workers: 2, fullSeeds: [1] })
    const here = await runMonteCarlo({ options: scenario, seeds, workers: 0, fullSeeds: [] })
    const hashes = (outcome: typeof one) =>
      outcome.results.map((entry) => [entry.seed, entry.resultHash])
    expect(one.interrupted).toBe(false)
    expect(hashes(one)).toHaveLength(3)
    expect(hashes(two)).toEqual(hashes(one))
    expect(hashes(here)).toEqual(hashes(one))
    expect(two.results[0]?.run?.resultHash).toBe(two.results[0]?.resultHash)
  }, 120_000)

  it('an abort stops handing out seeds and keeps the finished ones', async () => {
    const controller = new AbortController()
    const outcome = await runMonteCarlo({
      options: scenario,
      seeds: [1, 2, 3, 4],
      workers: 0,
      fullSeeds: [],
      signal: controller.signal,
      onProgress: ({ done }) => {
        if (done === 2) controller.abort()
      },
    })
    expect(outcome.interrupted).toBe(true)
    expect(outcome.results.map((entry) => entry.seed)).toEqual([1, 2])
  })

  it('reports bad options as issues', () => {
    const outcome = runSeed(options({ model: 'shock:nope' }), 1, false)
    expect(outcome.ok).toBe(false)
    void fixedOf
  })
})
