/**
 * Plans: what a command will change, computed before anything is applied (ENG-005). Handlers
 * return plans; only `applyPlan` (apply.ts) turns them into state.
 *
 * Money moves as transfers between holders. Every holder keeps a balance per asset:
 * - `wallet`: an account's wallet balance;
 * - `isolated_margin`: the margin posted to an account's isolated position;
 * - `position`: the cash leg of a position. A linear position's cash leg is −entryValue (a long paid
 *   its entry value), an inverse position's is +entryValue (in coin, a long contract sold coin at entry);
 * - `insurance_fund`, `fee_pool`: one per asset;
 * - `clearing`: a pass-through that must net to zero within a plan (fills, funding, settlement);
 * - `external`: outside the venue (deposits come from it, withdrawals go to it).
 * Transfers conserve each asset by construction; a position change must move the position's cash
 * leg by exactly the net transfer into its `position` holder (INV-004), so no value appears or vanishes.
 */
import type { MarginMode } from '../model/account.ts'
import { type Fixed, neg } from '../num/fixed.ts'
import type { RuleSet } from '../rules/rule-set.ts'
import { fundIdOf } from '../loss/insurance-fund.ts'
import type { LiquidationPlan } from './liquidation/plan-part.ts'
import type { MarketPrices } from './state.ts'

export type Holder =
  | { readonly kind: 'wallet'; readonly account: string }
  | { readonly kind: 'isolated_margin'; readonly account: string; readonly market: string }
  | { readonly kind: 'position'; readonly account: string; readonly market: string }
  /** `fund`: the pool of the fund layout (LIQ-040); absent: the asset's fund outside any pool. */
  | { readonly kind: 'insurance_fund'; readonly fund?: string }
  | { readonly kind: 'fee_pool' }
  | { readonly kind: 'clearing' }
  | { readonly kind: 'external' }

/** Moves a positive `amount` of `asset` from one holder to another. */
export interface Transfer {
  readonly asset: string
  readonly from: Holder
  readonly to: Holder
  readonly amount: Fixed
}

/**
 * Changes a position (created when absent, removed when its size returns to 0). `marginMode` and
 * `leverage` are taken when the position is created.
 */
export interface PositionChange {
  readonly account: string
  readonly market: string
  readonly sizeDelta: Fixed
  readonly entryValueDelta: Fixed
  readonly marginMode: MarginMode
  readonly leverage: Fixed | null
}

export interface SettingChange {
  readonly account: string
  readonly market: string
  readonly marginMode: MarginMode
  readonly leverage: Fixed | null
}

export interface Plan {
  readonly openAccounts: readonly string[]
  readonly transfers: readonly Transfer[]
  readonly positionChanges: readonly PositionChange[]
  readonly settingChanges: readonly SettingChange[]
  readonly priceUpdates: ReadonlyMap<string, MarketPrices>
  readonly expireMarkets: ReadonlyMap<string, Fixed>
  /** Replaces the rule set when present. */
  readonly ruleSet: RuleSet | null
  /** Liquidation state changes and loss-allocation records (LIQ-*); `null`: none. */
  readonly liquidation: LiquidationPlan | null
}

/** A plan that changes nothing; handlers fill in the parts they need. */
export function plan(parts: Partial<Plan>): Plan {
  return {
    openAccounts: [],
    transfers: [],
    positionChanges: [],
    settingChanges: [],
    priceUpdates: new Map(),
    expireMarkets: new Map(),
    ruleSet: null,
    liquidation: null,
    ...parts,
  }
}

/** A transfer of a signed amount: a negative amount moves the other way; zero moves nothing. */
export function transferSigned(asset: string, from: Holder, to: Holder, amount: Fixed): Transfer[] {
  if (amount === 0n) return []
  if (amount > 0n) return [{ asset, from, to, amount }]
  return [{ asset, from: to, to: from, amount: neg(amount) }]
}

export function wallet(account: string): Holder {
  return { kind: 'wallet', account }
}

export function isolatedMargin(account: string, market: string): Holder {
  return { kind: 'isolated_margin', account, market }
}

export function positionHolder(account: string, market: string): Holder {
  return { kind: 'position', account, market }
}

export const INSURANCE_FUND: Holder = { kind: 'insurance_fund' }

/** The insurance-fund holder that backs `market` under `rules` (its pool when a layout is set). */
export function insuranceFundOf(rules: RuleSet, market: string): Holder {
  const layout = rules.liquidation?.insuranceFund.layout
  if (layout === undefined) return INSURANCE_FUND
  const fund = fundIdOf(layout, market)
  return fund === null ? INSURANCE_FUND : { kind: 'insurance_fund', fund }
}
export const FEE_POOL: Holder = { kind: 'fee_pool' }
export const CLEARING: Holder = { kind: 'clearing' }
export const EXTERNAL: Holder = { kind: 'external' }
