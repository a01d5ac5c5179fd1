// providers.aws.sign_req(request, aws_config, time_ns): an http.send request object signed with
// AWS Signature Version 4, as OPA signs it (topdown/providers.go with its internal signer).
//
// What OPA does, and so what this does:
//   * operands: the request and the config must be objects (both reported as operand 1, as in
//     OPA); the config must hold aws_access_key, aws_secret_access_key, aws_service and
//     aws_region, all strings; time_ns must be a number written as an integer within int64; the
//     request may hold only http.send's keys and must hold method and url (strings); headers, if
//     any, an object (reported as operand 0); disable_payload_signing, if present, a boolean.
//   * the canonical request: the method as given (not upper-cased), the URL's escaped path (Go's
//     EscapedPath: "" for "http://host"), its raw query as written, then the signed headers —
//     host (the URL's host, port included), x-amz-date, x-amz-content-sha256 for s3 and glacier,
//     x-amz-security-token for a non-empty session token, and every request header but
//     authorization, user-agent and x-amzn-trace-id, its name lower-cased (a request header
//     replaces one of ours of the same name here) — sorted by name, then the names joined by
//     ";", then the payload hash: hex SHA-256 of the body, or UNSIGNED-PAYLOAD.
//   * the body: raw_body when the key is there (its string; anything else is empty), else body
//     as Go's json.Marshal writes it, else empty.
//   * the result: the request with headers replaced by its own headers (values that are not
//     strings become ""), then Authorization, then our x-amz-* and host headers, which win.
import { createHash, createHmac } from 'node:crypto'
import { goJSON, isObject, operandTypeError, compareStrings, type JsonObject } from './args.js'
import { stringBytes } from './bytes.js'
import { BuiltinError, builtinError, type HostBuiltin } from './context.js'
import { goQuote } from './go-quote.js'
import { parseGoUrl } from './uri.js'
import { isRawJson } from '../../exact-json.js'

const NAME = 'providers.aws.sign_req'

const REQUIRED_CONFIG = ['aws_access_key', 'aws_region', 'aws_secret_access_key', 'aws_service']
const REQUIRED_REQUEST = ['method', 'url']
const REQUEST_KEYS = new Set([
  'method', 'url', 'body', 'enable_redirect', 'force_json_decode', 'force_yaml_decode', 'headers', 'raw_body',
  'tls_use_system_certs', 'tls_ca_cert', 'tls_ca_cert_file', 'tls_ca_cert_env_variable', 'tls_client_cert',
  'tls_client_cert_file', 'tls_client_cert_env_variable', 'tls_client_key', 'tls_client_key_file',
  'tls_client_key_env_variable', 'tls_insecure_skip_verify', 'tls_server_name', 'timeout', 'cache', 'force_cache',
  'force_cache_duration_seconds', 'raise_error', 'caching_mode', 'max_retry_attempts', 'cache_ignored_headers',
])
const UNSIGNED_HEADERS = new Set(['authorization', 'user-agent', 'x-amzn-trace-id'])
const UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD'
const INT64_MIN = -(2n ** 63n)
const INT64_MAX = 2n ** 63n - 1n

/** eval_type_error: providers.aws.sign_req: operand <pos> <reason> (OPA's ErrOperand). */
const operandError = (pos: number, reason: string): BuiltinError => new BuiltinError('eval_type_error', NAME, `operand ${pos} ${reason}`)

/** A set of strings as OPA prints one in messages: sorted, quoted, in braces. */
const setText = (names: string[]): string => `{${[...names].sort(compareStrings).map(goQuote).join(', ')}}`

const has = (o: JsonObject, k: string): boolean => Object.prototype.hasOwnProperty.call(o, k)

/** A value read as OPA's stringFromTerm reads it: a string, or "" for anything else. */
const stringOr = (v: unknown): string => typeof v === 'string' ? v : ''

function checkConfig (config: JsonObject): void {
  const missing = REQUIRED_CONFIG.filter(k => !has(config, k))
  if (missing.length > 0) throw operandError(2, `missing required AWS config parameters(s): ${setText(missing)}`)
  const invalid = REQUIRED_CONFIG.filter(k => typeof config[k] !== 'string')
  if (invalid.length > 0) throw operandError(2, `invalid values for required AWS config parameters(s): ${setText(invalid)}`)
}

