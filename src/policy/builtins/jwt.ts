// io.jwt.* with OPA's semantics: decode (nested cty: JWT tokens), verify_* (PEM certificate,
// PEM public key, or JWK / JWK set; `kid` picks the key, a key's `alg` must match the header),
// decode_verify (constraints cert | secret, alg, iss, aud, time; exp / nbf against the
// evaluation's clock), encode_sign / encode_sign_raw. Crypto is node:crypto; parsed keys are
// cached by their source text.
import { createHmac, createPrivateKey, createPublicKey, createSecretKey, sign as cryptoSign, timingSafeEqual, verify as cryptoVerify, X509Certificate, constants, type KeyObject } from 'node:crypto'
import { builtinError, evaluationNowNs, type HostBuiltin } from './context.js'
import { goJSON, isObject, obj, str, type JsonObject } from './args.js'
import { opaBase64UrlDecode } from './encoding.js'
import { pemDecode } from './pem.js'
import { goTextValue, stringBytes } from './bytes.js'
import { isRawJson, parseJsonExact } from '../../exact-json.js'
import { trimBy } from '../../text-trim.js'

interface Token { header: string; payload: string; signature: string; decodedHeader?: JsonObject }

function splitToken (name: string, jwt: unknown): Token {
  const s = str(name, 1, jwt)
  if (!s.includes('.')) throw builtinError(name, 'encoded JWT had no period separators')
  const parts = s.split('.')
  if (parts.length !== 3) throw builtinError(name, `encoded JWT must have 3 sections, found ${parts.length}`)
  return { header: parts[0], payload: parts[1], signature: parts[2] }
}

function b64url (s: string): Buffer {
  return opaBase64UrlDecode(s)
}

function errMsg (e: unknown): string {
  return e instanceof Error ? e.message : String(e)
}

function jsonObject (s: string): JsonObject {
  let v: unknown
  try {
    v = parseJsonExact(s) // claims past 2^53 (numeric ids) reach the policy exactly, as in OPA
  } catch (e) {
    throw new Error(`invalid JSON: ${errMsg(e)}`)
  }
  if (!isObject(v)) throw new Error('decoded JSON type was not an Object')
  return goTextValue(v) as JsonObject // an escape "\udcff" is U+FFFD to Go's decoder
}

function decodeHeader (name: string, t: Token): JsonObject {
  let raw: Buffer
  try {
    raw = b64url(t.header)
  } catch (e) {
    throw builtinError(name, `JWT header had invalid encoding: ${errMsg(e)}`)
  }
  let h: JsonObject
  try {
    h = jsonObject(raw.toString('utf8'))
  } catch (e) {
    throw builtinError(name, `bad JWT header: ${errMsg(e)}`)
  }
  if (Object.prototype.hasOwnProperty.call(h, 'enc')) throw builtinError(name, 'JWT is a JWE object, which is not supported')
  t.decodedHeader = h
  return h
}

function decodeSignature (name: string, t: Token): Buffer {
  try {
    return b64url(t.signature)
  } catch (e) {
    throw builtinError(name, errMsg(e))
  }
}

function decode (jwt: unknown): unknown[] {
  const name = 'io.jwt.decode'
  let token = jwt
  for (;;) {
    const t = splitToken(name, token)
    const header = decodeHeader(name, t)
    let p: Buffer
    try {
      p = b64url(t.payload)
    } catch (e) {
      throw builtinError(name, `JWT payload had invalid encoding: ${errMsg(e)}`)
    }
    // OPA reads cty as a string without checking (a number or an object panics there): such a
    // token is never decoded, here an error.
    if (header.cty !== undefined && typeof header.cty !== 'string') throw builtinError(name, 'JWT header cty must be a string')
    if (header.cty === 'JWT') {
      token = trimBy(p.toString('utf8'), (c) => c === 0x22 || c === 0x27) // " '
      continue
    }
    let payload: JsonObject
    try {
      payload = jsonObject(p.toString('utf8'))
    } catch (e) {
      throw builtinError(name, errMsg(e))
    }
    let sig: Buffer
    try {
      sig = b64url(t.signature)
    } catch (e) {
      throw builtinError(name, `JWT signature had invalid encoding: ${errMsg(e)}`)
    }
    return [header, payload, sig.toString('hex')]
  }
}

// ---- keys ----

/** `priv`: a private JWK (verify_* refuses it, as OPA's type assertion on the public key does). */
interface VerificationKey { alg: string; kid: string; key: KeyObject; priv: boolean }

