/**
 * The genesis record (docs/spec/journal.md, JNL-003): the rule set a journal's engine starts from,
 * in file form. Its hash is entry 1's previousHash, so the chain covers the starting rules too.
 * Its format also names the definition of the entries' state hash (JNL-021): format 1 journals
 * carry version-1 state hashes, format 2 journals version 2.
 */
import { parseRuleSet, ruleSetToJson } from '../core/rules/parse.ts'
import type { RuleSet } from '../core/rules/rule-set.ts'
import { canonicalJson, type JsonValue, sha256Hex } from './canonical.ts'
import { JournalError } from './errors.ts'
import { CURRENT_STATE_HASH_VERSION, type StateHashVersion } from './state-hasher.ts'
import type { JournalGenesis } from './store.ts'

/** The genesis format of each state-hash version. */
const GENESIS_FORMATS: Readonly<Record<StateHashVersion, string>> = {
  1: 'lor-journal-genesis/1',
  2: 'lor-journal-genesis/2',
}

/** The format new journals are written in. */
export const GENESIS_FORMAT = GENESIS_FORMATS[CURRENT_STATE_HASH_VERSION]

/**
 * The genesis of a journal whose engine starts from `ruleSet`, its entries carrying state hashes
 * of `stateHashVersion` (default: the current one; 1 only to write journals as older code did).
 */
export function genesisOf(
  ruleSet: RuleSet,
  stateHashVersion: StateHashVersion = CURRENT_STATE_HASH_VERSION,
): JournalGenesis {
  const genesisJson = canonicalJson({
    format: GENESIS_FORMATS[stateHashVersion],
    ruleSet: ruleSetToJson(ruleSet) as unknown as JsonValue,
  })
  return { genesisJson, genesisHash: sha256Hex(genesisJson) }
}

/** Whether `format` is a genesis format this code reads. */
export function isGenesisFormat(format: unknown): boolean {
  return format === GENESIS_FORMATS[1] || format === GENESIS_FORMATS[2]
}

/** The state-hash version of a stored genesis; throws `genesis_mismatch` when it is damaged. */
export function stateHashVersionOfGenesis(genesis: JournalGenesis): StateHashVersion {
  return readGenesis(genesis).version
}

/** The starting rule set of a stored genesis; throws `genesis_mismatch` when it is damaged. */
export function ruleSetOfGenesis(genesis: JournalGenesis): RuleSet {
  return readGenesis(genesis).ruleSet
}

function readGenesis(genesis: JournalGenesis): {
  readonly ruleSet: RuleSet
  readonly version: StateHashVersion
} {
  if (sha256Hex(genesis.genesisJson) !== genesis.genesisHash) {
    throw new JournalError('genesis_mismatch', 'the genesis record does not match its hash')
  }
  let document: unknown
  try {
    document = JSON.parse(genesis.genesisJson)
  } catch {
    throw new JournalError('genesis_mismatch', 'the genesis record is not JSON')
  }
  const record = document as { format?: unknown; ruleSet?: unknown } | null
  const version =
    record === null || typeof record !== 'object'
      ? undefined
      : ([1, 2] as const).find((each) => GENESIS_FORMATS[each] === record.format)
  if (record === null || version === undefined) {
    throw new JournalError(
      'genesis_mismatch',
      `the genesis record is not in format ${GENESIS_FORMATS[1]} or ${GENESIS_FORMATS[2]}`,
    )
  }
  const parsed = parseRuleSet(record.ruleSet)
  if (!parsed.ok) {
    const first = parsed.issues[0]
    throw new JournalError(
      'genesis_mismatch',
      `the genesis rule set does not validate (${first?.code ?? ''} at ${first?.path ?? ''})`,
    )
  }
  return { ruleSet: parsed.ruleSet, version }
}
