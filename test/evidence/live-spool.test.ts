// bouncer evidence (and replay) on a spool the logger is writing: a delivered segment deleted,
// the acknowledged point raised and records appended, before or while the spool is opened and
// read. The logger's moves are made for real on the files, at a point forced by wrapping a
// node:fs function (a live logger would hit that point only by chance), once per test.
import fs, { appendFileSync, mkdirSync, unlinkSync, writeFileSync } from 'node:fs'
import { syncBuiltinESMExports } from 'node:module'
import { join } from 'node:path'
import t from 'tap'
import { isBouncerError } from '../../src/errors.js'
import { buildEvidence } from '../../src/evidence/index.js'
import { readerStats } from '../../src/evidence/parallel.js'
import { readDecisions } from '../../src/replay/records.js'
import { linesText, sealedChain } from '../decision-log/fixtures/chain.js'
import { tempDir } from '../decision-log/fixtures/control-plane.js'

type Hook = ((path: string) => void) | null
let onOpen: Hook = null
let onStateRead: Hook = null
const realOpen = fs.openSync
const realReadFile = fs.readFileSync
fs.openSync = function (this: unknown, ...a: unknown[]): unknown {
  if (onOpen !== null && String(a[0]).includes('/seg-')) onOpen(String(a[0]))
  return (realOpen as (...x: unknown[]) => unknown).apply(this, a)
} as typeof fs.openSync
fs.readFileSync = function (this: unknown, ...a: unknown[]): unknown {
  const out = (realReadFile as (...x: unknown[]) => unknown).apply(this, a)
  if (onStateRead !== null && String(a[0]).endsWith('/state.json')) onStateRead(String(a[0]))
  return out
} as typeof fs.readFileSync
syncBuiltinESMExports()
t.afterEach(() => { onOpen = null; onStateRead = null })

const lines = sealedChain(12)
const text = (first: number, last: number): string => linesText(lines, first, last)
const ack = (dir: string, seq: number): void => {
  writeFileSync(join(dir, 'state.json'), JSON.stringify({ version: 1, instance_id: 'x', acked_seq: seq, acked_hash: lines[seq - 1]!.hash }))
}
/** A spool of seq 1..10 in two segments, acknowledged up to 3. */
function spool (t: Parameters<typeof tempDir>[0]): { dir: string; first: string; second: string } {
  const dir = join(tempDir(t), 'spool')
  mkdirSync(dir)
  const first = join(dir, `seg-${'1'.padStart(20, '0')}.jsonl`)
  const second = join(dir, `seg-${'6'.padStart(20, '0')}.jsonl`)
  writeFileSync(first, text(1, 5))
  writeFileSync(second, text(6, 10))
  ack(dir, 3)
  return { dir, first, second }
}

t.test('the logger delivers, deletes and appends once the spool is open: the state it was opened in is read', async (t) => {
  for (const parallel of [false, true]) {
    const { dir, first, second } = spool(t)
    let moved = 0
    let reads = 0
    // right after the second read of state.json, the last step of opening the spool (the
    // reading itself may be on another thread)
    onStateRead = () => {
      if (++reads !== 2) return
      moved++
      ack(dir, 5) // seq 4..5 delivered, then the segment holding 1..5 deleted
      unlinkSync(first)
      appendFileSync(second, text(11, 12)) // and two more decisions
    }
    const inWorker = readerStats.inWorker
    const r = await buildEvidence({ logs: [dir], parallel })
    if (parallel) t.ok(readerStats.inWorker > inWorker, 'read on the second thread')
    t.equal(moved, 1, 'the logger moved, once, after the spool was opened')
    t.equal(r.integrity.records_checked, 10, 'seq 1..10: the deleted segment is read, the appended records are not')
    t.same(r.integrity.findings.filter((f) => f.severity !== 'note').map((f) => f.kind), [], `no break (parallel: ${String(parallel)})`)
    t.equal(r.integrity.chains[0]!.anchored_at, 3, 'the acknowledged point it was opened with')
  }
})

t.test('a segment deleted between the listing and its opening: opened again, in the new state', async (t) => {
  const { dir, first } = spool(t)
  let moved = 0
  onOpen = (p) => {
    if (p !== first || moved++ > 0) return
    ack(dir, 5)
    unlinkSync(first)
  }
  const r = await buildEvidence({ logs: [dir] })
  t.equal(moved, 1)
  t.equal(r.integrity.records_checked, 5, 'seq 6..10')
  t.equal(r.integrity.chains[0]!.anchored_at, 5)
  t.same(r.integrity.findings.filter((f) => f.severity !== 'note').map((f) => f.kind), [])

  // replay reads it the same way
  const again = spool(t)
  let movedAgain = 0
  onOpen = (p) => {
    if (p !== again.first || movedAgain++ > 0) return
    ack(again.dir, 5)
    unlinkSync(again.first)
  }
  const seen: number[] = []
  const s = await readDecisions([again.dir], (ev) => { seen.push(ev.seq as number) })
  t.same(seen, [6, 7, 8, 9, 10])
  t.same(s.findings.filter((f) => f.severity !== 'note').map((f) => f.kind), [])
})

t.test('state.json raised while the segments are opened: opened again; a spool that never holds still is refused by name', async (t) => {
  const { dir } = spool(t)
  let reads = 0
  onStateRead = () => { if (reads++ === 0) ack(dir, 4) } // after the first read: the logger acknowledged seq 4
  const r = await buildEvidence({ logs: [dir] })
  t.ok(reads >= 3, 'read, changed, read twice more')
  t.equal(r.integrity.chains[0]!.anchored_at, 4, 'the state that held still')

  let n = 0
  onStateRead = () => { ack(dir, 3 + (n++ % 2)) }
  try {
    await buildEvidence({ logs: [dir] })
    t.fail('refused')
  } catch (e) {
    t.ok(isBouncerError(e, 'BOUNCER_ERR_EVIDENCE_INPUT'))
    t.match((e as Error).message, /the spool changed during each of 5 attempts .*state\.json changed/)
    t.match((e as Error).message, /spool/)
  }
})

t.test('a FIFO named like a segment is skipped, not waited on for ever (bouncer evidence and verify-log)', async (t) => {
  const { execFileSync } = await import('node:child_process')
  const { verifyLog } = await import('../../src/decision-log/index.js')
  const { dir } = spool(t)
  execFileSync('mkfifo', [join(dir, `seg-${'11'.padStart(20, '0')}.jsonl`)])
  const r = await buildEvidence({ logs: [dir] })
  t.equal(r.integrity.records_checked, 10)
  t.equal(r.integrity.complete, true)
  const v = await verifyLog(dir)
  t.ok(v.ok, v.break?.message ?? 'verifies')
  t.equal(v.last_seq, 10)
})

t.test('a spool that fails while being opened leaves no descriptor open', async (t) => {
  const { dir } = spool(t)
  const fds = (): number => fs.readdirSync('/proc/self/fd').length
  const before = fds()
  let reads = 0
  // the second read of state.json (after the segments were opened) fails
  onStateRead = () => { if (++reads === 2) throw Object.assign(new Error('EACCES: permission denied, open'), { code: 'EACCES' }) }
  await t.rejects(buildEvidence({ logs: [dir] }), /permission denied/)
  t.equal(fds(), before, 'the segments opened were closed')
})
