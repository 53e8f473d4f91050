// Rule sets built directly for engine tests (no preset files involved).
import type { Instrument, InstrumentKind } from '../../src/core/model/instrument.ts'
import { type Fixed, fixedOf } from '../../src/core/num/fixed.ts'
import type { MarketRules, RuleSet } from '../../src/core/rules/rule-set.ts'

export const f = fixedOf

interface MarketInput {
  market: string
  kind: InstrumentKind
  base: string
  quote: string
  contractSize: string
  tickSize?: string
  lotSize?: string
  maker?: string
  taker?: string
  maxLeverage?: string
  expiryTimeMs?: number
}

export function market(input: MarketInput): MarketRules {
  const linear = input.kind === 'linear_perpetual' || input.kind === 'linear_future'
  const instrument: Instrument = {
    market: input.market,
    kind: input.kind,
    baseAsset: input.base,
    quoteAsset: input.quote,
    settlementAsset: linear ? input.quote : input.base,
    contractSize: f(input.contractSize),
    tickSize: f(input.tickSize ?? '0.5'),
    lotSize: f(input.lotSize ?? '1'),
    ...(input.expiryTimeMs === undefined ? {} : { expiryTimeMs: input.expiryTimeMs }),
  }
  return {
    instrument,
    margin: {
      kind: 'tiered',
      basis: 'value',
      tiers: [
        {
          floor: f('0'),
          cap: null,
          maintenanceRate: f('0.005'),
          initialRate: f('0.01'),
          maintenanceDeduction: f('0'),
        },
      ],
    },
    makerFeeRate: f(input.maker ?? '0'),
    takerFeeRate: f(input.taker ?? '0'),
    liquidationFeeRate: f('0'),
    maxLeverage: f(input.maxLeverage ?? '100'),
  }
}

export function ruleSet(markets: MarketRules[], overrides: Partial<RuleSet> = {}): RuleSet {
  return {
    id: 'test',
    venue: 'test',
    version: '1',
    effectiveDate: '2024-01-01',
    sources: [],
    description: 'engine test rules',
    liquidationPrice: {
      maintenanceValuation: 'at_liquidation_price',
      closeFeeRate: f('0'),
      displayRounding: 'nearest',
      exactDecimals: 8,
    },
    account: { withdrawalValueFloorRate: f('0'), feeRounding: 'ceil' },
    markets: new Map(markets.map((each) => [each.instrument.market, each])),
    ...overrides,
  }
}

/** A linear USDT perpetual (1 contract = 1 BTC... in `contractSize`), an inverse XBTUSD (1 USD) and a linear and inverse future. */
export const testRules = ruleSet([
  market({
    market: 'BTCUSDT',
    kind: 'linear_perpetual',
    base: 'BTC',
    quote: 'USDT',
    contractSize: '0.001',
    tickSize: '0.1',
    taker: '0.0005',
    maker: '0.0002',
  }),
  market({
    market: 'XBTUSD',
    kind: 'inverse_perpetual',
    base: 'XBT',
    quote: 'USD',
    contractSize: '1',
    tickSize: '0.5',
    taker: '0.00075',
    maker: '-0.00025',
  }),
  market({
    market: 'BTCUSDT-FUT',
    kind: 'linear_future',
    base: 'BTC',
    quote: 'USDT',
    contractSize: '0.001',
    tickSize: '0.1',
    expiryTimeMs: 1_000_000,
  }),
  market({
    market: 'XBTH25',
    kind: 'inverse_future',
    base: 'XBT',
    quote: 'USD',
    contractSize: '1',
    tickSize: '0.5',
    expiryTimeMs: 1_000_000,
  }),
])

export type { Fixed }
