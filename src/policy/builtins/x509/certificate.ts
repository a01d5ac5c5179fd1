// One DER certificate as crypto.x509.parse_certificates returns it: Go's x509.Certificate as
// encoding/json writes it (OPA turns the parsed struct into a value through JSON), plus OPA's
// URIStrings. Field names, nulls for absent lists, base64 for bytes, numbers for big integers
// and enums, RFC 3339 times: a policy reads `Subject.CommonName`, `DNSNames`, `NotAfter`,
// `Extensions[_].Id` exactly as it would under OPA.
//
// Parsing follows crypto/x509 (Go 1.24): the same structure checks and the extensions it
// interprets. What Bouncer does not interpret yet — name constraints, policy constraints and
// mappings, inhibitAnyPolicy, SAN URIs needing more than scheme://host/path?query#fragment
// without escapes — is an error naming it (the builtin is then undefined), never a partly
// filled certificate.
import { createPublicKey, X509Certificate } from 'node:crypto'
import {
  BIT_STRING, BMP_STRING, DerError, GENERALIZED_TIME, IA5_STRING, INTEGER, NULL, NUMERIC_STRING, OCTET_STRING, OID, PRINTABLE_STRING,
  SEQUENCE, SET, T61_STRING, UTC_TIME, UTF8_STRING, bitStringOf, booleanOf, bytesOf, children, context, contextPrimitive, expect,
  integerOf, oidOf, oidText, rawOf, readElement, type Element,
} from './der.js'
import { rawJson } from '../../../exact-json.js'
import { formatIP } from '../net.js'

export class UnsupportedCertificate extends Error {
  constructor (what: string) {
    super(`x509: ${what} is not supported by Bouncer's crypto.x509 builtins`)
    this.name = 'UnsupportedCertificate'
  }
}

type Json = unknown
type Obj = Record<string, Json>

// x509.SignatureAlgorithm by the algorithm identifier's OID (RSA-PSS by its hash: see pssAlgorithm).
export const SIGNATURE_ALGORITHMS: Record<string, number> = {
  '1.2.840.113549.1.1.2': 1, // MD2WithRSA
  '1.2.840.113549.1.1.4': 2, // MD5WithRSA
  '1.2.840.113549.1.1.5': 3, // SHA1WithRSA
  '1.3.14.3.2.29': 3, // SHA1WithRSA (the old OID)
  '1.2.840.113549.1.1.11': 4, // SHA256WithRSA
  '1.2.840.113549.1.1.12': 5, // SHA384WithRSA
  '1.2.840.113549.1.1.13': 6, // SHA512WithRSA
  '1.2.840.10040.4.3': 7, // DSAWithSHA1
  '2.16.840.1.101.3.4.3.2': 8, // DSAWithSHA256
  '1.2.840.10045.4.1': 9, // ECDSAWithSHA1
  '1.2.840.10045.4.3.2': 10, // ECDSAWithSHA256
  '1.2.840.10045.4.3.3': 11, // ECDSAWithSHA384
  '1.2.840.10045.4.3.4': 12, // ECDSAWithSHA512
  '1.3.101.112': 16, // PureEd25519
}
export const RSA_PSS = '1.2.840.113549.1.1.10'
const PSS_BY_HASH: Record<string, [number, number]> = { // hash OID -> [SignatureAlgorithm, salt length]
  '2.16.840.1.101.3.4.2.1': [13, 32], '2.16.840.1.101.3.4.2.2': [14, 48], '2.16.840.1.101.3.4.2.3': [15, 64],
}
const MGF1 = '1.2.840.113549.1.1.8'

// x509.PublicKeyAlgorithm.
const RSA = 1, DSA = 2, ECDSA = 3, ED25519 = 4
const PUBLIC_KEY_ALGORITHMS: Record<string, number> = {
  '1.2.840.113549.1.1.1': RSA, '1.2.840.10040.4.1': DSA, '1.2.840.10045.2.1': ECDSA, '1.3.101.112': ED25519,
}
const CURVES: Record<string, number> = { // named curve OID -> coordinate bytes
  '1.3.132.0.33': 28, '1.2.840.10045.3.1.7': 32, '1.3.132.0.34': 48, '1.3.132.0.35': 66,
}

