/**
 * Liquidation execution and the loss-allocation waterfall inside the engine
 * (docs/spec/liquidation.md, LIQ-*): the commands (a mark's liquidations, fills, takeovers, fund
 * deposits). Everything is computed as a plan (ENG-005) from the rule set's `liquidation` section,
 * one stage per file: `orders.ts` (trigger, order size, backstop), `close.ts` (closing the
 * liquidated side), `loss-chain.ts` (fund, ADL, socialized loss, with the loss planners of
 * src/core/loss), `network-party.ts` (takeover on the mark and gradual disposal), all collected by
 * `planner.ts`. The core never matches: it emits orders and consumes fills reported back.
 */
import { assert } from '../../assert.ts'
import type { AdlCandidate, AdlSide } from '../../loss/adl.ts'
import { type AdlBookPlan, planAdlOnBook } from '../../loss/adl-book.ts'
import { planFundDraw } from '../../loss/insurance-fund.ts'
import type { OptionValuation } from '../../margin/evaluate.ts'
import type { Position } from '../../model/account.ts'
import { cashLegOf, contractValue, unrealizedPnl } from '../../model/position-math.ts'
import {
  abs,
  add,
  type Fixed,
  isMultipleOf,
  max,
  mul,
  mulDiv,
  neg,
  sign,
  sub,
  sum,
  ZERO,
} from '../../num/fixed.ts'
import type { LiquidationRules, MarketRules } from '../../rules/rule-set.ts'
import type {
  CommandContext,
  InsuranceFundDepositCommand,
  LiquidationFillCommand,
  LiquidationTakeoverCommand,
} from '../commands.ts'
import type { EngineEvent } from '../events.ts'
import { EXTERNAL, insuranceFundOf, plan, type Plan } from '../plan.ts'
import { type Refusal, refuse } from '../result-codes.ts'
import { type AccountState, BOOK_ACCOUNT_ID, type EngineState } from '../state.ts'
import { adlBookOf, opposingCandidates } from './adl-candidates.ts'
import type { LiquidationPlan } from './plan-part.ts'
import { type LiquidationOrder, poolBalance } from './state.ts'
import { type Handled, Planner, ruleSetFields } from './planner.ts'
import { fillCounterparty, planLiquidationsOnMark } from './orders.ts'
import {
  type AdlFeeRates,
  closedShare,
  closeLiquidated,
  type ClosePiece,
  settleAfterClose,
} from './close.ts'
import { fundStateOf, triggersAfterDraw } from './loss-chain.ts'
import { disposalFill, disposalLapse } from './network-party.ts'

// Commands

function orderOf(state: EngineState, orderId: string): LiquidationOrder | Refusal {
  return state.liquidation.orders.get(orderId) ?? refuse('liquidation_order_not_found', { orderId })
}

/** Why a fill of `order` is refused (LIQ-030), or `null`: lot and tick grid, size, limit. */
export function fillRefusal(
  order: LiquidationOrder,
  command: LiquidationFillCommand,
  market: MarketRules,
): Refusal | null {
  const instrument = market.instrument
  if (command.size <= 0n) return refuse('size_zero', { market: order.market })
  if (!isMultipleOf(command.size, instrument.lotSize))
    return refuse('size_not_multiple_of_lot', { size: command.size, lotSize: instrument.lotSize })
  if (command.price <= 0n) return refuse('price_not_positive', { price: command.price })
  if (!isMultipleOf(command.price, instrument.tickSize))
    return refuse('price_not_multiple_of_tick', {
      price: command.price,
      tickSize: instrument.tickSize,
    })
  if (command.size > abs(order.remaining))
    return refuse('fill_exceeds_order', {
      orderId: order.orderId,
      size: command.size,
      remaining: abs(order.remaining),
    })
  const sells = order.remaining < 0n
  if (
    order.limitPrice !== null &&
    (sells ? command.price < order.limitPrice : command.price > order.limitPrice)
  )
    return refuse('fill_price_beyond_limit', {
      orderId: order.orderId,
      price: command.price,
      limitPrice: order.limitPrice,
    })
  return null
}

