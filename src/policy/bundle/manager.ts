// Background component that keeps one bundle active: validate config → construct →
// start/stop, with a small status enum (NOT_READY, OK, WARN, ERROR) that drives readiness.
// Each cycle is download → verify (readBundle with the signing keys) → activate (injected)
// → persist → report. Any failure leaves the previously activated bundle in place, is
// logged, counted by reason and reported to the status API.
import { setTimeout as sleep } from 'node:timers/promises'
import type { Dispatcher } from 'undici'
import { BundleError, describeError, readBundle, sha256Hex, type LoadedBundle } from '../../bundle/index.js'
import { resolveBundleManagerConfig, type BundleManagerConfig, type ResolvedBundleManagerConfig } from './config.js'
import { backoffDelayMs, BundleDownloader, createServiceDispatcher, DownloadError, pollDelayMs } from './download.js'
import { BundlePersistence } from './persist.js'
import { StatusReporter, type BundleStatusReport } from './status.js'
import { noopMetrics, type BundleMetrics, type Logger } from './telemetry.js'
import { redactUrl } from '../../redact-url.js'

export type ManagerState = 'NOT_READY' | 'OK' | 'WARN' | 'ERROR'

export interface BundleManagerDeps {
  /**
   * Makes the bundle the one new requests use (loadPolicyFromBundle + PolicyHolder.activate).
   * Must throw, leaving the previous policy active, when the bundle cannot be used.
   */
  activate: (bundle: LoadedBundle) => Promise<void>
  metrics?: BundleMetrics
  logger?: Logger
  /** Shared HTTP dispatcher (otherwise one is built from the service's TLS options). */
  dispatcher?: Dispatcher
  /** Injectable for deterministic tests of jitter and backoff. */
  random?: () => number
}

export interface BundleFailure {
  code: string
  kind: string
  file: string
  reason: string
  message: string
  httpCode?: number
  at: string
}

export interface BundleManagerStatus {
  state: ManagerState
  activeRevision: string | null
  /** Where the active bundle came from. */
  source: 'service' | 'persisted' | null
  lastError: BundleFailure | null
  lastRequest: string | null
  lastSuccessfulRequest: string | null
  lastSuccessfulDownload: string | null
  lastSuccessfulActivation: string | null
  /** Completed cycles (requests), for observers that wait for "the next attempt". */
  cycles: number
  consecutiveFailures: number
}

/**
 * ok: `now` when the next request may follow at once — a long poll that ended because the
 * bundle changed, or one the server held for the wait; otherwise the poll delay applies.
 */
type CycleOutcome = { ok: true; now: boolean } | { ok: false }

/**
 * A signature's iat as a point to compare, or undefined: one in the future (past five minutes of
 * clock skew: milliseconds for seconds, a wrong clock) would otherwise win every comparison, and
 * with refuse_rollback every correct bundle after it was refused (second review, session 52).
 */
function plausibleIat (iat: number | undefined): number | undefined {
  return iat !== undefined && iat > 0 && iat <= Date.now() / 1000 + 300 ? iat : undefined
}

/**
 * The least time a "nothing new" long-poll answer must have been held to count as a long poll:
 * 1 s, or half the wait when that is shorter. A server that answers at once (ignoring
 * `Prefer: wait`, or anything at its address answering with the long-poll content type) is
 * polled at the normal delay instead of in a tight loop.
 */
export function longPollHeldMs (longPollingTimeoutSeconds: number): number {
  return Math.min(1000, longPollingTimeoutSeconds * 500)
}

export class BundleManager {
  readonly config: ResolvedBundleManagerConfig
  readonly #deps: BundleManagerDeps
  readonly #metrics: BundleMetrics
  readonly #log: Logger | undefined
  readonly #dispatcher: Dispatcher
  readonly #ownsDispatcher: boolean
  readonly #downloader: BundleDownloader
  readonly #reporter: StatusReporter | null
  readonly #persistence: BundlePersistence | null
  #active: LoadedBundle | null = null
  #activeSha = ''
  #activeSize = 0
  #source: 'service' | 'persisted' | null = null
  #lastError: BundleFailure | null = null
  #times = { lastRequest: null as string | null, lastSuccessfulRequest: null as string | null, lastSuccessfulDownload: null as string | null, lastSuccessfulActivation: null as string | null }
  #cycles = 0
  #failures = 0
  #attempted = false
  #abort: AbortController | null = null
  #loop: Promise<void> | null = null

