/**
 * The risk book: every account's cross margin in one settlement asset, stored column-wise in typed
 * arrays so that a full scan allocates no objects (docs/spec/riskbook.md, RBK-*).
 *
 * Exact path: for account balance B and positions i (lots q_i, entry value e_i, price P ticks),
 * with a_i = q_i × P and tier j of |a_i|, the margin slack is
 *   slack = equity − maintenance = B + Σ ( |a_i| × k_j^side + C_j − e_i )
 * where k_j^long = L − M_j, k_j^short = −L − M_j (L = value per value unit, M_j = rate_j × L, C_j the
 * deduction, all whole numbers of μ). The account is breached when slack < 0, as in the engine.
 *
 * Screen: the same sum in float64 with its magnitude S = |B| + Σ (|a_i| (L + M_j) + C_j + |e_i|).
 * |float − exact| ≤ 2^-40 × S (proof in docs/spec/riskbook.md, RBK-010), so the float decides only
 * when it is farther than that from 0; otherwise the exact sum decides. The answer is always exact.
 */
import { isPortfolioMargined } from '../margin/portfolio-margin.ts'
import { assert } from '../assert.ts'
import { divideRounded, type Fixed, FIXED_DECIMALS } from '../num/fixed.ts'
import type { RuleSet } from '../rules/rule-set.ts'
import {
  coefficientsOf,
  type MarketSupportIssue,
  type MarketUnits,
  marketUnitsOf,
  requiredMoneyDecimals,
} from './market-units.ts'

/** Screen outcomes (RBK-010). */
export const SCREEN_SAFE = 0
export const SCREEN_BREACHED = 1
export const SCREEN_UNDECIDED = 2

/** Most positions an account may hold in a book; keeps the screen's error bound valid (RBK-010). */
export const MAX_POSITIONS_PER_ACCOUNT = 64

/** Largest price, in ticks, a book accepts (prices are exact float64 integers and fit the index keys). */
export const MAX_PRICE_TICKS = 2 ** 38 - 1

const INT64_MIN = -(2n ** 63n)
const INT64_MAX = 2n ** 63n - 1n
/** 2^-40: the screen's relative error bound (RBK-010). */
const SCREEN_BOUND_FACTOR = 2 ** -40

/** Stable codes for inputs the book refuses. */
export type RiskBookIssueCode =
  | 'unknown_market'
  | 'unknown_account'
  | 'not_on_lot'
  | 'not_on_tick'
  | 'not_in_money_unit'
  | 'out_of_range'
  | 'too_many_positions'
  | 'price_missing'
  | 'bad_option'

/** A refused input. */
export interface RiskBookIssue {
  readonly code: RiskBookIssueCode
  readonly message: string
}

export type RiskBookResult<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly issue: RiskBookIssue }

function refuse<T>(code: RiskBookIssueCode, message: string): RiskBookResult<T> {
  return { ok: false, issue: { code, message } }
}

export interface RiskBookOptions {
  /** Position slots per account (1..MAX_POSITIONS_PER_ACCOUNT); default 4. */
  readonly positionsPerAccount?: number
  /** Accounts to allocate room for up front; the book grows when more are added. Default 1024. */
  readonly initialCapacity?: number
  /** Decimals of the money unit μ; default the least the markets need. At most 18. */
  readonly moneyDecimals?: number
}

/** A market the book could not take, and why (it is evaluated by the core instead). */
export interface UnsupportedMarket {
  readonly market: string
  readonly code: MarketSupportIssue
}

/** Exact equity and maintenance margin of one account, in the settlement asset. */
export interface RiskBookEvaluation {
  readonly equity: Fixed
  readonly maintenanceMargin: Fixed
}

/** Told when an account's inputs change, so indexes can refresh it. */
export interface RiskBookObserver {
  accountChanged(account: number): void
}

/** Per-market constants, exact and float. */
interface BookMarket {
  readonly units: MarketUnits
  readonly valuePerUnit: bigint
  readonly thresholds: readonly bigint[]
  readonly longCoefficients: readonly bigint[]
  readonly shortCoefficients: readonly bigint[]
  readonly maintenancePerUnit: readonly bigint[]
  readonly deductions: readonly bigint[]
  readonly thresholdsFloat: Float64Array
  readonly longCoefficientsFloat: Float64Array
  readonly shortCoefficientsFloat: Float64Array
  readonly magnitudeCoefficientsFloat: Float64Array
  readonly deductionsFloat: Float64Array
  /** L + max_j M_j: the most the slack changes per value unit (RBK-020). */
  readonly sensitivityPerUnit: bigint
}

