/**
 * Plain-text tables of the calculators' reports: columns padded to their widest cell, two spaces
 * apart, text columns aligned left and numbers right, trailing blanks trimmed.
 */

/** The header and the rows as aligned lines; `leftAligned(column, count)` picks the text columns. */
export function alignedLines(
  headers: readonly string[],
  rows: readonly (readonly string[])[],
  leftAligned: (column: number, count: number) => boolean = (column) => column === 0,
): string[] {
  const widths = headers.map((header, column) =>
    Math.max(header.length, ...rows.map((row) => (row[column] ?? '').length)),
  )
  const format = (cells: readonly string[]): string =>
    cells
      .map((cell, column) =>
        leftAligned(column, cells.length)
          ? cell.padEnd(widths[column] ?? 0)
          : cell.padStart(widths[column] ?? 0),
      )
      .join('  ')
      .trimEnd()
  return [format(headers), ...rows.map(format)]
}
