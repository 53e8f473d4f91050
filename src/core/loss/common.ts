/**
 * Shared pieces of the loss-allocation planners (docs/spec/insurance-fund.md, adl.md,
 * socialized-loss.md, default-waterfall.md): policy issues, exact ratios and deterministic order.
 * Nothing here holds state; every planner returns a plan and never mutates its input.
 */
import { assert } from '../assert.ts'
import { allocateProRata } from '../num/allocate.ts'
import { div, type Fixed, type Rounding } from '../num/fixed.ts'

/** A problem found while validating a policy object: stable code, path into the object, message. */
export interface PolicyIssue {
  readonly code: string
  readonly path: string
  readonly message: string
}

/** Builds a `PolicyIssue`. */
export function issue(code: string, path: string, message: string): PolicyIssue {
  return { code, path, message }
}

/** Asserts that a policy validated cleanly; planners call it, boundaries call the validator and report. */
export function assertValidPolicy(issues: readonly PolicyIssue[], kind: string): void {
  const first = issues[0]
  assert(
    first === undefined,
    `Invariant: a planner receives a validated ${kind} policy (LOSS-001, code=${first?.code ?? ''}, path=${first?.path ?? ''})`,
  )
}

/**
 * An exact non-negative-denominator ratio used for ranking scores: no rounding decides an order.
 * `infinity` marks a score at +∞ (1) or −∞ (−1); 0 for a finite score.
 */
export interface Ratio {
  readonly numerator: bigint
  readonly denominator: bigint
  readonly infinity: -1 | 0 | 1
}

/** A finite ratio; the denominator must be positive. */
export function ratio(numerator: bigint, denominator: bigint): Ratio {
  assert(denominator > 0n, 'Invariant: a ratio has a positive denominator (LOSS-002)')
  return { numerator, denominator, infinity: 0 }
}

export const POSITIVE_INFINITY: Ratio = { numerator: 1n, denominator: 1n, infinity: 1 }
export const NEGATIVE_INFINITY: Ratio = { numerator: -1n, denominator: 1n, infinity: -1 }

/** Compares two ratios exactly: negative when a < b, 0 when equal, positive when a > b. */
export function compareRatio(a: Ratio, b: Ratio): number {
  if (a.infinity !== b.infinity) return a.infinity - b.infinity
  if (a.infinity !== 0) return 0
  const left = a.numerator * b.denominator
  const right = b.numerator * a.denominator
  return left < right ? -1 : left > right ? 1 : 0
}

/** A ratio as a `Fixed` for display (half-even); ±∞ is shown as `null`. */
export function ratioToFixed(value: Ratio, rounding: Rounding = 'half_even'): Fixed | null {
  if (value.infinity !== 0) return null
  return div(value.numerator as Fixed, value.denominator as Fixed, rounding)
}

/** Orders ids in ascending code-unit order (the tie-break of every planner). */
export function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}

/** Combines two comparison results: the second decides only when the first is a tie. */
export function thenBy(first: number, second: number): number {
  return first !== 0 ? first : second
}

/** Asserts that the ids are unique (LOSS-003). */
export function assertUniqueIds(ids: Iterable<string>, what: string): void {
  const seen = new Set<string>()
  for (const id of ids) {
    assert(!seen.has(id), `Invariant: ${what} ids are unique (LOSS-003, id=${id})`)
    seen.add(id)
  }
}

export interface CappedShare<K extends string> {
  readonly key: K
  readonly weight: bigint
  /** Most this key may receive. */
  readonly cap: bigint
}

/**
 * Splits `total` pro rata to `weight`, never giving a key more than its `cap` (LOSS-004). Keys whose
 * share would exceed their cap get the cap, and the rest is split again over the others, until no
 * cap binds (water-filling). Each round uses `allocateProRata` (largest remainder, ties to the lower
 * key). Returns the shares and the part of `total` that the caps left unallocated. Each round
 * drops its capped keys through a set and reads the final split in the order of the open keys, so
 * tens of thousands of keys (ADL over a whole market's holders) cost O(n log n), not a search per key.
 */
export function allocateProRataCapped<K extends string>(
  total: bigint,
  entries: readonly CappedShare<K>[],
): { readonly shares: Map<K, bigint>; readonly unallocated: bigint } {
  assert(total >= 0n, 'Invariant: an allocated total is not negative (LOSS-004)')
  const shares = new Map<K, bigint>()
  for (const entry of entries) {
    assert(
      entry.cap >= 0n && entry.weight >= 0n,
      `Invariant: caps and weights are not negative (LOSS-004, key=${entry.key})`,
    )
    shares.set(entry.key, 0n)
  }
  let open = entries.filter((entry) => entry.weight > 0n && entry.cap > 0n)
  let remaining = total
  while (remaining > 0n && open.length > 0) {
    let weightTotal = 0n
    for (const entry of open) weightTotal += entry.weight
    const binding = new Set<CappedShare<K>>()
    for (const entry of open)
      if (remaining * entry.weight > entry.cap * weightTotal) binding.add(entry)
    if (binding.size === 0) {
      const split = allocateProRata(
        remaining,
        open.map(({ key, weight }) => ({ key, weight })),
      )
      for (const entry of open) {
        const share = split.get(entry.key) ?? 0n
        assert(
          share <= entry.cap,
          `Invariant: a capped share stays within its cap (LOSS-004, key=${entry.key})`,
        )
        shares.set(entry.key, share)
      }
      remaining = 0n
      break
    }
    for (const entry of binding) {
      shares.set(entry.key, entry.cap)
      remaining -= entry.cap
    }
    open = open.filter((entry) => !binding.has(entry))
  }
  return { shares, unallocated: remaining }
}
