// OPA's canonical form of structured bundle files, which is what signature digests cover
// for `.manifest`, `data.json`, `data.yaml` and `.signatures.json` (by base name), so a
// signature does not depend on whitespace or key order:
//   object: `{` + for each key in byte order of its UTF-8: key `:` value, joined by `,` + `}`
//   array:  `[` + values joined by `,` + `]`
//   scalar: Go's encoding/json output without HTML escaping; numbers keep their original
//           literal text (OPA decodes with json.Number), so `1.0` and `1` hash differently.
// Other files are hashed as raw bytes.
import { createHash } from 'node:crypto'
import { parseJsonExact, isRawJson, rawJsonText } from '../exact-json.js'
import { parseOpaDocument } from '../opa-yaml.js'

const MAX_DEPTH = 1000

/** Base names whose digest is taken over the canonical form rather than the raw bytes. */
export function isStructuredFile (path: string): boolean {
  const base = path.slice(path.lastIndexOf('/') + 1)
  return base === 'data.json' || base === 'data.yaml' || base === '.manifest' || base === '.signatures.json'
}

/**
 * Canonical text of a JSON document, from its source so number literals survive.
 * Throws SyntaxError on invalid JSON.
 */
export function canonicalJsonText (text: string): string {
  const p = new CanonicalParser(text)
  p.ws()
  p.value(0)
  p.ws()
  if (p.i !== text.length) throw new SyntaxError(`unexpected ${JSON.stringify(text[p.i])} at offset ${p.i}`)
  return p.out.text()
}

/**
 * Canonical text of an already-parsed value (YAML data). Numbers use JavaScript's shortest
 * form; integers and ordinary decimals match OPA, exotic float spellings may not.
 */
export function canonicalValue (v: unknown, depth = 0): string {
  const out = new Output(64)
  writeValue(out, v, depth)
  return out.text()
}

function writeValue (out: Output, v: unknown, depth: number): void {
  if (depth > MAX_DEPTH) throw new SyntaxError('document nested too deeply')
  if (v === null || v === undefined) return out.ascii('null')
  if (typeof v === 'string') return out.goString(v)
  if (typeof v === 'boolean') return out.ascii(v ? 'true' : 'false')
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new SyntaxError(`non-finite number ${v} has no JSON form`)
    return out.ascii(JSON.stringify(v))
  }
  if (typeof v === 'bigint') return out.ascii(v.toString())
  if (isRawJson(v)) return out.string(rawJsonText(v)) // a number kept exact (its digits)
  if (Array.isArray(v)) {
    out.unit(0x5b)
    for (let i = 0; i < v.length; i++) {
      if (i > 0) out.unit(0x2c)
      // A hole is written as nothing, as Array.prototype.join writes it.
      if (v[i] !== undefined || i in v) writeValue(out, v[i], depth + 1)
    }
    return out.unit(0x5d)
  }
  if (v instanceof Date) return out.goString(v.toISOString())
  if (typeof v === 'object') {
    // Object.keys and a read of each: what Object.entries gives for data, at half the cost.
    const o = v as Record<string, unknown>
    const keys = Object.keys(o)
    const order = memberOrder(keys)
    out.unit(0x7b)
    for (let n = 0; n < order.length; n++) {
      if (n > 0) out.unit(0x2c)
      const key = keys[order[n]!]!
      out.goString(key)
      out.unit(0x3a)
      writeValue(out, o[key], depth + 1)
    }
    return out.unit(0x7d)
  }
  throw new SyntaxError(`value of type ${typeof v} has no JSON form`)
}

/** Digest (hex) of a bundle file as OPA computes it for `.signatures.json`. */
export function fileDigest (path: string, bytes: Uint8Array, nodeAlg: string): string {
  const h = createHash(nodeAlg)
  if (isStructuredFile(path)) h.update(canonicalFileText(path, bytes), 'utf8')
  else h.update(bytes)
  return h.digest('hex')
}

function canonicalFileText (path: string, bytes: Uint8Array): string {
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8')
  if (!path.endsWith('data.yaml')) return canonicalJsonText(text)
  // data.yaml is hashed as the loader reads it (src/bundle/assemble.ts → parseOpaDocument, as OPA
  // reads it): JSON when it is JSON (a BOM aside), hashed with its number literals, else YAML as
  // go-yaml v3 reads it. Hashed through another YAML reading, `010` (octal 8 to the loader) and
  // `10` had one digest: a signed 21 could be loaded as 17.
  const src = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text
  let json = true
  try { parseJsonExact(src) } catch { json = false }
  return json ? canonicalJsonText(src) : canonicalValue(parseOpaDocument(src))
}

