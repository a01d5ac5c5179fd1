// One view of the request (issue 15): the headers in the policy input are exactly the headers the
// upstream receives, minus what the decision changes. Hop-by-hop headers, headers named in
// Connection, reserved headers and the client's forwarding headers are all settled BEFORE the
// policy runs. Raw sockets: a client library would normalise the hostile requests away.
import t, { type Test } from 'tap'
import { startBouncer, startUpstream, rawRequest, type Upstream, type StartedBouncer } from '../helpers/index.js'
import type { DecisionEventInput, DecisionLogger } from '../../src/index.js'

const POLICY = `package bouncer

default decision := {"allow": false, "reason": "default deny"}

decision := {"allow": true} if input.parsed_path[0] == "public"

# tenant isolation on a header, as the issue's attacker found it
decision := {"allow": true} if {
  input.parsed_path[0] == "tenant"
  input.attributes.request.http.headers["x-tenant"] == "acme"
}

# the decision sets an identity header on this route only
decision := {"allow": true, "headers": {"x-bouncer-subject": "bob"}} if input.parsed_path[0] == "identified"
`

/** A decision logger that keeps what the policy was given. */
class InputRecorder implements DecisionLogger {
  inputs: Array<{ headers: Record<string, string>; id: string; decisionId: string | undefined }> = []
  record (e: DecisionEventInput): void {
    const http = (e.input as { attributes: { request: { http: { headers: Record<string, string>; id: string } } } }).attributes.request.http
    this.inputs.push({ headers: structuredClone(http.headers), id: http.id, decisionId: e.decision_id })
  }
}

// Set by the HTTP client on the upstream hop: undici frames the message itself (a streamed body
// goes out chunked, or with a content-length when the stream has already ended).
const TRANSPORT = new Set(['connection', 'transfer-encoding'])
function forwarded (headers: Record<string, string | string[] | undefined>, streamedBody = false): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [k, v] of Object.entries(headers)) {
    if (v === undefined || TRANSPORT.has(k) || (streamedBody && k === 'content-length')) continue
    out[k] = Array.isArray(v) ? v.join(', ') : v
  }
  return out
}

/** The final status (after any 100 Continue). */
function finalStatus (text: string): number | undefined {
  const all = [...text.matchAll(/HTTP\/1\.1 (\d{3})/g)]
  return all.length ? Number(all[all.length - 1][1]) : undefined
}

const HOSTILE: Array<[name: string, request: string]> = [
  ['headers named in Connection (X-Tenant, Authorization)',
    'GET /public/a HTTP/1.1\r\nHost: api.local\r\nX-Tenant: acme\r\nAuthorization: Bearer abc\r\nConnection: close, X-Tenant, Authorization\r\n\r\n'],
  ['spoofed forwarding headers',
    'GET /public/b HTTP/1.1\r\nHost: api.local\r\nX-Forwarded-For: 10.0.0.1\r\nX-Forwarded-For: 10.0.0.2\r\nForwarded: for=10.0.0.3\r\nX-Real-IP: 10.0.0.4\r\n' +
    'True-Client-IP: 10.0.0.5\r\nX-Client-IP: 10.0.0.6\r\nX-Forwarded-Host: evil.example\r\nX-Forwarded-Proto: https\r\nX-Forwarded-Port: 443\r\nX-Forwarded-Prefix: /admin\r\nConnection: close\r\n\r\n'],
  ['reserved headers (x-bouncer-*)',
    'GET /public/c HTTP/1.1\r\nHost: api.local\r\nX-Bouncer-Subject: alice\r\nX-Bouncer-Tenant: acme\r\nX-Keep: yes\r\nConnection: close\r\n\r\n'],
  ['hop-by-hop headers',
    'GET /public/d HTTP/1.1\r\nHost: api.local\r\nKeep-Alive: timeout=5\r\nTE: trailers\r\nTrailer: x-t\r\nProxy-Authorization: Basic eDp5\r\nProxy-Connection: keep-alive\r\n' +
    'HTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\nUpgrade: h2c\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n'],
  ['absolute-form target with another Host',
    'GET http://other.example:81/public/e HTTP/1.1\r\nHost: api.local\r\nConnection: close\r\n\r\n'],
  ['a body, a repeated header, a client x-request-id',
    'POST /public/f HTTP/1.1\r\nHost: api.local\r\nContent-Type: text/plain\r\nContent-Length: 5\r\nX-Dup: a\r\nX-Dup: b\r\nX-Request-Id: client-id-1\r\nConnection: close\r\n\r\nhello'],
  ['a chunked body',
    'POST /public/g HTTP/1.1\r\nHost: api.local\r\nTransfer-Encoding: chunked\r\nConnection: close, Content-Type\r\nContent-Type: text/plain\r\n\r\n5\r\nhello\r\n0\r\n\r\n'],
  ['a header named in Connection with odd case and spacing',
    'GET /public/h HTTP/1.1\r\nHost: api.local\r\nX-Secret-Hop: 1\r\nConnection:  x-SECRET-hop ,close\r\n\r\n'],
  ['underscore spellings of reserved, forwarding and policy headers',
    'GET /public/i HTTP/1.1\r\nHost: api.local\r\nX_Bouncer_Subject: admin\r\nX_Real_IP: 6.6.6.6\r\nX_Tenant: other\r\nX-Tenant: acme\r\nConnection: close\r\n\r\n'],
]

