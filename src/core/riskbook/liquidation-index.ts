/**
 * Liquidation-distance index (docs/spec/riskbook.md, RBK-020..RBK-024): per market, every account's
 * trigger prices, sorted, so that a price tick costs time in proportion to the accounts whose
 * trigger it crosses, not to all accounts.
 *
 * - One position: the exact breach tick. A long is breached exactly when price ≤ key, a short
 *   exactly when price ≥ key (slack is monotone in the price because every rate is ≤ 1).
 * - Several positions: a safety box around the reference prices. With slack s ≥ 0 at the reference
 *   prices P_m and sensitivity σ_m = Σ |lots| × (L + max M) per tick, the radius r_m =
 *   floor(s × P_m ÷ Σ σ_k P_k) gives Σ σ_m r_m ≤ s, so the account is safe while every
 *   |price_m − P_m| ≤ r_m. The triggers are P_m − r_m − 1 and P_m + r_m + 1.
 *
 * Invariant after every call: each account is either in the breached set, or none of its triggers
 * is crossed by the current prices (and so it is not breached). A tick therefore returns exactly the
 * breached accounts. Triggers that changed since the sorted arrays were built live in a small
 * "changed" list that each tick scans; the arrays are rebuilt when that list grows.
 */
import { assert } from '../assert.ts'
import { divideRounded } from '../num/fixed.ts'
import { MAX_PRICE_TICKS, type RiskBook, type RiskBookObserver } from './risk-book.ts'

const ACCOUNT_BITS = 26n
const ACCOUNT_MASK = (1n << ACCOUNT_BITS) - 1n
/** Most accounts an index can hold (account index packed with the key in 64 bits). */
export const MAX_INDEXED_ACCOUNTS = 2 ** 26
/** Key of an account that is a candidate at any price. */
const ALWAYS = MAX_PRICE_TICKS
/** Marks a slot without a trigger on that side. */
const NONE = -1

/** Outcome of a tick: the accounts breached at the new prices. */
export interface TickOutcome {
  /** Breached accounts after the tick, ascending. */
  readonly breached: readonly number[]
  /** Accounts whose trigger the tick crossed (evaluated exactly). */
  readonly crossed: number
}

/** Per-market sorted triggers: packed (key << 26 | account), ascending. */
interface SortedTriggers {
  lower: BigUint64Array
  upper: BigUint64Array
}

/** Index of breach triggers over a `RiskBook`. Build it after prices are set. */
export class LiquidationIndex implements RiskBookObserver {
  private readonly book: RiskBook
  /** Current trigger per slot: lower (candidate when price ≤ key) and upper (candidate when price ≥ key); NONE when absent. */
  private slotLower: Float64Array
  private slotUpper: Float64Array
  private sorted: SortedTriggers[]
  /** 1 when the account's triggers differ from the sorted arrays. */
  private changedFlag: Uint8Array
  private changedAccounts: number[] = []
  /** 1 when the account is in the breached set. */
  private breachedFlag: Uint8Array
  private breachedAccounts: number[] = []
  private stamp: Uint32Array
  private stampCounter = 0
  /** Changed-list length that triggers a rebuild of the sorted arrays. */
  readonly rebuildThreshold: number

  constructor(book: RiskBook, rebuildThreshold?: number) {
    assert(
      book.pricesComplete(),
      'Invariant: every market has a price before the index is built (RBK-020)',
    )
    assert(
      book.count <= MAX_INDEXED_ACCOUNTS,
      `Invariant: an index holds at most ${MAX_INDEXED_ACCOUNTS} accounts (RBK-020)`,
    )
    this.book = book
    this.rebuildThreshold = rebuildThreshold ?? Math.max(1024, book.count >>> 6)
    this.slotLower = new Float64Array(0)
    this.slotUpper = new Float64Array(0)
    this.changedFlag = new Uint8Array(0)
    this.breachedFlag = new Uint8Array(0)
    this.stamp = new Uint32Array(0)
    this.sorted = []
    this.rebuild()
    book.observe(this)
  }

