// The benchmark suite: the bouncer against a bare proxy and the physical limit, side by side.
//
//   npm run bench                          every scenario + micro-benchmarks (~10 min)
//   npm run bench -- --quick               shorter runs, same contenders (~3 min)
//   npm run bench -- --json FILE           also write the results document
//   npm run bench -- --soak SECONDS        steady load on one bouncer, RSS every 10 s, slope
//   npm run bench -- --profile A,B         CPU profiles at one fixed rate: where the time goes
//   npm run bench -- --results             write bench/results.json, bench/chart.svg, bench/RESULTS.md
//   npm run bench -- --startup [--runs N]  cold start to /readyz and idle RSS: dist/ vs tsx (bench/startup.ts)
//   npm run bench -- --port-server [--runs N]  the proxy port's server alone: node:http vs Fastify (bench/port-server.ts)
//   npm run bench -- --http2 [--quick]     HTTP/2 and gRPC: the bouncer beside a bare HTTP/2 proxy, h2load (bench/http2.ts)
//
// Every server runs in its own process (its own process group), the load generator
// (autocannon) in another; all scenarios get the same connections, warm-up and duration.
// Ratios are taken against the bare proxy of the same run: on a shared machine absolute
// numbers are noise, ratios measured together are not. Only loopback addresses are used,
// every load is bounded in time, and every child is killed on exit, error or signal.
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { SignJWT } from 'jose'
import type { LoadResult, LoadSpec } from './loadgen.js'
import { compileDistOnce } from './lib/dist.js'
import { loadAverage, machineFooter, machineInfo } from './lib/machine.js'
import { emptyMicro, runMicro } from './lib/micro.js'
import { findNginx, startNginx } from './lib/nginx.js'
import { createMemoryCgroup, inCgroup, type MemoryCgroup } from './lib/cgroup.js'
import { BENCH_DIR, freePort, groupCpuSeconds, groupRssMb, killAll, sampleRss, spawnChild, spawnTs, waitForPort, type Child, type SpawnChildOptions } from './lib/procs.js'
import { findProfile, profileText, summariseProfile } from './lib/profile.js'
import {
  computeRatios, computeTargets, halfRateTable, microTable, scenarioTable, targetTable,
  type BenchResults, type HalfRate, type ProfileSummary, type ScenarioResult, type SoakResult,
} from './lib/report.js'
import { BASELINE, JWT_SECRET, SCENARIOS, TENANT, type Scenario } from './lib/scenarios.js'
import { median, slope } from './lib/timing.js'

const USAGE = `usage: npm run bench -- [options]
  --quick                 short runs (3 s measured, 1 s warm-up), micro-benchmarks trimmed
  --json FILE             write the results document (JSON) to FILE
  --results               update bench/results.json (the part this run measured: suite, soak or
                          profiles), bench/chart.svg and bench/RESULTS.md
  --scenarios a,b,...     only these scenarios (bare-proxy is always added: ratios need it)
  --duration S            measured seconds per scenario (default 10, quick 3)
  --warmup S              warm-up seconds per scenario (default 3, quick 1)
  --connections N         concurrent connections (default 32)
  --rounds N              rounds, interleaved; medians are reported (default 2, quick 1)
  --no-micro              skip the micro-benchmarks
  --no-half-rate          skip the fixed-rate latency runs (½ of bare-proxy max RPS)
  --soak SECONDS          soak mode: steady load on --soak-scenario, RSS sampled every 10 s
  --soak-scenario NAME    default bouncer-logs (bouncer-eval when logs are unavailable)
  --soak-memory-limit MB  run the soaked bouncer in a memory cgroup of MB (root; e.g. 384, the Helm
                          chart's limit): V8 then sizes its heap from the limit, as in the pod
  --bouncer-node-flags F  node flags for the bouncer processes only (space-separated, e.g.
                          "--max-semi-space-size=16"): an A/B of a V8 setting without giving it
                          to the bare proxy, the upstream or the load generator
  --profile A,B,...       CPU-profile these scenarios (bare-proxy / bouncer-*) at one fixed rate and
                          print where the time goes, in µs per request, side by side (bouncers run
                          dist/, compiled first; functions at their src/*.ts line via tsc's source maps)
  --rate R                request rate for --profile (default 500 req/s)
  --startup               cold start to /readyz 200 and idle RSS with the shipped policy, dist/ vs tsx
  --runs N                starts per contender for --startup (default 5), runs for --port-server (default 3)
  --port-server           CPU per request of the proxy port's server alone: node:http vs Fastify
  --http2                 HTTP/2 (h2c) and gRPC unary through the bouncer beside a bare HTTP/2 proxy and the
                          gRPC upstream itself, with h2load (apt-get install nghttp2-client when missing);
                          --quick, --rounds, --duration, --warmup, --connections (h2load clients) apply`

