// Redis connection options → an ioredis client (single node, Sentinel or Cluster).
//
// The client is tuned for a cache on the request path, where a slow answer is worse than no
// answer: a short command timeout, no offline queue (a command sent while disconnected fails
// at once instead of waiting for a reconnect), no retrying or re-sending of commands, and
// quick reconnects in the background. The circuit breaker (breaker.ts) sits on top.
import { Redis, Cluster, type RedisOptions, type ClusterOptions } from 'ioredis'
import type { ConnectionOptions } from 'node:tls'
import { isIP } from 'node:net'
import { BouncerError } from '../errors.js'
import { redactUrl } from '../redact-url.js'

export type RedisMode = 'single' | 'sentinel' | 'cluster'

/** PEM contents (the config loader reads the files). */
export interface RedisTlsOptions {
  /** CA bundle used to verify the server; default: Node's built-in roots. */
  ca?: string | Buffer | Array<string | Buffer>
  /** Client certificate and key, for servers with tls-auth-clients. */
  cert?: string | Buffer
  key?: string | Buffer
  passphrase?: string
  /** Name to verify the server certificate against, when it differs from the host in the URL. */
  servername?: string
  /** Default true. false is refused in production unless allowInsecure. */
  rejectUnauthorized?: boolean
}

export interface RedisConnectionOptions {
  /** Default 'single'. */
  mode?: RedisMode
  /** single: redis[s]://[user[:password]@]host[:port][/db]. */
  url?: string
  /**
   * cluster: seed nodes; sentinel: the sentinels (default port 26379). redis[s]:// URLs, all
   * with the same scheme; rediss:// means TLS to every node (sentinels and data nodes alike).
   * Credentials in sentinel URLs authenticate to the sentinels.
   */
  nodes?: string[]
  /** sentinel: the master group name. */
  sentinelName?: string
  /** sentinel: the sentinels' password; overrides one in the sentinel URLs. */
  sentinelPassword?: string
  /** Credentials for the data nodes; override those in `url`. */
  username?: string
  password?: string
  /** Database index (single and sentinel). Overrides the /db in `url`. */
  db?: number
  /** Used when the scheme is rediss://. */
  tls?: RedisTlsOptions
  /** Bound on each lookup, write and probe, ms (RedisTier enforces it). Default 50. */
  commandTimeoutMs?: number
  /** TCP/TLS connect timeout, ms. Default 2000. */
  connectTimeoutMs?: number
  /** Cap for the background reconnect backoff, ms. Default 1000. */
  maxReconnectDelayMs?: number
}

export interface RedisSecurityOptions {
  /** Production mode refuses plaintext redis:// and unverified TLS... */
  production?: boolean
  /** ...unless this is set (config: allow_insecure). */
  allowInsecure?: boolean
}

export interface ParsedRedisUrl {
  tls: boolean
  host: string
  port: number
  username?: string
  password?: string
  db?: number
}

export type RedisClient = Redis | Cluster

// ioredis' own command timeout, as a multiple of the tier's (see createRedisClient).
const BACKSTOP_FACTOR = 10

export const REDIS_DEFAULTS = Object.freeze({
  commandTimeoutMs: 50,
  connectTimeoutMs: 2000,
  maxReconnectDelayMs: 1000,
})

/** The URL with its password (and any query value) replaced by ***, for messages and logs. */
export function redactRedisUrl (url: string): string {
  return redactUrl(url)
}

/**
 * Parses a redis:// or rediss:// URL. Throws BOUNCER_ERR_CACHE_REDIS_URL when it is not one,
 * and BOUNCER_ERR_CACHE_REDIS_INSECURE for redis:// in production without allowInsecure.
 */
