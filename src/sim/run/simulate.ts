/**
 * Rule comparison (SIMRUN-030..SIMRUN-033): the same path and population through several rule
 * sets, results side by side as the report's `SimulationResult`, with the metrics of each run.
 */
import { createHash } from 'node:crypto'
import { contractValue } from '../../core/model/position-math.ts'
import { abs, type Fixed, fixedOf, roundToStep, toNumber } from '../../core/num/fixed.ts'
import type { RuleSet } from '../../core/rules/rule-set.ts'
import type { ImpactParams } from '../impact.ts'
import { populationHash } from '../population.ts'
import {
  type RuleSetOutcome,
  type SimulationResult,
  simulationResultToJson,
} from '../report/result.ts'
import { marginRulesChanges } from './dynamic-margin.ts'
import type { CommandRecorder } from './journal.ts'
import { type RunMetrics, runMetrics } from './run-metrics.ts'
import type { BuiltScenario, ScenarioOptions } from './scenario.ts'
import {
  listOptionSeries,
  mapPopulation,
  optionSeriesOf,
  quoteToSettlement,
  simulatedMarketOf,
} from './setup.ts'
import { runTickLoop, type TickLoopDiagnostics } from './tick-loop.ts'

/** One rule set's run: its outcome in the report's shape, its metrics and how the loop ran. */
export interface RuleSetRun {
  readonly outcome: RuleSetOutcome
  readonly metrics: RunMetrics
  readonly diagnostics: TickLoopDiagnostics
  readonly market: string
  readonly settlementAsset: string
  readonly quoteAsset: string
  /** With option holdings (SIMRUN-005): the series listed, or why the rule set left them out. */
  readonly options?: OptionListing
}

/** How a rule set took the population's options. */
export interface OptionListing {
  readonly series: number
  readonly omitted?: string
  /** Implied volatility re-sets applied (SIMRUN-006), and the highest volatility they set. */
  readonly volatilityResets: number
  readonly peakVolatility?: Fixed
}

/** The highest of the first `applied` implied volatility re-sets, as a listing field. */
function peakVolatilityOf(
  resets: readonly { readonly volatility: Fixed }[] | undefined,
  applied: number,
): { peakVolatility?: Fixed } {
  let peak: Fixed | undefined
  for (const reset of (resets ?? []).slice(0, applied))
    if (peak === undefined || reset.volatility > peak) peak = reset.volatility
  return peak === undefined ? {} : { peakVolatility: peak }
}

/** A whole comparison for one seed. */
export interface SimulationRun {
  readonly seed: number
  readonly result: SimulationResult
  readonly runs: readonly RuleSetRun[]
  /** SHA-256 of the result's canonical JSON: equal hashes, equal results. */
  readonly resultHash: string
  readonly impact: ImpactParams
}

/** Open notional of the population at the path's start (the impact model's scale). */
export function populationOpenNotional(built: BuiltScenario): number {
  const instrument = built.populationMarket.instrument
  const start = built.path.points[0]?.price
  if (start === undefined) return 0
  let total = 0
  for (const account of built.population.accounts)
    for (const position of account.positions)
      if (position.market === instrument.market)
        total += toNumber(abs(contractValue(instrument, position.size, start)))
  return total
}

/** Impact parameters of a scenario: V = volume ÷ open interest × the population's open notional. */
export function impactParamsOf(built: BuiltScenario, options: ScenarioOptions): ImpactParams {
  const openNotional = populationOpenNotional(built)
  return {
    impactCoefficient: options.impactCoefficient,
    volatility: built.volatility,
    volume: Math.max(1, openNotional * options.volumeToOpenInterest),
    halfLifeSteps: Math.max(1e-9, (options.impactHalfLifeMinutes * 60_000) / built.path.stepMs),
  }
}

/**
 * Runs one rule set of `built` through its path and population (SIMRUN-030). Throws on a mapping
 * problem. The outcome depends only on the scenario, the options and the rule set, so the rule
 * sets of one seed can run in any order or on different threads (`combineRuns`).
 */