function jwkToKey (jwk: JsonObject, forSigning: boolean): KeyObject {
  const kty = jwk.kty
  if (kty === 'oct') {
    if (typeof jwk.k !== 'string') throw new Error('failed to parse key: missing "k"')
    return createSecretKey(opaBase64UrlDecode(jwk.k))
  }
  if (kty !== 'RSA' && kty !== 'EC' && kty !== 'OKP') throw new Error(`unsupported key type ${JSON.stringify(kty)}`)
  const input = { key: jwk as unknown as import('node:crypto').JsonWebKey, format: 'jwk' as const }
  return forSigning && jwk.d !== undefined ? createPrivateKey(input) : createPublicKey(input)
}

function parseJWKSet (src: string): JsonObject[] {
  const v = JSON.parse(src) as unknown
  if (!isObject(v)) throw new Error('invalid JWK (set)')
  if (Array.isArray(v.keys)) {
    for (const k of v.keys) if (!isObject(k)) throw new Error('invalid JWK in set')
    return v.keys as JsonObject[]
  }
  if (v.keys !== undefined) throw new Error('invalid JWK set: keys must be an array')
  return [v]
}

const keyCache = new Map<string, VerificationKey[] | Error>()

function verificationKeys (name: string, certificate: string): VerificationKey[] {
  let cached = keyCache.get(certificate)
  if (cached === undefined) {
    try {
      cached = loadVerificationKeys(certificate)
    } catch (e) {
      cached = e as Error
    }
    if (keyCache.size >= 256) keyCache.delete(keyCache.keys().next().value as string)
    keyCache.set(certificate, cached)
  }
  if (cached instanceof Error) throw builtinError(name, cached.message)
  return cached
}

function loadVerificationKeys (certificate: string): VerificationKey[] {
  const block = pemDecode(certificate)
  if (block !== null) {
    if (block.rest.length > 0) throw new Error('extra data after a PEM certificate block')
    if (block.type === 'CERTIFICATE') {
      try {
        return [{ alg: '', kid: '', key: goKey(new X509Certificate(block.der).publicKey), priv: false }]
      } catch (e) {
        throw new Error(`failed to parse a PEM certificate: ${errMsg(e)}`)
      }
    }
    if (block.type === 'PUBLIC KEY') {
      try {
        return [{ alg: '', kid: '', key: goKey(createPublicKey({ key: block.der, format: 'der', type: 'spki' })), priv: false }]
      } catch (e) {
        throw new Error(`failed to parse a PEM public key: ${errMsg(e)}`)
      }
    }
    throw new Error('failed to extract a Key from the PEM certificate')
  }
  let jwks: JsonObject[]
  try {
    jwks = parseJWKSet(certificate)
  } catch (e) {
    throw new Error(`failed to parse a JWK key (set): ${errMsg(e)}`)
  }
  const out: VerificationKey[] = []
  for (const k of jwks) {
    const alg = typeof k.alg === 'string' ? k.alg : ''
    // OPA keeps only keys for JWS algorithms it knows (an "RSA-OAEP" encryption key is dropped
    // even when its kid matches the token's)
    if (alg !== '' && !Object.prototype.hasOwnProperty.call(ALGORITHMS, alg)) continue
    let key: KeyObject
    try {
      key = k.kty === 'oct' ? jwkToKey(k, false) : goKey(jwkToKey(k, false))
    } catch (e) {
      throw new Error(`failed to parse a JWK key (set): ${errMsg(e)}`)
    }
    out.push({ alg, kid: typeof k.kid === 'string' ? k.kid : '', key, priv: k.kty !== 'oct' && k.d !== undefined })
  }
  return out
}

// The public keys Go's crypto parses (x509.ParsePKIXPublicKey, jwx): RSA, ECDSA on P-256, P-384
// and P-521, Ed25519. Node also reads Ed448, secp256k1 and RSA-PSS keys, which OPA refuses.
const GO_CURVES = new Set(['prime256v1', 'secp384r1', 'secp521r1'])
function goKey (key: KeyObject): KeyObject {
  const t = key.asymmetricKeyType
  if (t === 'rsa' || t === 'ed25519') return key
  if (t === 'ec' && GO_CURVES.has(key.asymmetricKeyDetails?.namedCurve ?? '')) return key
  throw new Error(t === 'ec' ? 'unsupported elliptic curve' : `unknown public key algorithm ${t ?? ''}`.trimEnd())
}

