/**
 * Starting and stopping the risk service (docs/service.md): journal (SQLite ./lor.db by default, or
 * PostgreSQL), key table, HTTP API and dashboard on one port, and optionally the NATS JetStream
 * bridge. `startService` resolves once the port listens; `close` stops everything in order.
 */
import type { AddressInfo } from 'node:net'
import { serve, type ServerType } from '@hono/node-server'
import type { RuleSet } from '../core/rules/rule-set.ts'
import { JournaledEngine } from '../journal/journaled-engine.ts'
import { openJournal, resolveJournalLocation } from '../journal/open.ts'
import { loadRuleSet } from '../presets/index.ts'
import { createApp } from './app.ts'
import { registerDashboard } from './dashboard.ts'
import { KeyRing, MINIMUM_CHOSEN_KEY_LENGTH, openKeyStore } from './keys.ts'
import { startNatsBridge, type NatsBridge } from './nats.ts'
import { DEFAULT_RATE_LIMIT, type RateLimitOptions } from './rate-limit.ts'
import { RiskService } from './risk-service.ts'
import { Simulations } from './simulations.ts'

/** The environment variable with the admin bootstrap key. */
export const ADMIN_KEY_VARIABLE = 'LOR_ADMIN_KEY'

/** The preset a new journal starts from when none is named. */
export const DEFAULT_SERVICE_PRESET = 'binance-usdm'

export interface ServiceOptions {
  readonly port: number
  /** Interface to listen on (default 127.0.0.1). */
  readonly host?: string
  /** --db: a SQLite file or a postgres:// URL (default: LOR_DATABASE_URL, else ./lor.db). */
  readonly database?: string
  /** Rule set (preset id or file) of a new journal; ignored when the journal exists. */
  readonly rules?: string
  /** NATS server URL; no NATS when absent. */
  readonly nats?: string
  /** First subject token of the NATS subjects (default `lor`). */
  readonly natsSubjectPrefix?: string
  /** JetStream stream name (default `LOR`). */
  readonly natsStream?: string
  /** Markets this process owns; all when empty. */
  readonly markets?: readonly string[]
  readonly rateLimit?: RateLimitOptions
  /** Snapshot the engine state every N entries (default 10,000). */
  readonly snapshotEvery?: number
  readonly environment?: Readonly<Record<string, string | undefined>>
  /** Where the bootstrap key and notices are written (default stderr). */
  readonly log?: (line: string) => void
  /** The clock (default Date.now). */
  readonly now?: () => number
}

/** A running service. */
export interface RunningService {
  readonly url: string
  readonly port: number
  readonly service: RiskService
  /** The admin key created at this start (printed once), or null. */
  readonly bootstrapKey: string | null
  readonly nats: NatsBridge | null
  close(): Promise<void>
}

/** What LOR_ADMIN_KEY may hold: what fits `Authorization: Bearer <key>` (SVC-021). */
const CHOSEN_KEY_PATTERN = new RegExp(`^[\\x21-\\x7e]{${MINIMUM_CHOSEN_KEY_LENGTH},512}$`)

/** Bad start-up input (exit code 2 at the command line). */
export class ServiceStartError extends Error {
  override readonly name = 'ServiceStartError'
}

function loadStartRules(reference: string): RuleSet {
  const loaded = loadRuleSet(reference)
  if (!loaded.ok) {
    const first = loaded.issues[0]
    throw new ServiceStartError(`--rules ${reference}: ${first?.message ?? 'does not load'}`)
  }
  return loaded.ruleSet
}

