// The picture of a benchmark run: an SVG bar chart (requests per second and p99 latency per
// scenario) drawn from the results JSON by hand, no dependency; and bench/RESULTS.md, whose
// generated part (between the bench:begin / bench:end markers) is replaced, the rest kept.
//   npx tsx bench/chart.ts [bench/results.json] [--svg bench/chart.svg] [--markdown bench/RESULTS.md]
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { machineFooter } from './lib/machine.js'
import { profileText } from './lib/profile.js'
import { computeTargets, halfRateTable, microTable, scenarioTable, targetTable, type BenchResults } from './lib/report.js'
import { BASELINE } from './lib/scenarios.js'

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')

const COLORS = { baseline: '#6b7280', bouncer: '#2563eb', other: '#94a3b8', skipped: '#d1d5db', text: '#111827', grid: '#e5e7eb' }

function color (name: string): string {
  if (name === BASELINE) return COLORS.baseline
  if (name.startsWith('bouncer')) return COLORS.bouncer
  return COLORS.other
}

/** "Nice" axis: a maximum of 1, 2, 2.5 or 5 times a power of ten at or above v, and a tick
 * count that makes every step a round number. */
function niceAxis (v: number): { max: number; ticks: number } {
  if (v <= 0) return { max: 1, ticks: 4 }
  const p = 10 ** Math.floor(Math.log10(v))
  for (const [m, ticks] of [[1, 5], [2, 4], [2.5, 5], [5, 5], [10, 5]] as const) if (m * p >= v) return { max: m * p, ticks }
  return { max: 10 * p, ticks: 5 }
}

interface Bar { name: string; value: number | null; label: string; note?: string }

function panel (title: string, bars: Bar[], x0: number, y0: number, width: number, fmtTick: (v: number) => string): { svg: string; height: number } {
  const rowH = 24
  const labelW = 130
  const plotW = width - labelW - 90
  const { max, ticks } = niceAxis(Math.max(0, ...bars.map((b) => b.value ?? 0)))
  const parts: string[] = []
  parts.push(`<text x="${x0}" y="${y0 + 14}" font-size="14" font-weight="600" fill="${COLORS.text}">${esc(title)}</text>`)
  const top = y0 + 28
  const plotH = bars.length * rowH
  for (let i = 0; i <= ticks; i++) {
    const v = (max * i) / ticks
    const x = x0 + labelW + (plotW * i) / ticks
    parts.push(`<line x1="${x.toFixed(1)}" y1="${top}" x2="${x.toFixed(1)}" y2="${top + plotH}" stroke="${COLORS.grid}"/>`)
    parts.push(`<text x="${x.toFixed(1)}" y="${top + plotH + 14}" font-size="10" text-anchor="middle" fill="#6b7280">${esc(fmtTick(v))}</text>`)
  }
  bars.forEach((b, i) => {
    const y = top + i * rowH
    parts.push(`<text x="${x0 + labelW - 8}" y="${y + 16}" font-size="12" text-anchor="end" fill="${COLORS.text}">${esc(b.name)}</text>`)
    if (b.value === null) {
      parts.push(`<rect x="${x0 + labelW}" y="${y + 5}" width="${plotW}" height="${rowH - 10}" fill="none" stroke="${COLORS.skipped}" stroke-dasharray="4 3"/>`)
      parts.push(`<text x="${x0 + labelW + 6}" y="${y + 16}" font-size="11" fill="#6b7280">${esc(b.note ?? 'skipped')}</text>`)
      return
    }
    const w = Math.max(1, (b.value / max) * plotW)
    parts.push(`<rect x="${x0 + labelW}" y="${y + 4}" width="${w.toFixed(1)}" height="${rowH - 8}" rx="2" fill="${color(b.name)}"><title>${esc(`${b.name}: ${b.label}`)}</title></rect>`)
    parts.push(`<text x="${(x0 + labelW + w + 6).toFixed(1)}" y="${y + 16}" font-size="11" fill="${COLORS.text}">${esc(b.label)}</text>`)
  })
  return { svg: parts.join('\n  '), height: 28 + plotH + 24 }
}

