// OPT-029, INV-001, ENG-003: random command sequences on a rule set with option markets. Every
// command is applied or refused with a code, never crashes; after each the engine checks its own
// invariants (conservation per asset, open interest long = short), and a refusal changes nothing.
// fast-check prints the seed and the shrunk sequence on failure.
import fc from 'fast-check'
import { describe, it } from 'vitest'
import {
  type Command,
  createEngineState,
  type EngineState,
  encodeStateCanonical,
  execute,
} from '../../src/core/engine/index.ts'
import { abs, type Fixed, fixedOf } from '../../src/core/num/fixed.ts'
import type { RuleSet } from '../../src/core/rules/rule-set.ts'
import { loadRuleSet } from '../../src/presets/index.ts'

const f = fixedOf
const START = 1_772_179_200_000
const EXPIRY = 1_774_598_400_000
const HOUR = 3_600_000
const PERP = 'BTC-PERPETUAL'
const OPTIONS = [
  'BTC-27MAR26-50000-P',
  'BTC-27MAR26-60000-P',
  'BTC-27MAR26-60000-C',
  'BTC-27MAR26-70000-C',
]
const ACCOUNTS = ['a', 'b', 'c', 'd']

function load(patches: unknown[]): RuleSet {
  const loaded = loadRuleSet('examples/rules/deribit-pm-btc-options.json', { patches })
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.issues))
  return loaded.ruleSet
}

/** Deribit's BTC option fees on every option (OPT-031): 0.03 % of the underlying, 0.19 % on liquidation, cap 12.5 %. */
const optionFees = {
  markets: OPTIONS.map((market) => ({
    market,
    makerFeeRate: '0.0003',
    takerFeeRate: '0.0003',
    liquidationFeeRate: '0.0019',
    optionFees: { premiumCap: '0.125' },
  })),
}

/** Deribit's own waterfall (fund, then socialized loss), with its option fees, and one that ends in ADL. */
const variants: [string, RuleSet][] = [
  ['deribit-pm with options', load([])],
  ['deribit-pm with options and their fees', load([optionFees])],
  [
    'the same with ADL at the bankruptcy price',
    load([
      {
        liquidation: {
          adl: {
            ranking: { kind: 'binance_leverage_pnl', walletFloor: '1' },
            eligibility: 'all_opposite',
            executionPrice: 'bankruptcy',
            allocation: { kind: 'queue' },
          },
        },
      },
    ]),
  ],
]

type Step =
  | { kind: 'perp_mark'; price: number }
  | { kind: 'option_mark'; option: number; premium: number; volatility: number }
  | {
      kind: 'trade'
      buyer: number
      seller: number
      option: number | null
      size: number
      price: number
    }
  | { kind: 'fill'; fraction: number; price: number; counterparty: number }
  | { kind: 'takeover' }
  | { kind: 'withdraw'; account: number; amount: number }
  | { kind: 'advance'; hours: number }

const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({
    kind: fc.constant('perp_mark' as const),
    price: fc.integer({ min: 40_000, max: 80_000 }),
  }),
  fc.record({
    kind: fc.constant('option_mark' as const),
    option: fc.integer({ min: 0, max: OPTIONS.length - 1 }),
    premium: fc.integer({ min: 1, max: 6_000 }),
    volatility: fc.integer({ min: 0, max: 300 }),
  }),
  fc.record({
    kind: fc.constant('trade' as const),
    buyer: fc.integer({ min: 0, max: ACCOUNTS.length - 1 }),
    seller: fc.integer({ min: 0, max: ACCOUNTS.length - 1 }),
    option: fc.option(fc.integer({ min: 0, max: OPTIONS.length - 1 })),
    size: fc.integer({ min: 1, max: 40 }),
    price: fc.integer({ min: 1, max: 6_000 }),
  }),
  fc.record({
    kind: fc.constant('fill' as const),
    fraction: fc.integer({ min: 1, max: 10 }),
    price: fc.integer({ min: 1, max: 6_000 }),
    counterparty: fc.integer({ min: 0, max: ACCOUNTS.length - 1 }),
  }),
  fc.record({ kind: fc.constant('takeover' as const) }),
  fc.record({
    kind: fc.constant('withdraw' as const),
    account: fc.integer({ min: 0, max: ACCOUNTS.length - 1 }),
    amount: fc.integer({ min: 1, max: 500 }),
  }),
  fc.record({ kind: fc.constant('advance' as const), hours: fc.integer({ min: 1, max: 200 }) }),
)

class Driver {
  readonly state: EngineState
  private sequence = 0
  timeMs = START

