/**
 * Rule-set files: validation into a `RuleSet` and the way back (docs/spec/rules.md, RUL-001..RUL-014).
 *
 * A rule-set file is JSON (or YAML) with every decimal written as a string ("0.004"), so nothing
 * passes through a float. `parseRuleSet` checks the whole document and reports every problem it
 * finds as an issue with a stable code and the path of the field (`markets[1].margin.tiers[2].cap`);
 * it never throws on bad input. Pure: the caller reads the file.
 */
import {
  abs,
  add,
  div,
  type Fixed,
  fixed,
  formatFixed,
  mul,
  neg,
  ONE,
  parseFixed,
  type Rounding,
  sub,
  ZERO,
} from '../num/fixed.ts'
import {
  type Instrument,
  type InstrumentKind,
  isDatedFuture,
  isOption,
  type OptionTerms,
  quotingOf,
} from '../model/instrument.ts'
import type { OptionRight } from '../options/black76.ts'
import type {
  AccountRules,
  LiquidationPriceRules,
  MaintenanceValuation,
  MarginModel,
  MarginTier,
  MarketRules,
  OptionFeeRule,
  PortfolioMarginRules,
  PriceDisplayRounding,
  RuleSet,
  TierBasis,
} from './rule-set.ts'
import {
  type LiquidationRulesJson,
  liquidationRulesToJson,
  readLiquidationRules,
} from './liquidation-rules.ts'
import { readPortfolioMarginRules } from './portfolio-margin-rules.ts'

/** One problem found in a rule-set document: stable snake_case code, field path, readable message. */
export interface RuleIssue {
  readonly code: string
  readonly path: string
  readonly message: string
}

/** Outcome of `parseRuleSet`: a validated rule set, or every issue found. */
export type ParseRuleSetResult =
  | { readonly ok: true; readonly ruleSet: RuleSet }
  | { readonly ok: false; readonly issues: readonly RuleIssue[] }

/** The file-format version this parser reads (`"$schemaVersion": 1`, optional). */
export const RULE_SET_SCHEMA_VERSION = 1

/** Written instead of a maintenance rate: half the tier's initial rate, 1 ÷ (2 × max leverage) (RUL-007). */
export const HALF_INITIAL = 'half_initial'

/** Largest gap allowed between a stated maintenance deduction and the recurrence (one cent, RUL-006). */
export const DEDUCTION_TOLERANCE: Fixed = div(ONE, fixed(100), 'exact')

const instrumentKinds: readonly InstrumentKind[] = [
  'linear_perpetual',
  'inverse_perpetual',
  'linear_future',
  'inverse_future',
  'option',
]
const optionRights: readonly OptionRight[] = ['call', 'put']
const tierBases: readonly TierBasis[] = ['value', 'size', 'base_size']
const valuations: readonly MaintenanceValuation[] = ['at_liquidation_price', 'at_entry_price']
const displayRoundings: readonly PriceDisplayRounding[] = [
  'toward_safety',
  'nearest',
  'toward_trader',
]
const feeRoundings: readonly Rounding[] = ['floor', 'ceil', 'trunc', 'away', 'half_even', 'half_up']
const marginKinds = [
  'tiered',
  'risk_limit_steps',
  'linear_in_size',
  'open_interest_scaled',
] as const
const bracketings = ['marginal', 'whole_position'] as const
type Bracketing = (typeof bracketings)[number]

const idPattern = /^[a-z0-9][a-z0-9-]*$/
const versionPattern = /^[A-Za-z0-9][A-Za-z0-9._-]*$/
const marketPattern = /^[A-Za-z0-9][A-Za-z0-9._/-]*$/
const assetPattern = /^[A-Za-z0-9]+$/
const datePattern = /^(\d{4})-(\d{2})-(\d{2})$/
const urlPattern = /^https?:\/\/\S+$/

type JsonObject = Readonly<Record<string, unknown>>

/** Collects issues while walking a document. */
export class Checker {
  readonly issues: RuleIssue[] = []

  report(code: string, path: string, message: string): undefined {
    this.issues.push({ code, path, message })
    return undefined
  }

  object(value: unknown, path: string): JsonObject | undefined {
    if (typeof value === 'object' && value !== null && !Array.isArray(value))
      return value as JsonObject
    return this.report('not_an_object', path, `${describe(path)} must be an object`)
  }

  /** Reports fields that the format does not know (typos would otherwise be silently ignored). */
  knownFields(object: JsonObject, path: string, known: readonly string[]): void {
    for (const key of Object.keys(object)) {
      if (!known.includes(key))
        this.report('unknown_field', join(path, key), `unknown field "${key}"`)
    }
  }

  present(object: JsonObject, key: string, path: string): unknown {
    const value = object[key]
    if (value === undefined)
      return this.report('missing_field', join(path, key), `missing field "${key}"`)
    return value
  }

  string(object: JsonObject, key: string, path: string, pattern?: RegExp): string | undefined {
    const value = this.present(object, key, path)
    if (value === undefined) return undefined
    const at = join(path, key)
    if (typeof value !== 'string') return this.report('not_a_string', at, `${key} must be a string`)
    if (pattern !== undefined && !pattern.test(value)) {
      return this.report('invalid_format', at, `${key} "${value}" does not match ${pattern.source}`)
    }
    return value
  }

  choice<T extends string>(
    object: JsonObject,
    key: string,
    path: string,
    allowed: readonly T[],
  ): T | undefined {
    const value = this.present(object, key, path)
    if (value === undefined) return undefined
    return this.choiceValue(value, join(path, key), allowed)
  }

  choiceValue<T extends string>(value: unknown, at: string, allowed: readonly T[]): T | undefined {
    if (typeof value === 'string' && (allowed as readonly string[]).includes(value))
      return value as T
    return this.report(
      'unknown_value',
      at,
      `${JSON.stringify(value)} is not one of ${allowed.join(', ')}`,
    )
  }

