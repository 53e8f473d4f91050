/**
 * The worker thread of a SQLite journal opened with `writerThread` (sqlite-store.ts): it holds its
 * own connection to the file and commits the batches (and snapshots) the main thread sends, one at
 * a time in arrival order, answering each once its transaction is committed. The main thread keeps
 * executing commands meanwhile, so commands that arrive during a commit form the next batch.
 */
import { parentPort, workerData } from 'node:worker_threads'
import type { JournalEntry } from './entry.ts'
import { isJournalError } from './errors.ts'
import { openSqliteStore, type SqliteSynchronous } from './sqlite-store.ts'
import type { JournalSnapshot } from './store.ts'

/** A request from the main thread. */
export type WriterRequest =
  | { readonly id: number; readonly op: 'append'; readonly entries: readonly JournalEntry[] }
  | { readonly id: number; readonly op: 'snapshot'; readonly snapshot: JournalSnapshot }
  | { readonly id: number; readonly op: 'close' }

/** The answer to a request: done, or the error it failed with. */
export type WriterAnswer =
  | { readonly id: number; readonly ok: true }
  | {
      readonly id: number
      readonly ok: false
      readonly message: string
      /** The journal error's code and sequence, when it was one. */
      readonly code: string | null
      readonly sequence: number | null
    }

const { path, synchronous } = workerData as {
  readonly path: string
  readonly synchronous: SqliteSynchronous
}
const store = openSqliteStore(path, { synchronous })
const port = parentPort
if (port === null) throw new Error('Condition failed: sqlite-writer.ts runs as a worker thread')

let queue: Promise<void> = Promise.resolve()
port.on('message', (request: WriterRequest) => {
  queue = queue.then(async () => {
    try {
      if (request.op === 'append') await store.append(request.entries)
      else if (request.op === 'snapshot') await store.writeSnapshot(request.snapshot)
      else await store.close()
      port.postMessage({ id: request.id, ok: true } satisfies WriterAnswer)
    } catch (error) {
      port.postMessage({
        id: request.id,
        ok: false,
        message: error instanceof Error ? error.message : String(error),
        code: isJournalError(error) ? error.code : null,
        sequence: isJournalError(error) ? error.sequence : null,
      } satisfies WriterAnswer)
    }
    if (request.op === 'close') port.close()
  })
})
