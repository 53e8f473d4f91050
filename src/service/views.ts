/**
 * Read models of the service (docs/spec/service.md, SVC-030..SVC-036): accounts, margin, liquidation
 * prices, funds, markets, accounts at risk and the ADL queue, computed from the engine state with the
 * core margin and loss functions and returned as JSON with every decimal as a string.
 */
import { toCanonicalValue, type JsonValue } from '../core/engine/canonical.ts'
import { adlCandidates } from '../core/engine/liquidation/engine.ts'
import { isSystemAccount } from '../core/engine/liquidation/system-accounts.ts'
import { hasAllMarks, openInterestValues } from '../core/engine/margin.ts'
import {
  type AccountState,
  type EngineState,
  holdersOf,
  markPrices,
  optionValuationOf,
} from '../core/engine/state.ts'
import { type AdlSide, rankAdlCandidates } from '../core/loss/adl.ts'
import { evaluateAccount, type AccountRisk } from '../core/margin/evaluate.ts'
import { entryPriceOf } from '../core/model/position-math.ts'
import { abs, add, div, type Fixed, formatFixed, sub } from '../core/num/fixed.ts'
import { ServiceError } from './errors.ts'

type Json = { readonly [key: string]: JsonValue }

/** Decimal string of a Fixed, or null. */
function decimal(value: Fixed | null | undefined): string | null {
  return value === null || value === undefined ? null : formatFixed(value)
}

/** The account, or `account_not_found`. */
export function accountOf(state: Readonly<EngineState>, id: string): AccountState {
  const account = state.accounts.get(id)
  if (account === undefined) throw new ServiceError('account_not_found', 'no such account')
  return account
}

/** Ids of the trader accounts, sorted. */
export function accountIds(state: Readonly<EngineState>): string[] {
  return [...state.accounts.keys()].filter((id) => !isSystemAccount(id)).sort()
}

/** Balances, positions and settings of an account (SVC-030). */
export function accountView(state: Readonly<EngineState>, id: string): Json {
  const account = accountOf(state, id)
  const positions = [...account.positions.values()]
    .sort((a, b) => (a.market < b.market ? -1 : a.market > b.market ? 1 : 0))
    .map((position) => {
      const instrument = state.rules.markets.get(position.market)?.instrument
      return {
        market: position.market,
        size: formatFixed(position.size),
        entryValue: formatFixed(position.entryValue),
        entryPrice:
          instrument === undefined
            ? null
            : formatFixed(entryPriceOf(instrument, position.size, position.entryValue)),
        marginMode: position.marginMode,
        isolatedMargin: formatFixed(position.isolatedMargin),
        markPrice: decimal(state.prices.get(position.market)?.mark),
      }
    })
  return {
    account: id,
    balances: toCanonicalValue(account.balances),
    positions,
    settings: toCanonicalValue(account.settings),
  }
}

/** evaluateAccount at the current marks; `mark_price_missing` when a position has no mark. */
export function accountRisk(state: Readonly<EngineState>, id: string): AccountRisk {
  const account = accountOf(state, id)
  const marks = markPrices(state)
  if (!hasAllMarks(state.rules, account, marks))
    throw new ServiceError('mark_price_missing', 'a position of the account has no mark price yet')
  return evaluateAccount(
    state.rules,
    account,
    marks,
    openInterestValues(state, marks),
    optionValuationOf(state, state.lastTimestampMs ?? 0),
  )
}

/** The margin evaluation of an account (evaluateAccount output, decimals as strings; SVC-031). */
export function marginView(state: Readonly<EngineState>, id: string): JsonValue {
  return toCanonicalValue(accountRisk(state, id))
}

/** Liquidation and bankruptcy prices of an account's positions (SVC-032). */
export function liquidationPricesView(state: Readonly<EngineState>, id: string): Json {
  const risk = accountRisk(state, id)
  const positions = risk.groups.flatMap((group) =>
    group.positions.map((position) => ({
      market: position.market,
      asset: group.asset,
      size: formatFixed(position.size),
      marginMode: position.marginMode,
      markPrice: formatFixed(position.markPrice),
      entryPrice: formatFixed(position.entryPrice),
      liquidationPrice: decimal(position.liquidationPrice),
      liquidationPriceExact: decimal(position.liquidationPriceExact),
      bankruptcyPrice: decimal(position.bankruptcyPrice),
      bankruptcyPriceExact: decimal(position.bankruptcyPriceExact),
      distanceToLiquidation: decimal(distance(position.markPrice, position.liquidationPriceExact)),
    })),
  )
  return { account: id, positions }
}

/** |mark − liquidation| ÷ mark, or null when there is no liquidation price. */
function distance(mark: Fixed, liquidation: Fixed | null): Fixed | null {
  if (liquidation === null || mark <= 0n) return null
  return div(abs(sub(mark, liquidation)), mark, 'half_even')
}

/** Markets of the rule set with their prices and open interest (SVC-033). */
/** One market as the API shows it. */
export interface MarketView {
  readonly market: string
  readonly kind: string
  readonly settlementAsset: string
  readonly markPrice: string | null
  readonly indexPrice: string | null
  readonly openInterestValue: string | null
  readonly holders: number
  readonly expired: boolean
  readonly owned: boolean
}

