/** SIM-040..SIM-045: metrics on small tables, exact. */
import { fc, test } from '@fast-check/vitest'
import { describe, expect, it } from 'vitest'
import { type Fixed, fixedOf } from '../../src/core/num/fixed.ts'
import {
  cascadeAmplification,
  liquidationLadder,
  liquidationsAtRisk,
  lossGivenDefault,
  maxDrawdown,
  percentile,
  quantile,
  sortAscending,
} from '../../src/sim/metrics.ts'

const f = (values: string[]): Fixed[] => values.map(fixedOf)

describe('SIM-040 maximum drawdown', () => {
  it('finds the largest peak-to-later-trough fall', () => {
    const drawdown = maxDrawdown(f(['100', '120', '90', '110', '60', '130', '125']))
    expect(drawdown).toEqual({
      drawdown: fixedOf('60'),
      fraction: fixedOf('0.5'),
      peakIndex: 1,
      troughIndex: 4,
    })
  })

  it('is zero for a rising series', () => {
    expect(maxDrawdown(f(['1', '2', '3'])).drawdown).toBe(0n)
  })
})

describe('SIM-041 quantiles', () => {
  const data = f(['1', '2', '3', '4', '5', '6', '7', '8', '9', '10'])
  it('linear rule (type 7): p95 of 1..10 is 9.55, p50 is 5.5, p0 and p100 the extremes', () => {
    expect(quantile(data, percentile(95))).toBe(fixedOf('9.55'))
    expect(quantile(data, percentile(50))).toBe(fixedOf('5.5'))
    expect(quantile(data, percentile(0))).toBe(fixedOf('1'))
    expect(quantile(data, percentile(100))).toBe(fixedOf('10'))
  })

  it('nearest-rank rule (type 1): p95 of 1..10 is 10, p50 is 5', () => {
    expect(quantile(data, percentile(95), 'nearest_rank')).toBe(fixedOf('10'))
    expect(quantile(data, percentile(50), 'nearest_rank')).toBe(fixedOf('5'))
  })

  it('rounds an interpolated value half-even to the data unit', () => {
    // raw integers: h = 1 × 0.5 → 0 + 0.5 × 1 = 0.5 → 0 (even); 1 + 0.5 → 2 (even)
    expect(quantile([0n, 1n], percentile(50))).toBe(0n)
    expect(quantile([1n, 2n], percentile(50))).toBe(2n)
  })

  test.prop([
    fc.array(fc.bigInt({ min: -(10n ** 24n), max: 10n ** 24n }), { minLength: 1, maxLength: 50 }),
    fc.integer({ min: 0, max: 100 }),
  ])('a quantile lies between the minimum and maximum and is monotone in p', (values, percent) => {
    const sorted = sortAscending(values)
    const q = quantile(sorted, percentile(percent))
    expect(q >= sorted[0]! && q <= sorted.at(-1)!).toBe(true)
    if (percent < 100) expect(quantile(sorted, percentile(percent + 1)) >= q).toBe(true)
  })

  it('refuses unsorted data', () => {
    expect(() => quantile([2n, 1n], percentile(50))).toThrow(/sorted/)
  })
})

describe('SIM-042 loss given default', () => {
  it('summarizes per-default ratios and the pooled ratio', () => {
    const summary = lossGivenDefault([
      { exposure: fixedOf('1000'), loss: fixedOf('0') },
      { exposure: fixedOf('1000'), loss: fixedOf('100') },
      { exposure: fixedOf('2000'), loss: fixedOf('1000') },
    ])
    expect(summary.count).toBe(3)
    expect(summary.pooled).toBe(fixedOf('0.275'))
    expect(summary.mean).toBe(fixedOf('0.2'))
    expect(summary.median).toBe(fixedOf('0.1'))
    expect(summary.maximum).toBe(fixedOf('0.5'))
    expect(lossGivenDefault([]).median).toBeNull()
  })
})

describe('SIM-043 cascade amplification', () => {
  it('is the endogenous fall over the exogenous fall', () => {
    const result = cascadeAmplification(f(['100', '90', '80', '85']), f(['100', '88', '70', '84']))
    expect(result).toEqual({
      exogenousMove: fixedOf('20'),
      totalMove: fixedOf('30'),
      endogenousMove: fixedOf('10'),
      amplification: fixedOf('0.5'),
    })
    expect(cascadeAmplification(f(['100', '110']), f(['100', '110'])).amplification).toBeNull()
  })
})

describe('SIM-044/045 liquidations at risk', () => {
  it('LaR is the p95 of liquidated value across paths', () => {
    const perPath = f(['0', '10', '20', '30', '40', '50', '60', '70', '80', '90', '100'])
    expect(liquidationsAtRisk(perPath)).toBe(fixedOf('95'))
  })

  it('the ladder counts longs on falls and shorts on rises', () => {
    const positions = [
      { size: fixedOf('1'), liquidationPrice: fixedOf('95'), value: fixedOf('100') },
      { size: fixedOf('1'), liquidationPrice: fixedOf('80'), value: fixedOf('50') },
      { size: fixedOf('-1'), liquidationPrice: fixedOf('110'), value: fixedOf('70') },
    ]
    const ladder = liquidationLadder(positions, fixedOf('100'), f(['-0.05', '-0.2', '0.1']))
    expect(ladder.map((rung) => [rung.price, rung.value])).toEqual([
      [fixedOf('95'), fixedOf('100')],
      [fixedOf('80'), fixedOf('150')],
      [fixedOf('110'), fixedOf('70')],
    ])
  })
})
