// Credentials that must never be logged, whatever the policy or the mask rules say: headers
// (authorization, cookies, the configured auth header…, see config.ts) and query parameters
// whose names are credentials. Used for decision-log events (event.ts) and process logs (the
// pino formatter in src/index.ts). Everything is compiled once from the configured names; the
// per-request work is a few string scans, no regex is built.

import { isRawJson, parseJsonExact } from '../exact-json.js'
import { sortedCopy } from '../sorted-copy.js'

/** Query parameter (and JSON body field) names erased by default: the config schema's default,
 * one list for it and for loggers built without it. */
export { DEFAULT_ERASE_QUERY_PARAMS } from '../config/schema.js'

/** What an erased query parameter's value is replaced with in a logged URL or path. */
export const REDACTED_VALUE = '[REDACTED]'

/** Case-insensitive membership test for a list of names, built once. */
export type NameMatcher = (name: string) => boolean

/**
 * The one test of "is this parameter / field name a credential?", shared by the decision-log
 * erasure (event.ts), the process-log scrubber and `bouncer evidence`'s scan
 * (src/evidence/scan.ts). A name matches when, compared case-insensitively, it is one of
 * `names`, or, percent-decoded ("+" is a space) as frameworks decode a parameter name first:
 *   - it is one of `names`                          (`access%5Ftoken`)
 *   - its part before the first "[" is one          (`access_token[]`, `access_token[0]`, PHP, Rails, qs)
 *     or is one once "." and " " are "_" (PHP)     (`access.token`)
 *   - leading spaces dropped, or an unclosed "[" as "_" (PHP: `%20token`, `access[token`)
 *   - one of its bracketed segments is one          (`user[password]`, `a[b][token]`)
 * Over-matching a name only costs a logged value; under-matching logs a credential.
 */
export function compileNameMatcher (names: readonly string[]): NameMatcher {
  const set = new Set(names.map((n) => n.toLowerCase()))
  if (set.size === 0) return () => false
  let min = Infinity
  let max = 0
  for (const n of set) { min = Math.min(min, n.length); max = Math.max(max, n.length) }
  const exact = (s: string): boolean => s.length >= min && s.length <= max && (set.has(s) || set.has(s.toLowerCase()))
  /** The forms of one parameter name; `decoded`: it is decoded already (never decoded twice). */
  const forms = (name: string, decoded: boolean): boolean => {
    if (exact(name)) return true
    if (!decoded && !hasSpecial(name)) return false
    // PHP drops leading spaces from a name (`%20access_token` is access_token).
    const d = (decoded ? name : decodeName(name)).replace(LEADING_SPACES, '')
    if (d !== name && exact(d)) return true
    const open = d.indexOf('[')
    const base = open < 0 ? d : d.slice(0, open)
    if (open >= 0 && exact(base)) return true
    if ((base.includes('.') || base.includes(' ')) && exact(base.replace(PHP_UNDERSCORE, '_'))) return true
    // PHP: a "[" without a closing "]" is "_" too (`access[token` is access_token).
    if (open >= 0 && d.indexOf(']', open + 1) < 0 && exact(d.replace(PHP_UNCLOSED, '_'))) return true
    for (let i = open; i >= 0; i = d.indexOf('[', i + 1)) {
      const close = d.indexOf(']', i + 1)
      if (close < 0) break
      if (exact(d.slice(i + 1, close))) return true
      i = close
    }
    return false
  }
  return function isCredential (name: string): boolean {
    if (forms(name, false)) return true
    // A name holding a separator forEachParam splits on (a parsed_query key from `?x#access_token=…`
    // or `?x?access_token=…`: parsers that split on "&" only keep the rest in the name): the
    // parameter is what follows its last separator, as forEachParam reads it. Each form is
    // decoded once at most, as a parser decodes a name: no recursion (nested encodings of a
    // 1 MB name took seconds).
    const at = lastSeparator(name)
    if (at >= 0 && forms(name.slice(at + 1), false)) return true
    if (!name.includes('%')) return false
    const d = decodeName(name)
    const dat = lastSeparator(d)
    return dat >= 0 && forms(d.slice(dat + 1), true)
  }
}

