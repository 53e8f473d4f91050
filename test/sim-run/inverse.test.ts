/**
 * Coin-margined (inverse) venues in the simulator (SIMRUN-001, SIMRUN-004, SIMRUN-055, SIM-055):
 * the same seeded people on a linear and an inverse venue, conservation in the coin, per-seed
 * determinism, rule sets on worker threads, and the report's amounts in each settlement asset and
 * in USD.
 */
import { describe, expect, it } from 'vitest'
import { quotingOf } from '../../src/core/model/instrument.ts'
import { entryValueOf } from '../../src/core/model/position-math.ts'
import {
  abs,
  div,
  type Fixed,
  fixedOf,
  isMultipleOf,
  mul,
  roundToStep,
} from '../../src/core/num/fixed.ts'
import { loadRuleSet } from '../../src/presets/index.ts'
import { createImpactModel } from '../../src/sim/impact.ts'
import {
  DEFAULT_POPULATION_MARKET,
  defaultPopulationSpec,
  generatePopulation,
} from '../../src/sim/population.ts'
import { metricsCsv } from '../../src/sim/report/csv.ts'
import { renderReport } from '../../src/sim/report/html.ts'
import { parseSimulationResult, simulationResultToJson } from '../../src/sim/report/result.ts'
import { metricRows } from '../../src/sim/report/summary.ts'
import { runMonteCarlo, runSeed } from '../../src/sim/run/monte-carlo.ts'
import {
  allPresetIds,
  DEFAULT_SCENARIO_OPTIONS,
  expandRuleSetNames,
  loadRuleSets,
  type ScenarioOptions,
} from '../../src/sim/run/scenario.ts'
import {
  COIN_AMOUNT_STEP,
  mapAccount,
  quoteNotional,
  simulatedMarketOf,
} from '../../src/sim/run/setup.ts'

const INVERSE_PRESETS = ['binance-coinm', 'bitmex', 'bybit-inverse', 'deribit'] as const

function marketOf(preset: string) {
  const loaded = loadRuleSet(preset)
  if (!loaded.ok) throw new Error(preset)
  const choice = simulatedMarketOf(loaded.ruleSet, 'BTC')
  if (!choice.ok) throw new Error(choice.message)
  return choice.market
}

function seedRun(scenario: ScenarioOptions, seed: number) {
  const outcome = runSeed(scenario, seed, true)
  if (!outcome.ok) throw new Error(outcome.issues.map((entry) => entry.message).join('; '))
  const run = outcome.value.run
  if (run === undefined) throw new Error('full run expected')
  return run
}

