/**
 * Simulations started from the service (docs/spec/service.md, SVC-050, SVC-051): `lor simulate`'s
 * Monte Carlo run (src/sim/run/monte-carlo.ts) on a worker thread, so the service keeps answering,
 * with its progress and, when it ends, the HTML report and the summary figures.
 *
 * Each simulation is stored in the service's database (`lor_service_simulations`, next to the keys)
 * when it starts and when it ends, the report with it, so a restarted service lists the past
 * simulations and serves their reports. One that was running when the service stopped is stored as
 * failed: a stop aborts it, and after a crash the next start marks it.
 */
import { randomBytes } from 'node:crypto'
import { formatFixed } from '../core/num/fixed.ts'
import { renderReport } from '../sim/report/html.ts'
import { runMonteCarlo } from '../sim/run/monte-carlo.ts'
import { DEFAULT_SCENARIO_OPTIONS, type ScenarioOptions } from '../sim/run/scenario.ts'
import { withMonteCarloLosses } from '../sim/run/simulate.ts'
import { ServiceError } from './errors.ts'
import type { KeyStore } from './keys.ts'

/** What a client asks for. */
export interface SimulationRequest {
  readonly presets: readonly string[]
  readonly accounts: number
  readonly seeds: number
  readonly seed: number
  readonly model?: string
  readonly insuranceFund?: string
}

/** One figure row per rule set of the first seed. */
export interface SimulationSummaryRow {
  readonly ruleSetId: string
  readonly market: string
  readonly liquidations: number
  readonly liquidatedValue: string
  readonly badDebt: string
  readonly insuranceFundEnd: string
  readonly autoDeleverages: number
  readonly socializedLoss: string
}

/** A simulation's state as the API shows it. */
export interface SimulationStatus {
  readonly id: string
  readonly status: 'running' | 'finished' | 'failed'
  readonly request: SimulationRequest
  readonly seedsDone: number
  readonly seedsTotal: number
  readonly startedMs: number
  readonly finishedMs: number | null
  readonly startedBy: string
  readonly error: string | null
  readonly summary: readonly SimulationSummaryRow[]
  readonly reportAvailable: boolean
}

interface Simulation {
  status: SimulationStatus
  /** The report while it is held in memory (a finished run of this process); else in the store. */
  report: string | null
}

/** Where simulations are kept: the service's key store (its simulations table). */
export type SimulationStore = Pick<
  KeyStore,
  'saveSimulation' | 'listSimulations' | 'simulationReport' | 'deleteSimulation'
>

/** What a simulation's status says when the service stopped before it finished. */
export const INTERRUPTED_MESSAGE = 'the service stopped before the simulation finished'

/** Runs and remembers simulations (the last `keep`, at most `concurrent` at a time). */
export class Simulations {
  private readonly runs = new Map<string, Simulation>()
  private readonly controllers = new Map<string, AbortController>()
  private readonly running = new Set<Promise<void>>()
  /** Writes to the store, in order; a failed write is logged and does not stop the service. */
  private writes: Promise<void> = Promise.resolve()

  constructor(
    private readonly now: () => number,
    private readonly concurrent = 2,
    private readonly keep = 50,
    private readonly store: SimulationStore | null = null,
    private readonly log: (line: string) => void = () => undefined,
  ) {}

  /**
   * Simulations backed by `store`: loads the stored ones (SVC-051), marking those that were running
   * when the service stopped as failed.
   */
  static async open(options: {
    readonly store: SimulationStore
    readonly now: () => number
    readonly log?: (line: string) => void
    readonly concurrent?: number
    readonly keep?: number
  }): Promise<Simulations> {
    const simulations = new Simulations(
      options.now,
      options.concurrent ?? 2,
      options.keep ?? 50,
      options.store,
      options.log,
    )
    for (const stored of await options.store.listSimulations()) {
      let status = JSON.parse(stored.statusJson) as SimulationStatus
      if (status.status === 'running') {
        status = { ...status, status: 'failed', finishedMs: null, error: INTERRUPTED_MESSAGE }
        simulations.persist({ status, report: null })
      }
      simulations.runs.set(status.id, { status, report: null })
    }
    simulations.trim()
    await simulations.writes
    return simulations
  }

  /** Starts a simulation; answers its status at once. */
  start(request: SimulationRequest, startedBy: string): SimulationStatus {
    const running = [...this.runs.values()].filter((run) => run.status.status === 'running')
    if (running.length >= this.concurrent)
      throw new ServiceError(
        'simulation_limit_reached',
        `${running.length} simulations are running; wait for one to finish`,
      )
    const id = `sim-${randomBytes(6).toString('hex')}`
    const simulation: Simulation = {
      status: {
        id,
        status: 'running',
        request,
        seedsDone: 0,
        seedsTotal: request.seeds,
        startedMs: this.now(),
        finishedMs: null,
        startedBy,
        error: null,
        summary: [],
        reportAvailable: false,
      },
      report: null,
    }
    this.runs.set(id, simulation)
    this.persist(simulation)
    this.trim()
    const controller = new AbortController()
    this.controllers.set(id, controller)
    const task = this.run(simulation, controller.signal).finally(() => {
      this.controllers.delete(id)
      this.running.delete(task)
    })
    this.running.add(task)
    return simulation.status
  }

