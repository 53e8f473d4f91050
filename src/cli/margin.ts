/**
 * `lor margin`: a trader's margin calculator over a preset or a rule-set file (docs/presets.md,
 * CLI-001..CLI-006). It builds an account from the flags, evaluates it with the core margin
 * engine and prints equity, requirements, margin ratio and each position's liquidation price.
 * With `--model portfolio` the same account, plus any `--option`, is margined as one portfolio
 * under a scenario model instead (docs/portfolio-margin.md, PFM-030..PFM-038).
 */
import { alignedLines } from './table.ts'
import type { Command } from 'commander'
import type { Account, Position } from '../core/model/account.ts'
import { entryValueOf } from '../core/model/position-math.ts'
import type { PortfolioGroupMargin } from '../core/margin/portfolio-margin.ts'
import {
  evaluateAccount,
  type PositionRisk,
  type SettlementGroupRisk,
} from '../core/margin/evaluate.ts'
import {
  div,
  type Fixed,
  formatFixed,
  isMultipleOf,
  mul,
  ONE,
  parseFixed,
} from '../core/num/fixed.ts'
import type { MarginModel, RuleSet } from '../core/rules/rule-set.ts'
import { loadRuleSet, overrideRuleSet } from '../presets/index.ts'
import { configureInputErrors, describeIssues, inputError, withInputErrors } from './errors.ts'
import {
  checkVenueModel,
  type PortfolioFlags,
  parseOptions,
  portfolioMarginReport,
  renderPortfolioMargin,
} from './margin-portfolio.ts'
import {
  optionMarketVolatilities,
  optionValuationOfFlags,
  requireOptionInputs,
} from './option-markets.ts'

interface MarginOptions extends PortfolioFlags {
  readonly preset?: string
  readonly rules?: string
  readonly wallet: string
  readonly walletAsset?: string
  readonly position: readonly string[]
  readonly mark: readonly string[]
  readonly isolated: readonly string[]
  readonly mmr: readonly string[]
  readonly imr: readonly string[]
  readonly leverage: readonly string[]
  readonly tick: readonly string[]
  readonly set: readonly string[]
  readonly json?: boolean
}

interface PositionInput {
  readonly market: string
  readonly size: Fixed
  readonly entryPrice: Fixed
  readonly flag: string
}

function collect(value: string, previous: readonly string[]): string[] {
  return [...previous, value]
}

/** Registers `lor margin` on the program. */
export function registerMarginCommand(program: Command): void {
  const command = program
    .command('margin')
    .description('Margin, margin ratio and liquidation prices of an account under a venue preset')
    .option('--preset <id>', 'preset id, optionally with @version (e.g. binance-usdm@2020-05-01)')
    .option('--rules <file>', 'rule-set file (JSON or YAML) instead of a preset')
    .requiredOption('--wallet <amount>', 'wallet balance in the settlement asset')
    .option('--wallet-asset <asset>', 'asset of --wallet when the rule set settles in several')
    .option(
      '--position <market:size@entry>',
      'position: signed size in contracts at an entry price (repeatable)',
      collect,
      [],
    )
    .option('--mark <market=price>', 'mark price of a market (repeatable)', collect, [])
    .option(
      '--isolated <market=margin>',
      'isolated margin posted to a position (repeatable)',
      collect,
      [],
    )
    .option('--mmr <market=rate>', 'flat maintenance rate for a market (repeatable)', collect, [])
    .option('--imr <market=rate>', 'flat initial rate for a market (repeatable)', collect, [])
    .option('--leverage <market=n>', 'leverage picked for a position (repeatable)', collect, [])
    .option(
      '--tick <market=size>',
      'tick size of a market (default 0.01 for added markets)',
      collect,
      [],
    )
    .option(
      '--set <path=value>',
      'override a rule-set field, e.g. markets.BTCUSDT.takerFeeRate=0.0005 (repeatable)',
      collect,
      [],
    )
    .option(
      '--model <model>',
      "venue (the rule set's own margin model, default) or portfolio (scenario margin of the whole account)",
    )
    .option(
      '--portfolio-rules <file>',
      'portfolio model parameters: a file with model and a span: or grid: section (default: built-in grid for BTC, ETH)',
    )
    .option(
      '--option <name:size[@premium]>',
      'option position, NAME = BASE-DDMMMYY-STRIKE-C|P, premium per contract in the settlement asset (repeatable; needs --model portfolio)',
      collect,
      [],
    )
    .option('--vol <[option=]vol>', 'implied volatility, e.g. 0.6 (repeatable)', collect, [])
    .option(
      '--interest-rate <[option=]rate>',
      'Black-76 discount rate (default 0; repeatable)',
      collect,
      [],
    )
    .option(
      '--underlying <[option=]market>',
      "an option's underlying market (default: the one market with the option's base asset)",
      collect,
      [],
    )
    .option(
      '--expiry <[option=]time>',
      "expiry time (default: the name's date at 08:00 UTC)",
      collect,
      [],
    )
    .option('--tte <[option=]years>', 'time to expiry in years instead of --at', collect, [])
    .option('--at <time>', 'valuation time: YYYY-MM-DD, YYYY-MM-DDTHH:MMZ, or now')
    .option('--json', 'print one JSON object with decimal strings')
    .action(withInputErrors((options: MarginOptions) => runMargin(options)))
  configureInputErrors(command)
}

