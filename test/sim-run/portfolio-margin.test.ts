/**
 * Portfolio margin in the simulator (PFM-046, docs/spec/portfolio-margin.md): the same people on
 * deribit and on deribit-pm (deribit with its legacy grid) through one shock. The grid asks about
 * 11 % of a naked future where the standard rates ask about 1 %, so more accounts are liquidated
 * under it; conservation holds and the run repeats per seed.
 */
import { describe, expect, it } from 'vitest'
import { runSeed } from '../../src/sim/run/monte-carlo.ts'
import { DEFAULT_SCENARIO_OPTIONS, type ScenarioOptions } from '../../src/sim/run/scenario.ts'

describe('PFM-046: a portfolio-margined preset in the simulator', () => {
  const scenario: ScenarioOptions = {
    ...DEFAULT_SCENARIO_OPTIONS,
    model: 'shock:flash-crash-15m',
    ruleSets: ['deribit', 'deribit-pm'],
    accounts: 120,
    insuranceFund: '1000',
  }

  it('liquidates on the grid requirement, conserves the coin and repeats per seed', () => {
    const run = (seed: number) => {
      const outcome = runSeed(scenario, seed, true)
      if (!outcome.ok) throw new Error(outcome.issues.map((entry) => entry.message).join('; '))
      if (outcome.value.run === undefined) throw new Error('full run expected')
      return outcome.value.run
    }
    const first = run(5)
    expect(run(5).resultHash).toBe(first.resultHash)
    const [standard, portfolio] = first.runs
    if (standard === undefined || portfolio === undefined) throw new Error('runs')
    for (const entry of first.runs)
      for (const asset of entry.diagnostics.conservation) expect(asset.held).toBe(asset.expected)
    expect(portfolio.metrics.liquidationCount).toBeGreaterThan(standard.metrics.liquidationCount)
  }, 300_000)
})
