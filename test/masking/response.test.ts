// maskUpstreamResponse against a real upstream: a node:http server on 127.0.0.1 and undici
// requests to it, the undici response fed to the masking function as the proxy will.
import t, { type Test } from 'tap'
import http from 'node:http'
import { once } from 'node:events'
import { createHmac } from 'node:crypto'
import zlib from 'node:zlib'
import type { AddressInfo } from 'node:net'
import { Agent, request } from 'undici'
import {
  compileMaskRules, maskUpstreamResponse, MaskFailClosedError, type MaskRule, type MaskResponseOptions, type MaskedResponse,
} from '../../src/masking/index.js'

const hashKey = Buffer.from('response-test-key-0123456789abcdef')
const hmac = (s: string): string => 'hmac-sha256:' + createHmac('sha256', hashKey).update(s).digest('hex')

// --- the upstream --------------------------------------------------------------------------

type Route = (req: http.IncomingMessage, res: http.ServerResponse) => void
const routes = new Map<string, Route>()
/** Set per route when the server saw the client go away before the body was finished. */
const abandoned = new Set<string>()

const server = http.createServer((req, res) => {
  const route = routes.get(req.url ?? '')
  if (!route) { res.statusCode = 500; res.end('no route'); return }
  res.on('close', () => { if (!res.writableFinished) abandoned.add(req.url ?? '') })
  route(req, res)
})
server.listen(0, '127.0.0.1')
await once(server, 'listening')
const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
const agent = new Agent({ connections: 4 })
t.teardown(async () => {
  await agent.close()
  server.closeAllConnections()
  server.close()
})

let n = 0
/** Registers a fixed response and returns its path. */
function serve (status: number, headers: Record<string, string | string[]>, body: Buffer | string, opts: { chunk?: number } = {}): string {
  const path = `/r${n++}`
  const buf = Buffer.isBuffer(body) ? body : Buffer.from(body)
  // Declare the length like most upstreams do, unless the case is about chunked framing.
  if (!opts.chunk && !('transfer-encoding' in headers) && status !== 204 && status !== 304) headers = { ...headers, 'content-length': String(buf.length) }
  routes.set(path, (_req, res) => {
    res.writeHead(status, headers)
    if (!opts.chunk) { res.end(buf); return }
    // Several writes: the client sees the body as many chunks.
    for (let i = 0; i < buf.length; i += opts.chunk) res.write(buf.subarray(i, i + opts.chunk))
    res.end()
  })
  return path
}

async function fetchMasked (path: string, rules: MaskRule[] | [], opts: MaskResponseOptions = {}, method: 'GET' | 'HEAD' = 'GET'): Promise<MaskedResponse> {
  const res = await request(base + path, { dispatcher: agent, method })
  return maskUpstreamResponse(res, compileMaskRules(rules), { hashKey, method, ...opts })
}

async function failsClosed (t: Test, p: Promise<unknown>, code: string, message: RegExp, status = 502): Promise<MaskFailClosedError | undefined> {
  try {
    await p
    t.fail('expected a fail-closed error, got a response')
    return undefined
  } catch (e) {
    if (!(e instanceof MaskFailClosedError)) { t.fail(`expected MaskFailClosedError, got ${String(e)}`); return undefined }
    t.equal(e.code, code)
    t.equal(e.statusCode, status)
    t.match(e.message, message)
    return e
  }
}

// --- fixtures ------------------------------------------------------------------------------

