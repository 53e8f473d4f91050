/**
 * Auto-deleveraging (docs/spec/adl.md, ADL-001..ADL-024). Worked examples: exchanges.md §11 BN-07
 * (Binance LeveragePnL, dev.binance.vision thread), §3.4 (BitMEX ranking, verbatim), §7 (Hyperliquid
 * index), §11 DY-03 (dYdX deleveraging at the bankruptcy price, contract-loss-mechanism page) and
 * theory.md W12 (Chitra 2025: pro-rata, leverage-weighted, queue).
 */
import { fc, test } from '@fast-check/vitest'
import { describe, expect, it } from 'vitest'
import {
  type AdlCandidate,
  type AdlPolicy,
  adlCandidateOf,
  adlScore,
  compareWithQueue,
  type HaircutMode,
  planAdl,
  planWinnerHaircuts,
  rankAdlCandidates,
  seededHash,
  type Winner,
} from '../../src/core/loss/adl.ts'
import { ratioToFixed } from '../../src/core/loss/common.ts'
import type { Instrument } from '../../src/core/model/instrument.ts'
import { type Fixed, fixedOf, formatFixed, fromScaled, ZERO } from '../../src/core/num/fixed.ts'

const f = fixedOf

const abc: Instrument = {
  market: 'ABC-USD',
  kind: 'linear_perpetual',
  baseAsset: 'ABC',
  quoteAsset: 'USD',
  settlementAsset: 'USD',
  contractSize: f('1'),
  tickSize: f('0.01'),
  lotSize: f('1'),
}

function candidate(
  accountId: string,
  size: string,
  entry: string,
  mark: string,
  bankruptcy: string,
  extra: Partial<AdlCandidate> = {},
): AdlCandidate {
  const sizeValue = f(size)
  return {
    ...adlCandidateOf(abc, {
      accountId,
      size: sizeValue,
      entryValue: ((sizeValue * f(entry)) / 10n ** 18n) as Fixed,
      markPrice: f(mark),
      bankruptcyPrice: f(bankruptcy),
      walletBalance: f('1000'),
      accountUnrealizedPnl: ZERO,
      maintenanceMargin: f('10'),
    }),
    ...extra,
  }
}

const queuePolicy: AdlPolicy = {
  ranking: { kind: 'pnl_only' },
  eligibility: 'all_opposite',
  executionPrice: 'bankruptcy',
  allocation: { kind: 'queue' },
}

