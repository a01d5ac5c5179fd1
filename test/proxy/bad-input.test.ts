// Bad input, each against a real recording upstream: nothing reaches the upstream that the
// policy did not allow, and the bouncer keeps serving.
import t from 'tap'
import { request } from 'undici'
import { connect } from 'node:net'
import { Readable } from 'node:stream'
import { startBouncer, startUpstream, rawRequest, freePort } from '../helpers/index.js'

const POLICY = `package bouncer

default decision := {"allow": false}

decision := {"allow": true} if input.parsed_path[0] == "public"

decision := {"allow": true, "response_headers": {"x-amount": format_int(input.parsed_body.amount, 10)}} if {
  input.parsed_path[0] == "pay"
  input.parsed_body.amount < 100
}

# a deny-list on the body: whatever the policy cannot see passes, so it must see every body
decision := {"allow": true} if {
  input.parsed_path[0] == "transfer"
  not large_transfer
}

large_transfer if input.parsed_body.amount >= 1000
`

t.test('malformed requests', async (t) => {
  const up = await startUpstream()
  const b = await startBouncer({ upstream: up.url, rego: { 'p.rego': POLICY }, config: { server: { max_header_bytes: 4096, max_body_bytes: 1024 } } })
  t.teardown(async () => { await b.close(); await up.close() })

  t.test('malformed request lines and headers → 400, connection closed', async (t) => {
    const bad = [
      'GARBAGE\r\n\r\n',
      'GET /public HTTP/9.9\r\nHost: x\r\n\r\n',
      'GET /public\r\n\r\n', // HTTP/0.9
      'GET /public HTTP/2.0\r\nHost: x\r\n\r\n',
      'GET /public HTTP/1.1\r\n\r\n', // no Host
      'GET /public HTTP/1.1\r\nHost: x\r\nNoColonHere\r\n\r\n',
      'GET /public HTTP/1.1\r\nHost: x\r\nBad Name: v\r\n\r\n',
      'GET /public HTTP/1.1\r\nHost : x\r\n\r\n',
      'GET /public HTTP/1.1\r\nHost: x\r\nX-A: a\r\n folded\r\n\r\n',
      'GET /public HTTP/1.1\r\nHost: x\r\nX-A: a\x00b\r\n\r\n',
      'GET /pub lic HTTP/1.1\r\nHost: x\r\n\r\n',
      'GET /public HTTP/1.1\nHost: x\n\n',
    ]
    for (const payload of bad) {
      const r = await rawRequest(b.port, payload)
      t.ok(r.status === 400 || r.status === undefined, `${JSON.stringify(payload.slice(0, 40))} → ${r.status ?? 'closed'}`)
    }
    t.equal(up.requests.length, 0)
  })

  t.test('two Host headers, CONNECT, parser errors and a failed Expect: answered with a request id, counted, never forwarded', async (t) => {
    const metric = async (re: RegExp): Promise<number> => {
      const text = await (await request(b.adminUrl + '/metrics')).body.text()
      return [...text.matchAll(re)].reduce((n, m) => n + Number(m[1]), 0)
    }
    const rejected = /^bouncer_rejected_requests_total\{reason="(?:malformed|bad_target)"\} (\d+)$/gm
    const before = up.requests.length
    const cases: Array<[string, number]> = [
      ['GET /public HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n', 400],
      ['GET /public HTTP/1.1\r\nhost: a\r\nX-A: 1\r\nHOST: a\r\n\r\n', 400], // the same value twice too
      ['GET /public HTTP/1.1\r\nHost: a\r\nHost: b\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n', 400],
      ['CONNECT evil.example:443 HTTP/1.1\r\nHost: evil.example:443\r\n\r\n', 400],
      ['CONNECT /public HTTP/1.1\r\nHost: x\r\n\r\n', 400], // origin-form: still no tunnel, and not judged as a request for /public
      ['CONNECT http://x/public HTTP/1.1\r\nHost: x\r\n\r\n', 400],
      // With an Upgrade the upgrade path allows, CONNECT was tunnelled as a WebSocket (second review).
      ['CONNECT /public/ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n', 400],
      ['FOO /public HTTP/1.1\r\nHost: x\r\n\r\n', 400],
      ['GET /public HTTP/1.1\r\nHost: x\r\nExpect: foo\r\n\r\n', 417],
    ]
    for (const [payload, status] of cases) {
      const n0 = await metric(rejected)
      const r = await rawRequest(b.port, payload)
      const what = JSON.stringify(payload.slice(0, 48))
      t.equal(r.status, status, `${what} → ${status}`)
      const id = /\r\nx-request-id: ([0-9a-f-]{36})\r\n/i.exec(r.text)?.[1]
      t.ok(id !== undefined, `${what}: x-request-id`)
      const body = JSON.parse(r.text.slice(r.text.indexOf('\r\n\r\n') + 4)) as { request_id?: string }
      t.equal(body.request_id, id, `${what}: the body's request_id is the header's`)
      t.equal(await metric(rejected), n0 + 1, `${what}: counted once as rejected`)
    }
    t.equal(up.requests.length, before, 'nothing reached the upstream')
    const ok = await request(`${b.url}/public/x`)
    t.equal(ok.statusCode, 200, 'still serving')
    await ok.body.dump()
    up.requests.length = 0 // the tests below count from none
  })

  t.test('a client that hangs up mid-body is counted once, as a request, not also as malformed', { timeout: 10_000 }, async (t) => {
    const metric = async (): Promise<string> => (await (await request(b.adminUrl + '/metrics')).body.text())
    const total = (text: string, re: RegExp): number => [...text.matchAll(re)].reduce((n, m) => n + Number(m[1]), 0)
    const malformed = /^bouncer_rejected_requests_total\{reason="malformed"\} (\d+)$/gm
    const requests = /^bouncer_requests_total\{[^}]*\} (\d+)$/gm
    const before = await metric()
    const sock = connect(b.port, '127.0.0.1')
    sock.on('error', () => {})
    const closed = new Promise((resolve) => sock.once('close', resolve))
    await new Promise((resolve) => sock.once('connect', resolve))
    sock.write('POST /public HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\nContent-Length: 100\r\n\r\nhalf')
    await new Promise((resolve) => setTimeout(resolve, 100))
    sock.end()
    await closed
    await new Promise((resolve) => setTimeout(resolve, 100))
    const after = await metric()
    t.equal(total(after, malformed) - total(before, malformed), 0, 'not a malformed request')
    t.equal(total(after, requests) - total(before, requests), 1, 'one request')
  })

  t.test('oversized headers → 431', async (t) => {
    const r = await rawRequest(b.port, `GET /public HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(5000)}\r\nConnection: close\r\n\r\n`)
    t.equal(r.status, 431)
    const many = Array.from({ length: 600 }, (_, i) => `X-Header-${i}: v`).join('\r\n')
    const r2 = await rawRequest(b.port, `GET /public HTTP/1.1\r\nHost: x\r\n${many}\r\nConnection: close\r\n\r\n`)
    t.equal(r2.status, 431)
    t.equal(up.requests.length, 0)
  })

  t.test('oversized bodies → 413, never forwarded', async (t) => {
    const big = 'x'.repeat(2000)
    const r = await rawRequest(b.port, `POST /public HTTP/1.1\r\nHost: x\r\nContent-Length: ${big.length}\r\n\r\n${big}`)
    t.equal(r.status, 413)
    t.match(r.text, /connection: close/i)
    const chunks = Array.from({ length: 4 }, () => `200\r\n${'y'.repeat(512)}\r\n`).join('')
    const r2 = await rawRequest(b.port, `POST /public HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n${chunks}0\r\n\r\n`)
    t.equal(r2.status, 413, 'chunked body cut at the limit')
    await new Promise((r) => setTimeout(r, 100))
    t.equal(up.requests.length, 0, 'the upstream never received a complete request')
    const ok = await rawRequest(b.port, 'POST /public HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello')
    t.equal(ok.status, 200, 'bodies under the limit pass')
  })

  t.test('conflicting Content-Length / Transfer-Encoding and smuggling attempts', async (t) => {
    up.requests.length = 0
    const cases = [
      'POST /public HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /private HTTP/1.1\r\nHost: x\r\n\r\n',
      'POST /public HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!',
      'POST /public HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n',
      'POST /public HTTP/1.1\r\nHost: x\r\nContent-Length: 1e3\r\n\r\n',
      'POST /public HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\n',
      'POST /public HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n',
      'POST /public HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nZZ\r\nabc\r\n0\r\n\r\n',
    ]
    for (const payload of cases) {
      const r = await rawRequest(b.port, payload)
      t.ok(r.status === undefined || r.status >= 400, `${JSON.stringify(payload.slice(0, 70))} → ${r.status ?? 'closed'}`)
      t.notMatch(r.text, /HTTP\/1\.1 200/, 'nothing answered 200')
    }
    // A second request hidden behind a zero-length body is parsed as its own request and judged on its own.
    const r = await rawRequest(b.port, 'POST /public HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\nGET /private HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
    t.match(r.text, /^HTTP\/1\.1 200/)
    t.match(r.text, /HTTP\/1\.1 403/)
    await new Promise((r) => setTimeout(r, 50))
    t.same(up.requests.map((q) => q.url), ['/public'], 'only the allowed request reached the upstream')
    // A coding before chunked (which Node's parser accepts): 501, not forwarded as a body the
    // upstream would read without its coding (review, session 52). Plain chunked in any case passes.
    for (const te of ['gzip, chunked', 'deflate,chunked', 'identity, chunked']) {
      const r = await rawRequest(b.port, `POST /public HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: ${te}\r\nContent-Type: application/octet-stream\r\n\r\n3\r\nabc\r\n0\r\n\r\n`)
      t.equal(r.status, 501, `Transfer-Encoding: ${te} → 501`)
      t.match(r.text, /"error":"not_implemented","request_id":"/)
    }
    const ok = await rawRequest(b.port, 'POST /public HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: Chunked\r\nContent-Type: application/octet-stream\r\nConnection: close\r\n\r\n3\r\nabc\r\n0\r\n\r\n')
    t.equal(ok.status, 200, 'Transfer-Encoding: Chunked is chunked')
    // An empty list element is ignored (RFC 9110 §5.6.1): still chunked alone (second review).
    const empty = await rawRequest(b.port, 'POST /public HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: ,chunked\r\nContent-Type: application/octet-stream\r\nConnection: close\r\n\r\n3\r\nabc\r\n0\r\n\r\n')
    t.equal(empty.status, 200, 'Transfer-Encoding: ,chunked is chunked')
    t.same(up.requests.map((q) => q.url), ['/public', '/public', '/public'], 'none of the coded bodies reached the upstream')
  })

  t.test('still serving', async (t) => {
    const r = await request(`${b.url}/public/after`)
    t.equal(r.statusCode, 200)
    await r.body.dump()
  })
})

t.test('parsed_body', async (t) => {
  const up = await startUpstream()
  const b = await startBouncer({ upstream: up.url, rego: { 'p.rego': POLICY }, config: { policy: { parsed_body: { enabled: true, max_bytes: 256 } } } })
  const skip = await startBouncer({ upstream: up.url, rego: { 'p.rego': POLICY }, config: { policy: { parsed_body: { enabled: true, max_bytes: 256, over_limit: 'skip', invalid_json: 'skip' } } } })
  t.teardown(async () => { await b.close(); await skip.close(); await up.close() })
  const post = (url: string, body: string, type = 'application/json', chunked = false) => request(`${url}/pay`, {
    method: 'POST', headers: { 'content-type': type }, body: chunked ? Readable.from([Buffer.from(body)]) : body,
  })

  const ok = await post(b.url, '{"amount": 42}')
  t.equal(ok.statusCode, 200)
  t.equal(ok.headers['x-amount'], '42', 'the policy read the body')
  await ok.body.dump()
  t.equal(up.requests[0].body.toString(), '{"amount": 42}', 'the upstream received the same bytes')
  const chunked = await post(b.url, '{"amount": 7}', 'application/vnd.api+json', true)
  t.equal(chunked.statusCode, 200, 'chunked JSON (+json type) is parsed too')
  await chunked.body.dump()

  up.requests.length = 0
  const denied = await post(b.url, '{"amount": 1000}')
  t.equal(denied.statusCode, 403)
  await denied.body.dump()
  // Keys equal ignoring case are duplicates to Go's encoding/json (the last match wins: amount
  // 1000), so they are refused as exact duplicates are; "ſ" (U+017F) folds to "s" there.
  for (const body of ['{"amount": 4', 'not json', '{"amount": 1, "amount": 1000}', '\xff\xfe', '{"amount": 1, "Amount": 1000}',
    '{"amount": 1, "AMOUNT": 1000}', '{"a":{"x":1,"X":2},"amount":1}', '{"iſ_admin": true, "IS_ADMIN": false, "amount": 1}']) {
    const r = await post(b.url, body)
    t.equal(r.statusCode, 400, `invalid JSON ${JSON.stringify(body)} → 400`)
    await r.body.dump()
  }
  const big = JSON.stringify({ amount: 1, pad: 'x'.repeat(300) })
  const r413 = await post(b.url, big)
  t.equal(r413.statusCode, 413, 'JSON over parsed_body.max_bytes → 413')
  await r413.body.dump()
  const r413c = await post(b.url, big, 'application/json', true)
  t.equal(r413c.statusCode, 413, 'chunked JSON over the limit → 413')
  await r413c.body.dump()
  t.equal(up.requests.length, 0, 'nothing reached the upstream')

  const text = await post(b.url, 'amount=1', 'text/plain')
  t.equal(text.statusCode, 403, 'non-JSON bodies are not parsed (the policy sees no parsed_body)')
  await text.body.dump()
  // Content types upstream frameworks read as JSON are parsed: application/+json (Flask),
  // text/json (ASP.NET Core), a trailing NEL Python strips, and no content type at all (Go,
  // FastAPI) — a denied amount must be denied whatever the spelling.
  up.requests.length = 0
  for (const type of ['application/+json', 'text/json', 'application/json\x85', ' Application/JSON ; charset=utf-8', 'application/problem+json']) {
    const r = await rawRequest(b.port, Buffer.from(`POST /transfer HTTP/1.1\r\nHost: a\r\nContent-Type: ${type}\r\nContent-Length: 16\r\nConnection: close\r\n\r\n{"amount": 5000}`, 'latin1'))
    t.equal(r.status, 403, `content-type ${JSON.stringify(type)}: the policy saw the amount`)
  }
  const none = await rawRequest(b.port, 'POST /transfer HTTP/1.1\r\nHost: a\r\nContent-Length: 16\r\nConnection: close\r\n\r\n{"amount": 5000}')
  t.equal(none.status, 403, 'no content type: a JSON body is parsed too')
  t.equal(up.requests.length, 0, 'none of them reached the upstream')
  const noneOk = await rawRequest(b.port, 'POST /transfer HTTP/1.1\r\nHost: a\r\nContent-Length: 14\r\nConnection: close\r\n\r\n{"amount": 42}')
  t.equal(noneOk.status, 200, 'no content type: a small amount passes')
  const notJson = await rawRequest(b.port, 'POST /public/blob HTTP/1.1\r\nHost: a\r\nContent-Length: 8\r\nConnection: close\r\n\r\nnot json')
  t.equal(notJson.status, 200, 'no content type and not JSON: forwarded unparsed, not refused')
  t.equal(up.requests.at(-1)?.body.toString(), 'not json')

  const sk = await post(skip.url, '{"amount": 4')
  t.equal(sk.statusCode, 403, 'invalid_json: skip → evaluated without parsed_body')
  await sk.body.dump()
  const bigOk = await request(`${skip.url}/public/x`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: Readable.from([Buffer.from(big)]) })
  t.equal(bigOk.statusCode, 200, 'over_limit: skip → forwarded whole')
  await bigOk.body.dump()
  t.equal(up.requests.at(-1)?.body.toString(), big)
})

