// The seams to components written elsewhere: decision cache, decision logger, masker.
import t from 'tap'
import { request } from 'undici'
import { gzipSync } from 'node:zlib'
import { startBouncer, startUpstream } from '../helpers/index.js'
import type { DecisionCache, DecisionLogger, DecisionEventInput } from '../../src/index.js'
import { loadPolicyFromRego } from '../../src/policy/load.js'
import { compileMaskRules, maskUpstreamResponse } from '../../src/masking/index.js'

class MapCache implements DecisionCache {
  store = new Map<string, { result: unknown; ttl: number }>()
  gets = 0
  async get (key: string) { this.gets++; const e = this.store.get(key); return e ? { decision: e.result } : undefined }
  set (key: string, result: unknown, ttl: number) { this.store.set(key, { result, ttl }) }
}

const CACHE_POLICY = `package bouncer

decision := {"allow": true, "reason": "cached"} if input.parsed_path[0] == "a"
decision := {"allow": true, "cache_ttl": 0} if input.parsed_path[0] == "never"
decision := {"allow": false, "cache_ttl": 30} if input.parsed_path[0] == "deny30"
decision := {"allow": input.attributes.request.http.headers["x-user"] == "alice"} if input.parsed_path[0] == "user"
`

t.test('decision cache: lookup before evaluation, store after, keyed by what the policy reads', async (t) => {
  const up = await startUpstream()
  const cache = new MapCache()
  const b = await startBouncer({ upstream: up.url, rego: { 'p.rego': CACHE_POLICY }, deps: { cache }, config: { cache: { ttl: { allow_seconds: 60, deny_seconds: 10 } } } })
  t.teardown(async () => { await b.close(); await up.close() })
  const evals = async () => Number(/bouncer_policy_eval_duration_seconds_count (\d+)/.exec(await (await request(`${b.adminUrl}/metrics`)).body.text())![1])
  const get = async (path: string, headers: Record<string, string> = {}) => { const r = await request(`${b.url}${path}`, { headers }); await r.body.dump(); return r.statusCode }

  t.equal(await get('/a'), 200)
  t.equal(cache.store.size, 1)
  t.equal([...cache.store.values()][0].ttl, 60, 'default allow TTL')
  const e1 = await evals()
  t.equal(await get('/a', { 'x-noise': String(Math.random()) }), 200)
  t.equal(await evals(), e1, 'hit: no evaluation (a header the policy never reads does not change the key)')

  t.equal(await get('/never'), 200)
  t.equal(cache.store.size, 1, 'cache_ttl 0 is never stored')
  t.equal(await get('/deny30'), 403)
  t.equal([...cache.store.values()].at(-1)!.ttl, 30, "the decision's cache_ttl wins")

  t.equal(await get('/user', { 'x-user': 'alice' }), 200)
  t.equal(await get('/user', { 'x-user': 'mallory' }), 403, 'a field the policy reads changes the key')

  const before = cache.store.size
  b.app.holder.activate(await loadPolicyFromRego([{ file: 'p.rego', source: CACHE_POLICY + '\n# v2\n' }], {}, 'bouncer/decision', { source: 'v2', revision: 'v2' }))
  t.equal(await get('/a'), 200)
  t.equal(cache.store.size, before + 1, 'a new revision never reuses old keys')
})

// A two-tier cache that counts which lookups the engine makes. Entries are deep-frozen like
// src/cache's, so the engine may reuse what it derived from them.
class TwoTierCache implements DecisionCache {
  memory = new Map<string, { decision: unknown }>()
  calls = { getMemory: 0, getRemote: 0, get: 0, clearMemory: 0 }
  constructor (readonly tiers: { memory: boolean; redis: boolean }) {}
  getMemory (key: string) { this.calls.getMemory++; return this.memory.get(key) }
  async getRemote (_key: string) { this.calls.getRemote++; return undefined }
  async get (key: string) { this.calls.get++; return this.memory.get(key) }
  set (key: string, decision: unknown) { this.memory.set(key, { decision: deepFreeze(structuredClone(decision)) }) }
  clearMemory () { this.calls.clearMemory++; this.memory.clear() }
}
function deepFreeze<T> (v: T): T {
  if (v !== null && typeof v === 'object') { Object.freeze(v); for (const x of Object.values(v)) deepFreeze(x) }
  return v
}

