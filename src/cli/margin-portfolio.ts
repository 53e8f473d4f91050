/**
 * `lor margin --model portfolio` and option positions (docs/portfolio-margin.md, PFM-030..PFM-038):
 * the account built from `lor margin`'s flags is margined as one portfolio under a scenario model
 * (SPAN-style or Deribit-style grid) instead of the venue's rates. Options are valued with
 * Black-76; an option at or past its expiry is settled at intrinsic value and leaves the portfolio.
 */
import { alignedLines } from './table.ts'
import {
  add,
  div,
  type Fixed,
  formatFixed,
  mul,
  ONE,
  parseFixed,
  sub,
  sum,
  ZERO,
} from '../core/num/fixed.ts'
import type { PositionRisk } from '../core/margin/evaluate.ts'
import { quotingOf } from '../core/model/instrument.ts'
import { black76, type OptionRight } from '../core/options/black76.ts'
import { type OptionSpec, settlementValue, timeToExpiryYears } from '../core/options/option.ts'
import { parsePortfolio } from '../core/portfolio/parse.ts'
import type { RuleSet } from '../core/rules/rule-set.ts'
import { inputError } from './errors.ts'
import { portfolioReport, portfolioReportLines, readDocumentFile } from './portfolio.ts'

/** The flags of `lor margin` that concern options and the portfolio model. */
export interface PortfolioFlags {
  readonly model?: string
  readonly portfolioRules?: string
  readonly option: readonly string[]
  readonly vol: readonly string[]
  readonly interestRate: readonly string[]
  readonly underlying: readonly string[]
  readonly expiry: readonly string[]
  readonly tte: readonly string[]
  readonly at?: string
}

/** An option given with `--option NAME:SIZE[@PREMIUM]`, before valuation. */
export interface OptionInput {
  readonly flag: string
  readonly name: string
  /** Base asset named by the option (e.g. BTC). */
  readonly base: string
  /** Expiry label, DDMMMYY (the option's tier). */
  readonly tier: string
  readonly right: OptionRight
  readonly strike: Fixed
  /** Expiry from the name at 08:00 UTC, or `--expiry`. */
  readonly expiryTimeMs: number
  readonly size: Fixed
  /** Premium per contract in the settlement asset (for unrealized PnL), if given. */
  readonly premium: Fixed | null
}

const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC']
/** Hour (UTC) of the expiry named by an option's date: Deribit's 08:00 UTC. */
const EXPIRY_HOUR_UTC = 8

function decimal(text: string, where: string): Fixed {
  const parsed = parseFixed(text)
  if (!parsed.ok) inputError(`${where}: "${text}" is not a decimal number`)
  return parsed.value
}

/** `now`, a date (UTC midnight) or an ISO-8601 time with a zone: milliseconds since the epoch. */
export function parseTime(text: string, where: string): number {
  if (text === 'now') return Date.now()
  const dateOnly = /^\d{4}-\d{2}-\d{2}$/.test(text)
  const zoned = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2})$/.test(text)
  const time = dateOnly || zoned ? Date.parse(dateOnly ? `${text}T00:00:00Z` : text) : Number.NaN
  if (!Number.isSafeInteger(time))
    inputError(
      `${where}: "${text}" is not a time (give YYYY-MM-DD, YYYY-MM-DDTHH:MMZ with a zone, or now)`,
    )
  return time
}

function expiryLabel(timeMs: number): string {
  const date = new Date(timeMs)
  return `${date.getUTCDate()}${MONTHS[date.getUTCMonth()] ?? ''}${String(date.getUTCFullYear() % 100).padStart(2, '0')}`
}