  /** Validates the config (throws BOUNCER_ERR_BUNDLE_CONFIG) and builds the parts; no I/O. */
  constructor (config: BundleManagerConfig, deps: BundleManagerDeps) {
    this.config = resolveBundleManagerConfig(config)
    if (typeof deps?.activate !== 'function') throw new BundleError('BOUNCER_ERR_BUNDLE_CONFIG', 'activate', 'an activate(bundle) function is required')
    this.#deps = deps
    this.#metrics = deps.metrics ?? noopMetrics
    this.#log = deps.logger
    this.#dispatcher = deps.dispatcher ?? createServiceDispatcher(this.config.service.tls)
    this.#ownsDispatcher = deps.dispatcher === undefined
    const c = this.config
    this.#downloader = new BundleDownloader({
      service: c.service,
      resource: c.resource,
      requestTimeoutSeconds: c.requestTimeoutSeconds,
      ...(c.polling.longPollingTimeoutSeconds === undefined ? {} : { longPollingTimeoutSeconds: c.polling.longPollingTimeoutSeconds }),
      maxResponseBytes: c.limits.maxCompressedBytes
    }, this.#dispatcher)
    this.#reporter = c.status.enabled
      ? new StatusReporter({ service: c.service, labels: { id: c.name, version: 'bouncer', ...c.status.labels }, timeoutSeconds: c.status.timeoutSeconds, ...(c.status.partition === undefined ? {} : { partition: c.status.partition }) }, { dispatcher: this.#dispatcher, ...(this.#log === undefined ? {} : { logger: this.#log }) })
      : null
    this.#persistence = c.persistDir === undefined ? null : new BundlePersistence(c.persistDir, c.name)
  }

  get active (): LoadedBundle | null { return this.#active }
  /** The bundle's URL as it may be shown (credentials in it redacted). */
  get url (): string { return redactUrl(this.#downloader.url) }

  status (): BundleManagerStatus {
    let state: ManagerState
    if (this.#active !== null) state = this.#failures > 0 ? 'WARN' : 'OK'
    else state = this.#attempted ? 'ERROR' : 'NOT_READY'
    return {
      state,
      activeRevision: this.#active?.manifest.revision ?? null,
      source: this.#source,
      lastError: this.#lastError,
      ...this.#times,
      cycles: this.#cycles,
      consecutiveFailures: this.#failures
    }
  }

  /**
   * Activates the persisted last good bundle when there is one (as OPA loads it from disk
   * before its first download), then asks the service: in the background when a bundle is
   * active already, else once before resolving (so status() tells the caller whether a policy
   * is active), and keeps polling in the background. A service that accepts and never answers
   * cannot hold the start (and the startup probe) while a good bundle is on disk.
   */
  async start (): Promise<void> {
    if (this.#abort !== null) throw new Error('BundleManager already started')
    const abort = new AbortController()
    this.#abort = abort
    if (this.#persistence !== null && await this.#loadPersisted()) {
      this.#loop = (async () => { await this.#run(await this.#cycle(abort.signal), abort.signal) })()
      return
    }
    const outcome = await this.#cycle(abort.signal)
    this.#loop = this.#run(outcome, abort.signal)
  }

  async stop (): Promise<void> {
    this.#abort?.abort()
    await this.#loop
    this.#loop = null
    await this.#downloader.close()
    await this.#reporter?.close()
    if (this.#ownsDispatcher) await this.#dispatcher.close().catch(() => {})
  }

  async #run (first: CycleOutcome, signal: AbortSignal): Promise<void> {
    let outcome = first
    while (!signal.aborted) {
      const p = this.config.polling
      const delay = outcome.ok
        ? (outcome.now ? 0 : pollDelayMs(p, this.#deps.random))
        // Failures back off, including rejected bundles: with long polling a server that keeps
        // serving a bad bundle would otherwise be re-requested in a tight loop.
        : backoffDelayMs(p, Math.max(1, this.#failures), this.#deps.random)
      if (delay > 0) {
        try {
          await sleep(delay, undefined, { signal })
        } catch {
          return
        }
      }
      if (signal.aborted) return
      outcome = await this.#cycle(signal)
    }
  }

  /** One request → (verify → activate → persist) → report. Never throws. */
  async #cycle (signal: AbortSignal): Promise<CycleOutcome> {
    const now = (): string => new Date().toISOString()
    this.#times.lastRequest = now()
    const sentAt = performance.now()
    let result
    try {
      result = await this.#downloader.fetchOnce(signal)
    } catch (e) {
      if (signal.aborted) return { ok: false }
      this.#metrics.incDownload?.(this.config.name, 'error')
      this.#downloader.clearETag()
      await this.#fail(e instanceof BundleError ? e : new DownloadError(this.url, describeError(e)), 'download')
      return { ok: false }
    } finally {
      this.#cycles++
      this.#attempted = true
    }
    this.#times.lastSuccessfulRequest = now()
    this.#metrics.incDownload?.(this.config.name, result.kind === 'not-modified' ? '304' : '200')
    // An answer saying nothing changed ends a long poll only once the server held it; the
    // hold is measured here, since the server's say-so (the content type) is all we have.
    const unchanged = (): CycleOutcome => {
      const lp = this.config.polling.longPollingTimeoutSeconds
      const heldMs = performance.now() - sentAt
      const held = result.longPoll && lp !== undefined && heldMs >= longPollHeldMs(lp)
      if (result.longPoll && !held) this.#log?.debug({ bundle: this.config.name, heldMs: Math.round(heldMs) }, 'long poll answered without waiting; next request after the poll delay')
      return { ok: true, now: held }
    }
    if (result.kind === 'not-modified') {
      if (this.#active === null) {
        // Nothing active to be unchanged: reported as the failure it is, not as ERROR without
        // a reason (a server answering 304 to a request without If-None-Match).
        this.#downloader.clearETag()
        await this.#fail(new BundleError('BOUNCER_ERR_BUNDLE_DOWNLOAD', this.url, 'the server answered 304 Not Modified, but no bundle is active'), 'download')
        return { ok: false }
      }
      this.#succeeded()
      return unchanged()
    }
    this.#times.lastSuccessfulDownload = now()
    const sha = sha256Hex(result.bytes)
    if (this.#active !== null && sha === this.#activeSha) {
      // Same bytes as the active bundle (a server without ETags, or a restart): nothing to do.
      this.#downloader.setETag(result.etag)
      this.#source = 'service'
      this.#succeeded()
      return unchanged()
    }
    const ok = await this.#verifyAndActivate(result.bytes, sha, 'service')
    if (ok) this.#downloader.setETag(result.etag)
    else this.#downloader.clearETag()
    // A new bundle ends a long poll early by design: ask for the next change at once.
    return ok ? { ok: true, now: result.longPoll } : { ok: false }
  }

  async #verifyAndActivate (bytes: Buffer, sha: string, source: 'service' | 'persisted'): Promise<boolean> {
    const label = source === 'service' ? this.url : (this.#persistence?.archivePath ?? 'persisted bundle')
    let bundle: LoadedBundle
    try {
      bundle = await readBundle(bytes, this.config.limits, {
        label,
        ...(this.config.signing === undefined ? {} : { verification: this.config.signing })
      })
    } catch (e) {
      await this.#fail(e instanceof BundleError ? e : new BundleError('BOUNCER_ERR_BUNDLE_TAR', label, describeError(e), { cause: e }), 'verify')
      return false
    }
    const revision = bundle.manifest.revision
    if (!await this.#rollbackAllowed(bundle, label)) return false
    try {
      await this.#deps.activate(bundle)
    } catch (e) {
      await this.#fail(new BundleError('BOUNCER_ERR_BUNDLE_ACTIVATION', revision === '' ? '(no revision)' : revision, describeError(e), { cause: e }), 'activate')
      return false
    }
    const previous = this.#active?.manifest.revision ?? null
    this.#active = bundle
    this.#activeSha = sha
    this.#activeSize = bytes.length
    this.#source = source
    this.#times.lastSuccessfulActivation = new Date().toISOString()
    this.#succeeded()
    this.#metrics.setRevision(this.config.name, revision)
    this.#metrics.setLastSuccess(this.config.name, Math.floor(Date.now() / 1000))
    this.#log?.info({ bundle: this.config.name, revision, previous, source, signed: bundle.signature !== undefined }, 'bundle activated')
    if (source === 'service' && this.#persistence !== null) {
      try {
        await this.#persistence.save(bytes, { revision, etag: '' })
      } catch (e) {
        // The bundle is active; only the restart-while-offline guarantee is degraded.
        this.#metrics.incFailure(this.config.name, 'persist')
        this.#log?.warn({ bundle: this.config.name, err: describeError(e) }, 'cannot persist bundle')
      }
    }
    this.#report()
    return true
  }

  /**
   * A signed bundle issued before the active one (both signatures carry iat) is a rollback to an
   * older revision: a bundle server or a cache replaying it can undo a policy change with a
   * valid signature. Refused with bundles.signing.refuse_rollback, else logged (as OPA, which
   * activates it silently).
   */
  async #rollbackAllowed (bundle: LoadedBundle, label: string): Promise<boolean> {
    const iat = plausibleIat(bundle.signature?.issuedAt)
    const activeIat = plausibleIat(this.#active?.signature?.issuedAt)
    if (iat === undefined || activeIat === undefined || iat >= activeIat) return true
    const when = (s: number): string => { const d = new Date(s * 1000); return Number.isNaN(d.getTime()) ? String(s) : d.toISOString() }
    const what = `revision ${JSON.stringify(bundle.manifest.revision)} was signed at ${when(iat)}, before the active revision ${JSON.stringify(this.#active!.manifest.revision)} (signed at ${when(activeIat)})`
    if (this.config.refuseRollback) {
      await this.#fail(new BundleError('BOUNCER_ERR_BUNDLE_ROLLBACK', label, `${what}: refused (bundles.signing.refuse_rollback)`), 'verify')
      return false
    }
    this.#log?.warn({ bundle: this.config.name, revision: bundle.manifest.revision, signed_at: when(iat), active_revision: this.#active!.manifest.revision, active_signed_at: when(activeIat) },
      'activating a bundle signed before the active one (a rollback to an older signed revision; bundles.signing.refuse_rollback refuses it)')
    return true
  }

  async #loadPersisted (): Promise<boolean> {
    let persisted
    try {
      persisted = await this.#persistence!.load(this.config.limits.maxCompressedBytes)
    } catch (e) {
      await this.#fail(e instanceof BundleError ? e : new BundleError('BOUNCER_ERR_BUNDLE_PERSIST', this.#persistence!.dir, describeError(e)), 'persisted')
      return false
    }
    if (persisted === null) return false
    this.#log?.info({ bundle: this.config.name, path: this.#persistence!.archivePath, revision: persisted.meta?.revision }, 'loading the persisted bundle; the service is asked next')
    // Keep the failure count: the service is still failing, so the state is WARN, not OK.
    const failures = this.#failures
    const lastError = this.#lastError
    const ok = await this.#verifyAndActivate(persisted.bytes, sha256Hex(persisted.bytes), 'persisted')
    if (ok) {
      this.#failures = failures
      this.#lastError = lastError
    }
    return ok
  }

  #succeeded (): void {
    this.#failures = 0
    this.#lastError = null
  }

  async #fail (e: BundleError, stage: string): Promise<void> {
    this.#failures++
    const httpCode = e instanceof DownloadError ? e.httpCode : undefined
    this.#lastError = {
      code: e.code,
      kind: e.kind,
      file: e.file,
      reason: e.reason,
      message: e.message,
      ...(httpCode === undefined ? {} : { httpCode }),
      at: new Date().toISOString()
    }
    this.#metrics.incFailure(this.config.name, e.kind)
    this.#log?.warn({
      bundle: this.config.name,
      stage,
      code: e.code,
      file: e.file,
      reason: e.reason,
      activeRevision: this.#active?.manifest.revision ?? null
    }, this.#active === null ? 'bundle rejected; no policy active' : 'bundle rejected; previous policy stays active')
    this.#report()
  }

  #report (): void {
    if (this.#reporter === null) return
    const s = this.status()
    const b: BundleStatusReport = { name: this.config.name, type: 'snapshot' }
    if (s.activeRevision !== null) b.active_revision = s.activeRevision
    if (s.lastRequest !== null) b.last_request = s.lastRequest
    if (s.lastSuccessfulRequest !== null) b.last_successful_request = s.lastSuccessfulRequest
    if (s.lastSuccessfulDownload !== null) b.last_successful_download = s.lastSuccessfulDownload
    if (s.lastSuccessfulActivation !== null) b.last_successful_activation = s.lastSuccessfulActivation
    if (this.#active !== null) b.size = this.#activeSize
    if (s.lastError !== null) {
      b.code = 'bundle_error'
      b.message = s.lastError.message
      b.errors = [{ code: s.lastError.code, message: s.lastError.reason, location: { file: s.lastError.file } }]
      if (s.lastError.httpCode !== undefined) b.http_code = s.lastError.httpCode
    }
    // Not awaited: a slow status endpoint must not delay the next bundle.
    void this.#reporter.report({ [this.config.name]: b }, { bundle: { state: s.state } })
  }

  /** Resolves when queued status reports were attempted (tests, shutdown). */
  async flushStatus (): Promise<void> {
    await this.#reporter?.flush()
  }
}
