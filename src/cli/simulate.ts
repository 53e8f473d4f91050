/**
 * `lor simulate`: stress-tests rule sets on a price path and a population of accounts
 * (docs/simulator.md, SIMRUN-*). With no arguments it runs the built-in crash through three presets,
 * writes reports/simulation.html, journals every engine command into reports/journal/ (one SQLite
 * journal per rule set; `--no-journal` turns it off) and prints a summary table. Exit 0 on success, 2 on bad input.
 * Ctrl-C during a Monte Carlo run stops it and writes what finished.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import type { Command } from 'commander'
import { parse as parseYaml } from 'yaml'
import { type Fixed, formatFixed, parseFixed } from '../core/num/fixed.ts'
import { forcedClosesCsv, metricsCsv } from '../sim/report/csv.ts'
import { renderReport } from '../sim/report/html.ts'
import { type MarginResetRecord, simulationResultToJson } from '../sim/report/result.ts'
import { type OptionHoldingsSpec, parseOptionHoldingsSpec } from '../sim/option-holdings.ts'
import { DYNAMIC_MARGIN_FLAG } from '../sim/run/dynamic-margin.ts'
import { runMonteCarlo, ScenarioInputError, type SeedResult } from '../sim/run/monte-carlo.ts'
import { createProgress } from '../sim/run/progress.ts'
import {
  type MonteCarloMetrics,
  monteCarloMetrics,
  type RunMetrics,
} from '../sim/run/run-metrics.ts'
import {
  ALL_PRESETS,
  DEFAULT_PRESETS,
  DEFAULT_SCENARIO_OPTIONS,
  expandRuleSetNames,
  type ScenarioOptions,
} from '../sim/run/scenario.ts'
import {
  DEFAULT_JOURNAL_DIRECTORY,
  runSeedJournaled,
  type WrittenJournal,
} from '../sim/run/journal.ts'
import { type OptionListing, withMonteCarloLosses } from '../sim/run/simulate.ts'
import { inputError, withInputErrors } from './errors.ts'

interface SimulateFlags {
  readonly preset: string[]
  readonly rules: string[]
  readonly data?: string
  readonly model?: string
  readonly accounts: string
  readonly population?: string
  readonly seed: string
  readonly seeds: string
  readonly workers?: string
  readonly report: string
  readonly csv?: string
  readonly json?: boolean
  readonly impactCoefficient?: string
  readonly impactVolatility?: string
  readonly volumeRatio?: string
  readonly impactHalfLife?: string
  readonly insuranceFund?: string
  /** Directory of the journals, or false with --no-journal. */
  readonly journal?: string | false
  /** Dynamic margin document (YAML or JSON file), or `default` for every default. */
  readonly dynamicMargin?: string
  /** Option holdings of the population (YAML or JSON file), or `default` for every default. */
  readonly options?: string
}

/**
 * `--dynamic-margin default`, `--options default`: a parameter document with every default
 * (DYN-010, DYN-017, SIM-025).
 */
export const DEFAULT_PARAMETERS = 'default'

/** Population size from which one seed's rule sets run on worker threads unless `--workers` says otherwise. */
export const PARALLEL_RULE_SETS_FROM = 10_000

/** Default path of the HTML report. */
export const DEFAULT_REPORT_PATH = 'reports/simulation.html'

function collect(value: string, previous: readonly string[]): string[] {
  return [
    ...previous,
    ...value
      .split(',')
      .map((part) => part.trim())
      .filter((part) => part !== ''),
  ]
}

