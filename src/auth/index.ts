// Bearer JWT authentication with jose. Verified claims become input.identity; a missing or
// invalid token leaves identity absent and sets input.identity_error to a short code the
// policy can read (missing, malformed_header, malformed_token, expired, not_yet_valid,
// invalid_signature, invalid_claims, unknown_key, algorithm_not_allowed, jwks_unavailable).
// Tokens are never logged. Verified tokens are remembered until they expire (or, for a JWKS
// key, until the key set changes), so the per-request cost of a repeated token is one map lookup.
import { readFileSync } from 'node:fs'
import type { IncomingHttpHeaders } from 'node:http'
import { Agent } from 'undici'
import { LRUCache } from 'lru-cache'
import {
  decodeProtectedHeader, errors as joseErrors, importJWK, importSPKI, jwtVerify,
  type JWK, type JWTPayload, type JWTVerifyOptions, type CryptoKey,
} from 'jose'
import { deepFreeze } from '../deep-freeze.js'
import { mayLoseDigits, parseJsonExact } from '../exact-json.js'
import { sortedCopy } from '../sorted-copy.js'
import { isOws, trimBy } from '../text-trim.js'
import { BouncerError } from '../errors.js'
import type { BouncerConfig } from '../config/index.js'
import type { StatusReport } from '../health/index.js'
import { RemoteJwks } from './jwks.js'

export interface AuthResult {
  readonly identity?: Readonly<Record<string, unknown>>
  readonly error?: string
}

export interface Authenticator {
  authenticate (headers: IncomingHttpHeaders): AuthResult | Promise<AuthResult>
  /** Fetch remote keys now, in the background (app start); failures show in status(). */
  warm (): void
  status (): StatusReport
  close (): Promise<void>
}

export interface AuthDeps {
  onResult?: (result: string) => void
  onJwksFetch?: (outcome: 'ok' | 'error', error?: Error) => void
  /** TLS client material for jwks_url (auth.jwt.jwks_tls, files already read by the caller). */
  jwksTls?: JwksTlsMaterial
}

/** What the JWKS client's TLS needs: PEM contents (read at start by src/app/tls.ts), not paths. */
export interface JwksTlsMaterial {
  readonly ca?: string
  readonly cert?: string
  readonly key?: string
  readonly servername?: string
  readonly rejectUnauthorized: boolean
}

type JwtConfig = BouncerConfig['auth']['jwt']
type Key = CryptoKey | Uint8Array
type StaticKey = { kid?: string; alg: string; key: Key }
/** The verified payload and the JWKS generation it was verified under (STATIC: a static key). */
type Verified = { payload: JWTPayload; gen: number }
const STATIC = -1

/**
 * A compact JWS and nothing else: three base64url segments, no padding, no whitespace. jose
 * decodes base64url leniently (atob drops whitespace and accepts "="), and the signature segment
 * is not itself signed, so `h.p.s==` or `h.p.s` with spaces in s verify as well: unlimited new
 * strings, each a new token-cache entry, from one token. JWE (5 segments) was never accepted.
 * The signature may be empty so that an unsecured (alg "none") token still reaches jose and is
 * refused as algorithm_not_allowed; an empty signature verifies nothing, so it is never cached.
 */
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/

function isCanonicalJws (token: string): boolean {
  if (!COMPACT_JWS.test(token)) return false
  // The signature's last character can carry unused bits, which atob ignores: only the
  // zero-bit spelling (what every encoder writes) is accepted, one string per signature.
  // (In the signed segments any other spelling changes the signing input and fails anyway.)
  const sig = token.slice(token.lastIndexOf('.') + 1)
  return Buffer.from(sig, 'base64url').toString('base64url') === sig
}

/**
 * Token-cache budget: token_cache_entries × 4 KiB, enough for every entry at typical token sizes
 * (~1-2 KiB with its identity) while 16 KiB tokens fill it at about a tenth of the entries; never
 * below what one largest token needs.
 */
