/**
 * Small inline SVG charts for the HTML report (SIM-051): line charts with markers, grouped
 * histograms and step lines. No scripts, no external resources; numbers here are for drawing only.
 */

export const PALETTE = [
  '#2563eb',
  '#dc2626',
  '#16a34a',
  '#9333ea',
  '#ea580c',
  '#0891b2',
  '#4b5563',
  '#ca8a04',
  '#db2777',
  '#65a30d',
  '#7c3aed',
  '#0f766e',
] as const

export interface ChartFrame {
  readonly title: string
  readonly width?: number
  readonly height?: number
  readonly xFormat: (value: number) => string
  readonly yFormat: (value: number) => string
  readonly yLabel?: string
}

export interface LineSeries {
  readonly name: string
  readonly color: string
  readonly points: readonly (readonly [number, number])[]
  readonly dashed?: boolean
  /** Draw as a step line (value holds until the next point), e.g. a fund balance. */
  readonly step?: boolean
}

export interface ChartMarker {
  readonly x: number
  readonly y: number
  readonly color: string
  readonly title: string
}

const MARGIN = { top: 34, right: 16, bottom: 40, left: 78 } as const

/** Escapes text for SVG/HTML content and attributes. */
export function escapeXml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;')
}

/** About `count` round tick values covering [minimum, maximum] (1, 2, 2.5, 5 × 10^k steps). */
export function niceTicks(minimum: number, maximum: number, count = 5): number[] {
  if (!(maximum > minimum)) return [minimum]
  const rough = (maximum - minimum) / count
  const power = 10 ** Math.floor(Math.log10(rough))
  const step = ([1, 2, 2.5, 5, 10].find((factor) => factor * power >= rough) ?? 10) * power
  const ticks: number[] = []
  for (
    let value = Math.ceil(minimum / step) * step;
    value <= maximum + step * 1e-9;
    value += step
  ) {
    ticks.push(Number(value.toPrecision(12)))
  }
  return ticks
}

/**
 * Keeps at most about `limit` points, preserving each bucket's first, lowest and highest point so
 * spikes and crash lows stay visible.
 */
export function decimate(
  points: readonly (readonly [number, number])[],
  limit = 1200,
): (readonly [number, number])[] {
  if (points.length <= limit) return [...points]
  const bucketSize = Math.ceil(points.length / (limit / 3))
  const kept: (readonly [number, number])[] = []
  for (let start = 0; start < points.length; start += bucketSize) {
    const bucket = points.slice(start, start + bucketSize)
    let lowest = bucket[0]
    let highest = bucket[0]
    for (const point of bucket) {
      if (lowest === undefined || point[1] < lowest[1]) lowest = point
      if (highest === undefined || point[1] > highest[1]) highest = point
    }
    const chosen = new Set([bucket[0], lowest, highest, bucket.at(-1)])
    for (const point of bucket) if (chosen.has(point)) kept.push(point)
  }
  return kept
}

interface Plot {
  readonly width: number
  readonly height: number
  readonly x: (value: number) => number
  readonly y: (value: number) => number
  readonly xTicks: number[]
  readonly yTicks: number[]
}