async function setup (t: Test, config: Record<string, unknown> = {}): Promise<{ up: Upstream; b: StartedBouncer; rec: InputRecorder }> {
  const up = await startUpstream()
  const rec = new InputRecorder()
  const b = await startBouncer({ upstream: up.url, rego: { 'p.rego': POLICY }, deps: { decisionLog: rec }, config })
  t.teardown(async () => { await b.close(); await up.close() })
  return { up, b, rec }
}

t.test('the policy sees exactly the headers the upstream receives (hostile requests)', async (t) => {
  const { up, b, rec } = await setup(t)
  for (const [name, req] of HOSTILE) {
    up.requests.length = 0
    rec.inputs.length = 0
    const r = await rawRequest(b.port, req)
    t.equal(finalStatus(r.text), 200, `${name}: allowed`)
    t.equal(up.requests.length, 1, `${name}: forwarded once`)
    t.equal(rec.inputs.length, 1, `${name}: evaluated once`)
    const streamed = /transfer-encoding: chunked/i.test(req)
    t.same(rec.inputs[0].headers, forwarded(up.requests[0].headers, streamed), `${name}: input headers == forwarded headers`)
  }
})

t.test('what the view contains', async (t) => {
  const { up, b, rec } = await setup(t)
  const send = async (req: string) => {
    up.requests.length = 0
    rec.inputs.length = 0
    const r = await rawRequest(b.port, req)
    return { status: r.status, text: r.text, policy: rec.inputs[0]?.headers, upstream: up.requests[0]?.headers }
  }
  const a = await send(HOSTILE[0][1])
  t.notOk('x-tenant' in a.policy!, 'a header named in Connection is not in the input')
  t.notOk('authorization' in a.policy!, 'Authorization named in Connection is not in the input either')
  t.notOk('x-tenant' in a.upstream!)

  const f = await send(HOSTILE[1][1])
  t.equal(f.policy!['x-forwarded-for'], '127.0.0.1', 'X-Forwarded-For is the peer, in the input')
  t.equal(f.upstream!['x-forwarded-for'], '127.0.0.1', 'and upstream')
  t.equal(f.policy!['x-forwarded-proto'], 'http')
  t.equal(f.policy!['x-forwarded-host'], 'api.local')
  for (const h of ['forwarded', 'x-real-ip', 'true-client-ip', 'x-client-ip', 'x-forwarded-port', 'x-forwarded-prefix']) {
    t.notOk(h in f.policy!, `${h} dropped before the policy`)
    t.notOk(h in f.upstream!, `${h} never forwarded`)
  }

  const rsv = await send(HOSTILE[2][1])
  for (const h of ['x-bouncer-subject', 'x-bouncer-tenant']) {
    t.notOk(h in rsv.policy!, `${h} (reserved) dropped before the policy`)
    t.notOk(h in rsv.upstream!, `${h} (reserved) never forwarded`)
  }
  t.equal(rsv.upstream!['x-keep'], 'yes', 'other headers pass')

  const h = await send(HOSTILE[3][1])
  for (const n of ['keep-alive', 'te', 'trailer', 'proxy-authorization', 'proxy-connection', 'http2-settings', 'upgrade', 'expect']) {
    t.notOk(n in h.policy!, `${n} not in the input`)
    t.notOk(n in h.upstream!, `${n} not forwarded`)
  }
})

