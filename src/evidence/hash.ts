// The chain hash of a parsed record, as decision-log's computeHash (SHA-256 of the canonical
// JSON without `hash`), but faster on what the logger writes: when every nested object already
// has its keys in canonical order — always true of records Bouncer sealed — JSON.stringify of
// each top-level value IS its canonical form, and the native serialiser is several times
// faster than the JavaScript one. Anything else (keys reordered by a re-serialising control
// plane) takes computeHash, so the result is always exactly computeHash's.
import { hash as oneShotHash } from 'node:crypto'
import { computeHash } from '../decision-log/chain.js'
import { isRawJson, rawJsonText } from '../exact-json.js'

const NEEDS_ESCAPE = /["\\\u0000-\u001f\ud800-\udfff]/

function quote (s: string): string {
  return NEEDS_ESCAPE.test(s) ? JSON.stringify(s) : '"' + s + '"'
}

/** True when every object under v (v included) has its keys in canonical (UTF-16) order and
 * holds only JSON values: then JSON.stringify(v) is canonical. */
function canonicalAlready (v: unknown): boolean {
  if (v === null || typeof v !== 'object') return typeof v !== 'number' || Number.isFinite(v)
  // A number read exactly (exact-json.ts): JSON.stringify writes its text as it came, the
  // canonical form only when that is its canonical text (1.5e-07, 100.0 and -0 are not).
  if (isRawJson(v)) return rawJsonText(v) === v.rawJSON
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) if (!canonicalAlready(v[i])) return false
    return true
  }
  let prev: string | undefined
  for (const k in v as Record<string, unknown>) {
    if (prev !== undefined && !(prev < k)) return false
    prev = k
    if (!canonicalAlready((v as Record<string, unknown>)[k])) return false
  }
  return true
}

/** computeHash(record), computed the fast way when that gives the same bytes. */
export function recordHash (record: Record<string, unknown>): string {
  const keys = Object.keys(record)
  keys.sort()
  let body = '{'
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]!
    if (k === 'hash') continue
    // computeHash hashes "__proto__" as the member it is (no event has one: an edit)
    if (k === '__proto__') return computeHash(record)
    const v = record[k]
    if (v === undefined) continue
    if (!canonicalAlready(v)) return computeHash(record)
    body += (body.length > 1 ? ',' : '') + quote(k) + ':' + JSON.stringify(v)
  }
  return oneShotHash('sha256', body + '}', 'hex')
}

// ---------------------------------------------------------------------------------------------
// From the text. A line the logger wrote is `{"seq":N,"prev_hash":"…","hash":"…",<members>}`
// with <members> the canonical members of the rest of the event (src/decision-log/chain.ts), so
// the hash body is that text with the chain members moved to their sorted places: nothing to
// serialise. That holds only if the text really is canonical, which textHash checks as it goes
// (no whitespace, keys strictly increasing at every level, escapes as JSON.stringify writes
// them, integers in their shortest form); anything else — a re-serialising control plane,
// pretty-printing, a number with a fraction — returns null, and the caller hashes the parsed
// record instead. For canonical text, canonicalJson(JSON.parse(text) without hash) is exactly
// the body built here, so the result is computeHash's.

const enum C { QUOTE = 0x22, BACKSLASH = 0x5c, COMMA = 0x2c, COLON = 0x3a, LBRACE = 0x7b, RBRACE = 0x7d, LBRACKET = 0x5b, RBRACKET = 0x5d, MINUS = 0x2d, ZERO = 0x30, NINE = 0x39 }

/** Characters that follow a backslash in JSON.stringify's output (besides u). */
function shortEscape (c: number): boolean {
  return c === C.QUOTE || c === C.BACKSLASH || c === 0x62 /* b */ || c === 0x66 /* f */ || c === 0x6e /* n */ || c === 0x72 /* r */ || c === 0x74 /* t */
}

function lowerHex (c: number): number {
  return c >= 0x30 && c <= 0x39 ? c - 0x30 : c >= 0x61 && c <= 0x66 ? c - 0x61 + 10 : -1
}

