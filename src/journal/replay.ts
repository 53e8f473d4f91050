/**
 * Recovery and replay (docs/spec/journal.md, JNL-006, JNL-007): the one code path that turns a
 * journal into engine state. Startup, crash recovery and `lor replay` all call `recoverState`:
 * load the latest snapshot that checks out (or start from the genesis rule set), verify the hash
 * chain of the tail, re-execute each command, and compare what it gives with what was recorded.
 */
import { restoreState, type EngineSnapshot } from '../core/engine/canonical.ts'
import { execute } from '../core/engine/execute.ts'
import { checkInvariants } from '../core/engine/invariants.ts'
import { createEngineState, type EngineState, setVerifying } from '../core/engine/state.ts'
import { sha256Hex } from './canonical.ts'
import { decodeCommandText, encodeEngineValue } from './codec.ts'
import type { JournalEntry, JournalHead } from './entry.ts'
import { isJournalError, JournalError, type JournalErrorCode } from './errors.ts'
import { ruleSetOfGenesis, stateHashVersionOfGenesis } from './genesis.ts'
import { StateHasher, type StateHasherOptions, stateHashOf } from './state-hasher.ts'
import type { JournalGenesis, JournalSnapshot, JournalStore } from './store.ts'
import { READ_BATCH, scanVerified } from './verify.ts'

export interface RecoveryOptions {
  /** Start from the latest snapshot (default true); false replays every entry from the genesis. */
  readonly useSnapshot?: boolean
  /** Compare each command's result and events with the recorded ones (default true). */
  readonly verifyOutputs?: boolean
  /**
   * Compare the state hash after every entry, not only after the last (default false). Computed
   * incrementally (JNL-020): each entry re-encodes only what it changed, then SHA-256 reads the
   * state's text once.
   */
  readonly verifyEveryStateHash?: boolean
  /** How often the incremental state hash is checked against the full one (JNL-020). */
  readonly stateHashCheck?: StateHasherOptions
  /** Also verify the chain before the snapshot (default false: the snapshot's entry hash anchors the tail). */
  readonly verifyFullChain?: boolean
}

/** What recovery found and rebuilt. */
export interface Recovery {
  readonly state: EngineState
  readonly genesis: JournalGenesis
  /** The last entry, or null for a journal with no entries. */
  readonly head: JournalHead | null
  /** The snapshot recovery started from, or null. */
  readonly snapshotSequence: number | null
  /** Why the latest snapshot was not used (recovery then replayed from the genesis), or null. */
  readonly snapshotRejected: JournalErrorCode | null
  /** Entries re-executed. */
  readonly replayedEntries: number
  /** SHA-256 of the rebuilt state's canonical encoding. */
  readonly stateHash: string
  /** The incremental hasher that computed `stateHash`, warm: keep hashing `state` with it. */
  readonly hasher: StateHasher
  /** The stateHash recorded by the last entry (null for an empty journal). */
  readonly recordedStateHash: string | null
}

export { stateHashOf }

/** The canonical JSON of a snapshot of `state`, for storing. */
export function snapshotText(snapshot: EngineSnapshot): string {
  return encodeEngineValue(snapshot)
}

/**
 * Re-executes one journaled command on `state` (JNL-007). With `verifyOutputs`, a result or event
 * list that differs from the recorded one throws `replay_divergence`.
 */
export function replayEntry(state: EngineState, entry: JournalEntry, verifyOutputs: boolean): void {
  const decoded = decodeCommandText(entry.commandJson)
  if (!decoded.ok) {
    const issue = decoded.issues[0]
    throw new JournalError(
      'undecodable_command',
      `entry ${entry.sequence}: ${issue?.code ?? ''} at ${issue?.path ?? ''}: ${issue?.message ?? ''}`,
      entry.sequence,
    )
  }
  const outcome = execute(state, decoded.command, {
    sequence: state.lastSequence + 1,
    timestampMs: entry.timestampMs,
  })
  if (!verifyOutputs) return
  if (encodeEngineValue(outcome.result) !== entry.resultJson) {
    throw new JournalError(
      'replay_divergence',
      `entry ${entry.sequence}: the command's result differs from the recorded one`,
      entry.sequence,
    )
  }
  if (encodeEngineValue(outcome.events) !== entry.eventsJson) {
    throw new JournalError(
      'replay_divergence',
      `entry ${entry.sequence}: the command's events differ from the recorded ones`,
      entry.sequence,
    )
  }
}

