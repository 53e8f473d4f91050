/**
 * Option holdings of a simulated population (SIM-025..SIM-027).
 *
 * A share of the accounts also trade European options on the population's market, the way
 * option users of a venue do: hedgers buy a protective put (a call when short), overwriters write
 * a call against a long (a put against a short), premium sellers write naked puts and calls, and
 * speculators buy them. Strikes sit at given distances from the reference price, on a round step
 * (the power of ten at or below 1 % of the reference: 100 at 60,000, 10 at 7,900), with expiries a
 * whole number of days after the path's start. The holdings are drawn from their own random stream
 * (split from the population's seed), so adding options never changes the collateral, perpetual
 * positions or exits of an account; an account that holds options is margined cross, since
 * options are cross-margined only (OPT-022).
 */
import type { OptionRight } from '../core/options/black76.ts'
import {
  type Fixed,
  fixed,
  fixedOf,
  formatFixed,
  neg,
  parseFixed,
  toNumber,
} from '../core/num/fixed.ts'
import { type Checked, type Issue, issue } from './issue.ts'
import type { Population, PopulationMarket, SimulatedAccount } from './population.ts'
import { priceOnTick } from './paths/price-path.ts'
import { createRandom, pickWeighted, type Random, uniformBetween } from './random.ts'

/** Why an account holds an option. */
export type OptionStrategy = 'protective' | 'covered' | 'naked_write' | 'long'

/** The strategies, in the order they are drawn from. */
export const OPTION_STRATEGIES: readonly OptionStrategy[] = [
  'protective',
  'covered',
  'naked_write',
  'long',
]

/** One option position of a simulated account. */
export interface SimulatedOption {
  /** The population market the option is written on (its underlying). */
  readonly underlying: string
  readonly right: OptionRight
  /** In the underlying's quote currency, on the strike step. */
  readonly strike: Fixed
  /** Expiry: whole days after the path's first point. */
  readonly expiryDays: number
  /** Signed size in units of the underlying (+ bought, − written), a positive multiple of the lot. */
  readonly size: Fixed
  readonly strategy: OptionStrategy
}

/** How options are spread over a population; plain data (numbers and decimal strings). */
export interface OptionHoldingsSpec {
  /** Share of accounts that hold an option. */
  readonly usage: number
  /** Relative weights of the strategies. */
  readonly strategies: Readonly<Record<OptionStrategy, number>>
  /** Strike distances from the reference price as fractions (put below, call above). */
  readonly strikeDistances: readonly number[]
  /** Expiries offered, in whole days after the path's start. */
  readonly expiryDays: readonly number[]
  /** Options are traded in multiples of this many units of the underlying (decimal text). */
  readonly lotSize: string
  /** Naked writers write collateral × leverage of notional, leverage uniform in [minimum, maximum]. */
  readonly writerLeverageMinimum: number
  readonly writerLeverageMaximum: number
  /** Annualized implied volatility the options are marked at (decimal text). */
  readonly impliedVolatility: string
  /**
   * When true the implied volatility follows the path (SIMRUN-006): re-set every
   * `volatilityEveryMinutes` to the larger of `impliedVolatility` and the path's EWMA volatility
   * with decay `volatilityLambda`, annualized.
   */
  readonly volatilityFromPath: boolean
  readonly volatilityLambda: string
  readonly volatilityEveryMinutes: number
}

/**
 * Defaults: a fifth of the accounts, strikes 5 % and 10 % away, one 30-day expiry (four series),
 * lot 0.1 (Deribit's BTC option lot), writers at 1–3x, marked at 60 % implied volatility held for
 * the whole run (with `volatilityFromPath`: re-set hourly from the path, λ 0.999).
 */
export const DEFAULT_OPTION_HOLDINGS: OptionHoldingsSpec = {
  usage: 0.2,
  strategies: { protective: 0.35, covered: 0.25, naked_write: 0.25, long: 0.15 },
  strikeDistances: [0.05, 0.1],
  expiryDays: [30],
  lotSize: '0.1',
  writerLeverageMinimum: 1,
  writerLeverageMaximum: 3,
  impliedVolatility: '0.6',
  volatilityFromPath: false,
  volatilityLambda: '0.999',
  volatilityEveryMinutes: 60,
}

const KNOWN_FIELDS = new Set(Object.keys(DEFAULT_OPTION_HOLDINGS))

/**
 * Validates an option holdings document (SIM-025): omitted fields take the defaults, unknown
 * fields and values out of range are issues with their path.
 */
