/**
 * Benchmarks (docs/PERFORMANCE.md). Run: npm run bench [-- --quick] [-- --only riskbook,journal,simulate]
 * (= node --expose-gc --import tsx bench/run.ts). Sections: the risk book, the journal
 * (bench/journal.ts) and the simulator (bench/simulate.ts).
 *
 * Risk book:
 * Measures, on seeded synthetic accounts (bench/fixtures.ts), the median of several runs after a
 * warm-up: exact full evaluation (all bigint), screened classification (float screen + exact
 * confirmation), the object-based core evaluateAccount as a baseline, a plain float typed-array scan
 * as a ceiling, memory per account, and the cost of a price tick through the liquidation index.
 * Prints a table; writes nothing.
 */
import { evaluateAccount } from '../src/core/margin/evaluate.ts'
import { benchJournal } from './journal.ts'
import { benchSimulate } from './simulate.ts'
import type { Account } from '../src/core/model/account.ts'
import type { Fixed } from '../src/core/num/fixed.ts'
import { LiquidationIndex } from '../src/core/riskbook/liquidation-index.ts'
import { RiskBook } from '../src/core/riskbook/risk-book.ts'
import {
  balanceAmount,
  FIXTURE_MARKETS,
  type FixtureAccount,
  fixtureRules,
  generateAccounts,
  positionAmounts,
  priceAmount,
  referenceTicks,
  toCoreAccount,
} from './fixtures.ts'

const quick = process.argv.includes('--quick')
const onlyIndex = process.argv.indexOf('--only')
const sections = new Set(
  onlyIndex >= 0
    ? (process.argv[onlyIndex + 1] ?? '').split(',')
    : ['riskbook', 'journal', 'simulate'],
)
const sizes = quick ? [100_000] : [100_000, 1_000_000]
const runs = quick ? 3 : 5
const baselineSample = quick ? 5_000 : 20_000
const rules = fixtureRules()
const gc = (globalThis as { gc?: () => void }).gc

interface Row {
  readonly measure: string
  readonly accounts: string
  readonly result: string
  readonly note: string
}
const rows: Row[] = []

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const middle = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2
}

/** Median seconds of `runs` timed calls after three warm-up calls (lets the JIT settle). */
function timeMedian(task: () => void, count = runs): number {
  for (let warmUp = 0; warmUp < 3; warmUp++) task()
  const seconds: number[] = []
  for (let run = 0; run < count; run++) {
    const start = process.hrtime.bigint()
    task()
    seconds.push(Number(process.hrtime.bigint() - start) / 1e9)
  }
  return median(seconds)
}

function memoryNow(): number {
  gc?.()
  gc?.()
  const usage = process.memoryUsage()
  return usage.heapUsed + usage.arrayBuffers
}

function rate(perSecond: number): string {
  if (perSecond >= 1e6) return `${(perSecond / 1e6).toFixed(2)}M/s`
  return `${(perSecond / 1e3).toFixed(1)}k/s`
}

function setReferencePrices(book: RiskBook, factorPercent: bigint): Map<string, Fixed> {
  const marks = new Map<string, Fixed>()
  FIXTURE_MARKETS.forEach((definition, index) => {
    const price = priceAmount(index, (referenceTicks(index) * factorPercent) / 100n)
    marks.set(definition.market, price)
    const outcome = book.setPrice(definition.market, price)
    if (!outcome.ok) throw new Error(outcome.issue.message)
  })
  return marks
}

function buildBook(accounts: readonly FixtureAccount[]): RiskBook {
  const created = RiskBook.create(rules, 'USDT', {
    positionsPerAccount: 3,
    initialCapacity: accounts.length,
  })
  if (!created.ok) throw new Error(created.issue.message)
  const book = created.value
  for (const account of accounts) {
    const added = book.addAccount(balanceAmount(account))
    if (!added.ok) throw new Error(added.issue.message)
    for (const position of account.positions) {
      const { size, entryValue } = positionAmounts(position)
      const set = book.setPosition(
        added.value,
        FIXTURE_MARKETS[position.marketIndex]!.market,
        size,
        entryValue,
      )
      if (!set.ok) throw new Error(set.issue.message)
    }
  }
  return book
}

