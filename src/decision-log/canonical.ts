// Canonical JSON: the one byte sequence the hash chain is computed over.
//
// A decision log event is serialised by Bouncer, stored, uploaded, and possibly parsed and
// re-serialised by the control plane (keys reordered, whitespace added) before someone runs
// `bouncer verify-log` on an export. The hash must survive that, so it is computed over a
// canonical form rather than over the bytes as written:
//
//   - objects: members sorted by key, comparing UTF-16 code units (JavaScript's default string
//     sort); no whitespace; members whose value is undefined / a function / a symbol are left
//     out (as JSON.stringify does);
//   - arrays: elements in order; undefined / functions / symbols become null (as JSON.stringify);
//   - strings: JSON.stringify escaping (\" \\ \b \f \n \r \t, other C0 controls as \u00xx,
//     lone surrogates as \udxxx, everything else literal);
//   - numbers: ECMAScript Number-to-string (shortest round-trip form, -0 → 0); NaN and ±Infinity
//     are refused because they have no JSON form and a silent `null` would hide an edit;
//     numbers read exactly (exact-json.ts: integers past 2^53, numbers past the doubles) keep
//     their text (an integer's digits; -0 is 0), and verify-log reads stored lines the same way;
//   - true, false, null as literals; values with toJSON() are replaced by its result first;
//   - the resulting string is hashed as UTF-8.
//
// For I-JSON data (what JSON.parse produces) this is the same output as RFC 8785 (JCS), and
// canonicalJson(x) === canonicalJson(JSON.parse(JSON.stringify(x))) for any JSON-able x — the
// property verification relies on.

// Strings with nothing to escape are quoted directly: JSON.stringify on every key and value
// costs about as much as the rest of the serialisation together. Surrogates take the slow
// path so lone ones are escaped exactly as JSON.stringify does.
import { isRawJson, rawJsonText } from '../exact-json.js'
import { sortKeys } from '../sorted-copy.js'

const NEEDS_ESCAPE = /["\\\u0000-\u001f\ud800-\udfff]/

export function quote (s: string): string {
  return NEEDS_ESCAPE.test(s) ? JSON.stringify(s) : '"' + s + '"'
}

export function canonicalJson (value: unknown): string {
  const out = write(value)
  if (out === undefined) throw new TypeError('canonicalJson: value has no JSON form')
  return out
}

function write (value: unknown): string | undefined {
  switch (typeof value) {
    case 'string': return quote(value)
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError(`canonicalJson: non-finite number ${value}`)
      return JSON.stringify(value)
    case 'boolean': return value ? 'true' : 'false'
    case 'bigint': throw new TypeError('canonicalJson: bigint has no JSON form')
    case 'undefined': case 'function': case 'symbol': return undefined
  }
  if (value === null) return 'null'
  // A number read exactly (exact-json.ts): its canonical text.
  if (isRawJson(value)) return rawJsonText(value)
  const obj = value as Record<string, unknown> & { toJSON?: () => unknown }
  if (typeof obj.toJSON === 'function') return write(obj.toJSON())
  if (Array.isArray(value)) {
    let s = '['
    for (let i = 0; i < value.length; i++) {
      if (i > 0) s += ','
      s += write(value[i]) ?? 'null'
    }
    return s + ']'
  }
  const keys = Object.keys(obj).sort()
  let s = '{'
  let first = true
  for (const k of keys) {
    const v = write(obj[k])
    if (v === undefined) continue
    s += (first ? '' : ',') + quote(k) + ':' + v
    first = false
  }
  return s + '}'
}

/** Canonical `"key":value` members of an object, in canonical order (used to build a line
 * and a hash body from one serialisation of each member). */
export function canonicalMembers (obj: Record<string, unknown>): Array<[string, string]> {
  const keys = Object.keys(obj).sort()
  const out: Array<[string, string]> = []
  for (const k of keys) {
    const v = write(obj[k])
    if (v !== undefined) out.push([k, v])
  }
  return out
}

/**
 * The canonical members of `obj` in three runs, split where members named `lo` and `hi`
 * (lo < hi, neither a key of obj) would sort in: [members before lo, between lo and hi, after
 * hi], each the text between the braces of a canonical object (possibly empty). The chain
 * inserts seq and prev_hash there for the hash body and puts them in front on the stored line,
 * so each run is serialised once for both.
 */
export function canonicalRuns (obj: Record<string, unknown>, lo: string, hi: string): [string, string, string] {
  const keys = sortKeys(Object.keys(obj))
  // Fast path: the members are put in canonical order (sorted copies of the objects whose keys
  // are not), and JSON.stringify — native, a few times faster than write() — renders each run.
  bail = false
  const runs: Array<Record<string, unknown>> = [{}, {}, {}]
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]!
    if (k === '__proto__') { bail = true; break }
    const v = prep(obj[k])
    if (bail) break
    runs[k < lo ? 0 : k < hi ? 1 : 2]![k] = v
  }
  if (!bail) return [membersText(runs[0]!), membersText(runs[1]!), membersText(runs[2]!)]
  // Something JSON.stringify could render differently: the reference serialiser.
  const text = ['', '', '']
  for (const k of keys) {
    const v = write(obj[k])
    if (v === undefined) continue
    const r = k < lo ? 0 : k < hi ? 1 : 2
    text[r] += (text[r] === '' ? '' : ',') + quote(k) + ':' + v
  }
  return text as [string, string, string]
}

