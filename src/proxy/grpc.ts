// gRPC calls: an HTTP/2 request with content-type application/grpc (or application/grpc+proto,
// application/grpc;...) is evaluated like any request, then forwarded over HTTP/2 to the upstream
// (upstream.http2.url or upstream.url: http:// = h2c with prior knowledge, https:// = TLS with
// ALPN h2 and the upstream.tls options), through a small pool of client sessions. Both
// directions stream with backpressure; trailers travel both ways; `te: trailers` is kept.
//
// Answers the bouncer writes itself are gRPC statuses, as Envoy's ext_authz does it: HTTP 200,
// trailers-only, grpc-status and grpc-message. A denial is PERMISSION_DENIED (7), or
// UNAUTHENTICATED (16) when the policy said 401; failures map their HTTP status the way the
// gRPC spec maps HTTP statuses. Masking does not apply to gRPC bodies (length-prefixed
// protobuf): a decision with mask rules fails closed (INTERNAL).
//
// gRPC-Web (application/grpc-web*) is not gRPC on the wire: it goes through the ordinary path.
// upstream.timeout_seconds and body_timeout_seconds do not apply to calls (a streaming call may
// rightly be quiet for long): the client's grpc-timeout is forwarded for the upstream to enforce.
import { connect, constants as h2, type ClientHttp2Session, type ClientHttp2Stream, type Http2ServerRequest, type Http2ServerResponse, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http2'
import type { BouncerConfig } from '../config/index.js'
import type { Decision, HeaderList } from './decision.js'
import { classifyUpstreamError, type FailureKind, type UpstreamTls } from './forward.js'
import { foldObjectForHttp2, HOP_BY_HOP, type OutgoingHeaders } from './headers.js'
import { ERROR_CODES } from './respond.js'

/** gRPC status codes used here (https://grpc.github.io/grpc/core/md_doc_statuscodes.html). */
export const GrpcStatus = {
  OK: 0, CANCELLED: 1, UNKNOWN: 2, INVALID_ARGUMENT: 3, DEADLINE_EXCEEDED: 4, NOT_FOUND: 5, PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8, UNIMPLEMENTED: 12, INTERNAL: 13, UNAVAILABLE: 14, UNAUTHENTICATED: 16,
} as const

/** application/grpc, application/grpc+proto, application/grpc;charset=... — not application/grpc-web. */
export function isGrpcContentType (value: string | string[] | undefined): boolean {
  if (typeof value !== 'string' || value.length < 16) return false
  const v = value.toLowerCase()
  if (!v.startsWith('application/grpc')) return false
  const next = v.charCodeAt(16)
  return Number.isNaN(next) || next === 0x2b /* + */ || next === 0x3b /* ; */ || next === 0x20 || next === 0x09
}

/** A denial: 16 for 401, 7 for everything else (Envoy ext_authz). */
export function grpcStatusForDenial (httpStatus: number): number {
  return httpStatus === 401 ? GrpcStatus.UNAUTHENTICATED : GrpcStatus.PERMISSION_DENIED
}

/**
 * The bouncer's own failures (rejections, fail-closed, upstream trouble), by their HTTP status, as
 * the gRPC spec maps HTTP to gRPC (plus 413 → RESOURCE_EXHAUSTED, 504 → UNAVAILABLE as Envoy).
 */
export function grpcStatusForHttp (httpStatus: number): number {
  switch (httpStatus) {
    case 400: return GrpcStatus.INTERNAL
    case 401: return GrpcStatus.UNAUTHENTICATED
    case 403: return GrpcStatus.PERMISSION_DENIED
    case 404: return GrpcStatus.UNIMPLEMENTED
    case 413: return GrpcStatus.RESOURCE_EXHAUSTED
    case 429: case 502: case 503: case 504: return GrpcStatus.UNAVAILABLE
    default: return GrpcStatus.UNKNOWN
  }
}

/** grpc-message is percent-encoded: bytes outside 0x20-0x7E, and '%' itself (gRPC over HTTP/2 spec). */
export function encodeGrpcMessage (text: string): string {
  let out = ''
  for (const b of Buffer.from(text, 'utf8')) {
    out += b < 0x20 || b > 0x7e || b === 0x25 ? '%' + b.toString(16).toUpperCase().padStart(2, '0') : String.fromCharCode(b)
  }
  return out
}

export interface GrpcReply {
  readonly grpcStatus: number
  readonly message: string
  /** extra response headers (decision headers, x-request-id) */
  readonly headers: Record<string, string | string[]>
}

function apply (target: Record<string, string | string[]>, list: HeaderList): void {
  for (const [n, v] of list) target[n] = v
}

/** The denial the policy asked for, as a gRPC status: its body (if any) is the grpc-message. */
export function grpcDenialReply (d: Decision, requestId: string): GrpcReply {
  const headers: Record<string, string | string[]> = {}
  apply(headers, d.headers)
  apply(headers, d.responseHeaders)
  headers['x-request-id'] = requestId
  const message = d.body ?? (d.status === 401 ? 'unauthenticated' : ERROR_CODES[d.status] ?? 'denied')
  return { grpcStatus: grpcStatusForDenial(d.status), message, headers }
}

/** A failure the bouncer answers itself (fail closed, rejection, upstream trouble). */
export function grpcErrorReply (httpStatus: number, requestId: string, grpcStatus = grpcStatusForHttp(httpStatus)): GrpcReply {
  return { grpcStatus, message: ERROR_CODES[httpStatus] ?? (httpStatus >= 500 ? 'error' : 'denied'), headers: { 'x-request-id': requestId } }
}

/**
 * Writes a trailers-only response (one HEADERS frame with END_STREAM): :status 200,
 * content-type application/grpc, grpc-status, grpc-message. A stream whose head is already out
 * is reset instead (nothing else can be said on it).
 */
export function sendGrpcReply (res: Http2ServerResponse, r: GrpcReply): void {
  if (res.headersSent || res.stream.destroyed || res.stream.closed) {
    if (!res.stream.destroyed && !res.stream.closed) res.stream.close(h2.NGHTTP2_INTERNAL_ERROR)
    return
  }
  // Headers left by a write that threw are not this reply's.
  for (const n of res.getHeaderNames()) res.removeHeader(n)
  res.statusCode = 200
  // A denial's headers that HTTP/2 cannot carry (a single-value header listed with different
  // values): the status alone, never a throw.
  const extra: OutgoingHeaders = { ...r.headers }
  try {
    if (foldObjectForHttp2(extra) === undefined) for (const [n, v] of Object.entries(extra)) res.setHeader(n, v)
  } catch {
    for (const n of res.getHeaderNames()) res.removeHeader(n)
  }
  res.setHeader('content-type', 'application/grpc')
  res.setHeader('grpc-status', String(r.grpcStatus))
  res.setHeader('grpc-message', encodeGrpcMessage(r.message))
  // end() without writeHead: the head goes out with END_STREAM (trailers-only). A client still
  // sending is then told to stop (RST_STREAM NO_ERROR, RFC 9113 8.1): gRPC calls are exempt
  // from request_timeout, and a denied call whose client never ended it kept its stream, and
  // with it the connection (a max_connections slot), open for ever.
  res.end(() => {
    const st = res.stream
    if (!st.destroyed && !st.closed && !res.req.complete) st.close(h2.NGHTTP2_NO_ERROR)
  })
}

// ---- forwarding ----

export interface GrpcCall {
  readonly req: Http2ServerRequest
  readonly res: Http2ServerResponse
  /** canonical path + "?" + query (without the upstream's base path) */
  readonly path: string
  /** the request view after the decision's edits (no pseudo-headers, no hop-by-hop; te is added back) */
  readonly headers: OutgoingHeaders
  /** added to the response head (decision response_headers, x-request-id) */
  readonly responseHeaders: Record<string, string | string[]>
  /** when the upstream's response head arrives */
  readonly onHead?: () => void
}

export type GrpcOutcome =
  | { readonly kind: 'ok'; readonly grpcStatus: string | undefined }
  | { readonly kind: 'client_aborted' }
  | { readonly kind: 'upstream_error'; readonly failure: FailureKind; readonly error: Error; readonly headSent: boolean }

export interface GrpcForwarder {
  /** scheme://host:port of the gRPC upstream */
  readonly origin: string
  readonly authority: string
  /** Forwards one call; resolves when it is over (never rejects). On failure before the head, nothing has been written: the caller answers. */
  forward (call: GrpcCall): Promise<GrpcOutcome>
  /** Open sessions and streams (tests, metrics). */
  stats (): { sessions: number; streams: number }
  close (): Promise<void>
}

const RESPONSE_DROP: ReadonlySet<string> = new Set([...HOP_BY_HOP, 'x-request-id'])

function forwardable (headers: IncomingHttpHeaders, drop: ReadonlySet<string>): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {}
  for (const name in headers) {
    if (name.charCodeAt(0) === 0x3a /* : */ || drop.has(name)) continue
    const v = headers[name]
    if (v !== undefined) out[name] = v
  }
  return out
}