/** Registers `lor simulate` on the program. */
export function registerSimulateCommand(program: Command): void {
  program
    .command('simulate')
    .description(
      'Stress-test rule sets: drive a population through a price path, liquidate, allocate losses, report',
    )
    .option(
      '--preset <ids>',
      `preset to compare (repeatable or comma list; "${ALL_PRESETS}": every shipped preset; default ${DEFAULT_PRESETS.join(',')})`,
      collect,
      [],
    )
    .option('--rules <file>', 'rule-set file to compare (repeatable)', collect, [])
    .option(
      '--data <file>',
      'Binance 1-minute kline CSV as the price path (or as bootstrap returns)',
    )
    .option(
      '--model <model>',
      'gbm | jump | garch | bootstrap | shock:<name> (default shock:builtin-crash)',
    )
    .option(
      '--accounts <n>',
      'accounts in the generated population',
      String(DEFAULT_SCENARIO_OPTIONS.accounts),
    )
    .option(
      '--population <file>',
      'population file (lor-population JSON) instead of a generated one',
    )
    .option(
      '--seed <s>',
      'seed of the population and generated path (first seed with --seeds)',
      '1',
    )
    .option('--seeds <n>', 'Monte Carlo: number of seeds, from --seed on', '1')
    .option(
      '--workers <n>',
      `worker threads: Monte Carlo seeds, or one seed's rule sets (default: one per core, at most --seeds; one seed: one per rule set, at most two per core, 0 below ${PARALLEL_RULE_SETS_FROM.toLocaleString('en-US')} accounts)`,
    )
    .option('--report <path>', 'HTML report to write', DEFAULT_REPORT_PATH)
    .option('--csv <dir>', 'also write metrics.csv and forced-closes.csv to this directory')
    .option('--json', 'print the result and metrics as JSON instead of the summary table')
    .option(
      '--impact-coefficient <y>',
      'Y of the square-root impact law',
      String(DEFAULT_SCENARIO_OPTIONS.impactCoefficient),
    )
    .option(
      '--impact-volatility <sigma>',
      'daily volatility of the impact law (default: from the candles, else 0.04)',
    )
    .option(
      '--volume-ratio <r>',
      "daily traded volume ÷ the population's open interest",
      String(DEFAULT_SCENARIO_OPTIONS.volumeToOpenInterest),
    )
    .option(
      '--impact-half-life <minutes>',
      'minutes for forced-flow impact to recover halfway',
      String(DEFAULT_SCENARIO_OPTIONS.impactHalfLifeMinutes),
    )
    .option(
      '--insurance-fund <amount>',
      'insurance fund of each rule set at the start, in USD (coin-margined: its value in the coin at the first price)',
      '0',
    )
    .option(
      '--journal <dir>',
      'journal every engine command into DIR/<rule-set-id>.db (SQLite; first seed only)',
      DEFAULT_JOURNAL_DIRECTORY,
    )
    .option('--no-journal', 'do not journal the run')
    .option(
      '--options <file>',
      `a share of the accounts also holds options (protective puts, covered calls, naked writes, bought options), listed in rule sets whose portfolio model can margin them: a YAML or JSON file (usage, strategies, strikeDistances, expiryDays, lotSize, writerLeverageMinimum/Maximum, impliedVolatility, volatilityFromPath, volatilityLambda, volatilityEveryMinutes), or "${DEFAULT_PARAMETERS}"`,
    )
    .option(
      '--dynamic-margin <file>',
      `re-set each rule set's margin rates from the path's EWMA + anti-procyclicality rate: a YAML or JSON file of parameters (lambda, multiplier or quantile/horizon, floorLookback, stressWeight, buffer, bufferRebuild, every, minimumChange, minimumFactor, warmup), or "${DEFAULT_PARAMETERS}"`,
    )
    .action(withInputErrors((flags: SimulateFlags) => simulate(flags)))
}

function wholeNumber(text: string, flag: string, minimum: number, maximum: number): number {
  const value = Number(text)
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(value) || value < minimum || value > maximum)
    inputError(`${flag}: expected a whole number in ${minimum}..${maximum}, got "${text}"`)
  return value
}

function positiveNumber(text: string, flag: string, allowZero: boolean): number {
  const value = Number(text)
  if (!Number.isFinite(value) || value < 0 || (!allowZero && value === 0))
    inputError(
      `${flag}: expected a ${allowZero ? 'non-negative' : 'positive'} number, got "${text}"`,
    )
  return value
}

function decimalAmount(text: string, flag: string): string {
  const parsed = parseFixed(text)
  if (!parsed.ok || parsed.value < 0n)
    inputError(`${flag}: expected a non-negative decimal amount, got "${text}"`)
  return text
}

