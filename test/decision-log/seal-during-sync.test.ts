// write_mode "group" with fsync "interval": while the spool's writer waits for its periodic
// fdatasync, the events recorded in each turn are still sealed at the end of that turn and
// queued for the writer. Left to the writer, every event recorded during a slow fdatasync was
// sealed in one go when it returned: one long stall of the event loop (300-800 ms measured
// after a slow sync). A slow fdatasync cannot be produced on demand, so fs.fdatasync is wrapped
// to hold its answer until the test lets it go.
import fs from 'node:fs'
import { syncBuiltinESMExports } from 'node:module'
import { join } from 'node:path'
import t from 'tap'
import { DecisionLogger, verifyLog, type DecisionEventInput, type Sink } from '../../src/decision-log/index.js'
import { tempDir, waitFor } from './fixtures/control-plane.js'

const held: Array<() => void> = []
let holding = false
const realDatasync = fs.fdatasync
fs.fdatasync = function (fd: number, cb: (e: NodeJS.ErrnoException | null) => void): void {
  if (holding) { held.push(() => realDatasync(fd, cb)); return }
  realDatasync(fd, cb)
} as typeof fs.fdatasync
syncBuiltinESMExports()

const idle: Sink = { kind: 'idle', batchBytes: () => 1 << 20, send: async () => ({ ok: false, error: 'idle' }), probe: async () => ({ ok: false, error: 'idle' }), close: async () => {} }
const event = (i: number): DecisionEventInput => ({ path: 'bouncer/decision', requested_by: '127.0.0.1', eval_ns: 1, total_ns: 2, input: { i }, result: { allow: true } })
const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))

t.test('events recorded while the writer waits for a periodic fdatasync are sealed at the end of their own turn', async (t) => {
  const dir = join(tempDir(t), 'spool')
  const lg = new DecisionLogger({ spool_dir: dir, sinks: ['console'], write_mode: 'group', fsync: 'interval', fsync_interval_seconds: 0.05, min_delay_seconds: 60, max_delay_seconds: 60 }, { sink: idle })
  await lg.start()
  t.teardown(async () => { holding = false; for (const go of held.splice(0)) go(); await lg.stop(0) })
  const deferred = (): number => (lg as unknown as { deferred: unknown[] }).deferred.length // internals: what is still unsealed

  lg.record(event(0))
  t.equal(await lg.written(), true, 'the first event is written')
  holding = true
  await waitFor(() => held.length > 0, 5000, 'the periodic fdatasync to start')

  let n = 1
  for (let k = 0; k < 5; k++) {
    for (let j = 0; j < 10; j++) lg.record(event(n++))
    t.equal(deferred(), 10, `turn ${k}: recorded, not yet sealed`)
    await turn()
    await turn()
    t.equal(deferred(), 0, `turn ${k}: sealed at the end of its turn, though the writer still waits for the fdatasync`)
  }
  t.equal(held.length > 0, true, 'the fdatasync is still held')

  const written = lg.written()
  holding = false
  for (const go of held.splice(0)) go()
  t.equal(await written, true, 'written once the fdatasync returns')
  await lg.stop(0)
  const v = await verifyLog(dir)
  t.equal(v.ok, true, 'the chain on disk verifies')
  const lines = fs.readdirSync(dir).filter((f) => f.startsWith('seg-')).sort().flatMap((f) => fs.readFileSync(join(dir, f), 'utf8').split('\n').filter((l) => l !== ''))
  const order = lines.map((l) => (JSON.parse(l) as { input?: { i?: number } }).input?.i).filter((i) => i !== undefined)
  t.same(order, Array.from({ length: n }, (_, i) => i), 'every event once, in record() order')
})
