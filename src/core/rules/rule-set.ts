/**
 * A venue's rules as data (docs/spec/rules.md, RUL-*). A rule set is what a preset file holds after
 * parsing and validation: every number is a `Fixed`, every choice a closed string union. Code never
 * branches on the venue's name, only on these fields.
 */
import type { AdlPolicy } from '../loss/adl.ts'
import type { InsuranceFundPolicy } from '../loss/insurance-fund.ts'
import type { SocializedLossPolicy } from '../loss/socialized-loss.ts'
import type { Instrument } from '../model/instrument.ts'
import type { Fixed, Rounding } from '../num/fixed.ts'
import type { GridRules } from '../portfolio/grid.ts'
import type { SpanRules } from '../portfolio/span.ts'
import type { NetworkPartyRules } from './liquidation-rules.ts'

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
  /**
   * Option markets only (OPT-031): the fee rates apply to the underlying the contracts stand for,
   * not to the premium, and a fee is at most `premiumCap` × the premium value (Deribit: 0.03 % of
   * the underlying, never more than 12.5 % of the option's price). Absent: rates of the value.
   */
  readonly optionFees?: OptionFeeRule
}

/** How an option market charges fees (OPT-031). */
export interface OptionFeeRule {
  /** Largest fee as a share of the filled premium value; null: no cap. */
  readonly premiumCap: Fixed | null
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

/**
 * How much of a breached position one liquidation order closes (docs/spec/liquidation.md, LIQ-010..):
 * - `full_close`: the whole position (Binance lowest bracket, dYdX);
 * - `risk_limit_step_down`: reduce to the size that fits a lower tier (`next_lower_tier`: BitMEX,
 *   Bybit; `first_tier`: OKX partial liquidation "until it is at Tier 1"); the lowest tier closes fully;
 * - `fixed_fraction`: `fraction` of the position when its value is above `minimumValue`, then
 *   the whole position while within `cooldownMs` of the last partial order (Hyperliquid 20%, 100k, 30 s);
 * - `restore_maintenance`: the fewest lots that bring equity back to maintenance × (1 + bufferRate)
 *   after closing at the mark and paying the liquidation fee (Deribit incremental, Drift buffer).
 */
export type LiquidationPolicy =
  | { readonly kind: 'full_close' }
  | { readonly kind: 'risk_limit_step_down'; readonly target: 'next_lower_tier' | 'first_tier' }
  | {
      readonly kind: 'fixed_fraction'
      readonly fraction: Fixed
      readonly minimumValue: Fixed
      readonly cooldownMs: number
    }
  | { readonly kind: 'restore_maintenance'; readonly bufferRate: Fixed }

/**
 * A venue's liquidation and loss-allocation chain as data (docs/spec/liquidation.md, LIQ-*):
 * trigger → order → fill → fee or surplus → insurance fund → ADL → socialized loss → uncovered.
 */
export interface LiquidationRules {
  /**
   * What the liquidated account is settled against: `at_bankruptcy_price` (the account ends as if
   * closed at the order's bankruptcy price: a better fill's surplus goes to the insurance fund —
   * Binance, BitMEX, Bybit) or `at_fill_price` (the account keeps a better fill and pays the
   * liquidation fee — Deribit, OKX, Hyperliquid, dYdX, Drift).
   */
  readonly settlement: 'at_bankruptcy_price' | 'at_fill_price'
  /** Limit of liquidation orders: the bankruptcy price on the tick grid, or none (market orders). */
  readonly orderLimit: 'bankruptcy' | 'none'
  readonly policy: LiquidationPolicy
  /** `surplus`: the liquidation fee never exceeds the fill's surplus over the bankruptcy price (dYdX). */
  readonly feeCap: 'none' | 'surplus'
  /**
   * Backstop takeover (Hyperliquid liquidator vault): when 0 ≤ equity < maintenance × this rate,
   * the scope's positions and remaining margin go to `account` at the mark. `null`: none.
   */
  readonly backstop: { readonly account: string; readonly equityBelowMaintenanceRate: Fixed } | null
  readonly insuranceFund: InsuranceFundPolicy
  /** Auto-deleveraging on takeovers the fund cannot cover (or while a trigger is active); `null`: none. */
  readonly adl: AdlPolicy | null
  /** What is left after fund and ADL is socialized (Deribit, Vega, Drift); `null`: uncovered. */
  readonly socializedLoss: SocializedLossPolicy | null
  /** The network party and its liquidation strategy (Vega, LIQ-070..); absent or `null`: none. */
  readonly network?: NetworkPartyRules | null
}

/** Where a market's positions sit in a portfolio model: its product and its tier (expiry). */
export interface PortfolioMarketMapping {
  readonly market: string
  readonly product: string
  /** Tier used to form calendar spreads (SPAN) and group expiries; defaults to the market id. */
  readonly tier: string
}

/**
 * Portfolio margin of cross positions (docs/spec/portfolio-margin.md, PFM-040..): the cross
 * positions of the listed markets are margined together by a scenario model instead of one by one
 * (the markets' own models still margin isolated positions and unlisted markets).
 * - `span`: SPAN-style scan risk, calendar charges, inter-product credits; initial margin is the
 *   requirement × `initialMarginMultiplier`;
 * - `grid`: Deribit-style grid of relative price moves; initial margin per `grid.initialMarginMultiplier`.
 * `source` is the section as written (validated), which is what `ruleSetToJson` writes back.
 */
export type PortfolioMarginRules =
  | {
      readonly model: 'span'
      readonly span: SpanRules
      readonly initialMarginMultiplier: Fixed
      readonly markets: ReadonlyMap<string, PortfolioMarketMapping>
      readonly source: unknown
    }
  | {
      readonly model: 'grid'
      readonly grid: GridRules
      readonly markets: ReadonlyMap<string, PortfolioMarketMapping>
      readonly source: unknown
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
  /** The liquidation chain; absent: breaches are reported (ENG-008) but nothing is liquidated. */
  readonly liquidation?: LiquidationRules
  /** Portfolio margin of cross positions; absent: every position is margined by its market's model. */
  readonly portfolioMargin?: PortfolioMarginRules
}
