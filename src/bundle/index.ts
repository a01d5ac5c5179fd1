// The OPA bundle format, shared by the compiler's `bouncer build` (writing) and the policy
// loader and bundle manager (reading): the archive (tar + gzip), the `.manifest`, canonical
// JSON and file digests, signatures (sign and verify), and the facts Bouncer's compiler records
// in the manifest (./facts). Delivery (download, persistence, status) is src/policy/bundle.
export { readBundle, readBundleStream, type ReadBundleOptions } from './read.js'
export { writeBundle, packFiles, type BundleContents } from './write.js'
export { extractFiles, type BundleSource, type EntryGate, type ExtractOptions } from './extract.js'
export { extractVerified, MAX_SIGNATURES_BYTES, MAX_UNVERIFIED_BYTES, type VerifiedFiles } from './verify-stream.js'
export { assembleBundle, MANIFEST_FILE, SIGNATURES_FILE } from './assemble.js'
export { normalizeManifest, regoVersionForFile, serializeManifest } from './manifest.js'
export {
  signBundleFiles, verifyBundleSignature, verifySignaturesFile, SignedFileList, prepareVerification, sha256Hex,
  type SignOptions, type VerificationConfig, type VerificationKey, type PreparedVerification, type HashAlgorithm, type KeyMaterial
} from './signatures.js'
export {
  BOUNCER_METADATA_KEY, bouncerMetadata, readEntrypointFacts,
  type BouncerBundleMetadata, type EntrypointFactsInput, type ReadEntrypointFacts, type RecordedEntrypointFacts
} from './facts.js'
export { canonicalJsonText, canonicalValue, fileDigest, isStructuredFile } from './canonical.js'
export { BundleError, describeError, isBundleError, type BundleErrorCode } from './bundle-error.js'
export {
  DEFAULT_LIMITS, SIGNING_ALGORITHMS, isSigningAlgorithm, resolveLimits,
  type BundleLimits, type BundleManifest, type LoadedBundle, type RegoFile, type WasmModuleFile,
  type WasmResolver, type VerifiedSignature, type SigningAlgorithm
} from './types.js'