  /** Every remembered simulation, newest first. */
  list(): SimulationStatus[] {
    return [...this.runs.values()].map((run) => run.status).reverse()
  }

  /** A simulation's status, or `simulation_not_found`. */
  get(id: string): SimulationStatus {
    const run = this.runs.get(id)
    if (run === undefined) throw new ServiceError('simulation_not_found', 'no such simulation')
    return run.status
  }

  /** The HTML report of a finished simulation (from memory or the store). */
  async report(id: string): Promise<string> {
    const run = this.runs.get(id)
    const report =
      run === undefined || !run.status.reportAvailable
        ? null
        : (run.report ?? (await this.store?.simulationReport(id)) ?? null)
    if (report === null)
      throw new ServiceError('simulation_not_found', 'no report for this simulation (yet)')
    return report
  }

  /** Stops every running simulation (each is stored as failed). */
  stopAll(): void {
    for (const controller of this.controllers.values()) controller.abort()
  }

  /** Stops every running simulation and waits until their statuses are stored. */
  async close(): Promise<void> {
    this.stopAll()
    await Promise.allSettled([...this.running])
    await this.writes
  }

  /** Stores a simulation's status (and its report, when it has one), after earlier writes. */
  private persist(simulation: Simulation): void {
    const store = this.store
    if (store === null) return
    const { status, report } = simulation
    this.writes = this.writes
      .then(() =>
        store.saveSimulation({
          id: status.id,
          startedMs: status.startedMs,
          statusJson: JSON.stringify(status),
          reportHtml: report,
        }),
      )
      .catch((error: unknown) =>
        this.log(
          `lor serve: simulation ${status.id} not stored: ${error instanceof Error ? error.message : String(error)}`,
        ),
      )
  }

  private async run(simulation: Simulation, signal: AbortSignal): Promise<void> {
    const { request } = simulation.status
    const options: ScenarioOptions = {
      ...DEFAULT_SCENARIO_OPTIONS,
      ruleSets: request.presets,
      accounts: request.accounts,
      ...(request.model === undefined ? {} : { model: request.model }),
      insuranceFund: request.insuranceFund ?? '0',
    }
    const seeds = Array.from({ length: request.seeds }, (_, index) => request.seed + index)
    try {
      const outcome = await runMonteCarlo({
        options,
        seeds,
        workers: 1,
        fullSeeds: [request.seed],
        signal,
        onProgress: ({ done }) => {
          simulation.status = { ...simulation.status, seedsDone: done }
        },
      })
      const base = outcome.results.find((entry) => entry.run !== undefined)?.run
      if (base === undefined) throw new Error('no seed finished')
      const losses = new Map<
        string,
        (typeof outcome.results)[number]['figures'][number]['uncoveredLoss'][]
      >()
      if (seeds.length > 1)
        for (const result of outcome.results)
          for (const figure of result.figures) {
            const list = losses.get(figure.ruleSetId) ?? []
            list.push(figure.uncoveredLoss)
            losses.set(figure.ruleSetId, list)
          }
      simulation.report = renderReport(withMonteCarloLosses(base.result, losses))
      simulation.status = {
        ...simulation.status,
        status: 'finished',
        finishedMs: this.now(),
        reportAvailable: true,
        summary: base.runs.map((run) => ({
          ruleSetId: run.outcome.ruleSetId,
          market: run.market,
          liquidations: run.metrics.liquidationCount,
          liquidatedValue: formatFixed(run.metrics.liquidatedValue),
          badDebt: formatFixed(run.metrics.badDebt),
          insuranceFundEnd: formatFixed(run.metrics.insuranceFundEnd),
          autoDeleverages: run.metrics.autoDeleverageCount,
          socializedLoss: formatFixed(run.metrics.socializedLoss),
        })),
      }
      this.persist(simulation)
      // the store holds the report now: this process keeps only the newest few in memory
      if (this.store !== null) void this.writes.then(() => this.releaseOldReports())
    } catch (error) {
      const message =
        error instanceof Error && 'issues' in error
          ? error.message
          : error instanceof Error
            ? (error.message.split('\n')[0] ?? 'failed')
            : 'failed'
      simulation.status = {
        ...simulation.status,
        status: 'failed',
        finishedMs: this.now(),
        error: signal.aborted ? INTERRUPTED_MESSAGE : message,
      }
      this.persist(simulation)
    }
  }

  /** Keeps the reports of the 5 newest finished simulations in memory; the store has them all. */
  private releaseOldReports(): void {
    const held = [...this.runs.values()].filter((run) => run.report !== null)
    for (const run of held.slice(0, Math.max(0, held.length - 5))) run.report = null
  }

  private trim(): void {
    while (this.runs.size > this.keep) {
      const oldest = [...this.runs.values()].find((run) => run.status.status !== 'running')
      if (oldest === undefined) return
      this.runs.delete(oldest.status.id)
      const store = this.store
      if (store !== null) {
        const id = oldest.status.id
        this.writes = this.writes
          .then(() => store.deleteSimulation(id))
          .catch((error: unknown) =>
            this.log(
              `lor serve: simulation ${id} not deleted: ${error instanceof Error ? error.message : String(error)}`,
            ),
          )
      }
    }
  }
}
