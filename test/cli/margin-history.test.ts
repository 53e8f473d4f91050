/**
 * `lor margin-history` end to end (docs/spec/dynamic-margin.md, DYN-011): the real command line is
 * spawned on a synthetic kline fixture (test/cli/fixtures/klines-synthetic.csv: 15 calm minutes,
 * a 4-minute crash of about −13 %, 16 calm minutes) and, when present, on the shared Binance file.
 */
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { marginHistory } from '../../src/core/dynamic-margin/apc.ts'
import { fixedOf, formatFixed } from '../../src/core/num/fixed.ts'
import { loadBinanceKlines } from '../../src/sim/paths/binance-klines.ts'

const root = fileURLToPath(new URL('../../', import.meta.url))
const fixture = 'test/cli/fixtures/klines-synthetic.csv'
const paramsFile = 'test/cli/fixtures/history-params.yaml'

function lor(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, ['bin/lor.js', 'margin-history', ...args], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1' },
  })
  return { status: result.status, stdout: result.stdout, stderr: result.stderr }
}

interface Row {
  readonly time: string
  readonly close: string
  readonly modelRate: string
  readonly floorRate: string | null
  readonly stressedRate: string
  readonly rate: string
  readonly binding: string
}

interface HistoryJson {
  readonly returns: number
  readonly parameters: Record<string, unknown>
  readonly summary: Record<string, unknown>
  readonly rows: Row[]
}

function json(...args: string[]): HistoryJson {
  const result = lor(...args, '--json')
  expect(result.stderr).toBe('')
  expect(result.status).toBe(0)
  return JSON.parse(result.stdout) as HistoryJson
}

describe('DYN-011: lor margin-history on a synthetic kline file', () => {
  it('every row is the core history of the closes, with the tools of the parameter file (EMIR Art. 28, W14)', () => {
    const report = json(fixture, '--params', paramsFile)
    const loaded = loadBinanceKlines(`${root}${fixture}`)
    if (!loaded.ok) throw new Error('fixture does not parse')
    const expected = marginHistory(
      loaded.value.map((kline) => kline.close),
      {
        ewma: { lambda: fixedOf('0.9') },
        multiplier: fixedOf('3'),
        floorLookback: 10,
        stressWeight: fixedOf('0.25'),
        buffer: fixedOf('0.25'),
        bufferRebuild: fixedOf('0'),
      },
    )
    expect(report.returns).toBe(34)
    expect(report.rows.map((row) => [row.rate, row.binding])).toEqual(
      expected.map((point) => [formatFixed(point.rate), point.binding]),
    )
    // Row i is the return that ends at the close of candle i + 1, stamped with that candle's end.
    expect(report.rows[0]?.time).toBe('2023-11-14T22:15:00Z')
    expect(report.rows[0]?.close).toBe('9999.99')
    // The crash minute (the first −3 % close) and the binding tools around it.
    const crash = report.rows.findIndex((row) => row.close === '9709.63')
    expect(crash).toBe(14)
    expect(report.rows[0]?.binding).toBe('buffer')
    // W14 (a): a jump beyond the buffer is collected in full: the model binds at the crash minute.
    expect(report.rows[crash]?.binding).toBe('model')
    // (The stress weight's blend of two equal rates rounds each part up: at most 2 × 10^-18 more.)
    const row = report.rows[crash]
    const excess = fixedOf(row?.rate ?? '0') - fixedOf(row?.modelRate ?? '0')
    expect(excess >= 0n && excess <= 2n).toBe(true)
    // Then the highest σ so far (the stressed rate) holds the rate above the falling model.
    expect(
      report.rows.slice(crash + 1, crash + 6).every((row) => row.binding === 'stress_weight'),
    ).toBe(true)
  })

  it('defaults: λ 0.94, k = 2.33 × √1440, 25 % buffer; flags override the parameter file', () => {
    const defaults = json(fixture)
    expect(defaults.parameters).toMatchObject({
      lambda: '0.94',
      multiplier: '88.417283378307886123',
      multiplierSource: '2.33 × √(1440 returns)',
      buffer: '0.25',
      floorLookback: null,
      stressWeight: null,
    })
    const overridden = json(fixture, '--params', paramsFile, '--lambda', '0.8', '--buffer', '0')
    expect(overridden.parameters).toMatchObject({ lambda: '0.8', multiplier: '3', buffer: null })
    const horizon = json(fixture, '--params', paramsFile, '--quantile', '2.33', '--horizon', '4m')
    expect(horizon.parameters.multiplier).toBe('4.66') // 2.33 × √4
  })

  it('--csv prints a header and one row per return; --every thins the rows', () => {
    const csv = lor(fixture, '--params', paramsFile, '--csv')
    expect(csv.status).toBe(0)
    const lines = csv.stdout.trim().split('\n')
    expect(lines[0]).toBe(
      'time,close,log_return,volatility,model_rate,floor_rate,stressed_rate,rate,binding',
    )
    expect(lines).toHaveLength(35)
    expect(lines[1]?.split(',')).toHaveLength(9)
    const thinned = lor(fixture, '--csv', '--every', '10')
    expect(thinned.stdout.trim().split('\n')).toHaveLength(5) // header + returns 0, 10, 20, 30
  })

  it('the text table names the binding tool of each row and summarises the history', () => {
    const text = lor(fixture, '--params', paramsFile, '--size', '400', '--size-factor', '0.001')
    expect(text.status).toBe(0)
    expect(text.stdout).toContain(
      'margin history of test/cli/fixtures/klines-synthetic.csv: 34 returns',
    )
    expect(text.stdout).toMatch(/peak rate 0\.\d+ at 2023-11-14T22:\d\d:00Z/)
    expect(text.stdout).toMatch(/binding: .*size \d+/)
    expect(text.stdout).toContain('binding')
    expect(text.stdout.includes('\u001b[')).toBe(false)
  })
})

