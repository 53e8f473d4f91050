/**
 * Runs a parsed scenario through the engine (docs/scenarios.md, SCN-005..SCN-008): seeds the
 * accounts, executes the timeline with increasing sequence numbers, checks every `expect:` block
 * and each step's result, and reports the final state, the event log and the state hash.
 */
import { createHash } from 'node:crypto'
import {
  type CommandResult,
  createEngineState,
  type EngineEvent,
  type EngineState,
  encodeStateCanonical,
  entryPriceOfPosition,
  equityOf,
  execute,
  seedState,
} from '../core/engine/index.ts'
import { type Fixed, formatFixed, roundToDecimals, ZERO } from '../core/num/fixed.ts'
import type { RuleSet } from '../core/rules/rule-set.ts'
import { executeLiquidations } from './liquidation-execution.ts'
import type { ExpectedDecimal, Expectations, Scenario, ScenarioIssue } from './parse.ts'

/** One executed command step. */
export interface StepReport {
  readonly path: string
  readonly sequence: number | null
  readonly timestampMs: number
  readonly type: string
  readonly result: CommandResult
  readonly events: readonly EngineEvent[]
}

/** An expectation that did not hold. */
export interface CheckFailure {
  readonly path: string
  readonly expected: string
  readonly found: string
}

export interface ScenarioReport {
  readonly state: EngineState
  readonly steps: readonly StepReport[]
  readonly checksPassed: number
  readonly failures: readonly CheckFailure[]
  /** `sha256:` + hex SHA-256 of the canonical state. */
  readonly stateHash: string
}

/** SHA-256 of the state's canonical JSON, as `sha256:<hex>`. */
export function stateHashOf(state: EngineState): string {
  return `sha256:${createHash('sha256').update(encodeStateCanonical(state)).digest('hex')}`
}

function matches(expected: ExpectedDecimal, found: Fixed): boolean {
  if (expected.decimals === null) return found === expected.value
  return roundToDecimals(found, expected.decimals, 'half_even') === expected.value
}

class Checker {
  passed = 0
  readonly failures: CheckFailure[] = []

  decimal(path: string, expected: ExpectedDecimal, found: Fixed | null): void {
    if (found !== null && matches(expected, found)) this.passed += 1
    else
      this.failures.push({
        path,
        expected: expected.text,
        found: found === null ? 'none' : formatFixed(found),
      })
  }

  equal(path: string, expected: string, found: string): void {
    if (expected === found) this.passed += 1
    else this.failures.push({ path, expected, found })
  }
}

function checkExpectations(
  checker: Checker,
  state: EngineState,
  expectations: Expectations,
  eventCounts: ReadonlyMap<string, number>,
): void {
  const base = expectations.path
  for (const [id, expected] of expectations.accounts) {
    const path = `${base}.accounts.${id}`
    const account = state.accounts.get(id)
    if (account === undefined) {
      checker.equal(path, 'an account', 'none')
      continue
    }
    for (const [asset, value] of expected.balances)
      checker.decimal(`${path}.balances.${asset}`, value, account.balances.get(asset) ?? ZERO)
    for (const [asset, value] of expected.equity)
      checker.decimal(`${path}.equity.${asset}`, value, equityOf(state, id, asset))
    for (const [market, position] of expected.positions) {
      const found = account.positions.get(market)
      const positionPath = `${path}.positions.${market}`
      if (position.size !== undefined)
        checker.decimal(`${positionPath}.size`, position.size, found?.size ?? ZERO)
      if (position.entryPrice !== undefined)
        checker.decimal(
          `${positionPath}.entryPrice`,
          position.entryPrice,
          entryPriceOfPosition(state, id, market),
        )
      if (position.isolatedMargin !== undefined)
        checker.decimal(
          `${positionPath}.isolatedMargin`,
          position.isolatedMargin,
          found?.isolatedMargin ?? null,
        )
    }
  }
  for (const [asset, value] of expectations.insuranceFund)
    checker.decimal(
      `${base}.insuranceFund.${asset}`,
      value,
      state.insuranceFunds.get(asset) ?? ZERO,
    )
  for (const [fund, assets] of expectations.insurancePools)
    for (const [asset, value] of assets)
      checker.decimal(
        `${base}.insurancePools.${fund}.${asset}`,
        value,
        state.liquidation.fundPools.get(fund)?.get(asset) ?? ZERO,
      )
  for (const [asset, value] of expectations.feePool)
    checker.decimal(`${base}.feePool.${asset}`, value, state.feePools.get(asset) ?? ZERO)
  for (const [type, count] of expectations.events)
    checker.equal(`${base}.events.${type}`, String(count), String(eventCounts.get(type) ?? 0))
}

