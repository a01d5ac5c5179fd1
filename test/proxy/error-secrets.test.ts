// A builtin error can quote the input: with strict builtin errors, to_number() of the
// Authorization header fails with `parsing "Bearer <token>"`. The header is erased from the
// logged input; the fail-closed message must not carry it to the process log or the decision
// log either. Real bouncer, real decision-log spool, real compiled policy.
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { request } from 'undici'
import { memoryLogger, startBouncer, startUpstream } from '../helpers/index.js'
import { createConfig } from '../../src/config/index.js'
import { compileSecretScrubber } from '../../src/proxy/secret-values.js'
import { tempDir } from '../decision-log/fixtures/control-plane.js'

const POLICY = `package bouncer

decision := {"allow": to_number(input.attributes.request.http.headers.authorization) > 0} if input.parsed_path[0] == "header"
decision := {"allow": to_number(input.parsed_query.access_token[0]) > 0} if input.parsed_path[0] == "query"
decision := {"allow": to_number(input.attributes.request.http.headers["x-trace"]) > 0} if input.parsed_path[0] == "other"
decision := {"allow": to_number(input.parsed_body.user.password) > 0} if input.parsed_path[0] == "body"
decision := {"allow": to_number(input.parsed_query["x?access_token"][0]) > 0} if input.parsed_path[0] == "qkey"
decision := {"allow": to_number(input.parsed_query.next[0]) > 0} if input.parsed_path[0] == "qvalue"
decision := {"allow": to_number(input.attributes.request.http.headers["x-user-jwt"]) > 0} if input.parsed_path[0] == "shape"
`
// A credential under a name no erase list holds, recognised by its shape (a JWT).
const SHAPED = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJib2IifQ.U0hBUEVELVRPS0VOLVZBTFVF' // security-gate: allow-secret
const TOKEN = 'eyJhbGciOiJub25lIn0.SECRET-TOKEN-VALUE'
const QUERY_SECRET = 'QUERY-SECRET-VALUE'

t.test('fail-closed messages quote no credential from the input', async (t) => {
  const dir = tempDir(t)
  const spool = join(dir, 'spool')
  const up = await startUpstream()
  const logs = memoryLogger('warn')
  const b = await startBouncer({
    upstream: up.url,
    rego: { 'p.rego': POLICY },
    deps: { logger: logs.logger },
    config: {
      policy: { strict_builtin_errors: true, error_status: 500, parsed_body: { enabled: true } },
      decision_logs: { enabled: true, sinks: ['file'], file_path: join(dir, 'export.jsonl'), spool_dir: spool, fsync: 'never' },
    },
  })
  t.teardown(async () => { await b.close(); await up.close() })

  const get = async (path: string, headers: Record<string, string> = {}): Promise<number> => {
    const r = await request(`${b.url}${path}`, { headers })
    await r.body.dump()
    return r.statusCode
  }
  t.equal(await get('/header', { authorization: `Bearer ${TOKEN}` }), 500, 'the builtin error fails closed')
  t.equal(await get(`/query?access_token=${QUERY_SECRET}`), 500)
  t.equal(await get('/other', { 'x-trace': 'not-a-number-but-no-secret' }), 500)
  // What the decision log erases beyond headers and top-level parameters: a body field at
  // depth, a parameter name holding a separator, a parameter inside a value.
  const post = await request(`${b.url}/body`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ user: { name: 'bob', password: 'BODY-PASSWORD-SECRET' } }) })
  await post.body.dump()
  t.equal(post.statusCode, 500)
  t.equal(await get('/qkey?x?access_token=QKEY-SECRET-VALUE'), 500)
  t.equal(await get('/qvalue?next=/cb?token=QVALUE-SECRET-VALUE'), 500)
  t.equal(await get('/shape', { 'x-user-jwt': SHAPED }), 500)
  t.equal(up.requests.length, 0)
  // write_mode group (the default): each request was answered once its event was on disk.

  const spoolText = readdirSync(spool).filter((f) => f.endsWith('.jsonl')).map((f) => readFileSync(join(spool, f), 'utf8')).join('')
  for (const [where, text] of [['process log', logs.text()], ['decision log', spoolText]] as const) {
    t.notMatch(text, /SECRET-TOKEN-VALUE/, `${where}: the bearer token is not quoted`)
    t.notMatch(text, /QUERY-SECRET-VALUE/, `${where}: the credential query parameter is not quoted`)
    t.notMatch(text, /BODY-PASSWORD-SECRET/, `${where}: the credential body field is not quoted`)
    t.notMatch(text, /QKEY-SECRET-VALUE/, `${where}: the parameter after a "?" in a name is not quoted`)
    t.notMatch(text, /QVALUE-SECRET-VALUE/, `${where}: the parameter inside a value is not quoted`)
    t.notMatch(text, /U0hBUEVELVRPS0VOLVZBTFVF/, `${where}: a JWT under another header name is not quoted`)
    t.match(text, /to_number: .*\[erased\]/, `${where}: the message says what was cut`)
    t.match(text, /not-a-number-but-no-secret/, `${where}: a value that is no credential is kept (the message stays useful)`)
  }
})

