// Every HeaderValueOption the bouncer sends says whether Envoy replaces or appends: `append`
// (google.protobuf.BoolValue) false on the first value of a name, true on its later values.
// Envoy 1.37 reads an unset `append` as APPEND_IF_EXISTS_OR_ADD, so without it a client's own
// `x-bouncer-subject: admin` reached the upstream beside the policy's value (found by a review).
import t from 'tap'
import { authzClient, checkRequest, startExtAuthz, type CheckResponse } from './fixtures/client.js'

const POLICY = `package envoy.authz

allow if input.attributes.request.http.method == "GET"

result := {
  "allowed": allow,
  "headers": {"X-Bouncer-Subject": ["alice", "alice-2"], "x-tenant": "acme"},
  "response_headers_to_add": [{"set-cookie": "a=1"}, {"Set-Cookie": "b=2", "x-policy": "v1"}],
  "http_status": 401,
}

default allow := false
`

type Options = NonNullable<CheckResponse['ok_response']>['headers']

/** [key, value, append] per option, with `append` as Envoy reads it (absent = undefined). */
function appends (list: Options): [string, string, boolean | undefined][] {
  return (list ?? []).map((o) => {
    const a = (o as { append?: { value?: boolean } | null }).append
    return [o.header?.key ?? '', o.header?.value ?? '', a === undefined || a === null ? undefined : a.value === true]
  })
}

t.test('ok_response and denied_response headers carry append: false first, true on later values of a name', async (t) => {
  const b = await startExtAuthz({ rego: POLICY, entrypoint: 'envoy/authz/result' })
  t.teardown(() => b.close())
  const c = authzClient(b.grpcPort)
  t.teardown(() => c.close())

  // The client sent its own x-bouncer-subject: the policy's value must replace it, not join it.
  const ok = await c.check(checkRequest({ method: 'GET', headers: { 'x-bouncer-subject': 'admin' } }))
  t.equal(ok.status?.code ?? 0, 0)
  t.same(appends(ok.ok_response?.headers), [
    ['x-bouncer-subject', 'alice', false],
    ['x-bouncer-subject', 'alice-2', true],
    ['x-tenant', 'acme', false],
  ], 'upstream headers: the first value of each name overwrites what the client sent')
  t.same(appends(ok.ok_response?.response_headers_to_add), [
    ['set-cookie', 'a=1', false],
    ['set-cookie', 'b=2', true],
    ['x-policy', 'v1', false],
  ], 'client response headers: the same (names compared without case)')

  const denied = await c.check(checkRequest({ method: 'DELETE' }))
  t.equal(denied.status?.code, 7)
  t.same(appends(denied.denied_response?.headers), [
    ['x-bouncer-subject', 'alice', false],
    ['x-bouncer-subject', 'alice-2', true],
    ['x-tenant', 'acme', false],
  ], 'denial headers too (Envoy 1.37 reads them with the same rule)')
})

t.test('a failure\'s content-type replaces the local reply\'s', async (t) => {
  const b = await startExtAuthz({ rego: 'package envoy.authz\n\nresult := {"allowed": true, "headers": {"x": 1}}\n', entrypoint: 'envoy/authz/result' })
  t.teardown(() => b.close())
  const c = authzClient(b.grpcPort)
  t.teardown(() => c.close())
  const r = await c.check(checkRequest({ method: 'GET' }))
  t.equal(r.status?.code, 7, 'an invalid result: denied')
  t.same(appends(r.denied_response?.headers), [['content-type', 'application/json', false]])
})
