/**
 * Synthetic markets and accounts for the risk-book benchmark and tests: three USDT-margined linear
 * perpetuals with tax-bracket ladders (BTCUSDT uses the 2020 Binance brackets of exchanges.md §2.1),
 * and seeded random accounts of 1–3 cross positions with leverage between 2× and 25×.
 */
import type { Account, Position } from '../src/core/model/account.ts'
import type { Instrument } from '../src/core/model/instrument.ts'
import { type Fixed, fixedOf } from '../src/core/num/fixed.ts'
import type { MarginTier, MarketRules, RuleSet } from '../src/core/rules/rule-set.ts'

/** Deterministic 32-bit generator (mulberry32), uniform in [0, 1). */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** A tax-bracket ladder from (floor, maintenance rate) pairs; deductions by the recurrence. */
export function ladder(brackets: readonly (readonly [string, string])[]): MarginTier[] {
  const tiers: MarginTier[] = []
  let deduction = 0n
  let previousRate = 0n
  brackets.forEach(([floorText, rateText], index) => {
    const floor = fixedOf(floorText)
    const rate = fixedOf(rateText)
    if (index > 0) deduction += (floor * (rate - previousRate)) / 10n ** 18n
    previousRate = rate
    const next = brackets[index + 1]
    tiers.push({
      floor,
      cap: next === undefined ? null : fixedOf(next[0]),
      maintenanceRate: rate,
      initialRate: (rate * 2n) as Fixed,
      maintenanceDeduction: deduction as Fixed,
    })
  })
  return tiers
}

/** One market's definition for the fixtures. */
export interface FixtureMarket {
  readonly market: string
  readonly tickSize: string
  readonly lotSize: string
  /** Reference price (on the tick grid). */
  readonly price: string
  readonly tiers: readonly (readonly [string, string])[]
}

export const FIXTURE_MARKETS: readonly FixtureMarket[] = [
  {
    market: 'BTCUSDT',
    tickSize: '0.1',
    lotSize: '0.001',
    price: '60000',
    tiers: [
      ['0', '0.004'],
      ['50000', '0.005'],
      ['250000', '0.01'],
      ['1000000', '0.025'],
      ['5000000', '0.05'],
      ['10000000', '0.1'],
      ['20000000', '0.125'],
      ['35000000', '0.15'],
      ['50000000', '0.25'],
    ],
  },
  {
    market: 'ETHUSDT',
    tickSize: '0.01',
    lotSize: '0.001',
    price: '3000',
    tiers: [
      ['0', '0.005'],
      ['10000', '0.0065'],
      ['100000', '0.01'],
      ['500000', '0.02'],
      ['1000000', '0.05'],
      ['2000000', '0.1'],
      ['5000000', '0.125'],
      ['10000000', '0.15'],
      ['20000000', '0.25'],
    ],
  },
  {
    market: 'SOLUSDT',
    tickSize: '0.001',
    lotSize: '0.1',
    price: '150',
    tiers: [
      ['0', '0.01'],
      ['5000', '0.015'],
      ['25000', '0.02'],
      ['100000', '0.05'],
      ['250000', '0.1'],
      ['1000000', '0.125'],
      ['2000000', '0.25'],
    ],
  },
]

/** A rule set with the fixture markets, all settling in USDT. */
export function fixtureRules(closeFeeRate = '0'): RuleSet {
  const markets = new Map<string, MarketRules>()
  for (const definition of FIXTURE_MARKETS) {
    const instrument: Instrument = {
      market: definition.market,
      kind: 'linear_perpetual',
      baseAsset: definition.market.replace('USDT', ''),
      quoteAsset: 'USDT',
      settlementAsset: 'USDT',
      contractSize: fixedOf('1'),
      tickSize: fixedOf(definition.tickSize),
      lotSize: fixedOf(definition.lotSize),
    }
    markets.set(definition.market, {
      instrument,
      margin: { kind: 'tiered', basis: 'value', tiers: ladder(definition.tiers) },
      makerFeeRate: fixedOf('0.0002'),
      takerFeeRate: fixedOf('0.0005'),
      liquidationFeeRate: fixedOf('0.0125'),
      maxLeverage: fixedOf('125'),
    })
  }
  return {
    id: 'riskbook-fixture',
    venue: 'fixture',
    version: '1',
    effectiveDate: '2024-01-01',
    sources: ['exchanges.md §2.1 (BTCUSDT 2020 brackets)'],
    description: 'Synthetic linear perpetuals for the risk-book benchmark and tests.',
    liquidationPrice: {
      maintenanceValuation: 'at_liquidation_price',
      closeFeeRate: fixedOf(closeFeeRate),
      displayRounding: 'toward_safety',
      exactDecimals: 8,
    },
    account: { withdrawalValueFloorRate: fixedOf('0'), feeRounding: 'ceil' },
    markets,
  }
}