  constructor(rules: RuleSet) {
    this.state = createEngineState(rules)
    for (const account of ACCOUNTS)
      this.submit({ type: 'deposit', account, asset: 'BTC', amount: f('0.3') })
    this.submit({ type: 'mark_price', market: PERP, mark: f('60000') })
    for (const option of OPTIONS)
      this.submit({ type: 'mark_price', market: option, mark: f('0.05'), volatility: f('0.6') })
  }

  submit(command: Command): void {
    const before = encodeStateCanonical(this.state)
    const outcome = execute(this.state, command, {
      sequence: this.sequence + 1,
      timestampMs: this.timeMs,
    })
    const tally = (key: string) => STATS.set(key, (STATS.get(key) ?? 0) + 1)
    tally(`${command.type}:${outcome.result.status}`)
    for (const event of outcome.events) tally(event.type)
    if (outcome.result.status === 'ok') this.sequence += 1
    else if (encodeStateCanonical(this.state) !== before)
      throw new Error(`ENG-003: a refused ${command.type} changed the state`)
  }

  /** Premiums in ten-thousandths of a BTC (the options' tick), prices in whole dollars. */
  play(next: Step): void {
    const orders = [...this.state.liquidation.orders.values()]
    switch (next.kind) {
      case 'perp_mark':
        return this.submit({ type: 'mark_price', market: PERP, mark: f(String(next.price)) })
      case 'option_mark':
        return this.submit({
          type: 'mark_price',
          market: OPTIONS[next.option] ?? '',
          mark: f((next.premium / 10_000).toFixed(4)),
          volatility: f((next.volatility / 100).toFixed(2)),
        })
      case 'trade': {
        const option = next.option === null ? null : (OPTIONS[next.option] ?? null)
        return this.submit({
          type: 'trade',
          account: ACCOUNTS[next.buyer] ?? '',
          counterparty: ACCOUNTS[next.seller] ?? '',
          market: option ?? PERP,
          size: option === null ? f(String(next.size * 100)) : f((next.size / 10).toFixed(1)),
          price:
            option === null
              ? f(String(40_000 + next.price * 10))
              : f((next.price / 10_000).toFixed(4)),
          liquidity: 'taker',
        })
      }
      case 'fill': {
        const order = orders[0]
        if (order === undefined) return
        const remaining = abs(order.remaining)
        const lot = this.state.rules.markets.get(order.market)?.instrument.lotSize ?? f('1')
        const part = (remaining * BigInt(next.fraction)) / 10n
        const size = part - (part % lot)
        const option = OPTIONS.includes(order.market)
        return this.submit({
          type: 'liquidation_fill',
          orderId: order.orderId,
          size: (size > 0n ? size : remaining) as Fixed,
          price: option ? f((next.price / 10_000).toFixed(4)) : f(String(40_000 + next.price * 10)),
          counterparty: ACCOUNTS[next.counterparty] ?? '',
        })
      }
      case 'takeover': {
        const order = orders[0]
        if (order === undefined) return
        return this.submit({ type: 'liquidation_takeover', orderId: order.orderId })
      }
      case 'withdraw':
        return this.submit({
          type: 'withdraw',
          account: ACCOUNTS[next.account] ?? '',
          asset: 'BTC',
          amount: f((next.amount / 1_000).toFixed(3)),
        })
      case 'advance':
        this.timeMs += next.hours * HOUR
        return
    }
  }

  /** Expires every option at a settlement price once their expiry has come. */
  expireAll(settlement: number): void {
    this.timeMs = Math.max(this.timeMs, EXPIRY)
    for (const option of OPTIONS)
      this.submit({ type: 'expire', market: option, settlementPrice: f(String(settlement)) })
  }
}

const STATS = new Map<string, number>()
const RUNS = Number(process.env.LOR_OPTION_RUNS ?? 100)

describe('random sequences with options (OPT-029)', () => {
  it.each(variants)(
    'OPT-029: %s: every command applies or is refused; invariants hold; expiry closes every option',
    (_name, rules) => {
      fc.assert(
        fc.property(
          fc.array(step, { minLength: 10, maxLength: 60 }),
          fc.integer({ min: 20_000, max: 100_000 }),
          (steps, settlement) => {
            const driver = new Driver(rules)
            for (const next of steps) driver.play(next)
            driver.expireAll(settlement)
            for (const account of driver.state.accounts.values())
              for (const market of account.positions.keys())
                if (OPTIONS.includes(market))
                  throw new Error(`OPT-026: ${account.id} still holds ${market} after expiry`)
          },
        ),
        { seed: 20261124, numRuns: RUNS },
      )
      if (process.env.LOR_OPTION_STATS !== undefined) console.log([...STATS].sort())
      STATS.clear()
    },
    Number(process.env.LOR_OPTION_TIMEOUT_MS ?? 120_000),
  )
})