const { values: opt } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    json: { type: 'string' },
    results: { type: 'boolean', default: false },
    scenarios: { type: 'string' },
    duration: { type: 'string' },
    warmup: { type: 'string' },
    connections: { type: 'string' },
    rounds: { type: 'string' },
    'no-micro': { type: 'boolean', default: false },
    'no-half-rate': { type: 'boolean', default: false },
    soak: { type: 'string' },
    'soak-scenario': { type: 'string' },
    'soak-memory-limit': { type: 'string' },
    'bouncer-node-flags': { type: 'string' },
    profile: { type: 'string' },
    rate: { type: 'string' },
    startup: { type: 'boolean', default: false },
    'port-server': { type: 'boolean', default: false },
    http2: { type: 'boolean', default: false },
    runs: { type: 'string' },
    help: { type: 'boolean', default: false },
  },
  allowPositionals: false,
})
if (opt.help) { console.log(USAGE); process.exit(0) }
if (opt.startup) {
  const { runStartup } = await import('./startup.js')
  await runStartup(Number(opt.runs ?? 5))
  process.exit(0)
}
if (opt.http2) {
  const { runHttp2 } = await import('./http2.js')
  await runHttp2({
    quick: opt.quick,
    ...(opt.rounds ? { rounds: Number(opt.rounds) } : {}),
    ...(opt.duration ? { durationS: Number(opt.duration) } : {}),
    ...(opt.warmup ? { warmupS: Number(opt.warmup) } : {}),
    ...(opt.connections ? { clients: Number(opt.connections) } : {}),
  })
  process.exit(0)
}
if (opt['port-server']) {
  const { runPortServer } = await import('./port-server.js')
  await runPortServer(Number(opt.runs ?? 3))
  process.exit(0)
}

const num = (v: string | undefined, dflt: number, what: string): number => {
  if (v === undefined) return dflt
  const n = Number(v)
  if (!Number.isFinite(n) || n <= 0) { console.error(`--${what} must be a positive number\n${USAGE}`); process.exit(2) }
  return n
}
const quick = opt.quick
const settings = {
  connections: Math.round(num(opt.connections, 32, 'connections')),
  duration_s: num(opt.duration, quick ? 3 : 10, 'duration'),
  warmup_s: opt.warmup === '0' ? 0 : num(opt.warmup, quick ? 1 : 3, 'warmup'),
  rounds: Math.round(num(opt.rounds, quick ? 1 : 2, 'rounds')),
  quick,
}
const log = (s: string) => process.stderr.write(s + '\n')
const command = `npm run bench${process.argv.length > 2 ? ' -- ' + process.argv.slice(2).join(' ') : ''}`

// --- shared environment: temp dir, upstream, tokens, optional Redis / control plane -------

const work = mkdtempSync(join(tmpdir(), 'bouncer-bench-'))
process.on('exit', () => { killAll(); rmSync(work, { recursive: true, force: true }) })

interface Env {
  upstream: Child
  upstreamPort: number
  tokens: Record<Scenario['caller'], string>
  redis?: { url: string } | { skip: string }
  controlPlane?: { url: string } | { skip: string }
}

async function mint (sub: string, roles: string[]): Promise<string> {
  return await new SignJWT({ tenant: TENANT, roles })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(sub).setIssuedAt().setExpirationTime('4h')
    .sign(new TextEncoder().encode(JWT_SECRET))
}

async function startEnv (): Promise<Env> {
  const upstream = spawnTs('upstream', join(BENCH_DIR, 'servers', 'upstream.ts'), [])
  const ready = await upstream.message<{ port: number }>(['ready'], 30_000)
  return { upstream, upstreamPort: ready.port, tokens: { admin: await mint('alice', ['admin']), support: await mint('bob', ['support']) } }
}

async function ensureRedis (env: Env): Promise<void> {
  if (env.redis) return
  const port = await freePort()
  const c = spawnChild('redis-server', 'redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--protected-mode', 'yes'])
  try {
    await Promise.race([waitForPort(port, 10_000), c.exited.then((code) => { throw new Error(`redis-server exited (${code}): ${c.tail() || 'not installed?'}`) })])
    env.redis = { url: `redis://127.0.0.1:${port}` }
  } catch (e) {
    await c.stop()
    env.redis = { skip: `redis-server could not be started (${(e as Error).message.split('\n')[0]})` }
  }
}

