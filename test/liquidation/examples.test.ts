// SCN-006 for the waterfall examples: every examples/waterfall/<preset>.yaml holds under `lor run`.
import { spawnSync } from 'node:child_process'
import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'

const root = join(import.meta.dirname, '..', '..')
const examples = readdirSync(join(root, 'examples', 'waterfall'))
  .filter((name) => /\.(ya?ml|json)$/.test(name))
  .sort()

describe('lor run examples/waterfall', () => {
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
    expect(run.stdout).toMatch(/ruleSetId=/)
    expect(run.status).toBe(0)
  })
})
