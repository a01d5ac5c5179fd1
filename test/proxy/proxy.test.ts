// End to end through buildApp: a real upstream that records what it receives, the real
// bouncer, policies compiled by the project's compiler.
import t from 'tap'
import { request } from 'undici'
import { Readable } from 'node:stream'
import { createHash } from 'node:crypto'
import { startBouncer, startUpstream, rawRequest, memoryLogger, type Upstream, type StartedBouncer } from '../helpers/index.js'

const POLICY = `package bouncer

default decision := {"allow": false, "reason": "default deny"}

decision := {"allow": true, "reason": "public"} if {
  input.parsed_path[0] == "public"
}

decision := {
  "allow": true,
  "reason": "decorated",
  "headers": {"x-added": "by-policy", "x-user": input.attributes.request.http.headers["x-user"]},
  "remove_headers": ["x-secret"],
  "response_headers": {"x-policy": "yes"},
} if {
  input.parsed_path[0] == "decorated"
}

decision := {"allow": false, "status": 429, "body": {"error": "slow down"}, "headers": {"retry-after": "5"}, "reason": "quota"} if {
  input.parsed_path[0] == "quota"
}

decision := {"allow": false, "status": 302, "headers": {"location": "/login"}, "body": "go to login"} if {
  input.parsed_path[0] == "redirect"
}

decision := {"allow": true, "reason": "input echo", "response_headers": {"x-input-path": input.attributes.request.http.path, "x-input-host": input.attributes.request.http.host, "x-input-q": concat(",", input.parsed_query.q), "x-input-src": input.attributes.source.address}} if {
  input.parsed_path[0] == "echo"
}

decision := true if input.parsed_path[0] == "bool"
`

const mem = memoryLogger()