async function ensureControlPlane (env: Env): Promise<void> {
  if (env.controlPlane) return
  const c = spawnTs('control-plane', join(BENCH_DIR, 'servers', 'control-plane.ts'), [])
  try {
    const r = await c.message<{ port: number }>(['ready'], 30_000)
    env.controlPlane = { url: `http://127.0.0.1:${r.port}` }
  } catch (e) {
    env.controlPlane = { skip: `control-plane stub did not start: ${(e as Error).message.split('\n')[0]}` }
  }
}

// --- one server --------------------------------------------------------------------------

type Started = { port: number; child: Child; rssGroup: number; adminPort?: number } | { skip: string } | { failed: string }

/** `dist`: a bouncer runs the compiled dist/ rather than src/ through tsx (every mode does). */
// --bouncer-node-flags: for the bouncer processes only.
const BOUNCER_NODE_FLAGS: readonly string[] = (opt['bouncer-node-flags'] ?? '').split(/\s+/).filter((f) => f !== '')
if (BOUNCER_NODE_FLAGS.some((f) => !f.startsWith('--'))) { console.error(`--bouncer-node-flags: every flag starts with "--": ${opt['bouncer-node-flags']}`); process.exit(2) }

async function startServer (s: Scenario, env: Env, nodeArgs: string[] = [], dist = false, wrap?: SpawnChildOptions['wrap']): Promise<Started> {
  const upstreamUrl = `http://127.0.0.1:${env.upstreamPort}`
  switch (s.kind) {
    case 'upstream':
      return { port: env.upstreamPort, child: env.upstream, rssGroup: env.upstream.pid }
    case 'bare-proxy': {
      const c = spawnTs(s.name, join(BENCH_DIR, 'servers', 'bare-proxy.ts'), ['--upstream', upstreamUrl], { nodeArgs })
      const m = await c.message<{ type: string; port?: number; message?: string }>(['ready', 'error'], 60_000)
      if (m.type !== 'ready') { await c.stop(); return { failed: m.message ?? 'did not start' } }
      return { port: m.port!, child: c, rssGroup: c.pid }
    }
    case 'nginx': {
      const n = findNginx(log)
      if (!n.bin) return { skip: n.reason! }
      const port = await freePort()
      const dir = mkdtempSync(join(work, 'nginx-'))
      try {
        const c = await startNginx(n.bin, dir, port, env.upstreamPort)
        return { port, child: c, rssGroup: c.pid }
      } catch (e) { return { failed: (e as Error).message.split('\n').slice(0, 3).join(' ') } }
    }
    case 'bouncer': {
      const args = ['--scenario', s.name, '--upstream', upstreamUrl, ...(dist ? ['--dist'] : [])]
      if (s.needs.includes('redis')) {
        await ensureRedis(env)
        if ('skip' in env.redis!) return { skip: env.redis.skip }
        args.push('--redis', env.redis!.url)
      }
      if (s.needs.includes('control-plane')) {
        await ensureControlPlane(env)
        if ('skip' in env.controlPlane!) return { skip: env.controlPlane.skip }
        args.push('--control-plane', env.controlPlane!.url, '--spool', mkdtempSync(join(work, 'spool-')))
      }
      const c = spawnTs(s.name, join(BENCH_DIR, 'servers', 'bouncer.ts'), args, { nodeArgs: [...BOUNCER_NODE_FLAGS, ...nodeArgs], wrap })
      let m: { type: string; port?: number; admin_port?: number; reason?: string; message?: string }
      try { m = await c.message(['ready', 'skip', 'error'], 90_000) } catch (e) { await c.stop(); return { failed: (e as Error).message.split('\n').slice(0, 4).join(' | ') } }
      if (m.type === 'skip') { await c.stop(); return { skip: m.reason ?? 'feature unavailable' } }
      if (m.type === 'error') { await c.stop(); return { failed: (m.message ?? 'did not start').split('\n')[0]! } }
      return { port: m.port!, child: c, rssGroup: c.pid, ...(m.admin_port !== undefined ? { adminPort: m.admin_port } : {}) }
    }
  }
}

async function stopServer (st: Started, env: Env): Promise<void> {
  if ('child' in st && st.child !== env.upstream) await st.child.stop()
}

