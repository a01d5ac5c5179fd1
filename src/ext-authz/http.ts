// Envoy's HTTP ext_authz protocol (http_service): Envoy sends the authorization server the
// client request's method, path (after http_service.path_prefix) and the headers it is
// configured to pass (allowed_headers), with the buffered body when with_request_body is set.
// The answer: 200 allows — Envoy copies the response headers named by allowed_upstream_headers
// to the upstream request, those named by allowed_client_headers_on_success to the client's
// response, and removes the request headers listed in x-envoy-auth-headers-to-remove; any other
// status denies and is sent to the client (status, body, and the headers allowed_client_headers
// names).
//
// The policy gets the same input as over gRPC (input.ts), built from what arrived: attributes.
// request.http {id (x-request-id), method, path, host, scheme (x-forwarded-proto), protocol,
// headers, body, size}, attributes.source / destination the connection's peer and local
// addresses (Envoy's, not the client's: the client is in x-forwarded-for). There is no
// request.time, metadata or context extensions: the HTTP protocol does not carry them.
//
// Fail closed: a request that does not make a valid input → 400 with the reason; a body over
// ext_authz.max_request_bytes → 413; a policy failure → policy.error_status (503 without a
// policy). Envoy allows on 200 and, with failure_mode_allow, on a 5xx (the authorization
// service failing), so no denial or failure is answered with either: a 2xx or 5xx status
// (the policy's http_status, policy.error_status, no policy, an internal error) becomes 403.
// An allow this protocol cannot carry (query_parameters_to_remove, query_parameters_to_set) is
// refused the same way.
import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import type { Logger } from 'pino'
import { createServer } from '../node-http.js'
import { ERROR_CODES } from '../proxy/respond.js'
import type { CheckResult, Checker } from './check.js'
import { readHeaderValues, type HeaderCharset } from '../proxy/header-charset.js'
import { inputFromCheckRequest, InputError, peerAddress } from './input.js'
import { BodyBudget, type BodyLease } from '../proxy/body-budget.js'

export const HEADERS_TO_REMOVE = 'x-envoy-auth-headers-to-remove'

export interface HttpServerOptions {
  readonly host: string
  readonly port: number
  readonly maxRequestBytes: number
  /** http_service.path_prefix as configured in Envoy ("" = none); removed before the policy sees the path */
  readonly pathPrefix: string
  /** server.header_charset: how header values with bytes >= 0x80 are read (default latin1). */
  readonly headerCharset?: HeaderCharset
  /** Bytes of request bodies held at once, all requests together (0: no limit): each body is
   *  bounded by maxRequestBytes, but many connections each holding one grew memory without bound. */
  readonly maxBufferedBytes?: number
}

export interface ExtAuthzHttpServer {
  readonly server: Server
  listen (): Promise<{ address: string; port: number }>
  close (deadlineMs: number): Promise<void>
}

interface Reply { status: number; headers: [string, string][]; body: string }

/** A status Envoy cannot take for an allow: 2xx and 5xx become 403 (see the top of this file). */
export function denialStatus (status: number): number {
  return (status >= 200 && status < 300) || status >= 500 ? 403 : status
}

// What Node's HTTP/1 writer accepts in a header value (else writeHead throws: a 500). The
// control characters are refused when the decision is read (decision.ts NOT_FIELD_VALUE, for
// both transports); what is left is a character above U+00FF, which Node cannot write.
const NOT_WRITABLE = /[^\t\x20-\x7e\x80-\xff]/

/** The HTTP answer for a decision or a failure. */
export function httpReplyOf (r: CheckResult): Reply {
  if (r.kind === 'fail') return failReply(r.status, ERROR_CODES[r.status] ?? 'denied', r.decisionId)
  const e = r.decision.envoy
  if (r.kind === 'allow') {
    // Envoy's HTTP protocol has no way to say it: allowing without the removal would let the
    // parameters the policy judged unsafe through.
    if (e.queryParametersToRemove.length > 0 || e.queryParametersToSet.length > 0) return failReply(403, 'decision_not_enforceable', r.decisionId)
    const headers: [string, string][] = [...e.headerOptions, ...e.responseHeadersToAdd].map(([n, v]) => [n, v])
    if (e.headersToRemove.length > 0) headers.push([HEADERS_TO_REMOVE, e.headersToRemove.join(', ')])
    if (headers.some(([, v]) => NOT_WRITABLE.test(v))) return failReply(403, 'decision_not_enforceable', r.decisionId)
    return { status: 200, headers, body: '' }
  }
  const headers: [string, string][] = e.headerOptions.map(([n, v]) => [n, v])
  if (headers.some(([, v]) => NOT_WRITABLE.test(v))) return failReply(403, 'decision_not_enforceable', r.decisionId)
  const body = r.decision.body ?? ''
  if (body !== '' && !headers.some(([n]) => n === 'content-type')) headers.push(['content-type', 'text/plain; charset=utf-8'])
  return { status: denialStatus(r.decision.status), headers, body }
}

