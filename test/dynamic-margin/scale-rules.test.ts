/**
 * DYN-012..DYN-014: a rule set's margin rates scaled by a dynamic margin factor. Every margin model
 * kind of the shipped presets is scaled, checked by hand on examples, round-tripped through the
 * validator, and the requirement of any position is shown to rise with the factor.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { scaleMarketMargin, scaleRate } from '../../src/core/dynamic-margin/index.ts'
import { initialMarginOf, maintenanceMarginOf, marginRates } from '../../src/core/margin/rates.ts'
import { isOption } from '../../src/core/model/instrument.ts'
import { contractValue } from '../../src/core/model/position-math.ts'
import { abs, type Fixed, fixedOf, formatFixed, ONE } from '../../src/core/num/fixed.ts'
import { diffRuleSets } from '../../src/core/rules/diff.ts'
import { parseRuleSet, ruleSetToJson } from '../../src/core/rules/parse.ts'
import type { MarginModel, MarketRules, RuleSet } from '../../src/core/rules/rule-set.ts'
import { listPresets, loadRuleSet } from '../../src/presets/index.ts'

const f = fixedOf

function preset(id: string): RuleSet {
  const loaded = loadRuleSet(id)
  if (!loaded.ok) throw new Error(`preset ${id} does not load`)
  return loaded.ruleSet
}

function marginOf(ruleSet: RuleSet, market: string): MarginModel {
  const rules = ruleSet.markets.get(market)
  if (rules === undefined) throw new Error(`no market ${market}`)
  return rules.margin
}

/** Every rate of a model as text, by field (tiers flattened), for table comparisons. */
function rates(model: MarginModel): Record<string, string> {
  const text: Record<string, string> = {}
  switch (model.kind) {
    case 'tiered':
      model.tiers.forEach((tier, index) => {
        text[`${index}.maintenanceRate`] = formatFixed(tier.maintenanceRate)
        text[`${index}.initialRate`] = formatFixed(tier.initialRate)
        text[`${index}.maintenanceDeduction`] = formatFixed(tier.maintenanceDeduction)
      })
      return text
    case 'risk_limit_steps':
    case 'linear_in_size':
    case 'open_interest_scaled':
      for (const [key, value] of Object.entries(model))
        if (typeof value === 'bigint' && /Rate|Fraction/.test(key)) text[key] = formatFixed(value)
      return text
  }
}

/** Every shipped preset at every version, with the markets that have a margin model of their own. */
const allRuleSets = listPresets().map((info) =>
  preset(info.latest ? info.id : `${info.id}@${info.version}`),
)
const scalableMarkets = allRuleSets.flatMap((ruleSet) =>
  [...ruleSet.markets.values()]
    .filter((market) => !isOption(market.instrument.kind))
    .map((market) => ({ ruleSet, market: market.instrument.market })),
)

describe('DYN-012: every initial and maintenance rate × the factor, rounded up, at most 1', () => {
  it('tiered, marginal (Binance BTCUSDT × 2.5): deductions follow the new rates', () => {
    const scaled = marginOf(
      scaleMarketMargin(preset('binance-usdm'), 'BTCUSDT', f('2.5')),
      'BTCUSDT',
    )
    const shown = rates(scaled)
    // 0.004 × 2.5, 1/125 × 2.5; tier 1: 50,000 × (0.0125 − 0.01) = 125 = 2.5 × 50;
    // tier 2: 125 + 250,000 × (0.025 − 0.0125) = 3,250 = 2.5 × 1,300.
    expect(shown).toMatchObject({
      '0.maintenanceRate': '0.01',
      '0.initialRate': '0.02',
      '0.maintenanceDeduction': '0',
      '1.maintenanceRate': '0.0125',
      '1.initialRate': '0.025',
      '1.maintenanceDeduction': '125',
      '2.maintenanceRate': '0.025',
      '2.initialRate': '0.05',
      '2.maintenanceDeduction': '3250',
    })
  })

  it('tiered, whole position (OKX, by size × 2): rates doubled, no deduction', () => {
    const scaled = marginOf(
      scaleMarketMargin(preset('okx'), 'BTC-USDT-SWAP', f('2')),
      'BTC-USDT-SWAP',
    )
    expect(rates(scaled)).toMatchObject({
      '0.maintenanceRate': '0.02',
      '1.maintenanceRate': '0.03',
      '1.initialRate': '0.04',
      '2.initialRate': '0.1',
      '2.maintenanceDeduction': '0',
    })
  })

  it.each([
    [
      'risk_limit_steps (Bybit BTCUSDT × 1.5)',
      'bybit-linear',
      'BTCUSDT',
      '1.5',
      {
        maintenanceRateBase: '0.0075',
        maintenanceRateStep: '0.0075',
        initialRateBase: '0.015',
        initialRateStep: '0.0075',
      },
    ],
    [
      'linear_in_size (Deribit BTC-PERPETUAL × 3)',
      'deribit',
      'BTC-PERPETUAL',
      '3',
      {
        initialRateBase: '0.06',
        initialRatePerUnit: '0.00015',
        maintenanceRateBase: '0.03',
        maintenanceRatePerUnit: '0.00015',
      },
    ],
    [
      'open_interest_scaled (dYdX BTC-USD × 2: maintenance is 0.6 of the scaled initial rate)',
      'dydx-v4',
      'BTC-USD',
      '2',
      { initialRate: '0.1', maintenanceFraction: '0.6' },
    ],
    [
      'rounded up at 18 decimals (Bybit × (1 + 10⁻¹⁶): 0.005 → 0.0050000000000000005 → up)',
      'bybit-linear',
      'BTCUSDT',
      '1.0000000000000001',
      { maintenanceRateBase: '0.005000000000000001', initialRateBase: '0.010000000000000001' },
    ],
  ])('%s', (_name, id, market, factor, expected) => {
    const scaled = marginOf(scaleMarketMargin(preset(id), market, f(factor)), market)
    expect(rates(scaled)).toMatchObject(expected)
  })

  it('holds rates at 1 (Binance × 1000: every tier at 1, deductions 0 above the first cap)', () => {
    const scaled = marginOf(
      scaleMarketMargin(preset('binance-usdm'), 'BTCUSDT', f('1000')),
      'BTCUSDT',
    )
    if (scaled.kind !== 'tiered') throw new Error('tiered expected')
    expect(scaled.tiers.every((tier) => tier.initialRate === ONE)).toBe(true)
    // 0.004 × 1000 = 4 → 1 everywhere: the ladder is flat, the recurrence adds nothing.
    expect(scaled.tiers.map((tier) => formatFixed(tier.maintenanceRate))).toEqual(
      scaled.tiers.map(() => '1'),
    )
    expect(scaled.tiers.every((tier) => tier.maintenanceDeduction === 0n)).toBe(true)
    expect(scaleRate(f('0.3'), f('4'))).toBe(ONE)
  })

  it('changes only the market margin, the version and the description; the validator gives it back', () => {
    for (const { ruleSet, market } of scalableMarkets)
      for (const factor of ['0.5', '1.5', '3.1416', '250']) {
        const scaled = scaleMarketMargin(ruleSet, market, f(factor))
        const where = `${ruleSet.id}@${ruleSet.version} ${market} × ${factor}`
        const reparsed = parseRuleSet(ruleSetToJson(scaled))
        expect(reparsed.ok, where).toBe(true)
        if (reparsed.ok) expect(reparsed.ruleSet, where).toEqual(scaled)
        if (scaled === ruleSet) continue
        expect(scaled.id).toBe(ruleSet.id)
        expect(scaled.version).toBe(`${ruleSet.version}-margin-x${factor}`)
        for (const change of diffRuleSets(ruleSet, scaled))
          expect(
            change.path.startsWith(`markets.${market}.margin.`) ||
              change.path === 'version' ||
              change.path === 'description',
            `${where}: ${change.path}`,
          ).toBe(true)
        for (const [id, other] of ruleSet.markets)
          if (id !== market) expect(scaled.markets.get(id)).toBe(other)
      }
  })
})

