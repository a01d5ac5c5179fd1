// write_mode "group": the proxy holds each request until the spool's writer has put its decision
// event on disk (and, with fsync "always", synced it), so no request reaches the upstream with an
// event a crash could still lose.
import { pbkdf2 } from 'node:crypto'
import { existsSync, readdirSync, readFileSync, symlinkSync } from 'node:fs'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { request } from 'undici'
import { startBouncer, startUpstream } from '../helpers/index.js'
import { tempDir } from '../decision-log/fixtures/control-plane.js'

const ALLOW = 'package bouncer\n\ndecision := {"allow": true}\n'

function spoolText (dir: string): string {
  let s = ''
  for (const n of readdirSync(dir)) if (n.startsWith('seg-')) s += readFileSync(join(dir, n), 'utf8')
  return s
}

/** Keep libuv's thread pool (where the spool writes) busy for a while, as a slow disk would. */
function busyThreadPool (ms: number, onFirstFree: () => void): Promise<unknown> {
  const threads = Number(process.env.UV_THREADPOOL_SIZE ?? 4)
  const iterations = Math.max(1000, Math.round(ms * 2000))
  return Promise.all(Array.from({ length: threads }, () => new Promise((resolve) => pbkdf2('x', 'y', iterations, 32, 'sha256', () => { onFirstFree(); resolve(null) }))))
}

t.test('every request reaches the upstream only after its event is written (fsync "always": and synced)', async (t) => {
  const dir = tempDir(t)
  const spool = join(dir, 'spool')
  const up = await startUpstream()
  const seen: Array<{ path: string; onDisk: boolean; afterSync: boolean }> = []
  let poolFree = true
  up.handle = (req, res) => {
    // Looked up synchronously, in the upstream, the moment the request arrives.
    seen.push({ path: req.url!, onDisk: spoolText(spool).includes(`"path":"${req.url}"`), afterSync: poolFree })
    res.writeHead(200, { 'content-type': 'text/plain' })
    res.end('ok')
  }
  const b = await startBouncer({
    upstream: up.url, rego: { 'p.rego': ALLOW },
    config: { decision_logs: { enabled: true, sinks: ['file'], file_path: join(dir, 'export.jsonl'), spool_dir: spool, fsync: 'always' } },
  })
  t.teardown(async () => { await b.close(); await up.close() })
  // 60 requests, 20 at a time: several share a turn and so one write and one fdatasync. The
  // fdatasync runs on libuv's thread pool, which is kept busy meanwhile (a slow disk): a request
  // that did not wait for its group's sync would reach the upstream while the pool is busy.
  for (let round = 0; round < 3; round++) {
    poolFree = false
    const busy = busyThreadPool(100, () => { poolFree = true })
    await Promise.all(Array.from({ length: 20 }, async (_, i) => {
      const r = await request(`${b.url}/item/${round}-${i}`)
      await r.body.dump()
      t.equal(r.statusCode, 200)
    }))
    await busy
  }
  t.equal(seen.length, 60)
  t.same(seen.filter((s) => !s.onDisk).map((s) => s.path), [], 'no request arrived before its event was written')
  t.same(seen.filter((s) => !s.afterSync).map((s) => s.path), [], 'none arrived before a thread was free to sync it')
})

/** Every overflow setting with each write mode that holds or writes before forwarding. */
const SPOOL_MODES = [['backpressure', 'group'], ['drop_oldest', 'group'], ['drop_oldest', 'sync'], ['backpressure', 'sync']] as const

/** A bouncer logging every decision to a spool in `dir` (fsync never), in front of a real upstream. */
async function spooledBouncer (t: Test, overflow: 'backpressure' | 'drop_oldest', writeMode: 'group' | 'sync') {
  const dir = tempDir(t)
  const spool = join(dir, 'spool')
  const up = await startUpstream()
  const b = await startBouncer({
    upstream: up.url, rego: { 'p.rego': ALLOW },
    config: { decision_logs: { enabled: true, sinks: ['file'], file_path: join(dir, 'export.jsonl'), spool_dir: spool, fsync: 'never', overflow, write_mode: writeMode } },
  })
  return { dir, spool, up, b, mode: `${overflow}, ${writeMode}`, close: async () => { await b.close(); await up.close() } }
}

t.test('a spool write that fails: 503 whatever overflow says (the lost event could not be declared in the chain), the upstream never sees the request, the loss is counted', { skip: existsSync('/dev/full') ? false : 'no /dev/full' }, async (t) => {
  for (const [overflow, writeMode] of SPOOL_MODES) {
    const { spool, up, b, mode, close } = await spooledBouncer(t, overflow, writeMode)
    // The first segment file is about to be created: make it the full device (a real ENOSPC).
    symlinkSync('/dev/full', join(spool, 'seg-00000000000000000001.jsonl'))
    const r = await request(`${b.url}/first`)
    await r.body.dump()
    const metrics = await (await request(`${b.adminUrl}/metrics`)).body.text()
    t.match(metrics, /bouncer_decision_log_dropped_total\{reason="write_error"\} 1/, `${mode}: the lost event is counted`)
    t.equal(r.statusCode, 503, `${mode}: refused`)
    t.equal(up.requests.length, 0, `${mode}: the upstream never saw it`)
    const state = (): unknown => (b.app.health.readiness().components.decision_logs as unknown as { state: string }).state
    t.equal(state(), 'ERROR', `${mode}: the decision log reports the failing disk`)
    // The failed segment is removed; the next request is logged normally.
    const again = await request(`${b.url}/second`)
    await again.body.dump()
    t.equal(again.statusCode, 200, `${mode}: the process keeps serving`)
    t.equal(up.requests.length, 1)
    t.equal(state(), 'OK', `${mode}: and says so once a write succeeds`)
    t.match(spoolText(spool), /"path":"\/second"/)
    await close()
  }
})

t.test('a spool segment that cannot be created: 503 whatever overflow says, in both write modes; the upstream never sees the request', async (t) => {
  for (const [overflow, writeMode] of SPOOL_MODES) {
    const { dir, spool, up, b, mode, close } = await spooledBouncer(t, overflow, writeMode)
    // The first segment's file cannot be opened: a dangling symlink into a missing directory.
    symlinkSync(join(dir, 'missing', 'seg'), join(spool, 'seg-00000000000000000001.jsonl'))
    const r = await request(`${b.url}/first`)
    await r.body.dump()
    t.equal(r.statusCode, 503, `${mode}: refused`)
    t.equal(up.requests.length, 0, `${mode}: the upstream never saw it`)
    const metrics = await (await request(`${b.adminUrl}/metrics`)).body.text()
    t.match(metrics, /bouncer_decision_log_dropped_total\{reason="write_error"\} 1/, `${mode}: the lost event is counted`)
    await close()
  }
})
