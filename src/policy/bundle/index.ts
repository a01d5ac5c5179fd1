// Public surface of OPA bundles: format (read/write), signatures, and (below) delivery.
export { readBundle, readBundleStream, type ReadBundleOptions } from './read.js'
export { writeBundle, packFiles, type BundleContents } from './write.js'
export { extractFiles, type BundleSource } from './extract.js'
export { assembleBundle, regoPackagePath, MANIFEST_FILE, SIGNATURES_FILE } from './assemble.js'
export { normalizeManifest, regoVersionForFile, serializeManifest } from './manifest.js'
export {
  signBundleFiles, verifyBundleSignature, prepareVerification,
  type SignOptions, type VerificationConfig, type VerificationKey, type PreparedVerification, type HashAlgorithm, type KeyMaterial
} from './signatures.js'
export { canonicalJsonText, canonicalValue, fileDigest, isStructuredFile } from './canonical.js'
export { BundleError, isBundleError, type BundleErrorCode } from './bundle-error.js'
export {
  DEFAULT_LIMITS, SIGNING_ALGORITHMS, isSigningAlgorithm,
  type BundleLimits, type BundleManifest, type LoadedBundle, type RegoFile, type WasmModuleFile,
  type WasmResolver, type VerifiedSignature, type SigningAlgorithm
} from './types.js'

// Delivery: download, persistence, status API, and the manager tying them together.
export {
  BundleDownloader, DownloadError, LONG_POLL_CONTENT_TYPE, joinUrl, createServiceDispatcher, pollDelayMs, backoffDelayMs,
  type DownloaderOptions, type DownloadResult, type ServiceClientOptions, type TlsClientOptions, type PollingOptions
} from './download.js'
export { BundlePersistence, type PersistedBundle, type PersistedMeta } from './persist.js'
export { StatusReporter, type StatusReport, type BundleStatusReport, type StatusReporterOptions } from './status.js'
export { resolveBundleManagerConfig, type BundleManagerConfig, type ResolvedBundleManagerConfig, type BundleServiceConfig } from './config.js'
export { BundleManager, type BundleManagerDeps, type BundleManagerStatus, type BundleFailure, type ManagerState } from './manager.js'
export { noopMetrics, type BundleMetrics, type Logger } from './telemetry.js'
