// Header handling for forwarding, compiled once. The request view (RFC 9110 §7.6.1 hop-by-hop
// headers and every header named in Connection removed, reserved headers removed, forwarding
// headers set by our rule, the request id set) is built BEFORE the policy input: the headers
// the policy sees are the headers the upstream gets, minus what the decision changes.
import type { IncomingHttpHeaders } from 'node:http'
import type { HeaderList } from './decision.js'
import { isOws, trimBy } from '../text-trim.js'
import { isBodyDigestHeader } from '../masking/digest-headers.js'

/** Connection-specific headers never forwarded in either direction. */
export const HOP_BY_HOP: ReadonlySet<string> = new Set([
  'connection', 'keep-alive', 'proxy-connection', 'proxy-authenticate', 'proxy-authorization',
  'te', 'trailer', 'transfer-encoding', 'upgrade', 'http2-settings',
])

/** Headers a decision may not set or remove: they frame the message or the connection. */
export const PROTECTED: ReadonlySet<string> = new Set([...HOP_BY_HOP, 'content-length', 'host'])

/**
 * Client-supplied forwarding headers: dropped unless server.trust_forwarded_headers (plus every
 * other x-forwarded-* name). A policy written for Envoy trusts these; a client must not set them.
 */
const CLIENT_FORWARDING: ReadonlySet<string> = new Set([
  'forwarded', 'x-real-ip', 'true-client-ip', 'x-client-ip',
  // Headers some upstreams route by instead of the request line (path review, 2026-12-07): Zend
  // Framework 1 and Symfony before CVE-2018-14773 take the path from X-Original-URL or
  // X-Rewrite-URL, and Laravel, Symfony and Express's method-override the method from
  // X-HTTP-Method-Override: the policy judged `POST /public` while the upstream ran `DELETE
  // /admin`. Set by a trusted proxy in front (IIS ARR sets X-Original-URL), they are kept with
  // the other forwarding headers.
  'x-original-url', 'x-rewrite-url', 'x-host', 'x-http-method-override', 'x-http-method', 'x-method-override',
])
const X_FORWARDED = 'x-forwarded-'

/** Always reserved: the namespace the bouncer's own policies use for identity headers. */
export const RESERVED_PREFIX = 'x-bouncer-'

/** Request header carrying the request id (honoured from the client when valid, else generated). */
export const REQUEST_ID = 'x-request-id'
// <= 128 visible ASCII characters (no space, no control characters, no obs-text).
const VALID_REQUEST_ID = /^[\x21-\x7e]{1,128}$/

/** Conditional and Range request headers: removed when the response will be masked. */
export const MASK_REQUEST_DROP: readonly string[] = ['range', 'if-range', 'if-none-match', 'if-match', 'if-modified-since', 'if-unmodified-since']
/** Validators and range headers describe the unmasked representation: dropped from a masked response. */
export const MASK_RESPONSE_DROP: readonly string[] = ['etag', 'last-modified', 'content-range', 'accept-ranges']

/**
 * Other headers a masked response must not carry, besides MASK_RESPONSE_DROP: CDN cache controls,
 * which CDNs obey before Cache-Control (RFC 9213: CDN-Cache-Control, Surrogate-Control, the
 * vendors' own *-Cache-Control; nginx's X-Accel-Expires, Akamai's Edge-Control), so a
 * per-caller masked view could be stored and served to others; and digests of the unmasked body (Digest, Content-Digest, Content-MD5, x-goog-hash,
 * x-amz-checksum-*, x-bz-content-sha1...: isBodyDigestHeader), with which a masked low-entropy
 * value (an SSN) could be brute-forced.
 */
export function isMaskedResponseDrop (name: string): boolean {
  return MASK_DROP_NAMES.has(name) || name.endsWith('-cache-control') || name.startsWith('x-accel-') || isBodyDigestHeader(name)
}
// Caches that obey a header of their own before Cache-Control: nginx's X-Accel-Expires (its
// proxy_cache stores a response for that long even when Cache-Control says private), Akamai's
// Edge-Control (`!no-store`), and any targeted `<cdn>-cache-control` (RFC 9213). nginx's other
// X-Accel-* instructions (a redirect to an internal location, buffering) go with them.
const MASK_DROP_NAMES: ReadonlySet<string> = new Set([
  ...MASK_RESPONSE_DROP, 'surrogate-control', 'surrogate-key', 'edge-control',
])

const MASK_CODINGS: ReadonlySet<string> = new Set(['gzip', 'x-gzip', 'deflate', 'br', 'identity'])

