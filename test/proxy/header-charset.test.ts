// server.header_charset: how the policy reads request header values with bytes >= 0x80. They are
// forwarded as the same bytes whatever the setting; the setting makes the policy read them as the
// upstream does (Latin-1 for Node/Python/Java, UTF-8 for Go), or refuses them. A deny rule on
// "José" must hold against a UTF-8 "José" when the upstream reads UTF-8.
import { connect as h2connect } from 'node:http2'
import t, { type Test } from 'tap'
import { request } from 'undici'
import type { BouncerConfig, DecisionEventInput, DecisionLogger } from '../../src/index.js'
import type { DeepPartial } from '../../src/config/index.js'
import { startBouncer, startUpstream, rawRequest } from '../helpers/index.js'
import { startExtAuthz } from '../ext-authz/fixtures/client.js'

const POLICY = `package bouncer

default decision := {"allow": false, "reason": "default deny"}

decision := {"allow": true} if {
  input.parsed_path[0] == "public"
  not blocked
}

blocked if input.attributes.request.http.headers["x-user"] == "José"
`

class InputRecorder implements DecisionLogger {
  users: Array<string | undefined> = []
  record (e: DecisionEventInput): void {
    this.users.push((e.input as { attributes: { request: { http: { headers: Record<string, string> } } } }).attributes.request.http.headers['x-user'])
  }
}

const JOSE_UTF8 = Buffer.from('José', 'utf8') // 4a 6f 73 c3 a9
const ZOE_UTF8 = Buffer.from('Zoë', 'utf8')
const get = (user: Buffer, path = '/public/a'): Buffer => Buffer.concat([
  Buffer.from(`GET ${path} HTTP/1.1\r\nHost: api.local\r\nX-User: `), user, Buffer.from('\r\nConnection: close\r\n\r\n'),
])

async function setup (t: Test, charset?: 'latin1' | 'utf8' | 'ascii', extra: DeepPartial<BouncerConfig> = {}) {
  const up = await startUpstream()
  const rec = new InputRecorder()
  const config = { ...extra, server: { ...(extra.server ?? {}), ...(charset !== undefined ? { header_charset: charset } : {}) } }
  const b = await startBouncer({ upstream: up.url, rego: { 'p.rego': POLICY }, deps: { decisionLog: rec }, config })
  t.teardown(async () => { await b.close(); await up.close() })
  return { up, b, rec }
}

const rawValue = (headers: string[], name: string): Buffer | undefined => {
  for (let i = 0; i + 1 < headers.length; i += 2) if (headers[i]!.toLowerCase() === name) return Buffer.from(headers[i + 1]!, 'latin1')
  return undefined
}

t.test('latin1 (default): one character per byte, forwarded as the same bytes', async (t) => {
  const { up, b, rec } = await setup(t)
  const r = await rawRequest(b.port, get(JOSE_UTF8))
  t.equal(r.status, 200, 'the Latin-1 reading of UTF-8 "José" is not "José": the rule does not match')
  t.same(rec.users, ['JosÃ©'])
  t.same(rawValue(up.requests[0]!.rawHeaders, 'x-user'), JOSE_UTF8, 'the upstream got the bytes the client sent')
  const latin = await rawRequest(b.port, get(Buffer.from('José', 'latin1')))
  t.equal(latin.status, 403, 'the Latin-1 byte e9 is é: denied')
})

t.test('utf8: values are decoded as UTF-8 (a Go upstream\'s reading); not valid UTF-8 is refused', async (t) => {
  const { up, b, rec } = await setup(t, 'utf8')
  const jose = await rawRequest(b.port, get(JOSE_UTF8))
  t.equal(jose.status, 403, 'UTF-8 "José" is José to the policy: the deny rule holds')
  const zoe = await rawRequest(b.port, get(ZOE_UTF8))
  t.equal(zoe.status, 200)
  t.same(rec.users, ['José', 'Zoë'], 'the policy read the characters')
  t.equal(up.requests.length, 1)
  t.same(rawValue(up.requests[0]!.rawHeaders, 'x-user'), ZOE_UTF8, 'forwarded as the same bytes')

  for (const bad of [Buffer.from('Jos\xe9', 'latin1'), Buffer.from([0x41, 0xc3]), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from([0xc0, 0xaf])]) {
    const r = await rawRequest(b.port, get(bad))
    t.equal(r.status, 400, `not UTF-8 (${bad.toString('hex')}): refused`)
    t.match(r.text, /"error"/)
  }
  t.equal(up.requests.length, 1, 'no refused request reached the upstream')
  t.equal(rec.users.length, 2, 'and the policy was not asked')
  const ascii = await rawRequest(b.port, get(Buffer.from('bob')))
  t.equal(ascii.status, 200, 'ASCII values are unaffected')
})

