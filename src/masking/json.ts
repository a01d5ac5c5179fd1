// Strict JSON for documents parsed into objects (the proxy's parsed_body). Upstream responses
// are masked as text instead (text-mask.ts), which masks every copy of a duplicate key.
//
// JSON.parse alone is not enough: with duplicate keys it silently keeps the last value, while
// the client (or a downstream parser) may read the first one — a rule masking "/ssn" would hide
// one copy and leak the other. Duplicates are therefore rejected (fail closed), as are invalid
// UTF-8 (TextDecoder fatal; a replacement character would change the data) and nesting deeper
// than the configured bound (keeps the recursive stringify/walks safe).
//
// A light structural pre-scan checks depth and duplicate keys, then JSON.parse (native, fast)
// does the real parsing and syntax validation. The scan only has to be exact for valid JSON:
// for anything else JSON.parse throws.

import { isRawJson, parseJsonExact, rawJsonText } from '../exact-json.js'

const utf8 = new TextDecoder('utf-8', { fatal: true })

export type StrictParseResult = { ok: true; value: unknown } | { ok: false; reason: string }

export function parseStrictJson (bytes: Uint8Array, maxDepth: number): StrictParseResult {
  let text: string
  try {
    text = utf8.decode(bytes) // also drops a leading BOM, which RFC 8259 lets parsers ignore
  } catch {
    return { ok: false, reason: 'body is not valid UTF-8' }
  }
  const scan = scanStructure(text, maxDepth)
  if (scan !== null) return { ok: false, reason: scan }
  try {
    return { ok: true, value: parseJsonExact(text) }
  } catch {
    // V8's SyntaxError quotes a piece of the body; that may be the data being masked, so the
    // message (and the error as cause) is deliberately not passed on.
    return { ok: false, reason: 'body is not valid JSON' }
  }
}

// eslint-disable-next-line no-control-regex
const ASCII = /^[\x00-\x7f]*$/

/**
 * A key as case-insensitive decoders match it: Go's encoding/json (upper case of lower case,
 * code point by code point, simple mappings: "ſ" is "S", the Kelvin sign "K"), .NET's
 * PropertyNameCaseInsensitive, Jackson's ACCEPT_CASE_INSENSITIVE_PROPERTIES. Two keys of one
 * object that fold alike are refused like duplicates: {"role": "user", "ROLE": "admin"} is
 * role "admin" to a Go upstream. JavaScript's mappings stand in for the simple ones where
 * they give one code point; İ (whose full lower case is two) folds to I as in Go.
 */
function foldKey (key: string): string {
  if (ASCII.test(key)) return key.toUpperCase()
  let out = ''
  for (const c of key) {
    if (c === '\u0130') { out += 'I'; continue }
    const lower = c.toLowerCase()
    const l = [...lower].length === 1 ? lower : c
    const upper = l.toUpperCase()
    out += [...upper].length === 1 ? upper : l
  }
  return out
}

const QUOTE = 0x22, BACKSLASH = 0x5c, LBRACE = 0x7b, RBRACE = 0x7d, LBRACKET = 0x5b, RBRACKET = 0x5d, COMMA = 0x2c, COLON = 0x3a

/**
 * Returns null when depth and keys are fine (or the text is malformed in a way JSON.parse will
 * report), else the reason. Each open object keeps the set of its keys seen so far.
 */
function scanStructure (s: string, maxDepth: number): string | null {
  // Stack of open containers: a Set of keys for an object, null for an array.
  const stack: (Set<string> | null)[] = []
  // The folded keys (foldKey) of the open objects, innermost last.
  const folds: Set<string>[] = []
  let expectKey = false
  const n = s.length
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i)
    if (c === QUOTE) {
      // Find the closing quote: one preceded by an even number of backslashes.
      let j = i + 1
      let end: number
      for (;;) {
        end = s.indexOf('"', j)
        if (end < 0) return null // unterminated: JSON.parse reports it
        let k = end - 1
        while (k > i && s.charCodeAt(k) === BACKSLASH) k--
        if (((end - 1 - k) & 1) === 0) break
        j = end + 1
      }
      if (expectKey) {
        const keys = stack[stack.length - 1]!
        let key = s.slice(i + 1, end)
        // "\u0061" and "a" are the same key; decode escapes before comparing.
        if (key.includes('\\')) {
          try { key = JSON.parse(s.slice(i, end + 1)) as string } catch { return null }
        }
        if (keys.has(key)) return `duplicate object key at offset ${i} (ambiguous: parsers disagree on which value wins)`
        keys.add(key)
        const folded = foldKey(key)
        const foldedKeys = folds[folds.length - 1]!
        if (foldedKeys.has(folded)) return `object key at offset ${i} equals another ignoring case (ambiguous: case-insensitive parsers such as Go's encoding/json read them as one)`
        foldedKeys.add(folded)
        expectKey = false
      }
      i = end
    } else if (c === LBRACE || c === LBRACKET) {
      if (stack.length >= maxDepth) return `nesting is deeper than ${maxDepth} levels`
      const isObject = c === LBRACE
      stack.push(isObject ? new Set() : null)
      if (isObject) folds.push(new Set())
      expectKey = isObject
    } else if (c === RBRACE || c === RBRACKET) {
      if (stack.pop() != null) folds.pop()
      expectKey = false
    } else if (c === COMMA) {
      expectKey = stack.length > 0 && stack[stack.length - 1] !== null
    } else if (c === COLON) {
      expectKey = false
    }
  }
  return null
}

/**
 * Canonical JSON (object keys sorted, no whitespace): the cache key for a rule set and the
 * hashed form of non-string values. Throws on values JSON cannot represent or on cycles.
 */
export function canonicalJson (v: unknown, depth = 0): string {
  if (depth > 256) throw new TypeError('value is nested too deeply')
  if (v === null) return 'null'
  switch (typeof v) {
    case 'string': return JSON.stringify(v)
    case 'boolean': return v ? 'true' : 'false'
    case 'number':
      if (!Number.isFinite(v)) throw new TypeError('non-finite number')
      return JSON.stringify(v)
    case 'object': {
      if (isRawJson(v)) return rawJsonText(v) // a number kept as its text (exact-json.ts)
      if (Array.isArray(v)) return '[' + v.map((x) => canonicalJson(x, depth + 1)).join(',') + ']'
      const o = v as Record<string, unknown>
      const keys = Object.keys(o).filter((k) => o[k] !== undefined).sort()
      return '{' + keys.map((k) => JSON.stringify(k) + ':' + canonicalJson(o[k], depth + 1)).join(',') + '}'
    }
    default:
      throw new TypeError(`${typeof v} is not a JSON value`)
  }
}
