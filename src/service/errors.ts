/**
 * The service's one error format (docs/spec/service.md, SVC-010):
 * `{ "error": { "code", "message", "issues"?: [{ code, path, message }] } }`, with the HTTP status
 * of every code in ONE table below. Engine refusals (src/core/engine/result-codes.ts) and stream
 * refusals of the journaled engine answer 422 and 409 under their own codes.
 */
import { REFUSAL_CODES } from '../core/engine/result-codes.ts'

/** One problem with an input field. */
export interface ServiceIssue {
  readonly code: string
  readonly path: string
  readonly message: string
}

/** The body of every error answer. */
export interface ErrorBody {
  readonly error: {
    readonly code: string
    readonly message: string
    readonly issues?: readonly ServiceIssue[]
  }
}

/** Service codes and their HTTP status: the single mapping table (SVC-010). */
const SERVICE_CODES = {
  /** The body is not JSON. */
  malformed_json: 400,
  /** The body or a parameter does not have the documented shape; `issues` says where. */
  invalid_request: 400,
  /** No API key was given, or it is not a key of this service. */
  unauthenticated: 401,
  /** The key's role may not use this endpoint, or a trader asked for another account. */
  forbidden: 403,
  not_found: 404,
  account_not_found: 404,
  entry_not_found: 404,
  simulation_not_found: 404,
  key_not_found: 404,
  rule_version_not_found: 404,
  method_not_allowed: 405,
  /** A market owned by another `lor serve` process (`--markets`). */
  market_not_owned: 409,
  /** Too many simulations are running already; retry when one finishes. */
  simulation_limit_reached: 409,
  /** The body is larger than the service accepts. */
  payload_too_large: 413,
  unsupported_media_type: 415,
  /** The key spent its request budget; retry after the `Retry-After` seconds. */
  rate_limited: 429,
  /** A rule set (preset or document) that does not load or validate. */
  invalid_rule_set: 422,
  /** The journal stopped after a failed append; the service must be restarted. */
  engine_halted: 503,
  /** An unexpected failure; the message never echoes internals. */
  internal_error: 500,
} as const

/** Stream refusals of the journaled engine: the command was not journaled. */
const STREAM_CODES = [
  'sequence_not_next',
  'timestamp_before_previous',
  'timestamp_invalid',
  'idempotency_key_invalid',
  'idempotency_key_conflict',
  'rules_change_not_yet_effective',
] as const

/** Every code the service answers with. */
export type ServiceErrorCode = keyof typeof SERVICE_CODES

/** HTTP status of an error code (SVC-010); unknown codes are 500. */
export function statusOfCode(code: string): number {
  if (Object.hasOwn(SERVICE_CODES, code)) return SERVICE_CODES[code as ServiceErrorCode]
  if ((STREAM_CODES as readonly string[]).includes(code)) return 409
  if ((REFUSAL_CODES as readonly string[]).includes(code)) return 422
  return 500
}

/** Every code with its status, for the docs and the OpenAPI description. */
export function errorCodeTable(): readonly { readonly code: string; readonly status: number }[] {
  const codes = [...Object.keys(SERVICE_CODES), ...STREAM_CODES, ...REFUSAL_CODES]
  return codes.map((code) => ({ code, status: statusOfCode(code) }))
}

/** An expected failure answered in the error format. */
export class ServiceError extends Error {
  override readonly name = 'ServiceError'
  readonly code: string
  readonly issues: readonly ServiceIssue[] | undefined
  /** Extra response headers (e.g. Retry-After). */
  readonly headers: Readonly<Record<string, string>>

  constructor(
    code: ServiceErrorCode | (typeof REFUSAL_CODES)[number] | (typeof STREAM_CODES)[number],
    message: string,
    options: {
      readonly issues?: readonly ServiceIssue[]
      readonly headers?: Readonly<Record<string, string>>
    } = {},
  ) {
    super(message)
    this.code = code
    this.issues = options.issues
    this.headers = options.headers ?? {}
  }

  get status(): number {
    return statusOfCode(this.code)
  }

  toBody(): ErrorBody {
    return errorBody(this.code, this.message, this.issues)
  }
}

/** The error body for a code and message. */
export function errorBody(
  code: string,
  message: string,
  issues?: readonly ServiceIssue[],
): ErrorBody {
  return issues === undefined || issues.length === 0
    ? { error: { code, message } }
    : { error: { code, message, issues } }
}
