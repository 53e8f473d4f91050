// PFM-040..PFM-046: portfolio margin of cross positions inside rule sets, the engine and the evaluator.
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  createEngineState,
  type EngineState,
  execute,
  seedState,
} from '../../src/core/engine/index.ts'
import { evaluateAccount, evaluateAccountMargin } from '../../src/core/margin/evaluate.ts'
import type { Account } from '../../src/core/model/account.ts'
import { entryValueOf } from '../../src/core/model/position-math.ts'
import { add, type Fixed, fixedOf, formatFixed, sub } from '../../src/core/num/fixed.ts'
import { parseRuleSet, ruleSetToJson } from '../../src/core/rules/parse.ts'
import type { RuleSet } from '../../src/core/rules/rule-set.ts'
import { loadRuleSet } from '../../src/presets/index.ts'

const f = fixedOf
const show = (value: Fixed | null | undefined): string | null =>
  value === null || value === undefined ? null : formatFixed(value)

/**
 * The BTC/ETH SPAN parameters of examples/portfolio/btc-eth-spread.yaml (theory.md §2 SPAN:
 * inter-commodity spread credit), applied to binance-usdm's linear BTCUSDT and ETHUSDT.
 */
const spanSection = {
  model: 'span',
  initialMarginMultiplier: '1.1',
  span: {
    products: [
      { id: 'BTC', contractSize: '1', priceScanRange: '9000' },
      { id: 'ETH', contractSize: '1', priceScanRange: '480' },
    ],
    interSpreads: [
      {
        id: 'BTC-ETH',
        creditRate: '0.5',
        legs: [
          { product: 'BTC', deltaRatio: '1', side: 'A' },
          { product: 'ETH', deltaRatio: '20', side: 'B' },
        ],
      },
    ],
  },
  markets: [
    { market: 'BTCUSDT', product: 'BTC', tier: 'PERP' },
    { market: 'ETHUSDT', product: 'ETH', tier: 'PERP' },
  ],
}

/** Deribit's legacy published grid (theory.md §2.5): ±10 %, 1 % futures contingency, IM = 1.3 × MM here. */
const gridSection = {
  model: 'grid',
  grid: {
    products: [{ id: 'BTC', contractSize: '1' }],
    priceMoves: ['-0.1', '-0.05', '0', '0.05', '0.1'],
    volatilityShock: { base: '0.38', referenceDays: '30', exponent: '0.3' },
    settlement: 'inverse',
    futuresCalendarContingency: '0.01',
    netShortOptionContingency: '0.01',
    initialMarginMultiplier: '1.3',
  },
  markets: [{ market: 'BTC-PERPETUAL', product: 'BTC' }],
}

function rulesWith(preset: string, section: unknown): RuleSet {
  const loaded = loadRuleSet(preset, { patches: [{ portfolioMargin: section }] })
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.issues))
  return loaded.ruleSet
}

const spanRules = rulesWith('binance-usdm', spanSection)

function linearAccount(
  rules: RuleSet,
  wallet: string,
  holdings: readonly [market: string, size: string, entry: string][],
): Account {
  return {
    id: 'trader',
    balances: new Map([['USDT', f(wallet)]]),
    positions: new Map(
      holdings.map(([market, size, entry]) => {
        const instrument = rules.markets.get(market)?.instrument
        if (instrument === undefined) throw new Error(market)
        return [
          market,
          {
            market,
            size: f(size),
            entryValue: entryValueOf(instrument, f(size), f(entry)),
            marginMode: 'cross' as const,
            isolatedMargin: f('0'),
            leverage: null,
          },
        ]
      }),
    ),
  }
}

const marks = (btc: string, eth: string) =>
  new Map([
    ['BTCUSDT', f(btc)],
    ['ETHUSDT', f(eth)],
  ])