export function parseOptionHoldingsSpec(input: unknown): Checked<OptionHoldingsSpec> {
  const issues: Issue[] = []
  const bad = (path: string, message: string): void => {
    issues.push(issue('option_holdings_invalid', path, message))
  }
  if (typeof input !== 'object' || input === null || Array.isArray(input))
    return {
      ok: false,
      issues: [issue('option_holdings_invalid', '$', 'option holdings are a JSON object')],
    }
  const record = input as Record<string, unknown>
  for (const key of Object.keys(record))
    if (!KNOWN_FIELDS.has(key))
      bad(`$.${key}`, `unknown field (known: ${[...KNOWN_FIELDS].join(', ')})`)
  const spec: OptionHoldingsSpec = { ...DEFAULT_OPTION_HOLDINGS, ...record }
  const isNumber = (value: unknown): value is number =>
    typeof value === 'number' && Number.isFinite(value)
  if (!isNumber(spec.usage) || spec.usage < 0 || spec.usage > 1)
    bad('$.usage', 'usage is a number in [0, 1]')
  const weights = spec.strategies as unknown
  if (typeof weights !== 'object' || weights === null || Array.isArray(weights))
    bad('$.strategies', `strategies maps ${OPTION_STRATEGIES.join(', ')} to weights`)
  else {
    const entries = Object.entries(weights as Record<string, unknown>)
    for (const [name, weight] of entries) {
      if (!OPTION_STRATEGIES.includes(name as OptionStrategy))
        bad(`$.strategies.${name}`, `unknown strategy (known: ${OPTION_STRATEGIES.join(', ')})`)
      else if (!isNumber(weight) || weight < 0)
        bad(`$.strategies.${name}`, 'a weight is a number ≥ 0')
    }
    if (!entries.some(([, weight]) => isNumber(weight) && weight > 0))
      bad('$.strategies', 'at least one strategy has a positive weight')
  }
  const list = (path: string, value: unknown, valid: (entry: unknown) => boolean, what: string) => {
    if (!Array.isArray(value) || value.length === 0 || !value.every(valid))
      bad(path, `${path.slice(2)} is a non-empty list of ${what}`)
  }
  list(
    '$.strikeDistances',
    spec.strikeDistances,
    (entry) => isNumber(entry) && entry >= 0 && entry < 0.9,
    'fractions in [0, 0.9)',
  )
  list(
    '$.expiryDays',
    spec.expiryDays,
    (entry) => Number.isInteger(entry) && (entry as number) >= 1 && (entry as number) <= 3650,
    'whole numbers of days in 1..3650',
  )
  const positiveDecimal = (path: string, value: unknown): void => {
    const parsed = typeof value === 'string' ? parseFixed(value) : null
    if (parsed?.ok !== true || parsed.value <= 0n) bad(path, 'a positive decimal string')
  }
  positiveDecimal('$.lotSize', spec.lotSize)
  positiveDecimal('$.impliedVolatility', spec.impliedVolatility)
  if (typeof spec.volatilityFromPath !== 'boolean')
    bad('$.volatilityFromPath', 'volatilityFromPath is true or false')
  const lambda =
    typeof spec.volatilityLambda === 'string' ? parseFixed(spec.volatilityLambda) : null
  if (lambda?.ok !== true || lambda.value <= 0n || lambda.value >= fixed(1))
    bad('$.volatilityLambda', 'volatilityLambda is a decimal string strictly between 0 and 1')
  if (
    !Number.isInteger(spec.volatilityEveryMinutes) ||
    spec.volatilityEveryMinutes < 1 ||
    spec.volatilityEveryMinutes > 10_080
  )
    bad('$.volatilityEveryMinutes', 'volatilityEveryMinutes is a whole number in 1..10,080')
  if (
    !isNumber(spec.writerLeverageMinimum) ||
    !isNumber(spec.writerLeverageMaximum) ||
    spec.writerLeverageMinimum <= 0 ||
    spec.writerLeverageMaximum < spec.writerLeverageMinimum
  )
    bad('$.writerLeverageMinimum', '0 < writerLeverageMinimum ≤ writerLeverageMaximum')
  return issues.length > 0
    ? { ok: false, issues }
    : {
        ok: true,
        value: { ...spec, strategies: { ...zeroWeights(), ...spec.strategies } },
        warnings: [],
      }
}

function zeroWeights(): Record<OptionStrategy, number> {
  return { protective: 0, covered: 0, naked_write: 0, long: 0 }
}

/** The strike step at `reference`: the power of ten at or below 1 % of it (at least 10⁻⁸). */
export function strikeStepOf(reference: Fixed): Fixed {
  let step = fixed(1)
  const target = reference / 100n
  if (target >= step) {
    while (step * 10n <= target) step = (step * 10n) as Fixed
    return step
  }
  const smallest = fixedOf('0.00000001')
  while (step > smallest && step > target) step = (step / 10n) as Fixed
  return step
}

/**
 * Adds option positions to a share of a population's accounts (SIM-026), on `market` around its
 * reference price. Accounts that already hold options (a loaded population) are kept as they are.
 */
