// Upstream response heads HTTP/1.1 carries but Node's HTTP/2 layer refuses (found by an
// adversarial review): a header Node allows once per HTTP/2 message (Location, ETag,
// X-Content-Type-Options...) repeated by the upstream made writeHead throw, the error reply
// threw again on the headers left behind, and the process exited on the unhandled rejection:
// one HTTP/2 request to such a route took the sidecar down. Now a repeated equal value is sent
// once, differing values are a 502, and an error reply can never throw.
import { connect as h2connect, type ClientHttp2Session, type IncomingHttpHeaders } from 'node:http2'
import t from 'tap'
import { request } from 'undici'
import { startBouncer, startUpstream } from '../helpers/index.js'

const POLICY = `package bouncer

decision := {"allow": true} if input.parsed_path[0] == "plain"

decision := {"allow": true, "mask": [{"path": "/ssn", "action": "redact"}]} if input.parsed_path[0] == "masked"
`

const HEADS: Record<string, string[]> = {
  'same-nosniff': ['x-content-type-options', 'nosniff', 'x-content-type-options', 'nosniff'],
  'two-locations': ['location', '/a', 'location', '/b'],
  'two-etags': ['etag', '"a"', 'etag', '"b"'],
  'same-date': ['date', 'Sun, 06 Dec 2026 12:00:00 GMT', 'date', 'Sun, 06 Dec 2026 12:00:00 GMT'],
}

function get (s: ClientHttp2Session, path: string): Promise<{ status: number; headers: IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const st = s.request({ ':path': path })
    let status = 0
    let headers: IncomingHttpHeaders = {}
    let body = ''
    st.on('response', (h) => { status = Number(h[':status']); headers = h })
    st.on('data', (d: Buffer) => { body += d })
    st.on('error', reject)
    st.on('close', () => resolve({ status, headers, body }))
  })
}

t.test('HTTP/2: repeated single-value response headers', async (t) => {
  const up = await startUpstream()
  up.handle = (req, res) => {
    const name = req.url!.split('/').pop()!
    res.writeHead(200, ['content-type', 'application/json', ...(HEADS[name] ?? [])])
    res.end('{"ssn":"123-45-6789","name":"x"}')
  }
  const b = await startBouncer({ upstream: up.url, rego: { 'p.rego': POLICY }, config: { server: { http2: { cleartext: true } } } })
  t.teardown(async () => { await b.close(); await up.close() })
  const died: unknown[] = []
  const onDeath = (e: unknown): void => { died.push(e) }
  process.on('uncaughtException', onDeath)
  process.on('unhandledRejection', onDeath)
  t.teardown(() => { process.off('uncaughtException', onDeath); process.off('unhandledRejection', onDeath) })
  const s = h2connect(b.url)
  t.teardown(() => s.close())

  for (const route of ['plain', 'masked']) {
    const nosniff = await get(s, `/${route}/same-nosniff`)
    t.equal(nosniff.status, 200, `${route}: the same value twice is sent once`)
    t.equal(nosniff.headers['x-content-type-options'], 'nosniff')
    t.equal((await get(s, `/${route}/same-date`)).status, 200)
    if (route === 'masked') t.match(nosniff.body, /REDACTED/, 'and masked')
    if (route === 'masked') {
      const etags = await get(s, '/masked/two-etags')
      t.equal(etags.status, 200, 'masked: validators are dropped anyway (they describe the unmasked body)')
      t.equal(etags.headers.etag, undefined)
    }
    for (const conflict of route === 'plain' ? ['two-locations', 'two-etags'] : ['two-locations']) {
      const r = await get(s, `/${route}/${conflict}`)
      t.equal(r.status, 502, `${route}, ${conflict}: no HTTP/2 form, 502`)
      t.match(r.body, /bad_gateway/)
    }
  }
  t.same(died, [], 'nothing escaped')
  // HTTP/1.1 clients still get the head as the upstream sent it.
  const one = await request(`${b.url}/plain/two-locations`)
  t.equal(one.statusCode, 200)
  t.same(one.headers.location, ['/a', '/b'])
  await one.body.dump()
  t.equal((await get(s, '/plain/same-nosniff')).status, 200, 'still serving')
})