/** Parses `--option NAME:SIZE[@PREMIUM]`, NAME = BASE-DDMMMYY-STRIKE-C|P (PFM-030). */
export function parseOptions(values: readonly string[]): OptionInput[] {
  const seen = new Set<string>()
  return values.map((text) => {
    const flag = `--option ${text}`
    const match = /^([^:\s]+):([^@\s]+)(?:@(\S+))?$/.exec(text)
    if (match === null)
      inputError(`${flag}: expected NAME:SIZE[@PREMIUM] (e.g. BTC-27DEC24-55000-P:-2@0.02)`)
    const [, name = '', sizeText = '', premiumText] = match
    const named = /^([A-Za-z0-9]+)-(\d{1,2})([A-Za-z]{3})(\d{2})-(\d+(?:\.\d+)?)-([CPcp])$/.exec(
      name,
    )
    if (named === null)
      inputError(
        `${flag}: option name "${name}" is not BASE-DDMMMYY-STRIKE-C|P (e.g. BTC-27DEC24-55000-P)`,
      )
    const [
      ,
      base = '',
      dayText = '',
      monthText = '',
      yearText = '',
      strikeText = '',
      rightText = '',
    ] = named
    const month = MONTHS.indexOf(monthText.toUpperCase())
    const day = Number(dayText)
    const year = 2000 + Number(yearText)
    const expiryTimeMs = Date.UTC(year, month, day, EXPIRY_HOUR_UTC)
    if (month < 0 || new Date(expiryTimeMs).getUTCDate() !== day)
      inputError(`${flag}: "${dayText}${monthText}${yearText}" is not a date`)
    const size = decimal(sizeText, `${flag}: size`)
    if (size === 0n) inputError(`${flag}: size must not be 0`)
    const strike = decimal(strikeText, `${flag}: strike`)
    if (strike <= 0n) inputError(`${flag}: strike must be greater than 0`)
    const premium = premiumText === undefined ? null : decimal(premiumText, `${flag}: premium`)
    if (premium !== null && premium < 0n) inputError(`${flag}: premium must not be negative`)
    const key = name.toUpperCase()
    if (seen.has(key)) inputError(`${flag}: ${name} is given twice`)
    seen.add(key)
    return {
      flag,
      name,
      base: base.toUpperCase(),
      tier: expiryLabel(expiryTimeMs),
      right: rightText.toUpperCase() === 'C' ? 'call' : 'put',
      strike,
      expiryTimeMs,
      size,
      premium,
    }
  })
}

/** `[OPTION=]VALUE` flags: a bare value applies to every option without its own (PFM-031). */
function perOption(
  flag: string,
  values: readonly string[],
  options: readonly OptionInput[],
): { fallback: string | undefined; byOption: Map<string, string> } {
  let fallback: string | undefined
  const byOption = new Map<string, string>()
  const names = new Map(options.map((option) => [option.name.toUpperCase(), option.name]))
  for (const text of values) {
    const match = /^([^=\s]+)=(\S+)$/.exec(text)
    if (match === null) {
      if (/\s/.test(text) || text === '') inputError(`--${flag} ${text}: expected [OPTION=]VALUE`)
      if (fallback !== undefined)
        inputError(`--${flag} ${text}: a value for every option is given twice`)
      fallback = text
      continue
    }
    const [, option = '', value = ''] = match
    const name = names.get(option.toUpperCase())
    if (name === undefined) inputError(`--${flag} ${text}: no --option ${option}`)
    if (byOption.has(name)) inputError(`--${flag} ${text}: ${option} is given twice`)
    byOption.set(name, value)
  }
  return { fallback, byOption }
}

/** Refuses option and portfolio flags without `--model portfolio` (PFM-032). */
export function checkVenueModel(flags: PortfolioFlags, ruleSet: RuleSet): void {
  const first = flags.option[0]
  if (first !== undefined)
    inputError(
      `--option ${first}: options need --model portfolio (${ruleSet.id}'s margin model charges rates on position value, which is linear in the price; an option's risk is not, so it is margined by revaluing it under price and volatility scenarios)`,
    )
  const stray: [string, boolean][] = [
    ['--portfolio-rules', flags.portfolioRules !== undefined],
    ['--vol', flags.vol.length > 0],
    ['--interest-rate', flags.interestRate.length > 0],
    ['--underlying', flags.underlying.length > 0],
    ['--expiry', flags.expiry.length > 0],
    ['--tte', flags.tte.length > 0],
  ]
  const given = stray.find(([, present]) => present)
  if (given !== undefined) inputError(`${given[0]}: only with --model portfolio and --option`)
}

/** One option valued at the valuation time (PFM-033, PFM-034). */
interface ValuedOption {
  readonly input: OptionInput
  readonly underlyingMarket: string
  readonly settlementAsset: string
  readonly inverse: boolean
  readonly forward: Fixed
  readonly timeToExpiryYears: Fixed
  readonly volatility: Fixed | null
  readonly rate: Fixed
  readonly status: 'open' | 'settled'
  /** Black-76 value per unit of the underlying (quote asset); intrinsic value when settled. */
  readonly value: Fixed
  readonly delta: Fixed
  readonly gamma: Fixed
  readonly vega: Fixed
  /** Value of one contract in the settlement asset. */
  readonly contractValue: Fixed
  /** size × contract value: the option's part of equity (open), or its settlement cash. */
  readonly positionValue: Fixed
  readonly unrealizedPnl: Fixed | null
}

