// Credentials out of logs: the configured auth header, cookies and credential query parameters
// (in headers, the path's query, parsed_query and parsed_body) never reach a decision-log event
// or a process log line; the hash chain covers the erased event.
import t from 'tap'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { request } from 'undici'
import { createLogger } from '../../src/index.js'
import { configSchema } from '../../src/config/index.js'
import {
  compileEventBuilder, compileLogScrubber, computeHash, DEFAULT_ERASE_HEADERS, DEFAULT_ERASE_QUERY_PARAMS, resolveDecisionLogConfig, verifyLog,
} from '../../src/decision-log/index.js'
import { startBouncer, startUpstream } from '../helpers/index.js'
import { tempDir } from './fixtures/control-plane.js'
import { CREDENTIAL_HEADER_NAMES, CREDENTIAL_PARAM_NAMES } from '../../src/decision-log/credential-names.js'
import { scanEvent } from '../../src/evidence/scan.js'

const SECRETS = ['S-query', 'S-query2', 'S-apikey', 'S-semi', 'S-pq', 'S-pqsemi', 'S-body', 'S-body-nested', 'S-body-list', 'S-header', 'S-cookie']
const leaked = (text: string): string[] => SECRETS.filter((s) => text.includes(s))

const input = (): Record<string, any> => ({
  attributes: {
    request: {
      http: {
        method: 'POST',
        path: '/v1/pay?access_token=S-query&a=1&Token=S-query2&x=access_token&api%5Fkey=S-apikey;password=S-semi&empty=&key',
        headers: { 'x-auth-token': 'S-header', cookie: 'access_token=S-cookie', 'x-ok': 'yes' },
      },
    },
  },
  parsed_path: ['v1', 'pay'],
  parsed_query: Object.assign(Object.create(null) as Record<string, string[]>, { access_token: ['S-pq'], a: ['1'], ID_TOKEN: ['S-pq'], b: ['1;token=S-pqsemi', 'plain;x=1'] }),
  parsed_body: { password: 'S-body', user: { name: 'n', Password: 'S-body-nested' }, list: [{ key: 'S-body-list', v: 1 }, 2], amount: 10 },
})

t.test('event building: auth header, credential query parameters in path, parsed_query and parsed_body', async (t) => {
  const cfg = resolveDecisionLogConfig({ spool_dir: '/tmp/x', sinks: ['console'] }, { auth_header: 'X-Auth-Token' })
  const build = compileEventBuilder({ labels: {}, eraseHeaders: cfg.erase_headers, eraseQueryParams: cfg.erase_query_params })
  const inp = input()
  const before = JSON.stringify(inp)
  const { event } = build({ path: 'p', input: inp, result: { allow: true } })
  const ev = event as Record<string, any>
  t.same(leaked(JSON.stringify(event)), [], 'no secret in the event')
  t.equal(JSON.stringify(inp), before, 'the caller\'s input is not modified')
  const http = ev.input.attributes.request.http
  t.equal(http.path, '/v1/pay?access_token=[REDACTED]&a=1&Token=[REDACTED]&x=access_token&api%5Fkey=[REDACTED];password=[REDACTED]&empty=&key',
    'values replaced, names kept (decoded and case-insensitive), other parameters as they were')
  t.same(http.headers, { 'x-ok': 'yes' })
  // parsed_query splits on "&" only: `?b=1;token=...` is one value, scrubbed as the path is.
  t.same({ ...ev.input.parsed_query }, { a: ['1'], b: ['1;token=[REDACTED]', 'plain;x=1'] })
  t.same(ev.input.parsed_body, { user: { name: 'n' }, list: [{ v: 1 }, 2], amount: 10 })
  t.same(ev.erased, [
    '/input/attributes/request/http/headers/x-auth-token',
    '/input/attributes/request/http/headers/cookie',
    '/input/parsed_query/access_token',
    '/input/parsed_query/ID_TOKEN',
    '/input/parsed_body/password',
    '/input/parsed_body/user/Password',
    '/input/parsed_body/list/0/key',
  ])
  t.same(ev.masked, ['/input/attributes/request/http/path', '/input/parsed_query/b/0'], 'the rewritten path and query value are listed as masked')
  t.equal(ev.input.parsed_path, inp.parsed_path, 'untouched branches are shared, not copied')
  t.equal(ev.input.parsed_body.list[1], 2)

  const plain = build({ path: 'p', input: { attributes: { request: { http: { path: '/x?a=1&tokens=2', headers: {} } } }, parsed_query: { a: ['1'] } } }).event
  t.equal(plain.erased, undefined, 'nothing erased: no list')
  t.equal(plain.masked, undefined)
  t.equal((plain.input as any).attributes.request.http.path, '/x?a=1&tokens=2', 'similar names are kept')
})

