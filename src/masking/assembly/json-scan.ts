// The byte-level masker's hot loop (src/masking/text-mask.ts), in AssemblyScript: one pass over
// the body that validates it as the JavaScript scanner does (the same checks in the same order,
// so the same first error), follows the mask's rules into the containers they reach, and
// records the edits; assemble() then writes the masked body. The JavaScript scanner costs
// 2-3 ns a byte; this under 1 (SIMD over string contents). Built by
// scripts/build-json-scan.mjs into build/json-scan.wasm; json-scan.ts is its JavaScript side.

const OK: i32 = 0
const INVALID: i32 = -1
const TOO_DEEP: i32 = -2

const QUOTE: u32 = 0x22
const BACKSLASH: u32 = 0x5c
const LBRACE: u32 = 0x7b
const RBRACE: u32 = 0x7d
const LBRACKET: u32 = 0x5b
const RBRACKET: u32 = 0x5d
const COMMA: u32 = 0x2c
const COLON: u32 = 0x3a


// Set by scanString: whether the string just scanned had an escape (0 or 1).
let esc: u32 = 0

// The body is followed by PAD zero bytes (json-scan.ts reads PAD and puts them there). A NUL is valid
// nowhere in JSON, outside strings or in them, so every scan stops at the end by itself: reads
// need no bounds check, and a 16-byte load may start at any offset up to the end.
export const PAD: i32 = 32

// Space, \t, \n, \r: one compare for the usual byte (above 0x20), a bit test for the rest.
@inline function isWs (c: u32): bool { return c <= 0x20 && ((<u64>0x100002600 >> <u64>c) & 1) != 0 }
@inline function isDigit (c: u32): bool { return c - 0x30 < 10 }
@inline function isHex (c: u32): bool { return c - 0x30 < 10 || (c | 0x20) - 0x61 < 6 }
@inline function at (i: usize): u32 { return <u32>load<u8>(i) }

/** The escape at i (a backslash): the address after it, or 0 if it is not a JSON escape. */
@inline function escapeEnd (i: usize): usize {
  const e = at(i + 1)
  if (e == 0x75) { // \uXXXX
    return isHex(load<u8>(i + 2)) && isHex(load<u8>(i + 3)) && isHex(load<u8>(i + 4)) && isHex(load<u8>(i + 5)) ? i + 6 : 0
  }
  return e == QUOTE || e == BACKSLASH || e == 0x2f || e == 0x62 || e == 0x66 || e == 0x6e || e == 0x72 || e == 0x74 ? i + 2 : 0
}

/** The string opening at i: the offset after its closing quote, or 0 if it is not valid. */
@inline function scanString (i: usize): usize {
  esc = 0
  i++
  for (;;) {
    // Sixteen bytes at a time while none is a quote, a backslash or a control character (the
    // padding's NUL stops it at the end).
    let stop: i32
    for (;;) {
      const v = v128.load(i)
      stop = i8x16.bitmask(v128.or(v128.or(i8x16.eq(v, i8x16.splat(0x22)), i8x16.eq(v, i8x16.splat(0x5c))), i8x16.lt_u(v, i8x16.splat(0x20))))
      if (stop != 0) break
      i += 16
    }
    i += <usize>ctz(stop)
    const c = <u32>load<u8>(i)
    if (c == QUOTE) return i + 1
    if (c != BACKSLASH) return 0 // a control character, or the end
    esc = 1
    i = escapeEnd(i)
    if (i == 0) return 0
  }
  return 0
}

/**
 * scanString a byte at a time, for skipContainer's keys. Keys are short, and there the vector
 * step (a chain of load, compare, bitmask, ctz and reload before the next token can start)
 * costs more than the byte loop's well-predicted branches: on the bench's body (keys of 2-10
 * bytes) validation took 22 % less time with keys scanned this way. Values (10-25 bytes there)
 * were slower this way, and so were walk()'s keys, by ~7 % (2026-12-06, /tmp experiments).
 */
