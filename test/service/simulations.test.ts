/**
 * Simulations outlive the service process (docs/spec/service.md, SVC-051): a restarted service lists
 * the simulations started before, serves their reports, and shows one that was running when the
 * service stopped (or crashed) as failed. On SQLite and on the real PostgreSQL server.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { openKeyStore } from '../../src/service/keys.ts'
import {
  INTERRUPTED_MESSAGE,
  type SimulationStatus,
  Simulations,
} from '../../src/service/simulations.ts'
import {
  describeWithPostgres,
  dropSchema,
  TEST_DATABASE_URL,
  testSchemaName,
} from '../journal/postgres-harness.ts'
import { type Harness, startHarness } from './harness.ts'

const SMALL_SIMULATION = { presets: ['binance-usdm'], accounts: 20, seeds: 1, seed: 7 }

async function waitUntilDone(harness: Harness, id: string): Promise<SimulationStatus> {
  const deadline = Date.now() + 120_000
  for (;;) {
    const answer = await harness.request('GET', `/v1/simulations/${id}`)
    const status = answer.body as SimulationStatus
    if (status.status !== 'running') return status
    if (Date.now() > deadline) throw new Error(`simulation ${id} still running after 120 s`)
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
}

function persistenceTests(database: (directory: string) => string | undefined): void {
  const directory = mkdtempSync(join(tmpdir(), 'lor-sim-service-'))
  afterAll(() => rmSync(directory, { recursive: true, force: true }))
  const start = (): Promise<Harness> => {
    const chosen = database(directory)
    return startHarness({
      directory,
      ...(chosen === undefined ? {} : { extra: { database: chosen } }),
    })
  }

  it('SVC-051: a restarted service lists a finished simulation and serves its report', async () => {
    let harness = await start()
    const started = await harness.request('POST', '/v1/simulations', { body: SMALL_SIMULATION })
    expect(started.status).toBe(202)
    const id = (started.body as SimulationStatus).id
    const finished = await waitUntilDone(harness, id)
    expect(finished).toMatchObject({ status: 'finished', reportAvailable: true, seedsDone: 1 })
    const report = await harness.request('GET', `/v1/simulations/${id}/report`)
    expect(report.status).toBe(200)
    await harness.close()

    harness = await start()
    try {
      const listed = await harness.request('GET', '/v1/simulations')
      const statuses = (listed.body as { simulations: SimulationStatus[] }).simulations
      expect(statuses.find((each) => each.id === id)).toEqual(finished)
      expect((await harness.request('GET', `/v1/simulations/${id}`)).body).toEqual(finished)
      const again = await harness.request('GET', `/v1/simulations/${id}/report`)
      expect(again.status).toBe(200)
      expect(again.text).toBe(report.text)
      expect(again.text).toContain('<html')
    } finally {
      await harness.close()
    }
  })

  it('SVC-051: a simulation running when the service stops is listed as failed after a restart', async () => {
    let harness = await start()
    const started = await harness.request('POST', '/v1/simulations', {
      body: { ...SMALL_SIMULATION, accounts: 2_000, seeds: 3 },
    })
    const id = (started.body as SimulationStatus).id
    await harness.close()
    harness = await start()
    try {
      const status = (await harness.request('GET', `/v1/simulations/${id}`))
        .body as SimulationStatus
      expect(status).toMatchObject({ id, status: 'failed', error: INTERRUPTED_MESSAGE })
      const report = await harness.request('GET', `/v1/simulations/${id}/report`)
      expect(report.status).toBe(404)
    } finally {
      await harness.close()
    }
  })
}

describe('simulations on SQLite', () => {
  persistenceTests(() => undefined)

  it('SVC-051: one still marked running after a crash is stored as failed at the next start', async () => {
    const directory = mkdtempSync(join(tmpdir(), 'lor-sim-crash-'))
    try {
      const store = await openKeyStore({ backend: 'sqlite', target: join(directory, 'lor.db') })
      const running: SimulationStatus = {
        id: 'sim-crashed',
        status: 'running',
        request: { presets: ['binance-usdm'], accounts: 10, seeds: 1, seed: 1 },
        seedsDone: 0,
        seedsTotal: 1,
        startedMs: 1_000,
        finishedMs: null,
        startedBy: 'admin',
        error: null,
        summary: [],
        reportAvailable: false,
      }
      await store.saveSimulation({
        id: running.id,
        startedMs: running.startedMs,
        statusJson: JSON.stringify(running),
        reportHtml: null,
      })
      const simulations = await Simulations.open({ store, now: () => 2_000 })
      expect(simulations.get('sim-crashed')).toMatchObject({
        status: 'failed',
        error: INTERRUPTED_MESSAGE,
      })
      await simulations.close()
      const stored = await store.listSimulations()
      expect(JSON.parse(stored[0]?.statusJson ?? '{}')).toMatchObject({ status: 'failed' })
      await store.close()
    } finally {
      rmSync(directory, { recursive: true, force: true })
    }
  })
})

describeWithPostgres('simulations on PostgreSQL', () => {
  const schema = testSchemaName()
  afterAll(() => dropSchema(schema))
  persistenceTests(() => `${TEST_DATABASE_URL}?schema=${schema}`)
})
