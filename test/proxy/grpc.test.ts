// gRPC forwarding (issue 17 item 6), at the forwarder level: a real @grpc/grpc-js client calls a
// real @grpc/grpc-js server through an HTTP/2 front built from the proxy's own parts (listener,
// request view, grpc.ts), with a decision supplied by the test. Unary and the three streaming
// kinds, metadata and trailers both ways, denials as gRPC statuses, upstream failures, and broken
// streams that must not disturb the connection's other streams.
import { connect as h2connect, createServer as createH2Server, constants as h2, type Http2ServerRequest, type Http2ServerResponse, type IncomingHttpHeaders, type ServerHttp2Stream } from 'node:http2'
import type { AddressInfo } from 'node:net'
import t, { type Test } from 'tap'
import { pino } from 'pino'
import { createConfig } from '../../src/config/index.js'
import { createProxyServer } from '../../src/proxy/listener.js'
import { createGrpcForwarder, encodeGrpcMessage, grpcDenialReply, grpcErrorReply, grpcStatusForHttp, isGrpcContentType, sendGrpcReply, type GrpcOutcome } from '../../src/proxy/grpc.js'
import { upstreamRequestHeaders } from '../../src/proxy/headers.js'
import { parseDecision } from '../../src/proxy/decision.js'
import { collect, echoClient, grpc, startEchoServer, unary, type Echo, type Msg } from './fixtures/grpc.js'
import { hasOpenssl, Pki } from '../helpers/pki.js'
import { tempDir } from '../decision-log/fixtures/control-plane.js'

type Verdict = { deny?: Record<string, unknown>; fail?: number }

interface Front { port: number; outcomes: GrpcOutcome[]; requests: number }

/** An h2c front: request view → decide → sendGrpcReply or forward. */
async function front (t: Test, upstreamUrl: string, decide: (req: Http2ServerRequest) => Verdict = () => ({}), tls?: { ca: string }): Promise<Front> {
  const cfg = createConfig({ upstream: { url: 'http://127.0.0.1:1', http2: { url: upstreamUrl }, connect_timeout_seconds: 2 }, server: { http2: { cleartext: true } } })
  const fwd = createGrpcForwarder(cfg.upstream, tls ? { tls: { ca: tls.ca, rejectUnauthorized: true } } : {})
  const state: Front = { port: 0, outcomes: [], requests: 0 }
  const onRequest = (req: Http2ServerRequest, res: Http2ServerResponse): void => {
    state.requests++
    if (!isGrpcContentType(req.headers['content-type'])) { res.statusCode = 415; res.end(); return }
    const v = decide(req)
    if (v.fail !== undefined) return sendGrpcReply(res, grpcErrorReply(v.fail, 'rid-1'))
    if (v.deny) return sendGrpcReply(res, grpcDenialReply(parseDecision({ allow: false, ...v.deny }), 'rid-1'))
    const incoming: IncomingHttpHeaders = {}
    for (const [k, val] of Object.entries(req.headers)) if (!k.startsWith(':')) incoming[k] = val
    const headers = upstreamRequestHeaders(incoming, { peerIp: '127.0.0.1', scheme: 'http', host: req.authority, requestId: 'rid-1' }, { trustForwarded: false, preserveHost: true })
    void fwd.forward({ req, res, path: req.url, headers, responseHeaders: { 'x-request-id': 'rid-1' } }).then((o) => {
      state.outcomes.push(o)
      if (o.kind === 'upstream_error' && !o.headSent) sendGrpcReply(res, grpcErrorReply(502, 'rid-1'))
    })
  }
  const ps = createProxyServer({ server: cfg.server, log: pino({ level: 'silent' }), onRequest: onRequest as never, onUpgrade: (_r, s) => s.destroy() })
  state.port = (await ps.listen(0, '127.0.0.1')).port
  t.teardown(async () => { ps.closeAll(); await ps.close(); await fwd.close() })
  return state
}

function client (t: Test, port: number): Echo {
  const c = echoClient(`127.0.0.1:${port}`)
  t.teardown(() => c.close())
  return c
}

