// JavaScript side of the masker's Wasm walk (build/json-scan.wasm, from
// src/masking/assembly/json-scan.ts): lays out Wasm memory, copies the body in, runs the walk
// and the assembly, and answers the walk's questions through text-mask.ts's hooks. Without the
// module (a build without it) the masker scans in JavaScript, with the same results: the walk
// is a speed-up, never a different answer.
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { packageRoot } from '../compiler/wasm/runtime-files.js'
import { MAX_POINTER_TOKENS } from './pointer.js'

/** What the walk found wrong with a body (the first problem in document order). */
export const WALK_INVALID = -1
export const WALK_TOO_DEEP = -2
/** The masked body would be larger than the caller's limit (found here, not by the walk). */
export const WALK_TOO_LARGE = -5
const WALK_FULL = -3
const WALK_BROKEN = -4

// The interface this file speaks (assembly/json-scan.ts's version()). 4: walkGrowth() is an
// f64 of a 64-bit count (3's i32 wrapped past 2 GiB of growth: a wrong output size).
const WALK_VERSION = 4

interface ScanExports {
  version?: () => number
  memory: WebAssembly.Memory
  walk (body: number, n: number, start: number, table: number, stack: number, maxDepth: number, frames: number, maxFrames: number, edits: number, cap: number): number
  /** The constant edits' growth (an exact integer; see assembly/json-scan.ts). */
  walkGrowth (): number
  assemble (body: number, n: number, edits: number, count: number, texts: number, out: number): number
  heapBase (): number
  /** Zero bytes the walk needs after the body: its widest read past the end (its own constant). */
  PAD: WebAssembly.Global
}

/** What the walk asks JavaScript for (text-mask.ts answers). */
export interface WalkHooks {
  /** The match (its table address; -1: none) of the escaped key body[from, to) (quotes included) in the table's node at `node`. */
  escapedKey (node: number, from: number, to: number): number
  /** The JSON text replacing the value body[from, to) of `kind` (1 string, 2 number, 3 literal, 4 container) for the table's match number `ordinal`. */
  replace (ordinal: number, from: number, to: number, kind: number, escaped: boolean): Uint8Array
}

/**
 * The texts JavaScript supplies during one walk, kept here and copied into Wasm memory before
 * the assembly (an edit's text address t < 0 is offset -(t + 1) among them).
 */
export class WalkTexts {
  bytes = new Uint8Array(4096)
  length = 0
  /** Bytes their edits cut minus the bytes the texts add. */
  shrink = 0
  /** Most bytes the texts may take: every text is part of the output, so past the output's limit they are not kept. */
  limit = Infinity
  /** A text was not kept (the output is over its limit): no assembly. */
  over = false

  reset (limit: number): void { this.length = 0; this.shrink = 0; this.limit = limit; this.over = false }

  /** Keeps `text`; returns its address as an edit names it. */
  add (text: Uint8Array): number {
    const tl = text.length
    if (this.over || this.length + tl > this.limit) { this.over = true; return -1 }
    let b = this.bytes
    if (this.length + tl > b.length) { b = new Uint8Array(Math.max(Math.min(2 * b.length, this.limit), this.length + tl)); b.set(this.bytes.subarray(0, this.length)); this.bytes = b }
    const at = this.length
    let q = at
    for (let i = 0; i < tl; i++) b[q++] = text[i]!
    this.length = q
    return -(at + 1)
  }
}

// Bodies up to this size use one long-lived instance (its memory stays allocated for the
// next); a larger body gets an instance of its own that is dropped after.
const SHARED_LIMIT = 1024 * 1024
const PAGE = 65536
// Frames of the walk: one per open container rules reach into (the current one's state is in
// the walk's locals), never more than a rule has tokens; 32 bytes each.
const MAX_FRAMES = MAX_POINTER_TOKENS + 1
const FRAME_BYTES = 32 * MAX_FRAMES

let module: WebAssembly.Module | null | undefined
let shared: ScanExports | undefined
// The walk in progress: its instance, hooks and texts (the imports below answer for it).
let current: ScanExports | undefined
let hooks: WalkHooks | null = null
let texts: WalkTexts | null = null

const imports = {
  env: {
    abort: () => { throw new Error('json-scan: abort') },
    escapedKey: (node: number, from: number, to: number): number => hooks!.escapedKey(node, from, to),
    replace: (ordinal: number, from: number, to: number, kind: number, escaped: number, slot: number): void => {
      const text = hooks!.replace(ordinal, from, to, kind, escaped !== 0)
      const w = new Int32Array(current!.memory.buffer, slot, 4)
      w[0] = from; w[1] = to; w[2] = texts!.add(text); w[3] = text.length
      texts!.shrink += to - from - text.length
    },
  },
}

