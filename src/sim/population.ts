/**
 * Seeded account populations for stress tests (SIM-020..SIM-024).
 *
 * A population is a list of accounts with collateral, positions, leverage, margin mode, and the
 * trader's own exits: stop-loss and take-profit prices (clustered at round numbers the way real
 * orders are) and daily loss limits. It is generated from a validated spec and a seed: same spec
 * and seed → the same population, byte for byte (checked by `populationHash`). Distribution
 * parameters are floats (it is a model); every emitted amount, size and price is exact and on its
 * grid (cents, lots, ticks).
 */
import { createHash } from 'node:crypto'
import { readFileSync, writeFileSync } from 'node:fs'
import type { Account, MarginMode, Position } from '../core/model/account.ts'
import type { Instrument } from '../core/model/instrument.ts'
import { contractValue, entryValueOf } from '../core/model/position-math.ts'
import {
  abs,
  div,
  divideRounded,
  type Fixed,
  fixed,
  fixedOf,
  formatFixed,
  fromScaled,
  parseFixed,
  toNumber,
} from '../core/num/fixed.ts'
import { type Checked, type Issue, issue } from './issue.ts'
import {
  parseSimulatedOption,
  type SimulatedOption,
  simulatedOptionToJson,
} from './option-holdings.ts'
import { priceOnTick } from './paths/price-path.ts'
import { createRandom, pickWeighted, type Random, SEED_MAXIMUM, uniformBetween } from './random.ts'

export interface SimulatedPosition {
  readonly market: string
  /** Signed contracts (+ long, − short), a non-zero multiple of the lot size. */
  readonly size: Fixed
  readonly entryPrice: Fixed
  /** Stop-loss trigger price: below the entry for a long, above it for a short. */
  readonly stopLoss?: Fixed
  /** Take-profit trigger price: above the entry for a long, below it for a short. */
  readonly takeProfit?: Fixed
}

export interface SimulatedAccount {
  readonly id: string
  /** Deposited collateral, in the settlement asset of the population's markets. */
  readonly collateral: Fixed
  readonly marginMode: MarginMode
  /** Leverage the trader picked (a whole number, capped by the market's maximum). */
  readonly leverage: Fixed
  readonly positions: readonly SimulatedPosition[]
  /** The trader closes everything once the day's loss reaches this amount. */
  readonly dailyLossLimit?: Fixed
  /** Option positions on the population's markets (SIM-026); the account is then cross. */
  readonly options?: readonly SimulatedOption[]
}

export interface Population {
  readonly seed: number
  /** What generated it (spec summary), or the file it was loaded from. */
  readonly source: string
  readonly accounts: readonly SimulatedAccount[]
}

export interface PopulationMarket {
  readonly instrument: Instrument
  /** Price positions are opened around. */
  readonly referencePrice: Fixed
  /** Highest leverage the venue allows in this market. */
  readonly maxLeverage: number
  /** Relative share of accounts that trade this market. */
  readonly weight: number
  /** Round-number grids stops and targets cluster on, e.g. 1000 and 500 for BTC. */
  readonly roundNumberSteps: readonly Fixed[]
}

export type CollateralDistribution =
  /** Pareto: minimum ÷ U^(1/alpha); alpha ≈ 1.1–1.5 gives the whale-heavy tail of real venues. */
  | {
      readonly kind: 'pareto'
      readonly minimum: number
      readonly alpha: number
      readonly maximum: number
    }
  /** Log-normal: median × exp(sigma × Z). */
  | {
      readonly kind: 'log_normal'
      readonly median: number
      readonly sigma: number
      readonly maximum: number
    }

/** One component of the leverage mixture: leverage log-uniform in [minimum, maximum], floored to a whole number. */
export interface LeverageComponent {
  readonly weight: number
  readonly minimum: number
  readonly maximum: number
}