  /** A decimal written as a string; numbers are refused so that no float ever carries a value. */
  decimal(object: JsonObject, key: string, path: string): Fixed | undefined {
    const value = this.present(object, key, path)
    if (value === undefined) return undefined
    return this.decimalValue(value, join(path, key))
  }

  decimalValue(value: unknown, at: string): Fixed | undefined {
    if (typeof value === 'number') {
      return this.report(
        'decimal_not_string',
        at,
        `write ${String(value)} as a string ("${String(value)}") to keep it exact`,
      )
    }
    if (typeof value !== 'string')
      return this.report('not_a_decimal', at, 'must be a decimal string')
    const parsed = parseFixed(value)
    if (!parsed.ok) return this.report(parsed.code, at, parsed.message)
    return parsed.value
  }

  positive(object: JsonObject, key: string, path: string): Fixed | undefined {
    const value = this.decimal(object, key, path)
    if (value === undefined) return undefined
    if (value <= 0n)
      return this.report('not_positive', join(path, key), `${key} must be greater than 0`)
    return value
  }

  nonNegative(object: JsonObject, key: string, path: string): Fixed | undefined {
    const value = this.decimal(object, key, path)
    if (value === undefined) return undefined
    if (value < 0n) return this.report('negative', join(path, key), `${key} must not be negative`)
    return value
  }

  /** A rate in [low, 1] (low is 0 unless stated, e.g. −1 for maker rebates). */
  rate(object: JsonObject, key: string, path: string, low: Fixed = ZERO): Fixed | undefined {
    const value = this.decimal(object, key, path)
    if (value === undefined) return undefined
    return this.rateValue(value, join(path, key), low)
  }

  rateValue(value: Fixed, at: string, low: Fixed = ZERO): Fixed | undefined {
    if (value < low || value > ONE) {
      return this.report(
        'rate_out_of_range',
        at,
        `${formatFixed(value)} is outside [${formatFixed(low)}, 1]`,
      )
    }
    return value
  }

  leverage(object: JsonObject, key: string, path: string): Fixed | undefined {
    const value = this.decimal(object, key, path)
    if (value === undefined) return undefined
    if (value < ONE)
      return this.report('leverage_below_one', join(path, key), `${key} must be at least 1`)
    return value
  }

  /** A whole number, written as a JSON number or a digit string. */
  integer(value: unknown, at: string, low: number, high: number): number | undefined {
    const number = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value
    if (typeof number !== 'number' || !Number.isSafeInteger(number)) {
      return this.report('not_an_integer', at, 'must be a whole number')
    }
    if (number < low || number > high) {
      return this.report('out_of_range', at, `${number} is outside [${low}, ${high}]`)
    }
    return number
  }
}

export function join(path: string, key: string): string {
  return path === '' ? key : `${path}.${key}`
}

function describe(path: string): string {
  return path === '' ? 'the rule set' : path
}

function isCalendarDate(text: string): boolean {
  const match = datePattern.exec(text)
  if (match === null) return false
  const year = Number(match[1])
  const month = Number(match[2])
  const day = Number(match[3])
  if (month < 1 || month > 12 || day < 1) return false
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0
  const days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1] ?? 0
  return day <= days
}

/**
 * Validates a rule-set document (RUL-001..RUL-014). Every issue in the document is reported, each
 * with the path of the offending field; the rule set is returned only when there is none.
 */
export function parseRuleSet(input: unknown): ParseRuleSetResult {
  const check = new Checker()
  const ruleSet = readRuleSet(check, input)
  if (ruleSet === undefined || check.issues.length > 0) {
    if (check.issues.length === 0) check.report('invalid_rule_set', '', 'the rule set is not valid')
    return { ok: false, issues: check.issues }
  }
  return { ok: true, ruleSet }
}

function readRuleSet(check: Checker, input: unknown): RuleSet | undefined {
  const root = check.object(input, '')
  if (root === undefined) return undefined
  check.knownFields(root, '', [
    '$schemaVersion',
    'id',
    'venue',
    'version',
    'effectiveDate',
    'sources',
    'description',
    'liquidationPrice',
    'account',
    'markets',
    'liquidation',
    'portfolioMargin',
  ])
  if (root.$schemaVersion !== undefined && root.$schemaVersion !== RULE_SET_SCHEMA_VERSION) {
    check.report(
      'unsupported_schema_version',
      '$schemaVersion',
      `schema version ${JSON.stringify(root.$schemaVersion)} is not supported (expected ${RULE_SET_SCHEMA_VERSION})`,
    )
  }
  const id = check.string(root, 'id', '', idPattern)
  const venue = check.string(root, 'venue', '')
  const version = check.string(root, 'version', '', versionPattern)
  const description = check.string(root, 'description', '')
  const effectiveDate = check.string(root, 'effectiveDate', '')
  if (effectiveDate !== undefined && !isCalendarDate(effectiveDate)) {
    check.report(
      'invalid_date',
      'effectiveDate',
      `"${effectiveDate}" is not a date written YYYY-MM-DD`,
    )
  }
  const sources = readSources(check, root)
  const liquidationPrice = readLiquidationPrice(check, check.present(root, 'liquidationPrice', ''))
  const account = readAccount(check, check.present(root, 'account', ''))
  const markets = readMarkets(check, check.present(root, 'markets', ''))
  const liquidation =
    root.liquidation === undefined || markets === undefined
      ? undefined
      : readLiquidationRules(check, root.liquidation, markets)
  const portfolioMargin =
    root.portfolioMargin === undefined || markets === undefined
      ? undefined
      : readPortfolioMarginRules(check, root.portfolioMargin, markets)
  // A section that failed to parse has reported its own issues.
  if (root.portfolioMargin === undefined || portfolioMargin !== undefined)
    checkOptionsPortfolioMargined(check, markets, portfolioMargin)
  if (
    id === undefined ||
    venue === undefined ||
    version === undefined ||
    description === undefined ||
    effectiveDate === undefined ||
    sources === undefined ||
    liquidationPrice === undefined ||
    account === undefined ||
    markets === undefined
  ) {
    return undefined
  }
  return {
    id,
    venue,
    version,
    effectiveDate,
    sources,
    description,
    liquidationPrice,
    account,
    markets,
    ...(liquidation === undefined ? {} : { liquidation }),
    ...(portfolioMargin === undefined ? {} : { portfolioMargin }),
  }
}

