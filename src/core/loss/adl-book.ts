/**
 * An ADL ranking kept incrementally (docs/spec/adl.md, ADL-031, ADL-032): the eligible candidates of
 * one side of a market, in ranking order, updated one candidate at a time, and plans made on it
 * that equal `planAdl` on the same candidates. A caller that deleverages many times while few
 * candidates change (the engine within one mark) pays for the candidates that changed, not for a
 * ranking of every holder per plan. Pure: the book holds what it is given and nothing else.
 */
import { assert } from '../assert.ts'
import { abs, add, type Fixed, fromScaled, min, sub, sum, ZERO } from '../num/fixed.ts'
import {
  type AdlCandidate,
  type AdlFill,
  type AdlPlan,
  type AdlPlanInput,
  type AdlPolicy,
  type AdlRankingFormula,
  type AdlSide,
  type AdlWeighting,
  adlFillOf,
  adlLotsOf,
  adlWinnerWeight,
  compareAdlRank,
  isAdlWinner,
  type RankedAdlCandidate,
  type ScoredAdlCandidate,
  scoredAdlCandidate,
  validateAdlPolicy,
} from './adl.ts'
import { assertValidPolicy, compareIds, ratioToFixed } from './common.ts'

/** Index of the first item of a sorted `items` that `before(item)` does not hold for (binary search). */
function firstNotBefore<T>(items: readonly T[], before: (item: T) => boolean): number {
  let low = 0
  let high = items.length
  while (low < high) {
    const middle = (low + high) >>> 1
    const item = items[middle] as T
    if (before(item)) low = middle + 1
    else high = middle
  }
  return low
}

function insertSorted<T>(items: T[], item: T, compare: (a: T, b: T) => number): void {
  items.splice(
    firstNotBefore(items, (other) => compare(other, item) < 0),
    0,
    item,
  )
}

function removeSorted<T>(items: T[], item: T, compare: (a: T, b: T) => number): void {
  const at = firstNotBefore(items, (other) => compare(other, item) < 0)
  assert(items[at] === item, 'Invariant: a kept ADL order holds each of its entries (ADL-031)')
  items.splice(at, 1)
}

/** A winner of `min_winner_haircut` with its weight and cap in lots (ADL-014). */
interface Winner {
  readonly id: string
  readonly weight: bigint
  readonly cap: bigint
}

/** Weight descending, ties by id: the order of floored pro-rata remainders below one lot. */
function byWeight(a: Winner, b: Winner): number {
  return a.weight !== b.weight ? (a.weight > b.weight ? -1 : 1) : compareIds(a.id, b.id)
}

/** Weight ÷ cap descending, ties by id: caps bind in this order (LOSS-004). */
function byWeightPerLot(a: Winner, b: Winner): number {
  const left = a.weight * b.cap
  const right = b.weight * a.cap
  return left !== right ? (left > right ? -1 : 1) : compareIds(a.id, b.id)
}

/** The winners of one weighting, kept in the two orders a capped pro-rata split reads. */
interface WinnerIndex {
  readonly weighting: AdlWeighting
  readonly lotSize: Fixed
  readonly byId: Map<string, Winner>
  readonly byWeight: Winner[]
  readonly byWeightPerLot: Winner[]
  /** Σ weight. */
  total: bigint
}

/**
 * `allocateProRataCapped` of a total over the winners (LOSS-004, NUM-005), answered per winner
 * without splitting over every winner: the caps that bind are the first winners by weight ÷ cap;
 * of the rest only those whose floored share is at least one lot (at most the total) have a
 * remainder other than total × weight, so the largest remainders are found by a search in the
 * weight order.
 */
export class CappedSplit {
  /** Lots left for the pro-rata split after the binding caps; the unallocated rest when `open` is 0. */
  private readonly rest: bigint
  private readonly openCount: number
  /** Winners whose cap binds: they take their cap. */
  private readonly capped: Set<Winner>
  /** Capped winners met by the walk that found `whole` (positions before `tailStart`). */
  private readonly cappedBeforeTail: Set<Winner>
  /** Open winners with a floored share ≥ 1 lot, by id: floor and remainder. */
  private readonly whole: Map<string, { readonly floor: bigint; readonly remainder: bigint }>
  /** First position in the weight order after the `whole` winners. */
  private readonly tailStart: number
  /** Lots that go one each to the largest remainders. */
  private readonly leftover: bigint

