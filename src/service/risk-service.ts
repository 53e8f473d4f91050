/**
 * The risk service's state (docs/spec/service.md): the journaled engine, the key ring, the rule-set
 * history, the live-update hub and the simulations, shared by the HTTP API, the dashboard and the
 * NATS bridge. Every command goes through `submit`, which stamps it with a non-decreasing time,
 * refuses markets owned by another process, journals it and tells the subscribers what happened.
 */
import { randomUUID } from 'node:crypto'
import type { JsonValue } from '../core/engine/canonical.ts'
import { parseRuleSet } from '../core/rules/parse.ts'
import type { RuleSet } from '../core/rules/rule-set.ts'
import type { JournalCommand } from '../journal/codec.ts'
import { ruleSetOfGenesis } from '../journal/genesis.ts'
import type { JournaledEngine, SubmitOutcome } from '../journal/journaled-engine.ts'
import { readEntries } from '../journal/replay.ts'
import type { JournalStore } from '../journal/store.ts'
import { ServiceError } from './errors.ts'
import type { KeyRing } from './keys.ts'

/** One version of the rules in force: the genesis (index 0) or an applied rule change. */
export interface RuleVersion {
  readonly index: number
  /** The journal entry of the rule change; null for the genesis. */
  readonly sequence: number | null
  readonly id: string
  readonly version: string
  readonly author: string | null
  readonly effectiveTimeMs: number | null
  readonly ruleSet: RuleSet
}

/** What an applied (or refused) command did, for live views and the NATS publisher. */
export interface ServiceUpdate {
  readonly sequence: number
  readonly command: JsonValue
  readonly outcome: SubmitOutcome
}

/** A subscriber to updates. */
export type UpdateListener = (update: ServiceUpdate) => void

export interface RiskServiceOptions {
  readonly engine: JournaledEngine
  readonly store: JournalStore
  readonly keys: KeyRing
  /** Markets this process owns (`--markets`); empty: every market. */
  readonly markets?: readonly string[]
  /** The clock (ms since the epoch); default Date.now. */
  readonly now?: () => number
}

/** Market of a command, when it names one directly. */
export function marketOfCommand(command: JournalCommand): string | null {
  return 'market' in command && typeof command.market === 'string' ? command.market : null
}

/** The shared state of a running service. */
export class RiskService {
  readonly engine: JournaledEngine
  readonly store: JournalStore
  readonly keys: KeyRing
  readonly ownedMarkets: ReadonlySet<string>
  readonly ruleVersions: RuleVersion[] = []
  private readonly listeners = new Set<UpdateListener>()
  private readonly now: () => number
  private lastTimestampMs: number

  private constructor(options: RiskServiceOptions) {
    this.engine = options.engine
    this.store = options.store
    this.keys = options.keys
    this.ownedMarkets = new Set(options.markets ?? [])
    this.now = options.now ?? Date.now
    this.lastTimestampMs = options.engine.engineState.lastTimestampMs ?? 0
  }

  /** Builds the service and reads the rule-set history from the journal. */
  static async open(options: RiskServiceOptions): Promise<RiskService> {
    const service = new RiskService(options)
    await service.loadRuleHistory()
    return service
  }

  /** Whether this process owns `market` (every market when `--markets` is not given). */
  owns(market: string): boolean {
    return this.ownedMarkets.size === 0 || this.ownedMarkets.has(market)
  }

  /** Milliseconds for the next command: the clock, never before the previous command. */
  nextTimestamp(): number {
    this.lastTimestampMs = Math.max(this.now(), this.lastTimestampMs)
    return this.lastTimestampMs
  }

  /** The current time on the service's clock. */
  clock(): number {
    return this.now()
  }

  /** Subscribes to updates; returns the unsubscribe function. */
  subscribe(listener: UpdateListener): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  /**
   * Journals one command (SVC-040): refuses a market owned by another process, stamps the time,
   * waits until it is durable. The idempotency key defaults to a random one (no retry safety).
   */
  async submit(
    command: JournalCommand,
    idempotencyKey: string | undefined,
    timestampMs?: number,
  ): Promise<SubmitOutcome> {
    const market = marketOfCommand(command)
    if (market !== null && !this.owns(market))
      throw new ServiceError('market_not_owned', `market ${market} is served by another process`)
    const time = timestampMs ?? this.nextTimestamp()
    if (timestampMs !== undefined) this.lastTimestampMs = Math.max(this.lastTimestampMs, time)
    let outcome: SubmitOutcome
    try {
      outcome = await this.engine.submit(command, {
        idempotencyKey: idempotencyKey ?? `lor-service-${randomUUID()}`,
        timestampMs: time,
      })
    } catch (error) {
      if (error instanceof Error && 'code' in error && error.code === 'engine_halted')
        throw new ServiceError(
          'engine_halted',
          'the journal stopped accepting commands; restart the service',
        )
      throw error
    }
    if (outcome.sequence !== null && !outcome.duplicate) {
      if (command.type === 'rules_change' && outcome.result.status === 'ok')
        this.recordRuleVersion(outcome.sequence, command)
      const update: ServiceUpdate = {
        sequence: outcome.sequence,
        command: commandSummary(command),
        outcome,
      }
      for (const listener of this.listeners) listener(update)
    }
    return outcome
  }

  /** The rule version at `index`, or `rule_version_not_found`. */
  ruleVersion(index: number): RuleVersion {
    const version = this.ruleVersions[index]
    if (version === undefined)
      throw new ServiceError('rule_version_not_found', `no rule version ${index}`)
    return version
  }

  private recordRuleVersion(
    sequence: number,
    command: Extract<JournalCommand, { type: 'rules_change' }>,
  ): void {
    this.ruleVersions.push({
      index: this.ruleVersions.length,
      sequence,
      id: command.ruleSet.id,
      version: command.ruleSet.version,
      author: command.author,
      effectiveTimeMs: command.effectiveTimeMs,
      ruleSet: command.ruleSet,
    })
  }

  private async loadRuleHistory(): Promise<void> {
    const genesis = await this.store.readGenesis()
    const initial = genesis === null ? this.engine.engineState.rules : ruleSetOfGenesis(genesis)
    this.ruleVersions.push({
      index: 0,
      sequence: null,
      id: initial.id,
      version: initial.version,
      author: null,
      effectiveTimeMs: null,
      ruleSet: initial,
    })
    for await (const entry of readEntries(this.store)) {
      if (!entry.commandJson.includes('"type":"rules_change"')) continue
      if (!entry.resultJson.startsWith('{"status":"ok"')) continue
      const document = JSON.parse(entry.commandJson) as {
        author: string
        effectiveTimeMs: number
        ruleSet: unknown
      }
      const parsed = parseRuleSet(document.ruleSet)
      if (!parsed.ok) continue
      this.ruleVersions.push({
        index: this.ruleVersions.length,
        sequence: entry.sequence,
        id: parsed.ruleSet.id,
        version: parsed.ruleSet.version,
        author: document.author,
        effectiveTimeMs: document.effectiveTimeMs,
        ruleSet: parsed.ruleSet,
      })
    }
  }
}

/** A command in words-ready JSON (rule sets reduced to id and version). */
function commandSummary(command: JournalCommand): JsonValue {
  if (command.type === 'rules_change')
    return {
      type: command.type,
      id: command.ruleSet.id,
      version: command.ruleSet.version,
      author: command.author,
    }
  return { type: command.type, market: marketOfCommand(command) }
}
