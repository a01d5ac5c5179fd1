// crypto.x509.parse_rsa_private_key, as OPA answers it:
//
// - "" is an error ("input PEM data was empty"); text not starting with "-----BEGIN" must be
//   standard base64 (Go's strict decoder, its "illegal base64 data at input byte N"), and what
//   it decodes to is read as PEM. That text is then base64-decoded once more if it can be (OPA's
//   key reader tries), so base64 of base64 of PEM works too.
// - Every PEM block is read in order, stopping at the first that is not well formed: "RSA
//   PRIVATE KEY" is PKCS#1, "PRIVATE KEY" PKCS#8, "EC PRIVATE KEY" SEC 1; other blocks are
//   skipped. Any key that does not parse fails the call, even one after the key that is used.
// - No key at all is null. The first key becomes its JWK (RFC 7517) as OPA's JWK library writes
//   it: for RSA the members kty, n, e, d, p, q, dp, dq, qi, each big-endian without leading
//   zero bytes, base64url without padding (node:crypto's JWK export writes exactly these).
//
// What Bouncer does not answer as OPA: a first key that is not RSA (ECDSA, Ed25519, X25519) is an
// error here. OPA's answer for those depends on the JWK library its release embeds (an old
// in-tree fork refuses Ed25519; lestrrat-go/jwx v3 writes OKP keys), so none is given. Multi-prime
// RSA keys are refused too, and DER that is not a key at all gets an "asn1: structure error"
// message naming what broke rather than the exact text of Go's encoding/asn1.
//
// crypto.parse_private_keys is not implemented: OPA writes Go's rsa/ecdsa structs with
// encoding/json (the Precomputed CRT values, the curve's parameters), whose members change
// with the Go release.
import { createPrivateKey, type KeyObject } from 'node:crypto'
import { builtinError } from '../context.js'
import { goBase64Decode } from '../encoding.js'
import { pemDecode } from '../pem.js'
import { memoByText } from './memo.js'
import { children, DerError, integerOf, oidOf, oidText, readElement, type Element } from './der.js'

export const PARSE_RSA_PRIVATE_KEY = 'crypto.x509.parse_rsa_private_key'

const SEQ = 0x30
const INT = 0x02
const OCTETS = 0x04

const OID_RSA = '1.2.840.113549.1.1.1'
const OID_EC = '1.2.840.10045.2.1'
const OID_ED25519 = '1.3.101.112'
const OID_X25519 = '1.3.101.110'
// The curves Go's crypto/x509 knows (namedCurveFromOID), by node's names.
const GO_CURVES = new Set(['secp224r1', 'prime256v1', 'secp384r1', 'secp521r1'])
const CURVE_OIDS: Record<string, string> = {
  '1.3.132.0.33': 'secp224r1', '1.2.840.10045.3.1.7': 'prime256v1', '1.3.132.0.34': 'secp384r1', '1.3.132.0.35': 'secp521r1',
}

class KeyError extends Error {}

/** The top-level element's children if `der` is exactly one SEQUENCE, else null. */
function sequence (der: Buffer): Element[] | null {
  try {
    const top = readElement(der, 0, der.length)
    if (top.tag !== SEQ || top.end !== der.length) return null
    return children(der, top)
  } catch (e) {
    if (e instanceof DerError) return null
    throw e
  }
}

const tags = (els: Element[] | null): number[] => els === null ? [] : els.map(e => e.tag)
const startsWith = (have: number[], want: number[]): boolean => want.every((t, i) => have[i] === t)

// The shapes Go's asn1.Unmarshal would accept for each structure (enough to tell them apart).
const isPkcs1 = (els: Element[] | null): boolean => startsWith(tags(els), [INT, INT, INT, INT, INT, INT])
const isPkcs8 = (els: Element[] | null): boolean => startsWith(tags(els), [INT, SEQ, OCTETS])
const isSec1 = (els: Element[] | null): boolean => startsWith(tags(els), [INT, OCTETS])

