/**
 * Worker threads that run this project's TypeScript modules (the journal's SQLite writer, the
 * simulator's pool): tsx's loader is registered in the worker before its entry module is imported.
 */
import { createRequire } from 'node:module'
import { pathToFileURL } from 'node:url'
import { Worker, type WorkerOptions } from 'node:worker_threads'

/** Starts a worker on the TypeScript module at `moduleUrl` (a `file:` URL). */
export function startTypeScriptWorker(
  moduleUrl: URL,
  options: Omit<WorkerOptions, 'eval'> = {},
): Worker {
  // tsx's ES module API (its package maps `tsx/esm/api` to index.cjs for require, index.mjs for import).
  const tsxApi = pathToFileURL(
    createRequire(import.meta.url)
      .resolve('tsx/esm/api')
      .replace(/\.cjs$/, '.mjs'),
  ).href
  const bootstrap = `import(${JSON.stringify(tsxApi)}).then((api) => { api.register(); return import(${JSON.stringify(moduleUrl.href)}) })`
  return new Worker(bootstrap, { ...options, eval: true })
}
