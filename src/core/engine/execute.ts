/**
 * The engine's single entry point (docs/spec/engine.md, ENG-001..): `execute` checks a command,
 * computes its plan, applies it and returns the result and events. Synchronous, no clock, no I/O:
 * time and order come in the context. A refused command changes nothing (ENG-003).
 */
import { assert } from '../assert.ts'
import {
  type Instrument,
  isDatedFuture,
  type OptionTerms,
  quotingOf,
  settlementQuotingOf,
} from '../model/instrument.ts'
import { intrinsicValue } from '../options/black76.ts'
import { optionModelMark } from '../options/option-mark.ts'
import { contractValue } from '../model/position-math.ts'
import {
  abs,
  add,
  divideRounded,
  FIXED_SCALE,
  type Fixed,
  fromScaled,
  isMultipleOf,
  mul,
  mulDiv,
  neg,
  sign,
  sub,
  ZERO,
} from '../num/fixed.ts'
import type { MarketRules } from '../rules/rule-set.ts'
import { applyPlan } from './apply.ts'
import type {
  AddIsolatedMarginCommand,
  Command,
  CommandContext,
  DepositCommand,
  ExpireCommand,
  FundingCommand,
  MarkPriceCommand,
  RulesChangeCommand,
  SetLeverageCommand,
  SetMarginModeCommand,
  TradeCommand,
  WithdrawCommand,
} from './commands.ts'
import type { EngineEvent } from './events.ts'
import { cashLegOf } from '../model/position-math.ts'
import { marginHolderOf, planFillSide } from './fills.ts'
import {
  insuranceFundDeposit,
  liquidationFill,
  liquidationsOnMark,
  liquidationTakeover,
} from './liquidation/engine.ts'
import { liquidationSystemAccounts } from './liquidation/system-accounts.ts'
import { belowMaintenanceEvents, hasAllMarks, openInterestValues, withdrawable } from './margin.ts'
import { holdersToEvaluate, type MarkScreen, screenEvaluated } from './mark-screen.ts'
import { evaluateAccountMargin } from '../margin/evaluate.ts'
import {
  CLEARING,
  EXTERNAL,
  insuranceFundOf,
  isolatedMargin,
  type Plan,
  plan,
  positionHolder,
  type Transfer,
  transferSigned,
  wallet,
} from './plan.ts'
import { type CommandResult, OK, refuse, type Refusal } from './result-codes.ts'
import {
  type AccountState,
  BOOK_ACCOUNT_ID,
  type EngineState,
  holdersOf,
  type MarketPrices,
  markPrices,
  markScreenOf,
  marketsWithPositions,
  optionValuationOf,
} from './state.ts'
import { compareIds } from './state-index.ts'

/** What `execute` returns: the result and, when the command was applied, its events. */
export interface ExecuteOutcome {
  readonly result: CommandResult
  readonly events: readonly EngineEvent[]
}

/** A handler's answer: a refusal, or the plan to apply and the events it will emit. */
type Handled = Refusal | { readonly plan: Plan; readonly events: readonly EngineEvent[] }

/**
 * Executes one command against `state` (mutated in place when the command is applied).
 * Returns `{ status: 'ok' }` and the events, or a refusal and no events; a refusal leaves the
 * state exactly as it was.
 */
export function execute(
  state: EngineState,
  command: Command,
  context: CommandContext,
): ExecuteOutcome {
  assert(
    Number.isSafeInteger(context.sequence) && Number.isSafeInteger(context.timestampMs),
    'Condition failed: sequence and timestamp are safe integers (ENG-002)',
  )
  if (context.sequence !== state.lastSequence + 1) {
    return refused(
      refuse('sequence_not_next', { expected: state.lastSequence + 1, found: context.sequence }),
    )
  }
  if (state.lastTimestampMs !== null && context.timestampMs < state.lastTimestampMs) {
    return refused(
      refuse('timestamp_before_previous', {
        previous: state.lastTimestampMs,
        found: context.timestampMs,
      }),
    )
  }
  const liquidated =
    command.type === 'liquidation_fill' || command.type === 'liquidation_takeover'
      ? state.liquidation.orders.get(command.orderId)?.account
      : undefined
  const handled = handle(state, command, context)
  if ('status' in handled) return refused(handled)
  applyPlan(state, handled.plan, context)
  const account = liquidated === undefined ? undefined : state.accounts.get(liquidated)
  if (account === undefined) return { result: OK, events: handled.events }
  // LIQ-015: after a liquidation step the account is re-evaluated at the current marks.
  const next = liquidationsOnMark(state, markPrices(state), [account], context.timestampMs)
  if (next === null) return { result: OK, events: handled.events }
  applyPlan(state, next.plan, context)
  return { result: OK, events: [...handled.events, ...next.events] }
}

