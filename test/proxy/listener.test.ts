// The proxy port's server (issue 17 item 5): on a cleartext port, h2c with prior knowledge beside
// HTTP/1.1 when server.http2.cleartext is on (each connection's first bytes decide), HTTP/1.1
// only when it is off; broken streams stay that stream's problem; graceful close lets open
// streams finish (GOAWAY).
import { connect as netConnect } from 'node:net'
import { connect as h2connect, constants as h2, type ClientHttp2Session, type IncomingHttpHeaders } from 'node:http2'
import { createHash } from 'node:crypto'
import t, { type Test } from 'tap'
import { pino } from 'pino'
import { createConfig } from '../../src/config/index.js'
import { createProxyServer, H2_PREFACE, protocolName, type ProxyRequest, type ProxyResponse, type ProxyServer } from '../../src/proxy/listener.js'

type Handler = (req: ProxyRequest, res: ProxyResponse) => void

/** Answers "<protocol> <method> <url> body=<bytes> <sha1 prefix>" once the body is read. */
const echo: Handler = (req, res) => {
  const h = createHash('sha1')
  let n = 0
  req.on('data', (d: Buffer) => { n += d.length; h.update(d) })
  req.on('end', () => res.end(`${protocolName(req)} ${req.method} ${req.url} body=${n} ${h.digest('hex').slice(0, 8)}`))
}

async function start (t: Test, server: Record<string, unknown>, onRequest: Handler = echo): Promise<{ ps: ProxyServer; port: number }> {
  const cfg = createConfig({ upstream: { url: 'http://127.0.0.1:1' }, server: { host: '127.0.0.1', port: 0, ...server } })
  const ps = createProxyServer({ server: cfg.server, log: pino({ level: 'silent' }), onRequest, onUpgrade: (_r, s) => s.destroy() })
  const { port } = await ps.listen(0, '127.0.0.1')
  t.teardown(async () => { ps.closeAll(); await ps.close() })
  return { ps, port }
}

/** Writes the chunks one by one (a pause between them), resolves everything read until the peer closes. */
function raw (port: number, chunks: (string | Buffer)[]): Promise<string> {
  return new Promise((resolve) => {
    const s = netConnect(port, '127.0.0.1')
    let out = ''
    s.on('data', (d) => { out += String(d) })
    s.on('close', () => resolve(out))
    s.on('error', () => {})
    void (async () => {
      for (const c of chunks) {
        if (s.destroyed) return
        s.write(c)
        await new Promise((r) => setImmediate(r))
        await new Promise((r) => setTimeout(r, 10))
      }
    })()
  })
}

function h2get (s: ClientHttp2Session, path: string, body?: Buffer): Promise<{ status: number; text: string; rst?: number }> {
  return new Promise((resolve) => {
    const st = s.request({ ':method': body ? 'POST' : 'GET', ':path': path }, { endStream: !body })
    let status = 0
    let text = ''
    st.on('response', (h: IncomingHttpHeaders) => { status = Number(h[':status']) })
    st.on('data', (d: Buffer) => { text += d })
    st.on('error', () => {})
    st.on('close', () => resolve({ status, text, rst: st.rstCode }))
    if (body) st.end(body)
  })
}

const sha = (b: Buffer): string => createHash('sha1').update(b).digest('hex').slice(0, 8)

t.test('h2c with prior knowledge and HTTP/1.1 on one cleartext port', async (t) => {
  const { ps, port } = await start(t, { http2: { cleartext: true } })
  t.same(ps.protocols, { tls: false, h2: false, h2c: true })
  const big = Buffer.alloc(3_000_000, 7)

  const s = h2connect(`http://127.0.0.1:${port}`)
  t.teardown(() => s.close())
  t.equal((await h2get(s, '/a?x=1')).text, 'HTTP/2 GET /a?x=1 body=0 da39a3ee')
  t.equal((await h2get(s, '/big', big)).text, `HTTP/2 POST /big body=3000000 ${sha(big)}`, 'a large body, in many frames')
  const many = await Promise.all(Array.from({ length: 30 }, (_, i) => h2get(s, `/c${i}`)))
  t.equal(many.filter((r, i) => r.text === `HTTP/2 GET /c${i} body=0 da39a3ee`).length, 30, 'concurrent streams on one connection')

  const r1 = await fetch(`http://127.0.0.1:${port}/h1`, { method: 'PUT', body: 'abc' })
  t.equal(await r1.text(), 'HTTP/1.1 PUT /h1 body=3 a9993e36', 'HTTP/1.1 unchanged')

  // Byte by byte decisions: "P" could start either; "PUT" cannot be the preface.
  const slow = await raw(port, ['P', 'UT /slow HTTP/1.1\r\nHost: a\r\ncontent-length: 3000000\r\n\r\n', big, 'GET /next HTTP/1.1\r\nHost: a\r\nconnection: close\r\n\r\n'])
  t.match(slow, new RegExp(`HTTP/1.1 PUT /slow body=3000000 ${sha(big)}[\\s\\S]*HTTP/1.1 GET /next body=0`), 'a request split after its first byte, a big body, then a pipelined request')
  const pri = await raw(port, ['PR', 'I * HTTP/1.1\r\nHost: a\r\n\r\n'])
  t.notMatch(pri, /HTTP\/1\.1 200/, 'PRI that is not the HTTP/2 preface is not served')

  // The preface in pieces, then frames: an HTTP/2 session (its SETTINGS frame answers).
  const split = await new Promise<Buffer>((resolve) => {
    const sock = netConnect(port, '127.0.0.1')
    const got: Buffer[] = []
    sock.on('data', (d: Buffer) => { got.push(d); sock.destroy(); resolve(Buffer.concat(got)) })
    sock.on('error', () => {})
    sock.write(H2_PREFACE.subarray(0, 5))
    setTimeout(() => sock.write(Buffer.concat([H2_PREFACE.subarray(5), Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0])])), 20)
  })
  t.equal(split[3], 4, 'the server\'s first frame is SETTINGS')
})

