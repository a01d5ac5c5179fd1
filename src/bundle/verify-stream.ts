// Signature verification while the archive streams, so a bundle that is not signed with a
// configured key is refused before it is inflated into memory. The rules are
// signatures.ts's (one JWS, key, algorithm, scope, a digest for every file, nothing left
// over); this file decides *when* each is applied:
//   * `.signatures.json` is verified the moment it has been read; from then on an entry it
//     does not list is refused from its tar header, before a byte of it is inflated, and
//     each listed file's digest is checked as soon as the file has been read.
//   * Entries before `.signatures.json` are held, unverified, up to MAX_UNVERIFIED_BYTES in
//     all. `bouncer build` writes `.signatures.json` first; `opa build --signing-key` writes
//     it after `/data.json`, the policies and the Wasm modules, so a larger file the loader
//     reads (data, .rego, .wasm, .manifest) is passed over without being kept, and the
//     archive is read a second time once the signature has been verified. Any other file
//     (which the loader would ignore) past that allowance is refused at once.
//   * No `.signatures.json` at all: BOUNCER_ERR_BUNDLE_UNSIGNED at the end of the archive.
import { SIGNATURES_FILE } from './assemble.js'
import { BundleError } from './bundle-error.js'
import { extractFiles, type BundleSource, type EntryGate } from './extract.js'
import { toPrepared, unsignedError, verifySignaturesFile, type PreparedVerification, type SignedFileList, type VerificationConfig } from './signatures.js'
import { resolveLimits, type BundleLimits, type VerifiedSignature } from './types.js'

/** Bytes of files kept before `.signatures.json` has been verified (all of them together). */
export const MAX_UNVERIFIED_BYTES = 1024 * 1024
/** `.signatures.json` itself: a listed file takes ~200 bytes of it, so ~20,000 files fit. */
export const MAX_SIGNATURES_BYTES = 4 * 1024 * 1024

/** Files the loader reads (src/bundle/assemble.ts, as OPA's); anything else it ignores. */
function isLoadedFile (path: string): boolean {
  const base = path.slice(path.lastIndexOf('/') + 1)
  return base === 'data.json' || base === 'data.yaml' || base === 'data.yml' || base === '.manifest' ||
    path.endsWith('.rego') || path.endsWith('.wasm')
}

/** One read of the archive under a signature: before it (first read) or with it known (second). */
class SignatureGate implements EntryGate {
  readonly #pv: PreparedVerification
  #list: SignedFileList | null
  /** Files before the signature, held until it is verified. */
  readonly #held = new Map<string, Buffer>()
  #heldBytes = 0
  /** Bytes of files the loader does not read, passed before the signature. */
  #otherBytes = 0
  /** A file before the signature was passed over: the archive must be read again. */
  deferred = false

  constructor (pv: PreparedVerification, list: SignedFileList | null = null) {
    this.#pv = pv
    this.#list = list
  }

  get list (): SignedFileList | null {
    return this.#list
  }

  admit (path: string, size: number): 'keep' | 'skip' | 'stop' {
    if (this.#list !== null) {
      // Everything before the signature is read again, checked, on the second read.
      if (this.deferred) return 'stop'
      this.#list.admit(path)
      return 'keep'
    }
    if (path === SIGNATURES_FILE) {
      if (size > MAX_SIGNATURES_BYTES) {
        throw new BundleError('BOUNCER_ERR_BUNDLE_TOO_LARGE', SIGNATURES_FILE, `declared size ${size} exceeds the ${MAX_SIGNATURES_BYTES} bytes allowed for the signature file`)
      }
      return 'keep'
    }
    if (!isLoadedFile(path)) {
      if (this.#otherBytes + size > MAX_UNVERIFIED_BYTES) {
        throw new BundleError('BOUNCER_ERR_BUNDLE_SIGNATURE', path,
          `comes before ${SIGNATURES_FILE} and is no file the bundle loader reads; such files may take only ${MAX_UNVERIFIED_BYTES} bytes ahead of the signature (this one declares ${size})`)
      }
      this.#otherBytes += size
    }
    if (this.deferred) return 'skip'
    if (this.#heldBytes + size <= MAX_UNVERIFIED_BYTES) {
      this.#heldBytes += size
      return 'keep'
    }
    // Too much to hold unverified: pass over it now, read it again once the signature is verified.
    this.deferred = true
    this.#held.clear()
    this.#heldBytes = 0
    return 'skip'
  }

  async accept (path: string, body: Buffer): Promise<void> {
    if (this.#list !== null) {
      this.#list.check(path, body)
      return
    }
    if (path !== SIGNATURES_FILE) {
      if (!this.deferred) this.#held.set(path, body)
      return
    }
    const list = await verifySignaturesFile(body, this.#pv)
    this.#list = list
    if (this.deferred) return
    for (const p of [...this.#held.keys()].sort()) list.check(p, this.#held.get(p)!)
    this.#held.clear()
  }
}

export interface VerifiedFiles {
  files: Map<string, Buffer>
  signature: VerifiedSignature
}

/**
 * Extracts a bundle that must be signed with one of the configured keys, verifying as it
 * streams (see the file comment). A stream source is first collected, compressed and within
 * max_compressed_bytes, since a bundle signed after its data is read twice.
 */
export async function extractVerified (source: BundleSource, limits: BundleLimits | undefined, cfg: VerificationConfig | PreparedVerification, label: string): Promise<VerifiedFiles> {
  const pv = toPrepared(cfg)
  const bytes = source instanceof Uint8Array ? source : await collect(source, limits, label)
  const first = new SignatureGate(pv)
  const files = await extractFiles(bytes, limits, label, { gate: first })
  const list = first.list
  if (list === null) throw unsignedError(label)
  if (!first.deferred) return { files, signature: list.finish() }
  const again = await extractFiles(bytes, limits, label, { gate: new SignatureGate(pv, list) })
  return { files: again, signature: list.finish() }
}

async function collect (source: AsyncIterable<Uint8Array>, limits: BundleLimits | undefined, label: string): Promise<Buffer> {
  const max = resolveLimits(limits).maxCompressedBytes
  const chunks: Buffer[] = []
  let n = 0
  for await (const c of source) {
    n += c.length
    if (n > max) throw new BundleError('BOUNCER_ERR_BUNDLE_TOO_LARGE', label, `compressed size exceeds max_compressed_bytes (${max})`)
    chunks.push(Buffer.from(c.buffer, c.byteOffset, c.byteLength))
  }
  return Buffer.concat(chunks, n)
}
