/** SIM-020..SIM-024: seeded account populations. */
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { contractValue } from '../../src/core/model/position-math.ts'
import { abs, fixedOf, neg, toNumber } from '../../src/core/num/fixed.ts'
import {
  DEFAULT_POPULATION_MARKET,
  defaultPopulationSpec,
  describePopulation,
  generatePopulation,
  loadPopulation,
  parsePopulation,
  populationHash,
  populationToJson,
  savePopulation,
  toEngineAccount,
  validatePopulationSpec,
} from '../../src/sim/population.ts'

const spec = defaultPopulationSpec({ accountCount: 2000, seed: 7 })
const population = generatePopulation(spec)
const instrument = DEFAULT_POPULATION_MARKET.instrument

describe('SIM-021 determinism', () => {
  it('same spec and seed → same hash; another seed → another population', () => {
    expect(populationHash(generatePopulation(spec))).toBe(populationHash(population))
    expect(populationHash(generatePopulation({ ...spec, seed: 8 }))).not.toBe(
      populationHash(population),
    )
  })
})

describe('SIM-022 shape of a generated population', () => {
  it('puts sizes on the lot grid, prices on the tick grid and leverage within the cap', () => {
    const capped = generatePopulation({
      ...spec,
      markets: [{ ...DEFAULT_POPULATION_MARKET, maxLeverage: 20 }],
    })
    for (const account of capped.accounts) {
      expect(account.leverage >= fixedOf('1') && account.leverage <= fixedOf('20')).toBe(true)
      expect(account.collateral % fixedOf('0.01')).toBe(0n)
      for (const position of account.positions) {
        expect(position.size !== 0n && position.size % instrument.lotSize === 0n).toBe(true)
        expect(position.entryPrice % instrument.tickSize).toBe(0n)
        // opened value never exceeds collateral × leverage (one lot minimum aside)
        const value = contractValue(instrument, abs(position.size), position.entryPrice)
        if (position.size !== instrument.lotSize && position.size !== neg(instrument.lotSize)) {
          expect(toNumber(value)).toBeLessThanOrEqual(
            toNumber(account.collateral) * toNumber(account.leverage) * 1.000001,
          )
        }
      }
    }
  })

  it('keeps stops and targets on the correct side of the entry', () => {
    for (const account of population.accounts) {
      for (const position of account.positions) {
        const long = position.size > 0n
        if (position.stopLoss !== undefined)
          expect(
            long
              ? position.stopLoss < position.entryPrice
              : position.stopLoss > position.entryPrice,
          ).toBe(true)
        if (position.takeProfit !== undefined)
          expect(
            long
              ? position.takeProfit > position.entryPrice
              : position.takeProfit < position.entryPrice,
          ).toBe(true)
      }
    }
  })

  it('matches the spec shares roughly (long 60 %, isolated 30 %, stops 35 %) and clusters stops on round numbers', () => {
    const summary = describePopulation(population)
    expect(summary.longShare).toBeGreaterThan(0.56)
    expect(summary.longShare).toBeLessThan(0.64)
    expect(summary.isolatedShare).toBeGreaterThan(0.26)
    expect(summary.isolatedShare).toBeLessThan(0.34)
    expect(summary.withStopLoss / summary.accounts).toBeGreaterThan(0.31)
    expect(summary.withStopLoss / summary.accounts).toBeLessThan(0.39)
    const stops = population.accounts.flatMap((account) =>
      account.positions.flatMap((position) =>
        position.stopLoss === undefined ? [] : [position.stopLoss],
      ),
    )
    const round = stops.filter((stop) => stop % fixedOf('500') === 0n).length
    // 60 % snap to 1,000 or 500; the rest land on a multiple of 500 by chance about once in 5,000.
    expect(round / stops.length).toBeGreaterThan(0.5)
    expect(round / stops.length).toBeLessThan(0.7)
  })

  it('has a heavy-tailed collateral: the top 1 % of accounts hold a large share', () => {
    const collaterals = population.accounts
      .map((account) => toNumber(account.collateral))
      .sort((a, b) => b - a)
    const top = collaterals.slice(0, 20).reduce((sum, value) => sum + value, 0)
    const all = collaterals.reduce((sum, value) => sum + value, 0)
    expect(top / all).toBeGreaterThan(0.15)
    expect(Math.min(...collaterals)).toBeGreaterThanOrEqual(100)
  })

  it('draws log-normal collateral when asked', () => {
    const logNormal = generatePopulation({
      ...spec,
      accountCount: 200,
      collateral: { kind: 'log_normal', median: 5000, sigma: 1, maximum: 1e6 },
    })
    const sorted = logNormal.accounts
      .map((account) => toNumber(account.collateral))
      .sort((a, b) => a - b)
    expect(sorted[100]).toBeGreaterThan(3500)
    expect(sorted[100]).toBeLessThan(7000)
  })
})

describe('SIM-020 spec validation', () => {
  it('reports each out-of-range field with its path', () => {
    const checked = validatePopulationSpec({
      ...spec,
      accountCount: 0,
      longFraction: 1.5,
      leverage: [{ weight: 1, minimum: 0, maximum: 10 }],
    })
    expect(checked.ok).toBe(false)
    if (!checked.ok)
      expect(checked.issues.map((entry) => entry.path)).toEqual([
        '$.accountCount',
        '$.leverage[0]',
        '$.longFraction',
      ])
    expect(() => generatePopulation({ ...spec, accountCount: 0 })).toThrow(/accountCount/)
  })
})

describe('SIM-023 files and engine accounts', () => {
  it('saves and loads a population unchanged', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'lor-population-')), 'population.json')
    const small = generatePopulation({ ...spec, accountCount: 50 })
    savePopulation(file, small)
    const loaded = loadPopulation(file)
    expect(loaded.ok).toBe(true)
    if (loaded.ok) expect(populationHash(loaded.value)).toBe(populationHash(small))
  })

  it('reports malformed accounts with their paths', () => {
    const json = populationToJson(generatePopulation({ ...spec, accountCount: 2 })) as {
      accounts: Record<string, unknown>[]
    }
    json.accounts[1] = {
      ...json.accounts[1],
      id: json.accounts[0]?.id,
      collateral: '-5',
      marginMode: 'portfolio',
    }
    const parsed = parsePopulation(json)
    expect(parsed.ok).toBe(false)
    if (!parsed.ok)
      expect(parsed.issues.map((entry) => entry.path)).toEqual([
        '$.accounts[1].id',
        '$.accounts[1].marginMode',
        '$.accounts[1].collateral',
      ])
  })

  it('converts to engine accounts: exact entry value, isolated margin taken from the wallet', () => {
    const instruments = new Map([[instrument.market, instrument]])
    const account = {
      id: 'a1',
      collateral: fixedOf('1000'),
      marginMode: 'isolated' as const,
      leverage: fixedOf('20'),
      positions: [{ market: 'BTCUSDT', size: fixedOf('-0.25'), entryPrice: fixedOf('60000.1') }],
    }
    const engine = toEngineAccount(account, instruments)
    const position = engine.positions.get('BTCUSDT')
    expect(position?.entryValue).toBe(fixedOf('-15000.025'))
    expect(position?.isolatedMargin).toBe(fixedOf('750.00125'))
    expect(engine.balances.get('USDT')).toBe(fixedOf('249.99875'))
    const cross = toEngineAccount({ ...account, marginMode: 'cross' }, instruments)
    expect(cross.balances.get('USDT')).toBe(fixedOf('1000'))
    expect(cross.positions.get('BTCUSDT')?.isolatedMargin).toBe(0n)
  })
})
