// One DER certificate request (PKCS #10) as crypto.x509.parse_certificate_request returns it:
// Go's x509.CertificateRequest as encoding/json writes it (OPA turns the parsed struct into a
// value through JSON). Raw* and Signature in base64, Version a number, SignatureAlgorithm and
// PublicKeyAlgorithm as Go's enum numbers, PublicKey as for certificates, Subject a pkix.Name,
// Attributes the deprecated pkix.AttributeTypeAndValueSET list, Extensions the requested
// extensions (raw), ExtraExtensions null, and the SAN lists.
//
// Go reads the request with encoding/asn1 (not cryptobyte, as for certificates), and this
// follows its rules: multi-byte tags, minimal lengths, extra elements at the end of any
// SEQUENCE read into a struct ignored, int64 INTEGERs, OID arcs up to 2^31-1, attributes that
// do not fit pkix.AttributeTypeAndValueSET left out of Attributes (challengePassword among
// them), an extensionRequest attribute that does not hold Extensions an error, duplicate
// requested extensions an error. Errors carry encoding/asn1's or crypto/x509's wording
// ("asn1: structure error: …", "asn1: syntax error: …", "x509: …"); where Go prints a pointer
// in a message ("tags don't match" on the attributes' [0]) the message differs.
//
// Refused (an error naming it, never a guess): attribute or name values that are times (Go
// writes its time.Time), T61Strings that are not UTF-8 (Go's per-byte U+FFFD), and the SAN
// URIs and keys certificate.ts refuses. The public key and SAN are read by certificate.ts's
// readers, which are cryptobyte-strict: a key or SAN with trailing elements Go would ignore
// is an error here.
import { rawJson } from '../../../exact-json.js'
import { DerError, type Element } from './der.js'
import { bmpString, publicKeyOf, pssAlgorithm, RSA_PSS, SIGNATURE_ALGORITHMS, subjectAltNames, UnsupportedCertificate } from './certificate.js'

type Json = unknown
type Obj = Record<string, Json>

const b64 = (b: Uint8Array): string => Buffer.from(b).toString('base64')
const int64Json = (v: bigint): Json => Number.isSafeInteger(Number(v)) ? Number(v) : rawJson(v.toString())

const EXTENSION_REQUEST = '1.2.840.113549.1.9.14'
const SAN = '2.5.29.17'

// Universal tag numbers encoding/asn1 reads here.
const T_BOOLEAN = 1, T_INTEGER = 2, T_BIT_STRING = 3, T_OCTET_STRING = 4, T_OID = 6, T_UTF8 = 12, T_SEQUENCE = 16, T_SET = 17
const T_NUMERIC = 18, T_PRINTABLE = 19, T_T61 = 20, T_IA5 = 22, T_UTC_TIME = 23, T_GENERALIZED_TIME = 24, T_BMP = 30
const UNIVERSAL = 0, CONTEXT = 2

const syntax = (m: string): Error => new Error(`asn1: syntax error: ${m}`)
const structure = (m: string): Error => new Error(`asn1: structure error: ${m}`)

/** One element as encoding/asn1's parseTagAndLength reads it. */
interface Tlv { cls: number; compound: boolean; tag: number; start: number; content: number; end: number }

function base128 (buf: Uint8Array, at: number, limit: number): { v: number; next: number } {
  let v = 0
  for (let shifted = 0; at < limit; shifted++) {
    if (shifted === 5) throw structure('base 128 integer too large')
    const b = buf[at]!
    if (shifted === 0 && b === 0x80) throw syntax('integer is not minimally encoded')
    v = v * 128 + (b & 0x7f)
    at++
    if ((b & 0x80) === 0) {
      if (v > 0x7fffffff) throw structure('base 128 integer too large')
      return { v, next: at }
    }
  }
  throw syntax('truncated base 128 integer')
}

