/**
 * The simulation report: one self-contained HTML file (SIM-054). Inline CSS and inline SVG only:
 * no scripts, fonts, images or links to other hosts, so it opens offline and can be archived as is.
 * The output depends only on the result (no clock), so the same result renders the same bytes.
 */
import { type Fixed, formatFixed, parseFixed, toNumber } from '../../core/num/fixed.ts'
import { forcedClosesCsv, metricsCsv } from './csv.ts'
import {
  isLiquidationKind,
  quoteValue,
  type RuleSetOutcome,
  type SimulationResult,
  settlesInCoin,
} from './result.ts'
import { coinUnits, metricRows, QUOTE_UNIT, summarizeOutcome } from './summary.ts'
import { binValues, escapeXml, histogram, lineChart, PALETTE } from './svg.ts'

const LIQUIDATION_MARKER_LIMIT = 1500
const TABLE_ROW_LIMIT = 200
/** Rule sets per comparison table; more continue in the next table. */
const COMPARISON_COLUMNS = 5

/** Groups digits of an exact decimal by thousands ("1234567.5" → "1,234,567.5"). */
export function groupDigits(text: string): string {
  const match = /^(-?)(\d+)(\.\d+)?$/.exec(text)
  if (match === null) return text
  const [, sign = '', whole = '', fraction = ''] = match
  return `${sign}${whole.replace(/\B(?=(\d{3})+(?!\d))/g, ',')}${fraction}`
}

function amount(value: Fixed, decimals = 2): string {
  return groupDigits(formatFixed(value, decimals))
}

function shortNumber(value: number): string {
  const magnitude = Math.abs(value)
  if (magnitude >= 1e9) return `${Number((value / 1e9).toPrecision(3))}B`
  if (magnitude >= 1e6) return `${Number((value / 1e6).toPrecision(3))}M`
  if (magnitude >= 1e4) return `${Number((value / 1e3).toPrecision(3))}k`
  return String(Number(value.toPrecision(4)))
}

function utc(timeMs: number): string {
  return new Date(timeMs).toISOString().slice(0, 16).replace('T', ' ')
}

function timeTick(spanMs: number): (value: number) => string {
  return (value) => {
    const iso = new Date(value).toISOString()
    return spanMs > 3 * 86_400_000
      ? iso.slice(5, 10)
      : spanMs > 86_400_000
        ? `${iso.slice(5, 10)} ${iso.slice(11, 16)}`
        : iso.slice(11, 16)
  }
}

function dataUri(text: string): string {
  return `data:text/csv;charset=utf-8,${encodeURIComponent(text)}`
}

const STYLE = `
:root { color-scheme: light; --ink: #111827; --muted: #6b7280; --line: #e5e7eb; --panel: #f9fafb; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink); background: #fff; }
main { max-width: 1100px; margin: 0 auto; padding: 28px 24px 48px; }
h1 { font-size: 24px; margin: 0 0 4px; }
h2 { font-size: 17px; margin: 32px 0 8px; padding-bottom: 4px; border-bottom: 1px solid var(--line); }
p.lead { color: var(--muted); margin: 0 0 16px; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px; margin: 0 0 8px; }
dl.facts dt { color: var(--muted); }
dl.facts dd { margin: 0; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(200px, 1fr)); gap: 12px; margin: 16px 0; }
.card { background: var(--panel); border: 1px solid var(--line); border-radius: 8px; padding: 10px 14px; }
.card h3 { margin: 0 0 6px; font-size: 14px; }
.card .big { font-size: 20px; font-weight: 600; }
.card .small { color: var(--muted); font-size: 12px; }
table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
th, td { padding: 5px 8px; border-bottom: 1px solid var(--line); text-align: right; white-space: nowrap; }
th:first-child, td:first-child { text-align: left; white-space: normal; }
thead th { background: var(--panel); font-weight: 600; }
td.unit { color: var(--muted); text-align: left; }
span.unit { color: var(--muted); font-size: 11px; }
table.comparison { margin-bottom: 16px; }
table.comparison td:first-child { min-width: 180px; }
figure { margin: 8px 0 0; }
figcaption { color: var(--muted); font-size: 12px; margin-top: 2px; }
svg { display: block; height: auto; }
svg .grid { stroke: #eef0f3; }
svg .axis { stroke: #9ca3af; }
svg .tick { font-size: 11px; fill: #4b5563; }
svg .legend { font-size: 12px; fill: #111827; }
svg .chart-title { font-size: 13px; font-weight: 600; fill: #111827; }
.downloads a { margin-right: 16px; }
.note { color: var(--muted); font-size: 12px; }
.scroll { max-height: 420px; overflow: auto; border: 1px solid var(--line); border-radius: 6px; }
`

