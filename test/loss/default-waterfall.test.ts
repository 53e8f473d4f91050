/**
 * Clearing-house default waterfall and Cover-1/Cover-2 (docs/spec/default-waterfall.md, WF-001..WF-013).
 * Worked examples: theory.md W4 (Eurex assessment cap and capped periods), W5 (Nasdaq Clearing,
 * Einar Aas default 2018-09: SITG EUR 7m + member default fund EUR 107m), W6 (Cover 1 / Cover 2 /
 * EMIR rule); presets from theory.md §1.2 (CME) and §1.3 (Eurex).
 */
import { fc, test } from '@fast-check/vitest'
import { describe, expect, it } from 'vitest'
import {
  cmeStyleWaterfall,
  eurexCappedPeriod,
  eurexStyleWaterfall,
} from '../../src/core/loss/ccp-presets.ts'
import {
  type ClearingMember,
  cappedPeriods,
  coverStress,
  planDefaultWaterfall,
  validateWaterfallPolicy,
  type WaterfallPolicy,
} from '../../src/core/loss/default-waterfall.ts'
import { fixed, fixedOf, fromScaled, ZERO } from '../../src/core/num/fixed.ts'

const f = fixedOf
const million = (amount: number | bigint) => fixed(BigInt(amount) * 1_000_000n)

function member(memberId: string, contribution: string, gain = '0', called = '0'): ClearingMember {
  return {
    memberId,
    defaultFundContribution: f(contribution),
    variationMarginGain: f(gain),
    assessmentsAlreadyCalled: f(called),
  }
}

const nasdaqShaped: WaterfallPolicy = {
  id: 'nasdaq-shaped',
  description: 'defaulter resources → junior capital → member default fund → assessments',
  sources: ['theory.md §1.6'],
  tranches: [
    { name: 'defaulter collateral', sources: [{ kind: 'defaulter_margin' }] },
    { name: 'defaulter default fund', sources: [{ kind: 'defaulter_default_fund' }] },
    {
      name: 'junior capital',
      sources: [{ kind: 'ccp_capital', name: 'junior_capital', amount: million(7) }],
    },
    { name: 'member default fund', sources: [{ kind: 'member_default_fund' }] },
    {
      name: 'assessments',
      sources: [
        { kind: 'member_assessments', capMultiple: fixed(1n), capMultipleForSeveralDefaults: null },
      ],
    },
  ],
  endOfWaterfall: 'uncovered',
}