/**
 * Options are margined only by a portfolio model, which revalues them across scenarios: every
 * option market and its underlying must be listed in `portfolioMargin.markets`, under one product
 * (OPT-022).
 */
function checkOptionsPortfolioMargined(
  check: Checker,
  markets: ReadonlyMap<string, MarketRules> | undefined,
  portfolioMargin: PortfolioMarginRules | undefined,
): void {
  if (markets === undefined) return
  let index = 0
  for (const { instrument } of markets.values()) {
    const at = `markets[${index}]`
    index += 1
    const terms = instrument.option
    if (terms === undefined) continue
    const mapping = portfolioMargin?.markets.get(instrument.market)
    const underlying = portfolioMargin?.markets.get(terms.underlyingMarket)
    if (mapping === undefined)
      check.report(
        'option_not_portfolio_margined',
        join(at, 'market'),
        `option ${instrument.market} must be listed in portfolioMargin.markets`,
      )
    else if (underlying === undefined || underlying.product !== mapping.product)
      check.report(
        'option_underlying_not_in_product',
        join(at, 'option.underlying'),
        `list ${terms.underlyingMarket} in portfolioMargin.markets under product ${mapping.product}, as its option ${instrument.market}`,
      )
  }
}

function readSources(check: Checker, root: JsonObject): readonly string[] | undefined {
  const value = check.present(root, 'sources', '')
  if (value === undefined) return undefined
  if (!Array.isArray(value))
    return check.report('not_an_array', 'sources', 'sources must be an array of URLs')
  const sources: string[] = []
  value.forEach((source: unknown, index) => {
    if (typeof source === 'string' && urlPattern.test(source)) sources.push(source)
    else
      check.report(
        'not_a_url',
        `sources[${index}]`,
        `${JSON.stringify(source)} is not an http(s) URL`,
      )
  })
  return sources.length === value.length ? sources : undefined
}

function readLiquidationPrice(check: Checker, value: unknown): LiquidationPriceRules | undefined {
  if (value === undefined) return undefined
  const path = 'liquidationPrice'
  const object = check.object(value, path)
  if (object === undefined) return undefined
  check.knownFields(object, path, [
    'maintenanceValuation',
    'closeFeeRate',
    'displayRounding',
    'exactDecimals',
  ])
  const maintenanceValuation = check.choice(object, 'maintenanceValuation', path, valuations)
  const closeFeeRate = check.rate(object, 'closeFeeRate', path)
  const displayRounding = check.choice(object, 'displayRounding', path, displayRoundings)
  const decimalsValue = check.present(object, 'exactDecimals', path)
  const exactDecimals =
    decimalsValue === undefined
      ? undefined
      : check.integer(decimalsValue, join(path, 'exactDecimals'), 8, 18)
  if (
    maintenanceValuation === undefined ||
    closeFeeRate === undefined ||
    displayRounding === undefined ||
    exactDecimals === undefined
  ) {
    return undefined
  }
  return { maintenanceValuation, closeFeeRate, displayRounding, exactDecimals }
}

function readAccount(check: Checker, value: unknown): AccountRules | undefined {
  if (value === undefined) return undefined
  const path = 'account'
  const object = check.object(value, path)
  if (object === undefined) return undefined
  check.knownFields(object, path, ['withdrawalValueFloorRate', 'feeRounding'])
  const withdrawalValueFloorRate = check.rate(object, 'withdrawalValueFloorRate', path)
  const feeRounding = check.choice(object, 'feeRounding', path, feeRoundings)
  if (withdrawalValueFloorRate === undefined || feeRounding === undefined) return undefined
  return { withdrawalValueFloorRate, feeRounding }
}

function readMarkets(check: Checker, value: unknown): ReadonlyMap<string, MarketRules> | undefined {
  if (value === undefined) return undefined
  if (!Array.isArray(value))
    return check.report('not_an_array', 'markets', 'markets must be an array')
  if (value.length === 0)
    return check.report('no_markets', 'markets', 'a rule set lists at least one market')
  const markets = new Map<string, MarketRules>()
  const firstIndex = new Map<string, number>()
  let complete = true
  value.forEach((entry: unknown, index) => {
    const path = `markets[${index}]`
    const market = readMarket(check, entry, path)
    if (market === undefined) {
      complete = false
      return
    }
    const id = market.instrument.market
    const earlier = firstIndex.get(id)
    if (earlier !== undefined) {
      check.report(
        'duplicate_market',
        join(path, 'market'),
        `market "${id}" is already defined at markets[${earlier}]`,
      )
      complete = false
      return
    }
    firstIndex.set(id, index)
    markets.set(id, market)
  })
  if (!complete) return undefined
  const issuesBefore = check.issues.length
  checkOptionUnderlyings(check, markets, firstIndex)
  return check.issues.length === issuesBefore ? markets : undefined
}

const marketFields = [
  'market',
  'kind',
  'baseAsset',
  'quoteAsset',
  'settlementAsset',
  'contractSize',
  'tickSize',
  'lotSize',
  'expiryTimeMs',
  'option',
  'makerFeeRate',
  'takerFeeRate',
  'liquidationFeeRate',
  'maxLeverage',
  'margin',
  'optionFees',
] as const

