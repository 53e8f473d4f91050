/**
 * `lor rules`: rule-set versions and the impact of a change (docs/portfolio-margin.md, RUL-D01..RUL-D06).
 *
 * - `lor rules list`: the shipped presets and their versions;
 * - `lor rules show A`: a rule set in file form (JSON);
 * - `lor rules diff A B`: every changed parameter with its path, old and new value;
 * - `lor rules impact --from A --to B`: margin deltas, accounts that become liquidatable and
 *   liquidation-price moves, for a portfolio given with the `lor margin` flags or for a seeded
 *   generated population.
 * A and B are preset ids, `id@version`, or rule-set files. Bad input: one line, exit code 2.
 */
import type { Command } from 'commander'
import {
  type AccountRisk,
  crossGroupBreached,
  evaluateAccount,
  isolatedPositionBreached,
  type OptionValuation,
} from '../core/margin/evaluate.ts'
import type { Account, Position } from '../core/model/account.ts'
import { entryValueOf } from '../core/model/position-math.ts'
import {
  abs,
  type Fixed,
  formatFixed,
  isMultipleOf,
  parseFixed,
  sub,
  sum,
  ZERO,
} from '../core/num/fixed.ts'
import { diffRuleSets, type RuleChange } from '../core/rules/diff.ts'
import { ruleSetToJson } from '../core/rules/parse.ts'
import type { RuleSet } from '../core/rules/rule-set.ts'
import { listPresets, loadRuleSet } from '../presets/index.ts'
import {
  DEFAULT_POPULATION_MARKET,
  defaultPopulationSpec,
  generatePopulation,
  toEngineAccount,
  validatePopulationSpec,
} from '../sim/population.ts'
import { configureInputErrors, describeIssues, inputError, withInputErrors } from './errors.ts'
import {
  optionMarketVolatilities,
  optionValuationOfFlags,
  requireOptionInputs,
} from './option-markets.ts'

function collect(value: string, previous: readonly string[]): string[] {
  return [...previous, value]
}

/** Registers `lor rules` and its subcommands on the program. */
export function registerRulesCommand(program: Command): void {
  const rules = program
    .command('rules')
    .description('Rule-set versions: list, show, diff and the impact of a change')
  configureInputErrors(rules)
  configureInputErrors(
    rules
      .command('list')
      .description('List the shipped presets and their versions')
      .option('--json', 'print JSON')
      .action(withInputErrors((options: { json?: boolean }) => runList(options))),
  )
  configureInputErrors(
    rules
      .command('show')
      .description('Print a rule set in file form (JSON)')
      .argument('<rules>', 'preset id, id@version, or rule-set file')
      .action(withInputErrors((reference: string) => runShow(reference))),
  )
  configureInputErrors(
    rules
      .command('diff')
      .description('List every changed parameter between two rule sets')
      .argument('<from>', 'preset id, id@version, or rule-set file')
      .argument('<to>', 'preset id, id@version, or rule-set file')
      .option('--all', 'also list metadata changes (version, dates, sources, description)')
      .option('--json', 'print JSON')
      .action(
        withInputErrors((from: string, to: string, options: DiffOptions) =>
          runDiff(from, to, options),
        ),
      ),
  )
  configureInputErrors(
    rules
      .command('impact')
      .description('Margin and liquidation impact of moving from one rule set to another')
      .requiredOption('--from <rules>', 'rule set before the change')
      .requiredOption('--to <rules>', 'rule set after the change')
      .option('--wallet <amount>', 'wallet balance of the portfolio (with --position)')
      .option(
        '--wallet-asset <asset>',
        'asset of --wallet (default: the settlement asset of the positions)',
      )
      .option(
        '--position <market:size@entry>',
        'position of the portfolio (repeatable)',
        collect,
        [],
      )
      .option(
        '--mark <market=price>',
        'mark price (repeatable); for --population the reference price',
        collect,
        [],
      )
      .option(
        '--vol <market=vol>',
        'implied volatility of an option market of the portfolio (repeatable)',
        collect,
        [],
      )
      .option('--at <time>', 'valuation time of option positions: YYYY-MM-DD or YYYY-MM-DDTHH:MMZ')
      .option('--population <count>', 'generate this many accounts instead of a portfolio')
      .option('--seed <n>', 'seed of the generated population', '1')
      .option(
        '--market <id>',
        'market of the generated population (default: the first market of --from)',
      )
      .option('--limit <n>', 'accounts listed in the text report (default 20)', '20')
      .option('--json', 'print JSON (every account)')
      .action(withInputErrors((options: ImpactOptions) => runImpact(options))),
  )
}

