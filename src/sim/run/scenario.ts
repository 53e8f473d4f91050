/**
 * What to simulate, as plain data (so a worker thread can rebuild it from a message), and how to
 * build the path, population and rule sets of one seed from it (SIMRUN-020..SIMRUN-023).
 */
import { fixedOf, roundToStep, toNumber } from '../../core/num/fixed.ts'
import type { RuleSet } from '../../core/rules/rule-set.ts'
import { listPresets, loadRuleSet } from '../../presets/index.ts'
import { impactInputsFromKlines } from '../impact.ts'
import { type Issue, issue } from '../issue.ts'
import { klinesToPath, loadBinanceKlines } from '../paths/binance-klines.ts'
import { generatePath, type PathModel } from '../paths/models.ts'
import { logReturns, type PricePath } from '../paths/price-path.ts'
import {
  DEFAULT_SCENARIO_NAME,
  generateShockPath,
  namedShock,
  namedShockNames,
} from '../paths/shocks.ts'
import {
  DEFAULT_POPULATION_MARKET,
  defaultPopulationSpec,
  generatePopulation,
  loadPopulation,
  type Population,
  type PopulationMarket,
  validatePopulationSpec,
} from '../population.ts'
import {
  addOptionHoldings,
  type OptionHoldingsSpec,
  parseOptionHoldingsSpec,
} from '../option-holdings.ts'
import { SEED_MAXIMUM } from '../random.ts'
import type { MarginReset } from '../../core/dynamic-margin/index.ts'
import { type DynamicMarginOptions, marginResetsAlongPath } from './dynamic-margin.ts'
import { impliedVolatilityResets, type VolatilityReset } from './implied-volatility.ts'
import { simulatedMarketOf } from './setup.ts'

/** Presets compared when none is named. */
export const DEFAULT_PRESETS: readonly string[] = ['binance-usdm', 'bybit-linear', 'hyperliquid']

/** The name that stands for every shipped preset (`--preset all`). */
export const ALL_PRESETS = 'all'

/** Every shipped preset id at its current version, in id order. */
export function allPresetIds(): string[] {
  return listPresets()
    .filter((preset) => preset.latest)
    .map((preset) => preset.id)
}

/** Replaces `all` in a list of rule-set names by every shipped preset; keeps the first of repeats. */
export function expandRuleSetNames(names: readonly string[]): string[] {
  const expanded = names.flatMap((name) => (name === ALL_PRESETS ? allPresetIds() : [name]))
  return [...new Set(expanded)]
}

/** Path models the CLI accepts besides `shock:<name>`. */
export const PATH_MODELS = ['gbm', 'jump', 'garch', 'bootstrap'] as const

/** Everything that defines a simulation, as JSON-compatible data. */
export interface ScenarioOptions {
  /** Preset ids (`binance-usdm`, `bybit-linear@2024-06-01`) and rule-set files, in report order. */
  readonly ruleSets: readonly string[]
  /** Binance kline CSV; when set without `model` the path is the candles themselves. */
  readonly dataFile?: string
  /** `gbm`, `jump`, `garch`, `bootstrap` (needs `dataFile`) or `shock:<name>`; default `shock:builtin-crash`. */
  readonly model?: string
  /** Generated population size (ignored with `populationFile`). */
  readonly accounts: number
  readonly populationFile?: string
  /** Square-root impact: Y, daily σ (null: from the candles when there are any, else 0.04), daily volume ÷ open interest, half-life. */
  readonly impactCoefficient: number
  readonly impactVolatility: number | null
  readonly volumeToOpenInterest: number
  readonly impactHalfLifeMinutes: number
  readonly maxIterationsPerStep: number
  /** Insurance fund at the start of each rule set's run, in its settlement asset (decimal text). */
  readonly insuranceFund: string
  /**
   * Margin rates re-set from the exogenous path's volatility (SIMRUN-019): the
   * dynamic margin document (`dynamic-margin.ts`); absent: the published rates throughout.
   */
  readonly dynamicMargin?: DynamicMarginOptions
  /** Options a share of the population also holds (SIM-025; absent: none). */
  readonly optionHoldings?: OptionHoldingsSpec
}

