// The pipeline (src/proxy/pipeline.ts): what the evaluator is given (only the input paths the
// policy reads, serialised once), the response head relayed from the upstream's raw headers,
// print lines, and one exchange record per request.
import t from 'tap'
import { request } from 'undici'
import { startBouncer, startUpstream, rawRequest, memoryLogger } from '../helpers/index.js'
import { loadPolicyFromRego } from '../../src/policy/load.js'
import { compileInputView, inputBytes } from '../../src/proxy/projection.js'
import { buildInput } from '../../src/proxy/input.js'
import { responseHead } from '../../src/proxy/headers.js'
import { outcomeOf } from '../../src/proxy/exchange.js'
import { parseDecision } from '../../src/proxy/decision.js'

t.test('projection: only the recorded paths, canonical, arrays whole, missing stays missing', async (t) => {
  const v = compileInputView([['b', 'y'], ['a'], ['b', 'x', 'deep'], ['list', '0'], ['gone', 'z']])
  t.equal(v.whole, false)
  const input = { a: { q: 1, p: [2, { s: 'é"' }] }, b: { x: { deep: null, other: 1 }, y: 'why', z: 'not read' }, list: [3, 4], c: 'not read' }
  const text = v.text(input)
  t.equal(text, '{"a":{"p":[2,{"s":"é\\""}],"q":1},"b":{"x":{"deep":null},"y":"why"},"list":[3,4]}')
  t.same(JSON.parse(new TextDecoder().decode(inputBytes(text))), JSON.parse(text), 'the bytes are the text, UTF-8')
  t.equal(compileInputView([]).text(input), '{}', 'a policy that reads no input gets an empty object')
  for (const whole of [null, undefined, [['a'], []]]) {
    const w = compileInputView(whole)
    t.equal(w.whole, true)
    t.equal(w.text(input), JSON.stringify(input), `${JSON.stringify(whole)}: the whole input`)
  }
})

t.test('projection: a compiled policy decides the same on the projection as on the whole input', async (t) => {
  const policies = [
    `package bouncer
decision := {"allow": true, "reason": concat("/", input.parsed_path)} if input.attributes.request.http.method == "GET"
decision := {"allow": false} if input.attributes.request.http.method != "GET"
`,
    `package bouncer
default decision := false
decision if {
  some k
  input.attributes.request.http.headers[k] == "acme"
  startswith(k, "x-")
}
`,
    `package bouncer
default decision := {"allow": false, "reason": "none"}
decision := {"allow": true, "reason": input.identity.sub} if input.identity.roles[_] == "admin"
decision := {"allow": false, "reason": input.identity_error} if not input.identity
`,
    `package bouncer
decision := {"allow": count(input.parsed_query) < 2, "n": count(input.parsed_query)}
`,
    `package bouncer
f(x) := x.attributes.request.http.path
decision := {"allow": true, "path": f(input)}
`,
  ]
  const inputs = [
    buildInput({ id: 'r1', method: 'GET', path: '/v1/orders/42', query: 'a=1&b=2', host: 'api', scheme: 'http', protocol: 'HTTP/1.1', headers: { 'x-tenant': 'acme', accept: '*/*' }, sourceAddress: '10.0.0.1:1', destinationAddress: '10.0.0.2:2' },
      { identity: { sub: 'alice', roles: ['reader', 'admin'] } }),
    buildInput({ id: 'r2', method: 'POST', path: '/', query: '', host: 'api', scheme: 'http', protocol: 'HTTP/1.1', headers: { 'y-tenant': 'acme' }, sourceAddress: '', destinationAddress: '' },
      { identityError: 'missing' }),
    buildInput({ id: 'r3', method: 'GET', path: '/a/b', query: 'x=1', host: 'h', scheme: 'http', protocol: 'HTTP/1.0', headers: {}, sourceAddress: '1.1.1.1:9', destinationAddress: '' },
      { identity: { sub: 'bob', roles: [] }, parsedBody: { k: [1, 2] } }),
  ]
  for (const [i, source] of policies.entries()) {
    const p = await loadPolicyFromRego([{ file: 'p.rego', source }], {}, 'bouncer/decision', { source: `p${i}` })
    const view = compileInputView(p.inputPaths)
    for (const input of inputs) {
      t.same(p.evaluate(inputBytes(view.text(input))), p.evaluate(input), `policy ${i} (${view.whole ? 'whole input' : 'projection'}), input ${input.attributes.request.http.id}`)
    }
  }
})

