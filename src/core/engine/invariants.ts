/**
 * Whole-state invariants, checked after every applied command (docs/spec/engine.md, INV-*).
 * Each failure throws `InvariantError` naming its id.
 */
import { assert } from '../assert.ts'
import { quotingOf } from '../model/instrument.ts'
import { add, type Fixed, sign, sub, ZERO } from '../num/fixed.ts'
import { BOOK_ACCOUNT_ID, type EngineState } from './state.ts'

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
    for (const [asset, balance] of account.balances) addTo(held, asset, balance)
    for (const position of account.positions.values()) {
      const instrument = state.rules.markets.get(position.market)?.instrument
      assert(
        instrument !== undefined,
        `Invariant: every position is in a listed market (INV-006, account=${account.id}, market=${position.market})`,
      )
      const asset = instrument.settlementAsset
      addTo(held, asset, position.isolatedMargin)
      addTo(
        held,
        asset,
        quotingOf(instrument.kind) === 'linear'
          ? sub(ZERO, position.entryValue)
          : position.entryValue,
      )
    }
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
      // INV-003 stored positions are non-empty; entry value has the sign of the size (or is 0).
      assert(
        position.size !== 0n,
        `Invariant: no stored position has size 0 (INV-003, account=${account.id}, market=${position.market})`,
      )
      const entrySign = sign(position.entryValue)
      assert(
        entrySign === 0n || entrySign === sign(position.size),
        `Invariant: entry value has the sign of the size (INV-003, account=${account.id}, market=${position.market})`,
      )
      // INV-006 margin modes: cross positions hold no isolated margin; @book is cross.
      if (position.marginMode === 'cross') {
        assert(
          position.isolatedMargin === 0n,
          `Invariant: cross positions hold no isolated margin (INV-006, account=${account.id}, market=${position.market})`,
        )
      }
      if (account.id === BOOK_ACCOUNT_ID) {
        assert(
          position.marginMode === 'cross',
          `Invariant: the book's positions are cross (INV-006, market=${position.market})`,
        )
      }
      // INV-007 settled markets hold no positions.
      assert(
        !state.expiredMarkets.has(position.market),
        `Invariant: a settled market holds no positions (INV-007, account=${account.id}, market=${position.market})`,
      )
      addTo(openInterest, position.market, position.size)
    }
  }
  // INV-008 insurance-fund pools: none is negative; per asset they add up to at most the fund.
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
  for (const [market, net] of openInterest) {
    assert(
      net === 0n,
      `Invariant: open interest long equals short (INV-002, market=${market}, net=${net})`,
    )
  }
}