const SECRET_SSN = '123-45-6789'
const doc = {
  customers: [
    { id: 1, name: 'Ann', ssn: SECRET_SSN, card: '4111111111111234', email: 'ann@example.com', notes: 'vip', dob: '1980-01-01' },
    { id: 2, name: 'Bob', ssn: '987-65-4321', card: 5500000000000004, email: 'bob@example.com', notes: 'x', dob: '1990-02-02' },
  ],
  accounts: { acme: { iban: 'DE89370400440532013000' }, initech: { iban: 'GB82WEST12345698765432' } },
  matrix: [[{ secret: 1, keep: 'a' }], [{ secret: 2 }, { secret: 3 }]],
}
const rules: MaskRule[] = [
  { path: '/customers/*/ssn', action: 'redact' },
  { path: '/customers/*/card', action: 'last4' },
  { path: '/customers/*/email', action: 'hash' },
  { path: '/customers/*/notes', action: 'remove' },
  { path: '/customers/*/dob', action: 'null' },
  { path: '/accounts/*/iban', action: 'redact', replacement: '<iban>' },
  { path: '/matrix/*/*/secret', action: 'remove' },
]
const expected = {
  customers: [
    { id: 1, name: 'Ann', ssn: '[REDACTED]', card: '****1234', email: hmac('ann@example.com'), dob: null },
    { id: 2, name: 'Bob', ssn: '[REDACTED]', card: '****0004', email: hmac('bob@example.com'), dob: null },
  ],
  accounts: { acme: { iban: '<iban>' }, initech: { iban: '<iban>' } },
  matrix: [[{ keep: 'a' }], [{}, {}]],
}
const json = JSON.stringify(doc)
const upstreamHeaders = {
  'content-type': 'application/json; charset=utf-8',
  etag: '"abc123"',
  'content-md5': 'Q2hlY2sgSW50ZWdyaXR5IQ==',
  'repr-digest': 'sha-256=:AAAA:',
  'x-bz-content-sha1': 'da39a3ee5e6b4b0d3255bfef95601890afd80709',
  'x-oss-hash-crc64ecma': '4737526497436573736',
  'cache-control': 'private, max-age=60',
  'x-request-id': 'req-1',
  'set-cookie': ['a=1', 'b=2'],
}

function checkMasked (t: Test, r: MaskedResponse, status = 200): void {
  t.equal(r.statusCode, status)
  t.strictSame(JSON.parse(r.body.toString('utf8')), expected)
  t.equal(r.headers['content-length'], String(r.body.length), 'content-length matches the masked body')
  for (const h of ['etag', 'content-md5', 'content-encoding', 'repr-digest', 'transfer-encoding', 'x-bz-content-sha1', 'x-oss-hash-crc64ecma']) t.notOk(h in r.headers, `${h} dropped`)
  t.equal(r.headers['cache-control'], 'private, max-age=60', 'other headers kept')
  t.equal(r.headers['x-request-id'], 'req-1')
  t.strictSame(r.headers['set-cookie'], ['a=1', 'b=2'], 'multi-value headers kept')
  t.equal(r.headers['content-type'], 'application/json; charset=utf-8')
  t.notOk(r.body.includes(SECRET_SSN), 'the secret is not in the body')
}

// --- tests ---------------------------------------------------------------------------------

t.test('every action, wildcards in arrays and objects, nested arrays', async (t) => {
  const r = await fetchMasked(serve(200, upstreamHeaders, json), rules)
  checkMasked(t, r)
  t.strictSame(r.masked, [
    '/customers/0/ssn', '/customers/1/ssn', '/customers/0/card', '/customers/1/card', '/customers/0/email', '/customers/1/email',
    '/customers/0/dob', '/customers/1/dob', '/accounts/acme/iban', '/accounts/initech/iban',
  ])
  t.strictSame(r.erased, ['/customers/0/notes', '/customers/1/notes', '/matrix/0/0/secret', '/matrix/1/0/secret', '/matrix/1/1/secret'])
  const again = await fetchMasked(serve(200, upstreamHeaders, json), rules)
  t.ok(again.body.equals(r.body), 'hashes (and everything else) are stable across requests')
})

t.test('error statuses are masked too; chunked bodies are reassembled', async (t) => {
  checkMasked(t, await fetchMasked(serve(404, upstreamHeaders, json, { chunk: 7 }), rules), 404)
})

