/**
 * The engine's state (docs/spec/engine.md, ENG-*). Mutable, owned by the engine: only `apply.ts`
 * changes it, and only by applying a plan. Everything else reads it.
 */
import type { MarginMode, Position } from '../model/account.ts'
import type { Fixed } from '../num/fixed.ts'
import type { RuleSet } from '../rules/rule-set.ts'
import { createLiquidationState, type LiquidationState } from './liquidation/state.ts'

/** Id of the system account that takes the other side of fills whose counterparty is not given. */
export const BOOK_ACCOUNT_ID = '@book'

/** A trader's choice for one market, kept whether or not a position is open. */
export interface MarketSetting {
  readonly marginMode: MarginMode
  /** Leverage the trader picked; `null` uses the market's maximum. */
  readonly leverage: Fixed | null
}

/**
 * One account. Structurally an `Account` (src/core/model/account.ts), so the margin functions
 * read it directly. Positions are immutable values, replaced when they change.
 */
export interface AccountState {
  readonly id: string
  readonly balances: Map<string, Fixed>
  readonly positions: Map<string, Position>
  readonly settings: Map<string, MarketSetting>
}

/** The latest prices of a market. */
export interface MarketPrices {
  readonly mark: Fixed
  /** `null` until an index price has been given. */
  readonly index: Fixed | null
}

export interface EngineState {
  /** The rule set in force; a `rules_change` command replaces it. */
  rules: RuleSet
  /** Accounts by id, including the system account `@book`. */
  readonly accounts: Map<string, AccountState>
  /** Latest mark and index price per market. */
  readonly prices: Map<string, MarketPrices>
  /** Insurance fund balance per settlement asset (one pooled fund per asset). */
  readonly insuranceFunds: Map<string, Fixed>
  /** Fees collected, net of rebates paid, per asset. */
  readonly feePools: Map<string, Fixed>
  /** Total deposited per asset. */
  readonly deposits: Map<string, Fixed>
  /** Total withdrawn per asset. */
  readonly withdrawals: Map<string, Fixed>
  /** Settled dated futures and their settlement price; trades on them are refused. */
  readonly expiredMarkets: Map<string, Fixed>
  /** Liquidation orders, insurance-fund pools and loss-allocation records (LIQ-020). */
  readonly liquidation: LiquidationState
  /** Sequence of the last applied command; 0 before the first. */
  lastSequence: number
  /** Timestamp of the last applied command; `null` before the first. */
  lastTimestampMs: number | null
}

/** A fresh state under `rules`: no accounts but `@book`, no prices, empty funds. */
export function createEngineState(rules: RuleSet): EngineState {
  const state: EngineState = {
    rules,
    accounts: new Map(),
    prices: new Map(),
    insuranceFunds: new Map(),
    feePools: new Map(),
    deposits: new Map(),
    withdrawals: new Map(),
    expiredMarkets: new Map(),
    liquidation: createLiquidationState(),
    lastSequence: 0,
    lastTimestampMs: null,
  }
  state.accounts.set(BOOK_ACCOUNT_ID, emptyAccount(BOOK_ACCOUNT_ID))
  return state
}

/** An account with no balances, positions or settings. */
export function emptyAccount(id: string): AccountState {
  return { id, balances: new Map(), positions: new Map(), settings: new Map() }
}

/** The mark prices of every market that has one, as the margin functions take them. */
export function markPrices(state: EngineState): Map<string, Fixed> {
  const marks = new Map<string, Fixed>()
  for (const [market, prices] of state.prices) marks.set(market, prices.mark)
  return marks
}