interface DiffOptions {
  readonly all?: boolean
  readonly json?: boolean
}

interface ImpactOptions {
  readonly from: string
  readonly to: string
  readonly wallet?: string
  readonly walletAsset?: string
  readonly position: readonly string[]
  readonly mark: readonly string[]
  readonly vol: readonly string[]
  readonly at?: string
  readonly population?: string
  readonly seed: string
  readonly market?: string
  readonly limit: string
  readonly json?: boolean
}

function load(reference: string, flag: string): RuleSet {
  const loaded = loadRuleSet(reference)
  if (!loaded.ok) inputError(`${flag} ${reference}: ${describeIssues(loaded.issues)}`)
  return loaded.ruleSet
}

function runList(options: { json?: boolean }): void {
  const presets = listPresets().map((preset) => ({
    id: preset.id,
    version: preset.version,
    effectiveDate: preset.effectiveDate,
    venue: preset.venue,
    reference: preset.latest ? preset.id : `${preset.id}@${preset.version}`,
  }))
  if (options.json === true) {
    process.stdout.write(`${JSON.stringify(presets, null, 2)}\n`)
    return
  }
  const width = Math.max(...presets.map((preset) => preset.reference.length))
  const lines = presets.map(
    (preset) =>
      `${preset.reference.padEnd(width)}  ${preset.version.padEnd(10)}  effective ${preset.effectiveDate}  ${preset.venue}`,
  )
  process.stdout.write(`${lines.join('\n')}\n`)
}

function runShow(reference: string): void {
  process.stdout.write(`${JSON.stringify(ruleSetToJson(load(reference, 'rules')), null, 2)}\n`)
}

function valueText(value: unknown): string {
  if (value === undefined) return '(none)'
  return typeof value === 'string' ? value : JSON.stringify(value)
}

/** The diff of two rule-set references; exported for tests. */
export function ruleDiff(
  from: string,
  to: string,
): { before: RuleSet; after: RuleSet; changes: RuleChange[] } {
  const before = load(from, 'from')
  const after = load(to, 'to')
  return { before, after, changes: diffRuleSets(before, after) }
}

function runDiff(from: string, to: string, options: DiffOptions): void {
  const { before, after, changes } = ruleDiff(from, to)
  const shown =
    options.all === true ? changes : changes.filter((change) => change.category === 'parameter')
  if (options.json === true) {
    const json = {
      from: { id: before.id, version: before.version, effectiveDate: before.effectiveDate },
      to: { id: after.id, version: after.version, effectiveDate: after.effectiveDate },
      changes: shown,
    }
    process.stdout.write(`${JSON.stringify(json, null, 2)}\n`)
    return
  }
  const metadata =
    changes.length - changes.filter((change) => change.category === 'parameter').length
  const lines = [
    `${before.id} ${before.version} → ${after.id} ${after.version}: ${changes.length - metadata} parameter changes${options.all === true || metadata === 0 ? '' : ` (${metadata} metadata changes hidden; --all shows them)`}`,
  ]
  for (const change of shown) {
    const detail =
      change.kind === 'changed'
        ? `${valueText(change.before)} → ${valueText(change.after)}`
        : change.kind === 'added'
          ? `added ${valueText(change.after)}`
          : `removed ${valueText(change.before)}`
    lines.push(`  ${change.path}: ${detail}`)
  }
  process.stdout.write(`${lines.join('\n')}\n`)
}

function decimal(text: string, where: string): Fixed {
  const parsed = parseFixed(text)
  if (!parsed.ok) inputError(`${where}: "${text}" is not a decimal number`)
  return parsed.value
}

function positive(text: string, where: string): Fixed {
  const value = decimal(text, where)
  if (value <= 0n) inputError(`${where}: ${text} must be greater than 0`)
  return value
}

function wholeNumber(text: string, where: string, minimum: number, maximum: number): number {
  if (!/^\d+$/.test(text) || Number(text) < minimum || Number(text) > maximum)
    inputError(`${where}: expected a whole number in ${minimum}..${maximum}`)
  return Number(text)
}