/** Markets of the rule set with their prices and open interest (SVC-033). */
export function marketsView(
  state: Readonly<EngineState>,
  owned: (market: string) => boolean,
): MarketView[] {
  const marks = markPrices(state)
  const openInterest = openInterestValues(state, marks)
  return [...state.rules.markets.entries()].map(([id, rules]) => {
    const prices = state.prices.get(id)
    return {
      market: id,
      kind: rules.instrument.kind,
      settlementAsset: rules.instrument.settlementAsset,
      markPrice: decimal(prices?.mark),
      indexPrice: decimal(prices?.index),
      openInterestValue: decimal(openInterest.get(id)),
      holders: holdersOf(state as EngineState, id).filter((holder) => !isSystemAccount(holder))
        .length,
      expired: state.expiredMarkets.has(id),
      owned: owned(id),
    }
  })
}

/** Insurance funds, pools, fee pools, deposits and withdrawals, uncovered deficits (SVC-034). */
export function fundsView(state: Readonly<EngineState>): JsonValue {
  return toCanonicalValue({
    insuranceFunds: state.insuranceFunds,
    insuranceFundPools: state.liquidation.fundPools,
    feePools: state.feePools,
    deposits: state.deposits,
    withdrawals: state.withdrawals,
    uncovered: state.liquidation.uncovered,
    openLiquidationOrders: [...state.liquidation.orders.values()],
  })
}

/** One account close to liquidation. */
export interface AccountAtRisk {
  readonly account: string
  /** The smallest |mark − liquidation price| ÷ mark over its positions; null: no liquidation price. */
  readonly distance: Fixed | null
  readonly market: string | null
  readonly equity: Fixed
  readonly maintenanceMargin: Fixed
  readonly belowMaintenance: boolean
}

/** Accounts with positions sorted by distance to liquidation, nearest first (SVC-035). */
export function accountsAtRisk(state: Readonly<EngineState>, limit: number): AccountAtRisk[] {
  const marks = markPrices(state)
  const openInterest = openInterestValues(state, marks)
  const valuation = optionValuationOf(state, state.lastTimestampMs ?? 0)
  const rows: AccountAtRisk[] = []
  for (const account of state.accounts.values()) {
    if (isSystemAccount(account.id) || account.positions.size === 0) continue
    if (!hasAllMarks(state.rules, account, marks)) continue
    const risk = evaluateAccount(state.rules, account, marks, openInterest, valuation)
    let nearest: { distance: Fixed; market: string } | null = null
    let equity = 0n as Fixed
    let maintenance = 0n as Fixed
    let below = false
    for (const group of risk.groups) {
      equity = add(equity, group.equity)
      maintenance = add(maintenance, group.maintenanceMargin)
      if (group.crossMaintenanceMargin > 0n && group.crossEquity < group.crossMaintenanceMargin)
        below = true
      for (const position of group.positions) {
        const gap = distance(position.markPrice, position.liquidationPriceExact)
        if (gap !== null && (nearest === null || gap < nearest.distance))
          nearest = { distance: gap, market: position.market }
      }
    }
    rows.push({
      account: account.id,
      distance: nearest?.distance ?? null,
      market: nearest?.market ?? null,
      equity,
      maintenanceMargin: maintenance,
      belowMaintenance: below,
    })
  }
  rows.sort((a, b) => {
    if (a.distance === null || b.distance === null)
      return a.distance === b.distance
        ? compareText(a.account, b.account)
        : a.distance === null
          ? 1
          : -1
    return a.distance < b.distance
      ? -1
      : a.distance > b.distance
        ? 1
        : compareText(a.account, b.account)
  })
  return rows.slice(0, limit)
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}

/** Accounts at risk as JSON. */
export function accountsAtRiskView(state: Readonly<EngineState>, limit: number): Json[] {
  return accountsAtRisk(state, limit).map((row) => ({
    account: row.account,
    distanceToLiquidation: decimal(row.distance),
    nearestMarket: row.market,
    equity: formatFixed(row.equity),
    maintenanceMargin: formatFixed(row.maintenanceMargin),
    belowMaintenance: row.belowMaintenance,
  }))
}

/**
 * The ADL queue of a market (SVC-036): the `side` positions ranked by the rule set's ADL ranking
 * formula, i.e. the order they would be deleveraged in when a position of the other side is
 * liquidated and the insurance fund cannot cover it. The candidates are the engine's own.
 */
export function adlQueue(
  state: Readonly<EngineState>,
  marketId: string,
  side: AdlSide,
): { readonly ranking: string | null; readonly entries: Json[] } {
  if (!state.rules.markets.has(marketId)) throw new ServiceError('not_found', 'no such market')
  const policy = state.rules.liquidation?.adl ?? null
  if (policy === null) return { ranking: null, entries: [] }
  // Ranking `side` positions is the queue used when a position of the other side is liquidated
  // (no mark: no candidates).
  const liquidatedSide: AdlSide = side === 'long' ? 'short' : 'long'
  const candidates = adlCandidates(state, marketId, liquidatedSide, null)
  const ranking = rankAdlCandidates(policy, '', liquidatedSide, candidates)
  return {
    ranking: policy.ranking.kind,
    entries: ranking.ranked.map((entry) => ({
      rank: entry.rank,
      account: entry.candidate.accountId,
      size: formatFixed(entry.candidate.size),
      unrealizedPnl: formatFixed(entry.candidate.unrealizedPnl),
      score: decimal(entry.scoreDisplay),
    })),
  }
}
