// Envoy with encode_raw_headers: true sends the request headers only in
// attributes.request.http.header_map (HeaderValue {key, raw_value bytes}), `headers` empty. The
// policy reads them under `headers` as usual: names lower-cased, the values of a name joined
// with "," (as Envoy fills the map), raw_value as UTF-8. The policy saw {} and allowed (review).
import t from 'tap'
import { authzClient, checkRequest, startExtAuthz, structJson } from './fixtures/client.js'

const POLICY = `package envoy.authz

default allow := false

allow if {
  not mallory
  not admin
}

mallory if input.attributes.request.http.headers["x-user"] == "mallory"

admin if input.parsed_body.role == "admin"

result := {"allowed": allow, "dynamic_metadata": {"headers": object.get(input.attributes.request.http, "headers", {}), "parsed_body": input.parsed_body}}
`

/** A CheckRequest as Envoy sends it with encode_raw_headers: the headers only in header_map. */
function rawHeaders (headers: [string, string | Buffer][], body?: string): unknown {
  const req = checkRequest({ method: 'POST', ...(body !== undefined ? { body } : {}) }) as Record<string, any>
  const http = req.attributes.request.http
  delete http.headers
  http.header_map = { headers: headers.map(([key, v]) => ({ key, raw_value: Buffer.isBuffer(v) ? v : Buffer.from(v) })) }
  return req
}

t.test('header_map (encode_raw_headers) is read as the headers map', async (t) => {
  const b = await startExtAuthz({ rego: POLICY, entrypoint: 'envoy/authz/result' })
  t.teardown(() => b.close())
  const c = authzClient(b.grpcPort)
  t.teardown(() => c.close())

  const ok = await c.check(rawHeaders([[':method', 'POST'], ['x-user', 'alice'], ['X-Multi', 'a'], ['x-multi', 'b'], ['x-name', Buffer.from('Jos\u00e9')]]))
  t.equal(ok.status?.code ?? 0, 0, 'allowed')
  const seen = (structJson(ok.dynamic_metadata).headers ?? {}) as Record<string, string>
  t.equal(seen['x-user'], 'alice')
  t.equal(seen['x-multi'], 'a,b', 'the values of one name joined with ","')
  t.equal(seen['x-name'], 'Jos\u00e9', 'raw_value read as UTF-8')
  t.equal(seen[':method'], 'POST')

  const mallory = await c.check(rawHeaders([['x-user', 'mallory']]))
  t.equal(mallory.status?.code, 7, 'a header only in header_map is judged')

  const body = '{"role":"admin"}'
  const admin = await c.check(rawHeaders([['x-user', 'alice'], ['content-type', 'application/json'], ['content-length', String(body.length)]], body))
  t.equal(admin.status?.code, 7, 'the body is parsed by the content type in header_map')
  t.same(structJson(admin.dynamic_metadata).parsed_body, { role: 'admin' })
})
