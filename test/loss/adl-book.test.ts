/**
 * The ADL ranking kept incrementally (docs/spec/adl.md, ADL-031, ADL-032): after any sequence of
 * candidates set and removed, the book ranks as `rankAdlCandidates` does from scratch, and plans
 * on it equal `planAdl` on the same candidates, for both allocations and both weightings.
 */
import { fc, test } from '@fast-check/vitest'
import { describe, expect, it } from 'vitest'
import {
  type AdlCandidate,
  type AdlPolicy,
  type AdlRankingFormula,
  type AdlSide,
  adlWinnerWeight,
  isAdlWinner,
  planAdl,
  rankAdlCandidates,
} from '../../src/core/loss/adl.ts'
import { AdlRankingBook, planAdlOnBook } from '../../src/core/loss/adl-book.ts'
import { allocateProRataCapped } from '../../src/core/loss/common.ts'
import type { Instrument } from '../../src/core/model/instrument.ts'
import { abs, type Fixed, fixedOf, fromScaled } from '../../src/core/num/fixed.ts'

const f = fixedOf
const UNIT = 10n ** 18n

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

const units = (value: number): Fixed => fromScaled(BigInt(value) * UNIT)

/** Small value ranges, so that scores, weights and remainders often tie. */
const candidateFields = fc.record({
  lots: fc.integer({ min: -6, max: 6 }),
  entry: fc.integer({ min: 1, max: 5 }),
  pnl: fc.integer({ min: -4, max: 6 }),
  equity: fc.integer({ min: -2, max: 8 }),
  wallet: fc.integer({ min: -3, max: 9 }),
  accountPnl: fc.integer({ min: -4, max: 6 }),
  maintenance: fc.integer({ min: 0, max: 4 }),
})

type Fields = typeof candidateFields extends fc.Arbitrary<infer T> ? T : never

function candidateOf(accountId: string, fields: Fields): AdlCandidate {
  const size = units(fields.lots)
  return {
    accountId,
    size,
    entryPrice: units(fields.entry),
    markPrice: f('3'),
    entryNotional: units(Math.max(1, Math.abs(fields.lots)) * fields.entry),
    markNotional: units(Math.max(1, Math.abs(fields.lots)) * 3),
    unrealizedPnl: units(fields.pnl),
    positionEquity: units(fields.equity),
    walletBalance: units(fields.wallet),
    accountUnrealizedPnl: units(fields.accountPnl),
    maintenanceMargin: units(fields.maintenance),
  }
}

const formulas: AdlRankingFormula[] = [
  { kind: 'bitmex_pnl_leverage' },
  { kind: 'binance_leverage_pnl', walletFloor: f('1') },
  { kind: 'hyperliquid_index' },
  { kind: 'pnl_only' },
  { kind: 'dydx_offset' },
]

const operation = fc.record({
  account: fc.integer({ min: 0, max: 14 }),
  remove: fc.boolean(),
  fields: candidateFields,
})

const scenario = fc.record({
  formula: fc.integer({ min: 0, max: formulas.length - 1 }),
  profitableOnly: fc.boolean(),
  side: fc.constantFrom<AdlSide>('long', 'short'),
  seed: fc.bigInt({ min: 0n, max: 5n }),
  initial: fc.array(fc.tuple(fc.integer({ min: 0, max: 14 }), candidateFields), {
    maxLength: 15,
  }),
  operations: fc.array(operation, { maxLength: 30 }),
  sizeToClose: fc.integer({ min: 1, max: 40 }),
  only: fc.array(fc.integer({ min: 0, max: 14 }), { maxLength: 4 }),
})

type Scenario = typeof scenario extends fc.Arbitrary<infer T> ? T : never

/** The book after the scenario's operations, and the candidates a from-scratch ranking sees. */
function replay(input: Scenario): { book: AdlRankingBook; candidates: AdlCandidate[] } {
  const formula = formulas[input.formula] ?? { kind: 'pnl_only' }
  const eligibility = input.profitableOnly ? 'profitable_only' : 'all_opposite'
  const book = new AdlRankingBook(formula, eligibility, input.side, input.seed)
  const current = new Map<string, AdlCandidate>()
  const initial = input.initial.map(([account, fields]) => candidateOf(`a${account}`, fields))
  for (const candidate of initial) current.set(candidate.accountId, candidate)
  book.setAll(initial)
  input.operations.forEach((step, at) => {
    const id = `a${step.account}`
    if (step.remove) {
      book.delete(id)
      current.delete(id)
      return
    }
    const candidate = candidateOf(id, step.fields)
    book.set(candidate)
    current.set(id, candidate)
    // Halfway, ask for a split so that the winner orders are kept through the later steps.
    if (at === Math.floor(input.operations.length / 2)) {
      book.cappedSplit('pnl', abc.lotSize, 1n)
      book.cappedSplit('pnl_times_leverage', abc.lotSize, 1n)
    }
  })
  return { book, candidates: [...current.values()] }
}