/**
 * The object in a YAML (.yaml, .yml) or JSON parameter file; `default` is `{}` (every default).
 * The dynamic margin document of `--dynamic-margin` is checked against the path when the scenario
 * is built (SIMRUN-019, SIMRUN-020); the option holdings here (`readOptionHoldingsFile`).
 */
function readParameterFile(file: string, flag: string): Record<string, unknown> {
  if (file === DEFAULT_PARAMETERS) return {}
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch {
    inputError(`${flag} ${file}: cannot read the file`)
  }
  let document: unknown
  try {
    document = /\.ya?ml$/i.test(file) ? parseYaml(text) : JSON.parse(text)
  } catch (error) {
    inputError(
      `${flag} ${file}: ${error instanceof Error ? (error.message.split('\n')[0] ?? '') : 'syntax error'}`,
    )
  }
  if (typeof document !== 'object' || document === null || Array.isArray(document))
    inputError(`${flag} ${file}: expected an object of parameters`)
  return { ...(document as Record<string, unknown>) }
}

/**
 * The option holdings of `--options` (SIM-025), validated here so that a bad field is one error
 * line naming the file and the field.
 */
export function readOptionHoldingsFile(file: string): OptionHoldingsSpec {
  const checked = parseOptionHoldingsSpec(readParameterFile(file, '--options'))
  if (!checked.ok) {
    const first = checked.issues[0]
    inputError(`--options ${file}: ${first?.path ?? '$'}: ${first?.message ?? 'invalid'}`)
  }
  return checked.value
}

/** Reads the flags into scenario options, seeds and output choices. */
export function optionsFromFlags(flags: SimulateFlags): {
  options: ScenarioOptions
  seeds: number[]
  workers: number
} {
  const ruleSets = expandRuleSetNames([...flags.preset, ...flags.rules])
  const firstSeed = wholeNumber(flags.seed, '--seed', 0, 0xffff_ffff)
  const seedCount = wholeNumber(flags.seeds, '--seeds', 1, 1_000_000)
  const seeds = Array.from({ length: seedCount }, (_, index) => (firstSeed + index) % 0x1_0000_0000)
  const accounts = wholeNumber(flags.accounts, '--accounts', 1, 10_000_000)
  const cores = Math.max(1, availableParallelism())
  // Several seeds: one per worker. One seed: its rule sets in parallel, by default only when the
  // population is large enough to repay starting the workers (SIMRUN-055), one worker per rule set
  // up to two per core: rule sets take unequal times, and threads sharing the cores finish together
  // where one worker per core would run the longest rule set after another one.
  const workers =
    flags.workers !== undefined
      ? wholeNumber(flags.workers, '--workers', 0, 256)
      : seedCount > 1
        ? Math.min(seedCount, cores)
        : accounts >= PARALLEL_RULE_SETS_FROM && ruleSets.length !== 1
          ? Math.min(Math.max(ruleSets.length, DEFAULT_PRESETS.length), 2 * cores)
          : 0
  const options: ScenarioOptions = {
    ...DEFAULT_SCENARIO_OPTIONS,
    ruleSets: ruleSets.length > 0 ? ruleSets : DEFAULT_PRESETS,
    accounts,
    ...(flags.data === undefined ? {} : { dataFile: flags.data }),
    ...(flags.model === undefined ? {} : { model: flags.model }),
    ...(flags.population === undefined ? {} : { populationFile: flags.population }),
    impactCoefficient: positiveNumber(
      flags.impactCoefficient ?? '0.7',
      '--impact-coefficient',
      true,
    ),
    impactVolatility:
      flags.impactVolatility === undefined
        ? null
        : positiveNumber(flags.impactVolatility, '--impact-volatility', true),
    volumeToOpenInterest: positiveNumber(flags.volumeRatio ?? '2', '--volume-ratio', false),
    impactHalfLifeMinutes: positiveNumber(
      flags.impactHalfLife ?? '30',
      '--impact-half-life',
      false,
    ),
    insuranceFund: decimalAmount(flags.insuranceFund ?? '0', '--insurance-fund'),
    ...(flags.dynamicMargin === undefined
      ? {}
      : { dynamicMargin: readParameterFile(flags.dynamicMargin, DYNAMIC_MARGIN_FLAG) }),
    ...(flags.options === undefined
      ? {}
      : { optionHoldings: readOptionHoldingsFile(flags.options) }),
  }
  return { options, seeds, workers }
}

