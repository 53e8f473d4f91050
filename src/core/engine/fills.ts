/**
 * One side of a fill, as a plan (docs/spec/accounts.md, ACC-010..ACC-016).
 *
 * The fill's value is computed once (contractValue, half-even for inverse) and each side books it
 * with its own sign, so both sides' cash legs move by exactly opposite amounts. Increasing adds the
 * value to the entry value. Reducing removes entryValue × closed ÷ size (half-even; the remainder
 * stays in the position) and realizes the PnL of the closed part at the fill price. Flipping closes,
 * then opens the rest with the rest of the fill's value.
 */
import { assert } from '../assert.ts'
import { settlementQuotingOf } from '../model/instrument.ts'
import { cashLegOf, contractValue } from '../model/position-math.ts'
import {
  abs,
  add,
  div,
  type Fixed,
  max,
  min,
  mul,
  mulDiv,
  neg,
  sign,
  sub,
  ZERO,
} from '../num/fixed.ts'
import type { MarketRules, RuleSet } from '../rules/rule-set.ts'
import type { Liquidity } from './commands.ts'
import {
  CLEARING,
  FEE_POOL,
  type Holder,
  isolatedMargin,
  type PositionChange,
  positionHolder,
  type Transfer,
  transferSigned,
  wallet,
} from './plan.ts'
import { refuse, type Refusal } from './result-codes.ts'
import { type AccountState, BOOK_ACCOUNT_ID } from './state.ts'

/** The fee of a fill (ACC-014): |value| × rate; charges round per the rule set, rebates round down. */
export function feeOf(rules: RuleSet, value: Fixed, rate: Fixed): Fixed {
  if (rate >= 0n) return mul(abs(value), rate, rules.account.feeRounding)
  return neg(mul(abs(value), neg(rate), 'floor'))
}

/**
 * The fee at `rate` of a fill of `size` contracts worth `value` in `market` (ACC-014, OPT-031).
 * `feeOf` of the value, except on an option market with `optionFees`: the rate applies to the
 * underlying the contracts stand for, |size| × contract size units of it, in the settlement asset
 * (as they are when the option settles in its base asset, × `underlyingMark` when in its quote),
 * and the fee is at most `premiumCap` × |value| (rounded like the fee).
 */
export function marketFeeOf(
  rules: RuleSet,
  market: MarketRules,
  fill: { readonly size: Fixed; readonly value: Fixed },
  rate: Fixed,
  underlyingMark: Fixed | undefined,
): Fixed {
  const terms = market.optionFees
  if (terms === undefined) return feeOf(rules, fill.value, rate)
  const instrument = market.instrument
  const units = mul(abs(fill.size), instrument.contractSize, 'exact')
  let base = units
  if (settlementQuotingOf(instrument) === 'linear') {
    assert(
      underlyingMark !== undefined,
      `Condition failed: a linear option's fee on its underlying needs the underlying's mark (OPT-031, market=${instrument.market})`,
    )
    base = mul(units, underlyingMark, 'exact')
  }
  const fee = feeOf(rules, base, rate)
  if (terms.premiumCap === null) return fee
  const cap = feeOf(rules, fill.value, terms.premiumCap)
  if (rate >= 0n) return min(fee, cap)
  // A rebate (negative fee) is held to the same magnitude.
  return max(fee, neg(cap))
}

/** The margin holder of an account's position: the wallet (cross) or the position's isolated margin. */
export function marginHolderOf(account: string, market: string, isolated: boolean): Holder {
  return isolated ? isolatedMargin(account, market) : wallet(account)
}

export interface FillSide {
  readonly transfers: readonly Transfer[]
  readonly change: PositionChange
  readonly fee: Fixed
  readonly realizedPnl: Fixed
  /** Margin moved wallet → position (+) or position → wallet (−) by this fill (isolated only). */
  readonly isolatedMarginMoved: Fixed
  readonly positionSize: Fixed
  readonly positionEntryValue: Fixed
}

