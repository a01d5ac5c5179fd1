// The queued writer on its own terms. With fsync "always" the writer awaits each batch's
// fdatasync; lines accepted meanwhile can fill the segment, which is then retired (closed by the
// writer). Those lines were still queued for it: closing it before writing them made the writer
// skip them as if dropped, leaving holes in the chain that no drop marker declared. The
// interleaving is forced through the `written` hook, which runs between a batch's write and its
// fdatasync.
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { Spool } from '../../src/decision-log/spool.js'
import { sealEvent, GENESIS_HASH, type ChainHead } from '../../src/decision-log/chain.js'
import { tempDir } from './fixtures/control-plane.js'

t.test('lines queued for a segment that fills during an fdatasync are written before it is closed', async (t) => {
  const dir = join(tempDir(t), 'spool')
  let head: ChainHead = { seq: 0, hash: GENESIS_HASH }
  const settled: Array<Promise<boolean>> = []
  const enqueue = (spool: Spool): void => {
    const e = sealEvent({ decision_id: `d${head.seq + 1}`, pad: 'x'.repeat(250) }, head.seq + 1, head.hash)
    const data = e.line + '\n'
    settled.push(spool.enqueue(data, Buffer.byteLength(data), 1, { seq: e.seq, prevHash: head.hash }, { seq: e.seq, hash: e.hash }))
    head = { seq: e.seq, hash: e.hash }
  }
  let during = false
  const spool: Spool = new Spool({ dir, segment_max_bytes: 1000, fsync: 'always', fsync_interval_ms: 1000 }, {
    written: () => {
      if (during) return
      during = true
      // The batch holding line 1 is written and its fdatasync not yet done: lines 2..4 go to
      // the same segment (filling it), line 5 rotates to a new one, which retires the first.
      for (let i = 0; i < 5; i++) enqueue(spool)
    },
  })
  spool.open()
  enqueue(spool)
  await settled[0]
  t.ok(during, 'lines were queued between the write and its fdatasync')
  t.same(await Promise.all(settled), settled.map(() => true), 'every line reported written')
  await spool.close()
  const seqs: number[] = []
  for (const name of readdirSync(dir).filter((n) => n.startsWith('seg-')).sort()) {
    for (const line of readFileSync(join(dir, name), 'utf8').split('\n')) if (line !== '') seqs.push((JSON.parse(line) as { seq: number }).seq)
  }
  t.same(seqs, [1, 2, 3, 4, 5, 6], 'every accepted line is on disk, in order')
})

t.test('a dropped segment stays on disk until a marker that declares it is written, even when the first such marker was dropped while queued', async (t) => {
  // The logger's drop_oldest, step by step: S1 is dropped and declared by marker 3; S2 and S3
  // (still holding marker 3, unwritten) are dropped next, so marker 4 declares all three. S1's
  // file may go only once marker 4 is on disk. Before, dropping S3 raised the written head past
  // marker 3 and S1's file was deleted at the next fsync, with no marker on disk declaring it.
  const dir = join(tempDir(t), 'spool')
  let head: ChainHead = { seq: 0, hash: GENESIS_HASH }
  const enqueue = (spool: Spool, what: Record<string, unknown>): void => {
    const e = sealEvent({ decision_id: `d${head.seq + 1}`, ...what }, head.seq + 1, head.hash)
    const data = e.line + '\n'
    void spool.enqueue(data, Buffer.byteLength(data), 'drop' in what ? 0 : 1, { seq: e.seq, prevHash: head.hash }, { seq: e.seq, hash: e.hash })
    head = { seq: e.seq, hash: e.hash }
  }
  let calls = 0
  let s1Exists: boolean | null = null
  const spool: Spool = new Spool({ dir, segment_max_bytes: 1, fsync: 'always', fsync_interval_ms: 1000 }, {
    written: () => {
      calls++
      if (calls === 1) {
        // Lines 1 and 2 are written, their fdatasync not yet done.
        t.ok(spool.dropOldest(), 'S1 dropped')
        enqueue(spool, { drop: { to_seq: 1 } })
        spool.confirmDrops(3)
        t.ok(spool.dropOldest(), 'S2 dropped')
        spool.dropOldest() // S3: marker 3, never written
        enqueue(spool, { drop: { to_seq: 3 } })
        spool.confirmDrops(4)
      } else if (calls === 2) {
        // Marker 4 is written now; S1's file must still have been there until this moment.
        s1Exists = existsSync(join(dir, `seg-${'1'.padStart(20, '0')}.jsonl`))
      }
    },
  })
  spool.open()
  enqueue(spool, { n: 1 })
  enqueue(spool, { n: 2 })
  while (calls < 2) await new Promise((resolve) => setTimeout(resolve, 5))
  await spool.close()
  t.equal(s1Exists, true, 'S1 was on disk until marker 4 was written')
  t.notOk(existsSync(join(dir, `seg-${'1'.padStart(20, '0')}.jsonl`)), 'and is deleted after it')
})

t.test('group, drop_oldest: an event recorded after stop() began is chained after those recorded before it in the same turn', async (t) => {
  const { DecisionLogger } = await import('../../src/decision-log/index.js')
  const dir = join(tempDir(t), 'spool')
  const lg = new DecisionLogger({ spool_dir: dir, sinks: ['console'], write_mode: 'group', fsync: 'never', min_delay_seconds: 60, max_delay_seconds: 60 }, { sink: { kind: 'none', batchBytes: () => 1 << 20, send: async () => ({ ok: false as const, error: 'down' }), probe: async () => ({ ok: false as const, error: 'down' }), close: async () => {} } })
  await lg.start()
  lg.record({ path: 'p', input: { order: 'first' }, result: true })
  const stopping = lg.stop(0)
  lg.record({ path: 'p', input: { order: 'second' }, result: true })
  await stopping
  const lines: Array<{ seq: number; input: { order: string } }> = []
  for (const name of readdirSync(dir).filter((n) => n.startsWith('seg-')).sort()) {
    for (const line of readFileSync(join(dir, name), 'utf8').split('\n')) if (line !== '') lines.push(JSON.parse(line))
  }
  // Before, the second was sealed at once, ahead of the first (still waiting for the end of the turn).
  t.same(lines.map((l) => [l.seq, l.input.order]), [[1, 'first'], [2, 'second']])
})