// x509.ExtKeyUsage by OID.
const EXT_KEY_USAGES: Record<string, number> = {
  '2.5.29.37.0': 0, '1.3.6.1.5.5.7.3.1': 1, '1.3.6.1.5.5.7.3.2': 2, '1.3.6.1.5.5.7.3.3': 3, '1.3.6.1.5.5.7.3.4': 4,
  '1.3.6.1.5.5.7.3.5': 5, '1.3.6.1.5.5.7.3.6': 6, '1.3.6.1.5.5.7.3.7': 7, '1.3.6.1.5.5.7.3.8': 8, '1.3.6.1.5.5.7.3.9': 9,
  '1.3.6.1.4.1.311.10.3.3': 10, '2.16.840.1.113730.4.1': 11, '1.3.6.1.4.1.311.2.1.22': 12, '1.3.6.1.4.1.311.61.1.1': 13,
}

// pkix.Name's fields filled from attributes 2.5.4.n (FillFromRDNSequence).
const NAME_LISTS: Record<number, string> = { 6: 'Country', 7: 'Locality', 8: 'Province', 9: 'StreetAddress', 10: 'Organization', 11: 'OrganizationalUnit', 17: 'PostalCode' }

const AIA = '1.3.6.1.5.5.7.1.1'
const OCSP = '1.3.6.1.5.5.7.48.1'
const CA_ISSUERS = '1.3.6.1.5.5.7.48.2'

const b64 = (b: Uint8Array | null): string | null => b === null ? null : Buffer.from(b).toString('base64')
const bigint = (v: bigint): Json => Number.isSafeInteger(Number(v)) ? Number(v) : rawJson(v.toString())

