/**
 * The HTTP API (docs/spec/service.md): roles against every endpoint (SVC-020), the usual attacks
 * (SVC-022..SVC-027), the error format (SVC-010), commands through the journal (SVC-040..SVC-043).
 */
import Database from 'better-sqlite3'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { errorCodeTable } from '../../src/service/errors.ts'
import { ADMIN_KEY, type Harness, seedAccounts, startHarness } from './harness.ts'

type Role = 'viewer' | 'trader' | 'operator' | 'admin'
const ROLES: readonly Role[] = ['viewer', 'trader', 'operator', 'admin']
const KNOWN_CODES = new Set(errorCodeTable().map((entry) => entry.code))

let counter = 0
const unique = () => `test-${(counter += 1)}`

/** One row per endpoint: the request and which roles get through (others: 403). */
const ENDPOINTS: readonly {
  readonly method: 'GET' | 'POST'
  readonly path: string
  readonly body?: () => unknown
  readonly allowed: readonly Role[]
  /** Idempotency keys go in the body (a batch), not in the header. */
  readonly keysInBody?: true
}[] = [
  { method: 'GET', path: '/openapi.json', allowed: ROLES },
  { method: 'GET', path: '/v1/markets', allowed: ROLES },
  { method: 'GET', path: '/v1/rules', allowed: ROLES },
  { method: 'GET', path: '/v1/rules/versions/0', allowed: ROLES },
  { method: 'GET', path: '/v1/rules/diff?from=0&to=0', allowed: ROLES },
  { method: 'GET', path: '/v1/accounts', allowed: ['viewer', 'operator', 'admin'] },
  { method: 'GET', path: '/v1/funds', allowed: ['viewer', 'operator', 'admin'] },
  { method: 'GET', path: '/v1/risk/accounts-at-risk', allowed: ['viewer', 'operator', 'admin'] },
  {
    method: 'GET',
    path: '/v1/markets/BTCUSDT/adl-queue?side=short',
    allowed: ['viewer', 'operator', 'admin'],
  },
  {
    method: 'GET',
    path: '/v1/journal/entries/1/explain',
    allowed: ['viewer', 'operator', 'admin'],
  },
  { method: 'GET', path: '/v1/simulations', allowed: ['viewer', 'operator', 'admin'] },
  { method: 'GET', path: '/v1/accounts/alice', allowed: ROLES },
  { method: 'GET', path: '/v1/accounts/alice/margin', allowed: ROLES },
  { method: 'GET', path: '/v1/accounts/alice/liquidation-prices', allowed: ROLES },
  { method: 'GET', path: '/v1/accounts/alice/adl', allowed: ROLES },
  { method: 'GET', path: '/v1/accounts/alice/explain?limit=5', allowed: ROLES },
  { method: 'GET', path: '/v1/accounts/bob', allowed: ['viewer', 'operator', 'admin'] },
  { method: 'GET', path: '/v1/accounts/bob/margin', allowed: ['viewer', 'operator', 'admin'] },
  {
    method: 'POST',
    path: '/v1/prices',
    body: () => ({ market: 'BTCUSDT', mark: '60000' }),
    allowed: ['operator', 'admin'],
  },
  {
    method: 'POST',
    path: '/v1/fills',
    body: () => ({
      account: 'alice',
      market: 'BTCUSDT',
      size: '0.001',
      price: '60000',
      liquidity: 'maker',
    }),
    allowed: ['operator', 'admin'],
  },
  {
    method: 'POST',
    path: '/v1/deposits',
    body: () => ({ account: 'alice', asset: 'USDT', amount: '1' }),
    allowed: ['operator', 'admin'],
  },
  {
    method: 'POST',
    path: '/v1/funding',
    body: () => ({ market: 'BTCUSDT', rate: '0.0001' }),
    allowed: ['operator', 'admin'],
  },
  {
    method: 'POST',
    path: '/v1/commands',
    body: () => ({ type: 'mark_price', market: 'ETHUSDT', mark: '3000' }),
    allowed: ['operator', 'admin'],
  },
  {
    method: 'POST',
    path: '/v1/commands/batch',
    body: () => ({
      commands: [
        {
          idempotencyKey: unique(),
          command: { type: 'mark_price', market: 'ETHUSDT', mark: '3000' },
        },
      ],
    }),
    allowed: ['operator', 'admin'],
    keysInBody: true,
  },
  {
    method: 'POST',
    path: '/v1/accounts/alice/withdrawals',
    body: () => ({ asset: 'USDT', amount: '1' }),
    allowed: ['trader', 'operator', 'admin'],
  },
  {
    method: 'POST',
    path: '/v1/accounts/bob/withdrawals',
    body: () => ({ asset: 'USDT', amount: '1' }),
    allowed: ['operator', 'admin'],
  },
  {
    method: 'POST',
    path: '/v1/rules',
    body: () => ({ preset: 'binance-usdm' }),
    allowed: ['admin'],
  },
  { method: 'GET', path: '/v1/keys', allowed: ['admin'] },
  {
    method: 'POST',
    path: '/v1/keys',
    body: () => ({ name: unique(), role: 'viewer' }),
    allowed: ['admin'],
  },
]

