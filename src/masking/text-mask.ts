// Masking a JSON body as text: one pass over the bytes that validates the JSON, follows the
// JSON Pointer of every value, and copies the upstream's bytes through untouched except for
// the values a rule matches. Nothing is parsed into objects and re-serialised, so numbers of
// any size or form (12345678901234567891, 1e400, -0, 1.50), string escapes and whitespace
// outside masked values reach the client exactly as the upstream sent them.
//
// Semantics are applyMask's (apply.ts), location by location:
// - Rules run in list order at each location. The first rule that ends at a value decides
//   from the original value; later rules ending there see its result (a string or null), so
//   `hash` then `remove` removes. A value replaced by a rule is opaque to every later rule
//   that would reach inside it (the outer rule wins). Rules listed *before* the outer one
//   that reach inside it still run first (their locations are reported, and `hash` of the
//   container hashes what they left), as with applyMask.
// - Array indices are the original ones (removal never renumbers what later rules see).
// - `remove` deletes the member or element together with one separating comma, so the result
//   stays valid JSON; whitespace around it is kept as far as possible.
// - Duplicate object keys: every occurrence is masked (parsers disagree on which one wins, so
//   none is left readable). Keys are compared after decoding escapes ("\u0073sn" is "ssn").
// - Numbers used by an action keep their exact digits: `last4` of 12345678901234567891 is
//   "****7891", and `hash` of an integer hashes its decimal text (see numberText).
//
// Output: the original bytes (the same Buffer) when no rule matched anything, else one new
// Buffer assembled from untouched spans and replacement texts — or, with `inPlace`, the body's
// own Buffer rewritten from the front. Containers no rule reaches into are only validated
// (skipContainer); the rules active in a container are precompiled per depth (Dispatch).
//
// Without pointer lists (as the proxy masks) the same pass runs in Wasm (json-scan.ts and
// assembly/json-scan.ts, about twice as fast): the dispatches are handed over as a table
// (walkTableOf), and the walk asks back only for escaped keys and for replacements that are
// not constant (WalkAnswers). This file's scanner remains the one with pointer lists, and the
// reference the tests compare the walk with.
import { isUtf8 } from 'node:buffer'
import { DEFAULT_LAST4_PREFIX, DEFAULT_REDACTION, hashText, last4 } from './actions.js'
import { escapeToken, type PathToken } from './pointer.js'
import { WALK_TOO_DEEP, WALK_TOO_LARGE, walkJson, WalkTexts, type WalkHooks } from './json-scan.js'
import type { CompiledMask, CompiledRule } from './rules.js'

export interface TextMaskOptions {
  /** HMAC key for `hash` rules (checked by the caller; see checkHashKey). */
  hashKey?: Uint8Array
  /** Deepest nesting of objects/arrays accepted. */
  maxDepth: number
  /** Collect the masked/erased pointers (default true); without them a pass is cheaper. */
  lists?: boolean
  /**
   * The body is the caller's scratch copy: the masked text may be written over it (only with
   * `lists: false`, which reads nothing behind the scanning position). `body` is then
   * undefined after the call, whatever the result, except when the result is `body` itself.
   */
  inPlace?: boolean
  /**
   * 'js' masks with the JavaScript scanner even where the Wasm walk would (json-scan.ts:
   * without pointer lists); the results are the same, only slower. For comparisons (tests,
   * bench/mask.ts).
   */
  scanner?: 'wasm' | 'js'
  /**
   * Largest masked body, in bytes (default: no limit). A longer one gives { ok: false,
   * tooLarge: true }, and no buffer longer than the limit is allocated for it; the body is
   * still validated and every replacement computed, so any other refusal wins — alike with
   * both scanners. A container a `hash` rule hashes after rules inside it ran is built as
   * text first: that text has the same limit (over it is the same refusal).
   */
  maxOutputBytes?: number
}

export type TextMaskResult =
  | { ok: true; body: Buffer; masked: string[]; erased: string[] }
  | { ok: false; reason: string; tooLarge?: true }

/** Thrown inside the scanner, turned into { ok: false, reason } at the entry point. */
class Invalid extends Error {}
const INVALID_JSON = 'body is not valid JSON'
const tooDeep = (maxDepth: number): string => `nesting is deeper than ${maxDepth} levels`
const tooLarge = (limit: number): TextMaskResult => ({ ok: false, reason: `the masked body would be larger than ${limit} bytes`, tooLarge: true })

const TEXTS = new WalkTexts()
// The table of a mask without rules: the walk only validates.
const NO_RULES = new Uint8Array(new Int32Array([-1]).buffer)

/** A rule as the scanner uses it: tokens plus the UTF-8 bytes of each literal key token. */
interface TextRule {
  readonly order: number
  readonly rule: CompiledRule
  readonly tokens: readonly PathToken[]
  /** Per token: the literal key (null for a wildcard), its UTF-8 bytes, its array index (-1: none). */
  readonly keys: readonly (string | null)[]
  readonly keyBytes: readonly (Buffer | null)[]
  readonly indices: readonly number[]
  /** Per token: the literal key escaped for a reported pointer (null for a wildcard). */
  readonly escaped: readonly (string | null)[]
  readonly remove: boolean
  /** last4: the prefix, its JSON text, and that text without the closing quote. */
  readonly prefix: string
  readonly prefixJson: Buffer
  readonly prefixOpen: Buffer
  /** redact and null: the result, and its JSON text (the same for every value). */
  readonly value: string | null
  readonly bytes: Buffer | null
  /** [this rule]: the match list of a member only this rule matches, shared (never mutated). */
  readonly alone: TextRule[]
}

const TRUE = Buffer.from('true'), FALSE = Buffer.from('false'), NULL = Buffer.from('null'), CUT = Buffer.alloc(0)

const compiled = new WeakMap<CompiledMask, TextRule[]>()