t.test('token claims: credentials among the verified claims are erased from the event, also after an IdP prefix; the policy\'s input is not touched', async (t) => {
  const cfg = resolveDecisionLogConfig({ spool_dir: '/tmp/x', sinks: ['console'] })
  const build = compileEventBuilder({ labels: {}, eraseHeaders: cfg.erase_headers, eraseQueryParams: cfg.erase_query_params })
  const identity = Object.freeze({
    sub: 'alice', roles: Object.freeze(['admin']), idp_access_token: 'S-claim', Refresh_Token: 'S-claim2',
    upstream: Object.freeze({ 'github-token': 'S-claim3', 'vault.secret': 'S-claim4', team: 'red' }), token_type: 'Bearer', tokenizer: 'v2',
  })
  const inp = { attributes: { request: { http: { method: 'GET', path: '/a', headers: {} } } }, identity }
  const { event } = build({ path: 'p', input: inp, result: true })
  const ev = event as Record<string, any>
  t.notOk(/S-claim/.test(JSON.stringify(event)), 'no credential claim in the event')
  t.same(ev.input.identity, { sub: 'alice', roles: ['admin'], upstream: { team: 'red' }, token_type: 'Bearer', tokenizer: 'v2' }, 'other claims kept, names that only start like a credential too')
  t.same(ev.erased, ['/input/identity/idp_access_token', '/input/identity/Refresh_Token', '/input/identity/upstream/github-token', '/input/identity/upstream/vault.secret'])
  t.equal(inp.identity, identity, 'the input the policy saw keeps its claims')
  t.equal(identity.idp_access_token, 'S-claim')
  const bob = Object.freeze({ sub: 'bob', scope: 'read' })
  const plain = build({ path: 'p', input: { ...inp, identity: bob }, result: true }).event as Record<string, any>
  t.equal(plain.input.identity, bob, 'nothing to erase: the same object, not a copy')
  t.equal(plain.erased, undefined)
})

t.test('a credential in the path\'s fragment with no query (ext_authz inputs: /cb#access_token=...) is scrubbed', async (t) => {
  const cfg = resolveDecisionLogConfig({ spool_dir: '/tmp/x', sinks: ['console'] })
  const build = compileEventBuilder({ labels: {}, eraseHeaders: cfg.erase_headers, eraseQueryParams: cfg.erase_query_params })
  const ev = build({ path: 'p', input: { attributes: { request: { http: { method: 'GET', path: '/cb#access_token=S-frag&state=ok', headers: {} } } } }, result: true }).event as Record<string, any>
  t.equal(ev.input.attributes.request.http.path, '/cb#access_token=[REDACTED]&state=ok')
  t.same(ev.masked, ['/input/attributes/request/http/path'])
  // ext_authz leaves the fragment in the last path segment or query value, as the plugin does.
  const ext = build({ path: 'p', input: { attributes: { request: { http: { method: 'GET', path: '/cb#access_token=S-frag2&state=ok', headers: {} } } }, parsed_path: ['cb#access_token=S-frag2&state=ok'], parsed_query: { x: ['1#access_token=S-frag3'] } }, result: true }).event as Record<string, any>
  t.notOk(JSON.stringify(ext).includes('S-frag'), 'no token left anywhere in the event')
  t.same(ext.input.parsed_path, ['cb#access_token=[REDACTED]&state=ok'])
  t.same({ ...ext.input.parsed_query }, { x: ['1#access_token=[REDACTED]'] })
  t.same([...ext.masked].sort(), ['/input/attributes/request/http/path', '/input/parsed_path/0', '/input/parsed_query/x/0'])
})

