/**
 * The writer of the crash test (crash.test.ts): opens (recovers) a SQLite journal, retries the last
 * few commands it may have lost track of, then submits the seeded workload as fast as it can,
 * printing one line per acknowledged command, until it is killed.
 *
 * Usage: node --import tsx crash-writer.ts <journal.db> <seed>
 * Output lines: `ready <lastSequence>`, `ack <idempotencyKey> <sequence>`, `dup <idempotencyKey> <sequence>`.
 */
import { writeSync } from 'node:fs'
import { JournaledEngine } from '../../src/journal/journaled-engine.ts'
import { openSqliteStore } from '../../src/journal/sqlite-store.ts'
import { smallRuleSet } from './small-rules.ts'
import { workload } from './workload.ts'

const [path, seedText] = process.argv.slice(2)
if (path === undefined || seedText === undefined)
  throw new Error('usage: crash-writer.ts <journal.db> <seed>')
const seed = Number(seedText)
const ruleSet = smallRuleSet()
const engine = await JournaledEngine.open({
  store: openSqliteStore(path),
  ruleSet,
  snapshotEvery: 64,
})
const start = engine.lastSequence
// stdout to a pipe is synchronous on Linux, but write the file descriptor directly to be sure
const say = (line: string) => writeSync(1, `${line}\n`)
say(`ready ${start}`)

const WINDOW = 32
const stream = workload(seed, { accounts: 4, ruleSet })
const retries = Math.min(start, 3)
let index = 0
const inFlight = new Set<Promise<void>>()
for (const item of stream) {
  index += 1
  if (index <= start - retries) continue
  const submitted = engine.submit(item.command, item).then((outcome) => {
    say(`${outcome.duplicate ? 'dup' : 'ack'} ${item.idempotencyKey} ${outcome.sequence ?? 'none'}`)
  })
  const tracked = submitted.finally(() => inFlight.delete(tracked))
  inFlight.add(tracked)
  if (inFlight.size >= WINDOW) await Promise.race(inFlight)
}
