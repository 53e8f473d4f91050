/**
 * The liquidation part of a plan (ENG-005, LIQ-*): order changes, fund history to record and the
 * loss-allocation records that `applyPlan` checks (INV-009, INV-010).
 */
import type { Fixed } from '../../num/fixed.ts'
import type { LiquidationOrder } from './state.ts'

/** One shortfall and how the chain allocated it (INV-009: the parts add up exactly). */
export interface ShortfallRecord {
  readonly orderId: string
  readonly account: string
  readonly asset: string
  readonly shortfall: Fixed
  readonly insuranceFund: Fixed
  readonly adl: Fixed
  readonly socialized: Fixed
  readonly uncovered: Fixed
}

export interface LiquidationPlan {
  readonly setOrders: readonly LiquidationOrder[]
  readonly removeOrders: readonly string[]
  readonly nextOrderNumber: number | null
  /** Fund pools whose post-plan balance is recorded in the history, with the market that moved it. */
  readonly historyMarkets: readonly {
    readonly fund: string
    readonly asset: string
    readonly market: string
  }[]
  /** Change of each `fund/asset/market` cumulative PnL (credits +, draws −). */
  readonly marketPnlDeltas: readonly { readonly key: string; readonly delta: Fixed }[]
  readonly drawnDeltas: readonly { readonly key: string; readonly delta: Fixed }[]
  readonly triggerActive: readonly { readonly key: string; readonly active: readonly boolean[] }[]
  readonly partialTimes: readonly { readonly key: string; readonly timestampMs: number }[]
  readonly shortfalls: readonly ShortfallRecord[]
  /** Scopes left without positions by this plan: wallet ≥ −uncovered afterwards (INV-010). */
  readonly settledScopes: readonly {
    readonly account: string
    readonly asset: string
    readonly uncovered: Fixed
  }[]
}