interface PooledSession { readonly session: ClientHttp2Session; active: number; usable: boolean }

/** Where gRPC calls go: upstream.http2.url, else upstream.url. */
export function grpcUpstreamUrl (cfg: BouncerConfig['upstream']): string | undefined {
  return cfg.http2.url ?? cfg.url
}

/**
 * The gRPC upstream: a pool of HTTP/2 client sessions to upstream.http2.url (or upstream.url).
 * `tls`: the upstream.tls material (read at start by src/app/tls.ts) for an https:// URL.
 */
export function createGrpcForwarder (cfg: BouncerConfig['upstream'], deps: { tls?: UpstreamTls } = {}): GrpcForwarder {
  const target = grpcUpstreamUrl(cfg)
  if (!target) throw new TypeError('upstream.url is required')
  const url = new URL(target)
  const base = url.pathname.replace(/\/+$/, '')
  const tls = deps.tls
  const tlsOptions = url.protocol === 'https:'
    ? { ca: tls?.ca, cert: tls?.cert, key: tls?.key, servername: tls?.servername, rejectUnauthorized: tls?.rejectUnauthorized ?? true, ALPNProtocols: ['h2'] }
    : {}
  const maxSessions = cfg.http2.connections
  const connectMs = cfg.connect_timeout_seconds * 1000
  const idleMs = cfg.keep_alive_timeout_seconds * 1000
  const pool: PooledSession[] = []
  let closed = false

  const open = (): PooledSession => {
    const session = connect(url.origin, { ...tlsOptions, settings: { enablePush: false } })
    const p: PooledSession = { session, active: 0, usable: true }
    const retire = (): void => {
      p.usable = false
      const i = pool.indexOf(p)
      if (i >= 0) pool.splice(i, 1)
    }
    // Streams of a session that fails get its error; the pool just stops using it.
    session.on('error', retire)
    session.on('goaway', retire)
    session.on('close', retire)
    const timer = setTimeout(() => {
      if (session.connecting) session.destroy(Object.assign(new Error(`connect timeout (${connectMs} ms)`), { code: 'UND_ERR_CONNECT_TIMEOUT' }))
    }, connectMs)
    timer.unref()
    session.once('connect', () => clearTimeout(timer))
    session.once('close', () => clearTimeout(timer))
    if (idleMs > 0) session.setTimeout(idleMs, () => { if (p.active === 0) { retire(); session.close() } })
    pool.push(p)
    return p
  }

  const pick = (): PooledSession => {
    let best: PooledSession | undefined
    for (const p of pool) {
      if (!p.usable || p.session.closed || p.session.destroyed) continue
      const limit = p.session.remoteSettings?.maxConcurrentStreams ?? 100
      if (p.active < limit && (best === undefined || p.active < best.active)) best = p
    }
    if (best) return best
    if (pool.length < maxSessions) return open()
    // Every session is at the upstream's stream limit: queue on the least busy (nghttp2 holds
    // the stream until a slot frees).
    return pool.reduce((a, b) => (b.active < a.active ? b : a))
  }

  const authority = url.host

  return {
    origin: url.origin,
    authority,
    stats: () => ({ sessions: pool.length, streams: pool.reduce((n, p) => n + p.active, 0) }),

    forward (call) {
      const { req, res } = call
      return new Promise<GrpcOutcome>((resolve) => {
        let settled = false
        const done = (o: GrpcOutcome): void => { if (!settled) { settled = true; resolve(o) } }
        if (closed) { done({ kind: 'upstream_error', failure: 'connect', error: new Error('forwarder closed'), headSent: false }); return }
        const headers: OutgoingHttpHeaders = {
          ':method': req.method,
          ':scheme': url.protocol.slice(0, -1),
          ':path': base + call.path,
          ':authority': typeof call.headers.host === 'string' ? call.headers.host : authority,
        }
        for (const name in call.headers) if (name !== 'host') headers[name] = call.headers[name]
        // gRPC needs it (servers may refuse a call without it); it is hop-by-hop, so the request
        // view dropped it.
        const te = req.headers.te
        if (typeof te === 'string' && /(^|,)\s*trailers\s*(;|,|$)/i.test(te)) headers.te = 'trailers'

        // The client reset the call already: nothing goes upstream.
        if (req.aborted || res.stream.destroyed || res.stream.closed) { done({ kind: 'client_aborted' }); return }
        let p: PooledSession
        let up: ClientHttp2Stream
        try {
          p = pick()
          up = p.session.request(headers, { endStream: false, waitForTrailers: true })
        } catch (e) {
          done({ kind: 'upstream_error', failure: classifyUpstreamError(e).kind, error: e as Error, headSent: false })
          return
        }
        p.active++
        let headSent = false
        let ended = false
        let grpcStatus: string | undefined
        let trailers: OutgoingHttpHeaders | undefined
        // The head said a gRPC response follows (200, application/grpc...): it must end with trailers.
        let grpcHead = false

        up.once('close', () => {
          p.active--
          if (ended) { done({ kind: 'ok', grpcStatus }); return }
          if (res.stream.destroyed || res.stream.closed) { done({ kind: 'client_aborted' }); return }
          // Reset or cut by the upstream (or its connection) before the response was complete.
          const code = up.rstCode ?? h2.NGHTTP2_INTERNAL_ERROR
          const error = Object.assign(new Error(`upstream stream closed (code ${code})`), { code: code === h2.NGHTTP2_REFUSED_STREAM ? 'ECONNREFUSED' : 'ECONNRESET' })
          if (headSent) {
            // Mirror the reset: the client sees the call fail, never a truncated success.
            // (A dropped upstream connection leaves CANCEL: the client did not cancel, so INTERNAL.)
            if (!res.stream.destroyed && !res.stream.closed) res.stream.close(code === h2.NGHTTP2_NO_ERROR || code === h2.NGHTTP2_CANCEL ? h2.NGHTTP2_INTERNAL_ERROR : code)
            done({ kind: 'upstream_error', failure: 'reset', error, headSent: true })
          } else {
            done({ kind: 'upstream_error', failure: lastError ? classifyUpstreamError(lastError).kind : 'reset', error: lastError ?? error, headSent: false })
          }
        })
        let lastError: Error | undefined
        up.on('error', (e: Error) => { lastError = e })

        // Client gone: cancel upstream.
        res.once('close', () => {
          if (!ended && !up.closed && !up.destroyed) up.close(h2.NGHTTP2_CANCEL)
        })

        // Request body. The client's request trailers are not forwarded: the policy never saw
        // them (a trailer could carry a reserved header or one a rule judged), and gRPC clients
        // send none.
        up.on('wantTrailers', () => {
          try { up.sendTrailers({}) } catch { /* stream already gone */ }
        })
        const cancel = (): void => { if (!up.closed && !up.destroyed) up.close(h2.NGHTTP2_CANCEL) }
        req.pipe(up, { end: false })
        // A reset stream ends the request too ('aborted' first): cancel, never a clean half-close.
        req.once('end', () => { if (req.aborted) cancel(); else up.end() })
        req.once('aborted', cancel)
        req.on('error', cancel)

        up.on('response', (head: IncomingHttpHeaders, flags: number) => {
          call.onHead?.()
          const status = Number(head[':status'] ?? 502)
          const out = forwardable(head, RESPONSE_DROP)
          for (const [n, v] of Object.entries(call.responseHeaders)) out[n] = v
          if (res.stream.destroyed || res.stream.closed) return
          // The decision's response_headers may list a header HTTP/2 takes once: no HTTP/2 form
          // (writeHead would throw in this event handler: the process would exit). The call
          // fails as an upstream failure would, before anything is sent.
          const conflict = foldObjectForHttp2(out as OutgoingHeaders)
          if (conflict !== undefined) {
            lastError = new Error(`the response would repeat ${conflict} with different values, which HTTP/2 cannot carry`)
            up.close(h2.NGHTTP2_CANCEL)
            return
          }
          if ((flags & h2.NGHTTP2_FLAG_END_STREAM) !== 0) {
            // Trailers-only (a status without messages): one HEADERS frame on our side too.
            grpcStatus = typeof head['grpc-status'] === 'string' ? head['grpc-status'] : undefined
            ended = true
            headSent = true
            res.statusCode = status
            for (const [n, v] of Object.entries(out)) res.setHeader(n, v as string | string[])
            res.end()
            return
          }
          headSent = true
          grpcHead = status === 200 && isGrpcContentType(head['content-type'])
          res.writeHead(status, out)
          up.pipe(res, { end: false })
        })
        up.on('trailers', (t: IncomingHttpHeaders) => {
          grpcStatus = typeof t['grpc-status'] === 'string' ? t['grpc-status'] : undefined
          trailers = forwardable(t, HOP_BY_HOP)
        })
        up.on('end', () => {
          // A gRPC response ends with its trailers (grpc-status). An end without them is a cut
          // (the upstream's connection dropped: Node ends the stream before closing it) or a
          // broken upstream: left to 'close', which resets the client's stream, never passed
          // on as a clean, truncated success (review helper). Not an HTTP error (a 503 from a
          // load balancer, a 404): passed on as it came, so the client makes its status of it
          // (UNAVAILABLE, UNIMPLEMENTED) as gRPC's HTTP/2 protocol says.
          if (!headSent || ended || (grpcHead && trailers === undefined)) return
          ended = true
          if (trailers) res.addTrailers(trailers)
          res.end()
        })
      })
    },

    async close () {
      closed = true
      await Promise.all(pool.splice(0).map((p) => new Promise<void>((resolve) => {
        if (p.session.closed || p.session.destroyed) { resolve(); return }
        p.session.close(() => resolve())
      })))
    },
  }
}
