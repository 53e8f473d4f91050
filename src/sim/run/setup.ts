/**
 * Putting a population into an engine under one rule set (SIMRUN-001..SIMRUN-004).
 *
 * A population is generated for one underlying (BTC) on a linear reference instrument, collateral
 * in its quote asset; every rule set has its own BTC market with its own contract size, tick and
 * lot. Each account is mapped onto the rule set's market. Linear markets: the position keeps its
 * size in BTC (rounded toward zero to the lot; a position that rounds to nothing is dropped).
 * Inverse (coin-margined) markets: the position keeps its notional in the quote currency, so its
 * size is notional ÷ contract size (contracts are USD amounts), and collateral, daily loss limit
 * and isolated margin are held in the coin, converted at the account's entry price: the leverage
 * at entry is the same as on a linear venue. Entry prices are rounded half-even to the tick,
 * leverage is capped by the market's maximum. Positions are booked against `@book` at their entry
 * price (`seedState`), so open interest balances and every collateral amount counts as a deposit.
 */
import { quotingOf } from '../../core/model/instrument.ts'
import { entryValueOf } from '../../core/model/position-math.ts'
import {
  abs,
  div,
  type Fixed,
  fixedOf,
  formatFixed,
  mul,
  roundToStep,
  sub,
  ZERO,
} from '../../core/num/fixed.ts'
import type { Instrument } from '../../core/model/instrument.ts'
import { isPortfolioMargined } from '../../core/margin/portfolio-margin.ts'
import type { OptionRight } from '../../core/options/black76.ts'
import { optionModelMark } from '../../core/options/option-mark.ts'
import { parseRuleSet, ruleSetToJson } from '../../core/rules/parse.ts'
import type { MarketRules, RuleSet } from '../../core/rules/rule-set.ts'
import type { SeedAccount } from '../../core/engine/index.ts'
import type { Population, SimulatedAccount } from '../population.ts'

/**
 * Tickers that name the same underlying on different venues (BitMEX calls bitcoin XBT). A rule
 * set's market is the population's underlying when its base asset is one of these names.
 */
export const UNDERLYING_NAMES: Readonly<Record<string, readonly string[]>> = {
  BTC: ['BTC', 'XBT'],
}

/** True when `asset` names the underlying `baseAsset` (itself or a listed alias). */
export function namesUnderlying(asset: string, baseAsset: string): boolean {
  return asset === baseAsset || (UNDERLYING_NAMES[baseAsset]?.includes(asset) ?? false)
}

/** Step that coin collateral (inverse markets' settlement asset) is rounded to: 10⁻⁸, a satoshi. */
export const COIN_AMOUNT_STEP: Fixed = fixedOf('0.00000001')

/** The market a rule set is simulated in, or why none fits. */
export type MarketChoice =
  | { readonly ok: true; readonly market: MarketRules }
  | { readonly ok: false; readonly message: string }

/**
 * Picks the rule set's market for `baseAsset` (SIMRUN-001): among markets of that underlying, in
 * file order, the first linear perpetual, else linear future, else inverse perpetual, else inverse
 * future.
 */
export function simulatedMarketOf(ruleSet: RuleSet, baseAsset: string): MarketChoice {
  const markets = [...ruleSet.markets.values()].filter((market) =>
    namesUnderlying(market.instrument.baseAsset, baseAsset),
  )
  const order = ['linear_perpetual', 'linear_future', 'inverse_perpetual', 'inverse_future']
  const market = order
    .map((kind) => markets.find((candidate) => candidate.instrument.kind === kind))
    .find((candidate) => candidate !== undefined)
  if (market === undefined) {
    return {
      ok: false,
      message: `rule set ${ruleSet.id} lists no perpetual or future on ${baseAsset}`,
    }
  }
  return { ok: true, market }
}

/** True when a market settles in its base asset (inverse, coin-margined). */
export function isCoinMargined(instrument: Instrument): boolean {
  return quotingOf(instrument.kind) === 'inverse'
}