const CACHE_BYTES_PER_ENTRY = 4096
const CACHE_MIN_BYTES = 64 * 1024

/** Rough bytes held by one entry: the token, its claims as objects (~2× their JSON), overhead. */
function cacheEntrySize (token: string): number {
  const payloadChars = token.indexOf('.', token.indexOf('.') + 1) - token.indexOf('.')
  return token.length + Math.ceil(payloadChars * 1.5) + 200
}

// JWKS keys tried for one token when several match its header.
// The config allows as many static keys of one alg without kid (MAX_STATIC_KEYS_WITHOUT_KID).
const MAX_CANDIDATE_KEYS = 8
// The protected header's segment, at most: real ones are under 300 bytes, a certificate chain in
// x5c a few KB. A crafted header near the token's 16 KiB (deeply nested arrays) cost ~15 ms of
// CPU per request, parsed again for every candidate key (review helper, 2026-12-07).
const MAX_HEADER_SEGMENT = 8192

/** RFC 6750's `"Bearer" 1*SP b64token`, RFC 9110's OWS around a value: spaces and tabs only. A
 *  token read after String#trim (which drops NBSP, BOM, U+3000) differed from the bytes the
 *  upstream got, which were forwarded as they came. */
const trimOws = (s: string): string => trimBy(s, isOws)

const ASYMMETRIC = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA']

function errorCode (e: unknown): string {
  if (e instanceof joseErrors.JWTExpired) return 'expired'
  // A missing nbf (required_claims) is no token from the future.
  if (e instanceof joseErrors.JWTClaimValidationFailed) return e.claim === 'nbf' && e.reason === 'check_failed' ? 'not_yet_valid' : 'invalid_claims'
  if (e instanceof joseErrors.JWSSignatureVerificationFailed) return 'invalid_signature'
  if (e instanceof joseErrors.JWKSNoMatchingKey) return 'unknown_key'
  if (e instanceof joseErrors.JWKSMultipleMatchingKeys) return 'unknown_key'
  if (e instanceof joseErrors.JOSEAlgNotAllowed) return 'algorithm_not_allowed'
  if (e instanceof joseErrors.JWSInvalid || e instanceof joseErrors.JWTInvalid) return 'malformed_token'
  if (e instanceof BouncerError && e.code === 'BOUNCER_ERR_AUTH_JWKS_FETCH') return 'jwks_unavailable'
  // An unrecognised `crit` extension is a token we cannot read, not an algorithm question.
  if (e instanceof joseErrors.JOSENotSupported) return /Extension Header Parameter/.test(e.message) ? 'malformed_token' : 'algorithm_not_allowed'
  return 'invalid_token'
}

function readSecretFile (file: string, what: string): string {
  try { return readFileSync(file, 'utf8').trim() } catch (e) {
    throw new BouncerError('BOUNCER_ERR_AUTH_CONFIG', [`cannot read ${what} ${file}: ${(e as Error).message}`], { cause: e })
  }
}

