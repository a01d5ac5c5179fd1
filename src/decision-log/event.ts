// Decision events in OPA's decision-log format, and the step that builds one from what the
// proxy knows about a decision. Field names follow OPA's EventV1 (labels, decision_id,
// trace_id, span_id, bundles, path, input, result, erased, masked, error, requested_by,
// timestamp, metrics). Everything sensitive is removed here, before the event is serialised,
// so nothing unmasked ever reaches the spool, a sink or the control plane.

import { deepFreeze } from '../deep-freeze.js'
import { randomUUID } from 'node:crypto'
import { credentialShape } from './credential-shapes.js'
import { compileClaimMatcher, compileNameMatcher, compileUrlScrubber, eraseKeysDeep, escapePointer, firstFragmentSegment, mayHaveUrlParams, mayHoldParams, readBodyText, scrubParamValuesDeep, URL_HEADERS, WITHHELD_BODY, type NameMatcher } from './erase.js'
import { sortedCopy, sortKeys } from '../sorted-copy.js'
import { nowRfc3339Nano, rfc3339Nano } from './timestamp.js'

/** What the proxy passes to DecisionLogger.record() for each decision. */
export interface DecisionEventInput {
  /** Unique id of this decision; a random UUID when absent. */
  readonly decision_id?: string
  /** Entrypoint queried, OPA style without "data.": e.g. "envoy/authz/allow". */
  readonly path: string
  /** The policy input exactly as evaluated. Never mutated: erasure and masking copy. */
  readonly input: unknown
  /** What the policy returned (boolean or decision object). */
  readonly result?: unknown
  /** Bundles the policy came from: { name: { revision } }. */
  readonly bundles?: Readonly<Record<string, { readonly revision: string }>>
  /** Client address, "ip:port". */
  readonly requested_by?: string
  /** When the decision was made, ns since the epoch; the logger's clock when absent. */
  readonly timestamp_ns?: bigint
  /** Policy evaluation time in ns (→ metrics.timer_rego_query_eval_ns); omit on cache hits. */
  readonly eval_ns?: number
  /** Request handling time up to the decision in ns (→ metrics.timer_server_handler_ns). */
  readonly total_ns?: number
  /** More numeric metrics, OPA naming (counter_*, timer_*_ns). */
  readonly metrics?: Readonly<Record<string, number>>
  /** W3C traceparent; taken from input.attributes.request.http.headers when absent. */
  readonly traceparent?: string
  /** The request's correlation id (x-request-id); input.attributes.request.http.id when absent. */
  readonly request_id?: string
  /** Evaluation error, for error-denies. */
  readonly error?: { readonly code: string; readonly message: string }
  /** Labels of this event on top of the configured ones (ext_authz events: bouncer_mode). */
  readonly labels?: Readonly<Record<string, string>>
  /** A shadow comparison (src/proxy/shadow.ts): this event is not a decision that was enforced. */
  readonly shadow?: ShadowRecord
}

/**
 * What a shadow event adds to the active decision it compares with (the event's own path,
 * input, result and bundles are the active decision's). Consumers that count enforced
 * decisions skip events that carry `shadow`, as they skip drop markers.
 */
export interface ShadowRecord {
  /** agree | allow_to_deny | deny_to_allow | status | body | headers | mask | error */
  agreement: string
  /** Every field that differs: allow, status, body, headers, response_headers, remove_headers, mask. */
  differences: string[]
  /** decision_id of the active decision's own event. */
  active_decision_id: string
  /** Revisions of the two policies ("" when the source has none). */
  revisions: { active: string; shadow: string }
  /** The shadow policy's entrypoint. */
  path: string
  bundles?: Record<string, { revision: string }>
  /** What the shadow policy returned (absent on an error). */
  result?: unknown
  /** Why the shadow evaluation failed (agreement "error"). */
  error?: { code: string; message: string }
  /** Shadow evaluation time (timer_rego_query_eval_ns). */
  metrics?: Record<string, number>
}

/** An event as stored and shipped, before the chain fields are added. */
export interface DecisionEvent {
  labels: Readonly<Record<string, string>>
  decision_id: string
  /** the request id the client, the upstream and the request log line share (decision_id stays unique) */
  request_id?: string
  trace_id?: string
  span_id?: string
  bundles?: Record<string, { revision: string }>
  path: string
  input?: unknown
  result?: unknown
  error?: { code: string; message: string }
  /** JSON pointers (into the event) of fields removed before storage. */
  erased?: string[]
  /** JSON pointers (into the event) of fields whose values were replaced before storage. */
  masked?: string[]
  requested_by?: string
  timestamp: string
  metrics?: Record<string, number>
  /** Present on shadow events only (a comparison, never an enforced decision). */
  shadow?: ShadowRecord
}

