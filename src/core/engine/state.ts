/**
 * The engine's state (docs/spec/engine.md, ENG-*). Mutable, owned by the engine: only `apply.ts`
 * changes it, and only by applying a plan. Everything else reads it.
 */
import type { OptionValuation } from '../margin/evaluate.ts'
import type { MarginMode, Position } from '../model/account.ts'
import type { Fixed } from '../num/fixed.ts'
import type { RuleSet } from '../rules/rule-set.ts'
import { createLiquidationState, type LiquidationState } from './liquidation/state.ts'
import { createMarkScreen, type MarkScreen } from './mark-screen.ts'
import { attachEngineIndex, emptyEngineIndex, engineIndexOf, sortedHolders } from './state-index.ts'

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
  /** Option markets only: the implied volatility given with the mark (OPT-023). */
  readonly volatility?: Fixed
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

/** Options of a fresh engine state. */
export interface EngineStateOptions {
  /**
   * Run the whole-state checks (`checkInvariants`, O(accounts)) after every command, besides the
   * always-on checks of what the command touched (ENG-013). Default `true`; a simulator run may
   * switch them off and check the whole state once at the end.
   */
  readonly verify?: boolean
}

/** A fresh state under `rules`: no accounts but `@book`, no prices, empty funds. */
export function createEngineState(rules: RuleSet, options: EngineStateOptions = {}): EngineState {
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
  attachEngineIndex(state, emptyEngineIndex(options.verify ?? true))
  return state
}

/** Whether `applyPlan` runs the whole-state checks after each command on `state` (ENG-013). */
export function isVerifying(state: EngineState): boolean {
  return engineIndexOf(state).verify
}

/** Switches the whole-state checks after each command on or off (ENG-013). */
export function setVerifying(state: EngineState, verify: boolean): void {
  engineIndexOf(state).verify = verify
}

/** Markets where some account (`@book` included) holds a position, from the index. */
export function marketsWithPositions(state: EngineState): Iterable<string> {
  return engineIndexOf(state).holders.keys()
}

/** Ids of the accounts holding a position in `market`, sorted by id (`@book` included). */
export function holdersOf(state: EngineState, market: string): readonly string[] {
  return sortedHolders(engineIndexOf(state), market)
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

/**
 * How the margin functions value option positions (OPT-023): each option market's volatility as
 * kept with its mark, at `valuationTimeMs` (the time of the command being decided). `pending` is
 * a mark being decided, not yet in the state.
 */
export function optionValuationOf(
  state: EngineState,
  valuationTimeMs: number,
  pending?: { readonly market: string; readonly volatility: Fixed | undefined },
): OptionValuation {
  return {
    volatilityOf: (market) =>
      market === pending?.market ? pending.volatility : state.prices.get(market)?.volatility,
    valuationTimeMs,
  }
}

/** The mark screen of `market` under the rule set in force, created with every holder unscreened. */
export function markScreenOf(state: EngineState, market: string): MarkScreen {
  const index = engineIndexOf(state)
  const current = index.screens.get(market)
  if (current !== undefined && current.rules === state.rules) return current
  const screen = createMarkScreen(state.rules, index.holders.get(market)?.ids ?? [])
  index.screens.set(market, screen)
  return screen
}
