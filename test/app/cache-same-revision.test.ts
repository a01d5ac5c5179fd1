// A revision is a label: a hotfix rebuilt under the same --revision, a pipeline that stamps
// "prod", or pods on one Redis running different bundles of one revision. Decision cache keys
// carry the policy's content digest too, so a policy never gets another policy's decisions
// from the shared Redis tier. Real redis-server, real compiled policies.
import t from 'tap'
import { request } from 'undici'
import { startBouncer, startUpstream, type StartedBouncer, redisReady } from '../helpers/index.js'
import { redisServerMissing, redisWithClient } from '../cache/fixtures/redis-server.js'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadPolicyFromBundle, loadPolicyFromRego } from '../../src/policy/load.js'
import { compileBundle } from '../../src/compiler/bundle/index.js'
import { readBundle } from '../../src/bundle/index.js'

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

t.test('pods that run one bundle with different evaluation options never share cached decisions', { skip: redisServerMissing() ?? false }, async (t) => {
  // units.parse_bytes of a bad header: undefined (the default allow) with lenient builtin errors,
  // a failure (fail closed) with strict ones. The same module bytes on both pods.
  const dir = mkdtempSync(join(tmpdir(), 'bouncer-strict-'))
  writeFileSync(join(dir, 'p.rego'), 'package bouncer\n\ndefault decision := {"allow": true}\n\ndecision := {"allow": false, "status": 403} if units.parse_bytes(input.attributes.request.http.headers["x-size"]) > 1000\n')
  const built = await compileBundle({ paths: [dir], entrypoints: ['bouncer/decision'], revision: 'v1' })
  const { url, raw } = await redisWithClient(t)
  const up = await startUpstream()
  t.teardown(() => up.close())
  const cache = { enabled: true, l1: { enabled: false }, ttl: { allow_seconds: 300, deny_seconds: 300 }, redis: { enabled: true, url, key_prefix: 'shared:' } }
  const lenient = await startBouncer({ upstream: up.url, noPolicy: true, rego: {}, config: { cache } })
  const strict = await startBouncer({ upstream: up.url, noPolicy: true, rego: {}, config: { cache, policy: { strict_builtin_errors: true } } })
  t.teardown(async () => { await lenient.close(); await strict.close() })
  for (const b of [lenient, strict]) {
    b.app.holder.activate(await loadPolicyFromBundle(await readBundle(built.tarGz), 'bouncer/decision', { ...b.app.policyOptions, source: 'test' }))
    await redisReady(b)
  }
  t.equal(lenient.app.holder.current!.contentDigest, strict.app.holder.current!.contentDigest, 'one module, one content digest')
  const get = async (b: StartedBouncer): Promise<number> => {
    const r = await request(`${b.url}/x`, { headers: { 'x-size': 'bogus' } })
    await r.body.dump()
    return r.statusCode
  }
  t.equal(await get(lenient), 200, 'lenient: the error is undefined, the default allows')
  let keys: string[] = []
  for (let i = 0; i < 100 && keys.length === 0; i++) { keys = await raw.keys('shared:*'); if (keys.length === 0) await new Promise((resolve) => setTimeout(resolve, 10)) }
  t.equal(keys.length, 1, 'the lenient pod\'s allow is in Redis')
  up.requests.length = 0
  t.not(await get(strict), 200, 'strict: fails closed, not served the lenient pod\'s allow from Redis')
  t.equal(up.requests.length, 0, 'nothing reached the upstream')
  t.equal(await redisHits(strict), 0)
})
