// createAuthenticator with a static HS256 key, from the validated config's defaults.
import t from 'tap'
import { SignJWT } from 'jose'
import { createAuthenticator } from '../../src/auth/index.js'
import { createConfig } from '../../src/index.js'

const SECRET = 'a-test-secret-of-at-least-thirty-two-bytes!'

t.test('identity: the verified claims, keys in canonical order, frozen, the same object on a cached token', async (t) => {
  const cfg = createConfig({ upstream: { url: 'http://127.0.0.1:1' }, auth: { jwt: { enabled: true, keys: [{ alg: 'HS256', secret: SECRET }] } } })
  const auth = (await createAuthenticator(cfg.auth.jwt))!
  // Claims in an order that is not sorted, one of them "__proto__" (a JSON key like any other).
  const claims = JSON.parse('{"tenant":"acme","roles":["admin"],"__proto__":{"admin":true},"zeta":1,"alpha":{"b":1,"a":2}}') as Record<string, unknown>
  const token = await new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256' }).setSubject('alice').setExpirationTime('5m').sign(new TextEncoder().encode(SECRET))
  const r = await auth.authenticate({ authorization: `Bearer ${token}` })
  const id = r.identity!
  t.ok(id, r.error ?? 'verified')
  t.same(Object.keys(id), [...Object.keys(id)].sort(), 'keys in canonical order')
  t.same(Object.keys(id), ['__proto__', 'alpha', 'exp', 'roles', 'sub', 'tenant', 'zeta'])
  t.equal(Object.getPrototypeOf(id), Object.prototype, 'a "__proto__" claim does not become the prototype')
  t.same(Object.getOwnPropertyDescriptor(id, '__proto__')?.value, { admin: true }, 'it stays an own claim')
  t.equal((id as { admin?: unknown }).admin, undefined)
  t.equal(id.sub, 'alice')
  t.ok(Object.isFrozen(id) && Object.isFrozen(id.roles) && Object.isFrozen(id.alpha), 'frozen all the way down (shared by every request with this token)')
  const again = await auth.authenticate({ authorization: `Bearer ${token}` })
  t.equal(again.identity, id, 'a cached token gives the same identity object')
})
