// LIQ-070..LIQ-076: Vega's network party (docs/spec/liquidation.md). The network takes a distressed
// position at the mark at once and disposes of it by the market's liquidation strategy; its PnL is
// settled against the market's insurance pool. Published examples: vegaprotocol/specs
// protocol/0012-POSR-position_resolution.md (0012-POSR-013, -016, -018), strategy values of
// vegaprotocol/vega core/execution/liquidation/engine.go (default and legacy strategies).
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { checkInvariants, type EngineEvent } from '../../src/core/engine/index.ts'
import { disposalCap, disposalSize } from '../../src/core/engine/liquidation/network-party.ts'
import { abs, add, type Fixed, fromScaled } from '../../src/core/num/fixed.ts'
import { parseRuleSet, ruleSetToJson } from '../../src/core/rules/parse.ts'
import type { RuleSet } from '../../src/core/rules/rule-set.ts'
import { d, Driver, everyMarket, ofType, type PresetDocument, preset } from './helpers.ts'

const MARKET = 'BTC-PERP'
const ASSET = 'USDC'

/** The vega preset without fees, a lot of 1 (Vega's integer position units) and `strategy`. */
function vega(strategy: Record<string, unknown>, lot = '1'): RuleSet {
  return preset('vega', (document: PresetDocument) => {
    everyMarket(document, { makerFeeRate: '0', takerFeeRate: '0', lotSize: lot })
    const network = document.liquidation.network as { liquidationStrategy: object }
    network.liquidationStrategy = { ...network.liquidationStrategy, ...strategy }
  })
}

/**
 * alice long `size` from `entry` with equity exactly `equityAtMark` at `mark` (cross, 5% IM); bob
 * short; the mark then moves to `mark`, so alice is distressed and the network takes her position.
 */
function closedOut(
  rules: RuleSet,
  size: bigint,
  entry: bigint,
  mark: bigint,
  equityAtMark: bigint,
): Driver {
  const engine = new Driver(rules)
  const deposit = size * (entry - mark) + equityAtMark
  engine.run({
    type: 'deposit',
    account: 'alice',
    asset: ASSET,
    amount: fromScaled(deposit * 10n ** 18n),
  })
  for (const account of ['bob', 'carol'])
    engine.run({ type: 'deposit', account, asset: ASSET, amount: d('100000000') })
  engine.run({ type: 'mark_price', market: MARKET, mark: fromScaled(entry * 10n ** 18n) })
  engine.run({
    type: 'trade',
    account: 'bob',
    market: MARKET,
    size: fromScaled(-size * 10n ** 18n),
    price: fromScaled(entry * 10n ** 18n),
    liquidity: 'taker',
    counterparty: 'alice',
  })
  engine.run({ type: 'mark_price', market: MARKET, mark: fromScaled(mark * 10n ** 18n) })
  return engine
}

/** The open disposal order of the network, if any. */
function disposalOrder(engine: Driver) {
  return [...engine.state.liquidation.orders.values()].find(
    (order) => order.purpose === 'network_disposal',
  )
}

describe('LIQ-070: the network party takes the distressed position at the mark at once', () => {
  it('0012-POSR-002, -009: alice is flat, @network holds her volume, her margin goes to the pool', () => {
    const engine = closedOut(vega({}), 2n, 10000n, 9500n, 100n)
    expect(engine.size('alice', MARKET)).toBe(0n)
    expect(engine.size('@network', MARKET)).toBe(d('2'))
    expect(engine.balance('alice', ASSET)).toBe(0n)
    expect(engine.pool(MARKET, ASSET)).toBe(d('100'))
    const [takeover] = ofType(engine.events, 'liquidation_takeover')
    expect(takeover?.via).toBe('network')
    expect(takeover?.rule).toBe('LIQ-070')
    // The default step (10 s) has not passed: no disposal order yet (0012-POSR: next step).
    expect(disposalOrder(engine)).toBeUndefined()
  })

  it('0012-POSR-016: the network realizes PnL when it takes a position against its own (to the pool)', () => {
    // Network long 1 at 100, then takes a short of 1 at 120: realized +20 goes to the pool.
    const engine = closedOut(vega({}), 1n, 110n, 100n, 0n)
    expect(engine.size('@network', MARKET)).toBe(d('1'))
    engine.run({ type: 'deposit', account: 'dave', asset: ASSET, amount: d('10') })
    engine.run({
      type: 'trade',
      account: 'dave',
      market: MARKET,
      size: d('-1'),
      price: d('100'),
      liquidity: 'taker',
      counterparty: 'carol',
    })
    engine.run({ type: 'mark_price', market: MARKET, mark: d('120') })
    expect(engine.size('dave', MARKET)).toBe(0n)
    expect(engine.size('@network', MARKET)).toBe(0n)
    const credits = ofType(engine.events, 'insurance_fund_pool_changed').filter(
      (event) => event.reason === 'network_pnl',
    )
    expect(credits.map((event) => event.amount)).toEqual([d('20')])
    expect(engine.balance('@network', ASSET)).toBe(0n)
    // dave's 10 below zero is paid by the pool the gain went into first: nothing is socialized.
    expect(engine.pool(MARKET, ASSET)).toBe(d('10'))
    expect(ofType(engine.events, 'socialized_loss_charged')).toHaveLength(0)
  })
})

