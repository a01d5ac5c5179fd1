// A policy that can read the whole input (it passes `input` to a function) is keyed on all of
// it. cache.ignore_paths (the request id by default) used to be dropped from such a key, so a
// request differing only in its x-request-id reused a decision the policy would not have made
// for it: a clean request first, then "../" in the request id on the same connection, got the
// cached allow. Real proxy, real upstream, the default cache configuration.
import t from 'tap'
import { Client } from 'undici'
import { loadPolicyFromRego } from '../../src/policy/load.js'
import { memoryLogger, startBouncer, startUpstream } from '../helpers/index.js'

// `allowed(input)`: the compiler records "the whole input" for this entrypoint.
const POLICY = `package bouncer

default decision := {"allow": false, "status": 403}

decision := {"allow": true} if allowed(input)

allowed(req) if {
  req.attributes.request.http.method == "GET"
  not traversal(req)
}

traversal(req) if {
  some v in req.attributes.request.http.headers
  contains(v, "..")
}
`

t.test('a whole-input policy: the request id is in the cache key, and the cache still hits for an identical request', async (t) => {
  const up = await startUpstream()
  t.teardown(() => up.close())
  const logs = memoryLogger('warn')
  const b = await startBouncer({ upstream: up.url, rego: { 'p.rego': POLICY }, config: { cache: { enabled: true } }, deps: { logger: logs.logger } })
  t.teardown(() => b.close())
  t.equal(b.app.holder.current?.inputPaths, null, 'the compiler records the whole input')
  t.match(logs.text(), /can read the whole input/, 'the activation log says the cache keys on every field')

  // One keep-alive connection: the peer address (ip:port, in the key) stays the same.
  const client = new Client(b.url, { pipelining: 1 })
  t.teardown(() => client.close())
  const get = async (id: string): Promise<number> => {
    const r = await client.request({ path: '/x', method: 'GET', headers: { 'x-request-id': id } })
    await r.body.dump()
    return r.statusCode
  }
  t.equal(await get('r1'), 200, 'a clean request is allowed')
  t.equal(await get('../../etc'), 403, '"../" in the request id is denied, not served the cached allow')
  t.equal(await get('r2..x'), 403)
  t.equal(await get('r1'), 200, 'the same request again')
  t.same(up.requests.map((r) => r.headers['x-request-id']), ['r1', 'r1'], 'only the allowed requests reached the upstream')

  const metrics = await (await fetch(`${b.adminUrl}/metrics`)).text()
  t.match(metrics, /bouncer_decision_cache_hits_total\{tier="memory"\} 1\b/, 'the repeated request was a cache hit')
})

t.test('a policy reading recorded paths keeps its key to them: a different request id shares the decision', async (t) => {
  const up = await startUpstream()
  t.teardown(() => up.close())
  const logs = memoryLogger('warn')
  const b = await startBouncer({
    upstream: up.url,
    rego: { 'p.rego': 'package bouncer\n\ndecision := {"allow": input.attributes.request.http.method == "GET"}\n' },
    config: { cache: { enabled: true } },
    deps: { logger: logs.logger },
  })
  t.teardown(() => b.close())
  t.notMatch(logs.text(), /whole input/)
  const client = new Client(b.url, { pipelining: 1 })
  t.teardown(() => client.close())
  for (const id of ['a', 'b', 'c']) {
    const r = await client.request({ path: '/x', method: 'GET', headers: { 'x-request-id': id } })
    await r.body.dump()
    t.equal(r.statusCode, 200)
  }
  const metrics = await (await fetch(`${b.adminUrl}/metrics`)).text()
  t.match(metrics, /bouncer_decision_cache_hits_total\{tier="memory"\} 2\b/, 'requests differing only in fields the policy cannot read share one decision')
})

t.test('a bundle without recorded paths (opa build): the operator is told what ignore_paths promise', async (t) => {
  const up = await startUpstream()
  t.teardown(() => up.close())
  const logs = memoryLogger('warn')
  const b = await startBouncer({ upstream: up.url, noPolicy: true, config: { cache: { enabled: true } }, deps: { logger: logs.logger } })
  t.teardown(() => b.close())
  const loaded = await loadPolicyFromRego([{ file: 'p.rego', source: POLICY }], {}, 'bouncer/decision', { source: 'test' }, b.app.policyOptions)
  b.app.holder.activate({ ...loaded, inputPaths: undefined }) // as a bundle from `opa build` carries none
  t.match(logs.text(), /records no input paths[^\n]*cache\.ignore_paths/, 'activation names the promise')
  t.match(logs.text(), /x-request-id/, 'and the fields it covers')
})
