/**
 * The incremental state hash (docs/spec/journal.md, JNL-020, JNL-021): after any sequence of
 * commands it equals the hash computed from scratch, in both definitions (version 1: SHA-256 of
 * `encodeStateCanonical`; version 2: the digest text with the account tree), its full check catches
 * a part changed in place, and the journaled engine halts on such a broken invariant. Version 2 is
 * spelled out here once more, independently, and journals of either version replay to their hashes.
 */
import { hash as oneShotHash } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fc } from '@fast-check/vitest'
import { afterEach, describe, expect, it } from 'vitest'
import { InvariantError } from '../../src/core/assert.ts'
import type { Command } from '../../src/core/engine/commands.ts'
import { encodeCanonical, encodeStateCanonical } from '../../src/core/engine/canonical.ts'
import { execute } from '../../src/core/engine/execute.ts'
import { createEngineState, emptyAccount, type EngineState } from '../../src/core/engine/state.ts'
import { type Fixed, fixedOf } from '../../src/core/num/fixed.ts'
import { isJournalError } from '../../src/journal/errors.ts'
import { genesisOf } from '../../src/journal/genesis.ts'
import { JournaledEngine } from '../../src/journal/journaled-engine.ts'
import { recoverState } from '../../src/journal/replay.ts'
import { openSqliteStore } from '../../src/journal/sqlite-store.ts'
import { StateHasher, type StateHashVersion, stateHashOf } from '../../src/journal/state-hasher.ts'
import { smallRuleSet } from './small-rules.ts'
import { workloadRuleSet } from './workload.ts'

const directories: string[] = []
afterEach(() => {
  for (const directory of directories.splice(0)) rmSync(directory, { recursive: true, force: true })
})
function journalPath(): string {
  const directory = mkdtempSync(join(tmpdir(), 'lor-hasher-'))
  directories.push(directory)
  return join(directory, 'journal.db')
}

const T0 = 1_700_000_000_000
const money = (text: string): Fixed => fixedOf(text)
const decimal = (whole: number, cents: number): string =>
  `${whole}.${String(Math.abs(cents) % 100).padStart(2, '0')}`

// integer-like ids sort first in JSON and `__proto__` is an ordinary key of the canonical
// encoding: the incremental encoder must follow both rules of the full one
const ACCOUNTS = ['alice', 'bob', '7', '10', '0', 'carol-with-a-longer-id', '__proto__', 'Ω']
const MARKETS = ['BTCUSDT', 'ETHUSDT']
const RULE_SETS = [workloadRuleSet('binance-usdm'), workloadRuleSet('bybit-linear')]

const account = fc.constantFrom(...ACCOUNTS)
const market = fc.constantFrom(...MARKETS)
const basePrice = (id: string): number => (id === 'BTCUSDT' ? 30_000 : 2_000)