/** Columnar cross-margin book for one settlement asset. Accounts are dense indexes 0..count−1. */
export class RiskBook {
  readonly settlementAsset: string
  readonly moneyDecimals: number
  readonly positionsPerAccount: number
  readonly marketIds: readonly string[]
  readonly unsupportedMarkets: readonly UnsupportedMarket[]
  /** Number of accounts. */
  count = 0
  private capacity: number
  private readonly markets: BookMarket[]
  private readonly marketIndexById: Map<string, number>
  private readonly moneyScale: bigint
  /** Per market: price in ticks (exact and float); 0 until set. */
  readonly priceTicks: bigint[]
  readonly priceTicksFloat: Float64Array
  // Columns. Slot s = account × positionsPerAccount + k; market −1 marks an empty slot (slots fill from k = 0).
  balance: BigInt64Array
  balanceFloat: Float64Array
  slotMarket: Int32Array
  slotLots: BigInt64Array
  slotLotsFloat: Float64Array
  slotEntry: BigInt64Array
  slotEntryFloat: Float64Array
  private readonly observers: RiskBookObserver[] = []

  private constructor(
    rules: RuleSet,
    settlementAsset: string,
    options: RiskBookOptions,
    supported: MarketUnits[],
    unsupported: UnsupportedMarket[],
    moneyDecimals: number,
  ) {
    this.settlementAsset = settlementAsset
    this.moneyDecimals = moneyDecimals
    this.moneyScale = 10n ** BigInt(FIXED_DECIMALS - moneyDecimals)
    this.positionsPerAccount = options.positionsPerAccount ?? 4
    this.unsupportedMarkets = unsupported
    this.marketIds = supported.map((units) => units.market)
    this.marketIndexById = new Map(this.marketIds.map((market, index) => [market, index]))
    this.markets = supported.map((units) => buildMarket(units, moneyDecimals))
    this.priceTicks = supported.map(() => 0n)
    this.priceTicksFloat = new Float64Array(supported.length)
    this.capacity = Math.max(1, options.initialCapacity ?? 1024)
    const slots = this.capacity * this.positionsPerAccount
    this.balance = new BigInt64Array(this.capacity)
    this.balanceFloat = new Float64Array(this.capacity)
    this.slotMarket = new Int32Array(slots).fill(-1)
    this.slotLots = new BigInt64Array(slots)
    this.slotLotsFloat = new Float64Array(slots)
    this.slotEntry = new BigInt64Array(slots)
    this.slotEntryFloat = new Float64Array(slots)
    void rules
  }

  /**
   * A book for the markets of `rules` that settle in `settlementAsset`. Markets the fast path
   * cannot take are listed in `unsupportedMarkets` (RBK-001).
   */
  static create(
    rules: RuleSet,
    settlementAsset: string,
    options: RiskBookOptions = {},
  ): RiskBookResult<RiskBook> {
    const slots = options.positionsPerAccount ?? 4
    if (!Number.isInteger(slots) || slots < 1 || slots > MAX_POSITIONS_PER_ACCOUNT) {
      return refuse(
        'bad_option',
        `positionsPerAccount must be a whole number in 1..${MAX_POSITIONS_PER_ACCOUNT}`,
      )
    }
    const supported: MarketUnits[] = []
    const unsupported: UnsupportedMarket[] = []
    for (const market of rules.markets.values()) {
      if (market.instrument.settlementAsset !== settlementAsset) continue
      if (isPortfolioMargined(rules.portfolioMargin, market.instrument.market)) {
        unsupported.push({ market: market.instrument.market, code: 'portfolio_margined' })
        continue
      }
      const outcome = marketUnitsOf(market, rules.liquidationPrice.closeFeeRate)
      if (outcome.ok) supported.push(outcome.units)
      else unsupported.push({ market: market.instrument.market, code: outcome.code })
    }
    const needed = requiredMoneyDecimals(supported)
    const moneyDecimals = options.moneyDecimals ?? needed
    if (
      !Number.isInteger(moneyDecimals) ||
      moneyDecimals < needed ||
      moneyDecimals > FIXED_DECIMALS
    ) {
      return refuse(
        'bad_option',
        `moneyDecimals must be a whole number in ${needed}..${FIXED_DECIMALS} for these markets`,
      )
    }
    return {
      ok: true,
      value: new RiskBook(rules, settlementAsset, options, supported, unsupported, moneyDecimals),
    }
  }

