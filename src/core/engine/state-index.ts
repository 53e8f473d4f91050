/**
 * Running totals and indexes kept beside the engine state (docs/spec/engine.md, ENG-013): what is
 * held per asset, the net and long size per market, and the holders of each market sorted by id.
 * `applyPlan` updates them by what a command touched, so its always-on checks and a mark's trigger
 * cost O(what the command touched), not O(accounts).
 *
 * They are derived data, not state: they are not encoded, hashed or snapshotted. A state without
 * an index (restored from a snapshot, built by hand) gets one built from its contents on first use.
 */
import { assert } from '../assert.ts'
import { cashLegOf } from '../model/position-math.ts'
import { add, type Fixed, ZERO } from '../num/fixed.ts'
import type { MarkScreen } from './mark-screen.ts'
import type { AccountState, EngineState } from './state.ts'

/** Totals and indexes derived from one engine state. */
export interface EngineIndex {
  /** Whether `applyPlan` also runs the whole-state checks (`checkInvariants`) after each command. */
  verify: boolean
  /**
   * Per asset: Σ wallet balances + Σ isolated margins + Σ position cash legs + insurance fund +
   * fee pool (INV-001's left-hand side).
   */
  readonly held: Map<string, Fixed>
  /** Per market: Σ position sizes, `@book` included (INV-002: always 0). */
  readonly netSize: Map<string, Fixed>
  /** Per market: Σ long position sizes, `@book` included (open interest). */
  readonly longSize: Map<string, Fixed>
  /** Per market: ids of the accounts holding a position there. */
  readonly holders: Map<string, HolderSet>
  /** Per market: the mark screen (mark-screen.ts), created on the market's first mark. */
  readonly screens: Map<string, MarkScreen>
  /** Per account: ids of its open liquidation orders. */
  readonly ordersByAccount: Map<string, Set<string>>
  /**
   * Logs of touched account ids, one per reader that keeps a cache of account contents (the
   * journal's state hasher): `applyPlan` adds every account it touched to each (`noteTouched`).
   */
  readonly changeLogs: Set<Set<string>>
}

/** The holders of one market, with their id order computed when first needed after a change. */
export interface HolderSet {
  readonly ids: Set<string>
  sorted: string[] | null
}

const indexes = new WeakMap<EngineState, EngineIndex>()

function addTo(map: Map<string, Fixed>, key: string, amount: Fixed): void {
  if (amount === 0n) return
  const next = add(map.get(key) ?? ZERO, amount)
  if (next === 0n) map.delete(key)
  else map.set(key, next)
}

/** An empty index for a state with no positions and no money. */
export function emptyEngineIndex(verify: boolean): EngineIndex {
  return {
    verify,
    held: new Map(),
    netSize: new Map(),
    longSize: new Map(),
    holders: new Map(),
    screens: new Map(),
    ordersByAccount: new Map(),
    changeLogs: new Set(),
  }
}

/** Registers `index` as the index of `state` (used when a state is created). */
export function attachEngineIndex(state: EngineState, index: EngineIndex): void {
  indexes.set(state, index)
}

/**
 * What one account contributes to `held`, per asset: wallet balances, isolated margins and
 * position cash legs (linear −entryValue, inverse +entryValue).
 */
export function heldByAccount(state: EngineState, account: AccountState): Map<string, Fixed> {
  const held = new Map<string, Fixed>()
  for (const [asset, balance] of account.balances) addTo(held, asset, balance)
  for (const position of account.positions.values()) {
    const instrument = state.rules.markets.get(position.market)?.instrument
    assert(
      instrument !== undefined,
      `Invariant: every position is in a listed market (INV-006, account=${account.id}, market=${position.market})`,
    )
    const asset = instrument.settlementAsset
    addTo(held, asset, position.isolatedMargin)
    addTo(held, asset, cashLegOf(instrument, position.entryValue))
  }
  return held
}

/** Builds the index of `state` from its contents: O(accounts + positions). */
export function buildEngineIndex(state: EngineState, verify: boolean): EngineIndex {
  const index = emptyEngineIndex(verify)
  for (const [id, account] of state.accounts) {
    for (const [asset, amount] of heldByAccount(state, account)) addTo(index.held, asset, amount)
    for (const position of account.positions.values()) {
      addTo(index.netSize, position.market, position.size)
      if (position.size > 0n) addTo(index.longSize, position.market, position.size)
      addHolder(index, position.market, id)
    }
  }
  for (const [asset, amount] of state.insuranceFunds) addTo(index.held, asset, amount)
  for (const [asset, amount] of state.feePools) addTo(index.held, asset, amount)
  for (const order of state.liquidation.orders.values())
    noteOrder(index, order.account, order.orderId, true)
  return index
}

/** The index of `state`, built from its contents on first use (whole-state checks on). */
export function engineIndexOf(state: EngineState): EngineIndex {
  let index = indexes.get(state)
  if (index === undefined) {
    index = buildEngineIndex(state, true)
    indexes.set(state, index)
  }
  return index
}

/**
 * Starts a log of the accounts `applyPlan` touches in `state` from now on: a cache of account
 * contents re-reads only those. The caller empties the log as it reads it, and stops it with
 * `stopChangeLog` (a log holds at most one entry per account).
 */
export function startChangeLog(state: EngineState): Set<string> {
  const log = new Set<string>()
  engineIndexOf(state).changeLogs.add(log)
  return log
}

/** Stops a log started by `startChangeLog`. */
export function stopChangeLog(state: EngineState, log: Set<string>): void {
  indexes.get(state)?.changeLogs.delete(log)
}

/** Adds the accounts a command touched to every change log (called by `applyPlan`). */
export function noteTouched(index: EngineIndex, accounts: Iterable<string>): void {
  if (index.changeLogs.size === 0) return
  for (const log of index.changeLogs) for (const id of accounts) log.add(id)
}

/** Code-unit order of account ids (the order events are emitted in, ENG-021). */
export function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}

/** Records that `account` now holds a position in `market`. */
export function addHolder(index: EngineIndex, market: string, account: string): void {
  const holders = index.holders.get(market)
  if (holders === undefined) {
    index.holders.set(market, { ids: new Set([account]), sorted: null })
    return
  }
  if (holders.ids.has(account)) return
  holders.ids.add(account)
  holders.sorted = null
}

/** Records that `account` no longer holds a position in `market`. */
export function removeHolder(index: EngineIndex, market: string, account: string): void {
  const holders = index.holders.get(market)
  if (holders === undefined || !holders.ids.delete(account)) return
  holders.sorted = null
  if (holders.ids.size === 0) index.holders.delete(market)
}

/** The holders of `market` sorted by id (computed once per change of the set). */
export function sortedHolders(index: EngineIndex, market: string): readonly string[] {
  const holders = index.holders.get(market)
  if (holders === undefined) return []
  holders.sorted ??= [...holders.ids].sort(compareIds)
  return holders.sorted
}

/** Adds a signed amount to a per-key running total (entries that return to 0 are dropped). */
export function addToTotal(map: Map<string, Fixed>, key: string, amount: Fixed): void {
  addTo(map, key, amount)
}

/** Records that the liquidation order `orderId` of `account` is open (`open`) or gone. */
export function noteOrder(
  index: EngineIndex,
  account: string,
  orderId: string,
  open: boolean,
): void {
  const ids = index.ordersByAccount.get(account)
  if (open) {
    if (ids === undefined) index.ordersByAccount.set(account, new Set([orderId]))
    else ids.add(orderId)
    return
  }
  if (ids === undefined) return
  ids.delete(orderId)
  if (ids.size === 0) index.ordersByAccount.delete(account)
}