t.test('fragment variants are scrubbed: a route or path in the fragment, a fragment in a query key, a URL in a query value', async (t) => {
  const cfg = resolveDecisionLogConfig({ spool_dir: '/tmp/x', sinks: ['console'] })
  const build = compileEventBuilder({ labels: {}, eraseHeaders: cfg.erase_headers, eraseQueryParams: cfg.erase_query_params })
  const ev = build({
    path: 'p',
    input: {
      attributes: { request: { http: { method: 'GET', path: '/cb#/done?access_token=S-v1&state=1', headers: { referer: 'https://a.example/p?next=/cb?refresh_token=S-v2' } } } },
      parsed_path: ['cb#state=ok', 'access_token=S-v3', 'x'],
      parsed_query: { 'x#access_token': ['S-v4'], next: ['/cb?id_token=S-v5'], keep: ['1'] },
    },
    result: true,
  }).event as Record<string, any>
  t.notOk(JSON.stringify(ev).includes('S-v'), 'no token left anywhere in the event')
  t.equal(ev.input.attributes.request.http.path, '/cb#/done?access_token=[REDACTED]&state=1')
  t.equal(ev.input.attributes.request.http.headers.referer, 'https://a.example/p?next=/cb?refresh_token=[REDACTED]')
  t.same(ev.input.parsed_path, ['cb#state=ok', 'access_token=[REDACTED]', 'x'])
  t.same({ ...ev.input.parsed_query }, { keep: ['1'], next: ['/cb?id_token=[REDACTED]'] })
  // What stays as it was: "/" separates only in a fragment, and a URL value keeps its shape.
  const plain = build({ path: 'p', input: { attributes: { request: { http: { method: 'GET', path: '/p?redirect=https://a/b/token=c&x=1', headers: {} } } } }, result: true }).event as Record<string, any>
  t.equal(plain.input.attributes.request.http.path, '/p?redirect=https://a/b/token=c&x=1')
})

t.test('hidden forms are scrubbed: separators in a parameter name, percent-encoded structure, matrix parameters, the fragment field', async (t) => {
  const cfg = resolveDecisionLogConfig({ spool_dir: '/tmp/x', sinks: ['console'] })
  const build = compileEventBuilder({ labels: {}, eraseHeaders: cfg.erase_headers, eraseQueryParams: cfg.erase_query_params })
  const ev = build({
    path: 'p',
    input: {
      attributes: { request: { http: { method: 'GET', path: '/api;access_token=S-h1/cb%23access_token=S-h2?next=%2Fcb%3Ftoken%3DS-h3&x?id_token=S-h4', headers: {}, fragment: 'state=x/access_token=S-h5' } } },
      parsed_path: ['api;access_token=S-h1', 'cb#access_token=S-h2'],
      parsed_query: { next: ['/cb?token=S-h3'], 'x?id_token': ['S-h4'], 'y;password': ['S-h6'], keep: ['1'] },
    },
    result: true,
  }).event as Record<string, any>
  t.notOk(JSON.stringify(ev).includes('S-h'), `no credential left anywhere in the event: ${JSON.stringify(ev.input)}`)
  t.equal(ev.input.attributes.request.http.path, '/api;access_token=[REDACTED]/cb%23access_token=[REDACTED]?next=[REDACTED]&x?id_token=[REDACTED]')
  t.equal(ev.input.attributes.request.http.fragment, 'state=x/access_token=[REDACTED]')
  t.same(ev.input.parsed_path, ['api;access_token=[REDACTED]', 'cb#access_token=[REDACTED]'])
  t.same({ ...ev.input.parsed_query }, { keep: ['1'], next: ['/cb?token=[REDACTED]'] })
  // Encoded text that hides nothing stays as it came.
  const plain = build({ path: 'p', input: { attributes: { request: { http: { method: 'GET', path: '/a%20b;v=1/c?q=%2Fx%3Fy%3D1', headers: {} } } } }, result: true }).event as Record<string, any>
  t.equal(plain.input.attributes.request.http.path, '/a%20b;v=1/c?q=%2Fx%3Fy%3D1')
})

