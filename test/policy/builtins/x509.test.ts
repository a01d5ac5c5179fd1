// crypto.x509.parse_certificates through compiled policies: Go's x509.Certificate as OPA turns
// it into a value (encoding/json's field names, nulls, base64 bytes, exact big integers), for
// certificates made with openssl (fixtures/x509: an RSA root with a 130-bit serial, an ECDSA
// P-256 client certificate with most extensions Go reads, an Ed25519 device certificate, and
// a CA with name constraints, which Bouncer refuses). Expected values are read off
// `openssl x509 -text` and node:crypto, independently of the parser under test.
import { createPublicKey, X509Certificate } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { rawJson } from '../../../src/exact-json.js'
import { urlEncodePem } from '../../../src/proxy/tls.js'
import { E, lit, table, V } from './helpers.js'

const dir = join(import.meta.dirname, 'fixtures', 'x509')
const pem = (name: string): string => readFileSync(join(dir, `${name}.pem`), 'utf8')
const [leaf, ca, ed, nc, x25519] = ['leaf', 'ca', 'ed', 'nc', 'x25519'].map(pem) as [string, string, string, string, string]
const der = (p: string): Buffer => new X509Certificate(p).raw
const decimal = (b64url: string): string => BigInt('0x' + Buffer.from(b64url, 'base64url').toString('hex')).toString()
const p = (arg: string): string => `crypto.x509.parse_certificates(${arg})`
const input = { leaf, ca, ed, nc, x25519, crlPoints: pem('crl-points'), chain: leaf + ca + ed }
const hex = (h: string): string => Buffer.from(h.replace(/:/g, ''), 'hex').toString('base64')
const failing = (m: string): RegExp => new RegExp(`^eval_builtin_error: crypto\\.x509\\.parse_certificates: ${m}`)

t.test('a PEM chain: one certificate each, in order', async t => {
  await table(t, [
    [`[c.Subject.CommonName | some c in ${p('input.chain')}]`, V(['web.payments.svc', 'Bouncer Test Root', 'ed25519 device'])],
    [`count(${p('input.leaf')})`, V(1)],
    [`${p('input.leaf')}[0].Raw`, V(der(leaf).toString('base64'))],
  ], input)
})