/** One request, checked against what the scenario should answer. */
async function check (s: Scenario, port: number, env: Env): Promise<string | undefined> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}${s.path}`, { headers: requestHeaders(s, env), signal: AbortSignal.timeout(10_000) })
    const body = await res.text()
    const e = s.expect
    if (res.status !== e.status) return `answered ${res.status} instead of ${e.status}: ${body.slice(0, 160)}`
    if (e.header && !res.headers.has(e.header)) return `answer lacks the ${e.header} header`
    if (e.bodyIncludes && !body.includes(e.bodyIncludes)) return `answer does not contain ${e.bodyIncludes}`
    if (e.bodyExcludes && body.includes(e.bodyExcludes)) return `answer still contains ${e.bodyExcludes} (not masked)`
    return undefined
  } catch (e) { return `request failed: ${(e as Error).message}` }
}

function requestHeaders (s: Scenario, env: Env): Record<string, string> {
  return { authorization: `Bearer ${env.tokens[s.caller]}`, 'x-tenant': TENANT, accept: 'application/json' }
}

interface LoadOutcome { result?: LoadResult; rssPeak: number | null; rssSamples: number[]; error?: string; window?: [number, number]; cpuSeconds?: number | null }

async function drive (port: number, s: Scenario, env: Env, rssGroup: number, spec: Partial<LoadSpec>, onTick?: () => void): Promise<LoadOutcome> {
  const full: LoadSpec = {
    url: `http://127.0.0.1:${port}${s.path}`,
    connections: settings.connections,
    duration: settings.duration_s,
    warmup: settings.warmup_s,
    headers: requestHeaders(s, env),
    ...spec,
  }
  const lg = spawnTs('loadgen', join(BENCH_DIR, 'loadgen.ts'), ['--spec', JSON.stringify(full)])
  const limit = (full.warmup + full.duration + 30) * 1000
  const killer = setTimeout(() => { void lg.stop(500) }, limit)
  let sampler: ReturnType<typeof sampleRss> | undefined
  let tick: NodeJS.Timeout | undefined
  try {
    const first = await lg.message<{ type: string; message?: string }>(['measure', 'error'], (full.warmup + 30) * 1000)
    if (first.type === 'error') return { rssPeak: null, rssSamples: [], error: first.message }
    const from = Number(process.hrtime.bigint() / 1000n)
    const cpu0 = groupCpuSeconds(rssGroup)
    sampler = sampleRss(rssGroup, 250)
    if (onTick) tick = setInterval(onTick, 1000)
    const m = await lg.message<{ type: string; result?: LoadResult; message?: string }>(['result', 'error'], limit)
    if (m.type === 'error') return { rssPeak: sampler.stop(), rssSamples: sampler.samples, error: m.message }
    const cpu1 = groupCpuSeconds(rssGroup)
    return {
      result: m.result, rssPeak: sampler.stop(), rssSamples: sampler.samples, window: [from, Number(process.hrtime.bigint() / 1000n)],
      cpuSeconds: cpu0 !== null && cpu1 !== null ? cpu1 - cpu0 : null,
    }
  } catch (e) {
    return { rssPeak: sampler?.stop() ?? null, rssSamples: sampler?.samples ?? [], error: (e as Error).message.split('\n')[0] }
  } finally {
    clearTimeout(killer)
    if (tick) clearInterval(tick)
    await lg.stop(500)
  }
}

/** Start → check → load → stop, for one scenario and one round. */
async function runOnce (s: Scenario, env: Env, spec: Partial<LoadSpec> = {}): Promise<ScenarioResult & { rssGroup?: number }> {
  const empty = { rps: null, p50_ms: null, p99_ms: null, rss_mb: null, description: s.description }
  // Bouncers run the compiled dist/, as bin/bouncer.js does in production: under tsx, esbuild's
  // keepNames wraps every named closure in a __name() call (an Object.defineProperty per closure
  // made per request: ~2.5 us of an HTTP/2 request's CPU in an h2load profile, 2026-12-04).
  const st = await startServer(s, env, [], true)
  if ('skip' in st) return { ...empty, skipped: st.skip }
  if ('failed' in st) return { ...empty, failed: st.failed }
  try {
    const bad = await check(s, st.port, env)
    if (bad) return { ...empty, failed: bad }
    const o = await drive(st.port, s, env, st.rssGroup, spec)
    if (!o.result) return { ...empty, failed: o.error ?? 'load generator failed' }
    const r = o.result
    r.non2xx = Math.max(r.non2xx, Object.entries(r.statuses ?? {}).reduce((a, [code, n]) => a + (code.startsWith('2') ? 0 : n), 0))
    const out: ScenarioResult = {
      rps: r.rps, p50_ms: r.p50_ms, p99_ms: r.p99_ms, rss_mb: o.rssPeak, non2xx: r.non2xx, errors: r.errors + r.timeouts, description: s.description,
      cpu_us_per_req: o.cpuSeconds != null && r.requests > 0 ? (o.cpuSeconds * 1e6) / r.requests : null,
    }
    if (r.requests === 0) out.failed = 'no responses'
    else if ((r.non2xx + r.errors + r.timeouts) / (r.requests + r.errors + r.timeouts) > 0.01) {
      out.failed = `${r.non2xx} non-2xx answers (${Object.entries(r.statuses ?? {}).map(([c, n]) => `${n}× ${c}`).join(', ')}) and ${r.errors + r.timeouts} errors out of ${r.requests} responses${st.child ? ` (${st.child.tail().split('\n').filter(Boolean).slice(-1)[0]?.slice(0, 160) ?? ''})` : ''}`
    }
    return out
  } finally {
    await stopServer(st, env)
  }
}