describe('LIQ-072, LIQ-073: disposal sizes and the book-fraction cap', () => {
  const cases: {
    name: string
    strategy: Record<string, unknown>
    position: bigint
    availableVolume: string
    expected: string[]
  }[] = [
    {
      name: '0012-POSR-013: 280 with fraction 0.5, full size 50, 1% of 10,000 → 100, 90, 45, 45',
      strategy: {
        disposalTimeStepMs: 10000,
        disposalFraction: '0.5',
        fullDisposalSize: '50',
        maxFractionConsumed: '0.01',
      },
      position: 280n,
      availableVolume: '10000',
      expected: ['100', '90', '45', '45'],
    },
    {
      name: '0012-POSR-024: fraction 0.5 and full size 0 still disposes of everything (ceil to the lot)',
      strategy: {
        disposalTimeStepMs: 5000,
        disposalFraction: '0.5',
        fullDisposalSize: '0',
        maxFractionConsumed: '1',
      },
      position: 5n,
      availableVolume: '1000',
      expected: ['3', '1', '1'],
    },
    {
      name: 'vega default strategy (10 s, 0.1, 20, 0.05) with 50 in range: 30 goes in ten fills of 3 (the cap)',
      strategy: {
        disposalTimeStepMs: 10000,
        disposalFraction: '0.1',
        fullDisposalSize: '20',
        maxFractionConsumed: '0.05',
      },
      position: 30n,
      availableVolume: '50',
      expected: ['3', '3', '3', '3', '3', '3', '3', '3', '3', '3'],
    },
  ]

  it.each(cases)('$name', ({ strategy, position, availableVolume, expected }) => {
    const rules = vega(strategy)
    const network = rules.liquidation?.network
    if (network === undefined || network === null) throw new Error('vega has a network party')
    const engine = closedOut(rules, position, 10000n, 9500n, 0n)
    const fills: string[] = []
    for (let step = 1; step <= expected.length; step += 1) {
      engine.timestampMs = step * network.liquidationStrategy.disposalTimeStepMs
      engine.run({ type: 'mark_price', market: MARKET, mark: d('9500') })
      const order = disposalOrder(engine)
      if (order === undefined) break
      // The matcher takes what the cap allows of the order, at the reference price.
      const cap = disposalCap(network.liquidationStrategy, d(availableVolume), d('1'))
      const size = abs(order.remaining) < cap ? abs(order.remaining) : cap
      engine.run({
        type: 'liquidation_fill',
        orderId: order.orderId,
        size,
        price: d('9500'),
        counterparty: 'carol',
        availableVolume: d(availableVolume),
      })
      fills.push(String(size / 10n ** 18n))
    }
    expect(fills).toEqual(expected)
    expect(engine.pool(MARKET, ASSET)).toBe(0n)
  })

  it('LIQ-073: a fill above maxFractionConsumed of the reported volume is refused, nothing changes', () => {
    const rules = vega({ disposalTimeStepMs: 1000, maxFractionConsumed: '0.1' })
    const engine = closedOut(rules, 30n, 10000n, 9500n, 0n)
    engine.timestampMs = 1000
    engine.run({ type: 'mark_price', market: MARKET, mark: d('9500') })
    const order = disposalOrder(engine)
    expect(order?.remaining).toBe(d('-3'))
    const refused = engine.try({
      type: 'liquidation_fill',
      orderId: order?.orderId ?? '',
      size: d('3'),
      price: d('9500'),
      counterparty: 'carol',
      availableVolume: d('20'),
    })
    expect(refused.result).toMatchObject({ status: 'fill_exceeds_book_fraction', cap: d('2') })
    expect(engine.size('@network', MARKET)).toBe(d('30'))
    const beyondLimit = engine.try({
      type: 'liquidation_fill',
      orderId: order?.orderId ?? '',
      size: d('1'),
      price: d('8549'),
      counterparty: 'carol',
    })
    expect(beyondLimit.result.status).toBe('fill_price_beyond_limit')
  })

  it('LIQ-075: a takeover of a disposal order is an unfilled immediate-or-cancel order: it lapses', () => {
    const engine = closedOut(vega({ disposalTimeStepMs: 1000 }), 30n, 10000n, 9500n, 0n)
    engine.timestampMs = 1000
    engine.run({ type: 'mark_price', market: MARKET, mark: d('9500') })
    const order = disposalOrder(engine)
    const events = engine.run({ type: 'liquidation_takeover', orderId: order?.orderId ?? '' })
    expect(ofType(events, 'network_disposal_lapsed')).toHaveLength(1)
    expect(disposalOrder(engine)).toBeUndefined()
    expect(engine.size('@network', MARKET)).toBe(d('30'))
  })

  it('legacy strategy (0 s, 1, max, 1, 10): the whole position is offered in the closeout command, without a limit', () => {
    const rules = vega({
      disposalTimeStepMs: 0,
      disposalFraction: '1',
      fullDisposalSize: '1000000000',
      maxFractionConsumed: '1',
      disposalSlippageRange: '10',
    })
    const engine = closedOut(rules, 7n, 10000n, 9500n, 0n)
    const order = disposalOrder(engine)
    expect(order).toMatchObject({ remaining: d('-7'), limitPrice: null, account: '@network' })
    engine.run({
      type: 'liquidation_fill',
      orderId: order?.orderId ?? '',
      size: d('7'),
      price: d('9500'),
      counterparty: 'carol',
    })
    expect(engine.size('@network', MARKET)).toBe(0n)
    expect(engine.pool(MARKET, ASSET)).toBe(0n)
  })
})

