/**
 * Exact pro-rata allocation by largest remainder (NUM-005).
 *
 * Splits `total` (in units of 10^-18, or any integer unit) across `weights` so that the shares sum
 * exactly to `total`, no share is negative and each share is within one unit of its exact
 * pro-rata value. The units left over after flooring go one each to the largest remainders; ties
 * go to the lower key. The result does not depend on the order of the input.
 */
import { assert } from '../assert.ts'

export interface AllocationWeight<K extends string> {
  readonly key: K
  readonly weight: bigint
}

export function allocateProRata<K extends string>(
  total: bigint,
  weights: readonly AllocationWeight<K>[],
): Map<K, bigint> {
  assert(total >= 0n, 'Invariant: an allocated total is not negative (NUM-005)')
  const shares = new Map<K, bigint>()
  let weightTotal = 0n
  for (const { key, weight } of weights) {
    assert(weight >= 0n, `Invariant: allocation weights are not negative (NUM-005, key=${key})`)
    assert(!shares.has(key), `Invariant: allocation keys are unique (NUM-005, key=${key})`)
    shares.set(key, 0n)
    weightTotal += weight
  }
  if (total === 0n) return shares
  assert(
    weightTotal > 0n,
    'Invariant: a positive total is allocated over a positive total weight (NUM-005)',
  )

  const remainders: { key: K; remainder: bigint }[] = []
  let allocated = 0n
  for (const { key, weight } of weights) {
    const product = total * weight
    const share = product / weightTotal
    shares.set(key, share)
    allocated += share
    remainders.push({ key, remainder: product % weightTotal })
  }
  remainders.sort((a, b) =>
    a.remainder !== b.remainder
      ? a.remainder > b.remainder
        ? -1
        : 1
      : a.key < b.key
        ? -1
        : a.key > b.key
          ? 1
          : 0,
  )
  let leftover = total - allocated
  assert(
    leftover >= 0n && leftover < BigInt(weights.length),
    'Invariant: flooring leaves fewer units than recipients (NUM-005)',
  )
  for (const { key } of remainders) {
    if (leftover === 0n) break
    shares.set(key, (shares.get(key) ?? 0n) + 1n)
    leftover -= 1n
  }
  return shares
}
