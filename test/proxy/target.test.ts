import t from 'tap'
import { compileTargetNormalizer, parsePath, parseQuery, type PathRules } from '../../src/proxy/target.js'

const DEFAULTS: PathRules = { encoded_slash: 'reject', encoded_backslash: 'reject', double_encoding: 'reject', matrix_params: 'keep', merge_slashes: true }
const norm = compileTargetNormalizer(DEFAULTS)

t.test('canonical form', async (t) => {
  const cases: [string, string, string?][] = [
    ['/', '/'],
    ['/a/b', '/a/b'],
    ['/a/b/', '/a/b/'],
    ['/a/./b', '/a/b'],
    ['/a/../b', '/b'],
    ['/a/b/..', '/a/'],
    ['/a/b/.', '/a/b/'],
    ['/..', '/'],
    ['/../../etc/passwd', '/etc/passwd'],
    ['/a//b///c', '/a/b/c'],
    ['//', '/'],
    ['/a/%2e%2e/b', '/b'],
    ['/a/%2E%2e/b', '/b'],
    ['/a/.%2e/b', '/b'],
    ['/a/%2e/b', '/a/b'],
    ['/%41%62c', '/Abc'],
    ['/%7euser', '/~user'],
    ['/a%3ab', '/a%3Ab'],
    ['/a%3Ab', '/a%3Ab'],
    ['/caf%c3%a9', '/caf%C3%A9'],
    ['/%F0%9F%98%80', '/%F0%9F%98%80'],
    ['/a%20b', '/a%20b'],
    ['/a"b<c>', '/a%22b%3Cc%3E'],
    ['/a{b}|^`', '/a%7Bb%7D%7C%5E%60'],
    ['/a[1]', '/a%5B1%5D'],
    ["/a:b@c!$&'()*+,;=", "/a:b@c!$&'()*+,;="],
    ['/a/b?x=1&y=%2F', '/a/b', 'x=1&y=%2F'],
    ['/a/../b?../c', '/b', '../c'],
    ['/?', '/', ''],
  ]
  for (const [input, path, query = ''] of cases) {
    const r = norm(input)
    t.ok(r.ok, `${input} accepted`)
    if (r.ok) {
      t.equal(r.path, path, `${input} → ${path}`)
      t.equal(r.query, query, `${input} query`)
    }
  }
})

t.test('rejected by default', async (t) => {
  const cases: [string, RegExp][] = [
    ['/a%2Fb', /encoded slash/],
    ['/a%2fb', /encoded slash/],
    ['/..%2F..%2Fetc', /encoded slash/],
    ['/a%5Cb', /encoded backslash/],
    ['/a%5cb', /encoded backslash/],
    ['/a\\b', /backslash/],
    ['/a%00b', /control/],
    ['/a%0Ab', /control/],
    ['/a%0d%0aSet-Cookie:x', /control/],
    ['/a%7Fb', /control/],
    ['/a%1', /malformed/],
    ['/a%', /malformed/],
    ['/a%zz', /malformed/],
    ['/a%252e%252e/', /double/],
    ['/a%252F', /double/],
    ['/a%25%32%65', /double/],
    ['/a%25%32e', /double/],
    ['/%C0%AF', /UTF-8/], // overlong "/"
    ['/%C0%AE%C0%AE/', /UTF-8/], // overlong ".."
    ['/%E0%80%AF', /UTF-8/], // overlong 3-byte
    ['/%ED%A0%80', /UTF-8/], // surrogate
    ['/%F4%90%80%80', /UTF-8/], // > U+10FFFF
    ['/%80', /UTF-8/], // stray continuation
    ['/%C3', /UTF-8/], // truncated
    ['/%C3%28', /UTF-8/],
    ['/caf\u00e9', /non-ASCII/],
    ['/a\tb', /control/],
    ['/a#frag', /fragment/],
    ['*', /asterisk/],
    ['example.com:443', /form/],
    ['ftp://example.com/a', /scheme/],
    ['http://user@example.com/a', /authority/],
    ['/a?x=%zz', /malformed percent-encoding in query/],
    ['/a?x=%C0%AF', /UTF-8 in query/],
    ['/a?x=\u00e9', /non-ASCII byte in query/],
    ['/a?user=admin%00x', /encoded NUL \(%00\) in query/],
    ['/a?x=1&%00=2', /encoded NUL/],
  ]
  for (const [input, why] of cases) {
    const r = norm(input)
    t.notOk(r.ok, `${JSON.stringify(input)} rejected`)
    if (!r.ok) t.match(r.reason, why, `${JSON.stringify(input)}: ${r.reason}`)
  }
})

t.test('other encoded control characters in the query are data, forwarded as they came', async (t) => {
  for (const q of ['text=line1%0D%0Aline2', 'x=%7F', 'x=%01%1f', 'x=%0a']) {
    const r = norm(`/a?${q}`)
    t.ok(r.ok && r.query === q, `${q} kept`)
  }
})

