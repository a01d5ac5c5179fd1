// Error messages may quote the input: with strict builtin errors, `to_number(input...authorization)`
// fails with `strconv.ParseFloat: parsing "Bearer <token>"`, and `io.jwt.decode` quotes the bad
// token. The header is erased from the logged input, but the message went to the process log
// and the decision-log event as it was. Before a fail-closed message is logged or recorded, the
// values the decision log erases from the input are cut out of it: credential headers, query
// parameters (also inside other values), body fields and token claims.
import { credentialShape } from '../decision-log/credential-shapes.js'
import { compileClaimMatcher, compileNameMatcher, forEachParam, mayHaveUrlParams, mayHoldParams, type NameMatcher } from '../decision-log/erase.js'
import type { BouncerConfig } from '../config/index.js'
import { isRawJson, rawJsonText } from '../exact-json.js'
import { queryEscape } from '../policy/builtins/encoding.js'

const ERASED = '[erased]'
// A token's parts as messages quote them: "Bearer <token>" → "<token>", cookies → each value.
// A part followed by "=" is a name (a cookie's, `csrftoken=`), and a first part followed by
// a space is an auth scheme ("Bearer", "Basic"): words a message or a result may rightly hold
// (erasing them rewrote `"Bearer realm=..."` in logged results, review of the fixes).
const PART = /[^\s;,=]+/g
// Shorter parts ("id") are words a message may rightly hold.
const MIN_PART = 6
// A value quoted cut short (a reason truncated at 512 characters, a message quoting the first
// 40 characters and "…"): a run of at least this many of its first characters is cut too. Not
// for a value with a scheme ("Bearer eyJ…": its head would match `Bearer error=`); its token,
// a part of its own, is.
const HEAD = 10
const headOf = (v: string): string | undefined => v.length > HEAD && !/\s/.test(v) ? v.slice(0, HEAD) : undefined
// Shorter whole values ({"sig": "e"}, {"session": 1}) hide nothing worth hiding, and cutting
// every "e" out of a message made it unreadable ("policy.r[erased]go:12").
const MIN_VALUE = 4
// An unparsed body text is cut whole only from this length (see secretValues).
const MIN_BODY = 16
// Credential parameters read as the client encoded them: at most this many, from the body's
// first MAX_RAW_SCAN characters.
const MAX_RAW_VALUES = 64
const MAX_RAW_SCAN = 65536

export interface SecretScrubber {
  /** The message without the input's credential values. */
  (message: string, input: unknown): string
  /**
   * A policy's result (a decision, its reason, a shadow's result) without them: the same value
   * when none of its strings holds one, else a copy with each cut out. A policy echoing the
   * input (`reason := sprintf("bad token %v", [...])`) put the bearer token in the request's
   * log line and the decision log's result (review, session 52).
   */
  result (value: unknown, input: unknown): unknown
}

