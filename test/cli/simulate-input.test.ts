/**
 * SIMRUN-001: a rule set the simulator cannot drive (no perpetual or future on the population's
 * underlying) is refused at the boundary with one line and exit code 2, never a stack trace;
 * coin-margined presets are simulated (SIMRUN-004).
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
