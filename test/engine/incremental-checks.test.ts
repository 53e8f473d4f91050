// ENG-013, ENG-014: the always-on checks of what a command touched catch a broken plan with the
// whole-state checks off; the mark screen reports exactly the accounts a full evaluation finds
// below maintenance; the state hash does not depend on the verification switch.
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  applyPlan,
  type Command,
  createEngineState,
  encodeStateCanonical,
  type EngineEvent,
  type EngineState,
  execute,
  holdersOf,
  type Plan,
  type SeedAccount,
  seedState,
} from '../../src/core/engine/index.ts'
import { accountsBelowMaintenance } from '../../src/core/engine/margin.ts'
import { markPrices } from '../../src/core/engine/state.ts'
import { evaluateAccount, evaluateAccountMargin } from '../../src/core/margin/evaluate.ts'
import type { Fixed } from '../../src/core/num/fixed.ts'
import type { MarketRules } from '../../src/core/rules/rule-set.ts'
import { f, market, ruleSet, testRules } from './fixtures.ts'

const emptyPlan: Plan = {
  openAccounts: [],
  transfers: [],
  positionChanges: [],
  settingChanges: [],
  priceUpdates: new Map(),
  expireMarkets: new Map(),
  ruleSet: null,
  liquidation: null,
}

function unverifiedState(): EngineState {
  const state = createEngineState(testRules, { verify: false })
  seedState(state, [{ id: 'a', balances: new Map([['USDT', f('1000')]]), positions: [] }], 0)
  return state
}

const long = (sizeDelta: string, entryValueDelta: string) => ({
  account: 'a',
  market: 'BTCUSDT',
  sizeDelta: f(sizeDelta),
  entryValueDelta: f(entryValueDelta),
  marginMode: 'cross' as const,
  leverage: null,
})

