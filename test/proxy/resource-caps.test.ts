// Caps on what many clients together can make the proxy hold:
//   - policy.parsed_body.max_buffered_bytes: bodies read into memory for parsed_body share one
//     budget (each is bounded by max_bytes, but stalled clients could hold any number of them);
//     a body that would go past it is refused with 503 before the policy or the upstream sees it.
//   - server.max_connections: a connection past the cap is closed on accept.
import t from 'tap'
import { request } from 'undici'
import { connect, type Socket } from 'node:net'
import { connect as h2connect } from 'node:http2'
import { startBouncer, startUpstream, rawRequest } from '../helpers/index.js'

const POLICY = `package bouncer

default decision := {"allow": false, "status": 403}

decision := {"allow": true} if input.parsed_body.ok == true
decision := {"allow": true} if input.attributes.request.http.method == "GET"
`

async function metrics (adminUrl: string): Promise<string> {
  return await (await request(`${adminUrl}/metrics`)).body.text()
}

function gauge (text: string, name: string): number | undefined {
  const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(text)
  return m ? Number(m[1]) : undefined
}

/** Polls until `check` holds (the server handles socket events on its own schedule), at most 5 s. */
async function eventually (check: () => Promise<boolean>): Promise<boolean> {
  for (let i = 0; i < 100; i++) {
    if (await check()) return true
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  return false
}

/** A JSON body of exactly `n` bytes that the policy allows. */
function jsonBody (n: number): string {
  const head = '{"ok":true,"pad":"'
  return head + 'x'.repeat(n - head.length - 2) + '"}'
}

function openSocket (port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => resolve(s))
    s.once('error', reject)
  })
}

/** Reads from `s` until a full response head and `Content-Length` body arrived; resolves the status. */
function readStatus (s: Socket): Promise<number | undefined> {
  return new Promise((resolve) => {
    let text = ''
    const onData = (c: Buffer): void => {
      text += c.toString('latin1')
      const end = text.indexOf('\r\n\r\n')
      if (end < 0) return
      const len = /content-length: (\d+)/i.exec(text.slice(0, end))
      if (len && text.length - end - 4 < Number(len[1])) return
      s.off('data', onData)
      resolve(Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1]))
    }
    s.on('data', onData)
    s.once('close', () => resolve(undefined))
  })
}

