import { buildInput } from '../src/proxy/input.js'
import { compileEventBuilder } from '../src/decision-log/event.js'
import { sealEvent } from '../src/decision-log/chain.js'
const headers = { host: '127.0.0.1:8080', authorization: 'Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ0ZW5hbnQiOiJhY21lIiwicm9sZXMiOlsiYWRtaW4iXSwic3ViIjoiYWxpY2UiLCJpYXQiOjE3MDAwMDAwMDAsImV4cCI6MTkwMDAwMDAwMH0.abcdefghijklmnopqrstuvwxyz012345678', 'x-tenant': 'acme', accept: 'application/json', 'x-forwarded-for': '127.0.0.1', 'x-forwarded-proto': 'http', 'x-forwarded-host': '127.0.0.1:8080', 'x-request-id': '6b1c0f7e-0a3e-4a43-9d7a-3f1f2b0f6a11' }
const mk = (sorted: boolean) => {
  const h = { ...headers }
  const inp = buildInput({ id: '6b1c0f7e-0a3e-4a43-9d7a-3f1f2b0f6a11', method: 'GET', path: '/v1/orders/42', query: '', host: '127.0.0.1:8080', scheme: 'http', protocol: 'HTTP/1.1', headers: h, sourceAddress: '127.0.0.1:50000', destinationAddress: '127.0.0.1:8080' }, { identity: Object.freeze({ tenant: 'acme', roles: ['admin'], sub: 'alice', iat: 1700000000, exp: 1900000000 }) })
  if (!sorted) return inp
  const canon = (v: any): any => v === h ? v : Array.isArray(v) ? v.map(canon) : v && typeof v === 'object' ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, canon(v[k])])) : v
  return canon(inp)
}
const build = compileEventBuilder({ labels: { id: 'x', version: '0.1.0' }, eraseHeaders: ['authorization', 'cookie', 'proxy-authorization'] })
const result = Object.freeze({ allow: true, reason: 'granted to role(s) admin', headers: Object.freeze({ 'x-bouncer-subject': 'alice', 'x-bouncer-tenant': 'acme' }), mask: Object.freeze([]) })
for (const sorted of [false, true, false, true]) {
  const inputs = Array.from({ length: 1000 }, () => mk(sorted))
  let seq = 1; let h = '0'.repeat(64)
  const N = 100000
  const t0 = process.hrtime.bigint()
  for (let i = 0; i < N; i++) {
    const e = build({ decision_id: 'd', path: 'bouncer/decision', input: inputs[i % 1000], result, requested_by: '127.0.0.1:5', eval_ns: 1000, total_ns: 2000 }, '2026-12-04T00:00:00.000000000Z')
    const s = sealEvent(e.event as any, seq++, h); h = s.hash
  }
  console.log(sorted ? 'sorted  ' : 'unsorted', (Number(process.hrtime.bigint() - t0) / N / 1000).toFixed(2), 'µs/event')
}
