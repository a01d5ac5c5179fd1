// The load generator, in its own process: autocannon against one URL, a warm-up run that is
// thrown away, then the measured run. Latencies are taken from autocannon's per-response
// events into a 10 µs histogram (autocannon's own histogram has 1 ms resolution, too coarse
// for sub-millisecond targets). A fixed-rate run (spec.rate) is paced here instead, with an
// undici pool of `connections` sockets: requests leave evenly spread over each second (autocannon
// sends each connection's share in a burst at the start of every second, which measures its
// own queueing rather than the server's latency).
//   node --import tsx bench/loadgen.ts --spec '{"url":...,"connections":32,"duration":10,"warmup":3}'
// Messages: `measure` when the measured run starts, `result` at the end, `tick` every second
// (soak) when spec.ticks is set.
import { createRequire } from 'node:module'
import { Pool } from 'undici'
import { onShutdown, send } from './servers/child.js'

export interface LoadSpec {
  url: string
  connections: number
  /** measured seconds */
  duration: number
  /** warm-up seconds (not measured) */
  warmup: number
  /** requests per second over all connections (fixed-rate run); omitted = as fast as possible */
  rate?: number
  headers?: Record<string, string>
  /** emit a `tick` message every second with the running count */
  ticks?: boolean
}

export interface LoadResult {
  rps: number
  p50_ms: number | null
  p99_ms: number | null
  mean_ms: number | null
  requests: number
  non2xx: number
  errors: number
  timeouts: number
  duration_s: number
  bytes_per_response: number
  /** responses per status code */
  statuses: Record<string, number>
}

interface AutocannonOpts {
  url: string; connections: number; duration: number; headers?: Record<string, string>
  pipelining: number; timeout: number
}
interface AutocannonResult { errors: number; timeouts: number; non2xx: number; duration: number; requests: { total: number }; statusCodeStats?: Record<string, { count: number }> }
interface Instance {
  on (ev: 'response', fn: (client: unknown, status: number, bytes: number, ms: number) => void): void
  stop (): void
}
type Autocannon = (opts: AutocannonOpts, cb: (err: Error | null, res: AutocannonResult) => void) => Instance

const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon

const BUCKET_MS = 0.01
const BUCKETS = 500_000 // 0 .. 5 s at 10 µs

class Histogram {
  counts = new Uint32Array(BUCKETS)
  over: number[] = []
  n = 0
  sum = 0
  record (ms: number): void {
    this.n++
    this.sum += ms
    const b = Math.floor(ms / BUCKET_MS)
    if (b < BUCKETS) this.counts[b]!++
    else this.over.push(ms)
  }
  percentile (p: number): number | null {
    if (this.n === 0) return null
    const rank = Math.ceil((p / 100) * this.n)
    let seen = 0
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.counts[i]!
      if (seen >= rank) return (i + 0.5) * BUCKET_MS
    }
    const rest = this.over.sort((a, b) => a - b)
    return rest[Math.min(rest.length - 1, rank - seen - 1)] ?? null
  }
}

let current: Instance | undefined

function autocannonRun (spec: LoadSpec, seconds: number, hist?: Histogram): Promise<AutocannonResult & { bytes: number; responses: number }> {
  return new Promise((resolve, reject) => {
    let bytes = 0
    let responses = 0
    const inst = autocannon({
      url: spec.url,
      connections: spec.connections,
      duration: seconds,
      pipelining: 1,
      timeout: 10,
      ...(spec.headers ? { headers: spec.headers } : {}),
    }, (err, res) => {
      current = undefined
      if (err) reject(err)
      else resolve({ ...res, bytes, responses })
    })
    current = inst
    inst.on('response', (_c, _status, b, ms) => {
      responses++
      bytes += b
      hist?.record(ms)
    })
  })
}

/** Fixed-rate run: a request every 1/rate s (checked each millisecond), at most `connections` in flight. */
async function paced (spec: LoadSpec, seconds: number, hist?: Histogram): Promise<AutocannonResult & { bytes: number; responses: number }> {
  const url = new URL(spec.url)
  const pool = new Pool(url.origin, { connections: spec.connections, pipelining: 1, keepAliveTimeout: 30_000 })
  const path = url.pathname + url.search
  let sent = 0, responses = 0, bytes = 0, non2xx = 0, errors = 0, timeouts = 0, inflight = 0
  const statusCodeStats: Record<string, { count: number }> = {}
  const t0 = performance.now()
  const end = t0 + seconds * 1000
  let stopped = false
  current = { on () {}, stop () { stopped = true } }
  const fire = () => {
    sent++
    inflight++
    const start = performance.now()
    pool.request({ path, method: 'GET', headers: spec.headers, headersTimeout: 10_000, bodyTimeout: 10_000 })
      .then(async (res) => {
        let n = 0
        for await (const chunk of res.body) n += (chunk as Buffer).length
        responses++
        bytes += n
        if (res.statusCode < 200 || res.statusCode > 299) non2xx++
        ;(statusCodeStats[res.statusCode] ??= { count: 0 }).count++
        hist?.record(performance.now() - start)
      })
      .catch((e: { code?: string }) => { if (String(e.code).includes('TIMEOUT')) timeouts++; else errors++ })
      .finally(() => { inflight-- })
  }
  await new Promise<void>((resolve) => {
    const tick = () => {
      const now = performance.now()
      if (stopped || now >= end) { resolve(); return }
      const due = Math.floor(((now - t0) / 1000) * spec.rate!)
      // at most `connections` in flight: the rest would queue in the pool anyway
      while (sent < due && inflight < spec.connections * 4) fire()
      setTimeout(tick, 1)
    }
    tick()
  })
  const until = performance.now() + 10_000
  while (inflight > 0 && performance.now() < until) await new Promise((r) => setTimeout(r, 5))
  await pool.close().catch(() => {})
  current = undefined
  return { errors, timeouts, non2xx, duration: (performance.now() - t0) / 1000, requests: { total: sent }, bytes, responses, statusCodeStats }
}

async function main (spec: LoadSpec): Promise<LoadResult> {
  const run = spec.rate ? paced : autocannonRun
  if (spec.warmup > 0) await run(spec, spec.warmup)
  const hist = new Histogram()
  send('measure', {})
  let ticker: NodeJS.Timeout | undefined
  if (spec.ticks) ticker = setInterval(() => send('tick', { responses: hist.n }), 1000)
  const t0 = performance.now()
  const r = await run(spec, spec.duration, hist)
  const secs = (performance.now() - t0) / 1000
  if (ticker) clearInterval(ticker)
  const duration = r.duration > 0 ? Math.min(r.duration, secs) : secs
  return {
    rps: r.responses / duration,
    p50_ms: hist.percentile(50),
    p99_ms: hist.percentile(99),
    mean_ms: hist.n ? hist.sum / hist.n : null,
    requests: r.responses,
    non2xx: r.non2xx,
    errors: r.errors,
    timeouts: r.timeouts,
    duration_s: duration,
    bytes_per_response: r.responses ? r.bytes / r.responses : 0,
    statuses: Object.fromEntries(Object.entries(r.statusCodeStats ?? {}).map(([k, v]) => [k, v.count])),
  }
}

const i = process.argv.indexOf('--spec')
if (i < 0) { console.error('usage: loadgen.ts --spec JSON'); process.exit(2) }
onShutdown(() => { current?.stop() }, 500)
main(JSON.parse(process.argv[i + 1]!) as LoadSpec)
  .then((result) => { send('result', { result }); process.exit(0) })
  .catch((e: Error) => { send('error', { message: e.message }); process.exit(1) })
