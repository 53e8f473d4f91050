/**
 * The engine: a deterministic state machine over accounts, positions, prices and funds
 * (docs/spec/engine.md, docs/spec/accounts.md).
 *
 * The surface adapters use (journal, scenario runner, simulator):
 * - `createEngineState(ruleSet)`: a fresh state with the system account `@book`;
 * - `execute(state, command, { sequence, timestampMs })`: applies one command or refuses it,
 *   returning `{ result, events }`; a refused command leaves the state unchanged;
 * - `encodeStateCanonical(state)`: canonical JSON; SHA-256 of it (outside core) is the state hash;
 * - `snapshotState(state)` / `restoreState(snapshot)`: a JSON-compatible copy and its exact inverse.
 */
export { applyPlan } from './apply.ts'
export {
  encodeCanonical,
  encodeStateCanonical,
  type EngineSnapshot,
  type JsonValue,
  restoreState,
  SNAPSHOT_FORMAT,
  snapshotState,
  toCanonicalValue,
} from './canonical.ts'
export * from './commands.ts'
export type { EngineEvent, EngineEventType } from './events.ts'
export { accountsInOrder, type ExecuteOutcome, execute } from './execute.ts'
export { cashLegOf } from '../model/position-math.ts'
export { feeOf } from './fills.ts'
export { checkInvariants, heldPerAsset } from './invariants.ts'
export type { Holder, Plan, PositionChange, SettingChange, Transfer } from './plan.ts'
export * from './result-codes.ts'
export * from './state.ts'
export { type SeedAccount, type SeedPosition, seedState } from './seed.ts'
export { assetsOf, entryPriceOfPosition, equityOf } from './views.ts'
