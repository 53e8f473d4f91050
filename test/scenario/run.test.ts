// SCN-*: scenario files through `lor run`: every shipped example holds (exit 0), a broken
// expectation exits 1 with a diff, a malformed file exits 2 with one line naming the place.
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { parseScenarioText } from '../../src/scenario/index.ts'

const root = join(import.meta.dirname, '..', '..')
const examples = readdirSync(join(root, 'examples'))
  .filter((name) => /\.(ya?ml|json)$/.test(name))
  .sort()

function lor(...args: string[]) {
  return spawnSync(process.execPath, ['--import', 'tsx', join(root, 'src/cli/main.ts'), ...args], {
    cwd: root,
    encoding: 'utf8',
  })
}

function scenarioFile(text: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'lor-scenario-')), 'scenario.yaml')
  writeFileSync(file, text)
  return file
}

describe('lor run', () => {
  it('ships one example per preset', () => {
    expect(examples).toEqual(
      expect.arrayContaining([
        'binance-usdm.yaml',
        'binance-coinm.yaml',
        'bitmex.yaml',
        'bybit-linear.yaml',
        'bybit-inverse.yaml',
        'okx.yaml',
        'deribit.yaml',
        'hyperliquid.yaml',
        'dydx-v4.yaml',
      ]),
    )
  })

  it.each(examples)('SCN-006: examples/%s holds (exit 0)', (name) => {
    const run = lor('run', join('examples', name))
    expect(run.stderr.replace(/npm warn.*\n/g, '')).toBe('')
    expect(run.stdout).toMatch(/Checks: all \d+ passed/)
    expect(run.status).toBe(0)
  })

  it('SCN-007: an expectation that does not hold exits 1 and prints the difference', () => {
    const file = scenarioFile(`preset: bitmex
accounts: { alice: { balances: { XBT: "1" } } }
timeline:
  - { type: withdraw, account: alice, asset: XBT, amount: "2" }
expect:
  accounts: { alice: { balances: { XBT: "0.5" } } }
`)
    const run = lor('run', file)
    expect(run.status).toBe(1)
    expect(run.stdout).toContain('timeline[0].result: expected ok, found insufficient_balance')
    expect(run.stdout).toContain('expect.accounts.alice.balances.XBT: expected 0.5, found 1')
  })

  it('SCN-002: a malformed value exits 2 with one line naming its path', () => {
    const file = scenarioFile(`preset: bitmex
timeline:
  - { type: mark_price, market: XBTUSD, mark: "1000" }
  - { type: trade, account: alice, market: XBTUSD, size: "1", price: "abc" }
`)
    const run = lor('run', file)
    expect(run.status).toBe(2)
    expect(run.stdout).toBe('')
    expect(
      run.stderr
        .trim()
        .split('\n')
        .filter((line) => !line.startsWith('npm warn')),
    ).toEqual([`lor: error: ${file}: timeline[1].price: "abc" is not a decimal number`])
  })

  it('SCN-008: --json prints the steps, the state and its hash', () => {
    const run = lor('run', 'examples/deribit.yaml', '--json')
    expect(run.status).toBe(0)
    const report = JSON.parse(run.stdout)
    expect(report.stateHash).toMatch(/^sha256:[0-9a-f]{64}$/)
    expect(report.steps[0].events[0]).toMatchObject({ type: 'fill_applied', fee: '0.00025' })
    expect(report.state.feePools).toEqual({ BTC: '0.00025' })
    expect(report.checks.failed).toEqual([])
  })
})

describe('scenario parsing (SCN-001..SCN-004)', () => {
  it.each([
    ['preset: x\ntimeline:\n  - { type: jump }\n', 'timeline[0].type', '"jump" is not one of'],
    [
      'preset: x\ntimeline:\n  - { type: trade, account: a, market: M, size: "1", prcie: "1" }\n',
      'timeline[0].prcie',
      'unknown field',
    ],
    [
      'preset: x\naccounts: { a: { balances: { USDT: "1e3" } } }\n',
      'accounts.a.balances.USDT',
      '"1e3" is not a decimal number',
    ],
    [
      'preset: x\ntimeline:\n  - { type: time, advance: "soon" }\n',
      'timeline[0].advance',
      'is not a duration',
    ],
    ['accounts: {}\n', 'preset', 'is missing'],
    [
      'preset: x\nexpect: { events: { fill_applied: many } }\n',
      'expect.events.fill_applied',
      'is not a whole number',
    ],
  ])('%j → %s', (text, path, message) => {
    const parsed = parseScenarioText(text)
    expect(parsed.ok).toBe(false)
    if (!parsed.ok) {
      expect(parsed.issue.path).toBe(path)
      expect(parsed.issue.message).toContain(message)
    }
  })

  it('keeps decimals exactly as written (no floats), in YAML and JSON', () => {
    const parsed = parseScenarioText(
      '{"preset": "x", "accounts": {"a": {"balances": {"USDT": 0.123456789012345678}}}}',
    )
    expect(parsed.ok && parsed.scenario.accounts[0]!.balances.get('USDT')).toBe(123456789012345678n)
  })
})
