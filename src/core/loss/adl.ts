/**
 * Auto-deleveraging as data (docs/spec/adl.md, ADL-*): ranking formulas of the venues, the venue
 * queue, a minimum-haircut alternative, and money-level haircut planners that compare them (theory.md
 * §4.1, W12). Pure: candidates come in, a plan of position reductions (or haircuts) comes out.
 */
import { assert } from '../assert.ts'
import { allocateProRata } from '../num/allocate.ts'
import type { Instrument } from '../model/instrument.ts'
import { entryPriceOf, positionValue, unrealizedPnl } from '../model/position-math.ts'
import {
  abs,
  add,
  divideRounded,
  type Fixed,
  fromScaled,
  max,
  min,
  mulDiv,
  neg,
  sub,
  sum,
  ZERO,
} from '../num/fixed.ts'
import {
  allocateProRataCapped,
  assertUniqueIds,
  assertValidPolicy,
  compareIds,
  compareRatio,
  issue,
  POSITIVE_INFINITY,
  type PolicyIssue,
  type Ratio,
  ratio,
  ratioToFixed,
  thenBy,
} from './common.ts'

/** How opposite-side positions are ranked; higher scores are deleveraged first (ADL-001..ADL-005). */
export type AdlRankingFormula =
  /**
   * BitMEX (also Poloniex, MEXC): PnL% × effective leverage when PnL% > 0, PnL% ÷ effective
   * leverage otherwise; PnL% = uPnL ÷ |entry value|; effective leverage = |mark value| ÷ (mark
   * value − bankrupt value) = |mark value| ÷ position equity. Equity ≤ 0 counts as infinite leverage.
   */
  | { readonly kind: 'bitmex_pnl_leverage' }
  /**
   * Binance: PnL Percent = max(0, uPnL) ÷ max(walletFloor, wallet); margin ratio = MM ÷ (wallet +
   * account uPnL), or 0 when that is ≤ 0; score = PnL Percent × margin ratio.
   */
  | { readonly kind: 'binance_leverage_pnl'; readonly walletFloor: Fixed }
  /**
   * Hyperliquid: (mark ÷ entry) × (notional ÷ account value) for longs; shorts use entry ÷ mark so
   * that profit ranks first on both sides. Account value ≤ 0 counts as infinite leverage.
   */
  | { readonly kind: 'hyperliquid_index' }
  /** Unrealized PnL of the position alone. */
  | { readonly kind: 'pnl_only' }
  /** dYdX-style pseudo-random order: a 64-bit hash of (seed, account id), reproducible from the seed. */
  | { readonly kind: 'dydx_offset' }

/** Which price deleveraged positions close at (exchanges.md §12). */
export type AdlExecutionPrice = 'bankruptcy' | 'mark'

/** How the size to close is spread over the ranked candidates (ADL-010..ADL-014). */
export type AdlAllocation =
  /** Venue queue: walk down the ranking, take min(remaining, position) from each. */
  | { readonly kind: 'queue' }
  /**
   * Spread the size over profitable candidates pro rata to `weighting`, capped at each position
   * (water-filling), in whole lots; whatever the winners cannot absorb goes through the queue.
   */
  | { readonly kind: 'min_winner_haircut'; readonly weighting: 'pnl' | 'pnl_times_leverage' }

/** Which of the market's trading fee rates an ADL close charges a side, or `none` (ADL-016). */
export type AdlFeeRate = 'maker' | 'taker' | 'none'

/**
 * Trading fees on ADL closes (ADL-016): Bybit charges the deleveraged positions the maker fee and
 * the liquidated order the taker fee; Binance, BitMEX and dYdX charge none (no `fees`).
 */
export interface AdlFees {
  readonly deleveraged: AdlFeeRate
  readonly liquidated: AdlFeeRate
}

/**
 * How much of a shortfall the fund pays when ADL runs (ADL-017). `none`: ADL closes at the
 * liquidated order's bankruptcy value and covers the whole shortfall, the fund pays nothing
 * (Binance, BitMEX, dYdX). `down_to_trigger_level`: the fund pays down to the level at which its
 * active ADL trigger holds (pool equity 0; the PnL ratio at its trigger ratio) and ADL covers only
 * the rest, at the price at which that holds (Bybit, BY-07 (1) and (3)).
 */
