import t from 'tap'
import {
  canonicalJson, compileDecisionKey, decisionCacheKey, resolveKeySpec, DEFAULT_IGNORE_PATHS, type InputPath,
} from '../../src/cache/index.js'

// A realistic Envoy-style input (DESIGN.md "Policy input").
function request (over: { id?: string; method?: string; path?: string; headers?: Record<string, string>; source?: string } = {}): unknown {
  const path = over.path ?? '/v1/accounts/42'
  return {
    attributes: {
      request: {
        http: {
          id: over.id ?? 'req-1',
          method: over.method ?? 'GET',
          path,
          host: 'api.local',
          scheme: 'http',
          protocol: 'HTTP/1.1',
          headers: over.headers ?? { authorization: 'Bearer abc', 'x-tenant': 'acme', 'user-agent': 'curl/8' },
        },
      },
      source: { address: over.source ?? '10.0.0.7:51234' },
      destination: { address: '127.0.0.1:8080' },
    },
    parsed_path: path.split('?')[0].split('/').filter(Boolean),
    parsed_query: {},
  }
}

const base = { revision: 'r1', contentDigest: 'd1', entrypoint: 'bouncer/authz/decision' }
const METHOD: InputPath = ['attributes', 'request', 'http', 'method']
const TENANT: InputPath = ['attributes', 'request', 'http', 'headers', 'x-tenant']

t.test('canonical JSON sorts keys and matches JSON.stringify value semantics', async t => {
  t.equal(canonicalJson({ b: 1, a: [true, null, 'x'], c: { z: 1, y: 2 } }), '{"a":[true,null,"x"],"b":1,"c":{"y":2,"z":1}}')
  // Key order in the source object must not matter: that is the point of canonical form.
  t.equal(canonicalJson({ x: 1, y: 2 }), canonicalJson({ y: 2, x: 1 }))
  // What the policy sees is JSON.stringify(input): undefined properties vanish, undefined in
  // arrays becomes null, non-finite numbers become null, toJSON is used.
  const odd = { u: undefined, f: () => 1, arr: [undefined, NaN, Infinity, -0], d: new Date(0), s: 'é"\n' }
  t.same(JSON.parse(canonicalJson(odd) as string), JSON.parse(JSON.stringify(odd)))
  t.equal(canonicalJson(undefined), undefined)
  // Strings are printed byte-for-byte as JSON.stringify prints them, escapes included (the
  // unescaped fast path must not change a single one).
  const tricky = ['plain', 'quote"', 'back\\slash', 'tab\t', '\u0000\u001f', '\u2028\u2029', 'lone \ud800', 'pair \ud83d\ude00', 'é€', '']
  // Messages name the case by index: raw U+2028 in a TAP line would break the TAP stream.
  tricky.forEach((s, i) => {
    t.equal(canonicalJson(s), JSON.stringify(s), `string case ${i}`)
    t.equal(canonicalJson({ [s]: 1 }), JSON.stringify({ [s]: 1 }), `key case ${i}`)
  })
  // UTF-16 code unit order (RFC 8785), not locale order.
  t.equal(canonicalJson({ b: 1, B: 2, é: 3, a: 4 }), '{"B":2,"a":4,"b":1,"é":3}')
})

t.test('same input → same key; the key is a base64url SHA-256', async t => {
  const spec = { ...base, inputPaths: [METHOD, TENANT] }
  const k1 = decisionCacheKey({ ...spec, input: request() })
  const k2 = compileDecisionKey(spec)(request())
  t.equal(k1, k2)
  t.match(k1, /^[A-Za-z0-9_-]{43}$/)
})

t.test('a new revision or another entrypoint changes every key', async t => {
  const input = request()
  for (const inputPaths of [[METHOD], null]) {
    const k = decisionCacheKey({ ...base, inputPaths, input })
    t.not(decisionCacheKey({ ...base, revision: 'r2', inputPaths, input }), k, 'revision')
    t.not(decisionCacheKey({ ...base, contentDigest: 'd2', inputPaths, input }), k, 'content digest (the same revision rebuilt)')
    t.not(decisionCacheKey({ ...base, entrypoint: 'other/decision', inputPaths, input }), k, 'entrypoint')
  }
})

t.test('read paths: a difference in a read field never shares a key, in an unread field always does', async t => {
  const key = compileDecisionKey({ ...base, inputPaths: [METHOD, TENANT] })
  const a = request()
  t.not(key(request({ method: 'POST' })), key(a), 'method is read')
  t.not(key(request({ headers: { authorization: 'Bearer abc', 'x-tenant': 'other', 'user-agent': 'curl/8' } })), key(a), 'x-tenant is read')
  // Unread: request id, path, other headers, peer port.
  t.equal(key(request({ id: 'req-2', path: '/v1/other', source: '10.0.0.8:1', headers: { 'x-tenant': 'acme', authorization: 'Bearer zzz' } })), key(a))
})

