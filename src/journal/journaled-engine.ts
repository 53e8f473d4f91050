/**
 * The journaled engine (docs/spec/journal.md, JNL-012..JNL-016): the engine behind its journal.
 *
 * `submit` checks the command's place in the stream (sequence, time, idempotency key), executes it
 * on the engine, appends the entry, and resolves only when the append is durable. Commands submitted
 * while an append is in flight are executed at once and appended together in the next batch (group
 * commit), so throughput does not wait on each fsync. A retried idempotency key answers the
 * recorded outcome without executing again. Refused commands (a business refusal such as
 * `insufficient_balance`) are journaled too: the journal is the complete input stream.
 *
 * Startup is recovery (`recoverState`): latest snapshot plus verified tail. If an append fails the
 * engine halts, because its state is ahead of the journal: every later call fails with
 * `engine_halted` and a restart recovers from the journal (crash-only).
 */
import { snapshotState } from '../core/engine/canonical.ts'
import { execute } from '../core/engine/execute.ts'
import type { EngineState } from '../core/engine/state.ts'
import type { RuleSet } from '../core/rules/rule-set.ts'
import { canonicalJsonOfData, type JsonValue, sha256Hex } from './canonical.ts'
import { encodeCommand, type JournalCommand } from './codec.ts'
import { headOf, type JournalEntry, type JournalHead, sealEntry } from './entry.ts'
import { JournalError } from './errors.ts'
import { genesisOf } from './genesis.ts'
import { type Recovery, type RecoveryOptions, recoverState, snapshotText } from './replay.ts'
import type { StateHasher } from './state-hasher.ts'
import type { JournalSnapshot, JournalStore } from './store.ts'

/** How a command is placed in the stream. */
export interface SubmitOptions {
  /** Unique per command; a retry with the same key answers the recorded outcome. */
  readonly idempotencyKey: string
  /** Milliseconds since the Unix epoch (UTC); never before the previous command's. */
  readonly timestampMs: number
  /** When given, must be the next journal sequence (the caller's own ordering check). */
  readonly sequence?: number
}

/** Codes of commands refused before they reach the engine; these are not journaled. */
export type StreamRefusalCode =
  | 'sequence_not_next'
  | 'timestamp_before_previous'
  | 'timestamp_invalid'
  | 'idempotency_key_invalid'
  /** The key was used for a different command. */
  | 'idempotency_key_conflict'
  /** A rules_change whose effectiveTimeMs is after the command's time. */
  | 'rules_change_not_yet_effective'

/** A result as JSON: `status` is `ok` or a result code, other fields explain it. */
export type ResultJson = { readonly status: string; readonly [field: string]: JsonValue }

/** What `submit` answers. */
export interface SubmitOutcome {
  /** The journal sequence of the command, or null when it was refused before the engine. */
  readonly sequence: number | null
  readonly result: ResultJson
  /** The events, as recorded (decimals as strings). */
  readonly events: readonly JsonValue[]
  /** True when the answer is the recorded outcome of an earlier submit with the same key. */
  readonly duplicate: boolean
}

export interface JournaledEngineOptions {
  readonly store: JournalStore
  /** The rule set a new (empty) journal starts from. Ignored when the journal has a genesis. */
  readonly ruleSet?: RuleSet
  /** Store a snapshot every this many entries (default 10,000; 0 never). */
  readonly snapshotEvery?: number
  readonly recovery?: RecoveryOptions
  /**
   * The state hash of each entry is computed incrementally (JNL-020); every this many entries
   * (and at the first) it is also computed the full way and compared, an `InvariantError` on a
   * difference halting the engine. Default 1,000; 0 never compares.
   */
  readonly stateHashCheckEvery?: number
}

/** How often the journaled engine compares its incremental state hash with the full one. */
export const DEFAULT_STATE_HASH_CHECK_EVERY = 1_000

interface PendingEntry {
  readonly entry: JournalEntry
  readonly outcome: SubmitOutcome
  readonly resolve: (outcome: SubmitOutcome) => void
  readonly reject: (error: unknown) => void
  readonly snapshot: JournalSnapshot | null
}

/** The engine with its journal: see the module note. */
export class JournaledEngine {
  /** What startup recovered (snapshot used, entries replayed, state hash). */
  readonly recovery: Recovery
  private readonly store: JournalStore
  private readonly state: EngineState
  private readonly hasher: StateHasher
  private readonly snapshotEvery: number
  /** The last durable entry. */
  private head: JournalHead | null
  /** The last executed entry (durable, in flight or pending): where the next command goes. */
  private tip: JournalHead | null
  private readonly genesisHash: string
  /** Entries executed but not yet durable, in order. */
  private pending: PendingEntry[] = []
  /** Keys of executed, not yet durable entries → their completion. */
  private readonly pendingByKey = new Map<
    string,
    { readonly commandJson: string; readonly done: Promise<SubmitOutcome> }
  >()
  private flushing: Promise<void> | null = null
  /** Submits run their checks and execution one at a time, in call order. */
  private gate: Promise<unknown> = Promise.resolve()
  private halted: unknown = null

