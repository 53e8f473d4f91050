/**
 * Liquidation and bankruptcy prices of one position (docs/spec/liquidation-price.md, LPX-*).
 *
 * The liquidation price is the price P at which the position's collateral plus its unrealized PnL
 * equals its maintenance requirement, everything else held fixed:
 *   C + uPnL(P) = MM(P) + closeFee(P),   closeFee(P) = value(P) × closeFeeRate.
 * C is the isolated margin of an isolated position, or, for a cross position, the wallet balance
 * plus every other cross position's (uPnL − requirement) at its mark. The bankruptcy price solves
 * the same equation with MM = 0. Where the rates are constant the equation is linear in P (linear
 * contracts) or in 1/P (inverse), and is solved in closed form as an exact fraction; otherwise an
 * exact bisection on the 10^-18 grid finds it.
 */
import { assert } from '../assert.ts'
import { quotingOf } from '../model/instrument.ts'
import {
  abs,
  add,
  divideRounded,
  FIXED_DECIMALS,
  FIXED_SCALE,
  type Fixed,
  fromScaled,
  mul,
  mul3,
  mulDiv,
  type Rounding,
  sub,
  ZERO,
} from '../num/fixed.ts'
import type { LiquidationPriceRules, MarketRules } from '../rules/rule-set.ts'
import { type MarginRates, maintenanceMarginOf, marginRatesForValue } from './rates.ts'

/** One position and the collateral that backs it, as the solver needs them. */
export interface PriceSolveInput {
  readonly market: MarketRules
  /** Signed contracts, not 0. */
  readonly size: Fixed
  /** Signed entry value (see Position.entryValue). */
  readonly entryValue: Fixed
  /** C: isolated margin, or cross wallet balance + Σ other cross (uPnL − maintenance requirement). */
  readonly collateral: Fixed
  /** The current mark: where the tier search starts and where `openInterestValue` was valued. */
  readonly markPrice: Fixed
  /** Open-interest value of the market at the mark (open_interest_scaled only). */
  readonly openInterestValue?: Fixed
}

/** A solved price, at three precisions. */
export interface PriceSolution {
  /** The solution to 18 decimals (closed form: half-even; bisection: the last grid price on the safe side). */
  readonly price: Fixed
  /** The solution rounded half-even to the rule set's `exactDecimals`. */
  readonly exact: Fixed
  /** The solution on the tick grid, rounded per the rule set's `displayRounding`. */
  readonly displayed: Fixed
  /** Rates the maintenance margin was computed with (at the solved price, or at entry); null for a bankruptcy price. */
  readonly rates: MarginRates | null
  readonly method: 'closed_form' | 'bisection'
}

/** Which requirement a solve equates equity with. */
export type PriceKind = 'liquidation' | 'bankruptcy'

/** Liquidation price of one position (LPX-001..LPX-006); null when no positive price liquidates it. */
export function liquidationPrice(
  rules: LiquidationPriceRules,
  input: PriceSolveInput,
): PriceSolution | null {
  return solvePrice(rules, input, 'liquidation')
}

/** Bankruptcy price of one position (LPX-007): equity equals the close fee alone; null when none is positive. */
export function bankruptcyPrice(
  rules: LiquidationPriceRules,
  input: PriceSolveInput,
): PriceSolution | null {
  return solvePrice(rules, input, 'bankruptcy')
}

/**
 * Equity minus requirement at `price` (the function both prices are roots of), computed with the
 * same exact arithmetic as account evaluation: C + uPnL(P) − (MM + closeFee) for a liquidation
 * price, C + uPnL(P) − closeFee for a bankruptcy price.
 */
