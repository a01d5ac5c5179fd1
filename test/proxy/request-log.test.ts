// The per-request log line (msg "request") carries who called and how much went over the
// wire: client_addr (the peer, as attributes.source.address), user_agent (capped at 256),
// bytes_in / bytes_out (head and body on this HTTP/1.1 connection, per request even when the
// connection is kept alive), beside request_id and trace_id.
import { connect } from 'node:net'
import t from 'tap'
import { startBouncer, startUpstream, memoryLogger } from '../helpers/index.js'

const POLICY = `package bouncer

default decision := {"allow": false}

decision := {"allow": true} if input.parsed_path[0] == "public"
`
const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736'

/** Sends raw HTTP/1.1 requests one after another on one connection; resolves with each response's raw text. */
async function onOneConnection (port: number, requests: string[]): Promise<{ responses: string[]; localPort: number }> {
  const sock = connect(port, '127.0.0.1')
  await new Promise<void>((resolve) => sock.once('connect', () => resolve()))
  const responses: string[] = []
  let buf = ''
  sock.setEncoding('latin1')
  for (const r of requests) {
    buf = ''
    const done = new Promise<void>((resolve) => {
      const onData = (d: string) => {
        buf += d
        const head = buf.indexOf('\r\n\r\n')
        if (head < 0) return
        const len = Number(/content-length: (\d+)/i.exec(buf.slice(0, head))?.[1] ?? 0)
        if (buf.length >= head + 4 + len) { sock.off('data', onData); resolve() }
      }
      sock.on('data', onData)
    })
    sock.write(r)
    await done
    responses.push(buf)
  }
  const localPort = sock.localPort!
  sock.end()
  return { responses, localPort }
}

t.test('client address, user agent, bytes in and out, request id and trace id', async (t) => {
  const mem = memoryLogger()
  const up = await startUpstream()
  up.raw = (req, res) => { req.resume(); req.on('end', () => { res.writeHead(200, { 'content-type': 'text/plain' }); res.end('x'.repeat(1000)) }) }
  const b = await startBouncer({ upstream: up.url, rego: { 'p.rego': POLICY }, deps: { logger: mem.logger } })
  t.teardown(async () => { await b.close(); await up.close() })

  const body = 'b'.repeat(5000)
  const first = `POST /public/upload HTTP/1.1\r\nHost: api.local\r\nUser-Agent: test-agent/1.0\r\nX-Request-Id: req-1\r\ntraceparent: 00-${TRACE}-00f067aa0ba902b7-01\r\nContent-Type: text/plain\r\nContent-Length: ${body.length}\r\n\r\n${body}`
  const second = `GET /private HTTP/1.1\r\nHost: api.local\r\nUser-Agent: ${'u'.repeat(400)}\r\n\r\n`
  const { responses, localPort } = await onOneConnection(b.port, [first, second])
  t.match(responses[0], /^HTTP\/1\.1 200/)
  t.match(responses[1], /^HTTP\/1\.1 403/)
  // The log line is written when the response closes.
  while (mem.lines().filter((l) => l.msg === 'request').length < 2) await new Promise((r) => setImmediate(r))
  const [a, d] = mem.lines().filter((l) => l.msg === 'request') as Array<Record<string, any>>

  t.equal(a.client_addr, `127.0.0.1:${localPort}`, 'the peer address and port')
  t.equal(a.user_agent, 'test-agent/1.0')
  t.equal(a.request_id, 'req-1')
  t.equal(a.trace_id, TRACE)
  t.equal(a.bytes_in, Buffer.byteLength(first), 'bytes in: this request\'s head and body')
  t.equal(a.bytes_out, Buffer.byteLength(responses[0]!), 'bytes out: this response\'s head and body')

  t.equal(d.decision, 'deny')
  t.equal(d.client_addr, `127.0.0.1:${localPort}`, 'same connection')
  t.equal(d.user_agent, 'u'.repeat(256), 'capped at 256 characters')
  t.equal(d.bytes_in, Buffer.byteLength(second), 'the second request on the connection counts only its own bytes')
  t.equal(d.bytes_out, Buffer.byteLength(responses[1]!))
  t.notOk('trace_id' in d && d.trace_id, 'no traceparent, no trace id')
})
