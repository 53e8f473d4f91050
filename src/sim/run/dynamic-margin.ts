/**
 * Dynamic margin in the simulator (docs/simulator.md, "Dynamic margin"; SIMRUN-019):
 * the margin rates of each compared rule set follow the EWMA + anti-procyclicality rate of the
 * exogenous path (DYN-008). The scenario's `dynamicMargin` document is validated against the
 * path's interval, the re-sets are computed once per path (`dynamicMarginSchedule`, DYN-015) and
 * each becomes, per rule set, its simulated market's published rates × the factor
 * (`scaleMarketMargin`, DYN-012), put in force by the tick loop as a `rules_change`.
 */
import {
  dynamicMarginSchedule,
  type MarginReset,
  parseMarginScheduleDocument,
  scaleMarketMargin,
} from '../../core/dynamic-margin/index.ts'
import type { RuleSet } from '../../core/rules/rule-set.ts'
import { type Checked, issue } from '../issue.ts'
import type { PricePath } from '../paths/price-path.ts'
import type { RulesChangeAlongPath } from './tick-loop.ts'

/**
 * A dynamic margin document as plain data (JSON or YAML read as is): the parameters of DYN-010
 * (`lambda`, `multiplier` or `quantile` and `horizon`, `floorLookback`, `stressWeight`, `buffer`,
 * `bufferRebuild`, `sizeScaling`) and the schedule's `every`, `minimumChange`, `minimumFactor` and
 * `warmup` (DYN-017), decimals and durations written as strings. `{}` takes every default.
 */
export type DynamicMarginOptions = Readonly<Record<string, unknown>>

/** Where the scenario's dynamic margin issues point (the `lor simulate` flag and the field). */
export const DYNAMIC_MARGIN_FLAG = '--dynamic-margin'

/**
 * The margin re-sets along `path` (SIMRUN-019, SIMRUN-020): the document validated for the path's interval
 * (issues carry the flag and the field, e.g. `--dynamic-margin every`), then the schedule of the
 * exogenous prices.
 */
export function marginResetsAlongPath(
  document: unknown,
  path: PricePath,
): Checked<readonly MarginReset[]> {
  const parsed = parseMarginScheduleDocument(document, path.stepMs)
  if (!parsed.ok)
    return {
      ok: false,
      issues: parsed.issues.map((found) =>
        issue(
          found.code,
          found.path === '' ? DYNAMIC_MARGIN_FLAG : `${DYNAMIC_MARGIN_FLAG} ${found.path}`,
          found.message,
        ),
      ),
    }
  const resets = dynamicMarginSchedule(
    path.points.map((point) => point.price),
    path.points.map((point) => point.timeMs),
    parsed.params,
    parsed.schedule,
  )
  return { ok: true, value: resets, warnings: [] }
}

/**
 * One rule set's changes along the path (SIMRUN-019): at each re-set, `ruleSet` with the margin
 * model of `marketId` (its simulated market) × the factor. Each is scaled from the published
 * rates, not from the previous re-set, so a factor back at 1 restores the published rule set.
 */
export function marginRulesChanges(
  resets: readonly MarginReset[],
  ruleSet: RuleSet,
  marketId: string,
): RulesChangeAlongPath[] {
  return resets.map((reset) => ({
    timeMs: reset.timeMs,
    ruleSet: scaleMarketMargin(ruleSet, marketId, reset.factor),
  }))
}