export type AdlFundShare = 'none' | 'down_to_trigger_level'

export interface AdlPolicy {
  readonly ranking: AdlRankingFormula
  /** `profitable_only` drops candidates whose position uPnL ≤ 0 before ranking. */
  readonly eligibility: 'all_opposite' | 'profitable_only'
  readonly executionPrice: AdlExecutionPrice
  readonly allocation: AdlAllocation
  /** Fees on ADL closes; absent: none on either side. */
  readonly fees?: AdlFees
  /** The fund's share of a shortfall that ADL covers; absent: `none`. */
  readonly fundShare?: AdlFundShare
}

/** Validates an ADL policy; an empty list means valid. */
export function validateAdlPolicy(policy: AdlPolicy): PolicyIssue[] {
  const issues: PolicyIssue[] = []
  if (policy.fundShare === 'down_to_trigger_level' && policy.executionPrice !== 'bankruptcy') {
    issues.push(
      issue(
        'fund_share_needs_bankruptcy_price',
        'fundShare',
        'the fund pays down to its trigger level only when ADL closes at a bankruptcy value',
      ),
    )
  }
  if (policy.ranking.kind === 'binance_leverage_pnl' && policy.ranking.walletFloor <= 0n) {
    issues.push(
      issue(
        'bad_wallet_floor',
        'ranking.walletFloor',
        'the wallet floor of the PnL percent is positive',
      ),
    )
  }
  return issues
}

/** One open position on the market being deleveraged, with the account figures rankings need. */
export interface AdlCandidate {
  readonly accountId: string
  /** Signed contracts: + long, − short. */
  readonly size: Fixed
  readonly entryPrice: Fixed
  readonly markPrice: Fixed
  /** |value| at entry and at mark, in the settlement asset. */
  readonly entryNotional: Fixed
  readonly markNotional: Fixed
  /** Position uPnL at mark. */
  readonly unrealizedPnl: Fixed
  /** uPnL at mark − uPnL at the position's bankruptcy price (= mark value − bankrupt value). */
  readonly positionEquity: Fixed
  readonly walletBalance: Fixed
  /** uPnL of all the account's positions (cross). */
  readonly accountUnrealizedPnl: Fixed
  readonly maintenanceMargin: Fixed
}

/** Builds a candidate from a position (size, entry value) with position-math (ACC-001..ACC-003). */
export function adlCandidateOf(
  instrument: Instrument,
  input: {
    readonly accountId: string
    readonly size: Fixed
    readonly entryValue: Fixed
    readonly markPrice: Fixed
    /** The candidate position's own bankruptcy price. */
    readonly bankruptcyPrice: Fixed
    readonly walletBalance: Fixed
    readonly accountUnrealizedPnl: Fixed
    readonly maintenanceMargin: Fixed
  },
): AdlCandidate {
  const pnlAtMark = unrealizedPnl(instrument, input.size, input.entryValue, input.markPrice)
  const pnlAtBankruptcy = unrealizedPnl(
    instrument,
    input.size,
    input.entryValue,
    input.bankruptcyPrice,
  )
  return {
    accountId: input.accountId,
    size: input.size,
    entryPrice: entryPriceOf(instrument, input.size, input.entryValue),
    markPrice: input.markPrice,
    entryNotional: abs(input.entryValue),
    markNotional: positionValue(instrument, input.size, input.markPrice),
    unrealizedPnl: pnlAtMark,
    positionEquity: sub(pnlAtMark, pnlAtBankruptcy),
    walletBalance: input.walletBalance,
    accountUnrealizedPnl: input.accountUnrealizedPnl,
    maintenanceMargin: input.maintenanceMargin,
  }
}

const UINT64 = 64
const FNV_OFFSET = 0xcbf29ce484222325n
const FNV_PRIME = 0x100000001b3n

/** A pure 64-bit hash of (seed, id): FNV-1a over the UTF-16 code units, then the splitmix64 finalizer. */
export function seededHash(seed: bigint, id: string): bigint {
  let hash = FNV_OFFSET
  const text = `${seed}:${id}`
  for (let index = 0; index < text.length; index += 1) {
    hash = BigInt.asUintN(UINT64, (hash ^ BigInt(text.charCodeAt(index))) * FNV_PRIME)
  }
  hash = BigInt.asUintN(UINT64, (hash ^ (hash >> 30n)) * 0xbf58476d1ce4e5b9n)
  hash = BigInt.asUintN(UINT64, (hash ^ (hash >> 27n)) * 0x94d049bb133111ebn)
  return hash ^ (hash >> 31n)
}

