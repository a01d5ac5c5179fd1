// drop_oldest, when a lost drop marker (one whose whole range the delivered head has passed) is
// re-chained as it was and the disk fails right then: in sync mode the re-chain's write fails,
// in group/batched mode the batch carrying it and the new marker is lost. Either way the lost
// marker's range must still be declared (the new declaration widened down to it), or the
// receiver's untouched copy reads as tampered (review of aa5a3dd, session 54). The disk
// failure is injected (ENOSPC from writeSync / opening a segment), as in spool-faults.test.ts:
// a disk that fills at one exact write cannot be had for real here.
import fs, { writeFileSync } from 'node:fs'
import { syncBuiltinESMExports } from 'node:module'
import { join } from 'node:path'
import t from 'tap'
import { DecisionLogger, verifyLog, type Sink, type SendResult } from '../../src/decision-log/index.js'
import { tempDir, waitFor } from '../decision-log/fixtures/control-plane.js'

const fault = { diskFull: false }
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
syncBuiltinESMExports()

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
  t.test(`${mode}: a lost marker whose re-chain fails with the disk is still declared`, async (t) => {
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
    // Arm the disk failure for the makeRoom that loses M1 (just before it re-chains it).
    const real = sp.dropOldest.bind(sp)
    let armed = false
    sp.dropOldest = () => {
      const r = real() as { lostMarkers: Array<{ from_seq: number; to_seq: number }> } | null
      if (r !== null && r.lostMarkers.length > 0 && !armed) { armed = true; fault.diskFull = true; t.comment(`lost markers: ${JSON.stringify(r.lostMarkers.map((d) => [d.from_seq, d.to_seq]))}, delivered=${sp.delivered.seq}`) }
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
    t.ok(armed, 'the disk failed as the lost marker was re-chained')
    t.ok(v.ok, `the untouched receiver copy verifies${v.break !== undefined ? `: ${v.break.message}` : ''}`)
    t.equal(markers.reduce((n, o) => n + o.drop!.count, 0), lg.status().dropped_by_reason.spool_full, 'the markers received declare what the spool dropped')
  })
}