/** Commands in wire-free form; prices near each market's base, liquidations reachable. */
const commandArbitrary: fc.Arbitrary<Command> = fc.oneof(
  fc.record({
    type: fc.constant('deposit' as const),
    account,
    asset: fc.constant('USDT'),
    amount: fc.integer({ min: 1, max: 20_000 }).map((amount) => money(String(amount))),
  }),
  fc.record({
    type: fc.constant('withdraw' as const),
    account,
    asset: fc.constant('USDT'),
    amount: fc.integer({ min: 1, max: 5_000 }).map((amount) => money(String(amount))),
  }),
  fc
    .record({
      account,
      counterparty: fc.option(account, { nil: undefined }),
      market,
      lots: fc.integer({ min: -400, max: 400 }).filter((lots) => lots !== 0),
      offset: fc.integer({ min: -300, max: 300 }),
      maker: fc.boolean(),
    })
    .map(({ account: id, counterparty, market: marketId, lots, offset, maker }) => ({
      type: 'trade' as const,
      account: id,
      market: marketId,
      size: money((lots / 1000).toFixed(3)),
      price: money(decimal(basePrice(marketId) + Math.trunc(offset / 10), offset)),
      liquidity: maker ? ('maker' as const) : ('taker' as const),
      ...(counterparty === undefined ? {} : { counterparty }),
    })),
  fc
    .record({ market, move: fc.integer({ min: -40, max: 40 }), withIndex: fc.boolean() })
    .map(({ market: marketId, move, withIndex }) => {
      const mark = money(String(Math.round(basePrice(marketId) * (1 + move / 100))))
      return {
        type: 'mark_price' as const,
        market: marketId,
        mark,
        ...(withIndex ? { index: mark } : {}),
      }
    }),
  fc.record({
    type: fc.constant('funding' as const),
    market,
    rate: fc.constantFrom('0.0001', '-0.0001', '0.003').map(money),
  }),
  fc.record({
    type: fc.constant('set_leverage' as const),
    account,
    market,
    leverage: fc.option(fc.constantFrom('2', '20', '100').map(money), { nil: null }),
  }),
  fc.record({
    type: fc.constant('set_margin_mode' as const),
    account,
    market,
    marginMode: fc.constantFrom('cross' as const, 'isolated' as const),
  }),
  fc.record({
    type: fc.constant('add_isolated_margin' as const),
    account,
    market,
    amount: fc.integer({ min: 1, max: 500 }).map((amount) => money(String(amount))),
  }),
  fc
    .record({ order: fc.integer({ min: 1, max: 8 }), lots: fc.integer({ min: 1, max: 400 }) })
    .chain(({ order, lots }) =>
      fc.record({
        type: fc.constant('liquidation_fill' as const),
        orderId: fc.constant(`L${order}`),
        size: fc.constantFrom(money((lots / 1000).toFixed(3)), money((-lots / 1000).toFixed(3))),
        price: market.map((marketId) => money(String(basePrice(marketId)))),
      }),
    ),
  fc.record({
    type: fc.constant('liquidation_takeover' as const),
    orderId: fc.integer({ min: 1, max: 8 }).map((order) => `L${order}`),
  }),
  fc.record({
    type: fc.constant('insurance_fund_deposit' as const),
    fund: fc.constantFrom('BTCUSDT', 'ETHUSDT', 'USDT-shared'),
    asset: fc.constant('USDT'),
    amount: fc.integer({ min: 1, max: 1_000 }).map((amount) => money(String(amount))),
  }),
  fc.record({
    type: fc.constant('rules_change' as const),
    ruleSet: fc.constantFrom(...RULE_SETS),
  }),
)

function run(state: EngineState, command: Command, index: number): void {
  execute(state, command, { sequence: state.lastSequence + 1, timestampMs: T0 + index * 1_000 })
}

