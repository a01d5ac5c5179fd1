// A policy whose cost grows with the request (nested iteration over query values) is stopped
// by the evaluation step budget: the request fails closed with BOUNCER_ERR_POLICY_EVAL_TIMEOUT,
// is logged and counted as an eval_timeout, and the sidecar goes on serving.
import t from 'tap'
import { request } from 'undici'
import { startBouncer, startUpstream, memoryLogger } from '../helpers/index.js'

const HOSTILE = `package bouncer

decision := {"allow": n >= 0} if {
	xs := object.get(input.parsed_query, "x", [])
	n := count([1 | some a in xs; some b in xs; some c in xs])
}
`
const query = (n: number) => Array.from({ length: n }, (_, i) => `x=${i}`).join('&')

for (const [name, budget, n] of [['default budget, 1000 values', undefined, 1000], ['configured budget, 100 values', 100_000, 100]] as const) {
  t.test(`fails closed and keeps serving (${name})`, async t => {
    const up = await startUpstream()
    const mem = memoryLogger()
    const b = await startBouncer({
      upstream: up.url,
      rego: { 'p.rego': HOSTILE },
      config: budget === undefined ? {} : { policy: { eval_step_budget: budget } },
      deps: { logger: mem.logger },
    })
    t.teardown(async () => { await b.close(); await up.close() })
    const t0 = performance.now()
    const r = await request(`${b.url}/items?${query(n)}`)
    const ms = performance.now() - t0
    t.equal(r.statusCode, 403, 'denied (policy.error_status)')
    await r.body.dump()
    t.equal(up.requests.length, 0, 'nothing reached the upstream')
    t.comment(`stopped in ${ms.toFixed(0)} ms`)
    const line = mem.lines().find((l) => l.msg === 'fail closed')
    t.match(line, { reason: 'eval_timeout', code: 'BOUNCER_ERR_POLICY_EVAL_TIMEOUT', error: /evaluation stopped after \d+ steps \(policy\.eval_step_budget\)/ })
    t.match(await (await request(`${b.adminUrl}/metrics`)).body.text(), /bouncer_fail_closed_total\{reason="eval_timeout"\} 1/)

    const ok = await request(`${b.url}/items?x=1&x=2`)
    t.equal(ok.statusCode, 200, 'the next request is evaluated normally')
    await ok.body.dump()
    const plain = await request(`${b.url}/items`)
    t.equal(plain.statusCode, 200)
    await plain.body.dump()
    t.equal(up.requests.length, 2)
  })
}