/**
 * compileNameMatcher's test for the claims of a verified token, where IdPs name the upstream
 * tokens they pass on with a prefix of their own: a claim is also a credential when its name
 * ends in one of `names` after a "_", "-" or "." (`idp_access_token`, `github-token`,
 * `vault.secret`), compared case-insensitively.
 */
export function compileClaimMatcher (names: readonly string[]): NameMatcher {
  const isCredential = compileNameMatcher(names)
  const suffixes = [...new Set(names.map((n) => n.toLowerCase()))]
  if (suffixes.length === 0) return isCredential
  return function isCredentialClaim (name: string): boolean {
    if (isCredential(name)) return true
    const lower = name.toLowerCase()
    for (const s of suffixes) {
      const at = lower.length - s.length - 1
      if (at >= 0 && lower.endsWith(s)) {
        const c = lower.charCodeAt(at)
        if (c === 0x5f || c === 0x2d || c === 0x2e) return true // _ - .
      }
    }
    return false
  }
}

/** The index of the last character forEachParam separates parameters on in `s` ("&", ";", "#",
 * "?", and "/" after a "#"), or -1. */
function lastSeparator (s: string): number {
  let at = -1
  let fragment = false
  for (let k = 0; k < s.length; k++) {
    const c = s.charCodeAt(k)
    if (c === 0x23) fragment = true
    if (c === 0x23 || c === 0x3f || c === 0x26 || c === 0x3b || (c === 0x2f && fragment)) at = k // # ? & ; /
  }
  return at
}

const PHP_UNDERSCORE = /[. ]/g
const PHP_UNCLOSED = /[. []/g
const LEADING_SPACES = /^ +/

/** Whether a name has anything compileNameMatcher's decoded forms depend on (% + [ . space). */
function hasSpecial (s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c === 0x25 || c === 0x2b || c === 0x5b || c === 0x2e || c === 0x20) return true // % + [ . space
  }
  return false
}

/**
 * Calls `each(start, eq, end)` for every `name=value` parameter of the query (and fragment) of
 * `url` — or of all of it when `queryOnly` — where url[start, eq) is the raw name and
 * url(eq, end) the raw value. Before the query, matrix parameters (`;name=value` in a path
 * segment) count. The query starts after the first "?", or the first "#" when there
 * is none before it; "&", ";", "#" and "?" all separate parameters (some servers split on ";",
 * OAuth puts tokens in the fragment, a value may be a URL), and so does "/" in the fragment. The
 * erasure and the evidence scan read URLs this way.
 */
export function forEachParam (url: string, queryOnly: boolean, each: (start: number, eq: number, end: number) => void, fragmentOnly = false): void {
  let i = 0
  if (!queryOnly) {
    let q = -1
    // Matrix parameters in the path (`/api;access_token=…/x`: Spring's @MatrixVariable reads
    // them): from a ";" to the next ";" or "/".
    let m = -1
    let eq = -1
    for (let k = 0; k <= url.length; k++) {
      const c = k < url.length ? url.charCodeAt(k) : 0x3f
      if (m >= 0 && (c === 0x3b || c === 0x2f || c === 0x3f || c === 0x23)) { // ; / ? #
        if (eq >= 0) each(m + 1, eq, k)
        m = -1
      }
      if (c === 0x3f || c === 0x23) { q = k < url.length ? k : -1; break } // ? #
      if (c === 0x3b) { m = k; eq = -1 } else if (c === 0x3d && m >= 0 && eq < 0) eq = k // ; =
    }
    if (q < 0) return
    i = q + 1
  }
  const end = url.length
  // In the fragment, "/" and "?" separate too: a client-side route carries its own query
  // (`#/cb?access_token=…`) or path (`#state=x/access_token=…`). In the query, "?" does (a URL
  // in a value: `?next=/cb?token=…`). A value cut short only ever hides more.
  let fragment = fragmentOnly || (!queryOnly && url.charCodeAt(i - 1) === 0x23)
  while (i <= end) {
    let pe = i
    let eq = -1
    for (; pe < end; pe++) {
      const c = url.charCodeAt(pe)
      if (c === 0x26 || c === 0x3b || c === 0x23 || c === 0x3f) break // & ; # ?
      if (c === 0x2f && fragment) break // /
      if (c === 0x3d && eq < 0) eq = pe // =
    }
    if (eq >= 0) each(i, eq, pe)
    if (pe < end && url.charCodeAt(pe) === 0x23) fragment = true
    i = pe + 1
  }
}

