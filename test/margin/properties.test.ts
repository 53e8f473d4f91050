/**
 * Invariants of margin models and liquidation prices (docs/spec/margin.md MRG-008,
 * docs/spec/liquidation-price.md LPX-008..LPX-010), checked on generated positions with fixed seeds.
 */
import { fc, test } from '@fast-check/vitest'
import { describe, expect } from 'vitest'
import {
  bankruptcyPrice,
  liquidationPrice,
  type PriceSolveInput,
  requirementGap,
} from '../../src/core/margin/liquidation-price.ts'
import {
  maintenanceMarginOf,
  marginRates,
  marginRatesForValue,
  taxBracketDeductions,
} from '../../src/core/margin/rates.ts'
import { entryValueOf, positionValue } from '../../src/core/model/position-math.ts'
import { abs, type Fixed, fromScaled, mul, neg } from '../../src/core/num/fixed.ts'
import type {
  LiquidationPriceRules,
  MarginModel,
  MarketRules,
} from '../../src/core/rules/rule-set.ts'
import { f, ladder, liquidationRules, market } from './fixtures.ts'

/** Binance USDⓈ-M BTCUSDT ladder of 2020 (exchanges.md §2.1), to exercise tier changes. */
const binanceLadder = ladder([
  ['0', '50000', '0.004', '0.008', '0'],
  ['50000', '250000', '0.005', '0.01', '50'],
  ['250000', '1000000', '0.01', '0.02', '1300'],
  ['1000000', '5000000', '0.025', '0.05', '16300'],
  ['5000000', '10000000', '0.05', '0.1', '141300'],
  ['10000000', null, '0.1', '0.2', '641300'],
])
const coinLadder = ladder([
  ['0', '10', '0.004', '0.008', '0'],
  ['10', '20', '0.005', '0.01', '0.01'],
  ['20', '30', '0.01', '0.02', '0.11'],
  ['30', null, '0.025', '0.05', '0.56'],
])
const riskSteps: MarginModel = {
  kind: 'risk_limit_steps',
  basis: 'value',
  baseRiskLimit: f('200000'),
  riskLimitStep: f('100000'),
  maintenanceRateBase: f('0.004'),
  maintenanceRateStep: f('0.004'),
  initialRateBase: f('0.01'),
  initialRateStep: f('0.004'),
}
const sizeLinear: MarginModel = {
  kind: 'linear_in_size',
  basis: 'base_size',
  initialRateBase: f('0.02'),
  initialRatePerUnit: f('0.00005'),
  maintenanceRateBase: f('0.01'),
  maintenanceRatePerUnit: f('0.00005'),
}

const linearMarket = (model: MarginModel) => market({ market: 'BTCUSDT' }, model)
const inverseMarket = (model: MarginModel) =>
  market({ market: 'BTCUSD', kind: 'inverse_perpetual', quote: 'USD', contractSize: '100' }, model)

/** Thousandths of a contract (linear) or whole contracts (inverse). */
const sizeUnits = fc.integer({ min: 1, max: 2_000_000 })
const priceCents = fc.integer({ min: 100_000, max: 20_000_000 })
/** Collateral as a share of the entry value, in basis points (1%..150%). */
const collateralShare = fc.integer({ min: 100, max: 15_000 })

function solveInput(
  rules: MarketRules,
  units: number,
  long: boolean,
  cents: number,
  shareBasisPoints: number,
): PriceSolveInput {
  const linear = rules.instrument.kind === 'linear_perpetual'
  const magnitude = linear ? fromScaled(BigInt(units) * 10n ** 15n) : f(`${units}`)
  const size = long ? magnitude : neg(magnitude)
  const entryPrice = fromScaled(BigInt(cents) * 10n ** 16n)
  const entryValue = entryValueOf(rules.instrument, size, entryPrice)
  const collateral = mul(
    abs(entryValue),
    fromScaled(BigInt(shareBasisPoints) * 10n ** 14n),
    'floor',
  )
  return { market: rules, size, entryValue, collateral, markPrice: entryPrice }
}

/** How far from zero the gap may be at an 18-decimal solution: half a unit of price moves it by ≤ the slope, plus the roundings. */
function tolerance(input: PriceSolveInput, price: Fixed): bigint {
  const linear = input.market.instrument.kind === 'linear_perpetual'
  const contracts = abs(input.size) * input.market.instrument.contractSize
  const slope = linear ? contracts / 10n ** 36n : contracts / (price * price > 0n ? price : 1n)
  return 2n * slope + 8n
}

