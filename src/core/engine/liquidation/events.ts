/**
 * Events of liquidation and loss allocation (docs/spec/liquidation.md, LIQ-*): who lost what and
 * why, to the last unit, each naming the rule set (id and version) that caused it.
 */
import type { Fixed } from '../../num/fixed.ts'

export type LiquidationEvent =
  | {
      /** A breached scope gets an order (LIQ-010..LIQ-016). */
      readonly type: 'liquidation_order_placed'
      readonly orderId: string
      readonly account: string
      readonly market: string
      readonly asset: string
      readonly scope: 'cross' | 'isolated'
      /** Signed contracts to close. */
      readonly size: Fixed
      readonly positionSize: Fixed
      readonly limitPrice: Fixed | null
      readonly bankruptcyPrice: Fixed
      readonly markPrice: Fixed
      readonly equity: Fixed
      readonly maintenanceMargin: Fixed
      readonly policy: string
      readonly rule: string
      readonly reason: string
      readonly ruleSetId: string
      readonly ruleSetVersion: string
    }
  | {
      /** A fill (or takeover/ADL close) of a liquidation order, settled against the bankruptcy price (LIQ-030..LIQ-034). */
      readonly type: 'liquidation_order_filled'
      readonly orderId: string
      readonly account: string
      readonly market: string
      readonly counterparties: readonly string[]
      readonly size: Fixed
      /** Value-weighted: the price of a single fill, or `null` for several prices. */
      readonly price: Fixed | null
      readonly bankruptcyPrice: Fixed
      readonly realizedPnl: Fixed
      /** Liquidation fee to the insurance fund. */
      readonly fee: Fixed
      /** Better than bankruptcy, settled at bankruptcy: to the insurance fund. */
      readonly surplus: Fixed
      /** Worse than bankruptcy: what the loss chain must cover. */
      readonly gap: Fixed
      readonly remaining: Fixed
      readonly rule: string
      readonly ruleSetId: string
      readonly ruleSetVersion: string
    }
  | {
      readonly type: 'liquidation_takeover'
      readonly orderId: string
      readonly account: string
      readonly market: string
      readonly size: Fixed
      readonly markPrice: Fixed
      readonly bankruptcyPrice: Fixed
      /** Loss of closing at the mark beyond the bankruptcy price. */
      readonly estimatedShortfall: Fixed
      readonly via: 'backstop_book' | 'adl' | 'network'
      readonly fundAvailable: Fixed
      readonly adlTriggerActive: boolean
      readonly reason: string
      readonly rule: string
      readonly ruleSetId: string
      readonly ruleSetVersion: string
    }
  | {
      /** One deleveraged opposite position (ADL-015 fields plus the alternative allocation). */
      readonly type: 'adl_deleveraged'
      readonly orderId: string
      readonly account: string
      readonly counterparty: string
      readonly market: string
      /** Signed change of the deleveraged position. */
      readonly size: Fixed
      readonly price: Fixed
      /**
       * The deleveraged side's closing value (signed like its size): at a
       * bankruptcy price the exact bankruptcy value's share (LIQ-053), else size × price.
       */
      readonly value: Fixed
      /** The deleveraged side's fee on the close (LIQ-054; 0 without ADL fees). */
      readonly fee: Fixed
      readonly rank: number
      readonly score: Fixed | null
      readonly haircutVersusMark: Fixed
      readonly allocation: string
      /** Contracts the other allocation ('queue' ↔ 'min_winner_haircut') would have closed here. */
      readonly alternativeClosed: Fixed
      readonly rule: string
      readonly reason: string
      readonly ruleSetId: string
      readonly ruleSetVersion: string
    }
  | {
      /** The backstop account takes a scope's positions and remaining margin (LIQ-017). */
      readonly type: 'backstop_takeover'
      readonly account: string
      readonly backstop: string
      readonly asset: string
      readonly market: string | null
      readonly markets: readonly string[]
      readonly equity: Fixed
      readonly maintenanceMargin: Fixed
      readonly threshold: Fixed
      readonly marginTransferred: Fixed
      readonly rule: string
      readonly ruleSetId: string
      readonly ruleSetVersion: string
    }
  | {
      /** A pool of the fund layout changed (LIQ-040..LIQ-043). */
      readonly type: 'insurance_fund_pool_changed'
      readonly fund: string
      readonly asset: string
      readonly market: string | null
      readonly amount: Fixed
      readonly balance: Fixed
      readonly reason:
        | 'deposit'
        | 'liquidation_fee'
        | 'liquidation_surplus'
        | 'shortfall_draw'
        | 'over_collection'
        | 'network_pnl'
      readonly rule: string
    }
  | {
      readonly type: 'socialized_loss_charged'
      readonly orderId: string
      readonly account: string
      readonly counterparty: string
      readonly market: string
      readonly amount: Fixed
      readonly basis: string
      readonly rule: string
      readonly ruleSetId: string
      readonly ruleSetVersion: string
    }
  | {
      /** How one shortfall was covered; INV-009: insuranceFund + adl + socialized + uncovered = shortfall. */
      readonly type: 'shortfall_allocated'
      readonly orderId: string
      readonly account: string
      readonly market: string
      readonly asset: string
      readonly shortfall: Fixed
      readonly insuranceFund: Fixed
      readonly adl: Fixed
      readonly socialized: Fixed
      readonly uncovered: Fixed
      readonly fund: string | null
      readonly fundLimitedBy: string
      /** True when nothing more in the chain could pay: the account is left below zero by `uncovered`. */
      readonly chainExhausted: boolean
      readonly rule: string
      readonly ruleSetId: string
      readonly ruleSetVersion: string
    }
  | {
      /** The network party places an order disposing of part of its position (LIQ-072). */
      readonly type: 'network_disposal_order_placed'
      readonly orderId: string
      readonly account: string
      readonly market: string
      /** Signed contracts to dispose of (opposite sign to the network's position). */
      readonly size: Fixed
      readonly networkPosition: Fixed
      /** Reference price × (1 ∓ disposal slippage range) on the tick grid; `null`: no bound. */
      readonly limitPrice: Fixed | null
      readonly referencePrice: Fixed
      readonly maxFractionConsumed: Fixed
      readonly rule: string
      readonly reason: string
      readonly ruleSetId: string
      readonly ruleSetVersion: string
    }
  | {
      /** A fill of a disposal order; the network's PnL is settled against the fund (LIQ-073, LIQ-074). */
      readonly type: 'network_disposal_filled'
      readonly orderId: string
      readonly account: string
      readonly counterparty: string
      readonly market: string
      readonly size: Fixed
      readonly price: Fixed
      /** Volume the matcher reported on the matched side within the range, or `null`. */
      readonly availableVolume: Fixed | null
      readonly realizedPnl: Fixed
      readonly networkPosition: Fixed
      readonly remaining: Fixed
      readonly rule: string
      readonly ruleSetId: string
      readonly ruleSetVersion: string
    }
  | {
      /** A disposal order ends unfilled (no volume in range, or replaced at the next step) (LIQ-075). */
      readonly type: 'network_disposal_lapsed'
      readonly orderId: string
      readonly account: string
      readonly market: string
      readonly remaining: Fixed
      readonly reason: string
      readonly rule: string
    }
