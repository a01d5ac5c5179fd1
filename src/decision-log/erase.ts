// Credentials that must never be logged, whatever the policy or the mask rules say: headers
// (authorization, cookies, the configured auth header…, see config.ts) and query parameters
// whose names are credentials. Used for decision-log events (event.ts) and process logs (the
// pino formatter in src/index.ts). Everything is compiled once from the configured names; the
// per-request work is a few string scans, no regex is built.

import { isRawJson } from '../exact-json.js'

/** Query parameter (and JSON body field) names erased by default: the config schema's default,
 * one list for it and for loggers built without it. */
export { DEFAULT_ERASE_QUERY_PARAMS } from '../config/schema.js'

/** What an erased query parameter's value is replaced with in a logged URL or path. */
export const REDACTED_VALUE = '[REDACTED]'

/** Case-insensitive membership test for a list of names, built once. */
export type NameMatcher = (name: string) => boolean

export function compileNameMatcher (names: readonly string[]): NameMatcher {
  const set = new Set(names.map((n) => n.toLowerCase()))
  if (set.size === 0) return () => false
  let min = Infinity
  let max = 0
  for (const n of set) { min = Math.min(min, n.length); max = Math.max(max, n.length) }
  return (name) => name.length >= min && name.length <= max && (set.has(name) || set.has(name.toLowerCase()))
}

/**
 * Returns `url` (a path with an optional query, or a query alone when `queryOnly`) with the
 * value of every credential parameter replaced by [REDACTED] — the same string when nothing
 * changed. Names are compared decoded (`access%5Ftoken`, `Access_Token`); `&` and `;` both
 * separate parameters (some servers split on either, so both are treated as boundaries).
 */
export function compileUrlScrubber (isCredential: NameMatcher, opts: { queryOnly?: boolean } = {}): (url: string) => string {
  const queryOnly = opts.queryOnly === true
  return function scrub (url: string): string {
    let i = 0
    if (!queryOnly) {
      i = url.indexOf('?') + 1
      if (i === 0) return url // no query
    }
    let end = url.indexOf('#', i)
    if (end < 0) end = url.length
    let out = ''
    let copied = 0
    while (i <= end) {
      let pe = i
      let eq = -1
      for (; pe < end; pe++) {
        const c = url.charCodeAt(pe)
        if (c === 0x26 || c === 0x3b) break // & ;
        if (c === 0x3d && eq < 0) eq = pe // =
      }
      if (eq >= 0 && eq + 1 < pe && isCredential(decodeName(url.slice(i, eq))) && url.slice(eq + 1, pe) !== REDACTED_VALUE) {
        out += url.slice(copied, eq + 1) + REDACTED_VALUE
        copied = pe
      }
      i = pe + 1
    }
    return copied === 0 ? url : out + url.slice(copied)
  }
}

function decodeName (s: string): string {
  if (s.includes('+')) s = s.replace(/\+/g, ' ')
  if (!s.includes('%')) return s
  try { return decodeURIComponent(s) } catch { return s }
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
    if (isCredential(key)) {
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
      if (typeof s !== 'string' || !s.includes('?')) continue
      const t = scrubUrl(s)
      if (t !== s) (copy ??= { ...o })[f] = t
    }
    for (let k = 0; k < QUERY_FIELDS.length; k++) {
      const f = QUERY_FIELDS[k]!
      const q = o[f]
      if (q === undefined || q === null) continue
      const r = typeof q === 'string' ? scrubQuery(q) : eraseKeysDeep(q, isCredential, '', [])
      if (r !== q) (copy ??= { ...o })[f] = r
    }
    return copy ?? o
  }
  return function scrubLogObject (obj) {
    const out = scrubFields(obj)
    const req = out.req
    if (req === null || typeof req !== 'object') return out
    const url = (req as Record<string, unknown>).url
    if (typeof url !== 'string' || !url.includes('?')) return out
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