/** The exact ranking score of a candidate under a formula (ADL-001..ADL-005). */
export function adlScore(
  formula: AdlRankingFormula,
  candidate: AdlCandidate,
  seed: bigint = 0n,
): Ratio {
  const pnl = candidate.unrealizedPnl
  switch (formula.kind) {
    case 'bitmex_pnl_leverage': {
      assert(
        candidate.entryNotional > 0n && candidate.markNotional > 0n,
        `Invariant: a ranked position has a value (ADL-001, account=${candidate.accountId})`,
      )
      if (pnl === 0n) return ratio(0n, 1n)
      if (candidate.positionEquity <= 0n) return pnl > 0n ? POSITIVE_INFINITY : ratio(0n, 1n)
      return pnl > 0n
        ? ratio(pnl * candidate.markNotional, candidate.entryNotional * candidate.positionEquity)
        : ratio(pnl * candidate.positionEquity, candidate.entryNotional * candidate.markNotional)
    }
    case 'binance_leverage_pnl': {
      const equity = add(candidate.walletBalance, candidate.accountUnrealizedPnl)
      const profit = max(ZERO, pnl)
      if (equity <= 0n || profit === 0n) return ratio(0n, 1n)
      return ratio(
        profit * candidate.maintenanceMargin,
        max(formula.walletFloor, candidate.walletBalance) * equity,
      )
    }
    case 'hyperliquid_index': {
      const accountValue = add(candidate.walletBalance, candidate.accountUnrealizedPnl)
      if (accountValue <= 0n) return POSITIVE_INFINITY
      return candidate.size > 0n
        ? ratio(candidate.markPrice * candidate.markNotional, candidate.entryPrice * accountValue)
        : ratio(candidate.entryPrice * candidate.markNotional, candidate.markPrice * accountValue)
    }
    case 'pnl_only':
      return ratio(pnl, 1n)
    case 'dydx_offset':
      return ratio(seededHash(seed, candidate.accountId), 1n)
  }
}

export type AdlSide = 'long' | 'short'

export type AdlExclusionReason =
  | 'liquidated_account'
  | 'same_side'
  | 'empty_position'
  | 'not_profitable'

export interface RankedAdlCandidate {
  /** 1 = deleveraged first. */
  readonly rank: number
  readonly score: Ratio
  /** The score for display, half-even to 18 decimals; `null` for +∞. */
  readonly scoreDisplay: Fixed | null
  readonly candidate: AdlCandidate
}

export interface AdlRanking {
  readonly ranked: readonly RankedAdlCandidate[]
  readonly excluded: readonly {
    readonly accountId: string
    readonly size: Fixed
    readonly reason: AdlExclusionReason
  }[]
}

/**
 * Ranks the opposite-side positions of a liquidated `side` (ADL-006..ADL-008): the liquidated account
 * and same-side positions are excluded, higher score first, ties by account id. The result does not
 * depend on the order of `candidates`.
 */
export function rankAdlCandidates(
  policy: AdlPolicy,
  liquidatedAccountId: string,
  side: AdlSide,
  candidates: readonly AdlCandidate[],
  seed: bigint = 0n,
): AdlRanking {
  const excluded: { accountId: string; size: Fixed; reason: AdlExclusionReason }[] = []
  const eligible: AdlCandidate[] = []
  for (const candidate of candidates) {
    const opposite = side === 'long' ? candidate.size < 0n : candidate.size > 0n
    let reason: AdlExclusionReason | null = null
    if (candidate.size === 0n) reason = 'empty_position'
    else if (candidate.accountId === liquidatedAccountId) reason = 'liquidated_account'
    else if (!opposite) reason = 'same_side'
    else if (policy.eligibility === 'profitable_only' && candidate.unrealizedPnl <= 0n)
      reason = 'not_profitable'
    if (reason === null) eligible.push(candidate)
    else excluded.push({ accountId: candidate.accountId, size: candidate.size, reason })
  }
  assertUniqueIds(
    eligible.map((candidate) => candidate.accountId),
    'opposite-side ADL candidate (ADL-007)',
  )
  const scored = eligible.map((candidate) => scoredAdlCandidate(policy.ranking, candidate, seed))
  scored.sort(compareAdlRank)
  excluded.sort((a, b) =>
    thenBy(compareIds(a.accountId, b.accountId), a.size < b.size ? -1 : a.size > b.size ? 1 : 0),
  )
  return {
    ranked: scored.map(({ candidate, score }, index) => ({
      rank: index + 1,
      score,
      scoreDisplay: ratioToFixed(score),
      candidate,
    })),
    excluded,
  }
}

