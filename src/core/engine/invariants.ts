/**
 * Invariants (docs/spec/engine.md, INV-*, ENG-013). `checkTouched` and `checkFundPools` run after
 * every applied command and cost O(what the command touched): the touched accounts' positions,
 * the touched markets' net size and the touched assets' conservation, from the running totals.
 * `checkInvariants` checks the whole state, O(accounts), after every command when verification is
 * on (the default), and on every restored snapshot. Each failure throws `InvariantError` naming
 * its id.
 */
import { assert, InvariantError } from '../assert.ts'
import type { Position } from '../model/account.ts'
import { abs, add, type Fixed, sign, sub, ZERO } from '../num/fixed.ts'
import { evaluateAccountMargin } from '../margin/evaluate.ts'
import { belowMaintenanceEvents, openInterestValues } from './margin.ts'
import {
  type AccountState,
  BOOK_ACCOUNT_ID,
  type EngineState,
  markPrices,
  optionValuationOf,
} from './state.ts'
import {
  buildEngineIndex,
  type EngineIndex,
  engineIndexOf,
  heldByAccount,
  sortedHolders,
} from './state-index.ts'

/** Throws `InvariantError` with the message built only when the condition fails. */
function check(condition: boolean, message: () => string): asserts condition {
  if (!condition) throw new InvariantError(message())
}

function addTo(map: Map<string, Fixed>, key: string, amount: Fixed): void {
  map.set(key, add(map.get(key) ?? ZERO, amount))
}

/**
 * Per asset, what the venue holds (INV-001):
 * Σ wallet balances + Σ isolated margins + insurance fund + fee pool + Σ position cash legs,
 * where a linear position's cash leg is −entryValue and an inverse position's is +entryValue.
 */
export function heldPerAsset(state: EngineState): Map<string, Fixed> {
  const held = new Map<string, Fixed>()
  for (const account of state.accounts.values()) {
    for (const [asset, amount] of heldByAccount(state, account)) addTo(held, asset, amount)
  }
  for (const [asset, amount] of state.insuranceFunds) addTo(held, asset, amount)
  for (const [asset, amount] of state.feePools) addTo(held, asset, amount)
  return held
}

/** Checks every whole-state invariant; throws `InvariantError` on the first violated one. */
export function checkInvariants(state: EngineState): void {
  // INV-001 conservation: held = deposits − withdrawals, per asset, exactly.
  const held = heldPerAsset(state)
  const assets = new Set([...held.keys(), ...state.deposits.keys(), ...state.withdrawals.keys()])
  for (const asset of assets) {
    const expected = sub(state.deposits.get(asset) ?? ZERO, state.withdrawals.get(asset) ?? ZERO)
    const actual = held.get(asset) ?? ZERO
    assert(
      actual === expected,
      `Invariant: each asset is conserved (INV-001, asset=${asset}, held=${actual}, depositsLessWithdrawals=${expected})`,
    )
  }

  // INV-002 open interest: long = short per market (Σ size = 0, @book included).
  const openInterest = new Map<string, Fixed>()
  for (const account of state.accounts.values()) {
    for (const position of account.positions.values()) {
      checkPosition(state, account, position)
      addTo(openInterest, position.market, position.size)
    }
  }
  checkFundPools(state)
  for (const [market, net] of openInterest) {
    assert(
      net === 0n,
      `Invariant: open interest long equals short (INV-002, market=${market}, net=${net})`,
    )
  }
  checkRunningTotals(state, held, openInterest)
}

/**
 * INV-003, INV-006, INV-007 for one stored position: non-empty, entry value with the sign of the
 * size, cross positions without isolated margin, `@book` cross, in a listed and unsettled market.
 */
function checkPosition(state: EngineState, account: AccountState, position: Position): void {
  // INV-003 stored positions are non-empty; entry value has the sign of the size (or is 0).
  check(
    position.size !== 0n,
    () =>
      `Invariant: no stored position has size 0 (INV-003, account=${account.id}, market=${position.market})`,
  )
  const entrySign = sign(position.entryValue)
  check(
    entrySign === 0n || entrySign === sign(position.size),
    () =>
      `Invariant: entry value has the sign of the size (INV-003, account=${account.id}, market=${position.market})`,
  )
  // INV-006 margin modes: cross positions hold no isolated margin; @book is cross.
  if (position.marginMode === 'cross') {
    check(
      position.isolatedMargin === 0n,
      () =>
        `Invariant: cross positions hold no isolated margin (INV-006, account=${account.id}, market=${position.market})`,
    )
  }
  if (account.id === BOOK_ACCOUNT_ID) {
    check(
      position.marginMode === 'cross',
      () => `Invariant: the book's positions are cross (INV-006, market=${position.market})`,
    )
  }
  check(
    state.rules.markets.has(position.market),
    () =>
      `Invariant: every position is in a listed market (INV-006, account=${account.id}, market=${position.market})`,
  )
  // INV-007 settled markets hold no positions.
  check(
    !state.expiredMarkets.has(position.market),
    () =>
      `Invariant: a settled market holds no positions (INV-007, account=${account.id}, market=${position.market})`,
  )
}

/** What a command touched: the accounts (as they are now), markets and assets. */
export interface Touched {
  readonly accounts: readonly AccountState[]
  readonly markets: ReadonlySet<string>
  readonly assets: ReadonlySet<string>
}