function refused(refusal: Refusal): ExecuteOutcome {
  return { result: refusal, events: [] }
}

function handle(state: EngineState, command: Command, context: CommandContext): Handled {
  switch (command.type) {
    case 'deposit':
      return deposit(state, command)
    case 'withdraw':
      return withdraw(state, command, context)
    case 'trade':
      return trade(state, command, context)
    case 'mark_price':
      return markPrice(state, command, context)
    case 'funding':
      return funding(state, command, context)
    case 'set_margin_mode':
      return setMarginMode(state, command, context)
    case 'add_isolated_margin':
      return addIsolatedMargin(state, command, context)
    case 'set_leverage':
      return setLeverage(state, command, context)
    case 'expire':
      return expire(state, command, context)
    case 'rules_change':
      return rulesChange(state, command)
    case 'liquidation_fill':
      return liquidationFill(state, command, context)
    case 'liquidation_takeover':
      return liquidationTakeover(state, command, context)
    case 'insurance_fund_deposit':
      return insuranceFundDeposit(state, command)
  }
}

/** Accounts sorted by id, so events come out in the same order live and after a restore. */
export function accountsInOrder(state: EngineState): AccountState[] {
  return [...state.accounts.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
}

/** Accounts holding a position in `market` (`@book` included), sorted by id, from the index. */
function holderAccounts(state: EngineState, market: string): AccountState[] {
  const accounts: AccountState[] = []
  for (const id of holdersOf(state, market)) {
    const account = state.accounts.get(id)
    assert(account !== undefined, 'Invariant: the holder index names existing accounts (ENG-013)')
    accounts.push(account)
  }
  return accounts
}

function traderAccount(state: EngineState, id: string): AccountState | Refusal {
  if (id === BOOK_ACCOUNT_ID) return refuse('account_is_system', { account: id })
  const account = state.accounts.get(id)
  return account ?? refuse('account_not_found', { account: id })
}

function isRefusal(value: object): value is Refusal {
  return 'status' in value
}

/** The market's rules if it exists and still trades at `timestampMs`. */
function openMarket(
  state: EngineState,
  market: string,
  timestampMs: number,
): MarketRules | Refusal {
  const rules = state.rules.markets.get(market)
  if (rules === undefined) return refuse('market_not_found', { market })
  const expiry = rules.instrument.expiryTimeMs
  if (state.expiredMarkets.has(market) || (expiry !== undefined && timestampMs >= expiry)) {
    return refuse('market_expired', { market })
  }
  return rules
}

function deposit(state: EngineState, command: DepositCommand): Handled {
  if (command.account === BOOK_ACCOUNT_ID)
    return refuse('account_is_system', { account: command.account })
  if (command.amount <= 0n) return refuse('amount_not_positive', { amount: command.amount })
  const isNew = !state.accounts.has(command.account)
  const events: EngineEvent[] = isNew ? [{ type: 'account_opened', account: command.account }] : []
  events.push({
    type: 'deposit_applied',
    account: command.account,
    asset: command.asset,
    amount: command.amount,
  })
  return {
    plan: plan({
      openAccounts: isNew ? [command.account] : [],
      transfers: [
        {
          asset: command.asset,
          from: EXTERNAL,
          to: wallet(command.account),
          amount: command.amount,
        },
      ],
    }),
    events,
  }
}

function withdraw(state: EngineState, command: WithdrawCommand, context: CommandContext): Handled {
  const account = traderAccount(state, command.account)
  if (isRefusal(account)) return account
  if (command.amount <= 0n) return refuse('amount_not_positive', { amount: command.amount })
  for (const market of [...account.positions.keys()].sort()) {
    if (!state.prices.has(market)) return refuse('mark_price_missing', { market })
  }
  const balance = account.balances.get(command.asset) ?? ZERO
  if (balance < command.amount)
    return refuse('insufficient_balance', {
      account: account.id,
      asset: command.asset,
      required: command.amount,
      available: balance,
    })
  const available = withdrawable(
    state,
    account,
    markPrices(state),
    command.asset,
    context.timestampMs,
  )
  if (command.amount > available) {
    return refuse('withdrawal_exceeds_available', {
      account: account.id,
      asset: command.asset,
      requested: command.amount,
      available,
    })
  }
  return {
    plan: plan({
      transfers: [
        { asset: command.asset, from: wallet(account.id), to: EXTERNAL, amount: command.amount },
      ],
    }),
    events: [
      {
        type: 'withdrawal_applied',
        account: account.id,
        asset: command.asset,
        amount: command.amount,
      },
    ],
  }
}

function trade(state: EngineState, command: TradeCommand, context: CommandContext): Handled {
  const account = traderAccount(state, command.account)
  if (isRefusal(account)) return account
  const counterpartyId = command.counterparty ?? BOOK_ACCOUNT_ID
  const counterparty = state.accounts.get(counterpartyId)
  if (counterparty === undefined)
    return refuse('counterparty_not_found', { counterparty: counterpartyId })
  if (counterpartyId === account.id)
    return refuse('counterparty_same_as_account', { account: account.id })
  const market = openMarket(state, command.market, context.timestampMs)
  if (isRefusal(market)) return market
  const instrument = market.instrument
  if (command.size === 0n) return refuse('size_zero', { market: command.market })
  if (!isMultipleOf(abs(command.size), instrument.lotSize)) {
    return refuse('size_not_multiple_of_lot', { size: command.size, lotSize: instrument.lotSize })
  }
  if (command.price <= 0n) return refuse('price_not_positive', { price: command.price })
  if (!isMultipleOf(command.price, instrument.tickSize)) {
    return refuse('price_not_multiple_of_tick', {
      price: command.price,
      tickSize: instrument.tickSize,
    })
  }
  // OPT-031: a linear option charging fees on its underlying values it at the underlying's mark.
  const underlyingMarket = instrument.option?.underlyingMarket
  const underlyingMark =
    underlyingMarket === undefined ? undefined : state.prices.get(underlyingMarket)?.mark
  if (
    market.optionFees !== undefined &&
    settlementQuotingOf(instrument) === 'linear' &&
    underlyingMarket !== undefined &&
    underlyingMark === undefined
  )
    return refuse('mark_price_missing', { market: underlyingMarket })
  // ACC-010: the value is computed once and booked with opposite signs on both sides.
  const value = contractValue(instrument, command.size, command.price)
  const counterpartyLiquidity =
    command.counterpartyLiquidity ?? (command.liquidity === 'maker' ? 'taker' : 'maker')
  const taker = planFillSide(
    state.rules,
    market,
    account,
    command.size,
    command.price,
    value,
    command.liquidity,
    underlyingMark,
  )
  if (isRefusal(taker)) return taker
  const maker = planFillSide(
    state.rules,
    market,
    counterparty,
    neg(command.size),
    command.price,
    neg(value),
    counterpartyLiquidity,
    underlyingMark,
  )
  if (isRefusal(maker)) return maker

  const events: EngineEvent[] = []
  const sides = [
    {
      side: taker,
      id: account.id,
      other: counterparty.id,
      size: command.size,
      value,
      liquidity: command.liquidity,
    },
    {
      side: maker,
      id: counterparty.id,
      other: account.id,
      size: neg(command.size),
      value: neg(value),
      liquidity: counterpartyLiquidity,
    },
  ]
  for (const { side, id, other, size, value: sideValue, liquidity } of sides) {
    events.push({
      type: 'fill_applied',
      account: id,
      counterparty: other,
      market: command.market,
      size,
      price: command.price,
      value: sideValue,
      liquidity,
      fee: side.fee,
      realizedPnl: side.realizedPnl,
      positionSize: side.positionSize,
      positionEntryValue: side.positionEntryValue,
    })
    if (side.isolatedMarginMoved !== 0n) {
      events.push({
        type: 'isolated_margin_moved',
        account: id,
        market: command.market,
        amount: side.isolatedMarginMoved,
      })
    }
  }
  return {
    plan: plan({
      transfers: [...taker.transfers, ...maker.transfers],
      positionChanges: [taker.change, maker.change],
    }),
    events,
  }
}

function markPrice(
  state: EngineState,
  command: MarkPriceCommand,
  context: CommandContext,
): Handled {
  const market = openMarket(state, command.market, context.timestampMs)
  if (isRefusal(market)) return market
  if (command.mark <= 0n) return refuse('price_not_positive', { price: command.mark })
  // ACC-001: linear values at the mark are exact, which needs the mark on the tick grid.
  const tickSize = market.instrument.tickSize
  if (quotingOf(market.instrument.kind) === 'linear' && !isMultipleOf(command.mark, tickSize))
    return refuse('price_not_multiple_of_tick', { price: command.mark, tickSize })
  if (command.index !== undefined && command.index <= 0n)
    return refuse('price_not_positive', { price: command.index })
  const isOptionMarket = market.instrument.option !== undefined
  if (isOptionMarket && command.volatility === undefined)
    return refuse('volatility_missing', { market: command.market })
  if (!isOptionMarket && command.volatility !== undefined)
    return refuse('volatility_not_applicable', { market: command.market })
  if (command.volatility !== undefined && command.volatility < 0n)
    return refuse('volatility_negative', { volatility: command.volatility })
  const index = command.index ?? state.prices.get(command.market)?.index ?? null
  const prices: MarketPrices =
    command.volatility === undefined
      ? { mark: command.mark, index }
      : { mark: command.mark, index, volatility: command.volatility }
  const marks = markPrices(state)
  marks.set(command.market, command.mark)
  const events: EngineEvent[] = [
    {
      type: 'mark_updated',
      market: command.market,
      mark: command.mark,
      index,
      ...(command.volatility === undefined ? {} : { volatility: command.volatility }),
    },
  ]
  const valuation = optionValuationOf(state, context.timestampMs, {
    market: command.market,
    volatility: command.volatility,
  })
  const priceUpdates = new Map([[command.market, prices]])
  const options = optionMarketsOn(state, command.market)
  // OPT-027: the options on this market follow it, at their model value.
  for (const option of options) {
    const kept = state.prices.get(option)
    const instrument = state.rules.markets.get(option)?.instrument
    if (kept?.volatility === undefined || instrument === undefined) continue
    if (state.expiredMarkets.has(option)) continue
    const mark = optionModelMark(instrument, command.mark, kept.volatility, context.timestampMs)
    if (mark === undefined) continue
    marks.set(option, mark)
    priceUpdates.set(option, { ...kept, mark })
    events.push({
      type: 'mark_updated',
      market: option,
      mark,
      index: kept.index,
      volatility: kept.volatility,
    })
  }
  // ENG-014: the mark screen names the holders this mark may have put below maintenance; every
  // other holder provably stays at or above it. Those named are evaluated, in id order.
  const screen = markScreenOf(state, command.market)
  const openInterest = openInterestValues(state, marks)
  const breached: AccountState[] = []
  // The backstop and network accounts of the liquidation rules are never margin-checked (LIQ-018).
  const unchecked = liquidationSystemAccounts(state.rules)
  for (const id of markedHolders(state, screen, command.mark, options)) {
    const account = state.accounts.get(id)
    if (
      account === undefined ||
      id === BOOK_ACCOUNT_ID ||
      unchecked.has(id) ||
      !hasAllMarks(state.rules, account, marks)
    )
      continue
    const figures = evaluateAccountMargin(state.rules, account, marks, openInterest, valuation)
    const below = belowMaintenanceEvents(id, figures)
    if (below.length > 0) {
      events.push(...below)
      // Only an account below maintenance can be liquidated (LIQ-010): the trigger sees just those.
      breached.push(account)
    } else screenEvaluated(screen, market, account, command.mark, figures)
  }
  const liquidations = liquidationsOnMark(state, marks, breached, context.timestampMs, valuation)
  if (liquidations === null) return { plan: plan({ priceUpdates }), events }
  return {
    plan: { ...liquidations.plan, priceUpdates },
    events: [...events, ...liquidations.events],
  }
}

/**
 * The holders a mark may have put below maintenance, in id order: those the market's mark screen
 * names (ENG-014) and, for an option's underlying, every holder of `options` (the options on it),
 * whose model value moves with it (OPT-025).
 */
function markedHolders(
  state: EngineState,
  screen: MarkScreen,
  mark: Fixed,
  options: readonly string[],
): string[] {
  const named = holdersToEvaluate(screen, mark)
  if (options.length === 0) return named
  const ids = new Set(named)
  for (const option of options) for (const id of holdersOf(state, option)) ids.add(id)
  return [...ids].sort(compareIds)
}

/** The option markets written on `underlying`, in rule-set order. */
function optionMarketsOn(state: EngineState, underlying: string): string[] {
  const markets: string[] = []
  for (const { instrument } of state.rules.markets.values())
    if (instrument.option?.underlyingMarket === underlying) markets.push(instrument.market)
  return markets
}

/**
 * Funding (ACC-020..ACC-022): each position pays size × contract value at mark × rate (longs pay
 * when rate > 0), rounded once: payments round up, receipts round down. The difference, never
 * negative, goes to the insurance fund; for linear markets with published decimals it is zero.
 */
function funding(state: EngineState, command: FundingCommand, context: CommandContext): Handled {
  const market = openMarket(state, command.market, context.timestampMs)
  if (isRefusal(market)) return market
  if (market.instrument.option !== undefined)
    return refuse('funding_not_applicable', { market: command.market })
  const prices = state.prices.get(command.market)
  if (prices === undefined) return refuse('mark_price_missing', { market: command.market })
  if (command.rate === 0n) return { plan: plan({}), events: [] }
  const instrument = market.instrument
  const asset = instrument.settlementAsset
  const linear = instrument.kind === 'linear_perpetual' || instrument.kind === 'linear_future'
  const transfers: Transfer[] = []
  const events: EngineEvent[] = []
  let paid = ZERO
  let received = ZERO
  for (const account of holderAccounts(state, command.market)) {
    const position = account.positions.get(command.market)
    if (position === undefined) continue
    // Exact product, in units of 10^-18: size × contractSize × mark × rate (linear) or size × contractSize × rate ÷ mark (inverse).
    const numerator = linear
      ? position.size * instrument.contractSize * prices.mark * command.rate
      : position.size * instrument.contractSize * command.rate
    const denominator = linear ? FIXED_SCALE * FIXED_SCALE * FIXED_SCALE : prices.mark * FIXED_SCALE
    const pays = sign(position.size) === sign(command.rate)
    const magnitude = fromScaled(
      divideRounded(numerator < 0n ? -numerator : numerator, denominator, pays ? 'ceil' : 'floor'),
    )
    if (magnitude === 0n) continue
    const holder = marginHolderOf(account.id, command.market, position.marginMode === 'isolated')
    if (pays) {
      paid = add(paid, magnitude)
      transfers.push({ asset, from: holder, to: CLEARING, amount: magnitude })
    } else {
      received = add(received, magnitude)
      transfers.push({ asset, from: CLEARING, to: holder, amount: magnitude })
    }
    events.push({
      type: 'funding_paid',
      account: account.id,
      market: command.market,
      rate: command.rate,
      amount: pays ? magnitude : neg(magnitude),
    })
  }
  const dust = sub(paid, received)
  assert(
    dust >= 0n,
    `Invariant: funding receipts never exceed payments (ACC-021, market=${command.market}, dust=${dust})`,
  )
  creditRoundingDust(state, command.market, asset, dust, 'funding_rounding', transfers, events)
  return { plan: plan({ transfers }), events }
}

function setMarginMode(
  state: EngineState,
  command: SetMarginModeCommand,
  context: CommandContext,
): Handled {
  const account = traderAccount(state, command.account)
  if (isRefusal(account)) return account
  const market = openMarket(state, command.market, context.timestampMs)
  if (isRefusal(market)) return market
  if (account.positions.has(command.market))
    return refuse('position_open', { account: account.id, market: command.market })
  if (command.marginMode === 'isolated' && market.instrument.option !== undefined)
    return refuse('option_cross_only', { market: command.market })
  const leverage = account.settings.get(command.market)?.leverage ?? null
  return {
    plan: plan({
      settingChanges: [
        { account: account.id, market: command.market, marginMode: command.marginMode, leverage },
      ],
    }),
    events: [
      {
        type: 'margin_mode_set',
        account: account.id,
        market: command.market,
        marginMode: command.marginMode,
      },
    ],
  }
}

function setLeverage(
  state: EngineState,
  command: SetLeverageCommand,
  context: CommandContext,
): Handled {
  const account = traderAccount(state, command.account)
  if (isRefusal(account)) return account
  const market = openMarket(state, command.market, context.timestampMs)
  if (isRefusal(market)) return market
  const leverage = command.leverage
  if (leverage !== null && (leverage < FIXED_SCALE || leverage > market.maxLeverage)) {
    return refuse('leverage_out_of_range', { leverage, maxLeverage: market.maxLeverage })
  }
  const marginMode =
    account.positions.get(command.market)?.marginMode ??
    account.settings.get(command.market)?.marginMode ??
    'cross'
  return {
    plan: plan({
      settingChanges: [{ account: account.id, market: command.market, marginMode, leverage }],
    }),
    events: [{ type: 'leverage_set', account: account.id, market: command.market, leverage }],
  }
}

function addIsolatedMargin(
  state: EngineState,
  command: AddIsolatedMarginCommand,
  context: CommandContext,
): Handled {
  const account = traderAccount(state, command.account)
  if (isRefusal(account)) return account
  const market = openMarket(state, command.market, context.timestampMs)
  if (isRefusal(market)) return market
  if (command.amount <= 0n) return refuse('amount_not_positive', { amount: command.amount })
  const position = account.positions.get(command.market)
  if (position === undefined)
    return refuse('position_not_found', { account: account.id, market: command.market })
  if (position.marginMode !== 'isolated')
    return refuse('position_not_isolated', { account: account.id, market: command.market })
  const asset = market.instrument.settlementAsset
  const balance = account.balances.get(asset) ?? ZERO
  if (balance < command.amount)
    return refuse('insufficient_balance', {
      account: account.id,
      asset,
      required: command.amount,
      available: balance,
    })
  return {
    plan: plan({
      transfers: [
        {
          asset,
          from: wallet(account.id),
          to: isolatedMargin(account.id, command.market),
          amount: command.amount,
        },
      ],
    }),
    events: [
      {
        type: 'isolated_margin_moved',
        account: account.id,
        market: command.market,
        amount: command.amount,
      },
    ],
  }
}

/**
 * Settlement of a dated future (ACC-030..ACC-032): every position closes at the settlement price.
 * PnL rounds down (linear values are exact for published decimals) and the rounding difference, never negative, goes to
 * the insurance fund. Isolated margin returns to the wallet.
 */
function expire(state: EngineState, command: ExpireCommand, context: CommandContext): Handled {
  const market = state.rules.markets.get(command.market)
  if (market === undefined) return refuse('market_not_found', { market: command.market })
  if (state.expiredMarkets.has(command.market))
    return refuse('market_expired', { market: command.market })
  const instrument = market.instrument
  if (!isDatedFuture(instrument.kind) && instrument.option === undefined)
    return refuse('market_not_dated_future', { market: command.market })
  if (instrument.expiryTimeMs !== undefined && context.timestampMs < instrument.expiryTimeMs) {
    return refuse('market_not_yet_expired', {
      market: command.market,
      expiryTimeMs: instrument.expiryTimeMs,
    })
  }
  const price = command.settlementPrice
  if (price <= 0n) return refuse('price_not_positive', { price })
  const asset = instrument.settlementAsset
  const transfers: Transfer[] = []
  const events: EngineEvent[] = []
  const positionChanges: Plan['positionChanges'][number][] = []
  let dust = ZERO
  for (const account of holderAccounts(state, command.market)) {
    const position = account.positions.get(command.market)
    if (position === undefined) continue
    // PnL rounds down: linear value(size) − entry with the value floored, inverse entry − value(size) with the value ceiled.
    const pnl =
      instrument.option !== undefined
        ? sub(optionSettlementValue(instrument, position.size, price), position.entryValue)
        : instrument.kind === 'linear_future'
          ? sub(contractValue(instrument, position.size, price, 'floor'), position.entryValue)
          : sub(position.entryValue, contractValue(instrument, position.size, price, 'ceil'))
    const isolated = position.marginMode === 'isolated'
    const holder = positionHolder(account.id, command.market)
    const rest = sub(cashLegOf(instrument, position.entryValue), pnl)
    dust = add(dust, rest)
    transfers.push(
      ...transferSigned(asset, holder, marginHolderOf(account.id, command.market, isolated), pnl),
    )
    transfers.push(...transferSigned(asset, holder, CLEARING, rest))
    if (isolated)
      transfers.push(
        ...transferSigned(
          asset,
          isolatedMargin(account.id, command.market),
          wallet(account.id),
          add(position.isolatedMargin, pnl),
        ),
      )
    positionChanges.push({
      account: account.id,
      market: command.market,
      sizeDelta: neg(position.size),
      entryValueDelta: neg(position.entryValue),
      marginMode: position.marginMode,
      leverage: position.leverage,
    })
    events.push({
      type: 'expiry_settled',
      account: account.id,
      market: command.market,
      size: position.size,
      settlementPrice: price,
      realizedPnl: pnl,
    })
  }
  assert(
    dust >= 0n,
    `Invariant: settlement pays out no more than the positions hold (ACC-031, market=${command.market}, dust=${dust})`,
  )
  creditRoundingDust(state, command.market, asset, dust, 'settlement_rounding', transfers, events)
  events.push({ type: 'market_expired', market: command.market, settlementPrice: price })
  return {
    plan: plan({ transfers, positionChanges, expireMarkets: new Map([[command.market, price]]) }),
    events,
  }
}

function sameOptionTerms(a: OptionTerms | undefined, b: OptionTerms | undefined): boolean {
  if (a === undefined || b === undefined) return a === b
  return (
    a.underlyingMarket === b.underlyingMarket &&
    a.right === b.right &&
    a.strike === b.strike &&
    a.rate === b.rate
  )
}

/**
 * What `size` option contracts are worth at expiry (OPT-026): size × contractSize × intrinsic
 * value at the underlying's settlement price, in the settlement asset (÷ the settlement price when
 * the option settles in its base asset), rounded down.
 */
function optionSettlementValue(instrument: Instrument, size: Fixed, settlementPrice: Fixed): Fixed {
  const terms = instrument.option
  assert(terms !== undefined, 'Invariant: only an option settles at intrinsic value (OPT-026)')
  const intrinsic = intrinsicValue(terms.right, settlementPrice, terms.strike)
  const units = mul(size, instrument.contractSize, 'exact')
  return settlementQuotingOf(instrument) === 'linear'
    ? mul(units, intrinsic, 'floor')
    : mulDiv(units, intrinsic, settlementPrice, 'floor')
}

function rulesChange(state: EngineState, command: RulesChangeCommand): Handled {
  const next = command.ruleSet
  for (const market of [...marketsWithPositions(state)].sort()) {
    const incoming = next.markets.get(market)?.instrument
    if (incoming === undefined) return refuse('rules_change_drops_open_market', { market })
    const current = state.rules.markets.get(market)?.instrument
    assert(
      current !== undefined,
      `Invariant: open positions are in listed markets (INV-006, market=${market})`,
    )
    const same =
      incoming.kind === current.kind &&
      incoming.baseAsset === current.baseAsset &&
      incoming.quoteAsset === current.quoteAsset &&
      incoming.settlementAsset === current.settlementAsset &&
      incoming.contractSize === current.contractSize &&
      incoming.expiryTimeMs === current.expiryTimeMs &&
      sameOptionTerms(incoming.option, current.option)
    if (!same) return refuse('rules_change_alters_open_instrument', { market })
  }
  return {
    plan: plan({ ruleSet: next }),
    events: [{ type: 'rules_changed', id: next.id, version: next.version }],
  }
}

/**
 * Books what rounding left over when a market's payments were split (funding, expiry settlement)
 * to the market's insurance fund, with an event naming why (ACC-021, ACC-031).
 */
function creditRoundingDust(
  state: EngineState,
  market: string,
  asset: string,
  dust: Fixed,
  reason: 'funding_rounding' | 'settlement_rounding',
  transfers: Transfer[],
  events: EngineEvent[],
): void {
  if (dust === 0n) return
  transfers.push({ asset, from: CLEARING, to: insuranceFundOf(state.rules, market), amount: dust })
  events.push({ type: 'insurance_fund_credited', asset, amount: dust, reason })
}
