// Benchmark: Envoy ext_authz checks per second, gRPC beside HTTP, on one bouncer process, with
// the bare transports (bench/servers/bare-ext-authz.ts: a fixed "allowed", no decision) as the
// baseline.
//   npx tsx bench/ext-authz.ts [--seconds 5] [--concurrency 32] [--cache]
// The bouncer runs `bouncer run --mode ext_authz` (dist/, so `npm run build` first) in its own
// process with docs/examples/ext-authz/policy.rego (entrypoint envoy/authz/result, an object
// result); this process is Envoy: a grpc-js client keeping --concurrency Check calls in flight
// (the CheckRequest encoded once, by protobufjs from test/ext-authz/fixtures/proto), then an
// undici pool doing the same over the HTTP protocol. Decision logs off; the decision cache off
// unless --cache (then every check after the first is an L1 hit). Each contender gets a 1 s
// warm-up, then --seconds measured; reported: checks/s, p50 and p99 latency as this client sees
// it, the server's CPU per check, and the ratio to the bare row of the same transport.
import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { connect } from 'node:net'
import { cpus, tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import * as grpc from '@grpc/grpc-js'
import * as protoLoader from '@grpc/proto-loader'
import { Pool } from 'undici'
import { freePort } from '../test/helpers/index.js'
import { spawnTs } from './lib/procs.js'
import { checkRequest } from '../test/ext-authz/fixtures/client.js'

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '5' }, concurrency: { type: 'string', default: '32' }, cache: { type: 'boolean', default: false } } })
const SECONDS = Number(values.seconds)
const CONCURRENCY = Number(values.concurrency)
const root = join(import.meta.dirname, '..')

interface Row { name: string; checks: number; rps: number; p50: number; p99: number; cpuUsPerCheck: number; errors: number }

async function waitForPort (port: number): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1', () => { s.destroy(); resolve(true) })
      s.on('error', () => resolve(false))
    })
    if (ok) return
    await new Promise((r) => setTimeout(r, 50))
  }
  throw new Error(`port ${port} never opened`)
}

/** Keeps CONCURRENCY calls in flight for `ms`; returns latencies (ms) and errors. */
async function drive (call: () => Promise<void>, ms: number): Promise<{ lat: number[]; errors: number }> {
  const lat: number[] = []
  let errors = 0
  const until = performance.now() + ms
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (performance.now() < until) {
      const t0 = performance.now()
      try { await call() } catch { errors++ }
      lat.push(performance.now() - t0)
    }
  }))
  return { lat, errors }
}

function pct (sorted: number[], p: number): number { return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]! }

function cpuOf (pid: number): number {
  // utime + stime of the server process, in clock ticks (100 Hz on Linux)
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return (Number(f[11]) + Number(f[12])) * 10_000 // µs
}

async function measure (name: string, pid: number, call: () => Promise<void>): Promise<Row> {
  await drive(call, 1000)
  const c0 = cpuOf(pid)
  const t0 = performance.now()
  const { lat, errors } = await drive(call, SECONDS * 1000)
  const secs = (performance.now() - t0) / 1000
  const c1 = cpuOf(pid)
  lat.sort((a, b) => a - b)
  return { name, checks: lat.length, rps: lat.length / secs, p50: pct(lat, 0.5), p99: pct(lat, 0.99), cpuUsPerCheck: (c1 - c0) / lat.length, errors }
}