function readMarket(check: Checker, value: unknown, path: string): MarketRules | undefined {
  const object = check.object(value, path)
  if (object === undefined) return undefined
  check.knownFields(object, path, marketFields)
  const issuesBefore = check.issues.length
  const market = check.string(object, 'market', path, marketPattern)
  const kind = check.choice(object, 'kind', path, instrumentKinds)
  const baseAsset = check.string(object, 'baseAsset', path, assetPattern)
  const quoteAsset = check.string(object, 'quoteAsset', path, assetPattern)
  const settlementAsset = check.string(object, 'settlementAsset', path, assetPattern)
  const contractSize = check.positive(object, 'contractSize', path)
  const tickSize = check.positive(object, 'tickSize', path)
  const lotSize = check.positive(object, 'lotSize', path)
  const makerFeeRate = check.rate(object, 'makerFeeRate', path, neg(ONE))
  const takerFeeRate = check.rate(object, 'takerFeeRate', path)
  const liquidationFeeRate = check.rate(object, 'liquidationFeeRate', path)
  const optionMarket = kind !== undefined && isOption(kind)
  const maxLeverage =
    optionMarket && object.maxLeverage === undefined
      ? ONE
      : check.leverage(object, 'maxLeverage', path)
  let expiryTimeMs: number | undefined
  if (kind !== undefined) {
    if (
      isOption(kind) &&
      settlementAsset !== undefined &&
      baseAsset !== undefined &&
      quoteAsset !== undefined &&
      settlementAsset !== baseAsset &&
      settlementAsset !== quoteAsset
    ) {
      check.report(
        'settlement_asset_mismatch',
        join(path, 'settlementAsset'),
        `an option settles in its quote asset (${quoteAsset}) or its base asset (${baseAsset}), not ${settlementAsset}`,
      )
    } else if (
      !isOption(kind) &&
      settlementAsset !== undefined &&
      baseAsset !== undefined &&
      quoteAsset !== undefined
    ) {
      const expected = quotingOf(kind) === 'linear' ? quoteAsset : baseAsset
      if (settlementAsset !== expected) {
        check.report(
          'settlement_asset_mismatch',
          join(path, 'settlementAsset'),
          `a ${kind} market settles in its ${quotingOf(kind) === 'linear' ? 'quote' : 'base'} asset ${expected}, not ${settlementAsset}`,
        )
      }
    }
    const expiry = object.expiryTimeMs
    if (isDatedFuture(kind) || isOption(kind)) {
      if (expiry === undefined) {
        check.report(
          'missing_expiry',
          join(path, 'expiryTimeMs'),
          `a ${kind} market needs expiryTimeMs`,
        )
      } else {
        expiryTimeMs = check.integer(expiry, join(path, 'expiryTimeMs'), 1, Number.MAX_SAFE_INTEGER)
      }
    } else if (expiry !== undefined) {
      check.report(
        'expiry_on_perpetual',
        join(path, 'expiryTimeMs'),
        `a ${kind} market does not expire`,
      )
    }
  }
  let option: OptionTerms | undefined
  if (optionMarket)
    option = readOptionTerms(check, check.present(object, 'option', path), join(path, 'option'))
  else if (object.option !== undefined)
    check.report(
      'option_terms_on_non_option',
      join(path, 'option'),
      'only an option market has option terms',
    )
  const margin =
    optionMarket && object.margin === undefined
      ? OPTION_OWN_MARGIN
      : readMargin(check, check.present(object, 'margin', path), join(path, 'margin'))
  let optionFees: OptionFeeRule | undefined
  if (object.optionFees !== undefined) {
    if (!optionMarket)
      check.report(
        'option_fees_on_non_option',
        join(path, 'optionFees'),
        'only an option market charges fees on its underlying',
      )
    else optionFees = readOptionFees(check, object.optionFees, join(path, 'optionFees'))
  }
  if (
    check.issues.length > issuesBefore ||
    (optionMarket && option === undefined) ||
    market === undefined ||
    kind === undefined ||
    baseAsset === undefined ||
    quoteAsset === undefined ||
    settlementAsset === undefined ||
    contractSize === undefined ||
    tickSize === undefined ||
    lotSize === undefined ||
    makerFeeRate === undefined ||
    takerFeeRate === undefined ||
    liquidationFeeRate === undefined ||
    maxLeverage === undefined ||
    margin === undefined
  ) {
    return undefined
  }
  const instrument: Instrument = {
    market,
    kind,
    baseAsset,
    quoteAsset,
    settlementAsset,
    contractSize,
    tickSize,
    lotSize,
    ...(expiryTimeMs === undefined ? {} : { expiryTimeMs }),
    ...(option === undefined ? {} : { option }),
  }
  return {
    instrument,
    margin,
    makerFeeRate,
    takerFeeRate,
    liquidationFeeRate,
    maxLeverage,
    ...(optionFees === undefined ? {} : { optionFees }),
  }
}

/** `optionFees: { premiumCap? }` of an option market (OPT-031). */
function readOptionFees(check: Checker, value: unknown, path: string): OptionFeeRule | undefined {
  const object = check.object(value, path)
  if (object === undefined) return undefined
  check.knownFields(object, path, ['premiumCap'])
  if (object.premiumCap === undefined) return { premiumCap: null }
  const premiumCap = check.rate(object, 'premiumCap', path)
  return premiumCap === undefined ? undefined : { premiumCap }
}

/**
 * An option market's own margin when its file gives none (OPT-022): nothing. Options are margined
 * by the portfolio model only; a market's own model would value a position held alone.
 */
const OPTION_OWN_MARGIN: MarginModel = {
  kind: 'tiered',
  basis: 'value',
  tiers: [
    {
      floor: ZERO,
      cap: null,
      maintenanceRate: ZERO,
      initialRate: ZERO,
      maintenanceDeduction: ZERO,
    },
  ],
}

/** An option market's terms (OPT-020); the underlying is checked against the other markets later. */
function readOptionTerms(check: Checker, value: unknown, path: string): OptionTerms | undefined {
  const object = check.object(value, path)
  if (object === undefined) return undefined
  check.knownFields(object, path, ['underlying', 'right', 'strike', 'rate'])
  const underlyingMarket = check.string(object, 'underlying', path, marketPattern)
  const right = check.choice(object, 'right', path, optionRights)
  const strike = check.positive(object, 'strike', path)
  const rate = object.rate === undefined ? ZERO : check.rate(object, 'rate', path)
  if (
    underlyingMarket === undefined ||
    right === undefined ||
    strike === undefined ||
    rate === undefined
  )
    return undefined
  return { underlyingMarket, right, strike, rate }
}

