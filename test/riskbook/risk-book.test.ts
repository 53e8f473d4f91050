/**
 * Risk book (docs/spec/riskbook.md): exact evaluation equals the core's evaluateAccount, the float
 * screen's answer equals the exact one (including accounts built to sit exactly on the threshold),
 * and bad inputs are refused with stable codes.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  balanceAmount,
  FIXTURE_MARKETS,
  type FixtureAccount,
  fixtureRules,
  positionAmounts,
  priceAmount,
  referenceTicks,
  toCoreAccount,
} from '../../bench/fixtures.ts'
import { evaluateAccount } from '../../src/core/margin/evaluate.ts'
import type { Fixed } from '../../src/core/num/fixed.ts'
import { fixedOf } from '../../src/core/num/fixed.ts'
import { RiskBook, SCREEN_BREACHED, SCREEN_UNDECIDED } from '../../src/core/riskbook/risk-book.ts'
import type { RuleSet } from '../../src/core/rules/rule-set.ts'

const SEED = 20240601

function bookFor(
  rules: RuleSet,
  accounts: readonly FixtureAccount[],
  priceTicks: readonly bigint[],
): RiskBook {
  const created = RiskBook.create(rules, 'USDT', { positionsPerAccount: 3 })
  if (!created.ok) throw new Error(created.issue.message)
  const book = created.value
  FIXTURE_MARKETS.forEach((definition, index) => {
    const outcome = book.setPrice(definition.market, priceAmount(index, priceTicks[index]!))
    if (!outcome.ok) throw new Error(outcome.issue.message)
  })
  for (const account of accounts) {
    const added = book.addAccount(balanceAmount(account))
    if (!added.ok) throw new Error(added.issue.message)
    for (const position of account.positions) {
      const { size, entryValue } = positionAmounts(position)
      const set = book.setPosition(
        added.value,
        FIXTURE_MARKETS[position.marketIndex]!.market,
        size,
        entryValue,
      )
      if (!set.ok) throw new Error(set.issue.message)
    }
  }
  return book
}

function marksOf(priceTicks: readonly bigint[]): Map<string, Fixed> {
  return new Map(
    FIXTURE_MARKETS.map((definition, index) => [
      definition.market,
      priceAmount(index, priceTicks[index]!),
    ]),
  )
}

/** 1–3 positions in distinct markets; lots up to 10^7 (some positions reach the high tiers); any balance. */
const accountArbitrary: fc.Arbitrary<FixtureAccount> = fc
  .record({
    balanceCents: fc.bigInt({ min: -(10n ** 9n), max: 10n ** 11n }),
    markets: fc.shuffledSubarray([0, 1, 2], { minLength: 1, maxLength: 3 }),
    lots: fc.array(fc.bigInt({ min: 1n, max: 10n ** 7n }), { minLength: 3, maxLength: 3 }),
    long: fc.array(fc.boolean(), { minLength: 3, maxLength: 3 }),
    entryPermille: fc.array(fc.integer({ min: 800, max: 1200 }), { minLength: 3, maxLength: 3 }),
  })
  .map(({ balanceCents, markets, lots, long, entryPermille }) => ({
    balanceCents,
    positions: markets.map((marketIndex, slot) => ({
      marketIndex,
      lots: long[slot]! ? lots[slot]! : -lots[slot]!,
      entryTicks: (referenceTicks(marketIndex) * BigInt(entryPermille[slot]!)) / 1000n,
    })),
  }))

const pricesArbitrary = fc
  .tuple(
    fc.integer({ min: 500, max: 1500 }),
    fc.integer({ min: 500, max: 1500 }),
    fc.integer({ min: 500, max: 1500 }),
  )
  .map((permille) => permille.map((each, index) => (referenceTicks(index) * BigInt(each)) / 1000n))

