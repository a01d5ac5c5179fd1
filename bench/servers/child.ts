// The protocol every benchmark child speaks: one `BENCH {json}` line per message on stdout,
// and the child ends itself when the harness goes away (stdin closes) or asks (SIGTERM).
// A graceful end matters for `node --cpu-prof`, which writes the profile at exit.
import { getHeapSpaceStatistics } from 'node:v8'

export function send (type: string, data: Record<string, unknown> = {}): void {
  process.stdout.write(`BENCH ${JSON.stringify({ type, ...data })}\n`)
}

/** Registers the shutdown path: `close` runs once (bounded by deadlineMs), then the process exits. */
export function onShutdown (close: () => Promise<void> | void, deadlineMs = 2000): void {
  let done = false
  const stop = (code: number) => {
    if (done) return
    done = true
    const t = setTimeout(() => process.exit(code), deadlineMs)
    t.unref()
    Promise.resolve().then(close).catch(() => {}).finally(() => process.exit(code))
  }
  process.stdin.on('end', () => stop(0))
  process.stdin.on('close', () => stop(0))
  process.stdin.on('error', () => stop(0))
  process.stdin.resume()
  process.on('SIGTERM', () => stop(0))
  process.on('SIGINT', () => stop(0))
}

/**
 * Answers `heap` lines on stdin (the soak asks every 30 s): a full collection when the child
 * runs with --expose-gc, then the V8 heap still in use, which is what a leak would grow.
 */
export function answerHeapRequests (): void {
  let pending = ''
  process.stdin.on('data', (chunk: Buffer) => {
    pending += chunk.toString('latin1')
    let nl
    while ((nl = pending.indexOf('\n')) >= 0) {
      const line = pending.slice(0, nl).trim()
      pending = pending.slice(nl + 1)
      if (line !== 'heap') continue
      const gc = (globalThis as { gc?: () => void }).gc
      const before = process.memoryUsage()
      const spaces = Object.fromEntries(getHeapSpaceStatistics().map((x) => [x.space_name, Math.round(x.space_size / 1048576)]))
      if (gc) gc()
      const m = process.memoryUsage()
      send('heap', {
        collected: gc !== undefined, heap_used: m.heapUsed, external: m.external, array_buffers: m.arrayBuffers, rss: m.rss,
        before: { heap_total: before.heapTotal, heap_used: before.heapUsed, rss: before.rss, spaces_mb: spaces },
      })
    }
  })
}

/** `--key value` pairs of the child's argv. */
export function childArgs (): Record<string, string> {
  const out: Record<string, string> = {}
  const a = process.argv.slice(2)
  for (let i = 0; i < a.length; i++) {
    if (a[i]!.startsWith('--')) out[a[i]!.slice(2)] = a[i + 1] !== undefined && !a[i + 1]!.startsWith('--') ? a[++i]! : 'true'
  }
  return out
}

/** Fails the child with a message the harness reports. */
export function fatal (e: unknown): never {
  send('error', { message: e instanceof Error ? e.message : String(e) })
  process.exit(1)
}
