// Shadow policy (issue 19 item 1): a second policy, compiled by the project's compiler from its
// own directory (policy.shadow), evaluated beside the active one on real requests through a real
// upstream, and never enforced. Disagreements are counted by kind and written to the decision log
// (delivered to a control plane, chain verified); the shadow's failures (an evaluation error, a
// step budget exhausted, a compile error at start) never change a response.
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { request } from 'undici'
import { compileBundle } from '../../src/compiler/bundle/index.js'
import { verifyLog } from '../../src/decision-log/index.js'
import { buildEvidence } from '../../src/evidence/report.js'
import { memoryLogger, rawRequest, startBouncer, startBundleService, startUpstream, type StartedBouncer } from '../helpers/index.js'
import { startControlPlane, tempDir, waitFor } from '../decision-log/fixtures/control-plane.js'

const ACTIVE = `package bouncer

default decision := {"allow": false, "status": 403}

decision := {"allow": true} if input.parsed_path[0] in {"same", "tighten", "masked", "who", "loop", "throw"}

decision := {"allow": true, "headers": {"x-policy": "active"}} if input.parsed_path[0] == "public"
`

// Disagrees with ACTIVE route by route; reads a header ACTIVE never reads (/who), fails on
// /throw (a complete rule with two values) and loops past the step budget on /loop.
const SHADOW = `package bouncer

default decision := {"allow": false, "status": 403}

decision := {"allow": true} if input.parsed_path[0] == "same"

decision := {"allow": true, "headers": {"x-policy": "shadow", "x-api-key": "shadow-secret"}} if input.parsed_path[0] == "public"

decision := {"allow": false, "status": 403, "reason": "shadow tightens"} if input.parsed_path[0] == "tighten"

decision := {"allow": true, "cache_ttl": 60} if input.parsed_path[0] == "loosen"

decision := {"allow": false, "status": 401} if input.parsed_path[0] == "status"

decision := {"allow": true, "mask": [{"path": "/ssn", "action": "redact"}]} if input.parsed_path[0] == "masked"

decision := {"allow": true} if {
	input.parsed_path[0] == "who"
	input.attributes.request.http.headers["x-user"] == "alice"
}

decision := {"allow": n >= 0} if {
	input.parsed_path[0] == "loop"
	xs := object.get(input.parsed_query, "x", [])
	n := count([1 | some a in xs; some b in xs; some c in xs])
}

decision := {"allow": true} if {
	input.parsed_path[0] == "throw"
	conflict > 0
}

conflict := 1 if input.parsed_path[0] == "throw"

conflict := 2 if input.parsed_path[0] == "throw"
`

function policyDirs (t: { teardown: (fn: () => void) => void }, shadow: string): { active: string; shadow: string } {
  const dir = tempDir(t)
  const a = join(dir, 'active')
  const s = join(dir, 'shadow')
  mkdirSync(a); mkdirSync(s)
  writeFileSync(join(a, 'policy.rego'), ACTIVE)
  writeFileSync(join(s, 'policy.rego'), shadow)
  return { active: a, shadow: s }
}

/** The value of one sample of a counter in the Prometheus text (0 when absent). */
function sample (text: string, name: string, labels = ''): number {
  const re = new RegExp(`^${name}${labels.replace(/[{}"]/g, (c) => '\\' + c)} (\\S+)$`, 'm')
  const m = re.exec(text)
  return m ? Number(m[1]) : 0
}

async function get (b: StartedBouncer, path: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  const r = await request(`${b.url}${path}`, { headers })
  return { status: r.statusCode, body: await r.body.text() }
}

const loopQuery = Array.from({ length: 1000 }, (_, i) => `x=${i}`).join('&')