function textRules (mask: CompiledMask): TextRule[] {
  let rules = compiled.get(mask)
  if (rules === undefined) {
    rules = mask.rules.map((rule, order) => ({
      order,
      rule,
      tokens: rule.tokens,
      keys: rule.tokens.map((t) => (t.wildcard ? null : t.key)),
      keyBytes: rule.tokens.map((t) => (t.wildcard ? null : Buffer.from(t.key, 'utf8'))),
      indices: rule.tokens.map((t) => (t.wildcard ? -1 : t.index)),
      escaped: rule.tokens.map((t) => (t.wildcard ? null : escapeToken(t.key))),
      remove: rule.action === 'remove',
      prefix: rule.replacement ?? DEFAULT_LAST4_PREFIX,
      prefixJson: Buffer.from(JSON.stringify(rule.replacement ?? DEFAULT_LAST4_PREFIX)),
      prefixOpen: Buffer.from(JSON.stringify(rule.replacement ?? DEFAULT_LAST4_PREFIX).slice(0, -1)),
      value: rule.action === 'redact' ? rule.replacement ?? DEFAULT_REDACTION : null,
      bytes: rule.action === 'redact' ? Buffer.from(JSON.stringify(rule.replacement ?? DEFAULT_REDACTION)) : rule.action === 'null' ? NULL : null,
      alone: [] as TextRule[],
    }))
    for (const r of rules) r.alone.push(r)
    compiled.set(mask, rules)
  }
  return rules
}

/**
 * Masks `body` (the decoded upstream bytes) with `mask`. Invalid UTF-8, invalid JSON and
 * nesting deeper than `maxDepth` give { ok: false, reason } (reasons never quote the body).
 */
export function maskJsonText (body: Uint8Array, mask: CompiledMask, opts: TextMaskOptions): TextMaskResult {
  const buf = Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength)
  if (!isUtf8(buf)) return { ok: false, reason: 'body is not valid UTF-8' }
  const lists = opts.lists !== false
  const limit = opts.maxOutputBytes ?? Infinity
  const ctx: Ctx = { hashKey: opts.hashKey, lists, inPlace: opts.inPlace === true && !lists, masked: [], erased: [], duplicates: false, over: false }
  // A UTF-8 BOM is skipped by the scanner (RFC 8259 lets parsers ignore it) and kept in the output.
  const start = buf.length >= 3 && buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf ? 3 : 0
  const rules = mask.empty ? null : textRules(mask)
  // Without pointer lists (as the proxy masks) the Wasm walk does it all: validation, the
  // rules, the edits; JavaScript answers only for replacements the walk has no text for.
  const table = lists || opts.scanner === 'js' || rules === null ? null : walkTableOf(rules)
  if (!lists && opts.scanner !== 'js' && (rules === null || table !== null)) {
    let r: Buffer | number | null
    try {
      r = walkJson(buf, start, opts.maxDepth, table === null ? NO_RULES : table.bytes, new WalkAnswers(buf, table, ctx, TEXTS, limit), TEXTS, ctx.inPlace ? buf : null, limit)
    } catch (e) {
      // From an answer (a value to hash nested too deeply): refused as the scanner refuses it.
      if (e instanceof Invalid) return { ok: false, reason: e.message }
      throw e
    }
    if (typeof r === 'number') return r === WALK_TOO_LARGE ? tooLarge(limit) : { ok: false, reason: r === WALK_TOO_DEEP ? tooDeep(opts.maxDepth) : INVALID_JSON }
    // The body itself, unchanged, is the output too.
    if (r !== null) return r.length > limit || ctx.over ? tooLarge(limit) : { ok: true, body: r, masked: [], erased: [] }
  }
  let out: Buffer | null
  try {
    out = scan(buf, start, buf.length, rules, 0, '', opts.maxDepth, ctx, true, limit)
  } catch (e) {
    if (e instanceof Invalid) return { ok: false, reason: e.message }
    throw e
  }
  if (out === null || ctx.over || out.length > limit) return tooLarge(limit)
  // Listed as applyMask lists them: by the rule that decided (rule order), then document order.
  const masked = flatten(ctx.masked, ctx.duplicates)
  const erased = flatten(ctx.erased, ctx.duplicates)
  return { ok: true, body: out, masked, erased }
}

function flatten (byRule: string[][], dedupe: boolean): string[] {
  const all: string[] = []
  for (const paths of byRule) if (paths !== undefined) for (const p of paths) all.push(p)
  // The same pointer twice only comes from a duplicate key; each occurrence was masked alike.
  return dedupe ? [...new Set(all)] : all
}

interface Ctx {
  hashKey: Uint8Array | undefined
  /** Collect pointers at all (they cost more than masking). */
  lists: boolean
  /** The top-level scan may write its output over the body (see TextMaskOptions.inPlace). */
  inPlace: boolean
  /** Pointers by the index of the rule that decided (sparse), in document order. */
  masked: string[][]
  erased: string[][]
  /** Some object had the same key twice among members rules matched: pointers may repeat. */
  duplicates: boolean
  /** A text with a limit (the output, or a container's text to hash) went over it: refused once the scan ends. */
  over: boolean
}

const QUOTE = 0x22, BACKSLASH = 0x5c, LBRACE = 0x7b, RBRACE = 0x7d, LBRACKET = 0x5b, RBRACKET = 0x5d, COMMA = 0x2c, COLON = 0x3a
const MINUS = 0x2d, PLUS = 0x2b, DOT = 0x2e, ZERO = 0x30, NINE = 0x39, LOWER_E = 0x65, UPPER_E = 0x45
const KIND_STRING = 1, KIND_NUMBER = 2, KIND_LITERAL = 3, KIND_CONTAINER = 4

/** One open object or array. Frames are pooled per depth: a scan allocates one per level. */
class Frame {
  isObj = false
  /** Offset of "{" / "[". */
  start = 0
  /** Rules that may match this container's children (token `depth` is the child's), or null. */
  active: TextRule[] | null = null
  /** `active` precompiled for this depth (null with `active`). */
  disp: Dispatch | null = null
  /** The current member's entry of `disp` (its rules are `cur`), or null. */
  match: Match | null = null
  depth = 0
  parent: Frame | null = null
  /** Concrete pointer of this container, computed when first needed. */
  path: string | null = null
  // The current member.
  index = -1
  memberStart = 0
  keyStart = 0
  keyEnd = 0
  keyEsc = false
  keyStr: string | null = null
  /** Rules matching the current member (ending at it or reaching inside it), or null. */
  cur: TextRule[] | null = null
  /** Some rule in `cur` ends at the current member: it is replaced or removed. */
  curEnds = false
  curRemove = false
  // Removal bookkeeping (only in frames with active rules).
  /** End offset of the previous member's value (kept or removed). */
  prevEnd = -1
  anyKept = false
  /** Offset of a comma that follows removed leading members, not yet cut. */
  pendingComma = -1
  /** Keys of members rules matched so far (start, end, escaped) — to notice duplicates. */
  readonly matched: number[] = []