function plotArea(
  frame: ChartFrame,
  xs: readonly number[],
  ys: readonly number[],
  yFromZero: boolean,
): Plot {
  const width = frame.width ?? 960
  const height = frame.height ?? 320
  let xMinimum = Math.min(...xs)
  let xMaximum = Math.max(...xs)
  if (!(xMaximum > xMinimum)) {
    xMinimum -= 1
    xMaximum += 1
  }
  let yMinimum = Math.min(...ys, ...(yFromZero ? [0] : []))
  let yMaximum = Math.max(...ys, ...(yFromZero ? [0] : []))
  if (!(yMaximum > yMinimum)) {
    const pad = yMaximum !== 0 ? Math.abs(yMaximum) * 0.05 : 1
    yMinimum -= pad
    yMaximum += pad
  } else if (!yFromZero) {
    const pad = (yMaximum - yMinimum) * 0.05
    yMinimum -= pad
    yMaximum += pad
  } else yMaximum += (yMaximum - yMinimum) * 0.05
  const yTicks = niceTicks(yMinimum, yMaximum, 5)
  const innerWidth = width - MARGIN.left - MARGIN.right
  const innerHeight = height - MARGIN.top - MARGIN.bottom
  return {
    width,
    height,
    x: (value) => MARGIN.left + ((value - xMinimum) / (xMaximum - xMinimum)) * innerWidth,
    y: (value) => MARGIN.top + (1 - (value - yMinimum) / (yMaximum - yMinimum)) * innerHeight,
    xTicks: niceTimeTicks(xMinimum, xMaximum),
    yTicks,
  }
}

/** Time ticks at round hours/minutes/days when x is a Unix time in ms; plain nice ticks otherwise. */
function niceTimeTicks(minimum: number, maximum: number): number[] {
  const span = maximum - minimum
  if (minimum < 1e11) return niceTicks(minimum, maximum, 6)
  const steps = [
    60_000, 300_000, 900_000, 1_800_000, 3_600_000, 7_200_000, 10_800_000, 21_600_000, 43_200_000,
    86_400_000, 172_800_000, 604_800_000,
  ]
  const step = steps.find((candidate) => span / candidate <= 8) ?? 604_800_000
  const ticks: number[] = []
  for (let value = Math.ceil(minimum / step) * step; value <= maximum; value += step)
    ticks.push(value)
  return ticks
}

function axes(frame: ChartFrame, plot: Plot): string {
  const parts: string[] = []
  const right = plot.width - MARGIN.right
  const bottom = plot.height - MARGIN.bottom
  for (const tick of plot.yTicks) {
    const y = plot.y(tick).toFixed(1)
    parts.push(`<line x1="${MARGIN.left}" x2="${right}" y1="${y}" y2="${y}" class="grid"/>`)
    parts.push(
      `<text x="${MARGIN.left - 6}" y="${y}" class="tick" text-anchor="end" dominant-baseline="middle">${escapeXml(frame.yFormat(tick))}</text>`,
    )
  }
  for (const tick of plot.xTicks) {
    const x = plot.x(tick).toFixed(1)
    parts.push(`<line x1="${x}" x2="${x}" y1="${bottom}" y2="${bottom + 4}" class="axis"/>`)
    parts.push(
      `<text x="${x}" y="${bottom + 16}" class="tick" text-anchor="middle">${escapeXml(frame.xFormat(tick))}</text>`,
    )
  }
  parts.push(`<line x1="${MARGIN.left}" x2="${right}" y1="${bottom}" y2="${bottom}" class="axis"/>`)
  parts.push(
    `<line x1="${MARGIN.left}" x2="${MARGIN.left}" y1="${MARGIN.top}" y2="${bottom}" class="axis"/>`,
  )
  parts.push(`<text x="${MARGIN.left}" y="18" class="chart-title">${escapeXml(frame.title)}</text>`)
  if (frame.yLabel !== undefined) {
    parts.push(
      `<text x="14" y="${(MARGIN.top + bottom) / 2}" class="tick" text-anchor="middle" transform="rotate(-90 14 ${(MARGIN.top + bottom) / 2})">${escapeXml(frame.yLabel)}</text>`,
    )
  }
  return parts.join('')
}

const LEGEND_ROW_HEIGHT = 18

/**
 * The legend, right-aligned on the title's row; when it would run into the title (many series),
 * it moves under the x-axis labels instead, wrapping onto as many rows as it needs. Returns the
 * SVG and the height the extra rows add below the chart.
 */