/** Parses the certificate at buf[at, …) and returns it with the offset after it. */
export function parseCertificateAt (buf: Uint8Array, at: number): { cert: Obj; end: number } {
  let whole: Element
  try { whole = expect(buf, at, buf.length, SEQUENCE, 'certificate') } catch { throw new DerError() }
  const der = rawOf(buf, whole)
  // OpenSSL reads it too: a certificate it cannot parse is not one, whatever this walk accepts.
  try { void new X509Certificate(der) } catch (e) { throw new DerError((e as Error).message) }
  const [tbs, outerSigAI, sigValue, ...extra] = children(buf, whole)
  if (tbs === undefined || outerSigAI === undefined || sigValue === undefined || extra.length > 0) throw new DerError('certificate is not three elements')
  if (tbs.tag !== SEQUENCE) throw new DerError('tbsCertificate')
  const t = children(buf, tbs)
  let i = 0
  let version = 0
  if (t[i]?.tag === context(0)) {
    const [v, ...rest] = children(buf, t[i]!)
    if (v === undefined || rest.length > 0) throw new DerError('version')
    const n = integerOf(buf, v)
    if (n < 0n) throw new DerError('malformed version')
    version = Number(n)
    i++
  }
  version++
  if (version > 3) throw new DerError('invalid version')
  const serialEl = t[i++]
  if (serialEl === undefined) throw new DerError('missing serial number')
  const serial = integerOf(buf, serialEl)
  // Go 1.23 on (the x509negativeserial setting off, as OPA ships).
  if (serial < 0n) throw new DerError('negative serial number')
  const innerSigAI = t[i++]
  if (innerSigAI === undefined || innerSigAI.tag !== SEQUENCE) throw new DerError('signature algorithm')
  if (!rawOf(buf, innerSigAI).equals(rawOf(buf, outerSigAI))) throw new DerError("inner and outer signature algorithm identifiers don't match")
  const issuerEl = t[i++]
  const validity = t[i++]
  const subjectEl = t[i++]
  const spki = t[i++]
  if (issuerEl === undefined || validity === undefined || subjectEl === undefined || spki === undefined) throw new DerError('truncated tbsCertificate')
  if (validity.tag !== SEQUENCE) throw new DerError('validity')
  const [nb, na, ...vx] = children(buf, validity)
  if (nb === undefined || na === undefined || vx.length > 0) throw new DerError('validity')
  // issuerUniqueID [1] and subjectUniqueID [2] are skipped, as Go skips them.
  if (t[i]?.tag === contextPrimitive(1) || t[i]?.tag === context(1)) i++
  if (t[i]?.tag === contextPrimitive(2) || t[i]?.tag === context(2)) i++
  let extensionsEl: Element | undefined
  if (t[i]?.tag === context(3)) {
    const [seq, ...rest] = children(buf, t[i]!)
    if (seq === undefined || seq.tag !== SEQUENCE || rest.length > 0) throw new DerError('extensions')
    extensionsEl = seq
    i++
  }
  if (i !== t.length) throw new DerError('trailing data in tbsCertificate')

  const { algorithm: publicKeyAlgorithm, key: publicKey } = publicKeyOf(buf, spki)
  const cert: Obj = {
    Raw: b64(der),
    RawTBSCertificate: b64(rawOf(buf, tbs)),
    RawSubjectPublicKeyInfo: b64(rawOf(buf, spki)),
    RawSubject: b64(rawOf(buf, subjectEl)),
    RawIssuer: b64(rawOf(buf, issuerEl)),
    Signature: b64(bitStringOf(buf, sigValue).bytes),
    SignatureAlgorithm: signatureAlgorithmOf(buf, outerSigAI),
    PublicKeyAlgorithm: publicKeyAlgorithm,
    PublicKey: publicKey,
    Version: version,
    SerialNumber: bigint(serial),
    Issuer: nameOf(buf, issuerEl),
    Subject: nameOf(buf, subjectEl),
    NotBefore: timeOf(buf, nb),
    NotAfter: timeOf(buf, na),
    KeyUsage: 0,
    Extensions: null,
    ExtraExtensions: null,
    UnhandledCriticalExtensions: null,
    ExtKeyUsage: null,
    UnknownExtKeyUsage: null,
    BasicConstraintsValid: false,
    IsCA: false,
    MaxPathLen: 0,
    MaxPathLenZero: false,
    SubjectKeyId: null,
    AuthorityKeyId: null,
    OCSPServer: null,
    IssuingCertificateURL: null,
    DNSNames: null,
    EmailAddresses: null,
    IPAddresses: null,
    URIs: null,
    PermittedDNSDomainsCritical: false,
    PermittedDNSDomains: null,
    ExcludedDNSDomains: null,
    PermittedIPRanges: null,
    ExcludedIPRanges: null,
    PermittedEmailAddresses: null,
    ExcludedEmailAddresses: null,
    PermittedURIDomains: null,
    ExcludedURIDomains: null,
    CRLDistributionPoints: null,
    PolicyIdentifiers: null,
    Policies: null,
    InhibitAnyPolicy: 0,
    InhibitAnyPolicyZero: false,
    InhibitPolicyMapping: 0,
    InhibitPolicyMappingZero: false,
    RequireExplicitPolicy: 0,
    RequireExplicitPolicyZero: false,
    PolicyMappings: null,
    URIStrings: null,
  }
  if (extensionsEl !== undefined) applyExtensions(buf, extensionsEl, cert)
  return { cert, end: whole.end }
}

function signatureAlgorithmOf (buf: Uint8Array, ai: Element): number {
  const [alg, params, ...rest] = children(buf, ai)
  if (alg === undefined || rest.length > 0) throw new DerError('algorithm identifier')
  const oid = oidText(oidOf(buf, alg))
  if (oid === RSA_PSS) return params === undefined ? 0 : pssAlgorithm(buf, params)
  const n = SIGNATURE_ALGORITHMS[oid]
  if (n === undefined) return 0
  // Ed25519's parameters must be absent (RFC 8410).
  if (n === 16 && params !== undefined) return 0
  return n
}

