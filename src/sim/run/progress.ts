/**
 * A progress line for long runs on stderr (SIMRUN-053): a bar with an estimate of the time left
 * when stderr is a terminal, otherwise a plain line at every tenth of the work.
 */

export interface ProgressWriter {
  update(done: number): void
  finish(note?: string): void
}

/** Formats a duration in seconds as `1h02m`, `3m05s` or `12s`. */
export function formatDuration(seconds: number): string {
  const whole = Math.max(0, Math.round(seconds))
  const hours = Math.floor(whole / 3600)
  const minutes = Math.floor((whole % 3600) / 60)
  const rest = whole % 60
  if (hours > 0) return `${hours}h${String(minutes).padStart(2, '0')}m`
  if (minutes > 0) return `${minutes}m${String(rest).padStart(2, '0')}s`
  return `${rest}s`
}

/** A progress writer for `total` units of work labelled `unit`, timed with `now` (ms). */
export function createProgress(
  total: number,
  unit: string,
  stream: NodeJS.WriteStream = process.stderr,
  now: () => number = () => performance.now(),
): ProgressWriter {
  const started = now()
  const terminal = stream.isTTY
  let lastTenth = -1
  const line = (done: number): string => {
    const elapsed = (now() - started) / 1000
    const eta = done > 0 ? (elapsed / done) * (total - done) : Number.NaN
    const etaText = done > 0 && done < total ? `, about ${formatDuration(eta)} left` : ''
    return `${done}/${total} ${unit} (${formatDuration(elapsed)} elapsed${etaText})`
  }
  return {
    update(done) {
      if (terminal) {
        const width = 24
        const filled = total > 0 ? Math.round((done / total) * width) : width
        stream.write(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${line(done)}\u001b[K`)
        return
      }
      const tenth = total > 0 ? Math.floor((done * 10) / total) : 10
      if (tenth !== lastTenth) {
        lastTenth = tenth
        stream.write(`${line(done)}\n`)
      }
    },
    finish(note) {
      if (terminal) stream.write('\n')
      if (note !== undefined) stream.write(`${note}\n`)
    },
  }
}