t.test('values too short to be secrets are not cut out of messages', async (t) => {
  const scrub = compileSecretScrubber(createConfig({ upstream: { url: 'http://127.0.0.1:1' } }))
  const message = 'policy.rego:12: eval_type_error: to_number: operand 1 must be one of {null, boolean, number, string} but got object'
  const input = (body: unknown) => ({ attributes: { request: { http: { headers: {} } } }, parsed_body: body })
  t.equal(scrub(message, input({ sig: 'e', session: 1, auth: 'on' })), message, 'one- to three-character values stay')
  t.equal(scrub('got "abcdef-secret-sig" here', input({ sig: 'abcdef-secret-sig' })), 'got "[erased]" here', 'a real value is cut')
  t.equal(scrub('pin 4821 wrong', input({ password: '4821' })), 'pin [erased] wrong', 'four characters are cut')
})

// Review, session 52: messages of other failures (an invalid decision's header name, a mask
// rule's path) were logged as they were, and a policy's result or reason echoing a credential
// went to the request's log line and the decision log's result.
const ECHO = `package bouncer

decision := {"allow": true, "headers": {input.attributes.request.http.headers.authorization: "x"}} if input.parsed_path[0] == "hdrname"
decision := {"allow": true, "mask": [{"path": concat("", ["no-slash-", input.parsed_query.token[0]]), "action": "redact"}]} if input.parsed_path[0] == "maskpath"
decision := {"allow": false, "reason": sprintf("bad key %s", [input.attributes.request.http.headers["x-api-key"]])} if input.parsed_path[0] == "reason"
decision := {"allow": true, "reason": "fine", "echo": {"nested": [input.parsed_body.password], input.attributes.request.http.headers.authorization: 1}} if input.parsed_path[0] == "result"
decision := {"allow": true, "reason": sprintf("hello %s", [input.attributes.request.http.headers["x-user"]])} if input.parsed_path[0] == "plain"
`

t.test('invalid decisions, mask rules and results echoing a credential: cut out of every log', async (t) => {
  const dir = tempDir(t)
  const spool = join(dir, 'spool')
  const up = await startUpstream()
  const logs = memoryLogger('info')
  const b = await startBouncer({
    upstream: up.url,
    rego: { 'p.rego': ECHO },
    deps: { logger: logs.logger },
    config: {
      policy: { error_status: 500, parsed_body: { enabled: true } },
      decision_logs: { enabled: true, sinks: ['file'], file_path: join(dir, 'export.jsonl'), spool_dir: spool, fsync: 'never' },
    },
  })
  t.teardown(async () => { await b.close(); await up.close() })
  const send = async (path: string, headers: Record<string, string> = {}, body?: unknown): Promise<number> => {
    const r = await request(`${b.url}${path}`, body === undefined ? { headers } : { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify(body) })
    await r.body.dump()
    return r.statusCode
  }
  t.equal(await send('/hdrname', { authorization: 'Bearer HDRNAME-SECRET-TOKEN' }), 500, 'an invalid header name fails closed')
  t.equal(await send('/maskpath?token=MASKPATH-SECRET-TOKEN'), 500, 'an invalid mask rule fails closed')
  t.equal(await send('/reason', { 'x-api-key': 'REASON-SECRET-APIKEY' }), 403)
  t.equal(await send('/result', { authorization: 'Bearer RESULTKEY-SECRET-TOKEN' }, { password: 'RESULT-BODY-PASSWORD' }), 200)
  t.equal(await send('/plain', { 'x-user': 'visible-user-name' }), 200)
  const spoolText = readdirSync(spool).filter((f) => f.endsWith('.jsonl')).map((f) => readFileSync(join(spool, f), 'utf8')).join('')
  for (const [where, text] of [['process log', logs.text()], ['decision log', spoolText]] as const) {
    for (const secret of ['HDRNAME-SECRET-TOKEN', 'MASKPATH-SECRET-TOKEN', 'REASON-SECRET-APIKEY', 'RESULTKEY-SECRET-TOKEN', 'RESULT-BODY-PASSWORD']) {
      t.notMatch(text, new RegExp(secret), `${where}: ${secret} is not there`)
    }
    t.match(text, /bad key \[erased\]/, `${where}: the reason says what was cut`)
    t.match(text, /visible-user-name/, `${where}: what is no credential stays`)
  }
  t.match(spoolText, /"echo":\{"\[erased\]":1,"nested":\["\[erased\]"\]\}|"echo":\{"nested":\["\[erased\]"\],"\[erased\]":1\}/, 'the result keeps its shape, the values cut')
})

