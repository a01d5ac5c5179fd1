// The proxy port's server: HTTP/1.1 always; TLS when server.tls is on (ALPN offers h2 and
// http/1.1 through http2.createSecureServer({allowHTTP1}), or HTTP/1.1 only with
// server.http2.enabled off); on a cleartext port, h2c with prior knowledge when
// server.http2.cleartext is on. Node's cleartext HTTP/2 server cannot serve HTTP/1.1, so the
// HTTP/1.1 server listens and each new connection's first bytes are looked at: the HTTP/2
// preface hands the socket to an HTTP/2 server that never listens itself, anything else goes to
// Node's HTTP/1.1 connection handling as before.
//
// Requests of every protocol reach the same handler (Http2ServerRequest/Response from node's
// compatibility API for HTTP/2 streams); HTTP/1.1 upgrades reach the upgrade handler. A broken
// stream is that stream's problem: session and stream errors are logged, never thrown.
import type { IncomingMessage, Server as HttpServer, ServerResponse } from 'node:http'
import { createServer as createHttpServer, Server as HttpServerClass } from '../node-http.js'
import { createServer as createHttpsServer } from 'node:https'
import {
  constants as h2, createSecureServer, createServer as createH2Server,
  type Http2SecureServer, type Http2Server, type Http2ServerRequest, type Http2ServerResponse, type Http2Session, type ServerHttp2Stream,
} from 'node:http2'
import type { AddressInfo, Server as NetServer, Socket } from 'node:net'
import type { Duplex } from 'node:stream'
import type { TLSSocket } from 'node:tls'
import type { X509Certificate } from 'node:crypto'
import type { Logger } from 'pino'
import type { BouncerConfig } from '../config/index.js'
import { BouncerError } from '../errors.js'
import { chainTrusted, enforceClientCertificate, peerIdentity, presentedChain, serverTlsOptions, TlsReloader, trustStore, type LoadedServerTls } from './tls.js'

export type ProxyRequest = IncomingMessage | Http2ServerRequest
export type ProxyResponse = ServerResponse | Http2ServerResponse
export type RequestListener = (req: ProxyRequest, res: ProxyResponse) => void
export type UpgradeListener = (req: IncomingMessage, socket: Duplex, head: Buffer) => void

/** The HTTP/2 connection preface (RFC 9113 §3.4). */
export const H2_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1')

export interface ProxyServerOptions {
  readonly server: BouncerConfig['server']
  /** The checked TLS material (loadServerTls) when server.tls is on. */
  readonly tls?: LoadedServerTls
  readonly onRequest: RequestListener
  readonly onUpgrade: UpgradeListener
  /** HTTP/1.1 parse errors (431, 408, 400 answers); default: the socket is destroyed. */
  readonly onClientError?: (err: NodeJS.ErrnoException, socket: Duplex) => void
  /** An HTTP/1.1 request whose Expect is not 100-continue (417); default: Node's bare 417. */
  readonly onExpectationFailed?: (req: IncomingMessage, res: ServerResponse) => void
  readonly log: Logger
  /** A TLS connection closed because its client certificate did not verify (client_certificates "request"). */
  readonly onClientCertificateRejected?: (reason: string) => void
  /** An HTTP/2 stream reset because its request was not received within server.request_timeout_seconds. */
  readonly onStreamTimeout?: () => void
  /** A connection closed on accept: server.max_connections were open. */
  readonly onConnectionDropped?: () => void
}

export interface ProxyServer {
  /** The server that listens (an http.Server, https.Server or Http2SecureServer). */
  readonly server: NetServer
  /** What the port speaks. */
  readonly protocols: { readonly tls: boolean; readonly h2: boolean; readonly h2c: boolean }
  /** Certificate reloading (server.tls), started by listen(). */
  readonly tls: TlsReloader | undefined
  listen (port: number, host: string): Promise<AddressInfo>
  /**
   * Graceful shutdown, step one: stop accepting, send GOAWAY on every HTTP/2 connection (its
   * open streams finish) and close HTTP/1.1 connections once idle. Resolves when the server
   * and every connection have closed (closeAll() ends the wait at a deadline).
   */
  close (): Promise<void>
  /** Closes HTTP/1.1 connections with no request in progress and HTTP/2 connections with no open stream. */
  closeIdle (): void
  /** Destroys every connection (the deadline). */
  closeAll (): void
  /** Open HTTP/2 sessions (tests, metrics). */
  readonly sessions: ReadonlySet<Http2Session>
}