/** Credential header names (the decision log's erase list, the auth header) and query parameter names, from the config. */
export function compileSecretScrubber (config: BouncerConfig): SecretScrubber {
  // Header names in the input are lower case already (Node's): a set, not the query names' forms.
  const headerSet = new Set([...config.decision_logs.erase_headers, config.auth.jwt.header, 'authorization', 'proxy-authorization', 'cookie'].map((h) => h.toLowerCase()))
  // ext_authz's gRPC CheckRequest keeps the client's spelling in its headers map.
  const headers = (name: string): boolean => headerSet.has(name) || headerSet.has(name.toLowerCase())
  const params = compileNameMatcher(config.decision_logs.erase_query_params)
  const claims = compileClaimMatcher(config.decision_logs.erase_query_params)
  // The claims' values by (frozen, shared per token) identity object: per scrubber, whose
  // erase list decides them.
  const claimValues = new WeakMap<object, readonly string[]>()
  // Per input (one request's): the reason, the result and a failure's message share one search.
  const byInput = new WeakMap<object, readonly string[]>()
  const valuesOf = (input: unknown): readonly string[] => {
    if (input === null || typeof input !== 'object') return secretValues(input, headers, params, claims, claimValues)
    let v = byInput.get(input)
    if (v === undefined) byInput.set(input, v = secretValues(input, headers, params, claims, claimValues))
    return v
  }
  // Longest first: a whole value before the parts it contains.
  const longestFirst = (values: readonly string[]): string[] => [...values].sort((a, b) => b.length - a.length)
  // Found clean for a shared value list: a (frozen, shared) result, or a text such as a reason.
  const cleanResults = new WeakMap<object, WeakSet<readonly string[]>>()
  const cleanTexts = new Map<string, WeakSet<readonly string[]>>()
  const scrub = ((message: string, input: unknown): string => {
    if (message.length < MIN_VALUE) return message
    const values = valuesOf(input)
    if (values.length === 0 || cleanTexts.get(message)?.has(values) === true) return message
    if (holdsAny(message, values, 0, shortestOf(values))) return cut(message, longestFirst(values))
    if (cleanTexts.size >= FORMS_MAX) cleanTexts.clear()
    let seen = cleanTexts.get(message)
    if (seen === undefined) cleanTexts.set(message, seen = new WeakSet())
    seen.add(values)
    return message
  }) as SecretScrubber
  scrub.result = (value, input) => {
    // A numeric credential (a PIN) returned as the result itself.
    if (typeof value === 'number' || typeof value === 'bigint') return valuesOf(input).includes(String(value)) ? ERASED : value
    if (value === null || typeof value !== 'object' ? typeof value !== 'string' || value.length < MIN_VALUE : false) return value
    const values = valuesOf(input)
    if (values.length === 0) return value
    const shared = value !== null && typeof value === 'object' && Object.isFrozen(value) ? value : undefined
    if (shared !== undefined && cleanResults.get(shared)?.has(values) === true) return value
    // Strings shorter than any value cannot hold one.
    if (!hasString(value, MIN_VALUE, 0)) return value
    if (holdsAny(value, values, 0, shortestOf(values))) return cutDeep(value, longestFirst(values), 0)
    if (shared !== undefined) {
      let seen = cleanResults.get(shared)
      if (seen === undefined) cleanResults.set(shared, seen = new WeakSet())
      seen.add(values)
    }
    return value
  }
  return scrub
}

function cut (s: string, values: readonly string[]): string {
  let out = s
  for (const v of values) if (out.includes(v)) out = out.split(v).join(ERASED)
  // What is left of a value cut short where it was quoted (at the end of the text, or before
  // "…"): from its first HEAD characters on. Only there: a run of a value's first characters
  // elsewhere is ordinary text as often (`?key=products/2024/…` beside `products/2025/…`).
  for (const v of values) {
    for (let r = truncatedRun(out, v, 0); r !== null; r = truncatedRun(out, v, r[0] + ERASED.length)) {
      out = out.slice(0, r[0]) + ERASED + out.slice(r[0] + r[1])
    }
  }
  return out
}

/** The next place at or after `from` where `s` quotes `v` cut short: [index, length], or null. */
function truncatedRun (s: string, v: string, from: number): [number, number] | null {
  const head = headOf(v)
  if (head === undefined) return null
  for (let i = s.indexOf(head, from); i >= 0; i = s.indexOf(head, i + 1)) {
    let k = HEAD
    while (k < v.length && i + k < s.length && s.charCodeAt(i + k) === v.charCodeAt(k)) k++
    if (k < v.length && (i + k === s.length || s.charCodeAt(i + k) === 0x2026 /* … */)) return [i, k]
  }
  return null
}

/**
 * The shortest string that can hold a value or the start of one (HEAD characters, truncatedRun):
 * shorter strings of a result (its keys, "alice") are passed over unread (review, session 53: each
 * derived form is one more search per string).
 */
