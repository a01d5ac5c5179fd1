// The request pipeline: one sequence for every exchange — target → input → decide → apply
// decision → forward → respond → account — used by HTTP/1.1 requests and by upgrades (the
// same steps; an upgrade forwards through the same Pool and answers on the raw socket). It is
// written against ClientRequest / ClientResponse (exchange.ts), which node's HTTP/2
// compatibility objects also are, so HTTP/2 streams can go through the same function.
// Everything that can be prepared is prepared in createPipeline (rules, limits, label children);
// the returned handlers do only per-request work.
//
// Upgrades: only protocols in server.upgrade.allowed (default websocket; h2c never) are
// tunnelled: normalised and evaluated exactly like ordinary requests, then forwarded through the
// same undici Pool as HTTP (same TLS and timeouts). The upstream's 101 head is relayed and the
// two sockets are piped; a non-101 answer is relayed as an ordinary response. Any other Upgrade
// (h2c above all: HTTP/2 requests inside the tunnel would never be evaluated) is not an upgrade
// for us: the request is answered as plain HTTP/1.1 by the ordinary request path, with Upgrade,
// Connection and HTTP2-Settings removed like every hop-by-hop header, and the connection is
// closed after the response (RFC 9110 §7.8 lets a server ignore Upgrade). Node has already
// handed the socket over as an upgrade, so a body cannot be re-framed: such a request with a
// body is refused with 400.
import { randomUUID } from 'node:crypto'
import { METHODS, type IncomingMessage } from 'node:http'
import { ServerResponse } from '../node-http.js'
import type { Socket } from 'node:net'
import { pipeline as pipe, type Duplex, type Readable } from 'node:stream'
import type { Logger } from 'pino'
import type { Authenticator } from '../auth/index.js'
import type { BouncerConfig } from '../config/index.js'
import { BouncerError, type ErrorCode } from '../errors.js'
import { parseStrictJson } from '../masking/json.js'
import type { Metrics } from '../metrics/index.js'
import { createAccounting, peerIp } from './accounting.js'
import { BodyLimit, contentCodingOf, foreignCharsetOf, isJsonContentType, isWildcardContentType, mayBeWideJson, readPrefix, replay } from './body.js'
import { BodyBudget, type BodyLease } from './body-budget.js'
import { admit, behindClose, inTurn, MAX_WAITING, turnDone } from './connection-order.js'
import type { HeaderList } from './decision.js'
import type { Decide, Verdict } from './engine.js'
import { applyDecision, codeOf, Exchange, outcomeOf, type ClientRequest, type ClientResponse } from './exchange.js'
import { classifyUpstreamError, SendTimeoutError, type Forwarder, type RelayTarget } from './forward.js'
import { GrpcStatus, grpcDenialReply, grpcErrorReply, isGrpcContentType, sendGrpcReply, type GrpcForwarder } from './grpc.js'
import { connectionFacts, isHttp2, schemeOf, type ConnectionFacts, type ProxyRequest } from './listener.js'
import {
  HOP_BY_HOP, isMaskedResponseDrop, REQUEST_ID, clientRequestId, compileReserved, downstreamResponseHeaders, policyHeaders,
  foldForHttp2, foldObjectForHttp2, privateCacheControl, responseHead, upstreamRequestHeaders, type OutgoingHeaders, type RequestHeaderOptions,
} from './headers.js'
import { readHeaderValues } from './header-charset.js'
import { buildInput, formatAddress, type PolicyInput } from './input.js'
import { afterPendingAnswers, denialReply, discardInput, endAndReap, errorReply, sendReply, writeRawReply, type Reply } from './respond.js'
import type { Masker } from './seams.js'
import { withHost, type Target, type TargetNormalizer } from './target.js'
import { compileUpgradePolicy, headerValue, rawHead, upgradeAnswered } from './upgrade.js'
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2'

export interface PipelineDeps {
  readonly config: BouncerConfig
  readonly metrics: Metrics
  readonly log: Logger
  readonly decide: Decide
  readonly normalize: TargetNormalizer
  readonly forwarder: Forwarder
  readonly auth?: Authenticator
  readonly masker?: Masker
  /** gRPC calls (HTTP/2, content-type application/grpc*) go here; without it they are refused (UNIMPLEMENTED). */
  readonly grpc?: GrpcForwarder
  /** Open tunnels, so shutdown can close them. */
  readonly tunnels: Set<Duplex>
}

export interface Pipeline {
  /** Every request (the proxy port's request listener). */
  onRequest (req: ClientRequest, res: ClientResponse): void
  /** HTTP/1.1 requests carrying Upgrade. */
  onUpgrade (req: IncomingMessage, socket: Duplex, head: Buffer): void
}

/** Header options for the request view, from config (compiled once). */
function requestHeaderOptions (config: BouncerConfig, upstreamHost: string): RequestHeaderOptions {
  return {
    trustForwarded: config.server.trust_forwarded_headers,
    underscores: config.server.underscore_headers,
    preserveHost: config.upstream.preserve_host,
    upstreamHost,
    reserved: compileReserved(config.server.reserved_headers),
    ...(config.auth.jwt.enabled ? { authHeader: config.auth.jwt.header.toLowerCase() } : {}),
  }
}

// The methods Node's HTTP/1.1 parser accepts (upper case, a fixed list).
const HTTP1_METHODS: ReadonlySet<string> = new Set(METHODS)
const BAD_TARGET_QUERY: ErrorCode = 'BOUNCER_ERR_PROXY_BAD_QUERY'
const BAD_TARGET_PATH: ErrorCode = 'BOUNCER_ERR_PROXY_BAD_PATH'
/** The error code of a refused target (path, query, or the Host it is for). */
const badTargetCode = (reason: string): ErrorCode =>
  reason.includes('query') ? BAD_TARGET_QUERY : reason.includes('Host') ? 'BOUNCER_ERR_PROXY_BAD_REQUEST' : BAD_TARGET_PATH

