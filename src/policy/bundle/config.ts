// The bundle manager's slice of configuration: validated once, defaults applied, frozen.
// Each problem is a BOUNCER_ERR_BUNDLE_CONFIG naming the field.
import { BundleError, prepareVerification, resolveLimits, type BundleLimits, type VerificationConfig } from '../../bundle/index.js'
import type { TlsClientOptions } from './download.js'

export interface BundleServiceConfig {
  url: string
  bearerToken?: string
  /** Read again for every request (see ServiceClientOptions.bearerTokenFile). */
  bearerTokenFile?: string
  tls?: TlsClientOptions
  headers?: Record<string, string>
}

export interface BundleManagerConfig {
  /** Bundle name: status key, persistence directory, metrics label. */
  name: string
  service: BundleServiceConfig
  /** Defaults to `bundles/<name>` as in OPA. */
  resource?: string
  polling?: {
    minDelaySeconds?: number
    maxDelaySeconds?: number
    longPollingTimeoutSeconds?: number
    maxBackoffSeconds?: number
  }
  requestTimeoutSeconds?: number
  limits?: BundleLimits
  /** Verification keys; when set every bundle must be signed by one of them. */
  signing?: VerificationConfig
  /** Refuse a bundle whose signature was issued (iat) before the active bundle's: a rollback. */
  refuseRollback?: boolean
  /** Directory for the last good bundle; unset = no persistence. */
  persistDir?: string
  status?: { enabled?: boolean; partition?: string; labels?: Record<string, string>; timeoutSeconds?: number }
  /** Production mode: refuse http:// services and unsigned bundles unless allowed below. */
  production?: boolean
  allowInsecureHttp?: boolean
  allowUnsigned?: boolean
}

export interface ResolvedBundleManagerConfig {
  readonly name: string
  readonly service: Readonly<BundleServiceConfig>
  readonly resource: string
  readonly polling: Readonly<{ minDelaySeconds: number; maxDelaySeconds: number; longPollingTimeoutSeconds?: number; maxBackoffSeconds: number }>
  readonly requestTimeoutSeconds: number
  readonly limits: Readonly<Required<BundleLimits>>
  readonly signing?: VerificationConfig
  readonly refuseRollback: boolean
  readonly persistDir?: string
  readonly status: Readonly<{ enabled: boolean; partition?: string; labels: Record<string, string>; timeoutSeconds: number }>
  readonly production: boolean
}

function bad (field: string, reason: string): BundleError {
  return new BundleError('BOUNCER_ERR_BUNDLE_CONFIG', field, reason)
}

function positive (v: unknown, field: string, dflt: number, allowZero = false): number {
  if (v === undefined) return dflt
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || (!allowZero && v === 0)) {
    throw bad(field, `must be a ${allowZero ? 'non-negative' : 'positive'} number of seconds, got ${JSON.stringify(v)}`)
  }
  return v
}

/** Validates and completes a manager config; throws BOUNCER_ERR_BUNDLE_CONFIG. */
export function resolveBundleManagerConfig (c: BundleManagerConfig): ResolvedBundleManagerConfig {
  if (typeof c !== 'object' || c === null) throw bad('bundle', 'must be an object')
  if (typeof c.name !== 'string' || c.name === '') throw bad('name', 'must be a non-empty string')
  if (typeof c.service?.url !== 'string') throw bad('service.url', 'is required')
  let url: URL
  try {
    url = new URL(c.service.url)
  } catch {
    throw bad('service.url', `is not a URL: ${c.service.url}`)
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw bad('service.url', `must be http(s), got ${url.protocol}`)
  const production = c.production === true
  if (production && url.protocol === 'http:' && c.allowInsecureHttp !== true) {
    throw bad('service.url', 'production mode refuses plaintext http:// services (set allowInsecureHttp to override)')
  }
  if (production && c.signing === undefined && c.allowUnsigned !== true) {
    throw bad('signing', 'production mode refuses unsigned bundles: configure signing keys (or set allowUnsigned to override)')
  }
  if (c.service.tls?.rejectUnauthorized === false && production) {
    throw bad('service.tls.rejectUnauthorized', 'cannot be false in production mode')
  }
  if (c.service.bearerToken !== undefined && typeof c.service.bearerToken !== 'string') throw bad('service.bearerToken', 'must be a string')
  if (c.service.bearerTokenFile !== undefined && (typeof c.service.bearerTokenFile !== 'string' || c.service.bearerTokenFile === '')) {
    throw bad('service.bearerTokenFile', 'must be a non-empty string')
  }
  if (c.signing !== undefined) prepareVerification(c.signing)

  const p = c.polling ?? {}
  const minDelaySeconds = positive(p.minDelaySeconds, 'polling.minDelaySeconds', 60)
  const maxDelaySeconds = positive(p.maxDelaySeconds, 'polling.maxDelaySeconds', Math.max(120, minDelaySeconds))
  if (maxDelaySeconds < minDelaySeconds) throw bad('polling.maxDelaySeconds', `(${maxDelaySeconds}) must be >= polling.minDelaySeconds (${minDelaySeconds})`)
  const longPollingTimeoutSeconds = p.longPollingTimeoutSeconds === undefined ? undefined : positive(p.longPollingTimeoutSeconds, 'polling.longPollingTimeoutSeconds', 0)
  const maxBackoffSeconds = positive(p.maxBackoffSeconds, 'polling.maxBackoffSeconds', Math.max(60, maxDelaySeconds))

  let limits: Required<BundleLimits>
  try {
    limits = resolveLimits(c.limits)
  } catch (e) {
    throw bad('limits', (e as Error).message)
  }

  const st = c.status ?? {}
  const out: ResolvedBundleManagerConfig = {
    name: c.name,
    service: Object.freeze({ ...c.service }),
    resource: c.resource ?? `bundles/${c.name}`,
    polling: Object.freeze({ minDelaySeconds, maxDelaySeconds, maxBackoffSeconds, ...(longPollingTimeoutSeconds === undefined ? {} : { longPollingTimeoutSeconds }) }),
    requestTimeoutSeconds: positive(c.requestTimeoutSeconds, 'requestTimeoutSeconds', 30),
    limits: Object.freeze(limits),
    ...(c.signing === undefined ? {} : { signing: c.signing }),
    refuseRollback: c.refuseRollback === true,
    ...(c.persistDir === undefined ? {} : { persistDir: c.persistDir }),
    status: Object.freeze({
      enabled: st.enabled === true,
      ...(st.partition === undefined ? {} : { partition: st.partition }),
      labels: { ...(st.labels ?? {}) },
      timeoutSeconds: positive(st.timeoutSeconds, 'status.timeoutSeconds', 10)
    }),
    production
  }
  return Object.freeze(out)
}