function shortestOf (values: readonly string[]): number {
  let min = HEAD
  for (const x of values) if (x.length < min) min = x.length
  return min
}

/** Whether a string (or key) of `v` holds one of the values or the start of one; a number one exactly. */
function holdsAny (v: unknown, values: readonly string[], depth: number, shortest: number): boolean {
  if (typeof v === 'string') {
    if (v.length < shortest) return false
    for (const x of values) if (v.includes(x) || truncatedRun(v, x, 0) !== null) return true
    return false
  }
  if (typeof v === 'number' || typeof v === 'bigint') return values.includes(String(v))
  if (v === null || typeof v !== 'object') return false
  // Deeper than any result should be: taken as holding one, and cut whole (cutDeep).
  if (depth > MAX_DEPTH) return true
  if (isRawJson(v)) return holdsAny(rawJsonText(v), values, depth, shortest)
  if (Array.isArray(v)) { for (const x of v) if (holdsAny(x, values, depth + 1, shortest)) return true; return false }
  for (const [k, x] of Object.entries(v as Record<string, unknown>)) if (holdsAny(k, values, depth, shortest) || holdsAny(x, values, depth + 1, shortest)) return true
  return false
}

function hasString (v: unknown, min: number, depth: number): boolean {
  if (typeof v === 'string') return v.length >= min
  if (typeof v === 'number' || typeof v === 'bigint') return true // a numeric credential (a PIN) echoed as a number
  if (v === null || typeof v !== 'object') return false
  if (depth > MAX_DEPTH) return true
  if (isRawJson(v)) return rawJsonText(v).length >= min
  for (const x of Array.isArray(v) ? v : Object.values(v as Record<string, unknown>)) if (hasString(x, min, depth + 1)) return true
  // Keys too: a policy may build an object keyed by the token.
  return !Array.isArray(v) && Object.keys(v as Record<string, unknown>).some((k) => k.length >= min)
}

/** `v` with the values cut out of its strings (and keys): `v` itself when nothing changed. */
function cutDeep (v: unknown, values: readonly string[], depth: number): unknown {
  if (typeof v === 'string') return cut(v, values)
  if (typeof v === 'number' || typeof v === 'bigint') return values.includes(String(v)) ? ERASED : v
  if (v === null || typeof v !== 'object') return v
  if (depth > MAX_DEPTH) return ERASED
  // A number read exactly (a JSON.rawJSON): a leaf, erased whole if it holds a value.
  if (isRawJson(v)) return holdsAny(rawJsonText(v), values, depth, 0) || values.includes(rawJsonText(v)) ? ERASED : v
  if (Array.isArray(v)) {
    let copy: unknown[] | null = null
    for (let i = 0; i < v.length; i++) {
      const x = cutDeep(v[i], values, depth + 1)
      if (x !== v[i] && copy === null) copy = v.slice()
      if (copy !== null) copy[i] = x
    }
    return copy ?? v
  }
  const entries = Object.entries(v as Record<string, unknown>)
  let changed = false
  const out: Array<[string, unknown]> = []
  for (const [k, x] of entries) {
    const k2 = cut(k, values)
    const x2 = cutDeep(x, values, depth + 1)
    if (k2 !== k || x2 !== x) changed = true
    out.push([k2, x2])
  }
  if (!changed) return v
  // Defined, not assigned (an own "__proto__" key stays a key); two keys cut alike both stay.
  const copy: Record<string, unknown> = {}
  for (let [k, x] of out) {
    while (Object.prototype.hasOwnProperty.call(copy, k)) k += '*'
    Object.defineProperty(copy, k, { value: x, enumerable: true, writable: true, configurable: true })
  }
  return copy
}

