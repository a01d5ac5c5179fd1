// envoy.service.auth.v3.Authorization/Check over gRPC: a real grpc-js client (protobufjs-encoded
// CheckRequests modelled on Envoy's documented examples) against a bouncer in mode ext_authz, with
// policies written as opa-envoy-plugin's documentation writes them, compiled by our compiler.
import t from 'tap'
import { authzClient, checkRequest, decodeCheckResponse, headersOf, startExtAuthz, structJson, token } from './fixtures/client.js'

// In the style of the plugin's documentation: package envoy.authz, a boolean `allow`.
const BOOLEAN_POLICY = `package envoy.authz

import input.attributes.request.http as http_request

default allow := false

allow if {
  http_request.method == "GET"
  input.parsed_path[0] == "people"
}

allow if {
  http_request.method == "POST"
  input.parsed_path == ["people"]
  input.parsed_body.firstname == "Charlie"
  claims.role == "admin"
}

claims := payload if {
  [_, encoded] := split(http_request.headers.authorization, " ")
  [_, payload, _] := io.jwt.decode(encoded)
}
`

// The documentation's object result: allowed, headers, response_headers_to_add,
// request_headers_to_remove, http_status, body, dynamic_metadata.
const OBJECT_POLICY = `package envoy.authz

default allow := false

allow if input.attributes.request.http.method == "GET"

headers["x-ext-auth-allow"] := "yes" if allow
headers["x-validated-by"] := "security-checkpoint"

request_headers_to_remove := ["x-internal-token"]

response_headers_to_add["x-policy"] := "people-v1"

status_code := 200 if allow
status_code := 401 if not allow

body := "Authorized Request" if allow
body := "Unauthorized Request" if not allow

result := {
  "allowed": allow,
  "headers": headers,
  "response_headers_to_add": response_headers_to_add,
  "request_headers_to_remove": request_headers_to_remove,
  "body": body,
  "http_status": status_code,
  "dynamic_metadata": {"tenant": "acme", "checks": [1, true, null]},
}
`

t.test('boolean policy from the plugin documentation: allow and deny', async (t) => {
  const b = await startExtAuthz({ rego: BOOLEAN_POLICY, entrypoint: 'envoy/authz/allow' })
  t.teardown(() => b.close())
  const c = authzClient(b.grpcPort)
  t.teardown(() => c.close())

  const get = await c.check(checkRequest({ method: 'GET', path: '/people?lang=en' }))
  t.equal(get.status?.code ?? 0, 0, 'GET /people: OK')
  t.equal(get.http_response, undefined, 'a boolean result sends no ok_response (as the plugin)')
  const meta = structJson(get.dynamic_metadata)
  t.match(meta.decision_id, /^[0-9a-f-]{36}$/, 'decision_id in dynamic_metadata')

  const admin = `Bearer ${token({ role: 'admin', sub: 'alice' })}`
  const body = JSON.stringify({ firstname: 'Charlie', lastname: 'Opa' })
  const post = await c.check(checkRequest({ method: 'POST', path: '/people', headers: { authorization: admin, 'content-type': 'application/json', 'content-length': String(body.length) }, body }))
  t.equal(post.status?.code ?? 0, 0, 'POST with a JSON body (parsed_body) and an admin token: OK')

  const guest = await c.check(checkRequest({ method: 'POST', path: '/people', headers: { authorization: `Bearer ${token({ role: 'guest' })}`, 'content-type': 'application/json' }, body }))
  t.equal(guest.status?.code, 7, 'a guest token: PERMISSION_DENIED')

  const del = await c.check(checkRequest({ method: 'DELETE', path: '/people/42' }))
  t.equal(del.status?.code, 7, 'DELETE: PERMISSION_DENIED')
  t.equal(del.http_response, undefined, 'a boolean denial sends no denied_response (Envoy answers 403)')

  // The body was cut by Envoy (content-length larger than what was sent): parsed_body is null.
  const cut = await c.check(checkRequest({ method: 'POST', path: '/people', headers: { authorization: admin, 'content-type': 'application/json', 'content-length': '4096' }, body }))
  t.equal(cut.status?.code, 7, 'a truncated body is not parsed: the rule needing parsed_body does not hold')
})

t.test('object result: ok_response and denied_response as the plugin builds them', async (t) => {
  const b = await startExtAuthz({ rego: OBJECT_POLICY, entrypoint: 'envoy/authz/result' })
  t.teardown(() => b.close())
  const c = authzClient(b.grpcPort)
  t.teardown(() => c.close())

  const ok = await c.check(checkRequest({ method: 'GET' }))
  t.equal(ok.status?.code ?? 0, 0)
  t.equal(ok.http_response, 'ok_response')
  t.same(headersOf(ok.ok_response?.headers).sort(), [['x-ext-auth-allow', 'yes'], ['x-validated-by', 'security-checkpoint']])
  t.same(ok.ok_response?.headers_to_remove, ['x-internal-token'])
  t.same(headersOf(ok.ok_response?.response_headers_to_add), [['x-policy', 'people-v1']])
  const meta = structJson(ok.dynamic_metadata)
  t.equal(meta.tenant, 'acme')
  t.same(meta.checks, [1, true, null], 'dynamic_metadata: numbers, booleans and null survive the Struct encoding')
  t.type(meta.decision_id, 'string')

  const denied = await c.check(checkRequest({ method: 'PUT' }))
  t.equal(denied.status?.code, 7)
  t.equal(denied.http_response, 'denied_response')
  t.equal(denied.denied_response?.status?.code, 401, 'http_status')
  t.equal(denied.denied_response?.body, 'Unauthorized Request')
  t.same(headersOf(denied.denied_response?.headers), [['x-validated-by', 'security-checkpoint']])
  t.notOk(denied.ok_response, 'no ok_response on a denial')
})

