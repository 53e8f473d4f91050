// Regressions of the chain's arithmetic (docs/spec/liquidation.md): fund history within one
// millisecond (LIQ-041, INS-005..INS-007), the gap of a fee-free handover measured against the
// account's own equity, not a fee-inclusive bankruptcy price (LIQ-034, LIQ-050), and no rounded
// price inside a shortfall (LIQ-034, INV-009).
import { test } from '@fast-check/vitest'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { executeLiquidations } from '../../src/scenario/liquidation-execution.ts'
import { d, Driver, everyMarket, ofType, preset } from './helpers.ts'

const SCALE = 10n ** 18n

function okx() {
  return preset('okx', (document) =>
    everyMarket(document, { makerFeeRate: '0', takerFeeRate: '0' }),
  )
}

/** alice: 100 contracts (1 BTC) long from 50,000 at 10x isolated (5,000 margin); bob is short. */
function okxBankrupt(fundDeposit: string | null): Driver {
  const engine = new Driver(okx())
  if (fundDeposit !== null)
    engine.run({
      type: 'insurance_fund_deposit',
      fund: 'USDT-SWAP',
      asset: 'USDT',
      amount: d(fundDeposit),
    })
  engine.run({ type: 'deposit', account: 'alice', asset: 'USDT', amount: d('5000') })
  engine.run({ type: 'deposit', account: 'bob', asset: 'USDT', amount: d('1000000') })
  const market = 'BTC-USDT-SWAP'
  engine.run({ type: 'set_margin_mode', account: 'alice', market, marginMode: 'isolated' })
  engine.run({ type: 'set_leverage', account: 'alice', market, leverage: d('10') })
  engine.run({ type: 'mark_price', market, mark: d('50000') })
  engine.run({
    type: 'trade',
    account: 'alice',
    market,
    size: d('100'),
    price: d('50000'),
    liquidity: 'taker',
    counterparty: 'bob',
  })
  engine.run({ type: 'mark_price', market, mark: d('44000') })
  return engine
}