// A value's searchable forms (itself and its parts), by value: a client sends the same token
// request after request, and splitting it each time cost most of a result's check.
const FORMS_MAX = 4096
// And by size: a body field's value may be 64 KB, and a client can send a new one each time.
const FORMS_MAX_CHARS = 8 * 1024 * 1024
let formsChars = 0
const forms = new Map<string, readonly string[]>()
// Derived forms (below) from this many characters of a value's parts, in order: every token,
// key and password of a header (a 6 KB JWT, an 8 KB Cookie header), not all of a 64 KB body
// field a client can make new on every request (it is cut as itself and its parts).
const DERIVE_BUDGET = 16384
function formsOf (v: string): readonly string[] {
  let f = forms.get(v)
  if (f === undefined) {
    const all = [v]
    for (const m of v.matchAll(PART)) {
      let part = m[0]
      const end = m.index + part.length
      const after = v.charCodeAt(end)
      if (m.index === 0 && (after === 0x20 || after === 0x09)) continue // an auth scheme
      if (after === 0x3d /* = */) {
        // One "=" and a value after it: a name (`csrftoken=`). Otherwise base64 padding
        // (`<token>==`), which is part of the token.
        let j = end
        while (v.charCodeAt(j) === 0x3d) j++
        const c = v.charCodeAt(j)
        if (j === end + 1 && !(Number.isNaN(c) || c === 0x20 || c === 0x09 || c === 0x3b || c === 0x2c)) continue
        part = v.slice(m.index, j)
      }
      if (part.length >= MIN_PART && part !== v) all.push(part)
    }
    const seen = new Set(all)
    for (const d of derivedForms(v, all)) if (!seen.has(d)) { seen.add(d); all.push(d) }
    let chars = 0
    for (const x of all) chars += x.length
    // Values too large to keep are worked out each time (a 64 KB body field, rare), and make
    // no room either: they would evict every token's forms for nothing.
    if (chars <= FORMS_MAX_CHARS / 16) {
      if (forms.size >= FORMS_MAX || formsChars + chars > FORMS_MAX_CHARS) { forms.clear(); formsChars = 0 }
      forms.set(v, all); formsChars += chars
    }
    f = all
  }
  return f
}

// A JWS compact serialisation: its header is base64url JSON ("eyJ"), not any `a.b.c` (a domain
// name in a cookie, `prod.payments.k1`, whose middle part is an ordinary word).
const JWT = /^eyJ[A-Za-z0-9_-]*\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]*)$/
const BASIC = /^basic[ \t]+([A-Za-z0-9+/]+={0,2})[ \t]*$/i

/**
 * What a policy can turn a credential into with one builtin and then quote (third review,
 * session 52): a JWT's payload and signature as `split(token, ".")` gives them (the header,
 * `{"alg":...}`, is no secret and is shared by every token of an issuer); a value
 * `urlquery.encode`d (Go's QueryEscape: "+" for a space); Basic credentials `base64.decode`d,
 * whole and their password (from MIN_PART characters, as a value's other parts).
 */