function scanModule (): WebAssembly.Module | null {
  if (module !== undefined) return module
  const path = join(packageRoot(), 'build', 'json-scan.wasm')
  // The app says so at start (src/app/masking.ts); the masker just falls back.
  if (!existsSync(path)) return (module = null)
  const m = new WebAssembly.Module(readFileSync(path))
  // A module of another interface (build/ from another checkout, dist/ not rebuilt) would be
  // called with the wrong arguments: the same as missing.
  const ex = new WebAssembly.Instance(m, imports).exports as unknown as ScanExports
  if (ex.version?.() !== WALK_VERSION) return (module = null)
  shared = ex
  return (module = m)
}

/** build/json-scan.wasm, or null when it is missing or of another interface (the masker then scans in JavaScript). */
export function walkModulePath (): string | null {
  return scanModule() === null ? null : join(packageRoot(), 'build', 'json-scan.wasm')
}

function reserve (ex: ScanExports, bytes: number): void {
  const have = ex.memory.buffer.byteLength
  if (bytes > have) ex.memory.grow(Math.ceil((bytes - have) / PAGE))
}

/**
 * Validates buf[start, buf.length) as one JSON value (at most maxDepth levels of nesting) and
 * masks it by `table` (text-mask.ts builds it; its root -1: validate only). Returns null when
 * the Wasm module is not available, WALK_INVALID or WALK_TOO_DEEP (these first: the whole body
 * is validated), WALK_TOO_LARGE when the masked body would be longer than `maxOutput` bytes
 * (found before its memory is reserved; `buf` itself, returned when nothing changed, is the
 * caller's to judge), `buf` itself when nothing changed, else the masked body — in `target`
 * when it fits (the caller's scratch copy of the body), else in a new Buffer.
 */
export function walkJson (buf: Buffer, start: number, maxDepth: number, table: Uint8Array, walkHooks: WalkHooks,
  walkTexts: WalkTexts, target: Buffer | null, maxOutput = Infinity): Buffer | number | null {
  const m = scanModule()
  if (m === null) return null
  const n = buf.length
  const ex = n <= SHARED_LIMIT ? (shared ??= new WebAssembly.Instance(m, imports).exports as unknown as ScanExports) : new WebAssembly.Instance(m, imports).exports as unknown as ScanExports
  // Layout after the module's own data: body, its zero padding (the walk's scans stop at its
  // NUL instead of checking bounds), depth stack (a byte per level), table, frames, edits.
  const body = ex.heapBase()
  const stack = body + n + (ex.PAD.value as number)
  const depth = Math.min(maxDepth, n + 1)
  const tableAt = (stack + depth + 15) & ~15
  const frames = (tableAt + table.length + 15) & ~15
  const editsAt = frames + FRAME_BYTES
  let cap = 64 + (n >>> 5)
  reserve(ex, editsAt + 16 * cap)
  const mem = new Uint8Array(ex.memory.buffer)
  mem.set(buf, body)
  mem.fill(0, body + n, stack)
  new Uint8Array(ex.memory.buffer, tableAt, table.length).set(table)
  for (;;) {
    walkTexts.reset(maxOutput)
    current = ex; hooks = walkHooks; texts = walkTexts
    let count: number
    try {
      count = ex.walk(body, n, start, tableAt, stack, Math.min(maxDepth, 0x7fffffff), frames, MAX_FRAMES, editsAt, cap)
    } finally { current = undefined; hooks = null; texts = null }
    if (count === WALK_FULL) {
      // A member makes two edits at most, and a member takes two bytes at least.
      if (cap > n + 4) throw new Error('masking: the walk asks for more room for edits than the body can need (a bug): no body')
      cap *= 4; reserve(ex, editsAt + 16 * cap); continue
    }
    if (count === WALK_BROKEN) throw new Error('masking: the walk went deeper than the rules reach (a bug): no body')
    if (count < 0) return count
    if (count === 0) return buf
    // The output's size is known now, before any room for it is taken: over the limit, none is.
    if (walkTexts.over) return WALK_TOO_LARGE
    const total = n + ex.walkGrowth() - walkTexts.shrink
    if (total > maxOutput) return WALK_TOO_LARGE
    // 32 bytes of room after the texts and after the output: assemble's short copies.
    const textsAt = (editsAt + 16 * count + 15) & ~15
    const out = (textsAt + walkTexts.length + 32 + 15) & ~15
    reserve(ex, out + total + 32)
    new Uint8Array(ex.memory.buffer, textsAt, walkTexts.length).set(walkTexts.bytes.subarray(0, walkTexts.length))
    const written = ex.assemble(body, n, editsAt, count, textsAt, out)
    // An edit out of order (a bug) must not produce a body.
    if (written !== total) throw new Error(`masking: assembled ${written} bytes, expected ${total}`)
    const result = target !== null && total <= target.length ? target.subarray(0, total) : Buffer.allocUnsafe(total)
    result.set(new Uint8Array(ex.memory.buffer, out, total))
    return result
  }
}