t.test('the client certificate: names, key usages, key identifiers and the extensions Go reads', async t => {
  const c = `${p('input.leaf')}[0]`
  const jwk = createPublicKey(leaf).export({ format: 'jwk' })
  await table(t, [
    [`${c}.Version`, V(3)],
    [`${c}.SerialNumber`, V(123456789)],
    [`${c}.SignatureAlgorithm`, V(4)], // SHA256WithRSA (signed by the RSA root)
    [`${c}.PublicKeyAlgorithm`, V(3)], // ECDSA
    [`${c}.PublicKey`, V({ Curve: {}, X: rawJson(decimal(jwk.x!)), Y: rawJson(decimal(jwk.y!)) })],
    [`${c}.Subject`, V({
      Country: ['DE'], Organization: ['Example Org'], OrganizationalUnit: ['Payments', 'Platform'], Locality: ['Berlin'], Province: ['Berlin'],
      StreetAddress: null, PostalCode: null, SerialNumber: '4711', CommonName: 'web.payments.svc',
      Names: [[6, 'DE'], [8, 'Berlin'], [7, 'Berlin'], [10, 'Example Org'], [11, 'Payments'], [11, 'Platform'], [3, 'web.payments.svc'], [5, '4711']]
        .map(([n, v]) => ({ Type: [2, 5, 4, n], Value: v })),
      ExtraNames: null,
    })],
    [`${c}.Issuer.CommonName`, V('Bouncer Test Root')],
    [`${c}.NotBefore`, V('2026-12-06T00:31:41Z')],
    [`${c}.NotAfter`, V('2029-03-10T00:31:41Z')],
    [`${c}.KeyUsage`, V(1 | 4)], // digitalSignature, keyEncipherment
    [`${c}.ExtKeyUsage`, V([2, 1])], // clientAuth, serverAuth, in the certificate's order
    [`${c}.UnknownExtKeyUsage`, V([[1, 3, 6, 1, 4, 1, 57264, 1, 99]])],
    [`[${c}.BasicConstraintsValid, ${c}.IsCA, ${c}.MaxPathLen, ${c}.MaxPathLenZero]`, V([true, false, -1, false])],
    [`${c}.SubjectKeyId`, V(hex('4B:66:28:30:C0:7F:62:DC:8B:0C:84:14:82:59:BF:F4:AC:65:97:57'))],
    [`${c}.AuthorityKeyId`, V(hex('A0:57:22:FC:A2:E1:45:13:39:0E:77:F4:C6:E6:39:03:79:B6:32:AB'))],
    [`${c}.AuthorityKeyId == ${p('input.ca')}[0].SubjectKeyId`, V(true)],
    [`${c}.DNSNames`, V(['web.payments.svc', 'localhost'])],
    [`${c}.EmailAddresses`, V(['ops@example.com'])],
    [`${c}.IPAddresses`, V(['10.0.0.7', '2001:db8::1'])],
    [`${c}.URIs`, V([{ Scheme: 'spiffe', Opaque: '', User: null, Host: 'example.com', Path: '/ns/payments/sa/web', RawPath: '', OmitHost: false, ForceQuery: false, RawQuery: '', Fragment: '', RawFragment: '' }])],
    [`${c}.URIStrings`, V(['spiffe://example.com/ns/payments/sa/web'])],
    [`${c}.OCSPServer`, V(['http://ocsp.example.com'])],
    [`${c}.IssuingCertificateURL`, V(['http://ca.example.com/root.crt'])],
    [`${c}.CRLDistributionPoints`, V(['http://crl.example.com/root.crl'])],
    [`${c}.PolicyIdentifiers`, V([[2, 23, 140, 1, 2, 1], [1, 3, 6, 1, 4, 1, 44947, 1, 1, 1]])],
    [`${c}.Policies`, V(['2.23.140.1.2.1', '1.3.6.1.4.1.44947.1.1.1'])],
    [`[e.Id | some e in ${c}.Extensions; e.Critical]`, V([[2, 5, 29, 19], [2, 5, 29, 15]])],
    [`count(${c}.Extensions)`, V(10)],
    // A private extension, as a policy checks one (a TPM attestation OID, say): its DER value.
    [`[base64.decode(e.Value) | some e in ${c}.Extensions; e.Id == [1, 3, 6, 1, 4, 1, 9999, 1]]`, V(['\u000c\u000ctpm-attested'])],
    [`[${c}.UnhandledCriticalExtensions, ${c}.ExtraExtensions, ${c}.PermittedDNSDomains, ${c}.PolicyMappings]`, V([null, null, null, null])],
  ], input)
})

t.test('the RSA root: a serial past 2^53 and the modulus exactly; the Ed25519 certificate', async t => {
  const r = `${p('input.ca')}[0]`
  const rsa = createPublicKey(ca).export({ format: 'jwk' })
  const e = `${p('input.ed')}[0]`
  await table(t, [
    [`${r}.SerialNumber`, V(rawJson(BigInt('0x1F00000000000000000000000000000001').toString()))],
    [`${r}.PublicKey`, V({ N: rawJson(decimal(rsa.n!)), E: 65537 })],
    [`${r}.PublicKeyAlgorithm`, V(1)],
    [`[${r}.IsCA, ${r}.MaxPathLen, ${r}.MaxPathLenZero, ${r}.KeyUsage]`, V([true, 0, true, 32 | 64])], // pathlen:0; keyCertSign, cRLSign
    [`${r}.Subject.Names[1]`, V({ Type: [2, 5, 4, 10], Value: 'Bouncer Test CA' })],
    [`${r}.NotAfter`, V('2036-12-03T00:31:36Z')],
    [`[${e}.SignatureAlgorithm, ${e}.PublicKeyAlgorithm]`, V([16, 4])], // PureEd25519, Ed25519
    [`${e}.PublicKey`, V(Buffer.from(createPublicKey(ed).export({ format: 'jwk' }).x!, 'base64url').toString('base64'))],
    [`[${e}.IsCA, ${e}.MaxPathLen]`, V([true, -1])],
  ], input)
})