/** A future-like position of the account, as the portfolio model sees it. */
export interface PortfolioPositionInput {
  readonly flag: string
  readonly risk: PositionRisk
}

function valueOptions(
  inputs: readonly OptionInput[],
  flags: PortfolioFlags,
  at: number | undefined,
  ruleSet: RuleSet,
  marks: ReadonlyMap<string, Fixed>,
): ValuedOption[] {
  const vols = perOption('vol', flags.vol, inputs)
  const rates = perOption('interest-rate', flags.interestRate, inputs)
  const underlyings = perOption('underlying', flags.underlying, inputs)
  const expiries = perOption('expiry', flags.expiry, inputs)
  const ttes = perOption('tte', flags.tte, inputs)
  return inputs.map((input) => {
    const own = (choice: { fallback: string | undefined; byOption: Map<string, string> }) =>
      choice.byOption.get(input.name) ?? choice.fallback
    let underlyingMarket = own(underlyings)
    if (underlyingMarket === undefined) {
      const candidates = [...ruleSet.markets.values()]
        .filter((market) => market.instrument.baseAsset.toUpperCase() === input.base)
        .map((market) => market.instrument.market)
      if (candidates.length !== 1)
        inputError(
          `${input.flag}: give --underlying ${input.name}=MARKET (${ruleSet.id} has ${candidates.length === 0 ? `no market with base ${input.base}` : `several markets with base ${input.base}: ${candidates.join(', ')}`})`,
        )
      underlyingMarket = candidates[0] ?? ''
    }
    const market = ruleSet.markets.get(underlyingMarket)
    if (market === undefined)
      inputError(`${input.flag}: unknown underlying market "${underlyingMarket}" in ${ruleSet.id}`)
    const forward = marks.get(underlyingMarket)
    if (forward === undefined)
      inputError(`${input.flag}: missing --mark ${underlyingMarket}=PRICE (the underlying's price)`)
    const expiryText = own(expiries)
    const expiryTimeMs =
      expiryText === undefined
        ? input.expiryTimeMs
        : parseTime(expiryText, `--expiry ${input.name}=${expiryText}`)
    const tteText = own(ttes)
    let time: Fixed
    if (tteText !== undefined) {
      time = decimal(tteText, `--tte ${input.name}=${tteText}`)
      if (time < 0n) inputError(`--tte ${input.name}=${tteText}: must not be negative`)
    } else if (at !== undefined) {
      time = timeToExpiryYears(expiryTimeMs, at)
    } else {
      inputError(
        `${input.flag}: missing time to expiry: give --at TIME (valuation time, or "now") or --tte ${input.name}=YEARS`,
      )
    }
    const rateText = own(rates)
    const rate = rateText === undefined ? ZERO : decimal(rateText, `--interest-rate ${rateText}`)
    const instrument = market.instrument
    const inverse = quotingOf(instrument.kind) === 'inverse'
    const toSettlement = (perUnit: Fixed): Fixed =>
      inverse ? div(perUnit, forward, 'half_even') : perUnit
    const spec: OptionSpec = {
      market: input.name,
      underlyingMarket,
      right: input.right,
      strike: input.strike,
      expiryTimeMs,
      contractSize: ONE,
    }
    const base = {
      input,
      underlyingMarket,
      settlementAsset: instrument.settlementAsset,
      inverse,
      forward,
      timeToExpiryYears: time,
      rate,
    }
    if (time === 0n) {
      // Expiry settlement (OPT-007): intrinsic value at the underlying's price, paid in cash.
      const value = settlementValue(spec, forward)
      const contractValue = toSettlement(value)
      return {
        ...base,
        volatility: null,
        status: 'settled',
        value,
        delta: ZERO,
        gamma: ZERO,
        vega: ZERO,
        contractValue,
        positionValue: mul(input.size, contractValue, 'half_even'),
        unrealizedPnl: null,
      }
    }
    const volText = own(vols)
    if (volText === undefined)
      inputError(
        `${input.flag}: missing volatility: give --vol ${input.name}=VOL (e.g. 0.6 for 60 %) or --vol VOL for every option`,
      )
    const volatility = decimal(volText, `--vol ${input.name}=${volText}`)
    if (volatility <= 0n) inputError(`--vol ${input.name}=${volText}: must be greater than 0`)
    const greeks = black76({
      right: input.right,
      forward,
      strike: input.strike,
      timeToExpiryYears: time,
      volatility,
      rate,
    })
    const contractValue = toSettlement(greeks.value)
    return {
      ...base,
      volatility,
      status: 'open',
      value: greeks.value,
      delta: greeks.delta,
      gamma: greeks.gamma,
      vega: greeks.vega,
      contractValue,
      positionValue: mul(input.size, contractValue, 'half_even'),
      unrealizedPnl:
        input.premium === null
          ? null
          : mul(input.size, sub(contractValue, input.premium), 'half_even'),
    }
  })
}

