// Graceful shutdown through app.close(): stop accepting, finish in-flight requests, bounded.
import t from 'tap'
import { request, Agent } from 'undici'
import { startBouncer, startUpstream, BASIC_POLICY } from '../helpers/index.js'

t.test('in-flight requests finish; new ones are refused; readiness drops', async (t) => {
  const up = await startUpstream()
  const b = await startBouncer({ upstream: up.url, rego: { 'p.rego': BASIC_POLICY } })
  t.teardown(async () => { await up.close() })
  let release!: () => void
  up.raw = (req, res) => { req.resume(); release = () => { res.writeHead(200, { 'content-type': 'text/plain' }); res.end('finished') } }
  const agent = new Agent({ pipelining: 0 })
  const inflight = request(`${b.url}/public/slow`, { dispatcher: agent })
  await new Promise((r) => setTimeout(r, 100))
  const t0 = Date.now()
  const closing = b.app.close(5000)
  await new Promise((r) => setTimeout(r, 100))
  t.equal(b.app.health.readiness().ready, false, 'not ready while shutting down')
  await t.rejects(request(`${b.url}/public/new`, { dispatcher: new Agent() }), 'new connections are refused')
  release()
  const r = await inflight
  t.equal(r.statusCode, 200)
  t.equal(await r.body.text(), 'finished', 'the in-flight request completed')
  await closing
  t.ok(Date.now() - t0 < 3000, `closed promptly once idle (${Date.now() - t0} ms)`)
  await agent.close()
})

t.test('shutdown is bounded by the deadline', async (t) => {
  const up = await startUpstream()
  const b = await startBouncer({ upstream: up.url, rego: { 'p.rego': BASIC_POLICY }, config: { upstream: { timeout_seconds: 60 } } })
  t.teardown(async () => { await up.close() })
  up.raw = (req) => { req.resume() } // never answers
  const stuck = request(`${b.url}/public/stuck`).then((r) => r.statusCode, (e: Error) => e)
  await new Promise((r) => setTimeout(r, 100))
  const t0 = Date.now()
  await b.app.close(500)
  const took = Date.now() - t0
  t.ok(took >= 400 && took < 2500, `close waited for the deadline, then cut (${took} ms)`)
  const outcome = await stuck
  t.ok(outcome instanceof Error || outcome === 502 || outcome === 503, `the stuck request was ended (${String(outcome)})`)
})
