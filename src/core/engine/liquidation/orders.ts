/**
 * Trigger, orders and backstop (docs/spec/liquidation.md, LIQ-010..LIQ-017): which scopes a mark
 * breaches, how much each liquidation order closes under the rule set's policy, and the backstop
 * takeover.
 */
import { assert } from '../../assert.ts'
import {
  type AccountMargin,
  crossGroupBreached,
  evaluateAccount,
  evaluateAccountMargin,
  isolatedPositionBreached,
  type OptionValuation,
  type PositionRisk,
  type SettlementGroupRisk,
} from '../../margin/evaluate.ts'
import type { Position } from '../../model/account.ts'
import { quotingOf } from '../../model/instrument.ts'
import { contractValue, unrealizedPnl } from '../../model/position-math.ts'
import {
  abs,
  add,
  div,
  type Fixed,
  fromScaled,
  max,
  min,
  mul,
  mulDiv,
  neg,
  ONE,
  roundToStep,
  sub,
  ZERO,
} from '../../num/fixed.ts'
import type { MarketRules } from '../../rules/rule-set.ts'
import type { LiquidationFillCommand } from '../commands.ts'
import { marketFeeOf } from '../fills.ts'
import { hasAllMarks, openInterestValues } from '../margin.ts'
import { isolatedMargin, transferSigned, wallet } from '../plan.ts'
import { type Refusal, refuse } from '../result-codes.ts'
import { type AccountState, BOOK_ACCOUNT_ID, emptyAccount, type EngineState } from '../state.ts'
import type { LiquidationOrder } from './state.ts'
import { compareText, Planner, ruleSetFields } from './planner.ts'
import { isSystemAccount } from './system-accounts.ts'
import { closeLiquidated } from './close.ts'
import { networkCloseout, planNetworkDisposals } from './network-party.ts'

// Trigger and orders (LIQ-010..LIQ-017)

/** Whether any cross scope or isolated position of the evaluated account is below maintenance. */
export function anyScopeBreached(margin: AccountMargin): boolean {
  for (const group of margin.groups) {
    if (crossGroupBreached(group)) return true
    for (const position of group.positions) if (isolatedPositionBreached(position)) return true
  }
  return false
}

/**
 * On a mark (or after a liquidation step), finds the breached scopes of `accounts` and places
 * orders by the policy, or hands the scope to the backstop (LIQ-010..LIQ-017). Accounts are
 * screened with the light evaluation (`evaluateAccountMargin`); only breached ones are evaluated
 * in full, for the bankruptcy prices their orders need.
 */
export function planLiquidationsOnMark(
  state: EngineState,
  marks: ReadonlyMap<string, Fixed>,
  accounts: readonly AccountState[],
  nowMs: number,
  valuation: OptionValuation | null,
  planner?: Planner,
): Planner | null {
  const liquidation = state.rules.liquidation
  if (liquidation === undefined) return null
  const work = planner ?? new Planner(state, state.rules, liquidation, nowMs)
  work.marks = marks
  work.valuation = valuation
  const openInterest = openInterestValues(state, marks)
  const optionValuation = work.optionValuation()
  const ordered = [...accounts].sort((a, b) => compareText(a.id, b.id))
  for (const account of ordered) {
    if (isSystemAccount(account.id) || !hasAllMarks(state.rules, account, marks)) continue
    const margin = evaluateAccountMargin(state.rules, account, marks, openInterest, optionValuation)
    if (!anyScopeBreached(margin)) continue
    const risk = evaluateAccount(state.rules, account, marks, openInterest, optionValuation)
    for (const group of risk.groups) {
      if (crossGroupBreached(group)) {
        const cross = group.positions.filter((position) => position.marginMode === 'cross')
        const threshold =
          liquidation.backstop === null
            ? null
            : mul(
                group.crossMaintenanceMargin,
                liquidation.backstop.equityBelowMaintenanceRate,
                'ceil',
              )
        if (threshold !== null && group.crossEquity >= 0n && group.crossEquity < threshold) {
          backstopTakeover(
            work,
            account,
            group,
            cross,
            group.crossEquity,
            group.crossMaintenanceMargin,
            threshold,
            null,
            marks,
          )
        } else if (liquidation.network !== undefined && liquidation.network !== null) {
          networkCloseout(
            work,
            account,
            group,
            cross,
            'cross',
            group.crossEquity,
            group.crossMaintenanceMargin,
            marks,
          )
        } else {
          for (const position of cross)
            placeOrder(
              work,
              account,
              group,
              position,
              'cross',
              group.crossEquity,
              group.crossMaintenanceMargin,
              marks,
            )
        }
      }
      for (const position of group.positions) {
        if (!isolatedPositionBreached(position)) continue
        const equity = add(position.isolatedMargin, position.unrealizedPnl)
        const threshold =
          liquidation.backstop === null
            ? null
            : mul(
                position.maintenanceRequirement,
                liquidation.backstop.equityBelowMaintenanceRate,
                'ceil',
              )
        if (threshold !== null && equity >= 0n && equity < threshold)
          backstopTakeover(
            work,
            account,
            group,
            [position],
            equity,
            position.maintenanceRequirement,
            threshold,
            position.market,
            marks,
          )
        else if (liquidation.network !== undefined && liquidation.network !== null)
          networkCloseout(
            work,
            account,
            group,
            [position],
            'isolated',
            equity,
            position.maintenanceRequirement,
            marks,
          )
        else
          placeOrder(
            work,
            account,
            group,
            position,
            'isolated',
            equity,
            position.maintenanceRequirement,
            marks,
          )
      }
    }
  }
  planNetworkDisposals(work, marks)
  return work
}

