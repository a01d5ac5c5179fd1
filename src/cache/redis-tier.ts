// The shared tier: decisions in Redis, behind a circuit breaker, every call bounded in time.
//
// Stored value:  "1|<expiresAtMs>|<mac>|<decision JSON>"
//  - expiresAtMs lets a Redis hit fill the memory tier for only the time the entry has left.
//  - mac is HMAC-SHA256(integrityKey, redisKey ‖ expiresAt ‖ json), empty when no key is set.
//    With a key, anyone who can write to Redis but does not hold the key cannot forge an allow,
//    move one to another request's key, or extend its life: a bad or missing mac is a miss.
import { createHmac, timingSafeEqual } from 'node:crypto'
import { BouncerError } from '../errors.js'
import { CircuitBreaker, type BreakerOptions, type BreakerState } from './breaker.js'
import { BREAKER_STATE_VALUE, type CacheLogger, type CacheMetrics, type RedisOp } from './metrics.js'
import {
  createRedisClient, redactRedisUrl, REDIS_DEFAULTS,
  type RedisClient, type RedisConnectionOptions, type RedisSecurityOptions,
} from './redis-client.js'

export interface RedisTierOptions extends RedisConnectionOptions, RedisSecurityOptions {
  /** Prepended to every key. Default 'bouncer:dc:'. */
  keyPrefix?: string
  /** Larger values are neither written nor accepted on read. Default 65536. */
  maxValueBytes?: number
  /** Shared secret for value MACs (see above). All pods sharing the Redis must use the same one. */
  integrityKey?: string | Buffer
  breaker?: BreakerOptions
}

export type RedisLookup =
  | { kind: 'hit'; decision: unknown; json: string; expiresAt: number }
  | { kind: 'miss' }
  /** Breaker open: Redis was not asked. */
  | { kind: 'skipped' }
  /** Asked, failed or timed out (already counted and fed to the breaker). */
  | { kind: 'error' }

const MISS = Object.freeze({ kind: 'miss' as const })
const SKIPPED = Object.freeze({ kind: 'skipped' as const })
const ERROR = Object.freeze({ kind: 'error' as const })
const FORMAT = '1'

class TimeoutError extends Error {}
const TIMEOUT = new TimeoutError('redis call exceeded the command timeout')

export interface RedisTierDeps {
  metrics?: CacheMetrics
  log?: CacheLogger
}

export class RedisTier {
  readonly client: RedisClient
  readonly breaker: CircuitBreaker
  readonly keyPrefix: string
  readonly #timeoutMs: number
  readonly #maxValueBytes: number
  readonly #macKey: Buffer | undefined
  readonly #metrics: CacheMetrics
  readonly #log: CacheLogger | undefined
  readonly #target: string
  #waiters: Array<(usable: boolean) => void> = []
  #closed = false

