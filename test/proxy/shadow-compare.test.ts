// The shadow comparison (field by field on validated decisions) and what a shadow event looks
// like once built: the decision-log erasure and mask rules cover the shadow's result as they
// cover the active one's.
import t from 'tap'
import { compileEventBuilder, DEFAULT_ERASE_HEADERS } from '../../src/decision-log/index.js'
import { applyMask, compileMaskRules } from '../../src/masking/index.js'
import { parseDecision } from '../../src/proxy/decision.js'
import { compareDecisions } from '../../src/proxy/shadow.js'

const cmp = (a: unknown, b: unknown) => compareDecisions(parseDecision(a), parseDecision(b))

t.test('allow vs deny comes first, in both directions', async (t) => {
  t.same(cmp(true, false), { agreement: 'allow_to_deny', differences: ['allow'] })
  t.same(cmp({ allow: false, status: 401 }, { allow: true, headers: { 'x-a': '1' } }), { agreement: 'deny_to_allow', differences: ['allow'] })
})

t.test('two denials: status, then body, then headers', async (t) => {
  t.same(cmp({ allow: false }, false), { agreement: 'agree', differences: [] }, 'default status 403 on both')
  t.same(cmp({ allow: false, status: 401, body: 'a' }, { allow: false, status: 403, body: 'b' }), { agreement: 'status', differences: ['status', 'body'] })
  t.same(cmp({ allow: false, body: 'a' }, { allow: false, body: 'b' }), { agreement: 'body', differences: ['body'] })
  t.same(cmp({ allow: false, body: '{"a":1}' }, { allow: false, body: { a: 1 } }), { agreement: 'body', differences: ['body'] }, 'a string is not the JSON document it spells (content type differs)')
  t.same(cmp({ allow: false, response_headers: { 'www-authenticate': 'Bearer' } }, { allow: false }), { agreement: 'headers', differences: ['response_headers'] })
})

t.test('two allows: headers as sets, remove_headers, mask; status, reason and cache_ttl are not enforced on an allow', async (t) => {
  t.same(cmp({ allow: true, headers: { 'x-a': '1', 'x-b': '2' } }, { allow: true, headers: { 'x-b': '2', 'x-a': '1' } }), { agreement: 'agree', differences: [] }, 'order does not matter')
  t.same(cmp({ allow: true, headers: { 'x-a': '1' } }, { allow: true, headers: { 'x-a': '2' } }), { agreement: 'headers', differences: ['headers'] })
  t.same(cmp({ allow: true, headers: { 'x-a': ['1', '2'] } }, { allow: true, headers: { 'x-a': ['1', '2'] } }), { agreement: 'agree', differences: [] })
  t.same(cmp({ allow: true, remove_headers: ['cookie'] }, { allow: true }), { agreement: 'headers', differences: ['remove_headers'] })
  t.same(cmp({ allow: true, remove_headers: ['a', 'b'] }, { allow: true, remove_headers: ['b', 'a'] }), { agreement: 'agree', differences: [] })
  const mask = [{ path: '/ssn', action: 'redact' }]
  t.same(cmp({ allow: true }, { allow: true, mask }), { agreement: 'mask', differences: ['mask'] })
  t.same(cmp({ allow: true, mask }, { allow: true, mask: [{ action: 'redact', path: '/ssn' }] }), { agreement: 'agree', differences: [] }, 'mask rules compared as JSON values')
  t.same(cmp({ allow: true, headers: { 'x-a': '1' }, mask }, { allow: true, mask: [] }), { agreement: 'headers', differences: ['headers', 'mask'] }, 'every difference listed; headers outrank mask')
  t.same(cmp({ allow: true, reason: 'a', cache_ttl: 5, status: 200 }, { allow: true, reason: 'b', status: 299 }), { agreement: 'agree', differences: [] })
})

const input = { attributes: { request: { http: { id: 'r1', method: 'GET', path: '/x', headers: { 'x-api-key': 'client-secret', 'x-tenant': 'acme' } } } } }
const shadow = {
  agreement: 'headers', differences: ['headers'], active_decision_id: 'd1', revisions: { active: 'a1', shadow: 's1' }, path: 'bouncer/decision',
  result: { allow: true, headers: { 'x-auth-token': 'shadow-secret', 'x-ok': '1' }, card: '4111111111111111' },
}

t.test('a shadow event: credential headers erased from the shadow result; the caller\'s objects untouched', async (t) => {
  const build = compileEventBuilder({ labels: {}, eraseHeaders: DEFAULT_ERASE_HEADERS })
  const { event } = build({ path: 'bouncer/decision', input, result: { allow: true }, shadow })
  t.same(event.shadow!.result, { allow: true, headers: { 'x-ok': '1' }, card: '4111111111111111' })
  t.same(event.erased, ['/input/attributes/request/http/headers/x-api-key', '/shadow/result/headers/x-auth-token'])
  t.equal(event.shadow!.revisions.shadow, 's1')
  t.equal(shadow.result.headers['x-auth-token'], 'shadow-secret', 'the shadow record passed in is not modified')
})

