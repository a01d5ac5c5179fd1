// crypto.x509.parse_certificate_request through compiled policies: Go's x509.CertificateRequest
// as OPA turns it into a value (encoding/json's names, nulls, base64 bytes, exact big integers).
// The requests are made at test time with `openssl req` (ECDSA P-256 with SANs, extensions and a
// challengePassword; RSA with SHA-384; Ed25519 with a bare subject), keys in a temporary
// directory only. Expected values come from openssl (DER, public key) and node:crypto (key
// numbers, signature verification), not from the parser under test. A few requests are built
// by hand in DER (Go does not check the signature while parsing) for the error paths.
import { execFileSync } from 'node:child_process'
import { createPublicKey, verify } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { rawJson } from '../../../src/exact-json.js'
import { E, evalAll, table, V } from './helpers.js'

const dir = mkdtempSync(join(tmpdir(), 'bouncer-csr-'))
t.teardown(() => rmSync(dir, { recursive: true, force: true }))
const ssl = (...args: string[]): Buffer => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] })

writeFileSync(join(dir, 'ec.cnf'), `[req]
distinguished_name = dn
attributes = attrs
prompt = no
req_extensions = ext
[dn]
C = DE
O = Example Org
0.OU = Payments
1.OU = Platform
CN = web.payments.svc
[attrs]
challengePassword = s3cret-pass
[ext]
subjectAltName = DNS:web.payments.svc,DNS:localhost,IP:192.0.2.7,IP:2001:db8::1,email:ops@example.com,URI:spiffe://example.org/ns/pay
keyUsage = critical,digitalSignature
basicConstraints = CA:FALSE
`)
ssl('ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'ec.key')
ssl('req', '-new', '-key', 'ec.key', '-config', 'ec.cnf', '-sha256', '-out', 'ec.csr')
ssl('genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', 'rsa.key')
ssl('req', '-new', '-key', 'rsa.key', '-subj', '/CN=rsa client/serialNumber=4711', '-sha384', '-out', 'rsa.csr')
ssl('genpkey', '-algorithm', 'ed25519', '-out', 'ed.key')
ssl('req', '-new', '-key', 'ed.key', '-subj', '/CN=ed25519 device', '-out', 'ed.csr')

const pem = (name: string): string => readFileSync(join(dir, `${name}.csr`), 'utf8')
const der = (name: string): Buffer => ssl('req', '-in', `${name}.csr`, '-outform', 'DER')
const publicKey = (name: string) => createPublicKey(ssl('req', '-in', `${name}.csr`, '-pubkey', '-noout'))
const decimal = (b64url: string): string => BigInt('0x' + Buffer.from(b64url, 'base64url').toString('hex')).toString()
const [ec, rsa, ed] = ['ec', 'rsa', 'ed'].map(pem) as [string, string, string]
const p = (arg: string): string => `crypto.x509.parse_certificate_request(${arg})`
const failing = (m: string): RegExp => new RegExp(`^eval_builtin_error: crypto\\.x509\\.parse_certificate_request: ${m}`)
const b64 = (b: Uint8Array): string => Buffer.from(b).toString('base64')

// DER by hand: tag, definite length, content.
const tlv = (tag: number, ...parts: Buffer[]): Buffer => {
  const body = Buffer.concat(parts)
  const n = body.length
  const len = n < 0x80 ? Buffer.from([n]) : n < 0x100 ? Buffer.from([0x81, n]) : Buffer.from([0x82, n >> 8, n & 0xff])
  return Buffer.concat([Buffer.from([tag]), len, body])
}
const oid = (hex: string): Buffer => tlv(0x06, Buffer.from(hex, 'hex'))
const seq = (...p: Buffer[]): Buffer => tlv(0x30, ...p)
const ED_SPKI = seq(seq(oid('2b6570')), tlv(0x03, Buffer.from([0]), Buffer.alloc(32, 7)))
const SUBJECT = seq(tlv(0x31, seq(oid('550403'), tlv(0x0c, Buffer.from('hand made')))))
/** A request with the given attributes ([0] content), signed by nothing (Go does not check). */
const request = (attrs: Buffer[], trailing = Buffer.alloc(0)): string => b64(Buffer.concat([seq(
  seq(tlv(0x02, Buffer.from([0])), SUBJECT, ED_SPKI, tlv(0xa0, ...attrs)),
  seq(oid('2b6570')),
  tlv(0x03, Buffer.from([0]), Buffer.alloc(64, 1)),
), trailing]))
const extReq = (...exts: Buffer[]): Buffer => seq(oid('2a864886f70d01090e'), tlv(0x31, seq(...exts)))
const ext = (id: string, value: Buffer): Buffer => seq(oid(id), tlv(0x04, value))

const input = {
  ec, rsa, ed,
  ecDer: b64(der('ec')),
  ecPemB64: Buffer.from(ec).toString('base64'),
  cert: Buffer.from(ssl('req', '-x509', '-key', 'ec.key', '-subj', '/CN=x', '-days', '1')).toString('base64'),
  dup: request([extReq(ext('551d0e', tlv(0x04, Buffer.from('ab'))), ext('551d0e', tlv(0x04, Buffer.from('cd'))))]),
  trailing: request([], Buffer.from([0])),
  noSeq: request([seq(oid('2a864886f70d01090e'), tlv(0x31, tlv(0x31)))]),
  handMade: request([seq(oid('2a864886f70d010907'), tlv(0x31, tlv(0x13, Buffer.from('pw')))), seq(oid('2a864886f70d010902'), tlv(0x31, seq(seq(oid('550403'), tlv(0x02, Buffer.from([1, 0]))))))]),
}

t.test('an ECDSA request with SANs, extensions and a challengePassword', async t => {
  const c = p('input.ec')
  const jwk = publicKey('ec').export({ format: 'jwk' })
  const raw = der('ec')
  await table(t, [
    [`${c}.Raw`, V(raw.toString('base64'))],
    [`${c}.Version`, V(0)],
    [`${c}.SignatureAlgorithm`, V(10)], // ECDSAWithSHA256
    [`${c}.PublicKeyAlgorithm`, V(3)], // ECDSA
    [`${c}.PublicKey`, V({ Curve: {}, X: rawJson(decimal(jwk.x!)), Y: rawJson(decimal(jwk.y!)) })],
    [`${c}.RawSubjectPublicKeyInfo`, V(b64(publicKey('ec').export({ format: 'der', type: 'spki' })))],
    [`${c}.Subject`, V({
      Country: ['DE'], Organization: ['Example Org'], OrganizationalUnit: ['Payments', 'Platform'], Locality: null, Province: null,
      StreetAddress: null, PostalCode: null, SerialNumber: '', CommonName: 'web.payments.svc',
      Names: [[6, 'DE'], [10, 'Example Org'], [11, 'Payments'], [11, 'Platform'], [3, 'web.payments.svc']].map(([n, v]) => ({ Type: [2, 5, 4, n], Value: v })),
      ExtraNames: null,
    })],
    [`${c}.DNSNames`, V(['web.payments.svc', 'localhost'])],
    [`${c}.EmailAddresses`, V(['ops@example.com'])],
    [`${c}.IPAddresses`, V(['192.0.2.7', '2001:db8::1'])],
    [`${c}.URIs`, V([{ Scheme: 'spiffe', Opaque: '', User: null, Host: 'example.org', Path: '/ns/pay', RawPath: '', OmitHost: false, ForceQuery: false, RawQuery: '', Fragment: '', RawFragment: '' }])],
    // The requested extensions, raw and in order: SAN, key usage (critical), basic constraints.
    [`[[e.Id, e.Critical] | some e in ${c}.Extensions]`, V([[[2, 5, 29, 17], false], [[2, 5, 29, 15], true], [[2, 5, 29, 19], false]])],
    [`${c}.Extensions[1].Value`, V(b64(Buffer.from('03020780', 'hex')))], // digitalSignature
    [`${c}.Extensions[2].Value`, V(b64(Buffer.from('3000', 'hex')))],
    [`${c}.ExtraExtensions`, V(null)],
  ], input)
  // Attributes: the challengePassword does not parse as an AttributeTypeAndValueSET and is left
  // out; the extensionRequest does, each extension read as {Type, Value}: the OCTET STRING in
  // base64, or null where the next element is the critical flag (a BOOLEAN).
  const out = await evalAll([`${c}.Extensions[0].Value`, `${c}.Attributes`, `${c}.RawTBSCertificateRequest`, `${c}.Signature`], input)
  const san = out[0]!.value as string
  t.match(Buffer.from(san, 'base64').toString('latin1'), /web\.payments\.svc.*localhost.*ops@example\.com.*spiffe:\/\/example\.org\/ns\/pay/s)
  t.same(out[1]!.value, [{
    Type: [1, 2, 840, 113549, 1, 9, 14],
    Value: [[{ Type: [2, 5, 29, 17], Value: san }, { Type: [2, 5, 29, 15], Value: null }, { Type: [2, 5, 29, 19], Value: 'MAA=' }]],
  }])
  // The to-be-signed part and the signature are the request's own: node verifies them.
  const tbs = Buffer.from(out[2]!.value as string, 'base64')
  t.ok(raw.includes(tbs) && tbs.length > 100)
  t.ok(verify('sha256', tbs, publicKey('ec'), Buffer.from(out[3]!.value as string, 'base64')), 'signature verifies')
})

t.test('an RSA request signed with SHA-384: exact modulus, serial number in the subject, no extensions', async t => {
  const c = p('input.rsa')
  const jwk = publicKey('rsa').export({ format: 'jwk' })
  await table(t, [
    [`${c}.SignatureAlgorithm`, V(5)], // SHA384WithRSA
    [`${c}.PublicKeyAlgorithm`, V(1)],
    [`${c}.PublicKey`, V({ N: rawJson(decimal(jwk.n!)), E: 65537 })],
    [`[${c}.Subject.CommonName, ${c}.Subject.SerialNumber]`, V(['rsa client', '4711'])],
    [`[${c}.Attributes, ${c}.Extensions, ${c}.DNSNames, ${c}.EmailAddresses, ${c}.IPAddresses, ${c}.URIs]`, V([null, null, null, null, null, null])],
    [`${c}.Raw`, V(der('rsa').toString('base64'))],
  ], input)
})

t.test('an Ed25519 request: the key as base64 bytes', async t => {
  const c = p('input.ed')
  const jwk = publicKey('ed').export({ format: 'jwk' })
  await table(t, [
    [`${c}.SignatureAlgorithm`, V(16)], // PureEd25519
    [`${c}.PublicKeyAlgorithm`, V(4)],
    [`${c}.PublicKey`, V(Buffer.from(jwk.x!, 'base64url').toString('base64'))],
    [`${c}.Subject.Names`, V([{ Type: [2, 5, 4, 3], Value: 'ed25519 device' }])],
    [`${c}.Signature`, V(b64(der('ed').subarray(-64)))],
  ], input)
})

t.test('the argument: PEM, base64 of DER or of PEM; other PEM blocks and bad base64 are errors', async t => {
  await table(t, [
    [`${p('input.ecDer')}.Raw == ${p('input.ec')}.Raw`, V(true)],
    [`${p('input.ecPemB64')}.Subject.CommonName`, V('web.payments.svc')],
    [p('input.cert'), E(failing('invalid PEM-encoded certificate signing request$'))],
    [p('"foobar"'), E(failing('illegal base64 data at input byte 4$'))],
    [p('"-----BEGIN CERTIFICATE REQUEST-----\\nnot base64\\n-----END CERTIFICATE REQUEST-----\\n"'), E(failing('asn1: structure error: tags don\'t match \\(16 vs \\{class:0 tag:13 length:45 isCompound:true\\}\\) .* certificateRequest @2$'))],
  ], input)
})

t.test('requests built by hand: Go\'s parser, not a signature check', async t => {
  await table(t, [
    // challengePassword (a bare string) is left out; an attribute holding a name-like value stays, an INTEGER as a number.
    [`${p('input.handMade')}.Attributes`, V([{ Type: [1, 2, 840, 113549, 1, 9, 2], Value: [[{ Type: [2, 5, 4, 3], Value: 256 }]] }])],
    [`${p('input.handMade')}.Subject.CommonName`, V('hand made')],
    [`${p('input.handMade')}.Extensions`, V(null)],
    [p('input.dup'), E(failing('x509: certificate request contains duplicate requested extensions$'))],
    [p('input.trailing'), E(failing('asn1: syntax error: trailing data$'))],
    [p('input.noSeq'), E(failing('asn1: structure error: tags don\'t match \\(16 vs \\{class:0 tag:17'))],
  ], input)
})
