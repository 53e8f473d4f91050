/**
 * Account evaluation (docs/spec/margin.md, MRG-009..MRG-014): every position's value, PnL,
 * requirements and liquidation and bankruptcy prices at the marks, and per settlement asset the
 * cross equity, the requirements and the margin ratio.
 *
 * Cross positions of one settlement asset share the wallet balance of that asset; an isolated
 * position is backed by its own posted margin only. A position's maintenance requirement is its
 * maintenance margin plus the estimated fee to close it (value × closeFeeRate, zero on most venues).
 */
import { assert } from '../assert.ts'
import type { Account, MarginMode, Position } from '../model/account.ts'
import { quotingOf } from '../model/instrument.ts'
import { entryPriceOf, positionValue, unrealizedPnl } from '../model/position-math.ts'
import {
  abs,
  add,
  div,
  divideRounded,
  FIXED_DECIMALS,
  type Fixed,
  fromScaled,
  max,
  mul,
  sub,
  sum,
  ZERO,
} from '../num/fixed.ts'
import type { MarketRules, RuleSet } from '../rules/rule-set.ts'
import {
  bankruptcyPrice,
  bisectedSolution,
  bisectRoot,
  liquidationPrice,
  type PriceSolution,
  type PriceSolveInput,
} from './liquidation-price.ts'
import {
  isPortfolioMargined,
  type PortfolioGroupMargin,
  portfolioGroupMargin,
} from './portfolio-margin.ts'
import { timeToExpiryYears } from '../options/option.ts'
import { optionModelMark } from '../options/option-mark.ts'
import { initialMarginOf, maintenanceMarginOf, marginRates, marginRatesForValue } from './rates.ts'

/** Margin figures of one position at its mark (no liquidation or bankruptcy price). */
export interface PositionMargin {
  readonly market: string
  readonly size: Fixed
  readonly markPrice: Fixed
  /** Position value at the mark (unsigned), in the settlement asset. */
  readonly notional: Fixed
  readonly unrealizedPnl: Fixed
  readonly initialMargin: Fixed
  readonly maintenanceMargin: Fixed
  readonly maintenanceRate: Fixed
  readonly maintenanceDeduction: Fixed
  readonly tierIndex: number
  /** Estimated fee to close at the mark: notional × closeFeeRate, rounded up. */
  readonly closeFee: Fixed
  /** maintenanceMargin + closeFee: what equity is compared with. */
  readonly maintenanceRequirement: Fixed
  readonly marginMode: MarginMode
  readonly isolatedMargin: Fixed
}

/** Risk of one position at its mark. */
export interface PositionRisk extends PositionMargin {
  /** Average entry price, derived from the entry value (half-even). */
  readonly entryPrice: Fixed
  /** Displayed: on the tick grid per rules.liquidationPrice.displayRounding. */
  readonly liquidationPrice: Fixed | null
  /** Half-even to rules.liquidationPrice.exactDecimals. */
  readonly liquidationPriceExact: Fixed | null
  readonly bankruptcyPrice: Fixed | null
  readonly bankruptcyPriceExact: Fixed | null
}

/** Margin figures of the positions and balance of one settlement asset. */
export interface SettlementGroupMargin {
  readonly asset: string
  readonly walletBalance: Fixed
  /** walletBalance + Σ cross unrealized PnL. */
  readonly crossEquity: Fixed
  readonly crossInitialMargin: Fixed
  /** Σ cross maintenance requirements (maintenance margin + close fee). */
  readonly crossMaintenanceMargin: Fixed
  /** Σ cross notional at the marks. */
  readonly crossNotional: Fixed
  /** walletBalance + Σ cross uPnL + Σ isolated (isolatedMargin + uPnL). */
  readonly equity: Fixed
  readonly initialMargin: Fixed
  readonly maintenanceMargin: Fixed
  /** maintenanceMargin ÷ equity, rounded up; null when equity ≤ 0. */
  readonly marginRatio: Fixed | null
  /**
   * The portfolio margin of the cross positions the rule set's `portfolioMargin` lists (PFM-042):
   * their requirement in `crossMaintenanceMargin` and `crossInitialMargin` is this one, not the
   * sum of their own (which the positions still report, as held alone under their market's model).
   * Null when the group holds none.
   */
  readonly portfolio: PortfolioGroupMargin | null
  /** Sorted by market. */
  readonly positions: readonly PositionMargin[]
}

