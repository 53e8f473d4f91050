// ADL execution inside the chain (docs/spec/liquidation.md): the exact bankruptcy value (LIQ-053),
// fees on ADL closes (LIQ-054), the fund's share down to its trigger level (LIQ-055; Bybit BY-07
// (1) and (3), exchanges.md §4.4 and §11, https://bybit-exchange.github.io/docs/v5/market/adl-alert
// and https://help.bybit.com/hc/en-us/articles/900000031623), and the system accounts that are
// not margin-checked (LIQ-018).
import { test } from '@fast-check/vitest'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { belowMaintenanceEvents, openInterestValues } from '../../src/core/engine/margin.ts'
import { markPrices } from '../../src/core/engine/state.ts'
import { evaluateAccountMargin } from '../../src/core/margin/evaluate.ts'
import { contractValue } from '../../src/core/model/position-math.ts'
import { add, type Fixed, fromScaled, neg, sub, ZERO } from '../../src/core/num/fixed.ts'
import { parseRuleSet, ruleSetToJson } from '../../src/core/rules/parse.ts'
import { d, Driver, everyMarket, ofType, type PresetDocument, preset } from './helpers.ts'

const SCALE = 10n ** 18n
const noFees = { makerFeeRate: '0', takerFeeRate: '0' }

/**
 * `trader` isolated at `leverage` holds `size` of `market` from `entry` against `bob` (cross); the
 * mark then moves to `mark`, beyond the trader's bankruptcy price, so order L1 is placed.
 */
function breached(
  presetId: 'bybit-linear' | 'bybit-inverse',
  options: {
    readonly size: Fixed
    readonly entry: Fixed
    readonly mark: Fixed
    readonly leverage: Fixed
    readonly fund?: Fixed
    readonly fees?: boolean
    readonly edit?: (document: PresetDocument) => void
  },
): Driver {
  const market = presetId === 'bybit-linear' ? 'BTCUSDT' : 'BTCUSD'
  const asset = presetId === 'bybit-linear' ? 'USDT' : 'BTC'
  const engine = new Driver(
    preset(presetId, (document) => {
      if (options.fees !== true) everyMarket(document, noFees)
      options.edit?.(document)
    }),
  )
  if (options.fund !== undefined)
    engine.run({ type: 'insurance_fund_deposit', fund: market, asset, amount: options.fund })
  engine.run({ type: 'deposit', account: 'alice', asset, amount: d('1000000') })
  engine.run({ type: 'deposit', account: 'bob', asset, amount: d('1000000') })
  engine.run({ type: 'set_margin_mode', account: 'alice', market, marginMode: 'isolated' })
  engine.run({ type: 'set_leverage', account: 'alice', market, leverage: options.leverage })
  engine.run({ type: 'mark_price', market, mark: options.entry })
  engine.run({
    type: 'trade',
    account: 'alice',
    market,
    size: options.size,
    price: options.entry,
    liquidity: 'taker',
    counterparty: 'bob',
  })
  engine.timestampMs = 60_000
  engine.run({ type: 'mark_price', market, mark: options.mark })
  return engine
}

function isolatedMarginOf(engine: Driver, account: string, market: string): Fixed {
  return engine.state.accounts.get(account)?.positions.get(market)?.isolatedMargin ?? ZERO
}

