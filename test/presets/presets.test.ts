/**
 * Shipped presets, versions, files and overrides (docs/presets.md, docs/spec/rules.md RUL-014..RUL-018).
 * Goal: every preset validates, carries its sources, and can be selected by version, read from a
 * user file (JSON or YAML) and overridden without editing it.
 */
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { formatFixed } from '../../src/core/num/fixed.ts'
import { ruleSetToJson } from '../../src/core/rules/parse.ts'
import { listPresets, loadRuleSet } from '../../src/presets/index.ts'
import { applyAssignment, mergeRuleSetPatch } from '../../src/presets/overrides.ts'

const requiredIds = [
  'binance-usdm',
  'binance-coinm',
  'bitmex',
  'bybit-linear',
  'bybit-inverse',
  'okx',
  'deribit',
  'deribit-pm',
  'hyperliquid',
  'dydx-v4',
  'vega',
  'drift',
]

function load(reference: string, overrides = {}) {
  const result = loadRuleSet(reference, overrides)
  if (!result.ok) throw new Error(`${reference}: ${JSON.stringify(result.issues)}`)
  return result.ruleSet
}

describe('RUL-014 every shipped preset validates', () => {
  const presets = listPresets()

  it('ships the required venues', () => {
    expect(new Set(presets.map((preset) => preset.id))).toEqual(new Set(requiredIds))
  })

  it.each(presets.map((preset) => [`${preset.id}@${preset.version}`, preset] as const))(
    '%s',
    (reference, preset) => {
      const ruleSet = load(reference)
      expect(ruleSet.id).toBe(preset.id)
      expect(ruleSet.version).toBe(preset.version)
      expect(ruleSet.sources.length).toBeGreaterThan(0)
      expect(ruleSet.markets.size).toBeGreaterThan(0)
      expect(ruleSet.description.length).toBeGreaterThan(40)
      // The file name's version is the file's version.
      if (!preset.latest)
        expect(preset.file.endsWith(`${preset.id}@${preset.version}.json`)).toBe(true)
    },
  )
})

describe('RUL-015 versions: the plain id is the newest, id@version an older file', () => {
  it('binance-usdm is newer than binance-usdm@2020-05-01', () => {
    const newest = load('binance-usdm')
    const older = load('binance-usdm@2020-05-01')
    expect(newest.effectiveDate > older.effectiveDate).toBe(true)
    const tiersOf = (ruleSet: typeof newest) => {
      const margin = ruleSet.markets.get('BTCUSDT')!.margin
      if (margin.kind !== 'tiered') throw new Error('expected a ladder')
      return margin.tiers
    }
    // exchanges.md §11 BN-03: the 2020 ladder's level 5 amount is 141,300 USDT; W7's 2021 ladder has 266,300.
    expect(formatFixed(tiersOf(older)[4]!.maintenanceDeduction)).toBe('141300')
    expect(formatFixed(tiersOf(newest)[4]!.maintenanceDeduction)).toBe('266300')
  })

  it('the newest version can also be named explicitly', () => {
    expect(load(`binance-usdm@${load('binance-usdm').version}`).version).toBe(
      load('binance-usdm').version,
    )
  })

  it.each([
    ['nope', 'unknown_preset'],
    ['binance-usdm@1999-01-01', 'unknown_preset_version'],
    ['/no/such/file.json', 'file_not_found'],
  ])('%s → %s', (reference, code) => {
    const result = loadRuleSet(reference)
    expect(result.ok).toBe(false)
    if (!result.ok) expect(result.issues[0]!.code).toBe(code)
  })
})

describe('RUL-016 user files in JSON and YAML', () => {
  const directory = mkdtempSync(join(tmpdir(), 'lor-rules-'))

  it('reads the JSON written by ruleSetToJson and the same in YAML', () => {
    const json = ruleSetToJson(load('bitmex'))
    const jsonFile = join(directory, 'bitmex.json')
    writeFileSync(jsonFile, JSON.stringify(json))
    expect(load(jsonFile)).toEqual(load('bitmex'))
    const yamlFile = join(directory, 'bitmex.yaml')
    const yamlText = JSON.stringify(json, null, 2) // JSON is YAML; quoted decimals stay strings
    writeFileSync(yamlFile, yamlText)
    expect(load(yamlFile)).toEqual(load('bitmex'))
  })

  it('refuses malformed files with one issue', () => {
    const bad = join(directory, 'bad.json')
    writeFileSync(bad, '{ "id": ')
    const result = loadRuleSet(bad)
    expect(result.ok).toBe(false)
    if (!result.ok) expect(result.issues.map((issue) => issue.code)).toEqual(['invalid_json'])
  })

  it('refuses unquoted YAML numbers, which would pass through a float', () => {
    const file = join(directory, 'numbers.yaml')
    const json = ruleSetToJson(load('bitmex'))
    writeFileSync(file, JSON.stringify(json).replace('"tickSize":"0.5"', '"tickSize":0.5'))
    const result = loadRuleSet(file)
    expect(result.ok).toBe(false)
    if (!result.ok)
      expect(result.issues[0]).toMatchObject({
        code: 'decimal_not_string',
        path: 'markets[0].tickSize',
      })
  })
})

