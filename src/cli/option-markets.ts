/**
 * The calculators' flags for a rule set's own option markets (docs/spec/options.md, OPT-028):
 * `--vol MARKET=VOL` gives an option market's implied volatility and `--at TIME` the time options
 * are valued at; `lor margin` and `lor rules impact` read them the same way.
 */
import type { OptionValuation } from '../core/margin/evaluate.ts'
import type { Instrument } from '../core/model/instrument.ts'
import { type Fixed, parseFixed } from '../core/num/fixed.ts'
import type { RuleSet } from '../core/rules/rule-set.ts'
import { inputError } from './errors.ts'
import { parseTime } from './margin-portfolio.ts'

/**
 * The `--vol` flags that name an option market of `ruleSet`, parsed (each once, not negative), and
 * the other flags as given.
 */
export function optionMarketVolatilities(
  ruleSet: RuleSet,
  values: readonly string[],
): { readonly volatilities: ReadonlyMap<string, Fixed>; readonly others: readonly string[] } {
  const volatilities = new Map<string, Fixed>()
  const others: string[] = []
  for (const text of values) {
    const [market = '', value] = text.split('=', 2)
    if (value === undefined || ruleSet.markets.get(market)?.instrument.option === undefined) {
      others.push(text)
      continue
    }
    if (volatilities.has(market)) inputError(`--vol ${text}: ${market} is given twice`)
    const parsed = parseFixed(value)
    if (!parsed.ok) inputError(`--vol ${text}: "${value}" is not a decimal number`)
    if (parsed.value < 0n) inputError(`--vol ${text}: volatility must not be negative`)
    volatilities.set(market, parsed.value)
  }
  return { volatilities, others }
}

/** An option position needs its volatility, its underlying's mark and a valuation time. */
export function requireOptionInputs(
  flag: string,
  instrument: Instrument,
  marks: ReadonlyMap<string, Fixed>,
  volatilities: ReadonlyMap<string, Fixed>,
  at: string | undefined,
): void {
  const terms = instrument.option
  if (terms === undefined) return
  if (!volatilities.has(instrument.market))
    inputError(`${flag}: missing --vol ${instrument.market}=VOL (its implied volatility)`)
  if (!marks.has(terms.underlyingMarket))
    inputError(`${flag}: missing --mark ${terms.underlyingMarket}=PRICE (its underlying)`)
  if (at === undefined) inputError(`${flag}: give --at TIME, the time the option is valued at`)
}

/** How the margin functions value the option positions: at `--at`, with the `--vol` flags. */
export function optionValuationOfFlags(
  volatilities: ReadonlyMap<string, Fixed>,
  at: string | undefined,
): OptionValuation {
  return {
    volatilityOf: (market) => volatilities.get(market),
    valuationTimeMs: at === undefined ? 0 : parseTime(at, `--at ${at}`),
  }
}
