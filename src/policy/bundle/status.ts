// OPA's status API: POST <service>/status[/<partition>] with labels, per-bundle status and
// plugin states, sent on every activation success or failure. Reporting never throws and
// never blocks the bundle loop for longer than its own deadline; reports are sent one at a
// time and a newer one replaces a queued older one (only the latest state matters).
import { request, type Dispatcher } from 'undici'
import { describeError } from '../../bundle/index.js'
import { createServiceDispatcher, joinUrl, serviceHeaders, type ServiceClientOptions } from './download.js'
import type { Logger } from './telemetry.js'
import { redactUrl } from '../../redact-url.js'

/** One bundle's entry in `bundles` (OPA field names). */
export interface BundleStatusReport {
  name: string
  active_revision?: string
  last_request?: string
  last_successful_request?: string
  last_successful_download?: string
  last_successful_activation?: string
  /** Present when the last attempt failed. */
  code?: string
  message?: string
  errors?: { code: string; message: string; location?: { file: string } }[]
  http_code?: number
  size?: number
  type: 'snapshot'
  metrics?: Record<string, number>
}

export interface StatusReport {
  labels: Record<string, string>
  bundles: Record<string, BundleStatusReport>
  plugins: Record<string, { state: string }>
}

export interface StatusReporterOptions {
  service: ServiceClientOptions
  partition?: string
  labels: Record<string, string>
  timeoutSeconds: number
}

export class StatusReporter {
  readonly url: string
  readonly #opts: StatusReporterOptions
  readonly #dispatcher: Dispatcher
  readonly #ownsDispatcher: boolean
  readonly #log: Logger | undefined
  #inflight: Promise<void> | null = null
  #queued: StatusReport | null = null
  #sent = 0
  #failed = 0

  constructor (opts: StatusReporterOptions, deps: { dispatcher?: Dispatcher; logger?: Logger } = {}) {
    this.#opts = opts
    this.url = joinUrl(opts.service.url, opts.partition === undefined || opts.partition === '' ? 'status' : `status/${opts.partition}`)
    this.#dispatcher = deps.dispatcher ?? createServiceDispatcher(opts.service.tls)
    this.#ownsDispatcher = deps.dispatcher === undefined
    this.#log = deps.logger
  }

  get counts (): { sent: number; failed: number } { return { sent: this.#sent, failed: this.#failed } }

  /** Queues a report (replacing any queued one); resolves when it (or a newer one) was attempted. */
  report (bundles: Record<string, BundleStatusReport>, plugins: Record<string, { state: string }>): Promise<void> {
    this.#queued = { labels: this.#opts.labels, bundles, plugins }
    if (this.#inflight === null) this.#inflight = this.#drain()
    return this.#inflight
  }

  /** Resolves once nothing is queued or in flight. */
  async flush (): Promise<void> {
    while (this.#inflight !== null) await this.#inflight
  }

  async #drain (): Promise<void> {
    try {
      while (this.#queued !== null) {
        const r = this.#queued
        this.#queued = null
        await this.#send(r)
      }
    } finally {
      this.#inflight = null
    }
  }

  async #send (r: StatusReport): Promise<void> {
    const ms = this.#opts.timeoutSeconds * 1000
    try {
      const res = await request(this.url, {
        method: 'POST',
        headers: { ...(await serviceHeaders(this.#opts.service)), 'content-type': 'application/json' },
        body: JSON.stringify(r),
        dispatcher: this.#dispatcher,
        signal: AbortSignal.timeout(ms),
        headersTimeout: ms,
        bodyTimeout: ms
      })
      await res.body.dump().catch(() => {})
      if (res.statusCode < 200 || res.statusCode >= 300) {
        this.#failed++
        this.#log?.warn({ url: redactUrl(this.url), status: res.statusCode }, 'status report rejected')
      } else {
        this.#sent++
      }
    } catch (e) {
      this.#failed++
      this.#log?.warn({ url: redactUrl(this.url), err: describeError(e) }, 'status report failed')
    }
  }

  async close (): Promise<void> {
    await this.flush()
    if (this.#ownsDispatcher) await this.#dispatcher.close().catch(() => {})
  }
}
