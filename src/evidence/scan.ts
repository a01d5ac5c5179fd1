// The privacy scan: credentials that survived into logged decision events. The logger erases
// credential headers and query parameters before an event is chained (src/decision-log/erase.ts),
// with the names it is configured with; this scan is independent of that configuration, so a
// header missing from erase_headers, a token in an unexpected header, or a log written before
// erasure existed is found. Values are never copied into the report: a finding names the
// event, the location and the kind of credential only.
//
// Names are read by the same rules as the erasure's (erase.ts compileNameMatcher: decoded,
// bracket forms such as `access_token[]` and `user[password]`), URLs in the same places (the
// path and the URL-valued headers, URL_HEADERS) and request body texts as erasure reads them
// (readBodyText: JSON, a form, or other text), with this scan's own lists of names.

import { Buffer } from 'node:buffer'
import { CREDENTIAL_BODY_FIELD_NAMES, CREDENTIAL_HEADER_NAMES, CREDENTIAL_PARAM_NAMES } from '../decision-log/credential-names.js'
import { credentialShape as valueKind, type SchemeReading } from '../decision-log/credential-shapes.js'
import { compileClaimMatcher, compileNameMatcher, decodeName, encodedCredential, firstFragmentSegment, forEachParam, mayHaveUrlParams, pathEnd, mayHoldParams, readBodyText, URL_HEADERS, WITHHELD_BODY, type NameMatcher } from '../decision-log/erase.js'

export interface CredentialHit {
  /** JSON pointer into the event, e.g. /input/attributes/request/http/headers/x-api-key */
  location: string
  kind: string
}

/** Header names whose value is a credential (lower case): what the decision log erases by default. */
const CREDENTIAL_HEADERS = new Set(CREDENTIAL_HEADER_NAMES)

/** Query / body field names whose value is a credential (lower case, compared decoded). */
const CREDENTIAL_FIELDS = compileNameMatcher(CREDENTIAL_PARAM_NAMES)

/** Body field names: the unambiguous ones only ("key" or "session" in a JSON body is usually data). */
const CREDENTIAL_BODY_FIELDS = compileNameMatcher(CREDENTIAL_BODY_FIELD_NAMES)

/** A verified token's claims: the body's names, also after an IdP's prefix (`idp_access_token`). */
const CREDENTIAL_CLAIMS = compileClaimMatcher(CREDENTIAL_BODY_FIELD_NAMES)

// '[erased]': what the bouncer's scrubber leaves of a credential in a logged result (src/proxy/secret-values.ts).
const REDACTED = new Set(['', '[REDACTED]', 'REDACTED', '***', '[MASKED]', '[ERASED]', '[erased]'])

function escapePointer (s: string): string {
  return s.includes('~') || s.includes('/') ? s.replace(/~/g, '~0').replace(/\//g, '~1') : s
}

function isObject (v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v)
}

const URL_HEADER_SET: ReadonlySet<string> = new Set(URL_HEADERS)
// Challenges (a 401's `WWW-Authenticate: Bearer realm="api"`): an auth scheme and its parameters.
const CHALLENGE_HEADERS: ReadonlySet<string> = new Set(['www-authenticate', 'proxy-authenticate'])

function scanHeaders (h: unknown, base: string, out: CredentialHit[]): void {
  if (!isObject(h)) return
  for (const name in h) {
    const v = h[name]
    const at = base + escapePointer(name)
    if (typeof v === 'string') scanHeader(name, v, at, out)
    else if (Array.isArray(v)) {
      for (const one of v) if (typeof one === 'string' && scanHeader(name, one, at, out)) break
    }
  }
}

/** Envoy's header_map (ext_authz with encode_raw_headers): {key, value | rawValue (base64)}. */
function scanHeaderList (list: unknown, base: string, out: CredentialHit[]): void {
  if (!Array.isArray(list)) return
  list.forEach((el: unknown, i) => {
    if (!isObject(el) || typeof el.key !== 'string') return
    const v = typeof el.value === 'string' ? el.value : typeof el.rawValue === 'string' ? Buffer.from(el.rawValue, 'base64').toString('utf8') : undefined
    if (v !== undefined) scanHeader(el.key, v, base + i, out)
  })
}

