// Generates helm/bouncer/dashboards/bouncer.json, the Grafana dashboard the chart ships
// (metrics.dashboard.enabled → a ConfigMap for Grafana's dashboard sidecar). Every query uses
// metrics the bouncer exports (src/metrics; test/deploy/observability.test.ts checks each
// name against the registry and that every bouncer_* metric is on the dashboard).
// Usage: npx tsx scripts/gen-dashboard.ts [--check]
//   --check: write nothing; exit 1 when the file is stale.
import { readFileSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

export const DASHBOARD_JSON = 'helm/bouncer/dashboards/bouncer.json'
const root = fileURLToPath(new URL('..', import.meta.url))

/** Series of the selected namespace and pods. */
const S = 'namespace="$namespace", pod=~"$pod"'
const RATE = '[$__rate_interval]'
const DS = { type: 'prometheus', uid: '${datasource}' }

interface Target { expr: string; legend: string }
type Panel = Record<string, unknown>

const t = (expr: string, legend: string): Target => ({ expr, legend })
const rate = (metric: string, by: string, extra = ''): string =>
  `sum by (${by}) (rate(${metric}{${S}${extra}}${RATE}))`
const quantiles = (histogram: string, what: string): Target[] => [0.5, 0.99].map((q) =>
  t(`histogram_quantile(${q}, sum by (le) (rate(${histogram}_bucket{${S}}${RATE})))`, `${what} p${q * 100}`))

let nextId = 1
let y = 0
let x = 0
let rowHeight = 0

function place (w: number, h: number): { x: number; y: number; w: number; h: number } {
  if (x + w > 24) { x = 0; y += rowHeight; rowHeight = 0 }
  const pos = { x, y, w, h }
  x += w
  rowHeight = Math.max(rowHeight, h)
  return pos
}

function row (title: string): Panel {
  if (x > 0) { x = 0; y += rowHeight; rowHeight = 0 }
  const p = { type: 'row', id: nextId++, title, collapsed: false, gridPos: { x: 0, y, w: 24, h: 1 }, panels: [] }
  y += 1
  return p
}

function targets (ts: Target[]): Panel[] {
  return ts.map((x, i) => ({ datasource: DS, expr: x.expr, legendFormat: x.legend, range: true, refId: String.fromCharCode(65 + i) }))
}

function timeseries (title: string, description: string, unit: string, ts: Target[], extra: Panel = {}): Panel {
  return {
    type: 'timeseries', id: nextId++, title, description, datasource: DS, gridPos: place(8, 8),
    fieldConfig: { defaults: { unit, min: 0, custom: { lineWidth: 1, fillOpacity: 10, showPoints: 'never' } }, overrides: [] },
    options: { legend: { displayMode: 'list', placement: 'bottom', showLegend: true }, tooltip: { mode: 'multi', sort: 'desc' } },
    targets: targets(ts),
    ...extra,
  }
}

function stat (title: string, description: string, unit: string, ts: Target[], extra: Panel = {}): Panel {
  return {
    type: 'stat', id: nextId++, title, description, datasource: DS, gridPos: place(4, 4),
    fieldConfig: { defaults: { unit }, overrides: [] },
    options: { reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false }, colorMode: 'value', graphMode: 'area', textMode: 'auto', justifyMode: 'auto', orientation: 'auto' },
    targets: targets(ts),
    ...extra,
  }
}

const nameStat = (title: string, description: string, ts: Target[]): Panel =>
  stat(title, description, 'none', ts, { options: { reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false }, colorMode: 'none', graphMode: 'none', textMode: 'name', justifyMode: 'auto', orientation: 'auto' } })

