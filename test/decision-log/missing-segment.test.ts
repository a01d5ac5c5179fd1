// Segment files gone from the spool while the logger was stopped (deleted by hand, lost with the
// disk): the next start declares the missing seqs with a drop marker (missing_on_disk), counts
// them, and does so once. Before 2026-12-07 it only logged a warning for a hole before the first
// segment and nothing for one between segments: the control plane's copy then carried a gap
// no marker declared (or, for the first segment, began mid-chain with nothing said).
import { readdirSync, unlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { DecisionLogger, verifyLog } from '../../src/decision-log/index.js'
import { sampleInput, startControlPlane, tempDir, waitFor } from './fixtures/control-plane.js'

const segments = (dir: string): string[] => readdirSync(dir).filter((n) => n.startsWith('seg-')).sort()
const firstSeqOf = (name: string): number => Number(/^seg-(\d+)\.jsonl$/.exec(name)![1])

for (const [which, mode] of [['first', 'sync'], ['middle', 'sync'], ['first', 'group'], ['middle', 'batched']] as const) {
  t.test(`a ${which} segment deleted while stopped is declared at the next start (write_mode ${mode})`, async (t) => {
    const root = tempDir(t)
    const spool = join(root, 'spool')
    const cp = await startControlPlane()
    t.teardown(() => cp.close())
    cp.failWith = 503 // nothing delivered: every seq is above the acknowledged point
    const cfg = { spool_dir: spool, service_url: cp.url, min_delay_seconds: 0.02, max_delay_seconds: 0.05, segment_max_bytes: 4096, write_mode: mode }
    const lg = new DecisionLogger(cfg)
    await lg.start()
    for (let i = 1; i <= 60; i++) lg.record({ path: 'p', input: sampleInput(i), result: { allow: true } })
    await lg.written()
    await lg.stop(100)
    const segs = segments(spool)
    t.ok(segs.length >= 4, `${segs.length} segments`)
    const k = which === 'first' ? 0 : 2
    const from = firstSeqOf(segs[k]!)
    const to = firstSeqOf(segs[k + 1]!) - 1
    unlinkSync(join(spool, segs[k]!))

    cp.failWith = null
    const errors: string[] = []
    const log = { warn () {}, info () {}, debug () {}, error: (_o: unknown, m?: string) => { errors.push(String(m)) }, child () { return log } }
    const lg2 = new DecisionLogger(cfg, { log } as never)
    await lg2.start()
    t.equal(lg2.status().dropped_by_reason.missing_on_disk, to - from + 1, 'the missing seqs are counted')
    t.match(errors, [/events are missing from disk/])
    for (let i = 61; i <= 65; i++) lg2.record({ path: 'p', input: sampleInput(i), result: { allow: true } })
    await waitFor(() => cp.decisions().length === 60 - (to - from + 1) + 5, 15000, 'delivery')
    await waitFor(() => lg2.status().pending_events === 0, 15000, 'all delivered')
    const markers = cp.events().filter((e) => e.drop !== undefined)
    t.equal(markers.length, 1, 'one drop marker')
    t.match(markers[0]!.drop, { reason: 'missing_on_disk', from_seq: from, to_seq: to, count: to - from + 1 })
    const copy = join(root, 'cp.jsonl')
    writeFileSync(copy, cp.exportJsonl())
    const v = await verifyLog(copy)
    t.equal(v.ok, true, `the control plane's copy verifies: ${v.break?.message ?? ''}`)
    t.same(v.declared_drops.map((d) => [d.reason, d.from_seq, d.to_seq]), [['missing_on_disk', from, to]], 'with the gap declared')
    await lg2.stop(500)

    // The hole is still there (below the marker) at the next start: declared once, not again.
    const lg3 = new DecisionLogger(cfg)
    await lg3.start()
    t.equal(lg3.status().dropped_by_reason.missing_on_disk, 0, 'not declared again')
    await lg3.stop(500)
    t.equal(cp.events().filter((e) => e.drop !== undefined).length, 1)
  })
}

t.test('two holes: one marker declares both (the earlier in also)', async (t) => {
  const root = tempDir(t)
  const spool = join(root, 'spool')
  const cfg = { spool_dir: spool, sinks: ['console' as const], min_delay_seconds: 3600, max_delay_seconds: 3600, segment_max_bytes: 4096, write_mode: 'sync' as const }
  const down = { kind: 'none', batchBytes: () => 1 << 20, send: async () => ({ ok: false as const, error: 'down' }), probe: async () => ({ ok: false as const, error: 'down' }), close: async () => {} }
  const lg = new DecisionLogger(cfg, { sink: down })
  await lg.start()
  for (let i = 1; i <= 60; i++) lg.record({ path: 'p', input: sampleInput(i), result: { allow: true } })
  await lg.stop(0)
  const segs = segments(spool)
  const holes = [1, 3].map((k) => [firstSeqOf(segs[k]!), firstSeqOf(segs[k + 1]!) - 1] as const)
  unlinkSync(join(spool, segs[1]!))
  unlinkSync(join(spool, segs[3]!))
  const lg2 = new DecisionLogger(cfg, { sink: down })
  await lg2.start()
  const n = holes.reduce((a, [f, l]) => a + l - f + 1, 0)
  t.equal(lg2.status().dropped_by_reason.missing_on_disk, n)
  await lg2.stop(0)
  const v = await verifyLog(spool)
  t.equal(v.ok, true, `the spool verifies: ${v.break?.message ?? ''}`)
  // (verify-log lists a marker's also ranges as declarations of their own, count 0)
  t.same(v.declared_drops.map((d) => [d.reason, d.from_seq, d.to_seq, d.count]).sort((a, b) => Number(a[1]) - Number(b[1])),
    [['missing_on_disk', holes[0]![0], holes[0]![1], 0], ['missing_on_disk', holes[1]![0], holes[1]![1], n]])
})