t.test('a subtree path covers everything below it', async t => {
  const key = compileDecisionKey({ ...base, inputPaths: [['attributes', 'request', 'http', 'headers']] })
  t.not(key(request({ headers: { authorization: 'Bearer abc', 'x-tenant': 'acme', 'user-agent': 'wget' } })), key(request()))
  t.equal(key(request({ method: 'DELETE' })), key(request()))
})

t.test('absent and present-with-null are different keys', async t => {
  const key = compileDecisionKey({ ...base, inputPaths: [['identity', 'sub']] })
  const absent = key({ identity: {} })
  const isNull = key({ identity: { sub: null } })
  const parentAbsent = key({})
  const parentNotObject = key({ identity: 'x' })
  t.not(absent, isNull)
  // Each of these is "undefined" for the policy, so they may (and should) share a key.
  t.equal(absent, parentAbsent)
  t.equal(absent, parentNotObject)
  // A property set to undefined does not survive JSON.stringify: absent, not null.
  t.equal(key({ identity: { sub: undefined } }), absent)
  // Absent vs null also under the whole-input mode.
  const whole = compileDecisionKey({ ...base, inputPaths: null })
  t.not(whole({ a: null }), whole({}))
})

t.test('array index paths', async t => {
  const key = compileDecisionKey({ ...base, inputPaths: [['parsed_path', 1], ['parsed_path', '0']] })
  t.equal(key({ parsed_path: ['v1', 'accounts', '42'] }), key({ parsed_path: ['v1', 'accounts', '43'] }), 'index 2 unread')
  t.not(key({ parsed_path: ['v1', 'accounts'] }), key({ parsed_path: ['v1', 'users'] }), 'index 1 read')
  t.not(key({ parsed_path: ['v1'] }), key({ parsed_path: ['v1', null] }), 'out of range vs null element')
  // JSON turns an undefined array element into null, so the policy sees null there.
  t.equal(key({ parsed_path: ['v1', undefined] }), key({ parsed_path: ['v1', null] }))
  // "01" is not an index: input.parsed_path["01"] is undefined in Rego.
  const odd = compileDecisionKey({ ...base, inputPaths: [['parsed_path', '01']] })
  t.equal(odd({ parsed_path: ['a', 'b'] }), odd({ parsed_path: ['c', 'd'] }))
  // Numeric and string segments mean the same once JSON has spoken.
  t.equal(compileDecisionKey({ ...base, inputPaths: [['a', 1]] })({ a: [0, 7] }), compileDecisionKey({ ...base, inputPaths: [['a', '1']] })({ a: [0, 7] }))
})

t.test('path order, duplicates and covered paths do not change the key', async t => {
  const input = request()
  const k = decisionCacheKey({ ...base, inputPaths: [METHOD, TENANT], input })
  t.equal(decisionCacheKey({ ...base, inputPaths: [TENANT, METHOD, METHOD], input }), k)
  const sub = decisionCacheKey({ ...base, inputPaths: [['attributes'], METHOD], input })
  t.equal(decisionCacheKey({ ...base, inputPaths: [['attributes']], input }), sub)
})

t.test('a different path list is a different key even when the values agree', async t => {
  // Pods sharing a Redis with different configs must not read each other's decisions.
  const input = { a: 1, b: 1 }
  t.not(decisionCacheKey({ ...base, inputPaths: [['a']], input }), decisionCacheKey({ ...base, inputPaths: [['b']], input }))
  t.not(decisionCacheKey({ ...base, inputPaths: null, ignorePaths: [], input }),
    decisionCacheKey({ ...base, inputPaths: null, ignorePaths: [['zzz']], input }))
})