describe('regressions of the loss chain', () => {
  it('LIQ-041, INS-007 (BY-07 at one millisecond): a peak reached earlier in the same millisecond counts for the pnlRatio trigger', () => {
    // examples/waterfall/bybit-linear.yaml with every command at time 0: deposit 1,000, alice's
    // fill pays a 45 surplus (pool 1,045, PnL +45), carol's handover would draw 570 (PnL −525):
    // pnlRatio = (−525 − 45) / 1,045 ≈ −0.545 ≤ −30 %, so the trigger fires and bob is deleveraged
    // for what lies beyond the −30 % level.
    const engine = new Driver(
      preset('bybit-linear', (document) =>
        everyMarket(document, { makerFeeRate: '0', takerFeeRate: '0' }),
      ),
    )
    const market = 'BTCUSDT'
    engine.run({ type: 'insurance_fund_deposit', fund: market, asset: 'USDT', amount: d('1000') })
    for (const [account, amount] of [
      ['alice', '1000'],
      ['carol', '1000'],
      ['bob', '10000'],
    ] as const)
      engine.run({ type: 'deposit', account, asset: 'USDT', amount: d(amount) })
    for (const [account, leverage] of [
      ['alice', '20'],
      ['carol', '10'],
    ] as const) {
      engine.run({ type: 'set_margin_mode', account, market, marginMode: 'isolated' })
      engine.run({ type: 'set_leverage', account, market, leverage: d(leverage) })
    }
    engine.run({ type: 'mark_price', market, mark: d('7300') })
    for (const account of ['alice', 'carol'])
      engine.run({
        type: 'trade',
        account,
        market,
        size: d('1'),
        price: d('7300'),
        liquidity: 'taker',
        counterparty: 'bob',
      })
    engine.run({ type: 'mark_price', market, mark: d('6960') })
    engine.run({ type: 'liquidation_fill', orderId: 'L1', size: d('1'), price: d('6980') })
    expect(engine.pool(market, 'USDT')).toBe(d('1045'))
    engine.run({ type: 'mark_price', market, mark: d('6000') })
    const events = engine.run({ type: 'liquidation_takeover', orderId: 'L2' })
    expect(ofType(events, 'liquidation_takeover')[0]).toMatchObject({
      estimatedShortfall: d('570'),
      adlTriggerActive: true,
      via: 'adl',
    })
    expect(ofType(events, 'adl_deleveraged')).toHaveLength(1)
    // LIQ-055 (BY-07 (1)): the pool pays down to the −30 % level, 0.3 × 1,045 = 313.5; ADL the rest.
    expect(engine.pool(market, 'USDT')).toBe(d('731.5'))
    const history = engine.state.liquidation.fundHistory.get(`${market}/USDT/${market}`) ?? []
    expect(history.map((point) => [point.balance, point.marketPnl])).toEqual([
      [d('1045'), d('45')],
      [d('731.5'), d('-268.5')],
    ])
  })

  it('LIQ-034, LIQ-050: a takeover pays no fee, so the fund pays only the deficit (alice ends at 0, not +22.51)', () => {
    // Fee-inclusive bankruptcy: 45,000 / 0.9995 ≈ 45,022.51; alice's own deficit at 44,000 is 1,000.
    const engine = okxBankrupt('2000')
    const events = engine.run({ type: 'liquidation_takeover', orderId: 'L1' })
    expect(ofType(events, 'liquidation_takeover')[0]?.estimatedShortfall).toBe(d('1000'))
    expect(ofType(events, 'shortfall_allocated')[0]).toMatchObject({
      shortfall: d('1000'),
      insuranceFund: d('1000'),
      uncovered: 0n,
      chainExhausted: false,
    })
    expect(engine.balance('alice', 'USDT')).toBe(0n)
    expect(engine.pool('USDT-SWAP', 'USDT')).toBe(d('1000'))
  })

  it('LIQ-045: when the fund is short, uncovered is exactly the negative equity (800, not 822.51)', () => {
    const engine = okxBankrupt('200')
    const events = engine.run({ type: 'liquidation_takeover', orderId: 'L1' })
    expect(ofType(events, 'shortfall_allocated')[0]).toMatchObject({
      shortfall: d('1000'),
      insuranceFund: d('200'),
      uncovered: d('800'),
      chainExhausted: true,
    })
    expect(engine.balance('alice', 'USDT')).toBe(d('-800'))
    expect(engine.state.liquidation.uncovered.get('alice/USDT')).toBe(d('800'))
  })

  it('LIQ-034, INV-009 (Deribit, liquidation fee on): the shortfall is the exact deficit 0.2 BTC, no rounded bankruptcy price in it', () => {
    // Bankruptcy 100,000 / 1.05 = 95,238.095238… (stored as 95,238.0952381 at 8 decimals).
    const engine = new Driver(
      preset('deribit', (document) =>
        everyMarket(document, { makerFeeRate: '0', takerFeeRate: '0' }),
      ),
    )
    const market = 'BTC-PERPETUAL'
    engine.run({ type: 'insurance_fund_deposit', fund: 'deribit', asset: 'BTC', amount: d('0.05') })
    for (const [account, amount] of [
      ['alice', '0.05'],
      ['bob', '1'],
      ['carol', '1'],
      ['dave', '1'],
    ] as const)
      engine.run({ type: 'deposit', account, asset: 'BTC', amount: d(amount) })
    engine.run({ type: 'mark_price', market, mark: d('100000') })
    for (const [account, counterparty, size] of [
      ['alice', 'bob', '10000'],
      ['dave', 'carol', '5000'],
    ] as const)
      engine.run({
        type: 'trade',
        account,
        market,
        size: d(size),
        price: d('100000'),
        liquidity: 'taker',
        counterparty,
      })
    engine.run({ type: 'mark_price', market, mark: d('80000') })
    const events = engine.run({ type: 'liquidation_takeover', orderId: 'L1' })
    expect(ofType(events, 'shortfall_allocated')[0]).toMatchObject({
      shortfall: d('0.2'),
      insuranceFund: d('0.05'),
      socialized: d('0.15'),
      uncovered: 0n,
    })
    expect(engine.balance('alice', 'BTC')).toBe(0n)
    expect(engine.balance('bob', 'BTC')).toBe(d('0.9'))
    expect(engine.balance('carol', 'BTC')).toBe(d('0.95'))
  })

  test.prop(
    {
      leverage: fc.integer({ min: 2, max: 50 }),
      contracts: fc.integer({ min: 1, max: 500 }),
      // mark below entry by 1/leverage plus this many basis points (negative: not yet bankrupt)
      beyondBasisPoints: fc.integer({ min: -40, max: 800 }),
      fund: fc.integer({ min: 0, max: 2000 }),
      cross: fc.boolean(),
    },
    { numRuns: 60 },
  )(
    'LIQ-034, LIQ-045, INV-010: after a takeover of a whole scope its equity is max(0, equity at the mark) − uncovered, exactly',
    ({ leverage, contracts, beyondBasisPoints, fund, cross }) => {
      const engine = new Driver(okx())
      const market = 'BTC-USDT-SWAP'
      if (fund > 0)
        engine.run({
          type: 'insurance_fund_deposit',
          fund: 'USDT-SWAP',
          asset: 'USDT',
          amount: d(String(fund)),
        })
      const entry = 50000n
      const size = BigInt(contracts)
      // at least the initial margin size × 0.01 × 50,000 / leverage, on a 0.01 grid
      const margin =
        ((size * entry * SCALE) / 100n / BigInt(leverage) / 10n ** 16n + 1n) * 10n ** 16n
      engine.run({ type: 'deposit', account: 'alice', asset: 'USDT', amount: margin as never })
      engine.run({ type: 'deposit', account: 'bob', asset: 'USDT', amount: d('100000000') })
      engine.run({
        type: 'set_margin_mode',
        account: 'alice',
        market,
        marginMode: cross ? 'cross' : 'isolated',
      })
      engine.run({ type: 'set_leverage', account: 'alice', market, leverage: d(String(leverage)) })
      engine.run({ type: 'mark_price', market, mark: d('50000') })
      engine.run({
        type: 'trade',
        account: 'alice',
        market,
        size: d(String(contracts)),
        price: d('50000'),
        liquidity: 'taker',
        counterparty: 'bob',
      })
      // mark on the 0.1 tick
      const markTenths =
        (entry * 10n * (10000n - 10000n / BigInt(leverage) - BigInt(beyondBasisPoints))) / 10000n
      const mark = (markTenths * SCALE) / 10n
      engine.run({ type: 'mark_price', market, mark: mark as never })
      const order = engine.state.liquidation.orders.get('L1')
      fc.pre(order !== undefined && order.remaining === -(size * SCALE))
      // the scope: the isolated margin, or the cross wallet; the rest of the wallet stays aside
      const posted = engine.state.accounts.get('alice')?.positions.get(market)?.isolatedMargin ?? 0n
      const aside = cross ? 0n : engine.balance('alice', 'USDT')
      const collateral = cross ? engine.balance('alice', 'USDT') : posted
      const equityAtMark = collateral + (size * (mark - entry * SCALE)) / 100n
      const events = engine.run({ type: 'liquidation_takeover', orderId: 'L1' })
      const allocated = ofType(events, 'shortfall_allocated')[0]
      const uncovered = allocated?.uncovered ?? 0n
      expect(engine.size('alice', market)).toBe(0n)
      const expected = aside + (equityAtMark > 0n ? equityAtMark : 0n) - uncovered
      expect(engine.balance('alice', 'USDT')).toBe(expected)
      if (equityAtMark < 0n) expect(allocated?.shortfall).toBe(-equityAtMark)
      if (uncovered > 0n) expect(allocated?.chainExhausted).toBe(true)
    },
  )

  it('LIQ-051, HL ADL (exchanges.md §7): a Hyperliquid account whose value goes negative is auto-deleveraged, not left to the book', () => {
    // "If a user's account value … becomes negative, the users on the opposite side … are closed
    // at the previous mark price against the now underwater user." alice (1,000 USDC, long 1 BTC
    // from 10,000, 4.5 taker fee) is at −104.5 at the mark 8,900; the order's limit is her
    // bankruptcy price 9,004.5 shown as 9,005, so a book fill at 8,900 is refused and the handover
    // deleverages bob at the mark.
    const engine = new Driver(preset('hyperliquid'))
    engine.run({ type: 'deposit', account: 'alice', asset: 'USDC', amount: d('1000') })
    engine.run({ type: 'deposit', account: 'bob', asset: 'USDC', amount: d('100000') })
    engine.run({ type: 'mark_price', market: 'BTC', mark: d('10000') })
    engine.run({
      type: 'trade',
      account: 'alice',
      market: 'BTC',
      size: d('1'),
      price: d('10000'),
      liquidity: 'taker',
      counterparty: 'bob',
    })
    engine.run({ type: 'mark_price', market: 'BTC', mark: d('8900') })
    const [order] = ofType(engine.events, 'liquidation_order_placed')
    expect(order?.limitPrice).toBe(d('9005'))
    for (const step of executeLiquidations(engine.state, { price: 'mark', slippage: d('0') }, 0))
      engine.events.push(...step.events)
    const adl = ofType(engine.events, 'adl_deleveraged')
    expect(adl.map((event) => [event.account, event.size, event.price])).toEqual([
      ['bob', d('1'), d('8900')],
    ])
    expect(engine.size('alice', 'BTC')).toBe(0n)
    expect(engine.size('bob', 'BTC')).toBe(0n)
    // ADL at the mark forgoes nothing (LIQ-052): the 104.5 below zero stays uncovered, and is reported.
    const [shortfall] = ofType(engine.events, 'shortfall_allocated')
    expect(shortfall).toMatchObject({ shortfall: d('104.5'), adl: 0n, uncovered: d('104.5') })
  })

  it("LIQ-044, LIQ-070, INV-010 (vega, found by the 100k property run): a position closed out earlier in the same mark is not charged a later closeout's socialized loss", () => {
    // a long 0.1 from 10,000; b short 0.1 (closed out at 11,695, a pays 69.6 of it), then long
    // 0.12 from 11,695. At 10,001 a and b are both closed out by the network in one command: a
    // first, so when b's deficit is socialized a no longer holds a position and pays nothing.
    const engine = new Driver(preset('vega'))
    for (const account of ['a', 'b', 'c'])
      engine.run({ type: 'deposit', account, asset: 'USDC', amount: d('100') })
    const market = 'BTC-PERP'
    const trade = (account: string, counterparty: string, size: string, price: string) =>
      engine.try({
        type: 'trade',
        account,
        market,
        size: d(size),
        price: d(price),
        liquidity: 'taker',
        counterparty,
      })
    engine.run({ type: 'mark_price', market, mark: d('10000') })
    trade('a', 'b', '0.1', '10000')
    engine.run({ type: 'mark_price', market, mark: d('11695') })
    trade('b', 'c', '0.12', '11695')
    const events = engine.run({ type: 'mark_price', market, mark: d('10001') })
    const closed = ofType(events, 'liquidation_takeover').map((event) => event.account)
    expect(closed).toEqual(['a', 'b'])
    const charged = ofType(events, 'socialized_loss_charged').map((event) => event.account)
    expect(charged).not.toContain('a')
    expect(engine.balance('a', 'USDC') >= 0n).toBe(true)
  })
})