/**
 * Compares strings by their UTF-8 bytes (Go's string order), not UTF-16 code units. Code point
 * order is UTF-8 byte order; UTF-16 units differ from it only where a surrogate pair meets
 * U+E000..U+FFFF, and lone surrogates (U+FFFD in UTF-8) are left to Buffer.compare. No
 * allocation. (Objects' keys are sorted in this order by memberOrder, without calling it.)
 */
export function compareUtf8 (a: string, b: string): number {
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i)
    const y = b.charCodeAt(i)
    if (x === y) continue
    if (x < 0xd800 && y < 0xd800) return x - y
    if ((x >= 0xd800 && x <= 0xdfff) || (y >= 0xd800 && y <= 0xdfff)) {
      if (!pairAt(a, i) || !pairAt(b, i)) return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'))
    }
    // A surrogate pair (a code point above U+FFFF) sorts after every other BMP unit.
    return rank(x) - rank(y)
  }
  return a.length - b.length
}

/** Whether the unit at i is part of a well-formed surrogate pair (or not a surrogate at all). */
function pairAt (s: string, i: number): boolean {
  const c = s.charCodeAt(i)
  if (c < 0xd800 || c > 0xdfff) return true
  if (c <= 0xdbff) { const d = s.charCodeAt(i + 1); return d >= 0xdc00 && d <= 0xdfff }
  const p = s.charCodeAt(i - 1)
  return p >= 0xd800 && p <= 0xdbff
}

function rank (c: number): number { return c >= 0xd800 && c <= 0xdfff ? c + 0x2000 : c >= 0xe000 ? c - 0x800 : c }

const HEX = '0123456789abcdef'

/** Whether c (a UTF-16 unit) needs more than copying for Go: `"`, `\`, a control, U+2028/9, a surrogate. */
function special (c: number): boolean {
  return c < 0x20 || c === 0x22 || c === 0x5c || (c >= 0x2028 && (c <= 0x2029 || (c >= 0xd800 && c <= 0xdfff)))
}

function isSurrogate (c: number): boolean { return c >= 0xd800 && c <= 0xdfff }

/** A string as Go's encoding/json writes it with SetEscapeHTML(false). */
export function goString (s: string): string {
  const out = new Output(s.length + 2)
  out.goString(s)
  return out.text()
}

/**
 * The order in which an object's members are written, as indexes into keys (in source order,
 * duplicates included): by the UTF-8 bytes of the keys (Go's order, as compareUtf8 has it), and
 * a duplicated key once, with its last value (as when Go decodes into a map). Distinct keys
 * with the same UTF-8 (lone surrogates, U+FFFD to Go) are each kept, in the order in which
 * each first appears.
 */
function memberOrder (keys: string[]): number[] {
  const n = keys.length
  let ordered = true
  let surrogate = false
  for (let k = 0; k < n; k++) {
    const key = keys[k]!
    if (k > 0 && ordered && !(keys[k - 1]! < key)) ordered = false
    for (let j = 0; j < key.length; j++) if (isSurrogate(key.charCodeAt(j))) { surrogate = true; break }
  }
  const order = new Array<number>(n)
  for (let k = 0; k < n; k++) order[k] = k
  // Strictly increasing keys without surrogates: in Go's order (code unit order is UTF-8 order
  // without them), and no duplicates.
  if (ordered && !surrogate) return order
  const idx = Int32Array.from(order)
  const same = sortByKey(keys, idx, surrogate)
  let m = 0
  for (let k = 0; k < n;) {
    let j = k + 1
    while (j < n && same[j] === 1) j++
    if (j - k === 1) order[m++] = idx[k]!
    else if (!surrogate) {
      // Equal keys: the last in the source is kept.
      let last = idx[k]!
      for (let x = k + 1; x < j; x++) if (idx[x]! > last) last = idx[x]!
      order[m++] = last
    } else {
      // Equal UTF-8, but maybe not equal keys: per distinct key its last member, in the order
      // in which the keys first appear.
      const run = Array.from(idx.subarray(k, j)).sort((a, b) => a - b)
      const place = new Map<string, number>()
      const distinct: number[] = []
      for (const x of run) {
        const at = place.get(keys[x]!)
        if (at === undefined) { place.set(keys[x]!, distinct.length); distinct.push(x) } else distinct[at] = x
      }
      for (const x of distinct) order[m++] = x
    }
    k = j
  }
  order.length = m
  return order
}

