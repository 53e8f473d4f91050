/** System accounts of the liquidation rules (`@book`, backstop vault, network party, LIQ-017, LIQ-070). */
import type { RuleSet } from '../../rules/rule-set.ts'

/** System accounts (`@book`, a backstop vault) are never liquidated, ranked or socialized. */
export function isSystemAccount(id: string): boolean {
  return id.startsWith('@')
}

/**
 * The system accounts the rule set's liquidation section names (backstop vault, network party,
 * LIQ-017, LIQ-070): they take over positions but are never margin-checked, so a mark reports no
 * `account_below_maintenance` for them (ENG-008).
 */
export function liquidationSystemAccounts(rules: RuleSet): ReadonlySet<string> {
  const named = new Set<string>()
  const liquidation = rules.liquidation
  if (liquidation?.backstop) named.add(liquidation.backstop.account)
  if (liquidation?.network) named.add(liquidation.network.account)
  return named
}
