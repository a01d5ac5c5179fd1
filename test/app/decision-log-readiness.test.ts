// /readyz with decision-log overflow backpressure (review helper, 2026-12-07): a full spool
// refuses every request with 503, yet /readyz said 200 and the pod stayed in rotation. The
// instance is now not ready while the spool has no room for another event, and ready again once
// uploads free it (from the spool's fill: an instance out of rotation records nothing).
import { existsSync, mkdirSync, readdirSync, rmSync, symlinkSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { request } from 'undici'
import { startBouncer, startUpstream } from '../helpers/index.js'
import { startControlPlane, tempDir } from '../decision-log/fixtures/control-plane.js'

const ALLOW = 'package bouncer\n\ndecision := {"allow": true, "reason": "' + 'r'.repeat(400) + '"}\n'

// A logger with a spool and no working sink (its uploads fail), as the spool tests below need.
const DOWN = { kind: 'none', batchBytes: () => 1 << 20, send: async () => ({ ok: false as const, error: 'down' }), probe: async () => ({ ok: false as const, error: 'down' }), close: async () => {} }
const spoolOnly = (dir: string, writeMode: 'group' | 'sync') => ({ spool_dir: dir, sinks: ['console' as const], write_mode: writeMode, fsync: 'never' as const, min_delay_seconds: 60, max_delay_seconds: 60 })

t.test('a full spool under overflow backpressure makes the instance not ready until uploads free it', async (t) => {
  const dir = tempDir(t)
  const cp = await startControlPlane()
  cp.failWith = 503
  const up = await startUpstream()
  const b = await startBouncer({
    upstream: up.url, rego: { 'p.rego': ALLOW },
    config: { decision_logs: { enabled: true, service_url: cp.url, spool_dir: join(dir, 'spool'), max_bytes: 16384, overflow: 'backpressure', min_delay_seconds: 0.05, max_delay_seconds: 0.2 } },
  })
  t.teardown(async () => { await b.close(); await up.close(); await cp.close() })
  const ready = async (): Promise<[number, Record<string, any>]> => {
    const r = await request(`${b.adminUrl}/readyz`)
    return [r.statusCode, await r.body.json() as Record<string, any>]
  }
  t.equal((await ready())[0], 200, 'ready while the spool has room')
  let refused = 0
  for (let i = 0; i < 200 && refused === 0; i++) {
    const r = await request(`${b.url}/x${i}`)
    await r.body.dump()
    if (r.statusCode === 503) refused++
  }
  t.equal(refused, 1, 'the spool filled and a request was refused')
  const [status, body] = await ready()
  t.equal(status, 503, 'not ready while every request would be refused')
  t.equal(body.components?.decision_log_admission?.status, 'ERROR')
  t.match(body.components?.decision_log_admission?.message, /spool is full/)
  // The control plane recovers: uploads drain the spool and readiness returns, with no request.
  cp.failWith = null
  const until = Date.now() + 10_000
  let back = 0
  while (Date.now() < until && (back = (await ready())[0]) !== 200) await new Promise((resolve) => setTimeout(resolve, 50))
  t.equal(back, 200, 'ready again once uploads freed the spool')
  const r = await request(`${b.url}/after`)
  await r.body.dump()
  t.equal(r.statusCode, 200, 'and serving')
})

t.test('drop_oldest: delivery trouble alone keeps the instance ready', async (t) => {
  const dir = tempDir(t)
  const cp = await startControlPlane()
  cp.failWith = 503
  const up = await startUpstream()
  const b = await startBouncer({
    upstream: up.url, rego: { 'p.rego': ALLOW },
    config: { decision_logs: { enabled: true, service_url: cp.url, spool_dir: join(dir, 'spool'), max_bytes: 16384, overflow: 'drop_oldest' } },
  })
  t.teardown(async () => { await b.close(); await up.close(); await cp.close() })
  for (let i = 0; i < 60; i++) { const r = await request(`${b.url}/x${i}`); await r.body.dump(); t.equal(r.statusCode, 200) }
  const r = await request(`${b.adminUrl}/readyz`)
  const body = await r.body.json() as Record<string, any>
  t.equal(r.statusCode, 200, 'ready: requests are served, the oldest events dropped and declared')
  t.equal(body.components?.decision_log_admission?.status, 'OK', 'the admission check (a full disk would refuse every request in group mode) is OK')
})

t.test('group and sync write modes: a spool write failing for want of disk space makes the instance not ready while the disk is full', { skip: existsSync('/dev/full') ? false : 'no /dev/full' }, async (t) => {
  const { DecisionLogger } = await import('../../src/decision-log/index.js')
  for (const writeMode of ['group', 'sync'] as const) {
    const dir = join(tempDir(t), 'spool')
    let free = 0 // a full disk: statfs stood in for (a real one needs a mount of its own)
    const lg = new DecisionLogger(spoolOnly(dir, writeMode), {
      sink: DOWN,
      diskFree: () => free,
    })
    await lg.start()
    t.teardown(() => lg.stop(0))
    t.equal(lg.status().refusing_requests, false, `${writeMode}: ready before any failure`)
    // The next segment file is the full device: its write fails with a real ENOSPC.
    symlinkSync('/dev/full', join(dir, `seg-${'1'.padStart(20, '0')}.jsonl`))
    const r = lg.record({ path: '/x', input: { a: 1 }, result: true })
    const ok = writeMode === 'group' ? await lg.written() : r !== 'backpressure'
    t.equal(ok, false, `${writeMode}: the event could not be written (its request is refused)`)
    t.equal(lg.status().refusing_requests, true, `${writeMode}: not ready while the disk has no room`)
    free = 1 << 30
    t.equal(lg.status().refusing_requests, false, `${writeMode}: ready again once it has, with no write needed to find out`)
  }
})

t.test('group and sync write modes: a spool write failing for another reason than space (a read-only disk) makes the instance not ready until a probe writes again', async (t) => {
  const { DecisionLogger } = await import('../../src/decision-log/index.js')
  for (const writeMode of ['group', 'sync'] as const) {
    const dir = join(tempDir(t), 'spool')
    // statfs says there is room (the disk is not full): only a probe can tell.
    let readOnly = true
    let probes = 0
    const lg = new DecisionLogger(spoolOnly(dir, writeMode), {
      sink: DOWN,
      diskFree: () => 1 << 30,
      // A read-only remount needs privileges a test does not have: the probe's answer stood in for.
      probeWrite: () => { probes++; if (readOnly) throw Object.assign(new Error('read-only file system'), { code: 'EROFS' }) },
    })
    await lg.start()
    t.teardown(() => lg.stop(0))
    // The next segment's name is a directory: its write fails for real (EISDIR), not for space.
    mkdirSync(join(dir, `seg-${'1'.padStart(20, '0')}.jsonl`))
    const r = lg.record({ path: '/x', input: { a: 1 }, result: true })
    const ok = writeMode === 'group' ? await lg.written() : r !== 'backpressure'
    t.equal(ok, false, `${writeMode}: the event could not be written (its request is refused)`)
    t.equal(lg.status().refusing_requests, true, `${writeMode}: not ready while the spool cannot be written, though the disk has room`)
    t.equal(lg.status().refusing_requests, true, `${writeMode}: still not ready`)
    t.equal(probes, 1, `${writeMode}: probed at most once a second, however often readiness is asked`)
    readOnly = false
    await new Promise((resolve) => setTimeout(resolve, 1050))
    t.equal(lg.status().refusing_requests, false, `${writeMode}: ready again once a probe writes, with no request needed`)
  }
})

t.test('the default probe writes a file in the spool directory for real and leaves nothing behind', async (t) => {
  const { DecisionLogger } = await import('../../src/decision-log/index.js')
  const dir = join(tempDir(t), 'spool')
  const lg = new DecisionLogger(spoolOnly(dir, 'sync'), {
    sink: DOWN,
  })
  await lg.start()
  t.teardown(() => lg.stop(0))
  mkdirSync(join(dir, `seg-${'1'.padStart(20, '0')}.jsonl`))
  t.equal(lg.record({ path: '/x', input: { a: 1 }, result: true }), 'backpressure', 'the write failed (EISDIR): the request is refused')
  t.equal(lg.status().state, 'ERROR', 'the write failed')
  t.equal(lg.status().refusing_requests, false, 'the directory itself takes a file: the probe wrote')
  t.same(readdirSync(dir).filter((n) => n.startsWith('.probe')), [], 'the probe file is gone')
  // The directory gone (deleted under the process): the real probe fails.
  rmSync(dir, { recursive: true })
  await new Promise((resolve) => setTimeout(resolve, 1050))
  t.equal(lg.status().refusing_requests, true, 'a spool directory that is gone cannot be written: not ready')
})

t.test('a failing write on a nearly full disk is judged by the free space too, not by a probe that still fits', async (t) => {
  const { DecisionLogger } = await import('../../src/decision-log/index.js')
  const dir = join(tempDir(t), 'spool')
  let free = 12288 // a write there comes back short, with no error code (review helper, a 1 MB tmpfs)
  const lg = new DecisionLogger(spoolOnly(dir, 'sync'), {
    sink: DOWN,
    diskFree: () => free,
  })
  await lg.start()
  t.teardown(() => lg.stop(0))
  mkdirSync(join(dir, `seg-${'1'.padStart(20, '0')}.jsonl`)) // a failure that names no want of space
  t.equal(lg.record({ path: '/x', input: { a: 1 }, result: true }), 'backpressure')
  t.equal(lg.status().refusing_requests, true, 'not ready: the disk has no room for events, though a probe file fits')
  free = 1 << 30
  t.equal(lg.status().refusing_requests, false, 'the real probe writes, and there is room: ready')
})

t.test('a probe whose write fails leaves no file behind', { skip: existsSync('/dev/full') ? false : 'no /dev/full' }, async (t) => {
  const { DecisionLogger } = await import('../../src/decision-log/index.js')
  const dir = join(tempDir(t), 'spool')
  const lg = new DecisionLogger(spoolOnly(dir, 'sync'), {
    sink: DOWN,
    diskFree: () => 1 << 30,
  })
  await lg.start()
  t.teardown(() => lg.stop(0))
  mkdirSync(join(dir, `seg-${'1'.padStart(20, '0')}.jsonl`))
  // The probe's file opens and its write fails for real (ENOSPC), as on a full disk.
  symlinkSync('/dev/full', join(dir, `.probe-${process.pid}`))
  t.equal(lg.record({ path: '/x', input: { a: 1 }, result: true }), 'backpressure')
  t.equal(lg.status().refusing_requests, true, 'the probe could not write: not ready')
  t.same(readdirSync(dir).filter((n) => n.startsWith('.probe')), [], 'its file is removed all the same')
})
