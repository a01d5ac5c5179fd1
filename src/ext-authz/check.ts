// One check, whatever carried it (gRPC or HTTP): the input goes through the proxy's decision step
// (src/proxy/engine.ts: active policy → decision cache → evaluation → decision log), created for
// ext_authz with the plugin's reading of the result (decision.ts) and events labelled with the
// mode. The transports map the verdict to their own answer and account for it here.
import { randomUUID } from 'node:crypto'
import type { Logger } from 'pino'
import type { Authenticator } from '../auth/index.js'
import type { ErrorCode } from '../errors.js'
import type { Metrics } from '../metrics/index.js'
import { FAIL_CODES, type Decide, type FailReason } from '../proxy/engine.js'
import type { PolicyInput } from '../proxy/input.js'
import { isExtAuthzDecision, type ExtAuthzDecision } from './decision.js'
import type { ActivePolicy } from '../policy/holder.js'
import { readsBody, type ExtAuthzInput } from './input.js'

export type Transport = 'grpc' | 'http'
export type Outcome = 'allow' | 'deny' | 'fail_closed' | 'invalid'

export type CheckResult =
  | { readonly kind: 'allow' | 'deny'; readonly decision: ExtAuthzDecision; readonly decisionId: string; readonly cached: boolean }
  | { readonly kind: 'fail'; readonly status: number; readonly reason: FailReason; readonly code: ErrorCode; readonly decisionId: string }

export interface Checker {
  /**
   * Whether the input must carry the parsed body: the active policy can read parsed_body or
   * truncated_body (input.ts readsBody), or there is no policy holder to ask (always).
   */
  readsBody (): boolean
  /**
   * Decides on an input (never throws: an unexpected error is a failure, fail closed).
   * `bodyParsed` false: built without the body (readsBody() said so); a policy that decides
   * it and can read the body (activated in between) fails closed.
   */
  check (input: ExtAuthzInput, requestedBy: string, startNs: bigint, bodyParsed?: boolean): Promise<CheckResult>
  /** Counts an answered check and logs it at debug level. */
  account (transport: Transport, outcome: Outcome, startNs: bigint, fields?: Record<string, unknown>): void
}

export interface CheckerDeps {
  /** createEngine({ ..., parse: parseExtAuthzDecision, eventLabels }) */
  readonly decide: Decide
  readonly metrics: Metrics
  readonly log: Logger
  /** status when something unexpected fails (policy.error_status) */
  readonly errorStatus: number
  /** The engine's policy holder: the body is parsed only when its active policy can read it. */
  readonly holder: { readonly current: ActivePolicy | null }
  /** auth.jwt, when enabled: the input gets identity / identity_error as the proxy's does. */
  readonly auth?: Authenticator
}

export function createChecker (deps: CheckerDeps): Checker {
  const { decide, metrics, log, errorStatus, auth } = deps
  const counters = new Map<string, { inc (): void }>()
  const counter = (transport: Transport, outcome: Outcome): { inc (): void } => {
    const k = `${transport}|${outcome}`
    let c = counters.get(k)
    if (c === undefined) { c = metrics.extAuthzChecks.labels(transport, outcome); counters.set(k, c) }
    return c
  }
  const durations = { grpc: metrics.extAuthzDuration.labels('grpc'), http: metrics.extAuthzDuration.labels('http') }
  const holder = deps.holder
  const bodyNeeds = new WeakMap<ActivePolicy, boolean>()
  const needsBody = (p: ActivePolicy): boolean => {
    let b = bodyNeeds.get(p)
    if (b === undefined) { b = readsBody(p.inputPaths); bodyNeeds.set(p, b) }
    return b
  }

  return {
    readsBody () {
      const p = holder.current
      // No policy: the engine fails closed without reading the input.
      return p === null ? false : needsBody(p)
    },

    async check (input, requestedBy, startNs, bodyParsed = true) {
      const decisionId = randomUUID()
      try {
        if (auth !== undefined) {
          // The header the authenticator reads, as Envoy passed it (names lower-case): one
          // bundle judges the same identity whether it runs behind the proxy port or Envoy.
          const headers = (input.attributes.request.http.headers ?? {}) as Record<string, string>
          const a = await auth.authenticate(headers)
          if (a.identity !== undefined) input.identity = a.identity
          if (a.error !== undefined) input.identity_error = a.error
        }
        // The ext_authz input is not the proxy's input shape; the engine only serialises it,
        // hands it to the policy and logs it.
        const r = await decide(input as unknown as PolicyInput, { id: decisionId, requestedBy, startNs })
        const v = r.verdict
        if (v.kind === 'fail') return { kind: 'fail', status: v.status, reason: v.reason, code: FAIL_CODES[v.reason], decisionId }
        // The input is built and decided in one turn, so the policy that decided is the one
        // readsBody() asked about; should that ever not hold, the decision is not used.
        if (!bodyParsed && r.policy !== undefined && needsBody(r.policy)) throw new Error('the policy that decided reads the body, which was not parsed')
        if (!isExtAuthzDecision(v.decision)) throw new Error('the engine did not read the result as an ext_authz decision')
        return { kind: v.kind, decision: v.decision, decisionId, cached: r.cached }
      } catch (e) {
        log.error({ decision_id: decisionId, err: e }, 'ext_authz: unexpected error deciding; denied')
        metrics.failClosed.labels('eval_error').inc()
        return { kind: 'fail', status: errorStatus, reason: 'eval_error', code: 'BOUNCER_ERR_POLICY_EVAL', decisionId }
      }
    },

    account (transport, outcome, startNs, fields) {
      counter(transport, outcome).inc()
      durations[transport].observe(Number(process.hrtime.bigint() - startNs) / 1e9)
      if (log.isLevelEnabled('debug')) log.debug({ transport, outcome, ...fields }, 'ext_authz check')
    },
  }
}