t.test('decision_logs.mask_rules written for /result/... mask the shadow result too; a failing masker drops both results', async (t) => {
  const compiled = compileMaskRules([{ path: '/result/card', action: 'last4' }])
  const build = compileEventBuilder({
    labels: {},
    eraseHeaders: [],
    mask: (e) => { const r = applyMask(e, compiled); return { event: r.value as typeof e, erased: r.erased, masked: r.masked } },
  })
  const { event } = build({ path: 'bouncer/decision', input, result: { allow: true, card: '5500000000000004' }, shadow })
  t.equal((event.result as { card: string }).card.slice(-4), '0004')
  t.not((event.result as { card: string }).card, '5500000000000004')
  t.equal((event.shadow!.result as { card: string }).card.slice(-4), '1111')
  t.not((event.shadow!.result as { card: string }).card, '4111111111111111', 'the shadow result is masked')
  t.ok(event.masked!.includes('/result/card') && event.masked!.includes('/shadow/result/card'), 'both declared masked')

  const failing = compileEventBuilder({ labels: {}, eraseHeaders: [], mask: () => { throw new Error('nope') } })
  const f = failing({ path: 'bouncer/decision', input, result: { allow: true }, shadow })
  t.ok(f.maskError)
  t.notOk('input' in f.event || 'result' in f.event || 'result' in f.event.shadow!, 'input, result and the shadow result are dropped')
  t.same(f.event.erased, ['/input', '/result', '/shadow/result'])
  t.equal(f.event.shadow!.agreement, 'headers', 'the comparison itself is kept')
})

t.test('a queue at MAX_QUEUE takes no more (queue_full); what is queued is evaluated, once', async (t) => {
  const { loadPolicyFromRego } = await import('../../src/policy/load.js')
  const { PolicyHolder } = await import('../../src/policy/holder.js')
  const { createMetrics } = await import('../../src/metrics/index.js')
  const { createShadow, MAX_QUEUE } = await import('../../src/proxy/shadow.js')
  const pino = (await import('pino')).default
  const active = await loadPolicyFromRego([{ file: 'a.rego', source: 'package bouncer\n\ndecision := {"allow": true}\n' }], {}, 'bouncer/decision', { source: 'a' })
  const holder = new PolicyHolder()
  holder.activate(await loadPolicyFromRego([{ file: 's.rego', source: 'package bouncer\n\ndecision := {"allow": false}\n' }], {}, 'bouncer/decision', { source: 's' }))
  const metrics = createMetrics()
  const shadow = createShadow({ sample: 1, maxPerSecond: 0, evalTimeoutSeconds: 1 }, { holder, metrics, log: pino({ level: 'silent' }), scrubSecrets: Object.assign((m: string) => m, { result: (v: unknown) => v }) })
  const r = { verdict: { kind: 'allow' as const, decision: parseDecision(true), mask: undefined }, cached: false, evalNs: 1, reason: undefined, revision: active.revision, result: true, policy: { ...active, activatedAt: 0 } }
  const input = { attributes: { request: { http: { id: 'x', method: 'GET', path: '/', host: 'h', scheme: 'http', protocol: 'HTTP/1.1', headers: {} } }, source: { address: 'a' }, destination: { address: 'b' } }, parsed_path: [], parsed_query: {} }
  const ctx = { id: 'd', requestedBy: 'a', startNs: 0n }
  // All in one turn: nothing is evaluated before the turn ends.
  for (let i = 0; i < MAX_QUEUE + 5; i++) shadow.observe(input as never, ctx, r)
  const count = async (name: 'shadowDecisions' | 'shadowSkipped', label: string) => (await metrics[name].get()).values.find((v) => Object.values(v.labels).includes(label))?.value ?? 0
  t.equal(await count('shadowSkipped', 'queue_full'), 5)
  t.equal(await count('shadowDecisions', 'allow_to_deny'), 0, 'nothing evaluated yet')
  shadow.drain()
  t.equal(await count('shadowDecisions', 'allow_to_deny'), MAX_QUEUE)
  await new Promise((resolve) => setImmediate(resolve))
  t.equal(await count('shadowDecisions', 'allow_to_deny'), MAX_QUEUE, 'the scheduled slice finds nothing left')
  shadow.observe(input as never, ctx, r)
  t.equal(await count('shadowSkipped', 'queue_full'), 5, 'room again')
})