/** Margin figures of an account at a set of marks (`evaluateAccountMargin`). */
export interface AccountMargin {
  readonly accountId: string
  /** One per settlement asset that has a balance or a position, sorted by asset. */
  readonly groups: readonly SettlementGroupMargin[]
}

/** Risk of the positions and balance of one settlement asset. */
export interface SettlementGroupRisk extends SettlementGroupMargin {
  /** Sorted by market. */
  readonly positions: readonly PositionRisk[]
}

/** Risk of an account at a set of marks. */
export interface AccountRisk {
  readonly accountId: string
  /** One per settlement asset that has a balance or a position, sorted by asset. */
  readonly groups: readonly SettlementGroupRisk[]
}

/**
 * What valuing option positions needs besides the marks (OPT-023): each option market's implied
 * volatility (kept with its mark) and the time they are valued at. The engine passes its own.
 */
export interface OptionValuation {
  readonly volatilityOf: (market: string) => Fixed | undefined
  /** Milliseconds since the Unix epoch (UTC); time to expiry runs from here. */
  readonly valuationTimeMs: number
}

/** An option position's model inputs at the marks (OPT-023). */
interface OptionInputs {
  readonly underlyingPrice: Fixed
  readonly volatility: Fixed
  readonly timeToExpiryYears: Fixed
}

/** The per-position figures that do not depend on the rest of the account. */
interface PositionBase {
  readonly position: Position
  readonly rules: MarketRules
  readonly markPrice: Fixed
  readonly openInterestValue: Fixed | undefined
  readonly notional: Fixed
  readonly unrealizedPnl: Fixed
  readonly initialMargin: Fixed
  readonly maintenanceMargin: Fixed
  readonly maintenanceRate: Fixed
  readonly maintenanceDeduction: Fixed
  readonly tierIndex: number
  readonly closeFee: Fixed
  /** Option positions only. */
  readonly option: OptionInputs | undefined
}

/** Evaluates every position and settlement group of `account` at `marks` (MRG-009..MRG-012). */
export function evaluateAccount(
  rules: RuleSet,
  account: Account,
  marks: ReadonlyMap<string, Fixed>,
  openInterestValues?: ReadonlyMap<string, Fixed>,
  optionValuation?: OptionValuation,
): AccountRisk {
  const basesByAsset = positionBasesByAsset(
    rules,
    account,
    marks,
    openInterestValues,
    optionValuation,
  )
  const assets = new Set<string>([...account.balances.keys(), ...basesByAsset.keys()])
  const groups = [...assets]
    .sort(compareText)
    .map((asset) =>
      groupRisk(
        rules,
        asset,
        account.balances.get(asset) ?? ZERO,
        basesByAsset.get(asset) ?? [],
        optionValuation,
      ),
    )
  return { accountId: account.id, groups }
}

/**
 * The margin figures of `evaluateAccount` without liquidation and bankruptcy prices or entry
 * prices (MRG-015): equity, requirements and margin ratio per settlement asset, and each
 * position's value, PnL and requirements. Every figure equals `evaluateAccount`'s; it is what
 * maintenance checks need, at a fraction of the cost.
 */
export function evaluateAccountMargin(
  rules: RuleSet,
  account: Account,
  marks: ReadonlyMap<string, Fixed>,
  openInterestValues?: ReadonlyMap<string, Fixed>,
  optionValuation?: OptionValuation,
): AccountMargin {
  const basesByAsset = positionBasesByAsset(
    rules,
    account,
    marks,
    openInterestValues,
    optionValuation,
  )
  const assets =
    account.balances.size === 1 &&
    basesByAsset.size === 1 &&
    account.balances.has(firstKey(basesByAsset))
      ? [firstKey(basesByAsset)]
      : [...new Set<string>([...account.balances.keys(), ...basesByAsset.keys()])].sort(compareText)
  const groups = assets.map((asset) => {
    const bases = basesByAsset.get(asset) ?? []
    return groupFigures(
      rules,
      asset,
      account.balances.get(asset) ?? ZERO,
      bases,
      bases.map(positionMargin),
    )
  })
  return { accountId: account.id, groups }
}