t.test('content types that are gRPC', async (t) => {
  for (const ct of ['application/grpc', 'application/grpc+proto', 'application/grpc+json', 'application/grpc; charset=utf-8', 'Application/GRPC']) t.ok(isGrpcContentType(ct), ct)
  for (const ct of [undefined, 'application/json', 'application/grpc-web', 'application/grpc-web+proto', 'application/grpcx', 'text/grpc']) t.notOk(isGrpcContentType(ct), String(ct))
  t.equal(encodeGrpcMessage('no access: 100% sure ✓\n'), 'no access: 100%25 sure %E2%9C%93%0A')
  t.same([400, 401, 403, 404, 413, 429, 500, 502, 503, 504].map(grpcStatusForHttp), [13, 16, 7, 12, 8, 14, 2, 14, 14, 14])
})

t.test('unary and streaming calls through the front', async (t) => {
  const up = await startEchoServer()
  t.teardown(() => up.close())
  const f = await front(t, `http://127.0.0.1:${up.port}`)
  const c = client(t, f.port)

  t.test('unary: request metadata, response headers and trailers both ways', async (t) => {
    const r = await unary(c, { text: 'hi', n: 7 }, { 'x-custom': 'abc' })
    t.equal(r.error, null)
    t.same({ text: r.response?.text, n: r.response?.n }, { text: 'echo:hi', n: 7 })
    t.equal(r.headers?.['x-head'], 'upstream-head', 'response metadata (headers)')
    t.equal(r.headers?.['x-request-id'], 'rid-1', 'our x-request-id on the response head')
    t.equal(r.trailers?.['x-trailer'], 'from-upstream', 'trailing metadata')
    const seen = up.calls.at(-1)!
    t.equal(seen.metadata['x-custom'], 'abc', 'request metadata reached the upstream')
    t.equal(seen.metadata['x-request-id'], 'rid-1')
  })

  t.test('large messages both ways', async (t) => {
    const blob = Buffer.alloc(1_500_000, 0x61)
    const r = await unary(c, { text: 'big', n: 1, blob })
    t.equal(r.error, null)
    t.equal(r.response?.blob?.length, blob.length)
  })

  t.test('server streaming', async (t) => {
    const r = await collect<Msg>(c.ServerStream({ text: 's', n: 50 }))
    t.equal(r.error, null)
    t.equal(r.messages.length, 50)
    t.equal(r.messages[49].text, 's#49')
    t.equal(r.trailers?.['x-trailer'], 'from-upstream')
  })

  t.test('client streaming', async (t) => {
    const r = await new Promise<{ e: grpc.ServiceError | null; m?: Msg }>((resolve) => {
      const call = c.ClientStream(new grpc.Metadata(), (e, m) => resolve({ e, m }))
      for (let i = 0; i < 20; i++) call.write({ text: `p${i}`, n: i })
      call.end()
    })
    t.equal(r.e, null)
    t.equal(r.m?.n, 20)
    t.match(r.m?.text, /^p0,p1,.*,p19$/)
  })

  t.test('bidirectional: each answer arrives before the next message is sent', async (t) => {
    const call = c.Bidi()
    const got: string[] = []
    for (let i = 0; i < 5; i++) {
      const answer = new Promise<Msg>((resolve) => call.once('data', resolve))
      call.write({ text: `m${i}`, n: i })
      got.push((await answer).text)
    }
    const end = collect<Msg>(call)
    call.end()
    const r = await end
    t.same(got, ['echo:m0', 'echo:m1', 'echo:m2', 'echo:m3', 'echo:m4'])
    t.equal(r.error, null)
    t.equal(r.trailers?.['x-trailer'], 'from-upstream')
  })

  t.test('an upstream error status and its metadata reach the client', async (t) => {
    const r = await unary(c, { text: 'fail:5:no such thing', n: 0 })
    t.equal(r.error?.code, grpc.status.NOT_FOUND)
    t.equal(r.error?.details, 'no such thing')
    t.equal(r.trailers?.['x-why'], 'asked')
    const s = await collect<Msg>(c.ServerStream({ text: 'fail:9:stop', n: 0 }))
    t.equal(s.error?.code, grpc.status.FAILED_PRECONDITION)
  })

  t.test('many concurrent calls on one connection', async (t) => {
    const rs = await Promise.all(Array.from({ length: 40 }, (_, i) => unary(c, { text: `c${i}`, n: i })))
    t.equal(rs.filter((r) => r.error === null && r.response?.text === `echo:c${r.response?.n}`).length, 40)
  })
})