/** RSASSA-PSS parameters as Go accepts them: SHA-256/384/512, MGF1 with the same hash, the hash's length of salt, trailer 1. */
export function pssAlgorithm (buf: Uint8Array, params: Element): number {
  if (params.tag !== SEQUENCE) return 0
  let hash: string | null = null
  let mgfHash: string | null = null
  let salt = 20
  let trailer = 1
  for (const p of children(buf, params)) {
    const [inner] = children(buf, p)
    if (inner === undefined) return 0
    if (p.tag === context(0)) hash = oidText(oidOf(buf, children(buf, inner)[0]!))
    else if (p.tag === context(1)) {
      const [mgf, mgfParams] = children(buf, inner)
      if (mgf === undefined || mgfParams === undefined || oidText(oidOf(buf, mgf)) !== MGF1) return 0
      mgfHash = oidText(oidOf(buf, children(buf, mgfParams)[0]!))
    } else if (p.tag === context(2)) salt = Number(integerOf(buf, inner))
    else if (p.tag === context(3)) trailer = Number(integerOf(buf, inner))
  }
  const known = hash === null ? undefined : PSS_BY_HASH[hash]
  if (known === undefined || mgfHash !== hash || salt !== known[1] || trailer !== 1) return 0
  return known[0]
}

export function publicKeyOf (buf: Uint8Array, spki: Element): { algorithm: number; key: Json } {
  if (spki.tag !== SEQUENCE) throw new DerError('subjectPublicKeyInfo')
  const [ai, bits, ...rest] = children(buf, spki)
  if (ai === undefined || bits === undefined || rest.length > 0 || ai.tag !== SEQUENCE) throw new DerError('subjectPublicKeyInfo')
  const [algEl, params] = children(buf, ai)
  if (algEl === undefined) throw new DerError('public key algorithm')
  const oid = oidText(oidOf(buf, algEl))
  const algorithm = PUBLIC_KEY_ALGORITHMS[oid] ?? 0
  // Go leaves the key of an algorithm outside its enum (X25519 among them) nil.
  if (algorithm === 0) return { algorithm, key: null }
  const keyBits = bitStringOf(buf, bits).bytes
  if (algorithm === DSA) return { algorithm, key: dsaKeyOf(buf, params, keyBits) }
  // The key as OpenSSL reads it: a modulus, point or key it refuses is refused here too.
  let jwk: { n?: string; e?: string; x?: string }
  try { jwk = createPublicKey({ key: rawOf(buf, spki), format: 'der', type: 'spki' }).export({ format: 'jwk' }) as typeof jwk } catch (e) {
    throw new DerError(`public key: ${(e as Error).message}`)
  }
  if (algorithm === RSA) {
    if (params === undefined || params.tag !== NULL || params.end !== params.content) throw new DerError('RSA key missing NULL parameters')
    return { algorithm, key: { N: bigint(fromB64url(jwk.n!)), E: bigint(fromB64url(jwk.e!)) } }
  }
  if (algorithm === ED25519) {
    if (params !== undefined) throw new DerError('Ed25519 key encoded with illegal parameters')
    return { algorithm, key: b64(keyBits) }
  }
  // ECDSA on a named curve; the point uncompressed (Go's elliptic.Unmarshal).
  if (params === undefined || params.tag !== OID) throw new DerError('ECDSA parameters')
  const size = CURVES[oidText(oidOf(buf, params))]
  if (size === undefined) throw new DerError('unsupported elliptic curve')
  if (keyBits.length !== 1 + 2 * size || keyBits[0] !== 4) throw new DerError('failed to unmarshal elliptic curve point')
  // Curve is an interface holding a value with unexported fields only: encoding/json writes {}.
  return { algorithm, key: { Curve: {}, X: bigint(unsigned(keyBits.subarray(1, 1 + size))), Y: bigint(unsigned(keyBits.subarray(1 + size))) } }
}

function dsaKeyOf (buf: Uint8Array, params: Element | undefined, keyBits: Buffer): Json {
  if (params === undefined || params.tag !== SEQUENCE) throw new DerError('DSA parameters')
  const [p, q, g, ...rest] = children(buf, params)
  if (p === undefined || q === undefined || g === undefined || rest.length > 0) throw new DerError('DSA parameters')
  const y = readElement(keyBits, 0, keyBits.length)
  if (y.end !== keyBits.length) throw new DerError('DSA public key')
  const vals = [integerOf(buf, p), integerOf(buf, q), integerOf(buf, g), integerOf(keyBits, y)]
  if (vals.some((v) => v <= 0n)) throw new DerError('zero or negative DSA parameter')
  return { Parameters: { P: bigint(vals[0]!), Q: bigint(vals[1]!), G: bigint(vals[2]!) }, Y: bigint(vals[3]!) }
}

