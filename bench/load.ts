/**
 * Load test of the risk service (docs/service.md "Load"): starts `lor serve` as its own process on a
 * throw-away SQLite journal, with rate limiting on (a limit of RATE_LIMIT commands a second per key,
 * set high enough not to bind), opens accounts, then drives sustained price and fill ingestion over
 * loopback HTTP from concurrent clients for a fixed duration (60 s; --quick: 10 s), every command
 * with an idempotency key. One command per request on the single-command routes (`/v1/prices`,
 * `/v1/fills`), or with `--batch N` N commands per request on `/v1/commands/batch`. Reports
 * commands and requests per second, p50/p99/max request latency, errors (expected: zero) and the
 * server's resident memory (start, peak, end) and CPU. `benchLoad()` returns the figures; alone:
 * `node --import tsx bench/load.ts [--quick] [--seconds N] [--clients N] [--batch N] [--profile DIR]`.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

/** What one load run measured. */
export interface LoadFigures {
  readonly seconds: number
  readonly clients: number
  /** Commands per request (1: the single-command routes). */
  readonly batch: number
  readonly requests: number
  /** Commands answered (requests × batch). */
  readonly commands: number
  readonly prices: number
  readonly fills: number
  readonly errors: number
  readonly errorSamples: readonly string[]
  readonly requestsPerSecond: number
  readonly commandsPerSecond: number
  readonly p50Ms: number
  readonly p99Ms: number
  readonly maxMs: number
  readonly rssStartMiB: number
  readonly rssPeakMiB: number
  readonly rssEndMiB: number
  readonly journalEntries: number
  /** CPU seconds the server process used during the measured phase (all its threads). */
  readonly serverCpuSeconds: number
  /** Commands per CPU second of the server: what one core would give, whatever else runs. */
  readonly commandsPerCpuSecond: number
  /** The machine's 1-minute load average at the end. */
  readonly loadAverage: number
}

export interface LoadOptions {
  readonly quick?: boolean
  /** Duration of the measured phase (default 60 s, quick 10 s). */
  readonly seconds?: number
  /** Concurrent clients (default 16). */
  readonly clients?: number
  /** Accounts trading (default 200). */
  readonly accounts?: number
  /** Commands per request: 1 (default) posts to the single-command routes, more to the batch route. */
  readonly batch?: number
  /** Write a V8 CPU profile of the server into this directory (`node --cpu-prof`). */
  readonly profileDirectory?: string
}

const ROOT = fileURLToPath(new URL('..', import.meta.url))
/** The server's `--rate-limit` (commands per second per key; bursts of twice that). */
const RATE_LIMIT = 200_000
const ADMIN_KEY = `load-test-admin-key-${process.pid}-0123456789`

function rssMiB(pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8')
    const match = /VmRSS:\s+(\d+) kB/.exec(status)
    return match?.[1] === undefined ? 0 : Number(match[1]) / 1024
  } catch {
    return 0
  }
}

/** CPU seconds (user + system) a process has used, from /proc (clock ticks of 1/100 s). */
function cpuSeconds(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? []
    return (Number(fields[11]) + Number(fields[12])) / 100
  } catch {
    return 0
  }
}

function percentile(sorted: readonly number[], share: number): number {
  if (sorted.length === 0) return 0
  return sorted[Math.min(sorted.length - 1, Math.floor(share * sorted.length))] ?? 0
}