  reset (isObj: boolean, start: number, disp: Dispatch | null, depth: number, parent: Frame | null): void {
    this.isObj = isObj; this.start = start; this.disp = disp; this.active = disp === null ? null : disp.active; this.depth = depth; this.parent = parent
    this.path = null; this.index = -1; this.cur = null; this.match = null; this.curEnds = false; this.curRemove = false
    this.prevEnd = -1; this.anyKept = false; this.pendingComma = -1; this.keyStr = null
    if (this.matched.length !== 0) this.matched.length = 0
  }
}

/** What matching one member gives: the rules matching it (ending at it or reaching inside). */
class Match {
  /** The child's dispatch (rules `cur` at depth + 1), built when first needed. */
  child: Dispatch | null = null
  constructor (readonly cur: TextRule[], readonly ends: boolean, readonly remove: boolean, readonly depth: number, private readonly shared: DispatchMemo) {}
  next (): Dispatch {
    if (this.child !== null) return this.child
    // One dispatch per rule set and depth, whichever member leads there: built per match, the
    // wildcard's and a key's children doubled at every level (`/0/0/…/0`: 2^k, and V8 out of memory).
    const key = `${this.depth + 1}:${this.cur.map((r) => r.order).join(',')}`
    let d = this.shared.get(key)
    if (d === undefined) this.shared.set(key, d = new Dispatch(this.cur, this.depth + 1, this.shared))
    return (this.child = d)
  }
}

/** The dispatches built for one rule list, by depth and rule set. */
type DispatchMemo = Map<string, Dispatch>

/**
 * The rules that may match a container's children (`active`, token `depth` is the child's),
 * precompiled: per distinct literal key (objects) or index (arrays) the rules it matches, in
 * list order, and the rules every child matches (wildcards). A member is matched by comparing
 * its key with the few distinct literal keys, with no allocation; the match lists are shared,
 * so a child container's dispatch is built once per rule set.
 */
class Dispatch {
  /** Distinct literal keys at `depth` as UTF-8 bytes, and their matches. */
  readonly keys: Buffer[] = []
  readonly byKey: Match[] = []
  readonly byString = new Map<string, Match>()
  readonly byIndex = new Map<number, Match>()
  /** Rules with a wildcard at `depth`: what any other member matches (null: none). */
  readonly wild: Match | null

  constructor (readonly active: TextRule[], readonly depth: number, private readonly shared: DispatchMemo) {
    const d = depth
    const keyed = new Set<string>()
    const indexed = new Set<number>()
    for (const r of active) {
      const k = r.keys[d]
      if (k === undefined || k === null) continue
      keyed.add(k)
      if (r.indices[d]! >= 0) indexed.add(r.indices[d]!)
    }
    this.wild = this.matchOf((r) => r.keys[d] === null)
    for (const k of keyed) {
      const m = this.matchOf((r) => r.keys[d] === null || r.keys[d] === k)!
      this.keys.push(Buffer.from(k, 'utf8'))
      this.byKey.push(m)
      this.byString.set(k, m)
    }
    // An index is its key's canonical digits (pointer.ts): the same rules, the same match.
    for (const i of indexed) this.byIndex.set(i, this.byString.get(String(i)) ?? this.matchOf((r) => r.keys[d] === null || r.indices[d] === i)!)
  }

  private matchOf (test: (r: TextRule) => boolean): Match | null {
    const d = this.depth
    const cur = this.active.filter(test)
    if (cur.length === 0) return null
    let ends = false
    let remove = false
    for (const r of cur) if (r.tokens.length === d + 1) { ends = true; if (r.remove) remove = true }
    // Shared lists where possible (the whole active set, or one rule's own list).
    return new Match(cur.length === this.active.length ? this.active : cur.length === 1 ? cur[0]!.alone : cur, ends, remove, d, this.shared)
  }
}

const dispatches = new WeakMap<TextRule[], Dispatch[]>()

function dispatchOf (rules: TextRule[], depth: number): Dispatch {
  let byDepth = dispatches.get(rules)
  if (byDepth === undefined) { byDepth = []; dispatches.set(rules, byDepth) }
  return byDepth[depth] ??= new Dispatch(rules, depth, new Map())
}

// Set by scanString: whether the string just scanned contains an escape.
let strEsc = false

const S_VALUE = 0, S_AFTER_VALUE = 1, S_FIRST_KEY = 2, S_KEY = 3, S_FIRST_ELEM = 4

/**
 * Scans the JSON value in buf[start, end) (whitespace around it allowed) and returns the masked
 * text. `rules` are the rules that may match inside the root value, whose path is `rootPath`
 * with `rootDepth` tokens. `top`: the whole body (validation of the bytes before `start` and
 * after the value is this call's job); false for a re-scan of an already validated container.
 * A text longer than `limit` bytes is not kept: the scan still goes to the end (so that any
 * other refusal wins, as in the Wasm walk), sets ctx.over and returns null.
 */
