// OPA bundle signatures: `.signatures.json` = {"signatures": ["<JWS compact>"]}, exactly one
// token, payload {files: [{name, hash, algorithm}], keyid?, scope?, iat?, iss?}.
// Verification follows OPA's rules:
//   key id   = configured bundle key id, else the JWS header `kid`, else the payload `keyid`
//   key      = configured keys[key id] (unknown id → rejected); the header `alg` must equal
//              the key's configured algorithm (no algorithm confusion)
//   scope    = configured bundle scope, else the key's scope; must equal the payload scope
//   files    = every bundle file but `.signatures.json` listed once, digest matching, and
//              nothing listed that the bundle lacks.
import { createHash, createPrivateKey, createPublicKey, createSecretKey, X509Certificate, type KeyObject } from 'node:crypto'
import { CompactSign, compactVerify } from 'jose'
import { BundleError, describeError } from './bundle-error.js'
import { fileDigest } from './canonical.js'
import { SIGNATURES_FILE } from './assemble.js'
import { isSigningAlgorithm, type SigningAlgorithm, type VerifiedSignature } from './types.js'

/** OPA's hash algorithm names → node:crypto names. MD5 and SHA-1 are refused: collisions. */
const HASHES: Record<string, string> = {
  'SHA-224': 'sha224',
  'SHA-256': 'sha256',
  'SHA-384': 'sha384',
  'SHA-512': 'sha512',
  'SHA-512-224': 'sha512-224',
  'SHA-512-256': 'sha512-256'
}
export type HashAlgorithm = 'SHA-224' | 'SHA-256' | 'SHA-384' | 'SHA-512' | 'SHA-512-224' | 'SHA-512-256'

export type KeyMaterial = string | Uint8Array | KeyObject

/** One configured verification key (OPA's `keys.<id>`: key, algorithm, scope). */
export interface VerificationKey {
  /** PEM public key / certificate (RS/PS/ES), or the shared secret (HS). */
  key: KeyMaterial
  algorithm: SigningAlgorithm
  scope?: string
}

/** What a bundle's `signing` section configures (OPA: keyid, scope, exclude_files). */
export interface VerificationConfig {
  keys: Record<string, VerificationKey>
  /** Key id to use regardless of the token's `kid`. */
  keyId?: string
  /** Expected scope; when empty the key's scope is expected. */
  scope?: string
  /** Files left out of verification; `*` and `?` globs within one path segment. */
  excludeFiles?: string[]
}

export interface SignOptions {
  /** PEM private key (RS/PS/ES) or shared secret (HS). */
  key: KeyMaterial
  alg: SigningAlgorithm
  /** Written as the JWS `kid` header and the (deprecated, still read by older OPAs) `keyid` claim. */
  keyId?: string
  scope?: string
  /** Extra payload claims (`iss`, `iat` for another time than now, ...). `files` cannot be overridden. */
  claims?: Record<string, unknown>
  hashAlgorithm?: HashAlgorithm
}

interface PreparedKey { key: KeyObject; algorithm: SigningAlgorithm; scope: string }
export interface PreparedVerification {
  readonly keys: ReadonlyMap<string, PreparedKey>
  readonly keyId: string
  readonly scope: string
  readonly exclude: readonly RegExp[]
}

const prepared = new WeakMap<VerificationConfig, PreparedVerification>()

function configError (what: string, reason: string): BundleError {
  return new BundleError('BOUNCER_ERR_BUNDLE_CONFIG', what, reason)
}

function isHmac (alg: SigningAlgorithm): boolean {
  return alg.startsWith('HS')
}

function toBuffer (k: string | Uint8Array): Buffer {
  return typeof k === 'string' ? Buffer.from(k, 'utf8') : Buffer.from(k.buffer, k.byteOffset, k.byteLength)
}

const MIN_HMAC_BYTES = 32