// ---- algorithms ----

type Verify = (key: KeyObject | Buffer, data: Buffer, sig: Buffer) => boolean
class KeyTypeError extends Error {}

function derInt (b: Buffer): Buffer {
  let i = 0
  while (i < b.length - 1 && b[i] === 0) i++
  let v = b.subarray(i)
  if (v.length === 0) v = Buffer.from([0])
  if (v[0] & 0x80) v = Buffer.concat([Buffer.from([0]), v])
  return Buffer.concat([Buffer.from([0x02]), derLen(v.length), v])
}
function derLen (n: number): Buffer {
  if (n < 0x80) return Buffer.from([n])
  const bytes: number[] = []
  while (n > 0) { bytes.unshift(n & 0xff); n >>= 8 }
  return Buffer.from([0x80 | bytes.length, ...bytes])
}

// Go's crypto/rsa refuses keys under 1024 bits for every operation, verification included, since
// Go 1.24 (its rsa1024min default), so OPA verifies nothing with such a key and signs nothing:
// a 512-bit modulus can be factored, and a token "signed" with it proves nothing.
const RSA_MIN_BITS = 1024
const weakRsa = (key: KeyObject): number | null => {
  const bits = key.asymmetricKeyDetails?.modulusLength
  return (key.asymmetricKeyType === 'rsa' || key.asymmetricKeyType === 'rsa-pss') && bits !== undefined && bits < RSA_MIN_BITS ? bits : null
}

const asymmetric = (type: 'rsa' | 'ec' | 'ed', hashAlg: string | null, opts: (key: KeyObject) => object = () => ({})): Verify =>
  (key, data, sig) => {
    if (Buffer.isBuffer(key) || key.type === 'secret') throw new KeyTypeError('incorrect public key type')
    const kt = key.asymmetricKeyType
    const ok = type === 'rsa' ? kt === 'rsa' || kt === 'rsa-pss' : type === 'ec' ? kt === 'ec' : kt === 'ed25519' || kt === 'ed448'
    if (!ok) throw new KeyTypeError('incorrect public key type')
    if (weakRsa(key) !== null) return false
    if (type === 'ec') {
      // r || s split in half, as Go's verifyES; re-encoded as DER for node
      const n = Math.floor(sig.length / 2)
      const body = Buffer.concat([derInt(sig.subarray(0, n)), derInt(sig.subarray(n))])
      const der = Buffer.concat([Buffer.from([0x30]), derLen(body.length), body])
      try { return cryptoVerify(hashAlg, data, { key, dsaEncoding: 'der' }, der) } catch { return false }
    }
    const o = opts(key)
    try { return cryptoVerify(hashAlg, data, Object.keys(o).length ? { key, ...o } : key, sig) } catch { return false }
  }

const hmacVerify = (hashAlg: string): Verify => (key, data, sig) => {
  if (!Buffer.isBuffer(key) && key.type !== 'secret') throw new KeyTypeError('incorrect symmetric key type')
  const k = Buffer.isBuffer(key) ? key : key.export()
  const mac = createHmac(hashAlg, k).update(data).digest()
  return mac.length === sig.length && timingSafeEqual(mac, sig)
}

const pkcs1 = (): object => ({}) // PKCS #1 v1.5 is node's default for RSA keys
const pss = (): object => ({ padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_AUTO })

const ALGORITHMS: Record<string, { hash: string | null; verify: Verify }> = {
  RS256: { hash: 'sha256', verify: asymmetric('rsa', 'sha256', pkcs1) },
  RS384: { hash: 'sha384', verify: asymmetric('rsa', 'sha384', pkcs1) },
  RS512: { hash: 'sha512', verify: asymmetric('rsa', 'sha512', pkcs1) },
  PS256: { hash: 'sha256', verify: asymmetric('rsa', 'sha256', pss) },
  PS384: { hash: 'sha384', verify: asymmetric('rsa', 'sha384', pss) },
  PS512: { hash: 'sha512', verify: asymmetric('rsa', 'sha512', pss) },
  ES256: { hash: 'sha256', verify: asymmetric('ec', 'sha256') },
  ES384: { hash: 'sha384', verify: asymmetric('ec', 'sha384') },
  ES512: { hash: 'sha512', verify: asymmetric('ec', 'sha512') },
  EdDSA: { hash: null, verify: asymmetric('ed', null) },
  HS256: { hash: 'sha256', verify: hmacVerify('sha256') },
  HS384: { hash: 'sha384', verify: hmacVerify('sha384') },
  HS512: { hash: 'sha512', verify: hmacVerify('sha512') },
}