t.test('disagreements are counted and logged with both results and revisions; responses are the active policy\'s', async (t) => {
  const dirs = policyDirs(t, SHADOW)
  const cp = await startControlPlane()
  t.teardown(() => cp.close())
  const up = await startUpstream()
  up.handle = (_req, res) => { res.writeHead(200, { 'content-type': 'application/json' }); res.end('{"ssn":"123-45-6789"}') }
  const b = await startBouncer({
    upstream: up.url,
    policyPath: dirs.active,
    config: {
      policy: { shadow: dirs.shadow },
      cache: { enabled: true, l1: { enabled: true }, redis: { enabled: false } },
      decision_logs: { enabled: true, service_url: cp.url, spool_dir: join(tempDir(t), 'spool'), min_delay_seconds: 0.01, max_delay_seconds: 0.05 },
    },
  })
  t.teardown(async () => { await b.close(); await up.close() })
  const active = b.app.holder.current!
  const shadow = b.app.shadow!.holder.current!
  t.not(active.revision, shadow.revision, 'two policies, two revisions')

  const cases: Array<[path: string, headers: Record<string, string>, status: number, agreement: string | null]> = [
    ['/same', {}, 200, null],
    ['/public', {}, 200, 'headers'],
    ['/tighten', {}, 200, 'allow_to_deny'],
    ['/loosen', {}, 403, 'deny_to_allow'],
    ['/loosen', {}, 403, 'deny_to_allow'], // the shadow's cache_ttl never reaches the active cache
    ['/status', {}, 403, 'status'],
    ['/masked', {}, 200, 'mask'],
    ['/who', { 'x-user': 'alice' }, 200, null],
    ['/who', { 'x-user': 'bob' }, 200, 'allow_to_deny'],
    ['/throw', {}, 200, 'error'],
    [`/loop?${loopQuery}`, {}, 200, 'error'],
  ]
  for (const [path, headers, status, _] of cases) {
    const r = await get(b, path, headers)
    t.equal(r.status, status, `${path.slice(0, 20)}: the active policy's answer`)
    if (path === '/masked') t.equal(r.body, '{"ssn":"123-45-6789"}', 'the shadow\'s mask is not applied')
  }
  b.app.shadow!.drain()

  // The upstream saw the active decision's headers only.
  const pub = up.requests.find((r) => r.url === '/public')!
  t.equal(pub.headers['x-policy'], 'active')
  t.notOk(up.requests.some((r) => r.headers['x-api-key'] !== undefined || r.headers['x-policy'] === 'shadow'), 'no shadow header reached the upstream')
  t.notOk(up.requests.some((r) => r.url === '/loosen' || r.url === '/status'), 'denied requests stayed denied')

  const m = await b.app.metrics.render()
  const count = (a: string): number => sample(m, 'bouncer_shadow_decisions_total', `{agreement="${a}"}`)
  t.same({
    agree: count('agree'), headers: count('headers'), allow_to_deny: count('allow_to_deny'), deny_to_allow: count('deny_to_allow'),
    status: count('status'), body: count('body'), mask: count('mask'), error: count('error'),
  }, { agree: 2, headers: 1, allow_to_deny: 2, deny_to_allow: 2, status: 1, body: 0, mask: 1, error: 2 })
  t.equal(sample(m, 'bouncer_shadow_skipped_total', '{reason="sampled_out"}'), 0)

  // Decision log: one event per request, plus one shadow event per disagreement or error.
  const disagreements = cases.filter((c) => c[3] !== null)
  await cp.waitForEvents(cases.length + disagreements.length)
  const events = cp.events()
  const enforced = events.filter((e) => e.shadow === undefined)
  const shadows = events.filter((e) => e.shadow !== undefined)
  t.equal(enforced.length, cases.length)
  t.equal(shadows.length, disagreements.length)
  const byPath = (p: string) => shadows.filter((e) => e.input.attributes.request.http.path.startsWith(p))

  const tighten = byPath('/tighten')[0]!
  const activeEvent = enforced.find((e) => e.input.attributes.request.http.path === '/tighten')!
  t.match(tighten, {
    path: 'bouncer/decision',
    result: { allow: true },
    bundles: { bouncer: { revision: active.revision } },
    shadow: {
      agreement: 'allow_to_deny',
      differences: ['allow'],
      active_decision_id: activeEvent.decision_id,
      revisions: { active: active.revision, shadow: shadow.revision },
      path: 'bouncer/decision',
      bundles: { bouncer: { revision: shadow.revision } },
      result: { allow: false, status: 403, reason: 'shadow tightens' },
      metrics: { timer_rego_query_eval_ns: Number },
    },
  })
  t.not(tighten.decision_id, activeEvent.decision_id, 'the shadow event has its own decision id')
  t.same(tighten.input, activeEvent.input, 'the shadow saw the input the active policy saw')

  const pubEvent = byPath('/public')[0]!
  t.same(pubEvent.shadow.differences, ['headers'])
  t.same(pubEvent.result, { allow: true, headers: { 'x-policy': 'active' } })
  t.same(pubEvent.shadow.result.headers, { 'x-policy': 'shadow' }, 'the credential header in the shadow result is erased')
  t.ok(pubEvent.erased.includes('/shadow/result/headers/x-api-key'), 'and declared erased')
  t.notOk(JSON.stringify(events).includes('shadow-secret'), 'the secret is nowhere in the log')

  t.same(byPath('/loosen').map((e) => e.shadow.agreement), ['deny_to_allow', 'deny_to_allow'])
  t.match(byPath('/status')[0], { result: { allow: false, status: 403 }, shadow: { differences: ['status'], result: { status: 401 } } })
  t.match(byPath('/masked')[0], { shadow: { differences: ['mask'], result: { mask: [{ path: '/ssn', action: 'redact' }] } } })
  t.match(byPath('/who')[0], { input: { attributes: { request: { http: { headers: { 'x-user': 'bob' } } } } }, shadow: { agreement: 'allow_to_deny' } })
  const thrown = byPath('/throw')[0]!
  t.match(thrown.shadow, { agreement: 'error', differences: [], error: { code: 'BOUNCER_ERR_POLICY_EVAL', message: String } })
  t.notOk('result' in thrown.shadow, 'no shadow result on an error')
  t.match(byPath('/loop')[0].shadow, { agreement: 'error', error: { code: 'BOUNCER_ERR_POLICY_EVAL_TIMEOUT', message: /eval_step_budget/ } })

  const file = join(tempDir(t), 'received.jsonl')
  writeFileSync(file, cp.exportJsonl())
  const v = await verifyLog(file)
  t.ok(v.ok, 'the chain with shadow events verifies')
  t.equal(v.records, events.length)
  t.same([v.decisions, v.shadows], [cases.length, disagreements.length], 'shadow comparisons counted apart from decisions')
  const report = await buildEvidence({ logs: [file] })
  t.equal(report.summary.decisions, cases.length, 'the evidence report counts enforced decisions only')
})

