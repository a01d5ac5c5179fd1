// The evidence report as one self-contained HTML file: inline CSS, inline SVG charts, no
// script and nothing fetched, so it opens offline and prints. The report's data is embedded as
// JSON (<script type="application/json" id="evidence-data">) so the digest can be recomputed
// from the file alone. Everything that comes from a log is escaped.
import type { EvidenceReport, Finding, OutcomeCounts, SeriesPoint } from './index.js'

const COLORS: ReadonlyArray<[keyof OutcomeCounts, string, string]> = [
  ['allow', '#2e7d32', 'allow'],
  ['masked', '#00897b', 'allow, masked'],
  ['deny', '#ef6c00', 'deny'],
  ['fail_closed', '#c62828', 'fail closed'],
  ['unknown', '#9e9e9e', 'no result'],
]

export function esc (v: unknown): string {
  return String(v).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;')
}

function niceMax (v: number): number {
  if (v <= 0) return 1
  const p = Math.pow(10, Math.floor(Math.log10(v)))
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p
  return 10 * p
}

function fmt (n: number): string { return n.toLocaleString('en-US') }

/** Decisions over time, stacked by outcome, with the first decision of each revision and the
 * integrity findings marked. */
export function timeChart (points: readonly SeriesPoint[], bucket: 'hour' | 'day', marks: ReadonlyArray<{ at: string; revision: string }>, findings: readonly Finding[]): string {
  const W = 960
  const Hh = 300
  const L = 60
  const R = 16
  const T = 40
  const B = 48
  const pw = W - L - R
  const ph = Hh - T - B
  const n = Math.max(points.length, 1)
  const t0 = points.length > 0 ? Date.parse(points[0]!.t) : 0
  const step = bucket === 'hour' ? 3_600_000 : 86_400_000
  const x = (ms: number): number => L + ((ms - t0) / step) / n * pw
  const max = niceMax(Math.max(1, ...points.map((p) => p.total)))
  const y = (v: number): number => T + ph - (v / max) * ph
  const bw = Math.max(pw / n - (n > 60 ? 0 : 1), 0.5)
  const parts: string[] = []
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${Hh}" width="${W}" height="${Hh}" role="img" aria-label="Decisions per ${bucket}, by outcome">`)
  parts.push(`<text x="${L}" y="16" class="t">Decisions per ${bucket} (UTC), by outcome; dashed lines: a policy revision's first decision; red marks: integrity findings</text>`)
  for (let k = 0; k <= 5; k++) {
    const v = max * k / 5
    parts.push(`<line x1="${L}" x2="${W - R}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}" class="grid"/><text x="${L - 6}" y="${(y(v) + 4).toFixed(1)}" text-anchor="end" class="a">${esc(fmt(Math.round(v)))}</text>`)
  }
  points.forEach((p, i) => {
    let acc = 0
    const px = L + i / n * pw
    for (const [key, color] of COLORS) {
      const v = p[key] as number
      if (v <= 0) continue
      const y1 = y(acc + v)
      const y0 = y(acc)
      parts.push(`<rect x="${px.toFixed(2)}" y="${y1.toFixed(2)}" width="${bw.toFixed(2)}" height="${Math.max(y0 - y1, 0.5).toFixed(2)}" fill="${color}"><title>${esc(p.t)}: ${esc(key)} ${v}</title></rect>`)
      acc += v
    }
  })
  // x axis labels: about 8
  const every = Math.max(1, Math.ceil(n / 8))
  for (let i = 0; i < points.length; i += every) {
    const label = bucket === 'hour' ? points[i]!.t.slice(5, 13).replace('T', ' ') + 'h' : points[i]!.t.slice(0, 10)
    parts.push(`<text x="${(L + i / n * pw).toFixed(1)}" y="${Hh - B + 16}" class="a">${esc(label)}</text>`)
  }
  parts.push(`<line x1="${L}" x2="${W - R}" y1="${T + ph}" y2="${T + ph}" class="axis"/>`)
  const tEnd = t0 + n * step
  marks.slice(0, 60).forEach((m, i) => {
    const ms = Date.parse(m.at)
    if (!(ms >= t0 && ms <= tEnd)) return
    const mx = x(ms).toFixed(1)
    parts.push(`<line x1="${mx}" x2="${mx}" y1="${T - 6}" y2="${T + ph}" class="rev"><title>revision ${esc(m.revision)} from ${esc(m.at)}</title></line>`)
    if (i < 12) parts.push(`<text x="${mx}" y="${T - 8 - (i % 2) * 10}" class="rl">${esc(m.revision.length > 24 ? m.revision.slice(0, 23) + '…' : m.revision)}</text>`)
  })
  for (const f of findings) {
    if (f.severity === 'note' || f.in_period === false) continue
    const when = f.between?.[0] ?? f.between?.[1] ?? f.timestamp
    if (when === undefined || when === null) continue
    const ms = Date.parse(when)
    if (!(ms >= t0 && ms <= tEnd)) continue
    const fx = x(ms)
    parts.push(`<path d="M${(fx - 5).toFixed(1)},${T + ph + 12} L${(fx + 5).toFixed(1)},${T + ph + 12} L${fx.toFixed(1)},${T + ph + 3} Z" class="brk"><title>${esc(f.kind)}: ${esc(f.message)}</title></path>`)
  }
  let lx = L
  for (const [, color, label] of COLORS) {
    parts.push(`<rect x="${lx}" y="${Hh - 14}" width="10" height="10" fill="${color}"/><text x="${lx + 14}" y="${Hh - 5}" class="a">${esc(label)}</text>`)
    lx += 24 + label.length * 7
  }
  parts.push('</svg>')
  return parts.join('')
}

