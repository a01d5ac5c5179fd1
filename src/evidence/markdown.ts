// The evidence report as Markdown, for pasting into a ticket. Same data as the JSON; long
// lists are cut to what a ticket can hold, with a line saying where the rest is.
import type { EvidenceReport, OutcomeCounts } from './report.js'

/**
 * A table cell: no pipes, newlines, HTML or Markdown from the log text. Paths and subjects come
 * from requests: `/v1/[sign off](https://evil.example)` must not become a link (nor `![x](...)`
 * a remote image) in the ticket it is pasted into, so Markdown punctuation is escaped and
 * autolinks (`scheme://`, `www.`) are broken by an escape GitHub and CommonMark honour.
 */
function cell (v: unknown): string {
  return String(v)
    .replace(/\\/g, '\\\\')
    .replace(/[|[\]()!*_~#{}>+]/g, '\\$&')
    .replace(/:\/\//g, '\\://')
    .replace(/\b(www)\./gi, '$1\\.')
    .replace(/[\r\n]+/g, ' ')
    .replace(/</g, '&lt;')
    .replace(/`/g, "'")
}

/** A code span: nothing inside is Markdown, so only what would end it (a backtick, a line break) goes. */
function code (v: unknown): string {
  return '`' + String(v).replace(/`/g, "'").replace(/[\r\n]+/g, ' ') + '`'
}

function table (head: string[], rows: unknown[][]): string {
  if (rows.length === 0) return '_none_\n'
  return `| ${head.join(' | ')} |\n| ${head.map(() => '---').join(' | ')} |\n` + rows.map((r) => `| ${r.map(cell).join(' | ')} |`).join('\n') + '\n'
}

const oc = (c: OutcomeCounts): unknown[] => [c.total, c.allow, c.masked, c.deny, c.fail_closed]
const OC_HEAD = ['total', 'allow', 'masked', 'deny', 'fail closed']

export interface MarkdownOptions { /** Rows per list (findings, days, subjects). Default 50. */ maxRows?: number }

export function renderMarkdown (r: EvidenceReport, opts: MarkdownOptions = {}): string {
  const max = opts.maxRows ?? 50
  const more = (n: number, what: string): string => n > max ? `\n_${n - max} more ${what} in the JSON/HTML report._\n` : ''
  const out: string[] = []
  const i = r.integrity
  out.push(`# Decision-log evidence: ${r.period.from} to ${r.period.to}\n`)
  out.push(`**${i.complete ? 'Complete' : 'NOT COMPLETE'}** · ${r.summary.decisions} decisions · ${r.summary.subjects} subjects · ${r.summary.revisions} policy revisions · ` +
    `${r.privacy.events_with_credentials === 0 ? 'no credentials in logged inputs or results' : `**credentials found in ${r.privacy.events_with_credentials} events**`}\n`)
  out.push(`Generated ${r.generated_at} by ${r.generator} from ${r.input.paths.map(code).join(', ')} (${r.input.files.length} file(s)).  `)
  out.push(`Report SHA-256 (canonical JSON without \`digest\`): \`${r.digest?.value ?? ''}\`\n`)

  out.push('## Integrity\n')
  out.push(i.statement + '\n')
  out.push(table(['chain', 'first seq', 'first hash', 'last seq', 'last hash', 'records', 'decisions', 'drop markers'],
    i.chains.map((c) => [c.id || '(no labels.id)', c.first.seq, c.first.hash, c.last.seq, c.last.hash, c.records, c.decisions, c.markers])))
  const shown = i.findings
  if (shown.length > 0) {
    out.push('\n' + table(['', 'kind', 'chain', 'where', 'finding'],
      shown.slice(0, max).map((f) => [f.severity === 'note' ? 'note' : f.in_period === false ? 'outside period' : f.severity.toUpperCase(), f.kind, f.chain ?? '', f.at, f.message])))
    out.push(more(shown.length, 'findings'))
  } else out.push('\nNo findings.\n')

  out.push('\n## Access control operated\n')
  out.push(r.access.statement + '\n')
  out.push(table(OC_HEAD, [oc(r.access.outcomes)]))
  if (r.access.fail_closed_by_reason.length > 0) out.push('\nFail closed by reason: ' + r.access.fail_closed_by_reason.map((x) => `${cell(x.reason)} ${x.count}`).join(', ') + '\n')
  out.push(`\nTop ${r.access.routes.length} of ${r.access.routes_total} route patterns (method and the first ${r.access.route_depth} segments of parsed_path):\n\n`)
  out.push(table(['route', ...OC_HEAD], r.access.routes.map((x) => [x.route, ...oc(x)])))
  out.push('\nPer day (UTC):\n\n')
  const maxDays = Math.max(max, 400)
  out.push(table(['day', ...OC_HEAD], r.access.by_day.slice(0, maxDays).map((d) => [d.day, ...oc(d)])))
  if (r.access.by_day.length > maxDays) out.push(`\n_${r.access.by_day.length - maxDays} more days in the JSON/HTML report._\n`)
  if (r.access.quiet.length > 0) {
    out.push(`\nStretches without decisions (at least ${r.access.quiet_hours_threshold} h):\n\n`)
    out.push(table(['from', 'to', 'hours'], r.access.quiet.slice(0, max).map((q) => [q.from, q.to, q.hours])))
    out.push(more(r.access.quiet.length, 'stretches'))
  }

  out.push('\n## Who accessed what\n')
  out.push(r.subjects.statement + '\n')
  if (r.subjects.new.length > 0) out.push(`\nNew in the period: ${r.subjects.new.slice(0, max).map(code).join(', ')}${r.subjects.new.length > max ? ', ...' : ''}\n`)
  out.push('\n' + table(['subject', 'allowed', 'denied', 'first seen', 'last seen', 'routes (allowed/denied)'],
    r.subjects.list.slice(0, max).map((s) => [s.subject + (s.new ? ' (new)' : ''), s.allowed, s.denied, s.first_seen, s.last_seen,
      s.routes.slice(0, 6).map((x) => `${x.route} ${x.allowed}/${x.denied}`).join('; ') + (s.routes.length > 6 ? '; ...' : '')])))
  out.push(more(r.subjects.list.length, 'subjects'))

  out.push('\n## Change management\n')
  out.push(r.changes.statement + '\n')
  out.push(table(['revision', 'first decision', 'last decision', 'decisions', 'signing key id', 'chains'],
    r.changes.revisions.map((x) => [x.revision, x.first_decision, x.last_decision, x.decisions, x.signing_key_id === null ? 'unknown' : `${x.signing_key_id} (${x.key_id_source})`, x.chains])))
  if (r.changes.changes.length > 0) {
    out.push('\nRevision changes:\n\n')
    out.push(table(['at', 'chain', 'from', 'to'], r.changes.changes.slice(0, max).map((c) => [c.at, c.chain, c.from, c.to])))
    out.push(more(r.changes.changes.length, 'changes'))
  }

  out.push('\n## Privacy\n')
  out.push(r.privacy.statement + '\n')
  if (r.privacy.credential_findings.length > 0) {
    out.push('\n' + table(['chain', 'seq', 'where', 'time', 'location', 'kind'],
      r.privacy.credential_findings.slice(0, max).map((c) => [c.chain, c.seq, c.at, c.timestamp, c.location, c.kind])))
    out.push(more(r.privacy.credential_findings.length, 'credential findings'))
  }
  if (r.privacy.masked_by_route_rule.length > 0) {
    out.push('\nMasked responses by route and rule:\n\n')
    out.push(table(['route', 'rule', 'responses'], r.privacy.masked_by_route_rule.slice(0, max).map((m) => [m.route, m.rule, m.count])))
  }
  if (r.privacy.log_erasure.length > 0) {
    out.push('\nErased or replaced before logging:\n\n')
    out.push(table(['field', 'events'], r.privacy.log_erasure.slice(0, max).map((m) => [m.pointer, m.count])))
  }
  if (r.limits.length > 0) out.push('\n## Limits of this report\n\n' + r.limits.map((l) => `- ${cell(l)}`).join('\n') + '\n')
  return out.join('\n').replace(/\n{3,}/g, '\n\n')
}