function firstKey<V>(map: ReadonlyMap<string, V>): string {
  for (const key of map.keys()) return key
  return ''
}

function positionBasesByAsset(
  rules: RuleSet,
  account: Account,
  marks: ReadonlyMap<string, Fixed>,
  openInterestValues: ReadonlyMap<string, Fixed> | undefined,
  optionValuation: OptionValuation | undefined,
): Map<string, PositionBase[]> {
  const basesByAsset = new Map<string, PositionBase[]>()
  for (const market of sortedKeys(account.positions)) {
    const position = account.positions.get(market)
    assert(
      position !== undefined,
      `Invariant: a listed position exists (MRG-009, market=${market})`,
    )
    const base = positionBase(rules, position, marks, openInterestValues, optionValuation)
    const asset = base.rules.instrument.settlementAsset
    const list = basesByAsset.get(asset) ?? []
    list.push(base)
    basesByAsset.set(asset, list)
  }
  return basesByAsset
}

/**
 * Cross collateral that may leave the account (MRG-013): crossEquity − max(crossInitialMargin,
 * Σ cross value × rules.account.withdrawalValueFloorRate), never below 0.
 */
export function withdrawableAmount(
  rules: RuleSet,
  account: Account,
  marks: ReadonlyMap<string, Fixed>,
  asset: string,
  openInterestValues?: ReadonlyMap<string, Fixed>,
  optionValuation?: OptionValuation,
): Fixed {
  const group = evaluateAccount(
    rules,
    account,
    marks,
    openInterestValues,
    optionValuation,
  ).groups.find((each) => each.asset === asset)
  if (group === undefined) return ZERO
  return withdrawableFromGroup(rules, group)
}

/** The withdrawable amount of an evaluated settlement group (MRG-013). */
export function withdrawableFromGroup(rules: RuleSet, group: SettlementGroupRisk): Fixed {
  const floor = mul(group.crossNotional, rules.account.withdrawalValueFloorRate, 'ceil')
  return max(ZERO, sub(group.crossEquity, max(group.crossInitialMargin, floor)))
}

/** Is the cross scope of this group below maintenance (MRG-014)? It must hold a cross position, and crossEquity < crossMaintenanceMargin. */
export function crossGroupBreached(group: SettlementGroupMargin): boolean {
  const hasCross = group.positions.some((position) => position.marginMode === 'cross')
  return hasCross && group.crossEquity < group.crossMaintenanceMargin
}

/** Is this isolated position below maintenance (MRG-014)? isolatedMargin + uPnL < maintenance requirement. */
export function isolatedPositionBreached(position: PositionMargin): boolean {
  if (position.marginMode !== 'isolated') return false
  return add(position.isolatedMargin, position.unrealizedPnl) < position.maintenanceRequirement
}

function positionBase(
  rules: RuleSet,
  position: Position,
  marks: ReadonlyMap<string, Fixed>,
  openInterestValues: ReadonlyMap<string, Fixed> | undefined,
  optionValuation: OptionValuation | undefined,
): PositionBase {
  const market = rules.markets.get(position.market)
  assert(
    market !== undefined,
    `Condition failed: the rule set lists every position's market (MRG-009, market=${position.market})`,
  )
  const markPrice = marks.get(position.market)
  assert(
    markPrice !== undefined,
    `Condition failed: a mark is given for every position's market (MRG-009, market=${position.market})`,
  )
  assert(
    position.size !== 0n,
    `Invariant: a stored position is not empty (MRG-009, market=${position.market})`,
  )
  const openInterestValue = openInterestValues?.get(position.market)
  const notional = positionValue(market.instrument, position.size, markPrice)
  const rates = marginRates(market, position.size, markPrice, openInterestValue)
  // With maintenance valued at entry (LPX-002), evaluation uses the same valuation, so that the
  // trigger and the liquidation price agree (MRG-009).
  const atEntry = rules.liquidationPrice.maintenanceValuation === 'at_entry_price'
  const maintenanceRates = atEntry
    ? marginRatesForValue(market, position.size, abs(position.entryValue), openInterestValue)
    : rates
  return {
    position,
    rules: market,
    markPrice,
    openInterestValue,
    notional,
    unrealizedPnl: unrealizedPnl(market.instrument, position.size, position.entryValue, markPrice),
    initialMargin: initialMarginOf(notional, rates, position.leverage),
    maintenanceMargin: maintenanceMarginOf(
      atEntry ? abs(position.entryValue) : notional,
      maintenanceRates,
    ),
    maintenanceRate: maintenanceRates.maintenanceRate,
    maintenanceDeduction: maintenanceRates.maintenanceDeduction,
    tierIndex: maintenanceRates.tierIndex,
    closeFee: mul(notional, rules.liquidationPrice.closeFeeRate, 'ceil'),
    option: optionInputsOf(market, marks, optionValuation),
  }
}

