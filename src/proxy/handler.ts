// The per-request path for ordinary HTTP requests (upgrades: upgrade.ts). Everything that
// can be prepared is prepared in createRequestHandler (rules, limits, label sets); the
// returned function does only per-request work.
import { randomUUID } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { pipeline, type Readable, type Writable } from 'node:stream'
import type { Logger } from 'pino'
import type { BouncerConfig } from '../config/index.js'
import { parseStrictJson } from '../masking/json.js'
import type { Metrics } from '../metrics/index.js'
import type { Authenticator } from '../auth/index.js'
import { BodyLimit, isJsonContentType, readPrefix, replay } from './body.js'
import { FAIL_CODES, type Decide } from './engine.js'
import type { ErrorCode } from '../errors.js'
import { classifyUpstreamError, type Forwarder } from './forward.js'
import { parseTraceparent } from '../decision-log/event.js'
import {
  MASK_REQUEST_DROP, MASK_RESPONSE_DROP, REQUEST_ID, clientRequestId, compileReserved, downstreamResponseHeaders, policyHeaders,
  privateCacheControl, upstreamRequestHeaders, type OutgoingHeaders, type RequestHeaderOptions,
} from './headers.js'
import { buildInput, formatAddress, type PolicyInput } from './input.js'
import { denialReply, errorReply, sendReply } from './respond.js'
import type { Masker } from './seams.js'
import type { Target } from './target.js'

/** Where rewriteUrl leaves the normalised target on the IncomingMessage. */
export const kTarget = Symbol('bouncer.target')
export type WithTarget = IncomingMessage & { [kTarget]?: Target }

export type Outcome = 'allow' | 'deny' | 'policy_error' | 'unavailable' | 'rejected' | 'upstream_error' | 'mask_failed' | 'client_aborted'

export interface HandlerDeps {
  readonly config: BouncerConfig
  readonly metrics: Metrics
  readonly log: Logger
  readonly decide: Decide
  readonly forwarder: Forwarder
  readonly auth?: Authenticator
  readonly masker?: Masker
}

export function peerIp (req: IncomingMessage): string {
  const ip = req.socket.remoteAddress ?? ''
  return ip.startsWith('::ffff:') && ip.includes('.') ? ip.slice(7) : ip
}

/** Header options for the request view, from config (compiled once per handler). */
export function requestHeaderOptions (config: BouncerConfig, upstreamHost: string): RequestHeaderOptions {
  return {
    trustForwarded: config.server.trust_forwarded_headers,
    preserveHost: config.upstream.preserve_host,
    upstreamHost,
    reserved: compileReserved(config.server.reserved_headers),
  }
}

/** The request id: the client's x-request-id when valid (see clientRequestId), else `fallback`. */
export function requestIdFor (req: IncomingMessage, reserved: RequestHeaderOptions['reserved'], fallback: string): string {
  return clientRequestId(req.headers, reserved) ?? fallback
}

/** Request log fields about the caller: the peer address (as attributes.source.address) and its User-Agent (capped). */
export function clientFields (req: IncomingMessage, socket: IncomingMessage['socket'] | null = req.socket): { client_addr?: string; user_agent?: string } {
  const ua = req.headers['user-agent']
  const ip = socket?.remoteAddress
  return {
    ...(ip === undefined ? {} : { client_addr: formatAddress(ip.startsWith('::ffff:') && ip.includes('.') ? ip.slice(7) : ip, socket!.remotePort) }),
    ...(ua === undefined ? {} : { user_agent: ua.length > 256 ? ua.slice(0, 256) : ua }),
  }
}

// Bytes read and written on an HTTP/1.x connection when its previous request's log line was
// written: the next request's bytes_in / bytes_out are counted from there (head and body on
// the wire; a pipelined request's first bytes may count toward the one before it).
const kWire = Symbol('bouncer.wireBytes')
type WireSocket = { bytesRead: number; bytesWritten: number; [kWire]?: { read: number; written: number } }

/** The W3C trace id of the request (for the request log line), when it carries a valid traceparent. */
export function traceIdOf (req: IncomingMessage): string | undefined {
  const tp = req.headers.traceparent
  return typeof tp === 'string' ? parseTraceparent(tp)?.trace_id : undefined
}

/**
 * Shared by HTTP and upgrade: the input built from the request view. `headers` is the view the
 * upstream will get (before the decision's edits); the policy and the authenticator see exactly
 * those headers, never the client's raw ones.
 */