function startServer(
  database: string,
  profileDirectory: string | undefined,
): Promise<{ child: ChildProcess; url: string }> {
  const profile =
    profileDirectory === undefined ? [] : ['--cpu-prof', '--cpu-prof-dir', profileDirectory]
  const child = spawn(
    process.execPath,
    [
      ...profile,
      'bin/lor.js',
      'serve',
      '--port',
      '0',
      '--db',
      database,
      '--rate-limit',
      String(RATE_LIMIT),
    ],
    {
      cwd: ROOT,
      env: { ...process.env, LOR_ADMIN_KEY: ADMIN_KEY },
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  )
  return new Promise((resolve, reject) => {
    let output = ''
    child.stderr?.on('data', (chunk: Buffer) => {
      output += chunk.toString()
      const match = /listening on (http:\/\/\S+) /.exec(output)
      if (match?.[1] !== undefined) resolve({ child, url: match[1] })
    })
    child.once('exit', (code) => reject(new Error(`lor serve exited (${String(code)}): ${output}`)))
  })
}

/** Runs the load test (see the module note). */
export async function benchLoad(options: LoadOptions = {}): Promise<LoadFigures> {
  const seconds = options.seconds ?? (options.quick === true ? 10 : 60)
  const clients = options.clients ?? 16
  const accounts = options.accounts ?? 200
  const batch = options.batch ?? 1
  const directory = mkdtempSync(join(tmpdir(), 'lor-load-'))
  const { child, url } = await startServer(join(directory, 'lor.db'), options.profileDirectory)
  const pid = child.pid ?? 0
  const post = async (path: string, body: unknown, key: string | undefined): Promise<Response> =>
    fetch(`${url}${path}`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${ADMIN_KEY}`,
        'content-type': 'application/json',
        ...(key === undefined ? {} : { 'idempotency-key': key }),
      },
      body: JSON.stringify(body),
    })
  try {
    for (let index = 0; index < accounts; index += 1) {
      const answer = await post(
        '/v1/deposits',
        { account: `trader-${index}`, asset: 'USDT', amount: '1000000' },
        `deposit-${index}`,
      )
      if (answer.status !== 200) throw new Error(`deposit: ${await answer.text()}`)
    }
    await post('/v1/prices', { market: 'BTCUSDT', mark: '60000' }, 'price-start')
    const rssStart = rssMiB(pid)
    const cpuStart = cpuSeconds(pid)
    let rssPeak = rssStart
    const sampler = setInterval(() => {
      rssPeak = Math.max(rssPeak, rssMiB(pid))
    }, 250)
    const latencies: number[] = []
    let prices = 0
    let fills = 0
    let errors = 0
    const errorSamples: string[] = []
    const noteError = (sample: string): void => {
      errors += 1
      if (errorSamples.length < 5) errorSamples.push(sample)
    }
    let sequence = 0
    let mark = 600_000 // in ticks of 0.1
    const started = performance.now()
    const deadline = started + seconds * 1000
    const worker = async (client: number): Promise<void> => {
      let state = (client + 1) * 2_654_435_761
      const next = (): number => {
        state = (state * 1_103_515_245 + 12_345) % 2_147_483_648
        return state / 2_147_483_648
      }
      /** The next command in wire form, and whether it is a price. */
      const nextCommand = (): { readonly isPrice: boolean; readonly wire: object } => {
        sequence += 1
        if (sequence % 4 === 0) {
          mark = Math.min(612_000, Math.max(588_000, mark + Math.round((next() - 0.5) * 40)))
          return {
            isPrice: true,
            wire: { type: 'mark_price', market: 'BTCUSDT', mark: (mark / 10).toFixed(1) },
          }
        }
        const account = Math.floor(next() * accounts)
        return {
          isPrice: false,
          wire: {
            type: 'trade',
            account: `trader-${account}`,
            market: 'BTCUSDT',
            size: next() < 0.5 ? '0.001' : '-0.001',
            price: (mark / 10).toFixed(1),
            liquidity: next() < 0.5 ? 'maker' : 'taker',
          },
        }
      }
      while (performance.now() < deadline) {
        if (batch === 1) {
          const { isPrice, wire } = nextCommand()
          const { type: _type, ...body } = wire as { type: string }
          const begin = performance.now()
          const answer = await post(
            isPrice ? '/v1/prices' : '/v1/fills',
            body,
            `load-${client}-${sequence}`,
          )
          const text = await answer.text()
          latencies.push(performance.now() - begin)
          if (answer.status !== 200) noteError(`${answer.status} ${text.slice(0, 200)}`)
          else if (isPrice) prices += 1
          else fills += 1
          continue
        }
        const commands = Array.from({ length: batch }, () => {
          const command = nextCommand()
          return { ...command, idempotencyKey: `load-${client}-${sequence}` }
        })
        const begin = performance.now()
        const answer = await post(
          '/v1/commands/batch',
          {
            commands: commands.map(({ wire, idempotencyKey }) => ({
              idempotencyKey,
              command: wire,
            })),
          },
          undefined,
        )
        const text = await answer.text()
        latencies.push(performance.now() - begin)
        if (answer.status !== 200) {
          for (const _ of commands) noteError(`${answer.status} ${text.slice(0, 200)}`)
          continue
        }
        const { results } = JSON.parse(text) as { results: { status: number }[] }
        results.forEach((result, index) => {
          if (result.status !== 200) noteError(JSON.stringify(result).slice(0, 200))
          else if (commands[index]?.isPrice === true) prices += 1
          else fills += 1
        })
      }
    }
    await Promise.all(Array.from({ length: clients }, (_, client) => worker(client)))
    const elapsed = (performance.now() - started) / 1000
    const serverCpuSeconds = cpuSeconds(pid) - cpuStart
    clearInterval(sampler)
    const health = (await (await fetch(`${url}/health`)).json()) as { durableSequence: number }
    const sorted = [...latencies].sort((a, b) => a - b)
    const commands = prices + fills + errors
    return {
      seconds: elapsed,
      clients,
      batch,
      requests: latencies.length,
      commands,
      prices,
      fills,
      errors,
      errorSamples,
      requestsPerSecond: latencies.length / elapsed,
      commandsPerSecond: commands / elapsed,
      p50Ms: percentile(sorted, 0.5),
      p99Ms: percentile(sorted, 0.99),
      maxMs: sorted.at(-1) ?? 0,
      rssStartMiB: rssStart,
      rssPeakMiB: rssPeak,
      rssEndMiB: rssMiB(pid),
      journalEntries: health.durableSequence,
      serverCpuSeconds,
      commandsPerCpuSecond: serverCpuSeconds > 0 ? commands / serverCpuSeconds : 0,
      loadAverage: loadavg()[0] ?? 0,
    }
  } finally {
    const exited = new Promise((resolve) => child.once('exit', resolve))
    child.kill('SIGTERM')
    await exited
    rmSync(directory, { recursive: true, force: true })
  }
}

/** The figures as table rows (measure, result). */
export function loadRows(figures: LoadFigures): [string, string][] {
  const fixed = (value: number, digits = 1) => value.toFixed(digits)
  return [
    [
      'duration',
      `${fixed(figures.seconds)} s, ${figures.clients} concurrent clients over loopback HTTP, ${figures.batch === 1 ? 'one command per request' : `batches of ${figures.batch} commands`}`,
    ],
    [
      'commands',
      `${figures.commands} (${figures.prices} prices, ${figures.fills} fills) in ${figures.requests} requests, ${figures.errors} errors`,
    ],
    [
      'throughput',
      `${fixed(figures.commandsPerSecond, 0)} commands/s (${fixed(figures.requestsPerSecond, 0)} requests/s), each durable in the journal`,
    ],
    [
      'request latency',
      `p50 ${fixed(figures.p50Ms)} ms, p99 ${fixed(figures.p99Ms)} ms, max ${fixed(figures.maxMs)} ms`,
    ],
    [
      'server RSS',
      `${fixed(figures.rssStartMiB, 0)} MiB at start, ${fixed(figures.rssPeakMiB, 0)} MiB peak, ${fixed(figures.rssEndMiB, 0)} MiB at end`,
    ],
    [
      'server CPU',
      `${fixed(figures.serverCpuSeconds)} s: ${fixed(figures.commandsPerCpuSecond, 0)} commands per CPU second (load average ${fixed(figures.loadAverage)})`,
    ],
    ['journal entries', String(figures.journalEntries)],
  ]
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const argument = (name: string): number | undefined => {
    const index = process.argv.indexOf(name)
    return index < 0 ? undefined : Number(process.argv[index + 1])
  }
  const seconds = argument('--seconds')
  const clients = argument('--clients')
  const accounts = argument('--accounts')
  const batch = argument('--batch')
  const profileAt = process.argv.indexOf('--profile')
  const profileDirectory = profileAt < 0 ? undefined : process.argv[profileAt + 1]
  const figures = await benchLoad({
    ...(profileDirectory === undefined ? {} : { profileDirectory }),
    quick: process.argv.includes('--quick'),
    ...(seconds === undefined ? {} : { seconds }),
    ...(clients === undefined ? {} : { clients }),
    ...(accounts === undefined ? {} : { accounts }),
    ...(batch === undefined ? {} : { batch }),
  })
  for (const [measure, result] of loadRows(figures))
    process.stdout.write(`${measure.padEnd(18)}${result}\n`)
  for (const sample of figures.errorSamples) process.stdout.write(`error: ${sample}\n`)
  if (figures.errors > 0) process.exitCode = 1
}
