// Bundle service client (OPA's bundle service API): GET <service>/<resource> with
// If-None-Match/ETag, 304 Not Modified, long polling (`Prefer: wait=N`, honoured when the
// server answers with the bundle content type), bearer token, mTLS, a cap on the response
// size and a deadline per request. The polling helpers live here too: jittered delay between
// min and max, exponential backoff after failures (the manager decides when a long poll is
// re-issued at once). A bearer token file is read again for every request, so a token rotated
// on disk (Kubernetes projected service-account tokens, Vault agent) is used at the next one.
// An error answer's body is never read into a message: a proxy that echoes the request would
// put the token and presigned query values into /readyz and the logs.
import { readFile } from 'node:fs/promises'
import { joinUrl } from '../../url-join.js'
import { STATUS_CODES } from 'node:http'
import { Agent, request, type Dispatcher } from 'undici'
import { BundleError, describeError } from '../../bundle/index.js'
import { redactUrl } from '../../redact-url.js'

export const LONG_POLL_CONTENT_TYPE = 'application/vnd.openpolicyagent.bundles'

export interface TlsClientOptions {
  /** PEM CA bundle trusted for the service (replaces the system roots). */
  ca?: string | Buffer
  /** PEM client certificate and key for mTLS. */
  cert?: string | Buffer
  key?: string | Buffer
  passphrase?: string
  servername?: string
  /** Never false in production; exposed for tests against self-signed servers. */
  rejectUnauthorized?: boolean
}

export interface ServiceClientOptions {
  /** Service base URL, e.g. `https://cp.example.com/v1`. */
  url: string
  bearerToken?: string
  /**
   * File holding the bearer token, read again (and trimmed) for every request; takes the place
   * of bearerToken. A file that cannot be read fails that request with an error naming it.
   */
  bearerTokenFile?: string
  tls?: TlsClientOptions
  /** Extra headers sent with every request. */
  headers?: Record<string, string>
}

export interface DownloaderOptions {
  service: ServiceClientOptions
  /** Path under the service URL, e.g. `bundles/authz.tar.gz`. */
  resource: string
  requestTimeoutSeconds: number
  /** When set, requests carry `Prefer: wait=<this>` and the deadline is extended by it. */
  longPollingTimeoutSeconds?: number
  /** Largest compressed body accepted. */
  maxResponseBytes: number
}

export type DownloadResult =
  | { kind: 'not-modified'; longPoll: boolean; etag: string }
  | { kind: 'bundle'; bytes: Buffer; etag: string; longPoll: boolean }

/** Joins a service URL and a resource with exactly one slash. */
export { joinUrl }

/** An undici dispatcher carrying the service's TLS client options (one per service). */
export function createServiceDispatcher (tls?: TlsClientOptions): Dispatcher {
  return new Agent({
    allowH2: false, // as with undici 7: bundles are fetched over HTTP/1.1
    connect: tls === undefined ? {} : { ...tls },
    keepAliveTimeout: 30_000
  })
}

/**
 * Authorization and static headers for one request to the service: the token file (when set)
 * is read now. Throws an Error naming the file when it cannot be read.
 */
export async function serviceHeaders (s: ServiceClientOptions): Promise<Record<string, string>> {
  const h: Record<string, string> = { ...(s.headers ?? {}) }
  const token = s.bearerTokenFile === undefined ? s.bearerToken : await readTokenFile(s.bearerTokenFile)
  if (token !== undefined && token !== '') h.authorization = `Bearer ${token}`
  return h
}

async function readTokenFile (file: string): Promise<string> {
  try {
    return (await readFile(file, 'utf8')).trim()
  } catch (e) {
    throw new Error(`cannot read bearer token file ${file}: ${describeError(e)}`, { cause: e })
  }
}

/** "HTTP 401 (Unauthorized)": the status and its standard reason phrase, nothing the server wrote. */
export function describeStatus (status: number): string {
  const phrase = STATUS_CODES[status]
  return phrase === undefined ? `HTTP ${status}` : `HTTP ${status} (${phrase})`
}

/** Downloads error carry the HTTP status for the status API's `http_code`. */
export class DownloadError extends BundleError {
  readonly httpCode: number | undefined
  constructor (url: string, reason: string, httpCode?: number, options?: { cause?: unknown }) {
    super('BOUNCER_ERR_BUNDLE_DOWNLOAD', redactUrl(url), reason, options)
    this.httpCode = httpCode
  }
}

export class BundleDownloader {
  readonly url: string
  #etag = ''
  readonly #opts: DownloaderOptions
  readonly #dispatcher: Dispatcher
  readonly #ownsDispatcher: boolean

  constructor (opts: DownloaderOptions, dispatcher?: Dispatcher) {
    this.#opts = opts
    this.url = joinUrl(opts.service.url, opts.resource)
    this.#dispatcher = dispatcher ?? createServiceDispatcher(opts.service.tls)
    this.#ownsDispatcher = dispatcher === undefined
  }

