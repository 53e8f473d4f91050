// ENG-*: result-code precedence, refusals that change nothing, expiry settlement, snapshots.
import { describe, expect, it } from 'vitest'
import {
  type Command,
  createEngineState,
  encodeStateCanonical,
  type EngineSnapshot,
  type EngineState,
  execute,
  REFUSAL_CODES,
  restoreState,
  seedState,
  snapshotState,
} from '../../src/core/engine/index.ts'
import { type Fixed, formatFixed } from '../../src/core/num/fixed.ts'
import { f, testRules } from './fixtures.ts'

function fundedState(): EngineState {
  const state = createEngineState(testRules)
  seedState(
    state,
    [
      {
        id: 'a',
        balances: new Map([
          ['USDT', f('1000')],
          ['XBT', f('1')],
        ]),
        positions: [
          {
            market: 'BTCUSDT-FUT',
            size: f('10'),
            entryPrice: f('50000'),
            marginMode: 'cross',
            leverage: null,
            isolatedMargin: f('0'),
          },
        ],
      },
      {
        id: 'b',
        balances: new Map([['USDT', f('1000')]]),
        positions: [
          {
            market: 'XBTH25',
            size: f('-3000'),
            entryPrice: f('7000'),
            marginMode: 'isolated',
            leverage: f('10'),
            isolatedMargin: f('0.05'),
          },
        ],
      },
    ],
    0,
  )
  return state
}

const at = (sequence: number, timestampMs = 10) => ({ sequence, timestampMs })

