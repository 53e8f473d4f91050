/**
 * Events: what a command did (docs/spec/engine.md, ENG-*). Plain data; decimal values are `Fixed`
 * in core and adapters serialize them. Each applied command emits its events in a fixed order.
 */
import type { MarginMode } from '../model/account.ts'
import type { Fixed } from '../num/fixed.ts'
import type { Liquidity } from './commands.ts'
import type { LiquidationEvent } from './liquidation/events.ts'

export type EngineEvent =
  | { readonly type: 'account_opened'; readonly account: string }
  | {
      readonly type: 'deposit_applied'
      readonly account: string
      readonly asset: string
      readonly amount: Fixed
    }
  | {
      readonly type: 'withdrawal_applied'
      readonly account: string
      readonly asset: string
      readonly amount: Fixed
    }
  | {
      /** One side of a fill. `size` is this side's signed size; `value` its signed value (ACC-001). */
      readonly type: 'fill_applied'
      readonly account: string
      readonly counterparty: string
      readonly market: string
      readonly size: Fixed
      readonly price: Fixed
      readonly value: Fixed
      readonly liquidity: Liquidity
      /** Positive: charged; negative: rebate paid. */
      readonly fee: Fixed
      readonly realizedPnl: Fixed
      readonly positionSize: Fixed
      readonly positionEntryValue: Fixed
    }
  | {
      readonly type: 'isolated_margin_moved'
      readonly account: string
      readonly market: string
      /** Positive: wallet → position; negative: position → wallet. */
      readonly amount: Fixed
    }
  | {
      /** One position's funding. Positive `amount`: paid; negative: received. */
      readonly type: 'funding_paid'
      readonly account: string
      readonly market: string
      readonly rate: Fixed
      readonly amount: Fixed
    }
  | {
      readonly type: 'insurance_fund_credited'
      readonly asset: string
      readonly amount: Fixed
      readonly reason: 'funding_rounding' | 'settlement_rounding'
    }
  | {
      readonly type: 'mark_updated'
      readonly market: string
      readonly mark: Fixed
      readonly index: Fixed | null
      /** Option markets only (OPT-023). */
      readonly volatility?: Fixed
    }
  | {
      /**
       * Equity is below the maintenance requirement at the new mark (liquidation is a later step):
       * the account's cross positions in `asset` (market `null`), or one isolated position.
       */
      readonly type: 'account_below_maintenance'
      readonly account: string
      readonly asset: string
      readonly market: string | null
      readonly equity: Fixed
      readonly maintenanceMargin: Fixed
    }
  | {
      /** One position closed at a dated future's settlement price. */
      readonly type: 'expiry_settled'
      readonly account: string
      readonly market: string
      readonly size: Fixed
      readonly settlementPrice: Fixed
      readonly realizedPnl: Fixed
    }
  | { readonly type: 'market_expired'; readonly market: string; readonly settlementPrice: Fixed }
  | {
      readonly type: 'margin_mode_set'
      readonly account: string
      readonly market: string
      readonly marginMode: MarginMode
    }
  | {
      readonly type: 'leverage_set'
      readonly account: string
      readonly market: string
      readonly leverage: Fixed | null
    }
  | { readonly type: 'rules_changed'; readonly id: string; readonly version: string }
  | LiquidationEvent

export type EngineEventType = EngineEvent['type']
