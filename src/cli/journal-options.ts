/**
 * The `--db` option shared by the commands that use the journal (docs/journal.md): a SQLite file
 * path or a postgres:// URL; without it, LOR_DATABASE_URL, else ./lor.db.
 */
import { existsSync } from 'node:fs'
import type { Command } from 'commander'
import { isJournalError } from '../journal/errors.ts'
import { openJournal, resolveJournalLocation } from '../journal/open.ts'
import type { JournalStore } from '../journal/store.ts'
import { inputError } from './errors.ts'

/** Exit code when the journal cannot be trusted or its replay does not match. */
export const EXIT_JOURNAL_CHECK_FAILED = 1

/** Adds `--db <path-or-url>` to a command. */
export function addDatabaseOption(command: Command): Command {
  return command.option(
    '--db <path-or-url>',
    'journal: a SQLite file or a postgres:// URL (default: $LOR_DATABASE_URL, else ./lor.db)',
  )
}

/**
 * Opens the journal named by `--db` (or the environment). With `mustExist`, a SQLite file that is
 * not there is bad input rather than a new, empty journal.
 */
export async function openJournalOption(
  database: string | undefined,
  mustExist: boolean,
): Promise<JournalStore> {
  try {
    const location = resolveJournalLocation(database)
    if (mustExist && location.backend === 'sqlite' && !existsSync(location.target)) {
      inputError(`--db: no journal at ${location.target}`)
    }
    return await openJournal(database)
  } catch (error) {
    if (isJournalError(error, 'invalid_database_option')) inputError(`--db: ${error.message}`)
    throw error
  }
}

/** Reports a journal that cannot be trusted: one line with its code (and entry), exit code 1. */
export function reportJournalError(error: unknown): boolean {
  if (!isJournalError(error)) return false
  process.stderr.write(`lor: journal: ${error.message}\n`)
  process.exitCode = EXIT_JOURNAL_CHECK_FAILED
  return true
}