function scan (buf: Buffer, start: number, end: number, rules: TextRule[] | null, rootDepth: number, rootPath: string,
  maxDepth: number, ctx: Ctx, top: boolean, limit: number): Buffer | null {
  const e = new Emitter(buf, start, end, top, ctx, rootPath, limit)
  const pool: Frame[] = []
  let depth = 0
  let f: Frame | null = null
  let i = start
  let state = S_VALUE
  const n = end

  for (;;) {
    // Skip whitespace (space, tab, LF, CR).
    // Reads stop at n (-1 there): one read past the end makes V8 treat every read of this
    // loop as possibly out of bounds (a slower load, and `c` no longer a small integer).
    let c = i < n ? buf[i]! : -1
    while (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) c = ++i < n ? buf[i]! : -1

    if (state === S_VALUE) {
      if (i >= n) throw new Invalid(INVALID_JSON)
      if (f !== null) {
        if (!f.isObj) { f.index++; f.memberStart = i }
        if (f.active !== null) {
          e.matchMember(f, buf)
          // The first kept member after removed leading ones: drop the comma before it.
          if (f.pendingComma >= 0 && !f.curRemove) { e.replace(f.pendingComma, f.memberStart, CUT); f.pendingComma = -1 }
        }
      }
      if (c === LBRACE || c === LBRACKET) {
        if (depth >= maxDepth) throw new Invalid(tooDeep(maxDepth))
        const disp = f === null ? (rules === null ? null : dispatchOf(rules, rootDepth)) : f.curEnds || f.match === null ? null : f.match.next()
        if (disp === null) {
          // No rule reaches inside: the container is only validated, without frames.
          const vs = i
          i = skipContainer(buf, i, n, depth, maxDepth)
          if (f !== null && f.active !== null) e.endMember(f, vs, i, KIND_CONTAINER)
          state = S_AFTER_VALUE
          continue
        }
        let g = pool[depth]
        if (g === undefined) { g = new Frame(); pool[depth] = g }
        g.reset(c === LBRACE, i, disp, f === null ? rootDepth : f.depth + 1, f)
        f = g
        depth++
        i++
        state = c === LBRACE ? S_FIRST_KEY : S_FIRST_ELEM
        continue
      }
      const vs = i
      let kind: number
      if (c === QUOTE) { i = scanString(buf, i, n); kind = KIND_STRING } else if (c === MINUS || (c >= ZERO && c <= NINE)) { i = scanNumber(buf, i, n); kind = KIND_NUMBER } else { i = scanLiteral(buf, i, n, c); kind = KIND_LITERAL }
      if (f !== null && f.active !== null) e.endMember(f, vs, i, kind)
      state = S_AFTER_VALUE
      continue
    }

    if (state === S_AFTER_VALUE) {
      if (f === null) {
        // The root value is complete: only whitespace may follow.
        if (i !== n) throw new Invalid(INVALID_JSON)
        break
      }
      if (c === COMMA) {
        if (f.active !== null && !f.anyKept && f.prevEnd >= 0) f.pendingComma = i // after removed leading members
        i++
        state = f.isObj ? S_KEY : S_VALUE
        continue
      }
      if (c !== (f.isObj ? RBRACE : RBRACKET) || i >= n) throw new Invalid(INVALID_JSON)
      // close
    } else if (state === S_FIRST_KEY || state === S_KEY) {
      if (c === QUOTE) {
        const g = f!
        g.memberStart = i
        g.keyStart = i + 1
        i = scanString(buf, i, n)
        g.keyEnd = i - 1
        g.keyEsc = strEsc
        g.keyStr = null
        c = i < n ? buf[i]! : -1
        while (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) c = ++i < n ? buf[i]! : -1
        if (c !== COLON || i >= n) throw new Invalid(INVALID_JSON)
        i++
        state = S_VALUE
        continue
      }
      if (state === S_KEY || c !== RBRACE || i >= n) throw new Invalid(INVALID_JSON)
      // "{}": close
    } else { // S_FIRST_ELEM
      if (c !== RBRACKET || i >= n) { state = S_VALUE; continue }
      // "[]": close
    }

    // Closing the current container (buf[i] is its "}" or "]").
    i++
    const closed: Frame = f!
    depth--
    f = closed.parent
    if (f !== null && f.active !== null) e.endMember(f, closed.start, i, KIND_CONTAINER)
    state = S_AFTER_VALUE
  }

  return e.finish()
}

/**
 * The output of one scan and what the per-member work needs. A class rather than closures
 * inside scan(): a closure is a new function per call, which V8 cannot inline across calls
 * (each scan deoptimised on "wrong call target" and then called them generically).
 */
class Emitter {
  // Output, allocated at the first change: the bytes before `copyFrom` are written to out[0, w).
  out: Buffer | null = null
  w = 0
  copyFrom: number
  /** The output passed `limit`: nothing more is written (finish() gives null). */
  over = false

  constructor (readonly buf: Buffer, readonly start: number, readonly end: number, readonly top: boolean,
    readonly ctx: Ctx, readonly rootPath: string, readonly limit: number) {
    this.copyFrom = top ? 0 : start
  }

  /** Writes buf[copyFrom, from) then `text` (JSON text; empty for a cut), and skips to `to`. */
  replace (from: number, to: number, text: Buffer): void {
    const buf = this.buf
    const tl = text.length
    const cf = this.copyFrom
    const need = from - cf + tl
    // What is written stays: the output's length so far is a floor of its final length. Past
    // the limit nothing is allocated or written any more; the scan goes on only to validate.
    if (this.over || this.w + need > this.limit) {
      this.over = true
      this.ctx.over = true
      this.copyFrom = to
      return
    }
    // Buffers are never allocated larger than the limit (nor than the text needs).
    const limit = this.limit
    let o = this.out
    if (o === null) {
      // In place: the output goes over bytes already read (w <= copyFrom). Every later read of
      // the body is at or after copyFrom, so this holds while the output does not pass `to`.
      o = this.out = this.top && this.ctx.inPlace && need <= to ? buf : Buffer.allocUnsafe(Math.max(need, Math.min((this.top ? buf.length : this.end - this.start) + 256, limit)))
    } else if (o === buf) {
      if (this.w + need > to) {
        // The output would pass the reading position: go on in a buffer of its own.
        const own = Buffer.allocUnsafe(Math.max(this.w + need, Math.min(this.w + need + (buf.length - to) + 256, limit)))
        buf.copy(own, 0, 0, this.w)
        o = this.out = own
      }
    } else if (this.w + need > o.length) {
      const grown = Buffer.allocUnsafe(Math.max(Math.min(2 * o.length, limit), this.w + need))
      o.copy(grown, 0, 0, this.w)
      o = this.out = grown
    }
    let q = this.w
    // Short spans are copied by hand: Buffer#copy costs more than the bytes for a few dozen.
    // In place the span moves down (q <= cf): a forward copy, or copyWithin (memmove), is safe.
    if (from - cf < 64) { for (let k = cf; k < from; k++) o[q++] = buf[k]! } else if (o === buf) { o.copyWithin(q, cf, from); q += from - cf } else q += buf.copy(o, q, cf, from)
    for (let k = 0; k < tl; k++) o[q++] = text[k]!
    this.w = q
    this.copyFrom = to
  }

  /** The masked text: the input itself when nothing changed; null when it is over the limit. */
  finish (): Buffer | null {
    if (this.out === null && !this.over) return this.top ? this.buf : this.buf.subarray(this.start, this.end)
    const end = this.top ? this.buf.length : this.end
    this.replace(end, end, CUT)
    return this.over ? null : this.out!.subarray(0, this.w)
  }

