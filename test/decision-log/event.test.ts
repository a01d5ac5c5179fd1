// Building events: OPA field names and shapes, timestamps, trace context, built-in credential
// erasure (without touching the caller's input), masking; and the configuration slice.
import t from 'tap'
import type { BouncerConfig } from '../../src/config/index.js'
import type { DecisionLogger as ProxyDecisionLogSeam } from '../../src/proxy/seams.js'
import { isBouncerError } from '../../src/errors.js'
import {
  compileEventBuilder, DecisionLogger, DEFAULT_ERASE_HEADERS, maskerFromDocumentMask, parseTraceparent, resolveDecisionLogConfig, rfc3339Nano,
  validateServiceUrl, type DecisionLogConfigInput,
} from '../../src/decision-log/index.js'

// Compile-time checks: the central config's decision_logs section is what the logger takes
// (the proxy passes config.decision_logs through unchanged), and the logger fits the proxy's
// decisionLog seam.
export const sliceFits = (c: BouncerConfig): DecisionLogConfigInput => c.decision_logs
export const seamFits = (l: DecisionLogger): ProxyDecisionLogSeam => l

const build = compileEventBuilder({ labels: { id: 'inst-1', version: '9.9.9', env: 'prod' }, eraseHeaders: DEFAULT_ERASE_HEADERS })