function legend(
  plot: Plot,
  title: string,
  entries: readonly { name: string; color: string; dashed?: boolean; marker?: boolean }[],
): { readonly svg: string; readonly extraHeight: number } {
  const widths = entries.map((entry) => entry.name.length * 7 + 34)
  const legendWidth = widths.reduce((total, width) => total + width, 0)
  const titleRight = MARGIN.left + title.length * 8 + 12
  const right = plot.width - MARGIN.right
  const item = (
    entry: { name: string; color: string; dashed?: boolean; marker?: boolean },
    x: number,
    y: number,
  ): string => {
    const swatch =
      entry.marker === true
        ? `<circle cx="${x + 8}" cy="${y}" r="3.5" fill="${entry.color}"/>`
        : `<line x1="${x}" x2="${x + 16}" y1="${y}" y2="${y}" stroke="${entry.color}" stroke-width="2.5"${entry.dashed === true ? ' stroke-dasharray="5 3"' : ''}/>`
    return `${swatch}<text x="${x + 20}" y="${y}" class="legend" dominant-baseline="middle">${escapeXml(entry.name)}</text>`
  }
  const parts: string[] = []
  const onTitleRow = right - legendWidth >= titleRight
  if (onTitleRow || legendWidth <= right - MARGIN.left) {
    // One row, right-aligned: on the title's row when it fits there, else under the axis labels.
    const y = onTitleRow ? 14 : plot.height - 6
    let x = right
    for (let index = entries.length - 1; index >= 0; index -= 1) {
      const entry = entries[index]
      if (entry === undefined) continue
      x -= widths[index] ?? 0
      parts.push(item(entry, x, y))
    }
    return { svg: parts.join(''), extraHeight: 0 }
  }
  let x = MARGIN.left
  let row = 0
  entries.forEach((entry, index) => {
    const width = widths[index] ?? 0
    if (x > MARGIN.left && x + width > right) {
      row += 1
      x = MARGIN.left
    }
    parts.push(item(entry, x, plot.height - 6 + row * LEGEND_ROW_HEIGHT))
    x += width
  })
  return { svg: parts.join(''), extraHeight: row * LEGEND_ROW_HEIGHT }
}

function svgOpen(plot: Plot, title: string, extraHeight = 0): string {
  return `<svg viewBox="0 0 ${plot.width} ${plot.height + extraHeight}" width="100%" role="img" aria-label="${escapeXml(title)}">`
}

/** A line chart: several series, optional markers (e.g. liquidations on a price line). */
export function lineChart(
  frame: ChartFrame & {
    readonly series: readonly LineSeries[]
    readonly markers?: readonly ChartMarker[]
    readonly markerLegend?: readonly { name: string; color: string }[]
    readonly yFromZero?: boolean
  },
): string {
  const all = frame.series.flatMap((series) => series.points)
  const markers = frame.markers ?? []
  if (all.length === 0) return emptyChart(frame)
  const plot = plotArea(
    frame,
    [...all.map((point) => point[0])],
    [...all.map((point) => point[1]), ...markers.map((marker) => marker.y)],
    frame.yFromZero ?? false,
  )
  const lines = frame.series.map((series) => {
    const points = decimate(series.points)
    const coordinates: string[] = []
    points.forEach((point, index) => {
      const previous = points[index - 1]
      if (series.step === true && previous !== undefined)
        coordinates.push(`${plot.x(point[0]).toFixed(1)},${plot.y(previous[1]).toFixed(1)}`)
      coordinates.push(`${plot.x(point[0]).toFixed(1)},${plot.y(point[1]).toFixed(1)}`)
    })
    const dash = series.dashed === true ? ' stroke-dasharray="5 3"' : ''
    return `<polyline fill="none" stroke="${series.color}" stroke-width="1.6"${dash} points="${coordinates.join(' ')}"><title>${escapeXml(series.name)}</title></polyline>`
  })
  const dots = markers.map(
    (marker) =>
      `<circle cx="${plot.x(marker.x).toFixed(1)}" cy="${plot.y(marker.y).toFixed(1)}" r="3" fill="${marker.color}" fill-opacity="0.75"><title>${escapeXml(marker.title)}</title></circle>`,
  )
  const legendEntries = [
    ...frame.series.map((series) => ({
      name: series.name,
      color: series.color,
      ...(series.dashed === true ? { dashed: true } : {}),
    })),
    ...(frame.markerLegend ?? []).map((entry) => ({ ...entry, marker: true })),
  ]
  const key = legend(plot, frame.title, legendEntries)
  return `${svgOpen(plot, frame.title, key.extraHeight)}${axes(frame, plot)}${lines.join('')}${dots.join('')}${key.svg}</svg>`
}

