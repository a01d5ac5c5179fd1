// The decision cache never answers differently from the policy: bouncers with the shipped
// policy and JWT verification, with the decision cache (the in-process tier; or two bouncers
// sharing a Redis tier) and one without,
// get the same seeded random sequence of requests — callers with different roles and tenants,
// expired and forged tokens, no token, object-shaped roles, methods, routes, tenant headers —
// with many repeats, so most of the first bouncer's answers come from its cache. For every
// request both must answer the same status, and where the request is forwarded, the upstream
// must get the same identity headers from both. A cache key that missed something the policy
// reads would hand one caller's decision to another here (the class of Oathkeeper's
// CVE-2021-32701).
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { SignJWT } from 'jose'
import t from 'tap'
import { request } from 'undici'
import { rawRequest, startBouncer, startUpstream, type Upstream } from '../helpers/index.js'
import { redisServerMissing, startRedis } from '../cache/fixtures/redis-server.js'
import { tempDir } from '../decision-log/fixtures/control-plane.js'
import { prng } from '../helpers/random.js'

const POLICIES = fileURLToPath(new URL('../../policies', import.meta.url))
const SECRET = 'cache-coherence-test-secret-0123456789'

async function token (claims: Record<string, unknown>, opts: { expired?: boolean; key?: string } = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000)
  return await new SignJWT(claims).setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setIssuedAt(now - 600).setExpirationTime(opts.expired === true ? now - 300 : now + 3600)
    .sign(new TextEncoder().encode(opts.key ?? SECRET))
}

const PATHS = ['/v1/orders', '/v1/orders/1', '/v1/orders/2/', '/v1/customers', '/v1/customers/7', '/health', '/v1/products',
  '/v1/products/9', '/v1/admin', '/', '/v1/orders/1?x=1', '/v1/Orders/1', '/v1/customers/7/notes']
const METHODS = ['GET', 'GET', 'GET', 'HEAD', 'POST', 'PUT', 'DELETE']
const TENANTS = ['acme', 'acme', 'globex', undefined, 'ACME']

async function tokens (): Promise<Array<string | undefined>> {
  return [
    await token({ sub: 'alice', tenant: 'acme', roles: ['admin'] }),
    await token({ sub: 'bob', tenant: 'acme', roles: ['support'] }),
    await token({ sub: 'carol', tenant: 'globex', roles: ['viewer'] }),
    await token({ sub: 'dave', tenant: 'globex', roles: ['platform-admin', 'support'] }),
    await token({ sub: 'erin', tenant: 'acme', roles: { a: 'admin' } }),
    await token({ sub: 'frank', tenant: 'acme', roles: [] }),
    await token({ sub: 'alice', tenant: 'acme', roles: ['admin'] }, { expired: true }),
    await token({ sub: 'alice', tenant: 'acme', roles: ['admin'] }, { key: 'not-the-secret-not-the-secret-0000' }),
    undefined,
  ]
}

/**
 * Sends `count` requests drawn from 80 distinct ones (so most draws repeat an earlier request,
 * which a cached bouncer answers from its cache) to each of `cachedPorts` in turn and to the
 * uncached `directPort`; returns the differences (at most ten) and the statuses seen.
 */
