// Micro-benchmark: what DecisionLogger.record() adds to a request, in µs per event.
//   npx tsx bench/spool.ts [--events 20000] [--runs 5]
// Each contender runs in a fresh process (so one contender's JIT state or page cache does not
// help the next), records `events` realistic decisions (~1 KB input: Envoy-shaped request with
// 14 headers, path, query, decision object) `runs` times, and reports the median over runs of
// the mean wall µs per record(), the event-loop (main thread) busy µs per event — what a
// proxy doing this loses in throughput — the p50 / p99 of single calls, and the longest turn (the
// most the writer held the event loop at once, the worst over the runs). Uploads are held
// off (long batching window) so only the request-path cost is measured. Records come 64 per
// event-loop turn, as they would from concurrent requests; the mean includes deferred writes
// (group/batched) and the turns themselves. Table rows are relative to the slowest.
//
// Contenders:
//   build+seal only        event building, erasure and hashing, no I/O (the floor)
//   group, fsync interval  default: lines queued, one write() per turn on the thread pool,
//                          fdatasync once a second, also on the thread pool
//   group, fsync always    as above, one fdatasync per turn (group commit)
//   sync, fsync never      one write() per event on the event loop, into the page cache
//   sync, fsync interval   as above, fsync once a second in the background
//   batched, interval      as group (the proxy does not hold requests; same spool cost)
//   sync, fsync always     fsync() per event on the event loop (what per-event durability costs)
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import os from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { DecisionLogger, type DecisionEventInput } from '../src/decision-log/index.js'
import { compileEventBuilder } from '../src/decision-log/event.js'
import { sealEvent, GENESIS } from '../src/decision-log/chain.js'
import type { Sink } from '../src/decision-log/sinks.js'

const { values } = parseArgs({
  options: {
    events: { type: 'string', default: '20000' },
    runs: { type: 'string', default: '5' },
    contender: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
})
if (values.help === true) {
  console.log(`npx tsx bench/spool.ts [--events N] [--runs N] [--contender NAME]

What DecisionLogger.record() adds to a request, µs per event, per write_mode/fsync contender
(build+seal only, group, sync, batched; each in a fresh process; uploads held off).
  --events N        events per run (default 20000; 64 per event-loop turn)
  --runs N          measured runs per contender after one warm-up, median reported (default 5)
  --contender NAME  run one contender in this process and print its row as JSON (what the driver spawns)`)
  process.exit(0)
}
const EVENTS = Number(values.events)
const RUNS = Number(values.runs)

interface Contender { name: string; events?: number; setup: (dir: string) => Promise<{ record: (d: DecisionEventInput) => void; finish: () => Promise<void> }> }

// Holds everything: the benchmark measures the request path, not delivery.
const idleSink: Sink = { kind: 'idle', batchBytes: () => 1 << 20, send: async () => ({ ok: false, error: 'idle' }), probe: async () => ({ ok: false, error: 'idle' }), close: async () => {} }

function logger (dir: string, extra: Record<string, unknown>): DecisionLogger {
  return new DecisionLogger({
    spool_dir: dir, sinks: ['console'], max_bytes: 2 * 1024 ** 3, min_delay_seconds: 3600, max_delay_seconds: 3600, ...extra,
  }, { sink: idleSink })
}

const contenders: Contender[] = [
  {
    name: 'build+seal only',
    setup: async () => {
      const build = compileEventBuilder({ labels: { id: 'bench', version: '0' }, eraseHeaders: ['authorization', 'proxy-authorization', 'cookie', 'set-cookie'] })
      let head = GENESIS
      return {
        record: (d) => { const e = sealEvent(build(d).event as never, head.seq + 1, head.hash); head = { seq: e.seq, hash: e.hash } },
        finish: async () => {},
      }
    },
  },
  ...([['group, fsync interval', 'group', 'interval'], ['group, fsync always', 'group', 'always'], ['sync, fsync never', 'sync', 'never'],
    ['sync, fsync interval', 'sync', 'interval'], ['batched, interval', 'batched', 'interval']] as const)
    .map(([name, mode, fsync]): Contender => ({
      name,
      setup: async (dir) => {
        const lg = logger(dir, { write_mode: mode, fsync })
        await lg.start()
        return {
          record: (d) => { lg.record(d) },
          // group/batched: the deferred write is part of the cost, so the run ends after it.
          finish: async () => { await lg.written(); await lg.stop(0) },
        }
      },
    })),
  {
    name: 'sync, fsync always',
    events: 500,
    setup: async (dir) => {
      const lg = logger(dir, { write_mode: 'sync', fsync: 'always' })
      await lg.start()
      return { record: (d) => { lg.record(d) }, finish: async () => { await lg.stop(0) } }
    },
  },
]

function decision (i: number): DecisionEventInput {
  return {
    path: 'envoy/authz/allow',
    requested_by: `10.0.0.${i % 250}:${40000 + (i % 20000)}`,
    eval_ns: 41000 + (i % 997),
    total_ns: 88000 + (i % 991),
    bundles: { authz: { revision: 'rev-2024-05-01T12:00:00Z' } },
    input: {
      attributes: {
        request: {
          http: {
            id: `req-${i}`, method: 'GET', path: `/v1/accounts/${i}/transactions?limit=50&cursor=abc${i}`,
            host: 'api.internal', scheme: 'http', protocol: 'HTTP/1.1',
            headers: {
              authorization: 'Bearer eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl', cookie: 'session=abc; theme=dark',
              accept: 'application/json', 'accept-encoding': 'gzip, br', 'user-agent': 'svc-client/3.2.1',
              'x-request-id': `req-${i}`, 'x-tenant': 'acme', 'x-forwarded-for': '203.0.113.9',
              traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01', host: 'api.internal',
              'content-type': 'application/json', 'cache-control': 'no-cache', 'x-client-version': '3.2.1', via: '1.1 lb',
            },
          },
        },
        source: { address: '10.0.0.7:51234' },
        destination: { address: '127.0.0.1:8080' },
      },
      parsed_path: ['v1', 'accounts', String(i), 'transactions'],
      parsed_query: Object.assign(Object.create(null) as object, { limit: ['50'], cursor: [`abc${i}`] }), // null prototype, as the proxy builds it
      identity: { sub: 'alice', roles: ['reader', 'billing'], tenant: 'acme' },
    },
    result: { allow: true, headers: { 'x-authz': 'ok' }, cache_ttl: 30, reason: 'reader may list transactions' },
  }
}

interface Row { meanUs: number; busyUs: number; p50Us: number; p99Us: number; stallMs: number }

async function runContender (c: Contender): Promise<Row> {
  const n = c.events ?? EVENTS
  const inputs = Array.from({ length: n }, (_, i) => decision(i))
  const means: number[] = []
  const busys: number[] = []
  const p50s: number[] = []
  const p99s: number[] = []
  const stalls: number[] = []
  for (let run = 0; run < RUNS + 1; run++) { // run 0 warms up
    const dir = mkdtempSync(join(os.tmpdir(), 'bouncer-bench-spool-'))
    try {
      const { record, finish } = await c.setup(dir)
      const single = new Float64Array(n)
      const elu0 = performance.eventLoopUtilization()
      const t0 = performance.now()
      // The longest wait for the next turn: what the writer held the event loop for at once
      // (a write(2) into the page cache can wait for the device: writeback, dirty throttling).
      let stall = 0
      for (let i = 0; i < n; i++) {
        // 64 requests per event-loop turn, as under load: batched mode writes between turns.
        if (i % 64 === 0 && i > 0) {
          const w = performance.now()
          await new Promise(setImmediate)
          stall = Math.max(stall, performance.now() - w)
        }
        const s = performance.now()
        record(inputs[i]!)
        single[i] = performance.now() - s
      }
      await finish()
      const total = performance.now() - t0
      const busy = performance.eventLoopUtilization(elu0).active
      if (run === 0) continue
      means.push((total / n) * 1000)
      busys.push((busy / n) * 1000)
      single.sort()
      p50s.push(single[Math.floor(n * 0.5)]! * 1000)
      p99s.push(single[Math.floor(n * 0.99)]! * 1000)
      stalls.push(stall)
    } finally { rmSync(dir, { recursive: true, force: true }) }
  }
  return { meanUs: median(means), busyUs: median(busys), p50Us: median(p50s), p99Us: median(p99s), stallMs: Math.max(...stalls) }
}

function median (xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.floor(s.length / 2)]!
}