function derivedForms (v: string, parts: readonly string[]): string[] {
  const out: string[] = []
  // What to derive from: the value and its parts (the value first), as many as DERIVE_BUDGET
  // characters hold, and what Basic credentials decode to.
  // The parts first (they hold the value's characters; charged for the value too, a 12 KB
  // header left its own token unread), then the value itself if room is left (a password with
  // spaces is encoded whole).
  const from: string[] = []
  let budget = DERIVE_BUDGET
  for (let i = parts.length > 1 ? 1 : 0; i < parts.length; i++) {
    const p = parts[i]!
    if (p.length > budget) continue
    budget -= p.length
    from.push(p)
  }
  if (parts.length > 1 && v.length <= budget) from.push(v)
  const basic = v.length <= DERIVE_BUDGET ? BASIC.exec(v) : null
  if (basic !== null) {
    const decoded = Buffer.from(basic[1]!, 'base64').toString('utf8')
    const colon = decoded.indexOf(':')
    // Only what decodes to user:password text with a password (a stray base64 blob is not
    // quoted decoded, and "alice:" alone is a user name).
    if (colon >= 0 && colon < decoded.length - 1 && !decoded.includes('\uFFFD') && !/[\u0000-\u001f]/.test(decoded)) {
      const password = decoded.slice(colon + 1)
      for (const d of [decoded, password]) {
        if (d.length < (d === decoded ? MIN_VALUE : MIN_PART)) continue
        out.push(d)
        from.push(d)
      }
    }
  }
  for (const p of from) {
    // As a JSON string quotes it (print(headers), sprintf("%v")): `sid="x"` is `sid=\"x\"`.
    const escaped = JSON.stringify(p).slice(1, -1)
    if (escaped !== p) out.push(escaped)
    // A quoted part (a cookie's "value", OAuth's oauth_token="..."): its content too.
    if (p.length >= MIN_PART + 2 && p.startsWith('"') && p.endsWith('"')) out.push(p.slice(1, -1))
    const jwt = JWT.exec(p)
    if (jwt !== null) for (const seg of [jwt[1]!, jwt[2]!]) if (seg.length >= MIN_PART) out.push(seg)
    // Not when it holds `p` itself ("Bearer <jwt>" → "Bearer+<jwt>"): cutting `p` cuts it.
    // Go's QueryEscape, and as clients encode form values: browsers and URLSearchParams (which
    // escape "~" and keep "*"), encodeURIComponent ("%20", "!" kept), and lower-case hex; a
    // client's spelling of a parameter past the raw scan's bound is still cut (review helper).
    for (const encoded of new Set([queryEscape(p), formEscape(p), uriEscape(p)])) {
      if (encoded === p || encoded.includes(p)) continue
      out.push(encoded)
      const lower = encoded.replace(HEX_ESCAPE, (m) => m.toLowerCase())
      if (lower !== encoded) out.push(lower)
    }
  }
  return out
}

const HEX_ESCAPE = /%[0-9A-F]{2}/g

/** encodeURIComponent, which throws on a lone surrogate (such a value has no such form). */
function uriEscape (v: string): string {
  try { return encodeURIComponent(v) } catch { return v }
}

/** A value as application/x-www-form-urlencoded writes it (WHATWG URL: browsers, URLSearchParams). */
function formEscape (v: string): string {
  return new URLSearchParams([['', v]]).toString().slice(1)
}

const NONE: readonly string[] = Object.freeze([])

/**
 * The input's credential values and their parts. From one source (a bearer token alone, the
 * usual case) the list is that value's shared one: the same array request after request, which
 * lets a result or reason found clean for it be let through unread next time.
 */
