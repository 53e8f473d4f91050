/**
 * The network party and its liquidation strategy (docs/spec/liquidation.md, LIQ-070..LIQ-076): a
 * party that takes liquidated positions over on the mark and disposes of them gradually.
 */
import { assert } from '../../assert.ts'
import type { PositionRisk, SettlementGroupRisk } from '../../margin/evaluate.ts'
import { contractValue } from '../../model/position-math.ts'
import {
  abs,
  add,
  type Fixed,
  isMultipleOf,
  min,
  mul,
  neg,
  ONE,
  roundToStep,
  sub,
  ZERO,
} from '../../num/fixed.ts'
import type { GradualDisposal } from '../../rules/liquidation-rules.ts'
import type { MarketRules } from '../../rules/rule-set.ts'
import type { CommandContext, LiquidationFillCommand } from '../commands.ts'
import { planFillSide } from '../fills.ts'
import { wallet } from '../plan.ts'
import { refuse } from '../result-codes.ts'
import type { AccountState, EngineState } from '../state.ts'
import type { LiquidationOrder } from './state.ts'
import { compareText, type Handled, Planner, ruleSetFields, withoutFees } from './planner.ts'
import { closeScopePosition, fillCounterparty } from './orders.ts'
import { closeLiquidated, settleAfterClose } from './close.ts'
import { runChain } from './loss-chain.ts'
import { fillRefusal } from './engine.ts'

// The network party and its liquidation strategy (LIQ-070..LIQ-076)

/** The network account as this plan leaves it so far (positions only; it is cross, no fees). */
function networkView(work: Planner, id: string): AccountState {
  const stored = work.state.accounts.get(id)
  const positions = new Map(stored?.positions ?? [])
  for (const change of work.positionChanges) {
    if (change.account !== id) continue
    const before = positions.get(change.market)
    const size = add(before?.size ?? ZERO, change.sizeDelta)
    const entryValue = add(before?.entryValue ?? ZERO, change.entryValueDelta)
    if (size === 0n) positions.delete(change.market)
    else
      positions.set(change.market, {
        market: change.market,
        size,
        entryValue,
        marginMode: 'cross',
        isolatedMargin: ZERO,
        leverage: null,
      })
  }
  return {
    id,
    balances: new Map(stored?.balances ?? []),
    positions,
    settings: new Map(stored?.settings ?? []),
  }
}

/**
 * LIQ-074: the network's margin is the market's insurance pool. A gain it realizes goes to the
 * pool; a loss is drawn from the pool, then socialized, and what is left is uncovered (the
 * network's wallet below zero, recorded like any uncovered rest).
 */
function settleNetworkPnl(
  work: Planner,
  order: LiquidationOrder,
  network: AccountState,
  market: MarketRules,
  realized: Fixed,
): void {
  const asset = market.instrument.settlementAsset
  const marketId = market.instrument.market
  if (realized > 0n)
    work.fundFlow(marketId, asset, wallet(network.id), realized, 'network_pnl', 'LIQ-074')
  if (realized < 0n) runChain(work, order, network, market, wallet(network.id), neg(realized), ZERO)
}

/**
 * LIQ-070: the network party takes a distressed scope's positions at the mark at once, without a
 * fee, settled like a takeover against the bankruptcy price (with `at_bankruptcy_price` the
 * scope's remaining margin goes to the market's pool, 0012-POSR step 5); a deficit goes to the
 * chain. Each position gets an order id, placed and filled in the same command.
 */
