/**
 * Options in the simulator (docs/spec/simulator.md SIM-025..SIM-027, docs/spec/simulator-run.md
 * SIMRUN-005): option holdings added to a population, listed in the rule sets whose portfolio
 * model can margin them, marked and liquidated by the engine along the path, expired at their
 * time, journaled and replayed.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { abs, fixedOf, formatFixed } from '../../src/core/num/fixed.ts'
import {
  addOptionHoldings,
  DEFAULT_OPTION_HOLDINGS,
  type OptionHoldingsSpec,
  parseOptionHoldingsSpec,
  strikeStepOf,
} from '../../src/sim/option-holdings.ts'
import {
  DEFAULT_POPULATION_MARKET,
  defaultPopulationSpec,
  generatePopulation,
  parsePopulation,
  populationHash,
  populationToJson,
} from '../../src/sim/population.ts'
import { impliedVolatilityResets } from '../../src/sim/run/implied-volatility.ts'
import { runJournaledSimulation } from '../../src/sim/run/journal.ts'
import {
  type BuiltScenario,
  buildScenario,
  DEFAULT_SCENARIO_OPTIONS,
  type ScenarioOptions,
} from '../../src/sim/run/scenario.ts'
import { listOptionSeries, optionSeriesOf, simulatedMarketOf } from '../../src/sim/run/setup.ts'
import { runRuleSet, runSimulation } from '../../src/sim/run/simulate.ts'
import { expectJournalsReplay } from './replay-check.ts'
import { loadRuleSet } from '../../src/presets/index.ts'

const market = DEFAULT_POPULATION_MARKET

function population(accounts: number, spec: OptionHoldingsSpec, seed = 4) {
  const base = generatePopulation(defaultPopulationSpec({ seed, accountCount: accounts }))
  return { base, withOptions: addOptionHoldings(base, spec, market) }
}

describe('SIM-025 option holdings are validated data', () => {
  it('takes the defaults for omitted fields', () => {
    const checked = parseOptionHoldingsSpec({})
    expect(checked.ok && checked.value).toEqual(DEFAULT_OPTION_HOLDINGS)
  })

  it.each([
    [{ usage: 2 }, '$.usage'],
    [{ strategies: { straddle: 1 } }, '$.strategies.straddle'],
    [{ strategies: { long: 0 } }, '$.strategies'],
    [{ strikeDistances: [] }, '$.strikeDistances'],
    [{ expiryDays: [0.5] }, '$.expiryDays'],
    [{ lotSize: '-1' }, '$.lotSize'],
    [{ impliedVolatility: 0.6 }, '$.impliedVolatility'],
    [{ writerLeverageMinimum: 4, writerLeverageMaximum: 2 }, '$.writerLeverageMinimum'],
    [{ volatility: '0.6' }, '$.volatility'],
    [{ volatilityFromPath: 'yes' }, '$.volatilityFromPath'],
    [{ volatilityLambda: '1' }, '$.volatilityLambda'],
    [{ volatilityEveryMinutes: 0 }, '$.volatilityEveryMinutes'],
  ])('refuses %j at %s', (input, path) => {
    const checked = parseOptionHoldingsSpec(input)
    expect(checked.ok).toBe(false)
    if (!checked.ok) {
      expect(checked.issues.map((found) => found.path)).toContain(path)
      expect(checked.issues.every((found) => found.code === 'option_holdings_invalid')).toBe(true)
    }
  })

  it('puts strikes on the power of ten at or below 1 % of the reference', () => {
    expect(formatFixed(strikeStepOf(fixedOf('60000')))).toBe('100')
    expect(formatFixed(strikeStepOf(fixedOf('7900')))).toBe('10')
    expect(formatFixed(strikeStepOf(fixedOf('100')))).toBe('1')
    expect(formatFixed(strikeStepOf(fixedOf('0.5')))).toBe('0.001')
  })
})

describe('SIM-026 option holdings in a population', () => {
  const spec = { ...DEFAULT_OPTION_HOLDINGS, usage: 0.6, lotSize: '0.01' }
  const { base, withOptions } = population(400, spec)

  it('leaves collateral, perpetual positions and exits as they were', () => {
    expect(withOptions.accounts).toHaveLength(base.accounts.length)
    withOptions.accounts.forEach((account, index) => {
      const before = base.accounts[index]
      expect(account.id).toBe(before?.id)
      expect(account.collateral).toBe(before?.collateral)
      expect(account.positions).toEqual(before?.positions)
      expect(account.dailyLossLimit).toBe(before?.dailyLossLimit)
      if (account.options === undefined) expect(account.marginMode).toBe(before?.marginMode)
      else expect(account.marginMode).toBe('cross')
    })
  })

  it('draws each strategy on its side, on the strike step and lot, from the seed', () => {
    const holders = withOptions.accounts.filter((account) => account.options !== undefined)
    expect(holders.length).toBeGreaterThan(60)
    const step = strikeStepOf(market.referencePrice)
    const lot = fixedOf(spec.lotSize)
    const strategies = new Set<string>()
    for (const account of holders) {
      for (const option of account.options ?? []) {
        strategies.add(option.strategy)
        expect(option.strike % step).toBe(0n)
        expect(abs(option.size) % lot).toBe(0n)
        expect(option.size).not.toBe(0n)
        expect(spec.expiryDays).toContain(option.expiryDays)
        if (option.right === 'put') expect(option.strike).toBeLessThan(market.referencePrice)
        else expect(option.strike).toBeGreaterThan(market.referencePrice)
        const perpetual = account.positions[0]?.size ?? 0n
        if (option.strategy === 'protective') {
          expect(option.size).toBeGreaterThan(0n)
          expect(option.right).toBe(perpetual > 0n ? 'put' : 'call')
        }
        if (option.strategy === 'covered') {
          expect(option.size).toBeLessThan(0n)
          expect(option.right).toBe(perpetual > 0n ? 'call' : 'put')
        }
        if (option.strategy === 'naked_write') expect(option.size).toBeLessThan(0n)
        if (option.strategy === 'long') expect(option.size).toBeGreaterThan(0n)
      }
    }
    expect([...strategies].sort()).toEqual(['covered', 'long', 'naked_write', 'protective'])
    const again = addOptionHoldings(base, spec, market)
    expect(populationHash(again)).toBe(populationHash(withOptions))
    expect(populationHash(withOptions)).not.toBe(populationHash(base))
  })

  it('round-trips through the population file form', () => {
    const parsed = parsePopulation(populationToJson(withOptions))
    expect(parsed.ok).toBe(true)
    if (parsed.ok) expect(populationHash(parsed.value)).toBe(populationHash(withOptions))
  })

  it('refuses an isolated account holding options in a file', () => {
    const json = populationToJson(withOptions) as { accounts: Record<string, unknown>[] }
    const index = json.accounts.findIndex((account) => account.options !== undefined)
    const account = json.accounts[index]
    if (account === undefined) throw new Error('a holder is expected')
    account.marginMode = 'isolated'
    const parsed = parsePopulation(json)
    expect(parsed.ok).toBe(false)
    if (!parsed.ok)
      expect(parsed.issues.map((found) => found.path)).toContain(`$.accounts[${index}].marginMode`)
  })
})

describe('SIMRUN-005 option series listed in a rule set', () => {
  const spec = { ...DEFAULT_OPTION_HOLDINGS, usage: 0.5, lotSize: '0.01' }
  const { withOptions } = population(200, spec)
  const series = optionSeriesOf(withOptions, market.instrument.market)
  const load = (id: string) => {
    const loaded = loadRuleSet(id)
    if (!loaded.ok) throw new Error(`preset ${id}`)
    const choice = simulatedMarketOf(loaded.ruleSet, 'BTC')
    if (!choice.ok) throw new Error(choice.message)
    return { ruleSet: loaded.ruleSet, market: choice.market }
  }
  const listing = {
    startTimeMs: Date.UTC(2025, 9, 10),
    firstMark: fixedOf('60000'),
    lotSize: fixedOf('0.01'),
    volatility: fixedOf('0.6'),
  }

  it('lists every series under the portfolio model, validated, at a positive premium', () => {
    expect(series.length).toBe(4)
    const { ruleSet, market: perpetual } = load('deribit-pm')
    const listed = listOptionSeries(ruleSet, perpetual, series, listing)
    expect(listed.omitted).toBeUndefined()
    expect([...listed.markets.values()].sort()).toEqual([
      'BTC-9NOV25-54000-P',
      'BTC-9NOV25-57000-P',
      'BTC-9NOV25-63000-C',
      'BTC-9NOV25-66000-C',
    ])
    for (const id of listed.markets.values()) {
      const option = listed.ruleSet.markets.get(id)?.instrument
      expect(option?.option?.underlyingMarket).toBe('BTC-PERPETUAL')
      expect(option?.settlementAsset).toBe('BTC')
      expect(option?.expiryTimeMs).toBe(listing.startTimeMs + 30 * 86_400_000)
      expect(listed.ruleSet.portfolioMargin?.markets.get(id)?.product).toBe('BTC')
      expect(listed.premiums.get(id)).toBeGreaterThan(0n)
    }
  })

  it('leaves the options out of a rule set without a portfolio model, saying why', () => {
    const { ruleSet, market: perpetual } = load('binance-usdm')
    const listed = listOptionSeries(ruleSet, perpetual, series, listing)
    expect(listed.ruleSet).toBe(ruleSet)
    expect(listed.markets.size).toBe(0)
    expect(listed.omitted).toMatch(/no portfolio model over BTCUSDT/)
  })
})

describe('SIMRUN-005 options through a run', () => {
  const scenario = (holdings: Partial<OptionHoldingsSpec> | undefined): ScenarioOptions => ({
    ...DEFAULT_SCENARIO_OPTIONS,
    model: 'shock:flash-crash-15m',
    ruleSets: ['deribit-pm', 'binance-usdm'],
    accounts: 60,
    insuranceFund: '1000',
    ...(holdings === undefined
      ? {}
      : { optionHoldings: { ...DEFAULT_OPTION_HOLDINGS, lotSize: '0.01', ...holdings } }),
  })
  const build = (options: ScenarioOptions, seed = 2): BuiltScenario => {
    const built = buildScenario(options, seed)
    if (!built.ok) throw new Error(built.issues.map((found) => found.message).join('; '))
    return built.value
  }

  it('marks, liquidates and conserves with options, and repeats per seed', () => {
    // Writers at 4–8x of naked puts and calls: the crash must take some of their options.
    const options = scenario({
      usage: 1,
      strategies: { protective: 0, covered: 0, naked_write: 1, long: 0 },
      writerLeverageMinimum: 4,
      writerLeverageMaximum: 8,
    })
    const built = build(options)
    const run = runSimulation(built, options, 2)
    const [portfolio, standard] = run.runs
    if (portfolio === undefined || standard === undefined) throw new Error('runs')
    expect(portfolio.diagnostics.optionSeries).toBe(4)
    expect(standard.diagnostics.optionSeries).toBe(0)
    for (const entry of run.runs)
      for (const asset of entry.diagnostics.conservation) expect(asset.held).toBe(asset.expected)
    const optionCloses = portfolio.outcome.forcedCloses.filter(
      (close) => close.market !== 'BTC-PERPETUAL',
    )
    expect(optionCloses.length).toBeGreaterThan(0)
    for (const close of optionCloses) expect(close.value).toBeGreaterThanOrEqual(0n)
    expect(runSimulation(build(options), options, 2).resultHash).toBe(run.resultHash)
  }, 300_000)

  it('a protective put keeps its holder out of liquidation more often than the bare long', () => {
    const hedged = scenario({
      usage: 1,
      strategies: { protective: 1, covered: 0, naked_write: 0, long: 0 },
      strikeDistances: [0.02],
    })
    const withPuts = build(hedged)
    const bare = build(scenario(undefined))
    const ruleSet = withPuts.ruleSets[0]
    if (ruleSet === undefined) throw new Error('deribit-pm')
    const hedgedIds = new Set(
      withPuts.population.accounts
        .filter((account) => account.options !== undefined && (account.options[0]?.size ?? 0n) > 0n)
        .filter((account) => account.options?.[0]?.right === 'put')
        .map((account) => account.id),
    )
    expect(hedgedIds.size).toBeGreaterThan(5)
    const liquidated = (built: BuiltScenario, options: ScenarioOptions) =>
      new Set(
        runRuleSet(built, options, ruleSet)
          .outcome.forcedCloses.filter((close) => close.market === 'BTC-PERPETUAL')
          .map((close) => close.account)
          .filter((id) => hedgedIds.has(id)),
      ).size
    expect(liquidated(withPuts, hedged)).toBeLessThan(liquidated(bare, scenario(undefined)))
  }, 300_000)

  it('expires every listed series on the path and conserves the coin', () => {
    // The flash-crash path is shorter than a day: a one-day option outlives it, so the path gets
    // one more point, a day and a step after its start, at its last price.
    const options = scenario({ usage: 1, expiryDays: [1] })
    const built = build(options)
    const first = built.path.points[0]
    const last = built.path.points.at(-1)
    if (first === undefined || last === undefined) throw new Error('a path')
    const shifted: BuiltScenario = {
      ...built,
      path: {
        ...built.path,
        points: [
          ...built.path.points,
          { timeMs: first.timeMs + 86_400_000 + built.path.stepMs, price: last.price },
        ],
      },
    }
    const ruleSet = built.ruleSets[0]
    if (ruleSet === undefined) throw new Error('deribit-pm')
    const run = runRuleSet(shifted, options, ruleSet)
    expect(run.diagnostics.optionSeries).toBeGreaterThan(0)
    expect(run.diagnostics.optionsExpired).toBe(run.diagnostics.optionSeries)
    for (const asset of run.diagnostics.conservation) expect(asset.held).toBe(asset.expected)
  }, 300_000)
})

describe('SIMRUN-060 a run with options journals and replays', () => {
  let directory = ''
  beforeAll(() => {
    directory = mkdtempSync(join(tmpdir(), 'lor-sim-options-'))
  })
  afterAll(() => {
    rmSync(directory, { recursive: true, force: true })
  })

  it('gives the same result as without the journal and replays to its state hash', async () => {
    const options: ScenarioOptions = {
      ...DEFAULT_SCENARIO_OPTIONS,
      model: 'shock:flash-crash-15m',
      ruleSets: ['deribit-pm'],
      accounts: 30,
      optionHoldings: {
        ...DEFAULT_OPTION_HOLDINGS,
        usage: 1,
        lotSize: '0.01',
        volatilityFromPath: true,
        volatilityEveryMinutes: 5,
      },
    }
    const built = buildScenario(options, 3)
    if (!built.ok) throw new Error('the scenario does not build')
    const plain = runSimulation(built.value, options, 3)
    const journaled = await runJournaledSimulation(built.value, options, 3, directory)
    expect(journaled.run.resultHash).toBe(plain.resultHash)
    await expectJournalsReplay(journaled.journals)
  }, 300_000)
})

describe('SIMRUN-006 implied volatility that follows the path', () => {
  const writers = (volatilityFromPath: boolean): ScenarioOptions => ({
    ...DEFAULT_SCENARIO_OPTIONS,
    model: 'shock:flash-crash-15m',
    ruleSets: ['deribit-pm'],
    accounts: 60,
    optionHoldings: {
      ...DEFAULT_OPTION_HOLDINGS,
      usage: 1,
      lotSize: '0.01',
      strategies: { protective: 0, covered: 0, naked_write: 1, long: 0 },
      writerLeverageMinimum: 2,
      writerLeverageMaximum: 4,
      volatilityFromPath,
      volatilityEveryMinutes: 5,
    },
  })

  it('re-sets only upward from the implied volatility, on the schedule, when it changes', () => {
    const built = buildScenario(writers(true), 2)
    if (!built.ok) throw new Error('the scenario does not build')
    const { path } = built.value
    const holdings = built.value.optionHoldings
    if (holdings === undefined) throw new Error('holdings')
    const resets = impliedVolatilityResets(path, holdings)
    expect(resets).toEqual(built.value.volatilityResets)
    expect(resets.length).toBeGreaterThan(3)
    const start = path.points[0]?.timeMs ?? 0
    const implied = fixedOf(holdings.impliedVolatility)
    resets.forEach((reset, index) => {
      expect((reset.timeMs - start) % 300_000).toBe(0)
      expect(reset.volatility).toBeGreaterThanOrEqual(implied)
      expect(reset.volatility % fixedOf('0.0001')).toBe(0n)
      if (index > 0) expect(reset.volatility).not.toBe(resets[index - 1]?.volatility)
    })
    // The crash comes at minute 30: no re-set before it, a spike above twice the implied after.
    expect(resets[0]?.timeMs).toBeGreaterThan(start + 30 * 60_000)
    expect(resets.some((reset) => reset.volatility > 2n * implied)).toBe(true)
    // A path that does not move keeps the implied volatility: nothing to re-set.
    const flat = {
      ...path,
      points: path.points.map((point) => ({ ...point, price: fixedOf('60000') })),
    }
    expect(impliedVolatilityResets(flat, holdings)).toEqual([])
    expect(impliedVolatilityResets(path, { ...holdings, volatilityFromPath: false })).toEqual([])
  })

  it('takes more written options than a volatility held fixed, and conserves the coin', () => {
    const closes = (volatilityFromPath: boolean) => {
      const options = writers(volatilityFromPath)
      const built = buildScenario(options, 2)
      if (!built.ok) throw new Error('the scenario does not build')
      const ruleSet = built.value.ruleSets[0]
      if (ruleSet === undefined) throw new Error('deribit-pm')
      const run = runRuleSet(built.value, options, ruleSet)
      for (const asset of run.diagnostics.conservation) expect(asset.held).toBe(asset.expected)
      expect(run.diagnostics.volatilityResets).toBe(built.value.volatilityResets?.length ?? 0)
      return run.outcome.forcedCloses.filter((close) => close.market !== 'BTC-PERPETUAL').length
    }
    const fixedVolatility = closes(false)
    expect(closes(true)).toBeGreaterThan(fixedVolatility)
  }, 300_000)
})