t.test('a gRPC call the bouncer answers itself is reset with NO_ERROR when its client is still sending', async (t) => {
  // gRPC calls are exempt from request_timeout (they have grpc-timeout), and the idle timeout
  // counts open streams: a denied call whose client never ended it held its stream and its
  // connection open for ever (one client could fill server.max_connections).
  const up = await startUpstream()
  const b = await startBouncer({ upstream: up.url, rego: { 'p.rego': 'package bouncer\n\ndefault decision := {"allow": false}\n' }, config: { server: { http2: { cleartext: true } } } })
  t.teardown(async () => { await b.close(); await up.close() })
  const s = h2connect(b.url)
  t.teardown(() => s.close())
  const st = s.request({ ':method': 'POST', ':path': '/x.Svc/M', 'content-type': 'application/grpc', te: 'trailers' }, { endStream: false })
  st.write(Buffer.from([0, 0, 0, 0, 1, 0x41])) // one message, and no END_STREAM
  const answer = await new Promise<{ status: string | undefined; rst: number }>((resolve, reject) => {
    let status: string | undefined
    st.on('response', (h) => { status = h['grpc-status'] as string | undefined })
    st.on('error', reject)
    st.resume()
    st.on('close', () => resolve({ status, rst: st.rstCode ?? -1 }))
  })
  t.equal(answer.status, '7', 'denied: PERMISSION_DENIED')
  t.equal(answer.rst, 0, 'and the stream reset with NO_ERROR once the answer was sent')
  t.equal(up.requests.length, 0)
})

t.test('gRPC: a decision listing a single-value response header twice fails the call, never the process', async (t) => {
  // On the allow path writeHead threw inside the upstream's 'response' handler (the process
  // exited); on the deny path the status was lost.
  const { createServer: h2server } = await import('node:http2')
  const g = h2server()
  g.on('stream', (st) => {
    st.on('data', () => {})
    st.on('end', () => {
      st.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true })
      st.on('wantTrailers', () => st.sendTrailers({ 'grpc-status': '0' }))
      st.end(Buffer.from([0, 0, 0, 0, 0]))
    })
  })
  await new Promise<void>((resolve) => g.listen(0, '127.0.0.1', () => resolve()))
  t.teardown(() => g.close())
  const up = await startUpstream()
  const rego = `package bouncer

default decision := {"allow": false}

decision := {"allow": false, "response_headers": {"location": ["/a", "/b"]}} if input.parsed_path[0] == "deny"

decision := {"allow": true, "response_headers": {"location": ["/a", "/b"]}} if input.parsed_path[0] == "allow"

decision := {"allow": true, "response_headers": {"x-content-type-options": ["nosniff", "nosniff"]}} if input.parsed_path[0] == "same"
`
  const b = await startBouncer({ upstream: up.url, rego: { 'p.rego': rego }, config: { server: { http2: { cleartext: true } }, upstream: { http2: { url: `http://127.0.0.1:${(g.address() as import('node:net').AddressInfo).port}` } } } })
  t.teardown(async () => { await b.close(); await up.close() })
  const died: unknown[] = []
  const onDeath = (e: unknown): void => { died.push(e) }
  process.on('uncaughtException', onDeath)
  t.teardown(() => process.off('uncaughtException', onDeath))
  const s = h2connect(b.url)
  t.teardown(() => s.close())
  const call = (path: string): Promise<{ status: string | undefined; location: unknown }> => new Promise((resolve, reject) => {
    const st = s.request({ ':method': 'POST', ':path': path, 'content-type': 'application/grpc', te: 'trailers' })
    let status: string | undefined
    let location: unknown
    st.on('response', (h) => { status = h['grpc-status'] as string | undefined; location = h.location })
    st.on('trailers', (h) => { status ??= h['grpc-status'] as string | undefined })
    st.on('error', reject)
    st.on('close', () => resolve({ status, location }))
    st.resume()
    st.end(Buffer.from([0, 0, 0, 0, 0]))
  })
  t.same(await call('/allow/Svc/M'), { status: '14', location: undefined }, 'allowed: UNAVAILABLE, nothing half-sent')
  t.same(await call('/deny/Svc/M'), { status: '7', location: undefined }, 'denied: PERMISSION_DENIED, without the headers')
  t.same((await call('/same/Svc/M')).status, '0', 'the same value twice: sent once, the call goes through')
  t.same(died, [], 'nothing escaped')
})
