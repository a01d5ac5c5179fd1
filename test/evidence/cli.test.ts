// bouncer evidence from the command line: files written with their SHA-256, exit status, usage
// errors; the built CLI (bin/bouncer.js) end to end; the HTML report opened in headless
// Chromium (Debian's chromium package) and its screenshot checked to show the charts.
import { spawnSync } from 'node:child_process'
import { hash } from 'node:crypto'
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { main } from '../../src/cli/evidence.js'
import { renderHtml, type EvidenceReport } from '../../src/evidence/index.js'
import { tempDir } from '../decision-log/fixtures/control-plane.js'
import { DAY, makePeriod, type Period } from './fixtures/period.js'
import { countColor, readPng } from './fixtures/png.js'

const root = fileURLToPath(new URL('../..', import.meta.url))
let period: Period

t.before(async () => { period = await makePeriod(t) })

function capture (): { io: { stdout: (s: string) => void; stderr: (s: string) => void }; out: string[]; err: string[] } {
  const out: string[] = []
  const err: string[] = []
  return { io: { stdout: (s) => { out.push(s) }, stderr: (s) => { err.push(s) } }, out, err }
}
const day = (n: number): string => new Date(period.t0 + n * DAY).toISOString().slice(0, 10)

t.test('writes each format with a .sha256 beside it; exit 1 when the record is incomplete', async (t) => {
  const dir = tempDir(t)
  const c = capture()
  const code = await main(['--log', period.exports, '--out', dir, '--format', 'html', '--format', 'md', '--format', 'json', '--bundle', period.bundleR2], c.io)
  t.equal(code, 1, 'drops and a credential: exit 1')
  t.same(c.err, [])
  const files = readdirSync(dir).sort()
  const base = `evidence-${day(0)}_${day(5)}`
  t.same(files, [`${base}.html`, `${base}.html.sha256`, `${base}.json`, `${base}.json.sha256`, `${base}.md`, `${base}.md.sha256`])
  for (const f of files.filter((x) => !x.endsWith('.sha256'))) {
    const sha = hash('sha256', readFileSync(join(dir, f)), 'hex')
    t.equal(readFileSync(join(dir, f + '.sha256'), 'utf8'), `${sha}  ${f}\n`, `${f}: sha256sum format`)
    t.match(c.out.join(''), new RegExp(`wrote .*${f.replace(/\./g, '\\.')} \\(sha256 ${sha}\\)`))
  }
  t.match(c.out.join(''), /the record is NOT complete; credentials found in \d+ events/)
  const json = JSON.parse(readFileSync(join(dir, `${base}.json`), 'utf8')) as EvidenceReport
  t.equal(json.changes.revisions.find((r) => r.revision === 'r2')?.signing_key_id, 'ci-2024')
  const md = readFileSync(join(dir, `${base}.md`), 'utf8')
  t.match(md, /^# Decision-log evidence: /)
  for (const h of ['## Integrity', '## Access control operated', '## Who accessed what', '## Change management', '## Privacy']) t.match(md, h)
})

t.test('a complete period without credentials: exit 0; --out - prints one format', async (t) => {
  const c = capture()
  const code = await main(['--log', period.exports, '--from', day(0), '--to', day(1), '--out', '-', '--format', 'md'], c.io)
  t.equal(code, 0)
  t.match(c.out.join(''), /\*\*Complete\*\*/)
  t.match(c.err.join(''), /the record is complete; no credentials in the logged inputs/)
})

t.test('usage errors and bad input exit 2 with a precise message', async (t) => {
  const cases: Array<[string[], RegExp]> = [
    [[], /--log is required/],
    [['--log', period.exports, '--format', 'pdf'], /invalid value "pdf" for --format: want one of html, md, json/],
    [['--log', period.exports, '--from', 'last tuesday'], /--from: "last tuesday" is not a date/],
    [['--log', period.exports, '--from', '2025-02-30'], /not a valid date/],
    [['--log', period.exports, '--top', '0'], /--top must be a positive integer/],
    [['--log', period.exports, '--out', '-', '--format', 'md', '--format', 'json'], /--out - prints one format/],
    [['--lgo', period.exports], /unknown flag: --lgo \(did you mean --log\?\)/],
    [['--log', join(period.dir, 'nope')], /cannot read decision log .*nope: no such file or directory/],
    [['--log', period.exports, '--from', '2001-01-01', '--to', '2001-02-01', '--out', '-'], /no decisions to report: .* none falls between 2001-01-01T00:00:00\.000Z and 2001-02-02T00:00:00\.000Z/],
  ]
  for (const [argv, message] of cases) {
    const c = capture()
    t.equal(await main(argv, c.io), 2, argv.join(' '))
    t.match(c.err.join(''), message, argv.join(' '))
  }
  const notLog = join(tempDir(t), 'x.json')
  writeFileSync(notLog, '{"hello":"world"}\n')
  const c = capture()
  t.equal(await main(['--log', notLog], c.io), 2)
  t.match(c.err.join(''), /x\.json is not a decision log: no decision-log record in 1 file\(s\) \(first problem: x\.json:1: /)
  const h = capture()
  t.equal(await main(['--help'], h.io), 0)
  t.match(h.out.join(''), /^usage: bouncer evidence --log PATH/)
})

const noDist = !existsSync(join(root, 'dist/cli/evidence.js')) ? 'dist/ not built (run without BOUNCER_TEST_SKIP_BUILD)' : false
t.test('the built CLI: bouncer evidence is listed and runs', { skip: noDist }, async (t) => {
  const bin = join(root, 'bin/bouncer.js')
  const help = spawnSync(process.execPath, [bin, '--help'], { encoding: 'utf8' })
  t.match(help.stdout, /\n {2}evidence +write an audit evidence report/)
  const dir = tempDir(t)
  const r = spawnSync(process.execPath, [bin, 'evidence', '--log', period.exports, '--out', dir, '--format', 'json'], { encoding: 'utf8' })
  t.equal(r.status, 1, r.stderr)
  t.match(r.stdout, /wrote .*evidence-.*\.json/)
  // --parallel: the reading thread runs from dist/ too, and the report is the same
  const dir2 = tempDir(t)
  const p = spawnSync(process.execPath, [bin, 'evidence', '--log', period.exports, '--out', dir2, '--format', 'json', '--parallel'], { encoding: 'utf8' })
  t.equal(p.status, 1, p.stderr)
  const data = (d: string): unknown => {
    const { generated_at: _g, digest: _d, ...rest } = JSON.parse(readFileSync(join(d, readdirSync(d).find((f) => f.endsWith('.json'))!), 'utf8')) as EvidenceReport
    return rest
  }
  t.same(data(dir2), data(dir), '--parallel writes the same report')
})

const chromium = ['chromium', 'chromium-browser'].find((c) => spawnSync('sh', ['-c', `command -v ${c}`]).status === 0)
t.test('the HTML report in headless Chromium shows the charts', { skip: chromium === undefined ? 'no chromium on this machine (Debian: apt-get install chromium)' : false }, async (t) => {
  const dir = tempDir(t)
  const { buildEvidence } = await import('../../src/evidence/index.js')
  const report = await buildEvidence({ logs: [period.exports] })
  const html = join(dir, 'report.html')
  writeFileSync(html, renderHtml(report))
  t.notMatch(readFileSync(html, 'utf8'), /<script(?! type="application\/json")|<link |src="http|href="http/, 'nothing to run or fetch')
  const png = join(dir, 'shot.png')
  const r = spawnSync(chromium!, ['--headless', '--no-sandbox', '--disable-gpu', '--hide-scrollbars', '--force-device-scale-factor=1',
    `--user-data-dir=${join(dir, 'profile')}`, '--window-size=1024,2600', `--screenshot=${png}`, `file://${html}`], { encoding: 'utf8', timeout: 60_000 })
  t.equal(r.status, 0, r.stderr.slice(-500))
  const img = readPng(readFileSync(png))
  t.equal(img.width, 1024)
  const allow = countColor(img, '#2e7d32')
  const deny = countColor(img, '#ef6c00')
  const failed = countColor(img, '#c62828')
  const verdict = countColor(img, '#ffebee', 2)
  t.ok(allow > 20_000, `allow bars drawn (${allow} px)`)
  t.ok(deny > 1000, `deny bars drawn (${deny} px)`)
  t.ok(failed > 200, `fail-closed bars and finding marks drawn (${failed} px)`)
  t.ok(verdict > 20_000, `the NOT COMPLETE banner is shown (${verdict} px)`)
  t.ok(countColor(img, '#3949ab', 40) > 50, 'revision change lines drawn')
})
