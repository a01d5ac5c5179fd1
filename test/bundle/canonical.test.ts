// The canonical form that bundle signatures cover (src/bundle/canonical.ts), checked against a
// plain reference written here from the rules (OPA: keys in the byte order of their UTF-8, a
// duplicated key once with its last value, Go's encoding/json string escaping without HTML
// escaping, number literals as written) over thousands of seeded random documents: keys and
// values with surrogate pairs, lone surrogates, U+E000..U+FFFF, escapes of every kind,
// duplicates written differently, deep nesting and number spellings. Any difference is a
// signature that verifies over other data, or a good bundle rejected.
import t, { type Test } from 'tap'
import { canonicalJsonText, canonicalValue, fileDigest } from '../../src/bundle/index.js'
import { compareUtf8 } from '../../src/bundle/canonical.js'
import { isRawJson, parseJsonExact, rawJsonText } from '../../src/exact-json.js'
import { createHash } from 'node:crypto'
import { prng } from '../helpers/random.js'

// ---------------------------------------------------------------------------------------------
// Reference: a recursive parser to a tree that keeps number literals, then the canonical text.

type Node =
  | { t: 'obj', members: Array<[string, Node]> }
  | { t: 'arr', items: Node[] }
  | { t: 'str', v: string }
  | { t: 'raw', text: string } // a number literal, true, false or null

const REF_MAX_DEPTH = 1000

function refParse (text: string): Node {
  let i = 0
  const ws = (): void => { while (i < text.length && ' \t\n\r'.includes(text[i]!)) i++ }
  const err = (): never => { throw new SyntaxError(`reference: invalid JSON at ${i}`) }
  const str = (): string => {
    if (text[i] !== '"') err()
    i++
    let v = ''
    for (;;) {
      if (i >= text.length) err()
      const ch = text[i]!
      if (ch === '"') { i++; return v }
      if (ch.charCodeAt(0) < 0x20) err()
      if (ch !== '\\') { v += ch; i++; continue }
      const e = text[i + 1]
      const simple: Record<string, string> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' }
      if (e !== undefined && e in simple) { v += simple[e]; i += 2; continue }
      if (e === 'u' && /^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) {
        v += String.fromCharCode(parseInt(text.slice(i + 2, i + 6), 16)) // a code unit: lone surrogates stay
        i += 6
        continue
      }
      err()
    }
  }
  const val = (depth: number): Node => {
    if (depth > REF_MAX_DEPTH) err()
    ws()
    let node: Node
    if (text[i] === '{') {
      i++
      const members: Array<[string, Node]> = []
      ws()
      if (text[i] === '}') i++
      else {
        for (;;) {
          ws()
          const k = str()
          ws()
          if (text[i] !== ':') err()
          i++
          members.push([k, val(depth + 1)])
          ws()
          if (text[i] === ',') { i++; continue }
          if (text[i] === '}') { i++; break }
          err()
        }
      }
      node = { t: 'obj', members }
    } else if (text[i] === '[') {
      i++
      const items: Node[] = []
      ws()
      if (text[i] === ']') i++
      else {
        for (;;) {
          items.push(val(depth + 1))
          ws()
          if (text[i] === ',') { i++; continue }
          if (text[i] === ']') { i++; break }
          err()
        }
      }
      node = { t: 'arr', items }
    } else if (text[i] === '"') {
      node = { t: 'str', v: str() }
    } else {
      const literal = /true|false|null|-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y
      literal.lastIndex = i
      const m = literal.exec(text)
      if (m === null) err()
      node = { t: 'raw', text: m![0] }
      i += m![0].length
    }
    ws()
    return node
  }
  const root = val(0)
  if (i !== text.length) err()
  return root
}

/** Go's encoding/json string, SetEscapeHTML(false); a lone surrogate is invalid UTF-8 to Go: U+FFFD. */
function refGoString (s: string): string {
  let out = '"'
  for (const ch of s) { // by code point; a lone surrogate comes alone
    const cp = ch.codePointAt(0)!
    if (cp >= 0xd800 && cp <= 0xdfff) out += '\ufffd'
    else if (ch === '"') out += '\\"'
    else if (ch === '\\') out += '\\\\'
    else if (ch === '\n') out += '\\n'
    else if (ch === '\r') out += '\\r'
    else if (ch === '\t') out += '\\t'
    else if (ch === '\b') out += '\\b'
    else if (ch === '\f') out += '\\f'
    else if (cp < 0x20) out += '\\u' + cp.toString(16).padStart(4, '0')
    else if (cp === 0x2028) out += '\\u2028'
    else if (cp === 0x2029) out += '\\u2029'
    else out += ch
  }
  return out + '"'
}

