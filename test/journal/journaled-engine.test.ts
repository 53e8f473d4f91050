/**
 * The journaled engine (docs/spec/journal.md, JNL-006, JNL-008, JNL-012, JNL-013, JNL-015, JNL-016):
 * acknowledgement after a durable append, idempotent retries, refusals of the stream, snapshots
 * with replay of the tail, rule changes as commands, and refusal to start on a damaged journal.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fc } from '@fast-check/vitest'
import Database from 'better-sqlite3'
import { afterEach, describe, expect, it } from 'vitest'
import { fixedOf } from '../../src/core/num/fixed.ts'
import { parseRuleSet } from '../../src/core/rules/parse.ts'
import { isJournalError } from '../../src/journal/errors.ts'
import { JournaledEngine } from '../../src/journal/journaled-engine.ts'
import { recoverState } from '../../src/journal/replay.ts'
import { openSqliteStore } from '../../src/journal/sqlite-store.ts'
import type { JournalStore } from '../../src/journal/store.ts'
import { verifyJournal } from '../../src/journal/verify.ts'
import { SMALL_RULES_DOCUMENT, smallRuleSet } from './small-rules.ts'
import { takeWorkload } from './workload.ts'

const directories: string[] = []
function journalPath(): string {
  const directory = mkdtempSync(join(tmpdir(), 'lor-engine-'))
  directories.push(directory)
  return join(directory, 'journal.db')
}
afterEach(() => {
  for (const directory of directories.splice(0)) rmSync(directory, { recursive: true, force: true })
})

const ruleSet = smallRuleSet()
const T0 = 1_700_000_000_000

async function openEngine(path: string, snapshotEvery = 10_000): Promise<JournaledEngine> {
  return JournaledEngine.open({ store: openSqliteStore(path), ruleSet, snapshotEvery })
}

async function startupError(path: string): Promise<unknown> {
  return openEngine(path).then(
    async (engine) => {
      await engine.close()
      return 'started'
    },
    (error: unknown) => (isJournalError(error) ? error.code : error),
  )
}

function balanceOf(engine: JournaledEngine, account: string): bigint | undefined {
  return engine.engineState.accounts.get(account)?.balances.get('USDT')
}

describe('JNL-012 acknowledgement after a durable append', () => {
  it('an acknowledged command is already in the journal file when submit resolves', async () => {
    const path = journalPath()
    const engine = await openEngine(path)
    const outcome = await engine.submit(
      { type: 'deposit', account: 'alice', asset: 'USDT', amount: fixedOf('100') },
      { idempotencyKey: 'd1', timestampMs: T0 },
    )
    expect(outcome).toMatchObject({ sequence: 1, result: { status: 'ok' }, duplicate: false })
    const reader = new Database(path, { readonly: true })
    const row = reader
      .prepare(
        'SELECT idempotency_key AS key, result_json AS result FROM lor_journal_entries WHERE sequence = 1',
      )
      .get()
    reader.close()
    expect(row).toEqual({ key: 'd1', result: '{"status":"ok"}' })
    await engine.close()
  })

  it('concurrent submits are executed and numbered in call order and committed in batches', async () => {
    const engine = await openEngine(journalPath())
    const commands = takeWorkload(11, 600, { accounts: 5 })
    const outcomes = await Promise.all(commands.map((item) => engine.submit(item.command, item)))
    expect(outcomes.map((outcome) => outcome.sequence)).toEqual(
      commands.map((_, index) => index + 1),
    )
    expect(engine.lastSequence).toBe(600)
    await engine.close()
  })
})

describe('JNL-012 group commit over a slow disk', () => {
  it('commands submitted while an append is in flight continue the chain in the next batch', async () => {
    const path = journalPath()
    const real = openSqliteStore(path)
    const batchSizes: number[] = []
    let appendStarted = () => {}
    const firstAppendStarted = new Promise<void>((resolve) => {
      appendStarted = resolve
    })
    // the real store, each append taking 5 ms (a slow fsync, a network round trip)
    const store: JournalStore = Object.assign(Object.create(real) as JournalStore, {
      append: async (entries: Parameters<JournalStore['append']>[0]) => {
        batchSizes.push(entries.length)
        appendStarted()
        await new Promise((resolve) => setTimeout(resolve, 5))
        await real.append(entries)
      },
    })
    const engine = await JournaledEngine.open({ store, ruleSet })
    const commands = takeWorkload(12, 300, { accounts: 4 })
    const firstWave = commands.slice(0, 150).map((item) => engine.submit(item.command, item))
    await firstAppendStarted
    expect(engine.durableSequence).toBe(0)
    const secondWave = commands.slice(150).map((item) => engine.submit(item.command, item))
    const outcomes = await Promise.all([...firstWave, ...secondWave])
    expect(outcomes.map((outcome) => outcome.sequence)).toEqual(
      commands.map((_, index) => index + 1),
    )
    expect(engine.durableSequence).toBe(300)
    expect(batchSizes).toEqual([150, 150])
    expect(await verifyJournal(real)).toMatchObject({ sequence: 300 })
    await engine.close()
  })
})

describe('JNL-013 idempotency and the order of the stream', () => {
  it('a retried key answers the recorded outcome and does not apply again, before and after a restart', async () => {
    const path = journalPath()
    let engine = await openEngine(path)
    const deposit = {
      type: 'deposit',
      account: 'alice',
      asset: 'USDT',
      amount: fixedOf('100'),
    } as const
    const first = engine.submit(deposit, { idempotencyKey: 'd1', timestampMs: T0 })
    const retryInFlight = engine.submit(deposit, { idempotencyKey: 'd1', timestampMs: T0 })
    expect(await first).toMatchObject({ sequence: 1, duplicate: false })
    expect(await retryInFlight).toMatchObject({
      sequence: 1,
      duplicate: true,
      result: { status: 'ok' },
    })
    expect(
      await engine.submit(deposit, { idempotencyKey: 'd1', timestampMs: T0 + 5 }),
    ).toMatchObject({ sequence: 1, duplicate: true })
    expect(balanceOf(engine, 'alice')).toBe(fixedOf('100'))
    await engine.close()
    engine = await openEngine(path)
    const again = await engine.submit(deposit, { idempotencyKey: 'd1', timestampMs: T0 })
    expect(again).toMatchObject({
      sequence: 1,
      duplicate: true,
      events: [{ type: 'account_opened' }, { type: 'deposit_applied', amount: '100' }],
    })
    expect(balanceOf(engine, 'alice')).toBe(fixedOf('100'))
    expect(engine.lastSequence).toBe(1)
    await engine.close()
  })

  it('a key reused for a different command is refused with idempotency_key_conflict', async () => {
    const engine = await openEngine(journalPath())
    await engine.submit(
      { type: 'deposit', account: 'alice', asset: 'USDT', amount: fixedOf('100') },
      { idempotencyKey: 'k', timestampMs: T0 },
    )
    const reused = await engine.submit(
      { type: 'deposit', account: 'alice', asset: 'USDT', amount: fixedOf('999') },
      { idempotencyKey: 'k', timestampMs: T0 },
    )
    expect(reused).toMatchObject({ sequence: null, result: { status: 'idempotency_key_conflict' } })
    expect(balanceOf(engine, 'alice')).toBe(fixedOf('100'))
    await engine.close()
  })

  it('a gapped or repeated sequence and a timestamp going backwards are refused and not journaled', async () => {
    const engine = await openEngine(journalPath())
    const deposit = (key: string) =>
      ({ type: 'deposit', account: key, asset: 'USDT', amount: fixedOf('1') }) as const
    expect(
      await engine.submit(deposit('a'), { idempotencyKey: 'a', timestampMs: T0 + 10, sequence: 1 }),
    ).toMatchObject({ sequence: 1 })
    expect(
      await engine.submit(deposit('b'), { idempotencyKey: 'b', timestampMs: T0 + 10, sequence: 3 }),
    ).toMatchObject({
      sequence: null,
      result: { status: 'sequence_not_next', expected: 2, found: 3 },
    })
    expect(
      await engine.submit(deposit('b'), { idempotencyKey: 'b', timestampMs: T0 + 10, sequence: 1 }),
    ).toMatchObject({ result: { status: 'sequence_not_next' } })
    expect(
      await engine.submit(deposit('b'), { idempotencyKey: 'b', timestampMs: T0 + 9 }),
    ).toMatchObject({
      sequence: null,
      result: { status: 'timestamp_before_previous', previous: T0 + 10, found: T0 + 9 },
    })
    expect(
      await engine.submit(deposit('b'), { idempotencyKey: 'b', timestampMs: Number.NaN }),
    ).toMatchObject({ result: { status: 'timestamp_invalid' } })
    expect(
      await engine.submit(deposit('b'), { idempotencyKey: '', timestampMs: T0 + 10 }),
    ).toMatchObject({ result: { status: 'idempotency_key_invalid' } })
    expect(
      await engine.submit(deposit('b'), { idempotencyKey: 'b', timestampMs: T0 + 10, sequence: 2 }),
    ).toMatchObject({ sequence: 2, result: { status: 'ok' } })
    expect(engine.lastSequence).toBe(2)
    await engine.close()
  })

  it('a command the engine refuses is journaled with its refusal, and a retry answers the same refusal', async () => {
    const path = journalPath()
    const engine = await openEngine(path)
    const withdraw = {
      type: 'withdraw',
      account: 'ghost',
      asset: 'USDT',
      amount: fixedOf('5'),
    } as const
    const refused = await engine.submit(withdraw, { idempotencyKey: 'w', timestampMs: T0 })
    expect(refused).toMatchObject({
      sequence: 1,
      result: { status: 'account_not_found' },
      events: [],
    })
    await engine.submit(
      { type: 'deposit', account: 'ghost', asset: 'USDT', amount: fixedOf('10') },
      { idempotencyKey: 'd', timestampMs: T0 },
    )
    expect(await engine.submit(withdraw, { idempotencyKey: 'w', timestampMs: T0 })).toMatchObject({
      sequence: 1,
      result: { status: 'account_not_found' },
      duplicate: true,
    })
    expect(balanceOf(engine, 'ghost')).toBe(fixedOf('10'))
    await engine.close()
  })
})

describe('JNL-006 startup is snapshot plus tail', () => {
  it('restarts from the latest snapshot, replays the tail and reaches the same state hash', async () => {
    const path = journalPath()
    let engine = await openEngine(path, 100)
    for (const item of takeWorkload(21, 250, { accounts: 4 }))
      await engine.submit(item.command, item)
    const liveHash = engine.stateHash()
    await engine.close()
    engine = await openEngine(path, 100)
    expect(engine.recovery).toMatchObject({
      snapshotSequence: 200,
      replayedEntries: 50,
      snapshotRejected: null,
    })
    expect(engine.stateHash()).toBe(liveHash)
    const full = await recoverState(openSqliteStore(path), {
      useSnapshot: false,
      verifyEveryStateHash: true,
    })
    expect(full.replayedEntries).toBe(250)
    expect(full.stateHash).toBe(liveHash)
    await engine.close()
  })

  it('a damaged snapshot is set aside and the state is rebuilt from the genesis', async () => {
    const path = journalPath()
    let engine = await openEngine(path, 50)
    for (const item of takeWorkload(22, 120, { accounts: 3 }))
      await engine.submit(item.command, item)
    const liveHash = engine.stateHash()
    await engine.close()
    const database = new Database(path)
    database
      .prepare(
        `UPDATE lor_journal_snapshots SET snapshot_json = replace(snapshot_json, '"50000"', '"50001"') WHERE sequence = 100`,
      )
      .run()
    database.close()
    engine = await openEngine(path, 50)
    expect(engine.recovery).toMatchObject({
      snapshotSequence: null,
      snapshotRejected: 'corrupt_snapshot',
      replayedEntries: 120,
    })
    expect(engine.stateHash()).toBe(liveHash)
    await engine.close()
  })

  it('live state equals a clean replay for any seeded workload (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 1_000_000 }),
        fc.integer({ min: 1, max: 120 }),
        fc.integer({ min: 0, max: 40 }),
        async (seed, count, snapshotEvery) => {
          const path = journalPath()
          const engine = await openEngine(path, snapshotEvery)
          await Promise.all(
            takeWorkload(seed, count, { accounts: 3, ruleSet }).map((item) =>
              engine.submit(item.command, item),
            ),
          )
          const liveHash = engine.stateHash()
          await engine.close()
          const clean = await recoverState(openSqliteStore(path), { useSnapshot: false })
          expect(clean.stateHash).toBe(liveHash)
          expect(clean.recordedStateHash).toBe(liveHash)
        },
      ),
      { numRuns: 12, seed: 42 },
    )
  })
})

describe('JNL-015 rule changes are commands', () => {
  it('trades after a rule change pay the new fee, and replay uses the rules in force at each entry', async () => {
    const path = journalPath()
    let engine = await openEngine(path)
    const cheaper = parseRuleSet({
      ...SMALL_RULES_DOCUMENT,
      version: '2',
      markets: SMALL_RULES_DOCUMENT.markets.map((market) => ({ ...market, takerFeeRate: '0.001' })),
    })
    if (!cheaper.ok) throw new Error('rule set does not validate')
    const trade = {
      type: 'trade',
      account: 'alice',
      market: 'BTCUSDT',
      size: fixedOf('0.1'),
      price: fixedOf('30000'),
      liquidity: 'taker',
    } as const
    await engine.submit(
      { type: 'deposit', account: 'alice', asset: 'USDT', amount: fixedOf('10000') },
      { idempotencyKey: 'd', timestampMs: T0 },
    )
    await engine.submit(
      { type: 'mark_price', market: 'BTCUSDT', mark: fixedOf('30000') },
      { idempotencyKey: 'm', timestampMs: T0 },
    )
    const before = await engine.submit(trade, { idempotencyKey: 't1', timestampMs: T0 + 1 })
    const early = await engine.submit(
      {
        type: 'rules_change',
        ruleSet: cheaper.ruleSet,
        author: 'risk desk',
        effectiveTimeMs: T0 + 5,
      },
      { idempotencyKey: 'r0', timestampMs: T0 + 2 },
    )
    expect(early).toMatchObject({
      sequence: null,
      result: { status: 'rules_change_not_yet_effective' },
    })
    const change = await engine.submit(
      {
        type: 'rules_change',
        ruleSet: cheaper.ruleSet,
        author: 'risk desk',
        effectiveTimeMs: T0 + 2,
      },
      { idempotencyKey: 'r', timestampMs: T0 + 2 },
    )
    expect(change.events).toEqual([{ type: 'rules_changed', id: 'journal-test', version: '2' }])
    const after = await engine.submit(trade, { idempotencyKey: 't2', timestampMs: T0 + 3 })
    const feeOf = (outcome: typeof before) =>
      (
        outcome.events.find((event) => (event as { type?: string }).type === 'fill_applied') as
          | { fee?: string }
          | undefined
      )?.fee
    expect(feeOf(before)).toBe('1.2')
    expect(feeOf(after)).toBe('3')
    const liveHash = engine.stateHash()
    await engine.close()
    engine = await openEngine(path)
    expect(engine.stateHash()).toBe(liveHash)
    expect(engine.engineState.rules.version).toBe('2')
    await engine.close()
  })
})

describe('JNL-008 the engine refuses to start on a damaged journal', () => {
  async function journalWith(count: number): Promise<string> {
    const path = journalPath()
    const engine = await openEngine(path, 0)
    for (const item of takeWorkload(5, count, { accounts: 3 }))
      await engine.submit(item.command, item)
    await engine.close()
    return path
  }
  const damage = (path: string, statement: string) => {
    const database = new Database(path)
    database.exec(statement)
    database.close()
  }

  it.each([
    [
      'a changed command',
      `UPDATE lor_journal_entries SET command_json = replace(command_json, '"USDT"', '"USDC"') WHERE sequence = 2`,
      'entry_hash_mismatch',
    ],
    ['a deleted entry', 'DELETE FROM lor_journal_entries WHERE sequence = 7', 'sequence_gap'],
    [
      'a malformed row',
      "UPDATE lor_journal_entries SET entry_hash = 'x' WHERE sequence = 3",
      'corrupt_entry',
    ],
    [
      'a broken link',
      `UPDATE lor_journal_entries SET previous_hash = '${'ab'.repeat(32)}' WHERE sequence = 5`,
      'hash_chain_broken',
    ],
    [
      'an unknown schema version',
      'UPDATE lor_schema_version SET version = 2',
      'unknown_schema_version',
    ],
    [
      'a damaged genesis',
      `UPDATE lor_journal_genesis SET genesis_json = replace(genesis_json, '"0.0004"', '"0.0005"')`,
      'genesis_mismatch',
    ],
    ['a missing genesis', 'DELETE FROM lor_journal_genesis', 'genesis_missing'],
  ])('%s → %s', async (_name, statement, code) => {
    const path = await journalWith(12)
    damage(path, statement)
    expect(await startupError(path)).toBe(code)
  })

  it('a journal whose command was swapped and rehashed diverges on replay', async () => {
    const path = await journalWith(12)
    const store = openSqliteStore(path)
    const entries = await store.readRange(1, 100)
    await store.close()
    // rebuild the chain from entry 3 on with a different amount, as a forger with write access could
    const { sealEntry } = await import('../../src/journal/entry.ts')
    let previousHash = entries[1]!.entryHash
    const database = new Database(path)
    const update = database.prepare(
      'UPDATE lor_journal_entries SET command_json = ?, previous_hash = ?, entry_hash = ? WHERE sequence = ?',
    )
    for (const entry of entries.slice(2)) {
      const commandJson =
        entry.sequence === 3 ? entry.commandJson.replace('"50000"', '"50001"') : entry.commandJson
      const sealed = sealEntry({ ...entry, commandJson, previousHash })
      update.run(sealed.commandJson, sealed.previousHash, sealed.entryHash, entry.sequence)
      previousHash = sealed.entryHash
    }
    database.close()
    expect(await startupError(path)).toBe('replay_divergence')
  })

  it('JNL-016: a failed append halts the engine; later submits fail with engine_halted, and a restart recovers', async () => {
    const path = journalPath()
    const real = openSqliteStore(path)
    let failAppends = false
    // the real store, with appends failing on demand (a full disk, a lost connection)
    const store: JournalStore = Object.assign(Object.create(real) as JournalStore, {
      append: (entries: Parameters<JournalStore['append']>[0]) =>
        failAppends ? Promise.reject(new Error('disk full')) : real.append(entries),
    })
    const engine = await JournaledEngine.open({ store, ruleSet })
    const deposit = { type: 'deposit', account: 'a', asset: 'USDT', amount: fixedOf('1') } as const
    await engine.submit(deposit, { idempotencyKey: '1', timestampMs: T0 })
    failAppends = true
    const failed = await engine
      .submit(deposit, { idempotencyKey: '2', timestampMs: T0 })
      .catch((error: unknown) => error)
    expect(isJournalError(failed) ? failed.code : failed).toBe('engine_halted')
    failAppends = false
    const later = await engine
      .submit(deposit, { idempotencyKey: '3', timestampMs: T0 })
      .catch((error: unknown) => error)
    expect(isJournalError(later, 'engine_halted')).toBe(true)
    await real.close()
    const restarted = await openEngine(path)
    expect(restarted.lastSequence).toBe(1)
    expect(balanceOf(restarted, 'a')).toBe(fixedOf('1'))
    await restarted.close()
  })

  it('a new journal needs a rule set', async () => {
    const error = await JournaledEngine.open({ store: openSqliteStore(journalPath()) }).catch(
      (caught: unknown) => caught,
    )
    expect(isJournalError(error, 'genesis_missing')).toBe(true)
  })
})
