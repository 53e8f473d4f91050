// SCN-020 / SCN-021: the `default_waterfall` and `cover_stress` steps (docs/scenarios.md) run the
// planner of src/core/loss/default-waterfall.ts (WF-*) and check their expectations; bad input is
// an issue with its path, a failed expectation a difference with its path.
import { spawnSync } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { parseScenarioText } from '../../src/scenario/index.ts'

const root = join(import.meta.dirname, '..', '..')

function step(body: string): string {
  return `preset: bitmex\ntimeline:\n  - type: default_waterfall\n${body}`
}

describe('default_waterfall step parsing', () => {
  it.each([
    [
      step('    preset: lch-style\n    defaulters: [ { member: d, loss: "1" } ]\n'),
      'timeline[0].preset',
      '"lch-style" is not one of: cme-style, eurex-style',
    ],
    [
      step('    preset: cme-style\n    defaulters: [ { member: d, loss: "-1" } ]\n'),
      'timeline[0].defaulters[0].loss',
      'is negative',
    ],
    [step('    preset: cme-style\n'), 'timeline[0].defaulters', 'lists no defaulter'],
    [
      step(
        '    preset: cme-style\n    defaulters: [ { member: d, loss: "1" } ]\n    members: [ { member: a }, { member: a } ]\n',
      ),
      'timeline[0].members',
      'member "a" is listed twice',
    ],
    [
      step(
        '    preset: cme-style\n    defaulters: [ { member: d, loss: "1" } ]\n    capitalRemaining: { sitg: "1" }\n',
      ),
      'timeline[0].capitalRemaining.sitg',
      'is not a capital tranche of cme-style',
    ],
    [
      step(
        '    preset: eurex-style\n    defaulters: [ { member: d, loss: "1" } ]\n    expect: { drawn: "1" }\n',
      ),
      'timeline[0].expect.drawn',
      'unknown field',
    ],
  ])('%#: %s → %s', (text, path, message) => {
    const parsed = parseScenarioText(text)
    expect(parsed.ok).toBe(false)
    if (!parsed.ok) {
      expect(parsed.issue.path).toBe(path)
      expect(parsed.issue.message).toContain(message)
    }
  })

  it('expands `count` into numbered members with the same contribution', () => {
    const parsed = parseScenarioText(
      step(
        '    preset: cme-style\n    defaulters: [ { member: d, loss: "1" } ]\n    members: [ { member: m, count: "12", defaultFund: "5" } ]\n',
      ),
    )
    expect(parsed.ok).toBe(true)
    const first = parsed.ok ? parsed.scenario.timeline[0] : undefined
    expect(
      first?.kind === 'default_waterfall' && first.members.map((member) => member.memberId),
    ).toEqual(['m01', 'm02', 'm03', 'm04', 'm05', 'm06', 'm07', 'm08', 'm09', 'm10', 'm11', 'm12'])
  })
})

describe('lor run with clearing steps', () => {
  it('SCN-007: a draw that differs exits 1 and names the tranche; Cover 2 adequacy too (W6)', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'lor-clearing-')), 'ccp.yaml')
    writeFileSync(
      file,
      `preset: bitmex
timeline:
  - type: default_waterfall
    preset: cme-style
    defaulters: [ { member: d, loss: "150000000", margin: "30000000", defaultFund: "10000000" } ]
    members: [ { member: a, defaultFund: "20000000" }, { member: b, defaultFund: "20000000" } ]
    expect:
      tranches: { CME contribution: "100000000", non-defaulters guaranty fund: "20000000" }
      payers: { member_default_fund: { a: "5000000" } }
      uncovered: "0"
  - type: cover_stress
    defaultFund: "210"
    scenarios: [ { scenario: worst, losses: { A: "120", B: "90", C: "60", D: "10" } } ]
    expect: { cover2: "210", adequate: { cover2: "false" } }
`,
    )
    const run = spawnSync(
      process.execPath,
      ['--import', 'tsx', join(root, 'src/cli/main.ts'), 'run', file],
      { cwd: root, encoding: 'utf8' },
    )
    expect(run.status).toBe(1)
    // residual 150 − 30 − 10 = 110m: CME 100m, then 10m from the members' fund, 5m each
    expect(run.stdout).toContain(
      'timeline[0].expect.tranches.non-defaulters guaranty fund: expected 20000000, found 10000000',
    )
    expect(run.stdout).not.toContain('tranches.CME contribution')
    expect(run.stdout).not.toContain('payers.member_default_fund.a')
    // W6: Cover 2 = 210, and a fund of exactly 210 is adequate
    expect(run.stdout).toContain('timeline[1].expect.adequate.cover2: expected false, found true')
    expect(run.stdout).toContain('Checks: 2 failed, 4 passed')
  })
})
