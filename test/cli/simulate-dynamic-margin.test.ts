/**
 * SIMRUN-019, SIMRUN-020: `lor simulate --dynamic-margin FILE|default`. The re-sets are in the JSON
 * result and on a summary line; a file that cannot be read, does not parse or holds a bad field
 * gives one `lor: error:` line naming the file and exit code 2.
 */
import { spawnSync } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'

const directory = mkdtempSync(join(tmpdir(), 'lor-simulate-dynamic-margin-'))

function lor(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const run = spawnSync(
    process.execPath,
    [
      '--import',
      'tsx',
      'src/cli/main.ts',
      'simulate',
      '--preset',
      'binance-usdm',
      '--accounts',
      '30',
      '--no-journal',
      '--report',
      join(directory, 'report.html'),
      ...args,
    ],
    { encoding: 'utf8', timeout: 120_000 },
  )
  return { status: run.status, stdout: run.stdout, stderr: run.stderr }
}

function errorLines(stderr: string): string[] {
  return stderr.split('\n').filter((line) => line.startsWith('lor: error:'))
}

describe('SIMRUN-019 lor simulate --dynamic-margin', () => {
  it('"default" re-sets the rates and reports them in the JSON result', () => {
    const run = lor('--dynamic-margin', 'default', '--json')
    expect(run.status).toBe(0)
    const output = JSON.parse(run.stdout) as {
      result: { outcomes: { marginResets?: { timeMs: number; factor: string; rate: string }[] }[] }
    }
    const resets = output.result.outcomes[0]?.marginResets ?? []
    expect(resets.length).toBeGreaterThan(0)
    expect(resets.some((reset) => Number(reset.factor) > 1)).toBe(true)
  }, 120_000)

  it('reads a YAML file and prints a summary line with the peak factor', () => {
    const file = join(directory, 'hourly.yaml')
    writeFileSync(file, 'every: 30m\nminimumChange: "0.2"\nlambda: "0.97"\n')
    const run = lor('--dynamic-margin', file)
    expect(run.status).toBe(0)
    expect(run.stdout).toMatch(
      /^Dynamic margin: \d+ re-sets? of the margin rates \(the same for every rule set\), peak factor ×[\d.]+ at \d{4}-\d\d-\d\d \d\d:\d\d UTC \(APC rate [\d.]+\)\.$/m,
    )
  }, 120_000)
})

describe('SIMRUN-020 a bad --dynamic-margin file is one error line and exit 2', () => {
  const unknown = join(directory, 'unknown.json')
  writeFileSync(unknown, JSON.stringify({ every: '1h', speed: 'fast' }))
  const broken = join(directory, 'broken.yaml')
  writeFileSync(broken, 'every: [1h\n')
  const list = join(directory, 'list.json')
  writeFileSync(list, '["every"]')
  const offGrid = join(directory, 'off-grid.yaml')
  writeFileSync(offGrid, 'every: 90s\n')

  const absent = join(directory, 'absent.yaml')
  it.each([
    [
      'an unknown field',
      unknown,
      `--dynamic-margin ${unknown}: speed: unknown field (known: lambda,`,
    ],
    ['YAML that does not parse', broken, `--dynamic-margin ${broken}: `],
    ['a list', list, `--dynamic-margin ${list}: expected an object of parameters`],
    [
      'a re-set interval off the 1-minute path',
      offGrid,
      `--dynamic-margin ${offGrid}: every: must be a whole number of price intervals`,
    ],
    ['a missing file', absent, `--dynamic-margin ${absent}: cannot read the file`],
  ])(
    '%s',
    (_name, file, message) => {
      const run = lor('--dynamic-margin', file, '--json')
      expect(run.status).toBe(2)
      expect(run.stdout).toBe('')
      const lines = errorLines(run.stderr)
      expect(lines).toHaveLength(1)
      expect(lines[0]?.startsWith(`lor: error: ${message}`)).toBe(true)
      expect(run.stderr).not.toContain('    at ')
    },
    120_000,
  )
})
