/**
 * SIM-010..SIM-015: price paths from Binance kline files and from models and shocks.
 * Real-data checks use the fixtures of theory.md §7.1 (Binance USDⓈ-M BTCUSDT 1-minute klines,
 * PROVENANCE.md beside them) when they are present next to the repository.
 */
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { fixedOf, formatFixed } from '../../src/core/num/fixed.ts'
import {
  klinesToPath,
  loadBinanceKlines,
  parseBinanceKlines,
} from '../../src/sim/paths/binance-klines.ts'
import { generatePath, type PathModel } from '../../src/sim/paths/models.ts'
import {
  logReturns,
  pathHash,
  pathMaximum,
  pathMinimum,
  priceOnTick,
} from '../../src/sim/paths/price-path.ts'
import {
  DEFAULT_SCENARIO_NAME,
  generateShockPath,
  namedShock,
  namedShockNames,
  parseShockSpec,
  type ShockSpec,
} from '../../src/sim/paths/shocks.ts'

const dataDirectory = fileURLToPath(
  new URL('../../../shared/data/binance-btcusdt-1m/', import.meta.url),
)
const header =
  'open_time,open,high,low,close,volume,close_time,quote_volume,count,taker_buy_volume,taker_buy_quote_volume,ignore'
// theory.md §7.1 verified rows (2020-03-13 02:16 UTC: the Black Thursday low of 3621.81).
const blackThursdayRow =
  '1584065760000,3712.75,3779.00,3621.81,3706.96,2513.902,1584065819999,9281429.50939,3370,1157.894,4284356.15530,0'

describe('SIM-011 Binance kline parser', () => {
  it('keeps every field exact (theory.md §7.1 row)', () => {
    const parsed = parseBinanceKlines(`${header}\n${blackThursdayRow}\n`)
    expect(parsed.ok).toBe(true)
    if (!parsed.ok) return
    const [kline] = parsed.value
    expect(kline?.openTimeMs).toBe(1584065760000)
    expect(kline?.low).toBe(fixedOf('3621.81'))
    expect(kline?.quoteVolume).toBe(fixedOf('9281429.50939'))
    expect(kline?.tradeCount).toBe(3370)
  })

  it('reports row and column of each bad field instead of skipping it', () => {
    const broken = blackThursdayRow.replace('3712.75', '3712,75').replace(',0\n', '')
    const badDecimal = blackThursdayRow.replace('3779.00', '3.7e3')
    const parsed = parseBinanceKlines(`${header}\n${broken}\n${badDecimal}\n`)
    expect(parsed.ok).toBe(false)
    if (parsed.ok) return
    expect(parsed.issues).toEqual([
      expect.objectContaining({ code: 'kline_column_count', path: 'line 2' }),
      expect.objectContaining({ code: 'kline_decimal_invalid', path: 'line 3, column high' }),
    ])
  })

  it('refuses gaps, inconsistent ranges and wrong close times', () => {
    const next = (openTimeMs: number, low = '3621.81'): string =>
      `${openTimeMs},3712.75,3779.00,${low},3706.96,1,${openTimeMs + 59_999},1,1,1,1,0`
    const gap = parseBinanceKlines([header, next(0), next(120_000)].join('\n'))
    expect(!gap.ok && gap.issues[0]?.code).toBe('kline_gap')
    const range = parseBinanceKlines([header, next(0, '3800.00')].join('\n'))
    expect(!range.ok && range.issues[0]?.code).toBe('kline_range_inconsistent')
    const closeTime = parseBinanceKlines(blackThursdayRow.replace('1584065819999', '1584065820000'))
    expect(!closeTime.ok && closeTime.issues[0]?.code).toBe('kline_close_time_mismatch')
  })
})

