// gRPC calls cut on either side (review helper, 2026-12-07):
//   - on the h2c port, a client whose connection went away (FIN, no RST_STREAM) was never
//     noticed: the call and its upstream stream stayed open for good (the socket was accepted
//     half-open by the HTTP/1.1 server that routes h2c by preface);
//   - an upstream whose connection dropped mid-response (Node ends the stream before closing
//     it), or that ended without trailers, was passed on as a clean end: a truncated success,
//     logged as ok. Now the client's stream is reset (INTERNAL) and the call is an upstream error.
import { connect as h2connect, constants as h2, createServer as h2Server, type IncomingHttpHeaders, type ServerHttp2Stream } from 'node:http2'
import type { AddressInfo } from 'node:net'
import t, { type Test } from 'tap'
import { startBouncer, startUpstream } from '../helpers/index.js'

const POLICY = 'package bouncer\n\ndecision := {"allow": true}\n'
const MSG = Buffer.from([0, 0, 0, 0, 2, 0x10, 1])

interface Seen { path: string; authority: string; closed: boolean; rst?: number }

async function rawUpstream (t: Test): Promise<{ url: string; seen: Seen[] }> {
  const seen: Seen[] = []
  const server = h2Server()
  const sessions = new Set<import('node:http2').Http2Session>()
  server.on('session', (s) => { sessions.add(s); s.on('close', () => sessions.delete(s)) })
  server.on('stream', (st: ServerHttp2Stream, headers: IncomingHttpHeaders) => {
    const s: Seen = { path: String(headers[':path']), authority: String(headers[':authority']), closed: false }
    seen.push(s)
    st.on('error', () => {})
    st.on('close', () => { s.closed = true; s.rst = st.rstCode })
    if (s.path.endsWith('/Hold')) return // reads the request and answers nothing
    // A load balancer's answer: an HTTP error, no gRPC trailers (HEADERS, empty DATA with END_STREAM).
    if (s.path.endsWith('/Http503')) { st.respond({ ':status': 503 }); st.end(); return }
    st.respond({ ':status': 200, 'content-type': 'application/grpc' })
    if (s.path.endsWith('/NoTrailers')) { st.end(MSG); return }
    st.write(MSG)
    if (s.path.endsWith('/KillSocket')) setTimeout(() => st.session?.socket.destroy(), 50)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => { for (const s of sessions) s.destroy(); server.close(() => resolve()) }))
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen }
}

const until = async (cond: () => boolean, ms = 5000): Promise<boolean> => {
  const end = Date.now() + ms
  while (!cond() && Date.now() < end) await new Promise((resolve) => setTimeout(resolve, 25))
  return cond()
}

t.test('gRPC over h2c: a client whose connection goes away has its upstream call cancelled', async (t) => {
  const up = await rawUpstream(t)
  const web = await startUpstream()
  const b = await startBouncer({ upstream: web.url, rego: { 'p.rego': POLICY }, config: { server: { http2: { cleartext: true } }, upstream: { http2: { url: up.url } } } as never })
  t.teardown(async () => { await b.close(); await web.close() })
  const s = h2connect(b.url)
  s.on('error', () => {})
  const st = s.request({ ':method': 'POST', ':path': '/pkg.Svc/Hold', 'content-type': 'application/grpc', te: 'trailers' })
  st.on('error', () => {})
  st.write(MSG)
  t.ok(await until(() => up.seen.length === 1), 'the call reached the upstream')
  s.socket.destroy() // FIN, no RST_STREAM, no GOAWAY: a client process that died
  t.ok(await until(() => up.seen[0]!.closed), 'the upstream stream is closed')
  t.equal(up.seen[0]!.rst, h2.NGHTTP2_CANCEL, 'cancelled')
})

t.test('gRPC: an upstream cut mid-response, or ending without trailers, resets the client\'s stream', async (t) => {
  const up = await rawUpstream(t)
  const web = await startUpstream()
  const b = await startBouncer({ upstream: web.url, rego: { 'p.rego': POLICY }, config: { server: { http2: { cleartext: true } }, upstream: { http2: { url: up.url } } } as never })
  t.teardown(async () => { await b.close(); await web.close() })
  for (const method of ['KillSocket', 'NoTrailers']) {
    const s = h2connect(b.url)
    s.on('error', () => {})
    const got = await new Promise<{ bytes: number; rst: number; ended: boolean }>((resolve) => {
      const st = s.request({ ':method': 'POST', ':path': `/pkg.Svc/${method}`, 'content-type': 'application/grpc', te: 'trailers' })
      let bytes = 0
      let ended = false
      st.on('data', (d: Buffer) => { bytes += d.length })
      st.on('end', () => { ended = true })
      st.on('error', () => {})
      st.on('close', () => resolve({ bytes, rst: st.rstCode ?? 0, ended }))
      st.end(MSG)
    })
    s.close()
    t.equal(got.rst, h2.NGHTTP2_INTERNAL_ERROR, `${method}: the client's stream is reset with INTERNAL_ERROR, never ended cleanly`)
    t.equal(got.bytes, MSG.length, `${method}: what had arrived was relayed`)
  }
  // An HTTP error without trailers is passed on as it came: the client makes UNAVAILABLE of it
  // (review of the fix: it became INTERNAL, which clients do not retry).
  const s = h2connect(b.url)
  s.on('error', () => {})
  const lb = await new Promise<{ status: number; rst: number }>((resolve) => {
    const st = s.request({ ':method': 'POST', ':path': '/pkg.Svc/Http503', 'content-type': 'application/grpc', te: 'trailers' })
    let status = 0
    st.on('response', (h) => { status = Number(h[':status']) })
    st.on('data', () => {})
    st.on('error', () => {})
    st.on('close', () => resolve({ status, rst: st.rstCode ?? 0 }))
    st.end(MSG)
  })
  s.close()
  t.equal(lb.status, 503, 'the upstream\'s 503 reaches the client')
  t.equal(lb.rst, h2.NGHTTP2_NO_ERROR, 'and its stream ends cleanly, not reset')
  const metrics = await (await fetch(`${b.adminUrl}/metrics`)).text()
  t.match(metrics, /bouncer_upstream_errors_total\{reason="reset"\} 2/, 'both cuts counted as upstream failures, the 503 not as a reset')
})

t.test('gRPC without preserve_host: :authority is the gRPC upstream\'s, not the HTTP upstream\'s (review helper)', async (t) => {
  const up = await rawUpstream(t)
  const web = await startUpstream()
  const b = await startBouncer({ upstream: web.url, rego: { 'p.rego': POLICY }, config: { server: { http2: { cleartext: true } }, upstream: { preserve_host: false, http2: { url: up.url } } } as never })
  t.teardown(async () => { await b.close(); await web.close() })
  const s = h2connect(b.url)
  s.on('error', () => {})
  await new Promise<void>((resolve) => {
    const st = s.request({ ':method': 'POST', ':path': '/pkg.Svc/Call', ':authority': 'client.example', 'content-type': 'application/grpc', te: 'trailers' })
    st.on('error', () => {})
    st.on('close', () => resolve())
    st.resume()
    st.end(MSG)
    setTimeout(() => st.close(), 300)
  })
  s.close()
  t.equal(up.seen[0]?.authority, new URL(up.url).host, 'the gRPC upstream\'s own authority')
})
