/**
 * Insurance-fund rules (docs/spec/insurance-fund.md, INS-001..INS-008). Worked examples: exchanges.md
 * §11 BY-07 (Bybit ADL trigger, bybit-exchange.github.io/docs/v5/market/adl-alert) and §5.4 (OKX
 * "straight-line decrease of 30% from the peak within 8 hours").
 */
import { fc, test } from '@fast-check/vitest'
import { describe, expect, it } from 'vitest'
import {
  type AdlTriggerRule,
  evaluateAdlTriggers,
  type FundState,
  fundIdOf,
  type InsuranceFundPolicy,
  planFundDraw,
  validateInsuranceFundPolicy,
} from '../../src/core/loss/insurance-fund.ts'
import { fixedOf, fromScaled, ZERO } from '../../src/core/num/fixed.ts'

const f = fixedOf
const HOUR = 3_600_000

function policy(overrides: Partial<InsuranceFundPolicy> = {}): InsuranceFundPolicy {
  return {
    layout: { kind: 'per_market' },
    drawFloor: ZERO,
    marketDrawCaps: new Map(),
    adlTriggers: [],
    ...overrides,
  }
}

function funds(...entries: [string, string, [string, string][]?][]): Map<string, FundState> {
  return new Map(
    entries.map(([fundId, balance, drawn = []]) => [
      fundId,
      {
        fundId,
        balance: f(balance),
        drawnByMarket: new Map(drawn.map(([market, amount]) => [market, f(amount)])),
      },
    ]),
  )
}

describe('INS-001 fund layouts', () => {
  it('maps markets to funds per market, pooled and grouped (Binance: BTCUSDT and ETHUSDT own funds, rest shared)', () => {
    expect(fundIdOf({ kind: 'per_market' }, 'BTCUSDT')).toBe('BTCUSDT')
    expect(fundIdOf({ kind: 'pooled', fundId: 'usdt' }, 'SOLUSDT')).toBe('usdt')
    const grouped = {
      kind: 'grouped' as const,
      marketToFund: new Map([
        ['BTCUSDT', 'btc'],
        ['ETHUSDT', 'eth'],
      ]),
      fallbackFundId: 'shared',
    }
    expect(fundIdOf(grouped, 'ETHUSDT')).toBe('eth')
    expect(fundIdOf(grouped, 'XRPUSDT')).toBe('shared')
    expect(fundIdOf({ ...grouped, fallbackFundId: null }, 'XRPUSDT')).toBeNull()
  })

  it('leaves the whole shortfall uncovered when no fund backs the market', () => {
    const plan = planFundDraw(
      policy({ layout: { kind: 'grouped', marketToFund: new Map(), fallbackFundId: null } }),
      funds(['btc', '100']),
      'XRPUSDT',
      f('5'),
    )
    expect(plan).toMatchObject({
      fundId: null,
      drawn: ZERO,
      uncovered: f('5'),
      limitedBy: 'no_fund',
    })
  })
})