/** A candidate with its exact score and the score's sort key (`compareAdlRank`). */
export interface ScoredAdlCandidate {
  readonly candidate: AdlCandidate
  readonly score: Ratio
  readonly key: bigint
}

/** A candidate scored under `formula` (ADL-001..ADL-005), with its sort key. */
export function scoredAdlCandidate(
  formula: AdlRankingFormula,
  candidate: AdlCandidate,
  seed: bigint,
): ScoredAdlCandidate {
  const score = adlScore(formula, candidate, seed)
  return { candidate, score, key: sortKeyOf(score) }
}

/**
 * The ranking order (ADL-008): higher score first, ties by account id. Keys order the scores as the
 * exact comparison does wherever they differ (floor is monotone); equal keys fall back to the
 * exact comparison, then to the ids. A total order: every sort and search of a ranking uses it.
 */
export function compareAdlRank(a: ScoredAdlCandidate, b: ScoredAdlCandidate): number {
  return thenBy(
    b.key > a.key ? 1 : b.key < a.key ? -1 : compareRatio(b.score, a.score),
    compareIds(a.candidate.accountId, b.candidate.accountId),
  )
}

/** Sort key of a score: ⌊score × 2^64⌋, with ±∞ beyond every finite key. */
function sortKeyOf(score: Ratio): bigint {
  if (score.infinity !== 0) return score.infinity > 0 ? SORT_KEY_INFINITY : -SORT_KEY_INFINITY
  const scaled = score.numerator << 64n
  const quotient = scaled / score.denominator
  // Floor, not truncation, for negative scores.
  const floored = quotient * score.denominator > scaled ? quotient - 1n : quotient
  return floored >= SORT_KEY_INFINITY
    ? SORT_KEY_INFINITY - 1n
    : floored <= -SORT_KEY_INFINITY
      ? 1n - SORT_KEY_INFINITY
      : floored
}

/** Above any key a finite score gets (scores and their inputs are far below 2^512). */
const SORT_KEY_INFINITY = 1n << 640n

/** One deleveraged position in a plan. */
export interface AdlFill {
  readonly accountId: string
  readonly rank: number
  readonly scoreDisplay: Fixed | null
  readonly sizeBefore: Fixed
  /** Signed change to apply to the candidate's size (opposite sign to `sizeBefore`). */
  readonly sizeChange: Fixed
  /** Contracts closed (|sizeChange|). */
  readonly closedContracts: Fixed
  readonly price: Fixed
  /** uPnL at mark of the closed part: uPnL × closed ÷ |size|, half-even. */
  readonly closedPnlAtMark: Fixed
  /** What the winner forgoes by closing at `price` instead of mark (0 when the price is mark). */
  readonly haircutVersusMark: Fixed
  readonly rule: string
  readonly reason: string
}

export interface AdlPlanInput {
  readonly instrument: Instrument
  readonly liquidatedAccountId: string
  /** Side of the liquidated position; candidates are on the other side. */
  readonly liquidatedSide: AdlSide
  /** Contracts of the liquidated position left to close (> 0, on the lot grid). */
  readonly sizeToClose: Fixed
  /** Bankruptcy price of the liquidated order. */
  readonly bankruptcyPrice: Fixed
  readonly markPrice: Fixed
  readonly candidates: readonly AdlCandidate[]
  /** Seed of `dydx_offset` rankings (e.g. the block height); ignored by other formulas. */
  readonly seed?: bigint
}

export interface AdlPlan {
  readonly price: Fixed
  readonly sizeToClose: Fixed
  readonly fills: readonly AdlFill[]
  /** Contracts no candidate could absorb (ADL-013). */
  readonly uncoveredSize: Fixed
  readonly ranking: AdlRanking
  readonly totalHaircutVersusMark: Fixed
}

