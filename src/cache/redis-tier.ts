// The shared tier: decisions in Redis, behind a circuit breaker, every call bounded in time.
//
// Stored value:  "1|<expiresAtMs>|<mac>|<decision JSON>"
//  - expiresAtMs lets a Redis hit fill the memory tier for only the time the entry has left.
//  - mac is HMAC-SHA256(integrityKey, redisKey ‖ expiresAt ‖ json), empty when no key is set.
//    With a key, anyone who can write to Redis but does not hold the key cannot forge an allow,
//    move one to another request's key, or extend its life: a bad or missing mac is a miss.
//
// Lookups made in one event-loop turn travel together: one pipeline (one socket write, one
// read of the replies) per turn; a cluster client sends each key to its slot's node. Values
// are read with GETRANGE 0..maxValueBytes, never whole: someone who can write to Redis could
// otherwise make one hot key 512 MB and every pod that looks it up buffer all of it (an OOM
// kill; the integrity key does not help, the length was checked after the read). Each batch and each write has a deadline, and one timer for
// all of them checks the deadlines (no timer per command). A deadline is only acted on after
// the loop has read its sockets: on a busy process the timer can fire while Redis's answer is
// already waiting unread, and that is not Redis being slow (nor a reason to open the breaker).
import { createHmac, timingSafeEqual } from 'node:crypto'
import type { Redis } from 'ioredis'
import { deepFreeze } from '../deep-freeze.js'
import { BouncerError } from '../errors.js'
import { CircuitBreaker, type BreakerOptions, type BreakerState } from './breaker.js'
import { BREAKER_STATE_VALUE, type CacheLogger, type CacheMetrics, type RedisOp } from './metrics.js'
import {
  createRedisClient, redactRedisUrl, REDIS_DEFAULTS,
  type RedisClient, type RedisConnectionOptions, type RedisSecurityOptions,
} from './redis-client.js'
import { parseJsonExact } from '../exact-json.js'

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

// A batch never exceeds this many keys (a turn with more lookups sends several pipelines).
const MAX_BATCH = 128
// Decoded decisions are kept by their JSON text, so the same value read again is neither
// parsed nor frozen again, and is the same frozen object (the proxy memoises its validation
// per object). Small values only, few of them: a memo of values, not a cache of keys.
const MEMO_MAX_ENTRIES = 256
const MEMO_MAX_CHARS = 4096

// Something sent to Redis that must be answered by `deadline` (performance.now() ms).
interface Pending {
  readonly deadline: number
  done: boolean
  timeout (): void
}

type Lookup = (r: RedisLookup) => void
// Lookups sent together; an entry becomes undefined once answered.
interface Batch extends Pending { readonly lookups: Array<Lookup | undefined> }

export interface RedisTierDeps {
  metrics?: CacheMetrics
  log?: CacheLogger
}

/**
 * A key holding a hash, list, ... (WRONGTYPE for GETRANGE): someone else's key under our
 * prefix, or one planted. Answered per key; it failed the whole batch of lookups (every request
 * batched with it was evaluated locally) and counted against the breaker (review, session 52).
 */
