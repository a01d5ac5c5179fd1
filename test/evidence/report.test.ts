// bouncer evidence over a generated period (fixtures/period.ts: the real DecisionLogger, a real
// control plane, its uploads saved as gzip'd JSON arrays): every section, and every revision,
// restart, drop and tampered record reported.
import { cpSync, readdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { gunzipSync, gzipSync } from 'node:zlib'
import t, { type Test } from 'tap'
import { canonicalJson, GENESIS_HASH, sealEvent } from '../../src/decision-log/index.js'
import { hash } from 'node:crypto'
import { buildEvidence, renderHtml, renderMarkdown, reportDigest, type EvidenceReport } from '../../src/evidence/index.js'
import { tempDir } from '../decision-log/fixtures/control-plane.js'
import { DAY, makePeriod, type Period } from './fixtures/period.js'

let period: Period & { attempts: number }
let full: EvidenceReport

t.before(async () => {
  period = await makePeriod(t)
  full = await buildEvidence({ logs: [period.exports], bundles: [period.bundleR2], now: () => new Date('2030-01-01T00:00:00Z') })
})

t.test('integrity: drops, the restart with a new version and the new chain are named; the record is not complete', async (t) => {
  if (period.attempts > 1) t.comment(`period generated ${period.attempts} times (the logger skipped a segment: see fixtures/period.ts)`)
  const i = full.integrity
  t.equal(i.complete, false)
  t.match(i.statement, /NOT complete/)
  t.equal(i.chains.length, 2, 'pod A and pod B')
  t.ok(i.chains.every((c) => c.starts_at_genesis), 'both chains start at seq 1')
  const drops = i.findings.filter((f) => f.kind === 'drop')
  t.ok(drops.length > 0, 'drop markers reported')
  t.equal(drops.reduce((n, f) => n + (f.count ?? 0), 0), period.dropped, 'the markers declare exactly what the logger dropped')
  t.equal(i.decisions_dropped, period.dropped)
  t.match(i.reasons.join('\n'), new RegExp(`${period.dropped} decision\\(s\\) were dropped`))
  t.ok(drops.every((f) => f.between?.[0] !== null && f.between?.[1] !== null && f.in_period === true), 'each drop is placed between the records around the gap')
  const version = i.findings.filter((f) => f.kind === 'version')
  t.equal(version.length, 1, 'the restart that kept the spool shows as a version change')
  t.match(version[0]!.message, /0\.1\.0 to 0\.2\.0-next/)
  const newChain = i.findings.filter((f) => f.kind === 'new_chain')
  t.equal(newChain.length, 1, 'pod B is a new chain')
  t.equal(newChain[0]!.chain, i.chains[1]!.id)
  t.same(i.findings.filter((f) => f.severity === 'break'), [], 'no break in the untouched uploads')
  t.equal(full.summary.decisions + period.dropped, period.recorded, 'reported + dropped = recorded')
  // the report ties itself to the logs
  for (const c of i.chains) {
    t.match(c.first.hash, /^[0-9a-f]{64}$/)
    t.match(c.last.hash, /^[0-9a-f]{64}$/)
  }
})

t.test('access control operated: outcomes, days, routes, quiet day', async (t) => {
  const a = full.access
  const masked = period.log.filter((e) => e.outcome === 'masked').length
  const failed = period.log.filter((e) => e.outcome === 'fail_closed').length
  t.equal(a.outcomes.masked, masked)
  t.equal(a.outcomes.fail_closed, failed)
  t.same(a.fail_closed_by_reason, [{ reason: 'eval_timeout', count: failed }])
  t.equal(a.outcomes.total, full.summary.decisions)
  t.equal(a.by_day.length, 6)
  const quietDay = new Date(period.t0 + 2 * DAY).toISOString().slice(0, 10)
  t.equal(a.by_day.find((d) => d.day === quietDay)?.total, 0, 'day 2 has no decisions')
  t.ok(a.quiet.some((q) => q.hours >= 24 && q.from.startsWith(quietDay)), 'and is listed as a quiet stretch')
  t.match(a.statement, /without any decision, including 1 whole day/)
  t.same(a.routes.map((r) => r.route).sort(), ['GET /v1/accounts/*', 'POST /v1/payments/*'], 'ids in paths are folded into patterns')
  t.equal(a.routes.reduce((n, r) => n + r.total, 0), a.outcomes.total)
})

t.test('who accessed what', async (t) => {
  const s = full.subjects
  t.same(s.list.map((x) => x.subject), ['alice', 'bob', 'carol', 'dave'])
  const carol = s.list.find((x) => x.subject === 'carol')!
  t.ok(carol.denied > 0 && carol.allowed > 0)
  t.ok(carol.routes.some((r) => r.route === 'GET /v1/accounts/*' && r.denied > 0))
  t.equal(s.list.reduce((n, x) => n + x.allowed + x.denied, 0), full.summary.decisions)
  const dave = s.list.find((x) => x.subject === 'dave')!
  t.ok(dave.first_seen >= new Date(period.t0 + 5 * DAY).toISOString())
  t.same(s.new, [], 'no log before the period: nothing to compare with')
  t.match(s.statement, /cannot be told from known ones/)

  // From day 3 on, compared with days 0-2: dave is new, the others are known.
  const later = await buildEvidence({ logs: [period.exports], from: period.t0 + 3 * DAY })
  t.same(later.subjects.new, ['dave'])
  t.equal(later.subjects.list.find((x) => x.subject === 'dave')?.new, true)
  t.equal(later.subjects.list.find((x) => x.subject === 'alice')?.new, false)
})

t.test('change management: every revision, first/last decision, key id from the bundle archive', async (t) => {
  const c = full.changes
  t.same(c.revisions.map((r) => r.revision), ['r1', 'r2', 'r3'])
  const r2 = c.revisions.find((r) => r.revision === 'r2')!
  t.equal(r2.signing_key_id, 'ci-2024')
  t.equal(r2.key_id_source, 'bundle archive')
  t.equal(c.revisions.find((r) => r.revision === 'r1')!.signing_key_id, null)
  t.equal(c.revisions.reduce((n, r) => n + r.decisions, 0), full.summary.decisions)
  t.ok(c.revisions[0]!.first_decision < c.revisions[1]!.first_decision)
  t.same(c.changes.map((x) => `${x.from}->${x.to}`), ['r1->r2', 'r2->r3'])
  t.equal(c.revisions.find((r) => r.revision === 'r3')!.chains, 2, 'r3 decided on both pods')
  t.same(full.series.revision_marks.map((m) => m.revision), ['r1', 'r2', 'r3'])
})

t.test('privacy: masked responses by route and rule; the surviving x-api-key is found, erased credentials are not', async (t) => {
  const p = full.privacy
  const masked = period.log.filter((e) => e.outcome === 'masked').length
  t.equal(p.masked_responses, masked)
  t.ok(p.masked_by_route_rule.some((m) => m.rule === 'redact /customers/*/ssn'))
  t.ok(p.masked_by_route_rule.some((m) => m.rule === 'last4 /customers/*/card'))
  const withKey = period.log.filter((e) => e.apiKey).length
  t.ok(withKey > 0)
  t.equal(p.events_with_credentials, withKey, 'every event with the x-api-key header, none else')
  t.same(p.credentials_by_kind, [{ kind: 'x-api-key header', location: '/input/attributes/request/http/headers/x-api-key', count: withKey }])
  t.ok(p.credential_findings.every((f) => f.chain === full.integrity.chains[1]!.id && /upload-\d+\.json\.gz:1 \(element \d+\)/.test(f.at)))
  t.match(p.statement, /CREDENTIALS FOUND/)
  t.ok(p.log_erasure.some((e) => e.pointer === 'erased /input/attributes/request/http/headers/authorization'), 'authorization was erased by the logger')
  t.ok(p.log_erasure.some((e) => e.pointer === 'erased /input/attributes/request/http/headers/cookie'))
  for (const out of [JSON.stringify(full), renderMarkdown(full), renderHtml(full)]) {
    t.notMatch(out, /sk_live_|SECRET-TOKEN|SECRET-COOKIE/, 'no credential value is copied into the report')
  }
})

t.test('a period without losses is complete; the digest recomputes', async (t) => {
  const r = await buildEvidence({ logs: [period.exports], from: period.t0, to: period.t0 + 3 * DAY })
  t.equal(r.integrity.complete, true)
  t.match(r.integrity.statement, /^The record is complete for the period/)
  t.same(r.integrity.reasons, [])
  t.equal(r.privacy.events_with_credentials, 0)
  t.match(r.privacy.statement, /^No credential header, cookie or token was found/)
  t.same(r.changes.revisions.map((x) => x.revision), ['r1', 'r2'])
  t.equal(r.digest?.value, reportDigest(r))
  const { digest, ...rest } = r
  t.equal(digest?.value, hash('sha256', canonicalJson(rest), 'hex'), 'sha256 of the canonical JSON without digest')
  // the copy embedded in the HTML gives the same digest
  const html = renderHtml(r)
  const embedded = JSON.parse(/<script type="application\/json" id="evidence-data">(.*?)<\/script>/s.exec(html)![1]!) as EvidenceReport
  t.equal(reportDigest(embedded), r.digest?.value)
})

function copyExports (t: Test): string {
  const dir = join(tempDir(t), 'exports')
  cpSync(period.exports, dir, { recursive: true })
  return dir
}

t.test('a tampered copy: an edited record, a removed upload and a truncated file are each named with file and line', async (t) => {
  const dir = copyExports(t)
  const files = readdirSync(dir).sort()
  // edit one decision inside the third upload (model of someone changing a deny into an allow)
  const f3 = join(dir, files[2]!)
  const arr = JSON.parse(gunzipSync(readFileSync(f3)).toString()) as Array<Record<string, any>>
  const victim = arr.findIndex((e) => e.result?.allow === false)
  const target = victim >= 0 ? victim : 1
  arr[target]!.result = { allow: true }
  writeFileSync(f3, gzipSync(JSON.stringify(arr)))
  // remove the fifth upload
  const removed = JSON.parse(gunzipSync(readFileSync(join(dir, files[4]!))).toString()) as Array<{ seq: number }>
  unlinkSync(join(dir, files[4]!))
  // truncate the sixth (a partial copy)
  const f6 = join(dir, files[5]!)
  const gz = readFileSync(f6)
  writeFileSync(f6, gz.subarray(0, Math.floor(gz.length / 2)))

  const r = await buildEvidence({ logs: [dir] })
  const f = r.integrity.findings
  const edit = f.filter((x) => x.kind === 'edit')
  t.equal(edit.length, 1, 'the edit')
  t.equal(edit[0]!.at, `${files[2]}:1 (element ${target + 1})`)
  t.equal(edit[0]!.seq, arr[target]!.seq)
  const gaps = f.filter((x) => x.kind === 'gap')
  t.ok(gaps.some((g) => g.seq! <= removed[0]!.seq && (g.to_seq ?? g.seq!) >= removed[removed.length - 1]!.seq), 'the removed upload is a gap')
  t.ok(f.some((x) => x.kind === 'malformed' && x.at.startsWith(files[5]!) && /truncated or corrupt/.test(x.message)), 'the truncated file')
  t.equal(r.integrity.complete, false)
  t.match(r.integrity.statement, /1 record\(s\) were edited/)
  t.match(r.integrity.statement, /missing in \d+ gap\(s\) that no drop marker declares/)
  t.match(r.integrity.statement, /unreadable or truncated/)
  t.equal(r.integrity.edited_records_left_out, 1, 'the edited record is not counted as an allow')
  const md = renderMarkdown(r)
  t.match(md, /\| BREAK \| edit \|/)
  t.match(md, /\| BREAK \| gap \|/)
})

t.test('markdown: request-controlled text cannot become links, images or formatting', async (t) => {
  const r = structuredClone(full)
  const hostile = ['/v1/[Evidence verified, click to sign off](https://evil.example)', '/v1/![x](https://evil.example/p.png)', '/v1/www.evil.example/*bold*_x_', '/v1/<img src=x>|`code`']
  r.access.routes = hostile.map((route) => ({ ...full.access.routes[0]!, route }))
  const md = renderMarkdown(r)
  const rows = md.split('\n').filter((l) => l.includes('evil') || l.includes('img'))
  t.equal(rows.length, 4, 'each hostile route is one table row')
  for (const row of rows) {
    t.notMatch(row, /(^|[^\\])\[[^\]]*[^\\]\]\(/, 'no [text](url) link')
    t.notMatch(row, /(^|[^\\])!\[/, 'no image')
    t.notMatch(row, /https:\/\//, 'no bare URL an autolink would take')
    t.notMatch(row, /(^|[^\\])www\./, 'no www. autolink')
    t.notMatch(row, /(^|[^\\])[*_]/, 'no emphasis')
    t.notMatch(row, /<img/, 'no HTML')
  }
  t.ok(rows[0]!.startsWith('| /v1/\\[Evidence verified, click to sign off\\]\\(https\\://evil.example\\) |'), 'the route is still readable, escaped')
  t.match(md, /Generated .* from `[^`]+`/, 'paths stay code spans')
})

t.test('at-least-once delivery: a batch received twice is counted once', async (t) => {
  const dir = copyExports(t)
  const files = readdirSync(dir).sort()
  cpSync(join(dir, files[1]!), join(dir, files[1]!.replace('.json.gz', '-resent.json.gz')))
  const r = await buildEvidence({ logs: [dir] })
  t.ok(r.integrity.duplicates_skipped > 0)
  t.equal(r.summary.decisions, full.summary.decisions)
  t.same(r.integrity.findings.filter((f) => f.severity === 'break'), [])
})

t.test('uploads read out of order: reported, links still checked, nothing lost', async (t) => {
  const dir = copyExports(t)
  const files = readdirSync(dir).sort()
  // the second upload is read last
  cpSync(join(dir, files[1]!), join(dir, 'zz-late.json.gz'))
  unlinkSync(join(dir, files[1]!))
  const r = await buildEvidence({ logs: [dir] })
  t.ok(r.integrity.findings.some((f) => f.kind === 'reorder' && f.severity === 'note'))
  t.same(r.integrity.findings.filter((f) => f.severity === 'break'), [], 'every late record fills its gap and links')
  t.equal(r.summary.decisions, full.summary.decisions)
})

t.test('the same period as JSON lines and as one pretty-printed array reads the same', async (t) => {
  const dir = tempDir(t)
  const all: unknown[] = []
  for (const f of readdirSync(period.exports).sort()) all.push(...JSON.parse(gunzipSync(readFileSync(join(period.exports, f))).toString()) as unknown[])
  const jsonl = join(dir, 'all.jsonl')
  writeFileSync(jsonl, all.map((e) => JSON.stringify(e)).join('\n') + '\n')
  const pretty = join(dir, 'all.json.gz')
  writeFileSync(pretty, gzipSync(JSON.stringify(all, null, 2)))
  for (const file of [jsonl, pretty]) {
    const r = await buildEvidence({ logs: [file] })
    t.equal(r.integrity.records_checked, full.integrity.records_checked, file)
    t.equal(r.summary.decisions, full.summary.decisions)
    t.same(r.integrity.chains.map((c) => c.last.hash), full.integrity.chains.map((c) => c.last.hash))
  }
})

t.test('an edited record moved out of the period by its own timestamp still makes the period incomplete', async (t) => {
  const dir = copyExports(t)
  const files = readdirSync(dir).sort()
  const f3 = join(dir, files[2]!)
  const arr = JSON.parse(gunzipSync(readFileSync(f3)).toString()) as Array<Record<string, any>>
  const target = arr.findIndex((e) => e.drop === undefined && Date.parse(e.timestamp) >= period.t0 && Date.parse(e.timestamp) < period.t0 + 3 * DAY)
  t.ok(target >= 0, 'a decision inside the period')
  arr[target]!.timestamp = '2019-06-01T00:00:00Z' // not re-hashed: an edit that also moves the date
  arr[target]!.result = { allow: true }
  writeFileSync(f3, gzipSync(JSON.stringify(arr)))
  const r = await buildEvidence({ logs: [dir], from: period.t0, to: period.t0 + 3 * DAY })
  const edit = r.integrity.findings.filter((x) => x.kind === 'edit')
  t.equal(edit.length, 1)
  t.equal(edit[0]!.in_period, true, 'dated by the verified records around it, not by the timestamp the edit wrote')
  t.equal(r.integrity.complete, false)
  t.match(r.integrity.statement, /1 record\(s\) were edited/)
})

t.test('a gap is never pushed out of the verdict by a flood of notes (10,000+ records read out of order)', async (t) => {
  // Sealed directly (sealEvent): three files read in name order — a: seq 1..100, b: the last
  // 100, c: everything between, less seq 5000. c fills b's gap with 10,099 reorder notes; the
  // one record missing is found at the end.
  const dir = join(tempDir(t), 'flood')
  const { mkdirSync } = await import('node:fs')
  mkdirSync(dir)
  const N = 10_300
  const lines: string[] = []
  let prev = GENESIS_HASH
  for (let seq = 1; seq <= N; seq++) {
    const e = sealEvent({ decision_id: `d${seq}`, timestamp: new Date(Date.UTC(2025, 1, 1) + seq * 60_000).toISOString(), labels: { id: 'pod-a' }, path: 'bouncer/decision', result: { allow: true } }, seq, prev)
    lines.push(e.line)
    prev = e.hash
  }
  writeFileSync(join(dir, 'a.jsonl'), lines.slice(0, 100).join('\n') + '\n')
  writeFileSync(join(dir, 'b.jsonl'), lines.slice(N - 100).join('\n') + '\n')
  writeFileSync(join(dir, 'c.jsonl'), lines.slice(100, N - 100).filter((_, i) => i + 101 !== 5000).join('\n') + '\n')
  const r = await buildEvidence({ logs: [dir] })
  t.ok((r.integrity.counts.reorder ?? 0) > 10_000, 'more notes than the listing holds')
  t.ok(r.integrity.findings.some((f) => f.kind === 'gap' && f.seq === 5000), 'the gap is listed')
  t.equal(r.integrity.complete, false)
  t.match(r.integrity.statement, /1 record\(s\) are missing/)
})
