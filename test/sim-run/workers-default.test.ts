// SIMRUN-055: with one seed, `lor simulate` runs the rule sets on worker threads from 10,000
// accounts, one worker per rule set, at most two per core (threads sharing the cores balance
// rule sets of unequal length).
import { availableParallelism } from 'node:os'
import { describe, expect, it } from 'vitest'
import { optionsFromFlags } from '../../src/cli/simulate.ts'

const flags = {
  preset: [] as string[],
  rules: [] as string[],
  accounts: '100000',
  seed: '1',
  seeds: '1',
  report: 'reports/simulation.html',
}

describe('SIMRUN-055: default worker threads of one seed', () => {
  const cores = availableParallelism()
  it('the three default presets at 100,000 accounts: one worker each, at most two per core', () => {
    expect(optionsFromFlags(flags).workers).toBe(Math.min(3, 2 * cores))
  })
  it('every preset: at most two workers per core', () => {
    const all = optionsFromFlags({ ...flags, preset: ['all'] })
    expect(all.workers).toBe(Math.min(all.options.ruleSets.length, 2 * cores))
  })
  it('below 10,000 accounts, or one rule set: the main thread', () => {
    expect(optionsFromFlags({ ...flags, accounts: '9999' }).workers).toBe(0)
    expect(optionsFromFlags({ ...flags, preset: ['hyperliquid'] }).workers).toBe(0)
  })
  it('several seeds: one worker per seed, at most one per core', () => {
    expect(optionsFromFlags({ ...flags, seeds: '8' }).workers).toBe(Math.min(8, cores))
  })
  it('--workers decides', () => {
    expect(optionsFromFlags({ ...flags, workers: '1' }).workers).toBe(1)
  })
})
