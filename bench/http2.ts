// HTTP/2 and gRPC through the bouncer beside a bare HTTP/2 proxy, in one run:
//   npm run bench -- --http2 [--quick] [--rounds N] [--duration S] [--warmup S] [--connections N]
//   npx tsx bench/http2.ts [--quick] [--rounds N] [--duration S] [--warmup S] [--clients N] [--streams N]
//
// Contenders (each its own process, h2c with prior knowledge, loopback only):
//   direct        the gRPC upstream itself (@grpc/grpc-js): the physical limit for gRPC
//   bare          bench/servers/bare-h2-proxy.ts: node:http2 in, undici (plain) or one HTTP/2
//                 session (gRPC) out, no policy: what any Node HTTP/2 proxy pays
//   bouncer       bench/servers/h2-bouncer.ts: the bouncer with JWT verification and the shipped
//                 policy evaluated on every request
// Scenarios: h2 GET /v1/orders/42 (admin token, allowed, forwarded over HTTP/1.1), gRPC unary
// Echo/Unary (allowed, forwarded over HTTP/2), and gRPC unary without a token (denied by the
// bouncer itself: trailers-only UNAUTHENTICATED). Load: h2load (nghttp2-client, installed with
// apt-get when missing), fixed clients × streams, fixed duration after a warm-up; rounds are
// interleaved and medians reported, with ratios against the bare proxy of the same protocol,
// and the answering server's CPU per request (its process group, read from /proc).
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { connect } from 'node:http2'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { parseArgs } from 'node:util'
import { SignJWT } from 'jose'
import { compileDistOnce } from './lib/dist.js'
import { ensureH2load, GRPC_UNARY_BODY, runH2load, type H2Result } from './lib/h2.js'
import { loadAverage, machineFooter, machineInfo } from './lib/machine.js'
import { BENCH_DIR, ROOT_DIR, groupCpuSeconds, killAll, spawnTs, type Child } from './lib/procs.js'
import { JWT_SECRET, TENANT } from './lib/scenarios.js'
import { median } from './lib/timing.js'

interface Target { name: string; protocol: 'h2' | 'grpc'; contender: string; path: string; auth: boolean; expect: { status: number; grpcStatus?: string; header?: string } }

const ORDERS = '/v1/orders/42'
const UNARY = '/bouncer.test.Echo/Unary'

export interface Http2BenchOptions { quick: boolean; rounds?: number; durationS?: number; warmupS?: number; clients?: number; streams?: number }

async function mint (): Promise<string> {
  return await new SignJWT({ tenant: TENANT, roles: ['admin'] })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject('alice').setIssuedAt().setExpirationTime('1h')
    .sign(new TextEncoder().encode(JWT_SECRET))
}

/** The shipped policy, with the admin role also granted the Echo service's unary method. */
function benchPolicy (dir: string): string {
  for (const f of ['policy.rego', 'data.json']) copyFileSync(join(ROOT_DIR, 'policies', f), join(dir, f))
  const data = JSON.parse(readFileSync(join(dir, 'data.json'), 'utf8')) as { bouncer: { permissions: Record<string, unknown[]> } }
  data.bouncer.permissions.admin!.push({ methods: ['POST'], path: ['bouncer.test.Echo', 'Unary'] })
  writeFileSync(join(dir, 'data.json'), JSON.stringify(data, null, 2))
  return dir
}

/** One request with node:http2, to check a contender answers as expected before it is loaded. */
function probe (port: number, t: Target, headers: Record<string, string>): Promise<{ status: number; grpcStatus?: string; header?: string }> {
  return new Promise((resolve, reject) => {
    const s = connect(`http://127.0.0.1:${port}`)
    s.on('error', reject)
    const grpc = t.protocol === 'grpc'
    const st = s.request({ ':method': grpc ? 'POST' : 'GET', ':path': t.path, ...headers }, { endStream: !grpc })
    let status = 0
    let grpcStatus: string | undefined
    let header: string | undefined
    st.on('response', (h) => {
      status = Number(h[':status'])
      if (typeof h['grpc-status'] === 'string') grpcStatus = h['grpc-status']
      if (t.expect.header && typeof h[t.expect.header] === 'string') header = h[t.expect.header] as string
    })
    st.on('trailers', (tr) => { if (typeof tr['grpc-status'] === 'string') grpcStatus = tr['grpc-status'] })
    st.on('error', reject)
    st.on('close', () => { s.close(); resolve({ status, grpcStatus, header }) })
    st.resume()
    if (grpc) st.end(GRPC_UNARY_BODY)
  })
}