describe('LIQ-053: ADL at the bankruptcy price closes the shortfall exactly', () => {
  it('a 3x long from 7,300: the displayed bankruptcy price 4,866.66666667 left 0.000000003333333334 to the fund; the exact value leaves 0', () => {
    const engine = breached('bybit-linear', {
      size: d('1'),
      entry: d('7300'),
      mark: d('4000'),
      leverage: d('3'),
    })
    const order = engine.state.liquidation.orders.get('L1')
    const margin = isolatedMarginOf(engine, 'alice', 'BTCUSDT')
    expect(margin).toBe(d('2433.333333333333333334'))
    // The order keeps the bankruptcy price rounded to the rule set's 8 exact decimals.
    expect(order?.bankruptcyPrice).toBe(d('4866.66666667'))
    // Closing at that price, as ADL did before LIQ-053, leaves alice's closed share a residual of
    // margin + PnL ≠ 0, which the chain then allocated (to the fund as a surplus).
    const market = engine.state.rules.markets.get('BTCUSDT')
    if (market === undefined || order === undefined) throw new Error('no market or order')
    const valueAtDisplayed = contractValue(market.instrument, neg(d('1')), order.bankruptcyPrice)
    const residual = add(margin, sub(neg(valueAtDisplayed), d('7300')))
    expect(residual).toBe(d('0.000000003333333334'))

    const walletBefore = engine.balance('alice', 'USDT')
    const events = engine.run({ type: 'liquidation_takeover', orderId: 'L1' })
    const [filled] = ofType(events, 'liquidation_order_filled')
    const [allocated] = ofType(events, 'shortfall_allocated')
    const [adl] = ofType(events, 'adl_deleveraged')
    expect(filled).toMatchObject({ surplus: ZERO, gap: ZERO, fee: ZERO })
    expect(allocated).toMatchObject({
      shortfall: d('866.666666666666666666'),
      insuranceFund: ZERO,
      adl: d('866.666666666666666666'),
      socialized: ZERO,
      uncovered: ZERO,
    })
    // bob closes at the exact bankruptcy value 7,300 − margin, shown at the displayed price.
    expect(adl).toMatchObject({
      account: 'bob',
      price: d('4866.66666667'),
      value: d('4866.666666666666666666'),
      haircutVersusMark: d('866.666666666666666666'),
    })
    expect(ofType(events, 'insurance_fund_pool_changed')).toHaveLength(0)
    expect(engine.pool('BTCUSDT', 'USDT')).toBe(ZERO)
    expect(engine.balance('alice', 'USDT')).toBe(walletBefore)
    expect(engine.size('alice', 'BTCUSDT')).toBe(ZERO)
  })

  test.prop(
    [
      fc.constantFrom('bybit-linear' as const, 'bybit-inverse' as const),
      fc.boolean(),
      fc.integer({ min: 2, max: 60 }),
      fc.integer({ min: 1, max: 99 }),
      fc.integer({ min: 1, max: 40 }),
      fc.integer({ min: 1, max: 30 }),
    ],
    { numRuns: 60 },
  )(
    'linear and inverse, long and short: surplus, gap and the fund draw are exactly 0, ADL = shortfall',
    (presetId, long, leverage, lots, priceStep, beyondPercent) => {
      const linear = presetId === 'bybit-linear'
      // linear: 0.001 BTC lots at 20,000 + 137.5 × k; inverse: 1 USD contracts at 7,000 + 0.5 × k.
      const size = linear ? fromScaled(BigInt(lots) * 10n ** 15n) : fromScaled(BigInt(lots) * SCALE)
      const entry = linear
        ? fromScaled((20000n * 10n + 1375n * BigInt(priceStep)) * 10n ** 17n)
        : fromScaled((14000n + BigInt(priceStep)) * 5n * 10n ** 17n)
      // The bankruptcy price is about entry × (1 ∓ 1/leverage); the mark lies beyond it.
      const bankruptcy = long
        ? entry - entry / BigInt(leverage)
        : linear
          ? entry + entry / BigInt(leverage)
          : (entry * BigInt(leverage)) / BigInt(leverage - 1)
      const tick = linear ? 5n * 10n ** 17n : 5n * 10n ** 17n
      const beyond = (bankruptcy * BigInt(beyondPercent)) / 100n
      const rawMark = long ? bankruptcy - beyond : bankruptcy + beyond
      const mark = fromScaled((rawMark / tick) * tick)
      const engine = breached(presetId, {
        size: long ? size : neg(size),
        entry,
        mark,
        leverage: fromScaled(BigInt(leverage) * SCALE),
      })
      const asset = linear ? 'USDT' : 'BTC'
      const market = linear ? 'BTCUSDT' : 'BTCUSD'
      const walletBefore = engine.balance('alice', asset)
      const events = engine.run({ type: 'liquidation_takeover', orderId: 'L1' })
      const [filled] = ofType(events, 'liquidation_order_filled')
      const [allocated] = ofType(events, 'shortfall_allocated')
      expect(ofType(events, 'adl_deleveraged')).toHaveLength(1)
      expect(filled?.surplus).toBe(ZERO)
      expect(filled?.gap).toBe(ZERO)
      expect(allocated?.insuranceFund).toBe(ZERO)
      expect(allocated?.adl).toBe(allocated?.shortfall)
      expect(engine.pool(market, asset)).toBe(ZERO)
      // alice loses exactly her isolated margin: her wallet does not move.
      expect(engine.balance('alice', asset)).toBe(walletBefore)
    },
  )
})