describe('ADL-001..ADL-005 ranking formulas', () => {
  it('ADL-002: BN-07 Binance LeveragePnL = 40.2 / 4.27 × 13.42% = 1.26', () => {
    // Wallet 4.27, unrealized profit 40.2, UI margin ratio 13.42% → MM = 0.1342 × 44.47.
    const bn07 = {
      ...candidate('u', '1', '100', '140.2', '1'),
      unrealizedPnl: f('40.2'),
      walletBalance: f('4.27'),
      accountUnrealizedPnl: f('40.2'),
      maintenanceMargin: f('5.967874'),
    }
    const score = ratioToFixed(
      adlScore({ kind: 'binance_leverage_pnl', walletFloor: f('1') }, bn07),
    )
    expect(score).not.toBeNull()
    expect(formatFixed(score ?? ZERO, 2)).toBe('1.26')
    expect(formatFixed(score ?? ZERO, 4)).toBe('1.2634')
  })

  it('ADL-002: margin ratio is 0 when wallet + uPnL ≤ 0, and losses score 0; the wallet floor is 1', () => {
    const formula = { kind: 'binance_leverage_pnl' as const, walletFloor: f('1') }
    const underwater = {
      ...candidate('u', '1', '100', '140', '1'),
      walletBalance: f('-50'),
      accountUnrealizedPnl: f('40'),
    }
    expect(ratioToFixed(adlScore(formula, underwater))).toBe(ZERO)
    const tinyWallet = {
      ...candidate('u', '1', '100', '140', '1'),
      walletBalance: f('0.5'),
      accountUnrealizedPnl: f('40'),
    }
    // 40 / max(1, 0.5) × 10 / 40.5
    expect(ratioToFixed(adlScore(formula, tinyWallet))).toBe(f('9.876543209876543210'))
  })

  it('ADL-001: BitMEX PnL% × effective leverage (profit) and PnL% ÷ effective leverage (loss)', () => {
    // Long 10 @ 100, mark 120, bankrupt 90: PnL% = 200/1000 = 0.2; eff. lev = 1200 / (1200 − 900) = 4 → 0.8.
    const winner = candidate('w', '10', '100', '120', '90')
    expect(winner.positionEquity).toBe(f('300'))
    expect(ratioToFixed(adlScore({ kind: 'bitmex_pnl_leverage' }, winner))).toBe(f('0.8'))
    // Short 10 @ 100, mark 120, bankrupt 150: PnL% = −0.2; eff. lev = 1200 / 300 = 4 → −0.05.
    const loser = candidate('l', '-10', '100', '120', '150')
    expect(ratioToFixed(adlScore({ kind: 'bitmex_pnl_leverage' }, loser))).toBe(f('-0.05'))
    // Equity ≤ 0 is infinite leverage: a profitable one ranks first.
    const broke = candidate('b', '10', '100', '120', '125')
    expect(adlScore({ kind: 'bitmex_pnl_leverage' }, broke).infinity).toBe(1)
  })

  it('ADL-003: Hyperliquid (mark / entry) × (notional / account value); shorts use entry / mark', () => {
    const long = {
      ...candidate('l', '10', '100', '120', '1'),
      walletBalance: f('400'),
      accountUnrealizedPnl: f('200'),
    }
    expect(ratioToFixed(adlScore({ kind: 'hyperliquid_index' }, long))).toBe(f('2.4'))
    const short = {
      ...candidate('s', '-10', '120', '100', '200'),
      walletBalance: f('800'),
      accountUnrealizedPnl: f('200'),
    }
    expect(ratioToFixed(adlScore({ kind: 'hyperliquid_index' }, short))).toBe(f('1.2'))
  })

  it('ADL-005: dydx_offset is a pure function of (seed, account id)', () => {
    expect(seededHash(7n, 'alice')).toBe(seededHash(7n, 'alice'))
    expect(seededHash(7n, 'alice')).not.toBe(seededHash(8n, 'alice'))
    expect(seededHash(7n, 'alice')).not.toBe(seededHash(7n, 'alicf'))
    const policy: AdlPolicy = { ...queuePolicy, ranking: { kind: 'dydx_offset' } }
    const candidates = ['a', 'b', 'c', 'd', 'e', 'f'].map((id) =>
      candidate(id, '-1', '1', '1', '2'),
    )
    const orders = [1n, 2n, 3n, 4n].map((seed) =>
      rankAdlCandidates(policy, 'x', 'long', candidates, seed)
        .ranked.map((entry) => entry.candidate.accountId)
        .join(''),
    )
    expect(new Set(orders).size).toBeGreaterThan(1)
    expect(
      rankAdlCandidates(policy, 'x', 'long', [...candidates].reverse(), 3n)
        .ranked.map((entry) => entry.candidate.accountId)
        .join(''),
    ).toBe(orders[2])
  })
})

describe('ADL-006..ADL-008 candidates', () => {
  it('excludes the liquidated account, same-side and empty positions; ties break by account id', () => {
    const ranking = rankAdlCandidates(queuePolicy, 'liq', 'long', [
      candidate('liq', '-3', '10', '8', '12'),
      candidate('b', '-2', '10', '8', '12'),
      candidate('a', '-2', '10', '8', '12'),
      candidate('c', '5', '10', '8', '7'),
      { ...candidate('d', '-1', '10', '8', '12'), size: ZERO },
    ])
    expect(ranking.ranked.map((entry) => [entry.rank, entry.candidate.accountId])).toEqual([
      [1, 'a'],
      [2, 'b'],
    ])
    expect(ranking.excluded.map((entry) => [entry.accountId, entry.reason])).toEqual([
      ['c', 'same_side'],
      ['d', 'empty_position'],
      ['liq', 'liquidated_account'],
    ])
  })

  it('ADL-007: a hedge-mode account on both sides is a candidate only with its opposite position', () => {
    const ranking = rankAdlCandidates(queuePolicy, 'liq', 'short', [
      candidate('h', '4', '10', '12', '8'),
      candidate('h', '-4', '10', '12', '14'),
    ])
    expect(ranking.ranked).toHaveLength(1)
    expect(ranking.ranked[0]?.candidate.size).toBe(f('4'))
    expect(ranking.excluded).toEqual([{ accountId: 'h', size: f('-4'), reason: 'same_side' }])
  })

  it('ADL-008: profitable_only drops positions without profit (zero-profit population → nothing to rank)', () => {
    const flat = [candidate('a', '-2', '10', '10', '12'), candidate('b', '-2', '10', '11', '12')]
    const ranking = rankAdlCandidates(
      { ...queuePolicy, eligibility: 'profitable_only' },
      'liq',
      'long',
      flat,
    )
    expect(ranking.ranked).toHaveLength(0)
    expect(ranking.excluded.map((entry) => entry.reason)).toEqual([
      'not_profitable',
      'not_profitable',
    ])
  })
})

