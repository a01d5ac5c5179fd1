// The policy input built from a CheckRequest, as opa-envoy-plugin builds it (envoyauth
// RequestToInput, v3): the request's fields under their JSON names (proto.ts), plus
//   version         {"ext_authz": "v3", "encoding": "protojson"}
//   parsed_path     the path before "?", percent-decoded, leading "/" trimmed, split on "/"
//   parsed_query    the query, form-decoded ("+" is a space), name → list of values
//   parsed_body     the body by content type: JSON, x-www-form-urlencoded (name → values),
//                   multipart/form-data (name → values; JSON parts parsed); otherwise null
//                   (media types matched without regard to case; JSON also under text/json,
//                   +json); not parsed at all when the policy cannot read it (readsBody)
//   truncated_body  true when Envoy says it sent part of the body (x-envoy-auth-partial-body:
//                   true) or content-length is larger than the body it sent (parsed_body null)
//   source_principal  attributes.source.principal, when set
// Anything the plugin refuses (no attributes.request.http, a bad escape in the path or query,
// a body that does not parse as its content type says) is an InputError: the request is denied
// with 400, as the plugin does.

import { parseJsonExact } from '../exact-json.js'
import type { InputPaths } from '../policy/holder.js'
import { isJsonContentType } from '../proxy/body.js'
import { formParts, parseMediaType } from './multipart.js'

export class InputError extends Error {
  constructor (message: string) {
    super(message)
    this.name = 'InputError'
  }
}

export const VERSION = Object.freeze({ ext_authz: 'v3', encoding: 'protojson' })

type Obj = Record<string, unknown>

const obj = (v: unknown): Obj | undefined => v !== null && typeof v === 'object' && !Array.isArray(v) ? v as Obj : undefined

/** Go's url unescape: "%" and two hex digits, else an error; `plus`: "+" is a space (query mode). */
function unescape (s: string, plus: boolean): string {
  if (!s.includes('%') && !(plus && s.includes('+'))) return s
  const bytes: number[] = []
  const src = Buffer.from(s, 'utf8')
  for (let i = 0; i < src.length; i++) {
    const c = src[i]!
    if (c === 0x25) {
      const h = src.subarray(i + 1, i + 3).toString('latin1')
      if (!/^[0-9A-Fa-f]{2}$/.test(h)) throw new InputError(`invalid URL escape ${JSON.stringify(src.subarray(i, i + 3).toString('latin1'))}`)
      bytes.push(parseInt(h, 16))
      i += 2
    } else if (c === 0x2b && plus) bytes.push(0x20)
    else bytes.push(c)
  }
  return Buffer.from(bytes).toString('utf8')
}

/** Go's url.ParseQuery: "&"-separated, ";" refused, every name and value form-decoded. */
function parseForm (q: string): Record<string, string[]> {
  const out: Record<string, string[]> = Object.create(null) as Record<string, string[]>
  let first: InputError | undefined
  for (const part of q.split('&')) {
    if (part === '') continue
    if (part.includes(';')) { first ??= new InputError('invalid semicolon separator in query'); continue }
    const eq = part.indexOf('=')
    let k: string, v: string
    try {
      k = unescape(eq < 0 ? part : part.slice(0, eq), true)
      v = eq < 0 ? '' : unescape(part.slice(eq + 1), true)
    } catch (e) { first ??= e as InputError; continue }
    ;(out[k] ??= []).push(v)
  }
  if (first) throw first
  return out
}

export function parsePathAndQuery (path: string): { parsed_path: string[]; parsed_query: Record<string, string[]> } {
  const q = path.indexOf('?')
  const raw = q < 0 ? path : path.slice(0, q)
  const decoded = unescape(raw, false)
  return { parsed_path: decoded.replace(/^\/+/, '').split('/'), parsed_query: parseForm(q < 0 ? '' : path.slice(q + 1)) }
}

/** Go's strconv.ParseInt(s, 10, 64). */
function contentLength (v: string): number {
  if (!/^[+-]?[0-9]+$/.test(v)) throw new InputError(`content-length ${JSON.stringify(v)} is not a number`)
  return Number(v)
}

/** Whether content-length says more bytes than were sent: counted as sent, before any text
 *  decoding (an invalid byte read as U+FFFD is three, and a cut raw_body looked whole). */
function truncated (headers: Obj, sentBytes: number): boolean {
  const cl = headers['content-length']
  if (typeof cl !== 'string') return false
  const n = contentLength(cl)
  return n !== -1 && n > sentBytes
}

