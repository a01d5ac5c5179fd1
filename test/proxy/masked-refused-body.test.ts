// A masked response refused before its body was read (declared too large, not JSON, too large
// while streaming) is a 502 — and its upstream request is aborted. It used to stay paused in
// undici on a body nobody read (the body timeout does not run while paused), holding a pool
// connection for good: with upstream.connections requests of that kind, every route hung.
// Real proxy, real upstream, a pool of two connections.
import t from 'tap'
import { request } from 'undici'
import { startBouncer, startUpstream } from '../helpers/index.js'

const POLICY = `package bouncer

decision := {"allow": true, "mask": [{"path": "/ssn", "action": "redact"}]} if input.parsed_path[0] == "m"
decision := {"allow": true} if input.parsed_path[0] == "p"
`

t.test('refused masked bodies give their upstream connection back', async (t) => {
  const up = await startUpstream()
  t.teardown(() => up.close())
  const big = JSON.stringify({ ssn: '123-45-6789', pad: 'x'.repeat(1024 * 1024) })
  let open = 0
  up.server.on('connection', (s) => { open++; s.on('close', () => { open-- }) })
  up.handle = (req, res) => {
    const kind = req.url!.split('/')[2]
    if (kind === 'declared') {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(big) })
      res.end(big)
    } else if (kind === 'csv') {
      res.writeHead(200, { 'content-type': 'text/csv' })
      res.end('ssn\n123-45-6789\n'.repeat(100_000))
    } else if (kind === 'streamed') {
      res.writeHead(200, { 'content-type': 'application/json' }) // chunked: the cap is found while reading
      res.end(big)
    } else {
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end('{"ok":true}')
    }
  }
  const b = await startBouncer({
    upstream: up.url,
    rego: { 'p.rego': POLICY },
    config: { upstream: { connections: 2, body_timeout_seconds: 30 }, masking: { max_body_bytes: 100_000 } },
  })
  t.teardown(() => b.close())

  for (const kind of ['declared', 'csv', 'streamed']) {
    for (let i = 0; i < 3; i++) {
      const r = await request(`${b.url}/m/${kind}`, { headersTimeout: 5000, bodyTimeout: 5000 })
      const text = await r.body.text()
      t.equal(r.statusCode, 502, `${kind} ${i}: refused`)
      t.notMatch(text, /123-45/, `${kind} ${i}: nothing of the body`)
    }
  }
  // Nine refusals with a pool of two: each one's connection was aborted, not left paused.
  for (let i = 0; i < 3; i++) {
    const r = await request(`${b.url}/p/x`, { headersTimeout: 5000, bodyTimeout: 5000 })
    t.equal(r.statusCode, 200, `an unmasked route still answers (${i})`)
    t.same(await r.body.json(), { ok: true })
  }
  const m = await request(`${b.url}/m/small`, { headersTimeout: 5000 })
  t.equal(m.statusCode, 200, 'and so does a masked one')
  await m.body.dump()
  t.ok(open <= 2, `at most the pool's two connections are open upstream (${open})`)
})
