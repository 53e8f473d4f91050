/**
 * `lor margin-history FILE`: the dynamic margin rate of a market over time, from a Binance kline CSV
 * (docs/spec/dynamic-margin.md, DYN-008..DYN-011). Each close-to-close return updates an EWMA
 * volatility; the rate is k × σ, then the anti-procyclicality tools (floor, stress weight, buffer)
 * and the size premium apply, and each row names the tool that bound the rate. Parameters come
 * from flags, a parameter file (`--params`), or the documented defaults; flags win over the file.
 */
import { alignedLines } from './table.ts'
import { readFileSync } from 'node:fs'
import type { Command } from 'commander'
import { parse as parseYaml } from 'yaml'
import type { MarginHistoryPoint } from '../core/dynamic-margin/apc.ts'
import { marginHistory } from '../core/dynamic-margin/apc.ts'
import { parseDynamicMarginParams } from '../core/dynamic-margin/params.ts'
import { type Fixed, formatFixed, ZERO } from '../core/num/fixed.ts'
import { type Kline, loadBinanceKlines } from '../sim/paths/binance-klines.ts'
import { configureInputErrors, describeIssues, inputError, withInputErrors } from './errors.ts'

interface MarginHistoryOptions {
  readonly params?: string
  readonly lambda?: string
  readonly initialVariance?: string
  readonly multiplier?: string
  readonly quantile?: string
  readonly horizon?: string
  readonly floorLookback?: string
  readonly stressWeight?: string
  readonly buffer?: string
  readonly bufferRebuild?: string
  readonly size?: string
  readonly sizeFactor?: string
  readonly every?: string
  readonly csv?: boolean
  readonly json?: boolean
}

/** Flag → field of the parameter document (DYN-010). */
const FLAG_FIELDS = [
  ['lambda', 'lambda', '--lambda'],
  ['initialVariance', 'initialVariance', '--initial-variance'],
  ['multiplier', 'multiplier', '--multiplier'],
  ['quantile', 'quantile', '--quantile'],
  ['horizon', 'horizon', '--horizon'],
  ['floorLookback', 'floorLookback', '--floor-lookback'],
  ['stressWeight', 'stressWeight', '--stress-weight'],
  ['buffer', 'buffer', '--buffer'],
  ['bufferRebuild', 'bufferRebuild', '--buffer-rebuild'],
] as const

/** Registers `lor margin-history` on the program. */
export function registerMarginHistoryCommand(program: Command): void {
  const command = program
    .command('margin-history')
    .description(
      'EWMA-volatility margin rate over time from a Binance 1-minute kline CSV, with anti-procyclicality tools',
    )
    .argument('<file>', 'Binance kline CSV (12-column public layout, 1-minute candles)')
    .option('--params <file>', 'parameter file (YAML or JSON); flags override its fields')
    .option('--lambda <decimal>', 'EWMA decay λ per return (default 0.94, RiskMetrics)')
    .option('--initial-variance <decimal>', 'variance before the first return (default r₀²)')
    .option(
      '--multiplier <decimal>',
      'k in rate = k × σ (default quantile × √(horizon in returns))',
    )
    .option('--quantile <decimal>', 'normal quantile of the margin (default 2.33: 99 %)')
    .option('--horizon <duration>', 'liquidation period, e.g. 1d, 4h, 30m (default 1d)')
    .option('--floor-lookback <returns>', 'APC floor: k × RMS return over this many returns')
    .option('--stress-weight <share>', 'APC stress weight on k × the highest σ so far (≥ 0.25)')
    .option('--buffer <share>', 'APC buffer share (default 0.25; 0 turns it off)')
    .option('--buffer-rebuild <share>', 'share of the buffer restored per step (default 0)')
    .option('--size <amount>', 'position size for the square-root size premium')
    .option('--size-factor <decimal>', 'size premium factor: rate + factor × √size')
    .option('--every <n>', 'print every n-th return (default 1)')
    .option('--csv', 'print CSV with exact decimals')
    .option('--json', 'print one JSON object with decimal strings')
    .action(
      withInputErrors((file: string, options: MarginHistoryOptions) =>
        runMarginHistory(file, options),
      ),
    )
  configureInputErrors(command)
}

function readParamsFile(file: string): Record<string, unknown> {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch {
    inputError(`--params ${file}: cannot read the file`)
  }
  let document: unknown
  try {
    document = /\.ya?ml$/i.test(file) ? parseYaml(text) : JSON.parse(text)
  } catch (error) {
    inputError(
      `--params ${file}: ${error instanceof Error ? (error.message.split('\n')[0] ?? '') : 'syntax error'}`,
    )
  }
  if (typeof document !== 'object' || document === null || Array.isArray(document))
    inputError(`--params ${file}: expected an object of parameters`)
  return { ...(document as Record<string, unknown>) }
}