/** Checks what a scenario names against the rule set: markets of positions, lots and prices. */
export function checkScenarioAgainstRules(
  scenario: Scenario,
  rules: RuleSet,
): ScenarioIssue | null {
  for (const account of scenario.accounts) {
    for (const position of account.positions) {
      const path = `accounts.${account.id}.positions.${position.market}`
      const market = rules.markets.get(position.market)
      if (market === undefined)
        return {
          path,
          message: `market "${position.market}" is not in rule set ${rules.id} (markets: ${[...rules.markets.keys()].join(', ')})`,
        }
      if (position.size === 0n)
        return { path: `${path}.size`, message: 'is 0 (leave the position out instead)' }
      if (position.size % market.instrument.lotSize !== 0n)
        return {
          path: `${path}.size`,
          message: `"${formatFixed(position.size)}" is not a multiple of the lot size ${formatFixed(market.instrument.lotSize)}`,
        }
      if (position.entryPrice <= 0n)
        return { path: `${path}.entryPrice`, message: 'is not positive' }
      if (position.isolatedMargin < 0n)
        return { path: `${path}.isolatedMargin`, message: 'is negative' }
    }
    for (const [asset, amount] of account.balances) {
      if (amount < 0n)
        return { path: `accounts.${account.id}.balances.${asset}`, message: 'is negative' }
    }
  }
  return null
}

/** Runs `scenario` under `rules`. The caller has checked it with `checkScenarioAgainstRules`. */
export function runScenario(scenario: Scenario, rules: RuleSet): ScenarioReport {
  const state = createEngineState(rules)
  seedState(state, scenario.accounts, scenario.startMs)
  const checker = new Checker()
  const steps: StepReport[] = []
  const eventCounts = new Map<string, number>()
  let nowMs = scenario.startMs
  for (const step of scenario.timeline) {
    switch (step.kind) {
      case 'time':
        nowMs = step.atMs ?? nowMs + (step.advanceMs ?? 0)
        break
      case 'expect':
        checkExpectations(checker, state, step.expectations, eventCounts)
        break
      case 'command': {
        const sequence = state.lastSequence + 1
        const outcome = execute(state, step.command, { sequence, timestampMs: nowMs })
        for (const event of outcome.events)
          eventCounts.set(event.type, (eventCounts.get(event.type) ?? 0) + 1)
        checker.equal(`${step.path}.result`, step.expectedResult, outcome.result.status)
        steps.push({
          path: step.path,
          sequence: outcome.result.status === 'ok' ? sequence : null,
          timestampMs: nowMs,
          type: step.command.type,
          result: outcome.result,
          events: outcome.events,
        })
        if (scenario.liquidationExecution !== null)
          for (const auto of executeLiquidations(state, scenario.liquidationExecution, nowMs)) {
            for (const event of auto.events)
              eventCounts.set(event.type, (eventCounts.get(event.type) ?? 0) + 1)
            steps.push({ ...auto, path: `${step.path} (auto)` })
          }
        break
      }
    }
  }
  if (scenario.expect !== null) checkExpectations(checker, state, scenario.expect, eventCounts)
  return {
    state,
    steps,
    checksPassed: checker.passed,
    failures: checker.failures,
    stateHash: stateHashOf(state),
  }
}
