/**
 * The engine's ADL candidates (docs/spec/adl.md, ADL-006, ADL-030, ADL-033): each opposite-side
 * holder's position with its figures at the current marks, and the ranking of them that takeovers
 * deleverage from, kept between takeovers.
 *
 * A takeover that reaches ADL ranks every opposite holder of the market. Within one mark many
 * takeovers follow each other (a cascade) and each changes only the accounts it closes against,
 * so the ranking is kept per market side (`AdlRankingBook`) and, before each use, updated for the
 * accounts `applyPlan` touched since (the state's change log), while everything else a candidate is
 * computed from stays the same: the rule set, every market's mark and volatility, the valuation
 * time and, where a margin model reads it, the open interest. When any of these changes the books
 * are built again from every holder. Derived data, like the engine's index: not encoded, hashed or
 * snapshotted; with the whole-state checks on, every use is checked against a ranking from scratch.
 */
import { assert } from '../../assert.ts'
import { type AdlCandidate, type AdlSide, rankAdlCandidates } from '../../loss/adl.ts'
import { AdlRankingBook } from '../../loss/adl-book.ts'
import { evaluateAccountMargin, type OptionValuation } from '../../margin/evaluate.ts'
import { entryPriceOf } from '../../model/position-math.ts'
import { abs, add, type Fixed, sub } from '../../num/fixed.ts'
import type { MarketRules, RuleSet } from '../../rules/rule-set.ts'
import { hasAllMarks, openInterestValues } from '../margin.ts'
import {
  type AccountState,
  type EngineState,
  holdersOf,
  isVerifying,
  type MarketPrices,
  markPrices,
  optionValuationOf,
} from '../state.ts'
import { startChangeLog } from '../state-index.ts'
import { isSystemAccount } from './system-accounts.ts'

/** What every candidate of a market is computed from, besides its own account. */
interface CandidateInputs {
  readonly market: MarketRules
  readonly mark: Fixed
  readonly marks: ReadonlyMap<string, Fixed>
  readonly openInterest: ReadonlyMap<string, Fixed>
  readonly valuation: OptionValuation
}

function inputsOf(
  state: Readonly<EngineState>,
  marketId: string,
  valuationTimeMs: number,
): CandidateInputs | null {
  const market = state.rules.markets.get(marketId)
  const mark = state.prices.get(marketId)?.mark
  if (market === undefined || mark === undefined) return null
  const marks = markPrices(state)
  return {
    market,
    mark,
    marks,
    openInterest: openInterestValues(state, marks),
    valuation: optionValuationOf(state, valuationTimeMs),
  }
}

/**
 * The candidate of `account`'s position in the market when a `liquidatedSide` position is taken
 * over (ADL-006), or `null`: no position there, a position on the liquidated side, a system
 * account, a position without all marks, or a scope without positive equity (ADL-030).
 */
function candidateOf(
  state: Readonly<EngineState>,
  inputs: CandidateInputs,
  liquidatedSide: AdlSide,
  account: AccountState,
): AdlCandidate | null {
  if (isSystemAccount(account.id)) return null
  const marketId = inputs.market.instrument.market
  const position = account.positions.get(marketId)
  if (position === undefined || !hasAllMarks(state.rules, account, inputs.marks)) return null
  if (position.size > 0n === (liquidatedSide === 'long')) return null
  const risk = evaluateAccountMargin(
    state.rules,
    account,
    inputs.marks,
    inputs.openInterest,
    inputs.valuation,
  )
  const group = risk.groups.find((each) => each.asset === inputs.market.instrument.settlementAsset)
  const positionRisk = group?.positions.find((each) => each.market === marketId)
  if (group === undefined || positionRisk === undefined) return null
  const isolated = position.marginMode === 'isolated'
  const equity = isolated
    ? add(position.isolatedMargin, positionRisk.unrealizedPnl)
    : group.crossEquity
  // ADL-030: a scope without positive equity at the mark is bankrupt itself; closing it against
  // the shortfall would leave it below zero, so it is not a candidate.
  if (equity <= 0n) return null
  return {
    accountId: account.id,
    size: position.size,
    entryPrice: entryPriceOf(inputs.market.instrument, position.size, position.entryValue),
    markPrice: inputs.mark,
    entryNotional: abs(position.entryValue),
    markNotional: positionRisk.notional,
    unrealizedPnl: positionRisk.unrealizedPnl,
    positionEquity: equity,
    walletBalance: isolated ? position.isolatedMargin : group.walletBalance,
    accountUnrealizedPnl: isolated
      ? positionRisk.unrealizedPnl
      : sub(group.crossEquity, group.walletBalance),
    maintenanceMargin: isolated
      ? positionRisk.maintenanceRequirement
      : group.crossMaintenanceMargin,
  }
}

/**
 * The positions ADL may take when a `liquidatedSide` position of the market is taken over, with
 * their figures at the current marks (ADL-006, ADL-030), in holder id order, every holder
 * evaluated: the from-scratch answer. Empty when the market has no mark.
 */
export function opposingCandidates(
  state: Readonly<EngineState>,
  marketId: string,
  liquidatedSide: AdlSide,
  valuationTimeMs: number,
): AdlCandidate[] {
  const inputs = inputsOf(state, marketId, valuationTimeMs)
  if (inputs === null) return []
  const candidates: AdlCandidate[] = []
  for (const id of [...holdersOf(state, marketId)]) {
    const account = state.accounts.get(id)
    if (account === undefined) continue
    const candidate = candidateOf(state, inputs, liquidatedSide, account)
    if (candidate !== null) candidates.push(candidate)
  }
  return candidates
}

