// Summarises a V8 .cpuprofile (node --cpu-prof): self time per function and per area
// (our src/ folders, each npm package, Node internals by subsystem, Wasm, GC), idle excluded.
//
// V8 reports each function where it starts in the code it ran (0-based line and column). For
// dist/*.js (tsc's output, what production runs) that position is looked up in the file's
// source map, so the report names the TypeScript file and line. Code loaded through tsx has no
// usable position: esbuild puts a module on one line and the map lives only in that process.
import { readdirSync, readFileSync } from 'node:fs'
import { SourceMap } from 'node:module'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { ProfileSummary } from './report.js'

interface CallFrame { functionName: string; url: string; lineNumber: number; columnNumber?: number }
interface ProfileNode { id: number; callFrame: CallFrame; children?: number[] }
interface CpuProfile { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[]; startTime: number }

/** A call frame with its position in the original source, when the generated file has a map. */
export interface Located extends CallFrame {
  /** false: the position is the generated code's (no map, or the map has no entry there) */
  mapped: boolean
}

const SOURCE_MAP_URL = /\/\/[#@] sourceMappingURL=(\S+)\s*$/

/**
 * Maps V8 call frames (0-based line/column in the generated file) to the original sources
 * through each file's `//# sourceMappingURL` (a file next to it or a data: URL). Maps are read
 * once per file; files under node_modules and non-file URLs are left as they are.
 */
export function createSourceMapper (): (cf: CallFrame) => Located {
  const maps = new Map<string, { map: SourceMap; base: string } | null>()
  const load = (url: string) => {
    if (maps.has(url)) return maps.get(url)!
    let entry: { map: SourceMap; base: string } | null = null
    try {
      const code = readFileSync(fileURLToPath(url), 'utf8')
      const ref = SOURCE_MAP_URL.exec(code.slice(-4096))?.[1]
      if (ref) {
        const mapUrl = new URL(ref, url)
        const text = mapUrl.protocol === 'data:'
          ? Buffer.from(ref.slice(ref.indexOf(',') + 1), /;base64,/.test(ref) ? 'base64' : 'utf8').toString('utf8')
          : readFileSync(fileURLToPath(mapUrl), 'utf8')
        const payload = JSON.parse(text) as { sourceRoot?: string }
        // sources are relative to sourceRoot, itself relative to the map's own location
        const base = new URL(payload.sourceRoot ? payload.sourceRoot.replace(/\/?$/, '/') : './', mapUrl.protocol === 'data:' ? url : mapUrl).href
        entry = { map: new SourceMap(payload as ConstructorParameters<typeof SourceMap>[0]), base }
      }
    } catch { entry = null } // unreadable file or map: keep the generated position
    maps.set(url, entry)
    return entry
  }
  return (cf) => {
    if (!cf.url.startsWith('file://') || cf.url.includes('/node_modules/')) return { ...cf, mapped: false }
    const m = load(cf.url)
    if (!m) return { ...cf, mapped: false }
    const e = m.map.findEntry(cf.lineNumber, cf.columnNumber ?? 0) as { originalSource?: string; originalLine?: number; originalColumn?: number }
    if (e.originalSource === undefined || e.originalLine === undefined) return { ...cf, mapped: false }
    return { ...cf, url: new URL(e.originalSource, m.base).href, lineNumber: e.originalLine, columnNumber: e.originalColumn ?? 0, mapped: true }
  }
}

function area (cf: CallFrame): string {
  const u = cf.url
  if (!u) {
    if (cf.functionName === '(garbage collector)') return 'GC'
    if (cf.functionName === '(program)') return 'V8/native (program)'
    if (cf.functionName.startsWith('RegExp:')) return 'native RegExp'
    return `native ${cf.functionName || '(anonymous)'}`
  }
  if (u.startsWith('wasm://')) return 'Wasm'
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

/** file:line (1-based) of our code and packages; a file loaded through tsx has no line (its
 * transformed code is one line per module), so it is shown without one rather than as :1. */
export function where (cf: Located): string {
  if (!cf.url) return ''
  const u = cf.url.replace(/^file:\/\//, '')
  const nm = u.lastIndexOf('/node_modules/')
  const short = nm >= 0 ? u.slice(nm + 14) : u.replace(/^.*\/(src|bench)\//, '$1/')
  if (!cf.mapped && /\.[cm]?tsx?$/.test(u)) return short
  return `${short}:${cf.lineNumber + 1}`
}

/**
 * `window`: [from, to] in µs of the monotonic clock (process.hrtime of any process on the same
 * machine: V8 stamps profiles with it), to keep only the samples taken under measured load —
 * start-up (module loading, policy compilation) and warm-up are left out.
 */
export function summariseProfile (file: string, scenario: string, requests: number, rate: number | null, window?: [number, number], topN = 15): ProfileSummary {
  const p = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile
  const locate = createSourceMapper()
  const byId = new Map(p.nodes.map((n) => [n.id, { ...n, callFrame: locate(n.callFrame) }]))
  const selfUs = new Map<number, number>()
  let ts = p.startTime
  for (let i = 0; i < p.samples.length; i++) {
    const d = p.timeDeltas[i] ?? 0
    ts += d
    if (window && (ts < window[0] || ts > window[1])) continue
    const id = p.samples[i]!
    selfUs.set(id, (selfUs.get(id) ?? 0) + d)
  }
  // Wasm frames are named after the JS that called them: the policy (opa-wasm) or the HTTP
  // parser (undici's llhttp); the module URLs are only hashes.
  const parent = new Map<number, number>()
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id)
  const wasmArea = (id: number): string => {
    for (let cur = parent.get(id); cur !== undefined; cur = parent.get(cur)) {
      const cf = byId.get(cur)!.callFrame
      if (cf.url.startsWith('wasm://') || !cf.url) continue
      const a = area(cf)
      if (a.includes('opa-wasm') || a.startsWith('src/policy')) return 'Wasm: policy evaluation'
      if (a.includes('undici')) return 'Wasm: llhttp (undici HTTP parser)'
      return `Wasm called from ${a}`
    }
    return 'Wasm'
  }
  const fns = new Map<string, { fn: string; where: string; us: number }>()
  const areas = new Map<string, number>()
  let total = 0
  for (const [id, us] of selfUs) {
    const cf = byId.get(id)!.callFrame
    if (cf.functionName === '(idle)') continue
    total += us
    const key = `${cf.functionName}|${cf.url}|${cf.lineNumber}|${cf.columnNumber ?? 0}`
    const e = fns.get(key) ?? { fn: cf.functionName || '(anonymous)', where: where(cf), us: 0 }
    e.us += us
    fns.set(key, e)
    const a = cf.url.startsWith('wasm://') ? wasmArea(id) : area(cf)
    areas.set(a, (areas.get(a) ?? 0) + us)
  }
  const pctOf = (us: number) => Math.round((us / total) * 1000) / 10
  const perReq = (us: number) => Math.round((us / Math.max(1, requests)) * 10) / 10
  return {
    scenario,
    rate_rps: rate,
    requests,
    total_ms: Math.round(total / 1000),
    us_per_req: perReq(total),
    top: [...fns.values()].sort((a, b) => b.us - a.us).slice(0, topN).map((e) => ({ fn: e.fn, where: e.where, self_pct: pctOf(e.us), us_per_req: perReq(e.us) })),
    by_area: [...areas.entries()].sort((a, b) => b[1] - a[1]).map(([a, us]) => ({ area: a, self_pct: pctOf(us), us_per_req: perReq(us) })),
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

/** One profile: areas and top functions. Several: areas side by side in µs per request, with
 * the difference to the first (the baseline) — where the extra time goes. */
export function profileText (ps: ProfileSummary[]): string {
  const lines: string[] = []
  const head = ps.map((p) => `${p.scenario}: ${p.requests} requests${p.rate_rps ? ` at ${p.rate_rps} req/s` : ''}, ${p.us_per_req.toFixed(0)} µs CPU per request`)
  lines.push('CPU profiles under load (self time, idle excluded, µs per request):', ...head.map((h) => `  ${h}`), '')
  const base = ps[0]!
  const areas = [...new Set(ps.flatMap((p) => p.by_area.map((a) => a.area)))]
  const val = (p: ProfileSummary, a: string) => p.by_area.find((x) => x.area === a)?.us_per_req ?? 0
  const last = ps[ps.length - 1]!
  areas.sort((a, b) => (val(last, b) - val(base, b)) - (val(last, a) - val(base, a)) || val(last, b) - val(last, a))
  const w = Math.max(4, ...areas.map((a) => a.length))
  const cols = ps.map((p) => Math.max(p.scenario.length, 8))
  lines.push(`  ${'area'.padEnd(w)}  ${ps.map((p, i) => p.scenario.padStart(cols[i]!)).join('  ')}${ps.length > 1 ? `  ${`Δ ${last.scenario}`.padStart(12)}` : ''}`)
  for (const a of areas.slice(0, 22)) {
    const d = val(last, a) - val(base, a)
    lines.push(`  ${a.padEnd(w)}  ${ps.map((p, i) => val(p, a).toFixed(1).padStart(cols[i]!)).join('  ')}${ps.length > 1 ? `  ${`${d >= 0 ? '+' : ''}${d.toFixed(1)}`.padStart(12)}` : ''}`)
  }
  lines.push(`  ${'total'.padEnd(w)}  ${ps.map((p, i) => p.us_per_req.toFixed(1).padStart(cols[i]!)).join('  ')}${ps.length > 1 ? `  ${`${last.us_per_req - base.us_per_req >= 0 ? '+' : ''}${(last.us_per_req - base.us_per_req).toFixed(1)}`.padStart(12)}` : ''}`)
  for (const p of ps) {
    lines.push('', `  top functions, ${p.scenario}:`)
    for (const t of p.top) lines.push(`    ${t.us_per_req.toFixed(1).padStart(6)} µs  ${t.self_pct.toFixed(1).padStart(5)}%  ${t.fn}  ${t.where}`)
  }
  return lines.join('\n')
}
