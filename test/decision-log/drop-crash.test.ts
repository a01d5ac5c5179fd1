// drop_oldest writes the drop marker before it deletes the segment the marker declares: a
// process killed right as the file goes leaves a chain whose gap is declared. Before, the file
// was deleted first and the marker written after, so a crash in between left a gap no marker
// explained (verify-log: BROKEN).
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { DecisionLogger, verifyLog } from '../../src/decision-log/index.js'
import { tempDir } from './fixtures/control-plane.js'

const CHILD = fileURLToPath(new URL('./fixtures/drop-crash-child.ts', import.meta.url))
const ROOT = fileURLToPath(new URL('../../', import.meta.url))

t.test('SIGKILL at the first segment drop: the restarted logger delivers a chain whose every gap is declared', async (t) => {
  const dir = tempDir(t)
  const spool = join(dir, 'spool')
  const proc = spawn(process.execPath, ['--import', 'tsx', CHILD, spool], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] })
  const timer = setTimeout(() => proc.kill('SIGKILL'), 60_000)
  const exit = await new Promise<NodeJS.Signals | null>((resolve) => proc.on('exit', (_code, signal) => resolve(signal)))
  clearTimeout(timer)
  t.equal(exit, 'SIGKILL', 'killed at the drop')
  const exportFile = join(dir, 'export.jsonl')
  const lg = new DecisionLogger({ spool_dir: spool, sinks: ['file'], file_path: exportFile, min_delay_seconds: 0.01, max_delay_seconds: 0.05, max_bytes: 65536, segment_max_bytes: 4096 })
  await lg.start()
  const end = Date.now() + 10_000
  while (lg.status().pending_events > 0 && Date.now() < end) await new Promise((resolve) => setTimeout(resolve, 20))
  await lg.stop(2000)
  const r = await verifyLog(exportFile)
  t.ok(r.ok, `the chain holds: ${r.break?.message ?? ''}`)
  // The first segment's events never reach the export; the marker must declare exactly them,
  // from seq 1 to the seq before the first record delivered.
  const seqs = readFileSync(exportFile, 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { seq: number }).seq)
  t.ok(seqs[0]! > 1, `the export starts after the dropped segment (seq ${seqs[0]})`)
  t.ok(r.declared_drops.some((d) => d.from_seq === 1 && d.to_seq === seqs[0]! - 1), 'a drop marker declares seq 1 up to it')
})
