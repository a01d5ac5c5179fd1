// OPA's decision-log policies (data.system.log.mask / drop), compiled by the project's compiler
// and run on events as OPA's decision-log plugin runs them.
import t from 'tap'
import { compileModules } from '../../src/compiler/index.js'
import { loadWasmPolicy } from '../../src/policy/eval/index.js'
import { applyMaskOps, logPolicyInput, logPolicyMasker, LogPolicyError, maskOps, type LogPolicy } from '../../src/decision-log/log-policy.js'
import type { DecisionEvent } from '../../src/decision-log/event.js'
import { deepFreeze } from '../../src/deep-freeze.js'

async function logPolicy (source: string): Promise<LogPolicy> {
  const c = compileModules({ modules: [{ file: 'log.rego', source }], entrypoints: [], optionalEntrypoints: ['system/log/mask', 'system/log/drop'] })
  const p = await loadWasmPolicy(c.wasm)
  return {
    ...(c.entrypoints.includes('system/log/mask') ? { mask: p.evaluator('system/log/mask') } : {}),
    ...(c.entrypoints.includes('system/log/drop') ? { drop: p.evaluator('system/log/drop') } : {}),
  }
}

const event = (): DecisionEvent => deepFreeze({
  labels: { id: 'i', version: 'v' },
  decision_id: 'd1',
  path: 'bouncer/decision',
  input: { password: 'hunter2', user: 'alice', headers: { ':path': '/x', 'x y': 'z' }, list: ['a', 'b', 'c'], n: 1 },
  result: { allow: true, secret: 's' },
  requested_by: '10.0.0.1:5',
  timestamp: '2026-12-04T00:00:00.000000000Z',
  metrics: { timer_rego_query_eval_ns: 5 },
  trace_id: 't'.repeat(32),
}) as DecisionEvent

t.test('the input both policies get is the event as OPA presents it (no metrics, no trace ids)', async (t) => {
  const input = logPolicyInput(event())
  t.same(Object.keys(input), ['decision_id', 'input', 'labels', 'path', 'requested_by', 'result', 'timestamp'])
})

t.test('mask: strings remove, objects remove or upsert, recorded as OPA records them', async (t) => {
  const p = await logPolicy(`package system.log

mask contains "/input/password"
mask contains "/input/headers/:path"
mask contains "/input/missing"
mask contains {"op": "upsert", "path": "/result/secret", "value": "***"}
mask contains {"op": "upsert", "path": "/input/new/deep", "value": 1}
mask contains {"op": "remove", "path": "/input/list/1"}
`)
  const before = event()
  const ops = maskOps(p, logPolicyInput(before))
  const r = applyMaskOps(before, ops)
  t.same(r.event.input, { user: 'alice', headers: { 'x y': 'z' }, list: ['a', 'c'], n: 1, new: { deep: 1 } })
  t.same(r.event.result, { allow: true, secret: '***' })
  t.same(r.erased, ['/input/headers/:path', '/input/password', '/input/list/1'], 'strings first (sorted), then the objects; a missing pointer is not recorded')
  t.same(r.masked, ['/input/new/deep', '/result/secret'])
  t.equal((before.input as { password: string }).password, 'hunter2', 'the caller\'s event is unchanged (it was frozen: copies along each path)')
})

t.test('mask: OPA\'s edge cases', async (t) => {
  const run = async (rules: string, e = event()) => {
    const p = await logPolicy(`package system.log\n\n${rules}\n`)
    return applyMaskOps(e, maskOps(p, logPolicyInput(e)))
  }
  let r = await run('mask contains "/input/x y"')
  t.same(r.erased, [], 'a key with a space cannot be reached (segments are looked up URL-path-escaped)')
  r = await run('mask contains "/input/list/5"\nmask contains "/input/list/-1"\nmask contains "/input/n/x"')
  t.same(r.erased, [], 'out-of-range indices and paths through a scalar are skipped')
  r = await run('mask contains "/input"')
  t.notOk('input' in r.event, 'the whole input')
  t.same(r.erased, ['/input'])
  r = await run('mask contains {"op": "upsert", "path": "/input/list/9", "value": 1}')
  t.same(r.masked, [], 'upsert never appends to an array')
  r = await run('mask contains "/input/user"\nmask contains {"op": "upsert", "path": "/input/user/first", "value": "A"}')
  t.same((r.event.input as Record<string, unknown>).user, { first: 'A' }, 'a removal then an upsert below it re-creates the key')
})

t.test('mask: malformed sets are errors for the whole set', async (t) => {
  for (const [rules, message] of [
    ['mask := "/input/password"', /unexpected rule format/],
    ['mask contains "/labels/id"', /mask prefix not allowed: labels/],
    ['mask contains "input/x"', /mask must be slash-prefixed/],
    ['mask contains {"op": "replace", "path": "/input/x"}', /mask op is not supported: replace/],
    ['mask contains {"path": "/input/x"}', /mask op is not supported/],
    ['mask contains 7', /invalid mask rule format encountered: number/],
    ['mask contains "/input/100%"', /invalid URL escape/],
  ] as const) {
    const p = await logPolicy(`package system.log\n\n${rules}\n`)
    let error: unknown
    try { maskOps(p, logPolicyInput(event())) } catch (e) { error = e }
    t.ok(error instanceof LogPolicyError, `${rules}: a LogPolicyError`)
    t.match((error as Error | undefined)?.message, message, rules)
  }
  const undef = await logPolicy('package system.log\n\nmask contains x if { x := "/input/password"; input.path == "other" }\n')
  t.same(maskOps(undef, logPolicyInput(event())), [], 'an empty set: nothing to do')
})

t.test('drop: exactly true drops; the masker reports it', async (t) => {
  const p = await logPolicy('package system.log\n\ndrop if input.input.user == "alice"\n\nmask contains "/input/password"\n')
  const masker = logPolicyMasker(() => p)
  t.equal(masker(event()).drop, true)
  const bob = { ...event(), input: { user: 'bob', password: 'x' } }
  const r = masker(bob)
  t.notOk(r.drop)
  t.same(r.erased, ['/input/password'])
  const notTrue = await logPolicy('package system.log\n\ndrop := "yes"\n')
  t.notOk(logPolicyMasker(() => notTrue)(event()).drop, 'a value other than true does not drop')
  t.same(logPolicyMasker(() => undefined)(event()).erased, [], 'no policy: nothing happens')
})