  /** Recomputes every account's triggers and sorts them (RBK-020). */
  rebuild(): void {
    const book = this.book
    const slots = Math.max(book.count, 1) * book.positionsPerAccount
    if (this.slotLower.length < slots) {
      this.slotLower = new Float64Array(slots)
      this.slotUpper = new Float64Array(slots)
      this.changedFlag = new Uint8Array(book.count)
      this.breachedFlag = new Uint8Array(book.count)
      this.stamp = new Uint32Array(book.count)
    }
    this.breachedAccounts = []
    this.breachedFlag.fill(0)
    for (let account = 0; account < book.count; account++) this.refresh(account)
    this.sortTriggers()
  }

  /** RiskBookObserver: an account's balance or positions changed. */
  accountChanged(account: number): void {
    if (account >= this.changedFlag.length) this.growTo(this.book.count)
    this.refresh(account)
    this.markChanged(account)
  }

  private growTo(accounts: number): void {
    const capacity = Math.max(accounts, this.changedFlag.length * 2)
    const slots = capacity * this.book.positionsPerAccount
    const lower = new Float64Array(slots).fill(NONE)
    lower.set(this.slotLower)
    this.slotLower = lower
    const upper = new Float64Array(slots).fill(NONE)
    upper.set(this.slotUpper)
    this.slotUpper = upper
    const grow = (source: Uint8Array): Uint8Array => {
      const target = new Uint8Array(capacity)
      target.set(source)
      return target
    }
    this.changedFlag = grow(this.changedFlag)
    this.breachedFlag = grow(this.breachedFlag)
    const stamp = new Uint32Array(capacity)
    stamp.set(this.stamp)
    this.stamp = stamp
  }

  /** The breached accounts at the current prices, ascending. */
  breached(): number[] {
    return [...this.breachedAccounts].sort((a, b) => a - b)
  }

  /** Moves a market's price and returns the breached accounts (RBK-021). */
  tick(marketIndex: number, ticks: number): TickOutcome {
    const book = this.book
    book.setPriceTicks(marketIndex, ticks)
    const stampValue = this.nextStamp()
    const candidates: number[] = []
    const consider = (account: number): void => {
      if (this.stamp[account] === stampValue) return
      this.stamp[account] = stampValue
      candidates.push(account)
    }
    // Sorted triggers crossed by the new price (accounts with changed triggers are handled below).
    const triggers = this.sorted[marketIndex]!
    const key = BigInt(ticks) << ACCOUNT_BITS
    for (let index = lowerBound(triggers.lower, key); index < triggers.lower.length; index++) {
      const account = Number(triggers.lower[index]! & ACCOUNT_MASK)
      if (this.changedFlag[account] === 0) consider(account)
    }
    const upperEnd = lowerBound(triggers.upper, key + ACCOUNT_MASK + 1n)
    for (let index = 0; index < upperEnd; index++) {
      const account = Number(triggers.upper[index]! & ACCOUNT_MASK)
      if (this.changedFlag[account] === 0) consider(account)
    }
    for (const account of this.changedAccounts) {
      if (this.crossedIn(account, marketIndex, ticks)) consider(account)
    }
    for (const account of this.breachedAccounts) consider(account)
    const crossed = candidates.length
    // Exact decision for each candidate; safe ones get fresh triggers around the current prices.
    const stillBreached: number[] = []
    for (const account of candidates) {
      if (book.isBreachedExact(account)) {
        stillBreached.push(account)
        this.breachedFlag[account] = 1
      } else {
        this.breachedFlag[account] = 0
        this.refresh(account)
        this.markChanged(account)
      }
    }
    this.breachedAccounts = stillBreached
    if (this.changedAccounts.length > this.rebuildThreshold) this.sortTriggers()
    return { breached: [...stillBreached].sort((a, b) => a - b), crossed }
  }

  /** Number of accounts whose triggers are outside the sorted arrays. */
  changedCount(): number {
    return this.changedAccounts.length
  }

  private nextStamp(): number {
    this.stampCounter = (this.stampCounter + 1) >>> 0
    if (this.stampCounter === 0) {
      this.stamp.fill(0)
      this.stampCounter = 1
    }
    return this.stampCounter
  }

  private markChanged(account: number): void {
    if (this.changedFlag[account] === 1) return
    this.changedFlag[account] = 1
    this.changedAccounts.push(account)
  }

