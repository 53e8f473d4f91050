/**
 * Binance kline (candlestick) CSV files → exact candles → price paths (SIM-011, SIM-012).
 *
 * The layout is Binance's public kline dump (data.binance.vision), twelve columns:
 * open_time, open, high, low, close, volume, close_time, quote_volume, count, taker_buy_volume,
 * taker_buy_quote_volume, ignore. Times are Unix milliseconds (UTC). A header line is optional.
 * Decimal fields are kept as exact decimals (`Fixed`), never through floating point.
 */
import { readFileSync } from 'node:fs'
import { divideRounded, type Fixed, isMultipleOf, parseFixed } from '../../core/num/fixed.ts'
import { type Checked, type Issue, issue } from '../issue.ts'
import { createRandom, type Random } from '../random.ts'
import type { PricePath, PricePoint } from './price-path.ts'

export const KLINE_COLUMNS = [
  'open_time',
  'open',
  'high',
  'low',
  'close',
  'volume',
  'close_time',
  'quote_volume',
  'count',
  'taker_buy_volume',
  'taker_buy_quote_volume',
  'ignore',
] as const

/** One candle, every decimal exact. */
export interface Kline {
  readonly openTimeMs: number
  readonly closeTimeMs: number
  readonly open: Fixed
  readonly high: Fixed
  readonly low: Fixed
  readonly close: Fixed
  /** Traded volume in base units (BTC). */
  readonly volume: Fixed
  /** Traded volume in quote units (USDT). */
  readonly quoteVolume: Fixed
  readonly tradeCount: number
  readonly takerBuyVolume: Fixed
  readonly takerBuyQuoteVolume: Fixed
}

const DECIMAL_COLUMNS = new Set([1, 2, 3, 4, 5, 7, 9, 10])
const INTEGER_PATTERN = /^\d+$/

/**
 * Parses kline CSV text. Errors (wrong column count, non-numbers, high below low, times out of
 * order or with gaps) make the result fail with every issue found; nothing is skipped silently.
 */
export function parseBinanceKlines(
  text: string,
  options: { readonly intervalMs?: number } = {},
): Checked<Kline[]> {
  const intervalMs = options.intervalMs ?? 60_000
  const issues: Issue[] = []
  const klines: Kline[] = []
  const lines = text.split(/\r?\n/)
  lines.forEach((line, index) => {
    const lineNumber = index + 1
    if (line.trim() === '') return
    if (index === 0 && line.startsWith('open_time')) {
      if (line.split(',').join(',') !== KLINE_COLUMNS.join(',')) {
        issues.push(
          issue(
            'kline_header_unexpected',
            'line 1',
            `the header must be "${KLINE_COLUMNS.join(',')}"`,
          ),
        )
      }
      return
    }
    const fields = line.split(',')
    if (fields.length !== KLINE_COLUMNS.length) {
      issues.push(
        issue(
          'kline_column_count',
          `line ${lineNumber}`,
          `a kline row has ${KLINE_COLUMNS.length} fields; found ${fields.length}`,
        ),
      )
      return
    }
    const decimals: Fixed[] = []
    const integers: number[] = []
    let rowValid = true
    fields.forEach((field, column) => {
      const where = `line ${lineNumber}, column ${KLINE_COLUMNS[column] ?? column}`
      if (DECIMAL_COLUMNS.has(column)) {
        const parsed = parseFixed(field)
        if (!parsed.ok) {
          issues.push(issue('kline_decimal_invalid', where, parsed.message))
          rowValid = false
        } else if (parsed.value < 0n) {
          issues.push(issue('kline_value_negative', where, `"${field}" is negative`))
          rowValid = false
        } else decimals.push(parsed.value)
      } else if (!INTEGER_PATTERN.test(field) || !Number.isSafeInteger(Number(field))) {
        issues.push(issue('kline_integer_invalid', where, `"${field}" is not a whole number`))
        rowValid = false
      } else integers.push(Number(field))
    })
    if (!rowValid) return
    const [open, high, low, close, volume, quoteVolume, takerBuyVolume, takerBuyQuoteVolume] =
      decimals as [Fixed, Fixed, Fixed, Fixed, Fixed, Fixed, Fixed, Fixed]
    const [openTimeMs, closeTimeMs, tradeCount] = integers as [number, number, number, number]
    const kline: Kline = {
      openTimeMs,
      closeTimeMs,
      open,
      high,
      low,
      close,
      volume,
      quoteVolume,
      tradeCount,
      takerBuyVolume,
      takerBuyQuoteVolume,
    }
    if (low <= 0n || low > open || low > close || high < open || high < close) {
      issues.push(
        issue(
          'kline_range_inconsistent',
          `line ${lineNumber}`,
          'a candle has 0 < low ≤ open, close ≤ high',
        ),
      )
      return
    }
    if (closeTimeMs !== openTimeMs + intervalMs - 1) {
      issues.push(
        issue(
          'kline_close_time_mismatch',
          `line ${lineNumber}, column close_time`,
          `close_time is open_time + ${intervalMs - 1}`,
        ),
      )
      return
    }
    const previous = klines.at(-1)
    if (previous !== undefined && openTimeMs !== previous.openTimeMs + intervalMs) {
      issues.push(
        issue(
          openTimeMs <= previous.openTimeMs ? 'kline_time_not_increasing' : 'kline_gap',
          `line ${lineNumber}, column open_time`,
          `open_time follows the previous row by ${intervalMs} ms; found ${openTimeMs - previous.openTimeMs} ms`,
        ),
      )
      return
    }
    klines.push(kline)
  })
  if (klines.length === 0 && issues.length === 0)
    issues.push(issue('kline_file_empty', 'line 1', 'the file has no kline rows'))
  return issues.length > 0 ? { ok: false, issues } : { ok: true, value: klines, warnings: [] }
}

