// server.max_inflight_requests: the exchanges the process holds at once, all connections
// together. HTTP/2 lets each connection open server.http2.max_concurrent_streams streams
// (~24 KB each), so server.max_connections alone did not bound memory. One past the cap gets
// 503 at once, before the policy or the upstream sees it; the cap frees as exchanges end.
// Real proxy, real upstream, HTTP/1.1 and HTTP/2 clients.
import t from 'tap'
import { connect as h2connect } from 'node:http2'
import { request } from 'undici'
import { connect } from 'node:net'
import { startBouncer, startUpstream } from '../helpers/index.js'

const POLICY = 'package bouncer\n\ndecision := {"allow": true}\n'

t.test('requests past server.max_inflight_requests get 503 and never reach the upstream', async (t) => {
  const up = await startUpstream()
  const seen: string[] = []
  const held: (() => void)[] = []
  up.handle = (req, res) => {
    seen.push(req.url!)
    const answer = (): void => { res.writeHead(200, { 'content-type': 'text/plain' }); res.end(req.url) }
    if (req.url!.startsWith('/hold')) held.push(answer)
    else answer()
  }
  const b = await startBouncer({
    upstream: up.url, rego: { 'p.rego': POLICY },
    config: { server: { max_inflight_requests: 3, http2: { cleartext: true } } } as never,
  })
  t.teardown(async () => { await b.close(); await up.close() })

  // Three held exchanges: two HTTP/1.1, one HTTP/2 stream.
  const h1 = [request(`${b.url}/hold/1`), request(`${b.url}/hold/2`)]
  const session = h2connect(b.url)
  session.on('error', () => {})
  t.teardown(() => { session.close() })
  const h2held = new Promise<number>((resolve) => {
    const st = session.request({ ':method': 'GET', ':path': '/hold/3' })
    st.on('response', (h) => resolve(Number(h[':status'])))
    st.resume()
  })
  while (held.length < 3) await new Promise((r) => setTimeout(r, 10))

  // The fourth, over either protocol: refused at once.
  const over = await request(`${b.url}/over/1`)
  t.equal(over.statusCode, 503, 'HTTP/1.1 past the cap: 503')
  t.match(await over.body.json(), { error: 'unavailable' })
  const over2 = await new Promise<number>((resolve) => {
    const st = session.request({ ':method': 'GET', ':path': '/over/2' })
    st.on('response', (h) => resolve(Number(h[':status'])))
    st.resume()
  })
  t.equal(over2, 503, 'an HTTP/2 stream past the cap: 503')
  t.same(seen, ['/hold/1', '/hold/2', '/hold/3'], 'the refused requests never reached the upstream')

  // The held exchanges end: the cap frees.
  for (const answer of held) answer()
  for (const r of await Promise.all(h1)) { t.equal(r.statusCode, 200); await r.body.dump() }
  t.equal(await h2held, 200)
  const after = await request(`${b.url}/after`)
  t.equal(after.statusCode, 200, 'once they end, a new request goes through')
  await after.body.dump()

  const m = await request(`${b.adminUrl}/metrics`)
  const text = await m.body.text()
  t.match(text, /bouncer_rejected_requests_total\{reason="max_inflight"\} 2/, 'both refusals counted')
  t.match(text, /bouncer_inflight_requests 0/, 'nothing left in flight')
})

// A client that ends its side (FIN) has left: its exchange ends at once and frees its slot, also
// where Node's server no longer watches the socket (review of the cap): an Upgrade answered as
// plain HTTP kept its slot until the upstream answered (up to upstream.timeout_seconds). (Behind
// a pipelined request answered 408 the socket stays paused, so a FIN there is seen only once the
// owed answers are written: reading on would let Node's parser complete the refused request.)
for (const [name, payload, leaveAfterMs] of [
  ['a plain request', 'GET /hold HTTP/1.1\r\nHost: x\r\n\r\n', 300],
  ['an Upgrade answered as plain HTTP', 'GET /hold HTTP/1.1\r\nHost: x\r\nConnection: upgrade\r\nUpgrade: foo\r\n\r\n', 300],
] as const) {
  t.test(`the slot frees when the client leaves: ${name}`, async (t) => {
    const up = await startUpstream()
    let aborted = 0
    up.handle = (req, res) => {
      if (req.url === '/hold') { res.on('close', () => { if (!res.writableFinished) aborted++ }); return } // never answered
      res.writeHead(200); res.end('ok')
    }
    const b = await startBouncer({
      upstream: up.url, rego: { 'p.rego': POLICY },
      config: { server: { max_inflight_requests: 1, request_timeout_seconds: 1 }, upstream: { timeout_seconds: 60 } } as never,
    })
    t.teardown(async () => { await b.close(); await up.close() })
    const s = connect(b.port, '127.0.0.1', () => s.write(payload))
    s.on('error', () => {})
    await new Promise((r) => setTimeout(r, leaveAfterMs))
    t.equal(up.requests.length, 1, 'forwarded and held')
    s.end() // the client leaves (FIN)
    const inflight = async (): Promise<number> => Number(/^bouncer_inflight_requests (\d+)/m.exec(await (await request(`${b.adminUrl}/metrics`)).body.text())![1])
    for (let i = 0; i < 100 && await inflight() !== 0; i++) await new Promise((r) => setTimeout(r, 50))
    t.equal(await inflight(), 0, 'nothing in flight once the client left')
    const r = await request(`${b.url}/next`, { headersTimeout: 5000 })
    t.equal(r.statusCode, 200, 'a new request is not refused for the cap')
    await r.body.dump()
    t.equal(aborted, 1, 'the upstream request was aborted')
    s.destroy()
  })
}
