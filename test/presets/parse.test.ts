/**
 * Rule-set validation (docs/spec/rules.md). Goal: a valid document gives the rule set it describes,
 * every invalid one is refused with an issue that names the field, and the file form round-trips.
 */
import { fc, test } from '@fast-check/vitest'
import { describe, expect, it } from 'vitest'
import { fixedOf, formatFixed } from '../../src/core/num/fixed.ts'
import { parseRuleSet, type RuleSetJson, ruleSetToJson } from '../../src/core/rules/parse.ts'
import { loadRuleSet } from '../../src/presets/index.ts'
import { mergeRuleSetPatch } from '../../src/presets/overrides.ts'

/** A small valid rule set: BN-01's two markets with first brackets only plus one more tier. */
function document(): Record<string, unknown> {
  return {
    $schemaVersion: 1,
    id: 'test-venue',
    venue: 'Test venue',
    version: '2024-01-01',
    effectiveDate: '2024-01-01',
    sources: ['https://example.com/rules'],
    description: 'test rules',
    liquidationPrice: {
      maintenanceValuation: 'at_liquidation_price',
      closeFeeRate: '0',
      displayRounding: 'toward_safety',
      exactDecimals: 8,
    },
    account: { withdrawalValueFloorRate: '0', feeRounding: 'ceil' },
    markets: [
      {
        market: 'BTCUSDT',
        kind: 'linear_perpetual',
        baseAsset: 'BTC',
        quoteAsset: 'USDT',
        settlementAsset: 'USDT',
        contractSize: '1',
        tickSize: '0.01',
        lotSize: '0.001',
        makerFeeRate: '0.0002',
        takerFeeRate: '0.0004',
        liquidationFeeRate: '0.003',
        maxLeverage: '125',
        margin: {
          kind: 'tiered',
          basis: 'value',
          tiers: [
            { floor: '0', cap: '50000', maintenanceRate: '0.004', maxLeverage: '125' },
            { floor: '50000', cap: '250000', maintenanceRate: '0.005', maxLeverage: '100' },
            { floor: '250000', cap: null, maintenanceRate: '0.01', initialRate: '0.02' },
          ],
        },
      },
      {
        market: 'BTCUSD',
        kind: 'inverse_future',
        baseAsset: 'BTC',
        quoteAsset: 'USD',
        settlementAsset: 'BTC',
        contractSize: '100',
        tickSize: '0.1',
        lotSize: '1',
        expiryTimeMs: 1719561600000,
        makerFeeRate: '-0.00025',
        takerFeeRate: '0.00075',
        liquidationFeeRate: '0',
        maxLeverage: '100',
        margin: {
          kind: 'risk_limit_steps',
          basis: 'value',
          baseRiskLimit: '200',
          riskLimitStep: '100',
          maintenanceRateBase: '0.004',
          maintenanceRateStep: '0.004',
          initialRateBase: '0.01',
          initialRateStep: '0.004',
        },
      },
    ],
  }
}

function withPatch(patch: unknown): unknown {
  return mergeRuleSetPatch(document(), patch)
}

function withoutExpiry(): unknown {
  const copy = document()
  const markets = copy.markets as Record<string, unknown>[]
  delete markets[1]!.expiryTimeMs
  return copy
}

function issuesOf(input: unknown): { code: string; path: string }[] {
  const result = parseRuleSet(input)
  if (result.ok) return []
  return result.issues.map(({ code, path }) => ({ code, path }))
}