describe('SIMRUN-001/SIMRUN-004: mapping the population onto coin-margined markets', () => {
  const population = generatePopulation(defaultPopulationSpec({ accountCount: 300, seed: 11 }))
  const source = DEFAULT_POPULATION_MARKET.instrument
  const reference = DEFAULT_POPULATION_MARKET.referencePrice

  it('SIMRUN-001: each inverse preset gets its inverse BTC perpetual (XBT names BTC)', () => {
    const markets = INVERSE_PRESETS.map((preset) => marketOf(preset).instrument)
    expect(markets.map((instrument) => instrument.market)).toEqual([
      'BTCUSD_PERP',
      'XBTUSD',
      'BTCUSD',
      'BTC-PERPETUAL',
    ])
    for (const instrument of markets) expect(quotingOf(instrument.kind)).toBe('inverse')
    // A linear market comes first where a rule set has both kinds; no market of the underlying: refused.
    expect(marketOf('binance-usdm').instrument.market).toBe('BTCUSDT')
    const usdm = loadRuleSet('binance-usdm')
    if (!usdm.ok) throw new Error('binance-usdm')
    expect(simulatedMarketOf(usdm.ruleSet, 'DOGE').ok).toBe(false)
  })

  it('SIMRUN-004: same side, leverage, stops and notional (to the contract); collateral in the coin at the entry price', () => {
    for (const preset of INVERSE_PRESETS) {
      const market = marketOf(preset)
      const target = market.instrument
      for (const account of population.accounts) {
        const mapped = mapAccount(account, source, market, reference)
        const original = account.positions[0]
        if (original === undefined) throw new Error('a position')
        const entry = roundToStep(original.entryPrice, target.tickSize, 'half_even')
        const notional = abs(quoteNotional(source, original.size, entry))
        // Size: the notional in whole lots of contracts (USD amounts), rounded toward zero.
        const contracts = abs(mapped.size)
        expect(isMultipleOf(contracts, target.lotSize)).toBe(true)
        expect(mul(contracts, target.contractSize, 'exact') <= notional).toBe(true)
        expect(
          notional - mul(contracts, target.contractSize, 'exact') <
            mul(target.lotSize, target.contractSize, 'exact'),
        ).toBe(true)
        if (mapped.size === 0n) {
          expect(mapped.seed.positions).toHaveLength(0)
          continue
        }
        expect(mapped.size > 0n).toBe(original.size > 0n)
        expect(mapped.entryPrice).toBe(entry)
        expect(mapped.stopLoss).toBe(original.stopLoss)
        expect(mapped.takeProfit).toBe(original.takeProfit)
        // Collateral: USDT ÷ entry, to the satoshi, all in the settlement asset.
        const position = mapped.seed.positions[0]
        if (position === undefined) throw new Error('a mapped position')
        const coin = roundToStep(
          div(account.collateral, entry, 'half_even'),
          COIN_AMOUNT_STEP,
          'half_even',
        )
        const held =
          (mapped.seed.balances.get(target.settlementAsset) ?? 0n) + position.isolatedMargin
        expect(held).toBe(coin)
        expect(
          [...mapped.seed.balances.keys()].every((asset) => asset === target.settlementAsset),
        ).toBe(true)
        expect(position.leverage).toBe(
          account.leverage < market.maxLeverage ? account.leverage : market.maxLeverage,
        )
        if (account.marginMode === 'isolated') {
          const wanted = div(
            abs(entryValueOf(target, position.size, entry)),
            position.leverage ?? (1n as Fixed),
            'ceil',
          )
          expect(position.isolatedMargin).toBe(wanted < coin ? wanted : coin)
        }
        if (account.dailyLossLimit !== undefined && mapped.dailyLossLimit !== undefined)
          expect(mapped.dailyLossLimit).toBe(
            roundToStep(
              div(account.dailyLossLimit, entry, 'half_even'),
              COIN_AMOUNT_STEP,
              'half_even',
            ),
          )
      }
    }
  })

  it('SIMRUN-004: the same people on every venue: one account id, one side, per population account', () => {
    const linear = marketOf('binance-usdm')
    const inverse = marketOf('bybit-inverse')
    const onLinear = population.accounts.map((account) =>
      mapAccount(account, source, linear, reference),
    )
    const onInverse = population.accounts.map((account) =>
      mapAccount(account, source, inverse, reference),
    )
    expect(onInverse.map((entry) => entry.id)).toEqual(onLinear.map((entry) => entry.id))
    onLinear.forEach((entry, index) => {
      const other = onInverse[index]
      if (other === undefined || entry.size === 0n || other.size === 0n) return
      expect(other.size > 0n).toBe(entry.size > 0n)
    })
  })
})

describe('SIM-031: market impact takes the flow in the quote currency', () => {
  it('an inverse close moves the price as a linear close of the same notional', () => {
    const linear = DEFAULT_POPULATION_MARKET.instrument
    const inverse = marketOf('binance-coinm').instrument
    const price = fixedOf('50000')
    const linearFlow = quoteNotional(linear, fixedOf('-2'), price)
    const inverseFlow = quoteNotional(inverse, fixedOf('-1000'), price)
    expect(linearFlow).toBe(fixedOf('-100000'))
    expect(inverseFlow).toBe(fixedOf('-100000'))
    const params = { impactCoefficient: 0.7, volatility: 0.04, volume: 1e7, halfLifeSteps: 30 }
    const a = createImpactModel(params)
    const b = createImpactModel(params)
    expect(a.applyForcedFlow(0, Number(linearFlow) / 1e18)).toBe(
      b.applyForcedFlow(0, Number(inverseFlow) / 1e18),
    )
  })
})

