/**
 * A seeded command stream for journal tests, the crash test and the benchmark: deposits, mark
 * prices on a random walk, trades between accounts and against the book, withdrawals, funding and
 * an occasional rule change, on the binance-usdm preset. Same seed, same commands.
 */
import type { JournalCommand } from '../../src/journal/codec.ts'
import { type Fixed, fixedOf, formatFixed } from '../../src/core/num/fixed.ts'
import type { RuleSet } from '../../src/core/rules/rule-set.ts'
import { loadRuleSet } from '../../src/presets/index.ts'

/** The rule set the workload trades under. */
export function workloadRuleSet(reference = 'binance-usdm'): RuleSet {
  const loaded = loadRuleSet(reference)
  if (!loaded.ok)
    throw new Error(`preset ${reference} does not load: ${JSON.stringify(loaded.issues)}`)
  return loaded.ruleSet
}

/** mulberry32: a small seeded generator, uniform in [0, 1). */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

export interface WorkloadCommand {
  readonly command: JournalCommand
  readonly idempotencyKey: string
  readonly timestampMs: number
}

const money = (text: string): Fixed => fixedOf(text)

/** An endless, seeded stream of commands (take as many as needed). */
export function* workload(
  seed: number,
  options: {
    readonly accounts?: number
    readonly startMs?: number
    readonly ruleSet?: RuleSet
  } = {},
): Generator<WorkloadCommand> {
  const random = seededRandom(seed)
  const accounts = Array.from({ length: options.accounts ?? 8 }, (_, index) => `acct-${index + 1}`)
  let timestampMs = options.startMs ?? 1_700_000_000_000
  let markCents = 3_000_000
  let index = 0
  const next = (command: JournalCommand): WorkloadCommand => {
    index += 1
    timestampMs += Math.floor(random() * 3)
    return { command, idempotencyKey: `w${seed}-${index}`, timestampMs }
  }
  for (const account of accounts)
    yield next({ type: 'deposit', account, asset: 'USDT', amount: money('50000') })
  yield next({
    type: 'mark_price',
    market: 'BTCUSDT',
    mark: money(formatFixed(BigInt(markCents) as Fixed, 0)),
  })
  for (;;) {
    const pick = random()
    const account = accounts[Math.floor(random() * accounts.length)] ?? 'acct-1'
    if (pick < 0.2) {
      markCents += Math.floor((random() - 0.5) * 20_000)
      markCents = Math.max(1_000_000, markCents)
      yield next({
        type: 'mark_price',
        market: 'BTCUSDT',
        mark: money(`${Math.floor(markCents / 100)}.${String(markCents % 100).padStart(2, '0')}`),
      })
    } else if (pick < 0.75) {
      const lots = 1 + Math.floor(random() * 200)
      const size = `${random() < 0.5 ? '-' : ''}${Math.floor(lots / 1000)}.${String(lots % 1000).padStart(3, '0')}`
      const priceCents = markCents + Math.floor((random() - 0.5) * 1_000)
      const counterparty =
        random() < 0.5 ? accounts[Math.floor(random() * accounts.length)] : undefined
      const trade: JournalCommand = {
        type: 'trade',
        account,
        market: 'BTCUSDT',
        size: money(size),
        price: money(
          `${Math.floor(priceCents / 100)}.${String(priceCents % 100).padStart(2, '0')}`,
        ),
        liquidity: random() < 0.5 ? 'maker' : 'taker',
        ...(counterparty === undefined ? {} : { counterparty }),
      }
      yield next(trade)
    } else if (pick < 0.85) {
      yield next({
        type: 'deposit',
        account,
        asset: 'USDT',
        amount: money(`${1 + Math.floor(random() * 1000)}`),
      })
    } else if (pick < 0.95) {
      yield next({
        type: 'withdraw',
        account,
        asset: 'USDT',
        amount: money(`${1 + Math.floor(random() * 5000)}`),
      })
    } else if (pick < 0.995 || options.ruleSet === undefined) {
      const rate = `${random() < 0.5 ? '-' : ''}0.0001`
      yield next({ type: 'funding', market: 'BTCUSDT', rate: money(rate) })
    } else {
      yield next({
        type: 'rules_change',
        ruleSet: options.ruleSet,
        author: 'workload',
        effectiveTimeMs: timestampMs,
      })
    }
  }
}

/** The first `count` commands of a seeded workload. */
export function takeWorkload(
  seed: number,
  count: number,
  options: Parameters<typeof workload>[1] = {},
): WorkloadCommand[] {
  const commands: WorkloadCommand[] = []
  for (const item of workload(seed, options)) {
    if (commands.length >= count) break
    commands.push(item)
  }
  return commands
}
