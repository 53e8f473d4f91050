/**
 * The model mark of an option market (docs/spec/options.md, OPT-027): what the option is worth at
 * its underlying's mark, its implied volatility and the valuation time, by Black-76, per unit of
 * the underlying and in the option's settlement asset. Venues publish option marks this way (mark
 * price from mark implied volatility), so between two published option marks the engine follows
 * the underlying with it. The premium is rounded once, to the market's tick.
 */
import { type Instrument, settlementQuotingOf } from '../model/instrument.ts'
import { div, type Fixed, roundToStep, ZERO } from '../num/fixed.ts'
import { black76Value } from './black76.ts'
import { timeToExpiryYears } from './option.ts'

/**
 * Premium per unit of the underlying in the settlement asset, put on the market's tick grid
 * (half-even) so that position values stay exact (ACC-001); undefined for non-options.
 */
export function optionModelMark(
  instrument: Instrument,
  underlyingPrice: Fixed,
  volatility: Fixed,
  valuationTimeMs: number,
): Fixed | undefined {
  const terms = instrument.option
  if (terms === undefined || instrument.expiryTimeMs === undefined) return undefined
  const value = black76Value({
    right: terms.right,
    forward: underlyingPrice,
    strike: terms.strike,
    timeToExpiryYears: timeToExpiryYears(instrument.expiryTimeMs, valuationTimeMs),
    volatility,
    rate: terms.rate,
  })
  const premium =
    settlementQuotingOf(instrument) === 'linear'
      ? value
      : underlyingPrice > 0n
        ? div(value, underlyingPrice, 'half_even')
        : ZERO
  return roundToStep(premium, instrument.tickSize, 'half_even')
}