/** One fill of a plan: `closed` contracts of a ranked candidate at `price` (ADL-015). */
export function adlFillOf(
  input: Pick<AdlPlanInput, 'instrument' | 'markPrice'>,
  entry: RankedAdlCandidate,
  closed: Fixed,
  price: Fixed,
  rule: string,
  reason: string,
): AdlFill {
  const candidate = entry.candidate
  const sizeChange = candidate.size > 0n ? neg(closed) : closed
  const closedSigned = neg(sizeChange)
  // PnL of the closed part at mark minus at the execution price; entry values cancel.
  const haircut = sub(
    unrealizedPnl(input.instrument, closedSigned, ZERO, input.markPrice),
    unrealizedPnl(input.instrument, closedSigned, ZERO, price),
  )
  return {
    accountId: candidate.accountId,
    rank: entry.rank,
    scoreDisplay: entry.scoreDisplay,
    sizeBefore: candidate.size,
    sizeChange,
    closedContracts: closed,
    price,
    closedPnlAtMark: mulDiv(candidate.unrealizedPnl, closed, abs(candidate.size), 'half_even'),
    haircutVersusMark: haircut,
    rule,
    reason,
  }
}

/** How `min_winner_haircut` weighs the winners (ADL-014). */
export type AdlWeighting = Extract<AdlAllocation, { kind: 'min_winner_haircut' }>['weighting']

/**
 * Whether `min_winner_haircut` gives the candidate a pro-rata share (ADL-014): a profit, and with
 * `pnl_times_leverage` a positive equity.
 */
export function isAdlWinner(candidate: AdlCandidate, weighting: AdlWeighting): boolean {
  return candidate.unrealizedPnl > 0n && (weighting === 'pnl' || candidate.positionEquity > 0n)
}

/**
 * A winner's pro-rata weight (ADL-014): its uPnL, or uPnL × leverage = uPnL × markNotional ÷
 * equity, floored to 10^-18.
 */
export function adlWinnerWeight(candidate: AdlCandidate, weighting: AdlWeighting): bigint {
  return weighting === 'pnl'
    ? candidate.unrealizedPnl
    : mulDiv(candidate.unrealizedPnl, candidate.markNotional, candidate.positionEquity, 'floor')
}

/** `size` in whole lots; asserts that it lies on the lot grid (ADL-012). */
export function adlLotsOf(size: Fixed, lotSize: Fixed, what: string): bigint {
  assert(
    size % lotSize === 0n,
    `Invariant: ADL sizes lie on the lot grid (ADL-012, ${what}=${size})`,
  )
  return divideRounded(size, lotSize, 'exact')
}

/**
 * The ranking of a plan input under a policy. The ranking depends only on the policy's ranking
 * formula and eligibility and on the input; a caller that plans the same input under two
 * allocations (the engine plans the venue's and the alternative one) ranks the candidates once:
 * the ranking is kept per input object and reused when formula and eligibility are the same.
 * Inputs and rankings are immutable, so the reused ranking is the one a fresh call would compute.
 */
const rankings = new WeakMap<
  AdlPlanInput,
  { readonly ranking: AdlRankingFormula; readonly eligibility: string; readonly value: AdlRanking }
>()

function rankingOf(policy: AdlPolicy, input: AdlPlanInput): AdlRanking {
  const cached = rankings.get(input)
  if (
    cached !== undefined &&
    cached.ranking === policy.ranking &&
    cached.eligibility === policy.eligibility
  )
    return cached.value
  const value = rankAdlCandidates(
    policy,
    input.liquidatedAccountId,
    input.liquidatedSide,
    input.candidates,
    input.seed ?? 0n,
  )
  rankings.set(input, { ranking: policy.ranking, eligibility: policy.eligibility, value })
  return value
}

/**
 * Plans the deleveraging of `sizeToClose` contracts (ADL-009..ADL-015). Returns fills in rank order
 * (queue) or in rank order of the pro-rata recipients (min_winner_haircut), plus the uncovered size.
 * Invariant: Σ closed + uncovered = sizeToClose; no position is closed beyond its size.
 */
