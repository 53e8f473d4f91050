/**
 * Runs a parsed scenario through the engine (docs/scenarios.md, SCN-005..SCN-008): seeds the
 * accounts, executes the timeline with increasing sequence numbers, checks every `expect:` block
 * and each step's result, and reports the final state, the event log and the state hash.
 */
import { assert } from '../core/assert.ts'
import {
  type Command,
  type CommandResult,
  createEngineState,
  type EngineEvent,
  type EngineState,
  entryPriceOfPosition,
  equityOf,
  execute,
  seedState,
} from '../core/engine/index.ts'
import {
  type CoverReport,
  coverStress,
  planDefaultWaterfall,
  type WaterfallPlan,
} from '../core/loss/default-waterfall.ts'
import { add, type Fixed, formatFixed, roundToDecimals, ZERO } from '../core/num/fixed.ts'
import type { RuleSet } from '../core/rules/rule-set.ts'
import { stateHashOf as journalStateHashOf } from '../journal/state-hasher.ts'
import { executeLiquidations } from './liquidation-execution.ts'
import type {
  CoverStressStep,
  DefaultWaterfallStep,
  ExpectedDecimal,
  Expectations,
  Scenario,
  ScenarioIssue,
} from './parse.ts'

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

/** A clearing-house step (SCN-020, SCN-021): what it computed. */
export type ClearingReport =
  | { readonly kind: 'default_waterfall'; readonly path: string; readonly plan: WaterfallPlan }
  | { readonly kind: 'cover_stress'; readonly path: string; readonly cover: CoverReport }

/** Called after each executed command, automatic ones included, in order. */
export type CommandObserver = (step: StepReport, command: Command) => void

export interface RunScenarioOptions {
  /**
   * `state` (default): seed balances and positions directly (ENG-012). `commands`: turn seeded
   * balances into `deposit` commands at the start time, so that every change is a command (a
   * journal's input stream); seeded positions are then refused by `seedCommandsIssue`.
   */
  readonly seed?: 'state' | 'commands'
  readonly onCommand?: CommandObserver
}

export interface ScenarioReport {
  readonly state: EngineState
  readonly steps: readonly StepReport[]
  readonly clearing: readonly ClearingReport[]
  readonly checksPassed: number
  readonly failures: readonly CheckFailure[]
  /** `sha256:` + the state hash new journals record (docs/spec/journal.md, JNL-021). */
  readonly stateHash: string
}

