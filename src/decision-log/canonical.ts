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
//   - true, false, null as literals; values with toJSON() are replaced by its result first;
//   - the resulting string is hashed as UTF-8.
//
// For I-JSON data (what JSON.parse produces) this is the same output as RFC 8785 (JCS), and
// canonicalJson(x) === canonicalJson(JSON.parse(JSON.stringify(x))) for any JSON-able x — the
// property verification relies on.

// Strings with nothing to escape are quoted directly: JSON.stringify on every key and value
// costs about as much as the rest of the serialisation together. Surrogates take the slow
// path so lone ones are escaped exactly as JSON.stringify does.
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