t.test('absolute-form targets are reduced to their path', async (t) => {
  const r = norm('http://Example.COM:8080/a/../b?q=1')
  t.ok(r.ok)
  if (r.ok) {
    t.equal(r.path, '/b')
    t.equal(r.query, 'q=1')
    t.equal(r.authority, 'example.com:8080')
  }
  const r2 = norm('https://example.com')
  t.ok(r2.ok && r2.path === '/' && r2.authority === 'example.com')
  const r3 = norm('http://[::1]:80?x')
  t.ok(r3.ok && r3.path === '/' && r3.query === 'x')
})

t.test('configurable rules', async (t) => {
  const keep = compileTargetNormalizer({ ...DEFAULTS, encoded_slash: 'keep', encoded_backslash: 'keep', double_encoding: 'keep' })
  const a = keep('/a%2fb/../c')
  t.ok(a.ok && a.path === '/c', 'a raw dot-segment is resolved over a segment holding %2F (the upstream gets /c)')
  t.notOk(keep('/a%2f..%2fc').ok, 'a dot-segment between encoded slashes is refused (nginx and Jetty resolve it)')
  t.notOk(keep('/a%5C.%5Cc').ok, 'also between encoded backslashes')
  t.ok(keep('/a%2F...%2Fc').ok, 'three dots are a name')
  const b = keep('/a%2fb/c')
  t.ok(b.ok && b.path === '/a%2Fb/c')
  const c = keep('/%5c%252e')
  t.ok(c.ok && c.path === '/%5C%252e')
  t.notOk(keep('/%00').ok, 'control characters are always rejected')

  const noMerge = compileTargetNormalizer({ ...DEFAULTS, merge_slashes: false })
  const d = noMerge('/a//b')
  t.ok(d.ok && d.path === '/a//b')
  const e = noMerge('/a//..')
  t.ok(e.ok && e.path === '/a/')

  const semi = compileTargetNormalizer({ ...DEFAULTS, matrix_params: 'reject' })
  t.notOk(semi('/admin;x=1').ok)
  t.ok(semi('/admin%3Bx').ok, 'an encoded ";" is data, not a path parameter')
  const alias = compileTargetNormalizer({ ...DEFAULTS, semicolons: 'reject' })
  t.notOk(alias('/admin;x=1').ok, 'path.semicolons (deprecated alias) still rejects')
})

// Tomcat, Jetty and Spring drop ";parameters" from a segment before resolving dot-segments, so
// "/public/..;/admin" is "/admin" to them (Apache Shiro CVE-2020-1957). Such segments are always
// rejected, whatever matrix_params says; other ";" uses are kept by default.
t.test('dot-segments with path parameters are rejected', async (t) => {
  for (const p of ['/public/..;/admin', '/public/x/..;/..;/admin', '/..;/admin', '/public/.;x/a', '/public/..;jsessionid=1/admin',
    '/public/%2e%2e;/admin', '/public/%2E%2e;x=1/admin', '/public/.%2e;/admin', '/public/%2e;/a', '/public/..;', '/public/.;']) {
    const r = norm(p)
    t.notOk(r.ok, `${p} rejected`)
    if (!r.ok) t.match(r.reason, /dot-segment with path parameters/)
  }
  for (const p of ['/public/a;b=1', '/public/...;x', '/public/a.;', '/public/.a;x', '/public/..a;/b', '/public/a;..']) {
    const r = norm(p)
    t.ok(r.ok && r.path === p, `${p} kept as it is`)
  }
  t.ok(norm('/public/..%3B/admin').ok, 'an encoded ";" is data: "..;" is an ordinary segment name there')
})

t.test('fast path and slow path agree', async (t) => {
  for (const p of ['/a/b/c', '/x-y_z.~', '/v1/accounts/42', '/a:b@c']) {
    const r = norm(p)
    t.ok(r.ok && r.path === p)
  }
})

t.test('parsed_path and parsed_query', async (t) => {
  t.same(parsePath('/v1/accounts/42'), ['v1', 'accounts', '42'])
  t.same(parsePath('/'), [''])
  t.same(parsePath('/a/'), ['a', ''])
  // An encoded slash (kept with encoded_slash: keep) separates segments, as nginx, Jetty and
  // opa-envoy-plugin read it; path parameters are not part of a segment, as servlet containers route.
  t.same(parsePath('/caf%C3%A9/a%2Fb'), ['café', 'a', 'b'])
  t.same(parsePath('/admin;x=1/y;jsessionid=2'), ['admin', 'y'])
  t.same(parsePath('/admin;/'), ['admin', ''])
  t.same(parsePath('/a%3Bb/c'), ['a;b', 'c'], 'an encoded ";" is data')
  t.same({ ...parseQuery('x=1&x=2&y=&z&a+b=c+d&e=%C3%A9') }, { x: ['1', '2'], y: [''], z: [''], 'a b': ['c d'], e: ['é'] })
  t.same({ ...parseQuery('') }, {})
  t.same({ ...parseQuery('&&a=1&') }, { a: ['1'] })
  const q = parseQuery('__proto__=x&constructor=y')
  t.same(q.__proto__, ['x'], 'no prototype pollution')
  t.equal(({} as Record<string, unknown>).x, undefined)
})
