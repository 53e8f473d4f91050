// Published liquidation and loss-allocation examples through the engine (docs/spec/liquidation.md).
import { describe, expect, it } from 'vitest'
import { d, Driver, everyMarket, ofType, preset } from './helpers.ts'

const noFees = { makerFeeRate: '0', takerFeeRate: '0' }

describe('published examples', () => {
  it('LIQ-033, BN-08 (exchanges.md §11, Binance blog 2020-01-22): fill at 7,650 over bankruptcy 7,600 → 50 USDT per BTC to the fund', () => {
    const engine = new Driver(preset('binance-usdm', (document) => everyMarket(document, noFees)))
    engine.run({ type: 'deposit', account: 'alice', asset: 'USDT', amount: d('1000') })
    engine.run({ type: 'deposit', account: 'bob', asset: 'USDT', amount: d('10000') })
    engine.run({
      type: 'set_margin_mode',
      account: 'alice',
      market: 'BTCUSDT',
      marginMode: 'isolated',
    })
    engine.run({ type: 'set_leverage', account: 'alice', market: 'BTCUSDT', leverage: d('20') })
    engine.run({ type: 'mark_price', market: 'BTCUSDT', mark: d('8000') })
    engine.run({
      type: 'trade',
      account: 'alice',
      market: 'BTCUSDT',
      size: d('1'),
      price: d('8000'),
      liquidity: 'taker',
      counterparty: 'bob',
    })
    const placed = ofType(
      engine.run({ type: 'mark_price', market: 'BTCUSDT', mark: d('7620') }),
      'liquidation_order_placed',
    )
    expect(placed).toHaveLength(1)
    expect(placed[0]?.bankruptcyPrice).toBe(d('7600'))
    expect(placed[0]?.limitPrice).toBe(d('7600'))
    expect(placed[0]?.ruleSetId).toBe('binance-usdm')
    const filled = ofType(
      engine.run({ type: 'liquidation_fill', orderId: 'L1', size: d('1'), price: d('7650') }),
      'liquidation_order_filled',
    )
    expect(filled[0]?.surplus).toBe(d('50'))
    expect(engine.pool('BTCUSDT', 'USDT')).toBe(d('50'))
    expect(engine.balance('alice', 'USDT')).toBe(d('600'))
  })

  it('LIQ-030: a fill worse than the limit is refused (fill_price_beyond_limit), larger than the order too', () => {
    const engine = new Driver(preset('binance-usdm', (document) => everyMarket(document, noFees)))
    engine.run({ type: 'deposit', account: 'alice', asset: 'USDT', amount: d('1000') })
    engine.run({
      type: 'set_margin_mode',
      account: 'alice',
      market: 'BTCUSDT',
      marginMode: 'isolated',
    })
    engine.run({ type: 'set_leverage', account: 'alice', market: 'BTCUSDT', leverage: d('20') })
    engine.run({
      type: 'trade',
      account: 'alice',
      market: 'BTCUSDT',
      size: d('1'),
      price: d('8000'),
      liquidity: 'taker',
    })
    engine.run({ type: 'mark_price', market: 'BTCUSDT', mark: d('7620') })
    expect(
      engine.try({ type: 'liquidation_fill', orderId: 'L1', size: d('1'), price: d('7590') }).result
        .status,
    ).toBe('fill_price_beyond_limit')
    expect(
      engine.try({ type: 'liquidation_fill', orderId: 'L1', size: d('2'), price: d('7650') }).result
        .status,
    ).toBe('fill_exceeds_order')
    expect(
      engine.try({ type: 'liquidation_fill', orderId: 'L9', size: d('1'), price: d('7650') }).result
        .status,
    ).toBe('liquidation_order_not_found')
  })

  it('LIQ-033, BY-06 (Bybit Insurance Fund page): above bankruptcy the rest goes to the fund; below, the fund covers the gap', () => {
    const rules = preset('bybit-linear', (document) => everyMarket(document, noFees))
    const run = () => {
      const engine = new Driver(rules)
      engine.run({
        type: 'insurance_fund_deposit',
        fund: 'BTCUSDT',
        asset: 'USDT',
        amount: d('1000'),
      })
      engine.run({ type: 'deposit', account: 'alice', asset: 'USDT', amount: d('1000') })
      engine.run({
        type: 'set_margin_mode',
        account: 'alice',
        market: 'BTCUSDT',
        marginMode: 'isolated',
      })
      engine.run({ type: 'set_leverage', account: 'alice', market: 'BTCUSDT', leverage: d('20') })
      engine.run({
        type: 'trade',
        account: 'alice',
        market: 'BTCUSDT',
        size: d('1'),
        price: d('7300'),
        liquidity: 'taker',
      })
      engine.run({ type: 'mark_price', market: 'BTCUSDT', mark: d('6960') })
      const order = engine.state.liquidation.orders.get('L1')
      return { engine, order }
    }
    const better = run()
    expect(better.order?.bankruptcyPrice).toBe(d('6935'))
    better.engine.run({ type: 'liquidation_fill', orderId: 'L1', size: d('1'), price: d('6980') })
    expect(better.engine.pool('BTCUSDT', 'USDT')).toBe(d('1045'))
    const worse = run()
    worse.engine.run({ type: 'mark_price', market: 'BTCUSDT', mark: d('6930') })
    expect(
      worse.engine.try({ type: 'liquidation_fill', orderId: 'L1', size: d('1'), price: d('6930') })
        .result.status,
    ).toBe('fill_price_beyond_limit')
    const events = worse.engine.run({ type: 'liquidation_takeover', orderId: 'L1' })
    const allocated = ofType(events, 'shortfall_allocated')[0]
    expect(allocated?.shortfall).toBe(d('5'))
    expect(allocated?.insuranceFund).toBe(d('5'))
    expect(worse.engine.pool('BTCUSDT', 'USDT')).toBe(d('995'))
    expect(worse.engine.balance('alice', 'USDT')).toBe(d('635'))
  })

  it('LIQ-051, DY-03 (dYdX contract-loss mechanism): B at −400 is deleveraged against A at its bankruptcy price 1.2; A +100, B 0', () => {
    const rules = preset('dydx-v4', (document) =>
      everyMarket(document, { ...noFees, tickSize: '0.001', lotSize: '1' }),
    )
    const engine = new Driver(rules)
    engine.run({ type: 'deposit', account: 'A', asset: 'USDC', amount: d('100') })
    engine.run({ type: 'deposit', account: 'B', asset: 'USDC', amount: d('100') })
    engine.run({
      type: 'trade',
      account: 'A',
      market: 'BTC-USD',
      size: d('500'),
      price: d('1'),
      liquidity: 'taker',
      counterparty: 'B',
    })
    const placed = ofType(
      engine.run({ type: 'mark_price', market: 'BTC-USD', mark: d('2') }),
      'liquidation_order_placed',
    )
    expect(placed[0]?.account).toBe('B')
    expect(placed[0]?.bankruptcyPrice).toBe(d('1.2'))
    const events = engine.run({ type: 'liquidation_takeover', orderId: 'L1' })
    const adl = ofType(events, 'adl_deleveraged')
    expect(adl).toHaveLength(1)
    expect(adl[0]?.account).toBe('A')
    expect(adl[0]?.price).toBe(d('1.2'))
    expect(adl[0]?.haircutVersusMark).toBe(d('400'))
    expect(engine.balance('A', 'USDC')).toBe(d('200'))
    expect(engine.balance('B', 'USDC')).toBe(d('0'))
    const allocated = ofType(events, 'shortfall_allocated')[0]
    expect(allocated).toMatchObject({
      shortfall: d('400'),
      adl: d('400'),
      insuranceFund: 0n,
      uncovered: 0n,
    })
  })

  it('LIQ-040, DY-04 (dYdX contract-loss mechanism): liquidated at 0.77 below bankruptcy 0.8 → the fund pays 15', () => {
    const rules = preset('dydx-v4', (document) =>
      everyMarket(document, {
        ...noFees,
        tickSize: '0.001',
        lotSize: '1',
        margin: {
          kind: 'open_interest_scaled',
          initialRate: '0.06',
          maintenanceFraction: '0.5',
          openInterestLowerCap: '0',
          openInterestUpperCap: '0',
        },
      }),
    )
    const engine = new Driver(rules)
    engine.run({ type: 'insurance_fund_deposit', fund: 'dydx', asset: 'USDC', amount: d('1000') })
    engine.run({ type: 'deposit', account: 'A', asset: 'USDC', amount: d('100') })
    engine.run({ type: 'deposit', account: 'M', asset: 'USDC', amount: d('1000') })
    engine.run({
      type: 'trade',
      account: 'A',
      market: 'BTC-USD',
      size: d('500'),
      price: d('1'),
      liquidity: 'taker',
      counterparty: 'M',
    })
    const placed = ofType(
      engine.run({ type: 'mark_price', market: 'BTC-USD', mark: d('0.801') }),
      'liquidation_order_placed',
    )
    expect(placed[0]).toMatchObject({
      equity: d('0.5'),
      maintenanceMargin: d('12.015'),
      bankruptcyPrice: d('0.8'),
    })
    const events = engine.run({
      type: 'liquidation_fill',
      orderId: 'L1',
      size: d('500'),
      price: d('0.77'),
    })
    expect(ofType(events, 'liquidation_order_filled')[0]).toMatchObject({ gap: d('15'), fee: 0n })
    expect(ofType(events, 'shortfall_allocated')[0]).toMatchObject({
      shortfall: d('15'),
      insuranceFund: d('15'),
    })
    expect(engine.pool('dydx', 'USDC')).toBe(d('985'))
    expect(engine.balance('A', 'USDC')).toBe(0n)
  })

  it('LIQ-013, LIQ-017, HL-04 (Hyperliquid liquidations page): 20% above 100k, whole position within 30 s; backstop below 2/3 of maintenance', () => {
    const rules = preset('hyperliquid', (document) => everyMarket(document, noFees))
    const engine = new Driver(rules)
    engine.run({ type: 'deposit', account: 'alice', asset: 'USDC', amount: d('4000') })
    engine.run({
      type: 'trade',
      account: 'alice',
      market: 'BTC',
      size: d('2'),
      price: d('100000'),
      liquidity: 'taker',
    })
    // At 99,000: equity 2,000 < MM 2,475 (1.25% of 198,000) but above 2/3 of it (1,650): an order.
    const first = ofType(
      engine.run({ type: 'mark_price', market: 'BTC', mark: d('99000') }),
      'liquidation_order_placed',
    )
    expect(first[0]?.size).toBe(d('-0.4'))
    // The book may fill down to a zero account value (bankruptcy 98,000 = 100,000 − 4,000 / 2);
    // below it the account is deleveraged instead (HL ADL: "account value … becomes negative").
    expect(first[0]?.limitPrice).toBe(d('98000'))
    engine.run({ type: 'liquidation_fill', orderId: 'L1', size: d('0.4'), price: d('99000') })
    // 10 s later at 98,900: equity 1,840 < MM 1,978 (value 158,240 > 100k), within the cooldown.
    engine.timestampMs = 10_000
    const second = ofType(
      engine.run({ type: 'mark_price', market: 'BTC', mark: d('98900') }),
      'liquidation_order_placed',
    )
    expect(second[0]?.size).toBe(d('-1.6'))
    expect(second[0]?.reason).toContain('cooldown')
    // Backstop: equity below 2/3 of maintenance, not negative.
    const vault = new Driver(rules)
    vault.run({ type: 'deposit', account: 'bob', asset: 'USDC', amount: d('1000') })
    vault.run({
      type: 'trade',
      account: 'bob',
      market: 'BTC',
      size: d('1'),
      price: d('100000'),
      liquidity: 'taker',
    })
    const events = vault.run({ type: 'mark_price', market: 'BTC', mark: d('99300') })
    const takeover = ofType(events, 'backstop_takeover')[0]
    expect(takeover).toMatchObject({
      backstop: '@liquidator',
      equity: d('300'),
      marginTransferred: d('300'),
    })
    expect(vault.size('@liquidator', 'BTC')).toBe(d('1'))
    expect(vault.balance('bob', 'USDC')).toBe(0n)
  })

  it('LIQ-052, BM-06 (BitMEX 2017 execution record): with executionPrice mark, the winner is deleveraged at the mark 1,160.72', () => {
    const rules = preset('bitmex', (document) => {
      everyMarket(document, noFees)
      document.liquidation.adl.executionPrice = 'mark'
    })
    const engine = new Driver(rules)
    engine.run({ type: 'deposit', account: 'winner', asset: 'XBT', amount: d('1') })
    engine.run({ type: 'deposit', account: 'loser', asset: 'XBT', amount: d('0.2') })
    engine.run({
      type: 'trade',
      account: 'winner',
      market: 'XBTUSD',
      size: d('2000'),
      price: d('1000'),
      liquidity: 'taker',
      counterparty: 'loser',
    })
    engine.run({ type: 'mark_price', market: 'XBTUSD', mark: d('1160.72') })
    const events = engine.run({ type: 'liquidation_takeover', orderId: 'L1' })
    const adl = ofType(events, 'adl_deleveraged')[0]
    expect(adl).toMatchObject({
      account: 'winner',
      size: d('-2000'),
      price: d('1160.72'),
      haircutVersusMark: 0n,
    })
    const allocated = ofType(events, 'shortfall_allocated')[0]
    expect(allocated?.adl).toBe(0n)
    expect(allocated?.uncovered).toBe(allocated?.shortfall)
    expect(allocated?.chainExhausted).toBe(true)
  })
})
