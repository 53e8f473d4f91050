/**
 * Monte Carlo over seeds (SIMRUN-050..SIMRUN-055): each seed builds its own path and population and
 * runs every rule set; seeds run in parallel on worker threads. A single seed runs its rule sets in
 * parallel instead (each worker builds the same path and population and runs one rule set; the
 * main thread puts the runs together in the options' order). A seed's result depends only on the
 * options and the seed, never on the thread that ran it or on the number of threads, so per-seed
 * result hashes are the same with 0, 1 or N workers. An abort (Ctrl-C) stops handing out work,
 * ends the workers and returns the seeds already finished.
 */
import type { Worker } from 'node:worker_threads'
import { startTypeScriptWorker } from '../../runtime/typescript-worker.ts'
import type { Issue } from '../issue.ts'
import { type SeedFigures, seedFigures } from './run-metrics.ts'
import { buildScenario, type ScenarioOptions } from './scenario.ts'
import {
  combineRuns,
  type RuleSetRun,
  runRuleSet,
  runSimulation,
  type SimulationRun,
} from './simulate.ts'

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

/** Message to a worker: run one seed, or only the rule set at `ruleSetIndex` of one seed. */
export interface SeedTask {
  readonly options: ScenarioOptions
  readonly seed: number
  readonly full: boolean
  readonly ruleSetIndex?: number
}

/** Message from a worker: a seed's result, or one rule set's run of a seed. */
export type SeedReply =
  | { readonly ok: true; readonly value: SeedResult }
  | { readonly ok: true; readonly ruleSetRun: RuleSetRun; readonly ruleSetIndex: number }
  | { readonly ok: false; readonly issues: readonly Issue[] }
  | { readonly ok: false; readonly error: string }

/** Runs what a task asks, in this thread (the worker entry's work). */
export function runTask(task: SeedTask): SeedReply {
  const index = task.ruleSetIndex
  if (index === undefined) return runSeed(task.options, task.seed, task.full)
  const built = buildScenario(task.options, task.seed)
  if (!built.ok) return built
  const ruleSet = built.value.ruleSets[index]
  if (ruleSet === undefined)
    throw new RangeError(
      `Condition failed: a task names one of the rule sets (SIMRUN-055, index=${index})`,
    )
  return {
    ok: true,
    ruleSetRun: runRuleSet(built.value, task.options, ruleSet),
    ruleSetIndex: index,
  }
}

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
  const single = request.seeds[0]
  if (request.seeds.length === 1 && single !== undefined && request.workers > 0) {
    const outcome = await runRuleSetsOnWorkers(request, single, full.has(single))
    if (outcome !== null) finish(outcome)
    else interrupted = true
  } else if (request.workers <= 0) {
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

/**
 * One seed with its rule sets spread over `request.workers` threads (SIMRUN-055). The workers start
 * (loading the code takes a moment) while this thread builds the scenario, which checks the
 * options and gives the result's shared parts. Returns null when aborted.
 */
async function runRuleSetsOnWorkers(
  request: MonteCarloRequest,
  seed: number,
  full: boolean,
): Promise<SeedResult | null> {
  const ruleSetCount = request.options.ruleSets.length
  const count = Math.min(request.workers, Math.max(1, ruleSetCount))
  const workers = Array.from({ length: count }, () => startWorker())
  const stopAll = (): Promise<number[]> => Promise.all(workers.map((worker) => worker.terminate()))
  const built = buildScenario(request.options, seed)
  if (!built.ok) {
    await stopAll()
    throw new ScenarioInputError(built.issues)
  }
  const total = built.value.ruleSets.length
  const runs = new Array<RuleSetRun | undefined>(total)
  const queue = Array.from({ length: total }, (_, index) => index)
  const aborted = await new Promise<boolean>((resolve, reject) => {
    let settled = false
    let done = 0
    const end = (error: Error | null, wasAborted: boolean): void => {
      if (settled) return
      settled = true
      request.signal?.removeEventListener('abort', onAbort)
      void stopAll().then(() => (error === null ? resolve(wasAborted) : reject(error)))
    }
    const onAbort = (): void => end(null, true)
    request.signal?.addEventListener('abort', onAbort)
    if (request.signal?.aborted === true || total === 0) {
      end(null, request.signal?.aborted === true)
      return
    }
    const dispatch = (worker: Worker): void => {
      const index = queue.shift()
      if (index === undefined) return
      const task: SeedTask = { options: request.options, seed, full, ruleSetIndex: index }
      worker.postMessage(task)
    }
    for (const worker of workers) {
      worker.on('message', (reply: SeedReply) => {
        if (reply.ok && 'ruleSetRun' in reply) {
          runs[reply.ruleSetIndex] = reply.ruleSetRun
          done += 1
          if (done === total) end(null, false)
          else if (!settled) dispatch(worker)
        } else if (!reply.ok && 'issues' in reply) end(new ScenarioInputError(reply.issues), false)
        else if (!reply.ok) end(new Error(reply.error), false)
        else end(new Error('Invariant: a rule-set task answers with its run (SIMRUN-055)'), false)
      })
      worker.on('error', (error) => end(error, false))
      dispatch(worker)
    }
  })
  if (aborted) return null
  const finished = runs.filter((run): run is RuleSetRun => run !== undefined)
  if (finished.length !== total)
    throw new Error('Invariant: every rule set of the seed ran (SIMRUN-055)')
  const run = combineRuns(built.value, request.options, seed, finished)
  const figures = run.runs.map((entry) => seedFigures(entry.outcome.ruleSetId, entry.metrics))
  return { seed, resultHash: run.resultHash, figures, ...(full ? { run } : {}) }
}

/**
 * A young generation of up to 192 MiB (V8's default is 48 MiB): a run allocates many short-lived
 * bigints and plan objects, and a larger nursery lets fewer of them be copied and promoted
 * (measured: about a fifth less CPU at 100,000 accounts, docs/PERFORMANCE.md).
 */
const WORKER_YOUNG_GENERATION_MB = 192

function startWorker(): Worker {
  return startTypeScriptWorker(new URL('./worker.ts', import.meta.url), {
    resourceLimits: { maxYoungGenerationSizeMb: WORKER_YOUNG_GENERATION_MB },
  })
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
        if (reply.ok && 'value' in reply) {
          finish(reply.value)
          if (!settled) dispatch(worker)
        } else if (!reply.ok && 'issues' in reply) end(new ScenarioInputError(reply.issues), false)
        else if (!reply.ok) end(new Error(reply.error), false)
        else end(new Error('Invariant: a seed task answers with its result (SIMRUN-051)'), false)
      })
      worker.on('error', (error) => end(error, false))
      dispatch(worker)
    }
    if (count === 0) end(null, false)
  })
}