function benchSize(count: number): void {
  const label = count.toLocaleString('en-US')
  const accounts = generateAccounts(count, 20240601)
  const before = memoryNow()
  const buildStart = process.hrtime.bigint()
  const book = buildBook(accounts)
  const buildSeconds = Number(process.hrtime.bigint() - buildStart) / 1e9
  const marks = setReferencePrices(book, 100n)
  const after = memoryNow()
  const bytesPerAccount = gc === undefined ? Number.NaN : (after - before) / count
  rows.push({
    measure: 'book build (Fixed inputs → columns)',
    accounts: label,
    result: rate(count / buildSeconds),
    note: `${buildSeconds.toFixed(2)} s once`,
  })
  rows.push({
    measure: 'memory per account (book)',
    accounts: label,
    result: Number.isNaN(bytesPerAccount) ? 'n/a' : `${bytesPerAccount.toFixed(0)} B`,
    note:
      gc === undefined
        ? 'run with --expose-gc to measure'
        : 'heapUsed + arrayBuffers delta ÷ accounts, 3 slots/account',
  })

  const flags = new Uint8Array(count)
  let exactBreached = 0
  const exactSeconds = timeMedian(() => {
    exactBreached = book.classifyAllExact(flags)
  })
  rows.push({
    measure: 'exact evaluation, all bigint',
    accounts: label,
    result: rate(count / exactSeconds),
    note: `${exactBreached} breached at reference prices`,
  })

  let screened = { breached: 0, confirmedExactly: 0 }
  const screenSeconds = timeMedian(() => {
    screened = book.classifyAll(flags)
  })
  if (screened.breached !== exactBreached)
    throw new Error('screened classification differs from the exact one')
  rows.push({
    measure: 'screened classification (exact answer)',
    accounts: label,
    result: rate(count / screenSeconds),
    note: `${screened.confirmedExactly} of ${count} confirmed in bigint`,
  })

  // Near liquidation: prices 3% lower, so many accounts sit near their threshold.
  setReferencePrices(book, 97n)
  const nearSeconds = timeMedian(() => {
    screened = book.classifyAll(flags)
  })
  rows.push({
    measure: 'screened classification, prices −3%',
    accounts: label,
    result: rate(count / nearSeconds),
    note: `${screened.breached} breached, ${screened.confirmedExactly} confirmed in bigint`,
  })
  setReferencePrices(book, 100n)

  // Ceiling: a plain float scan over one typed array per column.
  const balances = book.balanceFloat
  const lots = book.slotLotsFloat
  const scanSeconds = timeMedian(() => {
    let total = 0
    for (let account = 0; account < count; account++) {
      total += balances[account]! + lots[account * 3]! * 1.5
    }
    if (total === Number.POSITIVE_INFINITY) throw new Error('unreachable')
  })
  rows.push({
    measure: 'plain float typed-array scan (ceiling)',
    accounts: label,
    result: rate(count / scanSeconds),
    note: 'balance + lots × price, no margin',
  })

  if (count === sizes[0]) {
    const sample = accounts.slice(0, baselineSample)
    const coreAccounts: Account[] = sample.map((account, index) =>
      toCoreAccount(account, `a${index}`),
    )
    const baselineSeconds = timeMedian(() => {
      for (const account of coreAccounts) evaluateAccount(rules, account, marks)
    }, 3)
    const baselineRate = baselineSample / baselineSeconds
    rows.push({
      measure: 'baseline: core evaluateAccount (objects)',
      accounts: baselineSample.toLocaleString('en-US'),
      result: rate(baselineRate),
      note: `exact book is ${(count / exactSeconds / baselineRate).toFixed(0)}× faster, screened ${(count / screenSeconds / baselineRate).toFixed(0)}×`,
    })
  }

  if (count === sizes[sizes.length - 1]) benchIndex(book, label)
}

function benchIndex(book: RiskBook, label: string): void {
  // A venue liquidates breached accounts; close their positions so the index starts from a live book.
  let closed = 0
  for (let account = 0; account < book.count; account++) {
    if (!book.isBreachedExact(account)) continue
    closed++
    for (const market of book.marketIds) book.setPosition(account, market, 0n as Fixed, 0n as Fixed)
  }
  const indexStart = process.hrtime.bigint()
  const index = new LiquidationIndex(book)
  const indexSeconds = Number(process.hrtime.bigint() - indexStart) / 1e9
  rows.push({
    measure: 'liquidation index build',
    accounts: label,
    result: rate(book.count / indexSeconds),
    note: `${indexSeconds.toFixed(2)} s once, after closing the ${closed} breached accounts`,
  })
  const market = book.marketIndex('BTCUSDT')
  const reference = book.priceTicksOf(market)
  for (const movePercent of [0.1, 1, 5]) {
    const moved = Math.round(reference * (1 - movePercent / 100))
    const seconds: number[] = []
    let crossed = 0
    let breached = 0
    for (let run = 0; run < runs + 1; run++) {
      const start = process.hrtime.bigint()
      const outcome = index.tick(market, moved)
      const elapsed = Number(process.hrtime.bigint() - start) / 1e9
      index.tick(market, reference)
      if (run === 0) continue
      seconds.push(elapsed)
      crossed = outcome.crossed
      breached = outcome.breached.length
    }
    const tickSeconds = median(seconds)
    rows.push({
      measure: `indexed tick, BTCUSDT −${movePercent}%`,
      accounts: label,
      result: `${(tickSeconds * 1e3).toFixed(2)} ms (${(1 / tickSeconds).toFixed(0)} ticks/s)`,
      note: `${crossed} evaluated exactly, ${breached} breached; full screen would read ${label}`,
    })
  }
}

if (sections.has('riskbook')) for (const count of sizes) benchSize(count)
if (sections.has('journal')) {
  for (const row of await benchJournal({ quick })) rows.push({ ...row, accounts: '–' })
}
if (sections.has('simulate')) {
  for (const row of await benchSimulate(quick)) rows.push({ ...row, accounts: '–' })
}

const headers = ['measure', 'accounts', 'result', 'note'] as const
const widths = headers.map((header) =>
  Math.max(header.length, ...rows.map((row) => row[header].length)),
)
const line = (cells: readonly string[]): string =>
  `| ${cells.map((cell, column) => cell.padEnd(widths[column]!)).join(' | ')} |`
console.log(line(headers))
console.log(`|${widths.map((width) => '-'.repeat(width + 2)).join('|')}|`)
for (const row of rows) console.log(line(headers.map((header) => row[header])))
console.log(
  `\nnode ${process.version}, ${quick ? 'quick' : 'full'} run, median of ${runs} after warm-up${gc === undefined ? ', no --expose-gc' : ''}`,
)