async function importStaticKeys (cfg: JwtConfig): Promise<StaticKey[]> {
  const out: StaticKey[] = []
  for (const [i, k] of cfg.keys.entries()) {
    try {
      let key: Key
      if (k.secret !== undefined || k.secret_file !== undefined) {
        const secret = k.secret ?? readSecretFile(k.secret_file!, 'secret_file')
        if (Buffer.byteLength(secret) < 32) throw new Error(`HMAC secret for ${k.alg} must be at least 32 bytes`)
        key = new TextEncoder().encode(secret)
      } else if (k.jwk !== undefined) {
        // jose's importJWK lets its alg argument override the JWK's own: a JWK that says another
        // alg, or that it is for encryption, is refused here as the JWKS path refuses it.
        const own = k.jwk as { alg?: unknown; use?: unknown }
        if (own.alg !== undefined && own.alg !== k.alg) throw new Error(`the JWK is for ${String(own.alg)}, not ${k.alg}`)
        if (own.use !== undefined && own.use !== 'sig') throw new Error(`the JWK's use is ${JSON.stringify(own.use)}, not "sig"`)
        key = await importJWK(k.jwk as JWK, k.alg)
        // An oct JWK is an HMAC secret (jose returns its bytes): the same minimum as `secret`.
        if (key instanceof Uint8Array && key.byteLength < 32) throw new Error(`HMAC secret (jwk "k") for ${k.alg} must be at least 32 bytes`)
      } else {
        key = await importSPKI(k.pem ?? readSecretFile(k.pem_file!, 'pem_file'), k.alg)
      }
      // A key that cannot verify a token of its alg is a mistake to report now, not a 401 for
      // every token later; a private key in the config is a secret where none should be.
      const hmac = k.alg.startsWith('HS')
      if (hmac && !(key instanceof Uint8Array)) throw new Error(`${k.alg} needs a shared secret (secret, secret_file or an oct JWK), not a public key`)
      if (!hmac && key instanceof Uint8Array) throw new Error(`${k.alg} needs a public key (pem, pem_file or a JWK of its type), not a shared secret`)
      if (!hmac && (key as CryptoKey).type !== 'public') throw new Error(`the key for ${k.alg} is a ${(key as CryptoKey).type} key; give the public key only`)
      // A key pasted from an IdP's JWKS carries its kid inside the JWK.
      const jwkKid = k.jwk !== undefined && typeof (k.jwk as { kid?: unknown }).kid === 'string' ? (k.jwk as { kid: string }).kid : undefined
      out.push({ kid: k.kid ?? jwkKid, alg: k.alg, key })
    } catch (e) {
      if (e instanceof BouncerError) throw e
      throw new BouncerError('BOUNCER_ERR_AUTH_CONFIG', [`auth.jwt.keys.${i}: ${(e as Error).message}`], { cause: e })
    }
  }
  return out
}

function tlsDispatcher (tls: JwksTlsMaterial | undefined, timeoutMs: number): Agent {
  // HTTP/1.1, as every undici client here (undici 8 would offer h2 by ALPN).
  if (tls === undefined || (!tls.ca && !tls.cert && tls.rejectUnauthorized && !tls.servername)) return new Agent({ allowH2: false, connect: { timeout: timeoutMs } })
  return new Agent({
    allowH2: false,
    connect: { timeout: timeoutMs, ca: tls.ca, cert: tls.cert, key: tls.key, servername: tls.servername, rejectUnauthorized: tls.rejectUnauthorized },
  })
}