async function compare (up: Upstream, cachedPorts: number[], directPort: number, seed: number, count: number) {
  const tks = await tokens()
  const rnd = prng(seed)
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!
  const distinct = Array.from({ length: 80 }, () => ({ method: pick(METHODS), path: pick(PATHS), tk: pick(tks), tenant: pick(TENANTS) }))
  const differences: string[] = []
  const statuses = new Map<number | undefined, number>()
  for (let i = 0; i < count && differences.length < 10; i++) {
    const { method, path, tk, tenant } = pick(distinct)
    const body = method === 'POST' || method === 'PUT'
    const head = ['Host: api.local', ...(tk !== undefined ? [`Authorization: Bearer ${tk}`] : []), ...(tenant !== undefined ? [`X-Tenant: ${tenant}`] : []),
      ...(body ? ['Content-Length: 2', 'Content-Type: application/json'] : []), 'Connection: close']
    const payload = `${method} ${path} HTTP/1.1\r\n${head.join('\r\n')}\r\n\r\n${body ? '{}' : ''}`
    const answer = async (port: number) => {
      up.requests.length = 0
      const r = await rawRequest(port, payload)
      const got = up.requests[0]
      return { status: r.status, subject: got?.headers['x-bouncer-subject'], tenant: got?.headers['x-bouncer-tenant'], forwarded: up.requests.length }
    }
    const b = await answer(directPort)
    statuses.set(b.status, (statuses.get(b.status) ?? 0) + 1)
    const who = `${method} ${path} as ${tk === undefined ? 'nobody' : `token ${tks.indexOf(tk)}`}, x-tenant ${tenant ?? '(none)'}`
    for (const port of cachedPorts) {
      const a = await answer(port)
      if (JSON.stringify(a) !== JSON.stringify(b)) differences.push(`${who}: with the cache (port ${port}) ${JSON.stringify(a)}, without ${JSON.stringify(b)}`)
    }
  }
  return { differences, statuses }
}

async function hitsOf (adminUrl: string, tier: string): Promise<number> {
  const metrics = await (await request(`${adminUrl}/metrics`)).body.text()
  return Number(new RegExp(`^bouncer_decision_cache_hits_total\\{tier="${tier}"\\} (\\d+)`, 'm').exec(metrics)?.[1] ?? 0)
}

const common = { auth: { jwt: { enabled: true, keys: [{ alg: 'HS256', secret: SECRET }] } } }

t.test('in-process cache: every request is answered as without the cache', async (t) => {
  const up = await startUpstream()
  const cached = await startBouncer({ upstream: up.url, policyPath: POLICIES, config: { ...common, cache: { enabled: true } } })
  const direct = await startBouncer({ upstream: up.url, policyPath: POLICIES, config: { ...common, cache: { enabled: false } } })
  t.teardown(async () => { await cached.close(); await direct.close(); await up.close() })
  const COUNT = 400
  const { differences, statuses } = await compare(up, [cached.port], direct.port, 0xcac4e, COUNT)
  t.same(differences, [], 'the cache never answers differently from the policy')
  // Allows, authentication failures and denials all occur (each cached in its own way).
  for (const st of [200, 401, 403]) t.ok((statuses.get(st) ?? 0) >= 20, `status ${st}: ${statuses.get(st) ?? 0} answers`)
  // Most answers of the cached bouncer came from its cache (else this proved nothing about it).
  const hits = await hitsOf(cached.adminUrl, 'memory')
  t.ok(hits >= COUNT / 2, `${hits} of ${COUNT} decisions were cache hits`)
})

t.test('shared Redis tier, two bouncers: every request is answered as without the cache', { skip: redisServerMissing() ?? false }, async (t) => {
  const redis = await startRedis()
  const up = await startUpstream()
  const key = join(tempDir(t), 'integrity.key')
  writeFileSync(key, 'a-shared-integrity-key-0123456789')
  // In-process tier off: every lookup goes to the Redis both bouncers share, so one bouncer's
  // decisions answer the other's requests.
  const shared = { ...common, cache: { enabled: true, l1: { enabled: false }, redis: { enabled: true, url: `redis://127.0.0.1:${redis.port}`, integrity_key_file: key } } }
  const one = await startBouncer({ upstream: up.url, policyPath: POLICIES, config: shared })
  const two = await startBouncer({ upstream: up.url, policyPath: POLICIES, config: shared })
  const direct = await startBouncer({ upstream: up.url, policyPath: POLICIES, config: { ...common, cache: { enabled: false } } })
  t.teardown(async () => { await one.close(); await two.close(); await direct.close(); await up.close(); await redis.stop() })
  const COUNT = 300
  const { differences } = await compare(up, [one.port, two.port], direct.port, 0xcac4f, COUNT)
  t.same(differences, [], 'the shared cache never answers differently from the policy')
  const hits = await hitsOf(one.adminUrl, 'redis') + await hitsOf(two.adminUrl, 'redis')
  t.ok(hits >= COUNT / 2, `${hits} of ${2 * COUNT} decisions were Redis hits`)
})