export interface ExitOrderSpec {
  /** Share of positions that carry this order. */
  readonly usage: number
  /** Distance from the entry as a fraction of it, uniform in [minimum, maximum]. */
  readonly distanceMinimum: number
  readonly distanceMaximum: number
  /** Share of these orders snapped to a round number (one of the market's `roundNumberSteps`). */
  readonly roundNumberShare: number
}

export interface PopulationSpec {
  readonly seed: number
  readonly accountCount: number
  readonly markets: readonly PopulationMarket[]
  readonly collateral: CollateralDistribution
  /** Decimals collateral is rounded to (2 = cents). */
  readonly collateralDecimals: number
  readonly leverage: readonly LeverageComponent[]
  /** Fraction of the maximum position (collateral × leverage) actually opened, uniform in [minimum, maximum]. */
  readonly utilizationMinimum: number
  readonly utilizationMaximum: number
  /** Probability a position is long. */
  readonly longFraction: number
  /** Probability an account uses isolated margin. */
  readonly isolatedFraction: number
  /** Spread of entry prices around the reference: entry = reference × exp(spread × Z), Z clamped to ±4. */
  readonly entrySpread: number
  /** Probability an account also holds a position in a second market (when there are several). */
  readonly secondMarketFraction: number
  readonly stopLoss: ExitOrderSpec
  readonly takeProfit: ExitOrderSpec
  /** Share of accounts with a daily loss limit, set to a fraction of collateral in [minimum, maximum]. */
  readonly dailyLossLimit: {
    readonly usage: number
    readonly fractionMinimum: number
    readonly fractionMaximum: number
  }
}

/** BTCUSDT linear perpetual: 0.1 tick, 0.001 lot, 1 BTC per contract (a USDⓈ-M-like market). */
export const DEFAULT_POPULATION_MARKET: PopulationMarket = {
  instrument: {
    market: 'BTCUSDT',
    kind: 'linear_perpetual',
    baseAsset: 'BTC',
    quoteAsset: 'USDT',
    settlementAsset: 'USDT',
    contractSize: fixedOf('1'),
    tickSize: fixedOf('0.1'),
    lotSize: fixedOf('0.001'),
  },
  referencePrice: fixedOf('60000'),
  maxLeverage: 125,
  weight: 1,
  roundNumberSteps: [fixedOf('1000'), fixedOf('500')],
}

/**
 * The default spec: 1,000 accounts, Pareto collateral (minimum 100, alpha 1.3, cap 5,000,000),
 * leverage mostly 2–10x with a tail to 100x, 60 % long, 30 % isolated, 35 % with stops
 * (60 % of them at round numbers), 20 % with targets, 10 % with daily loss limits.
 */
export function defaultPopulationSpec(overrides: Partial<PopulationSpec> = {}): PopulationSpec {
  return {
    seed: 1,
    accountCount: 1000,
    markets: [DEFAULT_POPULATION_MARKET],
    collateral: { kind: 'pareto', minimum: 100, alpha: 1.3, maximum: 5_000_000 },
    collateralDecimals: 2,
    leverage: [
      { weight: 0.55, minimum: 2, maximum: 10 },
      { weight: 0.3, minimum: 10, maximum: 25 },
      { weight: 0.15, minimum: 25, maximum: 100 },
    ],
    utilizationMinimum: 0.3,
    utilizationMaximum: 1,
    longFraction: 0.6,
    isolatedFraction: 0.3,
    entrySpread: 0.01,
    secondMarketFraction: 0.1,
    stopLoss: { usage: 0.35, distanceMinimum: 0.02, distanceMaximum: 0.15, roundNumberShare: 0.6 },
    takeProfit: { usage: 0.2, distanceMinimum: 0.03, distanceMaximum: 0.3, roundNumberShare: 0.6 },
    dailyLossLimit: { usage: 0.1, fractionMinimum: 0.1, fractionMaximum: 0.5 },
    ...overrides,
  }
}