function combine (runs: ScenarioResult[]): ScenarioResult {
  const ok = runs.filter((r) => !r.skipped && !r.failed && r.rps !== null)
  if (ok.length === 0) return runs[0]!
  const med = (k: 'rps' | 'p50_ms' | 'p99_ms') => median(ok.map((r) => r[k]!).filter((x) => x !== null))
  const rss = ok.map((r) => r.rss_mb).filter((x): x is number => x !== null)
  const cpu = ok.map((r) => r.cpu_us_per_req).filter((x): x is number => x != null)
  const res: ScenarioResult = {
    rps: med('rps'), p50_ms: med('p50_ms'), p99_ms: med('p99_ms'), rss_mb: rss.length ? Math.max(...rss) : null,
    cpu_us_per_req: cpu.length ? median(cpu) : null,
    non2xx: ok.reduce((a, r) => a + (r.non2xx ?? 0), 0), errors: ok.reduce((a, r) => a + (r.errors ?? 0), 0), rounds: ok.length, description: ok[0]!.description,
  }
  const failedRounds = runs.filter((r) => r.failed)
  if (failedRounds.length) res.failed = `${failedRounds.length} of ${runs.length} rounds failed: ${failedRounds[0]!.failed}`
  return res
}

function selected (): Scenario[] {
  if (!opt.scenarios) return [...SCENARIOS]
  const names = opt.scenarios.split(',').map((x) => x.trim()).filter(Boolean)
  for (const n of names) if (!SCENARIOS.some((s) => s.name === n)) { console.error(`unknown scenario ${n}; known: ${SCENARIOS.map((s) => s.name).join(', ')}`); process.exit(2) }
  if (!names.includes(BASELINE)) names.unshift(BASELINE)
  return SCENARIOS.filter((s) => names.includes(s.name))
}

// --- modes ---------------------------------------------------------------------------------

async function suite (env: Env): Promise<Pick<BenchResults, 'scenarios' | 'latency_at_half_rate' | 'micro'>> {
  const list = selected()
  if (list.some((s) => s.kind === 'bouncer')) compileDist()
  const perRound = new Map<string, ScenarioResult[]>(list.map((s) => [s.name, []]))
  const skipped = new Map<string, string>()
  for (let round = 1; round <= settings.rounds; round++) {
    log(`round ${round}/${settings.rounds}: ${settings.connections} connections, ${settings.warmup_s} s warm-up + ${settings.duration_s} s per scenario`)
    // Rotate the order each round so slow drifts of the machine's load hit every contender.
    const order = list.map((_, i) => list[(i + round - 1) % list.length]!)
    for (const s of order) {
      if (skipped.has(s.name)) continue
      const r = await runOnce(s, env)
      perRound.get(s.name)!.push(r)
      if (r.skipped) skipped.set(s.name, r.skipped)
      log(`  ${s.name.padEnd(18)} ${r.skipped ? `skipped: ${r.skipped}` : r.failed ? `FAILED: ${r.failed}` : `${Math.round(r.rps!)} req/s  p50 ${r.p50_ms?.toFixed(2)} ms  p99 ${r.p99_ms?.toFixed(2)} ms  RSS ${r.rss_mb?.toFixed(0)} MB  CPU ${r.cpu_us_per_req?.toFixed(0) ?? '?'} µs/req`}`)
    }
  }
  const scenarios: Record<string, ScenarioResult> = {}
  for (const s of list) scenarios[s.name] = combine(perRound.get(s.name)!)

  let half: HalfRate | null = null
  const bare = scenarios[BASELINE]
  if (!opt['no-half-rate'] && bare?.rps && !bare.failed) {
    const rate = Math.max(10, Math.floor(bare.rps / 2))
    log(`fixed rate ${rate} req/s (½ of bare-proxy max): p99 added over bare-proxy`)
    half = { rate_rps: rate, scenarios: {}, added_p99_ms: {} }
    for (const name of [BASELINE, 'bouncer-eval', 'bouncer-l1']) {
      const s = list.find((x) => x.name === name)
      if (!s) continue
      if (scenarios[name]?.skipped) { half.scenarios[name] = { rps: null, p50_ms: null, p99_ms: null, skipped: scenarios[name]!.skipped }; continue }
      const r = await runOnce(s, env, { rate })
      half.scenarios[name] = { rps: r.rps, p50_ms: r.p50_ms, p99_ms: r.p99_ms, cpu_us_per_req: r.cpu_us_per_req ?? null, ...(r.skipped ? { skipped: r.skipped } : {}), ...(r.failed ? { failed: r.failed } : {}) }
      log(`  ${name.padEnd(18)} ${r.failed ? `FAILED: ${r.failed}` : `${Math.round(r.rps ?? 0)} req/s  p50 ${r.p50_ms?.toFixed(2)} ms  p99 ${r.p99_ms?.toFixed(2)} ms  CPU ${r.cpu_us_per_req?.toFixed(0) ?? '?'} µs/req`}`)
    }
    const b = half.scenarios[BASELINE]?.p99_ms
    if (b != null) {
      for (const [n, v] of Object.entries(half.scenarios)) if (v.p99_ms != null && !v.failed) half.added_p99_ms[n] = Math.round((v.p99_ms - b) * 1000) / 1000
    }
  }

  let micro = emptyMicro()
  if (!opt['no-micro']) {
    log('micro-benchmarks (each in a fresh process)')
    micro = await runMicro(quick, log)
  } else micro.skipped.all = 'not run (--no-micro)'
  return { scenarios, latency_at_half_rate: half, micro }
}

