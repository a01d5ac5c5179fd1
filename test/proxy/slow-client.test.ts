// HTTP/1.1 header and request timeouts fire when configured (review helper, 2026-12-07): Node
// checks them on a timer that defaulted to every 30 s, so a head trickled a byte at a time held
// its connection ~20 s past a 5 s headers_timeout_seconds. Now they are checked every second.
import { connect } from 'node:net'
import t from 'tap'
import { startBouncer, startUpstream } from '../helpers/index.js'

const ALLOW = 'package bouncer\n\ndecision := {"allow": true}\n'

/** Sends `head` a byte every 100 ms; resolves with what the server answered and when it closed. */
function trickle (port: number, head: string, thenBody = ''): Promise<{ ms: number; text: string }> {
  return new Promise((resolve) => {
    const t0 = Date.now()
    const sock = connect(port, '127.0.0.1')
    let text = ''
    let i = 0
    const data = head + thenBody
    const timer = setInterval(() => { if (i < data.length && !sock.destroyed) sock.write(data[i++]!) }, 100)
    sock.on('data', (d) => { text += d.toString('latin1') })
    sock.on('error', () => {})
    sock.on('close', () => { clearInterval(timer); resolve({ ms: Date.now() - t0, text }) })
  })
}

t.test('a head or body trickled past its timeout is answered 408 within about a second of it', async (t) => {
  const up = await startUpstream()
  const b = await startBouncer({ upstream: up.url, rego: { 'p.rego': ALLOW }, config: { server: { headers_timeout_seconds: 1, request_timeout_seconds: 2 } } })
  t.teardown(async () => { await b.close(); await up.close() })
  // 60 bytes at 10 a second: 6 s to send the head, past the 1 s headers timeout.
  const head = await trickle(b.port, 'GET /x HTTP/1.1\r\nHost: a\r\nX-Padding: ' + 'p'.repeat(40) + '\r\n\r\n')
  t.match(head.text, /^HTTP\/1\.1 408/, 'the head timed out')
  t.ok(head.ms < 4000, `closed after ${head.ms} ms (headers_timeout_seconds 1; checked every 30 s, it ran on)`)
  // A whole head, then a body trickled past the 2 s request timeout.
  const slowBody = await new Promise<{ ms: number; text: string }>((resolve) => {
    const t0 = Date.now()
    const sock = connect(b.port, '127.0.0.1', () => sock.write('POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\n'))
    let text = ''
    let n = 0
    const timer = setInterval(() => { if (n++ < 100 && !sock.destroyed) sock.write('x') }, 100)
    sock.on('data', (d) => { text += d.toString('latin1') })
    sock.on('error', () => {})
    sock.on('close', () => { clearInterval(timer); resolve({ ms: Date.now() - t0, text }) })
  })
  t.ok(slowBody.ms < 5000, `a body trickled over 10 s is cut after ${slowBody.ms} ms (request_timeout_seconds 2)`)
  t.equal(up.requests.length, 0, 'nothing half-sent reached the upstream')
})
