// An HTTP/1.0 request may carry no Host (Node requires one only of HTTP/1.1). The upstream then
// gets the upstream's authority as Host (upstream.preserve_host has none to preserve), and the
// policy must judge that same host: http.host was "" while headers.host and the upstream's
// Host were the upstream's authority (review, session 52).
import t from 'tap'
import { startBouncer, startUpstream, rawRequest } from '../helpers/index.js'

// Allowed only when http.host is the upstream's own authority, and the header agrees.
const policy = (upstreamHost: string): string => `package bouncer

default decision := {"allow": false, "reason": "host"}

decision := {"allow": true} if {
  input.attributes.request.http.host == ${JSON.stringify(upstreamHost)}
  input.attributes.request.http.headers.host == input.attributes.request.http.host
}
`

t.test('HTTP/1.0 without Host: the policy judges the Host the upstream receives', async (t) => {
  const up = await startUpstream()
  const upstreamHost = `127.0.0.1:${up.port}`
  const b = await startBouncer({ upstream: up.url, rego: { 'p.rego': policy(upstreamHost) } })
  t.teardown(async () => { await b.close(); await up.close() })

  const r = await rawRequest(b.port, 'GET /public HTTP/1.0\r\n\r\n')
  t.equal(r.status, 200, 'allowed: http.host is the forwarded authority')
  t.equal(up.requests.length, 1)
  t.equal(up.requests[0]?.headers.host, upstreamHost, 'the upstream got that Host')

  const ws = await rawRequest(b.port, 'GET /ws HTTP/1.0\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n', 1000)
  t.equal(ws.status, 101, 'an upgrade the same way')
  t.equal(up.requests.at(-1)?.headers.host, upstreamHost)

  // A client naming a host still gets that one judged (and denied here).
  const other = await rawRequest(b.port, 'GET /public HTTP/1.0\r\nHost: api.example\r\n\r\n')
  t.equal(other.status, 403, 'a named Host is judged as named')
  t.equal(up.requests.length, 2, 'and not forwarded')
})