const fromB64url = (s: string): bigint => unsigned(Buffer.from(s, 'base64url'))
function unsigned (b: Uint8Array): bigint {
  let v = 0n
  for (const x of b) v = (v << 8n) | BigInt(x)
  return v
}

/** pkix.Name from an RDNSequence (parseName, then FillFromRDNSequence). */
function nameOf (buf: Uint8Array, el: Element): Obj {
  if (el.tag !== SEQUENCE) throw new DerError('name')
  const name: Obj = {
    Country: null, Organization: null, OrganizationalUnit: null, Locality: null, Province: null, StreetAddress: null, PostalCode: null,
    SerialNumber: '', CommonName: '', Names: null, ExtraNames: null,
  }
  const names: Obj[] = []
  for (const rdn of children(buf, el)) {
    if (rdn.tag !== SET) throw new DerError('invalid RDNSequence')
    for (const atv of children(buf, rdn)) {
      if (atv.tag !== SEQUENCE) throw new DerError('invalid RDNSequence')
      const [typeEl, valueEl, ...rest] = children(buf, atv)
      if (typeEl === undefined || valueEl === undefined || rest.length > 0) throw new DerError('invalid RDNSequence')
      const type = oidOf(buf, typeEl)
      const value = stringOf(buf, valueEl)
      names.push({ Type: type, Value: value })
      if (type.length === 4 && type[0] === 2 && type[1] === 5 && type[2] === 4) {
        const t = type[3]!
        if (t === 3) name.CommonName = value
        else if (t === 5) name.SerialNumber = value
        else {
          const field = NAME_LISTS[t]
          if (field !== undefined) ((name[field] ??= []) as string[]).push(value)
        }
      }
    }
  }
  if (names.length > 0) name.Names = names
  return name
}

const PRINTABLE = /^[A-Za-z0-9 '()+,\-./:=?*&]*$/

/** An attribute value: Go reads the string types only, each checked as its type says. */
function stringOf (buf: Uint8Array, el: Element): string {
  const b = bytesOf(buf, el)
  switch (el.tag) {
    case PRINTABLE_STRING: {
      const s = b.toString('latin1')
      if (!PRINTABLE.test(s)) throw new DerError('invalid PrintableString')
      return s
    }
    case UTF8_STRING: {
      const s = b.toString('utf8')
      if (!Buffer.from(s, 'utf8').equals(b)) throw new DerError('invalid UTF-8 string')
      return s
    }
    case IA5_STRING: return ia5(b, 'invalid IA5String')
    case NUMERIC_STRING: {
      const s = b.toString('latin1')
      if (!/^[0-9 ]*$/.test(s)) throw new DerError('invalid NumericString')
      return s
    }
    case T61_STRING:
      // Go keeps the bytes as a string; encoding/json writes bytes that are not UTF-8 as U+FFFD.
      return b.toString('utf8')
    case BMP_STRING:
      if (b.length % 2 !== 0) throw new DerError('invalid BMPString')
      return bmpString(b)
    default: throw new DerError(`unsupported string type: ${el.tag}`)
  }
}

function ia5 (b: Buffer, why: string): string {
  for (const x of b) if (x >= 0x80) throw new DerError(why)
  return b.toString('latin1')
}

/** UTCTime or GeneralizedTime as Go's time.Time writes itself in JSON (RFC 3339, its offset kept). */
function timeOf (buf: Uint8Array, el: Element): string {
  const s = bytesOf(buf, el).toString('latin1')
  let m: RegExpExecArray | null
  let year: number
  let rest: string
  if (el.tag === UTC_TIME) {
    // With seconds or (as Go also accepts) without; Z or ±hhmm.
    m = /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})?(Z|[+-]\d{4})$/.exec(s)
    if (m === null) throw new DerError('malformed UTCTime')
    const yy = Number(m[1])
    year = yy >= 50 ? 1900 + yy : 2000 + yy
    rest = ''
  } else if (el.tag === GENERALIZED_TIME) {
    m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\.\d{0,8}[1-9])?(Z|[+-]\d{4})$/.exec(s)
    if (m === null) throw new DerError('malformed GeneralizedTime')
    year = Number(m[1])
    rest = m[7] ?? ''
  } else throw new DerError('malformed validity')
  const month = Number(m[2]), day = Number(m[3]), hour = Number(m[4]), minute = Number(m[5])
  const second = el.tag === UTC_TIME ? Number(m[6] ?? '0') : Number(m[6])
  const zone = el.tag === UTC_TIME ? m[7]! : m[8]!
  // Go's time.Parse refuses out-of-range fields (and its re-formatting check any other form).
  const dim = new Date(Date.UTC(year, month, 0)).getUTCDate()
  if (month < 1 || month > 12 || day < 1 || day > dim || hour > 23 || minute > 59 || second > 59) throw new DerError('invalid time')
  // An offset of zero is written back as Z by Go's round-trip check, so "+0000" fails it.
  if (zone !== 'Z' && (Number(zone.slice(3)) > 59 || Number(zone.slice(1, 3)) > 23 || zone.slice(1) === '0000')) throw new DerError('invalid time zone')
  const pad = (n: number, w = 2): string => String(n).padStart(w, '0')
  const offset = zone === 'Z' ? 'Z' : `${zone.slice(0, 3)}:${zone.slice(3)}`
  return `${pad(year, 4)}-${pad(month)}-${pad(day)}T${pad(hour)}:${pad(minute)}:${pad(second)}${rest}${offset}`
}

