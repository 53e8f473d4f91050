/**
 * Putting a population into an engine under one rule set (SIMRUN-001..SIMRUN-003).
 *
 * A population is generated for one underlying (BTC) on a reference instrument; every rule set has
 * its own BTC market with its own contract size, tick and lot. Each account is mapped onto the rule
 * set's market: the position keeps its size in BTC (rounded toward zero to the lot; a position that
 * rounds to nothing is dropped), the entry price is rounded half-even to the tick, leverage is capped
 * by the market's maximum. Positions are booked against `@book` at their entry price (`seedState`),
 * so open interest balances and every collateral amount counts as a deposit.
 */
import { quotingOf } from '../../core/model/instrument.ts'
import { entryValueOf } from '../../core/model/position-math.ts'
import { abs, div, type Fixed, mul, roundToStep, sub, ZERO } from '../../core/num/fixed.ts'
import type { Instrument } from '../../core/model/instrument.ts'
import type { MarketRules, RuleSet } from '../../core/rules/rule-set.ts'
import type { SeedAccount } from '../../core/engine/index.ts'
import type { Population, SimulatedAccount } from '../population.ts'

/** The market a rule set is simulated in, or why none fits. */
export type MarketChoice =
  | { readonly ok: true; readonly market: MarketRules }
  | { readonly ok: false; readonly message: string }

/**
 * Picks the rule set's market for `baseAsset` (SIMRUN-001): the first linear perpetual with that
 * base asset in file order, else the first linear dated future.
 */
export function simulatedMarketOf(ruleSet: RuleSet, baseAsset: string): MarketChoice {
  const markets = [...ruleSet.markets.values()].filter(
    (market) =>
      market.instrument.baseAsset === baseAsset && quotingOf(market.instrument.kind) === 'linear',
  )
  const market =
    markets.find((candidate) => candidate.instrument.kind === 'linear_perpetual') ?? markets[0]
  if (market === undefined) {
    return {
      ok: false,
      message: `rule set ${ruleSet.id} lists no linear ${baseAsset} market (simulated populations are linear)`,
    }
  }
  return { ok: true, market }
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
 * Maps one account onto `market` (SIMRUN-002): only positions of the population's own market
 * (`sourceInstrument`) are kept; the size in base units is preserved up to the lot.
 */
export function mapAccount(
  account: SimulatedAccount,
  sourceInstrument: Instrument,
  market: MarketRules,
): MappedAccount {
  const target = market.instrument
  const source = account.positions.find((position) => position.market === sourceInstrument.market)
  const leverage = account.leverage < market.maxLeverage ? account.leverage : market.maxLeverage
  let balance = account.collateral
  let size = ZERO
  let entryPrice = ZERO
  const positions: SeedAccount['positions'][number][] = []
  if (source !== undefined) {
    const base = mul(source.size, sourceInstrument.contractSize, 'exact')
    size = roundToStep(div(base, target.contractSize, 'trunc'), target.lotSize, 'trunc')
    const rounded = roundToStep(source.entryPrice, target.tickSize, 'half_even')
    entryPrice = rounded > 0n ? rounded : target.tickSize
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
  }
  const balances = new Map<string, Fixed>()
  if (balance > 0n) balances.set(target.settlementAsset, balance)
  return {
    id: account.id,
    seed: { id: account.id, balances, positions },
    size,
    entryPrice,
    stopLoss: size === 0n ? undefined : source?.stopLoss,
    takeProfit: size === 0n ? undefined : source?.takeProfit,
    dailyLossLimit: size === 0n ? undefined : account.dailyLossLimit,
  }
}

/** Maps every account of a population; accounts are kept in population order. */
export function mapPopulation(
  population: Population,
  sourceInstrument: Instrument,
  market: MarketRules,
): MappedAccount[] {
  return population.accounts.map((account) => mapAccount(account, sourceInstrument, market))
}