/**
 * An option's underlying is a listed market that is not an option, on the same base and quote
 * assets, expiring no earlier than the option (OPT-021).
 */
function checkOptionUnderlyings(
  check: Checker,
  markets: ReadonlyMap<string, MarketRules>,
  indexOf: ReadonlyMap<string, number>,
): void {
  for (const { instrument } of markets.values()) {
    const terms = instrument.option
    if (terms === undefined) continue
    const at = join(`markets[${indexOf.get(instrument.market) ?? 0}]`, 'option.underlying')
    const underlying = markets.get(terms.underlyingMarket)?.instrument
    if (underlying === undefined) {
      check.report('unknown_market', at, `no market "${terms.underlyingMarket}" in this rule set`)
      continue
    }
    if (isOption(underlying.kind))
      check.report('underlying_is_option', at, `${terms.underlyingMarket} is itself an option`)
    else if (
      underlying.baseAsset !== instrument.baseAsset ||
      underlying.quoteAsset !== instrument.quoteAsset
    )
      check.report(
        'underlying_asset_mismatch',
        at,
        `${terms.underlyingMarket} trades ${underlying.baseAsset}/${underlying.quoteAsset}, the option ${instrument.baseAsset}/${instrument.quoteAsset}`,
      )
    else if (
      underlying.expiryTimeMs !== undefined &&
      instrument.expiryTimeMs !== undefined &&
      underlying.expiryTimeMs < instrument.expiryTimeMs
    )
      check.report(
        'underlying_expires_first',
        at,
        `${terms.underlyingMarket} expires before the option`,
      )
  }
}

function readMargin(check: Checker, value: unknown, path: string): MarginModel | undefined {
  if (value === undefined) return undefined
  const object = check.object(value, path)
  if (object === undefined) return undefined
  const kind = check.choice(object, 'kind', path, marginKinds)
  switch (kind) {
    case undefined:
      return undefined
    case 'tiered':
      return readTiered(check, object, path)
    case 'risk_limit_steps':
      return readRiskLimitSteps(check, object, path)
    case 'linear_in_size':
      return readLinearInSize(check, object, path)
    case 'open_interest_scaled':
      return readOpenInterestScaled(check, object, path)
  }
}

function notBelow(check: Checker, initial: Fixed, maintenance: Fixed, at: string): void {
  if (initial < maintenance) {
    check.report(
      'initial_below_maintenance',
      at,
      `initial rate ${formatFixed(initial)} is below the maintenance rate ${formatFixed(maintenance)}`,
    )
  }
}

function readRiskLimitSteps(
  check: Checker,
  object: JsonObject,
  path: string,
): MarginModel | undefined {
  check.knownFields(object, path, [
    'kind',
    'basis',
    'baseRiskLimit',
    'riskLimitStep',
    'maintenanceRateBase',
    'maintenanceRateStep',
    'initialRateBase',
    'initialRateStep',
  ])
  const basis = check.choice(object, 'basis', path, tierBases)
  const baseRiskLimit = check.positive(object, 'baseRiskLimit', path)
  const riskLimitStep = check.positive(object, 'riskLimitStep', path)
  const maintenanceRateBase = check.rate(object, 'maintenanceRateBase', path)
  const maintenanceRateStep = check.rate(object, 'maintenanceRateStep', path)
  const initialRateBase = check.rate(object, 'initialRateBase', path)
  const initialRateStep = check.rate(object, 'initialRateStep', path)
  if (
    basis === undefined ||
    baseRiskLimit === undefined ||
    riskLimitStep === undefined ||
    maintenanceRateBase === undefined ||
    maintenanceRateStep === undefined ||
    initialRateBase === undefined ||
    initialRateStep === undefined
  ) {
    return undefined
  }
  notBelow(check, initialRateBase, maintenanceRateBase, join(path, 'initialRateBase'))
  notBelow(check, initialRateStep, maintenanceRateStep, join(path, 'initialRateStep'))
  if (initialRateBase === 0n)
    check.report(
      'not_positive',
      join(path, 'initialRateBase'),
      'initialRateBase must be greater than 0',
    )
  return {
    kind: 'risk_limit_steps',
    basis,
    baseRiskLimit,
    riskLimitStep,
    maintenanceRateBase,
    maintenanceRateStep,
    initialRateBase,
    initialRateStep,
  }
}

function readLinearInSize(
  check: Checker,
  object: JsonObject,
  path: string,
): MarginModel | undefined {
  check.knownFields(object, path, [
    'kind',
    'basis',
    'initialRateBase',
    'initialRatePerUnit',
    'maintenanceRateBase',
    'maintenanceRatePerUnit',
  ])
  const basis = check.choice(object, 'basis', path, tierBases)
  const initialRateBase = check.rate(object, 'initialRateBase', path)
  const initialRatePerUnit = check.rate(object, 'initialRatePerUnit', path)
  const maintenanceRateBase = check.rate(object, 'maintenanceRateBase', path)
  const maintenanceRatePerUnit = check.rate(object, 'maintenanceRatePerUnit', path)
  if (
    basis === undefined ||
    initialRateBase === undefined ||
    initialRatePerUnit === undefined ||
    maintenanceRateBase === undefined ||
    maintenanceRatePerUnit === undefined
  ) {
    return undefined
  }
  notBelow(check, initialRateBase, maintenanceRateBase, join(path, 'initialRateBase'))
  notBelow(check, initialRatePerUnit, maintenanceRatePerUnit, join(path, 'initialRatePerUnit'))
  if (initialRateBase === 0n)
    check.report(
      'not_positive',
      join(path, 'initialRateBase'),
      'initialRateBase must be greater than 0',
    )
  return {
    kind: 'linear_in_size',
    basis,
    initialRateBase,
    initialRatePerUnit,
    maintenanceRateBase,
    maintenanceRatePerUnit,
  }
}