/** Chain fields every stored event carries (see chain.ts). */
export interface ChainFields { seq: number; prev_hash: string; hash: string }

/**
 * A declared drop: chain records from_seq..to_seq may be missing from what was delivered. The
 * range starts right after the last delivered record, so it can overlap earlier declarations
 * (and records that an upload in flight did deliver); `count` is the number of decision events
 * this declaration adds to the losses (including those of any earlier marker that was itself
 * dropped before delivery), so the counts of the markers that arrive add up to all losses.
 */
export interface DropDeclaration {
  reason: DropReason
  from_seq: number
  to_seq: number
  count: number
  /** hash of record from_seq - 1 (the last delivered), tying the gap's start to the chain. */
  from_prev_hash: string
  /** hash of record to_seq, so the record after the gap can still be linked. */
  to_hash: string
  /**
   * Ranges declared again: those of earlier markers dropped before delivery that begin at or
   * below the last delivered record, so the range above does not cover them (a control plane
   * took uploads after them but not the markers). Each as exact as it was declared; at most
   * MAX_ALSO_RANGES (logger.ts). Absent when there is none.
   */
  also?: DeclaredRange[]
}

/** A range of a declaration (its own, or one of `also`). */
export interface DeclaredRange {
  from_seq: number
  to_seq: number
  from_prev_hash: string
  to_hash: string
}

/** A chain record that declares a drop. Consumers of decision events should skip records that
 * carry `drop`; they exist so a verifier can tell a declared gap from a silent one. */
export interface DropMarker { labels: Record<string, string>; decision_id: string; timestamp: string; drop: DropDeclaration }

export type DropReason = 'spool_full' | 'rejected_too_large' | 'rejected_invalid' | 'missing_on_disk'

/**
 * Optional masking step, e.g. mask rules or a mask policy (OPA's system.log.mask). Receives the
 * event after the built-in header erasure; must not modify its argument in place; returns the
 * event to store plus the JSON pointers it erased / masked (merged into the event's lists), or
 * `drop: true` when the event is not to be logged at all (OPA's system.log.drop).
 */
export type EventMasker = (event: DecisionEvent) => { event: DecisionEvent; erased: readonly string[]; masked: readonly string[]; drop?: boolean }

/** Adapter for document maskers shaped like src/masking's applyMask(doc, mask, opts) →
 * { value, masked, erased }, with rule paths addressing the whole event ("/input/…",
 * "/result/…"): maskerFromDocumentMask((e) => applyMask(e, compiled, { hashKey })). */
export function maskerFromDocumentMask (apply: (doc: DecisionEvent) => { value: unknown; masked: readonly string[]; erased?: readonly string[] }): EventMasker {
  return (event) => {
    const r = apply(event)
    return { event: r.value as DecisionEvent, erased: r.erased ?? [], masked: r.masked }
  }
}

/** `first`, then `second` on what it left (lists concatenated); a drop by `first` ends there. */
export function chainMaskers (first: EventMasker, second: EventMasker): EventMasker {
  return (event) => {
    const a = first(event)
    if (a.drop === true) return a
    const b = second(a.event)
    return { event: b.event, erased: [...a.erased, ...b.erased], masked: [...a.masked, ...b.masked], ...(b.drop === true ? { drop: true } : {}) }
  }
}

export interface TraceContext { trace_id: string; span_id: string }

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/

/** Parse a W3C traceparent header. span_id is the caller's span (the parent of this hop). */
export function parseTraceparent (header: string | undefined): TraceContext | undefined {
  if (header === undefined || header.length < 55 || header.length > 512) return undefined
  const m = TRACEPARENT.exec(header.trim())
  if (m === null) return undefined
  const [, version, traceId, spanId, , rest] = m
  // Version ff is forbidden; version 00 has exactly four fields; all-zero ids are invalid.
  if (version === 'ff' || (version === '00' && rest !== undefined)) return undefined
  if (/^0+$/.test(traceId!) || /^0+$/.test(spanId!)) return undefined
  return { trace_id: traceId!, span_id: spanId! }
}