/** Go's string order: the bytes of the UTF-8 encoding (Buffer.from writes a lone surrogate as U+FFFD). */
function refCompare (a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'))
}

/**
 * Members of one object: a key once, with its last value, placed where it first appeared (as
 * a JS Map or object keeps it), then stably sorted by UTF-8 bytes. Keys that differ only in
 * their lone surrogates have equal UTF-8 and so stay in that order. (Go would decode both to
 * U+FFFD and keep one; the implementation keeps both, and this pins what it does.)
 */
function refMembers<V> (members: Array<[string, V]>): Array<[string, V]> {
  const m = new Map<string, V>()
  for (const [k, v] of members) m.set(k, v)
  return [...m.entries()].sort((x, y) => refCompare(x[0], y[0]))
}

function refCanonical (n: Node): string {
  switch (n.t) {
    case 'obj': return '{' + refMembers(n.members).map(([k, v]) => refGoString(k) + ':' + refCanonical(v)).join(',') + '}'
    case 'arr': return '[' + n.items.map(refCanonical).join(',') + ']'
    case 'str': return refGoString(n.v)
    case 'raw': return n.text
  }
}

function refCanonicalText (text: string): string { return refCanonical(refParse(text)) }

/** canonicalValue's rules, for a value JSON.parse (or parseJsonExact) made. */
function refValue (v: unknown, depth = 0): string {
  if (depth > REF_MAX_DEPTH) throw new SyntaxError('reference: too deep')
  if (v === null || v === undefined) return 'null'
  if (typeof v === 'string') return refGoString(v)
  if (typeof v === 'boolean') return String(v)
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new SyntaxError('reference: non-finite')
    return JSON.stringify(v)
  }
  if (isRawJson(v)) return rawJsonText(v)
  if (Array.isArray(v)) return '[' + v.map(e => refValue(e, depth + 1)).join(',') + ']'
  if (typeof v === 'object') {
    return '{' + refMembers(Object.entries(v as Record<string, unknown>)).map(([k, e]) => refGoString(k) + ':' + refValue(e, depth + 1)).join(',') + '}'
  }
  throw new SyntaxError('reference: no JSON form')
}

// ---------------------------------------------------------------------------------------------
// Seeded random documents, written as JSON source so whitespace, escapes and literals vary.


const u = (cp: number): string => '\\u' + cp.toString(16).padStart(4, '0')

/** A test message in printable ASCII (the TAP stream is split on more than \\n). */
const ascii = (s: string): string => JSON.stringify(s).replace(/[^\x20-\x7e]/g, c => u(c.charCodeAt(0)))

class Gen {
  readonly rnd: () => number
  constructor (seed: number) { this.rnd = prng(seed) }
  int (n: number): number { return Math.floor(this.rnd() * n) }
  pick<T> (xs: readonly T[]): T { return xs[this.int(xs.length)]! }
  chance (p: number): boolean { return this.rnd() < p }

  ws (): string { return this.chance(0.6) ? '' : this.pick(['', ' ', '\n', '\t', '\r\n', '  ', ' \n  ']) }

