/** SIM-030..SIM-034: square-root impact of forced orders with exponential recovery (theory.md §4.4). */
import { fc, test } from '@fast-check/vitest'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { fixedOf } from '../../src/core/num/fixed.ts'
import {
  createImpactModel,
  impactInputsFromKlines,
  type ImpactParams,
  squareRootImpact,
} from '../../src/sim/impact.ts'
import { loadBinanceKlines } from '../../src/sim/paths/binance-klines.ts'

const params: ImpactParams = {
  impactCoefficient: 1,
  volatility: 0.04,
  volume: 20e9,
  halfLifeSteps: 30,
}

describe('SIM-030 square-root law', () => {
  it('moves the price by Y σ sqrt(Q/V): selling 1 % of daily volume at σ = 4 % gives −0.4 %', () => {
    expect(squareRootImpact(params, -0.01 * 20e9)).toBeCloseTo(-0.004, 15)
    expect(squareRootImpact(params, 0)).toBe(0)
  })

  test.prop([fc.double({ min: 1, max: 1e12, noNaN: true })])(
    'doubling Q multiplies the impact by √2; sign follows the flow',
    (flow) => {
      expect(squareRootImpact(params, 2 * flow) / squareRootImpact(params, flow)).toBeCloseTo(
        Math.SQRT2,
        12,
      )
      expect(squareRootImpact(params, -flow)).toBe(-squareRootImpact(params, flow))
    },
  )

  it('scales linearly with Y and σ', () => {
    expect(squareRootImpact({ ...params, impactCoefficient: 0.5 }, -1e8)).toBeCloseTo(
      squareRootImpact(params, -1e8) / 2,
      15,
    )
    expect(squareRootImpact({ ...params, volatility: 0.08 }, -1e8)).toBeCloseTo(
      squareRootImpact(params, -1e8) * 2,
      15,
    )
  })
})

describe('SIM-031 aggregation within a step and recovery', () => {
  it('zero flow → no shift, at any step', () => {
    const model = createImpactModel(params)
    expect(model.applyForcedFlow(5, 0)).toBe(0)
    expect(model.currentShift(100)).toBe(0)
    expect(model.impactedPrice(fixedOf('60000'), 100, fixedOf('0.1'))).toBe(fixedOf('60000'))
  })

  test.prop([
    fc.array(fc.double({ min: -1e9, max: -1, noNaN: true }), { minLength: 1, maxLength: 8 }),
  ])('splitting a step’s flow into several orders gives the impact of the sum', (flows) => {
    const model = createImpactModel(params)
    const changes = flows.map((flow) => model.applyForcedFlow(3, flow))
    const whole = squareRootImpact(
      params,
      flows.reduce((sum, flow) => sum + flow, 0),
    )
    expect(model.currentShift(3)).toBeCloseTo(whole, 12)
    expect(changes.reduce((sum, change) => sum + change, 0)).toBeCloseTo(whole, 12)
  })

  it('recovers halfway after one half-life and to a quarter after two', () => {
    const model = createImpactModel(params)
    model.applyForcedFlow(10, -1e9)
    const shift = model.currentShift(10)
    expect(shift).toBeLessThan(0)
    expect(model.currentShift(40)).toBeCloseTo(shift / 2, 15)
    expect(model.currentShift(70)).toBeCloseTo(shift / 4, 15)
  })

  it('adds decayed earlier impact to new impact, and keeps a trace per step', () => {
    const model = createImpactModel(params)
    model.applyForcedFlow(0, -4e8)
    model.applyForcedFlow(30, -4e8)
    expect(model.currentShift(30)).toBeCloseTo(1.5 * squareRootImpact(params, -4e8), 15)
    expect(model.trace().map((entry) => entry.stepIndex)).toEqual([0, 30])
  })

  it('keeps permanent impact with an infinite half-life', () => {
    const model = createImpactModel({ ...params, halfLifeSteps: Number.POSITIVE_INFINITY })
    model.applyForcedFlow(0, -1e9)
    expect(model.currentShift(10_000)).toBe(model.currentShift(0))
  })

  it('refuses going back in time and invalid parameters', () => {
    const model = createImpactModel(params)
    model.applyForcedFlow(5, -1)
    expect(() => model.applyForcedFlow(4, -1)).toThrow(/never go back/)
    expect(() => createImpactModel({ ...params, volume: 0 })).toThrow(/V > 0/)
  })

  it('moves the exogenous price by the shift, on the tick', () => {
    const model = createImpactModel({ ...params, volatility: 0.05, volume: 1e10 })
    model.applyForcedFlow(0, -1e8) // impact −0.05 × sqrt(0.01) = −0.5 %
    expect(model.impactedPrice(fixedOf('60000'), 0, fixedOf('0.1'))).toBe(fixedOf('59700'))
  })
})

const dataFile = fileURLToPath(
  new URL('../../../shared/data/binance-btcusdt-1m/2025-10-10_11.csv', import.meta.url),
)

describe.skipIf(!existsSync(dataFile))(
  'SIM-034 calibration from candles (skipped: fixture not present)',
  () => {
    it('estimates a daily σ and volume of the right order from 2025-10-10/11 (theory.md §6)', () => {
      const klines = loadBinanceKlines(dataFile)
      if (!klines.ok) throw new Error('load')
      const inputs = impactInputsFromKlines(klines.value)
      expect(inputs.volatility).toBeGreaterThan(0.01)
      expect(inputs.volatility).toBeLessThan(0.2)
      expect(inputs.volume).toBeGreaterThan(1e9)
    })
  },
)
