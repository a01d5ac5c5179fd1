// The decision step shared by HTTP requests and upgrades: active policy → decision cache →
// evaluation → decision contract → mask rules → decision log. Every failure on the way
// fails closed, is logged and counted; the caller only enforces the verdict.
import type { Logger } from 'pino'
import type { BouncerConfig } from '../config/index.js'
import { isBouncerError, type BouncerError, type ErrorCode } from '../errors.js'
import type { Metrics } from '../metrics/index.js'
import type { ActivePolicy, PolicyHolder } from '../policy/holder.js'
import { parseDecision, type Decision } from './decision.js'
import type { PolicyInput } from './input.js'
import { compileInputView, type InputView } from './projection.js'
import { InputJson } from '../policy/eval/index.js'
import type { DecisionCache, DecisionEventInput, DecisionLogger, Masker } from './seams.js'
import { compileSecretScrubber } from './secret-values.js'

export type FailReason = 'no_policy' | 'eval_error' | 'eval_timeout' | 'invalid_decision' | 'invalid_mask' | 'mask_unavailable' | 'log_backpressure'

/** The stable error code logged (and put in decision-log events) for each failure. */
export const FAIL_CODES: Readonly<Record<FailReason, ErrorCode>> = Object.freeze({
  no_policy: 'BOUNCER_ERR_PROXY_NO_POLICY',
  eval_error: 'BOUNCER_ERR_POLICY_EVAL',
  eval_timeout: 'BOUNCER_ERR_POLICY_EVAL_TIMEOUT',
  invalid_decision: 'BOUNCER_ERR_POLICY_DECISION',
  invalid_mask: 'BOUNCER_ERR_POLICY_DECISION',
  mask_unavailable: 'BOUNCER_ERR_PROXY_MASK_UNAVAILABLE',
  log_backpressure: 'BOUNCER_ERR_PROXY_LOG_BACKPRESSURE',
})

export type Verdict =
  | { readonly kind: 'allow'; readonly decision: Decision; readonly mask: unknown }
  | { readonly kind: 'deny'; readonly decision: Decision }
  | { readonly kind: 'fail'; readonly status: number; readonly reason: FailReason }

export interface DecideResult {
  readonly verdict: Verdict
  readonly cached: boolean
  readonly evalNs: number | undefined
  /** the decision's reason, or the failure's message (for logs only) */
  readonly reason: string | undefined
  readonly revision: string | undefined
  /** What the policy returned (fresh or cached), on allow and deny. */
  readonly result?: unknown
  /** The policy that decided, on allow and deny. */
  readonly policy?: ActivePolicy
  /** The input text the policy was given (or its cache key hashed), when it was serialised. */
  readonly text?: string
}

/** Sees each decision once it is made (the shadow policy); must not throw, must not block. */
export type DecisionObserver = (input: PolicyInput, ctx: DecideContext, r: DecideResult) => void

export interface DecideContext {
  readonly id: string
  readonly requestedBy: string
  /** process.hrtime.bigint() when the request arrived */
  readonly startNs: bigint
}

export interface EngineDeps {
  readonly config: BouncerConfig
  readonly holder: PolicyHolder
  readonly metrics: Metrics
  readonly log: Logger
  readonly cache?: DecisionCache
  /**
   * Cache key function for a policy (memoised by the caller); undefined = do not cache. It gets
   * the input and the text the evaluator is given (projection.ts), so a key over the policy's
   * compiled input paths hashes that text instead of serialising the input again.
   */
  readonly cacheKey?: (policy: ActivePolicy) => ((input: unknown, text: string) => string) | undefined
  /** Called with the input right before each evaluation (policy.print: the request id of print lines). */
  readonly beforeEvaluate?: (input: PolicyInput) => void
  readonly ttlFor?: (result: unknown, policy: ActivePolicy) => number
  readonly decisionLog?: DecisionLogger
  readonly masker?: Masker
  /** Reads the policy's result as a decision (default: parseDecision, the Bouncer contract; ext_authz reads it as opa-envoy-plugin does). */
  readonly parse?: (result: unknown) => Decision
  /** Labels added to this engine's decision-log events (ext_authz: bouncer_mode). */
  readonly eventLabels?: Readonly<Record<string, string>>
  /** Called with every decision after it is made (src/proxy/shadow.ts schedules its work for later). */
  readonly observe?: DecisionObserver
}

export type Decide = (input: PolicyInput, ctx: DecideContext) => Promise<DecideResult>

/** What the engine derives from a cached (deep-frozen, shared) decision, computed on its first hit. */
interface Derived {
  readonly decision: Decision
  /** compiled mask rules, once compiled */
  mask?: unknown
}

