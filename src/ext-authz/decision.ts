// The policy's result read as opa-envoy-plugin reads it (envoyauth EvalResult), plus the
// Bouncer decision contract's names so one bundle serves both modes:
//   a boolean, or an object with
//   allowed (or allow)                    boolean, required
//   headers                               object of name → string (or list of strings), or a
//                                         list of such objects: added to the upstream request
//                                         (allow) or to the denial (deny)
//   response_headers_to_add               same shape, allow only: added to the client's response
//                                         (Bouncer's response_headers is merged in)
//   request_headers_to_remove             list of names, allow only (Bouncer: remove_headers)
//   query_parameters_to_remove            list of names, allow only
//   query_parameters_to_set               object of name → string (or list of strings), allow
//                                         only: set on the upstream request (gRPC; HTTP cannot
//                                         carry it and refuses the allow)
//   http_status (or Bouncer's status)     denial status, default 403
//   body                                  denial body (a string)
//   dynamic_metadata                      object, returned as CheckResponse.dynamic_metadata
//                                         (at most 32 levels deep and 1 MiB encoded: proto.ts)
// As in the plugin, the fields of the other branch are not read (an allow's body is ignored).
// Anything malformed is a policy error (BOUNCER_ERR_POLICY_DECISION): the engine denies.
import { BouncerError } from '../errors.js'
import { jsonNumber } from '../exact-json.js'
import { STATUS_CODES } from '../node-http.js'
import type { Decision, HeaderList } from '../proxy/decision.js'
import { metadataProblem } from './proto.js'

export interface EnvoyResult {
  /** the result was an object (the plugin then sends ok_response / denied_response), not a boolean */
  readonly object: boolean
  readonly responseHeadersToAdd: readonly (readonly [string, string])[]
  readonly headersToRemove: readonly string[]
  readonly queryParametersToRemove: readonly string[]
  /** name → value pairs in order (a list value becomes several) */
  readonly queryParametersToSet: readonly (readonly [string, string])[]
  readonly dynamicMetadata: Readonly<Record<string, unknown>> | undefined
  /** headers as an ordered list of single values (a list value becomes several options) */
  readonly headerOptions: readonly (readonly [string, string])[]
}

export interface ExtAuthzDecision extends Decision {
  readonly envoy: EnvoyResult
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/
/**
 * What RFC 9110 does not allow in a field value (field-vchar, obs-text, SP and HTAB are): the
 * control characters. Every header value a decision sets is checked here, whichever transport
 * carries it (http.ts also refuses what Node's HTTP/1 writer cannot encode, above U+00FF).
 */
export const NOT_FIELD_VALUE = /[\0-\x08\x0a-\x1f\x7f]/
const MAX_REASON = 512

function invalid (why: string): BouncerError {
  return new BouncerError('BOUNCER_ERR_POLICY_DECISION', [why])
}

// null for a field the plugin reads is an error there (a type assertion on nil), so a denial
// here; absent is nothing. The Bouncer contract's own names (response_headers, remove_headers)
// keep the proxy's reading, where null is nothing.
const PLUGIN_FIELDS: ReadonlySet<string> = new Set(['headers', 'response_headers_to_add', 'request_headers_to_remove', 'query_parameters_to_remove', 'query_parameters_to_set'])
function absent (v: unknown, field: string): boolean {
  if (v === undefined) return true
  if (v === null) { if (PLUGIN_FIELDS.has(field)) throw invalid(`${field} must not be null`); return true }
  return false
}

function headerOptions (v: unknown, field: string): [string, string][] {
  if (absent(v, field)) return []
  const maps = Array.isArray(v) ? v : [v]
  const out: [string, string][] = []
  for (const m of maps) {
    if (m === null || typeof m !== 'object' || Array.isArray(m)) throw invalid(`${field} must be an object of headers or a list of such objects`)
    for (const [name, value] of Object.entries(m as Record<string, unknown>)) {
      if (!TOKEN.test(name)) throw invalid(`${field}: invalid header name ${JSON.stringify(name)}`)
      const values = typeof value === 'string' ? [value] : Array.isArray(value) && value.every((x) => typeof x === 'string') ? value as string[] : undefined
      if (values === undefined) throw invalid(`${field}.${name} must be a string`)
      for (const one of values) {
        if (NOT_FIELD_VALUE.test(one)) throw invalid(`${field}.${name}: value contains a control character (not allowed in an HTTP field value)`)
        out.push([name.toLowerCase(), one])
      }
    }
  }
  return out
}

function names (v: unknown, field: string): string[] {
  if (absent(v, field)) return []
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) throw invalid(`${field} must be a list of strings`)
  return v as string[]
}

