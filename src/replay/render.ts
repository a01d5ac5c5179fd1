// The replay report as text for a terminal (--format table) or as JSON for CI (--format json).
import type { ReplayReport } from './replay.js'
import type { ChangeGroup, Example } from './tally.js'

export type ReplayFormat = 'table' | 'json'

export function renderReplay (r: ReplayReport, format: ReplayFormat): string {
  return format === 'json' ? JSON.stringify(r, null, 2) + '\n' : renderTable(r)
}

function renderTable (r: ReplayReport): string {
  const out: string[] = []
  const base = r.baseline === null ? 'the decisions recorded in the log' : `${r.baseline.source} (revision ${r.baseline.revision})`
  out.push(`Replay of ${r.log.paths.join(', ')} (${r.log.files} file(s), ${r.log.records} chain record(s))`)
  out.push(`candidate: ${r.candidate.source} (revision ${r.candidate.revision}), entrypoint ${r.candidate.entrypoint}`)
  out.push(`baseline:  ${base}`)
  out.push('')
  out.push(`${r.integrity.complete ? 'Integrity: complete.' : 'Integrity: INCOMPLETE.'} ${r.integrity.statement}`)
  for (const f of r.integrity.findings) out.push(`  [${f.severity}] ${f.kind}: ${f.message.startsWith(f.at) ? f.message : `${f.at}: ${f.message}`}`)
  out.push('')
  const t = r.totals
  out.push(`Decisions replayed: ${t.evaluated}`)
  out.push(`  unchanged:          ${t.unchanged}`)
  out.push(`  changed:            ${t.changed}`)
  out.push(`  input incomplete:   ${t.input_incomplete}${t.input_incomplete > 0 ? ` (${r.input_incomplete.changed} changed, ${r.input_incomplete.unchanged} unchanged; counted apart: the logged input lacks fields the policy reads)` : ''}`)
  if (t.erased_not_read > 0) out.push(`  (${t.erased_not_read} of the above had input fields erased or masked that the replayed policies do not read: replayed exactly)`)
  out.push('')
  const changed = r.changes.filter((g) => g.count > 0)
  if (changed.length === 0) out.push('No changed decisions.')
  else {
    out.push('Changed decisions:')
    out.push(groupTable(changed))
    for (const g of changed) out.push(examples(g.title, g.examples))
  }
  if (t.input_incomplete > 0) {
    out.push('')
    out.push('Input incomplete (fields the comparison depends on were erased or masked before the event was stored):')
    for (const f of r.input_incomplete.fields) out.push(`  ${f.pointer}: ${f.events} event(s)`)
    const ic = r.input_incomplete.changes.filter((g) => g.count > 0)
    if (ic.length > 0) {
      out.push(groupTable(ic))
      for (const g of ic) out.push(examples(`${g.title} (input incomplete)`, g.examples))
    } else {
      out.push(examples('examples (no change)', r.input_incomplete.examples))
    }
  }
  if (r.notes.length > 0) {
    out.push('')
    for (const n of r.notes) out.push(`note: ${n}`)
  }
  return out.join('\n') + '\n'
}

function groupTable (groups: readonly ChangeGroup[]): string {
  const rows = [['change', 'count', 'kind (--fail-on)'], ...groups.map((g) => [g.title, String(g.count), g.kind])]
  const w = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)))
  const line = (row: string[]): string => '  ' + row.map((c, i) => i === 1 ? c.padStart(w[i]!) : c.padEnd(w[i]!)).join('  ').trimEnd()
  return [line(rows[0]!), '  ' + w.map((n) => '-'.repeat(n)).join('  '), ...rows.slice(1).map(line)].join('\n')
}

function examples (title: string, list: readonly Example[]): string {
  const lines = [`  ${title}, e.g.:`]
  for (const e of list) {
    lines.push(`    ${e.decision_id}  ${e.request}  ${e.baseline} → ${e.candidate}  (${e.at})`)
    if (e.incomplete_fields !== undefined) lines.push(`      input incomplete: ${e.incomplete_fields.join(', ')}`)
  }
  return lines.join('\n')
}
