/**
 * The HTTP API (docs/service.md, docs/spec/service.md): hono with zod-validated, OpenAPI-described
 * routes. Every route but /health and the dashboard's login form needs an API key; each route names
 * its access level in ROUTE_ACCESS and the key's role is checked against it before the request is
 * validated. Errors use the one format of errors.ts.
 */
import { createRoute, OpenAPIHono, type z } from '@hono/zod-openapi'
import type { Context, MiddlewareHandler } from 'hono'
import { bodyLimit } from 'hono/body-limit'
import { getCookie } from 'hono/cookie'
import { HTTPException } from 'hono/http-exception'
import { streamSSE } from 'hono/streaming'
import { ruleSetToJson } from '../core/rules/parse.ts'
import { diffRuleSets } from '../core/rules/diff.ts'
import { decodeCommand, type JournalCommand } from '../journal/codec.ts'
import type { SubmitOutcome } from '../journal/journaled-engine.ts'
import { explainAccount, explainEntry } from '../journal/explain.ts'
import { loadRuleSet, validateWithOverrides } from '../presets/index.ts'
import {
  type ErrorBody,
  errorBody,
  ServiceError,
  type ServiceIssue,
  statusOfCode,
} from './errors.ts'
import type { ApiKeyRecord, Role } from './keys.ts'
import { RateLimiter, type RateLimitOptions } from './rate-limit.ts'
import type { RiskService } from './risk-service.ts'
import * as schemas from './schemas.ts'
import type { Simulations } from './simulations.ts'
import {
  accountIds,
  accountRisk,
  accountsAtRiskView,
  accountView,
  adlQueue,
  fundsView,
  liquidationPricesView,
  marginView,
  marketsView,
} from './views.ts'

/** Variables a request carries after authentication. */
export interface AppEnv {
  Variables: { key: ApiKeyRecord }
}

/** The app type the dashboard adds its pages to. */
export type App = OpenAPIHono<AppEnv>

/**
 * Access levels (SVC-020): who may use a route.
 * - `any`: every key (markets, rules, the OpenAPI document);
 * - `read`: viewer, operator, admin (everything but keys; traders are refused);
 * - `own_account`: viewer, operator, admin for any account; a trader for its own account only;
 * - `act_own_account`: operator, admin for any account; a trader for its own account only;
 * - `operate`: operator, admin (prices, fills, deposits, funding, simulations);
 * - `admin`: admin (rule changes, keys).
 */
export type Access = 'any' | 'read' | 'own_account' | 'act_own_account' | 'operate' | 'admin'

/** Which roles each access level admits (traders are further limited to their account). */
export const ROUTE_ACCESS: Readonly<Record<Access, readonly Role[]>> = {
  any: ['viewer', 'trader', 'operator', 'admin'],
  read: ['viewer', 'operator', 'admin'],
  own_account: ['viewer', 'trader', 'operator', 'admin'],
  act_own_account: ['trader', 'operator', 'admin'],
  operate: ['operator', 'admin'],
  admin: ['admin'],
}

/** Whether `key` may use a route of `access`, for the account the route names (if any). */
export function allows(key: ApiKeyRecord, access: Access, account: string | null): boolean {
  if (!ROUTE_ACCESS[access].includes(key.role)) return false
  if (key.role !== 'trader') return true
  if (access === 'any') return true
  return account !== null && key.account === account
}

/** The cookie the dashboard keeps the key in. */
export const KEY_COOKIE = 'lor_key'

/** Options of the HTTP app. */
export interface AppOptions {
  readonly service: RiskService
  readonly simulations: Simulations
  readonly rateLimit: RateLimitOptions
  /** Largest accepted body in bytes (default 1 MiB: rule-set documents are ~100 KiB). */
  readonly maximumBodyBytes?: number
  readonly version?: string
}

/** The key presented by a request: Authorization: Bearer, X-API-Key, or the dashboard cookie. */
export function presentedKey(c: Context<AppEnv>): string | null {
  const authorization = c.req.header('authorization')
  if (authorization !== undefined) {
    const match = /^Bearer\s+(\S+)$/i.exec(authorization)
    return match?.[1] ?? ''
  }
  const header = c.req.header('x-api-key')
  if (header !== undefined) return header
  return getCookie(c, KEY_COOKIE) ?? null
}

function jsonResponse(c: Context, body: unknown, status = 200): Response {
  return c.json(body as object, status as 200)
}

