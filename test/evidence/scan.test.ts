// The privacy scan finds credentials that survived into logged events, wherever the query put
// them: parsed_query splits on "&" only, so `?x=1;token=abc` is x: ["1;token=abc"].
import t from 'tap'
import * as erase from '../../src/decision-log/erase.js'
import { scanEvent } from '../../src/evidence/scan.js'

const ev = (parsedQuery: Record<string, unknown>, path = '/a') => ({ input: { attributes: { request: { http: { path, headers: {} } } }, parsed_query: parsedQuery } })

t.test('a credential parameter after ";" inside a parsed_query value is found', async (t) => {
  t.same(scanEvent(ev({ x: ['1;token=SEMI1'] })), [{ location: '/input/parsed_query/x/0', kind: 'query parameter token' }])
  t.same(scanEvent(ev({ y: ['2'], x: ['a', '1;access_token=SEMI2'] })), [{ location: '/input/parsed_query/x/1', kind: 'query parameter access_token' }])
  t.same(scanEvent(ev({ x: ['1;token=[REDACTED]'] })), [], 'erased already')
  t.same(scanEvent(ev({ x: ['1;tokens=2', 'a;b'] })), [], 'no credential name')
  t.same(scanEvent(ev({ x: ['1;token=SEMI1'] }, '/a?x=1;token=SEMI1')).map((h) => h.location).sort(),
    ['/input/attributes/request/http/path', '/input/parsed_query/x/0'], 'and in the path, as before')
})

t.test('the scan reads names as the erasure does: bracket forms, decoded', async (t) => {
  const kinds = (path: string, pq: Record<string, unknown> = {}): string[] => scanEvent(ev(pq, path)).map((h) => `${h.location} ${h.kind}`)
  t.same(kinds('/a?access_token[]=X1&user%5Bpassword%5D=X2&a[b][token]=X3&ok=1'), [
    '/input/attributes/request/http/path query parameter access_token[]',
    '/input/attributes/request/http/path query parameter user[password]',
    '/input/attributes/request/http/path query parameter a[b][token]',
  ])
  t.same(kinds('/a?access_token[]=[REDACTED]&user%5Bpassword%5D=[REDACTED]'), [], 'redacted already')
  t.same(kinds('/a', { 'user[password]': ['X4'], 'user[name]': ['bob'] }), ['/input/parsed_query/user[password] field user[password]'])
  t.same(kinds('/a?tokens=1&mytoken[]=2'), [], 'other names')
})

t.test('URL-valued headers, header_map and body texts are scanned; the withheld marker is not a finding', async (t) => {
  const scan = (http: Record<string, unknown>, top: Record<string, unknown> = {}): string[] =>
    scanEvent({ input: { attributes: { request: { http: { path: '/a', ...http } } }, ...top } }).map((h) => `${h.location} ${h.kind}`)
  t.same(scan({ headers: { referer: 'https://app/cb?x=1&access_token=X5', 'x-original-url': ['/o#id_token=X6'], 'x-other': '/q?token=X7' } }), [
    '/input/attributes/request/http/headers/referer query parameter access_token',
    '/input/attributes/request/http/headers/x-original-url query parameter id_token',
  ], 'only headers that carry URLs are read as URLs')
  t.same(scan({ headers: { referer: 'https://app/cb?access_token=[REDACTED]' } }), [])
  t.same(scan({ headerMap: { headers: [{ key: 'Authorization', value: 'Bearer abcdefghijkl' }, { key: 'referer', rawValue: Buffer.from('/cb?token=X8').toString('base64') }] } }), [
    '/input/attributes/request/http/headerMap/headers/0 authorization header',
    '/input/attributes/request/http/headerMap/headers/1 query parameter token',
  ])
  t.same(scan({ body: '{"a":[{"password":"X9"}],"token":"[REDACTED]"}' }), ['/input/attributes/request/http/body/a/0/password field password'])
  t.same(scan({ body: 'grant_type=password&client_secret=X10' }), ['/input/attributes/request/http/body body field client_secret'])
  t.same(scan({ body: '{"username":"bob","password":"X11","pad":"' }), ['/input/attributes/request/http/body field password in the body text'], 'a partial JSON body')
  t.same(scan({ body: '{"password":"","x":1' }), [], 'an empty value is no credential')
  t.same(scan({ rawBody: Buffer.from('{"api_key":"X12"}').toString('base64') }), ['/input/attributes/request/http/rawBody/api_key field api_key'])
  t.same(scan({ body: erase.WITHHELD_BODY }), [], 'withheld')
  t.same(scan({ body: 'plain notes, nothing here' }), [])
  t.same(scan({ query: 'token=X13' }), ['/input/attributes/request/http/query query parameter token'])
})