t.test('default erase_headers: the standard credential headers and x-api-key / x-auth-token', async (t) => {
  t.same(DEFAULT_ERASE_HEADERS.slice(0, 6), ['authorization', 'proxy-authorization', 'cookie', 'set-cookie', 'x-api-key', 'x-auth-token'])
  t.same(DEFAULT_ERASE_HEADERS, CREDENTIAL_HEADER_NAMES, 'every header `bouncer evidence` counts as a credential')
  const cfg = resolveDecisionLogConfig({ spool_dir: '/tmp/x', sinks: ['console'] })
  t.same(cfg.erase_headers, DEFAULT_ERASE_HEADERS, 'the default when erase_headers is not set')
  const build = compileEventBuilder({ labels: {}, eraseHeaders: cfg.erase_headers, eraseQueryParams: cfg.erase_query_params })
  const headers = {
    authorization: 'Bearer S-header', 'Proxy-Authorization': 'Basic S-header', cookie: 'sid=S-cookie',
    'X-Api-Key': 'S-apikey', 'x-auth-token': 'S-query', 'x-ok': 'yes',
  }
  const { event } = build({
    path: 'p',
    input: { attributes: { request: { http: { method: 'GET', path: '/x', headers } } } },
    result: { allow: true, headers: { 'x-api-key': 'S-body' }, response_headers: { 'set-cookie': 'sid=S-cookie', 'x-auth-token': 'S-body-nested', 'x-ok': 'yes' } },
  })
  const ev = event as Record<string, any>
  t.same(leaked(JSON.stringify(ev)), [], 'no credential header value in the event')
  t.same(ev.input.attributes.request.http.headers, { 'x-ok': 'yes' })
  t.same(ev.result.response_headers, { 'x-ok': 'yes' })
  t.ok(ev.erased.includes('/input/attributes/request/http/headers/X-Api-Key'), 'x-api-key erased, whatever its case')
  t.ok(ev.erased.includes('/input/attributes/request/http/headers/x-auth-token'))
  t.equal(headers['X-Api-Key'], 'S-apikey', 'the caller\'s headers are not modified')
})

t.test('configuration: the auth header joins erase_headers; erase_query_params has a default and can be set', async (t) => {
  t.same(DEFAULT_ERASE_QUERY_PARAMS.slice(0, 12), ['access_token', 'id_token', 'refresh_token', 'token', 'api_key', 'apikey', 'key', 'password', 'passwd', 'secret', 'client_secret', 'client_assertion'])
  t.same(DEFAULT_ERASE_QUERY_PARAMS, CREDENTIAL_PARAM_NAMES, 'every parameter `bouncer evidence` counts as a credential')
  const schemaDefault = (configSchema as any).properties.decision_logs.properties.erase_query_params.default
  t.same(schemaDefault, DEFAULT_ERASE_QUERY_PARAMS, 'the config schema has the same default')
  const headerDefault = (configSchema as any).properties.decision_logs.properties.erase_headers.default
  t.same(headerDefault, [...DEFAULT_ERASE_HEADERS], 'erase_headers: the config schema default is the logger\'s (x-api-key, x-auth-token included)')
  const c = resolveDecisionLogConfig({ spool_dir: '/tmp/x', sinks: ['console'] }, { auth_header: 'X-Tenant-Session' })
  t.same(c.erase_headers, [...DEFAULT_ERASE_HEADERS, 'x-tenant-session'])
  t.same(resolveDecisionLogConfig({ spool_dir: '/tmp/x', sinks: ['console'] }, { auth_header: 'X-Auth-Token' }).erase_headers, DEFAULT_ERASE_HEADERS, 'a default one is not added twice')
  t.same(c.erase_query_params, DEFAULT_ERASE_QUERY_PARAMS)
  t.same(resolveDecisionLogConfig({ spool_dir: '/tmp/x', sinks: ['console'] }, { auth_header: 'authorization' }).erase_headers, DEFAULT_ERASE_HEADERS, 'not twice')
  const custom = resolveDecisionLogConfig({ spool_dir: '/tmp/x', sinks: ['console'], erase_headers: ['x-api-key'], erase_query_params: ['Sig'] }, { auth_header: 'x-auth-token' })
  t.same(custom.erase_headers, ['x-api-key', 'x-auth-token'], 'the auth header is erased even with a custom list')
  t.same(custom.erase_query_params, ['sig'])
  t.throws(() => resolveDecisionLogConfig({ spool_dir: '/tmp/x', sinks: ['console'], erase_query_params: [1] as never }), /erase_query_params: must be a list/)
})