t.test('a decision on a header named in Connection: the policy never sees it, so it cannot allow on it', async (t) => {
  const { up, b } = await setup(t)
  const ok = await rawRequest(b.port, 'GET /tenant/x HTTP/1.1\r\nHost: api.local\r\nX-Tenant: acme\r\nConnection: close\r\n\r\n')
  t.equal(ok.status, 200, 'the tenant header is honoured when it is forwarded')
  t.equal(up.requests[0].headers['x-tenant'], 'acme')
  up.requests.length = 0
  const hop = await rawRequest(b.port, 'GET /tenant/x HTTP/1.1\r\nHost: api.local\r\nX-Tenant: acme\r\nConnection: close, X-Tenant\r\n\r\n')
  t.equal(hop.status, 403, 'X-Tenant named in Connection: the policy does not see it (deny)')
  t.equal(up.requests.length, 0, 'nothing reached the upstream')
})

t.test('server.reserved_headers: names and prefixes, removed before the policy runs', async (t) => {
  const { up, b, rec } = await setup(t, { server: { reserved_headers: ['x-internal-*', 'X-User-Role'] } })
  const r = await rawRequest(b.port, 'GET /public/r HTTP/1.1\r\nHost: api.local\r\nX-Internal-Role: admin\r\nX-Internal-Org: 1\r\nX-User-Role: root\r\nX-User-Roles: kept\r\nX-Bouncer-Subject: alice\r\nConnection: close\r\n\r\n')
  t.equal(r.status, 200)
  for (const h of ['x-internal-role', 'x-internal-org', 'x-user-role', 'x-bouncer-subject']) {
    t.notOk(h in rec.inputs[0].headers, `${h} dropped before the policy`)
    t.notOk(h in up.requests[0].headers, `${h} never forwarded`)
  }
  t.equal(up.requests[0].headers['x-user-roles'], 'kept', 'a name is exact, not a prefix')
  t.same(rec.inputs[0].headers, forwarded(up.requests[0].headers))
})

t.test('reserved headers: only the decision can set them', async (t) => {
  const { up, b } = await setup(t)
  const r = await rawRequest(b.port, 'GET /identified HTTP/1.1\r\nHost: api.local\r\nX-Bouncer-Subject: alice\r\nConnection: close\r\n\r\n')
  t.equal(r.status, 200)
  t.equal(up.requests[0].headers['x-bouncer-subject'], 'bob', "the decision's value")
  up.requests.length = 0
  await rawRequest(b.port, 'GET /public/x HTTP/1.1\r\nHost: api.local\r\nX-Bouncer-Subject: alice\r\nConnection: close\r\n\r\n')
  t.notOk('x-bouncer-subject' in up.requests[0].headers, "a route whose decision does not set it: the client's value is gone")
})

t.test('trust_forwarded_headers: the peer is appended, the same in the input and upstream', async (t) => {
  const { up, b, rec } = await setup(t, { server: { trust_forwarded_headers: true } })
  const r = await rawRequest(b.port, HOSTILE[1][1])
  t.equal(r.status, 200)
  const policy = rec.inputs[0].headers
  t.equal(policy['x-forwarded-for'], '10.0.0.1, 10.0.0.2, 127.0.0.1', 'appended, as Envoy does')
  t.equal(policy.forwarded, 'for=10.0.0.3', 'kept: the proxy in front is trusted')
  t.equal(policy['x-forwarded-proto'], 'https')
  t.same(policy, forwarded(up.requests[0].headers), 'input headers == forwarded headers')
})