t.test('a shadow that fails to compile: a precise diagnostic, counted, and the proxy serves with the active policy', async (t) => {
  const dirs = policyDirs(t, 'package bouncer\n\ndecision := {"allow": true} if {\n\tinput.x ==\n}\n')
  const up = await startUpstream()
  const mem = memoryLogger()
  const b = await startBouncer({ upstream: up.url, policyPath: dirs.active, config: { policy: { shadow: dirs.shadow } }, deps: { logger: mem.logger } })
  t.teardown(async () => { await b.close(); await up.close() })
  t.equal(b.app.shadow!.holder.current, null, 'no shadow active')
  t.equal((await get(b, '/same')).status, 200)
  t.equal((await get(b, '/loosen')).status, 403)
  b.app.shadow!.drain()
  const line = mem.lines().find((l) => l.msg === 'shadow policy failed to load; serving with the active policy only')
  t.ok(line, 'logged')
  t.match(line?.error, new RegExp(`policy\\.shadow: [\\s\\S]*${join(dirs.shadow, 'policy.rego').replace(/[.\\/]/g, (c) => '\\' + c)}:5:1: rego_parse_error`), 'file:line:col of the error')
  const m = await b.app.metrics.render()
  t.equal(sample(m, 'bouncer_shadow_load_failures_total'), 1)
  t.equal(sample(m, 'bouncer_shadow_skipped_total', '{reason="no_shadow_policy"}'), 2)
  t.equal(sample(m, 'bouncer_shadow_decisions_total', '{agreement="error"}'), 0)
  const ready = await request(`${b.adminUrl}/readyz`)
  t.equal(ready.statusCode, 200, 'still ready: the shadow is not critical')
  t.match(JSON.parse(await ready.body.text()), { components: { shadow_policy: { status: 'WARN', message: /policy\.shadow:/ } } })
})