/** time_ns as Go's Number.Int64 reads it: integer text within int64. */
function timestampNs (v: unknown): bigint {
  if (typeof v !== 'number' && typeof v !== 'bigint' && !isRawJson(v)) throw operandTypeError(NAME, 1, v, 'number')
  let ns: bigint | undefined
  if (typeof v === 'bigint') ns = v
  else if (typeof v === 'number') ns = Number.isInteger(v) ? BigInt(v) : undefined
  else if (/^-?[0-9]+$/.test(v.rawJSON)) ns = BigInt(v.rawJSON)
  if (ns === undefined || ns < INT64_MIN || ns > INT64_MAX) throw operandError(3, 'could not convert time_ns value into a unix timestamp')
  return ns
}

function checkRequest (request: JsonObject): void {
  const keys = Object.keys(request)
  const unknown = keys.filter(k => !REQUEST_KEYS.has(k))
  if (unknown.length > 0) throw operandError(1, `invalid request parameters(s): ${setText(unknown)}`)
  const missing = REQUIRED_REQUEST.filter(k => !has(request, k))
  if (missing.length > 0) throw operandError(1, `missing required request parameters(s): ${setText(missing)}`)
}

/** The signing time's two forms, in UTC: 20151228 and 20151228T140825Z. */
function signingDates (ns: bigint): { day: string; stamp: string } {
  let secs = ns / 1_000_000_000n
  if (ns < 0n && secs * 1_000_000_000n !== ns) secs -= 1n // floor: 1ns before the epoch is 23:59:59
  const iso = new Date(Number(secs) * 1000).toISOString() // 2015-12-28T14:08:25.000Z (years 1677-2262)
  const day = iso.slice(0, 10).replace(/-/g, '')
  return { day, stamp: `${day}T${iso.slice(11, 19).replace(/:/g, '')}Z` }
}

// ---- the URL's path as Go's url.URL.EscapedPath gives it ----

const isAlnum = (c: number): boolean => (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a)

/** Whether net/url escapes byte c in a path. */
function escapesInPath (c: number): boolean {
  if (isAlnum(c)) return false
  return !'-_.~$&+,/:;=@'.includes(String.fromCharCode(c))
}

/** A raw path net/url would keep as written: every byte allowed in a path, or a %. */
function keepsRawPath (raw: string): boolean {
  for (const c of stringBytes(raw)) {
    if ('!$&\'()*+,;=:@[]%'.includes(String.fromCharCode(c))) continue
    if (escapesInPath(c)) return false
  }
  return true
}

function escapePath (path: string): string {
  let out = ''
  for (const c of stringBytes(path)) out += escapesInPath(c) ? '%' + c.toString(16).toUpperCase().padStart(2, '0') : String.fromCharCode(c)
  return out
}

function escapedPath (u: { path: string; rawPath: string }): string {
  if (u.rawPath !== '' && keepsRawPath(u.rawPath)) return u.rawPath
  if (u.path === '*') return '*'
  return escapePath(u.path)
}

/** Go's url.Parse; its error as OPA reports it: parse "<url>": <reason>. */
function parseUrl (raw: string): { host: string; path: string; rawPath: string; rawQuery: string } {
  const hash = raw.indexOf('#')
  const beforeFragment = hash < 0 ? raw : raw.slice(0, hash)
  try {
    parseGoUrl(beforeFragment)
  } catch (e) {
    throw builtinError(NAME, `parse ${goQuote(beforeFragment)}: ${(e as Error).message}`)
  }
  try {
    return parseGoUrl(raw) // again with the fragment, whose bad escapes Go reports with the whole URL
  } catch (e) {
    throw builtinError(NAME, `parse ${goQuote(raw)}: ${(e as Error).message}`)
  }
}

// ---- signing ----

/** Go's strings.ToLower: rune by rune; an invalid byte becomes U+FFFD. */
function goLower (s: string): string {
  if (/^[\x00-\x7f]*$/.test(s)) return s.toLowerCase()
  let out = ''
  for (const ch of s) {
    const cp = ch.codePointAt(0)!
    if (cp >= 0xd800 && cp <= 0xdfff) { out += '\ufffd'; continue }
    out += String.fromCodePoint(ch.toLowerCase().codePointAt(0)!) // one rune for one (İ is i)
  }
  return out
}

const sha256Hex = (data: string | Buffer): string => createHash('sha256').update(typeof data === 'string' ? stringBytes(data) : data).digest('hex')
const hmac = (key: Buffer, message: string): Buffer => createHmac('sha256', key).update(stringBytes(message)).digest()