export interface HistogramSeries {
  readonly name: string
  readonly color: string
  /** One count per bin. */
  readonly values: readonly number[]
}

/** A histogram with grouped bars: `bins` are [start, end) on the x axis, one bar per series in each. */
export function histogram(
  frame: ChartFrame & {
    readonly bins: readonly (readonly [number, number])[]
    readonly series: readonly HistogramSeries[]
  },
): string {
  if (frame.bins.length === 0 || frame.series.length === 0) return emptyChart(frame)
  const xs = frame.bins.flatMap((bin) => [bin[0], bin[1]])
  const ys = frame.series.flatMap((series) => series.values)
  const plot = plotArea(frame, xs, ys, true)
  const bars: string[] = []
  frame.bins.forEach((bin, binIndex) => {
    const left = plot.x(bin[0])
    const width = Math.max(1, plot.x(bin[1]) - left)
    const barWidth = (width * 0.9) / frame.series.length
    frame.series.forEach((series, seriesIndex) => {
      const value = series.values[binIndex] ?? 0
      if (value === 0) return
      const top = plot.y(value)
      const x = left + width * 0.05 + seriesIndex * barWidth
      bars.push(
        `<rect x="${x.toFixed(1)}" y="${top.toFixed(1)}" width="${Math.max(0.8, barWidth).toFixed(1)}" height="${(plot.y(0) - top).toFixed(1)}" fill="${series.color}"><title>${escapeXml(`${series.name}: ${frame.yFormat(value)} in ${frame.xFormat(bin[0])} – ${frame.xFormat(bin[1])}`)}</title></rect>`,
      )
    })
  })
  const legendEntries = frame.series.map((series) => ({ name: series.name, color: series.color }))
  const key = legend(plot, frame.title, legendEntries)
  return `${svgOpen(plot, frame.title, key.extraHeight)}${axes(frame, plot)}${bars.join('')}${key.svg}</svg>`
}

function emptyChart(frame: ChartFrame): string {
  const width = frame.width ?? 960
  const height = frame.height ?? 120
  return `<svg viewBox="0 0 ${width} ${height}" width="100%" role="img" aria-label="${escapeXml(frame.title)}"><text x="${MARGIN.left}" y="18" class="chart-title">${escapeXml(frame.title)}</text><text x="${MARGIN.left}" y="${height / 2}" class="tick">No data.</text></svg>`
}

/** Equal-width bins over [minimum, maximum] and the count of values in each (last bin closed). */
export function binValues(
  values: readonly number[],
  binCount: number,
  range?: readonly [number, number],
): { bins: [number, number][]; counts: number[] } {
  if (values.length === 0) return { bins: [], counts: [] }
  let minimum = range?.[0] ?? Math.min(...values)
  let maximum = range?.[1] ?? Math.max(...values)
  if (!(maximum > minimum)) {
    minimum -= 0.5
    maximum += 0.5
  }
  const width = (maximum - minimum) / binCount
  const bins: [number, number][] = []
  for (let index = 0; index < binCount; index += 1)
    bins.push([minimum + index * width, minimum + (index + 1) * width])
  const counts = bins.map(() => 0)
  for (const value of values) {
    const index = Math.min(binCount - 1, Math.max(0, Math.floor((value - minimum) / width)))
    counts[index] = (counts[index] ?? 0) + 1
  }
  return { bins, counts }
}