type H2Any = Http2Server | Http2SecureServer

/** HTTP/2 settings and limits from the server section (the same limits as HTTP/1.1 where they exist). */
function http2Options (s: BouncerConfig['server']): import('node:http2').ServerOptions {
  return {
    settings: {
      maxConcurrentStreams: s.http2.max_concurrent_streams,
      maxHeaderListSize: s.max_header_bytes,
      enablePush: false,
      enableConnectProtocol: false,
    },
    maxHeaderListPairs: 2000,
    // Node refuses a header block larger than this before it reaches us (per stream).
    maxSendHeaderBlockLength: 1 << 20,
  }
}

/**
 * How often Node checks its HTTP/1.1 headers and request timeouts. Its default, 30 s, let a
 * timeout of T fire anywhere up to T + 30 s (a slowloris connection held a slot twice as long
 * as configured, review helper): given when the server is created (it cannot be set after).
 */
export const TIMEOUT_CHECK_MS = 1000

/** HTTP/1.1 limits, on any server that parses HTTP/1.1 (http.Server, or Http2SecureServer with allowHTTP1). */
function applyHttp1Limits (server: object, s: BouncerConfig['server']): void {
  const requestTimeout = s.request_timeout_seconds * 1000
  const headersTimeout = requestTimeout > 0 ? Math.min(s.headers_timeout_seconds * 1000, requestTimeout) : s.headers_timeout_seconds * 1000
  Object.assign(server, {
    maxHeaderSize: s.max_header_bytes,
    requestTimeout,
    headersTimeout,
    keepAliveTimeout: s.keep_alive_timeout_seconds * 1000,
    requireHostHeader: true,
    insecureHTTPParser: false,
  })
}

