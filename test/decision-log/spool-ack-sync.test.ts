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
const held: Array<() => void> = []
const realDatasync = fs.fdatasync
fs.fdatasync = function (fd: number, cb: (e: NodeJS.ErrnoException | null) => void): void {
  if (hold) { held.push(() => realDatasync(fd, cb)); return }
  realDatasync(fd, cb)
} as typeof fs.fdatasync
syncBuiltinESMExports()

const ackedOnDisk = (dir: string): number => existsSync(join(dir, 'state.json')) ? (JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')) as { acked_seq: number }).acked_seq : 0

t.test('fsync interval: state.json acknowledges only lines an fdatasync has made durable', async (t) => {
  const cp = await startControlPlane()
  t.teardown(() => cp.close())
  const dir = join(tempDir(t), 'spool')
  // The periodic fsync an hour away: only a state write can ask for one.
  const lg = new DecisionLogger({ spool_dir: dir, service_url: cp.url, fsync: 'interval', fsync_interval_seconds: 3600, min_delay_seconds: 0.02, max_delay_seconds: 0.05 })
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