function readOpenInterestScaled(
  check: Checker,
  object: JsonObject,
  path: string,
): MarginModel | undefined {
  check.knownFields(object, path, [
    'kind',
    'initialRate',
    'maintenanceFraction',
    'openInterestLowerCap',
    'openInterestUpperCap',
  ])
  const initialRate = check.rate(object, 'initialRate', path)
  const maintenanceFraction = check.rate(object, 'maintenanceFraction', path)
  const openInterestLowerCap = check.nonNegative(object, 'openInterestLowerCap', path)
  const openInterestUpperCap = check.nonNegative(object, 'openInterestUpperCap', path)
  if (
    initialRate === undefined ||
    maintenanceFraction === undefined ||
    openInterestLowerCap === undefined ||
    openInterestUpperCap === undefined
  ) {
    return undefined
  }
  if (initialRate === 0n)
    check.report('not_positive', join(path, 'initialRate'), 'initialRate must be greater than 0')
  const unscaled = openInterestUpperCap === 0n && openInterestLowerCap === 0n
  if (!unscaled && openInterestUpperCap <= openInterestLowerCap) {
    check.report(
      'caps_out_of_order',
      join(path, 'openInterestUpperCap'),
      'openInterestUpperCap must exceed openInterestLowerCap (or both be 0: no open-interest scaling)',
    )
  }
  return {
    kind: 'open_interest_scaled',
    initialRate,
    maintenanceFraction,
    openInterestLowerCap,
    openInterestUpperCap,
  }
}

interface TierDraft {
  readonly floor: Fixed
  readonly cap: Fixed | null
  readonly maintenanceRate: Fixed
  readonly initialRate: Fixed
  readonly initialRatePath: string
  readonly statedDeduction: Fixed | undefined
}

function readTiered(check: Checker, object: JsonObject, path: string): MarginModel | undefined {
  check.knownFields(object, path, ['kind', 'basis', 'bracketing', 'tiers'])
  const basis = check.choice(object, 'basis', path, tierBases)
  const bracketing: Bracketing | undefined =
    object.bracketing === undefined
      ? 'marginal'
      : check.choiceValue(object.bracketing, join(path, 'bracketing'), bracketings)
  const tiersValue = check.present(object, 'tiers', path)
  if (tiersValue === undefined) return undefined
  const tiersPath = join(path, 'tiers')
  if (!Array.isArray(tiersValue))
    return check.report('not_an_array', tiersPath, 'tiers must be an array')
  if (tiersValue.length === 0)
    return check.report('empty_ladder', tiersPath, 'a ladder has at least one tier')
  const issuesBefore = check.issues.length
  const drafts: TierDraft[] = []
  let expectedFloor: Fixed | null = ZERO
  tiersValue.forEach((entry: unknown, index) => {
    const draft = readTier(
      check,
      entry,
      `${tiersPath}[${index}]`,
      index === tiersValue.length - 1,
      expectedFloor,
    )
    expectedFloor = draft === undefined ? null : draft.cap
    if (draft !== undefined) drafts.push(draft)
  })
  if (basis === undefined || bracketing === undefined || check.issues.length > issuesBefore)
    return undefined
  const tiers = settleDeductions(
    check,
    drafts,
    tiersPath,
    basis,
    bracketing,
    join(path, 'bracketing'),
  )
  return tiers === undefined ? undefined : { kind: 'tiered', basis, tiers }
}

function readTier(
  check: Checker,
  value: unknown,
  path: string,
  last: boolean,
  expectedFloor: Fixed | null,
): TierDraft | undefined {
  const object = check.object(value, path)
  if (object === undefined) return undefined
  check.knownFields(object, path, [
    'floor',
    'cap',
    'maintenanceRate',
    'initialRate',
    'maxLeverage',
    'maintenanceDeduction',
  ])
  const issuesBefore = check.issues.length
  let floor = expectedFloor ?? ZERO
  if (object.floor !== undefined) {
    const stated = check.nonNegative(object, 'floor', path)
    if (stated !== undefined && expectedFloor !== null && stated !== expectedFloor) {
      check.report(
        'tiers_not_contiguous',
        join(path, 'floor'),
        `floor ${formatFixed(stated)} must equal the previous tier's cap ${formatFixed(expectedFloor)} (0 for the first tier)`,
      )
    }
    if (stated !== undefined) floor = stated
  }
  let cap: Fixed | null = null
  const capValue = object.cap
  if (capValue === undefined || capValue === null) {
    if (!last)
      check.report(
        'missing_field',
        join(path, 'cap'),
        'only the last tier may be unbounded (cap null)',
      )
  } else if (last) {
    check.report(
      'last_tier_capped',
      join(path, 'cap'),
      'the last tier is unbounded: write "cap": null',
    )
  } else {
    const parsed = check.decimalValue(capValue, join(path, 'cap'))
    if (parsed !== undefined && parsed <= floor) {
      check.report(
        'cap_not_above_floor',
        join(path, 'cap'),
        `cap ${formatFixed(parsed)} must exceed the floor ${formatFixed(floor)}`,
      )
    }
    if (parsed !== undefined) cap = parsed
  }
  let initialRate: Fixed | undefined
  let initialRatePath = join(path, 'initialRate')
  if (object.initialRate !== undefined && object.maxLeverage !== undefined) {
    check.report(
      'conflicting_fields',
      initialRatePath,
      'state either initialRate or maxLeverage, not both',
    )
  } else if (object.maxLeverage !== undefined) {
    initialRatePath = join(path, 'maxLeverage')
    const leverage = check.leverage(object, 'maxLeverage', path)
    if (leverage !== undefined) initialRate = div(ONE, leverage, 'ceil')
  } else if (object.initialRate === undefined) {
    check.report('missing_field', initialRatePath, 'a tier states initialRate or maxLeverage')
  } else {
    initialRate = check.rate(object, 'initialRate', path)
    if (initialRate === 0n)
      initialRate = check.report(
        'not_positive',
        initialRatePath,
        'initialRate must be greater than 0',
      )
  }
  let maintenanceRate: Fixed | undefined
  const maintenanceValue = check.present(object, 'maintenanceRate', path)
  if (maintenanceValue === HALF_INITIAL) {
    if (initialRate !== undefined) maintenanceRate = div(initialRate, fixed(2), 'ceil')
  } else if (maintenanceValue !== undefined) {
    const parsed = check.decimalValue(maintenanceValue, join(path, 'maintenanceRate'))
    if (parsed !== undefined)
      maintenanceRate = check.rateValue(parsed, join(path, 'maintenanceRate'))
  }
  const statedDeduction =
    object.maintenanceDeduction === undefined
      ? undefined
      : check.nonNegative(object, 'maintenanceDeduction', path)
  if (initialRate !== undefined && maintenanceRate !== undefined) {
    notBelow(check, initialRate, maintenanceRate, initialRatePath)
  }
  if (
    check.issues.length > issuesBefore ||
    initialRate === undefined ||
    maintenanceRate === undefined
  )
    return undefined
  return { floor, cap, maintenanceRate, initialRate, initialRatePath, statedDeduction }
}