describe('SIM-012 intra-candle path', () => {
  const candle = (open: string, high: string, low: string, close: string) =>
    parseBinanceKlines(`0,${open},${high},${low},${close},1,59999,1,1,1,1,0`)

  it('walks a rising candle O → L → H → C and a falling one O → H → L → C', () => {
    for (const [close, expected] of [
      ['105', ['100', '90', '110', '105']],
      ['95', ['100', '110', '90', '95']],
    ] as const) {
      const parsed = candle('100', '110', '90', close)
      if (!parsed.ok) throw new Error('fixture')
      const path = klinesToPath(parsed.value, { name: 'one', subSteps: 3, tickSize: fixedOf('1') })
      if (!path.ok) throw new Error('path')
      expect(path.value.points.map((point) => formatFixed(point.price))).toEqual(expected)
      expect(path.value.points.map((point) => point.timeMs)).toEqual([0, 20_000, 40_000, 60_000])
    }
  })

  it('interpolates straight legs on the tick and never leaves [low, high], even with jitter', () => {
    const parsed = candle('100', '112', '88', '101')
    if (!parsed.ok) throw new Error('fixture')
    const straight = klinesToPath(parsed.value, {
      name: 's',
      subSteps: 12,
      tickSize: fixedOf('0.5'),
    })
    if (!straight.ok) throw new Error('path')
    // anchors at sub-steps 4 (low) and 8 (high): 100 → 88 in 4 steps is −3 a step
    expect(straight.value.points.slice(0, 5).map((point) => formatFixed(point.price))).toEqual([
      '100',
      '97',
      '94',
      '91',
      '88',
    ])
    const wiggled = klinesToPath(parsed.value, {
      name: 'w',
      subSteps: 12,
      tickSize: fixedOf('0.5'),
      jitter: 0.5,
      seed: 7,
    })
    const again = klinesToPath(parsed.value, {
      name: 'w',
      subSteps: 12,
      tickSize: fixedOf('0.5'),
      jitter: 0.5,
      seed: 7,
    })
    if (!wiggled.ok || !again.ok) throw new Error('path')
    expect(pathHash(wiggled.value)).toBe(pathHash(again.value))
    expect(pathHash(wiggled.value)).not.toBe(pathHash(straight.value))
    for (const point of wiggled.value.points) {
      expect(point.price >= fixedOf('88') && point.price <= fixedOf('112')).toBe(true)
    }
    expect(pathMinimum(wiggled.value)).toBe(fixedOf('88'))
    expect(pathMaximum(wiggled.value)).toBe(fixedOf('112'))
  })

  it('refuses two sub-steps (no room for both extremes)', () => {
    const parsed = candle('100', '110', '90', '95')
    if (!parsed.ok) throw new Error('fixture')
    const path = klinesToPath(parsed.value, { name: 'x', subSteps: 2 })
    expect(!path.ok && path.issues[0]?.code).toBe('sub_steps_invalid')
  })
})

const fixtures = [
  // file, rows, min low, max high (PROVENANCE.md "Windows")
  ['2020-03-12_13.csv', 2880, '3621.81', '7969'],
  ['2021-05-19.csv', 1440, '28688', '43615.93'],
  ['2022-05-12.csv', 1440, '26631', '30257'],
  ['2025-10-10_11.csv', 2880, '101516.5', '122497'],
] as const

