// Request-target normalisation: one canonical path, decided before the policy sees it and
// forwarded upstream byte for byte. Rules (README "Path normalisation"):
//   - origin-form "/p?q" and absolute-form "http://host/p?q" (reduced to its path; the
//     authority becomes the host) are accepted; "*", authority-form and fragments are not.
//   - "%XX" must be two hex digits; escapes of unreserved characters (A-Z a-z 0-9 - . _ ~) are
//     decoded, every other escape is kept with upper-case hex.
//   - rejected (always): encoded or raw control characters and NUL, raw non-ASCII bytes,
//     raw "\", escape sequences that are not valid UTF-8 (overlong forms, surrogates, stray
//     continuation bytes), malformed "%".
//   - rejected by default (configurable to keep encoded): %2F, %5C, double encoding (%25XX).
//   - raw characters outside RFC 3986 pchar ("<>[]^`{|}" and '"') are percent-encoded.
//   - rejected (always): a segment that is a dot-segment once its ";parameters" are removed
//     ("..;", ".;x", "%2e%2e;jsessionid=1"): Tomcat, Jetty and Spring strip path parameters
//     before resolving dot-segments, so "/public/..;/admin" is "/admin" to them (the class of
//     Apache Shiro CVE-2020-1957). Other ";" uses are kept unless matrix_params is "reject".
//   - dot-segments removed (RFC 3986 §5.2.4, "/.." clamps at the root), "//" merged.
// The query is validated (well-formed escapes, valid UTF-8, no control bytes) and forwarded
// verbatim; its parsed form is what the policy sees.

export interface PathRules {
  readonly encoded_slash: 'reject' | 'keep'
  readonly encoded_backslash: 'reject' | 'keep'
  readonly double_encoding: 'reject' | 'keep'
  /** raw ";" (path parameters) in a segment */
  readonly matrix_params: 'keep' | 'reject'
  /** deprecated alias of matrix_params ("reject" wins) */
  readonly semicolons?: 'keep' | 'reject'
  /** raw ";" in the query: data (keep), or refused for upstreams that split on it */
  readonly query_semicolons?: 'keep' | 'reject'
  readonly merge_slashes: boolean
}

export type Target =
  /** authority: the absolute-form target's; after withHost, the host the request is for (normalizeHost) */
  | { readonly ok: true; readonly path: string; readonly query: string; readonly authority: string | undefined }
  | { readonly ok: false; readonly reason: string }

const HEX = '0123456789ABCDEF'
function hexVal (c: number): number {
  if (c >= 48 && c <= 57) return c - 48
  if (c >= 65 && c <= 70) return c - 55
  if (c >= 97 && c <= 102) return c - 87
  return -1
}
// unreserved: ALPHA / DIGIT / "-" / "." / "_" / "~"
const UNRESERVED = new Uint8Array(128)
for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~') UNRESERVED[c.charCodeAt(0)] = 1
// raw characters kept as they are in a path: unreserved, sub-delims, ":", "@", "/"
const PATH_RAW = new Uint8Array(128)
for (const c of "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~!$&'()*+,;=:@/") PATH_RAW[c.charCodeAt(0)] = 1

