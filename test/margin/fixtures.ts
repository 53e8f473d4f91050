/**
 * Small builders for margin tests: instruments, markets, rule sets and accounts from decimal strings.
 * Each test builds the venue parameters it cites; nothing here encodes a venue.
 */
import type { Account, MarginMode, Position } from '../../src/core/model/account.ts'
import type { Instrument, InstrumentKind } from '../../src/core/model/instrument.ts'
import { entryValueOf } from '../../src/core/model/position-math.ts'
import { type Fixed, fixedOf, ZERO } from '../../src/core/num/fixed.ts'
import type {
  LiquidationPriceRules,
  MarginModel,
  MarginTier,
  MarketRules,
  RuleSet,
} from '../../src/core/rules/rule-set.ts'

export const f = fixedOf

export interface InstrumentSpec {
  readonly market: string
  readonly kind?: InstrumentKind
  readonly base?: string
  readonly quote?: string
  readonly contractSize?: string
  readonly tickSize?: string
}

export function instrument(spec: InstrumentSpec): Instrument {
  const kind = spec.kind ?? 'linear_perpetual'
  const base = spec.base ?? 'BTC'
  const quote = spec.quote ?? 'USDT'
  const linear = kind === 'linear_perpetual' || kind === 'linear_future'
  return {
    market: spec.market,
    kind,
    baseAsset: base,
    quoteAsset: quote,
    settlementAsset: linear ? quote : base,
    contractSize: f(spec.contractSize ?? '1'),
    tickSize: f(spec.tickSize ?? '0.01'),
    lotSize: f('0.001'),
  }
}

/** A one-tier ladder with these rates. */
export function flatModel(maintenanceRate: string, initialRate = '0.01'): MarginModel {
  return {
    kind: 'tiered',
    basis: 'value',
    tiers: [
      {
        floor: ZERO,
        cap: null,
        maintenanceRate: f(maintenanceRate),
        initialRate: f(initialRate),
        maintenanceDeduction: ZERO,
      },
    ],
  }
}

/** A tax-bracket ladder from [floor, cap | null, maintenanceRate, initialRate, deduction] rows. */
export function ladder(
  rows: readonly (readonly [string, string | null, string, string, string])[],
  basis: 'value' | 'size' | 'base_size' = 'value',
): MarginModel {
  const tiers: MarginTier[] = rows.map(([floor, cap, maintenanceRate, initialRate, deduction]) => ({
    floor: f(floor),
    cap: cap === null ? null : f(cap),
    maintenanceRate: f(maintenanceRate),
    initialRate: f(initialRate),
    maintenanceDeduction: f(deduction),
  }))
  return { kind: 'tiered', basis, tiers }
}

export function market(spec: InstrumentSpec, margin: MarginModel): MarketRules {
  return {
    instrument: instrument(spec),
    margin,
    makerFeeRate: ZERO,
    takerFeeRate: ZERO,
    liquidationFeeRate: ZERO,
    maxLeverage: f('125'),
  }
}

export function liquidationRules(
  overrides: Partial<LiquidationPriceRules> = {},
): LiquidationPriceRules {
  return {
    maintenanceValuation: 'at_liquidation_price',
    closeFeeRate: ZERO,
    displayRounding: 'nearest',
    exactDecimals: 8,
    ...overrides,
  }
}

export function ruleSet(
  markets: readonly MarketRules[],
  liquidationPrice: LiquidationPriceRules = liquidationRules(),
  withdrawalValueFloorRate = '0',
): RuleSet {
  return {
    id: 'test',
    venue: 'test',
    version: 'test',
    effectiveDate: '2024-01-01',
    sources: [],
    description: 'built in a test',
    liquidationPrice,
    account: { withdrawalValueFloorRate: f(withdrawalValueFloorRate), feeRounding: 'ceil' },
    markets: new Map(markets.map((each) => [each.instrument.market, each])),
  }
}

export interface PositionSpec {
  readonly market: MarketRules
  /** Signed contracts. */
  readonly size: string
  readonly entryPrice: string
  readonly marginMode?: MarginMode
  readonly isolatedMargin?: string
  readonly leverage?: string
}

export function position(spec: PositionSpec): Position {
  const size = f(spec.size)
  return {
    market: spec.market.instrument.market,
    size,
    entryValue: entryValueOf(spec.market.instrument, size, f(spec.entryPrice)),
    marginMode: spec.marginMode ?? 'cross',
    isolatedMargin: f(spec.isolatedMargin ?? '0'),
    leverage: spec.leverage === undefined ? null : f(spec.leverage),
  }
}

export function account(
  balances: Record<string, string>,
  positions: readonly Position[],
  id = 'trader',
): Account {
  return {
    id,
    balances: new Map(Object.entries(balances).map(([asset, amount]) => [asset, f(amount)])),
    positions: new Map(positions.map((each) => [each.market, each])),
  }
}

export function marks(entries: Record<string, string>): Map<string, Fixed> {
  return new Map(Object.entries(entries).map(([marketId, price]) => [marketId, f(price)]))
}