describe('WF-003..WF-010 planDefaultWaterfall', () => {
  it('W5 (Aas-shaped): residual EUR 114m → SITG 7, mutual default fund 107 pro rata over 166 members, assessments 0', () => {
    const members = Array.from({ length: 166 }, (_, index) =>
      member(`m${String(index).padStart(3, '0')}`, '1000000'),
    )
    const plan = planDefaultWaterfall(nasdaqShaped, {
      defaulters: [
        {
          memberId: 'aas',
          closeOutLoss: million(114),
          margin: ZERO,
          defaultFundContribution: ZERO,
        },
      ],
      members,
    })
    const drawn = Object.fromEntries(plan.draws.map((draw) => [draw.source, draw.drawn]))
    expect(drawn).toEqual({
      defaulter_margin: ZERO,
      defaulter_default_fund: ZERO,
      'ccp_capital:junior_capital': million(7),
      member_default_fund: million(107),
      member_assessments: ZERO,
    })
    expect(plan.defaultFundReplenishment).toBe(million(107))
    expect(plan.uncovered).toBe(ZERO)
    const shares =
      plan.draws
        .find((draw) => draw.source === 'member_default_fund')
        ?.payers.map((payer) => payer.amount) ?? []
    expect(shares).toHaveLength(166)
    // 107m / 166 each, largest remainder: every share within one unit of 644,578.313253012048192771…
    for (const share of shares)
      expect(
        share === f('644578.313253012048192771') || share === f('644578.313253012048192772'),
      ).toBe(true)
  })

  it('WF-004: own resources first, surplus margin is not used for another defaulter; mutual layers shared pro rata to residual losses', () => {
    const policy: WaterfallPolicy = {
      ...nasdaqShaped,
      tranches: nasdaqShaped.tranches.map((tranche) =>
        tranche.name === 'junior capital'
          ? {
              name: 'junior capital',
              sources: [{ kind: 'ccp_capital', name: 'junior_capital', amount: f('8') }],
            }
          : tranche,
      ),
    }
    const plan = planDefaultWaterfall(policy, {
      defaulters: [
        { memberId: 'X', closeOutLoss: f('50'), margin: f('30'), defaultFundContribution: f('5') },
        { memberId: 'Y', closeOutLoss: f('40'), margin: f('30'), defaultFundContribution: f('5') },
        { memberId: 'Z', closeOutLoss: f('10'), margin: f('100'), defaultFundContribution: f('5') },
      ],
      members: [
        member('X', '5'),
        member('Y', '5'),
        member('Z', '5'),
        member('p', '30'),
        member('q', '10'),
      ],
    })
    expect(
      plan.defaulters.map((outcome) => [
        outcome.memberId,
        outcome.ownResourcesUsed,
        outcome.residualLoss,
      ]),
    ).toEqual([
      ['X', f('35'), f('15')],
      ['Y', f('35'), f('5')],
      ['Z', f('10'), ZERO],
    ])
    const capital = plan.draws.find((draw) => draw.source === 'ccp_capital:junior_capital')
    expect(capital?.forDefaulters).toEqual([
      { payerId: 'X', amount: f('6') },
      { payerId: 'Y', amount: f('2') },
    ])
    const fund = plan.draws.find((draw) => draw.source === 'member_default_fund')
    expect(fund?.payers).toEqual([
      { payerId: 'p', amount: f('9') },
      { payerId: 'q', amount: f('3') },
    ])
    expect(fund?.forDefaulters).toEqual([
      { payerId: 'X', amount: f('9') },
      { payerId: 'Y', amount: f('3') },
    ])
  })

  it('WF-008/WF-009: capped assessments, then VM gains haircut, then partial tear-up of the rest', () => {
    const policy: WaterfallPolicy = {
      id: 'recovery',
      description: 'with recovery tools',
      sources: ['theory.md §1.1'],
      tranches: [
        { name: 'margin', sources: [{ kind: 'defaulter_margin' }] },
        { name: 'mutual fund', sources: [{ kind: 'member_default_fund' }] },
        {
          name: 'assessments',
          sources: [
            {
              kind: 'member_assessments',
              capMultiple: fixed(2n),
              capMultipleForSeveralDefaults: null,
            },
          ],
        },
        { name: 'VMGH', sources: [{ kind: 'variation_margin_gains_haircut' }] },
      ],
      endOfWaterfall: 'partial_tear_up',
    }
    const plan = planDefaultWaterfall(policy, {
      defaulters: [
        { memberId: 'd', closeOutLoss: f('200'), margin: f('10'), defaultFundContribution: ZERO },
      ],
      members: [member('a', '10', '30', '5'), member('b', '20', '10')],
    })
    const bySource = Object.fromEntries(plan.draws.map((draw) => [draw.source, draw]))
    expect(bySource.member_default_fund?.drawn).toBe(f('30'))
    // caps: a 2×10 − 5 = 15, b 40 → 55
    expect(bySource.member_assessments?.payers).toEqual([
      { payerId: 'a', amount: f('15') },
      { payerId: 'b', amount: f('40') },
    ])
    expect(bySource.variation_margin_gains_haircut?.payers).toEqual([
      { payerId: 'a', amount: f('30') },
      { payerId: 'b', amount: f('10') },
    ])
    expect(plan.tornUp).toBe(f('65'))
    expect(plan.uncovered).toBe(ZERO)
  })

  it('WF-013 CME preset: several defaults raise the assessment cap from 275% to 550%', () => {
    const members = [member('a', '10'), member('b', '10')]
    const defaulter = {
      memberId: 'd',
      closeOutLoss: million(101),
      margin: ZERO,
      defaultFundContribution: ZERO,
    }
    const single = planDefaultWaterfall(cmeStyleWaterfall, { defaulters: [defaulter], members })
    expect(single.draws.find((draw) => draw.source === 'member_assessments')?.capacity).toBe(
      f('55'),
    )
    expect(single.uncovered).toBe(f('1000000') - f('20') - f('55'))
    const several = planDefaultWaterfall(cmeStyleWaterfall, {
      defaulters: [defaulter],
      members,
      defaultsInCappedPeriod: 2,
    })
    expect(several.draws.find((draw) => draw.source === 'member_assessments')?.capacity).toBe(
      f('110'),
    )
  })

  it('WF-013 Eurex preset: non-defaulters’ fund and second skin in the game are used together, pro rata', () => {
    const plan = planDefaultWaterfall(eurexStyleWaterfall, {
      defaulters: [
        { memberId: 'd', closeOutLoss: million(314), margin: ZERO, defaultFundContribution: ZERO },
      ],
      members: [member('a', '100000000'), member('b', '185000000')],
    })
    const bySource = Object.fromEntries(plan.draws.map((draw) => [draw.source, draw]))
    expect(bySource['ccp_capital:dedicated_amount']?.drawn).toBe(million(143))
    // 171m over capacity 285m + 57m = 342m: fund 142.5m, SSITG 28.5m.
    expect(bySource.member_default_fund?.drawn).toBe(f('142500000'))
    expect(bySource['ccp_capital:second_skin_in_the_game']?.drawn).toBe(f('28500000'))
    expect(bySource.member_default_fund?.payers).toEqual([
      { payerId: 'a', amount: million(50) },
      { payerId: 'b', amount: f('92500000') },
    ])
    expect(bySource.member_assessments?.drawn).toBe(ZERO)
  })

  it('WF-002: validation refuses own resources after a mutualised tranche and empty tranches', () => {
    const bad: WaterfallPolicy = {
      ...nasdaqShaped,
      tranches: [
        { name: 'fund', sources: [{ kind: 'member_default_fund' }] },
        { name: 'margin', sources: [{ kind: 'defaulter_margin' }] },
        { name: 'empty', sources: [] },
      ],
    }
    expect(validateWaterfallPolicy(bad).map((entry) => entry.code)).toEqual([
      'own_resources_misplaced',
      'empty_tranche',
    ])
    expect(validateWaterfallPolicy(cmeStyleWaterfall)).toEqual([])
    expect(validateWaterfallPolicy(eurexStyleWaterfall)).toEqual([])
  })

  const amount = fc.bigInt({ min: 0n, max: 10n ** 21n })
  test.prop(
    [
      fc.uniqueArray(
        fc.record({
          memberId: fc.string({ minLength: 1, maxLength: 2 }),
          closeOutLoss: amount,
          margin: amount,
          defaultFundContribution: amount,
        }),
        { selector: (entry) => entry.memberId, maxLength: 3 },
      ),
      fc.uniqueArray(
        fc.record({
          memberId: fc.string({ minLength: 1, maxLength: 2 }),
          defaultFundContribution: amount,
          variationMarginGain: amount,
          assessmentsAlreadyCalled: amount,
        }),
        { selector: (entry) => entry.memberId, maxLength: 6 },
      ),
      fc.constantFrom(nasdaqShaped, eurexStyleWaterfall, cmeStyleWaterfall),
    ],
    { numRuns: 3_000 },
  )(
    'WF-010: Σ draws + torn up + uncovered = total loss; payers sum to each draw; order-free',
    (rawDefaulters, rawMembers, policy) => {
      const defaulters = rawDefaulters.map((entry) => ({
        memberId: entry.memberId,
        closeOutLoss: fromScaled(entry.closeOutLoss),
        margin: fromScaled(entry.margin),
        defaultFundContribution: fromScaled(entry.defaultFundContribution),
      }))
      const members = rawMembers.map((entry) => ({
        memberId: entry.memberId,
        defaultFundContribution: fromScaled(entry.defaultFundContribution),
        variationMarginGain: fromScaled(entry.variationMarginGain),
        assessmentsAlreadyCalled: fromScaled(entry.assessmentsAlreadyCalled),
      }))
      const plan = planDefaultWaterfall(policy, { defaulters, members })
      const drawn = plan.draws.reduce((sum, draw) => sum + draw.drawn, 0n)
      expect(drawn + plan.tornUp + plan.uncovered).toBe(plan.totalLoss)
      for (const draw of plan.draws) {
        expect(draw.payers.reduce((sum, payer) => sum + payer.amount, 0n)).toBe(draw.drawn)
        expect(draw.forDefaulters.reduce((sum, share) => sum + share.amount, 0n)).toBe(draw.drawn)
      }
      expect(
        planDefaultWaterfall(policy, {
          defaulters: [...defaulters].reverse(),
          members: [...members].reverse(),
        }),
      ).toEqual(plan)
    },
  )
})

