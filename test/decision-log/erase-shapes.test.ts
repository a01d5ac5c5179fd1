// Credentials under names no erase list holds (a JWT in x-user-jwt, a bearer token copied into
// x-upstream-cred): the decision log erases a request header by its value's shape too (a JWT,
// an auth scheme with a token, an AWS key id, a private key), the same reading `bouncer
// evidence` scans logs with, so a log written with the defaults passes the scan. Before, such a
// header was logged as it came, and a fail-closed message quoting it reached the process log.
// Event builder as the logger builds it (test/proxy/error-secrets.test.ts has a real bouncer
// and spool with such a header quoted in a fail-closed message).
import t from 'tap'
import { compileEventBuilder, resolveDecisionLogConfig } from '../../src/decision-log/index.js'
import { scanEvent } from '../../src/evidence/scan.js'

const JWT = 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlLW1hZGUtdXAtZm9yLXRlc3Q' // security-gate: allow-secret
const BEARER = 'Bearer 4f9c2a1b8e7d6c5b4a39ffee' // security-gate: allow-secret
const AWS = 'AKIAIOSFODNN7EXAMPLE' // security-gate: allow-secret

const headers = (): Record<string, string> => ({
  'x-user-jwt': JWT,
  'x-upstream-cred': BEARER,
  'x-aws-key': `id=${AWS}`,
  'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko)',
  accept: 'application/json',
  'x-trace-note': 'eyJ is how base64 of {" begins',
})

t.test('request headers holding a credential by shape are erased, whatever their name', async (t) => {
  for (const eraseHeaders of [resolveDecisionLogConfig({ spool_dir: '/tmp/x', sinks: ['console'] }).erase_headers, []]) {
    const build = compileEventBuilder({ labels: {}, eraseHeaders })
    const { event } = build({ path: 'p', input: { attributes: { request: { http: { method: 'GET', path: '/x', headers: headers() } } } }, result: { allow: true } })
    const text = JSON.stringify(event)
    t.notMatch(text, /c2lnbmF0dXJl|4f9c2a1b8e7d|AKIAIOSFODNN/, `no credential in the event (erase list of ${eraseHeaders.length} names)`)
    t.same(Object.keys((event.input as any).attributes.request.http.headers).sort(), ['accept', 'user-agent', 'x-trace-note'], 'other headers kept')
    t.same([...(event.erased ?? [])].sort(), [
      '/input/attributes/request/http/headers/x-aws-key',
      '/input/attributes/request/http/headers/x-upstream-cred',
      '/input/attributes/request/http/headers/x-user-jwt',
    ], 'each listed as erased')
    t.same(scanEvent(event as unknown as Record<string, unknown>), [], '`bouncer evidence` finds nothing left')
  }

  // ext_authz's header_map form (a list of key/value entries).
  const build = compileEventBuilder({ labels: {}, eraseHeaders: [] })
  const { event } = build({
    path: 'p',
    input: { attributes: { request: { http: { path: '/x', headerMap: { headers: [{ key: 'x-user-jwt', value: JWT }, { key: 'accept', value: '*/*' }] } } } } },
  })
  t.notMatch(JSON.stringify(event), /c2lnbmF0dXJl/, 'header_map entries too')
  t.same((event.input as any).attributes.request.http.headerMap.headers, [{ key: 'accept', value: '*/*' }])

  // Envoy with encode_raw_headers sends the value as base64 bytes (rawValue): read as the scan reads it.
  const raw = build({
    path: 'p',
    input: { attributes: { request: { http: { path: '/x', headerMap: { headers: [{ key: 'x-user-jwt', rawValue: Buffer.from(JWT).toString('base64') }, { key: 'accept', rawValue: Buffer.from('*/*').toString('base64') }] } } } } },
  }).event
  t.same((raw.input as any).attributes.request.http.headerMap.headers, [{ key: 'accept', rawValue: Buffer.from('*/*').toString('base64') }], 'a rawValue entry too')
  t.same(scanEvent(raw as unknown as Record<string, unknown>), [])

  // Headers a decision adds: a token the policy got from elsewhere (data, a service secret).
  const res = build({ path: 'p', input: { attributes: { request: { http: { path: '/x', headers: {} } } } }, result: { allow: true, headers: { 'x-svc-token': JWT, 'x-tier': 'gold' }, response_headers: { 'www-authenticate': 'Bearer realm="api", error="invalid_token"' } } }).event
  t.same((res.result as any).headers, { 'x-tier': 'gold' }, 'a decision\'s headers too')
  t.same((res.result as any).response_headers, { 'www-authenticate': 'Bearer realm="api", error="invalid_token"' }, 'a challenge names a scheme, not a credential: kept')
  t.same(scanEvent(res as unknown as Record<string, unknown>), [])
})
