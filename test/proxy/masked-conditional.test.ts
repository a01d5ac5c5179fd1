// Masked stays masked (issue 15): on a request whose decision masks, Range and conditional
// headers never reach the upstream (a 206 fragment would be "masked" as if it were a document and
// match no rule; a 304 tells a client whether its guess of the unmasked body was right), an
// upstream 206/304 fails closed, and the validators of the unmasked representation (ETag,
// Last-Modified) and range headers are dropped from the masked response.
import { createHash } from 'node:crypto'
import t from 'tap'
import { startBouncer, startUpstream, rawRequest, memoryLogger } from '../helpers/index.js'

const POLICY = `package bouncer

decision := {"allow": true, "mask": [{"path": "/ssn", "action": "redact"}]} if input.parsed_path[0] == "masked"
decision := {"allow": true} if input.parsed_path[0] == "plain"
`

const DOC = JSON.stringify({ name: 'Ann Example', id: 7, ssn: '123-45-6789' })
const ETAG = `"${createHash('sha256').update(DOC).digest('hex').slice(0, 16)}"`
const MODIFIED = 'Tue, 01 Apr 2025 10:00:00 GMT'

t.test('masked responses: no ranges, no conditionals, no validators', async (t) => {
  const up = await startUpstream()
  // A well-behaved upstream: honours Range, If-Range, If-None-Match and If-Modified-Since.
  let force: number | undefined
  up.handle = (req, res) => {
    const common = { 'content-type': 'application/json', etag: ETAG, 'last-modified': MODIFIED, 'accept-ranges': 'bytes' }
    if (force === 304 || req.headers['if-none-match'] === ETAG || req.headers['if-modified-since'] === MODIFIED) {
      res.writeHead(304, common); res.end(); return
    }
    const range = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? '')
    const ifRange = req.headers['if-range']
    if (force === 206 || (range && (ifRange === undefined || ifRange === ETAG))) {
      const [from, to] = range ? [Number(range[1]), Number(range[2])] : [27, 39]
      res.writeHead(206, { ...common, 'content-range': `bytes ${from}-${to}/${DOC.length}` })
      res.end(DOC.slice(from, to + 1)); return
    }
    res.writeHead(200, common)
    res.end(DOC)
  }
  const mem = memoryLogger()
  const b = await startBouncer({ upstream: up.url, rego: { 'p.rego': POLICY }, deps: { logger: mem.logger } })
  t.teardown(async () => { await b.close(); await up.close() })
  t.beforeEach(() => { up.requests.length = 0; force = undefined })
  const get = (path: string, extra: string) => rawRequest(b.port, `GET ${path} HTTP/1.1\r\nHost: api.local\r\n${extra}Connection: close\r\n\r\n`)
  const ssnAt = DOC.indexOf('123-45-6789')
  const range = `Range: bytes=${ssnAt}-${ssnAt + 10}\r\n`

  t.test('Range and conditional headers are not forwarded; the whole document is masked', async (t) => {
    for (const [what, extra] of [
      ['Range', range],
      ['Range + If-Range', `${range}If-Range: ${ETAG}\r\n`],
      ['If-None-Match (a guessed ETag)', `If-None-Match: ${ETAG}\r\n`],
      ['If-Modified-Since', `If-Modified-Since: ${MODIFIED}\r\n`],
      ['If-Match + If-Unmodified-Since', `If-Match: ${ETAG}\r\nIf-Unmodified-Since: ${MODIFIED}\r\n`],
    ]) {
      up.requests.length = 0
      const r = await get('/masked/c', extra)
      t.equal(r.status, 200, `${what}: a full 200`)
      t.notMatch(r.text, /123-45-6789|45-67/, `${what}: the ssn is not in the response`)
      t.match(r.text, /"ssn":"\[REDACTED\]"|"ssn":"[^"]*"/, `${what}: the document is masked`)
      const sent = up.requests[0].headers
      for (const h of ['range', 'if-range', 'if-none-match', 'if-match', 'if-modified-since', 'if-unmodified-since']) {
        t.notOk(h in sent, `${what}: ${h} not forwarded`)
      }
      const head = r.text.split('\r\n\r\n')[0]
      for (const h of ['etag', 'last-modified', 'content-range', 'accept-ranges']) {
        t.notMatch(head, new RegExp(`^${h}:`, 'im'), `${what}: no ${h} on the masked response`)
      }
    }
  })

  t.test('an upstream 206 or 304 on a masked request fails closed', async (t) => {
    for (const status of [206, 304]) {
      force = status
      const r = await get('/masked/c', '')
      t.equal(r.status, 502, `${status} → 502`)
      t.notMatch(r.text, /123-45-6789|45-67/, `${status}: nothing of the body`)
      const line = mem.lines().filter((l) => l.msg === 'request').at(-1)!
      t.equal(line.code, 'BOUNCER_ERR_PROXY_MASK_PARTIAL', `${status}: a precise error code`)
      t.equal(line.decision, 'mask_failed')
    }
  })

  t.test('unmasked requests keep ranges, conditionals and validators', async (t) => {
    const r = await get('/plain/c', range)
    t.equal(r.status, 206)
    t.match(r.text, /content-range: bytes/i)
    t.equal(up.requests[0].headers.range, `bytes=${ssnAt}-${ssnAt + 10}`)
    const c = await get('/plain/c', `If-None-Match: ${ETAG}\r\n`)
    t.equal(c.status, 304)
    t.match(c.text, new RegExp(`etag: ${ETAG}`, 'i'))
  })
})