export interface EventBuilderOptions {
  labels: Readonly<Record<string, string>>
  eraseHeaders: readonly string[]
  /** Query parameter names (also JSON body field names) that are credentials (case-insensitive):
   * their values are replaced in the logged path, and they are removed from parsed_query and,
   * at any depth, from parsed_body. Default: none. */
  eraseQueryParams?: readonly string[]
  mask?: EventMasker
}

export interface BuiltEvent { event: DecisionEvent; maskError?: Error; /** a drop policy said not to log it */ drop?: true }

// Header maps that may hold credentials: the request headers in the policy input (Envoy
// ext_authz shape), and the headers a decision adds upstream or to the response.
interface HeaderMap { readonly path: readonly string[]; readonly pointer: string }
const HEADER_MAPS: readonly HeaderMap[] = [
  ['input', 'attributes', 'request', 'http', 'headers'],
  ['result', 'headers'],
  ['result', 'response_headers'],
  // ext_authz results (opa-envoy-plugin's names)
  ['result', 'response_headers_to_add'],
  ['shadow', 'result', 'headers'],
  ['shadow', 'result', 'response_headers'],
  ['shadow', 'result', 'response_headers_to_add'],
].map((path) => ({ path, pointer: '/' + path.map(escapePointer).join('/') + '/' }))

/** Compile labels and the erasure list once; the returned function runs per decision. */
export function compileEventBuilder (opts: EventBuilderOptions): (input: DecisionEventInput, timestamp?: string) => BuiltEvent {
  const labels = Object.freeze({ ...opts.labels })
  const erase = new Set(opts.eraseHeaders.map((h) => h.toLowerCase()))
  const queryNames = opts.eraseQueryParams ?? []
  const isCredential = compileNameMatcher(queryNames)
  const isCredentialClaim = compileClaimMatcher(queryNames)
  // Per builder: another builder may erase other names.
  const claimErasures = new WeakMap<object, { value: unknown; erased: readonly string[] }>()
  const scrubPath = compileUrlScrubber(isCredential)
  const scrubQueryValue = compileUrlScrubber(isCredential, { queryOnly: true })
  const scrubFragment = compileUrlScrubber(isCredential, { fragmentOnly: true })
  const mask = opts.mask

  // `timestamp`: the event's time, already formatted, when it was taken earlier than now
  // (events the logger seals at the end of the turn they were recorded in).
  return function build (d: DecisionEventInput, timestamp?: string): BuiltEvent {
    const event: DecisionEvent = {
      labels: d.labels === undefined ? labels : { ...labels, ...d.labels }, // shared and frozen: serialised, never modified
      decision_id: d.decision_id ?? randomUUID(),
      path: d.path,
      timestamp: d.timestamp_ns !== undefined ? rfc3339Nano(d.timestamp_ns) : timestamp ?? nowRfc3339Nano(),
    }
    const rid = d.request_id ?? httpIdOf(d.input)
    if (rid !== undefined) event.request_id = rid
    const tc = parseTraceparent(d.traceparent ?? headerOf(d.input, 'traceparent'))
    if (tc !== undefined) { event.trace_id = tc.trace_id; event.span_id = tc.span_id }
    if (d.bundles !== undefined) {
      const b: Record<string, { revision: string }> = {}
      for (const name of Object.keys(d.bundles)) b[name] = { revision: String(d.bundles[name]!.revision) }
      event.bundles = b
    }
    if (d.input !== undefined) event.input = d.input
    if (d.result !== undefined) event.result = d.result
    if (d.error !== undefined) event.error = { code: d.error.code, message: d.error.message }
    if (d.requested_by !== undefined) event.requested_by = d.requested_by
    const metrics = buildMetrics(d)
    if (metrics !== undefined) event.metrics = metrics
    // A copy: erasure below replaces objects on the way down, never the caller's.
    if (d.shadow !== undefined) event.shadow = { ...d.shadow, revisions: { ...d.shadow.revisions }, differences: [...d.shadow.differences] }

    const erased: string[] = []
    const rewritten: string[] = []
    // Headers are also erased by their value's shape (a JWT under x-user-jwt), whatever
    // erase_headers names: the request's, and those a decision adds.
    for (const map of HEADER_MAPS) eraseHeadersAt(event as unknown as Record<string, unknown>, map, erase, erased, true)
    eraseHeaderList(event as unknown as Record<string, unknown>, erase, erased)
    if (queryNames.length > 0 && event.input !== null && typeof event.input === 'object') {
      eraseQueryCredentials(event as unknown as Record<string, unknown>, isCredential, { path: scrubPath, query: scrubQueryValue, fragment: scrubFragment }, erased, rewritten)
      // ext_authz inputs carry the body as text too: what was erased from parsed_body is in it;
      // a body nothing parsed is scrubbed (JSON, a form) or withheld (anything else).
      if (erased.some((p) => p.startsWith('/input/parsed_body/')) || rewritten.some((p) => p.startsWith('/input/parsed_body/'))) eraseRawBody(event as unknown as Record<string, unknown>, erased)
      else if (!isParsed((event.input as Record<string, unknown>).parsed_body)) scrubBodyTexts(event as unknown as Record<string, unknown>, isCredential, scrubQueryValue, erased, rewritten)
      // The verified token's claims: IdPs pass upstream tokens on in them (`idp_access_token`,
      // `tokens.refresh_token`), which the policy may read but the log must not keep.
      const identity = (event.input as Record<string, unknown>).identity
      if (identity !== null && typeof identity === 'object') {
        // The authenticator shares one frozen identity per token: its erasure is worked out once.
        let done = Object.isFrozen(identity) ? claimErasures.get(identity) : undefined
        if (done === undefined) {
          const at: string[] = []
          done = { value: eraseKeysDeep(identity, isCredentialClaim, '/input/identity', at), erased: at }
          // Shared by every event of the token from now on: frozen, as the identity it came from.
          if (Object.isFrozen(identity)) claimErasures.set(identity, { value: deepFreeze(done.value), erased: done.erased })
        }
        for (const p of done.erased) erased.push(p)
        if (done.value !== identity) setAt(event as unknown as Record<string, unknown>, ['input', 'identity'], done.value)
      }
    }

    let out = event
    let masked: readonly string[] = rewritten
    let maskError: Error | undefined
    if (mask !== undefined) {
      try {
        const r = mask(event)
        if (r.drop === true) return { event, drop: true }
        let next = r.event
        let maskedNow = rewritten.length === 0 ? r.masked : [...rewritten, ...r.masked]
        const erasedNow = [...r.erased]
        // A shadow result is a result too: the same rules (written for /result/...) mask it.
        if (next.shadow?.result !== undefined) {
          const s = maskShadowResult(mask, next, erasedNow)
          next = s.event
          if (s.masked.length > 0) maskedNow = [...maskedNow, ...s.masked]
        }
        out = next
        for (const p of erasedNow) erased.push(p)
        masked = maskedNow
      } catch (e) {
        // Fail closed: without a working mask we cannot know what is safe to keep, so the
        // decision is still logged but without its input and result.
        maskError = e instanceof Error ? e : new Error(String(e))
        out = { ...event }
        delete out.input
        delete out.result
        erased.push('/input', '/result')
        if (out.shadow?.result !== undefined) {
          const { result: _, ...rest } = out.shadow
          out.shadow = rest
          erased.push('/shadow/result')
        }
      }
    }
    if (erased.length > 0) out.erased = erased
    if (masked.length > 0) out.masked = [...masked]
    return maskError === undefined ? { event: out } : { event: out, maskError }
  }
}