function decimal(text: string, where: string): Fixed {
  const parsed = parseFixed(text)
  if (!parsed.ok) inputError(`${where}: "${text}" is not a decimal number`)
  return parsed.value
}

function positiveDecimal(text: string, where: string): Fixed {
  const value = decimal(text, where)
  if (value <= 0n) inputError(`${where}: ${text} must be greater than 0`)
  return value
}

/** Splits `MARKET=VALUE` flags into a map, refusing malformed and repeated entries. */
function pairs(flag: string, values: readonly string[]): Map<string, string> {
  const result = new Map<string, string>()
  for (const text of values) {
    const match = /^([^=\s]+)=(\S+)$/.exec(text)
    if (match === null) inputError(`--${flag} ${text}: expected MARKET=VALUE`)
    const [, market = '', value = ''] = match
    if (result.has(market)) inputError(`--${flag} ${text}: ${market} is given twice`)
    result.set(market, value)
  }
  return result
}

function parsePositions(values: readonly string[]): PositionInput[] {
  const seen = new Set<string>()
  return values.map((text) => {
    const match = /^([^:\s]+):([^@\s]+)@(\S+)$/.exec(text)
    if (match === null)
      inputError(`--position ${text}: expected MARKET:SIZE@ENTRY (e.g. BTCUSDT:-0.005@9451.53)`)
    const [, market = '', sizeText = '', entryText = ''] = match
    const flag = `--position ${text}`
    const size = decimal(sizeText, `${flag}: size`)
    if (size === 0n) inputError(`${flag}: size must not be 0`)
    const entryPrice = positiveDecimal(entryText, `${flag}: entry price`)
    if (seen.has(market))
      inputError(`${flag}: ${market} already has a position (one position per market)`)
    seen.add(market)
    return { market, size, entryPrice, flag }
  })
}

/** The first rates of a margin model: what a flat override keeps when only one rate is given. */
function baseRates(model: MarginModel): { maintenance: Fixed; initial: Fixed } {
  switch (model.kind) {
    case 'tiered': {
      const first = model.tiers[0]
      return first === undefined
        ? { maintenance: ONE, initial: ONE }
        : { maintenance: first.maintenanceRate, initial: first.initialRate }
    }
    case 'risk_limit_steps':
    case 'linear_in_size':
      return { maintenance: model.maintenanceRateBase, initial: model.initialRateBase }
    case 'open_interest_scaled':
      return {
        maintenance: mul(model.initialRate, model.maintenanceFraction, 'ceil'),
        initial: model.initialRate,
      }
  }
}

function settlementAssets(ruleSet: RuleSet): string[] {
  return [
    ...new Set([...ruleSet.markets.values()].map((market) => market.instrument.settlementAsset)),
  ].sort()
}

function decimalsOf(text: string): number {
  const dot = text.indexOf('.')
  return dot < 0 ? 0 : text.length - dot - 1
}