@inline function scanKey (i: usize): usize {
  esc = 0
  i++
  for (;;) {
    const c = <u32>load<u8>(i)
    if (c == QUOTE) return i + 1
    if (c >= 0x20 && c != BACKSLASH) { i++; continue }
    if (c != BACKSLASH) return 0 // a control character, or the end (the padding's NUL)
    esc = 1
    i = escapeEnd(i)
    if (i == 0) return 0
  }
  return 0
}

/** -? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?: the offset after it, or 0. */
@inline function scanNumber (i: usize): usize {
  if (load<u8>(i) == 0x2d) i++
  let c = at(i)
  if (c == 0x30) c = at(++i)
  else if (c >= 0x31 && c <= 0x39) { do c = at(++i); while (isDigit(c)) } else return 0
  if (c == 0x2e) {
    c = at(++i)
    if (!isDigit(c)) return 0
    do c = at(++i); while (isDigit(c))
  }
  if (c == 0x65 || c == 0x45) {
    c = at(++i)
    if (c == 0x2b || c == 0x2d) c = at(++i)
    if (!isDigit(c)) return 0
    do c = at(++i); while (isDigit(c))
  }
  return i
}

/** true, false or null at i: the offset after it, or 0. */
function scanLiteral (i: usize, c: u32): usize {
  // Whole words compared at once (the padding makes the reads safe); the first byte is c.
  if (c == 0x74) return load<u32>(i) == 0x65757274 ? i + 4 : 0 // "true"
  if (c == 0x66) return load<u32>(i + 1) == 0x65736c61 ? i + 5 : 0 // "alse"
  if (c == 0x6e) return load<u32>(i) == 0x6c6c756e ? i + 4 : 0 // "null"
  return 0
}

/** Why the last skipContainer or walk failed: INVALID or TOO_DEEP. */
let failure: i32 = INVALID

/**
 * Validates the container opening at i ("{" or "[", `depth` containers already open) and
 * returns the address after its closing bracket, or 0 (see `failure`). `stack` has a byte per
 * container it opens.
 */
function skipContainer (i: usize, depth: usize, maxDepth: usize, stack: usize): usize {
  let top: usize = 0 // containers open in here (empty ones are never pushed)
  let isObj = false // the innermost open one is an object
  let c = at(i)
  for (;;) {
    // A value starts at i (its first byte is c).
    if (c == LBRACE || c == LBRACKET) {
      if (depth + top >= maxDepth) return fail(TOO_DEEP)
      const obj = c == LBRACE
      c = at(++i)
      while (isWs(c)) c = at(++i)
      if (c == (obj ? RBRACE : RBRACKET)) {
        i++ // "{}" or "[]": a value like a scalar
        if (top == 0) return i
      } else {
        store<u8>(stack + top, obj ? 1 : 0)
        top++
        isObj = obj
        if (obj) {
          i = memberKey(i, c)
          if (i == 0) return fail(INVALID)
          c = at(i)
        }
        continue
      }
    } else {
      i = scanScalar(i, c)
      if (i == 0) return fail(INVALID)
    }
    // After a value: a comma and the next member, or the end of one or more containers.
    for (;;) {
      c = at(i)
      while (isWs(c)) c = at(++i)
      if (c == COMMA) {
        c = at(++i)
        while (isWs(c)) c = at(++i)
        if (isObj) {
          i = memberKey(i, c)
          if (i == 0) return fail(INVALID)
          c = at(i)
        }
        break
      }
      if (c != (isObj ? RBRACE : RBRACKET)) return fail(INVALID)
      i++
      if (--top == 0) return i
      isObj = load<u8>(stack + top - 1) == 1
    }
  }
  return 0
}

/** A member's key and colon at i (first byte c): the address of its value, or 0 (not valid). */
@inline function memberKey (i: usize, c: u32): usize {
  if (c != QUOTE) return 0
  i = scanKey(i)
  if (i == 0) return 0
  c = at(i)
  while (isWs(c)) c = at(++i)
  if (c != COLON) return 0
  c = at(++i)
  while (isWs(c)) c = at(++i)
  return i
}

