// Links a plan into the precompiled runtime: the plan JSON becomes an extra active data
// segment placed after the runtime's static data, and a second segment fills the runtime's
// 16-byte plan-info area (exported as the global `__bouncer_plan_info`):
//   [0] plan address  [4] plan length  [8] first free address (heap start)  [12] "BNCR"
// The data count section (if any) and the imported memory's minimum are updated. The
// runtime parses the plan in its start function (src/compiler/runtime/assembly/index.ts).
//
// Limit for now: static data + plan must fit in the 5 pages (320 KiB) the opa-wasm SDK
// gives a policy by default; bigger plans throw BOUNCER_ERR_COMPILER_PLAN_TOO_LARGE.
import { bouncerError } from '../../errors.js'
import { readRuntimeWasm } from './runtime-files.js'

const PAGE = 65536
/** Pages the opa-wasm SDK allocates unless told otherwise. */
export const SDK_DEFAULT_PAGES = 5
const PLAN_ALIGN = 16
const MAGIC = 0x52434e42 // "BNCR" little-endian

const SEC_IMPORT = 2
const SEC_GLOBAL = 6
const SEC_EXPORT = 7
const SEC_CODE = 10
const SEC_DATA = 11
const SEC_DATACOUNT = 12

interface Section { id: number, start: number, end: number, headerStart: number }

interface ParsedRuntime {
  bytes: Uint8Array
  sections: Section[]
  planInfoAddr: number
  staticEnd: number
  dataCount: number
  /** Bytes of the data section after its segment count. */
  dataBody: Uint8Array
  memoryMin: number
}

export interface LinkOptions {
  /** Memory pages the host will provide (the SDK's `initial`); default 5. */
  maxPages?: number
}

const parsedCache = new WeakMap<Uint8Array, ParsedRuntime>()

/** Returns a policy module: the runtime with `planJson` embedded. */
export function linkPolicy (planJson: string, options: LinkOptions = {}): Uint8Array<ArrayBuffer> {
  return linkPlanInto(readRuntimeWasm(), planJson, options)
}

/** Same as linkPolicy with explicit runtime bytes. */
export function linkPlanInto (runtime: Uint8Array, planJson: string, options: LinkOptions = {}): Uint8Array<ArrayBuffer> {
  let rt = parsedCache.get(runtime)
  if (rt === undefined) {
    rt = parseRuntime(runtime)
    parsedCache.set(runtime, rt)
  }
  const plan = new TextEncoder().encode(planJson)
  const planAddr = alignUp(rt.staticEnd, PLAN_ALIGN)
  const planEnd = planAddr + plan.length
  const heapStart = alignUp(planEnd, PLAN_ALIGN)
  const maxPages = options.maxPages ?? SDK_DEFAULT_PAGES
  const pagesNeeded = Math.ceil(heapStart / PAGE)
  if (pagesNeeded > maxPages) {
    throw bouncerError('BOUNCER_ERR_COMPILER_PLAN_TOO_LARGE', plan.length, maxPages * PAGE - planAddr)
  }

  const info = new Uint8Array(16)
  const dv = new DataView(info.buffer)
  dv.setUint32(0, planAddr, true)
  dv.setUint32(4, plan.length, true)
  dv.setUint32(8, heapStart, true)
  dv.setUint32(12, MAGIC, true)

  const extra = [activeSegment(planAddr, plan), activeSegment(rt.planInfoAddr, info)]
  const dataSection = concat([uleb(rt.dataCount + extra.length), rt.dataBody, ...extra])
  const memoryMin = Math.max(rt.memoryMin, pagesNeeded)

  const hasData = rt.sections.some((s) => s.id === SEC_DATA)
  const out: Uint8Array[] = [rt.bytes.subarray(0, 8)]
  for (const s of rt.sections) {
    if (s.id === SEC_DATA) {
      out.push(section(SEC_DATA, dataSection))
    } else if (s.id === SEC_DATACOUNT) {
      out.push(section(SEC_DATACOUNT, uleb(rt.dataCount + extra.length)))
    } else if (s.id === SEC_IMPORT && memoryMin !== rt.memoryMin) {
      out.push(section(SEC_IMPORT, rewriteImports(rt.bytes.subarray(s.start, s.end), memoryMin)))
    } else {
      out.push(rt.bytes.subarray(s.headerStart, s.end))
      // A runtime without static data has no data section: it goes right after code.
      if (s.id === SEC_CODE && !hasData) out.push(section(SEC_DATA, dataSection))
    }
  }
  return concat(out)
}