export function validateRedisUrl (url: string, opts: RedisSecurityOptions & { defaultPort?: number } = {}): ParsedRedisUrl {
  const shown = redactRedisUrl(url)
  const bad = (why: string): BouncerError => new BouncerError('BOUNCER_ERR_CACHE_REDIS_URL', [shown, why])
  if (typeof url !== 'string' || url === '') throw new BouncerError('BOUNCER_ERR_CACHE_REDIS_URL', ['""', 'empty'])
  let u: URL
  try { u = new URL(url) } catch { throw bad('not a URL') }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') throw bad(`scheme must be redis:// or rediss://, got ${u.protocol}//`)
  const host = u.hostname.replace(/^\[|\]$/g, '')
  if (host === '') throw bad('missing host')
  // Options hidden in a query string (?tls=..., ?password=...) would be silently ignored by us
  // and interpreted differently by other clients: refuse rather than guess.
  if (u.search !== '') throw bad('query parameters are not supported; use the cache options')
  const port = u.port === '' ? (opts.defaultPort ?? 6379) : Number(u.port)
  let db: number | undefined
  if (u.pathname !== '' && u.pathname !== '/') {
    const m = /^\/(0|[1-9][0-9]{0,4})$/.exec(u.pathname)
    if (m === null) throw bad('path must be a database number, e.g. /0')
    db = Number(m[1])
  }
  const tls = u.protocol === 'rediss:'
  if (!tls && opts.production === true && opts.allowInsecure !== true) {
    throw new BouncerError('BOUNCER_ERR_CACHE_REDIS_INSECURE', [shown, 'plaintext redis://'])
  }
  const out: ParsedRedisUrl = { tls, host, port }
  if (u.username !== '') out.username = decodeURIComponent(u.username)
  if (u.password !== '') out.password = decodeURIComponent(u.password)
  if (db !== undefined) out.db = db
  return out
}

interface ResolvedConnection {
  mode: RedisMode
  tls: boolean
  primary: ParsedRedisUrl[]
}

/** Checks every option that does not need a network round trip. Throws BouncerError. */
export function validateRedisOptions (opts: RedisConnectionOptions & RedisSecurityOptions): ResolvedConnection {
  const mode = opts.mode ?? 'single'
  const optErr = (why: string): BouncerError => new BouncerError('BOUNCER_ERR_CACHE_OPTIONS', [`redis: ${why}`])
  for (const k of ['commandTimeoutMs', 'connectTimeoutMs', 'maxReconnectDelayMs'] as const) {
    const v = opts[k]
    if (v !== undefined && (typeof v !== 'number' || !Number.isFinite(v) || v <= 0)) throw optErr(`${k} must be a positive number`)
  }
  if (opts.db !== undefined && (!Number.isInteger(opts.db) || opts.db < 0)) throw optErr('db must be a non-negative integer')
  let primary: ParsedRedisUrl[]
  if (mode === 'single') {
    if (opts.url === undefined) throw optErr('mode "single" needs url')
    primary = [validateRedisUrl(opts.url, opts)]
  } else if (mode === 'sentinel' || mode === 'cluster') {
    if (!Array.isArray(opts.nodes) || opts.nodes.length === 0) throw optErr(`mode "${mode}" needs nodes`)
    const defaultPort = mode === 'sentinel' ? 26379 : 6379
    primary = opts.nodes.map(n => validateRedisUrl(n, { ...opts, defaultPort }))
    if (primary.some(p => p.tls !== primary[0].tls)) throw optErr('nodes mix redis:// and rediss://')
    if (mode === 'sentinel' && (typeof opts.sentinelName !== 'string' || opts.sentinelName === '')) throw optErr('mode "sentinel" needs sentinelName')
  } else {
    throw optErr(`unknown mode ${JSON.stringify(mode)}`)
  }
  const tls = primary[0].tls
  if (tls && opts.tls?.rejectUnauthorized === false && opts.production === true && opts.allowInsecure !== true) {
    throw new BouncerError('BOUNCER_ERR_CACHE_REDIS_INSECURE', [redactRedisUrl(opts.url ?? opts.nodes?.[0] ?? ''), 'tls.rejectUnauthorized is false'])
  }
  return { mode, tls, primary }
}

function tlsOptions (t: RedisTlsOptions | undefined): ConnectionOptions {
  const o: ConnectionOptions = { minVersion: 'TLSv1.2', rejectUnauthorized: t?.rejectUnauthorized !== false }
  if (t?.ca !== undefined) o.ca = t.ca
  if (t?.cert !== undefined) o.cert = t.cert
  if (t?.key !== undefined) o.key = t.key
  if (t?.passphrase !== undefined) o.passphrase = t.passphrase
  // Node picks the SNI name from the host unless it is an IP (RFC 6066 forbids IP SNI); the
  // certificate is still checked against the IP in that case.
  if (t?.servername !== undefined && isIP(t.servername) === 0) o.servername = t.servername
  return o
}

/**
 * Builds (and starts connecting) the ioredis client. Callers must attach an 'error' listener
 * before the next tick; RedisTier does.
 */