describe('ENG-013: broken plans are caught with the whole-state checks off', () => {
  it('INV-002: a position without its other side', () => {
    const state = unverifiedState()
    // Conserves money (the cash leg moves by its transfer) but opens one side only.
    const broken: Plan = {
      ...emptyPlan,
      positionChanges: [long('1', '100')],
      transfers: [
        {
          asset: 'USDT',
          from: { kind: 'position', account: 'a', market: 'BTCUSDT' },
          to: { kind: 'wallet', account: 'a' },
          amount: f('100'),
        },
      ],
    }
    expect(() => applyPlan(state, broken, { sequence: 1, timestampMs: 1 })).toThrow(
      /Invariant: open interest long equals short \(INV-002, market=BTCUSDT/,
    )
  })

  it('INV-003: an entry value against the sign of the size', () => {
    const state = unverifiedState()
    const broken: Plan = {
      ...emptyPlan,
      positionChanges: [long('1', '-100'), { ...long('-1', '100'), account: '@book' }],
      transfers: [
        {
          asset: 'USDT',
          from: { kind: 'wallet', account: 'a' },
          to: { kind: 'position', account: 'a', market: 'BTCUSDT' },
          amount: f('100'),
        },
        {
          asset: 'USDT',
          from: { kind: 'position', account: '@book', market: 'BTCUSDT' },
          to: { kind: 'wallet', account: '@book' },
          amount: f('100'),
        },
      ],
    }
    expect(() => applyPlan(state, broken, { sequence: 1, timestampMs: 1 })).toThrow(
      /Invariant: entry value has the sign of the size \(INV-003, account=a, market=BTCUSDT\)/,
    )
  })

  it('INV-007: a position left in a settled market', () => {
    const state = unverifiedState()
    const broken: Plan = {
      ...emptyPlan,
      positionChanges: [long('1', '100'), { ...long('-1', '-100'), account: '@book' }],
      transfers: [
        {
          asset: 'USDT',
          from: { kind: 'position', account: 'a', market: 'BTCUSDT' },
          to: { kind: 'clearing' },
          amount: f('100'),
        },
        {
          asset: 'USDT',
          from: { kind: 'clearing' },
          to: { kind: 'position', account: '@book', market: 'BTCUSDT' },
          amount: f('100'),
        },
      ],
      expireMarkets: new Map([['BTCUSDT', f('100')]]),
    }
    expect(() => applyPlan(state, broken, { sequence: 1, timestampMs: 1 })).toThrow(
      /Invariant: a settled market holds no positions \(INV-007, account=/,
    )
  })

  it('INV-004 is still checked on the plan itself', () => {
    const state = unverifiedState()
    const broken: Plan = { ...emptyPlan, positionChanges: [long('1', '100')] }
    expect(() => applyPlan(state, broken, { sequence: 1, timestampMs: 1 })).toThrow(/INV-004/)
  })
})

/** A linear market with a three-tier ladder and a close fee, so tiers and fees move the trigger. */
const tieredMarket: MarketRules = {
  ...market({
    market: 'BTCUSDT',
    kind: 'linear_perpetual',
    base: 'BTC',
    quote: 'USDT',
    contractSize: '0.001',
    tickSize: '0.1',
    taker: '0.0005',
  }),
  margin: {
    kind: 'tiered',
    basis: 'value',
    tiers: [
      {
        floor: f('0'),
        cap: f('5000'),
        maintenanceRate: f('0.004'),
        initialRate: f('0.008'),
        maintenanceDeduction: f('0'),
      },
      {
        floor: f('5000'),
        cap: f('50000'),
        maintenanceRate: f('0.01'),
        initialRate: f('0.02'),
        maintenanceDeduction: f('30'),
      },
      {
        floor: f('50000'),
        cap: null,
        maintenanceRate: f('0.05'),
        initialRate: f('0.1'),
        maintenanceDeduction: f('2030'),
      },
    ],
  },
}
const tieredRules = ruleSet([tieredMarket], {
  liquidationPrice: {
    maintenanceValuation: 'at_liquidation_price',
    closeFeeRate: f('0.0005'),
    displayRounding: 'nearest',
    exactDecimals: 8,
  },
})

const seedAccount = fc.record({
  lots: fc.integer({ min: -3000, max: 3000 }).filter((lots) => lots !== 0),
  entryTicks: fc.integer({ min: 180_000, max: 220_000 }),
  collateral: fc.integer({ min: 0, max: 3000 }),
  isolated: fc.boolean(),
})

function seededTiered(
  accounts: readonly { lots: number; collateral: number; isolated: boolean }[],
  entryTicks: number,
  verify: boolean,
): EngineState {
  const state = createEngineState(tieredRules, { verify })
  const seeds: SeedAccount[] = accounts.map((account, index) => ({
    id: `t${String(index).padStart(3, '0')}`,
    balances: new Map([['USDT', f(String(account.collateral))]]),
    positions: [
      {
        market: 'BTCUSDT',
        size: f(String(account.lots)),
        // One entry price for all, so the book's opposite position has a consistent entry value.
        entryPrice: (BigInt(entryTicks) * 10n ** 17n) as Fixed,
        marginMode: account.isolated ? 'isolated' : 'cross',
        leverage: account.isolated ? f('20') : null,
        isolatedMargin: account.isolated ? f(String(account.collateral)) : f('0'),
      },
    ],
  }))
  seedState(state, seeds, 0)
  return state
}

describe('MRG-015: the light evaluation', () => {
  it('gives the same figures as evaluateAccount, without the prices', () => {
    fc.assert(
      fc.property(
        fc.array(seedAccount, { minLength: 1, maxLength: 10 }),
        fc.integer({ min: 180_000, max: 220_000 }),
        fc.integer({ min: 150_000, max: 250_000 }),
        (accounts, entryTicks, markTicks) => {
          const state = seededTiered(accounts, entryTicks, true)
          const marks = new Map([['BTCUSDT', (BigInt(markTicks) * 10n ** 17n) as Fixed]])
          for (const account of state.accounts.values()) {
            const full = evaluateAccount(tieredRules, account, marks)
            const light = evaluateAccountMargin(tieredRules, account, marks)
            const withoutPrices = full.groups.map((group) => ({
              ...group,
              positions: group.positions.map(
                ({
                  entryPrice: _entry,
                  liquidationPrice: _liquidation,
                  liquidationPriceExact: _liquidationExact,
                  bankruptcyPrice: _bankruptcy,
                  bankruptcyPriceExact: _bankruptcyExact,
                  ...rest
                }) => rest,
              ),
            }))
            expect(light.groups).toEqual(withoutPrices)
          }
        },
      ),
      { seed: 15, numRuns: 40 },
    )
  })
})

describe('ENG-014: the mark screen', () => {
  it('reports exactly the accounts a full evaluation finds below maintenance, mark after mark', () => {
    fc.assert(
      fc.property(
        fc.array(seedAccount, { minLength: 1, maxLength: 25 }),
        fc.integer({ min: 180_000, max: 220_000 }),
        fc.array(fc.integer({ min: 150_000, max: 250_000 }), { minLength: 1, maxLength: 25 }),
        (accounts, entryTicks, markTicks) => {
          // Screened without whole-state checks; a second state verifies every screen entry.
          const fast = seededTiered(accounts, entryTicks, false)
          const checked = seededTiered(accounts, entryTicks, true)
          markTicks.forEach((ticks, step) => {
            const mark = (BigInt(ticks) * 10n ** 17n) as Fixed
            const marks = markPrices(fast)
            marks.set('BTCUSDT', mark)
            const holders = holdersOf(fast, 'BTCUSDT')
              .filter((id) => id !== '@book')
              .map((id) => fast.accounts.get(id))
              .filter((account) => account !== undefined)
            const expected = accountsBelowMaintenance(fast, fast.rules, holders, marks)
            const command: Command = { type: 'mark_price', market: 'BTCUSDT', mark }
            const context = { sequence: step + 1, timestampMs: step + 1 }
            const outcome = execute(fast, command, context)
            execute(checked, command, context)
            const below = outcome.events.filter(
              (event): event is Extract<EngineEvent, { type: 'account_below_maintenance' }> =>
                event.type === 'account_below_maintenance',
            )
            expect(below).toEqual(expected)
            expect(encodeStateCanonical(fast)).toBe(encodeStateCanonical(checked))
          })
        },
      ),
      { seed: 20_251_010, numRuns: 60 },
    )
  })
})
