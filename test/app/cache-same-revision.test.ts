// A revision is a label: a hotfix rebuilt under the same --revision, a pipeline that stamps
// "prod", or pods on one Redis running different bundles of one revision. Decision cache keys
// carry the policy's content digest too, so a policy never gets another policy's decisions
// from the shared Redis tier. Real redis-server, real compiled policies.
import t from 'tap'
import { request } from 'undici'
import { startBouncer, startUpstream, type StartedBouncer } from '../helpers/index.js'
import { redisServerMissing, redisWithClient } from '../cache/fixtures/redis-server.js'
import { loadPolicyFromRego } from '../../src/policy/load.js'

const ALLOW = 'package bouncer\n\ndecision := {"allow": true} if input.attributes.request.http.method == "GET"\n'
const DENY = 'package bouncer\n\ndecision := {"allow": false, "status": 403, "reason": "hotfix"} if input.attributes.request.http.method == "GET"\n'

async function activate (b: StartedBouncer, source: string, revision: string): Promise<void> {
  b.app.holder.activate(await loadPolicyFromRego([{ file: 'p.rego', source }], {}, 'bouncer/decision', { source: 'test', revision }, b.app.policyOptions))
}

async function status (b: StartedBouncer, path: string): Promise<number> {
  const r = await request(`${b.url}${path}`)
  await r.body.dump()
  return r.statusCode
}

async function redisHits (b: StartedBouncer): Promise<number> {
  const text = await (await request(`${b.adminUrl}/metrics`)).body.text()
  return Number(/bouncer_decision_cache_hits_total\{tier="redis"\} (\d+)/.exec(text)?.[1] ?? 0)
}

async function redisReady (b: StartedBouncer): Promise<void> {
  const until = Date.now() + 5000
  while ((b.app.health.readiness().components.cache as { redis?: string } | undefined)?.redis !== 'ok') {
    if (Date.now() > until) throw new Error('Redis tier not usable within 5 s')
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

t.test('two policies with one revision never share cached decisions', { skip: redisServerMissing() ?? false }, async (t) => {
  const { url, raw } = await redisWithClient(t)
  const up = await startUpstream()
  t.teardown(() => up.close())
  // Two pods on one Redis (same key prefix); the in-process tier off, so every hit is Redis's.
  const config = { cache: { enabled: true, l1: { enabled: false }, ttl: { allow_seconds: 300, deny_seconds: 300 }, redis: { enabled: true, url, key_prefix: 'shared:' } } }
  const a = await startBouncer({ upstream: up.url, rego: { 'p.rego': ALLOW }, noPolicy: true, config })
  const b = await startBouncer({ upstream: up.url, rego: { 'p.rego': DENY }, noPolicy: true, config })
  t.teardown(async () => { await a.close(); await b.close() })
  await activate(a, ALLOW, 'v1')
  await activate(b, DENY, 'v1')
  await redisReady(a)
  await redisReady(b)

  t.equal(await status(a, '/orders/1'), 200, 'pod A allows')
  let keys: string[] = []
  for (let i = 0; i < 100 && keys.length === 0; i++) { keys = await raw.keys('shared:*'); if (keys.length === 0) await new Promise((resolve) => setTimeout(resolve, 10)) }
  t.equal(keys.length, 1, 'A\'s allow is in Redis')
  up.requests.length = 0
  t.equal(await status(b, '/orders/1'), 403, 'pod B, another policy under the same revision, decides for itself')
  t.equal(await redisHits(b), 0, 'B never read A\'s entry')

  // A hotfix rebuilt under the same revision on pod A: A's own allow in Redis is not served.
  await activate(a, DENY, 'v1')
  t.equal(await status(a, '/orders/1'), 403, 'the hotfix applies at once, not after the cached allow\'s TTL')
  t.equal(up.requests.length, 0, 'nothing reached the upstream after the hotfix')

  // The same content under the same revision is the same policy: its entries are shared.
  await activate(a, ALLOW, 'v1')
  const before = await redisHits(a)
  t.equal(await status(a, '/orders/1'), 200)
  t.equal(await redisHits(a), before + 1, 'identical content reuses its cached decision (the digest is stable)')
})