  /** Registers an index to be told about account changes. */
  observe(observer: RiskBookObserver): void {
    this.observers.push(observer)
  }

  /** Index of a market in this book, or −1. */
  marketIndex(market: string): number {
    return this.marketIndexById.get(market) ?? -1
  }

  /** Sets a market's price (must be on the tick grid). */
  setPrice(market: string, price: Fixed): RiskBookResult<number> {
    const index = this.marketIndex(market)
    const found = this.markets[index]
    if (found === undefined) return refuse('unknown_market', `market ${market} is not in this book`)
    if (price <= 0n || price % found.units.tickSize !== 0n)
      return refuse(
        'not_on_tick',
        `price ${price} is not a positive multiple of the tick size of ${market}`,
      )
    const ticks = divideRounded(price, found.units.tickSize, 'exact')
    if (ticks > BigInt(MAX_PRICE_TICKS))
      return refuse('out_of_range', `price of ${market} exceeds ${MAX_PRICE_TICKS} ticks`)
    this.setPriceTicks(index, Number(ticks))
    return { ok: true, value: index }
  }

  /** Sets a market's price in ticks (1..MAX_PRICE_TICKS); the hot-path form of setPrice. */
  setPriceTicks(marketIndex: number, ticks: number): void {
    assert(
      Number.isInteger(ticks) && ticks >= 1 && ticks <= MAX_PRICE_TICKS,
      `Invariant: a price is a whole number of ticks in 1..${MAX_PRICE_TICKS} (RBK-002, ticks=${ticks})`,
    )
    assert(
      marketIndex >= 0 && marketIndex < this.markets.length,
      `Invariant: the market is in the book (RBK-002, market=${marketIndex})`,
    )
    this.priceTicks[marketIndex] = BigInt(ticks)
    this.priceTicksFloat[marketIndex] = ticks
  }

  /** Price of a market, in ticks (0 when not set). */
  priceTicksOf(marketIndex: number): number {
    return this.priceTicksFloat[marketIndex] ?? 0
  }

  /** Adds an account with a wallet balance and no positions; returns its index. */
  addAccount(balance: Fixed): RiskBookResult<number> {
    const money = this.toMoney(balance, 'balance')
    if (!money.ok) return money
    if (this.count === this.capacity) this.grow()
    const account = this.count
    this.count += 1
    this.balance[account] = money.value
    this.balanceFloat[account] = Number(money.value)
    return { ok: true, value: account }
  }

  /** Replaces an account's wallet balance. */
  setBalance(account: number, balance: Fixed): RiskBookResult<number> {
    if (!this.hasAccount(account))
      return refuse('unknown_account', `account ${account} is not in this book`)
    const money = this.toMoney(balance, 'balance')
    if (!money.ok) return money
    this.balance[account] = money.value
    this.balanceFloat[account] = Number(money.value)
    this.changed(account)
    return { ok: true, value: account }
  }

  /**
   * Sets the account's position in `market` to `size` contracts with signed `entryValue` (same sign
   * as size); size 0 removes it. Size must be on the lot grid, entry value a whole number of μ.
   */
  setPosition(
    account: number,
    market: string,
    size: Fixed,
    entryValue: Fixed,
  ): RiskBookResult<number> {
    if (!this.hasAccount(account))
      return refuse('unknown_account', `account ${account} is not in this book`)
    const marketIndex = this.marketIndex(market)
    const found = this.markets[marketIndex]
    if (found === undefined) return refuse('unknown_market', `market ${market} is not in this book`)
    if (size % found.units.lotSize !== 0n)
      return refuse('not_on_lot', `size ${size} is not a multiple of the lot size of ${market}`)
    const lots = divideRounded(size, found.units.lotSize, 'exact')
    if (lots < INT64_MIN || lots > INT64_MAX)
      return refuse('out_of_range', `size of ${market} exceeds the int64 range in lots`)
    const entry = this.toMoney(entryValue, 'entry value')
    if (!entry.ok) return entry
    const first = account * this.positionsPerAccount
    const end = first + this.positionsPerAccount
    let slot = first
    while (slot < end && this.slotMarket[slot] !== -1 && this.slotMarket[slot] !== marketIndex)
      slot++
    if (lots === 0n) {
      if (slot < end && this.slotMarket[slot] === marketIndex) this.removeSlot(slot, end)
      this.changed(account)
      return { ok: true, value: account }
    }
    if (slot === end)
      return refuse(
        'too_many_positions',
        `account ${account} already holds ${this.positionsPerAccount} positions`,
      )
    this.slotMarket[slot] = marketIndex
    this.slotLots[slot] = lots
    this.slotLotsFloat[slot] = Number(lots)
    this.slotEntry[slot] = entry.value
    this.slotEntryFloat[slot] = Number(entry.value)
    this.changed(account)
    return { ok: true, value: account }
  }

