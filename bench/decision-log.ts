// Benchmark: what the whole decision-log pipeline costs per event — record() (event, erasure,
// hash chain), the spool (writes, fsync, state.json) and delivery (read back, gzip, POST to a
// control plane) — side by side for each write_mode.
//   npx tsx bench/decision-log.ts [--events 20000] [--runs 2]
// The control plane is the suite's stub (bench/servers/control-plane.ts) in its own process, so
// its CPU is not counted. Events come 4 per event-loop turn, one turn per millisecond (about
// 4,000 events/s, like a busy proxy whose turns each hold a few requests); the run ends when
// the control plane has everything. Reported per event: CPU of this process (user+system, the
// thread pool included) and event-loop busy time (what a proxy loses in throughput), medians
// over runs. The harness itself (turns, timers, building inputs) is in every row: compare rows.
// `record() µs/event` is the time inside record() calls alone — what the request path waits
// for (in group and batched modes the event is built, erased and sealed by the spool's writer
// at the end of the turn: that work is in the CPU column, not in record()).
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { DecisionLogger, type DecisionEventInput } from '../src/decision-log/index.js'
import { BENCH_DIR, spawnTs } from './lib/procs.js'

const { values } = parseArgs({ options: { events: { type: 'string', default: '20000' }, runs: { type: 'string', default: '2' }, mode: { type: 'string' }, help: { type: 'boolean', short: 'h' } } })
if (values.help === true) {
  console.log(`npx tsx bench/decision-log.ts [--events N] [--runs N] [--mode group|sync|batched]

CPU of the whole decision-log pipeline per event (record, spool, read back, gzip, POST to the
suite's control-plane stub in its own process), for each write_mode in a fresh process.
  --events N   events per run (default 20000; 4 per event-loop turn, one turn per millisecond)
  --runs N     runs per mode, median reported (default 2)
  --mode M     run one mode in this process and print its row as JSON (what the driver spawns)`)
  process.exit(0)
}
const EVENTS = Number(values.events)
const RUNS = Number(values.runs)
const MODES = ['group', 'sync', 'batched'] as const

function decision (i: number): DecisionEventInput {
  return {
    path: 'bouncer/decision', decision_id: `d-${i}-${Math.random().toString(36).slice(2)}`,
    eval_ns: 41000 + (i % 997), total_ns: 88000 + (i % 991), requested_by: `127.0.0.1:${40000 + (i % 20000)}`,
    input: {
      attributes: {
        request: { http: {
          id: `req-${i}`, method: 'GET', path: `/v1/accounts/${i}`, host: 'api.internal', scheme: 'http', protocol: 'HTTP/1.1',
          headers: { authorization: 'Bearer x', accept: '*/*', 'user-agent': 'autocannon', host: '127.0.0.1:8080', 'x-tenant': 'acme' }, // security-gate: allow-secret
        } },
        source: { address: `127.0.0.1:${40000 + (i % 20000)}` },
        destination: { address: '127.0.0.1:8080' },
      },
      parsed_path: ['v1', 'accounts', String(i)], parsed_query: Object.create(null) as object, identity: { sub: 'alice', tenant: 'acme', roles: ['reader'] },
    },
    result: { allow: true, reason: 'reader' },
  }
}

async function runOnce (mode: typeof MODES[number], url: string): Promise<{ cpuUs: number; busyUs: number; recordUs: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'bouncer-bench-dl-'))
  try {
    const lg = new DecisionLogger({ spool_dir: dir, service_url: url, min_delay_seconds: 1, write_mode: mode })
    await lg.start()
    const inputs = Array.from({ length: EVENTS }, (_, i) => decision(i))
    const elu0 = performance.eventLoopUtilization()
    const cpu0 = process.cpuUsage()
    let inRecord = 0n
    for (let i = 0; i < EVENTS; i++) {
      const t0 = process.hrtime.bigint()
      lg.record(inputs[i]!)
      inRecord += process.hrtime.bigint() - t0
      if (i % 4 === 3) await new Promise((resolve) => setTimeout(resolve, 1))
    }
    await lg.written()
    while (lg.status().pending_events > 0) await new Promise((resolve) => setTimeout(resolve, 20))
    const cpu = process.cpuUsage(cpu0)
    const busy = performance.eventLoopUtilization(elu0).active
    if (lg.status().delivered !== EVENTS) throw new Error(`${mode}: delivered ${lg.status().delivered} of ${EVENTS}`)
    await lg.stop(1000)
    return { cpuUs: (cpu.user + cpu.system) / EVENTS, busyUs: (busy * 1000) / EVENTS, recordUs: Number(inRecord) / 1000 / EVENTS }
  } finally { rmSync(dir, { recursive: true, force: true }) }
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

if (values.mode !== undefined) {
  // One mode in a fresh process (no JIT or page-cache help from the previous mode).
  const cp = spawnTs('control-plane', join(BENCH_DIR, 'servers', 'control-plane.ts'), [])
  const { port } = await cp.message<{ port: number }>(['ready'], 15000)
  const rows: Array<{ cpuUs: number; busyUs: number; recordUs: number }> = []
  for (let r = 0; r < RUNS; r++) rows.push(await runOnce(values.mode as typeof MODES[number], `http://127.0.0.1:${port}`))
  await cp.stop(1000)
  process.stdout.write(JSON.stringify({ cpuUs: median(rows.map((x) => x.cpuUs)), busyUs: median(rows.map((x) => x.busyUs)), recordUs: median(rows.map((x) => x.recordUs)) }) + '\n')
  process.exit(0)
}

const self = fileURLToPath(import.meta.url)
console.log(`decision-log pipeline: ${EVENTS} events per run, ${RUNS} run(s) per mode (median), delivered to a local control plane\n`)
console.log(`${'write_mode'.padEnd(12)}${'CPU µs/event'.padEnd(15)}${'loop busy µs/event'.padEnd(20)}${'record() µs/event'.padEnd(18)}`)
for (const mode of MODES) {
  const r = spawnSync(process.execPath, [...process.execArgv, self, '--mode', mode, '--events', String(EVENTS), '--runs', String(RUNS)], { encoding: 'utf8' })
  if (r.status !== 0) { process.stderr.write(r.stderr); process.exit(1) }
  const row = JSON.parse(r.stdout.trim().split('\n').pop()!) as { cpuUs: number; busyUs: number; recordUs: number }
  console.log(`${mode.padEnd(12)}${row.cpuUs.toFixed(1).padEnd(15)}${row.busyUs.toFixed(1).padEnd(20)}${row.recordUs.toFixed(2).padEnd(18)}`)
}