/** Whether a query value (parsed_query splits on "&" only) may hold further parameters as
 * forEachParam reads them: `1;token=…`, `1#access_token=…`, `/cb?token=…`. */
export function mayHoldParams (value: string): boolean {
  return value.includes('=') && (value.includes(';') || value.includes('#') || value.includes('?'))
}

/**
 * The parsed_path segments that are fragment, as ext_authz leaves it (the path is split on "/"
 * with its fragment), are the one at this index (holding the first "#") and every one after it.
 * -1: none.
 */
export function firstFragmentSegment (segments: readonly unknown[]): number {
  return segments.findIndex((s) => typeof s === 'string' && s.includes('#'))
}

/**
 * Returns `url` (a path or URL with an optional query, or a query alone when `queryOnly`) with
 * the value of every credential parameter replaced by [REDACTED] — the same string when nothing
 * changed. Names are matched by `isCredential` (compileNameMatcher: decoded, bracket forms);
 * parameters as forEachParam reads them.
 */
export function compileUrlScrubber (isCredential: NameMatcher, opts: { queryOnly?: boolean; fragmentOnly?: boolean } = {}): (url: string) => string {
  const fragmentOnly = opts.fragmentOnly === true
  const queryOnly = opts.queryOnly === true || fragmentOnly
  const scrubParams = (url: string, asQuery: boolean, asFragment: boolean): string => {
    let out = ''
    let copied = 0
    forEachParam(url, asQuery, (start, eq, end) => {
      if (eq + 1 >= end) return
      const value = url.slice(eq + 1, end)
      if (value === REDACTED_VALUE) return
      // A value whose decoded form holds a credential parameter (`next=%2Fcb%3Ftoken%3D…`, as a
      // parser decoding it reads it) is replaced whole; one decoding, as parsers do.
      if (isCredential(url.slice(start, eq)) || (ENCODED_SEPARATOR.test(value) && encodedCredential(decodeName(value), isCredential))) {
        out += url.slice(copied, eq + 1) + REDACTED_VALUE
        copied = end
      }
    }, asFragment)
    return copied === 0 ? url : out + url.slice(copied)
  }
  return function scrub (url: string): string {
    if (queryOnly) return scrubParams(url, true, fragmentOnly)
    if (!mayHaveUrlParams(url)) return url
    return scrubEncodedSegments(scrubParams(url, false, false), isCredential, (decoded) => scrubParams(decoded, false, false))
  }
}

/** A percent-encoded "#", "&", ";" or "?": only text holding one can hide a parameter that
 * decoding reveals (checked first: most encoded values, `status%3Aopen`, hold none). */
const ENCODED_SEPARATOR = /%(?:2[36]|3[bBfF])/

/** Whether a decoded query value holds parameters (erase.ts mayHoldParams: a separator and a
 * "=") one of which is a credential with a value: `/cb?token=…`, not `key=PROJ-1`. */
export function encodedCredential (decoded: string, isCredential: NameMatcher): boolean {
  return mayHoldParams(decoded) && holdsCredential(decoded, true, isCredential)
}

/** Whether `url` may hold a parameter forEachParam reads (a query, fragment, matrix parameter,
 * or percent-encoded structure that decoding reveals). */
export function mayHaveUrlParams (url: string): boolean {
  return url.includes('?') || url.includes('#') || url.includes(';') || url.includes('%')
}

/** Whether forEachParam finds a parameter named as a credential, with a value, in `text`. */
export function holdsCredential (text: string, queryOnly: boolean, isCredential: NameMatcher): boolean {
  if (!text.includes('=')) return false
  let found = false
  forEachParam(text, queryOnly, (start, eq, end) => {
    if (!found && eq + 1 < end && text.slice(eq + 1, end) !== REDACTED_VALUE && isCredential(text.slice(start, eq))) found = true
  })
  return found
}

