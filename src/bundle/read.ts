import { assembleBundle, SIGNATURES_FILE } from './assemble.js'
import { BundleError } from './bundle-error.js'
import { extractFiles, type BundleSource, type EntryGate } from './extract.js'
import type { PreparedVerification, VerificationConfig } from './signatures.js'
import type { BundleLimits, LoadedBundle, VerifiedSignature } from './types.js'
import { extractVerified } from './verify-stream.js'

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

/** Without keys, a signed bundle is refused as soon as its `.signatures.json` shows up. */
const refuseSigned: EntryGate = {
  admit: (path) => {
    if (path === SIGNATURES_FILE) throw new BundleError('BOUNCER_ERR_BUNDLE_SIGNATURE', SIGNATURES_FILE, 'the bundle is signed but no verification keys are configured')
    return 'keep'
  },
  accept: () => {}
}

/**
 * Reads an OPA bundle (gzip'd tar). Limits are enforced while streaming, so a bomb is
 * refused before it is inflated. With verification keys, the signature is checked as the
 * archive streams (src/bundle/verify-stream.ts): a file it does not cover is refused before
 * its bytes are read, and at most 1 MiB is held before `.signatures.json` is verified.
 * Throws BundleError naming the file at fault and the reason.
 */
export async function readBundle (bytes: Uint8Array, limits?: BundleLimits, options: ReadBundleOptions = {}): Promise<LoadedBundle> {
  return await readBundleStream(bytes, limits, options)
}

/**
 * readBundle over a stream (an HTTP body, a file stream). Without verification keys it is
 * not buffered first; with them it is collected compressed (within max_compressed_bytes),
 * since a bundle signed after its data (as `opa build` writes it) is read twice.
 */
export async function readBundleStream (source: BundleSource, limits?: BundleLimits, options: ReadBundleOptions = {}): Promise<LoadedBundle> {
  const label = options.label ?? 'archive'
  let files: Map<string, Buffer>
  let signature: VerifiedSignature | undefined
  if (options.verification !== undefined) {
    ({ files, signature } = await extractVerified(source, limits, options.verification, label))
  } else {
    files = await extractFiles(source, limits, label, options.skipVerification === true ? {} : { gate: refuseSigned })
  }
  const bundle = assembleBundle(files)
  if (signature !== undefined) bundle.signature = signature
  return bundle
}