/** Decimals an amount of `unit` is shown with: 8 for a coin (a satoshi), 2 otherwise. */
function decimalsOf(unit: string, coins: ReadonlySet<string>): number {
  return coins.has(unit) ? 8 : 2
}

/** What a rule set's amounts are in, for the report's facts. */
function marketLine(outcome: RuleSetOutcome): string {
  return settlesInCoin(outcome)
    ? `${outcome.market}, coin-margined: amounts in ${outcome.settlementAsset}`
    : `${outcome.market}: amounts in ${outcome.settlementAsset}`
}

/**
 * Renders the report. Charts: price with liquidations, price split, fund balance, liquidations over
 * time, Monte Carlo losses. Amounts are in each rule set's settlement asset; when a rule set settles
 * in the coin (inverse), the table adds rows in USD and the fund and loss charts are drawn in USD,
 * each amount at the price of its moment (SIM-055).
 */
export function renderReport(result: SimulationResult): string {
  const colors = result.outcomes.map((_, index) => PALETTE[index % PALETTE.length] ?? '#111827')
  const times = result.exogenousPrices.map((point) => point.timeMs)
  const startMs = times[0] ?? 0
  const endMs = times.at(-1) ?? startMs
  const spanMs = Math.max(1, endMs - startMs)
  const xFormat = timeTick(spanMs)
  const rows = metricRows(result)
  const coins = coinUnits(result)
  const mixed = new Set(result.outcomes.map((outcome) => outcome.settlementAsset)).size > 1
  const inQuote = result.outcomes.some(settlesInCoin)
  const sections: string[] = []

  sections.push(`<h1>${escapeXml(result.title)}</h1>
<p class="lead">${escapeXml(result.scenario.description)}</p>
<dl class="facts">
<dt>Scenario</dt><dd>${escapeXml(result.scenario.name)}${result.scenario.seed === undefined ? '' : ` (seed ${result.scenario.seed})`}</dd>
${
  mixed || inQuote
    ? `<dt>Markets</dt><dd>${result.outcomes.map((outcome) => `${escapeXml(outcome.ruleSetId)}: ${escapeXml(marketLine(outcome))}`).join('<br>')}</dd>
<dt>Amounts</dt><dd>in each rule set's settlement asset (coins to 8 decimals); rows and charts marked ${QUOTE_UNIT} value coin amounts at the simulated price of their moment, and count USDT and USDC as ${QUOTE_UNIT}</dd>`
    : `<dt>Market</dt><dd>${escapeXml(result.market)}, amounts in ${escapeXml(result.settlementAsset)}</dd>`
}
<dt>Price path</dt><dd>${escapeXml(result.scenario.pathSource)}</dd>
${result.scenario.population === undefined ? '' : `<dt>Population</dt><dd>${escapeXml(result.scenario.population)}</dd>`}
<dt>Window</dt><dd>${utc(startMs)} → ${utc(endMs)} UTC, ${result.exogenousPrices.length} points every ${result.stepMs / 1000} s</dd>
</dl>`)

  const cards = result.outcomes.map((outcome, index) => {
    const liquidations = outcome.forcedCloses.filter((close) => isLiquidationKind(close.kind))
    const fundEnd = outcome.insuranceFund.at(-1)
    const asset = escapeXml(outcome.settlementAsset)
    const decimals = decimalsOf(outcome.settlementAsset, coins)
    const inUsd = settlesInCoin(outcome)
      ? `<div class="small">≈ ${amount(summarizeOutcome(result, outcome).inQuote.badDebt)} ${QUOTE_UNIT} at the price of each shortfall</div>`
      : ''
    return `<div class="card" style="border-top: 3px solid ${colors[index] ?? '#111827'}"><h3>${escapeXml(outcome.ruleSetId)}</h3>
<div class="big">${amount(outcome.badDebt, decimals)} ${asset}</div><div class="small">bad debt</div>${inUsd}
<div class="small">${liquidations.length} liquidations · ${outcome.autoDeleverages.length} ADL · fund end ${fundEnd === undefined ? 'n/a' : `${amount(fundEnd.balance, decimals)} ${asset}`}</div></div>`
  })
  sections.push(`<div class="cards">${cards.join('')}</div>`)

  // At most COMPARISON_COLUMNS rule sets side by side: more are continued in further tables.
  const tables: string[] = []
  for (let first = 0; first < result.outcomes.length; first += COMPARISON_COLUMNS) {
    const columns = result.outcomes
      .map((outcome, index) => ({ outcome, index }))
      .slice(first, first + COMPARISON_COLUMNS)
    const header = columns
      .map(
        ({ outcome, index }) =>
          `<th style="border-top: 3px solid ${colors[index] ?? '#111827'}">${escapeXml(outcome.ruleSetId)}</th>`,
      )
      .join('')
    const body = rows
      .map((row) => {
        const units = columns.map(({ index }) => row.units[index] ?? row.unit)
        const sameUnit = new Set(units).size <= 1
        const unitLabel = sameUnit ? (units[0] ?? row.unit) : 'settlement asset'
        const cells = columns.map(({ index }) => {
          const value = row.values[index] ?? ''
          const unit = row.units[index] ?? row.unit
          const text =
            unit === 'count' || unit === 'ratio' || value === ''
              ? value
              : groupDigits(formatDisplay(value, decimalsOf(unit, coins)))
          return `<td>${escapeXml(text)}${sameUnit || value === '' ? '' : ` <span class="unit">${escapeXml(unit)}</span>`}</td>`
        })
        return `<tr><td>${escapeXml(row.label)}</td><td class="unit">${escapeXml(unitLabel)}</td>${cells.join('')}</tr>`
      })
      .join('\n')
    tables.push(`<table class="comparison"><thead><tr><th>Metric</th><th class="unit">Unit</th>${header}</tr></thead><tbody>
${body}
</tbody></table>`)
  }
  sections.push(`<h2>Comparison</h2>
${tables.join('\n')}
<p class="downloads"><a download="metrics.csv" href="${dataUri(metricsCsv(result))}">metrics.csv</a><a download="forced-closes.csv" href="${dataUri(forcedClosesCsv(result))}">forced-closes.csv</a></p>
<p class="note">Amounts are exact; the table rounds them to ${coins.size > 0 ? '8 decimals for coins and 2 otherwise' : '2 decimals'} for reading, the CSV files keep every digit.${inQuote ? ` ${QUOTE_UNIT} rows: coin amounts × the simulated price of their moment (fills at their fill price, ADL at its price, shortfalls and socialized losses at the price of their step, the fund at the last price); USDT and USDC amounts as they are.` : ''}</p>`)

  // Price with liquidation markers.
  const markers = result.outcomes.flatMap((outcome, index) => {
    const liquidations = outcome.forcedCloses.filter((close) => isLiquidationKind(close.kind))
    const stride = Math.max(1, Math.ceil(liquidations.length / LIQUIDATION_MARKER_LIMIT))
    return liquidations
      .filter((_, closeIndex) => closeIndex % stride === 0)
      .map((close) => ({
        x: close.timeMs,
        y: toNumber(close.price),
        color: colors[index] ?? '#111827',
        title: `${outcome.ruleSetId} ${close.kind} ${close.account} ${formatFixed(close.size)} @ ${formatFixed(close.price)}`,
      }))
  })
  const exogenousSeries = {
    name: 'exogenous',
    color: '#6b7280',
    dashed: true,
    points: result.exogenousPrices.map((point) => [point.timeMs, toNumber(point.price)] as const),
  }
  const priceSeries = result.outcomes.map((outcome, index) => ({
    name: outcome.ruleSetId,
    color: colors[index] ?? '#111827',
    points: outcome.prices.map((point) => [point.timeMs, toNumber(point.price)] as const),
  }))
  sections.push(
    `<h2>Price and liquidations</h2><figure>${lineChart({
      title:
        result.outcomes.length > 1 && result.market.includes(' / ')
          ? 'Price'
          : `${result.market} price`,
      xFormat,
      yFormat: shortNumber,
      series: [...priceSeries, exogenousSeries],
      markers,
      markerLegend: [{ name: 'liquidation', color: '#374151' }],
    })}<figcaption>Dashed: the exogenous path. Solid: the simulated price of each rule set (exogenous plus the impact of its forced orders). Dots: liquidations, at their fill price.</figcaption></figure>`,
  )

  const dynamicMargin = marginSection(result, colors, xFormat, startMs, endMs)
  if (dynamicMargin !== '') sections.push(dynamicMargin)

  // Exogenous vs endogenous split.
  const exogenousByTime = new Map(
    result.exogenousPrices.map((point) => [point.timeMs, point.price]),
  )
  const splitSeries = result.outcomes.map((outcome, index) => ({
    name: outcome.ruleSetId,
    color: colors[index] ?? '#111827',
    points: outcome.prices.flatMap((point) => {
      const exogenous = exogenousByTime.get(point.timeMs)
      return exogenous === undefined || exogenous === 0n
        ? []
        : [[point.timeMs, (toNumber(point.price) / toNumber(exogenous) - 1) * 100] as const]
    }),
  }))
  sections.push(
    `<figure>${lineChart({
      title: 'Endogenous move: simulated ÷ exogenous − 1',
      height: 220,
      xFormat,
      yFormat: (value) => `${Number(value.toPrecision(3))}%`,
      series: splitSeries,
      yFromZero: true,
    })}<figcaption>The part of the price move caused by forced orders (liquidations and triggered stops), by rule set.</figcaption></figure>`,
  )

  // One axis needs one unit: with several settlement assets the fund is drawn in USD.
  const fundInQuote = mixed
  sections.push(
    `<h2>Insurance fund</h2><figure>${lineChart({
      title: `Insurance fund balance (${fundInQuote ? `${QUOTE_UNIT} at the simulated price` : result.settlementAsset})`,
      xFormat,
      yFormat: shortNumber,
      series: result.outcomes.map((outcome, index) => ({
        name: outcome.ruleSetId,
        color: colors[index] ?? '#111827',
        step: true,
        points: outcome.insuranceFund.map((point, pointIndex) => {
          const price = outcome.prices[pointIndex]?.price
          const balance =
            fundInQuote && price !== undefined
              ? quoteValue(outcome, point.balance, price)
              : point.balance
          return [point.timeMs, toNumber(balance)] as const
        }),
      })),
    })}${fundInQuote ? `<figcaption>Coin-margined funds (${[...coins].map(escapeXml).join(', ')}) are valued at each step's simulated price, so they move with the price even when no loss is paid.</figcaption>` : ''}</figure>`,
  )

  const binCount = Math.min(96, Math.max(12, Math.ceil(spanMs / 3_600_000)))
  const binned = result.outcomes.map((outcome) =>
    binValues(
      outcome.forcedCloses
        .filter((close) => isLiquidationKind(close.kind))
        .map((close) => close.timeMs),
      binCount,
      [startMs, endMs],
    ),
  )
  const bins =
    binned.find((entry) => entry.bins.length > 0)?.bins ??
    binValues([startMs], binCount, [startMs, endMs]).bins
  sections.push(
    `<h2>Liquidations over time</h2><figure>${histogram({
      title: `Liquidations per ${Math.round(spanMs / binCount / 60_000)} minutes`,
      height: 260,
      xFormat,
      yFormat: (value) => String(Number(value.toPrecision(4))),
      bins,
      series: result.outcomes.map((outcome, index) => ({
        name: outcome.ruleSetId,
        color: colors[index] ?? '#111827',
        values: binned[index]?.counts ?? [],
      })),
    })}</figure>`,
  )

  // With several settlement assets the losses are compared in USD (each at the price of its moment).
  const lossesOf = (outcome: RuleSetOutcome): readonly Fixed[] =>
    (mixed ? outcome.monteCarloLossesInQuote : outcome.monteCarloLosses) ?? []
  const lossOutcomes = result.outcomes.filter((outcome) => lossesOf(outcome).length > 0)
  if (lossOutcomes.length > 0) {
    const allLosses = lossOutcomes.flatMap((outcome) => lossesOf(outcome).map(toNumber))
    const range = [Math.min(...allLosses), Math.max(...allLosses)] as const
    const lossBins = binValues(allLosses, 30, range).bins
    sections.push(
      `<h2>Loss distribution (Monte Carlo)</h2><figure>${histogram({
        title: `Uncovered loss per path (${mixed ? QUOTE_UNIT : result.settlementAsset})`,
        height: 260,
        xFormat: shortNumber,
        yFormat: (value) => String(Number(value.toPrecision(4))),
        bins: lossBins,
        series: result.outcomes.map((outcome, index) => ({
          name: outcome.ruleSetId,
          color: colors[index] ?? '#111827',
          values: binValues(lossesOf(outcome).map(toNumber), 30, range).counts,
        })),
      })}<figcaption>Count of paths by loss not covered by the insurance fund; p95 and p99 are in the comparison table (linear interpolation between order statistics).</figcaption></figure>`,
    )
  }

  const tableRows = result.outcomes.flatMap((outcome) =>
    [...outcome.forcedCloses]
      .sort((a, b) => a.timeMs - b.timeMs)
      .slice(0, TABLE_ROW_LIMIT)
      .map(
        (close) =>
          `<tr><td>${escapeXml(outcome.ruleSetId)}</td><td>${utc(close.timeMs)}</td><td>${escapeXml(close.account)}</td><td>${escapeXml(close.kind)}</td><td>${escapeXml(formatFixed(close.size))}</td><td>${groupDigits(formatFixed(close.price))}</td><td>${amount(close.value, decimalsOf(outcome.settlementAsset, coins))} <span class="unit">${escapeXml(outcome.settlementAsset)}</span></td></tr>`,
      ),
  )
  const hidden = result.outcomes.reduce(
    (count, outcome) => count + Math.max(0, outcome.forcedCloses.length - TABLE_ROW_LIMIT),
    0,
  )
  sections.push(`<h2>Forced closes</h2><div class="scroll"><table><thead><tr><th>Rule set</th><th>Time (UTC)</th><th>Account</th><th>Kind</th><th>Size (contracts)</th><th>Price</th><th>Value</th></tr></thead><tbody>
${tableRows.join('\n')}
</tbody></table></div>${hidden > 0 ? `<p class="note">${hidden} more rows are in forced-closes.csv.</p>` : ''}`)

  sections.push(
    `<h2>Definitions</h2><p class="note">Bad debt: losses of liquidated accounts beyond their collateral, before the insurance fund, auto-deleveraging or socialization cover them. Cascade amplification: (fall of the simulated price − fall of the exogenous price) ÷ fall of the exogenous price, both from the start to the lowest point. Liquidations exclude the traders' own exit orders (stops, targets, daily loss limits), which are counted apart.</p>`,
  )

  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeXml(result.title)}</title><style>${STYLE}</style></head>