/**
 * The path part of `url` with each segment that holds a percent-encoded separator hiding a
 * credential parameter (`/cb%23access_token=…`, `/api%3Btoken=…`: the decoded path ext_authz's
 * parsed_path and many routers read) replaced by its decoded form with those values redacted,
 * encoded again.
 */
function scrubEncodedSegments (url: string, isCredential: NameMatcher, scrubDecoded: (decoded: string) => string): string {
  if (!ENCODED_SEPARATOR.test(url)) return url
  const q = pathEnd(url)
  const path = url.slice(0, q)
  if (!path.includes('%')) return url
  let changed = false
  const segments = path.split('/').map((seg) => {
    if (!seg.includes('%')) return seg
    const decoded = decodePathSegment(seg)
    if (!decoded.includes('#') && !decoded.includes('?') && !decoded.includes(';')) return seg
    if (!holdsCredential(decoded, false, isCredential)) return seg
    changed = true
    // Scrubbed as decoded, not decoded again. A lone surrogate (from a JSON \ud800 escape) makes
    // encodeURIComponent throw: such a segment goes whole.
    try {
      return encodeURIComponent(scrubDecoded(decoded)).replace(/%3D/g, '=').replace(/%5B/g, '[').replace(/%5D/g, ']')
    } catch { return REDACTED_VALUE }
  })
  return changed ? segments.join('/') + url.slice(q) : url
}

/** Where the path part of `url` ends: its first "?" or "#" (the length when it has neither). */
export function pathEnd (url: string): number {
  for (let k = 0; k < url.length; k++) { const c = url.charCodeAt(k); if (c === 0x3f || c === 0x23) return k }
  return url.length
}

/** A path segment percent-decoded ("+" stays), leniently as decodeName. */
function decodePathSegment (s: string): string {
  try { return decodeURIComponent(s) } catch { return decodeName(s.replace(/\+/g, '%2B')) }
}

/**
 * Request headers whose value is a URL or a path with a query (a fixed list): the query
 * credentials in them are scrubbed as in the request path, and `bouncer evidence` scans them.
 * `:path` and `x-envoy-original-path` are Envoy's (ext_authz inputs); `referer` carries the
 * previous page's URL; the rest are the original-URL headers reverse proxies and rewrite
 * modules set (IIS, nginx, Traefik, Envoy), and location-like ones.
 */
export const URL_HEADERS: readonly string[] = Object.freeze([
  ':path', 'x-envoy-original-path', 'referer', 'x-original-url', 'x-original-uri', 'x-forwarded-uri',
  'x-forwarded-url', 'x-rewrite-url', 'x-request-uri', 'x-request-url', 'location', 'content-location',
])

/** A name percent-decoded ("+" a space), leniently: an invalid escape stays as it is (as PHP and
 * most frameworks read it); bytes that are not UTF-8 become U+FFFD. */
export function decodeName (s: string): string {
  if (s.includes('+')) s = s.replace(/\+/g, ' ')
  if (!s.includes('%')) return s
  try { return decodeURIComponent(s) } catch {}
  const bytes: number[] = []
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c === 0x25 && i + 2 < s.length && isHex(s.charCodeAt(i + 1)) && isHex(s.charCodeAt(i + 2))) {
      bytes.push(parseInt(s.slice(i + 1, i + 3), 16))
      i += 2
    } else if (c < 0x80) bytes.push(c)
    else {
      const cp = s.codePointAt(i)!
      for (const b of Buffer.from(String.fromCodePoint(cp), 'utf8')) bytes.push(b)
      if (cp > 0xffff) i++
    }
  }
  return Buffer.from(bytes).toString('utf8')
}

function isHex (c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66)
}

/** What replaces a logged request body text that erasure cannot read (neither JSON nor a form):
 * its credentials could be anywhere in it, so none of it is kept. */
export const WITHHELD_BODY = '[WITHHELD: request body not parsed; it may hold credentials]'

/** A request body text as erasure (and the evidence scan) reads it: JSON (an object or an
 * array), a form (`a=1&b=2`, URL-encoded characters only, at least one "="), or other text. */
