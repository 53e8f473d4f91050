/**
 * JNL-014 crash safety. A writer process (crash-writer.ts) appends the seeded workload to a SQLite
 * journal under load and prints each acknowledgement; the test SIGKILLs it at seeded random moments,
 * 52 times over four journals in parallel. After every kill it checks that:
 * - every acknowledged command is in the journal, once, at the sequence it was acknowledged with;
 * - the journal is exactly a prefix of the workload (nothing skipped, nothing applied twice);
 * - the hash chain verifies from the genesis;
 * - recovery (latest snapshot + tail) gives the recorded state hash, and so does a clean replay
 *   from the genesis (kept incrementally across kills).
 * The writer is bundled once with esbuild (tsx's own compiler) so that each of the 52 process starts
 * costs a plain `node` start rather than a TypeScript load; set LOR_CRASH_WRITER_TSX=1 to run it
 * with `node --import tsx` instead.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { createEngineState, type EngineState } from '../../src/core/engine/state.ts'
import type { JournalHead } from '../../src/journal/entry.ts'
import { ruleSetOfGenesis } from '../../src/journal/genesis.ts'
import { recoverState, replayEntry, stateHashOf } from '../../src/journal/replay.ts'
import { openSqliteStore } from '../../src/journal/sqlite-store.ts'
import { scanVerified } from '../../src/journal/verify.ts'
import { seededRandom } from './workload.ts'

const WRITER_SOURCE = fileURLToPath(new URL('./crash-writer.ts', import.meta.url))
// inside the repository, so the bundle's bare imports (better-sqlite3, yaml) resolve to node_modules
const WRITER_BUNDLE = fileURLToPath(
  new URL('../../.test-results/crash-writer.mjs', import.meta.url),
)

/** The command line that starts one writer. */
async function writerCommand(): Promise<string[]> {
  if (process.env.LOR_CRASH_WRITER_TSX === '1') return ['--import', 'tsx', WRITER_SOURCE]
  const { build } = await import('esbuild')
  await build({
    entryPoints: [WRITER_SOURCE],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    outfile: WRITER_BUNDLE,
    logLevel: 'error',
  })
  return [WRITER_BUNDLE]
}
const LANES = 4
const KILLS_PER_LANE = 13

interface Life {
  readonly acknowledged: Map<string, number>
  readonly readySequence: number
}

/** Runs one writer life: waits for `ready`, lets it write for `writeMs`, then SIGKILLs it. */
function runLife(
  writer: readonly string[],
  path: string,
  seed: number,
  writeMs: number,
): Promise<Life> {
  return new Promise((resolve, reject) => {
    const child: ChildProcess = spawn(process.execPath, [...writer, path, String(seed)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    const acknowledged = new Map<string, number>()
    let readySequence = -1
    let buffered = ''
    let errors = ''
    let timer: NodeJS.Timeout | undefined
    child.stderr?.on('data', (chunk: Buffer) => {
      errors += chunk.toString()
    })
    child.stdout?.on('data', (chunk: Buffer) => {
      buffered += chunk.toString()
      const lines = buffered.split('\n')
      buffered = lines.pop() ?? ''
      for (const line of lines) {
        const [kind, key, sequence] = line.split(' ')
        if (kind === 'ready') {
          readySequence = Number(key)
          timer = setTimeout(() => child.kill('SIGKILL'), writeMs)
        } else if ((kind === 'ack' || kind === 'dup') && key !== undefined) {
          acknowledged.set(key, Number(sequence))
        }
      }
    })
    child.on('error', reject)
    child.on('exit', (code, signal) => {
      clearTimeout(timer)
      if (signal !== 'SIGKILL')
        reject(new Error(`writer exited by itself (code ${String(code)}): ${errors}`))
      else resolve({ acknowledged, readySequence })
    })
  })
}

/** One journal killed `kills` times; returns the number of kills checked. */
async function runLane(writer: readonly string[], lane: number, kills: number): Promise<number> {
  const directory = mkdtempSync(join(tmpdir(), 'lor-crash-'))
  const path = join(directory, 'journal.db')
  const seed = 1000 + lane
  const random = seededRandom(seed)
  let clean: EngineState | null = null
  let cleanHead: JournalHead | null = null
  let checked = 0
  try {
    for (let kill = 0; kill < kills; kill += 1) {
      const life = await runLife(writer, path, seed, 20 + Math.floor(random() * 400))
      const store = openSqliteStore(path)
      try {
        const genesis = await store.readGenesis()
        expect(genesis).not.toBeNull()
        if (clean === null) clean = createEngineState(ruleSetOfGenesis(genesis!))
        const cleanState = clean
        // clean replay, from the genesis, continued across kills; verifies the chain as it reads
        const previousSequence = cleanHead?.sequence ?? 0
        cleanHead = await scanVerified(store, cleanHead, (entries) => {
          for (const entry of entries) {
            expect(entry.idempotencyKey).toBe(`w${seed}-${entry.sequence}`)
            replayEntry(cleanState, entry, true)
          }
        })
        const head = await store.head()
        expect(head?.sequence ?? 0).toBeGreaterThanOrEqual(previousSequence)
        expect(life.readySequence).toBe(previousSequence)
        for (const [key, sequence] of life.acknowledged) {
          const entry = await store.findByIdempotencyKey(key)
          expect(entry?.sequence, `acknowledged ${key} at ${sequence}`).toBe(sequence)
        }
        const recovered = await recoverState(store)
        if (head !== null) expect(recovered.stateHash).toBe(head.stateHash)
        expect(stateHashOf(cleanState)).toBe(recovered.stateHash)
        checked += 1
      } finally {
        await store.close()
      }
    }
  } finally {
    rmSync(directory, { recursive: true, force: true })
  }
  return checked
}

describe('JNL-014 crash safety (SIGKILL during heavy appends)', () => {
  it(`loses and duplicates no acknowledged command over ${LANES * KILLS_PER_LANE} kills`, {
    timeout: 180_000,
  }, async () => {
    const writer = await writerCommand()
    const lanes = await Promise.all(
      Array.from({ length: LANES }, (_, lane) => runLane(writer, lane, KILLS_PER_LANE)),
    )
    expect(lanes.reduce((total, count) => total + count, 0)).toBe(LANES * KILLS_PER_LANE)
  })
})
