/**
 * `lor margin` end to end (docs/presets.md, CLI-001..CLI-006): the real command line is spawned,
 * published worked examples are reproduced, and bad input gives one error line and exit code 2.
 */
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

const root = fileURLToPath(new URL('../../', import.meta.url))

function lor(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, ['bin/lor.js', 'margin', ...args], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1' },
  })
  return { status: result.status, stdout: result.stdout, stderr: result.stderr }
}

type PositionJson = Record<string, string | null>

interface ReportJson {
  readonly preset: Record<string, string>
  readonly positions: PositionJson[]
  readonly [key: string]: unknown
}

function json(...args: string[]): ReportJson {
  const result = lor(...args, '--json')
  expect(result.stderr).toBe('')
  expect(result.status).toBe(0)
  return JSON.parse(result.stdout) as ReportJson
}

function positionOf(report: ReportJson, market?: string): PositionJson {
  const found = report.positions.find(
    (position) => market === undefined || position.market === market,
  )
  if (found === undefined) throw new Error(`no position ${market ?? ''} in the report`)
  return found
}

// exchanges.md §11 BN-01, Binance USDⓈ-M liquidation price FAQ: cross account, short 0.005 BTCUSDT
// @ 9,451.53 (mark 9,462.81) and long 1 ETHUSDT @ 199.53 (mark 200), wallet 10.72 USDT.
const bn01 = [
  '--wallet',
  '10.72',
  '--position',
  'BTCUSDT:-0.005@9451.53',
  '--position',
  'ETHUSDT:1@199.53',
  '--mark',
  'BTCUSDT=9462.81',
  '--mark',
  'ETHUSDT=200',
]

describe('CLI-001 lor margin --json reproduces published examples', () => {
  it('BN-01: BTCUSDT liquidation price 11,383.99 USDT (binance-usdm)', () => {
    const report = json('--preset', 'binance-usdm', ...bn01)
    const btc = positionOf(report, 'BTCUSDT')
    expect(btc.liquidationPrice).toBe('11383.99')
    expect(btc.liquidationPriceExact?.startsWith('11383.994')).toBe(true)
    // The ETH leg as the FAQ states it: TMM1 = 200 × 1 × 0.65% = 1.3, UPNL1 = 0.47.
    const eth = positionOf(report, 'ETHUSDT')
    expect(eth.maintenanceMargin).toBe('1.3')
    expect(eth.unrealizedPnl).toBe('0.47')
  })

  it('BN-01 under the 2020 version of the preset gives the same price', () => {
    const report = json('--preset', 'binance-usdm@2020-05-01', ...bn01)
    expect(report.preset).toEqual({
      id: 'binance-usdm',
      version: '2020-05-01',
      effectiveDate: '2020-05-01',
    })
    expect(positionOf(report).liquidationPrice).toBe('11383.99')
  })

  it('CLI-002: the JSON object has the documented shape, every number a decimal string', () => {
    const report = json('--preset', 'binance-usdm', ...bn01)
    expect(Object.keys(report)).toEqual(
      expect.arrayContaining([
        'preset',
        'equity',
        'initialMargin',
        'maintenanceMargin',
        'marginRatio',
        'positions',
      ]),
    )
    for (const key of ['equity', 'initialMargin', 'maintenanceMargin', 'marginRatio']) {
      expect(report[key]).toMatch(/^-?\d+(\.\d+)?$/)
    }
    // equity = 10.72 + (−0.0564) + 0.47
    expect(report.equity).toBe('11.1336')
    expect(report.positions).toHaveLength(2)
    for (const position of report.positions) {
      for (const key of [
        'market',
        'size',
        'entryPrice',
        'markPrice',
        'notional',
        'unrealizedPnl',
        'initialMargin',
        'maintenanceMargin',
        'liquidationPrice',
        'liquidationPriceExact',
        'bankruptcyPrice',
      ]) {
        expect(position).toHaveProperty(key)
        if (key !== 'market' && position[key] !== null)
          expect(position[key]).toMatch(/^-?\d+(\.\d+)?$/)
      }
    }
  })

  it('BY-01 (exchanges.md §11, Bybit USDT liquidation price): isolated long 1 BTC @ 20,000 at 50x → 19,700', () => {
    const report = json(
      '--preset',
      'bybit-linear',
      '--wallet',
      '0',
      '--position',
      'BTCUSDT:1@20000',
      '--mark',
      'BTCUSDT=20000',
      '--isolated',
      'BTCUSDT=400',
      '--leverage',
      'BTCUSDT=50',
    )
    const position = positionOf(report)
    expect(position.initialMargin).toBe('400')
    expect(position.maintenanceMargin).toBe('100')
    expect(position.liquidationPrice).toBe('19700')
    // BY-03 form: bankruptcy = EP × (1 − 1/leverage) = 19,600.
    expect(position.bankruptcyPrice).toBe('19600')
  })

  it('W7/BN-09 (theory.md): isolated long 1 BTC @ 10,000 with 1,000 margin → 9,036.14…', () => {
    const report = json(
      '--preset',
      'binance-usdm',
      '--wallet',
      '0',
      '--position',
      'BTCUSDT:1@10000',
      '--mark',
      'BTCUSDT=10000',
      '--isolated',
      'BTCUSDT=1000',
    )
    expect(positionOf(report).liquidationPriceExact?.startsWith('9036.14')).toBe(true)
  })
})