describe('result codes (ENG-004)', () => {
  it.each<[string, string, Command]>([
    [
      'system account before unknown market',
      'account_is_system',
      {
        type: 'trade',
        account: '@book',
        market: 'NOPE',
        size: f('0'),
        price: f('0'),
        liquidity: 'taker',
      },
    ],
    [
      'unknown account before unknown market',
      'account_not_found',
      {
        type: 'trade',
        account: 'zed',
        market: 'NOPE',
        size: f('0'),
        price: f('0'),
        liquidity: 'taker',
      },
    ],
    [
      'unknown counterparty before unknown market',
      'counterparty_not_found',
      {
        type: 'trade',
        account: 'a',
        counterparty: 'zed',
        market: 'NOPE',
        size: f('1'),
        price: f('1'),
        liquidity: 'taker',
      },
    ],
    [
      'self-trade before unknown market',
      'counterparty_same_as_account',
      {
        type: 'trade',
        account: 'a',
        counterparty: 'a',
        market: 'NOPE',
        size: f('1'),
        price: f('1'),
        liquidity: 'taker',
      },
    ],
    [
      'unknown market before zero size',
      'market_not_found',
      {
        type: 'trade',
        account: 'a',
        market: 'NOPE',
        size: f('0'),
        price: f('0'),
        liquidity: 'taker',
      },
    ],
    [
      'zero size before bad price',
      'size_zero',
      {
        type: 'trade',
        account: 'a',
        market: 'BTCUSDT',
        size: f('0'),
        price: f('-1'),
        liquidity: 'taker',
      },
    ],
    [
      'lot before price',
      'size_not_multiple_of_lot',
      {
        type: 'trade',
        account: 'a',
        market: 'BTCUSDT',
        size: f('0.5'),
        price: f('-1'),
        liquidity: 'taker',
      },
    ],
    [
      'price sign before tick',
      'price_not_positive',
      {
        type: 'trade',
        account: 'a',
        market: 'BTCUSDT',
        size: f('1'),
        price: f('-0.05'),
        liquidity: 'taker',
      },
    ],
    [
      'tick',
      'price_not_multiple_of_tick',
      {
        type: 'trade',
        account: 'a',
        market: 'BTCUSDT',
        size: f('1'),
        price: f('100.05'),
        liquidity: 'taker',
      },
    ],
    [
      'amount before balance',
      'amount_not_positive',
      { type: 'withdraw', account: 'a', asset: 'USDT', amount: f('0') },
    ],
    [
      'mark missing before balance',
      'mark_price_missing',
      { type: 'withdraw', account: 'a', asset: 'USDT', amount: f('5000') },
    ],
    [
      'unknown market before amount',
      'market_not_found',
      { type: 'add_isolated_margin', account: 'b', market: 'NOPE', amount: f('-1') },
    ],
    [
      'amount before position',
      'amount_not_positive',
      { type: 'add_isolated_margin', account: 'a', market: 'XBTUSD', amount: f('-1') },
    ],
    [
      'position not found',
      'position_not_found',
      { type: 'add_isolated_margin', account: 'a', market: 'XBTUSD', amount: f('1') },
    ],
    [
      'position not isolated',
      'position_not_isolated',
      { type: 'add_isolated_margin', account: 'a', market: 'BTCUSDT-FUT', amount: f('1') },
    ],
    [
      'balance',
      'insufficient_balance',
      { type: 'add_isolated_margin', account: 'b', market: 'XBTH25', amount: f('1') },
    ],
    [
      'position open',
      'position_open',
      { type: 'set_margin_mode', account: 'a', market: 'BTCUSDT-FUT', marginMode: 'isolated' },
    ],
    [
      'leverage',
      'leverage_out_of_range',
      { type: 'set_leverage', account: 'a', market: 'BTCUSDT', leverage: f('101') },
    ],
    [
      'funding without mark',
      'mark_price_missing',
      { type: 'funding', market: 'BTCUSDT', rate: f('0.0001') },
    ],
    [
      'expire a perpetual',
      'market_not_dated_future',
      { type: 'expire', market: 'BTCUSDT', settlementPrice: f('1') },
    ],
    [
      'expire too early',
      'market_not_yet_expired',
      { type: 'expire', market: 'XBTH25', settlementPrice: f('-1') },
    ],
    [
      'rules change dropping an open market',
      'rules_change_drops_open_market',
      { type: 'rules_change', ruleSet: { ...testRules, markets: new Map() } },
    ],
  ])('%s → %s', (_label, code, command) => {
    const state = fundedState()
    expect(execute(state, command, at(1)).result.status).toBe(code)
  })

  it('sequence and time are checked before anything else', () => {
    const state = fundedState()
    const bad: Command = {
      type: 'trade',
      account: '@book',
      market: 'NOPE',
      size: f('0'),
      price: f('0'),
      liquidity: 'taker',
    }
    expect(execute(state, bad, at(2)).result).toEqual({
      status: 'sequence_not_next',
      expected: 1,
      found: 2,
    })
    expect(
      execute(state, { type: 'deposit', account: 'a', asset: 'USDT', amount: f('1') }, at(1, 10))
        .result.status,
    ).toBe('ok')
    expect(execute(state, bad, at(2, 9)).result.status).toBe('timestamp_before_previous')
  })

  it('the codes are listed once each, sequence first', () => {
    expect(new Set(REFUSAL_CODES).size).toBe(REFUSAL_CODES.length)
    expect(REFUSAL_CODES[0]).toBe('sequence_not_next')
  })
})

describe('refusals change nothing (ENG-003)', () => {
  it('a refused command leaves the state hash and sequence unchanged', () => {
    const state = fundedState()
    const before = encodeStateCanonical(state)
    const refused: Command[] = [
      { type: 'withdraw', account: 'a', asset: 'USDT', amount: f('2000') },
      {
        type: 'trade',
        account: 'b',
        market: 'XBTH25',
        size: f('-1000000'),
        price: f('7000'),
        liquidity: 'taker',
        counterparty: 'a',
      },
      { type: 'expire', market: 'XBTH25', settlementPrice: f('7000') },
      { type: 'funding', market: 'XBTH25', rate: f('0.01') },
    ]
    for (const command of refused) {
      expect(execute(state, command, at(1)).result.status).not.toBe('ok')
      expect(encodeStateCanonical(state)).toBe(before)
    }
    expect(state.lastSequence).toBe(0)
  })
})