t.test('+json media types are JSON', async (t) => {
  const r = await fetchMasked(serve(422, { 'content-type': 'application/problem+json' }, '{"detail":"bad","ssn":"1"}'), [{ path: '/ssn', action: 'remove' }])
  t.equal(r.body.toString(), '{"detail":"bad"}')
  t.equal(r.statusCode, 422)
  const v = await fetchMasked(serve(200, { 'content-type': 'Application/VND.API+JSON;Charset="UTF-8"' }, '{"ssn":"1"}'), [{ path: '/ssn', action: 'null' }])
  t.equal(v.body.toString(), '{"ssn":null}')
})

t.test('compressed responses are decoded before masking', async (t) => {
  const raw = Buffer.from(json)
  const variants: [string, string, Buffer][] = [
    ['gzip', 'gzip', zlib.gzipSync(raw)],
    ['x-gzip', 'x-gzip', zlib.gzipSync(raw)],
    ['br', 'br', zlib.brotliCompressSync(raw)],
    ['deflate (zlib-wrapped, per RFC 9110)', 'deflate', zlib.deflateSync(raw)],
    ['deflate (raw, as some servers send it)', 'deflate', zlib.deflateRawSync(raw)],
    ['stacked: deflate then gzip', 'deflate, gzip', zlib.gzipSync(zlib.deflateSync(raw))],
    ['gzip with identity listed', 'identity, GZIP', zlib.gzipSync(raw)],
  ]
  for (const [name, enc, body] of variants) {
    t.test(name, async (t) => {
      const r = await fetchMasked(serve(200, { ...upstreamHeaders, 'content-encoding': enc }, body, { chunk: 100 }), rules)
      checkMasked(t, r)
    })
  }
})

t.test('over the limit fails closed, on the wire and after decompression', async (t) => {
  const big = JSON.stringify({ pad: 'x'.repeat(20_000), ssn: SECRET_SSN })
  // Declared content-length over the cap: refused before reading.
  const declared = serve(200, { 'content-type': 'application/json' }, big)
  await failsClosed(t, fetchMasked(declared, rules, { maxBodyBytes: 10_000 }), 'BOUNCER_ERR_MASK_TOO_LARGE', /limit of 10000 bytes \(content-length 200\d\d\)/)

  // No content-length (chunked): counted while reading.
  const chunked = serve(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' }, big, { chunk: 1000 })
  await failsClosed(t, fetchMasked(chunked, rules, { maxBodyBytes: 10_000 }), 'BOUNCER_ERR_MASK_TOO_LARGE', /limit of 10000 bytes \(on the wire\)/)

  // Wire cap separate from the decoded cap.
  const gz = serve(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' }, zlib.gzipSync(Buffer.from(JSON.stringify({ a: Array.from({ length: 4000 }, (_, i) => i * 7919 % 10007) }))))
  await failsClosed(t, fetchMasked(gz, rules, { maxWireBytes: 1000, maxBodyBytes: 1_000_000 }), 'BOUNCER_ERR_MASK_TOO_LARGE', /limit of 1000 bytes/)
  const okr = await fetchMasked(gz, [{ path: '/a/0', action: 'null' }], { maxWireBytes: 100_000, maxBodyBytes: 1_000_000 })
  t.equal((JSON.parse(okr.body.toString()) as { a: unknown[] }).a[0], null, 'the same response passes with a larger wire cap')
})

t.test('decompression bombs stop at the decoded cap', async (t) => {
  // 32 MiB of JSON that compresses to a few dozen KiB.
  const huge = Buffer.concat([Buffer.from('{"a":"'), Buffer.alloc(32 * 1024 * 1024, 0x61), Buffer.from('"}')])
  const bombs: [string, Buffer][] = [
    ['gzip', zlib.gzipSync(huge, { level: 1 })],
    ['br', zlib.brotliCompressSync(huge, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 1 } })],
    ['deflate', zlib.deflateSync(huge, { level: 1 })],
  ]
  for (const [enc, body] of bombs) {
    t.ok(body.length < 1_000_000, `${enc} bomb is ${body.length} bytes on the wire`)
    const before = process.memoryUsage().arrayBuffers
    const err = await failsClosed(t, fetchMasked(serve(200, { 'content-type': 'application/json', 'content-encoding': enc }, body), rules, { maxBodyBytes: 1024 * 1024 }),
      'BOUNCER_ERR_MASK_TOO_LARGE', /limit of 1048576 bytes \(after decompression\)/)
    t.ok(err)
    // The decoded cap bounds memory: nowhere near the 32 MiB the bomb expands to.
    t.ok(process.memoryUsage().arrayBuffers - before < 8 * 1024 * 1024, `${enc}: memory stays bounded`)
  }
})