export function planAdl(policy: AdlPolicy, input: AdlPlanInput): AdlPlan {
  assertValidPolicy(validateAdlPolicy(policy), 'ADL')
  assert(input.sizeToClose > 0n, 'Invariant: ADL closes a positive size (ADL-009)')
  const ranking = rankingOf(policy, input)
  const price = policy.executionPrice === 'bankruptcy' ? input.bankruptcyPrice : input.markPrice
  const closedBy = new Map<string, Fixed>()
  const reasonBy = new Map<string, { rule: string; reason: string }>()

  let remaining = input.sizeToClose
  if (policy.allocation.kind === 'min_winner_haircut') {
    const lotSize = input.instrument.lotSize
    const totalLots = adlLotsOf(input.sizeToClose, lotSize, 'sizeToClose')
    const weighting = policy.allocation.weighting
    const entries = ranking.ranked
      .filter((entry) => isAdlWinner(entry.candidate, weighting))
      .map((entry) => ({
        key: entry.candidate.accountId,
        weight: adlWinnerWeight(entry.candidate, weighting),
        cap: adlLotsOf(abs(entry.candidate.size), lotSize, `size of ${entry.candidate.accountId}`),
      }))
    const { shares } = allocateProRataCapped(totalLots, entries)
    for (const [accountId, lots] of shares) {
      if (lots === 0n) continue
      const closed = fromScaled(lots * lotSize)
      closedBy.set(accountId, closed)
      reasonBy.set(accountId, {
        rule: 'ADL-014',
        reason: `pro rata to ${weighting === 'pnl' ? 'PnL' : 'PnL × leverage'}, capped at the position`,
      })
      remaining = sub(remaining, closed)
    }
  }
  // Queue (ADL-010): walk down the ranking; in min_winner_haircut it takes what the winners could not.
  for (const entry of ranking.ranked) {
    if (remaining === 0n) break
    const already = closedBy.get(entry.candidate.accountId) ?? ZERO
    const room = sub(abs(entry.candidate.size), already)
    if (room <= 0n) continue
    const take = min(remaining, room)
    closedBy.set(entry.candidate.accountId, add(already, take))
    const partial = take < abs(entry.candidate.size)
    if (!reasonBy.has(entry.candidate.accountId)) {
      reasonBy.set(entry.candidate.accountId, {
        rule: 'ADL-010',
        reason: partial
          ? 'queue: the remaining size is smaller than the position (partial)'
          : 'queue: the whole position is closed',
      })
    }
    remaining = sub(remaining, take)
  }

  const fills: AdlFill[] = []
  for (const entry of ranking.ranked) {
    const closed = closedBy.get(entry.candidate.accountId)
    if (closed === undefined || closed === 0n) continue
    assert(
      closed <= abs(entry.candidate.size),
      `Invariant: ADL closes no more than a position holds (ADL-011, account=${entry.candidate.accountId})`,
    )
    const why = reasonBy.get(entry.candidate.accountId) ?? { rule: 'ADL-010', reason: 'queue' }
    fills.push(adlFillOf(input, entry, closed, price, why.rule, why.reason))
  }
  const closedTotal = sum(fills.map((fill) => fill.closedContracts))
  assert(
    add(closedTotal, remaining) === input.sizeToClose && remaining >= 0n,
    'Invariant: closed + uncovered = size to close (ADL-013)',
  )
  return {
    price,
    sizeToClose: input.sizeToClose,
    fills,
    uncoveredSize: remaining,
    ranking,
    totalHaircutVersusMark: sum(fills.map((fill) => fill.haircutVersusMark)),
  }
}

/** A winner as seen by the money-level haircut planners (theory.md §4.1, W12). */
export interface Winner {
  readonly accountId: string
  /** Unrealized profit, > 0. */
  readonly pnl: Fixed
  /** Effective leverage (≥ 0). */
  readonly leverage: Fixed
}

/** Money-level ways to take a deficit from winners (ADL-020..ADL-023). */
export type HaircutMode =
  /** The production queue: rank by PnL × leverage, take each winner's whole PnL until covered. */
  | 'queue_whole_positions'
  /** Same fraction of every winner's PnL (Chitra's pro-rata; largest remainder). */
  | 'pro_rata_pnl'
  /** Risk-aware pro-rata: weights PnL × leverage, capped at each PnL, water-filled. */
  | 'leverage_weighted'
  /** Take from the largest PnL down to a common level L: haircut = max(0, PnL − L). */
  | 'water_fill'