t.test('policies that return garbage or fail', async (t) => {
  const up = await startUpstream()
  const garbage = `package bouncer

decision := "yes" if input.parsed_path[0] == "string"
decision := {"allow": "true"} if input.parsed_path[0] == "stringallow"
decision := {"allowed": 1} if input.parsed_path[0] == "number"
decision := [true] if input.parsed_path[0] == "array"
decision := {"allow": true, "headers": {"content-length": "0"}} if input.parsed_path[0] == "cl"
decision := {"allow": true, "headers": {"x-a": "a\\r\\nx-injected: 1"}} if input.parsed_path[0] == "crlf"
decision := {"allow": true, "status": "200"} if input.parsed_path[0] == "status"
decision := {"allow": true, "mask": "ssn"} if input.parsed_path[0] == "mask"
decision := {"allow": true, "mask": [{"path": "no-slash", "action": "explode"}]} if input.parsed_path[0] == "badmask"
decision := {"allow": time.parse_rfc3339_ns(input.parsed_query.t[0]) > 0} if input.parsed_path[0] == "throws"
decision := true if input.parsed_path[0] == "ok"
`
  const b = await startBouncer({ upstream: up.url, rego: { 'p.rego': garbage }, config: { policy: { strict_builtin_errors: true } } })
  const b500 = await startBouncer({ upstream: up.url, rego: { 'p.rego': garbage }, config: { policy: { error_status: 500, strict_builtin_errors: true } } })
  t.teardown(async () => { await b.close(); await b500.close(); await up.close() })
  const paths = ['/string', '/stringallow', '/number', '/array', '/cl', '/crlf', '/status', '/mask', '/badmask', '/throws?t=garbage', '/undefined']
  for (const p of paths) {
    const r = await request(b.url + p)
    t.equal(r.statusCode, 403, `${p} → 403`)
    const body = await r.body.text()
    t.notMatch(body, /rego|wasm|eval|allow|content-length|BOUNCER_ERR/i, 'no internal detail in the response')
    const r5 = await request(b500.url + p)
    t.equal(r5.statusCode, 500, `${p} → 500 with error_status 500`)
    await r5.body.dump()
  }
  t.equal(up.requests.length, 0, 'nothing reached the upstream')
  const ok = await request(b.url + '/ok')
  t.equal(ok.statusCode, 200, 'the instance keeps serving after errors')
  await ok.body.dump()
  const metrics = await (await request(b.adminUrl + '/metrics')).body.text()
  t.match(metrics, /bouncer_policy_errors_total\{reason="invalid_decision"\} 9/)
  t.match(metrics, /bouncer_policy_errors_total\{reason="eval_error"\} 1/)
  t.match(metrics, /bouncer_policy_errors_total\{reason="invalid_mask"\} 1/)
  t.match(metrics, /bouncer_fail_closed_total\{reason="invalid_decision"\} 9/)
  t.match(metrics, /bouncer_requests_total\{decision="policy_error",status="403"\} 11/)
})