/** Answers an error in the one format. */
export function errorResponse(c: Context, error: ServiceError): Response {
  for (const [name, value] of Object.entries(error.headers)) c.header(name, value)
  return jsonResponse(c, error.toBody(), error.status)
}

/** Turns a zod failure into `invalid_request` issues with dotted paths. */
function zodIssues(error: z.ZodError): ServiceIssue[] {
  return error.issues.map((issue) => ({
    code: issue.code,
    path: issue.path.map(String).join('.'),
    message: issue.message,
  }))
}

/** The result of one command of a batch (SVC-046). */
type BatchItemResult =
  | ({ readonly status: 200 } & SubmitOutcome)
  | {
      readonly status: number
      readonly sequence: number | null
      readonly error: ErrorBody['error']
    }

/** A batch command's failure, its issue paths inside the batch (`at` is the command's path). */
function failedItem(error: ServiceError, sequence: number | null, at: string): BatchItemResult {
  const issues = error.issues?.map((issue) => ({
    ...issue,
    path: issue.path === '' ? at : `${at}.${issue.path}`,
  }))
  return {
    status: error.status,
    sequence,
    error: errorBody(error.code, error.message, issues).error,
  }
}

/** The error of a command the engine (422) or the journal's stream checks (409) refused. */
function refusalError(outcome: SubmitOutcome): ServiceError {
  const status = outcome.result.status
  const context = Object.entries(outcome.result)
    .filter(([name]) => name !== 'status')
    .map(([name, value]) => `${name}=${typeof value === 'string' ? value : JSON.stringify(value)}`)
    .join(', ')
  return new ServiceError(
    status as 'insufficient_balance',
    `the command was refused: ${status}${context === '' ? '' : ` (${context})`}${outcome.sequence === null ? '' : `; journaled as entry ${outcome.sequence}`}`,
  )
}

/** The public paths: no key needed (SVC-022). */
export function isPublicPath(path: string, method: string): boolean {
  if (path === '/health') return true
  return path === '/dashboard/login' && (method === 'GET' || method === 'POST')
}