/**
 * Built-in grid parameters: Deribit's legacy published portfolio margin (theory.md §2.5, W10):
 * ±10 % in 9 evenly spaced price moves (the current documentation's bucket count), vol shock
 * 38 % × (30 ÷ DTE)^0.30 (DTE below 1 taken as 1), 1 % futures calendar contingency, 0.01 per net
 * short option per strike. IM = MM: the IM/MM ratio was not published (PFM-035).
 */
export const BUILT_IN_GRID_UNDERLYINGS = ['BTC', 'ETH'] as const

function builtInGrid(products: readonly string[], inverse: boolean): Record<string, unknown> {
  return {
    products: products.map((id) => ({ id, contractSize: '1' })),
    priceMoves: ['-0.1', '-0.075', '-0.05', '-0.025', '0', '0.025', '0.05', '0.075', '0.1'],
    volatilityShock: { base: '0.38', referenceDays: '30', exponent: '0.3', minimumDays: '1' },
    settlement: inverse ? 'inverse' : 'linear',
    futuresCalendarContingency: '0.01',
    netShortOptionContingency: '0.01',
    initialMarginMultiplier: '1',
  }
}

function tierOf(risk: PositionRisk, ruleSet: RuleSet): string {
  const expiry = ruleSet.markets.get(risk.market)?.instrument.expiryTimeMs
  return expiry === undefined ? 'PERP' : expiryLabel(expiry)
}

/**
 * The rule set's own `portfolioMargin` model section (PFM-040), when it has one whose products are
 * the positions' underlyings in units of the underlying (contract size 1), as `deribit-pm` does.
 */
function ownSection(ruleSet: RuleSet, products: readonly string[]): RulesSource | null {
  const section = ruleSet.portfolioMargin
  if (section === undefined) return null
  const listed = section.model === 'span' ? section.span.products : section.grid.products
  const usable = products.every((product) =>
    listed.some((each) => each.id === product && each.contractSize === ONE),
  )
  const source = section.source as Record<string, unknown>
  if (!usable) return null
  return {
    document: { model: section.model, [section.model]: source[section.model] },
    where: `${ruleSet.id} portfolioMargin`,
    label: `${ruleSet.id}'s own portfolioMargin (${section.model})`,
  }
}

interface RulesSource {
  readonly document: Record<string, unknown>
  readonly where: string
  readonly label: string
}