describe('LIQ-055, LIQ-054: Bybit — the pool pays down to its trigger level, ADL the rest, with fees', () => {
  it('BY-07 (1): pool 1M, A loses 350K → pnlRatio −35 %; the pool pays down to −30 % (300K), ADL closes 50K', () => {
    // alice: 10 BTC long from 100,000 at 10x (margin 100,000, bankruptcy 90,000); the mark falls
    // to 55,000: 35,000 × 10 = 350,000 beyond bankruptcy.
    const engine = breached('bybit-linear', {
      size: d('10'),
      entry: d('100000'),
      mark: d('55000'),
      leverage: d('10'),
      fund: d('1000000'),
    })
    const bobBefore = engine.balance('bob', 'USDT')
    const events = engine.run({ type: 'liquidation_takeover', orderId: 'L1' })
    expect(ofType(events, 'liquidation_takeover')[0]).toMatchObject({
      estimatedShortfall: d('350000'),
      adlTriggerActive: true,
      via: 'adl',
    })
    expect(ofType(events, 'shortfall_allocated')[0]).toMatchObject({
      shortfall: d('350000'),
      insuranceFund: d('300000'),
      adl: d('50000'),
      uncovered: ZERO,
    })
    // bob closes at 60,000 (5,000 above the mark per BTC = 50,000), shown at the price 90,000.
    expect(ofType(events, 'adl_deleveraged')[0]).toMatchObject({
      price: d('90000'),
      value: d('600000'),
      haircutVersusMark: d('50000'),
    })
    expect(engine.pool('BTCUSDT', 'USDT')).toBe(d('700000'))
    expect(engine.balance('bob', 'USDT')).toBe(add(bobBefore, d('400000')))
  })

  it('BY-07 (2): at exactly −30 % nothing lies beyond the level: the pool pays all, the book takes the order at the mark', () => {
    // The same position, the mark at 60,000: 300,000 beyond bankruptcy, pnlRatio −0.30 (inclusive).
    const engine = breached('bybit-linear', {
      size: d('10'),
      entry: d('100000'),
      mark: d('60000'),
      leverage: d('10'),
      fund: d('1000000'),
    })
    const events = engine.run({ type: 'liquidation_takeover', orderId: 'L1' })
    expect(ofType(events, 'liquidation_takeover')[0]).toMatchObject({
      adlTriggerActive: true,
      via: 'backstop_book',
    })
    expect(ofType(events, 'adl_deleveraged')).toHaveLength(0)
    expect(engine.pool('BTCUSDT', 'USDT')).toBe(d('700000'))
  })

  it('BY-07 (3), pool-equity ADL with the preset fees: the pool pays down to 0, ADL covers the rest; the deleveraged side pays the maker fee', () => {
    // Fees on: alice's taker fee 0.06 % × 7,300 = 4.38 comes out of her isolated margin,
    // 730 − 4.38 = 725.62, so her bankruptcy price is 7,300 − 725.62 = 6,574.38. At the mark 6,000
    // the shortfall is 574.38; the pool (100) pays down to 0 and ADL covers 474.38: bob closes at
    // 6,000 + 474.38 = 6,474.38, realizing 7,300 − 6,474.38 = 825.62 and paying the maker fee
    // 0.01 % × 6,474.38 = 0.647438. alice's taker fee on the ADL close is paid out of what her
    // closed share keeps (−100 before the pool's payment): 0.
    const engine = breached('bybit-linear', {
      size: d('1'),
      entry: d('7300'),
      mark: d('6000'),
      leverage: d('10'),
      fund: d('100'),
      fees: true,
    })
    expect(isolatedMarginOf(engine, 'alice', 'BTCUSDT')).toBe(d('725.62'))
    const bobBefore = engine.balance('bob', 'USDT')
    const aliceBefore = engine.balance('alice', 'USDT')
    const feesBefore = engine.state.feePools.get('USDT') ?? ZERO
    const events = engine.run({ type: 'liquidation_takeover', orderId: 'L1' })
    expect(ofType(events, 'shortfall_allocated')[0]).toMatchObject({
      shortfall: d('574.38'),
      insuranceFund: d('100'),
      adl: d('474.38'),
      uncovered: ZERO,
    })
    expect(ofType(events, 'adl_deleveraged')[0]).toMatchObject({
      account: 'bob',
      value: d('6474.38'),
      fee: d('0.647438'),
      haircutVersusMark: d('474.38'),
    })
    expect(ofType(events, 'liquidation_order_filled')[0]).toMatchObject({
      fee: ZERO,
      gap: d('100'),
    })
    expect(engine.pool('BTCUSDT', 'USDT')).toBe(ZERO)
    expect(engine.balance('bob', 'USDT')).toBe(add(bobBefore, d('824.972562')))
    expect(engine.balance('alice', 'USDT')).toBe(aliceBefore)
    expect(engine.state.feePools.get('USDT')).toBe(add(feesBefore, d('0.647438')))
  })

  it('the liquidated side pays its ADL fee out of the close fee its bankruptcy price reserves, never more', () => {
    // closeFeeRate 0.0006: the bankruptcy price reserves 0.06 % of the close; the ADL close leaves
    // alice's closed share exactly that reserve, and her taker fee (0.06 %) is paid out of it.
    const engine = breached('bybit-linear', {
      size: d('1'),
      entry: d('7300'),
      mark: d('6000'),
      leverage: d('10'),
      fees: true,
      edit: (document) => {
        const json = document as unknown as { liquidationPrice: Record<string, unknown> }
        json.liquidationPrice.closeFeeRate = '0.0006'
      },
    })
    const aliceBefore = engine.balance('alice', 'USDT')
    const feesBefore = engine.state.feePools.get('USDT') ?? ZERO
    const order = engine.state.liquidation.orders.get('L1')
    if (order === undefined) throw new Error('no order L1')
    const events = engine.run({ type: 'liquidation_takeover', orderId: 'L1' })
    const [filled] = ofType(events, 'liquidation_order_filled')
    const [adl] = ofType(events, 'adl_deleveraged')
    const reserved = fromScaled((order.bankruptcyPrice * 6n + 9999n) / 10000n)
    const rawFee = fromScaled((((adl?.value ?? ZERO) as bigint) * 6n + 9999n) / 10000n)
    const fee = rawFee < reserved ? rawFee : reserved
    expect(fee).toBeGreaterThan(0n)
    expect(filled).toMatchObject({ fee, surplus: ZERO, gap: ZERO })
    expect(ofType(events, 'shortfall_allocated')[0]?.insuranceFund).toBe(ZERO)
    // alice keeps the reserve less the fee; the fee pool gets both sides' fees.
    expect(engine.balance('alice', 'USDT')).toBe(add(aliceBefore, sub(reserved, fee)))
    expect(engine.state.feePools.get('USDT')).toBe(add(add(feesBefore, fee), adl?.fee ?? ZERO))
  })

  it('LIQ-001: fees and fundShare are validated with paths and written back', () => {
    const document = JSON.parse(
      JSON.stringify(ruleSetToJson(preset('bybit-linear'))),
    ) as PresetDocument
    const parsed = parseRuleSet(document)
    expect(parsed.ok).toBe(true)
    if (parsed.ok)
      expect(parsed.ruleSet.liquidation?.adl?.fees).toEqual({
        deleveraged: 'maker',
        liquidated: 'taker',
      })
    document.liquidation.adl.fees = { deleveraged: 'spread', liquidated: 'taker' }
    document.liquidation.adl.fundShare = 'all'
    const bad = parseRuleSet(document)
    expect(bad.ok).toBe(false)
    if (!bad.ok)
      expect(bad.issues.map((issue) => issue.path)).toEqual(
        expect.arrayContaining(['liquidation.adl.fees.deleveraged', 'liquidation.adl.fundShare']),
      )
    const okx = JSON.parse(JSON.stringify(ruleSetToJson(preset('okx')))) as PresetDocument
    okx.liquidation.adl.executionPrice = 'bankruptcy'
    okx.liquidation.adl.fundShare = 'down_to_trigger_level'
    const drawdown = parseRuleSet(okx)
    expect(drawdown.ok).toBe(false)
    if (!drawdown.ok)
      expect(drawdown.issues.map((issue) => issue.code)).toContain('fund_share_trigger_unsupported')
  })
})