async function soak (env: Env, seconds: number): Promise<SoakResult> {
  const want = opt['soak-scenario'] ?? 'bouncer-logs'
  let s = SCENARIOS.find((x) => x.name === want)
  if (!s) { console.error(`unknown scenario ${want}`); process.exit(2) }
  // On dist/, as production runs it (tsx's loader and esbuild would be part of the RSS).
  compileDist()
  let cg: MemoryCgroup | undefined
  if (opt['soak-memory-limit'] !== undefined) {
    const limit = num(opt['soak-memory-limit'], 384, 'soak-memory-limit')
    const made = createMemoryCgroup(`bouncer-bench-${process.pid}`, limit)
    if ('error' in made) throw new Error(`soak: --soak-memory-limit: ${made.error}`)
    cg = made
    log(`soak: the bouncer runs in memory cgroup ${cg.dir}, limit ${limit} MB`)
  }
  const wrap = cg === undefined ? undefined : (cmd: string, args: string[]) => inCgroup(cg!, cmd, args)
  let st = await startServer(s, env, ['--expose-gc'], true, wrap)
  if (('skip' in st || 'failed' in st) && !opt['soak-scenario']) {
    log(`soak: ${s.name} unavailable (${'skip' in st ? st.skip : st.failed}); using bouncer-eval`)
    s = SCENARIOS.find((x) => x.name === 'bouncer-eval')!
    st = await startServer(s, env, ['--expose-gc'], true, wrap)
  }
  if ('skip' in st) throw new Error(`soak: ${s.name} skipped: ${st.skip}`)
  if ('failed' in st) throw new Error(`soak: ${s.name} failed to start: ${st.failed}`)
  try {
    const bad = await check(s, st.port, env)
    if (bad) throw new Error(`soak: ${s.name}: ${bad}`)
    log(`soak: ${s.name}, ${settings.connections} connections for ${seconds} s after ${Math.max(settings.warmup_s, 10)} s warm-up; RSS every 10 s`)
    const samples: SoakResult['samples'] = []
    let ticks = 0
    // Every 30 s the child runs a full collection (it has --expose-gc) and reports the V8 heap
    // still in use: what a leak grows. RSS alone moves with where V8 is in its collection cycle
    // and how far it has grown its heap, so it is read just before.
    const child = st.child
    type Heap = { heap_used: number; external: number; before: { heap_total: number; rss: number; spaces_mb?: Record<string, number> } }
    const liveHeap = async (): Promise<Heap | null> => {
      try {
        child.proc.stdin!.write('heap\n')
        return await child.message<Heap>(['heap'], 5000)
      } catch { return null }
    }
    const mb = (bytes: number) => Math.round(bytes / 1048576 * 10) / 10
    let asking = false
    const o = await drive(st.port, s, env, st.rssGroup, { duration: seconds, warmup: Math.max(settings.warmup_s, 10) }, () => {
      if (++ticks !== 1 && ticks % 10 !== 0) return
      const v = groupRssMb(st.rssGroup)
      if (v === null) return
      const sample: SoakResult['samples'][number] = { t_s: ticks === 1 ? 0 : ticks, rss_mb: Math.round(v * 10) / 10 }
      samples.push(sample)
      const line = `  t=${String(sample.t_s).padStart(5)} s  RSS ${v.toFixed(1)} MB`
      if (sample.t_s % 30 !== 0 || asking) { log(line); return }
      asking = true
      void liveHeap().then((h) => {
        asking = false
        if (h) { sample.live_heap_mb = mb(h.heap_used); sample.external_mb = mb(h.external) }
        log(line + (h ? `  live heap ${mb(h.heap_used)} MB  external ${mb(h.external)} MB (after a full GC; before it: V8 heap ${mb(h.before.heap_total)} MB, process RSS ${mb(h.before.rss)} MB; spaces ${JSON.stringify(h.before.spaces_mb ?? {})})` : ''))
      })
    })
    if (!o.result) throw new Error(`soak: load failed: ${o.error}`)
    const fit = (xs: typeof samples, y: (x: (typeof samples)[number]) => number | undefined) => {
      const pts = xs.filter((x) => y(x) !== undefined)
      const k = slope(pts.map((x) => x.t_s / 60), pts.map((x) => y(x)!))
      return k === null ? null : Math.round(k * 1000) / 1000
    }
    const late = samples.filter((x) => x.t_s >= seconds / 2)
    return {
      command, scenario: s.name, seconds, samples,
      slope_mb_per_min: fit(samples, (x) => x.rss_mb), slope_second_half_mb_per_min: fit(late, (x) => x.rss_mb),
      ...(samples.some((x) => x.live_heap_mb !== undefined)
        ? { live_heap_slope_mb_per_min: fit(samples, (x) => x.live_heap_mb), live_heap_slope_second_half_mb_per_min: fit(late, (x) => x.live_heap_mb) }
        : {}),
      rps: o.result.rps, p99_ms: o.result.p99_ms,
      ...(cg === undefined ? {} : { memory_limit_mb: cg.limitBytes / 1048576, cgroup_peak_mb: mbOrNull(cg.peakBytes()), cgroup_limit_events: cg.limitEvents() }),
    }
  } finally {
    await stopServer(st, env)
    cg?.remove()
  }
}