/**
 * Value of `size` contracts in the quote currency at `price`: linear size × contract size × price,
 * inverse size × contract size (an inverse contract is a fixed quote amount). Signed like `size`.
 */
export function quoteNotional(instrument: Instrument, size: Fixed, price: Fixed): Fixed {
  const units = mul(size, instrument.contractSize, 'exact')
  return isCoinMargined(instrument) ? units : mul(units, price, 'exact')
}

/**
 * An amount of a market's settlement asset in its quote currency at `price`: itself for linear
 * markets, × price for inverse ones (rounded half-even to 10⁻¹⁸).
 */
export function settlementInQuote(instrument: Instrument, amount: Fixed, price: Fixed): Fixed {
  return isCoinMargined(instrument) ? mul(amount, price, 'half_even') : amount
}

/**
 * An amount quoted in the population's collateral currency, held in `instrument`'s settlement
 * asset: unchanged for linear markets; for inverse ones ÷ `price`, half-even to a satoshi.
 */
export function quoteToSettlement(instrument: Instrument, amount: Fixed, price: Fixed): Fixed {
  if (!isCoinMargined(instrument)) return amount
  return roundToStep(div(amount, price, 'half_even'), COIN_AMOUNT_STEP, 'half_even')
}

const DAY_MS = 86_400_000
const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC']

/** An option series a population holds: right, strike and expiry in days after the path's start. */
export interface OptionSeries {
  readonly right: OptionRight
  readonly strike: Fixed
  readonly expiryDays: number
}

function seriesKey(series: OptionSeries): string {
  return `${series.right}:${formatFixed(series.strike)}:${series.expiryDays}`
}

/** The distinct option series held on `market`, sorted by expiry, right and strike. */
export function optionSeriesOf(population: Population, market: string): OptionSeries[] {
  const found = new Map<string, OptionSeries>()
  for (const account of population.accounts)
    for (const option of account.options ?? [])
      if (option.underlying === market) found.set(seriesKey(option), option)
  return [...found.values()].sort((a, b) => {
    if (a.expiryDays !== b.expiryDays) return a.expiryDays - b.expiryDays
    if (a.right !== b.right) return a.right < b.right ? -1 : 1
    return a.strike < b.strike ? -1 : a.strike > b.strike ? 1 : 0
  })
}

/** The option series a rule set lists for a run, with their opening premiums (SIMRUN-005). */
export interface ListedOptions {
  readonly ruleSet: RuleSet
  /** Option market id per series (`seriesKey`); empty when the rule set takes no options. */
  readonly markets: ReadonlyMap<string, string>
  /** Premium of each listed option market at the path's first mark (its seeded entry and mark). */
  readonly premiums: ReadonlyMap<string, Fixed>
  /** The implied volatility the options are marked at. */
  readonly volatility: Fixed
  /** Why the population's options are left out, when they are. */
  readonly omitted?: string
}

/**
 * Lists the population's option series in a rule set (SIMRUN-005), the way a venue lists new
 * strikes: European options on the simulated market, settled like it (coin-settled premiums on
 * an inverse market), named venue-style (`BTC-10NOV25-57000-P`), expiring whole days after the
 * path's start, fees 0 (option fee formulas are not modelled), margined by the rule set's
 * portfolio model in the underlying's product. A rule set takes options only when its portfolio
 * model covers the simulated market and it places liquidations itself; otherwise the options are
 * left out and `omitted` says why. The listed rule set goes through the rule-set validator.
 */