/** The element at `at` (its header before `limit`), its content checked to fit ("data truncated") unless `fit` is false. */
function readTlv (buf: Uint8Array, at: number, limit: number, fit = true): Tlv {
  const start = at
  const b = buf[at++]!
  const cls = b >> 6
  const compound = (b & 0x20) !== 0
  let tag = b & 0x1f
  if (tag === 0x1f) {
    const r = base128(buf, at, limit)
    tag = r.v
    at = r.next
    if (tag < 0x1f) throw syntax('non-minimal tag')
  }
  if (at >= limit) throw syntax('truncated tag or length')
  let len = buf[at++]!
  if (len & 0x80) {
    const n = len & 0x7f
    if (n === 0) throw syntax('indefinite length found (not DER)')
    len = 0
    for (let i = 0; i < n; i++) {
      if (at >= limit) throw syntax('truncated tag or length')
      if (len >= 1 << 23) throw structure('length too large')
      len = len * 256 + buf[at++]!
      if (len === 0) throw structure('superfluous leading zeros in length')
    }
    if (len < 0x80) throw structure('non-minimal length')
  }
  if (fit && at + len > limit) throw syntax('data truncated')
  return { cls, compound, tag, start, content: at, end: at + len }
}

const NO_PARAMS = '{optional:false explicit:false application:false private:false defaultValue:<nil> tag:<nil> stringType:0 timeType:0 set:false omitEmpty:false}'

/** Reads the field at `at` of a struct whose content is [base, limit), with the universal (or [n]) tag it must have. */
function field (buf: Uint8Array, at: number, base: number, limit: number, want: { cls?: number; tag: number; compound: boolean; type: string; params?: string }): Tlv {
  if (at >= limit) throw syntax('sequence truncated')
  const t = readTlvHeader(buf, at, limit)
  const cls = want.cls ?? UNIVERSAL
  if (t.cls !== cls || t.tag !== want.tag || t.compound !== want.compound) {
    throw structure(`tags don't match (${want.tag} vs {class:${t.cls} tag:${t.tag} length:${t.end - t.content} isCompound:${t.compound}}) ${want.params ?? NO_PARAMS} ${want.type} @${t.content - base}`)
  }
  if (t.end > limit) throw syntax('data truncated')
  return t
}

/** The header only: encoding/asn1 checks the tag before the length. */
function readTlvHeader (buf: Uint8Array, at: number, limit: number): Tlv { return readTlv(buf, at, limit, false) }

/** A SEQUENCE/SET OF: every element tiles the content, each with the tag `want` (or any). */
function elementsOf (buf: Uint8Array, parent: Tlv, want: { tag: number; compound: boolean } | null): Tlv[] {
  const out: Tlv[] = []
  for (let at = parent.content; at < parent.end;) {
    const t = readTlvHeader(buf, at, parent.end)
    if (want !== null && (t.cls !== UNIVERSAL || t.compound !== want.compound || t.tag !== want.tag)) throw structure('sequence tag mismatch')
    if (t.end > parent.end) throw syntax('truncated sequence')
    out.push(t)
    at = t.end
  }
  return out
}

function int64Of (buf: Uint8Array, t: Tlv): bigint {
  const n = t.end - t.content
  if (n === 0) throw structure('empty integer')
  const b0 = buf[t.content]!, b1 = buf[t.content + 1] ?? 0
  if (n > 1 && ((b0 === 0 && (b1 & 0x80) === 0) || (b0 === 0xff && (b1 & 0x80) !== 0))) throw structure('integer not minimally-encoded')
  if (n > 8) throw structure('integer too large')
  let v = 0n
  for (let i = t.content; i < t.end; i++) v = (v << 8n) | BigInt(buf[i]!)
  if ((b0 & 0x80) !== 0) v -= 1n << BigInt(8 * n)
  return v
}

function oidOf (buf: Uint8Array, t: Tlv): number[] {
  if (t.end === t.content) throw syntax('zero length OBJECT IDENTIFIER')
  let r = base128(buf, t.content, t.end)
  const arcs = r.v < 80 ? [Math.floor(r.v / 40), r.v % 40] : [2, r.v - 80]
  while (r.next < t.end) {
    r = base128(buf, r.next, t.end)
    arcs.push(r.v)
  }
  return arcs
}

