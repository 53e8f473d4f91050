/**
 * Liquidation and bankruptcy prices (docs/spec/liquidation-price.md, LPX-*). Worked examples from
 * published venue documents; ids refer to exchanges.md §11 and theory.md "Worked examples".
 */
import { describe, expect, it } from 'vitest'
import {
  bankruptcyPrice,
  liquidationPrice,
  type PriceSolveInput,
  requirementGap,
} from '../../src/core/margin/liquidation-price.ts'
import { entryValueOf, unrealizedPnl } from '../../src/core/model/position-math.ts'
import { abs, add, type Fixed, formatFixed } from '../../src/core/num/fixed.ts'
import type {
  LiquidationPriceRules,
  MarginModel,
  MarketRules,
} from '../../src/core/rules/rule-set.ts'
import { f, flatModel, ladder, liquidationRules, market } from './fixtures.ts'

const linearBtc = (model: MarginModel, tickSize = '0.01') =>
  market({ market: 'BTCUSDT', tickSize }, model)
const inverseBtc = (model: MarginModel) =>
  market({ market: 'BTCUSD', kind: 'inverse_perpetual', quote: 'USD', contractSize: '1' }, model)

function input(
  rules: MarketRules,
  size: string,
  entryPrice: string,
  collateral: string,
  markPrice = entryPrice,
  openInterestValue?: string,
): PriceSolveInput {
  const signed = f(size)
  return {
    market: rules,
    size: signed,
    entryValue: entryValueOf(rules.instrument, signed, f(entryPrice)),
    collateral: f(collateral),
    markPrice: f(markPrice),
    ...(openInterestValue === undefined ? {} : { openInterestValue: f(openInterestValue) }),
  }
}

function show(value: Fixed | undefined): string | undefined {
  return value === undefined ? undefined : formatFixed(value)
}

