/**
 * Portfolio files (docs/portfolio-margin.md, PFM-009): a scenario margin model, its instruments
 * and the positions, as one JSON/YAML document with every decimal written as a string. Validation
 * reports every problem as an issue {code, path, message}; it never throws on bad input.
 */
import { type Fixed, fixedOf, ONE, parseFixed, ZERO } from '../num/fixed.ts'
import type { RuleIssue } from '../rules/parse.ts'
import type { GridRules } from './grid.ts'
import {
  type InterSpreadLeg,
  type InterSpreadRule,
  type IntraSpreadRule,
  type PortfolioInstrument,
  type PortfolioPosition,
  type ScanScenario,
  type SpanProduct,
  type SpanRules,
  standardScenarios,
} from './span.ts'

/** A validated portfolio document. */
export type PortfolioDocument =
  | {
      readonly model: 'span'
      readonly description: string
      readonly rules: SpanRules
      readonly instruments: readonly PortfolioInstrument[]
      readonly positions: readonly PortfolioPosition[]
    }
  | {
      readonly model: 'grid'
      readonly description: string
      readonly rules: GridRules
      readonly instruments: readonly PortfolioInstrument[]
      readonly positions: readonly PortfolioPosition[]
    }

/** Outcome of `parsePortfolio`. */
export type ParsePortfolioResult =
  | { readonly ok: true; readonly portfolio: PortfolioDocument }
  | { readonly ok: false; readonly issues: readonly RuleIssue[] }

type JsonObject = Record<string, unknown>

class Checker {
  readonly issues: RuleIssue[] = []
  add(code: string, path: string, message: string): undefined {
    this.issues.push({ code, path, message })
    return undefined
  }
  object(value: unknown, path: string): JsonObject | undefined {
    if (typeof value === 'object' && value !== null && !Array.isArray(value))
      return value as JsonObject
    return this.add('not_an_object', path, 'expected an object')
  }
  array(value: unknown, path: string): readonly unknown[] | undefined {
    if (Array.isArray(value)) return value as readonly unknown[]
    return this.add('not_a_list', path, 'expected a list')
  }
  text(value: unknown, path: string): string | undefined {
    if (typeof value === 'string' && value.length > 0) return value
    return this.add('not_a_string', path, 'expected a non-empty string')
  }
  decimal(
    value: unknown,
    path: string,
    range: 'any' | 'non_negative' | 'positive' | 'fraction' = 'any',
  ): Fixed | undefined {
    if (typeof value !== 'string')
      return this.add(
        'not_a_decimal_string',
        path,
        'expected a decimal written as a string, e.g. "0.35"',
      )
    const parsed = parseFixed(value)
    if (!parsed.ok) return this.add(parsed.code, path, parsed.message)
    const number = parsed.value
    if (range === 'non_negative' && number < 0n)
      return this.add('negative', path, 'must not be negative')
    if (range === 'positive' && number <= 0n)
      return this.add('not_positive', path, 'must be greater than 0')
    if (range === 'fraction' && (number < 0n || number > ONE))
      return this.add('not_a_fraction', path, 'must lie in 0..1')
    return number
  }
  choice<T extends string>(value: unknown, path: string, choices: readonly T[]): T | undefined {
    if (typeof value === 'string' && (choices as readonly string[]).includes(value))
      return value as T
    return this.add('unknown_choice', path, `expected one of ${choices.join(', ')}`)
  }
}

function list<T>(
  check: Checker,
  value: unknown,
  path: string,
  read: (item: unknown, path: string) => T | undefined,
): T[] {
  const items = value === undefined ? [] : (check.array(value, path) ?? [])
  const result: T[] = []
  items.forEach((item, index) => {
    const read_ = read(item, `${path}[${index}]`)
    if (read_ !== undefined) result.push(read_)
  })
  return result
}