  /** Rules of f.active matching f's current member → f.match / f.cur / f.curEnds / f.curRemove. */
  matchMember (f: Frame, buf: Buffer): void {
    const disp = f.disp!
    let m: Match | null
    if (!f.isObj) m = disp.byIndex.size === 0 ? disp.wild : disp.byIndex.get(f.index) ?? disp.wild
    else if (f.keyEsc) m = disp.byString.get(keyOf(f, buf)) ?? disp.wild // "\u0073sn" is "ssn"
    else {
      // A key without escapes is compared as bytes: its length, its first byte, then the rest.
      m = disp.wild
      const ks = f.keyStart
      const keyLen = f.keyEnd - ks
      const keys = disp.keys
      for (let k = 0; k < keys.length; k++) {
        const kb = keys[k]!
        if (kb.length !== keyLen || (keyLen > 0 && kb[0] !== buf[ks]) || !sameBytes(buf, ks, ks + keyLen, kb)) continue
        m = disp.byKey[k]!
        break
      }
    }
    f.match = m
    if (m === null) { f.cur = null; f.curEnds = false; f.curRemove = false; return }
    f.cur = m.cur
    f.curEnds = m.ends
    f.curRemove = m.remove
    if (f.isObj && this.ctx.lists && !this.ctx.duplicates) this.noteKey(f, buf)
  }

  /** Remembers a matched key of f; a key seen before in f means pointers may repeat. */
  noteKey (f: Frame, buf: Buffer): void {
    const m = f.matched
    for (let k = 0; k < m.length; k += 3) {
      const same = m[k + 2] === 0 && !f.keyEsc
        ? m[k + 1]! - m[k]! === f.keyEnd - f.keyStart && buf.compare(buf, f.keyStart, f.keyEnd, m[k], m[k + 1]) === 0
        : JSON.parse(buf.toString('utf8', m[k]! - 1, m[k + 1]! + 1)) === keyOf(f, buf)
      if (same) { this.ctx.duplicates = true; return }
    }
    m.push(f.keyStart, f.keyEnd, f.keyEsc ? 1 : 0)
  }

  /** The current member of f (a rule may match it) ends at `ve`: replace or remove it. */
  endMember (f: Frame, vs: number, ve: number, kind: number): void {
    // Read first: a re-scan below would overwrite it.
    const esc = kind === KIND_STRING && strEsc
    if (!f.curEnds) {
      f.anyKept = true
      f.prevEnd = ve
      return
    }
    const rules = f.cur!
    const d = f.depth + 1
    const path = this.ctx.lists ? this.pathOf(f, this.buf) + '/' + tokenOf(f, this.buf) : ''
    // Rules listed before the first rule ending here that reach inside the value run first.
    let inner: TextRule[] | null = null
    let first = -1
    for (let k = 0; k < rules.length; k++) {
      if (rules[k]!.tokens.length === d) { first = k; break }
      if (kind === KIND_CONTAINER) (inner ??= []).push(rules[k]!)
    }
    let valueBuf = this.buf
    let vStart = vs
    let vEnd = ve
    // Their effect shows only in the lists and in a hash of the container.
    let hashed = true
    if (inner !== null && (this.ctx.lists || (!f.curRemove && rules[first]!.rule.action === 'hash'))) {
      // The text to hash is held whole: it has this text's limit (the Wasm walk's answers give
      // it the output's, as the top scan has). A text for the lists alone has none, so that
      // the pass for the lists masks whatever the pass without them did.
      const inside = scan(this.buf, vs, ve, inner, d, path, Number.MAX_SAFE_INTEGER, this.ctx, false,
        !f.curRemove && rules[first]!.rule.action === 'hash' ? this.limit : Infinity)
      if (inside === null) hashed = false // over its limit (ctx.over is set): nothing to hash
      else { valueBuf = inside; vStart = 0; vEnd = inside.length }
    }
    if (f.curRemove) {
      let order = -1
      for (let k = first; k < rules.length; k++) if (rules[k]!.remove && rules[k]!.tokens.length === d) { order = rules[k]!.order; break }
      if (f.anyKept) this.replace(f.prevEnd, ve, CUT) // ", member"
      else if (f.pendingComma >= 0) { this.replace(f.pendingComma, ve, CUT); f.pendingComma = -1 }
      else this.replace(f.memberStart, ve, CUT) // the first member: its comma goes with the next kept one
      this.note(path, true, order)
    } else if (kind === KIND_STRING && !esc && rules[first]!.rule.action === 'last4' && alone(rules, first, d)) {
      // `last4` of a string without escapes, the only rule ending here: its last four code
      // points are its last four UTF-8 sequences (valid UTF-8 has no encoded surrogates, and a
      // 4-byte sequence is the one code point last4 counts for a surrogate pair). They and the
      // closing quote are copied through as they are; only the bytes before them are replaced.
      const r = rules[first]!
      let p = ve - 1 // the closing quote
      for (let k = 0; k < 4 && p > vs + 1; k++) { p--; while ((this.buf[p]! & 0xc0) === 0x80) p-- }
      if (p === vs + 1) this.replace(vs, ve, r.prefixJson) // four code points or fewer: the prefix alone
      else this.replace(vs, p, r.prefixOpen)
      this.note(path, false, r.order)
      f.anyKept = true
    } else {
      // Over the output's limit (refused at the end): no scalar's replacement is computed (a
      // container's still is: hashing it checks its depth, a refusal that wins over the size).
      this.replace(vs, ve, hashed && (!this.over || kind === KIND_CONTAINER) ? replacementOf(rules, first, d, valueBuf, vStart, vEnd, kind, this.ctx) : CUT)
      this.note(path, false, rules[first]!.order)
      f.anyKept = true
    }
    f.prevEnd = ve
  }

  note (path: string, erased: boolean, order: number): void {
    if (!this.ctx.lists) return
    const lists = erased ? this.ctx.erased : this.ctx.masked
    ;(lists[order] ??= []).push(path)
  }

  pathOf (f: Frame, buf: Buffer): string {
    if (f.path === null) f.path = f.parent === null ? this.rootPath : this.pathOf(f.parent, buf) + '/' + tokenOf(f.parent, buf)
    return f.path
  }
}

// --- the Wasm walk's table and answers ----------------------------------------------------

