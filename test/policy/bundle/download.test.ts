// The bundle service client on its own: jitter and backoff bounds, mTLS against a real
// HTTPS server that requires a client certificate, and long-poll timeouts (304 with the
// bundle content type) answered by an immediate re-poll.
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:https'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { writeBundle } from '../../../src/bundle/index.js'
import { backoffDelayMs, BundleDownloader, BundleManager, pollDelayMs } from '../../../src/policy/bundle/index.js'
import { BundleServer, waitFor } from './helpers.js'

t.test('poll delay is jittered between min and max; backoff doubles up to the cap with ±20%', async (t) => {
  const p = { minDelaySeconds: 10, maxDelaySeconds: 20, maxBackoffSeconds: 60 }
  t.equal(pollDelayMs(p, () => 0), 10_000)
  t.equal(pollDelayMs(p, () => 0.999999), 20_000)
  t.equal(pollDelayMs(p, () => 0.5), 15_000)
  t.same([1, 2, 3, 4, 5].map(r => backoffDelayMs(p, r, () => 0.5)), [10_000, 20_000, 40_000, 60_000, 60_000])
  t.equal(backoffDelayMs(p, 1, () => 0), 8_000)
  t.equal(backoffDelayMs(p, 1, () => 1), 12_000)
  t.equal(backoffDelayMs(p, 1000, () => 0.5), 60_000, 'no overflow after many failures')
})

/** A throwaway PKI: CA, a server certificate for 127.0.0.1, and a client certificate. */
function makePki (): { ca: string; serverKey: string; serverCert: string; clientKey: string; clientCert: string } {
  const d = mkdtempSync(join(tmpdir(), 'bundle-pki-'))
  const ssl = (...args: string[]): void => { execFileSync('openssl', args, { cwd: d, stdio: 'pipe' }) }
  ssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '1', '-subj', '/CN=test-ca')
  writeFileSync(join(d, 'server.ext'), 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n')
  writeFileSync(join(d, 'client.ext'), 'extendedKeyUsage=clientAuth\n')
  for (const who of ['server', 'client']) {
    ssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${who}.key`, '-out', `${who}.csr`, '-subj', `/CN=${who}`)
    ssl('x509', '-req', '-in', `${who}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${who}.pem`, '-days', '1', '-extfile', `${who}.ext`)
  }
  const r = (f: string): string => readFileSync(join(d, f), 'utf8')
  return { ca: r('ca.pem'), serverKey: r('server.key'), serverCert: r('server.pem'), clientKey: r('client.key'), clientCert: r('client.pem') }
}

t.test('mTLS: the client certificate and CA from the service options are used', async (t) => {
  const pki = makePki()
  const bundle = await writeBundle({ manifest: { revision: 'tls-1', roots: [''] }, data: { ok: true } })
  const seen: string[] = []
  const server = createServer({ key: pki.serverKey, cert: pki.serverCert, ca: pki.ca, requestCert: true, rejectUnauthorized: true }, (req, res) => {
    const peer = (req.socket as import('node:tls').TLSSocket).getPeerCertificate()
    seen.push(String(peer.subject?.CN))
    res.writeHead(200, { 'content-type': 'application/gzip', etag: '"t"' }).end(bundle)
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { server.closeAllConnections(); server.close() })
  const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`

  const activated: string[] = []
  const m = new BundleManager({
    name: 'tls', service: { url, tls: { ca: pki.ca, cert: pki.clientCert, key: pki.clientKey } },
    production: true, allowUnsigned: true, polling: { minDelaySeconds: 60, maxDelaySeconds: 60 }, requestTimeoutSeconds: 2
  }, { activate: async (b) => { activated.push(b.manifest.revision) } })
  t.teardown(async () => { await m.stop() })
  await m.start()
  t.same(activated, ['tls-1'], 'downloaded over mutual TLS')
  t.same(seen, ['client'], 'the server saw the client certificate')

  // Without a client certificate the handshake is refused: a download error, nothing active.
  const d = new BundleDownloader({ service: { url, tls: { ca: pki.ca } }, resource: 'b', requestTimeoutSeconds: 2, maxResponseBytes: 1 << 20 })
  t.teardown(async () => { await d.close() })
  await t.rejects(d.fetchOnce(), { code: 'BOUNCER_ERR_BUNDLE_DOWNLOAD', reason: /request failed/ })
  // And a server certificate from an unknown CA is refused.
  const stranger = new BundleDownloader({ service: { url, tls: { cert: pki.clientCert, key: pki.clientKey } }, resource: 'b', requestTimeoutSeconds: 2, maxResponseBytes: 1 << 20 })
  t.teardown(async () => { await stranger.close() })
  await t.rejects(stranger.fetchOnce(), { code: 'BOUNCER_ERR_BUNDLE_DOWNLOAD', reason: /certificate/ })
})

