/**
 * NATS JetStream bridge (docs/service.md "Streaming", docs/spec/service.md SVC-060..SVC-064).
 *
 * Ingestion: one stream (`LOR`, subjects `lor.>`) holds the inputs `lor.<market>.prices` and
 * `lor.<market>.fills`; each market this process owns has one durable pull consumer filtered on
 * `lor.<market>.*`, so prices and fills of a market are applied in stream order. A message's idempotency
 * key is its `Nats-Msg-Id` header (else `nats:<stream>:<stream sequence>`); it is acknowledged only
 * after its journal entry is durable, so a restart redelivers what was not acknowledged and the
 * journal answers a key it already holds without applying it again.
 *
 * Publishing: events of liquidation and loss allocation go to `lor.events.<event type>`, each with
 * the message id `<instance>:<sequence>:<index>` (JetStream drops a repeat within its duplicate
 * window), in journal order. A cursor in `lor_service_state` records the last entry published, and a
 * start publishes every durable entry after it, so nothing is lost across a crash.
 */
import { randomBytes } from 'node:crypto'
import {
  AckPolicy,
  DeliverPolicy,
  type JetStreamClient,
  type JsMsg,
  jetstream,
  jetstreamManager,
  type ConsumerMessages,
} from '@nats-io/jetstream'
import { connect, headers as natsHeaders } from '@nats-io/transport-node'
import type { JsonValue } from '../core/engine/canonical.ts'
import { decodeCommand } from '../journal/codec.ts'
import { readEntries } from '../journal/replay.ts'
import { ServiceError } from './errors.ts'
import type { RiskService, ServiceUpdate } from './risk-service.ts'

/** Event types published to `lor.events.<type>` (SVC-062). */
export const PUBLISHED_EVENT_TYPES: ReadonlySet<string> = new Set([
  'account_below_maintenance',
  'liquidation_order_placed',
  'liquidation_order_filled',
  'liquidation_takeover',
  'backstop_takeover',
  'adl_deleveraged',
  'insurance_fund_pool_changed',
  'socialized_loss_charged',
  'shortfall_allocated',
])

export interface NatsBridgeOptions {
  readonly service: RiskService
  readonly servers: string
  /** First subject token (default `lor`): inputs `<prefix>.<market>.prices|fills`, events `<prefix>.events.<type>`. */
  readonly subjectPrefix?: string
  /** JetStream stream holding `<prefix>.>` (default `LOR`). */
  readonly stream?: string
  readonly log?: (line: string) => void
}

/** A running bridge. */
export interface NatsBridge {
  /** Messages applied (or answered as duplicates) and acknowledged since the start. */
  readonly acknowledged: () => number
  /** Events published since the start. */
  readonly published: () => number
  close(): Promise<void>
}

const CURSOR_STATE = 'nats_published_sequence'
const INSTANCE_STATE = 'nats_instance_id'

/** A durable consumer name for a market (NATS names exclude `.`, `*`, `>` and whitespace). */
export function consumerNameOf(market: string): string {
  return `lor-serve-${market.replace(/[^A-Za-z0-9_-]/g, '_')}`
}

/** Starts ingestion and publishing (see the module note). */
export async function startNatsBridge(options: NatsBridgeOptions): Promise<NatsBridge> {
  const { service } = options
  const prefix = options.subjectPrefix ?? 'lor'
  const streamName = options.stream ?? 'LOR'
  const log = options.log ?? (() => undefined)
  const connection = await connect({ servers: options.servers, name: 'lor-serve' })
  try {
    const manager = await jetstreamManager(connection)
    try {
      await manager.streams.info(streamName)
    } catch {
      await manager.streams.add({ name: streamName, subjects: [`${prefix}.>`] })
    }
    const client = jetstream(connection)
    const keyState = service.keys
    const instance = await instanceId(keyState)
    const publisher = new EventPublisher(client, service, prefix, instance, log)
    await publisher.start()
    const markets = [...service.engine.engineState.rules.markets.keys()].filter((market) =>
      service.owns(market),
    )
    const consumers: ConsumerMessages[] = []
    const loops: Promise<void>[] = []
    let acknowledged = 0
    for (const market of markets) {
      const name = consumerNameOf(market)
      const config = {
        durable_name: name,
        ack_policy: AckPolicy.Explicit,
        deliver_policy: DeliverPolicy.All,
        // one filter (servers before 2.10 take one): prices and fills of the market, in stream order
        filter_subject: `${prefix}.${market}.*`,
        ack_wait: 30_000_000_000,
      }
      try {
        await manager.consumers.info(streamName, name)
      } catch {
        await manager.consumers.add(streamName, config)
      }
      const consumer = await client.consumers.get(streamName, name)
      const messages = await consumer.consume({ max_messages: 512 })
      consumers.push(messages)
      loops.push(
        (async () => {
          for await (const message of messages) {
            // submit without waiting: the journaled engine keeps submission order and commits in
            // groups; each message is acknowledged once its own entry is durable
            void ingest(service, prefix, market, message, streamName, log).then(
              (settled) => {
                if (settled) {
                  message.ack()
                  acknowledged += 1
                }
              },
              (error: unknown) => {
                log(
                  `lor serve: nats: ${market}: ${error instanceof Error ? error.message : String(error)}`,
                )
              },
            )
          }
        })(),
      )
    }
    log(
      `lor serve: nats: consuming ${markets.map((market) => `${prefix}.${market}.{prices,fills}`).join(', ')} from ${options.servers}`,
    )
    return {
      acknowledged: () => acknowledged,
      published: () => publisher.count,
      close: async () => {
        for (const messages of consumers) await messages.close()
        await Promise.allSettled(loops)
        await service.engine.flush().catch(() => undefined)
        await publisher.stop()
        await connection.drain().catch(() => undefined)
      },
    }
  } catch (error) {
    await connection.close().catch(() => undefined)
    throw error
  }
}

