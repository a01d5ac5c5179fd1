// HTTP/2, TLS and gRPC through the whole bouncer (issue 17 items 4-6): buildApp with a policy
// compiled by the project's compiler. HTTP/2 streams go through the same pipeline as HTTP/1.1
// (protocol "HTTP/2" in the input, no pseudo-headers in the request view); on the TLS port the
// scheme is https and a verified client certificate is in attributes.source; gRPC calls from a
// real @grpc/grpc-js client reach a real @grpc/grpc-js server, or get a gRPC status.
import { connect as h2connect, constants as h2, type ClientHttp2Session, type IncomingHttpHeaders } from 'node:http2'
import { request as httpsRequest } from 'node:https'
import t, { type Test } from 'tap'
import { startBouncer, startUpstream, memoryLogger, type StartedBouncer, type Upstream } from '../helpers/index.js'
import { hasOpenssl, Pki } from '../helpers/pki.js'
import { tempDir } from '../decision-log/fixtures/control-plane.js'
import { collect, echoClient, grpc, startEchoServer, unary, type Echo, type EchoServer, type Msg } from './fixtures/grpc.js'

const POLICY = `package bouncer

pseudo := [k | input.attributes.request.http.headers[k]; startswith(k, ":")]

echo := {
  "x-bouncer-protocol": input.attributes.request.http.protocol,
  "x-bouncer-scheme": input.attributes.request.http.scheme,
  "x-bouncer-host": input.attributes.request.http.host,
  "x-bouncer-principal": object.get(input.attributes.source, "principal", "none"),
  "x-bouncer-cert-bytes": format_int(count(object.get(input.attributes.source, "certificate", "")), 10),
  "x-bouncer-pseudo": format_int(count(pseudo), 10),
  "x-bouncer-sni": object.get(input.attributes, ["tls_session", "sni"], "none"),
}

grpc_call if input.parsed_path[0] == "bouncer.test.Echo"

token := input.attributes.request.http.headers["x-token"]

default decision := {"allow": false, "status": 403, "body": "no entry"}

decision := {"allow": true, "headers": echo} if input.parsed_path[0] == "public"

decision := {"allow": false, "status": 401, "body": "token required"} if {
  grpc_call
  not token
}

decision := {"allow": false, "status": 403, "body": "not for you", "response_headers": {"x-denied-by": "policy"}} if {
  grpc_call
  token == "intruder"
}

decision := {"allow": true, "headers": echo} if {
  grpc_call
  token == "ok"
  not input.attributes.request.http.headers["x-want-mask"]
}

decision := {"allow": true, "mask": [{"path": "/text", "action": "redact"}]} if {
  grpc_call
  token == "ok"
  input.attributes.request.http.headers["x-want-mask"]
}
`

interface H2Answer { status: number; headers: IncomingHttpHeaders; body: string; rst?: number }

function h2req (s: ClientHttp2Session, headers: Record<string, string>, body?: string | Buffer): Promise<H2Answer> {
  return new Promise((resolve) => {
    const st = s.request(headers, { endStream: body === undefined })
    let status = 0
    let head: IncomingHttpHeaders = {}
    let text = ''
    st.on('response', (h) => { status = Number(h[':status']); head = h })
    st.on('data', (d: Buffer) => { text += d })
    st.on('error', () => {})
    st.on('close', () => resolve({ status, headers: head, body: text, rst: st.rstCode }))
    if (body !== undefined) st.end(body)
  })
}

async function setup (t: Test, config: Record<string, unknown> = {}): Promise<{ up: Upstream; echo: EchoServer; b: StartedBouncer; mem: ReturnType<typeof memoryLogger> }> {
  const up = await startUpstream()
  const echo = await startEchoServer()
  const mem = memoryLogger()
  const server = (config.server ?? {}) as Record<string, unknown>
  const b = await startBouncer({
    upstream: up.url,
    rego: { 'p.rego': POLICY },
    config: { ...config, server: { http2: { cleartext: true }, ...server }, upstream: { http2: { url: `http://127.0.0.1:${echo.port}` } } },
    deps: { logger: mem.logger },
  })
  t.teardown(async () => { await b.close(); await up.close(); await echo.close() })
  return { up, echo, b, mem }
}