export function createProxyServer (opts: ProxyServerOptions): ProxyServer {
  const s = opts.server
  const log = opts.log
  const sessions = new Set<Http2Session>()
  // Open TLS connections whose client certificate verified (and so carry an identity).
  const certified = new Map<TLSSocket, Buffer[]>()
  // The chains clients sent at full handshakes, by leaf: a resumed session presents the leaf
  // alone, and its intermediates are needed to judge it again after a ca_file change.
  const chainsByLeaf = new Map<string, Buffer[]>()
  const chainOf = (socket: TLSSocket): Buffer[] => {
    const chain = presentedChain(socket)
    const leaf = socket.getPeerX509Certificate()?.fingerprint256
    if (leaf === undefined) return chain
    if (!socket.isSessionReused()) {
      chainsByLeaf.delete(leaf)
      chainsByLeaf.set(leaf, chain)
      if (chainsByLeaf.size > 10_000) chainsByLeaf.delete(chainsByLeaf.keys().next().value!)
      return chain
    }
    return chainsByLeaf.get(leaf) ?? chain
  }
  // The CA store after the last ca_file change (undefined: never changed).
  let reloadedStore: X509Certificate[] | undefined
  const tlsOn = s.tls.enabled
  if (tlsOn && !opts.tls) throw new TypeError('server.tls is enabled: pass the loaded TLS material (loadServerTls)')
  const h2On = tlsOn ? s.http2.enabled : s.http2.cleartext
  const idleMs = s.keep_alive_timeout_seconds * 1000
  let h2server: H2Any | undefined
  let server: NetServer

  if (tlsOn) {
    const tlsOptions = serverTlsOptions(s.tls, opts.tls!)
    if (h2On) {
      const secure = createSecureServer({ ...tlsOptions, ...http2Options(s), allowHTTP1: true, connectionsCheckingInterval: TIMEOUT_CHECK_MS } as Parameters<typeof createSecureServer>[0], opts.onRequest)
      applyHttp1Limits(secure, s)
      h2server = secure
      server = secure
    } else {
      server = createHttpsServer({ ...tlsOptions, maxHeaderSize: s.max_header_bytes, requireHostHeader: true, insecureHTTPParser: false, noDelay: true, connectionsCheckingInterval: TIMEOUT_CHECK_MS }, opts.onRequest as (req: IncomingMessage, res: ServerResponse) => void)
      applyHttp1Limits(server, s)
    }
    server.on('secureConnection', (socket: TLSSocket) => {
      const why = enforceClientCertificate(s.tls, socket)
      if (why !== undefined) {
        opts.onClientCertificateRejected?.(why)
        const err = new BouncerError('BOUNCER_ERR_PROXY_CLIENT_CERT', [why])
        log.info({ code: err.code, peer: socket.remoteAddress, reason: why }, err.message)
        return
      }
      if (peerIdentity(socket) === undefined) return
      const chain = chainOf(socket)
      // Once ca_file has changed, a handshake may have begun under the old context (a client
      // can hold its Certificate flight across the reload), or resumed a session made under it:
      // judged again by today's store.
      if (reloadedStore !== undefined && !chainTrusted(chain, reloadedStore)) {
        socket.destroy()
        revoked(1)
        return
      }
      // Kept while open: a ca_file change re-judges them (see revokeUntrusted).
      certified.set(socket, chain)
      socket.once('close', () => certified.delete(socket))
    })
    // A failed handshake (wrong version, no certificate when required, garbage): that
    // connection only.
    server.on('tlsClientError', (err: NodeJS.ErrnoException, socket: TLSSocket) => {
      log.debug({ code: err.code, peer: socket.remoteAddress, err: err.message }, 'TLS handshake failed')
      socket.destroy()
    })
  } else {
    const http1 = createHttpServer({ noDelay: true, connectionsCheckingInterval: TIMEOUT_CHECK_MS }, opts.onRequest as (req: IncomingMessage, res: ServerResponse) => void)
    applyHttp1Limits(http1, s)
    server = http1
    if (h2On) {
      const h2c = createH2Server(http2Options(s), opts.onRequest)
      // CONNECT streams come as 'connect', not 'request' (unanswered, Node's bare 405).
      h2c.on('connect', opts.onRequest)
      h2server = h2c
      routeByPreface(http1, h2c, s.headers_timeout_seconds * 1000)
    }
  }

  // server.max_connections: counted by the listening server, so HTTP/1.1, h2c handed over by
  // preface, TLS and HTTP/2 connections all count; Node closes a connection past it on accept.
  if (s.max_connections > 0) {
    server.maxConnections = s.max_connections
    server.on('drop', () => opts.onConnectionDropped?.())
  }
  server.on('upgrade', opts.onUpgrade)
  // CONNECT: over HTTP/1.1 Node hands over the socket as for an Upgrade and, with no listener,
  // closes it unanswered; the upgrade path answers it as plain HTTP. Over HTTP/2 (a TLS server
  // with http2) the compatibility layer emits it with a request and a response: the request
  // path answers it. Either way it is refused (path.reject_status), with a request id, logged
  // and counted.
  server.on('connect', (req: IncomingMessage, socketOrRes: Duplex | ServerResponse, head: Buffer) => {
    if (req.httpVersionMajor === 2) opts.onRequest(req, socketOrRes as ServerResponse)
    else opts.onUpgrade(req, socketOrRes as Duplex, head)
  })
  if (opts.onExpectationFailed) server.on('checkExpectation', opts.onExpectationFailed)
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
    if (opts.onClientError) opts.onClientError(err, socket)
    else socket.destroy()
  })

  if (h2server) {
    h2server.on('session', (session: Http2Session) => {
      sessions.add(session)
      trackIdle(session, idleMs)
      session.on('close', () => sessions.delete(session))
      // Protocol errors end this session only (Node sends GOAWAY); never thrown.
      session.on('error', (err: NodeJS.ErrnoException) => log.debug({ code: err.code, err: err.message }, 'HTTP/2 session error'))
      session.on('frameError', (type: number, code: number, id: number) => log.debug({ type, code, stream: id }, 'HTTP/2 frame error'))
    })
    h2server.on('sessionError', (err: NodeJS.ErrnoException) => log.debug({ code: err.code, err: err.message }, 'HTTP/2 session error'))
    const requestMs = s.request_timeout_seconds * 1000
    h2server.on('stream', (stream: ServerHttp2Stream, headers: import('node:http2').IncomingHttpHeaders) => {
      // A stream reset or broken mid-way: the request's own close/abort handling runs; the
      // error must not escape as an unhandled 'error' event.
      stream.on('error', (err: NodeJS.ErrnoException) => log.debug({ code: err.code, err: err.message, stream: stream.id }, 'HTTP/2 stream error'))
      if (requestMs > 0 && !isGrpc(headers)) {
        limitRequestTime(stream, requestMs, () => {
          log.info({ stream: stream.id, timeout_ms: requestMs }, 'HTTP/2 request not received in time: stream reset')
          opts.onStreamTimeout?.()
        })
      }
    })
  }

  const reloader = tlsOn
    ? new TlsReloader(s.tls, opts.tls!, {
        apply: (context) => (server as import('node:tls').Server).setSecureContext({ ...context }),
        log,
        onReload: (next, prev) => {
          const a = next.material.ca
          const b = prev.material.ca
          if (a === undefined ? b !== undefined : b === undefined || !a.equals(b)) revokeUntrusted(reloadedStore = trustStore(a))
        },
      })
    : undefined

  /**
   * After ca_file changed: a connection whose client certificate no longer chains to a CA in it
   * is closed (with its requests in flight). Its identity was judged once, at the handshake,
   * and would otherwise stay in every request's input for as long as the client keeps the
   * connection open; the client reconnects and is verified against the new CAs.
   */
  function revokeUntrusted (store: X509Certificate[]): void {
    let closed = 0
    for (const [socket, chain] of certified) {
      if (chainTrusted(chain, store)) continue
      certified.delete(socket)
      socket.destroy()
      closed++
    }
    revoked(closed)
  }

  function revoked (n: number): void {
    if (n === 0) return
    for (let i = 0; i < n; i++) opts.onClientCertificateRejected?.('no longer trusted after server.tls.ca_file changed')
    const err = new BouncerError('BOUNCER_ERR_PROXY_CLIENT_CERT', ['no longer trusted after server.tls.ca_file changed'])
    log.warn({ code: err.code, connections: n }, `${err.message}: connections closed`)
  }

  const http1CloseIdle = (): void => {
    // http.Server and https.Server have it; Http2SecureServer tracks its HTTP/1.1 connections the
    // same way (allowHTTP1) but does not expose the method.
    const fn = (server as Partial<HttpServer>).closeIdleConnections ?? HttpServerClass.prototype.closeIdleConnections
    try { fn.call(server) } catch { /* not tracking (not listening) */ }
  }
  const http1CloseAll = (): void => {
    const fn = (server as Partial<HttpServer>).closeAllConnections ?? HttpServerClass.prototype.closeAllConnections
    try { fn.call(server) } catch { /* not tracking */ }
  }

  return {
    server,
    protocols: { tls: tlsOn, h2: tlsOn && h2On, h2c: !tlsOn && h2On },
    tls: reloader,
    sessions,
    async listen (port, host) {
      await new Promise<void>((resolve, reject) => {
        const onError = (e: Error): void => reject(new BouncerError('BOUNCER_ERR_PROXY_LISTEN', [`${host}:${port}`, e.message], { cause: e }))
        server.once('error', onError)
        server.listen(port, host, () => { server.off('error', onError); resolve() })
      })
      reloader?.start()
      return server.address() as AddressInfo
    },
    async close () {
      reloader?.stop()
      const ended = [...sessions].map((session) => new Promise<void>((resolve) => {
        if (session.destroyed) resolve()
        else session.once('close', () => resolve())
      }))
      for (const session of sessions) if (!session.closed) session.close()
      await new Promise<void>((resolve) => {
        if (!server.listening) { resolve(); return }
        server.close(() => resolve())
        http1CloseIdle()
      })
      await Promise.all(ended)
    },
    closeIdle () {
      http1CloseIdle()
      for (const session of sessions) if (openStreams(session) === 0 && !session.closed) session.close()
    },
    closeAll () {
      http1CloseAll()
      for (const session of sessions) session.destroy()
    },
  }
}

