// Forwarding to the upstream with undici (one Pool per upstream origin, created at start).
// Streaming both ways: the request body is the client's stream (or the bytes already read
// for parsed_body); the response body goes straight into the client response through
// undici's stream() with backpressure, or is handed over as a Readable when it has to be
// buffered (masking). Failures are classified here: timeouts → 504, anything else before
// the response head → 502. Nothing about the failure reaches the client except the status.
import type { Readable, Writable } from 'node:stream'
import { readFileSync } from 'node:fs'
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

export interface Forwarder {
  /** The upstream's origin ("http://127.0.0.1:3000"). */
  readonly origin: string
  /** host:port of the upstream, for Host when preserve_host is off and destination.address. */
  readonly authority: string
  /** Streams the response into `sink` once `onHead` has written the head (it returns the sink to use). */
  stream (req: UpstreamRequest, onHead: (head: UpstreamHead) => Writable): Promise<void>
  /** Returns the response with its body as a Readable (for buffering/masking). */
  request (req: UpstreamRequest): Promise<UpstreamHead & { body: Readable }>
  close (): Promise<void>
}

export function createForwarder (cfg: BouncerConfig['upstream']): Forwarder {
  if (!cfg.url) throw new TypeError('upstream.url is required')
  const url = new URL(cfg.url)
  const base = url.pathname.replace(/\/+$/, '')
  const tls = cfg.tls
  const pool = new Pool(url.origin, {
    connections: cfg.connections,
    keepAliveTimeout: cfg.keep_alive_timeout_seconds * 1000,
    headersTimeout: cfg.timeout_seconds * 1000,
    bodyTimeout: cfg.body_timeout_seconds * 1000,
    connect: {
      timeout: cfg.connect_timeout_seconds * 1000,
      ...(url.protocol === 'https:'
        ? {
            ca: tls.ca_file ? readFileSync(tls.ca_file) : undefined,
            cert: tls.cert_file ? readFileSync(tls.cert_file) : undefined,
            key: tls.key_file ? readFileSync(tls.key_file) : undefined,
            servername: tls.servername,
            rejectUnauthorized: tls.reject_unauthorized,
          }
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
    async close () {
      await pool.close()
    },
  }
}