/**
 * Accept-Encoding for a request whose response will be masked: the client's codings that the
 * masker can decode (src/masking/body.ts), q-values kept; `*` stands for those; none left is
 * `identity`. A browser advertising zstd got 502 on every masked route from an upstream that
 * honours it. (A masked body is sent decoded; one without rules is passed on as it came, so
 * the client's own list still bounds what the upstream may choose.)
 */
export function maskAcceptEncoding (value: string | string[]): string {
  const kept: string[] = []
  let any = false
  for (const raw of (Array.isArray(value) ? value.join(',') : value).split(',')) {
    const part = raw.trim()
    const semi = part.indexOf(';')
    const coding = (semi < 0 ? part : part.slice(0, semi)).trim().toLowerCase()
    const refused = semi >= 0 && /;\s*q\s*=\s*0(?:\.0*)?\s*(?:;|$)/i.test(part.slice(semi))
    if (coding === '*') { if (!refused) any = true } else if (MASK_CODINGS.has(coding)) kept.push(part)
  }
  if (any) {
    const named = new Set(kept.map((k) => k.split(';')[0]!.trim().toLowerCase()))
    for (const c of ['gzip', 'deflate', 'br']) if (!named.has(c)) kept.push(c)
  }
  return kept.length > 0 ? kept.join(', ') : 'identity'
}

export type OutgoingHeaders = Record<string, string | string[]>

const NO_TOKENS: readonly string[] = Object.freeze([])
// Connection values that name no other header, as clients and servers send them: no split.
const PLAIN_CONNECTION = new Set(['keep-alive', 'close', 'Keep-Alive', 'Close', 'upgrade', 'Upgrade'])

/** Names listed in Connection are hop-by-hop for this message too. */
function connectionTokens (value: string | string[] | undefined): readonly string[] {
  if (value === undefined) return NO_TOKENS
  if (typeof value === 'string' && PLAIN_CONNECTION.has(value)) return NO_TOKENS
  const s = Array.isArray(value) ? value.join(',') : value
  const out: string[] = []
  for (const t of s.split(',')) {
    const n = t.trim().toLowerCase()
    if (n && n !== 'close' && n !== 'keep-alive' && n !== 'upgrade') out.push(n)
  }
  return out
}

/**
 * Reserved request headers (server.reserved_headers plus x-bouncer-*): names, or prefixes ending
 * in "*". Compiled once into a predicate.
 */
export function compileReserved (list: readonly string[] = []): (name: string) => boolean {
  const names = new Set<string>()
  const prefixes = [RESERVED_PREFIX]
  for (const entry of list) {
    const e = entry.toLowerCase()
    if (e.endsWith('*')) prefixes.push(e.slice(0, -1))
    else names.add(e)
  }
  return (name) => {
    if (names.has(name)) return true
    for (const p of prefixes) if (name.startsWith(p)) return true
    return false
  }
}

export interface ForwardContext {
  /** peer IP (no port) */
  readonly peerIp: string
  /** scheme the client used to reach us */
  readonly scheme: string
  /** Host the client asked for (Host header or absolute-form authority) */
  readonly host: string | undefined
  /** the request id to send upstream (x-request-id) */
  readonly requestId?: string
  /** an allowed Upgrade value to keep (with Connection: upgrade) */
  readonly upgrade?: string
}

export interface RequestHeaderOptions {
  readonly trustForwarded: boolean
  /** server.underscore_headers (default drop) */
  readonly underscores?: 'drop' | 'keep'
  /** false: Host is the upstream's authority (upstreamHost, or left to the HTTP client) */
  readonly preserveHost: boolean
  /** the upstream's host:port, for Host when preserveHost is off or the client sent none */
  readonly upstreamHost?: string
  /** reserved header predicate (compileReserved); x-bouncer-* when absent */
  readonly reserved?: (name: string) => boolean
  /** auth.jwt.header (lower case): with underscores kept, its "_" spelling is never forwarded */
  readonly authHeader?: string
}

const defaultReserved = compileReserved()

/**
 * Why a request header of this name never reaches the policy or the upstream (the request view
 * drops it), or undefined. The config refuses an auth.jwt.header so named: every caller would be
 * "missing" (X-Forwarded-Access-Token, oauth2-proxy's, without trusted forwarding headers).
 */