function bitStringOf (buf: Uint8Array, t: Tlv): { bytes: Buffer; bitLength: number } {
  const n = t.end - t.content
  if (n === 0) throw syntax('zero length BIT STRING')
  const pad = buf[t.content]!
  if (pad > 7 || (n === 1 && pad > 0) || (buf[t.end - 1]! & ((1 << pad) - 1)) !== 0) throw syntax('invalid padding bits in BIT STRING')
  return { bytes: Buffer.from(buf.subarray(t.content + 1, t.end)), bitLength: (n - 1) * 8 - pad }
}

/** asn1.BitString's RightAlign: the bits shifted so that the padding is at the front. */
function rightAlign (bs: { bytes: Buffer; bitLength: number }): Buffer {
  const shift = 8 - (bs.bitLength % 8)
  if (shift === 8 || bs.bytes.length === 0) return bs.bytes
  const a = Buffer.alloc(bs.bytes.length)
  a[0] = bs.bytes[0]! >> shift
  for (let i = 1; i < a.length; i++) a[i] = ((bs.bytes[i - 1]! << (8 - shift)) | (bs.bytes[i]! >> shift)) & 0xff
  return a
}

const PRINTABLE = /^[A-Za-z0-9 '()+,\-./:=?*&]*$/

/** A value read into Go's `any` (encoding/asn1's ANY), as encoding/json then writes it. */
function anyValue (buf: Uint8Array, t: Tlv): Json {
  if (t.compound || t.cls !== UNIVERSAL) return null
  const b = Buffer.from(buf.subarray(t.content, t.end))
  switch (t.tag) {
    case T_PRINTABLE: {
      const s = b.toString('latin1')
      if (!PRINTABLE.test(s)) throw syntax('PrintableString contains invalid character')
      return s
    }
    case T_NUMERIC: {
      const s = b.toString('latin1')
      if (!/^[0-9 ]*$/.test(s)) throw syntax('NumericString contains invalid character')
      return s
    }
    case T_IA5:
      for (const x of b) if (x >= 0x80) throw syntax('IA5String contains invalid character')
      return b.toString('latin1')
    case T_T61: {
      const s = b.toString('utf8')
      if (!Buffer.from(s, 'utf8').equals(b)) throw new UnsupportedCertificate('a T61String that is not UTF-8')
      return s
    }
    case T_UTF8: {
      const s = b.toString('utf8')
      if (!Buffer.from(s, 'utf8').equals(b)) throw new Error('asn1: invalid UTF-8 string')
      return s
    }
    case T_INTEGER: return int64Json(int64Of(buf, t))
    case T_BIT_STRING: {
      const bs = bitStringOf(buf, t)
      return { Bytes: b64(bs.bytes), BitLength: bs.bitLength }
    }
    case T_OID: return oidOf(buf, t)
    case T_UTC_TIME:
    case T_GENERALIZED_TIME:
      throw new UnsupportedCertificate('a time in a certificate request attribute or name')
    case T_OCTET_STRING: return b64(b)
    case T_BMP:
      if (b.length % 2 !== 0) throw new Error('pkcs12: odd-length BMP string')
      return bmpString(b)
    default: return null // BOOLEAN, NULL, …: Go leaves the value nil
  }
}

const SEQ = { tag: T_SEQUENCE, compound: true }

/** pkix.AttributeTypeAndValue: SEQUENCE { type OID, value ANY, … }. */
function attributeTypeAndValue (buf: Uint8Array, t: Tlv): Obj {
  const type = field(buf, t.content, t.content, t.end, { tag: T_OID, compound: false, type: 'ObjectIdentifier' })
  if (type.end >= t.end) throw syntax('sequence truncated')
  const value = readTlv(buf, type.end, t.end)
  return { Type: oidOf(buf, type), Value: anyValue(buf, value) }
}

// pkix.Name's fields filled from attributes 2.5.4.n (FillFromRDNSequence), string values only.
const NAME_LISTS: Record<number, string> = { 6: 'Country', 7: 'Locality', 8: 'Province', 9: 'StreetAddress', 10: 'Organization', 11: 'OrganizationalUnit', 17: 'PostalCode' }

function subjectOf (buf: Uint8Array, subject: Tlv): Obj {
  if (subject.cls !== UNIVERSAL || subject.tag !== T_SEQUENCE || !subject.compound) {
    throw structure(`tags don't match (16 vs {class:${subject.cls} tag:${subject.tag} length:${subject.end - subject.content} isCompound:${subject.compound}}) ${NO_PARAMS} RDNSequence @${subject.content - subject.start}`)
  }
  const name: Obj = {
    Country: null, Organization: null, OrganizationalUnit: null, Locality: null, Province: null, StreetAddress: null, PostalCode: null,
    SerialNumber: '', CommonName: '', Names: null, ExtraNames: null,
  }
  const rdns = elementsOf(buf, subject, { tag: T_SET, compound: true })
  const atvs = rdns.map((rdn) => elementsOf(buf, rdn, SEQ))
  const names: Obj[] = []
  for (const set of atvs) {
    for (const el of set) {
      const atv = attributeTypeAndValue(buf, el)
      names.push(atv)
      const type = atv.Type as number[]
      if (typeof atv.Value !== 'string' || type.length !== 4 || type[0] !== 2 || type[1] !== 5 || type[2] !== 4) continue
      const t = type[3]!
      if (t === 3) name.CommonName = atv.Value
      else if (t === 5) name.SerialNumber = atv.Value
      else {
        const f = NAME_LISTS[t]
        if (f !== undefined) ((name[f] ??= []) as string[]).push(atv.Value)
      }
    }
  }
  if (names.length > 0) name.Names = names
  return name
}

/** pkix.AttributeTypeAndValueSET, or null where the attribute does not parse as one (Go skips it). */
function attributeSet (buf: Uint8Array, attr: Tlv): Obj | null {
  try {
    if (attr.cls !== UNIVERSAL || attr.tag !== T_SEQUENCE || !attr.compound) return null
    const type = field(buf, attr.content, attr.content, attr.end, { tag: T_OID, compound: false, type: 'ObjectIdentifier' })
    const set = field(buf, type.end, attr.content, attr.end, { tag: T_SET, compound: true, type: '' })
    const inner = elementsOf(buf, set, SEQ).map((seq) => elementsOf(buf, seq, SEQ))
    return { Type: oidOf(buf, type), Value: inner.map((seq) => seq.map((atv) => attributeTypeAndValue(buf, atv))) }
  } catch (e) {
    if (e instanceof UnsupportedCertificate) throw e
    return null
  }
}

/** The requested extensions: the first value of each extensionRequest attribute, read as []pkix.Extension. */
function requestedExtensions (buf: Uint8Array, attrs: Tlv[]): Obj[] | null {
  let out: Obj[] | null = null
  const seen = new Set<string>()
  for (const attr of attrs) {
    let values: Tlv[]
    let id: string
    try {
      if (attr.cls !== UNIVERSAL || attr.tag !== T_SEQUENCE || !attr.compound) continue
      const idEl = field(buf, attr.content, attr.content, attr.end, { tag: T_OID, compound: false, type: 'ObjectIdentifier' })
      const set = field(buf, idEl.end, attr.content, attr.end, { tag: T_SET, compound: true, type: '' })
      values = elementsOf(buf, set, null)
      id = oidOf(buf, idEl).join('.')
    } catch { continue } // attributes that don't parse are ignored
    if (values.length === 0 || id !== EXTENSION_REQUEST) continue
    const v = values[0]!
    if (v.cls !== UNIVERSAL || v.tag !== T_SEQUENCE || !v.compound) {
      throw structure(`tags don't match (16 vs {class:${v.cls} tag:${v.tag} length:${v.end - v.content} isCompound:${v.compound}}) ${NO_PARAMS}  @${v.content - v.start}`)
    }
    const exts: Obj[] = []
    for (const e of elementsOf(buf, v, SEQ)) {
      const idEl = field(buf, e.content, e.content, e.end, { tag: T_OID, compound: false, type: 'ObjectIdentifier' })
      let at = idEl.end
      let critical = false
      if (at < e.end) {
        const c = readTlvHeader(buf, at, e.end)
        if (c.cls === UNIVERSAL && c.tag === T_BOOLEAN && !c.compound) {
          if (c.end > e.end) throw syntax('data truncated')
          if (c.end - c.content !== 1 || (buf[c.content] !== 0 && buf[c.content] !== 0xff)) throw syntax('invalid boolean')
          critical = buf[c.content] === 0xff
          at = c.end
        }
      }
      const valueEl = field(buf, at, e.content, e.end, { tag: T_OCTET_STRING, compound: false, type: '' })
      exts.push({ Id: oidOf(buf, idEl), Critical: critical, Value: b64(buf.subarray(valueEl.content, valueEl.end)) })
    }
    for (const e of exts) {
      const key = (e.Id as number[]).join('.')
      if (seen.has(key)) throw new Error('x509: certificate request contains duplicate requested extensions')
      seen.add(key)
    }
    if (exts.length > 0) out = [...(out ?? []), ...exts]
  }
  return out
}

const asElement = (t: Tlv, buf: Uint8Array): Element => ({ tag: buf[t.start]!, start: t.start, content: t.content, end: t.end })

/** certificate.ts's errors in crypto/x509's words ("x509: …" without the "malformed certificate" wrapper). */
function x509Message (e: unknown, fallback?: string): Error {
  if (!(e instanceof DerError)) return e as Error
  const m = /^x509: malformed certificate \((.*)\)$/.exec(e.message)
  if (fallback !== undefined && (m === null || !/^(SAN |cannot parse)/.test(m[1]!))) return new Error(fallback)
  return new Error(m === null ? e.message : `x509: ${m[1]}`)
}

/** Go's x509.ParseCertificateRequest, then encoding/json. */
export function parseCertificateRequestDer (der: Uint8Array): Obj {
  const buf = der
  if (buf.length === 0) throw syntax('sequence truncated')
  // encoding/asn1 fills the struct field by field, each value checked as it is read.
  const whole = field(buf, 0, 0, buf.length, { tag: T_SEQUENCE, compound: true, type: 'certificateRequest' })
  if (whole.end !== buf.length) throw syntax('trailing data')
  const tbs = field(buf, whole.content, whole.content, whole.end, { tag: T_SEQUENCE, compound: true, type: 'tbsCertificateRequest' })
  // The request info: version, subject (any element), key, attributes ([0]), then anything.
  const version = field(buf, tbs.content, tbs.content, tbs.end, { tag: T_INTEGER, compound: false, type: 'int' })
  const versionValue = int64Of(buf, version)
  if (version.end >= tbs.end) throw syntax('sequence truncated')
  const subject = readTlv(buf, version.end, tbs.end)
  const spki = field(buf, subject.end, tbs.content, tbs.end, { tag: T_SEQUENCE, compound: true, type: 'publicKeyInfo' })
  const keyAI = field(buf, spki.content, spki.content, spki.end, { tag: T_SEQUENCE, compound: true, type: 'AlgorithmIdentifier' })
  const keyAlgOid = field(buf, keyAI.content, keyAI.content, keyAI.end, { tag: T_OID, compound: false, type: 'ObjectIdentifier' })
  oidOf(buf, keyAlgOid)
  if (keyAlgOid.end < keyAI.end) readTlv(buf, keyAlgOid.end, keyAI.end)
  const keyBits = field(buf, keyAI.end, spki.content, spki.end, { tag: T_BIT_STRING, compound: false, type: 'BitString' })
  bitStringOf(buf, keyBits)
  const attrsEl = field(buf, spki.end, tbs.content, tbs.end, {
    cls: CONTEXT, tag: 0, compound: true, type: '',
    // Go prints the tag parameter's pointer here: this message cannot match it exactly.
    params: '{optional:false explicit:false application:false private:false defaultValue:<nil> tag:0x? stringType:0 timeType:0 set:false omitEmpty:false}',
  })
  const attrs = elementsOf(buf, attrsEl, null)
  const sigAI = field(buf, tbs.end, whole.content, whole.end, { tag: T_SEQUENCE, compound: true, type: 'AlgorithmIdentifier' })
  const sigAlgOid = field(buf, sigAI.content, sigAI.content, sigAI.end, { tag: T_OID, compound: false, type: 'ObjectIdentifier' })
  const sigOid = oidOf(buf, sigAlgOid).join('.')
  const sigParams = sigAlgOid.end < sigAI.end ? readTlv(buf, sigAlgOid.end, sigAI.end) : null
  const sigValue = field(buf, sigAI.end, whole.content, whole.end, { tag: T_BIT_STRING, compound: false, type: 'BitString' })
  const signature = rightAlign(bitStringOf(buf, sigValue))

  let signatureAlgorithm: number
  if (sigOid === RSA_PSS) {
    try { signatureAlgorithm = sigParams === null ? 0 : pssAlgorithm(buf, asElement(sigParams, buf)) } catch { signatureAlgorithm = 0 }
  } else {
    signatureAlgorithm = SIGNATURE_ALGORITHMS[sigOid] ?? 0
    // Ed25519's parameters must be absent (RFC 8410).
    if (signatureAlgorithm === 16 && sigParams !== null) signatureAlgorithm = 0
  }

  const attributes = attrs.map((a) => attributeSet(buf, a)).filter((a): a is Obj => a !== null)
  let key: { algorithm: number; key: Json }
  try { key = publicKeyOf(buf, asElement(spki, buf)) } catch (e) { throw x509Message(e) }
  const csr: Obj = {
    Raw: b64(buf.subarray(whole.start, whole.end)),
    RawTBSCertificateRequest: b64(buf.subarray(tbs.start, tbs.end)),
    RawSubjectPublicKeyInfo: b64(buf.subarray(spki.start, spki.end)),
    RawSubject: b64(buf.subarray(subject.start, subject.end)),
    Version: int64Json(versionValue),
    Signature: b64(signature),
    SignatureAlgorithm: signatureAlgorithm,
    PublicKeyAlgorithm: key.algorithm,
    PublicKey: key.key,
    Subject: subjectOf(buf, subject),
    Attributes: attributes.length > 0 ? attributes : null,
    Extensions: requestedExtensions(buf, attrs),
    ExtraExtensions: null,
    DNSNames: null,
    EmailAddresses: null,
    IPAddresses: null,
    URIs: null,
  }
  for (const ext of (csr.Extensions as Obj[] | null) ?? []) {
    if ((ext.Id as number[]).join('.') !== SAN) continue
    const v = Buffer.from(ext.Value as string, 'base64')
    const names: Obj = { DNSNames: null, EmailAddresses: null, IPAddresses: null, URIs: null }
    let seq: Element
    try { seq = readSanSequence(v) } catch { throw new Error('x509: invalid subject alternative names') }
    try { subjectAltNames(v, seq, names) } catch (e) { throw x509Message(e, 'x509: invalid subject alternative name') }
    csr.DNSNames = names.DNSNames
    csr.EmailAddresses = names.EmailAddresses
    csr.IPAddresses = names.IPAddresses
    csr.URIs = names.URIs
  }
  return csr
}

/** The SAN value's leading SEQUENCE (what follows it is not read, as in Go's forEachSAN). */
function readSanSequence (v: Buffer): Element {
  if (v.length < 2 || v[0] !== 0x30) throw new Error('not a SEQUENCE')
  let len = v[1]!
  let content = 2
  if (len & 0x80) {
    const n = len & 0x7f
    if (n === 0 || n > 4 || 2 + n > v.length) throw new Error('length')
    len = 0
    for (let i = 0; i < n; i++) len = len * 256 + v[2 + i]!
    if (v[2] === 0 || len < 0x80) throw new Error('non-minimal length')
    content = 2 + n
  }
  if (content + len > v.length) throw new Error('truncated')
  return { tag: 0x30, start: 0, content, end: content + len }
}
