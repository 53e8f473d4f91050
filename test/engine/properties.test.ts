// INV-001, INV-002, ENG-003, ENG-011: properties over random command sequences (fixed seed; fast-check
// prints the seed and the shrunk sequence on failure).
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  type Command,
  createEngineState,
  encodeStateCanonical,
  type EngineSnapshot,
  execute,
  heldPerAsset,
  restoreState,
  snapshotState,
} from '../../src/core/engine/index.ts'
import { type Fixed, fixed, sub, ZERO } from '../../src/core/num/fixed.ts'
import { market, ruleSet } from './fixtures.ts'

// Markets without margin evaluation hazards: whole-contract lots and coarse ticks.
const rules = ruleSet([
  market({
    market: 'LIN',
    kind: 'linear_perpetual',
    base: 'BTC',
    quote: 'USDT',
    contractSize: '0.01',
    tickSize: '0.5',
    taker: '0.0005',
    maker: '-0.0001',
  }),
  market({
    market: 'INV',
    kind: 'inverse_perpetual',
    base: 'BTC',
    quote: 'USD',
    contractSize: '10',
    tickSize: '0.5',
    taker: '0.00075',
    maker: '-0.00025',
  }),
])
const accounts = ['a', 'b', 'c'] as const
const markets = ['LIN', 'INV'] as const

const price = fc
  .integer({ min: 2000, max: 200000 })
  .map((halfTicks) => (fixed(halfTicks) / 2n) as Fixed)
const size = fc
  .integer({ min: -50, max: 50 })
  .filter((value) => value !== 0)
  .map((value) => fixed(value))
const command: fc.Arbitrary<Command> = fc.oneof(
  fc.record({
    type: fc.constant('deposit' as const),
    account: fc.constantFrom(...accounts),
    asset: fc.constantFrom('USDT', 'BTC'),
    amount: fc.integer({ min: 1, max: 100000 }).map((value) => fixed(value)),
  }),
  fc.record({
    type: fc.constant('withdraw' as const),
    account: fc.constantFrom(...accounts),
    asset: fc.constantFrom('USDT', 'BTC'),
    amount: fc.integer({ min: 1, max: 1000 }).map((value) => fixed(value)),
  }),
  fc.record({
    type: fc.constant('trade' as const),
    account: fc.constantFrom(...accounts),
    market: fc.constantFrom(...markets),
    size,
    price,
    liquidity: fc.constantFrom('maker' as const, 'taker' as const),
    counterparty: fc.constantFrom('@book', ...accounts),
  }),
  fc.record({
    type: fc.constant('mark_price' as const),
    market: fc.constantFrom(...markets),
    mark: price,
  }),
  fc.record({
    type: fc.constant('funding' as const),
    market: fc.constantFrom(...markets),
    rate: fc
      .integer({ min: -30000, max: 30000 })
      .map((value) => (BigInt(value) * 10n ** 12n) as Fixed),
  }),
  fc.record({
    type: fc.constant('set_margin_mode' as const),
    account: fc.constantFrom(...accounts),
    market: fc.constantFrom(...markets),
    marginMode: fc.constantFrom('cross' as const, 'isolated' as const),
  }),
)

function run(commands: readonly Command[]) {
  const state = createEngineState(rules)
  let sequence = 0
  for (const each of commands) {
    const before = encodeStateCanonical(state)
    const outcome = execute(state, each, { sequence: sequence + 1, timestampMs: sequence })
    if (outcome.result.status === 'ok') sequence += 1
    // ENG-003: a refused command changes nothing.
    else expect(encodeStateCanonical(state)).toBe(before)
  }
  return state
}

describe('engine properties', () => {
  it('INV-001, INV-002: each asset is conserved and open interest balances after any sequence', () => {
    fc.assert(
      fc.property(fc.array(command, { maxLength: 60 }), (commands) => {
        const state = run(commands)
        const held = heldPerAsset(state)
        for (const asset of new Set([...held.keys(), ...state.deposits.keys()])) {
          expect(held.get(asset) ?? ZERO).toBe(
            sub(state.deposits.get(asset) ?? ZERO, state.withdrawals.get(asset) ?? ZERO),
          )
        }
        for (const marketId of markets) {
          let net = ZERO
          for (const account of state.accounts.values())
            net = (net + (account.positions.get(marketId)?.size ?? ZERO)) as Fixed
          expect(net).toBe(ZERO)
        }
      }),
      { seed: 20240601, numRuns: 300 },
    )
  })

  it('ENG-011: a snapshot restores to the same canonical state', () => {
    fc.assert(
      fc.property(fc.array(command, { maxLength: 40 }), (commands) => {
        const state = run(commands)
        const restored = restoreState(
          JSON.parse(JSON.stringify(snapshotState(state))) as EngineSnapshot,
        )
        expect(encodeStateCanonical(restored)).toBe(encodeStateCanonical(state))
      }),
      { seed: 20240602, numRuns: 100 },
    )
  })
})
