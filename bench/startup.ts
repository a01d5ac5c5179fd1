// Cold start and idle memory: `npm run bench -- --startup [--runs N]`.
//
// Starts `bouncer run` with the shipped policy (policies/, compiled at start) N times per
// contender, interleaved, and measures for each start: the time from spawn to the first
// /readyz 200, and the process's resident memory (VmRSS) after 2 s idle. Contenders:
//   dist  node bin/bouncer.js (the compiled JavaScript the image runs)
//   tsx   node --import tsx src/cli/index.ts (TypeScript transpiled at start, as before dist/)
// Medians are printed with the dist/tsx ratio; targets: ready <= 1.5 s, RSS <= 90 MB.
// Only loopback; every child is killed when its run ends.
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { createServer } from 'node:http'
import { join } from 'node:path'
import { freePort, ROOT_DIR } from './lib/procs.js'
import { machineFooter, machineInfo } from './lib/machine.js'
import { median } from './lib/timing.js'

interface Sample { readyMs: number; rssMb: number }

const CONTENDERS: Record<string, string[]> = {
  dist: [join(ROOT_DIR, 'bin/bouncer.js')],
  tsx: ['--import', 'tsx', join(ROOT_DIR, 'src/cli/index.ts')],
}

function rssMb (pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  return m ? Number(m[1]) / 1024 : NaN
}

async function once (args: string[], upstream: string): Promise<Sample> {
  const port = await freePort()
  const adminPort = await freePort()
  const t0 = performance.now()
  const child = spawn(process.execPath, [...args, 'run', '--upstream', upstream, '--policy', join(ROOT_DIR, 'policies'),
    '--host', '127.0.0.1', '--port', String(port), '--admin-host', '127.0.0.1', '--admin-port', String(adminPort),
    '--log-level', 'warn', '--set', 'decision_logs.enabled=false'], { cwd: ROOT_DIR, stdio: ['ignore', 'ignore', 'pipe'] })
  let stderr = ''
  child.stderr.on('data', (d) => { stderr += String(d) })
  try {
    const deadline = t0 + 30_000
    for (;;) {
      if (child.exitCode !== null) throw new Error(`bouncer exited ${child.exitCode}: ${stderr.slice(-500)}`)
      if (performance.now() > deadline) throw new Error('not ready within 30 s')
      const ok = await fetch(`http://127.0.0.1:${adminPort}/readyz`).then((r) => r.status === 200, () => false)
      if (ok) break
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
    const readyMs = performance.now() - t0
    await new Promise((resolve) => setTimeout(resolve, 2000))
    return { readyMs, rssMb: rssMb(child.pid!) }
  } finally {
    child.kill('SIGKILL')
    await new Promise((resolve) => child.once('exit', resolve))
  }
}

export async function runStartup (runs: number): Promise<void> {
  const upstream = createServer((_req, res) => res.end('ok'))
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve))
  const url = `http://127.0.0.1:${(upstream.address() as { port: number }).port}`
  const samples: Record<string, Sample[]> = Object.fromEntries(Object.keys(CONTENDERS).map((k) => [k, []]))
  try {
    for (let i = 0; i < runs; i++) {
      for (const [name, args] of Object.entries(CONTENDERS)) samples[name].push(await once(args, url))
    }
  } finally {
    upstream.close()
  }
  const med = (name: string, k: keyof Sample): number => median(samples[name].map((s) => s[k]))
  console.log(`cold start to /readyz 200 and idle RSS, shipped policy, ${runs} starts each (medians)\n`)
  console.log('| contender | ready (ms) | idle RSS (MB) | all ready (ms) |')
  console.log('|---|---:|---:|---|')
  for (const name of Object.keys(CONTENDERS)) {
    console.log(`| ${name} | ${med(name, 'readyMs').toFixed(0)} | ${med(name, 'rssMb').toFixed(1)} | ${samples[name].map((s) => s.readyMs.toFixed(0)).join(', ')} |`)
  }
  const r = med('dist', 'readyMs') / med('tsx', 'readyMs')
  console.log(`\ndist/tsx: ready ${r.toFixed(2)}×, RSS ${(med('dist', 'rssMb') / med('tsx', 'rssMb')).toFixed(2)}×`)
  console.log(`targets (dist): ready <= 1500 ms: ${med('dist', 'readyMs') <= 1500 ? 'met' : 'MISSED'}; idle RSS <= 90 MB: ${med('dist', 'rssMb') <= 90 ? 'met' : 'MISSED'}`)
  console.log('\n' + machineFooter(machineInfo('npm run bench -- --startup')))
}
