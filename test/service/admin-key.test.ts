/**
 * LOR_ADMIN_KEY at start-up (docs/spec/service.md, SVC-021): a revoked or malformed admin key stops
 * `lor serve` with one clear line and a non-zero exit, never a stack trace; in process and through
 * the command line, on SQLite and on the real PostgreSQL server.
 */
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import { ServiceStartError, startService } from '../../src/service/server.ts'
import {
  describeWithPostgres,
  dropSchema,
  TEST_DATABASE_URL,
  testSchemaName,
} from '../journal/postgres-harness.ts'
import { ADMIN_KEY, startHarness } from './harness.ts'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))

/** Runs `lor serve` on `database` with LOR_ADMIN_KEY = `key` until it exits (or 60 s pass). */
function serveOnce(
  database: string,
  key: string,
): Promise<{ code: number | null; stderr: string; stdout: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['bin/lor.js', 'serve', '--port', '0', '--db', database, '--rate-limit', '0'],
      { cwd: ROOT, env: { ...process.env, LOR_ADMIN_KEY: key }, stdio: ['ignore', 'pipe', 'pipe'] },
    )
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString()
    })
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString()
      // a server that started did not refuse the key: stop it and report what it printed
      if (stderr.includes('listening on')) child.kill('SIGTERM')
    })
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000)
    child.once('error', reject)
    child.once('exit', (code) => {
      clearTimeout(timer)
      resolve({ code, stderr, stdout })
    })
  })
}

/** Revokes the admin key of a service on `database` through a second admin key. */
async function revokeAdminKey(database: string, directory: string): Promise<void> {
  const harness = await startHarness({ directory, extra: { database } })
  try {
    const second = await harness.request('POST', '/v1/keys', {
      body: { name: 'second-admin', role: 'admin' },
    })
    const secondKey = (second.body as { key: string }).key
    const listed = await harness.request('GET', '/v1/keys', { key: secondKey })
    const admin = (listed.body as { keys: { id: string; name: string }[] }).keys.find(
      (each) => each.name === 'admin',
    )
    if (admin === undefined) throw new Error('the admin key is listed')
    const revoked = await harness.request('DELETE', `/v1/keys/${admin.id}`, { key: secondKey })
    expect(revoked.status).toBe(200)
    // revoked through this process: refused at once
    expect((await harness.request('GET', '/v1/markets')).status).toBe(401)
  } finally {
    await harness.close()
  }
}

function adminKeyTests(databaseIn: (directory: string) => string): void {
  const directory = mkdtempSync(join(tmpdir(), 'lor-admin-key-'))
  afterAll(() => rmSync(directory, { recursive: true, force: true }))
  const database = databaseIn(directory)

  it('SVC-021: a revoked LOR_ADMIN_KEY is refused at start with a clear error', async () => {
    await revokeAdminKey(database, directory)
    const error = await startService({
      port: 0,
      database,
      environment: { LOR_ADMIN_KEY: ADMIN_KEY },
      log: () => undefined,
    }).catch((failure: unknown) => failure)
    expect(error).toBeInstanceOf(ServiceStartError)
    expect((error as Error).message).toMatch(/^LOR_ADMIN_KEY is a key that was revoked/)
  })

  it('SVC-021: `lor serve` with the revoked LOR_ADMIN_KEY prints one line and exits 2', async () => {
    const run = await serveOnce(database, ADMIN_KEY)
    expect(run.code).toBe(2)
    expect(run.stdout).toBe('')
    expect(run.stderr).toMatch(/^lor: error: LOR_ADMIN_KEY is a key that was revoked[^\n]*\n$/)
  })
}

describe('admin key on SQLite', () => {
  adminKeyTests((directory) => join(directory, 'lor.db'))

  it('SVC-021: a malformed LOR_ADMIN_KEY (too short, a space, a control character) exits 2 with its rule', async () => {
    const directory = mkdtempSync(join(tmpdir(), 'lor-admin-key-'))
    try {
      for (const key of [
        'too-short',
        'a key with spaces in it, long enough',
        `tab\tkey-0123456789abcdefghij`,
      ]) {
        const run = await serveOnce(join(directory, 'lor.db'), key)
        expect(run.code, key).toBe(2)
        expect(run.stderr, key).toMatch(
          /^lor: error: LOR_ADMIN_KEY must be 24 to 512 visible ASCII characters without spaces[^\n]*\n$/,
        )
      }
    } finally {
      rmSync(directory, { recursive: true, force: true })
    }
  })
})

describeWithPostgres('admin key on PostgreSQL', () => {
  const schema = testSchemaName()
  afterAll(() => dropSchema(schema))
  adminKeyTests(() => `${TEST_DATABASE_URL}?schema=${schema}`)
})