/** `liquidation_fill` (LIQ-030..LIQ-034; a network disposal order: LIQ-073). */
export function liquidationFill(
  state: EngineState,
  command: LiquidationFillCommand,
  context: CommandContext,
): Handled {
  const order = orderOf(state, command.orderId)
  if ('status' in order) return order
  if (order.purpose === 'network_disposal') return disposalFill(state, order, command, context)
  const liquidation = state.rules.liquidation
  const market = state.rules.markets.get(order.market)
  const account = state.accounts.get(order.account)
  const position = account?.positions.get(order.market)
  assert(
    liquidation !== undefined &&
      market !== undefined &&
      account !== undefined &&
      position !== undefined,
    `Invariant: an open order has its rules, account and position (LIQ-024, order=${order.orderId})`,
  )
  const counterparty = fillCounterparty(state, command, account.id)
  if ('status' in counterparty) return counterparty
  const refused = fillRefusal(order, command, market)
  if (refused !== null) return refused
  const sells = order.remaining < 0n
  const work = new Planner(state, state.rules, liquidation, context.timestampMs)
  const size = sells ? neg(command.size) : command.size
  const close = closeLiquidated(
    work,
    account,
    position,
    market,
    [{ counterparty, size, price: command.price }],
    'fill',
    order.bankruptcyPrice,
  )
  if (position.marginMode === 'isolated' && !close.fullClose) {
    // A partial isolated close keeps its margin; the fee and surplus came out of it above.
  }
  const remaining = sub(order.remaining, size)
  work.events.push({
    type: 'liquidation_order_filled',
    orderId: order.orderId,
    account: account.id,
    market: order.market,
    counterparties: [counterparty.id],
    size,
    price: command.price,
    bankruptcyPrice: order.bankruptcyPrice,
    realizedPnl: close.pnl,
    fee: close.fee,
    surplus: close.surplus,
    gap: close.gap,
    remaining,
    rule: 'LIQ-030',
    ...ruleSetFields(state.rules),
  })
  settleAfterClose(work, order, account, position, market, close, ZERO)
  if (remaining === 0n) work.removeOrders.push(order.orderId)
  else work.setOrders.push({ ...order, remaining })
  return work.toHandled()
}

