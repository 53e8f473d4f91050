/**
 * Clearing-house waterfall presets as data (docs/spec/default-waterfall.md, WF-013). Amounts are in
 * the clearing house's currency (USD for CME, EUR for Eurex) as published at the cited date; they
 * change, so a study should pass its own amounts. Sources: theory.md §1.2 (CME "Financial safeguards
 * waterfalls" page; Rulebook Ch. 8, Rule 802.G) and §1.3 (Eurex default-waterfall pages).
 */
import { fixed, fixedOf } from '../num/fixed.ts'
import type { CappedPeriodRules, WaterfallPolicy } from './default-waterfall.ts'

/**
 * CME Clearing, base package: defaulter's performance bond → its guaranty-fund contribution → CME
 * contribution USD 100m → non-defaulters' guaranty fund → assessments capped at 275% of the
 * contribution (550% for multiple defaults). The 275% single-default cap is INFERRED from the
 * published ratio assessment powers ÷ guaranty fund = 2.75 (theory.md §1.2).
 */
export const cmeStyleWaterfall: WaterfallPolicy = {
  id: 'cme-style',
  description: 'CME Clearing base guaranty-fund waterfall (2023-09-30 sizes)',
  sources: [
    'https://www.cmegroup.com/clearing/risk-management/financial-safeguards.html',
    'CME Rulebook Chapter 8, Rule 802.G',
  ],
  tranches: [
    { name: 'defaulter performance bond', sources: [{ kind: 'defaulter_margin' }] },
    { name: 'defaulter guaranty fund contribution', sources: [{ kind: 'defaulter_default_fund' }] },
    {
      name: 'CME contribution',
      sources: [{ kind: 'ccp_capital', name: 'cme_contribution', amount: fixed(100_000_000n) }],
    },
    { name: 'non-defaulters guaranty fund', sources: [{ kind: 'member_default_fund' }] },
    {
      name: 'assessments',
      sources: [
        {
          kind: 'member_assessments',
          capMultiple: fixedOf('2.75'),
          capMultipleForSeveralDefaults: fixedOf('5.5'),
        },
      ],
    },
  ],
  endOfWaterfall: 'uncovered',
}

/**
 * Eurex Clearing: defaulter's margin and default-fund contribution → dedicated amount (SITG)
 * EUR 143m → non-defaulters' default fund together with the second skin in the game EUR 57m →
 * assessments (2 × contribution per capped period) together with a further dedicated amount up to
 * EUR 300m, pro rata → Eurex Clearing's remaining equity EUR 600m. The Deutsche Börse letter of
 * comfort (up to EUR 600m) is not a funded resource and is left out.
 */
export const eurexStyleWaterfall: WaterfallPolicy = {
  id: 'eurex-style',
  description: 'Eurex Clearing default waterfall',
  sources: ['https://www.eurex.com/ec-en/support/default-management/default-waterfall'],
  tranches: [
    { name: 'defaulter margin', sources: [{ kind: 'defaulter_margin' }] },
    { name: 'defaulter default fund contribution', sources: [{ kind: 'defaulter_default_fund' }] },
    {
      name: 'Eurex dedicated amount',
      sources: [{ kind: 'ccp_capital', name: 'dedicated_amount', amount: fixed(143_000_000n) }],
    },
    {
      name: 'non-defaulters default fund and second skin in the game',
      sources: [
        { kind: 'member_default_fund' },
        { kind: 'ccp_capital', name: 'second_skin_in_the_game', amount: fixed(57_000_000n) },
      ],
    },
    {
      name: 'assessments and further dedicated amount',
      sources: [
        { kind: 'member_assessments', capMultiple: fixed(2n), capMultipleForSeveralDefaults: null },
        { kind: 'ccp_capital', name: 'further_dedicated_amount', amount: fixed(300_000_000n) },
      ],
    },
    {
      name: 'Eurex Clearing remaining equity',
      sources: [{ kind: 'ccp_capital', name: 'remaining_equity', amount: fixed(600_000_000n) }],
    },
  ],
  endOfWaterfall: 'uncovered',
}

/** Eurex capped period: 20 business days, extended per further default, at most 3 months (≈ 63 business days). */
export const eurexCappedPeriod: CappedPeriodRules = { periodBusinessDays: 20, maxBusinessDays: 63 }

/** The presets by id. */
export const ccpWaterfallPresets: ReadonlyMap<string, WaterfallPolicy> = new Map([
  [cmeStyleWaterfall.id, cmeStyleWaterfall],
  [eurexStyleWaterfall.id, eurexStyleWaterfall],
])
