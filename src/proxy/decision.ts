// The decision contract (DESIGN.md): a boolean, or an object with a boolean `allow` (or
// `allowed`) and optional status, body, headers, response_headers, remove_headers, mask,
// cache_ttl, reason. Anything else is a policy error, which the caller turns into a denial.
// Unknown fields are ignored (forward compatibility); known fields with a wrong type are errors.
import { BouncerError } from '../errors.js'
import { PROTECTED } from './headers.js'
import { isRawJson, jsonNumber } from '../exact-json.js'

export type HeaderList = ReadonlyArray<readonly [name: string, value: string | string[]]>

export interface Decision {
  readonly allow: boolean
  /** denial status (default 403) */
  readonly status: number
  /** denial body, already serialised */
  readonly body: string | undefined
  readonly bodyType: string | undefined
  /** allow: added to the forwarded request; deny: added to the denial */
  readonly headers: HeaderList
  /** added to the response sent to the client */
  readonly responseHeaders: HeaderList
  /** request headers stripped before forwarding (lower-case) */
  readonly removeHeaders: readonly string[]
  /** masking rules (non-empty) or undefined */
  readonly mask: readonly unknown[] | undefined
  readonly cacheTtl: number | undefined
  readonly reason: string | undefined
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/
// Field values: visible ASCII, obs-text, SP and HTAB; never CR, LF or NUL.
const BAD_VALUE = /[\0\r\n]/
const MAX_REASON = 512

const ALLOW: Decision = Object.freeze({
  allow: true, status: 200, body: undefined, bodyType: undefined, headers: [], responseHeaders: [], removeHeaders: [],
  mask: undefined, cacheTtl: undefined, reason: undefined,
})
const DENY: Decision = Object.freeze({ ...ALLOW, allow: false, status: 403 })

function invalid (why: string): BouncerError {
  return new BouncerError('BOUNCER_ERR_POLICY_DECISION', [why])
}

function headerList (v: unknown, field: string): HeaderList {
  if (v === undefined || v === null) return []
  if (typeof v !== 'object' || Array.isArray(v)) throw invalid(`${field} must be an object`)
  const out: [string, string | string[]][] = []
  for (const [name, value] of Object.entries(v as Record<string, unknown>)) {
    if (!TOKEN.test(name)) throw invalid(`${field}: invalid header name ${JSON.stringify(name)}`)
    const lower = name.toLowerCase()
    if (PROTECTED.has(lower)) throw invalid(`${field}: header ${JSON.stringify(lower)} cannot be set by a policy`)
    let val: string | string[]
    if (typeof value === 'string') val = value
    else if (typeof value === 'number' || typeof value === 'boolean') val = String(value)
    else if (isRawJson(value)) val = value.rawJSON // a number as the policy wrote it (1.0)
    else if (Array.isArray(value) && value.every((x) => typeof x === 'string')) val = value as string[]
    else throw invalid(`${field}.${name} must be a string or a list of strings`)
    if (Array.isArray(val) ? val.some((x) => BAD_VALUE.test(x)) : BAD_VALUE.test(val)) throw invalid(`${field}.${name}: value contains CR, LF or NUL`)
    out.push([lower, val])
  }
  return out
}

/**
 * Validates what the policy returned. `undefined` (the entrypoint is undefined for this
 * input) is a policy error too: a decision point must always decide.
 */
export function parseDecision (result: unknown): Decision {
  if (result === true) return ALLOW
  if (result === false) return DENY
  if (result === undefined) throw invalid('the entrypoint is undefined for this input')
  if (result === null || typeof result !== 'object' || Array.isArray(result)) {
    throw invalid(`expected a boolean or an object, got ${Array.isArray(result) ? 'an array' : result === null ? 'null' : typeof result}`)
  }
  const d = result as Record<string, unknown>
  let allow: boolean
  if (typeof d.allow === 'boolean') {
    if (d.allowed !== undefined && d.allowed !== d.allow) throw invalid('allow and allowed disagree')
    allow = d.allow
  } else if (d.allow === undefined && typeof d.allowed === 'boolean') {
    allow = d.allowed
  } else {
    throw invalid('"allow" (or "allowed") must be a boolean')
  }
  let status = allow ? 200 : 403
  if (d.status !== undefined) {
    const n = jsonNumber(d.status)
    if (n === undefined || !Number.isInteger(n) || n < 200 || n > 599) throw invalid('status must be an integer between 200 and 599')
    status = n
  }
  let body: string | undefined
  let bodyType: string | undefined
  if (d.body !== undefined) {
    if (typeof d.body === 'string') { body = d.body; bodyType = 'text/plain; charset=utf-8' } else { body = JSON.stringify(d.body); bodyType = 'application/json' }
  }
  let removeHeaders: string[] = []
  if (d.remove_headers !== undefined && d.remove_headers !== null) {
    if (!Array.isArray(d.remove_headers) || !d.remove_headers.every((h) => typeof h === 'string' && TOKEN.test(h))) {
      throw invalid('remove_headers must be a list of header names')
    }
    removeHeaders = (d.remove_headers as string[]).map((h) => h.toLowerCase())
    const bad = removeHeaders.find((h) => PROTECTED.has(h))
    if (bad) throw invalid(`remove_headers: header ${JSON.stringify(bad)} cannot be removed by a policy`)
  }
  let mask: unknown[] | undefined
  if (d.mask !== undefined && d.mask !== null) {
    if (!Array.isArray(d.mask)) throw invalid('mask must be a list of rules')
    if (d.mask.length) mask = d.mask
  }
  let cacheTtl: number | undefined
  if (d.cache_ttl !== undefined) {
    const n = jsonNumber(d.cache_ttl)
    if (n === undefined || !Number.isFinite(n) || n < 0) throw invalid('cache_ttl must be a number of seconds >= 0')
    cacheTtl = n
  }
  let reason: string | undefined
  if (d.reason !== undefined && d.reason !== null) {
    if (typeof d.reason !== 'string') throw invalid('reason must be a string')
    reason = d.reason.length > MAX_REASON ? d.reason.slice(0, MAX_REASON) : d.reason
  }
  return {
    allow,
    status,
    body,
    bodyType,
    headers: headerList(d.headers, 'headers'),
    responseHeaders: headerList(d.response_headers, 'response_headers'),
    removeHeaders,
    mask,
    cacheTtl,
    reason,
  }
}