// decode_verify checks signatures as OPA's jws library does, stricter than the verify_*
// builtins: a PSS salt as long as the hash (verify_ps* detects it), an ECDSA signature exactly
// twice the curve's size (verify_es* splits whatever it gets in half).
const CURVE_BYTES: Record<string, number> = { prime256v1: 32, secp384r1: 48, secp521r1: 66 }
const exactEcdsa = (v: Verify): Verify => (key, data, sig) => {
  const size = Buffer.isBuffer(key) ? undefined : CURVE_BYTES[key.asymmetricKeyDetails?.namedCurve ?? '']
  if (size !== undefined && sig.length !== 2 * size) return false
  return v(key, data, sig)
}
const pssHashSalt = (bytes: number) => (): object => ({ padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: bytes })
const DECODE_VERIFY_ALGORITHMS: Record<string, { hash: string | null; verify: Verify }> = {
  ...ALGORITHMS,
  PS256: { hash: 'sha256', verify: asymmetric('rsa', 'sha256', pssHashSalt(32)) },
  PS384: { hash: 'sha384', verify: asymmetric('rsa', 'sha384', pssHashSalt(48)) },
  PS512: { hash: 'sha512', verify: asymmetric('rsa', 'sha512', pssHashSalt(64)) },
  ES256: { hash: 'sha256', verify: exactEcdsa(ALGORITHMS.ES256!.verify) },
  ES384: { hash: 'sha384', verify: exactEcdsa(ALGORITHMS.ES384!.verify) },
  ES512: { hash: 'sha512', verify: exactEcdsa(ALGORITHMS.ES512!.verify) },
}

const tryVerify = (v: Verify, key: KeyObject | Buffer, data: Buffer, sig: Buffer): boolean => {
  try { return v(key, data, sig) } catch { return false }
}

interface Header { alg: string; kid: string; typ: string; cty: string; crit: Set<string> | null; unknown: string[] }

function parseHeader (name: string, h: JsonObject): Header {
  const out: Header = { alg: '', kid: '', typ: '', cty: '', crit: null, unknown: [] }
  for (const k of Object.keys(h).sort()) {
    const v = h[k]
    if (k === 'alg' || k === 'kid' || k === 'typ' || k === 'cty') {
      if (typeof v !== 'string') throw builtinError(name, `${k}: must be a string`)
      out[k] = v
    } else if (k === 'crit') {
      if (!Array.isArray(v)) throw builtinError(name, 'crit: must be a list')
      out.crit = new Set(v.filter((x): x is string => typeof x === 'string'))
      if (out.crit.size === 0) throw builtinError(name, 'crit: must be a nonempty list')
    } else {
      out.unknown.push(k)
    }
  }
  return out
}

const headerValid = (h: Header): boolean => h.alg !== '' && !h.unknown.some(u => h.crit?.has(u))

/** io.jwt.verify_<alg>(jwt, certificate) for asymmetric algorithms. */
function verifyAsymmetric (alg: string) {
  const name = `io.jwt.verify_${alg.toLowerCase()}`
  const { verify } = ALGORITHMS[alg]
  return (jwt: unknown, certificate: unknown): boolean => {
    const t = splitToken(name, jwt)
    const keys = verificationKeys(name, str(name, 2, certificate))
    const sig = decodeSignature(name, t)
    const header = parseHeader(name, decodeHeader(name, t))
    const data = stringBytes(t.header + '.' + t.payload)
    // a private JWK is no public key to OPA's verify_* (its type assertion fails): false
    if (header.kid !== '') {
      const k = keys.find(x => x.kid === header.kid)
      if (k !== undefined) return !k.priv && tryVerify(verify, k.key, data, sig)
    }
    for (const k of keys) {
      if (k.priv || (k.alg !== '' && k.alg !== header.alg)) continue
      if (tryVerify(verify, k.key, data, sig)) return true
    }
    return false
  }
}

function verifyHMAC (alg: string) {
  const name = `io.jwt.verify_${alg.toLowerCase()}`
  const { verify } = ALGORITHMS[alg]
  return (jwt: unknown, secret: unknown): boolean => {
    const t = splitToken(name, jwt)
    const key = stringBytes(str(name, 2, secret))
    const sig = decodeSignature(name, t)
    return verify(key, stringBytes(t.header + '.' + t.payload), sig)
  }
}

