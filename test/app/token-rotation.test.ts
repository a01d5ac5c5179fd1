// Bearer token files are read again for every request: bundles.bearer_token_file for each
// bundle download, decision_logs.bearer_token_file for each upload. A token rotated on disk
// (Kubernetes projected service-account tokens, a Vault agent) is used from the next attempt
// on; until 2026-12-06 the file was read once at start, so after a rotation every poll got 401
// for ever (and a revoking bundle was never applied) while /readyz stayed 200. A token file
// that cannot be read at a later attempt fails that attempt with an error naming the file; the
// last good policy stays and undelivered events stay in the spool. At start a missing file is
// still a config error. Real parts: the app (buildApp), a bundle server and a control plane on
// loopback, token files on disk, policies compiled by the project's compiler.
import { createServer, type IncomingMessage, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { gunzipSync } from 'node:zlib'
import t, { type Test } from 'tap'
import { request } from 'undici'
import { compileBundle } from '../../src/compiler/bundle/index.js'
import { startBouncer, startUpstream } from '../helpers/index.js'

async function bundle (rev: string, allow: boolean): Promise<Buffer> {
  const dir = mkdtempSync(path.join(tmpdir(), 'bouncer-tok-src-'))
  writeFileSync(path.join(dir, 'p.rego'), `package bouncer\n\ndecision := {"allow": ${allow}}\n`)
  return (await compileBundle({ paths: [dir], entrypoints: ['bouncer/decision'], revision: rev })).tarGz
}

/** Polls `cond` every 20 ms; fails the test with `what` after `ms`. */
async function waitFor (cond: () => boolean | Promise<boolean>, what: string, ms = 10000): Promise<void> {
  const end = Date.now() + ms
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

/** A server that answers 401 unless the request carries `Bearer <valid>`; records what it saw. */
async function tokenServer (t: Test, handle: (req: IncomingMessage, body: Buffer, res: import('node:http').ServerResponse) => void): Promise<{ url: string; state: { valid: string; seen: string[] } }> {
  const state = { valid: 'token-A', seen: [] as string[] }
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      state.seen.push(String(req.headers.authorization))
      if (req.headers.authorization !== `Bearer ${state.valid}`) { res.writeHead(401).end('token expired'); return }
      handle(req, Buffer.concat(chunks), res)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(async () => { server.closeAllConnections(); await new Promise((resolve) => server.close(resolve)) })
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, state }
}

/** Writes a token file the way rotating writers do: a new file renamed over the old one. */
function rotate (file: string, token: string): void {
  writeFileSync(`${file}.new`, `${token}\n`)
  renameSync(`${file}.new`, file)
}

t.test('bundles.bearer_token_file: a rotated token is used at the next poll and a revoking bundle is applied', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'bouncer-tok-'))
  const tokenFile = path.join(dir, 'token')
  rotate(tokenFile, 'token-A')
  let served = { etag: '"v1"', body: await bundle('v1', true) }
  const bs = await tokenServer(t, (req, _body, res) => {
    if (req.headers['if-none-match'] === served.etag) { res.writeHead(304).end(); return }
    res.writeHead(200, { 'content-type': 'application/gzip', etag: served.etag }).end(served.body)
  })
  const up = await startUpstream()
  t.teardown(() => up.close())
  const b = await startBouncer({
    upstream: up.url,
    config: {
      bundles: {
        service_url: bs.url,
        resource: 'bundles/authz.tar.gz',
        bearer_token_file: tokenFile,
        polling: { min_delay_seconds: 0.02, max_delay_seconds: 0.05 },
        persist_dir: path.join(dir, 'persist'),
      },
    },
  })
  t.teardown(() => b.close())
  const status = async (url: string): Promise<number> => { const r = await request(url); await r.body.dump(); return r.statusCode }
  t.equal(b.app.holder.current?.revision, 'v1')
  t.equal(await status(`${b.url}/x`), 200, 'v1 allows')

  // Rotation: the old token stops working, the new one is on disk, and v2 denies everything.
  served = { etag: '"v2"', body: await bundle('v2', false) }
  bs.state.valid = 'token-B'
  rotate(tokenFile, 'token-B')
  await waitFor(() => b.app.holder.current?.revision === 'v2', 'v2 to be downloaded with the rotated token')
  t.equal(bs.state.seen.at(-1), 'Bearer token-B', 'the rotated token is sent')
  t.equal(await status(`${b.url}/x`), 403, 'the revoking bundle is enforced')

  // A token file that cannot be read: that poll fails naming the file, v2 stays, nothing crashes.
  rmSync(tokenFile)
  type BundlesComponent = { lastError: { reason: string } | null; state: string; cycles: number }
  const bundles = (): BundlesComponent => b.app.health.readiness().components.bundles as unknown as BundlesComponent
  await waitFor(() => bundles().lastError?.reason.includes(tokenFile) === true, 'the bundle status to name the unreadable token file')
  t.match(bundles().lastError!.reason, /cannot read bearer token file .*ENOENT/, 'a clear reason')
  t.equal(bundles().state, 'WARN', 'failing, the last good policy active')
  // Polls are sequential: once one has failed on the file, every earlier request has arrived.
  const requestsBefore = bs.state.seen.length
  const cycles = bundles().cycles
  await waitFor(() => bundles().cycles >= cycles + 2, 'two more polls')
  t.equal(bs.state.seen.length, requestsBefore, 'no request is sent without the token')
  t.equal(b.app.holder.current?.revision, 'v2', 'the last good policy stays')
  t.equal(await status(`${b.url}/x`), 403)

  // The file comes back (next rotation): polling recovers.
  served = { etag: '"v3"', body: await bundle('v3', true) }
  bs.state.valid = 'token-C'
  rotate(tokenFile, 'token-C')
  await waitFor(() => b.app.holder.current?.revision === 'v3', 'v3 after the token file is back')
  t.equal(await status(`${b.url}/x`), 200)
})

