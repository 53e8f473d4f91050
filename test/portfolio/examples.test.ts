/**
 * The worked examples of docs/portfolio-margin.md run end to end through `lor portfolio` (PFM-012):
 * each hedged portfolio needs less than its legs, and every offset is itemised.
 */
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

const root = fileURLToPath(new URL('../../', import.meta.url))

function lor(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, ['bin/lor.js', ...args], {
    cwd: root,
    encoding: 'utf8',
  })
  return { status: result.status, stdout: result.stdout, stderr: result.stderr }
}

interface Report {
  readonly requirement: string
  readonly legsTotal: string
  readonly reduction: string
  readonly offsets: { kind: string; product: string; amount: string }[]
}

function report(file: string): Report {
  const result = lor('portfolio', file, '--json')
  expect(result.stderr).toBe('')
  expect(result.status).toBe(0)
  return JSON.parse(result.stdout) as Report
}

const sumOf = (values: readonly string[]): number =>
  values.reduce((total, value) => total + Number(value), 0)

describe('PFM-012: documented portfolio examples', () => {
  it.each([
    ['examples/portfolio/future-with-protective-put.yaml', ['scenario_netting']],
    ['examples/portfolio/calendar-spread.yaml', ['scenario_netting', 'intra_spread_charge']],
    ['examples/portfolio/btc-eth-spread.yaml', ['inter_spread_credit', 'inter_spread_credit']],
    ['examples/portfolio/deribit-grid.yaml', ['scenario_netting', 'contingency']],
  ])('%s: requirement below the legs, offsets itemised', (file, kinds) => {
    const result = report(file)
    expect(Number(result.requirement)).toBeLessThan(Number(result.legsTotal))
    expect(result.offsets.map((item) => item.kind)).toEqual(kinds)
    expect(sumOf([result.legsTotal, ...result.offsets.map((item) => item.amount)])).toBeCloseTo(
      Number(result.requirement),
      9,
    )
  })

  it('BTC vs ETH: legs 19,530, credit 4,725 + 5,040, requirement 9,765', () => {
    const result = report('examples/portfolio/btc-eth-spread.yaml')
    expect([result.legsTotal, result.requirement]).toEqual(['19530', '9765'])
    expect(result.offsets.map((item) => item.amount)).toEqual(['-4725', '-5040'])
  })

  it('text output names each offset', () => {
    const result = lor('portfolio', 'examples/portfolio/calendar-spread.yaml')
    expect(result.status).toBe(0)
    expect(result.stdout).toContain('requirement 2250')
    expect(result.stdout).toContain('intra_spread_charge BTC: calendar spread MAR/JUN')
  })

  it('a malformed file: one error line, exit 2', () => {
    const result = lor('portfolio', 'test/portfolio/no-such-file.yaml')
    expect(result.status).toBe(2)
    expect(result.stdout).toBe('')
    expect(result.stderr.trim().split('\n')).toHaveLength(1)
    expect(result.stderr).toMatch(/^lor: error: /)
  })
})
