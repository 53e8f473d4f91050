/**
 * Journaling a simulation (docs/simulator.md, "Journal"): every command the tick loop executes on
 * the engine becomes an entry of an event journal (docs/journal.md), one SQLite file per rule set,
 * so that `lor replay` rebuilds the run's final state and `lor explain` tells any liquidation of it.
 *
 * A journal starts from a rule set and replays commands, so a journaled run opens its accounts with
 * commands instead of writing them into the state: the genesis is the rule set with fees at zero (a
 * seeded position is booked at its entry price without a fee, as `seedState` books it), each
 * account gets a deposit, its margin mode and leverage and a maker trade against `@book` at the entry
 * price (an isolated position whose margin is less than size ÷ leverage is opened at the leverage
 * its margin allows, topped up, then set to its own leverage); then a `rules_change` by
 * `lor simulate` puts the rule set under test in force. Traders' balances and positions are those
 * `seedState` gives; only `@book` books its offsetting trades one by one.
 *
 * Entries are sealed as the loop runs (the state hash needs the state of that moment) and written
 * after the run, in large transactions.
 */
import { mkdirSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import {
  type Command,
  type EngineState,
  type ExecuteOutcome,
  execute,
  type SeedAccount,
} from '../../core/engine/index.ts'
import { contractValue } from '../../core/model/position-math.ts'
import { abs, add, div, type Fixed, sub, ZERO } from '../../core/num/fixed.ts'
import type { RuleSet } from '../../core/rules/rule-set.ts'
import { encodeCommand, encodeEngineValue, type JournalCommand } from '../../journal/codec.ts'
import { type JournalEntry, sealEntry } from '../../journal/entry.ts'
import { genesisOf } from '../../journal/genesis.ts'
import { stateHashOf } from '../../journal/replay.ts'
import { StateHasher } from '../../journal/state-hasher.ts'
import { openSqliteStore } from '../../journal/sqlite-store.ts'
import type { JournalGenesis } from '../../journal/store.ts'
import type { BuiltScenario, ScenarioOptions } from './scenario.ts'
import { ScenarioInputError, type SeedResult } from './monte-carlo.ts'
import { seedFigures } from './run-metrics.ts'
import { buildScenario } from './scenario.ts'
import { runSimulation, type SimulationRun } from './simulate.ts'

/** Who the journal names as the author of the rule change that ends the seeding. */
export const SIMULATION_AUTHOR = 'lor simulate'

/** Every this many entries the journal's state hash is checked against `stateHashOf`. */
const CHECK_EVERY = 256

/** Entries per SQLite transaction when a journal is written. */
const APPEND_BATCH = 2_000

/** What the tick loop asks of a recorder (see `TickLoopInput.recorder`). */
export interface CommandRecorder {
  /**
   * Opens `accounts` in `state` (fresh, no command yet, under the rule set of the run) by recorded
   * commands; the state ends under its own rule set again.
   */
  seed(state: EngineState, accounts: readonly SeedAccount[], timestampMs: number): void
  /** Records a command the loop executed on `state`, with its outcome, right after it ran. */
  record(command: Command, timestampMs: number, outcome: ExecuteOutcome, state: EngineState): void
}

/** The genesis rule set of a journaled run: `ruleSet` without fees, leverage up to `maxLeverage`. */
export function seedingRuleSet(ruleSet: RuleSet, maxLeverage: Fixed): RuleSet {
  const markets = new Map(
    [...ruleSet.markets].map(([id, market]) => [
      id,
      {
        ...market,
        makerFeeRate: ZERO,
        takerFeeRate: ZERO,
        maxLeverage: market.maxLeverage > maxLeverage ? market.maxLeverage : maxLeverage,
      },
    ]),
  )
  return {
    ...ruleSet,
    description: `${ruleSet.description} (seeding of a simulation: no fees, so that positions open at their entry price)`,
    markets,
  }
}

/** One rule set's journal of a simulated run: sealed entries, ready to write. */
export class SimulationJournal implements CommandRecorder {
  readonly entries: JournalEntry[] = []
  private genesisRecord: JournalGenesis | null = null
  private ruleSetId = ''
  private readonly hasher = new StateHasher()

  /** The genesis (known once `seed` ran). */
  get genesis(): JournalGenesis | null {
    return this.genesisRecord
  }

  /** The state hash after the last recorded command, or null before any. */
  get stateHash(): string | null {
    return this.entries.at(-1)?.stateHash ?? null
  }

  /** The rule set the journal is for. */
  get id(): string {
    return this.ruleSetId
  }

  seed(state: EngineState, accounts: readonly SeedAccount[], timestampMs: number): void {
    const ruleSet = state.rules
    if (state.lastSequence !== 0 || this.entries.length > 0)
      throw new RangeError('Condition failed: a journaled run is seeded before its first command')
    this.ruleSetId = ruleSet.id
    const plans = accounts.map((account) => seedingCommands(ruleSet, account))
    let leverage = ZERO
    for (const plan of plans) if (plan.leverage > leverage) leverage = plan.leverage
    const genesisRules = seedingRuleSet(ruleSet, leverage)
    this.genesisRecord = genesisOf(genesisRules)
    // The journal starts from the genesis rules; a fresh state differs from one created under
    // them by its rule set only.
    state.rules = genesisRules
    const run = (command: JournalCommand): void => {
      const outcome = execute(state, command, {
        sequence: state.lastSequence + 1,
        timestampMs,
      })
      if (outcome.result.status !== 'ok')
        throw new RangeError(
          `Condition failed: a simulated account can be opened by commands (SIMRUN-001, command=${command.type}, code=${outcome.result.status})`,
        )
      this.record(command, timestampMs, outcome, state)
    }
    for (const plan of plans) for (const command of plan.commands) run(command)
    run({
      type: 'rules_change',
      ruleSet,
      author: SIMULATION_AUTHOR,
      effectiveTimeMs: timestampMs,
    })
  }

  record(
    command: Command | JournalCommand,
    timestampMs: number,
    outcome: ExecuteOutcome,
    state: EngineState,
  ): void {
    const hash = this.hasher.hash(state)
    // Every so often (and on the first entries) the cached encoding is checked against the engine's.
    if (this.entries.length % CHECK_EVERY === 0 && hash !== stateHashOf(state))
      throw new Error(
        `Invariant: the journal's state hash is the engine's (SIMRUN-060, entry=${this.entries.length + 1})`,
      )
    this.recordEntry(journalCommandOf(command, timestampMs), timestampMs, outcome, hash)
  }

  private recordEntry(
    command: JournalCommand,
    timestampMs: number,
    outcome: ExecuteOutcome,
    stateHash: string,
  ): void {
    const genesis = this.genesisRecord
    if (genesis === null)
      throw new RangeError('Condition failed: a journaled run is seeded before it runs')
    const sequence = this.entries.length + 1
    this.entries.push(
      sealEntry({
        sequence,
        timestampMs,
        idempotencyKey: `${this.ruleSetId}:${sequence}`,
        commandJson: encodeCommand(command),
        resultJson: encodeEngineValue(outcome.result),
        eventsJson: encodeEngineValue(outcome.events),
        stateHash,
        previousHash: this.entries.at(-1)?.entryHash ?? genesis.genesisHash,
      }),
    )
  }
}

/**
 * A command in the journal's form: a rule set the loop puts in force along the path (dynamic
 * margin, SIMRUN-019) is recorded as a rule change by `lor simulate` effective at its own time, so
 * that it decodes and replays like any other (JNL-011).
 */
function journalCommandOf(command: Command | JournalCommand, timestampMs: number): JournalCommand {
  if (command.type !== 'rules_change' || 'author' in command) return command
  return { ...command, author: SIMULATION_AUTHOR, effectiveTimeMs: timestampMs }
}

/** The commands that open one account as `seedState` would, and the leverage they need. */
function seedingCommands(
  ruleSet: RuleSet,
  account: SeedAccount,
): { commands: JournalCommand[]; leverage: Fixed } {
  const commands: JournalCommand[] = []
  const deposits = new Map(account.balances)
  for (const position of account.positions) {
    const asset = ruleSet.markets.get(position.market)?.instrument.settlementAsset
    if (asset !== undefined && position.marginMode === 'isolated')
      deposits.set(asset, add(deposits.get(asset) ?? ZERO, position.isolatedMargin))
  }
  for (const [asset, amount] of [...deposits].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
    if (amount > 0n) commands.push({ type: 'deposit', account: account.id, asset, amount })
  let needed = ZERO
  for (const position of account.positions) {
    const market = ruleSet.markets.get(position.market)
    if (market === undefined) continue
    const common = { account: account.id, market: position.market }
    const trade: JournalCommand = {
      type: 'trade',
      ...common,
      size: position.size,
      price: position.entryPrice,
      liquidity: 'maker',
    }
    if (position.marginMode !== 'isolated') {
      if (position.leverage !== null)
        commands.push({ type: 'set_leverage', ...common, leverage: position.leverage })
      commands.push(trade)
      continue
    }
    commands.push({ type: 'set_margin_mode', ...common, marginMode: 'isolated' })
    const value = abs(contractValue(market.instrument, position.size, position.entryPrice))
    const leverage = position.leverage ?? market.maxLeverage
    let opening = leverage
    if (div(value, leverage, 'ceil') > position.isolatedMargin && position.isolatedMargin > 0n) {
      // The margin is less than size ÷ leverage: open at the leverage the margin allows.
      opening = div(value, position.isolatedMargin, 'ceil')
      if (opening > needed) needed = opening
    }
    commands.push({ type: 'set_leverage', ...common, leverage: opening })
    commands.push(trade)
    const posted = div(value, opening, 'ceil')
    if (position.isolatedMargin > posted)
      commands.push({
        type: 'add_isolated_margin',
        ...common,
        amount: sub(position.isolatedMargin, posted),
      })
    if (opening !== leverage || position.leverage === null)
      commands.push({ type: 'set_leverage', ...common, leverage: position.leverage })
  }
  return { commands, leverage: needed }
}

/** Where a rule set's journal goes in `directory`. */
export function journalPathOf(directory: string, ruleSetId: string): string {
  return join(directory, `${ruleSetId.replace(/[^A-Za-z0-9._@-]/g, '_')}.db`)
}

/** What writing one journal produced. */
export interface WrittenJournal {
  readonly ruleSetId: string
  readonly path: string
  readonly entries: number
  /** The state hash after the last entry: the run's final state. */
  readonly stateHash: string | null
}

/** Writes a run's journal into a new SQLite file at `path` (an existing one is replaced). */
export async function writeSimulationJournal(
  journal: SimulationJournal,
  path: string,
): Promise<WrittenJournal> {
  const genesis = journal.genesis
  if (genesis === null) throw new RangeError('Condition failed: a journal to write has a genesis')
  for (const suffix of ['', '-wal', '-shm', '-journal']) rmSync(`${path}${suffix}`, { force: true })
  const store = openSqliteStore(path, { synchronous: 'normal' })
  try {
    await store.writeGenesis(genesis)
    for (let start = 0; start < journal.entries.length; start += APPEND_BATCH)
      await store.append(journal.entries.slice(start, start + APPEND_BATCH))
  } finally {
    await store.close()
  }
  return {
    ruleSetId: journal.id,
    path,
    entries: journal.entries.length,
    stateHash: journal.stateHash,
  }
}

/** A seed's run with every rule set journaled, and where each journal was written. */
export interface JournaledSimulation {
  readonly run: SimulationRun
  readonly journals: readonly WrittenJournal[]
}

/**
 * Runs one seed of a scenario with every rule set journaled into `directory`
 * (`<rule-set-id>.db`, replacing what is there). The run is the one `runSimulation` gives.
 */
export async function runJournaledSimulation(
  built: BuiltScenario,
  options: ScenarioOptions,
  seed: number,
  directory: string,
): Promise<JournaledSimulation> {
  const recorders: SimulationJournal[] = []
  const run = runSimulation(built, options, seed, () => {
    const journal = new SimulationJournal()
    recorders.push(journal)
    return journal
  })
  mkdirSync(directory, { recursive: true })
  const journals: WrittenJournal[] = []
  for (const journal of recorders)
    journals.push(await writeSimulationJournal(journal, journalPathOf(directory, journal.id)))
  return { run, journals }
}

/** The directory `lor simulate` journals into unless told otherwise. */
export const DEFAULT_JOURNAL_DIRECTORY = 'reports/journal'

/**
 * One seed start to end in this thread, journaled into `directory`: the seed's full result (as
 * `runSeed` gives it) and the journals. Throws `ScenarioInputError` when the options are bad.
 */
export async function runSeedJournaled(
  options: ScenarioOptions,
  seed: number,
  directory: string,
): Promise<{ readonly result: SeedResult; readonly journals: readonly WrittenJournal[] }> {
  const built = buildScenario(options, seed)
  if (!built.ok) throw new ScenarioInputError(built.issues)
  const { run, journals } = await runJournaledSimulation(built.value, options, seed, directory)
  const figures = run.runs.map((entry) => seedFigures(entry.outcome.ruleSetId, entry.metrics))
  return { result: { seed, resultHash: run.resultHash, figures, run }, journals }
}