/**
 * Runs the event masker over the shadow's result, as if it were the event's result, and puts
 * what it returns back under /shadow/result (pointers renamed to match). Only the result is
 * taken from this second pass; the input was masked by the first.
 */
function maskShadowResult (mask: EventMasker, event: DecisionEvent, erased: string[]): { event: DecisionEvent; masked: string[] } {
  const shadow = event.shadow!
  const r = mask({ ...event, result: shadow.result })
  const rename = (p: string): string | undefined => p === '/result' || p.startsWith('/result/') ? '/shadow' + p : undefined
  for (const p of r.erased) { const q = rename(p); if (q !== undefined) erased.push(q) }
  const masked: string[] = []
  for (const p of r.masked) { const q = rename(p); if (q !== undefined) masked.push(q) }
  const next: ShadowRecord = { ...shadow }
  if (r.event.result === undefined) delete next.result
  else next.result = r.event.result
  return { event: { ...event, shadow: next }, masked }
}

function buildMetrics (d: DecisionEventInput): Record<string, number> | undefined {
  let m: Record<string, number> | undefined
  if (d.metrics !== undefined) {
    for (const k of Object.keys(d.metrics)) {
      const v = d.metrics[k]
      if (typeof v === 'number' && Number.isFinite(v)) (m ??= {})[k] = v
    }
  }
  if (d.eval_ns !== undefined && Number.isFinite(d.eval_ns)) (m ??= {}).timer_rego_query_eval_ns = Math.round(d.eval_ns)
  if (d.total_ns !== undefined && Number.isFinite(d.total_ns)) (m ??= {}).timer_server_handler_ns = Math.round(d.total_ns)
  return m
}

