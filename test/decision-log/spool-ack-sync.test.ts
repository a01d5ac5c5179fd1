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

t.test('fsync interval: a segment dropped while the periodic fdatasync runs does not make it skip the next one', async (t) => {
  // The real Spool and files; the periodic timer's firing is set by hand (its period is an hour)
  // and fdatasync is held, so the drop lands while the sync of the segment before the active one
  // is in flight.
  const { Spool } = await import('../../src/decision-log/spool.js')
  const { GENESIS_HASH, sealEvent } = await import('../../src/decision-log/index.js')
  const dir = join(tempDir(t), 'spool')
  const sp = new Spool({ dir, segment_max_bytes: 600, fsync: 'interval', fsync_interval_ms: 3_600_000 }) as unknown as {
    open(): void; close(): Promise<void>; append(l: string, b: number, p: { seq: number; prevHash: string }, h: { seq: number; hash: string }): void
    ack(seq: number, hash: string): void; dropOldest(): unknown; fsyncDue: boolean
    segments: Array<{ firstSeq: number; fd: number | null; dirty: boolean }>; syncWaiters: unknown[]
  }
  sp.open()
  t.teardown(async () => { hold = false; for (const f of held.splice(0)) f(); await sp.close() })
  const hashes: string[] = ['']
  let prev = GENESIS_HASH
  const append = (seq: number): void => {
    const e = sealEvent({ decision_id: `d${seq}`, result: { allow: true } }, seq, prev)
    const line = e.line + '\n'
    sp.append(line, Buffer.byteLength(line), { seq, prevHash: prev }, { seq, hash: e.hash })
    hashes[seq] = e.hash
    prev = e.hash
  }
  const until = async (f: () => boolean, what: string): Promise<void> => { await waitFor(f, 10_000, what) }
  for (let seq = 1; seq <= 3; seq++) append(seq)
  hold = true
  append(4) // the first segment is full: its closing sync is held
  await until(() => held.length === 1, 'the closing sync held')
  for (let seq = 5; seq <= 8; seq++) append(seq) // the next segment fills too; seq 7..8 in the active one
  sp.ack(7, hashes[7]!)
  await until(() => sp.syncWaiters.length === 1, 'the state write waits for a sync')
  sp.fsyncDue = true // the periodic sync comes
  for (const f of held.splice(0)) f()
  await until(() => held.length === 1, 'the periodic sync of the segment before the active one, held')
  sp.dropOldest() // the spool overflows meanwhile: the oldest segment leaves the list
  const active = sp.segments.find((s) => s.firstSeq === 7)!
  const fd = active.fd
  hold = false
  for (const f of held.splice(0)) f()
  await until(() => ackedOnDisk(dir) === 7, 'state.json at seq 7')
  t.equal(active.dirty, false, 'the active segment, holding seq 7, was synced before state.json acknowledged it')
  t.not(fd, null)
})

t.test('fsync interval: a segment whose close-time fdatasync failed is synced again before state.json acknowledges its lines', async (t) => {
  // Small segments, so that lines fill one and the writer closes it: the close's fdatasync
  // fails. The closed segment used to look synced (only open ones were asked again).
  const { Spool } = await import('../../src/decision-log/spool.js')
  const { GENESIS_HASH, sealEvent } = await import('../../src/decision-log/index.js')
  const dir = join(tempDir(t), 'spool')
  const warnings: string[] = []
  const sp = new Spool({ dir, segment_max_bytes: 400, fsync: 'interval', fsync_interval_ms: 3_600_000 }, { warn: (m: string) => { warnings.push(m) } })
  sp.open()
  t.teardown(async () => { fail = false; await sp.close() })
  const recs: Array<{ seq: number; hash: string }> = []
  let prev = GENESIS_HASH
  fail = true
  for (let seq = 1; seq <= 6; seq++) {
    const e = sealEvent({ decision_id: `d${seq}`, result: { allow: true } }, seq, prev)
    const line = e.line + '\n'
    sp.append(line, Buffer.byteLength(line), { seq, prevHash: prev }, { seq, hash: e.hash })
    recs.push({ seq, hash: e.hash })
    prev = e.hash
    await sp.settled()
  }
  const segments = fs.readdirSync(dir).filter((f) => f.endsWith('.jsonl'))
  t.ok(segments.length >= 2, `the lines filled ${segments.length} segments`)
  const firstFailures = failed
  t.ok(firstFailures >= 1, 'a close-time fdatasync failed')
  sp.ack(2, recs[1]!.hash)
  await sp.settled()
  t.ok(failed > firstFailures, 'the state write asked for a sync of the closed segment again')
  t.equal(ackedOnDisk(dir), 0, 'state.json does not acknowledge lines of a segment whose sync failed')
  fail = false
  sp.ack(2, recs[1]!.hash)
  await waitFor(() => ackedOnDisk(dir) === 2, 10_000, 'a sync that succeeds lets state.json move')
  const open = fs.readdirSync('/proc/self/fd').filter((fd) => { try { return fs.readlinkSync(`/proc/self/fd/${fd}`).startsWith(dir + '/') && fs.readlinkSync(`/proc/self/fd/${fd}`).endsWith('.jsonl') } catch { return false } })
  t.ok(open.length <= 1, `the synced segment's file is closed (open: ${open.length}, the active one at most)`)
  t.ok(warnings.some((w) => /fsync failed/.test(w)), 'the failure is reported')
})
