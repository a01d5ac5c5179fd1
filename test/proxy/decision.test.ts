import t from 'tap'
import { parseDecision } from '../../src/proxy/decision.js'
import { isBouncerError } from '../../src/errors.js'

t.test('booleans', async (t) => {
  t.equal(parseDecision(true).allow, true)
  const d = parseDecision(false)
  t.equal(d.allow, false)
  t.equal(d.status, 403)
})

t.test('full object', async (t) => {
  const d = parseDecision({
    allow: false, status: 429, body: { error: 'slow down' },
    headers: { 'Retry-After': 5, 'x-list': ['a', 'b'] },
    response_headers: { 'x-why': 'quota' },
    reason: 'quota exceeded', cache_ttl: 0, extra_field: 'ignored',
  })
  t.equal(d.allow, false)
  t.equal(d.status, 429)
  t.equal(d.body, '{"error":"slow down"}')
  t.equal(d.bodyType, 'application/json')
  t.same(d.headers, [['retry-after', '5'], ['x-list', ['a', 'b']]])
  t.same(d.responseHeaders, [['x-why', 'quota']])
  t.equal(d.reason, 'quota exceeded')
  t.equal(d.cacheTtl, 0)

  const a = parseDecision({ allowed: true, remove_headers: ['Authorization'], mask: [{ path: '/ssn', action: 'redact' }], body: 'text' })
  t.equal(a.allow, true)
  t.same(a.removeHeaders, ['authorization'])
  t.same(a.mask, [{ path: '/ssn', action: 'redact' }])
  t.equal(a.bodyType, 'text/plain; charset=utf-8')
  t.equal(parseDecision({ allow: true, mask: [] }).mask, undefined, 'an empty mask list means no masking')
})

t.test('anything else is a policy error', async (t) => {
  const bad: [unknown, RegExp][] = [
    [undefined, /undefined/],
    [null, /null/],
    ['allow', /string/],
    [1, /number/],
    [[true], /array/],
    [{}, /allow/],
    [{ allow: 'true' }, /allow/],
    [{ allow: 1 }, /allow/],
    [{ allow: true, allowed: false }, /disagree/],
    [{ allow: false, status: 99 }, /status/],
    [{ allow: false, status: 700 }, /status/],
    [{ allow: false, status: '403' }, /status/],
    [{ allow: false, status: 403.5 }, /status/],
    [{ allow: true, headers: ['x'] }, /headers must be an object/],
    [{ allow: true, headers: { 'bad name': 'x' } }, /invalid header name/],
    [{ allow: true, headers: { 'x-a': 'a\r\nSet-Cookie: x' } }, /CR, LF/],
    [{ allow: true, headers: { 'x-a': { nested: 1 } } }, /string/],
    [{ allow: true, headers: { 'content-length': '0' } }, /cannot be set/],
    [{ allow: true, headers: { 'Transfer-Encoding': 'chunked' } }, /cannot be set/],
    [{ allow: true, headers: { host: 'evil' } }, /cannot be set/],
    [{ allow: true, response_headers: { connection: 'close' } }, /cannot be set/],
    [{ allow: true, remove_headers: 'authorization' }, /remove_headers/],
    [{ allow: true, remove_headers: ['content-length'] }, /cannot be removed/],
    [{ allow: true, mask: { path: '/x' } }, /mask/],
    [{ allow: true, cache_ttl: -1 }, /cache_ttl/],
    [{ allow: true, cache_ttl: '10' }, /cache_ttl/],
    [{ allow: true, reason: 5 }, /reason/],
  ]
  for (const [value, why] of bad) {
    try {
      parseDecision(value)
      t.fail(`${JSON.stringify(value)} accepted`)
    } catch (e) {
      t.ok(isBouncerError(e, 'BOUNCER_ERR_POLICY_DECISION'), `${JSON.stringify(value)} → policy error`)
      t.match((e as Error).message, why)
    }
  }
})

t.test('long reasons are truncated', async (t) => {
  t.equal(parseDecision({ allow: true, reason: 'x'.repeat(10000) }).reason?.length, 512)
})
