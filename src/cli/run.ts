/**
 * `lor run FILE [--json]`: runs a scenario file (docs/scenarios.md, SCN-*). Prints the event log,
 * the final state and the state hash. Exit 0 when every expectation holds, 1 when one does not
 * (with the differences listed), 2 when the file is malformed (one line naming the place).
 */
import type { Command } from 'commander'
import { formatReportText, loadScenarioFile, reportJson, runScenario } from '../scenario/index.ts'
import { inputError, withInputErrors } from './errors.ts'

/** Exit code when a scenario's expectations do not hold. */
export const EXIT_CHECK_FAILED = 1

interface RunOptions {
  readonly json?: boolean
}

/** Registers `lor run` on the program. */
export function registerRunCommand(program: Command): void {
  program
    .command('run')
    .description('Run a scenario file (YAML or JSON) and check its expected values')
    .argument('<file>', 'scenario file')
    .option('--json', 'print one JSON object with decimal strings')
    .action(withInputErrors((file: string, options: RunOptions) => runFile(file, options)))
}

function runFile(file: string, options: RunOptions): void {
  const loaded = loadScenarioFile(file)
  if (!loaded.ok) inputError(`${file}: ${loaded.issue.path}: ${loaded.issue.message}`)
  const report = runScenario(loaded.scenario, loaded.ruleSet)
  const output =
    options.json === true
      ? JSON.stringify(reportJson(file, report), null, 2)
      : formatReportText(file, loaded.scenario, report)
  process.stdout.write(`${output}\n`)
  if (report.failures.length > 0) process.exitCode = EXIT_CHECK_FAILED
}