describe('WF-011 capped periods (theory.md W4, Eurex)', () => {
  it('defaults on days 0, 15, 30 extend one period to day 50', () => {
    expect(cappedPeriods([0, 15, 30], eurexCappedPeriod)).toEqual([
      { start: 0, end: 50, defaultDays: [0, 15, 30] },
    ])
  })

  it('a default on day 40 after the period ended on day 35 opens a new period with a fresh cap', () => {
    expect(cappedPeriods([40, 0, 15], eurexCappedPeriod)).toEqual([
      { start: 0, end: 35, defaultDays: [0, 15] },
      { start: 40, end: 60, defaultDays: [40] },
    ])
  })

  it('extensions never push the end beyond 3 months (63 business days)', () => {
    expect(cappedPeriods([0, 15, 30, 45, 60], eurexCappedPeriod)).toEqual([
      { start: 0, end: 63, defaultDays: [0, 15, 30, 45, 60] },
    ])
  })

  it('W4: a member with contribution EUR 10m is assessed at most EUR 20m in the period (total exposure ≤ EUR 30m)', () => {
    const plan = planDefaultWaterfall(eurexStyleWaterfall, {
      defaulters: [
        {
          memberId: 'd',
          closeOutLoss: million(10_000),
          margin: ZERO,
          defaultFundContribution: ZERO,
        },
      ],
      members: [member('m', '10000000')],
    })
    const paid = plan.draws
      .filter(
        (draw) => draw.source === 'member_default_fund' || draw.source === 'member_assessments',
      )
      .flatMap((draw) => draw.payers)
    expect(paid).toEqual([
      { payerId: 'm', amount: million(10) },
      { payerId: 'm', amount: million(20) },
    ])
  })
})