/**
 * cum(n) = floor(n) × (MMR(n) − MMR(n−1)) + cum(n−1), cum(0) = 0 (RUL-006): what a marginal
 * ladder's stated deductions are checked against, within `DEDUCTION_TOLERANCE`.
 */
export function recurrenceDeductions(
  tiers: readonly { floor: Fixed; maintenanceRate: Fixed }[],
): Fixed[] {
  const deductions: Fixed[] = []
  let previousRate = ZERO
  let cumulative = ZERO
  tiers.forEach((tier, index) => {
    if (index > 0)
      cumulative = add(
        cumulative,
        mul(tier.floor, sub(tier.maintenanceRate, previousRate), 'half_even'),
      )
    deductions.push(cumulative)
    previousRate = tier.maintenanceRate
  })
  return deductions
}

function settleDeductions(
  check: Checker,
  drafts: readonly TierDraft[],
  tiersPath: string,
  basis: TierBasis,
  bracketing: Bracketing,
  bracketingPath: string,
): MarginTier[] | undefined {
  const issuesBefore = check.issues.length
  const recurrence = recurrenceDeductions(drafts)
  const tiers: MarginTier[] = []
  drafts.forEach((draft, index) => {
    const at = `${tiersPath}[${index}]`
    const previous = drafts[index - 1]
    if (previous !== undefined && draft.maintenanceRate < previous.maintenanceRate) {
      check.report(
        'rate_decreasing',
        join(at, 'maintenanceRate'),
        'maintenance rates do not decrease from one tier to the next',
      )
    }
    if (previous !== undefined && draft.initialRate < previous.initialRate) {
      check.report(
        'rate_decreasing',
        draft.initialRatePath,
        'initial rates do not decrease from one tier to the next',
      )
    }
    const expected = bracketing === 'marginal' ? (recurrence[index] ?? ZERO) : ZERO
    const stated = draft.statedDeduction
    if (stated !== undefined && abs(sub(stated, expected)) >= DEDUCTION_TOLERANCE) {
      check.report(
        'deduction_mismatch',
        join(at, 'maintenanceDeduction'),
        bracketing === 'marginal'
          ? `maintenanceDeduction ${formatFixed(stated)} differs from the tax-bracket recurrence ${formatFixed(expected)}`
          : 'a whole_position ladder has no maintenance deduction (0)',
      )
    }
    tiers.push({
      floor: draft.floor,
      cap: draft.cap,
      maintenanceRate: draft.maintenanceRate,
      initialRate: draft.initialRate,
      maintenanceDeduction: stated ?? expected,
    })
  })
  if (
    basis !== 'value' &&
    bracketing === 'marginal' &&
    recurrence.some((deduction) => deduction !== 0n)
  ) {
    check.report(
      'deduction_requires_value_basis',
      bracketingPath,
      `a marginal (tax-bracket) ladder deducts amounts of value; with basis "${basis}" write "bracketing": "whole_position"`,
    )
  }
  return check.issues.length > issuesBefore ? undefined : tiers
}

/** The file form of a tier, as `ruleSetToJson` writes it. */
export interface MarginTierJson {
  readonly floor: string
  readonly cap: string | null
  readonly maintenanceRate: string
  readonly initialRate: string
  readonly maintenanceDeduction: string
}

/** The file form of a margin model (decimals as strings). */
export type MarginModelJson =
  | {
      readonly kind: 'tiered'
      readonly basis: TierBasis
      readonly bracketing: Bracketing
      readonly tiers: readonly MarginTierJson[]
    }
  | { readonly kind: Exclude<MarginModel['kind'], 'tiered'>; readonly [field: string]: string }

/** The file form of a market. */
export interface MarketRulesJson {
  readonly market: string
  readonly kind: InstrumentKind
  readonly baseAsset: string
  readonly quoteAsset: string
  readonly settlementAsset: string
  readonly contractSize: string
  readonly tickSize: string
  readonly lotSize: string
  readonly expiryTimeMs?: number
  readonly option?: {
    readonly underlying: string
    readonly right: OptionRight
    readonly strike: string
    readonly rate: string
  }
  readonly makerFeeRate: string
  readonly takerFeeRate: string
  readonly liquidationFeeRate: string
  readonly maxLeverage: string
  readonly margin?: MarginModelJson
  readonly optionFees?: { readonly premiumCap?: string }
}