/** Outcomes per route pattern, horizontal stacked bars. */
export function routeChart (routes: ReadonlyArray<OutcomeCounts & { route: string }>): string {
  const W = 960
  const rowH = 22
  const L = 300
  const R = 70
  const T = 28
  const Hh = T + Math.max(routes.length, 1) * rowH + 10
  const max = Math.max(1, ...routes.map((r) => r.total))
  const pw = W - L - R
  const parts: string[] = [`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${Hh}" width="${W}" height="${Hh}" role="img" aria-label="Outcomes by route">`]
  parts.push(`<text x="0" y="16" class="t">Outcomes by route pattern (top ${routes.length})</text>`)
  routes.forEach((r, i) => {
    const ry = T + i * rowH
    const label = r.route.length > 44 ? r.route.slice(0, 43) + '…' : r.route
    parts.push(`<text x="${L - 8}" y="${ry + 15}" text-anchor="end" class="a"><title>${esc(r.route)}</title>${esc(label)}</text>`)
    let acc = 0
    for (const [key, color] of COLORS) {
      const v = r[key] as number
      if (v <= 0) continue
      const w = v / max * pw
      parts.push(`<rect x="${(L + acc).toFixed(2)}" y="${ry + 3}" width="${Math.max(w, 0.5).toFixed(2)}" height="${rowH - 6}" fill="${color}"><title>${esc(r.route)}: ${esc(key)} ${v}</title></rect>`)
      acc += w
    }
    parts.push(`<text x="${(L + acc + 6).toFixed(1)}" y="${ry + 15}" class="a">${esc(fmt(r.total))}</text>`)
  })
  parts.push('</svg>')
  return parts.join('')
}

const CSS = `
:root{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;color:#1a1a1a;background:#fff}
body{max-width:1000px;margin:24px auto;padding:0 16px;line-height:1.45}
h1{font-size:1.5em;margin-bottom:4px}h2{border-bottom:2px solid #ddd;padding-bottom:4px;margin-top:36px}
.meta{color:#555;font-size:.9em}.mono,code{font-family:ui-monospace,"DejaVu Sans Mono",monospace;font-size:.85em;word-break:break-all}
.verdict{padding:12px 16px;border-radius:6px;margin:16px 0;font-weight:600}
.ok{background:#e8f5e9;border:1px solid #2e7d32}.bad{background:#ffebee;border:1px solid #c62828}
.cards{display:flex;flex-wrap:wrap;gap:12px;margin:12px 0}.card{border:1px solid #ddd;border-radius:6px;padding:8px 14px;min-width:120px}
.card b{display:block;font-size:1.4em}
table{border-collapse:collapse;width:100%;margin:8px 0;font-size:.9em}th,td{border:1px solid #ddd;padding:4px 6px;text-align:left;vertical-align:top}
th{background:#f5f5f5}td.n{text-align:right;font-variant-numeric:tabular-nums}
tr.break td:first-child,tr.loss td:first-child,tr.uncovered td:first-child{color:#c62828;font-weight:600}
svg{max-width:100%;height:auto;display:block;margin:8px 0}
svg .t{font-size:13px;font-weight:600}svg .a{font-size:11px;fill:#333}svg .rl{font-size:10px;fill:#3949ab}
svg .grid{stroke:#eee}svg .axis{stroke:#999}svg .rev{stroke:#3949ab;stroke-dasharray:4 3}svg .brk{fill:#c62828}
details{margin:8px 0}summary{cursor:pointer;font-weight:600}
@media print{details{display:block}details>*{display:block}}
`

function numTable (head: string[], rows: unknown[][], numeric: ReadonlySet<number> = new Set()): string {
  if (rows.length === 0) return '<p><em>none</em></p>'
  return `<table><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>` +
    rows.map((r) => `<tr>${r.map((c, i) => `<td${numeric.has(i) || typeof c === 'number' ? ' class="n"' : ''}>${typeof c === 'number' ? esc(fmt(c)) : esc(c)}</td>`).join('')}</tr>`).join('') + '</tbody></table>'
}