t.test('process logs: credential query parameters and the auth header are scrubbed, also with redaction off', async (t) => {
  const chunks: string[] = []
  const dest = new Writable({ write (c, _e, cb) { chunks.push(c.toString()); cb() } })
  const log = createLogger('info', [], dest as never, { authHeader: 'X-Auth-Token', queryParams: DEFAULT_ERASE_QUERY_PARAMS })
  log.info({ headers: { 'x-auth-token': 'S-header', cookie: 'access_token=S-cookie', accept: '*/*' } }, 'headers')
  // As the proxy's request log does: a child that skips the redaction pass.
  const requestLog = log.child({}, { redact: { paths: [] } })
  requestLog.info({ url: '/a?access_token=S-query&b=1', path: '/a?api_key=S-apikey', query: { token: ['S-pq'], b: ['1'] } }, 'request')
  requestLog.info({ req: { method: 'GET', url: '/r?password=S-semi' } }, 'with req')
  requestLog.info({ query: 'a=1&token=S-query2;b=2' }, 'a query as a string')
  const logged = { url: '/z?key=S-body' }
  log.info(logged, 'again')
  await new Promise((resolve) => setImmediate(resolve))
  const lines = chunks.join('').trim().split('\n').map((l) => JSON.parse(l) as Record<string, any>)
  t.same(leaked(chunks.join('')), [])
  t.same(lines[0]!.headers, { 'x-auth-token': '[redacted]', cookie: '[redacted]', accept: '*/*' })
  t.equal(lines[1]!.url, '/a?access_token=[REDACTED]&b=1')
  t.equal(lines[1]!.path, '/a?api_key=[REDACTED]')
  t.same(lines[1]!.query, { b: ['1'] })
  t.same(lines[2]!.req, { method: 'GET', url: '/r?password=[REDACTED]' })
  t.equal(lines[3]!.query, 'a=1&token=[REDACTED];b=2', 'a query string alone is scrubbed too')
  t.equal(logged.url, '/z?key=S-body', 'the logged object itself is not modified')
})

t.test('end to end: a request carrying credentials everywhere leaves none in the decision log or process log; the chain verifies', async (t) => {
  const dir = tempDir(t)
  const spool = join(dir, 'spool')
  const up = await startUpstream()
  const chunks: string[] = []
  const dest = new Writable({ write (c, _e, cb) { chunks.push(c.toString()); cb() } })
  const b = await startBouncer({
    upstream: up.url,
    rego: { 'p.rego': 'package bouncer\n\ndecision := {"allow": true}\n' },
    config: {
      logging: { level: 'trace' },
      auth: { jwt: { header: 'x-auth-token' } },
      policy: { parsed_body: { enabled: true } },
      decision_logs: { enabled: true, sinks: ['file'], file_path: join(dir, 'export.jsonl'), spool_dir: spool, fsync: 'never' },
    },
    deps: { logger: undefined, logDestination: dest as never },
  })
  const r = await request(`${b.url}/v1/pay?access_token=S-query&a=1&api_key=S-apikey`, {
    method: 'POST',
    headers: { 'x-auth-token': 'S-header', cookie: 'access_token=S-cookie', 'content-type': 'application/json' },
    body: JSON.stringify({ password: 'S-body', nested: { token: 'S-body-nested' }, amount: 10 }),
  })
  await r.body.dump()
  t.equal(r.statusCode, 200)
  t.equal(up.requests.length, 1)
  await b.close()
  await up.close()

  let lines = ''
  for (const n of readdirSync(spool)) if (n.startsWith('seg-')) lines += readFileSync(join(spool, n), 'utf8')
  const events = lines.trim().split('\n').map((l) => JSON.parse(l) as Record<string, any>)
  t.equal(events.length, 1)
  const ev = events[0]!
  t.same(leaked(lines), [], 'no secret in the spool')
  t.equal(ev.input.attributes.request.http.path, '/v1/pay?access_token=[REDACTED]&a=1&api_key=[REDACTED]')
  t.same(ev.input.parsed_query, { a: ['1'] })
  t.same(ev.input.parsed_body, { nested: {}, amount: 10 })
  t.notOk('x-auth-token' in ev.input.attributes.request.http.headers, 'the configured auth header is erased')
  t.ok(ev.erased.includes('/input/attributes/request/http/headers/x-auth-token'))
  t.equal(computeHash(ev), ev.hash, 'the chain hash is over the erased event')
  const v = await verifyLog(spool)
  t.equal(v.ok, true, 'bouncer verify-log accepts the spool')
  t.same(leaked(chunks.join('')), [], 'no secret in the process log')
  t.ok(chunks.join('').includes('"msg":"request"'), 'the process log was captured')
})

