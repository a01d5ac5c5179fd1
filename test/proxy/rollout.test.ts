// End-to-end policy rollout (issue 7, "done when"): a real bundle server on loopback speaking
// OPA's bundle API with long polling serves revision A; during a burst of concurrent
// requests it switches to revision B. No request may fail, every response must be A's or
// B's decision, and every request that *started* after the bouncer activated B must get B's.
// The decision cache (L1) is on so that a cache keyed without the revision would show up
// here as A's decision served after the switch.
import t from 'tap'
import { createServer, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { Agent, request } from 'undici'
import { compileBundle } from '../../src/compiler/bundle/index.js'
import { LONG_POLL_CONTENT_TYPE } from '../../src/policy/bundle/download.js'
import { startBouncer, startUpstream } from '../helpers/index.js'

const ENTRYPOINT = 'bouncer/decision'

// A allows (the upstream answers 200) and tags the response; B denies with its own status,
// body and header. The two are told apart by status, header and body together.
const POLICY_A = `package bouncer

decision := {"allow": true, "response_headers": {"x-rev": "A"}}
`
const POLICY_B = `package bouncer

decision := {"allow": false, "status": 409, "body": {"revision": "B"}, "headers": {"x-rev": "B"}}
`

async function bundle (revision: string, source: string): Promise<Buffer> {
  const dir = mkdtempSync(path.join(tmpdir(), 'bouncer-rollout-src-'))
  writeFileSync(path.join(dir, 'policy.rego'), source)
  return (await compileBundle({ paths: [dir], entrypoints: [ENTRYPOINT], revision })).tarGz
}

/**
 * OPA bundle service with long polling: a request whose If-None-Match is the current ETag and
 * that carries `Prefer: wait=N` is held until the bundle changes (answered 200 at once) or N
 * seconds pass (304). Every answer carries the long-polling content type, which is how OPA
 * clients learn the server supports it.
 */
async function startBundleServer (first: { etag: string; body: Buffer }) {
  let current = first
  const waiting = new Set<{ res: ServerResponse; timer: NodeJS.Timeout }>()
  let requests = 0
  const send = (res: ServerResponse) => {
    res.writeHead(200, { 'content-type': LONG_POLL_CONTENT_TYPE, etag: current.etag, 'content-length': current.body.length })
    res.end(current.body)
  }
  const server = createServer((req, res) => {
    requests++
    if (req.method !== 'GET' || req.url !== '/bundles/bouncer.tar.gz') { res.writeHead(404); res.end(); return }
    if (req.headers['if-none-match'] !== current.etag) return send(res)
    const wait = /wait=(\d+)/.exec(String(req.headers.prefer ?? ''))
    if (!wait) { res.writeHead(304, { 'content-type': LONG_POLL_CONTENT_TYPE, etag: current.etag }); res.end(); return }
    const w = {
      res,
      timer: setTimeout(() => {
        waiting.delete(w)
        res.writeHead(304, { 'content-type': LONG_POLL_CONTENT_TYPE, etag: current.etag })
        res.end()
      }, Math.min(Number(wait[1]), 30) * 1000),
    }
    waiting.add(w)
    res.on('close', () => { clearTimeout(w.timer); waiting.delete(w) })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    get requests () { return requests },
    get waiting () { return waiting.size },
    /** Publishes a new bundle and answers every held long poll with it. */
    publish (next: { etag: string; body: Buffer }) {
      current = next
      for (const w of [...waiting]) { clearTimeout(w.timer); waiting.delete(w); send(w.res) }
    },
    async close () {
      for (const w of waiting) clearTimeout(w.timer)
      server.closeAllConnections()
      await new Promise((resolve) => server.close(resolve))
    },
  }
}

interface Sample { startNs: bigint; endNs: bigint; status?: number; rev?: string; body?: string; error?: string }

t.test('rollout from A to B during a request burst, long polling', async (t) => {
  const [a, b] = await Promise.all([bundle('rev-a', POLICY_A), bundle('rev-b', POLICY_B)])
  const bundles = await startBundleServer({ etag: '"rev-a"', body: a })
  const up = await startUpstream()
  const bouncer = await startBouncer({
    upstream: up.url,
    config: {
      cache: { enabled: true, l1: { enabled: true } },
      bundles: {
        service_url: bundles.url,
        resource: 'bundles/bouncer.tar.gz',
        // Long polling is what makes the rollout fast; the ordinary delays would add up to 60 s.
        polling: { min_delay_seconds: 60, max_delay_seconds: 120, long_polling_timeout_seconds: 10 },
        persist_dir: mkdtempSync(path.join(tmpdir(), 'bouncer-rollout-persist-')),
      },
    },
  })
  const client = new Agent({ connections: 32 })
  t.teardown(async () => {
    await client.close()
    await bouncer.close()
    await bundles.close()
    await up.close()
  })
  t.equal(bouncer.app.holder.current?.revision, 'rev-a', 'revision A is active after start')
  // The bouncer's next request is the long poll the switch will answer.
  const until = Date.now() + 5000
  while (bundles.waiting === 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 10))
  t.equal(bundles.waiting, 1, 'the bouncer holds a long poll open')

  let activatedNs: bigint | undefined
  bouncer.app.holder.onActivate((next) => { if (next.revision === 'rev-b') activatedNs = process.hrtime.bigint() })

  const TOTAL = 400
  const IN_FLIGHT = 20
  const SWITCH_AFTER = 100
  // Requests keep going past TOTAL until enough of them started after the activation, so the
  // burst always spans it; the deadline bounds the test if activation never happens.
  const MIN_AFTER = 50
  const deadline = Date.now() + 20_000
  const samples: Sample[] = []
  let issued = 0
  let completed = 0
  let switchNs: bigint | undefined
  let startedAfter = 0

  async function one (): Promise<Sample> {
    const startNs = process.hrtime.bigint()
    if (activatedNs !== undefined) startedAfter++
    try {
      const res = await request(`${bouncer.url}/items/${issued}`, { dispatcher: client, headersTimeout: 5000, bodyTimeout: 5000 })
      const body = await res.body.text()
      const rev = res.headers['x-rev']
      return { startNs, endNs: process.hrtime.bigint(), status: res.statusCode, rev: typeof rev === 'string' ? rev : undefined, body }
    } catch (e) {
      return { startNs, endNs: process.hrtime.bigint(), error: (e as Error).message }
    }
  }
  async function worker (): Promise<void> {
    while ((issued < TOTAL || startedAfter < MIN_AFTER) && Date.now() < deadline) {
      issued++
      samples.push(await one())
      completed++
      if (completed === SWITCH_AFTER) {
        switchNs = process.hrtime.bigint()
        bundles.publish({ etag: '"rev-b"', body: b })
      }
    }
  }
  await Promise.all(Array.from({ length: IN_FLIGHT }, () => worker()))

  t.ok(switchNs !== undefined, 'the server switched during the burst')
  t.ok(activatedNs !== undefined, 'the bouncer activated revision B')
  if (switchNs === undefined || activatedNs === undefined) return
  const latencyMs = Number(activatedNs - switchNs) / 1e6
  t.comment(`server switch → activation (long polling): ${latencyMs.toFixed(1)} ms; ${samples.length} requests, ${startedAfter} started after activation`)
  t.ok(latencyMs < 2000, `activation within 2 s of the switch (${latencyMs.toFixed(1)} ms)`)

  const failed = samples.filter((s) => s.error !== undefined || (s.status ?? 0) >= 500)
  t.same(failed, [], 'no request failed (no 5xx, no connection errors)')
  const isA = (s: Sample) => s.status === 200 && s.rev === 'A' && JSON.parse(s.body!).ok === true
  const isB = (s: Sample) => s.status === 409 && s.rev === 'B' && JSON.parse(s.body!).revision === 'B'
  const neither = samples.filter((s) => !isA(s) && !isB(s))
  t.same(neither, [], "every response is A's or B's decision")
  const lateA = samples.filter((s) => s.startNs > activatedNs! && !isB(s))
  t.same(lateA, [], "every request started after the activation got B's decision")
  const early = samples.filter((s) => s.endNs < switchNs!)
  t.ok(early.length >= SWITCH_AFTER && early.every(isA), "requests finished before the switch all got A's decision")
  t.ok(samples.filter((s) => s.startNs > activatedNs!).length >= MIN_AFTER, 'the burst went on after the activation')
  t.equal(bouncer.app.holder.current?.revision, 'rev-b')
})