function importVerifyKey (m: KeyMaterial, alg: SigningAlgorithm): KeyObject {
  if (typeof m === 'object' && !(m instanceof Uint8Array)) return m
  if (isHmac(alg)) return createSecretKey(toBuffer(m))
  const pem = typeof m === 'string' ? m : Buffer.from(m).toString('utf8')
  if (pem.includes('-----BEGIN CERTIFICATE-----')) return new X509Certificate(pem).publicKey
  // createPublicKey also accepts a private key and derives its public half.
  return createPublicKey(pem)
}

function importSignKey (m: KeyMaterial, alg: SigningAlgorithm): KeyObject {
  if (typeof m === 'object' && !(m instanceof Uint8Array)) return m
  if (isHmac(alg)) return createSecretKey(toBuffer(m))
  return createPrivateKey(typeof m === 'string' ? m : Buffer.from(m).toString('utf8'))
}

function globToRegExp (g: string): RegExp {
  const body = g.split('').map(c => c === '*' ? '[^/]*' : c === '?' ? '[^/]' : c.replace(/[.+^${}()|[\]\\]/g, '\\$&')).join('')
  return new RegExp(`^${body}$`)
}

/**
 * Validates a verification config and imports its keys once (done at start-up by the
 * manager; verifyBundleSignature calls it lazily otherwise). Throws BOUNCER_ERR_BUNDLE_CONFIG.
 */
export function prepareVerification (cfg: VerificationConfig): PreparedVerification {
  const hit = prepared.get(cfg)
  if (hit !== undefined) return hit
  if (typeof cfg !== 'object' || cfg === null || typeof cfg.keys !== 'object' || cfg.keys === null) {
    throw configError('signing', '"keys" must be an object of key id → {key, algorithm, scope}')
  }
  const keys = new Map<string, PreparedKey>()
  for (const [id, k] of Object.entries(cfg.keys)) {
    if (!isSigningAlgorithm(k?.algorithm)) throw configError(`keys.${id}.algorithm`, `must be one of RS/PS/ES/HS 256/384/512, got ${String(k?.algorithm)}`)
    if (k.scope !== undefined && typeof k.scope !== 'string') throw configError(`keys.${id}.scope`, 'must be a string')
    let key: KeyObject
    try {
      key = importVerifyKey(k.key, k.algorithm)
    } catch (e) {
      throw configError(`keys.${id}.key`, `cannot import key: ${describeError(e)}`)
    }
    const type = key.type === 'secret' ? 'secret' : key.asymmetricKeyType
    const want = isHmac(k.algorithm) ? 'secret' : k.algorithm.startsWith('ES') ? 'ec' : 'rsa'
    if (type !== want && !(want === 'rsa' && type === 'rsa-pss')) {
      throw configError(`keys.${id}.key`, `a ${String(type)} key cannot verify ${k.algorithm}`)
    }
    // A short shared secret is guessed from one signed bundle; the JWT authenticator asks the same.
    if (type === 'secret' && (key.symmetricKeySize ?? 0) < MIN_HMAC_BYTES) {
      throw configError(`keys.${id}.key`, `an HMAC key for ${k.algorithm} must be at least ${MIN_HMAC_BYTES} bytes (got ${key.symmetricKeySize ?? 0})`)
    }
    keys.set(id, { key, algorithm: k.algorithm, scope: k.scope ?? '' })
  }
  if (cfg.keyId !== undefined && cfg.keyId !== '' && !keys.has(cfg.keyId)) {
    throw configError('signing.keyid', `key id "${cfg.keyId}" is not among the configured keys`)
  }
  const p: PreparedVerification = {
    keys,
    keyId: cfg.keyId ?? '',
    scope: cfg.scope ?? '',
    exclude: (cfg.excludeFiles ?? []).map(globToRegExp)
  }
  prepared.set(cfg, p)
  return p
}

function sigError (file: string, reason: string, cause?: unknown): BundleError {
  return new BundleError('BOUNCER_ERR_BUNDLE_SIGNATURE', file, reason, cause === undefined ? undefined : { cause })
}