/** The kept rankings of one state and what they were computed from. */
interface AdlBooks {
  /** Accounts `applyPlan` touched since the books were last brought up to date. */
  readonly log: Set<string>
  readonly books: Map<
    string,
    { readonly market: string; readonly side: AdlSide; readonly book: AdlRankingBook }
  >
  rules: RuleSet | null
  valuationTimeMs: number
  /** Mark and volatility of every market with a mark. */
  prices: Map<string, MarketPrices>
  /** Open interest values, kept only when a margin model reads them. */
  openInterest: Map<string, Fixed> | null
}

const booksByState = new WeakMap<EngineState, AdlBooks>()

/** Whether a market's margin model reads the open interest (`open_interest_scaled`). */
function readsOpenInterest(rules: RuleSet): boolean {
  for (const market of rules.markets.values())
    if (market.margin.kind === 'open_interest_scaled') return true
  return false
}

function samePrices(
  kept: ReadonlyMap<string, MarketPrices>,
  now: ReadonlyMap<string, MarketPrices>,
): boolean {
  if (kept.size !== now.size) return false
  for (const [market, prices] of now) {
    const before = kept.get(market)
    if (
      before === undefined ||
      before.mark !== prices.mark ||
      before.volatility !== prices.volatility
    )
      return false
  }
  return true
}

function sameValues(kept: ReadonlyMap<string, Fixed>, now: ReadonlyMap<string, Fixed>): boolean {
  if (kept.size !== now.size) return false
  for (const [key, value] of now) if (kept.get(key) !== value) return false
  return true
}

/**
 * The ranking of the opposite side of a `liquidatedSide` position of the market under the rule
 * set's ADL policy (ADL-033), up to date with the state: the same candidates, in the same order,
 * as `rankAdlCandidates` over `opposingCandidates`. Built from every holder when first asked for
 * after the rule set, a mark, a volatility, the valuation time or a read open interest changed;
 * otherwise only the accounts touched since the last call are evaluated again.
 */
export function adlBookOf(
  state: EngineState,
  marketId: string,
  liquidatedSide: AdlSide,
  valuationTimeMs: number,
): AdlRankingBook {
  const policy = state.rules.liquidation?.adl
  assert(
    policy !== undefined && policy !== null,
    'Invariant: ADL candidates are ranked under an ADL policy (ADL-033)',
  )
  let kept = booksByState.get(state)
  if (kept === undefined) {
    kept = {
      log: startChangeLog(state),
      books: new Map(),
      rules: null,
      valuationTimeMs,
      prices: new Map(),
      openInterest: null,
    }
    booksByState.set(state, kept)
  }
  const openInterest = readsOpenInterest(state.rules)
    ? openInterestValues(state, markPrices(state))
    : null
  const current =
    kept.rules === state.rules &&
    kept.valuationTimeMs === valuationTimeMs &&
    samePrices(kept.prices, state.prices) &&
    (openInterest === null ||
      (kept.openInterest !== null && sameValues(kept.openInterest, openInterest)))
  if (!current) {
    kept.books.clear()
    kept.rules = state.rules
    kept.valuationTimeMs = valuationTimeMs
    kept.prices = new Map(state.prices)
    kept.openInterest = openInterest
    kept.log.clear()
  } else if (kept.log.size > 0) {
    for (const { market, side, book } of kept.books.values()) {
      const inputs = inputsOf(state, market, valuationTimeMs)
      assert(inputs !== null, 'Invariant: a kept ADL ranking is of a market with a mark (ADL-033)')
      for (const id of kept.log) {
        const account = state.accounts.get(id)
        const candidate = account === undefined ? null : candidateOf(state, inputs, side, account)
        if (candidate === null) book.delete(id)
        else book.set(candidate)
      }
    }
    kept.log.clear()
  }
  const key = `${marketId}\u0000${liquidatedSide}`
  let entry = kept.books.get(key)
  if (entry === undefined) {
    const book = new AdlRankingBook(policy.ranking, policy.eligibility, liquidatedSide)
    book.setAll(opposingCandidates(state, marketId, liquidatedSide, valuationTimeMs))
    entry = { market: marketId, side: liquidatedSide, book }
    kept.books.set(key, entry)
  } else if (isVerifying(state)) {
    // ADL-033: the kept ranking is the one a ranking from scratch gives.
    const fresh = rankAdlCandidates(
      policy,
      '',
      liquidatedSide,
      opposingCandidates(state, marketId, liquidatedSide, valuationTimeMs),
    ).ranked
    const keptOrder = [...entry.book.candidates()]
    assert(
      keptOrder.length === fresh.length &&
        fresh.every((ranked, index) => sameCandidate(ranked.candidate, keptOrder[index])),
      `Invariant: the kept ADL ranking equals a ranking from scratch (ADL-033, market=${marketId}, side=${liquidatedSide})`,
    )
  }
  return entry.book
}

function sameCandidate(a: AdlCandidate, b: AdlCandidate | undefined): boolean {
  return (
    b !== undefined &&
    a.accountId === b.accountId &&
    a.size === b.size &&
    a.entryPrice === b.entryPrice &&
    a.markPrice === b.markPrice &&
    a.entryNotional === b.entryNotional &&
    a.markNotional === b.markNotional &&
    a.unrealizedPnl === b.unrealizedPnl &&
    a.positionEquity === b.positionEquity &&
    a.walletBalance === b.walletBalance &&
    a.accountUnrealizedPnl === b.accountUnrealizedPnl &&
    a.maintenanceMargin === b.maintenanceMargin
  )
}
