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
  const out = p.value(0)
  p.ws()
  if (p.i !== text.length) throw new SyntaxError(`unexpected ${JSON.stringify(text[p.i])} at offset ${p.i}`)
  return out
}

/**
 * Canonical text of an already-parsed value (YAML data). Numbers use JavaScript's shortest
 * form; integers and ordinary decimals match OPA, exotic float spellings may not.
 */
export function canonicalValue (v: unknown, depth = 0): string {
  if (depth > MAX_DEPTH) throw new SyntaxError('document nested too deeply')
  if (v === null || v === undefined) return 'null'
  if (typeof v === 'string') return goString(v)
  if (typeof v === 'boolean') return v ? 'true' : 'false'
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new SyntaxError(`non-finite number ${v} has no JSON form`)
    return JSON.stringify(v)
  }
  if (typeof v === 'bigint') return v.toString()
  if (isRawJson(v)) return rawJsonText(v) // a number kept exact (its digits)
  if (Array.isArray(v)) return '[' + v.map(e => canonicalValue(e, depth + 1)).join(',') + ']'
  if (v instanceof Date) return goString(v.toISOString())
  if (typeof v === 'object') {
    const entries = Object.entries(v as Record<string, unknown>)
    entries.sort((a, b) => compareUtf8(a[0], b[0]))
    return '{' + entries.map(([k, e]) => goString(k) + ':' + canonicalValue(e, depth + 1)).join(',') + '}'
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
 * allocation: a data.json of a million keys is sorted before its digest can be found wrong.
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

/** A string as Go's encoding/json writes it with SetEscapeHTML(false). */
export function goString (s: string): string {
  let out = '"'
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c === 0x22) out += '\\"'
    else if (c === 0x5c) out += '\\\\'
    else if (c < 0x20) {
      if (c === 0x0a) out += '\\n'
      else if (c === 0x0d) out += '\\r'
      else if (c === 0x09) out += '\\t'
      else if (c === 0x08) out += '\\b'
      else if (c === 0x0c) out += '\\f'
      else out += '\\u00' + HEX[c >> 4] + HEX[c & 0xf]
    } else if (c === 0x2028 || c === 0x2029) {
      out += '\\u' + c.toString(16)
    } else if (c >= 0xd800 && c <= 0xdbff) {
      const d = i + 1 < s.length ? s.charCodeAt(i + 1) : 0
      if (d >= 0xdc00 && d <= 0xdfff) { out += s[i]! + s[i + 1]!; i++ } else out += '\ufffd'
    } else if (c >= 0xdc00 && c <= 0xdfff) {
      // A lone surrogate is invalid UTF-8 to Go, which substitutes U+FFFD.
      out += '\ufffd'
    } else out += s[i]!
  }
  return out + '"'
}

class CanonicalParser {
  i = 0
  constructor (readonly s: string) {}

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

  value (depth: number): string {
    if (depth > MAX_DEPTH) this.fail('document nested too deeply')
    const c = this.s[this.i]
    if (c === '{') return this.object(depth)
    if (c === '[') return this.array(depth)
    if (c === '"') return goString(this.string())
    if (c === 't') return this.literal('true')
    if (c === 'f') return this.literal('false')
    if (c === 'n') return this.literal('null')
    return this.number()
  }

  literal (word: string): string {
    if (this.s.startsWith(word, this.i)) { this.i += word.length; return word }
    return this.fail('invalid literal')
  }

  number (): string {
    const m = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y
    m.lastIndex = this.i
    const r = m.exec(this.s)
    if (r === null || r[0] === '' || r[0] === '-') this.fail('invalid value')
    this.i += r[0].length
    return r[0]
  }

  string (): string {
    const m = /"(?:[^"\\\u0000-\u001f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*"/y
    m.lastIndex = this.i
    const r = m.exec(this.s)
    if (r === null) this.fail('invalid string')
    this.i += r[0].length
    return JSON.parse(r[0]) as string
  }

  object (depth: number): string {
    this.i++
    this.ws()
    // Later duplicates win, as when Go decodes into a map.
    const members = new Map<string, string>()
    if (this.s[this.i] === '}') { this.i++; return '{}' }
    for (;;) {
      if (this.s[this.i] !== '"') this.fail('expected object key')
      const key = this.string()
      this.ws()
      if (this.s[this.i] !== ':') this.fail('expected ":"')
      this.i++
      this.ws()
      members.set(key, this.value(depth + 1))
      this.ws()
      const c = this.s[this.i]
      if (c === ',') { this.i++; this.ws(); continue }
      if (c === '}') { this.i++; break }
      this.fail('expected "," or "}"')
    }
    const keys = [...members.keys()].sort(compareUtf8)
    return '{' + keys.map(k => goString(k) + ':' + members.get(k)!).join(',') + '}'
  }

  array (depth: number): string {
    this.i++
    this.ws()
    const items: string[] = []
    if (this.s[this.i] === ']') { this.i++; return '[]' }
    for (;;) {
      items.push(this.value(depth + 1))
      this.ws()
      const c = this.s[this.i]
      if (c === ',') { this.i++; this.ws(); continue }
      if (c === ']') { this.i++; break }
      this.fail('expected "," or "]"')
    }
    return '[' + items.join(',') + ']'
  }
}
