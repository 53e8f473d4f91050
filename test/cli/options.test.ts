/**
 * Option markets of a rule set through the calculators (docs/spec/options.md, OPT-028): `lor margin`
 * values an option position with its implied volatility at a valuation time and itemises the rule
 * set's portfolio offsets; `lor rules impact` measures a rule change on a portfolio with options.
 */
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

const root = fileURLToPath(new URL('../../', import.meta.url))

function lor(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, ['bin/lor.js', ...args], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1' },
  })
  return { status: result.status, stdout: result.stdout, stderr: result.stderr }
}

const RULES = 'examples/rules/deribit-pm-btc-options.json'
const WIDER = 'test/cli/fixtures/deribit-pm-btc-options-wider-shock.json'
const PUT = 'BTC-27MAR26-60000-P'
const hedge = [
  '--position',
  'BTC-PERPETUAL:6000@60000',
  '--position',
  `${PUT}:1@0.0665`,
  '--mark',
  'BTC-PERPETUAL=60000',
  '--mark',
  `${PUT}=0.0665`,
]

describe('lor margin with option markets of the rule set (OPT-028)', () => {
  it('OPT-028: itemises the portfolio offset of a protective put', () => {
    const margin = [
      'margin',
      '--preset',
      RULES,
      '--wallet',
      '0.3',
      ...hedge,
      '--vol',
      `${PUT}=0.6`,
      '--at',
      '2026-02-27T08:00Z',
    ]
    const run = lor(...margin, '--json')
    expect(run.status).toBe(0)
    const report = JSON.parse(run.stdout) as {
      maintenanceMargin: string
      portfolio: { legsTotal: string; maintenanceMargin: string; offsets: { amount: string }[] }
    }
    expect(report.portfolio.maintenanceMargin).toBe(report.maintenanceMargin)
    // The same figures as the engine's evaluation (test/options/engine-options.test.ts, OPT-024).
    expect(Number(report.maintenanceMargin)).toBeLessThan(0.1111)
    expect(Number(report.portfolio.legsTotal)).toBeGreaterThan(Number(report.maintenanceMargin))
    expect(report.portfolio.offsets.length).toBeGreaterThan(0)
    const text = lor(...margin)
    expect(text.stdout).toContain(`portfolio margin (grid) of ${PUT}, BTC-PERPETUAL`)
    expect(text.stdout).toContain('scenario_netting')
  })

  it.each<[string, string[], RegExp]>([
    ['no volatility', ['--at', '2026-02-27T08:00Z'], /missing --vol BTC-27MAR26-60000-P=VOL/],
    ['no valuation time', ['--vol', `${PUT}=0.6`], /give --at TIME/],
  ])('OPT-028: an option position with %s is an input error (exit 2)', (_name, extra, message) => {
    const run = lor('margin', '--preset', RULES, '--wallet', '0.3', ...hedge, ...extra)
    expect(run.status).toBe(2)
    expect(run.stderr).toMatch(message)
  })
})

describe('lor rules impact on a portfolio with options (OPT-028)', () => {
  it('OPT-028: a wider volatility shock raises the requirement of a naked short put', () => {
    const run = lor(
      'rules',
      'impact',
      '--from',
      RULES,
      '--to',
      WIDER,
      '--wallet',
      '0.5',
      '--position',
      `${PUT}:-1@0.0665`,
      '--mark',
      'BTC-PERPETUAL=60000',
      '--mark',
      `${PUT}=0.0665`,
      '--vol',
      `${PUT}=0.6`,
      '--at',
      '2026-02-27T08:00Z',
      '--json',
    )
    expect(run.stderr.replace(/npm warn.*\n/g, '')).toBe('')
    expect(run.status).toBe(0)
    const report = JSON.parse(run.stdout) as {
      summary: { maintenanceMarginUp: number }
      accounts: { maintenanceMargin: { before: string; after: string } }[]
    }
    expect(report.summary.maintenanceMarginUp).toBe(1)
    const [account] = report.accounts
    expect(Number(account?.maintenanceMargin.after)).toBeGreaterThan(
      Number(account?.maintenanceMargin.before),
    )
  })
})
