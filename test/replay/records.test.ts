// The log as replay reads it: the chain checked as bouncer evidence checks it (a spool's end
// against its acknowledged point, exports before spools).
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { GENESIS_HASH, sealEvent } from '../../src/decision-log/index.js'
import { readDecisions } from '../../src/replay/records.js'
import { tempDir } from '../decision-log/fixtures/control-plane.js'

const lines: Array<{ line: string; hash: string }> = []
{
  let prev = GENESIS_HASH
  for (let seq = 1; seq <= 12; seq++) {
    const s = sealEvent({ decision_id: `d${seq}`, labels: { id: 'x' }, timestamp: `2025-01-01T00:00:${String(seq).padStart(2, '0')}.000000000Z`, path: 'bouncer/decision', input: {}, result: { allow: true } }, seq, prev)
    lines.push(s)
    prev = s.hash
  }
}
const text = (first: number, last: number): string => lines.slice(first - 1, last).map((l) => l.line + '\n').join('')

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