t.test('a key of an algorithm outside Go\'s enum (X25519): algorithm 0, key null; a GeneralizedTime past 2049', async t => {
  const x = `${p('input.x25519')}[0]`
  await table(t, [
    [`[${x}.PublicKeyAlgorithm, ${x}.PublicKey, ${x}.SignatureAlgorithm]`, V([0, null, 4])],
    [`${x}.Subject.CommonName`, V('x25519 peer')],
    [`${x}.NotAfter`, V('2109-01-25T00:35:00Z')],
    // Each point's full name is read up to its first name that is not a URI, as Go reads it.
    [`${p('input.crlPoints')}[0].CRLDistributionPoints`, V(['http://crl.example.com/a.crl', 'http://crl2.example.com/b.crl'])],
  ], input)
})

t.test("what OPA reads: PEM, base64 of PEM, base64 of DER (several back to back); the proxy's URL-encoded PEM", async t => {
  const cn = (arg: string): string => `[c.Subject.CommonName | some c in ${p(arg)}]`
  await table(t, [
    [cn(lit(Buffer.from(leaf + ca).toString('base64'))), V(['web.payments.svc', 'Bouncer Test Root'])],
    [cn(lit(der(ed).toString('base64'))), V(['ed25519 device'])],
    [cn(lit(Buffer.concat([der(ca), der(leaf)]).toString('base64'))), V(['Bouncer Test Root', 'web.payments.svc'])],
    // Go's base64 skips line breaks.
    [cn(lit(der(ed).toString('base64').replace(/(.{64})/g, '$1\r\n'))), V(['ed25519 device'])],
    // As a policy reads the client certificate the proxy puts in its input (attributes.source.certificate).
    [`${p('urlquery.decode(input.attributes.source.certificate)')}[0].URIStrings`, V(['spiffe://example.com/ns/payments/sa/web'])],
    [p(lit('')), V([])],
    [p(lit('-----BEGIN nothing after it')), V([])],
  ], { attributes: { source: { certificate: urlEncodePem(leaf) } } })
})

t.test('refusals: errors (undefined unless strict), never a partly read certificate', async t => {
  // A block of another type (its body is no key: only the type is read). security-gate: allow-secret
  const key = `-----BEGIN PRIVATE KEY-----\n${Buffer.from('not a key, only a block type').toString('base64')}\n-----END PRIVATE KEY-----\n` // security-gate: allow-secret
  const truncated = der(leaf).subarray(0, 300).toString('base64')
  const flipped = Buffer.from(der(ed))
  flipped[1] = 0x84 // a length of four bytes where one was: runs past the end
  await table(t, [
    [p(lit(leaf + key)), E(failing("PEM block type is 'PRIVATE KEY', expected CERTIFICATE"))],
    [p(lit('not base64!')), E(failing('illegal base64 data at input byte 3'))],
    [p(lit(truncated)), E(failing('x509: malformed certificate'))],
    [p(lit(flipped.toString('base64'))), E(failing('x509: malformed certificate'))],
    [p(lit(Buffer.from('hello').toString('base64'))), E(failing('x509: malformed certificate$'))], // Go's words exactly: no SEQUENCE at all
    [p('input.nc'), E(failing("x509: a certificate with name constraints is not supported by Bouncer's crypto.x509 builtins"))],
  ], input)
  await table(t, [[p('1'), E(/^eval_type_error: crypto\.x509\.parse_certificates: operand 1 must be string but got number$/)]])
})

t.test('the same text is parsed once: one frozen answer, one error, for every later call', async t => {
  const { parseCertificates } = await import('../../../src/policy/builtins/x509/index.js')
  const a = parseCertificates(leaf + ca)
  t.equal(parseCertificates(leaf + ca), a, 'the same value')
  t.ok(Object.isFrozen(a) && Object.isFrozen(a[0]) && Object.isFrozen((a[0] as { Subject: object }).Subject), 'frozen through')
  t.not(parseCertificates(ca + leaf), a, 'another text, another value')
  const bad = Buffer.from('hello').toString('base64')
  t.throws(() => parseCertificates(bad), /x509: malformed certificate/)
  t.throws(() => parseCertificates(bad), /x509: malformed certificate/, 'and again')
})

