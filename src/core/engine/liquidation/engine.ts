/**
 * Liquidation execution and the loss-allocation waterfall inside the engine
 * (docs/spec/liquidation.md, LIQ-*). Everything is computed as a plan (ENG-005) from the rule set's
 * `liquidation` section; the loss planners of src/core/loss do the fund draws, ADL and socialized
 * loss. The core never matches: it emits orders and consumes fills reported back.
 */
import { assert } from '../../assert.ts'
import type { AdlCandidate, AdlSide } from '../../loss/adl.ts'
import { type AdlBookPlan, planAdlOnBook } from '../../loss/adl-book.ts'
import { evaluateAdlTriggers, type FundState, planFundDraw } from '../../loss/insurance-fund.ts'
import { planOpenInterestCharge, planProRataHaircut } from '../../loss/socialized-loss.ts'
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
  isMultipleOf,
  max,
  min,
  mul,
  mulDiv,
  neg,
  ONE,
  roundToStep,
  sign,
  sub,
  sum,
  ZERO,
} from '../../num/fixed.ts'
import type { GradualDisposal } from '../../rules/liquidation-rules.ts'
import type { LiquidationRules, MarketRules, RuleSet } from '../../rules/rule-set.ts'
import type {
  CommandContext,
  InsuranceFundDepositCommand,
  LiquidationFillCommand,
  LiquidationTakeoverCommand,
} from '../commands.ts'
import type { EngineEvent } from '../events.ts'
import { cashLegOf } from '../../model/position-math.ts'
import { feeOf, planFillSide } from '../fills.ts'
import { hasAllMarks, openInterestValues } from '../margin.ts'
import {
  EXTERNAL,
  FEE_POOL,
  type Holder,
  insuranceFundOf,
  isolatedMargin,
  type Plan,
  type PositionChange,
  plan,
  positionHolder,
  type Transfer,
  transferSigned,
  wallet,
} from '../plan.ts'
import { refuse, type Refusal } from '../result-codes.ts'
import {
  type AccountState,
  BOOK_ACCOUNT_ID,
  type EngineState,
  emptyAccount,
  holdersOf,
  optionValuationOf,
} from '../state.ts'
import { adlBookOf, opposingCandidates } from './adl-candidates.ts'
import type { LiquidationPlan, ShortfallRecord } from './plan-part.ts'
import { fundMarketKey, type LiquidationOrder, poolBalance, withFundPoint } from './state.ts'

/** A handler's answer, as in execute.ts. */
export type Handled = Refusal | { readonly plan: Plan; readonly events: readonly EngineEvent[] }

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}

/** System accounts (`@book`, a backstop vault) are never liquidated, ranked or socialized. */
export function isSystemAccount(id: string): boolean {
  return id.startsWith('@')
}

/**
 * The system accounts the rule set's liquidation section names (backstop vault, network party,
 * LIQ-017, LIQ-070): they take over positions but are never margin-checked, so a mark reports no
 * `account_below_maintenance` for them (ENG-008).
 */
export function liquidationSystemAccounts(rules: RuleSet): ReadonlySet<string> {
  const named = new Set<string>()
  const liquidation = rules.liquidation
  if (liquidation?.backstop) named.add(liquidation.backstop.account)
  if (liquidation?.network) named.add(liquidation.network.account)
  return named
}

/** Collects a plan's parts while the chain is worked out. */
class Planner {
  readonly transfers: Transfer[] = []
  readonly positionChanges: PositionChange[] = []
  readonly events: EngineEvent[] = []
  readonly openAccounts: string[] = []
  readonly setOrders: LiquidationOrder[] = []
  readonly removeOrders: string[] = []
  readonly historyMarkets: { fund: string; asset: string; market: string }[] = []
  readonly marketPnlDeltas: { key: string; delta: Fixed }[] = []
  readonly drawnDeltas: { key: string; delta: Fixed }[] = []
  readonly triggerActive: { key: string; active: readonly boolean[] }[] = []
  readonly partialTimes: { key: string; timestampMs: number }[] = []
  readonly shortfalls: ShortfallRecord[] = []
  readonly settledScopes: { account: string; asset: string; uncovered: Fixed }[] = []
  /**
   * `account/market` of positions this plan closes whole (closeouts, backstop takeovers): their
   * holders are no longer winners of the market and are never charged a socialized loss.
   */
  readonly closedPositions = new Set<string>()
  /** Pool changes not yet applied: `fund/asset` → amount. */
  readonly pendingPools = new Map<string, Fixed>()
  nextOrderNumber: number

  constructor(
    readonly state: EngineState,
    readonly rules: RuleSet,
    readonly liquidation: LiquidationRules,
    readonly nowMs: number,
  ) {
    this.nextOrderNumber = state.liquidation.nextOrderNumber
  }