/** The extensions, kept raw in Extensions and interpreted where Go interprets them (processExtensions). */
function applyExtensions (buf: Uint8Array, seq: Element, cert: Obj): void {
  const exts: Obj[] = []
  const seen = new Set<string>()
  const unhandled: number[][] = []
  for (const e of children(buf, seq)) {
    if (e.tag !== SEQUENCE) throw new DerError('extension')
    const parts = children(buf, e)
    const idEl = parts[0]
    if (idEl === undefined) throw new DerError('extension')
    let k = 1
    let critical = false
    if (parts[k]?.tag === 0x01) critical = booleanOf(buf, parts[k++]!)
    const valueEl = parts[k++]
    if (valueEl === undefined || valueEl.tag !== OCTET_STRING || k !== parts.length) throw new DerError('extension')
    const id = oidOf(buf, idEl)
    const key = oidText(id)
    if (seen.has(key)) throw new DerError('certificate contains duplicate extensions')
    seen.add(key)
    exts.push({ Id: id, Critical: critical, Value: b64(bytesOf(buf, valueEl)) })
    const value = bytesOf(buf, valueEl)
    if (!interpret(key, value, cert) && critical) unhandled.push(id)
  }
  if (exts.length > 0) cert.Extensions = exts
  if (unhandled.length > 0) cert.UnhandledCriticalExtensions = unhandled
}