// ext_authz (opa-envoy-plugin's protojson names): Envoy's header_map — a list of {key, value |
// rawValue} — beside `headers`, and the body as text and as base64.
const HEADER_LIST = ['input', 'attributes', 'request', 'http', 'headerMap', 'headers'] as const
const RAW_BODIES = ['body', 'rawBody']

/** The header_map entries whose key is an erased header name or whose value holds a credential by its shape, removed (as eraseHeadersAt). */
function eraseHeaderList (root: Record<string, unknown>, names: ReadonlySet<string>, erased: string[]): void {
  const list = walk(root, HEADER_LIST)
  if (!Array.isArray(list)) return
  const keep: unknown[] = []
  list.forEach((el: unknown, idx) => {
    const key = el !== null && typeof el === 'object' ? (el as { key?: unknown }).key : undefined
    if (typeof key === 'string' && (names.has(key.toLowerCase()) || shaped(key, entryValue(el as { value?: unknown; rawValue?: unknown })))) erased.push('/input/attributes/request/http/headerMap/headers/' + idx)
    else keep.push(el)
  })
  if (keep.length !== list.length) setAt(root, HEADER_LIST, keep)
}

/** The request body as text (ext_authz), erased whole: the parsed fields erased from it are in it. */
function eraseRawBody (root: Record<string, unknown>, erased: string[]): void {
  const at = HTTP_PATH.slice(0, -1)
  const http = walk(root, at)
  if (http === null || typeof http !== 'object') return
  const present = RAW_BODIES.filter((f) => (http as Record<string, unknown>)[f] !== undefined)
  if (present.length === 0) return
  const copy: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(http)) if (!present.includes(k)) copy[k] = v
  setAt(root, at, sortedCopy(copy))
  for (const f of present) erased.push('/input/attributes/request/http/' + f)
}

/** Whether parsed_body holds the body (ext_authz sets null for a body it does not parse). */
function isParsed (parsedBody: unknown): boolean {
  return parsedBody !== null && parsedBody !== undefined
}

/**
 * The request body texts nothing parsed (ext_authz: `body`, and `rawBody` as base64), scrubbed
 * as erasure reads them (erase.ts readBodyText): JSON loses its credential members at any depth
 * and is written back re-serialised (each listed in `erased`, as the body's pointer followed by
 * the member's: /input/attributes/request/http/body/user/password); a form gets its credential
 * values replaced (the body listed in `masked`, as the query in the path); any other text is
 * replaced by WITHHELD_BODY (the body listed in `erased`): never logged as it came.
 */
function scrubBodyTexts (root: Record<string, unknown>, isCredential: NameMatcher, scrubForm: (query: string) => string,
  erased: string[], rewritten: string[]): void {
  const at = HTTP_PATH.slice(0, -1)
  for (const f of RAW_BODIES) {
    const http = walk(root, at)
    if (http === null || typeof http !== 'object') return
    const v = (http as Record<string, unknown>)[f]
    if (typeof v !== 'string' || v === '') continue
    const base64 = f === 'rawBody'
    const text = base64 ? Buffer.from(v, 'base64').toString('utf8') : v
    if (text.trim() === '' || text === WITHHELD_BODY) continue
    const pointer = '/input/attributes/request/http/' + f
    const b = readBodyText(text)
    let next: string | undefined
    if (b.kind === 'json') {
      const e = eraseKeysDeep(b.value, isCredential, pointer, erased)
      if (e !== b.value) next = JSON.stringify(e)
    } else if (b.kind === 'form') {
      const s = scrubForm(text)
      if (s !== text) { next = s; rewritten.push(pointer) }
    } else {
      next = WITHHELD_BODY
      erased.push(pointer)
    }
    if (next !== undefined) setAt(root, [...at, f], base64 ? Buffer.from(next, 'utf8').toString('base64') : next)
  }
}

function headerOf (input: unknown, name: string): string | undefined {
  const h = walk(input, HEADER_MAPS[0]!.path.slice(1))
  if (h === null || typeof h !== 'object') return undefined
  const v = (h as Record<string, unknown>)[name]
  if (typeof v === 'string') return v
  if (Array.isArray(v) && typeof v[0] === 'string') return v[0]
  return undefined
}

