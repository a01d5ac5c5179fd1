// Review of the JWT authenticator (2026-12-07, helper): nothing was forged through, but a
// crafted header cost ~15 ms of CPU per request, a token that never expires was accepted and
// cached for ever, the same attack got different error codes with and without a JWKS, a valid
// kid-less token was refused only because jwks_url was set too, and a static JWK for another
// alg or for encryption was accepted. Real keys (jose), a real JWKS server on loopback.
import { createHmac } from 'node:crypto'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import t, { type Test } from 'tap'
import { SignJWT, exportJWK, exportSPKI, generateKeyPair, type JWK } from 'jose'
import { createAuthenticator, type Authenticator } from '../../src/auth/index.js'
import { createConfig } from '../../src/index.js'

const SECRET = 'another-test-secret-of-at-least-32-bytes' // security-gate: allow-secret
const b64 = (s: string | Buffer): string => Buffer.from(s).toString('base64url')
const now = (): number => Math.floor(Date.now() / 1000)

function jwtConfig (jwt: Record<string, unknown>) {
  return createConfig({ upstream: { url: 'http://127.0.0.1:1' }, auth: { jwt: { enabled: true, ...jwt } } } as Parameters<typeof createConfig>[0]).auth.jwt
}
async function open (t: Test, jwt: Record<string, unknown>): Promise<Authenticator> {
  const auth = (await createAuthenticator(jwtConfig(jwt)))!
  t.teardown(() => auth.close())
  return auth
}
const bearer = async (auth: Authenticator, token: string) => await auth.authenticate({ authorization: `Bearer ${token}` })
/** An HS256 token over exactly this header and payload text. */
function hs256 (header: string, payload: string, secret = SECRET): string {
  const input = `${b64(header)}.${b64(payload)}`
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`
}
async function idp (t: Test, keys: JWK[]): Promise<string> {
  const server = createServer((_req, res) => { res.writeHead(200, { 'content-type': 'application/json' }); res.end(JSON.stringify({ keys })) })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
  t.teardown(() => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()) }))
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks`
}

t.test('a protected header over 8 KiB is refused before it is parsed', async (t) => {
  const auth = await open(t, { keys: [{ alg: 'HS256', secret: SECRET }] })
  const nested = '['.repeat(4000) + ']'.repeat(4000)
  t.same(await bearer(auth, hs256(`{"alg":"HS256","x":${nested}}`, `{"sub":"a","exp":${now() + 60}}`)), { error: 'malformed_token' })
  // A real header with a certificate chain's worth of x5c still verifies.
  const x5c = [b64(Buffer.alloc(1200, 1)), b64(Buffer.alloc(1200, 2))]
  const r = await bearer(auth, hs256(JSON.stringify({ alg: 'HS256', x5c }), `{"sub":"a","exp":${now() + 60}}`))
  t.equal(r.identity?.sub, 'a', 'a few KB of header is fine')
})

t.test('time claims must be finite: exp 1e400 is no token that never expires', async (t) => {
  const auth = await open(t, { keys: [{ alg: 'HS256', secret: SECRET }] })
  t.same(await bearer(auth, hs256('{"alg":"HS256"}', '{"sub":"a","exp":1e400}')), { error: 'invalid_claims' })
  t.same(await bearer(auth, hs256('{"alg":"HS256"}', `{"sub":"a","exp":${now() + 60},"nbf":-1e400}`)), { error: 'invalid_claims' })
  t.equal((await bearer(auth, hs256('{"alg":"HS256"}', `{"sub":"a","exp":${now() + 60}}`))).identity?.sub, 'a')
})

t.test('an alg we do not accept is algorithm_not_allowed with static keys only, as with a JWKS', async (t) => {
  const rsa = await generateKeyPair('RS256', { extractable: true })
  const pem = await exportSPKI(rsa.publicKey)
  const auth = await open(t, { keys: [{ alg: 'RS256', pem }] })
  t.same(await bearer(auth, `${b64('{"alg":"none"}')}.${b64(`{"sub":"a","exp":${now() + 60}}`)}.`), { error: 'algorithm_not_allowed' }, 'none')
  t.same(await bearer(auth, `${b64('{"typ":"JWT"}')}.${b64(`{"sub":"a","exp":${now() + 60}}`)}.c2ln`), { error: 'malformed_token' }, 'no alg at all: malformed, as jose reads it')
  t.same(await bearer(auth, `${b64('{"alg":5}')}.${b64(`{"sub":"a","exp":${now() + 60}}`)}.c2ln`), { error: 'malformed_token' }, 'an alg that is no string: malformed')
  t.same(await bearer(auth, hs256('{"alg":"HS256"}', `{"sub":"a","exp":${now() + 60}}`, pem)), { error: 'algorithm_not_allowed' }, 'HS256 signed with the public key\'s PEM')
  const ps = await generateKeyPair('PS256')
  t.same(await bearer(auth, await new SignJWT({ sub: 'a' }).setProtectedHeader({ alg: 'PS256' }).setExpirationTime('5m').sign(ps.privateKey)), { error: 'algorithm_not_allowed' }, 'an alg no key is for')
})

t.test('an unrecognised crit extension is a malformed token, not an algorithm question', async (t) => {
  const auth = await open(t, { keys: [{ alg: 'HS256', secret: SECRET }] })
  t.same(await bearer(auth, hs256('{"alg":"HS256","crit":["x"],"x":1}', `{"sub":"a","exp":${now() + 60}}`)), { error: 'malformed_token' })
})

t.test('a kid-less token verifies against a static key with a kid, with or without a JWKS', async (t) => {
  const other = await generateKeyPair('RS256', { extractable: true })
  const url = await idp(t, [{ ...(await exportJWK(other.publicKey)), kid: 'idp-1', alg: 'RS256' }])
  const token = hs256('{"alg":"HS256"}', `{"sub":"alice","exp":${now() + 60}}`)
  for (const jwks of [undefined, url]) {
    const auth = await open(t, { keys: [{ alg: 'HS256', secret: SECRET, kid: 'hs' }], ...(jwks ? { jwks_url: jwks } : {}) })
    t.equal((await bearer(auth, token)).identity?.sub, 'alice', jwks ? 'with a JWKS too' : 'static keys only')
    t.same(await bearer(auth, hs256('{"alg":"HS256"}', `{"sub":"alice","exp":${now() + 60}}`, SECRET + 'x')), { error: 'invalid_signature' }, 'a wrong secret still fails')
  }
})

t.test('a static JWK for another alg or for encryption is a config error', async (t) => {
  const rsa = await generateKeyPair('RS256', { extractable: true })
  const jwk = await exportJWK(rsa.publicKey)
  await t.rejects(createAuthenticator(jwtConfig({ keys: [{ alg: 'RS256', jwk: { ...jwk, alg: 'PS256' } }] })), /auth\.jwt\.keys\.0: the JWK is for PS256, not RS256/)
  await t.rejects(createAuthenticator(jwtConfig({ keys: [{ alg: 'RS256', jwk: { ...jwk, use: 'enc' } }] })), /auth\.jwt\.keys\.0: the JWK's use is "enc", not "sig"/)
  const ok = await createAuthenticator(jwtConfig({ keys: [{ alg: 'RS256', jwk: { ...jwk, use: 'sig', alg: 'RS256' } }] }))
  t.ok(ok, 'use "sig" and its own alg: accepted')
  await ok?.close()
})