function parseMarks(values: readonly string[]): Map<string, Fixed> {
  const marks = new Map<string, Fixed>()
  for (const text of values) {
    const match = /^([^=\s]+)=(\S+)$/.exec(text)
    if (match === null) inputError(`--mark ${text}: expected MARKET=PRICE`)
    const [, market = '', price = ''] = match
    if (marks.has(market)) inputError(`--mark ${text}: ${market} is given twice`)
    marks.set(market, positive(price, `--mark ${text}`))
  }
  return marks
}

function requireMarket(ruleSet: RuleSet, market: string, where: string, role: string): void {
  if (!ruleSet.markets.has(market))
    inputError(
      `${where}: market "${market}" is not in the ${role} rule set ${ruleSet.id}@${ruleSet.version}`,
    )
}

/** Accounts built from `lor margin`-style flags (one cross account). */
function portfolioAccounts(
  before: RuleSet,
  after: RuleSet,
  options: ImpactOptions,
  marks: Map<string, Fixed>,
  volatilities: ReadonlyMap<string, Fixed>,
): Account[] {
  if (options.position.length === 0)
    inputError('give --position (with --wallet and --mark) or --population')
  if (options.wallet === undefined) inputError('--wallet is required with --position')
  const wallet = decimal(options.wallet, `--wallet ${options.wallet}`)
  const positions = new Map<string, Position>()
  const assets = new Set<string>()
  for (const text of options.position) {
    const match = /^([^:\s]+):([^@\s]+)@(\S+)$/.exec(text)
    if (match === null)
      inputError(`--position ${text}: expected MARKET:SIZE@ENTRY (e.g. BTCUSDT:-0.5@60000)`)
    const [, market = '', sizeText = '', entryText = ''] = match
    const flag = `--position ${text}`
    requireMarket(before, market, flag, '--from')
    requireMarket(after, market, flag, '--to')
    const rules = before.markets.get(market)
    if (rules === undefined) inputError(`${flag}: unknown market`)
    const size = decimal(sizeText, `${flag}: size`)
    if (size === 0n) inputError(`${flag}: size must not be 0`)
    if (!isMultipleOf(size, rules.instrument.lotSize))
      inputError(
        `${flag}: size is not a multiple of the lot size ${formatFixed(rules.instrument.lotSize)}`,
      )
    if (positions.has(market)) inputError(`${flag}: ${market} already has a position`)
    if (!marks.has(market)) inputError(`${flag}: missing --mark ${market}=PRICE`)
    requireOptionInputs(flag, rules.instrument, marks, volatilities, options.at)
    const entry = positive(entryText, `${flag}: entry price`)
    positions.set(market, {
      market,
      size,
      entryValue: entryValueOf(rules.instrument, size, entry),
      marginMode: 'cross',
      isolatedMargin: ZERO,
      leverage: null,
    })
    assets.add(rules.instrument.settlementAsset)
  }
  const asset = options.walletAsset ?? (assets.size === 1 ? [...assets][0] : undefined)
  if (asset === undefined)
    inputError('--wallet-asset is required when the positions settle in several assets')
  return [{ id: 'portfolio', balances: new Map([[asset, wallet]]), positions }]
}

/** A seeded population in one market of the `from` rule set (reuses the simulator's generator). */
function populationAccounts(
  before: RuleSet,
  after: RuleSet,
  options: ImpactOptions,
  marks: Map<string, Fixed>,
): Account[] {
  const count = wholeNumber(
    options.population ?? '',
    `--population ${options.population ?? ''}`,
    1,
    1_000_000,
  )
  const seed = wholeNumber(options.seed, `--seed ${options.seed}`, 0, 0xffff_ffff)
  const market = options.market ?? [...before.markets.keys()][0]
  if (market === undefined) inputError(`--from ${options.from}: the rule set has no markets`)
  requireMarket(before, market, `--market ${market}`, '--from')
  requireMarket(after, market, `--market ${market}`, '--to')
  const rules = before.markets.get(market)
  const mark = marks.get(market)
  if (rules === undefined) inputError(`--market ${market}: unknown market`)
  if (mark === undefined)
    inputError(`--population: give --mark ${market}=PRICE (the reference price)`)
  const spec = defaultPopulationSpec({
    seed,
    accountCount: count,
    markets: [
      {
        ...DEFAULT_POPULATION_MARKET,
        instrument: rules.instrument,
        referencePrice: mark,
        maxLeverage: Math.max(1, Math.floor(Number(formatFixed(rules.maxLeverage)))),
        roundNumberSteps: DEFAULT_POPULATION_MARKET.roundNumberSteps.filter((step) => step < mark),
      },
    ],
  })
  const checked = validatePopulationSpec(spec)
  if (!checked.ok)
    inputError(`--population: ${checked.issues[0]?.path ?? ''} ${checked.issues[0]?.message ?? ''}`)
  const instruments = new Map([[market, rules.instrument]])
  return generatePopulation(spec).accounts.map((account) => toEngineAccount(account, instruments))
}

