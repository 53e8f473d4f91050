/**
 * DYN-015..DYN-017: when dynamic margin re-sets the published rates. Hand examples on an hourly
 * series with one 10 % jump (λ 0.5, k 1, no buffer, so rate = σ), the floor and the step rule,
 * a property over random walks, and the validation of the schedule's document.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  type DynamicMarginParams,
  dynamicMarginSchedule,
  MARGIN_SCHEDULE_DEFAULTS,
  type MarginScheduleRules,
  parseDynamicMarginParams,
  parseMarginScheduleDocument,
} from '../../src/core/dynamic-margin/index.ts'
import { type Fixed, fixedOf, formatFixed, ONE } from '../../src/core/num/fixed.ts'

const f = fixedOf
const HOUR = 3_600_000

/** 100 for four hours, then 110: one return of ln 1.1 at 5 h, zeros around it. */
const prices = ['100', '100', '100', '100', '100', '110', '110', '110', '110'].map(f)
const times = prices.map((_, index) => index * HOUR)
/** rate = σ: σ²₀ 0.0001, then halved by each zero return; 2 h (the baseline): σ = 0.005. */
const params: DynamicMarginParams = {
  ewma: { lambda: f('0.5'), initialVariance: f('0.0001') },
  multiplier: ONE,
}
const schedule = (overrides: Partial<MarginScheduleRules> = {}): MarginScheduleRules => ({
  everyMs: HOUR,
  minimumChange: f('0.1'),
  minimumFactor: ONE,
  warmupMs: 2 * HOUR,
  ...overrides,
})
const shown = (resets: readonly { timeMs: number; factor: Fixed }[]) =>
  resets.map((reset) => [reset.timeMs / HOUR, formatFixed(reset.factor)])

describe('DYN-015: factor = rate ÷ the rate at the end of the warm-up, read every `every`', () => {
  it('re-sets after the jump and follows the rate down (hand example)', () => {
    // σ at 5 h = √(0.5 × 0.00000625 + 0.5 × (ln 1.1)²) = 0.0674176548…: ÷ 0.005 = 13.48353…;
    // then σ falls by √2 an hour: 9.53429…, 6.74176…, 4.76714…; rounded up to 4 decimals.
    const resets = dynamicMarginSchedule(prices, times, params, schedule())
    expect(shown(resets)).toEqual([
      [5, '13.4836'],
      [6, '9.5343'],
      [7, '6.7418'],
      [8, '4.7672'],
    ])
    expect(formatFixed(resets[0]?.rate ?? ONE, 10)).toBe('0.0674176549')
  })

  it('reads only at whole multiples of `every` after the warm-up', () => {
    const resets = dynamicMarginSchedule(prices, times, params, schedule({ everyMs: 2 * HOUR }))
    expect(shown(resets)).toEqual([
      [6, '9.5343'],
      [8, '4.7672'],
    ])
  })
})

describe('DYN-016: the floor and the step rule', () => {
  it('with minimumFactor 0.5 the factor follows the calm below the published rates', () => {
    // 3 h: σ 0.0035355… → 0.7072; 4 h: σ 0.0025 → 0.5 (the floor, exact).
    const resets = dynamicMarginSchedule(
      prices,
      times,
      params,
      schedule({ minimumFactor: f('0.5') }),
    )
    expect(shown(resets).slice(0, 3)).toEqual([
      [3, '0.7072'],
      [4, '0.5'],
      [5, '13.4836'],
    ])
  })

  it('with minimumFactor 1 (default) the calm leaves the published rates in force', () => {
    const resets = dynamicMarginSchedule(prices, times, params, schedule())
    expect(resets.every((reset) => reset.factor >= ONE)).toBe(true)
    expect(resets[0]?.timeMs).toBe(5 * HOUR)
  })

  it('no re-set moves the factor by less than minimumChange (0.4: 13.48 → 9.53 is 29 %, skipped)', () => {
    const resets = dynamicMarginSchedule(
      prices,
      times,
      params,
      schedule({ minimumChange: f('0.4') }),
    )
    expect(shown(resets)).toEqual([
      [5, '13.4836'],
      [7, '6.7418'],
    ])
  })

  it('no re-set on a series shorter than the warm-up or with a zero baseline rate', () => {
    expect(dynamicMarginSchedule(prices, times, params, schedule({ warmupMs: 9 * HOUR }))).toEqual(
      [],
    )
    const flat = prices.map(() => f('100'))
    const noVariance = { ...params, ewma: { lambda: f('0.5'), initialVariance: f('0') } }
    expect(dynamicMarginSchedule(flat, times, noVariance, schedule())).toEqual([])
    expect(dynamicMarginSchedule([], [], params, schedule())).toEqual([])
  })

  it('keeps the floor and the step rule on random walks (property, seed 16)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: -300, max: 300 }), { minLength: 2, maxLength: 60 }),
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 0, max: 5000 }),
        fc.integer({ min: 5000, max: 30000 }),
        (moves, everyHours, warmupHours, minimumChangeBp, minimumFactorBp) => {
          let price = 10_000
          const walk = [f(String(price))]
          for (const move of moves) {
            price = Math.max(1, price + move)
            walk.push(f(String(price)))
          }
          const rules = schedule({
            everyMs: everyHours * HOUR,
            warmupMs: warmupHours * HOUR,
            minimumChange: ((BigInt(minimumChangeBp) * ONE) / 10_000n) as Fixed,
            minimumFactor: ((BigInt(minimumFactorBp) * ONE) / 10_000n) as Fixed,
          })
          const resets = dynamicMarginSchedule(
            walk,
            walk.map((_, index) => index * HOUR),
            params,
            rules,
          )
          let inForce = ONE
          for (const reset of resets) {
            expect(reset.factor >= rules.minimumFactor).toBe(true)
            expect((reset.timeMs - rules.warmupMs) % rules.everyMs).toBe(0)
            expect(reset.timeMs >= rules.warmupMs).toBe(true)
            const change = reset.factor > inForce ? reset.factor - inForce : inForce - reset.factor
            expect(change * ONE >= rules.minimumChange * inForce && change > 0n).toBe(true)
            inForce = reset.factor
          }
          expect(resets.map((reset) => reset.timeMs)).toEqual(
            [...resets.map((reset) => reset.timeMs)].sort((a, b) => a - b),
          )
        },
      ),
      { seed: 16, numRuns: 150 },
    )
  })
})