t.test('h2c: HTTP/2 streams go through the same pipeline as HTTP/1.1', async (t) => {
  const { up, b, mem } = await setup(t)
  const s = h2connect(b.url)
  s.on('error', () => {})
  t.teardown(() => s.close())

  const r = await h2req(s, { ':method': 'GET', ':path': '/public/a?x=1', 'x-tenant': 'acme' })
  t.equal(r.status, 200)
  t.ok(r.headers['x-request-id'], 'our x-request-id')
  const got = up.requests.at(-1)!
  t.equal(got.url, '/public/a?x=1')
  t.equal(got.headers['x-bouncer-protocol'], 'HTTP/2', 'the policy saw protocol HTTP/2')
  t.equal(got.headers['x-bouncer-scheme'], 'http')
  t.equal(got.headers['x-bouncer-pseudo'], '0', 'no pseudo-header in the request view')
  t.equal(got.headers['x-bouncer-host'], `127.0.0.1:${b.port}`, ':authority is the host')
  t.equal(got.headers.host, `127.0.0.1:${b.port}`, 'and the Host forwarded')
  t.equal(got.headers['x-bouncer-principal'], 'none')
  t.equal(got.headers['x-tenant'], 'acme')
  for (const h of Object.keys(got.headers)) t.notOk(h.startsWith(':'), `${h} is not a pseudo-header`)
  const line = mem.lines().filter((l) => l.msg === 'request').at(-1)!
  t.equal(line.decision, 'allow')

  const denied = await h2req(s, { ':method': 'GET', ':path': '/private' })
  t.equal(denied.status, 403)
  t.equal(denied.body, 'no entry')

  // A streamed body without content-length (the client does not know its length).
  const body = Buffer.alloc(300_000, 0x62)
  const post = await h2req(s, { ':method': 'POST', ':path': '/public/upload', 'content-type': 'application/octet-stream' }, body)
  t.equal(post.status, 200)
  t.equal(up.requests.at(-1)!.body.length, body.length, 'the whole body reached the upstream')

  const many = await Promise.all(Array.from({ length: 20 }, (_, i) => h2req(s, { ':method': 'GET', ':path': `/public/m${i}` })))
  t.equal(many.filter((m) => m.status === 200).length, 20, 'concurrent streams')

  // HTTP/1.1 on the same port is unchanged.
  const h1 = await fetch(`${b.url}/public/h1`)
  t.equal(h1.status, 200)
  t.equal(up.requests.at(-1)!.headers['x-bouncer-protocol'], 'HTTP/1.1')

  // CONNECT over HTTP/2 is never tunnelled.
  const sentBefore = up.requests.length
  const connect = await h2req(s, { ':method': 'CONNECT', ':authority': 'example.com:443' })
  t.equal(connect.status, 400, 'refused as a tunnel to another host, by the bouncer (Node alone answers a bare 405)')
  t.match(String(connect.headers['x-request-id']), /^[0-9a-f-]{36}$/)
  t.equal((JSON.parse(connect.body) as { request_id: string }).request_id, connect.headers['x-request-id'])
  const grpcConnect = await h2req(s, { ':method': 'CONNECT', ':authority': 'example.com:443', 'content-type': 'application/grpc' })
  t.equal(grpcConnect.status, 400, 'with a gRPC content type too (a gRPC error reply is :status 200: "tunnel established" to CONNECT)')
  t.equal(up.requests.length, sentBefore, 'nothing reached the upstream')
  t.notOk(s.destroyed, 'the connection goes on')

  // Host and :authority naming different hosts: malformed (RFC 9113 §8.3.1), not judged by Host.
  const sent = up.requests.length
  const two = await h2req(s, { ':method': 'GET', ':path': '/public/x', ':authority': 'evil.example', host: 'good.example' })
  t.equal(two.status, 400, 'Host differs from :authority')
  t.equal(up.requests.length, sent, 'not forwarded')
  const same = await h2req(s, { ':method': 'GET', ':path': '/public/x', ':authority': 'Good.Example', host: 'good.example' })
  t.equal(same.status, 200, 'the same authority in both (case aside) passes')
  for (const [authority, host] of [[`127.0.0.1:${new URL(b.url).port}`, `127.0.0.1:${new URL(b.url).port}`], ['good.example', 'good.example:80'], ['good.example:80', 'good.example']]) {
    const r = await h2req(s, { ':method': 'GET', ':path': '/public/x', ':authority': authority, host })
    t.equal(r.status, 200, `${authority} and ${host}: the same authority once the scheme's default port is dropped`)
  }

  // A list in :authority: copied into X-Forwarded-Host, which upstreams split on commas.
  const listed = up.requests.length
  for (const authority of ['good.example,admin.example', 'admin.example,good.example']) {
    t.equal((await h2req(s, { ':method': 'GET', ':path': '/public/x', ':authority': authority })).status, 400, `:authority ${authority} refused`)
  }
  t.equal(up.requests.length, listed, 'not forwarded')

  // Methods HTTP/1.1 refuses are refused over HTTP/2 too: `delete` is not DELETE to a policy,
  // but a framework that upper-cases the method would run its DELETE route.
  const before = up.requests.length
  for (const method of ['delete', 'Get', 'FOO', 'G-E-T']) {
    const r = await h2req(s, { ':method': method, ':path': '/public/a' })
    t.equal(r.status, 400, `:method ${method} refused`)
  }
  t.equal(up.requests.length, before, 'none reached the upstream')
  const ok = await h2req(s, { ':method': 'DELETE', ':path': '/public/a' })
  t.equal(ok.status, 200, 'DELETE itself goes on to the policy')
  t.equal(up.requests.at(-1)!.method, 'DELETE')

  // nghttp2 holds :path to an absolute path only for http and https: with another :scheme an
  // absolute-form :path named another authority than :authority (review helper).
  const schemes = up.requests.length
  const foo = await h2req(s, { ':method': 'GET', ':scheme': 'foo', ':path': 'http://admin.example/public/x', ':authority': 'good.example' })
  t.equal(foo.status, 400, 'a :scheme other than http or https is refused')
  const fooPath = await h2req(s, { ':method': 'GET', ':scheme': 'foo', ':path': '/public/x', ':authority': 'good.example' })
  t.equal(fooPath.status, 400, 'whatever the :path')
  t.equal(up.requests.length, schemes, 'neither reached the upstream')
})

