// Upgrade requests at the edges of HTTP/1.1 (found by an adversarial review): an Upgrade
// pipelined behind a request whose answer is still pending (Node parses ahead; it crashed the
// process when it was answered as plain HTTP, and was answered before the earlier request when
// tunnelled), connections whose Upgrade was refused and which the client never closes (Node
// takes its timeouts off an upgrade socket: each one was held for ever), and an Upgrade without
// Host (Node checks Host on every HTTP/1.1 request but those).
import { connect, type Socket } from 'node:net'
import t, { type Test } from 'tap'
import { request } from 'undici'
import { startBouncer, startUpstream, rawRequest } from '../helpers/index.js'

const POLICY = `package bouncer

default decision := {"allow": false, "reason": "default deny"}

decision := {"allow": true} if input.parsed_path[0] != "admin"
`

async function setup (t: Test, server: Record<string, unknown> = {}) {
  const up = await startUpstream()
  // /slow answers after 300 ms: an Upgrade pipelined behind it arrives while it is pending.
  up.handle = (req, res) => {
    const send = (): void => { res.writeHead(200, { 'content-type': 'text/plain' }); res.end(`answer to ${req.url}`) }
    if (req.url?.startsWith('/slow')) setTimeout(send, 300)
    else send()
  }
  const b = await startBouncer({ upstream: up.url, rego: { 'p.rego': POLICY }, config: { server } })
  t.teardown(async () => { await b.close(); await up.close() })
  return { up, b }
}

const WS = (path: string, extra = ''): string =>
  `GET ${path} HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n${extra}\r\n`
const H2C = (path: string): string => `GET ${path} HTTP/1.1\r\nHost: h\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n\r\n`

const statuses = (text: string): string[] => [...text.matchAll(/HTTP\/1\.1 (\d{3})/g)].map((m) => m[1]!)

t.test('an Upgrade pipelined behind a pending request waits its turn', async (t) => {
  const { up, b } = await setup(t)
  const died: unknown[] = []
  const onErr = (e: unknown): void => { died.push(e) }
  process.on('uncaughtException', onErr)
  t.teardown(() => process.off('uncaughtException', onErr))

  // Not tunnelled (h2c): answered as plain HTTP, after the first answer. This threw
  // ERR_HTTP_SOCKET_ASSIGNED out of Node's parser (the process exited).
  const plain = await rawRequest(b.port, 'GET /slow/1 HTTP/1.1\r\nHost: h\r\n\r\n' + H2C('/public/2'), 1500)
  t.same(died, [], 'nothing thrown')
  t.same(statuses(plain.text), ['200', '200'], 'both answered')
  t.ok(plain.text.indexOf('answer to /slow/1') < plain.text.indexOf('answer to /public/2'), 'in order')

  // Tunnelled (WebSocket): the 101 comes after the first answer, not before it (the first
  // answer used to arrive inside the tunnel).
  const ws = await rawRequest(b.port, 'GET /slow/3 HTTP/1.1\r\nHost: h\r\n\r\n' + WS('/ws/4'), 1500)
  t.same(statuses(ws.text), ['200', '101'])
  t.ok(ws.text.indexOf('answer to /slow/3') < ws.text.indexOf('101 Switching'), 'the 101 after the first answer')

  // Denied: the first answer is not lost (its request reached the upstream).
  const denied = await rawRequest(b.port, 'GET /slow/5 HTTP/1.1\r\nHost: h\r\n\r\n' + WS('/admin/6'), 1500)
  t.same(statuses(denied.text), ['200', '403'])
  t.match(denied.text, /answer to \/slow\/5/)
  t.same(up.requests.map((r) => r.url), ['/slow/1', '/public/2', '/slow/3', '/ws/4', '/slow/5'], 'the upstream got what the client was answered for, never /admin')
  up.requests.length = 0

  // Two answers pending: the Upgrade waits for both (it waited for the first only, and the
  // second threw ERR_HTTP_SOCKET_ASSIGNED again).
  for (const [upgrade, last] of [[H2C('/public/7'), '200'], [WS('/ws/8'), '101'], [WS('/admin/9'), '403']] as const) {
    const two = await rawRequest(b.port, 'GET /slow/a HTTP/1.1\r\nHost: h\r\n\r\nGET /public/b HTTP/1.1\r\nHost: h\r\n\r\n' + upgrade, 1500)
    t.same(statuses(two.text), ['200', '200', last], `two pending, then ${last}`)
    t.ok(two.text.indexOf('answer to /slow/a') < two.text.indexOf('answer to /public/b'), 'in order')
  }
  t.same(died, [], 'nothing thrown')

  const after = await request(`${b.url}/public/after`)
  t.equal(after.statusCode, 200, 'still serving')
  await after.body.dump()
})