t.test('decision cache fast path: a memory hit is synchronous; a cached decision is validated and its masks compiled once', async (t) => {
  const up = await startUpstream()
  up.handle = (_req, res) => { res.writeHead(200, { 'content-type': 'application/json' }); res.end('{"ssn":"123-45-6789","name":"Ann"}') }
  const policy = CACHE_POLICY + `decision := {"allow": true, "mask": [{"path": "/ssn", "action": "redact"}]} if input.parsed_path[0] == "masked"
`
  const memoryOnly = new TwoTierCache({ memory: true, redis: false })
  const twoTier = new TwoTierCache({ memory: true, redis: true })
  let compiles = 0
  const masker = {
    compile: (rules: readonly unknown[]) => { compiles++; return compileMaskRules(rules) },
    apply: (res: Parameters<typeof maskUpstreamResponse>[0], m: ReturnType<typeof compileMaskRules>, ctx: { method: string }) => maskUpstreamResponse(res, m, { method: ctx.method }),
  }
  const a = await startBouncer({ upstream: up.url, rego: { 'p.rego': policy }, deps: { cache: memoryOnly, masker } })
  const b = await startBouncer({ upstream: up.url, rego: { 'p.rego': policy }, deps: { cache: twoTier } })
  t.teardown(async () => { await a.close(); await b.close(); await up.close() })
  const get = async (url: string) => { const r = await request(url); return { status: r.statusCode, body: await r.body.text() } }

  // startBouncer activated the policy after buildApp: that activation already cleared L1 once.
  t.equal((await get(`${a.url}/a`)).status, 200)
  t.same(memoryOnly.calls, { getMemory: 1, getRemote: 0, get: 0, clearMemory: 1 }, 'Redis off: a memory miss goes straight to evaluation')
  t.equal((await get(`${a.url}/a`)).status, 200)
  t.same(memoryOnly.calls, { getMemory: 2, getRemote: 0, get: 0, clearMemory: 1 }, 'a memory hit needs nothing else')

  t.equal((await get(`${b.url}/a`)).status, 200)
  t.same(twoTier.calls, { getMemory: 1, getRemote: 1, get: 0, clearMemory: 1 }, 'two tiers: a memory miss asks the remote tier only')
  t.equal((await get(`${b.url}/a`)).status, 200)
  t.same(twoTier.calls, { getMemory: 2, getRemote: 1, get: 0, clearMemory: 1 }, 'a memory hit does not ask the remote tier')

  for (let i = 0; i < 3; i++) {
    const r = await get(`${a.url}/masked`)
    t.equal(r.status, 200)
    t.notMatch(r.body, /123-45-6789/, `response ${i} is masked`)
  }
  t.equal(compiles, 2, 'mask rules compiled for the evaluated decision and once for the cached copy, not per hit')

  a.app.holder.activate(await loadPolicyFromRego([{ file: 'p.rego', source: policy + '\n# v2\n' }], {}, 'bouncer/decision', { source: 'v2', revision: 'v2' }))
  t.equal(memoryOnly.calls.clearMemory, 2, 'an activation drops the memory tier')
  t.equal(memoryOnly.memory.size, 0)
  const r = await get(`${a.url}/masked`)
  t.notMatch(r.body, /123-45-6789/, 'the new revision evaluates and masks')
})

t.test('cache off: a decision the policy keeps returning is one shared object, validated and its masks compiled once per distinct result', async (t) => {
  const up = await startUpstream()
  up.handle = (_req, res) => { res.writeHead(200, { 'content-type': 'application/json' }); res.end('{"ssn":"123-45-6789","name":"Ann"}') }
  const policy = `package bouncer

decision := {"allow": true, "headers": {"x-who": input.parsed_path[1]}, "mask": [{"path": "/ssn", "action": "redact"}]} if input.parsed_path[0] == "masked"
`
  let compiles = 0
  const masker = {
    compile: (rules: readonly unknown[]) => { compiles++; return compileMaskRules(rules) },
    apply: (res: Parameters<typeof maskUpstreamResponse>[0], m: ReturnType<typeof compileMaskRules>, ctx: { method: string }) => maskUpstreamResponse(res, m, { method: ctx.method }),
  }
  const events: DecisionEventInput[] = []
  const logger: DecisionLogger = { record (e) { events.push(e) } }
  const b = await startBouncer({ upstream: up.url, rego: { 'p.rego': policy }, deps: { masker, decisionLog: logger } })
  t.teardown(async () => { await b.close(); await up.close() })
  const get = async (path: string) => { const r = await request(`${b.url}${path}`); return { status: r.statusCode, body: await r.body.text() } }

  for (let i = 0; i < 3; i++) {
    const r = await get('/masked/ann')
    t.equal(r.status, 200)
    t.notMatch(r.body, /123-45-6789/, `ann's response ${i} is masked`)
  }
  t.equal(compiles, 1, 'three evaluations with the same result: mask rules compiled once')
  t.equal(events.length, 3)
  t.equal(events[1]!.result, events[0]!.result, 'the same result object is shared')
  t.ok(Object.isFrozen(events[0]!.result) && Object.isFrozen((events[0]!.result as { headers: object }).headers), 'deep-frozen: no reader can change it for the others')

  const r = await get('/masked/bob')
  t.notMatch(r.body, /123-45-6789/, "bob's response is masked")
  t.equal(compiles, 2, 'a different result is a different decision')
  t.same(up.requests.map((q) => q.headers['x-who']), ['ann', 'ann', 'ann', 'bob'], "each request carries its own decision's headers")
  t.not(events[3]!.result, events[0]!.result)
})

