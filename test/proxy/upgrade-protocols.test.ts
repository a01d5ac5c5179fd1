// Upgrades (issue 15): only protocols in server.upgrade.allowed (default websocket) are tunnelled.
// h2c is never tunnelled: the HTTP/2 requests a client sends through the tunnel would reach the
// upstream without evaluation. Such a request is answered as plain HTTP/1.1 (Upgrade removed), the
// connection closed after it. Upgrades go through the same forwarder as HTTP, upstream.tls included.
import { execFileSync, spawnSync } from 'node:child_process'
import { createServer as createHttpsServer } from 'node:https'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { AddressInfo } from 'node:net'
import t from 'tap'
import { WebSocket, WebSocketServer } from 'ws'
import { startBouncer, startUpstream, rawRequest, memoryLogger, type Upstream } from '../helpers/index.js'
import { tempDir } from '../decision-log/fixtures/control-plane.js'
import { createConfig } from '../../src/config/index.js'

const POLICY = `package bouncer

default decision := {"allow": false}

decision := {"allow": true} if input.parsed_path[0] == "public"
decision := {"allow": true} if input.parsed_path[0] == "ws"
`

/** The upstream switches to whatever protocol is asked for and records the bytes sent through the tunnel. */
function acceptAnyUpgrade (up: Upstream): { tunnelled: Buffer[]; upgrades: string[] } {
  const seen = { tunnelled: [] as Buffer[], upgrades: [] as string[] }
  up.server.removeAllListeners('upgrade')
  up.server.on('upgrade', (req, socket, head) => {
    seen.upgrades.push(`${req.method} ${req.url} ${req.headers.upgrade}`)
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: ${req.headers.upgrade}\r\n\r\n`)
    if (head.length) seen.tunnelled.push(head)
    socket.on('data', (d: Buffer) => seen.tunnelled.push(d))
    socket.on('error', () => {})
  })
  return seen
}

const H2C = 'GET /public/x HTTP/1.1\r\nHost: api.local\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n\r\n'
// What a client sends once it believes the connection switched: the HTTP/2 preface and frames,
// or simply more requests nobody evaluates.
const SMUGGLED = 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\nGET /admin/secrets HTTP/1.1\r\nHost: api.local\r\n\r\n'

t.test('h2c and other protocols that are not allowed are never tunnelled', async (t) => {
  const up = await startUpstream()
  const seen = acceptAnyUpgrade(up)
  const mem = memoryLogger()
  const b = await startBouncer({ upstream: up.url, rego: { 'p.rego': POLICY }, deps: { logger: mem.logger } })
  t.teardown(async () => { await b.close(); await up.close() })

  t.test('h2c: answered as plain HTTP/1.1, nothing after it reaches the upstream', async (t) => {
    const r = await rawRequest(b.port, H2C + SMUGGLED)
    t.match(r.text, /^HTTP\/1\.1 200 /, 'a plain 200, not 101')
    t.notMatch(r.text, /^upgrade:/im, 'no Upgrade in the answer')
    t.match(r.text, /^connection: close/im, 'the connection is closed after the response')
    t.same(seen.upgrades, [], 'the upstream was never asked to upgrade')
    t.same(seen.tunnelled, [], 'no bytes went through a tunnel')
    t.equal(up.requests.length, 1, 'one request reached the upstream')
    const got = up.requests[0]
    t.equal(got.url, '/public/x')
    for (const h of ['upgrade', 'http2-settings']) t.notOk(h in got.headers, `${h} not forwarded`)
    t.not(got.headers.connection, 'upgrade')
    t.notOk(up.requests.some((q) => q.url.startsWith('/admin')), 'the smuggled request never reached the upstream')
    const line = mem.lines().filter((l) => l.msg === 'request').at(-1)!
    t.equal(line.decision, 'allow')
    t.equal(line.status, 200)
  })

  t.test('h2c on a denied path: the policy decides as for any request', async (t) => {
    up.requests.length = 0
    const r = await rawRequest(b.port, H2C.replace('/public/x', '/admin') + SMUGGLED)
    t.match(r.text, /^HTTP\/1\.1 403 /)
    t.equal(up.requests.length, 0)
    t.same(seen.tunnelled, [])
  })

  t.test('a protocol list with anything not allowed is not an upgrade', async (t) => {
    for (const proto of ['websocket, h2c', 'foo/1', 'H2C']) {
      up.requests.length = 0
      const r = await rawRequest(b.port, `GET /public/y HTTP/1.1\r\nHost: api.local\r\nConnection: Upgrade\r\nUpgrade: ${proto}\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n${SMUGGLED}`)
      t.match(r.text, /^HTTP\/1\.1 200 /, `${proto}: plain HTTP`)
      t.equal(up.requests.length, 1)
      t.notOk('upgrade' in up.requests[0].headers, `${proto}: Upgrade not forwarded`)
    }
    t.same(seen.upgrades, [])
    t.same(seen.tunnelled, [])
  })

  t.test('a body on an Upgrade that is not tunnelled is refused (it cannot be re-framed)', async (t) => {
    up.requests.length = 0
    const r = await rawRequest(b.port, 'POST /public/z HTTP/1.1\r\nHost: api.local\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\nContent-Length: 5\r\n\r\nhello')
    t.match(r.text, /^HTTP\/1\.1 400 /)
    t.equal(up.requests.length, 0)
    t.same(seen.tunnelled, [])
  })

  t.test('a body on a tunnelled Upgrade is refused: it would go into the tunnel as the new protocol\'s first bytes', async (t) => {
    const smuggle = 'GET /admin/secrets HTTP/1.1\r\nHost: api.local\r\n\r\n'
    for (const framing of [`Content-Length: ${smuggle.length}\r\n\r\n${smuggle}`, `Transfer-Encoding: chunked\r\n\r\n${smuggle.length.toString(16)}\r\n${smuggle}\r\n0\r\n\r\n`]) {
      up.requests.length = 0
      seen.upgrades.length = 0
      const r = await rawRequest(b.port, `GET /ws/a HTTP/1.1\r\nHost: api.local\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n${framing}`)
      t.match(r.text, /^HTTP\/1\.1 400 /, framing.split(':')[0])
      t.same(seen.upgrades, [], 'the upstream was not asked to switch')
      t.equal(up.requests.length, 0)
      t.same(seen.tunnelled, [])
    }
  })

  t.test('the upstream must switch to the protocol that was allowed', async (t) => {
    up.server.removeAllListeners('upgrade')
    up.server.on('upgrade', (_req, socket) => {
      socket.write('HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n')
      socket.on('data', (d: Buffer) => seen.tunnelled.push(d))
      socket.on('error', () => {})
    })
    const r = await rawRequest(b.port, `GET /ws/a HTTP/1.1\r\nHost: api.local\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n${SMUGGLED}`)
    t.match(r.text, /^HTTP\/1\.1 502 /, 'a 101 to h2c instead of websocket: 502')
    t.same(seen.tunnelled, [])
  })
})

t.test('server.upgrade.allowed: other protocols can be allowed; h2c cannot', async (t) => {
  const up = await startUpstream()
  const seen = acceptAnyUpgrade(up)
  const b = await startBouncer({ upstream: up.url, rego: { 'p.rego': POLICY }, config: { server: { upgrade: { allowed: ['websocket', 'foo'] } } } })
  t.teardown(async () => { await b.close(); await up.close() })
  const r = await rawRequest(b.port, 'GET /public/f HTTP/1.1\r\nHost: api.local\r\nConnection: Upgrade\r\nUpgrade: foo/1\r\n\r\nhello', 500)
  t.match(r.text, /^HTTP\/1\.1 101 /)
  t.same(seen.upgrades, ['GET /public/f foo/1'])
  t.throws(() => createConfig({ server: { upgrade: { allowed: ['websocket', 'h2c'] } } }), /server\.upgrade\.allowed: "h2c" is never tunnelled/)
})

t.test('upgrades use upstream.tls like every other request', { skip: spawnSync('openssl', ['version']).status === 0 ? false : 'openssl is not on PATH' }, async (t) => {
  const dir = tempDir(t)
  const ssl = (...args: string[]): void => { execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' }) }
  ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '1', '-subj', '/CN=test-ca')
  writeFileSync(join(dir, 'san.ext'), 'subjectAltName=IP:127.0.0.1\n')
  ssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=upstream')
  ssl('x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.pem', '-days', '1', '-extfile', 'san.ext')

  const server = createHttpsServer({ key: readFileSync(join(dir, 'server.key')), cert: readFileSync(join(dir, 'server.pem')) }, (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' }); res.end('https ok')
  })
  const wss = new WebSocketServer({ server })
  wss.on('connection', (ws) => ws.on('message', (m) => ws.send(`tls-echo:${m.toString()}`)))
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
  const port = (server.address() as AddressInfo).port
  const b = await startBouncer({
    upstream: `https://127.0.0.1:${port}`, rego: { 'p.rego': POLICY },
    config: { upstream: { tls: { ca_file: join(dir, 'ca.pem') } } },
  })
  t.teardown(async () => {
    await b.close()
    wss.clients.forEach((c) => c.terminate())
    await new Promise<void>((resolve) => { wss.close(); server.closeAllConnections(); server.close(() => resolve()) })
  })

  const plain = await fetch(`${b.url}/public/p`)
  t.equal(await plain.text(), 'https ok', 'HTTP through the configured CA')

  const ws = new WebSocket(`${b.url.replace('http', 'ws')}/ws/tls`)
  const outcome = await new Promise<string>((resolve) => {
    ws.once('open', () => { ws.send('hi'); ws.once('message', (m) => resolve(m.toString())) })
    ws.once('unexpected-response', (_req, res) => resolve(`status ${res.statusCode}`))
    ws.once('error', (e) => resolve(`error ${e.message}`))
  })
  t.equal(outcome, 'tls-echo:hi', 'the upgrade went through the same TLS settings (CA) and was tunnelled')
  ws.close()
})