describe('MRG-008 maintenance margin is monotone and continuous', () => {
  test.prop(
    [
      fc.integer({ min: 1, max: 5_000_000 }),
      fc.integer({ min: 1, max: 5_000_000 }),
      priceCents,
      fc.constantFrom(binanceLadder, riskSteps, sizeLinear),
    ],
    { seed: 20240601, numRuns: 300 },
  )('non-decreasing in |size| at a fixed price', (first, second, cents, model) => {
    const btcusdt = linearMarket(model)
    const price = fromScaled(BigInt(cents) * 10n ** 16n)
    const [smaller, larger] = first <= second ? [first, second] : [second, first]
    const maintenanceAt = (units: number) => {
      const size = fromScaled(BigInt(units) * 10n ** 15n)
      return maintenanceMarginOf(
        positionValue(btcusdt.instrument, size, price),
        marginRates(btcusdt, size, price),
      )
    }
    expect(maintenanceAt(smaller) <= maintenanceAt(larger)).toBe(true)
  })

  const increasingRates = fc
    .uniqueArray(fc.integer({ min: 1, max: 50_000 }), { minLength: 2, maxLength: 8 })
    .map((rates) => rates.sort((a, b) => a - b))
  test.prop([increasingRates, fc.integer({ min: 1, max: 1_000_000 })], { seed: 77, numRuns: 300 })(
    'a tax-bracket ladder built with its recurrence gives the same maintenance from both sides of every boundary',
    (ratesPerMillion, width) => {
      const rows = ratesPerMillion.map((rate, index) => ({
        floor: f(`${index * width}`),
        maintenanceRate: fromScaled(BigInt(rate) * 10n ** 12n),
      }))
      const deductions = taxBracketDeductions(rows)
      const model: MarginModel = {
        kind: 'tiered',
        basis: 'value',
        tiers: rows.map((row, index) => ({
          floor: row.floor,
          cap: index + 1 < rows.length ? f(`${(index + 1) * width}`) : null,
          maintenanceRate: row.maintenanceRate,
          initialRate: row.maintenanceRate,
          maintenanceDeduction: deductions[index]!,
        })),
      }
      const xyz = linearMarket(model)
      for (let index = 1; index < rows.length; index++) {
        const boundary = rows[index]!.floor
        const lower = marginRatesForValue(xyz, f('1'), fromScaled(boundary - 1n))
        const upper = marginRatesForValue(xyz, f('1'), boundary)
        expect(upper.tierIndex).toBe(lower.tierIndex + 1)
        // The lower tier's line and the upper tier's line meet at the boundary.
        expect(maintenanceMarginOf(boundary, lower)).toBe(maintenanceMarginOf(boundary, upper))
      }
    },
  )
})

const valuations: LiquidationPriceRules[] = [
  liquidationRules(),
  liquidationRules({ maintenanceValuation: 'at_entry_price' }),
  liquidationRules({ closeFeeRate: f('0.00055') }),
]

describe('LPX-008 the gap is zero at the solved price', () => {
  test.prop(
    [
      fc.constantFrom(
        linearMarket(binanceLadder),
        inverseMarket(coinLadder),
        linearMarket(riskSteps),
        inverseMarket(sizeLinear),
      ),
      fc.constantFrom(...valuations),
      sizeUnits,
      fc.boolean(),
      priceCents,
      collateralShare,
    ],
    { seed: 1337, numRuns: 400 },
  )(
    'equity − (maintenance + close fee) at the liquidation price, and equity − close fee at the bankruptcy price',
    (rules, priceRules, units, long, cents, share) => {
      const input = solveInput(rules, units, long, cents, share)
      const liquidation = liquidationPrice(priceRules, input)
      if (liquidation !== null) {
        const gap = requirementGap(priceRules, input, 'liquidation', liquidation.price)
        if (liquidation.method === 'closed_form') {
          expect(abs(gap) <= tolerance(input, liquidation.price)).toBe(true)
        } else {
          // Bisection: the requirement is reached at the answer and not one unit on the safe side.
          const safeSide = fromScaled(liquidation.price + (long ? 1n : -1n))
          expect(gap <= 0n).toBe(true)
          expect(requirementGap(priceRules, input, 'liquidation', safeSide) > 0n).toBe(true)
        }
      }
      const bankruptcy = bankruptcyPrice(priceRules, input)
      if (bankruptcy !== null) {
        const gap = requirementGap(priceRules, input, 'bankruptcy', bankruptcy.price)
        expect(abs(gap) <= tolerance(input, bankruptcy.price)).toBe(true)
      }
    },
  )
})

describe('LPX-009 a solvent isolated position has its liquidation price between entry and bankruptcy', () => {
  test.prop(
    [
      fc.constantFrom(linearMarket(binanceLadder), inverseMarket(coinLadder)),
      fc.constantFrom(...valuations),
      sizeUnits,
      fc.boolean(),
      priceCents,
      collateralShare,
    ],
    { seed: 4242, numRuns: 400 },
  )(
    'bankruptcy ≤ liquidation ≤ entry for a long, entry ≤ liquidation ≤ bankruptcy for a short',
    (rules, priceRules, units, long, cents, share) => {
      const input = solveInput(rules, units, long, cents, share)
      fc.pre(requirementGap(priceRules, input, 'liquidation', input.markPrice) > 0n)
      const entry = input.markPrice
      const liquidation = liquidationPrice(priceRules, input)
      const bankruptcy = bankruptcyPrice(priceRules, input)
      if (liquidation === null) {
        // Never liquidated: then never bankrupt either.
        expect(bankruptcy).toBeNull()
        return
      }
      if (long) {
        expect(liquidation.price < entry).toBe(true)
        if (bankruptcy !== null) expect(bankruptcy.price <= liquidation.price).toBe(true)
      } else {
        expect(liquidation.price > entry).toBe(true)
        expect(bankruptcy).not.toBeNull()
        expect(liquidation.price <= bankruptcy!.price).toBe(true)
      }
    },
  )
})