export function createPipeline (deps: PipelineDeps): Pipeline {
  const { config, log, decide, normalize, forwarder, auth, masker, tunnels, grpc } = deps
  const acct = createAccounting(deps.metrics, log)
  const maxBody = config.server.max_body_bytes
  const pb = config.policy.parsed_body
  const parseLimit = Math.min(pb.max_bytes, maxBody)
  const bodyBudget = new BodyBudget(pb.max_buffered_bytes, (used) => deps.metrics.parsedBodyBuffered.set(used))
  const maskBudget = new BodyBudget(config.masking.max_buffered_bytes, (used) => deps.metrics.maskBuffered.set(used))
  const rejectStatus = config.path.reject_status
  const headerCharset = config.server.header_charset
  const sendTimeoutMs = config.server.send_timeout_seconds * 1000
  // server.max_inflight_requests: exchanges held at once, all connections together.
  const maxInflight = config.server.max_inflight_requests
  let inflight = 0
  const headerOpts = requestHeaderOptions(config, forwarder.authority)
  // A gRPC call goes to upstream.http2.url: without preserve_host its Host (:authority) is that
  // upstream's, not the HTTP upstream's (review helper: an authority-routing proxy in front of
  // the gRPC backend misrouted such calls).
  const grpcHeaderOpts = grpc === undefined ? headerOpts : { ...headerOpts, upstreamHost: grpc.authority }
  const reserved = headerOpts.reserved
  const maskFailStatus = config.masking.fail_status
  const tunnelled = compileUpgradePolicy(config.server.upgrade.allowed)
  // Relaying a non-101 answer over a connection we then close: framing headers go (and so does
  // the upstream's x-request-id: ours is added).
  const dropOnResponse = new Set([...HOP_BY_HOP, 'content-length', REQUEST_ID])
  const dropOn101 = new Set(['keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', REQUEST_ID])

  // --- target: the exchange record, with the canonical target ---
  function begin (req: ClientRequest, target: Target): Exchange {
    const id = randomUUID()
    return new Exchange(process.hrtime.bigint(), id, clientRequestId(req.headers, reserved) ?? id, target)
  }

  // --- input and decide (shared): the input is built from the request view, the headers the
  // upstream will get before the decision's edits; the policy and the authenticator see exactly
  // those headers, never the client's raw ones ---
  async function decideOn (x: Exchange, req: ClientRequest, target: Target & { ok: true }, headers: Record<string, string>, parsedBody: unknown,
    conn: ConnectionFacts): Promise<Verdict> {
    let identity: Readonly<Record<string, unknown>> | undefined
    let identityError: string | undefined
    if (auth) {
      const r = await auth.authenticate(headers)
      identity = r.identity
      identityError = r.error
    }
    const sock = req.socket
    const input: PolicyInput = buildInput({
      id: x.requestId,
      method: req.method ?? 'GET',
      path: target.path,
      query: target.query,
      // No Host at all (HTTP/1.0): the one forwarded (the upstream's authority), so that
      // http.host, headers.host and the upstream's Host agree.
      host: target.authority ?? hostOf(req) ?? headers.host ?? '',
      scheme: conn.scheme,
      protocol: conn.protocol,
      headers,
      sourceAddress: formatAddress(peerIp(req), sock.remotePort),
      destinationAddress: formatAddress(sock.localAddress?.startsWith('::ffff:') ? sock.localAddress.slice(7) : sock.localAddress, sock.localPort),
      ...(conn.principal !== undefined ? { sourcePrincipal: conn.principal, sourceCertificate: conn.certificate } : {}),
      ...(conn.sni !== undefined ? { sni: conn.sni } : {}),
    }, { parsedBody, identity, identityError })
    const r = await decide(input, { id: x.id, requestedBy: input.attributes.source.address, startNs: x.startNs })
    x.cached = r.cached
    x.reason = r.reason
    x.outcome = outcomeOf(r.verdict)
    x.code = codeOf(r.verdict)
    return r.verdict
  }

  /** The reply for a verdict that does not forward (fail or deny). */
  function verdictReply (v: Verdict & { kind: 'fail' | 'deny' }, requestId: string): Reply {
    return v.kind === 'fail' ? errorReply(v.status, requestId) : denialReply(v.decision, requestId)
  }

  // ===================== HTTP requests =====================

  function onRequest (req: ClientRequest, res: ClientResponse): void {
    if (isHttp2(req as ProxyRequest) || req.httpVersionMajor !== 1) { handleRequest(req, res); return }
    // HTTP/1.1: one request of a connection at a time, in order (see connection-order.ts). Node
    // hands over pipelined requests as fast as it parses them: one connection opened 100,000
    // exchanges at once from 4.4 MB of input (RSS past 1 GiB, review helper).
    const socket = req.socket as unknown as { destroyed: boolean; destroy (): void }
    // Cut (too many waiting): what Node still parses from the same read is dropped quietly.
    if (socket.destroyed) return
    admit(socket, res)
    if (!inTurn(socket, () => handleRequest(req, res))) {
      acct.rejected('pipeline_depth')
      log.info({ remote: req.socket.remoteAddress, waiting: MAX_WAITING }, 'connection closed: too many pipelined requests waiting')
      socket.destroy()
    }
  }

  function handleRequest (req: ClientRequest, res: ClientResponse): void {
    const x = begin(req, withHost(normalize(req.url ?? ''), hostOf(req), schemeOf(req as ProxyRequest)))
    const h2 = isHttp2(req as ProxyRequest)
    const http1 = !h2 && req.httpVersionMajor === 1
    // gRPC: an HTTP/2 stream with a gRPC content type (gRPC-Web is plain HTTP). Every answer
    // the bouncer writes for it is a gRPC status.
    // (Not for CONNECT: a gRPC error reply is :status 200, which to CONNECT means "tunnel established".)
    const grpcCall = h2 && req.method !== 'CONNECT' && isGrpcContentType(req.headers['content-type'])
    // The socket is read when the line is written, after the response may have released it.
    const socket = req.socket
    // Received after a request answered with Connection: close: never processed (Node closes
    // the connection once that answer is written).
    if (http1 && behindClose(res)) { log.debug({ id: x.id, request_id: x.requestId }, 'pipelined request after a closing answer ignored'); return }
    const wire = acct.wireOf(req)
    acct.inflight.inc()
    inflight++
    // The exchange's one 'close' listener: account, and stop the upstream request if the
    // response did not complete.
    res.once('close', () => {
      acct.inflight.dec()
      inflight--
      // HTTP/2: a client's RST_STREAM ends the stream's writable side too, so writableFinished
      // says nothing about it; the request's `aborted` does.
      const complete = res.writableFinished && !(h2 && (req as unknown as Http2ServerRequest).aborted)
      if (!complete) x.gone()
      acct.request(x, req, socket, res.headersSent ? res.statusCode : 0, complete, wire)
      // The connection's next pipelined request, if one waits (one listener, not a second).
      if (http1) turnDone(socket)
    })
    // A reset stream stops the upstream request at once (while the decision is pending, before
    // it is sent), as a closed HTTP/1.1 connection does.
    if (h2) {
      req.once('aborted', () => x.gone())
      if ((req as unknown as Http2ServerRequest).aborted) x.gone()
    }
    const te = req.headers['transfer-encoding']
    const clHeader = req.headers['content-length']
    const contentLength = clHeader === undefined ? undefined : Number(clHeader)
    // An HTTP/2 stream has a body unless its HEADERS frame ended it; without content-length its
    // length is unknown, as with chunked (the limit is counted as it streams).
    const hasBody = h2
      ? !(req as unknown as Http2ServerRequest).stream.endAfterHeaders && contentLength !== 0
      : te !== undefined || (contentLength !== undefined && contentLength > 0)
    const chunked = te !== undefined || (h2 && hasBody && contentLength === undefined)

    const reject = (status: number, why: string, counter: string, code: ErrorCode): void => {
      x.fail('rejected', why, code)
      acct.rejected(counter)
      if (grpcCall) return sendGrpcReply(res as unknown as Http2ServerResponse, grpcErrorReply(status, x.requestId))
      // The body (if any) was not read: close the connection rather than drain it.
      sendReply(res, errorReply(status, x.requestId), hasBody && http1)
    }

    // Over the process's cap: refused before anything is read, decided or sent.
    if (maxInflight > 0 && inflight > maxInflight) return reject(503, `more than ${maxInflight} requests in flight (server.max_inflight_requests)`, 'max_inflight', 'BOUNCER_ERR_PROXY_OVERLOADED')
    if (!http1 && !h2) return reject(400, `unsupported HTTP version ${req.httpVersion}`, 'malformed', 'BOUNCER_ERR_PROXY_BAD_REQUEST')
    if (http1 && manyHosts(req.rawHeaders)) return reject(400, 'more than one Host header', 'malformed', 'BOUNCER_ERR_PROXY_BAD_REQUEST')
    // RFC 9112 §6.1: an HTTP/1.0 message with Transfer-Encoding has faulty framing (nginx: 400);
    // what follows the chunked body must not be read as another request.
    if (http1 && te !== undefined && req.httpVersionMinor === 0) return reject(400, 'Transfer-Encoding in an HTTP/1.0 request', 'malformed', 'BOUNCER_ERR_PROXY_BAD_REQUEST')
    // Node's parser takes a coding before the final chunked (gzip, chunked) and removes only the
    // chunking; forwarded as is, the upstream would read coded bytes as the body with nothing to
    // say so. RFC 9112 §6.1: a transfer coding the server does not understand gets 501.
    if (http1 && te !== undefined && !onlyChunked(te)) return reject(501, `transfer coding ${JSON.stringify(te.slice(0, 64))} is not supported (only chunked)`, 'malformed', 'BOUNCER_ERR_PROXY_BAD_REQUEST')
    // HTTP/2: a Host naming another authority than :authority is malformed (RFC 9113 §8.3.1);
    // the policy judged Host, and anything in front that routes by :authority went elsewhere.
    if (h2 && conflictingAuthority(req.headers, schemeOf(req as ProxyRequest))) return reject(400, 'Host differs from :authority', 'malformed', 'BOUNCER_ERR_PROXY_BAD_REQUEST')
    // CONNECT asks for a tunnel to any host: never proxied, whatever its target form (an
    // origin-form CONNECT /x was judged as a request for /x, then failed at the forwarder).
    if (req.method === 'CONNECT') return reject(rejectStatus, 'CONNECT (a tunnel to another host) is not proxied', 'bad_target', 'BOUNCER_ERR_PROXY_BAD_REQUEST')
    // HTTP/2 carries any token as :method; HTTP/1.1's parser takes only the methods it knows,
    // in upper case. `delete` is not DELETE to a policy, but frameworks that upper-case the
    // method (Werkzeug) would route it as DELETE: over HTTP/2, the same methods as HTTP/1.1.
    if (h2 && !HTTP1_METHODS.has(req.method ?? '')) return reject(400, `method ${JSON.stringify((req.method ?? '').slice(0, 32))} is not one HTTP/1.1 accepts`, 'malformed', 'BOUNCER_ERR_PROXY_BAD_REQUEST')
    // HTTP/2 names the authority in :authority and gives :path as an absolute path for http(s)
    // (RFC 9113 §8.3.1). nghttp2 holds only http and https to that: with another :scheme an
    // absolute-form :path (`http://admin.test/x`) replaced :authority past the check above.
    if (h2) {
      const scheme = req.headers[':scheme']
      if (scheme !== 'http' && scheme !== 'https') return reject(400, `:scheme ${JSON.stringify(String(scheme).slice(0, 32))} (only http and https are proxied)`, 'malformed', 'BOUNCER_ERR_PROXY_BAD_REQUEST')
      if (!(req.url ?? '').startsWith('/')) return reject(rejectStatus, ':path is not an absolute path', 'bad_target', 'BOUNCER_ERR_PROXY_BAD_PATH')
    }
    const t = x.target
    if (!t.ok) return reject(rejectStatus, t.reason, 'bad_target', badTargetCode(t.reason))
    if (contentLength !== undefined && contentLength > maxBody) return reject(413, `content-length ${contentLength} exceeds ${maxBody}`, 'body_too_large', 'BOUNCER_ERR_PROXY_BODY_TOO_LARGE')

    exchange(x, req, res, t, chunked, contentLength, hasBody, reject, grpcCall).catch((e: unknown) => {
      x.fail('upstream_error', (e as Error).message, undefined)
      log.error({ id: x.id, request_id: x.requestId, err: e }, 'unexpected error on the request path')
      if (grpcCall) sendGrpcReply(res as unknown as Http2ServerResponse, grpcErrorReply(500, x.requestId, GrpcStatus.INTERNAL))
      else sendReply(res, errorReply(500, x.requestId), true)
    })
  }

  async function exchange (x: Exchange, req: ClientRequest, res: ClientResponse, t: Target & { ok: true }, chunked: boolean,
    contentLength: number | undefined, hasBody: boolean, reject: (status: number, why: string, counter: string, code: ErrorCode) => void,
    grpcCall: boolean): Promise<void> {
    // 1. parsed_body: JSON only, bounded; the bytes read are forwarded unchanged. A body with
    // no content type is parsed too when it is JSON (Go's encoding/json and FastAPI read it as
    // JSON), but it is not held to the JSON rules: not JSON, or too large, it goes on unparsed.
    let parsedBody: unknown
    let body: Readable | Buffer | null = null
    // HTTP/2: a stream reset mid-body still ends the request ('aborted', then 'end'), and one
    // nghttp2 resets for sending less than its content-length ends with no bytes at all: a body
    // that ends so must fail, not reach the upstream as complete. undici does not refuse a body
    // of 0 bytes under a content-length (it sent `content-length: 0`), so the length is checked
    // here. (HTTP/1.1's parser never ends a body short of its content-length.)
    const aborted = (): boolean => (req as IncomingMessage).aborted
    const h2 = isHttp2(req as ProxyRequest)
    const bodyCheck = (): BodyLimit => new BodyLimit(maxBody, aborted, chunked ? undefined : contentLength)
    // The request view (what the upstream gets) is built first: the body is judged by the
    // content type the upstream will see. `Connection: content-type` drops it from the view, and
    // an upstream that reads a body without a content type as JSON (FastAPI, Go) would read a
    // body we skipped as text/plain. A blank content type is none (FastAPI: `if not ...`).
    const conn = connectionFacts(req as ProxyRequest)
    const headers = upstreamRequestHeaders(req.headers, { peerIp: peerIp(req), scheme: conn.scheme, host: t.authority ?? hostOf(req), requestId: x.requestId }, grpcCall ? grpcHeaderOpts : headerOpts)
    // What the policy reads of them (a copy: the view is edited further for the upstream).
    const policyView = policyHeaders(headers)
    const unreadable = readHeaderValues(policyView, headerCharset)
    if (unreadable !== undefined) return reject(400, `header ${JSON.stringify(unreadable.slice(0, 64))} is not ${headerCharset === 'utf8' ? 'valid UTF-8' : 'ASCII'} (server.header_charset)`, 'malformed', 'BOUNCER_ERR_PROXY_BAD_REQUEST')
    const viewCt = headers['content-type']
    const ct = typeof viewCt === 'string' && viewCt.trim() !== '' ? viewCt : undefined
    const declaredJson = isJsonContentType(ct)
    // Judged as a body without a content type: parsed when it is JSON, not refused otherwise.
    const untyped = ct === undefined || isWildcardContentType(ct)
    // Never a gRPC call's body (application/grpc+json too): length-prefixed messages streamed
    // by grpc.ts, which reading them here left with nothing to send (review, session 52).
    if (hasBody && pb.enabled && !grpcCall && (declaredJson || untyped)) {
      // A compressed body: the policy could not read it, an upstream that inflates would (Express
      // does by default). Refused whatever invalid_json says, as its content cannot be judged.
      const coding = contentCodingOf(headers['content-encoding'])
      if (coding !== undefined) return reject(415, `content-encoding ${JSON.stringify(coding.slice(0, 32))} on a body parsed_body reads`, 'encoded_body', 'BOUNCER_ERR_PROXY_BAD_BODY')
      // Likewise a charset other than UTF-8: the upstream may decode other text from the bytes.
      const charset = foreignCharsetOf(ct)
      if (charset !== undefined) return reject(415, `charset ${JSON.stringify(charset.slice(0, 32))} on a body parsed_body reads (only UTF-8 is read)`, 'encoded_body', 'BOUNCER_ERR_PROXY_BAD_BODY')
      if (declaredJson && contentLength !== undefined && contentLength > parseLimit && pb.over_limit === 'reject') {
        return reject(413, `JSON body over parsed_body.max_bytes (${pb.max_bytes})`, 'parsed_body_too_large', 'BOUNCER_ERR_PROXY_BODY_TOO_LARGE')
      }
      if (contentLength === undefined || contentLength <= parseLimit) {
        const overBudget = (): void => reject(503, `request bodies held for parsing would exceed parsed_body.max_buffered_bytes (${pb.max_buffered_bytes})`, 'body_budget', 'BOUNCER_ERR_PROXY_BODY_BUDGET')
        if (contentLength !== undefined && !bodyBudget.fits(contentLength)) return overBudget()
        // Held until the exchange ends: the bytes read stay in memory until they are forwarded.
        const lease = bodyBudget.lease()
        releaseOnClose(res, lease)
        let prefix
        try {
          prefix = await readPrefix(req as IncomingMessage, parseLimit, lease, pb.max_buffered_bytes)
        } catch (e) {
          if (e instanceof BouncerError && e.code === 'BOUNCER_ERR_PROXY_BODY_BUDGET') { lease.release(); return overBudget() }
          x.outcome = 'client_aborted'; res.destroy(); return
        }
        if (prefix.complete) {
          if (contentLength !== undefined && prefix.body.length !== contentLength) { x.outcome = 'client_aborted'; res.destroy(); return }
          body = prefix.body
          const parsed = parseStrictJson(prefix.body, 128)
          if (parsed.ok) parsedBody = parsed.value
          // JSON in UTF-16/32 to an upstream that detects it (FastAPI reads untyped bodies so):
          // unreadable here, refused whatever invalid_json says, as an encoded body is.
          else if (mayBeWideJson(prefix.body)) return reject(415, 'a body parsed_body reads looks like UTF-16 or UTF-32 (only UTF-8 is read)', 'encoded_body', 'BOUNCER_ERR_PROXY_BAD_BODY')
          else if (declaredJson && pb.invalid_json === 'reject') {
            x.fail('rejected', parsed.reason, 'BOUNCER_ERR_PROXY_BAD_BODY')
            acct.rejected('invalid_json')
            return sendReply(res, errorReply(400, x.requestId))
          }
        } else {
          if (declaredJson && pb.over_limit === 'reject') { req.resume(); return reject(413, `JSON body over parsed_body.max_bytes (${pb.max_bytes})`, 'parsed_body_too_large', 'BOUNCER_ERR_PROXY_BODY_TOO_LARGE') }
          body = replay(prefix.chunks, req as IncomingMessage)
          if (chunked || h2) body = body.pipe(bodyCheck())
        }
      }
    }
    // (a gRPC call's messages stay on the request: grpc.ts streams them to the upstream; no
    // server.max_body_bytes for a stream of messages that may rightly last for hours)
    if (body === null && hasBody && !grpcCall) {
      if (chunked || h2) {
        const limit = bodyCheck()
        pipe(req, limit, () => {})
        body = limit
      } else {
        body = req
      }
    }
    // The body is still on the connection (not read into memory): a reply that does not
    // forward closes the connection rather than drain it.
    const unread = body !== null && !Buffer.isBuffer(body)

    // 2. input, 3. decide — on the request view (what the upstream will get)
    if (x.clientGone) return
    if (Buffer.isBuffer(body)) policyView['content-length'] = headers['content-length'] = String(body.length)
    const v = await decideOn(x, req, t, policyView, parsedBody, conn)
    // Gone while the decision was made: nothing is sent upstream.
    if (x.clientGone) { x.outcome = 'client_aborted'; return }
    // An earlier request on this connection was answered with Connection: close meanwhile:
    // this one is not processed (see connection-order.ts); Node closes the connection.
    if (behindClose(res)) { x.outcome = 'client_aborted'; return }
    if (grpcCall) return grpcExchange(x, req as unknown as Http2ServerRequest, res as unknown as Http2ServerResponse, t, headers, v)

    // 4. apply the decision
    if (v.kind !== 'allow') return sendReply(res, verdictReply(v, x.requestId), unread)
    const d = v.decision
    applyDecision(headers, d, v.mask !== undefined)

    // 5. forward, 6. respond
    const upstreamReq = { method: req.method ?? 'GET', path: t.query === '' ? t.path : `${t.path}?${t.query}`, headers, body }
    const t0 = process.hrtime.bigint()
    try {
      if (v.mask !== undefined) return await forwardMasked(x, res, upstreamReq, d.responseHeaders, v.mask, t0, isHttp2(req as ProxyRequest))
      await forwarder.relay(upstreamReq, {
        abortable: x.abortable,
        sendTimeoutMs,
        stalled: () => {
          // Not reading: the client is cut, and with it the upstream request (its connection
          // goes back to the pool); counted as the client's doing, not the upstream's.
          acct.rejected('send_timeout')
          log.info({ id: x.id, request_id: x.requestId, send_timeout_seconds: config.server.send_timeout_seconds }, 'client stopped reading the response: cut')
          x.outcome = 'client_aborted'
          x.gone()
          res.destroy()
        },
        head: (statusCode, rawHeaders): RelayTarget => {
          const ms = Number(process.hrtime.bigint() - t0) / 1e6
          x.upstreamMs = ms
          acct.upstreamHead(ms / 1000)
          x.headSentNs = process.hrtime.bigint()
          let head = responseHead(rawHeaders, d.responseHeaders, x.requestId)
          if (isHttp2(req as ProxyRequest)) {
            const folded = foldForHttp2(head)
            if (!Array.isArray(folded)) throw new Error(`the response repeats ${folded.conflict} with different values, which HTTP/2 cannot carry`)
            head = folded
          }
          res.writeHead(statusCode, head)
          return res as RelayTarget
        },
      })
    } catch (e) {
      upstreamFailed(x, res, e, t0)
    }
  }

  /** The response of a masked request: buffered, masked, sent whole (or refused: fail closed). */
  async function forwardMasked (x: Exchange, res: ClientResponse, upstreamReq: Parameters<Forwarder['request']>[0], responseHeaders: HeaderList, mask: unknown, t0: bigint, h2: boolean): Promise<void> {
    const up = await forwarder.request(upstreamReq, x.abortable)
    const ms = Number(process.hrtime.bigint() - t0) / 1e6
    x.upstreamMs = ms
    acct.upstreamHead(ms / 1000)
    if (up.statusCode === 206 || up.statusCode === 304) {
      // Never relayed, even though the conditional headers were removed: fail closed.
      up.body.on('error', () => {}).destroy()
      x.fail('mask_failed', `upstream answered ${up.statusCode} to a masked request`, 'BOUNCER_ERR_PROXY_MASK_PARTIAL')
      acct.masked('failed')
      acct.failClosed('mask_failed')
      log.warn({ id: x.id, request_id: x.requestId, status: up.statusCode }, 'fail closed: partial or not-modified response to a masked request')
      return sendReply(res, errorReply(maskFailStatus, x.requestId))
    }
    const tm = process.hrtime.bigint()
    // Held until the response has been sent (the masked body stays in memory until then).
    const lease = maskBudget.lease()
    releaseOnClose(res, lease)
    let masked
    try {
      masked = await masker!.apply(up, mask, { method: upstreamReq.method, budget: { lease, limit: maskBudget.limit } })
    } catch (e) {
      up.body.destroy()
      lease.release()
      const err = e as { code?: unknown; statusCode?: unknown; message: string }
      x.fail('mask_failed', err.message, typeof err.code === 'string' && err.code.startsWith('BOUNCER_ERR_') ? err.code as ErrorCode : 'BOUNCER_ERR_PROXY_MASK_FAILED')
      acct.masked('failed')
      acct.failClosed('mask_failed')
      log.warn({ id: x.id, request_id: x.requestId, error: x.reason }, 'fail closed: response could not be masked')
      return sendReply(res, errorReply(typeof err.statusCode === 'number' ? err.statusCode : maskFailStatus, x.requestId))
    }
    acct.masked('masked')
    acct.maskDuration.observe(Number(process.hrtime.bigint() - tm) / 1e9)
    const out = downstreamResponseHeaders(masked.headers)
    for (const [n, val] of responseHeaders) out[n] = val
    // Applied last, over the upstream's and the policy's own headers: a masked view is
    // per caller and must not be served to anyone else by a shared cache.
    out['cache-control'] = privateCacheControl(out['cache-control'])
    // Validators and ranges describe the unmasked representation.
    for (const h of Object.keys(out)) if (isMaskedResponseDrop(h)) delete out[h]
    out[REQUEST_ID] = x.requestId
    // HEAD and 204 carry no body: a length of 0 would tell caches the resource is empty (and
    // the masked length is unknown without the body).
    if (upstreamReq.method === 'HEAD' || masked.statusCode === 204) delete out['content-length']
    else out['content-length'] = String(masked.body.length)
    if (x.clientGone) return
    const conflict = h2 ? foldObjectForHttp2(out) : undefined
    if (conflict !== undefined) {
      const why = `the response repeats ${conflict} with different values, which HTTP/2 cannot carry`
      x.fail('upstream_error', `upstream other: ${why}`, 'BOUNCER_ERR_PROXY_UPSTREAM_FAILED')
      acct.upstreamFailed('other', undefined)
      log.warn({ id: x.id, request_id: x.requestId, kind: 'other', err: why }, 'upstream failure')
      return sendReply(res, errorReply(502, x.requestId))
    }
    x.headSentNs = process.hrtime.bigint()
    res.writeHead(masked.statusCode, out)
    res.end(masked.body)
  }

  /**
   * A gRPC call after its decision: denials and failures are gRPC statuses (trailers-only, HTTP
   * 200); an allow is forwarded over HTTP/2 (grpc.ts) unless it asks for masking, which gRPC
   * bodies cannot have: that fails closed.
   */
  async function grpcExchange (x: Exchange, req: Http2ServerRequest, res: Http2ServerResponse, t: Target & { ok: true }, headers: OutgoingHeaders, v: Verdict): Promise<void> {
    if (v.kind === 'fail') return sendGrpcReply(res, grpcErrorReply(v.status, x.requestId))
    if (v.kind === 'deny') return sendGrpcReply(res, grpcDenialReply(v.decision, x.requestId))
    const d = v.decision
    if (v.mask !== undefined) {
      x.fail('mask_failed', 'the decision masks a gRPC response', 'BOUNCER_ERR_PROXY_GRPC_MASK')
      acct.masked('failed')
      acct.failClosed('mask_failed')
      log.warn({ id: x.id, request_id: x.requestId }, 'fail closed: a gRPC response cannot be masked')
      return sendGrpcReply(res, grpcErrorReply(maskFailStatus, x.requestId, GrpcStatus.INTERNAL))
    }
    if (grpc === undefined) {
      x.fail('rejected', 'gRPC forwarding is not configured', 'BOUNCER_ERR_PROXY_BAD_REQUEST')
      return sendGrpcReply(res, grpcErrorReply(501, x.requestId, GrpcStatus.UNIMPLEMENTED))
    }
    applyDecision(headers, d, false)
    const responseHeaders: Record<string, string | string[]> = {}
    for (const [n, val] of d.responseHeaders) responseHeaders[n] = val
    responseHeaders[REQUEST_ID] = x.requestId
    const t0 = process.hrtime.bigint()
    const o = await grpc.forward({
      req, res, path: t.query === '' ? t.path : `${t.path}?${t.query}`, headers, responseHeaders,
      onHead: () => {
        const ms = Number(process.hrtime.bigint() - t0) / 1e6
        x.upstreamMs = ms
        acct.upstreamHead(ms / 1000)
        x.headSentNs = process.hrtime.bigint()
      },
    })
    if (o.kind === 'client_aborted') { x.outcome = 'client_aborted'; return }
    if (o.kind === 'upstream_error') {
      const { status } = classifyUpstreamError(o.error)
      acct.upstreamFailed(o.failure, x.upstreamMs === undefined ? Number(process.hrtime.bigint() - t0) / 1e9 : undefined)
      x.fail('upstream_error', `upstream ${o.failure}: ${o.error.message}`, status === 504 ? 'BOUNCER_ERR_PROXY_UPSTREAM_TIMEOUT' : 'BOUNCER_ERR_PROXY_UPSTREAM_FAILED')
      log.warn({ id: x.id, request_id: x.requestId, kind: o.failure, err: o.error.message, sent: o.headSent }, 'upstream failure (gRPC)')
      // Before the head: an UNAVAILABLE status; after it, grpc.ts has reset the client's stream.
      if (!o.headSent) sendGrpcReply(res, grpcErrorReply(status, x.requestId))
    }
  }

  function upstreamFailed (x: Exchange, res: ClientResponse, e: unknown, t0: bigint): void {
    if (x.clientGone && !res.headersSent) { x.outcome = 'client_aborted'; return }
    // Cut for not reading (send_timeout_seconds): the abort was ours, not an upstream failure.
    if (x.clientGone && x.outcome === 'client_aborted') { res.destroy(); return }
    const { kind, status } = classifyUpstreamError(e)
    if (kind === 'body_too_large') {
      x.fail('rejected', `request body exceeds ${maxBody} bytes`, 'BOUNCER_ERR_PROXY_BODY_TOO_LARGE')
      acct.rejected('body_too_large')
      return sendReply(res, errorReply(413, x.requestId), true)
    }
    acct.upstreamFailed(kind, x.upstreamMs === undefined ? Number(process.hrtime.bigint() - t0) / 1e9 : undefined)
    x.fail('upstream_error', `upstream ${kind}: ${(e as Error).message}`, status === 504 ? 'BOUNCER_ERR_PROXY_UPSTREAM_TIMEOUT' : 'BOUNCER_ERR_PROXY_UPSTREAM_FAILED')
    log.warn({ id: x.id, request_id: x.requestId, kind, err: (e as Error).message, sent: res.headersSent }, 'upstream failure')
    // Once the head is out, the only honest signal left is to cut the connection.
    if (res.headersSent) res.destroy()
    else sendReply(res, errorReply(status, x.requestId), true)
  }

  // ===================== upgrades =====================

  /** An Upgrade we do not tunnel: the request path answers it over this socket, then it closes. */
  function asPlainHttp (req: IncomingMessage, socket: Duplex): void {
    const res = new ServerResponse(req)
    res.shouldKeepAlive = false
    res.assignSocket(socket as Socket)
    // Node's server no longer watches this socket: a client that ends its side has left (as the
    // server treats it, httpAllowHalfOpen off), and its exchange ends now, not when the upstream
    // answers. Anything it sends after the request is dropped (the connection closes after it).
    discardInput(socket)
    socket.once('end', () => socket.destroy())
    let closed = false
    res.on('close', () => { closed = true })
    res.once('finish', () => {
      res.detachSocket(socket as Socket)
      endAndReap(socket)
      // Node's server emits 'close' on a finished response; this one is not the server's.
      process.nextTick(() => { if (!closed) res.emit('close') })
    })
    onRequest(req, res)
  }

  function onUpgrade (req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => socket.destroy())
    // Node parses pipelined requests ahead: an Upgrade can arrive while the answer to a request
    // sent before it on this connection is still pending (its decision is async). It waits its
    // turn, as Node queues pipelined answers: written now, its answer (or a 101 and the tunnel)
    // would come before the earlier one, and taking the socket threw out of the parser.
    afterPendingAnswers(socket, () => upgradeRequest(req, socket, head))
  }


  function upgradeRequest (req: IncomingMessage, socket: Duplex, head: Buffer): void {
    // Node checks Host (requireHostHeader) for every HTTP/1.1 request but an Upgrade: here then,
    // before either path below (the policy would see host "" while the upstream got its own).
    const refuse = (why: string, code: ErrorCode, counter: string): void => {
      const x = begin(req, { ok: false, reason: why })
      x.fail('rejected', why, code)
      acct.rejected(counter)
      writeRawReply(socket, errorReply(400, x.requestId))
      acct.upgradeRefused(x, req)
    }
    if (req.httpVersionMajor === 1 && req.httpVersionMinor === 1 && req.headers.host === undefined) {
      return refuse('an HTTP/1.1 Upgrade request without Host', 'BOUNCER_ERR_PROXY_BAD_REQUEST', 'malformed')
    }
    if (manyHosts(req.rawHeaders)) return refuse('more than one Host header', 'BOUNCER_ERR_PROXY_BAD_REQUEST', 'malformed')
    // A body on an Upgrade request is refused. Tunnelled, it would go into the tunnel as the
    // first bytes of the new protocol, after a decision on headers that announced it as a body
    // (WebSocket handshakes have none); answered as plain HTTP, it cannot be re-framed.
    const te = req.headers['transfer-encoding']
    const cl = req.headers['content-length']
    if (te !== undefined || (cl !== undefined && cl !== '0')) return refuse('request body with an Upgrade', 'BOUNCER_ERR_PROXY_UPGRADE_REFUSED', 'upgrade_refused')
    // CONNECT is refused on the request path, whatever Upgrade it names: tunnelled as a WebSocket,
    // `CONNECT /public/ws` was judged as a request for /public/ws and its tunnel opened.
    if (req.method === 'CONNECT' || !tunnelled(req.headers.upgrade)) return asPlainHttp(req, socket)
    const x = begin(req, withHost(normalize(req.url ?? ''), hostOf(req), schemeOf(req as ProxyRequest)))
    let accounted = false
    const done = (status: number): void => {
      if (accounted) return
      accounted = true
      acct.upgrade(x, req, status)
    }
    const t = x.target
    if (!t.ok) {
      x.fail('rejected', t.reason, badTargetCode(t.reason))
      acct.rejected('bad_target')
      writeRawReply(socket, errorReply(rejectStatus, x.requestId))
      return done(rejectStatus)
    }
    socket.once('close', () => x.gone())
    tunnel(x, req, socket, head, t, done).catch((e: unknown) => {
      x.fail('upstream_error', (e as Error).message, undefined)
      log.error({ id: x.id, request_id: x.requestId, err: e }, 'unexpected error on the upgrade path')
      writeRawReply(socket, errorReply(500, x.requestId))
      done(500)
    })
  }

  async function tunnel (x: Exchange, req: IncomingMessage, socket: Duplex, head: Buffer, t: Target & { ok: true }, done: (status: number) => void): Promise<void> {
    // 2. input, 3. decide
    const upgrade = req.headers.upgrade!
    const conn = connectionFacts(req)
    const headers = upstreamRequestHeaders(req.headers, { peerIp: peerIp(req), scheme: conn.scheme, host: t.authority ?? req.headers.host, requestId: x.requestId, upgrade }, headerOpts)
    const policyView = policyHeaders(headers)
    const unreadable = readHeaderValues(policyView, headerCharset)
    if (unreadable !== undefined) {
      x.fail('rejected', `header ${JSON.stringify(unreadable.slice(0, 64))} is not ${headerCharset === 'utf8' ? 'valid UTF-8' : 'ASCII'} (server.header_charset)`, 'BOUNCER_ERR_PROXY_BAD_REQUEST')
      acct.rejected('malformed')
      writeRawReply(socket, errorReply(400, x.requestId))
      return done(400)
    }
    const v = await decideOn(x, req, t, policyView, undefined, conn)

    // 4. apply the decision
    if (v.kind !== 'allow') {
      const r = verdictReply(v, x.requestId)
      writeRawReply(socket, r)
      return done(r.status)
    }
    if (v.mask !== undefined) {
      // A tunnel cannot be masked: refuse rather than pass unmasked bytes.
      x.fail('mask_failed', 'mask rules on an upgrade request', 'BOUNCER_ERR_PROXY_MASK_UNAVAILABLE')
      acct.failClosed('mask_unavailable')
      writeRawReply(socket, errorReply(maskFailStatus, x.requestId))
      return done(maskFailStatus)
    }
    if (socket.destroyed) return done(0)
    const d = v.decision
    applyDecision(headers, d, false)
    const extra: HeaderList = [...d.responseHeaders, [REQUEST_ID, x.requestId]]

    // 5. forward
    let up
    try {
      up = await forwarder.upgrade({ method: req.method ?? 'GET', path: t.query === '' ? t.path : `${t.path}?${t.query}`, headers }, upgrade, x.abortable, sendTimeoutMs)
    } catch (e) {
      if (socket.destroyed) return done(0)
      const { kind, status } = classifyUpstreamError(e)
      x.fail('upstream_error', `upstream ${kind}: ${(e as Error).message}`, status === 504 ? 'BOUNCER_ERR_PROXY_UPSTREAM_TIMEOUT' : 'BOUNCER_ERR_PROXY_UPSTREAM_FAILED')
      acct.upstreamFailed(kind, undefined)
      writeRawReply(socket, errorReply(status, x.requestId))
      return done(status)
    }

    // 6. respond
    if (up.kind === 'response') {
      if (socket.destroyed) { up.body.destroy(); return done(0) }
      socket.write(rawHead(up.statusCode, up.statusText, up.rawHeaders, extra, dropOnResponse) + 'connection: close\r\n\r\n')
      up.body.on('error', (e) => {
        if (e instanceof SendTimeoutError) { acct.rejected('send_timeout'); log.info({ id: x.id, request_id: x.requestId }, 'client stopped reading the response: cut') }
        socket.destroy()
      })
      // Ended by pipe(): reaped once the answer is flushed (an upgrade socket has no timeouts).
      socket.once('finish', () => endAndReap(socket))
      up.body.pipe(socket)
      return done(up.statusCode)
    }
    const upSocket = up.socket
    // The upstream must switch to what was asked for (and allowed), nothing else.
    if (!tunnelled(headerValue(up.rawHeaders, 'upgrade'))) {
      upSocket.destroy()
      x.fail('upstream_error', `upstream switched to ${JSON.stringify(headerValue(up.rawHeaders, 'upgrade') ?? '')}`, 'BOUNCER_ERR_PROXY_UPSTREAM_FAILED')
      acct.upstreamFailed('other', undefined)
      writeRawReply(socket, errorReply(502, x.requestId))
      return done(502)
    }
    if (!upgradeAnswered(upgrade, req.headers['sec-websocket-key'], up.rawHeaders)) {
      upSocket.destroy()
      x.fail('upstream_error', 'upstream answered 101 to a WebSocket upgrade without the Sec-WebSocket-Accept for its key', 'BOUNCER_ERR_PROXY_UPSTREAM_FAILED')
      acct.upstreamFailed('other', undefined)
      writeRawReply(socket, errorReply(502, x.requestId))
      return done(502)
    }
    x.outcome = 'tunnelled'
    if (socket.destroyed) { upSocket.destroy(); return done(0) }
    socket.write(rawHead(101, undefined, up.rawHeaders, extra, dropOn101) + '\r\n')
    if (head.length) upSocket.write(head)
    tunnels.add(socket)
    acct.tunnelsOpen.inc()
    let closed = false
    const close = (): void => {
      if (closed) return
      closed = true
      tunnels.delete(socket)
      acct.tunnelsOpen.dec()
      socket.destroy()
      upSocket.destroy()
    }
    socket.on('close', close); upSocket.on('close', close)
    socket.on('error', close); upSocket.on('error', close)
    socket.pipe(upSocket)
    upSocket.pipe(socket)
    done(101)
  }

  return { onRequest, onUpgrade }
}