/** One extension into the certificate's fields; false where Go leaves it unhandled. */
function interpret (oid: string, v: Buffer, cert: Obj): boolean {
  const top = (tag: number, what: string): Element => {
    const el = expect(v, 0, v.length, tag, what)
    if (el.end !== v.length) throw new DerError(`${what}: trailing data`)
    return el
  }
  switch (oid) {
    case '2.5.29.15': { // key usage
      const { bytes } = bitStringOf(v, top(BIT_STRING, 'key usage'))
      let usage = 0
      for (let bit = 0; bit < 9; bit++) if (bit >> 3 < bytes.length && (bytes[bit >> 3]! & (0x80 >> (bit & 7))) !== 0) usage |= 1 << bit
      cert.KeyUsage = usage
      return true
    }
    case '2.5.29.19': { // basic constraints
      const parts = children(v, top(SEQUENCE, 'basic constraints'))
      let k = 0
      let isCA = false
      if (parts[k]?.tag === 0x01) isCA = booleanOf(v, parts[k++]!)
      let maxPathLen = -1n
      if (parts[k]?.tag === INTEGER) {
        // Read as Go reads it into an int: any value that fits, negative ones too.
        maxPathLen = integerOf(v, parts[k++]!)
        if (maxPathLen < -(1n << 63n) || maxPathLen >= 1n << 63n) throw new DerError('invalid basic constraints')
      }
      if (k !== parts.length) throw new DerError('invalid basic constraints')
      cert.BasicConstraintsValid = true
      cert.IsCA = isCA
      cert.MaxPathLen = bigint(maxPathLen)
      cert.MaxPathLenZero = maxPathLen === 0n
      return true
    }
    case '2.5.29.17': return subjectAltNames(v, top(SEQUENCE, 'subject alternative name'), cert)
    case '2.5.29.14': // subject key identifier
      cert.SubjectKeyId = b64(bytesOf(v, top(OCTET_STRING, 'subject key identifier')))
      return true
    case '2.5.29.35': { // authority key identifier: its keyIdentifier [0]
      for (const p of children(v, top(SEQUENCE, 'authority key identifier'))) {
        if (p.tag === contextPrimitive(0)) cert.AuthorityKeyId = b64(bytesOf(v, p))
      }
      return true
    }
    case '2.5.29.37': { // extended key usage
      const known: number[] = []
      const unknown: number[][] = []
      for (const p of children(v, top(SEQUENCE, 'extended key usage'))) {
        const arcs = oidOf(v, p)
        const u = EXT_KEY_USAGES[oidText(arcs)]
        if (u === undefined) unknown.push(arcs)
        else known.push(u)
      }
      if (known.length > 0) cert.ExtKeyUsage = known
      if (unknown.length > 0) cert.UnknownExtKeyUsage = unknown
      return true
    }
    case '2.5.29.31': { // CRL distribution points: the leading URIs of each point's fullName
      const urls: string[] = []
      for (const dp of children(v, top(SEQUENCE, 'CRL distribution points'))) {
        if (dp.tag !== SEQUENCE) throw new DerError('invalid CRL distribution points')
        const name = children(v, dp).find((f) => f.tag === context(0))
        if (name === undefined) continue
        // A nameRelativeToCRLIssuer instead of a fullName is an error in Go.
        const [full] = children(v, name)
        if (full === undefined || full.tag !== context(0)) throw new DerError('invalid CRL distribution point')
        for (const g of children(v, full)) {
          if (g.tag !== contextPrimitive(6)) break // Go stops at the first name that is not a URI
          urls.push(bytesOf(v, g).toString('latin1'))
        }
      }
      if (urls.length > 0) cert.CRLDistributionPoints = urls
      return true
    }
    case '2.5.29.32': { // certificate policies
      const ids: number[][] = []
      const texts: string[] = []
      for (const pi of children(v, top(SEQUENCE, 'certificate policies'))) {
        if (pi.tag !== SEQUENCE) throw new DerError('certificate policy')
        const [idEl] = children(v, pi)
        if (idEl === undefined) throw new DerError('certificate policy')
        const arcs = oidOf(v, idEl)
        ids.push(arcs)
        texts.push(oidText(arcs)) // x509.OID writes itself as its dotted text
      }
      if (ids.length > 0) { cert.PolicyIdentifiers = ids; cert.Policies = texts }
      return true
    }
    case AIA: {
      for (const ad of children(v, top(SEQUENCE, 'authority information access'))) {
        if (ad.tag !== SEQUENCE) throw new DerError('authority information access')
        const [method, location] = children(v, ad)
        if (method === undefined || location === undefined) throw new DerError('authority information access')
        if (location.tag !== contextPrimitive(6)) continue
        const m = oidText(oidOf(v, method))
        const url = bytesOf(v, location).toString('latin1')
        if (m === OCSP) ((cert.OCSPServer ??= []) as string[]).push(url)
        else if (m === CA_ISSUERS) ((cert.IssuingCertificateURL ??= []) as string[]).push(url)
      }
      return true
    }
    case '2.5.29.30': throw new UnsupportedCertificate('a certificate with name constraints')
    case '2.5.29.33': throw new UnsupportedCertificate('a certificate with policy mappings')
    case '2.5.29.36': throw new UnsupportedCertificate('a certificate with policy constraints')
    case '2.5.29.54': throw new UnsupportedCertificate('a certificate with inhibitAnyPolicy')
    default: return false
  }
}