function parseJson (text: string, what: string): unknown {
  try {
    return parseJsonExact(text)
  } catch (e) {
    // V8's message quotes the text around the error: only the position is kept (the body may
    // hold credentials, and this reason is logged and sent back).
    const at = /at position (\d+)/.exec((e as Error).message)
    throw new InputError(`${what} is not valid JSON${at ? ` (at character ${at[1]})` : text.trim() === '' ? ' (empty)' : ' (unexpected end or token)'}`)
  }
}

/** multipart/form-data → name → values (JSON parts parsed), as the plugin reads it (multipart.ts). */
function parseMultipart (payload: string, boundary: string): Record<string, unknown[]> {
  const out = Object.create(null) as Record<string, unknown[]> // a part may be named "constructor"
  for (const part of formParts(Buffer.from(payload, 'utf8'), boundary)) {
    const text = part.value.toString('utf8')
    const value = part.contentType !== undefined && isJson(part.contentType) ? parseJson(text, `multipart part ${JSON.stringify(part.name)}`) : text
    ;(out[part.name] ??= []).push(value)
  }
  return { ...out }
}

/** The boundary parameter of a multipart content type, its parameters read as Go reads them. */
function boundaryOf (contentType: string): string | undefined {
  return parseMediaType(contentType, 'content-type').params.get('boundary')
}

// Which parser a content type gets. The plugin looks for "application/json" (then
// "application/grpc", "application/x-www-form-urlencoded", "multipart/form-data") anywhere in
// the header, as spelt; an upstream reads media types without regard to case, and JSON under
// other names (text/json, application/vnd.api+json): a body the policy is shown as null while
// the upstream parses it would be judged unseen. So the same search, case-insensitively, and
// every JSON media type the proxy parses (src/proxy/body.ts isJsonContentType) — a body the
// plugin parses is parsed here too.
function isJson (contentType: string): boolean {
  return contentType.toLowerCase().includes('application/json') || isJsonContentType(contentType)
}

type BodyKind = 'json' | 'grpc' | 'form' | 'multipart' | undefined

function bodyKind (contentType: string): BodyKind {
  const ct = contentType.toLowerCase()
  if (ct.includes('application/json')) return 'json'
  if (ct.includes('application/grpc')) return 'grpc'
  if (isJsonContentType(contentType)) return 'json'
  if (ct.includes('application/x-www-form-urlencoded')) return 'form'
  if (ct.includes('multipart/form-data')) return 'multipart'
  return undefined
}

export function parseBody (headers: Obj, body: string, rawBase64: string | undefined, partialHeaderRequired = false): { parsed_body: unknown; truncated_body: boolean } {
  const partial = headers['x-envoy-auth-partial-body']
  if (partial === 'true') return { parsed_body: null, truncated_body: true }
  // Over HTTP Envoy's content-length is that of the bytes it forwards, so a body it cut looks
  // whole; only this header (forwarded when allowed_headers lists it) says (review, session 53).
  if (partialHeaderRequired && partial === undefined && (body !== '' || (rawBase64 ?? '') !== '')) return { parsed_body: null, truncated_body: true }
  const ct = headers['content-type']
  if (typeof ct !== 'string') return { parsed_body: null, truncated_body: false }
  const raw = (): Buffer | string => body !== '' ? body : rawBase64 ? Buffer.from(rawBase64, 'base64') : ''
  const sent = (): number => { const r = raw(); return typeof r === 'string' ? Buffer.byteLength(r) : r.length }
  const payload = (): string => { const r = raw(); return typeof r === 'string' ? r : r.toString('utf8') }
  const kind = bodyKind(ct)
  if (kind === 'json') {
    const p = payload()
    if (p === '') return { parsed_body: null, truncated_body: false }
    if (truncated(headers, sent())) return { parsed_body: null, truncated_body: true }
    return { parsed_body: parseJson(p, 'request body'), truncated_body: false }
  }
  // application/grpc: the plugin decodes a message only with a configured descriptor set
  // (none here): null, as the plugin without one.
  if (kind === 'grpc') return { parsed_body: null, truncated_body: false }
  if (kind === 'form') {
    const p = payload()
    if (p === '') return { parsed_body: null, truncated_body: false }
    if (truncated(headers, sent())) return { parsed_body: null, truncated_body: true }
    return { parsed_body: parseForm(p), truncated_body: false }
  }
  if (kind === 'multipart') {
    const p = payload()
    if (p === '') return { parsed_body: null, truncated_body: false }
    if (truncated(headers, sent())) return { parsed_body: null, truncated_body: true }
    const boundary = boundaryOf(ct)
    if (boundary === undefined) return { parsed_body: null, truncated_body: false }
    return { parsed_body: parseMultipart(p, boundary), truncated_body: false }
  }
  return { parsed_body: null, truncated_body: false }
}

