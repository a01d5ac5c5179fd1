// The proxy port's server alone: `npm run bench -- --port-server [--runs N]`.
//
// The pipeline is the same whatever accepts the connection; this measures what the server layer
// itself costs per request: plain node:http against Fastify as the bouncer used it (see
// servers/port-server.ts). Each contender runs in its own process; the harness sends a fixed
// number of keep-alive GETs over 32 connections (undici Pool) and reads the child's CPU time
// (user + system, /proc) around them. Runs are interleaved; medians of CPU µs per request and
// requests per second are printed, with the ratio to node:http. CPU per request is the figure
// to trust on a shared machine; requests per second move with everything else running.
import { join } from 'node:path'
import { Pool } from 'undici'
import { machineFooter, machineInfo } from './lib/machine.js'
import { BENCH_DIR, groupCpuSeconds, killAll, spawnTs } from './lib/procs.js'
import { median } from './lib/timing.js'

const CONTENDERS = ['node', 'fastify'] as const
const REQUESTS = 40_000
const WARMUP = 5_000
const CONNECTIONS = 32

async function drive (pool: Pool, n: number): Promise<void> {
  let sent = 0
  const worker = async () => {
    while (sent < n) {
      sent++
      const r = await pool.request({ method: 'GET', path: '/v1/orders/42?x=1', headers: { host: 'bench', 'x-tenant': 'acme' } })
      await r.body.dump()
    }
  }
  await Promise.all(Array.from({ length: CONNECTIONS }, worker))
}

async function once (kind: string): Promise<{ cpuUs: number; rps: number }> {
  const child = spawnTs(`port-server-${kind}`, join(BENCH_DIR, 'servers', 'port-server.ts'), ['--kind', kind])
  try {
    const { port } = await child.message<{ port: number }>(['ready', 'error'], 20_000)
    const pool = new Pool(`http://127.0.0.1:${port}`, { connections: CONNECTIONS, pipelining: 1 })
    await drive(pool, WARMUP)
    const cpu0 = groupCpuSeconds(child.pid)!
    const t0 = performance.now()
    await drive(pool, REQUESTS)
    const s = (performance.now() - t0) / 1000
    const cpu = groupCpuSeconds(child.pid)! - cpu0
    await pool.close()
    return { cpuUs: (cpu * 1e6) / REQUESTS, rps: REQUESTS / s }
  } finally {
    await child.stop()
  }
}

export async function runPortServer (runs: number): Promise<void> {
  const samples: Record<string, Array<{ cpuUs: number; rps: number }>> = Object.fromEntries(CONTENDERS.map((k) => [k, []]))
  try {
    for (let i = 0; i < runs; i++) for (const k of CONTENDERS) samples[k]!.push(await once(k))
  } finally { killAll() }
  const cpu = (k: string) => median(samples[k]!.map((s) => s.cpuUs))
  const rps = (k: string) => median(samples[k]!.map((s) => s.rps))
  console.log(`proxy-port server alone: ${REQUESTS} GETs over ${CONNECTIONS} keep-alive connections, ${runs} interleaved runs (medians)\n`)
  console.log('| server | CPU µs/request | vs node:http | req/s | all CPU µs/request |')
  console.log('|---|---:|---:|---:|---|')
  for (const k of CONTENDERS) {
    console.log(`| ${k === 'node' ? 'node:http' : 'Fastify (hijack)'} | ${cpu(k).toFixed(1)} | ${(cpu(k) / cpu('node')).toFixed(2)}× | ${rps(k).toFixed(0)} | ${samples[k]!.map((s) => s.cpuUs.toFixed(1)).join(', ')} |`)
  }
  console.log('\n' + machineFooter(machineInfo('npm run bench -- --port-server')))
}