t.test('query_parameters_to_set: sent as OkHttpResponse.query_parameters_to_set, as the plugin sends it; a malformed one is a denial (review helper, 2026-12-07)', async (t) => {
  // A policy pinning a parameter to the caller's identity: the client's own value must not reach
  // the upstream (it was dropped, and Envoy forwarded tenant=victim).
  const rego = `package envoy.authz

result := {"allowed": true, "query_parameters_to_set": {"tenant": "acme", "scope": ["a", "b"]}, "query_parameters_to_remove": ["debug"]} if input.parsed_path[0] == "pin"
result := {"allowed": true, "query_parameters_to_set": {"tenant": 7}} if input.parsed_path[0] == "number"
result := {"allowed": true, "query_parameters_to_set": ["tenant"]} if input.parsed_path[0] == "list"
result := {"allowed": true, "query_parameters_to_set": {"": "x"}} if input.parsed_path[0] == "empty"
result := {"allowed": false, "query_parameters_to_set": {"tenant": 7}} if input.parsed_path[0] == "denied"
`
  const b = await startExtAuthz({ rego, entrypoint: 'envoy/authz/result' })
  t.teardown(() => b.close())
  const c = authzClient(b.grpcPort)
  t.teardown(() => c.close())
  const pin = await c.check(checkRequest({ method: 'GET', path: '/pin/invoices?tenant=victim' }))
  t.equal(pin.status?.code ?? 0, 0)
  t.same(pin.ok_response?.query_parameters_to_set?.map((q) => [q.key, q.value]), [['scope', 'a'], ['scope', 'b'], ['tenant', 'acme']], 'each value a QueryParameter, in the object\'s order')
  t.same(pin.ok_response?.query_parameters_to_remove, ['debug'])
  for (const path of ['/number', '/list', '/empty']) {
    const r = await c.check(checkRequest({ method: 'GET', path }))
    t.equal(r.status?.code, 7, `${path}: an invalid query_parameters_to_set is a denial`)
    t.notOk(r.ok_response, `${path}: no ok_response`)
  }
  const denied = await c.check(checkRequest({ method: 'GET', path: '/denied' }))
  t.equal(denied.status?.code, 7, 'a denial does not read it (the other branch\'s fields are not read)')
})

t.test('the input is the plugin\'s: attributes under JSON names, parsed_path/query/body, version', async (t) => {
  const echo = 'package envoy.authz\n\nresult := {"allowed": true, "dynamic_metadata": {"input": input}}\n'
  const b = await startExtAuthz({ rego: echo, entrypoint: 'envoy/authz/result' })
  t.teardown(() => b.close())
  const c = authzClient(b.grpcPort)
  t.teardown(() => c.close())
  const form = 'name=Ch%C3%A4rlie&tag=a+b&tag=c'
  const r = await c.check(checkRequest({ method: 'POST', path: '/api/v1/caf%C3%A9/people?lang=en&lang=fr&q=a%20b+c', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: form, principal: 'spiffe://cluster.local/ns/default/sa/client', size: form.length }))
  const input = structJson(r.dynamic_metadata).input as Record<string, any>
  t.same(input.version, { ext_authz: 'v3', encoding: 'protojson' })
  t.same(input.parsed_path, ['api', 'v1', 'café', 'people'], 'percent-decoded, split on /')
  t.same(input.parsed_query, { lang: ['en', 'fr'], q: ['a b c'] }, 'form-decoded query, every value a list')
  t.same(input.parsed_body, { name: ['Chärlie'], tag: ['a b', 'c'] }, 'x-www-form-urlencoded body')
  t.equal(input.truncated_body, false)
  t.equal(input.source_principal, 'spiffe://cluster.local/ns/default/sa/client')
  const a = input.attributes
  t.same(a.source.address, { socketAddress: { address: '10.1.2.3', portValue: 51234 } }, 'JSON field names (socketAddress, portValue)')
  t.same(a.request.time, { seconds: 1764815000, nanos: 250000000 })
  t.equal(a.request.http.size, form.length, 'int64 size as a number')
  t.equal(a.request.http.method, 'POST')
  t.equal(a.request.http.headers[':authority'], 'people.example:8000')
  t.same(a.contextExtensions, { virtual_host: 'people' })
  t.same(a.metadataContext, {}, 'an empty message that was sent is an empty object')
  t.notOk('query' in a.request.http, 'zero-valued scalars are absent (Envoy leaves query empty)')

  // raw_body (pack_as_bytes) is base64 in attributes and parsed like body.
  const raw = await c.check(checkRequest({ method: 'POST', headers: { 'content-type': 'application/json' }, rawBody: Buffer.from('{"k":[1,2]}') }))
  const rin = structJson(raw.dynamic_metadata).input as Record<string, any>
  t.equal(rin.attributes.request.http.rawBody, Buffer.from('{"k":[1,2]}').toString('base64'))
  t.same(rin.parsed_body, { k: [1, 2] })

  // Envoy says it sent part of the body.
  const partial = await c.check(checkRequest({ method: 'POST', headers: { 'content-type': 'application/json', 'x-envoy-auth-partial-body': 'true' }, body: '{"k":' }))
  const pin = structJson(partial.dynamic_metadata).input as Record<string, any>
  t.equal(pin.truncated_body, true)
  t.equal(pin.parsed_body, null)
})

