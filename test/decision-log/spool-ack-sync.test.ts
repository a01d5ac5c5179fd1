// With fsync "interval", state.json (fsync'd itself) must not acknowledge lines the segments
// have not synced: after a power loss it would acknowledge lines the disk lost, and verify-log
// and bouncer evidence report those seqs missing from the spool (a break for a benign cause).
// A power loss cannot be produced here; the order can: every fdatasync is held until the test
// releases it, and state.json is read meanwhile.
import fs, { existsSync, readFileSync } from 'node:fs'
import { syncBuiltinESMExports } from 'node:module'
import { join } from 'node:path'
import t from 'tap'
import { DecisionLogger, verifyLog } from '../../src/decision-log/index.js'
import { sampleInput, startControlPlane, tempDir, waitFor } from './fixtures/control-plane.js'

let hold = false
let fail = false
let failed = 0
const held: Array<() => void> = []
const realDatasync = fs.fdatasync
fs.fdatasync = function (fd: number, cb: (e: NodeJS.ErrnoException | null) => void): void {
  if (fail) { failed++; setImmediate(() => cb(Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' }))); return }
  if (hold) { held.push(() => realDatasync(fd, cb)); return }
  realDatasync(fd, cb)
} as typeof fs.fdatasync
syncBuiltinESMExports()

const ackedOnDisk = (dir: string): number => existsSync(join(dir, 'state.json')) ? (JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')) as { acked_seq: number }).acked_seq : 0

// An hour away, or in 0.2 s: either way the state write does not go before its fdatasync.
for (const period of [3600, 0.2]) t.test(`fsync interval ${period} s: state.json acknowledges only lines an fdatasync has made durable`, async (t) => {
  const cp = await startControlPlane()
  t.teardown(() => cp.close())
  const dir = join(tempDir(t), 'spool')
  const lg = new DecisionLogger({ spool_dir: dir, service_url: cp.url, fsync: 'interval', fsync_interval_seconds: period, min_delay_seconds: 0.02, max_delay_seconds: 0.05 })
  await lg.start()
  t.teardown(() => lg.stop(0))
  hold = true
  for (let i = 0; i < 5; i++) t.equal(lg.record({ path: 'bouncer/decision', input: sampleInput(i), result: { allow: true } }), undefined)
  await waitFor(() => cp.decisions().length === 5 && lg.status().acked_seq === 5, 10_000, 'delivered and acknowledged in memory')
  await waitFor(() => held.length > 0, 10_000, 'an fdatasync asked for by the state write')
  for (let i = 0; i < 20; i++) await new Promise(setImmediate)
  t.equal(ackedOnDisk(dir), 0, 'state.json does not acknowledge seq 1..5 while their fdatasync is held')
  hold = false
  for (const f of held.splice(0)) f()
  await waitFor(() => ackedOnDisk(dir) === 5, 10_000, 'state.json acknowledges seq 5 once synced')
  await lg.stop(1000)
  const v = await verifyLog(dir)
  t.ok(v.ok, v.break?.message ?? 'the spool verifies')
  t.equal(v.acked_seq, 5)
})

t.test('fsync interval: after a failed fdatasync the lines are still not taken for synced; state.json waits for one that succeeds', async (t) => {
  // The spool itself, so that two acknowledgements come with no line written between them.
  const { Spool } = await import('../../src/decision-log/spool.js')
  const { GENESIS_HASH, sealEvent } = await import('../../src/decision-log/index.js')
  const dir = join(tempDir(t), 'spool')
  const warnings: string[] = []
  const sp = new Spool({ dir, segment_max_bytes: 1 << 20, fsync: 'interval', fsync_interval_ms: 3_600_000 }, { warn: (m: string) => { warnings.push(m) } })
  sp.open()
  t.teardown(async () => { fail = false; await sp.close() })
  const recs: Array<{ seq: number; hash: string }> = []
  let prev = GENESIS_HASH
  for (let seq = 1; seq <= 5; seq++) {
    const e = sealEvent({ decision_id: `d${seq}`, result: { allow: true } }, seq, prev)
    const line = e.line + '\n'
    sp.append(line, Buffer.byteLength(line), { seq, prevHash: prev }, { seq, hash: e.hash })
    recs.push({ seq, hash: e.hash })
    prev = e.hash
  }
  fail = true
  sp.ack(3, recs[2]!.hash)
  await sp.settled()
  t.equal(ackedOnDisk(dir), 0, 'the fdatasync failed: state.json does not acknowledge seq 3')
  sp.ack(5, recs[4]!.hash)
  await sp.settled()
  t.ok(failed >= 2, 'asked again')
  t.equal(ackedOnDisk(dir), 0, 'nor seq 5, with no line written since the failure')
  t.ok(warnings.some((w) => /fsync failed/.test(w)), 'the failure is reported')
  fail = false
  sp.ack(5, recs[4]!.hash)
  sp.ack(5, recs[4]!.hash)
  await waitFor(() => ackedOnDisk(dir) === 5, 10_000, 'a sync that succeeds lets state.json move')
})

t.test('fsync interval: a state write waits for the periodic fdatasync, and stop() does not wait for the period', async (t) => {
  const cp = await startControlPlane()
  t.teardown(() => cp.close())
  const dir = join(tempDir(t), 'spool')
  // The period is an hour: only a state write's own request (after a second) or stop() syncs.
  const lg = new DecisionLogger({ spool_dir: dir, service_url: cp.url, fsync: 'interval', fsync_interval_seconds: 3600, min_delay_seconds: 0.02, max_delay_seconds: 0.05 })
  await lg.start()
  for (let i = 0; i < 5; i++) t.equal(lg.record({ path: 'bouncer/decision', input: sampleInput(i), result: { allow: true } }), undefined)
  await waitFor(() => lg.status().acked_seq === 5, 10_000, 'delivered')
  await lg.stop(0)
  t.equal(ackedOnDisk(dir), 5, 'stop() wrote the state, after a sync it asked for')
  const v = await verifyLog(dir)
  t.ok(v.ok, v.break?.message ?? 'verifies')
})
