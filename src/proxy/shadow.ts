// The shadow policy: a candidate evaluated beside the active policy and never enforced.
//
// The engine hands every decision to observe() once it is made. observe() decides at once, and
// cheaply, whether this decision gets a shadow evaluation (the active one failed, no shadow is
// loaded, sampling, the per-second cap — each counted in bouncer_shadow_skipped_total) and queues
// it; the queue is drained in a later turn of the event loop (setImmediate), after the request's
// continuation has applied the active decision and started forwarding, a slice of at most
// SLICE_MS at a time (I/O runs between slices); a queue that has reached MAX_QUEUE decisions, or
// MAX_QUEUE_BYTES of input, takes no more (skipped, queue_full: a shadow slower than the traffic,
// with no cap). A waiting decision keeps its input alive, so the bytes matter as much as the
// count: each is charged (pendingBytes) the length of the input text the active policy was given,
// serialised already, when that text is the whole input; otherwise what the text leaves out is
// bounded instead (the headers' lengths, parsed_body.max_bytes for a parsed body); plus
// ENTRY_BYTES. So the shadow costs the request nothing but the queueing, and nothing the shadow
// does reaches it: the shadow's evaluation errors, step-budget exhaustion, slow evaluations and
// invalid decisions are outcomes ("error"), never exceptions, and nothing it returns is enforced
// or cached.
//
// The shadow sees the input the active policy saw (the same object; the pipeline does not change
// it after the decision). The evaluator is given the paths the shadow's entrypoint reads: when
// they are the active policy's, the text serialised for the active evaluation is reused;
// otherwise the input is projected again for the shadow.
//
// Comparison (compareDecisions) is field by field on the validated decisions: allow first, then,
// for two denials, status and body, then headers (headers, response_headers, remove_headers, as
// sets), then, for two allows, mask rules. reason and cache_ttl are not compared (they are not
// enforced). A disagreement or an error is written to the decision log as a shadow event: the
// active decision's input, result and bundles, plus `shadow` with the shadow's result (or error),
// entrypoint, bundles, both revisions and the fields that differ.
import { randomUUID } from 'node:crypto'
import type { Logger } from 'pino'
import { isBouncerError, type BouncerError, type ErrorCode } from '../errors.js'
import type { Metrics } from '../metrics/index.js'
import type { ActivePolicy, InputPaths, PolicyHolder } from '../policy/holder.js'
import { parseDecision, type Decision, type HeaderList } from './decision.js'
import type { DecideContext, DecideResult, DecisionObserver } from './engine.js'
import type { PolicyInput } from './input.js'
import { compileInputView, inputBytes, type InputView } from './projection.js'
import type { DecisionLogger, Masker } from './seams.js'
import type { SecretScrubber } from './secret-values.js'
import { canonicalJson } from '../cache/canonical-json.js'

/** bouncer_shadow_decisions_total{agreement}: how the shadow decision compares with the active one. */
export type Agreement = 'agree' | 'allow_to_deny' | 'deny_to_allow' | 'status' | 'body' | 'headers' | 'mask' | 'error'
export const AGREEMENTS: readonly Agreement[] = Object.freeze(['agree', 'allow_to_deny', 'deny_to_allow', 'status', 'body', 'headers', 'mask', 'error'])

/** bouncer_shadow_skipped_total{reason}: why a decision got no shadow evaluation. */
export type SkipReason = 'sampled_out' | 'rate_limited' | 'queue_full' | 'no_shadow_policy' | 'active_failed'
export const SKIP_REASONS: readonly SkipReason[] = Object.freeze(['sampled_out', 'rate_limited', 'queue_full', 'no_shadow_policy', 'active_failed'])

/** Decisions waiting for their shadow evaluation, at most. */
export const MAX_QUEUE = 4096
/**
 * Input waiting for its shadow evaluation, at most (bytes of input text, as charged by
 * pendingBytes). A decision whose charge would go past it is skipped (queue_full), unless the
 * queue is empty.
 */
export const MAX_QUEUE_BYTES = 32 * 1024 * 1024
/** Charged for each waiting decision besides its input text: the entry, the input's skeleton, the decision. */
export const ENTRY_BYTES = 1024
/** Longest run of shadow evaluations in one turn of the event loop (ms). */
const SLICE_MS = 2