export function droppedRequestHeader (name: string, opts: { trustForwarded: boolean; underscores: 'drop' | 'keep'; reserved: readonly string[] }): string | undefined {
  // With underscores kept, "_" is read as "-" for these checks, as upstreamRequestHeaders reads it.
  const lower = name.toLowerCase()
  if (opts.underscores === 'drop' && lower.includes('_')) return 'a name with "_", dropped (server.underscore_headers: drop)'
  const n = lower.replaceAll('_', '-')
  if (HOP_BY_HOP.has(n) || n === 'expect') return 'a hop-by-hop header'
  if (compileReserved(opts.reserved)(n)) return 'reserved (x-bouncer-* or server.reserved_headers)'
  if (!opts.trustForwarded && (n.startsWith(X_FORWARDED) || CLIENT_FORWARDING.has(n))) return 'a forwarding header, dropped unless server.trust_forwarded_headers'
  return undefined
}

/**
 * The request view: the headers the upstream will get before the decision's edits, which are
 * also the headers the policy sees (policyHeaders). A fresh object the caller may edit.
 *  - hop-by-hop headers and every header named in Connection are removed (Expect too: Node
 *    answers 100-continue itself);
 *  - reserved headers are removed, whatever the decision will say;
 *  - trust_forwarded_headers off: the client's X-Forwarded-*, Forwarded, X-Real-IP,
 *    True-Client-IP, X-Client-IP are removed and X-Forwarded-For/-Proto/-Host set from the
 *    connection; on: they are kept and the peer is appended to X-Forwarded-For (as Envoy does);
 *  - Host is the client's (preserve_host) or the upstream's authority;
 *  - x-request-id is the request id; an allowed upgrade keeps Connection: upgrade + Upgrade;
 *  - names with "_" are dropped (server.underscore_headers: drop, as nginx does): CGI-style
 *    upstreams (WSGI, Rack, PHP) read `X_Bouncer_Subject` as `X-Bouncer-Subject` and
 *    `X_Role` as `X-Role`, so such a name could stand in for a reserved or forwarding header,
 *    or shadow one the policy judged. With keep, those checks read "_" as "-", and a name
 *    that spells another header of the request, or auth.jwt.header, is dropped.
 */
export function upstreamRequestHeaders (incoming: IncomingHttpHeaders, ctx: ForwardContext, opts: RequestHeaderOptions): OutgoingHeaders {
  const out: OutgoingHeaders = {}
  const extra = incoming.connection ? connectionTokens(incoming.connection) : undefined
  const reserved = opts.reserved ?? defaultReserved
  const trust = opts.trustForwarded
  const keepUnderscores = opts.underscores === 'keep'
  let spellings: Map<string, number> | undefined
  for (const name in incoming) {
    const v = incoming[name]
    // HTTP/2 pseudo-headers (:method, :path, :authority, :scheme) are the request line, not headers.
    if (v === undefined || name.charCodeAt(0) === 0x3a) continue
    let as = name // the name as a CGI-style upstream reads it
    if (name.includes('_')) {
      if (!keepUnderscores) continue
      as = name.replaceAll('_', '-')
      if (as === REQUEST_ID || as === 'host' || as === 'content-length' || as === 'content-type' || as === opts.authHeader) continue
      // Beside another header it spells (X_Role with X-Role, X-Tenant_Id with x_tenant-id), a
      // CGI-style upstream reads them as one, maybe this one, while the policy judged another.
      if ((spellings ??= countSpellings(incoming)).get(as)! > 1) continue
    }
    if (HOP_BY_HOP.has(as) || as === 'expect') continue
    if (extra !== undefined && extra.includes(as)) continue
    if (reserved(as)) continue
    if (!trust && (as.startsWith(X_FORWARDED) || CLIENT_FORWARDING.has(as))) continue
    out[name] = typeof v === 'string' ? ows(v) : v.map(ows)
  }
  if (ctx.upgrade !== undefined) {
    out.connection = 'upgrade'
    out.upgrade = ctx.upgrade
  }
  const host = opts.preserveHost ? (ctx.host ?? opts.upstreamHost) : opts.upstreamHost
  if (host !== undefined) out.host = host
  else delete out.host
  if (trust) {
    const xff = out['x-forwarded-for']
    out['x-forwarded-for'] = xff ? `${Array.isArray(xff) ? xff.join(', ') : xff}, ${ctx.peerIp}` : ctx.peerIp
    if (!out['x-forwarded-proto']) out['x-forwarded-proto'] = ctx.scheme
    if (!out['x-forwarded-host'] && ctx.host !== undefined) out['x-forwarded-host'] = ctx.host
  } else {
    out['x-forwarded-for'] = ctx.peerIp
    out['x-forwarded-proto'] = ctx.scheme
    if (ctx.host !== undefined) out['x-forwarded-host'] = ctx.host
  }
  if (ctx.requestId !== undefined) out[REQUEST_ID] = ctx.requestId
  return out
}