/** The state hash, as a new journal records it (version 2), written `sha256:<hex>`. */
export function stateHashOf(state: EngineState): string {
  return `sha256:${journalStateHashOf(state)}`
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

  optional(path: string, expected: ExpectedDecimal | null, found: Fixed): void {
    if (expected !== null) this.decimal(path, expected, found)
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

function runDefaultWaterfall(checker: Checker, step: DefaultWaterfallStep): ClearingReport {
  const plan = planDefaultWaterfall(step.policy, {
    defaulters: step.defaulters,
    members: step.members,
    ...(step.defaultsInCappedPeriod === null
      ? {}
      : { defaultsInCappedPeriod: step.defaultsInCappedPeriod }),
    ccpCapitalRemaining: step.capitalRemaining,
  })
  const base = `${step.path}.expect`
  const totals = (key: (draw: WaterfallPlan['draws'][number]) => string) => {
    const result = new Map<string, Fixed>()
    for (const draw of plan.draws)
      result.set(key(draw), add(result.get(key(draw)) ?? ZERO, draw.drawn))
    return result
  }
  const bySource = totals((draw) => draw.source)
  const byTranche = totals((draw) => draw.tranche)
  for (const [source, expected] of step.expect.sources)
    checker.decimal(`${base}.sources.${source}`, expected, bySource.get(source) ?? null)
  for (const [tranche, expected] of step.expect.tranches)
    checker.decimal(`${base}.tranches.${tranche}`, expected, byTranche.get(tranche) ?? null)
  for (const [source, payers] of step.expect.payers) {
    const paid = new Map<string, Fixed>()
    for (const draw of plan.draws)
      if (draw.source === source)
        for (const payer of draw.payers)
          paid.set(payer.payerId, add(paid.get(payer.payerId) ?? ZERO, payer.amount))
    for (const [payer, expected] of payers)
      checker.decimal(`${base}.payers.${source}.${payer}`, expected, paid.get(payer) ?? ZERO)
  }
  checker.optional(`${base}.covered`, step.expect.covered, plan.covered)
  checker.optional(`${base}.uncovered`, step.expect.uncovered, plan.uncovered)
  checker.optional(`${base}.tornUp`, step.expect.tornUp, plan.tornUp)
  checker.optional(
    `${base}.replenishment`,
    step.expect.replenishment,
    plan.defaultFundReplenishment,
  )
  return { kind: 'default_waterfall', path: step.path, plan }
}

function runCoverStress(checker: Checker, step: CoverStressStep): ClearingReport {
  const cover = coverStress(step.scenarios, step.collateral, {
    includeOwnDefaultFund: step.includeOwnDefaultFund,
    defaultFundSize: step.defaultFund,
  })
  const base = `${step.path}.expect`
  checker.optional(`${base}.cover1`, step.expect.cover1, cover.cover1)
  checker.optional(`${base}.cover2`, step.expect.cover2, cover.cover2)
  checker.optional(`${base}.emir`, step.expect.emir, cover.emir)
  for (const [rule, expected] of step.expect.adequate)
    checker.equal(`${base}.adequate.${rule}`, String(expected), String(cover.adequate[rule]))
  return { kind: 'cover_stress', path: step.path, cover }
}

/**
 * Why a scenario cannot be seeded with commands (`seed: 'commands'`): the command stream has no
 * way to open a position at an entry price without a trade. `null` when it can.
 */
export function seedCommandsIssue(scenario: Scenario): ScenarioIssue | null {
  for (const account of scenario.accounts) {
    const [position] = account.positions
    if (position !== undefined)
      return {
        path: `accounts.${account.id}.positions.${position.market}`,
        message:
          'a seeded position cannot be journaled (the journal records commands only); open it with a trade step instead',
      }
  }
  return null
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

/**
 * Runs `scenario` under `rules`. The caller has checked it with `checkScenarioAgainstRules` (and,
 * with `seed: 'commands'`, with `seedCommandsIssue`).
 */
export function runScenario(
  scenario: Scenario,
  rules: RuleSet,
  options: RunScenarioOptions = {},
): ScenarioReport {
  const state = createEngineState(rules)
  const checker = new Checker()
  const steps: StepReport[] = []
  const clearing: ClearingReport[] = []
  const eventCounts = new Map<string, number>()
  const observe = (step: StepReport, command: Command) => {
    steps.push(step)
    options.onCommand?.(step, command)
  }
  if (options.seed === 'commands') {
    assert(
      seedCommandsIssue(scenario) === null,
      'Invariant: only balances are seeded with commands (SCN-030)',
    )
    for (const account of scenario.accounts)
      for (const [asset, amount] of account.balances) {
        const command: Command = { type: 'deposit', account: account.id, asset, amount }
        const sequence = state.lastSequence + 1
        const outcome = execute(state, command, { sequence, timestampMs: scenario.startMs })
        checker.equal(
          `accounts.${account.id}.balances.${asset}.result`,
          'ok',
          outcome.result.status,
        )
        observe(
          {
            path: `accounts.${account.id}.balances.${asset}`,
            sequence: outcome.result.status === 'ok' ? sequence : null,
            timestampMs: scenario.startMs,
            type: command.type,
            result: outcome.result,
            events: outcome.events,
          },
          command,
        )
      }
  } else seedState(state, scenario.accounts, scenario.startMs)
  let nowMs = scenario.startMs
  for (const step of scenario.timeline) {
    switch (step.kind) {
      case 'default_waterfall':
        clearing.push(runDefaultWaterfall(checker, step))
        break
      case 'cover_stress':
        clearing.push(runCoverStress(checker, step))
        break
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
        observe(
          {
            path: step.path,
            sequence: outcome.result.status === 'ok' ? sequence : null,
            timestampMs: nowMs,
            type: step.command.type,
            result: outcome.result,
            events: outcome.events,
          },
          step.command,
        )
        if (scenario.liquidationExecution !== null)
          for (const auto of executeLiquidations(state, scenario.liquidationExecution, nowMs)) {
            for (const event of auto.events)
              eventCounts.set(event.type, (eventCounts.get(event.type) ?? 0) + 1)
            observe({ ...auto, path: `${step.path} (auto)` }, auto.command)
          }
        break
      }
    }
  }
  if (scenario.expect !== null) checkExpectations(checker, state, scenario.expect, eventCounts)
  return {
    state,
    steps,
    clearing,
    checksPassed: checker.passed,
    failures: checker.failures,
    stateHash: stateHashOf(state),
  }
}