function rulesSource(
  flags: PortfolioFlags,
  products: readonly string[],
  inverse: boolean,
  ruleSet: RuleSet,
): RulesSource {
  const own = ownSection(ruleSet, products)
  if (flags.portfolioRules === undefined && own !== null) return own
  if (flags.portfolioRules === undefined) {
    const unknown = products.filter(
      (product) => !(BUILT_IN_GRID_UNDERLYINGS as readonly string[]).includes(product),
    )
    if (unknown.length > 0)
      inputError(
        `--model portfolio: no built-in portfolio parameters for ${unknown.join(', ')} (built in: ${BUILT_IN_GRID_UNDERLYINGS.join(', ')}); give --portfolio-rules FILE`,
      )
    return {
      document: {
        model: 'grid',
        description: "built-in: Deribit's published grid parameters",
        grid: builtInGrid(products, inverse),
      },
      where: 'built-in parameters',
      label: "built-in grid (Deribit's published parameters)",
    }
  }
  const file = flags.portfolioRules
  const where = `--portfolio-rules ${file}`
  const document = readDocumentFile(file, where)
  if (typeof document !== 'object' || document === null || Array.isArray(document))
    inputError(`${where}: expected an object with model and a span: or grid: section`)
  const object = document as Record<string, unknown>
  for (const key of ['instruments', 'positions'])
    if (key in object)
      inputError(
        `${where}: ${key}: not read here (lor margin takes instruments and positions from --position and --option)`,
      )
  const section = object.model === 'span' ? object.span : object.grid
  const listed =
    typeof section === 'object' && section !== null && 'products' in section
      ? section.products
      : undefined
  if (Array.isArray(listed))
    listed.forEach((product: unknown, index) => {
      const size = (product as { contractSize?: unknown } | null)?.contractSize
      const parsed = typeof size === 'string' ? parseFixed(size) : undefined
      if (size !== undefined && !(parsed?.ok === true && parsed.value === ONE))
        inputError(
          `${where}: ${String(object.model)}.products[${index}].contractSize: must be "1" here (positions enter in units of the underlying)`,
        )
    })
  if (object.model === 'span' && inverse)
    inputError(
      `${where}: the span model margins in the quote asset; these positions settle in their base asset (inverse): use a grid with settlement: inverse`,
    )
  if (object.model === 'grid' && typeof section === 'object' && section !== null) {
    const settlement = (section as { settlement?: unknown }).settlement
    const wanted = inverse ? 'inverse' : 'linear'
    if (settlement !== undefined && settlement !== wanted)
      inputError(
        `${where}: grid.settlement: ${JSON.stringify(settlement)}, but the positions settle ${inverse ? 'in their base asset (inverse)' : 'in the quote asset (linear)'}: use ${wanted}`,
      )
  }
  return { document: object, where, label: file }
}

/** The portfolio margin report of `lor margin --model portfolio` (PFM-033..PFM-037). */
export interface PortfolioMarginReport {
  readonly preset: { readonly id: string; readonly version: string; readonly effectiveDate: string }
  readonly model: 'portfolio'
  readonly portfolioRules: string
  readonly valuationTime: string | null
  readonly walletAsset: string
  readonly walletBalance: string
  readonly unrealizedPnl: string
  readonly optionValue: string
  readonly optionSettlement: string
  readonly equity: string
  readonly initialMargin: string
  readonly maintenanceMargin: string
  readonly marginExcess: string
  readonly liquidatable: boolean
  readonly positions: readonly Record<string, string>[]
  readonly options: readonly Record<string, string | null>[]
  readonly portfolio: Record<string, unknown>
}