/** How many request header names read as each name with "_" as "-". */
function countSpellings (incoming: IncomingHttpHeaders): Map<string, number> {
  const out = new Map<string, number>()
  for (const name in incoming) {
    const as = name.replaceAll('_', '-')
    out.set(as, (out.get(as) ?? 0) + 1)
  }
  return out
}

/**
 * A field value without the optional whitespace around it, which every HTTP/1.1 parser drops
 * (RFC 9110 §5.5). Node trims each line it parses, but joins repeated lines with ", " (cookies
 * "; "), over HTTP/1.1 and HTTP/2 alike, so a repeated header whose last line is empty arrives
 * as "a, ": forwarded as it is, the upstream would read "a," where the policy saw "a, ". The
 * view holds what the upstream will read.
 */
function ows (v: string): string {
  const n = v.length
  if (n === 0) return v
  const a = v.charCodeAt(0)
  const z = v.charCodeAt(n - 1)
  return a === 32 || a === 9 || z === 32 || z === 9 ? trimBy(v, isOws) : v
}

/**
 * The client's x-request-id when it is usable (<= 128 visible ASCII, one value, not hop-by-hop,
 * not reserved), else undefined (the caller generates one).
 */
export function clientRequestId (incoming: IncomingHttpHeaders, reserved: (name: string) => boolean = defaultReserved): string | undefined {
  const v = incoming[REQUEST_ID]
  if (typeof v !== 'string' || !VALID_REQUEST_ID.test(v) || reserved(REQUEST_ID)) return undefined
  if (incoming.connection !== undefined && connectionTokens(incoming.connection).includes(REQUEST_ID)) return undefined
  return v
}

/** Upstream response headers for the client: hop-by-hop removed. */
export function downstreamResponseHeaders (headers: Record<string, string | string[] | undefined>): OutgoingHeaders {
  const out: OutgoingHeaders = {}
  const extra = headers.connection ? connectionTokens(headers.connection) : []
  for (const name in headers) {
    const v = headers[name]
    if (v === undefined || HOP_BY_HOP.has(name)) continue
    if (extra.length && extra.includes(name)) continue
    out[name] = v
  }
  return out
}

/**
 * The request headers as the policy sees them (Envoy shape): lower-case names, one string per
 * name (repeated headers joined with ", "). Always a copy: the caller goes on to edit the view
 * it forwards, and the input must keep what the policy saw (decision log, cache key).
 */
export function policyHeaders (view: Readonly<OutgoingHeaders> | IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {}
  for (const name in view) {
    const v = view[name]
    if (v !== undefined) out[name] = Array.isArray(v) ? v.join(', ') : v
  }
  return out
}

// Cache-Control directives that let a shared cache store (or serve) a response.
const SHARED_ONLY = new Set(['public', 's-maxage', 'proxy-revalidate'])

/**
 * Cache-Control for a masked response. What a caller may see was decided for that caller (its
 * token, roles, tenant), so a shared HTTP cache between us and the client must never store the
 * masked view and hand it to someone else: `private` is always there, and the directives that
 * address shared caches (`public`, `s-maxage`, `proxy-revalidate`) are dropped. `no-store`,
 * `max-age` and the rest are kept — a private cache may still reuse the caller's own view.
 * A field-scoped `private="..."` (RFC 9111 §5.2.2.7) only covers the named fields, so it
 * becomes the unqualified form.
 */
/**
 * `raw` split on the commas outside complete quoted strings (a backslash escapes inside one). A
 * quote that never closes is an ordinary character, and so is every quote after it, which keeps
 * this one pass (a regex for it backtracked: 32 KB of `"\\` took 1.3 s).
 */
function splitOutsideQuotes (raw: string): string[] {
  const out: string[] = []
  let from = 0
  let quotesClose = true
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charCodeAt(i)
    if (c === 0x2c) { out.push(raw.slice(from, i)); from = i + 1; continue } // ,
    if (c !== 0x22 || !quotesClose) continue // "
    let j = i + 1
    while (j < raw.length && raw.charCodeAt(j) !== 0x22) j += raw.charCodeAt(j) === 0x5c ? 2 : 1 // \
    if (j >= raw.length) quotesClose = false
    else i = j
  }
  out.push(raw.slice(from))
  return out
}

