// Edge cases of the chain (docs/spec/liquidation.md): a fund exactly sufficient, a population with
// no opposite trader (ADL covers nothing, the rest is uncovered and said so), simultaneous defaults
// at one tick, dust of an inverse settlement.
import { describe, expect, it } from 'vitest'
import { d, Driver, everyMarket, ofType, type PresetDocument, preset } from './helpers.ts'

const dydx = (fundRules?: (document: PresetDocument) => void) =>
  preset('dydx-v4', (document) => {
    everyMarket(document, { makerFeeRate: '0', takerFeeRate: '0', tickSize: '0.001', lotSize: '1' })
    fundRules?.(document)
  })

describe('edge cases', () => {
  it('LIQ-040: a fund exactly equal to the shortfall covers it and ends at 0', () => {
    const engine = new Driver(dydx())
    engine.run({ type: 'insurance_fund_deposit', fund: 'dydx', asset: 'USDC', amount: d('15') })
    engine.run({ type: 'deposit', account: 'A', asset: 'USDC', amount: d('100') })
    engine.run({
      type: 'trade',
      account: 'A',
      market: 'BTC-USD',
      size: d('500'),
      price: d('1'),
      liquidity: 'taker',
    })
    engine.run({ type: 'mark_price', market: 'BTC-USD', mark: d('0.81') })
    const events = engine.run({
      type: 'liquidation_fill',
      orderId: 'L1',
      size: d('500'),
      price: d('0.77'),
    })
    expect(ofType(events, 'shortfall_allocated')[0]).toMatchObject({
      shortfall: d('15'),
      insuranceFund: d('15'),
      uncovered: 0n,
      chainExhausted: false,
    })
    expect(engine.pool('dydx', 'USDC')).toBe(0n)
    expect(engine.balance('A', 'USDC')).toBe(0n)
  })

  it('LIQ-045, ADL-008: no opposite trader to deleverage → the loss is uncovered, the account left below zero, and the event says so', () => {
    const engine = new Driver(dydx())
    engine.run({ type: 'deposit', account: 'B', asset: 'USDC', amount: d('100') })
    engine.run({
      type: 'trade',
      account: 'B',
      market: 'BTC-USD',
      size: d('-500'),
      price: d('1'),
      liquidity: 'taker',
    })
    engine.run({ type: 'mark_price', market: 'BTC-USD', mark: d('2') })
    const events = engine.run({ type: 'liquidation_takeover', orderId: 'L1' })
    expect(ofType(events, 'adl_deleveraged')).toHaveLength(0)
    expect(ofType(events, 'shortfall_allocated')[0]).toMatchObject({
      shortfall: d('400'),
      adl: 0n,
      uncovered: d('400'),
      chainExhausted: true,
    })
    expect(engine.balance('B', 'USDC')).toBe(d('-400'))
    expect(engine.state.liquidation.uncovered.get('B/USDC')).toBe(d('400'))
  })

  it('LIQ-010, ENG-021: simultaneous defaults at one tick get orders in account order', () => {
    const engine = new Driver(dydx())
    for (const account of ['z', 'm', 'a']) {
      engine.run({ type: 'deposit', account, asset: 'USDC', amount: d('100') })
      engine.run({
        type: 'trade',
        account,
        market: 'BTC-USD',
        size: d('500'),
        price: d('1'),
        liquidity: 'taker',
      })
    }
    const placed = ofType(
      engine.run({ type: 'mark_price', market: 'BTC-USD', mark: d('0.81') }),
      'liquidation_order_placed',
    )
    expect(placed.map((event) => [event.orderId, event.account])).toEqual([
      ['L1', 'a'],
      ['L2', 'm'],
      ['L3', 'z'],
    ])
  })

  it('LIQ-034: an inverse position settled at bankruptcy leaves no negative dust in the wallet', () => {
    const engine = new Driver(
      preset('bitmex', (document) =>
        everyMarket(document, { makerFeeRate: '0', takerFeeRate: '0' }),
      ),
    )
    engine.run({ type: 'deposit', account: 'x', asset: 'XBT', amount: d('0.0123') })
    engine.run({
      type: 'trade',
      account: 'x',
      market: 'XBTUSD',
      size: d('1000'),
      price: d('9999.5'),
      liquidity: 'taker',
    })
    engine.run({ type: 'mark_price', market: 'XBTUSD', mark: d('8930') })
    const order = engine.state.liquidation.orders.get('L1')
    expect(order).toBeDefined()
    engine.run({
      type: 'liquidation_fill',
      orderId: 'L1',
      size: d('1000'),
      price: order?.limitPrice ?? d('1'),
    })
    expect(engine.balance('x', 'XBT') >= 0n).toBe(true)
  })
})