function malformed (der: Buffer, what: string): KeyError {
  let detail: string
  try {
    const top = readElement(der, 0, der.length)
    detail = top.tag !== SEQ ? `not a SEQUENCE (tag 0x${top.tag.toString(16)})` : top.end !== der.length ? 'trailing data' : 'unexpected contents'
  } catch (e) {
    detail = e instanceof DerError ? e.message.replace(/^x509: malformed certificate ?\(?|\)$/g, '') || 'truncated' : String(e)
  }
  return new KeyError(`asn1: structure error: ${what}: ${detail}`)
}

function nodeKey (der: Buffer, type: 'pkcs1' | 'pkcs8' | 'sec1', what: string): KeyObject {
  try {
    return createPrivateKey({ key: der, format: 'der', type })
  } catch {
    throw malformed(der, what)
  }
}

function rsaPkcs1 (der: Buffer): KeyObject {
  const els = sequence(der)
  if (!isPkcs1(els)) {
    if (isSec1(els) && !isPkcs8(els)) throw new KeyError('x509: failed to parse private key (use ParseECPrivateKey instead for this key format)')
    if (isPkcs8(els)) throw new KeyError('x509: failed to parse private key (use ParsePKCS8PrivateKey instead for this key format)')
    throw malformed(der, 'pkcs1PrivateKey')
  }
  const [version, n, e, d, p, q] = els!.slice(0, 6).map(el => integerOf(der, el)) as [bigint, bigint, bigint, bigint, bigint, bigint]
  if (version > 1n) throw new KeyError('x509: unsupported private key version')
  if (n <= 0n || d <= 0n || p <= 0n || q <= 0n) throw new KeyError('x509: private key contains zero or negative value')
  if (version === 1n || els!.length > 9) throw new KeyError(`multi-prime RSA keys are not supported by Bouncer's ${PARSE_RSA_PRIVATE_KEY}`)
  if (p * q !== n) throw new KeyError('crypto/rsa: invalid modulus')
  if (e < 2n) throw new KeyError('crypto/rsa: public exponent too small')
  if (e > 0x7fffffffn) throw new KeyError('crypto/rsa: public exponent too large')
  if ((d * e) % (p - 1n) !== 1n || (d * e) % (q - 1n) !== 1n) throw new KeyError('crypto/rsa: invalid exponents')
  return nodeKey(der, 'pkcs1', 'pkcs1PrivateKey')
}

/** Checks SEC 1 DER as Go reads it; `curveOid` is the PKCS#8 wrapper's curve, if any. */
function checkSec1 (der: Buffer, curveOid: string | null): void {
  const els = sequence(der)
  if (!isSec1(els) || isPkcs8(els)) {
    if (isPkcs8(els)) throw new KeyError('x509: failed to parse private key (use ParsePKCS8PrivateKey instead for this key format)')
    if (isPkcs1(els)) throw new KeyError('x509: failed to parse private key (use ParsePKCS1PrivateKey instead for this key format)')
    throw new KeyError('x509: failed to parse EC private key: ' + malformed(der, 'ecPrivateKey').message)
  }
  const version = integerOf(der, els![0]!)
  if (version !== 1n) throw new KeyError(`x509: unknown EC private key version ${version}`)
  let oid = curveOid
  if (oid === null) {
    const named = els!.find(e => e.tag === 0xa0)
    if (named !== undefined) {
      const inner = readElement(der, named.content, named.end)
      if (inner.tag === 0x06) oid = oidText(oidOf(der, inner))
    }
  }
  if (oid === null || CURVE_OIDS[oid] === undefined) throw new KeyError('x509: unknown elliptic curve')
}

function ecSec1 (der: Buffer): KeyObject {
  checkSec1(der, null)
  return goCurve(nodeKey(der, 'sec1', 'ecPrivateKey'))
}

function goCurve (key: KeyObject): KeyObject {
  if (!GO_CURVES.has(key.asymmetricKeyDetails?.namedCurve ?? '')) throw new KeyError('x509: unknown elliptic curve')
  return key
}