t.test('the result scrubber returns the same value when nothing is cut', async (t) => {
  const scrub = compileSecretScrubber(createConfig({ upstream: { url: 'http://127.0.0.1:1' } }))
  const input = { attributes: { request: { http: { headers: { authorization: 'Bearer abcdefgh-token' } } } } }
  const result = Object.freeze({ allow: true, reason: 'a reason', headers: Object.freeze({ 'x-a': 'b' }) })
  t.equal(scrub.result(result, input), result, 'untouched: the same (frozen, shared) object')
  t.equal(scrub.result(true, input), true)
  t.same(scrub.result({ allow: false, reason: 'token abcdefgh-token' }, input), { allow: false, reason: 'token [erased]' })
})

t.test('the scrubber (review of the fixes, session 52): any header spelling, values cut short, numbers, names and schemes kept, the shape kept', async (t) => {
  const scrub = compileSecretScrubber(createConfig({ upstream: { url: 'http://127.0.0.1:1' }, decision_logs: { erase_query_params: ['password'] } }))
  const token = 'opaque-api-key-0123456789abcdefghij'
  const input = (headers: Record<string, string>, body?: unknown) => ({ attributes: { request: { http: { headers } } }, ...(body === undefined ? {} : { parsed_body: body }) })
  // ext_authz's gRPC CheckRequest keeps the client's spelling of header names.
  t.equal(scrub(`bad Bearer ${token}`, input({ Authorization: `Bearer ${token}` })), 'bad [erased]', 'Authorization, capitalised')
  // A reason cut at 512 characters in the middle of the token.
  const reason = ('x'.repeat(480) + ' token ' + token).slice(0, 512)
  t.equal(scrub(reason, input({ authorization: `Bearer ${token}` })), 'x'.repeat(480) + ' token [erased]', 'the start of a value cut short goes too')
  t.equal(scrub('www-authenticate: Bearer error="invalid_token"', input({ authorization: `Bearer ${token}` })), 'www-authenticate: Bearer error="invalid_token"', 'the scheme of a value is no start of it')
  t.equal(scrub(`mask rule action "${token.slice(0, 40)}…"`, input({ authorization: token })), 'mask rule action "[erased]…"')
  // The auth scheme and cookie names are words, not secrets.
  const result = { allow: false, body: 'Bearer token required; csrftoken missing', headers: { 'www-authenticate': 'Bearer realm="api"' } }
  t.equal(scrub.result(result, input({ authorization: `Bearer ${token}`, cookie: 'csrftoken=abcdefgh123; sessionid=zyxwvut987' })), result, 'nothing cut: the same object')
  t.same(scrub.result({ reason: 'cookie abcdefgh123' }, input({ cookie: 'csrftoken=abcdefgh123' })), { reason: 'cookie [erased]' }, 'a cookie value is')
  // A numeric credential echoed as a number.
  t.same(scrub.result({ pin: 48213377, other: 5 }, input({}, { password: 48213377 })), { pin: '[erased]', other: 5 })
  // The shape: an own __proto__ key stays a key; keys cut alike both stay.
  const proto = JSON.parse(`{"__proto__": "${token}", "a": 1}`) as Record<string, unknown>
  const cut = scrub.result(proto, input({ authorization: token })) as Record<string, unknown>
  t.same(Object.keys(cut), ['__proto__', 'a'])
  t.equal(Object.getPrototypeOf(cut), Object.prototype)
  t.equal(cut.__proto__ === '[erased]' || Object.getOwnPropertyDescriptor(cut, '__proto__')?.value === '[erased]', true)
  t.same(Object.keys(scrub.result({ [token]: 1, '[erased]': 2 }, input({ authorization: token })) as object).sort(), ['[erased]', '[erased]*'])
})

