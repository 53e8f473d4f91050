/**
 * Command batches (docs/spec/service.md, SVC-046): `POST /v1/commands/batch` journals its commands
 * in order, answers each on its own, lets no bad command apply anything, counts every command
 * against the key's rate limit and is described in the OpenAPI document.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { recoverState } from '../../src/journal/replay.ts'
import { openSqliteStore } from '../../src/journal/sqlite-store.ts'
import { type Harness, seedAccounts, startHarness } from './harness.ts'

interface ItemResult {
  readonly status: number
  readonly sequence: number | null
  readonly duplicate?: boolean
  readonly result?: { readonly status: string }
  readonly events?: readonly Record<string, unknown>[]
  readonly error?: {
    readonly code: string
    readonly message: string
    readonly issues?: readonly { code: string; path: string; message: string }[]
  }
}

const fill = (account: string, size: string) => ({
  type: 'trade',
  account,
  market: 'BTCUSDT',
  size,
  price: '60000',
  liquidity: 'taker',
})

describe('SVC-046: command batches', () => {
  let harness: Harness
  const health = async () =>
    (await harness.request('GET', '/health')).body as { sequence: number; durableSequence: number }
  const batch = (commands: readonly unknown[], key?: string) =>
    harness.request('POST', '/v1/commands/batch', {
      body: { commands },
      ...(key === undefined ? {} : { key }),
    })

  beforeAll(async () => {
    harness = await startHarness()
    await seedAccounts(harness)
  })
  afterAll(async () => {
    await harness.close()
  })

  it('journals the commands in order, each answered on its own after the batch is durable', async () => {
    const before = await health()
    const answer = await batch([
      {
        idempotencyKey: 'b1-price',
        command: { type: 'mark_price', market: 'BTCUSDT', mark: '60100' },
      },
      { idempotencyKey: 'b1-fill', command: fill('alice', '0.01') },
      { command: { type: 'deposit', account: 'carol', asset: 'USDT', amount: '500' } },
    ])
    expect(answer.status).toBe(200)
    const { results } = answer.body as { results: ItemResult[] }
    expect(results.map((result) => result.status)).toEqual([200, 200, 200])
    expect(results.map((result) => result.sequence)).toEqual([
      before.sequence + 1,
      before.sequence + 2,
      before.sequence + 3,
    ])
    expect(results[1]?.events?.[0]).toMatchObject({
      type: 'fill_applied',
      account: 'alice',
      size: '0.01',
    })
    // answered only once committed: the journal file, read by another connection, holds them
    expect((await health()).durableSequence).toBeGreaterThanOrEqual(before.sequence + 3)
    const store = openSqliteStore(harness.database)
    try {
      const last = await store.readEntry(before.sequence + 2)
      expect(last?.idempotencyKey).toBe('b1-fill')
      expect(JSON.parse(last?.commandJson ?? '{}')).toMatchObject({ type: 'trade', size: '0.01' })
    } finally {
      await store.close()
    }
    const carol = await harness.request('GET', '/v1/accounts/carol')
    expect(carol.body).toMatchObject({ balances: { USDT: '500' } })
  })

  it('a bad command fails alone: named field, engine refusal, key conflict and role each answered in place', async () => {
    const before = await health()
    const answer = await batch([
      { idempotencyKey: 'b2-ok-1', command: fill('bob', '-0.01') },
      { idempotencyKey: 'b2-bad-size', command: { ...fill('bob', 'lots'), size: 'lots' } },
      {
        idempotencyKey: 'b2-broke',
        command: { type: 'withdraw', account: 'alice', asset: 'USDT', amount: '99999999' },
      },
      { idempotencyKey: 'b1-fill', command: fill('alice', '0.02') },
      {
        idempotencyKey: 'b2-author',
        command: {
          type: 'rules_change',
          ruleSet: {},
          author: 'someone-else',
          effectiveTimeMs: 0,
        },
      },
      { idempotencyKey: 'b2-ok-2', command: fill('bob', '-0.01') },
    ])
    expect(answer.status).toBe(200)
    const results = (answer.body as { results: ItemResult[] }).results
    expect(results.map((result) => result.status)).toEqual([200, 400, 422, 409, 400, 200])
    expect(results[1]?.sequence).toBeNull()
    expect(results[1]?.error?.code).toBe('invalid_request')
    expect(results[1]?.error?.issues?.map((issue) => issue.path)).toEqual([
      'commands.1.command.size',
    ])
    // an engine refusal is journaled with its code, like a single command (SVC-042)
    expect(results[2]?.error?.code).toBe('insufficient_balance')
    expect(results[2]?.sequence).toBe(before.sequence + 2)
    expect(results[3]?.error?.code).toBe('idempotency_key_conflict')
    expect(results[3]?.sequence).toBeNull()
    expect(results[4]?.error?.issues?.[0]?.path).toBe('commands.4.command.author')
    // only the two good fills and the refusal were journaled, in order
    expect(results[5]?.sequence).toBe(before.sequence + 3)
    expect((await health()).durableSequence).toBe(before.sequence + 3)
  })

  it('rule changes in a batch need an admin key; an operator may batch other commands', async () => {
    const answer = await batch(
      [
        { command: { type: 'mark_price', market: 'BTCUSDT', mark: '60050' } },
        {
          command: {
            type: 'rules_change',
            ruleSet: {},
            author: 'operator-key',
            effectiveTimeMs: 0,
          },
        },
      ],
      harness.keys.operator,
    )
    expect(answer.status).toBe(200)
    const results = (answer.body as { results: ItemResult[] }).results
    expect(results.map((result) => result.status)).toEqual([200, 403])
    expect(results[1]?.error?.code).toBe('forbidden')
    for (const role of ['viewer', 'trader'] as const) {
      const refused = await batch([{ command: fill('alice', '0.01') }], harness.keys[role])
      expect(refused.status).toBe(403)
      expect(refused.body).toMatchObject({ error: { code: 'forbidden' } })
    }
  })

  it('a retried batch answers the recorded outcomes and applies nothing twice', async () => {
    const commands = [
      { idempotencyKey: 'b4-1', command: fill('alice', '0.003') },
      { idempotencyKey: 'b4-2', command: fill('bob', '-0.003') },
    ]
    const first = (await batch(commands)).body as { results: ItemResult[] }
    const after = await health()
    const again = await batch(commands)
    expect(again.status).toBe(200)
    const second = (again.body as { results: ItemResult[] }).results
    expect(second.map((result) => result.duplicate)).toEqual([true, true])
    expect(second.map((result) => result.sequence)).toEqual(
      first.results.map((result) => result.sequence),
    )
    expect(second.map((result) => result.events)).toEqual(
      first.results.map((result) => result.events),
    )
    expect(await health()).toEqual(after)
    // the same key twice in one batch: the second is the first's outcome
    const twice = (await batch([commands[0], commands[0]])).body as { results: ItemResult[] }
    expect(twice.results.map((result) => result.sequence)).toEqual([
      first.results[0]?.sequence,
      first.results[0]?.sequence,
    ])
  })

  it('a malformed batch is refused whole with the field named, and nothing is journaled', async () => {
    const before = await health()
    const cases: [unknown, string][] = [
      [{}, 'commands'],
      [{ commands: [] }, 'commands'],
      [{ commands: [{ command: fill('alice', '0.01'), extra: 1 }] }, 'commands.0'],
      [
        { commands: [{ idempotencyKey: '', command: fill('alice', '0.01') }] },
        'commands.0.idempotencyKey',
      ],
      [{ commands: [{ command: { market: 'BTCUSDT' } }] }, 'commands.0.command.type'],
      [
        { commands: Array.from({ length: 1001 }, () => ({ command: fill('alice', '0.01') })) },
        'commands',
      ],
    ]
    for (const [body, path] of cases) {
      const answer = await harness.request('POST', '/v1/commands/batch', { body })
      expect(answer.status, JSON.stringify(body).slice(0, 80)).toBe(400)
      const error = (answer.body as { error: { code: string; issues: { path: string }[] } }).error
      expect(error.code).toBe('invalid_request')
      expect(error.issues.map((issue) => issue.path)).toContain(path)
    }
    const withHeader = await harness.request('POST', '/v1/commands/batch', {
      body: { commands: [{ command: fill('alice', '0.01') }] },
      headers: { 'idempotency-key': 'whole-batch' },
    })
    expect(withHeader.status).toBe(400)
    expect(withHeader.body).toMatchObject({
      error: { issues: [{ code: 'idempotency_key_per_command' }] },
    })
    const tooLarge = await harness.request('POST', '/v1/commands/batch', {
      rawBody: JSON.stringify({
        commands: [{ command: { ...fill('alice', '0.01'), pad: 'x'.repeat(1_100_000) } }],
      }),
    })
    expect(tooLarge.status).toBe(413)
    expect(await health()).toEqual(before)
  })

  it('the live state after batches is what the journal replays to', async () => {
    const live = harness.running.service.engine.stateHash()
    const store = openSqliteStore(harness.database)
    try {
      const recovery = await recoverState(store, { verifyEveryStateHash: true })
      expect(recovery.stateHash).toBe(live)
      expect(recovery.recordedStateHash).toBe(live)
    } finally {
      await store.close()
    }
  })

  it('SVC-002: the OpenAPI document describes the batch and its answer', async () => {
    const document = (await harness.request('GET', '/openapi.json')).body as {
      paths: Record<
        string,
        { post?: { requestBody?: unknown; responses?: Record<string, unknown> } }
      >
      components: { schemas: Record<string, unknown> }
    }
    const route = document.paths['/v1/commands/batch']?.post
    expect(JSON.stringify(route?.requestBody)).toContain('CommandBatch')
    expect(JSON.stringify(route?.responses?.['200'])).toContain('CommandBatchResult')
    expect(Object.keys(document.components.schemas)).toEqual(
      expect.arrayContaining(['CommandBatch', 'CommandBatchResult']),
    )
  })
})

describe('SVC-046: a batch takes one rate-limit token per command', () => {
  it('counts commands, refuses a batch the bucket cannot cover whole, and one larger than the burst', async () => {
    // a bucket of 5 that refills too slowly to matter during the test
    const harness = await startHarness({ rateLimit: { perSecond: 0.01, burst: 5 } })
    try {
      const commands = (count: number, prefix: string) =>
        Array.from({ length: count }, (_, index) => ({
          idempotencyKey: `${prefix}-${index}`,
          command: { type: 'deposit', account: `acct-${index}`, asset: 'USDT', amount: '1' },
        }))
      const sequence = async () =>
        ((await harness.request('GET', '/health')).body as { sequence: number }).sequence
      // the operator's bucket is untouched (the harness created the keys with the admin key)
      const post = (count: number, prefix: string) =>
        harness.request('POST', '/v1/commands/batch', {
          key: harness.keys.operator,
          body: { commands: commands(count, prefix) },
        })
      const start = await sequence()
      // more commands than the burst can never pass: refused at once (the request took its token)
      const oversized = await post(6, 'a')
      expect(oversized.status).toBe(400)
      expect(oversized.body).toMatchObject({
        error: {
          code: 'invalid_request',
          issues: [{ code: 'batch_above_burst', path: 'commands' }],
        },
      })
      // 4 tokens left: a batch of 5 needs 5, so it waits and none of it is applied
      const refused = await post(5, 'b')
      expect(refused.status).toBe(429)
      expect(refused.body).toMatchObject({ error: { code: 'rate_limited' } })
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1)
      expect(await sequence()).toBe(start)
      // 3 tokens left: a batch of 3 passes and takes them all
      expect((await post(3, 'c')).status).toBe(200)
      expect(await sequence()).toBe(start + 3)
      expect((await post(1, 'd')).status).toBe(429)
      expect(await sequence()).toBe(start + 3)
    } finally {
      await harness.close()
    }
  })
})