describe('lor serve HTTP API', () => {
  let harness: Harness
  beforeAll(async () => {
    harness = await startHarness()
    await seedAccounts(harness)
  })
  afterAll(async () => {
    await harness.close()
  })

  it('SVC-001: GET /health answers without a key', async () => {
    const answer = await harness.request('GET', '/health', { key: null })
    expect(answer.status).toBe(200)
    expect(answer.body).toMatchObject({ status: 'ok' })
  })

  describe('SVC-020: each role against each endpoint', () => {
    for (const endpoint of ENDPOINTS)
      for (const role of ROLES) {
        const allowed = endpoint.allowed.includes(role)
        it(`${role} ${endpoint.method} ${endpoint.path} → ${allowed ? 'allowed' : '403 forbidden'}`, async () => {
          const answer = await harness.request(endpoint.method, endpoint.path, {
            key: harness.keys[role],
            ...(endpoint.body === undefined ? {} : { body: endpoint.body() }),
            headers: endpoint.keysInBody === true ? {} : { 'idempotency-key': unique() },
          })
          if (allowed) {
            expect(answer.status, answer.text).toBeLessThan(300)
          } else {
            expect(answer.status, answer.text).toBe(403)
            expect(answer.body).toMatchObject({ error: { code: 'forbidden' } })
          }
        })
      }
  })

  it('SVC-022: every endpoint but /health refuses a request without a key (401 unauthenticated)', async () => {
    for (const endpoint of ENDPOINTS) {
      const answer = await harness.request(endpoint.method, endpoint.path, {
        key: null,
        ...(endpoint.body === undefined ? {} : { body: endpoint.body() }),
      })
      expect(answer.status, endpoint.path).toBe(401)
      expect(answer.body).toMatchObject({ error: { code: 'unauthenticated' } })
    }
  })

  it('SVC-022: forged, truncated and revoked keys are refused', async () => {
    const forged = [
      `lor_0123456789abcdef_${'A'.repeat(43)}`,
      harness.keys.viewer.slice(0, -1) + (harness.keys.viewer.endsWith('A') ? 'B' : 'A'),
      harness.keys.viewer.slice(0, 30),
      `${ADMIN_KEY}x`,
      "' OR '1'='1' -- and some padding to pass the length",
    ]
    for (const key of forged) {
      const answer = await harness.request('GET', '/v1/markets', { key })
      expect(answer.status, key).toBe(401)
    }
    const created = await harness.request('POST', '/v1/keys', {
      body: { name: 'short-lived', role: 'viewer' },
    })
    const { key, record } = created.body as { key: string; record: { id: string } }
    expect((await harness.request('GET', '/v1/markets', { key })).status).toBe(200)
    expect((await harness.request('DELETE', `/v1/keys/${record.id}`)).status).toBe(200)
    expect((await harness.request('GET', '/v1/markets', { key })).status).toBe(401)
  })

  it('SVC-023: keys are stored as salted SHA-256 hashes, never as text', () => {
    const database = new Database(harness.database, { readonly: true })
    try {
      const rows = database.prepare('SELECT * FROM lor_service_keys').all() as Record<
        string,
        unknown
      >[]
      expect(rows.length).toBeGreaterThanOrEqual(4)
      const dump = JSON.stringify(rows)
      for (const key of Object.values(harness.keys)) {
        expect(dump).not.toContain(key)
        expect(dump).not.toContain(key.slice(-43))
      }
      const salts = new Set(rows.map((row) => row.salt))
      expect(salts.size).toBe(rows.length)
      for (const row of rows) expect(row.hash).toMatch(/^[0-9a-f]{64}$/)
    } finally {
      database.close()
    }
  })

  it('SVC-020: a trader sees and moves only its own account', async () => {
    const trader = harness.keys.trader
    expect(
      (await harness.request('GET', '/v1/accounts/bob/liquidation-prices', { key: trader })).status,
    ).toBe(403)
    expect((await harness.request('GET', '/v1/accounts/bob/explain', { key: trader })).status).toBe(
      403,
    )
    expect((await harness.request('GET', '/v1/accounts', { key: trader })).status).toBe(403)
    const answer = await harness.request('GET', '/v1/accounts/alice', { key: trader })
    expect(answer.body).toMatchObject({ account: 'alice' })
  })

  it('SVC-025: a body over the limit is refused with 413 payload_too_large', async () => {
    const answer = await harness.request('POST', '/v1/prices', {
      rawBody: JSON.stringify({
        market: 'BTCUSDT',
        mark: '1',
        padding: 'x'.repeat(2 * 1024 * 1024),
      }),
    })
    expect(answer.status).toBe(413)
    expect(answer.body).toMatchObject({ error: { code: 'payload_too_large' } })
  })

  it('SVC-010: malformed JSON is 400 malformed_json; a bad shape is 400 invalid_request with issues', async () => {
    const malformed = await harness.request('POST', '/v1/prices', {
      rawBody: '{"market": "BTCUSDT", mark: 1',
    })
    expect(malformed.status).toBe(400)
    expect(malformed.body).toMatchObject({ error: { code: 'malformed_json' } })
    const shape = await harness.request('POST', '/v1/fills', {
      body: {
        account: 'alice',
        market: 'BTCUSDT',
        size: 1,
        price: '1e5',
        liquidity: 'both',
        extra: true,
      },
    })
    expect(shape.status).toBe(400)
    const issues = (shape.body as { error: { code: string; issues: { path: string }[] } }).error
    expect(issues.code).toBe('invalid_request')
    expect(issues.issues.map((issue) => issue.path).sort()).toEqual([
      '',
      'liquidity',
      'price',
      'size',
    ])
    const notJson = await harness.request('POST', '/v1/prices', {
      rawBody: 'market=BTCUSDT',
      headers: { 'content-type': 'text/plain' },
    })
    expect(notJson.status).toBe(415)
    expect(notJson.body).toMatchObject({ error: { code: 'unsupported_media_type' } })
  })

  it('SVC-026: injection strings in ids are stored and echoed as data, never a 500', async () => {
    const ids = [
      "'; DROP TABLE lor_journal_entries; --",
      '<script>alert("x")</script>',
      '../../etc/passwd',
      '%2e%2e%2f%00',
      'Robert"); DELETE FROM lor_service_keys; --',
    ]
    for (const id of ids) {
      const deposit = await harness.request('POST', '/v1/deposits', {
        body: { account: id, asset: 'USDT', amount: '5' },
      })
      expect(deposit.status, id).toBe(200)
      const read = await harness.request('GET', `/v1/accounts/${encodeURIComponent(id)}`)
      expect(read.status, id).toBe(200)
      expect(read.body).toMatchObject({ account: id, balances: { USDT: '5' } })
      const page = await harness.request(
        'GET',
        `/dashboard/fragments/accounts/${encodeURIComponent(id)}`,
      )
      expect(page.status, id).toBe(200)
      expect(page.text).not.toContain('<script>alert')
    }
    for (const path of [
      '/v1/accounts/..%2F..%2Fetc%2Fpasswd',
      '/v1/accounts/%00',
      '/v1/accounts/..',
      '/v1/../../etc/passwd',
    ]) {
      const answer = await harness.request('GET', path)
      expect(answer.status, path).toBeLessThan(500)
      if (answer.status >= 400)
        expect(KNOWN_CODES.has((answer.body as { error: { code: string } }).error.code)).toBe(true)
    }
    const keyName = await harness.request('POST', '/v1/keys', {
      body: { name: '<img src=x onerror=alert(1)>', role: 'viewer' },
    })
    expect(keyName.status).toBe(201)
    const control = await harness.request('POST', '/v1/deposits', {
      body: { account: 'a\u0000b', asset: 'USDT', amount: '1' },
    })
    expect(control.status).toBe(400)
    // the journal and the key table are intact
    const health = await harness.request('GET', '/health', { key: null })
    expect((health.body as { sequence: number }).sequence).toBeGreaterThan(5)
    expect((await harness.request('GET', '/v1/keys')).status).toBe(200)
  })

  it('SVC-041: an idempotency key answers the recorded outcome; reused for another command it is 409', async () => {
    const body = { account: 'alice', asset: 'USDT', amount: '3' }
    const first = await harness.request('POST', '/v1/deposits', {
      body,
      headers: { 'idempotency-key': 'deposit-alice-3' },
    })
    const again = await harness.request('POST', '/v1/deposits', {
      body,
      headers: { 'idempotency-key': 'deposit-alice-3' },
    })
    expect(first.status).toBe(200)
    expect(again.status).toBe(200)
    expect(again.headers.get('idempotent-replayed')).toBe('true')
    expect((again.body as { sequence: number }).sequence).toBe(
      (first.body as { sequence: number }).sequence,
    )
    const conflict = await harness.request('POST', '/v1/deposits', {
      body: { ...body, amount: '4' },
      headers: { 'idempotency-key': 'deposit-alice-3' },
    })
    expect(conflict.status).toBe(409)
    expect(conflict.body).toMatchObject({ error: { code: 'idempotency_key_conflict' } })
  })

  it('SVC-042: an engine refusal is 422 under its result code, journaled', async () => {
    const answer = await harness.request('POST', '/v1/accounts/alice/withdrawals', {
      body: { asset: 'USDT', amount: '1000000' },
    })
    expect(answer.status).toBe(422)
    expect(answer.body).toMatchObject({ error: { code: 'insufficient_balance' } })
    expect(Number(answer.headers.get('lor-sequence'))).toBeGreaterThan(0)
  })

  it('SVC-031, SVC-032: margin and liquidation prices come as decimal strings', async () => {
    const prices = await harness.request('GET', '/v1/accounts/alice/liquidation-prices')
    const position = (prices.body as { positions: Record<string, unknown>[] }).positions[0]
    expect(position).toMatchObject({ market: 'BTCUSDT', size: expect.stringMatching(/^1\.?/) })
    expect(position?.liquidationPrice).toMatch(/^\d+(\.\d+)?$/)
    const margin = await harness.request('GET', '/v1/accounts/alice/margin')
    const group = (margin.body as { groups: Record<string, unknown>[] }).groups[0]
    expect(group?.equity).toMatch(/^-?\d+(\.\d+)?$/)
    expect(group?.maintenanceMargin).toMatch(/^\d+(\.\d+)?$/)
  })

  it('SVC-036: the ADL queue ranks a side by the rule set ranking', async () => {
    const answer = await harness.request('GET', '/v1/markets/BTCUSDT/adl-queue?side=short')
    expect(answer.body).toMatchObject({ ranking: 'binance_leverage_pnl' })
    const entries = (answer.body as { entries: { account: string; rank: number }[] }).entries
    expect(entries.map((entry) => entry.account)).toContain('bob')
    expect(entries.map((entry) => entry.rank)).toEqual(entries.map((_, index) => index + 1))
  })

  it('SVC-044: a rule change is journaled with the key name as its author; versions and diff follow', async () => {
    const change = await harness.request('POST', '/v1/rules', {
      body: { preset: 'binance-usdm@2020-05-01' },
    })
    expect(change.status, change.text).toBe(200)
    const rules = await harness.request('GET', '/v1/rules')
    const versions = (rules.body as { versions: { author: string | null; version: string }[] })
      .versions
    expect(versions.at(-1)).toMatchObject({ author: 'admin', version: '2020-05-01' })
    const diff = await harness.request('GET', '/v1/rules/diff')
    expect((diff.body as { changes: unknown[] }).changes.length).toBeGreaterThan(0)
    const explained = await harness.request(
      'GET',
      `/v1/journal/entries/${(change.body as { sequence: number }).sequence}/explain`,
    )
    expect(JSON.stringify(explained.body)).toContain('changed by admin')
    const forged = await harness.request('POST', '/v1/commands', {
      body: { type: 'rules_change', ruleSet: {}, author: 'someone else', effectiveTimeMs: 0 },
    })
    expect(forged.status).toBe(400)
  })

  it('SVC-002: /openapi.json documents every API route', async () => {
    const answer = await harness.request('GET', '/openapi.json')
    const paths = Object.keys((answer.body as { paths: Record<string, unknown> }).paths)
    for (const path of [
      '/v1/prices',
      '/v1/fills',
      '/v1/commands/batch',
      '/v1/accounts/{id}/margin',
      '/v1/rules/diff',
      '/v1/simulations',
      '/v1/keys',
    ])
      expect(paths).toContain(path)
  })

  it('SVC-010: every error answered above uses a code of the one table', async () => {
    for (const [path, method] of [
      ['/nope', 'GET'],
      ['/v1/accounts/nobody', 'GET'],
      ['/v1/rules/versions/99', 'GET'],
      ['/v1/simulations/none', 'GET'],
    ] as const) {
      const answer = await harness.request(method, path)
      const code = (answer.body as { error: { code: string } }).error.code
      expect(KNOWN_CODES.has(code), code).toBe(true)
      expect(answer.status).toBe(404)
    }
  })
})

describe('SVC-024: rate limits per key', () => {
  it('answers 429 with Retry-After once the bucket is empty, per key', async () => {
    const harness = await startHarness({ rateLimit: { perSecond: 1, burst: 3 } })
    try {
      const statuses: number[] = []
      let retryAfter: string | null = null
      for (let index = 0; index < 5; index += 1) {
        const answer = await harness.request('GET', '/v1/markets', { key: harness.keys.viewer })
        statuses.push(answer.status)
        if (answer.status === 429) {
          retryAfter = answer.headers.get('retry-after')
          expect(answer.body).toMatchObject({ error: { code: 'rate_limited' } })
        }
      }
      expect(statuses.slice(0, 3)).toEqual([200, 200, 200])
      expect(statuses.at(-1)).toBe(429)
      expect(Number(retryAfter)).toBeGreaterThanOrEqual(1)
      // another key has its own bucket
      expect(
        (await harness.request('GET', '/v1/markets', { key: harness.keys.operator })).status,
      ).toBe(200)
    } finally {
      await harness.close()
    }
  })
})
