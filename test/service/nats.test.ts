/**
 * NATS JetStream streaming against the real local server (docs/spec/service.md, SVC-060..SVC-064):
 * prices and fills published to lor.<market>.prices|fills are applied once, events of liquidation go
 * to lor.events.<type>, and a service killed with SIGKILL mid-stream, restarted, and even made to
 * re-read the whole stream, applies nothing twice. Skipped with the reason when the server cannot be
 * reached, unless LOR_REQUIRE_SERVICES=1 (then it fails).
 */
/* eslint-disable @typescript-eslint/no-explicit-any, @typescript-eslint/no-unsafe-return -- JSON answers read loosely */
import { type ChildProcess, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream'
import { connect, headers, type NatsConnection } from '@nats-io/transport-node'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { consumerNameOf } from '../../src/service/nats.ts'
import { ADMIN_KEY } from './harness.ts'

const NATS_URL = process.env.LOR_TEST_NATS_URL ?? 'nats://127.0.0.1:4222'
const REQUIRED = process.env.LOR_REQUIRE_SERVICES === '1'

async function probe(): Promise<string | null> {
  try {
    const connection = await connect({ servers: NATS_URL, timeout: 2000, reconnect: false })
    try {
      await jetstreamManager(connection)
    } finally {
      await connection.close()
    }
    return null
  } catch (error) {
    return error instanceof Error ? error.message : String(error)
  }
}
const unreachable = await probe()

const suite = unreachable === null || REQUIRED ? describe : describe.skip
const title =
  unreachable === null
    ? 'lor serve --nats (JetStream)'
    : `lor serve --nats (skipped: NATS unreachable at ${NATS_URL}: ${unreachable})`

interface Child {
  readonly process: ChildProcess
  readonly url: string
}

suite(title, () => {
  if (unreachable !== null) {
    it(`needs NATS at ${NATS_URL} (LOR_REQUIRE_SERVICES=1)`, () => {
      expect(unreachable).toBeNull()
    })
    return
  }
  const token = randomBytes(4).toString('hex')
  const prefix = `lortest${token}`
  const stream = `LORTEST_${token}`
  const directory = mkdtempSync(join(tmpdir(), 'lor-nats-'))
  const database = join(directory, 'lor.db')
  let connection: NatsConnection
  const children: ChildProcess[] = []

  function startChild(): Promise<Child> {
    const child = spawn(
      process.execPath,
      [
        'bin/lor.js',
        'serve',
        '--port',
        '0',
        '--db',
        database,
        '--nats',
        NATS_URL,
        '--nats-prefix',
        prefix,
        '--nats-stream',
        stream,
        '--markets',
        'BTCUSDT',
        '--rate-limit',
        '0',
      ],
      { env: { ...process.env, LOR_ADMIN_KEY: ADMIN_KEY }, stdio: ['ignore', 'ignore', 'pipe'] },
    )
    children.push(child)
    return new Promise((resolve, reject) => {
      let output = ''
      child.stderr?.on('data', (chunk: Buffer) => {
        output += chunk.toString()
        const match = /listening on (http:\/\/\S+) /.exec(output)
        if (match?.[1] !== undefined) resolve({ process: child, url: match[1] })
      })
      child.once('exit', (code) =>
        reject(new Error(`lor serve exited (${String(code)}): ${output}`)),
      )
    })
  }

  async function stopChild(child: Child, signal: NodeJS.Signals): Promise<void> {
    const exited = new Promise((resolve) => child.process.once('exit', resolve))
    child.process.kill(signal)
    await exited
  }

  async function api(
    child: Child,
    method: string,
    path: string,
    body?: unknown,
  ): Promise<Record<string, any>> {
    const response = await fetch(`${child.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    })
    return (await response.json()) as Record<string, any>
  }

  /** Polls /health until the journal holds `sequence` entries (then checks it stays there). */
  async function waitForSequence(child: Child, sequence: number): Promise<void> {
    await expect
      .poll(async () => (await api(child, 'GET', '/health')).durableSequence, {
        timeout: 30_000,
        interval: 100,
      })
      .toBe(sequence)
  }

  async function publish(subject: string, body: unknown, messageId: string): Promise<void> {
    const js = jetstream(connection)
    const header = headers()
    header.set('Nats-Msg-Id', messageId)
    await js.publish(`${prefix}.${subject}`, JSON.stringify(body), {
      headers: header,
      msgID: messageId,
    })
  }

  beforeAll(async () => {
    connection = await connect({ servers: NATS_URL })
  })
  afterAll(async () => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL')
    const manager = await jetstreamManager(connection)
    await manager.streams.delete(stream).catch(() => undefined)
    await connection.close()
    rmSync(directory, { recursive: true, force: true })
  })

  it('SVC-060..SVC-064: applies each message once across SIGKILL, restart and a full redelivery', async () => {
    let child = await startChild()
    expect(
      (
        await api(child, 'POST', '/v1/deposits', {
          account: 'alice',
          asset: 'USDT',
          amount: '100000',
        })
      ).sequence,
    ).toBe(1)
    expect(
      (await api(child, 'POST', '/v1/deposits', { account: 'carol', asset: 'USDT', amount: '700' }))
        .sequence,
    ).toBe(2)
    await publish('BTCUSDT.prices', { mark: '60000' }, 'price-0')
    // 150 fills of 0.001 for alice, published as fast as possible, and a kill in the middle
    const fills = Array.from({ length: 150 }, (_, index) =>
      publish(
        'BTCUSDT.fills',
        { account: 'alice', size: '0.001', price: '60000', liquidity: 'taker' },
        `fill-${index}`,
      ),
    )
    await Promise.all(fills.slice(0, 60))
    await stopChild(child, 'SIGKILL')
    await Promise.all(fills.slice(60))

    child = await startChild()
    await waitForSequence(child, 2 + 1 + 150)
    expect((await api(child, 'GET', '/v1/accounts/alice')).positions[0]).toMatchObject({
      market: 'BTCUSDT',
      size: '0.15',
    })

    // carol goes long 1 BTC on 700 USDT; a drop to 59,500 puts her below maintenance → liquidation events
    await publish(
      'BTCUSDT.fills',
      { account: 'carol', size: '1', price: '60000', liquidity: 'maker' },
      'fill-carol',
    )
    await publish('BTCUSDT.prices', { mark: '59500', index: '59510' }, 'price-1')
    await waitForSequence(child, 155)
    // a message that does not decode is dropped, not applied
    await publish('BTCUSDT.fills', { account: 'carol', size: 'lots', price: '1' }, 'bad-fill')

    // forget the consumer: the next start re-reads the whole stream; the journal answers every key
    await stopChild(child, 'SIGTERM')
    const manager = await jetstreamManager(connection)
    await manager.consumers.delete(stream, consumerNameOf('BTCUSDT'))
    child = await startChild()
    await publish('BTCUSDT.prices', { mark: '59600' }, 'price-2')
    await waitForSequence(child, 156)
    expect((await api(child, 'GET', '/v1/accounts/alice')).positions[0].size).toBe('0.15')
    const explained = await api(child, 'GET', '/v1/journal/entries/155/explain')
    expect(explained.command).toMatchObject({ type: 'mark_price', mark: '59500' })

    // events reached <prefix>.events.<type>, each (entry, index) once
    await expect
      .poll(
        async () =>
          (await manager.streams.info(stream, { subjects_filter: `${prefix}.events.>` })).state
            .subjects?.[`${prefix}.events.liquidation_order_placed`] ?? 0,
        { timeout: 10_000 },
      )
      .toBeGreaterThan(0)
    const js = jetstream(connection)
    await manager.consumers.add(stream, {
      durable_name: 'test-events-reader',
      filter_subject: `${prefix}.events.>`,
      deliver_policy: DeliverPolicy.All,
      ack_policy: AckPolicy.None,
    })
    const consumer = await js.consumers.get(stream, 'test-events-reader')
    const seen = new Map<string, number>()
    const types = new Set<string>()
    const info = await manager.streams.info(stream, { subjects_filter: `${prefix}.events.>` })
    const total = Object.values(info.state.subjects ?? {}).reduce((sum, count) => sum + count, 0)
    const batch = await consumer.fetch({ max_messages: total, expires: 5000 })
    for await (const message of batch) {
      const body = message.json<{ sequence: number; index: number; event: { type: string } }>()
      const id = `${body.sequence}:${body.index}`
      seen.set(id, (seen.get(id) ?? 0) + 1)
      types.add(body.event.type)
      if (seen.size + [...seen.values()].reduce((sum, count) => sum + count - 1, 0) >= total) break
    }
    expect(types).toContain('liquidation_order_placed')
    expect(types).toContain('account_below_maintenance')
    expect([...seen.values()].every((count) => count === 1)).toBe(true)
    await stopChild(child, 'SIGTERM')
  })
})
