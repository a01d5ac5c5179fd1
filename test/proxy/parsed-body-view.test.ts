// parsed_body judges a body by the content type the upstream will see, and never lets a body it
// could not read through as if it had read it:
//   - `Connection: content-type` drops the content type from the request view (hop-by-hop): the
//     upstream then gets a body without one, which FastAPI and Go read as JSON. It was judged by
//     the client's raw `text/plain` and skipped.
//   - a blank `Content-Type:` is no content type (FastAPI: `if not content_type_value`).
//   - a compressed body cannot be judged: an upstream that inflates (Express does by default)
//     reads it all the same. 415, whatever invalid_json says; so is one in a charset other than
//     UTF-8 (body-parser decodes utf-7: review helper, 2026-12-07).
import { gzipSync, brotliCompressSync, deflateSync } from 'node:zlib'
import t from 'tap'
import { request } from 'undici'
import { startBouncer, startUpstream, rawRequest } from '../helpers/index.js'

const POLICY = `package bouncer

default decision := {"allow": true}

decision := {"allow": false, "status": 403} if input.parsed_body.role == "admin"
`
const ADMIN = '{"role":"admin"}'

t.test('parsed_body: the body is judged as the upstream will read it', async (t) => {
  const up = await startUpstream()
  for (const invalid of ['reject', 'skip'] as const) {
    const b = await startBouncer({ upstream: up.url, rego: { 'p.rego': POLICY }, config: { policy: { parsed_body: { enabled: true, invalid_json: invalid } } } })
    t.teardown(() => b.close())
    const raw = async (headers: string, body: string | Buffer): Promise<number | undefined> => {
      const head = `POST /x HTTP/1.1\r\nHost: api.local\r\n${headers}Content-Length: ${body.length}\r\nConnection: close\r\n\r\n`
      return (await rawRequest(b.port, Buffer.concat([Buffer.from(head), Buffer.from(body)]))).status
    }
    up.requests.length = 0
    t.equal(await raw('Content-Type: application/json\r\n', ADMIN), 403, `${invalid}: a JSON body is judged`)
    t.equal(await raw('Content-Type: text/plain\r\nConnection: content-type\r\n', ADMIN), 403, `${invalid}: Connection: content-type — the upstream gets no content type, the body is parsed as such a body is`)
    t.equal(await raw('Content-Type: application/xml\r\nConnection: keep-alive, Content-Type\r\n', ADMIN), 403, `${invalid}: in a list, any case`)
    t.equal(await raw('Content-Type: \r\n', ADMIN), 403, `${invalid}: a blank content type is none`)
    t.equal(await raw('Content-Type: text/plain\r\n', ADMIN), 200, `${invalid}: a body the upstream is told is text is not parsed`)
    t.same(up.requests.map((r) => r.headers['content-type']), ['text/plain'], `${invalid}: only that one reached the upstream`)
    up.requests.length = 0
    for (const [name, coding, body] of [['gzip', 'gzip', gzipSync(ADMIN)], ['deflate', 'deflate', deflateSync(ADMIN)], ['br', 'br', brotliCompressSync(ADMIN)],
      ['upper case', 'GZIP', gzipSync(ADMIN)], ['a list', 'gzip, identity', gzipSync(ADMIN)], ['stacked', 'gzip, gzip', gzipSync(gzipSync(ADMIN))]] as const) {
      t.equal(await raw(`Content-Type: application/json\r\nContent-Encoding: ${coding}\r\n`, body), 415, `${invalid}: ${name}: refused, it cannot be judged`)
      t.equal(await raw(`Content-Encoding: ${coding}\r\n`, body), 415, `${invalid}: ${name}, no content type: refused too`)
    }
    t.equal(await raw('Content-Type: application/json\r\nContent-Encoding: identity\r\n', ADMIN), 403, `${invalid}: identity is no coding`)
    t.equal(await raw('Content-Type: image/png\r\nContent-Encoding: gzip\r\n', gzipSync('png')), 200, `${invalid}: a body parsed_body does not read keeps its coding`)
    t.same(up.requests.map((r) => r.headers['content-encoding']), ['gzip'], `${invalid}: no encoded JSON reached the upstream`)
    up.requests.length = 0
    // A charset other than UTF-8: body-parser decodes utf-7 through iconv-lite, so these bytes
    // are {"role":"admin"} to Express while the policy read a harmless string.
    const UTF7 = '{"role":"+AGEAZABtAGkAbg-"}'
    for (const ct of ['application/json; charset=utf-7', 'application/json;charset="UTF-7"', 'application/json; charset=utf-16le', 'application/json; foo=bar; charset=latin1', 'application/json; Charset = us-ascii']) {
      t.equal(await raw(`Content-Type: ${ct}\r\n`, UTF7), 415, `${invalid}: ${ct}: refused, it cannot be judged`)
    }
    t.equal(await raw("Content-Type: application/json; charset*=utf-8''utf-7\r\n", UTF7), 415, `${invalid}: RFC 2231's charset* (Django reads it) is refused too`)
    t.equal(await raw('Content-Type: application/json; charset*0=utf-7\r\n', UTF7), 415, `${invalid}: and its continuations`)
    t.equal(await raw('Content-Type: application/json; charset=UTF8\r\n', ADMIN), 403, `${invalid}: utf8 is UTF-8`)
    // Django REST framework matches a * in the request's type to its JSON parser.
    t.equal(await raw('Content-Type: */*\r\n', ADMIN), 403, `${invalid}: */* is read as JSON`)
    t.equal(await raw('Content-Type: application/*\r\n', ADMIN), 403, `${invalid}: application/* is read as JSON`)
    // JSON in UTF-16/32 without a content type: Python's json.loads detects it (FastAPI).
    const u16 = Buffer.from('\ufeff' + ADMIN, 'utf16le')
    const u32be = Buffer.alloc(ADMIN.length * 4)
    for (let i = 0; i < ADMIN.length; i++) u32be.writeUInt32BE(ADMIN.charCodeAt(i), i * 4)
    t.equal(await raw('', u16), 415, `${invalid}: UTF-16LE with a BOM, no content type: refused`)
    t.equal(await raw('', u32be), 415, `${invalid}: UTF-32BE without a BOM, no content type: refused`)
    t.equal(await raw('Content-Type: application/json\r\n', Buffer.from(ADMIN, 'utf16le')), 415, `${invalid}: declared JSON in UTF-16: refused whatever invalid_json says`)
    t.equal(await raw('', Buffer.from([0, 1, 2, 3, 4, 5])), 200, `${invalid}: binary data without a content type is not taken for JSON`)
    // Review of the first version: whitespace of any length; text and binary that merely look wide.
    const padded = Buffer.from(' '.repeat(70) + ADMIN, 'utf16le')
    t.equal(await raw('', padded), 415, `${invalid}: UTF-16 JSON after 70 spaces: refused`)
    t.equal(await raw('Content-Type: application/json\r\n', padded), 415, `${invalid}: declared, too`)
    t.equal(await raw('', Buffer.from('\ufeffname\tage\nann\t7\n', 'utf16le')), 200, `${invalid}: UTF-16 text that is not JSON passes`)
    t.equal(await raw('', Buffer.from([49, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0])), 200, `${invalid}: int32 samples starting with "1" pass`)
    // Rails and Rack cut the media type at a comma: this is JSON to them.
    t.equal(await raw('Content-Type: application/json, text/plain\r\n', ADMIN), 403, `${invalid}: application/json, text/plain is JSON`)
    // A wildcard is judged as no content type: JSON is read, anything else passes unrefused.
    t.equal(await raw('Content-Type: */*\r\n', Buffer.from([0x89, 0x50, 0x4e, 0x47])), 200, `${invalid}: */* binary is not refused`)
    t.equal(await raw('Content-Type: application/json; charset=utf-8\r\n', ADMIN), 403, `${invalid}: utf-8 is read`)
    t.equal(await raw('Content-Type: application/json; charset="UTF-8"\r\n', ADMIN), 403, `${invalid}: quoted, any case`)
    t.equal(await raw('Content-Type: text/plain; charset=utf-7\r\n', UTF7), 200, `${invalid}: a body parsed_body does not read keeps its charset`)
    // JSON under the names Rails also binds as JSON.
    t.equal(await raw('Content-Type: text/x-json\r\n', ADMIN), 403, `${invalid}: text/x-json is JSON`)
    t.equal(await raw('Content-Type: application/jsonrequest\r\n', ADMIN), 403, `${invalid}: application/jsonrequest is JSON`)
    t.same(up.requests.map((r) => r.headers['content-type']), [undefined, undefined, undefined, '*/*', 'text/plain; charset=utf-7'], `${invalid}: only the binary and text bodies reached the upstream`)
    up.requests.length = 0
  }
  // The proxy goes on serving.
  const b = await startBouncer({ upstream: up.url, rego: { 'p.rego': POLICY }, config: { policy: { parsed_body: { enabled: true } } } })
  t.teardown(async () => { await b.close(); await up.close() })
  const r = await request(`${b.url}/after`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"role":"user"}' })
  await r.body.dump()
  t.equal(r.statusCode, 200)
})

t.test('a chunked body read for parsed_body: the policy sees the Content-Length the upstream gets', async (t) => {
  // The body is buffered and forwarded with a Content-Length (request view, step 4); the policy's
  // copy of the headers was taken before it was set (a regression of 2026-12-06).
  const up = await startUpstream()
  const rego = `package bouncer

default decision := {"allow": true}

decision := {"allow": false, "status": 413} if to_number(input.attributes.request.http.headers["content-length"]) > 10
`
  const b = await startBouncer({ upstream: up.url, rego: { 'p.rego': rego }, config: { policy: { parsed_body: { enabled: true } } } })
  t.teardown(async () => { await b.close(); await up.close() })
  const chunked = (body: string): string => `POST /x HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n${body.length.toString(16)}\r\n${body}\r\n0\r\n\r\n`
  t.equal((await rawRequest(b.port, chunked('{"a":"' + 'x'.repeat(50) + '"}'))).status, 413, 'a 58-byte body is over the policy\'s limit')
  t.equal((await rawRequest(b.port, chunked('{"a":1}'))).status, 200)
  t.same(up.requests.map((r) => r.headers['content-length']), ['7'], 'the upstream got the length the policy saw')
})