t.test('a masked HEAD or 204 carries no content-length (not a length of 0)', async (t) => {
  const up = await startUpstream()
  up.handle = (req, res) => {
    if (req.url === '/masked/none') { res.writeHead(204, { 'content-type': 'application/json' }); res.end(); return }
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(DOC.length) })
    res.end(req.method === 'HEAD' ? undefined : DOC)
  }
  const b = await startBouncer({ upstream: up.url, rego: { 'p.rego': POLICY } })
  t.teardown(async () => { await b.close(); await up.close() })
  const head = await rawRequest(b.port, 'HEAD /masked/doc HTTP/1.1\r\nHost: api.local\r\nConnection: close\r\n\r\n')
  t.equal(head.status, 200)
  t.notMatch(head.text, /content-length/i, 'HEAD: no content-length')
  t.notMatch(head.text, /transfer-encoding/i, 'nor chunked framing')
  const none = await rawRequest(b.port, 'GET /masked/none HTTP/1.1\r\nHost: api.local\r\nConnection: close\r\n\r\n')
  t.equal(none.status, 204)
  t.notMatch(none.text, /content-length/i, '204: no content-length')
  const get = await rawRequest(b.port, 'GET /masked/doc HTTP/1.1\r\nHost: api.local\r\nConnection: close\r\n\r\n')
  t.match(get.text, /content-length: \d+/i, 'GET: the masked length')
  t.notMatch(get.text, /123-45-6789/)
})

t.test('masked responses: no CDN cache controls, no digests of the unmasked body; Accept-Encoding only what the masker decodes', async (t) => {
  const up = await startUpstream()
  up.handle = (req, res) => {
    // zstd when the client offers it (current Node, nginx and CDNs do); otherwise plain JSON.
    if (/zstd/.test(String(req.headers['accept-encoding']))) {
      res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'zstd' }); res.end(Buffer.from([0x28, 0xb5, 0x2f, 0xfd])); return
    }
    res.writeHead(200, {
      'content-type': 'application/json', 'cache-control': 'public, max-age=600',
      'cdn-cache-control': 'public, max-age=600', 'surrogate-control': 'max-age=600', 'cloudflare-cdn-cache-control': 'max-age=600',
      // nginx's proxy_cache and Akamai obey these over Cache-Control: private (review helper).
      'x-accel-expires': '600', 'edge-control': '!no-store, max-age=600', 'akamai-cache-control': 'max-age=600',
      'surrogate-key': 'customers', digest: 'sha-256=abc', 'content-digest': 'sha-256=:abc:', 'content-md5': 'abc', 'x-goog-hash': 'md5=abc', 'x-amz-checksum-sha256': 'abc',
      // Object stores' own checksum headers (Backblaze B2, Alibaba OSS, Tencent COS, Azure).
      'x-bz-content-sha1': 'abc', 'x-oss-hash-crc64ecma': '123', 'x-cos-hash-crc64ecma': '123', 'x-ms-content-crc64': 'abc', 'x-ms-blob-content-md5': 'abc',
      // rclone's and s3cmd's hashes in S3 user metadata; a detached JWS over the body.
      'x-amz-meta-md5chksum': 'abc', 'x-amz-meta-s3cmd-attrs': 'md5:abc', 'x-jws-signature': 'a..b',
      'x-kept': 'yes',
    })
    res.end(DOC)
  }
  const b = await startBouncer({ upstream: up.url, rego: { 'p.rego': POLICY } })
  t.teardown(async () => { await b.close(); await up.close() })
  const get = (path: string, extra = '') => rawRequest(b.port, `GET ${path} HTTP/1.1\r\nHost: api.local\r\n${extra}Connection: close\r\n\r\n`)

  const r = await get('/masked/c')
  t.equal(r.status, 200)
  t.notMatch(r.text, /123-45-6789/)
  for (const h of ['cdn-cache-control', 'surrogate-control', 'cloudflare-cdn-cache-control', 'x-accel-expires', 'edge-control', 'akamai-cache-control', 'surrogate-key', 'digest', 'content-digest', 'content-md5', 'x-goog-hash', 'x-amz-checksum-sha256',
    'x-bz-content-sha1', 'x-oss-hash-crc64ecma', 'x-cos-hash-crc64ecma', 'x-ms-content-crc64', 'x-ms-blob-content-md5',
    'x-amz-meta-md5chksum', 'x-amz-meta-s3cmd-attrs', 'x-jws-signature']) {
    t.notMatch(r.text, new RegExp(`^${h}:`, 'im'), `${h} is not on the masked response`)
  }
  t.match(r.text, /^cache-control: private/im, 'Cache-Control is private')
  t.match(r.text, /^x-kept: yes/im, 'other headers are kept')
  const plain = await get('/plain/c')
  t.match(plain.text, /^cdn-cache-control: public, max-age=600/im, 'an unmasked response keeps them')

  up.requests.length = 0
  const z = await get('/masked/c', 'Accept-Encoding: gzip, deflate, br, zstd\r\n')
  t.equal(z.status, 200, 'a browser offering zstd gets the masked document, not 502')
  t.equal(up.requests[0]?.headers['accept-encoding'], 'gzip, deflate, br', 'the upstream was offered only what the masker decodes')
  up.requests.length = 0
  await get('/masked/c', 'Accept-Encoding: zstd;q=1, gzip;q=0.5\r\n')
  t.equal(up.requests[0]?.headers['accept-encoding'], 'gzip;q=0.5', 'q-values kept')
  up.requests.length = 0
  await get('/masked/c', 'Accept-Encoding: zstd\r\n')
  t.equal(up.requests[0]?.headers['accept-encoding'], 'identity', 'nothing decodable: identity')
  up.requests.length = 0
  await get('/plain/c', 'Accept-Encoding: zstd\r\n')
  t.equal(up.requests[0]?.headers['accept-encoding'], 'zstd', 'an unmasked request is forwarded as it came')
})
