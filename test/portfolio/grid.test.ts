import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { type Fixed, fixedOf, formatFixed } from '../../src/core/num/fixed.ts'
import {
  type GridRules,
  gridPortfolioMargin,
  volatilityShock,
} from '../../src/core/portfolio/grid.ts'
import type { PortfolioInstrument } from '../../src/core/portfolio/span.ts'

const f = fixedOf
const show = (value: Fixed, decimals?: number): string => formatFixed(value, decimals)

// theory.md §2.5 and W10: Deribit legacy portfolio margin (deribit.com/pages/docs/portfoliomargin):
// price move ±10 %, vol shock (30 / DTE)^0.30 × 38 %, 1 % contingency on offsetting futures,
// 0.01 BTC per net short option per strike.
const legacyDeribit: GridRules = {
  products: [{ id: 'BTC', contractSize: f('1') }],
  priceMoves: ['-0.1', '-0.075', '-0.05', '-0.025', '0', '0.025', '0.05', '0.075', '0.1'].map(f),
  volatilityShock: {
    base: f('0.38'),
    referenceDays: f('30'),
    exponent: f('0.3'),
    minimumDays: f('1'),
  },
  settlement: 'inverse',
  futuresCalendarContingency: f('0.01'),
  netShortOptionContingency: f('0.01'),
  initialMarginMultiplier: f('1.3'),
}

describe('PFM-021: days-to-expiry volatility shock (theory.md W10, Deribit legacy PM)', () => {
  it.each([
    ['30', '0.38'],
    ['15', '0.4678'],
    ['7', '0.588'],
    ['1', '1.0542'],
  ])('DTE %s → %s', (days, expected) => {
    expect(show(volatilityShock(legacyDeribit.volatilityShock, f(days)), 4)).toBe(
      Number(expected).toFixed(4),
    )
  })

  it('DTE below the minimum is taken as the minimum', () => {
    expect(volatilityShock(legacyDeribit.volatilityShock, f('0.2'))).toBe(
      volatilityShock(legacyDeribit.volatilityShock, f('1')),
    )
  })
})

describe('PFM-022..PFM-024: grid margin and contingencies (theory.md W10)', () => {
  const futureA: PortfolioInstrument = {
    kind: 'future',
    market: 'BTC-MAR',
    product: 'BTC',
    tier: 'MAR',
    price: f('60000'),
  }
  const futureB: PortfolioInstrument = {
    kind: 'future',
    market: 'BTC-JUN',
    product: 'BTC',
    tier: 'JUN',
    price: f('60000'),
  }
  const call: PortfolioInstrument = {
    kind: 'option',
    market: 'BTC-MAR-70000-C',
    product: 'BTC',
    tier: 'MAR',
    right: 'call',
    strike: f('70000'),
    underlyingPrice: f('60000'),
    timeToExpiryYears: f('0.082191780821917808'),
    volatility: f('0.6'),
    rate: f('0'),
  }
  const put: PortfolioInstrument = { ...call, market: 'BTC-MAR-70000-P', right: 'put' }

  it('futures calendar contingency: long 100 BTC of A, short 100 BTC of B → 1 BTC', () => {
    const result = gridPortfolioMargin(
      legacyDeribit,
      [futureA, futureB],
      [
        { market: 'BTC-MAR', size: f('100') },
        { market: 'BTC-JUN', size: f('-100') },
      ],
    )
    const product = result.products[0]
    expect(show(product?.futuresCalendarContingency ?? f('0'))).toBe('1')
    expect(show(product?.worstLoss ?? f('1'))).toBe('0')
    expect(show(result.maintenanceMargin)).toBe('1')
    expect(show(result.initialMargin)).toBe('1.3')
    // Alone each leg loses 100 × (1 − 1/0.9) or 100 × (1 − 1/1.1) BTC in its worst move.
    expect(result.maintenanceMargin < result.legsTotal).toBe(true)
    expect(result.offsets.map((item) => item.kind)).toEqual(['scenario_netting', 'contingency'])
  })

  it('net short options per strike: call +10, put −20 at one strike → 0.1 BTC', () => {
    const result = gridPortfolioMargin(
      legacyDeribit,
      [call, put],
      [
        { market: 'BTC-MAR-70000-C', size: f('10') },
        { market: 'BTC-MAR-70000-P', size: f('-20') },
      ],
    )
    expect(show(result.products[0]?.netShortOptionContingency ?? f('0'))).toBe('0.1')
  })

  it('a long future loses 1 − 1/0.9 BTC per BTC at −10 % (inverse P&L)', () => {
    const result = gridPortfolioMargin(
      legacyDeribit,
      [futureA],
      [{ market: 'BTC-MAR', size: f('1') }],
    )
    expect(show(result.maintenanceMargin, 12)).toBe('0.111111111111')
    expect(show(result.products[0]?.worstScenario?.priceMove ?? f('0'))).toBe('-0.1')
  })

  it('PFM-025: the grid margin of a portfolio never exceeds the sum of its legs (seed 17)', () => {
    const instruments = [futureA, futureB, call, put]
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(
            fc.constantFrom(0, 1, 2, 3),
            fc.integer({ min: -20, max: 20 }).filter((size) => size !== 0),
          ),
          { minLength: 1, maxLength: 4 },
        ),
        (picks) => {
          const sizes = new Map<string, number>()
          for (const [index, size] of picks) {
            const market = instruments[index]?.market ?? ''
            sizes.set(market, (sizes.get(market) ?? 0) + size)
          }
          const positions = [...sizes]
            .filter(([, size]) => size !== 0)
            .map(([market, size]) => ({ market, size: f(String(size)) }))
          const result = gridPortfolioMargin(legacyDeribit, instruments, positions)
          expect(result.maintenanceMargin <= result.legsTotal).toBe(true)
        },
      ),
      { seed: 17, numRuns: 25 },
    )
  })
})