t.test('a frozen identity (one per token) is erased once and its result shared, frozen; events stay right', async (t) => {
  const cfg = resolveDecisionLogConfig({ spool_dir: '/tmp/x', sinks: ['console'] })
  const build = compileEventBuilder({ labels: {}, eraseHeaders: cfg.erase_headers, eraseQueryParams: cfg.erase_query_params })
  const identity = Object.freeze({ sub: 'alice', idp_access_token: 'S-claim' })
  const input = () => ({ attributes: { request: { http: { method: 'GET', path: '/a', headers: {} } } }, identity })
  const a = build({ path: 'p', input: input(), result: true }).event as Record<string, any>
  const b = build({ path: 'p', input: input(), result: true }).event as Record<string, any>
  t.same(a.input.identity, { sub: 'alice' })
  t.equal(b.input.identity, a.input.identity, 'the same erased copy')
  t.ok(Object.isFrozen(a.input.identity))
  t.same(b.erased, ['/input/identity/idp_access_token'], 'each event lists what was erased')
  const mutable = { sub: 'bob', refresh_token: 'S-claim2' }
  const c = build({ path: 'p', input: { ...input(), identity: mutable }, result: true }).event as Record<string, any>
  mutable.sub = 'mallory'
  const d = build({ path: 'p', input: { ...input(), identity: mutable }, result: true }).event as Record<string, any>
  t.same([c.input.identity, d.input.identity], [{ sub: 'bob' }, { sub: 'mallory' }], 'an identity that is not frozen is erased each time')
})

t.test('a shadow ext_authz result\'s response_headers_to_add loses its credential headers, as the live result\'s does', async (t) => {
  const cfg = resolveDecisionLogConfig({ spool_dir: '/tmp/x', sinks: ['console'] })
  const build = compileEventBuilder({ labels: {}, eraseHeaders: cfg.erase_headers, eraseQueryParams: cfg.erase_query_params })
  const ev = build({ path: 'p', input: {}, result: true, shadow: { revisions: {}, differences: [], result: { allowed: true, response_headers_to_add: { authorization: 'Bearer S-sh1', 'x-ok': '1' } } } } as never).event as Record<string, any>
  t.notOk(JSON.stringify(ev).includes('S-sh1'))
  t.same(ev.shadow.result.response_headers_to_add, { 'x-ok': '1' })
})

t.test('a parsed body value holding a credential parameter is scrubbed, and the body text that carried it goes', async (t) => {
  const cfg = resolveDecisionLogConfig({ spool_dir: '/tmp/x', sinks: ['console'] })
  const build = compileEventBuilder({ labels: {}, eraseHeaders: cfg.erase_headers, eraseQueryParams: cfg.erase_query_params })
  const ev = build({
    path: 'p',
    input: { attributes: { request: { http: { method: 'POST', path: '/f', headers: {}, body: 'x=1?access_token=S-fb1&next=%2Fcb%3Ftoken%3DS-fb2' } } }, parsed_body: { x: ['1?access_token=S-fb1'], next: ['/cb?token=S-fb2'], keep: 'a?b=c' } },
    result: true,
  }).event as Record<string, any>
  t.notOk(JSON.stringify(ev).includes('S-fb'), 'no credential left')
  t.same(ev.input.parsed_body, { keep: 'a?b=c', next: ['/cb?token=[REDACTED]'], x: ['1?access_token=[REDACTED]'] })
  t.equal(ev.input.attributes.request.http.body, undefined, 'the body text is not logged')
})