t.test('shadow_sample 0: no shadow evaluations, every decision counted as sampled out', async (t) => {
  const dirs = policyDirs(t, SHADOW)
  const up = await startUpstream()
  const events: Array<{ shadow?: unknown }> = []
  const b = await startBouncer({
    upstream: up.url, policyPath: dirs.active,
    config: { policy: { shadow: dirs.shadow, shadow_sample: 0 } },
    deps: { decisionLog: { record: (e) => { events.push(e) } } },
  })
  t.teardown(async () => { await b.close(); await up.close() })
  for (let i = 0; i < 5; i++) t.equal((await get(b, '/tighten')).status, 200)
  b.app.shadow!.drain()
  const m = await b.app.metrics.render()
  t.equal(sample(m, 'bouncer_shadow_skipped_total', '{reason="sampled_out"}'), 5)
  t.notOk(/bouncer_shadow_decisions_total\{[^}]*\} [1-9]/.test(m), 'no shadow decision at all')
  t.equal(sample(m, 'bouncer_shadow_eval_duration_seconds_count'), 0, 'nothing evaluated')
  t.equal(events.length, 5)
  t.notOk(events.some((e) => e.shadow !== undefined), 'no shadow event')
})

t.test('sampling and the per-second cap, on an injected clock and random source', async (t) => {
  const dirs = policyDirs(t, SHADOW)
  const up = await startUpstream()
  let now = 1_000_000
  const draws = [0.1, 0.9, 0.2, 0.3, 0.4, 0.6, 0.05, 0.1]
  let i = 0
  const b = await startBouncer({
    upstream: up.url, policyPath: dirs.active,
    config: { policy: { shadow: dirs.shadow, shadow_sample: 0.5, shadow_max_per_second: 2 } },
    deps: { shadow: { now: () => now, random: () => draws[i++ % draws.length]! } },
  })
  t.teardown(async () => { await b.close(); await up.close() })
  // Second 1000: draws 0.1 (in), 0.9 (out), 0.2 (in), 0.3 (in: over the cap), 0.4 (in: over the cap)
  for (let k = 0; k < 5; k++) await get(b, '/tighten')
  b.app.shadow!.drain()
  let m = await b.app.metrics.render()
  t.equal(sample(m, 'bouncer_shadow_decisions_total', '{agreement="allow_to_deny"}'), 2, 'two evaluated')
  t.equal(sample(m, 'bouncer_shadow_skipped_total', '{reason="sampled_out"}'), 1)
  t.equal(sample(m, 'bouncer_shadow_skipped_total', '{reason="rate_limited"}'), 2)
  // 999 ms later: the same second, still capped (draw 0.6: sampled out).
  now += 999
  await get(b, '/tighten')
  await get(b, '/tighten') // draw 0.05: in, but capped
  // The next second: the cap starts again (draw 0.1: in).
  now += 1
  await get(b, '/tighten')
  b.app.shadow!.drain()
  m = await b.app.metrics.render()
  t.equal(sample(m, 'bouncer_shadow_decisions_total', '{agreement="allow_to_deny"}'), 3)
  t.equal(sample(m, 'bouncer_shadow_skipped_total', '{reason="sampled_out"}'), 2)
  t.equal(sample(m, 'bouncer_shadow_skipped_total', '{reason="rate_limited"}'), 3)
  t.equal(up.requests.length, 8, 'every request was served')
})