t.test('whole input minus ignore paths', async t => {
  const key = compileDecisionKey({ ...base, inputPaths: null, ignorePaths: DEFAULT_IGNORE_PATHS })
  t.equal(key(request({ id: 'a' })), key(request({ id: 'b' })), 'request id ignored')
  t.not(key(request({ path: '/x' })), key(request()), 'everything else counts')
  t.not(key(request({ source: '10.0.0.7:1' })), key(request()), 'peer address is not ignored by default')
  // [[]] (an empty path, "the whole input") means the same as null.
  t.equal(compileDecisionKey({ ...base, inputPaths: [[]], ignorePaths: DEFAULT_IGNORE_PATHS })(request()), key(request()))
  // Ignoring an array slot keeps the other elements in place.
  const arr = compileDecisionKey({ ...base, inputPaths: null, ignorePaths: [['xs', 0]] })
  t.equal(arr({ xs: ['noise1', 'a'] }), arr({ xs: ['noise2', 'a'] }))
  t.not(arr({ xs: ['a', 'b'] }), arr({ xs: ['b', 'a'] }))
  t.not(arr({ xs: ['n', 'a', 'b'] }), arr({ xs: ['n', 'ab'] }))
  // Explicit paths ignore ignorePaths: if the policy reads the field, it must be in the key.
  const explicit = compileDecisionKey({ ...base, inputPaths: [['attributes', 'request', 'http', 'id']], ignorePaths: DEFAULT_IGNORE_PATHS })
  t.not(explicit(request({ id: 'a' })), explicit(request({ id: 'b' })))
})

t.test('resolveKeySpec prefers the compiler record, then configured paths, then the whole input', async t => {
  const p = { revision: 'r', contentDigest: 'd', entrypoint: 'e' }
  t.same(resolveKeySpec({ ...p, compiledInputPaths: [['a']] }, { inputPaths: [['b']] }).inputPaths, [['a']])
  // The compiler saying "whole input" (null) beats a configured list that could be wrong.
  t.equal(resolveKeySpec({ ...p, compiledInputPaths: null }, { inputPaths: [['b']] }).inputPaths, null)
  t.same(resolveKeySpec(p, { inputPaths: [['b']] }).inputPaths, [['b']])
  const dflt = resolveKeySpec(p)
  t.equal(dflt.inputPaths, null)
  t.equal(dflt.ignorePaths, DEFAULT_IGNORE_PATHS)
  // A compiler record of "the whole input" ignores nothing: the policy is evaluated on every
  // field, so a request id it may read must not be left out of the key.
  const whole = resolveKeySpec({ ...p, compiledInputPaths: null }, { ignorePaths: DEFAULT_IGNORE_PATHS })
  t.same(whole.ignorePaths, [])
  const key = compileDecisionKey(whole)
  t.not(key(request({ id: 'r1' })), key(request({ id: '../../etc' })), 'the request id is in the key')
  t.same(resolveKeySpec({ ...p, compiledInputPaths: [[]] }, { ignorePaths: [['x']] }).ignorePaths, [])
  // Only a bundle without a record (opa build) takes the operator's ignore paths.
  t.same(resolveKeySpec(p, { ignorePaths: [['x']] }).ignorePaths, [['x']])
})

t.test('bad specs and unserialisable inputs are BouncerErrors', async t => {
  t.throws(() => compileDecisionKey({ ...base, inputPaths: [['a', -1]] }), { name: 'BouncerError', code: 'BOUNCER_ERR_CACHE_OPTIONS' })
  t.throws(() => compileDecisionKey({ ...base, inputPaths: [{ a: 1 } as unknown as InputPath] }), { name: 'BouncerError', code: 'BOUNCER_ERR_CACHE_OPTIONS' })
  t.throws(() => compileDecisionKey({ ...base, inputPaths: null, ignorePaths: [[]] }), { name: 'BouncerError', code: 'BOUNCER_ERR_CACHE_OPTIONS' })
  t.throws(() => compileDecisionKey({ revision: 'r', contentDigest: 'd', entrypoint: '' }), { name: 'BouncerError', code: 'BOUNCER_ERR_CACHE_OPTIONS' })
  const whole = compileDecisionKey({ ...base })
  const cyclic: Record<string, unknown> = {}
  cyclic.self = cyclic
  t.throws(() => whole(cyclic), { name: 'BouncerError', code: 'BOUNCER_ERR_CACHE_KEY_INPUT' })
  t.throws(() => whole({ n: 1n }), { name: 'BouncerError', code: 'BOUNCER_ERR_CACHE_KEY_INPUT' })
})

t.test('decisionCacheKey memo follows spec changes', async t => {
  // The one-entry memo must not hand back a closure compiled for other paths.
  const paths1: InputPath[] = [['a']]
  const paths2: InputPath[] = [['b']]
  const input = { a: 1, b: 2 }
  const k1 = decisionCacheKey({ ...base, inputPaths: paths1, input })
  const k2 = decisionCacheKey({ ...base, inputPaths: paths2, input })
  t.not(k1, k2)
  t.equal(decisionCacheKey({ ...base, inputPaths: paths1, input }), k1)
  t.equal(decisionCacheKey({ ...base, inputPaths: paths1, input: { a: 1, b: 99 } }), k1)
})