const WRONG_TYPE: unique symbol = Symbol('wrong type')
const isWrongType = (err: unknown): boolean => err instanceof Error && err.message.startsWith('WRONGTYPE')

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
  readonly #cluster: boolean
  // Lookups of the current turn, sent by #flush.
  #keys: string[] = []
  #lookups: Array<Lookup | undefined> = []
  #flushScheduled = false
  readonly #flushNow = (): void => { this.#flushScheduled = false; this.#flush() }
  // Everything in flight, oldest first (deadlines only grow), and the one timer watching it.
  readonly #pending: Pending[] = []
  // True from arming the timer until the sweep it leads to has run.
  #armed = false
  readonly #onTimer = (): void => { setImmediate(this.#sweep) }
  readonly #sweep = (): void => { this.#expire() }
  readonly #memo = new Map<string, unknown>()

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
    this.#cluster = opts.mode === 'cluster'
    // Starts open: nothing is sent until the first connection is ready and a PING succeeds.
    this.breaker = new CircuitBreaker(opts.breaker ?? {}, () => this.#ping(), (s, prev) => this.#onBreaker(s, prev), 'open')
    this.#metrics.breakerState?.set(BREAKER_STATE_VALUE.open)

    // Connection errors repeat on every reconnect attempt; they are visible through the breaker
    // state and its log lines, so they are consumed here (an 'error' event without a listener
    // would be printed by ioredis on every attempt).
    this.client.on('error', () => {})
    this.client.on('ready', () => { this.#gen++ })
    if (!this.#cluster) {
      // ioredis' own command timeout (redis-client.ts) guards the handshake, which this tier
      // does not send; once the connection is ready, every command is this tier's and bounded
      // here, and ioredis would arm and clear one more timer per command for nothing. It reads
      // the option on each command; it is back in place for the next connection's handshake.
      const c = this.client as Redis
      const backstop = c.options.commandTimeout
      this.client.on('ready', () => { c.options.commandTimeout = undefined })
      this.client.on('close', () => { c.options.commandTimeout = backstop })
    }
    // A connection lost while in use opens the breaker; our own close() (shutdown) is no outage.
    this.client.on('close', () => { if (!this.#closed) this.breaker.trip() })
    this.client.on('ready', () => this.breaker.probeSoon())
  }

  /** The breaker's state; 'open' once closed (Redis is no longer used). */
  get state (): BreakerState { return this.#closed ? 'open' : this.breaker.state }

  get (key: string): Promise<RedisLookup> {
    if (this.#closed) return Promise.resolve(SKIPPED)
    if (!this.breaker.allow()) { this.#metrics.redisSkipped?.inc(); return Promise.resolve(SKIPPED) }
    return new Promise<RedisLookup>(resolve => {
      this.#keys.push(this.keyPrefix + key)
      this.#lookups.push(resolve)
      if (this.#keys.length >= MAX_BATCH) this.#flush()
      else if (!this.#flushScheduled) {
        // setImmediate: after every I/O callback of this turn, so their lookups join the batch.
        this.#flushScheduled = true
        setImmediate(this.#flushNow)
      }
    })
  }

  // Sends the turn's lookups.
  #flush (): void {
    const keys = this.#keys
    const lookups = this.#lookups
    if (keys.length === 0) return
    this.#keys = []
    this.#lookups = []
    if (this.#closed || !this.breaker.allow()) {
      // Closed, or the breaker opened since these were asked: not sent, as if asked now.
      if (!this.#closed) this.#metrics.redisSkipped?.inc(keys.length)
      for (const l of lookups) l!(SKIPPED)
      return
    }
    const gen = this.#gen
    const batch: Batch = {
      deadline: performance.now() + this.#timeoutMs,
      done: false,
      lookups,
      timeout: () => { this.#lookupsFailed(batch, TIMEOUT); this.#dropConnection(gen) },
    }
    if (this.#cluster) { this.#sendEach(batch, keys); return }
    let p: Promise<Array<Buffer | null | typeof WRONG_TYPE>>
    try {
      const pipeline = this.client.pipeline()
      for (const k of keys) pipeline.getrangeBuffer(k, 0, this.#maxValueBytes)
      p = pipeline.exec().then((replies) => (replies ?? []).map(([err, v]) => {
        if (err) { if (isWrongType(err)) return WRONG_TYPE; throw err }
        return Buffer.isBuffer(v) ? v : null
      }))
    } catch (err) {
      this.#lookupsFailed(batch, err)
      return
    }
    this.#track(batch)
    p.then(values => {
      if (batch.done) return
      this.#settled(batch)
      this.breaker.success()
      for (let i = 0; i < keys.length; i++) {
        const v = values[i] ?? null
        lookups[i]!(v === WRONG_TYPE ? this.#notOurs() : this.#lookupResult(keys[i], v))
      }
    }, (err: unknown) => {
      if (batch.done) return
      this.#settled(batch)
      this.#lookupsFailed(batch, err)
    })
  }

  // Cluster: one GETRANGE per key (ioredis sends each to its slot's node), each answered on
  // its own, under the batch's one deadline.
  #sendEach (batch: Batch, keys: string[]): void {
    const lookups = batch.lookups
    let left = keys.length
    const answered = (i: number): Lookup | undefined => {
      const l = lookups[i]
      if (l === undefined || batch.done) return undefined
      lookups[i] = undefined
      if (--left === 0) this.#settled(batch)
      return l
    }
    this.#track(batch)
    for (let i = 0; i < keys.length; i++) {
      let p: Promise<Buffer | null>
      try {
        p = this.client.getrangeBuffer(keys[i], 0, this.#maxValueBytes)
      } catch (err) {
        p = Promise.reject(err)
      }
      p.then(raw => {
        const l = answered(i)
        if (l === undefined) return
        this.breaker.success()
        l(this.#lookupResult(keys[i], raw))
      }, (err: unknown) => {
        const l = answered(i)
        if (l === undefined) return
        if (isWrongType(err)) { this.breaker.success(); l(this.#notOurs()); return }
        this.#failed('get', err)
        l(ERROR)
      })
    }
  }

  /** A key that holds no string: not a value of ours (as garbage is), a miss, counted. */
  #notOurs (): RedisLookup {
    this.#metrics.redisErrors?.inc({ op: 'get' })
    return MISS
  }

  /** `raw`: at most maxValueBytes + 1 bytes of the value; empty when the key does not exist. */
  #lookupResult (rkey: string, raw: Buffer | null): RedisLookup {
    if (raw === null || raw.length === 0) return MISS
    // One byte more than the limit: the value is larger, and was not read.
    if (raw.length > this.#maxValueBytes) { this.#metrics.redisErrors?.inc({ op: 'get' }); return MISS }
    const hit = this.#decode(rkey, raw.toString('utf8'))
    if (hit === undefined) { this.#metrics.redisErrors?.inc({ op: 'get' }); return MISS }
    return hit === null ? MISS : hit
  }

  // The lookups of the batch not yet answered failed: each counts (metrics, breaker) as its
  // own GET would have.
  #lookupsFailed (batch: Batch, err: unknown): void {
    batch.done = true
    const lookups = batch.lookups
    for (let i = 0; i < lookups.length; i++) {
      const l = lookups[i]
      if (l === undefined) continue
      lookups[i] = undefined
      this.#failed('get', err)
      l(ERROR)
    }
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
      p = this.client.set(rkey, value, 'PX', ttlMs)
    } catch (err) {
      this.#failed('set', err)
      return
    }
    const gen = this.#gen
    const w: Pending = {
      deadline: performance.now() + this.#timeoutMs,
      done: false,
      timeout: () => { w.done = true; this.#failed('set', TIMEOUT); this.#dropConnection(gen) },
    }
    this.#track(w)
    p.then(() => {
      if (w.done) return
      this.#settled(w)
      this.breaker.success()
    }, (err: unknown) => {
      if (w.done) return
      this.#settled(w)
      this.#failed('set', err)
    })
  }

  #track (p: Pending): void {
    this.#pending.push(p)
    if (!this.#armed) this.#arm(this.#timeoutMs)
  }

  #arm (ms: number): void {
    this.#armed = true
    // unref'd: never what keeps the process up.
    setTimeout(this.#onTimer, ms).unref()
  }

  // Marks an entry answered and drops answered entries from the head of the queue (answers
  // mostly come in the order they were sent).
  #settled (p: Pending): void {
    p.done = true
    const q = this.#pending
    while (q.length > 0 && q[0].done) q.shift()
  }

  // The timer fired and the loop has since read its sockets: whatever is still unanswered
  // past its deadline has timed out.
  #expire (): void {
    this.#armed = false
    const q = this.#pending
    const now = performance.now()
    while (q.length > 0 && (q[0].done || q[0].deadline <= now)) {
      const p = q.shift()!
      if (!p.done) p.timeout()
    }
    if (q.length > 0) this.#arm(Math.max(1, Math.ceil(q[0].deadline - now)))
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
    // Lookups not yet sent are skipped; those in flight end as before: answered, failed by the
    // disconnect below, or timed out (the sweep's timer is unref'd).
    this.#flush()
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
    // Rejected in the check phase after the timer, once pending answers have been read.
    return new Promise<T>((resolve, reject) => {
      const t = setTimeout(() => setImmediate(reject, TIMEOUT), ms)
      p.then(v => { clearTimeout(t); resolve(v) }, (e: unknown) => { clearTimeout(t); reject(e) })
    })
  }

  async #ping (): Promise<boolean> {
    const gen = this.#gen
    try {
      await this.#bounded(this.client.ping())
      return true
    } catch (err) {
      this.#count('probe', err)
      if (err === TIMEOUT) this.#dropConnection(gen)
      return false
    }
  }

  #failed (op: RedisOp, err: unknown): void {
    this.#count(op, err)
    this.breaker.failure()
  }

  // A command past its deadline leaves its connection inside a reply that the server may make
  // as long and as large as it likes (a GETRANGE or PING answered with 800 MB was read whole and
  // held): that connection is dropped and made anew (ioredis' reconnect delay paces it), once per
  // connection: `gen` is the connection the command went out on, counted at each 'ready'.
  #gen = 0
  #droppedGen = -1
  #dropConnection (gen: number): void {
    if (this.#closed || gen !== this.#gen || this.#droppedGen === gen) return
    this.#droppedGen = gen
    try { this.client.disconnect(true) } catch { /* already closing */ }
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
    let decision = this.#memo.get(json)
    if (decision === undefined) {
      try { decision = parseJsonExact(json) } catch { return undefined } // as the fresh decision reads (exact-json.ts)
      if (json.length <= MEMO_MAX_CHARS) {
        // Frozen before it is shared (TieredDecisionCache hands out frozen decisions anyway).
        deepFreeze(decision)
        if (this.#memo.size >= MEMO_MAX_ENTRIES) this.#memo.clear()
        this.#memo.set(json, decision)
      }
    }
    return { kind: 'hit', decision, json, expiresAt }
  }
}