t.test('each form is decoded once, as parsers do; ordinary encoded URLs stay as they came; a lone surrogate does not throw', async (t) => {
  const cfg = resolveDecisionLogConfig({ spool_dir: '/tmp/x', sinks: ['console'] })
  const build = compileEventBuilder({ labels: {}, eraseHeaders: cfg.erase_headers, eraseQueryParams: cfg.erase_query_params })
  const pathOf = (path: string, extra: Record<string, unknown> = {}) => (build({ path: 'p', input: { attributes: { request: { http: { method: 'GET', path, headers: {} } } }, ...extra }, result: true }).event as Record<string, any>).input
  // Decoded twice these would hide a credential; decoded once (what an upstream reads) they do
  // not. Decoding again at every level made nested encodings of a 1 MB name take seconds.
  t.equal(pathOf('/x?a%2523access_token=v').attributes.request.http.path, '/x?a%2523access_token=v')
  t.equal(pathOf('/x/' + encodeURIComponent(';token=S-once/' + encodeURIComponent(';token=inner'))).attributes.request.http.path,
    '/x/' + encodeURIComponent(';token=[REDACTED]/' + encodeURIComponent(';token=inner')).replace(/%3D/g, '=').replace(/%5B/g, '[').replace(/%5D/g, ']'))
  // A decoded value is a credential only when it holds parameters (a separator): `key=PROJ-1` is a search.
  for (const url of ['/x?jql=key%3DPROJ-1', '/x?q=token%3D1', '/a;v=1/b', '/files/a%2Fb', '/p?q=a%3Fb', '/p?s=ab/cd+ef==&x=1']) {
    t.equal(pathOf(url).attributes.request.http.path, url, `${url} unchanged`)
  }
  // parsed_path holds the decoded segment: its "?" is read there as in the path.
  const dec = pathOf('/cb%3Ftoken%3DS-dec/more', { parsed_path: ['cb?token=S-dec', 'more'] })
  t.same(dec.parsed_path, ['cb?token=[REDACTED]', 'more'])
  t.notOk(JSON.stringify(dec).includes('S-dec'))
  // A lone surrogate (a JSON \ud800 escape) in a segment that hides a credential.
  t.equal(pathOf('/a\ud800%3Ftoken%3Dabc').attributes.request.http.path, '/[REDACTED]')
})

t.test('process logs: a query object loses credential members and values holding a credential parameter, as the decision log does', async (t) => {
  const scrub = compileLogScrubber(DEFAULT_ERASE_QUERY_PARAMS)
  const out = scrub({ msg: 'x', query: { next: '/cb?token=S-pl1', keep: 'a', access_token: 'S-pl2' }, url: '/api;access_token=S-pl3/x' })
  t.notOk(JSON.stringify(out).includes('S-pl'), JSON.stringify(out))
  t.same(out.query, { keep: 'a', next: '/cb?token=[REDACTED]' })
  t.equal(out.url, '/api;access_token=[REDACTED]/x')
})