describe('RUL-001 a valid document parses to the rule set it describes', () => {
  it('reads every field exactly', () => {
    const result = parseRuleSet(document())
    expect(result.ok).toBe(true)
    if (!result.ok) return
    const btc = result.ruleSet.markets.get('BTCUSDT')!
    expect(btc.instrument.tickSize).toBe(fixedOf('0.01'))
    expect(btc.makerFeeRate).toBe(fixedOf('0.0002'))
    expect([...result.ruleSet.markets.keys()]).toEqual(['BTCUSDT', 'BTCUSD'])
    expect(result.ruleSet.markets.get('BTCUSD')!.instrument.expiryTimeMs).toBe(1719561600000)
  })

  it('RUL-006: computes the maintenance deduction by the tax-bracket recurrence (exchanges.md §2.1)', () => {
    const result = parseRuleSet(document())
    if (!result.ok) throw new Error('expected a valid rule set')
    const margin = result.ruleSet.markets.get('BTCUSDT')!.margin
    if (margin.kind !== 'tiered') throw new Error('expected a ladder')
    // cum(2) = 50,000 × (0.5% − 0.4%) = 50; cum(3) = 250,000 × (1% − 0.5%) + 50 = 1,300 (BN-03).
    expect(margin.tiers.map((tier) => formatFixed(tier.maintenanceDeduction))).toEqual([
      '0',
      '50',
      '1300',
    ])
  })

  it('RUL-007: a tier may state maxLeverage (initial rate 1/leverage) and "half_initial" maintenance', () => {
    const result = parseRuleSet(
      withPatch({
        markets: [
          {
            market: 'BTCUSDT',
            margin: {
              tiers: [
                {
                  floor: '0',
                  cap: '150000000',
                  maintenanceRate: 'half_initial',
                  maxLeverage: '40',
                },
                {
                  floor: '150000000',
                  cap: null,
                  maintenanceRate: 'half_initial',
                  maxLeverage: '20',
                },
              ],
            },
          },
        ],
      }),
    )
    if (!result.ok) throw new Error(JSON.stringify(result.issues))
    const margin = result.ruleSet.markets.get('BTCUSDT')!.margin
    if (margin.kind !== 'tiered') throw new Error('expected a ladder')
    // Hyperliquid: 40x → IM 2.5%, MM 1.25%; 20x → 5% / 2.5%; deduction 150M × 1.25% = 1,875,000 (HL-03).
    expect(margin.tiers.map((tier) => formatFixed(tier.initialRate))).toEqual(['0.025', '0.05'])
    expect(margin.tiers.map((tier) => formatFixed(tier.maintenanceRate))).toEqual([
      '0.0125',
      '0.025',
    ])
    expect(formatFixed(margin.tiers[1]!.maintenanceDeduction)).toBe('1875000')
  })

  it('RUL-006: a stated deduction within a cent of the recurrence is kept as stated', () => {
    const result = parseRuleSet(
      withPatch({
        markets: [
          {
            market: 'BTCUSDT',
            margin: {
              tiers: [
                {
                  floor: '0',
                  cap: '50000',
                  maintenanceRate: '0.004',
                  maxLeverage: '125',
                  maintenanceDeduction: '0',
                },
                {
                  floor: '50000',
                  cap: null,
                  maintenanceRate: '0.005',
                  maxLeverage: '100',
                  maintenanceDeduction: '50.009',
                },
              ],
            },
          },
        ],
      }),
    )
    if (!result.ok) throw new Error(JSON.stringify(result.issues))
    const margin = result.ruleSet.markets.get('BTCUSDT')!.margin
    if (margin.kind !== 'tiered') throw new Error('expected a ladder')
    expect(formatFixed(margin.tiers[1]!.maintenanceDeduction)).toBe('50.009')
  })
})

const btcTiers = 'markets[0].margin.tiers'