export function buildDashboard (): Record<string, unknown> {
  nextId = 1; x = 0; y = 0; rowHeight = 0
  const panels: Panel[] = [
    row('Overview'),
    stat('Ready pods', 'Pods whose /readyz answers 200 (bouncer_ready).', 'none', [t(`sum(bouncer_ready{${S}})`, 'ready')]),
    stat('Requests', 'Requests handled per second.', 'reqps', [t(`sum(rate(bouncer_requests_total{${S}}${RATE}))`, 'requests')]),
    stat('Denied', 'Share of requests the policy denied.', 'percentunit', [t(`sum(rate(bouncer_requests_total{${S}, decision="deny"}${RATE})) / sum(rate(bouncer_requests_total{${S}}${RATE}))`, 'denied')]),
    stat('Fail-closed denials', 'Requests denied because something failed, over the range.', 'none', [t(`sum(increase(bouncer_fail_closed_total{${S}}[$__range]))`, 'fail closed')],
      { fieldConfig: { defaults: { unit: 'none', thresholds: { mode: 'absolute', steps: [{ color: 'green', value: null }, { color: 'red', value: 1 }] } }, overrides: [] } }),
    nameStat('Active policy', 'Revision of the active policy (bouncer_policy_info).', [t(`max by (revision) (bouncer_policy_info{${S}})`, '{{revision}}')]),
    nameStat('Version', 'The running build (bouncer_build_info).', [t(`max by (version, revision) (bouncer_build_info{${S}})`, '{{version}} ({{revision}})')]),

    row('Requests'),
    timeseries('Requests by decision', 'allow, deny, policy_error, unavailable, rejected, upstream_error.', 'reqps', [t(rate('bouncer_requests_total', 'decision'), '{{decision}}')]),
    timeseries('Request latency', 'From request start to response head sent.', 's', quantiles('bouncer_request_duration_seconds', 'request')),
    timeseries('Upstream latency', 'Until the upstream response head.', 's', quantiles('bouncer_upstream_duration_seconds', 'upstream')),
    timeseries('Upstream errors', 'By kind (timeout, connect, reset, ...).', 'reqps', [t(rate('bouncer_upstream_errors_total', 'reason'), '{{reason}}')]),
    timeseries('Rejected before evaluation', 'Bad request targets, body limits, ...', 'reqps', [t(rate('bouncer_rejected_requests_total', 'reason'), '{{reason}}')]),
    timeseries('In flight', 'Requests being processed and tunnelled upgrade connections.', 'short', [
      t(`sum(bouncer_inflight_requests{${S}})`, 'requests'), t(`sum(bouncer_websocket_connections{${S}})`, 'upgraded connections'),
    ]),
    timeseries('Bodies held in memory', 'Request bodies held for parsed_body (capped by policy.parsed_body.max_buffered_bytes; past it, 503 body_budget) and responses held for masking (masking.max_buffered_bytes; past it, 503).', 'bytes', [
      t(`max by (pod) (bouncer_parsed_body_buffered_bytes{${S}})`, 'parsed_body {{pod}}'), t(`max by (pod) (bouncer_mask_buffered_bytes{${S}})`, 'masking {{pod}}'),
    ]),
    timeseries('Upgrades', 'Upgrade (WebSocket) requests by outcome.', 'reqps', [t(rate('bouncer_websocket_upgrades_total', 'outcome'), '{{outcome}}')]),
    timeseries('Bearer tokens', 'Token verification results, and JWKS fetches.', 'reqps', [
      t(rate('bouncer_auth_results_total', 'result'), '{{result}}'), t(rate('bouncer_auth_jwks_refreshes_total', 'outcome'), 'JWKS fetch {{outcome}}'),
    ]),

    row('Policy and bundles'),
    timeseries('Evaluation latency', 'Policy evaluation (decision cache misses only).', 's', quantiles('bouncer_policy_eval_duration_seconds', 'eval')),
    timeseries('Policy errors and fail-closed denials', 'See the runbook entry "Policy errors or fail-closed denials".', 'reqps', [
      t(rate('bouncer_policy_errors_total', 'reason'), 'error {{reason}}'), t(rate('bouncer_fail_closed_total', 'reason'), 'fail closed {{reason}}'),
    ]),
    timeseries('Policy memory', 'Wasm memory of the active policy instance.', 'bytes', [t(`max by (pod) (bouncer_policy_memory_bytes{${S}})`, '{{pod}}')]),
    timeseries('Policy and bundle age', 'Since the active policy was activated, and since the last successful bundle download.', 's', [
      t(`time() - max by (pod) (bouncer_policy_activated_timestamp_seconds{${S}})`, 'policy {{pod}}'),
      t(`time() - max by (pod, name) (bouncer_bundle_last_success_timestamp_seconds{${S}})`, 'bundle {{name}} {{pod}}'),
    ]),
    timeseries('Bundle downloads and failures', 'Downloads by HTTP outcome (200, 304, error); failures by reason.', 'short', [
      t(`sum by (outcome) (increase(bouncer_bundle_downloads_total{${S}}${RATE}))`, 'download {{outcome}}'),
      t(`sum by (reason) (increase(bouncer_bundle_failures_total{${S}}${RATE}))`, 'failure {{reason}}'),
      t(`sum(increase(bouncer_policy_activations_total{${S}}${RATE}))`, 'activations'),
    ]),
    timeseries('Bundle revision', 'Active bundle revision per pod (bouncer_bundle_revision_info).', 'none', [t(`max by (pod, name, revision) (bouncer_bundle_revision_info{${S}})`, '{{name}} {{revision}} {{pod}}')]),

    row('Shadow policy'),
    timeseries('Shadow decisions', 'How the shadow policy compares with the active one (agree, allow_to_deny, deny_to_allow, status, body, headers, mask, error); never enforced.', 'reqps', [t(rate('bouncer_shadow_decisions_total', 'agreement'), '{{agreement}}')]),
    timeseries('Shadow skipped', 'Decisions without a shadow evaluation: sampled_out, rate_limited, queue_full, no_shadow_policy, active_failed.', 'reqps', [t(rate('bouncer_shadow_skipped_total', 'reason'), '{{reason}}')]),
    timeseries('Shadow evaluation latency', 'Off the request path, on the same core.', 's', quantiles('bouncer_shadow_eval_duration_seconds', 'shadow eval')),
    timeseries('Shadow policy', 'Load failures (the proxy serves with the active policy alone) and the shadow revision per pod.', 'short', [
      t(`sum(increase(bouncer_shadow_load_failures_total{${S}}${RATE}))`, 'load failures'),
      t(`max by (pod, revision) (bouncer_shadow_policy_info{${S}})`, 'revision {{revision}} {{pod}}'),
    ]),

    row('Decision cache'),
    timeseries('Hit ratio', 'By tier (memory, redis).', 'percentunit', [t(
      `sum by (tier) (rate(bouncer_decision_cache_hits_total{${S}}${RATE})) / (sum by (tier) (rate(bouncer_decision_cache_hits_total{${S}}${RATE})) + sum by (tier) (rate(bouncer_decision_cache_misses_total{${S}}${RATE})))`,
      '{{tier}}')], { fieldConfig: { defaults: { unit: 'percentunit', min: 0, max: 1 }, overrides: [] } }),
    timeseries('Redis errors, timeouts and skips', 'Skips: calls not made because the breaker was open.', 'reqps', [
      t(rate('bouncer_decision_cache_redis_errors_total', 'op'), 'error {{op}}'),
      t(rate('bouncer_decision_cache_redis_timeouts_total', 'op'), 'timeout {{op}}'),
      t(`sum(rate(bouncer_decision_cache_redis_skipped_total{${S}}${RATE}))`, 'skipped'),
    ]),
    timeseries('Redis circuit breaker', '0 closed (Redis in use), 1 half-open (probing), 2 open (skipped).', 'none',
      [t(`max by (pod) (bouncer_decision_cache_breaker_state{${S}})`, '{{pod}}')],
      { fieldConfig: { defaults: { unit: 'none', min: 0, max: 2, mappings: [{ type: 'value', options: { 0: { text: 'closed' }, 1: { text: 'half-open' }, 2: { text: 'open' } } }] }, overrides: [] } }),
    timeseries('In-process tier entries', 'Entries in each pod\'s in-process tier.', 'short', [t(`max by (pod) (bouncer_decision_cache_entries{${S}})`, '{{pod}}')]),
    timeseries('In-process tier size', 'Bytes in each pod\'s in-process tier.', 'bytes', [t(`max by (pod) (bouncer_decision_cache_bytes{${S}})`, '{{pod}}')]),

    row('Decision logs'),
    timeseries('Events', 'recorded, uploaded, dropped.', 'short', [t(rate('bouncer_decision_log_events_total', 'outcome'), '{{outcome}}')], { fieldConfig: { defaults: { unit: 'short', min: 0 }, overrides: [] } }),
    timeseries('Uploads', 'ok, error, too_large.', 'reqps', [t(rate('bouncer_decision_log_uploads_total', 'outcome'), '{{outcome}}')]),
    timeseries('Dropped events', 'Declared in the hash chain; see "Decision-log spool is full".', 'short', [t(`sum by (reason) (increase(bouncer_decision_log_dropped_total{${S}}${RATE}))`, '{{reason}}')]),
    timeseries('Spool size', 'Bytes in the on-disk spool (compare with decision_logs.max_bytes).', 'bytes', [t(`max by (pod) (bouncer_decision_log_spool_bytes{${S}})`, '{{pod}}')]),
    timeseries('Upload backlog', 'Events waiting to be uploaded.', 'short', [t(`max by (pod) (bouncer_decision_log_buffer_events{${S}})`, '{{pod}}')]),

    row('Masking'),
    timeseries('Masked responses', 'masked, failed.', 'reqps', [t(rate('bouncer_masked_responses_total', 'outcome'), '{{outcome}}')]),
    timeseries('Masking latency', 'Buffer, decode and mask a response.', 's', quantiles('bouncer_mask_duration_seconds', 'mask')),

    row('Envoy ext_authz'),
    timeseries('Checks', 'Check calls by transport (grpc, http) and outcome (allow, deny, fail_closed, invalid).', 'reqps', [t(rate('bouncer_ext_authz_checks_total', 'transport, outcome'), '{{transport}} {{outcome}}')]),
    timeseries('Check latency', 'From receiving a check to sending its answer.', 's', quantiles('bouncer_ext_authz_check_duration_seconds', 'check')),

    row('Process (Node.js)'),
    timeseries('CPU', 'CPU seconds per second, per pod (process_cpu_seconds_total).', 'short', [t(`sum by (pod) (rate(process_cpu_seconds_total{${S}}${RATE}))`, '{{pod}}')]),
    timeseries('Memory', 'Resident set and V8 heap used.', 'bytes', [
      t(`max by (pod) (process_resident_memory_bytes{${S}})`, 'rss {{pod}}'), t(`max by (pod) (nodejs_heap_size_used_bytes{${S}})`, 'heap {{pod}}'),
    ]),
    timeseries('Event loop lag p99', 'A blocked loop delays every request of that pod.', 's', [t(`max by (pod) (nodejs_eventloop_lag_p99_seconds{${S}})`, '{{pod}}')]),
    timeseries('GC time', 'Seconds spent in garbage collection per second.', 'short', [t(`sum by (pod) (rate(nodejs_gc_duration_seconds_sum{${S}}${RATE}))`, '{{pod}}')]),
    timeseries('Open file descriptors', 'process_open_fds per pod.', 'short', [t(`max by (pod) (process_open_fds{${S}})`, '{{pod}}')]),
  ]
  return {
    title: 'Bouncer',
    uid: 'bouncer-sidecar',
    description: 'Bouncer policy enforcement sidecar: requests and decisions, policy and bundles, decision cache, decision logs, masking, Node.js process.',
    tags: ['bouncer', 'policy', 'sidecar'],
    timezone: 'browser',
    editable: true,
    graphTooltip: 1,
    schemaVersion: 39,
    version: 1,
    refresh: '30s',
    time: { from: 'now-6h', to: 'now' },
    annotations: { list: [] },
    links: [],
    templating: {
      list: [
        { type: 'datasource', name: 'datasource', label: 'Data source', query: 'prometheus', current: {}, hide: 0, refresh: 1, regex: '', options: [] },
        {
          type: 'query', name: 'namespace', label: 'Namespace', datasource: DS, hide: 0, refresh: 2, sort: 1, includeAll: false, multi: false,
          definition: 'label_values(bouncer_build_info, namespace)', query: { query: 'label_values(bouncer_build_info, namespace)', refId: 'namespace' }, current: {}, options: [],
        },
        {
          type: 'query', name: 'pod', label: 'Pod', datasource: DS, hide: 0, refresh: 2, sort: 1, includeAll: true, multi: true, allValue: '.*',
          definition: 'label_values(bouncer_build_info{namespace="$namespace"}, pod)', query: { query: 'label_values(bouncer_build_info{namespace="$namespace"}, pod)', refId: 'pod' }, current: {}, options: [],
        },
      ],
    },
    panels,
  }
}

export function renderDashboard (): string {
  return JSON.stringify(buildDashboard(), null, 2) + '\n'
}

function main (argv: string[]): number {
  const file = new URL(DASHBOARD_JSON, `file://${root}`)
  const wanted = renderDashboard()
  let current = ''
  try { current = readFileSync(file, 'utf8') } catch {}
  if (current === wanted) { console.log(`${DASHBOARD_JSON} is up to date`); return 0 }
  if (argv.includes('--check')) { console.error(`${DASHBOARD_JSON} is stale: run \`npx tsx scripts/gen-dashboard.ts\``); return 1 }
  writeFileSync(file, wanted)
  console.log(`wrote ${DASHBOARD_JSON}`)
  return 0
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) process.exitCode = main(process.argv.slice(2))
