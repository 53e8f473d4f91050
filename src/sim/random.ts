/**
 * Seeded random numbers for the simulator (SIM-001). Every generator in `src/sim` takes a seed and
 * draws from this module; nothing reads `Math.random`. The stream is xoroshiro128+ (pure-rand),
 * uniform doubles carry 53 random bits, and normal deviates use Marsaglia's polar method, so a seed
 * gives the same numbers on every run of the same Node version (V8's `Math.log`, `Math.exp` and
 * `Math.pow` are fdlibm ports and do not depend on the CPU or the operating system).
 */
import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64'
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus'
import type { RandomGenerator } from 'pure-rand/types/RandomGenerator'

/** A seeded stream of random numbers. Each call advances the stream. */
export interface Random {
  /** Uniform in [0, 1). */
  uniform(): number
  /** Uniform in (0, 1]: safe to take a logarithm of. */
  uniformPositive(): number
  /** Standard normal deviate. */
  normal(): number
  /** Uniform integer in [from, to], both included. */
  integer(from: number, to: number): number
  /** True with probability `probability`. */
  chance(probability: number): boolean
  /** Poisson count with mean `mean` (Knuth's product method; fine for the small means of jump models). */
  poisson(mean: number): number
  /** A new, independent stream derived from this one (for sub-generators that must not shift the parent). */
  split(label: string): Random
}

/** Largest seed accepted: seeds are unsigned 32-bit integers so they survive JSON and CLI flags. */
export const SEED_MAXIMUM = 0xffff_ffff

/** Creates a stream from an unsigned 32-bit integer seed. */
export function createRandom(seed: number): Random {
  if (!Number.isInteger(seed) || seed < 0 || seed > SEED_MAXIMUM) {
    throw new RangeError(
      `Condition failed: a seed is an integer in 0..${SEED_MAXIMUM} (SIM-001, seed=${seed})`,
    )
  }
  return wrap(xoroshiro128plus(seed | 0))
}

function wrap(generator: RandomGenerator): Random {
  const random: Random = {
    uniform: () => uniformFloat64(generator),
    uniformPositive: () => 1 - uniformFloat64(generator),
    normal: () => {
      for (;;) {
        const u = 2 * uniformFloat64(generator) - 1
        const v = 2 * uniformFloat64(generator) - 1
        const s = u * u + v * v
        if (s > 0 && s < 1) return u * Math.sqrt((-2 * Math.log(s)) / s)
      }
    },
    integer: (from, to) => {
      const span = to - from + 1
      return from + Math.min(span - 1, Math.floor(uniformFloat64(generator) * span))
    },
    chance: (probability) => uniformFloat64(generator) < probability,
    poisson: (mean) => {
      const limit = Math.exp(-mean)
      let count = 0
      let product = 1 - uniformFloat64(generator)
      while (product > limit) {
        count += 1
        product *= 1 - uniformFloat64(generator)
      }
      return count
    },
    split: (label) => {
      let hash = generator.next() >>> 0
      for (let index = 0; index < label.length; index += 1) {
        hash = Math.imul(hash ^ label.charCodeAt(index), 0x0100_0193) >>> 0
      }
      return wrap(xoroshiro128plus(hash | 0))
    },
  }
  return random
}

/** Uniform in [minimum, maximum): one draw of the stream. */
export function uniformBetween(random: Random, minimum: number, maximum: number): number {
  return minimum + (maximum - minimum) * random.uniform()
}

/**
 * One of `items`, each with probability weight ÷ total: one uniform draw, walked in order (an item
 * of weight 0 is never picked while a later one can be; float rounding at the end gives the last).
 */
export function pickWeighted<T extends { readonly weight: number }>(
  items: readonly T[],
  random: Random,
): T {
  const total = items.reduce((sum, item) => sum + item.weight, 0)
  let draw = random.uniform() * total
  for (const item of items) {
    draw -= item.weight
    if (draw < 0) return item
  }
  const last = items.at(-1)
  if (last === undefined) throw new RangeError('Invariant: a weighted pick has items (SIM-020)')
  return last
}