function failReply (status: number, error: string, decisionId: string | undefined): Reply {
  return { status: denialStatus(status), headers: [['content-type', 'application/json']], body: JSON.stringify({ error, decision_id: decisionId }) }
}

// Framing is ours: a policy's header of these names is not sent (it would corrupt the answer).
const FRAMING = new Set(['content-length', 'transfer-encoding', 'connection', 'keep-alive', 'upgrade', 'trailer', 'te', 'proxy-connection'])

function send (res: ServerResponse, r: Reply): void {
  if (res.headersSent || res.destroyed) return
  // Several values of one name are sent as separate header lines. (No prototype: a policy's
  // header may be named "__proto__".)
  const out = Object.create(null) as Record<string, string | string[]>
  for (const [n, v] of r.headers) {
    if (FRAMING.has(n)) continue
    const prev = out[n]
    out[n] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v]
  }
  out['content-length'] = String(Buffer.byteLength(r.body))
  out['cache-control'] ??= 'no-store'
  res.writeHead(r.status, out)
  res.end(r.body)
}

function readBody (req: IncomingMessage, max: number, lease: BodyLease): Promise<Buffer | 'too_large' | 'busy'> {
  return new Promise((resolve, reject) => {
    const declared = req.headers['content-length']
    if (declared !== undefined && Number(declared) > max) { req.resume(); return resolve('too_large') }
    const chunks: Buffer[] = []
    let size = 0
    req.on('data', (c: Buffer) => {
      size += c.length
      if (size > max) { req.removeAllListeners('data'); req.resume(); resolve('too_large'); return }
      if (!lease.take(c.length)) { req.removeAllListeners('data'); req.resume(); resolve('busy'); return }
      chunks.push(c)
    })
    req.on('end', () => resolve(Buffer.concat(chunks, size)))
    req.on('error', reject)
  })
}

function socketAddress (ip: string | undefined, port: number | undefined): Record<string, unknown> {
  const address = ip?.startsWith('::ffff:') && ip.includes('.') ? ip.slice(7) : ip ?? ''
  return { address: { socketAddress: { ...(address !== '' ? { address } : {}), ...(port ? { portValue: port } : {}) } } }
}

/** The CheckRequest Envoy would have sent over gRPC for this HTTP authorization request. */
export function checkRequestOf (req: IncomingMessage, body: Buffer, pathPrefix: string, charset: HeaderCharset = 'latin1'): Record<string, unknown> {
  let path = req.url ?? '/'
  if (pathPrefix !== '') {
    if (!path.startsWith(pathPrefix)) throw new InputError(`path does not start with ext_authz.http.path_prefix ${JSON.stringify(pathPrefix)}`)
    path = path.slice(pathPrefix.length)
    if (!path.startsWith('/')) path = '/' + path
  }
  // From rawHeaders, every value of a name joined with "," (as the gRPC CheckRequest's headers
  // map has them): req.headers keeps only the first of a duplicated Authorization, Content-Type,
  // Host..., so a second one the policy never saw could reach the upstream, and it leaves out a
  // header named "__proto__".
  const headers = Object.create(null) as Record<string, string>
  const raw = req.rawHeaders
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const k = raw[i]!.toLowerCase()
    headers[k] = k in headers ? `${headers[k]},${raw[i + 1]!}` : raw[i + 1]!
  }
  // The pseudo-headers a gRPC CheckRequest's map holds (Envoy turns them into the request line
  // and Host over HTTP): a policy reading headers[":path"] decides alike on both transports.
  const forwardedProto = headers['x-forwarded-proto']
  if (headers.host !== undefined) headers[':authority'] = headers.host
  headers[':method'] = req.method ?? 'GET'
  headers[':path'] = path
  if (forwardedProto !== undefined) headers[':scheme'] = forwardedProto
  const unreadable = readHeaderValues(headers, charset)
  if (unreadable !== undefined) throw new InputError(`header ${JSON.stringify(unreadable.slice(0, 64))} is not ${charset === 'utf8' ? 'valid UTF-8' : 'ASCII'} (server.header_charset)`)
  const http: Record<string, unknown> = {}
  const id = headers['x-request-id']
  if (id) http.id = id
  http.method = req.method ?? 'GET'
  http.headers = headers
  http.path = path
  const host = headers.host ?? headers[':authority']
  if (host) http.host = host
  const scheme = headers['x-forwarded-proto']
  if (scheme) http.scheme = scheme
  if (body.length > 0) { http.size = body.length; http.body = body.toString('utf8') }
  http.protocol = `HTTP/${req.httpVersion}`
  const sock = req.socket as Socket
  return {
    attributes: {
      source: socketAddress(sock.remoteAddress, sock.remotePort),
      destination: socketAddress(sock.localAddress, sock.localPort),
      request: { http },
    },
  }
}