export function listOptionSeries(
  ruleSet: RuleSet,
  market: MarketRules,
  series: readonly OptionSeries[],
  options: {
    readonly startTimeMs: number
    readonly firstMark: Fixed
    readonly lotSize: Fixed
    readonly volatility: Fixed
  },
): ListedOptions {
  const none = (omitted?: string): ListedOptions => ({
    ruleSet,
    markets: new Map(),
    premiums: new Map(),
    volatility: options.volatility,
    ...(omitted === undefined ? {} : { omitted }),
  })
  if (series.length === 0) return none()
  const underlying = market.instrument
  if (!isPortfolioMargined(ruleSet.portfolioMargin, underlying.market))
    return none(`${ruleSet.id} has no portfolio model over ${underlying.market} to margin options`)
  if (ruleSet.liquidation === undefined)
    return none(`${ruleSet.id} has no liquidation rules to close options`)
  const listedWith = (listing: readonly OptionSeries[]) => {
    const { ruleSet: listedRules, markets } = listedRuleSet(ruleSet, underlying, listing, options)
    const premiums = new Map<string, Fixed>()
    for (const id of markets.values()) {
      const instrument = listedRules.markets.get(id)?.instrument
      const premium =
        instrument === undefined
          ? undefined
          : optionModelMark(instrument, options.firstMark, options.volatility, options.startTimeMs)
      if (premium !== undefined) premiums.set(id, premium)
    }
    return { ruleSet: listedRules, markets, premiums, volatility: options.volatility }
  }
  const all = listedWith(series)
  // A series worth less than a tick at the start has no price to open at: it is not listed.
  const priced = series.filter(
    (entry) => (all.premiums.get(all.markets.get(seriesKey(entry)) ?? '') ?? ZERO) > 0n,
  )
  if (priced.length === series.length) return all
  if (priced.length === 0) return none('every option series is worth less than a tick')
  return listedWith(priced)
}

/** The rule set with `series` listed on `underlying` (validated), and the market id per series. */
function listedRuleSet(
  ruleSet: RuleSet,
  underlying: Instrument,
  series: readonly OptionSeries[],
  options: { readonly startTimeMs: number; readonly lotSize: Fixed },
): { ruleSet: RuleSet; markets: Map<string, string> } {
  const product = ruleSet.portfolioMargin?.markets.get(underlying.market)?.product
  const json = ruleSetToJson(ruleSet) as unknown as {
    markets: Record<string, unknown>[]
    portfolioMargin: { markets: Record<string, unknown>[] }
  }
  const markets = new Map<string, string>()
  for (const entry of series) {
    const expiryTimeMs = options.startTimeMs + entry.expiryDays * DAY_MS
    const date = new Date(expiryTimeMs)
    const month = MONTHS[date.getUTCMonth()] ?? ''
    const label = `${date.getUTCDate()}${month}${String(date.getUTCFullYear()).slice(2)}`
    const id = `${underlying.baseAsset}-${label}-${formatFixed(entry.strike)}-${entry.right === 'call' ? 'C' : 'P'}`
    markets.set(seriesKey(entry), id)
    json.markets.push({
      market: id,
      kind: 'option',
      baseAsset: underlying.baseAsset,
      quoteAsset: underlying.quoteAsset,
      settlementAsset: underlying.settlementAsset,
      contractSize: '1',
      tickSize: isCoinMargined(underlying) ? '0.0001' : '0.01',
      lotSize: formatFixed(options.lotSize),
      expiryTimeMs,
      option: {
        underlying: underlying.market,
        right: entry.right,
        strike: formatFixed(entry.strike),
      },
      makerFeeRate: '0',
      takerFeeRate: '0',
      liquidationFeeRate: '0',
    })
    json.portfolioMargin.markets.push({ market: id, product, tier: label })
  }
  const parsed = parseRuleSet(json)
  if (!parsed.ok)
    throw new RangeError(
      `Invariant: listed option series make a valid rule set (SIMRUN-005, ${parsed.issues.map((found) => `${found.path}: ${found.message}`).join('; ')})`,
    )
  return { ruleSet: parsed.ruleSet, markets }
}

/** One simulated account after mapping onto a rule set's market. */
export interface MappedAccount {
  readonly id: string
  readonly seed: SeedAccount
  /** Signed size in the target market's contracts; 0 when the position rounded to nothing. */
  readonly size: Fixed
  readonly entryPrice: Fixed
  readonly stopLoss: Fixed | undefined
  readonly takeProfit: Fixed | undefined
  readonly dailyLossLimit: Fixed | undefined
}

