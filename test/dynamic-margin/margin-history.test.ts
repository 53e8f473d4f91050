/**
 * Which anti-procyclicality tool binds a margin history's rate (DYN-009) and the parameter
 * document of `lor margin-history` (DYN-010). Background: theory.md §3.1–§3.2, W14.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  applyBuffer,
  applyFloor,
  applyStressWeight,
  type DynamicMarginParams,
  marginHistory,
} from '../../src/core/dynamic-margin/apc.ts'
import { sizeScaledRate } from '../../src/core/dynamic-margin/ewma.ts'
import {
  horizonMultiplier,
  parseDuration,
  parseDynamicMarginParams,
} from '../../src/core/dynamic-margin/params.ts'
import { type Fixed, fixedOf, formatFixed, min, ONE } from '../../src/core/num/fixed.ts'

const f = fixedOf
/** Ten calm prices (±0.1 %), a 5 % drop (return 9), then ten calm prices. */
const calmCrashCalm = [
  ...Array.from({ length: 10 }, (_, index) => (index % 2 === 0 ? '100' : '100.1')),
  '95',
  ...Array.from({ length: 10 }, (_, index) => (index % 2 === 0 ? '95.1' : '95')),
].map(f)
const base: DynamicMarginParams = { ewma: { lambda: f('0.9') }, multiplier: f('3') }

describe('DYN-009: the binding tool of each step', () => {
  it('no tools: every step is bound by the model', () => {
    const points = marginHistory(calmCrashCalm, base)
    expect(
      points.every((point) => point.binding === 'model' && point.rate === point.modelRate),
    ).toBe(true)
  })

  it('W14 (a) buffer: 1.25 × the model in calm; a jump beyond the buffer is collected in full (binding: model)', () => {
    const points = marginHistory(calmCrashCalm, { ...base, buffer: f('0.25') })
    const first = points[0]
    expect(first?.binding).toBe('buffer')
    expect(first?.rate).toBe(applyBuffer(first?.modelRate ?? ONE, null, f('0.25'), f('0')))
    const crash = points[9]
    expect(crash?.binding).toBe('model')
    expect(crash?.rate).toBe(crash?.modelRate)
    // After the crash the model falls and the collected margin stays: the buffer binds again.
    expect(points[11]?.binding).toBe('buffer')
    expect((points[11]?.rate ?? 0n) > (points[11]?.modelRate ?? 0n)).toBe(true)
  })

  it('W14 (c) floor: after the crash the long look-back volatility holds the rate up (binding: floor)', () => {
    const points = marginHistory(calmCrashCalm, { ...base, floorLookback: 15 })
    const after = points.slice(12)
    expect(after.some((point) => point.binding === 'floor')).toBe(true)
    for (const point of after.filter((each) => each.binding === 'floor'))
      expect(point.rate).toBe(point.floorRate)
  })

  it('W14 (b) stress weight: 0.75 × model + 0.25 × the stressed rate (binding: stress_weight)', () => {
    const points = marginHistory(calmCrashCalm, { ...base, stressWeight: f('0.25') })
    const late = points.at(-1)
    expect(late?.binding).toBe('stress_weight')
    expect(late?.rate).toBe(
      applyStressWeight(late?.modelRate ?? ONE, late?.stressedRate ?? ONE, f('0.25')),
    )
    // Before the crash the stressed rate is the model's own peak: the weight changes little or nothing.
    expect(points[0]?.binding).toBe('model')
  })

  it('DYN-004 size premium: rate + factor × √size (0.001 × √400 = 0.02), capped at 1', () => {
    const points = marginHistory(calmCrashCalm, {
      ...base,
      sizeScaling: { size: f('400'), factor: f('0.001') },
    })
    for (const point of points) {
      expect(point.binding).toBe('size')
      expect(point.rate).toBe(sizeScaledRate(point.modelRate, f('400'), f('0.001')))
    }
    const capped = marginHistory(calmCrashCalm, {
      ...base,
      sizeScaling: { size: f('400'), factor: f('0.06') },
    })
    expect(capped[9]?.rate).toBe(ONE)
    expect(capped[9]?.changedBy).toEqual(['size', 'cap'])
  })

  it('cap: k × σ above 1 is held at 1 (binding: cap)', () => {
    const points = marginHistory(calmCrashCalm, { ...base, multiplier: f('100') })
    const crash = points[9]
    expect(crash?.rate).toBe(ONE)
    expect(crash?.binding).toBe('cap')
  })

  it('the marks never change the rates: each rate equals floor → stress weight → buffer → size recomputed from the primitives (property, seed 21)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: -400, max: 400 }), { minLength: 2, maxLength: 25 }),
        fc.boolean(),
        fc.boolean(),
        fc.boolean(),
        fc.boolean(),
        (moves, useFloor, useStress, useBuffer, useSize) => {
          let price = 10_000
          const prices: Fixed[] = [f('100')]
          for (const move of moves) {
            price = Math.max(1, price + move)
            prices.push(f((price / 100).toFixed(2)))
          }
          const params: DynamicMarginParams = {
            ewma: { lambda: f('0.9') },
            multiplier: f('4'),
            ...(useFloor ? { floorLookback: 5 } : {}),
            ...(useStress ? { stressWeight: f('0.25') } : {}),
            ...(useBuffer ? { buffer: f('0.25') } : {}),
            ...(useSize ? { sizeScaling: { size: f('100'), factor: f('0.002') } } : {}),
          }
          let collected: Fixed | null = null
          for (const point of marginHistory(prices, params)) {
            let rate = point.modelRate
            if (point.floorRate !== null) rate = applyFloor(rate, point.floorRate)
            if (useStress) rate = applyStressWeight(rate, point.stressedRate, f('0.25'))
            if (useBuffer) {
              collected = applyBuffer(rate, collected, f('0.25'), f('0'))
              rate = min(ONE, collected)
            }
            if (useSize) rate = sizeScaledRate(rate, f('100'), f('0.002'))
            expect(point.rate).toBe(rate)
            expect(point.binding).toBe(point.changedBy.at(-1) ?? 'model')
            if (point.binding === 'model') expect(point.rate - point.modelRate <= 2n).toBe(true)
            if (point.binding === 'floor') expect(point.rate).toBe(point.floorRate)
            if (point.binding === 'cap') expect(point.rate).toBe(ONE)
          }
        },
      ),
      { seed: 21, numRuns: 60 },
    )
  })
})

