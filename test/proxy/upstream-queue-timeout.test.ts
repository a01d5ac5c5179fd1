// A request that finds every upstream connection busy waits at most upstream.timeout_seconds
// for one, then gets 504 (reason queue_timeout) — and is never sent afterwards. undici's own
// timers start only once a request is written, so a queued request used to wait without
// limit behind, say, a long download holding the only connection. Its expiry must not cost a
// pooled connection either: undici fails the request alone when it reaches the front.
// Real proxy, real upstream with one connection, three kinds of exchange (relayed, masked,
// an upgrade answered without 101).
import t from 'tap'
import { Pool, request } from 'undici'
import { connect } from 'node:net'
import v8 from 'node:v8'
import vm from 'node:vm'
import { startBouncer, startUpstream } from '../helpers/index.js'

v8.setFlagsFromString('--expose-gc')
const gc = vm.runInNewContext('gc') as () => void

const POLICY = `package bouncer

decision := {"allow": true, "mask": [{"path": "/ssn", "action": "redact"}]} if input.parsed_path[0] == "m"
decision := {"allow": true} if input.parsed_path[0] != "m"
`

/** A raw HTTP/1.1 exchange: the status line of the answer. */
function rawStatus (port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => s.write(text))
    let got = ''
    s.on('data', (d: Buffer) => { got += d.toString('latin1'); if (got.includes('\r\n')) { s.destroy(); resolve(got.slice(0, got.indexOf('\r\n'))) } })
    s.on('error', reject)
    setTimeout(() => { s.destroy(); reject(new Error('no answer')) }, 10_000)
  })
}

/**
 * An upstream whose /hold answers its head at once (no headers timeout) and its body when the
 * test releases it: the only connection is busy meanwhile. Counts connections and requests.
 */
async function holdingUpstream () {
  const up = await startUpstream()
  const state = { up, connections: 0, seen: [] as string[], release: (): void => { throw new Error('/hold was not requested') } }
  up.server.on('connection', () => { state.connections++ })
  up.handle = (req, res) => {
    state.seen.push(req.url!)
    if (req.url === '/hold') {
      res.writeHead(200, { 'content-type': 'text/plain' })
      res.write('first part ')
      state.release = () => res.end('rest')
      return
    }
    res.writeHead(200, { 'content-type': 'application/json' })
    res.end('{"ssn":"123-45-6789","ok":true}')
  }
  return state
}

t.test('queued requests get 504 after upstream.timeout_seconds and never reach the upstream', async (t) => {
  const u = await holdingUpstream()
  const up = u.up
  const b = await startBouncer({
    upstream: up.url,
    rego: { 'p.rego': POLICY },
    config: { upstream: { connections: 1, timeout_seconds: 0.4 } } as never,
  })
  t.teardown(async () => { await b.close(); await up.close() })

  const hold = await request(`${b.url}/hold`)
  t.equal(hold.statusCode, 200, 'the long response holds the only connection')

  const t0 = Date.now()
  const [plain, masked, upgrade] = await Promise.all([
    request(`${b.url}/p/queued`, { headersTimeout: 10_000 }),
    request(`${b.url}/m/queued`, { headersTimeout: 10_000 }),
    rawStatus(b.port, 'GET /p/upgrade HTTP/1.1\r\nHost: x\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n'),
  ])
  const waited = Date.now() - t0
  t.equal(plain.statusCode, 504, 'a relayed request: 504')
  t.equal(masked.statusCode, 504, 'a masked request: 504')
  t.match(upgrade, /^HTTP\/1\.1 504 /, 'an upgrade: 504')
  t.ok(waited >= 300 && waited < 5000, `answered after the wait, not before and not never (${waited} ms)`)
  const body = await plain.body.json() as { error?: string }
  t.equal(body.error, 'gateway_timeout', 'the error body names the timeout')
  await masked.body.dump()

  // The connection comes free: the expired requests must not go out on it.
  u.release()
  t.equal(await hold.body.text(), 'first part rest', 'the long response completes')
  const after = await request(`${b.url}/p/after`, { headersTimeout: 10_000 })
  t.equal(after.statusCode, 200, 'the next request goes through')
  await after.body.dump()
  t.same(u.seen, ['/hold', '/p/after'], 'the upstream never saw a request that was answered 504')
  t.equal(u.connections, 1, 'expiring queued requests cost no upstream connection')

  const m = await request(`${b.adminUrl}/metrics`)
  t.match(await m.body.text(), /bouncer_upstream_errors_total\{reason="queue_timeout"\} 3/, 'counted as queue timeouts')
})