t.test('server.http2.cleartext off (the default): the HTTP/2 preface is not served', async (t) => {
  const { ps, port } = await start(t, {})
  t.same(ps.protocols, { tls: false, h2: false, h2c: false })
  const s = h2connect(`http://127.0.0.1:${port}`)
  const failed = await new Promise<boolean>((resolve) => {
    s.on('error', () => resolve(true))
    s.on('close', () => resolve(true))
    const st = s.request({ ':path': '/' })
    st.on('error', () => resolve(true))
    st.on('close', () => resolve(true))
    st.on('response', () => resolve(false))
  })
  s.destroy()
  t.ok(failed, 'an h2c client gets no HTTP/2 answer')
  t.equal(await (await fetch(`http://127.0.0.1:${port}/x`)).text(), 'HTTP/1.1 GET /x body=0 da39a3ee')
})

t.test('a stream that breaks (reset by the client, a handler that throws nothing but destroys) leaves the others alone', async (t) => {
  const { port } = await start(t, { http2: { cleartext: true } }, (req, res) => {
    if (req.url === '/destroy') { (res as import('node:http2').Http2ServerResponse).stream.close(h2.NGHTTP2_INTERNAL_ERROR); return }
    if (req.url === '/hang') return // answered never; the client resets it
    echo(req, res)
  })
  const s = h2connect(`http://127.0.0.1:${port}`)
  s.on('error', () => {})
  t.teardown(() => s.close())
  const hang = s.request({ ':path': '/hang' })
  hang.on('error', () => {})
  const [destroyed, ok] = await Promise.all([h2get(s, '/destroy'), h2get(s, '/ok')])
  hang.close(h2.NGHTTP2_CANCEL)
  t.equal(destroyed.rst, h2.NGHTTP2_INTERNAL_ERROR)
  t.equal(ok.text, 'HTTP/2 GET /ok body=0 da39a3ee')
  t.equal((await h2get(s, '/after')).status, 200, 'the connection goes on')
  t.notOk(s.destroyed)
})

t.test('close(): new connections refused, open HTTP/2 streams finish (GOAWAY)', async (t) => {
  let release!: () => void
  const gate = new Promise<void>((resolve) => { release = resolve })
  let arrived!: () => void
  const seen = new Promise<void>((resolve) => { arrived = resolve })
  const { ps, port } = await start(t, { http2: { cleartext: true } }, (req, res) => {
    if (req.url === '/slow') { arrived(); void gate.then(() => res.end('slow done')); return }
    echo(req, res)
  })
  const s = h2connect(`http://127.0.0.1:${port}`)
  s.on('error', () => {})
  t.teardown(() => s.destroy())
  t.equal((await h2get(s, '/warm')).status, 200)
  const inflight = h2get(s, '/slow')
  await seen
  const goaway = new Promise<void>((resolve) => s.once('goaway', () => resolve()))
  const closed = ps.close()
  await goaway
  release()
  t.equal((await inflight).text, 'slow done', 'the open stream finished after GOAWAY')
  await closed
  t.equal(ps.sessions.size, 0)
  await t.rejects(fetch(`http://127.0.0.1:${port}/x`), 'no longer listening')
})

t.test('idle HTTP/2 connections: closeIdle() spares one with an open stream; keep_alive_timeout_seconds closes an idle one', async (t) => {
  let release!: () => void
  const gate = new Promise<void>((resolve) => { release = resolve })
  let arrived!: () => void
  const seen = new Promise<void>((resolve) => { arrived = resolve })
  const { ps, port } = await start(t, { http2: { cleartext: true }, keep_alive_timeout_seconds: 0.2 }, (req, res) => {
    if (req.url === '/long') { arrived(); void gate.then(() => res.end('long done')); return }
    echo(req, res)
  })
  const s = h2connect(`http://127.0.0.1:${port}`)
  s.on('error', () => {})
  const long = h2get(s, '/long')
  await seen
  ps.closeIdle()
  t.equal((await h2get(s, '/beside')).status, 200, 'closeIdle() left the connection with an open stream alone')
  release()
  t.equal((await long).text, 'long done')
  // Nothing open now: the keep-alive timer closes it (waited for, not timed).
  await new Promise<void>((resolve) => { if (s.closed) resolve(); else s.once('close', () => resolve()) })
  t.pass('closed once idle')
})