async function simulate(flags: SimulateFlags): Promise<void> {
  const { options, seeds, workers } = optionsFromFlags(flags)
  const firstSeed = seeds[0] ?? 1
  const controller = new AbortController()
  let interrupts = 0
  const onInterrupt = (): void => {
    interrupts += 1
    if (interrupts > 1) process.exit(130)
    process.stderr.write(
      '\nStopping: finishing with the seeds already done (Ctrl-C again to quit now)\n',
    )
    controller.abort()
  }
  process.on('SIGINT', onInterrupt)
  const progress = seeds.length > 1 ? createProgress(seeds.length, 'seeds') : null
  if (seeds.length === 1) process.stderr.write(`Simulating ${options.ruleSets.join(', ')}...\n`)
  let outcome: Awaited<ReturnType<typeof runMonteCarlo>>
  const journalDirectory =
    flags.journal === false || flags.journal === undefined ? null : resolve(flags.journal)
  let journals: readonly WrittenJournal[]
  try {
    // One seed journaled runs once, here; Monte Carlo journals its first seed after the run.
    const journaled =
      journalDirectory !== null && seeds.length === 1
        ? await runSeedJournaled(options, firstSeed, journalDirectory)
        : null
    outcome =
      journaled !== null
        ? { results: [journaled.result], interrupted: false }
        : await runMonteCarlo({
            options,
            seeds,
            workers,
            fullSeeds: [firstSeed],
            signal: controller.signal,
            ...(progress === null ? {} : { onProgress: ({ done }) => progress.update(done) }),
          })
    journals =
      journaled?.journals ??
      (journalDirectory === null || outcome.results.length === 0
        ? []
        : (await runSeedJournaled(options, firstSeed, journalDirectory)).journals)
  } catch (error) {
    if (error instanceof ScenarioInputError) {
      const first = error.issues[0]
      // A field of the dynamic margin file is named with the file it is in.
      if (first === undefined) inputError(error.message)
      const file = flags.dynamicMargin
      const path =
        first.path.startsWith(DYNAMIC_MARGIN_FLAG) &&
        file !== undefined &&
        file !== DEFAULT_PARAMETERS
          ? `${DYNAMIC_MARGIN_FLAG} ${file}:${first.path.slice(DYNAMIC_MARGIN_FLAG.length)}`
          : first.path
      inputError(`${path}: ${first.message}`)
    }
    throw error
  } finally {
    process.off('SIGINT', onInterrupt)
  }
  progress?.finish(
    outcome.interrupted
      ? `Interrupted: ${outcome.results.length} of ${seeds.length} seeds finished`
      : undefined,
  )
  const base = outcome.results.find((entry) => entry.run !== undefined)?.run
  if (base === undefined) {
    process.stderr.write('No seed finished; nothing to report.\n')
    process.exitCode = 130
    return
  }
  const monteCarlo = seeds.length > 1 ? aggregate(outcome.results) : []
  const lossesByRuleSet = new Map<string, Fixed[]>()
  const lossesInQuoteByRuleSet = new Map<string, Fixed[]>()
  if (seeds.length > 1)
    for (const result of outcome.results)
      for (const figure of result.figures) {
        const list = lossesByRuleSet.get(figure.ruleSetId) ?? []
        list.push(figure.uncoveredLoss)
        lossesByRuleSet.set(figure.ruleSetId, list)
        const inQuote = lossesInQuoteByRuleSet.get(figure.ruleSetId) ?? []
        inQuote.push(figure.uncoveredLossInQuote)
        lossesInQuoteByRuleSet.set(figure.ruleSetId, inQuote)
      }
  const result = withMonteCarloLosses(base.result, lossesByRuleSet, lossesInQuoteByRuleSet)
  const reportPath = resolve(flags.report)
  mkdirSync(dirname(reportPath), { recursive: true })
  writeFileSync(reportPath, renderReport(result))
  if (flags.csv !== undefined) {
    mkdirSync(flags.csv, { recursive: true })
    writeFileSync(join(flags.csv, 'metrics.csv'), metricsCsv(result))
    writeFileSync(join(flags.csv, 'forced-closes.csv'), forcedClosesCsv(result))
  }
  if (flags.json === true) {
    process.stdout.write(
      `${JSON.stringify(
        {
          result: simulationResultToJson(result),
          metrics: base.runs.map((run) => ({
            ruleSetId: run.outcome.ruleSetId,
            market: run.market,
            settlementAsset: run.settlementAsset,
            quoteAsset: run.quoteAsset,
            ...run.metrics,
            diagnostics: run.diagnostics,
          })),
          monteCarlo,
          seeds: outcome.results.map((entry) => ({
            seed: entry.seed,
            resultHash: entry.resultHash,
          })),
          interrupted: outcome.interrupted,
          report: reportPath,
          journals,
        },
        (_key, value: unknown) => (typeof value === 'bigint' ? formatFixed(value as Fixed) : value),
        2,
      )}\n`,
    )
  } else {
    process.stdout.write(
      summaryText(
        base.result.title,
        base.result.scenario.description,
        base.runs,
        monteCarlo,
        reportPath,
        flags.csv,
      ),
    )
  }
  if (flags.json !== true && journals.length > 0) process.stdout.write(journalText(journals))
  if (outcome.interrupted) process.exitCode = 130
}