/** Checks a spec's ranges; returns every issue with the field's path. */
export function validatePopulationSpec(spec: PopulationSpec): Checked<PopulationSpec> {
  const issues: Issue[] = []
  const need = (condition: boolean, path: string, message: string): void => {
    if (!condition) issues.push(issue('population_spec_invalid', path, message))
  }
  const isFraction = (value: number): boolean => Number.isFinite(value) && value >= 0 && value <= 1
  need(
    Number.isInteger(spec.seed) && spec.seed >= 0 && spec.seed <= SEED_MAXIMUM,
    '$.seed',
    `the seed is a whole number in 0..${SEED_MAXIMUM}`,
  )
  need(
    Number.isInteger(spec.accountCount) &&
      spec.accountCount >= 1 &&
      spec.accountCount <= 10_000_000,
    '$.accountCount',
    'accountCount is a whole number in 1..10,000,000',
  )
  need(spec.markets.length > 0, '$.markets', 'at least one market')
  const settlementAssets = new Set(spec.markets.map((market) => market.instrument.settlementAsset))
  need(
    settlementAssets.size <= 1,
    '$.markets',
    'all markets of a population settle in one asset (collateral is in that asset)',
  )
  spec.markets.forEach((market, index) => {
    const path = `$.markets[${index}]`
    need(
      market.referencePrice > 0n && market.referencePrice % market.instrument.tickSize === 0n,
      `${path}.referencePrice`,
      'the reference price is positive and on the tick grid',
    )
    need(
      Number.isInteger(market.maxLeverage) && market.maxLeverage >= 1,
      `${path}.maxLeverage`,
      'maxLeverage is a whole number ≥ 1',
    )
    need(
      Number.isFinite(market.weight) && market.weight > 0,
      `${path}.weight`,
      'a market weight is positive',
    )
    need(
      market.roundNumberSteps.every((step) => step > 0n),
      `${path}.roundNumberSteps`,
      'round-number steps are positive',
    )
  })
  const collateral = spec.collateral
  if (collateral.kind === 'pareto') {
    need(
      collateral.minimum > 0 && collateral.alpha > 0 && collateral.maximum >= collateral.minimum,
      '$.collateral',
      'Pareto needs minimum > 0, alpha > 0, maximum ≥ minimum',
    )
  } else {
    need(
      collateral.median > 0 && collateral.sigma >= 0 && collateral.maximum >= collateral.median,
      '$.collateral',
      'log-normal needs median > 0, sigma ≥ 0, maximum ≥ median',
    )
  }
  need(
    Number.isInteger(spec.collateralDecimals) &&
      spec.collateralDecimals >= 0 &&
      spec.collateralDecimals <= 18,
    '$.collateralDecimals',
    'collateralDecimals is in 0..18',
  )
  need(spec.leverage.length > 0, '$.leverage', 'at least one leverage component')
  spec.leverage.forEach((component, index) => {
    need(
      component.weight > 0 && component.minimum >= 1 && component.maximum >= component.minimum,
      `$.leverage[${index}]`,
      'weight > 0 and 1 ≤ minimum ≤ maximum',
    )
  })
  need(
    spec.utilizationMinimum > 0 &&
      spec.utilizationMaximum <= 1 &&
      spec.utilizationMinimum <= spec.utilizationMaximum,
    '$.utilizationMinimum',
    '0 < utilizationMinimum ≤ utilizationMaximum ≤ 1',
  )
  for (const key of ['longFraction', 'isolatedFraction', 'secondMarketFraction'] as const) {
    need(isFraction(spec[key]), `$.${key}`, `${key} is in [0, 1]`)
  }
  need(
    Number.isFinite(spec.entrySpread) && spec.entrySpread >= 0 && spec.entrySpread < 0.2,
    '$.entrySpread',
    'entrySpread is in [0, 0.2)',
  )
  for (const key of ['stopLoss', 'takeProfit'] as const) {
    const order = spec[key]
    need(
      isFraction(order.usage) && isFraction(order.roundNumberShare),
      `$.${key}`,
      'usage and roundNumberShare are in [0, 1]',
    )
    need(
      order.distanceMinimum > 0 &&
        order.distanceMaximum < 1 &&
        order.distanceMinimum <= order.distanceMaximum,
      `$.${key}.distanceMinimum`,
      '0 < distanceMinimum ≤ distanceMaximum < 1',
    )
  }
  const limit = spec.dailyLossLimit
  need(
    isFraction(limit.usage) &&
      limit.fractionMinimum > 0 &&
      limit.fractionMinimum <= limit.fractionMaximum &&
      limit.fractionMaximum <= 1,
    '$.dailyLossLimit',
    'usage in [0, 1] and 0 < fractionMinimum ≤ fractionMaximum ≤ 1',
  )
  return issues.length > 0 ? { ok: false, issues } : { ok: true, value: spec, warnings: [] }
}