t.test('the scrubber (third review, session 52): base64 padding is part of a token; a value\'s first characters elsewhere are ordinary text; a numeric result', async (t) => {
  const scrub = compileSecretScrubber(createConfig({ upstream: { url: 'http://127.0.0.1:1' } }))
  const input = (headers: Record<string, string>, query: Record<string, string[]> = {}) => ({ attributes: { request: { http: { headers } } }, parsed_query: query })
  const b64 = 'b3BhcXVlLXNlY3JldC10b2tlbi0xMjM0NTY3ODk='
  t.equal(scrub(`parsing "${b64}"`, input({ authorization: `Bearer ${b64}` })), 'parsing "[erased]"', 'a padded token quoted on its own')
  t.equal(scrub(`sid ${b64}`, input({ cookie: `sid=${b64}` })), 'sid [erased]', 'a padded cookie value')
  // ?key= is a credential parameter by default: other text sharing its first characters stays.
  const reason = 'tenant acme may read products/2023/summary.pdf only'
  t.equal(scrub(reason, input({}, { key: ['products/2024/report.pdf'] })), reason, 'a shared beginning is not a value cut short')
  t.equal(scrub('asked for products/2024/rep', input({}, { key: ['products/2024/report.pdf'] })), 'asked for [erased]', 'at the end of the text it is')
  const jwtA = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnLWE'
  const jwtB = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJib2IifQ.c2lnLWI'
  t.same(scrub.result({ other: jwtB }, input({ authorization: `Bearer ${jwtA}` })), { other: jwtB }, 'another JWT with the same header stays')
  t.equal(scrub.result(48213377, input({ 'x-api-key': '48213377' })), '[erased]', 'a numeric credential as the whole result')
})

t.test('the scrubber: what one builtin makes of a credential (a JWT split at its dots, a value URL-encoded, Basic credentials decoded)', async (t) => {
  const scrub = compileSecretScrubber(createConfig({ upstream: { url: 'http://127.0.0.1:1' } }))
  const input = (headers: Record<string, string>, body?: unknown) => ({ attributes: { request: { http: { headers } } }, ...(body === undefined ? {} : { parsed_body: body }) })
  const header = 'eyJhbGciOiJIUzI1NiJ9'
  const payload = 'eyJzdWIiOiJhbGljZSIsInJvbGUiOiJhZG1pbiJ9'
  const signature = 'c2lnbmF0dXJlLW9mLWFsaWNlcy10b2tlbg'
  const jwt = `${header}.${payload}.${signature}`
  // `reason := sprintf("%v", [split(token, ".")])`: each segment quoted on its own.
  t.same(scrub.result({ reason: `parts ["${header}", "${payload}", "${signature}"]` }, input({ authorization: `Bearer ${jwt}` })),
    { reason: `parts ["${header}", "[erased]", "[erased]"]` }, 'payload and signature cut; the header (no secret) kept')
  // urlquery.encode of a base64 token.
  const b64 = 'dG9rZW4rd2l0aC9zbGFzaGVzPT0+Pz8/'
  t.equal(scrub(`redirect to /cb?t=${encodeURIComponent(b64)}`, input({ 'x-api-key': b64 })), 'redirect to /cb?t=[erased]', 'the URL-encoded form')
  // base64.decode of Basic credentials, whole and the password alone.
  const basic = `Basic ${Buffer.from('alice:correct-horse-battery').toString('base64')}`
  t.equal(scrub('user alice:correct-horse-battery refused', input({ authorization: basic })), 'user [erased] refused')
  t.equal(scrub.result('password correct-horse-battery is expired', input({ authorization: basic })), 'password [erased] is expired')
  t.equal(scrub('user alice refused', input({ authorization: basic })), 'user alice refused', 'the user name alone is no secret')
  // A value with a lone surrogate (a JSON body's "\ud800") has no URL form: no failure, the value itself is still cut.
  const odd = 'secret-\ud800-value'
  t.equal(scrub(`got ${odd}`, input({}, { password: odd })), 'got [erased]')
})

