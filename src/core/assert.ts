/**
 * Assertions for broken invariants and programmer errors. They throw and are never caught inside
 * core: a failed assertion means the state can no longer be trusted, and recovery is replay.
 * Expected outcomes are returned values (see engine/result-codes.ts), never assertions.
 */
export class InvariantError extends Error {
  override readonly name = 'InvariantError'
}

/** Message form: `Invariant: <positive rule> (INV-ID, key=value, ...)`. */
export function assert(condition: boolean, message: string): asserts condition {
  if (!condition) throw new InvariantError(message)
}