/** A decision field that can differ (the shadow event's `differences`). */
export type DecisionField = 'allow' | 'status' | 'body' | 'headers' | 'response_headers' | 'remove_headers' | 'mask'

export interface Comparison {
  readonly agreement: Exclude<Agreement, 'error'>
  readonly differences: readonly DecisionField[]
}

/**
 * Field-by-field comparison of two validated decisions. `agreement` names the most important
 * difference (allow, then status, body, headers, mask); `differences` lists every one.
 */
export function compareDecisions (active: Decision, shadow: Decision): Comparison {
  if (active.allow !== shadow.allow) return { agreement: active.allow ? 'allow_to_deny' : 'deny_to_allow', differences: ['allow'] }
  const diff: DecisionField[] = []
  if (!active.allow) {
    if (active.status !== shadow.status) diff.push('status')
    if (active.body !== shadow.body || active.bodyType !== shadow.bodyType) diff.push('body')
  }
  if (!sameHeaders(active.headers, shadow.headers)) diff.push('headers')
  if (!sameHeaders(active.responseHeaders, shadow.responseHeaders)) diff.push('response_headers')
  if (!sameNames(active.removeHeaders, shadow.removeHeaders)) diff.push('remove_headers')
  if (active.allow && !sameMask(active.mask, shadow.mask)) diff.push('mask')
  let agreement: Comparison['agreement'] = 'agree'
  if (diff.includes('status')) agreement = 'status'
  else if (diff.includes('body')) agreement = 'body'
  else if (diff.includes('headers') || diff.includes('response_headers') || diff.includes('remove_headers')) agreement = 'headers'
  else if (diff.includes('mask')) agreement = 'mask'
  return { agreement, differences: diff }
}

/** Header lists as sets of (name, value) (names are lower-case already; order is not enforced). */
function sameHeaders (a: HeaderList, b: HeaderList): boolean {
  if (a.length !== b.length) return false
  // The common case: the same policy text gives the same headers in the same order.
  let inOrder = true
  for (let i = 0; i < a.length && inOrder; i++) inOrder = a[i]![0] === b[i]![0] && sameValue(a[i]![1], b[i]![1])
  if (inOrder) return true
  const key = (l: HeaderList): string => l.map(([n, v]) => JSON.stringify([n, v])).sort().join('\n')
  return key(a) === key(b)
}

function sameValue (a: string | string[], b: string | string[]): boolean {
  if (typeof a === 'string' || typeof b === 'string') return a === b
  return a.length === b.length && a.every((x, i) => x === b[i])
}

function sameNames (a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false
  const s = new Set(a)
  return b.every((n) => s.has(n))
}

function sameMask (a: readonly unknown[] | undefined, b: readonly unknown[] | undefined): boolean {
  if (a === undefined || b === undefined) return a === b
  return canonicalJson(a) === canonicalJson(b)
}

export interface ShadowOptions {
  /** Fraction of decisions evaluated (0..1). */
  readonly sample: number
  /** Most evaluations per clock second; 0 = no cap. */
  readonly maxPerSecond: number
  /** An evaluation slower than this is an error (its result is discarded), as for the active policy. */
  readonly evalTimeoutSeconds: number
  /** Clock in ms (the per-second cap's windows); default Date.now. */
  readonly now?: () => number
  /** Uniform [0, 1) (sampling); default Math.random. */
  readonly random?: () => number
  /**
   * The largest parsed_body (policy.parsed_body.max_bytes): what a waiting decision is charged for
   * its parsed body when the active policy's text does not hold the whole input. Default 0.
   */
  readonly parsedBodyMaxBytes?: number
}

export interface ShadowDeps {
  /** Where the shadow policy is activated (never the active policy's holder). */
  readonly holder: PolicyHolder
  readonly metrics: Metrics
  readonly log: Logger
  readonly decisionLog?: DecisionLogger
  /** Mask rules of a shadow decision are compiled, so an invalid list is an error as it would be if enforced. */
  readonly masker?: Masker
  /** Called with the input right before each shadow evaluation (policy.print: the request id of print lines). */
  readonly beforeEvaluate?: (input: PolicyInput) => void
  /** A builtin error may quote a credential of the input (strict builtin errors): cut out before it is logged or recorded, as on the active path. */
  readonly scrubSecrets: SecretScrubber
}