export type BodyText = { kind: 'json'; value: unknown } | { kind: 'form' } | { kind: 'text' }

export function readBodyText (text: string): BodyText {
  let i = 0
  while (i < text.length && (text.charCodeAt(i) <= 0x20)) i++
  const first = text.charCodeAt(i)
  if (first === 0x7b || first === 0x5b) { // { [
    try { return { kind: 'json', value: parseJsonExact(text) } } catch { return { kind: 'text' } }
  }
  return isFormText(text) ? { kind: 'form' } : { kind: 'text' }
}

/** `name=value&…` in the characters a form encoder writes (and raw brackets), trailing
 * whitespace allowed; anything else (spaces, quotes, braces, control or non-ASCII characters)
 * is not read as a form. */
function isFormText (text: string): boolean {
  let end = text.length
  while (end > 0 && text.charCodeAt(end - 1) <= 0x20) end--
  let eq = false
  for (let i = 0; i < end; i++) {
    const c = text.charCodeAt(i)
    if (c === 0x3d) eq = true
    else if (c <= 0x20 || c >= 0x7f || FORM_EXCLUDED.includes(text[i]!)) return false
  }
  return eq
}

const FORM_EXCLUDED = '"{}<>\\^`|'

/** `v` with every string that holds a credential parameter (mayHoldParams) scrubbed
 * by `scrub`, copy-on-write; the same value when none changed. Pointers go to `rewritten`. */
export function scrubParamValuesDeep (v: unknown, scrub: (s: string) => string, pointer: string, rewritten: string[], depth: number): unknown {
  if (typeof v === 'string') {
    if (!mayHoldParams(v)) return v
    const t = scrub(v)
    if (t !== v) rewritten.push(pointer)
    return t
  }
  if (v === null || typeof v !== 'object' || depth >= 256 || isRawJson(v)) return v
  if (Array.isArray(v)) {
    let copy: unknown[] | undefined
    for (let i = 0; i < v.length; i++) {
      const x = scrubParamValuesDeep(v[i], scrub, pointer + '/' + i, rewritten, depth + 1)
      if (x !== v[i]) (copy ??= [...v])[i] = x
    }
    return copy ?? v
  }
  let copy: Record<string, unknown> | undefined
  for (const k of Object.keys(v)) {
    const x0 = (v as Record<string, unknown>)[k]
    const x = scrubParamValuesDeep(x0, scrub, pointer + '/' + escapePointer(k), rewritten, depth + 1)
    if (x !== x0) (copy ??= sortedCopy(v as Record<string, unknown>))[k] = x
  }
  return copy ?? v
}

