/**
 * NUM-005 pro-rata allocation by largest remainder: shares sum exactly to the total, none is
 * negative, each is within one unit of its exact share, and input order does not matter.
 */
import { fc, test } from '@fast-check/vitest'
import { describe, expect, it } from 'vitest'
import { allocateProRata } from '../../src/core/num/allocate.ts'

describe('NUM-005 allocateProRata', () => {
  it('gives the leftover units to the largest remainders, ties to the lower key', () => {
    const shares = allocateProRata(100n, [
      { key: 'a', weight: 1n },
      { key: 'b', weight: 1n },
      { key: 'c', weight: 1n },
    ])
    expect([...shares.entries()]).toEqual([
      ['a', 34n],
      ['b', 33n],
      ['c', 33n],
    ])
  })

  it('splits theory.md W12 pro-rata on PnL (300/200/100 over a debt of 100)', () => {
    // in units of 0.01: 10,000 cents over weights 300, 200, 100
    const shares = allocateProRata(10_000n, [
      { key: 'A', weight: 300n },
      { key: 'B', weight: 200n },
      { key: 'C', weight: 100n },
    ])
    expect(shares.get('A')).toBe(5000n)
    expect(shares.get('B')).toBe(3333n)
    expect(shares.get('C')).toBe(1667n)
  })

  it('allocates zero to everyone when the total is zero', () => {
    expect([...allocateProRata(0n, [{ key: 'a', weight: 0n }]).values()]).toEqual([0n])
  })

  const weightLists = fc.uniqueArray(
    fc.record({
      key: fc.string({ minLength: 1, maxLength: 4 }),
      weight: fc.bigInt({ min: 0n, max: 10n ** 12n }),
    }),
    { minLength: 1, maxLength: 20, selector: (entry) => entry.key },
  )
  test.prop([fc.bigInt({ min: 0n, max: 10n ** 24n }), weightLists], { seed: 42, numRuns: 2000 })(
    'shares sum exactly, are fair to one unit and independent of input order',
    (total, weights) => {
      const weightTotal = weights.reduce((sum, entry) => sum + entry.weight, 0n)
      fc.pre(weightTotal > 0n || total === 0n)
      const shares = allocateProRata(total, weights)
      let sum = 0n
      for (const { key, weight } of weights) {
        const share = shares.get(key) ?? -1n
        expect(share >= 0n).toBe(true)
        sum += share
        if (weightTotal > 0n) {
          const exactTimesTotal = total * weight // share ≈ exactTimesTotal / weightTotal
          expect(share * weightTotal <= exactTimesTotal + weightTotal).toBe(true)
          expect(share * weightTotal >= exactTimesTotal - weightTotal).toBe(true)
        }
      }
      expect(sum).toBe(total)
      const reversed = allocateProRata(total, [...weights].reverse())
      expect([...reversed.entries()].sort()).toEqual([...shares.entries()].sort())
    },
  )
})