  private crossedIn(account: number, marketIndex: number, ticks: number): boolean {
    const book = this.book
    const first = account * book.positionsPerAccount
    const end = first + book.positionsPerAccount
    for (let slot = first; slot < end; slot++) {
      const market = book.slotMarket[slot]!
      if (market < 0) return false
      if (market !== marketIndex) continue
      const lower = this.slotLower[slot]!
      const upper = this.slotUpper[slot]!
      return (lower !== NONE && ticks <= lower) || (upper !== NONE && ticks >= upper)
    }
    return false
  }

  /** Recomputes one account's triggers at the current prices; records whether it is breached now. */
  private refresh(account: number): void {
    const book = this.book
    const first = account * book.positionsPerAccount
    const end = first + book.positionsPerAccount
    for (let slot = first; slot < end; slot++) {
      this.slotLower[slot] = NONE
      this.slotUpper[slot] = NONE
    }
    const positions = book.positionCount(account)
    const slack = book.marginSlack(account)
    const breachedNow = positions > 0 && slack < 0n
    this.setBreached(account, breachedNow)
    if (positions === 0) return
    if (positions === 1) {
      this.singlePositionTrigger(account, first)
      return
    }
    if (breachedNow) {
      // A candidate at any price until it is safe again.
      for (let slot = first; slot < first + positions; slot++) this.slotLower[slot] = ALWAYS
      return
    }
    let weighted = 0n
    for (let slot = first; slot < first + positions; slot++) {
      const marketIndex = book.slotMarket[slot]!
      const lots = book.slotLots[slot]!
      const sensitivity =
        (lots < 0n ? -lots : lots) * book.marketConstants(marketIndex).sensitivityPerUnit
      weighted += sensitivity * book.priceTicks[marketIndex]!
    }
    for (let slot = first; slot < first + positions; slot++) {
      const marketIndex = book.slotMarket[slot]!
      const price = book.priceTicks[marketIndex]!
      const radius =
        weighted === 0n ? BigInt(MAX_PRICE_TICKS) : divideRounded(slack * price, weighted, 'floor')
      const lower = price - radius - 1n
      const upper = price + radius + 1n
      this.slotLower[slot] = lower >= 1n ? Number(lower) : NONE
      this.slotUpper[slot] = upper <= BigInt(MAX_PRICE_TICKS) ? Number(upper) : NONE
    }
  }

  /** Exact breach tick of a one-position account (RBK-022). */
  private singlePositionTrigger(account: number, slot: number): void {
    const book = this.book
    const marketIndex = book.slotMarket[slot]!
    const lots = book.slotLots[slot]!
    const balance = book.balance[account]!
    const entry = book.slotEntry[slot]!
    const slackAt = (ticks: bigint): bigint =>
      book.singlePositionSlack(balance, lots, entry, marketIndex, ticks)
    const maxTicks = BigInt(MAX_PRICE_TICKS)
    if (lots > 0n) {
      // Long: slack non-decreasing in price; key = largest tick with slack < 0.
      if (slackAt(1n) >= 0n) return
      if (slackAt(maxTicks) < 0n) {
        this.slotLower[slot] = ALWAYS
        return
      }
      this.slotLower[slot] = Number(
        searchLast(
          1n,
          maxTicks,
          (ticks) => slackAt(ticks) < 0n,
          this.estimate(account, slot, lots, balance, entry, marketIndex),
        ),
      )
    } else {
      // Short: slack non-increasing in price; key = smallest tick with slack < 0.
      if (slackAt(maxTicks) >= 0n) return
      if (slackAt(1n) < 0n) {
        this.slotUpper[slot] = 1
        return
      }
      const lastSafe = searchLast(
        1n,
        maxTicks,
        (ticks) => slackAt(ticks) >= 0n,
        this.estimate(account, slot, lots, balance, entry, marketIndex),
      )
      this.slotUpper[slot] = Number(lastSafe + 1n)
    }
  }

