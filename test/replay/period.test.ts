// bouncer replay over a log with everything a real one accumulates (test/evidence/fixtures/
// period.ts: the real DecisionLogger delivering to a real control plane over six days — two
// pods, a restart on the same spool with a new version, a spool overflow declared by drop
// markers, fail-closed decisions; the uploads saved as gzip'd JSON arrays): the record is
// reported incomplete, and every decision that reached the control plane is replayed once.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { gunzipSync } from 'node:zlib'
import t from 'tap'
import { main } from '../../src/cli/replay.js'
import { replay } from '../../src/replay/index.js'
import { tempDir } from '../decision-log/fixtures/control-plane.js'
import { makePeriod, type Period } from '../evidence/fixtures/period.js'

let period: Period

t.before(async () => { period = await makePeriod(t) })

/** What the control plane received, read independently of the replay: decision events, each once. */
function received (): Array<Record<string, any>> {
  const seen = new Set<string>()
  const out: Array<Record<string, any>> = []
  for (const f of readdirSync(period.exports).sort()) {
    for (const e of JSON.parse(gunzipSync(readFileSync(join(period.exports, f))).toString('utf8')) as Array<Record<string, any>>) {
      const key = `${e.labels.id}/${e.seq}`
      if (e.drop !== undefined || seen.has(key)) continue
      seen.add(key)
      out.push(e)
    }
  }
  return out
}

t.test('drops, a restart and two chains: incomplete; each delivered decision replayed once', async (t) => {
  const dir = tempDir(t)
  writeFileSync(join(dir, 'allow-all.rego'), 'package bouncer\n\ndecision := true\n')
  const progress: Array<{ bytesRead: number; bytesTotal: number; records: number }> = []
  const r = await replay({ logs: [period.exports], policy: join(dir, 'allow-all.rego'), onProgress: (p) => { progress.push(p) } })
  const total = readdirSync(period.exports).reduce((n, f) => n + readFileSync(join(period.exports, f)).length, 0)
  t.same(progress.at(-1), { bytesRead: total, bytesTotal: total, records: r.log.records }, 'progress ends at every byte and record')
  t.ok(progress.length > 1 && progress.every((p, i) => i === 0 || p.bytesRead >= progress[i - 1]!.bytesRead), 'and grows as the files are read')
  const events = received()
  t.equal(r.integrity.complete, false)
  t.match(r.integrity.statement, /INCOMPLETE record: .*drop marker\(s\): decisions the logger dropped and declared/)
  t.ok(r.integrity.findings.some((f) => f.kind === 'drop' && f.severity === 'loss'), 'the drop markers are listed')
  t.equal(r.totals.evaluated, events.length, 'every delivered decision, once')
  t.equal(r.totals.evaluated + period.dropped, period.recorded, 'replayed + dropped = recorded')
  // An allow-everything candidate: every recorded denial and fail-closed decision flips, every
  // masked response loses its mask.
  const failed = events.filter((e) => e.error !== undefined)
  const denied = events.filter((e) => e.error === undefined && e.result.allow === false)
  const masked = events.filter((e) => e.error === undefined && e.result.allow === true && Array.isArray(e.result.mask))
  t.ok(failed.length > 0 && denied.length > 0 && masked.length > 0, 'the period has each kind')
  const g = (k: string) => r.changes.find((x) => x.kind === k)!
  t.equal(g('deny-to-allow').count, denied.length + failed.length)
  t.equal(g('from-error').count, failed.length)
  t.same(g('from-error').examples.map((e) => e.decision_id), failed.slice(0, 5).map((e) => e.decision_id))
  t.equal(g('mask').count, masked.length)
  t.equal(r.totals.changed, denied.length + failed.length + masked.length)
  t.equal(r.totals.input_incomplete, 0, 'the policy reads nothing the logger erased')
  t.equal(r.totals.erased_not_read, events.filter((e) => Array.isArray(e.erased)).length)

  const c = { out: '', err: '' }
  const io = { stdout: (s: string) => { c.out += s }, stderr: (s: string) => { c.err += s } }
  t.equal(await main(['--log', period.exports, '--policy', join(dir, 'allow-all.rego'), '--fail-on', 'incomplete-record'], io), 1)
  t.match(c.out, /\[loss\] drop: /)
  t.match(c.err, /--fail-on matched: incomplete-record/)
})