export function requirementGap(
  rules: LiquidationPriceRules,
  input: PriceSolveInput,
  kind: PriceKind,
  price: Fixed,
): Fixed {
  const { market, size, entryValue, collateral } = input
  const value = valueAt(market, size, price)
  const linear = quotingOf(market.instrument.kind) === 'linear'
  const pnl = linear
    ? sub(signedValueAt(market, size, price), entryValue)
    : sub(entryValue, signedValueAt(market, size, price))
  const equity = add(collateral, pnl)
  const closeFee = mul(value, rules.closeFeeRate, 'ceil')
  if (kind === 'bankruptcy') return sub(equity, closeFee)
  const maintenance =
    rules.maintenanceValuation === 'at_entry_price'
      ? maintenanceMarginOf(abs(entryValue), entryRates(input))
      : maintenanceMarginOf(value, ratesAtPrice(input, price))
  return sub(equity, add(maintenance, closeFee))
}

function solvePrice(
  rules: LiquidationPriceRules,
  input: PriceSolveInput,
  kind: PriceKind,
): PriceSolution | null {
  assert(
    input.size !== 0n,
    `Invariant: a liquidation price belongs to an open position (LPX-001, market=${input.market.instrument.market})`,
  )
  assert(
    input.markPrice > 0n,
    `Invariant: prices are positive (LPX-001, market=${input.market.instrument.market})`,
  )
  if (kind === 'bankruptcy') {
    const fraction = closedForm(
      rules,
      input,
      { maintenanceRate: ZERO, maintenanceDeduction: ZERO },
      null,
    )
    return fraction === null ? null : solution(rules, input, fraction, null, 'closed_form')
  }
  if (rules.maintenanceValuation === 'at_entry_price') {
    const rates = entryRates(input)
    const fixedMaintenance = maintenanceMarginOf(abs(input.entryValue), rates)
    const fraction = closedForm(rules, input, null, fixedMaintenance)
    return fraction === null ? null : solution(rules, input, fraction, rates, 'closed_form')
  }
  // At the liquidation price: closed form with the rates in force, re-solved with the rates at
  // the solution until they agree (LPX-003); if they never agree, bisection decides (LPX-004).
  let rates = ratesAtPrice(input, input.markPrice)
  const attempts = tierCount(input.market) + 2
  for (let attempt = 0; attempt < attempts; attempt++) {
    const fraction = closedForm(rules, input, rates, null)
    if (fraction === null) break
    const price = fromScaled(divideRounded(fraction.numerator, fraction.denominator, 'half_even'))
    if (price <= 0n) break
    const ratesThere = ratesAtPrice(input, price)
    if (
      ratesThere.maintenanceRate === rates.maintenanceRate &&
      ratesThere.maintenanceDeduction === rates.maintenanceDeduction
    ) {
      return solution(rules, input, fraction, rates, 'closed_form')
    }
    rates = ratesThere
  }
  const price = bisect(rules, input)
  if (price === null) return null
  return solution(
    rules,
    input,
    { numerator: price, denominator: 1n },
    ratesAtPrice(input, price),
    'bisection',
  )
}

/** A positive price as an exact fraction of 10^-18 units: numerator ÷ denominator, denominator > 0. */
interface PriceFraction {
  readonly numerator: bigint
  readonly denominator: bigint
}

/**
 * Closed form (LPX-002). With s the signed size, cs the contract size, E the signed entry value,
 * C the collateral, m = maintenanceRate + closeFeeRate and d the deduction:
 *   linear,  MM at P:      P = (C + d − E) ÷ (|s|·cs·m − s·cs)
 *   inverse, MM at P:      P = (|s|·cs·m + s·cs) ÷ (C + d + E)
 * and with the maintenance margin fixed at M (valued at entry), f = closeFeeRate:
 *   linear:                P = (M + E − C) ÷ (s·cs − |s|·cs·f)
 *   inverse:               P = (s·cs + |s|·cs·f) ÷ (C + E − M)
 * Null when the fraction is undefined or not positive.
 */
