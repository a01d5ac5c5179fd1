// createAuthenticator from the validated config's defaults: static keys, and a JWKS served by a
// real IdP on loopback. A cached token's identity is the same object on every hit, which is how
// these tests see whether an answer came from the token cache.
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import t, { type Test } from 'tap'
import { SignJWT, exportJWK, exportSPKI, generateKeyPair, type JWK, type CryptoKey } from 'jose'
import { createAuthenticator, type Authenticator } from '../../src/auth/index.js'
import { createConfig } from '../../src/index.js'

const SECRET = 'a-test-secret-of-at-least-thirty-two-bytes!'
const b64 = (s: string) => Buffer.from(s).toString('base64url')

function jwtConfig (jwt: Record<string, unknown>) {
  return createConfig({ upstream: { url: 'http://127.0.0.1:1' }, auth: { jwt: { enabled: true, ...jwt } } } as Parameters<typeof createConfig>[0]).auth.jwt
}

async function open (t: Test, jwt: Record<string, unknown>, deps: Parameters<typeof createAuthenticator>[1] = {}): Promise<Authenticator> {
  const auth = (await createAuthenticator(jwtConfig(jwt), deps))!
  t.teardown(() => auth.close())
  return auth
}

const bearer = async (auth: Authenticator, token: string) => await auth.authenticate({ authorization: `Bearer ${token}` })

async function keyPair (alg: string, kid?: string) {
  const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true })
  return {
    publicKey, alg, kid, jwk: { ...(await exportJWK(publicKey)), kid, alg } as JWK,
    /** kid: the key's unless given (null: none). */
    sign: (claims: Record<string, unknown>, opts: { exp?: string | number; kid?: string | null } = {}) =>
      signWith(privateKey, alg, claims, opts.exp ?? '5m', opts.kid === null ? undefined : opts.kid ?? kid),
  }
}
function signWith (key: CryptoKey | Uint8Array, alg: string, claims: Record<string, unknown>, exp: string | number = '5m', kid?: string) {
  return new SignJWT(claims).setProtectedHeader({ alg, ...(kid === undefined ? {} : { kid }) }).setExpirationTime(exp).sign(key)
}