  constructor(
    private readonly index: WinnerIndex,
    readonly totalLots: bigint,
  ) {
    assert(totalLots >= 0n, 'Invariant: an allocated total is not negative (LOSS-004)')
    const ordered = index.byWeightPerLot
    let rest = totalLots
    let weight = index.total
    let first = 0
    const capped = new Set<Winner>()
    while (rest > 0n && first < ordered.length) {
      // Binding: rest × weight > cap × Σ weight, i.e. weight ÷ cap above Σ weight ÷ rest: a prefix.
      let end = first
      for (;;) {
        const winner = ordered[end]
        if (winner === undefined || rest * winner.weight <= winner.cap * weight) break
        end += 1
      }
      if (end === first) break
      for (let at = first; at < end; at += 1) {
        const winner = ordered[at] as Winner
        capped.add(winner)
        rest -= winner.cap
        weight -= winner.weight
      }
      first = end
    }
    this.rest = rest
    this.openCount = ordered.length - first
    this.capped = capped
    const whole = new Map<string, { floor: bigint; remainder: bigint }>()
    const cappedBeforeTail = new Set<Winner>()
    let position = 0
    let leftover = rest
    if (this.openCount > 0 && rest > 0n) {
      for (; position < index.byWeight.length; position += 1) {
        const winner = index.byWeight[position] as Winner
        if (capped.has(winner)) {
          cappedBeforeTail.add(winner)
          continue
        }
        const product = rest * winner.weight
        if (product < weight) break
        const floor = product / weight
        whole.set(winner.id, { floor, remainder: product % weight })
        leftover -= floor
      }
      assert(
        leftover >= 0n && leftover < BigInt(this.openCount),
        'Invariant: flooring leaves fewer units than recipients (NUM-005)',
      )
    }
    this.whole = whole
    this.cappedBeforeTail = cappedBeforeTail
    this.tailStart = position
    this.leftover = this.openCount > 0 ? leftover : 0n
  }

  /** What the caps left unallocated (every winner at its cap). */
  get unallocated(): bigint {
    return this.openCount === 0 ? this.rest : 0n
  }

  /** The lots `accountId` receives: its cap, its floored share plus one unit of the leftover, or 0. */
  shareOf(accountId: string): bigint {
    const winner = this.index.byId.get(accountId)
    if (winner === undefined) return 0n
    if (this.capped.has(winner)) return winner.cap
    if (this.openCount === 0 || this.rest === 0n) return 0n
    const mine = this.whole.get(accountId) ?? {
      floor: 0n,
      remainder: this.rest * winner.weight,
    }
    const share =
      mine.floor + (this.remaindersBefore(winner, mine.remainder) < this.leftover ? 1n : 0n)
    assert(
      share <= winner.cap,
      `Invariant: a capped share stays within its cap (LOSS-004, key=${accountId})`,
    )
    return share
  }

  /** Every winner with a positive share, with its lots. */
  shares(): Map<string, bigint> {
    const shares = new Map<string, bigint>()
    for (const winner of this.capped) shares.set(winner.id, winner.cap)
    if (this.openCount === 0 || this.rest === 0n) return shares
    for (const [id, { floor }] of this.whole) if (floor > 0n) shares.set(id, floor)
    // The leftover goes to the largest remainders (ties by id): the whole winners' remainders,
    // merged with the rest's (rest × weight, already in weight order).
    const wholeOrder = [...this.whole]
      .map(([id, { remainder }]) => ({ id, remainder }))
      .sort((a, b) =>
        a.remainder !== b.remainder ? (a.remainder > b.remainder ? -1 : 1) : compareIds(a.id, b.id),
      )
    let left = this.leftover
    let next = 0
    let position = this.tailStart
    const byWeightOrder = this.index.byWeight
    while (left > 0n) {
      while (position < byWeightOrder.length && this.capped.has(byWeightOrder[position] as Winner))
        position += 1
      const tail = byWeightOrder[position]
      const fromWhole = wholeOrder[next]
      const tailRemainder = tail === undefined ? -1n : this.rest * tail.weight
      const takeWhole =
        fromWhole !== undefined &&
        (tail === undefined ||
          fromWhole.remainder > tailRemainder ||
          (fromWhole.remainder === tailRemainder && fromWhole.id < tail.id))
      const id = takeWhole ? fromWhole.id : tail?.id
      assert(id !== undefined, 'Invariant: the leftover goes to open winners (NUM-005)')
      shares.set(id, (shares.get(id) ?? 0n) + 1n)
      if (takeWhole) next += 1
      else position += 1
      left -= 1n
    }
    return shares
  }