function walk (v: unknown, path: readonly string[]): unknown {
  let cur = v
  for (const k of path) {
    if (cur === null || typeof cur !== 'object' || Array.isArray(cur)) return undefined
    cur = (cur as Record<string, unknown>)[k]
  }
  return cur
}

/**
 * Remove the listed headers from the map at `map.path`, copying every object on the way down so
 * the caller's input is left as it was. Appends a JSON pointer per removed header to `erased`.
 * Runs per request: the copy is built without the erased keys (a `delete` would turn it into a
 * slow dictionary-mode object for the serialiser) and the pointer prefix is precomputed.
 */
function eraseHeadersAt (root: Record<string, unknown>, map: HeaderMap, names: ReadonlySet<string>, erased: string[], byShape: boolean): void {
  const path = map.path
  const headers = walk(root, path)
  if (headers === null || typeof headers !== 'object') return
  let replacement: unknown
  if (Array.isArray(headers)) {
    // A list of header objects (ext_authz results: opa-envoy-plugin accepts one).
    let changed = false
    const out = headers.map((el: unknown, idx) => {
      if (el === null || typeof el !== 'object' || Array.isArray(el)) return el
      const c = eraseNames(el as Record<string, unknown>, names, `${map.pointer}${idx}/`, erased, byShape)
      if (c !== el) changed = true
      return c
    })
    if (!changed) return
    replacement = out
  } else {
    const c = eraseNames(headers as Record<string, unknown>, names, map.pointer, erased, byShape)
    if (c === headers) return
    replacement = c
  }
  // Copy-on-write along the path (root is our own event object, so it is modified directly).
  let parent = root
  for (let j = 0; j < path.length - 1; j++) {
    const next = sortedCopy(parent[path[j]!] as Record<string, unknown>)
    parent[path[j]!] = next
    parent = next
  }
  parent[path[path.length - 1]!] = replacement
}

/**
 * `h` without its erased names (the same object when none is erased); pointers recorded under
 * `pointer`. `byShape`: a value holding a credential by its shape (credential-shapes.ts) goes too.
 */
function eraseNames (h: Record<string, unknown>, names: ReadonlySet<string>, pointer: string, erased: string[], byShape: boolean): Record<string, unknown> {
  const keys = Object.keys(h)
  const gone = (k: string): boolean => isErased(k, names) || (byShape && shaped(k, h[k]))
  let i = 0
  while (i < keys.length && !gone(keys[i]!)) i++
  if (i === keys.length) return h
  const drop = new Set<string>()
  for (; i < keys.length; i++) if (gone(keys[i]!)) { drop.add(keys[i]!); erased.push(pointer + escapePointer(keys[i]!)) }
  // The copy is built in canonical key order (what the serialiser would otherwise redo).
  sortKeys(keys)
  const copy: Record<string, unknown> = {}
  let proto = false
  for (const k of keys) {
    if (drop.has(k)) continue
    if (k === '__proto__') proto = true
    else copy[k] = h[k]
  }
  if (proto) Object.defineProperty(copy, '__proto__', { value: Object.getOwnPropertyDescriptor(h, '__proto__')!.value as unknown, enumerable: true, writable: true, configurable: true })
  return copy
}

// A challenge (`WWW-Authenticate: Bearer realm="api"`) names a scheme without a credential.
const CHALLENGE_HEADERS: ReadonlySet<string> = new Set(['www-authenticate', 'proxy-authenticate'])

/** A header_map entry's value: `value`, or Envoy's `rawValue` (base64 of the bytes, with encode_raw_headers). */
function entryValue (el: { value?: unknown; rawValue?: unknown }): unknown {
  return typeof el.value === 'string' ? el.value : typeof el.rawValue === 'string' ? Buffer.from(el.rawValue, 'base64').toString('utf8') : undefined
}

/** Whether a header's value holds a credential by its shape, whatever the header's name. */
function shaped (name: string, v: unknown): boolean {
  return typeof v === 'string' && credentialShape(v, CHALLENGE_HEADERS.has(name.toLowerCase()) ? 'none' : 'any') !== null
}

function isErased (k: string, names: ReadonlySet<string>): boolean {
  return names.has(k) || names.has(k.toLowerCase())
}

