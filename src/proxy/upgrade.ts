// Upgrade requests. Only protocols in server.upgrade.allowed (default websocket; h2c never) are
// tunnelled: normalised and evaluated exactly like ordinary requests, then forwarded through the
// same undici Pool as HTTP (same TLS and timeouts). The upstream's 101 head is relayed and the
// two sockets are piped; a non-101 answer is relayed as an ordinary response.
//
// Any other Upgrade (h2c above all: HTTP/2 requests inside the tunnel would never be evaluated)
// is not an upgrade for us: the request is answered as plain HTTP/1.1 by the ordinary request
// handler, with Upgrade, Connection and HTTP2-Settings removed like every hop-by-hop header, and
// the connection is closed after the response (RFC 9110 §7.8 lets a server ignore Upgrade; this
// is what h2c clients such as `curl --http2` expect). Node has already handed the socket over as
// an upgrade, so a body cannot be re-framed: such a request with a body is refused with 400.
import { randomUUID } from 'node:crypto'
import { ServerResponse, STATUS_CODES, type IncomingMessage } from 'node:http'
import type { Socket } from 'node:net'
import type { Duplex } from 'node:stream'
import type { Logger } from 'pino'
import type { BouncerConfig } from '../config/index.js'
import type { Metrics } from '../metrics/index.js'
import type { Authenticator } from '../auth/index.js'
import type { ErrorCode } from '../errors.js'
import { FAIL_CODES, type Decide } from './engine.js'
import { classifyUpstreamError, type Forwarder } from './forward.js'
import { HOP_BY_HOP, REQUEST_ID, upstreamRequestHeaders } from './headers.js'
import { clientFields, kTarget, peerIp, prepareInput, requestHeaderOptions, requestIdFor, traceIdOf, type WithTarget } from './handler.js'
import { denialReply, errorReply, writeRawReply } from './respond.js'
import type { TargetNormalizer } from './target.js'
import type { HeaderList } from './decision.js'

export interface UpgradeDeps {
  readonly config: BouncerConfig
  readonly metrics: Metrics
  readonly log: Logger
  readonly decide: Decide
  readonly normalize: TargetNormalizer
  readonly forwarder: Forwarder
  /** The ordinary request handler: Upgrades to protocols that are not allowed are answered through it. */
  readonly http: (req: WithTarget, res: ServerResponse) => void
  readonly auth?: Authenticator
  /** Open tunnels, so shutdown can close them. */
  readonly tunnels: Set<Duplex>
}

/** Protocol names in an Upgrade value ("websocket", "h2c", "foo/2" → "foo"), lower-case. */
export function upgradeProtocols (value: string | undefined): string[] {
  if (value === undefined) return []
  const out: string[] = []
  for (const part of value.split(',')) {
    const p = part.trim().toLowerCase()
    if (p) out.push(p.split('/', 1)[0].trim())
  }
  return out
}

/** Compiled once: true when every protocol the Upgrade value names may be tunnelled. */
export function compileUpgradePolicy (allowed: readonly string[]): (value: string | undefined) => boolean {
  const ok = new Set(allowed.map((a) => a.toLowerCase()).filter((a) => a !== 'h2c'))
  return (value) => {
    const ps = upgradeProtocols(value)
    return ps.length > 0 && ps.every((p) => ok.has(p))
  }
}

function rawHead (status: number, message: string | undefined, rawHeaders: readonly string[], extra: HeaderList, drop: ReadonlySet<string>): string {
  let head = `HTTP/1.1 ${status} ${message || STATUS_CODES[status] || ''}\r\n`
  for (let i = 0; i < rawHeaders.length; i += 2) {
    if (!drop.has(rawHeaders[i].toLowerCase())) head += `${rawHeaders[i]}: ${rawHeaders[i + 1]}\r\n`
  }
  for (const [n, v] of extra) for (const one of Array.isArray(v) ? v : [v]) head += `${n}: ${one}\r\n`
  return head
}

function headerValue (rawHeaders: readonly string[], name: string): string | undefined {
  for (let i = 0; i < rawHeaders.length; i += 2) if (rawHeaders[i].toLowerCase() === name) return rawHeaders[i + 1]
  return undefined
}