/** Rule-set patch for flat rates, added markets and tick sizes (CLI-003). */
function ruleSetPatch(
  ruleSet: RuleSet,
  positions: readonly PositionInput[],
  options: MarginOptions,
  settlementAsset: string | undefined,
): { markets: Record<string, unknown>[] } | undefined {
  const mmr = pairs('mmr', options.mmr)
  const imr = pairs('imr', options.imr)
  const ticks = pairs('tick', options.tick)
  const markets = new Map<string, Record<string, unknown>>()
  const entryFor = (market: string): Record<string, unknown> => {
    const entry = markets.get(market) ?? { market }
    markets.set(market, entry)
    return entry
  }
  const named = new Set([
    ...positions.map((position) => position.market),
    ...mmr.keys(),
    ...imr.keys(),
    ...ticks.keys(),
  ])
  for (const market of named) {
    const known = ruleSet.markets.get(market)
    const maintenanceText = mmr.get(market)
    const initialText = imr.get(market)
    const where =
      positions.find((position) => position.market === market)?.flag ??
      `--mmr/--imr/--tick ${market}`
    if (known === undefined) {
      if (maintenanceText === undefined || initialText === undefined) {
        const list = [...ruleSet.markets.keys()].join(', ')
        inputError(
          `${where}: unknown market "${market}" in ${ruleSet.id} (markets: ${list}; give --mmr and --imr to add it)`,
        )
      }
      if (settlementAsset === undefined)
        inputError(`${where}: give --wallet-asset to add market ${market}`)
      const initial = positiveDecimal(initialText, `--imr ${market}=${initialText}`)
      const sizeText =
        positions
          .find((position) => position.market === market)
          ?.flag.split(':')[1]
          ?.split('@')[0] ?? '1'
      const base =
        market.endsWith(settlementAsset) && market.length > settlementAsset.length
          ? market.slice(0, -settlementAsset.length)
          : market
      Object.assign(entryFor(market), {
        kind: 'linear_perpetual',
        baseAsset: /^[A-Za-z0-9]+$/.test(base) ? base : 'BASE',
        quoteAsset: settlementAsset,
        settlementAsset,
        contractSize: '1',
        tickSize: ticks.get(market) ?? '0.01',
        lotSize: formatFixed(
          div(ONE, (10n ** BigInt(Math.min(18, decimalsOf(sizeText))) * ONE) as Fixed, 'exact'),
        ),
        makerFeeRate: '0',
        takerFeeRate: '0',
        liquidationFeeRate: '0',
        maxLeverage: formatFixed(div(ONE, initial, 'floor')),
      })
    } else if (ticks.has(market)) {
      entryFor(market).tickSize = ticks.get(market)
    }
    if (maintenanceText !== undefined || initialText !== undefined) {
      const fallback = known === undefined ? undefined : baseRates(known.margin)
      const maintenance = maintenanceText ?? formatFixed(fallback?.maintenance ?? ONE)
      const initial = initialText ?? formatFixed(fallback?.initial ?? ONE)
      decimal(maintenance, `--mmr ${market}=${maintenance}`)
      decimal(initial, `--imr ${market}=${initial}`)
      entryFor(market).margin = {
        kind: 'tiered',
        basis: 'value',
        tiers: [{ cap: null, maintenanceRate: maintenance, initialRate: initial }],
      }
    }
  }
  return markets.size === 0 ? undefined : { markets: [...markets.values()] }
}

function loadRules(options: MarginOptions): RuleSet {
  if (options.preset !== undefined && options.rules !== undefined)
    inputError('give either --preset or --rules, not both')
  const source = options.preset ?? options.rules
  if (source === undefined) inputError('give --preset <id> or --rules <file>')
  const loaded = loadRuleSet(source, { assignments: options.set })
  if (!loaded.ok)
    inputError(
      `${options.preset === undefined ? '--rules' : '--preset'} ${source}: ${describeIssues(loaded.issues)}`,
    )
  return loaded.ruleSet
}