t.test('a request that gets a connection in time is not cut by the wait', async (t) => {
  const up = await startUpstream()
  up.handle = (req, res) => {
    // Each answer takes ~100 ms; six requests through one connection take ~600 ms or more,
    // yet none waits longer than the 1 s allowed (the wait is per request, from its dispatch).
    setTimeout(() => { res.writeHead(200, { 'content-type': 'text/plain' }); res.end(req.url) }, 100)
  }
  const b = await startBouncer({
    upstream: up.url,
    rego: { 'p.rego': POLICY },
    config: { upstream: { connections: 1, timeout_seconds: 1 } } as never,
  })
  t.teardown(async () => { await b.close(); await up.close() })
  const statuses: number[] = []
  for (let round = 0; round < 3; round++) {
    const rs = await Promise.all([1, 2].map((i) => request(`${b.url}/p/${round}-${i}`, { headersTimeout: 10_000 })))
    for (const r of rs) { statuses.push(r.statusCode); await r.body.dump() }
  }
  t.same(statuses, [200, 200, 200, 200, 200, 200], 'every request answered by the upstream')
})

// An expired request is taken out of undici's queue at once (review of the first version): left
// there, it kept its exchange (the client's request, its body) until a connection came free,
// which behind a stream that never ends is never; ~10 KB per 504, growing without limit.
t.test('expired requests are dropped from the queue while the upstream stays busy', async (t) => {
  const up = await startUpstream()
  let seen = 0
  up.handle = (_req, res) => { seen++; res.writeHead(200); res.write('a') } // a stream that never ends
  const b = await startBouncer({ upstream: up.url, rego: { 'p.rego': POLICY }, config: { upstream: { connections: 1, timeout_seconds: 0.3 } } as never })
  t.teardown(async () => { await b.close(); await up.close() })
  const hold = await request(`${b.url}/stream`)
  t.teardown(() => hold.body.destroy())
  const client = new Pool(b.url, { connections: 200 })
  t.teardown(() => client.close())
  const body = Buffer.alloc(16 * 1024, 0x78)
  const heap = (): number => { gc(); gc(); return process.memoryUsage().heapUsed / 1e6 }
  const after: number[] = []
  for (let round = 0; round < 5; round++) {
    const statuses = await Promise.all(Array.from({ length: 1000 }, async (_, i) => {
      const r = await client.request({ method: 'POST', path: `/p/${round}-${i}`, body, headers: { 'content-type': 'application/octet-stream' }, headersTimeout: 20_000 })
      await r.body.dump()
      return r.statusCode
    }))
    t.equal(statuses.filter((s) => s === 504).length, 1000, `round ${round}: every request 504`)
    after.push(heap())
  }
  // Kept, the 4,000 requests of rounds 2 to 5 held ~40 MB (measured: +13 MB per round).
  const grown = after[4]! - after[0]!
  t.ok(grown < 15, `the heap does not grow with the expired requests (${grown.toFixed(1)} MB over 4,000 of them)`)
  t.equal(seen, 1, 'none reached the upstream')
})

// A client gone while its request waits: the request leaves the queue then too. It used to be
// aborted only once it reached a connection, and undici's abort destroys that connection.
t.test('requests whose clients left while queued cost no upstream connection', async (t) => {
  const u = await holdingUpstream()
  const up = u.up
  const b = await startBouncer({ upstream: up.url, rego: { 'p.rego': POLICY }, config: { upstream: { connections: 1, timeout_seconds: 30 } } as never })
  t.teardown(async () => { await b.close(); await up.close() })
  const hold = await request(`${b.url}/hold`)
  await Promise.all(Array.from({ length: 5 }, (_, i) => new Promise<void>((resolve) => {
    const s = connect(b.port, '127.0.0.1', () => s.write(`POST /p/gone${i} HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n`))
    s.on('error', () => {})
    s.on('close', () => resolve())
    setTimeout(() => s.resetAndDestroy(), 200)
  })))
  u.release()
  t.equal(await hold.body.text(), 'first part rest')
  for (let i = 0; i < 3; i++) {
    const r = await request(`${b.url}/p/after${i}`)
    await r.body.dump()
    t.equal(r.statusCode, 200)
  }
  t.same(u.seen, ['/hold', '/p/after0', '/p/after1', '/p/after2'], 'no request of a gone client reached the upstream')
  t.equal(u.connections, 1, 'and none cost the pooled connection')
})
