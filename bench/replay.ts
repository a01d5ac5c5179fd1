// Benchmark: bouncer replay over a spool written by the real DecisionLogger, with the default
// policy (policies/). The events are what the proxy records for that policy: Envoy-shaped inputs
// (identity from a verified token, the authorization header erased by the logger) and the
// decision the compiled policy returned for each. Contenders, each in a fresh process:
//   read + verify        the chain check alone (the floor: JSON.parse + SHA-256 per record)
//   replay (recorded)    the candidate evaluated and compared with the recorded decision
//   replay (--baseline)  candidate and baseline both evaluated
// Replay evaluates a deterministic policy once per distinct projected input (as the decision
// cache would), so the inputs vary as traffic does: 500 subjects, ids in the paths.
//   npx tsx bench/replay.ts [--events 100000] [--spool DIR (kept; reused when it exists)]
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { cpus, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { DecisionLogger } from '../src/decision-log/index.js'
import { loadPolicyFromPath } from '../src/policy/load.js'

const { values } = parseArgs({ options: { events: { type: 'string', default: '100000' }, child: { type: 'string' }, mode: { type: 'string' }, spool: { type: 'string' } } })
const root = fileURLToPath(new URL('..', import.meta.url))
const policies = join(root, 'policies')

if (values.child !== undefined) {
  const t0 = performance.now()
  const c0 = process.cpuUsage()
  let n = 0
  let pass = 0
  let passCpu = 0
  let evaluations = 0
  if (values.mode === 'read') {
    const { readDecisions } = await import('../src/replay/records.js')
    const p0 = performance.now()
    const pc = process.cpuUsage()
    await readDecisions([values.child], () => { n++ })
    pass = (performance.now() - p0) / 1000
    const u = process.cpuUsage(pc)
    passCpu = (u.user + u.system) / 1e6
  } else {
    const { replay } = await import('../src/replay/index.js')
    const r = await replay({ logs: [values.child], policy: policies, ...(values.mode === 'baseline' ? { baseline: policies } : {}) })
    n = r.totals.evaluated
    pass = r.seconds
    passCpu = r.cpu_seconds
    evaluations = r.evaluations.candidate + r.evaluations.baseline
    if (r.totals.changed + r.input_incomplete.changed !== 0) throw new Error('the same policy changed decisions')
  }
  // seconds: the whole command (module loading and compiling policies/ included); pass: the
  // read-verify-evaluate pass alone.
  const s = (performance.now() - t0) / 1000
  const c = process.cpuUsage(c0)
  process.stdout.write(JSON.stringify({ events: n, seconds: s, pass, passCpu, evaluations, cpuSeconds: (c.user + c.system) / 1e6 }) + '\n')
  process.exit(0)
}

const EVENTS = Number(values.events)
const dir = mkdtempSync(join(tmpdir(), 'bouncer-bench-replay-'))
process.on('exit', () => rmSync(dir, { recursive: true, force: true }))

const ROUTES: Array<[string, string[]]> = [
  ['GET', ['v1', 'products']], ['GET', ['v1', 'customers']], ['GET', ['v1', 'customers', '42']], ['POST', ['v1', 'customers']],
  ['GET', ['v1', 'orders']], ['DELETE', ['v1', 'orders', '7']], ['GET', ['health']], ['GET', ['v1', 'admin']],
]
const ROLES = [['admin'], ['support'], ['viewer'], []]

async function writeLog (spool: string, n: number): Promise<void> {
  const policy = await loadPolicyFromPath(policies, 'bouncer/decision')
  const never = { kind: 'none', batchBytes: () => 1 << 20, send: async () => ({ ok: false as const, error: 'down' }), probe: async () => ({ ok: false as const, error: 'down' }), close: async () => {} }
  const lg = new DecisionLogger({ spool_dir: spool, sinks: ['console'], write_mode: 'batched', max_bytes: 8 * 1024 ** 3, segment_max_bytes: 16 * 1024 ** 2, min_delay_seconds: 3600, max_delay_seconds: 3600 }, { sink: never })
  await lg.start()
  for (let i = 0; i < n; i++) {
    const [method, route] = ROUTES[i % ROUTES.length]!
    const parsed = route.length === 3 ? [route[0]!, route[1]!, String(i % 9973)] : route
    const roles = ROLES[(i >> 3) % ROLES.length]!
    const anonymous = i % 13 === 0
    const input = {
      attributes: {
        request: { http: { id: `req-${i}`, method, path: '/' + parsed.join('/'), host: 'api.internal', scheme: 'http', protocol: 'HTTP/1.1', headers: { accept: '*/*', authorization: 'Bearer x', 'user-agent': 'bench', 'x-tenant': i % 17 === 0 ? 'globex' : 'acme' } } }, // security-gate: allow-secret
        source: { address: '10.0.0.7:51234' },
        destination: { address: '127.0.0.1:8080' },
      },
      parsed_path: parsed,
      parsed_query: {},
      ...(anonymous ? { identity_error: 'missing' } : { identity: { sub: `user-${i % 500}`, tenant: 'acme', roles, iss: 'https://idp', aud: 'api' } }),
    }
    lg.record({ decision_id: `d-${i}`, path: 'bouncer/decision', input, result: policy.evaluate(input), bundles: policy.bundles, eval_ns: 20_000 })
    if (i % 5000 === 4999) await lg.written()
  }
  await lg.stop(0)
}

const self = fileURLToPath(import.meta.url)
const spool = values.spool ?? join(dir, 'spool')
if (!existsSync(spool)) await writeLog(spool, EVENTS)
const results: Array<{ name: string; events: number; seconds: number; pass: number; passCpu: number; evaluations: number; cpuSeconds: number }> = []
for (const [name, mode] of [['read + verify (no evaluation)', 'read'], ['replay, recorded baseline', 'recorded'], ['replay, --baseline (2 evaluations)', 'baseline']] as const) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', self, '--child', spool, '--mode', mode], { encoding: 'utf8' })
  if (r.status !== 0) throw new Error(r.stderr)
  results.push({ name, ...JSON.parse(r.stdout) as { events: number; seconds: number; pass: number; passCpu: number; evaluations: number; cpuSeconds: number } })
}
const slowest = Math.min(...results.map((r) => r.events / r.passCpu))
const rows = [['contender', 'events', 'command s', 'events/s (command)', 'pass s', 'events/s (pass)', 'events per CPU-s (pass)', 'vs slowest (CPU)', 'policy evaluations'],
  ...results.map((r) => [r.name, String(r.events), r.seconds.toFixed(2), Math.round(r.events / r.seconds).toLocaleString('en-US'),
    r.pass.toFixed(2), Math.round(r.events / r.pass).toLocaleString('en-US'), Math.round(r.events / r.passCpu).toLocaleString('en-US'), `${(r.events / r.passCpu / slowest).toFixed(2)}×`, String(r.evaluations)])]
const w = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)))
for (const r of rows) console.log(r.map((c, i) => i === 0 ? c.padEnd(w[i]!) : c.padStart(w[i]!)).join('  '))
console.log(`\ntarget: >= 20,000 events/s for the default policy (replay, recorded baseline). "command" includes loading modules and compiling policies/; "pass" is the read-verify-evaluate pass; per CPU-second is the figure to compare on a busy machine.`)
console.log(`node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? '?'}, load average ${loadavg().map((x) => x.toFixed(2)).join(' ')} (a shared machine: compare rows, not runs)`)
