/**
 * SIMRUN-001: a rule set the simulator cannot drive is refused at the boundary with one line and
 * exit code 2, never a stack trace (simulated populations hold linear positions, so a preset needs
 * a linear market of the population's base asset).
 */
import { spawnSync } from 'node:child_process'
import { describe, expect, it } from 'vitest'

function lor(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const run = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], {
    encoding: 'utf8',
    timeout: 60_000,
  })
  return { status: run.status, stdout: run.stdout, stderr: run.stderr }
}

describe('SIMRUN-001 lor simulate refuses rule sets without a simulated market', () => {
  it('names the preset and exits 2 for an inverse-only preset', () => {
    const run = lor('simulate', '--preset', 'bitmex', '--accounts', '10', '--no-journal', '--json')
    expect(run.status).toBe(2)
    expect(run.stdout).toBe('')
    const errorLines = run.stderr.split('\n').filter((line) => line.startsWith('lor: error:'))
    expect(errorLines).toEqual([
      'lor: error: bitmex: rule set bitmex lists no linear BTC market (simulated populations are linear)',
    ])
    expect(run.stderr).not.toContain('    at ')
  })
})