describe('ADL-009..ADL-014 planAdl', () => {
  it('DY-03: A long 500 @ $1 deleveraged at B’s bankruptcy price $1.2 with price at $2 → A realizes +$100', () => {
    // exchanges.md §11 DY-03: B short 500 @ $1 with $100; price → $2; B's bankruptcy price $1.2.
    const a = candidate('A', '500', '1', '2', '0.8')
    const plan = planAdl(queuePolicy, {
      instrument: abc,
      liquidatedAccountId: 'B',
      liquidatedSide: 'short',
      sizeToClose: f('500'),
      bankruptcyPrice: f('1.2'),
      markPrice: f('2'),
      candidates: [a],
    })
    expect(plan.fills).toHaveLength(1)
    const [fill] = plan.fills
    expect(fill).toMatchObject({
      accountId: 'A',
      price: f('1.2'),
      sizeChange: f('-500'),
      closedContracts: f('500'),
      closedPnlAtMark: f('500'),
      haircutVersusMark: f('400'),
      rule: 'ADL-010',
    })
    // Realized PnL at the execution price = PnL at mark − haircut = 100.
    expect((fill?.closedPnlAtMark ?? ZERO) - (fill?.haircutVersusMark ?? ZERO)).toBe(f('100'))
    expect(plan.uncoveredSize).toBe(ZERO)
  })

  it('ADL-010: the queue takes whole positions down the ranking and a partial one at the end', () => {
    const candidates = [
      candidate('a', '-3', '10', '8', '12'),
      candidate('b', '-5', '10', '7', '12'),
      candidate('c', '-4', '10', '9', '12'),
    ]
    const plan = planAdl(
      { ...queuePolicy, executionPrice: 'mark' },
      {
        instrument: abc,
        liquidatedAccountId: 'x',
        liquidatedSide: 'long',
        sizeToClose: f('7'),
        bankruptcyPrice: f('6'),
        markPrice: f('8'),
        candidates,
      },
    )
    expect(
      plan.fills.map((fill) => [fill.accountId, fill.rank, fill.sizeChange, fill.price]),
    ).toEqual([
      ['b', 1, f('5'), f('8')],
      ['a', 2, f('2'), f('8')],
    ])
    expect(plan.fills[1]?.reason).toContain('partial')
    expect(plan.totalHaircutVersusMark).toBe(ZERO)
  })

  it('ADL-013: a size larger than all candidates reports the uncovered remainder', () => {
    const plan = planAdl(queuePolicy, {
      instrument: abc,
      liquidatedAccountId: 'x',
      liquidatedSide: 'long',
      sizeToClose: f('10'),
      bankruptcyPrice: f('6'),
      markPrice: f('8'),
      candidates: [candidate('a', '-3', '10', '8', '12')],
    })
    expect(plan.uncoveredSize).toBe(f('7'))
    const none = planAdl(queuePolicy, {
      instrument: abc,
      liquidatedAccountId: 'x',
      liquidatedSide: 'long',
      sizeToClose: f('2'),
      bankruptcyPrice: f('6'),
      markPrice: f('8'),
      candidates: [],
    })
    expect(none.fills).toEqual([])
    expect(none.uncoveredSize).toBe(f('2'))
  })

  it('ADL-014: min_winner_haircut spreads the size pro rata to PnL (W12 shape 300/200/100 → 3/2/1 lots)', () => {
    // Shorts with entry 10 at mark 7: PnL = 3 × |size|. Sizes 100, 200/3 ≈ 66, 33 give PnL 300, 198, 99.
    const candidates = [
      candidate('A', '-100', '10', '7', '12'),
      candidate('B', '-66', '10', '7', '12'),
      candidate('C', '-33', '10', '7', '12'),
    ]
    const policy: AdlPolicy = {
      ...queuePolicy,
      allocation: { kind: 'min_winner_haircut', weighting: 'pnl' },
    }
    const plan = planAdl(policy, {
      instrument: abc,
      liquidatedAccountId: 'x',
      liquidatedSide: 'long',
      sizeToClose: f('6'),
      bankruptcyPrice: f('8'),
      markPrice: f('7'),
      candidates,
    })
    expect(plan.fills.map((fill) => [fill.accountId, fill.closedContracts, fill.rule])).toEqual([
      ['A', f('3'), 'ADL-014'],
      ['B', f('2'), 'ADL-014'],
      ['C', f('1'), 'ADL-014'],
    ])
    expect(plan.totalHaircutVersusMark).toBe(f('6'))
  })

  it('ADL-014: what winners cannot absorb goes through the queue (losers included)', () => {
    const candidates = [candidate('W', '-2', '10', '7', '12'), candidate('L', '-5', '5', '7', '12')]
    const policy: AdlPolicy = {
      ...queuePolicy,
      allocation: { kind: 'min_winner_haircut', weighting: 'pnl_times_leverage' },
    }
    const plan = planAdl(policy, {
      instrument: abc,
      liquidatedAccountId: 'x',
      liquidatedSide: 'long',
      sizeToClose: f('4'),
      bankruptcyPrice: f('6'),
      markPrice: f('7'),
      candidates,
    })
    expect(plan.fills.map((fill) => [fill.accountId, fill.closedContracts, fill.rule])).toEqual([
      ['W', f('2'), 'ADL-014'],
      ['L', f('2'), 'ADL-010'],
    ])
  })

  const sizes = fc.array(
    fc.record({ size: fc.integer({ min: 1, max: 50 }), entry: fc.integer({ min: 1, max: 40 }) }),
    { minLength: 0, maxLength: 8 },
  )
  for (const allocation of [
    { kind: 'queue' },
    { kind: 'min_winner_haircut', weighting: 'pnl' },
    { kind: 'min_winner_haircut', weighting: 'pnl_times_leverage' },
  ] as const) {
    test.prop([sizes, fc.integer({ min: 1, max: 300 }), fc.integer({ min: 5, max: 30 })], {
      numRuns: 2_000,
    })(
      `ADL-011/ADL-013 (${allocation.kind}${'weighting' in allocation ? `/${allocation.weighting}` : ''}): closed + uncovered = size, no position over-closed, order-free`,
      (positions, toClose, mark) => {
        const candidates = positions.map((position, index) =>
          candidate(`acct${index}`, `-${position.size}`, `${position.entry}`, `${mark}`, '100'),
        )
        const input = {
          instrument: abc,
          liquidatedAccountId: 'x',
          liquidatedSide: 'long' as const,
          sizeToClose: f(`${toClose}`),
          bankruptcyPrice: f('31'),
          markPrice: f(`${mark}`),
          candidates,
        }
        const plan = planAdl(
          { ...queuePolicy, ranking: { kind: 'bitmex_pnl_leverage' }, allocation },
          input,
        )
        const closed = plan.fills.reduce((total, fill) => total + fill.closedContracts, 0n)
        expect(closed + plan.uncoveredSize).toBe(f(`${toClose}`))
        for (const fill of plan.fills)
          expect(fill.closedContracts <= 0n - fill.sizeBefore && fill.closedContracts > 0n).toBe(
            true,
          )
        const reversed = planAdl(
          { ...queuePolicy, ranking: { kind: 'bitmex_pnl_leverage' }, allocation },
          { ...input, candidates: [...candidates].reverse() },
        )
        expect(reversed.fills).toEqual(plan.fills)
      },
    )
  }
})

