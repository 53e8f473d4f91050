/**
 * Margin models (docs/spec/margin.md, MRG-001..MRG-008). Worked examples from published venue
 * documents; ids refer to the research notes' worked-example list (exchanges.md §11, theory.md).
 */
import { describe, expect, it } from 'vitest'
import {
  initialMarginOf,
  leverageRate,
  maintenanceMarginOf,
  marginRates,
  openInterestInitialRate,
  taxBracketDeductions,
} from '../../src/core/margin/rates.ts'
import { positionValue } from '../../src/core/model/position-math.ts'
import { formatFixed, mul, mulInteger } from '../../src/core/num/fixed.ts'
import type { MarginModel } from '../../src/core/rules/rule-set.ts'
import { f, ladder, market } from './fixtures.ts'

/** Binance USDⓈ-M BTCUSDT ladder of 2020 (cap, maintenance rate, deduction). */
const binanceBtcusdt2020 = ladder([
  ['0', '50000', '0.004', '0.008', '0'],
  ['50000', '250000', '0.005', '0.01', '50'],
  ['250000', '1000000', '0.01', '0.02', '1300'],
  ['1000000', '5000000', '0.025', '0.05', '16300'],
  ['5000000', '10000000', '0.05', '0.1', '141300'],
  ['10000000', '20000000', '0.1', '0.2', '641300'],
  ['20000000', '35000000', '0.125', '0.25', '1141300'],
  ['35000000', '50000000', '0.15', '0.5', '2016300'],
  ['50000000', null, '0.25', '1', '7016300'],
])

/** Binance COIN-M BTCUSD ladder consistent with the published deductions (BTC). */
const binanceBtcusdCoin = ladder([
  ['0', '10', '0.004', '0.008', '0'],
  ['10', '20', '0.005', '0.01', '0.01'],
  ['20', '30', '0.01', '0.02', '0.11'],
  ['30', '50', '0.025', '0.05', '0.56'],
  ['50', '100', '0.05', '0.1', '1.81'],
  ['100', '200', '0.1', '0.2', '6.81'],
  ['200', '400', '0.125', '0.25', '11.81'],
  ['400', '1000', '0.15', '0.5', '21.81'],
  ['1000', null, '0.25', '1', '121.81'],
])

function tiersOf(model: MarginModel) {
  if (model.kind !== 'tiered') throw new Error('a tiered model')
  return model.tiers
}