/** `liquidation_takeover` (LIQ-050..LIQ-053): fund takeover at the mark, or ADL. */
export function liquidationTakeover(
  state: EngineState,
  command: LiquidationTakeoverCommand,
  context: CommandContext,
): Handled {
  const order = orderOf(state, command.orderId)
  if ('status' in order) return order
  if (order.purpose === 'network_disposal') return disposalLapse(state, order, context)
  const liquidation = state.rules.liquidation
  const market = state.rules.markets.get(order.market)
  const account = state.accounts.get(order.account)
  const position = account?.positions.get(order.market)
  const mark = state.prices.get(order.market)?.mark
  const book = state.accounts.get(BOOK_ACCOUNT_ID)
  assert(
    liquidation !== undefined &&
      market !== undefined &&
      account !== undefined &&
      position !== undefined &&
      mark !== undefined &&
      book !== undefined,
    `Invariant: an open order has its rules, account, position and mark (LIQ-024, order=${order.orderId})`,
  )
  const instrument = market.instrument
  const asset = instrument.settlementAsset
  const work = new Planner(state, state.rules, liquidation, context.timestampMs)
  const remaining = order.remaining
  // LIQ-050: what closing the rest at the mark, without a fee, leaves below zero.
  const atMark = closedShare(
    work,
    account,
    position,
    remaining,
    contractValue(instrument, remaining, mark),
  )
  const estimated = max(ZERO, neg(atMark.equity))
  const { fund, funds } = fundStateOf(work, order.market, asset)
  const draw = planFundDraw(liquidation.insuranceFund, funds, order.market, estimated)
  const triggers = triggersAfterDraw(work, fund, asset, order.market, draw.drawn)
  // LIQ-055: with `fundShare: down_to_trigger_level` the fund pays down to its trigger level and
  // ADL covers only the rest; otherwise ADL covers the whole shortfall and the fund pays nothing.
  const fundShare =
    liquidation.adl?.fundShare === 'down_to_trigger_level'
      ? sub(draw.drawn, triggers.beyondLevel)
      : ZERO
  const useAdl =
    liquidation.adl !== null &&
    estimated > 0n &&
    (draw.drawn < estimated || triggers.active) &&
    fundShare < estimated
  let pieces: ClosePiece[] = [{ counterparty: book, size: remaining, price: mark }]
  let adlPlan: AdlBookPlan | null = null
  const adlEvents: EngineEvent[] = []
  if (useAdl && liquidation.adl !== null) {
    const liquidatedSide = position.size > 0n ? ('long' as const) : ('short' as const)
    const ranking = adlBookOf(state, order.market, liquidatedSide, context.timestampMs)
    const input = {
      instrument,
      liquidatedAccountId: account.id,
      liquidatedSide,
      sizeToClose: abs(remaining),
      bankruptcyPrice: order.bankruptcyPrice,
      markPrice: mark,
    }
    adlPlan = planAdlOnBook(liquidation.adl, input, ranking)
    // The other allocation's sizes, for the accounts this one deleverages (LIQ-051).
    const alternative = planAdlOnBook(
      {
        ...liquidation.adl,
        allocation:
          liquidation.adl.allocation.kind === 'queue'
            ? { kind: 'min_winner_haircut', weighting: 'pnl' }
            : { kind: 'queue' },
      },
      input,
      ranking,
      new Set(adlPlan.fills.map((fill) => fill.accountId)),
    )
    const direction = remaining < 0n ? -1n : 1n
    const signed = (size: Fixed): Fixed => (direction < 0n ? neg(size) : size)
    // LIQ-053: at a bankruptcy price the deleveraged closes carry the exact value at which the
    // closed share ends at its target (zero, or minus the fund's share, LIQ-055), not the value at
    // the displayed price, so no rounding residual is left to allocate.
    const adlSize = sum(adlPlan.fills.map((fill) => fill.closedContracts))
    const exact =
      liquidation.adl.executionPrice === 'bankruptcy' && adlSize > 0n
        ? bankruptcyValue(work, account, position, order, fundShare)
        : null
    const exactValues =
      exact === null
        ? null
        : splitValue(
            mulDiv(exact, adlSize, abs(remaining), 'half_even'),
            adlPlan.fills.map((fill) => fill.closedContracts),
          )
    pieces = []
    const executionPrice = adlPlan.price
    const allocation = liquidation.adl.allocation.kind
    adlPlan.fills.forEach((fill, index) => {
      const winner = state.accounts.get(fill.accountId)
      assert(winner !== undefined, 'Invariant: ADL candidates are accounts (ADL-006)')
      const size = signed(fill.closedContracts)
      const value = exactValues?.[index] ?? contractValue(instrument, size, executionPrice)
      pieces.push({
        counterparty: winner,
        size,
        price: executionPrice,
        ...(exactValues === null ? {} : { value }),
      })
      const other = alternative.fills.find((entry) => entry.accountId === fill.accountId)
      // What the winner forgoes versus the mark: its PnL on the closed part at the mark minus at
      // the value it closes at (entry values cancel).
      const haircut = sub(
        unrealizedPnl(instrument, neg(fill.sizeChange), ZERO, mark),
        cashLegOf(instrument, neg(value)),
      )
      adlEvents.push({
        type: 'adl_deleveraged',
        orderId: order.orderId,
        account: fill.accountId,
        counterparty: account.id,
        market: order.market,
        size: fill.sizeChange,
        price: fill.price,
        value: neg(value),
        fee: ZERO,
        rank: fill.rank,
        score: fill.scoreDisplay,
        haircutVersusMark: haircut,
        allocation,
        alternativeClosed: other?.closedContracts ?? ZERO,
        rule: fill.rule,
        reason: fill.reason,
        ...ruleSetFields(state.rules),
      })
    })
    if (adlPlan.uncoveredSize > 0n)
      pieces.push({
        counterparty: book,
        size: direction < 0n ? neg(adlPlan.uncoveredSize) : adlPlan.uncoveredSize,
        price: mark,
      })
  }
  work.events.push({
    type: 'liquidation_takeover',
    orderId: order.orderId,
    account: account.id,
    market: order.market,
    size: remaining,
    markPrice: mark,
    bankruptcyPrice: order.bankruptcyPrice,
    estimatedShortfall: estimated,
    via: adlPlan === null ? 'backstop_book' : 'adl',
    fundAvailable: draw.drawn,
    adlTriggerActive: triggers.active,
    reason:
      adlPlan === null
        ? 'the book takes the position at the mark; the chain covers the loss beyond bankruptcy'
        : triggers.active
          ? 'an ADL trigger is active: opposite positions are deleveraged'
          : 'the insurance fund cannot cover the loss: opposite positions are deleveraged',
    rule: adlPlan === null ? 'LIQ-050' : 'LIQ-051',
    ...ruleSetFields(state.rules),
  })
  const fees = adlPlan === null ? undefined : adlFeeRates(liquidation, market)
  const close = closeLiquidated(
    work,
    account,
    position,
    market,
    pieces,
    'takeover',
    order.bankruptcyPrice,
    fees,
  )
  // The deleveraged sides' fees (LIQ-054), known once their sides are booked.
  work.events.push(
    ...adlEvents.map((event) =>
      event.type === 'adl_deleveraged'
        ? {
            ...event,
            fee: close.counterparties.find((side) => side.account === event.account)?.fee ?? ZERO,
          }
        : event,
    ),
  )
  const adlCovered = adlPlan === null ? ZERO : max(ZERO, sub(estimated, close.gap))
  work.events.push({
    type: 'liquidation_order_filled',
    orderId: order.orderId,
    account: account.id,
    market: order.market,
    counterparties: pieces.map((piece) => piece.counterparty.id),
    size: remaining,
    price: pieces.length === 1 ? (pieces[0]?.price ?? null) : null,
    bankruptcyPrice: order.bankruptcyPrice,
    realizedPnl: close.pnl,
    fee: close.fee,
    surplus: close.surplus,
    gap: close.gap,
    remaining: ZERO,
    rule: 'LIQ-050',
    ...ruleSetFields(state.rules),
  })
  settleAfterClose(work, order, account, position, market, close, adlCovered)
  work.removeOrders.push(order.orderId)
  return work.toHandled()
}

