// Graceful shutdown through app.close(): stop accepting, finish in-flight requests, bounded.
// Synchronised on events (the upstream receiving the request, promises settling), not on
// sleeps or elapsed times, so the outcome does not depend on how loaded the machine is.
import t from 'tap'
import { request, Agent } from 'undici'
import { startBouncer, startUpstream, BASIC_POLICY } from '../helpers/index.js'

t.test('in-flight requests finish; new ones are refused; readiness drops', async (t) => {
  const up = await startUpstream()
  const b = await startBouncer({ upstream: up.url, rego: { 'p.rego': BASIC_POLICY } })
  t.teardown(async () => { await up.close() })
  let release!: () => void
  const arrived = new Promise<void>((resolve) => {
    up.raw = (req, res) => { req.resume(); release = () => { res.writeHead(200, { 'content-type': 'text/plain' }); res.end('finished') }; resolve() }
  })
  const agent = new Agent({ pipelining: 0 })
  const inflight = request(`${b.url}/public/slow`, { dispatcher: agent })
  await arrived
  let closed = false
  const closing = b.app.close(60_000).then(() => { closed = true })
  t.equal(b.app.health.readiness().ready, false, 'not ready as soon as shutdown starts')
  // Refused either way, depending on how far shutdown got: a 503 while the port still
  // accepts, or no connection once it has stopped listening. Never forwarded.
  const late = await request(`${b.url}/public/new`, { dispatcher: new Agent() }).then((r) => r.statusCode, () => 'refused')
  t.ok(late === 503 || late === 'refused', `a new request is refused (${late})`)
  t.equal(closed, false, 'close waits for the in-flight request')
  release()
  const r = await inflight
  t.equal(r.statusCode, 200)
  t.equal(await r.body.text(), 'finished', 'the in-flight request completed')
  // The deadline is a minute: close resolving here means it ended because the request did.
  await closing
  t.equal(closed, true)
  t.same(up.requests.map((q) => q.url), ['/public/slow'], 'only the in-flight request reached the upstream')
  await agent.close()
})

t.test('shutdown is bounded by the deadline', async (t) => {
  const up = await startUpstream()
  const b = await startBouncer({ upstream: up.url, rego: { 'p.rego': BASIC_POLICY }, config: { upstream: { timeout_seconds: 600 } } })
  t.teardown(async () => { await up.close() })
  const arrived = new Promise<void>((resolve) => { up.raw = (req) => { req.resume(); resolve() } }) // never answers
  let ended = false
  const stuck = request(`${b.url}/public/stuck`).then((r) => r.statusCode, (e: Error) => e).finally(() => { ended = true })
  await arrived
  // The upstream never answers and its timeout is 10 minutes: only the deadline can end this.
  await b.app.close(300)
  const outcome = await stuck
  t.equal(ended, true)
  t.ok(outcome instanceof Error || outcome === 502 || outcome === 503, `the stuck request was ended (${String(outcome)})`)
})

t.test('shutdown: decision logs get their own time after a connection held to the deadline; no new tunnel once it began', async (t) => {
  // A WebSocket held open kept the drain to its deadline, which left the decision log no time:
  // its events stayed in the spool (lost with the pod). And an Upgrade sent after shutdown began
  // was still tunnelled (authorised after readiness went false).
  const { startControlPlane, tempDir } = await import('../decision-log/fixtures/control-plane.js')
  const { WebSocket } = await import('ws')
  const cp = await startControlPlane()
  t.teardown(() => cp.close())
  const up = await startUpstream()
  t.teardown(() => up.close())
  const b = await startBouncer({
    upstream: up.url,
    rego: { 'p.rego': 'package bouncer\n\ndecision := {"allow": true}\n' },
    config: { decision_logs: { enabled: true, service_url: cp.url, spool_dir: tempDir(t), min_delay_seconds: 60, max_delay_seconds: 60, shutdown_flush_seconds: 5 } },
  })
  for (let i = 0; i < 3; i++) { const r = await request(`${b.url}/public/${i}`); await r.body.dump() }
  const ws = new WebSocket(`${b.url.replace('http', 'ws')}/ws/held`)
  ws.on('error', () => {})
  await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject) })
  // A keep-alive connection to send an Upgrade on once shutdown has begun.
  const { connect } = await import('node:net')
  const late = connect(b.port, '127.0.0.1')
  late.on('error', () => {})
  await new Promise((resolve) => late.once('connect', resolve))
  const closing = b.app.close(300)
  let answer = ''
  late.on('data', (d: Buffer) => { answer += d.toString('latin1') })
  late.write('GET /ws/late HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n')
  await closing
  t.match(answer, /^HTTP\/1\.1 503 /, 'an Upgrade after shutdown began: 503, no tunnel')
  t.notOk(up.requests.some((r) => r.url === '/ws/late'), 'never sent upstream')
  t.equal(cp.decisions().length, 4, 'every decision (3 requests and the held WebSocket) delivered at shutdown')
  late.destroy()
})

t.test('close() while start() is loading the policy: nothing more is started, the spool is left unlocked', async (t) => {
  // What `bouncer run` does on a signal during start. The decision log was started after its
  // stop(): the spool stayed locked and its uploader ran on after "stopped".
  const { mkdirSync, writeFileSync, existsSync } = await import('node:fs')
  const { join } = await import('node:path')
  const { tempDir } = await import('../decision-log/fixtures/control-plane.js')
  const { createConfig, buildApp } = await import('../../src/index.js')
  const { pino } = await import('pino')
  const dir = tempDir(t)
  mkdirSync(join(dir, 'pol'))
  writeFileSync(join(dir, 'pol', 'p.rego'), 'package bouncer\n\ndecision := {"allow": true}\n')
  const config = createConfig({
    upstream: { url: 'http://127.0.0.1:9' }, server: { port: 0, host: '127.0.0.1' }, admin: { enabled: false },
    policy: { path: join(dir, 'pol') },
    decision_logs: { enabled: true, service_url: 'http://127.0.0.1:9', spool_dir: join(dir, 'spool') },
  })
  const app = await buildApp(config, { logger: pino({ level: 'silent' }) })
  const starting = app.start().then(() => 'started', (e: Error) => e.message)
  await app.close()
  t.match(await starting, /stopped while starting: no port was opened/)
  t.notOk(existsSync(join(dir, 'spool', 'LOCK')), 'the spool is not held')
})