describe('incremental state hash (JNL-020)', () => {
  it('JNL-020, JNL-021: equals the full hash after every command of a random sequence, both versions (property)', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...RULE_SETS),
        fc.constantFrom<StateHashVersion>(1, 2),
        fc.array(commandArbitrary, { minLength: 1, maxLength: 80 }),
        (ruleSet, version, commands) => {
          const state = createEngineState(ruleSet)
          const hasher = new StateHasher({ version })
          expect(hasher.hash(state)).toBe(stateHashOf(state, version))
          commands.forEach((command, index) => {
            run(state, command, index)
            expect(hasher.hash(state)).toBe(stateHashOf(state, version))
          })
        },
      ),
      { numRuns: 80, seed: 20_261_124 },
    )
  })

  it('JNL-021: version 2 is SHA-256 of the digest text over the account tree, as spelled out in the spec', () => {
    const state = createEngineState(smallRuleSet())
    ACCOUNTS.forEach((id, index) =>
      run(state, { type: 'deposit', account: id, asset: 'USDT', amount: money('7') }, index),
    )
    run(state, { type: 'mark_price', market: 'BTCUSDT', mark: money('30000') }, 20)
    const sha = (data: string | Buffer): Buffer => oneShotHash('sha256', data, 'buffer')
    const buckets: string[][] = Array.from({ length: 256 }, () => [])
    for (const id of state.accounts.keys()) buckets[sha(id)[0] ?? 0]?.push(id)
    const bucketDigests = buckets.map((ids) =>
      sha(
        Buffer.concat(
          ids
            .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
            .map((id) => sha(`${JSON.stringify(id)}:${encodeCanonical(state.accounts.get(id))}`)),
        ),
      ),
    )
    const groups = Array.from({ length: 16 }, (_, group) =>
      sha(Buffer.concat(bucketDigests.slice(16 * group, 16 * group + 16))),
    )
    const accountsDigest = sha(Buffer.concat(groups)).toString('hex')
    // the digest text is the canonical state text with accounts and rules replaced by digests
    const full = JSON.parse(encodeStateCanonical(state)) as Record<string, unknown>
    full.accounts = accountsDigest
    full.rules = sha(encodeCanonical(state.rules)).toString('hex')
    const expected = sha(JSON.stringify(full)).toString('hex')
    expect(stateHashOf(state, 2)).toBe(expected)
    expect(new StateHasher({ version: 2 }).hash(state)).toBe(expected)
    expect(stateHashOf(state, 1)).toBe(sha(encodeStateCanonical(state)).toString('hex'))
    expect(stateHashOf(state)).toBe(expected)
  })

  it('JNL-021: the account tree depends on which accounts exist, not on the order they came in', () => {
    const opened = (ids: readonly string[]): EngineState => {
      const state = createEngineState(smallRuleSet())
      ids.forEach((id) =>
        run(state, { type: 'deposit', account: id, asset: 'USDT', amount: money('3') }, 0),
      )
      return state
    }
    const ids = Array.from({ length: 400 }, (_, index) => `acct-${index}`)
    const forward = opened(ids)
    const backward = opened([...ids].reverse())
    const hasher = new StateHasher()
    expect(hasher.hash(forward)).toBe(stateHashOf(forward))
    expect(new StateHasher().hash(backward)).toBe(hasher.hash(forward))
    run(forward, { type: 'deposit', account: 'acct-7', asset: 'USDT', amount: money('1') }, 1)
    expect(hasher.hash(forward)).not.toBe(stateHashOf(backward))
    expect(hasher.hash(forward)).toBe(stateHashOf(forward))
  })

  it('JNL-020: the random sequences reach liquidations, fund movements and every account id', () => {
    // the property above would prove little if its commands never left the accounts' maps
    const reached = { orders: 0, pools: 0, history: 0, accounts: new Set<string>() }
    fc.assert(
      fc.property(fc.array(commandArbitrary, { minLength: 80, maxLength: 80 }), (commands) => {
        const state = createEngineState(RULE_SETS[1] ?? smallRuleSet())
        commands.forEach((command, index) => run(state, command, index))
        reached.orders += state.liquidation.nextOrderNumber - 1
        reached.pools += state.liquidation.fundPools.size
        reached.history += state.liquidation.fundHistory.size
        for (const id of state.accounts.keys()) reached.accounts.add(id)
      }),
      { numRuns: 60, seed: 20_261_124 },
    )
    expect(reached.orders).toBeGreaterThan(0)
    expect(reached.pools).toBeGreaterThan(0)
    expect(reached.history).toBeGreaterThan(0)
    expect([...reached.accounts].sort()).toEqual([...ACCOUNTS, '@book'].sort())
  })

  it('JNL-020: follows accounts that come and go, in any key order, both versions', () => {
    for (const version of [1, 2] as const) {
      const state = createEngineState(smallRuleSet())
      const hasher = new StateHasher({ fullCheckEvery: 1, version })
      const ids = Array.from({ length: 300 }, (_, index) =>
        index % 3 === 0 ? String(index) : `acct-${index}`,
      )
      ids.forEach((id, index) => {
        run(state, { type: 'deposit', account: id, asset: 'USDT', amount: money('5') }, index)
        if (index % 37 === 0) expect(hasher.hash(state)).toBe(stateHashOf(state, version))
      })
      expect(hasher.hash(state)).toBe(stateHashOf(state, version))
      // the engine never removes accounts; one removed or added by hand changes the count, which
      // the hasher notices without the engine's change log
      state.accounts.delete('3')
      expect(hasher.hash(state)).toBe(stateHashOf(state, version))
      state.accounts.set('acct-new', emptyAccount('acct-new'))
      expect(hasher.hash(state)).toBe(stateHashOf(state, version))
      // a swap by hand that keeps the count is outside the engine's log: the full check catches it
      state.accounts.delete('acct-100')
      state.accounts.set('acct-other', emptyAccount('acct-other'))
      expect(() => hasher.hash(state)).toThrow(InvariantError)
    }
  })

  it('JNL-020: the full check catches a part changed in place, which the cache alone would miss', () => {
    const state = createEngineState(smallRuleSet())
    run(state, { type: 'deposit', account: 'alice', asset: 'USDT', amount: money('1000') }, 0)
    run(state, { type: 'mark_price', market: 'BTCUSDT', mark: money('30000') }, 1)
    run(
      state,
      {
        type: 'trade',
        account: 'alice',
        market: 'BTCUSDT',
        size: money('0.01'),
        price: money('30000'),
        liquidity: 'taker',
      },
      2,
    )
    const unchecked = new StateHasher()
    const checked = new StateHasher({ fullCheckEvery: 1 })
    const before = unchecked.hash(state)
    expect(checked.hash(state)).toBe(before)
    const position = state.accounts.get('alice')?.positions.get('BTCUSDT')
    if (position === undefined) throw new Error('alice holds a BTCUSDT position')
    ;(position as { size: Fixed }).size = money('0.02')
    expect(unchecked.hash(state)).toBe(before)
    expect(stateHashOf(state)).not.toBe(before)
    expect(() => checked.hash(state)).toThrow(InvariantError)
  })

  it('JNL-020: the journaled engine halts when the incremental hash breaks, and recovery is replay', async () => {
    const path = journalPath()
    const engine = await JournaledEngine.open({
      store: openSqliteStore(path),
      ruleSet: smallRuleSet(),
      stateHashCheckEvery: 1,
    })
    const at = (index: number) => ({ idempotencyKey: `k${index}`, timestampMs: T0 + index })
    await engine.submit(
      { type: 'deposit', account: 'alice', asset: 'USDT', amount: money('1000') },
      at(1),
    )
    // an in-place change of a position object: the full check must catch it
    await engine.submit({ type: 'mark_price', market: 'BTCUSDT', mark: money('30000') }, at(2))
    await engine.submit(
      {
        type: 'trade',
        account: 'alice',
        market: 'BTCUSDT',
        size: money('0.01'),
        price: money('30000'),
        liquidity: 'taker',
      },
      at(3),
    )
    const position = engine.engineState.accounts.get('alice')?.positions.get('BTCUSDT')
    if (position === undefined) throw new Error('alice holds a position')
    ;(position as { size: Fixed }).size = money('0.02')
    await expect(
      engine.submit({ type: 'deposit', account: 'bob', asset: 'USDT', amount: money('1') }, at(4)),
    ).rejects.toThrow(InvariantError)
    const later = await engine
      .submit({ type: 'deposit', account: 'bob', asset: 'USDT', amount: money('1') }, at(5))
      .catch((error: unknown) => error)
    expect(isJournalError(later, 'engine_halted')).toBe(true)
    await engine.close()
    const store = openSqliteStore(path)
    const recovery = await recoverState(store, { verifyEveryStateHash: true })
    await store.close()
    expect(recovery.head?.sequence).toBe(3)
    expect(recovery.stateHash).toBe(recovery.recordedStateHash)
  })

  it('JNL-020: replay checks every state hash with the incremental hasher and hands it over warm', async () => {
    const path = journalPath()
    const engine = await JournaledEngine.open({
      store: openSqliteStore(path),
      ruleSet: smallRuleSet(),
      snapshotEvery: 25,
    })
    for (let index = 1; index <= 60; index += 1)
      await engine.submit(
        {
          type: 'deposit',
          account: `acct-${index % 7}`,
          asset: 'USDT',
          amount: money(String(index)),
        },
        { idempotencyKey: `k${index}`, timestampMs: T0 + index },
      )
    const live = engine.stateHash()
    await engine.close()
    for (const useSnapshot of [true, false]) {
      const store = openSqliteStore(path)
      const recovery = await recoverState(store, {
        useSnapshot,
        verifyEveryStateHash: true,
        stateHashCheck: { fullCheckEvery: 1 },
      })
      await store.close()
      expect(recovery.snapshotSequence).toBe(useSnapshot ? 50 : null)
      expect(recovery.replayedEntries).toBe(useSnapshot ? 10 : 60)
      expect(recovery.stateHash).toBe(live)
      expect(recovery.hasher.hash(recovery.state)).toBe(live)
    }
  })

  it('JNL-021: a journal keeps the state-hash version of its genesis: version 1 journals replay and grow with version-1 hashes', async () => {
    for (const version of [1, 2] as const) {
      const path = journalPath()
      const store = openSqliteStore(path)
      await store.writeGenesis(genesisOf(smallRuleSet(), version))
      const engine = await JournaledEngine.open({ store, stateHashCheckEvery: 1 })
      const submit = (on: JournaledEngine, index: number) =>
        on.submit(
          { type: 'deposit', account: `acct-${index % 5}`, asset: 'USDT', amount: money('2') },
          { idempotencyKey: `k${index}`, timestampMs: T0 + index },
        )
      for (let index = 1; index <= 12; index += 1) await submit(engine, index)
      expect(engine.stateHash()).toBe(stateHashOf(engine.engineState as EngineState, version))
      await engine.close()
      const reopened = await JournaledEngine.open({
        store: openSqliteStore(path),
        stateHashCheckEvery: 1,
      })
      await submit(reopened, 13)
      const hash = reopened.stateHash()
      expect(hash).toBe(stateHashOf(reopened.engineState as EngineState, version))
      expect(hash).not.toBe(stateHashOf(reopened.engineState as EngineState, version === 1 ? 2 : 1))
      await reopened.close()
      const check = openSqliteStore(path)
      const recovery = await recoverState(check, { verifyEveryStateHash: true })
      await check.close()
      expect(recovery.stateHash).toBe(hash)
      expect(recovery.recordedStateHash).toBe(hash)
    }
  })
})
