/**
 * Account evaluation (docs/spec/margin.md, MRG-009..MRG-014). Worked examples from published venue
 * documents; ids refer to exchanges.md §11.
 */
import { describe, expect, it } from 'vitest'
import {
  crossGroupBreached,
  evaluateAccount,
  isolatedPositionBreached,
  withdrawableAmount,
} from '../../src/core/margin/evaluate.ts'
import { realizedPnl } from '../../src/core/model/position-math.ts'
import { type Fixed, formatFixed } from '../../src/core/num/fixed.ts'
import {
  account,
  f,
  flatModel,
  liquidationRules,
  market,
  marks,
  position,
  ruleSet,
} from './fixtures.ts'

const show = (value: Fixed | null | undefined) =>
  value === null || value === undefined ? value : formatFixed(value)

describe('MRG-010 cross liquidation price with the other positions held at their marks', () => {
  it('BN-01: short 0.005 BTCUSDT @ 9,451.53 beside long 1 ETHUSDT @ 199.53, wallet 10.72 → 11,383.99 (exchanges.md §11 BN-01, https://www.binance.com/en/support/faq/b3c689c1f50a44cabb3a84e663b81d93)', () => {
    const btcusdt = market({ market: 'BTCUSDT' }, flatModel('0.004', '0.008'))
    const ethusdt = market({ market: 'ETHUSDT', base: 'ETH' }, flatModel('0.0065', '0.0133'))
    const rules = ruleSet(
      [btcusdt, ethusdt],
      liquidationRules({ displayRounding: 'toward_safety' }),
    )
    const trader = account({ USDT: '10.72' }, [
      position({ market: btcusdt, size: '-0.005', entryPrice: '9451.53' }),
      position({ market: ethusdt, size: '1', entryPrice: '199.53' }),
    ])
    const risk = evaluateAccount(rules, trader, marks({ BTCUSDT: '9462.81', ETHUSDT: '200' }))
    expect(risk.groups.map((group) => group.asset)).toEqual(['USDT'])
    const group = risk.groups[0]!
    const [btc, eth] = group.positions
    expect(btc?.market).toBe('BTCUSDT')
    expect(show(eth?.unrealizedPnl)).toBe('0.47')
    expect(show(eth?.maintenanceMargin)).toBe('1.3')
    expect(show(btc?.liquidationPrice)).toBe('11383.99')
    expect(show(btc?.liquidationPriceExact)).toBe('11383.9940239')
    // Cross equity = 10.72 + 0.47 − 0.0564 (BTC short's PnL at 9,462.81).
    expect(show(group.crossEquity)).toBe('11.1336')
    expect(crossGroupBreached(group)).toBe(false)
  })
})

describe('MRG-009 position figures', () => {
  it('BM-04: long 1,000 XBTUSD @ 1,000 at mark 1,250 has PnL 0.20 XBT; selling 500 @ 1,500 realizes 0.17 (0.10 at 1,250) (exchanges.md §11 BM-04, github.com/bradkyle/Qenv logic/bitmex.md)', () => {
    const xbtusd = market(
      { market: 'XBTUSD', kind: 'inverse_perpetual', base: 'XBT', quote: 'USD' },
      flatModel('0.005'),
    )
    const rules = ruleSet([xbtusd])
    const long = position({ market: xbtusd, size: '1000', entryPrice: '1000' })
    const risk = evaluateAccount(rules, account({ XBT: '1' }, [long]), marks({ XBTUSD: '1250' }))
    expect(show(risk.groups[0]?.positions[0]?.unrealizedPnl)).toBe('0.2')
    expect(formatFixed(realizedPnl(xbtusd.instrument, f('500'), f('0.5'), f('1500')), 2)).toBe(
      '0.17',
    )
    expect(formatFixed(realizedPnl(xbtusd.instrument, f('500'), f('0.5'), f('1250')), 2)).toBe(
      '0.10',
    )
  })

  it.each([
    ['12000', '8000', '50', '8000', '0.03', '0'],
    ['800', '10500', '25', '12000', '0.00304762', '0.00952381'],
    ['800', '10500', '50', '12000', '0.00152381', '0.00952381'],
  ])(
    'BY-10: %s BTCUSD @ %s at %sx, mark %s: IM %s BTC, PnL %s BTC (exchanges.md §11 BY-10, https://help.bybit.com/hc/en-us/articles/360027239453)',
    (size, entry, leverage, mark, initialMargin, pnl) => {
      const btcusd = market(
        { market: 'BTCUSD', kind: 'inverse_perpetual', quote: 'USD' },
        flatModel('0.005', '0.01'),
      )
      const rules = ruleSet([btcusd])
      const long = position({ market: btcusd, size, entryPrice: entry, leverage })
      const risk = evaluateAccount(rules, account({ BTC: '1' }, [long]), marks({ BTCUSD: mark }))
      const figures = risk.groups[0]!.positions[0]!
      // Initial margin is valued at the entry price in the published example.
      const atEntry = evaluateAccount(
        rules,
        account({ BTC: '1' }, [long]),
        marks({ BTCUSD: entry }),
      ).groups[0]!.positions[0]!
      expect(formatFixed(atEntry.initialMargin, 8)).toBe(formatFixed(f(initialMargin), 8))
      expect(formatFixed(figures.unrealizedPnl, 8)).toBe(formatFixed(f(pnl), 8))
    },
  )

  it('BY-01: isolated long 1 BTC @ 20,000 at 50x posts 400, needs 100, and shows 19,700 (exchanges.md §11 BY-01, https://testnet.bybit.com/en-US/help-center/s/article/Liquidation-Price-USDT-Contract)', () => {
    const btcusdt = market({ market: 'BTCUSDT' }, flatModel('0.005', '0.01'))
    const rules = ruleSet([btcusdt], liquidationRules({ maintenanceValuation: 'at_entry_price' }))
    const long = position({
      market: btcusdt,
      size: '1',
      entryPrice: '20000',
      marginMode: 'isolated',
      isolatedMargin: '400',
      leverage: '50',
    })
    const figures = evaluateAccount(rules, account({}, [long]), marks({ BTCUSDT: '20000' }))
      .groups[0]!.positions[0]!
    expect([show(figures.initialMargin), show(figures.maintenanceMargin)]).toEqual(['400', '100'])
    expect([show(figures.liquidationPrice), show(figures.bankruptcyPrice)]).toEqual([
      '19700',
      '19600',
    ])
    const atLiquidation = evaluateAccount(
      rules,
      account({}, [long]),
      marks({ BTCUSDT: '19699.99' }),
    ).groups[0]!.positions[0]!
    expect(isolatedPositionBreached(figures)).toBe(false)
    expect(isolatedPositionBreached(atLiquidation)).toBe(true)
  })
})

