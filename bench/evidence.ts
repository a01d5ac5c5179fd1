// Benchmark: bouncer evidence over a large log — events per second and peak RSS, for two
// period lengths, so "memory bounded regardless of period length" shows as two similar RSS
// figures. The log is written first by the real DecisionLogger (batched writes into a spool
// that is never delivered), then each report is built in a fresh process, read on one thread
// and with the reading thread (EvidenceOptions.parallel; the default for large input), from the
// spool and from the same log as gzip'd upload bodies (JSON arrays of 1,000 records, as the
// control plane receives them).
//   npx tsx bench/evidence.ts [--events 200000] [--subjects 500]
import { spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { cpus, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { gzipSync } from 'node:zlib'
import { DecisionLogger } from '../src/decision-log/index.js'

const { values } = parseArgs({ options: { events: { type: 'string', default: '200000' }, subjects: { type: 'string', default: '500' }, child: { type: 'string' }, parallel: { type: 'string', default: '1' } } })

if (values.child !== undefined) {
  // one measurement: build the report over the spool, print JSON
  const { buildEvidence } = await import('../src/evidence/index.js')
  let peak = 0
  const iv = setInterval(() => { peak = Math.max(peak, process.memoryUsage().rss) }, 20)
  const t0 = performance.now()
  const c0 = process.cpuUsage()
  const r = await buildEvidence({ logs: [values.child], parallel: values.parallel === '1' })
  const s = (performance.now() - t0) / 1000
  const c = process.cpuUsage(c0)
  clearInterval(iv)
  peak = Math.max(peak, process.memoryUsage().rss)
  process.stdout.write(JSON.stringify({ records: r.integrity.records_checked, seconds: s, cpuSeconds: (c.user + c.system) / 1e6, peakRss: peak, complete: r.integrity.complete }) + '\n')
  process.exit(0)
}

const EVENTS = Number(values.events)
const SUBJECTS = Number(values.subjects)
const dir = mkdtempSync(join(tmpdir(), 'bouncer-bench-evidence-'))
process.on('exit', () => rmSync(dir, { recursive: true, force: true }))

async function writeLog (spool: string, n: number): Promise<void> {
  const never = { kind: 'none', batchBytes: () => 1 << 20, send: async () => ({ ok: false as const, error: 'down' }), probe: async () => ({ ok: false as const, error: 'down' }), close: async () => {} }
  const lg = new DecisionLogger({ spool_dir: spool, sinks: ['console'], write_mode: 'batched', max_bytes: 8 * 1024 ** 3, segment_max_bytes: 16 * 1024 ** 2, min_delay_seconds: 3600, max_delay_seconds: 3600 }, { sink: never })
  await lg.start()
  const t0 = Date.UTC(2025, 0, 1)
  for (let i = 0; i < n; i++) {
    lg.record({
      path: 'bouncer/decision',
      input: {
        attributes: { request: { http: { id: `req-${i}`, method: i % 5 === 0 ? 'POST' : 'GET', path: `/v1/accounts/${i % 9973}`, host: 'api.internal', headers: { authorization: 'Bearer x', accept: '*/*', 'x-tenant': 'acme' } } }, source: { address: '10.0.0.7:51234' } }, // security-gate: allow-secret
        parsed_path: ['v1', i % 3 === 0 ? 'payments' : 'accounts', String(i % 9973)],
        identity: { sub: `user-${i % SUBJECTS}` },
      },
      result: i % 11 === 0 ? { allow: false, status: 403 } : { allow: true },
      bundles: { main: { revision: `r${Math.floor(i / (n / 4))}` } },
      timestamp_ns: BigInt(t0 + Math.floor(i * (365 * 86_400_000 / n))) * 1_000_000n,
    })
    if (i % 5000 === 4999) await lg.written()
  }
  await lg.stop(0)
}

/** The spool's records as gzip'd upload bodies: one JSON array of 1,000 records per file. */
function toUploads (spool: string, out: string): void {
  mkdirSync(out)
  let batch: string[] = []
  let k = 0
  const flush = (): void => {
    if (batch.length === 0) return
    writeFileSync(join(out, `upload-${String(k++).padStart(6, '0')}.json.gz`), gzipSync('[' + batch.join(',') + ']', { level: 1 }))
    batch = []
  }
  for (const name of readdirSync(spool).filter((f) => f.startsWith('seg-')).sort()) {
    for (const line of readFileSync(join(spool, name), 'utf8').split('\n')) {
      if (line === '') continue
      batch.push(line)
      if (batch.length === 1000) flush()
    }
  }
  flush()
}

const self = fileURLToPath(import.meta.url)
const rows: string[][] = [['events', 'input', 'reading', 'seconds', 'events/s', 'CPU seconds', 'events per CPU-second', 'peak RSS']]
const measure = (n: number, input: string, path: string): void => {
  for (const parallel of ['0', '1']) {
    const r = spawnSync(process.execPath, ['--import', 'tsx', self, '--child', path, '--parallel', parallel], { encoding: 'utf8' })
    if (r.status !== 0) throw new Error(r.stderr)
    const m = JSON.parse(r.stdout) as { records: number; seconds: number; cpuSeconds: number; peakRss: number }
    rows.push([String(m.records), input, parallel === '1' ? '2 threads' : '1 thread', m.seconds.toFixed(2), Math.round(m.records / m.seconds).toLocaleString('en-US'), m.cpuSeconds.toFixed(2),
      Math.round(m.records / m.cpuSeconds).toLocaleString('en-US'), `${Math.round(m.peakRss / 1048576)} MiB`])
  }
}
for (const n of [Math.round(EVENTS / 4), EVENTS]) {
  const spool = join(dir, `spool-${n}`)
  await writeLog(spool, n)
  measure(n, 'spool', spool)
  if (n === EVENTS) {
    const uploads = join(dir, `uploads-${n}`)
    toUploads(spool, uploads)
    measure(n, 'gzip uploads', uploads)
  }
}
const w = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)))
for (const r of rows) console.log(r.map((c, i) => c.padStart(w[i]!)).join('  '))
console.log(`\nnode ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? '?'}, load average ${loadavg().map((x) => x.toFixed(2)).join(' ')} (a shared machine: compare rows, not runs)`)