/** names() of headers: each a valid header name on both transports (HTTP could not send
 *  `a\r\nx-evil: 1`, and gRPC passed it to Envoy as it was). */
function headerNames (v: unknown, field: string): string[] {
  const list = names(v, field)
  for (const name of list) if (!TOKEN.test(name)) throw invalid(`${field}: invalid header name ${JSON.stringify(name)}`)
  return list
}

/** query_parameters_to_set as the plugin reads it: an object of name → string or list of strings. */
function queryParams (v: unknown, field: string): [string, string][] {
  if (absent(v, field)) return []
  if (typeof v !== 'object' || Array.isArray(v)) throw invalid(`${field} must be an object of parameters`)
  const out: [string, string][] = []
  for (const [name, value] of Object.entries(v as Record<string, unknown>)) {
    // Envoy refuses an empty key (QueryParameter.key min_len 1): the whole response, then.
    if (name === '' || NOT_FIELD_VALUE.test(name)) throw invalid(`${field}: invalid parameter name ${JSON.stringify(name)}`)
    const values = typeof value === 'string' ? [value] : Array.isArray(value) && value.every((x) => typeof x === 'string') ? value as string[] : undefined
    if (values === undefined) throw invalid(`${field}.${name} must be a string or a list of strings`)
    for (const one of values) {
      if (NOT_FIELD_VALUE.test(one)) throw invalid(`${field}.${name}: value contains a control character`)
      out.push([name, one])
    }
  }
  return out
}

function asHeaderList (opts: readonly (readonly [string, string])[]): HeaderList {
  return opts.map(([n, v]) => [n, v] as const)
}

const NO_ENVOY: EnvoyResult = Object.freeze({ object: false, responseHeadersToAdd: [], headersToRemove: [], queryParametersToRemove: [], queryParametersToSet: [], dynamicMetadata: undefined, headerOptions: [] })
const base = { body: undefined, bodyType: undefined, headers: [], responseHeaders: [], removeHeaders: [], mask: undefined, cacheTtl: undefined, reason: undefined }
const ALLOW: ExtAuthzDecision = Object.freeze({ ...base, allow: true, status: 200, envoy: NO_ENVOY })
const DENY: ExtAuthzDecision = Object.freeze({ ...base, allow: false, status: 403, envoy: NO_ENVOY })

