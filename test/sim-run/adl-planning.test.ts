/**
 * ADL planning at simulation scale (docs/spec/adl.md ADL-009..ADL-016, LOSS-004): the capped
 * allocation's set-based rounds and the planner's ranking reuse are optimisations only. These tests
 * compare them with reference computations: the plain water-filling written below (a search per
 * key), and a plan made from a fresh copy of the input (no reuse).
 */
import { fc, test } from '@fast-check/vitest'
import { describe, expect, it } from 'vitest'
import {
  type AdlCandidate,
  type AdlPolicy,
  adlCandidateOf,
  planAdl,
  planWinnerHaircuts,
  type Winner,
} from '../../src/core/loss/adl.ts'
import { allocateProRataCapped, type CappedShare } from '../../src/core/loss/common.ts'
import { allocateProRata } from '../../src/core/num/allocate.ts'
import type { Instrument } from '../../src/core/model/instrument.ts'
import { fixedOf, fromScaled } from '../../src/core/num/fixed.ts'
import { DEFAULT_POPULATION_MARKET } from '../../src/sim/population.ts'
import { createRandom } from '../../src/sim/random.ts'

/** BTCUSDT linear perpetual, as the simulator's default population trades it. */
const btc: Instrument = DEFAULT_POPULATION_MARKET.instrument

const entriesArbitrary = fc.array(
  fc.record({
    weight: fc.bigInt({ min: 0n, max: 10n ** 12n }),
    cap: fc.bigInt({ min: 0n, max: 5_000n }),
  }),
  { maxLength: 40 },
)

/** LOSS-004 as first written: water-filling with a search per key (the oracle). */
function referenceCapped<K extends string>(total: bigint, entries: readonly CappedShare<K>[]) {
  const shares = new Map<K, bigint>(entries.map((entry) => [entry.key, 0n]))
  let open = entries.filter((entry) => entry.weight > 0n && entry.cap > 0n)
  let remaining = total
  while (remaining > 0n && open.length > 0) {
    const weightTotal = open.reduce((accumulated, entry) => accumulated + entry.weight, 0n)
    const binding = open.filter((entry) => remaining * entry.weight > entry.cap * weightTotal)
    if (binding.length === 0) {
      const split = allocateProRata(
        remaining,
        open.map(({ key, weight }) => ({ key, weight })),
      )
      for (const [key, share] of split) shares.set(key, share)
      remaining = 0n
      break
    }
    for (const entry of binding) {
      shares.set(entry.key, entry.cap)
      remaining -= entry.cap
    }
    open = open.filter((entry) => !binding.includes(entry))
  }
  return { shares, unallocated: remaining }
}

describe('allocateProRataCapped at scale (LOSS-004)', () => {
  test.prop([fc.bigInt({ min: 0n, max: 100_000n }), entriesArbitrary])(
    'LOSS-004: gives the same shares, in the same key order, and the same remainder as the plain water-filling',
    (total, raw) => {
      const entries = raw.map((entry, index) => ({ key: `k${index}`, ...entry }))
      const reference = referenceCapped(total, entries)
      const indexed = allocateProRataCapped(total, entries)
      expect([...indexed.shares]).toEqual([...reference.shares])
      expect(indexed.unallocated).toBe(reference.unallocated)
    },
  )

  it('LOSS-004: equal on 5,000 seeded keys with binding caps over several rounds', () => {
    const random = createRandom(20251010)
    const entries = Array.from({ length: 5_000 }, (_, index) => ({
      key: `a${String(index).padStart(5, '0')}`,
      weight: BigInt(Math.floor(random.uniform() ** 4 * 1e9)),
      cap: BigInt(1 + Math.floor(random.uniform() * 50)),
    }))
    for (const total of [1n, 777n, 20_000n, 120_000n, 10n ** 6n]) {
      const reference = referenceCapped(total, entries)
      const indexed = allocateProRataCapped(total, entries)
      expect([...indexed.shares]).toEqual([...reference.shares])
      expect(indexed.unallocated).toBe(reference.unallocated)
    }
  })
})