t.test('a cache that fails never fails a request', async (t) => {
  const up = await startUpstream()
  const broken: DecisionCache = { get: async () => { throw new Error('redis down') }, set: () => { throw new Error('redis down') } }
  const b = await startBouncer({ upstream: up.url, rego: { 'p.rego': CACHE_POLICY }, deps: { cache: broken } })
  t.teardown(async () => { await b.close(); await up.close() })
  const r = await request(`${b.url}/a`)
  t.equal(r.statusCode, 200)
  await r.body.dump()
})

t.test('decision log: one event per decision, errors included, backpressure refuses', async (t) => {
  const up = await startUpstream()
  const events: DecisionEventInput[] = []
  let full = false
  const logger: DecisionLogger = { record (e) { if (full) return 'backpressure'; events.push(e) } }
  const policy = `package bouncer

decision := {"allow": true, "reason": "ok"} if input.parsed_path[0] == "ok"
decision := {"allow": false} if input.parsed_path[0] == "no"
decision := "garbage" if input.parsed_path[0] == "bad"
`
  const b = await startBouncer({ upstream: up.url, rego: { 'p.rego': policy }, deps: { decisionLog: logger } })
  t.teardown(async () => { await b.close(); await up.close() })
  for (const p of ['/ok?x=1', '/no', '/bad']) await (await request(`${b.url}${p}`, { headers: { authorization: 'Bearer t' } })).body.dump()
  t.equal(events.length, 3)
  const [ok, no, bad] = events
  t.match(ok, { path: 'bouncer/decision', result: { allow: true, reason: 'ok' }, bundles: { bouncer: { revision: String } } })
  t.type(ok.decision_id, 'string')
  t.type(ok.eval_ns, 'number')
  t.type(ok.total_ns, 'number')
  t.match(ok.requested_by, /^127\.0\.0\.1:\d+$/)
  t.match(ok.input, { attributes: { request: { http: { path: '/ok?x=1', headers: { authorization: 'Bearer t' } } } }, parsed_query: { x: ['1'] } })
  t.match(no, { result: { allow: false } })
  t.match(bad, { result: 'garbage', error: { code: 'BOUNCER_ERR_POLICY_DECISION' } })

  full = true
  up.requests.length = 0
  const r = await request(`${b.url}/ok`)
  t.equal(r.statusCode, 503, 'backpressure → 503')
  await r.body.dump()
  t.equal(up.requests.length, 0, 'not forwarded')
})

