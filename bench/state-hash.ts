/**
 * State-hash benchmark (docs/spec/journal.md, JNL-020, JNL-021): the cost of one journal entry's
 * state hash after a single trade, for a state of N accounts each holding a balance and a position,
 * in both versions: computed from scratch (`stateHashOf`) and incrementally (`StateHasher`). Times
 * are CPU time of the process (`process.cpuUsage`), so other work on the machine does not count.
 * `benchStateHash()` returns the rows; alone:
 * `node --import tsx bench/state-hash.ts [--accounts 200,2000,20000]`.
 */
import { fileURLToPath } from 'node:url'
import type { Command } from '../src/core/engine/commands.ts'
import { execute } from '../src/core/engine/execute.ts'
import { createEngineState, type EngineState } from '../src/core/engine/state.ts'
import { type Fixed, fixedOf } from '../src/core/num/fixed.ts'
import { StateHasher, type StateHashVersion, stateHashOf } from '../src/journal/state-hasher.ts'
import { loadRuleSet } from '../src/presets/index.ts'

/** One measured line: per-entry cost in microseconds. */
export interface StateHashRow {
  readonly accounts: number
  readonly version: StateHashVersion
  readonly incrementalMicroseconds: number
  readonly fullMicroseconds: number
}

const money = (text: string): Fixed => fixedOf(text)

function populated(accounts: number): { state: EngineState; sequence: number } {
  const loaded = loadRuleSet('binance-usdm')
  if (!loaded.ok) throw new Error('the binance-usdm preset loads')
  const state = createEngineState(loaded.ruleSet, { verify: false })
  let sequence = 0
  const run = (command: Command) => {
    sequence += 1
    execute(state, command, { sequence, timestampMs: 1_700_000_000_000 })
  }
  run({ type: 'mark_price', market: 'BTCUSDT', mark: money('60000') })
  for (let index = 0; index < accounts; index += 1) {
    const account = `trader-${index}`
    run({ type: 'deposit', account, asset: 'USDT', amount: money('100000') })
    run({
      type: 'trade',
      account,
      market: 'BTCUSDT',
      size: money(index % 2 === 0 ? '0.01' : '-0.01'),
      price: money('60000'),
      liquidity: 'taker',
    })
  }
  return { state, sequence }
}

/** Per-entry state hash after single trades, both versions, for each account count. */
export function benchStateHash(accountCounts: readonly number[]): StateHashRow[] {
  const rows: StateHashRow[] = []
  for (const accounts of accountCounts) {
    for (const version of [1, 2] as const) {
      const { state } = populated(accounts)
      let sequence = state.lastSequence
      const hasher = new StateHasher({ version })
      hasher.hash(state)
      const trades = Math.max(200, Math.min(5_000, Math.floor(2_000_000 / accounts)))
      let hashing = 0
      for (let index = 0; index < trades; index += 1) {
        sequence += 1
        execute(
          state,
          {
            type: 'trade',
            account: `trader-${(index * 7_919) % accounts}`,
            market: 'BTCUSDT',
            size: money(index % 2 === 0 ? '0.001' : '-0.001'),
            price: money('60000'),
            liquidity: 'taker',
          },
          { sequence, timestampMs: 1_700_000_000_000 },
        )
        const started = process.cpuUsage()
        hasher.hash(state)
        const used = process.cpuUsage(started)
        hashing += (used.user + used.system) / 1000
      }
      const fullRuns = Math.max(3, Math.min(200, Math.floor(200_000 / accounts)))
      const started = process.cpuUsage()
      for (let index = 0; index < fullRuns; index += 1) stateHashOf(state, version)
      const used = process.cpuUsage(started)
      const full = (used.user + used.system) / 1000 / fullRuns
      if (hasher.hash(state) !== stateHashOf(state, version))
        throw new Error('Condition failed: the incremental hash equals the full one')
      rows.push({
        accounts,
        version,
        incrementalMicroseconds: (1000 * hashing) / trades,
        fullMicroseconds: 1000 * full,
      })
    }
  }
  return rows
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const at = process.argv.indexOf('--accounts')
  const counts = at < 0 ? [200, 2_000, 20_000] : (process.argv[at + 1] ?? '').split(',').map(Number)
  for (const row of benchStateHash(counts))
    process.stdout.write(
      `${String(row.accounts).padStart(6)} accounts, version ${row.version}: ${row.incrementalMicroseconds.toFixed(1)} µs incremental, ${row.fullMicroseconds.toFixed(0)} µs from scratch\n`,
    )
}