function secretValues (input: unknown, headers: (name: string) => boolean, params: NameMatcher, claims: NameMatcher, claimValues: WeakMap<object, readonly string[]>): readonly string[] {
  const lists: Array<readonly string[]> = []
  const add = (v: unknown): void => {
    if (typeof v !== 'string' || v.length < MIN_VALUE) return
    lists.push(formsOf(v))
  }
  const http = field(field(field(input, 'attributes'), 'request'), 'http')
  const hs = field(http, 'headers') as Record<string, unknown> | null | undefined
  if (hs !== null && typeof hs === 'object') {
    // By name, and by shape whatever the name (a JWT under x-user-jwt), as the decision log erases them.
    for (const name in hs) if (headers(name) || (typeof hs[name] === 'string' && credentialShape(hs[name], 'any') !== null)) add(hs[name])
  }
  const query = field(input, 'parsed_query') as Record<string, unknown> | null | undefined
  if (query !== null && typeof query === 'object') {
    for (const name in query) {
      const v = query[name]
      if (params(name)) {
        if (Array.isArray(v)) v.forEach(add)
        else add(v)
        continue
      }
      // A credential parameter inside a value (`?x=1;token=…`, `?next=/cb?token=…`).
      for (const one of Array.isArray(v) ? v : [v]) {
        if (typeof one !== 'string' || !mayHoldParams(one)) continue
        forEachParam(one, true, (start, eq, end) => { if (eq + 1 < end && params(one.slice(start, eq))) add(one.slice(eq + 1, end)) })
      }
    }
  }
  // ext_authz's raw body: the decision log drops rawBody (base64) whole, and withholds a body
  // text nothing parsed. Each is cut as one value (its parts would be every word of a body).
  const rawBody = field(http, 'rawBody')
  if (typeof rawBody === 'string' && rawBody.length >= MIN_VALUE) lists.push([rawBody])
  const bodyText = field(http, 'body')
  const parsedBody = field(input, 'parsed_body')
  // Not a short one: the client would choose what is cut from its own log lines ("user").
  if (typeof bodyText === 'string' && bodyText.length >= MIN_BODY && (parsedBody === null || parsedBody === undefined)) lists.push([bodyText, JSON.stringify(bodyText).slice(1, -1)])
  // Credential parameters as the client encoded them, in the target (`?token=abc%2fdef`: only
  // the decoded value and Go's encoding of it were known) and in a form body text.
  // Bounded: a client-chosen body of thousands of credential parameters made every decision's
  // result scrub cost ~0.6 s at 4 MiB (review of the fixes); a message quotes little of it.
  let rawLeft = MAX_RAW_VALUES
  const raw = (text: string, queryOnly: boolean): void => {
    forEachParam(text, queryOnly, (start, eq, end) => {
      if (rawLeft > 0 && eq + 1 < end && params(text.slice(start, eq))) { rawLeft--; add(text.slice(eq + 1, end)) }
    })
  }
  const target = field(http, 'path')
  if (typeof target === 'string' && mayHaveUrlParams(target)) raw(target, false)
  if (typeof bodyText === 'string' && bodyText.includes('=')) raw(bodyText.length > MAX_RAW_SCAN ? bodyText.slice(0, MAX_RAW_SCAN) : bodyText, true)
  // What the decision log erases from the body and the token's claims, at any depth.
  const budget = { n: MAX_VALUES }
  collectNamed(parsedBody, params, add, 0, budget)
  const identity = field(input, 'identity')
  if (identity !== null && typeof identity === 'object' && Object.isFrozen(identity)) {
    let cv = claimValues.get(identity)
    if (cv === undefined) {
      const mine: string[] = []
      collectNamed(identity, claims, (v) => { if (typeof v === 'string' && v.length >= MIN_VALUE) mine.push(...formsOf(v)) }, 0, { n: MAX_VALUES })
      claimValues.set(identity, cv = mine)
    }
    if (cv.length > 0) lists.push(cv)
  } else collectNamed(identity, claims, add, 0, budget)
  return lists.length === 0 ? NONE : lists.length === 1 ? lists[0]! : lists.flat()
}

const MAX_DEPTH = 64
const MAX_VALUES = 10000

/** Adds the values (strings and numbers, at any depth below) of the members `named` matches. */
function collectNamed (v: unknown, named: NameMatcher, add: (v: unknown) => void, depth: number, budget: { n: number }): void {
  if (v === null || typeof v !== 'object' || depth > MAX_DEPTH || budget.n <= 0) return
  if (Array.isArray(v)) { for (const x of v) collectNamed(x, named, add, depth + 1, budget); return }
  for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
    if (--budget.n <= 0) return
    if (named(k)) collectAll(x, add, depth + 1, budget)
    else collectNamed(x, named, add, depth + 1, budget)
  }
}

function collectAll (v: unknown, add: (v: unknown) => void, depth: number, budget: { n: number }): void {
  if (typeof v === 'string') add(v)
  else if (typeof v === 'number' || typeof v === 'bigint') add(String(v))
  else if (v !== null && typeof v === 'object' && depth <= MAX_DEPTH) {
    for (const x of Object.values(v as Record<string, unknown>)) { if (--budget.n <= 0) return; collectAll(x, add, depth + 1, budget) }
  }
}

function field (v: unknown, name: string): unknown {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>)[name] : undefined
}
