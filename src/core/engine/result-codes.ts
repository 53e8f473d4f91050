/**
 * Result codes of commands, in precedence order (docs/spec/engine.md, ENG-004): when a command
 * fails several checks, the code listed first wins. A refused command changes nothing.
 */
import type { Fixed } from '../num/fixed.ts'

export const REFUSAL_CODES = [
  /** The command's sequence is not the previous sequence + 1. */
  'sequence_not_next',
  /** The command's timestamp is before the previous command's. */
  'timestamp_before_previous',
  /** The command names the system account `@book` where only trader accounts are allowed. */
  'account_is_system',
  'account_not_found',
  'counterparty_not_found',
  'counterparty_same_as_account',
  /** No open liquidation order has this id. */
  'liquidation_order_not_found',
  'market_not_found',
  /** The market was settled, or its expiry time has passed. */
  'market_expired',
  /** `expire` names a perpetual. */
  'market_not_dated_future',
  /** `funding` names an option market. */
  'funding_not_applicable',
  /** `expire` comes before the market's expiry time. */
  'market_not_yet_expired',
  'amount_not_positive',
  'size_zero',
  'size_not_multiple_of_lot',
  'price_not_positive',
  'price_not_multiple_of_tick',
  /** An option market's mark comes without its implied volatility. */
  'volatility_missing',
  /** A volatility is given with the mark of a market that is not an option. */
  'volatility_not_applicable',
  'volatility_negative',
  /** A liquidation fill is larger than the order's remaining size. */
  'fill_exceeds_order',
  /** A liquidation fill is worse for the liquidated account than the order's limit price. */
  'fill_price_beyond_limit',
  /** A network disposal fill takes more than `maxFractionConsumed` of the reported volume. */
  'fill_exceeds_book_fraction',
  /** The reported available volume is negative or off the lot grid. */
  'available_volume_invalid',
  'leverage_out_of_range',
  /** The command needs a mark price the market does not have yet. */
  'mark_price_missing',
  /** `set_margin_mode` while a position is open in the market. */
  'position_open',
  'position_not_found',
  'position_not_isolated',
  /** Option markets are cross-margined only (by the portfolio model). */
  'option_cross_only',
  'insufficient_balance',
  /** The withdrawal would leave less than the initial margin (or the venue's withdrawal floor). */
  'withdrawal_exceeds_available',
  /** `rules_change` removes a market that has open positions. */
  'rules_change_drops_open_market',
  /** `rules_change` alters the instrument (kind, assets, contract size) of a market with open positions. */
  'rules_change_alters_open_instrument',
] as const

/** Why a command was refused. */
export type RefusalCode = (typeof REFUSAL_CODES)[number]

/** A refused command: its code and the values that explain it. */
export interface Refusal {
  readonly status: RefusalCode
  readonly [context: string]: Fixed | string | number | null
}

/** The outcome of a command. */
export type CommandResult = { readonly status: 'ok' } | Refusal

export const OK: CommandResult = { status: 'ok' }

/** Builds a refusal with context values. */
export function refuse(
  status: RefusalCode,
  context: Readonly<Record<string, Fixed | string | number | null>> = {},
): Refusal {
  return { ...context, status }
}

/** Position of a code in the precedence order (lower wins). */
export function precedenceOf(code: RefusalCode): number {
  return REFUSAL_CODES.indexOf(code)
}
