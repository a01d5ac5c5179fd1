// bearer_token_file is read for every upload: after a rotation on disk the next upload carries
// the new token (until 2026-12-06 the token read at start was sent for ever, and every upload
// after the old one expired got 401). An unreadable file fails the upload with an error naming
// it, sends nothing, and the events stay in the spool. At start a missing file is still a
// config error. Real parts: a control plane on 127.0.0.1, the spool and token files on disk.
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { renameSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { gunzipSync } from 'node:zlib'
import t from 'tap'
import { DecisionLogger } from '../../src/decision-log/index.js'
import { sampleInput, tempDir, waitFor } from './fixtures/control-plane.js'

function rotate (file: string, token: string): void {
  writeFileSync(`${file}.new`, `${token}\n`)
  renameSync(`${file}.new`, file)
}

t.test('uploads read the token file each time', async (t) => {
  const dir = tempDir(t)
  const file = join(dir, 'token')
  rotate(file, 'token-A')
  const cp = { valid: 'token-A', requests: 0, accepted: [] as { auth: string; ids: string[] }[] }
  const server = createServer((req, res) => {
    cp.requests++
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      if (req.headers.authorization !== `Bearer ${cp.valid}`) { res.writeHead(401).end('{}'); return }
      const events = JSON.parse(gunzipSync(Buffer.concat(chunks)).toString('utf8')) as { input: { attributes: { request: { http: { id: string } } } } }[]
      cp.accepted.push({ auth: req.headers.authorization, ids: events.map((e) => e.input.attributes.request.http.id) })
      res.writeHead(200).end('{}')
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(async () => { server.closeAllConnections(); await new Promise((resolve) => server.close(resolve)) })
  const lg = new DecisionLogger({
    spool_dir: join(dir, 'spool'),
    service_url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    bearer_token_file: file,
    min_delay_seconds: 0.01,
    max_delay_seconds: 0.05,
  })
  await lg.start()
  t.teardown(() => lg.stop(0))
  const record = (i: number): void => { lg.record({ path: 'bouncer/decision', input: sampleInput(i), result: { allow: true } }) }
  const sentWith = (i: number): string | undefined => cp.accepted.find((b) => b.ids.includes(`req-${i}`))?.auth

  record(0)
  await waitFor(() => sentWith(0) !== undefined, 10000, 'event 0')
  t.equal(sentWith(0), 'Bearer token-A')

  cp.valid = 'token-B'
  rotate(file, 'token-B')
  record(1)
  await waitFor(() => sentWith(1) !== undefined, 10000, 'event 1 with the rotated token')
  t.equal(sentWith(1), 'Bearer token-B')

  rmSync(file)
  const before = cp.requests
  record(2)
  await waitFor(() => lg.status().last_error?.includes(file) === true, 10000, 'the status to name the file')
  t.match(lg.status().last_error, /^cannot read bearer token file .*ENOENT/)
  t.equal(cp.requests, before, 'nothing sent without the token')
  t.equal(lg.status().pending_events, 1, 'the event waits in the spool')

  cp.valid = 'token-C'
  rotate(file, 'token-C')
  await waitFor(() => sentWith(2) !== undefined, 10000, 'event 2 once the file is back')
  t.equal(sentWith(2), 'Bearer token-C')
})

t.test('a missing token file at start is a config error', async (t) => {
  const dir = tempDir(t)
  t.throws(() => new DecisionLogger({ spool_dir: join(dir, 'spool'), service_url: 'http://127.0.0.1:9', bearer_token_file: join(dir, 'absent') }),
    { code: 'BOUNCER_ERR_DECISION_LOG_CONFIG', message: /bearer_token_file: cannot read .*absent/ })
})