function scanHeader (name: string, value: string, location: string, out: CredentialHit[]): boolean {
  const lower = CREDENTIAL_HEADERS.has(name) ? name : name.toLowerCase()
  if (CREDENTIAL_HEADERS.has(lower)) {
    if (REDACTED.has(value.trim())) return false
    out.push({ location, kind: `${lower} header` })
    return true
  }
  const k = valueKind(value, CHALLENGE_HEADERS.has(lower) ? 'none' : 'any')
  if (k !== null && !REDACTED.has(value.trim())) {
    out.push({ location, kind: `${k} in the ${lower} header` })
    return true
  }
  // A URL (referer, x-original-url, …): its query, read as the erasure reads it.
  if (URL_HEADER_SET.has(lower) && mayHaveUrlParams(value)) {
    const n = out.length
    scanUrl(value, location, out)
    return out.length > n
  }
  return false
}

function scanQuery (path: unknown, out: CredentialHit[]): void {
  if (typeof path === 'string') scanUrl(path, '/input/attributes/request/http/path', out)
}

/** A path or URL as the erasure reads it: its parameters (matrix, query, fragment), and the path
 * segments whose percent-encoded separators hide parameters once decoded. */
function scanUrl (url: string, location: string, out: CredentialHit[]): void {
  scanParams(url, false, location, CREDENTIAL_FIELDS, 'query parameter', out)
  const q = pathEnd(url)
  if (!url.slice(0, q).includes('%')) return
  for (const seg of url.slice(0, q).split('/')) {
    if (!seg.includes('%')) continue
    const decoded = decodeName(seg.replace(/\+/g, '%2B'))
    if (decoded.includes('#') || decoded.includes('?') || decoded.includes(';')) scanParams(decoded, false, location, CREDENTIAL_FIELDS, 'query parameter', out)
  }
}

/** The name=value parameters of a URL's query (or of a query or form alone, `queryOnly`), as
 * erase.ts forEachParam splits them ("&", ";", "#" and "?" separate, and "/" in a fragment). */
function scanParams (text: string, queryOnly: boolean, location: string, fields: NameMatcher, what: string, out: CredentialHit[], fragmentOnly = false): void {
  forEachParam(text, queryOnly, (start, eq, end) => {
    if (eq <= start) return
    const raw = text.slice(start, eq)
    const value = decodeName(text.slice(eq + 1, end))
    if (REDACTED.has(value.trim())) return
    if (fields(raw)) out.push({ location, kind: `${what} ${decodeName(raw).toLowerCase()}` })
    // A value whose decoded form holds parameters (`next=%2Fcb%3Ftoken%3D…`), as the erasure reads it.
    else if (text.slice(eq + 1, end).includes('%') && encodedCredential(value, fields)) {
      out.push({ location, kind: `${what} ${decodeName(raw).toLowerCase()} (a URL holding a credential parameter)` })
    } else {
      const k = valueKind(value)
      if (k !== null) out.push({ location, kind: `${k} in ${what} ${decodeName(raw).toLowerCase()}` })
    }
  }, fragmentOnly)
}

/**
 * How a tree is read. A request's query and body: any value under a credential name is one, and
 * an auth scheme followed by a word is a credential. A policy's result is prose and structure
 * the policy chose: "Bearer credentials required" is a sentence, and `token: {valid: true}` is
 * what it made of a token, so there an auth scheme counts only before a token-like word, and a
 * credential name only over a leaf or a list of them.
 */
interface TreeReading { readonly schemes: SchemeReading; readonly containersAreValues: boolean }
const REQUEST_TREE: TreeReading = { schemes: 'any', containersAreValues: true }
const RESULT_TREE: TreeReading = { schemes: 'token', containersAreValues: false }

/** A value a credential name holds as a credential: not null, a boolean or what a logger left. */
function isCredentialLeaf (e: unknown): boolean {
  return e !== null && e !== undefined && typeof e !== 'boolean' && !(typeof e === 'string' && REDACTED.has(e.trim()))
}

/** Whether the value of a member with a credential name is one, as `reading` reads the tree. */
function holdsCredential (x: unknown, reading: TreeReading): boolean {
  if (!isCredentialLeaf(x)) return false
  if (!Array.isArray(x)) return reading.containersAreValues || typeof x !== 'object'
  if (x.every((e) => typeof e === 'string' && REDACTED.has(e.trim()))) return false
  return reading.containersAreValues || (x.every((e) => e === null || typeof e !== 'object') && x.some(isCredentialLeaf))
}