function requestBody (request: JsonObject): string {
  if (has(request, 'raw_body')) return stringOr(request.raw_body)
  if (has(request, 'body')) return goJSON(request.body)
  return ''
}

interface Signing {
  method: string
  path: string
  query: string
  /** the headers OPA adds (lower-case names) */
  ours: Record<string, string>
  /** the request's own headers, name → value, names as written */
  theirs: Array<[string, string]>
  payloadHash: string
  accessKey: string
  secretKey: string
  region: string
  service: string
  day: string
  stamp: string
}

/** The Authorization header's value. */
function authorization (s: Signing): string {
  const signed = new Map<string, string>(Object.entries(s.ours))
  for (const [name, value] of s.theirs) {
    const lower = goLower(name)
    if (!UNSIGNED_HEADERS.has(lower)) signed.set(lower, value)
  }
  const names = [...signed.keys()].sort(compareStrings)
  const signedNames = names.join(';')
  const canonical = [
    s.method, s.path, s.query,
    ...names.map(n => `${n}:${signed.get(n)!}`),
    '',
    signedNames,
    s.payloadHash,
  ].join('\n')
  const scope = `${s.day}/${s.region}/${s.service}/aws4_request`
  const toSign = ['AWS4-HMAC-SHA256', s.stamp, scope, sha256Hex(canonical)].join('\n')
  let key = hmac(stringBytes('AWS4' + s.secretKey), s.day)
  for (const part of [s.region, s.service, 'aws4_request']) key = hmac(key, part)
  const signature = hmac(key, toSign).toString('hex')
  return `AWS4-HMAC-SHA256 Credential=${s.accessKey}/${scope},SignedHeaders=${signedNames},Signature=${signature}`
}

function signRequest (req: unknown, cfg: unknown, time: unknown): JsonObject {
  if (!isObject(req)) throw operandTypeError(NAME, 1, req, 'object')
  if (!isObject(cfg)) throw operandTypeError(NAME, 1, cfg, 'object') // sic: OPA says operand 1
  checkConfig(cfg)
  const { day, stamp } = signingDates(timestampNs(time))
  checkRequest(req)
  const headers = has(req, 'headers') ? req.headers : {}
  if (!isObject(headers)) throw operandTypeError(NAME, 0, headers, 'object') // sic: operand 0
  const badTypes = REQUIRED_REQUEST.filter(k => typeof req[k] !== 'string')
  if (badTypes.length > 0) throw operandError(1, `invalid values for required request parameters(s): ${setText(badTypes)}`)
  const url = parseUrl(req.url as string)
  const body = requestBody(req)
  let unsignedPayload = false
  if (has(cfg, 'disable_payload_signing')) {
    const v = cfg.disable_payload_signing
    if (typeof v !== 'boolean') throw operandError(2, "invalid value for 'disable_payload_signing' in AWS config")
    unsignedPayload = v
  }

  const service = cfg.aws_service as string
  const payloadHash = unsignedPayload ? UNSIGNED_PAYLOAD : sha256Hex(body)
  const ours: Record<string, string> = { host: url.host, 'x-amz-date': stamp }
  if (service === 's3' || service === 'glacier') ours['x-amz-content-sha256'] = payloadHash
  const token = stringOr(cfg.aws_session_token)
  if (token !== '') ours['x-amz-security-token'] = token
  const theirs = Object.keys(headers).sort(compareStrings).map((k): [string, string] => [k, stringOr(headers[k])])

  const auth = authorization({
    method: req.method as string,
    path: escapedPath(url),
    query: url.rawQuery,
    ours,
    theirs,
    payloadHash,
    accessKey: cfg.aws_access_key as string,
    secretKey: cfg.aws_secret_access_key as string,
    region: cfg.aws_region as string,
    service,
    day,
    stamp,
  })

  const outHeaders: JsonObject = {}
  const put = (k: string, v: string): void => { Object.defineProperty(outHeaders, k, { value: v, enumerable: true, writable: true, configurable: true }) }
  for (const [k, v] of theirs) put(k, v)
  put('Authorization', auth)
  for (const [k, v] of Object.entries(ours)) put(k, v)
  const out: JsonObject = {}
  for (const k of Object.keys(req)) Object.defineProperty(out, k, { value: req[k], enumerable: true, writable: true, configurable: true })
  Object.defineProperty(out, 'headers', { value: outHeaders, enumerable: true, writable: true, configurable: true })
  return out
}

export const awsBuiltins: Record<string, HostBuiltin> = {
  [NAME]: signRequest,
}