/** The engine's parse step for ext_authz (createEngine's `parse`). */
export function parseExtAuthzDecision (result: unknown): ExtAuthzDecision {
  if (result === true) return ALLOW
  if (result === false) return DENY
  if (result === undefined) throw invalid('the entrypoint is undefined for this input')
  if (result === null || typeof result !== 'object' || Array.isArray(result)) {
    throw invalid(`illegal value for policy evaluation result: ${Array.isArray(result) ? 'an array' : result === null ? 'null' : typeof result}`)
  }
  const d = result as Record<string, unknown>
  let allow: boolean
  if (typeof d.allowed === 'boolean') {
    if (d.allow !== undefined && d.allow !== d.allowed) throw invalid('allowed and allow disagree')
    allow = d.allowed
  } else if (d.allowed === undefined && typeof d.allow === 'boolean') {
    allow = d.allow
  } else {
    throw invalid(d.allowed === undefined ? 'missing "allowed" key' : '"allowed" must be a boolean')
  }
  const headers = headerOptions(d.headers, 'headers')
  let dynamicMetadata: Record<string, unknown> | undefined
  if (d.dynamic_metadata === null) throw invalid('dynamic_metadata must not be null')
  if (d.dynamic_metadata !== undefined) {
    if (typeof d.dynamic_metadata !== 'object' || Array.isArray(d.dynamic_metadata)) throw invalid('dynamic_metadata must be an object')
    dynamicMetadata = d.dynamic_metadata as Record<string, unknown>
    const problem = metadataProblem(dynamicMetadata)
    if (problem !== undefined) throw invalid(`dynamic_metadata is ${problem}`)
  }
  // As the proxy reads it (src/proxy/decision.ts): anything but a list is an invalid decision,
  // never a mask quietly left out of a response Envoy then forwards whole.
  if (d.mask !== undefined && d.mask !== null && !Array.isArray(d.mask)) throw invalid('mask must be a list of rules')
  if (Array.isArray(d.mask) && d.mask.length > 0 && allow) throw invalid('mask rules cannot be enforced through ext_authz (Envoy forwards the response)')
  let cacheTtl: number | undefined
  if (d.cache_ttl !== undefined) {
    const n = jsonNumber(d.cache_ttl)
    if (n === undefined || !Number.isFinite(n) || n < 0) throw invalid('cache_ttl must be a number of seconds >= 0')
    cacheTtl = n
  }
  let reason: string | undefined
  if (typeof d.reason === 'string') reason = d.reason.length > MAX_REASON ? d.reason.slice(0, MAX_REASON) : d.reason

  let status = allow ? 200 : 403
  let body: string | undefined
  let responseHeadersToAdd: [string, string][] = []
  let headersToRemove: string[] = []
  let queryParametersToRemove: string[] = []
  let queryParametersToSet: [string, string][] = []
  if (allow) {
    responseHeadersToAdd = [...headerOptions(d.response_headers_to_add, 'response_headers_to_add'), ...headerOptions(d.response_headers, 'response_headers')]
    headersToRemove = [...headerNames(d.request_headers_to_remove, 'request_headers_to_remove'), ...headerNames(d.remove_headers, 'remove_headers')].map((h) => h.toLowerCase())
    queryParametersToRemove = names(d.query_parameters_to_remove, 'query_parameters_to_remove')
    queryParametersToSet = queryParams(d.query_parameters_to_set, 'query_parameters_to_set')
  } else {
    // A number the policy wrote as 403.0 is kept as its text (exact-json.ts): read as a number.
    const hs = d.http_status === undefined ? undefined : jsonNumber(d.http_status) ?? d.http_status
    const ds = d.status === undefined ? undefined : jsonNumber(d.status) ?? d.status
    const s = hs ?? ds
    if (hs !== undefined && ds !== undefined && hs !== ds) throw invalid('http_status and status disagree')
    if (s !== undefined) {
      if (typeof s !== 'number' || !Number.isInteger(s) || STATUS_CODES[s] === undefined || s < 200) throw invalid(`Invalid HTTP status code ${JSON.stringify(s)}`)
      status = s
    }
    if (d.body !== undefined) {
      if (typeof d.body !== 'string') throw invalid('body must be a string')
      body = d.body
    }
  }
  return {
    allow,
    status,
    body,
    bodyType: body === undefined ? undefined : 'text/plain; charset=utf-8',
    headers: asHeaderList(headers),
    responseHeaders: asHeaderList(responseHeadersToAdd),
    removeHeaders: headersToRemove,
    mask: undefined,
    cacheTtl,
    reason,
    envoy: { object: true, responseHeadersToAdd, headersToRemove, queryParametersToRemove, queryParametersToSet, dynamicMetadata, headerOptions: headers },
  }
}

export function isExtAuthzDecision (d: Decision): d is ExtAuthzDecision {
  return (d as Partial<ExtAuthzDecision>).envoy !== undefined
}