/** Whether strings must be read character by character: the text holds a backslash (escapes to
 * check) or a lone surrogate (JSON.stringify escapes those). Otherwise every string ends at the
 * next quote and is canonical as it stands — JSON.parse accepted the text, so no string in it
 * holds a raw control character. (Both searches are native: no pattern over every character.) */
function slowRead (line: string): boolean {
  return line.includes('\\') || !(line as unknown as { isWellFormed: () => boolean }).isWellFormed()
}

/** End (after the closing quote) of the canonical string at p, or -1. */
function str (text: string, slow: boolean, p: number): number {
  if (!slow) return text.indexOf('"', p + 1) + 1 || -1
  let i = p + 1
  for (;;) {
    const c = text.charCodeAt(i)
    if (c === C.QUOTE) return i + 1
    if (c === C.BACKSLASH) {
      const d = text.charCodeAt(i + 1)
      if (shortEscape(d)) { i += 2; continue }
      // \u00xx for a control character without a short form; \u escapes of anything else
      // (lone surrogates) are not followed.
      if (d !== 0x75 || text.charCodeAt(i + 2) !== C.ZERO || text.charCodeAt(i + 3) !== C.ZERO) return -1
      const hi = lowerHex(text.charCodeAt(i + 4))
      const lo = lowerHex(text.charCodeAt(i + 5))
      if (hi < 0 || hi > 1 || lo < 0) return -1
      const code = hi * 16 + lo
      if (code === 8 || code === 9 || code === 10 || code === 12 || code === 13) return -1
      i += 6
      continue
    }
    if (c >= 0xd800 && c <= 0xdfff) {
      // a surrogate pair stands as it is; JSON.stringify escapes a lone surrogate
      const d = text.charCodeAt(i + 1)
      if (c <= 0xdbff && d >= 0xdc00 && d <= 0xdfff) { i += 2; continue }
      return -1
    }
    if (c < 0x20 || Number.isNaN(c)) return -1
    i++
  }
}

/** True when the key text at [a, b) (quotes excluded, no escapes) sorts after [pa, pb). */
function after (text: string, pa: number, pb: number, a: number, b: number): boolean {
  const n = Math.min(pb - pa, b - a)
  for (let k = 0; k < n; k++) {
    const x = text.charCodeAt(pa + k)
    const y = text.charCodeAt(a + k)
    if (x !== y) return y > x
  }
  return b - a > pb - pa
}

/** Compare the key text at [a, b) with a constant key: <0, 0, >0. */
function compareKey (text: string, a: number, b: number, k: string): number {
  const n = Math.min(b - a, k.length)
  for (let i = 0; i < n; i++) {
    const d = text.charCodeAt(a + i) - k.charCodeAt(i)
    if (d !== 0) return d
  }
  return (b - a) - k.length
}

/** End of the canonical integer at p, or -1 (fractions and exponents are not followed). */
function num (text: string, p: number): number {
  let i = p
  if (text.charCodeAt(i) === C.MINUS) i++
  const first = text.charCodeAt(i)
  if (first === C.ZERO) {
    if (i > p) return -1 // -0
    i++
  } else {
    if (!(first > C.ZERO && first <= C.NINE)) return -1
    const start = i
    i++
    for (let c = text.charCodeAt(i); c >= C.ZERO && c <= C.NINE; c = text.charCodeAt(++i));
    if (i - start > 15) return -1
  }
  const c = text.charCodeAt(i)
  return c === 0x2e || c === 0x65 || c === 0x45 ? -1 : i
}

/** End of the canonical value at p, or -1. */
function value (text: string, slow: boolean, p: number, depth: number): number {
  const c = text.charCodeAt(p)
  if (c === C.QUOTE) return str(text, slow, p)
  if (c === C.LBRACE) return obj(text, slow, p, depth)
  if (c === C.LBRACKET) {
    if (depth > 64) return -1
    let i = p + 1
    if (text.charCodeAt(i) === C.RBRACKET) return i + 1
    for (;;) {
      i = value(text, slow, i, depth + 1)
      if (i < 0) return -1
      const d = text.charCodeAt(i)
      if (d === C.RBRACKET) return i + 1
      if (d !== C.COMMA) return -1
      i++
    }
  }
  if (c === 0x74) return text.startsWith('true', p) ? p + 4 : -1
  if (c === 0x66) return text.startsWith('false', p) ? p + 5 : -1
  if (c === 0x6e) return text.startsWith('null', p) ? p + 4 : -1
  return num(text, p)
}