describe('RBK-004 exact evaluation equals the core evaluateAccount', () => {
  for (const closeFeeRate of ['0', '0.0006']) {
    it(`matches crossEquity and crossMaintenanceMargin on random accounts (close fee rate ${closeFeeRate})`, () => {
      const rules = fixtureRules(closeFeeRate)
      fc.assert(
        fc.property(
          fc.array(accountArbitrary, { minLength: 1, maxLength: 20 }),
          pricesArbitrary,
          (accounts, prices) => {
            const book = bookFor(rules, accounts, prices)
            const marks = marksOf(prices)
            accounts.forEach((account, index) => {
              const group = evaluateAccount(
                rules,
                toCoreAccount(account, `a${index}`),
                marks,
              ).groups.find((each) => each.asset === 'USDT')!
              const mine = book.evaluate(index)
              expect(mine.equity).toBe(group.crossEquity)
              expect(mine.maintenanceMargin).toBe(group.crossMaintenanceMargin)
              expect(book.toFixed(book.marginSlack(index))).toBe(
                group.crossEquity - group.crossMaintenanceMargin,
              )
              expect(book.isBreachedExact(index)).toBe(
                group.crossEquity < group.crossMaintenanceMargin,
              )
            })
          },
        ),
        { seed: SEED, numRuns: 150 },
      )
    })
  }

  it('uses the 2020 Binance BTCUSDT brackets: 264,000 USDT of value needs 1,340 USDT (exchanges.md §11 BN-03)', () => {
    // 4.4 BTC at 60,000 = 264,000 USDT, tier 3 (1%, cum 1,300): MM = 2,640 − 1,300 = 1,340.
    const book = bookFor(
      fixtureRules(),
      [{ balanceCents: 0n, positions: [{ marketIndex: 0, lots: 4400n, entryTicks: 600_000n }] }],
      [600_000n, 300_000n, 150_000n],
    )
    expect(book.evaluate(0).maintenanceMargin).toBe(fixedOf('1340'))
    expect(book.evaluate(0).equity).toBe(fixedOf('0'))
  })

  it('an account without positions is never breached, even with a negative balance (MRG-014)', () => {
    const book = bookFor(
      fixtureRules(),
      [{ balanceCents: -500n, positions: [] }],
      [600_000n, 300_000n, 150_000n],
    )
    expect(book.marginSlack(0)).toBeLessThan(0n)
    expect(book.isBreachedExact(0)).toBe(false)
    expect(book.isBreached(0)).toBe(false)
  })
})

describe('RBK-010/RBK-011 the screen answers exactly', () => {
  it('classifies random accounts as the exact slack does', () => {
    fc.assert(
      fc.property(
        fc.array(accountArbitrary, { minLength: 1, maxLength: 30 }),
        pricesArbitrary,
        (accounts, prices) => {
          const book = bookFor(fixtureRules('0.0006'), accounts, prices)
          const flags = new Uint8Array(book.count)
          book.classifyAll(flags)
          for (let account = 0; account < book.count; account++) {
            expect(flags[account] === 1).toBe(book.isBreachedExact(account))
            expect(book.isBreached(account)).toBe(book.isBreachedExact(account))
          }
        },
      ),
      { seed: SEED, numRuns: 200 },
    )
  })

  it('on accounts set to slack −1, 0 and +1 money unit it answers exactly (adversarial, at the threshold)', () => {
    fc.assert(
      fc.property(
        accountArbitrary,
        pricesArbitrary,
        fc.integer({ min: -1, max: 1 }),
        (account, prices, offset) => {
          const rules = fixtureRules('0.0006')
          const probe = bookFor(rules, [account], prices)
          // Re-set the balance so that slack = offset μ exactly: balance' = balance − slack + offset.
          const slack = probe.marginSlack(0)
          const balance = (balanceAmount(account) -
            probe.toFixed(slack) +
            probe.toFixed(BigInt(offset))) as Fixed
          expect(probe.setBalance(0, balance).ok).toBe(true)
          expect(probe.marginSlack(0)).toBe(BigInt(offset))
          // The screen either defers or gives the exact answer; never the wrong one.
          const screened = probe.screen(0)
          if (screened !== SCREEN_UNDECIDED) expect(screened === SCREEN_BREACHED).toBe(offset < 0)
          expect(probe.isBreached(0)).toBe(offset < 0)
          const flags = new Uint8Array(1)
          expect(probe.classifyAll(flags).breached).toBe(offset < 0 ? 1 : 0)
        },
      ),
      { seed: SEED, numRuns: 200 },
    )
  })
})