function closedForm(
  rules: LiquidationPriceRules,
  input: PriceSolveInput,
  ratesAtLiquidation: Pick<MarginRates, 'maintenanceRate' | 'maintenanceDeduction'> | null,
  fixedMaintenance: Fixed | null,
): PriceFraction | null {
  const scale = FIXED_SCALE
  const size: bigint = input.size
  const contracts = abs(input.size) * input.market.instrument.contractSize // |s|·cs at 10^36
  const signedContracts = size * input.market.instrument.contractSize // s·cs at 10^36
  const collateral: bigint = input.collateral
  const entryValue: bigint = input.entryValue
  const feeRate: bigint = rules.closeFeeRate
  const linear = quotingOf(input.market.instrument.kind) === 'linear'
  let numerator: bigint
  let denominator: bigint
  if (ratesAtLiquidation !== null) {
    const rate = ratesAtLiquidation.maintenanceRate + feeRate
    const deduction: bigint = ratesAtLiquidation.maintenanceDeduction
    if (linear) {
      numerator = (collateral + deduction - entryValue) * scale ** 3n
      denominator = contracts * rate - signedContracts * scale
    } else {
      numerator = contracts * rate + signedContracts * scale
      denominator = (collateral + deduction + entryValue) * scale
    }
  } else {
    assert(
      fixedMaintenance !== null,
      'Invariant: a closed form has rates or a fixed maintenance margin (LPX-002)',
    )
    const maintenance: bigint = fixedMaintenance
    if (linear) {
      numerator = (maintenance + entryValue - collateral) * scale ** 3n
      denominator = signedContracts * scale - contracts * feeRate
    } else {
      numerator = signedContracts * scale + contracts * feeRate
      denominator = (collateral + entryValue - maintenance) * scale
    }
  }
  if (denominator === 0n) return null
  if (denominator < 0n) {
    numerator = -numerator
    denominator = -denominator
  }
  if (numerator <= 0n) return null
  return { numerator, denominator }
}

/** Highest price (10^22, in 10^-18 units) the bracket search tries before deciding that no price exists. */
const searchCeiling = 10n ** 40n

/**
 * Exact bisection on the 10^-18 grid (LPX-004). A bracket is grown from the mark in the adverse
 * direction (halving or doubling the price), then halved to one unit. For a long the answer is the
 * highest price at which the requirement is reached (gap ≤ 0), for a short the lowest. Null when
 * no price between one tick and the search ceiling reaches it, or (short) when every such price does.
 */
function bisect(rules: LiquidationPriceRules, input: PriceSolveInput): Fixed | null {
  return bisectRoot(input, (price) => requirementGap(rules, input, 'liquidation', price) <= 0n)
}

/**
 * The bisection of `bisect` for any requirement test (LPX-004, PFM-044): `isReached(P)` says
 * whether equity is at or below the requirement with the position's market at P (everything else
 * held fixed). It assumes one crossing between the mark and the adverse end of the search.
 */
export function bisectRoot(
  input: Pick<PriceSolveInput, 'market' | 'size' | 'markPrice'>,
  isReached: (price: Fixed) => boolean,
): Fixed | null {
  const long = input.size > 0n
  const tick: bigint = input.market.instrument.tickSize
  const reached = (raw: bigint): boolean => isReached(fromScaled(raw))
  const mark: bigint = input.markPrice
  let safe: bigint // a price where the requirement is not reached
  let breached: bigint // a price where it is
  if (reached(mark)) {
    breached = mark
    safe = mark
    while (reached(safe)) {
      breached = safe
      safe = long ? safe * 2n : divideRounded(safe, 2n, 'floor')
      if (safe > searchCeiling || safe < tick) return null
    }
  } else {
    safe = mark
    breached = mark
    while (!reached(breached)) {
      safe = breached
      breached = long ? divideRounded(breached, 2n, 'floor') : breached * 2n
      if (breached > searchCeiling || breached < tick) return null
    }
  }
  while (abs(fromScaled(safe - breached)) > 1n) {
    const middle = divideRounded(safe + breached, 2n, 'floor')
    if (reached(middle)) breached = middle
    else safe = middle
  }
  return fromScaled(breached)
}