t.test('malformed CheckRequests and policy errors are denied in band, never allowed', async (t) => {
  const b = await startExtAuthz({ rego: BOOLEAN_POLICY, entrypoint: 'envoy/authz/allow' })
  t.teardown(() => b.close())
  const c = authzClient(b.grpcPort)
  t.teardown(() => c.close())

  // Not a protobuf message: field 1, length-delimited, 200 bytes announced, 3 present.
  const garbage = decodeCheckResponse(await c.checkRaw(Buffer.from([0x0a, 0xc8, 0x01, 1, 2, 3])))
  t.equal(garbage.status?.code, 3, 'INVALID_ARGUMENT')
  t.match(garbage.status?.message, /^CheckRequest\.attributes: field of 200 bytes runs past the end of its message/)
  t.equal(garbage.denied_response?.status?.code, 400)

  // A string field with a varint wire type.
  const wrongType = decodeCheckResponse(await c.checkRaw(Buffer.from([0x0a, 0x06, 0x22, 0x04, 0x12, 0x02, 0x10, 0x01])))
  t.equal(wrongType.status?.code, 3)
  t.match(wrongType.status?.message, /CheckRequest\.attributes\.request\.http\.method: wire type 0 where a string/)

  const empty = await c.check({})
  t.equal(empty.status?.code, 3)
  t.match(empty.status?.message, /missing required attributes/)
  t.equal(empty.denied_response?.body, empty.status?.message, 'the reason is the denial body, as the plugin sends it')

  const badEscape = await c.check(checkRequest({ path: '/people/%zz' }))
  t.equal(badEscape.status?.code, 3)
  t.match(badEscape.status?.message, /invalid URL escape "%zz"/)

  const badJson = await c.check(checkRequest({ method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"firstname":' }))
  t.equal(badJson.status?.code, 3)
  t.match(badJson.status?.message, /request body is not valid JSON/)

  const semicolon = await c.check(checkRequest({ path: '/people?a=1;b=2' }))
  t.equal(semicolon.status?.code, 3)
  t.match(semicolon.status?.message, /invalid semicolon separator/)

  // Every one of them left the policy untouched and the next good request is still decided.
  const get = await c.check(checkRequest({ method: 'GET', path: '/people' }))
  t.equal(get.status?.code ?? 0, 0)

  const metrics = await b.app.metrics.render()
  t.match(metrics, /bouncer_ext_authz_checks_total\{transport="grpc",outcome="invalid"\} 6/)
  t.match(metrics, /bouncer_ext_authz_checks_total\{transport="grpc",outcome="allow"\} 1/)
})

t.test('a policy error is PERMISSION_DENIED with policy.error_status, a missing policy UNAVAILABLE', async (t) => {
  const broken = 'package envoy.authz\n\nresult := "yes"\n'
  const b = await startExtAuthz({ rego: broken, entrypoint: 'envoy/authz/result' })
  t.teardown(() => b.close())
  const c = authzClient(b.grpcPort)
  t.teardown(() => c.close())
  const r = await c.check(checkRequest())
  t.equal(r.status?.code, 7)
  t.equal(r.status?.message, 'BOUNCER_ERR_POLICY_DECISION')
  t.equal(r.denied_response?.status?.code, 403)
  t.match(r.denied_response?.body, /"error":"forbidden"/)

  // An object without allowed is an error too (the plugin: missing "allowed" key).
  b.app.holder.activate(await (await import('../../src/policy/load.js')).loadPolicyFromRego(
    [{ file: 'p.rego', source: 'package envoy.authz\n\nresult := {"headers": {"x": "y"}}\n' }], {}, 'envoy/authz/result', { source: 'test' }, b.app.policyOptions))
  const noAllowed = await c.check(checkRequest())
  t.equal(noAllowed.status?.code, 7)
  t.equal(noAllowed.denied_response?.status?.code, 403)

  const metrics = await b.app.metrics.render()
  t.match(metrics, /bouncer_ext_authz_checks_total\{transport="grpc",outcome="fail_closed"\} 2/)
  t.match(metrics, /bouncer_fail_closed_total\{reason="invalid_decision"\} 2/)
})