t.test('token claims: a credential claim, also after an IdP prefix, is found; erased or harmless claims are not', async (t) => {
  const withIdentity = (identity: Record<string, unknown>) => ({ input: { attributes: { request: { http: { path: '/a', headers: {} } } }, identity } })
  t.same(scanEvent(withIdentity({ sub: 'alice', idp_access_token: 'ya29.X1', tokens: { 'github-token': 'X2' } })).map((h) => `${h.location} ${h.kind}`), [
    '/input/identity/idp_access_token field idp_access_token',
    '/input/identity/tokens/github-token field github-token',
  ])
  t.same(scanEvent(withIdentity({ sub: 'alice', roles: ['admin'], tokenizer: 'x', token_type: 'Bearer' })), [], 'names that only start like one')
})

t.test('a fragment left in the last path segment or query value (ext_authz) is scanned', async (t) => {
  const e = { input: { attributes: { request: { http: { path: '/cb', headers: {} } } }, parsed_path: ['cb#access_token=FRAG1'], parsed_query: { x: ['1#id_token=FRAG2'] } } }
  t.same(scanEvent(e).map((h) => `${h.location} ${h.kind}`), ['/input/parsed_query/x/0 query parameter id_token', '/input/parsed_path/0 query parameter access_token'])
})

t.test('fragment variants: a client-side route or path in the fragment, a fragment in a query key, a URL in a query value', async (t) => {
  const e = {
    input: {
      attributes: { request: { http: { path: '/cb#/done?access_token=V1&state=1', headers: { referer: 'https://a.example/p?next=/cb?refresh_token=V2' } } } },
      parsed_path: ['cb#state=ok', 'access_token=V3'],
      parsed_query: { 'x#access_token': ['V4'], next: ['/cb?id_token=V5'] },
    },
  }
  t.same(scanEvent(e).map((h) => `${h.location} ${h.kind}`).sort(), [
    '/input/attributes/request/http/headers/referer query parameter refresh_token',
    '/input/attributes/request/http/path query parameter access_token',
    '/input/parsed_path/1 query parameter access_token',
    '/input/parsed_query/next/0 query parameter id_token',
    '/input/parsed_query/x#access_token field x#access_token',
  ])
})

t.test('JWT detection: what the pattern finds, and a long run of "-eyJ" is read in one pass', async (t) => {
  const hit = (v: string) => scanEvent({ input: { attributes: { request: { http: { path: '/a', headers: { 'x-note': v } } } } } }).map((h) => h.kind)
  const jwt = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl'
  t.same(hit(`see ${jwt} here`), ['JWT in the x-note header'])
  t.same(hit(`-${jwt}`), ['JWT in the x-note header'], 'after a "-" (a word boundary)')
  t.same(hit(`x${jwt}`), [], 'not inside a word')
  t.same(hit('eyJshort.eyJhbGciOiJIUzI1NiJ9.sig'), [], 'fewer than 8 characters after the first eyJ')
  t.same(hit('-eyJ-eyJ-eyJaaaaaaaaaaaaaaa.eyJbbbbbbbbbbbb.c'), ['JWT in the x-note header'], 'the third eyJ of a run')
  // Quadratic before (a regex backtracking from every eyJ): 128 KB took 6.5 s, this 1 MB minutes.
  t.same(hit('-eyJ'.repeat(262144)), [], 'a 1 MB run with no "." holds none')
  // Each eyJ of the first run read the same second run again before.
  t.same(hit('-eyJ'.repeat(65536) + 'xxxxxxxx.eyJ' + 'a'.repeat(1 << 20)), [], 'a long first run then a long second one without its "."')
})

t.test('hidden forms are flagged as the erasure reads them: separators in a name, encoded structure, matrix parameters, the fragment field', async (t) => {
  const e = {
    input: {
      attributes: { request: { http: { path: '/api;access_token=V1/cb%23access_token=V2?next=%2Fcb%3Ftoken%3DV3', headers: {}, fragment: 'state=x/access_token=V5' } } },
      parsed_path: ['api;access_token=V1'],
      parsed_query: { 'x?id_token': ['V4'] },
    },
  }
  t.same(scanEvent(e).map((h) => `${h.location} ${h.kind}`).sort(), [
    '/input/attributes/request/http/fragment query parameter access_token',
    '/input/attributes/request/http/path query parameter access_token',
    '/input/attributes/request/http/path query parameter access_token',
    '/input/attributes/request/http/path query parameter next (a URL holding a credential parameter)',
    '/input/parsed_path/0 query parameter access_token',
    '/input/parsed_query/x?id_token field x?id_token',
  ])
})

t.test('every header map the erasure reads is scanned, as an object or a list, the shadow result too; client_assertion is a credential', async (t) => {
  const e = {
    input: { attributes: { request: { http: { path: '/t?client_assertion=not-a-jwt-but-secret', headers: {} } } } },
    result: { allowed: true, headers: [{ authorization: 'Bearer abcdefghijkl' }], response_headers_to_add: { 'x-api-key': 'k-123456789' } },
    shadow: { result: { response_headers: [{ cookie: 'sid=abcdefghijkl' }] } },
  }
  t.same(scanEvent(e).map((h) => h.location).sort(), [
    '/input/attributes/request/http/path',
    '/result/headers/0/authorization',
    '/result/response_headers_to_add/x-api-key',
    '/shadow/result/response_headers/0/cookie',
  ])
})