/** Builds the app with the API routes; the dashboard registers its own pages on it. */
export function createApp(options: AppOptions): App {
  const { service, simulations } = options
  const app = new OpenAPIHono<AppEnv>({
    defaultHook: (result) => {
      if (!result.success)
        throw new ServiceError(
          'invalid_request',
          'the request does not have the documented shape',
          {
            issues: zodIssues(result.error),
          },
        )
    },
  })
  const limiter = new RateLimiter(options.rateLimit)

  app.onError((error, c) => {
    if (error instanceof ServiceError) return errorResponse(c, error)
    if (error instanceof HTTPException) {
      const code =
        error.status === 400
          ? 'malformed_json'
          : error.status === 413
            ? 'payload_too_large'
            : error.status === 415
              ? 'unsupported_media_type'
              : error.status === 401
                ? 'unauthenticated'
                : 'invalid_request'
      return jsonResponse(c, errorBody(code, error.message), statusOfCode(code))
    }
    process.stderr.write(
      `lor serve: ${c.req.method} ${c.req.path}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    )
    return jsonResponse(c, errorBody('internal_error', 'an unexpected error occurred'), 500)
  })
  app.notFound((c) => jsonResponse(c, errorBody('not_found', 'no such endpoint'), 404))

  // security headers on every answer
  app.use('*', async (c, next) => {
    await next()
    c.header('X-Content-Type-Options', 'nosniff')
    c.header('Referrer-Policy', 'no-referrer')
    c.header('X-Frame-Options', 'DENY')
    c.header('Cache-Control', 'no-store')
  })
  app.use(
    '*',
    bodyLimit({
      maxSize: options.maximumBodyBytes ?? 1024 * 1024,
      onError: () => {
        throw new ServiceError('payload_too_large', 'the request body is too large')
      },
    }),
  )
  // authentication and rate limits (SVC-022, SVC-024)
  app.use('*', async (c, next) => {
    if (isPublicPath(c.req.path, c.req.method)) return next()
    // eslint-disable-next-line @typescript-eslint/no-unsafe-argument -- hono's wildcard route context
    const presented = presentedKey(c)
    if (presented === null || presented === '') {
      if (c.req.path.startsWith('/dashboard') && c.req.method === 'GET')
        return c.redirect('/dashboard/login', 303)
      throw new ServiceError('unauthenticated', 'an API key is required')
    }
    const key = await service.keys.verify(presented)
    if (key === null) {
      if (c.req.path.startsWith('/dashboard') && c.req.method === 'GET')
        return c.redirect('/dashboard/login', 303)
      throw new ServiceError('unauthenticated', 'the API key is not valid')
    }
    const wait = limiter.take(key.id)
    if (wait !== null)
      throw new ServiceError('rate_limited', 'too many requests for this key', {
        headers: { 'Retry-After': String(wait) },
      })
    c.set('key', key)
    return next()
  })

  /** Route middleware: the key's role against the route's access level (before validation). */
  const guard =
    (access: Access): MiddlewareHandler<AppEnv> =>
    async (c, next) => {
      const key = c.get('key')
      const account = c.req.param('id') ?? null
      if (!allows(key, access, account)) {
        throw new ServiceError(
          'forbidden',
          key.role === 'trader' && ROUTE_ACCESS[access].includes('trader')
            ? 'a trader key may only use its own account'
            : `role ${key.role} may not use this endpoint`,
        )
      }
      await next()
    }

  const errorResponses = {
    400: {
      description: 'invalid_request or malformed_json',
      content: { 'application/json': { schema: schemas.ErrorSchema } },
    },
    401: {
      description: 'unauthenticated',
      content: { 'application/json': { schema: schemas.ErrorSchema } },
    },
    403: {
      description: 'forbidden',
      content: { 'application/json': { schema: schemas.ErrorSchema } },
    },
    429: {
      description: 'rate_limited (Retry-After)',
      content: { 'application/json': { schema: schemas.ErrorSchema } },
    },
  }

  interface RouteSpec {
    readonly method: 'get' | 'post' | 'delete'
    readonly path: string
    readonly access: Access
    readonly summary: string
    readonly tag: string
    readonly params?: z.ZodObject
    readonly query?: z.ZodObject
    readonly body?: z.ZodType
    /** Media type of the success answer (default JSON). */
    readonly produces?: 'application/json' | 'text/html' | 'text/event-stream'
    /** Schema of the success answer, when documented. */
    readonly answer?: z.ZodType
  }
  interface Input {
    readonly params: Record<string, string>
    readonly query: Record<string, unknown>
    readonly body: unknown
  }
  const define = (
    spec: RouteSpec,
    handler: (c: Context<AppEnv>, input: Input) => Response | Promise<Response>,
  ): void => {
    const route = createRoute({
      method: spec.method,
      path: spec.path,
      summary: spec.summary,
      tags: [spec.tag],
      description: `Access: ${spec.access} (${ROUTE_ACCESS[spec.access].join(', ')}).`,
      security: [{ apiKey: [] }],
      middleware: [guard(spec.access)] as const,
      request: {
        ...(spec.params === undefined ? {} : { params: spec.params }),
        ...(spec.query === undefined ? {} : { query: spec.query }),
        ...(spec.body === undefined
          ? {}
          : { body: { content: { 'application/json': { schema: spec.body } }, required: true } }),
      },
      responses: {
        200: {
          description: 'success',
          content: { [spec.produces ?? 'application/json']: { schema: spec.answer ?? {} } },
        },
        ...errorResponses,
      },
    })
    app.openapi(route, (async (c: Context<AppEnv>) => {
      const valid = (c.req.valid as unknown as (target: string) => unknown).bind(c.req)
      const input: Input = {
        params: (spec.params === undefined ? {} : valid('param')) as Record<string, string>,
        query: (spec.query === undefined ? {} : valid('query')) as Record<string, unknown>,
        body: spec.body === undefined ? undefined : valid('json'),
      }
      return handler(c, input)
    }) as never)
  }

  /** Decodes a wire command (SVC-011), journals it and answers the outcome (SVC-040). */
  const submitWire = async (
    c: Context<AppEnv>,
    wire: Record<string, unknown>,
  ): Promise<Response> => {
    const decoded = decodeCommand(wire)
    if (!decoded.ok)
      throw new ServiceError('invalid_request', 'the command is not valid', {
        issues: decoded.issues,
      })
    return submitCommand(c, decoded.command)
  }
  const submitCommand = async (c: Context<AppEnv>, command: JournalCommand): Promise<Response> => {
    const key = c.req.header('idempotency-key')
    if (key !== undefined && (key.length === 0 || key.length > 200))
      throw new ServiceError(
        'idempotency_key_invalid',
        'Idempotency-Key must have 1 to 200 characters',
      )
    const outcome = await service.submit(command, key)
    if (outcome.sequence !== null) c.header('Lor-Sequence', String(outcome.sequence))
    if (outcome.duplicate) c.header('Idempotent-Replayed', 'true')
    if (outcome.result.status !== 'ok') throw refusalError(outcome)
    return jsonResponse(c, outcome)
  }

  /** Checks a wire command that names a rule change: admin keys only, authored by the key. */
  const checkRulesChangeWire = (c: Context<AppEnv>, wire: Record<string, unknown>): void => {
    if (wire.type !== 'rules_change') return
    const key = c.get('key')
    if (key.role !== 'admin') throw new ServiceError('forbidden', 'rule changes need an admin key')
    if (wire.author !== key.name)
      throw new ServiceError(
        'invalid_request',
        'the author of a rule change is the name of the key that submits it',
        {
          issues: [
            {
              code: 'author_not_key_name',
              path: 'author',
              message: `author must be "${key.name}"`,
            },
          ],
        },
      )
  }

  /**
   * One command of a batch (SVC-046): decoded and checked like `POST /v1/commands`, then journaled;
   * every failure becomes that command's result in the one error format, with field paths from the
   * batch (`commands.<i>.command.<field>`).
   */
  const submitBatchItem = async (
    c: Context<AppEnv>,
    item: z.infer<typeof schemas.CommandBatchBody>['commands'][number],
    index: number,
  ): Promise<BatchItemResult> => {
    const at = `commands.${index}.command`
    try {
      const wire = item.command as Record<string, unknown>
      checkRulesChangeWire(c, wire)
      const decoded = decodeCommand(wire)
      if (!decoded.ok)
        throw new ServiceError('invalid_request', 'the command is not valid', {
          issues: decoded.issues,
        })
      const outcome = await service.submit(decoded.command, item.idempotencyKey)
      if (outcome.result.status !== 'ok')
        return failedItem(refusalError(outcome), outcome.sequence, at)
      return { status: 200, ...outcome }
    } catch (error) {
      if (error instanceof ServiceError) return failedItem(error, null, at)
      process.stderr.write(
        `lor serve: batch command ${index}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
      )
      return failedItem(
        new ServiceError('internal_error', 'an unexpected error occurred'),
        null,
        at,
      )
    }
  }

  app.get('/health', (c) =>
    jsonResponse(c, {
      status: 'ok',
      version: options.version ?? '0.1.0',
      sequence: service.engine.lastSequence,
      durableSequence: service.engine.durableSequence,
    }),
  )

  // ---- commands ----
  define(
    {
      method: 'post',
      path: '/v1/prices',
      access: 'operate',
      summary: 'Post a mark (and index) price',
      tag: 'commands',
      body: schemas.PriceBody,
    },
    (c, { body }) => submitWire(c, { type: 'mark_price', ...(body as object) }),
  )
  define(
    {
      method: 'post',
      path: '/v1/fills',
      access: 'operate',
      summary: 'Post a fill (trade) between an account and a counterparty (default @book)',
      tag: 'commands',
      body: schemas.FillBody,
    },
    (c, { body }) => submitWire(c, { type: 'trade', ...(body as object) }),
  )
  define(
    {
      method: 'post',
      path: '/v1/liquidation-fills',
      access: 'operate',
      summary: 'Post a fill of an open liquidation order',
      tag: 'commands',
      body: schemas.LiquidationFillBody,
    },
    (c, { body }) => submitWire(c, { type: 'liquidation_fill', ...(body as object) }),
  )
  define(
    {
      method: 'post',
      path: '/v1/liquidation-takeovers',
      access: 'operate',
      summary: 'Let the venue take over the rest of a liquidation order',
      tag: 'commands',
      body: schemas.LiquidationTakeoverBody,
    },
    (c, { body }) => submitWire(c, { type: 'liquidation_takeover', ...(body as object) }),
  )
  define(
    {
      method: 'post',
      path: '/v1/funding',
      access: 'operate',
      summary: 'Pay funding on a market',
      tag: 'commands',
      body: schemas.FundingBody,
    },
    (c, { body }) => submitWire(c, { type: 'funding', ...(body as object) }),
  )
  define(
    {
      method: 'post',
      path: '/v1/deposits',
      access: 'operate',
      summary: 'Credit a deposit to an account',
      tag: 'commands',
      body: schemas.TransferBody,
    },
    (c, { body }) => submitWire(c, { type: 'deposit', ...(body as object) }),
  )
  define(
    {
      method: 'post',
      path: '/v1/accounts/{id}/withdrawals',
      access: 'act_own_account',
      summary: 'Withdraw from an account (traders: their own)',
      tag: 'commands',
      params: schemas.AccountParams,
      body: schemas.TransferBody.omit({ account: true }),
    },
    (c, { params, body }) =>
      submitWire(c, { type: 'withdraw', account: params.id, ...(body as object) }),
  )
  define(
    {
      method: 'post',
      path: '/v1/insurance-fund-deposits',
      access: 'operate',
      summary: 'Add to an insurance-fund pool',
      tag: 'commands',
      body: schemas.InsuranceFundDepositBody,
    },
    (c, { body }) => submitWire(c, { type: 'insurance_fund_deposit', ...(body as object) }),
  )
  define(
    {
      method: 'post',
      path: '/v1/commands',
      access: 'operate',
      summary: 'Submit any command in the journal wire form (rules_change: admin only)',
      tag: 'commands',
      body: schemas.WireCommandBody,
    },
    (c, { body }) => {
      const wire = body as Record<string, unknown>
      checkRulesChangeWire(c, wire)
      return submitWire(c, wire)
    },
  )
  define(
    {
      method: 'post',
      path: '/v1/commands/batch',
      access: 'operate',
      summary: `Submit up to ${schemas.MAX_BATCH_COMMANDS} commands in the journal wire form, in order; each is validated, journaled and answered on its own (a rate-limit token per command; rules_change: admin only)`,
      tag: 'commands',
      body: schemas.CommandBatchBody,
      answer: schemas.CommandBatchResultSchema,
    },
    async (c, { body }) => {
      const { commands } = body as z.infer<typeof schemas.CommandBatchBody>
      if (c.req.header('idempotency-key') !== undefined)
        throw new ServiceError('invalid_request', 'a batch has no Idempotency-Key header', {
          issues: [
            {
              code: 'idempotency_key_per_command',
              path: 'Idempotency-Key',
              message: 'give each command its own idempotencyKey',
            },
          ],
        })
      // the request took one token; a batch takes one per command (SVC-046)
      const burst = limiter.burst
      if (burst > 0 && commands.length > burst)
        throw new ServiceError(
          'invalid_request',
          'the batch is larger than the rate limit allows',
          {
            issues: [
              {
                code: 'batch_above_burst',
                path: 'commands',
                message: `at most ${burst} commands per batch under this service's rate limit`,
              },
            ],
          },
        )
      const wait = limiter.take(c.get('key').id, commands.length - 1)
      if (wait !== null)
        throw new ServiceError('rate_limited', 'too many commands for this key', {
          headers: { 'Retry-After': String(wait) },
        })
      // submitted in order before any is awaited: they are journaled in this order and committed
      // together (group commit)
      const pending = commands.map((item, index) => submitBatchItem(c, item, index))
      return jsonResponse(c, { results: await Promise.all(pending) })
    },
  )
  define(
    {
      method: 'post',
      path: '/v1/rules',
      access: 'admin',
      summary:
        'Change the rule set (a preset or a document); journaled with the key name as author',
      tag: 'rules',
      body: schemas.RulesChangeBody,
    },
    (c, { body }) => {
      const request = body as z.infer<typeof schemas.RulesChangeBody>
      if ((request.preset === undefined) === (request.ruleSet === undefined))
        throw new ServiceError('invalid_request', 'give exactly one of preset or ruleSet', {
          issues: [{ code: 'one_of', path: '', message: 'give exactly one of preset or ruleSet' }],
        })
      const loaded =
        request.preset === undefined
          ? validateWithOverrides(request.ruleSet, {})
          : loadRuleSet(request.preset)
      if (!loaded.ok)
        throw new ServiceError('invalid_rule_set', 'the rule set does not load', {
          issues: loaded.issues.map((issue) => ({
            ...issue,
            path: issue.path === '' ? 'ruleSet' : `ruleSet.${issue.path}`,
          })),
        })
      const now = service.nextTimestamp()
      return submitCommand(c, {
        type: 'rules_change',
        ruleSet: loaded.ruleSet,
        author: c.get('key').name,
        effectiveTimeMs: request.effectiveTimeMs ?? now,
      })
    },
  )

  // ---- reads ----
  const state = () => service.engine.engineState
  define(
    {
      method: 'get',
      path: '/v1/markets',
      access: 'any',
      summary: 'Markets with marks, index prices and open interest',
      tag: 'markets',
    },
    (c) => jsonResponse(c, { markets: marketsView(state(), (market) => service.owns(market)) }),
  )
  define(
    {
      method: 'get',
      path: '/v1/markets/{market}/adl-queue',
      access: 'read',
      summary:
        "ADL queue: a side's positions in the order the rule set's ranking would deleverage them",
      tag: 'markets',
      params: schemas.MarketParams,
      query: schemas.AdlQueueQuery,
    },
    (c, { params, query }) => {
      const side = query.side === 'short' ? 'short' : 'long'
      const queue = adlQueue(state(), params.market ?? '', side)
      const limit = typeof query.limit === 'number' ? query.limit : 100
      return jsonResponse(c, {
        market: params.market,
        side,
        ranking: queue.ranking,
        entries: queue.entries.slice(0, limit),
      })
    },
  )
  define(
    {
      method: 'get',
      path: '/v1/accounts',
      access: 'read',
      summary: 'Account ids',
      tag: 'accounts',
      query: schemas.LimitQuery,
    },
    (c, { query }) => {
      const ids = accountIds(state())
      const limit = typeof query.limit === 'number' ? query.limit : 1000
      return jsonResponse(c, { total: ids.length, accounts: ids.slice(0, limit) })
    },
  )
  define(
    {
      method: 'get',
      path: '/v1/accounts/{id}',
      access: 'own_account',
      summary: 'Balances, positions and settings of an account',
      tag: 'accounts',
      params: schemas.AccountParams,
    },
    (c, { params }) => jsonResponse(c, accountView(state(), params.id ?? '')),
  )
  define(
    {
      method: 'get',
      path: '/v1/accounts/{id}/margin',
      access: 'own_account',
      summary: 'Margin evaluation at the marks (evaluateAccount, decimals as strings)',
      tag: 'accounts',
      params: schemas.AccountParams,
    },
    (c, { params }) => jsonResponse(c, marginView(state(), params.id ?? '')),
  )
  define(
    {
      method: 'get',
      path: '/v1/accounts/{id}/liquidation-prices',
      access: 'own_account',
      summary: 'Liquidation and bankruptcy prices of the positions',
      tag: 'accounts',
      params: schemas.AccountParams,
    },
    (c, { params }) => jsonResponse(c, liquidationPricesView(state(), params.id ?? '')),
  )
  define(
    {
      method: 'get',
      path: '/v1/accounts/{id}/adl',
      access: 'own_account',
      summary: "The account's rank in the ADL queue of each of its positions",
      tag: 'accounts',
      params: schemas.AccountParams,
    },
    (c, { params }) => jsonResponse(c, adlRanksOf(service, params.id ?? '')),
  )
  define(
    {
      method: 'get',
      path: '/v1/accounts/{id}/explain',
      access: 'own_account',
      summary: 'The journal entries that name the account, explained',
      tag: 'accounts',
      params: schemas.AccountParams,
      query: schemas.LimitQuery,
    },
    async (c, { params, query }) => {
      const id = params.id ?? ''
      if (!state().accounts.has(id)) throw new ServiceError('account_not_found', 'no such account')
      const limit = typeof query.limit === 'number' ? query.limit : 50
      return jsonResponse(c, await explainAccount(service.store, id, limit))
    },
  )
  define(
    {
      method: 'get',
      path: '/v1/funds',
      access: 'read',
      summary:
        'Insurance funds and pools, fee pools, deposits, withdrawals, uncovered losses, open liquidation orders',
      tag: 'funds',
    },
    (c) => jsonResponse(c, fundsView(state())),
  )
  define(
    {
      method: 'get',
      path: '/v1/risk/accounts-at-risk',
      access: 'read',
      summary: 'Accounts sorted by distance to liquidation, nearest first',
      tag: 'accounts',
      query: schemas.LimitQuery,
    },
    (c, { query }) =>
      jsonResponse(c, {
        accounts: accountsAtRiskView(state(), typeof query.limit === 'number' ? query.limit : 50),
      }),
  )
  define(
    {
      method: 'get',
      path: '/v1/journal/entries/{sequence}/explain',
      access: 'read',
      summary: 'Why a journal entry did what it did',
      tag: 'journal',
      params: schemas.SequenceParams,
    },
    async (c, { params }) => {
      const explanation = await explainEntry(service.store, Number(params.sequence))
      if (explanation === null)
        throw new ServiceError('entry_not_found', 'the journal has no such entry')
      return jsonResponse(c, explanation)
    },
  )
  define(
    {
      method: 'get',
      path: '/v1/rules',
      access: 'any',
      summary: 'The rule set in force and its versions',
      tag: 'rules',
    },
    (c) => {
      const current = state().rules
      return jsonResponse(c, {
        current: {
          id: current.id,
          version: current.version,
          venue: current.venue,
          markets: [...current.markets.keys()],
        },
        versions: service.ruleVersions.map((version) => ({
          index: version.index,
          sequence: version.sequence,
          id: version.id,
          version: version.version,
          author: version.author,
          effectiveTimeMs: version.effectiveTimeMs,
        })),
      })
    },
  )
  define(
    {
      method: 'get',
      path: '/v1/rules/versions/{index}',
      access: 'any',
      summary: 'One rule-set version in file form',
      tag: 'rules',
      params: schemas.IndexParams,
    },
    (c, { params }) =>
      jsonResponse(c, ruleSetToJson(service.ruleVersion(Number(params.index)).ruleSet)),
  )
  define(
    {
      method: 'get',
      path: '/v1/rules/diff',
      access: 'any',
      summary: 'Differences between two rule-set versions (default: the last two)',
      tag: 'rules',
      query: schemas.DiffQuery,
    },
    (c, { query }) => {
      const last = service.ruleVersions.length - 1
      const to = typeof query.to === 'number' ? query.to : last
      const from = typeof query.from === 'number' ? query.from : Math.max(0, to - 1)
      const before = service.ruleVersion(from)
      const after = service.ruleVersion(to)
      return jsonResponse(c, {
        from: { index: from, id: before.id, version: before.version },
        to: { index: to, id: after.id, version: after.version },
        changes: diffRuleSets(before.ruleSet, after.ruleSet),
      })
    },
  )

  // ---- simulations ----
  define(
    {
      method: 'post',
      path: '/v1/simulations',
      access: 'operate',
      summary: 'Start a simulation (lor simulate) on a worker thread',
      tag: 'simulations',
      body: schemas.SimulationBody,
    },
    (c, { body }) => {
      const request = body as z.infer<typeof schemas.SimulationBody>
      for (const preset of request.presets) {
        const loaded = loadRuleSet(preset)
        if (!loaded.ok)
          throw new ServiceError('invalid_rule_set', `preset ${preset} does not load`, {
            issues: loaded.issues.map((issue) => ({ ...issue, path: 'presets' })),
          })
      }
      const status = simulations.start(
        {
          presets: request.presets,
          accounts: request.accounts,
          seeds: request.seeds,
          seed: request.seed,
          ...(request.model === undefined ? {} : { model: request.model }),
          ...(request.insuranceFund === undefined ? {} : { insuranceFund: request.insuranceFund }),
        },
        c.get('key').name,
      )
      return jsonResponse(c, status, 202)
    },
  )
  define(
    {
      method: 'get',
      path: '/v1/simulations',
      access: 'read',
      summary: 'Simulations, newest first',
      tag: 'simulations',
    },
    (c) => jsonResponse(c, { simulations: simulations.list() }),
  )
  define(
    {
      method: 'get',
      path: '/v1/simulations/{simulation}',
      access: 'read',
      summary: "A simulation's progress and summary",
      tag: 'simulations',
      params: schemas.SimulationParams,
    },
    (c, { params }) => jsonResponse(c, simulations.get(params.simulation ?? '')),
  )
  define(
    {
      method: 'get',
      path: '/v1/simulations/{simulation}/report',
      access: 'read',
      summary: 'The HTML report of a finished simulation',
      tag: 'simulations',
      params: schemas.SimulationParams,
      produces: 'text/html',
    },
    async (c, { params }) => {
      const html = await simulations.report(params.simulation ?? '')
      c.header(
        'Content-Security-Policy',
        "default-src 'none'; style-src 'unsafe-inline'; img-src data:; script-src 'unsafe-inline'",
      )
      return c.html(html)
    },
  )

  // ---- keys ----
  define(
    {
      method: 'post',
      path: '/v1/keys',
      access: 'admin',
      summary: 'Create an API key (the key text is shown once)',
      tag: 'keys',
      body: schemas.CreateKeyBody,
    },
    async (c, { body }) => {
      const request = body as z.infer<typeof schemas.CreateKeyBody>
      if ((request.role === 'trader') !== (request.account !== undefined))
        throw new ServiceError(
          'invalid_request',
          'a trader key names its account; other roles do not',
          {
            issues: [
              {
                code: 'account_for_traders_only',
                path: 'account',
                message: 'give account exactly for role trader',
              },
            ],
          },
        )
      const created = await service.keys.create({
        name: request.name,
        role: request.role,
        account: request.account ?? null,
        nowMs: service.clock(),
      })
      return jsonResponse(c, created, 201)
    },
  )
  define(
    {
      method: 'get',
      path: '/v1/keys',
      access: 'admin',
      summary: 'API keys (never their secrets)',
      tag: 'keys',
    },
    async (c) => jsonResponse(c, { keys: await service.keys.list() }),
  )
  define(
    {
      method: 'delete',
      path: '/v1/keys/{keyId}',
      access: 'admin',
      summary: 'Revoke an API key',
      tag: 'keys',
      params: schemas.KeyParams,
    },
    async (c, { params }) => {
      const revoked = await service.keys.revoke(params.keyId ?? '', service.clock())
      if (!revoked) throw new ServiceError('key_not_found', 'no such active key')
      return jsonResponse(c, { revoked: params.keyId })
    },
  )

  // ---- live updates for API clients ----
  define(
    {
      method: 'get',
      path: '/v1/updates',
      access: 'read',
      summary: 'Server-sent events: one `update` per journaled command',
      tag: 'journal',
      produces: 'text/event-stream',
    },
    (c) => updatesStream(c, service),
  )

  app.openAPIRegistry.registerComponent('securitySchemes', 'apiKey', {
    type: 'http',
    scheme: 'bearer',
    description: 'Authorization: Bearer <key> (or the X-API-Key header)',
  })
  define(
    {
      method: 'get',
      path: '/openapi.json',
      access: 'any',
      summary: 'This document',
      tag: 'service',
    },
    (c) =>
      jsonResponse(
        c,
        app.getOpenAPIDocument({
          openapi: '3.0.3',
          info: {
            title: 'lor risk service',
            version: options.version ?? '0.1.0',
            description:
              'Margin, liquidation and loss allocation of derivatives venues, exactly. Decimals are strings. Errors: { error: { code, message, issues? } }.',
          },
        }),
      ),
  )
  return app
}