t.test('bundles.shadow_resource: the shadow from the bundle service, polled; a revision that does not load keeps the previous one', async (t) => {
  const build = async (source: string, rev: string, entrypoint = 'bouncer/decision'): Promise<Buffer> => {
    const dir = tempDir(t)
    writeFileSync(join(dir, 'p.rego'), source)
    return (await compileBundle({ paths: [dir], entrypoints: [entrypoint], revision: rev })).tarGz
  }
  const served: Record<string, { etag: string; body: Buffer }> = {
    '/bundles/active.tar.gz': { etag: '"a1"', body: await build(ACTIVE, 'active-1') },
    '/bundles/shadow.tar.gz': { etag: '"s1"', body: await build(SHADOW, 'shadow-1') },
  }
  const mem = memoryLogger()
  const service = await startBundleService(served)
  const shadowRequests = (): number => service.requests.filter((r) => r.url === '/bundles/shadow.tar.gz').length
  const up = await startUpstream()
  const events: Array<{ shadow?: { revisions: { active: string; shadow: string }; agreement: string } }> = []
  const b = await startBouncer({
    upstream: up.url,
    config: {
      bundles: {
        service_url: service.url,
        resource: 'bundles/active.tar.gz',
        shadow_resource: 'bundles/shadow.tar.gz',
        polling: { min_delay_seconds: 0.05, max_delay_seconds: 0.1 },
        persist_dir: tempDir(t),
      },
    },
    deps: { logger: mem.logger, decisionLog: { record: (e) => { events.push(e as typeof events[number]) } } },
  })
  t.teardown(async () => { await b.close(); await up.close(); await service.close() })
  t.equal(b.app.holder.current?.revision, 'active-1')
  // start() does not wait for the shadow bundle's first download (test/app/shadow-start.test.ts).
  await b.app.shadow!.started
  t.equal(b.app.shadow!.holder.current?.revision, 'shadow-1', 'the shadow bundle is active as the shadow after its first download')

  t.equal((await get(b, '/tighten')).status, 200, 'the active policy decides')
  b.app.shadow!.drain()
  t.same(events.filter((e) => e.shadow).map((e) => [e.shadow!.agreement, e.shadow!.revisions]), [['allow_to_deny', { active: 'active-1', shadow: 'shadow-1' }]])
  let m = await b.app.metrics.render()
  t.match(m, /bouncer_bundle_revision_info\{name="bouncer",revision="active-1"\} 1/)
  t.match(m, /bouncer_bundle_revision_info\{name="shadow",revision="shadow-1"\} 1/, 'each bundle keeps its own revision series')

  // A new shadow revision built for another entrypoint: it does not load; the previous stays.
  served['/bundles/shadow.tar.gz'] = { etag: '"s2"', body: await build(SHADOW.replace('package bouncer', 'package other'), 'shadow-2', 'other/decision') }
  const seen = shadowRequests()
  const failedToLoad = () => mem.lines().filter((l) => l.msg === 'shadow policy failed to load; the previous shadow stays')
  await waitFor(() => shadowRequests() > seen && failedToLoad().length > 0, 5000, 'the failed shadow activation')
  t.match(failedToLoad()[0], { code: 'BOUNCER_ERR_POLICY_ENTRYPOINT', error: /^bundles\.shadow_resource: .*bouncer\/decision/, kept: 'shadow-1' })
  t.equal(b.app.shadow!.holder.current?.revision, 'shadow-1', 'the previous shadow stays')
  t.equal((await get(b, '/tighten')).status, 200)
  b.app.shadow!.drain()
  t.equal(events.filter((e) => e.shadow).length, 2, 'and is still compared')
  m = await b.app.metrics.render()
  t.match(m, /bouncer_bundle_failures_total\{name="shadow",reason="activation"\} [1-9]/)
  t.ok(sample(m, 'bouncer_shadow_load_failures_total') >= 1)
  t.equal((await request(`${b.adminUrl}/readyz`)).statusCode, 200, 'still ready')
})

t.test('one shadow: policy.shadow and bundles.shadow_resource together are a config error naming the setting', async (t) => {
  const up = await startUpstream()
  t.teardown(() => up.close())
  await t.rejects(startBouncer({
    upstream: up.url, rego: { 'p.rego': ACTIVE },
    config: { policy: { shadow: '/nonexistent' }, bundles: { service_url: 'http://127.0.0.1:9', shadow_resource: 'bundles/shadow.tar.gz' } },
  }), { message: /bundles\.shadow_resource: not together with policy\.shadow/ })
})