/** The file form of a rule set: what `parseRuleSet` reads and `ruleSetToJson` writes. */
export interface RuleSetJson {
  readonly $schemaVersion: number
  readonly id: string
  readonly venue: string
  readonly version: string
  readonly effectiveDate: string
  readonly sources: readonly string[]
  readonly description: string
  readonly liquidationPrice: {
    readonly maintenanceValuation: MaintenanceValuation
    readonly closeFeeRate: string
    readonly displayRounding: PriceDisplayRounding
    readonly exactDecimals: number
  }
  readonly account: { readonly withdrawalValueFloorRate: string; readonly feeRounding: Rounding }
  readonly markets: readonly MarketRulesJson[]
  readonly liquidation?: LiquidationRulesJson
  /** Written back as it was read (PFM-040). */
  readonly portfolioMargin?: unknown
}

/**
 * Writes a rule set back in file form, every number as an exact decimal string (RUL-013):
 * `parseRuleSet(ruleSetToJson(r))` gives back `r`, and the result shares nothing with `r`. Tiers are written in full (floor, cap, both
 * rates and the deduction), so the output does not depend on how the source file abbreviated them.
 */
export function ruleSetToJson(ruleSet: RuleSet): RuleSetJson {
  return {
    $schemaVersion: RULE_SET_SCHEMA_VERSION,
    id: ruleSet.id,
    venue: ruleSet.venue,
    version: ruleSet.version,
    effectiveDate: ruleSet.effectiveDate,
    sources: [...ruleSet.sources],
    description: ruleSet.description,
    liquidationPrice: {
      maintenanceValuation: ruleSet.liquidationPrice.maintenanceValuation,
      closeFeeRate: formatFixed(ruleSet.liquidationPrice.closeFeeRate),
      displayRounding: ruleSet.liquidationPrice.displayRounding,
      exactDecimals: ruleSet.liquidationPrice.exactDecimals,
    },
    account: {
      withdrawalValueFloorRate: formatFixed(ruleSet.account.withdrawalValueFloorRate),
      feeRounding: ruleSet.account.feeRounding,
    },
    markets: [...ruleSet.markets.values()].map(marketToJson),
    ...(ruleSet.liquidation === undefined
      ? {}
      : { liquidation: liquidationRulesToJson(ruleSet.liquidation) }),
    // A copy: the file form is the caller's to change; the rule set stays an immutable value.
    ...(ruleSet.portfolioMargin === undefined
      ? {}
      : { portfolioMargin: structuredClone(ruleSet.portfolioMargin.source) }),
  }
}

function marketToJson(rules: MarketRules): MarketRulesJson {
  const instrument = rules.instrument
  return {
    market: instrument.market,
    kind: instrument.kind,
    baseAsset: instrument.baseAsset,
    quoteAsset: instrument.quoteAsset,
    settlementAsset: instrument.settlementAsset,
    contractSize: formatFixed(instrument.contractSize),
    tickSize: formatFixed(instrument.tickSize),
    lotSize: formatFixed(instrument.lotSize),
    ...(instrument.expiryTimeMs === undefined ? {} : { expiryTimeMs: instrument.expiryTimeMs }),
    ...(instrument.option === undefined
      ? {}
      : {
          option: {
            underlying: instrument.option.underlyingMarket,
            right: instrument.option.right,
            strike: formatFixed(instrument.option.strike),
            rate: formatFixed(instrument.option.rate),
          },
        }),
    makerFeeRate: formatFixed(rules.makerFeeRate),
    takerFeeRate: formatFixed(rules.takerFeeRate),
    liquidationFeeRate: formatFixed(rules.liquidationFeeRate),
    maxLeverage: formatFixed(rules.maxLeverage),
    // An option market without a margin section of its own is written back without one (OPT-022).
    ...(rules.margin === OPTION_OWN_MARGIN ? {} : { margin: marginToJson(rules.margin) }),
    ...(rules.optionFees === undefined
      ? {}
      : {
          optionFees:
            rules.optionFees.premiumCap === null
              ? {}
              : { premiumCap: formatFixed(rules.optionFees.premiumCap) },
        }),
  }
}

function marginToJson(model: MarginModel): MarginModelJson {
  switch (model.kind) {
    case 'tiered': {
      const recurrence = recurrenceDeductions(model.tiers)
      const marginal = model.tiers.every(
        (tier, index) =>
          abs(sub(tier.maintenanceDeduction, recurrence[index] ?? ZERO)) < DEDUCTION_TOLERANCE,
      )
      return {
        kind: 'tiered',
        basis: model.basis,
        bracketing: marginal ? 'marginal' : 'whole_position',
        tiers: model.tiers.map((tier) => ({
          floor: formatFixed(tier.floor),
          cap: tier.cap === null ? null : formatFixed(tier.cap),
          maintenanceRate: formatFixed(tier.maintenanceRate),
          initialRate: formatFixed(tier.initialRate),
          maintenanceDeduction: formatFixed(tier.maintenanceDeduction),
        })),
      }
    }
    case 'risk_limit_steps':
      return {
        kind: model.kind,
        basis: model.basis,
        baseRiskLimit: formatFixed(model.baseRiskLimit),
        riskLimitStep: formatFixed(model.riskLimitStep),
        maintenanceRateBase: formatFixed(model.maintenanceRateBase),
        maintenanceRateStep: formatFixed(model.maintenanceRateStep),
        initialRateBase: formatFixed(model.initialRateBase),
        initialRateStep: formatFixed(model.initialRateStep),
      }
    case 'linear_in_size':
      return {
        kind: model.kind,
        basis: model.basis,
        initialRateBase: formatFixed(model.initialRateBase),
        initialRatePerUnit: formatFixed(model.initialRatePerUnit),
        maintenanceRateBase: formatFixed(model.maintenanceRateBase),
        maintenanceRatePerUnit: formatFixed(model.maintenanceRatePerUnit),
      }
    case 'open_interest_scaled':
      return {
        kind: model.kind,
        initialRate: formatFixed(model.initialRate),
        maintenanceFraction: formatFixed(model.maintenanceFraction),
        openInterestLowerCap: formatFixed(model.openInterestLowerCap),
        openInterestUpperCap: formatFixed(model.openInterestUpperCap),
      }
  }
}