function chooseWalletAsset(
  ruleSet: RuleSet,
  options: MarginOptions,
  positions: readonly PositionInput[],
  optionBases: readonly string[] = [],
): string | undefined {
  const assets = settlementAssets(ruleSet)
  if (options.walletAsset !== undefined) {
    if (!/^[A-Za-z0-9]+$/.test(options.walletAsset))
      inputError(`--wallet-asset ${options.walletAsset}: not an asset name`)
    return options.walletAsset
  }
  if (assets.length === 1) return assets[0]
  const used = new Set(
    positions.flatMap((position) => {
      const market = ruleSet.markets.get(position.market)
      return market === undefined ? [] : [market.instrument.settlementAsset]
    }),
  )
  for (const market of ruleSet.markets.values())
    if (optionBases.includes(market.instrument.baseAsset.toUpperCase()))
      used.add(market.instrument.settlementAsset)
  if (used.size === 1) return [...used][0]
  return undefined
}

function runMargin(options: MarginOptions): void {
  const model = options.model ?? 'venue'
  if (model !== 'venue' && model !== 'portfolio')
    inputError(`--model ${model}: expected venue or portfolio`)
  const positions = parsePositions(options.position)
  const optionInputs = parseOptions(options.option)
  let ruleSet = loadRules(options)
  // Volatilities of the rule set's own option markets (OPT-023) belong to either model; the
  // others are the calculator options'.
  const { volatilities: marketVolatilities, others: otherVolatilities } = optionMarketVolatilities(
    ruleSet,
    options.vol,
  )
  if (model === 'venue') checkVenueModel({ ...options, vol: otherVolatilities }, ruleSet)
  else if (options.isolated.length > 0 || options.leverage.length > 0)
    inputError(
      `${options.isolated.length > 0 ? '--isolated' : '--leverage'}: not with --model portfolio (the whole account is margined together, in cross)`,
    )
  const walletAsset = chooseWalletAsset(
    ruleSet,
    options,
    positions,
    optionInputs.map((option) => option.base),
  )
  const patch = ruleSetPatch(ruleSet, positions, options, walletAsset)
  if (patch !== undefined) {
    const overridden = overrideRuleSet(ruleSet, { patches: [patch] })
    if (!overridden.ok) inputError(`--mmr/--imr/--tick: ${describeIssues(overridden.issues)}`)
    ruleSet = overridden.ruleSet
  }
  if (walletAsset === undefined) {
    inputError(
      `--wallet ${options.wallet}: give --wallet-asset (${ruleSet.id} settles in ${settlementAssets(ruleSet).join(', ')})`,
    )
  }
  const wallet = decimal(options.wallet, `--wallet ${options.wallet}`)
  const marks = new Map<string, Fixed>()
  for (const [market, text] of pairs('mark', options.mark)) {
    if (!ruleSet.markets.has(market))
      inputError(`--mark ${market}=${text}: unknown market "${market}" in ${ruleSet.id}`)
    marks.set(market, positiveDecimal(text, `--mark ${market}=${text}`))
  }
  const isolated = pairs('isolated', options.isolated)
  const leverages = pairs('leverage', options.leverage)
  for (const market of [...isolated.keys(), ...leverages.keys()]) {
    if (!positions.some((position) => position.market === market)) {
      inputError(`--isolated/--leverage ${market}: no --position for ${market}`)
    }
  }
  const accountPositions = new Map<string, Position>()
  for (const input of positions) {
    const market = ruleSet.markets.get(input.market)
    if (market === undefined) inputError(`${input.flag}: unknown market "${input.market}"`)
    const lot = market.instrument.lotSize
    if (!isMultipleOf(input.size, lot)) {
      inputError(
        `${input.flag}: size ${formatFixed(input.size)} is not a multiple of the lot size ${formatFixed(lot)} of ${input.market}`,
      )
    }
    if (!marks.has(input.market)) inputError(`${input.flag}: missing --mark ${input.market}=PRICE`)
    requireOptionInputs(input.flag, market.instrument, marks, marketVolatilities, options.at)
    if (market.instrument.option !== undefined && isolated.has(input.market))
      inputError(`--isolated ${input.market}: options are cross-margined only`)
    const isolatedText = isolated.get(input.market)
    const isolatedMargin =
      isolatedText === undefined
        ? undefined
        : decimal(isolatedText, `--isolated ${input.market}=${isolatedText}`)
    if (isolatedMargin !== undefined && isolatedMargin < 0n)
      inputError(`--isolated ${input.market}=${isolatedText ?? ''}: margin must not be negative`)
    const leverageText = leverages.get(input.market)
    const leverage =
      leverageText === undefined
        ? null
        : decimal(leverageText, `--leverage ${input.market}=${leverageText}`)
    if (leverage !== null && (leverage < ONE || leverage > market.maxLeverage)) {
      inputError(
        `--leverage ${input.market}=${leverageText ?? ''}: must lie in [1, ${formatFixed(market.maxLeverage)}]`,
      )
    }
    accountPositions.set(input.market, {
      market: input.market,
      size: input.size,
      entryValue: entryValueOf(market.instrument, input.size, input.entryPrice),
      marginMode: isolatedMargin === undefined ? 'cross' : 'isolated',
      isolatedMargin: isolatedMargin ?? (0n as Fixed),
      leverage,
    })
  }
  const account: Account = {
    id: 'cli',
    balances: new Map([[walletAsset, wallet]]),
    positions: accountPositions,
  }
  const risk = evaluateAccount(
    ruleSet,
    account,
    marks,
    undefined,
    optionValuationOfFlags(marketVolatilities, options.at),
  )
  if (model === 'portfolio') {
    const option = positions.find((input) => ruleSet.markets.get(input.market)?.instrument.option)
    if (option !== undefined)
      inputError(
        `${option.flag}: ${option.market} is an option market of ${ruleSet.id}, margined by the rule set's own portfolio model: drop --model portfolio (or give calculator options with --option)`,
      )
    const group = risk.groups.find((each) => each.asset === walletAsset)
    const flagOf = new Map(positions.map((input) => [input.market, input.flag]))
    const report = portfolioMarginReport({
      ruleSet,
      walletAsset,
      wallet,
      equity: group?.equity ?? wallet,
      positions: risk.groups.flatMap((each) =>
        each.positions.map((position) => ({
          flag: flagOf.get(position.market) ?? position.market,
          risk: position,
        })),
      ),
      options: optionInputs,
      marks,
      flags: options,
    })
    process.stdout.write(
      options.json === true
        ? `${JSON.stringify(report, null, 2)}\n`
        : renderPortfolioMargin(report),
    )
    return
  }
  const report = marginReport(ruleSet, walletAsset, risk.groups)
  process.stdout.write(
    options.json === true ? `${JSON.stringify(report, null, 2)}\n` : renderTable(report),
  )
}