describe('CLI-003 flat rates and added markets', () => {
  it('--mmr/--imr replace a market’s ladder with one tier', () => {
    const report = json(
      '--preset',
      'binance-usdm',
      ...bn01,
      '--mmr',
      'ETHUSDT=0.01',
      '--imr',
      'ETHUSDT=0.02',
    )
    const eth = positionOf(report, 'ETHUSDT')
    expect(eth.maintenanceMargin).toBe('2')
    expect(eth.initialMargin).toBe('4')
  })

  it('an unknown market with --mmr and --imr is added as a linear market in the settlement asset', () => {
    const report = json(
      '--preset',
      'binance-usdm',
      '--wallet',
      '100',
      '--position',
      'SOLUSDT:10@20',
      '--mark',
      'SOLUSDT=21',
      '--mmr',
      'SOLUSDT=0.01',
      '--imr',
      'SOLUSDT=0.05',
    )
    expect(positionOf(report)).toMatchObject({
      market: 'SOLUSDT',
      settlementAsset: 'USDT',
      notional: '210',
      unrealizedPnl: '10',
      maintenanceMargin: '2.1',
    })
  })

  it('--set overrides any rule-set field', () => {
    const report = json(
      '--preset',
      'binance-usdm',
      ...bn01,
      '--set',
      'markets.ETHUSDT.margin.tiers.0.maintenanceRate=0.01',
    )
    const eth = positionOf(report, 'ETHUSDT')
    expect(eth.maintenanceMargin).toBe('2')
  })
})

describe('CLI-004 the table output', () => {
  it('prints the figures without colour codes', () => {
    const result = lor('--preset', 'binance-usdm', ...bn01)
    expect(result.status).toBe(0)
    expect(result.stderr).toBe('')
    expect(result.stdout).toContain('11383.99')
    expect(result.stdout).toContain('binance-usdm 2021-06-01')
    expect(result.stdout.includes('\u001b[')).toBe(false)
  })
})

describe('CLI-005 bad input: one line on stderr, exit code 2, nothing on stdout', () => {
  const base = ['--preset', 'binance-usdm', '--wallet', '10.72']
  const cases: [string, string[], RegExp][] = [
    [
      'malformed position',
      [...base, '--position', 'BTCUSDT:-0.005', '--mark', 'BTCUSDT=1'],
      /--position BTCUSDT:-0.005: expected MARKET:SIZE@ENTRY/,
    ],
    ['unknown preset', ['--preset', 'nowhere', '--wallet', '1'], /unknown preset "nowhere"/],
    [
      'unknown preset version',
      ['--preset', 'binance-usdm@1999-01-01', '--wallet', '1'],
      /no version "1999-01-01"/,
    ],
    [
      'negative mark price',
      [...base, '--position', 'BTCUSDT:1@100', '--mark', 'BTCUSDT=-5'],
      /--mark BTCUSDT=-5: -5 must be greater than 0/,
    ],
    [
      'negative entry price',
      [...base, '--position', 'BTCUSDT:1@-100', '--mark', 'BTCUSDT=5'],
      /entry price: -100 must be greater than 0/,
    ],
    [
      'non-numeric size',
      [...base, '--position', 'BTCUSDT:abc@100', '--mark', 'BTCUSDT=5'],
      /size: "abc" is not a decimal/,
    ],
    ['non-numeric wallet', ['--preset', 'binance-usdm', '--wallet', '1e3'], /--wallet 1e3/],
    ['missing mark', [...base, '--position', 'BTCUSDT:1@100'], /missing --mark BTCUSDT=PRICE/],
    [
      'unknown market',
      [...base, '--position', 'XRPUSDT:1@1', '--mark', 'XRPUSDT=1'],
      /unknown market "XRPUSDT".*--mmr and --imr/,
    ],
    [
      'zero size',
      [...base, '--position', 'BTCUSDT:0@100', '--mark', 'BTCUSDT=5'],
      /size must not be 0/,
    ],
    [
      'size off the lot grid',
      [...base, '--position', 'BTCUSDT:0.0001@100', '--mark', 'BTCUSDT=5'],
      /not a multiple of the lot size 0.001/,
    ],
    [
      'leverage above the maximum',
      [...base, '--position', 'BTCUSDT:1@100', '--mark', 'BTCUSDT=5', '--leverage', 'BTCUSDT=200'],
      /--leverage BTCUSDT=200/,
    ],
    [
      'maintenance above initial',
      [
        ...base,
        '--position',
        'BTCUSDT:1@100',
        '--mark',
        'BTCUSDT=5',
        '--mmr',
        'BTCUSDT=0.5',
        '--imr',
        'BTCUSDT=0.1',
      ],
      /initial rate 0.1 is below the maintenance rate 0.5/,
    ],
    [
      'invalid --set',
      [...base, '--set', 'markets.BTCUSDT.tickSize=0'],
      /markets\[0\]\.tickSize: tickSize must be greater than 0/,
    ],
    ['unknown option', [...base, '--colour'], /unknown option '--colour'/],
    ['missing wallet', ['--preset', 'binance-usdm'], /--wallet/],
    ['missing rules', ['--wallet', '1'], /give --preset/],
    ['missing rule file', ['--rules', '/no/such/rules.yaml', '--wallet', '1'], /no such file/],
  ]

  it.each(cases)('%s', (_name, args, message) => {
    const result = lor(...args)
    expect(result.status).toBe(2)
    expect(result.stdout).toBe('')
    expect(result.stderr).toMatch(/^lor: error: [^\n]+\n$/)
    expect(result.stderr).toMatch(message)
  })
})