const mbOrNull = (bytes: number | null): number | null => bytes === null ? null : Math.round(bytes / 1048576 * 10) / 10

const compileDist = (): void => { compileDistOnce(log) }

/** CPU profiles of one or more scenarios at the same fixed rate (per-request CPU depends on
 * the load: at equal rates the numbers compare). */
async function profile (env: Env, names: string[], rate: number): Promise<ProfileSummary[]> {
  const out: ProfileSummary[] = []
  // Bouncers are profiled on dist/ (what production runs): tsc's source maps lead each function
  // back to its src/*.ts line, which tsx's one-line-per-module output cannot. Compile first
  // (incremental) so dist/ is today's src/.
  compileDist()
  for (const name of names) {
    const s = SCENARIOS.find((x) => x.name === name)
    if (!s || (s.kind !== 'bouncer' && s.kind !== 'bare-proxy')) { console.error(`--profile takes bouncer or bare-proxy scenarios, not ${name}`); process.exit(2) }
    const dir = mkdtempSync(join(work, 'prof-'))
    const st = await startServer(s, env, ['--cpu-prof', '--cpu-prof-dir', dir], true)
    if ('skip' in st) throw new Error(`${name} skipped: ${st.skip}`)
    if ('failed' in st) throw new Error(`${name} failed: ${st.failed}`)
    const bad = await check(s, st.port, env)
    if (bad) { await st.child.stop(); throw new Error(`${name}: ${bad}`) }
    log(`profiling ${name}: ${rate} req/s for ${settings.duration_s} s after ${settings.warmup_s} s warm-up`)
    const o = await drive(st.port, s, env, st.rssGroup, { rate })
    await st.child.stop(15_000) // graceful: the profile is written at exit
    const file = findProfile(dir)
    if (!file) throw new Error(`no .cpuprofile written by ${name}`)
    const keep = resolve(work, '..', `bouncer-bench-${name}.cpuprofile`)
    copyFileSync(file, keep)
    log(`  ${o.result ? `${Math.round(o.result.rps)} req/s, p99 ${o.result.p99_ms?.toFixed(2)} ms; ` : ''}profile kept at ${keep} (Chrome DevTools → Performance)`)
    out.push({ command, ...summariseProfile(file, name, o.result?.requests ?? 0, rate, o.window) })
  }
  return out
}

// --- main ----------------------------------------------------------------------------------

