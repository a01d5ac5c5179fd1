// A memory cgroup for one benchmark child: the soak can run the bouncer inside the limit the
// Helm chart gives its container (resources.limits.memory), so V8 sizes its heap as it does in
// the pod — Node reads the cgroup's limit (libuv's uv_get_constrained_memory) when it creates
// the isolate. Needs root and a memory controller (cgroup v2 memory.max, or v1 memory.limit_in_bytes).
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

export interface MemoryCgroup {
  readonly dir: string
  readonly limitBytes: number
  /** Peak usage the kernel recorded for the group, bytes (null when the kernel does not say). */
  peakBytes (): number | null
  /** Times the group hit its limit and the kernel had to reclaim or kill (v2 memory.events max/oom_kill; v1 failcnt). */
  limitEvents (): number | null
  remove (): void
}

const read = (p: string): string | null => { try { return readFileSync(p, 'utf8').trim() } catch { return null } }

/** Creates a memory cgroup with `limitMb`, or returns the reason it cannot. */
export function createMemoryCgroup (name: string, limitMb: number): MemoryCgroup | { error: string } {
  const limitBytes = Math.round(limitMb * 1048576)
  // cgroup v2: the unified root (or a unified mount beside v1 controllers) with memory enabled.
  for (const root of ['/sys/fs/cgroup', '/sys/fs/cgroup/unified']) {
    const controllers = read(join(root, 'cgroup.controllers'))
    if (controllers === null || !controllers.split(' ').includes('memory')) continue
    const dir = join(root, name)
    try {
      const sub = read(join(root, 'cgroup.subtree_control')) ?? ''
      if (!sub.split(' ').includes('memory')) writeFileSync(join(root, 'cgroup.subtree_control'), '+memory')
      if (!existsSync(dir)) mkdirSync(dir)
      writeFileSync(join(dir, 'memory.max'), String(limitBytes))
      writeFileSync(join(dir, 'memory.swap.max'), '0')
    } catch (e) { return { error: `cannot set up ${dir}: ${(e as Error).message}` } }
    return {
      dir, limitBytes,
      peakBytes: () => { const v = read(join(dir, 'memory.peak')); return v === null ? null : Number(v) },
      limitEvents: () => {
        const ev = read(join(dir, 'memory.events'))
        if (ev === null) return null
        const n = (k: string) => Number(new RegExp(`(?:^|\\n)${k} (\\d+)`).exec(ev)?.[1] ?? 0)
        return n('max') + n('oom_kill')
      },
      remove: () => { try { rmdirSync(dir) } catch { /* still has a process; left for the next run */ } },
    }
  }
  // cgroup v1 memory controller.
  const v1 = '/sys/fs/cgroup/memory'
  if (existsSync(join(v1, 'memory.limit_in_bytes'))) {
    const dir = join(v1, name)
    try {
      if (!existsSync(dir)) mkdirSync(dir)
      writeFileSync(join(dir, 'memory.limit_in_bytes'), String(limitBytes))
      try { writeFileSync(join(dir, 'memory.memsw.limit_in_bytes'), String(limitBytes)) } catch { /* no swap accounting */ }
    } catch (e) { return { error: `cannot set up ${dir}: ${(e as Error).message}` } }
    return {
      dir, limitBytes,
      peakBytes: () => { const v = read(join(dir, 'memory.max_usage_in_bytes')); return v === null ? null : Number(v) },
      limitEvents: () => { const v = read(join(dir, 'memory.failcnt')); return v === null ? null : Number(v) },
      remove: () => { try { rmdirSync(dir) } catch { /* still has a process; left for the next run */ } },
    }
  }
  return { error: 'no cgroup memory controller (cgroup v2 memory.max or v1 memory.limit_in_bytes) on this machine' }
}

/** The command and arguments that run `cmd args` inside the cgroup: a shell joins it, then execs (same pid). */
export function inCgroup (cg: MemoryCgroup, cmd: string, args: string[]): { cmd: string; args: string[] } {
  return { cmd: '/bin/sh', args: ['-c', 'echo $$ > "$0/cgroup.procs" && exec "$@"', cg.dir, cmd, ...args] }
}