/** The counterparty a liquidation fill names (default `@book`), or why it cannot take the fill. */
export function fillCounterparty(
  state: EngineState,
  command: LiquidationFillCommand,
  accountId: string,
): AccountState | Refusal {
  const counterpartyId = command.counterparty ?? BOOK_ACCOUNT_ID
  const counterparty = state.accounts.get(counterpartyId)
  if (counterparty === undefined)
    return refuse('counterparty_not_found', { counterparty: counterpartyId })
  if (counterpartyId === accountId)
    return refuse('counterparty_same_as_account', { account: accountId })
  return counterparty
}

/** A position handed over whole: its open order goes, and it counts as closed for this command. */
export function closeScopePosition(
  work: Planner,
  state: EngineState,
  accountId: string,
  market: string,
): void {
  const existing = openOrderOf(state, accountId, market)
  if (existing !== null) work.removeOrders.push(existing.orderId)
  work.closedPositions.add(`${accountId}/${market}`)
}

function openOrderOf(state: EngineState, account: string, market: string): LiquidationOrder | null {
  for (const order of state.liquidation.orders.values())
    if (order.account === account && order.market === market) return order
  return null
}

function placeOrder(
  work: Planner,
  account: AccountState,
  group: SettlementGroupRisk,
  risk: PositionRisk,
  scope: 'cross' | 'isolated',
  equity: Fixed,
  maintenance: Fixed,
  marks: ReadonlyMap<string, Fixed>,
): void {
  const state = work.state
  if (openOrderOf(state, account.id, risk.market) !== null) return
  if (work.setOrders.some((order) => order.account === account.id && order.market === risk.market))
    return
  const market = state.rules.markets.get(risk.market)
  const position = account.positions.get(risk.market)
  assert(
    market !== undefined && position !== undefined,
    `Invariant: a breached position exists in a listed market (LIQ-010, account=${account.id}, market=${risk.market})`,
  )
  const {
    size: closeSize,
    rule,
    reason,
    partial,
  } = policySize(work, account, position, market, risk, marks)
  const signed = position.size > 0n ? neg(closeSize) : closeSize
  const orderId = `L${work.nextOrderNumber}`
  work.nextOrderNumber += 1
  const bankruptcy = risk.bankruptcyPriceExact ?? risk.markPrice
  const limitPrice =
    work.liquidation.orderLimit === 'bankruptcy' ? (risk.bankruptcyPrice ?? null) : null
  const order: LiquidationOrder = {
    orderId,
    account: account.id,
    market: risk.market,
    asset: group.asset,
    scope,
    remaining: signed,
    size: signed,
    limitPrice,
    bankruptcyPrice: bankruptcy,
    markPrice: risk.markPrice,
    policy: work.liquidation.policy.kind,
    ...ruleSetFields(state.rules),
    placedAtMs: work.nowMs,
  }
  work.setOrders.push(order)
  if (partial)
    work.partialTimes.push({ key: `${account.id}/${risk.market}`, timestampMs: work.nowMs })
  work.events.push({
    type: 'liquidation_order_placed',
    orderId,
    account: account.id,
    market: risk.market,
    asset: group.asset,
    scope,
    size: signed,
    positionSize: position.size,
    limitPrice,
    bankruptcyPrice: bankruptcy,
    markPrice: risk.markPrice,
    equity,
    maintenanceMargin: maintenance,
    policy: work.liquidation.policy.kind,
    rule,
    reason,
    ...ruleSetFields(state.rules),
  })
}

