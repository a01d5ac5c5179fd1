import t from 'tap'
import { ttlFor, nondeterministicBuiltins, NONDETERMINISTIC_BUILTINS } from '../../src/cache/index.js'

const defaults = { allowSeconds: 60, denySeconds: 5 }

t.test('configured defaults, separate for allow and deny', async t => {
  t.equal(ttlFor(true, defaults), 60)
  t.equal(ttlFor(false, defaults), 5)
  t.equal(ttlFor({ allow: true }, defaults), 60)
  t.equal(ttlFor({ allow: false, status: 401 }, defaults), 5)
  t.equal(ttlFor({ allowed: true }, defaults), 60, 'allowed is accepted as a synonym')
  t.equal(ttlFor(false, { allowSeconds: 60, denySeconds: 0 }), 0, 'denials can be switched off')
})

t.test('cache_ttl from the decision wins; 0 means never', async t => {
  t.equal(ttlFor({ allow: true, cache_ttl: 0 }, defaults), 0)
  t.equal(ttlFor({ allow: true, cache_ttl: 3600 }, defaults), 3600)
  t.equal(ttlFor({ allow: false, cache_ttl: 30 }, defaults), 30)
  t.equal(ttlFor({ allow: true, cache_ttl: 3600 }, { ...defaults, maxSeconds: 300 }), 300, 'capped by maxSeconds')
  t.equal(ttlFor({ allow: true, cache_ttl: 0.5 }, defaults), 0.5, 'sub-second TTLs are kept')
})

t.test('a malformed cache_ttl or decision is never cached', async t => {
  // A typo must not become a long-lived entry; a policy error must reach the policy again.
  for (const bad of [-1, '60', NaN, Infinity, null, true]) t.equal(ttlFor({ allow: true, cache_ttl: bad }, defaults), 0, String(bad))
  for (const bad of [null, undefined, 1, 'yes', [], {}, { allow: 'true' }, { allow: 1 }, { allow: null, allowed: true }]) {
    t.equal(ttlFor(bad, defaults), 0, JSON.stringify(bad) ?? 'undefined')
  }
})

t.test('non-deterministic policies are not cached unless the decision sets cache_ttl', async t => {
  const nd = { nondeterministic: true }
  t.equal(ttlFor(true, defaults, nd), 0)
  t.equal(ttlFor({ allow: false }, defaults, nd), 0)
  t.equal(ttlFor({ allow: true, cache_ttl: 10 }, defaults, nd), 10, 'the policy author opted in')
})

t.test('nondeterministicBuiltins picks the offenders from a builtin list', async t => {
  t.same(nondeterministicBuiltins(['count', 'startswith', 'io.jwt.decode']), [])
  t.same(nondeterministicBuiltins(['time.now_ns', 'count', 'http.send', 'time.now_ns']), ['http.send', 'time.now_ns'])
  // Works with the keys of opa-wasm's builtin id map too.
  t.same(nondeterministicBuiltins(Object.keys({ 'rand.intn': 0, 'uuid.rfc4122': 1, sprintf: 2 })), ['rand.intn', 'uuid.rfc4122'])
  for (const b of ['time.now_ns', 'http.send', 'rand.intn', 'uuid.rfc4122', 'opa.runtime', 'net.lookup_ip_addr']) {
    t.ok(NONDETERMINISTIC_BUILTINS.has(b), b)
  }
  t.notOk(NONDETERMINISTIC_BUILTINS.has('time.parse_rfc3339_ns'), 'pure time helpers are deterministic')
})
