/**
 * SIMRUN-001: a rule set the simulator cannot drive (no perpetual or future on the population's
 * underlying) is refused at the boundary with one line and exit code 2, never a stack trace;
 * coin-margined presets are simulated (SIMRUN-004). SIM-025, SIMRUN-005: `--options FILE|default`
 * lists option series where the rule set can margin them and says so on a summary line; a file
 * that cannot be read, does not parse or holds a bad field is one error line and exit 2.
 */
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'

function lor(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const run = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], {
    encoding: 'utf8',
    timeout: 60_000,
  })
  return { status: run.status, stdout: run.stdout, stderr: run.stderr }
}

describe('SIMRUN-001 lor simulate refuses rule sets without a simulated market', () => {
  it('names the rule set and exits 2 when it has no market on BTC', () => {
    const directory = mkdtempSync(join(tmpdir(), 'lor-simulate-input-'))
    const document = JSON.parse(readFileSync('presets/deribit.json', 'utf8')) as {
      id: string
      markets: { baseAsset: string }[]
    }
    const ethOnly = {
      ...document,
      id: 'deribit-eth-only',
      markets: document.markets.filter((market) => market.baseAsset === 'ETH'),
    }
    const file = join(directory, 'deribit-eth-only.json')
    writeFileSync(file, JSON.stringify(ethOnly))
    const run = lor('simulate', '--rules', file, '--accounts', '10', '--no-journal', '--json')
    expect(run.status).toBe(2)
    expect(run.stdout).toBe('')
    const errorLines = run.stderr.split('\n').filter((line) => line.startsWith('lor: error:'))
    expect(errorLines).toEqual([
      `lor: error: ${file}: rule set deribit-eth-only lists no perpetual or future on BTC`,
    ])
    expect(run.stderr).not.toContain('    at ')
  })

  it('SIMRUN-004: simulates an inverse-only preset in its coin', () => {
    const directory = mkdtempSync(join(tmpdir(), 'lor-simulate-input-'))
    const run = lor(
      'simulate',
      '--preset',
      'bitmex',
      '--accounts',
      '10',
      '--no-journal',
      '--json',
      '--report',
      join(directory, 'report.html'),
    )
    expect(run.status).toBe(0)
    const output = JSON.parse(run.stdout) as {
      metrics: { ruleSetId: string; market: string; settlementAsset: string }[]
    }
    expect(
      output.metrics.map((entry) => [entry.ruleSetId, entry.market, entry.settlementAsset]),
    ).toEqual([['bitmex', 'XBTUSD', 'XBT']])
  })
})

describe('SIMRUN-005 lor simulate --options', () => {
  const directory = mkdtempSync(join(tmpdir(), 'lor-simulate-options-'))
  const simulate = (...args: string[]) =>
    lor(
      'simulate',
      '--preset',
      'deribit-pm,binance-usdm',
      '--model',
      'shock:flash-crash-15m',
      '--accounts',
      '30',
      '--no-journal',
      '--report',
      join(directory, 'report.html'),
      ...args,
    )

  it('lists the series in deribit-pm, leaves them out of binance-usdm and says so', () => {
    const file = join(directory, 'options.yaml')
    writeFileSync(file, 'usage: 1\nlotSize: "0.01"\nexpiryDays: [7]\n')
    const run = simulate('--options', file)
    expect(run.status).toBe(0)
    expect(run.stdout).toMatch(
      /^Options: deribit-pm lists \d+ series; binance-usdm leaves them out \(binance-usdm has no portfolio model over BTCUSDT to margin options\)\.$/m,
    )
  }, 120_000)

  const unknown = join(directory, 'unknown.json')
  writeFileSync(unknown, JSON.stringify({ usage: 0.5, smile: true }))
  const outOfRange = join(directory, 'out-of-range.yaml')
  writeFileSync(outOfRange, 'usage: 3\n')
  const broken = join(directory, 'broken.yaml')
  writeFileSync(broken, 'usage: [\n')
  const absent = join(directory, 'absent.yaml')
  it.each([
    ['an unknown field', unknown, `--options ${unknown}: $.smile: unknown field`],
    ['a value out of range', outOfRange, `--options ${outOfRange}: $.usage: usage is a number`],
    ['YAML that does not parse', broken, `--options ${broken}: `],
    ['a file that is not there', absent, `--options ${absent}: cannot read the file`],
  ])('%s: one error line naming the file, exit 2', (_what, file, start) => {
    const run = simulate('--options', file)
    expect(run.status).toBe(2)
    expect(run.stdout).toBe('')
    const errorLines = run.stderr.split('\n').filter((line) => line.startsWith('lor: error:'))
    expect(errorLines).toHaveLength(1)
    expect(errorLines[0]?.startsWith(`lor: error: ${start}`)).toBe(true)
    expect(run.stderr).not.toContain('    at ')
  })
})
