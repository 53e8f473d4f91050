/**
 * `lor run FILE [--json] [--db PATH|URL | --journal]`: runs a scenario file (docs/scenarios.md,
 * SCN-*). Prints the event log, the final state and the state hash. Exit 0 when every expectation
 * holds, 1 when one does not (with the differences listed), 2 when the file is malformed (one line
 * naming the place). With `--db` or `--journal` every command is also written to a new journal
 * (SCN-030), so that `lor replay` and `lor explain` work on the run.
 */
import type { Command } from 'commander'
import type { Command as EngineCommand } from '../core/engine/index.ts'
import { JournaledEngine } from '../journal/journaled-engine.ts'
import type { JournalStore } from '../journal/store.ts'
import type { RuleSet } from '../core/rules/rule-set.ts'
import {
  formatReportText,
  loadScenarioFile,
  reportJson,
  runScenario,
  type ScenarioReport,
  seedCommandsIssue,
  type StepReport,
} from '../scenario/index.ts'
import { inputError, withInputErrors } from './errors.ts'
import { openJournalOption, reportJournalError } from './journal-options.ts'

/** Exit code when a scenario's expectations do not hold. */
export const EXIT_CHECK_FAILED = 1

interface RunOptions {
  readonly json?: boolean
  readonly db?: string
  readonly journal?: boolean
}

/** Registers `lor run` on the program. */
export function registerRunCommand(program: Command): void {
  program
    .command('run')
    .description('Run a scenario file (YAML or JSON) and check its expected values')
    .argument('<file>', 'scenario file')
    .option('--json', 'print one JSON object with decimal strings')
    .option(
      '--db <path-or-url>',
      'also write every command to a new journal: a SQLite file or a postgres:// URL',
    )
    .option(
      '--journal',
      'also write every command to a new journal at $LOR_DATABASE_URL, else ./lor.db',
    )
    .action(withInputErrors((file: string, options: RunOptions) => runFile(file, options)))
}

/** What the journal of a run holds. */
interface JournalSummary {
  readonly location: string
  readonly backend: string
  readonly entries: number
  readonly stateHash: string
}

interface RecordedCommand {
  readonly step: StepReport
  readonly command: EngineCommand
}

async function runFile(file: string, options: RunOptions): Promise<void> {
  const loaded = loadScenarioFile(file)
  if (!loaded.ok) inputError(`${file}: ${loaded.issue.path}: ${loaded.issue.message}`)
  const journaled = options.db !== undefined || options.journal === true
  if (!journaled) {
    print(file, loaded, runScenario(loaded.scenario, loaded.ruleSet), options, null)
    return
  }
  const issue = seedCommandsIssue(loaded.scenario)
  if (issue !== null) inputError(`${file}: ${issue.path}: ${issue.message}`)
  const store = await openJournalOption(options.db, false)
  try {
    if ((await store.readGenesis()) !== null || (await store.head()) !== null)
      inputError(`--db: ${store.location} already holds a journal; lor run writes a new one`)
    const recorded: RecordedCommand[] = []
    const report = runScenario(loaded.scenario, loaded.ruleSet, {
      seed: 'commands',
      onCommand: (step, command) => recorded.push({ step, command }),
    })
    const summary = await writeJournal(store, loaded.ruleSet, recorded, report)
    if (summary === null) return
    print(file, loaded, report, options, summary)
  } catch (error) {
    if (!reportJournalError(error)) throw error
  } finally {
    await store.close()
  }
}

/**
 * Submits the run's commands, in order, to a journaled engine on `store` and checks that each
 * result and the final state hash are the run's. `null` (with the reason on stderr, exit 1) when
 * they are not.
 */
async function writeJournal(
  store: JournalStore,
  ruleSet: RuleSet,
  recorded: readonly RecordedCommand[],
  report: ScenarioReport,
): Promise<JournalSummary | null> {
  const engine = await JournaledEngine.open({ store, ruleSet })
  const outcomes = await Promise.all(
    recorded.map(({ step, command }, index) => {
      if (command.type === 'rules_change')
        inputError(`${step.path}: a rule change cannot be journaled by lor run`)
      return engine.submit(command, {
        idempotencyKey: `lor-run:${index + 1}:${step.path}`,
        timestampMs: step.timestampMs,
      })
    }),
  )
  await engine.flush()
  const failures: string[] = []
  outcomes.forEach((outcome, index) => {
    const step = recorded[index]?.step
    if (step === undefined) return
    if (outcome.sequence === null)
      failures.push(`${step.path}: the journal refused the command (${outcome.result.status})`)
    else if (outcome.result.status !== step.result.status)
      failures.push(
        `${step.path}: the journal's result ${outcome.result.status} differs from the run's ${step.result.status}`,
      )
  })
  const stateHash = `sha256:${engine.stateHash()}`
  if (failures.length === 0 && stateHash !== report.stateHash)
    failures.push(
      `the journal's state hash ${stateHash} differs from the run's ${report.stateHash}`,
    )
  if (failures.length > 0) {
    for (const failure of failures) process.stderr.write(`lor: journal: ${failure}\n`)
    process.exitCode = EXIT_CHECK_FAILED
    return null
  }
  return {
    location: store.location,
    backend: store.backend,
    entries: engine.lastSequence,
    stateHash,
  }
}

function print(
  file: string,
  loaded: Extract<ReturnType<typeof loadScenarioFile>, { ok: true }>,
  report: ScenarioReport,
  options: RunOptions,
  journal: JournalSummary | null,
): void {
  let output: string
  if (options.json === true) {
    const value = reportJson(file, report) as Record<string, unknown>
    output = JSON.stringify(journal === null ? value : { ...value, journal }, null, 2)
  } else {
    output = formatReportText(file, loaded.scenario, report)
    if (journal !== null)
      output += `\nJournal ${journal.location} (${journal.backend}): ${journal.entries} entries, state hash ${journal.stateHash}`
  }
  process.stdout.write(`${output}\n`)
  if (report.failures.length > 0) process.exitCode = EXIT_CHECK_FAILED
}