/**
 * server.request_timeout_seconds for HTTP/2, as Node applies it to HTTP/1.1: the whole request
 * (headers and body, up to the client's END_STREAM) must arrive in time, or the stream is reset
 * (RST_STREAM CANCEL; the pipeline sees a client abort and ends any upstream request). Without
 * it a client could hold streams open by trickling a body. gRPC calls are left out: a streaming
 * call's request lasts as long as the call, and gRPC has its own deadline (grpc-timeout).
 */
function limitRequestTime (stream: ServerHttp2Stream, ms: number, onTimeout: () => void): void {
  if (stream.endAfterHeaders) return
  const timer = setTimeout(() => {
    if (stream.closed || stream.destroyed || stream.state.remoteClose) return
    onTimeout()
    stream.close(h2.NGHTTP2_CANCEL)
  }, ms)
  timer.unref()
  stream.once('close', () => clearTimeout(timer))
}

const isGrpc = (headers: import('node:http2').IncomingHttpHeaders): boolean => {
  const type = headers['content-type']
  return typeof type === 'string' && /^application\/grpc(?:[+;]|$)/i.test(type)
}

const kOpen = Symbol('bouncer.openStreams')
type Counted = Http2Session & { [kOpen]?: number }
const openStreams = (session: Http2Session): number => (session as Counted)[kOpen] ?? 0

