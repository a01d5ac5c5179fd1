// What a bundle server writes in an error answer never reaches /readyz, the bundle status or
// the process log: only the status code and its standard reason phrase do. Until 2026-12-06 the
// first 200 characters of a non-200 body went into the error's reason, so a proxy or server
// that echoes the request leaked the bearer token and the presigned query values of the
// resource into /readyz and the logs. Real parts: the app (buildApp) with its admin port, a
// bundle server on loopback, a token file on disk, a policy compiled by the project's compiler.
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import t from 'tap'
import { request } from 'undici'
import { compileBundle } from '../../src/compiler/bundle/index.js'
import { memoryLogger, startBouncer, startUpstream } from '../helpers/index.js'

const SECRETS = ['TOKEN-abcdef-SECRET', 'QUERY-SECRET', 'PRESIGNED-SECRET', 'PASSWORD-SECRET', 'BODY-ONLY-SECRET']

t.test('an error answer that echoes the request leaks nothing into /readyz, the status or the logs', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'bouncer-leak-'))
  const tokenFile = path.join(dir, 'token')
  writeFileSync(tokenFile, 'TOKEN-abcdef-SECRET\n')
  const src = mkdtempSync(path.join(tmpdir(), 'bouncer-leak-src-'))
  writeFileSync(path.join(src, 'p.rego'), 'package bouncer\n\ndecision := {"allow": true}\n')
  const v1 = (await compileBundle({ paths: [src], entrypoints: ['bouncer/decision'], revision: 'v1' })).tarGz
  let requests = 0
  const server = createServer((req, res) => {
    requests++
    if (requests === 1) { res.writeHead(200, { 'content-type': 'application/gzip' }).end(v1); return }
    // An echoing proxy in front of the bundle service.
    res.writeHead(401, { 'content-type': 'text/plain' })
      .end(`unauthorized; you sent ${req.headers.authorization} to ${req.url} (BODY-ONLY-SECRET)`)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(async () => { server.closeAllConnections(); await new Promise((resolve) => server.close(resolve)) })
  const port = (server.address() as AddressInfo).port
  const up = await startUpstream()
  t.teardown(() => up.close())
  const mem = memoryLogger('debug')
  const b = await startBouncer({
    upstream: up.url,
    deps: { logger: mem.logger },
    config: {
      logging: { level: 'debug' },
      bundles: {
        service_url: `http://alice:PASSWORD-SECRET@127.0.0.1:${port}/v1?api_key=QUERY-SECRET`,
        resource: 'bundles/authz.tar.gz?X-Amz-Signature=PRESIGNED-SECRET',
        bearer_token_file: tokenFile,
        polling: { min_delay_seconds: 0.02, max_delay_seconds: 0.05 },
        persist_dir: path.join(dir, 'persist'),
      },
    },
  })
  t.teardown(() => b.close())
  t.equal(b.app.holder.current?.revision, 'v1')

  type BundlesComponent = { lastError: { reason: string; httpCode?: number } | null; cycles: number }
  const bundles = (): BundlesComponent => b.app.health.readiness().components.bundles as unknown as BundlesComponent
  const end = Date.now() + 10000
  while (bundles().lastError?.httpCode !== 401 || requests < 3) {
    if (Date.now() > end) throw new Error('timed out waiting for two 401 answers')
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  t.equal(bundles().lastError!.reason, 'server answered HTTP 401 (Unauthorized)', 'the status code and its reason phrase, nothing the server wrote')

  const ready = await request(`${b.adminUrl}/readyz`)
  const readyz = await ready.body.text()
  t.equal(ready.statusCode, 200)
  t.match(readyz, /server answered HTTP 401 \(Unauthorized\)/, '/readyz shows the failure')
  const logs = mem.text()
  t.match(logs, /bundle rejected; previous policy stays active/, 'the failure is logged')
  for (const secret of SECRETS) {
    t.notOk(readyz.includes(secret), `/readyz does not carry ${secret}`)
    t.notOk(logs.includes(secret), `the process log (debug level) does not carry ${secret}`)
  }
})
