/**
 * Bad input at the command line (exit code 2): one line `lor: error: <what and where>` on stderr,
 * nothing on stdout. Bugs (InvariantError) are not input errors and are never caught here.
 */
import type { Command } from 'commander'
import type { RuleIssue } from '../core/rules/parse.ts'

/** Exit code for bad input. */
export const EXIT_BAD_INPUT = 2

/** Input the command cannot use; its message says what and where. */
export class InputError extends Error {
  override readonly name = 'InputError'
}

/** Throws an `InputError` with `message`. */
export function inputError(message: string): never {
  throw new InputError(message)
}

/** One line for a list of issues: the first with its path, and how many more there are. */
export function describeIssues(issues: readonly RuleIssue[]): string {
  const first = issues[0]
  if (first === undefined) return 'invalid input'
  const head = first.path === '' ? first.message : `${first.path}: ${first.message}`
  return issues.length > 1 ? `${head} (and ${issues.length - 1} more)` : head
}

/** Writes the single error line and sets exit code 2. */
export function reportInputError(message: string): void {
  const line = message.replace(/\s*\n\s*/g, ' ').trim()
  process.stderr.write(`lor: error: ${line}\n`)
  process.exitCode = EXIT_BAD_INPUT
}

/** Wraps a command action so that an `InputError` becomes the one-line report and exit code 2. */
export function withInputErrors<Arguments extends unknown[]>(
  action: (...args: Arguments) => void | Promise<void>,
): (...args: Arguments) => Promise<void> {
  return async (...args: Arguments) => {
    try {
      await action(...args)
    } catch (error) {
      if (error instanceof InputError) reportInputError(error.message)
      else throw error
    }
  }
}

/**
 * Makes the parser's own errors (unknown option, missing value) follow the same rule: one line,
 * exit code 2. Help and version output are left as they are.
 */
export function configureInputErrors(command: Command): Command {
  return command
    .showHelpAfterError(false)
    .configureOutput({
      outputError: (text) => {
        reportInputError(text.replace(/^error:\s*/, ''))
      },
    })
    .exitOverride((error) => {
      if (error.exitCode === 0) process.exit(0)
      process.exit(EXIT_BAD_INPUT)
    })
}
