/**
 * The one place that changes engine state (ENG-005): checks a plan's own invariants, applies it,
 * keeps the running totals and indexes (state-index.ts) up to date, then checks the invariants of
 * what the command touched, always, and of the whole state when verification is on (ENG-013,
 * invariants.ts). A violated invariant throws `InvariantError`: it is a bug, and the state can no
 * longer be trusted.
 */
import { InvariantError } from '../assert.ts'
import type { Position } from '../model/account.ts'
import { cashLegOf } from '../model/position-math.ts'
import { add, type Fixed, neg, sub, ZERO } from '../num/fixed.ts'
import { invalidateHolder } from './mark-screen.ts'
import { checkFundPools, checkInvariants, checkTouched, type Touched } from './invariants.ts'
import { applyLiquidationPart } from './liquidation/apply-part.ts'
import type { Holder, Plan } from './plan.ts'
import { type AccountState, emptyAccount, type EngineState } from './state.ts'
import {
  addHolder,
  addToTotal,
  type EngineIndex,
  engineIndexOf,
  heldByAccount,
  noteTouched,
  removeHolder,
} from './state-index.ts'

/** Throws `InvariantError` with the message built only when the condition fails. */
function check(condition: boolean, message: () => string): asserts condition {
  if (!condition) throw new InvariantError(message())
}

/** A key naming one holder and asset; used to net transfers. */
function holderKey(holder: Holder, asset: string): string {
  switch (holder.kind) {
    case 'wallet':
      return `wallet\u0000${holder.account}\u0000${asset}`
    case 'isolated_margin':
    case 'position':
      return `${holder.kind}\u0000${holder.account}\u0000${holder.market}\u0000${asset}`
    case 'insurance_fund':
      return `${holder.kind}\u0000${holder.fund ?? ''}\u0000${asset}`
    case 'fee_pool':
    case 'clearing':
    case 'external':
      return `${holder.kind}\u0000${asset}`
  }
}

interface Net {
  readonly holder: Holder
  readonly asset: string
  amount: Fixed
}

function addTo(map: Map<string, Fixed>, key: string, amount: Fixed): void {
  map.set(key, add(map.get(key) ?? ZERO, amount))
}

/** Nets a plan's transfers per holder and asset, checking each transfer's shape (INV-004). */
function netTransfers(planned: Plan): Map<string, Net> {
  const nets = new Map<string, Net>()
  const credit = (holder: Holder, asset: string, amount: Fixed): void => {
    const key = holderKey(holder, asset)
    const net = nets.get(key)
    if (net === undefined) nets.set(key, { holder, asset, amount })
    else net.amount = add(net.amount, amount)
  }
  for (const transfer of planned.transfers) {
    check(
      transfer.amount > 0n,
      () =>
        `Invariant: a transfer moves a positive amount (INV-004, asset=${transfer.asset}, amount=${transfer.amount})`,
    )
    const fromKey = holderKey(transfer.from, transfer.asset)
    check(
      fromKey !== holderKey(transfer.to, transfer.asset),
      () => `Invariant: a transfer moves between two holders (INV-004, holder=${fromKey})`,
    )
    credit(transfer.from, transfer.asset, neg(transfer.amount))
    credit(transfer.to, transfer.asset, transfer.amount)
  }
  return nets
}

/** The settlement asset and quoting of a market in the rule set in force. */
function marketOf(state: EngineState, market: string) {
  const rules = state.rules.markets.get(market)
  check(
    rules !== undefined,
    () =>
      `Invariant: positions and isolated margins belong to listed markets (INV-004, market=${market})`,
  )
  return rules.instrument
}

/**
 * Applies `planned` to `state` and records the command's sequence and time. Checks, in order:
 * the plan conserves each asset and moves each position's cash leg by exactly its net transfer
 * (INV-004), clearing nets to zero (INV-005); then the whole state (INV-001..INV-003, INV-006..).
 */
