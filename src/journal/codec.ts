/**
 * The wire form of commands (docs/spec/journal.md, JNL-011): JSON with every decimal as a string
 * ("0.5"), every time as integer milliseconds, rule sets in their file form (`ruleSetToJson`).
 * `decodeCommand` turns untrusted JSON into an engine command or into issues {code, path, message};
 * it never throws. `encodeCommand` is its exact inverse on valid commands, and canonical, so the
 * journal stores (and hashes) one text per command.
 */
import type { Command, Liquidity, RulesChangeCommand } from '../core/engine/commands.ts'
import { toCanonicalValue } from '../core/engine/canonical.ts'
import type { MarginMode } from '../core/model/account.ts'
import { type Fixed, formatFixed, parseFixed } from '../core/num/fixed.ts'
import { parseRuleSet, ruleSetToJson } from '../core/rules/parse.ts'
import { canonicalJson, type JsonValue } from './canonical.ts'

/**
 * A rule change as the journal records it: the engine's `rules_change` plus who made it and from
 * when the new rules describe the venue (never after the command's own time).
 */
export interface JournaledRulesChange extends RulesChangeCommand {
  /** Who made the change (a person, a process), for the audit trail. */
  readonly author: string
  /** Milliseconds since the Unix epoch (UTC) from which the rules apply; ≤ the command's timestampMs. */
  readonly effectiveTimeMs: number
}

/** Every command the journal takes: the engine's, with rule changes carrying their author and time. */
export type JournalCommand = Exclude<Command, RulesChangeCommand> | JournaledRulesChange

/** One problem with an input: stable snake_case code, path of the field, readable message. */
export interface InputIssue {
  readonly code: string
  readonly path: string
  readonly message: string
}

/** Outcome of decoding: a command, or every issue found. */
export type DecodeCommandResult =
  | { readonly ok: true; readonly command: JournalCommand }
  | { readonly ok: false; readonly issues: readonly InputIssue[] }

type FieldKind =
  | 'text'
  | 'decimal'
  | 'decimal_or_null'
  | 'liquidity'
  | 'margin_mode'
  | 'time'
  | 'rule_set'

interface FieldSpec {
  readonly name: string
  readonly kind: FieldKind
  readonly optional?: true
}

const account: FieldSpec = { name: 'account', kind: 'text' }
const market: FieldSpec = { name: 'market', kind: 'text' }
const asset: FieldSpec = { name: 'asset', kind: 'text' }
const amount: FieldSpec = { name: 'amount', kind: 'decimal' }

/** The fields of each command type, in the order the docs list them. */
const COMMAND_FIELDS = {
  deposit: [account, asset, amount],
  withdraw: [account, asset, amount],
  trade: [
    account,
    market,
    { name: 'size', kind: 'decimal' },
    { name: 'price', kind: 'decimal' },
    { name: 'liquidity', kind: 'liquidity' },
    { name: 'counterparty', kind: 'text', optional: true },
    { name: 'counterpartyLiquidity', kind: 'liquidity', optional: true },
  ],
  mark_price: [
    market,
    { name: 'mark', kind: 'decimal' },
    { name: 'index', kind: 'decimal', optional: true },
    { name: 'volatility', kind: 'decimal', optional: true },
  ],
  funding: [market, { name: 'rate', kind: 'decimal' }],
  set_margin_mode: [account, market, { name: 'marginMode', kind: 'margin_mode' }],
  add_isolated_margin: [account, market, amount],
  set_leverage: [account, market, { name: 'leverage', kind: 'decimal_or_null' }],
  expire: [market, { name: 'settlementPrice', kind: 'decimal' }],
  liquidation_fill: [
    { name: 'orderId', kind: 'text' },
    { name: 'size', kind: 'decimal' },
    { name: 'price', kind: 'decimal' },
    { name: 'counterparty', kind: 'text', optional: true },
    { name: 'availableVolume', kind: 'decimal', optional: true },
  ],
  liquidation_takeover: [{ name: 'orderId', kind: 'text' }],
  insurance_fund_deposit: [{ name: 'fund', kind: 'text' }, asset, amount],
  rules_change: [
    { name: 'ruleSet', kind: 'rule_set' },
    { name: 'author', kind: 'text' },
    { name: 'effectiveTimeMs', kind: 'time' },
  ],
} as const satisfies Record<Command['type'], readonly FieldSpec[]>

type CommandType = keyof typeof COMMAND_FIELDS

const LIQUIDITIES: readonly Liquidity[] = ['maker', 'taker']
const MARGIN_MODES: readonly MarginMode[] = ['cross', 'isolated']

function isCommandType(value: unknown): value is CommandType {
  return typeof value === 'string' && Object.hasOwn(COMMAND_FIELDS, value)
}

/** The command types the wire form knows. */
export const WIRE_COMMAND_TYPES = Object.keys(COMMAND_FIELDS) as CommandType[]

/**
 * Decodes a command from its wire form (already parsed JSON). Unknown fields, missing fields,
 * wrong types and malformed decimals are reported, each with its path under `pathPrefix`.
 */