/** JSON.stringify of an object whose members are in canonical order, without the braces. */
function membersText (o: Record<string, unknown>): string {
  const t = JSON.stringify(o)
  return t.slice(1, t.length - 1)
}

// --- the JSON.stringify fast path ---
//
// JSON.stringify writes strings, numbers, literals, arrays, undefined/function/symbol members and
// toJSON exactly as write() does; it differs only in the order of object members (insertion
// order, with array-index keys such as "7" first in numeric order) and in what it does with
// non-finite numbers (null), boxed primitives and JSON.rawJSON objects. prep() returns a value
// JSON.stringify renders canonically: objects whose keys are not already in canonical order
// are replaced by copies built in that order, toJSON is applied the way write() applies it, and
// non-finite numbers and bigints throw as in write(). It sets `bail` when it meets something
// it cannot vouch for (a key starting with a digit, a "__proto__" key in an object it would
// copy, an object that is neither plain, null-prototype nor an array, a JSON.rawJSON value
// whose text is not canonical);
// the caller then uses write().

let bail = false
const OBJECT_PROTO = Object.prototype

function prep (value: unknown): unknown {
  switch (typeof value) {
    case 'object': return value === null ? null : prepObject(value as Record<string, unknown>)
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError(`canonicalJson: non-finite number ${value}`)
      return value
    case 'bigint': throw new TypeError('canonicalJson: bigint has no JSON form')
    default: return value // string, boolean, undefined, function, symbol
  }
}

/** prep() of a value that is not an object, without the call (most values are strings). */
function prepLeaf (v: unknown): unknown {
  if (typeof v === 'number' && !Number.isFinite(v)) throw new TypeError(`canonicalJson: non-finite number ${v}`)
  if (typeof v === 'bigint') throw new TypeError('canonicalJson: bigint has no JSON form')
  return v
}

function prepObject (obj: Record<string, unknown> & { toJSON?: () => unknown }): unknown {
  if (typeof obj.toJSON === 'function') return prep(obj.toJSON())
  if (Array.isArray(obj)) {
    let copy: unknown[] | null = null
    for (let i = 0; i < obj.length; i++) {
      const e: unknown = obj[i]
      const p = typeof e === 'object' && e !== null ? prepObject(e as Record<string, unknown>) : prepLeaf(e)
      if (bail) return obj
      if (copy === null) {
        if (p === e) continue
        copy = obj.slice(0, i)
      }
      copy.push(p)
    }
    return copy ?? obj
  }
  const proto = Object.getPrototypeOf(obj) as unknown
  // JSON.rawJSON values have a null prototype: a plain object needs no isRawJSON call.
  if (proto !== OBJECT_PROTO) {
    if (isRawJson(obj)) {
      // An exact big integer (exact-json.ts): JSON.stringify writes its text, canonical as it is.
      if (rawJsonText(obj) !== obj.rawJSON) bail = true
      return obj
    }
    if (proto !== null) { bail = true; return obj }
  }
  const keys = Object.keys(obj)
  let sorted = true
  let prev = NaN
  for (let i = 0; i < keys.length; i++) {
    const c = keys[i]!.charCodeAt(0) // NaN for ""
    if (c >= 48 && c <= 57) { bail = true; return obj } // possibly an array index
    // Most neighbours differ in their first code unit, which decides; only the others (and "")
    // take the full string comparison, a call per pair that was a good part of prep()'s time.
    if (i > 0 && !(prev < c) && (prev > c || keys[i - 1]! > keys[i]!)) sorted = false
    prev = c
  }
  let copy: Record<string, unknown> | null = null
  // A null-prototype object (the proxy's parsed_query) is copied into a plain one: V8 keeps
  // those in dictionary mode, and JSON.stringify of an event holding one ran ~1.6x slower
  // (live proxy events vs their JSON.parse clones, 5.5-7.2 vs 3.4-4.1 us per 1 KB run).
  if (!sorted || proto === null) {
    if (!sorted) sortKeys(keys)
    copy = {}
  }
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]!
    const v = obj[k]
    const p = typeof v === 'object' && v !== null ? prepObject(v as Record<string, unknown>) : prepLeaf(v)
    if (bail) return obj
    if (copy === null) {
      if (p === v) continue
      copy = {}
      for (let j = 0; j < i; j++) {
        // Assigned, an own "__proto__" member before this one would set the copy's prototype
        // and vanish from the line (the line and its hash would still agree): write() keeps it.
        if (keys[j] === '__proto__') { bail = true; return obj }
        copy[keys[j]!] = obj[keys[j]!]
      }
    }
    if (k === '__proto__') { bail = true; return obj }
    copy[k] = p
  }
  return copy ?? obj
}
