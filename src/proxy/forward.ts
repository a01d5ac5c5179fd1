// Forwarding to the upstream with undici (one Pool per upstream origin, created at start).
// Every kind of exchange goes through pool.dispatch() with a handler of our own — no
// AbortController, no promise-per-chunk, no header object for a streamed response:
//   relay()    the response streams straight into the client response, with backpressure
//              (the handler pauses undici while the client is slow and resumes on 'drain');
//   request()  the response with its body as a Readable (buffering for masking);
//   upgrade()  a 101 hands over the socket, any other answer is relayed as a response.
// Each handler gives the caller undici's own abort for the request (onConnect), so a client
// that goes away aborts the upstream request from the exchange's one 'close' listener.
// Requests use the same Pool whatever their kind — same connect timeout, TLS options (CA,
// client certificate, SNI, verification) and response-head timeout.
// A request that finds every connection busy waits in the pool at most upstream.timeout_seconds
// (connection-wait.ts), then gets 504 and is never sent.
// Failures are classified here: timeouts → 504, anything else before the response head → 502.
// Nothing about the failure reaches the client except the status.
import { isIP } from 'node:net'
import { PassThrough, Readable, type Duplex } from 'node:stream'
import { createRequire } from 'node:module'
import type { Dispatcher, Pool as PoolType, buildConnector as buildConnectorType } from 'undici'
import type { BouncerConfig } from '../config/index.js'
import type { OutgoingHeaders } from './headers.js'
import { ConnectionWait, type Waiting } from './connection-wait.js'

// The Pool alone: undici's index loads fetch, WebSocket, caches and the rest with it (~4 MB
// of idle RSS a proxy that only forwards does not need).
const Pool = createRequire(import.meta.url)('undici/lib/dispatcher/pool.js') as typeof PoolType
const buildConnector = createRequire(import.meta.url)('undici/lib/core/connect.js') as typeof buildConnectorType
// undici's hook for a request waiting for a connection (its own abort signals use it): the pool
// or client calls it with a function that takes the request out of its queue.
// Internal to undici (8.14): a version without it fails here, not quietly.
const { kQueuedAbort } = createRequire(import.meta.url)('undici/lib/core/symbols.js') as { kQueuedAbort: symbol }
if (typeof kQueuedAbort !== 'symbol') throw new Error('this undici has no kQueuedAbort hook (src/proxy/forward.ts needs it)')

export interface UpstreamRequest {
  readonly method: string
  /** canonical path + "?" + query, without the upstream's base path */
  readonly path: string
  readonly headers: OutgoingHeaders
  readonly body: Readable | Buffer | null
}

export interface UpstreamHead {
  readonly statusCode: number
  readonly headers: Record<string, string | string[] | undefined>
}

/** undici's abort for one request (given once it is dispatched). */
export type Abort = (err?: Error) => void

/** The client side of a relayed response: node's ServerResponse and HTTP/2 compat responses. */
export interface RelayTarget {
  /** Bytes written and not yet taken by the kernel (it falls as a slow client reads). */
  readonly writableLength: number
  write (chunk: Buffer): boolean
  end (): unknown
  once (event: 'drain', fn: () => void): unknown
}

/** What relay() needs from the exchange. */
export interface Relay {
  /** The request can be aborted from now on (called at most once per dispatch). */
  abortable (abort: Abort): void
  /** The response head (raw: name, value, name, value ... as undici read them); returns where the body goes. */
  head (statusCode: number, rawHeaders: Buffer[]): RelayTarget
  /** How long the client may leave a written chunk unread (0: no limit). */
  readonly sendTimeoutMs: number
  /** The client took nothing for sendTimeoutMs: the caller cuts it (and so aborts the upstream request). */
  stalled (): void
}

export type FailureKind = 'timeout' | 'queue_timeout' | 'connect' | 'reset' | 'aborted' | 'body_too_large' | 'other'