t.test('server.underscore_headers: names with "_" are dropped (default) or kept with "_" read as "-"', async (t) => {
  // CGI-style upstreams (WSGI, Rack, PHP) read X_Tenant as X-Tenant: left in, it would shadow the
  // x-tenant the policy judged, and X_Bouncer_Subject would pass for the reserved header.
  const req = 'GET /tenant/a HTTP/1.1\r\nHost: api.local\r\nX-Tenant: acme\r\nX_Tenant: other\r\nX_Bouncer_Subject: admin\r\n' +
    'X_Real_IP: 6.6.6.6\r\nX_Request_Id: spoof\r\nX_Trace: t1\r\nConnection: close\r\n\r\n'
  {
    const { up, b, rec } = await setup(t)
    const r = await rawRequest(b.port, req)
    t.equal(finalStatus(r.text), 200)
    const got = up.requests[0]!.headers
    for (const h of ['x_tenant', 'x_bouncer_subject', 'x_real_ip', 'x_request_id', 'x_trace']) {
      t.equal(got[h], undefined, `drop: ${h} not forwarded`)
      t.equal(rec.inputs[0]!.headers[h], undefined, `drop: ${h} not in the input`)
    }
    t.equal(got['x-tenant'], 'acme')
  }
  {
    const { up, b, rec } = await setup(t, { server: { underscore_headers: 'keep' } })
    const r = await rawRequest(b.port, req)
    t.equal(finalStatus(r.text), 200)
    const got = up.requests[0]!.headers
    t.equal(got.x_trace, 't1', 'keep: an ordinary name is kept')
    t.equal(rec.inputs[0]!.headers.x_trace, 't1', 'keep: and the policy sees it')
    // Beside x-tenant, a CGI upstream reads the two as one HTTP_X_TENANT (gunicorn joins them:
    // "acme,other") where the policy judged "acme": the spelling of another header goes.
    t.equal(got.x_tenant, undefined, 'keep: x_tenant beside x-tenant is not forwarded')
    t.equal(rec.inputs[0]!.headers.x_tenant, undefined, 'keep: nor in the input')
    t.equal(got['x-tenant'], 'acme')
    // Two underscore spellings of one name, without the dashed one: neither goes either.
    const two = await rawRequest(b.port, 'GET /tenant/a HTTP/1.1\r\nHost: api.local\r\nX-Tenant: acme\r\nX-Tenant_Id: t2\r\nx_tenant-id: t3\r\nConnection: close\r\n\r\n')
    t.equal(finalStatus(two.text), 200)
    const got2 = up.requests.at(-1)!.headers
    t.equal(got2['x-tenant_id'], undefined, 'keep: X-Tenant_Id beside x_tenant-id is not forwarded')
    t.equal(got2['x_tenant-id'], undefined, 'keep: nor x_tenant-id')
    t.equal(rec.inputs.at(-1)!.headers['x-tenant_id'], undefined)
    for (const h of ['x_bouncer_subject', 'x_real_ip', 'x_request_id']) {
      t.equal(got[h], undefined, `keep: ${h} (reserved, forwarding, request id as "-") still dropped`)
      t.equal(rec.inputs[0]!.headers[h], undefined)
    }
  }
  {
    // The header auth.jwt reads: its "_" spelling never goes upstream, alone or beside it (an
    // upstream reading the token itself would read one the authenticator never verified).
    const { up, b } = await setup(t, { server: { underscore_headers: 'keep' }, auth: { jwt: { enabled: true, header: 'X-Auth-Token', keys: [{ alg: 'HS256', secret: 'a-test-secret-of-at-least-thirty-two-bytes!' }] } } })
    for (const extra of ['X_Auth_Token: forged\r\n', 'X-Auth-Token: also-not-valid\r\nX_Auth_Token: forged\r\n']) {
      const r = await rawRequest(b.port, `GET /tenant/a HTTP/1.1\r\nHost: api.local\r\nX-Tenant: acme\r\n${extra}Connection: close\r\n\r\n`)
      t.equal(finalStatus(r.text), 200)
      t.equal(up.requests.at(-1)!.headers.x_auth_token, undefined, `keep: the auth header's "_" spelling is not forwarded (${extra.trim()})`)
    }
  }
})

t.test('preserve_host off: the Host in the input is the one the upstream gets', async (t) => {
  const { up, b, rec } = await setup(t, { upstream: { preserve_host: false } })
  const r = await rawRequest(b.port, 'GET /public/p HTTP/1.1\r\nHost: api.local\r\nConnection: close\r\n\r\n')
  t.equal(r.status, 200)
  t.equal(rec.inputs[0].headers.host, `127.0.0.1:${up.port}`)
  t.same(rec.inputs[0].headers, forwarded(up.requests[0].headers))
})

t.test('reserved_headers is validated: framing headers cannot be reserved', async (t) => {
  const { createConfig } = await import('../../src/config/index.js')
  t.throws(() => createConfig({ server: { reserved_headers: ['content-length'] } }), /server\.reserved_headers: "content-length" would remove "content-length"/)
  t.throws(() => createConfig({ server: { reserved_headers: ['ho*'] } }), /would remove "host"/)
  t.throws(() => createConfig({ server: { reserved_headers: ['x y'] } }), /server\.reserved_headers\.0/)
  t.ok(createConfig({ server: { reserved_headers: ['x-internal-*', 'X-Role'] } }))
})