describe('INS-002..INS-004 planFundDraw', () => {
  it('INS-002: a fund exactly sufficient covers the shortfall and ends at zero', () => {
    const plan = planFundDraw(policy(), funds(['BTCUSDT', '8']), 'BTCUSDT', f('8'))
    expect(plan).toMatchObject({
      drawn: f('8'),
      uncovered: ZERO,
      balanceAfter: ZERO,
      limitedBy: 'shortfall',
    })
  })

  it('INS-002: OKX-06 clawback toy example: the fund pays what it has, the rest is uncovered', () => {
    // exchanges.md §11 OKX-06: B is owed $9 but A only has $1 → deficit $8 for the fund or clawback.
    const plan = planFundDraw(
      policy({ layout: { kind: 'pooled', fundId: 'btc' } }),
      funds(['btc', '5']),
      'BTC0928',
      f('8'),
    )
    expect(plan).toMatchObject({
      drawn: f('5'),
      uncovered: f('3'),
      balanceAfter: ZERO,
      limitedBy: 'fund_balance',
    })
  })

  it('INS-003: the draw floor is never crossed (Drift keeps one unit: vault − 1)', () => {
    const plan = planFundDraw(
      policy({ drawFloor: f('0.000001') }),
      funds(['SOL-PERP', '10']),
      'SOL-PERP',
      f('20'),
    )
    expect(plan.drawn).toBe(f('9.999999'))
    expect(plan.uncovered).toBe(f('10.000001'))
  })

  it('INS-004: a per-market cap bounds the cumulative draw (Drift quote_max_insurance − settled)', () => {
    const capped = policy({
      layout: { kind: 'pooled', fundId: 'usdc' },
      marketDrawCaps: new Map([['JTO-PERP', f('1000')]]),
    })
    const plan = planFundDraw(
      capped,
      funds(['usdc', '1000000', [['JTO-PERP', '700']]]),
      'JTO-PERP',
      f('500'),
    )
    expect(plan).toMatchObject({
      drawn: f('300'),
      uncovered: f('200'),
      limitedBy: 'market_cap',
      explanation: { rule: 'INS-004' },
    })
    const exhausted = planFundDraw(
      capped,
      funds(['usdc', '1000000', [['JTO-PERP', '1200']]]),
      'JTO-PERP',
      f('5'),
    )
    expect(exhausted.drawn).toBe(ZERO)
  })

  test.prop(
    [
      fc.bigInt({ min: 0n, max: 10n ** 24n }),
      fc.bigInt({ min: 0n, max: 10n ** 24n }),
      fc.bigInt({ min: 0n, max: 10n ** 22n }),
      fc.option(fc.bigInt({ min: 0n, max: 10n ** 24n })),
      fc.bigInt({ min: 0n, max: 10n ** 24n }),
    ],
    { numRuns: 20_000 },
  )(
    'INS-002: drawn + uncovered = shortfall, within balance − floor and the cap',
    (shortfall, balance, floor, cap, already) => {
      const plan = planFundDraw(
        policy({
          drawFloor: fromScaled(floor),
          marketDrawCaps: cap === null ? new Map() : new Map([['M', fromScaled(cap)]]),
        }),
        new Map([
          [
            'M',
            {
              fundId: 'M',
              balance: fromScaled(balance),
              drawnByMarket: new Map([['M', fromScaled(already)]]),
            },
          ],
        ]),
        'M',
        fromScaled(shortfall),
      )
      expect(plan.drawn + plan.uncovered).toBe(shortfall)
      expect(plan.drawn >= 0n && plan.uncovered >= 0n).toBe(true)
      expect(plan.drawn <= (balance > floor ? balance - floor : 0n)).toBe(true)
      if (cap !== null) expect(plan.drawn <= (cap > already ? cap - already : 0n)).toBe(true)
    },
  )
})

const bybitPnlRatio: AdlTriggerRule = {
  kind: 'market_pnl_ratio',
  windowMs: 8 * HOUR,
  triggerRatio: f('-0.3'),
  stopRatio: f('-0.25'),
  minBalance: f('1'),
  inclusive: true,
}

function history(points: [number, string, string][]) {
  return points.map(([hours, balance, pnl]) => ({
    timestampMs: hours * HOUR,
    balance: f(balance),
    marketPnl: f(pnl),
  }))
}

