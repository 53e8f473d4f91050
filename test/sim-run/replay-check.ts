/**
 * Shared check of the simulator's journal tests (SIMRUN-060): each written journal replays, from
 * its first entry and verifying every state hash on the way, to the final state hash the run
 * reported, over all of its entries.
 */
import { expect } from 'vitest'
import { recoverState } from '../../src/journal/replay.ts'
import { openSqliteStore } from '../../src/journal/sqlite-store.ts'
import type { WrittenJournal } from '../../src/sim/run/journal.ts'

export async function expectJournalsReplay(journals: readonly WrittenJournal[]): Promise<void> {
  for (const journal of journals) {
    const store = openSqliteStore(journal.path)
    try {
      const recovery = await recoverState(store, { useSnapshot: false, verifyEveryStateHash: true })
      expect(recovery.stateHash).toBe(journal.stateHash)
      expect(recovery.replayedEntries).toBe(journal.entries)
    } finally {
      await store.close()
    }
  }
}
