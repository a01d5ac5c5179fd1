// Every Prometheus metric of the process is named here, in one place, with its labels.
// Each app instance gets its own Registry (tests build several apps in one process);
// components receive the `Metrics` object and never create metrics themselves.
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client'
import { FastHistogram } from './histogram.js'
import { buildInfo, type BuildInfo } from './build-info.js'

// Policy evaluation is microseconds; upstream calls are milliseconds to seconds.
const EVAL_BUCKETS = [0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.25]
const HTTP_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]

export interface MetricsOptions {
  /**
   * Also export prom-client's process and runtime metrics under their standard names
   * (process_*, nodejs_*), so stock Node.js dashboards and alerts work unchanged.
   */
  defaultMetrics?: boolean
  /** Labels of bouncer_build_info; default: this package's version and revision, this Node.js. */
  build?: BuildInfo
}

export function createMetrics (opts: MetricsOptions = {}) {
  const registry = new Registry()
  if (opts.defaultMetrics) collectDefaultMetrics({ register: registry })
  const r = [registry]
  const collectors: Array<() => void> = []
  const metrics = {
    registry,
    /** Callbacks run right before each scrape (gauges that mirror a component's status). */
    collectors,
    /** Runs the collectors, then renders the registry. */
    async render (): Promise<string> {
      for (const c of collectors) {
        try { c() } catch { /* a failing collector must not break the scrape */ }
      }
      return await registry.metrics()
    },

    // --- the process ---
    buildInfo: new Gauge({ name: 'bouncer_build_info', help: 'The running build (value 1): package version, source revision, Node.js version', labelNames: ['version', 'revision', 'node'] as const, registers: r }),
    /** 1 while /readyz answers 200 (set at scrape time by the admin server), 0 otherwise. */
    ready: new Gauge({ name: 'bouncer_ready', help: 'Whether the instance is ready (1) or not (0), as /readyz reports', registers: r }),

    // --- requests and decisions (proxy) ---
    /** every request answered, by outcome: allow | deny | policy_error | unavailable | rejected | upstream_error */
    requests: new Counter({ name: 'bouncer_requests_total', help: 'Requests handled, by decision outcome and response status (status "0": no response was sent, the client left or the connection was cut first)', labelNames: ['decision', 'status'] as const, registers: r }),
    requestDuration: new FastHistogram({ name: 'bouncer_request_duration_seconds', help: 'Time from request start to response head sent', labelNames: ['decision'] as const, buckets: HTTP_BUCKETS, registers: r }),
    inflight: new Gauge({ name: 'bouncer_inflight_requests', help: 'Requests being processed', registers: r }),
    evalDuration: new FastHistogram({ name: 'bouncer_policy_eval_duration_seconds', help: 'Policy evaluation latency (cache misses only)', buckets: EVAL_BUCKETS, registers: r }),
    policyErrors: new Counter({ name: 'bouncer_policy_errors_total', help: 'Evaluations that failed or returned an invalid decision', labelNames: ['reason'] as const, registers: r }),
    failClosed: new Counter({ name: 'bouncer_fail_closed_total', help: 'Requests denied because something failed (fail closed), by reason', labelNames: ['reason'] as const, registers: r }),
    rejected: new Counter({ name: 'bouncer_rejected_requests_total', help: 'Requests rejected before evaluation (bad target, body limits, ...)', labelNames: ['reason'] as const, registers: r }),
    maskBuffered: new Gauge({ name: 'bouncer_mask_buffered_bytes', help: 'Bytes of upstream responses held in memory for masking now, all requests together (capped by masking.max_buffered_bytes)', registers: r }),
    parsedBodyBuffered: new Gauge({ name: 'bouncer_parsed_body_buffered_bytes', help: 'Bytes of request bodies held in memory for parsed_body now, all requests together (capped by policy.parsed_body.max_buffered_bytes)', registers: r }),
    upstreamDuration: new FastHistogram({ name: 'bouncer_upstream_duration_seconds', help: 'Time until the upstream response head', labelNames: ['outcome'] as const, buckets: HTTP_BUCKETS, registers: r }),
    upstreamErrors: new Counter({ name: 'bouncer_upstream_errors_total', help: 'Upstream failures, by kind (timeout, connect, reset, ...)', labelNames: ['reason'] as const, registers: r }),
    websocketUpgrades: new Counter({ name: 'bouncer_websocket_upgrades_total', help: 'Upgrade requests, by outcome', labelNames: ['outcome'] as const, registers: r }),
    websocketOpen: new Gauge({ name: 'bouncer_websocket_connections', help: 'Tunnelled upgrade connections currently open', registers: r }),
    authResults: new Counter({ name: 'bouncer_auth_results_total', help: 'Bearer token verification results', labelNames: ['result'] as const, registers: r }),
    jwksRefreshes: new Counter({ name: 'bouncer_auth_jwks_refreshes_total', help: 'JWKS fetches, by outcome', labelNames: ['outcome'] as const, registers: r }),

    // --- active policy ---
    policyInfo: new Gauge({ name: 'bouncer_policy_info', help: 'The active policy (value 1), labelled with its revision and entrypoint', labelNames: ['revision', 'entrypoint', 'source'] as const, registers: r }),
    policyActivations: new Counter({ name: 'bouncer_policy_activations_total', help: 'Policy activations', registers: r }),
    policyActivatedAt: new Gauge({ name: 'bouncer_policy_activated_timestamp_seconds', help: 'When the active policy was activated (unix seconds)', registers: r }),
    policyMemoryBytes: new Gauge({ name: 'bouncer_policy_memory_bytes', help: 'Wasm memory of the active policy instance', registers: r }),

    // --- shadow policy (src/proxy/shadow.ts): evaluated beside the active one, never enforced ---
    /** agree | allow_to_deny | deny_to_allow | status | body | headers | mask | error (see docs/operations.md, "Shadow policy") */
    shadowDecisions: new Counter({ name: 'bouncer_shadow_decisions_total', help: 'Shadow policy evaluations, by how the shadow decision compares with the active one (agree, allow_to_deny, deny_to_allow, status, body, headers, mask, error)', labelNames: ['agreement'] as const, registers: r }),
    /** sampled_out | rate_limited | queue_full | no_shadow_policy | active_failed */
    shadowSkipped: new Counter({ name: 'bouncer_shadow_skipped_total', help: 'Decisions the shadow policy was not evaluated for, by reason (sampled_out, rate_limited, queue_full, no_shadow_policy, active_failed)', labelNames: ['reason'] as const, registers: r }),
    shadowEvalDuration: new FastHistogram({ name: 'bouncer_shadow_eval_duration_seconds', help: 'Shadow policy evaluation latency (off the request path)', buckets: EVAL_BUCKETS, registers: r }),
    shadowLoadFailures: new Counter({ name: 'bouncer_shadow_load_failures_total', help: 'Shadow policies that failed to load or compile (the proxy serves with the active policy alone)', registers: r }),
    shadowPolicyInfo: new Gauge({ name: 'bouncer_shadow_policy_info', help: 'The shadow policy (value 1), labelled with its revision and entrypoint', labelNames: ['revision', 'entrypoint', 'source'] as const, registers: r }),

    // --- Envoy ext_authz (src/ext-authz): Check calls over gRPC and HTTP ---
    /** transport grpc|http; outcome allow | deny | fail_closed | invalid (a malformed request, denied 400) */
    extAuthzChecks: new Counter({ name: 'bouncer_ext_authz_checks_total', help: 'Envoy ext_authz checks, by transport (grpc, http) and outcome (allow, deny, fail_closed, invalid)', labelNames: ['transport', 'outcome'] as const, registers: r }),
    extAuthzDuration: new FastHistogram({ name: 'bouncer_ext_authz_check_duration_seconds', help: 'Time from receiving an ext_authz check to sending its answer, by transport', labelNames: ['transport'] as const, buckets: HTTP_BUCKETS, registers: r }),

    // --- bundles (src/policy/bundle) ---
    bundleRevision: new Gauge({ name: 'bouncer_bundle_revision_info', help: 'Active bundle revision (value 1)', labelNames: ['name', 'revision'] as const, registers: r }),
    bundleLastSuccess: new Gauge({ name: 'bouncer_bundle_last_success_timestamp_seconds', help: 'Last successful bundle download/activation (unix seconds)', labelNames: ['name'] as const, registers: r }),
    bundleFailures: new Counter({ name: 'bouncer_bundle_failures_total', help: 'Bundle download/verify/activate failures, by reason', labelNames: ['name', 'reason'] as const, registers: r }),
    bundleDownloads: new Counter({ name: 'bouncer_bundle_downloads_total', help: 'Bundle downloads, by HTTP outcome (200, 304, error)', labelNames: ['name', 'outcome'] as const, registers: r }),

    // --- decision cache (src/cache; shapes match CacheMetrics in src/cache/metrics.ts) ---
    cacheHits: new Counter({ name: 'bouncer_decision_cache_hits_total', help: 'Decision cache hits, by tier (memory|redis)', labelNames: ['tier'] as const, registers: r }),
    cacheMisses: new Counter({ name: 'bouncer_decision_cache_misses_total', help: 'Decision cache misses, by tier (memory|redis)', labelNames: ['tier'] as const, registers: r }),
    cacheRedisErrors: new Counter({ name: 'bouncer_decision_cache_redis_errors_total', help: 'Redis errors, by operation (get|set|probe)', labelNames: ['op'] as const, registers: r }),
    cacheRedisTimeouts: new Counter({ name: 'bouncer_decision_cache_redis_timeouts_total', help: 'Redis calls abandoned after the command timeout, by operation', labelNames: ['op'] as const, registers: r }),
    cacheRedisSkipped: new Counter({ name: 'bouncer_decision_cache_redis_skipped_total', help: 'Redis calls skipped because the circuit breaker was open', registers: r }),
    cacheBreakerState: new Gauge({ name: 'bouncer_decision_cache_breaker_state', help: 'Redis circuit breaker: 0 closed, 1 half-open, 2 open', registers: r }),
    cacheEntries: new Gauge({ name: 'bouncer_decision_cache_entries', help: 'Entries in the in-process tier', registers: r }),
    cacheBytes: new Gauge({ name: 'bouncer_decision_cache_bytes', help: 'Bytes in the in-process tier', registers: r }),

    // --- masking (src/masking) ---
    maskedResponses: new Counter({ name: 'bouncer_masked_responses_total', help: 'Responses passed through masking, by outcome (masked|failed)', labelNames: ['outcome'] as const, registers: r }),
    maskDuration: new FastHistogram({ name: 'bouncer_mask_duration_seconds', help: 'Time to buffer, decode and mask a response', buckets: HTTP_BUCKETS, registers: r }),

    // --- decision logs (src/decision-log) ---
    decisionLogEvents: new Counter({ name: 'bouncer_decision_log_events_total', help: 'Decision log events, by outcome (recorded|uploaded|dropped)', labelNames: ['outcome'] as const, registers: r }),
    decisionLogDropped: new Counter({ name: 'bouncer_decision_log_dropped_total', help: 'Decision log events dropped, by reason', labelNames: ['reason'] as const, registers: r }),
    decisionLogSpoolBytes: new Gauge({ name: 'bouncer_decision_log_spool_bytes', help: 'Bytes in the on-disk spool', registers: r }),
    decisionLogBufferEvents: new Gauge({ name: 'bouncer_decision_log_buffer_events', help: 'Events waiting to be uploaded', registers: r }),
    decisionLogUploads: new Counter({ name: 'bouncer_decision_log_uploads_total', help: 'Upload attempts, by outcome (ok|error|too_large)', labelNames: ['outcome'] as const, registers: r }),
  }
  const b = opts.build ?? buildInfo()
  metrics.buildInfo.set({ version: b.version, revision: b.revision, node: b.node }, 1)
  return metrics
}

export type Metrics = ReturnType<typeof createMetrics>