/** The rules' dispatches as the Wasm walk reads them (layout: assembly/json-scan.ts). */
interface WalkTable {
  bytes: Uint8Array
  /** Dispatch by its node's table address, match by ordinal and the table address of each. */
  nodes: Map<number, Dispatch>
  matches: Match[]
  addr: Map<Match, number>
}

const walkTables = new WeakMap<TextRule[], WalkTable | null>()
const M_ENDS = 1, M_REMOVE = 2, M_CONST = 4, M_LAST4 = 8

/**
 * Most dispatches the walk's table holds. The table is built ahead for every container the rules
 * can reach; rules whose sets of matches multiply (many rules each with a key at another depth
 * and wildcards elsewhere) could need more: those masks are walked by the JavaScript scanner,
 * which builds dispatches only where the body goes.
 */
const MAX_WALK_NODES = 4096

function walkTableOf (rules: TextRule[]): WalkTable | null {
  let table = walkTables.get(rules)
  if (table !== undefined) return table
  // Every dispatch the walk can reach (a match no rule ends at leads to its child's), in order.
  const nodes: Dispatch[] = []
  const matches: Match[] = []
  const seenNode = new Set<Dispatch>()
  const seenMatch = new Set<Match>()
  const visit = (d: Dispatch): void => {
    if (seenNode.has(d) || nodes.length > MAX_WALK_NODES) return
    seenNode.add(d); nodes.push(d)
    for (const m of [...d.byKey, ...d.byIndex.values(), ...(d.wild === null ? [] : [d.wild])]) {
      if (seenMatch.has(m)) continue
      seenMatch.add(m); matches.push(m)
      if (!m.ends) visit(m.next())
    }
  }
  visit(dispatchOf(rules, 0))
  if (nodes.length > MAX_WALK_NODES) { walkTables.set(rules, null); return null }
  // Addresses: header, nodes, their keys and indices, matches, then the bytes (keys, texts).
  const nodeAt = new Map<Dispatch, number>()
  let at = 4
  for (const d of nodes) { nodeAt.set(d, at); at += 20 }
  const keysAt = new Map<Dispatch, number>()
  for (const d of nodes) { keysAt.set(d, at); at += 12 * d.keys.length + 8 * d.byIndex.size }
  const addr = new Map<Match, number>()
  for (const m of matches) { addr.set(m, at); at += 36 }
  const words: number[] = new Array<number>(at >> 2).fill(0)
  const bytes: number[] = []
  const put = (b: Uint8Array): number => { const p = at + bytes.length; for (const x of b) bytes.push(x); return p }
  words[0] = nodeAt.get(nodes[0]!)!
  for (const d of nodes) {
    const w = nodeAt.get(d)! >> 2
    const k0 = keysAt.get(d)!
    words[w] = d.keys.length; words[w + 1] = k0; words[w + 2] = d.byIndex.size; words[w + 3] = k0 + 12 * d.keys.length
    words[w + 4] = d.wild === null ? -1 : addr.get(d.wild)!
    d.keys.forEach((kb, k) => { const e = (k0 >> 2) + 3 * k; words[e] = put(kb); words[e + 1] = kb.length; words[e + 2] = addr.get(d.byKey[k]!)! })
    let e = (k0 + 12 * d.keys.length) >> 2
    for (const [index, m] of d.byIndex) { words[e++] = index; words[e++] = addr.get(m)! }
  }
  matches.forEach((m, ordinal) => {
    const w = addr.get(m)! >> 2
    const rules = m.cur
    const d = m.depth + 1
    let first = -1
    for (let k = 0; k < rules.length; k++) if (rules[k]!.tokens.length === d) { first = k; break }
    const r = first < 0 ? null : rules[first]!
    const sole = r !== null && !m.remove && alone(rules, first, d)
    let flags = (m.ends ? M_ENDS : 0) | (m.remove ? M_REMOVE : 0)
    if (sole && r.bytes !== null) { flags |= M_CONST; words[w + 2] = put(r.bytes); words[w + 3] = r.bytes.length }
    if (sole && r.rule.action === 'last4') {
      flags |= M_LAST4
      words[w + 4] = put(r.prefixOpen); words[w + 5] = r.prefixOpen.length
      words[w + 6] = put(r.prefixJson); words[w + 7] = r.prefixJson.length
    }
    words[w] = flags
    words[w + 1] = m.ends ? -1 : nodeAt.get(m.next())!
    words[w + 8] = ordinal
  })
  const out = new Uint8Array(at + bytes.length)
  new Int32Array(out.buffer, 0, at >> 2).set(words)
  out.set(bytes, at)
  table = { bytes: out, nodes: new Map([...nodeAt].map(([d, a]) => [a, d])), matches, addr }
  walkTables.set(rules, table)
  return table
}

/** What the walk asks JavaScript for: escaped keys, and replacements it has no text for. */
class WalkAnswers implements WalkHooks {
  constructor (readonly buf: Buffer, readonly table: WalkTable | null, readonly ctx: Ctx, readonly texts: WalkTexts, readonly limit: number) {}

  escapedKey (node: number, from: number, to: number): number {
    const d = this.table!.nodes.get(node)!
    const m = d.byString.get(JSON.parse(this.buf.toString('utf8', from, to)) as string) ?? d.wild
    return m === null ? -1 : this.table!.addr.get(m)!
  }

  /** As Emitter.endMember for a value that is replaced (not removed), without pointer lists. */
  replace (ordinal: number, vs: number, ve: number, kind: number): Uint8Array {
    // The output is already over its limit (the response will be refused): the walk only goes
    // on to validate, so no replacement is computed (an HMAC per value of an 8 MiB array held
    // the event loop ~15 s for a refusal).
    if (this.texts.over) return CUT
    const m = this.table!.matches[ordinal]!
    const rules = m.cur
    const d = m.depth + 1
    let inner: TextRule[] | null = null
    let first = -1
    for (let k = 0; k < rules.length; k++) {
      if (rules[k]!.tokens.length === d) { first = k; break }
      if (kind === KIND_CONTAINER) (inner ??= []).push(rules[k]!)
    }
    // Rules listed before the first one ending here that reach inside show in a hash of it.
    if (inner !== null && rules[first]!.rule.action === 'hash') {
      // The text to hash has the output's limit, as in the JavaScript scan; over it, the walk
      // goes on (to validate) and no output is assembled.
      const inside = scan(this.buf, vs, ve, inner, d, '', Number.MAX_SAFE_INTEGER, this.ctx, false, this.limit)
      if (inside === null) { this.texts.over = true; return CUT }
      return replacementOf(rules, first, d, inside, 0, inside.length, kind, this.ctx)
    }
    return replacementOf(rules, first, d, this.buf, vs, ve, kind, this.ctx)
  }
}