export async function prepareInput (req: IncomingMessage, target: Target & { ok: true }, requestId: string, auth: Authenticator | undefined,
  parsedBody: unknown, view: Readonly<OutgoingHeaders>): Promise<PolicyInput> {
  const headers = policyHeaders(view)
  let identity: Readonly<Record<string, unknown>> | undefined
  let identityError: string | undefined
  if (auth) {
    const r = await auth.authenticate(headers)
    identity = r.identity
    identityError = r.error
  }
  const sock = req.socket
  return buildInput({
    id: requestId,
    method: req.method ?? 'GET',
    path: target.path,
    query: target.query,
    host: target.authority ?? req.headers.host ?? '',
    scheme: 'http',
    protocol: `HTTP/${req.httpVersion}`,
    headers,
    sourceAddress: formatAddress(peerIp(req), sock.remotePort),
    destinationAddress: formatAddress(sock.localAddress?.startsWith('::ffff:') ? sock.localAddress.slice(7) : sock.localAddress, sock.localPort),
  }, { parsedBody, identity, identityError })
}

export function createRequestHandler (deps: HandlerDeps): (req: WithTarget, res: ServerResponse) => void {
  const { config, metrics, log, decide, forwarder, auth, masker } = deps
  const maxBody = config.server.max_body_bytes
  const pb = config.policy.parsed_body
  const parseLimit = Math.min(pb.max_bytes, maxBody)
  // The per-request line carries only fields we set (never headers, never the query), so it
  // skips the redaction pass, which would triple its cost.
  const requestLog = log.child({}, { redact: { paths: [] } })
  const rejectStatus = config.path.reject_status
  const headerOpts = requestHeaderOptions(config, forwarder.authority)
  const maskFailStatus = config.masking.fail_status
  // Labelled children resolved once per label set (prom-client hashes label objects otherwise).
  const requestCounters = new Map<string, { inc: () => void }>()
  const countRequest = (decision: Outcome, status: number) => {
    const k = `${decision}|${status}`
    let c = requestCounters.get(k)
    if (!c) { c = metrics.requests.labels(decision, String(status)); requestCounters.set(k, c) }
    c.inc()
  }
  const durationByOutcome = new Map<Outcome, { observe: (v: number) => void }>()
  const observeDuration = (decision: Outcome, seconds: number) => {
    let h = durationByOutcome.get(decision)
    if (!h) { h = metrics.requestDuration.labels(decision); durationByOutcome.set(decision, h) }
    h.observe(seconds)
  }
  const upstreamOk = metrics.upstreamDuration.labels('ok')
  const upstreamHist = metrics.upstreamDuration

  return function handle (req: WithTarget, res: ServerResponse): void {
    const startNs = process.hrtime.bigint()
    // id: this decision (unique, the decision-log event's decision_id); requestId: the request
    // across services (the client's valid x-request-id, else the decision id).
    const id = randomUUID()
    const requestId = requestIdFor(req, headerOpts.reserved, id)
    let outcome: Outcome = 'client_aborted'
    let reason: string | undefined
    let code: ErrorCode | undefined
    let cached = false
    let upstreamMs: number | undefined
    let headSentNs: bigint | undefined
    const target: Target = req[kTarget] ?? { ok: false, reason: 'missing target' }
    // HTTP/2 streams share their session's socket: no per-request byte counts there.
    // The socket is read when the line is written, after the response may have released it.
    const socket = req.socket
    const wire = req.httpVersionMajor === 1 ? socket as unknown as WireSocket : undefined
    metrics.inflight.inc()
    res.once('close', () => {
      metrics.inflight.dec()
      const status = res.headersSent ? res.statusCode : 0
      const endNs = process.hrtime.bigint()
      countRequest(outcome, status)
      observeDuration(outcome, Number((headSentNs ?? endNs) - startNs) / 1e9)
      let bytesIn: number | undefined
      let bytesOut: number | undefined
      if (wire !== undefined) {
        const from = wire[kWire]
        const read = wire.bytesRead
        const written = wire.bytesWritten
        bytesIn = read - (from?.read ?? 0)
        bytesOut = written - (from?.written ?? 0)
        wire[kWire] = { read, written }
      }
      requestLog.info({
        id, request_id: requestId, trace_id: traceIdOf(req), method: req.method, path: target.ok ? target.path : undefined, status, decision: outcome, reason, code, cached,
        ms: Number(endNs - startNs) / 1e6, upstream_ms: upstreamMs, complete: res.writableFinished,
        ...clientFields(req, socket), bytes_in: bytesIn, bytes_out: bytesOut,
      }, 'request')
    })
    const te = req.headers['transfer-encoding']
    const clHeader = req.headers['content-length']
    const contentLength = clHeader === undefined ? undefined : Number(clHeader)
    const hasBody = te !== undefined || (contentLength !== undefined && contentLength > 0)

    const reject = (status: number, why: string, counter: string, errorCode: ErrorCode) => {
      outcome = 'rejected'
      reason = why
      code = errorCode
      metrics.rejected.inc({ reason: counter })
      // The body (if any) was not read: close the connection rather than drain it.
      sendReply(res, errorReply(status, requestId), hasBody)
    }

    if (req.httpVersionMajor !== 1) return reject(400, `unsupported HTTP version ${req.httpVersion}`, 'malformed', 'BOUNCER_ERR_PROXY_BAD_REQUEST')
    if (!target.ok) return reject(rejectStatus, target.reason, 'bad_target', target.reason.includes('query') ? 'BOUNCER_ERR_PROXY_BAD_QUERY' : 'BOUNCER_ERR_PROXY_BAD_PATH')
    const t = target
    if (contentLength !== undefined && contentLength > maxBody) return reject(413, `content-length ${contentLength} exceeds ${maxBody}`, 'body_too_large', 'BOUNCER_ERR_PROXY_BODY_TOO_LARGE')

    run().catch((e: unknown) => {
      outcome = 'upstream_error'
      reason = (e as Error).message
      log.error({ id, request_id: requestId, err: e }, 'unexpected error on the request path')
      sendReply(res, errorReply(500, requestId), true)
    })

    async function run (): Promise<void> {
      // 1. parsed_body: JSON only, bounded; the bytes read are forwarded unchanged.
      let parsedBody: unknown
      let body: Readable | Buffer | null = null
      if (hasBody && pb.enabled && isJsonContentType(req.headers['content-type'])) {
        if (contentLength !== undefined && contentLength > parseLimit && pb.over_limit === 'reject') {
          return reject(413, `JSON body over parsed_body.max_bytes (${pb.max_bytes})`, 'parsed_body_too_large', 'BOUNCER_ERR_PROXY_BODY_TOO_LARGE')
        }
        if (contentLength === undefined || contentLength <= parseLimit) {
          let prefix
          try { prefix = await readPrefix(req, parseLimit) } catch { outcome = 'client_aborted'; res.destroy(); return }
          if (prefix.complete) {
            body = prefix.body
            const parsed = parseStrictJson(prefix.body, 128)
            if (parsed.ok) parsedBody = parsed.value
            else if (pb.invalid_json === 'reject') { outcome = 'rejected'; reason = parsed.reason; code = 'BOUNCER_ERR_PROXY_BAD_BODY'; metrics.rejected.inc({ reason: 'invalid_json' }); return sendReply(res, errorReply(400, requestId)) }
          } else {
            if (pb.over_limit === 'reject') { req.resume(); return reject(413, `JSON body over parsed_body.max_bytes (${pb.max_bytes})`, 'parsed_body_too_large', 'BOUNCER_ERR_PROXY_BODY_TOO_LARGE') }
            body = replay(prefix.chunks, req)
            if (te !== undefined) body = body.pipe(new BodyLimit(maxBody))
          }
        }
      }
      if (body === null && hasBody) {
        if (te !== undefined) {
          const limit = new BodyLimit(maxBody)
          pipeline(req, limit, () => {})
          body = limit
        } else {
          body = req
        }
      }

      // 2. the request view (what the upstream will get), then decide on exactly that
      if (res.destroyed) return
      const headers: OutgoingHeaders = upstreamRequestHeaders(req.headers, {
        peerIp: peerIp(req), scheme: 'http', host: t.authority ?? req.headers.host, requestId,
      }, headerOpts)
      if (Buffer.isBuffer(body)) headers['content-length'] = String(body.length)
      const input = await prepareInput(req, t, requestId, auth, parsedBody, headers)
      const r = await decide(input, { id, requestedBy: input.attributes.source.address, startNs })
      cached = r.cached
      reason = r.reason
      const v = r.verdict
      if (v.kind === 'fail') {
        code = FAIL_CODES[v.reason]
        outcome = v.reason === 'no_policy' || v.reason === 'log_backpressure' ? 'unavailable' : v.reason === 'mask_unavailable' ? 'mask_failed' : 'policy_error'
        return sendReply(res, errorReply(v.status, requestId), hasBody && body !== null && !Buffer.isBuffer(body))
      }
      if (v.kind === 'deny') {
        outcome = 'deny'
        return sendReply(res, denialReply(v.decision, requestId), hasBody && body !== null && !Buffer.isBuffer(body))
      }

      // 3. forward
      outcome = 'allow'
      const d = v.decision
      for (const h of d.removeHeaders) delete headers[h]
      for (const [n, val] of d.headers) headers[n] = val
      // A masked response must be the whole current representation: a Range fragment would be
      // masked as if it were a document (and match no rule), a 304 answers an oracle question
      // about the unmasked body.
      if (v.mask !== undefined) for (const h of MASK_REQUEST_DROP) delete headers[h]
      const ac = new AbortController()
      res.once('close', () => { if (!res.writableFinished) ac.abort() })
      const upstreamReq = {
        method: req.method ?? 'GET',
        path: t.query === '' ? t.path : `${t.path}?${t.query}`,
        headers,
        body,
        signal: ac.signal,
      }
      const t0 = process.hrtime.bigint()
      const responseHeaders = d.responseHeaders
      try {
        if (v.mask !== undefined) {
          const up = await forwarder.request(upstreamReq)
          upstreamMs = Number(process.hrtime.bigint() - t0) / 1e6
          upstreamOk.observe(upstreamMs / 1000)
          if (up.statusCode === 206 || up.statusCode === 304) {
            // Never relayed, even though the conditional headers were removed: fail closed.
            up.body.on('error', () => {}).destroy()
            outcome = 'mask_failed'
            reason = `upstream answered ${up.statusCode} to a masked request`
            code = 'BOUNCER_ERR_PROXY_MASK_PARTIAL'
            metrics.maskedResponses.inc({ outcome: 'failed' })
            metrics.failClosed.inc({ reason: 'mask_failed' })
            log.warn({ id, request_id: requestId, status: up.statusCode }, 'fail closed: partial or not-modified response to a masked request')
            return sendReply(res, errorReply(maskFailStatus, requestId))
          }
          const tm = process.hrtime.bigint()
          let masked
          try {
            masked = await masker!.apply(up, v.mask, { method: upstreamReq.method })
          } catch (e) {
            up.body.destroy()
            outcome = 'mask_failed'
            reason = (e as Error).message
            code = typeof (e as { code?: unknown }).code === 'string' && String((e as { code: string }).code).startsWith('BOUNCER_ERR_')
              ? (e as { code: ErrorCode }).code
              : 'BOUNCER_ERR_PROXY_MASK_FAILED'
            metrics.maskedResponses.inc({ outcome: 'failed' })
            metrics.failClosed.inc({ reason: 'mask_failed' })
            log.warn({ id, request_id: requestId, error: reason }, 'fail closed: response could not be masked')
            const status = typeof (e as { statusCode?: unknown }).statusCode === 'number' ? (e as { statusCode: number }).statusCode : maskFailStatus
            return sendReply(res, errorReply(status, requestId))
          }
          metrics.maskedResponses.inc({ outcome: 'masked' })
          metrics.maskDuration.observe(Number(process.hrtime.bigint() - tm) / 1e9)
          const out = downstreamResponseHeaders(masked.headers)
          for (const [n, val] of responseHeaders) out[n] = val
          // Applied last, over the upstream's and the policy's own headers: a masked view is
          // per caller and must not be served to anyone else by a shared cache.
          out['cache-control'] = privateCacheControl(out['cache-control'])
          // Validators and ranges describe the unmasked representation.
          for (const h of MASK_RESPONSE_DROP) delete out[h]
          out[REQUEST_ID] = requestId
          out['content-length'] = String(masked.body.length)
          if (res.destroyed) return
          headSentNs = process.hrtime.bigint()
          res.writeHead(masked.statusCode, out)
          res.end(masked.body)
          return
        }
        await forwarder.stream(upstreamReq, (head): Writable => {
          upstreamMs = Number(process.hrtime.bigint() - t0) / 1e6
          upstreamOk.observe(upstreamMs / 1000)
          const out = downstreamResponseHeaders(head.headers)
          for (const [n, val] of responseHeaders) out[n] = val
          out[REQUEST_ID] = requestId
          headSentNs = process.hrtime.bigint()
          res.writeHead(head.statusCode, out)
          return res
        })
      } catch (e) {
        if (ac.signal.aborted && !res.headersSent) { outcome = 'client_aborted'; return }
        const { kind, status } = classifyUpstreamError(e)
        if (kind === 'body_too_large') {
          outcome = 'rejected'
          reason = `request body exceeds ${maxBody} bytes`
          code = 'BOUNCER_ERR_PROXY_BODY_TOO_LARGE'
          metrics.rejected.inc({ reason: 'body_too_large' })
          return sendReply(res, errorReply(413, requestId), true)
        }
        if (upstreamMs === undefined) upstreamHist.observe({ outcome: kind }, Number(process.hrtime.bigint() - t0) / 1e9)
        metrics.upstreamErrors.inc({ reason: kind })
        outcome = 'upstream_error'
        reason = `upstream ${kind}: ${(e as Error).message}`
        code = status === 504 ? 'BOUNCER_ERR_PROXY_UPSTREAM_TIMEOUT' : 'BOUNCER_ERR_PROXY_UPSTREAM_FAILED'
        log.warn({ id, request_id: requestId, kind, err: (e as Error).message, sent: res.headersSent }, 'upstream failure')
        // Once the head is out, the only honest signal left is to cut the connection.
        if (res.headersSent) res.destroy()
        else sendReply(res, errorReply(status, requestId), true)
      }
    }
  }
}
