// /readyz with decision-log overflow backpressure (review helper, 2026-12-07): a full spool
// refuses every request with 503, yet /readyz said 200 and the pod stayed in rotation. The
// instance is now not ready while the spool has no room for another event, and ready again once
// uploads free it (from the spool's fill: an instance out of rotation records nothing).
import { join } from 'node:path'
import t from 'tap'
import { request } from 'undici'
import { startBouncer, startUpstream } from '../helpers/index.js'
import { startControlPlane, tempDir } from '../decision-log/fixtures/control-plane.js'

const ALLOW = 'package bouncer\n\ndecision := {"allow": true, "reason": "' + 'r'.repeat(400) + '"}\n'

t.test('a full spool under overflow backpressure makes the instance not ready until uploads free it', async (t) => {
  const dir = tempDir(t)
  const cp = await startControlPlane()
  cp.failWith = 503
  const up = await startUpstream()
  const b = await startBouncer({
    upstream: up.url, rego: { 'p.rego': ALLOW },
    config: { decision_logs: { enabled: true, service_url: cp.url, spool_dir: join(dir, 'spool'), max_bytes: 16384, overflow: 'backpressure', min_delay_seconds: 0.05, max_delay_seconds: 0.2 } },
  })
  t.teardown(async () => { await b.close(); await up.close(); await cp.close() })
  const ready = async (): Promise<[number, Record<string, any>]> => {
    const r = await request(`${b.adminUrl}/readyz`)
    return [r.statusCode, await r.body.json() as Record<string, any>]
  }
  t.equal((await ready())[0], 200, 'ready while the spool has room')
  let refused = 0
  for (let i = 0; i < 200 && refused === 0; i++) {
    const r = await request(`${b.url}/x${i}`)
    await r.body.dump()
    if (r.statusCode === 503) refused++
  }
  t.equal(refused, 1, 'the spool filled and a request was refused')
  const [status, body] = await ready()
  t.equal(status, 503, 'not ready while every request would be refused')
  t.equal(body.components?.decision_log_admission?.status, 'ERROR')
  t.match(body.components?.decision_log_admission?.message, /spool is full/)
  // The control plane recovers: uploads drain the spool and readiness returns, with no request.
  cp.failWith = null
  const until = Date.now() + 10_000
  let back = 0
  while (Date.now() < until && (back = (await ready())[0]) !== 200) await new Promise((resolve) => setTimeout(resolve, 50))
  t.equal(back, 200, 'ready again once uploads freed the spool')
  const r = await request(`${b.url}/after`)
  await r.body.dump()
  t.equal(r.statusCode, 200, 'and serving')
})

t.test('drop_oldest: delivery trouble alone keeps the instance ready', async (t) => {
  const dir = tempDir(t)
  const cp = await startControlPlane()
  cp.failWith = 503
  const up = await startUpstream()
  const b = await startBouncer({
    upstream: up.url, rego: { 'p.rego': ALLOW },
    config: { decision_logs: { enabled: true, service_url: cp.url, spool_dir: join(dir, 'spool'), max_bytes: 16384, overflow: 'drop_oldest' } },
  })
  t.teardown(async () => { await b.close(); await up.close(); await cp.close() })
  for (let i = 0; i < 60; i++) { const r = await request(`${b.url}/x${i}`); await r.body.dump(); t.equal(r.statusCode, 200) }
  const r = await request(`${b.adminUrl}/readyz`)
  const body = await r.body.json() as Record<string, any>
  t.equal(r.statusCode, 200, 'ready: requests are served, the oldest events dropped and declared')
  t.notOk(body.components?.decision_log_admission, 'no admission check without backpressure')
})