// --- crypto.x509.parse_and_verify_certificates: Go's Verify with OPA's options (the first
// certificate the root, the last the leaf; server authentication; the evaluation's time).
const v = (name: string): string => pem(name)
const verifyInput = {
  twoLevel: ca + leaf,
  threeLevel: ed + v('int-under-ed') + v('srv-under-int'),
  threeLevelExtra: ed + leaf + v('int-under-ed') + v('srv-under-int'),
  pathLen: ca + v('int-under-ca') + v('srv-under-int'),
  clientOnly: ca + v('cli-under-ca'),
  sha1: ca + v('sha1-under-ca'),
  nonCaSigner: ca + leaf + v('srv-under-leaf'),
  leafFirst: leaf + ca,
  otherRoot: ed + leaf,
  oneCert: ca,
  wrongIssuer: ca + v('int-under-ed') + v('srv-under-int'),
}
const pv = (arg: string): string => `crypto.x509.parse_and_verify_certificates(${arg})`
const subjects = (arg: string): string => `[c.Subject.CommonName | some c in ${pv(arg)}[1]]`

t.test('parse_and_verify_certificates: chains that verify give [true, leaf … root]', async t => {
  await table(t, [
    [`${pv('input.twoLevel')}[0]`, V(true)],
    [subjects('input.twoLevel'), V(['web.payments.svc', 'Bouncer Test Root'])],
    // An Ed25519 root, an ECDSA intermediate, a server certificate.
    [subjects('input.threeLevel'), V(['api.example.com', 'Bouncer Test Intermediate', 'ed25519 device'])],
    // Certificates between the root and the leaf are a pool: one that plays no part is left out.
    [subjects('input.threeLevelExtra'), V(['api.example.com', 'Bouncer Test Intermediate', 'ed25519 device'])],
    [`${pv('input.twoLevel')}[1][0].URIStrings`, V(['spiffe://example.com/ns/payments/sa/web'])],
  ], verifyInput)
})

t.test('parse_and_verify_certificates: [false, []] for every chain Go refuses', async t => {
  const no = V([false, []])
  await table(t, [
    [pv('input.pathLen'), no], // the root allows no intermediate (pathlen:0)
    [pv('input.clientOnly'), no], // no server authentication (OPA passes no key usages: Go's default)
    [pv('input.sha1'), no], // SHA-1 signatures are insecure
    [pv('input.nonCaSigner'), no], // signed by a certificate that is not a CA
    [pv('input.leafFirst'), no], // the root comes first
    [pv('input.otherRoot'), no],
    [pv('input.wrongIssuer'), no],
    [pv('input.oneCert'), no],
    [pv(lit('not base64!')), no], // unreadable: false, not an error
    [pv('input.nc'), no], // name constraints: refused by the parser, so never verified on fewer checks
  ], { ...verifyInput, nc: nc + leaf })
  await table(t, [[pv('1'), E(/^eval_type_error: crypto\.x509\.parse_and_verify_certificates: operand 1 must be string but got number$/)]])
})

t.test('parse_and_verify_certificates: the evaluation\'s time decides validity', async t => {
  const { runEvaluation } = await import('../../../src/policy/builtins/context.js')
  const { parseAndVerifyCertificates } = await import('../../../src/policy/builtins/x509/index.js')
  const at = (iso: string): boolean => runEvaluation(() => parseAndVerifyCertificates(ca + leaf)[0], { nowNs: BigInt(Date.parse(iso)) * 1_000_000n })
  t.equal(at('2027-06-01T00:00:00Z'), true)
  t.equal(at('2026-12-06T00:31:40Z'), false, 'a second before the leaf\'s NotBefore')
  t.equal(at('2026-12-06T00:31:41Z'), true, 'at NotBefore')
  t.equal(at('2029-03-10T00:31:41Z'), true, 'at NotAfter')
  t.equal(at('2029-03-10T00:31:42Z'), false, 'a second after the leaf\'s NotAfter')
})

const pvo = (arg: string, options: string): string => `crypto.x509.parse_and_verify_certificates_with_options(${arg}, ${options})`