  /** Number of positions an account holds. */
  positionCount(account: number): number {
    const first = account * this.positionsPerAccount
    let slot = first
    const end = first + this.positionsPerAccount
    while (slot < end && this.slotMarket[slot] !== -1) slot++
    return slot - first
  }

  /** Exact margin slack (equity − maintenance margin) in μ (RBK-003). Every market price must be set. */
  marginSlack(account: number): bigint {
    let slack = this.balance[account] ?? 0n
    const first = account * this.positionsPerAccount
    const end = first + this.positionsPerAccount
    for (let slot = first; slot < end; slot++) {
      const marketIndex = this.slotMarket[slot] ?? -1
      if (marketIndex < 0) break
      const market = this.markets[marketIndex]!
      const value = (this.slotLots[slot] ?? 0n) * (this.priceTicks[marketIndex] ?? 0n)
      const magnitude = value < 0n ? -value : value
      const thresholds = market.thresholds
      let tier = 0
      while (tier + 1 < thresholds.length && magnitude >= thresholds[tier + 1]!) tier++
      const coefficient =
        value < 0n ? market.shortCoefficients[tier]! : market.longCoefficients[tier]!
      slack += magnitude * coefficient + market.deductions[tier]! - (this.slotEntry[slot] ?? 0n)
    }
    return slack
  }

  /** Exact: the account holds a position and its equity is below its maintenance requirement (RBK-003, MRG-014). */
  isBreachedExact(account: number): boolean {
    return (
      this.slotMarket[account * this.positionsPerAccount] !== -1 && this.marginSlack(account) < 0n
    )
  }

  /**
   * Float screen (RBK-010): SCREEN_SAFE or SCREEN_BREACHED when the float slack is farther from 0
   * than its proven error bound, SCREEN_UNDECIDED otherwise.
   */
  screen(account: number): number {
    if (this.slotMarket[account * this.positionsPerAccount] === -1) return SCREEN_SAFE
    const balance = this.balanceFloat[account]!
    let slack = balance
    let magnitude = Math.abs(balance)
    const first = account * this.positionsPerAccount
    const end = first + this.positionsPerAccount
    for (let slot = first; slot < end; slot++) {
      const marketIndex = this.slotMarket[slot]!
      if (marketIndex < 0) break
      const market = this.markets[marketIndex]!
      const value = this.slotLotsFloat[slot]! * this.priceTicksFloat[marketIndex]!
      const size = Math.abs(value)
      const thresholds = market.thresholdsFloat
      let tier = 0
      while (tier + 1 < thresholds.length && size >= thresholds[tier + 1]!) tier++
      const entry = this.slotEntryFloat[slot]!
      const deduction = market.deductionsFloat[tier]!
      slack +=
        size *
          (value < 0 ? market.shortCoefficientsFloat[tier]! : market.longCoefficientsFloat[tier]!) +
        deduction -
        entry
      magnitude += size * market.magnitudeCoefficientsFloat[tier]! + deduction + Math.abs(entry)
    }
    const bound = magnitude * SCREEN_BOUND_FACTOR
    if (slack > bound) return SCREEN_SAFE
    if (slack < -bound) return SCREEN_BREACHED
    return SCREEN_UNDECIDED
  }

  /** Exact answer through the screen: the float decides when it can, the exact slack otherwise (RBK-011). */
  isBreached(account: number): boolean {
    const screened = this.screen(account)
    if (screened === SCREEN_UNDECIDED) return this.isBreachedExact(account)
    return screened === SCREEN_BREACHED
  }