/**
 * server.keep_alive_timeout_seconds for HTTP/2: a connection with no open stream for that long
 * is closed with GOAWAY (a long-lived stream, e.g. a gRPC stream, keeps it open however quiet).
 */
function trackIdle (session: Http2Session, idleMs: number): void {
  const c = session as Counted
  c[kOpen] = 0
  let timer: NodeJS.Timeout | undefined
  const arm = (): void => {
    if (idleMs <= 0) return
    timer = setTimeout(() => { if (!session.closed && !session.destroyed) session.close() }, idleMs)
    timer.unref()
  }
  arm()
  session.on('stream', (stream: ServerHttp2Stream) => {
    c[kOpen]!++
    if (timer) { clearTimeout(timer); timer = undefined }
    stream.once('close', () => {
      c[kOpen]!--
      if (c[kOpen] === 0 && !session.closed) arm()
    })
  })
  session.once('close', () => { if (timer) clearTimeout(timer) })
}

/**
 * h2c with prior knowledge beside HTTP/1.1 on one cleartext port: Node's connection handling of
 * the HTTP/1.1 server is moved behind a look at the first bytes. The HTTP/2 preface goes to the
 * HTTP/2 server; anything that cannot be the preface (the first byte differs, or a later one)
 * goes to HTTP/1.1 unchanged. The bytes read are put back before the socket is handed over.
 */
function routeByPreface (http1: HttpServer, h2c: Http2Server, timeoutMs: number): void {
  const original = http1.listeners('connection') as ((socket: Socket) => void)[]
  http1.removeAllListeners('connection')
  const toHttp1 = (socket: Socket): void => { for (const l of original) l.call(http1, socket) }
  http1.on('connection', (socket: Socket) => {
    let seen: Buffer = Buffer.alloc(0)
    const timer = setTimeout(() => socket.destroy(), timeoutMs)
    timer.unref()
    const done = (): void => {
      clearTimeout(timer)
      socket.off('data', onData)
      socket.off('end', onEnd)
      socket.off('error', onError)
      socket.pause()
    }
    const onError = (): void => { clearTimeout(timer); socket.destroy() }
    const onEnd = (): void => { done(); socket.destroy() }
    const onData = (chunk: Buffer): void => {
      seen = seen.length === 0 ? chunk : Buffer.concat([seen, chunk])
      const n = Math.min(seen.length, H2_PREFACE.length)
      const prefix = seen.subarray(0, n).equals(H2_PREFACE.subarray(0, n))
      if (prefix && n < H2_PREFACE.length) return // wait for more
      done()
      socket.unshift(seen)
      // The HTTP/2 session reads what is buffered on its first tick (Node does this for
      // sockets handed over with data already read); HTTP/1.1 gets it as 'data' events.
      if (prefix) {
        // http.Server accepts its sockets half-open (allowHalfOpen); an HTTP/2 session on one
        // never saw the client's FIN, so a call whose client went away was never cancelled and
        // held its upstream stream and a connection slot for good (review helper). As a
        // net/http2 server's own socket does: the end of the client's side ends the connection.
        socket.allowHalfOpen = false
        socket.once('end', () => socket.destroy())
        h2c.emit('connection', socket)
      } else { toHttp1(socket); socket.resume() }
    }
    socket.on('data', onData)
    socket.on('end', onEnd)
    socket.on('error', onError)
  })
}

