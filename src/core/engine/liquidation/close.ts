/**
 * Closing the liquidated side (docs/spec/liquidation.md, LIQ-030..LIQ-034): a fill or takeover
 * closes the order's share of the position, books its fee and surplus, and settles the scope.
 */
import { assert } from '../../assert.ts'
import type { Position } from '../../model/account.ts'
import { cashLegOf, contractValue, unrealizedPnl } from '../../model/position-math.ts'
import {
  abs,
  add,
  type Fixed,
  max,
  min,
  mul,
  mulDiv,
  neg,
  sign,
  sub,
  sum,
  ZERO,
} from '../../num/fixed.ts'
import type { MarketRules } from '../../rules/rule-set.ts'
import { marketFeeOf, planFillSide } from '../fills.ts'
import { FEE_POOL, isolatedMargin, positionHolder, transferSigned, wallet } from '../plan.ts'
import { type AccountState, BOOK_ACCOUNT_ID } from '../state.ts'
import type { LiquidationOrder } from './state.ts'
import { Planner, withoutFees } from './planner.ts'
import { runChain } from './loss-chain.ts'

// Closing the liquidated side (LIQ-030..LIQ-034)

export interface ClosePiece {
  readonly counterparty: AccountState
  /** Signed contracts of the liquidated side. */
  readonly size: Fixed
  readonly price: Fixed
  /**
   * The liquidated side's value of the piece when it is not the contract value at `price`: an ADL
   * close at the exact bankruptcy value (LIQ-053); `price` is then the displayed bankruptcy price.
   */
  readonly value?: Fixed
}

/** Fee rates of an ADL close (LIQ-054): the deleveraged sides' and the liquidated side's. */
export interface AdlFeeRates {
  readonly deleveraged: Fixed
  readonly liquidated: Fixed
}

interface CloseResult {
  readonly pnl: Fixed
  readonly fee: Fixed
  readonly surplus: Fixed
  readonly gap: Fixed
  readonly fullClose: boolean
  readonly closeSize: Fixed
  /** Each counterparty's side: its realized PnL and its position afterwards. */
  readonly counterparties: readonly {
    readonly account: string
    readonly realizedPnl: Fixed
    readonly fee: Fixed
    readonly positionSize: Fixed
    readonly positionEntryValue: Fixed
  }[]
}

/**
 * Books the liquidated side of one or more fills of one position and the counterparties' sides.
 * Settlement against the bankruptcy price (`bankruptcyPrice` of the order): surplus, fee, gap.
 * `mode`: `fill` (a reported fill; counterparties pay their maker fee), `takeover` (no fees),
 * `backstop` (no fee, no surplus, no gap: the backstop takes the remaining margin).
 */