/** The parameter document: the file's fields, then the flags given (DYN-010). */
function parameterDocument(options: MarginHistoryOptions): {
  document: Record<string, unknown>
  flagOf: Map<string, string>
} {
  const document = options.params === undefined ? {} : readParamsFile(options.params)
  const flagOf = new Map<string, string>()
  if (options.multiplier !== undefined) {
    delete document.quantile
    delete document.horizon
  }
  if (options.quantile !== undefined || options.horizon !== undefined) delete document.multiplier
  for (const [key, field, flag] of FLAG_FIELDS) {
    const value = options[key]
    if (value === undefined) continue
    document[field] = value
    flagOf.set(field, `${flag} ${value}`)
  }
  if ((options.size === undefined) !== (options.sizeFactor === undefined))
    inputError('--size and --size-factor go together (rate + factor × √size)')
  if (options.size !== undefined && options.sizeFactor !== undefined) {
    document.sizeScaling = { size: options.size, factor: options.sizeFactor }
    flagOf.set('sizeScaling', `--size ${options.size} --size-factor ${options.sizeFactor}`)
  }
  return { document, flagOf }
}

function describeParameterIssue(
  issues: readonly { code: string; path: string; message: string }[],
  flagOf: ReadonlyMap<string, string>,
  paramsFile: string | undefined,
): string {
  const first = issues[0]
  if (first === undefined) return 'invalid parameters'
  const flag = flagOf.get(first.path.split('.')[0] ?? '')
  const place =
    flag ?? (paramsFile === undefined ? first.path : `--params ${paramsFile}: ${first.path}`)
  const more = issues.length > 1 ? ` (and ${issues.length - 1} more)` : ''
  return `${place}: ${first.message}${more}`
}

interface HistoryRow {
  readonly time: string
  readonly close: string
  readonly logReturn: string
  readonly volatility: string
  readonly modelRate: string
  readonly floorRate: string | null
  readonly stressedRate: string
  readonly rate: string
  readonly binding: string
  readonly changedBy: readonly string[]
}

function iso(timeMs: number): string {
  return new Date(timeMs).toISOString().replace('.000Z', 'Z')
}

function rowOf(point: MarginHistoryPoint, klines: readonly Kline[]): HistoryRow {
  const kline = klines[point.index + 1]
  return {
    time: kline === undefined ? '' : iso(kline.closeTimeMs + 1),
    close: kline === undefined ? '' : formatFixed(kline.close),
    logReturn: formatFixed(point.logReturn),
    volatility: formatFixed(point.volatility),
    modelRate: formatFixed(point.modelRate),
    floorRate: point.floorRate === null ? null : formatFixed(point.floorRate),
    stressedRate: formatFixed(point.stressedRate),
    rate: formatFixed(point.rate),
    binding: point.binding,
    changedBy: point.changedBy,
  }
}