/**
 * Plans one side of a fill of `size` (this side's sign) whose value for this side is `value`.
 * Refuses with `insufficient_balance` when an isolated position cannot post its margin.
 */
export function planFillSide(
  rules: RuleSet,
  market: MarketRules,
  account: AccountState,
  size: Fixed,
  price: Fixed,
  value: Fixed,
  liquidity: Liquidity,
  underlyingMark?: Fixed,
): FillSide | Refusal {
  const instrument = market.instrument
  const marketId = instrument.market
  const asset = instrument.settlementAsset
  const position = account.positions.get(marketId)
  const setting = account.settings.get(marketId)
  const isBook = account.id === BOOK_ACCOUNT_ID
  const marginMode = isBook ? 'cross' : (position?.marginMode ?? setting?.marginMode ?? 'cross')
  const leverage = isBook ? null : (position?.leverage ?? setting?.leverage ?? null)
  const isolated = marginMode === 'isolated'
  const marginHolder = marginHolderOf(account.id, marketId, isolated)
  const currentSize = position?.size ?? ZERO
  const currentEntry = position?.entryValue ?? ZERO

  let closedSize = ZERO
  let closedEntry = ZERO
  let closedValue = ZERO
  let pnl = ZERO
  if (currentSize !== 0n && sign(currentSize) !== sign(size)) {
    closedSize = abs(size) >= abs(currentSize) ? currentSize : neg(size)
    closedEntry =
      closedSize === currentSize
        ? currentEntry
        : mulDiv(currentEntry, closedSize, currentSize, 'half_even')
    closedValue =
      closedSize === neg(size) ? value : contractValue(instrument, neg(closedSize), price)
    // The PnL of the closed part at the value booked for it (= realizedPnl at `price` when the
    // value is the contract value at `price`; a liquidation close may book an exact value, LIQ-053).
    pnl = cashLegOf(instrument, add(closedValue, closedEntry))
  }
  const openValue = sub(value, closedValue)
  const openSize = add(size, closedSize)
  const positionSize = add(currentSize, size)
  const positionEntryValue = add(sub(currentEntry, closedEntry), openValue)

  const rate = liquidity === 'maker' ? market.makerFeeRate : market.takerFeeRate
  const fee = isBook ? ZERO : marketFeeOf(rules, market, { size, value }, rate, underlyingMark)
  const transfers: Transfer[] = [
    ...transferSigned(
      asset,
      CLEARING,
      positionHolder(account.id, marketId),
      cashLegOf(instrument, value),
    ),
    ...transferSigned(asset, positionHolder(account.id, marketId), marginHolder, pnl),
    ...transferSigned(asset, marginHolder, FEE_POOL, fee),
  ]

  let isolatedMarginMoved = ZERO
  if (isolated) {
    const closesAll = currentSize !== 0n && closedSize === currentSize
    const returned = closesAll ? sub(add(position?.isolatedMargin ?? ZERO, pnl), fee) : ZERO
    const posting =
      openSize === 0n ? ZERO : div(abs(openValue), leverage ?? market.maxLeverage, 'ceil')
    const available = add(account.balances.get(asset) ?? ZERO, returned)
    if (posting > available)
      return refuse('insufficient_balance', {
        account: account.id,
        asset,
        required: posting,
        available,
      })
    transfers.push(
      ...transferSigned(asset, isolatedMargin(account.id, marketId), wallet(account.id), returned),
    )
    transfers.push(
      ...transferSigned(asset, wallet(account.id), isolatedMargin(account.id, marketId), posting),
    )
    isolatedMarginMoved = sub(posting, returned)
  }

  return {
    transfers,
    change: {
      account: account.id,
      market: marketId,
      sizeDelta: size,
      entryValueDelta: sub(openValue, closedEntry),
      marginMode,
      leverage,
    },
    fee,
    realizedPnl: pnl,
    isolatedMarginMoved,
    positionSize,
    positionEntryValue,
  }
}
