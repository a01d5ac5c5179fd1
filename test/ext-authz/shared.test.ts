// One bundle, one cache, one decision log for both modes: a policy that reads only what the
// proxy's input and the ext_authz input share (method, parsed_path) is decided once — a
// CheckRequest after the same request through the proxy is a cache hit — and every ext_authz
// decision is a decision-log event labelled with its transport.
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { request } from 'undici'
import { startUpstream } from '../helpers/index.js'
import { tempDir } from '../decision-log/fixtures/control-plane.js'
import { authzClient, checkRequest, startExtAuthz } from './fixtures/client.js'

const POLICY = `package envoy.authz

default allow := false

allow if {
  input.attributes.request.http.method == "GET"
  input.parsed_path[0] == "people"
}
`

function events (spool: string): Record<string, any>[] {
  const out: Record<string, any>[] = []
  for (const n of readdirSync(spool).sort()) {
    if (!n.startsWith('seg-')) continue
    for (const line of readFileSync(join(spool, n), 'utf8').split('\n')) if (line.trim() !== '') out.push(JSON.parse(line))
  }
  return out
}

t.test('the proxy and ext_authz share the decision cache and the decision log', async (t) => {
  const dir = tempDir(t)
  const spool = join(dir, 'spool')
  const up = await startUpstream()
  t.teardown(() => up.close())
  const b = await startExtAuthz({
    rego: POLICY,
    entrypoint: 'envoy/authz/allow',
    proxyUpstream: up.url,
    config: {
      cache: { enabled: true },
      decision_logs: { enabled: true, sinks: ['file'], file_path: join(dir, 'decisions.jsonl'), spool_dir: spool, write_mode: 'sync', min_delay_seconds: 3600, max_delay_seconds: 3600 },
    },
  })
  t.teardown(() => b.close())
  const c = authzClient(b.grpcPort)
  t.teardown(() => c.close())

  const viaProxy = await request(`http://127.0.0.1:${b.proxyPort}/people/42`)
  t.equal(viaProxy.statusCode, 200, 'the proxy allows GET /people/42 (and caches the decision)')
  await viaProxy.body.dump()
  const before = await b.app.metrics.render()
  t.notMatch(before, /bouncer_decision_cache_hits_total\{tier="memory"\} [1-9]/, 'no hit yet')

  const r = await c.check(checkRequest({ method: 'GET', path: '/people/42' }))
  t.equal(r.status?.code ?? 0, 0)
  const after = await b.app.metrics.render()
  t.match(after, /bouncer_decision_cache_hits_total\{tier="memory"\} 1/, 'the CheckRequest was answered from the proxy\'s cached decision')

  const http = await request(`http://127.0.0.1:${b.httpPort}/people/7`, { method: 'DELETE' })
  t.equal(http.statusCode, 403, 'a boolean denial over HTTP: 403')
  await http.body.dump()

  const evs = events(spool).filter((e) => e.decision_id !== undefined)
  t.equal(evs.length, 3, 'one event per decision, proxy and ext_authz alike')
  const [proxyEv, grpcEv, httpEv] = evs
  t.equal(proxyEv!.labels.bouncer_mode, undefined, 'proxy events are unchanged')
  t.equal(grpcEv!.labels.bouncer_mode, 'ext_authz_grpc')
  t.equal(grpcEv!.path, 'envoy/authz/allow')
  t.equal(grpcEv!.result, true)
  t.same(grpcEv!.input.parsed_path, ['people', '42'])
  t.same(grpcEv!.input.version, { ext_authz: 'v3', encoding: 'protojson' })
  t.equal(grpcEv!.requested_by, '10.1.2.3:51234', 'requested_by: the CheckRequest\'s source peer')
  t.equal(grpcEv!.input.attributes.request.http.headers['x-request-id'], '2f5c8a1e-0b7d-4c3e-9a61-5d2f0e4b7c11')
  t.equal(httpEv!.labels.bouncer_mode, 'ext_authz_http')
  t.equal(httpEv!.result, false)
  t.equal(httpEv!.input.attributes.request.http.method, 'DELETE')
  t.equal(typeof grpcEv!.hash, 'string', 'ext_authz events are in the hash chain')
  t.equal(grpcEv!.prev_hash, proxyEv!.hash)

  // A credential in the query is scrubbed wherever the CheckRequest carries the target: path,
  // parsed_query, and the :path pseudo-header.
  await c.check(checkRequest({ method: 'GET', path: '/people/1?access_token=s3cr3t-t0k&lang=en' }))
  const text = readdirSync(spool).filter((n) => n.startsWith('seg-')).map((n) => readFileSync(join(spool, n), 'utf8')).join('')
  t.notMatch(text, /s3cr3t-t0k/, 'the token is in no event')
  const last = events(spool).filter((e) => e.decision_id !== undefined).at(-1)!
  t.match(last.input.attributes.request.http.headers[':path'], /^\/people\/1\?access_token=[^&]+&lang=en$/)
  t.ok(last.masked.includes('/input/attributes/request/http/headers/:path'), 'the rewrite is declared in masked')
  t.same(last.input.parsed_query.lang, ['en'])
})

t.test('mode ext_authz needs a listener; upstream.url is not needed', async (t) => {
  const { createConfig } = await import('../../src/index.js')
  t.throws(() => createConfig({ mode: 'ext_authz' }), /mode: "ext_authz" needs ext_authz\.grpc\.enabled or ext_authz\.http\.enabled/)
  t.throws(() => createConfig({ ext_authz: { grpc: { enabled: true, port: 9300 }, http: { enabled: true, port: 9300 } } }), /ext_authz\.http\.port: must differ from ext_authz\.grpc\.port/)
  t.throws(() => createConfig({ mode: 'sidecar' } as never), /mode/)
  const b = await startExtAuthz({ rego: POLICY, entrypoint: 'envoy/authz/allow' })
  t.teardown(() => b.close())
  t.equal(b.proxyPort, undefined, 'no proxy port in mode ext_authz')
  t.equal(b.app.server.listening, false)
})

t.test('production mode: the ext_authz listeners stay on loopback; mode ext_authz has no proxy port to secure', async (t) => {
  const { createConfig } = await import('../../src/index.js')
  const prod = { production: true, mode: 'ext_authz' as const, policy: { path: 'p.rego' } }
  t.doesNotThrow(() => createConfig({ ...prod, ext_authz: { grpc: { enabled: true } } }), 'loopback (the default host) and no proxy port: accepted')
  t.throws(() => createConfig({ ...prod, ext_authz: { grpc: { enabled: true, host: '0.0.0.0' } } }), /ext_authz\.grpc\.host: a cleartext ext_authz listener on "0\.0\.0\.0" is refused in production mode/)
  t.doesNotThrow(() => createConfig({ ...prod, allow_insecure: true, ext_authz: { http: { enabled: true, host: '0.0.0.0' } } }))
  t.throws(() => createConfig({ production: true, upstream: { url: 'http://127.0.0.1:3000' } }), /server\.tls\.enabled: a cleartext proxy port/, 'mode proxy still needs TLS on the proxy port')
})