describe('the portfolioMargin section of a rule set (PFM-040, PFM-041)', () => {
  it('PFM-040: reads, and writes back what it read', () => {
    const again = parseRuleSet(ruleSetToJson(spanRules))
    expect(again.ok).toBe(true)
    if (again.ok) expect(again.ruleSet).toEqual(spanRules)
  })

  it.each<[string, unknown, string, string]>([
    [
      'unknown market',
      { ...spanSection, markets: [{ market: 'NOPE', product: 'BTC' }] },
      'unknown_market',
      'portfolioMargin.markets[0].market',
    ],
    [
      'unknown product',
      { ...spanSection, markets: [{ market: 'BTCUSDT', product: 'SOL' }] },
      'unknown_product',
      'portfolioMargin.markets[0].product',
    ],
    [
      'grid settlement against linear markets',
      { ...gridSection, markets: [{ market: 'BTCUSDT', product: 'BTC' }] },
      'settlement_mismatch',
      'portfolioMargin.markets[0].market',
    ],
    [
      'multiplier below one',
      { ...spanSection, initialMarginMultiplier: '0.9' },
      'below_one',
      'portfolioMargin.initialMarginMultiplier',
    ],
    [
      'bad model parameter',
      { ...spanSection, span: { ...spanSection.span, products: [{ id: 'BTC' }] } },
      'not_a_decimal_string',
      'portfolioMargin.span.products[0].priceScanRange',
    ],
    [
      'both model sections',
      { ...spanSection, grid: gridSection.grid },
      'unused_section',
      'portfolioMargin.grid',
    ],
  ])('PFM-041: %s is an issue naming its path', (_name, section, code, path) => {
    const loaded = loadRuleSet('binance-usdm', { patches: [{ portfolioMargin: section }] })
    expect(loaded.ok).toBe(false)
    if (!loaded.ok) expect(loaded.issues).toContainEqual(expect.objectContaining({ code, path }))
  })

  it('PFM-041: SPAN margins linear contracts only', () => {
    const loaded = loadRuleSet('deribit', {
      patches: [{ portfolioMargin: { ...spanSection, markets: gridSection.markets } }],
    })
    expect(loaded.ok).toBe(false)
    if (!loaded.ok)
      expect(loaded.issues.map((issue) => issue.code)).toContain('settlement_mismatch')
  })
})

