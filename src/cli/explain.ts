/**
 * `lor explain --account ID | --event SEQ [--db PATH|URL] [--limit N] [--json]` (docs/journal.md,
 * JNL-017): the causal chain of an entry, or an account's history, in words or JSON, from what the
 * journal recorded: the triggering command and prices, equity and maintenance margin, the rule set
 * in force, fills and fund movements; for an account, every liquidation it took part in as a chain
 * from the triggering mark to the final allocation (liquidated, deleveraged or charged).
 */
import type { Command } from 'commander'
import {
  explainAccount,
  explainEntry,
  formatEntryExplanation,
  formatLiquidationChain,
} from '../journal/explain.ts'
import { inputError, withInputErrors } from './errors.ts'
import { addDatabaseOption, openJournalOption, reportJournalError } from './journal-options.ts'

interface ExplainOptions {
  readonly db?: string
  readonly account?: string
  readonly event?: string
  readonly limit?: string
  readonly json?: boolean
}

/** Registers `lor explain` on the program. */
export function registerExplainCommand(program: Command): void {
  addDatabaseOption(
    program
      .command('explain')
      .description(
        'Explain an entry of the journal, or the history of an account, from what it recorded',
      ),
  )
    .option('--account <id>', 'every entry that names this account')
    .option('--event <sequence>', 'one entry, by its sequence number')
    .option('--limit <count>', 'with --account: only the last COUNT entries')
    .option('--json', 'print JSON instead of text')
    .action(withInputErrors((options: ExplainOptions) => explain(options)))
}

function positiveInteger(flag: string, value: string): number {
  if (!/^[1-9]\d{0,15}$/.test(value))
    inputError(`${flag}: "${value}" is not a positive whole number`)
  return Number(value)
}

async function explain(options: ExplainOptions): Promise<void> {
  if ((options.account === undefined) === (options.event === undefined))
    inputError('give exactly one of --account ID or --event SEQUENCE')
  const sequence = options.event === undefined ? null : positiveInteger('--event', options.event)
  const limit = options.limit === undefined ? undefined : positiveInteger('--limit', options.limit)
  const store = await openJournalOption(options.db, true)
  try {
    if (sequence !== null) {
      const explanation = await explainEntry(store, sequence)
      if (explanation === null) inputError(`--event: the journal has no entry ${sequence}`)
      process.stdout.write(
        options.json === true
          ? `${JSON.stringify(explanation, null, 2)}\n`
          : `${formatEntryExplanation(explanation)}\n`,
      )
      return
    }
    const account = options.account ?? ''
    const history = await explainAccount(store, account, limit)
    if (options.json === true) {
      process.stdout.write(`${JSON.stringify(history, null, 2)}\n`)
      return
    }
    if (history.total === 0) {
      process.stdout.write(`no entry of the journal names account ${account}\n`)
      return
    }
    const shown =
      history.entries.length < history.total ? ` (the last ${history.entries.length})` : ''
    const body = history.entries.map(formatEntryExplanation).join('\n\n')
    const chains =
      history.liquidations.length === 0
        ? ''
        : `\n\nliquidations ${account} took part in (${history.liquidations.length}), in causal order:\n\n${history.liquidations.map(formatLiquidationChain).join('\n\n')}`
    process.stdout.write(
      `account ${account}: ${history.total} entries${shown}\n\n${body}${chains}\n`,
    )
  } catch (error) {
    if (!reportJournalError(error)) throw error
  } finally {
    await store.close()
  }
}