  /**
   * Classifies every account through the screen: out[account] = 1 when breached, 0 otherwise.
   * Returns the number breached and the number the screen left to the exact path.
   */
  classifyAll(out: Uint8Array): { breached: number; confirmedExactly: number } {
    assert(out.length >= this.count, 'Invariant: the output holds one entry per account (RBK-011)')
    // The screen of `screen()`, inlined with the columns in locals (same arithmetic, same order).
    const balances = this.balanceFloat
    const slotMarket = this.slotMarket
    const slotLots = this.slotLotsFloat
    const slotEntry = this.slotEntryFloat
    const prices = this.priceTicksFloat
    const markets = this.markets
    const width = this.positionsPerAccount
    const count = this.count
    let breached = 0
    let confirmedExactly = 0
    for (let account = 0; account < count; account++) {
      const first = account * width
      if (slotMarket[first]! < 0) {
        out[account] = 0
        continue
      }
      const balance = balances[account]!
      let slack = balance
      let magnitude = Math.abs(balance)
      const end = first + width
      for (let slot = first; slot < end; slot++) {
        const marketIndex = slotMarket[slot]!
        if (marketIndex < 0) break
        const market = markets[marketIndex]!
        const value = slotLots[slot]! * prices[marketIndex]!
        const size = Math.abs(value)
        const thresholds = market.thresholdsFloat
        let tier = 0
        while (tier + 1 < thresholds.length && size >= thresholds[tier + 1]!) tier++
        const entry = slotEntry[slot]!
        const deduction = market.deductionsFloat[tier]!
        slack +=
          size *
            (value < 0
              ? market.shortCoefficientsFloat[tier]!
              : market.longCoefficientsFloat[tier]!) +
          deduction -
          entry
        magnitude += size * market.magnitudeCoefficientsFloat[tier]! + deduction + Math.abs(entry)
      }
      const bound = magnitude * SCREEN_BOUND_FACTOR
      let flag: number
      if (slack > bound) flag = 0
      else if (slack < -bound) flag = 1
      else {
        confirmedExactly++
        flag = this.marginSlack(account) < 0n ? 1 : 0
      }
      out[account] = flag
      breached += flag
    }
    return { breached, confirmedExactly }
  }

  /** Classifies every account with the exact slack only; out[account] = 1 when breached. Returns the number breached. */
  classifyAllExact(out: Uint8Array): number {
    assert(out.length >= this.count, 'Invariant: the output holds one entry per account (RBK-003)')
    let breached = 0
    for (let account = 0; account < this.count; account++) {
      const flag = this.isBreachedExact(account) ? 1 : 0
      out[account] = flag
      breached += flag
    }
    return breached
  }

  /** Exact equity and maintenance margin of an account, as Fixed (RBK-004: equal to the core's evaluation). */
  evaluate(account: number): RiskBookEvaluation {
    let equity = this.balance[account] ?? 0n
    let maintenance = 0n
    const first = account * this.positionsPerAccount
    const end = first + this.positionsPerAccount
    for (let slot = first; slot < end; slot++) {
      const marketIndex = this.slotMarket[slot] ?? -1
      if (marketIndex < 0) break
      const market = this.markets[marketIndex]!
      const value = (this.slotLots[slot] ?? 0n) * (this.priceTicks[marketIndex] ?? 0n)
      const magnitude = value < 0n ? -value : value
      const tier = tierOf(market.thresholds, magnitude)
      equity += value * market.valuePerUnit - (this.slotEntry[slot] ?? 0n)
      maintenance += magnitude * market.maintenancePerUnit[tier]! - market.deductions[tier]!
    }
    return {
      equity: (equity * this.moneyScale) as Fixed,
      maintenanceMargin: (maintenance * this.moneyScale) as Fixed,
    }
  }

  /** Whether every market holding a position has a price. */
  pricesComplete(): boolean {
    return this.priceTicks.every((ticks) => ticks > 0n)
  }

  /** Slack of an account with one position in `marketIndex`, at price `ticks` (RBK-020). */
  singlePositionSlack(
    balance: bigint,
    lots: bigint,
    entry: bigint,
    marketIndex: number,
    ticks: bigint,
  ): bigint {
    const market = this.markets[marketIndex]!
    const value = lots * ticks
    const magnitude = value < 0n ? -value : value
    const tier = tierOf(market.thresholds, magnitude)
    const coefficient =
      value < 0n ? market.shortCoefficients[tier]! : market.longCoefficients[tier]!
    return balance + magnitude * coefficient + market.deductions[tier]! - entry
  }

  /** Constants the liquidation index needs (RBK-020). */
  marketConstants(marketIndex: number): {
    readonly thresholds: readonly bigint[]
    readonly longCoefficients: readonly bigint[]
    readonly shortCoefficients: readonly bigint[]
    readonly deductions: readonly bigint[]
    readonly sensitivityPerUnit: bigint
  } {
    const market = this.markets[marketIndex]
    assert(
      market !== undefined,
      `Invariant: the market is in the book (RBK-020, market=${marketIndex})`,
    )
    return market
  }