export function createEngine (deps: EngineDeps): Decide {
  const { config, holder, metrics, log, cache, decisionLog, masker, eventLabels } = deps
  const parse = deps.parse ?? parseDecision
  const memoryTier = cache?.tiers.memory === true
  const remoteTier = cache?.tiers.redis === true
  // Cached decisions are deep-frozen objects shared by every hit, so validating them (and
  // compiling their mask rules) once per object is enough; the WeakMap lets the entry go
  // when the cache evicts the object.
  const derived = new WeakMap<object, Derived>()
  const errorStatus = config.policy.error_status
  const notReadyStatus = config.policy.not_ready_status
  const timeoutNs = BigInt(Math.round(config.policy.eval_timeout_seconds * 1e9))
  const entrypoint = config.policy.entrypoint
  // Children bound once per label value (a label object is hashed on every call otherwise).
  const failClosed = new Map<FailReason, { inc (): void }>()
  const policyErrors = new Map<FailReason, { inc (): void }>()
  for (const r of Object.keys(FAIL_CODES) as FailReason[]) {
    failClosed.set(r, metrics.failClosed.labels(r))
    policyErrors.set(r, metrics.policyErrors.labels(r))
  }
  const evalHist = metrics.evalDuration
  const scrubSecrets = compileSecretScrubber(config)
  // The reason goes to the request's log line, written at info.
  const reasonsLogged = log.isLevelEnabled('info')
  const beforeEvaluate = deps.beforeEvaluate
  // What the evaluator gets, per policy (compiled once per activation, like the cache key).
  const views = new WeakMap<ActivePolicy, InputView>()
  const viewOf = (p: ActivePolicy): InputView => {
    let v = views.get(p)
    if (v === undefined) { v = compileInputView(p.inputPaths); views.set(p, v) }
    return v
  }

  function record (ctx: DecideContext, input: PolicyInput, policy: ActivePolicy | null, result: unknown, evalNs: number | undefined,
    error?: { code: string; message: string }): boolean {
    if (!decisionLog) return true
    const event: DecisionEventInput = {
      decision_id: ctx.id,
      path: policy?.entrypoint ?? entrypoint,
      input,
      ...(result !== undefined ? { result } : {}),
      ...(policy ? { bundles: policy.bundles } : {}),
      requested_by: ctx.requestedBy,
      ...(eventLabels !== undefined ? { labels: eventLabels } : {}),
      ...(evalNs !== undefined ? { eval_ns: evalNs } : {}),
      total_ns: Number(process.hrtime.bigint() - ctx.startNs),
      ...(error ? { error } : {}),
    }
    try {
      return decisionLog.record(event) !== 'backpressure'
    } catch (e) {
      // The logger must not throw; if it does, the event is lost: count it, keep serving.
      metrics.decisionLogDropped.labels('record_error').inc()
      log.error({ err: e, decision_id: ctx.id }, 'decision log record failed')
      return true
    }
  }

  function fail (ctx: DecideContext, input: PolicyInput, policy: ActivePolicy | null, reason: FailReason, status: number,
    message: string, result: unknown, evalNs: number | undefined, cached: boolean): DecideResult {
    failClosed.get(reason)!.inc()
    if (reason !== 'no_policy' && reason !== 'log_backpressure' && reason !== 'mask_unavailable') policyErrors.get(reason)!.inc()
    const code = FAIL_CODES[reason]
    // Any of them may quote a credential from the input: a strict builtin's error, an invalid
    // decision's header name, a mask rule's path (second review, session 52: only eval_error was).
    message = scrubSecrets(message, input)
    log.warn({ id: ctx.id, reason, code, error: message, revision: policy?.revision }, 'fail closed')
    if (reason !== 'log_backpressure') record(ctx, input, policy, scrubSecrets.result(result, input), evalNs, { code, message })
    return { verdict: { kind: 'fail', status, reason }, cached, evalNs, reason: message, revision: policy?.revision }
  }

  // write_mode "group": the event is written by the spool's writer at the end of this turn,
  // together with the events of every other request of the turn. The request waits for that
  // write (tens of µs, no CPU) so that nothing goes on whose event a crash could still lose.
  const hold = decisionLog?.holdRequests === true ? decisionLog : undefined

  const observe = deps.observe
  if (hold === undefined) {
    if (observe === undefined) return decideNow
    return async function decide (input: PolicyInput, ctx: DecideContext): Promise<DecideResult> {
      const r = await decideNow(input, ctx)
      observe(input, ctx, r)
      return r
    }
  }
  return async function decide (input: PolicyInput, ctx: DecideContext): Promise<DecideResult> {
    const r = await decideNow(input, ctx)
    if (r.verdict.kind === 'fail' && r.verdict.reason === 'log_backpressure') { observe?.(input, ctx, r); return r }
    // A write that failed lost the turn's events, which no drop marker can declare (they took
    // no seq): refused whatever decision_logs.overflow says (see DecisionLogger.append).
    if (!await hold.written()) {
      const f = fail(ctx, input, holder.current, 'log_backpressure', 503, 'decision log could not be written', undefined, r.evalNs, r.cached)
      observe?.(input, ctx, f)
      return f
    }
    observe?.(input, ctx, r)
    return r
  }

  async function decideNow (input: PolicyInput, ctx: DecideContext): Promise<DecideResult> {
    const policy = holder.current
    if (policy === null) return fail(ctx, input, null, 'no_policy', notReadyStatus, 'no policy is active', undefined, undefined, false)

    let key: string | undefined
    let result: unknown
    let cached = false
    // The input as the evaluator gets it: only what the policy reads, serialised once and
    // shared with the cache key.
    const view = viewOf(policy)
    let text: string | undefined
    const keyFn = cache && deps.cacheKey ? deps.cacheKey(policy) : undefined
    if (keyFn) {
      try {
        if (!view.whole) text = view.text(input)
        key = keyFn(input, text ?? '')
        let hit = memoryTier ? cache!.getMemory(key) : undefined
        // Only a memory miss with a remote tier yields. A newer policy may be activated
        // meanwhile; the key includes the revision, so a hit is still the old policy's answer —
        // the request's policy (in-flight requests finish on the policy they started with).
        if (hit === undefined && remoteTier) hit = await cache!.getRemote(key)
        if (hit !== undefined) { result = hit.decision; cached = true }
      } catch (e) {
        key = undefined
        log.warn({ id: ctx.id, err: e }, 'decision cache key/lookup failed; evaluating')
      }
    }

    let evalNs: number | undefined
    if (!cached) {
      let t0 = process.hrtime.bigint()
      try {
        text ??= view.text(input)
        // written straight into the module's memory (no intermediate UTF-8 buffer)
        const bytes = new InputJson(text)
        beforeEvaluate?.(input)
        t0 = process.hrtime.bigint()
        result = policy.evaluate(bytes)
      } catch (e) {
        const ns = Number(process.hrtime.bigint() - t0)
        evalHist.observe(ns / 1e9)
        // The evaluation was stopped by its step budget (policy.eval_step_budget).
        const reason = isBouncerError(e, 'BOUNCER_ERR_POLICY_EVAL_TIMEOUT') ? 'eval_timeout' : 'eval_error'
        return fail(ctx, input, policy, reason, errorStatus, (e as Error).message, undefined, ns, false)
      }
      const dt = process.hrtime.bigint() - t0
      evalNs = Number(dt)
      evalHist.observe(evalNs / 1e9)
      if (dt > timeoutNs) {
        return fail(ctx, input, policy, 'eval_timeout', errorStatus, `evaluation took ${(evalNs / 1e6).toFixed(2)} ms; the limit is ${config.policy.eval_timeout_seconds * 1000} ms`, result, evalNs, false)
      }
    }

    // A cached value went through JSON (and may come from another pod): it is validated like a
    // fresh result, but a frozen one only on its first hit. The evaluator's results are frozen
    // and shared too (equal result text, same object: src/policy/eval shareResults), so a
    // decision the policy keeps returning is parsed, and its mask compiled, once.
    let memo: Derived | undefined
    let decision: Decision
    if (result !== null && typeof result === 'object' && Object.isFrozen(result)) {
      memo = derived.get(result)
      if (memo === undefined) {
        try {
          memo = { decision: Object.freeze(parse(result)) }
        } catch (e) {
          return fail(ctx, input, policy, 'invalid_decision', errorStatus, (e as BouncerError).message, result, evalNs, cached)
        }
        derived.set(result, memo)
      }
      decision = memo.decision
    } else {
      try {
        decision = parse(result)
      } catch (e) {
        return fail(ctx, input, policy, 'invalid_decision', errorStatus, (e as BouncerError).message, result, evalNs, cached)
      }
    }

    let mask: unknown
    if (decision.allow && decision.mask) {
      if (!masker) return fail(ctx, input, policy, 'mask_unavailable', 502, 'decision requires masking but no masker is configured', result, evalNs, cached)
      mask = memo?.mask
      if (mask === undefined) {
        try {
          mask = masker.compile(decision.mask)
        } catch (e) {
          return fail(ctx, input, policy, 'invalid_mask', errorStatus, (e as Error).message, result, evalNs, cached)
        }
        if (memo) memo.mask = mask
      }
    }

    // Stored once it is known to be usable: a decision whose mask rules do not compile (or that
    // needs a masker there is none of) is a failure, and failures are never cached.
    if (!cached && key !== undefined) {
      const ttl = deps.ttlFor ? deps.ttlFor(result, policy) : (decision.cacheTtl ?? 0)
      if (ttl > 0) {
        try { void Promise.resolve(cache!.set(key, result, ttl)).catch(() => {}) } catch { /* cache trouble never fails a request */ }
      }
    }

    // What is logged of the result (the decision log, the request's log line) without the
    // input's credentials, should the policy have echoed one; nothing is looked at for an
    // output that is off (the values are worked out once per input for both).
    const logged = decisionLog === undefined ? result : scrubSecrets.result(result, input)
    if (!record(ctx, input, policy, logged, evalNs)) {
      return fail(ctx, input, policy, 'log_backpressure', 503, 'decision log is full', result, evalNs, cached)
    }
    return {
      verdict: decision.allow ? { kind: 'allow', decision, mask } : { kind: 'deny', decision },
      cached,
      evalNs,
      reason: decision.reason === undefined || !reasonsLogged ? decision.reason : scrubSecrets(decision.reason, input),
      revision: policy.revision,
      result,
      policy,
      text,
    }
  }
}