/** Generates a population; throws on an invalid spec (validate input with `validatePopulationSpec` first). */
export function generatePopulation(spec: PopulationSpec): Population {
  const checked = validatePopulationSpec(spec)
  if (!checked.ok) {
    throw new RangeError(
      `Condition failed: the population spec is valid (SIM-020, ${checked.issues.map((entry) => `${entry.path}: ${entry.message}`).join('; ')})`,
    )
  }
  const random = createRandom(spec.seed)
  const width = String(spec.accountCount).length
  const accounts: SimulatedAccount[] = []
  for (let index = 0; index < spec.accountCount; index += 1) {
    accounts.push(generateAccount(spec, `a${String(index + 1).padStart(width, '0')}`, random))
  }
  return {
    seed: spec.seed,
    source: `generated: ${spec.accountCount} accounts, ${spec.collateral.kind} collateral, seed ${spec.seed}`,
    accounts,
  }
}

function generateAccount(spec: PopulationSpec, id: string, random: Random): SimulatedAccount {
  const collateralStep = fromScaled(10n ** BigInt(18 - spec.collateralDecimals))
  const collateral = priceOnTick(drawCollateral(spec.collateral, random), collateralStep)
  const marginMode: MarginMode = random.chance(spec.isolatedFraction) ? 'isolated' : 'cross'
  const primary = pickWeighted(spec.markets, random)
  const leverageWanted = drawLeverage(spec.leverage, random)
  const markets = [primary]
  if (spec.markets.length > 1 && random.chance(spec.secondMarketFraction)) {
    const others = spec.markets.filter((market) => market !== primary)
    markets.push(pickWeighted(others, random))
  }
  const leverage = Math.max(
    1,
    Math.min(leverageWanted, ...markets.map((market) => market.maxLeverage)),
  )
  const positions = markets.map((market) =>
    generatePosition(spec, market, (toNumber(collateral) * leverage) / markets.length, random),
  )
  const usesLimit = random.chance(spec.dailyLossLimit.usage)
  const limitFraction = uniformBetween(
    random,
    spec.dailyLossLimit.fractionMinimum,
    spec.dailyLossLimit.fractionMaximum,
  )
  const account: SimulatedAccount = {
    id,
    collateral,
    marginMode,
    leverage: fixed(leverage),
    positions,
  }
  return usesLimit
    ? {
        ...account,
        dailyLossLimit: priceOnTick(toNumber(collateral) * limitFraction, collateralStep),
      }
    : account
}

function generatePosition(
  spec: PopulationSpec,
  market: PopulationMarket,
  maximumValue: number,
  random: Random,
): SimulatedPosition {
  const { instrument } = market
  const long = random.chance(spec.longFraction)
  const deviation = Math.max(-4, Math.min(4, random.normal()))
  const entryPrice = priceOnTick(
    toNumber(market.referencePrice) * Math.exp(spec.entrySpread * deviation),
    instrument.tickSize,
  )
  const utilization = uniformBetween(random, spec.utilizationMinimum, spec.utilizationMaximum)
  const targetValue = priceOnTick(maximumValue * utilization, fromScaled(1n))
  const valuePerLot = contractValue(instrument, instrument.lotSize, entryPrice)
  const lots = divideRounded(targetValue, valuePerLot, 'floor')
  const magnitude = (lots > 0n ? lots : 1n) * instrument.lotSize
  const size = (long ? magnitude : -magnitude) as Fixed
  const stopLoss = exitPrice(spec.stopLoss, market, entryPrice, long ? -1 : 1, random)
  const takeProfit = exitPrice(spec.takeProfit, market, entryPrice, long ? 1 : -1, random)
  return {
    market: instrument.market,
    size,
    entryPrice,
    ...(stopLoss === undefined ? {} : { stopLoss }),
    ...(takeProfit === undefined ? {} : { takeProfit }),
  }
}