describe('INS-005..INS-007 ADL triggers (exchanges.md §11 BY-07)', () => {
  const bybit = policy({
    layout: { kind: 'pooled', fundId: 'ABC' },
    adlTriggers: [bybitPnlRatio, { kind: 'exhaustion', threshold: ZERO }],
  })

  it('BY-07 (1): A loses 350K of a 1M pool → pnlRatio −35%, triggered, ADL closes 50K to hold A at −30%', () => {
    const report = evaluateAdlTriggers(
      bybit,
      history([
        [0, '1000000', '0'],
        [2, '650000', '-350000'],
      ]),
    )
    const [ratioRule, exhaustion] = report.evaluations
    expect(report.active).toBe(true)
    expect(ratioRule).toMatchObject({
      active: true,
      measure: f('-0.35'),
      lossBeyondTrigger: f('50000'),
    })
    expect(exhaustion?.active).toBe(false)
  })

  it('BY-07 (1): stays active while pnlRatio ≤ −25%, stops once above (hysteresis)', () => {
    const recovering = history([
      [0, '1000000', '0'],
      [2, '650000', '-350000'],
      [3, '720000', '-280000'],
    ])
    expect(evaluateAdlTriggers(bybit, recovering, [true]).evaluations[0]?.active).toBe(true)
    expect(evaluateAdlTriggers(bybit, recovering, [false]).evaluations[0]?.active).toBe(false)
    const recovered = history([
      [0, '1000000', '0'],
      [2, '650000', '-350000'],
      [3, '760000', '-240000'],
    ])
    expect(evaluateAdlTriggers(bybit, recovered, [true]).evaluations[0]).toMatchObject({
      active: false,
      measure: f('-0.24'),
    })
  })

  it('BY-07 (2): A gains 1M (8h max balance 2M), then loses 600K → pnlRatio −30% → triggered', () => {
    const report = evaluateAdlTriggers(
      bybit,
      history([
        [0, '1000000', '0'],
        [1, '2000000', '1000000'],
        [5, '1400000', '400000'],
      ]),
    )
    expect(report.evaluations[0]).toMatchObject({
      active: true,
      measure: f('-0.3'),
      lossBeyondTrigger: ZERO,
    })
    const strict = policy({ adlTriggers: [{ ...bybitPnlRatio, inclusive: false }] })
    expect(
      evaluateAdlTriggers(
        strict,
        history([
          [0, '1000000', '0'],
          [1, '2000000', '1000000'],
          [5, '1400000', '400000'],
        ]),
      ).active,
    ).toBe(false)
  })

  it('BY-07 (3): no market reaches −30% but the shared pool reaches 0 → pool-equity ADL; stops when balance > 0', () => {
    const drained = history([
      [0, '1000000', '0'],
      [4, '0', '-200000'],
    ])
    const report = evaluateAdlTriggers(bybit, drained)
    expect(report.evaluations[0]?.active).toBe(false)
    expect(report.evaluations[1]?.active).toBe(true)
    expect(
      evaluateAdlTriggers(
        bybit,
        history([
          [0, '1000000', '0'],
          [4, '1', '-200000'],
        ]),
      ).evaluations[1]?.active,
    ).toBe(false)
  })

  it('INS-006: the minimum balance gates the start of the PnL-ratio trigger', () => {
    const tiny = policy({ adlTriggers: [{ ...bybitPnlRatio, minBalance: f('10000') }] })
    expect(
      evaluateAdlTriggers(
        tiny,
        history([
          [0, '20000', '0'],
          [1, '5000', '-15000'],
        ]),
      ).active,
    ).toBe(false)
  })

  it('INS-007: OKX drawdown of 30% from the 8-hour peak; older peaks leave the window', () => {
    const okx = policy({
      adlTriggers: [{ kind: 'drawdown_from_peak', windowMs: 8 * HOUR, maxDrawdownRate: f('0.3') }],
    })
    expect(
      evaluateAdlTriggers(
        okx,
        history([
          [0, '100', '0'],
          [7, '70', '0'],
        ]),
      ).evaluations[0],
    ).toMatchObject({ active: true, measure: f('0.3') })
    expect(
      evaluateAdlTriggers(
        okx,
        history([
          [0, '100', '0'],
          [7, '71', '0'],
        ]),
      ).active,
    ).toBe(false)
    // The peak 9 h ago is outside the window: peak = 80, drawdown 12.5%.
    expect(
      evaluateAdlTriggers(
        okx,
        history([
          [0, '100', '0'],
          [1, '80', '0'],
          [9, '70', '0'],
        ]),
      ).evaluations[0]?.measure,
    ).toBe(f('0.125'))
  })

  it('INS-005: history order does not matter', () => {
    const points = history([
      [0, '1000000', '0'],
      [1, '2000000', '1000000'],
      [5, '1400000', '400000'],
    ])
    expect(evaluateAdlTriggers(bybit, [...points].reverse())).toEqual(
      evaluateAdlTriggers(bybit, points),
    )
  })
})

describe('INS-008 policy validation', () => {
  it('reports bad fields with codes and paths', () => {
    const issues = validateInsuranceFundPolicy(
      policy({
        drawFloor: f('-1'),
        adlTriggers: [
          { kind: 'drawdown_from_peak', windowMs: 0, maxDrawdownRate: f('1.5') },
          { ...bybitPnlRatio, triggerRatio: f('0.1'), stopRatio: f('-0.5') },
        ],
      }),
    )
    expect(issues.map((entry) => entry.code)).toEqual([
      'negative_draw_floor',
      'bad_window',
      'bad_drawdown_rate',
      'bad_trigger_ratio',
      'stop_below_trigger',
    ])
    expect(validateInsuranceFundPolicy(policy({ adlTriggers: [bybitPnlRatio] }))).toEqual([])
  })
})