/** Checks a snapshot against its own hash and its entry, and restores it; throws `corrupt_snapshot`. */
async function restoreSnapshot(
  store: JournalStore,
  snapshot: JournalSnapshot,
  hasher: StateHasher,
): Promise<EngineState> {
  const fail = (why: string): never => {
    throw new JournalError(
      'corrupt_snapshot',
      `snapshot at entry ${snapshot.sequence}: ${why}`,
      snapshot.sequence,
    )
  }
  if (sha256Hex(snapshot.snapshotJson) !== snapshot.snapshotHash)
    fail('its content does not match its hash')
  const entry = await store.readEntry(snapshot.sequence)
  if (entry === null) {
    throw new JournalError(
      'sequence_gap',
      `a snapshot exists at entry ${snapshot.sequence} but the journal has no such entry`,
      snapshot.sequence,
    )
  }
  if (entry.entryHash !== snapshot.entryHash || entry.stateHash !== snapshot.stateHash)
    fail('it does not belong to the entry it names')
  let state: EngineState | undefined
  try {
    state = restoreState(JSON.parse(snapshot.snapshotJson) as EngineSnapshot)
  } catch {
    fail('it does not restore to a valid engine state')
  }
  if (state === undefined || hasher.hash(state) !== snapshot.stateHash)
    return fail('the restored state does not have the recorded state hash')
  return state
}

/**
 * Rebuilds the engine state from a journal (JNL-006): snapshot (if any checks out) + verified tail.
 * Throws a `JournalError` on anything that breaks trust: a damaged chain, a gap, an unknown
 * schema, a command that does not decode, a replay that diverges, or a final state hash that
 * differs from the recorded one.
 */
export async function recoverState(
  store: JournalStore,
  options: RecoveryOptions = {},
): Promise<Recovery> {
  const verifyOutputs = options.verifyOutputs ?? true
  const verifyEveryStateHash = options.verifyEveryStateHash ?? false
  await store.schemaVersion()
  const genesis = await store.readGenesis()
  const storedHead = await store.head()
  if (genesis === null) {
    throw new JournalError(
      'genesis_missing',
      storedHead === null
        ? 'the journal is empty'
        : 'the journal has entries but no genesis record',
      null,
    )
  }
  const ruleSet = ruleSetOfGenesis(genesis)
  // the genesis names the definition of the recorded state hashes (JNL-021)
  const hasherOptions = { ...options.stateHashCheck, version: stateHashVersionOfGenesis(genesis) }

  let state: EngineState | null = null
  let hasher = new StateHasher(hasherOptions)
  let from: JournalHead | null = null
  let snapshotSequence: number | null = null
  let snapshotRejected: JournalErrorCode | null = null
  const snapshot = options.useSnapshot === false ? null : await store.latestSnapshot()
  if (snapshot !== null) {
    if (storedHead === null || snapshot.sequence > storedHead.sequence) {
      throw new JournalError(
        'sequence_gap',
        `a snapshot exists at entry ${snapshot.sequence} but the journal ends at ${storedHead?.sequence ?? 0}: entries were lost`,
        snapshot.sequence,
      )
    }
    try {
      state = await restoreSnapshot(store, snapshot, hasher)
      from = {
        sequence: snapshot.sequence,
        timestampMs: 0,
        entryHash: snapshot.entryHash,
        stateHash: snapshot.stateHash,
      }
      snapshotSequence = snapshot.sequence
    } catch (error) {
      if (!isJournalError(error, 'corrupt_snapshot')) throw error
      snapshotRejected = error.code
      // the rejected snapshot's texts are of no use to the state rebuilt from the genesis
      hasher.release()
      hasher = new StateHasher(hasherOptions)
    }
  }
  if (options.verifyFullChain === true && from !== null) {
    await scanVerified(store, null, () => undefined, genesis.genesisHash)
  }
  if (from !== null) {
    const anchor = await store.readEntry(from.sequence)
    if (anchor !== null) from = { ...from, timestampMs: anchor.timestampMs }
  }
  // Replay re-executes with the engine's always-on per-command checks; the whole-state check
  // (O(accounts) per command) runs once at the end instead (JNL-019, ENG-013).
  const rebuilt = state ?? createEngineState(ruleSet, { verify: false })
  setVerifying(rebuilt, false)
  let replayedEntries = 0
  const head = await scanVerified(
    store,
    from,
    (entries) => {
      for (const entry of entries) {
        replayEntry(rebuilt, entry, verifyOutputs)
        if (verifyEveryStateHash && hasher.hash(rebuilt) !== entry.stateHash) {
          throw new JournalError(
            'replay_divergence',
            `entry ${entry.sequence}: the state hash differs from the recorded one`,
            entry.sequence,
          )
        }
      }
      replayedEntries += entries.length
    },
    genesis.genesisHash,
  )
  checkInvariants(rebuilt)
  const stateHash = hasher.hash(rebuilt)
  return {
    state: rebuilt,
    genesis,
    head,
    snapshotSequence,
    snapshotRejected,
    replayedEntries,
    stateHash,
    hasher,
    recordedStateHash: head?.stateHash ?? null,
  }
}

/** Reads entries in batches from `fromSequence` on without verifying (for explain and listings). */
export async function* readEntries(
  store: JournalStore,
  fromSequence = 1,
): AsyncGenerator<JournalEntry> {
  let next = fromSequence
  for (;;) {
    const entries = await store.readRange(next, READ_BATCH)
    for (const entry of entries) yield entry
    if (entries.length < READ_BATCH) return
    next = (entries.at(-1)?.sequence ?? next) + 1
  }
}