/** Reads and parses a kline CSV file (whole file; the public monthly 1-minute files are a few MB). */
export function loadBinanceKlines(
  filePath: string,
  options: { readonly intervalMs?: number } = {},
): Checked<Kline[]> {
  let text: string
  try {
    text = readFileSync(filePath, 'utf8')
  } catch (error) {
    return {
      ok: false,
      issues: [
        issue(
          'kline_file_unreadable',
          filePath,
          error instanceof Error ? error.message : String(error),
        ),
      ],
    }
  }
  return parseBinanceKlines(text, options)
}

/**
 * The order in which a candle's extremes are visited inside its interval:
 * - `direction`: a rising candle (close ≥ open) visits the low first (O → L → H → C), a falling one
 *   the high first (O → H → L → C): the common backtesting convention, which assumes the move
 *   against the candle's direction came first;
 * - `nearest_first`: the extreme nearer to the open comes first (ties: low first).
 */
export type IntraCandleOrder = 'direction' | 'nearest_first'

export interface KlinePathOptions {
  readonly name: string
  /** Tick grid of the emitted prices; candle prices off this grid are reported as warnings. Default 0.01. */
  readonly tickSize?: Fixed
  /** Points per candle: 1 (the close, with the candle's high and low) or at least 3. Default 1. */
  readonly subSteps?: number
  readonly order?: IntraCandleOrder
  /**
   * Random wiggle of interior sub-steps, as a fraction of the candle's range (0 = straight legs).
   * Wiggled prices stay within [low, high]; extremes and the close are never moved. Default 0.
   */
  readonly jitter?: number
  /** Seed of the wiggle; required for a reproducible path when `jitter` > 0. Default 0. */
  readonly seed?: number
  readonly source?: string
}

/**
 * Turns candles into a path. The first point is the first candle's open at its open time; then one
 * point per sub-step. With one sub-step, each point is the candle's close at its close time (open
 * time + interval), carrying the candle's high and low. With N ≥ 3 sub-steps the candle is walked
 * O → first extreme → second extreme → C (see `IntraCandleOrder`): the extremes are reached at
 * sub-steps ⌊N/3⌋ and ⌊2N/3⌋ (at least 1 and 2) and the close at sub-step N; between them prices
 * move in straight lines (rounded half-even to the tick), plus the optional seeded wiggle. Each
 * point then carries the high and low of its own segment, so the extremes are never lost.
 */