t.test('a long poll that times out (304 + bundle content type) is re-issued at once', async (t) => {
  const server = await BundleServer.start()
  t.teardown(async () => { await server.close() })
  server.longPoll = true
  server.serve({ kind: 'bundle', bytes: await writeBundle({ manifest: { revision: 'lp', roots: [''] }, data: {} }), etag: '"lp"' })
  const m = new BundleManager({
    name: 'lp', service: { url: server.url }, polling: { longPollingTimeoutSeconds: 1, minDelaySeconds: 30, maxDelaySeconds: 30 }, requestTimeoutSeconds: 1
  }, { activate: async () => {} })
  t.teardown(async () => { await m.stop() })
  await m.start()
  // Request 1 downloads; request 2 is held ~1 s and answered 304; request 3 follows at once.
  await waitFor(() => server.ts.requests.length >= 3, 4000, 'the re-poll after the 304')
  const [, second, third] = server.ts.requests
  const gap = third!.at - second!.at
  t.ok(gap >= 900 && gap < 1500, `second request held for the wait (${gap.toFixed(0)} ms), third sent right after`)
  t.equal(third!.headers.prefer, 'wait=1')
  t.equal(server.ts.requests[0]!.headers.prefer, undefined, 'the first request, with no version held (no ETag), is not a long poll')
  t.equal(m.status().state, 'OK')
})

t.test('the downloader refuses oversized bodies with and without Content-Length', async (t) => {
  const server = await BundleServer.start()
  t.teardown(async () => { await server.close() })
  const big = Buffer.alloc(5000, 1)
  server.ts.handle((_req, res) => { res.writeHead(200, { 'content-type': 'application/gzip' }); res.write(big); res.end() })
  const d = new BundleDownloader({ service: { url: server.url }, resource: 'x', requestTimeoutSeconds: 2, maxResponseBytes: 4096 })
  t.teardown(async () => { await d.close() })
  await t.rejects(d.fetchOnce(), { code: 'BOUNCER_ERR_BUNDLE_DOWNLOAD', reason: /response exceeds max_compressed_bytes \(4096\)/ })
  server.ts.handle((_req, res) => { res.writeHead(200, { 'content-length': big.length }).end(big) })
  await t.rejects(d.fetchOnce(), { code: 'BOUNCER_ERR_BUNDLE_DOWNLOAD', reason: /response of 5000 bytes exceeds/ })
})

t.test('a service URL with a path and a query: the resource goes after the path, the query stays the query', async (t) => {
  // The resource was appended to the query (`/v1?tenant=a/bundles/b.tar.gz`): every request went
  // to a mangled URL. The same join serves the decision-log control plane (test/decision-log).
  const server = await BundleServer.start()
  t.teardown(async () => { await server.close() })
  server.ts.handle((_req, res) => { res.writeHead(404); res.end() })
  const d = new BundleDownloader({ service: { url: `${server.url}/v1/?tenant=a#frag` }, resource: '/bundles/b.tar.gz', requestTimeoutSeconds: 2, maxResponseBytes: 4096 })
  t.teardown(async () => { await d.close() })
  await t.rejects(d.fetchOnce())
  t.equal(server.ts.requests[0]?.url, '/v1/bundles/b.tar.gz?tenant=a', 'path joined, query kept, no fragment')
  // A presigned resource brings its own query: both are sent.
  const p = new BundleDownloader({ service: { url: `${server.url}/v1?tenant=a` }, resource: 'bundles/b.tar.gz?X-Amz-Signature=abc', requestTimeoutSeconds: 2, maxResponseBytes: 4096 })
  t.teardown(async () => { await p.close() })
  await t.rejects(p.fetchOnce())
  t.equal(server.ts.requests[1]?.url, '/v1/bundles/b.tar.gz?tenant=a&X-Amz-Signature=abc', 'the resource\'s query is added to the base URL\'s')
})