  /**
   * Marks of the command being planned: a `mark_price` plans with its new mark before the state
   * holds it (a closeout in that command sees it); `null`: the state's marks.
   */
  marks: ReadonlyMap<string, Fixed> | null = null

  /**
   * How options are valued in this plan: a `mark_price` of an option plans with its new volatility
   * before the state holds it (OPT-023); `null`: the state's, at the plan's time.
   */
  valuation: OptionValuation | null = null

  /** The option valuation this plan works with. */
  optionValuation(): OptionValuation {
    return this.valuation ?? optionValuationOf(this.state, this.nowMs)
  }

  /** The mark of `market` this plan works with. */
  markOf(market: string): Fixed | undefined {
    return this.marks?.get(market) ?? this.state.prices.get(market)?.mark
  }

  /** Pool balance including this plan's pending changes. */
  poolBalance(fund: string, asset: string): Fixed {
    return add(
      poolBalance(this.state.liquidation, fund, asset),
      this.pendingPools.get(`${fund}/${asset}`) ?? ZERO,
    )
  }

  /** Moves `amount` (> 0) into (credit) or out of (draw) the fund backing `market`. */
  fundFlow(
    market: string,
    asset: string,
    other: Holder,
    amount: Fixed,
    reason:
      | 'liquidation_fee'
      | 'liquidation_surplus'
      | 'shortfall_draw'
      | 'over_collection'
      | 'network_pnl',
    rule: string,
  ): void {
    if (amount === 0n) return
    const fundHolder = insuranceFundOf(this.rules, market)
    const credit = reason !== 'shortfall_draw'
    this.transfers.push(
      credit
        ? { asset, from: other, to: fundHolder, amount }
        : { asset, from: fundHolder, to: other, amount },
    )
    if (fundHolder.kind !== 'insurance_fund' || fundHolder.fund === undefined) return
    const fund = fundHolder.fund
    const signed = credit ? amount : neg(amount)
    const poolKey = `${fund}/${asset}`
    this.pendingPools.set(poolKey, add(this.pendingPools.get(poolKey) ?? ZERO, signed))
    const key = fundMarketKey(fund, asset, market)
    this.marketPnlDeltas.push({ key, delta: signed })
    if (!credit) this.drawnDeltas.push({ key: `${fund}/${market}`, delta: amount })
    if (
      !this.historyMarkets.some((entry) => `${entry.fund}/${entry.asset}/${entry.market}` === key)
    )
      this.historyMarkets.push({ fund, asset, market })
    this.events.push({
      type: 'insurance_fund_pool_changed',
      fund,
      asset,
      market,
      amount: signed,
      balance: this.poolBalance(fund, asset),
      reason,
      rule,
    })
  }

  /** The account's wallet in `asset` after the transfers planned so far. */
  projectedWallet(account: string, asset: string): Fixed {
    let balance = this.state.accounts.get(account)?.balances.get(asset) ?? ZERO
    for (const transfer of this.transfers) {
      if (transfer.asset !== asset) continue
      if (transfer.to.kind === 'wallet' && transfer.to.account === account)
        balance = add(balance, transfer.amount)
      if (transfer.from.kind === 'wallet' && transfer.from.account === account)
        balance = sub(balance, transfer.amount)
    }
    return balance
  }

  toHandled(): Handled {
    const part: LiquidationPlan = {
      setOrders: this.setOrders,
      removeOrders: this.removeOrders,
      nextOrderNumber: this.nextOrderNumber,
      historyMarkets: this.historyMarkets,
      marketPnlDeltas: this.marketPnlDeltas,
      drawnDeltas: this.drawnDeltas,
      triggerActive: this.triggerActive,
      partialTimes: this.partialTimes,
      shortfalls: this.shortfalls,
      settledScopes: this.settledScopes,
    }
    return {
      plan: plan({
        openAccounts: this.openAccounts,
        transfers: this.transfers,
        positionChanges: this.positionChanges,
        liquidation: part,
      }),
      events: this.events,
    }
  }
}

/** Market rules with the trading fees set to zero (takeovers and ADL pay no fee). */
function withoutFees(market: MarketRules): MarketRules {
  return { ...market, makerFeeRate: ZERO, takerFeeRate: ZERO }
}

function ruleSetFields(rules: RuleSet) {
  return { ruleSetId: rules.id, ruleSetVersion: rules.version }
}

