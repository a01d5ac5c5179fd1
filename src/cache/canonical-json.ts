// Canonical JSON for cache keys: object keys sorted by UTF-16 code units (the order RFC 8785
// uses), no whitespace, numbers and strings printed exactly as JSON.stringify prints them.
//
// The value semantics deliberately mirror JSON.stringify, because that is what
// @open-policy-agent/opa-wasm does to the input before the policy sees it: a property that is
// undefined (or a function/symbol) does not exist for the policy, the same thing inside an
// array becomes null, non-finite numbers become null, and toJSON() is honoured. A key built
// from anything else could tell apart two inputs the policy cannot (harmless) or — worse —
// merge two inputs the policy can tell apart.
import { isDeepFrozen } from '../deep-freeze.js'
import { BouncerError } from '../errors.js'
import { isRawJson, rawNumberText } from '../exact-json.js'

/**
 * Paths to drop while serialising (ignore_paths). A key mapped to `null` is dropped; a key
 * mapped to a node descends. Built once per key spec by {@link buildIgnoreTree}.
 */
export type IgnoreTree = Map<string, IgnoreTree | null>

// Deep enough for any realistic request (JSON bodies are size-capped upstream of us), shallow
// enough to turn a cyclic object into an error instead of a stack overflow.
export const MAX_DEPTH = 256

export function buildIgnoreTree (paths: readonly (readonly (string | number)[])[]): IgnoreTree | undefined {
  if (paths.length === 0) return undefined
  const root: IgnoreTree = new Map()
  for (const path of paths) {
    if (path.length === 0) continue // compileDecisionKey refuses empty ignore paths; never drop the whole input
    let node = root
    for (let i = 0; i < path.length; i++) {
      const seg = String(path[i])
      if (i === path.length - 1) { node.set(seg, null); break }
      const next = node.get(seg)
      if (next === null) break // an ancestor is already dropped entirely
      if (next === undefined) { const fresh: IgnoreTree = new Map(); node.set(seg, fresh); node = fresh } else node = next
    }
  }
  return root
}

// Strings with nothing to escape (the vast majority: methods, paths, tenant ids) skip the
// JSON.stringify call. Anything JSON.stringify would escape — quote, backslash, control
// characters, lone surrogates — takes the slow path, so the output is identical.
const NEEDS_ESCAPE = /["\\\u0000-\u001f\ud800-\udfff]/
function quote (s: string): string {
  return NEEDS_ESCAPE.test(s) ? JSON.stringify(s) : '"' + s + '"'
}

/**
 * Serialises `value` canonically. Returns undefined where JSON.stringify would produce
 * nothing (undefined, functions, symbols), so callers can treat that as "absent".
 * Throws BOUNCER_ERR_CACHE_KEY_INPUT for values JSON cannot carry (bigint, cycles).
 */
export function canonicalJson (value: unknown, ignore?: IgnoreTree): string | undefined {
  return write(value, ignore, 0, '')
}

function write (v: unknown, ignore: IgnoreTree | undefined, depth: number, key: string): string | undefined {
  switch (typeof v) {
    case 'string': return quote(v)
    // String(n) and JSON.stringify(n) agree for every finite number (including -0 → "0").
    case 'number': return Number.isFinite(v) ? String(v) : 'null'
    case 'boolean': return v ? 'true' : 'false'
    case 'undefined': case 'function': case 'symbol': return undefined
    case 'bigint': throw new BouncerError('BOUNCER_ERR_CACHE_KEY_INPUT', ['bigint value'])
  }
  if (v === null) return 'null'
  if (depth >= MAX_DEPTH) throw new BouncerError('BOUNCER_ERR_CACHE_KEY_INPUT', [`nested deeper than ${MAX_DEPTH} levels (or cyclic)`])
  // A number read exactly (exact-json.ts): its text as written, as JSON.stringify writes it
  // (the policy can tell 1.0 from 1, so the key must too).
  if (isRawJson(v)) return rawNumberText(v)
  const obj = v as Record<string, unknown>
  if (typeof obj.toJSON === 'function') return write((obj.toJSON as (k: string) => unknown)(key), ignore, depth + 1, key)
  // A deep-frozen value (a verified token's claims, a shared decision) cannot change: its text
  // is kept with it. Whole values only (no ignore tree, from the top, so the depth limit holds).
  if (depth === 0 && ignore === undefined && isDeepFrozen(obj)) {
    let text = frozenTexts.get(obj)
    if (text === undefined) {
      text = writeContainer(obj, undefined, 0)
      if (text !== undefined) frozenTexts.set(obj, text)
    }
    return text
  }
  return writeContainer(obj, ignore, depth)
}

const frozenTexts = new WeakMap<object, string>()

/** An array or object (not null, no toJSON), its members written by write(). */
function writeContainer (obj: Record<string, unknown>, ignore: IgnoreTree | undefined, depth: number): string | undefined {
  const v: unknown = obj
  if (Array.isArray(v)) {
    let out = '['
    for (let i = 0; i < v.length; i++) {
      if (i > 0) out += ','
      let sub: IgnoreTree | undefined
      if (ignore !== undefined) {
        const rule = ignore.get(String(i))
        // A dropped array element keeps its slot as `?` (not valid JSON, so it cannot collide
        // with any real value): removing it would shift later elements and make [a, x] and
        // [x, a] serialise the same once index 0 is ignored.
        if (rule === null) { out += '?'; continue }
        sub = rule
      }
      out += write(v[i], sub, depth + 1, String(i)) ?? 'null'
    }
    return out + ']'
  }
  const keys = Object.keys(obj).sort()
  let out = '{'
  let first = true
  for (const k of keys) {
    let sub: IgnoreTree | undefined
    if (ignore !== undefined) {
      const rule = ignore.get(k)
      if (rule === null) continue
      sub = rule
    }
    const s = write(obj[k], sub, depth + 1, k)
    if (s === undefined) continue
    if (first) first = false; else out += ','
    out += quote(k) + ':' + s
  }
  return out + '}'
}
