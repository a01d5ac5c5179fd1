// Child processes of the benchmark: every server and the load generator run in their own
// process group, registered here, and are killed (the whole group) when the harness exits —
// normally, on an error, or on SIGINT/SIGTERM. Node children also exit by themselves when
// their stdin closes (see servers/child.ts), so a harness killed with SIGKILL leaves nothing
// behind either.
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import { createServer, connect, type AddressInfo } from 'node:net'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'

export const BENCH_DIR = fileURLToPath(new URL('..', import.meta.url))
export const ROOT_DIR = fileURLToPath(new URL('../..', import.meta.url))

/** A running child with its output kept (last lines) and its protocol lines (`BENCH <json>`). */
export interface Child {
  readonly name: string
  readonly proc: ChildProcess
  readonly pid: number
  /** the last lines of stdout+stderr, for error messages */
  tail (): string
  /** resolves with the first `BENCH {...}` message whose `type` is one of `types` */
  message<T = Record<string, unknown>> (types: string[], timeoutMs: number): Promise<T>
  /** resolves when the process has exited */
  readonly exited: Promise<number | null>
  /** graceful: SIGTERM to the group, SIGKILL after graceMs */
  stop (graceMs?: number): Promise<void>
}

const live = new Set<Child>()
let hooked = false

function killGroup (pid: number, signal: NodeJS.Signals): void {
  try { process.kill(-pid, signal) } catch { try { process.kill(pid, signal) } catch { /* gone */ } }
}

export function killAll (): void {
  for (const c of live) killGroup(c.pid, 'SIGKILL')
  live.clear()
}

function hookExit (): void {
  if (hooked) return
  hooked = true
  process.on('exit', killAll)
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(sig, () => {
      process.stderr.write(`\nbench: ${sig}, stopping children\n`)
      killAll()
      process.exit(130)
    })
  }
}

export interface SpawnChildOptions {
  env?: Record<string, string | undefined>
  cwd?: string
  /** extra node flags (e.g. --cpu-prof) for TypeScript children */
  nodeArgs?: string[]
  /** Runs the command through another (e.g. lib/cgroup.ts inCgroup: join a cgroup, then exec). */
  wrap?: (cmd: string, args: string[]) => { cmd: string; args: string[] }
}

/** Runs a TypeScript file of bench/ in a fresh node with tsx's loader (the pid is the real server). */
export function spawnTs (name: string, file: string, args: string[], opts: SpawnChildOptions = {}): Child {
  return spawnChild(name, process.execPath, [...(opts.nodeArgs ?? []), '--import', 'tsx', file, ...args], opts)
}