t.test('denials and failures are gRPC statuses (HTTP 200, trailers-only)', async (t) => {
  const up = await startEchoServer()
  t.teardown(() => up.close())
  const f = await front(t, `http://127.0.0.1:${up.port}`, (req) => {
    const who = req.headers['x-who']
    if (who === 'anon') return { deny: { status: 401, body: 'token required' } }
    if (who === 'intruder') return { deny: { headers: { 'x-denied-by': 'policy' } } }
    if (who === 'broken') return { fail: 503 }
    return {}
  })
  const c = client(t, f.port)
  const before = up.calls.length
  const anon = await unary(c, { text: 'x', n: 0 }, { 'x-who': 'anon' })
  t.equal(anon.error?.code, grpc.status.UNAUTHENTICATED, '401 → UNAUTHENTICATED (16)')
  t.equal(anon.error?.details, 'token required', 'the denial body is the grpc-message')
  const intruder = await unary(c, { text: 'x', n: 0 }, { 'x-who': 'intruder' })
  t.equal(intruder.error?.code, grpc.status.PERMISSION_DENIED, '403 → PERMISSION_DENIED (7)')
  t.equal(intruder.error?.details, 'forbidden')
  t.equal(intruder.trailers?.['x-denied-by'], 'policy', 'the decision\'s headers come with the status')
  t.equal(intruder.trailers?.['x-request-id'], 'rid-1')
  const broken = await unary(c, { text: 'x', n: 0 }, { 'x-who': 'broken' })
  t.equal(broken.error?.code, grpc.status.UNAVAILABLE, 'fail closed (503) → UNAVAILABLE')
  const stream = await collect<Msg>(c.ServerStream({ text: 's', n: 3 }, (() => { const m = new grpc.Metadata(); m.set('x-who', 'intruder'); return m })()))
  t.equal(stream.error?.code, grpc.status.PERMISSION_DENIED, 'a streaming call is denied the same way')
  t.equal(stream.messages.length, 0)
  t.equal(up.calls.length, before, 'nothing reached the upstream')

  // On the wire: HTTP 200, one HEADERS frame with END_STREAM.
  const s = h2connect(`http://127.0.0.1:${f.port}`)
  t.teardown(() => s.close())
  const head = await new Promise<{ headers: IncomingHttpHeaders; endStream: boolean }>((resolve) => {
    const st = s.request({ ':method': 'POST', ':path': '/bouncer.test.Echo/Unary', 'content-type': 'application/grpc', te: 'trailers', 'x-who': 'anon' })
    st.on('response', (headers, flags) => resolve({ headers, endStream: (flags & h2.NGHTTP2_FLAG_END_STREAM) !== 0 }))
    st.end()
  })
  t.equal(head.headers[':status'], 200)
  t.equal(head.headers['grpc-status'], '16')
  t.equal(head.headers['grpc-message'], 'token required')
  t.equal(head.headers['content-type'], 'application/grpc')
  t.ok(head.endStream, 'trailers-only')
})

t.test('a TLS upstream (https:// in upstream.http2.url): HTTP/2 by ALPN, verified with upstream.tls', { skip: hasOpenssl ? false : 'openssl is not on PATH' }, async (t) => {
  const pki = new Pki(tempDir(t))
  const cert = pki.issue('grpc-upstream', { san: 'IP:127.0.0.1' })
  const up = await startEchoServer({ cert: cert.certPem, key: cert.keyPem })
  t.teardown(() => up.close())
  const f = await front(t, `https://127.0.0.1:${up.port}`, undefined, { ca: pki.ca.certPem.toString() })
  const c = client(t, f.port)
  const r = await unary(c, { text: 'over tls', n: 1 })
  t.equal(r.error, null)
  t.equal(r.response?.text, 'echo:over tls')
  const s = await collect<Msg>(c.ServerStream({ text: 'x', n: 5 }))
  t.equal(s.messages.length, 5)
  // A CA that did not sign the upstream's certificate: the call fails, nothing is sent.
  const other = new Pki(tempDir(t), 'other-ca')
  const g = await front(t, `https://127.0.0.1:${up.port}`, undefined, { ca: other.ca.certPem.toString() })
  const bad = await unary(client(t, g.port), { text: 'x', n: 0 })
  t.equal(bad.error?.code, grpc.status.UNAVAILABLE, 'an unverifiable upstream certificate: UNAVAILABLE')
})

