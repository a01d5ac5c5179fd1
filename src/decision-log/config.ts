// The decision-log slice of the configuration.
//
// DecisionLogConfigInput is the `decision_logs` section of the central schema
// (src/config/schema.ts) as the config loader produces it, so the proxy passes
// `config.decision_logs` through unchanged, plus a few optional keys the central schema does
// not have yet (marked "extra"). resolveDecisionLogConfig() checks it once, fills defaults,
// converts units for internal use and freezes; each component then reads only its part.

import { readFileSync } from 'node:fs'
import { joinUrl } from '../url-join.js'
import { deepFreeze } from '../deep-freeze.js'
import { BouncerError } from '../errors.js'
import { DEFAULT_ERASE_HEADERS, DEFAULT_ERASE_QUERY_PARAMS } from '../config/schema.js'

export type SinkName = 'control_plane' | 'console' | 'file'
export type FsyncPolicy = 'always' | 'interval' | 'never'
export type OverflowPolicy = 'drop_oldest' | 'backpressure'
/** group (default): record() queues the line; one write per event-loop turn, at its end, puts
 * every line of the turn on disk (fsync and state.json on the thread pool), and the proxy holds each request until its line is there
 * (a process crash loses no event of a request that went on). sync: record() writes the line
 * itself before returning (a syscall on the event loop per event). batched: as group, but
 * requests are not held (a crash loses the events of the last turn). */
export type WriteMode = 'group' | 'sync' | 'batched'

export interface DecisionLogTlsInput {
  readonly enabled?: boolean
  readonly ca_file?: string
  readonly cert_file?: string
  readonly key_file?: string
  readonly servername?: string
  readonly reject_unauthorized?: boolean
  /** extra: PEM text instead of files */
  readonly ca?: string
  readonly cert?: string
  readonly key?: string
}

export interface DecisionLogConfigInput {
  readonly enabled?: boolean
  /** Control plane base URL; events are POSTed to <service_url><resource>. */
  readonly service_url?: string
  readonly bearer_token_file?: string
  readonly tls?: DecisionLogTlsInput
  readonly spool_dir: string
  /** Spool size limit. */
  readonly max_bytes?: number
  readonly overflow?: OverflowPolicy
  /** Largest gzip'd upload body. */
  readonly upload_size_limit_bytes?: number
  /** Batching window: how long the first undelivered event waits for company; also the first
   * retry delay. */
  readonly min_delay_seconds?: number
  /** Cap of the retry backoff. */
  readonly max_delay_seconds?: number
  readonly fsync?: FsyncPolicy
  readonly fsync_interval_seconds?: number
  readonly sinks?: readonly SinkName[]
  readonly file_path?: string
  /** Header names erased from the logged input (and from headers in the decision). */
  readonly erase_headers?: readonly string[]
  /** Query parameter names that are credentials: values replaced in the logged path, removed
   * from parsed_query and (at any depth) from parsed_body. Default DEFAULT_ERASE_QUERY_PARAMS. */
  readonly erase_query_params?: readonly string[]
  readonly labels?: Readonly<Record<string, string>>
  /** Handled by whoever builds the EventMasker (see event.ts); ignored here. */
  readonly mask_rules?: readonly unknown[]
  readonly mask_entrypoint?: string
  /** extra: bearer token given directly (bearer_token_file is preferred). */
  readonly bearer_token?: string
  /** extra: path under service_url (default "/logs", as OPA). */
  readonly resource?: string
  /** extra: size at which a spool segment is closed and a new one started. */
  readonly segment_max_bytes?: number
  /** See WriteMode (default group). */
  readonly write_mode?: WriteMode
  /** extra: timeout of one upload request. */
  readonly request_timeout_seconds?: number
}

/** Process-wide settings the decision log also obeys (top level of the config). */
export interface DecisionLogGlobals {
  readonly production?: boolean
  readonly allow_insecure?: boolean
  /** The header callers send their token in (auth.jwt.header): always erased, in addition to
   * erase_headers. */
  readonly auth_header?: string
}