/** Subject alternative names: e-mail, DNS, URI and IP entries (others ignored, as Go does). */
export function subjectAltNames (v: Buffer, seq: Element, cert: Obj): boolean {
  const dns: string[] = []
  const emails: string[] = []
  const ips: string[] = []
  const uris: Obj[] = []
  const uriStrings: string[] = []
  for (const g of children(v, seq)) {
    const b = bytesOf(v, g)
    switch (g.tag) {
      case contextPrimitive(1): emails.push(ia5(b, 'SAN rfc822Name is malformed')); break
      case contextPrimitive(2): dns.push(ia5(b, 'SAN dNSName is malformed')); break
      case contextPrimitive(6): {
        const { uri, text } = parseUri(ia5(b, 'SAN uniformResourceIdentifier is malformed'))
        uris.push(uri)
        uriStrings.push(text)
        break
      }
      case contextPrimitive(7):
        // net.IP's text: dotted for IPv4 (and IPv4-mapped IPv6), else RFC 5952.
        if (b.length !== 4 && b.length !== 16) throw new DerError(`cannot parse IP address of length ${b.length}`)
        ips.push(formatIP({ v4: b.length === 4, bits: unsigned(b) }))
        break
      default: break
    }
  }
  if (dns.length > 0) cert.DNSNames = dns
  if (emails.length > 0) cert.EmailAddresses = emails
  if (ips.length > 0) cert.IPAddresses = ips
  if (uris.length > 0) { cert.URIs = uris; cert.URIStrings = uriStrings }
  // A SAN extension with none of these counts as unhandled (its criticality then shows).
  return dns.length + emails.length + ips.length + uris.length > 0
}

/**
 * A SAN URI as Go's url.Parse fills url.URL (written field by field by encoding/json) and as
 * its String() writes it back (OPA's URIStrings), for scheme://host[:port][/path][?query]
 * [#fragment] whose path and fragment need no escaping. Other forms are refused
 * (UnsupportedCertificate) rather than guessed.
 */
function parseUri (s: string): { uri: Obj; text: string } {
  const m = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/([A-Za-z0-9.-]*(?::\d*)?)(\/[A-Za-z0-9\-._~$&+,/:;=@]*)?(?:\?([A-Za-z0-9\-._~$&+,/:;=@?!'()*]*))?(?:#([A-Za-z0-9\-._~$&+,/:;=?@!()*]*))?$/.exec(s)
  if (m === null) throw new UnsupportedCertificate(`the SAN URI ${JSON.stringify(s)}`)
  const host = m[2]!
  // Go's check of a URI's host (domainToReverseLabels): no empty label.
  if (host.length > 0 && (host.startsWith('.') || host.endsWith('.') || host.includes('..'))) throw new DerError(`cannot parse URI ${JSON.stringify(s)}: invalid domain`)
  const scheme = m[1]!.toLowerCase()
  const path = m[3] ?? ''
  const forceQuery = m[4] === ''
  const query = m[4] ?? ''
  const fragment = m[5] ?? ''
  return {
    uri: {
      Scheme: scheme, Opaque: '', User: null, Host: host, Path: path, RawPath: '', OmitHost: false,
      ForceQuery: forceQuery, RawQuery: query, Fragment: fragment, RawFragment: '',
    },
    text: `${scheme}://${host}${path}${forceQuery || query !== '' ? '?' + query : ''}${fragment !== '' ? '#' + fragment : ''}`,
  }
}

/** A BMPString's UTF-16 (even length) as Go reads it: one trailing NUL pair dropped, a lone
 * surrogate becomes U+FFFD (utf16.Decode). */
export function bmpString (b: Buffer): string {
  let body = b
  if (body.length >= 2 && body[body.length - 1] === 0 && body[body.length - 2] === 0) body = body.subarray(0, body.length - 2)
  let out = ''
  for (let k = 0; k < body.length; k += 2) {
    const u = (body[k]! << 8) | body[k + 1]!
    const next = k + 3 < body.length ? (body[k + 2]! << 8) | body[k + 3]! : -1
    if (u >= 0xd800 && u < 0xdc00 && next >= 0xdc00 && next < 0xe000) { out += String.fromCharCode(u, next); k += 2 } else if (u >= 0xd800 && u < 0xe000) out += '\ufffd'
    else out += String.fromCharCode(u)
  }
  return out
}
