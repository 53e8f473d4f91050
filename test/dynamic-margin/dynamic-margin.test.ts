import { existsSync } from 'node:fs'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  applyBuffer,
  applyFloor,
  applyStressWeight,
  marginHistory,
} from '../../src/core/dynamic-margin/apc.ts'
import {
  ewmaVolatilities,
  logReturns,
  marginRateFromVolatility,
  rootMeanSquare,
  sizeScaledRate,
  sqrtCeil,
} from '../../src/core/dynamic-margin/ewma.ts'
import { type Fixed, fixedOf, formatFixed } from '../../src/core/num/fixed.ts'
import { loadBinanceKlines } from '../../src/sim/paths/binance-klines.ts'

const f = fixedOf
const show = (value: Fixed, decimals?: number): string => formatFixed(value, decimals)

describe('DYN-001..DYN-004: EWMA volatility and margin rate', () => {
  it('DYN-001: log returns of 100 → 110 → 99', () => {
    // ln 1.1 = 0.0953101798043…, ln 0.9 = −0.1053605156578…
    expect(logReturns([f('100'), f('110'), f('99')]).map((value) => show(value, 12))).toEqual([
      '0.095310179804',
      '-0.105360515658',
    ])
  })

  it('DYN-002: σ² = λσ² + (1 − λ)r² by hand (RiskMetrics λ = 0.94)', () => {
    // r = 0.01, 0.02, −0.03 with σ²₀ = 0.0001: σ² 0.0001 → 0.000118 → 0.00016492
    const sigmas = ewmaVolatilities([f('0.01'), f('0.02'), f('-0.03')], {
      lambda: f('0.94'),
      initialVariance: f('0.0001'),
    })
    expect(sigmas.map((sigma) => show(sigma, 10))).toEqual([
      '0.0100000000',
      '0.0108627805',
      '0.0128421182',
    ])
  })

  it('DYN-003: rate = min(1, k × σ); DYN-004: size premium k√size', () => {
    expect(show(marginRateFromVolatility(f('0.02'), f('3')))).toBe('0.06')
    expect(show(marginRateFromVolatility(f('0.5'), f('3')))).toBe('1')
    expect(show(sizeScaledRate(f('0.05'), f('400'), f('0.001')))).toBe('0.07')
    expect(show(sqrtCeil(f('2')), 18)).toBe('1.414213562373095049')
  })

  it('DYN-002: EWMA volatility is never negative and reacts to a shock (property, seed 3)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: -500, max: 500 }), { minLength: 2, maxLength: 30 }),
        (basisPoints) => {
          const returns = basisPoints.map((value) => f((value / 10_000).toFixed(4)))
          const base = ewmaVolatilities(returns, { lambda: f('0.94') })
          const shocked = ewmaVolatilities([...returns, f('0.2')], { lambda: f('0.94') })
          expect(base.every((sigma) => sigma >= 0n)).toBe(true)
          expect((shocked.at(-1) ?? 0n) >= (base.at(-1) ?? 0n)).toBe(true)
        },
      ),
      { seed: 3, numRuns: 50 },
    )
  })
})

describe('DYN-005..DYN-007: anti-procyclicality tools (theory.md W14, EMIR RTS 153/2013 Art. 28)', () => {
  it('W14 (c) floor: model 100, 10-year margin 130 → 130', () => {
    expect(show(applyFloor(f('100'), f('130')))).toBe('130')
  })

  it('W14 (b) 25 % stress weight: 0.75 × 100 + 0.25 × 160 = 115', () => {
    expect(show(applyStressWeight(f('100'), f('160'), f('0.25')))).toBe('115')
  })

  it('W14 (a) 25 % buffer: 125 in calm; model 120 → still 125; model 150 → 150', () => {
    const calm = applyBuffer(f('100'), null, f('0.25'), f('0'))
    expect(show(calm)).toBe('125')
    const absorbed = applyBuffer(f('120'), calm, f('0.25'), f('0'))
    expect(show(absorbed)).toBe('125')
    expect(show(applyBuffer(f('150'), absorbed, f('0.25'), f('0')))).toBe('150')
    // Full rebuild restores 1.25 × M at once.
    expect(show(applyBuffer(f('100'), f('100'), f('0.25'), f('1')))).toBe('125')
  })

  it('DYN-007: the buffered margin is never below the model and never jumps more than it (property, seed 9)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 1000 }), { minLength: 2, maxLength: 40 }),
        (levels) => {
          let collected: Fixed | null = null
          let previousModel: Fixed | null = null
          for (const level of levels) {
            const model = f(String(level))
            const next = applyBuffer(model, collected, f('0.25'), f('0'))
            expect(next >= model).toBe(true)
            if (collected !== null && previousModel !== null) {
              const jump = next - collected
              const modelJump = model - previousModel
              expect(jump <= (modelJump > 0n ? modelJump : 0n)).toBe(true)
            }
            collected = next
            previousModel = model
          }
        },
      ),
      { seed: 9, numRuns: 100 },
    )
  })

  it('DYN-005: root mean square return', () => {
    expect(show(rootMeanSquare([f('0.03'), f('-0.04')]), 12)).toBe('0.035355339059')
  })
})

const crashFile = '/work/shared/data/binance-btcusdt-1m/2020-03-12_13.csv'

describe.skipIf(!existsSync(crashFile))(
  'DYN-008: margin history of BTCUSDT through 2020-03-12/13 (Binance 1-minute klines; skipped when the shared data set is absent)',
  () => {
    it('EWMA margin rises in the crash; the APC-buffered rate is never below it and jumps less', () => {
      const loaded = loadBinanceKlines(crashFile)
      expect(loaded.ok).toBe(true)
      if (!loaded.ok) return
      const closes = loaded.value.map((kline) => kline.close)
      // λ 0.97 per minute; k = 2.33 × √60: a one-hour 99 % move.
      const params = { ewma: { lambda: f('0.97') }, multiplier: f('18.05') }
      const model = marginHistory(closes, params)
      const apc = marginHistory(closes, { ...params, floorLookback: 1440, buffer: f('0.25') })
      expect(model).toHaveLength(closes.length - 1)
      const first = model.slice(0, 240).map((point) => point.rate)
      const peak = model.reduce((best, point) => (point.rate > best.rate ? point : best))
      const calm = first.reduce((a, b) => (a > b ? a : b))
      expect(peak.rate > calm * 2n).toBe(true)
      // The crash leg of 2020-03-12 (W13: −52.7 % over 20.5 h) is where the peak lies.
      const peakTime = loaded.value[peak.index + 1]?.openTimeMs ?? 0
      expect(peakTime).toBeGreaterThan(Date.UTC(2020, 2, 12, 0, 0))
      expect(peakTime).toBeLessThan(Date.UTC(2020, 2, 13, 12, 0))
      let largestModelJump = 0n
      let largestApcJump = 0n
      model.forEach((point, index) => {
        const apcPoint = apc[index]
        expect(apcPoint !== undefined && apcPoint.rate >= point.modelRate).toBe(true)
        if (index === 0 || apcPoint === undefined) return
        const modelJump = point.rate - (model[index - 1]?.rate ?? point.rate)
        const apcJump = apcPoint.rate - (apc[index - 1]?.rate ?? apcPoint.rate)
        if (modelJump > largestModelJump) largestModelJump = modelJump
        if (apcJump > largestApcJump) largestApcJump = apcJump
      })
      expect(largestApcJump <= largestModelJump).toBe(true)
    })
  },
)
