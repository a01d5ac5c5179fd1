// Inputs on which the hand-written JS policy (bench/policy-js.ts) must decide exactly as the
// compiled policies/policy.rego: the request of the HTTP scenarios, the other branches of the
// policy, and inputs whose shapes exercise Rego's rules for undefined values and types.
import { deepFreeze } from '../../src/deep-freeze.js'

function httpInput (method: string, path: string, headers: Record<string, string>, extra: Record<string, unknown>): Record<string, unknown> {
  return {
    attributes: {
      request: { http: { id: 'req-1', method, path, host: 'api.internal', scheme: 'http', protocol: 'HTTP/1.1', headers: { host: 'api.internal', accept: 'application/json', 'user-agent': 'bench/1.0', ...headers } } },
      source: { address: '127.0.0.1:50000' },
      destination: { address: '127.0.0.1:8080' },
    },
    parsed_path: path.split('?')[0]!.split('/').filter(Boolean),
    parsed_query: {},
    ...extra,
  }
}
// The identity as the proxy's authenticator hands it over (src/auth): claims in sorted key
// order, deep-frozen, one object per token.
const who = (sub: string, tenant: unknown, roles: unknown, more: Record<string, unknown> = {}) => {
  const claims: Record<string, unknown> = { sub, tenant, roles, iss: 'bench', exp: 1893456000, ...more }
  return { identity: deepFreeze(Object.fromEntries(Object.keys(claims).sort().map((k) => [k, claims[k]]))) }
}
const acme = { 'x-tenant': 'acme', authorization: 'Bearer x.y.z' }

/** The request of the HTTP scenarios (admin reads an order): the timed case. */
export const TYPICAL = httpInput('GET', '/v1/orders/42', acme, who('alice', 'acme', ['admin']))

export const CASES: Array<[string, unknown]> = [
  ['admin reads an order (typical)', TYPICAL],
  ['support lists customers (mask)', httpInput('GET', '/v1/customers', acme, who('bob', 'acme', ['support']))],
  ['viewer posts an order (403)', httpInput('POST', '/v1/orders', acme, who('vera', 'acme', ['viewer']))],
  ['public product, no token', httpInput('GET', '/v1/products/7', {}, { identity_error: 'no token' })],
  ['public health HEAD', httpInput('HEAD', '/health', {}, {})],
  ['anonymous, expired token', httpInput('GET', '/v1/orders', {}, { identity_error: 'token expired' })],
  ['anonymous, no identity_error', httpInput('GET', '/v1/orders', {}, {})],
  ['anonymous, non-string identity_error', httpInput('GET', '/v1/orders', {}, { identity_error: 5 })],
  ['tenant mismatch', httpInput('GET', '/v1/orders/1', { 'x-tenant': 'globex' }, who('alice', 'acme', ['admin']))],
  ['no x-tenant header', httpInput('GET', '/v1/orders/1', {}, who('alice', 'acme', ['admin']))],
  ['cross-tenant role + support', httpInput('GET', '/v1/customers/9', { 'x-tenant': 'globex' }, who('root', 'ops', ['platform-admin', 'support']))],
  ['cross-tenant role only', httpInput('GET', '/v1/customers/9', { 'x-tenant': 'globex' }, who('root', 'ops', ['platform-admin']))],
  ['two granting roles, sorted', httpInput('GET', '/v1/customers/3', acme, who('sam', 'acme', ['support', 'admin', 'support']))],
  ['path too long', httpInput('GET', '/v1/orders/42/items', acme, who('alice', 'acme', ['admin']))],
  ['wrong method', httpInput('DELETE', '/v1/customers', acme, who('alice', 'acme', ['admin']))],
  ['identity without sub', httpInput('GET', '/v1/orders/42', acme, { identity: { tenant: 'acme', roles: ['admin'] } })],
  ['roles as an object', httpInput('GET', '/v1/orders/42', acme, who('alice', 'acme', { a: 'viewer' }))],
  ['roles as a string', httpInput('GET', '/v1/orders/42', acme, who('alice', 'acme', 'admin'))],
  ['numeric role', httpInput('GET', '/v1/orders/42', acme, who('alice', 'acme', [1, 'viewer']))],
  ['identity is an array', httpInput('GET', '/v1/orders/42', acme, { identity: ['alice'] })],
  ['numeric tenant on both sides', httpInput('GET', '/v1/orders/42', { 'x-tenant': 'acme' }, who('alice', 7, ['admin']))],
  ['unknown role', httpInput('GET', '/v1/orders/42', acme, who('eve', 'acme', ['intern']))],
  ['parsed_path as a string', { ...httpInput('GET', '/x', acme, who('alice', 'acme', ['viewer'])), parsed_path: 'ab' }],
  ['parsed_path as an object', { ...httpInput('GET', '/x', acme, who('alice', 'acme', ['viewer'])), parsed_path: { a: 'v1', b: 'orders' } }],
  ['no method', { ...httpInput('GET', '/v1/products', {}, {}), attributes: { request: { http: { path: '/v1/products', headers: {} } } } }],
  ['empty input', {}],
]