// ---------------------------------------------------------------------------------------------
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
function fillCounterparty(
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
function closeScopePosition(
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
    const fee = mul(contractValue(instrument, closed, mark), market.liquidationFeeRate, 'ceil')
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

// ---------------------------------------------------------------------------------------------
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

// ---------------------------------------------------------------------------------------------
// Closing the liquidated side (LIQ-030..LIQ-034)

interface ClosePiece {
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
interface AdlFeeRates {
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
function closeLiquidated(
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
      const raw = mul(abs(totalValue), market.liquidationFeeRate, work.rules.account.feeRounding)
      fee = work.liquidation.feeCap === 'surplus' ? min(raw, max(ZERO, difference)) : raw
    }
    if (adlFees !== undefined && adlFees.liquidated !== 0n) {
      // LIQ-054: the liquidated side's fee on its ADL closes, paid out of what the closed share
      // keeps after the surplus (the close fee its bankruptcy price reserves), never more, so the
      // fee opens no gap that the fund or the winners would pay.
      const adlValue = sum(
        values.filter((_, index) => pieces[index]?.counterparty.id !== BOOK_ACCOUNT_ID),
      )
      const raw = feeOf(work.rules, adlValue, adlFees.liquidated)
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
function closedShare(
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
function settleAfterClose(
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

// ---------------------------------------------------------------------------------------------
// The loss chain (LIQ-040..LIQ-046)

function fundStateOf(
  work: Planner,
  market: string,
  asset: string,
): { fund: string | null; funds: Map<string, FundState> } {
  const holder = insuranceFundOf(work.rules, market)
  const fund = holder.kind === 'insurance_fund' && holder.fund !== undefined ? holder.fund : null
  const funds = new Map<string, FundState>()
  if (fund !== null) {
    const drawn = new Map<string, Fixed>()
    const key = `${fund}/${market}`
    const pending = sum(
      work.drawnDeltas.filter((entry) => entry.key === key).map((entry) => entry.delta),
    )
    drawn.set(market, add(work.state.liquidation.drawnByMarket.get(key) ?? ZERO, pending))
    funds.set(fund, { fundId: fund, balance: work.poolBalance(fund, asset), drawnByMarket: drawn })
  }
  return { fund, funds }
}

/** ADL trigger evaluation after a hypothetical draw (INS-005..INS-007). */
function triggersAfterDraw(
  work: Planner,
  fund: string | null,
  asset: string,
  market: string,
  drawn: Fixed,
) {
  const policy = work.liquidation.insuranceFund
  if (fund === null || policy.adlTriggers.length === 0)
    return { active: false, states: [] as boolean[], beyondLevel: ZERO }
  const key = fundMarketKey(fund, asset, market)
  const recorded = work.state.liquidation.fundHistory.get(key) ?? []
  const pnl = sub(
    add(
      work.state.liquidation.fundMarketPnl.get(key) ?? ZERO,
      sum(work.marketPnlDeltas.filter((entry) => entry.key === key).map((entry) => entry.delta)),
    ),
    drawn,
  )
  // Every recorded point counts, also those of this millisecond (a peak reached earlier in it).
  const balanceAfter = sub(work.poolBalance(fund, asset), drawn)
  const history = withFundPoint(
    recorded,
    { timestampMs: work.nowMs, balance: balanceAfter, marketPnl: pnl },
    Number.POSITIVE_INFINITY,
  )
  const report = evaluateAdlTriggers(
    policy,
    history,
    work.state.liquidation.triggerActive.get(key) ?? [],
  )
  // LIQ-055: how far the draw takes the fund past the level of its active triggers (the pool's
  // exhaustion threshold; the PnL ratio's trigger level, BY-07 (1)), at most the draw itself.
  let beyondLevel = ZERO
  report.evaluations.forEach((evaluation, index) => {
    const rule = policy.adlTriggers[index]
    if (!evaluation.active || rule === undefined) return
    const beyond =
      rule.kind === 'exhaustion'
        ? sub(rule.threshold, balanceAfter)
        : rule.kind === 'market_pnl_ratio'
          ? evaluation.lossBeyondTrigger
          : drawn
    beyondLevel = max(beyondLevel, min(drawn, max(ZERO, beyond)))
  })
  return {
    active: report.active,
    states: report.evaluations.map((evaluation) => evaluation.active),
    beyondLevel,
  }
}

function runChain(
  work: Planner,
  order: LiquidationOrder,
  account: AccountState,
  market: MarketRules,
  payee: Holder,
  shortfall: Fixed,
  adlCovered: Fixed,
): { paid: Fixed; uncovered: Fixed } {
  const asset = market.instrument.settlementAsset
  const marketId = market.instrument.market
  if (shortfall === 0n && adlCovered === 0n) return { paid: ZERO, uncovered: ZERO }
  const { fund, funds } = fundStateOf(work, marketId, asset)
  const draw = planFundDraw(work.liquidation.insuranceFund, funds, marketId, shortfall)
  if (draw.drawn > 0n)
    work.fundFlow(marketId, asset, payee, draw.drawn, 'shortfall_draw', draw.explanation.rule)
  if (fund !== null && draw.drawn > 0n) {
    const triggers = triggersAfterDraw(work, fund, asset, marketId, ZERO)
    work.triggerActive.push({ key: fundMarketKey(fund, asset, marketId), active: triggers.states })
  }
  let rest = draw.uncovered
  let socialized = ZERO
  const policy = work.liquidation.socializedLoss
  if (rest > 0n && policy !== null) {
    const mark = work.markOf(marketId)
    const holders: AccountState[] = []
    for (const id of holdersOf(work.state, marketId)) {
      const other = work.state.accounts.get(id)
      if (
        other !== undefined &&
        other.id !== account.id &&
        !isSystemAccount(other.id) &&
        !work.closedPositions.has(`${other.id}/${marketId}`)
      )
        holders.push(other)
    }
    const charges: { account: AccountState; amount: Fixed }[] = []
    if (policy.kind === 'pro_rata_winners' && mark !== undefined) {
      const profits = holders.map((other) => {
        const position = other.positions.get(marketId)
        assert(position !== undefined, 'Invariant: a holder has its position (LIQ-044)')
        return {
          accountId: other.id,
          profit: unrealizedPnl(market.instrument, position.size, position.entryValue, mark),
        }
      })
      const haircuts = planProRataHaircut(policy, rest, profits)
      for (const allocation of haircuts.allocations) {
        const other = work.state.accounts.get(allocation.accountId)
        if (other !== undefined && allocation.haircut > 0n)
          charges.push({ account: other, amount: allocation.haircut })
      }
    }
    if (policy.kind === 'open_interest_charge') {
      const charge = planOpenInterestCharge(
        policy,
        rest,
        holders.map((other) => ({
          accountId: other.id,
          size: other.positions.get(marketId)?.size ?? ZERO,
        })),
      )
      for (const entry of charge.charges) {
        const other = work.state.accounts.get(entry.accountId)
        if (other !== undefined && entry.charge > 0n)
          charges.push({ account: other, amount: entry.charge })
      }
    }
    let collected = ZERO
    for (const { account: other, amount } of charges) {
      const position = other.positions.get(marketId)
      const from =
        position?.marginMode === 'isolated' ? isolatedMargin(other.id, marketId) : wallet(other.id)
      work.transfers.push({ asset, from, to: payee, amount })
      collected = add(collected, amount)
      work.events.push({
        type: 'socialized_loss_charged',
        orderId: order.orderId,
        account: other.id,
        counterparty: account.id,
        market: marketId,
        amount,
        basis: policy.kind === 'pro_rata_winners' ? policy.basis : 'open_interest',
        rule: policy.kind === 'pro_rata_winners' ? 'SOC-002' : 'SOC-009',
        ...ruleSetFields(work.rules),
      })
    }
    const over = max(ZERO, sub(collected, rest))
    if (over > 0n) work.fundFlow(marketId, asset, payee, over, 'over_collection', 'SOC-011')
    socialized = min(collected, rest)
    rest = sub(rest, socialized)
  }
  const uncovered = rest
  const paid = add(draw.drawn, socialized)
  const record: ShortfallRecord = {
    orderId: order.orderId,
    account: account.id,
    asset,
    shortfall: add(shortfall, adlCovered),
    insuranceFund: draw.drawn,
    adl: adlCovered,
    socialized,
    uncovered,
  }
  work.shortfalls.push(record)
  work.events.push({
    type: 'shortfall_allocated',
    orderId: order.orderId,
    account: account.id,
    market: marketId,
    asset,
    shortfall: record.shortfall,
    insuranceFund: record.insuranceFund,
    adl: record.adl,
    socialized: record.socialized,
    uncovered: record.uncovered,
    fund,
    fundLimitedBy: draw.limitedBy,
    chainExhausted: uncovered > 0n,
    rule: uncovered > 0n ? 'LIQ-045' : 'LIQ-040',
    ...ruleSetFields(work.rules),
  })
  return { paid, uncovered }
}

// ---------------------------------------------------------------------------------------------
// Commands

function orderOf(state: EngineState, orderId: string): LiquidationOrder | Refusal {
  return state.liquidation.orders.get(orderId) ?? refuse('liquidation_order_not_found', { orderId })
}

/** Why a fill of `order` is refused (LIQ-030), or `null`: lot and tick grid, size, limit. */
function fillRefusal(
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

// ---------------------------------------------------------------------------------------------
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
function networkCloseout(
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
function planNetworkDisposals(work: Planner, marks: ReadonlyMap<string, Fixed>): void {
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
function disposalFill(
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
function disposalLapse(
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
