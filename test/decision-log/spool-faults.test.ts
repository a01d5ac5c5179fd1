// Faults the disk or the OS produce mid-operation, and what the chain must still say afterwards.
// A full disk that stays full for as long as a test needs, an fsync that fails (EIO) and a read
// that fails (EMFILE) cannot be produced on demand, so those node:fs calls are wrapped, once,
// for the test that arms them. (A symlink to /dev/full, as spool.test.ts uses, is removed by the
// spool after the first failed write, which is the point there.)
import fs, { readFileSync, writeFileSync } from 'node:fs'
import { syncBuiltinESMExports } from 'node:module'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { DecisionLogger, verifyLog, type Sink, type SendResult } from '../../src/decision-log/index.js'
import { tempDir, waitFor } from './fixtures/control-plane.js'

const fault: { fsync: number; datasync: number; segmentRead: number; diskFull: boolean } = { fsync: 0, datasync: 0, segmentRead: 0, diskFull: false }
const realDatasync = fs.fdatasync
fs.fdatasync = function (fd: number, cb: (e: NodeJS.ErrnoException | null) => void): void {
  if (fault.datasync > 0 && --fault.datasync === 0) { setImmediate(() => cb(Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' }))); return }
  realDatasync(fd, cb)
} as typeof fs.fdatasync
const realWrite = fs.writeSync
fs.writeSync = function (this: unknown, ...a: unknown[]): number {
  if (fault.diskFull) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' })
  return (realWrite as (...x: unknown[]) => number).apply(this, a)
} as typeof fs.writeSync
const realOpen = fs.openSync
fs.openSync = function (this: unknown, ...a: unknown[]): number {
  if (fault.diskFull && String(a[0]).includes('/seg-') && a[1] === 'a') throw Object.assign(new Error('ENOSPC: no space left on device, open'), { code: 'ENOSPC' })
  return (realOpen as (...x: unknown[]) => number).apply(this, a)
} as typeof fs.openSync
const realFsync = fs.fsyncSync
const realRead = fs.readFileSync
fs.fsyncSync = function (fd: number): void {
  if (fault.fsync > 0 && --fault.fsync === 0) throw Object.assign(new Error('EIO: i/o error, fsync'), { code: 'EIO' })
  realFsync(fd)
}
fs.readFileSync = function (this: unknown, ...a: unknown[]): unknown {
  if (fault.segmentRead > 0 && String(a[0]).includes('/seg-') && --fault.segmentRead === 0) {
    throw Object.assign(new Error('EMFILE: too many open files, open'), { code: 'EMFILE' })
  }
  return (realRead as (...x: unknown[]) => unknown).apply(this, a)
} as typeof fs.readFileSync
syncBuiltinESMExports()

/** A control plane stand-in that writes what it takes to an export file; it can be down, and can refuse given seqs for good (413 beyond the limit). */
class ExportSink implements Sink {
  readonly kind = 'export'
  up = false
  readonly refuse = new Set<number>()
  private readonly taken: string[] = []
  constructor (readonly file: string) {}
  /** Writes the export file (not while a test's disk is full). */
  save (): void { writeFileSync(this.file, this.taken.join('')) }
  batchBytes (): number { return 1 << 20 }
  async probe (): Promise<SendResult> { return this.up ? { ok: true, sent: 0 } : { ok: false, error: 'down' } }
  async send (lines: readonly Buffer[]): Promise<SendResult> {
    if (!this.up) return { ok: false, error: 'down' }
    const seq = (b: Buffer): number => (JSON.parse(b.toString()) as { seq: number }).seq
    const i = lines.findIndex((l) => this.refuse.has(seq(l)))
    if (i === 0) return { ok: false, tooLarge: true, withinLimit: false, status: 413, error: 'HTTP 413' }
    const n = i < 0 ? lines.length : i
    for (let k = 0; k < n; k++) this.taken.push(lines[k]!.toString() + '\n')
    return { ok: true, sent: n }
  }
  async close (): Promise<void> {}
}

/** The control plane comes back: everything is delivered, the logger stops, and the export verifies. */
async function deliverAndVerify (t: Test, lg: DecisionLogger, sink: ExportSink): Promise<void> {
  sink.up = true
  await waitFor(() => lg.status().pending_events === 0, 5000, 'delivered')
  await lg.stop(1000)
  sink.save()
  const v = await verifyLog(sink.file)
  t.ok(v.ok, v.break?.message ?? 'the export verifies')
}

const exported = (file: string): string[] => readFileSync(file, 'utf8').trim().split('\n').filter(Boolean).map((l) => {
  const o = JSON.parse(l) as { seq: number; drop?: { from_seq: number; to_seq: number } }
  return o.drop === undefined ? String(o.seq) : `M${o.seq}[${o.drop.from_seq}-${o.drop.to_seq}]`
})

t.test('sync mode, fsync always: a line whose fsync fails is cut, and the next one takes its seq', async (t) => {
  const dir = join(tempDir(t), 'spool')
  const lg = new DecisionLogger({ spool_dir: dir, sinks: ['console'], write_mode: 'sync', fsync: 'always', min_delay_seconds: 60, max_delay_seconds: 60 }, { sink: new ExportSink(dir + '.export') })
  await lg.start()
  const rec = (i: number) => lg.record({ path: 'p', input: { i }, result: true })
  t.equal(rec(1), undefined)
  fault.fsync = 1
  t.equal(rec(2), 'backpressure', 'refused: not durably logged')
  t.equal(lg.status().head.seq, 1, 'the head did not move')
  t.equal(rec(3), undefined)
  await lg.stop(0)
  // Before, the line stayed and the next one was chained onto the same seq: 1, 2, 2 (a fork).
  const v = await verifyLog(dir)
  t.ok(v.ok, v.break?.message ?? 'the spool verifies')
  t.equal(v.last_seq, 2)
})

t.test('group mode, fsync always: a failed fdatasync fails the turn (its requests are not answered as logged)', async (t) => {
  const dir = join(tempDir(t), 'spool')
  const lg = new DecisionLogger({ spool_dir: dir, sinks: ['console'], write_mode: 'group', fsync: 'always', min_delay_seconds: 60, max_delay_seconds: 60 }, { sink: new ExportSink(dir + '.export'), log: { warn () {}, error () {} } as never })
  await lg.start()
  lg.record({ path: 'p', input: { i: 1 }, result: true })
  t.equal(await lg.written(), true)
  fault.datasync = 1
  lg.record({ path: 'p', input: { i: 2 }, result: true })
  // Before, the failure was only a warning and the turn resolved as durably written.
  t.equal(await lg.written(), false, 'not durable: refused')
  lg.record({ path: 'p', input: { i: 3 }, result: true })
  t.equal(await lg.written(), true, 'the next turn is written')
  await lg.stop(0)
  t.ok((await verifyLog(dir)).ok, 'the chain on disk is whole')
})

for (const mode of ['sync', 'group'] as const) {
  t.test(`${mode}: an event the receiver refuses for good leaves the spool only once its drop marker is on disk`, async (t) => {
    const base = tempDir(t)
    const dir = join(base, 'spool')
    const sink = new ExportSink(join(base, 'export.jsonl'))
    const errors: string[] = []
    const lg = new DecisionLogger({ spool_dir: dir, sinks: ['console'], write_mode: mode, fsync: 'never', min_delay_seconds: 0.01, max_delay_seconds: 0.02 }, { sink, log: { warn () {}, error: (_o: unknown, m: string) => errors.push(m) } as never })
    await lg.start()
    for (let i = 0; i < 8; i++) lg.record({ path: 'p', input: { i }, result: true })
    t.equal(await lg.written(), true)
    sink.refuse.add(5)
    fault.diskFull = true
    sink.up = true
    await waitFor(() => errors.filter((m) => m.includes('its drop marker could not be written')).length >= 2, 5000, 'the marker failed, and again after a backoff')
    // Before, the event was acknowledged first and its marker's failed write ignored: seq 5 was
    // never delivered nor declared.
    t.equal(lg.status().acked_seq, 4, 'the refused event is still in the spool')
    fault.diskFull = false
    await waitFor(() => lg.status().acked_seq === lg.status().head.seq && lg.status().head.seq > 8, 5000, 'declared and the rest delivered')
    await lg.stop(1000)
    sink.save()
    const seqs = exported(sink.file)
    t.same(seqs.filter((s) => s.startsWith('M')).map((s) => s.replace(/^M\d+/, '')), ['[5-5]'], `one marker, declaring seq 5 (${seqs.join(' ')})`)
    t.notOk(seqs.includes('5'))
    const v = await verifyLog(sink.file)
    t.ok(v.ok, v.break?.message ?? 'the export verifies')
  })

  t.test(`${mode}: a refused event whose marker was written is declared once, even when its turn failed afterwards`, async (t) => {
    const base = tempDir(t)
    const sink = new ExportSink(join(base, 'export.jsonl'))
    const lg = new DecisionLogger({ spool_dir: join(base, 'spool'), sinks: ['console'], write_mode: mode, fsync: 'always', min_delay_seconds: 0.01, max_delay_seconds: 0.02 }, { sink, log: { warn () {}, error () {} } as never })
    await lg.start()
    for (let i = 0; i < 8; i++) lg.record({ path: 'p', input: { i }, result: true })
    t.equal(await lg.written(), true)
    sink.refuse.add(5)
    // The next fdatasync is the marker's turn (group); sync mode fsyncs each line itself.
    if (mode === 'group') fault.datasync = 1
    sink.up = true
    await waitFor(() => lg.status().acked_seq === lg.status().head.seq && lg.status().head.seq > 8, 5000, 'declared and delivered')
    await lg.stop(1000)
    sink.save()
    // Before, a failed turn read as an unwritten marker: the event was refused 5 more times and declared again.
    t.same(exported(sink.file).filter((s) => s.startsWith('M')).map((s) => s.replace(/^M\d+/, '')), ['[5-5]'], 'one marker')
  })

  t.test(`${mode}: drop_oldest that cannot read a later victim still declares the segments it already dropped`, async (t) => {
    const base = tempDir(t)
    const dir = join(base, 'spool')
    const sink = new ExportSink(join(base, 'export.jsonl'))
    const lg = new DecisionLogger({ spool_dir: dir, sinks: ['console'], write_mode: mode, fsync: 'never', max_bytes: 16384, segment_max_bytes: 4096, min_delay_seconds: 0.01, max_delay_seconds: 0.02 }, { sink, log: { warn () {}, error () {} } as never })
    await lg.start()
    let i = 0
    const rec = (pad: number) => lg.record({ path: 'p', input: { i: i++, pad: 'x'.repeat(pad) }, result: true })
    while (lg.status().spool_bytes + 1000 <= 16384) { rec(300); t.equal(await lg.written(), true) }
    // An event large enough to drop two segments; reading the second one fails.
    fault.segmentRead = 2
    const r = rec(6000)
    t.equal(r === 'backpressure' || !(await lg.written()), true, 'the event that needed the room is refused')
    fault.segmentRead = 0
    t.equal(lg.status().dropped_by_reason.spool_full > 0, true, 'the first segment events are counted as dropped')
    rec(300)
    t.equal(await lg.written(), true)
    // Before, the first victim left the spool undeclared: the export had a gap nothing declared.
    await deliverAndVerify(t, lg, sink)
    t.ok(exported(sink.file).some((s) => s.startsWith('M')), 'with a drop marker')
  })
}

t.test('group: a write failure that loses a queued drop marker does not replace a later drop still waiting for its own', async (t) => {
  // In one turn with the disk full: drop D1 queues its marker; drop D2's marker needs a new
  // segment, which cannot be created (D2 waits, undeclared); the turn's write fails, losing D1's
  // marker. Before, D1 replaced D2 as the declaration to chain: D2's segments went undeclared.
  const MAX = 16384
  const SEG = 4096
  const base = tempDir(t)
  const sink = new ExportSink(join(base, 'export.jsonl'))
  const lg = new DecisionLogger({ spool_dir: join(base, 'spool'), sinks: ['console'], write_mode: 'group', fsync: 'never', max_bytes: MAX, segment_max_bytes: SEG, min_delay_seconds: 0.01, max_delay_seconds: 0.02 },
    { sink, log: { warn () {}, error: (_o: unknown, m: string) => { if (m.includes('events lost')) fault.diskFull = false } } as never })
  await lg.start()
  // Internals only to size lines: how full the spool and its active segment are.
  const sp = (lg as unknown as { spool: { bytes: number; active: { bytes: number } | null; reading: boolean } }).spool
  let i = 0
  const rec = (pad: number) => lg.record({ path: 'p', input: { i: i++, pad: 'x'.repeat(Math.max(0, pad)) }, result: true })
  sink.up = true
  for (let k = 0; k < 3; k++) rec(300)
  await lg.written()
  await waitFor(() => lg.status().acked_seq === 3, 5000, 'delivery of 1..3')
  sink.up = false
  // Nearly full, while the active segment still has room for a marker.
  for (let n = 0; ; n++) {
    if (n > 400) throw new Error('could not reach the starting state')
    const a = sp.active
    if (a !== null && a.bytes < 2000 && sp.bytes + 2 * 520 > MAX && sp.bytes + 600 <= MAX) break
    rec(sp.bytes + 1500 > MAX ? 100 : 300)
    await lg.written()
  }
  const b0 = sp.bytes
  rec(0)
  await lg.written()
  const lineBase = sp.bytes - b0
  const sized = (bytes: number) => rec(bytes - lineBase)
  await waitFor(() => !sp.reading, 5000, 'no read in flight')
  fault.diskFull = true
  sized(MAX - sp.bytes + 50) // D1: its marker queued in the active segment
  lg.status()
  if (sp.active !== null && sp.active.bytes < SEG) { sized(Math.max(lineBase + 5, SEG - sp.active.bytes + 20)); lg.status() }
  sized(MAX - sp.bytes + 50) // D2: its marker needs a new segment
  lg.status()
  t.equal(await lg.written(), false, 'the turn was lost')
  t.equal(fault.diskFull, false)
  rec(300)
  rec(300)
  t.equal(await lg.written(), true)
  await deliverAndVerify(t, lg, sink)
})

// drop_oldest, when a lost drop marker (one whose range the delivered head has passed) is to
// be declared again by the next marker's `also` and the disk fails right then: in sync mode the
// marker's write fails, in group/batched mode its batch is lost. Either way the lost range must
// still be declared once the disk is back (the marker is chained again before the next event),
// or the receiver's untouched copy reads as tampered (review, session 54).
/** Takes lines with seq <= allow (none: "down"). */
class GateSink implements Sink {
  readonly kind = 'gate'
  allow = Infinity
  readonly taken: string[] = []
  batchBytes (): number { return 1024 }
  async probe (): Promise<SendResult> { return this.allow > 0 ? { ok: true, sent: 0 } : { ok: false, error: 'down' } }
  async send (lines: readonly Buffer[]): Promise<SendResult> {
    const seq = (b: Buffer): number => (JSON.parse(b.toString()) as { seq: number }).seq
    let n = 0
    while (n < lines.length && seq(lines[n]!) <= this.allow) n++
    if (n === 0) return { ok: false, error: 'down' }
    for (let k = 0; k < n; k++) this.taken.push(lines[k]!.toString() + '\n')
    return { ok: true, sent: n }
  }
  async close (): Promise<void> {}
}

for (const mode of ['sync', 'group', 'batched'] as const) {
  t.test(`${mode}: a lost marker's range declared again is declared, though the disk fails as it is`, async (t) => {
    const base = tempDir(t)
    const sink = new GateSink()
    const errors: string[] = []
    const lg = new DecisionLogger({
      spool_dir: join(base, 'spool'), sinks: ['console'], write_mode: mode, fsync: 'never', overflow: 'drop_oldest',
      max_bytes: 16384, segment_max_bytes: 4096, min_delay_seconds: 0.01, max_delay_seconds: 0.02,
    }, { sink, log: { warn () {}, error: (_o: unknown, m: string) => { errors.push(m); if (m.includes('events lost')) fault.diskFull = false } } as never })
    await lg.start()
    const sp = (lg as unknown as { spool: { dropOldest: () => unknown; delivered: { seq: number } } }).spool
    let i = 0
    const rec = () => lg.record({ path: 'p', input: { i: i++, pad: 'x'.repeat(200) }, result: true })
    for (let k = 0; k < 3; k++) rec()
    await lg.written()
    await waitFor(() => lg.status().acked_seq === 3, 5000, 'first delivered')
    sink.allow = 0
    while (lg.status().dropped === 0) { rec(); await lg.written() }
    // M1 is the line before the event that caused the drop
    const m1 = lg.status().head.seq - 1
    for (let k = 0; k < 3; k++) { rec(); await lg.written() }
    sink.allow = m1 - 1 // deliver the events after M1's range, not M1
    await waitFor(() => sp.delivered.seq === m1 - 1, 5000, 'events before M1 delivered')
    sink.allow = 0
    // Arm the disk failure for the makeRoom that loses M1 (just before its marker is written).
    const real = sp.dropOldest.bind(sp)
    let armed = false
    sp.dropOldest = () => {
      const r = real() as { lostRanges: Array<{ from_seq: number; to_seq: number }> } | null
      if (r !== null && r.lostRanges.length > 0 && !armed) { armed = true; fault.diskFull = true; t.comment(`lost ranges: ${JSON.stringify(r.lostRanges.map((d) => [d.from_seq, d.to_seq]))}, delivered=${sp.delivered.seq}`) }
      return r
    }
    while (!armed) { rec(); await lg.written() }
    fault.diskFull = false
    for (let k = 0; k < 5; k++) { rec(); await lg.written() }
    sink.allow = Infinity
    await waitFor(() => lg.status().pending_events === 0, 5000, 'drained')
    await lg.stop(1000)
    const file = join(base, 'export.jsonl')
    writeFileSync(file, sink.taken.join(''))
    const markers = sink.taken.map((l) => JSON.parse(l) as { seq: number; drop?: { from_seq: number; to_seq: number; count: number } }).filter((o) => o.drop !== undefined)
    t.comment(`markers received: ${markers.map((o) => `M${o.seq}[${o.drop!.from_seq}-${o.drop!.to_seq} n=${o.drop!.count}]`).join(' ')}; dropped=${lg.status().dropped}`)
    const v = await verifyLog(file)
    t.comment(`verify-log: ok=${v.ok} ${v.break?.reason ?? ''} ${v.break?.message ?? ''}`)
    t.ok(armed, 'the disk failed as the lost range was to be declared again')
    t.ok(v.ok, `the untouched receiver copy verifies${v.break !== undefined ? `: ${v.break.message}` : ''}`)
    t.equal(markers.reduce((n, o) => n + o.drop!.count, 0), lg.status().dropped_by_reason.spool_full, 'the markers received declare what the spool dropped')
  })
}
