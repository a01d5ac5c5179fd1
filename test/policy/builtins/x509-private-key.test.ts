// crypto.x509.parse_rsa_private_key through compiled policies. Keys are made here at test time
// (no private key is committed); the JWK is checked against RSA's own arithmetic on BigInts
// (n = p·q, d·e ≡ 1 mod p-1 and q-1, the CRT values) and against the public key, not against
// node's JWK export that the builtin uses.
import { createPublicKey, generateKeyPairSync } from 'node:crypto'
import t from 'tap'
import { E, evalOne, lit, table, V } from './helpers.js'

const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 })
const pkcs1 = rsa.privateKey.export({ format: 'pem', type: 'pkcs1' }) as string
const pkcs8 = rsa.privateKey.export({ format: 'pem', type: 'pkcs8' }) as string
const pkcs1Der = rsa.privateKey.export({ format: 'der', type: 'pkcs1' })
const pkcs8Der = rsa.privateKey.export({ format: 'der', type: 'pkcs8' })
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' })
const ecSec1 = ec.privateKey.export({ format: 'pem', type: 'sec1' }) as string
const ecSec1Der = ec.privateKey.export({ format: 'der', type: 'sec1' })
const ed448Der = generateKeyPairSync('ed448').privateKey.export({ format: 'der', type: 'pkcs8' })

const b64 = (s: string | Buffer): string => Buffer.from(s).toString('base64')
const pem = (type: string, der: Buffer): string => `-----BEGIN ${type}-----\n${der.toString('base64').replace(/.{64}/g, '$&\n')}\n-----END ${type}-----\n`
const certPem = '-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----\n'
const publicPem = rsa.publicKey.export({ format: 'pem', type: 'spki' }) as string

const call = (arg: string): string => `crypto.x509.parse_rsa_private_key(${arg})`
const failing = (m: string): RegExp => new RegExp(`^eval_builtin_error: crypto\\.x509\\.parse_rsa_private_key: ${m.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`)
const input = { pkcs1, pkcs8, ecSec1, cert: certPem, pub: publicPem }

// The modulus, read from the public key's PKCS#1 DER (SEQUENCE { INTEGER n, INTEGER e }).
function publicModulus (): bigint {
  const der = rsa.publicKey.export({ format: 'der', type: 'pkcs1' })
  let at = 1
  at += der[at]! & 0x80 ? 1 + (der[at]! & 0x7f) : 1 // SEQUENCE length
  at++ // INTEGER tag
  let len = der[at]!
  if (len & 0x80) { const k = len & 0x7f; len = 0; for (let i = 1; i <= k; i++) len = len * 256 + der[at + i]!; at += k }
  at++
  return BigInt('0x' + der.subarray(at, at + len).toString('hex'))
}
const big = (s: string): bigint => BigInt('0x' + Buffer.from(s, 'base64url').toString('hex'))

t.test('PKCS#1 and PKCS#8 PEM: the JWK members OPA writes, and RSA arithmetic holds for them', async t => {
  const r = await evalOne(call('input.pkcs1'), { input })
  const jwk = r.value as Record<string, string>
  t.same(Object.keys(jwk).sort(), ['d', 'dp', 'dq', 'e', 'kty', 'n', 'p', 'q', 'qi'])
  t.equal(jwk.kty, 'RSA')
  t.equal(jwk.e, 'AQAB')
  for (const k of ['n', 'e', 'd', 'p', 'q', 'dp', 'dq', 'qi']) {
    t.match(jwk[k], /^[A-Za-z0-9_-]+$/, `${k}: base64url without padding`)
    t.not(Buffer.from(jwk[k]!, 'base64url')[0], 0, `${k}: no leading zero byte`)
  }
  const [n, e, d, p, q, dp, dq, qi] = ['n', 'e', 'd', 'p', 'q', 'dp', 'dq', 'qi'].map(k => big(jwk[k]!)) as bigint[]
  t.equal(n, publicModulus())
  t.equal(p! * q!, n)
  t.equal((d! * e!) % (p! - 1n), 1n)
  t.equal((d! * e!) % (q! - 1n), 1n)
  t.equal(dp, d! % (p! - 1n))
  t.equal(dq, d! % (q! - 1n))
  t.equal((qi! * q!) % p!, 1n)
  // the same key in PKCS#8, as base64 of PEM, as base64 of base64 of PEM
  await table(t, [
    [call('input.pkcs8'), V(jwk)],
    [call(lit(b64(pkcs1))), V(jwk)],
    [call(lit(b64(pkcs8))), V(jwk)],
    [call(lit(b64(b64(pkcs1)))), V(jwk)],
    [`${call('input.pkcs1')} == ${call('input.pkcs8')}`, V(true)],
  ], input)
})