describe('LIQ-074: the network PnL goes through the pool and the loss chain', () => {
  it('0012-POSR-018: with an empty pool, disposals at 90 of a long taken at 100 are socialized', () => {
    const rules = vega({
      disposalTimeStepMs: 5000,
      disposalFraction: '0.5',
      fullDisposalSize: '0',
      maxFractionConsumed: '0.01',
    })
    const engine = closedOut(rules, 2n, 110n, 100n, 0n)
    expect(engine.pool(MARKET, ASSET)).toBe(0n)
    const realized: Fixed[] = []
    for (const step of [1, 2]) {
      engine.timestampMs = step * 5000
      engine.run({ type: 'mark_price', market: MARKET, mark: d('100') })
      const order = disposalOrder(engine)
      const events = engine.run({
        type: 'liquidation_fill',
        orderId: order?.orderId ?? '',
        size: d('1'),
        price: d('90'),
        availableVolume: d('1000'),
      })
      for (const event of ofType(events, 'network_disposal_filled'))
        realized.push(event.realizedPnl)
    }
    expect(realized).toEqual([d('-10'), d('-10')])
    expect(engine.size('@network', MARKET)).toBe(0n)
    // bob, short 2 from 110, is the run's winner: he pays both losses; the network ends at 0.
    const charges = ofType(engine.events, 'socialized_loss_charged')
    expect(charges.map((event) => [event.account, event.amount])).toEqual([
      ['bob', d('10')],
      ['bob', d('10')],
    ])
    expect(engine.balance('@network', ASSET)).toBe(0n)
  })
})

describe('LIQ-001: the network section is validated with paths and written back', () => {
  it('reports each problem at its path', () => {
    const document = JSON.parse(JSON.stringify(ruleSetToJson(vega({})))) as PresetDocument & {
      liquidation: { network: Record<string, unknown> }
    }
    document.liquidation.network = {
      account: '@book',
      liquidationStrategy: {
        kind: 'gradual_disposal',
        disposalTimeStepMs: -1,
        disposalFraction: '0',
        fullDisposalSize: '-1',
        maxFractionConsumed: '1.5',
        disposalSlippageRange: '0',
        extra: 1,
      },
    }
    const parsed = parseRuleSet(document)
    expect(parsed.ok).toBe(false)
    const paths = parsed.ok ? [] : parsed.issues.map((issue) => issue.path)
    const at = 'liquidation.network'
    expect(paths).toEqual(
      expect.arrayContaining([
        `${at}.account`,
        `${at}.liquidationStrategy.extra`,
        `${at}.liquidationStrategy.disposalTimeStepMs`,
        `${at}.liquidationStrategy.disposalFraction`,
        `${at}.liquidationStrategy.fullDisposalSize`,
        `${at}.liquidationStrategy.maxFractionConsumed`,
        `${at}.liquidationStrategy.disposalSlippageRange`,
      ]),
    )
  })

  it('RUL-013: parse ∘ write is the identity with the network section', () => {
    const rules = preset('vega')
    const again = parseRuleSet(ruleSetToJson(rules))
    expect(again.ok && again.ruleSet.liquidation).toEqual(rules.liquidation)
  })
})