describe('RUL-017 patches deep-merge before validation; markets match by id, new ones append', () => {
  it('overrides one field of one market and leaves the rest', () => {
    const ruleSet = load('binance-usdm', {
      patches: [{ markets: [{ market: 'ETHUSDT', takerFeeRate: '0.0005' }] }],
    })
    expect(formatFixed(ruleSet.markets.get('ETHUSDT')!.takerFeeRate)).toBe('0.0005')
    expect(formatFixed(ruleSet.markets.get('BTCUSDT')!.takerFeeRate)).toBe('0.0004')
  })

  it('adds a market', () => {
    const added = {
      ...ruleSetToJson(load('binance-usdm')).markets[1],
      market: 'SOLUSDT',
      baseAsset: 'SOL',
    }
    const ruleSet = load('binance-usdm', { patches: [{ markets: [added] }] })
    expect([...ruleSet.markets.keys()]).toEqual(['BTCUSDT', 'ETHUSDT', 'SOLUSDT'])
  })

  it('validates the merged result and names the field', () => {
    const result = loadRuleSet('binance-usdm', {
      patches: [{ markets: [{ market: 'BTCUSDT', tickSize: '-1' }] }],
    })
    expect(result.ok).toBe(false)
    if (!result.ok)
      expect(result.issues).toContainEqual(
        expect.objectContaining({ code: 'not_positive', path: 'markets[0].tickSize' }),
      )
  })

  it('does not modify its inputs', () => {
    const base = { a: { b: '1' }, markets: [{ market: 'X', c: '2' }] }
    const before = structuredClone(base)
    mergeRuleSetPatch(base, { a: { b: '3' }, markets: [{ market: 'X', c: '4' }] })
    expect(base).toEqual(before)
  })
})

describe('RUL-018 PATH=VALUE assignments', () => {
  it('sets a tier rate of a market by id; computed deductions follow', () => {
    const ruleSet = load('binance-usdm', {
      assignments: ['markets.ETHUSDT.margin.tiers.0.maintenanceRate=0.005'],
    })
    const margin = ruleSet.markets.get('ETHUSDT')!.margin
    if (margin.kind !== 'tiered') throw new Error('expected a ladder')
    expect(formatFixed(margin.tiers[0]!.maintenanceRate)).toBe('0.005')
    // cum(2) = 10,000 × (1% − 0.5%) = 50 instead of 35.
    expect(formatFixed(margin.tiers[1]!.maintenanceDeduction)).toBe('50')
  })

  it('re-checks the deduction after the change (RUL-006)', () => {
    const result = loadRuleSet('binance-usdm', {
      assignments: ['markets.BTCUSDT.margin.tiers.0.maintenanceRate=0.0045'],
    })
    // The BTCUSDT ladder states its deductions; with MMR(1) = 0.45% the recurrence gives cum(2) = 25, not the stated 50.
    expect(result.ok).toBe(false)
    if (!result.ok)
      expect(result.issues[0]).toMatchObject({
        code: 'deduction_mismatch',
        path: 'markets[0].margin.tiers[1].maintenanceDeduction',
      })
  })

  it.each([
    ['no equals sign', 'markets.BTCUSDT.tickSize', 'invalid_assignment'],
    ['unknown market', 'markets.XRPUSDT.tickSize=1', 'unknown_market'],
    ['bad JSON', 'account={bad', 'invalid_assignment'],
  ])('%s (%s) → %s', (_name, text, code) => {
    const result = applyAssignment(ruleSetToJson(load('okx')), text)
    expect(result.ok).toBe(false)
    if (!result.ok) expect(result.issue.code).toBe(code)
  })

  it('null and JSON values', () => {
    const result = applyAssignment({ a: { b: '1' } }, 'a={"c":"2"}')
    expect(result).toEqual({ ok: true, document: { a: { c: '2' } } })
    expect(applyAssignment({ a: '1' }, 'a=null')).toEqual({ ok: true, document: { a: null } })
  })
})

describe('RUL-020 a rule-set file may extend a preset or another file', () => {
  it('deribit-pm is deribit with a portfolioMargin section', () => {
    const base = load('deribit')
    const derived = load('deribit-pm')
    expect([...derived.markets.values()]).toEqual([...base.markets.values()])
    expect(derived.liquidation).toEqual(base.liquidation)
    expect(derived.portfolioMargin?.model).toBe('grid')
    expect(base.portfolioMargin).toBeUndefined()
  })

  it('extends a file relative to its own folder, and patches markets by id', () => {
    const folder = mkdtempSync(join(tmpdir(), 'lor-extends-'))
    writeFileSync(join(folder, 'base.json'), JSON.stringify(ruleSetToJson(load('okx'))))
    writeFileSync(
      join(folder, 'mine.yaml'),
      'extends: base.json\nid: mine\nmarkets:\n  - { market: BTC-USDT-SWAP, takerFeeRate: "0.0001" }\n',
    )
    const mine = load(join(folder, 'mine.yaml'))
    expect(mine.id).toBe('mine')
    expect(formatFixed(mine.markets.get('BTC-USDT-SWAP')!.takerFeeRate)).toBe('0.0001')
    expect(mine.markets.get('BTC-USDT-SWAP')!.margin).toEqual(
      load('okx').markets.get('BTC-USDT-SWAP')!.margin,
    )
  })

  it.each([
    ['an unknown preset', 'extends: nope\n', 'file_not_found'],
    ['a non-string', 'extends: 3\n', 'not_a_string'],
    ['itself (a cycle)', 'extends: loop.yaml\n', 'extends_too_deep'],
  ])('extending %s is an issue', (_name, text, code) => {
    const folder = mkdtempSync(join(tmpdir(), 'lor-extends-'))
    writeFileSync(join(folder, 'loop.yaml'), text)
    const result = loadRuleSet(join(folder, 'loop.yaml'))
    expect(result.ok).toBe(false)
    if (!result.ok) expect(result.issues[0]?.code).toBe(code)
  })
})
