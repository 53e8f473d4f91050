/**
 * A running service for the tests: a throw-away SQLite journal, the admin key from LOR_ADMIN_KEY and
 * one key per role, on a free loopback port.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { RateLimitOptions } from '../../src/service/rate-limit.ts'
import { type RunningService, type ServiceOptions, startService } from '../../src/service/server.ts'

export const ADMIN_KEY = 'test-admin-key-0123456789abcdef'

export interface Harness {
  readonly running: RunningService
  readonly url: string
  readonly directory: string
  readonly database: string
  /** Keys by role; the trader key belongs to account `alice`. */
  readonly keys: Readonly<Record<'admin' | 'viewer' | 'trader' | 'operator', string>>
  request(
    method: string,
    path: string,
    options?: {
      key?: string | null
      body?: unknown
      rawBody?: string
      headers?: Record<string, string>
    },
  ): Promise<{ status: number; body: unknown; text: string; headers: Headers }>
  close(): Promise<void>
}

/** Starts a service; `setup` true opens alice and bob with positions at a mark. */
export async function startHarness(
  options: {
    readonly rateLimit?: RateLimitOptions
    readonly extra?: Partial<ServiceOptions>
    readonly directory?: string
  } = {},
): Promise<Harness> {
  const directory = options.directory ?? mkdtempSync(join(tmpdir(), 'lor-service-'))
  const database = join(directory, 'lor.db')
  const running = await startService({
    port: 0,
    database,
    environment: { LOR_ADMIN_KEY: ADMIN_KEY },
    log: () => undefined,
    rateLimit: options.rateLimit ?? { perSecond: 0, burst: 0 },
    ...options.extra,
  })
  const request: Harness['request'] = async (method, path, requestOptions = {}) => {
    const key = requestOptions.key === undefined ? ADMIN_KEY : requestOptions.key
    const headers: Record<string, string> = { ...requestOptions.headers }
    if (key !== null) headers.authorization = `Bearer ${key}`
    let body: string | undefined
    if (requestOptions.rawBody !== undefined) body = requestOptions.rawBody
    else if (requestOptions.body !== undefined) body = JSON.stringify(requestOptions.body)
    if (body !== undefined && headers['content-type'] === undefined)
      headers['content-type'] = 'application/json'
    const send = () =>
      fetch(`${running.url}${path}`, {
        method,
        headers,
        redirect: 'manual',
        ...(body === undefined ? {} : { body }),
      })
    // a server that refused an oversized body closes that connection; a reused socket may see it
    const response = await send().catch(() => send())
    const text = await response.text()
    let parsed: unknown
    try {
      parsed = JSON.parse(text)
    } catch {
      parsed = null
    }
    return { status: response.status, body: parsed, text, headers: response.headers }
  }
  const keys: Record<string, string> = { admin: ADMIN_KEY }
  for (const role of ['viewer', 'trader', 'operator'] as const) {
    const created = await request('POST', '/v1/keys', {
      body: { name: `${role}-key`, role, ...(role === 'trader' ? { account: 'alice' } : {}) },
    })
    keys[role] = (created.body as { key: string }).key
  }
  return {
    running,
    url: running.url,
    directory,
    database,
    keys: keys as Harness['keys'],
    request,
    async close() {
      await running.close()
      if (options.directory === undefined) rmSync(directory, { recursive: true, force: true })
    },
  }
}

/** Deposits for alice and bob, a BTCUSDT mark, alice long 1 and bob short 1 against the book. */
export async function seedAccounts(harness: Harness): Promise<void> {
  const post = async (path: string, body: unknown) => {
    const answer = await harness.request('POST', path, { body })
    if (answer.status !== 200) throw new Error(`${path}: ${answer.text}`)
  }
  await post('/v1/deposits', { account: 'alice', asset: 'USDT', amount: '10000' })
  await post('/v1/deposits', { account: 'bob', asset: 'USDT', amount: '8000' })
  await post('/v1/prices', { market: 'BTCUSDT', mark: '60000' })
  await post('/v1/fills', {
    account: 'alice',
    market: 'BTCUSDT',
    size: '1',
    price: '60000',
    liquidity: 'taker',
  })
  await post('/v1/fills', {
    account: 'bob',
    market: 'BTCUSDT',
    size: '-1',
    price: '60000',
    liquidity: 'taker',
  })
}
