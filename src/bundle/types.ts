/** One `wasm` entry of the manifest: which module answers which entrypoint. */
export interface WasmResolver {
  /** Slash-separated rule path, e.g. `http/authz/allow`. */
  entrypoint: string
  /** Bundle path of the module, with a leading slash, e.g. `/policy.wasm`. */
  module: string
}

/** The `.manifest` file (OPA's field names). */
export interface BundleManifest {
  revision: string
  /** Path prefixes this bundle owns; `[""]` (everything) when the manifest omits them. */
  roots: string[]
  wasm?: WasmResolver[]
  metadata?: Record<string, unknown>
  /** Rego version of the bundle's .rego sources (0 or 1), as `opa build` writes it. */
  rego_version?: number
  /** Rego version per file: glob patterns over bundle paths (`/a/b.rego`, `*` matches across
   *  directories) to 0 or 1; a matching pattern wins over rego_version (OPA 1.x). */
  file_rego_versions?: Record<string, number>
}

export interface RegoFile {
  /** Bundle path without a leading slash, e.g. `authz/policy.rego`. */
  path: string
  source: string
}

export interface WasmModuleFile {
  /** Bundle path with a leading slash, as manifests reference it: `/policy.wasm`. */
  path: string
  bytes: Uint8Array
  entrypoints: string[]
}

export interface LoadedBundle {
  manifest: BundleManifest
  /** The one Wasm module, or null when the bundle carries only Rego (to be compiled). */
  wasm: Uint8Array | null
  data: Record<string, unknown>
  rego: RegoFile[]
  /** Every file in the archive (no leading slash, sorted), `.signatures.json` included. */
  files: string[]
  /** Every Wasm module (today at most one; see readBundle). */
  wasmModules: WasmModuleFile[]
  /** Present when the bundle carried `.signatures.json` and it was verified. */
  signature?: VerifiedSignature
}

export interface VerifiedSignature {
  keyId: string
  algorithm: string
  scope: string
  /** Files whose digests were checked. */
  files: string[]
  /** The signature's `iat` claim (seconds), when it has a numeric one (OPA's signer adds none unless asked). */
  issuedAt?: number
}

/**
 * Limits applied while the archive is streamed, before anything is buffered beyond them.
 * A gzip bomb is stopped when the decompressed stream crosses `maxTotalBytes` (plus tar
 * framing), and a single entry as soon as its header or its bytes cross `maxFileBytes`.
 */
export interface BundleLimits {
  /** Compressed archive size (what a downloader may accept). */
  maxCompressedBytes?: number
  /** Any single file, decompressed. */
  maxFileBytes?: number
  /** All files together, decompressed. */
  maxTotalBytes?: number
  /** Number of tar entries, directories included. */
  maxEntries?: number
}

export const DEFAULT_LIMITS: Readonly<Required<BundleLimits>> = Object.freeze({
  maxCompressedBytes: 64 * 1024 * 1024,
  maxFileBytes: 64 * 1024 * 1024,
  maxTotalBytes: 256 * 1024 * 1024,
  maxEntries: 10_000
})

export function resolveLimits (limits?: BundleLimits): Required<BundleLimits> {
  const out = { ...DEFAULT_LIMITS, ...stripUndefined(limits ?? {}) }
  for (const [k, v] of Object.entries(out)) {
    if (!Number.isSafeInteger(v) || v <= 0) throw new TypeError(`bundle limit ${k} must be a positive integer, got ${String(v)}`)
  }
  return out
}

function stripUndefined<T extends object> (o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>
}

/** JWS algorithms accepted for bundle signatures. */
export const SIGNING_ALGORITHMS = [
  'RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512',
  'ES256', 'ES384', 'ES512', 'HS256', 'HS384', 'HS512'
] as const
export type SigningAlgorithm = typeof SIGNING_ALGORITHMS[number]

export function isSigningAlgorithm (s: unknown): s is SigningAlgorithm {
  return typeof s === 'string' && (SIGNING_ALGORITHMS as readonly string[]).includes(s)
}