describe('MRG-002 tax-bracket ladders', () => {
  it('BN-03: the 2020 BTCUSDT deductions follow the recurrence; level 5 is 141,300 (exchanges.md §11 BN-03, github.com/bradkyle/Qenv logic/binance.md, copy of the Binance help centre)', () => {
    const tiers = tiersOf(binanceBtcusdt2020)
    const computed = taxBracketDeductions(tiers).map((each) => formatFixed(each))
    expect(computed).toEqual(tiers.map((tier) => formatFixed(tier.maintenanceDeduction)))
    expect(computed[4]).toBe('141300')
  })

  it('BN-03: a 264,000 USDT position pays 1% less 1,300, i.e. 1,340 (exchanges.md §11 BN-03)', () => {
    const btcusdt = market({ market: 'BTCUSDT' }, binanceBtcusdt2020)
    const rates = marginRates(btcusdt, f('26.4'), f('10000'))
    expect(formatFixed(rates.maintenanceRate)).toBe('0.01')
    expect(formatFixed(rates.maintenanceDeduction)).toBe('1300')
    expect(rates.tierIndex).toBe(2)
    expect(formatFixed(maintenanceMarginOf(f('264000'), rates))).toBe('1340')
  })

  it('BN-04: COIN-M BTCUSD level 5 is 1.81 BTC; 300 BTC pays 12.5% less 11.81 BTC (exchanges.md §11 BN-04, https://www.binance.com/es/support/faq/ceccfcfb4e3a45e3b48b0b1bb1a8ae46)', () => {
    const tiers = tiersOf(binanceBtcusdCoin)
    expect(taxBracketDeductions(tiers).map((each) => formatFixed(each))).toEqual(
      tiers.map((tier) => formatFixed(tier.maintenanceDeduction)),
    )
    const btcusd = market(
      { market: 'BTCUSD', kind: 'inverse_perpetual', quote: 'USD', contractSize: '100' },
      binanceBtcusdCoin,
    )
    // 300 BTC at 25,000 USD = 75,000 contracts of 100 USD.
    const rates = marginRates(btcusd, f('75000'), f('25000'))
    expect(formatFixed(rates.maintenanceRate)).toBe('0.125')
    expect(formatFixed(rates.maintenanceDeduction)).toBe('11.81')
  })

  it('BN-05: 100 COIN-M contracts of 100 USD at 25,000 are worth 0.4 BTC and need 0.0016 BTC (exchanges.md §11 BN-05, https://www.binance.com/es/support/faq/ceccfcfb4e3a45e3b48b0b1bb1a8ae46)', () => {
    const btcusd = market(
      { market: 'BTCUSD', kind: 'inverse_perpetual', quote: 'USD', contractSize: '100' },
      binanceBtcusdCoin,
    )
    const value = positionValue(btcusd.instrument, f('100'), f('25000'))
    expect(formatFixed(value)).toBe('0.4')
    expect(formatFixed(maintenanceMarginOf(value, marginRates(btcusd, f('100'), f('25000'))))).toBe(
      '0.0016',
    )
  })

  it('BY-08: 100 XYZUSDT at 35 (3,500 USDT) pays 3.5% less 30, i.e. 92.5 (exchanges.md §11 BY-08, Bybit "Maintenance Margin (USDT Contract)", https://www.bybit-global.com/kk-KZ/help-center/search-result?page=29&pageSize=10&query=Bybit)', () => {
    const rows = [
      ['0', '0.02'],
      ['1000', '0.025'],
      ['2000', '0.03'],
      ['3000', '0.035'],
      ['4000', '0.04'],
    ] as const
    const deductions = taxBracketDeductions(
      rows.map(([floor, rate]) => ({ floor: f(floor), maintenanceRate: f(rate) })),
    )
    expect(deductions.map((each) => formatFixed(each))).toEqual(['0', '5', '15', '30', '50'])
    const model = ladder(
      rows.map(([floor, rate], index) => [
        floor,
        index + 1 < rows.length ? `${(index + 1) * 1000}` : null,
        rate,
        '0.1',
        formatFixed(deductions[index]!),
      ]),
    )
    const xyz = market({ market: 'XYZUSDT' }, model)
    const rates = marginRates(xyz, f('100'), f('35'))
    expect(rates.tierIndex).toBe(3)
    expect(formatFixed(maintenanceMarginOf(f('3500'), rates))).toBe('92.5')
  })

  it('HL-03: a 150M USDC second tier at 20x carries a deduction of 1,875,000, and MM is continuous there (exchanges.md §11 HL-03, https://hyperliquid.gitbook.io/hyperliquid-docs/trading/margin-tiers)', () => {
    const deductions = taxBracketDeductions([
      { floor: f('0'), maintenanceRate: f('0.0125') },
      { floor: f('150000000'), maintenanceRate: f('0.025') },
    ])
    expect(formatFixed(deductions[1]!)).toBe('1875000')
    const model = ladder([
      ['0', '150000000', '0.0125', '0.025', '0'],
      ['150000000', null, '0.025', '0.05', '1875000'],
    ])
    const btc = market({ market: 'BTC', quote: 'USDC' }, model)
    const below = marginRates(btc, f('1499.99'), f('100000'))
    const at = marginRates(btc, f('1500'), f('100000'))
    expect([below.tierIndex, at.tierIndex]).toEqual([0, 1])
    expect(formatFixed(maintenanceMarginOf(f('150000000'), below))).toBe('1875000')
    expect(formatFixed(maintenanceMarginOf(f('150000000'), at))).toBe('1875000')
  })

  it('HL-01: the maintenance rate is half the initial rate at maximum leverage: 2.5% at 20x, 1.25% at 40x, 16.7% at 3x (exchanges.md §11 HL-01, https://hyperliquid.gitbook.io/hyperliquid-docs/trading/margin-tiers)', () => {
    const halfRate = (leverage: string) => mul(leverageRate(f(leverage)), f('0.5'), 'exact')
    const half = (leverage: string) => formatFixed(halfRate(leverage), 3, 'half_up')
    expect(half('20')).toBe('0.025')
    expect(half('40')).toBe('0.013') // 0.0125 shown to three decimals
    expect(formatFixed(halfRate('40'))).toBe('0.0125')
    expect(half('3')).toBe('0.167')
  })

  it('MRG-002: a basis exactly at a cap belongs to the next tier; tiers can be looked up by size', () => {
    const bySize = market(
      { market: 'BTC-USDT-SWAP' },
      ladder(
        [
          ['0', '100', '0.004', '0.01', '0'],
          ['100', null, '0.006', '0.015', '0.2'],
        ],
        'size',
      ),
    )
    expect(marginRates(bySize, f('99.999'), f('1000000')).tierIndex).toBe(0)
    expect(marginRates(bySize, f('-100'), f('1')).tierIndex).toBe(1)
  })
})