  /** Float estimate of the breach tick: solves the tier-linear slack for the tier it lands in. */
  private estimate(
    _account: number,
    _slot: number,
    lots: bigint,
    balance: bigint,
    entry: bigint,
    marketIndex: number,
  ): bigint {
    const constants = this.book.marketConstants(marketIndex)
    const size = Math.abs(Number(lots))
    const coefficients = lots > 0n ? constants.longCoefficients : constants.shortCoefficients
    for (let tier = constants.thresholds.length - 1; tier >= 0; tier--) {
      const coefficient = Number(coefficients[tier]!)
      if (coefficient === 0) continue
      const base = Number(balance - entry + constants.deductions[tier]!)
      const price = -base / (size * coefficient)
      if (!Number.isFinite(price) || price < 1) continue
      if (size * price >= Number(constants.thresholds[tier]!))
        return BigInt(Math.min(MAX_PRICE_TICKS, Math.max(1, Math.floor(price))))
    }
    return 1n
  }

  private setBreached(account: number, breachedNow: boolean): void {
    const was = this.breachedFlag[account] === 1
    if (breachedNow === was) return
    this.breachedFlag[account] = breachedNow ? 1 : 0
    if (breachedNow) this.breachedAccounts.push(account)
    else this.breachedAccounts = this.breachedAccounts.filter((other) => other !== account)
  }

  private sortTriggers(): void {
    const book = this.book
    const lowerCounts = new Int32Array(book.marketIds.length)
    const upperCounts = new Int32Array(book.marketIds.length)
    const slots = book.count * book.positionsPerAccount
    for (let slot = 0; slot < slots; slot++) {
      const market = book.slotMarket[slot]!
      if (market < 0) continue
      if (this.slotLower[slot] !== NONE) lowerCounts[market]! += 1
      if (this.slotUpper[slot] !== NONE) upperCounts[market]! += 1
    }
    const sorted: SortedTriggers[] = book.marketIds.map((_, market) => ({
      lower: new BigUint64Array(lowerCounts[market]),
      upper: new BigUint64Array(upperCounts[market]),
    }))
    lowerCounts.fill(0)
    upperCounts.fill(0)
    for (let slot = 0; slot < slots; slot++) {
      const market = book.slotMarket[slot]!
      if (market < 0) continue
      const account = BigInt(Math.floor(slot / book.positionsPerAccount))
      const target = sorted[market]!
      const lower = this.slotLower[slot]!
      if (lower !== NONE)
        target.lower[lowerCounts[market]!++] = (BigInt(lower) << ACCOUNT_BITS) | account
      const upper = this.slotUpper[slot]!
      if (upper !== NONE)
        target.upper[upperCounts[market]!++] = (BigInt(upper) << ACCOUNT_BITS) | account
    }
    for (const target of sorted) {
      target.lower.sort()
      target.upper.sort()
    }
    this.sorted = sorted
    for (const account of this.changedAccounts) this.changedFlag[account] = 0
    this.changedAccounts = []
  }
}

/** First index whose value is ≥ key (array ascending). */
function lowerBound(values: BigUint64Array, key: bigint): number {
  let low = 0
  let high = values.length
  while (low < high) {
    const middle = (low + high) >>> 1
    if (values[middle]! < key) low = middle + 1
    else high = middle
  }
  return low
}

/**
 * Largest x in [low, high] with predicate(x) true, for a predicate true on [low, t] and false after
 * (predicate(low) must be true). Starts from `guess` and gallops, so a good guess costs a few calls.
 */
function searchLast(
  low: bigint,
  high: bigint,
  predicate: (x: bigint) => boolean,
  guess: bigint,
): bigint {
  let good = low
  let bad = high + 1n
  let probe = guess < low ? low : guess > high ? high : guess
  let step = 1n
  if (predicate(probe)) {
    good = probe
    while (good < high) {
      probe = good + step > high ? high : good + step
      if (!predicate(probe)) {
        bad = probe
        break
      }
      good = probe
      step *= 2n
    }
    if (good === high) return high
  } else {
    bad = probe
    while (bad > low) {
      probe = bad - step < low ? low : bad - step
      if (predicate(probe)) {
        good = probe
        break
      }
      bad = probe
      step *= 2n
    }
  }
  while (bad - good > 1n) {
    const middle = good + divideRounded(bad - good, 2n, 'floor')
    if (predicate(middle)) good = middle
    else bad = middle
  }
  return good
}
