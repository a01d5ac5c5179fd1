// bouncer evidence --log PATH [--log PATH...] [--from T] [--to T] [--out DIR|-] [--format html|md|json]...
// An auditor's report over a period of decision logs (src/evidence). Exit status: 0 the record
// is complete and no credential was found, 1 the report was written and says otherwise,
// 2 usage error or input that is not a readable decision log.
import { writeFile } from 'node:fs/promises'
import { mkdirSync } from 'node:fs'
import { hash } from 'node:crypto'
import { join } from 'node:path'
import { isBouncerError } from '../errors.js'
import { buildEvidence, parseBound, renderEvidence, type EvidenceFormat, type Progress } from '../evidence/index.js'
import { bool, type CliIo, type CommandSpec, EXIT_ERROR, EXIT_FAILURE, EXIT_OK, parseOrExit, processIo, str, strs, usageError } from './args.js'

export const spec: CommandSpec = {
  name: 'evidence',
  summary: 'Write an audit evidence report (integrity, access, subjects, changes, privacy) from decision logs.',
  usage: '--log PATH [--from T] [--to T] [--out DIR] [--format html|md|json] [flags]',
  description: 'PATH is a spool directory, an export file (JSON lines, JSON arrays, gzip\'d upload bodies) or a\n' +
    'directory of exports. T is a date (2024-01-31, UTC; as --to, the end of that day) or an RFC 3339\n' +
    'time. The report is written to DIR as evidence-<from>_<to>.<format>, with a .sha256 file beside it;\n' +
    '--out - prints one format on stdout.\n' +
    'Exit status: 0 the record is complete and no credential was found in it, 1 the report was\n' +
    'written and says otherwise, 2 usage error or unreadable input.',
  flags: {
    log: { type: 'string', multiple: true, arg: 'PATH', help: 'decision log to read (required)' },
    from: { type: 'string', arg: 'T', help: 'period start (default: the first decision)' },
    to: { type: 'string', arg: 'T', help: 'period end, exclusive (default: after the last decision)' },
    out: { type: 'string', arg: 'DIR', help: 'directory for the report, or - for stdout', default: '.' },
    format: { type: 'string', multiple: true, arg: 'FORMAT', help: 'report format', choices: ['html', 'md', 'json'], default: 'html' },
    'subject-claim': { type: 'string', arg: 'CLAIM', help: 'claim of input.identity naming the subject (dotted for nested)', default: 'sub' },
    top: { type: 'string', arg: 'N', help: 'route patterns listed', default: '20' },
    'route-depth': { type: 'string', arg: 'N', help: 'parsed_path segments in a route pattern', default: '2' },
    'quiet-hours': { type: 'string', arg: 'N', help: 'list stretches of at least N hours without decisions', default: '1' },
    bundle: { type: 'string', multiple: true, arg: 'FILE', help: 'bundle archive to read a revision\'s signing key id from' },
    parallel: { type: 'boolean', help: 'read and hash on a second thread (the same report; may be faster where a core is idle)' },
  },
  positionals: { min: 0, max: 0 },
}

const EXT: Record<EvidenceFormat, string> = { html: 'html', md: 'md', json: 'json' }

function positiveInt (v: string | undefined, name: string): number | string {
  const n = Number(v)
  return Number.isInteger(n) && n > 0 ? n : `--${name} must be a positive integer, got ${JSON.stringify(v)}`
}