t.test('h2c: a request body not received within server.request_timeout_seconds resets the stream; gRPC calls are left to grpc-timeout', async (t) => {
  const { up, b } = await setup(t, { server: { http2: { cleartext: true }, request_timeout_seconds: 0.3 } })
  const s = h2connect(b.url)
  s.on('error', () => {})
  t.teardown(() => s.close())
  // A client-streaming gRPC call that has sent half a message: opened first, so its timer,
  // had it one, would fire before the plain stream's and its reset would arrive first.
  const call = s.request({ ':method': 'POST', ':path': '/bouncer.test.Echo/ClientStream', 'content-type': 'application/grpc', te: 'trailers', 'x-token': 'ok' }, { endStream: false })
  call.on('error', () => {})
  call.write(Buffer.from([0, 0, 0]))
  // A plain request trickling its body and never ending it.
  const slow = s.request({ ':method': 'POST', ':path': '/public/slow', 'content-type': 'text/plain' }, { endStream: false })
  slow.on('error', () => {})
  slow.write('abc')
  const rst = await new Promise<number>((resolve) => slow.on('close', () => resolve(slow.rstCode ?? -1)))
  t.equal(rst, h2.NGHTTP2_CANCEL, 'the slow stream is reset with CANCEL')
  t.equal(call.closed, false, 'the gRPC call is still open')
  t.notOk(up.requests.some((r) => r.url === '/public/slow'), 'the upstream never got a complete request')
  const metrics = await (await fetch(`${b.adminUrl}/metrics`)).text()
  t.match(metrics, /bouncer_rejected_requests_total\{reason="request_timeout"\} 1\b/, 'counted as a request timeout')
  const after = await h2req(s, { ':method': 'GET', ':path': '/public/after' })
  t.equal(after.status, 200, 'the connection goes on')
  call.close(h2.NGHTTP2_CANCEL)
})