t.test('a log written with the default erasure passes `bouncer evidence`\'s credential scan', async (t) => {
  // Every name the scan counts as a credential, as a header, a query parameter (raw and
  // bracketed) and a referer parameter; the event built with the defaults must hold none.
  const cfg = resolveDecisionLogConfig({ spool_dir: '/tmp/x', sinks: ['console'] })
  const build = compileEventBuilder({ labels: {}, eraseHeaders: cfg.erase_headers, eraseQueryParams: cfg.erase_query_params })
  const headers: Record<string, string> = { accept: '*/*' }
  for (const [i, h] of CREDENTIAL_HEADER_NAMES.entries()) headers[h.toUpperCase()] = `Bearer SECRETHDR${i}xxxxxxxx`
  const params = CREDENTIAL_PARAM_NAMES.flatMap((p, i) => [`${encodeURIComponent(p)}=SECRETQ${i}`, `${encodeURIComponent(p.toUpperCase())}[]=SECRETB${i}`])
  const query = params.join('&')
  headers.referer = `https://app.example/cb?${query}`
  const parsedQuery: Record<string, string[]> = {}
  for (const kv of params) { const [k, v] = kv.split('='); parsedQuery[decodeURIComponent(k!)] = [v!] }
  const { event } = build({
    path: 'p',
    input: { attributes: { request: { http: { method: 'GET', path: `/v1/products?${query}`, headers } } }, parsed_query: parsedQuery },
    result: true,
  })
  t.same(scanEvent(event as unknown as Record<string, unknown>), [], 'no credential found by the scan')
  t.notOk(/SECRET(HDR|Q|B)\d/.test(JSON.stringify(event)), 'no credential value in the event')
  // The report from the fresh-user review: these five reached the log in clear.
  const five = build({
    path: 'p',
    input: { attributes: { request: { http: { method: 'GET', path: '/v1/products?api-key=S1xxxxxx&X-Amz-Signature=S2xxxxxx', headers: { 'private-token': 'S3xxxxxx', 'x-vault-token': 'S4xxxxxx', 'x-access-token': 'S5xxxxxx' } } } } },
    result: true,
  }).event
  t.notOk(/S[1-5]xxxxxx/.test(JSON.stringify(five)), JSON.stringify(five))
  // Tokens that identity proxies pass on and OAuth flows carry (second review): erased by
  // default, and so not reported by the scan, which recognises these JWTs by their shape.
  const jwt = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlc2lnbmF0dXJl' // security-gate: allow-secret (a made-up token)
  const idp = build({
    path: 'p',
    input: {
      attributes: { request: { http: { method: 'POST', path: `/logout?id_token_hint=${jwt}`, headers: { 'x-amzn-oidc-data': jwt, 'x-goog-iap-jwt-assertion': jwt, 'cf-access-jwt-assertion': jwt, 'x-forwarded-authorization': `Bearer ${jwt}` } } } },
      parsed_body: { grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange', subject_token: jwt, actor_token: jwt },
    },
    result: true,
  }).event
  t.notOk(JSON.stringify(idp).includes(jwt), 'no token in the event')
  t.same(scanEvent(idp as unknown as Record<string, unknown>), [], 'nothing for the scan to report')
})

t.test('true, false and null under a credential name are kept: no credential, and the input stays whole', async (t) => {
  const cfg = resolveDecisionLogConfig({ spool_dir: '/tmp/x', sinks: ['console'] })
  const build = compileEventBuilder({ labels: {}, eraseHeaders: cfg.erase_headers, eraseQueryParams: cfg.erase_query_params })
  const ev = build({
    path: 'p',
    input: {
      attributes: { request: { http: { method: 'POST', path: '/x', headers: {} } } },
      identity: { sub: 'alice', two_factor_auth: true, session: null, idp_access_token: 'tok-123456' },
      parsed_body: { remember_session: false, password: 4821, nested: { sig: 'abcdefgh' } },
    },
    result: true,
  }).event as Record<string, any>
  t.same(ev.input.identity, { sub: 'alice', two_factor_auth: true, session: null })
  t.same(ev.input.parsed_body, { remember_session: false, nested: {} }, 'a number is still erased (a PIN)')
  t.same([...ev.erased].sort(), ['/input/identity/idp_access_token', '/input/parsed_body/nested/sig', '/input/parsed_body/password'])
  // What the logger keeps, the scan does not report (second review: it flagged password: true).
  const kept = build({
    path: 'p',
    input: { attributes: { request: { http: { method: 'POST', path: '/x', headers: {} } } }, identity: { refresh_token: false, password: true }, parsed_body: { password: true, token: false } },
    result: true,
  }).event as Record<string, any>
  t.same(kept.input.parsed_body, { password: true, token: false })
  t.same(scanEvent(kept), [], 'booleans under credential names are not findings')
})