/** Where the journals went, and how to use them. */
function journalText(journals: readonly WrittenJournal[]): string {
  const lines = journals.map(
    (journal) =>
      `  ${journal.path}  ${journal.entries} entries, final state hash ${journal.stateHash ?? '-'}`,
  )
  return `Journal (lor replay --db FILE; lor explain --db FILE --account ID):\n${lines.join('\n')}\n`
}

function aggregate(results: readonly SeedResult[]): MonteCarloMetrics[] {
  const byRuleSet = new Map<string, SeedResult['figures'][number][]>()
  for (const result of results)
    for (const figure of result.figures) {
      const list = byRuleSet.get(figure.ruleSetId) ?? []
      list.push(figure)
      byRuleSet.set(figure.ruleSetId, list)
    }
  return [...byRuleSet].map(([ruleSetId, figures]) => monteCarloMetrics(ruleSetId, figures))
}

/** An amount for the summary: whole units of a quote-settled asset, 4 decimals of a coin. */
function money(value: Fixed, coin = false): string {
  const [whole = '', fraction] = formatFixed(value, coin ? 4 : 0).split('.')
  const grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ',')
  return fraction === undefined ? grouped : `${grouped}.${fraction}`
}

function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((cell, column) =>
    Math.max(cell.length, ...rows.map((row) => (row[column] ?? '').length)),
  )
  const line = (cells: readonly string[]): string =>
    cells
      .map((cell, column) =>
        column === 0 ? cell.padEnd(widths[column] ?? 0) : cell.padStart(widths[column] ?? 0),
      )
      .join('  ')
  return [line(header), line(widths.map((width) => '-'.repeat(width))), ...rows.map(line)].join(
    '\n',
  )
}

/**
 * The summary's line on dynamic margin (SIMRUN-019): how many re-sets the path made and the
 * highest factor, with its time and the rate read then. The schedule is the path's, the same for
 * every rule set.
 */
export function dynamicMarginLine(resets: readonly MarginResetRecord[]): string {
  let peak: MarginResetRecord | undefined
  for (const reset of resets) if (peak === undefined || reset.factor > peak.factor) peak = reset
  if (peak === undefined)
    return 'Dynamic margin: no re-set; the published margin rates stayed in force.'
  const time = new Date(peak.timeMs).toISOString().slice(0, 16).replace('T', ' ')
  return `Dynamic margin: ${resets.length} re-set${resets.length === 1 ? '' : 's'} of the margin rates (the same for every rule set), peak factor ×${formatFixed(peak.factor)} at ${time} UTC (APC rate ${formatFixed(peak.rate, 4)}).`
}