export function closeLiquidated(
  work: Planner,
  account: AccountState,
  position: Position,
  market: MarketRules,
  pieces: readonly ClosePiece[],
  mode: 'fill' | 'takeover' | 'backstop',
  bankruptcyPrice?: Fixed,
  adlFees?: AdlFeeRates,
): CloseResult {
  const instrument = market.instrument
  const asset = instrument.settlementAsset
  const marketId = instrument.market
  const closeSize = sum(pieces.map((piece) => piece.size))
  assert(
    closeSize !== 0n &&
      sign(closeSize) !== sign(position.size) &&
      abs(closeSize) <= abs(position.size),
    `Invariant: a liquidation closes part of the position, never more (LIQ-031, account=${account.id}, market=${marketId})`,
  )
  const values = pieces.map(
    (piece) => piece.value ?? contractValue(instrument, piece.size, piece.price),
  )
  const totalValue = sum(values)
  // OPT-031: an option charging fees on its underlying values it at the underlying's mark.
  const underlyingMarket = instrument.option?.underlyingMarket
  const underlyingMark = underlyingMarket === undefined ? undefined : work.markOf(underlyingMarket)
  const fullClose = abs(closeSize) === abs(position.size)
  const closed = closedShare(work, account, position, closeSize, totalValue)
  const { closedEntry, pnl } = closed
  let fee = ZERO
  let adlFee = ZERO
  let surplus = ZERO
  let gap = ZERO
  if (mode !== 'backstop') {
    assert(
      bankruptcyPrice !== undefined,
      'Invariant: a liquidation close has a bankruptcy price (LIQ-030)',
    )
    // Beyond the (fee-inclusive) bankruptcy price: the closed share's equity less the close fee
    // the bankruptcy price reserves; no price enters the amount unless that fee rate is not 0.
    const reservedFee = mul(
      abs(contractValue(instrument, closeSize, bankruptcyPrice)),
      work.rules.liquidationPrice.closeFeeRate,
      'ceil',
    )
    const difference = sub(closed.equity, reservedFee)
    if (work.liquidation.settlement === 'at_bankruptcy_price') {
      surplus = max(ZERO, difference)
    } else if (mode === 'fill') {
      const raw = marketFeeOf(
        work.rules,
        market,
        { size: closeSize, value: totalValue },
        market.liquidationFeeRate,
        underlyingMark,
      )
      fee = work.liquidation.feeCap === 'surplus' ? min(raw, max(ZERO, difference)) : raw
    }
    if (adlFees !== undefined && adlFees.liquidated !== 0n) {
      // LIQ-054: the liquidated side's fee on its ADL closes, paid out of what the closed share
      // keeps after the surplus (the close fee its bankruptcy price reserves), never more, so the
      // fee opens no gap that the fund or the winners would pay.
      const adlPieces = pieces.filter((piece) => piece.counterparty.id !== BOOK_ACCOUNT_ID)
      const adlValue = sum(
        values.filter((_, index) => pieces[index]?.counterparty.id !== BOOK_ACCOUNT_ID),
      )
      const raw = marketFeeOf(
        work.rules,
        market,
        { size: sum(adlPieces.map((piece) => piece.size)), value: adlValue },
        adlFees.liquidated,
        underlyingMark,
      )
      adlFee = min(max(ZERO, raw), max(ZERO, sub(sub(closed.equity, surplus), fee)))
      fee = add(fee, adlFee)
    }
    // LIQ-034: the gap brings the closed share's equity, after what it pays, exactly to zero; a
    // takeover or ADL close pays no fee, so it is measured without one.
    gap = max(ZERO, sub(add(fee, surplus), closed.equity))
  }
  const isolated = position.marginMode === 'isolated'
  const marginHolder = isolated ? isolatedMargin(account.id, marketId) : wallet(account.id)
  work.transfers.push(
    ...transferSigned(
      asset,
      { kind: 'clearing' },
      positionHolder(account.id, marketId),
      cashLegOf(instrument, totalValue),
    ),
    ...transferSigned(asset, positionHolder(account.id, marketId), marginHolder, pnl),
  )
  work.positionChanges.push({
    account: account.id,
    market: marketId,
    sizeDelta: closeSize,
    entryValueDelta: neg(closedEntry),
    marginMode: position.marginMode,
    leverage: position.leverage,
  })
  const liquidationFee = sub(fee, adlFee)
  if (liquidationFee > 0n)
    work.fundFlow(marketId, asset, marginHolder, liquidationFee, 'liquidation_fee', 'LIQ-032')
  if (adlFee > 0n) work.transfers.push({ asset, from: marginHolder, to: FEE_POOL, amount: adlFee })
  if (surplus > 0n)
    work.fundFlow(marketId, asset, marginHolder, surplus, 'liquidation_surplus', 'LIQ-033')
  const sideMarket = mode === 'fill' ? market : withoutFees(market)
  // LIQ-054: a deleveraged side pays the ADL rate as a maker (the book pays no fee in any case).
  const adlMarket =
    adlFees === undefined
      ? sideMarket
      : { ...sideMarket, makerFeeRate: adlFees.deleveraged, takerFeeRate: ZERO }
  const counterparties: CloseResult['counterparties'][number][] = []
  pieces.forEach((piece, index) => {
    const value = values[index] ?? ZERO
    const side = planFillSide(
      work.rules,
      adlMarket,
      piece.counterparty,
      neg(piece.size),
      piece.price,
      neg(value),
      'maker',
      underlyingMark,
    )
    assert(
      !('status' in side),
      `Invariant: a closing or cross counterparty can take a liquidation (LIQ-031, counterparty=${piece.counterparty.id})`,
    )
    work.transfers.push(...side.transfers)
    work.positionChanges.push(side.change)
    counterparties.push({
      account: piece.counterparty.id,
      realizedPnl: side.realizedPnl,
      fee: side.fee,
      positionSize: side.positionSize,
      positionEntryValue: side.positionEntryValue,
    })
    work.events.push(
      {
        type: 'fill_applied',
        account: account.id,
        counterparty: piece.counterparty.id,
        market: marketId,
        size: piece.size,
        price: piece.price,
        value,
        liquidity: 'taker',
        fee: pieces.length === 1 ? fee : ZERO,
        realizedPnl:
          pieces.length === 1
            ? pnl
            : cashLegOf(
                instrument,
                add(value, mulDiv(closedEntry, piece.size, closeSize, 'half_even')),
              ),
        positionSize: add(position.size, closeSize),
        positionEntryValue: sub(position.entryValue, closedEntry),
      },
      {
        type: 'fill_applied',
        account: piece.counterparty.id,
        counterparty: account.id,
        market: marketId,
        size: neg(piece.size),
        price: piece.price,
        value: neg(value),
        liquidity: 'maker',
        fee: side.fee,
        realizedPnl: side.realizedPnl,
        positionSize: side.positionSize,
        positionEntryValue: side.positionEntryValue,
      },
    )
  })
  return { pnl, fee, surplus, gap, fullClose, closeSize, counterparties }
}