export function createHttpServer (checker: Checker, o: HttpServerOptions, log: Logger): ExtAuthzHttpServer {
  const budget = new BodyBudget(o.maxBufferedBytes ?? 0)
  async function handle (req: IncomingMessage, res: ServerResponse): Promise<void> {
    const t0 = process.hrtime.bigint()
    const peer = `${req.socket.remoteAddress ?? ''}:${req.socket.remotePort ?? ''}`
    const lease = budget.lease()
    res.once('close', () => lease.release())
    const body = await readBody(req, o.maxRequestBytes, lease)
    if (body === 'busy') {
      // A denial, never a 5xx: Envoy allows on a 5xx when failure_mode_allow is set.
      checker.account('http', 'invalid', t0, { peer, error: 'request bodies held would exceed policy.parsed_body.max_buffered_bytes' })
      send(res, failReply(403, 'busy', undefined))
      return
    }
    if (body === 'too_large') {
      checker.account('http', 'invalid', t0, { peer, error: 'body too large' })
      send(res, { status: 413, headers: [['content-type', 'text/plain; charset=utf-8']], body: `request body exceeds ext_authz.max_request_bytes (${o.maxRequestBytes})` })
      return
    }
    let input
    const parse = checker.readsBody()
    try {
      input = inputFromCheckRequest(checkRequestOf(req, body, o.pathPrefix, o.headerCharset), { body: parse, partialHeaderRequired: true })
    } catch (e) {
      if (!(e instanceof InputError)) throw e
      checker.account('http', 'invalid', t0, { peer, error: e.message })
      log.info({ transport: 'http', peer, error: e.message }, 'ext_authz: malformed authorization request denied')
      send(res, { status: 400, headers: [['content-type', 'text/plain; charset=utf-8']], body: e.message })
      return
    }
    const r = await checker.check(input, peerAddress(input.attributes.source), t0, parse)
    send(res, httpReplyOf(r))
    checker.account('http', r.kind === 'fail' ? 'fail_closed' : r.kind, t0, { decision_id: r.decisionId })
  }

  // Envoy sends a check at once: a connection that trickles its head or body is not Envoy's, and
  // Node's own defaults (60 s and 300 s, checked every 30 s) let it hold a buffer for minutes.
  const server = createServer({ maxHeaderSize: 65536, headersTimeout: 10_000, requestTimeout: 30_000, connectionsCheckingInterval: 1000 }, (req, res) => {
    handle(req, res).catch((e: unknown) => {
      log.error({ err: e }, 'ext_authz: unexpected error answering an HTTP authorization request')
      send(res, failReply(500, 'internal_error', undefined))
    })
  })
  // CONNECT gets an answer, never a silent close (a transport error, which failure_mode_allow allows).
  server.on('connect', (_req, socket: Socket) => {
    socket.on('error', () => socket.destroy())
    const body = '{"error":"not_allowed"}'
    socket.end(`HTTP/1.1 403 Forbidden\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n${body}`)
  })
  server.on('clientError', (_err, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n')
    else socket.destroy()
  })

  return {
    server,
    listen: () => new Promise((resolve, reject) => {
      const onError = (e: Error): void => reject(e)
      server.once('error', onError)
      server.listen(o.port, o.host, () => {
        server.off('error', onError)
        const a = server.address() as { address: string; port: number }
        resolve({ address: a.address, port: a.port })
      })
    }),
    close: (deadlineMs) => new Promise((resolve) => {
      const force = setTimeout(() => server.closeAllConnections(), deadlineMs)
      force.unref()
      server.close(() => { clearTimeout(force); resolve() })
      server.closeIdleConnections()
    }),
  }
}