describe('RUL-002..RUL-012 invalid documents are refused with the field named', () => {
  const cases: [string, unknown, string, string][] = [
    ['not an object', 42, 'not_an_object', ''],
    ['missing id', { ...document(), id: undefined }, 'missing_field', 'id'],
    [
      'bad schema version',
      { ...document(), $schemaVersion: 2 },
      'unsupported_schema_version',
      '$schemaVersion',
    ],
    ['unknown top-level field', { ...document(), colour: 'red' }, 'unknown_field', 'colour'],
    [
      'impossible date',
      { ...document(), effectiveDate: '2024-02-30' },
      'invalid_date',
      'effectiveDate',
    ],
    ['source not a URL', { ...document(), sources: ['binance'] }, 'not_a_url', 'sources[0]'],
    [
      'unknown valuation',
      withPatch({ liquidationPrice: { maintenanceValuation: 'at_mark' } }),
      'unknown_value',
      'liquidationPrice.maintenanceValuation',
    ],
    [
      'exact decimals too few',
      withPatch({ liquidationPrice: { exactDecimals: 2 } }),
      'out_of_range',
      'liquidationPrice.exactDecimals',
    ],
    [
      'fee rounding exact',
      withPatch({ account: { feeRounding: 'exact' } }),
      'unknown_value',
      'account.feeRounding',
    ],
    ['no markets', { ...document(), markets: [] }, 'no_markets', 'markets'],
    [
      'decimal as a number',
      withPatch({ markets: [{ market: 'BTCUSDT', tickSize: 0.01 }] }),
      'decimal_not_string',
      'markets[0].tickSize',
    ],
    [
      'not a decimal',
      withPatch({ markets: [{ market: 'BTCUSDT', lotSize: '1e-3' }] }),
      'not_a_decimal',
      'markets[0].lotSize',
    ],
    [
      'zero tick',
      withPatch({ markets: [{ market: 'BTCUSDT', tickSize: '0' }] }),
      'not_positive',
      'markets[0].tickSize',
    ],
    [
      'negative contract size',
      withPatch({ markets: [{ market: 'BTCUSD', contractSize: '-100' }] }),
      'not_positive',
      'markets[1].contractSize',
    ],
    [
      'taker rate above 1',
      withPatch({ markets: [{ market: 'BTCUSDT', takerFeeRate: '1.5' }] }),
      'rate_out_of_range',
      'markets[0].takerFeeRate',
    ],
    [
      'maker rebate below −1',
      withPatch({ markets: [{ market: 'BTCUSDT', makerFeeRate: '-2' }] }),
      'rate_out_of_range',
      'markets[0].makerFeeRate',
    ],
    [
      'leverage below one',
      withPatch({ markets: [{ market: 'BTCUSDT', maxLeverage: '0.5' }] }),
      'leverage_below_one',
      'markets[0].maxLeverage',
    ],
    [
      'unknown kind',
      withPatch({ markets: [{ market: 'BTCUSDT', kind: 'swaption' }] }),
      'unknown_value',
      'markets[0].kind',
    ],
    [
      'market id with a space',
      withPatch({
        markets: [
          { market: 'BTCUSDT', margin: {} },
          { ...(document().markets as object[])[0], market: 'ETH USDT' },
        ],
      }),
      'invalid_format',
      'markets[2].market',
    ],
    ['dated future without expiry', withoutExpiry(), 'missing_expiry', 'markets[1].expiryTimeMs'],
    [
      'linear settled in base',
      withPatch({ markets: [{ market: 'BTCUSDT', settlementAsset: 'BTC' }] }),
      'settlement_asset_mismatch',
      'markets[0].settlementAsset',
    ],
    [
      'inverse settled in quote',
      withPatch({ markets: [{ market: 'BTCUSD', settlementAsset: 'USD' }] }),
      'settlement_asset_mismatch',
      'markets[1].settlementAsset',
    ],
    [
      'expiry on a perpetual',
      withPatch({ markets: [{ market: 'BTCUSDT', expiryTimeMs: 1719561600000 }] }),
      'expiry_on_perpetual',
      'markets[0].expiryTimeMs',
    ],
    [
      'duplicate market',
      {
        ...document(),
        markets: [...(document().markets as unknown[]), (document().markets as unknown[])[0]],
      },
      'duplicate_market',
      'markets[2].market',
    ],
    [
      'unknown margin kind',
      withPatch({ markets: [{ market: 'BTCUSDT', margin: { kind: 'portfolio' } }] }),
      'unknown_value',
      'markets[0].margin.kind',
    ],
    [
      'empty ladder',
      withPatch({ markets: [{ market: 'BTCUSDT', margin: { tiers: [] } }] }),
      'empty_ladder',
      btcTiers,
    ],
    [
      'gap between tiers',
      withPatch({
        markets: [
          {
            market: 'BTCUSDT',
            margin: {
              tiers: [
                { floor: '0', cap: '50000', maintenanceRate: '0.004', maxLeverage: '125' },
                { floor: '60000', cap: null, maintenanceRate: '0.005', maxLeverage: '100' },
              ],
            },
          },
        ],
      }),
      'tiers_not_contiguous',
      `${btcTiers}[1].floor`,
    ],
    [
      'cap below floor',
      withPatch({
        markets: [
          {
            market: 'BTCUSDT',
            margin: {
              tiers: [
                { cap: '50000', maintenanceRate: '0.004', maxLeverage: '125' },
                { cap: '40000', maintenanceRate: '0.005', maxLeverage: '100' },
                { cap: null, maintenanceRate: '0.01', maxLeverage: '50' },
              ],
            },
          },
        ],
      }),
      'cap_not_above_floor',
      `${btcTiers}[1].cap`,
    ],
    [
      'last tier capped',
      withPatch({
        markets: [
          {
            market: 'BTCUSDT',
            margin: { tiers: [{ cap: '50000', maintenanceRate: '0.004', maxLeverage: '125' }] },
          },
        ],
      }),
      'last_tier_capped',
      `${btcTiers}[0].cap`,
    ],
    [
      'middle tier unbounded',
      withPatch({
        markets: [
          {
            market: 'BTCUSDT',
            margin: {
              tiers: [
                { cap: null, maintenanceRate: '0.004', maxLeverage: '125' },
                { cap: null, maintenanceRate: '0.005', maxLeverage: '100' },
              ],
            },
          },
        ],
      }),
      'missing_field',
      `${btcTiers}[0].cap`,
    ],
    [
      'maintenance rate decreasing',
      withPatch({
        markets: [
          {
            market: 'BTCUSDT',
            margin: {
              tiers: [
                { cap: '50000', maintenanceRate: '0.005', maxLeverage: '125' },
                { cap: null, maintenanceRate: '0.004', maxLeverage: '100' },
              ],
            },
          },
        ],
      }),
      'rate_decreasing',
      `${btcTiers}[1].maintenanceRate`,
    ],
    [
      'initial rate decreasing (leverage rising)',
      withPatch({
        markets: [
          {
            market: 'BTCUSDT',
            margin: {
              tiers: [
                { cap: '50000', maintenanceRate: '0.004', maxLeverage: '100' },
                { cap: null, maintenanceRate: '0.005', maxLeverage: '125' },
              ],
            },
          },
        ],
      }),
      'rate_decreasing',
      `${btcTiers}[1].maxLeverage`,
    ],
    [
      'initial below maintenance',
      withPatch({
        markets: [
          {
            market: 'BTCUSDT',
            margin: { tiers: [{ cap: null, maintenanceRate: '0.05', initialRate: '0.01' }] },
          },
        ],
      }),
      'initial_below_maintenance',
      `${btcTiers}[0].initialRate`,
    ],
    [
      'both initial rate and leverage',
      withPatch({
        markets: [
          {
            market: 'BTCUSDT',
            margin: {
              tiers: [
                { cap: null, maintenanceRate: '0.004', initialRate: '0.01', maxLeverage: '100' },
              ],
            },
          },
        ],
      }),
      'conflicting_fields',
      `${btcTiers}[0].initialRate`,
    ],
    [
      'deduction off by more than a cent',
      withPatch({
        markets: [
          {
            market: 'BTCUSDT',
            margin: {
              tiers: [
                { cap: '50000', maintenanceRate: '0.004', maxLeverage: '125' },
                {
                  cap: '250000',
                  maintenanceRate: '0.005',
                  maxLeverage: '100',
                  maintenanceDeduction: '50.01',
                },
                { cap: null, maintenanceRate: '0.01', maxLeverage: '50' },
              ],
            },
          },
        ],
      }),
      'deduction_mismatch',
      `${btcTiers}[1].maintenanceDeduction`,
    ],
    [
      'marginal ladder by size',
      withPatch({ markets: [{ market: 'BTCUSDT', margin: { basis: 'size' } }] }),
      'deduction_requires_value_basis',
      'markets[0].margin.bracketing',
    ],
    [
      'deduction on a whole-position ladder',
      withPatch({
        markets: [
          {
            market: 'BTCUSDT',
            margin: {
              bracketing: 'whole_position',
              tiers: [
                { cap: '50000', maintenanceRate: '0.004', maxLeverage: '125' },
                {
                  cap: null,
                  maintenanceRate: '0.005',
                  maxLeverage: '100',
                  maintenanceDeduction: '50',
                },
              ],
            },
          },
        ],
      }),
      'deduction_mismatch',
      `${btcTiers}[1].maintenanceDeduction`,
    ],
    [
      'zero risk-limit step',
      withPatch({ markets: [{ market: 'BTCUSD', margin: { riskLimitStep: '0' } }] }),
      'not_positive',
      'markets[1].margin.riskLimitStep',
    ],
    [
      'risk-limit initial below maintenance',
      withPatch({ markets: [{ market: 'BTCUSD', margin: { initialRateBase: '0.001' } }] }),
      'initial_below_maintenance',
      'markets[1].margin.initialRateBase',
    ],
    [
      'open-interest caps out of order',
      withPatch({
        markets: [
          {
            market: 'BTCUSDT',
            margin: {
              kind: 'open_interest_scaled',
              basis: undefined,
              tiers: undefined,
              initialRate: '0.05',
              maintenanceFraction: '0.6',
              openInterestLowerCap: '50',
              openInterestUpperCap: '25',
            },
          },
        ],
      }),
      'caps_out_of_order',
      'markets[0].margin.openInterestUpperCap',
    ],
    [
      'unknown tier field',
      withPatch({
        markets: [
          {
            market: 'BTCUSDT',
            margin: {
              tiers: [{ cap: null, maintenanceRate: '0.004', maxLeverage: '125', mmr: '1' }],
            },
          },
        ],
      }),
      'unknown_field',
      `${btcTiers}[0].mmr`,
    ],
  ]

  it.each(cases)('%s → %s at %s', (_name, input, code, path) => {
    expect(issuesOf(input)).toContainEqual({ code, path })
  })

  it('reports every issue of a document, not only the first', () => {
    const issues = issuesOf(
      withPatch({ id: 'Bad Id', markets: [{ market: 'BTCUSDT', tickSize: '0', lotSize: 'x' }] }),
    )
    expect(issues.map((issue) => issue.path)).toEqual(
      expect.arrayContaining(['id', 'markets[0].tickSize', 'markets[0].lotSize']),
    )
  })
})