export async function runHttp2 (opts: Http2BenchOptions): Promise<void> {
  const rounds = opts.rounds ?? (opts.quick ? 1 : 3)
  const durationS = opts.durationS ?? (opts.quick ? 2 : 5)
  const warmupS = opts.warmupS ?? 1
  const clients = opts.clients ?? 4
  const streams = opts.streams ?? 10
  const h2load = ensureH2load()
  const info = machineInfo(`npm run bench -- --http2${opts.quick ? ' --quick' : ''}`)
  const work = mkdtempSync(join(tmpdir(), 'bouncer-h2bench-'))
  const children: Child[] = []
  try {
    const bodyFile = join(work, 'unary.bin')
    writeFileSync(bodyFile, GRPC_UNARY_BODY)
    const upstream = spawnTs('h2-upstream', join(BENCH_DIR, 'servers', 'h2-upstream.ts'), [])
    children.push(upstream)
    const up = await upstream.message<{ port: number; grpc_port: number }>(['ready'], 30_000)
    const upstreamUrl = `http://127.0.0.1:${up.port}`
    const grpcUrl = `http://127.0.0.1:${up.grpc_port}`
    const bare = spawnTs('bare-h2-proxy', join(BENCH_DIR, 'servers', 'bare-h2-proxy.ts'), ['--upstream', upstreamUrl, '--grpc', grpcUrl])
    compileDistOnce((line) => { console.log(line) })
    const bouncer = spawnTs('h2-bouncer', join(BENCH_DIR, 'servers', 'h2-bouncer.ts'), ['--upstream', upstreamUrl, '--grpc', grpcUrl, '--policy', benchPolicy(mkdtempSync(join(work, 'policy-'))), '--dist'])
    children.push(bare, bouncer)
    const ports: Record<string, number> = {
      direct: up.grpc_port,
      bare: (await bare.message<{ port: number }>(['ready'], 30_000)).port,
      bouncer: (await bouncer.message<{ port: number }>(['ready'], 60_000)).port,
    }
    const token = await mint()
    const targets: Target[] = [
      { name: 'h2-bare', protocol: 'h2', contender: 'bare', path: ORDERS, auth: true, expect: { status: 200 } },
      { name: 'h2-bouncer', protocol: 'h2', contender: 'bouncer', path: ORDERS, auth: true, expect: { status: 200, header: 'x-upstream-saw-subject' } },
      { name: 'grpc-direct', protocol: 'grpc', contender: 'direct', path: UNARY, auth: true, expect: { status: 200, grpcStatus: '0' } },
      { name: 'grpc-bare', protocol: 'grpc', contender: 'bare', path: UNARY, auth: true, expect: { status: 200, grpcStatus: '0' } },
      { name: 'grpc-bouncer', protocol: 'grpc', contender: 'bouncer', path: UNARY, auth: true, expect: { status: 200, grpcStatus: '0' } },
      { name: 'grpc-bouncer-denied', protocol: 'grpc', contender: 'bouncer', path: UNARY, auth: false, expect: { status: 200, grpcStatus: '16' } },
    ]
    const headersOf = (t: Target): Record<string, string> => ({
      'x-tenant': TENANT,
      ...(t.auth ? { authorization: `Bearer ${token}` } : {}),
      ...(t.protocol === 'grpc' ? { 'content-type': 'application/grpc', te: 'trailers' } : {}),
    })
    for (const t of targets) {
      const got = await probe(ports[t.contender]!, t, headersOf(t))
      const ok = got.status === t.expect.status && (t.expect.grpcStatus === undefined || got.grpcStatus === t.expect.grpcStatus) && (t.expect.header === undefined || got.header !== undefined)
      if (!ok) throw new Error(`${t.name}: expected ${JSON.stringify(t.expect)}, got ${JSON.stringify(got)}`)
    }
    console.log(`HTTP/2 and gRPC: h2load -c ${clients} -m ${streams}, ${warmupS} s warm-up + ${durationS} s, ${rounds} round(s) interleaved (medians); every target checked first\n`)
    const results: Record<string, H2Result[]> = Object.fromEntries(targets.map((t) => [t.name, []]))
    // CPU of the server answering (its process group, user + system) per answered request, over
    // the whole h2load run: warm-up included on both sides (h2load's status counts include it).
    // For "direct" that is the upstream process, which then serves the gRPC calls itself.
    const servers: Record<string, Child> = { direct: upstream, bare, bouncer }
    const cpuUs: Record<string, number[]> = Object.fromEntries(targets.map((t) => [t.name, []]))
    for (let r = 0; r < rounds; r++) {
      for (const t of targets) {
        const pgid = servers[t.contender]!.proc.pid!
        const cpu0 = groupCpuSeconds(pgid)
        const res = await runH2load(h2load, {
          url: `http://127.0.0.1:${ports[t.contender]}${t.path}`, clients, streams, durationS, warmupS,
          headers: headersOf(t), ...(t.protocol === 'grpc' ? { dataFile: bodyFile } : {}),
        })
        const cpu1 = groupCpuSeconds(pgid)
        // (h2load's status counts include the warm-up, its request counts do not)
        if (res.failed + res.errored > 0 || res.statusOther > 0 || res.succeeded === 0) throw new Error(`${t.name}: ${res.failed} failed, ${res.errored} errored, ${res.statusOther} not 2xx, ${res.succeeded} succeeded`)
        results[t.name]!.push(res)
        if (cpu0 !== null && cpu1 !== null && res.status2xx > 0) cpuUs[t.name]!.push((cpu1 - cpu0) / res.status2xx * 1e6)
        process.stderr.write(`  round ${r + 1} ${t.name}: ${res.rps.toFixed(0)} req/s\n`)
      }
    }
    for (const c of children) if (c.proc.exitCode !== null) throw new Error(`${c.name} exited during the run:\n${c.tail()}`)
    const med = (name: string, k: keyof H2Result): number => median(results[name]!.map((x) => x[k]))
    const cpuOf = (name: string): number | null => (cpuUs[name]!.length > 0 ? median(cpuUs[name]!) : null)
    console.log('| scenario | req/s | vs bare | mean latency (ms) | max latency (ms) | requests | server CPU µs/req | CPU vs bare |')
    console.log('|---|---:|---:|---:|---:|---:|---:|---:|')
    for (const t of targets) {
      const base = t.protocol === 'h2' ? 'h2-bare' : 'grpc-bare'
      const ratio = med(t.name, 'rps') / med(base, 'rps')
      const cpu = cpuOf(t.name)
      const cpuBase = cpuOf(base)
      console.log(`| ${t.name} | ${med(t.name, 'rps').toFixed(0)} | ${ratio.toFixed(2)}× | ${med(t.name, 'meanMs').toFixed(2)} | ${med(t.name, 'maxMs').toFixed(1)} | ${med(t.name, 'requests').toFixed(0)} | ${cpu === null ? '—' : cpu.toFixed(0)} | ${cpu === null || cpuBase === null ? '—' : (cpu / cpuBase).toFixed(2) + '×'} |`)
    }
    info.load_average_end = loadAverage()
    console.log('\n' + machineFooter(info))
  } finally {
    await Promise.all(children.map((c) => c.stop(2000)))
    killAll()
    rmSync(work, { recursive: true, force: true })
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values: o } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false }, rounds: { type: 'string' }, duration: { type: 'string' },
      warmup: { type: 'string' }, clients: { type: 'string' }, streams: { type: 'string' },
    },
  })
  const n = (v: string | undefined): number | undefined => (v === undefined ? undefined : Number(v))
  try {
    await runHttp2({ quick: o.quick, rounds: n(o.rounds), durationS: n(o.duration), warmupS: n(o.warmup), clients: n(o.clients), streams: n(o.streams) })
  } catch (e) {
    console.error(`bench: ${(e as Error).message}`)
    process.exitCode = 1
  }
}
