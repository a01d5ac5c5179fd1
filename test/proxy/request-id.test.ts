// Request correlation (issue 15): a valid client x-request-id (<= 128 visible ASCII) is honoured,
// anything else is replaced by a generated one; the id goes upstream, back to the client, into the
// request log line and into the decision-log event (input.attributes.request.http.id and the
// x-request-id header, as Envoy's ext_authz input has it), beside a decision_id that stays unique.
// The W3C traceparent's trace id is logged too.
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { startBouncer, startUpstream, rawRequest, memoryLogger } from '../helpers/index.js'
import { tempDir } from '../decision-log/fixtures/control-plane.js'

const POLICY = `package bouncer

default decision := {"allow": false}

decision := {"allow": true} if input.parsed_path[0] == "public"
`

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/
const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736'

function header (text: string, name: string): string | undefined {
  const head = text.split('\r\n\r\n')[0]
  const m = new RegExp(`^${name}: (.*)$`, 'im').exec(head)
  return m?.[1]
}

t.test('request ids: honoured or generated, sent upstream, returned, logged', async (t) => {
  const dir = tempDir(t)
  const spool = join(dir, 'spool')
  const mem = memoryLogger()
  const up = await startUpstream()
  const b = await startBouncer({
    upstream: up.url, rego: { 'p.rego': POLICY }, deps: { logger: mem.logger },
    config: { decision_logs: { enabled: true, sinks: ['file'], file_path: join(dir, 'export.jsonl'), spool_dir: spool, fsync: 'never' } },
  })
  t.teardown(async () => { await b.close(); await up.close() })
  const events = () => {
    const out: Array<Record<string, any>> = []
    for (const n of readdirSync(spool).sort()) if (n.startsWith('seg-')) for (const l of readFileSync(join(spool, n), 'utf8').split('\n')) if (l) out.push(JSON.parse(l))
    return out.filter((e) => e.decision_id && !e.drop)
  }
  const requestLines = () => mem.lines().filter((l) => l.msg === 'request')
  const get = (path: string, extra = '') => rawRequest(b.port, `GET ${path} HTTP/1.1\r\nHost: api.local\r\n${extra}Connection: close\r\n\r\n`)

  t.test('a valid client id is used everywhere; the decision id stays unique', async (t) => {
    up.requests.length = 0
    const id = 'abc-123_XYZ.~!:/=' + 'x'.repeat(100)
    const r1 = await get('/public/a', `X-Request-Id: ${id}\r\ntraceparent: 00-${TRACE}-00f067aa0ba902b7-01\r\n`)
    const r2 = await get('/public/b', `X-Request-Id: ${id}\r\n`)
    t.equal(r1.status, 200)
    t.equal(header(r1.text, 'x-request-id'), id, 'returned to the client')
    t.equal(header(r2.text, 'x-request-id'), id)
    t.equal(up.requests[0].headers['x-request-id'], id, 'sent upstream')
    t.equal(up.requests[1].headers['x-request-id'], id)

    const [e1, e2] = events().slice(-2)
    t.equal(e1.input.attributes.request.http.id, id, 'decision-log event: the request id')
    t.equal(e1.input.attributes.request.http.headers['x-request-id'], id)
    t.match(e1.decision_id, UUID)
    t.not(e1.decision_id, e2.decision_id, 'the decision id is unique even when the request id repeats')
    t.not(e1.decision_id, id)
    t.equal(e1.trace_id, TRACE)

    const [l1, l2] = requestLines().slice(-2)
    t.equal(l1.request_id, id, 'request log line: request_id')
    t.equal(l1.id, e1.decision_id, 'request log line: id is the decision id')
    t.equal(l1.trace_id, TRACE, 'request log line: the traceparent trace id')
    t.equal(l2.request_id, id)
    t.notOk('trace_id' in l2, 'no traceparent, no trace_id')
  })

  t.test('an invalid client id is replaced by a generated one', async (t) => {
    for (const [what, extra] of [
      ['129 characters', `X-Request-Id: ${'a'.repeat(129)}\r\n`],
      ['a space', 'X-Request-Id: a b\r\n'],
      ['a tab', 'X-Request-Id: a\tb\r\n'],
      ['non-ASCII', 'X-Request-Id: caf\xe9\r\n'],
      ['two values', 'X-Request-Id: a\r\nX-Request-Id: b\r\n'],
      ['empty', 'X-Request-Id: \r\n'],
      ['named in Connection', 'X-Request-Id: hop\r\nConnection: x-request-id\r\n'],
      ['none', ''],
    ]) {
      up.requests.length = 0
      const r = await rawRequest(b.port, Buffer.from(`GET /public/x HTTP/1.1\r\nHost: api.local\r\n${extra}Connection: close\r\n\r\n`, 'latin1'))
      t.equal(r.status, 200, `${what}: served`)
      const got = header(r.text, 'x-request-id')
      t.match(got, UUID, `${what}: a generated id is returned`)
      t.equal(up.requests[0].headers['x-request-id'], got, `${what}: the same id upstream`)
      t.equal(events().at(-1)!.input.attributes.request.http.id, got, `${what}: and in the decision-log event`)
      t.equal(requestLines().at(-1)!.request_id, got, `${what}: and in the request log line`)
    }
  })

  t.test('denials and rejections carry the request id too', async (t) => {
    const deny = await get('/private', 'X-Request-Id: deny-1\r\n')
    t.equal(deny.status, 403)
    t.equal(header(deny.text, 'x-request-id'), 'deny-1')
    t.match(deny.text, /"request_id":"deny-1"/)
    const bad = await get('/public/%2e%2e;/admin', 'X-Request-Id: bad-1\r\n')
    t.equal(bad.status, 400)
    t.equal(header(bad.text, 'x-request-id'), 'bad-1')
    t.match(bad.text, /"request_id":"bad-1"/)
    t.equal(requestLines().at(-1)!.request_id, 'bad-1')
  })
})