/**
 * The positions ADL may take when a `liquidatedSide` position of the market is taken over, with
 * their figures at the current marks (ADL-006, ADL-030), every holder evaluated: the service's ADL
 * queue ranks these; takeovers rank the same candidates kept between them (`adlBookOf`, ADL-033).
 * Empty when the market has no mark.
 */
export function adlCandidates(
  state: Readonly<EngineState>,
  marketId: string,
  liquidatedSide: AdlSide,
  liquidatedAccountId: string | null,
  valuationTimeMs: number = state.lastTimestampMs ?? 0,
): AdlCandidate[] {
  return opposingCandidates(state, marketId, liquidatedSide, valuationTimeMs).filter(
    (candidate) => candidate.accountId !== liquidatedAccountId,
  )
}

/** The fee rates of ADL closes under the rules (LIQ-054); `undefined` when there are none. */
function adlFeeRates(liquidation: LiquidationRules, market: MarketRules): AdlFeeRates | undefined {
  const fees = liquidation.adl?.fees
  if (fees === undefined) return undefined
  const rate = (choice: 'maker' | 'taker' | 'none'): Fixed =>
    choice === 'maker' ? market.makerFeeRate : choice === 'taker' ? market.takerFeeRate : ZERO
  return { deleveraged: rate(fees.deleveraged), liquidated: rate(fees.liquidated) }
}

/**
 * LIQ-053: the exact bankruptcy value of closing the order's remaining size: the liquidated side's
 * value (signed) at which the closed share's equity less the close fee its bankruptcy price
 * reserves is −`fundShare` (0: exactly zero). The equity is the closed share's collateral plus its
 * PnL, and the PnL is the cash leg of value + closed entry value, so the value is solved exactly:
 * value = cashLeg(reserved − fundShare − collateral share) − closed entry value. `null` when that
 * value is not on the side of the close (no positive price reaches the target).
 */
