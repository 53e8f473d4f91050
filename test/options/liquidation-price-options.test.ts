// PFM-044 with options (OPT-030): a future's liquidation price in a portfolio with options on it
// re-marks those options with the future's price, as the engine does on a mark (OPT-027).
import { describe, expect, it } from 'vitest'
import {
  evaluateAccount,
  evaluateAccountMargin,
  type OptionValuation,
} from '../../src/core/margin/evaluate.ts'
import type { Account, Position } from '../../src/core/model/account.ts'
import { entryValueOf } from '../../src/core/model/position-math.ts'
import { add, type Fixed, fixedOf, fromScaled, sub } from '../../src/core/num/fixed.ts'
import { optionModelMark } from '../../src/core/options/option-mark.ts'
import type { RuleSet } from '../../src/core/rules/rule-set.ts'
import { loadRuleSet } from '../../src/presets/index.ts'

const f = fixedOf
const PERP = 'BTC-PERPETUAL'
const PUT = 'BTC-27MAR26-60000-P'
/** 2026-02-27T08:00:00Z, 28 days before the options' expiry. */
const START = 1_772_179_200_000
const VOLATILITY = f('0.6')

const loaded = loadRuleSet('examples/rules/deribit-pm-btc-options.json')
if (!loaded.ok) throw new Error(JSON.stringify(loaded.issues))
const rules: RuleSet = loaded.ruleSet
const valuation: OptionValuation = { volatilityOf: () => VOLATILITY, valuationTimeMs: START }

function position(market: string, size: string, price: Fixed): Position {
  const instrument = rules.markets.get(market)?.instrument
  if (instrument === undefined) throw new Error(market)
  return {
    market,
    size: f(size),
    entryValue: entryValueOf(instrument, f(size), price),
    marginMode: 'cross',
    isolatedMargin: f('0'),
    leverage: null,
  }
}

function putMark(underlying: Fixed): Fixed {
  const instrument = rules.markets.get(PUT)?.instrument
  const mark = instrument && optionModelMark(instrument, underlying, VOLATILITY, START)
  if (mark === undefined) throw new Error('put mark')
  return mark
}

/** Cross equity − cross maintenance at `underlying`, the put re-marked with it. */
function headroom(account: Account, underlying: Fixed): Fixed {
  const marks = new Map([
    [PERP, underlying],
    [PUT, putMark(underlying)],
  ])
  const group = evaluateAccountMargin(rules, account, marks, undefined, valuation).groups[0]
  if (group === undefined) throw new Error('group')
  return sub(group.crossEquity, group.crossMaintenanceMargin)
}

function perpLiquidationPrice(account: Account, underlying: Fixed): Fixed | null {
  const marks = new Map([
    [PERP, underlying],
    [PUT, putMark(underlying)],
  ])
  const risk = evaluateAccount(rules, account, marks, undefined, valuation)
  const entry = risk.groups[0]?.positions.find((each) => each.market === PERP)
  return entry?.liquidationPriceExact ?? null
}

describe('OPT-030: a future liquidation price with its options re-marked', () => {
  const mark = f('65000')
  // A long perpetual of 150,000 USD (15,000 contracts of 10 USD), partly hedged by 0.8 BTC of puts.
  const perp = position(PERP, '15000', mark)
  const hedged: Account = {
    id: 'hedged',
    balances: new Map([['BTC', f('0.3')]]),
    positions: new Map([
      [PERP, perp],
      [PUT, position(PUT, '0.8', putMark(mark))],
    ]),
  }
  const bare: Account = {
    id: 'bare',
    balances: new Map([['BTC', f('0.3')]]),
    positions: new Map([[PERP, perp]]),
  }

  it('is where the requirement is reached with the put valued at that price', () => {
    const price = perpLiquidationPrice(hedged, mark)
    if (price === null) throw new Error('a liquidation price is expected')
    expect(price).toBeLessThan(mark)
    // The exact price is the root rounded half-even to the rule set's 8 decimals (LPX-005): one
    // unit below it (a long is in danger lower) the requirement is reached, two above it it is not.
    const unit = fromScaled(10n ** 10n)
    expect(headroom(hedged, sub(price, unit))).toBeLessThanOrEqual(0n)
    expect(headroom(hedged, add(price, add(unit, unit)))).toBeGreaterThan(0n)
  })

  it('lies below the bare long’s: the put gains as the price falls', () => {
    const hedgedPrice = perpLiquidationPrice(hedged, mark)
    const barePrice = perpLiquidationPrice(bare, mark)
    if (hedgedPrice === null || barePrice === null) throw new Error('prices expected')
    expect(hedgedPrice).toBeLessThan(barePrice)
  })
})