  /** Money in μ as a Fixed. */
  toFixed(money: bigint): Fixed {
    return (money * this.moneyScale) as Fixed
  }

  private toMoney(amount: Fixed, what: string): RiskBookResult<bigint> {
    if (amount % this.moneyScale !== 0n) {
      return refuse(
        'not_in_money_unit',
        `${what} ${amount} has more than ${this.moneyDecimals} decimals`,
      )
    }
    const money = divideRounded(amount, this.moneyScale, 'exact')
    if (money < INT64_MIN || money > INT64_MAX)
      return refuse('out_of_range', `${what} exceeds the int64 range in money units`)
    return { ok: true, value: money }
  }

  private hasAccount(account: number): boolean {
    return Number.isInteger(account) && account >= 0 && account < this.count
  }

  private removeSlot(slot: number, end: number): void {
    for (let next = slot; next + 1 < end; next++) {
      this.slotMarket[next] = this.slotMarket[next + 1]!
      this.slotLots[next] = this.slotLots[next + 1]!
      this.slotLotsFloat[next] = this.slotLotsFloat[next + 1]!
      this.slotEntry[next] = this.slotEntry[next + 1]!
      this.slotEntryFloat[next] = this.slotEntryFloat[next + 1]!
    }
    this.slotMarket[end - 1] = -1
    this.slotLots[end - 1] = 0n
    this.slotLotsFloat[end - 1] = 0
    this.slotEntry[end - 1] = 0n
    this.slotEntryFloat[end - 1] = 0
  }

  private changed(account: number): void {
    for (const observer of this.observers) observer.accountChanged(account)
  }

  private grow(): void {
    const capacity = this.capacity * 2
    const slots = capacity * this.positionsPerAccount
    this.balance = copyInto(new BigInt64Array(capacity), this.balance)
    this.balanceFloat = copyInto(new Float64Array(capacity), this.balanceFloat)
    const market = new Int32Array(slots).fill(-1)
    market.set(this.slotMarket)
    this.slotMarket = market
    this.slotLots = copyInto(new BigInt64Array(slots), this.slotLots)
    this.slotLotsFloat = copyInto(new Float64Array(slots), this.slotLotsFloat)
    this.slotEntry = copyInto(new BigInt64Array(slots), this.slotEntry)
    this.slotEntryFloat = copyInto(new Float64Array(slots), this.slotEntryFloat)
    this.capacity = capacity
  }
}

function copyInto<T extends BigInt64Array | Float64Array>(target: T, source: T): T {
  if (target instanceof BigInt64Array && source instanceof BigInt64Array) target.set(source)
  else if (target instanceof Float64Array && source instanceof Float64Array) target.set(source)
  return target
}

function tierOf(thresholds: readonly bigint[], magnitude: bigint): number {
  let tier = 0
  while (tier + 1 < thresholds.length && magnitude >= thresholds[tier + 1]!) tier++
  return tier
}

function buildMarket(units: MarketUnits, moneyDecimals: number): BookMarket {
  const coefficients = coefficientsOf(units, moneyDecimals)
  const L = coefficients.valuePerUnit
  const longCoefficients = coefficients.maintenancePerUnit.map((perUnit) => L - perUnit)
  const shortCoefficients = coefficients.maintenancePerUnit.map((perUnit) => -L - perUnit)
  const maxMaintenance = coefficients.maintenancePerUnit.reduce((a, b) => (a > b ? a : b), 0n)
  return {
    units,
    valuePerUnit: L,
    thresholds: coefficients.thresholds,
    longCoefficients,
    shortCoefficients,
    maintenancePerUnit: coefficients.maintenancePerUnit,
    deductions: coefficients.deductions,
    thresholdsFloat: Float64Array.from(coefficients.thresholds, Number),
    longCoefficientsFloat: Float64Array.from(longCoefficients, Number),
    shortCoefficientsFloat: Float64Array.from(shortCoefficients, Number),
    magnitudeCoefficientsFloat: Float64Array.from(coefficients.maintenancePerUnit, (perUnit) =>
      Number(L + perUnit),
    ),
    deductionsFloat: Float64Array.from(coefficients.deductions, Number),
    sensitivityPerUnit: L + maxMaintenance,
  }
}