const P17 = 2 ** 17
const P34 = 2 ** 34

/** Unit d of key, plus 1; 0 past its end (a key that ends sorts first). */
function unitAt (key: string, d: number): number {
  return d < key.length ? key.charCodeAt(d) + 1 : 0
}

/**
 * unitAt for keys with surrogates, mapped so that code unit order is UTF-8 byte order (as in
 * compareUtf8): U+E000..U+FFFF below the units of surrogate pairs, which encode code points
 * above U+FFFF; a lone surrogate as U+FFFD, the one unit Go's UTF-8 has for it.
 */
function utf8UnitAt (key: string, d: number): number {
  if (d >= key.length) return 0
  const c = key.charCodeAt(d)
  if (c < 0xd800) return c + 1
  if (c >= 0xe000) return c - 0x800 + 1
  const pair = c <= 0xdbff ? isLow(key.charCodeAt(d + 1)) : d > 0 && isHigh(key.charCodeAt(d - 1))
  return (pair ? c + 0x2000 : 0xfffd - 0x800) + 1
}

function isHigh (c: number): boolean { return c >= 0xd800 && c <= 0xdbff }
function isLow (c: number): boolean { return c >= 0xdc00 && c <= 0xdfff }

/**
 * Sorts idx (indexes into keys) by the code unit order of the keys (of utf8UnitAt's units
 * with utf8), equal keys in no particular order; returns, per place in idx, 1 where the key
 * equals the one before. A radix sort three units at a time: a range of keys that share their
 * first d units gets units d to d + 2 packed in one number each (read in one pass over the
 * keys), is sorted by those numbers (where the keys are not touched), and each run of equal
 * numbers goes on at d + 3 unless its keys ended there (and are equal). Not a comparison
 * function called ~20 million times for a million keys, each call reading two strings far
 * apart in memory.
 */
function sortByKey (keys: string[], idx: Int32Array, utf8: boolean): Uint8Array {
  const n = idx.length
  const packed = new Float64Array(n) // < 2^51, exact
  const same = new Uint8Array(n)
  const todo = [0, n, 0] // lo, hi, d: idx[lo, hi) share their first d units
  while (todo.length > 0) {
    const d = todo.pop()!
    const hi = todo.pop()!
    const lo = todo.pop()!
    if (utf8) {
      for (let i = lo; i < hi; i++) {
        const key = keys[idx[i]!]!
        packed[i] = utf8UnitAt(key, d) * P34 + utf8UnitAt(key, d + 1) * P17 + utf8UnitAt(key, d + 2)
      }
    } else {
      for (let i = lo; i < hi; i++) {
        const key = keys[idx[i]!]!
        packed[i] = unitAt(key, d) * P34 + unitAt(key, d + 1) * P17 + unitAt(key, d + 2)
      }
    }
    sortPacked(packed, idx, lo, hi)
    for (let i = lo; i < hi;) {
      let j = i + 1
      while (j < hi && packed[j] === packed[i]) j++
      if (j - i > 1) {
        if (packed[i]! % P17 !== 0) todo.push(i, j, d + 3)
        else for (let k = i + 1; k < j; k++) same[k] = 1 // the keys end within these units: equal
      }
      i = j
    }
  }
  return same
}

/**
 * Sorts packed[lo, hi) numerically, moving idx along: three-way quicksort (runs of equal
 * numbers are common), pivots at random so that no input is slow every time.
 */