t.test('upstream that hangs, resets or is down', async (t) => {
  const up = await startUpstream()
  const b = await startBouncer({ upstream: up.url, rego: { 'p.rego': POLICY }, config: { upstream: { timeout_seconds: 0.3, body_timeout_seconds: 0.3 } } })
  const downPort = await freePort()
  const down = await startBouncer({ upstream: `http://127.0.0.1:${downPort}`, rego: { 'p.rego': POLICY } })
  t.teardown(async () => { await b.close(); await down.close(); await up.close() })

  up.raw = (req) => { req.resume() } // never answers
  let r = await request(`${b.url}/public/hang`)
  t.equal(r.statusCode, 504)
  let body = await r.body.text()
  t.notMatch(body, /headers|undici|UND_ERR|127\.0\.0\.1/i)

  up.raw = (req) => { req.socket.destroy() }
  r = await request(`${b.url}/public/reset`)
  t.equal(r.statusCode, 502)
  body = await r.body.text()
  t.notMatch(body, /ECONNRESET|socket|undici/i)

  r = await request(`${down.url}/public/down`)
  t.equal(r.statusCode, 502)
  body = await r.body.text()
  t.notMatch(body, /ECONNREFUSED|127\.0\.0\.1/)

  // Head sent, then the body stalls: the only signal left is to cut the connection.
  up.raw = (req, res) => { req.resume(); res.writeHead(200, { 'content-length': '100' }); res.write('partial') }
  r = await request(`${b.url}/public/stall`)
  t.equal(r.statusCode, 200)
  await t.rejects(r.body.text(), 'the client sees a truncated response, not a complete one')

  up.raw = (req, res) => { req.resume(); res.writeHead(200, { 'content-length': '100' }); res.write('partial'); setTimeout(() => req.socket.destroy(), 20) }
  r = await request(`${b.url}/public/cut`)
  await t.rejects(r.body.text())

  up.raw = undefined
  r = await request(`${b.url}/public/fine`)
  t.equal(r.statusCode, 200, 'still serving')
  await r.body.dump()
  const metrics = await (await request(b.adminUrl + '/metrics')).body.text()
  t.match(metrics, /bouncer_upstream_errors_total\{reason="timeout"\} [1-9]/)
  t.match(metrics, /bouncer_upstream_errors_total\{reason="reset"\} [1-9]/)
})

t.test('a client that disconnects mid-request does not leak', async (t) => {
  const up = await startUpstream()
  const b = await startBouncer({ upstream: up.url, rego: { 'p.rego': POLICY } })
  t.teardown(async () => { await b.close(); await up.close() })
  let upstreamAborted = false
  up.raw = (req) => { req.on('aborted', () => { upstreamAborted = true }); req.on('close', () => { upstreamAborted = true }) }
  const s = connect(b.port, '127.0.0.1')
  await new Promise<void>((resolve) => s.on('connect', () => resolve()))
  s.write('POST /public/slow HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n')
  await new Promise((r) => setTimeout(r, 100))
  s.destroy()
  await new Promise((r) => setTimeout(r, 200))
  t.ok(upstreamAborted, 'the upstream request is aborted when the client goes away')
  const m = await (await request(b.adminUrl + '/metrics')).body.text()
  t.match(m, /bouncer_inflight_requests 0/)
})
