/**
 * Liquidation index (docs/spec/riskbook.md, RBK-020..RBK-023): after every tick and every account
 * change, the index's breached set equals an exact scan of all accounts, and a one-position
 * account's trigger is its exact breach tick.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  balanceAmount,
  FIXTURE_MARKETS,
  type FixtureAccount,
  fixtureRules,
  generateAccounts,
  positionAmounts,
  priceAmount,
  referenceTicks,
} from '../../bench/fixtures.ts'
import { fixedOf } from '../../src/core/num/fixed.ts'
import { LiquidationIndex } from '../../src/core/riskbook/liquidation-index.ts'
import { RiskBook } from '../../src/core/riskbook/risk-book.ts'

const SEED = 20240601

function bookFor(accounts: readonly FixtureAccount[]): RiskBook {
  const created = RiskBook.create(fixtureRules('0.0006'), 'USDT', { positionsPerAccount: 3 })
  if (!created.ok) throw new Error(created.issue.message)
  const book = created.value
  FIXTURE_MARKETS.forEach((definition, index) => {
    book.setPrice(definition.market, priceAmount(index, referenceTicks(index)))
  })
  for (const account of accounts) {
    const added = book.addAccount(balanceAmount(account))
    if (!added.ok) throw new Error(added.issue.message)
    for (const position of account.positions) {
      const { size, entryValue } = positionAmounts(position)
      book.setPosition(added.value, FIXTURE_MARKETS[position.marketIndex]!.market, size, entryValue)
    }
  }
  return book
}

function exactScan(book: RiskBook): number[] {
  const breached: number[] = []
  for (let account = 0; account < book.count; account++)
    if (book.isBreachedExact(account)) breached.push(account)
  return breached
}

const moveArbitrary = fc.record({
  market: fc.integer({ min: 0, max: 2 }),
  // relative move in basis points, sometimes tiny, sometimes a crash
  basisPoints: fc.oneof(fc.integer({ min: -20, max: 20 }), fc.integer({ min: -800, max: 800 })),
})

describe('RBK-021 a tick returns exactly the breached accounts', () => {
  it('equals an exact scan after every tick of a random path (few index rebuilds and many)', () => {
    const accounts = generateAccounts(400, SEED)
    fc.assert(
      fc.property(
        fc.array(moveArbitrary, { minLength: 1, maxLength: 40 }),
        fc.constantFrom(1, 8, 100_000),
        (moves, rebuildThreshold) => {
          const book = bookFor(accounts)
          const index = new LiquidationIndex(book, rebuildThreshold)
          expect(index.breached()).toEqual(exactScan(book))
          for (const { market, basisPoints } of moves) {
            const current = book.priceTicksOf(market)
            const next = Math.max(1, Math.floor((current * (10_000 + basisPoints)) / 10_000))
            const outcome = index.tick(market, next)
            expect(outcome.breached).toEqual(exactScan(book))
          }
        },
      ),
      { seed: SEED, numRuns: 40 },
    )
  })

  it('follows balance and position changes (the book tells the index)', () => {
    const accounts = generateAccounts(200, SEED + 1)
    const book = bookFor(accounts)
    const index = new LiquidationIndex(book, 4)
    const random = fc.sample(
      fc.tuple(
        fc.integer({ min: 0, max: 199 }),
        fc.integer({ min: -5000, max: 500_000 }),
        moveArbitrary,
      ),
      { seed: SEED, numRuns: 150 },
    )
    for (const [account, cents, { market, basisPoints }] of random) {
      book.setBalance(account, (BigInt(cents) * 10n ** 16n) as never)
      if (cents % 3 === 0) book.setPosition(account, 'SOLUSDT', fixedOf('0'), fixedOf('0'))
      expect(index.breached()).toEqual(exactScan(book))
      const current = book.priceTicksOf(market)
      const outcome = index.tick(
        market,
        Math.max(1, Math.floor((current * (10_000 + basisPoints)) / 10_000)),
      )
      expect(outcome.breached).toEqual(exactScan(book))
    }
  })

  it('covers accounts added after the index was built', () => {
    const book = bookFor(generateAccounts(50, SEED + 2))
    const index = new LiquidationIndex(book)
    const added = book.addAccount(fixedOf('10'))
    if (!added.ok) throw new Error(added.issue.message)
    // 1 BTC long at 60,000 with 10 USDT: breached about 0.4% below the entry.
    book.setPosition(added.value, 'BTCUSDT', fixedOf('1'), fixedOf('60000'))
    expect(index.breached()).toEqual(exactScan(book))
    const outcome = index.tick(0, Math.floor(book.priceTicksOf(0) * 0.99))
    expect(outcome.breached).toContain(added.value)
    expect(outcome.breached).toEqual(exactScan(book))
  })
})

describe('RBK-022 a one-position account is breached exactly past its breach tick', () => {
  it('long and short: breached at the breach tick, safe one tick before (random balances)', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 1n, max: 10n ** 6n }),
        fc.boolean(),
        fc.integer({ min: 1, max: 50 }),
        (lots, long, leverage) => {
          const entryTicks = referenceTicks(0)
          const notionalCents = (lots * entryTicks) / 10n // lots × 0.001 × ticks × 0.1 USDT, in cents
          const account: FixtureAccount = {
            balanceCents: notionalCents / BigInt(leverage),
            positions: [{ marketIndex: 0, lots: long ? lots : -lots, entryTicks }],
          }
          const book = bookFor([account])
          const index = new LiquidationIndex(book)
          // Walk the price toward the liquidation side in 0.5% steps and check each step.
          for (let step = 1; step <= 60; step++) {
            const ticks = Math.max(
              1,
              Math.floor(Number(entryTicks) * (long ? 1 - step * 0.005 : 1 + step * 0.005)),
            )
            const outcome = index.tick(0, ticks)
            expect(outcome.breached.length === 1).toBe(book.isBreachedExact(0))
          }
        },
      ),
      { seed: SEED, numRuns: 60 },
    )
  })
})
