// The rest of the decision contract under replay, over a log a real bouncer wrote through its
// file sink (JSON lines): fail-closed events (the recorded policy failed to evaluate), a
// candidate that fails (an invalid mask, a value that is not a decision), body and cache_ttl
// changes, credential query parameters erased from the logged input where the policy reads
// them, and a credential header a decision sets, erased from the recorded decision.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { request } from 'undici'
import { replay, type ReplayReport } from '../../src/replay/index.js'
import { tempDir, waitFor } from '../decision-log/fixtures/control-plane.js'
import { startBouncer, startUpstream } from '../helpers/index.js'

const CURRENT = `package bouncer

default decision := {"allow": false}

decision := {"allow": true, "cache_ttl": 10} if input.parsed_path[0] == "cached"

decision := {"allow": false, "status": 403, "body": "no"} if input.parsed_path[0] == "body"

# Two values for one complete rule: an evaluation error, so the proxy fails closed.
decision := {"allow": true} if input.parsed_path[0] == "boom"

decision := {"allow": false, "status": 418} if input.parsed_path[0] == "boom"

decision := {"allow": true} if {
	input.parsed_path[0] == "query"
	input.parsed_query.api_key[0] == "k1"
}

# A credential for the upstream: the logger erases it from the recorded decision too.
decision := {"allow": true, "headers": {"authorization": "Bearer upstream-secret"}} if input.parsed_path[0] == "token"
`

const CANDIDATE = `package bouncer

default decision := {"allow": false}

decision := {"allow": true, "cache_ttl": 60} if input.parsed_path[0] == "cached"

decision := {"allow": false, "status": 403, "body": "denied"} if input.parsed_path[0] == "body"

decision := {"allow": true} if input.parsed_path[0] == "boom"

decision := {"allow": true, "mask": [{"path": "/x", "action": "explode"}]} if input.parsed_path[0] == "badmask"

decision := "yes" if input.parsed_path[0] == "weird"

decision := {"allow": true} if {
	input.parsed_path[0] == "query"
	input.parsed_query.api_key[0] == "k1"
}

# A credential for the upstream: the logger erases it from the recorded decision too.
decision := {"allow": true, "headers": {"authorization": "Bearer upstream-secret"}} if input.parsed_path[0] == "token"
`

const TRAFFIC: Array<[string, string]> = [
  ['cached-1', '/cached'],
  ['body-1', '/body'],
  ['boom-1', '/boom'],
  ['boom-2', '/boom/2'],
  ['badmask-1', '/badmask'],
  ['weird-1', '/weird'],
  ['query-1', '/query?api_key=k1'],
  ['token-1', '/token'],
  ['other-1', '/other'],
]

let log: string
let candidate: string
const ids = new Map<string, string>()
const statuses = new Map<string, number>()

t.before(async () => {
  const dir = tempDir(t)
  const current = join(dir, 'current')
  candidate = join(dir, 'candidate')
  mkdirSync(current)
  mkdirSync(candidate)
  writeFileSync(join(current, 'policy.rego'), CURRENT)
  writeFileSync(join(candidate, 'policy.rego'), CANDIDATE)
  log = join(dir, 'decisions.jsonl')
  const up = await startUpstream()
  t.teardown(() => up.close())
  const b = await startBouncer({
    upstream: up.url, policyPath: current,
    config: { decision_logs: { enabled: true, sinks: ['file'], file_path: log, spool_dir: join(dir, 'spool'), min_delay_seconds: 0.01, max_delay_seconds: 0.05 } },
  })
  t.teardown(() => b.close())
  for (const [id, path] of TRAFFIC) {
    const r = await request(`${b.url}${path}`, { headers: { 'x-request-id': id } })
    await r.body.dump()
    statuses.set(id, r.statusCode)
  }
  // The file sink is the logger's delivery target: written by the uploader shortly after.
  await waitFor(() => existsSync(log) && readFileSync(log, 'utf8').split('\n').filter(Boolean).length === TRAFFIC.length, 10000, 'every event in the file sink')
  for (const line of readFileSync(log, 'utf8').split('\n').filter(Boolean)) {
    const e = JSON.parse(line) as { request_id: string; decision_id: string }
    ids.set(e.request_id, e.decision_id)
  }
})

