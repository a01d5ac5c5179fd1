// Summarises a V8 .cpuprofile (node --cpu-prof): self time per function and per area
// (our src/ folders, each npm package, Node internals by subsystem, Wasm, GC), idle excluded.
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { ProfileSummary } from './report.js'

interface CallFrame { functionName: string; url: string; lineNumber: number }
interface ProfileNode { id: number; callFrame: CallFrame }
interface CpuProfile { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[]; startTime: number }

function area (cf: CallFrame): string {
  const u = cf.url
  if (!u) {
    if (cf.functionName === '(garbage collector)') return 'GC'
    if (cf.functionName === '(program)') return 'V8/native (program)'
    return `native ${cf.functionName || '(anonymous)'}`
  }
  if (u.startsWith('wasm://')) return 'Wasm (policy evaluation)'
  const nm = u.lastIndexOf('/node_modules/')
  if (nm >= 0) {
    const rest = u.slice(nm + 14).split('/')
    return `npm ${rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]}`
  }
  const src = /\/(src|bench)\/(.+)$/.exec(u)
  if (src) {
    const parts = src[2]!.split('/')
    return `${src[1]}/${parts.length > 1 ? parts[0] : parts[0]!.replace(/\.[jt]s$/, '')}`
  }
  if (u.startsWith('node:')) {
    const m = /^node:(?:internal\/)?([^/]+)/.exec(u)
    return `node:${m?.[1]?.replace(/\.js$/, '') ?? u}`
  }
  return u
}

function where (cf: CallFrame): string {
  if (!cf.url) return ''
  const u = cf.url.replace(/^file:\/\//, '')
  const nm = u.lastIndexOf('/node_modules/')
  const short = nm >= 0 ? u.slice(nm + 14) : u.replace(/^.*\/(src|bench)\//, '$1/')
  return `${short}:${cf.lineNumber + 1}`
}

/**
 * `window`: [from, to] in µs of the monotonic clock (process.hrtime of any process on the same
 * machine: V8 stamps profiles with it), to keep only the samples taken under measured load —
 * start-up (module loading, policy compilation) and warm-up are left out.
 */
export function summariseProfile (file: string, scenario: string, window?: [number, number], topN = 15): ProfileSummary {
  const p = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile
  const byId = new Map(p.nodes.map((n) => [n.id, n]))
  const selfUs = new Map<number, number>()
  let ts = p.startTime
  for (let i = 0; i < p.samples.length; i++) {
    const d = p.timeDeltas[i] ?? 0
    ts += d
    if (window && (ts < window[0] || ts > window[1])) continue
    const id = p.samples[i]!
    selfUs.set(id, (selfUs.get(id) ?? 0) + d)
  }
  const fns = new Map<string, { fn: string; where: string; us: number }>()
  const areas = new Map<string, number>()
  let total = 0
  for (const [id, us] of selfUs) {
    const cf = byId.get(id)!.callFrame
    if (cf.functionName === '(idle)') continue
    total += us
    const key = `${cf.functionName}|${cf.url}|${cf.lineNumber}`
    const e = fns.get(key) ?? { fn: cf.functionName || '(anonymous)', where: where(cf), us: 0 }
    e.us += us
    fns.set(key, e)
    const a = area(cf)
    areas.set(a, (areas.get(a) ?? 0) + us)
  }
  const pctOf = (us: number) => Math.round((us / total) * 1000) / 10
  return {
    scenario,
    total_ms: Math.round(total / 1000),
    top: [...fns.values()].sort((a, b) => b.us - a.us).slice(0, topN).map((e) => ({ fn: e.fn, where: e.where, self_pct: pctOf(e.us) })),
    by_area: [...areas.entries()].sort((a, b) => b[1] - a[1]).slice(0, topN).map(([a, us]) => ({ area: a, self_pct: pctOf(us) })),
  }
}

/** The main thread's profile (CPU.<date>.<time>.<pid>.<thread>.<seq>.cpuprofile, thread 0);
 * tsx's module-loader worker thread writes one too. */
export function findProfile (dir: string): string | undefined {
  const f = readdirSync(dir).filter((x) => x.endsWith('.cpuprofile')).sort()
  const main = f.filter((x) => /\.\d+\.0\.\d+\.cpuprofile$/.test(x))
  const pick = main.length ? main : f
  return pick.length ? join(dir, pick[pick.length - 1]!) : undefined
}

export function profileText (p: ProfileSummary): string {
  const lines = [`CPU profile of ${p.scenario} under load (${p.total_ms} ms of CPU, idle excluded), self time:`, '', '  by area:']
  for (const a of p.by_area) lines.push(`    ${a.self_pct.toFixed(1).padStart(5)}%  ${a.area}`)
  lines.push('', '  top functions:')
  for (const t of p.top) lines.push(`    ${t.self_pct.toFixed(1).padStart(5)}%  ${t.fn}  ${t.where}`)
  return lines.join('\n')
}
