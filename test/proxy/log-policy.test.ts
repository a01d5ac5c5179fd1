// A bundle's decision-log policies (OPA's data.system.log.mask / drop) apply to the proxy's
// decision events: what the policy authors masked for OPA stays masked here.
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { request } from 'undici'
import { verifyLog } from '../../src/decision-log/index.js'
import { startBouncer, startUpstream } from '../helpers/index.js'
import { tempDir } from '../decision-log/fixtures/control-plane.js'

const DECISION = 'package bouncer\n\ndecision := {"allow": true, "headers": {"x-seen": "1"}}\n'
const LOG = `package system.log

drop if input.input.parsed_path[0] == "healthz"

mask contains "/input/attributes/request/http/headers/x-account-pin"
mask contains {"op": "upsert", "path": "/input/attributes/request/http/headers/x-user-email", "value": "<email>"}
`

function events (spool: string): Array<Record<string, unknown>> {
  let text = ''
  for (const n of readdirSync(spool)) if (n.startsWith('seg-')) text += readFileSync(join(spool, n), 'utf8')
  return text.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Record<string, unknown>)
}

const headersOf = (e: Record<string, unknown>): Record<string, unknown> =>
  ((e.input as { attributes: { request: { http: { headers: Record<string, unknown> } } } }).attributes.request.http.headers)

t.test('mask and drop policies in the bundle shape the logged events', async (t) => {
  const dir = tempDir(t)
  const spool = join(dir, 'spool')
  const up = await startUpstream()
  const b = await startBouncer({
    upstream: up.url, rego: { 'p.rego': DECISION, 'log.rego': LOG },
    config: { decision_logs: { enabled: true, sinks: ['file'], file_path: join(dir, 'export.jsonl'), spool_dir: spool } },
  })
  t.teardown(async () => { await up.close() })
  for (const path of ['/orders/1', '/healthz', '/orders/2']) {
    const r = await request(`${b.url}${path}`, { headers: { 'x-account-pin': 'pin-4711', 'x-user-email': 'a@example.com', 'x-other': 'kept' } })
    t.equal(r.statusCode, 200, `${path} is served (logging never changes the decision)`)
    await r.body.dump()
  }
  t.equal(up.requests.length, 3)
  t.equal(up.requests[0]!.headers['x-account-pin'], 'pin-4711', 'the upstream gets the request as it was: masking is for the log only')
  const status = b.app.health.readiness().components.decision_logs as unknown as { policy_drops: number; recorded: number }
  await b.close()

  const logged = events(spool)
  t.same(logged.map((e) => e.path === 'bouncer/decision' && (e.input as { attributes: { request: { http: { path: string } } } }).attributes.request.http.path), ['/orders/1', '/orders/2'], 'the /healthz decision was dropped')
  t.equal(status.policy_drops, 1)
  t.equal(status.recorded, 2)
  for (const e of logged) {
    const h = headersOf(e)
    t.notOk('x-account-pin' in h, 'removed by the mask policy')
    t.equal(h['x-user-email'], '<email>', 'replaced by the mask policy')
    t.equal(h['x-other'], 'kept')
    t.same(e.erased, ['/input/attributes/request/http/headers/x-account-pin'], 'listed as the policy removed it (not a default-erased header)')
    t.same(e.masked, ['/input/attributes/request/http/headers/x-user-email'])
  }
  t.notOk(JSON.stringify(logged).includes('pin-4711'), 'the key is nowhere in the log')
  t.ok((await verifyLog(spool)).ok, 'the chain (without the dropped event) verifies')
})

t.test('a mask policy that fails keeps the decision in the log without its input and result', async (t) => {
  const dir = tempDir(t)
  const spool = join(dir, 'spool')
  const up = await startUpstream()
  const b = await startBouncer({
    upstream: up.url, rego: { 'p.rego': DECISION, 'log.rego': 'package system.log\n\nmask contains "/labels/id"\n' },
    config: { decision_logs: { enabled: true, sinks: ['file'], file_path: join(dir, 'export.jsonl'), spool_dir: spool } },
  })
  t.teardown(async () => { await up.close() })
  const r = await request(`${b.url}/orders/1`, { headers: { 'x-account-pin': 'pin-4711' } })
  t.equal(r.statusCode, 200)
  await r.body.dump()
  const status = b.app.health.readiness().components.decision_logs as unknown as { mask_errors: number }
  await b.close()
  const [e] = events(spool)
  t.ok(e, 'the decision is logged')
  t.notOk('input' in e! || 'result' in e!, 'without input and result')
  t.same(e!.erased, ['/input', '/result'])
  t.equal(status.mask_errors, 1)
})
