/**
 * The mark screen (docs/spec/engine.md, ENG-014): which holders of a market a new mark may have put
 * below maintenance, without evaluating every holder.
 *
 * After an account is evaluated at mark P0 and found not below maintenance, it gets a safe
 * interval [P0 − r, P0 + r] of marks at which it provably stays at or above maintenance, as long as
 * the account and the rule set do not change. A mark evaluates only the accounts whose interval does
 * not contain it, plus those without one (touched since, below maintenance, or not eligible), so a
 * mark costs O(accounts near their trigger · log accounts), not O(holders).
 *
 * The bound, for an account whose only position is a linear one in the market: its equity moves by
 * exactly q × ΔP (q = size × contract size: linear values are exact) and its requirement
 * (value × rate − deduction, rounded up, plus value × close fee rate, rounded up) by at most
 * |q| × (rate + closeFeeRate) × |ΔP| plus one unit of rounding each, while the rate stays the same.
 * So headroom(P) ≥ headroom(P0) − |q| × (1 + rate + closeFeeRate) × |ΔP| − 2 units, and
 * r = (headroom(P0) − 4 units) ÷ (|q| × (1 + rate + closeFeeRate)), rounded down, keeps it ≥ 0.
 * The rate stays the same on the interval when the tier at both ends is the tier at P0 (the tier
 * is monotone in the position value). Other accounts (several positions, inverse markets,
 * open-interest or value-scaled rates, portfolio-margined markets) are evaluated on every mark.
 */
import type { AccountMargin, SettlementGroupMargin } from '../margin/evaluate.ts'
import { isPortfolioMargined } from '../margin/portfolio-margin.ts'
import { marginRatesForValue } from '../margin/rates.ts'
import type { Account } from '../model/account.ts'
import { quotingOf } from '../model/instrument.ts'
import { abs, add, div, divideRounded, type Fixed, mul, mul3, ONE, sub } from '../num/fixed.ts'
import type { MarketRules, RuleSet } from '../rules/rule-set.ts'

/** Slack for the rounding of the requirement at P0 and at P (units of 10^-18). */
const ROUNDING_SLACK = 4n as Fixed

interface Bound {
  readonly key: Fixed
  readonly account: string
  readonly version: number
}

/** A binary heap of bounds; `before(a, b)`: a comes out first. */
class BoundHeap {
  readonly items: Bound[] = []
  constructor(private readonly before: (a: Fixed, b: Fixed) => boolean) {}

  push(bound: Bound): void {
    const items = this.items
    items.push(bound)
    let at = items.length - 1
    while (at > 0) {
      const parent = (at - 1) >>> 1
      const up = items[parent]
      if (up === undefined || !this.before(bound.key, up.key)) break
      items[at] = up
      at = parent
    }
    items[at] = bound
  }

  peek(): Bound | undefined {
    return this.items[0]
  }

  pop(): Bound | undefined {
    const items = this.items
    const top = items[0]
    const last = items.pop()
    if (top === undefined || last === undefined || items.length === 0) return top
    let at = 0
    for (;;) {
      const left = 2 * at + 1
      if (left >= items.length) break
      const right = left + 1
      const leftItem = items[left]
      const rightItem = items[right]
      let child = left
      let childItem = leftItem
      if (
        rightItem !== undefined &&
        leftItem !== undefined &&
        this.before(rightItem.key, leftItem.key)
      ) {
        child = right
        childItem = rightItem
      }
      if (childItem === undefined || !this.before(childItem.key, last.key)) break
      items[at] = childItem
      at = child
    }
    items[at] = last
    return top
  }
}

/** The screen of one market under one rule set. */
export interface MarkScreen {
  readonly rules: RuleSet
  /** Live safe interval per account: its version (bounds of other versions are stale). */
  readonly live: Map<
    string,
    { readonly version: number; readonly low: Fixed; readonly high: Fixed }
  >
  /** Holders evaluated on every mark: no live interval. */
  readonly unscreened: Set<string>
  /** Lower ends, highest first: a mark below one leaves that interval. */
  readonly lows: BoundHeap
  /** Upper ends, lowest first: a mark above one leaves that interval. */
  readonly highs: BoundHeap
  nextVersion: number
}

/** A screen where every current holder is unscreened. */
export function createMarkScreen(rules: RuleSet, holders: Iterable<string>): MarkScreen {
  return {
    rules,
    live: new Map(),
    unscreened: new Set(holders),
    lows: new BoundHeap((a, b) => a > b),
    highs: new BoundHeap((a, b) => a < b),
    nextVersion: 1,
  }
}

/** The account changed (or stopped holding): its interval no longer holds. */
export function invalidateHolder(screen: MarkScreen, account: string, holds: boolean): void {
  screen.live.delete(account)
  if (holds) screen.unscreened.add(account)
  else screen.unscreened.delete(account)
}

/**
 * The holders whose interval does not contain `mark`, plus the unscreened ones, in id order.
 * Their intervals are dropped: the caller evaluates them and calls `screenEvaluated`.
 */
