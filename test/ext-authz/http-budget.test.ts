// The ext_authz HTTP listener's request bodies have a budget of policy.parsed_body.max_buffered_bytes
// (review helper, 2026-12-07): 150 connections each holding a 4 MiB body minus one byte grew the
// process by 516 MB. A body that would go past the budget is denied with 403 — never a 5xx, which
// Envoy turns into an allow under failure_mode_allow — and the budget is given back when its
// request ends.
import { connect } from 'node:net'
import t from 'tap'
import { request } from 'undici'
import { startExtAuthz } from './fixtures/client.js'

const POLICY = 'package envoy.authz\n\nresult := {"allowed": true}\n'

t.test('bodies held at once are bounded; over the budget is a denial, and the budget comes back', async (t) => {
  const b = await startExtAuthz({ rego: POLICY, entrypoint: 'envoy/authz/result', config: { policy: { parsed_body: { max_buffered_bytes: 100_000 } } } })
  t.teardown(() => b.close())
  // One connection holds 90,000 bytes of a 100,000-byte body, sending no more.
  const holder = connect(b.httpPort, '127.0.0.1')
  holder.on('error', () => {})
  await new Promise<void>((resolve) => holder.once('connect', () => resolve()))
  holder.write('POST /x HTTP/1.1\r\nHost: a\r\nContent-Type: text/plain\r\nContent-Length: 100000\r\n\r\n' + 'a'.repeat(90_000))
  await new Promise((resolve) => setTimeout(resolve, 300))
  const over = await request(`http://127.0.0.1:${b.httpPort}/y`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'b'.repeat(20_000) })
  t.equal(over.statusCode, 403, 'a body past the budget is denied, not a 5xx')
  t.match(await over.body.text(), /busy/)
  const small = await request(`http://127.0.0.1:${b.httpPort}/z`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'c'.repeat(5_000) })
  t.equal(small.statusCode, 200, 'one that fits is decided')
  await small.body.dump()
  // The holder finishes: its bytes are given back.
  holder.write('a'.repeat(10_000))
  await new Promise<void>((resolve) => { holder.on('data', () => resolve()) })
  holder.destroy()
  await new Promise((resolve) => setTimeout(resolve, 100))
  const after = await request(`http://127.0.0.1:${b.httpPort}/w`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'd'.repeat(90_000) })
  t.equal(after.statusCode, 200, 'the budget came back when the held request ended')
  await after.body.dump()
})