if (values.contender !== undefined) {
  const c = contenders.find((x) => x.name === values.contender)!
  process.stdout.write(JSON.stringify(await runContender(c)) + '\n')
} else {
  const self = fileURLToPath(import.meta.url)
  const rows: Array<Row & { name: string; events: number }> = []
  for (const c of contenders) {
    const r = spawnSync(process.execPath, [...process.execArgv, self, '--contender', c.name, '--events', String(EVENTS), '--runs', String(RUNS)], { encoding: 'utf8' })
    if (r.status !== 0) { process.stderr.write(r.stderr); process.exit(1) }
    rows.push({ name: c.name, events: c.events ?? EVENTS, ...(JSON.parse(r.stdout.trim().split('\n').pop()!) as Row) })
  }
  const slowest = Math.max(...rows.map((r) => r.meanUs))
  const pad = (s: string, n: number): string => s.padEnd(n)
  console.log(`decision log record(): ${RUNS} runs (median), ~1 KB decision, events per run as shown\n`)
  console.log(`${pad('contender', 24)}${pad('events', 9)}${pad('mean µs/op', 13)}${pad('loop busy µs', 14)}${pad('p50 µs', 10)}${pad('p99 µs', 10)}${pad('longest turn ms', 17)}vs slowest`)
  for (const r of rows) {
    console.log(`${pad(r.name, 24)}${pad(String(r.events), 9)}${pad(r.meanUs.toFixed(2), 13)}${pad(r.busyUs.toFixed(2), 14)}${pad(r.p50Us.toFixed(2), 10)}${pad(r.p99Us.toFixed(2), 10)}${pad(r.stallMs.toFixed(2), 17)}${(slowest / r.meanUs).toFixed(1)}x`)
  }
  const cpu = os.cpus()[0]
  console.log(`\n${os.type()} ${os.release()} ${os.arch()}, ${os.cpus().length}x ${cpu?.model ?? '?'}, node ${process.version}, tmpdir ${os.tmpdir()}, load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`)
}