/** Contracts per unit of the tier basis at `mark`, for stepping down a ladder (LIQ-012). */
function sizeForBasis(
  market: MarketRules,
  basis: 'value' | 'size' | 'base_size',
  limit: Fixed,
  mark: Fixed,
): Fixed {
  const instrument = market.instrument
  const linear = quotingOf(instrument.kind) === 'linear'
  let contracts: Fixed
  if (basis === 'size') contracts = limit
  else if (basis === 'base_size' && linear) contracts = div(limit, instrument.contractSize, 'floor')
  else if (linear) contracts = div(limit, mul(instrument.contractSize, mark, 'exact'), 'floor')
  else contracts = mulDiv(limit, mark, instrument.contractSize, 'floor')
  // The tier's cap is exclusive: a size exactly at the cap belongs to the next tier.
  const onGrid = roundToStep(contracts, instrument.lotSize, 'floor')
  const value = basis === 'size' ? onGrid : contractValue(instrument, onGrid, mark)
  return basis !== 'base_size' && value >= limit ? sub(onGrid, instrument.lotSize) : onGrid
}

function policySize(
  work: Planner,
  account: AccountState,
  position: Position,
  market: MarketRules,
  risk: PositionRisk,
  marks: ReadonlyMap<string, Fixed>,
): { size: Fixed; rule: string; reason: string; partial: boolean } {
  const whole = abs(position.size)
  const policy = work.liquidation.policy
  const lot = market.instrument.lotSize
  const full = (rule: string, reason: string) => ({ size: whole, rule, reason, partial: false })
  switch (policy.kind) {
    case 'full_close':
      return full('LIQ-011', 'full close: the whole position')
    case 'risk_limit_step_down': {
      const model = market.margin
      let target: Fixed | null = null
      if (model.kind === 'tiered' && risk.tierIndex > 0) {
        const tier = model.tiers[policy.target === 'first_tier' ? 0 : risk.tierIndex - 1]
        if (tier?.cap !== null && tier !== undefined)
          target = sizeForBasis(market, model.basis, tier.cap, risk.markPrice)
      }
      if (model.kind === 'risk_limit_steps' && risk.tierIndex > 0) {
        const steps = policy.target === 'first_tier' ? 0n : BigInt(risk.tierIndex - 1)
        const limit = add(model.baseRiskLimit, fromScaled(steps * model.riskLimitStep))
        target = sizeForBasis(market, model.basis, limit, risk.markPrice)
      }
      if (target === null || target <= 0n || target >= whole)
        return full('LIQ-012', 'step-down: the lowest tier closes the whole position')
      return {
        size: sub(whole, target),
        rule: 'LIQ-012',
        reason: `step-down: reduce to ${policy.target === 'first_tier' ? 'the first tier' : 'the next lower tier'} (${tierText(target)} contracts)`,
        partial: true,
      }
    }
    case 'fixed_fraction': {
      if (risk.notional <= policy.minimumValue)
        return full('LIQ-013', 'fixed fraction: the position value is at or below the minimum')
      const last = work.state.liquidation.lastPartialMs.get(`${account.id}/${position.market}`)
      if (last !== undefined && work.nowMs - last < policy.cooldownMs)
        return full('LIQ-013', 'fixed fraction: within the cooldown of the last partial order')
      const size = min(whole, roundToStep(mul(whole, policy.fraction, 'ceil'), lot, 'ceil'))
      return {
        size,
        rule: 'LIQ-013',
        reason: 'fixed fraction of the position',
        partial: size < whole,
      }
    }
    case 'restore_maintenance': {
      const size = restoringSize(work, account, position, market, marks, policy.bufferRate)
      if (size === null || size >= whole)
        return full('LIQ-014', 'incremental: only the whole position restores maintenance')
      return {
        size,
        rule: 'LIQ-014',
        reason: 'incremental: the fewest lots that restore maintenance plus the buffer',
        partial: true,
      }
    }
  }
}

function tierText(value: Fixed): string {
  return String(value / 10n ** 18n)
}