/** Validates a portfolio document (PFM-009). */
export function parsePortfolio(input: unknown): ParsePortfolioResult {
  const check = new Checker()
  const root = check.object(input, '')
  if (root === undefined) return { ok: false, issues: check.issues }
  const model = check.choice(root.model, 'model', ['span', 'grid'] as const)
  const description = typeof root.description === 'string' ? root.description : ''
  const instruments = list(check, root.instruments, 'instruments', (item, path) =>
    readInstrument(check, item, path),
  )
  const positions = list(check, root.positions, 'positions', (item, path) =>
    readPosition(check, item, path),
  )
  const markets = new Set<string>()
  instruments.forEach((instrument, index) => {
    if (markets.has(instrument.market))
      check.add(
        'duplicate_market',
        `instruments[${index}].market`,
        `market "${instrument.market}" is listed twice`,
      )
    markets.add(instrument.market)
  })
  positions.forEach((position, index) => {
    if (!markets.has(position.market))
      check.add(
        'unknown_market',
        `positions[${index}].market`,
        `no instrument "${position.market}"`,
      )
  })
  if (model === 'grid') {
    const rules = readGridRules(check, root.grid, 'grid')
    const products = new Set(rules?.products.map((product) => product.id) ?? [])
    instruments.forEach((instrument, index) => {
      if (rules !== undefined && !products.has(instrument.product))
        check.add(
          'unknown_product',
          `instruments[${index}].product`,
          `no product "${instrument.product}" in grid.products`,
        )
      if (instrument.kind === 'risk_array')
        check.add(
          'unsupported_instrument',
          `instruments[${index}].kind`,
          'the grid model revalues futures and options only',
        )
    })
    if (rules === undefined || check.issues.length > 0) return { ok: false, issues: check.issues }
    return { ok: true, portfolio: { model, description, rules, instruments, positions } }
  }
  const rules = readSpanRules(check, root.span, 'span')
  if (rules !== undefined) {
    const products = new Set(rules.products.map((product) => product.id))
    instruments.forEach((instrument, index) => {
      if (!products.has(instrument.product))
        check.add(
          'unknown_product',
          `instruments[${index}].product`,
          `no product "${instrument.product}" in span.products`,
        )
      if (
        instrument.kind === 'risk_array' &&
        instrument.riskArray.length !== rules.scenarios.length
      )
        check.add(
          'risk_array_length',
          `instruments[${index}].riskArray`,
          `expected ${rules.scenarios.length} entries, one per scenario`,
        )
    })
    checkSpreadProducts(check, rules, 'span')
  }
  if (rules === undefined || model === undefined || check.issues.length > 0)
    return { ok: false, issues: check.issues }
  return { ok: true, portfolio: { model, description, rules, instruments, positions } }
}

function readPosition(check: Checker, value: unknown, path: string): PortfolioPosition | undefined {
  const object = check.object(value, path)
  if (object === undefined) return undefined
  const market = check.text(object.market, `${path}.market`)
  const size = check.decimal(object.size, `${path}.size`)
  if (size === 0n) check.add('zero_size', `${path}.size`, 'a position is not empty')
  return market === undefined || size === undefined ? undefined : { market, size }
}