t.test('the scrubber\'s derived forms (review, session 53): only a real JWT is split, the URL form is urlquery.encode\'s, a user name alone is no secret', async (t) => {
  const scrub = compileSecretScrubber(createConfig({ upstream: { url: 'http://127.0.0.1:1' } }))
  const input = (headers: Record<string, string>) => ({ attributes: { request: { http: { headers } } } })
  // `a.b.c` that is no JWT: its middle is an ordinary word.
  t.equal(scrub('upstream example denied; see www.example.org/help', input({ cookie: 'domain=www.example.com' })), 'upstream example denied; see www.example.org/help')
  t.equal(scrub('route payments refused', input({ 'x-api-key': 'prod.payments.k1' })), 'route payments refused')
  // Go's QueryEscape: "+" for a space, !'()* escaped (encodeURIComponent keeps them).
  const key = 'k3y!(secret)*value'
  t.equal(scrub('next=/cb?k=k3y%21%28secret%29%2Avalue', input({ 'x-api-key': key })), 'next=/cb?k=[erased]')
  const basic = `Basic ${Buffer.from('alice:correct horse battery').toString('base64')}`
  t.equal(scrub('retry with p=correct+horse+battery', input({ authorization: basic })), 'retry with p=[erased]')
  t.equal(scrub('user alice: not found', input({ authorization: `Basic ${Buffer.from('alice:').toString('base64')}` })), 'user alice: not found', 'no password: nothing derived')
})

t.test('derived forms of long values (review of the fixes, session 53): a 6 KB JWT and an 8 KB Cookie header keep theirs', async (t) => {
  const scrub = compileSecretScrubber(createConfig({ upstream: { url: 'http://127.0.0.1:1' } }))
  const input = (headers: Record<string, string>) => ({ attributes: { request: { http: { headers } } } })
  const payload = Buffer.from(JSON.stringify({ sub: 'alice', groups: Array.from({ length: 300 }, (_, i) => `group-${i}`) })).toString('base64url')
  const jwt = `eyJhbGciOiJSUzI1NiJ9.${payload}.c2lnbmF0dXJlLW9mLWEtbG9uZy10b2tlbg`
  t.ok(jwt.length > 4096)
  t.equal(scrub.result(`payload ${payload}`, input({ authorization: `Bearer ${jwt}` })), 'payload [erased]', 'the payload segment of a long token')
  const session = 'sess/ion+value=='
  const cookie = `${Array.from({ length: 200 }, (_, i) => `_ga${i}=GA1.2.${1000000 + i}`).join('; ')}; sid=${session}`
  t.ok(cookie.length > 4096)
  t.equal(scrub(`redirect /cb?s=${encodeURIComponent(session)}`, input({ cookie })), 'redirect /cb?s=[erased]', 'the URL form of a cookie value in a long header')
})

t.test('derived forms of a 12 KB header (third review, session 53): the header\'s own length is not charged to the budget its parts share', async (t) => {
  const scrub = compileSecretScrubber(createConfig({ upstream: { url: 'http://127.0.0.1:1' } }))
  const input = (headers: Record<string, string>) => ({ attributes: { request: { http: { headers } } } })
  const payload = Buffer.from(JSON.stringify({ sub: 'alice', groups: Array.from({ length: 700 }, (_, i) => `group-${i}`) })).toString('base64url')
  const jwt = `eyJhbGciOiJSUzI1NiJ9.${payload}.c2lnbmF0dXJlLW9mLWEtbG9uZy10b2tlbg`
  t.ok(jwt.length > 8192 && jwt.length < 16384)
  t.equal(scrub.result(`payload ${payload}`, input({ authorization: `Bearer ${jwt}` })), 'payload [erased]')
})

