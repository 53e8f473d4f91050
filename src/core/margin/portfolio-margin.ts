/**
 * Portfolio margin of an account's cross positions (docs/spec/portfolio-margin.md, PFM-040..PFM-046):
 * the positions of the markets a rule set's `portfolioMargin` section lists are turned into a
 * scenario portfolio (each market a future of its product and tier, priced at its mark) and
 * margined together by the SPAN-style or grid model, itemised against the legs held alone.
 *
 * Sizes in the model are in the product's contracts:
 *   linear:  size × contractSize ÷ product contract size                (exact for usual sizes)
 *   inverse: size × contractSize ÷ mark ÷ product contract size  (USD contracts → coin, half-even)
 * The requirement is a maintenance margin in the settlement asset of the markets. An option market
 * becomes an option of its product, revalued by Black-76 from its underlying's mark, its implied
 * volatility and its time to expiry (OPT-023); its size is size × contractSize ÷ product contract size.
 */
import { assert } from '../assert.ts'
import { quotingOf } from '../model/instrument.ts'
import { div, type Fixed, mul, mulDiv, ZERO } from '../num/fixed.ts'
import { gridPortfolioMargin } from '../portfolio/grid.ts'
import {
  type OffsetItem,
  type PortfolioInstrument,
  type PortfolioPosition,
  spanPortfolioMargin,
} from '../portfolio/span.ts'
import type { MarketRules, PortfolioMarginRules } from '../rules/rule-set.ts'

/** A cross position of a mapped market, at a price. */
export interface PortfolioHolding {
  readonly market: MarketRules
  /** Signed contracts. */
  readonly size: Fixed
  /** The market's mark (an option's: its premium, which the models do not use). */
  readonly price: Fixed
  /** Option markets only: the model inputs at the marks (OPT-023). */
  readonly option?: {
    readonly underlyingPrice: Fixed
    readonly volatility: Fixed
    readonly timeToExpiryYears: Fixed
  }
}

/** The portfolio requirement of one settlement group's mapped cross positions (PFM-042). */
export interface PortfolioGroupMargin {
  readonly model: 'span' | 'grid'
  /** Maintenance requirement of the mapped positions taken together. */
  readonly maintenanceMargin: Fixed
  readonly initialMargin: Fixed
  /** Σ of each mapped position's requirement when held alone under the same model. */
  readonly legsTotal: Fixed
  /** What each offset changed, legs total + Σ amounts = maintenanceMargin. */
  readonly offsets: readonly OffsetItem[]
  /** Markets margined together, sorted. */
  readonly markets: readonly string[]
}

/** Whether the rule set margins cross positions of `market` by its portfolio model. */
export function isPortfolioMargined(
  rules: PortfolioMarginRules | undefined,
  market: string,
): boolean {
  return rules?.markets.has(market) ?? false
}

/** The portfolio margin of `holdings` (all mapped, one settlement asset), or null when there are none. */
export function portfolioGroupMargin(
  rules: PortfolioMarginRules,
  holdings: readonly PortfolioHolding[],
): PortfolioGroupMargin | null {
  if (holdings.length === 0) return null
  const instruments: PortfolioInstrument[] = []
  const positions: PortfolioPosition[] = []
  for (const holding of holdings) {
    const instrument = holding.market.instrument
    const mapping = rules.markets.get(instrument.market)
    if (mapping === undefined) continue
    const terms = instrument.option
    const inputs = holding.option
    if (terms !== undefined) {
      assert(
        inputs !== undefined,
        `Condition failed: an option holding carries its model inputs (OPT-023, market=${instrument.market})`,
      )
      instruments.push({
        kind: 'option',
        market: instrument.market,
        product: mapping.product,
        tier: mapping.tier,
        right: terms.right,
        strike: terms.strike,
        underlyingPrice: inputs.underlyingPrice,
        timeToExpiryYears: inputs.timeToExpiryYears,
        volatility: inputs.volatility,
        rate: terms.rate,
      })
    } else
      instruments.push({
        kind: 'future',
        market: instrument.market,
        product: mapping.product,
        tier: mapping.tier,
        price: holding.price,
      })
    positions.push({
      market: instrument.market,
      size: modelSize(rules, mapping.product, holding),
    })
  }
  const markets = positions.map((position) => position.market).sort()
  if (rules.model === 'span') {
    const result = spanPortfolioMargin(rules.span, instruments, positions)
    return {
      model: 'span',
      maintenanceMargin: result.requirement,
      initialMargin: mul(result.requirement, rules.initialMarginMultiplier, 'ceil'),
      legsTotal: result.legsTotal,
      offsets: result.offsets,
      markets,
    }
  }
  const result = gridPortfolioMargin(rules.grid, instruments, positions)
  return {
    model: 'grid',
    maintenanceMargin: result.maintenanceMargin,
    initialMargin: result.initialMargin,
    legsTotal: result.legsTotal,
    offsets: result.offsets,
    markets,
  }
}

/** The holding's size in contracts of its portfolio product (see the module note). */
function modelSize(rules: PortfolioMarginRules, product: string, holding: PortfolioHolding): Fixed {
  const instrument = holding.market.instrument
  const products = rules.model === 'span' ? rules.span.products : rules.grid.products
  const productSize = products.find((each) => each.id === product)?.contractSize
  if (productSize === undefined || holding.price <= 0n) return ZERO
  // An option contract is `contractSize` units of the underlying, whatever it settles in.
  if (quotingOf(instrument.kind) === 'linear')
    return mulDiv(holding.size, instrument.contractSize, productSize, 'half_even')
  const coins = mulDiv(holding.size, instrument.contractSize, holding.price, 'half_even')
  return div(coins, productSize, 'half_even')
}