export interface WinnerHaircut {
  readonly accountId: string
  readonly pnl: Fixed
  readonly taken: Fixed
  /** taken ÷ pnl for display (half-even). */
  readonly fractionTaken: Fixed
  readonly rank: number
}

export interface WinnerHaircutPlan {
  readonly mode: HaircutMode
  readonly deficit: Fixed
  readonly haircuts: readonly WinnerHaircut[]
  /** min(deficit, Σ taken). */
  readonly covered: Fixed
  readonly uncovered: Fixed
  /** Σ taken − covered: PnL taken beyond the deficit (only the whole-position queue overshoots). */
  readonly overshoot: Fixed
}

/**
 * Takes `deficit` from `winners` by `mode` (ADL-020..ADL-024). Every mode but the queue takes
 * exactly min(deficit, Σ PnL); no winner loses more than its PnL; results do not depend on input
 * order. Amounts are in units of 10^-18.
 */
export function planWinnerHaircuts(
  mode: HaircutMode,
  winners: readonly Winner[],
  deficit: Fixed,
): WinnerHaircutPlan {
  assert(deficit >= 0n, 'Invariant: a deficit is not negative (ADL-020)')
  assertUniqueIds(
    winners.map((winner) => winner.accountId),
    'winner',
  )
  for (const winner of winners) {
    assert(
      winner.pnl > 0n && winner.leverage >= 0n,
      `Invariant: winners have positive PnL and non-negative leverage (ADL-020, account=${winner.accountId})`,
    )
  }
  const ordered = [...winners].sort((a, b) => {
    const byScore = compareRatio(ratio(b.pnl * b.leverage, 1n), ratio(a.pnl * a.leverage, 1n))
    return thenBy(byScore, compareIds(a.accountId, b.accountId))
  })
  const totalPnl = sum(winners.map((winner) => winner.pnl))
  const coverable = min(deficit, totalPnl)
  const taken = new Map<string, bigint>()
  switch (mode) {
    case 'queue_whole_positions': {
      let collected = 0n
      for (const winner of ordered) {
        if (collected >= deficit) break
        taken.set(winner.accountId, winner.pnl)
        collected += winner.pnl
      }
      break
    }
    case 'pro_rata_pnl': {
      const shares = allocateProRata(
        coverable,
        winners.map((winner) => ({ key: winner.accountId, weight: winner.pnl })),
      )
      for (const [key, share] of shares) taken.set(key, share)
      break
    }
    case 'leverage_weighted': {
      const { shares, unallocated } = allocateProRataCapped(
        coverable,
        winners.map((winner) => ({
          key: winner.accountId,
          weight: winner.pnl * winner.leverage,
          cap: winner.pnl,
        })),
      )
      // Winners with zero leverage take nothing in the weighted pass; a remainder falls to pro rata on PnL.
      if (unallocated > 0n) {
        const { shares: rest } = allocateProRataCapped(
          unallocated,
          winners.map((winner) => ({
            key: winner.accountId,
            weight: winner.pnl,
            cap: winner.pnl - (shares.get(winner.accountId) ?? 0n),
          })),
        )
        for (const [key, share] of rest) shares.set(key, (shares.get(key) ?? 0n) + share)
      }
      for (const [key, share] of shares) taken.set(key, share)
      break
    }
    case 'water_fill': {
      for (const [key, share] of waterFill(winners, coverable)) taken.set(key, share)
      break
    }
  }
  const haircuts = ordered.map((winner, index): WinnerHaircut => {
    const amount = fromScaled(taken.get(winner.accountId) ?? 0n)
    assert(
      amount >= 0n && amount <= winner.pnl,
      `Invariant: no winner loses more than its PnL (ADL-021, account=${winner.accountId})`,
    )
    return {
      accountId: winner.accountId,
      pnl: winner.pnl,
      taken: amount,
      fractionTaken: mulDiv(amount, fromScaled(10n ** 18n), winner.pnl, 'half_even'),
      rank: index + 1,
    }
  })
  const totalTaken = sum(haircuts.map((haircut) => haircut.taken))
  const covered = min(deficit, totalTaken)
  const plan = {
    mode,
    deficit,
    haircuts,
    covered,
    uncovered: sub(deficit, covered),
    overshoot: sub(totalTaken, covered),
  }
  assert(
    add(plan.covered, plan.uncovered) === deficit,
    'Invariant: covered + uncovered = deficit (ADL-022)',
  )
  assert(
    mode === 'queue_whole_positions' || plan.overshoot === 0n,
    'Invariant: only the whole-position queue overshoots (ADL-022)',
  )
  return plan
}

