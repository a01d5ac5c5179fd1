// Forwarding to the upstream with undici (one Pool per upstream origin, created at start).
// Streaming both ways: the request body is the client's stream (or the bytes already read
// for parsed_body); the response body goes straight into the client response through
// undici's stream() with backpressure, or is handed over as a Readable when it has to be
// buffered (masking). Failures are classified here: timeouts → 504, anything else before
// the response head → 502. Nothing about the failure reaches the client except the status.
// Upgrades (WebSocket) use the same Pool — same connect timeout, TLS options (CA, client
// certificate, SNI, verification) and response-head timeout — through undici's dispatch with an
// upgrade handler: a 101 hands over the socket, any other answer is relayed as a response.
import { PassThrough, type Duplex, type Readable, type Writable } from 'node:stream'
import { Pool, type Dispatcher } from 'undici'
import type { BouncerConfig } from '../config/index.js'
import type { OutgoingHeaders } from './headers.js'

export interface UpstreamRequest {
  readonly method: string
  /** canonical path + "?" + query, without the upstream's base path */
  readonly path: string
  readonly headers: OutgoingHeaders
  readonly body: Readable | Buffer | null
  readonly signal?: AbortSignal
}

export interface UpstreamHead {
  readonly statusCode: number
  readonly headers: Record<string, string | string[] | undefined>
}

export type FailureKind = 'timeout' | 'connect' | 'reset' | 'aborted' | 'body_too_large' | 'other'

/** Why an upstream call failed, and what the client gets (if nothing has been sent yet). */
export function classifyUpstreamError (e: unknown): { kind: FailureKind; status: number } {
  const err = e as { code?: string; name?: string; cause?: { code?: string } } | undefined
  const code = err?.code ?? ''
  if (code === 'BOUNCER_ERR_PROXY_BODY_TOO_LARGE') return { kind: 'body_too_large', status: 413 }
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
  /** Streams the response into `sink` once `onHead` has written the head (it returns the sink to use). */
  stream (req: UpstreamRequest, onHead: (head: UpstreamHead) => Writable): Promise<void>
  /** Returns the response with its body as a Readable (for buffering/masking). */
  request (req: UpstreamRequest): Promise<UpstreamHead & { body: Readable }>
  /**
   * An upgrade request (no body): `protocol` is the Upgrade value sent with Connection: upgrade
   * (headers' own connection/upgrade entries are ignored). Rejects on connect/timeout errors.
   */
  upgrade (req: Omit<UpstreamRequest, 'body'>, protocol: string): Promise<UpgradeOutcome>
  close (): Promise<void>
}

function strings (raw: readonly (Buffer | string)[] | null): string[] {
  return raw === null ? [] : raw.map((v) => typeof v === 'string' ? v : v.toString('latin1'))
}

/** TLS client material for an https upstream (upstream.tls, files read at start by src/app/tls.ts). */
export interface UpstreamTls {
  readonly ca?: string
  readonly cert?: string
  readonly key?: string
  readonly servername?: string
  readonly rejectUnauthorized: boolean
}

export function createForwarder (cfg: BouncerConfig['upstream'], deps: { tls?: UpstreamTls } = {}): Forwarder {
  if (!cfg.url) throw new TypeError('upstream.url is required')
  const url = new URL(cfg.url)
  const base = url.pathname.replace(/\/+$/, '')
  const tls = deps.tls
  const pool = new Pool(url.origin, {
    connections: cfg.connections,
    keepAliveTimeout: cfg.keep_alive_timeout_seconds * 1000,
    headersTimeout: cfg.timeout_seconds * 1000,
    bodyTimeout: cfg.body_timeout_seconds * 1000,
    connect: {
      timeout: cfg.connect_timeout_seconds * 1000,
      ...(url.protocol === 'https:' && tls !== undefined
        ? { ca: tls.ca, cert: tls.cert, key: tls.key, servername: tls.servername, rejectUnauthorized: tls.rejectUnauthorized }
        : {}),
    },
  })

  const options = (r: UpstreamRequest): Dispatcher.RequestOptions => ({
    method: r.method as Dispatcher.HttpMethod,
    path: base + r.path,
    headers: r.headers as Record<string, string | string[]>,
    body: r.body,
    signal: r.signal,
  })

  return {
    origin: url.origin,
    authority: url.host,
    async stream (r, onHead) {
      await pool.stream(options(r), ({ statusCode, headers }) => onHead({ statusCode, headers }))
    },
    async request (r) {
      const res = await pool.request(options(r))
      return { statusCode: res.statusCode, headers: res.headers, body: res.body }
    },
    upgrade (r, protocol) {
      const headers: Record<string, string | string[]> = {}
      for (const name in r.headers) if (name !== 'connection' && name !== 'upgrade') headers[name] = r.headers[name]
      return new Promise<UpgradeOutcome>((resolve, reject) => {
        let body: PassThrough | undefined
        let settled = false
        const settle = (o: UpgradeOutcome) => { settled = true; resolve(o) }
        pool.dispatch({ method: r.method as Dispatcher.HttpMethod, path: base + r.path, headers, upgrade: protocol }, {
          onConnect (abort: (err?: Error) => void) {
            const signal = r.signal
            if (signal === undefined) return
            if (signal.aborted) abort(new Error('aborted'))
            else signal.addEventListener('abort', () => { if (!settled) abort(new Error('aborted')) }, { once: true })
          },
          onUpgrade (statusCode: number, rawHeaders: Buffer[] | string[] | null, socket: Duplex) {
            settle({ kind: 'upgraded', statusCode, statusText: '', rawHeaders: strings(rawHeaders), socket })
          },
          onHeaders (statusCode: number, rawHeaders: Buffer[] | string[], resume: () => void, statusText: string) {
            if (statusCode < 200) return true
            body = new PassThrough()
            body.on('drain', resume)
            settle({ kind: 'response', statusCode, statusText: statusText ?? '', rawHeaders: strings(rawHeaders), body })
            return true
          },
          onData (chunk: Buffer) { return body!.write(chunk) },
          onComplete () { body?.end() },
          onError (err: Error) {
            if (body) body.destroy(err)
            else if (!settled) { settled = true; reject(err) }
          },
        } as unknown as Dispatcher.DispatchHandler)
      })
    },
    async close () {
      await pool.close()
    },
  }
}