async function instanceId(keys: RiskService['keys']): Promise<string> {
  const store = keys
  const stored = await store.readState(INSTANCE_STATE)
  if (stored !== null) return stored
  const created = randomBytes(6).toString('hex')
  await store.writeState(INSTANCE_STATE, created)
  return created
}

/**
 * Applies one input message. Returns true when it may be acknowledged (applied, refused by the
 * engine and journaled, or a duplicate); a malformed message is terminated (never redelivered).
 */
async function ingest(
  service: RiskService,
  prefix: string,
  market: string,
  message: JsMsg,
  streamName: string,
  log: (line: string) => void,
): Promise<boolean> {
  const kind = message.subject.slice(prefix.length + 1 + market.length + 1)
  if (kind !== 'prices' && kind !== 'fills') {
    message.term()
    return false
  }
  const key = message.headers?.get('Nats-Msg-Id') ?? ''
  const idempotencyKey = key !== '' ? key : `nats:${streamName}:${message.seq}`
  let body: unknown
  try {
    body = message.json()
  } catch {
    log(`lor serve: nats: ${message.subject} #${message.seq}: not JSON; dropped`)
    message.term()
    return false
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    message.term()
    return false
  }
  const record = body as Record<string, unknown>
  if (record.market !== undefined && record.market !== market) {
    log(
      `lor serve: nats: ${message.subject} #${message.seq}: market does not match the subject; dropped`,
    )
    message.term()
    return false
  }
  const wire =
    kind === 'prices'
      ? { type: 'mark_price', ...record, market }
      : 'orderId' in record
        ? { type: 'liquidation_fill', ...record }
        : { type: 'trade', ...record, market }
  const decoded = decodeCommand(wire)
  if (!decoded.ok) {
    const first = decoded.issues[0]
    log(
      `lor serve: nats: ${message.subject} #${message.seq}: ${first?.path ?? ''}: ${first?.message ?? 'invalid'}; dropped`,
    )
    message.term()
    return false
  }
  try {
    await service.submit(decoded.command, idempotencyKey)
  } catch (error) {
    if (error instanceof ServiceError && error.code === 'market_not_owned') {
      message.term()
      return false
    }
    throw error
  }
  return true
}

/** Publishes events in journal order and keeps the cursor (see the module note). */
class EventPublisher {
  count = 0
  private readonly queue: { readonly sequence: number; readonly events: readonly JsonValue[] }[] =
    []
  private running: Promise<void> | null = null
  private unsubscribe: (() => void) | null = null
  private caughtUpTo = 0

  constructor(
    private readonly client: JetStreamClient,
    private readonly service: RiskService,
    private readonly prefix: string,
    private readonly instance: string,
    private readonly log: (line: string) => void,
  ) {}

  private get state(): RiskService['keys'] {
    return this.service.keys
  }

  async start(): Promise<void> {
    // subscribe first, then catch up: updates after the catch-up are kept, earlier ones skipped
    this.unsubscribe = this.service.subscribe((update: ServiceUpdate) => {
      this.queue.push({ sequence: update.sequence, events: update.outcome.events })
      this.kick()
    })
    const cursorText = await this.state.readState(CURSOR_STATE)
    const cursor = cursorText === null ? 0 : Number(cursorText)
    const head = this.service.engine.durableSequence
    for await (const entry of readEntries(this.service.store, cursor + 1)) {
      if (entry.sequence > head) break
      await this.publishEntry(entry.sequence, JSON.parse(entry.eventsJson) as JsonValue[])
    }
    this.caughtUpTo = head
    this.kick()
  }

  async stop(): Promise<void> {
    this.unsubscribe?.()
    while (this.running !== null) await this.running
  }

  private kick(): void {
    if (this.running !== null) return
    this.running = this.drain().finally(() => {
      this.running = null
      if (this.queue.length > 0) this.kick()
    })
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      const next = this.queue.shift()
      if (next === undefined || next.sequence <= this.caughtUpTo) continue
      try {
        await this.publishEntry(next.sequence, next.events)
      } catch (error) {
        this.log(
          `lor serve: nats: publishing entry ${next.sequence} failed (${error instanceof Error ? error.message : String(error)}); it is published at the next start`,
        )
        this.queue.length = 0
        return
      }
    }
  }

  private async publishEntry(sequence: number, events: readonly JsonValue[]): Promise<void> {
    let published = false
    for (const [index, event] of events.entries()) {
      if (typeof event !== 'object' || event === null || Array.isArray(event)) continue
      const type = (event as { type?: unknown }).type
      if (typeof type !== 'string' || !PUBLISHED_EVENT_TYPES.has(type)) continue
      const headers = natsHeaders()
      headers.set('Lor-Sequence', String(sequence))
      await this.client.publish(
        `${this.prefix}.events.${type}`,
        JSON.stringify({ sequence, index, event }),
        { msgID: `${this.instance}:${sequence}:${index}`, headers },
      )
      this.count += 1
      published = true
    }
    if (published || sequence % 1000 === 0)
      await this.state.writeState(CURSOR_STATE, String(sequence))
  }
}