export async function main (argv: string[], io: CliIo = processIo): Promise<number> {
  const a = parseOrExit(spec, argv, io)
  if (typeof a === 'number') return a
  const logs = strs(a.values, 'log')
  if (logs.length === 0) return usageError(spec, '--log is required', io)
  const formats = [...new Set(strs(a.values, 'format'))] as EvidenceFormat[]
  const out = str(a.values, 'out') ?? '.'
  if (out === '-' && formats.length > 1) return usageError(spec, '--out - prints one format; give --format once', io)
  const nums: Record<string, number> = {}
  for (const name of ['top', 'route-depth', 'quiet-hours']) {
    const n = positiveInt(str(a.values, name), name)
    if (typeof n === 'string') return usageError(spec, n, io)
    nums[name] = n
  }
  let from: number | null = null
  let to: number | null = null
  try {
    const f = str(a.values, 'from')
    const t = str(a.values, 'to')
    if (f !== undefined) from = parseBound(f, 'from')
    if (t !== undefined) to = parseBound(t, 'to')
  } catch (e) {
    return usageError(spec, (e as Error).message, io)
  }

  const progress = io === processIo && process.stderr.isTTY === true ? progressBar() : undefined
  let report
  try {
    report = await buildEvidence({
      logs, from, to,
      subjectClaim: str(a.values, 'subject-claim') ?? 'sub',
      top: nums.top, routeDepth: nums['route-depth'], quietHours: nums['quiet-hours'],
      bundles: strs(a.values, 'bundle'),
      parallel: bool(a.values, 'parallel'),
      ...(progress !== undefined ? { onProgress: progress.update } : {}),
    })
  } catch (e) {
    progress?.done()
    if (isBouncerError(e)) {
      io.stderr(`bouncer evidence: ${e.message}\n`)
      return EXIT_ERROR
    }
    throw e
  }
  progress?.done()

  const bad = !report.integrity.complete || report.privacy.events_with_credentials > 0
  const summary = `${report.summary.decisions} decisions from ${report.period.from} to ${report.period.to}; ` +
    `${report.integrity.complete ? 'the record is complete' : 'the record is NOT complete'}; ` +
    `${report.privacy.events_with_credentials === 0 ? 'no credentials in the logged inputs or results' : `credentials found in ${report.privacy.events_with_credentials} events`}\n`
  if (out === '-') {
    io.stdout(renderEvidence(report, formats[0]!))
    io.stderr(`bouncer evidence: ${summary}`)
    return bad ? EXIT_FAILURE : EXIT_OK
  }
  try {
    mkdirSync(out, { recursive: true })
    const lastDay = new Date(Date.parse(report.period.to) - 1).toISOString().slice(0, 10)
    const base = `evidence-${report.period.from.slice(0, 10)}_${lastDay}`
    const lines: string[] = []
    for (const format of formats) {
      const name = `${base}.${EXT[format]}`
      const text = renderEvidence(report, format)
      const sha = hash('sha256', text, 'hex')
      await writeFile(join(out, name), text)
      await writeFile(join(out, name + '.sha256'), `${sha}  ${name}\n`)
      lines.push(`wrote ${join(out, name)} (sha256 ${sha})`)
    }
    io.stdout(`${summary}${lines.join('\n')}\nreport digest (canonical JSON): ${report.digest?.value}\n`)
  } catch (e) {
    io.stderr(`bouncer evidence: cannot write the report to ${out}: ${(e as Error).message}\n`)
    return EXIT_ERROR
  }
  return bad ? EXIT_FAILURE : EXIT_OK
}

/** A one-line progress bar on stderr (only when stderr is a terminal). */
function progressBar (): { update: (p: Progress) => void; done: () => void } {
  let last = 0
  const started = Date.now()
  let shown = false
  return {
    update (p) {
      const now = Date.now()
      if (now - last < 100) return
      last = now
      const frac = p.bytesTotal > 0 ? Math.min(1, p.bytesRead / p.bytesTotal) : 0
      const width = 30
      const bar = '#'.repeat(Math.round(frac * width)).padEnd(width, '.')
      const rate = Math.round(p.records / Math.max(0.001, (now - started) / 1000))
      process.stderr.write(`\r[${bar}] ${(frac * 100).toFixed(0).padStart(3)}%  ${p.records} records  ${rate}/s  file ${p.filesDone + 1}/${p.filesTotal}   `)
      shown = true
    },
    done () { if (shown) process.stderr.write('\r' + ' '.repeat(100) + '\r') },
  }
}