describe.skipIf(!existsSync(dataDirectory))(
  'SIM-011 real fixtures (skipped: ../shared/data/binance-btcusdt-1m is not present)',
  () => {
    for (const [file, rows, lowest, highest] of fixtures) {
      it(`${file}: ${rows} rows, low ${lowest}, high ${highest} (PROVENANCE.md)`, () => {
        const loaded = loadBinanceKlines(`${dataDirectory}${file}`)
        if (!loaded.ok) throw new Error(JSON.stringify(loaded.issues.slice(0, 3)))
        expect(loaded.value).toHaveLength(rows)
        const path = klinesToPath(loaded.value, { name: file })
        if (!path.ok) throw new Error('path')
        expect(path.value.points).toHaveLength(rows + 1)
        expect(formatFixed(pathMinimum(path.value))).toBe(lowest)
        expect(formatFixed(pathMaximum(path.value))).toBe(highest)
        const walked = klinesToPath(loaded.value, { name: file, subSteps: 4 })
        if (!walked.ok) throw new Error('walked')
        expect(formatFixed(pathMinimum(walked.value))).toBe(lowest)
        expect(
          walked.value.points.filter((point) => point.price === pathMinimum(path.value)).length,
        ).toBeGreaterThan(0)
      })
    }

    it('flags the one 2022-05-12 price off the 0.10 grid as a warning and keeps it exact (PROVENANCE.md)', () => {
      const loaded = loadBinanceKlines(`${dataDirectory}2022-05-12.csv`)
      if (!loaded.ok) throw new Error('load')
      const path = klinesToPath(loaded.value, { name: 'luna', tickSize: fixedOf('0.1') })
      if (!path.ok) throw new Error('path')
      expect(path.warnings).toEqual([
        expect.objectContaining({ code: 'price_off_tick', path: 'klines[276].high' }),
      ])
      expect(loaded.value[276]?.high).toBe(fixedOf('27950.77'))
    })
  },
)

const grid = {
  startPrice: fixedOf('60000'),
  startTimeMs: 0,
  stepMs: 60_000,
  steps: 2000,
  tickSize: fixedOf('0.1'),
}
const models: PathModel[] = [
  { kind: 'geometric_brownian', drift: 0, volatility: 0.8 },
  {
    kind: 'jump_diffusion',
    drift: 0,
    volatility: 0.6,
    jumpIntensity: 200,
    jumpMean: -0.02,
    jumpVolatility: 0.03,
  },
  { kind: 'garch', drift: 0, longRunVolatility: 0.7, alpha: 0.1, beta: 0.85 },
]

describe('SIM-013 generated paths', () => {
  for (const model of models) {
    it(`${model.kind}: same (model, grid, seed) → same hash; another seed → another path; prices on the tick`, () => {
      const first = generatePath({ name: model.kind, model, seed: 42, ...grid })
      const second = generatePath({ name: model.kind, model, seed: 42, ...grid })
      const other = generatePath({ name: model.kind, model, seed: 43, ...grid })
      expect(pathHash(first)).toBe(pathHash(second))
      expect(pathHash(first)).not.toBe(pathHash(other))
      expect(first.points).toHaveLength(grid.steps + 1)
      expect(first.points[0]?.price).toBe(fixedOf('60000'))
      for (const point of first.points) expect(point.price % grid.tickSize).toBe(0n)
    })
  }

  it('GBM realized volatility is near its parameter (statistical sanity, 20,000 steps)', () => {
    const path = generatePath({
      name: 'g',
      model: { kind: 'geometric_brownian', drift: 0, volatility: 0.8 },
      seed: 3,
      ...grid,
      steps: 20_000,
    })
    const returns = logReturns(path)
    const variance = returns.reduce((sum, value) => sum + value * value, 0) / returns.length
    const annualized = Math.sqrt(variance * 365 * 24 * 60)
    expect(annualized).toBeGreaterThan(0.75)
    expect(annualized).toBeLessThan(0.85)
  })

  it('bootstrap draws only returns from its source, in blocks', () => {
    const source = generatePath({ name: 's', model: models[0]!, seed: 9, ...grid, steps: 300 })
    const returns = logReturns(source)
    const path = generatePath({
      name: 'b',
      model: { kind: 'bootstrap', returns, blockLength: 30, source: 's' },
      seed: 1,
      ...grid,
      steps: 600,
    })
    expect(path.points).toHaveLength(601)
    expect(path.source).toContain('block bootstrap of 300 returns')
  })

  it('rejects a non-stationary GARCH', () => {
    expect(() =>
      generatePath({
        name: 'x',
        model: { kind: 'garch', drift: 0, longRunVolatility: 0.5, alpha: 0.5, beta: 0.5 },
        seed: 1,
        ...grid,
      }),
    ).toThrow(/α \+ β < 1/)
  })

  it('rounds a model price half-even to the tick and never below one tick', () => {
    expect(priceOnTick(100.05, fixedOf('0.1'))).toBe(fixedOf('100'))
    expect(priceOnTick(100.15, fixedOf('0.1'))).toBe(fixedOf('100.2'))
    expect(priceOnTick(0.0001, fixedOf('0.1'))).toBe(fixedOf('0.1'))
  })
})