function sortPacked (packed: Float64Array, idx: Int32Array, lo0: number, hi0: number): void {
  const todo = [lo0, hi0]
  while (todo.length > 0) {
    const hi = todo.pop()!
    const lo = todo.pop()!
    if (hi - lo <= 16) {
      for (let a = lo + 1; a < hi; a++) {
        const x = packed[a]!
        const v = idx[a]!
        let b = a - 1
        for (; b >= lo && packed[b]! > x; b--) { packed[b + 1] = packed[b]!; idx[b + 1] = idx[b]! }
        packed[b + 1] = x
        idx[b + 1] = v
      }
      continue
    }
    const p = packed[lo + Math.floor(Math.random() * (hi - lo))]!
    // Into [lo, lt) below p, [lt, gt) equal to it, [gt, hi) above.
    let lt = lo
    let gt = hi
    for (let i = lo; i < gt;) {
      const x = packed[i]!
      const v = idx[i]!
      if (x < p) {
        packed[i] = packed[lt]!; idx[i] = idx[lt]!
        packed[lt] = x; idx[lt] = v
        lt++; i++
      } else if (x > p) {
        gt--
        packed[i] = packed[gt]!; idx[i] = idx[gt]!
        packed[gt] = x; idx[gt] = v
      } else i++
    }
    todo.push(lo, lt, gt, hi)
  }
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1

/** Canonical text being written: UTF-16 code units in a growing buffer. */
class Output {
  buf: Uint16Array
  /** buf's bytes, for copies of long runs by Buffer#write (whose 'utf16le' is buf's order on little-endian hosts). */
  bytes: Buffer
  n = 0
  constructor (capacity: number) {
    this.buf = new Uint16Array(Math.max(16, capacity))
    this.bytes = Buffer.from(this.buf.buffer)
  }

  /** Makes room for k more units. */
  room (k: number): void {
    if (this.n + k <= this.buf.length) return
    const next = new Uint16Array(Math.max(this.n + k, this.buf.length * 2))
    next.set(this.buf.subarray(0, this.n))
    this.buf = next
    this.bytes = Buffer.from(next.buffer)
  }

  unit (c: number): void {
    if (this.n === this.buf.length) this.room(1)
    this.buf[this.n++] = c
  }

  /** Copies s[from, to) as it is. */
  copy (s: string, from: number, to: number): void {
    this.room(to - from)
    if (to - from > 64 && LITTLE_ENDIAN) {
      this.bytes.write(s.slice(from, to), 2 * this.n, 'utf16le')
      this.n += to - from
      return
    }
    const buf = this.buf
    let n = this.n
    for (let i = from; i < to; i++) buf[n++] = s.charCodeAt(i)
    this.n = n
  }

  string (s: string): void { this.copy(s, 0, s.length) }
  ascii (s: string): void { this.copy(s, 0, s.length) }

  /** s as Go's encoding/json writes it with SetEscapeHTML(false). */
  goString (s: string): void {
    this.room(s.length + 2)
    this.unit(0x22)
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i)
      if (!special(c)) { this.unit(c); continue }
      if (c === 0x22) this.ascii('\\"')
      else if (c === 0x5c) this.ascii('\\\\')
      else if (c < 0x20) {
        if (c === 0x0a) this.ascii('\\n')
        else if (c === 0x0d) this.ascii('\\r')
        else if (c === 0x09) this.ascii('\\t')
        else if (c === 0x08) this.ascii('\\b')
        else if (c === 0x0c) this.ascii('\\f')
        else this.ascii('\\u00' + HEX[c >> 4]! + HEX[c & 0xf]!)
      } else if (c === 0x2028 || c === 0x2029) {
        this.ascii('\\u' + c.toString(16))
      } else if (c <= 0xdbff) {
        const d = i + 1 < s.length ? s.charCodeAt(i + 1) : 0
        if (d >= 0xdc00 && d <= 0xdfff) { this.unit(c); this.unit(d); i++ } else this.unit(0xfffd)
      } else {
        // A lone (low) surrogate is invalid UTF-8 to Go, which substitutes U+FFFD.
        this.unit(0xfffd)
      }
    }
    this.unit(0x22)
  }

  text (): string {
    const units = this.buf.subarray(0, this.n)
    if (LITTLE_ENDIAN) return Buffer.from(units.buffer, units.byteOffset, units.byteLength).toString('utf16le')
    let out = ''
    for (let i = 0; i < units.length; i += 4096) out += String.fromCharCode(...units.subarray(i, i + 4096))
    return out
  }
}

/** A run of units that string() copies as they are: not `"`, `\`, a control, U+2028/9 or a surrogate. */
const PLAIN = /[^"\\\u0000-\u001f\u2028\u2029\ud800-\udfff]*/y

function isDigit (c: number): boolean { return c >= 0x30 && c <= 0x39 }

function isHex (c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66) || (c >= 0x41 && c <= 0x46)
}

/** Whether buf[a, b) is less than buf[c, d) in code unit order. */
function lessThan (buf: Uint16Array, a: number, b: number, c: number, d: number): boolean {
  const n = Math.min(b - a, d - c)
  for (let k = 0; k < n; k++) {
    const x = buf[a + k]!
    const y = buf[c + k]!
    if (x !== y) return x < y
  }
  return b - a < d - c
}