describe('DYN-011: bad input: one line on stderr, exit code 2', () => {
  const directory = mkdtempSync(join(tmpdir(), 'lor-history-'))
  const broken = join(directory, 'broken.csv')
  writeFileSync(broken, '1700000000000,100,99,101,100,1,1700000059999,1,1,1,1,0\n')
  const single = join(directory, 'single.csv')
  writeFileSync(single, '1700000000000,100,101,99,100,1,1700000059999,1,1,1,1,0\n')
  const badParams = join(directory, 'params.yaml')
  writeFileSync(badParams, 'lambda: "1.5"\n')
  const cases: [string, string[], RegExp][] = [
    ['bad λ flag', [fixture, '--lambda', '1'], /--lambda 1: must lie strictly between 0 and 1/],
    [
      'bad parameter file',
      [fixture, '--params', badParams],
      /--params .*params.yaml: lambda: must lie/,
    ],
    [
      'missing parameter file',
      [fixture, '--params', 'nowhere.yaml'],
      /--params nowhere.yaml: cannot read/,
    ],
    ['inconsistent candle', [broken], /line 1: a candle has 0 < low/],
    ['one candle', [single], /at least two candles/],
    ['missing file', ['nowhere.csv'], /nowhere.csv/],
    ['size without factor', [fixture, '--size', '10'], /--size and --size-factor go together/],
    ['csv and json', [fixture, '--csv', '--json'], /either --csv or --json/],
    ['bad --every', [fixture, '--every', '0'], /--every 0: expected a whole number/],
    [
      'horizon off the interval',
      [fixture, '--horizon', '90s'],
      /--horizon 90s: must be a whole number of price intervals/,
    ],
    [
      'multiplier and quantile',
      [fixture, '--multiplier', '3', '--quantile', '2.33'],
      /give either multiplier or quantile/,
    ],
  ]
  it.each(cases)('%s', (_name, args, message) => {
    const result = lor(...args)
    expect(result.stdout).toBe('')
    expect(result.stderr).toMatch(/^lor: error: [^\n]+\n$/)
    expect(result.stderr).toMatch(message)
    expect(result.status).toBe(2)
  })
})

const crashFile = '../shared/data/binance-btcusdt-1m/2020-03-12_13.csv'

describe.skipIf(!existsSync(`${root}${crashFile}`))(
  'DYN-011: BTCUSDT 2020-03-12/13 (Binance 1-minute klines; skipped when the shared data set is absent)',
  () => {
    it('the rate peaks in the crash; with a 1-day floor and the 25 % buffer it is never below the model and rises no faster', () => {
      const report = json(
        crashFile,
        '--lambda',
        '0.97',
        '--floor-lookback',
        '1440',
        '--every',
        '10',
      )
      expect(report.returns).toBe(2879)
      const peak = String(report.summary.peakModelRateTime)
      // W13 (theory.md): the crash leg of 2020-03-12/13.
      expect(peak > '2020-03-12T06:00:00Z' && peak < '2020-03-13T12:00:00Z').toBe(true)
      for (const row of report.rows)
        expect(Number(row.rate)).toBeGreaterThanOrEqual(Number(row.modelRate))
      expect(Number(report.summary.largestRise)).toBeLessThanOrEqual(
        Number(report.summary.largestModelRise),
      )
      const binding = report.summary.binding as Record<string, number>
      expect(binding.buffer ?? 0).toBeGreaterThan(0)
      expect(Object.values(binding).reduce((a, b) => a + b, 0)).toBe(2879)
    })
  },
)