describe('LPX-002 closed forms, maintenance valued at the liquidation price', () => {
  it.each([
    // [id, size, entry, collateral, rounding, displayed, exact]
    ['BN-09/W7 long', '1', '10000', '1000', 'nearest', '9036.14', '9036.14457831'],
    ['BN-09/W7 long', '1', '10000', '1000', 'toward_safety', '9036.15', '9036.14457831'],
    ['BN-09/W7 long', '1', '10000', '1000', 'toward_trader', '9036.14', '9036.14457831'],
    ['W7 short', '-1', '10000', '1000', 'nearest', '10956.18', '10956.1752988'],
    ['W7 short', '-1', '10000', '1000', 'toward_safety', '10956.17', '10956.1752988'],
  ] as const)(
    '%s: %s BTC @ %s with %s of margin, MMR 0.4%%, %s → %s (exchanges.md §11 BN-09, theory.md W7; formula of https://www.binance.com/en/support/faq/b3c689c1f50a44cabb3a84e663b81d93)',
    (_id, size, entry, collateral, displayRounding, displayed, exact) => {
      const rules = liquidationRules({ displayRounding })
      const solved = liquidationPrice(
        rules,
        input(linearBtc(flatModel('0.004')), size, entry, collateral),
      )
      expect(show(solved?.displayed)).toBe(displayed)
      expect(show(solved?.exact)).toBe(exact)
      expect(solved?.method).toBe('closed_form')
    },
  )

  it('HL-02/W8: isolated long 1 BTC @ 100,000 with 10,000 margin, MMR 1.25% → 91,139.24 (exchanges.md §11 HL-02, theory.md W8, https://hyperliquid.gitbook.io/hyperliquid-docs/trading/liquidations)', () => {
    const solved = liquidationPrice(
      liquidationRules(),
      input(market({ market: 'BTC', quote: 'USDC' }, flatModel('0.0125')), '1', '100000', '10000'),
    )
    expect(show(solved?.displayed)).toBe('91139.24')
  })

  it('DY-01: short 3 ETH @ 3,000 with equity 1,000 and MMF 5% → 3,174.60, where equity is 476.19 (exchanges.md §11 DY-01, github.com/dydxprotocol/v4-documentation docs/pages/concepts/trading/liquidations.mdx)', () => {
    const model: MarginModel = {
      kind: 'open_interest_scaled',
      initialRate: f('0.1'),
      maintenanceFraction: f('0.5'),
      openInterestLowerCap: f('25000000'),
      openInterestUpperCap: f('50000000'),
    }
    const ethUsd = market({ market: 'ETH-USD', base: 'ETH', quote: 'USDC' }, model)
    const solveInput = input(ethUsd, '-3', '3000', '1000', '3000', '1000000')
    const solved = liquidationPrice(liquidationRules(), solveInput)
    expect(show(solved?.displayed)).toBe('3174.6')
    expect(show(solved?.exact)).toBe('3174.6031746')
    const equity = add(
      solveInput.collateral,
      unrealizedPnl(ethUsd.instrument, solveInput.size, solveInput.entryValue, solved!.price),
    )
    expect(formatFixed(equity, 2)).toBe('476.19')
  })

  it('BY-09: inverse isolated long 60,000 USD @ 50,000 with 0.12 BTC margin, MMR 0.5%, maintenance at the solved price → 45,681.82 (exchanges.md §11 BY-09, https://www.kbybit.com/en/help-center/article/Liquidation-Price-Calculation-under-Isolated-Mode-Unified-Trading-Account)', () => {
    const solved = liquidationPrice(
      liquidationRules(),
      input(inverseBtc(flatModel('0.005', '0.1')), '60000', '50000', '0.12'),
    )
    expect(show(solved?.displayed)).toBe('45681.82')
  })

  it('LPX-003: when the solved price falls in another tier it is solved again with that tier (Binance COIN-M FAQ, https://www.binance.com/es/support/faq/ceccfcfb4e3a45e3b48b0b1bb1a8ae46; numbers INFERRED)', () => {
    // Long 30 BTC @ 10,000 (300,000 USDT, tier 3 at 1% less 1,300). Tier 3 alone gives 8,000,
    // which is worth 240,000 (tier 2); tier 2 (0.5% less 50) gives 238,850 ÷ 29.85 = 8,001.675…
    const model = ladder([
      ['0', '50000', '0.004', '0.008', '0'],
      ['50000', '250000', '0.005', '0.01', '50'],
      ['250000', '1000000', '0.01', '0.02', '1300'],
      ['1000000', null, '0.025', '0.05', '16300'],
    ])
    const solveInput = input(linearBtc(model), '30', '10000', '61100')
    const solved = liquidationPrice(liquidationRules(), solveInput)
    expect(show(solved?.exact)).toBe('8001.67504188')
    expect(solved?.rates?.tierIndex).toBe(1)
    expect(
      abs(requirementGap(liquidationRules(), solveInput, 'liquidation', solved!.price)) <= 30n,
    ).toBe(true)
  })
})

describe('LPX-002 closed forms, maintenance fixed at entry', () => {
  const atEntry = liquidationRules({ maintenanceValuation: 'at_entry_price' })
  it.each([
    ['BY-01 long', '1', '19700'],
    ['BY-02 short', '-1', '20300'],
  ])(
    '%s: %s BTC @ 20,000 at 50x (margin 400), MMR 0.5% → %s (exchanges.md §11 BY-01/BY-02, https://testnet.bybit.com/en-US/help-center/s/article/Liquidation-Price-USDT-Contract)',
    (_id, size, displayed) => {
      const solved = liquidationPrice(
        atEntry,
        input(linearBtc(flatModel('0.005', '0.02')), size, '20000', '400'),
      )
      expect(show(solved?.displayed)).toBe(displayed)
    },
  )

  it.each([
    ['long, entry-valued', '60000', '45662.1'],
    ['short, entry-valued', '-60000', '55248.62'],
  ])(
    'BY-09 %s: inverse 60,000 USD @ 50,000, 10x (0.12 BTC), MMR 0.5% → %s (exchanges.md §11 BY-09, testnet.bybit.com Liquidation-Price-Calculation-under-Isolated-Mode-Unified-Trading-Account)',
    (_id, size, displayed) => {
      const solved = liquidationPrice(
        atEntry,
        input(inverseBtc(flatModel('0.005', '0.1')), size, '50000', '0.12'),
      )
      expect(show(solved?.displayed)).toBe(displayed)
    },
  )

  it('BM-05: long XBTUSD @ 6,000 at 100x, MM 0.5% → liquidation 5,970.15, bankruptcy 5,940.59 (exchanges.md §11 BM-05, https://blog.bitmex.com/bitmex-insurance-fund-your-questions-answered/)', () => {
    const xbtusd = inverseBtc(flatModel('0.005', '0.01'))
    // 6,000 contracts of 1 USD at 6,000 are worth 1 XBT; 100x posts 0.01 XBT.
    const solveInput = input(xbtusd, '6000', '6000', '0.01')
    expect(show(liquidationPrice(atEntry, solveInput)?.displayed)).toBe('5970.15')
    expect(show(bankruptcyPrice(atEntry, solveInput)?.displayed)).toBe('5940.59')
  })
})

