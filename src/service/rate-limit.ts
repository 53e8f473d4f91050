/**
 * Rate limits per API key (docs/spec/service.md, SVC-024, SVC-046): a token bucket of `burst` tokens
 * refilled at `perSecond` tokens a second. A request takes one token and a command batch one per
 * command; without enough it is answered 429 with Retry-After, the whole seconds until they are
 * back.
 */

/** Limits of every key; `perSecond` 0 switches limiting off. */
export interface RateLimitOptions {
  readonly perSecond: number
  readonly burst: number
}

/** Default: 200 requests a second per key, bursts of 400. */
export const DEFAULT_RATE_LIMIT: RateLimitOptions = { perSecond: 200, burst: 400 }

interface Bucket {
  tokens: number
  updatedMs: number
}

/** One bucket per key id. */
export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>()

  constructor(
    private readonly options: RateLimitOptions,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** The most tokens one call may take (0: no limit). */
  get burst(): number {
    return this.options.perSecond <= 0 ? 0 : this.options.burst
  }

  /**
   * Takes `count` tokens (default 1, at most `burst`) for `keyId`, all or none: null when allowed,
   * else the seconds to wait.
   */
  take(keyId: string, count = 1): number | null {
    if (this.options.perSecond <= 0 || count <= 0) return null
    const now = this.now()
    const bucket = this.buckets.get(keyId) ?? { tokens: this.options.burst, updatedMs: now }
    const elapsed = Math.max(0, now - bucket.updatedMs) / 1000
    bucket.tokens = Math.min(this.options.burst, bucket.tokens + elapsed * this.options.perSecond)
    bucket.updatedMs = now
    this.buckets.set(keyId, bucket)
    if (bucket.tokens >= count) {
      bucket.tokens -= count
      return null
    }
    return Math.max(1, Math.ceil((count - bucket.tokens) / this.options.perSecond))
  }
}