function policyOf(input: Scenario, allocation: AdlPolicy['allocation']): AdlPolicy {
  return {
    ranking: formulas[input.formula] ?? { kind: 'pnl_only' },
    eligibility: input.profitableOnly ? 'profitable_only' : 'all_opposite',
    executionPrice: 'bankruptcy',
    allocation,
  }
}

const allocations: AdlPolicy['allocation'][] = [
  { kind: 'queue' },
  { kind: 'min_winner_haircut', weighting: 'pnl' },
  { kind: 'min_winner_haircut', weighting: 'pnl_times_leverage' },
]

describe('ADL-031: the kept ranking equals a from-scratch ranking', () => {
  test.prop([scenario], { numRuns: 400 })('after random sets and removals', (input) => {
    const { book, candidates } = replay(input)
    const policy = policyOf(input, { kind: 'queue' })
    const fresh = rankAdlCandidates(policy, 'liquidated', input.side, candidates, input.seed)
    expect([...book.candidates()].map((candidate) => candidate.accountId)).toEqual(
      fresh.ranked.map((entry) => entry.candidate.accountId),
    )
    fresh.ranked.forEach((entry, index) => {
      expect(book.rankedAt(index)).toEqual(entry)
      expect(book.indexOf(entry.candidate.accountId)).toBe(index)
    })
  })

  test.prop([scenario], { numRuns: 400 })(
    'capped pro-rata shares equal allocateProRataCapped (LOSS-004)',
    (input) => {
      const { book, candidates } = replay(input)
      const policy = policyOf(input, { kind: 'queue' })
      const ranked = rankAdlCandidates(policy, 'liquidated', input.side, candidates, input.seed)
      for (const weighting of ['pnl', 'pnl_times_leverage'] as const) {
        const entries = ranked.ranked
          .filter((entry) => isAdlWinner(entry.candidate, weighting))
          .map((entry) => ({
            key: entry.candidate.accountId,
            weight: adlWinnerWeight(entry.candidate, weighting),
            cap: abs(entry.candidate.size) / UNIT,
          }))
        const total = BigInt(input.sizeToClose)
        const expected = allocateProRataCapped(total, entries)
        const split = book.cappedSplit(weighting, abc.lotSize, total)
        expect(split.unallocated).toBe(expected.unallocated)
        for (const entry of entries)
          expect(split.shareOf(entry.key)).toBe(expected.shares.get(entry.key))
        const positive = [...expected.shares].filter(([, share]) => share > 0n)
        expect(new Map(positive)).toEqual(split.shares())
      }
    },
  )
})

describe('ADL-032: plans on the kept ranking equal planAdl', () => {
  test.prop([scenario], { numRuns: 400 })(
    'queue and min_winner_haircut, all fills and a few accounts',
    (input) => {
      const { book, candidates } = replay(input)
      for (const allocation of allocations) {
        const policy = policyOf(input, allocation)
        const planInput = {
          instrument: abc,
          liquidatedAccountId: 'liquidated',
          liquidatedSide: input.side,
          sizeToClose: units(input.sizeToClose),
          bankruptcyPrice: f('2.5'),
          markPrice: f('3'),
          seed: input.seed,
        }
        const { ranking: _ranking, ...expected } = planAdl(policy, { ...planInput, candidates })
        expect(planAdlOnBook(policy, planInput, book)).toEqual(expected)
        const only = new Set(input.only.map((account) => `a${account}`))
        const some = planAdlOnBook(policy, planInput, book, only)
        expect(some.fills).toEqual(expected.fills.filter((fill) => only.has(fill.accountId)))
        expect(some.uncoveredSize).toBe(expected.uncoveredSize)
      }
    },
  )

  it('a large population: pro rata over 2,000 winners, caps binding, one account asked for', () => {
    const book = new AdlRankingBook({ kind: 'pnl_only' }, 'all_opposite', 'long')
    const candidates: AdlCandidate[] = []
    for (let at = 0; at < 2000; at += 1) {
      const lots = 1 + (at % 7)
      candidates.push(
        candidateOf(`w${at}`, {
          lots: -lots,
          entry: 2,
          pnl: at % 3 === 0 ? 0 : 1 + ((at * 7919) % 13),
          equity: 5,
          wallet: 4,
          accountPnl: 1,
          maintenance: 1,
        }),
      )
    }
    book.setAll(candidates)
    const policy: AdlPolicy = {
      ranking: { kind: 'pnl_only' },
      eligibility: 'all_opposite',
      executionPrice: 'mark',
      allocation: { kind: 'min_winner_haircut', weighting: 'pnl' },
    }
    const planInput = {
      instrument: abc,
      liquidatedAccountId: 'liquidated',
      liquidatedSide: 'long' as const,
      sizeToClose: units(4321),
      bankruptcyPrice: f('2.5'),
      markPrice: f('3'),
    }
    const { ranking: _ranking, ...expected } = planAdl(policy, { ...planInput, candidates })
    expect(planAdlOnBook(policy, planInput, book)).toEqual(expected)
    const some = planAdlOnBook(policy, planInput, book, new Set(['w1', 'w500', 'w1999']))
    expect(some.fills).toEqual(
      expected.fills.filter((fill) => ['w1', 'w500', 'w1999'].includes(fill.accountId)),
    )
  })
})