t.test('an endless upstream body is cut off at the cap and the connection dropped', async (t) => {
  const path = `/endless${n++}`
  routes.set(path, (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' })
    res.write('[')
    const timer = setInterval(() => { res.write('"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",'.repeat(200)) }, 1)
    res.on('close', () => clearInterval(timer))
  })
  await failsClosed(t, fetchMasked(path, rules, { maxBodyBytes: 256 * 1024 }), 'BOUNCER_ERR_MASK_TOO_LARGE', /on the wire/)
  for (let i = 0; i < 100 && !abandoned.has(path); i++) await new Promise((r) => setTimeout(r, 10))
  t.ok(abandoned.has(path), 'upstream saw the client go away (body destroyed, not drained)')
})

t.test('non-JSON responses fail closed when rules apply', async (t) => {
  const html = '<html><body>SSN ' + SECRET_SSN + '</body></html>'
  const e = await failsClosed(t, fetchMasked(serve(200, { 'content-type': 'text/html' }, html), rules), 'BOUNCER_ERR_MASK_NOT_JSON', /content-type "text\/html"/)
  t.notOk(e?.message.includes(SECRET_SSN), 'the error does not carry the body')
  await failsClosed(t, fetchMasked(serve(200, {}, '{"ssn":"1"}'), rules), 'BOUNCER_ERR_MASK_NOT_JSON', /no content-type/)
  await failsClosed(t, fetchMasked(serve(200, { 'content-type': 'text/json' }, '{"ssn":"1"}'), rules), 'BOUNCER_ERR_MASK_NOT_JSON', /"text\/json"/)
  await failsClosed(t, fetchMasked(serve(200, { 'content-type': 'application/jsonx' }, '{}'), rules), 'BOUNCER_ERR_MASK_NOT_JSON', /application\/jsonx/)
  await failsClosed(t, fetchMasked(serve(200, { 'content-type': 'application/json; charset=iso-8859-1' }, '{"ssn":"1"}'), rules), 'BOUNCER_ERR_MASK_NOT_JSON', /charset "iso-8859-1"/)
  await failsClosed(t, fetchMasked(serve(200, { 'content-type': 'application/octet-stream' }, Buffer.from(json)), rules, { failStatus: 503 }), 'BOUNCER_ERR_MASK_NOT_JSON', /octet-stream/, 503)
})

t.test('with no rules the response passes through untouched (even non-JSON)', async (t) => {
  const body = zlib.gzipSync(Buffer.from('<p>hello</p>'))
  const r = await fetchMasked(serve(200, { 'content-type': 'text/html', 'content-encoding': 'gzip', etag: '"e"' }, body), [])
  t.ok(r.body.equals(body), 'bytes unchanged, still compressed')
  t.equal(r.headers['content-encoding'], 'gzip')
  t.equal(r.headers.etag, '"e"')
  t.equal(r.headers['content-length'], String(body.length))
})