/**
 * Reads JSON and writes its canonical text to out as it goes. An object's members are written
 * in source order, and where each starts and ends is noted, with where its key is in the
 * source. Unless its keys are all written as they are (no escapes, nothing Go escapes) and come
 * in strictly increasing code unit order, which is then Go's order without duplicates, its
 * members are put in order where they were written.
 */
class CanonicalParser {
  i = 0
  readonly out: Output
  /**
   * Per member of the objects being read (top of them), 5 numbers: the source offsets of its
   * key's quotes, 1 if the key has escapes, where its text starts and where it ends in out.
   */
  members = new Int32Array(320)
  top = 0
  /** Whether the string string() read last had escapes. */
  escaped = false
  constructor (readonly s: string) { this.out = new Output(s.length + 16) }

  ws (): void {
    const s = this.s
    while (this.i < s.length) {
      const c = s.charCodeAt(this.i)
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) this.i++
      else break
    }
  }

  fail (what: string): never {
    throw new SyntaxError(`${what} at offset ${this.i}`)
  }

  value (depth: number): void {
    if (depth > MAX_DEPTH) this.fail('document nested too deeply')
    const c = this.s.charCodeAt(this.i)
    if (c === 0x7b) this.object(depth)
    else if (c === 0x5b) this.array(depth)
    else if (c === 0x22) this.string()
    else if (c === 0x74) this.literal('true')
    else if (c === 0x66) this.literal('false')
    else if (c === 0x6e) this.literal('null')
    else this.number()
  }

  literal (word: string): void {
    if (!this.s.startsWith(word, this.i)) this.fail('invalid literal')
    this.out.copy(this.s, this.i, this.i + word.length)
    this.i += word.length
  }

  /** A number's literal text, as written: -?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?, the longest match. */
  number (): void {
    const s = this.s
    let j = this.i
    if (s.charCodeAt(j) === 0x2d) j++
    const c = s.charCodeAt(j)
    if (c === 0x30) j++
    else if (c >= 0x31 && c <= 0x39) { j++; while (isDigit(s.charCodeAt(j))) j++ } else this.fail('invalid value')
    if (s.charCodeAt(j) === 0x2e && isDigit(s.charCodeAt(j + 1))) {
      j += 2
      while (isDigit(s.charCodeAt(j))) j++
    }
    const e = s.charCodeAt(j)
    if (e === 0x65 || e === 0x45) {
      let k = j + 1
      const sign = s.charCodeAt(k)
      if (sign === 0x2b || sign === 0x2d) k++
      if (isDigit(s.charCodeAt(k))) {
        k++
        while (isDigit(s.charCodeAt(k))) k++
        j = k
      }
    }
    this.out.copy(s, this.i, j)
    this.i = j
  }

  /**
   * Reads the string literal at i, checked as JSON requires (else fails at its opening quote),
   * and writes goString of its value: the literal itself when it has no escapes and nothing Go
   * escapes or replaces (U+2028/9, surrogates), which is then returned true. Sets escaped.
   */
  string (): boolean {
    const s = this.s
    let j = this.i + 1
    const short = Math.min(s.length, j + 32)
    while (j < short) {
      const c = s.charCodeAt(j)
      if (c === 0x22 || c === 0x5c || c < 0x20 || (c >= 0x2028 && (c <= 0x2029 || isSurrogate(c)))) break
      j++
    }
    if (j === short) { PLAIN.lastIndex = j; PLAIN.test(s); j = PLAIN.lastIndex } // the rest of a long one
    if (s.charCodeAt(j) === 0x22) {
      this.out.copy(s, this.i, j + 1)
      this.i = j + 1
      this.escaped = false
      return true
    }
    // Escapes, a control, U+2028/9 or a surrogate (or no end): checked, then decoded.
    let escaped = false
    for (;;) {
      if (j >= s.length) this.fail('invalid string')
      const c = s.charCodeAt(j)
      if (c === 0x22) break
      if (c < 0x20) this.fail('invalid string')
      if (c === 0x5c) {
        escaped = true
        const e = s.charCodeAt(j + 1)
        if (e === 0x75) {
          if (!(isHex(s.charCodeAt(j + 2)) && isHex(s.charCodeAt(j + 3)) && isHex(s.charCodeAt(j + 4)) && isHex(s.charCodeAt(j + 5)))) this.fail('invalid string')
          j += 6
        } else if (e === 0x22 || e === 0x5c || e === 0x2f || e === 0x62 || e === 0x66 || e === 0x6e || e === 0x72 || e === 0x74) {
          j += 2
        } else this.fail('invalid string')
      } else j++
    }
    this.out.goString(escaped ? JSON.parse(s.slice(this.i, j + 1)) as string : s.slice(this.i + 1, j))
    this.i = j + 1
    this.escaped = escaped
    return false
  }

  /** Notes a member of the object being read. */
  push (keyAt: number, keyEnd: number, escaped: boolean, start: number, end: number): void {
    let m = this.members
    if (5 * this.top + 5 > m.length) {
      m = new Int32Array(m.length * 2)
      m.set(this.members)
      this.members = m
    }
    const k = 5 * this.top++
    m[k] = keyAt
    m[k + 1] = keyEnd
    m[k + 2] = escaped ? 1 : 0
    m[k + 3] = start
    m[k + 4] = end
  }

  object (depth: number): void {
    const out = this.out
    this.i++
    this.ws()
    out.unit(0x7b)
    if (this.s.charCodeAt(this.i) === 0x7d) { this.i++; out.unit(0x7d); return }
    const base = this.top
    const begin = out.n
    let ordered = true
    let prevFrom = 0 // the previous key's text (quotes aside) in out, while ordered
    let prevTo = 0
    for (;;) {
      if (this.s.charCodeAt(this.i) !== 0x22) this.fail('expected object key')
      const at = this.i
      const start = out.n
      const plain = this.string()
      const keyEnd = this.i - 1
      const escaped = this.escaped
      if (ordered) {
        if (!plain || (this.top > base && !lessThan(out.buf, prevFrom, prevTo, start + 1, out.n - 1))) ordered = false
        prevFrom = start + 1
        prevTo = out.n - 1
      }
      this.ws()
      if (this.s.charCodeAt(this.i) !== 0x3a) this.fail('expected ":"')
      this.i++
      out.unit(0x3a)
      this.ws()
      this.value(depth + 1)
      this.push(at, keyEnd, escaped, start, out.n)
      this.ws()
      const c = this.s.charCodeAt(this.i)
      if (c === 0x2c) { this.i++; this.ws(); out.unit(0x2c); continue }
      if (c === 0x7d) { this.i++; break }
      this.fail('expected "," or "}"')
    }
    if (!ordered) this.reorder(base, begin)
    this.top = base
    out.unit(0x7d)
  }

  /** Rewrites the members of the object from base on the stack (written from begin) in memberOrder. */
  reorder (base: number, begin: number): void {
    const s = this.s
    const m = this.members
    const n = this.top - base
    const keys = new Array<string>(n)
    for (let k = 0; k < n; k++) {
      const at = 5 * (base + k)
      keys[k] = m[at + 2] === 1 ? JSON.parse(s.slice(m[at]!, m[at + 1]! + 1)) as string : s.slice(m[at]! + 1, m[at + 1]!)
    }
    const order = memberOrder(keys)
    // What was written is moved past the end, then the members are copied back in order.
    const out = this.out
    const end = out.n
    out.room(end - begin)
    const buf = out.buf
    buf.copyWithin(end, begin, end)
    let w = begin
    for (let o = 0; o < order.length; o++) {
      if (o > 0) buf[w++] = 0x2c
      const k = 5 * (base + order[o]!)
      const from = end + m[k + 3]! - begin
      const to = end + m[k + 4]! - begin
      if (to - from > 32) {
        buf.copyWithin(w, from, to)
        w += to - from
      } else {
        for (let x = from; x < to; x++) buf[w++] = buf[x]!
      }
    }
    out.n = w
  }

  array (depth: number): void {
    const out = this.out
    this.i++
    this.ws()
    out.unit(0x5b)
    if (this.s.charCodeAt(this.i) === 0x5d) { this.i++; out.unit(0x5d); return }
    for (;;) {
      this.value(depth + 1)
      this.ws()
      const c = this.s.charCodeAt(this.i)
      if (c === 0x2c) { this.i++; this.ws(); out.unit(0x2c); continue }
      if (c === 0x5d) { this.i++; break }
      this.fail('expected "," or "]"')
    }
    out.unit(0x5d)
  }
}