// --- parsing --------------------------------------------------------------------------

function parseRuntime (bytes: Uint8Array): ParsedRuntime {
  if (bytes.length < 8 || bytes[0] !== 0 || bytes[1] !== 0x61 || bytes[2] !== 0x73 || bytes[3] !== 0x6d) {
    throw new Error('runtime.wasm is not a WebAssembly module')
  }
  const sections: Section[] = []
  let pos = 8
  while (pos < bytes.length) {
    const headerStart = pos
    const id = bytes[pos++]!
    const [size, p] = readUleb(bytes, pos)
    sections.push({ id, start: p, end: p + size, headerStart })
    pos = p + size
  }
  const get = (id: number): Section | undefined => sections.find((s) => s.id === id)

  // imports: count imported globals (they precede defined ones) and the memory minimum
  let importedGlobals = 0
  let memoryMin = -1
  const imp = get(SEC_IMPORT)
  if (imp) {
    const r = new Reader(bytes, imp.start)
    const n = r.u32()
    for (let i = 0; i < n; i++) {
      r.name(); r.name()
      const kind = r.byte()
      if (kind === 0) r.u32()
      else if (kind === 1) { r.byte(); r.limits() }
      else if (kind === 2) memoryMin = r.limits().min
      else if (kind === 3) { r.byte(); r.byte(); importedGlobals++ }
      else throw new Error(`runtime.wasm: unknown import kind ${kind}`)
    }
  }
  if (memoryMin < 0) throw new Error('runtime.wasm does not import its memory')

  const globalInits: Array<number | null> = []
  const gs = get(SEC_GLOBAL)
  if (gs) {
    const r = new Reader(bytes, gs.start)
    const n = r.u32()
    for (let i = 0; i < n; i++) {
      r.byte(); r.byte()
      if (bytes[r.pos] === 0x41) { r.pos++; globalInits.push(r.s32()) } else { globalInits.push(null); while (bytes[r.pos] !== 0x0b) r.pos++ }
      if (r.byte() !== 0x0b) throw new Error('runtime.wasm: unsupported global initialiser')
    }
  }
  let planInfoAddr: number | null = null
  const ex = get(SEC_EXPORT)
  if (ex) {
    const r = new Reader(bytes, ex.start)
    const n = r.u32()
    for (let i = 0; i < n; i++) {
      const name = r.name()
      const kind = r.byte()
      const idx = r.u32()
      if (kind === 3 && name === '__bouncer_plan_info') planInfoAddr = globalInits[idx - importedGlobals] ?? null
    }
  }
  if (planInfoAddr === null) throw new Error('runtime.wasm does not export __bouncer_plan_info')

  let staticEnd = 0
  let dataCount = 0
  let dataBody: Uint8Array = new Uint8Array(0)
  const ds = get(SEC_DATA)
  if (ds) {
    const r = new Reader(bytes, ds.start)
    dataCount = r.u32()
    const bodyStart = r.pos
    for (let i = 0; i < dataCount; i++) {
      const flags = r.u32()
      let offset: number | null = null
      if (flags === 2) r.u32()
      if (flags === 0 || flags === 2) {
        if (r.byte() !== 0x41) throw new Error('runtime.wasm: unsupported data segment offset')
        offset = r.s32()
        if (r.byte() !== 0x0b) throw new Error('runtime.wasm: unsupported data segment offset')
      } else if (flags !== 1) {
        throw new Error(`runtime.wasm: unknown data segment kind ${flags}`)
      }
      const len = r.u32()
      r.pos += len
      if (offset !== null) staticEnd = Math.max(staticEnd, (offset >>> 0) + len)
    }
    dataBody = bytes.subarray(bodyStart, ds.end)
  }
  staticEnd = Math.max(staticEnd, planInfoAddr + 16)
  return { bytes, sections, planInfoAddr, staticEnd, dataCount, dataBody, memoryMin }
}