/** Smallest lot multiple whose close at the mark restores equity ≥ maintenance × (1 + buffer) (LIQ-014). */
function restoringSize(
  work: Planner,
  account: AccountState,
  position: Position,
  market: MarketRules,
  marks: ReadonlyMap<string, Fixed>,
  bufferRate: Fixed,
): Fixed | null {
  const instrument = market.instrument
  const mark = marks.get(position.market)
  if (mark === undefined) return null
  const lot = instrument.lotSize
  const lots = div(abs(position.size), lot, 'floor') / 10n ** 18n
  const passes = (closeLots: bigint): boolean => {
    const closed = fromScaled(closeLots * lot)
    const closedSigned = position.size > 0n ? closed : neg(closed)
    const closedEntry = mulDiv(position.entryValue, closedSigned, position.size, 'half_even')
    const pnl = unrealizedPnl(instrument, closedSigned, closedEntry, mark)
    const value = contractValue(instrument, closed, mark)
    // OPT-031: an option charging fees on its underlying pays them as its close will.
    const underlying = instrument.option?.underlyingMarket
    const fee =
      market.optionFees === undefined
        ? mul(value, market.liquidationFeeRate, 'ceil')
        : marketFeeOf(
            work.rules,
            market,
            { size: closed, value },
            market.liquidationFeeRate,
            underlying === undefined ? undefined : marks.get(underlying),
          )
    const isolated = position.marginMode === 'isolated'
    const rest = sub(position.size, closedSigned)
    const positions = new Map(account.positions)
    positions.set(position.market, {
      ...position,
      size: rest,
      entryValue: sub(position.entryValue, closedEntry),
      isolatedMargin: isolated ? sub(add(position.isolatedMargin, pnl), fee) : ZERO,
    })
    const asset = instrument.settlementAsset
    const balances = new Map(account.balances)
    if (!isolated) balances.set(asset, sub(add(balances.get(asset) ?? ZERO, pnl), fee))
    // Equity and requirements only (MRG-015): no liquidation price is needed to size the close.
    const risk = evaluateAccountMargin(
      work.rules,
      { id: account.id, balances, positions },
      marks,
      undefined,
      work.optionValuation(),
    )
    const group = risk.groups.find((each) => each.asset === asset)
    if (group === undefined) return true
    const factor = add(ONE, bufferRate)
    if (isolated) {
      const after = group.positions.find((each) => each.market === position.market)
      if (after === undefined) return true
      return (
        add(after.isolatedMargin, after.unrealizedPnl) >=
        mul(after.maintenanceRequirement, factor, 'ceil')
      )
    }
    return group.crossEquity >= mul(group.crossMaintenanceMargin, factor, 'ceil')
  }
  if (lots <= 1n) return null
  let low = 1n
  let high = lots - 1n
  if (!passes(high)) return null
  while (low < high) {
    const middle = (low + high) / 2n
    if (passes(middle)) high = middle
    else low = middle + 1n
  }
  return fromScaled(low * lot)
}

// Backstop (LIQ-017)

function backstopTakeover(
  work: Planner,
  account: AccountState,
  group: SettlementGroupRisk,
  positions: readonly PositionRisk[],
  equity: Fixed,
  maintenance: Fixed,
  threshold: Fixed,
  isolatedMarket: string | null,
  marks: ReadonlyMap<string, Fixed>,
): void {
  const state = work.state
  const backstop = work.liquidation.backstop
  assert(backstop !== null, 'Invariant: a backstop takeover has a backstop (LIQ-017)')
  let vault = state.accounts.get(backstop.account)
  if (vault === undefined) {
    if (!work.openAccounts.includes(backstop.account)) work.openAccounts.push(backstop.account)
    vault = emptyAccount(backstop.account)
  }
  const asset = group.asset
  let transferred = ZERO
  for (const risk of positions) {
    const market = state.rules.markets.get(risk.market)
    const position = account.positions.get(risk.market)
    const mark = marks.get(risk.market)
    assert(
      market !== undefined && position !== undefined && mark !== undefined,
      'Invariant: backstop positions exist (LIQ-017)',
    )
    closeScopePosition(work, state, account.id, risk.market)
    const size = neg(position.size)
    const close = closeLiquidated(
      work,
      account,
      position,
      market,
      [{ counterparty: vault, size, price: mark }],
      'backstop',
    )
    if (position.marginMode === 'isolated') {
      const returned = add(position.isolatedMargin, close.pnl)
      work.transfers.push(
        ...transferSigned(
          asset,
          isolatedMargin(account.id, risk.market),
          wallet(backstop.account),
          returned,
        ),
      )
      transferred = add(transferred, returned)
    }
  }
  if (isolatedMarket === null) {
    const rest = work.projectedWallet(account.id, asset)
    work.transfers.push(
      ...transferSigned(asset, wallet(account.id), wallet(backstop.account), max(ZERO, rest)),
    )
    transferred = add(transferred, max(ZERO, rest))
    work.settledScopes.push({ account: account.id, asset, uncovered: ZERO })
  }
  work.events.push({
    type: 'backstop_takeover',
    account: account.id,
    backstop: backstop.account,
    asset,
    market: isolatedMarket,
    markets: positions.map((risk) => risk.market),
    equity,
    maintenanceMargin: maintenance,
    threshold,
    marginTransferred: transferred,
    rule: 'LIQ-017',
    ...ruleSetFields(state.rules),
  })
}