/** A seeded book of short winners against a liquidated long (the crash case). */
function seededCandidates(seed: number, count: number): AdlCandidate[] {
  const random = createRandom(seed)
  const mark = fixedOf('50000')
  return Array.from({ length: count }, (_, index) => {
    const lots = BigInt(1 + Math.floor(random.uniform() * 400))
    const short = random.chance(0.7)
    const size = fromScaled((short ? -lots : lots) * 10n ** 15n)
    const entry = BigInt(45_000 + Math.floor(random.uniform() * 15_000))
    const entryValue = fromScaled(size * entry)
    return adlCandidateOf(btc, {
      accountId: `a${String(index).padStart(5, '0')}`,
      size,
      entryValue,
      markPrice: mark,
      bankruptcyPrice: short ? fixedOf(String(Number(entry) * 1.3)) : fixedOf('1'),
      walletBalance: fixedOf(String(100 + Math.floor(random.uniform() * 100_000))),
      accountUnrealizedPnl: fixedOf('0'),
      maintenanceMargin: fixedOf(String(1 + Math.floor(random.uniform() * 500))),
    })
  })
}

const policies: AdlPolicy[] = [
  {
    ranking: { kind: 'bitmex_pnl_leverage' },
    eligibility: 'all_opposite',
    executionPrice: 'bankruptcy',
    allocation: { kind: 'queue' },
  },
  {
    ranking: { kind: 'binance_leverage_pnl', walletFloor: fixedOf('1') },
    eligibility: 'profitable_only',
    executionPrice: 'mark',
    allocation: { kind: 'min_winner_haircut', weighting: 'pnl' },
  },
  {
    ranking: { kind: 'hyperliquid_index' },
    eligibility: 'all_opposite',
    executionPrice: 'bankruptcy',
    allocation: { kind: 'min_winner_haircut', weighting: 'pnl_times_leverage' },
  },
]

describe('planAdl reuses its ranking only where it is the same (ADL-009..ADL-016)', () => {
  it('ADL-010/ADL-014: the venue plan and the alternative planned on one input equal plans on fresh copies', () => {
    for (const seed of [1, 2, 3]) {
      const candidates = seededCandidates(seed, 3_000)
      for (const sizeToClose of [fixedOf('0.001'), fixedOf('25'), fixedOf('100000')]) {
        const input = {
          instrument: btc,
          liquidatedAccountId: 'a00007',
          liquidatedSide: 'long' as const,
          sizeToClose,
          bankruptcyPrice: fixedOf('52000'),
          markPrice: fixedOf('50000'),
          candidates,
        }
        for (const policy of policies) {
          const alternative: AdlPolicy = {
            ...policy,
            allocation:
              policy.allocation.kind === 'queue'
                ? { kind: 'min_winner_haircut', weighting: 'pnl' }
                : { kind: 'queue' },
          }
          const reused = [planAdl(policy, input), planAdl(alternative, input)]
          const fresh = [
            planAdl(policy, { ...input, candidates: [...candidates] }),
            planAdl(alternative, { ...input, candidates: [...candidates] }),
          ]
          expect(reused).toEqual(fresh)
        }
        // Another ranking formula on the same input object is ranked anew.
        const other = planAdl({ ...policies[0]!, ranking: { kind: 'pnl_only' } }, input)
        const otherFresh = planAdl(
          { ...policies[0]!, ranking: { kind: 'pnl_only' } },
          {
            ...input,
            candidates: [...candidates],
          },
        )
        expect(other).toEqual(otherFresh)
      }
    }
  })

  it('ADL-022: leverage-weighted haircuts over many winners equal the reference allocation', () => {
    const random = createRandom(7)
    const winners: Winner[] = Array.from({ length: 2_000 }, (_, index) => ({
      accountId: `w${String(index).padStart(4, '0')}`,
      pnl: fixedOf(String(1 + Math.floor(random.uniform() * 10_000))),
      leverage: fixedOf(String(Math.floor(random.uniform() * 30))),
    }))
    const deficit = fixedOf('3000000')
    const plan = planWinnerHaircuts('leverage_weighted', winners, deficit)
    const reference = referenceCapped(
      deficit,
      winners.map((winner) => ({
        key: winner.accountId,
        weight: winner.pnl * winner.leverage,
        cap: winner.pnl,
      })),
    )
    const rest = reference.unallocated
    const taken = new Map(reference.shares)
    if (rest > 0n) {
      const second = referenceCapped(
        rest,
        winners.map((winner) => ({
          key: winner.accountId,
          weight: winner.pnl,
          cap: winner.pnl - (taken.get(winner.accountId) ?? 0n),
        })),
      )
      for (const [key, share] of second.shares) taken.set(key, (taken.get(key) ?? 0n) + share)
    }
    for (const haircut of plan.haircuts)
      expect(haircut.taken).toBe(taken.get(haircut.accountId) ?? 0n)
  })
})
