// Fail closed: no policy, evaluation too slow → deny, logged and counted; readiness follows.
import t from 'tap'
import { request } from 'undici'
import { startBouncer, startUpstream, memoryLogger, BASIC_POLICY } from '../helpers/index.js'
import { loadPolicyFromRego } from '../../src/policy/load.js'

t.test('no policy → 503 and not ready; activation → ready', async (t) => {
  const up = await startUpstream()
  const mem = memoryLogger()
  const b = await startBouncer({ upstream: up.url, noPolicy: true, deps: { logger: mem.logger } })
  t.teardown(async () => { await b.close(); await up.close() })
  const r = await request(`${b.url}/public/x`)
  t.equal(r.statusCode, 503)
  t.match(await r.body.json(), { error: 'unavailable' })
  const ready = await request(`${b.adminUrl}/readyz`)
  t.equal(ready.statusCode, 503)
  t.match(await ready.body.json(), { status: 'not_ready', components: { policy: { status: 'NOT_READY', critical: true } } })
  t.equal((await request(`${b.adminUrl}/healthz`)).statusCode, 200, 'alive while not ready')
  t.equal(up.requests.length, 0)
  t.ok(mem.lines().some((l) => l.msg === 'fail closed' && l.reason === 'no_policy'), 'logged')
  t.match(await (await request(`${b.adminUrl}/metrics`)).body.text(), /bouncer_fail_closed_total\{reason="no_policy"\} 1/)

  b.app.holder.activate(await loadPolicyFromRego([{ file: 'p.rego', source: BASIC_POLICY }], {}, 'bouncer/decision', { source: 'late' }))
  t.equal((await request(`${b.adminUrl}/readyz`)).statusCode, 200)
  const ok = await request(`${b.url}/public/x`)
  t.equal(ok.statusCode, 200)
  await ok.body.dump()
})

t.test('the not-ready status is configurable', async (t) => {
  const up = await startUpstream()
  const b = await startBouncer({ upstream: up.url, noPolicy: true, config: { policy: { not_ready_status: 502 } } })
  t.teardown(async () => { await b.close(); await up.close() })
  const r = await request(`${b.url}/x`)
  t.equal(r.statusCode, 502)
  await r.body.dump()
})

t.test('an evaluation slower than the timeout is discarded', async (t) => {
  const up = await startUpstream()
  const slow = `package bouncer

decision := {"allow": count([x | some x in numbers.range(1, 200000); x % 7 == 0]) > 0}
`
  const mem = memoryLogger()
  const b = await startBouncer({ upstream: up.url, rego: { 'p.rego': slow }, config: { policy: { eval_timeout_seconds: 0.0001 } }, deps: { logger: mem.logger } })
  t.teardown(async () => { await b.close(); await up.close() })
  const r = await request(`${b.url}/x`)
  t.equal(r.statusCode, 403)
  await r.body.dump()
  t.equal(up.requests.length, 0)
  t.ok(mem.lines().some((l) => l.msg === 'fail closed' && l.reason === 'eval_timeout'))
  t.match(await (await request(`${b.adminUrl}/metrics`)).body.text(), /bouncer_fail_closed_total\{reason="eval_timeout"\} 1/)
})

t.test('new policies apply to new requests; in-flight ones finish on the old one', async (t) => {
  const up = await startUpstream()
  const b = await startBouncer({ upstream: up.url, rego: { 'p.rego': 'package bouncer\n\ndecision := {"allow": true, "headers": {"x-rev": "A"}}\n' } })
  t.teardown(async () => { await b.close(); await up.close() })
  let release!: () => void
  up.raw = (req, res) => { req.resume(); release = () => { res.writeHead(200); res.end(String(req.headers['x-rev'])) } }
  const first = request(`${b.url}/slow`)
  await new Promise((r) => setTimeout(r, 100))
  b.app.holder.activate(await loadPolicyFromRego([{ file: 'p.rego', source: 'package bouncer\n\ndecision := {"allow": true, "headers": {"x-rev": "B"}}\n' }], {}, 'bouncer/decision', { source: 'B' }))
  release()
  t.equal(await (await first).body.text(), 'A')
  up.raw = undefined
  const second = await request(`${b.url}/next`)
  await second.body.dump()
  t.equal(up.requests.at(-1)?.headers['x-rev'], 'B')
})
