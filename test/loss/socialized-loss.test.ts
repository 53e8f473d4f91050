/**
 * Socialized loss (docs/spec/socialized-loss.md, SOC-001..SOC-011). Worked examples: exchanges.md §11
 * CLAW-01 (OKEx clawback rate, 2018 ≈ 18%), OKX-06 (clawback toy example), T8-01 (Trade8 socialized
 * profit adjustment, support.trade8.to/trading/settlement); oss-engines.md §2 (Vega floor + dust,
 * Drift per-unit ceiling charge).
 */
import { fc, test } from '@fast-check/vitest'
import { describe, expect, it } from 'vitest'
import { planFundDraw } from '../../src/core/loss/insurance-fund.ts'
import {
  excessOverThreshold,
  type HaircutRounding,
  planOpenInterestCharge,
  planProRataHaircut,
  type SocializedLossPolicy,
  validateSocializedLossPolicy,
} from '../../src/core/loss/socialized-loss.ts'
import { fixedOf, formatFixed, fromScaled, ONE, ZERO } from '../../src/core/num/fixed.ts'

const f = fixedOf
type ProRata = Extract<SocializedLossPolicy, { kind: 'pro_rata_winners' }>
const largestRemainder: ProRata = {
  kind: 'pro_rata_winners',
  basis: 'session_profits',
  maxRate: ONE,
  rounding: { kind: 'largest_remainder' },
}
const vega: ProRata = {
  kind: 'pro_rata_winners',
  basis: 'settlement_run',
  maxRate: ONE,
  rounding: { kind: 'floor_with_dust', dustRecipient: 'largest_profit' },
}