function text(value: Fixed | null): string | null {
  return value === null ? null : formatFixed(value)
}

function positionJson(position: PositionRisk, asset: string): Record<string, string | null> {
  return {
    market: position.market,
    settlementAsset: asset,
    marginMode: position.marginMode,
    size: formatFixed(position.size),
    entryPrice: formatFixed(position.entryPrice),
    markPrice: formatFixed(position.markPrice),
    notional: formatFixed(position.notional),
    unrealizedPnl: formatFixed(position.unrealizedPnl),
    initialMargin: formatFixed(position.initialMargin),
    maintenanceMargin: formatFixed(position.maintenanceMargin),
    maintenanceRate: formatFixed(position.maintenanceRate),
    maintenanceDeduction: formatFixed(position.maintenanceDeduction),
    isolatedMargin: formatFixed(position.isolatedMargin),
    liquidationPrice: text(position.liquidationPrice),
    liquidationPriceExact: text(position.liquidationPriceExact),
    bankruptcyPrice: text(position.bankruptcyPrice),
    bankruptcyPriceExact: text(position.bankruptcyPriceExact),
  }
}

function groupJson(group: SettlementGroupRisk): Record<string, unknown> {
  return {
    asset: group.asset,
    walletBalance: formatFixed(group.walletBalance),
    equity: formatFixed(group.equity),
    initialMargin: formatFixed(group.initialMargin),
    maintenanceMargin: formatFixed(group.maintenanceMargin),
    marginRatio: text(group.marginRatio),
    positions: group.positions.map((position) => positionJson(position, group.asset)),
  }
}