export function networkCloseout(
  work: Planner,
  account: AccountState,
  group: SettlementGroupRisk,
  positions: readonly PositionRisk[],
  scope: 'cross' | 'isolated',
  equity: Fixed,
  maintenance: Fixed,
  marks: ReadonlyMap<string, Fixed>,
): void {
  const state = work.state
  const network = work.liquidation.network
  assert(
    network !== undefined && network !== null,
    'Invariant: a network closeout has a network party (LIQ-070)',
  )
  if (!state.accounts.has(network.account) && !work.openAccounts.includes(network.account))
    work.openAccounts.push(network.account)
  let view = account
  for (const risk of positions) {
    const market = state.rules.markets.get(risk.market)
    const position = view.positions.get(risk.market)
    const mark = marks.get(risk.market)
    assert(
      market !== undefined && position !== undefined && mark !== undefined,
      `Invariant: a closed-out position exists and has a mark (LIQ-070, account=${account.id}, market=${risk.market})`,
    )
    closeScopePosition(work, state, account.id, risk.market)
    const counterparty = networkView(work, network.account)
    const key = `${network.account}/${risk.market}`
    // 0012-POSR: the first disposal step starts when the network takes a position from flat.
    if (!counterparty.positions.has(risk.market))
      work.partialTimes.push({ key, timestampMs: work.nowMs })
    const size = neg(position.size)
    const orderId = `L${work.nextOrderNumber}`
    work.nextOrderNumber += 1
    const bankruptcy = risk.bankruptcyPriceExact ?? risk.markPrice
    const order: LiquidationOrder = {
      orderId,
      account: account.id,
      market: risk.market,
      asset: group.asset,
      scope,
      remaining: size,
      size,
      limitPrice: null,
      bankruptcyPrice: bankruptcy,
      markPrice: mark,
      policy: work.liquidation.policy.kind,
      ...ruleSetFields(state.rules),
      placedAtMs: work.nowMs,
    }
    const shared = {
      orderId,
      account: account.id,
      market: risk.market,
      ...ruleSetFields(state.rules),
    }
    work.events.push(
      {
        type: 'liquidation_order_placed',
        ...shared,
        asset: group.asset,
        scope,
        size,
        positionSize: position.size,
        limitPrice: null,
        bankruptcyPrice: bankruptcy,
        markPrice: mark,
        equity,
        maintenanceMargin: maintenance,
        policy: work.liquidation.policy.kind,
        rule: 'LIQ-070',
        reason: 'network closeout: the network party takes the whole position at the mark',
      },
      {
        type: 'liquidation_takeover',
        ...shared,
        size,
        markPrice: mark,
        bankruptcyPrice: bankruptcy,
        estimatedShortfall: ZERO,
        via: 'network',
        fundAvailable: ZERO,
        adlTriggerActive: false,
        reason: `${network.account} takes the position at the mark and disposes of it by its liquidation strategy`,
        rule: 'LIQ-070',
      },
    )
    const close = closeLiquidated(
      work,
      view,
      position,
      market,
      [{ counterparty, size, price: mark }],
      'takeover',
      bankruptcy,
    )
    work.events.push({
      type: 'liquidation_order_filled',
      ...shared,
      counterparties: [network.account],
      size,
      price: mark,
      bankruptcyPrice: bankruptcy,
      realizedPnl: close.pnl,
      fee: close.fee,
      surplus: close.surplus,
      gap: close.gap,
      remaining: ZERO,
      rule: 'LIQ-070',
    })
    // Taking a position against its own, the network realizes PnL (0012-POSR-016); it is settled
    // with the pool first, as Vega's mark-to-market precedes position resolution.
    settleNetworkPnl(
      work,
      order,
      counterparty,
      market,
      close.counterparties[0]?.realizedPnl ?? ZERO,
    )
    settleAfterClose(work, order, view, position, market, close, ZERO)
    const rest = new Map(view.positions)
    rest.delete(risk.market)
    view = { ...view, positions: rest }
  }
}

/** The disposal size of the strategy for a network position of `whole` contracts (LIQ-072). */
export function disposalSize(
  strategy: GradualDisposal,
  whole: Fixed,
  lot: Fixed,
): { size: Fixed; full: boolean } {
  if (whole <= strategy.fullDisposalSize) return { size: whole, full: true }
  const part = roundToStep(mul(whole, strategy.disposalFraction, 'ceil'), lot, 'ceil')
  return { size: min(whole, part), full: part >= whole }
}

/** The most a fill may take of `availableVolume` (LIQ-073): the fraction, rounded up to the lot. */
export function disposalCap(strategy: GradualDisposal, availableVolume: Fixed, lot: Fixed): Fixed {
  return roundToStep(mul(availableVolume, strategy.maxFractionConsumed, 'ceil'), lot, 'ceil')
}

