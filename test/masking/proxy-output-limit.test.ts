// The masked body's limit through the real proxy: an upstream body within
// masking.max_body_bytes that the decision's mask rules make longer than it is answered with
// masking.fail_status (none of the body), the fail-closed log line names the code, and the
// proxy goes on serving — its upstream connections given back (a pool of one).
import t from 'tap'
import { request } from 'undici'
import { memoryLogger, startBouncer, startUpstream } from '../helpers/index.js'

const POLICY = `package bouncer

decision := {"allow": true, "mask": [{"path": "/a/*", "action": "redact"}]} if input.parsed_path[0] == "m"
decision := {"allow": true} if input.parsed_path[0] == "p"
`

const ones = (k: number): string => '{"a":[' + Array(k).fill('1').join(',') + ']}'

t.test('a response that masking makes longer than masking.max_body_bytes gets fail_status; the next requests are served', async (t) => {
  const up = await startUpstream()
  t.teardown(() => up.close())
  const LIMIT = 100_000
  // 40,007 bytes from the upstream, 260,007 once every element is "[REDACTED]".
  const grows = ones(20_000)
  // 7,007 bytes, 45,507 masked: within the limit.
  const fits = ones(3_500)
  let open = 0
  up.server.on('connection', (s) => { open++; s.on('close', () => { open-- }) })
  up.handle = (req, res) => {
    const kind = req.url!.split('/')[2]
    const body = kind === 'grows' ? grows : kind === 'fits' ? fits : '{"ok":true}'
    // Both framings: a declared length, and chunked.
    res.writeHead(200, req.url!.endsWith('/chunked') ? { 'content-type': 'application/json' } : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) })
    res.end(body)
  }
  const mem = memoryLogger('warn')
  const b = await startBouncer({
    upstream: up.url,
    rego: { 'p.rego': POLICY },
    config: { upstream: { connections: 1, body_timeout_seconds: 30 }, masking: { max_body_bytes: LIMIT, fail_status: 503 } },
    deps: { logger: mem.logger },
  })
  t.teardown(() => b.close())

  for (let i = 0; i < 3; i++) {
    for (const framing of ['length', 'chunked']) {
      const r = await request(`${b.url}/m/grows/${framing}`, { headersTimeout: 5000, bodyTimeout: 5000 })
      const text = await r.body.text()
      t.equal(r.statusCode, 503, `${framing} ${i}: masking.fail_status`)
      t.notMatch(text, /REDACTED|\[1,/, `${framing} ${i}: nothing of the body, masked or not`)
      t.match(JSON.parse(text), { error: String }, `${framing} ${i}: the usual error body`)
    }
  }
  const lines = mem.lines().filter((l) => l.msg === 'fail closed: response could not be masked')
  t.equal(lines.length, 6, 'each refusal logged as a fail-closed masking failure')
  t.match(lines[0], { error: `response body exceeds the masking limit of ${LIMIT} bytes (after masking)` })

  // Six refusals through a pool of one connection: it was given back every time.
  const m = await request(`${b.url}/m/fits/length`, { headersTimeout: 5000, bodyTimeout: 5000 })
  t.equal(m.statusCode, 200, 'a masked response within the limit passes')
  const masked = await m.body.text()
  t.equal(Buffer.byteLength(masked), 45_507)
  t.equal(m.headers['content-length'], '45507')
  t.same((JSON.parse(masked) as { a: string[] }).a.filter((v) => v !== '[REDACTED]'), [], 'every element masked')
  const p = await request(`${b.url}/p/x`, { headersTimeout: 5000, bodyTimeout: 5000 })
  t.equal(p.statusCode, 200, 'an unmasked route still answers')
  t.same(await p.body.json(), { ok: true })
  t.ok(open <= 1, `at most the pool's one connection is open upstream (${open})`)
})