t.test('response head: hop-by-hop and Connection-named headers go, ours replace the upstream\'s', async (t) => {
  const raw = ['Content-Type', 'text/plain', 'Connection', 'x-secret, close', 'X-Secret', '1', 'Keep-Alive', 'timeout=5', 'X-Request-Id', 'theirs',
    'Set-Cookie', 'a=1', 'Set-Cookie', 'b=2', 'Cache-Control', 'public', 'Transfer-Encoding', 'chunked'].map((s) => Buffer.from(s, 'latin1'))
  t.same(responseHead(raw, [['cache-control', 'no-store'], ['x-request-id', 'not this one']], 'ours'), [
    'content-type', 'text/plain', 'set-cookie', 'a=1', 'set-cookie', 'b=2', 'cache-control', 'no-store', 'x-request-id', 'ours',
  ])
  t.same(responseHead([], [], 'id'), ['x-request-id', 'id'])
})

t.test('outcomeOf: one mapping for requests and upgrades', async (t) => {
  const allow = parseDecision(true)
  t.equal(outcomeOf({ kind: 'allow', decision: allow, mask: undefined }), 'allow')
  t.equal(outcomeOf({ kind: 'deny', decision: parseDecision(false) }), 'deny')
  t.equal(outcomeOf({ kind: 'fail', status: 503, reason: 'no_policy' }), 'unavailable')
  t.equal(outcomeOf({ kind: 'fail', status: 503, reason: 'log_backpressure' }), 'unavailable')
  t.equal(outcomeOf({ kind: 'fail', status: 502, reason: 'mask_unavailable' }), 'mask_failed')
  for (const r of ['eval_error', 'eval_timeout', 'invalid_decision', 'invalid_mask'] as const) t.equal(outcomeOf({ kind: 'fail', status: 403, reason: r }), 'policy_error')
})

t.test('through the proxy: upstream response headers relayed, print lines name the request', async (t) => {
  const up = await startUpstream()
  up.handle = (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain', connection: 'x-hop', 'x-hop': 'secret', 'x-request-id': 'upstream-id', 'x-kept': 'yes' })
    res.end('hello')
  }
  const mem = memoryLogger('debug')
  const policy = `package bouncer
decision := {"allow": true, "response_headers": {"x-kept": "policy"}} if {
  print("deciding", input.attributes.request.http.method)
  input.parsed_path[0] == "ok"
}
`
  const b = await startBouncer({ upstream: up.url, rego: { 'p.rego': policy }, config: { policy: { print: true } }, deps: { logger: mem.logger } })
  t.teardown(async () => { await b.close(); await up.close() })
  const r = await request(`${b.url}/ok`, { headers: { 'x-request-id': 'client-7' } })
  t.equal(r.statusCode, 200)
  t.equal(await r.body.text(), 'hello')
  t.equal(r.headers['x-request-id'], 'client-7', 'ours, not the upstream\'s')
  t.equal(r.headers['x-kept'], 'policy', 'response_headers replace the upstream\'s')
  t.notOk(r.headers['x-hop'], 'a header the upstream named in Connection is not relayed')
  const printed = mem.lines().find((l) => l.msg === 'policy print')
  t.match(printed, { id: 'client-7', print: 'deciding GET' }, 'the print line carries the request id')
  const raw = await rawRequest(b.port, 'GET /ok HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
  t.match(raw.text, /^HTTP\/1\.1 200/)
  t.notMatch(raw.text, /upstream-id/)
})

t.test('print lines never carry the credentials the decision log erases (review helper, 2026-12-07)', async (t) => {
  const up = await startUpstream()
  const mem = memoryLogger('debug')
  const policy = `package bouncer
decision := {"allow": true} if {
  print("headers", input.attributes.request.http.headers)
  print("path", input.attributes.request.http.path)
}
`
  const b = await startBouncer({ upstream: up.url, rego: { 'p.rego': policy }, config: { policy: { print: true } }, deps: { logger: mem.logger } })
  t.teardown(async () => { await b.close(); await up.close() })
  const secrets = ['Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhIn0.c2lnbmF0dXJlLXNlY3JldA', 'sid=cookie-secret-value', 'query-secret-value'] // security-gate: allow-secret
  const r = await request(`${b.url}/ok?access_token=query-secret-value&x=1`, { headers: { authorization: secrets[0]!, cookie: secrets[1]! } })
  t.equal(r.statusCode, 200)
  await r.body.dump()
  const lines = mem.lines().filter((l) => l.msg === 'policy print').map((l) => String(l.print))
  t.equal(lines.length, 2, 'both lines logged')
  for (const s of ['eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhIn0.c2lnbmF0dXJlLXNlY3JldA', 'cookie-secret-value', 'query-secret-value']) { // security-gate: allow-secret
    t.notOk(lines.some((l) => l.includes(s)), `${s.slice(0, 12)}… is not in a print line`)
  }
  t.ok(lines.some((l) => l.includes('[erased]')), 'the values are marked erased')
  t.ok(lines.some((l) => l.includes('x=1')), 'the rest of the line is kept')
})
