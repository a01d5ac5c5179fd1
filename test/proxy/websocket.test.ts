// WebSocket / Upgrade: evaluated like any request, then tunnelled.
import t from 'tap'
import { WebSocket } from 'ws'
import { startBouncer, startUpstream, rawRequest } from '../helpers/index.js'

const POLICY = `package bouncer

default decision := {"allow": false, "reason": "no"}

decision := {"allow": true, "headers": {"x-ws-user": "checked"}, "response_headers": {"x-policy": "ws"}} if {
  input.parsed_path[0] == "ws"
  input.attributes.request.http.headers.upgrade == "websocket"
  input.parsed_query.room[0] != "secret"
}

decision := {"allow": false, "status": 401, "body": "token required"} if input.parsed_path[0] == "wsauth"

decision := {"allow": true, "mask": [{"path": "/x", "action": "redact"}]} if input.parsed_path[0] == "wsmask"

decision := true if input.parsed_path[0] == "nows"
`

function open (url: string, headers: Record<string, string> = {}): Promise<{ ws: WebSocket; res?: import('node:http').IncomingMessage; status?: number; body?: string }> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, { headers })
    ws.once('open', () => resolve({ ws }))
    ws.once('unexpected-response', (_req, res) => {
      let body = ''
      res.on('data', (c: Buffer) => { body += c.toString() })
      res.on('end', () => resolve({ ws, res, status: res.statusCode, body }))
    })
    ws.once('error', () => resolve({ ws, status: -1 }))
  })
}

t.test('websocket', async (t) => {
  const up = await startUpstream()
  const b = await startBouncer({ upstream: up.url, rego: { 'p.rego': POLICY } })
  t.teardown(async () => { await b.close(); await up.close() })
  const wsUrl = b.url.replace('http', 'ws')

  t.test('allowed upgrades are tunnelled both ways', async (t) => {
    const { ws } = await open(`${wsUrl}/ws/chat?room=lobby`)
    t.equal(ws.readyState, WebSocket.OPEN)
    const echoes: string[] = []
    const got = new Promise<void>((resolve) => ws.on('message', (m) => { echoes.push(m.toString()); if (echoes.length === 3) resolve() }))
    ws.send('one'); ws.send('two'); ws.send('x'.repeat(100000))
    await got
    t.same(echoes.slice(0, 2), ['echo:one', 'echo:two'])
    t.equal(echoes[2].length, 100005)
    const rec = up.requests.at(-1)!
    t.equal(rec.url, '/ws/chat?room=lobby')
    t.equal(rec.headers['x-ws-user'], 'checked', 'decision headers are added to the upgrade request')
    t.equal(rec.headers['x-forwarded-for'], '127.0.0.1')
    const m = await (await fetch(`${b.adminUrl}/metrics`)).text()
    t.match(m, /bouncer_websocket_connections 1/)
    ws.close()
    await new Promise((r) => ws.once('close', r))
    await new Promise((r) => setTimeout(r, 50))
    t.match(await (await fetch(`${b.adminUrl}/metrics`)).text(), /bouncer_websocket_connections 0/)
  })

  t.test('denied upgrades never reach the upstream', async (t) => {
    up.requests.length = 0
    const r1 = await open(`${wsUrl}/ws/chat?room=secret`)
    t.equal(r1.status, 403)
    const r2 = await open(`${wsUrl}/wsauth`)
    t.equal(r2.status, 401)
    t.equal(r2.body, 'token required')
    const r3 = await open(`${wsUrl}/ws/..%2fadmin`)
    t.equal(r3.status, 400, 'the same normalisation applies')
    const r4 = await open(`${wsUrl}/wsmask`)
    t.equal(r4.status, 502, 'a tunnel cannot be masked: fail closed')
    t.equal(up.requests.length, 0)
  })

  t.test('traversal in an upgrade request is judged on the canonical path', async (t) => {
    up.requests.length = 0
    const raw = await rawRequest(b.port, 'GET /nows/../ws/x?room=a HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n', 500)
    t.match(raw.text, /^HTTP\/1\.1 101/)
    t.match(raw.text, /x-policy: ws/i)
    t.equal(up.requests[0].url, '/ws/x?room=a')
  })

  t.test('a non-101 answer from the upstream is relayed', async (t) => {
    const raw = await rawRequest(b.port, 'GET /nows/plain HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n', 1000)
    t.match(raw.text, /^HTTP\/1\.1 404/)
  })
})