describe('RUL-013 ruleSetToJson is the inverse of parseRuleSet', () => {
  it('round-trips the sample document', () => {
    const first = parseRuleSet(document())
    if (!first.ok) throw new Error('expected a valid rule set')
    const json: RuleSetJson = ruleSetToJson(first.ruleSet)
    expect(json.markets[0]!.tickSize).toBe('0.01')
    const second = parseRuleSet(JSON.parse(JSON.stringify(json)))
    expect(second).toEqual(first)
  })

  it('shares nothing with the rule set: changing the file form leaves the rule set as it was', () => {
    const loaded = loadRuleSet('deribit-pm')
    if (!loaded.ok) throw new Error('deribit-pm')
    const before = JSON.stringify(ruleSetToJson(loaded.ruleSet))
    const json = ruleSetToJson(loaded.ruleSet) as unknown as {
      markets: unknown[]
      sources: string[]
      portfolioMargin: { markets: unknown[] }
    }
    json.markets.push({ market: 'X' })
    json.sources.push('changed')
    json.portfolioMargin.markets.push({ market: 'X', product: 'BTC', tier: 'X' })
    expect(JSON.stringify(ruleSetToJson(loaded.ruleSet))).toBe(before)
  })

  const decimalText = fc
    .tuple(fc.integer({ min: 1, max: 10_000_000 }), fc.integer({ min: 0, max: 8 }))
    .map(([units, decimals]) =>
      formatFixed((BigInt(units) * 10n ** BigInt(18 - decimals)) as never),
    )

  test.prop([
    fc.array(fc.tuple(decimalText, fc.integer({ min: 1, max: 200 })), {
      minLength: 1,
      maxLength: 6,
    }),
    decimalText,
  ])('round-trips generated ladders exactly', (steps, tick) => {
    // Build a valid ladder: increasing caps, non-decreasing rates, initial ≥ maintenance.
    let cap = 0n
    let rate = 0
    const tiers = steps.map(([width, rise], index) => {
      cap += fixedOf(width)
      rate = Math.min(rate + rise, 5000)
      return {
        cap: index === steps.length - 1 ? null : formatFixed(cap as never),
        maintenanceRate: `0.${String(rate).padStart(4, '0')}`,
        initialRate: rate >= 5000 ? '1' : `0.${String(rate * 2).padStart(4, '0')}`,
      }
    })
    const first = parseRuleSet(
      withPatch({ markets: [{ market: 'BTCUSDT', tickSize: tick, margin: { tiers } }] }),
    )
    if (!first.ok) throw new Error(JSON.stringify(first.issues))
    expect(parseRuleSet(JSON.parse(JSON.stringify(ruleSetToJson(first.ruleSet))))).toEqual(first)
  })
})