export function runRuleSet(
  built: BuiltScenario,
  options: ScenarioOptions,
  ruleSet: RuleSet,
  recorder?: CommandRecorder,
): RuleSetRun {
  const impact = impactParamsOf(built, options)
  const choice = simulatedMarketOf(ruleSet, built.populationMarket.instrument.baseAsset)
  if (!choice.ok) throw new RangeError(`Condition failed: ${choice.message} (SIMRUN-001)`)
  const instrument = choice.market.instrument
  const referencePrice = built.populationMarket.referencePrice
  const first = built.path.points[0]
  // SIMRUN-005: the population's option series are listed in rule sets that can margin them.
  const holdings = built.optionHoldings
  const listed =
    holdings === undefined || first === undefined
      ? undefined
      : listOptionSeries(
          ruleSet,
          choice.market,
          optionSeriesOf(built.population, built.populationMarket.instrument.market),
          {
            startTimeMs: first.timeMs,
            firstMark: roundToStep(first.price, instrument.tickSize, 'half_even'),
            lotSize: fixedOf(holdings.lotSize),
            volatility: fixedOf(holdings.impliedVolatility),
          },
        )
  const runRules = listed?.ruleSet ?? ruleSet
  const accounts = mapPopulation(
    built.population,
    built.populationMarket.instrument,
    choice.market,
    referencePrice,
    listed,
  )
  // The starting fund is given in the quote currency; a coin-margined fund holds its value at
  // the first price (SIMRUN-004).
  const firstPrice = built.path.points[0]?.price ?? referencePrice
  // Dynamic margin: the simulated market's rates re-set along the path (SIMRUN-019).
  const marginResets = built.marginResets
  const rulesChanges =
    marginResets === undefined ? [] : marginRulesChanges(marginResets, runRules, instrument.market)
  const output = runTickLoop({
    ruleSet: runRules,
    market: choice.market,
    accounts,
    path: built.path,
    impact,
    maxIterationsPerStep: options.maxIterationsPerStep,
    insuranceFund: quoteToSettlement(instrument, fixedOf(options.insuranceFund), firstPrice),
    ...(recorder === undefined ? {} : { recorder }),
    ...(rulesChanges.length === 0 ? {} : { rulesChanges }),
    ...(listed === undefined ? {} : { options: listed }),
    ...(built.volatilityResets === undefined ? {} : { volatilityResets: built.volatilityResets }),
  })
  return {
    outcome: marginResets === undefined ? output.outcome : { ...output.outcome, marginResets },
    metrics: runMetrics(output, built.path),
    diagnostics: output.diagnostics,
    market: instrument.market,
    settlementAsset: instrument.settlementAsset,
    quoteAsset: instrument.quoteAsset,
    ...(listed === undefined
      ? {}
      : {
          options: {
            series: listed.markets.size,
            ...(listed.omitted === undefined ? {} : { omitted: listed.omitted }),
            volatilityResets: output.diagnostics.volatilityResets,
            ...peakVolatilityOf(built.volatilityResets, output.diagnostics.volatilityResets),
          },
        }),
  }
}

/**
 * Runs every rule set of `built` through its path and population. Throws on a mapping problem.
 * `recorderOf` gives a rule set's command recorder when the run is journaled (`journal.ts`).
 */
export function runSimulation(
  built: BuiltScenario,
  options: ScenarioOptions,
  seed: number,
  recorderOf?: (ruleSet: RuleSet) => CommandRecorder,
): SimulationRun {
  const runs = built.ruleSets.map((ruleSet) =>
    runRuleSet(built, options, ruleSet, recorderOf?.(ruleSet)),
  )
  return combineRuns(built, options, seed, runs)
}

/** One seed's comparison from its rule sets' runs, in the scenario's rule-set order. */
export function combineRuns(
  built: BuiltScenario,
  options: ScenarioOptions,
  seed: number,
  runs: readonly RuleSetRun[],
): SimulationRun {
  const markets = [...new Set(runs.map((run) => run.market))]
  const assets = [...new Set(runs.map((run) => run.settlementAsset))]
  const result: SimulationResult = {
    title: `Stress test: ${built.name}`,
    scenario: {
      name: built.name,
      description: built.description,
      seed,
      pathSource: built.path.source,
      population: `${built.population.source} (hash ${populationHash(built.population).slice(0, 12)})`,
    },
    market: markets.join(' / '),
    settlementAsset: assets.join(' / '),
    stepMs: built.path.stepMs,
    exogenousPrices: built.path.points.map((point) => ({
      timeMs: point.timeMs,
      price: point.price,
    })),
    outcomes: runs.map((run) => run.outcome),
  }
  return {
    seed,
    result,
    runs,
    resultHash: resultHash(result),
    impact: impactParamsOf(built, options),
  }
}

/** SHA-256 of a result's canonical JSON form. */
export function resultHash(result: SimulationResult): string {
  return createHash('sha256')
    .update(JSON.stringify(simulationResultToJson(result)))
    .digest('hex')
}

/**
 * Adds each rule set's per-path uncovered losses to a result (Monte Carlo): in the settlement asset
 * and, when given, in the quote currency.
 */
export function withMonteCarloLosses(
  result: SimulationResult,
  lossesByRuleSet: ReadonlyMap<string, readonly Fixed[]>,
  lossesInQuoteByRuleSet: ReadonlyMap<string, readonly Fixed[]> = new Map(),
): SimulationResult {
  return {
    ...result,
    outcomes: result.outcomes.map((outcome) => {
      const losses = lossesByRuleSet.get(outcome.ruleSetId)
      const inQuote = lossesInQuoteByRuleSet.get(outcome.ruleSetId)
      return {
        ...outcome,
        ...(losses === undefined ? {} : { monteCarloLosses: losses }),
        ...(inQuote === undefined ? {} : { monteCarloLossesInQuote: inQuote }),
      }
    }),
  }
}