/** How one rule set took the population's options, for the summary (SIMRUN-005). */
export function optionListingText(ruleSetId: string, listing: OptionListing): string {
  if (listing.omitted !== undefined) return `${ruleSetId} leaves them out (${listing.omitted})`
  const volatility =
    listing.peakVolatility === undefined
      ? ''
      : `, implied volatility re-set ${listing.volatilityResets} time${listing.volatilityResets === 1 ? '' : 's'}, up to ${formatFixed(listing.peakVolatility)}`
  return `${ruleSetId} lists ${listing.series} series${volatility}`
}

/** The short text summary printed after a run. */
export function summaryText(
  title: string,
  description: string,
  runs: readonly {
    readonly outcome: {
      readonly ruleSetId: string
      readonly marginResets?: readonly MarginResetRecord[]
    }
    readonly metrics: RunMetrics
    readonly market: string
    readonly settlementAsset: string
    readonly quoteAsset: string
    readonly options?: OptionListing
  }[],
  monteCarlo: readonly MonteCarloMetrics[],
  reportPath: string,
  csvDirectory: string | undefined,
): string {
  const coinOf = new Map(
    runs.map((run) => [run.outcome.ruleSetId, run.settlementAsset !== run.quoteAsset]),
  )
  const anyCoin = [...coinOf.values()].some((coin) => coin)
  const rows = runs.map(({ outcome, metrics, market, settlementAsset, quoteAsset }) => [
    `${outcome.ruleSetId} (${market}, ${settlementAsset})`,
    String(metrics.liquidationCount),
    money(metrics.liquidatedValue, settlementAsset !== quoteAsset),
    String(metrics.exitOrderCount),
    money(metrics.badDebt, settlementAsset !== quoteAsset),
    ...(anyCoin ? [money(metrics.uncoveredLossInQuote)] : []),
    money(metrics.insuranceFundEnd, settlementAsset !== quoteAsset),
    String(metrics.autoDeleverageCount),
    money(metrics.socializedLoss, settlementAsset !== quoteAsset),
    metrics.cascadeAmplification === null
      ? '-'
      : `${formatFixed((metrics.cascadeAmplification * 100n) as Fixed, 2)} %`,
    metrics.coverTwoAdequate ? 'yes' : 'no',
  ])
  const parts = [
    title,
    description,
    '',
    table(
      [
        'rule set',
        'liquidations',
        'liquidated value',
        'exit orders',
        'bad debt',
        ...(anyCoin ? ['uncovered USD'] : []),
        'fund end',
        'ADL',
        'socialized',
        'amplification',
        'Cover-2 met',
      ],
      rows,
    ),
  ]
  if (monteCarlo.length > 0) {
    parts.push(
      '',
      `Monte Carlo (${monteCarlo[0]?.paths ?? 0} paths)`,
      table(
        [
          'rule set',
          'insolvency p95',
          'insolvency p99',
          'paths with loss',
          'liquidations-at-risk p95',
          'bad debt p95',
        ],
        monteCarlo.map((entry) => {
          const coin = coinOf.get(entry.ruleSetId) ?? false
          return [
            entry.ruleSetId,
            money(entry.insolvencyP95, coin),
            money(entry.insolvencyP99, coin),
            `${entry.pathsWithUncoveredLoss}/${entry.paths}`,
            money(entry.liquidationsAtRisk, coin),
            money(entry.badDebtP95, coin),
          ]
        }),
      ),
    )
  }
  const resets = runs.find((run) => run.outcome.marginResets !== undefined)?.outcome.marginResets
  if (resets !== undefined) parts.push('', dynamicMarginLine(resets))
  const listings = runs.flatMap((run) =>
    run.options === undefined ? [] : [optionListingText(run.outcome.ruleSetId, run.options)],
  )
  if (listings.length > 0) parts.push('', `Options: ${listings.join('; ')}.`)
  if (anyCoin)
    parts.push(
      '',
      'Amounts in each rule set\'s settlement asset (in brackets); "uncovered USD" values the loss the fund did not cover at the price of its moment.',
    )
  parts.push('', `Report: ${reportPath}`)
  if (csvDirectory !== undefined)
    parts.push(
      `CSV: ${join(csvDirectory, 'metrics.csv')}, ${join(csvDirectory, 'forced-closes.csv')}`,
    )
  return `${parts.join('\n')}\n`
}