/** One synthetic position, in whole lots and ticks. */
export interface FixturePosition {
  readonly marketIndex: number
  /** Signed lots. */
  readonly lots: bigint
  /** Entry price in ticks. */
  readonly entryTicks: bigint
}

/** One synthetic account: balance in cents of USDT and its positions. */
export interface FixtureAccount {
  readonly balanceCents: bigint
  readonly positions: readonly FixturePosition[]
}

const TICK_SCALE = FIXTURE_MARKETS.map((market) => fixedOf(market.tickSize))
const LOT_SCALE = FIXTURE_MARKETS.map((market) => fixedOf(market.lotSize))
const REFERENCE_TICKS = FIXTURE_MARKETS.map(
  (market, index) => fixedOf(market.price) / TICK_SCALE[index]!,
)

/** Reference price of a fixture market, in ticks. */
export function referenceTicks(marketIndex: number): bigint {
  return REFERENCE_TICKS[marketIndex]!
}

/**
 * Seeded accounts: 1–3 positions in distinct markets, notional up to ~2M USDT (some in high tiers),
 * entry within ±0.5% of the reference price, balance = notional ÷ leverage (2×..25×).
 */
export function generateAccounts(count: number, seed: number): FixtureAccount[] {
  const random = seededRandom(seed)
  const accounts: FixtureAccount[] = []
  for (let index = 0; index < count; index++) {
    const positionCount = 1 + Math.floor(random() * 3)
    const markets = [0, 1, 2].sort(() => random() - 0.5).slice(0, positionCount)
    let notional = 0
    const positions = markets.map((marketIndex) => {
      const price =
        (Number(REFERENCE_TICKS[marketIndex]!) * Number(TICK_SCALE[marketIndex]!)) / 1e18
      const lotValue = price * (Number(LOT_SCALE[marketIndex]!) / 1e18)
      const targetNotional = 10 ** (1 + random() * 5.3)
      const lots = BigInt(Math.max(1, Math.floor(targetNotional / lotValue)))
      const offset = 1 + (random() - 0.5) * 0.01
      const entryTicks = BigInt(
        Math.max(1, Math.floor(Number(REFERENCE_TICKS[marketIndex]!) * offset)),
      )
      notional += Number(lots) * lotValue
      return { marketIndex, lots: random() < 0.5 ? lots : -lots, entryTicks }
    })
    const leverage = 2 + random() * 23
    const balanceCents = BigInt(Math.floor((notional / leverage) * 100))
    accounts.push({ balanceCents, positions })
  }
  return accounts
}

/** Size and entry value of a fixture position as Fixed. */
export function positionAmounts(position: FixturePosition): { size: Fixed; entryValue: Fixed } {
  const lot = LOT_SCALE[position.marketIndex]!
  const tick = TICK_SCALE[position.marketIndex]!
  const size = position.lots * lot
  return {
    size: size as Fixed,
    entryValue: ((size * position.entryTicks * tick) / 10n ** 18n) as Fixed,
  }
}

/** Balance of a fixture account as Fixed. */
export function balanceAmount(account: FixtureAccount): Fixed {
  return (account.balanceCents * 10n ** 16n) as Fixed
}

/** Price of a fixture market at `ticks`, as Fixed. */
export function priceAmount(marketIndex: number, ticks: bigint): Fixed {
  return (ticks * TICK_SCALE[marketIndex]!) as Fixed
}

/** The same account as a core `Account` (cross positions, no leverage choice). */
export function toCoreAccount(account: FixtureAccount, id: string): Account {
  const positions = new Map<string, Position>()
  for (const position of account.positions) {
    const market = FIXTURE_MARKETS[position.marketIndex]!.market
    const { size, entryValue } = positionAmounts(position)
    positions.set(market, {
      market,
      size,
      entryValue,
      marginMode: 'cross',
      isolatedMargin: 0n as Fixed,
      leverage: null,
    })
  }
  return { id, balances: new Map([['USDT', balanceAmount(account)]]), positions }
}