export function klinesToPath(
  klines: readonly Kline[],
  options: KlinePathOptions,
): Checked<PricePath> {
  const subSteps = options.subSteps ?? 1
  const tickSize = options.tickSize ?? ((10n ** 16n) as Fixed)
  const first = klines[0]
  const second = klines[1]
  if (first === undefined)
    return {
      ok: false,
      issues: [issue('kline_file_empty', 'klines', 'no candles to build a path from')],
    }
  const intervalMs =
    second === undefined
      ? first.closeTimeMs + 1 - first.openTimeMs
      : second.openTimeMs - first.openTimeMs
  if (
    !Number.isInteger(subSteps) ||
    subSteps < 1 ||
    subSteps === 2 ||
    intervalMs % subSteps !== 0
  ) {
    return {
      ok: false,
      issues: [
        issue(
          'sub_steps_invalid',
          'subSteps',
          `sub-steps are 1 or ≥ 3 and divide the ${intervalMs} ms interval; found ${subSteps}`,
        ),
      ],
    }
  }
  const warnings: Issue[] = []
  klines.forEach((kline, index) => {
    for (const [column, value] of [
      ['open', kline.open],
      ['high', kline.high],
      ['low', kline.low],
      ['close', kline.close],
    ] as const) {
      if (!isMultipleOf(value, tickSize)) {
        warnings.push(
          issue(
            'price_off_tick',
            `klines[${index}].${column}`,
            `the ${column} is not a multiple of the tick size; kept exact`,
          ),
        )
      }
    }
  })
  const stepMs = intervalMs / subSteps
  const random = createRandom(options.seed ?? 0)
  const jitter = options.jitter ?? 0
  const order = options.order ?? 'direction'
  const points: PricePoint[] = [{ timeMs: first.openTimeMs, price: first.open }]
  for (const kline of klines) {
    if (subSteps === 1) {
      points.push({
        timeMs: kline.openTimeMs + intervalMs,
        price: kline.close,
        high: kline.high,
        low: kline.low,
      })
      continue
    }
    const lowFirst = visitsLowFirst(kline, order)
    const anchors: { step: number; price: Fixed }[] = [
      { step: 0, price: kline.open },
      { step: Math.max(1, Math.floor(subSteps / 3)), price: lowFirst ? kline.low : kline.high },
      {
        step: Math.max(2, Math.floor((2 * subSteps) / 3)),
        price: lowFirst ? kline.high : kline.low,
      },
      { step: subSteps, price: kline.close },
    ]
    let previousPrice = kline.open
    for (let step = 1; step <= subSteps; step += 1) {
      const price = intraCandlePrice(anchors, step, kline, tickSize, jitter, random)
      points.push({
        timeMs: kline.openTimeMs + step * stepMs,
        price,
        high: price > previousPrice ? price : previousPrice,
        low: price < previousPrice ? price : previousPrice,
      })
      previousPrice = price
    }
  }
  const rule =
    subSteps === 1
      ? 'close per candle'
      : `${subSteps} sub-steps per candle, order ${order}, jitter ${jitter}, seed ${options.seed ?? 0}`
  return {
    ok: true,
    value: {
      name: options.name,
      startTimeMs: first.openTimeMs,
      stepMs,
      tickSize,
      points,
      source:
        options.source === undefined ? `Binance klines (${rule})` : `${options.source} (${rule})`,
    },
    warnings,
  }
}

function visitsLowFirst(kline: Kline, order: IntraCandleOrder): boolean {
  switch (order) {
    case 'direction':
      return kline.close >= kline.open
    case 'nearest_first':
      return kline.open - kline.low <= kline.high - kline.open
  }
}

function intraCandlePrice(
  anchors: readonly { step: number; price: Fixed }[],
  step: number,
  kline: Kline,
  tickSize: Fixed,
  jitter: number,
  random: Random,
): Fixed {
  let legIndex = 0
  while ((anchors[legIndex + 1]?.step ?? Number.POSITIVE_INFINITY) < step) legIndex += 1
  const start = anchors[legIndex]
  const end = anchors[legIndex + 1]
  if (start === undefined || end === undefined)
    throw new RangeError('Invariant: a sub-step lies on a leg (SIM-012)')
  if (step === end.step) return end.price
  // Straight line in exact arithmetic: start + (end − start) × (step − s0) / (s1 − s0), half-even to the tick.
  const offset = BigInt(step - start.step)
  const span = BigInt(end.step - start.step)
  const exact = start.price * span + (end.price - start.price) * offset
  let price = (divideRounded(exact, span * tickSize, 'half_even') * tickSize) as Fixed
  if (jitter > 0) {
    const rangeTicks = Number((kline.high - kline.low) / tickSize)
    const wiggleTicks = Math.trunc((random.uniform() - 0.5) * jitter * rangeTicks)
    price = (price + BigInt(wiggleTicks) * tickSize) as Fixed
  }
  if (price < kline.low) price = kline.low
  if (price > kline.high) price = kline.high
  return price
}
