/**
 * `lor replay [--db PATH|URL] [--from-snapshot] [--json]` (docs/journal.md, JNL-007): rebuilds the
 * engine state from the journal, verifying the hash chain and re-executing every command, prints
 * the state hash and whether it equals the one the journal recorded. Exit 0 when it does, 1 when
 * it does not or the journal cannot be trusted (the first bad entry is named), 2 on bad input.
 */
import type { Command } from 'commander'
import { recoverState } from '../journal/replay.ts'
import { withInputErrors } from './errors.ts'
import {
  addDatabaseOption,
  EXIT_JOURNAL_CHECK_FAILED,
  openJournalOption,
  reportJournalError,
} from './journal-options.ts'

interface ReplayOptions {
  readonly db?: string
  readonly fromSnapshot?: boolean
  readonly json?: boolean
}

/** Registers `lor replay` on the program. */
export function registerReplayCommand(program: Command): void {
  addDatabaseOption(
    program
      .command('replay')
      .description(
        'Rebuild the state from the journal, verify the hash chain and compare the state hash',
      ),
  )
    .option('--from-snapshot', 'start from the latest snapshot instead of the first entry')
    .option('--json', 'print one JSON object')
    .action(withInputErrors((options: ReplayOptions) => replay(options)))
}

async function replay(options: ReplayOptions): Promise<void> {
  const store = await openJournalOption(options.db, true)
  try {
    const useSnapshot = options.fromSnapshot === true
    const recovery = await recoverState(store, {
      useSnapshot,
      verifyOutputs: true,
      verifyFullChain: true,
    })
    const matches =
      recovery.recordedStateHash === null || recovery.recordedStateHash === recovery.stateHash
    const report = {
      journal: store.location,
      backend: store.backend,
      schemaVersion: await store.schemaVersion(),
      entries: recovery.head?.sequence ?? 0,
      chainVerified: true,
      replayedEntries: recovery.replayedEntries,
      fromSnapshot: recovery.snapshotSequence,
      snapshotRejected: recovery.snapshotRejected,
      rules: { id: recovery.state.rules.id, version: recovery.state.rules.version },
      stateHash: recovery.stateHash,
      recordedStateHash: recovery.recordedStateHash,
      matches,
    }
    if (options.json === true) {
      process.stdout.write(`${JSON.stringify(report, null, 2)}\n`)
    } else {
      const start =
        recovery.snapshotSequence === null
          ? 'the genesis'
          : `the snapshot at entry ${recovery.snapshotSequence}`
      const lines = [
        `journal         ${report.journal} (${report.backend}, schema ${report.schemaVersion})`,
        `entries         ${report.entries}, hash chain verified`,
        `replayed        ${report.replayedEntries} entries from ${start}; every result and event matched the journal`,
        ...(recovery.snapshotRejected === null
          ? []
          : [`snapshot        set aside: ${recovery.snapshotRejected}`]),
        `rules now       ${report.rules.id} ${report.rules.version}`,
        `state hash      ${report.stateHash}`,
        `recorded hash   ${report.recordedStateHash ?? '(empty journal)'}`,
        `result          ${matches ? 'the replayed state equals the recorded one' : 'MISMATCH: the replayed state differs from the recorded one'}`,
      ]
      process.stdout.write(`${lines.join('\n')}\n`)
    }
    if (!matches) process.exitCode = EXIT_JOURNAL_CHECK_FAILED
  } catch (error) {
    if (!reportJournalError(error)) throw error
  } finally {
    await store.close()
  }
}