describe('SOC-001..SOC-006 pro rata over winners', () => {
  it('CLAW-01: rate = deficit ÷ Σ profits; 1,200 BTC over 6,700 BTC of profits ≈ 18% (OKEx 2018)', () => {
    const plan = planProRataHaircut(largestRemainder, f('1200'), [
      { accountId: 'a', profit: f('4000') },
      { accountId: 'b', profit: f('2000') },
      { accountId: 'c', profit: f('700') },
      { accountId: 'd', profit: f('-300') },
    ])
    expect(formatFixed(plan.rate, 2)).toBe('0.18')
    expect(plan.covered).toBe(f('1200'))
    expect(plan.uncovered).toBe(ZERO)
    expect(plan.excluded).toEqual(['d'])
    expect(plan.allocations.map((allocation) => formatFixed(allocation.haircut, 6))).toEqual([
      '716.417910',
      '358.208955',
      '125.373134',
    ])
  })

  it('OKX-06: the fund pays first, the rest is clawed back from profitable traders in equal percentage', () => {
    const draw = planFundDraw(
      {
        layout: { kind: 'pooled', fundId: 'btc' },
        drawFloor: ZERO,
        marketDrawCaps: new Map(),
        adlTriggers: [],
      },
      new Map([['btc', { fundId: 'btc', balance: f('5'), drawnByMarket: new Map() }]]),
      'BTC0928',
      f('8'),
    )
    const plan = planProRataHaircut(largestRemainder, draw.uncovered, [
      { accountId: 'x', profit: f('20') },
      { accountId: 'y', profit: f('10') },
    ])
    expect(
      plan.allocations.map((allocation) => [allocation.accountId, allocation.haircut]),
    ).toEqual([
      ['x', f('2')],
      ['y', f('1')],
    ])
    expect(plan.rate).toBe(f('0.1'))
  })

  it('SOC-002: the rate is capped at 100%: a deficit above all profits takes them all and reports the rest', () => {
    const plan = planProRataHaircut(largestRemainder, f('50'), [
      { accountId: 'a', profit: f('30') },
    ])
    expect([plan.covered, plan.uncovered, plan.rate]).toEqual([f('30'), f('20'), ONE])
    const capped = planProRataHaircut({ ...largestRemainder, maxRate: f('0.5') }, f('50'), [
      { accountId: 'a', profit: f('30') },
    ])
    expect([capped.covered, capped.uncovered]).toEqual([f('15'), f('35')])
  })

  it('SOC-001: a zero-profit population covers nothing', () => {
    const plan = planProRataHaircut(largestRemainder, f('10'), [{ accountId: 'a', profit: ZERO }])
    expect(plan).toMatchObject({
      allocations: [],
      covered: ZERO,
      uncovered: f('10'),
      rate: ZERO,
      excluded: ['a'],
    })
  })

  it('SOC-004: Vega-style floor with dust: dust goes to the largest winner, ties by lower id, within caps', () => {
    const plan = planProRataHaircut(vega, fromScaled(2n), [
      { accountId: 'c', profit: fromScaled(1n) },
      { accountId: 'b', profit: fromScaled(1n) },
      { accountId: 'a', profit: fromScaled(1n) },
    ])
    // Floors are all 0; dust 2 goes to a (cap 1) then b.
    expect(
      plan.allocations.map((allocation) => [allocation.accountId, allocation.haircut]),
    ).toEqual([
      ['a', 1n],
      ['b', 1n],
      ['c', 0n],
    ])
    expect(plan.dust).toBe(2n)
    const big = planProRataHaircut(vega, fromScaled(10n), [
      { accountId: 'a', profit: fromScaled(3n) },
      { accountId: 'b', profit: fromScaled(7n) },
      { accountId: 'c', profit: fromScaled(5n) },
    ])
    // floors: 10×3/15 = 2, 10×7/15 = 4, 10×5/15 = 3 → 9; dust 1 to b (largest profit).
    expect(big.allocations.map((allocation) => allocation.haircut)).toEqual([2n, 5n, 3n])
  })

  const profits = fc.uniqueArray(
    fc.record({
      accountId: fc.string({ minLength: 1, maxLength: 3 }),
      profit: fc.bigInt({ min: -(10n ** 20n), max: 10n ** 21n }),
    }),
    { selector: (entry) => entry.accountId, maxLength: 10 },
  )
  const roundings: [string, HaircutRounding][] = [
    ['largest_remainder', { kind: 'largest_remainder' }],
    [
      'floor_with_dust/largest_profit',
      { kind: 'floor_with_dust', dustRecipient: 'largest_profit' },
    ],
    [
      'floor_with_dust/first_account_id',
      { kind: 'floor_with_dust', dustRecipient: 'first_account_id' },
    ],
  ]
  for (const [name, rounding] of roundings) {
    const policy: ProRata = { ...largestRemainder, rounding }
    test.prop(
      [profits, fc.bigInt({ min: 0n, max: 10n ** 22n }), fc.bigInt({ min: 1n, max: 10n ** 18n })],
      { numRuns: 5_000 },
    )(
      `SOC-002 ${name}: Σ haircuts + uncovered = deficit, 0 ≤ haircut ≤ cap, order-free`,
      (raw, deficit, maxRate) => {
        const list = raw.map((entry) => ({
          accountId: entry.accountId,
          profit: fromScaled(entry.profit),
        }))
        const plan = planProRataHaircut(
          { ...policy, maxRate: fromScaled(maxRate) },
          fromScaled(deficit),
          list,
        )
        const total = plan.allocations.reduce((sum, allocation) => sum + allocation.haircut, 0n)
        expect(total + plan.uncovered).toBe(deficit)
        expect(total).toBe(plan.covered)
        for (const allocation of plan.allocations) {
          expect(
            allocation.haircut >= 0n &&
              allocation.haircut <= (allocation.profit * maxRate) / 10n ** 18n,
          ).toBe(true)
        }
        expect(
          planProRataHaircut(
            { ...policy, maxRate: fromScaled(maxRate) },
            fromScaled(deficit),
            [...list].reverse(),
          ),
        ).toEqual(plan)
      },
    )
  }

  test.prop(
    [profits, fc.bigInt({ min: 0n, max: 10n ** 22n }), fc.bigInt({ min: 0n, max: 10n ** 21n })],
    { numRuns: 10_000 },
  )(
    'SOC-005 largest remainder: a larger deficit never takes less from anyone (up to one unit)',
    (raw, deficit, extra) => {
      const list = raw.map((entry) => ({
        accountId: entry.accountId,
        profit: fromScaled(entry.profit),
      }))
      const small = planProRataHaircut(largestRemainder, fromScaled(deficit), list)
      const large = planProRataHaircut(largestRemainder, fromScaled(deficit + extra), list)
      small.allocations.forEach((allocation, index) =>
        expect(large.allocations[index]!.haircut >= allocation.haircut - 1n).toBe(true),
      )
      expect(large.rate >= small.rate).toBe(true)
    },
  )
})

describe('SOC-007 T8-01 Trade8 threshold (pool 1,000 BTC, 0.5%)', () => {
  const cases: [string, string, string][] = [
    ['450', '500', '0'],
    ['202', '200', '0'],
    ['510', '500', '5'],
  ]
  for (const [profitsText, lossesText, expected] of cases) {
    it(`profits ${profitsText} / losses ${lossesText} → socialize ${expected}`, () => {
      expect(
        excessOverThreshold({
          totalProfits: f(profitsText),
          totalLosses: f(lossesText),
          liquidityPool: f('1000'),
          thresholdRate: f('0.005'),
        }),
      ).toBe(f(expected))
    })
  }
})