  /** Open winners whose remainder comes before `remainder` of `winner` (larger, or equal with a lower id). */
  private remaindersBefore(winner: Winner, remainder: bigint): bigint {
    const before = (id: string, other: bigint): boolean =>
      other > remainder || (other === remainder && id < winner.id)
    let count = 0n
    for (const [id, entry] of this.whole)
      if (id !== winner.id && before(id, entry.remainder)) count += 1n
    const order = this.index.byWeight
    const tailBefore = (candidate: Winner): boolean =>
      before(candidate.id, this.rest * candidate.weight)
    // The rest's remainders are rest × weight: those before `winner` are a prefix of the tail.
    let end = this.tailStart
    let high = order.length
    while (end < high) {
      const middle = (end + high) >>> 1
      if (tailBefore(order[middle] as Winner)) end = middle + 1
      else high = middle
    }
    count += BigInt(end - this.tailStart)
    for (const winner of this.capped)
      if (!this.cappedBeforeTail.has(winner) && tailBefore(winner)) count -= 1n
    return count
  }
}

/** A plan made on a book: `AdlPlan` without the ranking of every candidate. */
export type AdlBookPlan = Omit<AdlPlan, 'ranking'>

/**
 * The eligible ADL candidates of one side under a policy's ranking formula and eligibility, in
 * ranking order (ADL-031): the same order `rankAdlCandidates` gives the same candidates, kept as
 * candidates are set and removed. `side` is the liquidated side; the book holds the other side.
 */
export class AdlRankingBook {
  private readonly entries = new Map<string, ScoredAdlCandidate>()
  private readonly ranked: ScoredAdlCandidate[] = []
  private readonly winners = new Map<string, WinnerIndex>()

  constructor(
    readonly ranking: AdlRankingFormula,
    readonly eligibility: AdlPolicy['eligibility'],
    readonly side: AdlSide,
    readonly seed: bigint = 0n,
  ) {}

  /** Eligible candidates held. */
  get size(): number {
    return this.ranked.length
  }

  /** Whether a candidate of this side is eligible (ADL-006, ADL-008). */
  private eligible(candidate: AdlCandidate): boolean {
    if (candidate.size === 0n) return false
    if (this.side === 'long' ? candidate.size > 0n : candidate.size < 0n) return false
    return this.eligibility !== 'profitable_only' || candidate.unrealizedPnl > 0n
  }

  /**
   * Sets the candidate of `candidate.accountId`, replacing any earlier one; a candidate the ranking
   * excludes (same side, empty, not profitable under `profitable_only`) removes it.
   */
  set(candidate: AdlCandidate): void {
    this.delete(candidate.accountId)
    if (!this.eligible(candidate)) return
    const entry = scoredAdlCandidate(this.ranking, candidate, this.seed)
    this.entries.set(candidate.accountId, entry)
    insertSorted(this.ranked, entry, compareAdlRank)
    for (const index of this.winners.values()) this.addWinner(index, candidate)
  }

  /** Sets every candidate at once: one sort instead of a search per candidate. */
  setAll(candidates: Iterable<AdlCandidate>): void {
    const latest = new Map<string, AdlCandidate>()
    for (const candidate of candidates) latest.set(candidate.accountId, candidate)
    for (const candidate of latest.values()) {
      this.delete(candidate.accountId)
      if (!this.eligible(candidate)) continue
      const entry = scoredAdlCandidate(this.ranking, candidate, this.seed)
      this.entries.set(candidate.accountId, entry)
      this.ranked.push(entry)
    }
    this.ranked.sort(compareAdlRank)
    this.winners.clear()
  }

  /** Removes the candidate of `accountId`, if any. */
  delete(accountId: string): void {
    const entry = this.entries.get(accountId)
    if (entry === undefined) return
    this.entries.delete(accountId)
    removeSorted(this.ranked, entry, compareAdlRank)
    for (const index of this.winners.values()) {
      const winner = index.byId.get(accountId)
      if (winner === undefined) continue
      index.byId.delete(accountId)
      removeSorted(index.byWeight, winner, byWeight)
      removeSorted(index.byWeightPerLot, winner, byWeightPerLot)
      index.total -= winner.weight
    }
  }

  /** Whether the book holds a candidate of `accountId`. */
  has(accountId: string): boolean {
    return this.entries.has(accountId)
  }