/** Margins the account as one portfolio (PFM-033..PFM-037). */
export function portfolioMarginReport(input: {
  readonly ruleSet: RuleSet
  readonly walletAsset: string
  readonly wallet: Fixed
  readonly equity: Fixed
  readonly positions: readonly PortfolioPositionInput[]
  readonly options: readonly OptionInput[]
  readonly marks: ReadonlyMap<string, Fixed>
  readonly flags: PortfolioFlags
}): PortfolioMarginReport {
  const { ruleSet, walletAsset, flags } = input
  if (input.options.length === 0) {
    const stray = (
      [
        ['--vol', flags.vol],
        ['--interest-rate', flags.interestRate],
        ['--underlying', flags.underlying],
        ['--expiry', flags.expiry],
        ['--tte', flags.tte],
      ] as const
    ).find(([, values]) => values.length > 0)
    if (stray !== undefined)
      inputError(`${stray[0]} ${stray[1][0] ?? ''}: no --option to apply it to`)
  }
  const at = flags.at === undefined ? undefined : parseTime(flags.at, `--at ${flags.at}`)
  const valued = valueOptions(input.options, flags, at, ruleSet, input.marks)
  const legs: { flag: string; product: string; settlementAsset: string; inverse: boolean }[] = []
  const instruments: Record<string, unknown>[] = []
  const positions: Record<string, unknown>[] = []
  for (const { flag, risk } of input.positions) {
    const instrument = ruleSet.markets.get(risk.market)?.instrument
    if (instrument === undefined) inputError(`${flag}: unknown market "${risk.market}"`)
    const inverse = quotingOf(instrument.kind) === 'inverse'
    legs.push({
      flag,
      product: instrument.baseAsset,
      settlementAsset: instrument.settlementAsset,
      inverse,
    })
    instruments.push({
      market: risk.market,
      kind: 'future',
      product: instrument.baseAsset,
      tier: tierOf(risk, ruleSet),
      price: formatFixed(risk.markPrice),
    })
    positions.push({
      market: risk.market,
      size: formatFixed(underlyingAmount(risk, instrument.contractSize, inverse)),
    })
  }
  for (const option of valued) {
    const product = ruleSet.markets.get(option.underlyingMarket)?.instrument.baseAsset ?? ''
    legs.push({
      flag: option.input.flag,
      product,
      settlementAsset: option.settlementAsset,
      inverse: option.inverse,
    })
    if (option.status === 'settled') continue
    instruments.push({
      market: option.input.name,
      kind: 'option',
      product,
      tier: option.input.tier,
      right: option.input.right,
      strike: formatFixed(option.input.strike),
      underlyingPrice: formatFixed(option.forward),
      timeToExpiryYears: formatFixed(option.timeToExpiryYears),
      volatility: formatFixed(option.volatility ?? ZERO),
      rate: formatFixed(option.rate),
    })
    positions.push({ market: option.input.name, size: formatFixed(option.input.size) })
  }
  const other = legs.find((leg) => leg.settlementAsset !== walletAsset)
  if (other !== undefined)
    inputError(
      `${other.flag}: settles in ${other.settlementAsset}, the wallet in ${walletAsset}: portfolio margin is computed per settlement asset`,
    )
  const products = [...new Set(legs.map((leg) => leg.product))]
  const inverse = legs.some((leg) => leg.inverse)
  const source = rulesSource(flags, products, inverse, ruleSet)
  let portfolio: Record<string, unknown>
  if (instruments.length === 0) {
    portfolio = {
      model: String(source.document.model),
      description: '',
      requirement: '0',
      legsTotal: '0',
      reduction: '0',
      offsets: [],
    }
  } else {
    const parsed = parsePortfolio({ ...source.document, instruments, positions })
    if (!parsed.ok) {
      const first = parsed.issues[0]
      const path = first?.path ?? ''
      const index = /^(?:instruments|positions)\[(\d+)\]/.exec(path)
      const flag = index === null ? undefined : legsOpen(legs, valued)[Number(index[1])]
      inputError(
        flag === undefined
          ? `${source.where}: ${path === '' ? '' : `${path}: `}${first?.message ?? 'invalid portfolio rules'}${parsed.issues.length > 1 ? ` (and ${parsed.issues.length - 1} more)` : ''}`
          : `${flag}: ${first?.message ?? 'invalid'} (in ${source.where})`,
      )
    }
    portfolio = portfolioReport(parsed.portfolio)
  }
  const maintenance = decimal(String(portfolio.requirement), 'requirement')
  const initial =
    typeof portfolio.initialMargin === 'string'
      ? decimal(portfolio.initialMargin, 'initial margin')
      : maintenance
  const openValue = sum(
    valued.filter((option) => option.status === 'open').map((option) => option.positionValue),
  )
  const settledValue = sum(
    valued.filter((option) => option.status === 'settled').map((option) => option.positionValue),
  )
  const equity = add(input.equity, add(openValue, settledValue))
  const text = (value: Fixed | null): string | null => (value === null ? null : formatFixed(value))
  return {
    preset: { id: ruleSet.id, version: ruleSet.version, effectiveDate: ruleSet.effectiveDate },
    model: 'portfolio',
    portfolioRules: source.label,
    valuationTime: at === undefined ? null : new Date(at).toISOString(),
    walletAsset,
    walletBalance: formatFixed(input.wallet),
    unrealizedPnl: formatFixed(sub(input.equity, input.wallet)),
    optionValue: formatFixed(openValue),
    optionSettlement: formatFixed(settledValue),
    equity: formatFixed(equity),
    initialMargin: formatFixed(initial),
    maintenanceMargin: formatFixed(maintenance),
    marginExcess: formatFixed(sub(equity, maintenance)),
    liquidatable: equity < maintenance,
    positions: input.positions.map(({ risk }) => {
      const instrument = ruleSet.markets.get(risk.market)?.instrument
      const inverse = instrument !== undefined && quotingOf(instrument.kind) === 'inverse'
      return {
        market: risk.market,
        size: formatFixed(risk.size),
        entryPrice: formatFixed(risk.entryPrice),
        markPrice: formatFixed(risk.markPrice),
        notional: formatFixed(risk.notional),
        unrealizedPnl: formatFixed(risk.unrealizedPnl),
        underlyingAmount: formatFixed(
          underlyingAmount(risk, instrument?.contractSize ?? ONE, inverse),
        ),
      }
    }),
    options: valued.map((option) => ({
      market: option.input.name,
      underlyingMarket: option.underlyingMarket,
      right: option.input.right,
      strike: formatFixed(option.input.strike),
      expiry: new Date(option.input.expiryTimeMs).toISOString(),
      status: option.status,
      size: formatFixed(option.input.size),
      underlyingPrice: formatFixed(option.forward),
      timeToExpiryYears: formatFixed(option.timeToExpiryYears),
      volatility: text(option.volatility),
      rate: formatFixed(option.rate),
      value: formatFixed(option.value),
      delta: formatFixed(option.delta),
      gamma: formatFixed(option.gamma),
      vega: formatFixed(option.vega),
      contractValue: formatFixed(option.contractValue),
      positionValue: formatFixed(option.positionValue),
      positionDelta: formatFixed(mul(option.input.size, option.delta, 'half_even')),
      premium: text(option.input.premium),
      unrealizedPnl: text(option.unrealizedPnl),
    })),
    portfolio,
  }
}

