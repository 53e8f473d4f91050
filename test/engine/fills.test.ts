// ACC-010..ACC-022: fills, fees and funding, checked against published worked examples
// (research notes exchanges.md §11).
import { describe, expect, it } from 'vitest'
import {
  createEngineState,
  type EngineEvent,
  type EngineState,
  equityOf,
  execute,
  feeOf,
  type Command,
} from '../../src/core/engine/index.ts'
import { unrealizedPnl } from '../../src/core/model/position-math.ts'
import { type Fixed, formatFixed, neg, roundToDecimals } from '../../src/core/num/fixed.ts'
import { f, market, ruleSet, testRules } from './fixtures.ts'

function runner(state: EngineState) {
  let sequence = state.lastSequence
  const events: EngineEvent[] = []
  return {
    events,
    run(command: Command, timestampMs = 0) {
      sequence += 1
      const outcome = execute(state, command, { sequence, timestampMs })
      if (outcome.result.status !== 'ok') sequence -= 1
      events.push(...outcome.events)
      return outcome
    },
  }
}

const show = (value: Fixed | undefined) => (value === undefined ? 'none' : formatFixed(value))

function fillOf(events: readonly EngineEvent[], account: string) {
  const fills = events.filter((event) => event.type === 'fill_applied' && event.account === account)
  return fills[fills.length - 1] as Extract<EngineEvent, { type: 'fill_applied' }>
}

