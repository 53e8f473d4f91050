/**
 * Renders a scenario report: plain-text tables for people, one JSON object for machines
 * (decimal values as strings).
 */
import {
  accountsInOrder,
  type EngineEvent,
  entryPriceOfPosition,
  equityOf,
  assetsOf,
  type JsonValue,
  toCanonicalValue,
} from '../core/engine/index.ts'
import { formatFixed, roundToDecimals } from '../core/num/fixed.ts'
import { unrealizedPnl } from '../core/model/position-math.ts'
import type { Scenario } from './parse.ts'
import type { ClearingReport, ScenarioReport } from './run.ts'

function clearingText(report: ClearingReport): string[] {
  if (report.kind === 'cover_stress') {
    const { cover } = report
    const rows = cover.scenarios.map((scenario) => [
      scenario.scenarioId,
      scenario.uncollateralised
        .map((entry) => `${entry.groupId} ${formatFixed(entry.amount)}`)
        .join(', '),
      formatFixed(scenario.cover1),
      formatFixed(scenario.cover2),
      formatFixed(scenario.emir),
    ])
    rows.push([
      'worst',
      '',
      formatFixed(cover.cover1),
      formatFixed(cover.cover2),
      formatFixed(cover.emir),
    ])
    const adequacy = (['cover1', 'cover2', 'emir'] as const)
      .map((rule) => `${rule} ${cover.adequate[rule] ? 'adequate' : 'NOT adequate'}`)
      .join(', ')
    return [
      `Cover stress ${report.path}`,
      table(['scenario', 'uncollateralised losses', 'cover 1', 'cover 2', 'EMIR'], rows),
      `default fund ${formatFixed(cover.defaultFundSize)}: ${adequacy}`,
      '',
    ]
  }
  const { plan } = report
  const rows = plan.draws.map((draw) => [
    String(draw.trancheIndex + 1),
    draw.tranche,
    draw.source,
    formatFixed(draw.capacity),
    formatFixed(draw.drawn),
    draw.payers.length === 0
      ? ''
      : draw.payers.length <= 3
        ? draw.payers.map((payer) => `${payer.payerId} ${formatFixed(payer.amount)}`).join(', ')
        : `${draw.payers.length} payers`,
    draw.rule,
  ])
  return [
    `Default waterfall ${report.path} (${plan.policyId})`,
    table(['#', 'tranche', 'source', 'capacity', 'drawn', 'paid by', 'rule'], rows),
    `total loss ${formatFixed(plan.totalLoss)}, covered ${formatFixed(plan.covered)}, torn up ${formatFixed(plan.tornUp)}, uncovered ${formatFixed(plan.uncovered)}, default fund replenishment ${formatFixed(plan.defaultFundReplenishment)}`,
    '',
  ]
}

function table(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((header, column) =>
    Math.max(header.length, ...rows.map((row) => (row[column] ?? '').length)),
  )
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, column) => cell.padEnd(widths[column] ?? 0))
      .join('  ')
      .trimEnd()
  return [line(headers), line(widths.map((width) => '-'.repeat(width))), ...rows.map(line)].join(
    '\n',
  )
}