/** Returns undefined when authentication is off. Reads key files now (start-up), never per request. */
export async function createAuthenticator (cfg: JwtConfig, deps: AuthDeps = {}): Promise<Authenticator | undefined> {
  if (!cfg.enabled) return undefined
  const staticKeys = await importStaticKeys(cfg)
  const dispatcher = cfg.jwks_url ? tlsDispatcher(deps.jwksTls, cfg.jwks_timeout_seconds * 1000) : undefined
  const jwks = cfg.jwks_url
    ? new RemoteJwks({
      url: cfg.jwks_url,
      maxAgeMs: cfg.jwks_cache_seconds * 1000,
      cooldownMs: cfg.jwks_cooldown_seconds * 1000,
      timeoutMs: cfg.jwks_timeout_seconds * 1000,
      maxStaleMs: cfg.jwks_max_stale_seconds * 1000,
      dispatcher,
      onFetch: deps.onJwksFetch,
    })
    : undefined

  const algorithms = cfg.algorithms?.length
    ? [...cfg.algorithms]
    : [...new Set([...staticKeys.map((k) => k.alg), ...(jwks ? ASYMMETRIC : [])])]
  const verifyOptions: JWTVerifyOptions = {
    algorithms,
    clockTolerance: cfg.clock_tolerance_seconds,
    // Presence only: jose validates exp, nbf, iss and aud when present whether required or not.
    ...(cfg.required_claims.length > 0 ? { requiredClaims: [...cfg.required_claims] } : {}),
    ...(cfg.typ !== undefined ? { typ: cfg.typ } : {}),
    ...(cfg.issuer !== undefined ? { issuer: typeof cfg.issuer === 'string' ? cfg.issuer : [...cfg.issuer] } : {}),
    ...(cfg.audience !== undefined ? { audience: typeof cfg.audience === 'string' ? cfg.audience : [...cfg.audience] } : {}),
  }
  const anyAudience = cfg.audience === undefined
  const headerName = cfg.header.toLowerCase()
  const scheme = cfg.scheme
  const prefix = scheme ? scheme.toLowerCase() + ' ' : ''
  // Bounded by entries and by (estimated) bytes: 10000 tokens of 16 KiB would hold well over 150 MB.
  const cache = cfg.token_cache_entries > 0
    ? new LRUCache<string, { identity: Readonly<Record<string, unknown>>; expMs: number; gen: number }>({
      max: cfg.token_cache_entries,
      maxSize: Math.max(cfg.token_cache_entries * CACHE_BYTES_PER_ENTRY, CACHE_MIN_BYTES),
    })
    : undefined
  const toleranceMs = cfg.clock_tolerance_seconds * 1000
  let lastOk = 0

  /** The static keys that may have signed a token with this header: those it names by kid, else
   *  every one of its alg without another kid (an HMAC secret listed old and new during a rotation). */
  function staticCandidates (header: { kid?: string; alg?: string }): StaticKey[] {
    const candidates = staticKeys.filter((k) => k.alg === header.alg && (header.kid === undefined || k.kid === undefined || k.kid === header.kid))
    const exact = header.kid === undefined ? candidates : candidates.filter((k) => k.kid === header.kid)
    // Keys without kid first: the config allows MAX_CANDIDATE_KEYS of them per alg, and all are tried.
    const pick = exact.length ? exact : candidates
    return [...pick.filter((k) => k.kid === undefined), ...pick.filter((k) => k.kid !== undefined)].slice(0, MAX_CANDIDATE_KEYS)
  }

  async function verify (token: string): Promise<Verified> {
    if (token.indexOf('.') > MAX_HEADER_SEGMENT) throw new joseErrors.JWTInvalid('protected header too large')
    let header: ReturnType<typeof decodeProtectedHeader>
    try { header = decodeProtectedHeader(token) } catch (e) { throw new joseErrors.JWTInvalid((e as Error).message) }
    // An alg we do not accept is refused as such whichever keys are configured (with static keys
    // only, `none` or an HS256 token signed with the RSA key's PEM read "unknown_key").
    // No alg (RFC 7515 requires one) is a malformed token, as jose reads it.
    if (typeof header.alg !== 'string') throw new joseErrors.JWTInvalid('missing or invalid "alg" (Algorithm) Header Parameter')
    if (!algorithms.includes(header.alg)) throw new joseErrors.JOSEAlgNotAllowed('"alg" (Algorithm) Header Parameter value not allowed')
    let staticError: unknown
    // The static keys that may have signed it, by the same rule with or without a JWKS (a
    // kid-less token was refused by a static key with a kid only when jwks_url was set too).
    if (staticKeys.length && (!jwks || staticKeys.some((k) => k.alg === header.alg && (k.kid === undefined || header.kid === undefined || k.kid === header.kid)))) {
      const picks = staticCandidates(header)
      try {
        if (picks.length === 0) throw new joseErrors.JWKSNoMatchingKey()
        // Several candidates (a rotation): the one whose signature verifies is the signer's; a
        // claim failure comes only after a signature verified, so it is final.
        let failed: unknown
        for (const pick of picks) {
          try {
            return { payload: (await jwtVerify(token, pick.key as Parameters<typeof jwtVerify>[1], verifyOptions)).payload, gen: STATIC }
          } catch (e) {
            if (!(e instanceof joseErrors.JWSSignatureVerificationFailed)) throw e
            failed = e
          }
        }
        throw failed
      } catch (e) {
        if (!jwks) throw e
        // A bad signature from a static key the token did not name by kid (picked by alg alone)
        // says nothing about the JWKS keys: try them. Everything else is final. A claim failure
        // (expired, nbf, iss, aud) comes from jose only after the signature verified, so the
        // static key's holder did sign this token, and the JWKS, checked with the same options,
        // could not make it valid. A disallowed alg or a bad format fails before any key.
        const named = header.kid !== undefined && picks.length > 0 && picks.every((k) => k.kid === header.kid)
        if (e instanceof joseErrors.JWSSignatureVerificationFailed && !named) staticError = e
        else if (!(e instanceof joseErrors.JWKSNoMatchingKey)) throw e
      }
    }
    if (!jwks) throw new joseErrors.JWKSNoMatchingKey()
    const viaJwks = async (): Promise<Verified> => {
      const { resolver, generation } = await jwks.current()
      try {
        return { payload: (await jwtVerify(token, resolver, verifyOptions)).payload, gen: generation }
      } catch (e) {
        if (!(e instanceof joseErrors.JWKSMultipleMatchingKeys)) throw e
        // Several keys fit the header (kid-less keys of one type during a rotation, a kid listed
        // twice): the one that verifies the signature is the signer's. jose hands the candidates
        // over as an async iterator; a few at most, so a crafted set cannot make this expensive.
        let tried = 0
        for await (const key of e as unknown as AsyncIterable<Parameters<typeof jwtVerify>[1]>) {
          if (++tried > MAX_CANDIDATE_KEYS) break
          try {
            return { payload: (await jwtVerify(token, key, verifyOptions)).payload, gen: generation }
          } catch (inner) {
            // Claims fail only after the signature verified (this is the signer's key), and a
            // disallowed alg or a bad token fails for every key: final. A key that cannot be used
            // (its type, an import error) is one bad key in the set: the next is tried.
            if (inner instanceof joseErrors.JWTClaimValidationFailed || inner instanceof joseErrors.JWTExpired || inner instanceof joseErrors.JOSEAlgNotAllowed ||
                inner instanceof joseErrors.JWSInvalid || inner instanceof joseErrors.JWTInvalid) throw inner
          }
        }
        throw new joseErrors.JWSSignatureVerificationFailed()
      }
    }
    try {
      try {
        return await viaJwks()
      } catch (e) {
        if (!(e instanceof joseErrors.JWKSNoMatchingKey) || !(await jwks.refreshForUnknownKey())) throw e
        return await viaJwks()
      }
    } catch (e) {
      // No JWKS key for it either (none of its kid, or none for its alg: a JWKS serves no HMAC
      // secrets): the static key's answer stands.
      throw staticError !== undefined && (e instanceof joseErrors.JWKSNoMatchingKey || e instanceof joseErrors.JOSENotSupported) ? staticError : e
    }
  }

  const fail = (error: string): AuthResult => { deps.onResult?.(error); return { error } }

  function authenticate (headers: IncomingHttpHeaders): AuthResult | Promise<AuthResult> {
    const raw = headers[headerName]
    if (raw === undefined || raw === '') return fail('missing')
    const value = Array.isArray(raw) ? raw[0] : raw
    let token: string
    if (prefix) {
      if (value.length <= prefix.length || value.slice(0, prefix.length).toLowerCase() !== prefix) return fail('malformed_header')
      token = trimOws(value.slice(prefix.length))
    } else token = trimOws(value)
    if (token === '' || token.length > 16384) return fail('malformed_header')
    const hit = cache?.get(token)
    if (hit) {
      // A JWKS-verified entry holds while the key set is the one it was verified with; static keys never change.
      // An expired set (jwks_max_stale_seconds) vouches for nothing: verified again, which fails until a fetch succeeds.
      if (hit.expMs + toleranceMs > Date.now() && (hit.gen === STATIC || (hit.gen === jwks!.generation && !jwks!.expired))) {
        // Hits do not ask the JWKS for keys: keep it refreshing, or a removed key would go unnoticed.
        if (hit.gen !== STATIC) jwks!.refreshIfStale()
        deps.onResult?.('verified')
        return { identity: hit.identity }
      }
      cache!.delete(token)
    }
    if (!isCanonicalJws(token)) return fail('malformed_token')
    return verify(token).then(({ payload, gen }) => {
      // jose takes any number, Infinity included (`"exp": 1e400`): a token that never expires,
      // and a cache entry for ever. Time claims must be finite.
      if (!finiteTime(payload.exp) || !finiteTime(payload.nbf) || !finiteTime(payload.iat)) return fail('invalid_claims')
      // RFC 7519 §4.1.3: a token naming an audience is refused by a recipient that does not
      // identify itself with one of them; with no audience configured we are none (OPA's
      // io.jwt.decode_verify does the same). Else any token the IdP issued, another API's or a
      // client's ID token, would be an identity here.
      if (anyAudience && payload.aud !== undefined) return fail('invalid_claims')
      // Once per token: keys in canonical order (the decision log's serialiser takes it as it
      // is) and deep-frozen (shared by every request with this token; canonical-json keeps its text).
      const identity = deepFreeze(sortedCopy(exactClaims(token, payload)))
      // Remember until exp; tokens without exp are re-verified at most a minute later.
      const expMs = typeof payload.exp === 'number' ? payload.exp * 1000 : Date.now() + 60_000
      cache?.set(token, { identity, expMs, gen }, { size: cacheEntrySize(token) })
      lastOk = Date.now()
      deps.onResult?.('verified')
      return { identity }
    }, (e: unknown) => fail(errorCode(e)))
  }

  return {
    authenticate,
    warm () { jwks?.refresh().catch(() => {}) },
    status (): StatusReport {
      if (!jwks) return { status: 'OK', static_keys: staticKeys.length }
      const err = jwks.lastError
      if (err && jwks.fetchedAt === 0) return { status: 'WARN', message: err.message }
      if (jwks.expired) {
        const at = new Date(jwks.fetchedAt).toISOString()
        // Idle (nothing asked for keys since): the next token refetches; no fetch has failed.
        return err
          ? { status: 'WARN', message: `no JWKS: the one fetched at ${at} is older than auth.jwt.jwks_max_stale_seconds and tokens are refused until a fetch succeeds: ${err.message}` }
          : { status: 'OK', message: `the JWKS fetched at ${at} is older than auth.jwt.jwks_max_stale_seconds (no token since): the next token refetches it` }
      }
      if (err) return { status: 'WARN', message: `using a JWKS fetched at ${new Date(jwks.fetchedAt).toISOString()}: ${err.message}` }
      return { status: 'OK', jwks_fetched_at: jwks.fetchedAt ? new Date(jwks.fetchedAt).toISOString() : null, last_verified_at: lastOk ? new Date(lastOk).toISOString() : null }
    },
    async close (): Promise<void> { await dispatcher?.close() },
  }
}

function finiteTime (v: unknown): boolean {
  return v === undefined || (typeof v === 'number' && Number.isFinite(v))
}

/**
 * The verified claims with integers past 2^53 exact (exact-json.ts): jose parses the payload
 * with JSON.parse, so a numeric account id 9007199254740993 would reach the policy as
 * 9007199254740992. The payload segment jose has just verified is read again, exactly; once per
 * token (the result is cached with it).
 */
function exactClaims (token: string, payload: JWTPayload): JWTPayload {
  const seg = token.split('.')[1]
  if (seg === undefined) return payload
  try {
    const text = Buffer.from(seg, 'base64url').toString('utf8')
    if (!mayLoseDigits(text)) return payload
    const exact = parseJsonExact(text)
    return exact !== null && typeof exact === 'object' && !Array.isArray(exact) ? exact as JWTPayload : payload
  } catch {
    return payload
  }
}