interface MarginReport {
  readonly preset: { readonly id: string; readonly version: string; readonly effectiveDate: string }
  readonly walletAsset: string
  readonly walletBalance: string
  readonly equity: string
  readonly initialMargin: string
  readonly maintenanceMargin: string
  readonly marginRatio: string | null
  readonly positions: readonly Record<string, string | null>[]
  /** The rule set's portfolio requirement of the wallet asset's cross positions (PFM-042). */
  readonly portfolio?: PortfolioJson
  readonly groups?: readonly Record<string, unknown>[]
}

interface PortfolioJson {
  readonly model: 'span' | 'grid'
  readonly markets: readonly string[]
  readonly maintenanceMargin: string
  readonly initialMargin: string
  readonly legsTotal: string
  readonly offsets: readonly {
    kind: string
    product: string
    description: string
    amount: string
  }[]
}

function portfolioJson(portfolio: PortfolioGroupMargin): PortfolioJson {
  return {
    model: portfolio.model,
    markets: portfolio.markets,
    maintenanceMargin: formatFixed(portfolio.maintenanceMargin),
    initialMargin: formatFixed(portfolio.initialMargin),
    legsTotal: formatFixed(portfolio.legsTotal),
    offsets: portfolio.offsets.map((offset) => ({
      kind: offset.kind,
      product: offset.product,
      description: offset.description,
      amount: formatFixed(offset.amount),
    })),
  }
}

function marginReport(
  ruleSet: RuleSet,
  walletAsset: string,
  groups: readonly SettlementGroupRisk[],
): MarginReport {
  const main = groups.find((group) => group.asset === walletAsset)
  const zero = formatFixed(0n as Fixed)
  return {
    preset: { id: ruleSet.id, version: ruleSet.version, effectiveDate: ruleSet.effectiveDate },
    walletAsset,
    walletBalance: main === undefined ? zero : formatFixed(main.walletBalance),
    equity: main === undefined ? zero : formatFixed(main.equity),
    initialMargin: main === undefined ? zero : formatFixed(main.initialMargin),
    maintenanceMargin: main === undefined ? zero : formatFixed(main.maintenanceMargin),
    marginRatio: main === undefined ? null : text(main.marginRatio),
    positions: groups.flatMap((group) =>
      group.positions.map((position) => positionJson(position, group.asset)),
    ),
    ...(main?.portfolio == null ? {} : { portfolio: portfolioJson(main.portfolio) }),
    ...(groups.length > 1 ? { groups: groups.map(groupJson) } : {}),
  }
}

/** A plain-text table (no colours), numbers right-aligned. */
function renderTable(report: MarginReport): string {
  const ratio = report.marginRatio === null ? 'n/a (equity ≤ 0)' : report.marginRatio
  const lines = [
    `${report.preset.id} ${report.preset.version} (effective ${report.preset.effectiveDate}), wallet ${report.walletBalance} ${report.walletAsset}`,
    `equity ${report.equity}  initial margin ${report.initialMargin}  maintenance margin ${report.maintenanceMargin}  margin ratio ${ratio}`,
  ]
  const headers = [
    'market',
    'size',
    'entry',
    'mark',
    'notional',
    'uPnL',
    'initial',
    'maint.',
    'liq. price',
    'liq. exact',
    'bankruptcy',
  ]
  const keys = [
    'market',
    'size',
    'entryPrice',
    'markPrice',
    'notional',
    'unrealizedPnl',
    'initialMargin',
    'maintenanceMargin',
    'liquidationPrice',
    'liquidationPriceExact',
    'bankruptcyPrice',
  ]
  const rows = report.positions.map((position) => keys.map((key) => position[key] ?? '-'))
  if (rows.length > 0) {
    lines.push('', ...alignedLines(headers, rows))
  }
  const portfolio = report.portfolio
  if (portfolio !== undefined) {
    lines.push(
      '',
      `portfolio margin (${portfolio.model}) of ${portfolio.markets.join(', ')}: maintenance ${portfolio.maintenanceMargin}, initial ${portfolio.initialMargin}; legs alone ${portfolio.legsTotal}`,
      ...portfolio.offsets.map(
        (offset) => `  ${offset.amount.padStart(24)}  ${offset.kind}: ${offset.description}`,
      ),
    )
  }
  return `${lines.join('\n')}\n`
}