/** JSON Pointer escaping of one key (RFC 6901). */
export function escapePointer (s: string): string {
  return s.includes('~') || s.includes('/') ? s.replace(/~/g, '~0').replace(/\//g, '~1') : s
}

const MAX_ERASE_DEPTH = 256

/**
 * `v` without the members whose names are credentials, at any depth (objects inside arrays
 * too); the same object when none was found. Containers on the way to a removal are copied,
 * never modified. Appends a pointer (`prefix` + path) per removed member to `erased`.
 * Nesting beyond 256 levels is replaced whole (and listed), never walked or kept unchecked.
 */
export function eraseKeysDeep (v: unknown, isCredential: NameMatcher, prefix: string, erased: string[], depth = 0): unknown {
  if (v === null || typeof v !== 'object' || isRawJson(v)) return v
  if (depth >= MAX_ERASE_DEPTH) { erased.push(prefix); return REDACTED_VALUE }
  if (Array.isArray(v)) {
    let copy: unknown[] | undefined
    for (let i = 0; i < v.length; i++) {
      const x = v[i]
      if (x === null || typeof x !== 'object') continue
      const y = eraseKeysDeep(x, isCredential, prefix + '/' + i, erased, depth + 1)
      if (y !== x) (copy ??= v.slice())[i] = y
    }
    return copy ?? v
  }
  const o = v as Record<string, unknown>
  let copy: Record<string, unknown> | undefined
  const keys = Object.keys(o)
  for (let k = 0; k < keys.length; k++) {
    const key = keys[k]!
    const x = o[key]
    // true/false/null under a credential's name is no credential (two_factor_auth: true, a
    // form's remember_session: false): kept, so the logged input stays whole.
    if (isCredential(key) && typeof x !== 'boolean' && x !== null) {
      copy ??= copyUntil(o, keys, k)
      erased.push(prefix + '/' + escapePointer(key))
      continue
    }
    const y = x !== null && typeof x === 'object' ? eraseKeysDeep(x, isCredential, prefix + '/' + escapePointer(key), erased, depth + 1) : x
    if (copy === undefined && y !== x) copy = copyUntil(o, keys, k)
    if (copy !== undefined) setOwn(copy, key, y)
  }
  return copy ?? o
}

/** A new object holding o's first `n` members (same prototype kind: parsed_query has none). */
function copyUntil (o: Record<string, unknown>, keys: readonly string[], n: number): Record<string, unknown> {
  const c: Record<string, unknown> = Object.getPrototypeOf(o) === null ? Object.create(null) as Record<string, unknown> : {}
  for (let k = 0; k < n; k++) setOwn(c, keys[k]!, o[keys[k]!])
  return c
}

/** Sets an own data property, also for a JSON key "__proto__" (plain assignment would not). */
function setOwn (o: Record<string, unknown>, k: string, v: unknown): void {
  if (k === '__proto__') Object.defineProperty(o, k, { value: v, writable: true, enumerable: true, configurable: true })
  else o[k] = v
}

/**
 * A pino `formatters.log` hook that scrubs credentials from the request-shaped fields a log
 * line may carry — `url`, `path` (query values), `query` / `parsed_query` (members) and the
 * same under `req` — without modifying the logged objects. Child loggers inherit it, including
 * those that switch redaction off.
 */
export function compileLogScrubber (names: readonly string[]): (obj: Record<string, unknown>) => Record<string, unknown> {
  const isCredential = compileNameMatcher(names)
  const scrubUrl = compileUrlScrubber(isCredential)
  const scrubQuery = compileUrlScrubber(isCredential, { queryOnly: true })
  const scrubFields = (o: Record<string, unknown>): Record<string, unknown> => {
    let copy: Record<string, unknown> | undefined
    for (let k = 0; k < URL_FIELDS.length; k++) {
      const f = URL_FIELDS[k]!
      const s = o[f]
      if (typeof s !== 'string' || !mayHaveUrlParams(s)) continue
      const t = scrubUrl(s)
      if (t !== s) (copy ??= { ...o })[f] = t
    }
    for (let k = 0; k < QUERY_FIELDS.length; k++) {
      const f = QUERY_FIELDS[k]!
      const q = o[f]
      if (q === undefined || q === null) continue
      // An object: credential members removed, and values holding a credential parameter
      // (`next: '/cb?token=…'`) scrubbed, as the decision log treats parsed_query.
      const r = typeof q === 'string' ? scrubQuery(q) : scrubParamValuesDeep(eraseKeysDeep(q, isCredential, '', []), scrubQuery, '', [], 0)
      if (r !== q) (copy ??= { ...o })[f] = r
    }
    return copy ?? o
  }
  return function scrubLogObject (obj) {
    const out = scrubFields(obj)
    const req = out.req
    if (req === null || typeof req !== 'object') return out
    const url = (req as Record<string, unknown>).url
    if (typeof url !== 'string' || !mayHaveUrlParams(url)) return out
    const t = scrubUrl(url)
    if (t === url) return out
    // A plain object is copied. A request object (http.IncomingMessage, a Fastify request) goes
    // through a serializer that reads its fields: it gets a view whose own `url` shadows the
    // real one, everything else read through the prototype chain; the request is not touched.
    const view = Object.getPrototypeOf(req) === Object.prototype ? { ...req, url: t } : Object.create(req, { url: { value: t, enumerable: true } }) as unknown
    return { ...out, req: view }
  }
}

const URL_FIELDS = ['url', 'path', 'originalUrl'] as const
const QUERY_FIELDS = ['query', 'parsed_query'] as const
