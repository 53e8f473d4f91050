/**
 * Presets and rule-set files (docs/presets.md, RUL-015..RUL-019): finds `presets/<id>.json` and
 * older versions `presets/<id>@<version>.json`, reads user files (JSON or YAML), applies overrides
 * and validates with `parseRuleSet`. Every problem comes back as issues, never as a throw.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { dirname, extname, resolve as resolvePath } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parse as parseYaml } from 'yaml'
import { parseRuleSet, type RuleIssue, ruleSetToJson } from '../core/rules/parse.ts'
import type { RuleSet } from '../core/rules/rule-set.ts'
import { applyAssignment, mergeRuleSetPatch } from './overrides.ts'

export { applyAssignment, mergeRuleSetPatch, parseAssignment } from './overrides.ts'

/** Where the shipped presets live. */
export const PRESETS_DIRECTORY = fileURLToPath(new URL('../../presets/', import.meta.url))

/** One preset file as listed by `listPresets`. */
export interface PresetInfo {
  readonly id: string
  readonly version: string
  readonly effectiveDate: string
  readonly venue: string
  /** True for `presets/<id>.json`, the version the plain id selects. */
  readonly latest: boolean
  readonly file: string
}

/** Changes applied to a rule-set document before validation (RUL-017, RUL-018). */
export interface RuleSetOverrides {
  /** Deep-merged in order; markets are matched by their `market` id and new ones appended. */
  readonly patches?: readonly unknown[]
  /** `PATH=VALUE` assignments applied after the patches, e.g. `markets.BTCUSDT.takerFeeRate=0.0005`. */
  readonly assignments?: readonly string[]
}

/** Outcome of `loadRuleSet`. */
export type LoadRuleSetResult =
  | { readonly ok: true; readonly ruleSet: RuleSet; readonly file: string }
  | { readonly ok: false; readonly issues: readonly RuleIssue[] }

const presetFilePattern = /^([a-z0-9][a-z0-9-]*)(?:@([A-Za-z0-9][A-Za-z0-9._-]*))?\.json$/

/** Every preset file, sorted by id and then newest first (RUL-015). */
export function listPresets(directory: string = PRESETS_DIRECTORY): PresetInfo[] {
  const presets: PresetInfo[] = []
  for (const name of readdirSync(directory).sort()) {
    const match = presetFilePattern.exec(name)
    if (match === null) continue
    const file = `${directory}${directory.endsWith('/') ? '' : '/'}${name}`
    const read = readResolvedDocument(file, directory)
    if (!read.ok || typeof read.document !== 'object' || read.document === null) continue
    const document = read.document as Record<string, unknown>
    presets.push({
      id: match[1] ?? name,
      version: typeof document.version === 'string' ? document.version : (match[2] ?? ''),
      effectiveDate: typeof document.effectiveDate === 'string' ? document.effectiveDate : '',
      venue: typeof document.venue === 'string' ? document.venue : '',
      latest: match[2] === undefined,
      file,
    })
  }
  return presets.sort((a, b) => {
    if (a.id !== b.id) return a.id < b.id ? -1 : 1
    if (a.latest !== b.latest) return a.latest ? -1 : 1
    return a.effectiveDate < b.effectiveDate ? 1 : a.effectiveDate > b.effectiveDate ? -1 : 0
  })
}

/** True when the argument names a file rather than a preset id. */
export function looksLikePath(idOrPath: string): boolean {
  return /[/\\]/.test(idOrPath) || /\.(json|ya?ml)$/i.test(idOrPath)
}

/**
 * Loads a preset (`binance-usdm`, `binance-usdm@2020-05-01`) or a rule-set file (JSON or YAML),
 * applies `overrides` and validates the result (RUL-015..RUL-018).
 */
export function loadRuleSet(
  idOrPath: string,
  overrides: RuleSetOverrides = {},
  directory: string = PRESETS_DIRECTORY,
): LoadRuleSetResult {
  const file = looksLikePath(idOrPath) ? idOrPath : presetFile(idOrPath, directory)
  if (typeof file !== 'string') return { ok: false, issues: [file] }
  const read = readResolvedDocument(file, directory)
  if (!read.ok) return { ok: false, issues: [read.issue] }
  return validateWithOverrides(read.document, overrides, file)
}

/** How many `extends` links one document may follow (a longer chain is taken as a cycle). */
const MAX_EXTENDS_DEPTH = 4