/**
 * An exit order price `direction` (−1 below, +1 above) of the entry. Round-number orders snap to
 * the nearest multiple of a round step on the same side; if that multiple would cross the entry
 * (or reach zero), the order keeps its unsnapped price. Always on the tick grid.
 */
function exitPrice(
  order: ExitOrderSpec,
  market: PopulationMarket,
  entryPrice: Fixed,
  direction: -1 | 1,
  random: Random,
): Fixed | undefined {
  const uses = random.chance(order.usage)
  const distance = uniformBetween(random, order.distanceMinimum, order.distanceMaximum)
  const snaps = random.chance(order.roundNumberShare)
  const stepIndex = random.integer(0, Math.max(0, market.roundNumberSteps.length - 1))
  if (!uses) return undefined
  const tick = market.instrument.tickSize
  const raw = priceOnTick(toNumber(entryPrice) * (1 + direction * distance), tick)
  const roundStep = market.roundNumberSteps[stepIndex]
  if (!snaps || roundStep === undefined) return raw
  const snapped = (divideRounded(raw, roundStep, 'half_even') * roundStep) as Fixed
  const onTick = snapped % tick === 0n
  const sameSide = direction < 0 ? snapped < entryPrice && snapped > 0n : snapped > entryPrice
  return onTick && sameSide ? snapped : raw
}

function drawCollateral(distribution: CollateralDistribution, random: Random): number {
  switch (distribution.kind) {
    case 'pareto':
      return Math.min(
        distribution.maximum,
        distribution.minimum / random.uniformPositive() ** (1 / distribution.alpha),
      )
    case 'log_normal':
      return Math.min(
        distribution.maximum,
        distribution.median * Math.exp(distribution.sigma * random.normal()),
      )
  }
}

function drawLeverage(components: readonly LeverageComponent[], random: Random): number {
  const component = pickWeighted(components, random)
  const logValue = uniformBetween(random, Math.log(component.minimum), Math.log(component.maximum))
  return Math.max(component.minimum, Math.floor(Math.exp(logValue)))
}

/** Summary statistics of a population, for docs, reports and tests. */
export function describePopulation(population: Population): {
  accounts: number
  longShare: number
  isolatedShare: number
  withStopLoss: number
  withTakeProfit: number
  withDailyLossLimit: number
  totalCollateral: Fixed
} {
  let longs = 0
  let positions = 0
  let stops = 0
  let targets = 0
  let total = 0n
  for (const account of population.accounts) {
    total += account.collateral
    for (const position of account.positions) {
      positions += 1
      if (position.size > 0n) longs += 1
      if (position.stopLoss !== undefined) stops += 1
      if (position.takeProfit !== undefined) targets += 1
    }
  }
  const count = population.accounts.length
  return {
    accounts: count,
    longShare: positions === 0 ? 0 : longs / positions,
    isolatedShare:
      count === 0
        ? 0
        : population.accounts.filter((account) => account.marginMode === 'isolated').length / count,
    withStopLoss: stops,
    withTakeProfit: targets,
    withDailyLossLimit: population.accounts.filter(
      (account) => account.dailyLossLimit !== undefined,
    ).length,
    totalCollateral: total as Fixed,
  }
}

/**
 * Converts a simulated account to the engine's `Account`: the collateral becomes the wallet
 * balance of the markets' settlement asset; each position gets its exact entry value; an isolated
 * position is posted value ÷ leverage (rounded up, but never more than the balance left), taken
 * from the wallet.
 */
