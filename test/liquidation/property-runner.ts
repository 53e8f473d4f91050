// The random-sequence property runner of the waterfall variants (LIQ-060..LIQ-062, docs/spec/
// liquidation.md "Random sequences"): shared by properties.test.ts (bankruptcy-price settlement)
// and properties-fill-price.test.ts (fill-price settlement), which vitest runs in parallel.
//
// Each run is a short random sequence (3 deposits, an optional fund deposit, 2–6 trades, marks and
// executions). After every command the engine's always-on checks hold (INV-001 conservation from
// the running totals, INV-002 open interest, positions, INV-008 pools, INV-009 shortfall
// allocation, INV-010 no liquidated account below zero unless uncovered) — a violation throws —
// and every `shortfall_allocated` event adds up. The whole-state recomputation of the invariants
// (ENG-013 verify mode) runs after every command of one sequence in VERIFY_EVERY and once at the
// end of every sequence, which keeps 100,000 sequences per variant practical (LIQ-063).
import fc from 'fast-check'
import { expect } from 'vitest'
import { checkInvariants } from '../../src/core/engine/index.ts'
import { add, fromScaled, mul, mulInteger, roundToStep } from '../../src/core/num/fixed.ts'
import type { RuleSet } from '../../src/core/rules/rule-set.ts'
import { executeLiquidations } from '../../src/scenario/liquidation-execution.ts'
import { Driver, d, everyMarket, ofType, preset } from './helpers.ts'

/** Sequences per variant: 5,000 by default, LOR_LIQUIDATION_RUNS (≥ 100,000 for the full run). */
export const RUNS = Number(process.env.LOR_LIQUIDATION_RUNS ?? '5000')
/** Time allowed per variant: 60 s, or 30 minutes per 100,000 sequences on a loaded 2-core machine. */
export const VARIANT_TIMEOUT_MS = Math.max(60_000, Math.ceil((RUNS / 100_000) * 1_800_000))
/** One sequence in this many runs every command in verify mode. */
export const VERIFY_EVERY = Number(process.env.LOR_LIQUIDATION_VERIFY_EVERY ?? '10')

export interface Variant {
  readonly name: string
  readonly rules: RuleSet
  readonly market: string
  readonly asset: string
  readonly fund: string | null
  readonly price: number
  readonly lot: string
}

const noFees = { makerFeeRate: '0', takerFeeRate: '0' }
/** The eight waterfall variants; each test file runs those of one settlement kind. */
export const variants: Variant[] = [
  {
    name: 'binance-usdm: bankruptcy settlement, grouped fund, ADL queue at bankruptcy',
    rules: preset('binance-usdm'),
    market: 'BTCUSDT',
    asset: 'USDT',
    fund: 'BTCUSDT',
    price: 10000,
    lot: '0.001',
  },
  {
    name: 'binance-usdm: ADL min_winner_haircut',
    rules: preset('binance-usdm', (document) => {
      document.liquidation.adl.allocation = {
        kind: 'min_winner_haircut',
        weighting: 'pnl_times_leverage',
      }
    }),
    market: 'BTCUSDT',
    asset: 'USDT',
    fund: 'BTCUSDT',
    price: 10000,
    lot: '0.001',
  },
  {
    name: 'bitmex: step-down, inverse, ADL at bankruptcy',
    rules: preset('bitmex', (document) => everyMarket(document, noFees)),
    market: 'XBTUSD',
    asset: 'XBT',
    fund: 'XBT',
    price: 10000,
    lot: '100',
  },
  {
    name: 'okx: fill-price settlement, drawdown trigger, ADL at mark',
    rules: preset('okx'),
    market: 'BTC-USDT-SWAP',
    asset: 'USDT',
    fund: 'USDT-SWAP',
    price: 10000,
    lot: '1',
  },
  {
    name: 'deribit: incremental, socialized pro rata',
    rules: preset('deribit'),
    market: 'BTC-PERPETUAL',
    asset: 'BTC',
    fund: 'deribit',
    price: 10000,
    lot: '10',
  },
  {
    name: 'hyperliquid: fraction and backstop, no fund, ADL at mark',
    rules: preset('hyperliquid'),
    market: 'BTC',
    asset: 'USDC',
    fund: null,
    price: 10000,
    lot: '0.001',
  },
  {
    name: 'vega: per-market pool, floor-and-dust haircut',
    rules: preset('vega'),
    market: 'BTC-PERP',
    asset: 'USDC',
    fund: 'BTC-PERP',
    price: 10000,
    lot: '0.01',
  },
  {
    name: 'drift: restore + buffer, capped fund, open-interest charge',
    rules: preset('drift'),
    market: 'BTC-PERP',
    asset: 'USDC',
    fund: 'drift-if',
    price: 10000,
    lot: '0.01',
  },
]

