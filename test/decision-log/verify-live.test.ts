// verify-log on a spool the logger is writing: a delivered segment deleted, or the acknowledged
// point raised, while verify-log reads. The logger's moves are made for real on the files, at
// a point forced by wrapping node:fs readFileSync (a live logger would hit that point only by
// chance), once per test.
import fs, { mkdirSync, unlinkSync, writeFileSync } from 'node:fs'
import { syncBuiltinESMExports } from 'node:module'
import { join } from 'node:path'
import t from 'tap'
import { GENESIS_HASH, sealEvent, verifyLog } from '../../src/decision-log/index.js'
import { tempDir } from './fixtures/control-plane.js'

let onSegmentRead: ((path: string) => void) | null = null
const realRead = fs.readFileSync
fs.readFileSync = function (this: unknown, ...a: unknown[]): unknown {
  if (onSegmentRead !== null && String(a[0]).includes('/seg-')) onSegmentRead(String(a[0]))
  return (realRead as (...x: unknown[]) => unknown).apply(this, a)
} as typeof fs.readFileSync
syncBuiltinESMExports()

const lines: Array<{ line: string; hash: string }> = []
{
  let prev = GENESIS_HASH
  for (let seq = 1; seq <= 12; seq++) {
    const s = sealEvent({ decision_id: `d${seq}`, labels: { id: 'x' }, timestamp: '2025-01-01T00:00:00.000000000Z', result: { allow: true } }, seq, prev)
    lines.push(s)
    prev = s.hash
  }
}
const seg = (dir: string, first: number, last: number): string => {
  const p = join(dir, `seg-${String(first).padStart(20, '0')}.jsonl`)
  writeFileSync(p, lines.slice(first - 1, last).map((l) => l.line + '\n').join(''))
  return p
}
const ack = (dir: string, seq: number, extra: Record<string, unknown> = {}): void => {
  writeFileSync(join(dir, 'state.json'), JSON.stringify({ version: 1, instance_id: 'x', acked_seq: seq, acked_hash: lines[seq - 1]!.hash, ...extra }))
}
t.afterEach(() => { onSegmentRead = null })

/** A spool of seq 1..10 in two segments, acknowledged up to 3; `move` runs once, in the middle of the first read of the first segment. */
function liveSpool (t: Parameters<typeof tempDir>[0], move: (dir: string, first: string) => void): { dir: string; moves: () => number } {
  const dir = join(tempDir(t), 'spool')
  mkdirSync(dir)
  const first = seg(dir, 1, 5)
  seg(dir, 6, 10)
  ack(dir, 3)
  let moves = 0
  onSegmentRead = (p) => { if (p === first && moves++ === 0) move(dir, first) }
  return { dir, moves: () => moves }
}

t.test('a delivered segment deleted while verify-log reads: read again, the spool is intact', async (t) => {
  const { dir, moves } = liveSpool(t, (dir, first) => {
    ack(dir, 5) // the logger: seq 4..5 delivered, then the segment holding 1..5 deleted
    unlinkSync(first)
  })
  const r = await verifyLog(dir)
  t.equal(moves(), 1, 'the logger moved once, in the middle of the first read')
  t.equal(r.ok, true)
  t.equal(r.acked_seq, 5)
  t.equal(r.first_seq, 6)
  t.equal(r.anchored, 'state')
})

t.test('the acknowledged point raised and a segment begun while verify-log reads: the answer is about the new state', async (t) => {
  const { dir } = liveSpool(t, (dir) => {
    seg(dir, 11, 12) // the logger: seq 11..12 in a new segment, all delivered
    ack(dir, 12)
  })
  const r = await verifyLog(dir)
  t.equal(r.ok, true)
  t.equal(r.acked_seq, 12)
  t.equal(r.last_seq, 12)
  t.equal(r.undelivered, 0)
})

t.test('a spool that changes during every read: verify-log says so rather than answer about no state', async (t) => {
  const dir = join(tempDir(t), 'spool')
  mkdirSync(dir)
  seg(dir, 1, 5)
  ack(dir, 3)
  let n = 0
  onSegmentRead = () => { ack(dir, 3, { n: ++n }) }
  await t.rejects(verifyLog(dir), /the spool changed during each of 5 reads/)
  t.equal(n, 5)
})

t.test('a segment missing while nothing else moves is not blamed on the logger: the error names it', async (t) => {
  const dir = join(tempDir(t), 'spool')
  mkdirSync(dir)
  seg(dir, 1, 5)
  ack(dir, 3)
  fs.symlinkSync(join(dir, 'nowhere'), join(dir, `seg-${'9'.padStart(20, '0')}.jsonl`))
  await t.rejects(verifyLog(dir), { code: 'ENOENT', message: /seg-00000000000000000009\.jsonl/ })
})