function readInstrument(
  check: Checker,
  value: unknown,
  path: string,
): PortfolioInstrument | undefined {
  const object = check.object(value, path)
  if (object === undefined) return undefined
  const kind = check.choice(object.kind, `${path}.kind`, [
    'future',
    'option',
    'risk_array',
  ] as const)
  const market = check.text(object.market, `${path}.market`)
  const product = check.text(object.product, `${path}.product`)
  const tier = object.tier === undefined ? 'default' : check.text(object.tier, `${path}.tier`)
  const scanRange =
    object.priceScanRange === undefined
      ? undefined
      : check.decimal(object.priceScanRange, `${path}.priceScanRange`, 'positive')
  if (kind === undefined || market === undefined || product === undefined || tier === undefined)
    return undefined
  const base = {
    market,
    product,
    tier,
    ...(scanRange === undefined ? {} : { priceScanRange: scanRange }),
  }
  switch (kind) {
    case 'future': {
      const price = check.decimal(object.price, `${path}.price`, 'positive')
      return price === undefined ? undefined : { ...base, kind, price }
    }
    case 'option': {
      const right = check.choice(object.right, `${path}.right`, ['call', 'put'] as const)
      const strike = check.decimal(object.strike, `${path}.strike`, 'positive')
      const underlyingPrice = check.decimal(
        object.underlyingPrice,
        `${path}.underlyingPrice`,
        'positive',
      )
      const timeToExpiryYears = check.decimal(
        object.timeToExpiryYears,
        `${path}.timeToExpiryYears`,
        'non_negative',
      )
      const volatility = check.decimal(object.volatility, `${path}.volatility`, 'non_negative')
      const rate = object.rate === undefined ? ZERO : check.decimal(object.rate, `${path}.rate`)
      if (
        right === undefined ||
        strike === undefined ||
        underlyingPrice === undefined ||
        timeToExpiryYears === undefined ||
        volatility === undefined ||
        rate === undefined
      )
        return undefined
      return { ...base, kind, right, strike, underlyingPrice, timeToExpiryYears, volatility, rate }
    }
    case 'risk_array': {
      const riskArray = list(check, object.riskArray, `${path}.riskArray`, (item, itemPath) =>
        check.decimal(item, itemPath),
      )
      const delta = check.decimal(object.delta, `${path}.delta`)
      const optionValue =
        object.value === undefined ? ZERO : check.decimal(object.value, `${path}.value`)
      const isOption = object.isOption === true
      if (delta === undefined || optionValue === undefined) return undefined
      return { ...base, kind, riskArray, delta, isOption, value: optionValue }
    }
  }
}

function readSpanRules(check: Checker, value: unknown, path: string): SpanRules | undefined {
  const object = check.object(value, path)
  if (object === undefined) return undefined
  let scenarios: ScanScenario[]
  if (object.scenarios === undefined || object.scenarios === 'standard') {
    const extremeMove =
      object.extremeMove === undefined
        ? fixedOf('3')
        : check.decimal(object.extremeMove, `${path}.extremeMove`, 'positive')
    const extremeCover =
      object.extremeCover === undefined
        ? fixedOf('0.35')
        : check.decimal(object.extremeCover, `${path}.extremeCover`, 'fraction')
    scenarios =
      extremeMove === undefined || extremeCover === undefined
        ? []
        : standardScenarios(extremeMove, extremeCover)
  } else {
    scenarios = list(check, object.scenarios, `${path}.scenarios`, (item, itemPath) => {
      const scenario = check.object(item, itemPath)
      if (scenario === undefined) return undefined
      const priceMove = check.decimal(scenario.priceMove, `${itemPath}.priceMove`)
      const volatilityMove = check.decimal(scenario.volatilityMove, `${itemPath}.volatilityMove`)
      const weight =
        scenario.weight === undefined
          ? ONE
          : check.decimal(scenario.weight, `${itemPath}.weight`, 'fraction')
      return priceMove === undefined || volatilityMove === undefined || weight === undefined
        ? undefined
        : { priceMove, volatilityMove, weight }
    })
    if (scenarios.length === 0)
      check.add('no_scenarios', `${path}.scenarios`, 'at least one scenario')
  }
  const products = list(check, object.products, `${path}.products`, (item, itemPath) =>
    readProduct(check, item, itemPath),
  )
  if (products.length === 0) check.add('no_products', `${path}.products`, 'at least one product')
  const interSpreads = list(check, object.interSpreads, `${path}.interSpreads`, (item, itemPath) =>
    readInterSpread(check, item, itemPath),
  )
  return { scenarios, products, interSpreads }
}