/** A server-sent event stream of updates (one `update` event per journaled command). */
export function updatesStream(c: Context, service: RiskService): Response {
  return streamSSE(c, async (stream) => {
    let closed = false
    let wake: (() => void) | null = null
    const queue: string[] = []
    const unsubscribe = service.subscribe((update) => {
      queue.push(
        JSON.stringify({
          sequence: update.sequence,
          command: update.command,
          status: update.outcome.result.status,
        }),
      )
      wake?.()
    })
    stream.onAbort(() => {
      closed = true
      wake?.()
    })
    try {
      await stream.writeSSE({ event: 'ready', data: String(service.engine.lastSequence) })
      while (!closed) {
        if (queue.length === 0) {
          await new Promise<void>((resolve) => {
            wake = resolve
            setTimeout(resolve, 15_000)
          })
          wake = null
          if (queue.length === 0 && !closed) await stream.writeSSE({ event: 'ping', data: '' })
          continue
        }
        const batch = queue.splice(0, queue.length)
        const last = batch.at(-1) ?? ''
        await stream.writeSSE({
          event: 'update',
          data: last,
          id: String((JSON.parse(last) as { sequence: number }).sequence),
        })
      }
    } finally {
      unsubscribe()
    }
  })
}

/** The account's rank in each of its markets' ADL queues (SVC-036). */
export function adlRanksOf(service: RiskService, id: string): object {
  const state = service.engine.engineState
  accountRisk(state, id)
  const account = state.accounts.get(id)
  const ranks = [...(account?.positions.values() ?? [])].map((position) => {
    const side = position.size > 0n ? 'long' : 'short'
    const queue = adlQueue(state, position.market, side)
    const entry = queue.entries.find((each) => each.account === id)
    return {
      market: position.market,
      side,
      ranking: queue.ranking,
      rank: entry?.rank ?? null,
      of: queue.entries.length,
      score: entry?.score ?? null,
    }
  })
  return { account: id, positions: ranks }
}
