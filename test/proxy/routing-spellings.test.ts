// Spellings an upstream routes as the path or host a policy denies (path review, 2026-12-07,
// against Jetty, nginx and Express): each is now judged as the upstream routes it, or refused.
//  - `;` path parameters: servlet containers route `/admin;x=1` as `/admin`; parsed_path held
//    "admin;x=1", so a policy on parsed_path let it through (http.path keeps them);
//  - `Host: admin.example..`: one trailing dot was dropped, nginx dropped the other and served
//    the admin virtual host (sent to nginx directly, it is a 400);
//  - X-Original-URL, X-Rewrite-URL, X-HTTP-Method-Override: upstreams that route by them ran
//    another path or method than the one judged; dropped unless server.trust_forwarded_headers.
// Real proxy, real upstream.
import t from 'tap'
import { connect } from 'node:net'
import { startBouncer, startUpstream } from '../helpers/index.js'

const POLICY = `package bouncer

default decision := {"allow": true}
decision := {"allow": false, "status": 403} if input.parsed_path[0] == "admin"
decision := {"allow": false, "status": 403} if input.attributes.request.http.host == "admin.example"
decision := {"allow": false, "status": 403} if input.attributes.request.http.method == "DELETE"
`

function raw (port: number, text: string): Promise<number> {
  return new Promise((resolve) => {
    let got = ''
    const s = connect(port, '127.0.0.1', () => s.write(text))
    s.on('data', (d: Buffer) => { got += d.toString('latin1'); const m = /^HTTP\/1\.1 (\d{3})/.exec(got); if (m) { s.destroy(); resolve(Number(m[1])) } })
    s.on('error', () => resolve(0))
    setTimeout(() => { s.destroy(); resolve(0) }, 5000)
  })
}

t.test('path parameters, empty host labels and routing override headers', async (t) => {
  const up = await startUpstream()
  const b = await startBouncer({ upstream: up.url, rego: { 'p.rego': POLICY } })
  const trusting = await startBouncer({ upstream: up.url, rego: { 'p.rego': POLICY }, config: { server: { trust_forwarded_headers: true } } as never })
  t.teardown(async () => { await b.close(); await trusting.close(); await up.close() })
  const get = (path: string, host = 'api.example', extra = ''): Promise<number> => raw(b.port, `GET ${path} HTTP/1.1\r\nHost: ${host}\r\n${extra}Connection: close\r\n\r\n`)

  for (const path of ['/admin;x=1', '/admin;x=1/y', '/admin;/', '/admin;jsessionid=ABC']) {
    t.equal(await get(path), 403, `${path}: judged as /admin, as Tomcat, Jetty and Spring route it`)
  }
  t.equal(up.requests.length, 0, 'none forwarded')
  t.equal(await get('/report;jsessionid=1'), 200, 'path parameters elsewhere are still forwarded (path.matrix_params: keep)')
  t.equal(up.requests.at(-1)?.url, '/report;jsessionid=1', 'as sent')
  t.equal(await get('/a%3Badmin'), 200, 'an encoded ";" is data: "a;admin" is no admin segment')

  const before = up.requests.length
  t.equal(await get('/x', 'admin.example'), 403, 'the admin host is denied')
  for (const host of ['admin.example..', '.admin.example', 'admin..example']) {
    t.equal(await get('/x', host), 400, `Host ${host}: an empty label is refused`)
  }
  t.equal(up.requests.length, before, 'never forwarded')

  const n = up.requests.length
  t.equal(await get('/public', 'api.example', 'X-Original-URL: /admin\r\nX-Rewrite-URL: /admin\r\nX-HTTP-Method-Override: DELETE\r\nX-Host: admin.example\r\n'), 200)
  const h = up.requests[n]!.headers
  t.same([h['x-original-url'], h['x-rewrite-url'], h['x-http-method-override'], h['x-host']], [undefined, undefined, undefined, undefined],
    'routing override headers are not forwarded from the client')
  t.equal(await raw(trusting.port, 'GET /public HTTP/1.1\r\nHost: api.example\r\nX-Original-URL: /public/x\r\nConnection: close\r\n\r\n'), 200)
  t.equal(up.requests.at(-1)?.headers['x-original-url'], '/public/x', 'kept when a trusted proxy in front sets them')
})