t.test('bodies that cannot be parsed fail closed and never quote the body', async (t) => {
  const cases: [string, Buffer | string, RegExp][] = [
    ['invalid JSON', `{"ssn": "${SECRET_SSN}", oops}`, /not valid JSON/],
    ['truncated JSON', `{"ssn": "${SECRET_SSN}"`, /not valid JSON/],
    ['non-UTF-8', Buffer.concat([Buffer.from(`{"ssn": "${SECRET_SSN}`), Buffer.from([0xff, 0xfe]), Buffer.from('"}')]), /not valid UTF-8/],
    ['deep nesting', '['.repeat(5000) + `"${SECRET_SSN}"` + ']'.repeat(5000), /deeper than 128 levels/],
  ]
  for (const [name, body, reason] of cases) {
    const e = await failsClosed(t, fetchMasked(serve(200, { 'content-type': 'application/json' }, body), rules), 'BOUNCER_ERR_MASK_BODY_INVALID', reason)
    t.notOk(e && (e.message.includes(SECRET_SSN) || String(e.cause ?? '').includes(SECRET_SSN)), `${name}: error does not quote the body`)
  }
  await failsClosed(t, fetchMasked(serve(200, { 'content-type': 'application/json' }, '[[[1]]]'), rules, { maxDepth: 2 }), 'BOUNCER_ERR_MASK_BODY_INVALID', /deeper than 2 levels/)
})

t.test('duplicate keys: every occurrence is masked (whichever one a parser keeps)', async (t) => {
  const body = `{"ssn": "[REDACTED]", "ssn": "${SECRET_SSN}", "\\u0073sn": "${SECRET_SSN}", "x": 1}`
  const r = await fetchMasked(serve(200, { 'content-type': 'application/json' }, body), [{ path: '/ssn', action: 'redact' }])
  t.equal(r.body.toString(), '{"ssn": "[REDACTED]", "ssn": "[REDACTED]", "\\u0073sn": "[REDACTED]", "x": 1}')
  t.strictSame(r.masked, ['/ssn'])
  const removed = await fetchMasked(serve(200, { 'content-type': 'application/json' }, body), [{ path: '/ssn', action: 'remove' }])
  t.equal(removed.body.toString(), '{"x": 1}')
  t.strictSame(removed.erased, ['/ssn'])
})