describe('MRG-003 risk-limit steps (the whole position at its step rate)', () => {
  const inverse = {
    market: 'XBTUSD',
    kind: 'inverse_perpetual',
    quote: 'USD',
    contractSize: '1',
  } as const
  // Values in XBT at a price of 10,000 USD: contracts = value × 10,000.
  const contractsFor = (xbt: string) => mulInteger(f(xbt), 10000n)
  it.each([
    // [source, base MM, MM step, base IM, step (XBT), value (XBT), MM rate, IM rate, MM (XBT)]
    ['BM-01', '0.004', '0.004', '0.01', '100', '180', '0.004', '0.01', '0.72'],
    ['BM-01', '0.004', '0.004', '0.01', '100', '230', '0.008', '0.014', '1.84'],
    ['BM-01', '0.004', '0.004', '0.01', '100', '300', '0.008', '0.014', '2.4'],
    ['BM-01', '0.004', '0.004', '0.01', '100', '400', '0.012', '0.018', '4.8'],
    ['BM-01', '0.004', '0.004', '0.01', '100', '500', '0.016', '0.022', '8'],
    ['BM-02', '0.005', '0.005', '0.01', '150', '180', '0.005', '0.01', '0.9'],
    ['BM-02', '0.005', '0.005', '0.01', '150', '230', '0.01', '0.015', '2.3'],
    ['BM-02', '0.005', '0.005', '0.01', '150', '500', '0.015', '0.02', '7.5'],
    ['BM-02', '0.005', '0.005', '0.01', '150', '650', '0.02', '0.025', '13'],
  ])(
    '%s: base MM %s (+%s a step), base IM %s, step %s XBT: %s XBT pays MM %s, IM %s, MM %s XBT (exchanges.md §11 BM-01 github.com/bradkyle/Qenv logic/bitmex.md; BM-02 https://bitmex.com/app/riskLimitsExamples)',
    (_source, maintenanceBase, maintenanceStep, initialBase, step, xbt, maintenanceRate, initialRate, maintenance) => {
      const model: MarginModel = {
        kind: 'risk_limit_steps',
        basis: 'value',
        baseRiskLimit: f('200'),
        riskLimitStep: f(step),
        maintenanceRateBase: f(maintenanceBase),
        maintenanceRateStep: f(maintenanceStep),
        initialRateBase: f(initialBase),
        initialRateStep: f(maintenanceStep),
      }
      const xbtusd = market(inverse, model)
      const rates = marginRates(xbtusd, contractsFor(xbt), f('10000'))
      expect(formatFixed(rates.maintenanceRate)).toBe(maintenanceRate)
      expect(formatFixed(rates.initialRate)).toBe(initialRate)
      expect(formatFixed(maintenanceMarginOf(f(xbt), rates))).toBe(maintenance)
    },
  )
})

