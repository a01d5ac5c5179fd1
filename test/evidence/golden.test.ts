// The report over a fixed period is the one recorded in fixtures/golden/report.json, so a change
// made to read the logs faster cannot change what the report says. The logs (fixtures/golden,
// written once by make.ts from the real DecisionLogger and committed) hold a spool with a drop
// marker and a torn tail, JSON lines, gzip'd and pretty-printed upload bodies, an edited record,
// records re-serialised out of canonical form, a missing and a repeated record, a restart, lines
// out of order, escapes and non-ASCII text, non-integer numbers and surviving credentials.
// After an intended change of the report: BOUNCER_UPDATE_GOLDEN=1, and review the diff.
import { readFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { buildEvidence, reportDigest, type EvidenceOptions, type EvidenceReport } from '../../src/evidence/index.js'
import { readerStats } from '../../src/evidence/parallel.js'

const dir = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'golden')
const golden = join(dir, 'report.json')
const update = process.env.BOUNCER_UPDATE_GOLDEN === '1'
const T0 = Date.UTC(2025, 2, 3)
const DAY = 86_400_000

/** The report as data that does not depend on where the fixture lies or on Bouncer's version. */
async function report (opts: Omit<EvidenceOptions, 'logs' | 'now'>): Promise<unknown> {
  const r: EvidenceReport = await buildEvidence({ logs: [join(dir, 'spool'), join(dir, 'exports')], now: () => new Date(Date.UTC(2025, 3, 1)), ...opts })
  t.equal(r.digest?.value, reportDigest(r), 'the digest recomputes')
  const { digest: _d, generator: _g, ...rest } = r
  return JSON.parse(JSON.stringify(rest).split(JSON.stringify(dir).slice(1, -1)).join('<golden>'))
}

t.test('the report over the golden period is unchanged, read on this thread or on a second one', async (t) => {
  const bounded = { from: T0 + 2 * DAY, to: T0 + 6 * DAY, subjectClaim: 'team', routeDepth: 3, top: 5, quietHours: 3 }
  const now = { full: await report({ parallel: false }), bounded: await report({ ...bounded, parallel: false }) }
  if (update) writeFileSync(golden, JSON.stringify(now, null, 2) + '\n')
  const want = JSON.parse(readFileSync(golden, 'utf8')) as typeof now
  t.same(now.full, want.full, 'the whole period')
  t.same(now.bounded, want.bounded, '--from/--to, another claim, deeper routes')
  const before = { ...readerStats }
  t.same(await report({ parallel: true }), want.full, 'the whole period, read on a second thread')
  t.same(await report({ ...bounded, parallel: true }), want.bounded, '--from/--to, read on a second thread')
  t.equal(readerStats.inWorker - before.inWorker, 2 * 11, 'every file was read by the worker, twice')
  t.equal(readerStats.fallback, before.fallback, 'none was read here instead')
  // The fixture shows what it is meant to: if make.ts is changed, these say whether it still does.
  const full = now.full as EvidenceReport
  const kinds = new Set(full.integrity.findings.map((f) => f.kind))
  for (const k of ['edit', 'gap', 'drop', 'restart', 'torn_tail', 'reorder', 'version', 'malformed', 'new_chain'] as const) t.ok(kinds.has(k), `a ${k} finding`)
  t.ok(full.integrity.duplicates_skipped > 0, 'a repeated record')
  t.ok(full.privacy.events_with_credentials > 0, 'credentials found')
  t.ok(full.access.outcomes.masked > 0 && full.access.outcomes.fail_closed > 0 && full.access.outcomes.deny > 0, 'every outcome')
  t.equal(full.changes.revisions.length, 3)
})
