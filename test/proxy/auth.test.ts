// Bearer JWT authentication: JWKS (fetched with undici, cached, refreshed on unknown kid) and
// static keys. Verified claims → input.identity; otherwise input.identity_error.
import t from 'tap'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { request } from 'undici'
import { SignJWT, exportJWK, exportSPKI, generateKeyPair, type JWK, type CryptoKey } from 'jose'
import { startBouncer, startUpstream, memoryLogger } from '../helpers/index.js'

const POLICY = `package bouncer

default decision := {"allow": false, "status": 401, "body": {"error": "unauthenticated"}}

decision := {"allow": true, "headers": {"x-sub": input.identity.sub}} if input.identity.sub == "alice"

decision := {"allow": false, "status": 403, "body": {"error": "not alice"}} if {
  input.identity.sub
  input.identity.sub != "alice"
}

decision := {"allow": false, "status": 401, "body": {"error": input.identity_error}} if input.identity_error
`

async function keyPair (alg: string, kid: string) {
  const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true })
  const jwk = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' }
  return { publicKey, privateKey, jwk, kid, alg }
}

function sign (key: { privateKey: CryptoKey; kid: string; alg: string }, claims: Record<string, unknown>, opts: { exp?: string | number; aud?: string; iss?: string; kid?: string } = {}) {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: key.alg, kid: opts.kid ?? key.kid })
    .setIssuedAt()
    .setIssuer(opts.iss ?? 'https://idp.test')
    .setAudience(opts.aud ?? 'bouncer')
    .setExpirationTime(opts.exp ?? '5m')
    .sign(key.privateKey)
}

t.test('JWKS', async (t) => {
  const k1 = await keyPair('RS256', 'k1')
  const k2 = await keyPair('ES256', 'k2')
  const rogue = await keyPair('RS256', 'k1') // same kid, different key
  let keys: JWK[] = [k1.jwk]
  let fetches = 0
  const idp = createServer((req, res) => {
    fetches++
    res.writeHead(200, { 'content-type': 'application/json' })
    res.end(JSON.stringify({ keys }))
  })
  await new Promise<void>((r) => idp.listen(0, '127.0.0.1', () => r()))
  const jwksUrl = `http://127.0.0.1:${(idp.address() as AddressInfo).port}/jwks`
  const up = await startUpstream()
  const mem = memoryLogger()
  const b = await startBouncer({
    upstream: up.url,
    rego: { 'p.rego': POLICY },
    config: { auth: { jwt: { enabled: true, jwks_url: jwksUrl, issuer: 'https://idp.test', audience: 'bouncer', jwks_cooldown_seconds: 0.2 } } },
    deps: { logger: mem.logger },
  })
  t.teardown(async () => { await b.close(); await up.close(); await new Promise((r) => idp.close(r)) })
  const call = async (authorization?: string) => {
    const r = await request(`${b.url}/x`, { headers: authorization ? { authorization } : {} })
    const text = await r.body.text()
    return { status: r.statusCode, body: text ? JSON.parse(text) : undefined }
  }

  const alice = await sign(k1, { sub: 'alice', roles: ['admin'] })
  const ok = await call(`Bearer ${alice}`)
  t.equal(ok.status, 200)
  t.equal(up.requests.at(-1)?.headers['x-sub'], 'alice', 'claims reached the policy')
  t.equal(up.requests.at(-1)?.headers.authorization, `Bearer ${alice}`, 'the token is forwarded unchanged')
  t.equal((await call(`bearer ${alice}`)).status, 200, 'scheme is case-insensitive')
  t.equal((await call(`Bearer ${await sign(k1, { sub: 'bob' })}`)).status, 403)

  const cases: [string | undefined, string][] = [
    [undefined, 'missing'],
    ['Basic YWxpY2U6eA==', 'malformed_header'],
    ['Bearer', 'malformed_header'],
    ['Bearer not.a.jwt', 'malformed_token'],
    [`Bearer ${await sign(k1, { sub: 'alice' }, { exp: Math.floor(Date.now() / 1000) - 3600 })}`, 'expired'],
    [`Bearer ${await sign(k1, { sub: 'alice' }, { aud: 'someone-else' })}`, 'invalid_claims'],
    [`Bearer ${await sign(k1, { sub: 'alice' }, { iss: 'https://evil.test' })}`, 'invalid_claims'],
    [`Bearer ${await sign(rogue, { sub: 'alice' })}`, 'invalid_signature'],
    [`Bearer ${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${Buffer.from('{"sub":"alice","aud":"bouncer","iss":"https://idp.test"}').toString('base64url')}.`, 'algorithm_not_allowed'],
  ]
  for (const [header, code] of cases) {
    const r = await call(header)
    t.equal(r.status, 401, `${code} → 401`)
    t.same(r.body, { error: code }, `identity_error is ${code}`)
  }

  // Key rotation: a token signed with a kid the cached JWKS does not know triggers a refetch.
  const before = fetches
  const carolToken = await sign(k2, { sub: 'alice' })
  t.same((await call(`Bearer ${carolToken}`)).body, { error: 'unknown_key' }, 'not yet published')
  keys = [k1.jwk, k2.jwk]
  await new Promise((r) => setTimeout(r, 250)) // cooldown
  t.equal((await call(`Bearer ${carolToken}`)).status, 200, 'refetched on unknown kid')
  t.ok(fetches - before <= 2, `refetches bounded (${fetches - before})`)
  // Unknown kids within the cooldown do not hit the IdP again.
  const stranger = await keyPair('RS256', 'k-unknown')
  const f0 = fetches
  for (let i = 0; i < 5; i++) await call(`Bearer ${await sign(stranger, { sub: 'alice' })}`)
  t.ok(fetches - f0 <= 1, 'unknown kids are rate-limited')

  t.notMatch(mem.text(), new RegExp(alice.slice(-20)), 'tokens never appear in logs')
  const m = await (await request(`${b.adminUrl}/metrics`)).body.text()
  t.match(m, /bouncer_auth_results_total\{result="verified"\} \d+/)
  t.match(m, /bouncer_auth_results_total\{result="expired"\} 1/)
  const ready = await (await request(`${b.adminUrl}/readyz`)).body.json() as { components: Record<string, { status: string }> }
  t.equal(ready.components.auth.status, 'OK')
})

