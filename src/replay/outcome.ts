// What a decision comes to, in the terms of the decision contract (DESIGN.md): allow, status,
// body, the header changes (headers, response_headers, remove_headers), mask and cache_ttl —
// or an error, which the proxy turns into a fail-closed denial. `reason` is for logs only and
// is not compared. Each compared field is kept as one canonical string, so comparing two
// outcomes is a few string comparisons.
import { canonicalJson } from '../decision-log/index.js'
import { parseExtAuthzDecision } from '../ext-authz/decision.js'
import { compileMaskRules } from '../masking/index.js'
import { parseDecision } from '../proxy/decision.js'

/**
 * Which decision contract a result is read under: the proxy's, or opa-envoy-plugin's (ext_authz
 * listeners: `allowed`, headers as lists, request_headers_to_remove, query_parameters_to_remove and _to_set,
 * http_status, dynamic_metadata). A logged event says which by its labels.bouncer_mode.
 */
export type DecisionMode = 'proxy' | 'ext_authz'

export function modeOfEvent (ev: Record<string, unknown>): DecisionMode {
  const labels = ev.labels as Record<string, unknown> | undefined
  const m = labels !== null && typeof labels === 'object' ? labels.bouncer_mode : undefined
  return typeof m === 'string' && m.startsWith('ext_authz') ? 'ext_authz' : 'proxy'
}

export type Outcome = DecidedOutcome | ErrorOutcome

export interface DecidedOutcome {
  readonly kind: 'decision'
  readonly allow: boolean
  readonly status: number
  /** canonical JSON of each compared field ('' when absent) */
  readonly body: string
  readonly headers: string
  readonly mask: string
  readonly cacheTtl: string
  /** ext_authz: canonical JSON of dynamic_metadata ('' when absent) */
  readonly metadata: string
}

export interface ErrorOutcome {
  readonly kind: 'error'
  /** BOUNCER_ERR_… code: the proxy's FAIL_CODES, or what the evaluation threw */
  readonly code: string
  readonly message: string
}

const DECISION_ERROR = 'BOUNCER_ERR_POLICY_DECISION'
/** A logged result (one that was enforced: the event has no error) that does not read as a
 * decision here. Never equal to a candidate's outcome, so it cannot count as unchanged. */
export const UNREADABLE_RESULT = 'BOUNCER_REPLAY_UNREADABLE_RESULT'

/** The outcome of an entrypoint's value, checked as the proxy (or the ext_authz listener) checks
 * it (parseDecision or parseExtAuthzDecision, and the mask rules compiled as the masker compiles them). */
export function outcomeOfResult (result: unknown, mode: DecisionMode = 'proxy'): Outcome {
  let d
  try { d = mode === 'ext_authz' ? parseExtAuthzDecision(result) : parseDecision(result) } catch (e) {
    return { kind: 'error', code: DECISION_ERROR, message: (e as Error).message }
  }
  const envoy = mode === 'ext_authz' ? (d as ReturnType<typeof parseExtAuthzDecision>).envoy : undefined
  const queryRemoved = envoy !== undefined && envoy.queryParametersToRemove.length > 0 ? [...envoy.queryParametersToRemove].sort() : undefined
  const querySet = envoy !== undefined && envoy.queryParametersToSet.length > 0 ? sortedList(envoy.queryParametersToSet) : undefined
  let mask = ''
  if (d.allow && d.mask !== undefined) {
    mask = canonicalJson(d.mask)
    const problem = maskProblem(mask, d.mask)
    if (problem !== null) return { kind: 'error', code: DECISION_ERROR, message: `invalid mask: ${problem}` }
  }
  const hasHeaders = d.headers.length > 0 || d.responseHeaders.length > 0 || d.removeHeaders.length > 0 || queryRemoved !== undefined || querySet !== undefined
  return {
    kind: 'decision',
    allow: d.allow,
    status: d.status,
    body: d.allow || d.body === undefined ? '' : d.body,
    headers: hasHeaders
      ? canonicalJson({ headers: sortedList(d.headers), response_headers: sortedList(d.responseHeaders), remove_headers: [...d.removeHeaders].sort(), ...(queryRemoved !== undefined ? { query_parameters_to_remove: queryRemoved } : {}), ...(querySet !== undefined ? { query_parameters_to_set: querySet } : {}) })
      : '',
    mask,
    cacheTtl: d.cacheTtl === undefined ? '' : String(d.cacheTtl),
    metadata: envoy?.dynamicMetadata === undefined ? '' : canonicalJson(envoy.dynamicMetadata),
  }
}

// Policies return the same few mask lists over and over: each is compiled once (by its
// canonical text), as the proxy's masker compiles each once per cached decision.
const maskChecks = new Map<string, string | null>()
const MAX_MASK_CHECKS = 1024

function maskProblem (text: string, rules: readonly unknown[]): string | null {
  let p = maskChecks.get(text)
  if (p !== undefined) return p
  try { compileMaskRules(rules); p = null } catch (e) { p = (e as Error).message }
  if (maskChecks.size >= MAX_MASK_CHECKS) maskChecks.clear()
  maskChecks.set(text, p)
  return p
}

function sortedList (list: ReadonlyArray<readonly [string, string | string[]]>): Array<[string, string | string[]]> {
  return list.map(([n, v]) => [n, v] as [string, string | string[]]).sort((a, b) => a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)
}

/**
 * The decision a logged event records: an event with `error` was a fail-closed denial (its
 * result, if any, was not enforced); otherwise its result, checked as above.
 */
export function outcomeOfEvent (ev: Record<string, unknown>): Outcome {
  const err = ev.error as { code?: unknown; message?: unknown } | undefined
  if (err !== undefined && err !== null) {
    return { kind: 'error', code: typeof err.code === 'string' ? err.code : 'BOUNCER_ERR_UNKNOWN', message: typeof err.message === 'string' ? err.message : '' }
  }
  const o = outcomeOfResult(ev.result, modeOfEvent(ev))
  // The bouncer enforced this result, so it did read as a decision: replay misreads it (another
  // version's contract, a result cut by log masking). Not an error to compare error-to-error.
  return o.kind === 'error' ? { kind: 'error', code: UNREADABLE_RESULT, message: `the logged result does not read as a decision here: ${o.message}` } : o
}

/** A short text for tables and examples: "allow", "deny 403", "error BOUNCER_ERR_POLICY_EVAL". */
export function describeOutcome (o: Outcome): string {
  if (o.kind === 'error') return `error ${o.code}`
  if (o.allow) return o.status !== 200 ? `allow (status ${o.status})` : 'allow'
  return `deny ${o.status}`
}

/** The outcome as JSON (for --format json examples). */
export function outcomeJson (o: Outcome): Record<string, unknown> {
  if (o.kind === 'error') return { error: { code: o.code, message: o.message } }
  return {
    allow: o.allow,
    status: o.status,
    ...(o.body !== '' ? { body: o.body } : {}),
    ...(o.headers !== '' ? { headers: JSON.parse(o.headers) as unknown } : {}),
    ...(o.mask !== '' ? { mask: JSON.parse(o.mask) as unknown } : {}),
    ...(o.cacheTtl !== '' ? { cache_ttl: Number(o.cacheTtl) } : {}),
    ...(o.metadata !== '' ? { dynamic_metadata: JSON.parse(o.metadata) as unknown } : {}),
  }
}