export function applyPlan(
  state: EngineState,
  planned: Plan,
  context: { readonly sequence: number; readonly timestampMs: number },
): void {
  const nets = netTransfers(planned)

  // INV-004: a position's cash leg (linear −entryValue, inverse +entryValue) moves by its net inflow.
  const entryDeltas = new Map<string, Fixed>()
  for (const change of planned.positionChanges) {
    addTo(entryDeltas, `${change.account}\u0000${change.market}`, change.entryValueDelta)
  }
  for (const net of nets.values()) {
    if (net.holder.kind === 'position') {
      const instrument = marketOf(state, net.holder.market)
      const holder = net.holder
      check(
        net.asset === instrument.settlementAsset,
        () =>
          `Invariant: a position holds its settlement asset only (INV-004, market=${holder.market}, asset=${net.asset})`,
      )
      const key = `${holder.account}\u0000${holder.market}`
      const entryDelta = entryDeltas.get(key) ?? ZERO
      const cashLegDelta = cashLegOf(instrument, entryDelta)
      check(
        cashLegDelta === net.amount,
        () =>
          `Invariant: a position's cash leg moves by its net transfer (INV-004, account=${holder.account}, market=${holder.market}, cashLegDelta=${cashLegDelta}, transfer=${net.amount})`,
      )
      entryDeltas.delete(key)
    }
    if (net.holder.kind === 'clearing') {
      check(
        net.amount === 0n,
        () =>
          `Invariant: clearing nets to zero within a plan (INV-005, asset=${net.asset}, net=${net.amount})`,
      )
    }
  }
  for (const [key, entryDelta] of entryDeltas) {
    check(
      entryDelta === 0n,
      () =>
        `Invariant: an entry value changes only against a transfer (INV-004, position=${key.replace('\u0000', '/')}, entryValueDelta=${entryDelta})`,
    )
  }

  // What the command touches, and what it held before (ENG-013): the running totals move by
  // the difference, and the touched accounts and markets are checked below.
  const index = engineIndexOf(state)
  const touchedAccounts = new Set<string>(planned.openAccounts)
  for (const change of planned.positionChanges) touchedAccounts.add(change.account)
  for (const setting of planned.settingChanges) touchedAccounts.add(setting.account)
  const touchedAssets = new Set<string>()
  for (const net of nets.values()) {
    touchedAssets.add(net.asset)
    const holder = net.holder
    if (holder.kind === 'wallet' || holder.kind === 'isolated_margin' || holder.kind === 'position')
      touchedAccounts.add(holder.account)
  }
  const before = new Map<string, AccountFootprint>()
  for (const id of touchedAccounts) {
    const account = state.accounts.get(id)
    if (account !== undefined) before.set(id, footprintOf(state, account))
  }
  const poolsBefore = new Map<string, Fixed>()
  for (const asset of touchedAssets) poolsBefore.set(asset, venuePoolsOf(state, asset))

  for (const id of planned.openAccounts) {
    check(
      !state.accounts.has(id),
      () => `Invariant: an account is opened once (INV-004, account=${id})`,
    )
    state.accounts.set(id, emptyAccount(id))
  }
  const accountOf = (id: string) => {
    const account = state.accounts.get(id)
    check(
      account !== undefined,
      () => `Invariant: plans name existing accounts (INV-004, account=${id})`,
    )
    return account
  }

  for (const setting of planned.settingChanges) {
    const account = accountOf(setting.account)
    account.settings.set(setting.market, {
      marginMode: setting.marginMode,
      leverage: setting.leverage,
    })
    const position = account.positions.get(setting.market)
    if (position !== undefined) {
      check(
        position.marginMode === setting.marginMode,
        () =>
          `Invariant: an open position keeps its margin mode (INV-004, account=${setting.account}, market=${setting.market})`,
      )
      account.positions.set(setting.market, { ...position, leverage: setting.leverage })
    }
  }

  // Positions first (created, resized), then isolated margins onto the resulting positions.
  const touched = new Set<string>()
  for (const change of planned.positionChanges) {
    const account = accountOf(change.account)
    const current = account.positions.get(change.market)
    const next: Position =
      current === undefined
        ? {
            market: change.market,
            size: change.sizeDelta,
            entryValue: change.entryValueDelta,
            marginMode: change.marginMode,
            isolatedMargin: ZERO,
            leverage: change.leverage,
          }
        : {
            ...current,
            size: add(current.size, change.sizeDelta),
            entryValue: add(current.entryValue, change.entryValueDelta),
          }
    account.positions.set(change.market, next)
    touched.add(`${change.account}\u0000${change.market}`)
  }

  for (const net of nets.values()) {
    const holder = net.holder
    switch (holder.kind) {
      case 'wallet': {
        const balances = accountOf(holder.account).balances
        balances.set(net.asset, add(balances.get(net.asset) ?? ZERO, net.amount))
        break
      }
      case 'isolated_margin': {
        const account = accountOf(holder.account)
        const position = account.positions.get(holder.market)
        check(
          position !== undefined,
          () =>
            `Invariant: isolated margin belongs to a position (INV-004, account=${holder.account}, market=${holder.market})`,
        )
        check(
          position.marginMode === 'isolated',
          () =>
            `Invariant: only isolated positions hold isolated margin (INV-006, account=${holder.account}, market=${holder.market})`,
        )
        check(
          net.asset === marketOf(state, holder.market).settlementAsset,
          () =>
            `Invariant: isolated margin is in the settlement asset (INV-004, market=${holder.market})`,
        )
        account.positions.set(holder.market, {
          ...position,
          isolatedMargin: add(position.isolatedMargin, net.amount),
        })
        touched.add(`${holder.account}\u0000${holder.market}`)
        break
      }
      case 'insurance_fund':
        state.insuranceFunds.set(
          net.asset,
          add(state.insuranceFunds.get(net.asset) ?? ZERO, net.amount),
        )
        if (holder.fund !== undefined) {
          const pool = state.liquidation.fundPools.get(holder.fund) ?? new Map<string, Fixed>()
          pool.set(net.asset, add(pool.get(net.asset) ?? ZERO, net.amount))
          state.liquidation.fundPools.set(holder.fund, pool)
        }
        break
      case 'fee_pool':
        state.feePools.set(net.asset, add(state.feePools.get(net.asset) ?? ZERO, net.amount))
        break
      case 'external':
        // Out of the venue is a deposit (negative net), into it a withdrawal (positive net).
        if (net.amount < 0n)
          state.deposits.set(net.asset, add(state.deposits.get(net.asset) ?? ZERO, neg(net.amount)))
        if (net.amount > 0n)
          state.withdrawals.set(
            net.asset,
            add(state.withdrawals.get(net.asset) ?? ZERO, net.amount),
          )
        break
      case 'position':
      case 'clearing':
        break
    }
  }

  for (const key of touched) {
    const [accountId = '', market = ''] = key.split('\u0000')
    const account = accountOf(accountId)
    const position = account.positions.get(market)
    if (position === undefined || position.size !== 0n) continue
    check(
      position.entryValue === 0n,
      () =>
        `Invariant: a closed position leaves no entry value (INV-003, account=${accountId}, market=${market}, entryValue=${position.entryValue})`,
    )
    check(
      position.isolatedMargin === 0n,
      () =>
        `Invariant: a closed position's isolated margin returns to the wallet (INV-003, account=${accountId}, market=${market}, isolatedMargin=${position.isolatedMargin})`,
    )
    account.positions.delete(market)
  }

  for (const [market, prices] of planned.priceUpdates) state.prices.set(market, prices)
  for (const [market, price] of planned.expireMarkets) state.expiredMarkets.set(market, price)
  if (planned.ruleSet !== null) {
    state.rules = planned.ruleSet
    for (const market of [...state.prices.keys()])
      if (!planned.ruleSet.markets.has(market)) state.prices.delete(market)
  }

  applyLiquidationPart(state, planned, context.timestampMs, touchedAccounts)

  state.lastSequence = context.sequence
  state.lastTimestampMs = context.timestampMs

  // A new rule set changes every requirement: every screen starts over (ENG-014).
  if (planned.ruleSet !== null) index.screens.clear()
  const changed = updateIndex(state, index, touchedAccounts, before, poolsBefore, touchedAssets)
  noteTouched(index, touchedAccounts)
  checkTouched(state, index, changed)
  checkFundPools(state)
  if (index.verify) checkInvariants(state)
}