t.test('decision_logs.bearer_token_file: uploads after a rotation carry the new token; an unreadable file keeps events in the spool', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'bouncer-tok-dl-'))
  const tokenFile = path.join(dir, 'token')
  rotate(tokenFile, 'token-A')
  const received: { auth: string; ids: string[] }[] = []
  const cp = await tokenServer(t, (req, body, res) => {
    const events = JSON.parse(gunzipSync(body).toString('utf8')) as { input?: { attributes?: { request?: { http?: { path?: string } } } } }[]
    received.push({ auth: String(req.headers.authorization), ids: events.map((e) => e.input?.attributes?.request?.http?.path ?? '') })
    res.writeHead(200).end('{}')
  })
  const up = await startUpstream()
  t.teardown(() => up.close())
  const b = await startBouncer({
    upstream: up.url,
    rego: { 'p.rego': 'package bouncer\n\ndecision := {"allow": true}\n' },
    config: {
      decision_logs: {
        enabled: true,
        service_url: cp.url,
        bearer_token_file: tokenFile,
        spool_dir: path.join(dir, 'spool'),
        min_delay_seconds: 0.01,
        max_delay_seconds: 0.05,
      },
    },
  })
  t.teardown(() => b.close())
  const get = async (p: string): Promise<void> => { const r = await request(`${b.url}${p}`); await r.body.dump() }
  const delivered = (p: string): { auth: string } | undefined => received.find((r) => r.ids.includes(p))

  await get('/first')
  await waitFor(() => delivered('/first') !== undefined, 'the first event')
  t.equal(delivered('/first')!.auth, 'Bearer token-A')

  cp.state.valid = 'token-B'
  rotate(tokenFile, 'token-B')
  await get('/after-rotation')
  await waitFor(() => delivered('/after-rotation') !== undefined, 'the event after the rotation to be accepted')
  t.equal(delivered('/after-rotation')!.auth, 'Bearer token-B', 'uploaded with the rotated token')

  // Unreadable token file: the upload fails with the file named; the event waits in the spool.
  rmSync(tokenFile)
  const requestsBefore = cp.state.seen.length
  await get('/while-missing')
  await waitFor(() => {
    const s = b.app.health.readiness().components.decision_logs as unknown as { last_error?: string }
    return s.last_error?.includes(tokenFile) === true
  }, 'the decision-log status to name the unreadable token file')
  t.match((b.app.health.readiness().components.decision_logs as unknown as { last_error: string }).last_error, /cannot read bearer token file .*ENOENT/)
  t.equal(cp.state.seen.length, requestsBefore, 'nothing is uploaded without the token')
  t.equal(delivered('/while-missing'), undefined)

  cp.state.valid = 'token-C'
  rotate(tokenFile, 'token-C')
  await waitFor(() => delivered('/while-missing') !== undefined, 'the spooled event once the token file is back')
  t.equal(delivered('/while-missing')!.auth, 'Bearer token-C')
})

t.test('at start a missing token file is still a config error naming the setting', async (t) => {
  const up = await startUpstream()
  t.teardown(() => up.close())
  const missing = path.join(mkdtempSync(path.join(tmpdir(), 'bouncer-tok-none-')), 'absent')
  await t.rejects(startBouncer({
    upstream: up.url,
    config: { bundles: { service_url: 'http://127.0.0.1:9', resource: 'b.tar.gz', bearer_token_file: missing } },
  }), { message: /bundles\.bearer_token_file: cannot read .*absent/ })
  await t.rejects(startBouncer({
    upstream: up.url,
    rego: { 'p.rego': 'package bouncer\n\ndecision := {"allow": true}\n' },
    config: { decision_logs: { enabled: true, service_url: 'http://127.0.0.1:9', bearer_token_file: missing, spool_dir: path.dirname(missing) } },
  }), { message: /decision_logs\.bearer_token_file: cannot read .*absent/ })
})