/** Defaults of everything but the rule sets and the path. */
export const DEFAULT_SCENARIO_OPTIONS: ScenarioOptions = {
  ruleSets: DEFAULT_PRESETS,
  accounts: 500,
  impactCoefficient: 0.7,
  impactVolatility: null,
  volumeToOpenInterest: 2,
  impactHalfLifeMinutes: 30,
  maxIterationsPerStep: 25,
  insuranceFund: '0',
}

/** One seed's inputs, built. */
export interface BuiltScenario {
  readonly name: string
  readonly description: string
  readonly path: PricePath
  readonly population: Population
  readonly populationMarket: PopulationMarket
  readonly ruleSets: readonly RuleSet[]
  /** Daily volatility for the impact model. */
  readonly volatility: number
  /** The margin re-sets along the path when the options ask for dynamic margin (SIMRUN-019, SIMRUN-020). */
  readonly marginResets?: readonly MarginReset[]
  /** The option holdings added to the population (SIM-026), when the options ask for them. */
  readonly optionHoldings?: OptionHoldingsSpec
  /** The options' implied volatility along the path, when it follows it (SIMRUN-006). */
  readonly volatilityResets?: readonly VolatilityReset[]
}

const HOUR = 3_600_000
const GENERATED_START_MS = 1_704_067_200_000

/** Loads the rule sets named in the options; every failure becomes an issue. */
export function loadRuleSets(names: readonly string[]): { ruleSets: RuleSet[]; issues: Issue[] } {
  const ruleSets: RuleSet[] = []
  const issues: Issue[] = []
  for (const name of expandRuleSetNames(names)) {
    const loaded = loadRuleSet(name)
    if (loaded.ok) {
      // A rule set needs a perpetual or future on the population's underlying (linear or
      // inverse), or the run is refused here rather than failing inside (SIMRUN-001).
      const baseAsset = DEFAULT_POPULATION_MARKET.instrument.baseAsset
      const choice = simulatedMarketOf(loaded.ruleSet, baseAsset)
      if (choice.ok) ruleSets.push(loaded.ruleSet)
      else issues.push(issue('no_simulated_market', name, choice.message))
    } else
      for (const found of loaded.issues)
        issues.push(issue(found.code, `${name}: ${found.path}`, found.message))
  }
  return { ruleSets, issues }
}

/** The path seed of a Monte Carlo seed: a shock keeps its published noise seed at seed 1. */
function shockSeed(published: number, seed: number): number {
  return (published + seed - 1) % (SEED_MAXIMUM + 1)
}

/** Builds path, population and rule sets for `seed`; returns issues instead on bad input. */
export function buildScenario(
  options: ScenarioOptions,
  seed: number,
): { ok: true; value: BuiltScenario } | { ok: false; issues: readonly Issue[] } {
  const issues: Issue[] = []
  const { ruleSets, issues: ruleIssues } = loadRuleSets(options.ruleSets)
  issues.push(...ruleIssues)
  const built = buildPath(options, seed, issues)
  if (built === null || issues.length > 0) return { ok: false, issues }
  const resets =
    options.dynamicMargin === undefined
      ? undefined
      : marginResetsAlongPath(options.dynamicMargin, built.path)
  if (resets?.ok === false) return { ok: false, issues: resets.issues }
  const populationMarket: PopulationMarket = {
    ...DEFAULT_POPULATION_MARKET,
    referencePrice: roundToStep(
      built.path.points[0]?.price ?? DEFAULT_POPULATION_MARKET.referencePrice,
      DEFAULT_POPULATION_MARKET.instrument.tickSize,
      'half_even',
    ),
  }
  let population: Population
  if (options.populationFile !== undefined) {
    const loaded = loadPopulation(options.populationFile)
    if (!loaded.ok) return { ok: false, issues: loaded.issues }
    population = loaded.value
  } else {
    const spec = defaultPopulationSpec({
      seed,
      accountCount: options.accounts,
      markets: [populationMarket],
    })
    const checked = validatePopulationSpec(spec)
    if (!checked.ok) return { ok: false, issues: checked.issues }
    population = generatePopulation(spec)
  }
  let optionHoldings: OptionHoldingsSpec | undefined
  if (options.optionHoldings !== undefined) {
    const checked = parseOptionHoldingsSpec(options.optionHoldings)
    if (!checked.ok) return { ok: false, issues: checked.issues }
    optionHoldings = checked.value
    population = addOptionHoldings(population, optionHoldings, populationMarket)
  }
  return {
    ok: true,
    value: {
      name: built.name,
      description: built.description,
      path: built.path,
      population,
      populationMarket,
      ruleSets,
      volatility: options.impactVolatility ?? built.volatility ?? 0.04,
      ...(resets === undefined ? {} : { marginResets: resets.value }),
      ...(optionHoldings === undefined
        ? {}
        : {
            optionHoldings,
            volatilityResets: impliedVolatilityResets(built.path, optionHoldings),
          }),
    },
  }
}