t.test('broken or unsupported encodings fail closed', async (t) => {
  const gz = zlib.gzipSync(Buffer.from(json))
  await failsClosed(t, fetchMasked(serve(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' }, gz.subarray(0, gz.length - 20)), rules), 'BOUNCER_ERR_MASK_ENCODING', /gzip: Z_BUF_ERROR/)
  await failsClosed(t, fetchMasked(serve(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' }, json), rules), 'BOUNCER_ERR_MASK_ENCODING', /gzip: Z_DATA_ERROR/)
  await failsClosed(t, fetchMasked(serve(200, { 'content-type': 'application/json', 'content-encoding': 'br' }, json), rules), 'BOUNCER_ERR_MASK_ENCODING', /br/)
  await failsClosed(t, fetchMasked(serve(200, { 'content-type': 'application/json', 'content-encoding': 'zstd' }, json), rules), 'BOUNCER_ERR_MASK_ENCODING', /unsupported coding "zstd"/)
  await failsClosed(t, fetchMasked(serve(200, { 'content-type': 'application/json', 'content-encoding': 'gzip, gzip, gzip' }, json), rules), 'BOUNCER_ERR_MASK_ENCODING', /3 stacked codings/)
})

t.test('an upstream that dies mid-body fails closed', async (t) => {
  const path = `/dies${n++}`
  routes.set(path, (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': '100000' })
    res.write(`{"ssn": "${SECRET_SSN}", "pad": "`)
    setTimeout(() => res.destroy(), 20)
  })
  await failsClosed(t, fetchMasked(path, rules), 'BOUNCER_ERR_MASK_BODY_READ', /could not be read/)

  // Mid-way through a compressed body: the read failed, not the decoder.
  const gzPath = `/dies${n++}`
  const gz = zlib.gzipSync(Buffer.from(JSON.stringify({ ssn: SECRET_SSN, pad: Array.from({ length: 20000 }, (_, i) => i) })))
  routes.set(gzPath, (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip', 'content-length': String(gz.length) })
    res.write(gz.subarray(0, gz.length >> 1))
    setTimeout(() => res.destroy(), 20)
  })
  await failsClosed(t, fetchMasked(gzPath, rules), 'BOUNCER_ERR_MASK_BODY_READ', /could not be read/)
})

t.test('responses without a body: HEAD, 204, 304, empty 200', async (t) => {
  const head = await fetchMasked(serve(200, upstreamHeaders, json), rules, {}, 'HEAD')
  t.equal(head.body.length, 0)
  t.notOk('content-length' in head.headers, "HEAD: the unmasked body's length is not passed on")
  t.notOk('etag' in head.headers)
  const nc = await fetchMasked(serve(204, { 'x-a': '1' }, ''), rules)
  t.equal(nc.statusCode, 204)
  t.equal(nc.headers['x-a'], '1')
  const nm = await fetchMasked(serve(304, { etag: '"abc"' }, ''), rules)
  t.equal(nm.statusCode, 304)
  t.notOk('etag' in nm.headers)
  const empty = await fetchMasked(serve(200, { 'content-type': 'application/json' }, ''), rules)
  t.equal(empty.body.length, 0)
  t.equal(empty.headers['content-length'], '0')
  const emptyGz = await fetchMasked(serve(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' }, ''), rules)
  t.equal(emptyGz.body.length, 0, 'an empty body labelled gzip is still empty, not a decode error')
  t.notOk('content-encoding' in emptyGz.headers)
})

t.test('hash rules without a usable key refuse the response', async (t) => {
  await t.rejects(fetchMasked(serve(200, upstreamHeaders, json), [{ path: '/customers/*/email', action: 'hash' }], { hashKey: Buffer.alloc(4) }), { code: 'BOUNCER_ERR_MASK_HASH_KEY' })
})

t.test('a body read as several chunks is masked in its own copy: the same bytes and lists as from one chunk, the chunks untouched', async (t) => {
  const doc = { users: Array.from({ length: 200 }, (_, i) => ({ id: i, ssn: `${100 + i}-55-${1000 + i}`, card: `41111111${10000000 + i}`, note: 'x'.repeat(i % 7), tag: i % 2 })) }
  const body = Buffer.from(JSON.stringify(doc, null, 1))
  // tag grows from 1 byte to a long redaction: the output passes the reading position late in the body.
  const rules: MaskRule[] = [{ path: '/users/*/ssn', action: 'redact' }, { path: '/users/*/card', action: 'last4' }, { path: '/users/*/note', action: 'remove' }, { path: '/users/*/tag', action: 'redact', replacement: 'R'.repeat(40) }]
  const mask = compileMaskRules(rules)
  const chunks = Array.from({ length: Math.ceil(body.length / 1000) }, (_, i) => Buffer.from(body.subarray(i * 1000, (i + 1) * 1000)))
  const copies = chunks.map((c) => Buffer.from(c))
  const source = (parts: Buffer[]): AsyncIterable<Uint8Array> => (async function * () { yield * parts })()
  const headers = { 'content-type': 'application/json' }
  const one = await maskUpstreamResponse({ statusCode: 200, headers, body: source([Buffer.from(body)]) }, mask, { hashKey })
  const many = await maskUpstreamResponse({ statusCode: 200, headers, body: source(chunks) }, mask, { hashKey })
  t.ok(many.body.equals(one.body), 'same bytes')
  t.notOk(many.body.toString().includes('-55-'), 'no ssn left')
  t.equal(JSON.parse(many.body.toString()).users[199].tag, 'R'.repeat(40))
  t.strictSame(many.masked, one.masked, 'lists from the untouched chunks')
  t.strictSame(many.erased, one.erased)
  t.equal(many.masked.length, 600)
  t.ok(chunks.every((c, i) => c.equals(copies[i]!)), 'the chunks themselves are not written to')
})