function readProduct(check: Checker, value: unknown, path: string): SpanProduct | undefined {
  const object = check.object(value, path)
  if (object === undefined) return undefined
  const id = check.text(object.id, `${path}.id`)
  const contractSize =
    object.contractSize === undefined
      ? ONE
      : check.decimal(object.contractSize, `${path}.contractSize`, 'positive')
  const priceScanRange = check.decimal(object.priceScanRange, `${path}.priceScanRange`, 'positive')
  const volatilityScanRange =
    object.volatilityScanRange === undefined
      ? ZERO
      : check.decimal(object.volatilityScanRange, `${path}.volatilityScanRange`, 'non_negative')
  const shortOptionMinimum =
    object.shortOptionMinimum === undefined
      ? ZERO
      : check.decimal(object.shortOptionMinimum, `${path}.shortOptionMinimum`, 'non_negative')
  const weightedPriceRisk =
    object.weightedPriceRisk === undefined
      ? 'normal'
      : check.choice(object.weightedPriceRisk, `${path}.weightedPriceRisk`, [
          'normal',
          'scan_range',
        ] as const)
  const intraSpreads = list(
    check,
    object.intraSpreads,
    `${path}.intraSpreads`,
    (item, itemPath): IntraSpreadRule | undefined => {
      const spread = check.object(item, itemPath)
      if (spread === undefined) return undefined
      const tierA = check.text(spread.tierA, `${itemPath}.tierA`)
      const tierB = check.text(spread.tierB, `${itemPath}.tierB`)
      const chargePerSpread = check.decimal(
        spread.chargePerSpread,
        `${itemPath}.chargePerSpread`,
        'non_negative',
      )
      return tierA === undefined || tierB === undefined || chargePerSpread === undefined
        ? undefined
        : { tierA, tierB, chargePerSpread }
    },
  )
  if (
    id === undefined ||
    contractSize === undefined ||
    priceScanRange === undefined ||
    volatilityScanRange === undefined ||
    shortOptionMinimum === undefined ||
    weightedPriceRisk === undefined
  )
    return undefined
  return {
    id,
    contractSize,
    priceScanRange,
    volatilityScanRange,
    shortOptionMinimum,
    weightedPriceRisk,
    intraSpreads,
  }
}

function readInterSpread(
  check: Checker,
  value: unknown,
  path: string,
): InterSpreadRule | undefined {
  const object = check.object(value, path)
  if (object === undefined) return undefined
  const id = check.text(object.id, `${path}.id`)
  const creditRate = check.decimal(object.creditRate, `${path}.creditRate`, 'fraction')
  const legs = list(
    check,
    object.legs,
    `${path}.legs`,
    (item, itemPath): InterSpreadLeg | undefined => {
      const leg = check.object(item, itemPath)
      if (leg === undefined) return undefined
      const product = check.text(leg.product, `${itemPath}.product`)
      const deltaRatio = check.decimal(leg.deltaRatio, `${itemPath}.deltaRatio`, 'positive')
      const side = check.choice(leg.side, `${itemPath}.side`, ['A', 'B'] as const)
      return product === undefined || deltaRatio === undefined || side === undefined
        ? undefined
        : { product, deltaRatio, side }
    },
  )
  if (legs.length < 2) check.add('too_few_legs', `${path}.legs`, 'a spread has at least two legs')
  if (!legs.some((leg) => leg.side === 'A') || !legs.some((leg) => leg.side === 'B'))
    check.add('one_sided_spread', `${path}.legs`, 'a spread has legs on side A and on side B')
  return id === undefined || creditRate === undefined ? undefined : { id, creditRate, legs }
}

