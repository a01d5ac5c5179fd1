// The decision-log slice of the configuration: types, defaults, validation.
// Keys are snake_case with units in their names, matching the YAML file; the config loader
// hands this slice over as parsed and resolveDecisionLogConfig() fills in defaults and freezes.

import { readFileSync } from 'node:fs'
import { BouncerError } from '../errors.js'

export type SinkType = 'service' | 'console' | 'file'
export type FsyncPolicy = 'always' | 'interval' | 'never'
export type OverflowPolicy = 'drop_oldest' | 'backpressure'
/** sync: record() writes its line to the spool file before returning (survives a process
 * crash as soon as record() returns). batched: record() queues the line and one write per
 * event-loop turn appends everything queued (cheaper per event; a crash loses that turn). */
export type WriteMode = 'sync' | 'batched'

export interface TlsConfig {
  readonly ca?: string // PEM
  readonly cert?: string
  readonly key?: string
  readonly ca_file?: string // or paths, read once at construction
  readonly cert_file?: string
  readonly key_file?: string
  readonly reject_unauthorized: boolean
  readonly servername?: string
}

export interface ServiceConfig {
  readonly url: string // base URL of the control plane; events go to url + resource
  readonly resource: string
  readonly token?: string // bearer token
  readonly tls?: TlsConfig
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

export interface DecisionLogConfig {
  readonly sink: SinkType
  readonly service?: ServiceConfig
  readonly file?: { readonly path: string }
  /** Extra labels; `id` (instance id) and `version` are filled in when absent. */
  readonly labels: Readonly<Record<string, string>>
  readonly spool: SpoolConfig
  readonly overflow: OverflowPolicy
  readonly upload_size_limit_bytes: number
  readonly upload_interval_ms: number
  readonly retry: { readonly min_delay_ms: number; readonly max_delay_ms: number }
  /** Header names erased from the logged input (and from decision headers in the result). */
  readonly erase_headers: readonly string[]
  readonly production: boolean
  readonly allow_insecure: boolean
}

type DeepPartial<T> = { [K in keyof T]?: T[K] extends object ? (T[K] extends readonly unknown[] ? T[K] : DeepPartial<T[K]>) : T[K] }
export type DecisionLogConfigInput = DeepPartial<DecisionLogConfig> & { spool: DeepPartial<SpoolConfig> & { dir: string } }

export const DEFAULT_ERASE_HEADERS = Object.freeze(['authorization', 'proxy-authorization', 'cookie', 'set-cookie'])

// OPA's own bounds for upload_size_limit_bytes: one minimal event plus an empty gzip stream,
// and 4 GiB.
const MIN_UPLOAD_BYTES = 90
const MAX_UPLOAD_BYTES = 4 * 1024 ** 3

export function resolveDecisionLogConfig (raw: unknown): DecisionLogConfig {
  const errors: string[] = []
  const o = obj(raw, 'decision_logs', errors)
  const sink = oneOf(o.sink, 'sink', ['service', 'console', 'file'] as const, 'service', errors)
  const production = bool(o.production, 'production', false, errors)
  const allowInsecure = bool(o.allow_insecure, 'allow_insecure', false, errors)

  let service: ServiceConfig | undefined
  if (o.service !== undefined || sink === 'service') {
    const s = obj(o.service, 'service', errors)
    const url = str(s.url, 'service.url', undefined, errors)
    if (url !== undefined) {
      try { validateServiceUrl(url, { production, allowInsecure }) } catch (e) {
        errors.push(`service.url: ${(e as Error).message}`)
      }
    }
    const resource = str(s.resource, 'service.resource', '/logs', errors) ?? '/logs'
    if (!resource.startsWith('/')) errors.push('service.resource: must start with "/"')
    let tls: TlsConfig | undefined
    if (s.tls !== undefined) {
      const t = obj(s.tls, 'service.tls', errors)
      tls = {
        ca: optStr(t.ca, 'service.tls.ca', errors),
        cert: optStr(t.cert, 'service.tls.cert', errors),
        key: optStr(t.key, 'service.tls.key', errors),
        ca_file: optStr(t.ca_file, 'service.tls.ca_file', errors),
        cert_file: optStr(t.cert_file, 'service.tls.cert_file', errors),
        key_file: optStr(t.key_file, 'service.tls.key_file', errors),
        reject_unauthorized: bool(t.reject_unauthorized, 'service.tls.reject_unauthorized', true, errors),
        servername: optStr(t.servername, 'service.tls.servername', errors),
      }
      if (production && !tls.reject_unauthorized && !allowInsecure) {
        errors.push('service.tls.reject_unauthorized: false is refused in production unless allow_insecure')
      }
    }
    service = {
      url: url ?? '',
      resource,
      token: optStr(s.token, 'service.token', errors),
      tls,
      request_timeout_ms: int(s.request_timeout_ms, 'service.request_timeout_ms', 10_000, 1, 600_000, errors),
    }
  }

  let file: { path: string } | undefined
  if (o.file !== undefined || sink === 'file') {
    const f = obj(o.file, 'file', errors)
    file = { path: str(f.path, 'file.path', undefined, errors) ?? '' }
  }

  const labels: Record<string, string> = {}
  if (o.labels !== undefined) {
    const l = obj(o.labels, 'labels', errors)
    for (const [k, v] of Object.entries(l)) {
      if (typeof v === 'string') labels[k] = v
      else errors.push(`labels.${k}: must be a string`)
    }
  }

  const sp = obj(o.spool, 'spool', errors)
  const maxBytes = int(sp.max_bytes, 'spool.max_bytes', 64 * 1024 ** 2, 64 * 1024, Number.MAX_SAFE_INTEGER, errors)
  // Several segments must fit in the spool so that drop_oldest can free space a segment at a
  // time without touching the one being written.
  const segDefault = Math.max(16 * 1024, Math.min(4 * 1024 ** 2, Math.floor(maxBytes / 8)))
  const segMax = int(sp.segment_max_bytes, 'spool.segment_max_bytes', segDefault, 4096, Number.MAX_SAFE_INTEGER, errors)
  if (segMax * 4 > maxBytes) errors.push(`spool.segment_max_bytes: must be at most a quarter of spool.max_bytes (${Math.floor(maxBytes / 4)})`)
  const spool: SpoolConfig = {
    dir: str(sp.dir, 'spool.dir', undefined, errors) ?? '',
    max_bytes: maxBytes,
    segment_max_bytes: segMax,
    fsync: oneOf(sp.fsync, 'spool.fsync', ['always', 'interval', 'never'] as const, 'interval', errors),
    fsync_interval_ms: int(sp.fsync_interval_ms, 'spool.fsync_interval_ms', 1000, 1, 3_600_000, errors),
    write_mode: oneOf(sp.write_mode, 'spool.write_mode', ['sync', 'batched'] as const, 'sync', errors),
  }

  const r = obj(o.retry, 'retry', errors)
  const retry = {
    min_delay_ms: int(r.min_delay_ms, 'retry.min_delay_ms', 100, 1, 3_600_000, errors),
    max_delay_ms: int(r.max_delay_ms, 'retry.max_delay_ms', 30_000, 1, 3_600_000, errors),
  }
  if (retry.max_delay_ms < retry.min_delay_ms) errors.push('retry.max_delay_ms: must be >= retry.min_delay_ms')

  let eraseHeaders: string[] = [...DEFAULT_ERASE_HEADERS]
  if (o.erase_headers !== undefined) {
    if (!Array.isArray(o.erase_headers) || !o.erase_headers.every((h) => typeof h === 'string')) {
      errors.push('erase_headers: must be a list of header names')
    } else eraseHeaders = o.erase_headers.map((h: string) => h.toLowerCase())
  }

  const cfg: DecisionLogConfig = {
    sink,
    service,
    file,
    labels,
    spool,
    overflow: oneOf(o.overflow, 'overflow', ['drop_oldest', 'backpressure'] as const, 'drop_oldest', errors),
    upload_size_limit_bytes: int(o.upload_size_limit_bytes, 'upload_size_limit_bytes', 32768, MIN_UPLOAD_BYTES, MAX_UPLOAD_BYTES, errors),
    upload_interval_ms: int(o.upload_interval_ms, 'upload_interval_ms', 1000, 0, 3_600_000, errors),
    retry,
    erase_headers: eraseHeaders,
    production,
    allow_insecure: allowInsecure,
  }
  if (errors.length > 0) throw new BouncerError('BOUNCER_ERR_DECISION_LOG_CONFIG', [errors.join('; ')])
  return deepFreeze(cfg)
}

/**
 * Check a control-plane URL. Plaintext http:// is refused in production mode unless
 * allowInsecure; credentials in the URL are always refused (use the bearer token option, so
 * the secret never ends up in logs that print the URL).
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
    throw new BouncerError('BOUNCER_ERR_DECISION_LOG_CONFIG', ['service URL must not carry credentials; use service.token'])
  }
  if (u.protocol === 'http:' && opts.production && opts.allowInsecure !== true) {
    throw new BouncerError('BOUNCER_ERR_DECISION_LOG_INSECURE_URL', [url])
  }
  return u
}

/** PEM material for undici's connect options, reading *_file paths once. */
export function loadTls (tls: TlsConfig | undefined): { ca?: string; cert?: string; key?: string; rejectUnauthorized: boolean; servername?: string } | undefined {
  if (tls === undefined) return undefined
  const read = (pem: string | undefined, file: string | undefined, what: string): string | undefined => {
    if (pem !== undefined) return pem
    if (file === undefined) return undefined
    try { return readFileSync(file, 'utf8') } catch (e) {
      throw new BouncerError('BOUNCER_ERR_DECISION_LOG_CONFIG', [`cannot read service.tls.${what}_file ${file}: ${(e as Error).message}`], { cause: e })
    }
  }
  return {
    ca: read(tls.ca, tls.ca_file, 'ca'),
    cert: read(tls.cert, tls.cert_file, 'cert'),
    key: read(tls.key, tls.key_file, 'key'),
    rejectUnauthorized: tls.reject_unauthorized,
    servername: tls.servername,
  }
}

// --- small validators: each records a message naming the field and returns a usable value ---

function obj (v: unknown, field: string, errors: string[]): Record<string, any> {
  if (v === undefined || v === null) return {}
  if (typeof v !== 'object' || Array.isArray(v)) { errors.push(`${field}: must be an object`); return {} }
  return v as Record<string, any>
}

function str (v: unknown, field: string, dflt: string | undefined, errors: string[]): string | undefined {
  if (v === undefined) {
    if (dflt === undefined) errors.push(`${field}: is required`)
    return dflt
  }
  if (typeof v !== 'string' || v === '') { errors.push(`${field}: must be a non-empty string`); return dflt }
  return v
}

function optStr (v: unknown, field: string, errors: string[]): string | undefined {
  if (v === undefined) return undefined
  if (typeof v !== 'string') { errors.push(`${field}: must be a string`); return undefined }
  return v
}

function bool (v: unknown, field: string, dflt: boolean, errors: string[]): boolean {
  if (v === undefined) return dflt
  if (typeof v !== 'boolean') { errors.push(`${field}: must be true or false`); return dflt }
  return v
}

function int (v: unknown, field: string, dflt: number, min: number, max: number, errors: string[]): number {
  if (v === undefined) return dflt
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    errors.push(`${field}: must be an integer in [${min}, ${max}]`)
    return dflt
  }
  return v
}

function oneOf<T extends string> (v: unknown, field: string, allowed: readonly T[], dflt: T, errors: string[]): T {
  if (v === undefined) return dflt
  if (!allowed.includes(v as T)) { errors.push(`${field}: must be one of ${allowed.join(', ')}`); return dflt }
  return v as T
}

function deepFreeze<T> (x: T): T {
  if (x !== null && typeof x === 'object' && !Object.isFrozen(x)) {
    Object.freeze(x)
    for (const v of Object.values(x as object)) deepFreeze(v)
  }
  return x
}