t.test('masking: decisions with mask rules go through src/masking', async (t) => {
  const up = await startUpstream()
  const policy = `package bouncer

decision := {"allow": true, "mask": [{"path": "/customers/*/ssn", "action": "redact"}, {"path": "/customers/*/card", "action": "last4"}]} if input.parsed_path[0] == "masked"
decision := {"allow": true, "mask": [{"path": "/x", "action": "hash"}]} if input.parsed_path[0] == "hashed"
decision := {"allow": true} if input.parsed_path[0] == "plain"
`
  const b = await startBouncer({ upstream: up.url, rego: { 'p.rego': policy } })
  const noMasker = await startBouncer({ upstream: up.url, rego: { 'p.rego': policy }, deps: { masker: null } })
  t.teardown(async () => { await b.close(); await noMasker.close(); await up.close() })
  const doc = { customers: [{ name: 'Ann', ssn: '123-45-6789', card: '4111111111111111' }, { name: 'Bo', ssn: '987-65-4321', card: '5500000000000004' }] }
  up.handle = (req, res) => {
    if (req.url?.endsWith('gz')) {
      res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip', etag: '"abc"' })
      res.end(gzipSync(JSON.stringify(doc)))
    } else if (req.url?.endsWith('text')) {
      res.writeHead(200, { 'content-type': 'text/plain' }); res.end('ssn 123-45-6789')
    } else {
      res.writeHead(200, { 'content-type': 'application/json', 'x-up': '1' }); res.end(JSON.stringify(doc))
    }
  }
  const r = await request(`${b.url}/masked/list`)
  t.equal(r.statusCode, 200)
  t.equal(r.headers['x-up'], '1')
  const body = await r.body.json() as typeof doc
  t.not(body.customers[0].ssn, '123-45-6789')
  t.match(body.customers[1].card, /0004$/)
  t.not(body.customers[1].card, '5500000000000004')
  t.equal(body.customers[0].name, 'Ann')

  const gz = await request(`${b.url}/masked/gz`)
  t.equal(gz.statusCode, 200)
  t.notOk(gz.headers['content-encoding'], 'decoded before masking')
  t.notOk(gz.headers.etag, 'validators of the unmasked body are dropped')
  t.notMatch(await gz.body.text(), /123-45-6789/)

  const text = await request(`${b.url}/masked/text`)
  t.equal(text.statusCode, 502, 'non-JSON with mask rules → fail closed')
  t.notMatch(await text.body.text(), /123-45-6789/)

  const hashed = await request(`${b.url}/hashed`)
  t.equal(hashed.statusCode, 403, 'hash rules without a configured key → policy error, not forwarded unmasked')
  await hashed.body.dump()

  const plain = await request(`${b.url}/plain`)
  t.match(await plain.body.text(), /123-45-6789/, 'no mask rules → streamed untouched')

  const none = await request(`${noMasker.url}/masked/list`)
  t.equal(none.statusCode, 502, 'no masker → masked decisions fail closed')
  t.notMatch(await none.body.text(), /123-45-6789/)
  t.match(await (await request(`${b.adminUrl}/metrics`)).body.text(), /bouncer_masked_responses_total\{outcome="masked"\} 2/)
})

t.test('components built from config: decision cache (L1) and decision logs (file sink)', async (t) => {
  const { mkdtempSync, readFileSync } = await import('node:fs')
  const { tmpdir } = await import('node:os')
  const path = await import('node:path')
  const { verifyLog } = await import('../../src/decision-log/index.js')
  const dir = mkdtempSync(path.join(tmpdir(), 'bouncer-components-'))
  const up = await startUpstream()
  const b = await startBouncer({
    upstream: up.url,
    rego: { 'p.rego': CACHE_POLICY },
    config: {
      cache: { enabled: true },
      decision_logs: {
        enabled: true, sinks: ['file'], file_path: path.join(dir, 'export.jsonl'), spool_dir: path.join(dir, 'spool'), fsync: 'never',
        mask_rules: [{ path: '/input/attributes/request/http/headers/x-user', action: 'redact' }],
      },
    },
  })
  t.teardown(() => up.close())
  for (const h of ['alice', 'alice', 'bob']) await (await request(`${b.url}/user`, { headers: { 'x-user': h, authorization: 'Bearer secret-token' } })).body.dump()
  const metrics = await (await request(`${b.adminUrl}/metrics`)).body.text()
  t.match(metrics, /bouncer_decision_cache_hits_total\{tier="memory"\} 1/, 'the repeated request was a memory hit')
  t.match(metrics, /bouncer_decision_cache_entries 2/)
  t.match(metrics, /bouncer_decision_log_events_total\{outcome="recorded"\} 3/)
  const ready = await (await request(`${b.adminUrl}/readyz`)).body.json() as { components: Record<string, { status: string }> }
  t.ok(ready.components.cache && ready.components.decision_logs, 'components report to /readyz')
  await b.close()
  const v = await verifyLog(path.join(dir, 'spool'))
  t.ok(v.ok, 'the spooled chain verifies')
  t.equal(v.decisions, 3)
  const exported = readFileSync(path.join(dir, 'export.jsonl'), 'utf8')
  t.notMatch(exported, /secret-token/, 'authorization erased before storage')
  t.notMatch(exported, /"x-user":"alice"/, 'configured mask rules applied')
})