  private constructor(store: JournalStore, recovery: Recovery, snapshotEvery: number) {
    this.store = store
    this.recovery = recovery
    this.state = recovery.state
    this.hasher = recovery.hasher
    this.head = recovery.head
    this.tip = recovery.head
    this.genesisHash = recovery.genesis.genesisHash
    this.snapshotEvery = snapshotEvery
  }

  /**
   * Opens the engine on a journal: writes the genesis of a new journal from `ruleSet`, then
   * recovers (JNL-006). Throws a `JournalError` on a journal that cannot be trusted (JNL-008).
   */
  static async open(options: JournaledEngineOptions): Promise<JournaledEngine> {
    const { store } = options
    if ((await store.readGenesis()) === null && (await store.head()) === null) {
      if (options.ruleSet === undefined)
        throw new JournalError('genesis_missing', 'a new journal needs a rule set to start from')
      await store.writeGenesis(genesisOf(options.ruleSet))
    }
    const recovery = await recoverState(store, {
      ...options.recovery,
      stateHashCheck: options.recovery?.stateHashCheck ?? {
        fullCheckEvery: options.stateHashCheckEvery ?? DEFAULT_STATE_HASH_CHECK_EVERY,
      },
    })
    if (recovery.recordedStateHash !== null && recovery.stateHash !== recovery.recordedStateHash) {
      throw new JournalError(
        'replay_divergence',
        `replay gives state hash ${recovery.stateHash}, the journal recorded ${recovery.recordedStateHash}`,
        recovery.head?.sequence ?? null,
      )
    }
    return new JournaledEngine(store, recovery, options.snapshotEvery ?? 10_000)
  }

  /** The engine state (read it; only `submit` may change it). */
  get engineState(): Readonly<EngineState> {
    return this.state
  }

  /** The sequence of the last executed command (durable or about to be). */
  get lastSequence(): number {
    return this.tip?.sequence ?? 0
  }

  /** The sequence of the last entry known to be durable. */
  get durableSequence(): number {
    return this.head?.sequence ?? 0
  }

  /** The state hash after the last executed command. */
  stateHash(): string {
    return this.hasher.hash(this.state)
  }

  /**
   * Executes a command and journals it; resolves once the entry is durable (JNL-012). Refusals of
   * the stream (sequence, time, key) come back as results and are not journaled (JNL-013).
   */
  submit(command: JournalCommand, options: SubmitOptions): Promise<SubmitOutcome> {
    // the gate orders admission (checks and execution), not durability: later commands execute
    // while earlier ones wait for their batch to commit
    const admission = this.gate.then(() => this.admit(command, options))
    this.gate = admission.catch(() => undefined)
    return admission.then((admitted) => admitted.done)
  }

  /** Waits until every executed entry is durable. */
  async flush(): Promise<void> {
    while (this.flushing !== null) await this.flushing
    this.throwIfHalted()
  }

  /** Flushes and closes the journal. */
  async close(): Promise<void> {
    await this.gate
    await this.flush().catch(() => undefined)
    await this.store.close()
  }

  /** Checks and executes one command; `done` settles when it is durable (or answered). */
  private async admit(
    command: JournalCommand,
    options: SubmitOptions,
  ): Promise<{ readonly done: Promise<SubmitOutcome> }> {
    this.throwIfHalted()
    const answer = (outcome: SubmitOutcome) => ({ done: Promise.resolve(outcome) })
    const refusal = this.checkPlace(options)
    if (refusal !== null) return answer(refusal)
    const commandJson = encodeCommand(command)
    const inFlight = this.pendingByKey.get(options.idempotencyKey)
    if (inFlight !== undefined) {
      if (inFlight.commandJson !== commandJson) return answer(keyConflict(options.idempotencyKey))
      return { done: inFlight.done.then((outcome) => ({ ...outcome, duplicate: true })) }
    }
    const recorded = await this.store.findByIdempotencyKey(options.idempotencyKey)
    if (recorded !== null) {
      if (recorded.commandJson !== commandJson) return answer(keyConflict(options.idempotencyKey))
      return answer(outcomeOf(recorded, true))
    }
    this.throwIfHalted()
    const timeRefusal = this.checkTime(command, options)
    if (timeRefusal !== null) return answer(timeRefusal)
    try {
      return { done: this.executeAndQueue(command, commandJson, options) }
    } catch (error) {
      // a broken invariant while executing or hashing: the state can no longer be trusted
      this.halt(error, [])
      throw error
    }
  }

  private checkPlace(options: SubmitOptions): SubmitOutcome | null {
    if (typeof options.idempotencyKey !== 'string' || options.idempotencyKey.length === 0) {
      return refusedOutcome({ status: 'idempotency_key_invalid' })
    }
    if (!Number.isSafeInteger(options.timestampMs) || options.timestampMs < 0) {
      return refusedOutcome({ status: 'timestamp_invalid', found: String(options.timestampMs) })
    }
    return null
  }