t.test('parse_and_verify_certificates_with_options: DNSName, KeyUsages, CurrentTime (to the nanosecond)', async t => {
  const notAfterNs = BigInt(Date.parse('2029-03-10T00:31:41Z')) * 1_000_000n
  await table(t, [
    [`${pvo('input.threeLevel', '{"DNSName": "api.example.com"}')}[0]`, V(true)],
    [`${pvo('input.threeLevel', '{"DNSName": "API.Example.COM."}')}[0]`, V(true)], // case and a trailing dot
    [`${pvo('input.threeLevel', '{"DNSName": "other.example.com"}')}[0]`, V(false)],
    [`${pvo('input.twoLevel', '{"DNSName": "10.0.0.7"}')}[0]`, V(true)], // IP SANs
    [`${pvo('input.twoLevel', '{"DNSName": "[2001:db8::1]"}')}[0]`, V(true)],
    [`${pvo('input.twoLevel', '{"DNSName": "::ffff:10.0.0.7"}')}[0]`, V(true)],
    [`${pvo('input.twoLevel', '{"DNSName": "10.0.0.8"}')}[0]`, V(false)],
    [`${pvo('input.twoLevel', '{"DNSName": "web.payments.svc"}')}[0]`, V(true)],
    [`${pvo('input.clientOnly', '{}')}[0]`, V(false)],
    [`${pvo('input.clientOnly', '{"KeyUsages": ["KeyUsageClientAuth"]}')}[0]`, V(true)],
    [`${pvo('input.clientOnly', '{"KeyUsages": {"KeyUsageAny"}}')}[0]`, V(true)], // a set works too
    [`${pvo('input.twoLevel', `{"CurrentTime": ${notAfterNs}}`)}[0]`, V(true)],
    [`${pvo('input.twoLevel', `{"CurrentTime": ${notAfterNs + 1n}}`)}[0]`, V(false)], // one ns past NotAfter
    // This variant gives Go's certificates as they are: no URIStrings.
    [`[k | some c in ${pvo('input.twoLevel', '{}')}[1]; some k, _ in c; k == "URIStrings"]`, V([])],
    [`${pvo('input.twoLevel', '{}')}[1][0].URIs[0].Host`, V('example.com')],
  ], verifyInput)
})

t.test('parse_and_verify_certificates_with_options: OPA\'s errors for bad options; unreadable certificates are [false, []] first', async t => {
  const m = (s: string): RegExp => new RegExp(`^eval_builtin_error: crypto\\.x509\\.parse_and_verify_certificates_with_options: ${s.replace(/[[\]]/g, '\\$&')}$`)
  await table(t, [
    [pvo('input.twoLevel', '{"Foo": 1}'), E(m('invalid key option'))],
    [pvo('input.twoLevel', '{"DNSName": 1}'), E(m("'DNSName' should be a string"))],
    [pvo('input.twoLevel', '{"CurrentTime": "now"}'), E(m("'CurrentTime' should be a number"))],
    [pvo('input.twoLevel', '{"CurrentTime": 1.5}'), E(m("'CurrentTime' should be a valid int64 number"))],
    [pvo('input.twoLevel', '{"CurrentTime": 9223372036854775808}'), E(m("'CurrentTime' should be a valid int64 number"))],
    [pvo('input.twoLevel', '{"KeyUsages": "KeyUsageAny"}'), E(m("'KeyUsages' should be an Array or Set"))],
    [pvo('input.twoLevel', '{"KeyUsages": ["Nope", "KeyUsageAny", "Bad"]}'), E(m("invalid entries for 'KeyUsages' found: [Nope Bad]"))],
    [pvo('"not base64!"', '{"Foo": 1}'), V([false, []])],
  ], verifyInput)
})

t.test('a subject in a BMPString (UTF-16, as OpenSSL writes names outside T61String): decoded as Go does', async t => {
  // fixtures/x509/bmp-subject.pem: `openssl req -x509` with `string_mask = default`, CN "Ωmega".
  const p = lit(pem('bmp-subject'))
  await table(t, [
    [`crypto.x509.parse_certificates(${p})[0].Subject.CommonName`, V('Ωmega')],
    [`crypto.x509.parse_certificates(${p})[0].Issuer.Names[0].Value`, V('Ωmega')],
  ])
})