t.test('gRPC through the bouncer: a real grpc-js client and server', async (t) => {
  const { echo, b, mem } = await setup(t)
  const c: Echo = echoClient(`127.0.0.1:${b.port}`)
  t.teardown(() => c.close())
  const md = (extra: Record<string, string> = {}): grpc.Metadata => {
    const m = new grpc.Metadata()
    for (const [k, v] of Object.entries({ 'x-token': 'ok', ...extra })) m.set(k, v)
    return m
  }

  t.test('unary, allowed: metadata both ways; the policy saw HTTP/2', async (t) => {
    const r = await unary(c, { text: 'hello', n: 3 }, { 'x-token': 'ok', 'x-custom': 'v' })
    t.equal(r.error, null)
    t.equal(r.response?.text, 'echo:hello')
    t.equal(r.headers?.['x-head'], 'upstream-head')
    t.equal(r.trailers?.['x-trailer'], 'from-upstream')
    t.ok(r.headers?.['x-request-id'], 'x-request-id on the response head')
    const seen = echo.calls.at(-1)!.metadata
    t.equal(seen['x-custom'], 'v')
    t.equal(seen['x-bouncer-protocol'], 'HTTP/2')
    t.equal(seen['x-bouncer-pseudo'], '0')
  })

  t.test('server streaming', async (t) => {
    const r = await collect<Msg>(c.ServerStream({ text: 's', n: 25 }, md()))
    t.equal(r.error, null)
    t.equal(r.messages.length, 25)
    t.equal(r.trailers?.['x-trailer'], 'from-upstream')
  })

  t.test('client streaming', async (t) => {
    const r = await new Promise<{ e: grpc.ServiceError | null; m?: Msg }>((resolve) => {
      const call = c.ClientStream(md(), (e, m) => resolve({ e, m }))
      for (let i = 0; i < 10; i++) call.write({ text: `p${i}`, n: i })
      call.end()
    })
    t.equal(r.e, null)
    t.equal(r.m?.n, 10)
  })

  t.test('bidirectional streaming, one message at a time', async (t) => {
    const call = c.Bidi(md())
    const got: string[] = []
    for (let i = 0; i < 4; i++) {
      const next = new Promise<Msg>((resolve) => call.once('data', resolve))
      call.write({ text: `b${i}`, n: i })
      got.push((await next).text)
    }
    const end = collect<Msg>(call)
    call.end()
    t.equal((await end).error, null)
    t.same(got, ['echo:b0', 'echo:b1', 'echo:b2', 'echo:b3'])
  })

  t.test('denials are gRPC statuses; nothing reaches the upstream', async (t) => {
    const before = echo.calls.length
    const anon = await unary(c, { text: 'x', n: 0 })
    t.equal(anon.error?.code, grpc.status.UNAUTHENTICATED, '401 → 16')
    t.equal(anon.error?.details, 'token required')
    const intruder = await unary(c, { text: 'x', n: 0 }, { 'x-token': 'intruder' })
    t.equal(intruder.error?.code, grpc.status.PERMISSION_DENIED, '403 → 7')
    t.equal(intruder.error?.details, 'not for you')
    t.equal(intruder.trailers?.['x-denied-by'], 'policy')
    const stream = await collect<Msg>(c.ServerStream({ text: 's', n: 3 }, md({ 'x-token': 'intruder' })))
    t.equal(stream.error?.code, grpc.status.PERMISSION_DENIED)
    t.equal(echo.calls.length, before)
    const line = mem.lines().filter((l) => l.msg === 'request').at(-1)!
    t.equal(line.decision, 'deny')
  })

  t.test('a decision that masks a gRPC response fails closed', async (t) => {
    const before = echo.calls.length
    const r = await unary(c, { text: 'secret', n: 0 }, { 'x-token': 'ok', 'x-want-mask': '1' })
    t.equal(r.error?.code, grpc.status.INTERNAL)
    t.equal(r.response, undefined, 'no message reached the client')
    t.equal(echo.calls.length, before, 'not forwarded')
    const line = mem.lines().filter((l) => l.msg === 'request').at(-1)!
    t.equal(line.code, 'BOUNCER_ERR_PROXY_GRPC_MASK')
  })

  t.test('a hand-made call (te: trailers, one framed message) gets the upstream\'s trailers', async (t) => {
    const s = h2connect(b.url)
    s.on('error', () => {})
    t.teardown(() => s.close())
    const frame = Buffer.from([0, 0, 0, 0, 4, 0x0a, 0x02, 0x6f, 0x6b])
    const r = await new Promise<{ trailers?: IncomingHttpHeaders; head?: IncomingHttpHeaders; rst?: number }>((resolve) => {
      const st = s.request({ ':method': 'POST', ':path': '/bouncer.test.Echo/Unary', 'content-type': 'application/grpc', te: 'trailers', 'x-token': 'ok' })
      let trailers: IncomingHttpHeaders | undefined
      let head: IncomingHttpHeaders | undefined
      st.on('response', (h) => { head = h })
      st.on('trailers', (tr) => { trailers = tr })
      st.on('error', () => {})
      st.on('close', () => resolve({ trailers, head, rst: st.rstCode }))
      st.resume()
      st.end(frame)
    })
    t.equal(r.trailers?.['grpc-status'], '0', 'the upstream\'s status, in trailers', { head: r.head, rst: r.rst })
  })

  t.test('a cancelled call and a malformed stream leave the connection\'s other calls alone', async (t) => {
    const keep = c.Bidi(md())
    const drop = c.Bidi(md())
    const dropped = collect<Msg>(drop)
    const first = new Promise<Msg>((resolve) => drop.once('data', resolve))
    drop.write({ text: 'a', n: 1 })
    await first
    drop.cancel()
    t.equal((await dropped).error?.code, grpc.status.CANCELLED)
    const s = h2connect(b.url)
    s.on('error', () => {})
    t.teardown(() => s.close())
    const bad = await h2req(s, { ':method': 'POST', ':path': '/bouncer.test.Echo/Unary', 'content-type': 'application/grpc', te: 'trailers', 'x-token': 'ok', 'content-length': '100' }, Buffer.from([0, 0, 0, 0, 0]))
    t.ok(bad.rst !== undefined && bad.rst !== h2.NGHTTP2_NO_ERROR, 'the malformed stream was reset')
    const answer = new Promise<Msg>((resolve) => keep.once('data', resolve))
    keep.write({ text: 'still-here', n: 2 })
    t.equal((await answer).text, 'echo:still-here')
    const end = collect<Msg>(keep)
    keep.end()
    t.equal((await end).error, null)
    t.equal((await unary(c, { text: 'after', n: 0 }, { 'x-token': 'ok' })).response?.text, 'echo:after', 'the process and the port go on')
  })
})