function runMarginHistory(file: string, options: MarginHistoryOptions): void {
  if (options.csv === true && options.json === true) inputError('give either --csv or --json')
  const every = options.every === undefined ? 1 : Number(options.every)
  if (!Number.isSafeInteger(every) || every < 1)
    inputError(`--every ${options.every ?? ''}: expected a whole number ≥ 1`)
  const loaded = loadBinanceKlines(file)
  if (!loaded.ok) inputError(`${file}: ${describeIssues(loaded.issues)}`)
  const klines = loaded.value
  const first = klines[0]
  const second = klines[1]
  if (first === undefined || second === undefined)
    inputError(`${file}: at least two candles are needed for one return`)
  const intervalMs = second.openTimeMs - first.openTimeMs
  const { document, flagOf } = parameterDocument(options)
  const parsed = parseDynamicMarginParams(document, intervalMs)
  if (!parsed.ok) inputError(describeParameterIssue(parsed.issues, flagOf, options.params))
  const params = parsed.params
  const points = marginHistory(
    klines.map((kline) => kline.close),
    params,
  )
  const shown = points.filter((point) => point.index % every === 0)
  const rows = shown.map((point) => rowOf(point, klines))
  const parameters = {
    lambda: formatFixed(params.ewma.lambda),
    initialVariance:
      params.ewma.initialVariance === undefined ? null : formatFixed(params.ewma.initialVariance),
    multiplier: formatFixed(params.multiplier),
    multiplierSource: parsed.multiplierSource,
    floorLookback: params.floorLookback ?? null,
    stressWeight: params.stressWeight === undefined ? null : formatFixed(params.stressWeight),
    buffer: params.buffer === undefined ? null : formatFixed(params.buffer),
    bufferRebuild: params.bufferRebuild === undefined ? null : formatFixed(params.bufferRebuild),
    sizeScaling:
      params.sizeScaling === undefined
        ? null
        : {
            size: formatFixed(params.sizeScaling.size),
            factor: formatFixed(params.sizeScaling.factor),
          },
  }
  const summary = summarise(points, klines)
  if (options.json === true) {
    const report = { file, intervalMs, returns: points.length, parameters, summary, rows }
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`)
    return
  }
  if (options.csv === true) {
    const header =
      'time,close,log_return,volatility,model_rate,floor_rate,stressed_rate,rate,binding'
    const lines = rows.map((row) =>
      [
        row.time,
        row.close,
        row.logReturn,
        row.volatility,
        row.modelRate,
        row.floorRate ?? '',
        row.stressedRate,
        row.rate,
        row.binding,
      ].join(','),
    )
    process.stdout.write(`${[header, ...lines].join('\n')}\n`)
    return
  }
  process.stdout.write(renderText(file, points.length, parameters, summary, shown, klines))
}

interface Summary {
  readonly peakRate: string
  readonly peakRateTime: string
  readonly peakModelRate: string
  readonly peakModelRateTime: string
  readonly largestRise: string
  readonly largestModelRise: string
  readonly binding: Record<string, number>
}

function summarise(points: readonly MarginHistoryPoint[], klines: readonly Kline[]): Summary {
  let peak = points[0]
  let peakModel = points[0]
  let largestRise = ZERO
  let largestModelRise = ZERO
  const binding: Record<string, number> = {}
  points.forEach((point, index) => {
    if (peak === undefined || point.rate > peak.rate) peak = point
    if (peakModel === undefined || point.modelRate > peakModel.modelRate) peakModel = point
    binding[point.binding] = (binding[point.binding] ?? 0) + 1
    const previous = points[index - 1]
    if (previous === undefined) return
    const rise = (point.rate - previous.rate) as Fixed
    const modelRise = (point.modelRate - previous.modelRate) as Fixed
    if (rise > largestRise) largestRise = rise
    if (modelRise > largestModelRise) largestModelRise = modelRise
  })
  const timeOf = (point: MarginHistoryPoint | undefined): string => {
    const kline = point === undefined ? undefined : klines[point.index + 1]
    return kline === undefined ? '' : iso(kline.closeTimeMs + 1)
  }
  return {
    peakRate: formatFixed(peak?.rate ?? ZERO),
    peakRateTime: timeOf(peak),
    peakModelRate: formatFixed(peakModel?.modelRate ?? ZERO),
    peakModelRateTime: timeOf(peakModel),
    largestRise: formatFixed(largestRise),
    largestModelRise: formatFixed(largestModelRise),
    binding,
  }
}

function renderText(
  file: string,
  returns: number,
  parameters: Record<string, unknown>,
  summary: Summary,
  points: readonly MarginHistoryPoint[],
  klines: readonly Kline[],
): string {
  const optional = (label: string, value: unknown): string =>
    typeof value === 'string' || typeof value === 'number' ? `  ${label} ${value}` : ''
  const lines = [
    `margin history of ${file}: ${returns} returns`,
    `λ ${String(parameters.lambda)}  k ${String(parameters.multiplier)} (${String(parameters.multiplierSource)})${optional('floor look-back', parameters.floorLookback)}${optional('stress weight', parameters.stressWeight)}${optional('buffer', parameters.buffer)}${parameters.sizeScaling === null ? '' : '  size premium on'}`,
    `peak rate ${summary.peakRate} at ${summary.peakRateTime} (model peak ${summary.peakModelRate} at ${summary.peakModelRateTime}); largest one-step rise ${summary.largestRise} (model ${summary.largestModelRise})`,
    `binding: ${Object.entries(summary.binding)
      .map(([tool, count]) => `${tool} ${count}`)
      .join(', ')}`,
    '',
  ]
  const headers = ['time', 'close', 'return', 'σ', 'model', 'floor', 'stressed', 'rate', 'binding']
  const rows = points.map((point) => {
    const kline = klines[point.index + 1]
    return [
      kline === undefined
        ? ''
        : iso(kline.closeTimeMs + 1)
            .slice(0, 16)
            .replace('T', ' '),
      kline === undefined ? '' : formatFixed(kline.close),
      formatFixed(point.logReturn, 6),
      formatFixed(point.volatility, 6),
      formatFixed(point.modelRate, 6),
      point.floorRate === null ? '-' : formatFixed(point.floorRate, 6),
      formatFixed(point.stressedRate, 6),
      formatFixed(point.rate, 6),
      point.binding,
    ]
  })
  lines.push(
    ...alignedLines(headers, rows, (column, count) => column === 0 || column === count - 1),
  )
  return `${lines.join('\n')}\n`
}
