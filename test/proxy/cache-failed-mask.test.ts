// A decision whose mask rules do not compile fails closed, and a failure is never cached
// (review of the decision cache, 2026-12-07): it was stored before its mask was compiled, so
// every later request was a cache hit that failed the same way, and the entry took Redis and
// memory until its TTL. Real proxy, real upstream, the in-process cache tier.
import t from 'tap'
import { request } from 'undici'
import { startBouncer, startUpstream } from '../helpers/index.js'

const POLICY = `package bouncer

decision := {"allow": true, "cache_ttl": 300, "mask": [{"path": "nope", "action": "explode"}]} if input.parsed_path[0] == "bad"
decision := {"allow": true, "cache_ttl": 300} if input.parsed_path[0] == "good"
`

t.test('a decision with invalid mask rules is not cached; a good one is', async (t) => {
  const up = await startUpstream()
  const b = await startBouncer({
    upstream: up.url, rego: { 'p.rego': POLICY },
    config: { cache: { enabled: true, l1: { enabled: true }, redis: { enabled: false } } },
  })
  t.teardown(async () => { await b.close(); await up.close() })
  const hits = async (): Promise<number> => {
    const m = /^bouncer_decision_cache_hits_total\{tier="memory"\} (\d+)/m.exec(await (await request(`${b.adminUrl}/metrics`)).body.text())
    return m === null ? 0 : Number(m[1])
  }
  for (let i = 0; i < 3; i++) {
    const r = await request(`${b.url}/bad`)
    await r.body.dump()
    t.equal(r.statusCode, 403, `bad mask rules fail closed (request ${i + 1})`)
  }
  t.equal(await hits(), 0, 'and were never served from the cache')
  t.equal(up.requests.length, 0)
  for (let i = 0; i < 2; i++) {
    const r = await request(`${b.url}/good`)
    await r.body.dump()
    t.equal(r.statusCode, 200)
  }
  t.equal(await hits(), 1, 'a usable decision is cached (the cache works)')
})