t.test('a parsed body value holding a credential parameter is flagged, as the erasure scrubs it', async (t) => {
  const e = { input: { attributes: { request: { http: { path: '/f', headers: {} } } }, parsed_body: { x: ['1?access_token=V1'], keep: 'a?b=c' } } }
  t.same(scanEvent(e).map((h) => `${h.location} ${h.kind}`), ['/input/parsed_body/x/0 query parameter access_token'])
})

t.test('the rest of a result is scanned too: a credential-shaped string anywhere in it, a credential field; what the bouncer cut is not a finding', async (t) => {
  const jwt = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl'
  const e = {
    input: { attributes: { request: { http: { path: '/r', headers: {} } } } },
    result: { allow: false, reason: `bad token Bearer ${jwt}`, details: [{ api_key: 'k-0123456789' }], note: 'token [erased] refused', password: '[erased]', headers: { 'www-authenticate': 'Bearer realm="api"' } },
    shadow: { result: `echo ${jwt}` },
  }
  t.same(scanEvent(e).map((h) => `${h.location} ${h.kind}`).sort(), [
    '/result/details/0/api_key field api_key',
    '/result/reason JWT',
    '/shadow/result JWT',
  ])
  t.same(scanEvent({ ...e, result: { allow: true, reason: 'Bearer token required' }, shadow: undefined }), [], 'ordinary words are no finding')
})

t.test('results are read as prose and structure (review, session 53): sentences with a scheme word, cut values with punctuation, token objects are no finding; lists and strings are read', async (t) => {
  const jwt = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJib2IifQ.c2lnbmF0dXJlLWJvYg'  // security-gate: allow-secret
  const hits = (result: unknown, shadow?: unknown) => scanEvent({ input: { attributes: { request: { http: { path: '/r', headers: {} } } } }, result, ...(shadow === undefined ? {} : { shadow: { result: shadow } }) }).map((h) => h.location)
  for (const reason of ['Token signature invalid', 'Basic authentication is not allowed here', 'Bearer credentials required', 'Bearer [erased], expected a JWT', 'token [erased]: expired', 'Bearer [erased]…']) {
    t.same(hits({ allow: false, reason }), [], reason)
  }
  t.same(hits({ allow: false, password: ['[erased]'] }), [], 'a list of cut values under a credential name')
  t.same(hits({ allow: true, token: { valid: true, sub: 'alice' } }), [], 'what the policy made of a token')
  t.same(hits({ allow: true, token: 'opaque-0123456789' }), ['/result/token'], 'a credential field holding a value is')
  t.same(hits([`Bearer ${jwt}`]), ['/result/0'], 'a list result')
  t.same(hits({ allow: true }, [jwt]), ['/shadow/result/0'], 'a list shadow result')
  t.same(hits('Bearer abcdefgh12345678,'), ['/result'], 'a scheme before a token-like word')
  // A large input leaves the result its own budget.
  const big = { input: { attributes: { request: { http: { path: '/r', headers: {} } } }, parsed_body: { items: Array.from({ length: 6000 }, (_, i) => ({ n: i })) } }, result: { reason: `echo ${jwt}` } }
  t.same(scanEvent(big).map((h) => h.location), ['/result/reason'])
})

t.test('results (review of the fixes, session 53): a credential name over a list of values is a finding; opaque tokens after a scheme are too', async (t) => {
  const hits = (result: unknown) => scanEvent({ input: { attributes: { request: { http: { path: '/r', headers: {} } } } }, result }).map((h) => h.location)
  t.same(hits({ password: ['hunter2-hunter2'] }), ['/result/password'])
  t.same(hits({ api_key: ['k3y-0123456789', 'k3y-abcdef'] }), ['/result/api_key'])
  t.same(hits({ token: [{ valid: true }] }), [], 'a list of what the policy made of tokens')
  t.same(hits({ reason: 'Bearer abc%2Bdefghijklmnop%3D' }), ['/result/reason'], 'percent-escapes')
  t.same(hits({ reason: 'Bearer QWErtyUIOpasdfGHJKlzxcVBNm' }), ['/result/reason'], 'letters of both cases')
  t.same(hits({ reason: 'Bearer authentication required' }), [], 'a sentence')
})

t.test('results (third review, session 53): error names after a scheme word and lists of booleans or nulls are no finding', async (t) => {
  const hits = (result: unknown) => scanEvent({ input: { attributes: { request: { http: { path: '/r', headers: {} } } } }, result }).map((h) => h.location)
  for (const reason of ['Token ExpiredSignatureError', 'Bearer InsufficientScopeError', 'Basic AuthenticationFailed']) t.same(hits({ reason }), [], reason)
  t.same(hits({ token: [true, false] }), [])
  t.same(hits({ secret: [null] }), [])
  t.same(hits({ token: ['[erased]', null] }), [])
})