function pkcs8 (der: Buffer): KeyObject {
  const els = sequence(der)
  if (!isPkcs8(els)) {
    if (isSec1(els)) throw new KeyError('x509: failed to parse private key (use ParseECPrivateKey instead for this key format)')
    if (isPkcs1(els)) throw new KeyError('x509: failed to parse private key (use ParsePKCS1PrivateKey instead for this key format)')
    throw malformed(der, 'pkcs8')
  }
  const algo = children(der, els![1]!)
  if (algo[0]?.tag !== 0x06) throw malformed(der, 'pkcs8')
  const oid = oidText(oidOf(der, algo[0]))
  const inner = Buffer.from(der.subarray(els![2]!.content, els![2]!.end))
  switch (oid) {
    case OID_RSA:
      try { rsaPkcs1(inner) } catch (e) {
        if (e instanceof KeyError) throw new KeyError('x509: failed to parse RSA private key embedded in PKCS#8: ' + e.message)
        throw e
      }
      return nodeKey(der, 'pkcs8', 'pkcs8')
    case OID_EC: {
      const params = algo[1]
      const curve = params?.tag === 0x06 ? oidText(oidOf(der, params)) : null
      try { checkSec1(inner, curve) } catch (e) {
        if (e instanceof KeyError) throw new KeyError('x509: failed to parse EC private key embedded in PKCS#8: ' + e.message)
        throw e
      }
      return goCurve(nodeKey(der, 'pkcs8', 'pkcs8'))
    }
    case OID_ED25519:
    case OID_X25519:
      return nodeKey(der, 'pkcs8', 'pkcs8')
    default:
      throw new KeyError(`x509: PKCS#8 wrapping contained private key with unknown algorithm: ${oid}`)
  }
}

/** The private keys in PEM text, as OPA's reader finds them (see the top of this file). */
function privateKeys (text: string): KeyObject[] {
  try { text = goBase64Decode(text, false, true).toString('latin1') } catch { /* not base64: PEM as it is */ }
  const keys: KeyObject[] = []
  for (let rest = text; rest.length > 0;) {
    const block = pemDecode(rest)
    if (block === null) break
    rest = block.rest
    const der = Buffer.from(block.der)
    if (block.type === 'RSA PRIVATE KEY') keys.push(rsaPkcs1(der))
    else if (block.type === 'PRIVATE KEY') keys.push(pkcs8(der))
    else if (block.type === 'EC PRIVATE KEY') keys.push(ecSec1(der))
  }
  return keys
}

function parseUncached (input: string): Record<string, string> | null {
  if (input === '') throw builtinError(PARSE_RSA_PRIVATE_KEY, 'input PEM data was empty')
  let text = input
  if (!input.startsWith('-----BEGIN')) {
    try { text = goBase64Decode(input, false, true).toString('latin1') } catch (e) {
      throw builtinError(PARSE_RSA_PRIVATE_KEY, (e as Error).message)
    }
  }
  let keys: KeyObject[]
  try { keys = privateKeys(text) } catch (e) {
    if (e instanceof KeyError) throw builtinError(PARSE_RSA_PRIVATE_KEY, e.message)
    throw e
  }
  const key = keys[0]
  if (key === undefined) return null
  if (key.asymmetricKeyType !== 'rsa') {
    throw builtinError(PARSE_RSA_PRIVATE_KEY, `${key.asymmetricKeyType ?? 'this'} keys are not supported by Bouncer's ${PARSE_RSA_PRIVATE_KEY}`)
  }
  const { kty, n, e, d, p, q, dp, dq, qi } = key.export({ format: 'jwk' })
  return { kty: kty!, n: n!, e: e!, d: d!, p: p!, q: q!, dp: dp!, dq: dq!, qi: qi! }
}

// The same key text is parsed on every evaluation that reads it: see memo.ts.
export const parseRsaPrivateKey: (input: string) => Readonly<Record<string, string>> | null = memoByText(64, 2 * 1024 * 1024, parseUncached)