@inline function fail (why: i32): usize { failure = why; return 0 }

/** A string, number or literal at i (first byte c): the address after it, or 0 (not valid). */
@inline function scanScalar (i: usize, c: u32): usize {
  if (c == QUOTE) return scanString(i)
  if (c == 0x2d || isDigit(c)) return scanNumber(i)
  return scanLiteral(i, c)
}

/** The interface's version: json-scan.ts refuses a module whose number differs from its own
 * (a build/ left from another checkout), and masks in JavaScript instead. Bump on any change
 * to an export's parameters or to the table's layout. */
export function version (): i32 { return 4 }

/** Where memory is free for the caller's layout (after this module's own data). */
export function heapBase (): usize { return (__heap_base + 15) & ~15 }

/**
 * Copies len bytes from src to dst (regions apart). Spans of up to 32 bytes — most of them
 * between masked values — go as two 16-byte moves, cheaper than memory.copy's call; they may
 * write up to 32 bytes past dst + len, which the next copy overwrites (the caller leaves room).
 */
@inline function copy (dst: usize, src: usize, len: usize): void {
  if (len <= 32) {
    v128.store(dst, v128.load(src))
    if (len > 16) v128.store(dst + 16, v128.load(src + 16))
  } else memory.copy(dst, src, len)
}

/**
 * Writes the masked body to `out`: the body's bytes with `count` edits applied (four i32 each
 * at `edits`: from, to, text address, text length; in body order, not overlapping). A negative
 * text address t is offset -(t + 1) in JavaScript's text area at `texts`. Returns the length
 * written, or -1 if the edits are out of order (a bug: no body). Needs 32 bytes of room past
 * the output and past the texts (see copy).
 */
export function assemble (body: usize, n: usize, edits: usize, count: usize, texts: usize, out: usize): isize {
  let q = out
  let src: usize = 0
  for (let k: usize = 0; k < count; k++) {
    const e = edits + (k << 4)
    const from = <usize>load<u32>(e)
    const to = <usize>load<u32>(e, 4)
    const t = load<i32>(e, 8)
    const len = <usize>load<u32>(e, 12)
    if (from < src || to < from || to > n) return -1
    copy(q, body + src, from - src)
    q += from - src
    copy(q, t < 0 ? texts + <usize>(-(t + 1)) : <usize>t, len)
    q += len
    src = to
  }
  memory.copy(q, body + src, n - src)
  return <isize>(q + (n - src) - out)
}

// --- the masking walk ------------------------------------------------------------------
//
// walk() validates the body and follows the mask's rules into it, recording the edits as
// text-mask.ts's scan does for the rules that end at a member (Emitter.endMember): removals
// (with one separating comma), constant replacements (redact, null), `last4` of a string
// without escapes; every other replacement asks JavaScript (the `replace` import). Containers
// no rule reaches into are only validated (skipContainer).
//
// The rules come as a table (all i32, addresses relative to the table; see text-mask.ts):
//   header: root node (-1: no rules, validate only)
//   node:   nKeys, keys, nIndices, indices, wild match (-1: none)
//   key:    bytes, length, match          index: index, match
//   match:  flags, child node (-1: none), text, text length, open prefix, its length,
//           closed prefix, its length, ordinal
// An edit is four i32: from, to (body offsets), text address (negative: JavaScript's text
// area), text length.

const M_ENDS = 1, M_REMOVE = 2, M_CONST = 4, M_LAST4 = 8
const FULL: i32 = -3
const BROKEN: i32 = -4 // more frames than the rules' depth allows: a bug, never a body

@external("env", "escapedKey")
declare function escapedKey (node: i32, from: i32, to: i32): i32

@external("env", "replace")
declare function replaceValue (ordinal: i32, from: i32, to: i32, kind: i32, escaped: i32, slot: usize): void

/**
 * Bytes the constant edits added minus the bytes all edits cut (JavaScript's texts aside). A
 * 64-bit count: a million values redacted with a 1024-character replacement add more than an
 * i32 holds, and a wrapped count would let json-scan.ts size the output (and judge it against
 * the masking limit) by a wrong total. Returned as an f64, exact far beyond any body.
 */