/** A price found by `bisectRoot`, at the three precisions of a solution (LPX-005). */
export function bisectedSolution(
  rules: LiquidationPriceRules,
  input: PriceSolveInput,
  price: Fixed,
): PriceSolution {
  return solution(rules, input, { numerator: price, denominator: 1n }, null, 'bisection')
}

function solution(
  rules: LiquidationPriceRules,
  input: PriceSolveInput,
  fraction: PriceFraction,
  rates: MarginRates | null,
  method: PriceSolution['method'],
): PriceSolution {
  const { numerator, denominator } = fraction
  const decimalStep = 10n ** BigInt(FIXED_DECIMALS - rules.exactDecimals)
  const tick: bigint = input.market.instrument.tickSize
  assert(
    tick > 0n,
    `Invariant: a tick size is positive (LPX-005, market=${input.market.instrument.market})`,
  )
  return {
    price: fromScaled(divideRounded(numerator, denominator, 'half_even')),
    exact: fromScaled(
      divideRounded(numerator, denominator * decimalStep, 'half_even') * decimalStep,
    ),
    displayed: fromScaled(
      divideRounded(numerator, denominator * tick, displayRounding(rules, input.size)) * tick,
    ),
    rates,
    method,
  }
}

/** The rounding that puts a displayed price on the tick grid (LPX-005). */
export function displayRounding(rules: LiquidationPriceRules, size: Fixed): Rounding {
  const long = size > 0n
  switch (rules.displayRounding) {
    case 'toward_safety':
      return long ? 'ceil' : 'floor'
    case 'toward_trader':
      return long ? 'floor' : 'ceil'
    case 'nearest':
      return 'half_up'
  }
}

function entryRates(input: PriceSolveInput): MarginRates {
  return marginRatesForValue(
    input.market,
    input.size,
    abs(input.entryValue),
    input.openInterestValue,
  )
}

/**
 * Signed value of `size` at any price of the 10^-18 grid, rounded half-even (LPX-004). Equal to
 * `contractValue` wherever that is exact; solved prices carry up to 18 decimals, so a linear
 * product may need rounding here.
 */
export function signedValueAt(market: MarketRules, size: Fixed, price: Fixed): Fixed {
  const instrument = market.instrument
  assert(price > 0n, `Invariant: prices are positive (LPX-004, market=${instrument.market})`)
  if (quotingOf(instrument.kind) === 'linear')
    return mul3(size, instrument.contractSize, price, 'half_even')
  return fromScaled(divideRounded(size * instrument.contractSize, price, 'half_even'))
}

/** Unsigned value of `size` at any grid price (see signedValueAt). */
export function valueAt(market: MarketRules, size: Fixed, price: Fixed): Fixed {
  return signedValueAt(market, abs(size), price)
}

function ratesAtPrice(input: PriceSolveInput, price: Fixed): MarginRates {
  const value = valueAt(input.market, input.size, price)
  return marginRatesForValue(input.market, input.size, value, openInterestValueAt(input, price))
}

/**
 * Open interest is a number of contracts; its value moves with the price like a position's
 * (LPX-004): linear × P ÷ mark, inverse × mark ÷ P.
 */
function openInterestValueAt(input: PriceSolveInput, price: Fixed): Fixed | undefined {
  const atMark = input.openInterestValue
  if (atMark === undefined) return undefined
  return quotingOf(input.market.instrument.kind) === 'linear'
    ? mulDiv(atMark, price, input.markPrice, 'half_even')
    : mulDiv(atMark, input.markPrice, price, 'half_even')
}

function tierCount(market: MarketRules): number {
  const model = market.margin
  return model.kind === 'tiered' ? model.tiers.length : 4
}