export function privateCacheControl (value: string | string[] | undefined): string {
  const raw = value === undefined ? '' : Array.isArray(value) ? value.join(',') : value
  const kept: string[] = []
  // Split on commas outside quoted strings (no-cache="a, b" is one directive).
  for (const d of splitOutsideQuotes(raw)) {
    const directive = d.trim()
    if (directive === '') continue
    const name = directive.split('=', 1)[0].trim().toLowerCase()
    if (SHARED_ONLY.has(name) || name === 'private') continue
    kept.push(directive)
  }
  return ['private', ...kept].join(', ')
}

/**
 * The response head for the client, from the upstream's raw headers: hop-by-hop headers and
 * those named in its Connection removed, the decision's response_headers and our x-request-id
 * in place of the upstream's (a flat [name, value, ...] list, names lower-case).
 */
export function responseHead (raw: readonly Buffer[], extra: HeaderList, requestId: string): string[] {
  const out: string[] = []
  let named: string[] | undefined
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i]!.length === 10 && raw[i]!.toString('latin1').toLowerCase() === 'connection') {
      (named ??= []).push(...connectionTokens(raw[i + 1]!.toString('latin1')))
    }
  }
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toString('latin1').toLowerCase()
    if (HOP_BY_HOP.has(name) || name === REQUEST_ID) continue
    if (named !== undefined && named.includes(name)) continue
    if (extra.length !== 0 && overridden(extra, name)) continue
    out.push(name, raw[i + 1]!.toString('latin1'))
  }
  for (const [n, v] of extra) {
    if (n === REQUEST_ID) continue
    if (typeof v === 'string') out.push(n, v)
    else for (const one of v) out.push(n, one)
  }
  out.push(REQUEST_ID, requestId)
  return out
}

// Response headers Node's HTTP/2 layer takes once per message (ERR_HTTP2_HEADER_SINGLE_VALUE,
// thrown by writeHead); HTTP/1.1 carries them repeated as the upstream sent them.
const HTTP2_SINGLE_VALUE: ReadonlySet<string> = new Set([
  'access-control-allow-credentials', 'access-control-max-age', 'access-control-request-method', 'age', 'authorization',
  'content-encoding', 'content-language', 'content-length', 'content-location', 'content-md5', 'content-range',
  'content-type', 'date', 'dnt', 'etag', 'expires', 'from', 'host', 'if-match', 'if-modified-since', 'if-none-match',
  'if-range', 'if-unmodified-since', 'last-modified', 'location', 'max-forwards', 'proxy-authorization', 'range',
  'referer', 'retry-after', 'tk', 'upgrade-insecure-requests', 'user-agent', 'x-content-type-options',
])

/**
 * A flat response head (responseHead) made fit for an HTTP/2 client: a single-value header the
 * upstream repeated with the same value (helmet and nginx both adding `nosniff`) is sent once;
 * repeated with different values, the response has no HTTP/2 form and its name is returned (the
 * caller answers 502 rather than pick one: two Locations or Content-Types are ambiguous).
 */
export function foldForHttp2 (flat: string[]): string[] | { conflict: string } {
  let seen: Map<string, string> | undefined
  let drop: Set<number> | undefined
  for (let i = 0; i < flat.length; i += 2) {
    const name = flat[i]!
    if (!HTTP2_SINGLE_VALUE.has(name)) continue
    const prev = (seen ??= new Map()).get(name)
    if (prev === undefined) { seen.set(name, flat[i + 1]!); continue }
    if (prev !== flat[i + 1]) return { conflict: name }
    ;(drop ??= new Set()).add(i)
  }
  if (drop === undefined) return flat
  const out: string[] = []
  for (let i = 0; i < flat.length; i += 2) if (!drop.has(i)) out.push(flat[i]!, flat[i + 1]!)
  return out
}

/** foldForHttp2 for a headers object (values may be lists), in place: the conflicting name, or undefined. */
export function foldObjectForHttp2 (headers: OutgoingHeaders): string | undefined {
  for (const name of Object.keys(headers)) {
    const v = headers[name]
    if (!Array.isArray(v) || !HTTP2_SINGLE_VALUE.has(name)) continue
    if (v.some((one) => one !== v[0])) return name
    headers[name] = v[0]!
  }
  return undefined
}

function overridden (extra: HeaderList, name: string): boolean {
  for (const [n] of extra) if (n === name) return true
  return false
}
