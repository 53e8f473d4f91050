// ADL-030: a position whose margin scope has no positive equity at the mark is not deleveraged.
// Found by `lor simulate --preset hyperliquid --accounts 20000` on the 2025-10-10 window: an
// isolated short under water at the mark was ranked (eligibility all_opposite) and closing it
// against a bankrupt long would have left its isolated margin below zero (LIQ-031 crash).
import { describe, expect, it } from 'vitest'
import { seedState } from '../../src/core/engine/index.ts'
import { Driver, d, ofType, preset } from './helpers.ts'

describe('ADL-030: bankrupt positions are not ADL candidates', () => {
  it('a takeover deleverages the short in profit, not the isolated short under water', () => {
    const driver = new Driver(preset('hyperliquid'))
    const position = (market: string, size: string, entry: string) => ({
      market,
      size: d(size),
      entryPrice: d(entry),
      marginMode: 'cross' as const,
      leverage: null,
      isolatedMargin: d('0'),
    })
    seedState(
      driver.state,
      [
        // Long 1 BTC from 100,000 on 3,000 USDC: bankrupt below 97,000.
        {
          id: 'alice',
          balances: new Map([['USDC', d('3000')]]),
          positions: [position('BTC', '1', '100000')],
        },
        // Short 1 BTC from 80,000 with 2,000 of isolated margin: under water above 82,000.
        {
          id: 'bob',
          balances: new Map([['USDC', d('0')]]),
          positions: [
            {
              ...position('BTC', '-1', '80000'),
              marginMode: 'isolated',
              isolatedMargin: d('2000'),
            },
          ],
        },
        // Short 1 BTC from 100,000, well funded: in profit when the price falls.
        {
          id: 'carol',
          balances: new Map([['USDC', d('50000')]]),
          positions: [position('BTC', '-1', '100000')],
        },
        {
          id: 'dave',
          balances: new Map([['USDC', d('1000000')]]),
          positions: [position('BTC', '1', '80000')],
        },
      ],
      0,
    )
    driver.timestampMs = 1000
    const marked = driver.run({ type: 'mark_price', market: 'BTC', mark: d('90000') })
    const orders = ofType(marked, 'liquidation_order_placed')
    const aliceOrder = orders.find((event) => event.account === 'alice')
    expect(aliceOrder).toBeDefined()
    if (aliceOrder === undefined) return
    const events = driver.run({ type: 'liquidation_takeover', orderId: aliceOrder.orderId })
    const deleveraged = ofType(events, 'adl_deleveraged').map((event) => event.account)
    expect(deleveraged).toContain('carol')
    expect(deleveraged).not.toContain('bob')
    // Nobody deleveraged ends below zero.
    expect(driver.balance('carol', 'USDC') >= 0n).toBe(true)
  })
})