  /** The candidate ranked `index + 1`, as `rankAdlCandidates` reports it. */
  rankedAt(index: number): RankedAdlCandidate {
    const entry = this.ranked[index]
    assert(entry !== undefined, `Invariant: a ranked position exists (ADL-031, index=${index})`)
    return {
      rank: index + 1,
      score: entry.score,
      scoreDisplay: ratioToFixed(entry.score),
      candidate: entry.candidate,
    }
  }

  /** The candidate ranked `index + 1`, without its score for display. */
  candidateAt(index: number): AdlCandidate {
    const entry = this.ranked[index]
    assert(entry !== undefined, `Invariant: a ranked position exists (ADL-031, index=${index})`)
    return entry.candidate
  }

  /** Position of `accountId` in the ranking (rank − 1). */
  indexOf(accountId: string): number {
    const entry = this.entries.get(accountId)
    assert(
      entry !== undefined,
      `Invariant: a ranked account is in the book (ADL-031, account=${accountId})`,
    )
    return firstNotBefore(this.ranked, (other) => compareAdlRank(other, entry) < 0)
  }

  /** The candidates in ranking order. */
  *candidates(): IterableIterator<AdlCandidate> {
    for (const entry of this.ranked) yield entry.candidate
  }

  private addWinner(index: WinnerIndex, candidate: AdlCandidate): void {
    if (!isAdlWinner(candidate, index.weighting)) return
    const weight = adlWinnerWeight(candidate, index.weighting)
    const cap = adlLotsOf(abs(candidate.size), index.lotSize, `size of ${candidate.accountId}`)
    assert(
      cap >= 0n && weight >= 0n,
      `Invariant: caps and weights are not negative (LOSS-004, key=${candidate.accountId})`,
    )
    // Winners without weight or room take no share (LOSS-004); they are not kept.
    if (weight === 0n || cap === 0n) return
    const winner: Winner = { id: candidate.accountId, weight, cap }
    index.byId.set(winner.id, winner)
    insertSorted(index.byWeight, winner, byWeight)
    insertSorted(index.byWeightPerLot, winner, byWeightPerLot)
    index.total += weight
  }

  /** The winners of `weighting` on a `lotSize` grid, indexed when first asked for. */
  private winnersOf(weighting: AdlWeighting, lotSize: Fixed): WinnerIndex {
    const key = `${weighting}:${lotSize}`
    const known = this.winners.get(key)
    if (known !== undefined) return known
    const index: WinnerIndex = {
      weighting,
      lotSize,
      byId: new Map(),
      byWeight: [],
      byWeightPerLot: [],
      total: 0n,
    }
    for (const entry of this.ranked) {
      const candidate = entry.candidate
      if (!isAdlWinner(candidate, weighting)) continue
      const weight = adlWinnerWeight(candidate, weighting)
      const cap = adlLotsOf(abs(candidate.size), lotSize, `size of ${candidate.accountId}`)
      if (weight === 0n || cap === 0n) continue
      const winner: Winner = { id: candidate.accountId, weight, cap }
      index.byId.set(winner.id, winner)
      index.byWeight.push(winner)
      index.byWeightPerLot.push(winner)
      index.total += weight
    }
    index.byWeight.sort(byWeight)
    index.byWeightPerLot.sort(byWeightPerLot)
    this.winners.set(key, index)
    return index
  }

  /** `totalLots` split over the winners of `weighting` pro rata, capped at each position (ADL-014). */
  cappedSplit(weighting: AdlWeighting, lotSize: Fixed, totalLots: bigint): CappedSplit {
    return new CappedSplit(this.winnersOf(weighting, lotSize), totalLots)
  }
}

function sameFormula(a: AdlRankingFormula, b: AdlRankingFormula): boolean {
  if (a.kind === 'binance_leverage_pnl')
    return b.kind === 'binance_leverage_pnl' && a.walletFloor === b.walletFloor
  return a.kind === b.kind
}

/** The input of a plan on a book: an `AdlPlanInput` whose candidates are the book's. */
export type AdlBookPlanInput = Omit<AdlPlanInput, 'candidates'>

/**
 * `planAdl` on the candidates of `book` (ADL-032): the same price, fills (in rank order) and
 * uncovered size, and each fill's rank and score as the full ranking gives them, at a cost that
 * follows the fills, not the candidates. With `only`, the fills of the other accounts are left
 * out (their sizes still count: `uncoveredSize` is the whole plan's), for a caller that needs the
 * plan for a few accounts; `totalHaircutVersusMark` then sums the fills kept.
 */
