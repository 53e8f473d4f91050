/**
 * `lor rules` end to end (docs/portfolio-margin.md "Rule changes", RUL-D01..RUL-D06): the real
 * command line is spawned on the shipped Binance USDⓈ-M versions (2020 and 2021 bracket tables).
 */
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

const root = fileURLToPath(new URL('../../', import.meta.url))

function lor(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, ['bin/lor.js', 'rules', ...args], {
    cwd: root,
    encoding: 'utf8',
  })
  return { status: result.status, stdout: result.stdout, stderr: result.stderr }
}

function json<T>(...args: string[]): T {
  const result = lor(...args, '--json')
  expect(result.stderr).toBe('')
  expect(result.status).toBe(0)
  return JSON.parse(result.stdout) as T
}

interface Change {
  path: string
  kind: string
  category: string
  before?: unknown
  after?: unknown
}

describe('RUL-D01..RUL-D02: lor rules diff', () => {
  it('lists each changed parameter with path, old and new value (2020 → 2021 BTCUSDT brackets)', () => {
    const diff = json<{ changes: Change[] }>('diff', 'binance-usdm@2020-05-01', 'binance-usdm')
    // Binance 2020 table: level 5 is 5m–10m at 2.5 % with amount 141,300; the 2021 table moves it to 10m–20m, 266,300.
    expect(diff.changes).toContainEqual({
      path: 'markets.BTCUSDT.margin.tiers[4].maintenanceDeduction',
      kind: 'changed',
      category: 'parameter',
      before: '141300',
      after: '266300',
    })
    expect(diff.changes.every((change) => change.category === 'parameter')).toBe(true)
  })

  it('--all adds metadata changes (version, dates, sources)', () => {
    const diff = json<{ changes: Change[] }>(
      'diff',
      'binance-usdm@2020-05-01',
      'binance-usdm',
      '--all',
    )
    expect(diff.changes).toContainEqual({
      path: 'version',
      kind: 'changed',
      category: 'metadata',
      before: '2020-05-01',
      after: '2021-06-01',
    })
  })

  it('a rule set compared with itself has no changes; text names the versions', () => {
    expect(json<{ changes: Change[] }>('diff', 'okx', 'okx').changes).toEqual([])
    const text = lor('diff', 'binance-usdm@2020-05-01', 'binance-usdm')
    expect(text.stdout).toMatch(
      /^binance-usdm 2020-05-01 → binance-usdm 2021-06-01: \d+ parameter changes/,
    )
    expect(text.stdout).toContain(
      'markets.BTCUSDT.margin.tiers[4].maintenanceDeduction: 141300 → 266300',
    )
  })

  it('accepts rule-set files', () => {
    const diff = json<{ changes: Change[] }>('diff', 'presets/bitmex@2020-01-01.json', 'bitmex')
    expect(Array.isArray(diff.changes)).toBe(true)
  })
})

interface Impact {
  summary: Record<string, number | string>
  accounts: {
    accountId: string
    maintenanceMargin: { before: string; after: string; delta: string }
    liquidatable: { before: boolean; after: boolean }
    liquidationPrices: { market: string; before: string | null; after: string | null }[]
  }[]
}

describe('RUL-D03..RUL-D05: lor rules impact', () => {
  it('a 15m USDT BTC position moves from the 2020 bracket (10 %, amount 641,300) to the 2021 one (5 %, 266,300)', () => {
    // 1,000 BTC at 15,000 = 15,000,000 USDT: MM 15m × 0.10 − 641,300 = 858,700 → 15m × 0.05 − 266,300 = 483,700;
    // IM 15m × 0.20 = 3,000,000 → 15m × 0.10 = 1,500,000 (exchanges.md, Binance bracket tables of both versions).
    const impact = json<Impact>(
      'impact',
      '--from',
      'binance-usdm@2020-05-01',
      '--to',
      'binance-usdm',
      '--position',
      'BTCUSDT:1000@15000',
      '--mark',
      'BTCUSDT=15000',
      '--wallet',
      '200000',
    )
    expect(impact.summary).toMatchObject({
      accounts: 1,
      maintenanceMarginDown: 1,
      initialMarginDelta: '-1500000',
      maintenanceMarginDelta: '-375000',
    })
    const account = impact.accounts[0]
    expect(account?.maintenanceMargin).toEqual({
      before: '858700',
      after: '483700',
      delta: '-375000',
    })
    // Wallet 200,000 < 858,700: liquidatable under the 2020 table, still under 2021 (483,700).
    expect(account?.liquidatable).toEqual({ before: true, after: true })
    expect(account?.liquidationPrices[0]?.before).not.toBe(account?.liquidationPrices[0]?.after)
  })

  it('a generated population is deterministic for a seed and counts accounts that become liquidatable', () => {
    const args = [
      'impact',
      '--from',
      'binance-usdm@2020-05-01',
      '--to',
      'binance-usdm',
      '--population',
      '300',
      '--seed',
      '7',
      '--mark',
      'BTCUSDT=60000',
    ]
    const first = json<Impact>(...args)
    const second = json<Impact>(...args)
    expect(first).toEqual(second)
    expect(first.summary.accounts).toBe(300)
    expect(first.accounts).toHaveLength(300)
    const newly = first.accounts.filter(
      (account) => account.liquidatable.after && !account.liquidatable.before,
    ).length
    expect(first.summary.becomeLiquidatable).toBe(newly)
  })

  it.each([
    [
      [
        'impact',
        '--from',
        'binance-usdm',
        '--to',
        'nope',
        '--position',
        'BTCUSDT:1@100',
        '--mark',
        'BTCUSDT=100',
        '--wallet',
        '10',
      ],
    ],
    [
      [
        'impact',
        '--from',
        'binance-usdm',
        '--to',
        'okx',
        '--position',
        'BTCUSDT:1@100',
        '--mark',
        'BTCUSDT=100',
        '--wallet',
        '10',
      ],
    ],
    [
      [
        'impact',
        '--from',
        'binance-usdm',
        '--to',
        'binance-usdm',
        '--position',
        'BTCUSDT:1@abc',
        '--mark',
        'BTCUSDT=100',
        '--wallet',
        '10',
      ],
    ],
    [
      [
        'impact',
        '--from',
        'binance-usdm',
        '--to',
        'binance-usdm',
        '--population',
        'ten',
        '--mark',
        'BTCUSDT=100',
      ],
    ],
    [['impact', '--from', 'binance-usdm', '--to', 'binance-usdm']],
    [['diff', 'binance-usdm']],
  ])('RUL-D06: bad input %j → one error line, exit 2', (args) => {
    const result = lor(...args)
    expect(result.status).toBe(2)
    expect(result.stdout).toBe('')
    expect(result.stderr.trim().split('\n')).toHaveLength(1)
    expect(result.stderr).toMatch(/^lor: error: /)
  })

  it('lor rules list names every preset version', () => {
    const list = json<{ reference: string }[]>('list')
    expect(list.map((preset) => preset.reference)).toContain('binance-usdm@2020-05-01')
  })
})
