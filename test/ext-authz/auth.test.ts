// auth.jwt on the ext_authz listeners: the input gets identity / identity_error as on the proxy
// port, so one bundle judges the same identity behind the proxy port or behind Envoy. Before,
// both were left out there, and a policy that denies on identity_error allowed every request.
import t from 'tap'
import { SignJWT } from 'jose'
import { authzClient, checkRequest, startExtAuthz } from './fixtures/client.js'

const SECRET = 'ext-authz-test-secret-0123456789abcdef'

// The "deny set" style: allowed unless a deny rule fires.
const POLICY = `package envoy.authz

deny contains sprintf("unauthenticated: %s", [input.identity_error]) if input.identity_error

deny contains "not an admin" if input.identity.role != "admin"

default allow := false

allow if count(deny) == 0
`

const token = (claims: Record<string, unknown>): Promise<string> =>
  new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setExpirationTime('5m').sign(new TextEncoder().encode(SECRET))

t.test('ext_authz (gRPC and HTTP): the input carries identity / identity_error from auth.jwt', async (t) => {
  const b = await startExtAuthz({
    rego: POLICY,
    entrypoint: 'envoy/authz/allow',
    config: { auth: { jwt: { enabled: true, keys: [{ alg: 'HS256', secret: SECRET }] } }, ext_authz: { http: { path_prefix: '/authz' } } },
  })
  t.teardown(() => b.close())
  const client = authzClient(b.grpcPort)
  t.teardown(() => client.close())
  const admin = await token({ sub: 'alice', role: 'admin' })
  const user = await token({ sub: 'bob', role: 'user' })
  const forged = admin.slice(0, -4) + (admin.endsWith('AAAA') ? 'BBBB' : 'AAAA')

  const cases: Array<[string, Record<string, string>, boolean]> = [
    ['no token', {}, false],
    ['garbage', { authorization: 'Bearer garbage' }, false],
    ['a forged signature', { authorization: `Bearer ${forged}` }, false],
    ['a verified non-admin', { authorization: `Bearer ${user}` }, false],
    ['a verified admin', { authorization: `Bearer ${admin}` }, true],
  ]
  for (const [what, headers, allowed] of cases) {
    const g = await client.check(checkRequest({ headers }))
    t.equal(g.status?.code ?? 0, allowed ? 0 : 7, `gRPC, ${what}: ${allowed ? 'allowed' : 'denied'}`)
    const h = await fetch(`http://127.0.0.1:${b.httpPort}/authz/people`, { headers })
    t.equal(h.status, allowed ? 200 : 403, `HTTP, ${what}: ${allowed ? 'allowed' : 'denied'}`)
    await h.arrayBuffer()
  }
})
