// Prints the closing line CI reads, from vitest's JSON report: "N passed, N failed, N skipped".
// A run that failed before any test executed (format, types, lint) counts as one failure.
import { existsSync, readFileSync } from 'node:fs'

const [reportPath, statusText] = process.argv.slice(2)
const status = Number(statusText ?? '1')
if (reportPath === undefined || !existsSync(reportPath)) {
  console.log('ci: no test report (the checks before the tests failed)')
  console.log('0 passed, 1 failed')
  process.exit(1)
}
const report = JSON.parse(readFileSync(reportPath, 'utf8'))
const passed = report.numPassedTests ?? 0
let failed = (report.numFailedTests ?? 0) + (report.numFailedTestSuites ?? 0)
const skipped = (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0)
if (status !== 0 && failed === 0) failed = 1
console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`)
process.exit(failed === 0 && status === 0 ? 0 : 1)