/**
 * Maps one account onto `market` (SIMRUN-002, SIMRUN-004): only positions of the population's own
 * market (`sourceInstrument`, linear) are kept. Linear targets keep the size in base units up to
 * the lot; inverse targets keep the quote notional at the entry price up to the lot, and hold the
 * collateral and daily loss limit in the coin, converted at the entry price (at
 * `referencePrice` when the account has no position).
 */
export function mapAccount(
  account: SimulatedAccount,
  sourceInstrument: Instrument,
  market: MarketRules,
  referencePrice: Fixed,
  listed?: ListedOptions,
): MappedAccount {
  const target = market.instrument
  const source = account.positions.find((position) => position.market === sourceInstrument.market)
  const leverage = account.leverage < market.maxLeverage ? account.leverage : market.maxLeverage
  let size = ZERO
  let entryPrice = ZERO
  if (source !== undefined) {
    const rounded = roundToStep(source.entryPrice, target.tickSize, 'half_even')
    entryPrice = rounded > 0n ? rounded : target.tickSize
    const amount = isCoinMargined(target)
      ? quoteNotional(sourceInstrument, source.size, entryPrice)
      : mul(source.size, sourceInstrument.contractSize, 'exact')
    size = roundToStep(div(amount, target.contractSize, 'trunc'), target.lotSize, 'trunc')
  }
  const conversionPrice = source === undefined ? referencePrice : entryPrice
  let balance = quoteToSettlement(target, account.collateral, conversionPrice)
  const positions: SeedAccount['positions'][number][] = []
  if (size !== 0n) {
    let isolatedMargin = ZERO
    if (account.marginMode === 'isolated') {
      const wanted = div(abs(entryValueOf(target, size, entryPrice)), leverage, 'ceil')
      isolatedMargin = wanted < balance ? wanted : balance
      balance = sub(balance, isolatedMargin)
    }
    positions.push({
      market: target.market,
      size,
      entryPrice,
      marginMode: account.marginMode,
      leverage,
      isolatedMargin,
    })
  }
  // SIMRUN-005: options on the population's market, in the listed series, at the opening premium.
  for (const option of account.options ?? []) {
    if (option.underlying !== sourceInstrument.market || listed === undefined) continue
    const id = listed.markets.get(seriesKey(option))
    const optionMarket = id === undefined ? undefined : listed.ruleSet.markets.get(id)
    const premium = id === undefined ? undefined : listed.premiums.get(id)
    if (optionMarket === undefined || premium === undefined || premium <= 0n) continue
    const optionSize = roundToStep(option.size, optionMarket.instrument.lotSize, 'trunc')
    if (optionSize === 0n) continue
    positions.push({
      market: optionMarket.instrument.market,
      size: optionSize,
      entryPrice: premium,
      marginMode: 'cross',
      // Options are margined by the portfolio model alone: no leverage applies (OPT-022).
      leverage: null,
      isolatedMargin: ZERO,
    })
  }
  const balances = new Map<string, Fixed>()
  if (balance > 0n) balances.set(target.settlementAsset, balance)
  const dailyLossLimit =
    size === 0n || account.dailyLossLimit === undefined
      ? undefined
      : quoteToSettlement(target, account.dailyLossLimit, conversionPrice)
  return {
    id: account.id,
    seed: { id: account.id, balances, positions },
    size,
    entryPrice,
    stopLoss: size === 0n ? undefined : source?.stopLoss,
    takeProfit: size === 0n ? undefined : source?.takeProfit,
    dailyLossLimit:
      dailyLossLimit !== undefined && dailyLossLimit > 0n ? dailyLossLimit : undefined,
  }
}

/** Maps every account of a population; accounts are kept in population order. */
export function mapPopulation(
  population: Population,
  sourceInstrument: Instrument,
  market: MarketRules,
  referencePrice: Fixed,
  listed?: ListedOptions,
): MappedAccount[] {
  return population.accounts.map((account) =>
    mapAccount(account, sourceInstrument, market, referencePrice, listed),
  )
}
