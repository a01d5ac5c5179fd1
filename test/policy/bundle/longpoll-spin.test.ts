// Long polling against a server that does not hold requests. A "nothing new" answer with the
// long-poll content type that comes back at once (a server ignoring `Prefer: wait`, or anything
// at its address answering that way) is followed by the normal poll delay, not by another
// request at once: until 2026-12-06 such a server was hit ~5000 times a second. A long poll
// the server held, and one ended early by a new bundle, are still re-issued at once (the
// existing tests in download.test.ts and manager.test.ts keep those).
//
// Deterministic: the manager's sleep (node:timers/promises) records the delay it is asked for
// and then holds until stop(), so the test sees exactly which delay followed which answer.
// Real parts: a bundle server on 127.0.0.1 and real bundles; activation is injected.
import t, { type Test } from 'tap'
import { writeBundle } from '../../../src/bundle/index.js'
import { startServer, waitFor, type Handler, type TestServer } from './helpers.js'

const LONG_POLL_TYPE = 'application/vnd.openpolicyagent.bundles'

/** A manager whose every non-zero sleep is recorded and then held until stop(). */
async function manager (t: Test, handler: Handler): Promise<{ server: TestServer; delays: number[]; activated: string[] }> {
  const delays: number[] = []
  const sleep = async (ms: number, _value?: unknown, opts?: { signal?: AbortSignal }): Promise<void> => {
    delays.push(ms)
    await new Promise<void>((_resolve, reject) => {
      if (opts?.signal?.aborted) { reject(new Error('aborted')); return }
      opts?.signal?.addEventListener('abort', () => reject(new Error('aborted')), { once: true })
    })
  }
  const { BundleManager } = await t.mockImport<typeof import('../../../src/policy/bundle/index.js')>('../../../src/policy/bundle/index.js', {
    'node:timers/promises': { setTimeout: sleep },
  })
  const server = await startServer(handler)
  const activated: string[] = []
  const m = new BundleManager({
    name: 'authz',
    service: { url: server.url },
    resource: 'bundles/authz.tar.gz',
    // The poll delay (60 s, pinned by random = 0.5) is what must follow an immediate answer.
    polling: { minDelaySeconds: 60, maxDelaySeconds: 60, longPollingTimeoutSeconds: 30 },
    requestTimeoutSeconds: 5,
  }, { activate: async (b) => { activated.push(b.manifest.revision) }, random: () => 0.5 })
  t.teardown(async () => { await m.stop(); await server.close() })
  await m.start()
  return { server, delays, activated }
}

t.test('a server answering long polls at once with 304 is polled at the poll delay, not in a loop', async (t) => {
  const v1 = await writeBundle({ manifest: { revision: 'v1', roots: [''] }, data: {} })
  const h = await manager(t, (req, res) => {
    if (req.headers['if-none-match'] === '"v1"') { res.writeHead(304, { 'content-type': LONG_POLL_TYPE, etag: '"v1"' }).end(); return }
    res.writeHead(200, { 'content-type': LONG_POLL_TYPE, etag: '"v1"' }).end(v1)
  })
  t.same(h.activated, ['v1'])
  // The bundle ended the first request: the second (the long poll) follows at once. The
  // server answers it at once too, so the manager must now sleep the poll delay.
  await waitFor(() => h.delays.length >= 1 || h.server.requests.length > 20, 5000, 'a sleep (or a hot loop)')
  t.same(h.delays, [60000], 'the poll delay follows an immediate "nothing new"')
  t.equal(h.server.requests.length, 2, 'the bundle, then one long poll; no third request')
  t.equal(h.server.requests[1]!.headers.prefer, 'wait=30', 'the second request was a long poll')
})

t.test('a server without ETags re-sending the same bundle at once with the long-poll type is not hammered either', async (t) => {
  const v1 = await writeBundle({ manifest: { revision: 'v1', roots: [''] }, data: {} })
  const h = await manager(t, (_req, res) => {
    res.writeHead(200, { 'content-type': LONG_POLL_TYPE }).end(v1)
  })
  t.same(h.activated, ['v1'])
  await waitFor(() => h.delays.length >= 1 || h.server.requests.length > 20, 5000, 'a sleep (or a hot loop)')
  t.same(h.delays, [60000], 'the same bytes again count as "nothing new"')
  t.equal(h.server.requests.length, 2)
  t.same(h.activated, ['v1'], 'not activated again')
})
