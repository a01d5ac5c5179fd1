// The log as replay reads it: the chain checked as bouncer evidence checks it (a spool's end
// against its acknowledged point, exports before spools).
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { readDecisions } from '../../src/replay/records.js'
import { linesText, sealedChain } from '../decision-log/fixtures/chain.js'
import { tempDir } from '../decision-log/fixtures/control-plane.js'

const lines = sealedChain(12)
const text = (first: number, last: number): string => linesText(lines, first, last)

t.test('a spool whose records end before its acknowledged point is missing them (as in bouncer evidence)', async (t) => {
  const dir = join(tempDir(t), 'spool')
  mkdirSync(dir)
  writeFileSync(join(dir, `seg-${'1'.padStart(20, '0')}.jsonl`), text(1, 8))
  writeFileSync(join(dir, 'state.json'), JSON.stringify({ version: 1, instance_id: 'x', acked_seq: 10, acked_hash: lines[9]!.hash }))
  const seen: number[] = []
  const r = await readDecisions([dir], (ev) => { seen.push(ev.seq as number) })
  t.same(seen, [1, 2, 3, 4, 5, 6, 7, 8])
  t.same(r.findings.filter((f) => f.severity === 'break').map((f) => [f.kind, f.seq, f.to_seq]), [['gap', 9, 10]])
})

t.test('a spool given before an export of its chain\'s start: read after it, not a restart', async (t) => {
  const root = tempDir(t)
  const dir = join(root, 'spool')
  mkdirSync(dir)
  writeFileSync(join(dir, `seg-${'11'.padStart(20, '0')}.jsonl`), text(11, 12))
  writeFileSync(join(dir, 'state.json'), JSON.stringify({ version: 1, instance_id: 'x', acked_seq: 12, acked_hash: lines[11]!.hash }))
  const exp = join(root, 'export.jsonl')
  writeFileSync(exp, text(1, 12))
  const seen: number[] = []
  const r = await readDecisions([dir, exp], (ev) => { seen.push(ev.seq as number) })
  t.same(seen, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12], 'each decision once')
  t.same(r.findings.filter((f) => f.severity !== 'note').map((f) => f.kind), [])
})