t.test('upstream unreachable: UNAVAILABLE; the front goes on', async (t) => {
  const up = await startEchoServer()
  const port = up.port
  await up.close()
  const f = await front(t, `http://127.0.0.1:${port}`)
  const c = client(t, f.port)
  const r = await unary(c, { text: 'x', n: 0 })
  t.equal(r.error?.code, grpc.status.UNAVAILABLE)
  t.equal(f.outcomes.at(-1)?.kind, 'upstream_error')
})

/** A raw HTTP/2 upstream for what grpc-js will not do: reset mid-response, record request trailers. */
async function rawUpstream (t: Test, onStream: (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => void): Promise<number> {
  const server = createH2Server()
  server.on('stream', (stream, headers) => { stream.on('error', () => {}); onStream(stream, headers) })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
  const sessions = new Set<import('node:http2').Http2Session>()
  server.on('session', (s) => { sessions.add(s); s.on('close', () => sessions.delete(s)) })
  t.teardown(() => new Promise<void>((resolve) => { for (const s of sessions) s.destroy(); server.close(() => resolve()) }))
  return (server.address() as AddressInfo).port
}

t.test('te: trailers reaches the upstream; the client\'s request trailers do not (the policy never saw them)', async (t) => {
  let seen: { te?: string; trailers?: IncomingHttpHeaders; body?: string } = {}
  const port = await rawUpstream(t, (stream, headers) => {
    let body = ''
    stream.on('data', (d: Buffer) => { body += d })
    stream.on('trailers', (tr: IncomingHttpHeaders) => { seen.trailers = tr })
    stream.on('end', () => {
      seen = { ...seen, te: headers.te as string, body }
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true })
      stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0', 'x-up-trailer': 'yes' }))
      stream.end(Buffer.from([0, 0, 0, 0, 0]))
    })
  })
  const f = await front(t, `http://127.0.0.1:${port}`)
  const s = h2connect(`http://127.0.0.1:${f.port}`)
  t.teardown(() => s.close())
  const got = await new Promise<{ trailers?: IncomingHttpHeaders; status?: number }>((resolve) => {
    const st = s.request({ ':method': 'POST', ':path': '/svc/M', 'content-type': 'application/grpc', te: 'trailers' }, { waitForTrailers: true })
    const out: { trailers?: IncomingHttpHeaders; status?: number } = {}
    // A reserved header and a forged credential, where the policy's view of the headers ends.
    st.on('wantTrailers', () => st.sendTrailers({ 'x-client-trailer': 'ct', 'x-bouncer-subject': 'admin', authorization: 'Bearer forged' }))
    st.on('response', (h) => { out.status = Number(h[':status']) })
    st.on('trailers', (tr) => { out.trailers = tr })
    st.on('close', () => resolve(out))
    st.resume()
    st.end('payload')
  })
  t.equal(seen.te, 'trailers', 'te: trailers kept')
  t.equal(seen.body, 'payload')
  t.equal(seen.trailers?.['x-client-trailer'], undefined, 'the client\'s trailers did not reach the upstream')
  t.equal(seen.trailers?.['x-bouncer-subject'], undefined, 'nor a reserved header in them')
  t.equal(seen.trailers?.authorization, undefined, 'nor a credential')
  t.equal(got.status, 200)
  t.equal(got.trailers?.['grpc-status'], '0')
  t.equal(got.trailers?.['x-up-trailer'], 'yes', 'the upstream\'s trailers reached the client')
})

