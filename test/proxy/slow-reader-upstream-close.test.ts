// A client that stops reading while the upstream ends its connection (review helper,
// 2026-12-07). The relay pauses undici while the client is slow; undici 7 asserted that its
// parser was not paused when the upstream's FIN came (nodejs/undici#5360), from a socket
// 'end' handler: an uncaught AssertionError, and the whole process exited. Over HTTP/2 any
// client can hold the window closed, so one client stopped the sidecar in front of an upstream
// that closes connections after each response (python's http.server, HTTP/1.0 servers).
import t from 'tap'
import { connect as h2connect } from 'node:http2'
import { createServer, type AddressInfo } from 'node:net'
import { request } from 'undici'
import { startBouncer } from '../helpers/index.js'

t.test('an HTTP/2 client that stops reading costs only its own stream when the upstream closes', async (t) => {
  let size = 0
  const up = createServer((s) => {
    s.on('error', () => {})
    s.once('data', () => {
      const body = Buffer.alloc(size, 0x61)
      s.write(`HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n`)
      s.write(body)
      s.end()
    })
  })
  await new Promise<void>((resolve) => up.listen(0, '127.0.0.1', resolve))
  const upUrl = `http://127.0.0.1:${(up.address() as AddressInfo).port}`
  const b = await startBouncer({ upstream: upUrl, rego: { 'p.rego': 'package bouncer\n\ndecision := {"allow": true}\n' }, config: { server: { http2: { cleartext: true } } } as never })
  t.teardown(async () => { await b.close(); up.close() })

  for (const n of [65536, 70000, 100000, 140000]) {
    size = n
    const session = h2connect(b.url)
    session.on('error', () => {})
    const stream = session.request({ ':method': 'GET', ':path': `/big/${n}` })
    const head = await new Promise<Record<string, unknown>>((resolve) => stream.on('response', (h) => { stream.pause(); resolve(h) }))
    t.equal(head[':status'], 200, `${n} bytes: the response head came`)
    // The upstream has sent everything and closed by now; the client reads nothing.
    await new Promise((resolve) => setTimeout(resolve, 300))
    const other = await request(`${b.url}/other`, { method: 'GET' }).catch((e: Error) => e)
    t.ok(!(other instanceof Error), `${n} bytes: the bouncer still serves others`)
    if (!(other instanceof Error)) await other.body.dump()
    // Reading again, the client gets the whole body.
    let got = 0
    await new Promise<void>((resolve, reject) => {
      stream.on('data', (c: Buffer) => { got += c.length })
      stream.on('end', () => resolve())
      stream.on('error', reject)
      stream.resume()
    })
    t.equal(got, n, `${n} bytes: the paused stream completes once read`)
    session.close()
  }
})
