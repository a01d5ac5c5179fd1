// server.send_timeout_seconds (review helper, resource exhaustion, 2026-12-07): a client that
// stops reading a relayed response holds its upstream connection (undici is paused on it); a
// few hundred such clients took every connection of upstream.connections, and every other
// request waited with no 504. A client that leaves a response unread for send_timeout_seconds
// is now cut, and the upstream request aborted.
import t from 'tap'
import { connect as h2connect } from 'node:http2'
import { connect, createServer, type AddressInfo } from 'node:net'
import { request } from 'undici'
import { startBouncer, startUpstream } from '../helpers/index.js'

const POLICY = 'package bouncer\n\ndecision := {"allow": true}\n'
const BIG = Buffer.alloc(16 * 1024 * 1024, 0x61)

t.test('a client that stops reading is cut after send_timeout_seconds, and the upstream connection freed', async (t) => {
  const up = await startUpstream()
  let closedEarly = 0
  up.handle = (req, res) => {
    if (req.url === '/big') {
      res.on('close', () => { if (!res.writableFinished) closedEarly++ })
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(BIG.length) })
      res.end(BIG)
      return
    }
    res.writeHead(200, { 'content-type': 'text/plain' }); res.end('ok')
  }
  // One upstream connection: while the stalled response holds it, nothing else can go through.
  const b = await startBouncer({
    upstream: up.url, rego: { 'p.rego': POLICY },
    config: { server: { send_timeout_seconds: 1, http2: { cleartext: true } }, upstream: { connections: 1 } } as never,
  })
  t.teardown(async () => { await b.close(); await up.close() })

  // HTTP/1.1: the request is sent, the response never read.
  const t0 = Date.now()
  const cut = await new Promise<number>((resolve) => {
    const s = connect(b.port, '127.0.0.1', () => { s.write('GET /big HTTP/1.1\r\nHost: x\r\n\r\n'); s.pause() })
    s.on('error', () => {})
    s.on('close', () => resolve(Date.now() - t0))
    setTimeout(() => { s.destroy(); resolve(-1) }, 10_000)
    // A paused socket sees no FIN; its reset comes as an error or close once the bouncer cuts it.
    setTimeout(() => s.resume(), 4000)
  })
  t.ok(cut > 0, `the client was cut (${cut} ms)`)
  const r = await request(`${b.url}/small`, { headersTimeout: 5000 })
  t.equal(r.statusCode, 200, 'the upstream connection was freed: another request goes through')
  await r.body.dump()
  t.equal(closedEarly, 1, 'the upstream response was aborted, not read to its end')

  // HTTP/2: a stream whose window the client keeps closed.
  const session = h2connect(b.url)
  session.on('error', () => {})
  const reset = await new Promise<boolean>((resolve) => {
    const st = session.request({ ':method': 'GET', ':path': '/big' })
    let n = 0
    st.on('response', () => st.pause())
    st.on('data', (d: Buffer) => { n += d.length })
    st.on('error', () => {})
    st.on('close', () => resolve(n < BIG.length))
    // A paused stream reports its reset once read again.
    setTimeout(() => st.resume(), 4000)
    setTimeout(() => resolve(false), 10_000)
  })
  t.ok(reset, 'the HTTP/2 stream was closed before its body was sent')
  session.close()
  const r2 = await request(`${b.url}/small`, { headersTimeout: 5000 })
  t.equal(r2.statusCode, 200, 'and the connection freed again')
  await r2.body.dump()
  const m = await request(`${b.adminUrl}/metrics`)
  t.match(await m.body.text(), /bouncer_rejected_requests_total\{reason="send_timeout"\} 2/, 'both counted as send timeouts')
})

t.test('a slow reader that keeps reading is not cut', async (t) => {
  const up = await startUpstream()
  up.handle = (_req, res) => { res.writeHead(200, { 'content-type': 'application/octet-stream' }); res.end(Buffer.alloc(4 * 1024 * 1024, 0x62)) }
  const b = await startBouncer({ upstream: up.url, rego: { 'p.rego': POLICY }, config: { server: { send_timeout_seconds: 1 } } as never })
  t.teardown(async () => { await b.close(); await up.close() })
  const got = await new Promise<number>((resolve) => {
    let n = 0
    const s = connect(b.port, '127.0.0.1', () => s.write('GET /x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'))
    s.on('error', () => {})
    // A pause of 300 ms after each 512 KiB: slower than the upstream, never idle for a second.
    let since = 0
    s.on('data', (d: Buffer) => {
      n += d.length
      since += d.length
      if (since >= 512 * 1024) { since = 0; s.pause(); setTimeout(() => s.resume(), 300) }
    })
    s.on('close', () => resolve(n))
  })
  t.ok(got > 4 * 1024 * 1024, `the whole response arrived (${got} bytes with the head)`)
})

t.test('an Upgrade answered with a plain response: a client that does not read it is cut too', async (t) => {
  // The upstream answers the WebSocket handshake with 200 and a large body.
  let upstreamClosed = 0
  const raw = createServer((sock) => {
    sock.on('error', () => {})
    sock.on('close', () => { upstreamClosed++ })
    sock.once('data', () => {
      sock.write(`HTTP/1.1 200 OK\r\ncontent-type: application/octet-stream\r\ncontent-length: ${BIG.length}\r\n\r\n`)
      sock.write(BIG)
    })
  })
  await new Promise<void>((resolve) => raw.listen(0, '127.0.0.1', resolve))
  const b = await startBouncer({
    upstream: `http://127.0.0.1:${(raw.address() as AddressInfo).port}`, rego: { 'p.rego': POLICY },
    config: { server: { send_timeout_seconds: 1, upgrade: { allowed: ['websocket'] } }, upstream: { connections: 1 } } as never,
  })
  t.teardown(async () => { await b.close(); raw.close() })
  const s = connect(b.port, '127.0.0.1', () => {
    s.write('GET /ws HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n')
    s.pause() // never read
  })
  s.on('error', () => {})
  const until = Date.now() + 6000
  while (upstreamClosed === 0 && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 100))
  t.equal(upstreamClosed, 1, 'the upstream connection was closed (the request aborted), not held')
  s.destroy()
  const m = await request(`${b.adminUrl}/metrics`)
  t.match(await m.body.text(), /bouncer_rejected_requests_total\{reason="send_timeout"\} 1/, 'counted as a send timeout')
})