describe('SIM-014 shock shapes', () => {
  const noNoise = (name: string): ShockSpec => {
    const { noise: _noise, ...spec } = namedShock(name)!
    return spec
  }

  it('crash-50-20h-second-leg: −25 % first leg, plateau, then half the start 20 h after the first leg began', () => {
    const path = generateShockPath(noNoise('crash-50-20h-second-leg'))
    const at = (hours: number) => path.points[hours * 60]?.price
    expect(at(1)).toBe(fixedOf('60000'))
    expect(at(2)).toBe(fixedOf('45000'))
    expect(at(10)).toBe(fixedOf('45000'))
    expect(at(21)).toBe(fixedOf('30000'))
    expect(pathMinimum(path)).toBe(fixedOf('30000'))
    expect(path.points.at(-1)?.price).toBe(fixedOf('30000'))
  })

  it('flash-crash-15m: −20 % in 5 minutes, back to −5 % 10 minutes later', () => {
    const path = generateShockPath(noNoise('flash-crash-15m'))
    const at = (minutes: number) => path.points[minutes * 6]?.price
    expect(at(30)).toBe(fixedOf('60000'))
    expect(at(35)).toBe(fixedOf('48000'))
    expect(at(45)).toBe(fixedOf('57000'))
  })

  it(`${DEFAULT_SCENARIO_NAME}: 48 h of minutes from 60,000 with two crash legs`, () => {
    const trend = generateShockPath(noNoise(DEFAULT_SCENARIO_NAME))
    expect(trend.points).toHaveLength(48 * 60 + 1)
    expect(trend.points[16 * 60]?.price).toBe(fixedOf('39000'))
    expect(trend.points[24 * 60]?.price).toBe(fixedOf('43680'))
    expect(trend.points[32 * 60]?.price).toBe(fixedOf('34944'))
    const noisy = generateShockPath(namedShock(DEFAULT_SCENARIO_NAME)!)
    expect(pathHash(noisy)).toBe(pathHash(generateShockPath(namedShock(DEFAULT_SCENARIO_NAME)!)))
    expect(pathHash(noisy)).not.toBe(pathHash(trend))
  })

  it('every named shock generates a valid path', () => {
    for (const name of namedShockNames()) {
      const path = generateShockPath(namedShock(name)!)
      expect(path.points.length).toBeGreaterThan(100)
    }
    expect(namedShock('no-such-shock')).toBeUndefined()
    expect(namedShock('toString')).toBeUndefined()
  })
})

describe('SIM-015 shock specs from JSON', () => {
  it('parses a valid spec and reports each invalid field with its path', () => {
    const valid = parseShockSpec({
      name: 'x',
      startPrice: '100',
      tickSize: '0.5',
      stepMs: 1000,
      durationMs: 10_000,
      legs: [{ startMs: 0, durationMs: 0, move: -0.5, shape: 'step' }],
    })
    expect(valid.ok).toBe(true)
    if (valid.ok)
      expect(
        generateShockPath(valid.value).points.map((point) => formatFixed(point.price)),
      ).toEqual(Array(11).fill('50'))
    const invalid = parseShockSpec({
      name: '',
      startPrice: 100,
      tickSize: '0.5',
      stepMs: 0,
      durationMs: 1,
      legs: [{ startMs: 0, move: -1.5, shape: 'zigzag' }],
    })
    expect(invalid.ok).toBe(false)
    if (!invalid.ok) {
      expect(invalid.issues.map((entry) => entry.path)).toEqual([
        '$.name',
        '$.startPrice',
        '$.stepMs',
        '$.legs[0].move',
        '$.legs[0].shape',
      ])
    }
  })
})