describe('SOC-008..SOC-011 charge over open interest (Drift / Mango)', () => {
  const toFund: Extract<SocializedLossPolicy, { kind: 'open_interest_charge' }> = {
    kind: 'open_interest_charge',
    overCollection: 'insurance_fund',
  }
  const refund: Extract<SocializedLossPolicy, { kind: 'open_interest_charge' }> = {
    kind: 'open_interest_charge',
    overCollection: 'refund_largest_positions',
  }

  it('SOC-009: both sides pay ceil(deficit ÷ OI) per contract; losers pay too', () => {
    const plan = planOpenInterestCharge(toFund, f('100'), [
      { accountId: 'long', size: f('30') },
      { accountId: 'short', size: f('-10') },
    ])
    expect(plan.perUnitCharge).toBe(f('2.5'))
    expect(plan.charges.map((charge) => [charge.accountId, charge.charge])).toEqual([
      ['long', f('75')],
      ['short', f('25')],
    ])
    expect(plan.overCollection).toBe(ZERO)
  })

  it('SOC-010/SOC-011: rounding up over-collects; credited to the fund, or refunded largest position first', () => {
    const positions = [
      { accountId: 'a', size: f('1') },
      { accountId: 'b', size: f('1') },
      { accountId: 'c', size: f('-1') },
    ]
    const plan = planOpenInterestCharge(toFund, f('1'), positions)
    expect(plan.perUnitCharge).toBe(f('0.333333333333333334'))
    expect(plan.overCollection).toBe(fromScaled(2n))
    expect(plan.overCollectionTo).toBe('insurance_fund')
    const refunded = planOpenInterestCharge(refund, f('1'), positions)
    expect(
      refunded.charges.map((charge) => [charge.accountId, charge.charge, charge.refund]),
    ).toEqual([
      ['a', f('0.333333333333333332'), 2n],
      ['b', f('0.333333333333333334'), 0n],
      ['c', f('0.333333333333333334'), 0n],
    ])
    expect(refunded.overCollection).toBe(ZERO)
  })

  it('SOC-008: without open interest nothing is covered', () => {
    expect(planOpenInterestCharge(toFund, f('3'), [{ accountId: 'a', size: ZERO }])).toMatchObject({
      covered: ZERO,
      uncovered: f('3'),
    })
  })

  const positions = fc.uniqueArray(
    fc.record({
      accountId: fc.string({ minLength: 1, maxLength: 3 }),
      size: fc.bigInt({ min: -(10n ** 22n), max: 10n ** 22n }),
    }),
    { selector: (entry) => entry.accountId, maxLength: 10 },
  )
  for (const policy of [toFund, refund]) {
    test.prop([positions, fc.bigInt({ min: 0n, max: 10n ** 24n })], { numRuns: 6_000 })(
      `SOC-010 ${policy.overCollection}: Σ charges = deficit + over-collection, none negative, order-free`,
      (raw, deficit) => {
        const list = raw.map((entry) => ({
          accountId: entry.accountId,
          size: fromScaled(entry.size),
        }))
        const plan = planOpenInterestCharge(policy, fromScaled(deficit), list)
        const total = plan.charges.reduce((sum, charge) => sum + charge.charge, 0n)
        expect(total).toBe(plan.covered + plan.overCollection)
        expect(plan.covered + plan.uncovered).toBe(deficit)
        if (policy.overCollection === 'refund_largest_positions')
          expect(plan.overCollection).toBe(0n)
        for (const charge of plan.charges) expect(charge.charge >= 0n).toBe(true)
        expect(planOpenInterestCharge(policy, fromScaled(deficit), [...list].reverse())).toEqual(
          plan,
        )
      },
    )
  }
})

describe('SOC-006 policy validation', () => {
  it('refuses a maximum rate outside (0, 1]', () => {
    expect(
      validateSocializedLossPolicy({ ...largestRemainder, maxRate: f('1.01') }).map(
        (entry) => entry.code,
      ),
    ).toEqual(['bad_max_rate'])
    expect(
      validateSocializedLossPolicy({ ...largestRemainder, maxRate: ZERO }).map(
        (entry) => entry.code,
      ),
    ).toEqual(['bad_max_rate'])
    expect(validateSocializedLossPolicy(vega)).toEqual([])
  })
})