function rewriteImports (body: Uint8Array, memoryMin: number): Uint8Array {
  const r = new Reader(body, 0)
  const out: Uint8Array[] = []
  const n = r.u32()
  out.push(uleb(n))
  for (let i = 0; i < n; i++) {
    const start = r.pos
    r.name(); r.name()
    const kind = r.byte()
    if (kind === 2) {
      out.push(body.subarray(start, r.pos))
      const lim = r.limits()
      out.push(lim.max === null ? concat([Uint8Array.of(0), uleb(memoryMin)]) : concat([Uint8Array.of(1), uleb(memoryMin), uleb(Math.max(lim.max, memoryMin))]))
      continue
    }
    if (kind === 0) r.u32()
    else if (kind === 1) { r.byte(); r.limits() }
    else if (kind === 3) { r.byte(); r.byte() }
    out.push(body.subarray(start, r.pos))
  }
  return concat(out)
}

class Reader {
  constructor (readonly buf: Uint8Array, public pos: number) {}
  byte (): number { return this.buf[this.pos++]! }
  u32 (): number { const [v, p] = readUleb(this.buf, this.pos); this.pos = p; return v }
  s32 (): number {
    let result = 0, shift = 0, b: number
    do { b = this.buf[this.pos++]!; result |= (b & 0x7f) << shift; shift += 7 } while (b & 0x80)
    if (shift < 32 && (b & 0x40)) result |= (~0 << shift)
    return result | 0
  }
  name (): string {
    const len = this.u32()
    const s = new TextDecoder().decode(this.buf.subarray(this.pos, this.pos + len))
    this.pos += len
    return s
  }
  limits (): { min: number, max: number | null } {
    const flags = this.byte()
    const min = this.u32()
    const max = (flags & 1) ? this.u32() : null
    return { min, max }
  }
}

// --- encoding -------------------------------------------------------------------------

function readUleb (buf: Uint8Array, pos: number): [number, number] {
  let result = 0, shift = 0, b: number
  do { b = buf[pos++]!; result += (b & 0x7f) * 2 ** shift; shift += 7 } while (b & 0x80)
  return [result, pos]
}

function uleb (v: number): Uint8Array {
  const out: number[] = []
  do {
    let b = v & 0x7f
    v = Math.floor(v / 128)
    if (v !== 0) b |= 0x80
    out.push(b)
  } while (v !== 0)
  return Uint8Array.from(out)
}

function sleb (v: number): Uint8Array {
  const out: number[] = []
  v |= 0
  for (;;) {
    const b = v & 0x7f
    v >>= 7
    if ((v === 0 && (b & 0x40) === 0) || (v === -1 && (b & 0x40) !== 0)) { out.push(b); break }
    out.push(b | 0x80)
  }
  return Uint8Array.from(out)
}

function activeSegment (addr: number, data: Uint8Array): Uint8Array {
  return concat([Uint8Array.of(0, 0x41), sleb(addr), Uint8Array.of(0x0b), uleb(data.length), data])
}

function section (id: number, body: Uint8Array): Uint8Array {
  return concat([Uint8Array.of(id), uleb(body.length), body])
}

function concat (parts: Uint8Array[]): Uint8Array<ArrayBuffer> {
  let n = 0
  for (const p of parts) n += p.length
  const out = new Uint8Array(n)
  let o = 0
  for (const p of parts) { out.set(p, o); o += p.length }
  return out
}

function alignUp (v: number, a: number): number {
  return Math.ceil(v / a) * a
}
