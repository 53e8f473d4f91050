/**
 * The `lor` command line. Each subcommand lives in its own module and registers itself here.
 * Exit codes: 0 success, 1 a check did not hold (e.g. a scenario's expected values), 2 bad input.
 */
import { Command } from 'commander'
import { registerMarginCommand } from './margin.ts'
import { registerMarginHistoryCommand } from './margin-history.ts'
import { registerRunCommand } from './run.ts'
import { registerSimulateCommand } from './simulate.ts'
import { registerPortfolioCommand } from './portfolio.ts'
import { registerRulesCommand } from './rules.ts'
import { registerExplainCommand } from './explain.ts'
import { registerReplayCommand } from './replay.ts'
import { registerServeCommand } from './serve.ts'

const program = new Command()
program
  .name('lor')
  .description(
    'Loss offset rules: exact margin, liquidation and loss allocation of derivatives venues',
  )
  .version('0.1.0')
  .showHelpAfterError()

registerMarginCommand(program)
registerMarginHistoryCommand(program)
registerRunCommand(program)
registerSimulateCommand(program)
registerPortfolioCommand(program)
registerRulesCommand(program)
registerReplayCommand(program)
registerExplainCommand(program)
registerServeCommand(program)

await program.parseAsync(process.argv)
