// The dashboard and the alerts the chart ships query exactly the metrics the bouncer exports:
// every metric name in a PromQL expression (PrometheusRule, dashboard panels and variables)
// exists in the registry (with the default process/Node.js metrics), and every bouncer_*
// metric is on the dashboard. The dashboard file is what scripts/gen-dashboard.ts generates.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { createMetrics } from '../../src/metrics/index.js'
import { DASHBOARD_JSON, renderDashboard } from '../../scripts/gen-dashboard.js'
import { renderChart } from './fixtures/gotemplate.js'
import { POLICY_FILES } from './fixtures/values.js'

type Obj = Record<string, any>
const root = fileURLToPath(new URL('../..', import.meta.url))
const registry = createMetrics({ defaultMetrics: true }).registry.getMetricsAsArray() as unknown as Array<{ name: string; type: string }>
const exported = new Map(registry.map((m) => [m.name, m.type]))

const KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'offset', 'and', 'or', 'unless', 'inf', 'nan'])

/**
 * Metric names in a PromQL expression: identifiers left once strings, label matchers {...},
 * ranges [...], grouping clauses by (...) and function calls name( are taken out.
 */
export function metricNames (expr: string): string[] {
  const s = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
  const names: string[] = []
  for (const m of s.matchAll(/(?<![\w$.])([a-zA-Z_:][a-zA-Z0-9_:]*)\b(\s*\()?/g)) {
    if (m[2] || KEYWORDS.has(m[1]!.toLowerCase())) continue
    names.push(m[1]!)
  }
  return names
}

/** A series name as exported: histograms export <name>_bucket/_sum/_count. */
function known (name: string): boolean {
  if (exported.has(name)) return true
  const base = name.replace(/_(bucket|sum|count)$/, '')
  return base !== name && exported.get(base) === 'histogram' || (name.endsWith('_sum') || name.endsWith('_count')) && exported.get(base) === 'summary'
}

t.test('the PromQL name extractor', async (t) => {
  t.same(metricNames('sum by (namespace, pod) (rate(bouncer_requests_total{namespace="x", decision!="allow"}[5m])) / 268435456 > 0.5'), ['bouncer_requests_total'])
  t.same(metricNames('histogram_quantile(0.99, sum by (le) (rate(bouncer_request_duration_seconds_bucket{pod=~"$pod"}[$__rate_interval])))'), ['bouncer_request_duration_seconds_bucket'])
  t.same(metricNames('time() - max by (pod) (bouncer_bundle_last_success_timestamp_seconds) > 600'), ['bouncer_bundle_last_success_timestamp_seconds'])
  t.same(metricNames('label_values(bouncer_build_info{namespace="$namespace"}, pod)'), ['bouncer_build_info', 'pod'], 'label_values names a label too (handled below)')
  t.ok(known('bouncer_request_duration_seconds_bucket') && known('nodejs_gc_duration_seconds_sum') && !known('bouncer_nope_total'))
})

t.test('alerts: every metric the PrometheusRule queries is exported', async (t) => {
  const ms = renderChart(join(root, 'helm/bouncer'), { app: { image: { repository: 'x', tag: '1' } }, policy: POLICY_FILES, config: { allow_insecure: true }, metrics: { serviceMonitor: { enabled: true }, prometheusRule: { enabled: true } } }).manifests as Obj[]
  const rule = ms.find((m) => m.kind === 'PrometheusRule')!
  let n = 0
  for (const r of rule.spec.groups.flatMap((g: Obj) => g.rules) as Obj[]) {
    const names = metricNames(r.expr)
    t.ok(names.length > 0, `${r.alert}: queries a metric`)
    for (const name of names) { n++; t.ok(known(name), `${r.alert}: ${name} is exported`) }
  }
  t.ok(n >= 8)
})

t.test('alerts: the ones docs/operations.md recommends, on the same metrics', async (t) => {
  const ops = readFileSync(join(root, 'docs/operations.md'), 'utf8')
  const section = ops.slice(ops.indexOf('## Alerts'), ops.indexOf('## Runbook'))
  t.ok(section.length > 100, 'docs/operations.md has an Alerts section')
  const ms = renderChart(join(root, 'helm/bouncer'), { app: { image: { repository: 'x', tag: '1' } }, policy: POLICY_FILES, config: { allow_insecure: true }, metrics: { serviceMonitor: { enabled: true }, prometheusRule: { enabled: true } } }).manifests as Obj[]
  const rules = ms.find((m) => m.kind === 'PrometheusRule')!.spec.groups.flatMap((g: Obj) => g.rules) as Obj[]
  for (const r of rules) {
    t.ok(section.includes(`\`${r.alert}\``), `${r.alert} is documented`)
    for (const name of metricNames(r.expr)) t.ok(section.includes(name), `${r.alert}: the docs name ${name}`)
  }
})

t.test('dashboard: generated, and every query uses exported metrics', async (t) => {
  const file = readFileSync(join(root, DASHBOARD_JSON), 'utf8')
  t.equal(file, renderDashboard(), `${DASHBOARD_JSON} is current (npx tsx scripts/gen-dashboard.ts)`)
  const d = JSON.parse(file) as Obj
  const exprs: Array<[string, string]> = []
  for (const p of d.panels as Obj[]) for (const target of p.targets ?? []) exprs.push([p.title, target.expr])
  for (const v of d.templating.list as Obj[]) if (v.type === 'query') exprs.push([`variable ${v.name}`, v.query.query.replace(/,\s*\w+\)$/, ')')])
  const used = new Set<string>()
  for (const [where, expr] of exprs) {
    const names = metricNames(expr)
    t.ok(names.length > 0, `${where}: queries a metric`)
    for (const name of names) {
      t.ok(known(name), `${where}: ${name} is exported`)
      used.add(name.replace(/_(bucket|sum|count)$/, ''))
    }
  }
  const ours = [...exported.keys()].filter((n) => n.startsWith('bouncer_'))
  t.same(ours.filter((n) => !used.has(n)), [], 'every bouncer_* metric is on the dashboard')
  t.ok(['process_cpu_seconds_total', 'process_resident_memory_bytes', 'nodejs_eventloop_lag_p99_seconds'].every((n) => used.has(n)), 'and the standard process/Node.js ones')
  // Grafana's classic model: unique ids, panels on the 24-column grid without overlaps.
  const ids = (d.panels as Obj[]).map((p) => p.id)
  t.equal(new Set(ids).size, ids.length, 'unique panel ids')
  const cells = new Set<string>()
  for (const p of d.panels as Obj[]) {
    const g = p.gridPos
    t.ok(g.x >= 0 && g.x + g.w <= 24, `${p.title}: within 24 columns`)
    for (let x = g.x; x < g.x + g.w; x++) for (let y = g.y; y < g.y + g.h; y++) {
      if (cells.has(`${x},${y}`)) t.fail(`${p.title}: overlaps another panel at ${x},${y}`)
      cells.add(`${x},${y}`)
    }
  }
})