t.test('a refused or denied Upgrade\'s connection is closed even when the client keeps its side open', async (t) => {
  const { b } = await setup(t, { max_connections: 5 })
  const connections = (): Promise<number> => new Promise((resolve) => b.app.proxy.server.getConnections((_e, n) => resolve(n)))
  const halfOpen = async (payload: string): Promise<{ s: Socket; got: () => string }> => {
    const s = connect({ port: b.port, host: '127.0.0.1', allowHalfOpen: true })
    let buf = ''
    s.on('data', (d: Buffer) => { buf += d.toString('latin1') })
    s.on('error', () => {})
    s.on('end', () => {}) // our side stays open
    await new Promise((resolve) => s.once('connect', resolve))
    s.write(payload)
    return { s, got: () => buf }
  }
  const cases: Array<[string, string, string]> = [
    ['denied', WS('/admin/x'), '403'],
    ['bad path', WS('/public/a%2Fb'), '400'],
    ['a body', WS('/public/x', 'Content-Length: 1\r\n').replace(/\r\n\r\n$/, '\r\n\r\nx'), '400'],
    ['h2c, answered as plain HTTP', H2C('/admin/y'), '403'],
    ['upstream refuses the upgrade (404)', WS('/public/not-ws'), '404'],
  ]
  const held: Socket[] = []
  for (const [what, payload, status] of cases) {
    const c = await halfOpen(payload)
    held.push(c.s)
    for (let i = 0; i < 100 && !c.got().includes('\r\n\r\n'); i++) await new Promise((resolve) => setTimeout(resolve, 20))
    t.equal(statuses(c.got())[0], status, `${what}: answered ${status}`)
  }
  t.teardown(() => { for (const s of held) s.destroy() })
  // Lingering (2 s) then closed: the five slots are free again.
  let n = await connections()
  for (let i = 0; i < 100 && n > 0; i++) { await new Promise((resolve) => setTimeout(resolve, 50)); n = await connections() }
  t.equal(n, 0, 'every such connection was closed by the bouncer')
  const ok = await rawRequest(b.port, 'GET /public/next HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n')
  t.equal(ok.status, 200, 'a new client gets in (max_connections 5)')
})

t.test('an HTTP/1.1 Upgrade without Host is refused, as any HTTP/1.1 request without Host', async (t) => {
  const { up, b } = await setup(t)
  const noHost = (upgrade: string): string => `GET /public/x HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: ${upgrade}\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`
  t.equal((await rawRequest(b.port, noHost('websocket'), 1000)).status, 400, 'websocket')
  t.equal((await rawRequest(b.port, noHost('h2c'), 1000)).status, 400, 'h2c (answered as plain HTTP)')
  t.equal((await rawRequest(b.port, 'GET /public/x HTTP/1.1\r\n\r\n', 1000)).status, 400, 'as a plain request')
  t.equal(up.requests.length, 0, 'none reached the upstream')
})

t.test('a 101 to a WebSocket upgrade must answer the client\'s key (Sec-WebSocket-Accept)', async (t) => {
  // An upstream endpoint that can be made to answer 101 while it stays HTTP (a status echoed
  // from a parameter, a misbehaving health check): tunnelled, the client's next bytes would reach
  // it as HTTP requests the policy never judged ("WebSocket smuggling").
  const { createServer } = await import('node:http')
  const seen: string[] = []
  const liar = createServer((req, res) => { seen.push(req.url!); res.end('ok') })
  liar.on('upgrade', (req, socket) => {
    seen.push(req.url!)
    const accept = req.url === '/ws/wrong-accept' ? 'AAAAAAAAAAAAAAAAAAAAAAAAAAA=' : undefined
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n${accept ? `Sec-WebSocket-Accept: ${accept}\r\n` : ''}\r\n`)
    socket.on('data', (d: Buffer) => { seen.push(`raw: ${d.toString('latin1').split('\r\n')[0]}`) })
  })
  await new Promise<void>((resolve) => liar.listen(0, '127.0.0.1', () => resolve()))
  t.teardown(() => { liar.closeAllConnections(); liar.close() })
  const b = await startBouncer({ upstream: `http://127.0.0.1:${(liar.address() as import('node:net').AddressInfo).port}`, rego: { 'p.rego': POLICY } })
  t.teardown(() => b.close())
  for (const path of ['/ws/no-accept', '/ws/wrong-accept']) {
    const r = await rawRequest(b.port, WS(path) + 'GET /admin/secrets HTTP/1.1\r\nHost: h\r\n\r\n', 1000)
    t.equal(r.status, 502, `${path}: no tunnel`)
  }
  t.same(seen, ['/ws/no-accept', '/ws/wrong-accept'], 'the smuggled request never reached the upstream')

  // A real WebSocket server still tunnels.
  const { up, b: b2 } = await setup(t)
  const ok = await rawRequest(b2.port, WS('/ws/real'), 1000)
  t.equal(ok.status, 101)
  t.equal(up.requests.at(-1)!.url, '/ws/real')
})

t.test('a client that leaves while its Upgrade waits stops the earlier request too', async (t) => {
  const { up, b } = await setup(t)
  let aborted = false
  up.handle = (req, res) => {
    res.on('close', () => { if (!res.writableFinished) aborted = true })
    setTimeout(() => { if (!res.destroyed) res.end('late') }, 3000)
  }
  const s = connect(b.port, '127.0.0.1')
  s.on('error', () => {})
  await new Promise((resolve) => s.once('connect', resolve))
  s.write('GET /slow/x HTTP/1.1\r\nHost: h\r\n\r\n' + WS('/ws/y'))
  for (let i = 0; i < 100 && up.requests.length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 10))
  s.destroy()
  for (let i = 0; i < 100 && !aborted; i++) await new Promise((resolve) => setTimeout(resolve, 20))
  t.ok(aborted, 'the upstream request was aborted when the client left, not answered 3 s later')
})