t.test('policy.shadow_eval_step_budget applies to the shadow alone', async (t) => {
  const dirs = policyDirs(t, SHADOW)
  const up = await startUpstream()
  const events: Array<{ shadow?: { agreement: string; error?: { code: string } } }> = []
  const b = await startBouncer({
    upstream: up.url, policyPath: dirs.active,
    config: { policy: { shadow: dirs.shadow, shadow_eval_step_budget: 1 } },
    deps: { decisionLog: { record: (e) => { events.push(e as typeof events[number]) } } },
  })
  t.teardown(async () => { await b.close(); await up.close() })
  t.equal((await get(b, '/same')).status, 200, 'the active policy runs on its own budget')
  t.equal((await get(b, '/loosen')).status, 403)
  b.app.shadow!.drain()
  t.same(events.filter((e) => e.shadow).map((e) => [e.shadow!.agreement, e.shadow!.error?.code]), [
    ['error', 'BOUNCER_ERR_POLICY_EVAL_TIMEOUT'], ['error', 'BOUNCER_ERR_POLICY_EVAL_TIMEOUT'],
  ], 'every shadow evaluation stopped at one step')
})

t.test('policy.print: the shadow\'s print lines carry the id of the request it evaluates', async (t) => {
  const dirs = policyDirs(t, 'package bouncer\n\ndecision := {"allow": true} if {\n\tprint("shadow saw", input.parsed_path[0])\n}\n')
  const up = await startUpstream()
  const mem = memoryLogger('debug')
  const b = await startBouncer({ upstream: up.url, policyPath: dirs.active, config: { policy: { shadow: dirs.shadow, print: true } }, deps: { logger: mem.logger } })
  t.teardown(async () => { await b.close(); await up.close() })
  const paths = ['same', 'tighten', 'masked', 'who', 'loop', 'throw']
  // Pipelined on one connection, in one write, each with its own request id: the active
  // decisions of several requests are made before their shadows run.
  const ids = paths.map((p, i) => [`rid-${i}`, p] as const)
  const raw = await rawRequest(b.port, ids.map(([id, p], i) => `GET /${p} HTTP/1.1\r\nhost: x\r\nx-request-id: ${id}\r\n${i === ids.length - 1 ? 'connection: close\r\n' : ''}\r\n`).join(''))
  t.equal(raw.text.match(/HTTP\/1\.1 200/g)?.length, paths.length, 'every request answered')
  b.app.shadow!.drain()
  const lines = mem.lines().filter((l) => l.msg === 'policy print' && String(l.print).includes('shadow saw'))
  t.equal(lines.length, paths.length, 'one print line per shadow evaluation')
  t.same(new Map(lines.map((l) => [String(l.id), String(l.print).replace(/^.*shadow saw /, '')])), new Map(ids), 'each with its own request\'s id')
})

t.test('a shadow builtin error quoting a credential of the input is scrubbed before it is logged or recorded, as the active path\'s', async (t) => {
  const dirs = policyDirs(t, 'package bouncer\n\ndecision := {"allow": to_number(input.attributes.request.http.headers.authorization) > 0}\n')
  const cp = await startControlPlane()
  t.teardown(() => cp.close())
  const up = await startUpstream()
  const logs = memoryLogger('debug')
  const b = await startBouncer({
    upstream: up.url,
    policyPath: dirs.active,
    deps: { logger: logs.logger },
    config: {
      policy: { shadow: dirs.shadow, strict_builtin_errors: true },
      decision_logs: { enabled: true, service_url: cp.url, spool_dir: join(tempDir(t), 'spool'), min_delay_seconds: 0.01, max_delay_seconds: 0.05 },
    },
  })
  t.teardown(async () => { await b.close(); await up.close() })
  const token = 'eyJhbGciOiJIUzI1NiJ9.SHADOW-TOKEN-PART.c2lnbmF0dXJl'
  t.equal((await get(b, '/same', { authorization: `Bearer ${token}` })).status, 200, 'the active policy decides')
  b.app.shadow!.drain()
  await cp.waitForEvents(2)
  const shadowEvent = cp.events().find((e) => e.shadow !== undefined)!
  t.match(shadowEvent.shadow, { agreement: 'error', error: { code: 'BOUNCER_ERR_POLICY_EVAL', message: /to_number/ } }, 'the shadow\'s error is recorded')
  t.match(shadowEvent.shadow.error.message, /\[erased\]/)
  t.notOk(JSON.stringify(cp.events()).includes('SHADOW-TOKEN-PART'), 'no part of the token in the decision log')
  t.notOk(logs.text().includes('SHADOW-TOKEN-PART'), 'nor in the process log')
  t.match(logs.text(), /shadow policy error/, 'the debug line was written')
})