/** A JWKS endpoint on loopback serving `state.keys`, counting fetches. */
async function idp (t: Test, keys: JWK[]) {
  const state = { keys, fetches: 0, down: false }
  const server = createServer((_req, res) => {
    state.fetches++
    if (state.down) { res.writeHead(503); res.end(); return }
    res.writeHead(200, { 'content-type': 'application/json' })
    res.end(JSON.stringify({ keys: state.keys }))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
  t.teardown(() => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()) }))
  return { state, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks` }
}

t.test('identity: the verified claims, keys in canonical order, frozen, the same object on a cached token', async (t) => {
  const cfg = createConfig({ upstream: { url: 'http://127.0.0.1:1' }, auth: { jwt: { enabled: true, keys: [{ alg: 'HS256', secret: SECRET }] } } })
  const auth = (await createAuthenticator(cfg.auth.jwt))!
  // Claims in an order that is not sorted, one of them "__proto__" (a JSON key like any other).
  const claims = JSON.parse('{"tenant":"acme","roles":["admin"],"__proto__":{"admin":true},"zeta":1,"alpha":{"b":1,"a":2}}') as Record<string, unknown>
  const token = await new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256' }).setSubject('alice').setExpirationTime('5m').sign(new TextEncoder().encode(SECRET))
  const r = await auth.authenticate({ authorization: `Bearer ${token}` })
  const id = r.identity!
  t.ok(id, r.error ?? 'verified')
  t.same(Object.keys(id), [...Object.keys(id)].sort(), 'keys in canonical order')
  t.same(Object.keys(id), ['__proto__', 'alpha', 'exp', 'roles', 'sub', 'tenant', 'zeta'])
  t.equal(Object.getPrototypeOf(id), Object.prototype, 'a "__proto__" claim does not become the prototype')
  t.same(Object.getOwnPropertyDescriptor(id, '__proto__')?.value, { admin: true }, 'it stays an own claim')
  t.equal((id as { admin?: unknown }).admin, undefined)
  t.equal(id.sub, 'alice')
  t.ok(Object.isFrozen(id) && Object.isFrozen(id.roles) && Object.isFrozen(id.alpha), 'frozen all the way down (shared by every request with this token)')
  const again = await auth.authenticate({ authorization: `Bearer ${token}` })
  t.equal(again.identity, id, 'a cached token gives the same identity object')
})

t.test('one token is one string: padding, whitespace and spare bits in the signature are malformed_token, never cached', async (t) => {
  const k1 = await keyPair('RS256', 'k1')
  const server = await idp(t, [k1.jwk])
  const auth = await open(t, { jwks_url: server.url })
  const token = await k1.sign({ sub: 'alice' })
  const id = (await bearer(auth, token)).identity
  t.ok(id, 'the token verifies')
  const [h, p, s] = token.split('.')
  // RS256: 256 bytes in 342 characters, so the last one carries 4 bits atob ignores.
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
  const spare = alphabet[alphabet.indexOf(s.at(-1)!) ^ 1]
  const variants = {
    'padding': `${token}==`,
    'a space in the signature': `${h}.${p}.${s.slice(0, 10)} ${s.slice(10)}`,
    'a tab in the signature': `${h}.${p}.${s.slice(0, 10)}\t${s.slice(10)}`,
    'a run of spaces in the signature': `${h}.${p}.${s.slice(0, 10)}${' '.repeat(1000)}${s.slice(10)}`,
    'spare bits in the last character': `${h}.${p}.${s.slice(0, -1)}${spare}`,
    'standard base64 alphabet': `${h}.${p}.${s.replaceAll('-', '+').replaceAll('_', '/')}`,
    'four segments': `${token}.${s}`,
    'an empty payload': `${h}..${s}`,
  }
  for (const [name, v] of Object.entries(variants)) {
    if (v === token) continue // (no "-" or "_" in this signature)
    t.same(await bearer(auth, v), { error: 'malformed_token' }, name)
  }
  t.equal((await bearer(auth, token)).identity, id, 'the token itself is still a cache hit')
  // Unsecured tokens still reach jose (an empty signature verifies nothing, so it is never cached).
  t.same(await bearer(auth, `${b64('{"alg":"none"}')}.${b64('{"sub":"alice"}')}.`), { error: 'algorithm_not_allowed' })
})

t.test('the token cache is bounded by bytes as well as entries', async (t) => {
  const secret = new TextEncoder().encode(SECRET)
  // token_cache_entries 16: a budget of 64 KiB, which holds one 15 KB token (with its claims) but not two.
  const auth = await open(t, { keys: [{ alg: 'HS256', secret: SECRET }], token_cache_entries: 16 })
  const pad = 'x'.repeat(11_000)
  const [big1, big2] = [await signWith(secret, 'HS256', { sub: 'a', pad }), await signWith(secret, 'HS256', { sub: 'b', pad })]
  const id1 = (await bearer(auth, big1)).identity
  t.equal((await bearer(auth, big1)).identity, id1, 'a large token is cached')
  t.ok((await bearer(auth, big2)).identity)
  t.not((await bearer(auth, big1)).identity, id1, 'a second one evicted it: the cache stayed within its bytes')
  t.equal((await bearer(auth, big1)).identity?.sub, 'a')
  // Small tokens: all 16 entries fit.
  const small = await Promise.all(Array.from({ length: 16 }, (_, i) => signWith(secret, 'HS256', { sub: `u${i}` })))
  const ids = await Promise.all(small.map(async (tok) => (await bearer(auth, tok)).identity))
  for (const [i, tok] of small.entries()) t.equal((await bearer(auth, tok)).identity, ids[i], `small token ${i} still cached`)
})

t.test('a cached token stops verifying once its key leaves the JWKS, even when only cached tokens arrive', async (t) => {
  const [k1, k2] = [await keyPair('RS256', 'k1'), await keyPair('RS256', 'k2')]
  const server = await idp(t, [k1.jwk, k2.jwk])
  let fetched: (() => void) | undefined
  const auth = await open(t, { jwks_url: server.url, jwks_cache_seconds: 1, jwks_cooldown_seconds: 0 }, { onJwksFetch: () => fetched?.() })
  const [byK1, byK2] = [await k1.sign({ sub: 'alice' }, { exp: '2h' }), await k2.sign({ sub: 'bob' }, { exp: '2h' })]
  const [id1, id2] = [(await bearer(auth, byK1)).identity, (await bearer(auth, byK2)).identity]
  t.ok(id1 && id2)
  t.equal(server.state.fetches, 1)

  server.state.keys = [k1.jwk] // the IdP retires k2
  await new Promise((resolve) => setTimeout(resolve, 1100)) // the set is now stale
  const refetch = new Promise<void>((resolve) => { fetched = resolve })
  t.equal((await bearer(auth, byK2)).identity, id2, 'a hit on a stale set answers at once...')
  await Promise.race([refetch, new Promise((resolve) => setTimeout(resolve, 2000))])
  t.equal(server.state.fetches, 2, '...and starts a background refetch')
  t.same(await bearer(auth, byK2), { error: 'unknown_key' }, 'the key set changed: re-verified, and k2 is gone')
  t.not((await bearer(auth, byK1)).identity, id1, 'k1 token re-verified once (the set changed)...')
  const again = (await bearer(auth, byK1)).identity
  t.equal((await bearer(auth, byK1)).identity, again, '...and cached again')
  t.equal(again?.sub, 'alice')
})

t.test('jwks_max_stale_seconds: past it without a successful fetch, the last set verifies nothing (cached tokens included) until the IdP answers again', async (t) => {
  const k1 = await keyPair('RS256', 'k1')
  const server = await idp(t, [k1.jwk])
  const auth = await open(t, { jwks_url: server.url, jwks_cache_seconds: 1, jwks_cooldown_seconds: 0, jwks_timeout_seconds: 0.1, jwks_max_stale_seconds: 1.2 })
  const token = await k1.sign({ sub: 'alice' }, { exp: '2h' })
  const id = (await bearer(auth, token)).identity
  t.equal(id?.sub, 'alice')
  t.equal(auth.status().status, 'OK')

  server.state.down = true // the IdP becomes unreachable (and k1 might have been retired there)
  await new Promise((resolve) => setTimeout(resolve, 1400)) // past jwks_max_stale_seconds
  t.same(await bearer(auth, token), { error: 'jwks_unavailable' }, 'a cached token is verified again, and the expired set is not used')
  const fresh = await k1.sign({ sub: 'bob' }, { exp: '2h' })
  t.same(await bearer(auth, fresh), { error: 'jwks_unavailable' }, 'nor for a new token')
  const st = auth.status()
  t.equal(st.status, 'WARN')
  t.match(st.message, /older than auth\.jwt\.jwks_max_stale_seconds and tokens are refused until a fetch succeeds: .*HTTP 503/)

  server.state.down = false
  t.equal((await bearer(auth, token)).identity?.sub, 'alice', 'a successful fetch makes the set usable again')
  t.equal(auth.status().status, 'OK')

  // Idle past the limit with the IdP up: nothing failed, so no warning; the next token refetches.
  await new Promise((resolve) => setTimeout(resolve, 1400))
  const idle = auth.status()
  t.equal(idle.status, 'OK')
  t.match(idle.message, /no token since\): the next token refetches it/)
  const fetches = server.state.fetches
  t.equal((await bearer(auth, token)).identity?.sub, 'alice')
  t.equal(server.state.fetches, fetches + 1, 'refetched for it')
})

t.test('without jwks_max_stale_seconds (the default) the last set keeps verifying while the IdP is down', async (t) => {
  const k1 = await keyPair('RS256', 'k1')
  const server = await idp(t, [k1.jwk])
  const auth = await open(t, { jwks_url: server.url, jwks_cache_seconds: 1, jwks_cooldown_seconds: 0 })
  const token = await k1.sign({ sub: 'alice' }, { exp: '2h' })
  t.equal((await bearer(auth, token)).identity?.sub, 'alice')
  server.state.down = true
  await new Promise((resolve) => setTimeout(resolve, 1200))
  const fresh = await k1.sign({ sub: 'bob' }, { exp: '2h' })
  t.equal((await bearer(auth, fresh)).identity?.sub, 'bob', 'a stale set still verifies')
  // The refetch it started runs in the background: wait for its failure to be reported.
  for (let i = 0; i < 500 && auth.status().status === 'OK'; i++) await new Promise((resolve) => setTimeout(resolve, 10))
  t.ok(server.state.fetches > 1, 'and a refetch was tried')
  t.match(auth.status().message, /using a JWKS fetched at/)
})

t.test('an oct JWK is an HMAC secret: the same 32-byte minimum as `secret`', async (t) => {
  for (const [k, what] of [['eA', '1 byte'], [Buffer.alloc(31, 7).toString('base64url'), '31 bytes']] as const) {
    await t.rejects(createAuthenticator(jwtConfig({ keys: [{ alg: 'HS256', jwk: { kty: 'oct', k } }] })), {
      code: 'BOUNCER_ERR_AUTH_CONFIG', message: /auth\.jwt\.keys\.0: HMAC secret \(jwk "k"\) for HS256 must be at least 32 bytes/,
    }, what)
  }
  await t.rejects(createAuthenticator(jwtConfig({ keys: [{ alg: 'HS256', secret: 'x' }] })), { message: /HMAC secret for HS256 must be at least 32 bytes/ })
  const bytes = new Uint8Array(Buffer.alloc(32, 7))
  const auth = await open(t, { keys: [{ alg: 'HS256', jwk: { kty: 'oct', k: Buffer.from(bytes).toString('base64url') } }] })
  t.equal((await bearer(auth, await signWith(bytes, 'HS256', { sub: 'alice' }))).identity?.sub, 'alice', '32 bytes are accepted')
})

t.test('a static key without kid beside a JWKS: JWKS tokens of the same alg still verify; other failures stay final', async (t) => {
  const st = await keyPair('RS256') // static, no kid
  const k1 = await keyPair('RS256', 'k1')
  const rogue = await keyPair('RS256', 'k1')
  const server = await idp(t, [k1.jwk])
  const auth = await open(t, { jwks_url: server.url, jwks_cooldown_seconds: 0, keys: [{ alg: 'RS256', pem: await exportSPKI(st.publicKey) }] })
  t.equal((await bearer(auth, await st.sign({ sub: 'static' }))).identity?.sub, 'static', 'static-key token')
  t.equal((await bearer(auth, await k1.sign({ sub: 'jwks' }))).identity?.sub, 'jwks', 'JWKS token with a kid')
  t.equal((await bearer(auth, await k1.sign({ sub: 'jwks' }, { kid: null }))).identity?.sub, 'jwks', 'JWKS token without a kid')
  t.same(await bearer(auth, await rogue.sign({ sub: 'x' })), { error: 'invalid_signature' }, 'neither key signed it')
  t.same(await bearer(auth, await rogue.sign({ sub: 'x' }, { kid: 'k-unknown' })), { error: 'invalid_signature' }, 'an unknown kid: still the static key\'s answer')
  t.same(await bearer(auth, await k1.sign({ sub: 'x' }, { exp: Math.floor(Date.now() / 1000) - 3600 })), { error: 'expired' }, 'an expired JWKS token is expired')

  // The static key signed it, so its verdict is final: no JWKS lookup that could answer otherwise.
  const f0 = server.state.fetches
  t.same(await bearer(auth, await st.sign({ sub: 'x' }, { exp: Math.floor(Date.now() / 1000) - 3600, kid: 'k-unknown' })), { error: 'expired' }, 'expired static-key token')
  t.equal(server.state.fetches, f0, 'not retried against the JWKS (no unknown-kid refetch)')
})

t.test('several JWKS keys match a token: the one whose signature verifies is used, up to a few', async (t) => {
  // Two kid-less keys of one type (an IdP rotating without kids) or one kid listed twice: jose
  // reports both as candidates. Every such token was unknown_key.
  const one = await keyPair('ES256')
  const two = await keyPair('ES256')
  const outsider = await keyPair('ES256')
  const { url } = await idp(t, [one.jwk, two.jwk])
  const auth = await open(t, { jwks_url: url })
  t.same((await bearer(auth, await one.sign({ sub: 'one' }))).identity?.sub, 'one', 'signed by the first candidate')
  t.same((await bearer(auth, await two.sign({ sub: 'two' }))).identity?.sub, 'two', 'signed by the second candidate')
  t.equal((await bearer(auth, await outsider.sign({ sub: 'x' }))).error, 'invalid_signature', 'signed by neither: refused')
  const expired = await bearer(auth, await two.sign({ sub: 'late' }, { exp: Math.floor(Date.now() / 1000) - 3600 }))
  t.equal(expired.error, 'expired', 'a candidate that verifies the signature decides the claims')

  const dup = await keyPair('RS256', 'rot')
  const other = await keyPair('RS256', 'rot')
  const { url: url2 } = await idp(t, [other.jwk, dup.jwk])
  const auth2 = await open(t, { jwks_url: url2 })
  t.same((await bearer(auth2, await dup.sign({ sub: 'dup' }))).identity?.sub, 'dup', 'a kid listed twice: the key that verifies')
})

t.test('a static key that cannot verify a token of its alg is refused at start, naming the key', async (t) => {
  // Accepted before, it answered every token with a 401 (an oct JWK declared RS256), or put a
  // private key in the configuration (a private JWK verifies as its public half).
  const ec = await generateKeyPair('ES256', { extractable: true })
  const refused = async (key: Record<string, unknown>): Promise<string> => {
    try { await (await createAuthenticator(jwtConfig({ keys: [key] })))?.close(); return 'accepted' } catch (e) { return (e as Error).message }
  }
  t.match(await refused({ alg: 'RS256', jwk: { kty: 'oct', k: Buffer.alloc(40, 1).toString('base64url') } }), /auth\.jwt\.keys\.0: RS256 needs a public key .*not a shared secret/)
  t.match(await refused({ alg: 'ES256', jwk: await exportJWK(ec.privateKey) }), /auth\.jwt\.keys\.0: the key for ES256 is a private key; give the public key only/)
  t.equal(await refused({ alg: 'ES256', jwk: await exportJWK(ec.publicKey) }), 'accepted')
  t.equal(await refused({ alg: 'ES256', pem: await exportSPKI(ec.publicKey) }), 'accepted')
})

t.test('required_claims: a token without exp is refused by default; [] accepts it; other claims can be required', async (t) => {
  const key = new TextEncoder().encode(SECRET)
  const noExp = await new SignJWT({ sub: 'alice' }).setProtectedHeader({ alg: 'HS256' }).sign(key)
  const withExp = await new SignJWT({ sub: 'alice' }).setProtectedHeader({ alg: 'HS256' }).setExpirationTime('5m').sign(key)
  const strict = await open(t, { keys: [{ alg: 'HS256', secret: SECRET }] })
  t.same(await bearer(strict, noExp), { error: 'invalid_claims' }, 'no exp: a token that never expires is refused by default')
  t.equal((await bearer(strict, withExp)).identity?.sub, 'alice')
  const lax = await open(t, { keys: [{ alg: 'HS256', secret: SECRET }], required_claims: [] })
  t.equal((await bearer(lax, noExp)).identity?.sub, 'alice', 'required_claims: [] accepts it')
  const jti = await open(t, { keys: [{ alg: 'HS256', secret: SECRET }], required_claims: ['exp', 'jti'] })
  t.same(await bearer(jti, withExp), { error: 'invalid_claims' }, 'a required jti is missing')
  const withJti = await new SignJWT({ sub: 'alice' }).setProtectedHeader({ alg: 'HS256' }).setJti('j1').setExpirationTime('5m').sign(key)
  t.equal((await bearer(jti, withJti)).identity?.jti, 'j1')
  t.throws(() => jwtConfig({ keys: [{ alg: 'HS256', secret: SECRET }], required_claims: ['exp', 'exp'] }), /required_claims/, 'a repeated claim is a config error')
  const nbf = await open(t, { keys: [{ alg: 'HS256', secret: SECRET }], required_claims: ['exp', 'nbf'] })
  t.same(await bearer(nbf, withExp), { error: 'invalid_claims' }, 'a missing nbf is a missing claim, not a token from the future')
  const future = await new SignJWT({ sub: 'alice' }).setProtectedHeader({ alg: 'HS256' }).setNotBefore('1h').setExpirationTime('2h').sign(key)
  t.same(await bearer(nbf, future), { error: 'not_yet_valid' }, 'an nbf in the future still is')
})

t.test('aud (RFC 7519 §4.1.3, as OPA\'s io.jwt.decode_verify): with no audience configured, a token naming one is refused; with one, only tokens naming it', async (t) => {
  const key = new TextEncoder().encode(SECRET)
  const withAud = (aud?: string | string[]) => new SignJWT({ sub: 'alice', ...(aud === undefined ? {} : { aud }) }).setProtectedHeader({ alg: 'HS256' }).setExpirationTime('5m').sign(key)
  const none = await open(t, { keys: [{ alg: 'HS256', secret: SECRET }] })
  t.same(await bearer(none, await withAud('https://another-api.example')), { error: 'invalid_claims' }, 'another API\'s access token is no identity here')
  t.same(await bearer(none, await withAud(['spa-client-id'])), { error: 'invalid_claims' }, 'nor a client\'s ID token')
  const noAud = await withAud()
  t.equal((await bearer(none, noAud)).identity?.sub, 'alice', 'a token naming no audience is accepted')
  t.equal((await bearer(none, noAud)).identity?.sub, 'alice', 'also from the token cache')
  const ours = await open(t, { keys: [{ alg: 'HS256', secret: SECRET }], audience: 'https://api.example' })
  t.equal((await bearer(ours, await withAud(['https://other', 'https://api.example']))).identity?.sub, 'alice', 'an audience list naming us')
  t.same(await bearer(ours, await withAud('https://other')), { error: 'invalid_claims' })
  t.same(await bearer(ours, noAud), { error: 'invalid_claims' }, 'with an audience configured, a token must name it')
})

t.test('typ: only tokens whose header names the required type verify (an ID token of the same issuer is refused)', async (t) => {
  const key = new TextEncoder().encode(SECRET)
  const typed = (typ?: string) => new SignJWT({ sub: 'alice' }).setProtectedHeader({ alg: 'HS256', ...(typ === undefined ? {} : { typ }) }).setExpirationTime('5m').sign(key)
  const auth = await open(t, { keys: [{ alg: 'HS256', secret: SECRET }], typ: 'at+jwt' })
  t.equal((await bearer(auth, await typed('at+jwt'))).identity?.sub, 'alice')
  t.equal((await bearer(auth, await typed('application/at+jwt'))).identity?.sub, 'alice', 'the media-type spelling of the same type (RFC 7515 §4.1.9)')
  t.same(await bearer(auth, await typed('JWT')), { error: 'invalid_claims' }, 'an ID token (typ JWT) is refused')
  t.same(await bearer(auth, await typed()), { error: 'invalid_claims' }, 'no typ is refused')
  const any = await open(t, { keys: [{ alg: 'HS256', secret: SECRET }] })
  t.equal((await bearer(any, await typed('JWT'))).identity?.sub, 'alice', 'unset: any typ')
})

t.test('static keys in rotation (review, session 53): several of one alg without kid, and kids inside pasted JWKs, verify the tokens each signs', async (t) => {
  const OLD = 'the-old-secret-of-at-least-thirty-two-bytes!'
  const NEW = 'the-new-secret-of-at-least-thirty-two-bytes!'
  const hs = await open(t, { keys: [{ alg: 'HS256', secret: OLD }, { alg: 'HS256', secret: NEW }] })
  const enc = (s: string) => new TextEncoder().encode(s)
  t.equal((await bearer(hs, await signWith(enc(OLD), 'HS256', { sub: 'old' }))).identity?.sub, 'old', 'signed with the old secret')
  t.equal((await bearer(hs, await signWith(enc(NEW), 'HS256', { sub: 'new' }))).identity?.sub, 'new', 'signed with the new secret')
  t.equal((await bearer(hs, await signWith(enc('a-third-secret-of-at-least-thirty-two-bytes'), 'HS256', { sub: 'x' }))).error, 'invalid_signature', 'neither: refused')
  const expired = await bearer(hs, await signWith(enc(NEW), 'HS256', { sub: 'late' }, Math.floor(Date.now() / 1000) - 3600))
  t.equal(expired.error, 'expired', 'the key that verifies decides the claims')

  const a = await keyPair('ES256', 'a')
  const b = await keyPair('ES256', 'b')
  const pasted = await open(t, { keys: [{ alg: 'ES256', jwk: a.jwk }, { alg: 'ES256', jwk: b.jwk }] })
  t.equal((await bearer(pasted, await a.sign({ sub: 'a' }))).identity?.sub, 'a', 'kid a, from inside its JWK')
  t.equal((await bearer(pasted, await b.sign({ sub: 'b' }))).identity?.sub, 'b', 'kid b')
})

t.test('the token is cut out of its header at spaces and tabs only: an NBSP or a BOM beside it is part of what the upstream gets, so no token', async (t) => {
  const auth = await open(t, { keys: [{ alg: 'HS256', secret: SECRET }] })
  const token = await signWith(new TextEncoder().encode(SECRET), 'HS256', { sub: 'alice' })
  t.equal((await auth.authenticate({ authorization: `Bearer  ${token}\t` })).identity?.sub, 'alice', 'spaces and a tab around it: fine')
  t.equal((await auth.authenticate({ authorization: `Bearer ${token}\u00a0` })).error, 'malformed_token', 'a trailing NBSP')
  t.equal((await auth.authenticate({ authorization: `Bearer \ufeff${token}` })).error, 'malformed_token', 'a leading BOM')
})

t.test('a JWKS key that cannot be used is one bad key among the candidates: the next is tried', async (t) => {
  const good = await keyPair('RS256')
  const bad = { kty: 'RSA', n: 'AQAB', e: 'AQAB' } as JWK // an RSA key of 17 bits: refused at import
  const { url } = await idp(t, [bad, good.jwk])
  const auth = await open(t, { jwks_url: url })
  t.equal((await bearer(auth, await good.sign({ sub: 'good' }))).identity?.sub, 'good')
})

t.test('a token without kid is tried against every static key without kid the config allows, keys with a kid after them', async (t) => {
  const secret = (i: number) => `rotation-secret-number-${i}-of-thirty-two-bytes`
  const keys = [{ alg: 'HS256', kid: 'named', secret: secret(99) }, ...Array.from({ length: 8 }, (_, i) => ({ alg: 'HS256', secret: secret(i) }))]
  const auth = await open(t, { keys })
  const enc = (s: string) => new TextEncoder().encode(s)
  t.equal((await bearer(auth, await signWith(enc(secret(7)), 'HS256', { sub: 'k7' }))).identity?.sub, 'k7', 'the eighth key without kid, behind one with a kid')
})