describe('fills (ACC-010..ACC-013)', () => {
  it('BM-04: inverse realized PnL of selling 500 of a 1,000 XBTUSD long @ 1,000 at 1,500 is 0.17 XBT (exchanges.md §11, BitMEX)', () => {
    const state = createEngineState(
      ruleSet([
        market({
          market: 'XBTUSD',
          kind: 'inverse_perpetual',
          base: 'XBT',
          quote: 'USD',
          contractSize: '1',
        }),
      ]),
    )
    const engine = runner(state)
    engine.run({ type: 'deposit', account: 'a', asset: 'XBT', amount: f('10') })
    engine.run({
      type: 'trade',
      account: 'a',
      market: 'XBTUSD',
      size: f('1000'),
      price: f('1000'),
      liquidity: 'taker',
    })
    // UPNL at mark 1,250 = 0.20 XBT.
    const position = state.accounts.get('a')!.positions.get('XBTUSD')!
    expect(
      show(
        unrealizedPnl(
          state.rules.markets.get('XBTUSD')!.instrument,
          position.size,
          position.entryValue,
          f('1250'),
        ),
      ),
    ).toBe('0.2')
    engine.run({
      type: 'trade',
      account: 'a',
      market: 'XBTUSD',
      size: f('-500'),
      price: f('1500'),
      liquidity: 'taker',
    })
    const fill = fillOf(engine.events, 'a')
    expect(show(fill.realizedPnl)).toBe('0.166666666666666667')
    expect(show(roundToDecimals(fill.realizedPnl, 2, 'half_even'))).toBe('0.17')
    expect(show(state.accounts.get('a')!.balances.get('XBT'))).toBe('10.166666666666666667')
    // The remainder keeps half the entry value: entry price stays 1,000.
    expect(show(state.accounts.get('a')!.positions.get('XBTUSD')!.entryValue)).toBe('0.5')
  })

  it.each([
    // OKX-04, USDT-margined swap, face 0.0001 BTC.
    {
      label: 'long 200 @ 5,000, close 100 @ 10,000',
      kind: 'linear_perpetual',
      size: '200',
      entry: '5000',
      close: '-100',
      price: '10000',
      pnl: '50',
    },
    {
      label: 'short 1,000 @ 5,000, close 800 @ 10,000',
      kind: 'linear_perpetual',
      size: '-1000',
      entry: '5000',
      close: '800',
      price: '10000',
      pnl: '-400',
    },
    // OKX-04, coin-margined swap, face 100 USD.
    {
      label: 'coin long 2 @ 500, close 1 @ 1,000',
      kind: 'inverse_perpetual',
      size: '2',
      entry: '500',
      close: '-1',
      price: '1000',
      pnl: '0.1',
    },
    {
      label: 'coin short 10 @ 500, close 8 @ 1,000',
      kind: 'inverse_perpetual',
      size: '-10',
      entry: '500',
      close: '8',
      price: '1000',
      pnl: '-0.8',
    },
  ] as const)(
    'OKX-04 $label: realized PnL $pnl (exchanges.md §11, OKX)',
    ({ kind, size, entry, close, price, pnl }) => {
      const linear = kind === 'linear_perpetual'
      const rules = ruleSet([
        market({
          market: 'M',
          kind,
          base: 'BTC',
          quote: linear ? 'USDT' : 'USD',
          contractSize: linear ? '0.0001' : '100',
          tickSize: '0.1',
        }),
      ])
      const state = createEngineState(rules)
      const engine = runner(state)
      engine.run({
        type: 'deposit',
        account: 'a',
        asset: linear ? 'USDT' : 'BTC',
        amount: f('1000'),
      })
      engine.run({
        type: 'trade',
        account: 'a',
        market: 'M',
        size: f(size),
        price: f(entry),
        liquidity: 'taker',
      })
      expect(
        engine.run({
          type: 'trade',
          account: 'a',
          market: 'M',
          size: f(close),
          price: f(price),
          liquidity: 'taker',
        }).result,
      ).toEqual({ status: 'ok' })
      expect(show(fillOf(engine.events, 'a').realizedPnl)).toBe(pnl)
      // The counterparty (@book) realizes exactly the opposite.
      expect(show(fillOf(engine.events, '@book').realizedPnl)).toBe(show(neg(f(pnl))))
    },
  )

  it('OKX-05: realizing PnL at the mark leaves equity unchanged: long @ 300, mark 280, balance 10 → 9, equity 9 (exchanges.md §11, OKX)', () => {
    const rules = ruleSet([
      market({
        market: 'BTC-USD-SWAP',
        kind: 'inverse_perpetual',
        base: 'BTC',
        quote: 'USD',
        contractSize: '100',
        tickSize: '0.1',
      }),
    ])
    const state = createEngineState(rules)
    const engine = runner(state)
    engine.run({ type: 'deposit', account: 'a', asset: 'BTC', amount: f('10') })
    engine.run({
      type: 'trade',
      account: 'a',
      market: 'BTC-USD-SWAP',
      size: f('42'),
      price: f('300'),
      liquidity: 'taker',
    })
    engine.run({ type: 'mark_price', market: 'BTC-USD-SWAP', mark: f('280') })
    expect(show(equityOf(state, 'a', 'BTC'))).toBe('9')
    expect(show(state.accounts.get('a')!.balances.get('BTC'))).toBe('10')
    engine.run({
      type: 'trade',
      account: 'a',
      market: 'BTC-USD-SWAP',
      size: f('-42'),
      price: f('280'),
      liquidity: 'taker',
    })
    engine.run({
      type: 'trade',
      account: 'a',
      market: 'BTC-USD-SWAP',
      size: f('42'),
      price: f('280'),
      liquidity: 'taker',
    })
    expect(show(state.accounts.get('a')!.balances.get('BTC'))).toBe('9')
    expect(show(equityOf(state, 'a', 'BTC'))).toBe('9')
  })

  it('ACC-012: a flip closes the old position and opens the rest at the fill price', () => {
    const state = createEngineState(testRules)
    const engine = runner(state)
    engine.run({ type: 'deposit', account: 'a', asset: 'XBT', amount: f('1') })
    engine.run({
      type: 'trade',
      account: 'a',
      market: 'XBTUSD',
      size: f('300'),
      price: f('7000'),
      liquidity: 'maker',
      counterpartyLiquidity: 'maker',
    })
    engine.run({
      type: 'trade',
      account: 'a',
      market: 'XBTUSD',
      size: f('-1000'),
      price: f('7500'),
      liquidity: 'maker',
      counterpartyLiquidity: 'maker',
    })
    const position = state.accounts.get('a')!.positions.get('XBTUSD')!
    expect(show(position.size)).toBe('-700')
    // Open part value = fill value − closed part value = −0.133333333333333333 − (−0.04), not a fresh rounding of 700/7500.
    expect(show(position.entryValue)).toBe('-0.093333333333333333')
    expect(show(fillOf(engine.events, 'a').realizedPnl)).toBe(
      show((f('300') / 7000n - f('0.04')) as Fixed),
    )
  })
})

describe('fees (ACC-014)', () => {
  it.each([
    // DB-03: BTC perpetual $50,000 @ $100,000 = 0.5 BTC; taker 0.05% → 0.00025 BTC (Deribit fees page).
    {
      label: 'DB-03 perpetual taker',
      contracts: '5000',
      contractSize: '10',
      price: '100000',
      rate: '0.0005',
      fee: '0.00025',
    },
    // DB-03: weekly future $10,000 @ $100,000; taker 0.05% → 0.00005 BTC; maker rebate 0.01% → 0.00001 BTC paid out.
    {
      label: 'DB-03 weekly taker',
      contracts: '1000',
      contractSize: '10',
      price: '100000',
      rate: '0.0005',
      fee: '0.00005',
    },
    {
      label: 'DB-03 weekly maker rebate',
      contracts: '1000',
      contractSize: '10',
      price: '100000',
      rate: '-0.0001',
      fee: '-0.00001',
    },
  ])(
    '$label: fee $fee BTC (exchanges.md §11, Deribit)',
    ({ contracts, contractSize, price, rate, fee }) => {
      const rules = ruleSet([
        market({
          market: 'BTC-PERPETUAL',
          kind: 'inverse_perpetual',
          base: 'BTC',
          quote: 'USD',
          contractSize,
          taker: rate,
          maker: rate,
        }),
      ])
      const state = createEngineState(rules)
      const engine = runner(state)
      engine.run({ type: 'deposit', account: 'a', asset: 'BTC', amount: f('1') })
      engine.run({
        type: 'trade',
        account: 'a',
        market: 'BTC-PERPETUAL',
        size: f(contracts),
        price: f(price),
        liquidity: 'taker',
      })
      const fill = fillOf(engine.events, 'a')
      expect(show(fill.fee)).toBe(fee)
      expect(show(state.feePools.get('BTC'))).toBe(fee)
      expect(show(state.accounts.get('a')!.balances.get('BTC'))).toBe(
        show((f('1') - f(fee)) as Fixed),
      )
    },
  )

  it('ACC-014: charges round up and rebates round down (NUM-006)', () => {
    const rules = testRules
    expect(show(feeOf(rules, f('0.000000000000000003'), f('0.5')))).toBe('0.000000000000000002')
    expect(show(feeOf(rules, f('-0.000000000000000003'), f('-0.5')))).toBe('-0.000000000000000001')
  })
})

