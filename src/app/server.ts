// The listeners. The proxy port's server is created in exactly one place, proxyServerFromConfig():
// it takes the pipeline's request and upgrade handlers and hands them to src/proxy/listener.ts,
// which builds the http/https/HTTP/2 server the config asks for (server.tls, server.http2).
// The admin port is plain node:http (src/health/admin.ts).
import { randomUUID } from 'node:crypto'
import type { Server, ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import type { Duplex } from 'node:stream'
import type { Logger } from 'pino'
import type { BouncerConfig } from '../config/index.js'
import { BouncerError } from '../errors.js'
import { createAdminServer } from '../health/admin.js'
import type { Health } from '../health/index.js'
import type { Metrics } from '../metrics/index.js'
import { createProxyServer, type ProxyServer, type RequestListener, type UpgradeListener } from '../proxy/listener.js'
import { admit } from '../proxy/connection-order.js'
import { afterPendingAnswers, endAndReap, errorReply, sendReply } from '../proxy/respond.js'
import { loadServerTls } from '../proxy/tls.js'

export interface ProxyHandlers {
  /** Every request (HTTP/1.1, and HTTP/2 streams through node's compatibility API). */
  readonly onRequest: RequestListener
  /** HTTP/1.1 requests carrying Upgrade. */
  readonly onUpgrade: UpgradeListener
}

export interface ProxyPort {
  readonly proxy: ProxyServer
  /** From now on, requests still arriving on open connections are answered 503 with Connection: close. */
  refuseNewRequests (): void
}

const CLIENT_ERRORS: Readonly<Record<number, readonly [reason: string, error: string, text: string]>> = {
  400: ['malformed', 'bad_request', 'Bad Request'],
  408: ['request_timeout', 'request_timeout', 'Request Timeout'],
  431: ['header_overflow', 'headers_too_large', 'Request Header Fields Too Large'],
}

const CLOSING_BODY = '{"error":"unavailable"}'
const CLOSING = { 'content-type': 'application/json', 'content-length': String(CLOSING_BODY.length) }
const CLOSING_HTTP1 = { ...CLOSING, connection: 'close' }
const CLOSING_RAW = `HTTP/1.1 503 Service Unavailable\r\n${Object.entries(CLOSING_HTTP1).map(([n, v]) => `${n}: ${v}\r\n`).join('')}\r\n${CLOSING_BODY}`

/** HTTP/1.1 requests that never parsed: a short JSON answer on the raw socket, then close. */
function clientErrorHandler (metrics: Metrics, log: Logger): (err: NodeJS.ErrnoException, socket: Duplex) => void {
  return (err, socket) => {
    if (err.code === 'ECONNRESET' || socket.destroyed) return
    // The client hung up in the middle of a request already being handled: that request counts
    // it (client_aborted); it is no malformed request, and there is no one to answer.
    if (err.code === 'HPE_INVALID_EOF_STATE' && (socket as Socket & { _httpMessage?: unknown })._httpMessage != null) { socket.destroy(); return }
    // Answers still owed on this connection (pipelined requests before the error).
    const owed = (socket as Socket & { _httpMessage?: unknown })._httpMessage != null
    // The last request Node parsed: complete, the error is about bytes after it; incomplete (a
    // bad chunk in its body, its body's timeout), about that request itself, whose own answer
    // will never come and must not be waited for (that held the connection open).
    const last = (socket as Socket & { parser?: { incoming?: { complete?: boolean } | null } | null }).parser?.incoming ?? null
    // Bytes after a request that asked to close the connection (Connection: close, HTTP/1.0):
    // ignored (RFC 9112 §9.6); that request's answer is still written, then the connection closes.
    if (err.code === 'HPE_CLOSED_CONNECTION' && owed && last?.complete === true) { socket.pause(); afterPendingAnswers(socket, () => socket.destroy()); return }
    const status = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400
    const [reason, error, text] = CLIENT_ERRORS[status]!
    metrics.rejected.inc({ reason })
    // No request was parsed, so no client id: a fresh one, in the header and the body as on
    // every answer the bouncer writes.
    const requestId = randomUUID()
    log.info({ code: err.code, status, request_id: requestId }, 'malformed request rejected')
    const body = `{"error":"${error}","request_id":"${requestId}"}`
    const answer = `HTTP/1.1 ${status} ${text}\r\ncontent-type: application/json\r\ncache-control: no-store\r\nx-request-id: ${requestId}\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n${body}`
    // The client reads answers in order, so an error written now would be taken as the first
    // owed answer: it goes after the answers to the requests before the one it is about (a 400,
    // a 431, a 408); no more is read meanwhile. Not read and dropped: Node's parser is still
    // attached, so the rest of a request answered 408 would complete it, and it was forwarded
    // (review of the fixes, 2026-12-07), and every later chunk raised this error again. A client
    // that leaves meanwhile is seen once the owed answers are written.
    if (owed) {
      socket.pause()
      afterPendingAnswers(socket, () => {
        const own = (socket as Socket & { _httpMessage?: { headersSent?: boolean } | null })._httpMessage
        if (socket.writable && own?.headersSent !== true) endAndReap(socket, answer)
        else socket.destroy()
      }, last?.complete === true ? null : last)
      return
    }
    if (socket.writable && !(socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage?.headersSent) {
      socket.write(answer)
    }
    socket.destroy()
  }
}

/** The proxy port: TLS material loaded and checked now (server.tls), handlers attached, not listening yet. */
export function proxyServerFromConfig (s: BouncerConfig['server'], handlers: ProxyHandlers, deps: { metrics: Metrics; log: Logger }): ProxyPort {
  const { metrics, log } = deps
  const tls = s.tls.enabled ? loadServerTls(s.tls) : undefined
  for (const w of tls?.warnings ?? []) log.warn(w)
  let closing = false
  const { onRequest } = handlers
  const proxy = createProxyServer({
    server: s,
    tls,
    onRequest: (req, res) => {
      if (!closing) return onRequest(req, res)
      // HTTP/2 streams are refused by the GOAWAY the shutdown sends; Connection is HTTP/1.1's.
      const r = res as ServerResponse
      r.writeHead(503, req.httpVersionMajor === 1 ? CLOSING_HTTP1 : CLOSING)
      r.end(CLOSING_BODY)
    },
    onUpgrade: (req, socket, head) => {
      if (!closing) return handlers.onUpgrade(req, socket, head)
      // No new tunnel once shutdown began (it would be authorised after readiness went false,
      // and hold the drain to its deadline).
      socket.on('error', () => socket.destroy())
      afterPendingAnswers(socket, () => endAndReap(socket, CLOSING_RAW))
    },
    onClientError: clientErrorHandler(metrics, log),
    onExpectationFailed: (req, res) => {
      // Node would answer a bare 417; ours carries a request id like every other answer. It
      // closes the connection: requests pipelined after it are not processed.
      admit(req.socket, res)
      const requestId = randomUUID()
      metrics.rejected.inc({ reason: 'malformed' })
      log.info({ status: 417, request_id: requestId, expect: String(req.headers.expect ?? '').slice(0, 64) }, 'malformed request rejected')
      sendReply(res, errorReply(417, requestId), true)
    },
    onClientCertificateRejected: () => metrics.rejected.inc({ reason: 'client_certificate' }),
    onStreamTimeout: () => metrics.rejected.inc({ reason: 'request_timeout' }),
    onConnectionDropped: () => metrics.rejected.inc({ reason: 'max_connections' }),
    log,
  })
  return { proxy, refuseNewRequests () { closing = true } }
}

/** The admin listener (/healthz, /readyz, /metrics), or undefined when admin.enabled is off. */
export function adminServerFromConfig (admin: BouncerConfig['admin'], deps: { health: Health; metrics: Metrics }): Server | undefined {
  return admin.enabled ? createAdminServer(deps) : undefined
}

export async function listenAdmin (server: Server, admin: BouncerConfig['admin']): Promise<AddressInfo> {
  await new Promise<void>((resolve, reject) => {
    const onError = (e: Error): void => reject(new BouncerError('BOUNCER_ERR_PROXY_LISTEN', [`${admin.host}:${admin.port}`, e.message], { cause: e }))
    server.once('error', onError)
    server.listen(admin.port, admin.host, () => { server.off('error', onError); resolve() })
  })
  return server.address() as AddressInfo
}
