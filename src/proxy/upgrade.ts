// Upgrade requests (WebSocket and any other `Upgrade:`): normalised and evaluated exactly
// like ordinary requests, then tunnelled. The upstream's 101 head is relayed to the client
// and the two sockets are piped; a non-101 answer is relayed as an ordinary response.
import { randomUUID } from 'node:crypto'
import { request as httpRequest, STATUS_CODES, type IncomingMessage } from 'node:http'
import { request as httpsRequest } from 'node:https'
import type { Duplex } from 'node:stream'
import type { Logger } from 'pino'
import type { BouncerConfig } from '../config/index.js'
import type { Metrics } from '../metrics/index.js'
import type { Authenticator } from '../auth/index.js'
import type { Decide } from './engine.js'
import { HOP_BY_HOP, upstreamRequestHeaders } from './headers.js'
import { peerIp, prepareInput } from './handler.js'
import { denialReply, errorReply, writeRawReply } from './respond.js'
import type { TargetNormalizer } from './target.js'

export interface UpgradeDeps {
  readonly config: BouncerConfig
  readonly metrics: Metrics
  readonly log: Logger
  readonly decide: Decide
  readonly normalize: TargetNormalizer
  readonly auth?: Authenticator
  /** Open tunnels, so shutdown can close them. */
  readonly tunnels: Set<Duplex>
}

function rawHead (status: number, message: string | undefined, rawHeaders: string[], extra: ReadonlyArray<readonly [string, string | string[]]>, drop: ReadonlySet<string>): string {
  let head = `HTTP/1.1 ${status} ${message || STATUS_CODES[status] || ''}\r\n`
  for (let i = 0; i < rawHeaders.length; i += 2) {
    if (!drop.has(rawHeaders[i].toLowerCase())) head += `${rawHeaders[i]}: ${rawHeaders[i + 1]}\r\n`
  }
  for (const [n, v] of extra) for (const one of Array.isArray(v) ? v : [v]) head += `${n}: ${one}\r\n`
  return head
}

export function createUpgradeHandler (deps: UpgradeDeps): (req: IncomingMessage, socket: Duplex, head: Buffer) => void {
  const { config, metrics, log, decide, normalize, auth, tunnels } = deps
  const url = new URL(config.upstream.url!)
  const base = url.pathname.replace(/\/+$/, '')
  const doRequest = url.protocol === 'https:' ? httpsRequest : httpRequest
  const timeoutMs = config.upstream.timeout_seconds * 1000
  const headerOpts = { trustForwarded: config.server.trust_forwarded_headers, preserveHost: config.upstream.preserve_host, upgrade: true }
  // Relaying a non-101 answer over a connection we then close: framing headers go.
  const dropOnResponse = new Set([...HOP_BY_HOP, 'content-length'])
  const dropOn101 = new Set(['keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer'])
  const requestLog = log.child({}, { redact: { paths: [] } }) // only fields we set: no redaction pass

  return function handleUpgrade (req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const startNs = process.hrtime.bigint()
    const id = randomUUID()
    let outcome = 'client_aborted'
    let reason: string | undefined
    let logged = false
    const done = (status: number) => {
      if (logged) return
      logged = true
      metrics.websocketUpgrades.inc({ outcome })
      metrics.requests.inc({ decision: outcome === 'tunnelled' ? 'allow' : outcome, status: String(status) })
      requestLog.info({ id, method: req.method, path: target.ok ? target.path : undefined, upgrade: req.headers.upgrade, status, decision: outcome, reason, ms: Number(process.hrtime.bigint() - startNs) / 1e6 }, 'request')
    }
    socket.on('error', () => socket.destroy())
    const target = normalize(req.url ?? '')
    if (!target.ok) {
      outcome = 'rejected'; reason = target.reason
      metrics.rejected.inc({ reason: 'bad_target' })
      writeRawReply(socket, errorReply(config.path.reject_status, id))
      return done(config.path.reject_status)
    }

    void (async () => {
      const input = await prepareInput(req, target, id, auth, undefined)
      const r = await decide(input, { id, requestedBy: input.attributes.source.address, startNs })
      reason = r.reason
      const v = r.verdict
      if (v.kind === 'fail') {
        outcome = v.reason === 'no_policy' || v.reason === 'log_backpressure' ? 'unavailable' : 'policy_error'
        writeRawReply(socket, errorReply(v.status, id))
        return done(v.status)
      }
      if (v.kind === 'deny') {
        outcome = 'deny'
        writeRawReply(socket, denialReply(v.decision, id))
        return done(v.decision.status)
      }
      if (v.mask !== undefined) {
        // A tunnel cannot be masked: refuse rather than pass unmasked bytes.
        outcome = 'mask_failed'; reason = 'mask rules on an upgrade request'
        metrics.failClosed.inc({ reason: 'mask_unavailable' })
        writeRawReply(socket, errorReply(config.masking.fail_status, id))
        return done(config.masking.fail_status)
      }
      if (socket.destroyed) return done(0)
      const d = v.decision
      const headers = upstreamRequestHeaders(req.headers, { peerIp: peerIp(req), scheme: 'http', host: target.authority ?? req.headers.host }, headerOpts)
      for (const h of d.removeHeaders) delete headers[h]
      for (const [n, val] of d.headers) headers[n] = val
      if (!config.upstream.preserve_host) headers.host = url.host
      const upReq = doRequest({
        host: url.hostname.replace(/^\[|\]$/g, ''),
        port: url.port || (url.protocol === 'https:' ? 443 : 80),
        method: req.method,
        path: base + (target.query === '' ? target.path : `${target.path}?${target.query}`),
        headers,
        agent: false,
        timeout: timeoutMs,
      })
      let answered = false
      upReq.on('timeout', () => upReq.destroy(Object.assign(new Error('upstream timed out'), { code: 'ETIMEDOUT' })))
      upReq.on('error', (e: NodeJS.ErrnoException) => {
        if (answered) { socket.destroy(); return }
        answered = true
        const status = e.code === 'ETIMEDOUT' ? 504 : 502
        outcome = 'upstream_error'; reason = e.message
        metrics.upstreamErrors.inc({ reason: e.code === 'ETIMEDOUT' ? 'timeout' : e.code === 'ECONNREFUSED' ? 'connect' : 'other' })
        writeRawReply(socket, errorReply(status, id))
        done(status)
      })
      upReq.on('response', (upRes: IncomingMessage) => {
        answered = true
        outcome = 'allow'
        const headText = rawHead(upRes.statusCode ?? 502, upRes.statusMessage, upRes.rawHeaders, d.responseHeaders, dropOnResponse) + 'connection: close\r\n\r\n'
        socket.write(headText)
        upRes.pipe(socket)
        upRes.on('error', () => socket.destroy())
        done(upRes.statusCode ?? 0)
      })
      upReq.on('upgrade', (upRes: IncomingMessage, upSocket: Duplex, upHead: Buffer) => {
        answered = true
        outcome = 'tunnelled'
        upReq.setTimeout(0)
        if (socket.destroyed) { upSocket.destroy(); return done(0) }
        socket.write(rawHead(101, upRes.statusMessage, upRes.rawHeaders, d.responseHeaders, dropOn101) + '\r\n')
        if (upHead.length) socket.write(upHead)
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
      })
      upReq.end()
    })().catch((e: unknown) => {
      outcome = 'upstream_error'; reason = (e as Error).message
      log.error({ id, err: e }, 'unexpected error on the upgrade path')
      writeRawReply(socket, errorReply(500, id))
      done(500)
    })
  }
}