export interface Shadow {
  /** For the engine (EngineDeps.observe). */
  readonly observe: DecisionObserver
  /** Evaluates what is queued now (tests; otherwise a later turn of the event loop does). */
  drain (): void
}

interface Pending {
  readonly input: PolicyInput
  readonly id: string
  readonly requestedBy: string
  readonly active: ActivePolicy
  readonly decision: Decision
  readonly result: unknown
  readonly text: string | undefined
  readonly shadow: ActivePolicy
  /** What it counts against MAX_QUEUE_BYTES (pendingBytes). */
  readonly bytes: number
}

/** A key for what a policy's evaluator is given: two policies with the same key get the same text. */
function viewKeyOf (paths: InputPaths): string {
  if (paths == null || paths.some((p) => p.length === 0)) return 'whole'
  return JSON.stringify(paths.map((p) => JSON.stringify(p)).sort())
}

/**
 * What a waiting decision is charged against MAX_QUEUE_BYTES, without serialising anything: the
 * length of the text the active policy was given when that text is the whole input (`whole`);
 * otherwise that text (a projection, or none on a cache hit) plus a bound on what it may leave
 * out: the path and headers (their lengths) and a parsed body (`bodyBytes`, its largest size).
 */
export function pendingBytes (input: PolicyInput, text: string | undefined, whole: boolean, bodyBytes: number): number {
  if (whole && text !== undefined) return ENTRY_BYTES + text.length
  const http = input.attributes.request.http
  let n = ENTRY_BYTES + (text?.length ?? 0) + http.path.length
  const h = http.headers
  for (const k in h) n += k.length + h[k]!.length
  if (input.parsed_body !== undefined) n += bodyBytes
  return n
}

