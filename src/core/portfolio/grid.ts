/**
 * Deribit-style scenario grid margin (docs/spec/portfolio-margin.md, PFM-020..PFM-025).
 *
 * Per product (one underlying, margined in its own settlement currency), every position is
 * revalued at each price move (e.g. −16 % … +16 %) combined with volatility up, unchanged and
 * down. Options are revalued with Black-76; the volatility shock depends on the option's days to
 * expiry: shock = base × (referenceDays ÷ DTE)^exponent (legacy Deribit: 38 % × (30 ÷ DTE)^0.30),
 * applied relatively: σ × (1 ± shock), never below 0. The maintenance margin is the worst loss
 * plus two contingencies:
 *   futures calendar: rate × min(Σ long futures, Σ short futures)  (offsetting futures of any expiries)
 *   net short options: rate × Σ over (expiry, strike) of the net short option amount
 * both measured in underlying units (inverse settlement) or their value (linear). IM = MM × multiplier.
 * With inverse settlement a P&L is in the base asset: amount × (V_s ÷ F_s − V_0 ÷ F_0).
 */
import { assert } from '../assert.ts'
import {
  abs,
  add,
  div,
  type Fixed,
  fixed,
  formatFixed,
  max,
  min,
  mul,
  neg,
  ONE,
  sub,
  sum,
  ZERO,
} from '../num/fixed.ts'
import { black76Value } from '../options/black76.ts'
import { realDiv, realOf, realPow, toFixed } from '../options/real-math.ts'
import type { OffsetItem, PortfolioInstrument, PortfolioPosition } from './span.ts'

/** Days-to-expiry volatility shock: base × (referenceDays ÷ max(DTE, minimumDays))^exponent. */
export interface VolatilityShockRule {
  readonly base: Fixed
  readonly referenceDays: Fixed
  readonly exponent: Fixed
  /** DTE below this is taken as this (keeps the shock finite at expiry). */
  readonly minimumDays: Fixed
}

/** The grid model's parameters. */
export interface GridRules {
  /** Products and their contract sizes (underlying units per contract). */
  readonly products: readonly { readonly id: string; readonly contractSize: Fixed }[]
  /** Relative price moves, e.g. −0.16, −0.12, …, 0.16. */
  readonly priceMoves: readonly Fixed[]
  readonly volatilityShock: VolatilityShockRule
  /** `inverse`: P&L and margin in the base asset (Deribit BTC); `linear`: in the quote asset. */
  readonly settlement: 'linear' | 'inverse'
  /** Rate on the smaller of the long and short futures amounts of a product. */
  readonly futuresCalendarContingency: Fixed
  /** Rate on each net short option amount per expiry and strike. */
  readonly netShortOptionContingency: Fixed
  /** IM = MM × this. */
  readonly initialMarginMultiplier: Fixed
}

/** One cell of the grid. */
export interface GridScenario {
  readonly priceMove: Fixed
  /** −1 vol down, 0 unchanged, +1 vol up. */
  readonly volatilityDirection: -1 | 0 | 1
  /** Loss of the product's positions (positive = loss). */
  readonly loss: Fixed
}

/** Grid margin of one product. */
export interface GridProductMargin {
  readonly product: string
  readonly scenarios: readonly GridScenario[]
  readonly worstLoss: Fixed
  readonly worstScenario: GridScenario | null
  readonly futuresCalendarContingency: Fixed
  readonly netShortOptionContingency: Fixed
  readonly maintenanceMargin: Fixed
  readonly initialMargin: Fixed
}

/** The grid margin of a portfolio, itemised against its legs. */
export interface GridMarginResult {
  readonly maintenanceMargin: Fixed
  readonly initialMargin: Fixed
  /** Σ of each position's maintenance margin when held alone. */
  readonly legsTotal: Fixed
  readonly reduction: Fixed
  readonly products: readonly GridProductMargin[]
  readonly offsets: readonly OffsetItem[]
}

const DAYS_PER_YEAR = 365n

/** shock = base × (referenceDays ÷ max(DTE, minimumDays))^exponent, rounded half-even (PFM-021). */
export function volatilityShock(rule: VolatilityShockRule, daysToExpiry: Fixed): Fixed {
  const days = max(daysToExpiry, rule.minimumDays)
  // Every option of an expiry in every account takes the same shock at one valuation time.
  const key = `${rule.base}|${rule.referenceDays}|${rule.exponent}|${days}`
  const known = recentShocks.get(key)
  if (known !== undefined) return known
  const ratio = realDiv(realOf(rule.referenceDays), realOf(days))
  const shock = mul(
    rule.base,
    toFixed(realPow(ratio, realOf(rule.exponent)), 'half_even'),
    'half_even',
  )
  if (recentShocks.size >= 10_000) recentShocks.clear()
  recentShocks.set(key, shock)
  return shock
}