  /** One code unit or pair written raw, or as an escape when it has one (upper or lower hex). */
  piece (): string {
    const hex = (cp: number): string => this.chance(0.5) ? u(cp) : u(cp).toUpperCase().replace('\\U', '\\u')
    switch (this.int(16)) {
      case 0: case 1: case 2: return this.pick(['a', 'b', 'z', 'A', '0', '9', ' ', '!', '#', '~', '\x7f', '/', '<', '&', '>', '_'])
      case 3: return this.pick(['\\"', '\\\\', '\\/', '\\b', '\\f', '\\n', '\\r', '\\t'])
      case 4: return hex(this.int(0x20)) // a control, only as an escape
      case 5: return hex(this.pick([0x22, 0x5c, 0x2f, 0x41, 0x7f, 0xe9, 0x2028, 0x2029, 0xfffd, 0xffff, 0xe000, 0xff61]))
      case 6: return this.pick(['é', 'ß', '\u07ff', '\u0800', '中', '\u2027', '\u202a', '\ud7ff'])
      case 7: return this.pick(['\u2028', '\u2029']) // raw, which Go escapes
      case 8: return this.pick(['\ue000', '\uff61', '\ufffd', '\uffff', '\uf8ff', '\ufeff']) // after surrogates in UTF-16, before pairs in UTF-8
      case 9: return this.pick(['😀', '\u{10000}', '\u{10ffff}', '𝄞', '\u{1f601}']) // raw pairs
      case 10: { // a pair as escapes, or half-escaped
        const [hi, lo] = [0xd800 + this.int(0x400), 0xdc00 + this.int(0x400)]
        return this.pick([u(hi) + u(lo), u(hi) + String.fromCharCode(lo), String.fromCharCode(hi) + u(lo)])
      }
      case 11: return u(this.pick([0xd800, 0xdbff, 0xdc00, 0xdfff, 0xd83d, 0xde00])) // lone surrogate escapes
      case 12: return String.fromCharCode(this.pick([0xd800, 0xdbff, 0xdc00, 0xdfff])) // raw lone surrogates (a JS string may hold them)
      case 13: return this.pick([u(0xd83d) + 'x', u(0xde00) + u(0xd83d), u(0xd83d) + u(0xd83d) + u(0xde00)]) // broken pairs
      default: return String.fromCharCode(0x20 + this.int(0x5f)).replace(/["\\]/, 'q')
    }
  }

  /** The source of a string literal; now and then a long one, which is copied differently. */
  str (maxLen = 6): string {
    let s = '"'
    if (this.chance(0.05)) s += 'lorem ipsum '.repeat(1 + this.int(12))
    const n = this.int((this.chance(0.05) ? 100 : maxLen) + 1)
    for (let k = 0; k < n; k++) s += this.piece()
    if (this.chance(0.05)) s += 'dolor sit amet '.repeat(1 + this.int(12))
    return s + '"'
  }

  number (): string {
    if (this.chance(0.5)) {
      return this.pick(['0', '-0', '1', '1.0', '-1.50', '1e5', '1E5', '1e+5', '1E-05', '-0.0', '0.1e1', '2.5e-3',
        '10000000000000000000001', '9007199254740993', '-9007199254740993', '123456789.123456789e-12', '1e400', '-1e-400', '0e0'])
    }
    let s = this.chance(0.3) ? '-' : ''
    s += this.chance(0.2) ? '0' : String(1 + this.int(9)) + String(this.int(100000)).slice(0, this.int(6))
    if (this.chance(0.3)) s += '.' + String(this.int(1000000)).padStart(this.int(4) + 1, '0')
    if (this.chance(0.2)) s += this.pick(['e', 'E']) + this.pick(['', '+', '-']) + String(this.int(30))
    return s
  }

  /** Keys from a small pool, so objects get duplicates (some spelt differently) and near misses. */
  keyPool (): string[] {
    const pool = [this.str(3), this.str(3), this.str(5)]
    pool.push(this.pick([
      '"a"', '""', '"ab"', '"a b"', '"a\\u0000"', '"\\u0061"', '"é"', '"\\u00e9"', '"\\u00E9"',
      '"😀"', '"\\ud83d\\ude00"', '"｡"', '"\\uff61"', '"\\ufffd"', '"\ufffd"', '"\\ud800"', '"\\udc00"',
      '"\\ud800x"', '"\ue000"', '"\\\\"', '"\\""', '"\\/"', '"/"', '"10"', '"9"', '"__proto__"', '"constructor"'
    ]))
    return pool
  }

  value (depth: number, budget: { n: number }): string {
    budget.n--
    const leaf = depth > 6 || budget.n <= 0
    const kind = leaf ? this.int(3) : this.int(6)
    if (kind === 0) return this.str()
    if (kind === 1) return this.number()
    if (kind === 2) return this.pick(['true', 'false', 'null'])
    if (kind === 3 || kind === 4) {
      const pool = this.keyPool()
      const n = this.int(7)
      const members: Array<[string, string]> = [] // [key literal, member source]
      for (let k = 0; k < n; k++) {
        const key = this.chance(0.6) ? this.pick(pool) : this.str(4)
        members.push([key, this.ws() + key + this.ws() + ':' + this.ws() + this.value(depth + 1, budget) + this.ws()])
      }
      // Sometimes in code unit order already (as a sorting writer would leave them), which the
      // fast path takes unless a key has a surrogate or an escape.
      if (this.chance(0.3)) {
        const decoded = (lit: string): string => (refParse(lit) as { v: string }).v
        members.sort((a, b) => { const x = decoded(a[0]); const y = decoded(b[0]); return x < y ? -1 : x > y ? 1 : 0 })
      }
      return '{' + this.ws() + members.map(m => m[1]).join(',') + '}'
    }
    const n = this.int(6)
    const items: string[] = []
    for (let k = 0; k < n; k++) items.push(this.ws() + this.value(depth + 1, budget) + this.ws())
    return '[' + this.ws() + items.join(',') + ']'
  }

  document (): string {
    const budget = { n: 5 + this.int(60) }
    return this.ws() + this.value(0, budget) + this.ws()
  }
}

function same (t: Test, text: string, what: string): boolean {
  const want = refCanonicalText(text)
  const got = canonicalJsonText(text)
  if (got === want) return true
  t.equal(got, want, `${what}: ${ascii(text)}`)
  return false
}

// ---------------------------------------------------------------------------------------------

t.test('the reference itself: examples worked out by hand', async (t) => {
  t.equal(refCanonicalText('{"b":1,"a":2,"b":3}'), '{"a":2,"b":3}')
  t.equal(refCanonicalText('{"😀":1,"｡":2,"\\uffff":3,"z":4}'), '{"z":4,"｡":2,"\uffff":3,"😀":1}')
  t.equal(refCanonicalText('"\\ud800\\u2028\\u0001\\/<&>\u2029"'), '"\ufffd\\u2028\\u0001/<&>\\u2029"')
  t.equal(refCanonicalText('[1.0, -0, 1E+5, 10000000000000000000001]'), '[1.0,-0,1E+5,10000000000000000000001]')
})

t.test('fixed cases: ordering by UTF-8 bytes, duplicates, escaping, literals', async (t) => {
  const cases: Array<[string, string]> = [
    // U+FF61 (EF BD A1) before U+1F600 (F0 9F 98 80), though D83D < FF61 in UTF-16: in code
    // unit order already, which must not take the fast path.
    ['{"😀": 1, "｡": 2}', '{"｡":2,"😀":1}'],
    ['{"\\ud83d\\ude00": 1, "\\uff61": 2}', '{"｡":2,"😀":1}'],
    ['{"a😀": 1, "a\uffff": 2, "a\ue000": 3}', '{"a\ue000":3,"a\uffff":2,"a😀":1}'],
    // A lone surrogate is U+FFFD (EF BF BD) to Go: after U+FFFC, before pairs.
    ['{"\\ud800": 1, "\ufffc": 2, "😀": 3}', '{"\ufffc":2,"\ufffd":1,"😀":3}'],
    ['{"b": 1, "a": 2, "b": 3, "a": 4}', '{"a":4,"b":3}'],
    ['{"é": 1, "\\u00e9": 2}', '{"é":2}'],
    ['{"a": 1, "a\\u0000": 2, "": 3}', '{"":3,"a":1,"a\\u0000":2}'],
    ['{"a": {"y": 1, "x": [2, {"d": 0, "c": 1}]}, "A": null}', '{"A":null,"a":{"x":[2,{"c":1,"d":0}],"y":1}}'],
    ['[1.0, -0, 1e5, 1E+5, 10000000000000000000001, 0.1e-9, true, false, null]', '[1.0,-0,1e5,1E+5,10000000000000000000001,0.1e-9,true,false,null]'],
    ['"\\u0000\\u001f\\b\\f\\n\\r\\t\\"\\\\\\/<>&\\u007f\\u2028\\u2029"', '"\\u0000\\u001f\\b\\f\\n\\r\\t\\"\\\\/<>&\x7f\\u2028\\u2029"'],
    ['"\\ud800\\udbff\\udc00 \\ud83d\\ude00 \\udc00\\udbff \ud800"', '"\ufffd\udbff\udc00 😀 \ufffd\ufffd \ufffd"'],
    ['  {}  ', '{}'],
    ['[]', '[]'],
    ['{"":{"":[]}}', '{"":{"":[]}}']
  ]
  for (const [src, want] of cases) {
    t.equal(canonicalJsonText(src), want, ascii(src))
    t.equal(refCanonicalText(src), want, `reference: ${ascii(src)}`)
  }
})

t.test('invalid JSON: the same errors at the same offsets', async (t) => {
  // Messages and offsets as the canonicaliser has always reported them.
  const cases: Array<[string, string]> = [
    ['', 'invalid value at offset 0'],
    ['   ', 'invalid value at offset 3'],
    ['{"a": }', 'invalid value at offset 6'],
    ['{"a" 1}', 'expected ":" at offset 5'],
    ['{"a": 1 "b": 2}', 'expected "," or "}" at offset 8'],
    ['{"a": 1,}', 'expected object key at offset 8'],
    ['{a: 1}', 'expected object key at offset 1'],
    ['[1, 2', 'expected "," or "]" at offset 5'],
    ['[1,]', 'invalid value at offset 3'],
    ['[01]', 'expected "," or "]" at offset 2'],
    ['[1.]', 'expected "," or "]" at offset 2'],
    ['[1e]', 'expected "," or "]" at offset 2'],
    ['[1.5e+]', 'expected "," or "]" at offset 4'],
    ['[-]', 'invalid value at offset 1'],
    ['[-a]', 'invalid value at offset 1'],
    ['[+1]', 'invalid value at offset 1'],
    ['[.5]', 'invalid value at offset 1'],
    ['[tru]', 'invalid literal at offset 1'],
    ['[nul]', 'invalid literal at offset 1'],
    ['[falsey]', 'expected "," or "]" at offset 6'],
    ['["abc', 'invalid string at offset 1'],
    ['["a\\x"]', 'invalid string at offset 1'],
    ['["a\\u12"]', 'invalid string at offset 1'],
    ['["a\\u12g4"]', 'invalid string at offset 1'],
    ['["a\nb"]', 'invalid string at offset 1'],
    ['["a\u0000b"]', 'invalid string at offset 1'],
    ['{"a\tb": 1}', 'invalid string at offset 1'],
    ['{"a": "b\\', 'invalid string at offset 6'],
    ['1 2', 'unexpected "2" at offset 2'],
    ['{} x', 'unexpected "x" at offset 3'],
    ['"a" "b"', 'unexpected "\\"" at offset 4'],
    ['\u00a01', 'invalid value at offset 0'],
    ['[1,\u00a02]', 'invalid value at offset 3']
  ]
  for (const [src, message] of cases) {
    let err: unknown
    try { canonicalJsonText(src) } catch (e) { err = e }
    t.ok(err instanceof SyntaxError, `${ascii(src)} throws a SyntaxError`)
    t.equal((err as Error).message, message, ascii(src))
    t.throws(() => refParse(src), SyntaxError, `reference rejects ${ascii(src)}`)
  }
})

t.test('depth limit: values 1000 levels down are read, 1001 are not', async (t) => {
  for (const [open, close] of [['[', ']'], ['{"k":', '}']] as const) {
    const nest = (k: number, inner: string): string => open.repeat(k) + inner + close.repeat(k)
    for (const inner of ['[]', '{}', '1', '"s"']) {
      const ok = nest(1000, inner)
      t.equal(canonicalJsonText(ok), ok)
      t.equal(refCanonicalText(ok), ok)
      t.equal(canonicalValue(JSON.parse(ok)), ok)
      const deep = nest(1001, inner)
      t.throws(() => canonicalJsonText(deep), /^document nested too deeply at offset \d+$/)
      t.throws(() => refParse(deep))
      t.throws(() => canonicalValue(JSON.parse(deep)), /nested too deeply/)
    }
  }
})

t.test('random documents: canonicalJsonText equals the reference', async (t) => {
  const gen = new Gen(0x5eed)
  let failed = 0
  const N = 4000
  for (let k = 0; k < N && failed < 5; k++) {
    const doc = gen.document()
    if (!same(t, doc, `document ${k}`)) failed++
  }
  t.equal(failed, 0, `${N} documents`)
})

t.test('random documents: canonicalValue of JSON.parse and parseJsonExact equals the reference', async (t) => {
  const gen = new Gen(0xc0ffee)
  let failed = 0
  const N = 3000
  for (let k = 0; k < N && failed < 5; k++) {
    const doc = gen.document()
    for (const [how, parse] of [['JSON.parse', JSON.parse], ['parseJsonExact', parseJsonExact]] as const) {
      const value = parse(doc) as unknown
      let want: string | Error
      try { want = refValue(value) } catch (e) { want = e as Error }
      if (want instanceof Error) {
        // 1e400 is Infinity to JSON.parse, which has no JSON form.
        t.throws(() => canonicalValue(value), SyntaxError)
        continue
      }
      const got = canonicalValue(value)
      if (got !== want) { failed++; t.equal(got, want, `${how}, document ${k}: ${ascii(doc)}`) }
    }
  }
  t.equal(failed, 0, `${N} documents`)
})

t.test('random large objects: many keys, shuffled or in order, with duplicates', async (t) => {
  const gen = new Gen(7)
  for (let k = 0; k < 60; k++) {
    const n = 50 + gen.int(3000)
    const keys: string[] = []
    for (let j = 0; j < n; j++) {
      // Short keys from a small alphabet collide often; some carry pairs or lone surrogates, and
      // some share a prefix (the sort reads keys three units at a time).
      let key = gen.chance(0.5) ? gen.pick(['', 'ab', 'k000', '~~~~~', '😀', '\\ud800', '\uff61\uff61']) : ''
      const len = gen.int(gen.chance(0.7) ? 4 : 9)
      for (let c = 0; c < len; c++) key += gen.pick(['a', 'b', '~', '\ufffd', '\uff61', '😀', '\\ud800', '\\u0062', 'é', '\\n'])
      keys.push(`"${key}"`)
    }
    if (gen.chance(0.3)) keys.sort()
    const noSurrogates = gen.chance(0.5)
    const members = keys
      .map(q => noSurrogates ? q.replace(/😀|\\ud800/g, 'x') : q)
      .map((q, j) => `${q}:${gen.chance(0.5) ? j : gen.str(3)}`)
    const doc = '{' + members.join(',') + '}'
    same(t, doc, `object ${k} of ${n} members`)
    const value = JSON.parse(doc) as unknown
    t.equal(canonicalValue(value), refValue(value), `canonicalValue, object ${k}`)
  }
  // Distinct keys in code unit order throughout, with and without a surrogate among them.
  const ordered = Array.from({ length: 5000 }, (_, j) => `"k${String(j).padStart(5, '0')}":${j}`)
  same(t, '{' + ordered.join(',') + '}', 'ordered keys')
  same(t, '{' + ordered.join(',') + ',"\uff61":1,"😀":2}', 'ordered keys, then a pair after U+FF61 in UTF-16 order')
  same(t, '{' + ordered.join(',') + ',"k99999":1,"k99999":2}', 'ordered keys, then a duplicate')
})

t.test('compareUtf8 is the order of UTF-8 bytes', async (t) => {
  const gen = new Gen(99)
  const units = [0x41, 0x7f, 0xe9, 0x7ff, 0x800, 0xd7ff, 0xd800, 0xdbff, 0xdc00, 0xdfff, 0xe000, 0xff61, 0xfffd, 0xffff]
  let bad = 0
  for (let k = 0; k < 20000 && bad < 5; k++) {
    const s = (): string => Array.from({ length: gen.int(4) }, () => String.fromCharCode(gen.pick(units))).join('')
    const a = s()
    const b = s()
    const want = Math.sign(refCompare(a, b))
    const got = Math.sign(compareUtf8(a, b))
    if (got !== want) { bad++; t.equal(got, want, ascii(a) + ' vs ' + ascii(b)) }
  }
  t.equal(bad, 0)
})

t.test('fileDigest of data.json covers the canonical text', async (t) => {
  const gen = new Gen(3)
  let bad = 0
  for (let k = 0; k < 200 && bad < 5; k++) {
    // Raw text goes through UTF-8, where a lone surrogate cannot be: only escaped ones here.
    const doc = gen.document().replace(/[\ud800-\udfff]/g, (c, i: number, s: string) => {
      const code = c.charCodeAt(0)
      const pair = code <= 0xdbff ? /[\udc00-\udfff]/.test(s[i + 1] ?? '') : /[\ud800-\udbff]/.test(s[i - 1] ?? '')
      return pair ? c : u(code)
    })
    const want = createHash('sha256').update(refCanonicalText(doc), 'utf8').digest('hex')
    const got = fileDigest('bundle/data.json', Buffer.from(doc, 'utf8'), 'sha256')
    if (got !== want) { bad++; t.equal(got, want, ascii(doc)) }
  }
  t.equal(bad, 0, '200 documents')
})
