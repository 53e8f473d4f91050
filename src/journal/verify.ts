/**
 * Whole-journal checks (docs/spec/journal.md, JNL-004, JNL-008): read every entry in order and
 * verify the hash chain from the genesis on.
 */
import { ZERO_HASH, type JournalEntry, type JournalHead, verifyChainSegment } from './entry.ts'
import { JournalError } from './errors.ts'
import type { JournalStore } from './store.ts'

/** Entries read per query while scanning. */
export const READ_BATCH = 10_000

/** The hash entry 1 must point at: the genesis hash, or 64 zeros for a journal without genesis. */
export async function chainStartOf(store: JournalStore): Promise<string> {
  const genesis = await store.readGenesis()
  if (genesis !== null) return genesis.genesisHash
  const first = await store.readEntry(1)
  if (first !== null && first.previousHash !== ZERO_HASH) {
    throw new JournalError(
      'genesis_missing',
      'entry 1 points at a genesis record the journal does not have',
      1,
    )
  }
  return ZERO_HASH
}

/**
 * Reads entries from `fromSequence` on in batches, verifying each batch against the chain, and
 * hands each verified batch to `visit`. Returns the last head.
 */
export async function scanVerified(
  store: JournalStore,
  from: JournalHead | null,
  visit: (entries: readonly JournalEntry[]) => void | Promise<void>,
  genesisHash?: string,
): Promise<JournalHead | null> {
  const start = genesisHash ?? (await chainStartOf(store))
  let head = from
  for (;;) {
    const entries = await store.readRange(head === null ? 1 : head.sequence + 1, READ_BATCH)
    if (entries.length === 0) break
    head = verifyChainSegment(head, entries, start)
    await visit(entries)
    if (entries.length < READ_BATCH) break
  }
  const stored = await store.head()
  if ((stored?.sequence ?? 0) !== (head?.sequence ?? 0)) {
    throw new JournalError(
      'sequence_gap',
      `the journal ends at entry ${stored?.sequence ?? 0} but the chain stops at ${head?.sequence ?? 0}`,
      head?.sequence ?? 0,
    )
  }
  return head
}

/** Verifies the whole chain (JNL-004) and returns its head; throws a `JournalError` naming the first bad entry. */
export async function verifyJournal(store: JournalStore): Promise<JournalHead | null> {
  return scanVerified(store, null, () => undefined)
}
