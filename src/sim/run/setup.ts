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
import { abs, div, type Fixed, fixedOf, mul, roundToStep, sub, ZERO } from '../../core/num/fixed.ts'
import type { Instrument } from '../../core/model/instrument.ts'
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
): MappedAccount[] {
  return population.accounts.map((account) =>
    mapAccount(account, sourceInstrument, market, referencePrice),
  )
}