const FAST_PATH = /^[A-Za-z0-9\-._~!$&'()*+,;=:@/]*$/
const FAST_DOTS = /\/\.\.?(?:\/|$)/
const DOUBLE = /%25[0-9A-Fa-f]{2}/
// "." or ".." followed by ";": a dot-segment once path parameters are stripped. Checked on the
// output, where escapes of unreserved characters ("%2e") are already decoded.
const DOT_PARAMS = /\/\.\.?;/
const ENCODED_SEPARATOR = /%2F|%5C/
const FAST_QUERY = /^[A-Za-z0-9\-._~!$&'()*+,;=:@/?]*$/
const ABSOLUTE = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/([^/?#]*)/
// A host name of letters, digits, '-', '.', '_' and '~' (an IPv4 address is one), or an IPv6
// literal. RFC 3986's reg-name also allows sub-delims and percent-escapes, but the host is copied
// into the X-Forwarded-Host we set, which upstreams read as a list: Werkzeug's ProxyFix and
// Rails take its last element, Express its first, so "a.test,admin.test" was judged as one host
// and served as another (review helper).
const AUTHORITY = /^(?:[A-Za-z0-9\-._~]+|\[[0-9A-Fa-f:.]+\])(?::\d{0,5})?$/

const fail = (reason: string): Target => ({ ok: false, reason })

/**
 * The host a request is for, as upstreams read it: host names are case-insensitive (RFC 3986
 * §3.2.2; nginx and Envoy match virtual hosts without regard to case) and a trailing dot names
 * the same host (nginx drops it), so both are normalised away — else a policy that denies
 * `host == "admin.example"` is passed by a client that writes it in capitals, while the upstream
 * serves the admin host all the same. The port is normalised as RFC 3986 §6.2.3 says: an empty
 * one (`admin.example:`) and the scheme's default (`:80` for http, `:443` for https) are
 * dropped, leading zeros go (`:0080`), and a port past 65535 is not valid. null: not a valid
 * authority (userinfo, spaces, a path, a bad port...). An empty Host (allowed by RFC 9112 for
 * targets without an authority) stays empty.
 */
export function normalizeHost (raw: string, scheme: 'http' | 'https' = 'http'): string | null {
  if (raw === '') return ''
  if (!AUTHORITY.test(raw)) return null
  const lower = raw.toLowerCase()
  // The port's colon: after "]" for an IPv6 literal, else the last one (names hold none).
  const v6 = lower.charCodeAt(0) === 91 /* [ */
  const colon = v6 ? (lower.endsWith(']') ? -1 : lower.indexOf(']:') + 1) : lower.lastIndexOf(':')
  let name = colon < 0 ? lower : lower.slice(0, colon)
  let port = colon < 0 ? '' : lower.slice(colon + 1)
  if (port !== '') {
    const n = Number(port)
    if (n > 65535) return null
    port = n === (scheme === 'https' ? 443 : 80) ? '' : String(n)
  }
  // An empty label (`admin.example..`, `.admin.example`) is no host name: nginx refuses it, and
  // with one trailing dot dropped it would reach nginx as `admin.example.`, served as the admin
  // host while the policy judged another name (path review, 2026-12-07).
  if (!v6 && (name.startsWith('.') || name.includes('..'))) return null
  if (!v6 && name.endsWith('.') && name.length > 1) name = name.slice(0, -1)
  return port === '' ? name : `${name}:${port}`
}

/**
 * The target with the host the request is for (see normalizeHost): the absolute-form authority
 * when there is one, else the Host header (HTTP/2: :authority). An invalid Host is refused like
 * an invalid target: the policy and the upstream must agree on which host this is.
 */
export function withHost (t: Target, hostHeader: string | undefined, scheme: 'http' | 'https' = 'http'): Target {
  if (!t.ok) return t
  const raw = t.authority ?? hostHeader
  if (raw === undefined) return t
  const host = normalizeHost(raw, scheme)
  if (host === null) return fail(t.authority !== undefined ? 'invalid authority in absolute-form target' : 'invalid Host header')
  return host === t.authority ? t : { ...t, authority: host }
}

export type TargetNormalizer = (rawTarget: string) => Target

/** Compiles the rules once; the returned function is the per-request step. */
export function compileTargetNormalizer (rules: PathRules): TargetNormalizer {
  const keepSlash = rules.encoded_slash === 'keep'
  const keepBackslash = rules.encoded_backslash === 'keep'
  const keepDouble = rules.double_encoding === 'keep'
  const rejectSemicolon = rules.matrix_params === 'reject' || rules.semicolons === 'reject'
  const rejectQuerySemicolon = rules.query_semicolons === 'reject'
  const merge = rules.merge_slashes

  function normalizePath (raw: string): string | { reason: string } {
    if (raw === '') return '/'
    if (FAST_PATH.test(raw) && !FAST_DOTS.test(raw) && !(merge && raw.includes('//')) && !raw.includes(';')) {
      return raw
    }
    let out = ''
    const n = raw.length
    for (let i = 0; i < n; i++) {
      const c = raw.charCodeAt(i)
      if (c === 37 /* % */) {
        const h = i + 2 < n ? hexVal(raw.charCodeAt(i + 1)) : -1
        const l = h >= 0 ? hexVal(raw.charCodeAt(i + 2)) : -1
        if (l < 0) return { reason: 'malformed percent-encoding' }
        const b = h * 16 + l
        i += 2
        if (b < 0x80) {
          if (UNRESERVED[b]) { out += String.fromCharCode(b); continue }
          if (b < 0x20 || b === 0x7f) return { reason: 'encoded control character' }
          if (b === 0x2f) { if (!keepSlash) return { reason: 'encoded slash (%2F)' }; out += '%2F'; continue }
          if (b === 0x5c) { if (!keepBackslash) return { reason: 'encoded backslash (%5C)' }; out += '%5C'; continue }
          out += '%' + HEX[b >> 4] + HEX[b & 15]
          continue
        }
        // A UTF-8 sequence spelled as escapes: validate it whole (RFC 3629 table).
        let len: number, lo = 0x80, hi = 0xbf
        if (b >= 0xc2 && b <= 0xdf) len = 2
        else if (b >= 0xe0 && b <= 0xef) { len = 3; if (b === 0xe0) lo = 0xa0; else if (b === 0xed) hi = 0x9f }
        else if (b >= 0xf0 && b <= 0xf4) { len = 4; if (b === 0xf0) lo = 0x90; else if (b === 0xf4) hi = 0x8f }
        else return { reason: 'invalid UTF-8 in percent-encoding' }
        let seq = '%' + HEX[b >> 4] + HEX[b & 15]
        for (let k = 1; k < len; k++) {
          if (raw.charCodeAt(i + 1) !== 37) return { reason: 'invalid UTF-8 in percent-encoding' }
          const h2 = hexVal(raw.charCodeAt(i + 2))
          const l2 = h2 >= 0 ? hexVal(raw.charCodeAt(i + 3)) : -1
          if (l2 < 0) return { reason: 'malformed percent-encoding' }
          const cb = h2 * 16 + l2
          if (cb < lo || cb > hi) return { reason: 'invalid UTF-8 in percent-encoding' }
          lo = 0x80; hi = 0xbf
          seq += '%' + HEX[cb >> 4] + HEX[cb & 15]
          i += 3
        }
        out += seq
        continue
      }
      if (c < 0x80 && PATH_RAW[c]) {
        if (c === 59 /* ; */ && rejectSemicolon) return { reason: 'path parameter (";")' }
        out += raw[i]
        continue
      }
      if (c === 92) return { reason: 'backslash in path' }
      if (c <= 0x20 || c === 0x7f) return { reason: 'control character in path' }
      if (c >= 0x80) return { reason: 'raw non-ASCII byte in path' }
      // remaining printable ASCII outside pchar: " < > [ ] ^ ` { | }  (# and ? never get here)
      out += '%' + HEX[c >> 4] + HEX[c & 15]
    }
    // Checked on the output: "%25%32%65" decodes its unreserved escapes to "%252e" too.
    if (!keepDouble && DOUBLE.test(out)) return { reason: 'double percent-encoding' }
    if (DOT_PARAMS.test(out)) return { reason: 'dot-segment with path parameters (";")' }
    // Kept encoded (path.encoded_slash / encoded_backslash: keep), %2F is still a separator to
    // nginx and Jetty, which decode it and then resolve dot-segments: `/x%2F..%2Fadmin` is
    // `/admin` to them (path review, 2026-12-07). A dot-segment between encoded separators is
    // refused as the raw kind is resolved.
    if ((keepSlash || keepBackslash) && ENCODED_SEPARATOR.test(out) && hiddenDotSegment(out)) return { reason: 'dot-segment between encoded slashes (%2F, %5C)' }
    return removeDotSegments(out, merge)
  }

  return function normalizeTarget (rawTarget: string): Target {
    let rest = rawTarget
    let authority: string | undefined
    if (rest.charCodeAt(0) !== 47 /* / */) {
      const m = ABSOLUTE.exec(rest)
      if (!m) return fail(rest === '*' ? 'asterisk-form request target' : 'unsupported request-target form')
      const scheme = m[1].toLowerCase()
      if (scheme !== 'http' && scheme !== 'https') return fail('unsupported scheme in absolute-form target')
      if (!AUTHORITY.test(m[2])) return fail('invalid authority in absolute-form target')
      authority = m[2].toLowerCase()
      rest = rest.slice(m[0].length)
      if (rest !== '' && rest[0] !== '/' && rest[0] !== '?') return fail('invalid absolute-form target')
    }
    if (rest.includes('#')) return fail('fragment in request target')
    const q = rest.indexOf('?')
    const rawPath = q < 0 ? rest : rest.slice(0, q)
    const query = q < 0 ? '' : rest.slice(q + 1)
    const path = normalizePath(rawPath)
    if (typeof path !== 'string') return fail(path.reason)
    if (query !== '' && !FAST_QUERY.test(query)) {
      const bad = checkQuery(query)
      if (bad) return fail(bad)
    }
    // parsed_query splits on "&" only (as Go and current Python do); an upstream that also
    // splits on ";" would read `role=user;role=admin` as two parameters the policy never saw.
    if (rejectQuerySemicolon && query.includes(';')) return fail('";" in query (path.query_semicolons: reject)')
    return { ok: true, path: path === '' ? '/' : path, query, authority }
  }
}

/**
 * Whether a segment holding an encoded separator (%2F, %5C) has a piece that is "." or ".." once
 * its ";parameters" go (raw dot-segments are resolved here, before forwarding).
 */
function hiddenDotSegment (path: string): boolean {
  for (const seg of path.split('/')) {
    if (!ENCODED_SEPARATOR.test(seg)) continue
    for (const piece of seg.split(/%2F|%5C/)) {
      const semi = piece.indexOf(';')
      const bare = semi < 0 ? piece : piece.slice(0, semi)
      if (bare === '.' || bare === '..') return true
    }
  }
  return false
}

function removeDotSegments (path: string, merge: boolean): string {
  const segs = path.split('/')
  const n = segs.length
  const stack: string[] = []
  for (let i = 1; i < n; i++) {
    const s = segs[i]
    const last = i === n - 1
    if (s === '' && merge && !last) continue
    if (s === '.') { if (last) stack.push(''); continue }
    if (s === '..') { stack.pop(); if (last) stack.push(''); continue }
    stack.push(s)
  }
  return '/' + stack.join('/')
}

function checkQuery (query: string): string | undefined {
  for (let i = 0; i < query.length; i++) {
    const c = query.charCodeAt(i)
    if (c === 37) {
      const hi = hexVal(query.charCodeAt(i + 1))
      const lo = hexVal(query.charCodeAt(i + 2))
      if (hi < 0 || lo < 0) return 'malformed percent-encoding in query'
      // %00: an upstream in C (or one passing values to C) ends the value there, so "admin%00x"
      // would be "admin" to it and "admin\u0000x" to the policy. Other encoded controls are
      // data (%0A is a line break in a GET form's text field) and reach both decoded alike.
      if (hi === 0 && lo === 0) return 'encoded NUL (%00) in query'
      i += 2
      continue
    }
    if (c <= 0x20 || c === 0x7f) return 'control character in query'
    if (c >= 0x80) return 'raw non-ASCII byte in query'
  }
  try { decodeURIComponent(query) } catch { return 'invalid UTF-8 in query' }
  return undefined
}

/**
 * parsed_path: the decoded segments after the leading "/", as upstreams route them (path review,
 * 2026-12-07):
 *  - a segment's path parameters (a raw ";" and what follows, up to the next "/") are not part
 *    of it: Tomcat, Jetty and Spring route `/admin;x=1` as `/admin`, so a policy matching
 *    `parsed_path[0] == "admin"` was passed by it (http.path keeps them; `%3B` is data);
 *  - an encoded slash (kept with path.encoded_slash: keep) separates segments, as opa-envoy-plugin
 *    (Go's decoded URL path), nginx and Jetty read it: `/admin%2Fx` is ["admin", "x"].
 */
export function parsePath (path: string): string[] {
  let segs = path.slice(1).split('/')
  if (path.includes(';')) segs = segs.map((seg) => { const semi = seg.indexOf(';'); return semi < 0 ? seg : seg.slice(0, semi) })
  if (!path.includes('%')) return segs
  if (path.includes('%2F')) segs = segs.flatMap((seg) => seg.split('%2F'))
  for (let i = 0; i < segs.length; i++) if (segs[i].includes('%')) segs[i] = decodeURIComponent(segs[i])
  return segs
}

/** parsed_query: key → list of values, "+" as space (form encoding), like Go's url.ParseQuery. */
export function parseQuery (query: string): Record<string, string[]> {
  const out: Record<string, string[]> = Object.create(null)
  if (query === '') return out
  for (const part of query.split('&')) {
    if (part === '') continue
    const eq = part.indexOf('=')
    const k = decodeForm(eq < 0 ? part : part.slice(0, eq))
    const v = eq < 0 ? '' : decodeForm(part.slice(eq + 1))
    const list = out[k]
    if (list) list.push(v); else out[k] = [v]
  }
  return out
}

function decodeForm (s: string): string {
  if (s.includes('+')) s = s.replace(/\+/g, ' ')
  return s.includes('%') ? decodeURIComponent(s) : s
}