/** What one account holds per asset and its position size per market. */
interface AccountFootprint {
  readonly held: Map<string, Fixed>
  readonly sizes: Map<string, Fixed>
}

function footprintOf(state: EngineState, account: AccountState): AccountFootprint {
  const sizes = new Map<string, Fixed>()
  for (const [market, position] of account.positions) sizes.set(market, position.size)
  return { held: heldByAccount(state, account), sizes }
}

/** Insurance fund plus fee pool of `asset`: the venue's own holders in INV-001. */
function venuePoolsOf(state: EngineState, asset: string): Fixed {
  return add(state.insuranceFunds.get(asset) ?? ZERO, state.feePools.get(asset) ?? ZERO)
}

const NO_FOOTPRINT: AccountFootprint = { held: new Map(), sizes: new Map() }

/**
 * Moves the running totals by what the touched accounts and pools hold now less what they held
 * before (ENG-013), and returns what was touched for the checks.
 */
function updateIndex(
  state: EngineState,
  index: EngineIndex,
  touchedAccounts: ReadonlySet<string>,
  before: ReadonlyMap<string, AccountFootprint>,
  poolsBefore: ReadonlyMap<string, Fixed>,
  touchedAssets: Set<string>,
): Touched {
  const touchedMarkets = new Set<string>()
  const added = new Map<string, string[]>()
  const removed = new Map<string, string[]>()
  const accounts: AccountState[] = []
  const note = (map: Map<string, string[]>, market: string, id: string): void => {
    const list = map.get(market)
    if (list === undefined) map.set(market, [id])
    else list.push(id)
  }
  for (const [asset, pools] of poolsBefore)
    addToTotal(index.held, asset, sub(venuePoolsOf(state, asset), pools))
  for (const id of touchedAccounts) {
    const account = state.accounts.get(id)
    const was = before.get(id) ?? NO_FOOTPRINT
    const now = account === undefined ? NO_FOOTPRINT : footprintOf(state, account)
    if (account !== undefined) accounts.push(account)
    for (const [asset, amount] of was.held) {
      addToTotal(index.held, asset, neg(amount))
      touchedAssets.add(asset)
    }
    for (const [asset, amount] of now.held) {
      addToTotal(index.held, asset, amount)
      touchedAssets.add(asset)
    }
    for (const market of touchedScreens(index, was, now)) {
      const screen = index.screens.get(market)
      if (screen !== undefined) invalidateHolder(screen, id, now.sizes.has(market))
    }
    for (const [market, size] of was.sizes) {
      touchedMarkets.add(market)
      addToTotal(index.netSize, market, neg(size))
      if (size > 0n) addToTotal(index.longSize, market, neg(size))
      if (!now.sizes.has(market)) note(removed, market, id)
    }
    for (const [market, size] of now.sizes) {
      touchedMarkets.add(market)
      addToTotal(index.netSize, market, size)
      if (size > 0n) addToTotal(index.longSize, market, size)
      if (!was.sizes.has(market)) note(added, market, id)
    }
  }
  for (const [market, ids] of removed) for (const id of ids) removeHolder(index, market, id)
  for (const [market, ids] of added) for (const id of ids) addHolder(index, market, id)
  return { accounts, markets: touchedMarkets, assets: touchedAssets }
}

/** Markets whose screen must forget an account: those it held a position in before or after. */
function touchedScreens(
  index: EngineIndex,
  was: AccountFootprint,
  now: AccountFootprint,
): Iterable<string> {
  if (index.screens.size === 0) return []
  return new Set([...was.sizes.keys(), ...now.sizes.keys()])
}