// ---- decode_verify ----

const UNVERIFIED = [false, {}, {}]

function decodeVerify (jwt: unknown, constraints: unknown): unknown[] {
  const name = 'io.jwt.decode_verify'
  str(name, 1, jwt)
  const c = obj(name, 2, constraints)
  let keys: VerificationKey[] | null = null
  let secret = ''
  let alg = ''
  let iss = ''
  let aud = ''
  let time = -1
  const strConstraint = (k: string, v: unknown): string => {
    if (typeof v !== 'string') throw builtinError(name, `${k} constraint: must be a string`)
    return v
  }
  const timeOf = (v: unknown): number => {
    if (typeof v !== 'number') throw builtinError(name, 'token time constraint: must be a number')
    if (v < 0) throw builtinError(name, 'token time constraint: must not be negative')
    return v
  }
  for (const k of Object.keys(c).sort()) {
    const v = c[k]
    switch (k) {
      case 'cert': keys = verificationKeys(name, strConstraint('cert', v)); break
      case 'secret': secret = strConstraint('secret', v); break
      case 'alg': alg = strConstraint('alg', v); break
      case 'iss': iss = strConstraint('iss', v); break
      case 'aud': aud = strConstraint('aud', v); break
      case 'time': time = timeOf(v); break
      default: throw builtinError(name, `unknown token validation constraint: ${k}`)
    }
  }
  if (time === -1) time = Number(evaluationNowNs())
  const nKeys = (keys !== null ? 1 : 0) + (secret !== '' ? 1 : 0)
  if (nKeys > 1) throw builtinError(name, 'duplicate key constraints')
  if (nKeys < 1) throw builtinError(name, 'no key constraint')

  let token: unknown = jwt
  let t: Token
  let payloadRaw: Buffer
  for (;;) {
    t = splitToken(name, token)
    const header = parseHeader(name, decodeHeader(name, t))
    if (!headerValid(header)) return UNVERIFIED
    if (alg !== '' && alg !== header.alg) return UNVERIFIED
    const sig = decodeSignature(name, t)
    // OPA: any failure of the signature check (an algorithm it does not know, a key of the wrong
    // kind) is "not verified", not an error
    const a = Object.prototype.hasOwnProperty.call(DECODE_VERIFY_ALGORITHMS, header.alg) ? DECODE_VERIFY_ALGORITHMS[header.alg]! : undefined
    if (a === undefined) return UNVERIFIED
    const data = stringBytes(t.header + '.' + t.payload)
    if (keys !== null) {
      let verified = false
      const byKid = header.kid !== '' ? keys.find(k => k.kid === header.kid) : undefined
      if (byKid !== undefined) verified = tryVerify(a.verify, byKid.key, data, sig)
      else {
        for (const k of keys) {
          if (k.alg !== '' && k.alg !== header.alg) continue
          if (tryVerify(a.verify, k.key, data, sig)) { verified = true; break }
        }
      }
      if (!verified) return UNVERIFIED
    } else {
      if (!tryVerify(a.verify, stringBytes(secret), data, sig)) return UNVERIFIED
    }
    try {
      payloadRaw = b64url(t.payload)
    } catch (e) {
      throw builtinError(name, `JWT payload had invalid encoding: ${errMsg(e)}`)
    }
    if (header.cty.toUpperCase() === 'JWT') { token = payloadRaw.toString('utf8'); continue }
    break
  }
  let payload: JsonObject
  try {
    payload = jsonObject(payloadRaw.toString('utf8'))
  } catch (e) {
    throw builtinError(name, errMsg(e))
  }
  if (iss !== '' && payload.iss !== iss) return UNVERIFIED
  if (payload.aud !== undefined) {
    const a = payload.aud
    const ok = typeof a === 'string' ? a === aud : Array.isArray(a) && a.some(x => typeof x === 'string' && x === aud)
    if (!ok) return UNVERIFIED
  } else if (aud !== '') {
    return UNVERIFIED
  }
  const now = time / 1e9
  if (payload.exp !== undefined) {
    const exp = claimNumber(payload.exp)
    if (exp === undefined) throw builtinError(name, 'exp value must be a number')
    if (now >= exp) return UNVERIFIED
  }
  if (payload.nbf !== undefined) {
    const nbf = claimNumber(payload.nbf)
    if (nbf === undefined) throw builtinError(name, 'nbf value must be a number')
    if (now < nbf) return UNVERIFIED
  }
  return [true, t.decodedHeader, payload]
}

