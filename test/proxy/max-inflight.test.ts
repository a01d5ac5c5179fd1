// server.max_inflight_requests: the exchanges the process holds at once, all connections
// together. HTTP/2 lets each connection open server.http2.max_concurrent_streams streams
// (~24 KB each), so server.max_connections alone did not bound memory. One past the cap gets
// 503 at once, before the policy or the upstream sees it; the cap frees as exchanges end.
// Real proxy, real upstream, HTTP/1.1 and HTTP/2 clients.
import t from 'tap'
import { connect as h2connect } from 'node:http2'
import { request } from 'undici'
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