t.test('proxy', async (t) => {
  const up: Upstream = await startUpstream()
  const b: StartedBouncer = await startBouncer({ upstream: up.url, rego: { 'p.rego': POLICY }, deps: { logger: mem.logger } })
  t.teardown(async () => { await b.close(); await up.close() })
  t.beforeEach(() => { up.requests.length = 0; up.handle = undefined; up.raw = undefined })

  t.test('allow forwards; deny never reaches the upstream', async (t) => {
    const ok = await request(`${b.url}/public/a?x=1`)
    t.equal(ok.statusCode, 200)
    t.same(await ok.body.json(), { ok: true, method: 'GET', url: '/public/a?x=1', body: '' })
    t.equal(ok.headers['x-upstream'], 'yes', 'upstream response headers are relayed')

    const no = await request(`${b.url}/private`, { method: 'POST', body: 'data' })
    t.equal(no.statusCode, 403)
    const body = await no.body.json() as Record<string, string>
    t.equal(body.error, 'forbidden')
    t.ok(body.request_id)
    t.equal(up.requests.length, 1, 'only the allowed request reached the upstream')
  })

  t.test('boolean decisions work', async (t) => {
    t.equal((await request(`${b.url}/bool`)).statusCode, 200)
  })

  t.test('decision headers: added, removed, response headers', async (t) => {
    const r = await request(`${b.url}/decorated`, { headers: { 'x-secret': 's3cr3t', 'x-user': 'alice', 'x-added': 'client-value' } })
    t.equal(r.statusCode, 200)
    t.equal(r.headers['x-policy'], 'yes')
    await r.body.dump()
    const got = up.requests[0].headers
    t.equal(got['x-added'], 'by-policy', 'policy header overrides the client value')
    t.equal(got['x-user'], 'alice')
    t.notOk('x-secret' in got, 'removed header never reaches the upstream')
  })

  t.test('denials with status, body and headers', async (t) => {
    const r = await request(`${b.url}/quota`)
    t.equal(r.statusCode, 429)
    t.equal(r.headers['retry-after'], '5')
    t.equal(r.headers['content-type'], 'application/json')
    t.same(await r.body.json(), { error: 'slow down' })
    const r2 = await request(`${b.url}/redirect`)
    t.equal(r2.statusCode, 302)
    t.equal(r2.headers.location, '/login')
    t.equal(await r2.body.text(), 'go to login')
    t.equal(up.requests.length, 0)
  })

  t.test('the input the policy sees', async (t) => {
    const r = await request(`${b.url}/echo/x/../y?q=1&q=2`, { headers: { host: 'api.local' } })
    await r.body.dump()
    t.equal(r.headers['x-input-path'], '/echo/y?q=1&q=2')
    t.equal(r.headers['x-input-host'], 'api.local')
    t.equal(r.headers['x-input-q'], '1,2')
    t.match(r.headers['x-input-src'] as string, /^127\.0\.0\.1:\d+$/)
    t.equal(up.requests[0].url, '/echo/y?q=1&q=2', 'the upstream receives the path the policy saw')
  })

  t.test('x-forwarded-* set by the bouncer, client values not trusted; hop-by-hop stripped', async (t) => {
    const r = await rawRequest(b.port, 'GET /public/h HTTP/1.1\r\nHost: api.local\r\nX-Forwarded-For: 6.6.6.6\r\nX-Forwarded-Host: evil\r\nX-Forwarded-Proto: https\r\nForwarded: for=6.6.6.6\r\n' +
      'Connection: keep-alive, X-Hop\r\nX-Hop: 1\r\nKeep-Alive: timeout=5\r\nTE: trailers\r\nProxy-Authorization: Basic eA==\r\nConnection: close\r\n\r\n')
    t.equal(r.status, 200)
    const h = up.requests[0].headers
    t.equal(h['x-forwarded-for'], '127.0.0.1')
    t.equal(h['x-forwarded-host'], 'api.local')
    t.equal(h['x-forwarded-proto'], 'http')
    t.equal(h.host, 'api.local', 'Host is preserved')
    for (const hop of ['forwarded', 'x-hop', 'keep-alive', 'te', 'proxy-authorization']) t.notOk(hop in h, `${hop} not forwarded`)
  })

  t.test('streaming request and response bodies', async (t) => {
    // Upstream: hash the request body as it streams, answer with a large streamed body.
    up.raw = (req, res) => {
      const hash = createHash('sha256')
      let n = 0
      req.on('data', (c: Buffer) => { hash.update(c); n += c.length })
      req.on('end', () => {
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'x-received': String(n), 'x-sha': hash.digest('hex') })
        let sent = 0
        const chunk = Buffer.alloc(64 * 1024, 7)
        const pump = () => {
          while (sent < 8 * 1024 * 1024) {
            sent += chunk.length
            if (!res.write(chunk)) { res.once('drain', pump); return }
          }
          res.end()
        }
        pump()
      })
    }
    const size = 3 * 1024 * 1024
    const payload = Buffer.alloc(size, 'a')
    const expected = createHash('sha256').update(payload).digest('hex')
    // chunked upload (no content-length)
    const r = await request(`${b.url}/public/upload`, { method: 'PUT', body: Readable.from((function * () { for (let i = 0; i < size; i += 65536) yield payload.subarray(i, i + 65536) })()) })
    t.equal(r.statusCode, 200)
    t.equal(r.headers['x-received'], String(size))
    t.equal(r.headers['x-sha'], expected)
    let got = 0
    for await (const c of r.body) got += (c as Buffer).length
    t.equal(got, 8 * 1024 * 1024, 'response streamed through')
    t.notOk(up.requests[0].headers['content-length'], 'chunked stays chunked')
    t.equal(up.requests[0].headers['transfer-encoding'], 'chunked')
  })

  t.test('first response bytes arrive before the upstream finishes', async (t) => {
    let finish!: () => void
    up.raw = (req, res) => {
      req.resume()
      res.writeHead(200, { 'content-type': 'text/plain' })
      res.write('first;')
      finish = () => res.end('last')
    }
    const r = await request(`${b.url}/public/slow`)
    const it = r.body[Symbol.asyncIterator]()
    const first = await it.next()
    t.equal(first.value.toString(), 'first;', 'first chunk relayed while the upstream is still writing')
    finish()
    let rest = ''
    for (let n = await it.next(); !n.done; n = await it.next()) rest += n.value.toString()
    t.equal(rest, 'last')
  })

  t.test('HEAD, 204 and 304 have no body', async (t) => {
    up.handle = (req, res) => {
      if (req.url === '/public/204') { res.writeHead(204); res.end(); return }
      if (req.url === '/public/304') { res.writeHead(304, { etag: '"x"' }); res.end(); return }
      res.writeHead(200, { 'content-length': '5' }); res.end(req.method === 'HEAD' ? undefined : 'hello')
    }
    const h = await request(`${b.url}/public/x`, { method: 'HEAD' })
    t.equal(h.statusCode, 200)
    t.equal(h.headers['content-length'], '5')
    t.equal(await h.body.text(), '')
    t.equal((await request(`${b.url}/public/204`)).statusCode, 204)
    const n = await request(`${b.url}/public/304`)
    t.equal(n.statusCode, 304)
    t.equal(n.headers.etag, '"x"')
  })

  t.test('methods outside Fastify\'s defaults are proxied too', async (t) => {
    for (const m of ['PROPFIND', 'PURGE', 'OPTIONS', 'DELETE', 'PATCH']) {
      const r = await request(`${b.url}/public/m`, { method: m, headers: { 'content-type': 'not a media type' } })
      t.equal(r.statusCode, 200, m)
      await r.body.dump()
    }
    t.same(up.requests.map((r) => r.method), ['PROPFIND', 'PURGE', 'OPTIONS', 'DELETE', 'PATCH'])
  })

  t.test('one JSON log line per request, secrets redacted', async (t) => {
    const before = mem.lines().length
    await (await request(`${b.url}/private?token=abc`, { headers: { authorization: 'Bearer SECRET-TOKEN', cookie: 'sid=SECRET-COOKIE' } })).body.dump()
    await new Promise((r) => setTimeout(r, 50))
    const lines = mem.lines().slice(before).filter((l) => l.msg === 'request')
    t.equal(lines.length, 1)
    t.match(lines[0], { method: 'GET', path: '/private', status: 403, decision: 'deny', reason: 'default deny' })
    t.type(lines[0].ms, 'number')
    t.type(lines[0].id, 'string')
    t.notMatch(mem.text(), /SECRET-TOKEN|SECRET-COOKIE/, 'no credentials in logs')
    t.notMatch(JSON.stringify(lines[0]), /token=abc/, 'the query is not logged')
    await (await request(`${b.url}/a%2Fb`)).body.dump()
    await new Promise((r) => setTimeout(r, 50))
    const rejected = mem.lines().filter((l) => l.msg === 'request').at(-1)
    t.match(rejected, { status: 400, decision: 'rejected', code: 'BOUNCER_ERR_PROXY_BAD_PATH', reason: 'encoded slash (%2F)' }, 'rejections carry a stable code')
  })

  t.test('admin endpoints', async (t) => {
    const health = await request(`${b.adminUrl}/healthz`)
    t.equal(health.statusCode, 200)
    await health.body.dump()
    const ready = await request(`${b.adminUrl}/readyz`)
    t.equal(ready.statusCode, 200)
    t.match(await ready.body.json(), { status: 'ok', components: { policy: { status: 'OK' } } })
    const m = await request(`${b.adminUrl}/metrics`)
    const text = await m.body.text()
    for (const name of ['bouncer_requests_total', 'bouncer_policy_eval_duration_seconds', 'bouncer_upstream_duration_seconds', 'bouncer_policy_errors_total',
      'bouncer_fail_closed_total', 'bouncer_policy_info']) t.match(text, new RegExp(`^# TYPE ${name} `, 'm'), name)
    t.match(text, /bouncer_requests_total\{decision="deny",status="403"\} \d+/)
    t.match(text, /bouncer_policy_info\{revision="sha256:[0-9a-f]+",entrypoint="bouncer\/decision",source="test"\} 1/)
    t.equal((await request(`${b.adminUrl}/nope`)).statusCode, 404)
  })
})