/**
 * LIQ-071/LIQ-072: for each market where the network holds a position and its disposal step is due
 * (the step's time has passed since the last order, or the position was just taken from flat with
 * a zero step), the open disposal order lapses and a new one is placed: the strategy's size, limit
 * at the reference (the mark) × (1 ∓ slippage range) on the tick grid, inside the range.
 */
export function planNetworkDisposals(work: Planner, marks: ReadonlyMap<string, Fixed>): void {
  const network = work.liquidation.network
  if (network === undefined || network === null) return
  const strategy = network.liquidationStrategy
  const view = networkView(work, network.account)
  const markets = [...view.positions.keys()].sort(compareText)
  for (const marketId of markets) {
    const position = view.positions.get(marketId)
    const market = work.rules.markets.get(marketId)
    const reference = marks.get(marketId)
    if (position === undefined || market === undefined || reference === undefined) continue
    const key = `${network.account}/${marketId}`
    const planned = work.partialTimes.filter((entry) => entry.key === key).at(-1)?.timestampMs
    const last = planned ?? work.state.liquidation.lastPartialMs.get(key)
    if (last !== undefined && work.nowMs - last < strategy.disposalTimeStepMs) continue
    for (const open of work.state.liquidation.orders.values()) {
      if (open.account !== network.account || open.market !== marketId) continue
      if (work.removeOrders.includes(open.orderId)) continue
      work.removeOrders.push(open.orderId)
      work.events.push({
        type: 'network_disposal_lapsed',
        orderId: open.orderId,
        account: network.account,
        market: marketId,
        remaining: open.remaining,
        reason: 'the next disposal step replaces it',
        rule: 'LIQ-075',
      })
    }
    const instrument = market.instrument
    const whole = abs(position.size)
    const { size: unsigned, full } = disposalSize(strategy, whole, instrument.lotSize)
    const sells = position.size > 0n
    const size = sells ? neg(unsigned) : unsigned
    const range = strategy.disposalSlippageRange
    let limitPrice: Fixed | null
    if (sells) {
      const low = roundToStep(mul(reference, sub(ONE, range), 'ceil'), instrument.tickSize, 'ceil')
      limitPrice = range >= ONE || low <= 0n ? null : low
    } else
      limitPrice = roundToStep(
        mul(reference, add(ONE, range), 'floor'),
        instrument.tickSize,
        'floor',
      )
    const orderId = `L${work.nextOrderNumber}`
    work.nextOrderNumber += 1
    work.setOrders.push({
      orderId,
      account: network.account,
      market: marketId,
      asset: instrument.settlementAsset,
      scope: 'cross',
      remaining: size,
      size,
      limitPrice,
      bankruptcyPrice: reference,
      markPrice: reference,
      policy: work.liquidation.policy.kind,
      ...ruleSetFields(work.rules),
      placedAtMs: work.nowMs,
      purpose: 'network_disposal',
    })
    work.partialTimes.push({ key, timestampMs: work.nowMs })
    work.events.push({
      type: 'network_disposal_order_placed',
      orderId,
      account: network.account,
      market: marketId,
      size,
      networkPosition: position.size,
      limitPrice,
      referencePrice: reference,
      maxFractionConsumed: strategy.maxFractionConsumed,
      rule: 'LIQ-072',
      reason: full
        ? 'at or below the full disposal size: the whole position'
        : 'the disposal fraction of the position, rounded up to the lot',
      ...ruleSetFields(work.rules),
    })
  }
}