/** Why an upstream call failed, and what the client gets (if nothing has been sent yet). */
export function classifyUpstreamError (e: unknown): { kind: FailureKind; status: number } {
  const err = e as { code?: string; name?: string; cause?: { code?: string } } | undefined
  const code = err?.code ?? ''
  if (code === 'BOUNCER_ERR_PROXY_BODY_TOO_LARGE') return { kind: 'body_too_large', status: 413 }
  if (e instanceof QueueTimeoutError) return { kind: 'queue_timeout', status: 504 }
  if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_CONNECT_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT' ||
      code === 'ETIMEDOUT' || err?.name === 'TimeoutError') return { kind: 'timeout', status: 504 }
  if (code === 'UND_ERR_ABORTED' || code === 'UND_ERR_ABORT' || err?.name === 'AbortError') return { kind: 'aborted', status: 502 }
  if (code === 'ECONNREFUSED' || code === 'EHOSTUNREACH' || code === 'ENETUNREACH' || code === 'ENOTFOUND' || code === 'EAI_AGAIN') {
    return { kind: 'connect', status: 502 }
  }
  const cause = err?.cause?.code ?? ''
  if (code === 'UND_ERR_SOCKET' || code === 'ECONNRESET' || code === 'EPIPE' || cause === 'ECONNRESET') return { kind: 'reset', status: 502 }
  return { kind: 'other', status: 502 }
}

/** What the upstream answered to an upgrade request. rawHeaders: name, value, name, value, ... */
export type UpgradeOutcome =
  | { readonly kind: 'upgraded'; readonly statusCode: number; readonly statusText: string; readonly rawHeaders: string[]; readonly socket: Duplex }
  | { readonly kind: 'response'; readonly statusCode: number; readonly statusText: string; readonly rawHeaders: string[]; readonly body: Readable }

export interface Forwarder {
  /** The upstream's origin ("http://127.0.0.1:3000"). */
  readonly origin: string
  /** host:port of the upstream, for Host when preserve_host is off and destination.address. */
  readonly authority: string
  /** Streams the response into the target relay.head() returns; resolves once the body has ended. */
  relay (req: UpstreamRequest, relay: Relay): Promise<void>
  /** The response with its body as a Readable (for buffering/masking). */
  request (req: UpstreamRequest, abortable: (abort: Abort) => void): Promise<UpstreamHead & { body: Readable }>
  /**
   * An upgrade request (no body): `protocol` is the Upgrade value sent with Connection: upgrade
   * (headers' own connection/upgrade entries are ignored). Rejects on connect/timeout errors.
   */
  /** `sendTimeoutMs`: a non-101 answer left unread that long by the client fails its body with SendTimeoutError (0: no limit). */
  upgrade (req: Omit<UpstreamRequest, 'body'>, protocol: string, abortable: (abort: Abort) => void, sendTimeoutMs?: number): Promise<UpgradeOutcome>
  close (): Promise<void>
}

function strings (raw: readonly (Buffer | string)[] | null): string[] {
  return raw === null ? [] : raw.map((v) => typeof v === 'string' ? v : v.toString('latin1'))
}

/** Raw headers as an object: lower-case names, repeated names as arrays (as undici's own parsing). */
function headersObject (raw: readonly (Buffer | string)[]): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {}
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toString('latin1').toLowerCase()
    const value = raw[i + 1]!.toString('latin1')
    const prev = out[name]
    if (prev === undefined) out[name] = value
    else if (Array.isArray(prev)) prev.push(value)
    else out[name] = [prev, value]
  }
  return out
}

/** TLS client material for an https upstream (upstream.tls, files read at start by src/app/tls.ts). */
export interface UpstreamTls {
  readonly ca?: string
  readonly cert?: string
  readonly key?: string
  readonly servername?: string
  readonly rejectUnauthorized: boolean
}

/** The response head as undici read it (name, value, ...): the controller carries it. */
function rawHeadersOf (controller: Controller): Buffer[] {
  const raw = controller.rawHeaders
  return Array.isArray(raw) ? raw as Buffer[] : []
}

type Controller = Dispatcher.DispatchController

/** A client left a response unread for server.send_timeout_seconds. */
export class SendTimeoutError extends Error {
  constructor () { super('the client took nothing of the response for server.send_timeout_seconds'); this.name = 'SendTimeoutError' }
}

/** A request waited upstream.timeout_seconds for a free upstream connection (all were busy). */
export class QueueTimeoutError extends Error {
  constructor () { super('no upstream connection came free within upstream.timeout_seconds'); this.name = 'QueueTimeoutError' }
}

/**
 * Thrown from onRequestStart of a request whose wait is over: undici then fails that request
 * alone, before writing a byte of it, and keeps the connection (its abort() would destroy it).
 */