let growth: i64 = 0
export function walkGrowth (): f64 { return <f64>growth }

@inline function word (table: usize, rel: i32): i32 { return load<i32>(table + <usize>rel) }

@inline function skipWs (i: usize): usize {
  let c = at(i)
  while (isWs(c)) c = at(++i)
  return i
}

/** The match of the key at [ks + 1, ke - 1) (no escapes; addresses) in `node`, or -1. */
function keyMatch (table: usize, node: i32, ks: usize, ke: usize): i32 {
  const len = <i32>(ke - ks - 2)
  const n = word(table, node)
  let at = word(table, node + 4)
  for (let k = 0; k < n; k++, at += 12) {
    if (word(table, at + 4) != len) continue
    // Keys are short: a byte loop beats memory.compare's alignment prologue.
    const kb = table + <usize>word(table, at)
    let j = 0
    while (j < len && load<u8>(kb + <usize>j) == load<u8>(ks + 1 + <usize>j)) j++
    if (j == len) return word(table, at + 8)
  }
  return word(table, node + 16)
}

function indexMatch (table: usize, node: i32, index: i32): i32 {
  const n = word(table, node + 8)
  let at = word(table, node + 12)
  for (let k = 0; k < n; k++, at += 8) if (word(table, at) == index) return word(table, at + 4)
  return word(table, node + 16)
}

// The containers the rules reach into, outside the current one: 8 i32 each at `frames` (never
// more than a rule has tokens). The current one's state is in walk()'s locals.
const F_NODE = 0, F_OBJ = 4, F_INDEX = 8, F_COMMA = 12
const FRAME = 32

@inline function edit (edits: usize, count: i32, body: usize, from: usize, to: usize, text: i32, len: i32): void {
  const e = edits + (<usize>count << 4)
  store<i32>(e, <i32>(from - body)); store<i32>(e, <i32>(to - body), 4); store<i32>(e, text, 8); store<i32>(e, len, 12)
  growth += <i64>len - <i64>(to - from)
}

/**
 * Validates body[start, n) (at most maxDepth levels of nesting; `stack` has a byte per level)
 * and records the mask's edits at `edits` (room for `cap`). `frames` has room for `maxFrames`.
 * Returns the number of edits, INVALID, TOO_DEEP, FULL (call again with more room) or BROKEN.
 */
