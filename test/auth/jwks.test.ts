// RemoteJwks against a local JWKS server, on an injected clock (no waiting): the stale set
// keeps serving through an IdP outage, refetches are at most one per cooldown counted from the
// last attempt (stale refresh, unknown kid, no set yet), and oversized answers are refused.
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import t, { type Test } from 'tap'
import { SignJWT, exportJWK, generateKeyPair, jwtVerify, type JWK } from 'jose'
import { RemoteJwks } from '../../src/auth/jwks.js'

async function idp (t: Test) {
  const state = { keys: [] as JWK[], status: 200, body: undefined as string | undefined, fetches: 0 }
  const server = createServer((_req, res) => {
    state.fetches++
    res.writeHead(state.status, { 'content-type': 'application/json' })
    res.end(state.body ?? JSON.stringify({ keys: state.keys }))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())))
  return { state, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks` }
}

async function key (kid: string) {
  const { publicKey, privateKey } = await generateKeyPair('ES256', { extractable: true })
  return { kid, jwk: { ...(await exportJWK(publicKey)), kid, alg: 'ES256' }, sign: (sub: string) => new SignJWT({ sub }).setProtectedHeader({ alg: 'ES256', kid }).setExpirationTime('5m').sign(privateKey) }
}

function setup (url: string) {
  let now = 1_000_000
  const outcomes: string[] = []
  let notify: (() => void) | undefined
  const jwks = new RemoteJwks({
    url, maxAgeMs: 60_000, cooldownMs: 10_000, timeoutMs: 2000, now: () => now,
    onFetch: (o) => { outcomes.push(o); notify?.() },
  })
  /** Resolves when the next fetch has finished (a background refresh has no promise of its own). */
  const nextFetch = () => new Promise<void>((resolve) => { notify = () => { notify = undefined; resolve() } })
  return { jwks, outcomes, nextFetch, advance: (ms: number) => { now += ms } }
}

t.test('a stale set keeps serving through an IdP outage; refetches at most once per cooldown', async (t) => {
  const s = await idp(t)
  const k1 = await key('k1')
  s.state.keys = [k1.jwk]
  const { jwks, outcomes, nextFetch, advance } = setup(s.url)
  const token = await k1.sign('alice')
  t.equal((await jwtVerify(token, await jwks.resolver())).payload.sub, 'alice')
  t.equal(s.state.fetches, 1)

  s.state.status = 503
  advance(61_000) // stale
  const failed = nextFetch()
  t.equal((await jwtVerify(token, await jwks.resolver())).payload.sub, 'alice', 'stale set answers at once')
  await failed
  t.same(outcomes, ['ok', 'error'], 'one background refresh, failed')
  for (let i = 0; i < 5; i++) t.equal((await jwtVerify(token, await jwks.resolver())).payload.sub, 'alice')
  t.equal(s.state.fetches, 2, 'no refetch within the cooldown, however many requests')
  t.match(jwks.lastError, { code: 'BOUNCER_ERR_AUTH_JWKS_FETCH' }, 'the failure is reported (status)')

  advance(10_000) // cooldown over
  s.state.status = 200
  const ok = nextFetch()
  await jwks.resolver()
  await ok
  t.equal(s.state.fetches, 3, 'next attempt after the cooldown')
  t.equal(jwks.lastError, undefined, 'recovered')
})

t.test('unknown kid: one refetch, then none within the cooldown', async (t) => {
  const s = await idp(t)
  const [k1, k2] = [await key('k1'), await key('k2')]
  s.state.keys = [k1.jwk]
  const { jwks, advance } = setup(s.url)
  await jwks.resolver()
  advance(20_000)
  s.state.keys = [k1.jwk, k2.jwk]
  t.equal(await jwks.refreshForUnknownKey(), true, 'refetched for the new kid')
  t.equal((await jwtVerify(await k2.sign('bob'), await jwks.resolver())).payload.sub, 'bob')
  t.equal(await jwks.refreshForUnknownKey(), false, 'not again within the cooldown')
  t.equal(s.state.fetches, 2)
})

t.test('no set yet and the IdP down: fails at once within the cooldown', async (t) => {
  const s = await idp(t)
  s.state.status = 500
  const { jwks, advance } = setup(s.url)
  await t.rejects(jwks.resolver(), { code: 'BOUNCER_ERR_AUTH_JWKS_FETCH' })
  await t.rejects(jwks.resolver(), { code: 'BOUNCER_ERR_AUTH_JWKS_FETCH' })
  t.equal(s.state.fetches, 1, 'the second request did not refetch')
  advance(10_000)
  await t.rejects(jwks.resolver())
  t.equal(s.state.fetches, 2)
})

t.test('responses: size limit, not a JWK set', async (t) => {
  const s = await idp(t)
  s.state.body = JSON.stringify({ keys: [], pad: 'x'.repeat(2 * 1024 * 1024) })
  const { jwks } = setup(s.url)
  await t.rejects(jwks.refresh(), { message: /larger than 1048576 bytes/ })
  s.state.body = '{"nokeys": true}'
  await t.rejects(jwks.refresh(), { message: /not a JWK set/ })
})

t.test('generation: counts changed key sets, not fetches; the resolver and its generation come together', async (t) => {
  const s = await idp(t)
  const [k1, k2] = [await key('k1'), await key('k2')]
  s.state.keys = [k1.jwk, k2.jwk]
  const { jwks } = setup(s.url)
  t.equal(jwks.generation, 0, 'no set yet')
  const first = await jwks.current()
  t.equal(first.generation, 1)
  await jwks.refresh()
  t.equal(jwks.generation, 1, 'the same keys again: same generation')
  s.state.keys = [k1.jwk]
  await jwks.refresh()
  t.equal(jwks.generation, 2, 'k2 removed: a new generation')
  const second = await jwks.current()
  t.equal(second.generation, 2)
  await t.rejects(jwtVerify(await k2.sign('bob'), second.resolver), { code: 'ERR_JWKS_NO_MATCHING_KEY' }, 'generation 2 has no k2')
  t.equal((await jwtVerify(await k2.sign('bob'), first.resolver)).payload.sub, 'bob', 'generation 1 did')
  s.state.status = 503
  await t.rejects(jwks.refresh())
  t.equal(jwks.generation, 2, 'a failed fetch keeps the set and its generation')
})

t.test('maxStaleMs: a refresh that failed just before expiry is retried at expiry, not a cooldown later; then the cooldown holds', async (t) => {
  // Review, session 54: refreshes start on demand, so the first can fail within a cooldown of
  // expiry; a recovered IdP was then not asked until the cooldown ended, refusing every token.
  const s = await idp(t)
  const k1 = await key('k1')
  s.state.keys = [k1.jwk]
  let now = 1_000_000
  let done: (() => void) | undefined
  const jwks = new RemoteJwks({ url: s.url, maxAgeMs: 300_000, cooldownMs: 10_000, timeoutMs: 2000, maxStaleMs: 316_000, now: () => now, onFetch: () => { done?.() } })
  const token = await k1.sign('alice')
  t.equal((await jwtVerify(token, await jwks.resolver())).payload.sub, 'alice')

  now += 310_000 // stale: the background refresh fails (an IdP blip)
  s.state.status = 503
  const failed = new Promise<void>((resolve) => { done = resolve })
  t.equal((await jwtVerify(token, await jwks.resolver())).payload.sub, 'alice', 'a stale set still serves')
  await failed
  await new Promise((resolve) => setImmediate(resolve)) // the failed fetch settles (its onFetch came first)
  t.equal(s.state.fetches, 2)

  s.state.status = 200 // recovered
  now += 7_000 // expired (316 s), 7 s after the failed attempt: within its cooldown
  t.equal(jwks.expired, true)
  t.equal((await jwtVerify(token, await jwks.resolver())).payload.sub, 'alice', 'refetched at expiry, and served')
  t.equal(s.state.fetches, 3)

  // Past the limit again with the IdP down: one attempt at expiry, then none within its cooldown.
  now += 317_000
  s.state.status = 503
  await t.rejects(jwks.resolver(), { code: 'BOUNCER_ERR_AUTH_JWKS_FETCH' }, 'expired, the attempt at expiry fails')
  t.equal(s.state.fetches, 4)
  now += 1_000
  await t.rejects(jwks.resolver(), { code: 'BOUNCER_ERR_AUTH_JWKS_FETCH' })
  t.equal(s.state.fetches, 4, 'no refetch within the cooldown')
})