const EXPIRED = new QueueTimeoutError()

/**
 * A dispatched request's time in undici's queue, for each kind of handler: undici's kQueuedAbort
 * hook (while it waits, the request can be taken out of the queue), the wait's expiry
 * (connection-wait.ts) and the start.
 */
class QueueSlot implements Waiting {
  started = false
  #expired = false
  #cancel: Abort | undefined
  readonly #abortable: (abort: Abort) => void
  readonly #fail: (err: Error) => void

  /** `abortable`: the exchange's (a gone client takes the request out of the queue); `fail`: answers the request. */
  constructor (abortable: (abort: Abort) => void, fail: (err: Error) => void) {
    this.#abortable = abortable
    this.#fail = fail
  }

  /** undici's kQueuedAbort hook: called by the pool, and again by a client, while the request waits. */
  readonly queued = (cancel: Abort): void => { this.#cancel = cancel; this.#abortable(cancel) }

  /**
   * Its wait for a connection is over: answered now (504), never sent, and taken out of undici's
   * queue (left there, it kept its exchange's memory until a connection came free, and a backlog
   * of them delayed the live requests behind).
   */
  expire (): void {
    this.#expired = true
    this.#fail(new QueueTimeoutError())
    const cancel = this.#cancel
    this.#cancel = undefined
    cancel?.(EXPIRED)
  }

  /** From onRequestStart: an expired request is failed by the throw, before a byte of it is written. */
  start (): void {
    this.started = true
    this.#cancel = undefined
    if (this.#expired) throw EXPIRED
  }

  /** From onResponseError: whether the error is one to ignore (the request was answered already). */
  ended (): boolean {
    this.started = true
    return this.#expired
  }
}

/** relay(): the response goes into the client's response as it arrives. */
class RelayHandler {
  #target: RelayTarget | undefined
  #controller: Controller | undefined
  readonly #relay: Relay
  readonly #done: (err?: Error) => void
  #stall: NodeJS.Timeout | undefined
  /** What was still unsent when the stall timer was (re)armed. */
  #unsent = 0
  readonly #onDrain = (): void => {
    if (this.#stall !== undefined) { clearTimeout(this.#stall); this.#stall = undefined }
    this.#controller?.resume()
  }

  // A client that took some bytes since the timer was armed is reading, however slowly: the
  // timer runs again (only 'drain' clears it, and a slow reader may not empty the buffer for
  // minutes). As nginx's send_timeout, progress is what the kernel reports: a client reading
  // very slowly from a large socket buffer may show none for a while.
  readonly #onStall = (): void => {
    const unsent = this.#target?.writableLength ?? 0
    if (unsent < this.#unsent) { this.#unsent = unsent; this.#stall = setTimeout(this.#onStall, this.#relay.sendTimeoutMs); return }
    this.#stall = undefined
    this.#relay.stalled()
  }

  readonly slot: QueueSlot

  constructor (relay: Relay, done: (err?: Error) => void) {
    this.#relay = relay
    this.#done = done
    this.slot = new QueueSlot(relay.abortable, done)
  }

  onRequestStart (controller: Controller): void {
    this.slot.start()
    this.#controller = controller
    this.#relay.abortable((err) => { controller.abort(err ?? new Error('aborted')) })
  }

  onResponseStart (controller: Controller, statusCode: number): void {
    if (statusCode < 200) return // 1xx informational: not relayed
    this.#target = this.#relay.head(statusCode, rawHeadersOf(controller))
  }

  onResponseData (controller: Controller, chunk: Buffer): void {
    const target = this.#target!
    if (target.write(chunk)) return
    target.once('drain', this.#onDrain)
    controller.pause()
    // A timer only while the client holds the response back (a slow or stopped reader).
    const ms = this.#relay.sendTimeoutMs
    if (ms > 0 && this.#stall === undefined) { this.#unsent = target.writableLength; this.#stall = setTimeout(this.#onStall, ms) }
  }

  onResponseEnd (): void {
    this.#clearStall()
    this.#target!.end()
    this.#done()
  }

  onResponseError (_controller: Controller, err: Error): void {
    this.#clearStall()
    if (!this.slot.ended()) this.#done(err)
  }

  #clearStall (): void { if (this.#stall !== undefined) { clearTimeout(this.#stall); this.#stall = undefined } }
}

/**
 * request(): the body as a Readable fed by push() (backpressure: a full buffer pauses undici,
 * the next read() resumes it) — a PassThrough would add a Writable side and a transform per chunk.
 * Destroying the Readable before the end (the masker refusing a body it will not read: too
 * large, not JSON) aborts the upstream request: otherwise undici stays paused on a body nobody
 * reads — its body timeout does not run while paused — and the pool's connection is lost for
 * good (enough such responses and every request waits for a connection).
 */
class BodyHandler {
  #body: Readable | undefined
  #controller: Controller | undefined
  #complete = false
  readonly #read = (): void => { this.#controller?.resume() }
  readonly #destroy = (err: Error | null, cb: (err?: Error | null) => void): void => {
    if (!this.#complete) { this.#complete = true; this.#controller?.abort(err ?? new Error('upstream response body not read to its end')) }
    cb(err)
  }

  #settled = false
  readonly #abortable: (abort: Abort) => void
  readonly #resolve: (head: UpstreamHead & { body: Readable }) => void
  readonly #reject: (err: Error) => void

  readonly slot: QueueSlot

  constructor (abortable: (abort: Abort) => void, resolve: (head: UpstreamHead & { body: Readable }) => void, reject: (err: Error) => void) {
    this.#abortable = abortable
    this.#resolve = resolve
    this.#reject = reject
    this.slot = new QueueSlot(abortable, (err) => { this.#settled = true; reject(err) })
  }

  onRequestStart (controller: Controller): void {
    this.slot.start()
    this.#controller = controller
    this.#abortable((err) => { controller.abort(err ?? new Error('aborted')) })
  }

  onResponseStart (controller: Controller, statusCode: number): void {
    if (statusCode < 200) return
    const body = this.#body = new Readable({ read: this.#read, destroy: this.#destroy })
    this.#settled = true
    this.#resolve({ statusCode, headers: headersObject(rawHeadersOf(controller)), body })
  }

  onResponseData (controller: Controller, chunk: Buffer): void { if (!this.#body!.push(chunk)) controller.pause() }
  onResponseEnd (): void { this.#complete = true; this.#body?.push(null) }

  onResponseError (_controller: Controller, err: Error): void {
    this.#complete = true // undici is done with this request: nothing to abort
    if (this.slot.ended()) return
    if (this.#body) this.#body.destroy(err)
    else if (!this.#settled) { this.#settled = true; this.#reject(err) }
  }
}

export function createForwarder (cfg: BouncerConfig['upstream'], deps: { tls?: UpstreamTls } = {}): Forwarder {
  if (!cfg.url) throw new TypeError('upstream.url is required')
  const url = new URL(cfg.url)
  const base = url.pathname.replace(/\/+$/, '')
  const tls = deps.tls
  const https = url.protocol === 'https:'
  // HTTP/1.1 only (undici 8 offers h2 by ALPN unless told not to): the request the policy
  // judged is written as HTTP/1.1; gRPC has its own HTTP/2 upstream (grpc.ts).
  const connectOptions = {
    allowH2: false,
    timeout: cfg.connect_timeout_seconds * 1000,
    ...(https && tls !== undefined
      ? { ca: tls.ca, cert: tls.cert, key: tls.key, servername: tls.servername, rejectUnauthorized: tls.rejectUnauthorized }
      : {}),
  }
  // The upstream's TLS name (SNI and the certificate check): upstream.tls.servername, else the
  // host of upstream.url (none for an IP: the certificate is checked against the IP). Never the
  // request's Host: undici takes each request's servername from its Host header, so with
  // preserve_host a client chose which name the upstream's certificate had to carry (any name
  // the CA signed passed), and every new Host dropped the pooled connection.
  const hostname = url.hostname.replace(/^\[|\]$/g, '')
  const upstreamName = tls?.servername ?? (isIP(hostname) === 0 ? hostname : undefined)
  const connector = buildConnector(connectOptions)
  const pool = new Pool(url.origin, {
    connections: cfg.connections,
    allowH2: false,
    keepAliveTimeout: cfg.keep_alive_timeout_seconds * 1000,
    headersTimeout: cfg.timeout_seconds * 1000,
    bodyTimeout: cfg.body_timeout_seconds * 1000,
    // The connector's socket is returned: undici cancels a connection attempt through it once the
    // last request waiting for it is withdrawn (a gone client's TLS handshake held the slot).
    connect: https ? (opts, cb) => connector({ ...opts, servername: upstreamName }, cb) : connectOptions,
  })
  const waits = new ConnectionWait(cfg.timeout_seconds * 1000)
  /** Dispatches; a request that found no free connection waits at most upstream.timeout_seconds. */
  const dispatch = (opts: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler, slot: QueueSlot): void => {
    (opts as unknown as Record<symbol, unknown>)[kQueuedAbort] = slot.queued
    pool.dispatch(opts, handler)
    if (!slot.started) waits.enter(slot)
  }
  // One constant per request, so undici sees no change of name between requests (it would
  // close the connection); the connector above ignores it.
  const requestServername = https ? { servername: upstreamName ?? hostname } : {}

  const options = (r: UpstreamRequest): Dispatcher.DispatchOptions => ({
    method: r.method as Dispatcher.HttpMethod,
    path: base + r.path,
    headers: r.headers as Record<string, string | string[]>,
    body: r.body,
    ...requestServername,
  })

  return {
    origin: url.origin,
    authority: url.host,
    relay (r, relay) {
      return new Promise<void>((resolve, reject) => {
        const h = new RelayHandler(relay, (err) => { if (err) reject(err); else resolve() })
        dispatch(options(r), h, h.slot)
      })
    },
    request (r, abortable) {
      return new Promise((resolve, reject) => {
        const h = new BodyHandler(abortable, resolve, reject)
        dispatch(options(r), h, h.slot)
      })
    },
    upgrade (r, protocol, abortable, sendTimeoutMs = 0) {
      const headers: Record<string, string | string[]> = {}
      for (const name in r.headers) if (name !== 'connection' && name !== 'upgrade') headers[name] = r.headers[name]!
      return new Promise<UpgradeOutcome>((resolve, reject) => {
        let body: PassThrough | undefined
        let settled = false
        let ended = false
        const settle = (o: UpgradeOutcome) => { settled = true; resolve(o) }
        let stall: NodeJS.Timeout | undefined
        const clearStall = (): void => { if (stall !== undefined) { clearTimeout(stall); stall = undefined } }
        const slot = new QueueSlot(abortable, (err) => { settled = true; reject(err) })
        const handler: Dispatcher.DispatchHandler = {
          onRequestStart (controller) {
            slot.start()
            abortable((err) => { controller.abort(err ?? new Error('aborted')) })
          },
          onRequestUpgrade (controller, statusCode, _headers, socket) {
            settle({ kind: 'upgraded', statusCode, statusText: '', rawHeaders: strings(rawHeadersOf(controller)), socket: socket as Duplex })
          },
          onResponseStart (controller, statusCode, _headers, statusText) {
            if (statusCode < 200) return
            body = new PassThrough()
            body.on('drain', () => { clearStall(); controller.resume() })
            // As BodyHandler: a body destroyed before its end must not leave undici paused on it.
            body.on('close', () => { if (!ended) { ended = true; controller.abort(new Error('upstream response body not read to its end')) } })
            settle({ kind: 'response', statusCode, statusText: statusText ?? '', rawHeaders: strings(rawHeadersOf(controller)), body })
          },
          onResponseData (controller, chunk) {
            if (body!.write(chunk)) return
            controller.pause()
            // As relay(): a client that takes nothing for sendTimeoutMs is cut (the body's
            // error destroys its socket; its close aborts this request).
            if (sendTimeoutMs > 0 && stall === undefined) {
              const b = body!
              let unsent = b.writableLength
              const check = (): void => {
                if (b.writableLength < unsent) { unsent = b.writableLength; stall = setTimeout(check, sendTimeoutMs); return }
                stall = undefined
                b.destroy(new SendTimeoutError())
              }
              stall = setTimeout(check, sendTimeoutMs)
            }
          },
          onResponseEnd () { ended = true; clearStall(); body?.end() },
          onResponseError (_controller, err) {
            ended = true
            clearStall()
            if (slot.ended()) return
            if (body) body.destroy(err)
            else if (!settled) { settled = true; reject(err) }
          },
        }
        dispatch({ method: r.method as Dispatcher.HttpMethod, path: base + r.path, headers, upgrade: protocol, ...requestServername }, handler, slot)
      })
    },
    async close () {
      waits.close()
      await pool.close()
    },
  }
}
