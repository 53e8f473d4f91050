/**
 * Simulations started from the service (docs/spec/service.md, SVC-050): `lor simulate`'s Monte Carlo
 * run (src/sim/run/monte-carlo.ts) on a worker thread, so the service keeps answering, with its
 * progress and, when it ends, the HTML report and the summary figures.
 */
import { randomBytes } from 'node:crypto'
import { formatFixed } from '../core/num/fixed.ts'
import { renderReport } from '../sim/report/html.ts'
import { runMonteCarlo } from '../sim/run/monte-carlo.ts'
import { DEFAULT_SCENARIO_OPTIONS, type ScenarioOptions } from '../sim/run/scenario.ts'
import { withMonteCarloLosses } from '../sim/run/simulate.ts'
import { ServiceError } from './errors.ts'

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
  report: string | null
}

/** Runs and remembers simulations (the last `keep`, at most `concurrent` at a time). */
export class Simulations {
  private readonly runs = new Map<string, Simulation>()
  private readonly controllers = new Map<string, AbortController>()

  constructor(
    private readonly now: () => number,
    private readonly concurrent = 2,
    private readonly keep = 50,
  ) {}

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
    this.trim()
    const controller = new AbortController()
    this.controllers.set(id, controller)
    void this.run(simulation, controller.signal).finally(() => this.controllers.delete(id))
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

  /** The HTML report of a finished simulation. */
  report(id: string): string {
    const run = this.runs.get(id)
    if (run?.report === null || run === undefined)
      throw new ServiceError('simulation_not_found', 'no report for this simulation (yet)')
    return run.report
  }

  /** Stops every running simulation and waits a moment for the workers to end. */
  stopAll(): void {
    for (const controller of this.controllers.values()) controller.abort()
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
        error: message,
      }
    }
  }

  private trim(): void {
    while (this.runs.size > this.keep) {
      const oldest = [...this.runs.values()].find((run) => run.status.status !== 'running')
      if (oldest === undefined) return
      this.runs.delete(oldest.status.id)
    }
  }
}