describe('LIQ-076: properties of gradual disposal over random sequences', () => {
  const strategy = fc.record({
    disposalTimeStepMs: fc.constantFrom(0, 1000, 5000),
    disposalFraction: fc.constantFrom('0.1', '0.25', '0.5', '1'),
    fullDisposalSize: fc.constantFrom('0', '2', '20'),
    maxFractionConsumed: fc.constantFrom('0.01', '0.05', '0.5', '1'),
    disposalSlippageRange: fc.constantFrom('0.02', '0.1', '10'),
  })
  const action = fc.record({
    advanceMs: fc.constantFrom(0, 500, 1000, 5000),
    moveBasisPoints: fc.integer({ min: -800, max: 800 }),
    availableVolume: fc.integer({ min: 0, max: 200 }),
    fillShare: fc.integer({ min: 0, max: 120 }),
    slipBasisPoints: fc.integer({ min: 0, max: 1500 }),
  })

  it('the network position only shrinks between closeouts, no fill exceeds the book fraction, every unit is conserved', () => {
    fc.assert(
      fc.property(
        strategy,
        fc.integer({ min: 1, max: 60 }),
        fc.integer({ min: 0, max: 27 }),
        fc.array(action, { minLength: 1, maxLength: 12 }),
        (chosen, position, equityPerContract, actions) => {
          const rules = vega(chosen)
          const network = rules.liquidation?.network
          if (network === undefined || network === null) throw new Error('network party')
          const engine = closedOut(
            rules,
            BigInt(position),
            1000n,
            950n,
            BigInt(equityPerContract * position),
          )
          let mark = 950n
          let previous = abs(engine.size('@network', MARKET))
          expect(previous).toBe(d(String(position)))
          for (const step of actions) {
            engine.timestampMs += step.advanceMs
            mark = (mark * BigInt(10000 + step.moveBasisPoints)) / 10000n
            if (mark < 10n) mark = 10n
            const before = engine.events.length
            engine.run({ type: 'mark_price', market: MARKET, mark: d(String(mark)) })
            const order = disposalOrder(engine)
            if (order !== undefined) {
              const candidate = disposalSize(network.liquidationStrategy, previous, d('1'))
              expect(abs(order.remaining) <= candidate.size).toBe(true)
              const available = d(String(step.availableVolume))
              const wanted = (abs(order.remaining) * BigInt(step.fillShare)) / 100n
              const size = fromScaled((wanted / 10n ** 18n) * 10n ** 18n)
              const slip = (mark * BigInt(step.slipBasisPoints)) / 10000n
              const price = d(String(order.remaining < 0n ? mark - slip : mark + slip))
              const outcome = engine.try({
                type: 'liquidation_fill',
                orderId: order.orderId,
                size,
                price,
                counterparty: 'carol',
                availableVolume: available,
              })
              const cap = disposalCap(network.liquidationStrategy, available, d('1'))
              if (outcome.result.status === 'ok') {
                engine.events.push(...outcome.events)
                expect(size <= cap).toBe(true)
                expect(size <= abs(order.remaining)).toBe(true)
              } else if (size > 0n && size <= abs(order.remaining) && price > 0n)
                expect(['fill_exceeds_book_fraction', 'fill_price_beyond_limit']).toContain(
                  outcome.result.status,
                )
            }
            const now = abs(engine.size('@network', MARKET))
            const closeouts = ofType(engine.events.slice(before), 'liquidation_takeover')
            if (closeouts.length === 0) expect(now <= previous).toBe(true)
            previous = now
          }
          // Conservation per asset with the funds, open interest and pools (INV-001, INV-002,
          // INV-008), as the engine checks after every command; the network's wallet is its pool:
          // it ends at zero unless a loss was left uncovered, and then at exactly minus that.
          checkInvariants(engine.state)
          const uncovered = engine.state.liquidation.uncovered.get(`@network/${ASSET}`) ?? 0n
          expect(engine.balance('@network', ASSET) + uncovered).toBe(0n)
          checkEvents(engine.events)
        },
      ),
      { numRuns: Number(process.env.LOR_NETWORK_RUNS ?? '300') },
    )
  })
})

/** Every shortfall of the run adds up exactly (INV-009). */
function checkEvents(events: readonly EngineEvent[]): void {
  for (const event of ofType(events, 'shortfall_allocated'))
    expect(add(add(event.insuranceFund, event.adl), add(event.socialized, event.uncovered))).toBe(
      event.shortfall,
    )
}
