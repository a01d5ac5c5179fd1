// The HTTP transport gives the policy what gRPC gives it (review, session 53): the pseudo-headers
// Envoy's CheckRequest map holds, a body Envoy may have cut marked as such, and the same checks
// on a decision's header names.
import t from 'tap'
import { request } from 'undici'
import { parseBody } from '../../src/ext-authz/input.js'
import { authzClient, checkRequest, startExtAuthz } from './fixtures/client.js'

const POLICY = `package envoy.authz

default allow := false

allow if {
  not startswith(input.attributes.request.http.headers[":path"], "/admin")
  input.attributes.request.http.headers[":method"] == input.attributes.request.http.method
  not input.parsed_body.admin
  not input.truncated_body
}

result := {"allowed": allow, "request_headers_to_remove": [x | x := input.attributes.request.http.headers["x-remove"]]}
`

t.test('pseudo-headers, a body whose completeness Envoy did not say, a header name to remove: alike over HTTP and gRPC', async (t) => {
  const b = await startExtAuthz({ rego: POLICY, entrypoint: 'envoy/authz/result' })
  t.teardown(() => b.close())
  const c = authzClient(b.grpcPort)
  t.teardown(() => c.close())
  const http = async (path: string, init: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<number> => {
    const r = await request(`http://127.0.0.1:${b.httpPort}${path}`, init)
    await r.body.dump()
    return r.statusCode
  }
  const grpc = async (over: Parameters<typeof checkRequest>[0]): Promise<number | undefined> => (await c.check(checkRequest(over))).status?.code ?? 0

  // headers[":path"] (the gRPC map has it; over HTTP it was absent, so the deny never fired).
  t.equal(await grpc({ path: '/admin/users' }), 7, 'gRPC: /admin denied')
  t.equal(await http('/admin/users'), 403, 'HTTP: /admin denied too')
  t.equal(await grpc({ path: '/people' }), 0)
  t.equal(await http('/people'), 200)

  // Envoy's content-length over HTTP is that of what it forwards: a form it cut at
  // max_request_bytes looks whole. Without x-envoy-auth-partial-body the body may be cut.
  const cut = 'a=1&pad=xxxxxxxxxxxxxxxxxxxx' // the client's "&admin=true" beyond Envoy's limit
  const form = { 'content-type': 'application/x-www-form-urlencoded' }
  t.equal(await http('/people', { method: 'POST', headers: form, body: cut }), 403, 'no header: truncated_body, denied by a policy that checks it')
  t.equal(await http('/people', { method: 'POST', headers: { ...form, 'x-envoy-auth-partial-body': 'false' }, body: cut }), 200, 'Envoy says it is whole')
  t.equal(await http('/people', { method: 'POST', headers: { ...form, 'x-envoy-auth-partial-body': 'false' }, body: 'a=1&admin=true' }), 403, 'the whole body is read')

  // request_headers_to_remove names: HTTP could never send `a\r\nx-evil: 1`, gRPC passed it on.
  t.equal(await grpc({ path: '/people', headers: { 'x-remove': 'a\r\nx-evil: 1' } }), 7, 'gRPC: an invalid name is a policy error, denied')
  t.equal(await http('/people', { headers: { 'x-remove': 'x-ok' } }), 200)
})

t.test('truncation is counted in the bytes Envoy sent, before they are read as text', async (t) => {
  // 12 bytes of a 20-byte form; two invalid bytes read as U+FFFD (3 bytes each) made it look whole.
  const raw = Buffer.concat([Buffer.from('a=1&b='), Buffer.from([0xff, 0xfe, 0xff, 0xfe, 0xff, 0xfe])])
  const r = parseBody({ 'content-type': 'application/x-www-form-urlencoded', 'content-length': '20' }, '', raw.toString('base64'))
  t.same(r, { parsed_body: null, truncated_body: true })
})