/** Recent shocks by rule and days (a pure function of them, so the cache changes no outcome). */
const recentShocks = new Map<string, Fixed>()

function contractSizeOf(rules: GridRules, product: string): Fixed {
  const found = rules.products.find((each) => each.id === product)
  assert(
    found !== undefined,
    `Condition failed: an instrument's product is listed (PFM-020, product=${product})`,
  )
  return found.contractSize
}

/** Value per unit of the underlying after a relative price move and a volatility direction. */
function unitValue(
  rules: GridRules,
  instrument: PortfolioInstrument,
  priceMove: Fixed,
  direction: -1 | 0 | 1,
): { value: Fixed; forward: Fixed } {
  switch (instrument.kind) {
    case 'future': {
      const forward = add(instrument.price, mul(instrument.price, priceMove, 'half_even'))
      return { value: forward, forward }
    }
    case 'option': {
      const forward = max(
        ZERO,
        add(instrument.underlyingPrice, mul(instrument.underlyingPrice, priceMove, 'half_even')),
      )
      const days = mul(instrument.timeToExpiryYears, fixed(DAYS_PER_YEAR), 'half_even')
      const shock = direction === 0 ? ZERO : volatilityShock(rules.volatilityShock, days)
      const factor = direction === 1 ? add(ONE, shock) : sub(ONE, shock)
      const volatility = max(
        ZERO,
        mul(instrument.volatility, direction === 0 ? ONE : factor, 'half_even'),
      )
      const value = black76Value({
        right: instrument.right,
        forward,
        strike: instrument.strike,
        timeToExpiryYears: instrument.timeToExpiryYears,
        volatility,
        rate: instrument.rate,
      })
      return { value, forward }
    }
    case 'risk_array':
      assert(false, 'Condition failed: the grid model revalues futures and options only (PFM-020)')
  }
}

function positionLoss(
  rules: GridRules,
  instrument: PortfolioInstrument,
  size: Fixed,
  priceMove: Fixed,
  direction: -1 | 0 | 1,
): Fixed {
  const amount = mul(size, contractSizeOf(rules, instrument.product), 'exact')
  const before = unitValue(rules, instrument, ZERO, 0)
  const after = unitValue(rules, instrument, priceMove, direction)
  let perUnit: Fixed
  if (rules.settlement === 'linear') perUnit = sub(after.value, before.value)
  else if (instrument.kind === 'future')
    perUnit =
      after.forward === 0n
        ? neg(ONE)
        : div(sub(after.forward, before.forward), after.forward, 'floor')
  else {
    const valueAfter = after.forward === 0n ? ZERO : div(after.value, after.forward, 'half_even')
    perUnit = sub(valueAfter, div(before.value, before.forward, 'half_even'))
  }
  // A loss is the negative P&L, rounded against the account.
  return neg(mul(amount, perUnit, 'floor'))
}

interface Held {
  readonly instrument: PortfolioInstrument
  readonly size: Fixed
}

