/**
 * Worker-thread entry of the Monte Carlo driver (SIMRUN-051): receives `SeedTask`s, runs each seed
 * with `runSeed` and replies with its `SeedResult` (bigints travel through structured clone).
 */
import { parentPort } from 'node:worker_threads'
import { runSeed, type SeedReply, type SeedTask } from './monte-carlo.ts'

const port = parentPort
if (port === null)
  throw new Error('Condition failed: worker.ts runs in a worker thread (SIMRUN-051)')
port.on('message', (task: SeedTask) => {
  let reply: SeedReply
  try {
    reply = runSeed(task.options, task.seed, task.full)
  } catch (error) {
    reply = {
      ok: false,
      error: error instanceof Error ? (error.stack ?? error.message) : String(error),
    }
  }
  port.postMessage(reply)
})