  private checkTime(command: JournalCommand, options: SubmitOptions): SubmitOutcome | null {
    const next = this.lastSequence + 1
    if (options.sequence !== undefined && options.sequence !== next) {
      return refusedOutcome({
        status: 'sequence_not_next',
        expected: next,
        found: options.sequence,
      })
    }
    const previous = this.tip?.timestampMs ?? null
    if (previous !== null && options.timestampMs < previous) {
      return refusedOutcome({
        status: 'timestamp_before_previous',
        previous,
        found: options.timestampMs,
      })
    }
    if (command.type === 'rules_change' && command.effectiveTimeMs > options.timestampMs) {
      return refusedOutcome({
        status: 'rules_change_not_yet_effective',
        effectiveTimeMs: command.effectiveTimeMs,
        found: options.timestampMs,
      })
    }
    return null
  }

  private executeAndQueue(
    command: JournalCommand,
    commandJson: string,
    options: SubmitOptions,
  ): Promise<SubmitOutcome> {
    const sequence = this.lastSequence + 1
    const previousHash = this.tip?.entryHash ?? this.genesisHash
    const outcome = execute(this.state, command, {
      sequence: this.state.lastSequence + 1,
      timestampMs: options.timestampMs,
    })
    // one pass to canonical text; the answer's values are read back from it
    const resultJson = canonicalJsonOfData(outcome.result)
    const eventsJson = canonicalJsonOfData(outcome.events)
    const resultValue = JSON.parse(resultJson) as ResultJson
    const eventsValue = JSON.parse(eventsJson) as JsonValue[]
    const stateHash = this.hasher.hash(this.state)
    const entry = sealEntry({
      sequence,
      timestampMs: options.timestampMs,
      idempotencyKey: options.idempotencyKey,
      commandJson,
      resultJson,
      eventsJson,
      stateHash,
      previousHash,
    })
    let snapshot: JournalSnapshot | null = null
    if (this.snapshotEvery > 0 && sequence % this.snapshotEvery === 0) {
      const snapshotJson = snapshotText(snapshotState(this.state))
      snapshot = {
        sequence,
        snapshotJson,
        snapshotHash: sha256Hex(snapshotJson),
        stateHash,
        entryHash: entry.entryHash,
      }
    }
    this.tip = headOf(entry)
    const done = new Promise<SubmitOutcome>((resolve, reject) => {
      this.pending.push({
        entry,
        outcome: { sequence, result: resultValue, events: eventsValue, duplicate: false },
        resolve,
        reject,
        snapshot,
      })
    })
    this.pendingByKey.set(options.idempotencyKey, { commandJson, done })
    this.scheduleFlush()
    return done
  }

  private scheduleFlush(): void {
    if (this.flushing !== null) return
    this.flushing = new Promise<void>((resolve) => setImmediate(resolve)).then(() =>
      this.flushLoop(),
    )
  }

  private async flushLoop(): Promise<void> {
    try {
      while (this.pending.length > 0 && this.halted === null) {
        const batch = this.pending
        this.pending = []
        try {
          await this.store.append(batch.map((pending) => pending.entry))
          for (const pending of batch)
            if (pending.snapshot !== null) await this.store.writeSnapshot(pending.snapshot)
        } catch (error) {
          this.halt(error, batch)
          return
        }
        const last = batch.at(-1)?.entry
        if (last !== undefined) this.head = headOf(last)
        for (const pending of batch) {
          this.pendingByKey.delete(pending.entry.idempotencyKey)
          pending.resolve(pending.outcome)
        }
      }
    } finally {
      this.flushing = null
    }
  }

  private halt(error: unknown, batch: readonly PendingEntry[]): void {
    this.halted = error
    const halted = new JournalError(
      'engine_halted',
      `an append failed (${error instanceof Error ? error.message : String(error)}); restart to recover from the journal`,
    )
    for (const pending of [...batch, ...this.pending]) pending.reject(halted)
    this.pending = []
    this.pendingByKey.clear()
  }

  private throwIfHalted(): void {
    if (this.halted !== null) {
      throw new JournalError(
        'engine_halted',
        'an append failed earlier; restart to recover from the journal',
      )
    }
  }
}

function outcomeOf(entry: JournalEntry, duplicate: boolean): SubmitOutcome {
  return {
    sequence: entry.sequence,
    result: JSON.parse(entry.resultJson) as ResultJson,
    events: JSON.parse(entry.eventsJson) as JsonValue[],
    duplicate,
  }
}

function refusedOutcome(
  result: ResultJson & { readonly status: StreamRefusalCode },
): SubmitOutcome {
  return { sequence: null, result, events: [], duplicate: false }
}

function keyConflict(idempotencyKey: string): SubmitOutcome {
  return refusedOutcome({ status: 'idempotency_key_conflict', idempotencyKey })
}