function productMargin(
  rules: GridRules,
  product: string,
  held: readonly Held[],
): GridProductMargin {
  const scenarios: GridScenario[] = []
  // Futures do not depend on volatility: without options the three cells of a move are equal.
  const volatilityMatters = held.some((each) => each.instrument.kind === 'option')
  for (const priceMove of rules.priceMoves) {
    let unshocked: Fixed | null = null
    for (const direction of [1, 0, -1] as const) {
      const loss: Fixed =
        !volatilityMatters && unshocked !== null
          ? unshocked
          : sum(
              held.map((each) =>
                positionLoss(rules, each.instrument, each.size, priceMove, direction),
              ),
            )
      unshocked = loss
      scenarios.push({ priceMove, volatilityDirection: direction, loss })
    }
  }
  let worst: GridScenario | null = null
  for (const scenario of scenarios) if (scenario.loss > (worst?.loss ?? ZERO)) worst = scenario
  const worstLoss = worst?.loss ?? ZERO
  const contractSize = contractSizeOf(rules, product)
  const measure = (amount: Fixed, price: Fixed): Fixed =>
    rules.settlement === 'inverse' ? amount : mul(amount, price, 'ceil')
  let longFutures = ZERO
  let shortFutures = ZERO
  const netByStrike = new Map<string, { amount: Fixed; price: Fixed }>()
  for (const { instrument, size } of held) {
    const amount = mul(size, contractSize, 'exact')
    if (instrument.kind === 'future') {
      const measured = measure(abs(amount), instrument.price)
      if (amount > 0n) longFutures = add(longFutures, measured)
      else shortFutures = add(shortFutures, measured)
    } else if (instrument.kind === 'option') {
      const key = `${instrument.tier}\u0000${formatFixed(instrument.strike)}`
      const entry = netByStrike.get(key) ?? { amount: ZERO, price: instrument.underlyingPrice }
      netByStrike.set(key, { amount: add(entry.amount, amount), price: entry.price })
    }
  }
  const futuresCalendarContingency = mul(
    min(longFutures, shortFutures),
    rules.futuresCalendarContingency,
    'ceil',
  )
  const netShort = sum(
    [...netByStrike.values()].map((entry) =>
      entry.amount < 0n ? measure(neg(entry.amount), entry.price) : ZERO,
    ),
  )
  const netShortOptionContingency = mul(netShort, rules.netShortOptionContingency, 'ceil')
  const maintenanceMargin = add(
    worstLoss,
    add(futuresCalendarContingency, netShortOptionContingency),
  )
  return {
    product,
    scenarios,
    worstLoss,
    worstScenario: worst,
    futuresCalendarContingency,
    netShortOptionContingency,
    maintenanceMargin,
    initialMargin: mul(maintenanceMargin, rules.initialMarginMultiplier, 'ceil'),
  }
}

/** Grid portfolio margin (PFM-020..PFM-025), itemised against the positions held alone. */
export function gridPortfolioMargin(
  rules: GridRules,
  instruments: readonly PortfolioInstrument[],
  positions: readonly PortfolioPosition[],
): GridMarginResult {
  const instrumentByMarket = new Map(
    instruments.map((instrument) => [instrument.market, instrument]),
  )
  const held: Held[] = positions
    .filter((position) => position.size !== 0n)
    .map((position) => {
      const instrument = instrumentByMarket.get(position.market)
      assert(
        instrument !== undefined,
        `Condition failed: a position's market is a listed instrument (PFM-020, market=${position.market})`,
      )
      return { instrument, size: position.size }
    })
  const products: GridProductMargin[] = []
  const offsets: OffsetItem[] = []
  let legsTotal = ZERO
  for (const { id } of rules.products) {
    const own = held.filter((each) => each.instrument.product === id)
    if (own.length === 0) continue
    const margin = productMargin(rules, id, own)
    products.push(margin)
    const legs = own.length === 1 ? [margin] : own.map((each) => productMargin(rules, id, [each]))
    const legsMaintenance = sum(legs.map((leg) => leg.maintenanceMargin))
    legsTotal = add(legsTotal, legsMaintenance)
    const legsLoss = sum(legs.map((leg) => leg.worstLoss))
    const legsContingency = sub(legsMaintenance, legsLoss)
    if (own.length > 1) {
      offsets.push({
        kind: 'scenario_netting',
        product: id,
        description: `${own.length} positions revalued together: worst loss ${formatFixed(margin.worstLoss)} instead of the legs' ${formatFixed(legsLoss)}`,
        amount: sub(margin.worstLoss, legsLoss),
      })
    }
    const contingencyChange = sub(
      add(margin.futuresCalendarContingency, margin.netShortOptionContingency),
      legsContingency,
    )
    if (contingencyChange !== 0n) {
      offsets.push({
        kind: 'contingency',
        product: id,
        description: `contingencies: futures calendar ${formatFixed(margin.futuresCalendarContingency)}, net short options ${formatFixed(margin.netShortOptionContingency)} (legs alone ${formatFixed(legsContingency)})`,
        amount: contingencyChange,
      })
    }
  }
  const maintenanceMargin = sum(products.map((product) => product.maintenanceMargin))
  assert(
    add(legsTotal, sum(offsets.map((item) => item.amount))) === maintenanceMargin,
    'Invariant: the legs total plus the offset items equals the requirement (PFM-025)',
  )
  return {
    maintenanceMargin,
    initialMargin: sum(products.map((product) => product.initialMargin)),
    legsTotal,
    reduction: sub(legsTotal, maintenanceMargin),
    products,
    offsets,
  }
}
