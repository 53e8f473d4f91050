/**
 * Worker-thread entry of the Monte Carlo driver (SIMRUN-051, SIMRUN-055): receives `SeedTask`s,
 * runs each (a whole seed, or one rule set of a seed) with `runTask` and replies with its result
 * (bigints travel through structured clone).
 */
import { parentPort } from 'node:worker_threads'
import { runTask, type SeedReply, type SeedTask } from './monte-carlo.ts'

const port = parentPort
if (port === null)
  throw new Error('Condition failed: worker.ts runs in a worker thread (SIMRUN-051)')
port.on('message', (task: SeedTask) => {
  let reply: SeedReply
  try {
    reply = runTask(task)
  } catch (error) {
    reply = {
      ok: false,
      error: error instanceof Error ? (error.stack ?? error.message) : String(error),
    }
  }
  port.postMessage(reply)
})
