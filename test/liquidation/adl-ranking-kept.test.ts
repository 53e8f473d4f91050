// ADL-033: the ranking a takeover deleverages from is kept between takeovers and updated for the
// accounts each command touched; after random sequences of deposits, withdrawals, trades on two
// markets, funding, marks (often repeated, so the kept ranking is reused) and liquidation
// executions, it equals the ranking from scratch over every holder, on both sides of each market.
// The engine runs with the whole-state checks on, so every takeover also checks it (ADL-033).
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { adlBookOf, opposingCandidates } from '../../src/core/engine/liquidation/adl-candidates.ts'
import { type AdlSide, rankAdlCandidates } from '../../src/core/loss/adl.ts'
import { mulInteger } from '../../src/core/num/fixed.ts'
import type { RuleSet } from '../../src/core/rules/rule-set.ts'
import { executeLiquidations } from '../../src/scenario/liquidation-execution.ts'
import { Driver, d, ofType, preset } from './helpers.ts'

interface Venue {
  readonly name: string
  readonly rules: RuleSet
  readonly asset: string
  readonly markets: readonly {
    readonly id: string
    readonly price: number
    readonly lot: string
    readonly lotsPerContract?: number
  }[]
}

const venues: Venue[] = [
  {
    name: 'hyperliquid (hyperliquid_index, ADL at mark)',
    rules: preset('hyperliquid'),
    asset: 'USDC',
    markets: [
      { id: 'BTC', price: 10000, lot: '0.001' },
      { id: 'ETH', price: 1000, lot: '0.01' },
    ],
  },
  {
    name: 'binance-usdm (binance_leverage_pnl, min_winner_haircut)',
    rules: preset('binance-usdm', (document) => {
      document.liquidation.adl.allocation = {
        kind: 'min_winner_haircut',
        weighting: 'pnl_times_leverage',
      }
    }),
    asset: 'USDT',
    markets: [
      { id: 'BTCUSDT', price: 10000, lot: '0.001' },
      { id: 'ETHUSDT', price: 1000, lot: '0.01' },
    ],
  },
  {
    name: 'bybit-linear (bitmex_pnl_leverage, fund share)',
    rules: preset('bybit-linear'),
    asset: 'USDT',
    markets: [{ id: 'BTCUSDT', price: 10000, lot: '0.001' }],
  },
  {
    name: 'okx with dydx_offset, profitable only',
    rules: preset('okx', (document) => {
      document.liquidation.adl.ranking = { kind: 'dydx_offset' }
      document.liquidation.adl.eligibility = 'profitable_only'
    }),
    asset: 'USDT',
    // 100 of the sequence's lots make one contract (0.01 BTC).
    markets: [{ id: 'BTC-USDT-SWAP', price: 10000, lot: '1', lotsPerContract: 100 }],
  },
]

const accounts = ['a', 'b', 'c', 'd', 'e', 'f', 'g'] as const
const step = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('trade' as const),
      market: fc.integer({ min: 0, max: 1 }),
      buyer: fc.constantFrom(...accounts),
      seller: fc.constantFrom(...accounts),
      lots: fc.integer({ min: 1, max: 3000 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('money' as const),
      account: fc.constantFrom(...accounts),
      amount: fc.integer({ min: -300, max: 300 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('funding' as const),
      market: fc.integer({ min: 0, max: 1 }),
      basisPoints: fc.integer({ min: -50, max: 50 }),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('mark' as const),
      market: fc.integer({ min: 0, max: 1 }),
      // 0: the same mark again (the kept ranking stays valid).
      moveBasisPoints: fc.constantFrom(0, 0, -1500, -400, 300, 1200),
      newTime: fc.boolean(),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('execute' as const),
      price: fc.constantFrom('mark' as const, 'bankruptcy' as const),
    }),
  },
)

function sides(): AdlSide[] {
  return ['long', 'short']
}

describe('ADL-033: the kept ADL ranking equals the ranking from scratch', () => {
  for (const venue of venues) {
    it(`${venue.name}: random sequences`, () => {
      let takeovers = 0
      fc.assert(
        fc.property(
          fc.array(fc.integer({ min: 1, max: 40 }), {
            minLength: accounts.length,
            maxLength: accounts.length,
          }),
          fc.array(step, { minLength: 4, maxLength: 24 }),
          (deposits, steps) => {
            const engine = new Driver(venue.rules)
            accounts.forEach((account, index) =>
              engine.run({
                type: 'deposit',
                account,
                asset: venue.asset,
                amount: d(String((deposits[index] ?? 1) * 100)),
              }),
            )
            const marks = venue.markets.map((market) => BigInt(market.price))
            venue.markets.forEach((market) =>
              engine.run({ type: 'mark_price', market: market.id, mark: d(String(market.price)) }),
            )
            let time = 1000
            const check = (): void => {
              const adl = venue.rules.liquidation?.adl
              if (adl === undefined || adl === null) return
              for (const market of venue.markets) {
                for (const side of sides()) {
                  const kept = adlBookOf(engine.state, market.id, side, engine.timestampMs)
                  const fresh = rankAdlCandidates(
                    adl,
                    '',
                    side,
                    opposingCandidates(engine.state, market.id, side, engine.timestampMs),
                  ).ranked.map((entry) => entry.candidate)
                  expect([...kept.candidates()]).toEqual(fresh)
                }
              }
            }
            for (const action of steps) {
              engine.timestampMs = time
              if (action.kind === 'trade') {
                const market = venue.markets[action.market % venue.markets.length]
                if (market === undefined || action.buyer === action.seller) continue
                engine.try({
                  type: 'trade',
                  account: action.buyer,
                  market: market.id,
                  size: mulInteger(
                    d(market.lot),
                    BigInt(Math.ceil(action.lots / (market.lotsPerContract ?? 1))),
                  ),
                  price: d(String(marks[action.market % venue.markets.length])),
                  liquidity: 'taker',
                  counterparty: action.seller,
                })
              } else if (action.kind === 'money') {
                engine.try(
                  action.amount >= 0
                    ? {
                        type: 'deposit',
                        account: action.account,
                        asset: venue.asset,
                        amount: d(String(action.amount)),
                      }
                    : {
                        type: 'withdraw',
                        account: action.account,
                        asset: venue.asset,
                        amount: d(String(-action.amount)),
                      },
                )
              } else if (action.kind === 'funding') {
                const market = venue.markets[action.market % venue.markets.length]
                if (market === undefined) continue
                engine.try({
                  type: 'funding',
                  market: market.id,
                  rate: d(String(action.basisPoints / 10000)),
                })
              } else if (action.kind === 'mark') {
                const index = action.market % venue.markets.length
                const market = venue.markets[index]
                const mark = marks[index]
                if (market === undefined || mark === undefined) continue
                if (action.newTime) time += 60_000
                engine.timestampMs = time
                const next = (mark * BigInt(10000 + action.moveBasisPoints)) / 10000n
                marks[index] = next
                engine.run({ type: 'mark_price', market: market.id, mark: d(String(next)) })
              } else {
                const executed = executeLiquidations(
                  engine.state,
                  { price: action.price, slippage: d('0.01') },
                  engine.timestampMs,
                )
                for (const each of executed) engine.events.push(...each.events)
              }
              check()
            }
            takeovers += ofType(engine.events, 'adl_deleveraged').length
          },
        ),
        { numRuns: 150, seed: 20261124 },
      )
      // The sequences reach ADL.
      expect(takeovers).toBeGreaterThan(0)
    }, 120_000)
  }
})