export interface TlsConnectOptions { ca?: string; cert?: string; key?: string; rejectUnauthorized: boolean; servername?: string }

export interface ServiceConfig {
  readonly url: string // service_url + resource
  readonly token?: string
  /** bearer_token_file: read again for every upload (it takes the place of `token`, which is
   * what it held at start), so a token rotated on disk is sent from the next upload on. */
  readonly token_file?: string
  readonly tls?: TlsConnectOptions
  readonly request_timeout_ms: number
}

export interface SpoolConfig {
  readonly dir: string
  readonly max_bytes: number
  readonly segment_max_bytes: number
  readonly fsync: FsyncPolicy
  readonly fsync_interval_ms: number
  readonly write_mode: WriteMode
}

/** Resolved and frozen. */
export interface DecisionLogConfig {
  readonly sinks: readonly SinkName[]
  readonly service?: ServiceConfig
  readonly file_path?: string
  readonly labels: Readonly<Record<string, string>>
  readonly spool: SpoolConfig
  readonly overflow: OverflowPolicy
  readonly upload_size_limit_bytes: number
  readonly upload_interval_ms: number
  readonly retry_min_delay_ms: number
  readonly retry_max_delay_ms: number
  /** erase_headers plus the auth header. */
  readonly erase_headers: readonly string[]
  readonly erase_query_params: readonly string[]
}

// Credential headers: the config schema's default, one list for it and for loggers built
// without it; the configured auth header joins them at resolve time.
export { DEFAULT_ERASE_HEADERS }

// OPA's own bounds for upload_size_limit_bytes: one minimal event plus an empty gzip stream,
// and 4 GiB.
const MIN_UPLOAD_BYTES = 90
const MAX_UPLOAD_BYTES = 4 * 1024 ** 3