t.test('ascii: any value with a byte >= 0x80 is refused', async (t) => {
  const { up, b } = await setup(t, 'ascii')
  t.equal((await rawRequest(b.port, get(JOSE_UTF8))).status, 400)
  t.equal((await rawRequest(b.port, get(Buffer.from('José', 'latin1')))).status, 400)
  t.equal(up.requests.length, 0)
  t.equal((await rawRequest(b.port, get(Buffer.from('bob')))).status, 200)
  t.equal(up.requests.length, 1)
})

t.test('utf8 on HTTP/2 streams and on upgrades', async (t) => {
  const { up, b } = await setup(t, 'utf8', { server: { http2: { cleartext: true } } })
  const s = h2connect(b.url)
  t.teardown(() => s.close())
  const status = (user: string): Promise<number> => new Promise((resolve, reject) => {
    // Node writes a header value's characters as bytes (Latin-1): this sends the UTF-8 bytes.
    const req = s.request({ ':method': 'GET', ':path': '/public/h2', 'x-user': user })
    req.on('response', (h) => { resolve(Number(h[':status'])); req.resume() })
    req.on('error', reject)
    req.end()
  })
  t.equal(await status(JOSE_UTF8.toString('latin1')), 403, 'HTTP/2: UTF-8 "José" denied')
  t.equal(await status('Jos\xe9'), 400, 'HTTP/2: not UTF-8, refused')
  t.equal(await status(ZOE_UTF8.toString('latin1')), 200)
  t.equal(up.requests.length, 1)

  const upgrade = (user: Buffer): Buffer => Buffer.concat([
    Buffer.from('GET /public/ws HTTP/1.1\r\nHost: api.local\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nX-User: '),
    user, Buffer.from('\r\n\r\n'),
  ])
  const bad = await rawRequest(b.port, upgrade(Buffer.from('Jos\xe9', 'latin1')), 1000)
  t.equal(bad.status, 400, 'an upgrade with a value that is not UTF-8: refused')
  const denied = await rawRequest(b.port, upgrade(JOSE_UTF8), 1000)
  t.equal(denied.status, 403, 'an upgrade with UTF-8 "José": denied')
  t.equal(up.requests.length, 1, 'neither reached the upstream')
})

t.test('utf8 on Envoy\'s HTTP ext_authz', async (t) => {
  const rego = `package envoy.authz

default allow := false

allow if input.attributes.request.http.headers["x-user"] == "Zoë"
`
  const b = await startExtAuthz({ rego, entrypoint: 'envoy/authz/allow', config: { server: { header_charset: 'utf8' }, ext_authz: { http: { path_prefix: '/authz' } } } })
  t.teardown(() => b.close())
  const ask = async (user: Buffer): Promise<number> => {
    const r = await rawRequest(b.httpPort, Buffer.concat([Buffer.from('GET /authz/x HTTP/1.1\r\nHost: a\r\nX-User: '), user, Buffer.from('\r\nConnection: close\r\n\r\n')]))
    return r.status ?? 0
  }
  t.equal(await ask(ZOE_UTF8), 200, 'UTF-8 "Zoë" is Zoë to the policy')
  t.equal(await ask(Buffer.from('Zo\xeb', 'latin1')), 400, 'not UTF-8: refused (denied)')
  const plain = await request(`http://127.0.0.1:${b.httpPort}/authz/x`, { headers: { 'x-user': 'bob' } })
  t.equal(plain.statusCode, 403)
  await plain.body.dump()
})