/** An HTTP/2 stream (node's compatibility API), as opposed to an HTTP/1.x request. */
export function isHttp2 (req: ProxyRequest): req is Http2ServerRequest {
  return (req as Partial<Http2ServerRequest>).stream !== undefined
}

/**
 * The protocol as the policy input names it: "HTTP/1.1", "HTTP/1.0", "HTTP/2". Decided by the
 * object, not the version the request line claims (an HTTP/1.x parser may see "HTTP/2.0").
 */
export function protocolName (req: ProxyRequest): string {
  return isHttp2(req) ? 'HTTP/2' : `HTTP/${req.httpVersion}`
}

/** RST_STREAM codes used when a stream has to be ended without a response. */
export const STREAM_CODES = { cancel: h2.NGHTTP2_CANCEL, internal: h2.NGHTTP2_INTERNAL_ERROR, refused: h2.NGHTTP2_REFUSED_STREAM } as const

/** What the policy input says about the connection a request arrived on. */
export interface ConnectionFacts {
  /** attributes.request.http.scheme (and X-Forwarded-Proto): "https" on the TLS port */
  readonly scheme: 'http' | 'https'
  /** attributes.request.http.protocol */
  readonly protocol: string
  /** attributes.source.principal / .certificate: a verified client certificate (see tls.ts) */
  readonly principal?: string
  readonly certificate?: string
  /** attributes.tls_session.sni: the server name the TLS client asked for, as Envoy gives it */
  readonly sni?: string
}

const HTTP: ConnectionFacts = Object.freeze({ scheme: 'http', protocol: 'HTTP/1.1' })
const HTTP2: ConnectionFacts = Object.freeze({ scheme: 'http', protocol: 'HTTP/2' })

/** The request connection's scheme alone (no certificate read): the default port normalizeHost drops. */
export function schemeOf (req: ProxyRequest): 'http' | 'https' {
  if (isHttp2(req)) return req.stream.session?.encrypted === true ? 'https' : 'http'
  return (req.socket as TLSSocket | null)?.encrypted === true ? 'https' : 'http'
}

/** Scheme, protocol and client certificate of the request's connection (the certificate is read once per connection). */
export function connectionFacts (req: ProxyRequest): ConnectionFacts {
  if (isHttp2(req)) {
    const session = req.stream.session
    if (session === undefined || !session.encrypted) return HTTP2
    const tls = session.socket as TLSSocket
    const id = peerIdentity(tls)
    return { scheme: 'https', protocol: 'HTTP/2', ...(id ? { principal: id.principal, certificate: id.certificate } : {}), ...sniOf(tls) }
  }
  const socket = req.socket as TLSSocket | null
  const protocol = req.httpVersion === '1.1' ? 'HTTP/1.1' : `HTTP/${req.httpVersion}`
  if (socket === null || socket.encrypted !== true) return protocol === 'HTTP/1.1' ? HTTP : { scheme: 'http', protocol }
  const id = peerIdentity(socket)
  return { scheme: 'https', protocol, ...(id ? { principal: id.principal, certificate: id.certificate } : {}), ...sniOf(socket) }
}

/** The SNI the client sent (none: no key), for the policy as Envoy's tls_session.sni. */
function sniOf (socket: TLSSocket): { sni?: string } {
  const name = socket.servername
  return typeof name === 'string' && name !== '' ? { sni: name } : {}
}