export function resolveDecisionLogConfig (raw: DecisionLogConfigInput, globals: DecisionLogGlobals = {}): DecisionLogConfig {
  const errors: string[] = []
  const o = (raw ?? {}) as DecisionLogConfigInput & Record<string, unknown>
  const production = globals.production === true
  const allowInsecure = globals.allow_insecure === true

  const sinks = o.sinks ?? ['control_plane']
  if (!Array.isArray(sinks) || sinks.length === 0 || !sinks.every((s) => s === 'control_plane' || s === 'console' || s === 'file') ||
      new Set(sinks).size !== sinks.length) {
    errors.push('sinks: must be a non-empty list of distinct control_plane, console, file')
  }

  let service: ServiceConfig | undefined
  if (sinks.includes('control_plane')) {
    const resource = o.resource ?? '/logs'
    if (typeof resource !== 'string' || !resource.startsWith('/')) errors.push('resource: must start with "/"')
    if (o.service_url === undefined || o.service_url === '') errors.push('service_url: is required by the control_plane sink')
    else {
      try { validateServiceUrl(o.service_url, { production, allowInsecure }) } catch (e) { errors.push(`service_url: ${(e as Error).message}`) }
    }
    let token = o.bearer_token
    if (token === undefined && o.bearer_token_file !== undefined) {
      try { token = readFileSync(o.bearer_token_file, 'utf8').trim() } catch (e) {
        errors.push(`bearer_token_file: cannot read ${o.bearer_token_file}: ${(e as Error).message}`)
      }
    }
    let tls: TlsConnectOptions | undefined
    try { tls = loadTls(o.tls) } catch (e) { errors.push((e as Error).message) }
    if (tls !== undefined && !tls.rejectUnauthorized && production && !allowInsecure) {
      errors.push('tls.reject_unauthorized: false is refused in production mode unless allow_insecure')
    }
    service = {
      url: o.service_url === undefined || o.service_url === '' ? '' : joinUrl(o.service_url, resource),
      token,
      ...(o.bearer_token_file === undefined ? {} : { token_file: o.bearer_token_file }),
      tls,
      request_timeout_ms: Math.round(seconds(o.request_timeout_seconds, 'request_timeout_seconds', 10, 0.001, errors) * 1000),
    }
  }
  if (sinks.includes('file') && (o.file_path === undefined || o.file_path === '')) errors.push('file_path: is required by the file sink')

  const labels: Record<string, string> = {}
  for (const [k, v] of Object.entries(o.labels ?? {})) {
    // The bouncer's own: ext_authz listeners' events carry it, and bouncer replay reads an
    // event under their result contract by it (a proxy event labelled so was misread).
    if (k === 'bouncer_mode') errors.push('labels.bouncer_mode: is set by the bouncer on ext_authz events (bouncer replay reads it); use another label name')
    else if (typeof v === 'string') labels[k] = v
    else errors.push(`labels.${k}: must be a string`)
  }

  if (typeof o.spool_dir !== 'string' || o.spool_dir === '') errors.push('spool_dir: is required')
  const maxBytes = int(o.max_bytes, 'max_bytes', 256 * 1024 ** 2, 16 * 1024, Number.MAX_SAFE_INTEGER, errors)
  // Several segments must fit so that drop_oldest frees space a segment at a time without
  // touching the one being written.
  const segDefault = Math.max(4096, Math.min(4 * 1024 ** 2, Math.floor(maxBytes / 8)))
  const segMax = int(o.segment_max_bytes, 'segment_max_bytes', segDefault, 4096, Number.MAX_SAFE_INTEGER, errors)
  if (segMax * 4 > maxBytes) errors.push(`segment_max_bytes: must be at most a quarter of max_bytes (${Math.floor(maxBytes / 4)})`)
  const spool: SpoolConfig = {
    dir: o.spool_dir,
    max_bytes: maxBytes,
    segment_max_bytes: segMax,
    fsync: oneOf(o.fsync, 'fsync', ['always', 'interval', 'never'] as const, 'interval', errors),
    fsync_interval_ms: Math.round(seconds(o.fsync_interval_seconds, 'fsync_interval_seconds', 1, 0.001, errors) * 1000),
    write_mode: oneOf(o.write_mode, 'write_mode', ['group', 'sync', 'batched'] as const, 'group', errors),
  }

  const minDelay = seconds(o.min_delay_seconds, 'min_delay_seconds', 1, 0, errors)
  const maxDelay = seconds(o.max_delay_seconds, 'max_delay_seconds', 120, 0.001, errors)
  if (maxDelay < minDelay) errors.push('max_delay_seconds: must be >= min_delay_seconds')

  let eraseHeaders = DEFAULT_ERASE_HEADERS
  if (o.erase_headers !== undefined) {
    if (!Array.isArray(o.erase_headers) || !o.erase_headers.every((h) => typeof h === 'string')) {
      errors.push('erase_headers: must be a list of header names')
    } else eraseHeaders = o.erase_headers.map((h: string) => h.toLowerCase())
  }
  const authHeader = globals.auth_header?.trim().toLowerCase()
  if (authHeader && !eraseHeaders.includes(authHeader)) eraseHeaders = [...eraseHeaders, authHeader]

  let eraseQueryParams = DEFAULT_ERASE_QUERY_PARAMS
  if (o.erase_query_params !== undefined) {
    if (!Array.isArray(o.erase_query_params) || !o.erase_query_params.every((h) => typeof h === 'string')) {
      errors.push('erase_query_params: must be a list of parameter names')
    } else eraseQueryParams = o.erase_query_params.map((h: string) => h.toLowerCase())
  }

  const overflow = oneOf(o.overflow, 'overflow', ['drop_oldest', 'backpressure'] as const, 'drop_oldest', errors)
  const uploadLimit = int(o.upload_size_limit_bytes, 'upload_size_limit_bytes', 32768, MIN_UPLOAD_BYTES, MAX_UPLOAD_BYTES, errors)

  if (errors.length > 0) throw new BouncerError('BOUNCER_ERR_DECISION_LOG_CONFIG', [errors.map((e) => `decision_logs.${e}`).join('; ')])
  return deepFreeze({
    sinks: [...sinks],
    service,
    file_path: o.file_path,
    labels,
    spool,
    overflow,
    upload_size_limit_bytes: uploadLimit,
    upload_interval_ms: Math.round(minDelay * 1000),
    // The first retry waits about the batching window (at least 10 ms), doubling up to the cap.
    retry_min_delay_ms: Math.max(10, Math.round(minDelay * 1000)),
    retry_max_delay_ms: Math.max(10, Math.round(maxDelay * 1000)),
    erase_headers: [...eraseHeaders],
    erase_query_params: [...eraseQueryParams],
  })
}