describe('RBK-001/RBK-002 inputs', () => {
  const rules = fixtureRules()
  const book = (): RiskBook => {
    const created = RiskBook.create(rules, 'USDT')
    if (!created.ok) throw new Error(created.issue.message)
    return created.value
  }

  it('derives the money unit from the markets (ETH: 0.01 × 0.001 value unit, 5 decimals, × the 4-decimal rate 0.0065)', () => {
    expect(book().moneyDecimals).toBe(9)
    expect(book().unsupportedMarkets).toEqual([])
  })

  it('refuses prices off the tick grid, sizes off the lot grid, money finer than μ, unknown markets and accounts', () => {
    const subject = book()
    expect(subject.setPrice('BTCUSDT', fixedOf('60000.05'))).toMatchObject({
      ok: false,
      issue: { code: 'not_on_tick' },
    })
    expect(subject.setPrice('BTCUSDT', fixedOf('0'))).toMatchObject({
      ok: false,
      issue: { code: 'not_on_tick' },
    })
    expect(subject.setPrice('XRPUSDT', fixedOf('1'))).toMatchObject({
      ok: false,
      issue: { code: 'unknown_market' },
    })
    expect(subject.addAccount(fixedOf('0.0000000001'))).toMatchObject({
      ok: false,
      issue: { code: 'not_in_money_unit' },
    })
    const account = subject.addAccount(fixedOf('100'))
    expect(account.ok).toBe(true)
    expect(subject.setPosition(0, 'BTCUSDT', fixedOf('0.0005'), fixedOf('30'))).toMatchObject({
      ok: false,
      issue: { code: 'not_on_lot' },
    })
    expect(subject.setPosition(7, 'BTCUSDT', fixedOf('0.001'), fixedOf('60'))).toMatchObject({
      ok: false,
      issue: { code: 'unknown_account' },
    })
    expect(subject.setBalance(0, fixedOf('1000'))).toMatchObject({ ok: true })
    expect(subject.addAccount((2n ** 64n * 10n ** 10n) as Fixed)).toMatchObject({
      ok: false,
      issue: { code: 'out_of_range' },
    })
  })

  it('refuses a fifth position in a four-slot account and frees the slot when a size goes to zero', () => {
    const created = RiskBook.create(rules, 'USDT', { positionsPerAccount: 1 })
    if (!created.ok) throw new Error(created.issue.message)
    const subject = created.value
    subject.addAccount(fixedOf('100'))
    expect(subject.setPosition(0, 'BTCUSDT', fixedOf('0.001'), fixedOf('60'))).toMatchObject({
      ok: true,
    })
    expect(subject.setPosition(0, 'ETHUSDT', fixedOf('0.001'), fixedOf('3'))).toMatchObject({
      ok: false,
      issue: { code: 'too_many_positions' },
    })
    expect(subject.setPosition(0, 'BTCUSDT', fixedOf('0'), fixedOf('0'))).toMatchObject({
      ok: true,
    })
    expect(subject.positionCount(0)).toBe(0)
    expect(subject.setPosition(0, 'ETHUSDT', fixedOf('0.001'), fixedOf('3'))).toMatchObject({
      ok: true,
    })
  })

  it('refuses bad options', () => {
    expect(RiskBook.create(rules, 'USDT', { positionsPerAccount: 0 })).toMatchObject({
      ok: false,
      issue: { code: 'bad_option' },
    })
    expect(RiskBook.create(rules, 'USDT', { moneyDecimals: 7 })).toMatchObject({
      ok: false,
      issue: { code: 'bad_option' },
    })
    expect(RiskBook.create(rules, 'USDT', { moneyDecimals: 19 })).toMatchObject({
      ok: false,
      issue: { code: 'bad_option' },
    })
  })

  it('lists markets the fast path cannot take: inverse, a non-tax-bracket ladder', () => {
    const base = fixtureRules()
    const btc = base.markets.get('BTCUSDT')!
    const markets = new Map(base.markets)
    markets.set('BTCUSD', {
      ...btc,
      instrument: {
        ...btc.instrument,
        market: 'BTCUSD',
        kind: 'inverse_perpetual',
        settlementAsset: 'USDT',
      },
    })
    const tiers = btc.margin.kind === 'tiered' ? btc.margin.tiers : []
    markets.set('BADUSDT', {
      ...btc,
      instrument: { ...btc.instrument, market: 'BADUSDT' },
      margin: {
        kind: 'tiered',
        basis: 'value',
        tiers: tiers.map((tier, index) =>
          index === 2 ? { ...tier, maintenanceDeduction: fixedOf('1') } : tier,
        ),
      },
    })
    const created = RiskBook.create({ ...base, markets }, 'USDT')
    if (!created.ok) throw new Error(created.issue.message)
    expect(created.value.unsupportedMarkets).toEqual([
      { market: 'BTCUSD', code: 'not_linear' },
      { market: 'BADUSDT', code: 'tiers_not_tax_bracket' },
    ])
    expect(created.value.marketIds).toEqual(['BTCUSDT', 'ETHUSDT', 'SOLUSDT'])
  })
})
