// The spool on its own terms: recovery from a torn write, the directory lock, the write modes,
// a failing disk, fsync "always", and segment housekeeping.
import { spawnSync } from 'node:child_process'
import { appendFileSync, existsSync, readdirSync, readFileSync, readlinkSync, statSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { isBouncerError } from '../../src/errors.js'
import { DecisionLogger, verifyLog, type DecisionLogConfigInput, type Sink } from '../../src/decision-log/index.js'
import { sampleInput, startControlPlane, tempDir, waitFor } from './fixtures/control-plane.js'

/** A sink that holds everything back until opened, then takes what it is sent. */
function gateSink (): Sink & { open: boolean; got: string[] } {
  const s = {
    kind: 'gate', open: false, got: [] as string[],
    batchBytes: () => 1 << 20,
    probe: async () => s.open ? { ok: true as const, sent: 0 } : { ok: false as const, error: 'closed' },
    send: async (lines: readonly Buffer[]) => {
      if (!s.open) return { ok: false as const, error: 'closed' }
      s.got.push(...lines.map((l) => l.toString('utf8')))
      return { ok: true as const, sent: lines.length }
    },
    close: async () => {},
  }
  return s
}

async function start (t: Test, dir: string, sink: Sink, cfg: Partial<DecisionLogConfigInput> = {}): Promise<DecisionLogger> {
  const lg = new DecisionLogger({ spool_dir: dir, sinks: ['console'], min_delay_seconds: 0.01, max_delay_seconds: 0.05, ...cfg }, { sink })
  await lg.start()
  t.teardown(() => lg.stop(0))
  return lg
}

const rec = (lg: DecisionLogger, from: number, to: number): void => {
  for (let i = from; i < to; i++) lg.record({ path: 'envoy/authz/allow', input: sampleInput(i), result: true })
}

t.test('a torn last line (crash mid-write) is cut off at start and the chain continues', async (t) => {
  const dir = join(tempDir(t), 'spool')
  const a = await start(t, dir, gateSink())
  rec(a, 0, 5)
  await a.stop(0)
  const seg = join(dir, readdirSync(dir).filter((n) => n.startsWith('seg-')).sort().pop()!)
  const size = statSync(seg).size
  const torn = '{"seq":6,"prev_hash":"0123' // what a power cut mid-write leaves
  appendFileSync(seg, torn)

  const sink = gateSink()
  const b = await start(t, dir, sink)
  t.equal(b.status().recovered_bytes, torn.length, 'the torn bytes were cut')
  t.equal(statSync(seg).size, size)
  t.equal(b.status().head.seq, 5)
  rec(b, 5, 7)
  sink.open = true
  await waitFor(() => b.status().pending_events === 0, 5000, 'delivered')
  t.same(sink.got.map((l) => JSON.parse(l).seq), [1, 2, 3, 4, 5, 6, 7])
  const f = join(tempDir(t), 'got.jsonl')
  writeFileSync(f, sink.got.join('\n'))
  t.ok((await verifyLog(f)).ok)
})

t.test('one spool, one process: a second logger on the same directory is refused; a stale LOCK is taken over', async (t) => {
  const dir = join(tempDir(t), 'spool')
  await start(t, dir, gateSink())
  const second = new DecisionLogger({ spool_dir: dir, sinks: ['console'] }, { sink: gateSink() })
  try {
    await second.start()
    t.fail('second logger started')
  } catch (e) { t.ok(isBouncerError(e, 'BOUNCER_ERR_DECISION_LOG_SPOOL_LOCKED'), (e as Error).message) }

  const other = join(tempDir(t), 'spool2')
  const live = new DecisionLogger({ spool_dir: other, sinks: ['console'] }, { sink: gateSink() })
  await live.start()
  await live.stop(0)
  // A LOCK left by a process that no longer exists (as after SIGKILL).
  const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout
  writeFileSync(join(other, 'LOCK'), dead)
  const again = await start(t, other, gateSink())
  t.equal(readFileSync(join(other, 'LOCK'), 'utf8'), String(process.pid), 'stale lock taken over')
  t.equal(again.status().state, 'OK')
})

for (const mode of ['group', 'batched'] as const) {
  t.test(`${mode} write mode: record() only queues; the turn's lines reach the disk together, off the event loop, and deliver the same`, async (t) => {
    const dir = join(tempDir(t), 'spool')
    const sink = gateSink()
    const lg = await start(t, dir, sink, { write_mode: mode })
    t.equal(lg.holdRequests, mode === 'group', 'only group mode asks the proxy to hold requests')
    rec(lg, 0, 50)
    const segBytes = (): number => readdirSync(dir).filter((n) => n.startsWith('seg-')).reduce((n, f) => n + statSync(join(dir, f)).size, 0)
    t.equal(segBytes(), 0, 'nothing written yet: the request path only queued')
    t.equal(lg.status().pending_events, 50, 'queued events count as pending')
    const w = lg.written()
    t.equal(lg.written(), w, 'one promise for the whole turn')
    t.equal(await w, true, 'written')
    t.ok(segBytes() > 50 * 300, 'on disk once written() resolved')
    sink.open = true
    await waitFor(() => lg.status().pending_events === 0, 5000, 'delivered')
    t.same(sink.got.map((l) => JSON.parse(l).seq), Array.from({ length: 50 }, (_, i) => i + 1))
  })
}


t.test('a turn of lines past one write chunk: every line reaches the disk whole, multi-byte text and a line longer than a chunk included', async (t) => {
  const dir = join(tempDir(t), 'spool')
  const lg = await start(t, dir, gateSink())
  // ~1.5 KB each with two- to four-byte UTF-8 characters: 120 of them are several 48 KiB chunks.
  const wide = 'ü€😀'.repeat(100)
  for (let i = 0; i < 120; i++) {
    const extra = i === 60 ? { note: 'x'.repeat(200_000) } : { note: `${i} ${wide}` } // one line of ~200 KB
    lg.record({ path: 'envoy/authz/allow', input: sampleInput(i, extra), result: true })
  }
  t.equal(await lg.written(), true, 'written')
  await lg.stop(0)
  const text = readdirSync(dir).filter((n) => n.startsWith('seg-')).sort().map((f) => readFileSync(join(dir, f), 'utf8')).join('')
  const lines = text.split('\n')
  t.equal(lines.pop(), '', 'the file ends with a whole line')
  const events = lines.map((l) => JSON.parse(l) as { seq: number; input: { note: string } })
  t.same(events.map((e) => e.seq), Array.from({ length: 120 }, (_, i) => i + 1), 'every line, in order')
  t.equal(events[60]!.input.note.length, 200_000, 'the long line whole')
  t.equal(events[61]!.input.note, `61 ${wide}`, 'multi-byte text intact after it')
  const f = join(tempDir(t), 'all.jsonl')
  writeFileSync(f, text)
  t.ok((await verifyLog(f)).ok, 'the chain verifies')
})
// A real ENOSPC: the next segment file is a symlink to /dev/full, so the group's write fails.
t.test('a failed group write: written() is false, the events are counted as lost, and the chain goes on from the disk', { skip: existsSync('/dev/full') ? false : 'no /dev/full' }, async (t) => {
  const dir = join(tempDir(t), 'spool')
  const sink = gateSink()
  const b = await start(t, dir, sink, { segment_max_bytes: 4096, max_bytes: 1 << 20 })
  // Fill the first segment, so the next line opens a new one.
  for (let i = 0; b.status().spool_bytes < 4096; i++) rec(b, i, i + 1)
  t.equal(await b.written(), true)
  const head = b.status().head
  const next = join(dir, `seg-${String(head.seq + 1).padStart(20, '0')}.jsonl`)
  symlinkSync('/dev/full', next)
  rec(b, 200, 205)
  t.equal(b.status().head.seq, head.seq + 5, 'accepted at once')
  t.equal(await b.written(), false, 'the write failed')
  const st = b.status()
  t.equal(st.dropped_by_reason.write_error, 5, 'five events lost, counted')
  t.same(st.head, head, 'the chain head is back at the last line on disk')
  t.notOk(existsSync(next), 'the empty segment is gone')
  rec(b, 300, 302)
  t.equal(await b.written(), true, 'the next turn writes normally')
  t.equal(b.status().head.seq, head.seq + 2)
  sink.open = true
  await waitFor(() => b.status().pending_events === 0, 5000, 'delivered')
  const ids = sink.got.map((l) => JSON.parse(l).input.attributes.request.http.id as string)
  t.notOk(ids.some((id) => /^req-20\d$/.test(id)), 'the lost events were never delivered')
  t.same(ids.slice(-2), ['req-300', 'req-301'])
  await b.stop(0)
  const v = await verifyLog(dir)
  t.ok(v.ok, 'the chain on disk verifies (no undeclared gap)')
})

t.test('sync write mode: the line is on disk when record() returns', async (t) => {
  const dir = join(tempDir(t), 'spool')
  const lg = await start(t, dir, gateSink(), { write_mode: 'sync' })
  t.equal(lg.holdRequests, false)
  rec(lg, 0, 3)
  const seg = readdirSync(dir).filter((n) => n.startsWith('seg-'))
  t.equal(readFileSync(join(dir, seg[0]!), 'utf8').split('\n').filter(Boolean).length, 3)
})

t.test('fsync "always" works end to end', async (t) => {
  const dir = join(tempDir(t), 'spool')
  const sink = gateSink()
  sink.open = true
  const lg = await start(t, dir, sink, { fsync: 'always' })
  rec(lg, 0, 10)
  await waitFor(() => lg.status().pending_events === 0, 5000, 'delivered')
  t.equal(sink.got.length, 10)
})

t.test('delivered segments are deleted; undelivered ones stay', async (t) => {
  const dir = join(tempDir(t), 'spool')
  const sink = gateSink()
  const lg = await start(t, dir, sink, { segment_max_bytes: 4096, max_bytes: 1 << 20 })
  rec(lg, 0, 40)
  // Queued events are sealed and written at the end of the turn they were recorded in.
  await lg.written()
  const segs = (): string[] => readdirSync(dir).filter((n) => n.startsWith('seg-'))
  t.ok(segs().length >= 5, `${segs().length} segments while undelivered`)
  t.equal(segs()[0], 'seg-00000000000000000001.jsonl', 'segments are named by their first seq')
  sink.open = true
  await waitFor(() => lg.status().pending_events === 0, 5000, 'delivered')
  await lg.settled() // deletions follow the state.json write that records the delivery
  t.ok(segs().length <= 1, 'only the segment being written may remain')
  t.match(JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')), { version: 1, instance_id: String, acked_seq: 40, acked_hash: lg.status().head.hash, delivered_seq: 40, delivered_hash: lg.status().head.hash })
})

t.test('a line that is not a sealed event is skipped and counted, not sent', async (t) => {
  const dir = join(tempDir(t), 'spool')
  const a = await start(t, dir, gateSink())
  rec(a, 0, 3)
  await a.stop(0)
  const seg = join(dir, readdirSync(dir).filter((n) => n.startsWith('seg-')).sort()[0]!)
  const lines = readFileSync(seg, 'utf8').split('\n')
  lines[1] = '{"junk":true}'
  writeFileSync(seg, lines.join('\n'))
  const sink = gateSink()
  sink.open = true
  const b = await start(t, dir, sink)
  await waitFor(() => sink.got.length === 2, 5000, 'the readable lines')
  t.same(sink.got.map((l) => JSON.parse(l).seq), [1, 3])
  t.equal(b.status().corrupt_lines, 1)
  const v = await verifyLog(dir)
  t.equal(v.break?.reason, 'malformed', 'verify-log still shows the tampered line')
  t.match(v.break?.message, /:2: record lacks a valid seq/)
})

t.test('record() before start() is a programming error', async (t) => {
  const lg = new DecisionLogger({ spool_dir: join(tempDir(t), 'spool'), sinks: ['console'] })
  t.throws(() => lg.record({ path: 'p', input: {} }), { code: 'BOUNCER_ERR_DECISION_LOG_NOT_STARTED' })
  t.equal(lg.status().state, 'NOT_READY')
})

// The uploader's read handle stays open from one batch to the next while it reads the same
// segment, and is let go once that segment is deleted: an open handle would keep a deleted
// file's disk space. Seen from the process's own descriptor table.
t.test('the reader keeps one handle per segment across batches, and none on deleted segments', { skip: existsSync('/proc/self/fd') ? false : 'no /proc/self/fd' }, async (t) => {
  const cp = await startControlPlane()
  t.teardown(() => cp.close())
  const dir = join(tempDir(t), 'spool')
  const lg = new DecisionLogger({ spool_dir: dir, service_url: cp.url, min_delay_seconds: 0.01, max_delay_seconds: 0.05, segment_max_bytes: 16384, max_bytes: 1 << 20 })
  await lg.start()
  let stopped = false
  t.teardown(() => stopped ? undefined : lg.stop(0))
  /** fd number → target, for descriptors into the spool's segment files. */
  const segmentFds = (): Map<number, string> => {
    const out = new Map<number, string>()
    for (const n of readdirSync('/proc/self/fd')) {
      let target: string
      try { target = readlinkSync(`/proc/self/fd/${n}`) } catch { continue } // closed meanwhile
      if (target.startsWith(join(dir, 'seg-'))) out.set(Number(n), target)
    }
    return out
  }
  const deliver = async (from: number, to: number): Promise<void> => {
    rec(lg, from, to)
    await lg.written()
    await waitFor(() => lg.status().pending_events === 0, 5000, 'delivery')
  }

  // One event per batch, all in the first segment (a delivered segment stays while it is less
  // than half full): the writer's fd plus one read handle, the same one each time.
  await deliver(0, 1)
  const first = segmentFds()
  t.equal(first.size, 2, 'the writer and the reader each hold the segment open')
  t.same([...new Set(first.values())], [join(dir, 'seg-00000000000000000001.jsonl')], 'both on the first segment')
  for (let i = 1; i < 3; i++) {
    await deliver(i, i + 1)
    t.same([...segmentFds().keys()], [...first.keys()], `batch ${i + 1} was read through the same handle`)
  }
  t.equal(cp.events().length, 3, 'every batch arrived')

  // Many segments written, delivered and deleted: no descriptor is left on a deleted file.
  await deliver(3, 200)
  await lg.settled() // deletions follow the state.json write that records the delivery
  t.equal(cp.events().length, 200, 'all 200 events delivered')
  t.notOk(existsSync(join(dir, 'seg-00000000000000000001.jsonl')), 'the first segment was deleted')
  await waitFor(() => [...segmentFds().values()].every((p) => !p.endsWith(' (deleted)')), 5000, 'handles on deleted segments to be closed')
  for (const p of segmentFds().values()) t.ok(existsSync(p), `${p} is open and still in the spool`)
  await lg.stop(0)
  stopped = true
  t.equal(segmentFds().size, 0, 'stop() closes the read handle too')
})

t.test('a spooled line damaged on disk is kept in corrupt.jsonl before its segment goes; the others are delivered', async (t) => {
  const dir = join(tempDir(t), 'spool')
  const exportFile = join(tempDir(t), 'export.jsonl')
  // Recorded while the control plane is away: the events stay in the spool.
  let lg = new DecisionLogger({ spool_dir: dir, service_url: 'http://127.0.0.1:9', min_delay_seconds: 60, max_delay_seconds: 60, segment_max_bytes: 4096 })
  await lg.start()
  for (let i = 1; i <= 6; i++) lg.record({ path: 'authz/allow', input: { attributes: { request: { http: { id: `req-${i}`, path: '/' } } } }, result: { allow: true } })
  t.equal(await lg.written(), true)
  await lg.stop(100)
  const seg = readdirSync(dir).find((n) => n.startsWith('seg-'))!
  const lines = readFileSync(join(dir, seg), 'utf8').split('\n')
  const damaged = lines[2]!.replace('"prev_hash"', '"prev_hasH"') // one bit flipped
  lines[2] = damaged
  writeFileSync(join(dir, seg), lines.join('\n'))
  lg = new DecisionLogger({ spool_dir: dir, sinks: ['file'], file_path: exportFile, min_delay_seconds: 0.01, max_delay_seconds: 0.05, segment_max_bytes: 4096 })
  await lg.start()
  const end = Date.now() + 5000
  while (lg.status().acked_seq < 6 && Date.now() < end) await new Promise((resolve) => setTimeout(resolve, 10))
  t.equal(lg.status().corrupt_lines, 1)
  await lg.stop(1000)
  t.same(readFileSync(exportFile, 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { seq: number }).seq), [1, 2, 4, 5, 6], 'the sealed lines are delivered')
  const kept = readFileSync(join(dir, 'corrupt.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { segment: string; offset: number; line_base64: string })
  t.equal(kept.length, 1, 'kept once, though read more than once')
  t.equal(kept[0]!.segment, seg)
  t.equal(kept[0]!.offset, Buffer.byteLength(lines[0]! + '\n' + lines[1]! + '\n'))
  t.equal(Buffer.from(kept[0]!.line_base64, 'base64').toString('utf8'), damaged, 'its bytes, as they were on disk')
})

t.test('drop_oldest: a drop marker that cannot be written refuses the event, keeps the dropped segment on disk, and goes first once it can', { skip: existsSync('/dev/full') ? false : 'no /dev/full' }, async (t) => {
  const dir = join(tempDir(t), 'spool')
  const sink = gateSink() // never open: nothing is delivered, the spool fills
  const b = await start(t, dir, sink, { write_mode: 'sync', segment_max_bytes: 4096, max_bytes: 24 * 1024 })
  // Each event fills a segment of its own, so the marker after one opens a new segment file.
  const big = (i: number) => ({ path: 'envoy/authz/allow', input: { ...sampleInput(i), pad: 'x'.repeat(4200) }, result: true })
  let i = 0
  while (b.status().spool_bytes + 4800 <= 24 * 1024) t.equal(b.record(big(i++)), undefined)
  const segments = () => readdirSync(dir).filter((n) => n.startsWith('seg-')).sort()
  const oldest = segments()[0]!
  const head = b.status().head
  // The segment the drop marker will open is the full device.
  symlinkSync('/dev/full', join(dir, `seg-${String(head.seq + 1).padStart(20, '0')}.jsonl`))
  t.equal(b.record(big(i++)), 'backpressure', 'the event that needed the room is refused: its gap could not be declared')
  t.ok(existsSync(join(dir, oldest)), 'the dropped segment is still on disk (no marker declares it yet)')
  t.same(b.status().head, head, 'nothing was chained')
  t.equal(b.record(big(i++)), undefined, 'the next event goes, after the marker')
  t.notOk(existsSync(join(dir, oldest)), 'the dropped segment is gone now that its marker is written')
  const r = await verifyLog(dir)
  t.ok(r.ok, r.break?.message ?? 'the spool verifies')
  t.ok(r.declared_drops.some((d) => d.from_seq === 1), 'the marker declares the dropped events from seq 1')
})

t.test('drop_oldest, group mode: a drop marker lost with its batch is chained again before the next event', { skip: existsSync('/dev/full') ? false : 'no /dev/full' }, async (t) => {
  const dir = join(tempDir(t), 'spool')
  const b = await start(t, dir, gateSink(), { write_mode: 'group', segment_max_bytes: 4096, max_bytes: 24 * 1024 })
  const big = (i: number) => ({ path: 'envoy/authz/allow', input: { ...sampleInput(i), pad: 'x'.repeat(4200) }, result: true })
  let i = 0
  while (b.status().spool_bytes + 4800 <= 24 * 1024) { b.record(big(i++)); t.equal(await b.written(), true) }
  const oldest = readdirSync(dir).filter((n) => n.startsWith('seg-')).sort()[0]!
  const head = b.status().head
  symlinkSync('/dev/full', join(dir, `seg-${String(head.seq + 1).padStart(20, '0')}.jsonl`))
  b.record(big(i++))
  t.equal(await b.written(), false, 'the batch with the marker and the event failed: the event\'s request is refused')
  t.ok(existsSync(join(dir, oldest)), 'the dropped segment is still on disk')
  b.record(big(i++))
  t.equal(await b.written(), true, 'the next turn writes the marker, then its event')
  t.notOk(existsSync(join(dir, oldest)), 'and only then the dropped segment goes')
  const lines = readdirSync(dir).filter((n) => n.startsWith('seg-')).sort().flatMap((f) => readFileSync(join(dir, f), 'utf8').split('\n').filter(Boolean))
  const next = lines.map((l) => JSON.parse(l) as { seq: number; drop?: { from_seq: number } }).find((e) => e.seq === head.seq + 1)
  t.equal(next?.drop?.from_seq, 1, 'the record right after the old head is the drop marker, not the event')
  await b.stop(0)
  const r = await verifyLog(dir)
  t.ok(r.ok, r.break?.message ?? 'the spool verifies')
  t.ok(r.declared_drops.some((d) => d.from_seq === 1), 'the marker declares the dropped events from seq 1')
})

t.test('a damaged line is kept in corrupt.jsonl once, however often the spool is reopened before its segment goes', async (t) => {
  const dir = join(tempDir(t), 'spool')
  const down = 'http://127.0.0.1:9'
  let lg = new DecisionLogger({ spool_dir: dir, service_url: down, min_delay_seconds: 60, max_delay_seconds: 60 })
  await lg.start()
  for (let i = 1; i <= 4; i++) lg.record({ path: 'authz/allow', input: { attributes: { request: { http: { id: `req-${i}`, path: '/' } } } }, result: { allow: true } })
  t.equal(await lg.written(), true)
  await lg.stop(100)
  const seg = readdirSync(dir).find((n) => n.startsWith('seg-'))!
  const lines = readFileSync(join(dir, seg), 'utf8').split('\n')
  lines[1] = lines[1]!.replace('"prev_hash"', '"prev_hasH"')
  writeFileSync(join(dir, seg), lines.join('\n'))
  for (let r = 0; r < 3; r++) {
    lg = new DecisionLogger({ spool_dir: dir, service_url: down, min_delay_seconds: 0.01, max_delay_seconds: 0.05 })
    await lg.start()
    await waitFor(() => lg.status().corrupt_lines === 1, 5000, 'the damaged line met by the uploader')
    await lg.stop(100)
  }
  t.equal(readFileSync(join(dir, 'corrupt.jsonl'), 'utf8').trim().split('\n').length, 1, 'one entry after three openings')
})

t.test('drop_oldest: a drop whose marker could not be written is kept in state.json and chained first by the next process', { skip: existsSync('/dev/full') ? false : 'no /dev/full' }, async (t) => {
  for (const mode of ['sync', 'group'] as const) {
    const dir = join(tempDir(t), 'spool')
    const cfg = { spool_dir: dir, service_url: 'http://127.0.0.1:9', write_mode: mode, segment_max_bytes: 4096, max_bytes: 24 * 1024, min_delay_seconds: 60, max_delay_seconds: 60 }
    const big = (i: number) => ({ path: 'envoy/authz/allow', input: { ...sampleInput(i), pad: 'x'.repeat(4200) }, result: true })
    let lg = new DecisionLogger(cfg)
    await lg.start()
    let i = 0
    while (lg.status().spool_bytes + 4800 <= 24 * 1024) { lg.record(big(i++)); t.equal(await lg.written(), true) }
    const head = lg.status().head
    symlinkSync('/dev/full', join(dir, `seg-${String(head.seq + 1).padStart(20, '0')}.jsonl`))
    const r = lg.record(big(i++))
    t.equal(r === 'backpressure' || !(await lg.written()), true, `${mode}: refused`)
    await lg.stop(0)
    const state = JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')) as { acked_seq: number; pending_drop?: { drop: { from_seq: number; to_seq: number } } }
    t.match(state.pending_drop, { drop: { from_seq: 1 } }, `${mode}: the undeclared drop is in state.json`)
    // The next process: the marker goes first, before its first event.
    lg = new DecisionLogger(cfg)
    await lg.start()
    lg.record(big(i++))
    t.equal(await lg.written(), true)
    await lg.stop(0)
    const lines = readdirSync(dir).filter((n) => n.startsWith('seg-')).sort().flatMap((f) => readFileSync(join(dir, f), 'utf8').split('\n').filter(Boolean))
    const next = lines.map((l) => JSON.parse(l) as { seq: number; drop?: { from_seq: number } }).find((e) => e.seq === head.seq + 1)
    t.equal(next?.drop?.from_seq, 1, `${mode}: the first record after the old head is the drop marker`)
    t.equal((JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')) as { pending_drop?: unknown }).pending_drop, undefined, `${mode}: and state.json no longer holds it`)
    const v = await verifyLog(dir)
    t.ok(v.ok, v.break?.message ?? `${mode}: the spool verifies`)
  }
})

t.test('a pending drop whose marker never reached the disk is chained at start even when the acknowledged point is past the last line on disk', async (t) => {
  // What a process killed mid-overflow leaves (group mode, lines still queued when it died): the
  // drop moved the acknowledged point past lines never written, and state.json says the drop's
  // marker took seq 7, which no segment holds. The head is raised to the acknowledged point at
  // open; the marker must still be chained, or the next event follows an undeclared gap.
  const dir = join(tempDir(t), 'spool')
  let lg = new DecisionLogger({ spool_dir: dir, sinks: ['console'], min_delay_seconds: 60, max_delay_seconds: 60 }, { sink: gateSink() })
  await lg.start()
  rec(lg, 0, 5)
  t.equal(await lg.written(), true)
  await lg.stop(0)
  const statePath = join(dir, 'state.json')
  const state = JSON.parse(readFileSync(statePath, 'utf8')) as Record<string, unknown>
  const ackedHash = 'a'.repeat(64)
  writeFileSync(statePath, JSON.stringify({
    ...state, acked_seq: 9, acked_hash: ackedHash,
    pending_drop: { drop: { reason: 'spool_full', from_seq: 1, to_seq: 9, count: 9, from_prev_hash: '0'.repeat(64), to_hash: ackedHash }, marker_seq: 7 },
  }))
  lg = new DecisionLogger({ spool_dir: dir, sinks: ['console'], min_delay_seconds: 60, max_delay_seconds: 60 }, { sink: gateSink() })
  await lg.start()
  // At start, not at the next event: a quiet service would otherwise keep it off the chain.
  t.equal(lg.status().head.seq, 10, 'the marker is chained at start, before any event')
  t.equal(await lg.written(), true, 'and written')
  rec(lg, 100, 101)
  t.equal(await lg.written(), true)
  await lg.stop(0)
  const lines = readdirSync(dir).filter((n) => n.startsWith('seg-')).sort().flatMap((f) => readFileSync(join(dir, f), 'utf8').split('\n').filter(Boolean))
  const recs = lines.map((l) => JSON.parse(l) as { seq: number; prev_hash: string; drop?: { from_seq: number; to_seq: number } })
  t.same(recs.map((r) => [r.seq, r.drop === undefined ? 'event' : `drop ${r.drop.from_seq}..${r.drop.to_seq}`]), [[10, 'drop 1..9'], [11, 'event']], 'the marker first, then the event')
  t.equal(recs[0]!.prev_hash, ackedHash, 'chained to the acknowledged point')
})