/**
 * Check a control-plane URL. Plaintext http:// is refused in production mode unless
 * allowInsecure; credentials in the URL are always refused (the token option keeps the secret
 * out of anything that prints the URL).
 */
export function validateServiceUrl (url: string, opts: { production: boolean; allowInsecure?: boolean }): URL {
  let u: URL
  try { u = new URL(url) } catch {
    throw new BouncerError('BOUNCER_ERR_DECISION_LOG_CONFIG', [`service URL ${JSON.stringify(url)} is not a URL`])
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    throw new BouncerError('BOUNCER_ERR_DECISION_LOG_CONFIG', [`service URL ${url} must be http(s)`])
  }
  if (u.username !== '' || u.password !== '') {
    throw new BouncerError('BOUNCER_ERR_DECISION_LOG_CONFIG', ['service URL must not carry credentials; use a bearer token'])
  }
  if (u.protocol === 'http:' && opts.production && opts.allowInsecure !== true) {
    throw new BouncerError('BOUNCER_ERR_DECISION_LOG_INSECURE_URL', [url])
  }
  return u
}

/** undici connect options from the TLS section, reading files once. */
function loadTls (tls: DecisionLogTlsInput | undefined): TlsConnectOptions | undefined {
  if (tls === undefined) return undefined
  const read = (pem: string | undefined, file: string | undefined, what: string): string | undefined => {
    if (pem !== undefined) return pem
    if (file === undefined) return undefined
    try { return readFileSync(file, 'utf8') } catch (e) {
      throw new Error(`tls.${what}_file: cannot read ${file}: ${(e as Error).message}`)
    }
  }
  const out: TlsConnectOptions = { rejectUnauthorized: tls.reject_unauthorized !== false }
  const ca = read(tls.ca, tls.ca_file, 'ca')
  const cert = read(tls.cert, tls.cert_file, 'cert')
  const key = read(tls.key, tls.key_file, 'key')
  if (ca !== undefined) out.ca = ca
  if (cert !== undefined) out.cert = cert
  if (key !== undefined) out.key = key
  if (tls.servername !== undefined) out.servername = tls.servername
  return out
}

// --- small validators: each records a message naming the field and returns a usable value ---

function int (v: unknown, field: string, dflt: number, min: number, max: number, errors: string[]): number {
  if (v === undefined) return dflt
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    errors.push(`${field}: must be an integer in [${min}, ${max}]`)
    return dflt
  }
  return v
}

function seconds (v: unknown, field: string, dflt: number, min: number, errors: string[]): number {
  if (v === undefined) return dflt
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min) {
    errors.push(`${field}: must be a number of seconds >= ${min}`)
    return dflt
  }
  return v
}

function oneOf<T extends string> (v: unknown, field: string, allowed: readonly T[], dflt: T, errors: string[]): T {
  if (v === undefined) return dflt
  if (!allowed.includes(v as T)) { errors.push(`${field}: must be one of ${allowed.join(', ')}`); return dflt }
  return v as T
}