// ---- encode_sign ----

function encodeSign (name: string, headers: string, payload: string, jwkSrc: string): string {
  let jwk: JsonObject
  try {
    const set = parseJWKSet(jwkSrc)
    if (set.length === 0) throw new Error('no keys in JWK set')
    jwk = set[0]
  } catch (e) {
    throw builtinError(name, errMsg(e))
  }
  let key: KeyObject
  try {
    key = jwkToKey(jwk, true)
  } catch (e) {
    throw builtinError(name, errMsg(e))
  }
  let std: JsonObject
  try {
    std = jsonObject(headers)
  } catch (e) {
    throw builtinError(name, errMsg(e))
  }
  const alg = typeof std.alg === 'string' ? std.alg : ''
  const a = ALGORITHMS[alg]
  if (a === undefined) throw builtinError(name, 'unknown signature algorithm')
  const typ = typeof std.typ === 'string' ? std.typ : ''
  if (typ === '' || typ === 'JWT') {
    try { JSON.parse(payload) } catch { throw builtinError(name, 'type is JWT but payload is not JSON') }
  }
  const signingInput = stringBytes(headers).toString('base64url') + '.' + stringBytes(payload).toString('base64url')
  const data = Buffer.from(signingInput)
  let sig: Buffer
  try {
    if (alg.startsWith('HS')) {
      if (key.type !== 'secret') throw new Error('invalid key type for HMAC signing')
      sig = createHmac(a.hash!, key.export()).update(data).digest()
    } else {
      if (key.type !== 'private') throw new Error(`a private key is required to sign with ${alg}`)
      const weak = weakRsa(key)
      if (weak !== null) throw new Error(`crypto/rsa: ${weak}-bit keys are insecure (see https://go.dev/pkg/crypto/rsa#hdr-Minimum_key_size)`)
      if (alg.startsWith('RS')) sig = cryptoSign(a.hash, data, { key, padding: constants.RSA_PKCS1_PADDING })
      else if (alg.startsWith('PS')) sig = cryptoSign(a.hash, data, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST })
      else if (alg.startsWith('ES')) sig = cryptoSign(a.hash, data, { key, dsaEncoding: 'ieee-p1363' })
      else sig = cryptoSign(null, data, key)
    }
  } catch (e) {
    throw builtinError(name, errMsg(e))
  }
  return signingInput + '.' + sig.toString('base64url')
}

export const jwtBuiltins: Record<string, HostBuiltin> = {
  'io.jwt.decode': decode,
  'io.jwt.decode_verify': decodeVerify,
  'io.jwt.verify_rs256': verifyAsymmetric('RS256'),
  'io.jwt.verify_rs384': verifyAsymmetric('RS384'),
  'io.jwt.verify_rs512': verifyAsymmetric('RS512'),
  'io.jwt.verify_ps256': verifyAsymmetric('PS256'),
  'io.jwt.verify_ps384': verifyAsymmetric('PS384'),
  'io.jwt.verify_ps512': verifyAsymmetric('PS512'),
  'io.jwt.verify_es256': verifyAsymmetric('ES256'),
  'io.jwt.verify_es384': verifyAsymmetric('ES384'),
  'io.jwt.verify_es512': verifyAsymmetric('ES512'),
  'io.jwt.verify_eddsa': verifyAsymmetric('EdDSA'),
  'io.jwt.verify_hs256': verifyHMAC('HS256'),
  'io.jwt.verify_hs384': verifyHMAC('HS384'),
  'io.jwt.verify_hs512': verifyHMAC('HS512'),
  'io.jwt.encode_sign': (h: unknown, p: unknown, k: unknown) => {
    const name = 'io.jwt.encode_sign'
    return encodeSign(name, goJSON(obj(name, 1, h)), goJSON(obj(name, 2, p)), goJSON(obj(name, 3, k)))
  },
  'io.jwt.encode_sign_raw': (h: unknown, p: unknown, k: unknown) => {
    const name = 'io.jwt.encode_sign_raw'
    return encodeSign(name, str(name, 1, h), str(name, 2, p), str(name, 3, k))
  },
}


/** A numeric claim as a double for comparing with the clock (an exact big integer included). */
function claimNumber (v: unknown): number | undefined {
  if (typeof v === 'number') return v
  return isRawJson(v) ? Number(v.rawJSON) : undefined
}