const HTTP_PATH = ['input', 'attributes', 'request', 'http', 'path'] as const
const HTTP_PATH_POINTER = '/input/attributes/request/http/path'
const HTTP_HEADERS = ['input', 'attributes', 'request', 'http', 'headers'] as const
// Request headers whose value is a URL (erase.ts URL_HEADERS): Envoy's CheckRequest carries the
// request target in :path and x-envoy-original-path; referer, x-original-url… carry other URLs.
const URL_HEADER_SET: ReadonlySet<string> = new Set(URL_HEADERS)

/**
 * Credential query parameters: their values are replaced in input.attributes.request.http.path
 * (listed in `rewritten`), and they are removed from input.parsed_query and, at any depth, from
 * input.parsed_body (listed in `erased`). Copy-on-write, as eraseHeadersAt.
 */
function eraseQueryCredentials (root: Record<string, unknown>, isCredential: NameMatcher,
  scrub: { path: (url: string) => string; query: (query: string) => string; fragment: (fragment: string) => string }, erased: string[], rewritten: string[]): void {
  const scrubPath = scrub.path
  const scrubQueryValue = scrub.query
  const path = walk(root, HTTP_PATH)
  // After "?", or after "#" with no "?" (OAuth's implicit flow puts tokens in the fragment).
  if (typeof path === 'string' && mayHaveUrlParams(path)) {
    const scrubbed = scrubPath(path)
    if (scrubbed !== path) {
      setAt(root, HTTP_PATH, scrubbed)
      rewritten.push(HTTP_PATH_POINTER)
    }
  }
  scrubUrlHeaders(root, scrubPath, rewritten)
  // Envoy's CheckRequest has query and fragment fields too (documented as always empty: the
  // query is in the path); whoever fills them gets them scrubbed as a query and a fragment.
  for (const f of ['query', 'fragment'] as const) {
    const at = [...HTTP_PATH.slice(0, -1), f]
    const v = walk(root, at)
    if (typeof v !== 'string' || !v.includes('=')) continue
    const scrubbed = scrub[f](v)
    if (scrubbed !== v) {
      setAt(root, at, scrubbed)
      rewritten.push('/input/attributes/request/http/' + f)
    }
  }
  const input = root.input as Record<string, unknown>
  for (const field of ['parsed_query', 'parsed_body'] as const) {
    const v = input[field]
    if (v === null || typeof v !== 'object') continue
    let e = eraseKeysDeep(v, isCredential, '/input/' + field, erased)
    // A body value holding a credential parameter (a form's `next=/cb?token=…`), read as a
    // query value is (parsed_query's own values are below).
    if (field === 'parsed_body') e = scrubParamValuesDeep(e, scrubQueryValue, '/input/parsed_body', rewritten, 0)
    if (e !== v) setAt(root, ['input', field], e)
  }
  // ext_authz leaves a fragment where the plugin does (src/ext-authz/input.ts): in the path
  // segments from the one holding "#" on (`/cb#access_token=abc`, `/cb#state=x/access_token=abc`:
  // the path is split on "/" fragment and all), or in the last query value (`?x=1#access_token=abc`).
  const pp = (root.input as Record<string, unknown>).parsed_path
  if (Array.isArray(pp)) {
    let copy: unknown[] | undefined
    const from = firstFragmentSegment(pp)
    for (let i = 0; i < pp.length; i++) {
      const seg: unknown = pp[i]
      if (typeof seg !== 'string' || !seg.includes('=')) continue
      // Before the fragment, a segment's matrix parameters (`api;access_token=…`) or a decoded
      // "?" (`/cb%3Ftoken%3D…` is `cb?token=…`).
      if ((from < 0 || i < from) && !seg.includes(';') && !seg.includes('?')) continue
      const scrubbed = from < 0 || i <= from ? scrubPath(seg) : scrubQueryValue(seg)
      if (scrubbed === seg) continue
      ;(copy ??= [...pp])[i] = scrubbed
      rewritten.push('/input/parsed_path/' + i)
    }
    if (copy !== undefined) setAt(root, ['input', 'parsed_path'], copy)
  }
  // parsed_query splits on "&" only, so `?x=1;token=abc` is x: ["1;token=abc"]: the token hides in
  // a value. The path above was scrubbed with ";" as a separator (some upstreams split on it);
  // the values get the same treatment.
  const pq = (root.input as Record<string, unknown>).parsed_query
  if (pq !== null && typeof pq === 'object' && !Array.isArray(pq)) {
    let copy: Record<string, unknown> | undefined
    for (const k of Object.keys(pq)) {
      const list = (pq as Record<string, unknown>)[k]
      if (!Array.isArray(list)) continue
      let next: unknown[] | undefined
      for (let i = 0; i < list.length; i++) {
        const one = list[i]
        if (typeof one !== 'string' || !mayHoldParams(one)) continue
        const scrubbed = scrubQueryValue(one)
        if (scrubbed === one) continue
        next ??= [...list]
        next[i] = scrubbed
        rewritten.push('/input/parsed_query/' + escapePointer(k) + '/' + i)
      }
      if (next !== undefined) (copy ??= { ...(pq as Record<string, unknown>) })[k] = next
    }
    if (copy !== undefined) setAt(root, ['input', 'parsed_query'], sortedCopy(copy))
  }
}