/** The model inputs of an option position (OPT-023); undefined for other instruments. */
function optionInputsOf(
  market: MarketRules,
  marks: ReadonlyMap<string, Fixed>,
  optionValuation: OptionValuation | undefined,
): OptionInputs | undefined {
  const { option, expiryTimeMs, market: id } = market.instrument
  if (option === undefined) return undefined
  const underlyingPrice = marks.get(option.underlyingMarket)
  const volatility = optionValuation?.volatilityOf(id)
  assert(
    underlyingPrice !== undefined && volatility !== undefined && expiryTimeMs !== undefined,
    `Condition failed: an option is valued with its underlying's mark, its volatility and a valuation time (OPT-023, market=${id})`,
  )
  return {
    underlyingPrice,
    volatility,
    timeToExpiryYears: timeToExpiryYears(expiryTimeMs, optionValuation?.valuationTimeMs ?? 0),
  }
}

function groupRisk(
  rules: RuleSet,
  asset: string,
  walletBalance: Fixed,
  bases: readonly PositionBase[],
  optionValuation: OptionValuation | undefined,
): SettlementGroupRisk {
  const cross = bases.filter((base) => base.position.marginMode === 'cross')
  // Σ over cross positions of uPnL − requirement, and of uPnL − close fee: each position's
  // collateral is the wallet plus these sums over the others (LPX-006).
  const crossSurplusForLiquidation = sum(
    cross.map((base) => sub(base.unrealizedPnl, requirementOf(base))),
  )
  const crossSurplusForBankruptcy = sum(cross.map((base) => sub(base.unrealizedPnl, base.closeFee)))
  // With a portfolio requirement the cross positions' requirements are not separable: every cross
  // position's liquidation price is solved on the whole group (PFM-044).
  const pooled = cross.some((base) =>
    isPortfolioMargined(rules.portfolioMargin, base.position.market),
  )
  const positions = bases.map((base) => {
    const isCross = base.position.marginMode === 'cross'
    const liquidationCollateral = isCross
      ? add(
          walletBalance,
          sub(crossSurplusForLiquidation, sub(base.unrealizedPnl, requirementOf(base))),
        )
      : base.position.isolatedMargin
    const bankruptcyCollateral = isCross
      ? add(walletBalance, sub(crossSurplusForBankruptcy, sub(base.unrealizedPnl, base.closeFee)))
      : base.position.isolatedMargin
    const risk = positionRisk(rules, base, liquidationCollateral, bankruptcyCollateral)
    if (!isCross || !pooled || base.option !== undefined) return risk
    const liquidation = portfolioLiquidationPrice(
      rules,
      asset,
      walletBalance,
      bases,
      base,
      optionValuation,
    )
    return {
      ...risk,
      liquidationPrice: liquidation?.displayed ?? null,
      liquidationPriceExact: liquidation?.exact ?? null,
    }
  })
  return groupFigures(rules, asset, walletBalance, bases, positions)
}

/**
 * The liquidation price of a cross position in a group with a portfolio requirement (PFM-044):
 * the mark of its market at which the group's cross equity meets its cross maintenance
 * requirement, found by exact bisection (the portfolio requirement has no closed form). Options
 * written on that market are re-marked with it at their model value (OPT-027: their volatility,
 * the valuation time), as the engine re-marks them; every other mark is held fixed.
 */
