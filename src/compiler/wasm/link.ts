// Links a plan into the precompiled runtime: the plan JSON becomes an extra *passive* data
// segment, a second (active) segment fills the runtime's 16-byte plan-info area (exported as
// the global `__bouncer_plan_info`):
//   [0] plan address  [4] plan length  [8] first free address (heap start)  [12] "BNCR"
// and a small start function is added in front of the runtime's own: it grows the memory
// until the plan fits, copies the plan in (memory.init), drops the segment and calls the
// runtime's start, which parses the plan (src/compiler/runtime/assembly/index.ts).
//
// Active segments must fit the memory the host provides at instantiation (the opa-wasm SDK
// gives 5 pages, 320 KiB, unless told otherwise), so an embedded active plan capped plans at
// ~290 KiB. A passive segment is copied by the module itself after growing its memory: plans
// of any size load with the SDK's defaults, and the imported memory's minimum stays the
// runtime's own.
import { readRuntimeWasm } from './runtime-files.js'

const PAGE = 65536
const PLAN_ALIGN = 16
const MAGIC = 0x52434e42 // "BNCR" little-endian

const SEC_TYPE = 1
const SEC_IMPORT = 2
const SEC_FUNCTION = 3
const SEC_GLOBAL = 6
const SEC_EXPORT = 7
const SEC_START = 8
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
  importedFuncs: number
  definedFuncs: number
  /** the runtime's start function (index), or null when it has none */
  start: number | null
  /** index of a `[] -> []` function type, or null (one is then appended) */
  voidType: number | null
  typeCount: number
}

const parsedCache = new WeakMap<Uint8Array, ParsedRuntime>()

/** Returns a policy module: the runtime with `planJson` embedded. */
export function linkPolicy (planJson: string): Uint8Array<ArrayBuffer> {
  return linkPlanInto(readRuntimeWasm(), planJson)
}

/** Same as linkPolicy with explicit runtime bytes. */
export function linkPlanInto (runtime: Uint8Array, planJson: string): Uint8Array<ArrayBuffer> {
  let rt = parsedCache.get(runtime)
  if (rt === undefined) {
    rt = parseRuntime(runtime)
    parsedCache.set(runtime, rt)
  }
  const plan = new TextEncoder().encode(planJson)
  const planAddr = alignUp(rt.staticEnd, PLAN_ALIGN)
  const planEnd = planAddr + plan.length
  const heapStart = alignUp(planEnd, PLAN_ALIGN)
  const pagesNeeded = Math.ceil(heapStart / PAGE)

  const info = new Uint8Array(16)
  const dv = new DataView(info.buffer)
  dv.setUint32(0, planAddr, true)
  dv.setUint32(4, plan.length, true)
  dv.setUint32(8, heapStart, true)
  dv.setUint32(12, MAGIC, true)

  const planSegment = rt.dataCount // index of the passive plan segment
  const extra = [passiveSegment(plan), activeSegment(rt.planInfoAddr, info)]
  const dataCount = rt.dataCount + extra.length
  const dataSection = concat([uleb(dataCount), rt.dataBody, ...extra])

  // the loader function: [] -> [], appended after the runtime's functions
  const loaderType = rt.voidType ?? rt.typeCount
  const loaderIndex = rt.importedFuncs + rt.definedFuncs
  const loaderBody = loaderCode(pagesNeeded, planAddr, plan.length, planSegment, rt.start)

  const hasData = rt.sections.some((s) => s.id === SEC_DATA)
  const hasDataCount = rt.sections.some((s) => s.id === SEC_DATACOUNT)
  const hasStart = rt.sections.some((s) => s.id === SEC_START)
  const hasFunctions = rt.sections.some((s) => s.id === SEC_FUNCTION)
  const out: Uint8Array[] = [rt.bytes.subarray(0, 8)]
  const body = (s: Section): Uint8Array => rt.bytes.subarray(s.start, s.end)
  for (const s of rt.sections) {
    switch (s.id) {
      case SEC_TYPE:
        out.push(rt.voidType === null ? section(SEC_TYPE, appendToVector(body(s), Uint8Array.of(0x60, 0, 0))) : rt.bytes.subarray(s.headerStart, s.end))
        break
      case SEC_FUNCTION:
        out.push(section(SEC_FUNCTION, appendToVector(body(s), uleb(loaderType))))
        break
      case SEC_START:
        out.push(section(SEC_START, uleb(loaderIndex)))
        break
      case SEC_DATACOUNT:
        out.push(section(SEC_DATACOUNT, uleb(dataCount)))
        break
      case SEC_CODE:
        // memory.init and data.drop need the data count section, which precedes code
        if (!hasDataCount) out.push(section(SEC_DATACOUNT, uleb(dataCount)))
        out.push(section(SEC_CODE, appendToVector(body(s), concat([uleb(loaderBody.length), loaderBody]))))
        if (!hasData) out.push(section(SEC_DATA, dataSection))
        break
      case SEC_DATA:
        out.push(section(SEC_DATA, dataSection))
        break
      default:
        out.push(rt.bytes.subarray(s.headerStart, s.end))
        // the start section sits between export (7) and element (9)/data count/code
        if (s.id === SEC_EXPORT && !hasStart) out.push(section(SEC_START, uleb(loaderIndex)))
    }
  }
  if (!hasFunctions) throw new Error('runtime.wasm has no function section')
  return concat(out)
}