describe('SIMRUN-004/SIMRUN-015/SIMRUN-031: seeded runs on inverse presets', () => {
  const scenario: ScenarioOptions = {
    ...DEFAULT_SCENARIO_OPTIONS,
    model: 'shock:flash-crash-15m',
    ruleSets: ['binance-usdm', 'binance-coinm', 'bitmex'],
    accounts: 150,
    insuranceFund: '1000',
  }

  it('conserves the coin, records a point per step, and repeats bit for bit per seed', () => {
    const first = seedRun(scenario, 3)
    const again = seedRun(scenario, 3)
    const other = seedRun(scenario, 4)
    expect(again.resultHash).toBe(first.resultHash)
    expect(other.resultHash).not.toBe(first.resultHash)
    const [linear, coinm, bitmex] = first.runs
    if (linear === undefined || coinm === undefined || bitmex === undefined) throw new Error('runs')
    expect(coinm.settlementAsset).toBe('BTC')
    expect(bitmex.settlementAsset).toBe('XBT')
    for (const entry of first.runs) {
      expect(entry.outcome.settlementAsset).toBe(entry.settlementAsset)
      for (const asset of entry.diagnostics.conservation) expect(asset.held).toBe(asset.expected)
      expect(entry.outcome.prices).toHaveLength(first.result.exogenousPrices.length)
      expect(entry.outcome.insuranceFund).toHaveLength(first.result.exogenousPrices.length)
      expect(entry.metrics.liquidationCount).toBeGreaterThan(0)
    }
    // The starting fund is 1,000 USD: in the coin at the first price, to the satoshi.
    const start = first.result.exogenousPrices[0]?.price ?? fixedOf('1')
    expect(coinm.metrics.insuranceFundStart).toBe(
      roundToStep(div(fixedOf('1000'), start, 'half_even'), COIN_AMOUNT_STEP, 'half_even'),
    )
    expect(linear.metrics.insuranceFundStart).toBe(fixedOf('1000'))
    // Shortfalls sum to the bad debt.
    for (const outcome of first.result.outcomes)
      expect(outcome.shortfalls.reduce((total, entry) => total + entry.amount, 0n)).toBe(
        outcome.badDebt,
      )
  }, 120_000)

  it('SIMRUN-055: one seed gives the same result hash with its rule sets on 2 workers and in this thread', async () => {
    const here = await runMonteCarlo({ options: scenario, seeds: [5], workers: 0, fullSeeds: [5] })
    const spread = await runMonteCarlo({
      options: scenario,
      seeds: [5],
      workers: 2,
      fullSeeds: [5],
    })
    expect(spread.interrupted).toBe(false)
    expect(spread.results.map((entry) => entry.resultHash)).toEqual(
      here.results.map((entry) => entry.resultHash),
    )
    expect(spread.results[0]?.run?.resultHash).toBe(here.results[0]?.resultHash)
    expect(spread.results[0]?.figures).toEqual(here.results[0]?.figures)
  }, 120_000)

  it('SIM-055: the report gives amounts in each settlement asset and the main ones in USD', () => {
    const run = seedRun(scenario, 3)
    const rows = new Map(metricRows(run.result).map((row) => [row.key, row]))
    expect(rows.get('bad_debt')?.units).toEqual(['USDT', 'BTC', 'XBT'])
    expect(rows.get('bad_debt')?.unit).toBe('settlement asset')
    const inUsd = rows.get('liquidated_value_usd')
    expect(inUsd?.units).toEqual(['USD', 'USD', 'USD'])
    // USDT counts as USD as it is; coin amounts are valued at their fill price.
    expect(inUsd?.values[0]).toBe(rows.get('liquidated_value')?.values[0])
    const coinm = run.result.outcomes[1]
    if (coinm === undefined) throw new Error('outcome')
    const expected = coinm.forcedCloses
      .filter(
        (close) =>
          close.kind !== 'stop_loss' &&
          close.kind !== 'take_profit' &&
          close.kind !== 'daily_loss_limit',
      )
      .reduce((total, close) => total + mul(close.value, close.price, 'half_even'), 0n)
    expect(fixedOf(inUsd?.values[1] ?? '0')).toBe(expected)
    const csv = metricsCsv(run.result)
    expect(csv).toMatch(/^binance-coinm,[^,]+,bad_debt,BTC,/m)
    expect(csv).toMatch(/^bitmex,[^,]+,bad_debt,XBT,/m)
    expect(csv).toMatch(/^binance-usdm,[^,]+,bad_debt,USDT,/m)
    const html = renderReport(run.result)
    expect(html).toContain('coin-margined: amounts in BTC')
    expect(html).toContain('Insurance fund balance (USD at the simulated price)')
    const json = JSON.parse(JSON.stringify(simulationResultToJson(run.result))) as unknown
    const parsed = parseSimulationResult(json)
    expect(parsed.ok).toBe(true)
    if (parsed.ok)
      expect(simulationResultToJson(parsed.value)).toEqual(simulationResultToJson(run.result))
  }, 120_000)
})

describe('SIMRUN-001: every shipped preset can be simulated', () => {
  it('`all` names every current preset, and each has a market of the underlying', () => {
    const names = expandRuleSetNames(['binance-usdm', 'all'])
    expect(names[0]).toBe('binance-usdm')
    expect(new Set(names)).toEqual(new Set(allPresetIds()))
    for (const preset of INVERSE_PRESETS) expect(names).toContain(preset)
    const { ruleSets, issues } = loadRuleSets(['all'])
    expect(issues).toEqual([])
    expect(ruleSets.map((ruleSet) => ruleSet.id)).toEqual(allPresetIds())
  })
})