const input = (): Record<string, any> => ({
  attributes: {
    request: {
      http: {
        method: 'POST', path: '/v1/pay',
        headers: { Authorization: 'Bearer T', cookie: 'c=1', 'proxy-authorization': 'Basic P', 'x-ok': 'yes', traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' },
      },
    },
  },
  parsed_path: ['v1', 'pay'],
})

t.test('events carry OPA decision-log fields with OPA names', async (t) => {
  const { event } = build({
    decision_id: 'dec-1', path: 'envoy/authz/allow', input: { a: 1 }, result: { allow: true },
    bundles: { authz: { revision: 'r42' } }, requested_by: '10.1.2.3:4444', eval_ns: 1234.4, total_ns: 99999,
    metrics: { counter_cache_hit: 0 }, error: { code: 'E', message: 'boom' },
  })
  t.same(Object.keys(event).sort(), ['bundles', 'decision_id', 'error', 'input', 'labels', 'metrics', 'path', 'requested_by', 'result', 'timestamp'])
  t.same(event.labels, { id: 'inst-1', version: '9.9.9', env: 'prod' })
  t.same(event.bundles, { authz: { revision: 'r42' } })
  t.same(event.metrics, { counter_cache_hit: 0, timer_rego_query_eval_ns: 1234, timer_server_handler_ns: 99999 })
  t.equal(event.decision_id, 'dec-1')
  t.equal(event.requested_by, '10.1.2.3:4444')
  const gen = build({ path: 'p', input: {} }).event
  t.match(gen.decision_id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/, 'a UUID when the caller has none')
  t.equal(gen.metrics, undefined, 'no metrics object when there are none')
})

t.test('timestamps are RFC 3339 with nanoseconds, from the caller or the clock', async (t) => {
  t.equal(rfc3339Nano(1714566896123456789n), '2024-05-01T12:34:56.123456789Z')
  t.equal(rfc3339Nano(1714566896000000007n), '2024-05-01T12:34:56.000000007Z')
  t.equal(build({ path: 'p', input: {}, timestamp_ns: 1714566896123456789n }).event.timestamp, '2024-05-01T12:34:56.123456789Z')
  const before = Date.now()
  const ts = build({ path: 'p', input: {} }).event.timestamp
  t.match(ts, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/)
  t.ok(Math.abs(Date.parse(ts) - before) < 1000, 'close to the wall clock')
  const a = build({ path: 'p', input: {} }).event.timestamp
  const b = build({ path: 'p', input: {} }).event.timestamp
  t.ok(a <= b, 'consecutive events do not go back in time')
})

t.test('trace_id / span_id come from traceparent (explicit or in the request headers)', async (t) => {
  t.same(parseTraceparent('00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'), { trace_id: '4bf92f3577b34da6a3ce929d0e0e4736', span_id: '00f067aa0ba902b7' })
  t.same(parseTraceparent('01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-future'), { trace_id: '4bf92f3577b34da6a3ce929d0e0e4736', span_id: '00f067aa0ba902b7' }, 'later versions may add fields')
  for (const bad of [
    'ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01', // forbidden version
    '00-00000000000000000000000000000000-00f067aa0ba902b7-01', // zero trace id
    '00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01', // zero span id
    '00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01', // upper case
    '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra', // v00 has four fields
    'garbage',
  ]) t.equal(parseTraceparent(bad), undefined, bad)
  const fromHeader = build({ path: 'p', input: input() }).event
  t.equal(fromHeader.trace_id, '0af7651916cd43dd8448eb211c80319c')
  t.equal(fromHeader.span_id, 'b7ad6b7169203331')
  const explicit = build({ path: 'p', input: input(), traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' }).event
  t.equal(explicit.trace_id, '4bf92f3577b34da6a3ce929d0e0e4736', 'an explicit traceparent wins')
  t.equal(build({ path: 'p', input: {} }).event.trace_id, undefined)
})

t.test('credential headers are erased from input and decision headers; the caller\'s objects are untouched', async (t) => {
  const inp = input()
  const result = { allow: true, headers: { authorization: 'Bearer upstream', 'x-a': '1' }, response_headers: { 'Set-Cookie': 's=1' } }
  const before = JSON.stringify({ inp, result })
  const { event } = build({ path: 'p', input: inp, result })
  t.equal(JSON.stringify({ inp, result }), before, 'input and result passed in are not modified')
  const ev = event as Record<string, any>
  t.same(ev.input.attributes.request.http.headers, { 'x-ok': 'yes', traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' })
  t.same(ev.result, { allow: true, headers: { 'x-a': '1' }, response_headers: {} })
  t.same(ev.erased, [
    '/input/attributes/request/http/headers/Authorization',
    '/input/attributes/request/http/headers/cookie',
    '/input/attributes/request/http/headers/proxy-authorization',
    '/result/headers/authorization',
    '/result/response_headers/Set-Cookie',
  ])
  t.equal(ev.input.parsed_path, inp.parsed_path, 'untouched branches are shared, not copied')
  const plain = build({ path: 'p', input: { attributes: { request: { http: { headers: { 'x-ok': '1' } } } } } }).event
  t.equal(plain.erased, undefined, 'no erased list when nothing was erased')
})

t.test('erasure copies along the path keep every key, in sorted and unsorted objects, an own "__proto__" included', async (t) => {
  const { canonicalJson } = await import('../../src/decision-log/canonical.js')
  for (const sortedInput of [true, false]) {
    // JSON.parse makes "__proto__" an own key, as a request body or token claim would.
    const inp = JSON.parse(sortedInput
      ? '{"__proto__":{"p":1},"attributes":{"a":1,"request":{"http":{"headers":{"authorization":"Bearer T","x-ok":"1"},"method":"GET"},"z":2}},"parsed_path":["a"]}'
      : '{"parsed_path":["a"],"attributes":{"request":{"z":2,"http":{"method":"GET","headers":{"x-ok":"1","authorization":"Bearer T"}}},"a":1},"__proto__":{"p":1}}') as Record<string, any>
    const before = canonicalJson(inp)
    const { event } = build({ path: 'p', input: inp })
    const ev = event as Record<string, any>
    t.equal(canonicalJson(inp), before, 'the caller\'s input is untouched')
    t.equal(Object.getPrototypeOf(ev.input), Object.prototype, 'the copy\'s prototype is not the "__proto__" member')
    t.same(Object.getOwnPropertyDescriptor(ev.input, '__proto__')?.value, { p: 1 }, '"__proto__" stays an own member of the copy')
    t.equal(canonicalJson(ev.input), '{"__proto__":{"p":1},"attributes":{"a":1,"request":{"http":{"headers":{"x-ok":"1"},"method":"GET"},"z":2}},"parsed_path":["a"]}',
      `${sortedInput ? 'sorted' : 'unsorted'} input: every other member kept`)
    t.same(ev.erased, ['/input/attributes/request/http/headers/authorization'])
  }
})

t.test('erase_headers is configurable', async (t) => {
  const b = compileEventBuilder({ labels: {}, eraseHeaders: ['x-api-key'] })
  const ev = b({ path: 'p', input: { attributes: { request: { http: { headers: { 'x-api-key': 'k', authorization: 'a' } } } } } }).event as Record<string, any>
  t.same(ev.input.attributes.request.http.headers, { authorization: 'a' })
  t.same(ev.erased, ['/input/attributes/request/http/headers/x-api-key'])
})

t.test('the masker runs after erasure; its lists are merged; a throwing masker fails closed', async (t) => {
  let seen: unknown
  const b = compileEventBuilder({
    labels: {},
    eraseHeaders: ['authorization'],
    mask: maskerFromDocumentMask((doc) => {
      seen = doc
      return { value: { ...doc, input: { ...(doc.input as object), ssn: '***' } }, masked: ['/input/ssn'], erased: ['/input/dob'] }
    }),
  })
  const r = b({ path: 'p', input: { ssn: '123', dob: 'x', attributes: { request: { http: { headers: { authorization: 'a' } } } } } })
  t.notMatch(JSON.stringify(seen), /"authorization"/, 'the masker sees the event after built-in erasure')
  t.equal((r.event.input as Record<string, unknown>).ssn, '***')
  t.same(r.event.masked, ['/input/ssn'])
  t.same(r.event.erased, ['/input/attributes/request/http/headers/authorization', '/input/dob'])
  t.equal(r.maskError, undefined)

  const failing = compileEventBuilder({ labels: {}, eraseHeaders: [], mask: () => { throw new Error('nope') } })
  const f = failing({ path: 'p', input: { secret: 1 }, result: { allow: true } })
  t.equal(f.maskError?.message, 'nope')
  t.equal(f.event.input, undefined)
  t.equal(f.event.result, undefined)
  t.same(f.event.erased, ['/input', '/result'])
})

t.test('validateServiceUrl: production refuses http:// unless allow_insecure; never credentials in URLs', async (t) => {
  t.equal(validateServiceUrl('https://cp.example/api', { production: true }).host, 'cp.example')
  t.equal(validateServiceUrl('http://cp.local', { production: false }).protocol, 'http:')
  t.equal(validateServiceUrl('http://cp.local', { production: true, allowInsecure: true }).protocol, 'http:')
  try {
    validateServiceUrl('http://cp.local', { production: true })
    t.fail('http:// accepted in production')
  } catch (e) { t.ok(isBouncerError(e, 'BOUNCER_ERR_DECISION_LOG_INSECURE_URL'), 'insecure URL error code') }
  t.throws(() => validateServiceUrl('https://user:pw@cp.example', { production: false }), /credentials/)
  t.throws(() => validateServiceUrl('ftp://cp.example', { production: false }), /http\(s\)/)
  t.throws(() => validateServiceUrl('not a url', { production: false }), /not a URL/)
})

t.test('configuration: defaults, units, and one error listing every bad field', async (t) => {
  const c = resolveDecisionLogConfig({ spool_dir: '/tmp/x', service_url: 'https://cp.example/base/' })
  t.equal(c.service?.url, 'https://cp.example/base/logs')
  t.equal(c.upload_size_limit_bytes, 32768)
  t.equal(c.overflow, 'drop_oldest')
  t.equal(c.spool.fsync, 'interval')
  t.equal(c.spool.write_mode, 'group')
  t.equal(c.upload_interval_ms, 1000)
  t.equal(c.retry_max_delay_ms, 120000)
  t.same(c.erase_headers, DEFAULT_ERASE_HEADERS, 'every credential header evidence names (authorization, cookie, x-api-key, x-auth-token, ...)')
  t.same(c.erase_headers.slice(0, 6), ['authorization', 'proxy-authorization', 'cookie', 'set-cookie', 'x-api-key', 'x-auth-token'])
  t.ok(Object.isFrozen(c) && Object.isFrozen(c.spool))

  try {
    resolveDecisionLogConfig({ spool_dir: '', sinks: ['control_plane', 'file'], max_bytes: 10, overflow: 'explode' as never, min_delay_seconds: 5, max_delay_seconds: 1 })
    t.fail('accepted')
  } catch (e) {
    t.ok(isBouncerError(e, 'BOUNCER_ERR_DECISION_LOG_CONFIG'))
    for (const field of ['spool_dir', 'service_url', 'file_path', 'max_bytes', 'overflow', 'max_delay_seconds']) {
      t.match((e as Error).message, field, `names ${field}`)
    }
  }
  t.throws(() => resolveDecisionLogConfig({ spool_dir: '/x', service_url: 'http://cp' }, { production: true }), /plaintext http/)
  t.doesNotThrow(() => resolveDecisionLogConfig({ spool_dir: '/x', service_url: 'http://cp' }, { production: true, allow_insecure: true }))
  t.throws(() => resolveDecisionLogConfig({ spool_dir: '/x', service_url: 'https://cp', tls: { reject_unauthorized: false } }, { production: true }), /reject_unauthorized/)
  t.throws(() => resolveDecisionLogConfig({ spool_dir: '/x', sinks: ['console'], segment_max_bytes: 1 << 20, max_bytes: 1 << 20 }), /segment_max_bytes/)
  // bouncer replay reads an event under the ext_authz result contract by this label (review, session 54).
  t.throws(() => resolveDecisionLogConfig({ spool_dir: '/x', sinks: ['console'], labels: { bouncer_mode: 'ext_authz_canary' } }), /labels\.bouncer_mode: is set by the bouncer/)
  t.same(resolveDecisionLogConfig({ spool_dir: '/x', sinks: ['console'], labels: { mode: 'canary' } }).labels, { mode: 'canary' })
})

t.test('request_id: the request correlation id beside the unique decision_id', async (t) => {
  const withId = input()
  withId.attributes.request.http.id = 'client-req-7'
  const a = build({ decision_id: 'dec-a', path: 'p', input: withId }).event
  const b = build({ decision_id: 'dec-b', path: 'p', input: withId }).event
  t.equal(a.request_id, 'client-req-7', 'taken from input.attributes.request.http.id')
  t.equal(b.request_id, 'client-req-7', 'a repeated client id repeats here...')
  t.not(a.decision_id, b.decision_id, '...while decision ids stay unique')
  t.equal(build({ path: 'p', input: withId, request_id: 'explicit' }).event.request_id, 'explicit', 'an explicit request_id wins')
  t.notOk('request_id' in build({ path: 'p', input: { a: 1 } }).event, 'absent when the input has no id')
})
