// How two outcomes differ (src/replay/compare.ts) and what an outcome is made of
// (src/replay/outcome.ts): the cases the recorded-traffic tests do not reach.
import t from 'tap'
import { compareOutcomes, outcomeOfEvent, outcomeOfResult, parseKinds } from '../../src/replay/index.js'

t.test('decisions that agree on allow are compared field by field; one event can change in several ways', async (t) => {
  const a = outcomeOfResult({ allow: false, status: 403, headers: { 'x-a': '1' } })
  const b = outcomeOfResult({ allow: false, status: 401, headers: { 'x-a': '2' } })
  t.same(compareOutcomes(a, b), ['status', 'headers'])
  t.same(compareOutcomes(a, outcomeOfResult({ allow: false, headers: { 'X-A': '1' }, reason: 'another reason' })), [], 'header names case-insensitive; reason not compared')
  t.same(compareOutcomes(outcomeOfResult(true), outcomeOfResult({ allow: true, remove_headers: ['x-b'] })), ['headers'], 'remove_headers')
  t.same(compareOutcomes(outcomeOfResult(true), outcomeOfResult({ allow: true, response_headers: { 'x-c': 'v' } })), ['headers'], 'response_headers')
  t.same(compareOutcomes(outcomeOfResult(true), outcomeOfResult({ allowed: true, mask: [] })), [], 'an empty mask is no mask; allowed is allow')
  t.same(compareOutcomes(outcomeOfResult(true), outcomeOfResult({ allow: false, status: 401 })), ['allow-to-deny'], 'a flip is one change')
  t.same(compareOutcomes(outcomeOfResult({ allow: false, body: 'x' }), outcomeOfResult({ allow: false, body: { why: 'x' } })), ['body'])
})

t.test('errors on either side', async (t) => {
  const evalError = outcomeOfEvent({ error: { code: 'BOUNCER_ERR_POLICY_EVAL', message: 'conflict' }, result: { allow: true } })
  t.same(evalError, { kind: 'error', code: 'BOUNCER_ERR_POLICY_EVAL', message: 'conflict' }, 'an event with error was a fail-closed denial, whatever its result')
  const timeout = outcomeOfEvent({ error: { code: 'BOUNCER_ERR_POLICY_EVAL_TIMEOUT', message: 'slow' } })
  t.same(compareOutcomes(evalError, timeout), ['error-code'])
  t.same(compareOutcomes(evalError, outcomeOfEvent({ error: { code: 'BOUNCER_ERR_POLICY_EVAL', message: 'other text' } })), [], 'same code: unchanged')
  t.same(compareOutcomes(outcomeOfResult(true), outcomeOfResult(undefined)), ['to-error'], 'an undefined decision fails closed')
  t.same(compareOutcomes(evalError, outcomeOfResult(false)), ['from-error'])
  t.same(compareOutcomes(evalError, outcomeOfResult(true)), ['from-error', 'deny-to-allow'])
  t.match(outcomeOfResult({ allow: true, headers: { host: 'x' } }), { kind: 'error', code: 'BOUNCER_ERR_POLICY_DECISION', message: /host/ }, 'the proxy\'s own header rules')
})

t.test('--fail-on lists', async (t) => {
  t.same([...parseKinds(['deny-to-allow, status', 'mask'], ['incomplete-record']).kinds].sort(), ['deny-to-allow', 'mask', 'status'])
  t.same(parseKinds(['any'], []).kinds.size, 11)
  t.same(parseKinds(['status,nope', 'incomplete-record'], ['incomplete-record']).unknown, ['nope'])
})