export function toEngineAccount(
  account: SimulatedAccount,
  instruments: ReadonlyMap<string, Instrument>,
): Account {
  let balance = account.collateral
  let settlementAsset: string | undefined
  const positions = new Map<string, Position>()
  for (const position of account.positions) {
    const instrument = instruments.get(position.market)
    if (instrument === undefined)
      throw new RangeError(
        `Condition failed: the instrument of a position is known (SIM-023, market=${position.market})`,
      )
    settlementAsset = instrument.settlementAsset
    const entryValue = entryValueOf(instrument, position.size, position.entryPrice)
    let isolatedMargin = 0n as Fixed
    if (account.marginMode === 'isolated') {
      const absoluteValue = abs(entryValue)
      const wanted = div(absoluteValue, account.leverage, 'ceil')
      isolatedMargin = wanted < balance ? wanted : balance
      balance = (balance - isolatedMargin) as Fixed
    }
    positions.set(position.market, {
      market: position.market,
      size: position.size,
      entryValue,
      marginMode: account.marginMode,
      isolatedMargin,
      leverage: account.leverage,
    })
  }
  const balances = new Map<string, Fixed>()
  if (settlementAsset !== undefined) balances.set(settlementAsset, balance)
  return { id: account.id, balances, positions }
}

const FORMAT = 'lor-population'
const FORMAT_VERSION = 1

/** The population as a canonical JSON value (decimals as strings, keys in a fixed order). */
export function populationToJson(population: Population): unknown {
  return {
    format: FORMAT,
    version: FORMAT_VERSION,
    seed: population.seed,
    source: population.source,
    accounts: population.accounts.map((account) => ({
      id: account.id,
      collateral: formatFixed(account.collateral),
      marginMode: account.marginMode,
      leverage: formatFixed(account.leverage),
      ...(account.dailyLossLimit === undefined
        ? {}
        : { dailyLossLimit: formatFixed(account.dailyLossLimit) }),
      positions: account.positions.map((position) => ({
        market: position.market,
        size: formatFixed(position.size),
        entryPrice: formatFixed(position.entryPrice),
        ...(position.stopLoss === undefined ? {} : { stopLoss: formatFixed(position.stopLoss) }),
        ...(position.takeProfit === undefined
          ? {}
          : { takeProfit: formatFixed(position.takeProfit) }),
      })),
      ...(account.options === undefined
        ? {}
        : { options: account.options.map(simulatedOptionToJson) }),
    })),
  }
}

/** SHA-256 of the canonical JSON without `source`: equal hashes mean equal seeds and accounts (SIM-021). */
export function populationHash(population: Population): string {
  const { source: _source, ...json } = populationToJson(population) as Record<string, unknown>
  return createHash('sha256').update(JSON.stringify(json)).digest('hex')
}

/** Writes the population as JSON (one account per line, so diffs stay readable). */
export function savePopulation(filePath: string, population: Population): void {
  const json = populationToJson(population) as { accounts: unknown[] }
  const header = JSON.stringify({ ...json, accounts: [] }).slice(0, -3)
  const lines = json.accounts.map((account) => `    ${JSON.stringify(account)}`)
  writeFileSync(filePath, `${header}[\n${lines.join(',\n')}\n]}\n`)
}

