/**
 * CSV exports of a result (SIM-053): per-rule-set metrics (long form: one row per rule set and
 * metric) and every forced close. Values are exact decimals; times are Unix ms and ISO 8601 UTC.
 */
import { formatFixed } from '../../core/num/fixed.ts'
import type { SimulationResult } from './result.ts'
import { metricRows } from './summary.ts'

/** Quotes a CSV field when it holds a comma, quote or line break (RFC 4180). */
export function csvField(text: string): string {
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text
}

function csvLine(fields: readonly string[]): string {
  return fields.map(csvField).join(',')
}

/** rule_set,venue,metric,unit,value — the unit of each value (its rule set's settlement asset for amounts). */
export function metricsCsv(result: SimulationResult): string {
  const lines = [csvLine(['rule_set', 'venue', 'metric', 'unit', 'value'])]
  const rows = metricRows(result)
  result.outcomes.forEach((outcome, index) => {
    for (const row of rows)
      lines.push(
        csvLine([
          outcome.ruleSetId,
          outcome.venue,
          row.key,
          row.units[index] ?? row.unit,
          row.values[index] ?? '',
        ]),
      )
  })
  return `${lines.join('\n')}\n`
}

/**
 * rule_set,time_ms,time_utc,account,market,kind,size,price,value,asset — in time order per rule
 * set; `value` is in `asset`, the rule set's settlement asset.
 */
export function forcedClosesCsv(result: SimulationResult): string {
  const lines = [
    csvLine([
      'rule_set',
      'time_ms',
      'time_utc',
      'account',
      'market',
      'kind',
      'size',
      'price',
      'value',
      'asset',
    ]),
  ]
  for (const outcome of result.outcomes) {
    const closes = [...outcome.forcedCloses].sort((a, b) =>
      a.timeMs !== b.timeMs
        ? a.timeMs - b.timeMs
        : a.account < b.account
          ? -1
          : a.account > b.account
            ? 1
            : 0,
    )
    for (const close of closes) {
      lines.push(
        csvLine([
          outcome.ruleSetId,
          String(close.timeMs),
          new Date(close.timeMs).toISOString(),
          close.account,
          close.market,
          close.kind,
          formatFixed(close.size),
          formatFixed(close.price),
          formatFixed(close.value),
          outcome.settlementAsset,
        ]),
      )
    }
  }
  return `${lines.join('\n')}\n`
}
