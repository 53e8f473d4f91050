/**
 * `lor portfolio FILE [--json]`: scenario portfolio margin of a portfolio file (docs/portfolio-margin.md).
 * The file holds the model (`span` or `grid`), its parameters, the instruments with their market
 * data and the positions. Prints the requirement, the sum of the legs margined alone, and every
 * offset that separates the two. Exit 2 on a malformed file (one line naming the place).
 */
import { readFileSync } from 'node:fs'
import type { Command } from 'commander'
import { parse as parseYaml } from 'yaml'
import { type Fixed, formatFixed } from '../core/num/fixed.ts'
import { gridPortfolioMargin } from '../core/portfolio/grid.ts'
import { type PortfolioDocument, parsePortfolio } from '../core/portfolio/parse.ts'
import { type OffsetItem, spanPortfolioMargin } from '../core/portfolio/span.ts'
import { configureInputErrors, describeIssues, inputError, withInputErrors } from './errors.ts'

interface PortfolioOptions {
  readonly json?: boolean
}

/** Registers `lor portfolio` on the program. */
export function registerPortfolioCommand(program: Command): void {
  const command = program
    .command('portfolio')
    .description(
      'Scenario portfolio margin (SPAN-style or Deribit-style grid) with itemised offsets',
    )
    .argument('<file>', 'portfolio file (YAML or JSON)')
    .option('--json', 'print one JSON object with decimal strings')
    .action(
      withInputErrors((file: string, options: PortfolioOptions) => runPortfolio(file, options)),
    )
  configureInputErrors(command)
}

/** Reads a YAML or JSON document; an unreadable file or a syntax error becomes an `InputError` naming `where`. */
export function readDocumentFile(file: string, where: string = file): unknown {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch {
    inputError(`${where}: cannot read the file`)
  }
  try {
    return /\.ya?ml$/i.test(file) ? parseYaml(text) : JSON.parse(text)
  } catch (error) {
    inputError(
      `${where}: ${error instanceof Error ? (error.message.split('\n')[0] ?? '') : 'syntax error'}`,
    )
  }
}

/** Reads and validates a portfolio file; bad input becomes an `InputError`. */
export function loadPortfolioFile(file: string): PortfolioDocument {
  const parsed = parsePortfolio(readDocumentFile(file))
  if (!parsed.ok) inputError(`${file}: ${describeIssues(parsed.issues)}`)
  return parsed.portfolio
}

/** The margin report of a portfolio document, decimals as strings. */
export function portfolioReport(portfolio: PortfolioDocument): Record<string, unknown> {
  const text = (value: Fixed): string => formatFixed(value)
  const offsets = (items: readonly OffsetItem[]) =>
    items.map((item) => ({
      kind: item.kind,
      product: item.product,
      amount: text(item.amount),
      description: item.description,
    }))
  if (portfolio.model === 'span') {
    const result = spanPortfolioMargin(portfolio.rules, portfolio.instruments, portfolio.positions)
    return {
      model: 'span',
      description: portfolio.description,
      requirement: text(result.requirement),
      legsTotal: text(result.legsTotal),
      reduction: text(result.reduction),
      legs: result.legs.map((leg) => ({
        market: leg.market,
        size: text(leg.size),
        requirement: text(leg.requirement),
      })),
      products: result.products.map((product) => ({
        product: product.product,
        scanRisk: text(product.scanRisk),
        worstScenario: product.worstScenario,
        netDelta: text(product.netDelta),
        intraSpreadCharge: text(product.intraSpreadCharge),
        interSpreadCredit: text(product.interSpreadCredit),
        shortOptionMinimum: text(product.shortOptionMinimum),
        requirement: text(product.requirement),
        netOptionValue: text(product.netOptionValue),
      })),
      offsets: offsets(result.offsets),
    }
  }
  const result = gridPortfolioMargin(portfolio.rules, portfolio.instruments, portfolio.positions)
  return {
    model: 'grid',
    description: portfolio.description,
    requirement: text(result.maintenanceMargin),
    initialMargin: text(result.initialMargin),
    legsTotal: text(result.legsTotal),
    reduction: text(result.reduction),
    products: result.products.map((product) => ({
      product: product.product,
      worstLoss: text(product.worstLoss),
      worstPriceMove: product.worstScenario === null ? null : text(product.worstScenario.priceMove),
      worstVolatilityDirection: product.worstScenario?.volatilityDirection ?? null,
      futuresCalendarContingency: text(product.futuresCalendarContingency),
      netShortOptionContingency: text(product.netShortOptionContingency),
      maintenanceMargin: text(product.maintenanceMargin),
      initialMargin: text(product.initialMargin),
    })),
    offsets: offsets(result.offsets),
  }
}

/**
 * The text lines of a portfolio report: requirement, legs total and reduction, the initial margin
 * where the model has one, and every offset (shared by `lor portfolio` and `lor margin --model portfolio`).
 */
export function portfolioReportLines(report: Record<string, unknown>): string[] {
  const lines = [
    `${String(report.model)} portfolio margin${typeof report.description === 'string' && report.description !== '' ? `: ${report.description}` : ''}`,
    `requirement ${String(report.requirement)}  (legs margined alone ${String(report.legsTotal)}, reduction ${String(report.reduction)})`,
  ]
  if (typeof report.initialMargin === 'string') lines.push(`initial margin ${report.initialMargin}`)
  const items = report.offsets as {
    kind: string
    product: string
    amount: string
    description: string
  }[]
  if (items.length > 0) {
    lines.push('', 'offsets (signed change to the sum of the legs):')
    const width = Math.max(...items.map((item) => item.amount.length))
    for (const item of items)
      lines.push(
        `  ${item.amount.padStart(width)}  ${item.kind} ${item.product}: ${item.description}`,
      )
  }
  return lines
}

function runPortfolio(file: string, options: PortfolioOptions): void {
  const report = portfolioReport(loadPortfolioFile(file))
  if (options.json === true) {
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`)
    return
  }
  process.stdout.write(`${portfolioReportLines(report).join('\n')}\n`)
}