const OC = (c: OutcomeCounts): number[] => [c.total, c.allow, c.masked, c.deny, c.fail_closed]
const OC_HEAD = ['total', 'allow', 'masked', 'deny', 'fail closed']

export function renderHtml (r: EvidenceReport): string {
  const i = r.integrity
  const p: string[] = []
  p.push(`<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">`)
  p.push(`<title>Decision-log evidence ${esc(r.period.from.slice(0, 10))} to ${esc(r.period.to.slice(0, 10))}</title><style>${CSS}</style></head><body>`)
  p.push(`<h1>Decision-log evidence</h1><div class="meta">Period ${esc(r.period.from)} to ${esc(r.period.to)} (${esc(r.period.days)} days) · generated ${esc(r.generated_at)} by ${esc(r.generator)}</div>`)
  p.push(`<div class="verdict ${i.complete ? 'ok' : 'bad'}" id="verdict">${esc(i.complete ? 'Complete: ' : 'NOT COMPLETE: ')}${esc(i.statement)}</div>`)
  p.push('<div class="cards">' + [
    ['decisions', fmt(r.summary.decisions)], ['denied', fmt(r.access.outcomes.deny + r.access.outcomes.fail_closed)], ['subjects', fmt(r.summary.subjects)],
    ['policy revisions', fmt(r.summary.revisions)], ['integrity findings', fmt(i.findings.filter((f) => f.severity !== 'note' && f.in_period !== false).length)],
    ['events with credentials', fmt(r.privacy.events_with_credentials)],
  ].map(([k, v]) => `<div class="card"><b>${esc(v)}</b>${esc(k)}</div>`).join('') + '</div>')
  p.push(`<p class="meta">Report SHA-256 (canonical JSON of the embedded data without <code>digest</code>): <span class="mono">${esc(r.digest?.value ?? '')}</span><br>Input: ${r.input.paths.map((x) => `<code>${esc(x)}</code>`).join(', ')} (${esc(r.input.files.length)} file(s))</p>`)

  p.push('<h2 id="integrity">Integrity</h2>')
  p.push('<table><thead><tr><th>chain (labels.id)</th><th>first record in the input</th><th>last record in the input</th><th>in the period</th><th>records</th><th>decisions</th><th>drop markers</th></tr></thead><tbody>' +
    i.chains.map((c) => `<tr><td class="mono">${esc(c.id || '(no labels.id)')}</td>` +
      `<td>seq ${esc(c.first.seq)} · ${esc(c.first.timestamp ?? '')}<br><span class="mono">${esc(c.first.hash)}</span></td>` +
      `<td>seq ${esc(c.last.seq)} · ${esc(c.last.timestamp ?? '')}<br><span class="mono">${esc(c.last.hash)}</span></td>` +
      `<td>${c.period_first !== null ? `seq ${esc(c.period_first.seq)} to ${esc(c.period_last?.seq)}` : '—'}</td>` +
      `<td class="n">${esc(fmt(c.records))}</td><td class="n">${esc(fmt(c.decisions))}</td><td class="n">${esc(fmt(c.markers))}</td></tr>`).join('') +
    '</tbody></table>')
  p.push(`<p>${esc(i.records_checked)} records checked: ${esc(i.decisions)} decisions, ${esc(i.drop_markers)} drop markers, ${esc(i.duplicates_skipped)} duplicates (counted once), ${esc(i.edited_records_left_out)} edited records left out of the other sections.</p>`)
  if (i.findings.length > 0) {
    p.push(`<table><thead><tr><th>severity</th><th>kind</th><th>chain</th><th>where</th><th>finding</th></tr></thead><tbody>` +
      i.findings.map((f) => `<tr class="${esc(f.in_period === false ? 'note' : f.severity)}"><td>${esc(f.in_period === false && f.severity !== 'note' ? 'outside period' : f.severity)}</td><td>${esc(f.kind)}</td><td>${esc(f.chain ?? '')}</td><td class="mono">${esc(f.at)}</td><td>${esc(f.message)}</td></tr>`).join('') +
      '</tbody></table>')
    if (i.findings_not_listed > 0) p.push(`<p>${esc(i.findings_not_listed)} further findings are counted, not listed.</p>`)
  } else p.push('<p>No findings.</p>')

  p.push('<h2 id="access">Access control operated</h2>')
  p.push(`<p>${esc(r.access.statement)}</p>`)
  p.push(timeChart(r.series.points, r.series.bucket, r.series.revision_marks, i.findings))
  p.push(numTable(OC_HEAD, [OC(r.access.outcomes)]))
  if (r.access.fail_closed_by_reason.length > 0) p.push('<p>Fail closed by reason: ' + r.access.fail_closed_by_reason.map((x) => `<code>${esc(x.reason)}</code> ${esc(fmt(x.count))}`).join(', ') + '</p>')
  p.push(routeChart(r.access.routes))
  p.push(`<p>Route patterns: the method and the first ${esc(r.access.route_depth)} segments of <code>parsed_path</code> (ids shown as <code>{id}</code>, <code>/*</code> when the path goes deeper); top ${esc(r.access.routes.length)} of ${esc(r.access.routes_total)}.</p>`)
  p.push(numTable(['route', ...OC_HEAD], r.access.routes.map((x) => [x.route, ...OC(x)])))
  p.push(`<details><summary>Per day (UTC), ${esc(r.access.by_day.length)} days</summary>${numTable(['day', ...OC_HEAD], r.access.by_day.map((d) => [d.day, ...OC(d)]))}</details>`)
  if (r.access.quiet.length > 0) {
    p.push(`<details${r.access.quiet.length <= 10 ? ' open' : ''}><summary>Stretches without decisions (at least ${esc(r.access.quiet_hours_threshold)} h): ${esc(r.access.quiet_total)}</summary>${numTable(['from', 'to', 'hours'], r.access.quiet.map((q) => [q.from, q.to, q.hours]))}</details>`)
  }

  p.push('<h2 id="subjects">Who accessed what</h2>')
  p.push(`<p>${esc(r.subjects.statement)}</p>`)
  if (r.subjects.new.length > 0) p.push(`<p>New in the period: ${r.subjects.new.map((s) => `<code>${esc(s)}</code>`).join(', ')}</p>`)
  p.push(`<details open><summary>${esc(r.subjects.total)} subjects</summary><table><thead><tr><th>subject</th><th>allowed</th><th>denied</th><th>first seen</th><th>last seen</th><th>routes: allowed / denied</th></tr></thead><tbody>` +
    r.subjects.list.map((s) => `<tr><td>${esc(s.subject)}${s.new ? ' <b>(new)</b>' : ''}</td><td class="n">${esc(fmt(s.allowed))}</td><td class="n">${esc(fmt(s.denied))}</td><td>${esc(s.first_seen)}</td><td>${esc(s.last_seen)}</td><td>${s.routes.map((x) => `${esc(x.route)}: ${esc(x.allowed)} / ${esc(x.denied)}`).join('<br>')}${s.other_routes !== undefined ? `<br>… ${esc(s.other_routes)} more` : ''}</td></tr>`).join('') +
    '</tbody></table></details>')

  p.push('<h2 id="changes">Change management</h2>')
  p.push(`<p>${esc(r.changes.statement)}</p>`)
  p.push(numTable(['revision', 'first decision', 'last decision', 'decisions', 'allow', 'deny', 'fail closed', 'signing key id', 'chains'],
    r.changes.revisions.map((x) => [x.revision, x.first_decision, x.last_decision, x.decisions, x.outcomes.allow + x.outcomes.masked, x.outcomes.deny, x.outcomes.fail_closed,
      x.signing_key_id === null ? 'unknown' : `${x.signing_key_id} (from the ${x.key_id_source})`, x.chains])))
  if (r.changes.changes.length > 0) {
    p.push(`<details><summary>${esc(r.changes.changes_total)} revision changes</summary>${numTable(['at', 'chain', 'from', 'to'], r.changes.changes.map((c) => [c.at, c.chain, c.from, c.to]))}</details>`)
  }

  p.push('<h2 id="privacy">Privacy</h2>')
  p.push(`<p${r.privacy.events_with_credentials > 0 ? ' class="verdict bad"' : ''}>${esc(r.privacy.statement)}</p>`)
  if (r.privacy.credential_findings.length > 0) {
    p.push(numTable(['chain', 'seq', 'where', 'time', 'location', 'kind'], r.privacy.credential_findings.map((c) => [c.chain, c.seq, c.at, c.timestamp, c.location, c.kind])))
  }
  p.push('<h3>Masked responses by route and rule</h3>' + numTable(['route', 'rule', 'responses'], r.privacy.masked_by_route_rule.map((m) => [m.route, m.rule, m.count])))
  p.push('<h3>Erased or replaced before logging</h3>' + numTable(['field', 'events'], r.privacy.log_erasure.map((m) => [m.pointer, m.count])))
  if (r.limits.length > 0) p.push('<h2>Limits of this report</h2><ul>' + r.limits.map((l) => `<li>${esc(l)}</li>`).join('') + '</ul>')
  p.push(`<details><summary>Input files (${esc(r.input.files.length)})</summary>${numTable(['file', 'kind', 'bytes'], r.input.files.map((f) => [f.path, f.kind, f.bytes]))}</details>`)
  p.push(`<script type="application/json" id="evidence-data">${JSON.stringify(r).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029')}</script>`)
  p.push('</body></html>\n')
  return p.join('\n')
}
