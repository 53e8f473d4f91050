/**
 * Commands: the engine's inputs (docs/spec/engine.md, ENG-*). A discriminated union on `type`.
 * Decimal values are already parsed to `Fixed` at the boundary; the engine checks their meaning
 * (sign, tick, lot) and refuses with a result code, never throws, on an expected bad value.
 */
import type { MarginMode } from '../model/account.ts'
import type { Fixed } from '../num/fixed.ts'
import type { RuleSet } from '../rules/rule-set.ts'

/** Whether a fill added liquidity (maker) or took it (taker); picks the fee rate. */
export type Liquidity = 'maker' | 'taker'

/** Credits `amount` of `asset` to the account's wallet; opens the account if it is new. */
export interface DepositCommand {
  readonly type: 'deposit'
  readonly account: string
  readonly asset: string
  readonly amount: Fixed
}

/** Debits `amount` of `asset`; refused when it would leave less than the initial margin. */
export interface WithdrawCommand {
  readonly type: 'withdraw'
  readonly account: string
  readonly asset: string
  readonly amount: Fixed
}

/**
 * A fill of `size` contracts (signed: + buy, − sell) at `price`. The counterparty takes the
 * opposite size at the same price; it defaults to the system account `@book`.
 */
export interface TradeCommand {
  readonly type: 'trade'
  readonly account: string
  readonly market: string
  readonly size: Fixed
  readonly price: Fixed
  readonly liquidity: Liquidity
  readonly counterparty?: string
  /** Defaults to the opposite of `liquidity`. */
  readonly counterpartyLiquidity?: Liquidity
}

/**
 * Sets the mark (and optionally the index) price of a market. An option market's mark is its
 * premium and comes with its implied `volatility` (0.8 = 80 %), which no other market takes (OPT-023).
 */
export interface MarkPriceCommand {
  readonly type: 'mark_price'
  readonly market: string
  readonly mark: Fixed
  readonly index?: Fixed
  readonly volatility?: Fixed
}

/** Pays funding at `rate` on every open position of the market: longs pay when rate > 0. */
export interface FundingCommand {
  readonly type: 'funding'
  readonly market: string
  readonly rate: Fixed
}

/** Chooses cross or isolated margin for a market; refused while a position is open there. */
export interface SetMarginModeCommand {
  readonly type: 'set_margin_mode'
  readonly account: string
  readonly market: string
  readonly marginMode: MarginMode
}

/** Moves `amount` from the wallet to the margin of an open isolated position. */
export interface AddIsolatedMarginCommand {
  readonly type: 'add_isolated_margin'
  readonly account: string
  readonly market: string
  readonly amount: Fixed
}

/** Picks the leverage of a market (`null`: the market's maximum). */
export interface SetLeverageCommand {
  readonly type: 'set_leverage'
  readonly account: string
  readonly market: string
  readonly leverage: Fixed | null
}

/** Settles a dated future: closes every position at `settlementPrice`; the market then stays closed. */
export interface ExpireCommand {
  readonly type: 'expire'
  readonly market: string
  readonly settlementPrice: Fixed
}

/** Replaces the rule set in force. */
export interface RulesChangeCommand {
  readonly type: 'rules_change'
  readonly ruleSet: RuleSet
}

/**
 * A fill of an open liquidation order reported by a venue's matcher or the simulator (LIQ-030):
 * `size` contracts (positive, at most the order's remaining size) at `price`; the counterparty
 * defaults to `@book` and pays its maker fee.
 */
export interface LiquidationFillCommand {
  readonly type: 'liquidation_fill'
  readonly orderId: string
  readonly size: Fixed
  readonly price: Fixed
  readonly counterparty?: string
  /**
   * For a network disposal order: the volume on the matched side of the book within the order's
   * price range; a fill may take at most `maxFractionConsumed` of it (LIQ-073).
   */
  readonly availableVolume?: Fixed
}

/**
 * The venue takes the rest of a liquidation order (LIQ-050): the insurance fund covers the loss
 * beyond the bankruptcy price, or ADL closes opposite positions, then socialized loss.
 */
export interface LiquidationTakeoverCommand {
  readonly type: 'liquidation_takeover'
  readonly orderId: string
}

/** Adds `amount` of `asset` from outside the venue to an insurance-fund pool (LIQ-041). */
export interface InsuranceFundDepositCommand {
  readonly type: 'insurance_fund_deposit'
  readonly fund: string
  readonly asset: string
  readonly amount: Fixed
}

/** Every command the engine executes. */
export type Command =
  | DepositCommand
  | WithdrawCommand
  | TradeCommand
  | MarkPriceCommand
  | FundingCommand
  | SetMarginModeCommand
  | AddIsolatedMarginCommand
  | SetLeverageCommand
  | ExpireCommand
  | RulesChangeCommand
  | LiquidationFillCommand
  | LiquidationTakeoverCommand
  | InsuranceFundDepositCommand

/** The command types, in the order the docs list them. */
export const COMMAND_TYPES = [
  'deposit',
  'withdraw',
  'trade',
  'mark_price',
  'funding',
  'set_margin_mode',
  'add_isolated_margin',
  'set_leverage',
  'expire',
  'rules_change',
  'liquidation_fill',
  'liquidation_takeover',
  'insurance_fund_deposit',
] as const satisfies readonly Command['type'][]

/** Where a command sits in the ordered stream: its sequence number and its time. */
export interface CommandContext {
  /** Must be the previous command's sequence + 1 (the first command has sequence 1). */
  readonly sequence: number
  /** Milliseconds since the Unix epoch (UTC); never before the previous command's. */
  readonly timestampMs: number
}
