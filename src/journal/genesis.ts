/**
 * The genesis record (docs/spec/journal.md, JNL-003): the rule set a journal's engine starts from,
 * in file form. Its hash is entry 1's previousHash, so the chain covers the starting rules too.
 */
import { parseRuleSet, ruleSetToJson } from '../core/rules/parse.ts'
import type { RuleSet } from '../core/rules/rule-set.ts'
import { canonicalJson, type JsonValue, sha256Hex } from './canonical.ts'
import { JournalError } from './errors.ts'
import type { JournalGenesis } from './store.ts'

export const GENESIS_FORMAT = 'lor-journal-genesis/1'

/** The genesis of a journal whose engine starts from `ruleSet`. */
export function genesisOf(ruleSet: RuleSet): JournalGenesis {
  const genesisJson = canonicalJson({
    format: GENESIS_FORMAT,
    ruleSet: ruleSetToJson(ruleSet) as unknown as JsonValue,
  })
  return { genesisJson, genesisHash: sha256Hex(genesisJson) }
}

/** The starting rule set of a stored genesis; throws `genesis_mismatch` when it is damaged. */
export function ruleSetOfGenesis(genesis: JournalGenesis): RuleSet {
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
  if (record === null || typeof record !== 'object' || record.format !== GENESIS_FORMAT) {
    throw new JournalError(
      'genesis_mismatch',
      `the genesis record is not in format ${GENESIS_FORMAT}`,
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
  return parsed.ruleSet
}
