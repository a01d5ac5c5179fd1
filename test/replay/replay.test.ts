// bouncer replay over decision logs written by a real bouncer: real requests through the proxy
// (a Rego policy compiled by the project's compiler) into its spool, delivered by the real
// uploader to a real (loopback) control plane, saved as the gzip'd JSON arrays it received.
// Candidate policies flip specific routes; the groups, counts and decision ids are checked
// exactly, and so are a tampered line, a truncated file, an erased input, --fail-on and errors.
import { cpSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { gunzipSync, gzipSync } from 'node:zlib'
import t from 'tap'
import { request } from 'undici'
import { main } from '../../src/cli/replay.js'
import { compileBundle } from '../../src/compiler/bundle/index.js'
import { DecisionLogger } from '../../src/decision-log/index.js'
import { replay, type ReplayReport } from '../../src/replay/index.js'
import { startControlPlane, tempDir, waitFor } from '../decision-log/fixtures/control-plane.js'
import { startBouncer, startUpstream } from '../helpers/index.js'

// The policy in force when the traffic was recorded.
const CURRENT = `package bouncer

default decision := {"allow": false, "status": 403, "reason": "default deny"}

decision := {"allow": true} if {
	input.attributes.request.http.method == "GET"
	input.parsed_path[0] == "public"
}

decision := {"allow": true, "headers": {"x-user": user}} if {
	input.parsed_path[0] == "api"
	user := input.attributes.request.http.headers["x-user"]
}

decision := {"allow": true, "mask": [{"path": "/ssn", "action": "redact"}]} if input.parsed_path[0] == "reports"

decision := {"allow": true} if {
	input.parsed_path[0] == "secure"
	startswith(input.attributes.request.http.headers.authorization, "Bearer ")
}
`

// The candidate: admins may use /admin (deny → allow), /api/orders is closed (allow → deny),
// /api/users gets another header, /legacy answers 410 (status), /reports masks more (mask);
// /public and /secure as before.
const CANDIDATE = `package bouncer

default decision := {"allow": false, "status": 403, "reason": "default deny"}

decision := {"allow": false, "status": 410} if input.parsed_path[0] == "legacy"

decision := {"allow": true} if {
	input.attributes.request.http.method == "GET"
	input.parsed_path[0] == "public"
}

decision := {"allow": true} if {
	input.parsed_path[0] == "admin"
	input.attributes.request.http.headers["x-role"] == "admin"
}

decision := {"allow": true, "headers": {"x-user": user}} if {
	input.parsed_path[0] == "api"
	input.parsed_path[1] != "orders"
	input.parsed_path[1] != "users"
	user := input.attributes.request.http.headers["x-user"]
}

decision := {"allow": true, "headers": {"x-user-id": user}} if {
	input.parsed_path[0] == "api"
	input.parsed_path[1] == "users"
	user := input.attributes.request.http.headers["x-user"]
}

decision := {"allow": true, "mask": [{"path": "/ssn", "action": "redact"}, {"path": "/card", "action": "last4"}]} if input.parsed_path[0] == "reports"

decision := {"allow": true} if {
	input.parsed_path[0] == "secure"
	startswith(input.attributes.request.http.headers.authorization, "Bearer ")
}
`

// Traffic: request id → path and headers. The request id is the event's request_id.
const TRAFFIC: Array<[string, string, Record<string, string>]> = [
  ['pub-1', '/public/a', {}],
  ['pub-2', '/public/b', {}],
  ['pub-cookie', '/public/c', { cookie: 'session=SECRET-COOKIE' }],
  ['admin-1', '/admin/x', { 'x-role': 'admin' }],
  ['admin-2', '/admin/y', { 'x-role': 'admin' }],
  ['admin-3', '/admin/z', {}],
  ['orders-1', '/api/orders/1', { 'x-user': 'u1' }],
  ['orders-2', '/api/orders/2', { 'x-user': 'u1' }],
  ['users-1', '/api/users/1', { 'x-user': 'u2' }],
  ['legacy-1', '/legacy/a', {}],
  ['legacy-2', '/legacy/b', {}],
  ['reports-1', '/reports', {}],
  ['secure-1', '/secure/a', { authorization: 'Bearer SECRET-TOKEN-1' }],
  ['secure-2', '/secure/b', { authorization: 'Bearer SECRET-TOKEN-2' }],
]

interface Fixture {
  dir: string
  current: string
  candidate: string
  candidateBundle: string
  /** the bouncer's spool as it stopped (nothing delivered) */
  spool: string
  /** the same chain as the control plane received it: upload-0001.json.gz ... */
  exports: string
  /** request id → decision id */
  ids: Map<string, string>
}

let fx: Fixture

async function makeFixture (): Promise<Fixture> {
  const dir = tempDir(t)
  const current = join(dir, 'current')
  const candidate = join(dir, 'candidate')
  mkdirSync(current)
  mkdirSync(candidate)
  writeFileSync(join(current, 'policy.rego'), CURRENT)
  writeFileSync(join(candidate, 'policy.rego'), CANDIDATE)
  const candidateBundle = join(dir, 'candidate.tar.gz')
  writeFileSync(candidateBundle, (await compileBundle({ paths: [candidate], entrypoints: ['bouncer/decision'], revision: 'cand-1' })).tarGz)

  // Record: the control plane is down, so every event stays in the spool.
  const cp = await startControlPlane()
  t.teardown(() => cp.close())
  await cp.down()
  const up = await startUpstream()
  const spoolLive = join(dir, 'spool-live')
  const b = await startBouncer({
    upstream: up.url, policyPath: current,
    config: { decision_logs: { enabled: true, service_url: cp.url, spool_dir: spoolLive, min_delay_seconds: 3600, max_delay_seconds: 3600 } },
  })
  for (const [id, path, headers] of TRAFFIC) {
    const r = await request(`${b.url}${path}`, { headers: { 'x-request-id': id, ...headers } })
    await r.body.dump()
  }
  await b.close()
  await up.close()
  const spool = join(dir, 'spool')
  cpSync(spoolLive, spool, { recursive: true })

  // Deliver a copy of the spool with the real uploader; save each body as received.
  await cp.up()
  const lg = new DecisionLogger({ spool_dir: spoolLive, service_url: cp.url, min_delay_seconds: 0.01, max_delay_seconds: 0.05, upload_size_limit_bytes: 2048 })
  await lg.start()
  await waitFor(() => lg.status().pending_events === 0, 20000, 'delivered')
  await lg.stop(2000)
  const exports = join(dir, 'exports')
  mkdirSync(exports)
  cp.batches.forEach((batch, n) => writeFileSync(join(exports, `upload-${String(n + 1).padStart(4, '0')}.json.gz`), gzipSync(batch.raw)))

  const ids = new Map<string, string>()
  for (const e of cp.decisions()) ids.set(String(e.request_id), String(e.decision_id))
  return { dir, current, candidate, candidateBundle, spool, exports, ids }
}

t.before(async () => { fx = await makeFixture() })

const idsOf = (...requestIds: string[]): string[] => requestIds.map((r) => {
  const id = fx.ids.get(r)
  if (id === undefined) throw new Error(`no event for request ${r}`)
  return id
})
const group = (r: ReplayReport, kind: string, incomplete = false) => (incomplete ? r.input_incomplete.changes : r.changes).find((g) => g.kind === kind)!
const counts = (groups: ReplayReport['changes']): Record<string, number> => Object.fromEntries(groups.filter((g) => g.count > 0).map((g) => [g.kind, g.count]))

function capture (): { io: { stdout: (s: string) => void; stderr: (s: string) => void }; out: () => string; err: () => string } {
  const out: string[] = []
  const err: string[] = []
  return { io: { stdout: (s) => { out.push(s) }, stderr: (s) => { err.push(s) } }, out: () => out.join(''), err: () => err.join('') }
}

t.test('the fixture: every request was recorded and delivered in several uploads', async (t) => {
  t.equal(fx.ids.size, TRAFFIC.length, 'one event per request, request ids kept')
  t.ok(readdirSync(fx.exports).length > 1, 'several gzip\'d uploads')
})

t.test('a spool replayed with the candidate: the groups, counts and decision ids', async (t) => {
  const r = await replay({ logs: [fx.spool], policy: fx.candidate })
  t.equal(r.integrity.complete, true, r.integrity.statement)
  t.equal(r.log.records, TRAFFIC.length)
  t.same(r.totals, { evaluated: 14, unchanged: 4, changed: 8, input_incomplete: 2, erased_not_read: 1 })
  t.same(counts(r.changes), { 'allow-to-deny': 2, 'deny-to-allow': 2, status: 2, headers: 1, mask: 1 })
  t.same(group(r, 'deny-to-allow').examples.map((e) => e.decision_id), idsOf('admin-1', 'admin-2'))
  t.same(group(r, 'allow-to-deny').examples.map((e) => e.decision_id), idsOf('orders-1', 'orders-2'))
  t.same(group(r, 'status').examples.map((e) => e.decision_id), idsOf('legacy-1', 'legacy-2'))
  t.same(group(r, 'headers').examples.map((e) => e.decision_id), idsOf('users-1'))
  t.same(group(r, 'mask').examples.map((e) => e.decision_id), idsOf('reports-1'))
  const ex = group(r, 'status').examples[0]!
  t.equal(ex.request, 'GET /legacy/a')
  t.equal(ex.baseline, 'deny 403')
  t.equal(ex.candidate, 'deny 410')
  t.match(ex.at, /^seg-\d+\.jsonl:10$/, 'file and line of the event')
  t.same(group(r, 'headers').examples[0]!.candidate_decision, { allow: true, status: 200, headers: { headers: [['x-user-id', 'u2']], remove_headers: [], response_headers: [] } })
  t.same(group(r, 'mask').examples[0]!.candidate_decision.mask, [{ action: 'redact', path: '/ssn' }, { action: 'last4', path: '/card' }])
})

t.test('an erased input the policy reads is evaluated and flagged, never counted as unchanged', async (t) => {
  const r = await replay({ logs: [fx.spool], policy: fx.candidate })
  // The authorization header was erased by the logger; both policies read it on /secure.
  t.equal(r.input_incomplete.events, 2)
  t.same(counts(r.input_incomplete.changes), { 'allow-to-deny': 2 }, 'without the header the candidate denies')
  t.same(group(r, 'allow-to-deny', true).examples.map((e) => e.decision_id), idsOf('secure-1', 'secure-2'))
  t.same(r.input_incomplete.fields, [{ pointer: '/input/attributes/request/http/headers/authorization', events: 2 }])
  t.same(group(r, 'allow-to-deny', true).examples[0]!.incomplete_fields, ['/input/attributes/request/http/headers/authorization'])
  t.notOk(group(r, 'allow-to-deny').examples.some((e) => idsOf('secure-1', 'secure-2').includes(e.decision_id)), 'not among the complete inputs')
  // The cookie was erased too, but no policy reads it: that replay is exact.
  t.equal(r.totals.erased_not_read, 1)
  t.notMatch(JSON.stringify(r), /SECRET/, 'no erased credential anywhere in the report')
})

t.test('the control plane\'s gzip\'d uploads give the same result; a bundle candidate too', async (t) => {
  const a = await replay({ logs: [fx.spool], policy: fx.candidate })
  const b = await replay({ logs: [fx.exports], policy: fx.candidateBundle })
  t.equal(b.integrity.complete, true, b.integrity.statement)
  t.equal(b.candidate.revision, 'cand-1', 'the bundle\'s revision')
  t.same(b.totals, a.totals)
  t.same(counts(b.changes), counts(a.changes))
  for (const g of a.changes) t.same(group(b, g.kind).examples.map((e) => e.decision_id), g.examples.map((e) => e.decision_id), g.kind)
  t.match(group(b, 'status').examples[0]!.at, /^upload-\d{4}\.json\.gz:1 \(element \d+\)$/)
})

t.test('a signed bundle: refused without a key, replayed with the right one, refused with a wrong one', async (t) => {
  const dir = tempDir(t)
  const signed = join(dir, 'signed.tar.gz')
  writeFileSync(signed, (await compileBundle({ paths: [fx.candidate], entrypoints: ['bouncer/decision'], revision: 'cand-signed', sign: { key: 'a shared secret for the test, 32 bytes and more', alg: 'HS256', keyId: 'ci' } })).tarGz)
  writeFileSync(join(dir, 'right.key'), 'a shared secret for the test, 32 bytes and more')
  writeFileSync(join(dir, 'wrong.key'), 'another secret altogether, also 32 bytes long')
  const none = capture()
  t.equal(await main(['--log', fx.spool, '--policy', signed], none.io), 2)
  t.match(none.err(), /signed\.tar\.gz: .*the bundle is signed but no verification keys are configured/)
  const right = capture()
  t.equal(await main(['--log', fx.spool, '--policy', signed, '--verification-key', join(dir, 'right.key'), '--verification-alg', 'HS256', '--format', 'json', '--fail-on', 'status'], right.io), 1, right.err())
  const r = JSON.parse(right.out()) as ReplayReport
  t.equal(r.candidate.revision, 'cand-signed')
  t.equal(group(r, 'status').count, 2)
  const wrong = capture()
  t.equal(await main(['--log', fx.spool, '--policy', signed, '--verification-key', join(dir, 'wrong.key'), '--verification-alg', 'HS256'], wrong.io), 2)
  t.match(wrong.err(), /signed\.tar\.gz: .*signature/i)
  const missing = capture()
  t.equal(await main(['--log', fx.spool, '--policy', signed, '--verification-key', join(dir, 'nope.key')], missing.io), 2)
  t.match(missing.err(), /cannot read verification key .*nope\.key: no such file or directory/)
})

t.test('--baseline: the candidate against another policy over the same inputs', async (t) => {
  // The current policy against itself: nothing changes, the erased inputs are still apart.
  const same = await replay({ logs: [fx.spool], policy: fx.current, baseline: fx.current })
  t.same(same.totals, { evaluated: 14, unchanged: 12, changed: 0, input_incomplete: 2, erased_not_read: 1 })
  t.same(counts(same.input_incomplete.changes), {}, 'both evaluated without the header: they agree')
  t.equal(same.input_incomplete.unchanged, 2)
  // Swapped: the current policy as the candidate against the new one.
  const back = await replay({ logs: [fx.spool], policy: fx.current, baseline: fx.candidate })
  t.same(counts(back.changes), { 'allow-to-deny': 2, 'deny-to-allow': 2, status: 2, headers: 1, mask: 1 })
  t.same(group(back, 'deny-to-allow').examples.map((e) => e.decision_id), idsOf('orders-1', 'orders-2'))
  t.equal(back.baseline?.source, fx.candidate)
})

t.test('a deterministic policy is evaluated once per distinct projected input; one that reads the clock every time', async (t) => {
  const dir = tempDir(t)
  const byMethod = join(dir, 'by-method')
  const clock = join(dir, 'clock')
  mkdirSync(byMethod)
  mkdirSync(clock)
  // Reads only the method, and every request was a GET.
  writeFileSync(join(byMethod, 'p.rego'), 'package bouncer\n\ndecision := {"allow": input.attributes.request.http.method == "GET"}\n')
  writeFileSync(join(clock, 'p.rego'), 'package bouncer\n\ndecision := {"allow": input.attributes.request.http.method == "GET"} if time.now_ns() > 0\n')
  const a = await replay({ logs: [fx.spool], policy: byMethod })
  t.same(a.evaluations, { candidate: 1, baseline: 0, reused: 13 })
  const b = await replay({ logs: [fx.spool], policy: clock })
  t.same(b.evaluations, { candidate: 14, baseline: 0, reused: 0 })
  t.match(b.notes.join('\n'), /The candidate policy calls builtins whose result is not a function of the input/)
  // Same decisions either way: every recorded deny is now an allow, headers and masks are gone;
  // no input is incomplete, since neither policy reads the erased authorization header.
  for (const r of [a, b]) {
    t.same(r.totals, { evaluated: 14, unchanged: 5, changed: 9, input_incomplete: 0, erased_not_read: 3 })
    t.same(group(r, 'deny-to-allow').examples.map((e) => e.decision_id), idsOf('admin-1', 'admin-2', 'admin-3', 'legacy-1', 'legacy-2'))
    t.equal(group(r, 'deny-to-allow').count, 5)
  }
})

t.test('a tampered line is reported with its file and line; the record is incomplete', async (t) => {
  const dir = join(tempDir(t), 'spool')
  cpSync(fx.spool, dir, { recursive: true })
  const seg = readdirSync(dir).find((n) => n.startsWith('seg-'))!
  const lines = readFileSync(join(dir, seg), 'utf8').split('\n')
  const i = lines.findIndex((l) => l.includes('"legacy-2"'))
  lines[i] = lines[i]!.replace('"method":"GET"', '"method":"PUT"')
  writeFileSync(join(dir, seg), lines.join('\n'))
  const r = await replay({ logs: [dir], policy: fx.candidate })
  t.equal(r.integrity.complete, false)
  t.match(r.integrity.statement, /INCOMPLETE record: 1 record\(s\) edited/)
  const f = r.integrity.findings.find((x) => x.kind === 'edit')!
  t.equal(f.at, `${seg}:${i + 1}`, 'file and line of the edited record')
  t.equal(r.log.edited_left_out, 1)
  t.equal(group(r, 'status').count, 1, 'the edited record is not replayed')
  t.same(group(r, 'status').examples.map((e) => e.decision_id), idsOf('legacy-1'))

  const c = capture()
  t.equal(await main(['--log', dir, '--policy', fx.candidate, '--fail-on', 'incomplete-record'], c.io), 1)
  t.match(c.out(), new RegExp(`\\[break\\] edit: ${seg.replace('.', '\\.')}:${i + 1}: seq \\d+: content does not match its hash`))
  t.match(c.err(), /--fail-on matched: incomplete-record/)
})

t.test('a truncated export is reported with its file and line', async (t) => {
  const dir = join(tempDir(t), 'exports')
  cpSync(fx.exports, dir, { recursive: true })
  const last = readdirSync(dir).sort().at(-1)!
  const text = gunzipSync(readFileSync(join(dir, last))).toString('utf8')
  writeFileSync(join(dir, last), gzipSync(text.slice(0, Math.floor(text.length * 0.6))))
  const r = await replay({ logs: [dir], policy: fx.candidate })
  t.equal(r.integrity.complete, false)
  const f = r.integrity.findings.find((x) => x.kind === 'malformed')!
  t.match(f.at, new RegExp(`^${last.replace(/\./g, '\\.')}:1 \\(element \\d+\\)$`))
  t.match(f.message, /the file ends inside a record \(truncated\)/)
  t.ok(r.totals.evaluated < TRAFFIC.length, 'what could not be read is not replayed')
  t.match(r.integrity.statement, /decisions that were lost, altered or unreadable are not in the result/)
})

t.test('the CLI: table and JSON output, --fail-on exit codes', async (t) => {
  const table = capture()
  t.equal(await main(['--log', fx.spool, '--policy', fx.candidate], table.io), 0, 'no --fail-on: exit 0')
  t.match(table.out(), /Integrity: complete\./)
  t.match(table.out(), /unchanged: +4\n +changed: +8\n +input incomplete: +2 \(2 changed, 0 unchanged/)
  t.match(table.out(), /allow → deny +2 +allow-to-deny/)
  t.match(table.out(), new RegExp(`${idsOf('admin-1')[0]}  GET /admin/x  deny 403 → allow`))

  const json = capture()
  t.equal(await main(['--log', fx.spool, '--policy', fx.candidate, '--format', 'json', '--examples', '1', '--fail-on', 'deny-to-allow,allow-to-deny'], json.io), 1)
  const r = JSON.parse(json.out()) as ReplayReport
  t.equal(r.format, 'bouncer-replay/1')
  t.same(group(r, 'deny-to-allow').examples.map((e) => e.decision_id), idsOf('admin-1'), '--examples 1')
  t.equal(json.err(), 'bouncer replay: --fail-on matched: allow-to-deny: 4, deny-to-allow: 2\n', 'incomplete inputs count too')

  const cases: Array<[string[], number]> = [
    [['--fail-on', 'status'], 1],
    [['--fail-on', 'body,cache-ttl,to-error'], 0],
    [['--fail-on', 'input-incomplete'], 1],
    [['--fail-on', 'incomplete-record'], 0],
    [['--fail-on', 'any'], 1],
  ]
  for (const [flags, code] of cases) {
    const c = capture()
    t.equal(await main(['--log', fx.spool, '--policy', fx.candidate, ...flags], c.io), code, flags.join(' '))
  }
  const same = capture()
  t.equal(await main(['--log', fx.spool, '--policy', fx.current, '--baseline', fx.current, '--fail-on', 'any'], same.io), 0, 'no change: exit 0')
  t.match(same.out(), /No changed decisions\./)
})

t.test('bad input: exit 2 with a precise message', async (t) => {
  const broken = join(tempDir(t), 'broken')
  mkdirSync(broken)
  writeFileSync(join(broken, 'policy.rego'), 'package bouncer\n\ndecision := {"allow": true} if {\n\tinput.x ==\n}\n')
  const notLog = join(tempDir(t), 'x.jsonl')
  writeFileSync(notLog, '{"hello":"world"}\n')
  const cases: Array<[string[], RegExp]> = [
    [['--policy', fx.candidate], /--log is required/],
    [['--log', fx.spool], /--policy is required/],
    [['--log', fx.spool, '--policy', fx.candidate, '--fail-on', 'deny-to-alow'], /--fail-on: unknown kind "deny-to-alow"; want any of allow-to-deny, deny-to-allow/],
    [['--log', fx.spool, '--policy', fx.candidate, '--format', 'yaml'], /invalid value "yaml" for --format: want one of table, json/],
    [['--log', fx.spool, '--polcy', fx.candidate], /unknown flag: --polcy \(did you mean --policy\?\)/],
    [['--log', fx.spool, '--policy', fx.candidate, '--examples', 'five'], /--examples must be a whole number, got "five"/],
    [['--log', fx.spool, '--policy', broken], /compilation failed:\n.*policy\.rego:5:1: /],
    [['--log', fx.spool, '--policy', join(fx.dir, 'nope')], /nope: no such file or directory/],
    [['--log', fx.spool, '--policy', fx.candidate, '--entrypoint', 'bouncer/nope'], /bouncer\/nope/],
    [['--log', join(fx.dir, 'missing'), '--policy', fx.candidate], /cannot read decision log .*missing: no such file or directory/],
    [['--log', notLog, '--policy', fx.candidate], /x\.jsonl is not a decision log: no decision-log record in 1 file\(s\) \(first problem: x\.jsonl:1: /],
  ]
  for (const [argv, message] of cases) {
    const c = capture()
    t.equal(await main(argv, c.io), 2, argv.join(' '))
    t.match(c.err(), message, argv.join(' '))
  }
  const h = capture()
  t.equal(await main(['--help'], h.io), 0)
  t.match(h.out(), /^usage: bouncer replay --log PATH --policy CANDIDATE/)
  t.match(h.out(), /--fail-on KINDS/)
})

t.test('an export whose head was cut is not called complete, and trips --fail-on incomplete-record', async (t) => {
  // Records 1.. removed from the front of an export verify from the first one left on: the
  // statement said "complete" and a gate on incomplete-record passed.
  const lines = readdirSync(fx.spool).filter((f) => f.endsWith('.jsonl')).sort()
    .flatMap((f) => readFileSync(join(fx.spool, f), 'utf8').split('\n').filter((l) => l !== ''))
  const dir = tempDir(t)
  const cut = join(dir, 'export.jsonl')
  writeFileSync(cut, lines.slice(2).join('\n') + '\n')
  const r = await replay({ logs: [cut], policy: fx.candidate })
  t.equal(r.integrity.complete, false)
  t.match(r.integrity.statement, /INCOMPLETE record: 1 chain\(s\) do not start at seq 1 \(.* from seq 3\)/)
  const c = capture()
  t.equal(await main(['--log', cut, '--policy', fx.candidate, '--fail-on', 'incomplete-record'], c.io), 1, 'the gate trips')
  const whole = await replay({ logs: [fx.spool], policy: fx.candidate })
  t.match(whole.integrity.statement, /each starting at seq 1/, 'the whole log is complete')
})