t.test('parsed_body.max_buffered_bytes: stalled bodies cannot hold more than the budget', { timeout: 30_000 }, async (t) => {
  const up = await startUpstream()
  const b = await startBouncer({
    upstream: up.url,
    rego: { 'p.rego': POLICY },
    config: { server: { http2: { cleartext: true } }, policy: { parsed_body: { enabled: true, max_bytes: 4096, max_buffered_bytes: 5000 } } },
  })
  t.teardown(async () => { await b.close(); await up.close() })
  const buffered = async (): Promise<number | undefined> => gauge(await metrics(b.adminUrl), 'bouncer_parsed_body_buffered_bytes')

  // A: a 3000-byte body, 2000 bytes sent, then the client stalls.
  const a = await openSocket(b.port)
  t.teardown(() => a.destroy())
  const aStatus = readStatus(a)
  const aBody = jsonBody(3000)
  a.write(`POST /a HTTP/1.1\r\nHost: api.local\r\nContent-Type: application/json\r\nContent-Length: 3000\r\n\r\n${aBody.slice(0, 2000)}`)
  t.ok(await eventually(async () => (await buffered()) === 2000), 'the stalled body is held and counted: 2000 bytes')

  const post = async (path: string, body: string, headers: Record<string, string> = {}): Promise<number> => {
    const r = await request(`${b.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body })
    await r.body.dump()
    return r.statusCode
  }
  // B: its content-length alone would go past the budget (2000 + 3500 > 5000): refused unread.
  t.equal(await post('/b', jsonBody(3500)), 503, 'a body that cannot fit is refused with 503')
  // C: no content-length (chunked): refused when the bytes that would go past it arrive.
  const chunked = await rawRequest(b.port, `POST /c HTTP/1.1\r\nHost: api.local\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n${(3500).toString(16)}\r\n${jsonBody(3500)}\r\n0\r\n\r\n`)
  t.equal(chunked.status, 503, 'a chunked body is refused once it would go past the budget')
  t.match(chunked.text, /connection: close/i, 'HTTP/1.1: the unread body ends the connection')
  t.equal(await buffered(), 2000, 'what the refused bodies had read is released')
  // HTTP/2 streams draw on the same budget: one without content-length, its body sent in full.
  const session = h2connect(b.url)
  t.teardown(() => session.destroy())
  session.on('error', () => {})
  const h2status = await new Promise<unknown>((resolve) => {
    const st = session.request({ ':method': 'POST', ':path': '/h2', 'content-type': 'application/json' })
    st.on('response', (h) => resolve(h[':status']))
    st.on('error', () => resolve('error'))
    st.end(jsonBody(3500))
    st.resume()
  })
  t.equal(h2status, 503, 'HTTP/2: refused as well')
  t.ok(await eventually(async () => (await buffered()) === 2000), 'HTTP/2: released')
  // D: fits beside A.
  t.equal(await post('/d', jsonBody(2500)), 200, 'a body that fits is parsed, judged and forwarded')
  t.ok(await eventually(async () => (await buffered()) === 2000), 'released when its exchange ends')

  // A finishes: forwarded whole, and the budget is empty again.
  a.write(aBody.slice(2000))
  t.equal(await aStatus, 200, 'the stalled request completes once its body arrives')
  t.ok(await eventually(async () => (await buffered()) === 0), 'nothing held once every exchange ended')
  t.same(up.requests.map((r) => r.url), ['/d', '/a'], 'the refused requests never reached the upstream')
  t.equal(up.requests[1]!.body.toString(), aBody, 'the stalled body reached the upstream unchanged')
  t.match(await metrics(b.adminUrl), /bouncer_rejected_requests_total\{reason="body_budget"\} 3/, 'every refusal counted')
  t.equal(await post('/e', jsonBody(4096)), 200, 'a body of max_bytes fits an empty budget')
})

t.test('server.max_connections: a connection past the cap is closed on accept, and counted', { timeout: 30_000 }, async (t) => {
  const up = await startUpstream()
  const b = await startBouncer({ upstream: up.url, rego: { 'p.rego': POLICY }, config: { server: { max_connections: 2 } } })
  t.teardown(async () => { await b.close(); await up.close() })
  const GET = 'GET /x HTTP/1.1\r\nHost: api.local\r\n\r\n'

  // Two keep-alive connections, each answered once: the server has accepted both.
  const held: Socket[] = []
  for (let i = 0; i < 2; i++) {
    const s = await openSocket(b.port)
    t.teardown(() => s.destroy())
    const status = readStatus(s)
    s.write(GET)
    t.equal(await status, 200, `connection ${i + 1} is served`)
    held.push(s)
  }
  const third = await rawRequest(b.port, GET, 3000)
  t.equal(third.status, undefined, 'a third connection is closed without an answer')
  t.equal(third.text, '', 'nothing at all was sent on it')
  t.match(await metrics(b.adminUrl), /bouncer_rejected_requests_total\{reason="max_connections"\} 1/, 'counted as max_connections')

  // One held connection goes: a new one is served again (once the server has seen it close).
  held[0]!.destroy()
  t.ok(await eventually(async () => (await rawRequest(b.port, 'GET /y HTTP/1.1\r\nHost: api.local\r\nConnection: close\r\n\r\n')).status === 200), 'a new connection is served once one closed')
  t.same(up.requests.map((r) => r.url).filter((u) => u === '/x').length, 2, 'the dropped connection\'s request never reached the upstream')
})

t.test('masking.max_buffered_bytes: responses held for masking share one budget', { timeout: 30_000 }, async (t) => {
  const MASKING = `package bouncer

decision := {"allow": true, "mask": [{"path": "/ssn", "action": "redact"}]}
`
  const doc = (n: number): string => { const head = '{"ssn":"123-45-6789","pad":"'; return head + 'x'.repeat(n - head.length - 2) + '"}' }
  let release: (() => void) | undefined
  const up = await startUpstream()
  up.handle = (req, res) => {
    const body = doc(4000)
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(body.length) })
    if (req.url === '/slow') {
      // 3000 bytes, then the rest only when the test says so: the masker holds what it read.
      res.write(body.slice(0, 3000))
      release = () => res.end(body.slice(3000))
    } else res.end(body)
  }
  const b = await startBouncer({ upstream: up.url, rego: { 'p.rego': MASKING }, config: { masking: { max_buffered_bytes: 5000 } } })
  t.teardown(async () => { release?.(); await b.close(); await up.close() })
  const held = async (): Promise<number | undefined> => gauge(await metrics(b.adminUrl), 'bouncer_mask_buffered_bytes')

  const slow = request(`${b.url}/slow`).then(async (r) => ({ status: r.statusCode, body: await r.body.text() }))
  t.ok(await eventually(async () => (await held()) === 3000), 'the slow response\'s bytes are held and counted')
  const fast = await request(`${b.url}/fast`)
  const fastBody = await fast.body.text()
  t.equal(fast.statusCode, 503, 'a response that would go past the budget is refused')
  t.notMatch(fastBody, /123-45-6789/, 'nothing of it reached the client')
  t.equal(await held(), 3000, 'what the refused one had read is released')
  release!()
  const s = await slow
  t.equal(s.status, 200)
  t.match(s.body, /"ssn":"\[REDACTED\]"/, 'the slow one is masked and sent')
  t.ok(await eventually(async () => (await held()) === 0), 'released once sent')
  const again = await request(`${b.url}/fast`)
  await again.body.dump()
  t.equal(again.statusCode, 200, 'served again once the budget has room')
})

t.test('a client that leaves while its masked response is read gives back all it held', { timeout: 30_000 }, async (t) => {
  // A gzip'd body arrives whole and is inflated in steps: the client left in between, its lease
  // was released at 'close', and the inflating went on charging it; nothing released those
  // bytes again and a few such clients drained the budget for good (every larger masked
  // response got 503).
  const { gzipSync } = await import('node:zlib')
  const MASKING = 'package bouncer\n\ndecision := {"allow": true, "mask": [{"path": "/ssn", "action": "redact"}]}\n'
  const body = gzipSync(JSON.stringify({ ssn: '123-45-6789', pad: 'x'.repeat(8 * 1024 * 1024) }))
  let sent: (() => void) | undefined
  const up = await startUpstream()
  up.handle = (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip', 'content-length': String(body.length) })
    res.end(body, () => sent?.())
  }
  const b = await startBouncer({ upstream: up.url, rego: { 'p.rego': MASKING } })
  t.teardown(async () => { await b.close(); await up.close() })
  const held = async (): Promise<number | undefined> => gauge(await metrics(b.adminUrl), 'bouncer_mask_buffered_bytes')
  for (let i = 0; i < 3; i++) {
    const s = await openSocket(b.port)
    // The client hangs up as soon as the upstream has sent the compressed body.
    sent = () => { s.destroy() }
    s.on('error', () => {})
    s.write('GET /big HTTP/1.1\r\nHost: api.local\r\n\r\n')
    await new Promise((resolve) => s.once('close', resolve))
    t.ok(await eventually(async () => (await held()) === 0), `client ${i + 1}: nothing held once it left`)
  }
  const r = await request(`${b.url}/big`)
  const text = await r.body.text()
  t.equal(r.statusCode, 200, 'a masked response of the same size is still served')
  t.notMatch(text.slice(0, 100), /123-45-6789/)
})
