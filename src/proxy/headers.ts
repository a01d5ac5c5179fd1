// Header handling for forwarding, compiled once: hop-by-hop removal (RFC 9110 §7.6.1),
// X-Forwarded-* (replaced unless the operator trusts the hop in front of us), and the
// request-header view the policy sees (lower-cased names, one string per name).
import type { IncomingHttpHeaders } from 'node:http'

/** Connection-specific headers never forwarded in either direction. */
export const HOP_BY_HOP: ReadonlySet<string> = new Set([
  'connection', 'keep-alive', 'proxy-connection', 'proxy-authenticate', 'proxy-authorization',
  'te', 'trailer', 'transfer-encoding', 'upgrade', 'http2-settings',
])

/** Headers a decision may not set or remove: they frame the message or the connection. */
export const PROTECTED: ReadonlySet<string> = new Set([...HOP_BY_HOP, 'content-length', 'host'])

const FORWARDED = ['x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'x-forwarded-port', 'forwarded'] as const

export type OutgoingHeaders = Record<string, string | string[]>

/** Names listed in Connection are hop-by-hop for this message too. */
function connectionTokens (value: string | string[] | undefined): string[] {
  if (value === undefined) return []
  const s = Array.isArray(value) ? value.join(',') : value
  const out: string[] = []
  for (const t of s.split(',')) {
    const n = t.trim().toLowerCase()
    if (n && n !== 'close' && n !== 'keep-alive' && n !== 'upgrade') out.push(n)
  }
  return out
}

export interface ForwardContext {
  /** peer IP (no port) */
  readonly peerIp: string
  /** scheme the client used to reach us */
  readonly scheme: string
  /** Host the client asked for (Host header or absolute-form authority) */
  readonly host: string | undefined
}

export interface RequestHeaderOptions {
  readonly trustForwarded: boolean
  /** false: the caller sets host to the upstream's authority */
  readonly preserveHost: boolean
  /** Keep Upgrade/Connection: upgrade (websocket tunnels). */
  readonly upgrade?: boolean
}

/**
 * Headers for the upstream request: the client's minus hop-by-hop, with X-Forwarded-* set.
 * Returns a fresh object the caller may edit (decision headers, removals).
 */
export function upstreamRequestHeaders (incoming: IncomingHttpHeaders, ctx: ForwardContext, opts: RequestHeaderOptions): OutgoingHeaders {
  const out: OutgoingHeaders = {}
  const extra = incoming.connection ? connectionTokens(incoming.connection) : []
  for (const name in incoming) {
    const v = incoming[name]
    if (v === undefined || HOP_BY_HOP.has(name)) continue
    if (extra.length && extra.includes(name)) continue
    out[name] = v
  }
  if (opts.upgrade && incoming.upgrade) {
    out.connection = 'upgrade'
    out.upgrade = incoming.upgrade
  }
  if (ctx.host !== undefined) {
    if (opts.preserveHost) out.host = ctx.host
    else delete out.host
  }
  if (opts.trustForwarded) {
    const xff = incoming['x-forwarded-for']
    out['x-forwarded-for'] = xff ? `${Array.isArray(xff) ? xff.join(', ') : xff}, ${ctx.peerIp}` : ctx.peerIp
    if (!incoming['x-forwarded-proto']) out['x-forwarded-proto'] = ctx.scheme
    if (!incoming['x-forwarded-host'] && ctx.host !== undefined) out['x-forwarded-host'] = ctx.host
  } else {
    for (const f of FORWARDED) delete out[f]
    out['x-forwarded-for'] = ctx.peerIp
    out['x-forwarded-proto'] = ctx.scheme
    if (ctx.host !== undefined) out['x-forwarded-host'] = ctx.host
  }
  return out
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
 * The request headers as the policy sees them (Envoy shape): lower-case names, one string
 * per name (repeated headers joined with ", "). Node already lower-cases and joins most.
 */
export function policyHeaders (incoming: IncomingHttpHeaders): Record<string, string> {
  let arrays = false
  for (const name in incoming) if (typeof incoming[name] !== 'string') { arrays = true; break }
  if (!arrays) return incoming as Record<string, string>
  const out: Record<string, string> = {}
  for (const name in incoming) {
    const v = incoming[name]
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
export function privateCacheControl (value: string | string[] | undefined): string {
  const raw = value === undefined ? '' : Array.isArray(value) ? value.join(',') : value
  const kept: string[] = []
  // Split on commas outside quoted strings (no-cache="a, b" is one directive).
  for (const d of raw.match(/(?:[^,"]|"(?:[^"\\]|\\.)*")+/g) ?? []) {
    const directive = d.trim()
    if (directive === '') continue
    const name = directive.split('=', 1)[0].trim().toLowerCase()
    if (SHARED_ONLY.has(name) || name === 'private') continue
    kept.push(directive)
  }
  return ['private', ...kept].join(', ')
}
