// Regression: the uploader's read must not skip a spool segment when older, delivered segments
// are deleted while it reads. Seen in the evidence fixture as batches like [9, 10, 16]: the
// lines 11..15 (one 4 KiB segment) were never sent, the next ack moved past them, and nothing in
// the chain declared the loss.
//
// The interleaving is forced, not timed: two gates in front of node:fs/promises open() (the
// only calls the spool makes there are reading segments and writing state.json.tmp) hold
//   S  the state.json write that follows the first acknowledgement, so the delivered first
//      segment is still in the spool when the second read starts, and
//   R  the second read, at its first segment, until S has been let go and the delivered
//      segment has been deleted.
import { existsSync, readdirSync, writeFileSync } from 'node:fs'
import { createRequire, syncBuiltinESMExports } from 'node:module'
import { join } from 'node:path'
import t from 'tap'
import { DecisionLogger, verifyLog } from '../../src/decision-log/index.js'
import { sampleInput, startControlPlane, tempDir, waitFor } from './fixtures/control-plane.js'

const fsp = createRequire(import.meta.url)('node:fs/promises') as { open: (...a: unknown[]) => Promise<unknown> }

interface Gate { entered: Promise<void>; release: () => void }

/** Hold the next open() whose path and flags match until release() is called. */
function gateOpen (match: (path: string, flags: unknown) => boolean): Gate {
  let entered!: () => void
  let release!: () => void
  const gate: Gate = { entered: new Promise((resolve) => { entered = resolve }), release: () => release() }
  const wait = new Promise<void>((resolve) => { release = resolve })
  gates.push({ match, entered, wait })
  return gate
}
const gates: Array<{ match: (path: string, flags: unknown) => boolean; entered: () => void; wait: Promise<void> }> = []
const realOpen = fsp.open
fsp.open = async function (this: unknown, ...args: unknown[]) {
  const k = gates.findIndex((g) => g.match(String(args[0]), args[1]))
  if (k >= 0) {
    const g = gates.splice(k, 1)[0]!
    g.entered()
    await g.wait
  }
  return await realOpen.apply(this, args)
}
syncBuiltinESMExports()
t.teardown(() => { fsp.open = realOpen; syncBuiltinESMExports() })

const segments = (dir: string): string[] => readdirSync(dir).filter((n) => n.startsWith('seg-')).sort()

t.test('deleting delivered segments during a read does not make the read skip a segment', async (t) => {
  const cp = await startControlPlane()
  t.teardown(() => cp.close())
  const dir = join(tempDir(t), 'spool')
  const lg = new DecisionLogger({
    spool_dir: dir, service_url: cp.url, min_delay_seconds: 0.01, max_delay_seconds: 0.05, segment_max_bytes: 4096,
  })
  await lg.start()
  t.teardown(() => lg.stop(0))
  let i = 0
  const record = (n: number): void => {
    for (const end = i + n; i < end; i++) lg.record({ path: 'envoy/authz/allow', input: sampleInput(i), result: { allow: true } })
  }

  const stateWrite = gateOpen((p) => p === join(dir, 'state.json.tmp'))
  record(8)
  await lg.written()
  await stateWrite.entered // batch 1 acknowledged; its state.json write is held
  t.equal(lg.status().acked_seq, 8)
  const [first, second] = segments(dir)
  t.ok(first !== undefined && second !== undefined, 'batch 1 spans two segments')
  const firstPath = join(dir, first!)

  const secondRead = gateOpen((p, flags) => p.startsWith(join(dir, 'seg-')) && flags === 'r')
  record(16)
  await lg.written()
  await secondRead.entered // the read for batch 2 has started, at the segment holding seq 9
  t.ok(segments(dir).length >= 4, 'batch 2 spans at least three segments')
  t.ok(existsSync(firstPath), 'the delivered first segment is still there')

  stateWrite.release()
  await waitFor(() => !existsSync(firstPath), 5000, 'the delivered segment to be deleted')
  secondRead.release()
  await waitFor(() => lg.status().pending_events === 0, 5000, 'everything acknowledged')

  t.same(cp.batches[0]!.events.map((e) => e.seq), [1, 2, 3, 4, 5, 6, 7, 8])
  t.same(cp.events().map((e) => e.seq), Array.from({ length: 24 }, (_, k) => k + 1), 'every seq delivered once, in order')
  const file = join(tempDir(t), 'received.jsonl')
  writeFileSync(file, cp.exportJsonl())
  t.ok((await verifyLog(file)).ok, 'the received chain verifies')
})
