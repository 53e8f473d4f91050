/**
 * `lor serve [--port N] [--host H] [--db PATH|URL] [--rules PRESET] [--nats URL] [--markets A,B]
 * [--rate-limit N]`: the risk service (docs/service.md): HTTP API with API keys and roles, OpenAPI at
 * /openapi.json, the live dashboard at /dashboard, and with --nats the JetStream bridge. Runs until
 * SIGINT or SIGTERM, then flushes the journal and stops.
 */
import type { Command } from 'commander'
import { isJournalError } from '../journal/errors.ts'
import { startService, ServiceStartError } from '../service/server.ts'
import { inputError, withInputErrors } from './errors.ts'
import { addDatabaseOption } from './journal-options.ts'

interface ServeOptions {
  readonly port: string
  readonly host: string
  readonly db?: string
  readonly rules?: string
  readonly nats?: string
  readonly markets?: string
  readonly natsPrefix?: string
  readonly natsStream?: string
  readonly rateLimit: string
  readonly snapshotEvery?: string
}

/** Registers `lor serve` on the program. */
export function registerServeCommand(program: Command): void {
  addDatabaseOption(
    program
      .command('serve')
      .description(
        'Run the risk service: HTTP API, live dashboard, optional NATS JetStream streaming',
      ),
  )
    .option('--port <port>', 'port to listen on (0: any free port)', '8080')
    .option('--host <host>', 'interface to listen on', '127.0.0.1')
    .option('--rules <preset-or-file>', 'rule set of a new journal (default binance-usdm)')
    .option(
      '--nats <url>',
      'NATS server: consume lor.<market>.prices|fills, publish lor.events.<type>',
    )
    .option('--nats-prefix <token>', 'first token of the NATS subjects', 'lor')
    .option('--nats-stream <name>', 'JetStream stream holding <prefix>.>', 'LOR')
    .option('--markets <ids>', 'comma list of the markets this process owns (default: all)')
    .option(
      '--rate-limit <per-second>',
      'requests per second per key, a batch counting each command (bursts of twice that; 0: off)',
      '200',
    )
    .option('--snapshot-every <entries>', 'snapshot the engine state every N journal entries')
    .action(withInputErrors((options: ServeOptions) => serveCommand(options)))
}

function wholeNumber(flag: string, text: string, maximum: number): number {
  if (!/^\d{1,9}$/.test(text) || Number(text) > maximum)
    inputError(`${flag}: expected a whole number in 0..${maximum}, got "${text}"`)
  return Number(text)
}

async function serveCommand(options: ServeOptions): Promise<void> {
  const port = wholeNumber('--port', options.port, 65_535)
  const perSecond = wholeNumber('--rate-limit', options.rateLimit, 1_000_000)
  const markets =
    options.markets === undefined
      ? undefined
      : options.markets
          .split(',')
          .map((market) => market.trim())
          .filter((market) => market !== '')
  let running
  try {
    running = await startService({
      port,
      host: options.host,
      ...(options.db === undefined ? {} : { database: options.db }),
      ...(options.rules === undefined ? {} : { rules: options.rules }),
      ...(options.nats === undefined ? {} : { nats: options.nats }),
      ...(markets === undefined ? {} : { markets }),
      ...(options.natsPrefix === undefined ? {} : { natsSubjectPrefix: options.natsPrefix }),
      ...(options.natsStream === undefined ? {} : { natsStream: options.natsStream }),
      rateLimit: { perSecond, burst: perSecond * 2 },
      ...(options.snapshotEvery === undefined
        ? {}
        : { snapshotEvery: wholeNumber('--snapshot-every', options.snapshotEvery, 100_000_000) }),
    })
  } catch (error) {
    if (error instanceof ServiceStartError) inputError(error.message)
    if (isJournalError(error, 'invalid_database_option')) inputError(`--db: ${error.message}`)
    if (isJournalError(error)) {
      process.stderr.write(`lor: journal: ${error.message}\n`)
      process.exitCode = 1
      return
    }
    if (error instanceof Error && 'code' in error && error.code === 'EADDRINUSE')
      inputError(`--port: ${port} is already in use`)
    throw error
  }
  const service = running
  const state = service.service.engine.engineState
  process.stderr.write(
    `lor serve: listening on ${service.url} (dashboard ${service.url}/dashboard, API ${service.url}/openapi.json)\n` +
      `lor serve: journal ${service.service.store.location} (${service.service.store.backend}), ${service.service.engine.lastSequence} entries, rules ${state.rules.id} ${state.rules.version}\n`,
  )
  await new Promise<void>((resolve) => {
    let stopping = false
    const stop = (): void => {
      if (stopping) process.exit(130)
      stopping = true
      process.stderr.write('lor serve: stopping\n')
      void service.close().then(resolve)
    }
    process.once('SIGINT', stop)
    process.once('SIGTERM', stop)
  })
}