function readGridRules(check: Checker, value: unknown, path: string): GridRules | undefined {
  const object = check.object(value, path)
  if (object === undefined) return undefined
  const priceMoves = list(check, object.priceMoves, `${path}.priceMoves`, (item, itemPath) =>
    check.decimal(item, itemPath),
  )
  if (priceMoves.length === 0)
    check.add('no_price_moves', `${path}.priceMoves`, 'at least one price move')
  const shock = check.object(object.volatilityShock, `${path}.volatilityShock`)
  const base =
    shock === undefined
      ? undefined
      : check.decimal(shock.base, `${path}.volatilityShock.base`, 'non_negative')
  const referenceDays =
    shock === undefined
      ? undefined
      : check.decimal(shock.referenceDays, `${path}.volatilityShock.referenceDays`, 'positive')
  const exponent =
    shock === undefined
      ? undefined
      : check.decimal(shock.exponent, `${path}.volatilityShock.exponent`, 'non_negative')
  const minimumDays =
    shock?.minimumDays === undefined
      ? ONE
      : check.decimal(shock.minimumDays, `${path}.volatilityShock.minimumDays`, 'positive')
  const settlement = check.choice(object.settlement, `${path}.settlement`, [
    'linear',
    'inverse',
  ] as const)
  const futuresCalendarContingency = check.decimal(
    object.futuresCalendarContingency,
    `${path}.futuresCalendarContingency`,
    'non_negative',
  )
  const netShortOptionContingency = check.decimal(
    object.netShortOptionContingency,
    `${path}.netShortOptionContingency`,
    'non_negative',
  )
  const products = list(check, object.products, `${path}.products`, (item, itemPath) => {
    const product = check.object(item, itemPath)
    if (product === undefined) return undefined
    const id = check.text(product.id, `${itemPath}.id`)
    const contractSize =
      product.contractSize === undefined
        ? ONE
        : check.decimal(product.contractSize, `${itemPath}.contractSize`, 'positive')
    return id === undefined || contractSize === undefined ? undefined : { id, contractSize }
  })
  if (products.length === 0) check.add('no_products', `${path}.products`, 'at least one product')
  const initialMarginMultiplier =
    object.initialMarginMultiplier === undefined
      ? ONE
      : check.decimal(object.initialMarginMultiplier, `${path}.initialMarginMultiplier`, 'positive')
  if (
    base === undefined ||
    referenceDays === undefined ||
    exponent === undefined ||
    minimumDays === undefined ||
    settlement === undefined ||
    futuresCalendarContingency === undefined ||
    netShortOptionContingency === undefined ||
    initialMarginMultiplier === undefined
  )
    return undefined
  return {
    products,
    priceMoves,
    volatilityShock: { base, referenceDays, exponent, minimumDays },
    settlement,
    futuresCalendarContingency,
    netShortOptionContingency,
    initialMarginMultiplier,
  }
}

/** A model section read on its own (`span:` or `grid:`), for rule sets that embed one (PFM-040). */
export type ModelSectionResult<T> =
  | { readonly ok: true; readonly rules: T }
  | { readonly ok: false; readonly issues: readonly RuleIssue[] }

/** Validates a `span:` section at `path` (issues name paths below it). */
export function parseSpanSection(value: unknown, path: string): ModelSectionResult<SpanRules> {
  const check = new Checker()
  const rules = readSpanRules(check, value, path)
  if (rules !== undefined) checkSpreadProducts(check, rules, path)
  if (rules === undefined || check.issues.length > 0) return { ok: false, issues: check.issues }
  return { ok: true, rules }
}

/** Validates a `grid:` section at `path` (issues name paths below it). */
export function parseGridSection(value: unknown, path: string): ModelSectionResult<GridRules> {
  const check = new Checker()
  const rules = readGridRules(check, value, path)
  if (rules === undefined || check.issues.length > 0) return { ok: false, issues: check.issues }
  return { ok: true, rules }
}

/** Every inter-product spread leg names a listed product. */
function checkSpreadProducts(check: Checker, rules: SpanRules, path: string): void {
  const products = new Set(rules.products.map((product) => product.id))
  rules.interSpreads.forEach((spread, index) => {
    spread.legs.forEach((leg, legIndex) => {
      if (!products.has(leg.product))
        check.add(
          'unknown_product',
          `${path}.interSpreads[${index}].legs[${legIndex}].product`,
          `no product "${leg.product}"`,
        )
    })
  })
}