export function spawnChild (name: string, cmd: string, args: string[], opts: SpawnChildOptions = {}): Child {
  hookExit()
  const so: SpawnOptions = {
    cwd: opts.cwd ?? ROOT_DIR,
    env: { ...process.env, ...opts.env },
    stdio: ['pipe', 'pipe', 'pipe'],
    detached: true, // own process group: the group is killed as a whole
  }
  const run = opts.wrap ? opts.wrap(cmd, args) : { cmd, args }
  const proc = spawn(run.cmd, run.args, so)
  const lines: string[] = []
  const messages: Array<Record<string, unknown>> = []
  const waiters: Array<{ types: string[]; resolve: (m: Record<string, unknown>) => void }> = []
  const keep = (l: string) => { lines.push(l); if (lines.length > 60) lines.shift() }
  const onMessage = (m: Record<string, unknown>) => {
    const i = waiters.findIndex((w) => w.types.includes(String(m.type)))
    if (i >= 0) waiters.splice(i, 1)[0]!.resolve(m)
    else messages.push(m)
  }
  createInterface({ input: proc.stdout! }).on('line', (l) => {
    if (l.startsWith('BENCH ')) {
      try { onMessage(JSON.parse(l.slice(6)) as Record<string, unknown>); return } catch { /* plain line */ }
    }
    keep(l)
  })
  createInterface({ input: proc.stderr! }).on('line', keep)
  proc.stdin!.on('error', () => {})
  let exitCode: number | null | undefined
  const exited = new Promise<number | null>((resolve) => {
    proc.once('exit', (code, signal) => { exitCode = code ?? (signal ? -1 : null); resolve(exitCode) })
    proc.once('error', (e) => { keep(`spawn error: ${e.message}`); exitCode = -1; resolve(-1) })
  })
  const child: Child = {
    name,
    proc,
    pid: proc.pid ?? -1,
    tail: () => lines.slice(-20).join('\n'),
    exited,
    message<T> (types: string[], timeoutMs: number): Promise<T> {
      const i = messages.findIndex((m) => types.includes(String(m.type)))
      if (i >= 0) return Promise.resolve(messages.splice(i, 1)[0] as T)
      return new Promise<T>((resolve, reject) => {
        const w = { types, resolve: (m: Record<string, unknown>) => { clearTimeout(timer); resolve(m as T) } }
        const timer = setTimeout(() => {
          waiters.splice(waiters.indexOf(w), 1)
          reject(new Error(`${name}: no ${types.join('/')} within ${timeoutMs} ms\n${child.tail()}`))
        }, timeoutMs)
        waiters.push(w)
        void exited.then((code) => {
          if (!waiters.includes(w)) return
          waiters.splice(waiters.indexOf(w), 1)
          clearTimeout(timer)
          reject(new Error(`${name} exited (${code}) before ${types.join('/')}\n${child.tail()}`))
        })
      })
    },
    async stop (graceMs = 3000) {
      if (exitCode === undefined && proc.pid) {
        killGroup(proc.pid, 'SIGTERM')
        try { proc.stdin!.end() } catch { /* closed */ }
        const t = setTimeout(() => killGroup(proc.pid!, 'SIGKILL'), graceMs)
        await exited
        clearTimeout(t)
        killGroup(proc.pid, 'SIGKILL') // stragglers in the group (nginx workers)
      }
      live.delete(child)
    },
  }
  if (proc.pid) live.add(child)
  return child
}

export async function freePort (): Promise<number> {
  return await new Promise((resolve, reject) => {
    const s = createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo
      s.close(() => resolve(port))
    })
  })
}

/** Polls until something accepts TCP connections on 127.0.0.1:port. */
export async function waitForPort (port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1')
      s.once('connect', () => { s.destroy(); resolve(true) })
      s.once('error', () => resolve(false))
    })
    if (ok) return
    if (Date.now() > deadline) throw new Error(`nothing listens on 127.0.0.1:${port} after ${timeoutMs} ms`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

/** Calls fn(pid, statFields) for every process of the group (fields after "(comm)"). */
function forGroup (pgid: number, fn: (pid: string, rest: string[]) => void): boolean {
  let entries: string[]
  try { entries = readdirSync('/proc') } catch { return false }
  let found = false
  for (const e of entries) {
    if (!/^\d+$/.test(e)) continue
    try {
      const stat = readFileSync(`/proc/${e}/stat`, 'utf8')
      // pid (comm) state ppid pgrp ... — comm may contain spaces: split after the last ')'
      const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      if (Number(rest[2]) !== pgid) continue
      fn(e, rest)
      found = true
    } catch { /* exited meanwhile */ }
  }
  return found
}

/** Resident set size of a process group (all its members), MB; null where /proc is missing. */
export function groupRssMb (pgid: number): number | null {
  let kb = 0
  const found = forGroup(pgid, (pid) => {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    if (m) kb += Number(m[1])
  })
  return found ? kb / 1024 : null
}

const CLOCK_TICKS = 100 // USER_HZ: 100 on every mainstream Linux

/** CPU time (user + system) used so far by a process group's members, seconds; null without /proc. */
export function groupCpuSeconds (pgid: number): number | null {
  let ticks = 0
  // utime and stime are fields 14 and 15 of /proc/pid/stat: 11 and 12 after "(comm)"
  const found = forGroup(pgid, (_pid, rest) => { ticks += Number(rest[11]) + Number(rest[12]) })
  return found ? ticks / CLOCK_TICKS : null
}

/** Samples the group's RSS every intervalMs; stop() returns the peak (MB). */
export function sampleRss (pgid: number, intervalMs: number): { stop (): number | null; samples: number[] } {
  const samples: number[] = []
  const take = () => { const v = groupRssMb(pgid); if (v !== null) samples.push(v) }
  take()
  const t = setInterval(take, intervalMs)
  return {
    samples,
    stop () { clearInterval(t); take(); return samples.length ? Math.max(...samples) : null },
  }
}