/**
 * The always-on checks after a command (ENG-013), O(what it touched): every position of a touched
 * account (INV-003, INV-006, INV-007), Σ size = 0 in each touched market (INV-002), and for each
 * touched asset what the venue holds, from the running totals, = deposits − withdrawals (INV-001).
 */
export function checkTouched(state: EngineState, index: EngineIndex, touched: Touched): void {
  for (const account of touched.accounts)
    for (const position of account.positions.values()) checkPosition(state, account, position)
  for (const market of touched.markets) {
    const net = index.netSize.get(market) ?? ZERO
    check(
      net === 0n,
      () => `Invariant: open interest long equals short (INV-002, market=${market}, net=${net})`,
    )
  }
  for (const asset of touched.assets) {
    const expected = sub(state.deposits.get(asset) ?? ZERO, state.withdrawals.get(asset) ?? ZERO)
    const actual = index.held.get(asset) ?? ZERO
    check(
      actual === expected,
      () =>
        `Invariant: each asset is conserved (INV-001, asset=${asset}, held=${actual}, depositsLessWithdrawals=${expected})`,
    )
  }
}

/** INV-008, O(pools): no insurance-fund pool is negative; per asset they add up to at most the fund. */
export function checkFundPools(state: EngineState): void {
  const pooled = new Map<string, Fixed>()
  for (const [fund, pool] of state.liquidation.fundPools) {
    for (const [asset, balance] of pool) {
      assert(
        balance >= 0n,
        `Invariant: an insurance-fund pool is not negative (INV-008, fund=${fund}, asset=${asset}, balance=${balance})`,
      )
      addTo(pooled, asset, balance)
    }
  }
  for (const [asset, total] of pooled) {
    const fund = state.insuranceFunds.get(asset) ?? ZERO
    assert(
      total <= fund,
      `Invariant: pools add up to at most the asset's insurance fund (INV-008, asset=${asset}, pooled=${total}, fund=${fund})`,
    )
  }
}

/**
 * The running totals and holder index (state-index.ts) agree with the state they were kept for
 * (ENG-013): held per asset, net and long size per market, holders per market.
 */
function checkRunningTotals(
  state: EngineState,
  held: ReadonlyMap<string, Fixed>,
  openInterest: ReadonlyMap<string, Fixed>,
): void {
  const index = engineIndexOf(state)
  const rebuilt = buildEngineIndex(state, index.verify)
  const same = (a: ReadonlyMap<string, Fixed>, b: ReadonlyMap<string, Fixed>): boolean => {
    const keys = new Set([...a.keys(), ...b.keys()])
    for (const key of keys) if ((a.get(key) ?? ZERO) !== (b.get(key) ?? ZERO)) return false
    return true
  }
  assert(
    same(index.held, held),
    'Invariant: the running held totals match the state (INV-001, ENG-013)',
  )
  assert(
    same(index.netSize, openInterest) && same(index.longSize, rebuilt.longSize),
    'Invariant: the running open-interest totals match the state (INV-002, ENG-013)',
  )
  const markets = new Set([...index.holders.keys(), ...rebuilt.holders.keys()])
  for (const market of markets) {
    const kept = index.holders.get(market)?.ids ?? new Set<string>()
    const actual = rebuilt.holders.get(market)?.ids ?? new Set<string>()
    const sorted = sortedHolders(index, market)
    check(
      kept.size === actual.size &&
        [...actual].every((id) => kept.has(id)) &&
        sorted.length === kept.size &&
        sorted.every((id, at) => at === 0 || (sorted[at - 1] ?? '') < id),
      () => `Invariant: the holder index matches the positions (ENG-013, market=${market})`,
    )
  }
  // LIQ-024: every open order is in line with its position, and the order index lists it.
  let indexed = 0
  for (const ids of index.ordersByAccount.values()) indexed += ids.size
  check(
    indexed === state.liquidation.orders.size,
    () => 'Invariant: the order index lists every open order (ENG-013)',
  )
  for (const [id, order] of state.liquidation.orders) {
    const position = state.accounts.get(order.account)?.positions.get(order.market)
    check(
      index.ordersByAccount.get(order.account)?.has(id) === true &&
        position !== undefined &&
        sign(position.size) !== sign(order.remaining) &&
        abs(order.remaining) <= abs(position.size),
      () =>
        `Invariant: an open order closes at most its position (LIQ-024, order=${id}, account=${order.account})`,
    )
  }
  checkMarkScreens(state, index)
}

/**
 * ENG-014: every account the mark screen leaves out of a mark holds a position, its safe interval
 * contains the market's current mark, and it is not below maintenance there.
 */
function checkMarkScreens(state: EngineState, index: EngineIndex): void {
  const marks = markPrices(state)
  const openInterest = openInterestValues(state, marks)
  for (const [market, screen] of index.screens) {
    if (screen.rules !== state.rules) continue
    const mark = marks.get(market)
    for (const [id, interval] of screen.live) {
      const account = state.accounts.get(id)
      check(
        account?.positions.has(market) === true &&
          mark !== undefined &&
          interval.low <= mark &&
          mark <= interval.high,
        () =>
          `Invariant: a screened account holds a position whose interval contains the mark (ENG-014, account=${id}, market=${market})`,
      )
      const figures = evaluateAccountMargin(
        state.rules,
        account,
        marks,
        openInterest,
        optionValuationOf(state, state.lastTimestampMs ?? 0),
      )
      check(
        belowMaintenanceEvents(id, figures).length === 0,
        () =>
          `Invariant: a screened account is not below maintenance (ENG-014, account=${id}, market=${market})`,
      )
    }
  }
}