/** Body of the loader: grow memory to `pages`, copy the plan in, drop its segment, run the
 *  runtime's start function. */
function loaderCode (pages: number, planAddr: number, planLen: number, segment: number, start: number | null): Uint8Array {
  const I32 = (v: number): Uint8Array => concat([Uint8Array.of(0x41), sleb(v)])
  return concat([
    Uint8Array.of(0x00), // no locals
    // if (memory.size < pages) { if (memory.grow(pages - memory.size) == -1) unreachable }
    Uint8Array.of(0x3f, 0x00), I32(pages), Uint8Array.of(0x49, 0x04, 0x40),
    I32(pages), Uint8Array.of(0x3f, 0x00, 0x6b, 0x40, 0x00), I32(-1), Uint8Array.of(0x46, 0x04, 0x40, 0x00, 0x0b),
    Uint8Array.of(0x0b),
    // memory.init segment (dst = planAddr, src = 0, n = planLen); data.drop segment
    I32(planAddr), I32(0), I32(planLen), Uint8Array.of(0xfc, 0x08), uleb(segment), Uint8Array.of(0x00),
    Uint8Array.of(0xfc, 0x09), uleb(segment),
    start === null ? new Uint8Array(0) : concat([Uint8Array.of(0x10), uleb(start)]),
    Uint8Array.of(0x0b),
  ])
}

/** A vector section body (count, items) with one more item appended. */
function appendToVector (vec: Uint8Array, item: Uint8Array): Uint8Array {
  const [n, p] = readUleb(vec, 0)
  return concat([uleb(n + 1), vec.subarray(p), item])
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

  // imports: count imported globals and functions (they precede defined ones) and the memory minimum
  let importedGlobals = 0
  let importedFuncs = 0
  let memoryMin = -1
  const imp = get(SEC_IMPORT)
  if (imp) {
    const r = new Reader(bytes, imp.start)
    const n = r.u32()
    for (let i = 0; i < n; i++) {
      r.name(); r.name()
      const kind = r.byte()
      if (kind === 0) { r.u32(); importedFuncs++ } else if (kind === 1) { r.byte(); r.limits() } else if (kind === 2) memoryMin = r.limits().min
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

  const fs = get(SEC_FUNCTION)
  const definedFuncs = fs ? readUleb(bytes, fs.start)[0] : 0
  const st = get(SEC_START)
  const start = st ? readUleb(bytes, st.start)[0] : null
  let voidType: number | null = null
  let typeCount = 0
  const ts = get(SEC_TYPE)
  if (ts) {
    const r = new Reader(bytes, ts.start)
    typeCount = r.u32()
    for (let i = 0; i < typeCount; i++) {
      if (r.byte() !== 0x60) throw new Error('runtime.wasm: unsupported type section entry')
      const np = r.u32(); r.pos += np
      const nr = r.u32(); r.pos += nr
      if (np === 0 && nr === 0 && voidType === null) voidType = i
    }
  }
  return { bytes, sections, planInfoAddr, staticEnd, dataCount, dataBody, memoryMin, importedFuncs, definedFuncs, start, voidType, typeCount }
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

function passiveSegment (data: Uint8Array): Uint8Array {
  return concat([Uint8Array.of(1), uleb(data.length), data])
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