/** Water-filling: haircut = max(0, PnL − L) with Σ = amount; leftover units go to the largest PnL, ties by id. */
function waterFill(winners: readonly Winner[], amount: bigint): Map<string, bigint> {
  const shares = new Map<string, bigint>(winners.map((winner) => [winner.accountId, 0n]))
  if (amount === 0n) return shares
  const byPnl = [...winners].sort((a, b) =>
    a.pnl !== b.pnl ? (a.pnl > b.pnl ? -1 : 1) : compareIds(a.accountId, b.accountId),
  )
  let prefix = 0n
  for (let count = 1; count <= byPnl.length; count += 1) {
    const current = byPnl[count - 1]
    assert(current !== undefined, 'Invariant: water-filling walks existing winners (ADL-023)')
    prefix += current.pnl
    const next = byPnl[count]?.pnl ?? 0n
    // Level with the top `count` winners: L = (prefix − amount) ÷ count, rounded up so Σ ≤ amount.
    const excess = prefix - amount
    const level = excess <= 0n ? 0n : divideRounded(excess, BigInt(count), 'ceil')
    if (level >= next) {
      let leftover = amount
      const top = byPnl.slice(0, count)
      for (const winner of top) {
        const share = winner.pnl - level
        shares.set(winner.accountId, share)
        leftover -= share
      }
      assert(
        leftover >= 0n && leftover < BigInt(count),
        'Invariant: water-filling leaves fewer units than recipients (ADL-023)',
      )
      for (const winner of top) {
        if (leftover === 0n) break
        shares.set(winner.accountId, (shares.get(winner.accountId) ?? 0n) + 1n)
        leftover -= 1n
      }
      return shares
    }
  }
  assert(false, 'Invariant: water-filling finds a level (ADL-023)')
}

export interface HaircutComparison {
  readonly deficit: Fixed
  readonly plan: {
    readonly mode: HaircutMode
    readonly taken: Fixed
    readonly accountsTouched: number
    readonly largestFraction: Fixed
  }
  readonly queue: {
    readonly taken: Fixed
    readonly accountsTouched: number
    readonly largestFraction: Fixed
  }
  /** PnL the queue takes beyond the deficit. */
  readonly queueOvershoot: Fixed
  /** Σ queue taken − Σ plan taken (≥ 0 when both cover the same deficit). */
  readonly excessTakenByQueue: Fixed
  readonly perAccount: readonly {
    readonly accountId: string
    readonly plan: Fixed
    readonly queue: Fixed
    readonly difference: Fixed
  }[]
}

/** Compares a haircut plan with the whole-position queue over the same winners (ADL-024). */
export function compareWithQueue(
  mode: HaircutMode,
  winners: readonly Winner[],
  deficit: Fixed,
): HaircutComparison {
  const plan = planWinnerHaircuts(mode, winners, deficit)
  const queue = planWinnerHaircuts('queue_whole_positions', winners, deficit)
  const summary = (haircuts: readonly WinnerHaircut[]) => ({
    taken: sum(haircuts.map((haircut) => haircut.taken)),
    accountsTouched: haircuts.filter((haircut) => haircut.taken > 0n).length,
    largestFraction: haircuts.reduce((best, haircut) => max(best, haircut.fractionTaken), ZERO),
  })
  const planSummary = summary(plan.haircuts)
  const queueSummary = summary(queue.haircuts)
  const queueBy = new Map(queue.haircuts.map((haircut) => [haircut.accountId, haircut.taken]))
  return {
    deficit,
    plan: { mode, ...planSummary },
    queue: queueSummary,
    queueOvershoot: queue.overshoot,
    excessTakenByQueue: sub(queueSummary.taken, planSummary.taken),
    perAccount: [...plan.haircuts]
      .sort((a, b) => compareIds(a.accountId, b.accountId))
      .map((haircut) => {
        const queued = queueBy.get(haircut.accountId) ?? ZERO
        return {
          accountId: haircut.accountId,
          plan: haircut.taken,
          queue: queued,
          difference: sub(queued, haircut.taken),
        }
      }),
  }
}
