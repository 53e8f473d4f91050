/**
 * Starting balances and positions, for scenarios and calculators (ENG-012). Balances count as
 * deposits; each position is booked against `@book` at its entry price, so open interest stays
 * balanced and conservation holds from the first command on.
 */
import { assert } from '../assert.ts'
import type { MarginMode } from '../model/account.ts'
import { entryValueOf } from '../model/position-math.ts'
import { abs, type Fixed, isMultipleOf, neg, sub, ZERO } from '../num/fixed.ts'
import { applyPlan } from './apply.ts'
import { cashLegOf } from '../model/position-math.ts'
import {
  CLEARING,
  EXTERNAL,
  isolatedMargin,
  type PositionChange,
  positionHolder,
  plan,
  type SettingChange,
  type Transfer,
  transferSigned,
  wallet,
} from './plan.ts'
import { BOOK_ACCOUNT_ID, type EngineState } from './state.ts'

export interface SeedPosition {
  readonly market: string
  readonly size: Fixed
  readonly entryPrice: Fixed
  readonly marginMode: MarginMode
  readonly leverage: Fixed | null
  /** Isolated mode: margin posted to the position (counted as a deposit). */
  readonly isolatedMargin: Fixed
}

export interface SeedAccount {
  readonly id: string
  readonly balances: ReadonlyMap<string, Fixed>
  readonly positions: readonly SeedPosition[]
}

/**
 * Opens `accounts` with their balances and positions in a state no command has touched yet.
 * The caller has validated the input (known markets, lot multiples, positive prices).
 */
export function seedState(
  state: EngineState,
  accounts: readonly SeedAccount[],
  timestampMs: number,
): void {
  assert(
    state.lastSequence === 0,
    'Condition failed: accounts are seeded before the first command (ENG-012)',
  )
  const transfers: Transfer[] = []
  const positionChanges: PositionChange[] = []
  const settingChanges: SettingChange[] = []
  const bookTotals = new Map<string, { size: Fixed; entryValue: Fixed }>()
  for (const account of accounts) {
    assert(
      account.id !== BOOK_ACCOUNT_ID && !state.accounts.has(account.id),
      `Condition failed: seeded accounts are new trader accounts (ENG-012, account=${account.id})`,
    )
    for (const [asset, amount] of account.balances) {
      transfers.push(...transferSigned(asset, EXTERNAL, wallet(account.id), amount))
    }
    for (const position of account.positions) {
      const instrument = state.rules.markets.get(position.market)?.instrument
      assert(
        instrument !== undefined,
        `Condition failed: seeded positions are in listed markets (ENG-012, market=${position.market})`,
      )
      assert(
        position.size !== 0n && isMultipleOf(abs(position.size), instrument.lotSize),
        `Condition failed: a seeded size is a non-zero lot multiple (ENG-012, market=${position.market})`,
      )
      const asset = instrument.settlementAsset
      const value = entryValueOf(instrument, position.size, position.entryPrice)
      transfers.push(
        ...transferSigned(
          asset,
          CLEARING,
          positionHolder(account.id, position.market),
          cashLegOf(instrument, value),
        ),
      )
      transfers.push(
        ...transferSigned(
          asset,
          CLEARING,
          positionHolder(BOOK_ACCOUNT_ID, position.market),
          cashLegOf(instrument, neg(value)),
        ),
      )
      if (position.marginMode === 'isolated') {
        transfers.push(
          ...transferSigned(
            asset,
            EXTERNAL,
            isolatedMargin(account.id, position.market),
            position.isolatedMargin,
          ),
        )
      }
      const common = { market: position.market, leverage: position.leverage }
      positionChanges.push({
        ...common,
        account: account.id,
        sizeDelta: position.size,
        entryValueDelta: value,
        marginMode: position.marginMode,
      })
      const book = bookTotals.get(position.market) ?? { size: ZERO, entryValue: ZERO }
      bookTotals.set(position.market, {
        size: sub(book.size, position.size),
        entryValue: sub(book.entryValue, value),
      })
      settingChanges.push({ ...common, account: account.id, marginMode: position.marginMode })
    }
  }
  for (const [market, book] of bookTotals) {
    if (book.size !== 0n) {
      positionChanges.push({
        market,
        leverage: null,
        account: BOOK_ACCOUNT_ID,
        sizeDelta: book.size,
        entryValueDelta: book.entryValue,
        marginMode: 'cross',
      })
      continue
    }
    // Opposite seeded positions cancel out in the book: its entry value difference is realized.
    const instrument = state.rules.markets.get(market)?.instrument
    assert(
      instrument !== undefined,
      `Invariant: seeded markets are listed (ENG-012, market=${market})`,
    )
    transfers.push(
      ...transferSigned(
        instrument.settlementAsset,
        positionHolder(BOOK_ACCOUNT_ID, market),
        wallet(BOOK_ACCOUNT_ID),
        cashLegOf(instrument, book.entryValue),
      ),
    )
  }
  const openAccounts = accounts.map((account) => account.id)
  applyPlan(state, plan({ openAccounts, transfers, positionChanges, settingChanges }), {
    sequence: 0,
    timestampMs,
  })
}