const accounts = ['a', 'b', 'c'] as const
const step = fc.oneof(
  fc.record({
    kind: fc.constant('trade' as const),
    buyer: fc.constantFrom(...accounts),
    seller: fc.constantFrom(...accounts),
    lots: fc.integer({ min: 1, max: 400 }),
  }),
  fc.record({
    kind: fc.constant('mark' as const),
    moveBasisPoints: fc.integer({ min: -3000, max: 3000 }),
  }),
  fc.record({
    kind: fc.constant('execution' as const),
    price: fc.constantFrom('mark' as const, 'bankruptcy' as const, 'mark_with_slippage' as const),
  }),
)

/** Runs RUNS random sequences through `variant`; throws on the first broken invariant. */
export function runVariant(variant: Variant): void {
  let placed = 0
  let sequence = 0
  let allocated = 0
  const tick = variant.rules.markets.get(variant.market)?.instrument.tickSize ?? d('1')
  fc.assert(
    fc.property(
      fc.array(fc.integer({ min: 1, max: 50 }), { minLength: 3, maxLength: 3 }),
      fc.integer({ min: 0, max: 1000 }),
      fc.array(step, { minLength: 2, maxLength: 6 }),
      (deposits, fundSeed, steps) => {
        sequence += 1
        const engine = new Driver(variant.rules, { verify: sequence % VERIFY_EVERY === 1 })
        const scale = variant.asset === 'BTC' || variant.asset === 'XBT' ? '0.01' : '100'
        accounts.forEach((account, index) =>
          engine.run({
            type: 'deposit',
            account,
            asset: variant.asset,
            amount: mul(d(String(deposits[index] ?? 1)), d(scale), 'exact'),
          }),
        )
        if (variant.fund !== null && fundSeed > 0)
          engine.run({
            type: 'insurance_fund_deposit',
            fund: variant.fund,
            asset: variant.asset,
            amount: fromScaled(BigInt(fundSeed) * 10n ** 16n),
          })
        let mark = BigInt(variant.price)
        engine.run({ type: 'mark_price', market: variant.market, mark: d(String(mark)) })
        for (const [index, action] of steps.entries()) {
          engine.timestampMs = (index + 1) * 10_000
          if (action.kind === 'trade') {
            if (action.buyer === action.seller) continue
            engine.try({
              type: 'trade',
              account: action.buyer,
              market: variant.market,
              size: mulInteger(d(variant.lot), BigInt(action.lots)),
              price: d(String(mark)),
              liquidity: 'taker',
              counterparty: action.seller,
            })
          } else if (action.kind === 'mark') {
            const next = (mark * BigInt(10000 + action.moveBasisPoints)) / 10000n
            mark = next < 10n ? 10n : next
            engine.run({
              type: 'mark_price',
              market: variant.market,
              mark: roundToStep(d(String(mark)), tick, 'floor'),
            })
          } else {
            const steps = executeLiquidations(
              engine.state,
              { price: action.price, slippage: d('0.01') },
              engine.timestampMs,
            )
            for (const executed of steps) engine.events.push(...executed.events)
          }
        }
        checkInvariants(engine.state)
        placed += ofType(engine.events, 'liquidation_order_placed').length
        allocated += ofType(engine.events, 'shortfall_allocated').length
        for (const event of ofType(engine.events, 'shortfall_allocated')) {
          expect(
            add(add(event.insuranceFund, event.adl), add(event.socialized, event.uncovered)),
          ).toBe(event.shortfall)
        }
      },
    ),
    { numRuns: RUNS },
  )
  // The sequences reach the chain: orders are placed and shortfalls allocated.
  expect(placed).toBeGreaterThan(0)
  expect(allocated).toBeGreaterThan(0)
}