export function addOptionHoldings(
  population: Population,
  spec: OptionHoldingsSpec,
  market: PopulationMarket,
): Population {
  const random = createRandom(population.seed).split('options')
  const lot = fixedOf(spec.lotSize)
  const step = strikeStepOf(market.referencePrice)
  const reference = toNumber(market.referencePrice)
  const accounts = population.accounts.map((account) => {
    const holds = random.chance(spec.usage)
    const strategy = pickStrategy(spec.strategies, random)
    const distance = spec.strikeDistances[random.integer(0, spec.strikeDistances.length - 1)] ?? 0
    const expiryDays = spec.expiryDays[random.integer(0, spec.expiryDays.length - 1)] ?? 1
    const coin = random.chance(0.5)
    const leverage = uniformBetween(random, spec.writerLeverageMinimum, spec.writerLeverageMaximum)
    const buyerShare = uniformBetween(random, 0.5, 2)
    if (!holds || account.options !== undefined) return account
    const perpetual = account.positions.find(
      (position) => position.market === market.instrument.market,
    )
    const perpetualUnits =
      perpetual === undefined
        ? 0
        : toNumber(perpetual.size) * toNumber(market.instrument.contractSize)
    const collateral = toNumber(account.collateral)
    let right: OptionRight
    let units: number
    switch (strategy) {
      case 'protective':
      case 'covered': {
        if (perpetualUnits === 0) return account
        const long = perpetualUnits > 0
        right = (strategy === 'protective') === long ? 'put' : 'call'
        units = (strategy === 'protective' ? 1 : -1) * Math.abs(perpetualUnits)
        break
      }
      case 'naked_write':
        right = coin ? 'put' : 'call'
        units = (-collateral * leverage) / reference
        break
      case 'long':
        right = coin ? 'put' : 'call'
        units = (collateral * buyerShare) / reference
        break
    }
    const lots = Math.floor(Math.abs(units) / toNumber(lot))
    if (lots < 1) return account
    const magnitude = (BigInt(lots) * lot) as Fixed
    const size = units < 0 ? neg(magnitude) : magnitude
    const strikePrice = reference * (right === 'put' ? 1 - distance : 1 + distance)
    const option: SimulatedOption = {
      underlying: market.instrument.market,
      right,
      strike: priceOnTick(strikePrice, step),
      expiryDays,
      size,
      strategy,
    }
    const withOptions: SimulatedAccount = { ...account, marginMode: 'cross', options: [option] }
    return withOptions
  })
  return { ...population, accounts }
}

/** A strategy by weight (the spec has one of positive weight, SIM-025). */
function pickStrategy(
  weights: Readonly<Record<OptionStrategy, number>>,
  random: Random,
): OptionStrategy {
  const choices = OPTION_STRATEGIES.filter((name) => weights[name] > 0).map((name) => ({
    name,
    weight: weights[name],
  }))
  return pickWeighted(choices, random).name
}

/** An option position in the population file's form (decimals as strings). */
export function simulatedOptionToJson(option: SimulatedOption): Record<string, unknown> {
  return {
    underlying: option.underlying,
    right: option.right,
    strike: formatFixed(option.strike),
    expiryDays: option.expiryDays,
    size: formatFixed(option.size),
    strategy: option.strategy,
  }
}

/** Reads an option position of a population file; problems are reported through `bad`. */
export function parseSimulatedOption(
  value: unknown,
  path: string,
  bad: (path: string, message: string) => void,
): SimulatedOption {
  const entry = (typeof value === 'object' && value !== null ? value : {}) as Record<
    string,
    unknown
  >
  const decimal = (field: string, positive: boolean): Fixed => {
    const parsed = typeof entry[field] === 'string' ? parseFixed(entry[field]) : null
    if (parsed?.ok === true && (positive ? parsed.value > 0n : parsed.value !== 0n))
      return parsed.value
    bad(`${path}.${field}`, positive ? 'a positive decimal string' : 'a non-zero decimal string')
    return fixed(1)
  }
  if (typeof entry.underlying !== 'string' || entry.underlying === '')
    bad(`${path}.underlying`, 'the underlying is a market id')
  if (entry.right !== 'call' && entry.right !== 'put') bad(`${path}.right`, 'right is call or put')
  const days = entry.expiryDays
  if (!Number.isInteger(days) || (days as number) < 1)
    bad(`${path}.expiryDays`, 'expiryDays is a whole number ≥ 1')
  if (!OPTION_STRATEGIES.includes(entry.strategy as OptionStrategy))
    bad(`${path}.strategy`, `strategy is one of ${OPTION_STRATEGIES.join(', ')}`)
  return {
    underlying: typeof entry.underlying === 'string' ? entry.underlying : '',
    right: entry.right === 'call' ? 'call' : 'put',
    strike: decimal('strike', true),
    expiryDays: Number.isInteger(days) ? (days as number) : 1,
    size: decimal('size', false),
    strategy: OPTION_STRATEGIES.includes(entry.strategy as OptionStrategy)
      ? (entry.strategy as OptionStrategy)
      : 'long',
  }
}
