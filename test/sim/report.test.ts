/** SIM-050..SIM-054: result JSON, metrics table, CSV exports and the self-contained HTML report. */
import { mkdirSync, writeFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { fixedOf, formatFixed } from '../../src/core/num/fixed.ts'
import { forcedClosesCsv, metricsCsv } from '../../src/sim/report/csv.ts'
import { groupDigits, renderReport } from '../../src/sim/report/html.ts'
import { parseSimulationResult, simulationResultToJson } from '../../src/sim/report/result.ts'
import { metricRows } from '../../src/sim/report/summary.ts'
import { buildSampleResult } from './sample-result.ts'

const result = buildSampleResult()

describe('SIM-050 result JSON', () => {
  it('round-trips exactly through its JSON form', () => {
    const json = JSON.parse(JSON.stringify(simulationResultToJson(result))) as unknown
    const parsed = parseSimulationResult(json)
    expect(parsed.ok).toBe(true)
    if (parsed.ok)
      expect(simulationResultToJson(parsed.value)).toEqual(simulationResultToJson(result))
  })

  it('reports malformed fields with their paths', () => {
    const json = JSON.parse(JSON.stringify(simulationResultToJson(result))) as {
      outcomes: { badDebt: unknown; forcedCloses: { kind: unknown }[] }[]
    }
    json.outcomes[0]!.badDebt = 12.5
    json.outcomes[0]!.forcedCloses[0]!.kind = 'margin_call'
    const parsed = parseSimulationResult(json)
    expect(parsed.ok).toBe(false)
    if (!parsed.ok)
      expect(parsed.issues.map((entry) => entry.path)).toEqual([
        '$.outcomes[0].forcedCloses[0].kind',
        '$.outcomes[0].badDebt',
      ])
  })
})

describe('SIM-052 metrics', () => {
  it('derives the comparison table from the lists', () => {
    const rows = new Map(metricRows(result).map((row) => [row.key, row.values]))
    const [venueA, venueB] = result.outcomes
    expect(rows.get('liquidation_count')).toEqual([
      String(venueA!.forcedCloses.length),
      String(venueB!.forcedCloses.length),
    ])
    expect(rows.get('bad_debt')).toEqual([
      formatFixed(venueA!.badDebt),
      formatFixed(venueB!.badDebt),
    ])
    expect(rows.get('insurance_fund_start')).toEqual(['250000', '60000'])
    expect(Number(rows.get('liquidation_count')?.[0])).toBeGreaterThan(0)
    expect(rows.has('monte_carlo_loss_p99')).toBe(true)
  })
})

describe('SIM-053 CSV', () => {
  it('writes one metrics row per rule set and metric, and one row per forced close', () => {
    const metrics = metricsCsv(result).trimEnd().split('\n')
    expect(metrics[0]).toBe('rule_set,venue,metric,unit,value')
    expect(metrics).toHaveLength(1 + 2 * metricRows(result).length)
    const closes = forcedClosesCsv(result).trimEnd().split('\n')
    expect(closes).toHaveLength(
      1 + result.outcomes.reduce((count, outcome) => count + outcome.forcedCloses.length, 0),
    )
    expect(closes[1]).toMatch(/^venue-a,\d+,20\d\d-\d\d-\d\dT/)
  })
})

describe('SIM-054 HTML report', () => {
  const html = renderReport(result)

  it('is one self-contained document: no scripts, no external URLs', () => {
    expect(html.startsWith('<!doctype html>')).toBe(true)
    expect(html).toContain('</html>')
    expect(html).not.toMatch(/<script|<link|<img|<iframe|@import|url\(/i)
    expect(html).not.toMatch(/(?:https?:)?\/\/[a-z0-9]/i)
  })

  it('draws one <svg> per chart: price, endogenous move, fund, liquidations over time, loss distribution', () => {
    const charts = html.match(/<svg /g) ?? []
    expect(charts).toHaveLength(5)
    expect(html.match(/<\/svg>/g)).toHaveLength(5)
    for (const label of [
      'BTCUSDT price',
      'Endogenous move',
      'Insurance fund balance',
      'Liquidations per',
      'Uncovered loss per path',
    ]) {
      expect(html).toContain(label)
    }
  })

  it('renders the same bytes for the same result', () => {
    expect(renderReport(buildSampleResult())).toBe(html)
  })

  it('omits the loss distribution without Monte Carlo data and escapes text', () => {
    const plain = renderReport({
      ...result,
      title: 'A <b>&</b> B',
      outcomes: result.outcomes.map(({ monteCarloLosses: _losses, ...outcome }) => outcome),
    })
    expect(plain.match(/<svg /g)).toHaveLength(4)
    expect(plain).toContain('A &lt;b&gt;&amp;&lt;/b&gt; B')
  })

  it('groups digits for reading', () => {
    expect(groupDigits('1234567.891')).toBe('1,234,567.891')
    expect(groupDigits('-999')).toBe('-999')
    expect(fixedOf('1')).toBe(10n ** 18n)
  })

  it('writes the sample report when LOR_REPORT_SAMPLE names a directory (for looking at it)', () => {
    const directory = process.env.LOR_REPORT_SAMPLE
    if (directory === undefined) return
    mkdirSync(directory, { recursive: true })
    writeFileSync(`${directory}/report.html`, html)
    writeFileSync(`${directory}/metrics.csv`, metricsCsv(result))
  })
})