describe('DYN-010: parameter documents and defaults', () => {
  it('defaults: λ 0.94 (RiskMetrics), k = 2.33 × √(1 day of 1-minute returns), buffer 25 % (Art. 28(a))', () => {
    const parsed = parseDynamicMarginParams({}, 60_000)
    expect(parsed.ok).toBe(true)
    if (!parsed.ok) return
    expect(formatFixed(parsed.params.ewma.lambda)).toBe('0.94')
    // 2.33 × √1440 = 2.33 × 37.947331922020550… = 88.41728337830788…
    expect(formatFixed(parsed.params.multiplier, 12)).toBe('88.417283378308')
    expect(parsed.params.multiplier).toBe(horizonMultiplier(f('2.33'), 86_400_000, 60_000))
    expect(formatFixed(parsed.params.buffer ?? ONE)).toBe('0.25')
    expect(parsed.params.floorLookback).toBeUndefined()
    expect(parsed.params.stressWeight).toBeUndefined()
    expect(parsed.multiplierSource).toBe('2.33 × √(1440 returns)')
  })

  it('every field, and buffer "0" turns the buffer off', () => {
    const parsed = parseDynamicMarginParams(
      {
        lambda: '0.97',
        initialVariance: '0.000001',
        quantile: '2.576',
        horizon: '4h',
        floorLookback: 1440,
        stressWeight: '0.25',
        buffer: '0',
        sizeScaling: { size: '400', factor: '0.001' },
      },
      60_000,
    )
    expect(parsed.ok).toBe(true)
    if (!parsed.ok) return
    expect(parsed.params.buffer).toBeUndefined()
    expect(parsed.params.floorLookback).toBe(1440)
    expect(formatFixed(parsed.params.multiplier, 6)).toBe('39.907220') // 2.576 × √240 = 2.576 × 15.491933…
    expect(parsed.params.sizeScaling?.size).toBe(f('400'))
  })

  it.each([
    [{ lambda: '1' }, 'lambda', 'out_of_range'],
    [{ lambda: 0.9 }, 'lambda', 'not_a_decimal_string'],
    [{ buffer: '-0.1' }, 'buffer', 'out_of_range'],
    [{ stressWeight: '1.5' }, 'stressWeight', 'out_of_range'],
    [{ floorLookback: 0 }, 'floorLookback', 'not_a_count'],
    [{ horizon: '90s' }, 'horizon', 'horizon_off_interval'],
    [{ horizon: 'one day' }, 'horizon', 'not_a_duration'],
    [{ multiplier: '3', quantile: '2.33' }, 'multiplier', 'multiplier_and_quantile'],
    [{ sizeScaling: { size: '1' } }, 'sizeScaling.factor', 'missing'],
    [{ lamda: '0.9' }, 'lamda', 'unknown_field'],
  ])('%j → issue at %s (%s)', (document, path, code) => {
    const parsed = parseDynamicMarginParams(document, 60_000)
    expect(parsed.ok).toBe(false)
    if (parsed.ok) return
    expect(parsed.issues[0]).toMatchObject({ path, code })
  })

  it('durations', () => {
    expect(parseDuration('1d')).toBe(86_400_000)
    expect(parseDuration('30m')).toBe(1_800_000)
    expect(parseDuration('0h')).toBeUndefined()
    expect(parseDuration('1y')).toBeUndefined()
  })
})
