/**
 * The journal contract (docs/spec/journal.md): one suite, run against every `JournalStore`
 * backend. A harness gives a fresh, empty journal per test, raw SQL on the same database (to
 * damage it the way a disk or an operator could), and a way to reopen it.
 */
import { fc } from '@fast-check/vitest'
import { describe, expect, it } from 'vitest'
import { canonicalJson, sha256Hex } from '../../src/journal/canonical.ts'
import { type JournalEntry, sealEntry, ZERO_HASH } from '../../src/journal/entry.ts'
import { isJournalError, type JournalErrorCode } from '../../src/journal/errors.ts'
import type { JournalStore } from '../../src/journal/store.ts'
import { verifyJournal } from '../../src/journal/verify.ts'

export interface StoreHarness {
  readonly store: JournalStore
  /** Runs one SQL statement on the journal's database (tables unqualified). */
  runSql(statement: string): Promise<void>
  /** Closes the store and opens the same journal again. */
  reopen(): Promise<JournalStore>
  /** Closes everything and deletes the journal. */
  dispose(): Promise<void>
}

/** Builds `count` chained entries after `previous` (null: from the chain start `startHash`). */
export function makeEntries(
  count: number,
  previous: JournalEntry | null = null,
  startHash = ZERO_HASH,
  keyPrefix = 'k',
): JournalEntry[] {
  const entries: JournalEntry[] = []
  let sequence = previous?.sequence ?? 0
  let previousHash = previous?.entryHash ?? startHash
  let timestampMs = previous?.timestampMs ?? 1_700_000_000_000
  for (let index = 0; index < count; index += 1) {
    sequence += 1
    timestampMs += index % 3 === 0 ? 0 : 1
    const entry = sealEntry({
      sequence,
      timestampMs,
      idempotencyKey: `${keyPrefix}-${sequence}`,
      commandJson: canonicalJson({
        type: 'deposit',
        account: `a${sequence % 7}`,
        asset: 'USDT',
        amount: `${sequence}.5`,
      }),
      resultJson: canonicalJson({ status: 'ok' }),
      eventsJson: canonicalJson([
        { type: 'deposit_applied', account: `a${sequence % 7}`, amount: `${sequence}.5` },
      ]),
      stateHash: sha256Hex(`state ${sequence}`),
      previousHash,
    })
    entries.push(entry)
    previousHash = entry.entryHash
  }
  return entries
}

async function expectJournalError(
  promise: Promise<unknown>,
  code: JournalErrorCode,
): Promise<void> {
  const error: unknown = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  )
  expect(isJournalError(error) ? error.code : error).toBe(code)
}

async function readAll(store: JournalStore): Promise<JournalEntry[]> {
  return store.readRange(1, 1_000_000)
}

