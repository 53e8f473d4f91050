/**
 * Scenario files: load (YAML or JSON), resolve the preset, run, report (docs/scenarios.md).
 */
import { readFileSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import type { RuleSet } from '../core/rules/rule-set.ts'
import { loadRuleSet, looksLikePath } from '../presets/index.ts'
import { parseScenarioText, type Scenario, type ScenarioIssue } from './parse.ts'
import { checkScenarioAgainstRules } from './run.ts'

export * from './format.ts'
export * from './parse.ts'
export * from './run.ts'

/** A scenario ready to run, or the issue that stops it. */
export type LoadScenarioResult =
  | { readonly ok: true; readonly scenario: Scenario; readonly ruleSet: RuleSet }
  | { readonly ok: false; readonly issue: ScenarioIssue }

/** Reads, parses and checks a scenario file and loads its rule set (SCN-001..SCN-004). */
export function loadScenarioFile(file: string): LoadScenarioResult {
  let source: string
  try {
    source = readFileSync(file, 'utf8')
  } catch (error) {
    const reason = error instanceof Error && 'code' in error ? String(error.code) : 'unreadable'
    return { ok: false, issue: { path: '(file)', message: `cannot read ${file} (${reason})` } }
  }
  const parsed = parseScenarioText(source)
  if (!parsed.ok) return parsed
  const scenario = parsed.scenario
  const reference = looksLikePath(scenario.preset)
    ? resolve(dirname(file), scenario.preset)
    : scenario.preset
  const loaded = loadRuleSet(reference, {
    ...(scenario.overridePatch === null ? {} : { patches: [scenario.overridePatch] }),
    assignments: scenario.overrideAssignments,
  })
  if (!loaded.ok) {
    const first = loaded.issues[0]
    const where = first === undefined || first.path === '' ? 'preset' : `preset (${first.path})`
    return {
      ok: false,
      issue: { path: where, message: first?.message ?? 'the rule set is not valid' },
    }
  }
  const issue = checkScenarioAgainstRules(scenario, loaded.ruleSet)
  if (issue !== null) return { ok: false, issue }
  return { ok: true, scenario, ruleSet: loaded.ruleSet }
}