describe('DYN-013: factor 1 is the identity; no rate above 1', () => {
  it('returns the rule set itself at factor 1', () => {
    for (const { ruleSet, market } of scalableMarkets)
      expect(scaleMarketMargin(ruleSet, market, ONE)).toBe(ruleSet)
  })

  it('never states a rate above 1, whatever the factor (property, seed 12)', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...scalableMarkets),
        fc.integer({ min: 1, max: 100_000_000 }),
        ({ ruleSet, market }, ten_thousandths) => {
          const factor = (BigInt(ten_thousandths) * 10n ** 14n) as Fixed
          const model = marginOf(scaleMarketMargin(ruleSet, market, factor), market)
          for (const [key, value] of Object.entries(rates(model)))
            if (!key.endsWith('Deduction')) expect(f(value) <= ONE, key).toBe(true)
          if (model.kind === 'tiered')
            for (const tier of model.tiers) {
              expect(tier.maintenanceRate <= ONE && tier.initialRate <= ONE).toBe(true)
              expect(tier.initialRate >= tier.maintenanceRate).toBe(true)
            }
        },
      ),
      { seed: 12, numRuns: 300 },
    )
  })
})

/** Maintenance and initial requirement of a position of `size` at `price` under `market`. */
function requirement(market: MarketRules, size: Fixed, price: Fixed, openInterest: Fixed) {
  const rates = marginRates(market, size, price, openInterest)
  const value = abs(contractValue(market.instrument, size, price))
  return {
    maintenance: maintenanceMarginOf(value, rates),
    initial: initialMarginOf(value, rates, null),
  }
}

describe('DYN-014: the requirement rises with the factor (property, seed 14)', () => {
  it('scaled ≥ unscaled for factor ≥ 1, and monotone in the factor', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...scalableMarkets),
        fc.integer({ min: 10_000, max: 200_000 }),
        fc.integer({ min: 0, max: 300_000 }),
        fc.integer({ min: 1, max: 50_000_000 }),
        fc.integer({ min: 100, max: 200_000 }),
        fc.bigInt({ min: 0n, max: 10n ** 9n }),
        ({ ruleSet, market }, lowFactor, rise, lots, price, openInterest) => {
          const rules = ruleSet.markets.get(market)
          if (rules === undefined) throw new Error(market)
          const low = (BigInt(lowFactor) * 10n ** 14n) as Fixed
          const high = (low + BigInt(rise) * 10n ** 14n) as Fixed
          const size = (rules.instrument.lotSize * BigInt(lots)) as Fixed
          const at = f(String(price))
          const oi = (openInterest * 10n ** 18n) as Fixed
          const unscaled = requirement(rules, size, at, oi)
          const lowScaled = requirement(
            scaleMarketMargin(ruleSet, market, low).markets.get(market) ?? rules,
            size,
            at,
            oi,
          )
          const highScaled = requirement(
            scaleMarketMargin(ruleSet, market, high).markets.get(market) ?? rules,
            size,
            at,
            oi,
          )
          expect(lowScaled.maintenance >= unscaled.maintenance).toBe(true)
          expect(lowScaled.initial >= unscaled.initial).toBe(true)
          expect(highScaled.maintenance >= lowScaled.maintenance).toBe(true)
          expect(highScaled.initial >= lowScaled.initial).toBe(true)
        },
      ),
      { seed: 14, numRuns: 400 },
    )
  })
})