export function createShadow (opts: ShadowOptions, deps: ShadowDeps): Shadow {
  const { holder, metrics, log, decisionLog, masker, beforeEvaluate } = deps
  const sample = opts.sample
  const cap = opts.maxPerSecond
  const now = opts.now ?? Date.now
  const random = opts.random ?? Math.random
  const timeoutNs = opts.evalTimeoutSeconds * 1e9
  const bodyBytes = opts.parsedBodyMaxBytes ?? 0
  const decided = new Map<Agreement, { inc (): void }>()
  for (const a of AGREEMENTS) decided.set(a, metrics.shadowDecisions.labels(a))
  const skipped = new Map<SkipReason, { inc (): void }>()
  for (const r of SKIP_REASONS) skipped.set(r, metrics.shadowSkipped.labels(r))
  const evalHist = metrics.shadowEvalDuration

  // What each policy's evaluator gets (compiled once per activation), and the key that says
  // whether the active policy's text can be reused.
  const views = new WeakMap<ActivePolicy, { view: InputView; key: string }>()
  const viewOf = (p: ActivePolicy): { view: InputView; key: string } => {
    let v = views.get(p)
    if (v === undefined) { v = { view: compileInputView(p.inputPaths), key: viewKeyOf(p.inputPaths) }; views.set(p, v) }
    return v
  }

  let second = -1
  let used = 0
  let queue: Pending[] = []
  let head = 0
  /** The charges (pendingBytes) of queue[head..]. */
  let queuedBytes = 0
  let scheduled = false

  function admit (): SkipReason | undefined {
    if (sample < 1 && (sample <= 0 || random() >= sample)) return 'sampled_out'
    if (cap > 0) {
      const s = Math.floor(now() / 1000)
      if (s !== second) { second = s; used = 0 }
      if (used >= cap) return 'rate_limited'
      used++
    }
    return undefined
  }

  function observe (input: PolicyInput, ctx: DecideContext, r: DecideResult): void {
    const v = r.verdict
    if (v.kind === 'fail' || r.policy === undefined) { skipped.get('active_failed')!.inc(); return }
    const shadow = holder.current
    if (shadow === null) { skipped.get('no_shadow_policy')!.inc(); return }
    const waiting = queue.length - head
    if (waiting >= MAX_QUEUE) { skipped.get('queue_full')!.inc(); return }
    const bytes = pendingBytes(input, r.text, viewOf(r.policy).view.whole, bodyBytes)
    if (waiting > 0 && queuedBytes + bytes > MAX_QUEUE_BYTES) { skipped.get('queue_full')!.inc(); return }
    const why = admit()
    if (why !== undefined) { skipped.get(why)!.inc(); return }
    queue.push({ input, id: ctx.id, requestedBy: ctx.requestedBy, active: r.policy, decision: v.decision, result: r.result, text: r.text, shadow, bytes })
    queuedBytes += bytes
    if (!scheduled) { scheduled = true; setImmediate(slice) }
  }

  /** One turn's share of the queue; the rest waits for the next turn. */
  function slice (): void {
    scheduled = false
    const until = process.hrtime.bigint() + BigInt(SLICE_MS * 1e6)
    while (head < queue.length) {
      run(take())
      if (process.hrtime.bigint() >= until) break
    }
    settle()
  }

  function drain (): void {
    while (head < queue.length) run(take())
    settle()
  }

  function take (): Pending {
    const p = queue[head++]!
    queuedBytes -= p.bytes
    return p
  }

  function settle (): void {
    // What was evaluated is let go (the inputs it holds), what is left goes on in the next turn.
    queue = head < queue.length ? queue.slice(head) : []
    head = 0
    if (queue.length > 0 && !scheduled) { scheduled = true; setImmediate(slice) }
  }

  function run (p: Pending): void {
    try { evaluate(p) } catch (e) {
      // Nothing here may reach a request; a bug in the comparison is logged and counted.
      decided.get('error')!.inc()
      log.error({ err: e, decision_id: p.id }, 'shadow evaluation failed unexpectedly')
    }
  }

  function evaluate (p: Pending): void {
    const { shadow, active } = p
    const sv = viewOf(shadow)
    const text = p.text !== undefined && sv.key === viewOf(active).key ? p.text : sv.view.text(p.input)
    let result: unknown
    let error: { code: ErrorCode; message: string } | undefined
    const bytes = inputBytes(text)
    beforeEvaluate?.(p.input)
    const t0 = process.hrtime.bigint()
    try {
      result = shadow.evaluate(bytes)
    } catch (e) {
      error = { code: isBouncerError(e, 'BOUNCER_ERR_POLICY_EVAL_TIMEOUT') ? 'BOUNCER_ERR_POLICY_EVAL_TIMEOUT' : 'BOUNCER_ERR_POLICY_EVAL', message: deps.scrubSecrets((e as Error).message, p.input) }
    }
    const ns = Number(process.hrtime.bigint() - t0)
    evalHist.observe(ns / 1e9)
    if (error === undefined && ns > timeoutNs) {
      error = { code: 'BOUNCER_ERR_POLICY_EVAL_TIMEOUT', message: `evaluation took ${(ns / 1e6).toFixed(2)} ms; the limit is ${timeoutNs / 1e6} ms` }
      result = undefined
    }
    let comparison: Comparison | undefined
    if (error === undefined) {
      try {
        const d = parseDecision(result)
        if (d.allow && d.mask !== undefined && masker !== undefined) masker.compile(d.mask)
        comparison = compareDecisions(p.decision, d)
      } catch (e) {
        error = { code: 'BOUNCER_ERR_POLICY_DECISION', message: deps.scrubSecrets((e as BouncerError).message, p.input) }
      }
    }
    const agreement: Agreement = comparison?.agreement ?? 'error'
    decided.get(agreement)!.inc()
    if (agreement === 'agree') return
    if (error !== undefined) log.debug({ decision_id: p.id, code: error.code, error: error.message, revision: shadow.revision }, 'shadow policy error')
    if (decisionLog === undefined) return
    try {
      decisionLog.record({
        decision_id: randomUUID(),
        path: active.entrypoint,
        input: p.input,
        ...(p.result !== undefined ? { result: deps.scrubSecrets.result(p.result, p.input) } : {}),
        bundles: active.bundles,
        requested_by: p.requestedBy,
        shadow: {
          agreement,
          differences: comparison === undefined ? [] : [...comparison.differences],
          active_decision_id: p.id,
          revisions: { active: active.revision, shadow: shadow.revision },
          path: shadow.entrypoint,
          bundles: { ...shadow.bundles },
          ...(error === undefined ? { result: deps.scrubSecrets.result(result, p.input) } : { error }),
          metrics: { timer_rego_query_eval_ns: ns },
        },
      })
    } catch (e) {
      metrics.decisionLogDropped.labels('record_error').inc()
      log.error({ err: e, decision_id: p.id }, 'decision log record failed (shadow event)')
    }
  }

  return { observe, drain }
}