/** `liquidation_fill` of a network disposal order (LIQ-073, LIQ-074). */
export function disposalFill(
  state: EngineState,
  order: LiquidationOrder,
  command: LiquidationFillCommand,
  context: CommandContext,
): Handled {
  const liquidation = state.rules.liquidation
  const network = liquidation?.network
  const market = state.rules.markets.get(order.market)
  const account = state.accounts.get(order.account)
  assert(
    liquidation !== undefined &&
      network !== undefined &&
      network !== null &&
      market !== undefined &&
      account?.positions.get(order.market) !== undefined,
    `Invariant: an open disposal order has its rules and the network's position (LIQ-072, order=${order.orderId})`,
  )
  const counterparty = fillCounterparty(state, command, account.id)
  if ('status' in counterparty) return counterparty
  const refused = fillRefusal(order, command, market)
  if (refused !== null) return refused
  const lot = market.instrument.lotSize
  const available = command.availableVolume ?? null
  if (available !== null) {
    if (available < 0n || !isMultipleOf(available, lot))
      return refuse('available_volume_invalid', { availableVolume: available, lotSize: lot })
    const cap = disposalCap(network.liquidationStrategy, available, lot)
    if (command.size > cap)
      return refuse('fill_exceeds_book_fraction', {
        orderId: order.orderId,
        size: command.size,
        availableVolume: available,
        maxFractionConsumed: network.liquidationStrategy.maxFractionConsumed,
        cap,
      })
  }
  const work = new Planner(state, state.rules, liquidation, context.timestampMs)
  const instrument = market.instrument
  const size = order.remaining < 0n ? neg(command.size) : command.size
  const value = contractValue(instrument, size, command.price)
  const networkSide = planFillSide(
    state.rules,
    withoutFees(market),
    account,
    size,
    command.price,
    value,
    'taker',
  )
  const otherSide = planFillSide(
    state.rules,
    market,
    counterparty,
    neg(size),
    command.price,
    neg(value),
    'maker',
  )
  if ('status' in otherSide) return otherSide
  assert(!('status' in networkSide), 'Invariant: the network side of a disposal is cross (LIQ-073)')
  work.transfers.push(...networkSide.transfers, ...otherSide.transfers)
  work.positionChanges.push(networkSide.change, otherSide.change)
  const remaining = sub(order.remaining, size)
  work.events.push(
    {
      type: 'fill_applied',
      account: account.id,
      counterparty: counterparty.id,
      market: order.market,
      size,
      price: command.price,
      value,
      liquidity: 'taker',
      fee: networkSide.fee,
      realizedPnl: networkSide.realizedPnl,
      positionSize: networkSide.positionSize,
      positionEntryValue: networkSide.positionEntryValue,
    },
    {
      type: 'fill_applied',
      account: counterparty.id,
      counterparty: account.id,
      market: order.market,
      size: neg(size),
      price: command.price,
      value: neg(value),
      liquidity: 'maker',
      fee: otherSide.fee,
      realizedPnl: otherSide.realizedPnl,
      positionSize: otherSide.positionSize,
      positionEntryValue: otherSide.positionEntryValue,
    },
    {
      type: 'network_disposal_filled',
      orderId: order.orderId,
      account: account.id,
      counterparty: counterparty.id,
      market: order.market,
      size,
      price: command.price,
      availableVolume: available,
      realizedPnl: networkSide.realizedPnl,
      networkPosition: networkSide.positionSize,
      remaining,
      rule: 'LIQ-073',
      ...ruleSetFields(state.rules),
    },
  )
  settleNetworkPnl(work, order, account, market, networkSide.realizedPnl)
  if (remaining === 0n) work.removeOrders.push(order.orderId)
  else work.setOrders.push({ ...order, remaining })
  return work.toHandled()
}

/** `liquidation_takeover` of a disposal order: no volume in range, the order lapses (LIQ-075). */
export function disposalLapse(
  state: EngineState,
  order: LiquidationOrder,
  context: CommandContext,
): Handled {
  const liquidation = state.rules.liquidation
  assert(liquidation !== undefined, 'Invariant: a disposal order has its rules (LIQ-075)')
  const work = new Planner(state, state.rules, liquidation, context.timestampMs)
  work.removeOrders.push(order.orderId)
  work.events.push({
    type: 'network_disposal_lapsed',
    orderId: order.orderId,
    account: order.account,
    market: order.market,
    remaining: order.remaining,
    reason:
      'no volume within the disposal price range: the order is cancelled (immediate or cancel)',
    rule: 'LIQ-075',
  })
  return work.toHandled()
}