t.test('a broken stream never takes down the other streams of the connection', async (t) => {
  const up = await startEchoServer()
  t.teardown(() => up.close())
  const f = await front(t, `http://127.0.0.1:${up.port}`)
  const c = client(t, f.port)

  t.test('a client cancels one streaming call; the other one on the channel goes on', async (t) => {
    const keep = c.Bidi()
    const drop = c.Bidi()
    const dropped = collect<Msg>(drop)
    const first = new Promise<Msg>((resolve) => drop.once('data', resolve))
    drop.write({ text: 'a', n: 1 })
    await first
    drop.cancel()
    t.equal((await dropped).error?.code, grpc.status.CANCELLED)
    const answer = new Promise<Msg>((resolve) => keep.once('data', resolve))
    keep.write({ text: 'still-here', n: 2 })
    t.equal((await answer).text, 'echo:still-here')
    const end = collect<Msg>(keep)
    keep.end()
    t.equal((await end).error, null)
  })

  t.test('a malformed stream (content-length says more than is sent) is reset alone', async (t) => {
    const s = h2connect(`http://127.0.0.1:${f.port}`)
    s.on('error', () => {})
    t.teardown(() => s.close())
    const bad = new Promise<number | undefined>((resolve) => {
      const st = s.request({ ':method': 'POST', ':path': '/bouncer.test.Echo/Unary', 'content-type': 'application/grpc', te: 'trailers', 'content-length': '100' })
      st.on('error', () => {})
      st.on('close', () => resolve(st.rstCode))
      st.resume()
      st.end(Buffer.from([0, 0, 0, 0, 0]))
    })
    // A good call on the same session, started while the bad one is open.
    const good = new Promise<IncomingHttpHeaders | undefined>((resolve) => {
      const st = s.request({ ':method': 'POST', ':path': '/bouncer.test.Echo/Unary', 'content-type': 'application/grpc', te: 'trailers' })
      let trailers: IncomingHttpHeaders | undefined
      st.on('trailers', (tr) => { trailers = tr })
      st.on('error', () => {})
      st.on('close', () => resolve(trailers))
      st.resume()
      st.end(Buffer.from([0, 0, 0, 0, 4, 0x0a, 0x02, 0x6f, 0x6b])) // Msg{text:"ok"}
    })
    t.not(await bad, h2.NGHTTP2_NO_ERROR, 'the malformed stream was reset')
    t.equal((await good)?.['grpc-status'], '0', 'the other stream completed')
    t.notOk(s.destroyed, 'the connection is still open')
    const again = await unary(c, { text: 'after', n: 0 })
    t.equal(again.response?.text, 'echo:after')
  })
})

t.test('the upstream resets a call mid-response: that call fails, concurrent calls do not', async (t) => {
  const port = await rawUpstream(t, (stream, headers) => {
    stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true })
    if (headers[':path'] === '/svc/Reset') {
      stream.write(Buffer.from([0, 0, 0, 0, 0]))
      setImmediate(() => stream.close(h2.NGHTTP2_INTERNAL_ERROR))
      return
    }
    stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }))
    stream.resume()
    stream.on('end', () => stream.end(Buffer.from([0, 0, 0, 0, 0])))
  })
  const f = await front(t, `http://127.0.0.1:${port}`)
  const s = h2connect(`http://127.0.0.1:${f.port}`)
  s.on('error', () => {})
  t.teardown(() => s.close())
  const call = (path: string): Promise<{ rst?: number; grpcStatus?: string }> => new Promise((resolve) => {
    const st = s.request({ ':method': 'POST', ':path': path, 'content-type': 'application/grpc', te: 'trailers' })
    let grpcStatus: string | undefined
    st.on('trailers', (tr) => { grpcStatus = tr['grpc-status'] as string })
    st.on('error', () => {})
    st.on('close', () => resolve({ rst: st.rstCode, grpcStatus }))
    st.resume()
    st.end(Buffer.from([0, 0, 0, 0, 0]))
  })
  const [reset, ok1, ok2] = await Promise.all([call('/svc/Reset'), call('/svc/Ok'), call('/svc/Ok')])
  t.equal(reset.rst, h2.NGHTTP2_INTERNAL_ERROR, 'the reset is passed on to the client\'s stream')
  t.equal(reset.grpcStatus, undefined, 'never a status that looks like success')
  t.equal(ok1.grpcStatus, '0')
  t.equal(ok2.grpcStatus, '0')
  t.notOk(s.destroyed)
  t.ok(f.outcomes.some((o) => o.kind === 'upstream_error' && o.headSent && o.failure === 'reset'))
})