function decodeSegment (seg: string, what: string): Record<string, unknown> {
  let v: unknown
  try {
    v = JSON.parse(Buffer.from(seg, 'base64url').toString('utf8'))
  } catch (e) {
    throw sigError(SIGNATURES_FILE, `JWT ${what} is not base64url JSON`, e)
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw sigError(SIGNATURES_FILE, `JWT ${what} is not a JSON object`)
  return v as Record<string, unknown>
}

interface FileEntry { name: string; hash: string; algorithm: string }

/**
 * The files a verified `.signatures.json` lists, checked one by one as a reader meets them:
 * `admit` before a file's bytes are read (so an unlisted file is refused unread), `check`
 * once they are, `finish` at the end (nothing listed may be missing). One instance per read.
 */
export class SignedFileList {
  readonly keyId: string
  readonly algorithm: SigningAlgorithm
  readonly scope: string
  readonly issuedAt: number | undefined
  readonly #pv: PreparedVerification
  readonly #listed: Map<string, FileEntry>
  readonly #checked: string[] = []

  constructor (pv: PreparedVerification, keyId: string, algorithm: SigningAlgorithm, scope: string, listed: Map<string, FileEntry>, issuedAt?: number) {
    this.#pv = pv
    this.keyId = keyId
    this.algorithm = algorithm
    this.scope = scope
    this.issuedAt = issuedAt
    this.#listed = new Map(listed)
  }

  /** True when `exclude_files` leaves `path` out of verification. */
  isExcluded (path: string): boolean {
    return this.#pv.exclude.some(r => r.test(path))
  }

  /** Accepts a bundle path before its bytes are read; throws when the signature does not cover it. */
  admit (path: string): void {
    if (path === SIGNATURES_FILE || this.isExcluded(path)) return
    const entry = this.#listed.get(path)
    if (entry === undefined) throw sigError(path, 'is not covered by the bundle signature (extra unsigned file)')
    if (HASHES[entry.algorithm] === undefined) throw sigError(path, `hash algorithm "${entry.algorithm}" is not accepted (use SHA-224..SHA-512)`)
  }

  /** Checks a file's digest against its listing (admit first); throws on a mismatch. */
  check (path: string, bytes: Uint8Array): void {
    if (path === SIGNATURES_FILE) return
    if (this.isExcluded(path)) { this.#listed.delete(path); return }
    this.admit(path)
    const entry = this.#listed.get(path)!
    let digest: string
    try {
      digest = fileDigest(path, bytes, HASHES[entry.algorithm]!)
    } catch (e) {
      throw sigError(path, `cannot compute its canonical digest: ${describeError(e)}`, e)
    }
    if (digest !== entry.hash.toLowerCase()) throw sigError(path, `digest mismatch (signed ${entry.hash}, actual ${digest})`)
    this.#listed.delete(path)
    this.#checked.push(path)
  }

  /** After the last file: throws when a listed file never came; otherwise the verified signature. */
  finish (): VerifiedSignature {
    if (this.#listed.size > 0) {
      const missing = [...this.#listed.keys()].sort()
      throw sigError(missing.join(', '), 'listed in the bundle signature but missing from the bundle')
    }
    return { keyId: this.keyId, algorithm: this.algorithm, scope: this.scope, files: [...this.#checked].sort(), ...(this.issuedAt === undefined ? {} : { issuedAt: this.issuedAt }) }
  }
}

/** A verification config prepared (prepareVerification), or the prepared one as given. */
export function toPrepared (cfg: VerificationConfig | PreparedVerification): PreparedVerification {
  return 'exclude' in cfg && cfg.keys instanceof Map ? cfg as PreparedVerification : prepareVerification(cfg as VerificationConfig)
}

/**
 * Verifies the `.signatures.json` text alone: one compact JWS, its key (configured key id,
 * else `kid`, else the `keyid` claim), the key's algorithm and the scope. Returns the files
 * its payload lists, to be checked as the bundle is read. Throws BOUNCER_ERR_BUNDLE_SIGNATURE.
 */
export async function verifySignaturesFile (sigBytes: Uint8Array, cfg: VerificationConfig | PreparedVerification): Promise<SignedFileList> {
  const pv = toPrepared(cfg)
  let sc: unknown
  try {
    sc = JSON.parse(Buffer.from(sigBytes).toString('utf8'))
  } catch (e) {
    throw sigError(SIGNATURES_FILE, 'is not valid JSON', e)
  }
  if (typeof sc !== 'object' || sc === null || Array.isArray(sc)) throw sigError(SIGNATURES_FILE, 'must be a JSON object')
  const scObj = sc as Record<string, unknown>
  if (scObj.plugin !== undefined && scObj.plugin !== '') throw sigError(SIGNATURES_FILE, `signature plugin "${String(scObj.plugin)}" is not supported`)
  const sigs = scObj.signatures
  if (!Array.isArray(sigs) || sigs.length === 0) throw sigError(SIGNATURES_FILE, 'missing JWT (expected exactly one)')
  if (sigs.length > 1) throw sigError(SIGNATURES_FILE, `has ${sigs.length} JWTs (expected exactly one)`)
  const token = sigs[0]
  if (typeof token !== 'string') throw sigError(SIGNATURES_FILE, 'the JWT must be a string')
  const parts = token.split('.')
  if (parts.length !== 3) throw sigError(SIGNATURES_FILE, 'the JWT is not in compact form (three dot-separated parts)')
  const header = decodeSegment(parts[0]!, 'header')
  const claims = decodeSegment(parts[1]!, 'payload')

  let keyId = pv.keyId
  if (keyId === '' && typeof header.kid === 'string') keyId = header.kid
  if (keyId === '' && typeof claims.keyid === 'string') keyId = claims.keyid
  if (keyId === '') throw sigError(SIGNATURES_FILE, 'no key id: neither the configuration, the JWT "kid" header nor the "keyid" claim names one')
  const key = pv.keys.get(keyId)
  if (key === undefined) throw sigError(SIGNATURES_FILE, `unknown key id "${keyId}"`)

  try {
    await compactVerify(token, key.key, { algorithms: [key.algorithm] })
  } catch (e) {
    throw sigError(SIGNATURES_FILE, `JWT signature is not valid for key "${keyId}" (${key.algorithm}): ${describeError(e)}`, e)
  }

  const expectedScope = pv.scope !== '' ? pv.scope : key.scope
  const scope = claims.scope === undefined ? '' : claims.scope
  if (scope !== expectedScope) {
    throw sigError(SIGNATURES_FILE, `scope mismatch: the JWT has ${JSON.stringify(scope)}, expected ${JSON.stringify(expectedScope)}`)
  }

  if (!Array.isArray(claims.files)) throw sigError(SIGNATURES_FILE, 'the JWT payload has no "files" array')
  const listed = new Map<string, FileEntry>()
  for (const f of claims.files as unknown[]) {
    const e = f as Partial<FileEntry> | null
    if (e === null || typeof e !== 'object' || typeof e.name !== 'string' || typeof e.hash !== 'string' || typeof e.algorithm !== 'string') {
      throw sigError(SIGNATURES_FILE, 'every "files" entry needs string name, hash and algorithm')
    }
    const name = e.name.replace(/^\//, '')
    if (listed.has(name)) throw sigError(name, 'is listed more than once in the signature')
    listed.set(name, { name, hash: e.hash, algorithm: e.algorithm })
  }
  const iat = typeof claims.iat === 'number' && Number.isFinite(claims.iat) ? claims.iat : undefined
  return new SignedFileList(pv, keyId, key.algorithm, expectedScope, listed, iat)
}

/**
 * Verifies `.signatures.json` against every other file of the bundle.
 * Throws BOUNCER_ERR_BUNDLE_SIGNATURE naming the offending file, or
 * BOUNCER_ERR_BUNDLE_UNSIGNED when there is no `.signatures.json`.
 */
export async function verifyBundleSignature (files: ReadonlyMap<string, Uint8Array>, cfg: VerificationConfig | PreparedVerification, label = 'archive'): Promise<VerifiedSignature> {
  const pv = toPrepared(cfg)
  const sigBytes = files.get(SIGNATURES_FILE)
  if (sigBytes === undefined) throw unsignedError(label)
  const list = await verifySignaturesFile(sigBytes, pv)
  for (const [path, bytes] of [...files].sort((a, b) => a[0] < b[0] ? -1 : 1)) list.check(path, bytes)
  return list.finish()
}

/** BOUNCER_ERR_BUNDLE_UNSIGNED for an archive (named by `label`) without `.signatures.json`. */
export function unsignedError (label: string): BundleError {
  return new BundleError('BOUNCER_ERR_BUNDLE_UNSIGNED', label, `it has no ${SIGNATURES_FILE} and verification keys are configured`)
}

/** Produces the `.signatures.json` text for `files` (which must not include it). */
export async function signBundleFiles (files: ReadonlyMap<string, Uint8Array>, opts: SignOptions): Promise<string> {
  if (!isSigningAlgorithm(opts.alg)) throw new BundleError('BOUNCER_ERR_BUNDLE_SIGN', SIGNATURES_FILE, `unsupported algorithm ${String(opts.alg)}`)
  const hashAlg = opts.hashAlgorithm ?? 'SHA-256'
  const nodeAlg = HASHES[hashAlg]
  if (nodeAlg === undefined) throw new BundleError('BOUNCER_ERR_BUNDLE_SIGN', SIGNATURES_FILE, `unsupported hash algorithm ${String(hashAlg)}`)
  const list: FileEntry[] = []
  for (const path of [...files.keys()].sort()) {
    if (path === SIGNATURES_FILE) continue
    let hash: string
    try {
      hash = fileDigest(path, files.get(path)!, nodeAlg)
    } catch (e) {
      throw new BundleError('BOUNCER_ERR_BUNDLE_SIGN', path, `cannot compute its canonical digest: ${describeError(e)}`, { cause: e })
    }
    list.push({ name: path, hash, algorithm: hashAlg })
  }
  // iat: now, unless the claims give one (re-signing a bundle for a given time, tests).
  const payload: Record<string, unknown> = { iat: Math.floor(Date.now() / 1000), ...(opts.claims ?? {}), files: list }
  if (opts.keyId !== undefined && opts.keyId !== '') payload.keyid = opts.keyId
  if (opts.scope !== undefined && opts.scope !== '') payload.scope = opts.scope
  let key: KeyObject
  try {
    key = importSignKey(opts.key, opts.alg)
  } catch (e) {
    throw new BundleError('BOUNCER_ERR_BUNDLE_SIGN', SIGNATURES_FILE, `cannot import the signing key: ${describeError(e)}`, { cause: e })
  }
  if (key.type === 'secret' && (key.symmetricKeySize ?? 0) < MIN_HMAC_BYTES) {
    throw new BundleError('BOUNCER_ERR_BUNDLE_SIGN', SIGNATURES_FILE, `an HMAC signing key must be at least ${MIN_HMAC_BYTES} bytes (got ${key.symmetricKeySize ?? 0})`)
  }
  const header: { alg: string; kid?: string } = { alg: opts.alg }
  if (opts.keyId !== undefined && opts.keyId !== '') header.kid = opts.keyId
  let token: string
  try {
    token = await new CompactSign(Buffer.from(JSON.stringify(payload), 'utf8')).setProtectedHeader(header).sign(key)
  } catch (e) {
    throw new BundleError('BOUNCER_ERR_BUNDLE_SIGN', SIGNATURES_FILE, describeError(e), { cause: e })
  }
  return JSON.stringify({ signatures: [token] }, null, 1)
}

/** Hex SHA-256 of arbitrary bytes (used for ETag-less change detection and persistence). */
export function sha256Hex (b: Uint8Array): string {
  return createHash('sha256').update(b).digest('hex')
}