/** An event's fields other than its type, as `key=value` text. */
export function describeEvent(event: EngineEvent): string {
  const fields = toCanonicalValue(event) as Record<string, JsonValue>
  return Object.entries(fields)
    .filter(([key]) => key !== 'type' && key !== 'status')
    .map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`)
    .join(' ')
}

function time(ms: number): string {
  return new Date(ms).toISOString()
}

/** The report as text: steps and events, accounts, positions, funds, checks, state hash. */
export function formatReportText(file: string, scenario: Scenario, report: ScenarioReport): string {
  const { state } = report
  const out: string[] = []
  out.push(
    `Scenario ${file}${scenario.description === '' ? '' : `: ${scenario.description.trim()}`}`,
  )
  out.push(`Rules ${state.rules.id} ${state.rules.version} (${state.rules.venue})`, '')
  const eventRows: string[][] = []
  for (const step of report.steps) {
    const sequence = step.sequence === null ? '-' : String(step.sequence)
    const refusal =
      step.result.status === 'ok'
        ? ''
        : describeEvent({ ...step.result, type: 'x' } as unknown as EngineEvent)
    eventRows.push([
      sequence,
      step.path,
      time(step.timestampMs),
      step.type,
      step.result.status,
      refusal,
    ])
    for (const event of step.events)
      eventRows.push(['', '', '', `  ${event.type}`, '', describeEvent(event)])
  }
  out.push(
    'Event log',
    table(['seq', 'step', 'time', 'command / event', 'result', 'details'], eventRows),
    '',
  )
  const accountRows: string[][] = []
  const positionRows: string[][] = []
  for (const account of accountsInOrder(state)) {
    for (const asset of assetsOf(state, account.id)) {
      accountRows.push([
        account.id,
        asset,
        formatFixed(account.balances.get(asset) ?? (0n as never)),
        formatFixed(equityOf(state, account.id, asset)),
      ])
    }
    for (const [market, position] of [...account.positions].sort(([a], [b]) => (a < b ? -1 : 1))) {
      const instrument = state.rules.markets.get(market)?.instrument
      const mark = state.prices.get(market)?.mark
      const entryPrice = entryPriceOfPosition(state, account.id, market)
      positionRows.push([
        account.id,
        market,
        formatFixed(position.size),
        entryPrice === null ? '' : formatFixed(roundToDecimals(entryPrice, 8, 'half_even')),
        mark === undefined ? '' : formatFixed(mark),
        mark === undefined || instrument === undefined
          ? ''
          : formatFixed(unrealizedPnl(instrument, position.size, position.entryValue, mark)),
        position.marginMode,
        position.marginMode === 'isolated' ? formatFixed(position.isolatedMargin) : '',
      ])
    }
  }
  out.push('Accounts', table(['account', 'asset', 'balance', 'equity'], accountRows), '')
  if (positionRows.length > 0)
    out.push(
      'Positions',
      table(
        [
          'account',
          'market',
          'size',
          'entry price',
          'mark',
          'unrealized PnL',
          'mode',
          'isolated margin',
        ],
        positionRows,
      ),
      '',
    )
  const assets = [
    ...new Set([
      ...state.deposits.keys(),
      ...state.insuranceFunds.keys(),
      ...state.feePools.keys(),
    ]),
  ].sort()
  const amount = (map: ReadonlyMap<string, bigint>, asset: string) =>
    formatFixed((map.get(asset) ?? 0n) as never)
  out.push(
    'Funds',
    table(
      ['asset', 'insurance fund', 'fee pool', 'deposits', 'withdrawals'],
      assets.map((asset) => [
        asset,
        amount(state.insuranceFunds, asset),
        amount(state.feePools, asset),
        amount(state.deposits, asset),
        amount(state.withdrawals, asset),
      ]),
    ),
    '',
  )
  for (const clearing of report.clearing) out.push(...clearingText(clearing))
  out.push(`State hash ${report.stateHash}`)
  if (report.failures.length === 0) {
    out.push(`Checks: all ${report.checksPassed} passed`)
  } else {
    out.push(`Checks: ${report.failures.length} failed, ${report.checksPassed} passed`)
    for (const failure of report.failures)
      out.push(`  ${failure.path}: expected ${failure.expected}, found ${failure.found}`)
  }
  return out.join('\n')
}

/** The report as one JSON value (decimals as strings). */
export function reportJson(file: string, report: ScenarioReport): JsonValue {
  return {
    file,
    rules: { id: report.state.rules.id, version: report.state.rules.version },
    steps: report.steps.map((step) => ({
      step: step.path,
      sequence: step.sequence,
      timestampMs: step.timestampMs,
      command: step.type,
      result: toCanonicalValue(step.result),
      events: step.events.map((event) => toCanonicalValue(event)),
    })),
    clearing: report.clearing.map((clearing) =>
      toCanonicalValue(
        clearing.kind === 'default_waterfall'
          ? { step: clearing.path, kind: clearing.kind, plan: clearing.plan }
          : { step: clearing.path, kind: clearing.kind, cover: clearing.cover },
      ),
    ),
    state: JSON.parse(JSON.stringify(toCanonicalValue(report.state))) as JsonValue,
    stateHash: report.stateHash,
    checks: {
      passed: report.checksPassed,
      failed: report.failures.map((failure) => ({
        path: failure.path,
        expected: failure.expected,
        found: failure.found,
      })),
    },
  }
}