describe('LIQ-018: the backstop and network accounts of the rules are not margin-checked', () => {
  it('vega: @network holds a position below maintenance after a closeout; a mark reports no account_below_maintenance for it', () => {
    const engine = new Driver(preset('vega', (document) => everyMarket(document, noFees)))
    const market = 'BTC-PERP'
    engine.run({ type: 'deposit', account: 'alice', asset: 'USDC', amount: d('1100') })
    engine.run({ type: 'deposit', account: 'bob', asset: 'USDC', amount: d('100000000') })
    engine.run({ type: 'mark_price', market, mark: d('10000') })
    engine.run({
      type: 'trade',
      account: 'bob',
      market,
      size: d('-2'),
      price: d('10000'),
      liquidity: 'taker',
      counterparty: 'alice',
    })
    engine.run({ type: 'mark_price', market, mark: d('9500') })
    expect(engine.size('@network', market)).toBe(d('2'))
    const events = engine.run({ type: 'mark_price', market, mark: d('9000') })
    // The network's margin is the pool, not its wallet: by the trader rules it is below maintenance…
    const network = engine.state.accounts.get('@network')
    if (network === undefined) throw new Error('no @network account')
    const marks = markPrices(engine.state)
    const figures = evaluateAccountMargin(
      engine.state.rules,
      network,
      marks,
      openInterestValues(engine.state, marks),
    )
    expect(belowMaintenanceEvents('@network', figures).length).toBeGreaterThan(0)
    // …but nothing is reported for it (it is never liquidated, LIQ-074).
    const below = ofType(events, 'account_below_maintenance')
    expect(below.map((event) => event.account)).not.toContain('@network')
  })
})
