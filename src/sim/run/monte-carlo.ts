/**
 * Monte Carlo over seeds (SIMRUN-050..SIMRUN-054): each seed builds its own path and population and
 * runs every rule set; seeds run in parallel on worker threads. A seed's result depends only on the
 * options and the seed, never on the thread that ran it or on the number of threads, so per-seed
 * result hashes are the same with 1 or N workers. An abort (Ctrl-C) stops handing out seeds, ends
 * the workers and returns the seeds already finished.
 */
import { createRequire } from 'node:module'
import { pathToFileURL } from 'node:url'
import { Worker } from 'node:worker_threads'
import type { Issue } from '../issue.ts'
import { type SeedFigures, seedFigures } from './run-metrics.ts'
import { buildScenario, type ScenarioOptions } from './scenario.ts'
import { runSimulation, type SimulationRun } from './simulate.ts'

/** What one seed produced. `run` is kept only for the seeds asked for in full (the report's). */
export interface SeedResult {
  readonly seed: number
  readonly resultHash: string
  readonly figures: readonly SeedFigures[]
  readonly run?: SimulationRun
}

/** One seed, start to end, in this thread. Returns issues when the options are bad. */
export function runSeed(
  options: ScenarioOptions,
  seed: number,
  full: boolean,
): { ok: true; value: SeedResult } | { ok: false; issues: readonly Issue[] } {
  const built = buildScenario(options, seed)
  if (!built.ok) return built
  const run = runSimulation(built.value, options, seed)
  const figures = run.runs.map((entry) => seedFigures(entry.outcome.ruleSetId, entry.metrics))
  return {
    ok: true,
    value: { seed, resultHash: run.resultHash, figures, ...(full ? { run } : {}) },
  }
}

/** Progress after each finished seed. */
export interface MonteCarloProgress {
  readonly done: number
  readonly total: number
}

export interface MonteCarloRequest {
  readonly options: ScenarioOptions
  readonly seeds: readonly number[]
  /** Worker threads; 0 runs every seed in this thread. */
  readonly workers: number
  /** Seeds whose full run (forced closes, prices...) is kept, e.g. the first for the report. */
  readonly fullSeeds: readonly number[]
  readonly onProgress?: (progress: MonteCarloProgress) => void
  readonly signal?: AbortSignal
}

export interface MonteCarloOutcome {
  /** Finished seeds, in seed order. */
  readonly results: readonly SeedResult[]
  /** True when an abort stopped the run before every seed finished. */
  readonly interrupted: boolean
}

/** Message to a worker: run one seed. */
export interface SeedTask {
  readonly options: ScenarioOptions
  readonly seed: number
  readonly full: boolean
}

/** Message from a worker. */
export type SeedReply =
  | { readonly ok: true; readonly value: SeedResult }
  | { readonly ok: false; readonly issues: readonly Issue[] }
  | { readonly ok: false; readonly error: string }

/** Raised when a seed's options are bad (reported before any worker starts when possible). */
export class ScenarioInputError extends Error {
  constructor(readonly issues: readonly Issue[]) {
    super(issues.map((entry) => `${entry.path}: ${entry.message}`).join('; '))
  }
}

/** Runs every seed, on `workers` threads (0: here), and returns the finished ones in seed order. */
export async function runMonteCarlo(request: MonteCarloRequest): Promise<MonteCarloOutcome> {
  const full = new Set(request.fullSeeds)
  const results: SeedResult[] = []
  const total = request.seeds.length
  const finish = (result: SeedResult): void => {
    results.push(result)
    request.onProgress?.({ done: results.length, total })
  }
  let interrupted = false
  if (request.workers <= 0) {
    for (const seed of request.seeds) {
      await new Promise((resolve) => setImmediate(resolve))
      if (request.signal?.aborted === true) {
        interrupted = true
        break
      }
      const outcome = runSeed(request.options, seed, full.has(seed))
      if (!outcome.ok) throw new ScenarioInputError(outcome.issues)
      finish(outcome.value)
    }
  } else {
    interrupted = await runOnWorkers(request, full, finish)
  }
  results.sort((a, b) => a.seed - b.seed)
  return { results, interrupted: interrupted || results.length < total }
}

function startWorker(): Worker {
  const workerFile = new URL('./worker.ts', import.meta.url).href
  // tsx's ES module API (its package maps `tsx/esm/api` to index.cjs for require and index.mjs for import).
  const tsxApi = pathToFileURL(
    createRequire(import.meta.url)
      .resolve('tsx/esm/api')
      .replace(/\.cjs$/, '.mjs'),
  ).href
  // The worker runs TypeScript: register tsx's loader in it before importing the entry module.
  const bootstrap = `import(${JSON.stringify(tsxApi)}).then((api) => { api.register(); return import(${JSON.stringify(workerFile)}) })`
  return new Worker(bootstrap, { eval: true })
}

function runOnWorkers(
  request: MonteCarloRequest,
  full: ReadonlySet<number>,
  finish: (result: SeedResult) => void,
): Promise<boolean> {
  const queue = [...request.seeds]
  const count = Math.min(request.workers, queue.length)
  const workers: Worker[] = []
  return new Promise<boolean>((resolve, reject) => {
    let settled = false
    let busy = 0
    const stopAll = (): Promise<number[]> =>
      Promise.all(workers.map((worker) => worker.terminate()))
    const end = (error: Error | null, aborted: boolean): void => {
      if (settled) return
      settled = true
      request.signal?.removeEventListener('abort', onAbort)
      void stopAll().then(() => (error === null ? resolve(aborted) : reject(error)))
    }
    const onAbort = (): void => end(null, true)
    request.signal?.addEventListener('abort', onAbort)
    if (request.signal?.aborted === true) {
      end(null, true)
      return
    }
    const dispatch = (worker: Worker): void => {
      const seed = queue.shift()
      if (seed === undefined) {
        if (busy === 0) end(null, false)
        return
      }
      busy += 1
      const task: SeedTask = { options: request.options, seed, full: full.has(seed) }
      worker.postMessage(task)
    }
    for (let index = 0; index < count; index += 1) {
      const worker = startWorker()
      workers.push(worker)
      worker.on('message', (reply: SeedReply) => {
        busy -= 1
        if (reply.ok) {
          finish(reply.value)
          if (!settled) dispatch(worker)
        } else if ('issues' in reply) end(new ScenarioInputError(reply.issues), false)
        else end(new Error(reply.error), false)
      })
      worker.on('error', (error) => end(error, false))
      dispatch(worker)
    }
    if (count === 0) end(null, false)
  })
}