describe('MRG-011/MRG-012 settlement groups', () => {
  const btcusdt = market({ market: 'BTCUSDT' }, flatModel('0.004', '0.01'))
  const ethusdt = market({ market: 'ETHUSDT', base: 'ETH' }, flatModel('0.005', '0.02'))
  const btcusd = market(
    { market: 'BTCUSD', kind: 'inverse_perpetual', quote: 'USD', contractSize: '100' },
    flatModel('0.004', '0.01'),
  )
  const rules = ruleSet([btcusdt, ethusdt, btcusd], liquidationRules(), '0.1')
  const trader = account({ USDT: '1000', BTC: '0.1', ETH: '0' }, [
    position({ market: btcusdt, size: '0.1', entryPrice: '10000' }),
    position({
      market: ethusdt,
      size: '-2',
      entryPrice: '500',
      marginMode: 'isolated',
      isolatedMargin: '50',
    }),
    position({ market: btcusd, size: '10', entryPrice: '10000' }),
  ])
  const prices = marks({ BTCUSDT: '9000', ETHUSDT: '510', BTCUSD: '9000' })

  it('one group per asset with a balance or a position, sorted by asset; isolated margin counts in equity, not in cross equity', () => {
    const risk = evaluateAccount(rules, trader, prices)
    expect(risk.groups.map((group) => group.asset)).toEqual(['BTC', 'ETH', 'USDT'])
    const usdt = risk.groups.find((group) => group.asset === 'USDT')!
    // Cross: 1000 + (900 − 1000) = 900. Isolated: 50 + (1000 − 1020) = 30.
    expect(show(usdt.crossEquity)).toBe('900')
    expect(show(usdt.equity)).toBe('930')
    expect(show(usdt.crossInitialMargin)).toBe('9')
    expect(show(usdt.crossMaintenanceMargin)).toBe('3.6')
    expect(show(usdt.maintenanceMargin)).toBe('8.7')
    expect(show(usdt.marginRatio)).toBe('0.00935483870967742')
  })

  it('MRG-013: withdrawable = cross equity − max(cross IM, value × floor rate), never below 0', () => {
    // USDT: 900 − max(9, 900 × 0.1 = 90) = 810.
    expect(show(withdrawableAmount(rules, trader, prices, 'USDT'))).toBe('810')
    // BTC: value 1,000 ÷ 9,000 = 0.111…; PnL 0.1 − 0.111… < 0; equity 0.0888… < floor 0.0111…? no: 0.0888… − 0.0111…2 = 0.0777…
    const btc = withdrawableAmount(rules, trader, prices, 'BTC')
    expect(formatFixed(btc, 8)).toBe('0.07777778')
    expect(show(withdrawableAmount(rules, trader, prices, 'DOGE'))).toBe('0')
    const poor = account({ USDT: '50' }, [
      position({ market: btcusdt, size: '0.1', entryPrice: '10000' }),
    ])
    expect(show(withdrawableAmount(rules, poor, prices, 'USDT'))).toBe('0')
  })

  it('MRG-014: a cross group is breached when cross equity falls below the cross requirement, and only if it holds a cross position', () => {
    const thin = account({ USDT: '-90' }, [
      position({ market: btcusdt, size: '0.1', entryPrice: '10000' }),
    ])
    const healthy = evaluateAccount(
      rules,
      thin,
      marks({ BTCUSDT: '10000', ETHUSDT: '500', BTCUSD: '10000' }),
    ).groups[0]!
    expect(show(healthy.crossEquity)).toBe('-90')
    expect(crossGroupBreached(healthy)).toBe(true)
    const empty = evaluateAccount(rules, account({ USDT: '-5' }, []), prices).groups[0]!
    expect(empty.marginRatio).toBeNull()
    expect(crossGroupBreached(empty)).toBe(false)
  })
})