export function createUpgradeHandler (deps: UpgradeDeps): (req: IncomingMessage, socket: Duplex, head: Buffer) => void {
  const { config, metrics, log, decide, normalize, forwarder, http, auth, tunnels } = deps
  const headerOpts = requestHeaderOptions(config, forwarder.authority)
  const tunnelled = compileUpgradePolicy(config.server.upgrade.allowed)
  // Relaying a non-101 answer over a connection we then close: framing headers go (and so does
  // the upstream's x-request-id: ours is added).
  const dropOnResponse = new Set([...HOP_BY_HOP, 'content-length', REQUEST_ID])
  const dropOn101 = new Set(['keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', REQUEST_ID])
  const requestLog = log.child({}, { redact: { paths: [] } }) // only fields we set: no redaction pass

  /** An Upgrade we do not tunnel: the ordinary handler answers it over this socket, then it closes. */
  function asPlainHttp (req: IncomingMessage, socket: Duplex): void {
    const te = req.headers['transfer-encoding']
    const cl = req.headers['content-length']
    if (te !== undefined || (cl !== undefined && cl !== '0')) {
      const id = randomUUID()
      const requestId = requestIdFor(req, headerOpts.reserved, id)
      const code: ErrorCode = 'BOUNCER_ERR_PROXY_UPGRADE_REFUSED'
      metrics.rejected.inc({ reason: 'upgrade_refused' })
      metrics.requests.inc({ decision: 'rejected', status: '400' })
      writeRawReply(socket, errorReply(400, requestId))
      requestLog.info({ id, request_id: requestId, trace_id: traceIdOf(req), method: req.method, upgrade: req.headers.upgrade, status: 400, decision: 'rejected', reason: 'request body with an Upgrade that is not tunnelled', code, ...clientFields(req) }, 'request')
      return
    }
    ;(req as WithTarget)[kTarget] = normalize(req.url ?? '')
    const res = new ServerResponse(req)
    res.shouldKeepAlive = false
    res.assignSocket(socket as Socket)
    let closed = false
    res.on('close', () => { closed = true })
    res.once('finish', () => {
      res.detachSocket(socket as Socket)
      socket.end()
      // Node's server emits 'close' on a finished response; this one is not the server's.
      process.nextTick(() => { if (!closed) res.emit('close') })
    })
    http(req as WithTarget, res)
  }

  return function handleUpgrade (req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => socket.destroy())
    if (!tunnelled(req.headers.upgrade)) return asPlainHttp(req, socket)

    const startNs = process.hrtime.bigint()
    const id = randomUUID()
    const requestId = requestIdFor(req, headerOpts.reserved, id)
    let outcome = 'client_aborted'
    let reason: string | undefined
    let code: ErrorCode | undefined
    let logged = false
    const done = (status: number) => {
      if (logged) return
      logged = true
      metrics.websocketUpgrades.inc({ outcome })
      metrics.requests.inc({ decision: outcome === 'tunnelled' ? 'allow' : outcome, status: String(status) })
      requestLog.info({
        id, request_id: requestId, trace_id: traceIdOf(req), method: req.method, path: target.ok ? target.path : undefined,
        upgrade: req.headers.upgrade, status, decision: outcome, reason, code, ms: Number(process.hrtime.bigint() - startNs) / 1e6,
        ...clientFields(req),
      }, 'request')
    }
    const target = normalize(req.url ?? '')
    if (!target.ok) {
      outcome = 'rejected'; reason = target.reason
      code = target.reason.includes('query') ? 'BOUNCER_ERR_PROXY_BAD_QUERY' : 'BOUNCER_ERR_PROXY_BAD_PATH'
      metrics.rejected.inc({ reason: 'bad_target' })
      writeRawReply(socket, errorReply(config.path.reject_status, requestId))
      return done(config.path.reject_status)
    }
    const ac = new AbortController()
    socket.once('close', () => ac.abort())

    void (async () => {
      const upgrade = req.headers.upgrade!
      const headers = upstreamRequestHeaders(req.headers, {
        peerIp: peerIp(req), scheme: 'http', host: target.authority ?? req.headers.host, requestId, upgrade,
      }, headerOpts)
      const input = await prepareInput(req, target, requestId, auth, undefined, headers)
      const r = await decide(input, { id, requestedBy: input.attributes.source.address, startNs })
      reason = r.reason
      const v = r.verdict
      if (v.kind === 'fail') {
        outcome = v.reason === 'no_policy' || v.reason === 'log_backpressure' ? 'unavailable' : 'policy_error'
        code = FAIL_CODES[v.reason]
        writeRawReply(socket, errorReply(v.status, requestId))
        return done(v.status)
      }
      if (v.kind === 'deny') {
        outcome = 'deny'
        writeRawReply(socket, denialReply(v.decision, requestId))
        return done(v.decision.status)
      }
      if (v.mask !== undefined) {
        // A tunnel cannot be masked: refuse rather than pass unmasked bytes.
        outcome = 'mask_failed'; reason = 'mask rules on an upgrade request'; code = 'BOUNCER_ERR_PROXY_MASK_UNAVAILABLE'
        metrics.failClosed.inc({ reason: 'mask_unavailable' })
        writeRawReply(socket, errorReply(config.masking.fail_status, requestId))
        return done(config.masking.fail_status)
      }
      if (socket.destroyed) return done(0)
      const d = v.decision
      for (const h of d.removeHeaders) delete headers[h]
      for (const [n, val] of d.headers) headers[n] = val
      const extra: HeaderList = [...d.responseHeaders, [REQUEST_ID, requestId]]

      let up
      try {
        up = await forwarder.upgrade({
          method: req.method ?? 'GET',
          path: target.query === '' ? target.path : `${target.path}?${target.query}`,
          headers,
          signal: ac.signal,
        }, upgrade)
      } catch (e) {
        if (socket.destroyed) return done(0)
        const { kind, status } = classifyUpstreamError(e)
        outcome = 'upstream_error'; reason = `upstream ${kind}: ${(e as Error).message}`
        code = status === 504 ? 'BOUNCER_ERR_PROXY_UPSTREAM_TIMEOUT' : 'BOUNCER_ERR_PROXY_UPSTREAM_FAILED'
        metrics.upstreamErrors.inc({ reason: kind })
        writeRawReply(socket, errorReply(status, requestId))
        return done(status)
      }

      if (up.kind === 'response') {
        outcome = 'allow'
        if (socket.destroyed) { up.body.destroy(); return done(0) }
        socket.write(rawHead(up.statusCode, up.statusText, up.rawHeaders, extra, dropOnResponse) + 'connection: close\r\n\r\n')
        up.body.on('error', () => socket.destroy())
        up.body.pipe(socket)
        return done(up.statusCode)
      }

      const upSocket = up.socket
      // The upstream must switch to what was asked for (and allowed), nothing else.
      if (!tunnelled(headerValue(up.rawHeaders, 'upgrade'))) {
        upSocket.destroy()
        outcome = 'upstream_error'; reason = `upstream switched to ${JSON.stringify(headerValue(up.rawHeaders, 'upgrade') ?? '')}`
        code = 'BOUNCER_ERR_PROXY_UPSTREAM_FAILED'
        metrics.upstreamErrors.inc({ reason: 'other' })
        writeRawReply(socket, errorReply(502, requestId))
        return done(502)
      }
      outcome = 'tunnelled'
      if (socket.destroyed) { upSocket.destroy(); return done(0) }
      socket.write(rawHead(101, undefined, up.rawHeaders, extra, dropOn101) + '\r\n')
      if (head.length) upSocket.write(head)
      tunnels.add(socket)
      metrics.websocketOpen.inc()
      let closed = false
      const close = () => {
        if (closed) return
        closed = true
        tunnels.delete(socket)
        metrics.websocketOpen.dec()
        socket.destroy()
        upSocket.destroy()
      }
      socket.on('close', close); upSocket.on('close', close)
      socket.on('error', close); upSocket.on('error', close)
      socket.pipe(upSocket)
      upSocket.pipe(socket)
      done(101)
    })().catch((e: unknown) => {
      outcome = 'upstream_error'; reason = (e as Error).message
      log.error({ id, request_id: requestId, err: e }, 'unexpected error on the upgrade path')
      writeRawReply(socket, errorReply(500, requestId))
      done(500)
    })
  }
}