function bankruptcyValue(
  work: Planner,
  account: AccountState,
  position: Position,
  order: LiquidationOrder,
  fundShare: Fixed,
): Fixed | null {
  const market = work.rules.markets.get(position.market)
  assert(market !== undefined, `Invariant: a position's market is listed (LIQ-053)`)
  const instrument = market.instrument
  const remaining = order.remaining
  const atZero = closedShare(work, account, position, remaining, ZERO)
  const collateralShare = sub(atZero.equity, atZero.pnl)
  const reserved = mul(
    abs(contractValue(instrument, remaining, order.bankruptcyPrice)),
    work.rules.liquidationPrice.closeFeeRate,
    'ceil',
  )
  const value = sub(
    cashLegOf(instrument, sub(sub(reserved, fundShare), collateralShare)),
    atZero.closedEntry,
  )
  // No positive price brings the share to its target (a cross collateral far below zero): the
  // order's price stands.
  return value !== 0n && sign(value) === sign(remaining) ? value : null
}

/** Splits `total` over `sizes` pro rata (half-even), the last taking the rest: Σ = total exactly. */
function splitValue(total: Fixed, sizes: readonly Fixed[]): Fixed[] {
  const whole = sum(sizes)
  let left = total
  return sizes.map((size, index) => {
    if (index === sizes.length - 1) return left
    const part = mulDiv(total, size, whole, 'half_even')
    left = sub(left, part)
    return part
  })
}

/** `insurance_fund_deposit` (LIQ-041): money from outside into a fund pool. */
export function insuranceFundDeposit(
  state: EngineState,
  command: InsuranceFundDepositCommand,
): Handled {
  if (command.amount <= 0n) return refuse('amount_not_positive', { amount: command.amount })
  const balance = add(poolBalance(state.liquidation, command.fund, command.asset), command.amount)
  const markets = [...state.rules.markets.values()]
    .filter((market) => {
      const holder = insuranceFundOf(state.rules, market.instrument.market)
      return (
        holder.kind === 'insurance_fund' &&
        holder.fund === command.fund &&
        market.instrument.settlementAsset === command.asset
      )
    })
    .map((market) => market.instrument.market)
  const part: LiquidationPlan = {
    setOrders: [],
    removeOrders: [],
    nextOrderNumber: null,
    historyMarkets: markets.map((market) => ({ fund: command.fund, asset: command.asset, market })),
    marketPnlDeltas: [],
    drawnDeltas: [],
    triggerActive: [],
    partialTimes: [],
    shortfalls: [],
    settledScopes: [],
  }
  return {
    plan: plan({
      transfers: [
        {
          asset: command.asset,
          from: EXTERNAL,
          to: { kind: 'insurance_fund', fund: command.fund },
          amount: command.amount,
        },
      ],
      liquidation: part,
    }),
    events: [
      {
        type: 'insurance_fund_pool_changed',
        fund: command.fund,
        asset: command.asset,
        market: null,
        amount: command.amount,
        balance,
        reason: 'deposit',
        rule: 'LIQ-041',
      },
    ],
  }
}

/**
 * Orders for the breached scopes at a mark (LIQ-010); `null` when nothing is placed. `valuation`:
 * the option valuation the breaches were found with, when it is not yet the state's.
 */
export function liquidationsOnMark(
  state: EngineState,
  marks: ReadonlyMap<string, Fixed>,
  accounts: readonly AccountState[],
  nowMs: number,
  valuation: OptionValuation | null = null,
): { plan: Plan; events: readonly EngineEvent[] } | null {
  const work = planLiquidationsOnMark(state, marks, accounts, nowMs, valuation)
  if (work === null || (work.events.length === 0 && work.transfers.length === 0)) return null
  const handled = work.toHandled()
  assert(!('status' in handled), 'Invariant: placing orders is never refused (LIQ-010)')
  return handled
}