function portfolioLiquidationPrice(
  rules: RuleSet,
  asset: string,
  walletBalance: Fixed,
  bases: readonly PositionBase[],
  base: PositionBase,
  optionValuation: OptionValuation | undefined,
): PriceSolution | null {
  const { position } = base
  const input: PriceSolveInput = {
    market: base.rules,
    size: position.size,
    entryValue: position.entryValue,
    collateral: ZERO,
    markPrice: base.markPrice,
  }
  const headroom = (price: Fixed): Fixed => {
    const moved = bases.map((each) => {
      if (each === base)
        return positionBase(
          rules,
          position,
          new Map([[position.market, price]]),
          undefined,
          undefined,
        )
      const instrument = each.rules.instrument
      const volatility = optionValuation?.volatilityOf(instrument.market)
      if (
        instrument.option?.underlyingMarket !== position.market ||
        optionValuation === undefined ||
        volatility === undefined
      )
        return each
      const optionMark = optionModelMark(
        instrument,
        price,
        volatility,
        optionValuation.valuationTimeMs,
      )
      if (optionMark === undefined) return each
      const marks = new Map([
        [position.market, price],
        [instrument.market, optionMark],
      ])
      return positionBase(rules, each.position, marks, undefined, optionValuation)
    })
    const group = groupFigures(rules, asset, walletBalance, moved, [])
    return sub(group.crossEquity, group.crossMaintenanceMargin)
  }
  const reached = (price: Fixed): boolean => price > 0n && headroom(price) <= 0n
  // Futures-only portfolios have a headroom linear in the price (linear contracts) or in its
  // inverse (inverse contracts): the root interpolated from two points is taken when the
  // requirement is reached one unit of the last exact decimal on the adverse side of it and not
  // one unit on the other; otherwise bisection decides.
  const unit = 10n ** BigInt(FIXED_DECIMALS - rules.liquidationPrice.exactDecimals)
  const adverse = position.size > 0n ? -unit : unit
  const root = interpolatedRoot(base, headroom)
  if (root !== null && reached(fromScaled(root + adverse)) && !reached(fromScaled(root - adverse)))
    return bisectedSolution(rules.liquidationPrice, input, root)
  const price = bisectRoot(input, reached)
  return price === null ? null : bisectedSolution(rules.liquidationPrice, input, price)
}

/**
 * The root of `headroom` as a function of the position's mark (on the 10^-18 grid, half-even),
 * assuming it is linear in the price (linear contracts) or in 1 ÷ price (inverse), from its values
 * at the mark and at half (long) or twice (short) the mark; null when undefined or not positive.
 */
function interpolatedRoot(base: PositionBase, headroom: (price: Fixed) => Fixed): Fixed | null {
  const p0: bigint = base.markPrice
  const p1 = base.position.size > 0n ? p0 / 2n : p0 * 2n
  if (p1 <= 0n) return null
  const h0: bigint = headroom(fromScaled(p0))
  const h1: bigint = headroom(fromScaled(p1))
  const linear = quotingOf(base.rules.instrument.kind) === 'linear'
  const denominator = linear ? h1 - h0 : h1 * p1 - h0 * p0
  if (denominator === 0n) return null
  const root = linear
    ? p0 - divideRounded(h0 * (p1 - p0), denominator, 'half_even')
    : divideRounded(p0 * p1 * (h1 - h0), denominator, 'half_even')
  return root > 0n ? fromScaled(root) : null
}

function requirementOf(base: PositionBase): Fixed {
  return add(base.maintenanceMargin, base.closeFee)
}

/**
 * The group's sums over its positions' bases; `positions` are the per-position results. Cross
 * positions of portfolio-margined markets count with the portfolio's requirement and their own
 * close fees instead of their own requirements (PFM-042).
 */
