// Bundle delivery: download, persistence, status API, and the manager tying them together.
// The bundle format itself (read, write, sign, verify, manifest) is src/bundle.
export {
  BundleDownloader, DownloadError, LONG_POLL_CONTENT_TYPE, joinUrl, createServiceDispatcher, pollDelayMs, backoffDelayMs,
  type DownloaderOptions, type DownloadResult, type ServiceClientOptions, type TlsClientOptions, type PollingOptions
} from './download.js'
export { BundlePersistence, type PersistedBundle, type PersistedMeta } from './persist.js'
export { StatusReporter, type StatusReport, type BundleStatusReport, type StatusReporterOptions } from './status.js'
export { resolveBundleManagerConfig, type BundleManagerConfig, type ResolvedBundleManagerConfig, type BundleServiceConfig } from './config.js'
export { BundleManager, type BundleManagerDeps, type BundleManagerStatus, type BundleFailure, type ManagerState } from './manager.js'
export { noopMetrics, type BundleMetrics, type Logger } from './telemetry.js'
