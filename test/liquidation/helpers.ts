// Shared helpers of the liquidation tests: a preset with patches, an engine driver, event filters.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import {
  type Command,
  createEngineState,
  type EngineEvent,
  type EngineState,
  execute,
} from '../../src/core/engine/index.ts'
import { type Fixed, fixedOf, ZERO } from '../../src/core/num/fixed.ts'
import { parseRuleSet } from '../../src/core/rules/parse.ts'
import type { RuleSet } from '../../src/core/rules/rule-set.ts'

const root = join(import.meta.dirname, '..', '..')

/** The parts of a preset file the tests edit. */
export interface PresetDocument {
  markets: Record<string, unknown>[]
  liquidation: { adl: Record<string, unknown> } & Record<string, unknown>
}

/** A shipped preset with `edit` applied to its file document (patches of the test's own). */
export function preset(id: string, edit: (document: PresetDocument) => void = () => {}): RuleSet {
  const document = JSON.parse(
    readFileSync(join(root, 'presets', `${id}.json`), 'utf8'),
  ) as PresetDocument
  edit(document)
  const parsed = parseRuleSet(document)
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues))
  return parsed.ruleSet
}

/** Sets the fields of every market of a preset document. */
export function everyMarket(document: PresetDocument, fields: Record<string, unknown>): void {
  for (const market of document.markets) Object.assign(market, fields)
}

export const d = fixedOf

/** Runs commands in order at `timestampMs`; throws on a refusal so a test cannot pass silently. */
export class Driver {
  readonly state: EngineState
  readonly events: EngineEvent[] = []
  timestampMs = 0

  /** `verify: false` leaves the whole-state checks to the caller (the always-on checks still run). */
  constructor(rules: RuleSet, options: { readonly verify?: boolean } = {}) {
    this.state = createEngineState(rules, options)
  }

  run(command: Command): readonly EngineEvent[] {
    const outcome = execute(this.state, command, {
      sequence: this.state.lastSequence + 1,
      timestampMs: this.timestampMs,
    })
    if (outcome.result.status !== 'ok')
      throw new Error(
        JSON.stringify(outcome.result, (_key, value: unknown) =>
          typeof value === 'bigint' ? String(value) : value,
        ),
      )
    this.events.push(...outcome.events)
    return outcome.events
  }

  try(command: Command) {
    return execute(this.state, command, {
      sequence: this.state.lastSequence + 1,
      timestampMs: this.timestampMs,
    })
  }

  balance(account: string, asset: string): Fixed {
    return this.state.accounts.get(account)?.balances.get(asset) ?? ZERO
  }

  size(account: string, market: string): Fixed {
    return this.state.accounts.get(account)?.positions.get(market)?.size ?? ZERO
  }

  pool(fund: string, asset: string): Fixed {
    return this.state.liquidation.fundPools.get(fund)?.get(asset) ?? ZERO
  }
}

export function ofType<T extends EngineEvent['type']>(
  events: readonly EngineEvent[],
  type: T,
): Extract<EngineEvent, { type: T }>[] {
  return events.filter((event): event is Extract<EngineEvent, { type: T }> => event.type === type)
}