function obj (text: string, slow: boolean, p: number, depth: number): number {
  if (depth > 64) return -1
  let i = p + 1
  if (text.charCodeAt(i) === C.RBRACE) return i + 1
  let pa = -1
  let pb = -1
  for (;;) {
    if (text.charCodeAt(i) !== C.QUOTE) return -1
    const end = str(text, slow, i)
    if (end < 0) return -1
    const a = i + 1
    const b = end - 1
    if (slow && text.lastIndexOf('\\', b) >= a) return -1 // an escaped key: its sort order is not read off the text
    if (pa >= 0 && !after(text, pa, pb, a, b)) return -1
    pa = a
    pb = b
    if (text.charCodeAt(end) !== C.COLON) return -1
    i = value(text, slow, end + 1, depth + 1)
    if (i < 0) return -1
    const d = text.charCodeAt(i)
    if (d === C.RBRACE) return i + 1
    if (d !== C.COMMA) return -1
    i++
  }
}

/**
 * computeHash of the record `line` holds, from the text, when the text is exactly the logger's
 * layout of a canonical record; null when it is not (then hash the parsed record). `line` must
 * be text JSON.parse accepts (what it returns for anything else means nothing).
 */
export function textHash (line: string): string | null {
  if (!line.startsWith('{"seq":')) return null
  const text = line
  const slow = slowRead(line)
  {
    const seqEnd = num(text, 7)
    if (seqEnd < 0 || !line.startsWith(',"prev_hash":', seqEnd)) return null
    const prevEnd = str(text, slow, seqEnd + 13)
    if (prevEnd < 0 || !line.startsWith(',"hash":', prevEnd)) return null
    const hashEnd = str(text, slow, prevEnd + 8)
    if (hashEnd < 0) return null
    // The other members: keys strictly increasing, none of them a chain field.
    const last = line.length - 1
    if (line.charCodeAt(last) !== C.RBRACE) return null
    let i = hashEnd
    let pa = -1
    let pb = -1
    let atPrev = -1 // where the first member sorting after "prev_hash" begins (its comma)
    let atSeq = -1 // the same for "seq"
    while (i < last) {
      if (line.charCodeAt(i) !== C.COMMA || line.charCodeAt(i + 1) !== C.QUOTE) return null
      const end = str(text, slow, i + 1)
      if (end < 0) return null
      const a = i + 2
      const b = end - 1
      if (slow && line.lastIndexOf('\\', b) >= a) return null
      if (pa >= 0 && !after(text, pa, pb, a, b)) return null
      if (atPrev < 0) {
        const k = compareKey(text, a, b, 'prev_hash')
        if (k === 0) return null
        if (k > 0) atPrev = i
      }
      if (atSeq < 0) {
        const k = compareKey(text, a, b, 'seq')
        if (k === 0) return null
        if (k > 0) atSeq = i
      }
      if (compareKey(text, a, b, 'hash') === 0 || compareKey(text, a, b, '__proto__') === 0) return null // see recordHash
      pa = a
      pb = b
      if (line.charCodeAt(end) !== C.COLON) return null
      i = value(text, slow, end + 1, 1)
      if (i < 0) return null
    }
    if (i !== last) return null
    if (atPrev < 0) atPrev = last
    if (atSeq < 0) atSeq = last
    // body: the members before prev_hash, prev_hash, those between, seq, the rest.
    const seqMember = line.slice(1, seqEnd) // "seq":N
    const prevMember = line.slice(seqEnd + 1, prevEnd) // "prev_hash":"…"
    let body = '{'
    if (atPrev > hashEnd) body += line.slice(hashEnd + 1, atPrev) + ','
    body += prevMember + line.slice(atPrev, atSeq) + ',' + seqMember + line.slice(atSeq, last) + '}'
    return oneShotHash('sha256', body, 'hex')
  }
}