describe('MRG-004 rates linear in size', () => {
  const deribit = (
    initialBase: string,
    initialPerUnit: string,
    maintenanceBase: string,
    maintenancePerUnit: string,
  ) =>
    market(
      { market: 'BTC-PERPETUAL', kind: 'inverse_perpetual', quote: 'USD', contractSize: '10' },
      {
        kind: 'linear_in_size',
        basis: 'base_size',
        initialRateBase: f(initialBase),
        initialRatePerUnit: f(initialPerUnit),
        maintenanceRateBase: f(maintenanceBase),
        maintenanceRatePerUnit: f(maintenancePerUnit),
      },
    )
  // At 50,000 USD, one BTC is 5,000 contracts of 10 USD.
  it.each([
    ['0', '0.02', '0'],
    ['25', '0.02125', '0.53125'],
    ['350', '0.0375', '13.125'],
  ])(
    'DB-01: %s BTC needs IM rate %s = %s BTC (exchanges.md §11 DB-01, https://test.deribit.com/pages/docs/futures)',
    (btc, initialRate, initialMargin) => {
      const btcPerpetual = deribit('0.02', '0.00005', '0.015', '0.00005')
      const rates = marginRates(btcPerpetual, mulInteger(f(btc), 5000n), f('50000'))
      expect(formatFixed(rates.initialRate)).toBe(initialRate)
      expect(formatFixed(initialMarginOf(f(btc), rates, null))).toBe(initialMargin)
    },
  )

  it('DB-02: from 2022-01-11 a 100 BTC position needs MM 1% + 0.5% = 1.5 BTC (exchanges.md §11 DB-02, https://support.deribit.com/hc/en-us/articles/25944826427293-11-January-2022)', () => {
    const btcPerpetual = deribit('0.02', '0.00005', '0.01', '0.00005')
    const rates = marginRates(btcPerpetual, f('500000'), f('50000'))
    expect(formatFixed(rates.maintenanceRate)).toBe('0.015')
    expect(formatFixed(maintenanceMarginOf(f('100'), rates))).toBe('1.5')
  })
})

describe('MRG-005 open-interest scaled fractions', () => {
  it.each([
    ['0', '0.2', '0.1'],
    ['25000000', '0.2', '0.1'],
    ['37500000', '0.6', '0.3'],
    ['50000000', '1', '0.5'],
    ['80000000', '1', '0.5'],
  ])(
    'W9: open interest %s gives IMF %s and MMF %s (theory.md worked example W9, dYdX v4-chain perpetual.proto)',
    (openInterest, initialRate, maintenanceRate) => {
      const model: MarginModel = {
        kind: 'open_interest_scaled',
        initialRate: f('0.2'),
        maintenanceFraction: f('0.5'),
        openInterestLowerCap: f('25000000'),
        openInterestUpperCap: f('50000000'),
      }
      const ethUsd = market({ market: 'ETH-USD', base: 'ETH', quote: 'USDC' }, model)
      const rates = marginRates(ethUsd, f('3'), f('3000'), f(openInterest))
      expect(formatFixed(rates.initialRate)).toBe(initialRate)
      expect(formatFixed(rates.maintenanceRate)).toBe(maintenanceRate)
      expect(
        formatFixed(
          openInterestInitialRate(f('0.2'), f('25000000'), f('50000000'), f(openInterest)),
        ),
      ).toBe(initialRate)
    },
  )
})

describe('MRG-006/MRG-007 requirements round against the account', () => {
  it('maintenance never goes below zero and initial margin uses the larger of the tier rate and 1 ÷ leverage', () => {
    const rates = {
      initialRate: f('0.01'),
      maintenanceRate: f('0.005'),
      maintenanceDeduction: f('10'),
      tierIndex: 1,
    }
    expect(formatFixed(maintenanceMarginOf(f('1000'), rates))).toBe('0')
    expect(formatFixed(initialMarginOf(f('1000'), rates, f('3')))).toBe('333.333333333333333334')
    expect(formatFixed(initialMarginOf(f('1000'), rates, f('200')))).toBe('10')
    expect(formatFixed(initialMarginOf(f('1000'), rates, null))).toBe('10')
  })
})