/** Impact of a rule change on one account. */
export interface AccountImpact {
  readonly accountId: string
  readonly initialMarginBefore: Fixed
  readonly initialMarginAfter: Fixed
  readonly maintenanceMarginBefore: Fixed
  readonly maintenanceMarginAfter: Fixed
  readonly liquidatableBefore: boolean
  readonly liquidatableAfter: boolean
  readonly liquidationPrices: readonly {
    readonly market: string
    readonly before: Fixed | null
    readonly after: Fixed | null
  }[]
}

function liquidatable(risk: AccountRisk): boolean {
  return risk.groups.some(
    (group) =>
      crossGroupBreached(group) ||
      group.positions.some((position) => isolatedPositionBreached(position)),
  )
}

/** Evaluates every account under both rule sets at the same marks (RUL-D04). */
export function ruleChangeImpact(
  before: RuleSet,
  after: RuleSet,
  accounts: readonly Account[],
  marks: ReadonlyMap<string, Fixed>,
  optionValuation?: OptionValuation,
): AccountImpact[] {
  return accounts.map((account) => {
    const riskBefore = evaluateAccount(before, account, marks, undefined, optionValuation)
    const riskAfter = evaluateAccount(after, account, marks, undefined, optionValuation)
    const total = (
      risk: AccountRisk,
      pick: (group: AccountRisk['groups'][number]) => Fixed,
    ): Fixed => sum(risk.groups.map(pick))
    const positionsAfter = new Map(
      riskAfter.groups.flatMap((group) =>
        group.positions.map((position) => [position.market, position] as const),
      ),
    )
    return {
      accountId: account.id,
      initialMarginBefore: total(riskBefore, (group) => group.initialMargin),
      initialMarginAfter: total(riskAfter, (group) => group.initialMargin),
      maintenanceMarginBefore: total(riskBefore, (group) => group.maintenanceMargin),
      maintenanceMarginAfter: total(riskAfter, (group) => group.maintenanceMargin),
      liquidatableBefore: liquidatable(riskBefore),
      liquidatableAfter: liquidatable(riskAfter),
      liquidationPrices: riskBefore.groups.flatMap((group) =>
        group.positions.map((position) => ({
          market: position.market,
          before: position.liquidationPrice,
          after: positionsAfter.get(position.market)?.liquidationPrice ?? null,
        })),
      ),
    }
  })
}

