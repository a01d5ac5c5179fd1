// The body is parsed only when the active policy can read parsed_body or truncated_body (the
// compiler records the input paths an entrypoint reads): a 4 MiB form with 675k names stalled
// the event loop 1.5 s for a policy that never looks at it (found by a review). Whether a body
// was parsed shows without timing: a body that does not parse is refused (400) only when parsed.
//
// The listeners here are the real ones (createGrpcServer / createHttpServer over a checker and
// an engine on the app's policy holder and metrics), built beside the app so that
// the checker is given the holder it asks about.
import t from 'tap'
import { pino } from 'pino'
import { request } from 'undici'
import { createChecker } from '../../src/ext-authz/check.js'
import { parseExtAuthzDecision } from '../../src/ext-authz/decision.js'
import { createGrpcServer } from '../../src/ext-authz/grpc.js'
import { createHttpServer } from '../../src/ext-authz/http.js'
import * as input from '../../src/ext-authz/input.js'
import { loadPolicyFromRego } from '../../src/policy/load.js'
import { createEngine } from '../../src/proxy/engine.js'
import { authzClient, checkRequest, startExtAuthz } from './fixtures/client.js'

const NO_BODY = 'package envoy.authz\n\ndefault allow := false\n\nallow if input.attributes.request.http.method == "POST"\n'
const BODY = 'package envoy.authz\n\ndefault allow := false\n\nallow if {\n  input.attributes.request.http.method == "POST"\n  not input.parsed_body.role == "admin"\n}\n'
const TRUNCATED = 'package envoy.authz\n\ndefault allow := false\n\nallow if not input.truncated_body\n'
const WHOLE = 'package envoy.authz\n\ndefault allow := false\n\nallow if count(input) > 0\n'

t.test('readsBody: from the compiler\'s input paths', async (t) => {
  const { readsBody } = input
  t.equal(readsBody(null), true, 'null: may read anything')
  t.equal(readsBody(undefined), true, 'not recorded (opa build): may read anything')
  t.equal(readsBody([[]]), true, 'the whole input')
  t.equal(readsBody([['attributes', 'request', 'http', 'method']]), false)
  t.equal(readsBody([['parsed_body', 'role']]), true)
  t.equal(readsBody([['truncated_body']]), true)
  const b = await startExtAuthz({ rego: NO_BODY, entrypoint: 'envoy/authz/allow' })
  t.teardown(() => b.close())
  const load = (rego: string) => loadPolicyFromRego([{ file: 'p.rego', source: rego }], {}, 'envoy/authz/allow', { source: 'test' }, b.app.policyOptions)
  t.equal(readsBody((await load(NO_BODY)).inputPaths), false, 'compiled: a policy reading the method only')
  t.equal(readsBody((await load(BODY)).inputPaths), true, 'compiled: a policy reading parsed_body')
  t.equal(readsBody((await load(TRUNCATED)).inputPaths), true, 'compiled: a policy reading truncated_body')
  t.equal(readsBody((await load(WHOLE)).inputPaths), true, 'compiled: a policy reading the whole input')
})

t.test('a body the policy cannot read is not parsed; a policy activated later that reads it gets it parsed', async (t) => {
  const b = await startExtAuthz({ rego: NO_BODY, entrypoint: 'envoy/authz/allow' })
  t.teardown(() => b.close())
  const app = b.app
  const log = pino({ level: 'silent' })
  const checker = createChecker({
    decide: createEngine({ config: app.config, holder: app.holder, metrics: app.metrics, log, parse: parseExtAuthzDecision, eventLabels: { bouncer_mode: 'ext_authz_grpc' } }),
    metrics: app.metrics,
    log,
    errorStatus: 403,
    holder: app.holder,
  })
  const grpc = await createGrpcServer(checker, { host: '127.0.0.1', port: 0, maxRequestBytes: 8 << 20 }, log)
  const g = await grpc.listen()
  t.teardown(() => grpc.close(100))
  const http = createHttpServer(checker, { host: '127.0.0.1', port: 0, maxRequestBytes: 8 << 20, pathPrefix: '' }, log)
  const h = await http.listen()
  t.teardown(() => http.close(100))
  const c = authzClient(g.port)
  t.teardown(() => c.close())

  const broken = '{"role": "admin"'
  const sendGrpc = (body: string, ct = 'application/json') => c.check(checkRequest({ method: 'POST', headers: { 'content-type': ct }, body }))
  const sendHttp = async (body: string, ct = 'application/json') => { const r = await request(`http://127.0.0.1:${h.port}/people`, { method: 'POST', headers: { 'content-type': ct, 'x-envoy-auth-partial-body': 'false' }, body }); await r.body.dump(); return r.statusCode }

  t.equal(checker.readsBody?.(), false, 'the active policy reads no body')
  t.equal((await sendGrpc(broken)).status?.code ?? 0, 0, 'gRPC: a JSON body that does not parse is not parsed: the policy decides (allowed)')
  t.equal(await sendHttp(broken), 200, 'HTTP: the same')
  // 200k names (the review's form, smaller): not parsed, so not refused for its bad escape either.
  const form = Array.from({ length: 200_000 }, (_, i) => `k${i}`).join('&') + '&bad=%zz'
  t.equal((await sendGrpc(form, 'application/x-www-form-urlencoded')).status?.code ?? 0, 0, 'a large form with a bad escape: not parsed')

  app.holder.activate(await loadPolicyFromRego([{ file: 'p.rego', source: BODY }], {}, 'envoy/authz/allow', { source: 'test' }, app.policyOptions))
  t.equal(checker.readsBody?.(), true, 'the new policy reads parsed_body')
  const refused = await sendGrpc(broken)
  t.equal(refused.status?.code, 3, 'gRPC: now parsed: INVALID_ARGUMENT')
  t.equal(await sendHttp(broken), 400, 'HTTP: now parsed: 400')
  t.equal((await sendGrpc('{"role":"admin"}')).status?.code, 7, 'and judged')
  t.equal((await sendGrpc('{"role":"user"}')).status?.code ?? 0, 0)
})

t.test('a form is parsed into one object without a prototype, not copied again', async (t) => {
  const { parseBody, parsePathAndQuery } = input
  const form = parseBody({ 'content-type': 'application/x-www-form-urlencoded' }, 'a=1&constructor=2&__proto__=3', undefined).parsed_body as Record<string, unknown>
  t.equal(Object.getPrototypeOf(form), null, 'the parser\'s own object (no {...out} copy)')
  t.same(Object.keys(form), ['a', 'constructor', '__proto__'])
  t.equal(Object.getPrototypeOf(parsePathAndQuery('/x?a=1').parsed_query), null, 'parsed_query too')
})

t.test('through the app: the listeners ask the app\'s policy holder', async (t) => {
  const b = await startExtAuthz({ rego: NO_BODY, entrypoint: 'envoy/authz/allow' })
  t.teardown(() => b.close())
  const c = authzClient(b.grpcPort)
  t.teardown(() => c.close())
  const r = await c.check(checkRequest({ method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"role": "admin"' }))
  t.equal(r.status?.code ?? 0, 0, 'a body the policy cannot read is not parsed')
})
