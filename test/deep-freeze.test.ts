import t from 'tap'
import { deepFreeze, isDeepFrozen } from '../src/deep-freeze.js'
import { canonicalJson } from '../src/cache/canonical-json.js'

t.test('deepFreeze: everything reachable is frozen, also under an object Object.freeze froze alone; cycles end', async (t) => {
  const child = { n: 1 }
  const shallow = Object.freeze({ child, list: [{ x: 1 }] })
  const v = deepFreeze({ shallow })
  t.ok(Object.isFrozen(child) && Object.isFrozen(shallow.list) && Object.isFrozen(shallow.list[0]), 'children of a shallow-frozen object are frozen too')
  t.ok(isDeepFrozen(v) && isDeepFrozen(shallow) && isDeepFrozen(child))
  t.notOk(isDeepFrozen(Object.freeze({ a: {} })), 'Object.freeze alone is not deep')
  const a: Record<string, unknown> = { name: 'a' }
  a.self = a
  t.equal(deepFreeze(a), a)
  t.ok(Object.isFrozen(a))
})

t.test('canonical-json keeps the text of a deep-frozen value, and only of one', async (t) => {
  const claims = deepFreeze({ tenant: 'acme', roles: ['admin', 'reader'], sub: 'alice', nested: { b: 2, a: [1, { z: null }] } })
  const expected = '{"nested":{"a":[1,{"z":null}],"b":2},"roles":["admin","reader"],"sub":"alice","tenant":"acme"}'
  t.equal(canonicalJson(claims), expected)
  t.equal(canonicalJson(claims), expected, 'the kept text')
  t.equal(canonicalJson({ x: claims }), `{"x":${expected}}`, 'inside another value')
  t.equal(canonicalJson(JSON.parse(JSON.stringify(claims))), expected, 'the same text as an equal value that is not frozen')
  // Not deep-frozen: every call sees the value as it is now.
  const inner = { n: 1 }
  const shallow = Object.freeze({ inner })
  t.equal(canonicalJson(shallow), '{"inner":{"n":1}}')
  inner.n = 2
  t.equal(canonicalJson(shallow), '{"inner":{"n":2}}', 'a value frozen only at its top is not kept')
  const plain: Record<string, unknown> = { a: 1 }
  t.equal(canonicalJson(plain), '{"a":1}')
  plain.b = 2
  t.equal(canonicalJson(plain), '{"a":1,"b":2}')
})