t.test('JWKS unavailable', async (t) => {
  const up = await startUpstream()
  const b = await startBouncer({
    upstream: up.url, rego: { 'p.rego': POLICY },
    config: { auth: { jwt: { enabled: true, jwks_url: 'http://127.0.0.1:1/jwks', jwks_timeout_seconds: 0.5 } } },
  })
  t.teardown(async () => { await b.close(); await up.close() })
  const k = await keyPair('RS256', 'k1')
  const r = await request(`${b.url}/x`, { headers: { authorization: `Bearer ${await sign(k, { sub: 'alice' })}` } })
  t.equal(r.statusCode, 401)
  t.same(await r.body.json(), { error: 'jwks_unavailable' })
  const ready = await request(`${b.adminUrl}/readyz`)
  t.equal(ready.statusCode, 200, 'auth trouble degrades, it does not fail readiness')
  t.match(await ready.body.json(), { status: 'degraded', components: { auth: { status: 'WARN' } } })
})

t.test('static keys', async (t) => {
  const es = await keyPair('ES256', 'es')
  const secret = 'a-very-long-shared-secret-of-32+bytes!!'
  const up = await startUpstream()
  const b = await startBouncer({
    upstream: up.url, rego: { 'p.rego': POLICY },
    config: { auth: { jwt: { enabled: true, keys: [{ kid: 'es', alg: 'ES256', pem: await exportSPKI(es.publicKey) }, { alg: 'HS256', secret }], audience: 'bouncer' } } },
  })
  t.teardown(async () => { await b.close(); await up.close() })
  const hs = await new SignJWT({ sub: 'alice' }).setProtectedHeader({ alg: 'HS256' }).setIssuedAt().setAudience('bouncer').setExpirationTime('5m').sign(new TextEncoder().encode(secret))
  for (const token of [await sign(es, { sub: 'alice' }), hs]) {
    const r = await request(`${b.url}/x`, { headers: { authorization: `Bearer ${token}` } })
    t.equal(r.statusCode, 200)
    await r.body.dump()
  }
  // RS/HS confusion: an HS256 token signed with the ES public key as the secret is refused.
  const confused = await new SignJWT({ sub: 'alice' }).setProtectedHeader({ alg: 'HS256', kid: 'es' }).setExpirationTime('5m')
    .sign(new TextEncoder().encode(await exportSPKI(es.publicKey)))
  const r = await request(`${b.url}/x`, { headers: { authorization: `Bearer ${confused}` } })
  t.equal(r.statusCode, 401)
  await r.body.dump()
})