/** The current member's token, escaped for a reported pointer. */
function tokenOf (f: Frame, buf: Buffer): string {
  if (!f.isObj) return String(f.index)
  // A rule naming the key literally has it escaped already: no decoding.
  const cur = f.cur
  if (cur !== null) for (let k = 0; k < cur.length; k++) { const e = cur[k]!.escaped[f.depth]; if (e !== null) return e! }
  return escapeToken(keyOf(f, buf))
}

function keyOf (f: Frame, buf: Buffer): string {
  if (f.keyStr === null) {
    f.keyStr = f.keyEsc ? JSON.parse(buf.toString('utf8', f.keyStart - 1, f.keyEnd + 1)) as string : buf.toString('utf8', f.keyStart, f.keyEnd)
  }
  return f.keyStr
}

/**
 * The JSON text that replaces a value (valueBuf[vStart, vEnd), of `kind`) which the rules of
 * `rules` from `first` on ending at depth `d` mask (none of them `remove`): the first decides
 * from the original value, each later one applies to the result.
 */
function replacementOf (rules: TextRule[], first: number, d: number, valueBuf: Buffer, vStart: number, vEnd: number, kind: number, ctx: Ctx): Buffer {
  let v: unknown // undefined until the first rule ending here decided
  let bytes: Buffer | null = null // the JSON text of v when known in advance
  for (let k = first; k < rules.length; k++) {
    const r = rules[k]!
    if (r.tokens.length !== d) continue
    if (v !== undefined) { v = r.rule.apply(v, ctx.hashKey); bytes = null } else if (r.bytes !== null) { v = r.value; bytes = r.bytes } else v = firstAction(r, valueBuf, vStart, vEnd, kind, ctx)
  }
  return bytes ?? (v === null ? NULL : Buffer.from(JSON.stringify(v), 'utf8'))
}

/** No rule of `rules` after `first` ends at depth `d`. */
function alone (rules: TextRule[], first: number, d: number): boolean {
  for (let k = first + 1; k < rules.length; k++) if (rules[k]!.tokens.length === d) return false
  return true
}

function sameBytes (buf: Buffer, s: number, e: number, key: Buffer): boolean {
  const len = e - s
  if (len !== key.length) return false
  for (let k = 0; k < len; k++) if (buf[s + k] !== key[k]) return false
  return true
}

/** What the first rule ending at a value makes of the original value (string or null). */
function firstAction (r: TextRule, buf: Buffer, vs: number, ve: number, kind: number, ctx: Ctx): string | null {
  switch (r.rule.action) {
    case 'hash': {
      const text = kind === KIND_STRING
        ? stringAt(buf, vs, ve)
        : kind === KIND_NUMBER ? numberText(buf.toString('latin1', vs, ve)) : kind === KIND_LITERAL ? buf.toString('latin1', vs, ve) : canonicalText(buf, vs, ve)
      return hashText(text, ctx.hashKey!)
    }
    case 'last4':
      if (kind === KIND_STRING) return last4(stringAt(buf, vs, ve), r.prefix)
      if (kind === KIND_NUMBER) return last4(numberText(buf.toString('latin1', vs, ve)), r.prefix)
      return r.prefix
    default: // redact, null: precomputed; remove: handled by the caller
      throw new Error(`unexpected action ${r.rule.action}`)
  }
}

/** The decoded value of the JSON string at buf[vs, ve) (quotes included). */
function stringAt (buf: Buffer, vs: number, ve: number): string {
  for (let k = vs + 1; k < ve - 1; k++) if (buf[k] === BACKSLASH) return JSON.parse(buf.toString('utf8', vs, ve)) as string
  return buf.toString('utf8', vs + 1, ve - 1)
}

const INTEGER = /^-?(?:0|[1-9][0-9]*)$/

/**
 * The text `hash` and `last4` use for a JSON number: integers keep their exact digits (so
 * 12345678901234567891 is not rounded; "-0" is "0"), other numbers use their shortest form as
 * a double (1.50 → "1.5", 1e2 → "100"), which is what a parsed number gives — so 42 and "42"
 * still hash alike. Numbers a double cannot hold (1e400, 1e-400) keep their text.
 */
export function numberText (raw: string): string {
  if (INTEGER.test(raw)) return raw === '-0' ? '0' : raw
  const v = Number(raw)
  if (!Number.isFinite(v) || (v === 0 && /[1-9]/.test(raw.split(/[eE]/)[0]!))) return raw
  return String(v)
}

// --- validation ---------------------------------------------------------------------------

/** Per open container of skipContainer: 1 for an object, 0 for an array. */
let skipStack = new Uint8Array(64)

/**
 * Validates the container opening at buf[i] ("{" or "[", `depth` containers already open) as
 * scan() does, with the same checks in the same order (so the same first error), and returns
 * the offset after its closing bracket. No rule reaches inside it, so nothing is recorded.
 */
function skipContainer (buf: Buffer, i: number, n: number, depth: number, maxDepth: number): number {
  let top = 0
  let state = S_VALUE
  for (;;) {
    // Reads stop at n (see scan).
    let c = i < n ? buf[i]! : -1
    while (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) c = ++i < n ? buf[i]! : -1

    if (state === S_VALUE) {
      if (i >= n) throw new Invalid(INVALID_JSON)
      if (c === LBRACE || c === LBRACKET) {
        if (depth + top >= maxDepth) throw new Invalid(tooDeep(maxDepth))
        if (top === skipStack.length) { const grown = new Uint8Array(2 * top); grown.set(skipStack); skipStack = grown }
        skipStack[top++] = c === LBRACE ? 1 : 0
        i++
        state = c === LBRACE ? S_FIRST_KEY : S_FIRST_ELEM
        continue
      }
      if (c === QUOTE) i = scanString(buf, i, n)
      else if (c === MINUS || (c >= ZERO && c <= NINE)) i = scanNumber(buf, i, n)
      else i = scanLiteral(buf, i, n, c)
      state = S_AFTER_VALUE
      continue
    }

    if (state === S_AFTER_VALUE) {
      const isObj = skipStack[top - 1] === 1
      if (c === COMMA) { i++; state = isObj ? S_KEY : S_VALUE; continue }
      if (c !== (isObj ? RBRACE : RBRACKET) || i >= n) throw new Invalid(INVALID_JSON)
    } else if (state === S_FIRST_KEY || state === S_KEY) {
      if (c === QUOTE) {
        i = scanString(buf, i, n)
        c = i < n ? buf[i]! : -1
        while (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) c = ++i < n ? buf[i]! : -1
        if (c !== COLON || i >= n) throw new Invalid(INVALID_JSON)
        i++
        state = S_VALUE
        continue
      }
      if (state === S_KEY || c !== RBRACE || i >= n) throw new Invalid(INVALID_JSON)
    } else { // S_FIRST_ELEM
      if (c !== RBRACKET || i >= n) { state = S_VALUE; continue }
    }
    // Closing the innermost open container.
    i++
    if (--top === 0) return i
    state = S_AFTER_VALUE
  }
}