describe('ADL-020..ADL-024 winner haircuts (theory.md W12)', () => {
  const w12: Winner[] = [
    { accountId: 'A', pnl: f('300'), leverage: f('10') },
    { accountId: 'B', pnl: f('200'), leverage: f('2') },
    { accountId: 'C', pnl: f('100'), leverage: f('20') },
  ]
  const taken = (mode: HaircutMode, deficit = '100') =>
    Object.fromEntries(
      planWinnerHaircuts(mode, w12, f(deficit)).haircuts.map((haircut) => [
        haircut.accountId,
        formatFixed(haircut.taken, 2),
      ]),
    )

  it('W12 pro rata on PnL: 16.67% of each → A 50, B 33.33, C 16.67', () => {
    expect(taken('pro_rata_pnl')).toEqual({ A: '50.00', B: '33.33', C: '16.67' })
  })

  it('W12 leverage-weighted: weights 3000/400/2000 → A 55.56, B 7.41, C 37.04', () => {
    expect(taken('leverage_weighted')).toEqual({ A: '55.56', B: '7.41', C: '37.04' })
  })

  it('W12 queue: ranks by PnL × leverage and takes A whole (300): overshoot 200', () => {
    const plan = planWinnerHaircuts('queue_whole_positions', w12, f('100'))
    expect(plan.haircuts.map((haircut) => [haircut.accountId, haircut.taken])).toEqual([
      ['A', f('300')],
      ['C', ZERO],
      ['B', ZERO],
    ])
    expect(plan).toMatchObject({ covered: f('100'), uncovered: ZERO, overshoot: f('200') })
  })

  it('water-filling takes from the largest PnL down to a common level', () => {
    expect(taken('water_fill')).toEqual({ A: '100.00', B: '0.00', C: '0.00' })
    // 250 → level 125: A 175, B 75, C 0.
    expect(taken('water_fill', '250')).toEqual({ A: '175.00', B: '75.00', C: '0.00' })
  })

  it('ADL-024: compareWithQueue reports the queue’s excess over the pro-rata plan', () => {
    const report = compareWithQueue('pro_rata_pnl', w12, f('100'))
    expect(report).toMatchObject({
      queueOvershoot: f('200'),
      excessTakenByQueue: f('200'),
      plan: { taken: f('100'), accountsTouched: 3 },
      queue: { taken: f('300'), accountsTouched: 1, largestFraction: f('1') },
    })
  })

  it('ADL-022: a deficit above all profits takes everything and reports the rest uncovered', () => {
    for (const mode of [
      'pro_rata_pnl',
      'leverage_weighted',
      'water_fill',
      'queue_whole_positions',
    ] as const) {
      const plan = planWinnerHaircuts(mode, w12, f('1000'))
      expect([plan.covered, plan.uncovered, plan.overshoot]).toEqual([f('600'), f('400'), ZERO])
    }
    expect(planWinnerHaircuts('pro_rata_pnl', [], f('5')).uncovered).toBe(f('5'))
  })

  const winners = fc.uniqueArray(
    fc.record({
      accountId: fc.string({ minLength: 1, maxLength: 3 }),
      pnl: fc.bigInt({ min: 1n, max: 10n ** 21n }),
      leverage: fc.bigInt({ min: 0n, max: 10n ** 20n }),
    }),
    { selector: (winner) => winner.accountId, maxLength: 8 },
  )
  for (const mode of [
    'pro_rata_pnl',
    'leverage_weighted',
    'water_fill',
    'queue_whole_positions',
  ] as const) {
    test.prop([winners, fc.bigInt({ min: 0n, max: 10n ** 22n })], { numRuns: 10_000 })(
      `ADL-021/ADL-022 ${mode}: exact cover, no winner beyond its PnL, order-free`,
      (raw, deficit) => {
        const list = raw.map((winner) => ({
          accountId: winner.accountId,
          pnl: fromScaled(winner.pnl),
          leverage: fromScaled(winner.leverage),
        }))
        const plan = planWinnerHaircuts(mode, list, fromScaled(deficit))
        const total = plan.haircuts.reduce((sum, haircut) => sum + haircut.taken, 0n)
        expect(plan.covered + plan.uncovered).toBe(deficit)
        expect(total).toBe(plan.covered + plan.overshoot)
        if (mode !== 'queue_whole_positions') expect(plan.overshoot).toBe(0n)
        for (const haircut of plan.haircuts)
          expect(haircut.taken >= 0n && haircut.taken <= haircut.pnl).toBe(true)
        expect(planWinnerHaircuts(mode, [...list].reverse(), fromScaled(deficit))).toEqual(plan)
      },
    )
  }

  test.prop(
    [winners, fc.bigInt({ min: 0n, max: 10n ** 22n }), fc.bigInt({ min: 0n, max: 10n ** 21n })],
    { numRuns: 25_000 },
  )(
    'ADL-023 pro rata: a larger deficit never takes less from anyone (up to one unit of rounding)',
    (raw, deficit, extra) => {
      const list = raw.map((winner) => ({
        accountId: winner.accountId,
        pnl: fromScaled(winner.pnl),
        leverage: fromScaled(winner.leverage),
      }))
      const small = planWinnerHaircuts('pro_rata_pnl', list, fromScaled(deficit))
      const large = planWinnerHaircuts('pro_rata_pnl', list, fromScaled(deficit + extra))
      small.haircuts.forEach((haircut, index) =>
        expect(large.haircuts[index]!.taken >= haircut.taken - 1n).toBe(true),
      )
    },
  )
})