export function renderChart (r: BenchResults): string {
  const names = Object.keys(r.scenarios)
  const width = 760
  const note = (n: string) => {
    const s = r.scenarios[n]!
    return s.skipped ? `skipped: ${s.skipped}` : s.failed ? `failed: ${s.failed}` : undefined
  }
  const shorten = (s: string | undefined) => (s && s.length > 80 ? s.slice(0, 77) + '…' : s)
  const rpsBars: Bar[] = names.map((n) => {
    const s = r.scenarios[n]!
    const ok = !s.skipped && !s.failed && s.rps !== null
    const ratio = r.ratios[`${n}/${BASELINE}`]
    return { name: n, value: ok ? s.rps : null, label: ok ? `${Math.round(s.rps!).toLocaleString('en-US')}${ratio !== undefined ? `  (${ratio.toFixed(2)}×)` : ''}` : '', note: shorten(note(n)) }
  })
  const p99Bars: Bar[] = names.map((n) => {
    const s = r.scenarios[n]!
    const ok = !s.skipped && !s.failed && s.p99_ms !== null
    return { name: n, value: ok ? s.p99_ms : null, label: ok ? `${s.p99_ms!.toFixed(2)} ms` : '', note: shorten(note(n)) }
  })
  const a = panel('Requests per second (higher is better; ratio to bare-proxy)', rpsBars, 16, 40, width - 32, (v) => (v >= 1000 ? `${(v / 1000).toFixed(v % 1000 ? 1 : 0)}k` : String(Math.round(v))))
  const b = panel('p99 latency, ms (lower is better)', p99Bars, 16, 40 + a.height + 16, width - 32, (v) => (v === 0 ? '0' : v < 10 ? v.toFixed(1) : String(Math.round(v))))
  const footY = 40 + a.height + 16 + b.height + 8
  const m = r.machine
  const foot = `${m.cpu} × ${m.cores} · node ${m.node} · load avg ${m.load_average_start.map((x) => x.toFixed(1)).join(' ')} · ${r.settings.connections} connections, ${r.settings.duration_s} s × ${r.settings.rounds} · ${m.date.slice(0, 10)}`
  const height = footY + 20
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="-apple-system, 'Segoe UI', Helvetica, Arial, sans-serif">
  <rect width="100%" height="100%" fill="#ffffff"/>
  <text x="16" y="24" font-size="16" font-weight="700" fill="${COLORS.text}">Bouncer vs bare proxy, one run, same load</text>
  ${a.svg}
  ${b.svg}
  <text x="16" y="${footY + 8}" font-size="10" fill="#6b7280">${esc(foot)}</text>
</svg>
`
}

const BEGIN = '<!-- bench:begin (generated by bench/chart.ts from the results JSON; edits here are overwritten) -->'
const END = '<!-- bench:end -->'

export function renderMarkdown (r: BenchResults, chartFile = 'chart.svg'): string {
  const m = r.machine
  const parts = [
    BEGIN,
    '',
    `Command: \`${m.command}\` — ${r.settings.connections} connections, ${r.settings.warmup_s} s warm-up, ${r.settings.duration_s} s measured per scenario, ${r.settings.rounds} round(s) (medians). Ratios are against \`${BASELINE}\` in the same run; RSS is the peak of the server's process group under load.`,
    '',
    `![requests per second and p99 per scenario](${chartFile})`,
    '',
  ]
  if (Object.keys(r.scenarios).length) parts.push(scenarioTable(r, true), '')
  if (r.latency_at_half_rate) parts.push(`Fixed rate ${r.latency_at_half_rate.rate_rps} req/s (half of the bare proxy's maximum):`, '', halfRateTable(r.latency_at_half_rate, true), '')
  if (!r.micro.skipped.all) parts.push(microTable(r.micro, true), '')
  if (r.micro.eval_unstable.length) parts.push('Evaluation failures when one instance answers the same input repeatedly:', '', ...r.micro.eval_unstable.map((x) => `- ${x}`), '')
  if (r.soak) {
    const k = r.soak
    parts.push(`Soak (\`${k.command ?? `npm run bench -- --soak ${k.seconds}`}\`): ${k.scenario} under steady load for ${k.seconds} s, ${Math.round(k.rps ?? 0).toLocaleString('en-US')} req/s, p99 ${k.p99_ms?.toFixed(2) ?? '—'} ms. ` +
      `RSS every 10 s (MB): ${k.samples.map((x) => x.rss_mb.toFixed(0)).join(' ')}. Slope ${k.slope_mb_per_min?.toFixed(2) ?? 'n/a'} MB/min overall, ${k.slope_second_half_mb_per_min?.toFixed(2) ?? 'n/a'} MB/min over the second half.` +
      (k.live_heap_slope_mb_per_min == null ? '' : ` V8 heap in use after a full GC, every 30 s (MB): ${k.samples.filter((x) => x.live_heap_mb !== undefined).map((x) => x.live_heap_mb!.toFixed(1)).join(' ')}; slope ${k.live_heap_slope_mb_per_min.toFixed(2)} MB/min overall, ${k.live_heap_slope_second_half_mb_per_min?.toFixed(2) ?? 'n/a'} over the second half.`) +
      (k.memory_limit_mb === undefined ? '' : ` The bouncer ran in a memory cgroup of ${k.memory_limit_mb} MB (the chart's limit; V8 sizes its heap from it): the cgroup's peak ${k.cgroup_peak_mb ?? '?'} MB, limit reached ${k.cgroup_limit_events ?? '?'} time(s).`), '')
  }
  parts.push(targetTable(r.targets, true), '')
  if (r.profile?.length) parts.push(`CPU profiles at one fixed rate (\`${r.profile[0]!.command ?? `npm run bench -- --profile ${r.profile.map((p) => p.scenario).join(',')} --rate ${r.profile[0]!.rate_rps ?? '?'}`}\`):`, '', '```text', profileText(r.profile), '```', '')
  parts.push(`Machine: ${machineFooter(m)}.`, '', END)
  return parts.join('\n')
}

export function writeReport (results: BenchResults, files: { svg: string; markdown: string }): void {
  const r = { ...results, targets: computeTargets(results) } // always with the current target logic
  writeFileSync(files.svg, renderChart(r))
  const block = renderMarkdown(r)
  let md = existsSync(files.markdown) ? readFileSync(files.markdown, 'utf8') : '# Benchmark results\n\n'
  const i = md.indexOf(BEGIN.slice(0, 16))
  const j = md.indexOf(END)
  if (i >= 0 && j > i) md = md.slice(0, i) + block + md.slice(j + END.length)
  else md = md.trimEnd() + '\n\n' + block + '\n'
  writeFileSync(files.markdown, md)
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const dir = fileURLToPath(new URL('.', import.meta.url))
  const args = process.argv.slice(2)
  const flag = (name: string, dflt: string) => { const k = args.indexOf(name); return k >= 0 && args[k + 1] ? args.splice(k, 2)[1]! : dflt }
  const svg = flag('--svg', join(dir, 'chart.svg'))
  const markdown = flag('--markdown', join(dir, 'RESULTS.md'))
  const input = args[0] ?? join(dir, 'results.json')
  writeReport(JSON.parse(readFileSync(input, 'utf8')) as BenchResults, { svg, markdown })
  console.log(`wrote ${svg} and ${markdown} from ${input}`)
}