function groupFigures<P>(
  rules: RuleSet,
  asset: string,
  walletBalance: Fixed,
  bases: readonly PositionBase[],
  positions: readonly P[],
): Omit<SettlementGroupMargin, 'positions'> & { readonly positions: readonly P[] } {
  const cross = bases.filter((base) => base.position.marginMode === 'cross')
  const isolated = bases.filter((base) => base.position.marginMode === 'isolated')
  const crossPnl = sum(cross.map((base) => base.unrealizedPnl))
  const crossEquity = add(walletBalance, crossPnl)
  const pooled = cross.filter((base) =>
    isPortfolioMargined(rules.portfolioMargin, base.position.market),
  )
  const alone = pooled.length === 0 ? cross : cross.filter((base) => !pooled.includes(base))
  const portfolio =
    rules.portfolioMargin === undefined || pooled.length === 0
      ? null
      : portfolioGroupMargin(
          rules.portfolioMargin,
          pooled.map((base) => ({
            market: base.rules,
            size: base.position.size,
            price: base.markPrice,
            ...(base.option === undefined ? {} : { option: base.option }),
          })),
        )
  const crossInitialMargin = add(
    sum(alone.map((base) => base.initialMargin)),
    portfolio?.initialMargin ?? ZERO,
  )
  const crossMaintenanceMargin = add(
    sum(alone.map(requirementOf)),
    add(sum(pooled.map((base) => base.closeFee)), portfolio?.maintenanceMargin ?? ZERO),
  )
  const isolatedEquity = sum(
    isolated.map((base) => add(base.position.isolatedMargin, base.unrealizedPnl)),
  )
  const equity = add(crossEquity, isolatedEquity)
  const initialMargin = add(crossInitialMargin, sum(isolated.map((base) => base.initialMargin)))
  const maintenanceMargin = add(crossMaintenanceMargin, sum(isolated.map(requirementOf)))
  return {
    asset,
    walletBalance,
    crossEquity,
    crossInitialMargin,
    crossMaintenanceMargin,
    crossNotional: sum(cross.map((base) => base.notional)),
    equity,
    initialMargin,
    maintenanceMargin,
    marginRatio: equity > 0n ? div(maintenanceMargin, equity, 'ceil') : null,
    portfolio,
    positions,
  }
}

function positionMargin(base: PositionBase): PositionMargin {
  const { position } = base
  return {
    market: position.market,
    size: position.size,
    markPrice: base.markPrice,
    notional: base.notional,
    unrealizedPnl: base.unrealizedPnl,
    initialMargin: base.initialMargin,
    maintenanceMargin: base.maintenanceMargin,
    maintenanceRate: base.maintenanceRate,
    maintenanceDeduction: base.maintenanceDeduction,
    tierIndex: base.tierIndex,
    closeFee: base.closeFee,
    maintenanceRequirement: requirementOf(base),
    marginMode: position.marginMode,
    isolatedMargin: position.isolatedMargin,
  }
}

function positionRisk(
  rules: RuleSet,
  base: PositionBase,
  liquidationCollateral: Fixed,
  bankruptcyCollateral: Fixed,
): PositionRisk {
  const { position, markPrice } = base
  const solveInput = (collateral: Fixed): PriceSolveInput => ({
    market: base.rules,
    size: position.size,
    entryValue: position.entryValue,
    collateral,
    markPrice,
    ...(base.openInterestValue === undefined ? {} : { openInterestValue: base.openInterestValue }),
  })
  // An option's risk lies in its underlying and volatility, not its own mark: no price is solved (OPT-024).
  const solved = base.option === undefined
  const liquidation = solved
    ? liquidationPrice(rules.liquidationPrice, solveInput(liquidationCollateral))
    : null
  const bankruptcy = solved
    ? bankruptcyPrice(rules.liquidationPrice, solveInput(bankruptcyCollateral))
    : null
  const { market, size, ...figures } = positionMargin(base)
  return {
    market,
    size,
    entryPrice: entryPriceOf(base.rules.instrument, position.size, position.entryValue),
    ...figures,
    liquidationPrice: liquidation?.displayed ?? null,
    liquidationPriceExact: liquidation?.exact ?? null,
    bankruptcyPrice: bankruptcy?.displayed ?? null,
    bankruptcyPriceExact: bankruptcy?.exact ?? null,
  }
}

function sortedKeys<V>(map: ReadonlyMap<string, V>): string[] {
  return [...map.keys()].sort(compareText)
}

/** Code-unit order: deterministic and locale-free. */
function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}
