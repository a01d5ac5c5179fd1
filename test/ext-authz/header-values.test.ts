// Header values a decision sets are held to RFC 9110's field-value on both transports: a control
// character (other than HTAB) is a policy error, denied — over gRPC too, where only CR, LF and
// NUL were refused (ESC, VT, DEL reached Envoy). And a request header named "__proto__" (a valid
// token, which Envoy passes) is in the policy's input like any other (it vanished).
import { connect } from 'node:net'
import t from 'tap'
import { request } from 'undici'
import { authzClient, checkRequest, startExtAuthz } from './fixtures/client.js'

const TENANT = 'package envoy.authz\n\nresult := {"allowed": true, "headers": {"x-tenant": input.parsed_query.tenant[0]}}\n'

t.test('control characters in a decision\'s header values: denied on both transports', async (t) => {
  const b = await startExtAuthz({ rego: TENANT, entrypoint: 'envoy/authz/result' })
  t.teardown(() => b.close())
  const c = authzClient(b.grpcPort)
  t.teardown(() => c.close())
  const grpc = async (enc: string) => c.check(checkRequest({ method: 'GET', path: `/x?tenant=${enc}` }))
  const http = async (enc: string) => { const r = await request(`http://127.0.0.1:${b.httpPort}/x?tenant=${enc}`); await r.body.dump(); return r.statusCode }

  for (const enc of ['acme', 'acme%09tab', 'Jos%C3%A9']) {
    const r = await grpc(enc)
    t.equal(r.status?.code ?? 0, 0, `${enc}: allowed over gRPC`)
    t.equal(await http(enc), 200, `${enc}: allowed over HTTP`)
  }
  for (const enc of ['acme%0Bx', 'acme%1B%5B31m', 'acme%7F', 'acme%0D%0AX-Admin:%201', 'acme%00', 'acme%01']) {
    const r = await grpc(enc)
    t.equal(r.status?.code, 7, `${enc}: denied over gRPC`)
    t.equal(r.status?.message, 'BOUNCER_ERR_POLICY_DECISION', `${enc}: a policy error`)
    t.equal(await http(enc), 403, `${enc}: denied over HTTP`)
  }
  // Above U+00FF: sent as UTF-8 over gRPC (obs-text bytes); Node cannot write it over HTTP/1.
  t.equal((await grpc('acme%C4%80')).status?.code ?? 0, 0, 'U+0100 over gRPC: UTF-8, allowed')
  t.equal(await http('acme%C4%80'), 403, 'U+0100 over HTTP: cannot be written, refused')
})

const HEADERS_SEEN = 'package envoy.authz\n\nresult := {"allowed": true, "headers": {"x-seen": json.marshal(object.keys(input.attributes.request.http.headers))}}\n'

t.test('a request header named "__proto__" reaches the policy', async (t) => {
  const h = await startExtAuthz({ rego: HEADERS_SEEN, entrypoint: 'envoy/authz/result' })
  t.teardown(() => h.close())
  const c = authzClient(h.grpcPort)
  t.teardown(() => c.close())
  const r = await c.check(checkRequest({ method: 'GET', headers: { ['__proto__']: 'evil', 'x-a': '1' } }))
  const seen = JSON.parse(r.ok_response?.headers?.find((o) => o.header?.key === 'x-seen')?.header?.value ?? '[]') as string[]
  t.ok(seen.includes('__proto__'), 'gRPC: in the headers map')
  t.ok(seen.includes('x-a'))

  const raw = await new Promise<string>((resolve, reject) => {
    let out = ''
    const s = connect(h.httpPort, '127.0.0.1', () => s.end('GET /x HTTP/1.1\r\nHost: a\r\n__proto__: evil\r\n__Proto__: twice\r\nx-a: 1\r\nConnection: close\r\n\r\n'))
    s.on('data', (d) => { out += String(d) })
    s.on('close', () => resolve(out))
    s.on('error', reject)
  })
  const seenHttp = JSON.parse(/x-seen: (.*)\r\n/.exec(raw)![1]!) as string[]
  t.ok(seenHttp.includes('__proto__'), 'HTTP: in the headers map')
  t.ok(seenHttp.includes('x-a'))
})

t.test('HTTP: a duplicated Authorization (or Content-Type) reaches the policy whole, as over gRPC', async (t) => {
  // Node's req.headers keeps only the first of these: a second token the policy never saw could
  // reach the upstream, which may read the last.
  const SEEN = 'package envoy.authz\n\nresult := {"allowed": true, "headers": {"x-seen": input.attributes.request.http.headers.authorization, "x-ct": input.attributes.request.http.headers["content-type"]}}\n'
  const h = await startExtAuthz({ rego: SEEN, entrypoint: 'envoy/authz/result' })
  t.teardown(() => h.close())
  const raw = await new Promise<string>((resolve, reject) => {
    let out = ''
    const s = connect(h.httpPort, '127.0.0.1', () => s.end('GET /x HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer good\r\nauthorization: Bearer evil\r\nContent-Type: a/b\r\nContent-Type: c/d\r\nConnection: close\r\n\r\n'))
    s.on('data', (d) => { out += String(d) })
    s.on('close', () => resolve(out))
    s.on('error', reject)
  })
  t.match(raw, /\r\nx-seen: Bearer good,Bearer evil\r\n/i, 'both tokens')
  t.match(raw, /\r\nx-ct: a\/b,c\/d\r\n/i, 'both content types')
})