/** A URL-valued header's value (a string, or a list of them) with its query credentials
 * scrubbed; the same value when nothing changed. */
function scrubUrlValue (v: unknown, scrubPath: (url: string) => string, pointer: string, rewritten: string[]): unknown {
  if (typeof v === 'string') {
    const s = mayHaveUrlParams(v) ? scrubPath(v) : v
    if (s !== v) rewritten.push(pointer)
    return s
  }
  if (!Array.isArray(v)) return v
  let copy: unknown[] | undefined
  v.forEach((one: unknown, i) => {
    const s = scrubUrlValue(one, scrubPath, pointer + '/' + i, rewritten)
    if (s !== one) (copy ??= [...v])[i] = s
  })
  return copy ?? v
}

/** Query credentials in the URL-valued request headers (URL_HEADERS), in `headers` and in
 * Envoy's header_map list (`value`, or `rawValue` as base64), replaced as in the path. */
function scrubUrlHeaders (root: Record<string, unknown>, scrubPath: (url: string) => string, rewritten: string[]): void {
  const headers = walk(root, HTTP_HEADERS)
  if (headers !== null && typeof headers === 'object' && !Array.isArray(headers)) {
    const h = headers as Record<string, unknown>
    for (const name of Object.keys(h)) {
      if (!URL_HEADER_SET.has(name) && !URL_HEADER_SET.has(name.toLowerCase())) continue
      const v = h[name]
      const s = scrubUrlValue(v, scrubPath, '/input/attributes/request/http/headers/' + escapePointer(name), rewritten)
      if (s !== v) setAt(root, [...HTTP_HEADERS, name], s)
    }
  }
  const list = walk(root, HEADER_LIST)
  if (!Array.isArray(list)) return
  let copy: unknown[] | undefined
  list.forEach((el: unknown, idx) => {
    if (el === null || typeof el !== 'object') return
    const e = el as Record<string, unknown>
    if (typeof e.key !== 'string' || !URL_HEADER_SET.has(e.key.toLowerCase())) return
    const pointer = '/input/attributes/request/http/headerMap/headers/' + idx + '/'
    let next: Record<string, unknown> | undefined
    if (typeof e.value === 'string') {
      const s = scrubUrlValue(e.value, scrubPath, pointer + 'value', rewritten)
      if (s !== e.value) next = { ...e, value: s }
    }
    if (typeof e.rawValue === 'string') {
      const raw = Buffer.from(e.rawValue, 'base64').toString('utf8')
      const s = scrubUrlValue(raw, scrubPath, pointer + 'rawValue', rewritten)
      if (s !== raw) next = { ...(next ?? e), rawValue: Buffer.from(s as string, 'utf8').toString('base64') }
    }
    if (next !== undefined) (copy ??= [...list])[idx] = next
  })
  if (copy !== undefined) setAt(root, HEADER_LIST, copy)
}

/** Sets root[path[0]]…[path[n-1]] = value, copying every object on the way (root is ours). */
function setAt (root: Record<string, unknown>, path: readonly string[], value: unknown): void {
  let parent = root
  for (let j = 0; j < path.length - 1; j++) {
    const next = sortedCopy(parent[path[j]!] as Record<string, unknown>)
    parent[path[j]!] = next
    parent = next
  }
  parent[path[path.length - 1]!] = value
}

/** input.attributes.request.http.id, where the proxy puts the request id (as Envoy does). */
function httpIdOf (input: unknown): string | undefined {
  const id = (input as { attributes?: { request?: { http?: { id?: unknown } } } } | null)?.attributes?.request?.http?.id
  return typeof id === 'string' && id !== '' ? id : undefined
}