describe('cross requirement of a portfolio-margined account (PFM-042, PFM-043)', () => {
  // Long 1 BTC, short 20 ETH: the btc-eth-spread example's figures (docs/portfolio-margin.md):
  // requirement 9765 = legs 19530 − two credits of 4725 and 5040.
  const hedged = linearAccount(spanRules, '10000', [
    ['BTCUSDT', '1', '60000'],
    ['ETHUSDT', '-20', '3000'],
  ])

  it('PFM-042: the group requirement is the portfolio requirement, itemised', () => {
    const group = evaluateAccount(spanRules, hedged, marks('60000', '3000')).groups[0]
    expect(show(group?.crossMaintenanceMargin)).toBe('9765')
    expect(show(group?.crossInitialMargin)).toBe('10741.5')
    expect(group?.portfolio?.model).toBe('span')
    expect(show(group?.portfolio?.legsTotal)).toBe('19530')
    expect(group?.portfolio?.offsets.map((item) => [item.kind, show(item.amount)])).toEqual([
      ['inter_spread_credit', '-4725'],
      ['inter_spread_credit', '-5040'],
    ])
    expect(group?.portfolio?.markets).toEqual(['BTCUSDT', 'ETHUSDT'])
  })

  it('PFM-042: the light evaluation gives the same requirement', () => {
    const full = evaluateAccount(spanRules, hedged, marks('58000', '2950')).groups[0]
    const light = evaluateAccountMargin(spanRules, hedged, marks('58000', '2950')).groups[0]
    expect(light?.crossMaintenanceMargin).toBe(full?.crossMaintenanceMargin)
    expect(light?.crossInitialMargin).toBe(full?.crossInitialMargin)
    expect(light?.portfolio).toEqual(full?.portfolio)
  })

  it('PFM-043: one leg alone pays its own scan risk, more than the hedged pair', () => {
    const alone = linearAccount(spanRules, '10000', [['BTCUSDT', '1', '60000']])
    const group = evaluateAccount(spanRules, alone, marks('60000', '3000')).groups[0]
    // 9,000 × 3 × 0.35 = 9,450 (extreme move at 35 %) beats the 9,000 scan.
    expect(show(group?.crossMaintenanceMargin)).toBe('9450')
  })

  it('PFM-043: isolated positions keep their market model', () => {
    const account = linearAccount(spanRules, '10000', [['BTCUSDT', '1', '60000']])
    const position = account.positions.get('BTCUSDT')
    if (position === undefined) throw new Error('position')
    const isolated: Account = {
      ...account,
      positions: new Map([
        ['BTCUSDT', { ...position, marginMode: 'isolated', isolatedMargin: f('1000') }],
      ]),
    }
    const plain = loadRuleSet('binance-usdm')
    if (!plain.ok) throw new Error('preset')
    const group = evaluateAccount(spanRules, isolated, marks('60000', '3000')).groups[0]
    const standard = evaluateAccount(plain.ruleSet, isolated, marks('60000', '3000')).groups[0]
    expect(group?.portfolio).toBeNull()
    expect(group?.maintenanceMargin).toBe(standard?.maintenanceMargin)
    expect(group?.positions).toEqual(standard?.positions)
  })

  it('PFM-043: an inverse grid margins coin-settled perpetuals in the coin', () => {
    const gridRules = rulesWith('deribit', gridSection)
    const instrument = gridRules.markets.get('BTC-PERPETUAL')?.instrument
    if (instrument === undefined) throw new Error('market')
    const account: Account = {
      id: 'trader',
      balances: new Map([['BTC', f('1')]]),
      positions: new Map([
        [
          'BTC-PERPETUAL',
          {
            market: 'BTC-PERPETUAL',
            size: f('6000'), // 60,000 USD = 1 BTC at 60,000
            entryValue: entryValueOf(instrument, f('6000'), f('60000')),
            marginMode: 'cross',
            isolatedMargin: f('0'),
            leverage: null,
          },
        ],
      ]),
    }
    const group = evaluateAccount(gridRules, account, new Map([['BTC-PERPETUAL', f('60000')]]))
      .groups[0]
    // Long 1 BTC of inverse exposure: the −10 % move loses 1 × 0.1 ÷ 0.9 = 0.1111… BTC.
    expect(show(group?.crossMaintenanceMargin)).toBe('0.111111111111111112')
    expect(show(group?.crossInitialMargin)).toBe('0.144444444444444446')
  })
})

describe('liquidation prices of portfolio-margined positions (PFM-044)', () => {
  it('PFM-044: equity meets the portfolio requirement at the solved price', () => {
    const account = linearAccount(spanRules, '12000', [
      ['BTCUSDT', '1', '60000'],
      ['ETHUSDT', '-20', '3000'],
    ])
    const at = marks('60000', '3000')
    const position = evaluateAccount(spanRules, account, at).groups[0]?.positions.find(
      (each) => each.market === 'BTCUSDT',
    )
    const price = position?.liquidationPriceExact
    expect(price).not.toBeNull()
    if (price === null || price === undefined) return
    // Headroom 12,000 − 9,765 = 2,235 with a requirement that does not move with BTC's price
    // here (scan ranges are price points): BTC may fall 2,235 before liquidation.
    expect(show(price)).toBe('57765')
    const headroom = (btc: Fixed): Fixed => {
      const group = evaluateAccountMargin(spanRules, account, marks(formatFixed(btc), '3000'))
        .groups[0]
      if (group === undefined) throw new Error('group')
      return sub(group.crossEquity, group.crossMaintenanceMargin)
    }
    expect(headroom(price) <= 0n).toBe(true)
    expect(headroom(f('57765.01')) > 0n).toBe(true)
  })

  it('PFM-044: for every long on the grid, the solved price is where the requirement is reached', () => {
    const gridRules = rulesWith('deribit', gridSection)
    const instrument = gridRules.markets.get('BTC-PERPETUAL')?.instrument
    if (instrument === undefined) throw new Error('market')
    fc.assert(
      fc.property(
        fc.integer({ min: 100, max: 20_000 }),
        fc.integer({ min: 20_000, max: 90_000 }),
        fc.integer({ min: 15, max: 200 }),
        (contracts, entry, walletCents) => {
          const size = f(String(contracts))
          const account: Account = {
            id: 'trader',
            balances: new Map([['BTC', f(String(walletCents / 100))]]),
            positions: new Map([
              [
                'BTC-PERPETUAL',
                {
                  market: 'BTC-PERPETUAL',
                  size,
                  entryValue: entryValueOf(instrument, size, f(String(entry))),
                  marginMode: 'cross',
                  isolatedMargin: f('0'),
                  leverage: null,
                },
              ],
            ]),
          }
          const at = new Map([['BTC-PERPETUAL', f(String(entry))]])
          const risk = evaluateAccount(gridRules, account, at).groups[0]?.positions[0]
          const price = risk?.liquidationPriceExact
          if (price === null || price === undefined) return
          const breached = (mark: Fixed): boolean => {
            const group = evaluateAccountMargin(
              gridRules,
              account,
              new Map([['BTC-PERPETUAL', mark]]),
            ).groups[0]
            return group !== undefined && group.crossEquity <= group.crossMaintenanceMargin
          }
          // Exact to 8 decimals: reached within one unit of the 8th decimal, not reached above it.
          expect(breached(sub(price, f('0.00000001')))).toBe(true)
          expect(breached(add(price, f('0.00000002')))).toBe(false)
        },
      ),
      { seed: 30034, numRuns: 60 },
    )
  })
})

