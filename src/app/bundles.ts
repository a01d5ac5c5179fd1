// Policy bundles from a bundle server (src/policy/bundle) from config.bundles. Imported by compose
// only when bundles.service_url is set.
import type { Logger } from 'pino'
import type { BouncerConfig } from '../config/index.js'
import type { Metrics } from '../metrics/index.js'
import { BundleManager } from '../policy/bundle/index.js'
import type { PolicyHolder } from '../policy/holder.js'
import { loadPolicyFromBundle, type LoadedPolicy, type LoadPolicyOptions } from '../policy/load.js'
import { readOptionalFile, readTlsFiles } from './tls.js'
import { signingFromConfig } from './bundle-signing.js'
import { redactUrl } from '../redact-url.js'

export interface BundleDeps {
  readonly holder: PolicyHolder
  readonly entrypoint: string
  readonly policyOptions: LoadPolicyOptions
  readonly metrics: Metrics
  readonly log: Logger
  readonly production: boolean
  readonly allowInsecure: boolean
}

/**
 * The bundle poller described by the slice, or undefined without a service_url. `which`: another
 * bundle on the same service, with the same signing keys and limits (the shadow policy's,
 * bundles.shadow_resource): its name (metrics, logs, its own persisted copy), resource, and what
 * activating it does.
 */
export function fromConfig (b: BouncerConfig['bundles'], deps: BundleDeps,
  which?: { name: string; resource: string; scope?: string; activate: (policy: LoadedPolicy) => void; onError?: (e: unknown) => void }): BundleManager | undefined {
  if (!b.service_url) return undefined
  const { holder, metrics } = deps
  const signing = signingFromConfig(b, which === undefined ? b.signing.scope : which.scope)
  const name = which?.name ?? 'bouncer'
  const resource = which?.resource ?? b.resource
  const activate = which?.activate ?? ((p: LoadedPolicy) => holder.activate(p))
  // Only this bundle's revision series is replaced (another manager's stays).
  let shownRevision: string | undefined
  // The token file is read here once so that a missing one is a config error at start; the
  // downloader reads it again for every request (tokens are rotated on disk).
  readOptionalFile(b.bearer_token_file, 'bundles.bearer_token_file', { trim: true })
  return new BundleManager({
    name,
    service: {
      url: b.service_url,
      ...(b.bearer_token_file === undefined ? {} : { bearerTokenFile: b.bearer_token_file }),
      tls: readTlsFiles(b.tls, 'bundles.tls'),
    },
    resource,
    polling: {
      minDelaySeconds: b.polling.min_delay_seconds,
      maxDelaySeconds: b.polling.max_delay_seconds,
      ...(b.polling.long_polling_timeout_seconds > 0 ? { longPollingTimeoutSeconds: b.polling.long_polling_timeout_seconds } : {}),
    },
    limits: { maxCompressedBytes: b.max_bundle_bytes, maxTotalBytes: b.max_bundle_bytes, maxFileBytes: b.max_file_bytes },
    ...(signing === undefined ? {} : { signing }),
    refuseRollback: b.signing.refuse_rollback,
    persistDir: b.persist_dir,
    production: deps.production,
    allowInsecureHttp: deps.allowInsecure,
    allowUnsigned: deps.allowInsecure || !deps.production,
  }, {
    activate: async (bundle) => {
      let policy: LoadedPolicy
      try {
        policy = await loadPolicyFromBundle(bundle, deps.entrypoint, { ...deps.policyOptions, bundleName: name, source: redactUrl(`${b.service_url}/${resource}`) })
      } catch (e) {
        which?.onError?.(e)
        throw e
      }
      activate(policy)
    },
    metrics: {
      setRevision: (bundle, revision) => {
        if (shownRevision !== undefined) metrics.bundleRevision.remove({ name: bundle, revision: shownRevision })
        shownRevision = revision
        metrics.bundleRevision.set({ name: bundle, revision }, 1)
      },
      setLastSuccess: (bundle, seconds) => metrics.bundleLastSuccess.set({ name: bundle }, seconds),
      incFailure: (bundle, reason) => metrics.bundleFailures.inc({ name: bundle, reason }),
      incDownload: (bundle, outcome) => metrics.bundleDownloads.inc({ name: bundle, outcome }),
    },
    logger: deps.log,
  })
}