/** Parses a population JSON value, reporting every problem with its path. */
export function parsePopulation(input: unknown, source = 'JSON'): Checked<Population> {
  const issues: Issue[] = []
  const bad = (path: string, message: string): void => {
    issues.push(issue('population_file_invalid', path, message))
  }
  if (typeof input !== 'object' || input === null)
    return {
      ok: false,
      issues: [issue('population_file_invalid', '$', 'a population file is a JSON object')],
    }
  const record = input as Record<string, unknown>
  if (record.format !== FORMAT || record.version !== FORMAT_VERSION)
    bad('$.format', `format is "${FORMAT}" version ${FORMAT_VERSION}`)
  const seed = typeof record.seed === 'number' && Number.isInteger(record.seed) ? record.seed : 0
  const decimal = (value: unknown, path: string, positive: boolean): Fixed => {
    const parsed = typeof value === 'string' ? parseFixed(value) : null
    if (parsed?.ok === true && (positive ? parsed.value > 0n : parsed.value !== 0n))
      return parsed.value
    bad(path, positive ? 'a positive decimal string' : 'a non-zero decimal string')
    return fixed(1)
  }
  const accounts: SimulatedAccount[] = []
  const ids = new Set<string>()
  if (!Array.isArray(record.accounts)) bad('$.accounts', 'accounts is an array')
  else {
    record.accounts.forEach((value: unknown, index) => {
      const path = `$.accounts[${index}]`
      const entry = (typeof value === 'object' && value !== null ? value : {}) as Record<
        string,
        unknown
      >
      const id = typeof entry.id === 'string' && entry.id.length > 0 ? entry.id : ''
      if (id === '') bad(`${path}.id`, 'an id is a non-empty string')
      else if (ids.has(id)) bad(`${path}.id`, `the id "${id}" is used twice`)
      ids.add(id)
      const marginMode = entry.marginMode
      if (marginMode !== 'cross' && marginMode !== 'isolated')
        bad(`${path}.marginMode`, 'marginMode is cross or isolated')
      const positions: SimulatedPosition[] = []
      if (!Array.isArray(entry.positions)) bad(`${path}.positions`, 'positions is an array')
      else {
        entry.positions.forEach((positionValue: unknown, positionIndex) => {
          const positionPath = `${path}.positions[${positionIndex}]`
          const position = (
            typeof positionValue === 'object' && positionValue !== null ? positionValue : {}
          ) as Record<string, unknown>
          if (typeof position.market !== 'string' || position.market === '')
            bad(`${positionPath}.market`, 'a market is a non-empty string')
          positions.push({
            market: typeof position.market === 'string' ? position.market : '',
            size: decimal(position.size, `${positionPath}.size`, false),
            entryPrice: decimal(position.entryPrice, `${positionPath}.entryPrice`, true),
            ...(position.stopLoss === undefined
              ? {}
              : { stopLoss: decimal(position.stopLoss, `${positionPath}.stopLoss`, true) }),
            ...(position.takeProfit === undefined
              ? {}
              : { takeProfit: decimal(position.takeProfit, `${positionPath}.takeProfit`, true) }),
          })
        })
      }
      let options: SimulatedOption[] | undefined
      if (entry.options !== undefined) {
        if (!Array.isArray(entry.options)) bad(`${path}.options`, 'options is an array')
        else {
          options = entry.options.map((option: unknown, optionIndex) =>
            parseSimulatedOption(option, `${path}.options[${optionIndex}]`, bad),
          )
          if (marginMode === 'isolated')
            bad(`${path}.marginMode`, 'an account holding options is cross (OPT-022)')
        }
      }
      const account: SimulatedAccount = {
        id,
        collateral: decimal(entry.collateral, `${path}.collateral`, true),
        marginMode: marginMode === 'isolated' ? 'isolated' : 'cross',
        leverage: decimal(entry.leverage, `${path}.leverage`, true),
        positions,
        ...(options === undefined ? {} : { options }),
      }
      accounts.push(
        entry.dailyLossLimit === undefined
          ? account
          : {
              ...account,
              dailyLossLimit: decimal(entry.dailyLossLimit, `${path}.dailyLossLimit`, true),
            },
      )
    })
  }
  return issues.length > 0
    ? { ok: false, issues }
    : { ok: true, value: { seed, source, accounts }, warnings: [] }
}

/** Reads a population file written by `savePopulation` (or by hand). */
export function loadPopulation(filePath: string): Checked<Population> {
  let input: unknown
  try {
    input = JSON.parse(readFileSync(filePath, 'utf8')) as unknown
  } catch (error) {
    return {
      ok: false,
      issues: [
        issue(
          'population_file_unreadable',
          filePath,
          error instanceof Error ? error.message : String(error),
        ),
      ],
    }
  }
  return parsePopulation(input, filePath)
}