t.test('TLS port: HTTPS and HTTP/2 by ALPN; the client certificate in the input', { skip: hasOpenssl ? false : 'openssl is not on PATH' }, async (t) => {
  const dir = tempDir(t)
  const pki = new Pki(dir)
  const srv = pki.issue('bouncer', { san: 'IP:127.0.0.1' })
  const client = pki.issue('frontend', { san: 'URI:spiffe://cluster.local/ns/shop/sa/frontend', usage: 'clientAuth' })
  const { up, echo, b } = await setup(t, {
    server: { tls: { enabled: true, cert_file: srv.cert, key_file: srv.key, ca_file: pki.ca.cert, client_certificates: 'request' } },
  })
  const ca = pki.ca.certPem

  const h1 = await new Promise<number>((resolve, reject) => {
    const req = httpsRequest({ host: '127.0.0.1', port: b.port, path: '/public/tls1', ca, cert: client.certPem, key: client.keyPem, agent: false }, (res) => { res.resume(); res.on('end', () => resolve(res.statusCode ?? 0)) })
    req.on('error', reject)
    req.end()
  })
  t.equal(h1, 200)
  let got = up.requests.at(-1)!
  t.equal(got.headers['x-bouncer-protocol'], 'HTTP/1.1')
  t.equal(got.headers['x-bouncer-scheme'], 'https')
  t.equal(got.headers['x-forwarded-proto'], 'https')
  t.equal(got.headers['x-bouncer-principal'], 'spiffe://cluster.local/ns/shop/sa/frontend')
  t.ok(Number(got.headers['x-bouncer-cert-bytes']) > 300, 'the certificate (URL-encoded PEM) is in the input')

  const s = h2connect(`https://127.0.0.1:${b.port}`, { ca, cert: client.certPem, key: client.keyPem })
  s.on('error', () => {})
  t.teardown(() => s.close())
  const r = await h2req(s, { ':method': 'GET', ':path': '/public/tls2' })
  t.equal(r.status, 200)
  got = up.requests.at(-1)!
  t.equal(got.headers['x-bouncer-protocol'], 'HTTP/2')
  t.equal(got.headers['x-bouncer-scheme'], 'https')
  t.equal(got.headers['x-bouncer-principal'], 'spiffe://cluster.local/ns/shop/sa/frontend')
  t.equal(got.headers['x-bouncer-sni'], 'none', 'no server name sent (an IP address): no tls_session.sni')
  const named = h2connect(`https://127.0.0.1:${b.port}`, { ca, servername: '127.0.0.1.nip.example', checkServerIdentity: () => undefined })
  named.on('error', () => {})
  t.teardown(() => named.close())
  t.equal((await h2req(named, { ':method': 'GET', ':path': '/public/sni' })).status, 200)
  t.equal(up.requests.at(-1)!.headers['x-bouncer-sni'], '127.0.0.1.nip.example', 'the SNI sent is in input.attributes.tls_session.sni')

  // Without a client certificate ("request"): served, no principal.
  const anon = h2connect(`https://127.0.0.1:${b.port}`, { ca })
  anon.on('error', () => {})
  t.teardown(() => anon.close())
  t.equal((await h2req(anon, { ':method': 'GET', ':path': '/public/anon' })).status, 200)
  t.equal(up.requests.at(-1)!.headers['x-bouncer-principal'], 'none')

  // gRPC over TLS with grpc-js.
  const c = echoClient(`127.0.0.1:${b.port}`, { ca, cert: client.certPem, key: client.keyPem })
  t.teardown(() => c.close())
  const u = await unary(c, { text: 'secure', n: 1 }, { 'x-token': 'ok' })
  t.equal(u.error, null)
  t.equal(u.response?.text, 'echo:secure')
  t.equal(echo.calls.at(-1)!.metadata['x-bouncer-principal'], 'spiffe://cluster.local/ns/shop/sa/frontend')
  t.equal(echo.calls.at(-1)!.metadata['x-bouncer-scheme'], 'https')
})

t.test('shutdown: an HTTP/2 stream in flight finishes after GOAWAY', async (t) => {
  const { up, b } = await setup(t)
  let release!: () => void
  const gate = new Promise<void>((resolve) => { release = resolve })
  let arrived!: () => void
  const seen = new Promise<void>((resolve) => { arrived = resolve })
  up.raw = (req, res) => {
    req.resume()
    arrived()
    void gate.then(() => { res.writeHead(200, { 'content-type': 'text/plain' }); res.end('slow done') })
  }
  const s = h2connect(b.url)
  s.on('error', () => {})
  t.teardown(() => s.destroy())
  const inflight = h2req(s, { ':method': 'GET', ':path': '/public/slow' })
  await seen
  const goaway = new Promise<void>((resolve) => s.once('goaway', () => resolve()))
  const closed = b.app.close(10_000)
  await goaway
  release()
  const r = await inflight
  t.equal(r.status, 200)
  t.equal(r.body, 'slow done', 'the stream that was in flight completed')
  await closed
  t.equal(b.app.proxy.sessions.size, 0, 'every HTTP/2 connection closed')
})