/** Walk a parsed query or body (or a result) for credential field names and credential-shaped values. */
function scanTree (v: unknown, base: string, fields: NameMatcher, out: CredentialHit[], budget: { n: number }, depth = 0, reading: TreeReading = REQUEST_TREE, skip?: ReadonlySet<string>): void {
  if (budget.n-- <= 0 || depth > 16) return
  if (typeof v === 'string') {
    const k = REDACTED.has(v.trim()) ? null : valueKind(v, reading.schemes)
    if (k !== null) out.push({ location: base, kind: k })
    return
  }
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) scanTree(v[i], base + '/' + i, fields, out, budget, depth + 1, reading)
    return
  }
  if (!isObject(v)) return
  for (const name of Object.keys(v)) {
    if (skip?.has(name) === true) continue
    const x = v[name]
    const at = base + '/' + escapePointer(name)
    if (fields(name) && holdsCredential(x, reading)) {
      out.push({ location: at, kind: `field ${name.toLowerCase()}` })
      continue
    }
    scanTree(x, at, fields, out, budget, depth + 1, reading)
  }
}

/** Strings holding a credential parameter (`/cb?token=…`), at any depth: the erasure scrubs
 * them in parsed_body as query values. */
function scanValueParams (v: unknown, base: string, out: CredentialHit[], budget: { n: number }, depth: number): void {
  if (budget.n-- <= 0 || depth > 16) return
  if (typeof v === 'string') {
    if (mayHoldParams(v)) scanParams(v, true, base, CREDENTIAL_FIELDS, 'query parameter', out)
    return
  }
  if (Array.isArray(v)) { for (let i = 0; i < v.length; i++) scanValueParams(v[i], base + '/' + i, out, budget, depth + 1); return }
  if (!isObject(v)) return
  for (const name of Object.keys(v)) scanValueParams(v[name], base + '/' + escapePointer(name), out, budget, depth + 1)
}

// The request body as text (ext_authz inputs): `body`, and the bytes as base64 (`rawBody`, its
// protojson name; `raw_body` as well).
const BODY_TEXTS: readonly (readonly [string, boolean])[] = [['body', false], ['rawBody', true], ['raw_body', true]]

