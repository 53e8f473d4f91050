/**
 * A venue's rules as data (docs/spec/rules.md, RUL-*). A rule set is what a preset file holds after
 * parsing and validation: every number is a `Fixed`, every choice a closed string union. Code never
 * branches on the venue's name, only on these fields.
 */
import type { Instrument } from '../model/instrument.ts'
import type { Fixed, Rounding } from '../num/fixed.ts'

/**
 * What a margin tier is looked up by:
 * - `value`: |size| × contract value at the price being evaluated, in the settlement asset
 *   (Binance notional brackets, Bybit risk limits, Hyperliquid tiers, BitMEX risk limits in XBT);
 * - `size`: |size| in contracts (OKX tiers);
 * - `base_size`: |size| × contractSize for linear, or value in base for inverse (Deribit "size in BTC").
 */
export type TierBasis = 'value' | 'size' | 'base_size'

/** One bracket of a tax-bracket ladder: applies to the part of the basis in [floor, cap). */
export interface MarginTier {
  readonly floor: Fixed
  /** Upper bound of the bracket; `null` for the last, unbounded bracket. */
  readonly cap: Fixed | null
  readonly maintenanceRate: Fixed
  /** Initial margin rate at the bracket's maximum leverage (1 / maxLeverage). */
  readonly initialRate: Fixed
  /**
   * Cumulative maintenance amount ("cum", "maintenance deduction"), in the settlement asset for
   * basis `value`: MM = value × maintenanceRate − maintenanceDeduction. Validation checks it against
   * the tax-bracket recurrence cum(n) = floor(n) × (MMR(n) − MMR(n−1)) + cum(n−1).
   */
  readonly maintenanceDeduction: Fixed
}

/**
 * Margin models (MRG-*). Each yields, for a position, the rates in force and a deduction:
 * maintenance = value × maintenanceRate − maintenanceDeduction; initial = value × initialRate
 * (or value ÷ chosen leverage when the trader picked a lower leverage).
 */
export type MarginModel =
  /** Binance, Bybit, OKX (by size), Hyperliquid: tax-bracket ladder with cumulative deduction. */
  | { readonly kind: 'tiered'; readonly basis: TierBasis; readonly tiers: readonly MarginTier[] }
  /**
   * BitMEX risk limits: the whole position pays the rate of its step (no deduction).
   * steps = ceil((basis − baseRiskLimit) ÷ riskLimitStep), at least 0;
   * MMR = maintenanceRateBase + steps × maintenanceRateStep; IMR likewise.
   */
  | {
      readonly kind: 'risk_limit_steps'
      readonly basis: TierBasis
      readonly baseRiskLimit: Fixed
      readonly riskLimitStep: Fixed
      readonly maintenanceRateBase: Fixed
      readonly maintenanceRateStep: Fixed
      readonly initialRateBase: Fixed
      readonly initialRateStep: Fixed
    }
  /** Deribit: rate = base + basis × perUnit (basis in `base_size`, e.g. BTC). */
  | {
      readonly kind: 'linear_in_size'
      readonly basis: TierBasis
      readonly initialRateBase: Fixed
      readonly initialRatePerUnit: Fixed
      readonly maintenanceRateBase: Fixed
      readonly maintenanceRatePerUnit: Fixed
    }
  /**
   * dYdX v4 open-interest margin fraction: IMF = initialRate below openInterestLowerCap, rising
   * linearly to 1 at openInterestUpperCap (open interest in `value` of the market, settlement
   * asset); MMF = maintenanceFraction × IMF.
   */
  | {
      readonly kind: 'open_interest_scaled'
      readonly initialRate: Fixed
      readonly maintenanceFraction: Fixed
      readonly openInterestLowerCap: Fixed
      readonly openInterestUpperCap: Fixed
    }

/** Where the maintenance requirement of the position is valued when solving for a liquidation price. */
export type MaintenanceValuation =
  /** MM is a function of the price being solved for (Binance, Hyperliquid, dYdX, Bybit UTA inverse). */
  | 'at_liquidation_price'
  /** MM is fixed at the entry value (Bybit classic isolated, BitMEX). */
  | 'at_entry_price'

/** How a displayed liquidation or bankruptcy price is put on the tick grid. */
export type PriceDisplayRounding =
  /** toward the side that warns the trader earlier: up for longs, down for shorts. */
  | 'toward_safety'
  /** to the nearest tick, ties away from zero. */
  | 'nearest'
  /** down for longs, up for shorts (the side that favours the trader). */
  | 'toward_trader'

export interface LiquidationPriceRules {
  readonly maintenanceValuation: MaintenanceValuation
  /**
   * Estimated fee to close, added to the maintenance requirement (and to the bankruptcy
   * condition) as |size| × contract value at the solved price × rate (Bybit UTA). Zero: none.
   */
  readonly closeFeeRate: Fixed
  readonly displayRounding: PriceDisplayRounding
  /** Decimals of the exact value reported beside the displayed one (≥ 8). */
  readonly exactDecimals: number
}

export interface MarketRules {
  readonly instrument: Instrument
  readonly margin: MarginModel
  readonly makerFeeRate: Fixed
  readonly takerFeeRate: Fixed
  /** Fee charged on liquidation fills, as a rate of the filled value (clearance / liquidation fee). */
  readonly liquidationFeeRate: Fixed
  /** Highest leverage a trader may pick; the effective maximum is also capped by the tier. */
  readonly maxLeverage: Fixed
}

export interface AccountRules {
  /**
   * Withdrawals and transfers out must leave equity ≥ max(initial margin, value × this rate)
   * (Hyperliquid 0.1; 0 for venues with a plain initial-margin rule).
   */
  readonly withdrawalValueFloorRate: Fixed
  /** Rounding of fee charges (requirements and charges round against the account: `ceil`). */
  readonly feeRounding: Rounding
}

export interface RuleSet {
  /** Preset id, e.g. "binance-usdm". */
  readonly id: string
  readonly venue: string
  /** Version label, e.g. "2024-06-01". */
  readonly version: string
  /** Date (YYYY-MM-DD) from which these rules describe the venue. */
  readonly effectiveDate: string
  readonly sources: readonly string[]
  readonly description: string
  readonly liquidationPrice: LiquidationPriceRules
  readonly account: AccountRules
  /** Markets by id, in the order the file lists them. */
  readonly markets: ReadonlyMap<string, MarketRules>
}