/**
 * Reads a rule-set document and resolves `extends` (RUL-020): a document that names a preset
 * (`id` or `id@version`, by its file name) or a file (relative to its own folder) in `extends` is
 * that document with its own fields deep-merged over it, by the rules of an override patch
 * (markets matched by `market`, other lists replaced).
 */
function readResolvedDocument(file: string, directory: string, depth = 0): ReadResult {
  const read = readDocument(file)
  if (!read.ok || typeof read.document !== 'object' || read.document === null) return read
  const { extends: base, ...own } = read.document as Record<string, unknown>
  if (base === undefined) return read
  const failed = (code: string, message: string): ReadResult => ({
    ok: false,
    issue: { code, path: 'extends', message: `${file}: ${message}` },
  })
  if (typeof base !== 'string' || base.length === 0)
    return failed('not_a_string', 'extends must name a preset or a rule-set file')
  if (depth >= MAX_EXTENDS_DEPTH)
    return failed('extends_too_deep', `more than ${MAX_EXTENDS_DEPTH} extends links (a cycle?)`)
  // A preset is named by its file: `id` is presets/id.json, `id@version` presets/id@version.json.
  const baseFile = looksLikePath(base)
    ? resolvePath(dirname(file), base)
    : resolvePath(directory, `${base}.json`)
  const resolved = readResolvedDocument(baseFile, directory, depth + 1)
  if (!resolved.ok) return resolved
  return { ok: true, document: mergeRuleSetPatch(resolved.document, own) }
}

/** Applies overrides to an in-memory document and validates it. */
export function validateWithOverrides(
  document: unknown,
  overrides: RuleSetOverrides,
  file = '',
): LoadRuleSetResult {
  let current = document
  for (const patch of overrides.patches ?? []) current = mergeRuleSetPatch(current, patch)
  const issues: RuleIssue[] = []
  for (const assignment of overrides.assignments ?? []) {
    const applied = applyAssignment(current, assignment)
    if (applied.ok) current = applied.document
    else issues.push(applied.issue)
  }
  if (issues.length > 0) return { ok: false, issues }
  const parsed = parseRuleSet(current)
  if (!parsed.ok) return parsed
  return { ok: true, ruleSet: parsed.ruleSet, file }
}

/** Applies overrides to an already validated rule set (through its file form) and validates again. */
export function overrideRuleSet(ruleSet: RuleSet, overrides: RuleSetOverrides): LoadRuleSetResult {
  return validateWithOverrides(ruleSetToJson(ruleSet), overrides)
}

function presetFile(reference: string, directory: string): string | RuleIssue {
  const [id = '', version] = reference.split('@', 2)
  const all = listPresets(directory)
  const candidates = all.filter((preset) => preset.id === id)
  if (candidates.length === 0) {
    const known = [...new Set(all.map((preset) => preset.id))].join(', ')
    return {
      code: 'unknown_preset',
      path: '',
      message: `unknown preset "${id}" (presets: ${known})`,
    }
  }
  const chosen =
    version === undefined
      ? candidates.find((preset) => preset.latest)
      : candidates.find((preset) => preset.version === version)
  if (chosen === undefined) {
    const versions = candidates.map((preset) => preset.version).join(', ')
    return {
      code: 'unknown_preset_version',
      path: '',
      message: `preset "${id}" has no version "${version ?? ''}" (versions: ${versions})`,
    }
  }
  return chosen.file
}

type ReadResult =
  | { readonly ok: true; readonly document: unknown }
  | { readonly ok: false; readonly issue: RuleIssue }

function readDocument(file: string): ReadResult {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    return {
      ok: false,
      issue: {
        code: code === 'ENOENT' ? 'file_not_found' : 'file_unreadable',
        path: '',
        message:
          code === 'ENOENT' ? `no such file: ${file}` : `cannot read ${file} (${code ?? 'error'})`,
      },
    }
  }
  const yaml = /^\.ya?ml$/i.test(extname(file))
  try {
    // YAML 1.2 core schema keeps quoted decimals as strings; unquoted numbers are refused later.
    return { ok: true, document: yaml ? parseYaml(text) : JSON.parse(text) }
  } catch (error) {
    const detail = error instanceof Error ? error.message.split('\n')[0] : 'syntax error'
    return {
      ok: false,
      issue: {
        code: yaml ? 'invalid_yaml' : 'invalid_json',
        path: '',
        message: `${file}: ${detail ?? 'syntax error'}`,
      },
    }
  }
}