export function holdersToEvaluate(screen: MarkScreen, mark: Fixed): string[] {
  const out = new Set(screen.unscreened)
  const take = (heap: BoundHeap, outside: (key: Fixed) => boolean): void => {
    for (let top = heap.peek(); top !== undefined && outside(top.key); top = heap.peek()) {
      heap.pop()
      const live = screen.live.get(top.account)
      if (live?.version !== top.version) continue
      screen.live.delete(top.account)
      screen.unscreened.add(top.account)
      out.add(top.account)
    }
  }
  take(screen.lows, (low) => low > mark)
  take(screen.highs, (high) => high < mark)
  compact(screen)
  return [...out].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
}

/** Drops stale bounds once they outnumber the live ones. */
function compact(screen: MarkScreen): void {
  const stale = screen.lows.items.length + screen.highs.items.length - 2 * screen.live.size
  if (stale <= 2 * screen.live.size + 1024) return
  for (const heap of [screen.lows, screen.highs]) {
    const kept = heap.items.filter(
      (bound) => screen.live.get(bound.account)?.version === bound.version,
    )
    heap.items.length = 0
    for (const bound of kept) heap.push(bound)
  }
}

/**
 * Records the evaluation of `account` at `mark` (`figures`: its `evaluateAccountMargin` at the
 * marks of the command): an interval when it is eligible and at or above maintenance with room to
 * spare, else it stays unscreened.
 */
export function screenEvaluated(
  screen: MarkScreen,
  market: MarketRules,
  account: Account,
  mark: Fixed,
  figures: AccountMargin,
): void {
  const radius = safeRadius(screen.rules, market, account, mark, figures)
  if (radius === null) return
  const version = screen.nextVersion
  screen.nextVersion += 1
  const low = sub(mark, radius)
  const high = add(mark, radius)
  screen.live.set(account.id, { version, low, high })
  screen.unscreened.delete(account.id)
  screen.lows.push({ key: low, account: account.id, version })
  screen.highs.push({ key: high, account: account.id, version })
}

/** Whether a market's rates can be bounded by the screen (tier fixed by monotone lookups). */
function eligibleMarket(rules: RuleSet, market: MarketRules): boolean {
  if (quotingOf(market.instrument.kind) !== 'linear') return false
  // A portfolio requirement is not value × rate: the bound does not hold (PFM-045).
  if (isPortfolioMargined(rules.portfolioMargin, market.instrument.market)) return false
  const model = market.margin
  switch (model.kind) {
    case 'tiered':
      // Tier lookups are monotone when the caps ascend (the last may be open).
      return model.tiers.every((tier, index) => {
        const next = model.tiers[index + 1]
        if (next === undefined) return true
        return tier.cap !== null && (next.cap === null || tier.cap < next.cap)
      })
    case 'risk_limit_steps':
      return true
    case 'linear_in_size':
      return (
        model.basis !== 'value' || rules.liquidationPrice.maintenanceValuation === 'at_entry_price'
      )
    case 'open_interest_scaled':
      return false
  }
}

/** The safe radius around `mark`, or `null` when the account is not screened. */
function safeRadius(
  rules: RuleSet,
  market: MarketRules,
  account: Account,
  mark: Fixed,
  figures: AccountMargin,
): Fixed | null {
  if (account.positions.size !== 1 || !eligibleMarket(rules, market)) return null
  const position = account.positions.get(market.instrument.market)
  if (position === undefined) return null
  let group: SettlementGroupMargin | undefined
  for (const each of figures.groups)
    if (each.asset === market.instrument.settlementAsset) group = each
  const risk = group?.positions[0]
  if (group === undefined || risk === undefined) return null
  const headroom =
    position.marginMode === 'cross'
      ? sub(group.crossEquity, group.crossMaintenanceMargin)
      : sub(add(position.isolatedMargin, risk.unrealizedPnl), risk.maintenanceRequirement)
  const room = sub(headroom, ROUNDING_SLACK)
  if (room <= 0n) return null
  const quantity = abs(mul(position.size, market.instrument.contractSize, 'exact'))
  const slope = mul(
    quantity,
    add(add(ONE, risk.maintenanceRate), rules.liquidationPrice.closeFeeRate),
    'ceil',
  )
  if (slope <= 0n) return null
  let radius = div(room, slope, 'floor')
  if (rules.liquidationPrice.maintenanceValuation === 'at_liquidation_price') {
    // The rate must be the same over the whole interval: the tier at both ends is the tier at P0.
    // Values are bracketed by rounding down at the low end and up at the high end.
    const sameRate = (price: Fixed, rounding: 'floor' | 'ceil'): boolean => {
      if (price <= 0n) return false
      const value = mul3(quantityOf(position.size), ONE, price, rounding)
      const rates = marginRatesForValue(market, position.size, value)
      return rates.tierIndex === risk.tierIndex && rates.maintenanceRate === risk.maintenanceRate
    }
    const quantityOf = (size: Fixed): Fixed =>
      abs(mul(size, market.instrument.contractSize, 'exact'))
    for (
      let tries = 0;
      radius > 0n && !(sameRate(sub(mark, radius), 'floor') && sameRate(add(mark, radius), 'ceil'));
      tries++
    ) {
      if (tries >= 12) return null
      radius = divideRounded(radius, 4n, 'floor') as Fixed
    }
  }
  return radius > 0n ? radius : null
}
