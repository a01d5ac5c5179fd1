// Public surface of OPA bundles: format (read/write), signatures, and (below) delivery.
export { readBundle, readBundleStream, type ReadBundleOptions } from './read.js'
export { writeBundle, packFiles, type BundleContents } from './write.js'
export { extractFiles, type BundleSource } from './extract.js'
export { assembleBundle, regoPackagePath, MANIFEST_FILE, SIGNATURES_FILE } from './assemble.js'
export { normalizeManifest, serializeManifest } from './manifest.js'
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