export function walk (body: usize, n: usize, start: usize, table: usize, stack: usize, maxDepth: usize, frames: usize, maxFrames: usize, edits: usize, cap: i32): i32 {
  growth = 0
  const end = body + n
  let count = 0
  let i = skipWs(body + start)
  if (i >= end) return INVALID
  let c = at(i)
  const root = word(table, 0)
  if (c != LBRACE && c != LBRACKET) {
    i = scanScalar(i, c) // the root is a scalar: nothing to mask
    if (i == 0) return INVALID
    return skipWs(i) == end ? 0 : INVALID
  }
  if (maxDepth == 0) return TOO_DEEP
  if (root < 0) {
    i = skipContainer(i, 0, maxDepth, stack)
    if (i == 0) return failure
    return skipWs(i) == end ? 0 : INVALID
  }
  let f = frames // where the current container's state goes while a child is open
  let depth: usize = 1 // open containers the rules reach into
  // The current container: its node, kind, last index, whether a member was kept, where the
  // previous member ended, and a comma waiting to go with the next kept member.
  let node = root
  let isObj = c == LBRACE
  let index = -1
  let kept = false
  let prev = -1
  let comma = -1
  i++
  let first = true // the current container has no member yet
  for (;;) {
    // Room for the two edits one member can make.
    if (count + 2 > cap) return FULL
    i = skipWs(i)
    c = at(i)
    if (c == (isObj ? RBRACE : RBRACKET)) {
      i++
      if (f == frames) return skipWs(i) == end ? count : INVALID
      // Back in the parent, where the container was a member: kept, and ending here.
      f -= FRAME
      depth--
      node = load<i32>(f + F_NODE); isObj = load<i32>(f + F_OBJ) != 0; index = load<i32>(f + F_INDEX)
      comma = load<i32>(f + F_COMMA)
      kept = true
      prev = <i32>(i - body)
      first = false
      continue
    }
    if (!first) {
      if (c != COMMA) return INVALID
      // After removed leading members the comma waits: it goes with the next kept member.
      if (!kept && prev >= 0) comma = <i32>(i - body)
      i = skipWs(i + 1)
      c = at(i)
    }
    first = false
    const ms = i
    let m: i32
    if (isObj) {
      if (c != QUOTE) return INVALID
      const ke = scanString(i)
      if (ke == 0) return INVALID
      m = esc != 0 ? escapedKey(node, <i32>(i - body), <i32>(ke - body)) : keyMatch(table, node, i, ke)
      i = skipWs(ke)
      if (at(i) != COLON) return INVALID
      i = skipWs(i + 1)
      c = at(i)
    } else {
      index++
      m = indexMatch(table, node, index)
    }
    if (i >= end) return INVALID
    const vs = i
    const flags = m < 0 ? 0 : word(table, m)
    if (comma >= 0 && (flags & M_REMOVE) == 0) {
      edit(edits, count++, body, body + <usize>comma, ms, 0, 0) // the comma before the first kept member
      comma = -1
    }
    const container = c == LBRACE || c == LBRACKET
    if (container && m >= 0 && (flags & M_ENDS) == 0) {
      // Rules reach inside: descend.
      if (depth >= maxDepth) return TOO_DEEP
      if (depth > maxFrames) return BROKEN
      store<i32>(f + F_NODE, node); store<i32>(f + F_OBJ, isObj ? 1 : 0); store<i32>(f + F_INDEX, index); store<i32>(f + F_COMMA, comma)
      f += FRAME
      depth++
      node = word(table, m + 4); isObj = c == LBRACE; index = -1; kept = false; prev = -1; comma = -1
      i = vs + 1
      first = true
      continue
    }
    let ve: usize
    let vesc: u32 = 0
    if (container) {
      ve = skipContainer(vs, depth, maxDepth, stack)
      if (ve == 0) return failure
    } else {
      ve = scanScalar(vs, c)
      if (ve == 0) return INVALID
      if (c == QUOTE) vesc = esc
    }
    if ((flags & M_REMOVE) != 0) {
      if (kept) edit(edits, count++, body, body + <usize>prev, ve, 0, 0) // ", member"
      else if (comma >= 0) { edit(edits, count++, body, body + <usize>comma, ve, 0, 0); comma = -1 }
      else edit(edits, count++, body, ms, ve, 0, 0) // the first member: its comma goes with the next kept one
    } else {
      if ((flags & M_ENDS) != 0) {
        const kind = c == QUOTE ? 1 : container ? 4 : c == 0x2d || isDigit(c) ? 2 : 3
        if ((flags & M_CONST) != 0) edit(edits, count++, body, vs, ve, <i32>table + word(table, m + 8), word(table, m + 12))
        else if ((flags & M_LAST4) != 0 && kind == 1 && vesc == 0) {
          // Its last four code points (UTF-8 sequences) and the closing quote are kept.
          let p = ve - 1
          for (let k = 0; k < 4 && p > vs + 1; k++) { p--; while ((load<u8>(p) & 0xc0) == 0x80) p-- }
          if (p == vs + 1) edit(edits, count++, body, vs, ve, <i32>table + word(table, m + 24), word(table, m + 28))
          else edit(edits, count++, body, vs, p, <i32>table + word(table, m + 16), word(table, m + 20))
        } else {
          replaceValue(word(table, m + 32), <i32>(vs - body), <i32>(ve - body), kind, <i32>vesc, edits + (<usize>count << 4))
          count++
        }
      }
      kept = true
    }
    prev = <i32>(ve - body)
    i = ve
  }
  return INVALID
}