<body><main>
${sections.join('\n')}
</main></body></html>
`
}

/**
 * The dynamic margin section (SIMRUN-019): the factor on the published margin rates as a step
 * line over the path, and the table of re-sets. Empty when no rule set ran with dynamic margin.
 * The schedule comes from the exogenous path, so rule sets usually share one line.
 */
function marginSection(
  result: SimulationResult,
  colors: readonly string[],
  xFormat: (value: number) => string,
  startMs: number,
  endMs: number,
): string {
  const withResets = result.outcomes
    .map((outcome, index) => ({ outcome, index, resets: outcome.marginResets }))
    .filter(
      (entry): entry is typeof entry & { resets: NonNullable<RuleSetOutcome['marginResets']> } =>
        entry.resets !== undefined,
    )
  if (withResets.length === 0) return ''
  const key = (resets: NonNullable<RuleSetOutcome['marginResets']>): string =>
    resets.map((reset) => `${reset.timeMs}:${reset.factor}`).join(',')
  const shared = new Set(withResets.map((entry) => key(entry.resets))).size === 1
  const lines = (shared ? withResets.slice(0, 1) : withResets).map(({ outcome, index, resets }) => {
    const last = resets.at(-1)
    return {
      name: shared ? 'margin factor (every rule set)' : outcome.ruleSetId,
      color: shared ? '#111827' : (colors[index] ?? '#111827'),
      step: true,
      points: [
        [startMs, 1] as const,
        ...resets.map((reset) => [reset.timeMs, toNumber(reset.factor)] as const),
        [endMs, last === undefined ? 1 : toNumber(last.factor)] as const,
      ],
    }
  })
  const rows = (shared ? withResets.slice(0, 1) : withResets).flatMap(({ outcome, resets }) =>
    resets
      .slice(0, TABLE_ROW_LIMIT)
      .map(
        (reset) =>
          `<tr><td>${shared ? 'every rule set' : escapeXml(outcome.ruleSetId)}</td><td>${utc(reset.timeMs)}</td><td>×${escapeXml(formatFixed(reset.factor))}</td><td>${escapeXml(formatFixed(reset.rate, 6))}</td></tr>`,
      ),
  )
  const table =
    rows.length === 0
      ? '<p class="note">No re-set: the rate never moved far enough from its level at the end of the warm-up, so the published rates stayed in force.</p>'
      : `<div class="scroll"><table><thead><tr><th>Rule set</th><th>From (UTC)</th><th>Factor</th><th>APC rate</th></tr></thead><tbody>
${rows.join('\n')}
</tbody></table></div>`
  return `<h2>Dynamic margin</h2><figure>${lineChart({
    title: 'Margin factor: rates in force ÷ published rates',
    height: 220,
    xFormat,
    yFormat: (value) => `×${Number(value.toPrecision(3))}`,
    series: lines,
    yFromZero: true,
  })}<figcaption>Each re-set multiplies the initial and maintenance rates of the simulated market's published margin model by the factor (rounded up, at most 1). The factor is the EWMA + anti-procyclicality rate of the exogenous path ÷ its rate at the end of the warm-up, read on a fixed schedule; the liquidation chain is unchanged.</figcaption></figure>
${table}`
}

function formatDisplay(value: string, decimals: number): string {
  const parsed = parseFixed(value)
  return parsed.ok ? formatFixed(parsed.value, decimals) : value
}