function runImpact(options: ImpactOptions): void {
  const before = load(options.from, '--from')
  const after = load(options.to, '--to')
  const marks = parseMarks(options.mark)
  if (options.population !== undefined && options.position.length > 0)
    inputError('give either --position or --population, not both')
  const { volatilities, others } = optionMarketVolatilities(before, options.vol)
  const stray = others[0]
  if (stray !== undefined)
    inputError(
      `--vol ${stray}: ${stray.split('=')[0] ?? ''} is not an option market of ${before.id}`,
    )
  const accounts =
    options.population === undefined
      ? portfolioAccounts(before, after, options, marks, volatilities)
      : populationAccounts(before, after, options, marks)
  for (const market of marks.keys()) {
    requireMarket(before, market, `--mark ${market}`, '--from')
    requireMarket(after, market, `--mark ${market}`, '--to')
  }
  const limit = wholeNumber(options.limit, `--limit ${options.limit}`, 0, 1_000_000)
  const impacts = ruleChangeImpact(
    before,
    after,
    accounts,
    marks,
    optionValuationOfFlags(volatilities, options.at),
  )
  const text = (value: Fixed | null): string | null => (value === null ? null : formatFixed(value))
  const delta = (a: Fixed, b: Fixed): Fixed => sub(b, a)
  const summary = {
    accounts: impacts.length,
    initialMarginUp: impacts.filter((each) => each.initialMarginAfter > each.initialMarginBefore)
      .length,
    initialMarginDown: impacts.filter((each) => each.initialMarginAfter < each.initialMarginBefore)
      .length,
    maintenanceMarginUp: impacts.filter(
      (each) => each.maintenanceMarginAfter > each.maintenanceMarginBefore,
    ).length,
    maintenanceMarginDown: impacts.filter(
      (each) => each.maintenanceMarginAfter < each.maintenanceMarginBefore,
    ).length,
    becomeLiquidatable: impacts.filter((each) => each.liquidatableAfter && !each.liquidatableBefore)
      .length,
    noLongerLiquidatable: impacts.filter(
      (each) => each.liquidatableBefore && !each.liquidatableAfter,
    ).length,
    liquidationPriceMoved: impacts.filter((each) =>
      each.liquidationPrices.some((price) => price.before !== price.after),
    ).length,
    initialMarginDelta: formatFixed(
      sum(impacts.map((each) => delta(each.initialMarginBefore, each.initialMarginAfter))),
    ),
    maintenanceMarginDelta: formatFixed(
      sum(impacts.map((each) => delta(each.maintenanceMarginBefore, each.maintenanceMarginAfter))),
    ),
  }
  const accountJson = (each: AccountImpact) => ({
    accountId: each.accountId,
    initialMargin: {
      before: formatFixed(each.initialMarginBefore),
      after: formatFixed(each.initialMarginAfter),
      delta: formatFixed(delta(each.initialMarginBefore, each.initialMarginAfter)),
    },
    maintenanceMargin: {
      before: formatFixed(each.maintenanceMarginBefore),
      after: formatFixed(each.maintenanceMarginAfter),
      delta: formatFixed(delta(each.maintenanceMarginBefore, each.maintenanceMarginAfter)),
    },
    liquidatable: { before: each.liquidatableBefore, after: each.liquidatableAfter },
    liquidationPrices: each.liquidationPrices.map((price) => ({
      market: price.market,
      before: text(price.before),
      after: text(price.after),
    })),
  })
  if (options.json === true) {
    const json = {
      from: { id: before.id, version: before.version },
      to: { id: after.id, version: after.version },
      summary,
      accounts: impacts.map(accountJson),
    }
    process.stdout.write(`${JSON.stringify(json, null, 2)}\n`)
    return
  }
  const lines = [
    `${before.id} ${before.version} → ${after.id} ${after.version}: ${summary.accounts} accounts`,
    `initial margin: ${summary.initialMarginUp} up, ${summary.initialMarginDown} down, total change ${summary.initialMarginDelta}`,
    `maintenance margin: ${summary.maintenanceMarginUp} up, ${summary.maintenanceMarginDown} down, total change ${summary.maintenanceMarginDelta}`,
    `become liquidatable: ${summary.becomeLiquidatable}; no longer liquidatable: ${summary.noLongerLiquidatable}; liquidation price moved: ${summary.liquidationPriceMoved}`,
  ]
  // Most affected first: newly liquidatable, then by the size of the maintenance change, then id.
  const ranked = [...impacts].sort((a, b) => {
    const newA = a.liquidatableAfter && !a.liquidatableBefore
    const newB = b.liquidatableAfter && !b.liquidatableBefore
    if (newA !== newB) return newA ? -1 : 1
    const changeA = abs(delta(a.maintenanceMarginBefore, a.maintenanceMarginAfter))
    const changeB = abs(delta(b.maintenanceMarginBefore, b.maintenanceMarginAfter))
    if (changeA !== changeB) return changeA > changeB ? -1 : 1
    return a.accountId < b.accountId ? -1 : a.accountId > b.accountId ? 1 : 0
  })
  const listed = ranked.slice(0, limit)
  if (listed.length > 0) {
    lines.push(
      '',
      'account  IM before → after  MM before → after  liquidatable  liquidation prices',
    )
    for (const each of listed) {
      const prices = each.liquidationPrices
        .map(
          (price) => `${price.market} ${text(price.before) ?? '-'} → ${text(price.after) ?? '-'}`,
        )
        .join('; ')
      lines.push(
        `${each.accountId}  ${formatFixed(each.initialMarginBefore)} → ${formatFixed(each.initialMarginAfter)}  ${formatFixed(each.maintenanceMarginBefore)} → ${formatFixed(each.maintenanceMarginAfter)}  ${each.liquidatableBefore ? 'yes' : 'no'} → ${each.liquidatableAfter ? 'yes' : 'no'}  ${prices}`,
      )
    }
    if (ranked.length > listed.length)
      lines.push(`… ${ranked.length - listed.length} more (--limit, --json)`)
  }
  process.stdout.write(`${lines.join('\n')}\n`)
}