describe('dated futures (ACC-030..ACC-032)', () => {
  it('settles every position at the settlement price and refuses later trades', () => {
    const state = fundedState()
    const inverseValueBefore = state.accounts.get('b')!.positions.get('XBTH25')!.entryValue
    const outcome = execute(
      state,
      { type: 'expire', market: 'XBTH25', settlementPrice: f('6500') },
      at(1, 1_000_000),
    )
    expect(outcome.result.status).toBe('ok')
    const settled = outcome.events.filter((event) => event.type === 'expiry_settled')
    // b: short 3,000 USD @ 7,000 → PnL = entry − value at 6,500 = −3000/7000 + 3000/6500, rounded down.
    expect(
      settled.map((event) => [
        event.account,
        formatFixed((event as { realizedPnl: Fixed }).realizedPnl),
      ]),
    ).toEqual([
      ['@book', '-0.032967032967032968'],
      ['b', '0.032967032967032967'],
    ])
    expect(formatFixed(inverseValueBefore)).toBe('-0.428571428571428571')
    // b's isolated margin and PnL return to the wallet; rounding dust (1e-18) goes to the fund.
    expect(formatFixed(state.accounts.get('b')!.balances.get('XBT')!)).toBe('0.082967032967032967')
    expect(formatFixed(state.insuranceFunds.get('XBT')!)).toBe('0.000000000000000001')
    expect(state.accounts.get('b')!.positions.size).toBe(0)
    expect(
      execute(
        state,
        {
          type: 'trade',
          account: 'a',
          market: 'XBTH25',
          size: f('1'),
          price: f('6000'),
          liquidity: 'taker',
        },
        at(2, 1_000_000),
      ).result.status,
    ).toBe('market_expired')
    expect(
      execute(
        state,
        { type: 'expire', market: 'XBTH25', settlementPrice: f('6000') },
        at(2, 1_000_000),
      ).result.status,
    ).toBe('market_expired')
  })

  it('ACC-032: trades at or after the expiry time are refused before settlement', () => {
    const state = fundedState()
    expect(
      execute(
        state,
        {
          type: 'trade',
          account: 'a',
          market: 'BTCUSDT-FUT',
          size: f('1'),
          price: f('50000'),
          liquidity: 'taker',
        },
        at(1, 1_000_000),
      ).result.status,
    ).toBe('market_expired')
  })
})

describe('snapshots (ENG-010, ENG-011)', () => {
  it('restoreState(snapshotState(s)) encodes to the same canonical JSON, through JSON text', () => {
    const state = fundedState()
    execute(
      state,
      { type: 'mark_price', market: 'XBTUSD', mark: f('7100'), index: f('7099.5') },
      at(1),
    )
    const text = JSON.stringify(snapshotState(state))
    const restored = restoreState(JSON.parse(text) as EngineSnapshot)
    expect(encodeStateCanonical(restored)).toBe(encodeStateCanonical(state))
    // The restored state keeps working: the next command applies identically to both.
    const command: Command = {
      type: 'trade',
      account: 'a',
      market: 'XBTUSD',
      size: f('700'),
      price: f('7100'),
      liquidity: 'taker',
      counterparty: 'b',
    }
    expect(execute(restored, command, at(2)).events).toEqual(execute(state, command, at(2)).events)
    expect(encodeStateCanonical(restored)).toBe(encodeStateCanonical(state))
  })

  it('canonical JSON sorts keys and prints Fixed as decimal strings', () => {
    const state = createEngineState(testRules)
    const encoded = encodeStateCanonical(state)
    expect(encoded.startsWith('{"accounts":{"@book":')).toBe(true)
    expect(encoded).toContain('"contractSize":"0.001"')
  })
})

describe('canonical encoding (ENG-010)', () => {
  it('an account named __proto__ is encoded like any other, so its balance is in the hash', () => {
    const withBalance = (amount: string) => {
      const state = createEngineState(testRules)
      seedState(
        state,
        [{ id: '__proto__', balances: new Map([['USDT', f(amount)]]), positions: [] }],
        0,
      )
      return encodeStateCanonical(state)
    }
    expect(withBalance('1')).toContain('"__proto__"')
    expect(withBalance('1')).not.toBe(withBalance('2'))
  })
})