export function planAdlOnBook(
  policy: AdlPolicy,
  input: AdlBookPlanInput,
  book: AdlRankingBook,
  only?: ReadonlySet<string>,
): AdlBookPlan {
  assertValidPolicy(validateAdlPolicy(policy), 'ADL')
  assert(input.sizeToClose > 0n, 'Invariant: ADL closes a positive size (ADL-009)')
  assert(
    sameFormula(book.ranking, policy.ranking) &&
      book.eligibility === policy.eligibility &&
      book.side === input.liquidatedSide &&
      book.seed === (input.seed ?? 0n),
    'Invariant: a plan on a book uses the ranking the book keeps (ADL-032)',
  )
  assert(
    !book.has(input.liquidatedAccountId),
    `Invariant: the liquidated account is not among the opposite side's candidates (ADL-006, account=${input.liquidatedAccountId})`,
  )
  const price = policy.executionPrice === 'bankruptcy' ? input.bankruptcyPrice : input.markPrice
  const lotSize = input.instrument.lotSize
  const closedBy = new Map<string, Fixed>()
  const reasonBy = new Map<string, { rule: string; reason: string }>()
  const positions = new Map<string, number>()
  const wanted = (accountId: string): boolean => only === undefined || only.has(accountId)

  let remaining = input.sizeToClose
  let split: CappedSplit | null = null
  if (policy.allocation.kind === 'min_winner_haircut') {
    const weighting = policy.allocation.weighting
    const totalLots = adlLotsOf(input.sizeToClose, lotSize, 'sizeToClose')
    split = book.cappedSplit(weighting, lotSize, totalLots)
    const reason = {
      rule: 'ADL-014',
      reason: `pro rata to ${weighting === 'pnl' ? 'PnL' : 'PnL × leverage'}, capped at the position`,
    }
    const shares =
      only === undefined
        ? split.shares()
        : new Map([...only].map((accountId) => [accountId, split?.shareOf(accountId) ?? 0n]))
    for (const [accountId, lots] of shares) {
      if (lots === 0n) continue
      closedBy.set(accountId, fromScaled(lots * lotSize))
      reasonBy.set(accountId, reason)
    }
    remaining = sub(remaining, fromScaled((totalLots - split.unallocated) * lotSize))
  }
  // Queue (ADL-010): walk down the ranking; in min_winner_haircut it takes what the winners could
  // not (then every winner is at its cap).
  for (let index = 0; index < book.size && remaining > 0n; index += 1) {
    const candidate = book.candidateAt(index)
    const already = split === null ? ZERO : fromScaled(split.shareOf(candidate.accountId) * lotSize)
    const room = sub(abs(candidate.size), already)
    if (room <= 0n) continue
    const take = min(remaining, room)
    remaining = sub(remaining, take)
    if (!wanted(candidate.accountId)) continue
    closedBy.set(candidate.accountId, add(already, take))
    positions.set(candidate.accountId, index)
    if (!reasonBy.has(candidate.accountId)) {
      reasonBy.set(candidate.accountId, {
        rule: 'ADL-010',
        reason:
          take < abs(candidate.size)
            ? 'queue: the remaining size is smaller than the position (partial)'
            : 'queue: the whole position is closed',
      })
    }
  }

  const ordered = [...closedBy]
    .filter(([, closed]) => closed !== 0n)
    .map(([accountId, closed]) => ({
      accountId,
      closed,
      index: positions.get(accountId) ?? book.indexOf(accountId),
    }))
    .sort((a, b) => a.index - b.index)
  const fills: AdlFill[] = ordered.map(({ accountId, closed, index }) => {
    const entry = book.rankedAt(index)
    assert(
      closed <= abs(entry.candidate.size),
      `Invariant: ADL closes no more than a position holds (ADL-011, account=${accountId})`,
    )
    const why = reasonBy.get(accountId) ?? { rule: 'ADL-010', reason: 'queue' }
    return adlFillOf(input, entry, closed, price, why.rule, why.reason)
  })
  assert(remaining >= 0n, 'Invariant: closed + uncovered = size to close (ADL-013)')
  if (only === undefined) {
    assert(
      add(sum(fills.map((fill) => fill.closedContracts)), remaining) === input.sizeToClose,
      'Invariant: closed + uncovered = size to close (ADL-013)',
    )
  }
  return {
    price,
    sizeToClose: input.sizeToClose,
    fills,
    uncoveredSize: remaining,
    totalHaircutVersusMark: sum(fills.map((fill) => fill.haircutVersusMark)),
  }
}