export function createRedisClient (opts: RedisConnectionOptions & RedisSecurityOptions): RedisClient {
  const r = validateRedisOptions(opts)
  const commandTimeout = opts.commandTimeoutMs ?? REDIS_DEFAULTS.commandTimeoutMs
  const connectTimeout = opts.connectTimeoutMs ?? REDIS_DEFAULTS.connectTimeoutMs
  const maxDelay = opts.maxReconnectDelayMs ?? REDIS_DEFAULTS.maxReconnectDelayMs
  // Reconnect forever (the breaker decides whether Redis is used), starting fast.
  const backoff = (times: number): number => Math.min(50 * 2 ** Math.min(times, 10), maxDelay)
  const tls = r.tls ? tlsOptions(opts.tls) : undefined

  const perConnection = {
    // RedisTier bounds every call it makes by commandTimeoutMs itself, with one timer for all
    // of them that only acts once pending replies have been read. ioredis' own per-command
    // timer is a backstop for what RedisTier does not send (the ready check, AUTH, SELECT at
    // connect: a server that hangs there is dropped and reconnected); were it as short, it
    // would fire first, and on a busy loop before a reply already received had been read.
    // (It is cleared when the socket closes, so close() still leaves nothing long behind.
    // RedisTier turns it off while a single/sentinel connection is ready.)
    commandTimeout: BACKSTOP_FACTOR * commandTimeout,
    connectTimeout,
    enableOfflineQueue: false,
    // A command in flight when the connection drops fails instead of being replayed later.
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    connectionName: 'bouncer-decision-cache',
    // disconnect() ends the socket and destroys it if it is still open after this long, on a
    // timer that keeps the process alive; ioredis' default (2 s) applies even when the socket
    // is already gone (a Redis that went away), so every shutdown took 2 s. Nothing is waited
    // for on a cache connection we are closing: the command timeout is plenty.
    disconnectTimeout: commandTimeout,
    // GET/SET/PING replies are the same in RESP2 and RESP3; RESP2 skips the HELLO negotiation
    // that older servers and Redis-protocol proxies reject.
    protocol: 2,
    ...(tls !== undefined ? { tls } : {}),
  } satisfies RedisOptions

  if (r.mode === 'cluster') {
    const clusterOpts: ClusterOptions = {
      enableOfflineQueue: false,
      enableReadyCheck: true,
      clusterRetryStrategy: backoff,
      slotsRefreshTimeout: connectTimeout,
      redisOptions: {
        ...perConnection,
        ...(opts.username !== undefined || r.primary[0].username !== undefined ? { username: opts.username ?? r.primary[0].username } : {}),
        ...(opts.password !== undefined || r.primary[0].password !== undefined ? { password: opts.password ?? r.primary[0].password } : {}),
      },
    }
    return new Cluster(r.primary.map(p => ({ host: p.host, port: p.port })), clusterOpts)
  }

  if (r.mode === 'sentinel') {
    const s0 = r.primary[0]
    const o: RedisOptions = {
      ...perConnection,
      retryStrategy: backoff,
      sentinels: r.primary.map(p => ({ host: p.host, port: p.port })),
      name: opts.sentinelName,
      role: 'master',
      sentinelRetryStrategy: backoff,
      sentinelCommandTimeout: connectTimeout,
      // Subscribes to +switch-master so a failover is followed without waiting for errors.
      failoverDetector: true,
      ...(s0.username !== undefined ? { sentinelUsername: s0.username } : {}),
      ...((opts.sentinelPassword ?? s0.password) !== undefined ? { sentinelPassword: opts.sentinelPassword ?? s0.password } : {}),
      ...(tls !== undefined ? { enableTLSForSentinelMode: true, sentinelTLS: tls } : {}),
      ...(opts.username !== undefined ? { username: opts.username } : {}),
      ...(opts.password !== undefined ? { password: opts.password } : {}),
      ...(opts.db !== undefined ? { db: opts.db } : {}),
    }
    return new Redis(o)
  }

  const p = r.primary[0]
  const username = opts.username ?? p.username
  const password = opts.password ?? p.password
  const db = opts.db ?? p.db
  return new Redis({
    ...perConnection,
    retryStrategy: backoff,
    host: p.host,
    port: p.port,
    ...(username !== undefined ? { username } : {}),
    ...(password !== undefined ? { password } : {}),
    ...(db !== undefined ? { db } : {}),
  })
}
