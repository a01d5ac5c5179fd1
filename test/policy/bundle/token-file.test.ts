// service.bearerTokenFile: the bundle manager reads the token file for every request (bundle
// downloads and status reports), so a token rotated on disk is sent from the next request on; a
// file that cannot be read fails that attempt with an error naming it, sends nothing, and the
// active bundle stays. Real parts: a bundle server on 127.0.0.1, token files in a temp dir.
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { writeBundle } from '../../../src/bundle/index.js'
import { BundleManager } from '../../../src/policy/bundle/index.js'
import { BundleServer, waitFor } from './helpers.js'

function rotate (file: string, token: string): void {
  writeFileSync(`${file}.new`, `${token}\n`)
  renameSync(`${file}.new`, file)
}

t.test('the token file is read for every download (status reports still go out)', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'bundle-token-'))
  const file = join(dir, 'token')
  rotate(file, 'token-A')
  const server = await BundleServer.start()
  server.serve({ kind: 'bundle', bytes: await writeBundle({ manifest: { revision: 'A', roots: [''] }, data: {} }), etag: '"A"' })
  const m = new BundleManager({
    name: 'authz',
    service: { url: server.url, bearerTokenFile: file },
    resource: 'bundles/authz.tar.gz',
    polling: { minDelaySeconds: 0.02, maxDelaySeconds: 0.05, maxBackoffSeconds: 0.05 },
    requestTimeoutSeconds: 2,
    status: { enabled: true },
  }, { activate: async () => {} })
  t.teardown(async () => { await m.stop(); await server.close() })
  await m.start()
  await m.flushStatus()
  t.equal(server.ts.requests[0]!.headers.authorization, 'Bearer token-A')

  rotate(file, 'token-B')
  const n = server.ts.requests.length
  await waitFor(() => server.ts.requests.length > n, 5000, 'the next poll')
  t.equal(server.ts.requests.at(-1)!.headers.authorization, 'Bearer token-B', 'the rotated token at the next poll')

  // Unreadable: the attempt fails naming the file; nothing is sent; A stays active.
  rmSync(file)
  await waitFor(() => m.status().lastError !== null, 5000, 'a failed attempt')
  t.match(m.status().lastError, { code: 'BOUNCER_ERR_BUNDLE_DOWNLOAD', reason: new RegExp(`cannot read bearer token file ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: ENOENT`) })
  const sent = server.ts.requests.length
  const cycles = m.status().cycles
  await waitFor(() => m.status().cycles >= cycles + 2, 5000, 'two more attempts')
  t.equal(server.ts.requests.length, sent, 'no request without the token')
  t.equal(m.status().state, 'WARN')
  t.equal(m.status().activeRevision, 'A', 'the active bundle stays')

  rotate(file, 'token-C')
  await waitFor(() => m.status().lastError === null, 5000, 'recovery')
  t.equal(server.ts.requests.at(-1)!.headers.authorization, 'Bearer token-C')
  await m.flushStatus()
  t.ok(server.ts.statusPosts.length >= 1, 'status reports were sent')
})