  get etag (): string { return this.#etag }

  /** Forget the ETag so the next request downloads the bundle in full (after a rejected bundle). */
  clearETag (): void { this.#etag = '' }

  /** Remember the ETag of a bundle that was accepted. */
  setETag (etag: string): void { this.#etag = etag }

  /**
   * One request. Resolves with the bundle bytes or "not modified"; throws DownloadError for
   * transport failures, timeouts, non-200/304 statuses and oversized bodies.
   */
  async fetchOnce (signal?: AbortSignal): Promise<DownloadResult> {
    const o = this.#opts
    let auth: Record<string, string>
    try {
      auth = await serviceHeaders(o.service)
    } catch (e) {
      // No request without the token: the last good bundle stays, the status names the file.
      throw new DownloadError(this.url, describeError(e), undefined, { cause: e })
    }
    const headers: Record<string, string> = { ...auth, accept: `application/gzip, ${LONG_POLL_CONTENT_TYPE}` }
    if (this.#etag !== '') headers['if-none-match'] = this.#etag
    let deadlineMs = o.requestTimeoutSeconds * 1000
    // Long polling waits for a change from the version we hold: with none held yet (no ETag),
    // the answer is due at once, and a server that holds it must not hold the start too.
    if (o.longPollingTimeoutSeconds !== undefined && this.#etag !== '') {
      headers.prefer = `wait=${o.longPollingTimeoutSeconds}`
      // The server may hold the request for the whole wait; our deadline must outlast it.
      deadlineMs += o.longPollingTimeoutSeconds * 1000
    }
    const timeout = AbortSignal.timeout(deadlineMs)
    const combined = signal === undefined ? timeout : AbortSignal.any([signal, timeout])

    let res: Dispatcher.ResponseData
    try {
      res = await request(this.url, {
        method: 'GET',
        headers,
        dispatcher: this.#dispatcher,
        signal: combined,
        headersTimeout: deadlineMs,
        bodyTimeout: deadlineMs
      })
    } catch (e) {
      throw this.#transportError(e, timeout, deadlineMs)
    }

    const ctype = String(res.headers['content-type'] ?? '')
    const longPoll = o.longPollingTimeoutSeconds !== undefined && ctype.toLowerCase().startsWith(LONG_POLL_CONTENT_TYPE)
    const etag = typeof res.headers.etag === 'string' ? res.headers.etag : ''

    if (res.statusCode === 304) {
      await res.body.dump().catch(() => {})
      return { kind: 'not-modified', longPoll, etag: this.#etag }
    }
    if (res.statusCode !== 200) {
      // The body is not read into the message: it may echo the request (token, query values).
      await res.body.dump().catch(() => {})
      throw new DownloadError(this.url, `server answered ${describeStatus(res.statusCode)}`, res.statusCode)
    }
    const declared = Number(res.headers['content-length'])
    if (Number.isFinite(declared) && declared > o.maxResponseBytes) {
      discard(res.body)
      throw new DownloadError(this.url, `response of ${declared} bytes exceeds max_compressed_bytes (${o.maxResponseBytes})`, 200)
    }
    const chunks: Buffer[] = []
    let size = 0
    try {
      for await (const chunk of res.body as AsyncIterable<Buffer>) {
        size += chunk.length
        if (size > o.maxResponseBytes) {
          discard(res.body)
          throw new DownloadError(this.url, `response exceeds max_compressed_bytes (${o.maxResponseBytes})`, 200)
        }
        chunks.push(chunk)
      }
    } catch (e) {
      if (e instanceof DownloadError) throw e
      throw this.#transportError(e, timeout, deadlineMs)
    }
    return { kind: 'bundle', bytes: Buffer.concat(chunks, size), etag, longPoll }
  }

  #transportError (e: unknown, timeout: AbortSignal, deadlineMs: number): DownloadError {
    if (timeout.aborted) return new DownloadError(this.url, `no complete response within ${deadlineMs} ms`, undefined, { cause: e })
    const code = (e as { code?: unknown } | null)?.code
    const detail = describeError(e) + (typeof code === 'string' && !describeError(e).includes(code) ? ` (${code})` : '')
    return new DownloadError(this.url, `request failed: ${detail}`, undefined, { cause: e })
  }

  async close (): Promise<void> {
    if (this.#ownsDispatcher) await this.#dispatcher.close().catch(() => {})
  }
}

/** Abandons a response body; undici reports the abort as an error nobody needs to see. */
function discard (body: Dispatcher.ResponseData['body']): void {
  body.on('error', () => {})
  body.destroy()
}

export interface PollingOptions {
  minDelaySeconds: number
  maxDelaySeconds: number
  /** Cap for the exponential backoff after failures. */
  maxBackoffSeconds: number
}

/** Jittered delay in [min, max] seconds → ms. Jitter spreads a fleet's requests apart. */
export function pollDelayMs (p: PollingOptions, random: () => number = Math.random): number {
  return Math.round((p.minDelaySeconds + (p.maxDelaySeconds - p.minDelaySeconds) * random()) * 1000)
}

/**
 * Delay after the `retry`-th consecutive failure (retry ≥ 1): min delay doubled per failure,
 * capped, with ±20% jitter so instances that failed together do not retry together.
 */
export function backoffDelayMs (p: PollingOptions, retry: number, random: () => number = Math.random): number {
  const base = Math.max(p.minDelaySeconds, 0.05) * Math.pow(2, Math.min(retry - 1, 30))
  const capped = Math.min(base, p.maxBackoffSeconds)
  return Math.round(capped * (0.8 + 0.4 * random()) * 1000)
}