  constructor (opts: RedisTierOptions, deps: RedisTierDeps = {}) {
    this.keyPrefix = opts.keyPrefix ?? 'bouncer:dc:'
    this.#timeoutMs = opts.commandTimeoutMs ?? REDIS_DEFAULTS.commandTimeoutMs
    const maxValueBytes = opts.maxValueBytes ?? 65536
    if (!Number.isInteger(maxValueBytes) || maxValueBytes <= 0) {
      throw new BouncerError('BOUNCER_ERR_CACHE_OPTIONS', ['redis: maxValueBytes must be a positive integer'])
    }
    this.#maxValueBytes = maxValueBytes
    if (opts.integrityKey !== undefined) {
      const k = typeof opts.integrityKey === 'string' ? Buffer.from(opts.integrityKey, 'utf8') : opts.integrityKey
      if (k.length < 16) throw new BouncerError('BOUNCER_ERR_CACHE_OPTIONS', ['redis: integrityKey must be at least 16 bytes'])
      this.#macKey = k
    }
    this.#metrics = deps.metrics ?? {}
    this.#log = deps.log
    this.#target = redactRedisUrl(opts.url ?? opts.nodes?.[0] ?? '')

    // Created validated (throws on bad options) before any listener or timer exists.
    this.client = createRedisClient(opts)
    // Starts open: nothing is sent until the first connection is ready and a PING succeeds.
    this.breaker = new CircuitBreaker(opts.breaker ?? {}, () => this.#ping(), (s, prev) => this.#onBreaker(s, prev), 'open')
    this.#metrics.breakerState?.set(BREAKER_STATE_VALUE.open)

    // Connection errors repeat on every reconnect attempt; they are visible through the breaker
    // state and its log lines, so they are consumed here (an 'error' event without a listener
    // would be printed by ioredis on every attempt).
    this.client.on('error', () => {})
    this.client.on('close', () => this.breaker.trip())
    this.client.on('ready', () => this.breaker.probeSoon())
  }

  /** The breaker's state; 'open' once closed (Redis is no longer used). */
  get state (): BreakerState { return this.#closed ? 'open' : this.breaker.state }

  async get (key: string): Promise<RedisLookup> {
    if (this.#closed) return SKIPPED
    if (!this.breaker.allow()) { this.#metrics.redisSkipped?.inc(); return SKIPPED }
    const rkey = this.keyPrefix + key
    let raw: string | null
    try {
      raw = await this.#bounded(this.client.get(rkey))
    } catch (err) {
      this.#failed('get', err)
      return ERROR
    }
    this.breaker.success()
    if (raw === null) return MISS
    const hit = this.#decode(rkey, raw)
    if (hit === undefined) { this.#metrics.redisErrors?.inc({ op: 'get' }); return MISS }
    return hit === null ? MISS : hit
  }

  /** Fire-and-forget; never throws, never waits. */
  set (key: string, json: string, expiresAt: number): void {
    if (this.#closed) return
    if (!this.breaker.allow()) { this.#metrics.redisSkipped?.inc(); return }
    const ttlMs = Math.floor(expiresAt - Date.now())
    if (ttlMs < 1) return
    const rkey = this.keyPrefix + key
    const value = this.#encode(rkey, json, expiresAt)
    if (Buffer.byteLength(value) > this.#maxValueBytes) return
    let p: Promise<unknown>
    try {
      p = this.#bounded(this.client.set(rkey, value, 'PX', ttlMs))
    } catch (err) {
      this.#failed('set', err)
      return
    }
    p.then(() => this.breaker.success(), (err: unknown) => this.#failed('set', err))
  }

  /** Resolves true once Redis is in use (breaker closed), false after timeoutMs or on close(). */
  whenUsable (timeoutMs: number): Promise<boolean> {
    if (this.#closed) return Promise.resolve(false)
    if (this.breaker.state === 'closed') return Promise.resolve(true)
    return new Promise(resolve => {
      const done = (usable: boolean): void => { clearTimeout(t); resolve(usable) }
      const t = setTimeout(() => {
        this.#waiters = this.#waiters.filter(w => w !== done)
        resolve(false)
      }, timeoutMs)
      t.unref()
      this.#waiters.push(done)
    })
  }

  /**
   * Stops using Redis and releases every socket and timer, within `deadlineMs` (default 500):
   * QUIT only on a ready connection (it lets in-flight SETs finish), then disconnect. An
   * unreachable Redis costs nothing here, and nothing is left behind to keep the process up.
   */
  async close (deadlineMs = 500): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    this.breaker.dispose()
    for (const w of this.#waiters.splice(0)) w(false)
    if (this.client.status === 'ready' && deadlineMs > 0) {
      try {
        await this.#bounded(this.client.quit(), Math.min(deadlineMs, 500))
      } catch {}
    }
    // Also after a successful QUIT: QUIT closes the data connection only, while disconnect()
    // also stops Sentinel's failover subscribers and any pending reconnect timers — without it
    // those keep the process alive and reconnecting after close(). (The socket it ends is
    // destroyed after disconnectTimeout, set short in redis-client.ts.)
    this.client.disconnect()
  }

  #bounded<T> (p: Promise<T>, ms = this.#timeoutMs): Promise<T> {
    // ioredis applies commandTimeout per command, but not to everything that can stall
    // (cluster slot refreshes, sentinel lookups): this outer timer is the real bound.
    return new Promise<T>((resolve, reject) => {
      const t = setTimeout(() => reject(TIMEOUT), ms)
      p.then(v => { clearTimeout(t); resolve(v) }, (e: unknown) => { clearTimeout(t); reject(e) })
    })
  }

  async #ping (): Promise<boolean> {
    try {
      await this.#bounded(this.client.ping())
      return true
    } catch (err) {
      this.#count('probe', err)
      return false
    }
  }

  #failed (op: RedisOp, err: unknown): void {
    this.#count(op, err)
    this.breaker.failure()
  }

  #count (op: RedisOp, err: unknown): void {
    const timedOut = err === TIMEOUT || (err instanceof Error && /timed out/i.test(err.message))
    if (timedOut) this.#metrics.redisTimeouts?.inc({ op })
    else this.#metrics.redisErrors?.inc({ op })
  }

  #onBreaker (state: BreakerState, prev: BreakerState): void {
    this.#metrics.breakerState?.set(BREAKER_STATE_VALUE[state])
    if (state === 'closed') {
      this.#log?.info({ redis: this.#target, from: prev }, 'decision cache: Redis in use')
      for (const w of this.#waiters.splice(0)) w(true)
    } else if (state === 'open' && prev === 'closed') {
      this.#log?.warn({ redis: this.#target }, 'decision cache: Redis unavailable, using the in-process cache only')
    }
  }

  #mac (rkey: string, expiresAt: number, json: string): string {
    if (this.#macKey === undefined) return ''
    return createHmac('sha256', this.#macKey).update(rkey).update('\n').update(String(expiresAt)).update('\n').update(json).digest('base64url')
  }

  #encode (rkey: string, json: string, expiresAt: number): string {
    return `${FORMAT}|${expiresAt}|${this.#mac(rkey, expiresAt, json)}|${json}`
  }

  // undefined = unusable value (counted as an error); null = well-formed but expired.
  #decode (rkey: string, raw: string): RedisLookup | null | undefined {
    // Characters never outnumber UTF-8 bytes, so this never rejects a value set() accepted.
    if (raw.length > this.#maxValueBytes) return undefined
    const a = raw.indexOf('|')
    const b = raw.indexOf('|', a + 1)
    const c = raw.indexOf('|', b + 1)
    if (a < 0 || b < 0 || c < 0 || raw.slice(0, a) !== FORMAT) return undefined
    const expiresAt = Number(raw.slice(a + 1, b))
    if (!Number.isSafeInteger(expiresAt)) return undefined
    const json = raw.slice(c + 1)
    if (this.#macKey !== undefined) {
      const got = Buffer.from(raw.slice(b + 1, c), 'utf8')
      const want = Buffer.from(this.#mac(rkey, expiresAt, json), 'utf8')
      if (got.length !== want.length || !timingSafeEqual(got, want)) return undefined
    }
    if (expiresAt <= Date.now()) return null
    let decision: unknown
    try { decision = JSON.parse(json) } catch { return undefined }
    return { kind: 'hit', decision, json, expiresAt }
  }
}