// In a text that is neither JSON nor a form (a partial JSON body, a text/plain body), a
// credential name followed by ":" or "=" and a value, quoted or not.
const TEXT_FIELD = /["']?([A-Za-z0-9_.%+[\]-]{1,64})["']?\s*[:=]\s*("(?:[^"\\\n]|\\.)*"?|'[^'\n]*'?|[^\s&;,}"']*)/g

/** A request body text, read as erasure reads it (erase.ts readBodyText). */
function scanBodyText (text: string, location: string, out: CredentialHit[], budget: { n: number }): void {
  if (text.trim() === '' || text === WITHHELD_BODY) return
  const b = readBodyText(text)
  if (b.kind === 'json') return scanTree(b.value, location, CREDENTIAL_BODY_FIELDS, out, budget)
  if (b.kind === 'form') return scanParams(text, true, location, CREDENTIAL_BODY_FIELDS, 'body field', out)
  const kinds = new Set<string>()
  for (const m of text.matchAll(TEXT_FIELD)) {
    if (!CREDENTIAL_BODY_FIELDS(m[1]!)) continue
    const value = m[2]!.replace(/^["']|["']$/g, '').trim()
    if (value === '' || REDACTED.has(value)) continue
    kinds.add(`field ${decodeName(m[1]!).toLowerCase()} in the body text`)
  }
  const k = valueKind(text)
  if (k !== null) kinds.add(`${k} in the body text`)
  for (const kind of kinds) out.push({ location, kind })
}

/** Credentials in one decision event's logged input and in the headers its decision set. */
export function scanEvent (ev: Record<string, unknown>): CredentialHit[] {
  const out: CredentialHit[] = []
  const input = ev.input
  const budget = { n: 5000 }
  if (isObject(input)) {
    const http = (input.attributes as any)?.request?.http as Record<string, unknown> | undefined
    if (isObject(http)) {
      scanHeaders(http.headers, '/input/attributes/request/http/headers/', out)
      if (isObject(http.headerMap)) scanHeaderList(http.headerMap.headers, '/input/attributes/request/http/headerMap/headers/', out)
      scanQuery(http.path, out)
      for (const f of ['query', 'fragment']) {
        const v = http[f]
        if (typeof v === 'string' && v.includes('=')) scanParams(v, true, '/input/attributes/request/http/' + f, CREDENTIAL_FIELDS, 'query parameter', out, f === 'fragment')
      }
      for (const [field, base64] of BODY_TEXTS) {
        const v = http[field]
        if (typeof v !== 'string' || v === '') continue
        scanBodyText(base64 ? Buffer.from(v, 'base64').toString('utf8') : v, '/input/attributes/request/http/' + field, out, budget)
      }
    }
    if (input.parsed_query !== undefined) {
      scanTree(input.parsed_query, '/input/parsed_query', CREDENTIAL_FIELDS, out, budget)
      // `?x=1;token=abc` is x: ["1;token=abc"] in parsed_query (it splits on "&" only).
      if (isObject(input.parsed_query)) {
        for (const k of Object.keys(input.parsed_query)) {
          const list = input.parsed_query[k]
          if (!Array.isArray(list)) continue
          list.forEach((one, i) => { if (typeof one === 'string' && mayHoldParams(one)) scanParams(one, true, `/input/parsed_query/${escapePointer(k)}/${i}`, CREDENTIAL_FIELDS, 'query parameter', out) })
        }
      }
    }
    // A fragment left in the path segments (ext_authz, as the plugin leaves it): from the one
    // holding "#" on; and matrix parameters before it.
    if (Array.isArray(input.parsed_path)) {
      const pp = input.parsed_path
      const from = firstFragmentSegment(pp)
      for (let i = 0; i < pp.length; i++) {
        const seg: unknown = pp[i]
        if (typeof seg !== 'string') continue
        // Before the fragment, a segment's matrix parameters (`api;access_token=…`) or a decoded
        // "?" (`/cb%3Ftoken%3D…` is `cb?token=…`).
        if ((from < 0 || i < from) && !seg.includes(';') && !seg.includes('?')) continue
        scanParams(seg, from >= 0 && i > from, `/input/parsed_path/${i}`, CREDENTIAL_FIELDS, 'query parameter', out)
      }
    }
    if (input.parsed_body !== undefined) {
      scanTree(input.parsed_body, '/input/parsed_body', CREDENTIAL_BODY_FIELDS, out, budget)
      scanValueParams(input.parsed_body, '/input/parsed_body', out, budget, 0)
    }
    if (input.identity !== undefined) scanTree(input.identity, '/input/identity', CREDENTIAL_CLAIMS, out, budget)
  }
  // The header maps of the result the erasure reads (event.ts HEADER_MAPS), as an object or a
  // list of objects (opa-envoy-plugin accepts both), the shadow policy's result too.
  // Results have their own budget: a large input must not leave them unread.
  const resultBudget = { n: 5000 }
  for (const [result, base] of [[ev.result, '/result'], [isObject(ev.shadow) ? ev.shadow.result : undefined, '/shadow/result']] as const) {
    if (isObject(result)) {
      for (const f of RESULT_HEADER_MAPS) {
        const h = result[f]
        if (Array.isArray(h)) h.forEach((one, i) => scanHeaders(one, `${base}/${f}/${i}/`, out))
        else scanHeaders(h, `${base}/${f}/`, out)
      }
    }
    // The rest of the result: credential-shaped strings (a reason built with sprintf from a
    // header) and credential fields. The bouncer cuts the input's credential values out of what
    // it logs of a result; this finds what it could not know was one (a token from a header not
    // on the erase list).
    scanTree(result, base, CREDENTIAL_BODY_FIELDS, out, resultBudget, 0, RESULT_TREE, RESULT_HEADER_MAP_SET)
  }
  return out
}

// The header maps of a result the erasure reads (event.ts HEADER_MAPS), scanned as headers.
const RESULT_HEADER_MAPS: readonly string[] = ['headers', 'response_headers', 'response_headers_to_add']
const RESULT_HEADER_MAP_SET: ReadonlySet<string> = new Set(RESULT_HEADER_MAPS)