const idsOf = (...r: string[]): string[] => r.map((x) => ids.get(x)!)
const group = (r: ReplayReport, kind: string, incomplete = false) => (incomplete ? r.input_incomplete.changes : r.changes).find((g) => g.kind === kind)!
const counts = (groups: ReplayReport['changes']): Record<string, number> => Object.fromEntries(groups.filter((g) => g.count > 0).map((g) => [g.kind, g.count]))

t.test('what the proxy did when the log was written', async (t) => {
  t.equal(statuses.get('boom-1'), 403, 'an evaluation error: fail closed (policy.error_status)')
  t.equal(statuses.get('query-1'), 200, 'the credential parameter was there when the policy ran')
  const events = readFileSync(log, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, any>)
  t.equal(events.find((e) => e.request_id === 'boom-1')!.error.code, 'BOUNCER_ERR_POLICY_EVAL')
  const q = events.find((e) => e.request_id === 'query-1')!
  t.same(q.erased, ['/input/parsed_query/api_key'], 'and it is erased from the logged input')
})

t.test('errors on either side, body and cache_ttl changes, an erased query parameter', async (t) => {
  const r = await replay({ logs: [log], policy: candidate })
  t.equal(r.integrity.complete, true, r.integrity.statement)
  t.same(r.totals, { evaluated: 9, unchanged: 1, changed: 6, input_incomplete: 2, erased_not_read: 0 })
  t.same(counts(r.changes), { 'deny-to-allow': 2, 'to-error': 2, 'from-error': 2, body: 1, 'cache-ttl': 1 })
  t.same(group(r, 'from-error').examples.map((e) => e.decision_id), idsOf('boom-1', 'boom-2'))
  t.same(group(r, 'deny-to-allow').examples.map((e) => e.decision_id), idsOf('boom-1', 'boom-2'), 'a fail-closed denial that now allows is deny-to-allow too')
  t.equal(group(r, 'from-error').examples[0]!.baseline, 'error BOUNCER_ERR_POLICY_EVAL')
  t.same(group(r, 'to-error').examples.map((e) => e.decision_id), idsOf('badmask-1', 'weird-1'))
  const [badmask, weird] = group(r, 'to-error').examples
  t.match(badmask!.candidate_decision, { error: { code: 'BOUNCER_ERR_POLICY_DECISION', message: /invalid mask/ } })
  t.match(weird!.candidate_decision, { error: { code: 'BOUNCER_ERR_POLICY_DECISION', message: /expected a boolean or an object, got string/ } })
  t.same(group(r, 'body').examples[0]!.candidate_decision, { allow: false, status: 403, body: 'denied' })
  t.same(group(r, 'cache-ttl').examples.map((e) => [e.baseline_decision.cache_ttl, e.candidate_decision.cache_ttl]), [[10, 60]])
  // The policy reads parsed_query.api_key, which the logger erased: evaluated, and apart. The
  // upstream authorization header was erased from the recorded decision: the candidate sets it
  // and seems to change the headers, but the recorded decision is incomplete: apart as well.
  t.same(r.input_incomplete.fields, [{ pointer: '/input/parsed_query/api_key', events: 1 }, { pointer: '/result/headers/authorization', events: 1 }])
  t.same(counts(r.input_incomplete.changes), { 'allow-to-deny': 1, headers: 1 })
  t.same(r.input_incomplete.examples.map((e) => e.decision_id), idsOf('query-1', 'token-1'))
  t.notMatch(JSON.stringify(r.changes), /upstream-secret/, 'not among the complete ones')
})

t.test('with --baseline both decisions are computed: an erased recorded decision does not matter', async (t) => {
  const dir = tempDir(t)
  writeFileSync(join(dir, 'current.rego'), CURRENT)
  const r = await replay({ logs: [log], policy: candidate, baseline: join(dir, 'current.rego') })
  t.same(r.input_incomplete.fields, [{ pointer: '/input/parsed_query/api_key', events: 1 }])
  t.same(counts(r.changes), { 'deny-to-allow': 2, 'to-error': 2, 'from-error': 2, body: 1, 'cache-ttl': 1 }, 'token-1 is unchanged')
  t.equal(r.totals.unchanged, 2)
})