describe('LPX-007 bankruptcy prices', () => {
  it('BY-03: long 1 BTC @ 10,000 at 50x → 10,000 × (1 − 2%) = 9,800 (exchanges.md §11 BY-03, Bybit "Bankruptcy Price (USDT Contract)")', () => {
    const solved = bankruptcyPrice(
      liquidationRules(),
      input(linearBtc(flatModel('0.005', '0.02')), '1', '10000', '200'),
    )
    expect(show(solved?.displayed)).toBe('9800')
    expect(solved?.rates).toBeNull()
  })

  it('a close fee moves the bankruptcy price toward the entry: equity covers the fee to close (LPX-007)', () => {
    const rules: LiquidationPriceRules = liquidationRules({ closeFeeRate: f('0.0006') })
    const solveInput = input(linearBtc(flatModel('0.005', '0.02')), '1', '10000', '200')
    const solved = bankruptcyPrice(rules, solveInput)
    // 200 + (P − 10,000) = 0.0006 P  →  P = 9,800 ÷ 0.9994
    expect(show(solved?.exact)).toBe('9805.88353012')
    expect(abs(requirementGap(rules, solveInput, 'bankruptcy', solved!.price)) <= 1n).toBe(true)
  })
})

describe('LPX-001 no price when none exists', () => {
  it('a fully collateralised linear long cannot be liquidated at any positive price', () => {
    expect(
      liquidationPrice(
        liquidationRules(),
        input(linearBtc(flatModel('0.004')), '1', '10000', '10000'),
      ),
    ).toBeNull()
    expect(
      bankruptcyPrice(
        liquidationRules(),
        input(linearBtc(flatModel('0.004')), '1', '10000', '10000'),
      ),
    ).toBeNull()
  })

  it('an inverse short whose collateral covers its entry value cannot be liquidated (its loss is bounded in coin)', () => {
    const rules = liquidationRules()
    expect(
      liquidationPrice(rules, input(inverseBtc(flatModel('0.005')), '-60000', '50000', '1.3')),
    ).toBeNull()
    expect(
      bankruptcyPrice(rules, input(inverseBtc(flatModel('0.005')), '-60000', '50000', '1.3')),
    ).toBeNull()
  })
})

describe('LPX-004 bisection where no closed form holds', () => {
  it('Deribit-style inverse rates that grow with the BTC size: the gap at the solved price is zero to the grid (exchanges.md §11 DB-01 parameters)', () => {
    const btcPerpetual = market(
      {
        market: 'BTC-PERPETUAL',
        kind: 'inverse_perpetual',
        quote: 'USD',
        contractSize: '10',
        tickSize: '0.5',
      },
      {
        kind: 'linear_in_size',
        basis: 'base_size',
        initialRateBase: f('0.02'),
        initialRatePerUnit: f('0.00005'),
        maintenanceRateBase: f('0.015'),
        maintenanceRatePerUnit: f('0.00005'),
      },
    )
    const rules = liquidationRules({ displayRounding: 'toward_safety' })
    for (const [size, collateral] of [
      ['500000', '10'],
      ['-500000', '10'],
    ] as const) {
      const solveInput = input(btcPerpetual, size, '50000', collateral)
      const solved = liquidationPrice(rules, solveInput)
      expect(solved?.method).toBe('bisection')
      const price = solved!.price
      const long = solveInput.size > 0n
      // The answer is the last grid price where the requirement is reached; one unit further it is not.
      expect(requirementGap(rules, solveInput, 'liquidation', price) <= 0n).toBe(true)
      const beyond = (long ? price + 1n : price - 1n) as Fixed
      expect(requirementGap(rules, solveInput, 'liquidation', beyond) > 0n).toBe(true)
      expect(solved!.displayed % f('0.5')).toBe(0n)
    }
  })
})