describe('the engine liquidates on the portfolio requirement (PFM-046)', () => {
  function engineWith(rules: RuleSet, wallet: string): EngineState {
    const state = createEngineState(rules)
    seedState(
      state,
      [
        {
          id: 'trader',
          balances: new Map([['USDT', f(wallet)]]),
          positions: [
            {
              market: 'BTCUSDT',
              size: f('1'),
              entryPrice: f('60000'),
              marginMode: 'cross',
              leverage: null,
              isolatedMargin: f('0'),
            },
            {
              market: 'ETHUSDT',
              size: f('-20'),
              entryPrice: f('3000'),
              marginMode: 'cross',
              leverage: null,
              isolatedMargin: f('0'),
            },
          ],
        },
        {
          id: 'other',
          balances: new Map([['USDT', f('1000000')]]),
          positions: [
            {
              market: 'BTCUSDT',
              size: f('-1'),
              entryPrice: f('60000'),
              marginMode: 'cross',
              leverage: null,
              isolatedMargin: f('0'),
            },
            {
              market: 'ETHUSDT',
              size: f('20'),
              entryPrice: f('3000'),
              marginMode: 'cross',
              leverage: null,
              isolatedMargin: f('0'),
            },
          ],
        },
      ],
      0,
    )
    return state
  }

  const breaches = (rules: RuleSet, wallet: string, btc: string): string[] => {
    const state = engineWith(rules, wallet)
    execute(state, { type: 'mark_price', market: 'ETHUSDT', mark: f('3000') }, at(1))
    const outcome = execute(state, { type: 'mark_price', market: 'BTCUSDT', mark: f(btc) }, at(2))
    return outcome.events
      .filter((event) => event.type === 'account_below_maintenance')
      .map((event) => ('account' in event ? String(event.account) : ''))
  }
  const at = (sequence: number) => ({ sequence, timestampMs: sequence * 1000 })

  it('PFM-046: above the portfolio requirement nobody is below maintenance', () => {
    expect(breaches(spanRules, '12000', '58000')).toEqual([])
  })

  it('PFM-046: the same fall below the portfolio liquidation price breaches', () => {
    expect(breaches(spanRules, '12000', '57700')).toEqual(['trader'])
  })

  it("PFM-046: without the section the market's own tiers decide", () => {
    const plain = loadRuleSet('binance-usdm')
    if (!plain.ok) throw new Error('preset')
    expect(breaches(plain.ruleSet, '12000', '57700')).toEqual([])
  })
})