const dir = mkdtempSync(join(tmpdir(), 'bench-ext-authz-'))
const grpcPort = await freePort()
const httpPort = await freePort()
const config = join(dir, 'bouncer.yaml')
writeFileSync(config, [
  'mode: ext_authz',
  `policy: {path: ${join(root, 'docs/examples/ext-authz/policy.rego')}, entrypoint: envoy/authz/result}`,
  `ext_authz: {grpc: {enabled: true, port: ${grpcPort}}, http: {enabled: true, port: ${httpPort}}}`,
  'admin: {enabled: false}',
  'logging: {level: warn}',
  `cache: {enabled: ${values.cache}}`,
].join('\n'))
const child = spawn(process.execPath, [join(root, 'bin/bouncer.js'), 'run', '--config', config], { stdio: ['ignore', 'inherit', 'inherit'] })
try {
  await waitForPort(grpcPort)
  await waitForPort(httpPort)

  const def = protoLoader.loadSync('envoy/service/auth/v3/external_auth.proto', { includeDirs: [join(root, 'test/ext-authz/fixtures/proto')], keepCase: true })
  const { requestSerialize } = (def['envoy.service.auth.v3.Authorization'] as unknown as { Check: { requestSerialize (v: unknown): Buffer } }).Check
  const bytes = requestSerialize(checkRequest({ method: 'GET', path: '/people/42?lang=en' }))
  const client = new grpc.Client(`127.0.0.1:${grpcPort}`, grpc.credentials.createInsecure())
  const id = (b: Buffer): Buffer => b
  const grpcCall = (): Promise<void> => new Promise((resolve, reject) => {
    client.makeUnaryRequest('/envoy.service.auth.v3.Authorization/Check', id, id, bytes, (err) => err ? reject(err) : resolve())
  })
  const pool = new Pool(`http://127.0.0.1:${httpPort}`, { connections: CONCURRENCY })
  const headers = { accept: '*/*', 'user-agent': 'curl/8.5.0', 'x-request-id': '2f5c8a1e-0b7d-4c3e-9a61-5d2f0e4b7c11', 'x-forwarded-proto': 'http' }
  const httpCall = async (): Promise<void> => {
    const r = await pool.request({ method: 'GET', path: '/people/42?lang=en', headers })
    await r.body.dump()
    if (r.statusCode !== 200) throw new Error(`status ${r.statusCode}`)
  }

  const bare = spawnTs('bare-ext-authz', join(import.meta.dirname, 'servers/bare-ext-authz.ts'), [])
  const ports = await bare.message<{ grpc_port: number; http_port: number }>(['ready'], 20_000)
  const bareClient = new grpc.Client(`127.0.0.1:${ports.grpc_port}`, grpc.credentials.createInsecure())
  const bareGrpc = (): Promise<void> => new Promise((resolve, reject) => {
    bareClient.makeUnaryRequest('/envoy.service.auth.v3.Authorization/Check', id, id, bytes, (err) => err ? reject(err) : resolve())
  })
  const barePool = new Pool(`http://127.0.0.1:${ports.http_port}`, { connections: CONCURRENCY })
  const bareHttp = async (): Promise<void> => { const r = await barePool.request({ method: 'GET', path: '/people/42?lang=en', headers }); await r.body.dump() }

  const rows = [
    { ...await measure('bare grpc-js (fixed answer)', bare.pid, bareGrpc), base: 0 },
    { ...await measure('ext_authz gRPC', child.pid!, grpcCall), base: 0 },
    { ...await measure('bare node:http (fixed 200)', bare.pid, bareHttp), base: 2 },
    { ...await measure('ext_authz HTTP', child.pid!, httpCall), base: 2 },
  ]
  client.close()
  bareClient.close()
  await pool.close()
  await barePool.close()
  await bare.stop()

  console.log(`\next_authz checks, ${CONCURRENCY} in flight, ${SECONDS} s each, decision cache ${values.cache ? 'on (L1 hits)' : 'off'}, decision logs off`)
  console.log('| contender | checks/s | ratio | p50 ms | p99 ms | server CPU µs/check | errors |')
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: |')
  for (const r of rows) {
    console.log(`| ${r.name} | ${Math.round(r.rps)} | ${(r.rps / rows[r.base]!.rps).toFixed(2)} | ${r.p50.toFixed(2)} | ${r.p99.toFixed(2)} | ${Math.round(r.cpuUsPerCheck)} | ${r.errors} |`)
  }
  console.log(`\nmachine: ${cpus().length} × ${cpus()[0]?.model ?? '?'}, Node.js ${process.version}; load generator in this process, bouncer in its own`)
} finally {
  child.kill('SIGTERM')
  rmSync(dir, { recursive: true, force: true })
}
