// bundles.service_url wired into the app: the first bundle makes it ready; a new revision on
// the server is activated while serving.
import t from 'tap'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { request } from 'undici'
import { compileBundle } from '../../src/compiler/bundle/index.js'
import { startBouncer, startUpstream } from '../helpers/index.js'

async function bundle (rev: string, header: string): Promise<Buffer> {
  const dir = mkdtempSync(path.join(tmpdir(), 'bouncer-bsrc-'))
  writeFileSync(path.join(dir, 'p.rego'), `package bouncer\n\ndecision := {"allow": true, "response_headers": {"x-rev": "${header}"}}\n`)
  return (await compileBundle({ paths: [dir], entrypoints: ['bouncer/decision'], revision: rev })).tarGz
}

t.test('policy from a bundle server', async (t) => {
  let current = { etag: '"a"', body: await bundle('rev-a', 'A') }
  let hits = 0
  const server = createServer((req, res) => {
    hits++
    if (req.url !== '/bundles/bouncer.tar.gz') { res.writeHead(404); res.end(); return }
    if (req.headers['if-none-match'] === current.etag) { res.writeHead(304); res.end(); return }
    res.writeHead(200, { 'content-type': 'application/gzip', etag: current.etag })
    res.end(current.body)
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()))
  const up = await startUpstream()
  const b = await startBouncer({
    upstream: up.url,
    config: {
      bundles: {
        service_url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        resource: 'bundles/bouncer.tar.gz',
        polling: { min_delay_seconds: 0.1, max_delay_seconds: 0.2 },
        persist_dir: mkdtempSync(path.join(tmpdir(), 'bouncer-persist-')),
      },
    },
  })
  t.teardown(async () => { await b.close(); await up.close(); await new Promise((r) => server.close(r)) })
  t.equal((await request(`${b.adminUrl}/readyz`)).statusCode, 200, 'ready after the first download')
  const r1 = await request(`${b.url}/x`)
  t.equal(r1.headers['x-rev'], 'A')
  await r1.body.dump()
  current = { etag: '"b"', body: await bundle('rev-b', 'B') }
  const end = Date.now() + 5000
  while (b.app.holder.current?.revision !== 'rev-b' && Date.now() < end) await new Promise((r) => setTimeout(r, 50))
  const r2 = await request(`${b.url}/x`)
  t.equal(r2.headers['x-rev'], 'B', 'the new revision is active')
  await r2.body.dump()
  t.ok(hits >= 2)
  const m = await (await request(`${b.adminUrl}/metrics`)).body.text()
  t.match(m, /bouncer_bundle_revision_info\{name="bouncer",revision="rev-b"\} 1/)
  t.match(m, /bouncer_policy_info\{revision="rev-b"/)
})
