import { assembleBundle, SIGNATURES_FILE } from './assemble.js'
import { BundleError } from './bundle-error.js'
import { extractFiles, type BundleSource } from './extract.js'
import { verifyBundleSignature, type PreparedVerification, type VerificationConfig } from './signatures.js'
import type { BundleLimits, LoadedBundle } from './types.js'

export interface ReadBundleOptions {
  /** Names the archive in errors about it as a whole (a URL, a file path). */
  label?: string
  /** Verification keys: when set, the bundle must carry a valid `.signatures.json`. */
  verification?: VerificationConfig | PreparedVerification
  /**
   * A signed bundle read without `verification` is refused (as OPA does: a signature
   * nobody checks proves nothing). Set this to load it anyway, e.g. to inspect it.
   */
  skipVerification?: boolean
}

/**
 * Reads an OPA bundle (gzip'd tar). Limits are enforced while streaming, so a bomb is
 * refused before it is inflated. Signatures are checked before any data file is parsed.
 * Throws BundleError naming the file at fault and the reason.
 */
export async function readBundle (bytes: Uint8Array, limits?: BundleLimits, options: ReadBundleOptions = {}): Promise<LoadedBundle> {
  return await readBundleStream(bytes, limits, options)
}

/** readBundle over a stream (an HTTP body, a file stream) without buffering it first. */
export async function readBundleStream (source: BundleSource, limits?: BundleLimits, options: ReadBundleOptions = {}): Promise<LoadedBundle> {
  const label = options.label ?? 'archive'
  const files = await extractFiles(source, limits, label)
  let signature
  if (options.verification !== undefined) {
    signature = await verifyBundleSignature(files, options.verification, label)
  } else if (files.has(SIGNATURES_FILE) && options.skipVerification !== true) {
    throw new BundleError('BOUNCER_ERR_BUNDLE_SIGNATURE', SIGNATURES_FILE, 'the bundle is signed but no verification keys are configured')
  }
  const bundle = assembleBundle(files)
  if (signature !== undefined) bundle.signature = signature
  return bundle
}
