// Envoy's HTTP ext_authz protocol: Envoy forwards the client request's method, path (after
// http_service.path_prefix), headers and body to the authorization server; 200 allows (headers
// go upstream / to the client as Envoy's matchers say, x-envoy-auth-headers-to-remove lists the
// request headers to drop), anything else is the client's answer.
import t from 'tap'
import { request } from 'undici'
import { startExtAuthz } from './fixtures/client.js'

const POLICY = `package envoy.authz

default allow := false

allow if {
  input.attributes.request.http.method == "GET"
  input.parsed_path == ["people", "alice"]
  input.parsed_query.view == ["full"]
}

allow if {
  input.attributes.request.http.method == "POST"
  input.parsed_body.firstname == "Charlie"
}

result := {
  "allowed": allow,
  "headers": {"x-ext-auth-allow": "yes", "x-user": "alice"},
  "request_headers_to_remove": ["x-internal-token", "cookie"],
  "response_headers_to_add": {"x-policy": "people-v1"},
  "http_status": 401,
  "body": "Unauthorized Request",
}
`

t.test('HTTP ext_authz: 200 with headers on allow, the denial as the client answer', async (t) => {
  const b = await startExtAuthz({ rego: POLICY, entrypoint: 'envoy/authz/result', config: { ext_authz: { http: { path_prefix: '/authz' } } } })
  t.teardown(() => b.close())
  const base = `http://127.0.0.1:${b.httpPort}`

  const ok = await request(`${base}/authz/people/alice?view=full`, { headers: { 'x-request-id': 'req-1', 'x-internal-token': 's3cret' } })
  t.equal(ok.statusCode, 200)
  t.equal(ok.headers['x-ext-auth-allow'], 'yes')
  t.equal(ok.headers['x-user'], 'alice')
  t.equal(ok.headers['x-policy'], 'people-v1')
  t.equal(ok.headers['x-envoy-auth-headers-to-remove'], 'x-internal-token, cookie')
  t.equal(await ok.body.text(), '')

  const body = JSON.stringify({ firstname: 'Charlie' })
  const post = await request(`${base}/authz/people`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-envoy-auth-partial-body': 'false' }, body })
  t.equal(post.statusCode, 200, 'the forwarded body is parsed (parsed_body)')
  await post.body.dump()

  const denied = await request(`${base}/authz/people/bob?view=full`)
  t.equal(denied.statusCode, 401, 'http_status')
  t.equal(await denied.body.text(), 'Unauthorized Request')
  t.equal(denied.headers['x-ext-auth-allow'], 'yes', 'the decision\'s headers go with the denial')
  t.equal(denied.headers['x-envoy-auth-headers-to-remove'], undefined, 'allow-only fields are not sent on a denial')

  const metrics = await b.app.metrics.render()
  t.match(metrics, /bouncer_ext_authz_checks_total\{transport="http",outcome="allow"\} 2/)
  t.match(metrics, /bouncer_ext_authz_checks_total\{transport="http",outcome="deny"\} 1/)
})

t.test('HTTP ext_authz: malformed requests and oversized bodies are denied, never 200', async (t) => {
  const b = await startExtAuthz({ rego: POLICY, entrypoint: 'envoy/authz/result', config: { ext_authz: { max_request_bytes: 1024, http: { path_prefix: '/authz' } } } })
  t.teardown(() => b.close())
  const base = `http://127.0.0.1:${b.httpPort}`

  const escape = await request(`${base}/authz/people/%zz`)
  t.equal(escape.statusCode, 400)
  t.match(await escape.body.text(), /invalid URL escape "%zz"/)

  const prefix = await request(`${base}/other/people/alice?view=full`)
  t.equal(prefix.statusCode, 400, 'a path outside http_service.path_prefix')
  t.match(await prefix.body.text(), /path_prefix/)

  const json = await request(`${base}/authz/people`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-envoy-auth-partial-body': 'false' }, body: '{"firstname":' })
  t.equal(json.statusCode, 400)
  t.match(await json.body.text(), /not valid JSON/)

  const big = await request(`${base}/authz/people`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-envoy-auth-partial-body': 'false' }, body: JSON.stringify({ firstname: 'Charlie', pad: 'x'.repeat(2000) }) })
  t.equal(big.statusCode, 413)
  await big.body.dump()

  // A policy error: not 200, whatever the request.
  b.app.holder.activate(await (await import('../../src/policy/load.js')).loadPolicyFromRego(
    [{ file: 'p.rego', source: 'package envoy.authz\n\nresult := {"allowed": "yes"}\n' }], {}, 'envoy/authz/result', { source: 'test' }, b.app.policyOptions))
  const broken = await request(`${base}/authz/people/alice?view=full`)
  t.equal(broken.statusCode, 403)
  t.match(await broken.body.text(), /"error":"forbidden"/)
})

t.test('HTTP ext_authz: a policy cannot set the answer\'s framing headers', async (t) => {
  const framing = 'package envoy.authz\n\nresult := {"allowed": false, "http_status": 429, "body": "slow down", "headers": {"content-length": "1", "transfer-encoding": "chunked", "connection": "close", "retry-after": "7"}}\n'
  const b = await startExtAuthz({ rego: framing, entrypoint: 'envoy/authz/result' })
  t.teardown(() => b.close())
  const r = await request(`http://127.0.0.1:${b.httpPort}/people`)
  t.equal(r.statusCode, 429)
  t.equal(await r.body.text(), 'slow down', 'the whole body, framed by us')
  t.equal(r.headers['content-length'], '9')
  t.equal(r.headers['transfer-encoding'], undefined)
  t.equal(r.headers['retry-after'], '7', 'other headers pass')
})

t.test('HTTP ext_authz: no denial or failure is a 200 or a 5xx (Envoy allows on 200, and on 5xx with failure_mode_allow)', async (t) => {
  const POL = `package envoy.authz

result := {"allowed": false, "http_status": 200, "body": "denied"} if input.parsed_path[0] == "ok-status"
result := {"allowed": false, "http_status": 503, "body": "maintenance"} if input.parsed_path[0] == "busy"
result := {"allowed": false, "http_status": 429} if input.parsed_path[0] == "slow"
result := {"allowed": false, "headers": {"x-echo": input.parsed_path[1]}} if input.parsed_path[0] == "echo"
result := {"allowed": true, "query_parameters_to_remove": ["debug"]} if input.parsed_path[0] == "strip"
result := {"allowed": true, "query_parameters_to_set": {"tenant": "acme"}} if input.parsed_path[0] == "pin"
result := {"allowed": true} if input.parsed_path[0] == "fine"
`
  const b = await startExtAuthz({ rego: POL, entrypoint: 'envoy/authz/result', config: { policy: { error_status: 500 } } })
  t.teardown(() => b.close())
  const base = `http://127.0.0.1:${b.httpPort}`
  const status = async (path: string, method = 'GET'): Promise<[number, string]> => {
    const r = await request(`${base}${path}`, { method: method as 'GET' })
    return [r.statusCode, await r.body.text()]
  }
  t.same(await status('/ok-status'), [403, 'denied'], 'a denial with http_status 200 is a 403')
  t.same(await status('/busy'), [403, 'maintenance'], 'a denial with a 5xx is a 403')
  t.same((await status('/slow'))[0], 429, 'other 4xx statuses stay')
  t.same((await status('/fine'))[0], 200)
  const strip = await status('/strip?debug=1')
  t.equal(strip[0], 403, 'an allow HTTP cannot carry (query_parameters_to_remove) is refused')
  t.match(strip[1], /decision_not_enforceable/)
  const pin = await status('/pin?tenant=victim')
  t.equal(pin[0], 403, 'nor query_parameters_to_set: allowing without it would pass the client\'s tenant')
  t.match(pin[1], /decision_not_enforceable/)
  // A header value Node cannot write (a client-chosen U+20AC): a 403, not a 500.
  t.equal((await status('/echo/%E2%82%AC'))[0], 403)
  const err = await status('/nothing') // undefined result: a policy error with policy.error_status 500
  t.equal(err[0], 403, 'policy.error_status 500 is sent as 403')
  const { rawRequest } = await import('../helpers/index.js')
  const connect = await rawRequest(b.httpPort, 'CONNECT api.local:443 HTTP/1.1\r\nHost: api.local:443\r\n\r\n')
  t.equal(connect.status, 403, 'CONNECT is answered, not dropped')
})