t.test('only the first key counts, other PEM blocks are skipped, no key is null', async t => {
  const jwk = (await evalOne(call('input.pkcs1'), { input })).value as Record<string, string>
  await table(t, [
    [call('concat("\\n", [input.cert, input.pkcs1, input.ecSec1])'), V(jwk)],
    [call('concat("", [input.pub, "text between\\n", input.pkcs8])'), V(jwk)],
    [call('input.cert'), V(null)],
    [call('input.pub'), V(null)],
    [call(lit(b64(certPem))), V(null)],
    // base64 of DER is no PEM: no key
    [call(lit(pkcs8Der.toString('base64'))), V(null)],
    [call(lit('-----BEGIN nothing')), V(null)],
  ], input)
})

t.test("OPA's errors", async t => {
  await table(t, [
    [call('""'), E(failing('input PEM data was empty'))],
    [call('"invalid"'), E(failing('illegal base64 data at input byte 4'))],
    [call('"not base64!"'), E(failing('illegal base64 data at input byte 3'))],
    // PEM must come first: text before it makes the argument base64, which it is not
    [call('concat("", ["garbage before\\n", input.pkcs1])'), E(failing('illegal base64 data at input byte 7'))],
    // a key of one format in a block of another
    [call(lit(pem('PRIVATE KEY', pkcs1Der))), E(failing('x509: failed to parse private key (use ParsePKCS1PrivateKey instead for this key format)'))],
    [call(lit(pem('RSA PRIVATE KEY', pkcs8Der))), E(failing('x509: failed to parse private key (use ParsePKCS8PrivateKey instead for this key format)'))],
    [call(lit(pem('RSA PRIVATE KEY', ecSec1Der))), E(failing('x509: failed to parse private key (use ParseECPrivateKey instead for this key format)'))],
    [call(lit(pem('EC PRIVATE KEY', pkcs1Der))), E(failing('x509: failed to parse private key (use ParsePKCS1PrivateKey instead for this key format)'))],
    [call(lit(pem('EC PRIVATE KEY', pkcs8Der))), E(failing('x509: failed to parse private key (use ParsePKCS8PrivateKey instead for this key format)'))],
    // a PKCS#8 key Go does not know
    [call(lit(pem('PRIVATE KEY', ed448Der))), E(failing('x509: PKCS#8 wrapping contained private key with unknown algorithm: 1.3.101.113'))],
    // garbage in a key block
    [call(lit(pem('PRIVATE KEY', Buffer.from('x'.repeat(48), 'base64')))), E(failing('asn1: structure error'))],
    // a broken key after a good one still fails the call
    [call(`concat("\\n", [input.pkcs1, ${lit(pem('RSA PRIVATE KEY', pkcs8Der))}])`), E(failing('x509: failed to parse private key (use ParsePKCS8PrivateKey'))],
    // an RSA key whose primes do not make its modulus
    [call(lit(pem('RSA PRIVATE KEY', swapModulusByte(pkcs1Der)))), E(failing('crypto/rsa: invalid modulus'))],
  ], input)
})

t.test('a first key that is not RSA: refused, not answered (OPA depends on its JWK library)', async t => {
  await table(t, [
    [call('input.ecSec1'), E(failing("ec keys are not supported by Bouncer's crypto.x509.parse_rsa_private_key"))],
    [call(lit(b64(ec.privateKey.export({ format: 'pem', type: 'pkcs8' }) as string))), E(failing('ec keys are not supported'))],
  ], input)
})

t.test('the public key of the JWK is the key pair\'s', async t => {
  const jwk = (await evalOne(call('input.pkcs8'), { input })).value as Record<string, string>
  const pub = createPublicKey({ key: { kty: 'RSA', n: jwk.n!, e: jwk.e! }, format: 'jwk' })
  t.equal(pub.export({ format: 'pem', type: 'spki' }), publicPem)
})

/** PKCS#1 DER with the last byte of the modulus changed (n no longer p·q). */
function swapModulusByte (der: Buffer): Buffer {
  const out = Buffer.from(der)
  // SEQUENCE 30 82 LL LL, version 02 01 00, modulus 02 82 01 01 00 <256 bytes>
  const at = 4 + 3 + 4 + 1 + 255
  out[at] = out[at]! ^ 0x02
  return out
}