/** The flags of the legs that enter the portfolio, in instrument order (settled options left out). */
function legsOpen(legs: readonly { flag: string }[], valued: readonly ValuedOption[]): string[] {
  const settled = new Set(
    valued.filter((option) => option.status === 'settled').map((option) => option.input.flag),
  )
  return legs.map((leg) => leg.flag).filter((flag) => !settled.has(flag))
}

/** Units of the underlying a position holds: linear size × contract size; inverse size × contract size ÷ mark. */
function underlyingAmount(risk: PositionRisk, contractSize: Fixed, inverse: boolean): Fixed {
  const amount = mul(risk.size, contractSize, 'exact')
  return inverse ? div(amount, risk.markPrice, 'half_even') : amount
}

/** Plain-text report: account line, the portfolio lines of `lor portfolio`, positions and options. */
export function renderPortfolioMargin(report: PortfolioMarginReport): string {
  const lines = [
    `${report.preset.id} ${report.preset.version} (effective ${report.preset.effectiveDate}), wallet ${report.walletBalance} ${report.walletAsset}, portfolio margin: ${report.portfolioRules}${report.valuationTime === null ? '' : `, at ${report.valuationTime}`}`,
    `equity ${report.equity} (wallet ${report.walletBalance}, futures uPnL ${report.unrealizedPnl}, options ${report.optionValue}, settled options ${report.optionSettlement})`,
    `initial margin ${report.initialMargin}  maintenance margin ${report.maintenanceMargin}  excess ${report.marginExcess}  ${report.liquidatable ? 'LIQUIDATABLE: equity below maintenance margin' : 'not liquidatable'}`,
    '',
    ...portfolioReportLines(report.portfolio),
  ]
  const table = (headers: readonly string[], rows: readonly (readonly string[])[]): string[] => [
    '',
    ...alignedLines(headers, rows),
  ]
  if (report.positions.length > 0)
    lines.push(
      ...table(
        ['market', 'size', 'entry', 'mark', 'uPnL', 'underlying units'],
        report.positions.map((position) => [
          position.market ?? '',
          position.size ?? '',
          position.entryPrice ?? '',
          position.markPrice ?? '',
          position.unrealizedPnl ?? '',
          position.underlyingAmount ?? '',
        ]),
      ),
    )
  if (report.options.length > 0)
    lines.push(
      ...table(
        [
          'option',
          'size',
          'status',
          'F',
          'T (years)',
          'σ',
          'value',
          'delta',
          'gamma',
          'vega',
          'position value',
        ],
        report.options.map((option) => [
          option.market ?? '',
          option.size ?? '',
          option.status ?? '',
          option.underlyingPrice ?? '',
          formatFixed(decimal(option.timeToExpiryYears ?? '0', 'T'), 6),
          option.volatility ?? '-',
          formatFixed(decimal(option.value ?? '0', 'value'), 6),
          formatFixed(decimal(option.delta ?? '0', 'delta'), 6),
          formatFixed(decimal(option.gamma ?? '0', 'gamma'), 8),
          formatFixed(decimal(option.vega ?? '0', 'vega'), 6),
          option.positionValue ?? '',
        ]),
      ),
    )
  return `${lines.join('\n')}\n`
}
