// Path parameters (issue 15): Tomcat, Jetty and Spring strip ";parameters" from a segment before
// resolving dot-segments, so "/public/..;/admin" is "/admin" to them while a policy that allows
// /public/** sees "/public/..;/admin" (the class of Apache Shiro CVE-2020-1957). A segment that is
// a dot-segment once its parameters are removed is rejected with path.reject_status; other ";"
// uses are kept (path.matrix_params: keep) or rejected (reject).
import t from 'tap'
import { startBouncer, startUpstream, rawRequest } from '../helpers/index.js'

const POLICY = `package bouncer

default decision := {"allow": false}

decision := {"allow": true} if input.parsed_path[0] == "public"
`

const get = (port: number, target: string) => rawRequest(port, `GET ${target} HTTP/1.1\r\nHost: api.local\r\nConnection: close\r\n\r\n`)

const TRICKS = ['/public/..;/admin', '/public/x/..;/..;/admin', '/public/.;x/../..;/admin', '/public/%2e%2e;/admin', '/public/%2E%2E;jsessionid=1/admin',
  '/public/.%2e;/admin', '/public/..;x=1/admin', 'http://api.local/public/..;/admin']

t.test('dot-segments with path parameters never reach the upstream', async (t) => {
  const up = await startUpstream()
  t.teardown(() => up.close())
  const b = await startBouncer({ upstream: up.url, rego: { 'p.rego': POLICY } })
  t.teardown(() => b.close())
  const b404 = await startBouncer({ upstream: up.url, rego: { 'p.rego': POLICY }, config: { path: { reject_status: 404 } } })
  t.teardown(() => b404.close())

  for (const target of TRICKS) {
    t.equal((await get(b.port, target)).status, 400, `${target} → 400`)
    t.equal((await get(b404.port, target)).status, 404, `${target} → path.reject_status`)
  }
  const ws = await rawRequest(b.port, 'GET /public/..;/admin HTTP/1.1\r\nHost: api.local\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n')
  t.equal(ws.status, 400, 'the same rule for upgrade requests')
  t.equal(up.requests.length, 0, 'nothing reached the upstream')

  const kept = await get(b.port, '/public/report;jsessionid=1/x')
  t.equal(kept.status, 200, 'other path parameters are kept by default')
  t.equal(up.requests[0].url, '/public/report;jsessionid=1/x')
})

t.test('path.matrix_params: reject refuses every ";"', async (t) => {
  const up = await startUpstream()
  t.teardown(() => up.close())
  const strict = await startBouncer({ upstream: up.url, rego: { 'p.rego': POLICY }, config: { path: { matrix_params: 'reject' } } })
  t.teardown(() => strict.close())
  t.equal((await get(strict.port, '/public/report;jsessionid=1/x')).status, 400)
  t.equal((await get(strict.port, '/public/report%3Bx')).status, 200, 'an encoded ";" is data')
  t.equal(up.requests.length, 1)
})

t.test('path.query_semicolons: a raw ";" in the query is data by default, refused with reject', async (t) => {
  // Rack 2, Bottle and Python before 3.9.2 split the query on ";": role=user;role=admin is two
  // parameters to them, one value "user;role=admin" to parsed_query.
  const up = await startUpstream()
  t.teardown(() => up.close())
  const b = await startBouncer({ upstream: up.url, rego: { 'p.rego': POLICY } })
  t.teardown(() => b.close())
  const strict = await startBouncer({ upstream: up.url, rego: { 'p.rego': POLICY }, config: { path: { query_semicolons: 'reject' } } })
  t.teardown(() => strict.close())
  t.equal((await get(b.port, '/public/x?role=user;role=admin')).status, 200, 'keep (default): forwarded as it is')
  t.equal(up.requests[0]?.url, '/public/x?role=user;role=admin')
  up.requests.length = 0
  const r = await get(strict.port, '/public/x?role=user;role=admin')
  t.equal(r.status, 400, 'reject: refused')
  t.equal((await get(strict.port, '/public/x?role=user%3Brole=admin')).status, 200, 'an encoded ";" is data')
  t.equal((await get(strict.port, '/public/a;b?x=1')).status, 200, 'path parameters are matrix_params\' business')
  t.equal(up.requests.length, 2)
})