async function main (): Promise<void> {
  const machine = machineInfo(command)
  log(`bench: ${command}`)
  const env = await startEnv()
  let partial: Pick<BenchResults, 'scenarios' | 'latency_at_half_rate' | 'micro'> = { scenarios: {}, latency_at_half_rate: null, micro: emptyMicro() }
  let soakResult: SoakResult | null = null
  let prof: ProfileSummary[] | null = null
  if (opt.soak !== undefined) {
    settings.duration_s = num(opt.soak, 300, 'soak')
    settings.warmup_s = Math.max(settings.warmup_s, 10)
    soakResult = await soak(env, settings.duration_s)
    partial.micro.skipped.all = 'not run (soak mode)'
  } else if (opt.profile !== undefined) {
    prof = await profile(env, opt.profile.split(',').map((x) => x.trim()).filter(Boolean), Math.round(num(opt.rate, 500, 'rate')))
    partial.micro.skipped.all = 'not run (profile mode)'
  } else {
    partial = await suite(env)
  }
  await env.upstream.stop()
  machine.load_average_end = loadAverage()

  const ratios = computeRatios(partial.scenarios)
  const base: Omit<BenchResults, 'targets'> = { ...partial, ratios, soak: soakResult, profile: prof, settings, machine }
  const results: BenchResults = { ...base, targets: computeTargets(base) }

  const out: string[] = []
  if (Object.keys(results.scenarios).length) {
    out.push('', scenarioTable(results, false))
    if (results.latency_at_half_rate) out.push('', `fixed rate ${results.latency_at_half_rate.rate_rps} req/s (½ of bare-proxy max):`, halfRateTable(results.latency_at_half_rate, false))
  }
  if (!results.micro.skipped.all) out.push('', microTable(results.micro, false))
  if (results.micro.eval_unstable.length) out.push('', 'policy evaluation failures seen when one instance answers the same input repeatedly:', ...results.micro.eval_unstable.map((x) => `  - ${x}`))
  if (soakResult) {
    out.push('', `soak ${soakResult.scenario}: ${soakResult.seconds} s, ${Math.round(soakResult.rps ?? 0)} req/s, p99 ${soakResult.p99_ms?.toFixed(2)} ms`)
    out.push(`  RSS MB: ${soakResult.samples.map((x) => x.rss_mb.toFixed(1)).join(' ')}`)
    if (soakResult.memory_limit_mb !== undefined) out.push(`  in a memory cgroup of ${soakResult.memory_limit_mb} MB: peak ${soakResult.cgroup_peak_mb ?? '?'} MB, limit reached ${soakResult.cgroup_limit_events ?? '?'} time(s)`)
    out.push(`  slope: ${soakResult.slope_mb_per_min === null ? 'n/a (fewer than 2 samples)' : `${soakResult.slope_mb_per_min.toFixed(3)} MB/min`}` +
      (soakResult.slope_second_half_mb_per_min == null ? '' : `; second half ${soakResult.slope_second_half_mb_per_min.toFixed(3)} MB/min`))
  }
  if (prof) out.push('', profileText(prof))
  if (!prof) out.push('', targetTable(results.targets, false))
  out.push('', soakResult
    ? `${settings.connections} connections, steady load; RSS = the server's process group`
    : prof
      ? `${settings.connections} connections, fixed rate, ${settings.warmup_s} s warm-up, ${settings.duration_s} s profiled`
      : `${settings.connections} connections, ${settings.warmup_s} s warm-up, ${settings.duration_s} s measured, ${settings.rounds} round(s) (medians); RSS = peak of the server's process group; CPU = user+system of the server's processes per request`)
  out.push(machineFooter(machine))
  console.log(out.join('\n'))

  const jsonFile = opt.json
  if (jsonFile) {
    writeFileSync(jsonFile, JSON.stringify(results, null, 2) + '\n')
    log(`results written to ${jsonFile}`)
  }
  if (opt.results) {
    // bench/results.json holds three independently measured parts: the suite (scenarios,
    // fixed-rate latency, micro-benchmarks), the soak, and the profiles. A run replaces the part
    // it measured and keeps the others.
    let report = results
    const file = join(BENCH_DIR, 'results.json')
    if (existsSync(file)) {
      const last = JSON.parse(readFileSync(file, 'utf8')) as BenchResults
      const merged: Omit<BenchResults, 'targets'> = soakResult || prof
        ? { ...last, soak: soakResult ?? last.soak ?? null, profile: prof ?? last.profile ?? null }
        : { ...results, soak: last.soak ?? null, profile: last.profile ?? null }
      report = { ...merged, targets: computeTargets(merged) }
    }
    writeFileSync(file, JSON.stringify(report, null, 2) + '\n')
    const { writeReport } = await import('./chart.js')
    writeReport(report, { svg: join(BENCH_DIR, 'chart.svg'), markdown: join(BENCH_DIR, 'RESULTS.md') })
    log('bench/results.json, bench/chart.svg and bench/RESULTS.md updated')
  }
}

main().then(() => { killAll(); process.exit(0) }).catch((e: Error) => {
  console.error(`bench failed: ${e.message}`)
  killAll()
  process.exit(1)
})
