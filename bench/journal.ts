/**
 * Journal benchmark (docs/journal.md, "Speed"). `benchJournal()` measures, on SQLite in a temporary
 * directory:
 * - append: sealed entries (two events each) in batched transactions, `synchronous=FULL` and `NORMAL`;
 * - scan: reading the journal back and verifying the hash chain (the journal's share of replay);
 * - replay: `recoverState` re-executing a recorded workload on the engine from the genesis;
 * - submit: the journaled engine end to end (execute, state hash, append, acknowledge).
 * Run alone: node --import tsx bench/journal.ts [--quick]
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { canonicalJson, sha256Hex } from '../src/journal/canonical.ts'
import { type JournalEntry, sealEntry, ZERO_HASH } from '../src/journal/entry.ts'
import { JournaledEngine } from '../src/journal/journaled-engine.ts'
import { recoverState } from '../src/journal/replay.ts'
import { openSqliteStore, type SqliteSynchronous } from '../src/journal/sqlite-store.ts'
import { verifyJournal } from '../src/journal/verify.ts'
import { smallRuleSet } from '../test/journal/small-rules.ts'
import { takeWorkload } from '../test/journal/workload.ts'

/** One line of the journal benchmark. */
export interface JournalBenchRow {
  readonly measure: string
  readonly result: string
  readonly note: string
}

const EVENTS_PER_ENTRY = 2
const BATCH = 1000

function syntheticEntries(count: number): JournalEntry[] {
  const entries: JournalEntry[] = []
  let previousHash = ZERO_HASH
  for (let sequence = 1; sequence <= count; sequence += 1) {
    const account = `acct-${sequence % 1000}`
    const entry = sealEntry({
      sequence,
      timestampMs: 1_700_000_000_000 + sequence,
      idempotencyKey: `bench-${sequence}`,
      commandJson: canonicalJson({
        type: 'trade',
        account,
        market: 'BTCUSDT',
        size: '0.125',
        price: '30000.5',
        liquidity: 'taker',
      }),
      resultJson: '{"status":"ok"}',
      eventsJson: canonicalJson(
        Array.from({ length: EVENTS_PER_ENTRY }, (_, side) => ({
          type: 'fill_applied',
          account: side === 0 ? account : '@book',
          market: 'BTCUSDT',
          size: side === 0 ? '0.125' : '-0.125',
          price: '30000.5',
          fee: '1.5000250',
          realizedPnl: '0',
          positionSize: '0.125',
        })),
      ),
      stateHash: sha256Hex(`state ${sequence}`),
      previousHash,
    })
    entries.push(entry)
    previousHash = entry.entryHash
  }
  return entries
}

function perSecond(count: number, startNs: bigint): number {
  return count / (Number(process.hrtime.bigint() - startNs) / 1e9)
}

const rate = (value: number, unit: string) =>
  `${Math.round(value).toLocaleString('en-US')} ${unit}/s`

async function appendRate(
  directory: string,
  entries: readonly JournalEntry[],
  synchronous: SqliteSynchronous,
): Promise<{ entriesPerSecond: number; path: string }> {
  const path = join(directory, `append-${synchronous}.db`)
  const store = openSqliteStore(path, { synchronous })
  const start = process.hrtime.bigint()
  for (let index = 0; index < entries.length; index += BATCH)
    await store.append(entries.slice(index, index + BATCH))
  const entriesPerSecond = perSecond(entries.length, start)
  await store.close()
  return { entriesPerSecond, path }
}

/** Runs the journal benchmark; `quick` uses smaller sizes. */
export async function benchJournal(
  options: { readonly quick?: boolean } = {},
): Promise<JournalBenchRow[]> {
  const quick = options.quick === true
  const entryCount = quick ? 50_000 : 200_000
  const commandCount = quick ? 2_000 : 10_000
  const directory = mkdtempSync(join(tmpdir(), 'lor-bench-journal-'))
  const rows: JournalBenchRow[] = []
  try {
    let start = process.hrtime.bigint()
    const entries = syntheticEntries(entryCount)
    const sealRate = perSecond(entryCount, start)
    rows.push({
      measure: 'journal: seal entries (canonical JSON + SHA-256)',
      result: rate(sealRate, 'entries'),
      note: `${entryCount} entries`,
    })

    for (const synchronous of ['full', 'normal'] as const) {
      const { entriesPerSecond } = await appendRate(directory, entries, synchronous)
      rows.push({
        measure: `journal: SQLite append, ${BATCH}-entry transactions, synchronous=${synchronous.toUpperCase()}`,
        result: rate(entriesPerSecond * EVENTS_PER_ENTRY, 'events'),
        note: `${rate(entriesPerSecond, 'entries')}, ${EVENTS_PER_ENTRY} events per entry`,
      })
    }

    const store = openSqliteStore(join(directory, 'append-full.db'))
    start = process.hrtime.bigint()
    await verifyJournal(store)
    const scanRate = perSecond(entryCount, start)
    await store.close()
    rows.push({
      measure: 'journal: read back and verify the hash chain',
      result: rate(scanRate * EVENTS_PER_ENTRY, 'events'),
      note: rate(scanRate, 'entries'),
    })

    const ruleSet = smallRuleSet()
    const enginePath = join(directory, 'engine.db')
    const engine = await JournaledEngine.open({
      store: openSqliteStore(enginePath),
      ruleSet,
      snapshotEvery: 0,
    })
    const commands = takeWorkload(7, commandCount, { accounts: 50 })
    start = process.hrtime.bigint()
    const outcomes = await Promise.all(commands.map((item) => engine.submit(item.command, item)))
    const submitRate = perSecond(commandCount, start)
    const eventCount = outcomes.reduce((total, outcome) => total + outcome.events.length, 0)
    await engine.close()
    rows.push({
      measure: 'journal: journaled engine submit (execute, state hash, durable append)',
      result: rate(submitRate, 'commands'),
      note: `${rate((submitRate * eventCount) / commandCount, 'events')}; bounded by execute and the per-entry state hash`,
    })

    const replayStore = openSqliteStore(enginePath)
    start = process.hrtime.bigint()
    const recovery = await recoverState(replayStore, { useSnapshot: false })
    const replayRate = perSecond(recovery.replayedEntries, start)
    await replayStore.close()
    rows.push({
      measure: 'journal: replay from the genesis (verify chain, re-execute, compare events)',
      result: rate(replayRate, 'commands'),
      note: `${rate((replayRate * eventCount) / commandCount, 'events')}; bounded by the engine's execute`,
    })
  } finally {
    rmSync(directory, { recursive: true, force: true })
  }
  return rows
}

if (import.meta.url === `file://${process.argv[1] ?? ''}`) {
  const rows = await benchJournal({ quick: process.argv.includes('--quick') })
  for (const row of rows)
    process.stdout.write(`${row.measure.padEnd(82)} ${row.result.padStart(22)}  ${row.note}\n`)
}