interface BuiltPath {
  readonly name: string
  readonly description: string
  readonly path: PricePath
  readonly volatility: number | null
}

function buildPath(options: ScenarioOptions, seed: number, issues: Issue[]): BuiltPath | null {
  const model =
    options.model ?? (options.dataFile === undefined ? `shock:${DEFAULT_SCENARIO_NAME}` : undefined)
  let candles: { path: PricePath; volatility: number } | null = null
  if (options.dataFile !== undefined) {
    const loaded = loadBinanceKlines(options.dataFile)
    if (!loaded.ok) {
      issues.push(...loaded.issues)
      return null
    }
    const path = klinesToPath(loaded.value, {
      name: options.dataFile.split(/[/\\]/).at(-1) ?? options.dataFile,
      tickSize: fixedOf('0.01'),
      source: options.dataFile,
    })
    if (!path.ok) {
      issues.push(...path.issues)
      return null
    }
    candles = { path: path.value, volatility: impactInputsFromKlines(loaded.value).volatility }
  }
  if (model === undefined && candles !== null) {
    return {
      name: candles.path.name,
      description: `Binance 1-minute klines from ${candles.path.name}: ${candles.path.points.length} points.`,
      path: candles.path,
      volatility: candles.volatility,
    }
  }
  if (model?.startsWith('shock:') === true) {
    const name = model.slice('shock:'.length)
    const shock = namedShock(name)
    if (shock === undefined) {
      issues.push(
        issue(
          'model_unknown',
          '--model',
          `no shock named "${name}"; known: ${namedShockNames().join(', ')}`,
        ),
      )
      return null
    }
    const spec =
      shock.noise === undefined
        ? shock
        : { ...shock, noise: { ...shock.noise, seed: shockSeed(shock.noise.seed, seed) } }
    return {
      name: shock.name,
      description: shock.description,
      path: generateShockPath(spec),
      volatility: null,
    }
  }
  const models: Record<string, PathModel | null> = {
    gbm: { kind: 'geometric_brownian', drift: 0, volatility: 0.8 },
    jump: {
      kind: 'jump_diffusion',
      drift: 0,
      volatility: 0.6,
      jumpIntensity: 50,
      jumpMean: -0.03,
      jumpVolatility: 0.05,
    },
    garch: { kind: 'garch', drift: 0, longRunVolatility: 0.8, alpha: 0.1, beta: 0.85 },
    bootstrap:
      candles === null
        ? null
        : {
            kind: 'bootstrap',
            returns: logReturns(candles.path),
            blockLength: 60,
            source: candles.path.name,
          },
  }
  const chosen = model === undefined ? undefined : models[model]
  if (chosen === undefined || model === undefined) {
    issues.push(
      issue(
        'model_unknown',
        '--model',
        `model is one of ${PATH_MODELS.join(', ')} or shock:<name> (${namedShockNames().join(', ')})`,
      ),
    )
    return null
  }
  if (chosen === null) {
    issues.push(
      issue(
        'model_needs_data',
        '--model',
        'the bootstrap model resamples the returns of --data FILE',
      ),
    )
    return null
  }
  const start = candles?.path.points[0]?.price ?? fixedOf('60000')
  const path = generatePath({
    name: `${model}-seed-${seed}`,
    model: chosen,
    startPrice: start,
    startTimeMs: candles?.path.startTimeMs ?? GENERATED_START_MS,
    stepMs: 60_000,
    steps: candles === null ? (48 * HOUR) / 60_000 : candles.path.points.length - 1,
    tickSize: fixedOf('0.1'),
    seed,
  })
  return {
    name: path.name,
    description: `Generated ${path.source}, 1-minute steps from ${toNumber(start)}.`,
    path,
    volatility: candles?.volatility ?? null,
  }
}