t.test('the scrubber (review helper, 2026-12-07): JSON-escaped and quoted credentials, and the ext_authz raw body', async (t) => {
  const scrub = compileSecretScrubber(createConfig({ upstream: { url: 'http://127.0.0.1:1' } }))
  const headers = { cookie: 'sid="QuotedSessionSecret123"', authorization: 'OAuth oauth_consumer_key="ck-123456", oauth_token="370773112-TokenSecretValue"' } // security-gate: allow-secret
  const input = { attributes: { request: { http: { headers } } } }
  const printed = JSON.stringify(headers)
  const out = scrub(`headers ${printed}`, input)
  for (const secret of ['QuotedSessionSecret123', '370773112-TokenSecretValue']) t.notOk(out.includes(secret), `${secret.slice(0, 10)}… cut from a JSON-escaped line`)
  t.ok(out.includes('[erased]'))
  t.equal(scrub('plain QuotedSessionSecret123 text', input), 'plain [erased] text', 'the quoted value\'s content, unquoted')
  // ext_authz: rawBody (base64) is dropped by the decision log; a body text nothing parsed is withheld.
  const body = 'password: TextBodySecret42'
  const raw = Buffer.from('{"password":"RawBodySecret77"}').toString('base64')
  const ext = (parsed: unknown) => ({ attributes: { request: { http: { headers: {}, body, rawBody: raw } } }, parsed_body: parsed })
  const line = scrub(`input ${JSON.stringify(ext(null))}`, ext(null))
  t.notOk(line.includes('TextBodySecret42'), 'an unparsed body text is cut')
  t.notOk(line.includes(raw), 'rawBody is cut')
  t.match(scrub(`body ${body}`, ext({ note: 'x' })), /TextBodySecret42/, 'a body that was parsed is judged by its fields, not cut whole')
})

t.test('the scrubber (review of the fixes, 2026-12-07): a credential parameter as the client encoded it; a short body text is not cut', async (t) => {
  const scrub = compileSecretScrubber(createConfig({ upstream: { url: 'http://127.0.0.1:1' } }))
  const input = { attributes: { request: { http: { headers: {}, path: '/login?token=abc%2fdef%2fghi1&x=1' } } }, parsed_query: { token: ['abc/def/ghi1'], x: ['1'] } }
  const out = scrub(`input ${JSON.stringify(input)}`, input)
  t.notOk(out.includes('abc%2fdef%2fghi1'), 'the lower-case encoding in the target is cut')
  t.notOk(out.includes('abc/def/ghi1'), 'and the decoded value')
  const form = { attributes: { request: { http: { headers: {}, path: '/login', body: 'user=bob&password=Pa55%20w0rd%21xy' } } }, parsed_body: { user: ['bob'], password: ['Pa55 w0rd!xy'] } }
  const line = scrub(`body ${form.attributes.request.http.body}`, form)
  t.notOk(line.includes('w0rd'), 'a form body\'s raw value is cut')
  t.match(line, /user=bob/, 'other parameters stay')
  const short = { attributes: { request: { http: { headers: {}, body: 'user' } } }, parsed_body: null }
  t.equal(scrub('group users', short), 'group users', 'a body text of a few characters does not cut words out of log lines')
})

t.test('the scrubber (review of the fixes, 2026-12-07): a form value as browsers encode it is cut past the raw scan\'s bound', async (t) => {
  const scrub = compileSecretScrubber(createConfig({ upstream: { url: 'http://127.0.0.1:1' } }))
  const password = 'hunter2~Secret!42 x' // security-gate: allow-secret
  const body = 'content=' + 'a'.repeat(70_000) + '&' + new URLSearchParams({ password }).toString()
  const form = { attributes: { request: { http: { headers: {}, path: '/login', body } } }, parsed_body: { content: ['x'], password: [password] } }
  const line = scrub(`form body: ${body.slice(69_990)}`, form)
  t.notOk(line.includes('hunter2'), `the WHATWG form encoding is cut (${line.slice(-40)})`)
  const lower = scrub('body password=hunter2%7esecret', { ...form, parsed_body: { password: ['hunter2~secret'] } })
  t.notOk(lower.includes('hunter2'), 'lower-case hex too')
})