/** Runs the contract against one backend. `makeHarness` returns a fresh, empty journal. */
export function runJournalContract(name: string, makeHarness: () => Promise<StoreHarness>): void {
  const withStore = (test: (harness: StoreHarness) => Promise<void>) => async () => {
    const harness = await makeHarness()
    try {
      await test(harness)
    } finally {
      await harness.dispose()
    }
  }

  describe(`journal contract: ${name}`, () => {
    it(
      'JNL-001: a new journal is empty and carries the schema version',
      withStore(async ({ store }) => {
        expect(await store.head()).toBeNull()
        expect(await store.readRange(1, 10)).toEqual([])
        expect(await store.schemaVersion()).toBe(1)
        expect(await store.latestSnapshot()).toBeNull()
        expect(await store.readGenesis()).toBeNull()
        expect(await verifyJournal(store)).toBeNull()
      }),
    )

    it(
      'JNL-001: appended entries read back byte for byte, by range, sequence and idempotency key',
      withStore(async ({ store }) => {
        const entries = makeEntries(25)
        await store.append(entries.slice(0, 10))
        await store.append(entries.slice(10))
        expect(await readAll(store)).toEqual(entries)
        expect(await store.readRange(5, 3)).toEqual(entries.slice(4, 7))
        expect(await store.readEntry(17)).toEqual(entries[16])
        expect(await store.readEntry(26)).toBeNull()
        expect(await store.findByIdempotencyKey('k-9')).toEqual(entries[8])
        expect(await store.findByIdempotencyKey('missing')).toBeNull()
        const head = await store.head()
        expect(head).toEqual({
          sequence: 25,
          timestampMs: entries[24]!.timestampMs,
          entryHash: entries[24]!.entryHash,
          stateHash: entries[24]!.stateHash,
        })
        expect(await verifyJournal(store)).toEqual(head)
      }),
    )

    it(
      'JNL-002: an append that does not continue the head (gap, overlap, wrong start) is refused and writes nothing',
      withStore(async ({ store }) => {
        const entries = makeEntries(6)
        await expectJournalError(store.append(entries.slice(1, 3)), 'sequence_conflict')
        await store.append(entries.slice(0, 3))
        await expectJournalError(store.append(entries.slice(4)), 'sequence_conflict')
        await expectJournalError(store.append(entries.slice(2)), 'sequence_conflict')
        expect(await readAll(store)).toEqual(entries.slice(0, 3))
        await store.append(entries.slice(3))
        expect(await readAll(store)).toEqual(entries)
      }),
    )

    it(
      'JNL-002: a reused idempotency key is refused, and a failed batch leaves no partial entries',
      withStore(async ({ store }) => {
        const [first, ...rest] = makeEntries(3)
        await store.append([first!])
        const reused = makeEntries(2, first, ZERO_HASH, 'again')
        const clash = sealEntry({ ...reused[1]!, idempotencyKey: 'k-1' })
        await expectJournalError(store.append([reused[0]!, clash]), 'duplicate_idempotency_key')
        const twice = sealEntry({ ...reused[1]!, idempotencyKey: reused[0]!.idempotencyKey })
        await expectJournalError(store.append([reused[0]!, twice]), 'duplicate_idempotency_key')
        expect(await readAll(store)).toEqual([first])
        await store.append(rest)
        expect((await store.head())?.sequence).toBe(3)
      }),
    )

    it(
      'JNL-003: an append whose previousHash does not link to the head is refused',
      withStore(async ({ store }) => {
        await expectJournalError(
          store.append(makeEntries(1, null, sha256Hex('not the start'))),
          'hash_chain_broken',
        )
        const entries = makeEntries(3)
        await store.append(entries.slice(0, 1))
        const unlinked = sealEntry({ ...entries[1]!, previousHash: sha256Hex('elsewhere') })
        await expectJournalError(store.append([unlinked]), 'hash_chain_broken')
        expect((await store.head())?.sequence).toBe(1)
      }),
    )

    it(
      'JNL-003: the genesis anchors entry 1; a different genesis is refused',
      withStore(async ({ store }) => {
        const genesisJson = canonicalJson({ ruleSet: { id: 'test', version: '1' } })
        const genesis = { genesisJson, genesisHash: sha256Hex(genesisJson) }
        await store.writeGenesis(genesis)
        await store.writeGenesis(genesis)
        expect(await store.readGenesis()).toEqual(genesis)
        const otherJson = canonicalJson({ ruleSet: { id: 'test', version: '2' } })
        await expectJournalError(
          store.writeGenesis({ genesisJson: otherJson, genesisHash: sha256Hex(otherJson) }),
          'genesis_mismatch',
        )
        await expectJournalError(store.append(makeEntries(1)), 'hash_chain_broken')
        const anchored = makeEntries(4, null, genesis.genesisHash)
        await store.append(anchored)
        expect(await verifyJournal(store)).toMatchObject({ sequence: 4 })
      }),
    )

    it(
      'JNL-006: snapshots store and return the latest by sequence',
      withStore(async ({ store }) => {
        const snapshot = (sequence: number) => {
          const snapshotJson = canonicalJson({ at: sequence })
          return {
            sequence,
            snapshotJson,
            snapshotHash: sha256Hex(snapshotJson),
            stateHash: sha256Hex(`s${sequence}`),
            entryHash: sha256Hex(`e${sequence}`),
          }
        }
        await store.writeSnapshot(snapshot(10))
        await store.writeSnapshot(snapshot(30))
        await store.writeSnapshot(snapshot(20))
        expect(await store.latestSnapshot()).toEqual(snapshot(30))
        await store.writeSnapshot(snapshot(30))
        expect(await store.latestSnapshot()).toEqual(snapshot(30))
      }),
    )

    it(
      'JNL-001: entries, genesis and snapshots survive closing and reopening',
      withStore(async (harness) => {
        const genesisJson = canonicalJson({ ruleSet: 'x' })
        const genesis = { genesisJson, genesisHash: sha256Hex(genesisJson) }
        await harness.store.writeGenesis(genesis)
        const entries = makeEntries(12_345, null, genesis.genesisHash)
        await harness.store.append(entries)
        const reopened = await harness.reopen()
        expect(await reopened.readGenesis()).toEqual(genesis)
        expect(await reopened.readRange(1, 20_000)).toEqual(entries)
        expect(await verifyJournal(reopened)).toMatchObject({ sequence: 12_345 })
      }),
    )

    it(
      'JNL-008: a changed row fails its entry hash, named with its sequence',
      withStore(async (harness) => {
        await harness.store.append(makeEntries(5))
        await harness.runSql(
          `UPDATE lor_journal_entries SET command_json = '{"type":"deposit","amount":"999"}' WHERE sequence = 3`,
        )
        const error = await verifyJournal(harness.store).catch((caught: unknown) => caught)
        expect(isJournalError(error, 'entry_hash_mismatch') && error.sequence).toBe(3)
      }),
    )

    it(
      'JNL-008: a row rewritten with a fresh hash breaks the chain at the next entry',
      withStore(async (harness) => {
        const entries = makeEntries(5)
        await harness.store.append(entries)
        const forged = sealEntry({ ...entries[1]!, resultJson: '{"status":"forged"}' })
        await harness.runSql(
          `UPDATE lor_journal_entries SET result_json = '{"status":"forged"}', entry_hash = '${forged.entryHash}' WHERE sequence = 2`,
        )
        const error = await verifyJournal(harness.store).catch((caught: unknown) => caught)
        expect(isJournalError(error, 'hash_chain_broken') && error.sequence).toBe(3)
      }),
    )

    it(
      'JNL-008: a row of the wrong shape is reported as corrupt, a missing row as a gap',
      withStore(async (harness) => {
        await harness.store.append(makeEntries(5))
        await harness.runSql(
          `UPDATE lor_journal_entries SET state_hash = 'not a hash' WHERE sequence = 4`,
        )
        await expectJournalError(harness.store.readRange(1, 10), 'corrupt_entry')
        await harness.runSql(`DELETE FROM lor_journal_entries WHERE sequence = 4`)
        const error = await verifyJournal(harness.store).catch((caught: unknown) => caught)
        expect(isJournalError(error, 'sequence_gap') && error.sequence).toBe(4)
        await harness.runSql(`DELETE FROM lor_journal_entries WHERE sequence = 1`)
        const first = await verifyJournal(harness.store).catch((caught: unknown) => caught)
        expect(isJournalError(first, 'sequence_gap') && first.sequence).toBe(1)
      }),
    )

    it(
      'JNL-009: a journal of an unknown schema version is refused on open',
      withStore(async (harness) => {
        await harness.runSql('UPDATE lor_schema_version SET version = 99')
        await expectJournalError(harness.store.schemaVersion(), 'unknown_schema_version')
        await expectJournalError(harness.reopen(), 'unknown_schema_version')
      }),
    )

    it(
      'JNL-002: any split of a chain into batches stores the same chain',
      withStore(async (harness) => {
        const entries = makeEntries(60)
        let appended = 0
        await fc.assert(
          fc.asyncProperty(fc.integer({ min: 1, max: 7 }), async (size) => {
            if (appended >= entries.length) return
            await harness.store.append(entries.slice(appended, appended + size))
            appended = Math.min(entries.length, appended + size)
            expect((await harness.store.head())?.sequence).toBe(appended)
          }),
          { numRuns: 40, seed: 7 },
        )
        expect(await readAll(harness.store)).toEqual(entries.slice(0, appended))
        expect(await verifyJournal(harness.store)).toMatchObject({ sequence: appended })
      }),
    )
  })
}