// --- scalars

function scanString (buf: Buffer, i: number, n: number): number {
  strEsc = false
  i++
  for (;;) {
    if (i >= n) throw new Invalid(INVALID_JSON)
    const c = buf[i]!
    if (c === QUOTE) return i + 1
    if (c === BACKSLASH) {
      strEsc = true
      const e = buf[i + 1]
      if (e === 0x75) { // \uXXXX
        if (i + 5 >= n || !isHex(buf[i + 2]!) || !isHex(buf[i + 3]!) || !isHex(buf[i + 4]!) || !isHex(buf[i + 5]!)) throw new Invalid(INVALID_JSON)
        i += 6
      } else if (e === QUOTE || e === BACKSLASH || e === 0x2f || e === 0x62 || e === 0x66 || e === 0x6e || e === 0x72 || e === 0x74) {
        i += 2
      } else throw new Invalid(INVALID_JSON)
    } else if (c < 0x20) {
      throw new Invalid(INVALID_JSON)
    } else i++
  }
}

function isHex (c: number): boolean {
  return (c >= ZERO && c <= NINE) || (c >= 0x61 && c <= 0x66) || (c >= 0x41 && c <= 0x46)
}

/** -? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)? */
function scanNumber (buf: Buffer, i: number, n: number): number {
  if (buf[i] === MINUS) i++
  let c = i < n ? buf[i]! : -1
  if (c === ZERO) c = ++i < n ? buf[i]! : -1
  else if (c >= 0x31 && c <= NINE) { do c = ++i < n ? buf[i]! : -1; while (c >= ZERO && c <= NINE) } else throw new Invalid(INVALID_JSON)
  if (c === DOT) {
    c = ++i < n ? buf[i]! : -1
    if (!(c >= ZERO && c <= NINE)) throw new Invalid(INVALID_JSON)
    do c = ++i < n ? buf[i]! : -1; while (c >= ZERO && c <= NINE)
  }
  if (c === LOWER_E || c === UPPER_E) {
    c = ++i < n ? buf[i]! : -1
    if (c === PLUS || c === MINUS) c = ++i < n ? buf[i]! : -1
    if (!(c >= ZERO && c <= NINE)) throw new Invalid(INVALID_JSON)
    do c = ++i < n ? buf[i]! : -1; while (c >= ZERO && c <= NINE)
  }
  return i
}


function scanLiteral (buf: Buffer, i: number, n: number, c: number): number {
  const lit = c === 0x74 ? TRUE : c === 0x66 ? FALSE : c === 0x6e ? NULL : null
  if (lit === null || i + lit.length > n || !sameBytes(buf, i, i + lit.length, lit)) throw new Invalid(INVALID_JSON)
  return i + lit.length
}

// --- canonical JSON of a (validated) container, for `hash` --------------------------------

const MAX_HASH_DEPTH = 512
let cpos = 0

/**
 * Canonical JSON (sorted keys, no whitespace) of the valid JSON text buf[vs, ve), as
 * canonicalJson(JSON.parse(text)) gives it — except that numbers keep their exact digits
 * (numberText). Of duplicate keys the last wins, as with JSON.parse.
 */
function canonicalText (buf: Buffer, vs: number, ve: number): string {
  cpos = vs
  return canonicalValue(buf, ve, 0)
}

function canonicalValue (buf: Buffer, n: number, depth: number): string {
  skipWs(buf, n)
  const c = buf[cpos]!
  if (c === LBRACE || c === LBRACKET) {
    if (depth > MAX_HASH_DEPTH) throw new Invalid(`a value to hash is nested deeper than ${MAX_HASH_DEPTH} levels`)
    cpos++
    skipWs(buf, n)
    if (c === LBRACKET) {
      const items: string[] = []
      if (buf[cpos] === RBRACKET) { cpos++; return '[]' }
      for (;;) {
        items.push(canonicalValue(buf, n, depth + 1))
        skipWs(buf, n)
        if (buf[cpos++] === RBRACKET) return '[' + items.join(',') + ']'
      }
    }
    const members = new Map<string, string>()
    if (buf[cpos] === RBRACE) { cpos++; return '{}' }
    for (;;) {
      skipWs(buf, n)
      const ks = cpos
      cpos = scanString(buf, cpos, n)
      const key = stringAt(buf, ks, cpos)
      skipWs(buf, n)
      cpos++ // ":"
      members.delete(key) // the last duplicate wins
      members.set(key, canonicalValue(buf, n, depth + 1))
      skipWs(buf, n)
      if (buf[cpos++] === RBRACE) break
    }
    const keys = [...members.keys()].sort()
    let s = '{'
    for (let k = 0; k < keys.length; k++) s += (k === 0 ? '' : ',') + JSON.stringify(keys[k]) + ':' + members.get(keys[k]!)!
    return s + '}'
  }
  const vs = cpos
  if (c === QUOTE) { cpos = scanString(buf, cpos, n); return JSON.stringify(stringAt(buf, vs, cpos)) }
  if (c === MINUS || (c >= ZERO && c <= NINE)) { cpos = scanNumber(buf, cpos, n); return numberText(buf.toString('latin1', vs, cpos)) }
  cpos = scanLiteral(buf, cpos, n, c)
  return buf.toString('latin1', vs, cpos)
}

function skipWs (buf: Buffer, n: number): void {
  let c = buf[cpos]
  while (cpos < n && (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09)) c = buf[++cpos]
}