export interface ExtAuthzInput extends Obj {
  attributes: Obj & { request: Obj & { http: Obj } }
  version: typeof VERSION
  parsed_path: string[]
  parsed_query: Record<string, string[]>
  parsed_body: unknown
  truncated_body: boolean
  source_principal?: string
  /** auth.jwt: the verified claims, or why there are none (as in the proxy's input) */
  identity?: Readonly<Record<string, unknown>>
  identity_error?: string
}

/**
 * Envoy's request headers as the `headers` map holds them, from `header_map` (what Envoy sends
 * instead with encode_raw_headers: a list of HeaderValue {key, value, raw_value}): names
 * lower-cased, the values of a name joined with "," (as Envoy merges them into the map), a
 * raw_value's bytes read as UTF-8. Undefined when there is no header_map.
 */
export function headersFromHeaderMap (headerMap: unknown): Record<string, string> | undefined {
  const list = obj(headerMap)?.headers
  if (list === undefined) return obj(headerMap) === undefined ? undefined : Object.create(null) as Record<string, string>
  if (!Array.isArray(list)) return undefined
  const out = Object.create(null) as Record<string, string> // a header may be named "__proto__"
  for (const h of list) {
    const e = obj(h)
    if (e === undefined || typeof e.key !== 'string' || e.key === '') continue
    const name = e.key.toLowerCase()
    const value = typeof e.rawValue === 'string' ? Buffer.from(e.rawValue, 'base64').toString('utf8') : typeof e.value === 'string' ? e.value : ''
    out[name] = name in out ? `${out[name]},${value}` : value
  }
  return out
}

/**
 * Whether a policy can read parsed_body or truncated_body, from the input paths the compiler
 * recorded for its entrypoint (null or undefined: it may read anything).
 */
export function readsBody (paths: InputPaths): boolean {
  if (paths == null) return true
  return paths.some((p) => p.length === 0 || p[0] === 'parsed_body' || p[0] === 'truncated_body')
}

export interface InputOptions {
  /**
   * false: the active policy reads neither parsed_body nor truncated_body (readsBody), so the
   * body is not parsed (a large form or JSON body costs nothing the policy needs): both are
   * null / false, and a body that would not parse is not refused.
   */
  readonly body?: boolean
  /** The HTTP transport: a body without x-envoy-auth-partial-body may have been cut (parseBody). */
  readonly partialHeaderRequired?: boolean
}

/** The input from a decoded CheckRequest (proto.ts); an InputError for what the plugin refuses. */
export function inputFromCheckRequest (req: Obj, opts: InputOptions = {}): ExtAuthzInput {
  const attributes = obj(req.attributes)
  const request = obj(attributes?.request)
  const http = obj(request?.http)
  if (attributes === undefined || request === undefined || http === undefined) {
    throw new InputError('missing required attributes in v3 CheckRequest: attributes.request.http')
  }
  const path = typeof http.path === 'string' ? http.path : ''
  // With encode_raw_headers Envoy sends the headers only in header_map: the policy (and the
  // content type below) read them under `headers` as usual.
  const fromMap = headersFromHeaderMap(http.headerMap)
  if (fromMap !== undefined) {
    const merged = Object.create(null) as Obj
    for (const [k, v] of Object.entries(obj(http.headers) ?? {})) merged[k] = v
    for (const [k, v] of Object.entries(fromMap)) merged[k] = v
    http.headers = merged
  }
  const headers = obj(http.headers) ?? {}
  const { parsed_path, parsed_query } = parsePathAndQuery(path)
  const { parsed_body, truncated_body } = opts.body === false
    ? { parsed_body: null, truncated_body: false }
    : parseBody(headers, typeof http.body === 'string' ? http.body : '', typeof http.rawBody === 'string' ? http.rawBody : undefined, opts.partialHeaderRequired === true)
  const input = { ...req, version: VERSION, parsed_path, parsed_query, parsed_body, truncated_body } as ExtAuthzInput
  const principal = obj(attributes.source)?.principal
  if (typeof principal === 'string' && principal !== '') input.source_principal = principal
  return input
}

/** "ip:port" of a Peer's socket address (for requested_by), or "". */
export function peerAddress (peer: unknown): string {
  const sa = obj(obj(obj(peer)?.address)?.socketAddress)
  if (sa === undefined || typeof sa.address !== 'string') return ''
  const host = sa.address.includes(':') ? `[${sa.address}]` : sa.address
  return typeof sa.portValue === 'number' ? `${host}:${sa.portValue}` : host
}