describe('WF-012 Cover 1 / Cover 2 (theory.md W6)', () => {
  it('uncollateralised losses A 120, B 90, C 60, D 10 → Cover 1 = 120, Cover 2 = 210, EMIR = 150', () => {
    const report = coverStress(
      [
        {
          scenarioId: 'worst',
          losses: [
            ['A', '220'],
            ['B', '90'],
            ['C', '75'],
            ['D', '10'],
          ].map(([groupId, stressLoss]) => ({
            groupId: groupId ?? '',
            stressLoss: f(stressLoss ?? '0'),
          })),
        },
      ],
      [
        { groupId: 'A', margin: f('80'), defaultFundContribution: f('20') },
        { groupId: 'C', margin: f('10'), defaultFundContribution: f('5') },
      ],
      { includeOwnDefaultFund: true, defaultFundSize: f('150') },
    )
    expect([report.cover1, report.cover2, report.emir]).toEqual([f('120'), f('210'), f('150')])
    expect(report.scenarios[0]?.uncollateralised.map((entry) => entry.groupId)).toEqual([
      'A',
      'B',
      'C',
      'D',
    ])
    expect(report.adequate).toEqual({ cover1: true, cover2: false, emir: true })
  })

  it('takes the worst scenario for each rule; own default fund optional; fewer than three groups', () => {
    const report = coverStress(
      [
        { scenarioId: 's1', losses: [{ groupId: 'A', stressLoss: f('50') }] },
        {
          scenarioId: 's2',
          losses: [
            { groupId: 'A', stressLoss: f('10') },
            { groupId: 'B', stressLoss: f('45') },
          ],
        },
      ],
      [{ groupId: 'A', margin: f('5'), defaultFundContribution: f('5') }],
      { includeOwnDefaultFund: false, defaultFundSize: f('50') },
    )
    expect([report.cover1, report.cover2, report.emir]).toEqual([f('45'), f('50'), f('45')])
    expect(report.adequate).toEqual({ cover1: true, cover2: true, emir: true })
  })
})