export function decodeCommand(input: unknown, pathPrefix = ''): DecodeCommandResult {
  const issues: InputIssue[] = []
  const at = (field: string) => (pathPrefix === '' ? field : `${pathPrefix}.${field}`)
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    return {
      ok: false,
      issues: [
        { code: 'not_an_object', path: pathPrefix, message: 'a command must be a JSON object' },
      ],
    }
  }
  const record = input as Record<string, unknown>
  const type = record.type
  if (!isCommandType(type)) {
    const known = WIRE_COMMAND_TYPES.join(', ')
    const code = type === undefined ? 'missing_field' : 'unknown_command_type'
    return {
      ok: false,
      issues: [{ code, path: at('type'), message: `type must be one of ${known}` }],
    }
  }
  const specs: readonly FieldSpec[] = COMMAND_FIELDS[type]
  const command: Record<string, unknown> = { type }
  for (const key of Object.keys(record)) {
    if (key !== 'type' && !specs.some((spec) => spec.name === key)) {
      issues.push({
        code: 'unknown_field',
        path: at(key),
        message: `${type} has no field "${key}"`,
      })
    }
  }
  for (const spec of specs) {
    const value = record[spec.name]
    if (value === undefined) {
      if (spec.optional !== true)
        issues.push({
          code: 'missing_field',
          path: at(spec.name),
          message: `${type} needs "${spec.name}"`,
        })
      continue
    }
    const decoded = decodeField(spec, value, at(spec.name), issues)
    if (decoded !== undefined) command[spec.name] = decoded
  }
  if (issues.length > 0) return { ok: false, issues }
  return { ok: true, command: command as unknown as JournalCommand }
}

function decodeField(spec: FieldSpec, value: unknown, path: string, issues: InputIssue[]): unknown {
  const fail = (code: string, message: string): undefined => {
    issues.push({ code, path, message })
    return undefined
  }
  switch (spec.kind) {
    case 'text':
      if (typeof value !== 'string' || value.length === 0)
        return fail('not_a_string', `${spec.name} must be a non-empty string`)
      return value
    case 'decimal_or_null':
      if (value === null) return null
      return decodeDecimal(spec.name, value, fail)
    case 'decimal':
      return decodeDecimal(spec.name, value, fail)
    case 'liquidity':
      if (!LIQUIDITIES.includes(value as Liquidity))
        return fail('not_a_choice', `${spec.name} must be one of ${LIQUIDITIES.join(', ')}`)
      return value
    case 'margin_mode':
      if (!MARGIN_MODES.includes(value as MarginMode))
        return fail('not_a_choice', `${spec.name} must be one of ${MARGIN_MODES.join(', ')}`)
      return value
    case 'time':
      if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
        return fail('not_a_time', `${spec.name} must be whole milliseconds since the Unix epoch`)
      }
      return value
    case 'rule_set': {
      const parsed = parseRuleSet(value)
      if (parsed.ok) return parsed.ruleSet
      for (const issue of parsed.issues)
        issues.push({ ...issue, path: issue.path === '' ? path : `${path}.${issue.path}` })
      return undefined
    }
  }
}

function decodeDecimal(
  name: string,
  value: unknown,
  fail: (code: string, message: string) => undefined,
): Fixed | undefined {
  if (typeof value !== 'string')
    return fail('not_a_decimal_string', `${name} must be a decimal written as a string, e.g. "0.5"`)
  const parsed = parseFixed(value)
  return parsed.ok ? parsed.value : fail(parsed.code, parsed.message)
}

/** The wire form of a command, as a JSON value (decimals as strings, rule sets in file form). */
export function commandToJson(command: JournalCommand): JsonValue {
  const specs: readonly FieldSpec[] = COMMAND_FIELDS[command.type]
  const record = command as unknown as Record<string, unknown>
  const json: Record<string, JsonValue> = { type: command.type }
  for (const spec of specs) {
    const value = record[spec.name]
    if (value === undefined) continue
    json[spec.name] = fieldToJson(spec.kind, value)
  }
  return json
}

function fieldToJson(kind: FieldKind, value: unknown): JsonValue {
  switch (kind) {
    case 'decimal':
      return formatFixed(value as Fixed)
    case 'decimal_or_null':
      return value === null ? null : formatFixed(value as Fixed)
    case 'rule_set':
      return ruleSetToJson(value as JournaledRulesChange['ruleSet']) as unknown as JsonValue
    case 'text':
    case 'liquidity':
    case 'margin_mode':
    case 'time':
      return value as JsonValue
  }
}

/** The canonical JSON text of a command: what the journal stores and hashes. */
export function encodeCommand(command: JournalCommand): string {
  return canonicalJson(commandToJson(command))
}

/** Canonical JSON of engine output (results, events): Fixed as decimal strings, keys sorted. */
export function encodeEngineValue(value: unknown): string {
  return canonicalJson(toCanonicalValue(value))
}

/** Parses a JSON text and decodes the command in it (issue `not_json` when it is not JSON). */
export function decodeCommandText(text: string): DecodeCommandResult {
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch (error) {
    return {
      ok: false,
      issues: [
        {
          code: 'not_json',
          path: '',
          message: error instanceof Error ? error.message : 'not JSON',
        },
      ],
    }
  }
  return decodeCommand(parsed)
}
