// SCN-006 for the waterfall examples: every examples/waterfall/<name>.yaml holds under `lor run`,
// and every preset of presets/ has one (the liquidation chain of docs/spec/liquidation.md, from a
// price shock to the final state); cme-style and eurex-style run the clearing-house default
// waterfall (SCN-020, docs/spec/default-waterfall.md).
import { spawnSync } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'

const root = join(import.meta.dirname, '..', '..')
const examples = readdirSync(join(root, 'examples', 'waterfall'))
  .filter((name) => /\.(ya?ml|json)$/.test(name))
  .sort()
const presets = readdirSync(join(root, 'presets'))
  .filter((name) => name.endsWith('.json'))
  .map((name) => name.replace(/\.json$/, ''))
  .sort()

describe('lor run examples/waterfall', () => {
  it('has one example per preset, and the CCP waterfall presets', () => {
    const names = examples.map((name) => name.replace(/\.ya?ml$/, ''))
    expect(names).toEqual(expect.arrayContaining([...presets, 'cme-style', 'eurex-style']))
  })

  it.each(examples)('SCN-006: examples/waterfall/%s holds (exit 0)', (name) => {
    const run = spawnSync(
      process.execPath,
      [
        '--import',
        'tsx',
        join(root, 'src/cli/main.ts'),
        'run',
        join('examples', 'waterfall', name),
      ],
      { cwd: root, encoding: 'utf8' },
    )
    expect(run.stdout).toMatch(/Checks: all \d+ passed/)
    const clearing = readFileSync(join(root, 'examples', 'waterfall', name), 'utf8').includes(
      'type: default_waterfall',
    )
    // liquidation chains name the rule set in their events; CCP examples print each tranche's draw
    expect(run.stdout).toMatch(clearing ? /Default waterfall timeline\[\d+\]/ : /ruleSetId=/)
    expect(run.status).toBe(0)
  })
})