/**
 * The closed share of a position (LIQ-034): its entry value, its PnL at `totalValue` and its
 * equity without fees = that PnL + the share of the scope's other equity (collateral: isolated
 * margin, or the cross wallet plus the other cross positions' uPnL at the marks) in proportion
 * to the contracts closed. Closing the whole scope, the equity is the scope's equity afterwards.
 */
export function closedShare(
  work: Planner,
  account: AccountState,
  position: Position,
  closeSize: Fixed,
  totalValue: Fixed,
): { closedEntry: Fixed; pnl: Fixed; equity: Fixed } {
  const market = work.rules.markets.get(position.market)
  assert(
    market !== undefined,
    `Invariant: a position's market is listed (LIQ-031, market=${position.market})`,
  )
  const instrument = market.instrument
  const asset = instrument.settlementAsset
  const fullClose = abs(closeSize) === abs(position.size)
  const closedEntry = fullClose
    ? position.entryValue
    : mulDiv(position.entryValue, neg(closeSize), position.size, 'half_even')
  const pnl = cashLegOf(instrument, add(totalValue, closedEntry))
  let collateral = position.isolatedMargin
  if (position.marginMode === 'cross') {
    collateral = work.projectedWallet(account.id, asset)
    for (const other of account.positions.values()) {
      if (other.market === position.market || other.marginMode !== 'cross') continue
      const otherMarket = work.rules.markets.get(other.market)
      if (otherMarket?.instrument.settlementAsset !== asset) continue
      const mark = work.markOf(other.market)
      assert(
        mark !== undefined,
        `Invariant: a liquidated cross scope has every mark (LIQ-010, market=${other.market})`,
      )
      collateral = add(
        collateral,
        unrealizedPnl(otherMarket.instrument, other.size, other.entryValue, mark),
      )
    }
  }
  const share = fullClose
    ? collateral
    : mulDiv(collateral, abs(closeSize), abs(position.size), 'half_even')
  return { closedEntry, pnl, equity: add(share, pnl) }
}

/**
 * After closing: the residual deficit of a scope left without positions (LIQ-034), the loss chain
 * over gap + residual (LIQ-040..LIQ-046), and the isolated margin's return to the wallet.
 */
export function settleAfterClose(
  work: Planner,
  order: LiquidationOrder,
  account: AccountState,
  position: Position,
  market: MarketRules,
  close: CloseResult,
  adlCovered: Fixed,
): void {
  const asset = market.instrument.settlementAsset
  const isolated = position.marginMode === 'isolated'
  let residual = ZERO
  let flat = false
  if (isolated && close.fullClose) {
    flat = true
    const returned = sub(sub(add(position.isolatedMargin, close.pnl), close.fee), close.surplus)
    residual = max(ZERO, neg(add(returned, close.gap)))
  }
  if (!isolated) {
    const otherCross = [...account.positions.values()].some(
      (other) =>
        other.market !== position.market &&
        other.marginMode === 'cross' &&
        work.state.rules.markets.get(other.market)?.instrument.settlementAsset === asset,
    )
    if (close.fullClose && !otherCross) {
      flat = true
      residual = max(ZERO, neg(add(work.projectedWallet(account.id, asset), close.gap)))
    }
  }
  const shortfall = add(close.gap, residual)
  const payee = isolated ? isolatedMargin(account.id, position.market) : wallet(account.id)
  const covered = runChain(work, order, account, market, payee, shortfall, adlCovered)
  if (isolated && close.fullClose) {
    const returned = add(
      sub(sub(add(position.isolatedMargin, close.pnl), close.fee), close.surplus),
      covered.paid,
    )
    work.transfers.push(
      ...transferSigned(
        asset,
        isolatedMargin(account.id, position.market),
        wallet(account.id),
        returned,
      ),
    )
  }
  if (flat) work.settledScopes.push({ account: account.id, asset, uncovered: covered.uncovered })
}