describe('DYN-017: the schedule document', () => {
  it('takes the defaults: hourly, 10 % steps, never below the published rates, 4 h warm-up', () => {
    const parsed = parseMarginScheduleDocument({}, 60_000)
    const plain = parseDynamicMarginParams({}, 60_000)
    expect(parsed.ok && plain.ok).toBe(true)
    if (!parsed.ok || !plain.ok) return
    expect(parsed.schedule).toEqual(MARGIN_SCHEDULE_DEFAULTS)
    expect(MARGIN_SCHEDULE_DEFAULTS).toEqual({
      everyMs: HOUR,
      minimumChange: f('0.1'),
      minimumFactor: ONE,
      warmupMs: 4 * HOUR,
    })
    expect(parsed.params).toEqual(plain.params)
  })

  it('reads the schedule and passes the rest to the parameters (DYN-010)', () => {
    const parsed = parseMarginScheduleDocument(
      {
        every: '15m',
        minimumChange: '0.25',
        minimumFactor: '0.8',
        warmup: '1d',
        lambda: '0.97',
        buffer: '0',
      },
      60_000,
    )
    expect(parsed.ok).toBe(true)
    if (!parsed.ok) return
    expect(parsed.schedule).toEqual({
      everyMs: 15 * 60_000,
      minimumChange: f('0.25'),
      minimumFactor: f('0.8'),
      warmupMs: 24 * HOUR,
    })
    expect(parsed.params.ewma.lambda).toBe(f('0.97'))
    expect(parsed.params.buffer).toBeUndefined()
  })

  it.each([
    [{ every: '90s' }, 'every_off_interval', 'every'],
    [{ warmup: 'soon' }, 'not_a_duration', 'warmup'],
    [{ every: 60 }, 'not_a_duration', 'every'],
    [{ minimumChange: '-0.1' }, 'out_of_range', 'minimumChange'],
    [{ minimumFactor: '0' }, 'out_of_range', 'minimumFactor'],
    [{ minimumChange: 0.1 }, 'not_a_decimal_string', 'minimumChange'],
    [{ minimumFactor: '1,5' }, undefined, 'minimumFactor'],
    [{ lambda: '1' }, 'out_of_range', 'lambda'],
    [{ evry: '1h' }, 'unknown_field', 'evry'],
  ])('%j → an issue at its field', (document, code, path) => {
    const parsed = parseMarginScheduleDocument(document, 60_000)
    expect(parsed.ok).toBe(false)
    if (parsed.ok) return
    expect(parsed.issues[0]?.path).toBe(path)
    if (code !== undefined) expect(parsed.issues[0]?.code).toBe(code)
  })

  it('names the schedule fields among the known ones, and refuses a non-object', () => {
    const parsed = parseMarginScheduleDocument({ evry: '1h' }, 60_000)
    expect(parsed.ok ? '' : parsed.issues[0]?.message).toMatch(
      /known: lambda, .*sizeScaling, every, minimumChange, minimumFactor, warmup\)$/,
    )
    const list = parseMarginScheduleDocument(['every'], 60_000)
    expect(list.ok ? '' : list.issues[0]?.code).toBe('not_an_object')
  })
})