/** Starts the service (see the module note). */
export async function startService(options: ServiceOptions): Promise<RunningService> {
  const environment = options.environment ?? process.env
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`))
  const now = options.now ?? Date.now
  const location = resolveJournalLocation(options.database, environment)
  const store = await openJournal(options.database, { environment, writerThread: true })
  const closers: (() => Promise<void>)[] = [() => store.close()]
  const closeAll = async (): Promise<void> => {
    for (const close of closers.reverse()) await close().catch(() => undefined)
  }
  try {
    const hasGenesis = (await store.readGenesis()) !== null
    const engine = await JournaledEngine.open({
      store,
      ...(hasGenesis ? {} : { ruleSet: loadStartRules(options.rules ?? DEFAULT_SERVICE_PRESET) }),
      ...(options.snapshotEvery === undefined ? {} : { snapshotEvery: options.snapshotEvery }),
    })
    closers.push(() => engine.close())
    const keyStore = await openKeyStore(location)
    closers.push(() => keyStore.close())
    const keys = new KeyRing(keyStore)
    for (const market of options.markets ?? [])
      if (!engine.engineState.rules.markets.has(market))
        throw new ServiceStartError(`--markets: the rule set has no market ${market}`)
    const service = await RiskService.open({
      engine,
      store,
      keys,
      ...(options.markets === undefined ? {} : { markets: options.markets }),
      now,
    })
    const bootstrapKey = await bootstrapAdmin(keys, environment[ADMIN_KEY_VARIABLE], now())
    if (bootstrapKey !== null) log(`lor serve: admin key (shown once, keep it): ${bootstrapKey}`)
    const simulations = await Simulations.open({ store: keyStore, now, log })
    closers.push(() => simulations.close())
    const app = createApp({
      service,
      simulations,
      rateLimit: options.rateLimit ?? DEFAULT_RATE_LIMIT,
    })
    registerDashboard(app, service, simulations)
    let nats: NatsBridge | null = null
    if (options.nats !== undefined) {
      nats = await startNatsBridge({
        service,
        servers: options.nats,
        log,
        ...(options.natsSubjectPrefix === undefined
          ? {}
          : { subjectPrefix: options.natsSubjectPrefix }),
        ...(options.natsStream === undefined ? {} : { stream: options.natsStream }),
      })
      const bridge = nats
      closers.push(() => bridge.close())
    }
    const server = await listen(app.fetch, options.port, options.host ?? '127.0.0.1')
    closers.push(
      () =>
        new Promise<void>((resolve) => {
          server.close(() => resolve())
          // server-sent event streams stay open: end them
          const closable = server as ServerType & { closeAllConnections?: () => void }
          closable.closeAllConnections?.()
        }),
    )
    const port = (server.address() as AddressInfo).port
    const host = options.host ?? '127.0.0.1'
    return {
      url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
      port,
      service,
      bootstrapKey,
      nats,
      close: closeAll,
    }
  } catch (error) {
    await closeAll()
    throw error
  }
}

function listen(
  fetch: (request: Request) => Response | Promise<Response>,
  port: number,
  hostname: string,
): Promise<ServerType> {
  return new Promise((resolve, reject) => {
    const server = serve({ fetch, port, hostname }, () => resolve(server))
    server.once('error', reject)
  })
}

/**
 * The admin bootstrap (SVC-021): LOR_ADMIN_KEY, when set, is made an admin key (if it is not one
 * yet); otherwise a first start with no keys creates one and returns it to print once.
 */
async function bootstrapAdmin(
  keys: KeyRing,
  fromEnvironment: string | undefined,
  nowMs: number,
): Promise<string | null> {
  if (fromEnvironment !== undefined && fromEnvironment !== '') {
    if (!CHOSEN_KEY_PATTERN.test(fromEnvironment))
      throw new ServiceStartError(
        `${ADMIN_KEY_VARIABLE} must be ${MINIMUM_CHOSEN_KEY_LENGTH} to 512 visible ASCII characters without spaces (it is sent as "Authorization: Bearer <key>")`,
      )
    const status = await keys.status(fromEnvironment)
    if (status === 'revoked')
      throw new ServiceStartError(
        `${ADMIN_KEY_VARIABLE} is a key that was revoked; set it to a new key (or unset it and use another admin key)`,
      )
    if (status === 'mismatch')
      throw new ServiceStartError(
        `${ADMIN_KEY_VARIABLE} has the id of a stored key but not its secret; set it to a new key`,
      )
    if (status === 'unknown')
      await keys.create({ name: 'admin', role: 'admin', nowMs, key: fromEnvironment })
    return null
  }
  if (!(await keys.isEmpty())) return null
  const created = await keys.create({ name: 'admin', role: 'admin', nowMs })
  return created.key
}