/**
 * Two Host fields: RFC 9112 §3.2 requires a 400. Node keeps the first in req.headers; a proxy
 * or upstream that takes the last would route by another host than the one the policy judged.
 */
function manyHosts (raw: readonly string[]): boolean {
  let seen = false
  for (let i = 0; i < raw.length; i += 2) {
    const n = raw[i]!
    if (n.length === 4 && n.toLowerCase() === 'host') {
      if (seen) return true
      seen = true
    }
  }
  return false
}

function conflictingAuthority (headers: ClientRequest['headers'], scheme: 'http' | 'https'): boolean {
  const host = headers.host
  const authority = headers[':authority'] as string | undefined
  if (host === undefined || authority === undefined) return false
  // Compared as RFC 3986 §6.2 normalises them (what the target normaliser does too): case, and
  // the scheme's default port (a:443 is a on TLS).
  const norm = (a: string): string => { const l = a.toLowerCase(); return l.endsWith(scheme === 'https' ? ':443' : ':80') ? l.slice(0, l.lastIndexOf(':')) : l }
  return norm(host) !== norm(authority)
}

/** Transfer-Encoding naming chunked alone; empty list elements (`,chunked`) are ignored, as RFC 9110 §5.6.1 says. */
function onlyChunked (te: string): boolean {
  let seen = false
  for (const part of te.split(',')) {
    const coding = part.trim()
    if (coding === '') continue
    if (seen || coding.toLowerCase() !== 'chunked') return false
    seen = true
  }
  return seen
}

/** The Host the client asked for: the Host header, or an HTTP/2 stream's :authority. */
function hostOf (req: ClientRequest): string | undefined {
  return req.headers.host ?? (req.headers[':authority'] as string | undefined)
}

/** Releases `lease` when the response closes, or now if it already has (no 'close' will come). */
function releaseOnClose (res: ClientResponse, lease: BodyLease): void {
  const r = res as { closed?: boolean; destroyed?: boolean }
  if (r.closed === true || r.destroyed === true) lease.release()
  else res.once('close', lease.release)
}