describe('funding (ACC-020..ACC-022)', () => {
  it('BM-04: a long worth 100 XBT pays 1 XBT at a 1% rate; the short receives it (exchanges.md §11, BitMEX)', () => {
    const state = createEngineState(
      ruleSet([
        market({
          market: 'XBTUSD',
          kind: 'inverse_perpetual',
          base: 'XBT',
          quote: 'USD',
          contractSize: '1',
        }),
      ]),
    )
    const engine = runner(state)
    engine.run({ type: 'deposit', account: 'long', asset: 'XBT', amount: f('10') })
    engine.run({ type: 'deposit', account: 'short', asset: 'XBT', amount: f('10') })
    engine.run({
      type: 'trade',
      account: 'long',
      market: 'XBTUSD',
      size: f('100000'),
      price: f('1000'),
      liquidity: 'taker',
      counterparty: 'short',
    })
    engine.run({ type: 'mark_price', market: 'XBTUSD', mark: f('1000') })
    const outcome = engine.run({ type: 'funding', market: 'XBTUSD', rate: f('0.01') })
    expect(outcome.events).toEqual([
      { type: 'funding_paid', account: 'long', market: 'XBTUSD', rate: f('0.01'), amount: f('1') },
      {
        type: 'funding_paid',
        account: 'short',
        market: 'XBTUSD',
        rate: f('0.01'),
        amount: neg(f('1')),
      },
    ])
    expect(show(state.accounts.get('long')!.balances.get('XBT'))).toBe('9')
    expect(show(state.accounts.get('short')!.balances.get('XBT'))).toBe('11')
  })

  it('ACC-021: inverse rounding dust goes to the insurance fund and is never negative', () => {
    const state = createEngineState(testRules)
    const engine = runner(state)
    engine.run({ type: 'deposit', account: 'a', asset: 'XBT', amount: f('1') })
    engine.run({ type: 'deposit', account: 'b', asset: 'XBT', amount: f('1') })
    engine.run({
      type: 'trade',
      account: 'a',
      market: 'XBTUSD',
      size: f('1'),
      price: f('3000'),
      liquidity: 'taker',
      counterparty: 'b',
    })
    engine.run({
      type: 'trade',
      account: 'a',
      market: 'XBTUSD',
      size: f('1'),
      price: f('3000'),
      liquidity: 'taker',
    })
    engine.run({ type: 'mark_price', market: 'XBTUSD', mark: f('3000') })
    const outcome = engine.run({ type: 'funding', market: 'XBTUSD', rate: f('0.0001') })
    // a pays ceil(2/3000 × 0.0001); b and @book each receive floor(1/3000 × 0.0001).
    const paid = outcome.events
      .filter((event) => event.type === 'funding_paid')
      .map((event) => show((event as { amount: Fixed }).amount))
    expect(paid).toEqual(['-0.000000033333333333', '0.000000066666666667', '-0.000000033333333333'])
    expect(show(state.insuranceFunds.get('XBT'))).toBe('0.000000000000000001')
  })

  it('ACC-022: linear funding with published decimals is exact (no dust)', () => {
    const state = createEngineState(testRules)
    const engine = runner(state)
    engine.run({ type: 'deposit', account: 'a', asset: 'USDT', amount: f('1000') })
    engine.run({
      type: 'trade',
      account: 'a',
      market: 'BTCUSDT',
      size: f('-7'),
      price: f('65432.1'),
      liquidity: 'taker',
    })
    engine.run({ type: 'mark_price', market: 'BTCUSDT', mark: f('65000.3') })
    const outcome = engine.run({ type: 'funding', market: 'BTCUSDT', rate: f('-0.000125') })
    // Short pays when the rate is negative: 7 × 0.001 × 65,000.3 × 0.000125.
    expect(outcome.events[1]).toMatchObject({ account: 'a', amount: f('0.05687526250') })
    expect(state.insuranceFunds.get('USDT')).toBeUndefined()
  })
})
