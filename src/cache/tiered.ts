// The decision cache the proxy talks to: memory tier → Redis tier → miss.
//
// Contract on the request path:
//  - get() never throws and never waits longer than Redis's command timeout (plus a timer
//    tick); any Redis trouble is a miss and the proxy evaluates locally.
//  - set() never throws and never waits: the memory tier is filled synchronously, the Redis
//    write is fire-and-forget.
//  - Decisions handed out are deep-frozen copies shared between requests: callers must not
//    mutate them (a mutation would otherwise leak into every later hit). Cached values went
//    through JSON (and may come from another pod), so callers validate them exactly as they
//    validate a fresh policy result.
import { deepFreeze } from '../deep-freeze.js'
import { BouncerError } from '../errors.js'
import type { BreakerState } from './breaker.js'
import type { InputPath } from './key.js'
import { estimateEntryBytes, MemoryTier, type MemoryEntry, type MemoryTierOptions } from './memory-tier.js'
import type { CacheLogger, CacheMetrics, CacheTier } from './metrics.js'
import { RedisTier, type RedisTierOptions } from './redis-tier.js'
import { ttlFor, type TtlDefaults } from './ttl.js'
import { parseJsonExact } from '../exact-json.js'

export interface CacheOptions {
  /** In-process LRU. Omit or false to turn it off. */
  memory?: MemoryTierOptions | false
  /** Shared Redis. Omit or false to turn it off. */
  redis?: RedisTierOptions | false
  /** Defaults for ttlFor(); the cache itself stores whatever TTL set() is given. */
  ttl: TtlDefaults
  /**
   * Key paths for bundles that do not record their own (see key.ts / resolveKeySpec):
   * inputPaths (null = whole input) and ignorePaths (default DEFAULT_IGNORE_PATHS).
   */
  key?: { inputPaths?: readonly InputPath[] | null; ignorePaths?: readonly InputPath[] }
}

export interface CacheDeps {
  metrics?: CacheMetrics
  log?: CacheLogger
}

export interface CachedDecision {
  /** Deep-frozen; do not mutate. */
  readonly decision: unknown
  /** Where it was found. */
  readonly tier: CacheTier
  /** Epoch ms after which it is no longer served. */
  readonly expiresAt: number
}

export interface CacheStatus {
  /** ok = in use; degraded = configured but skipped (down, or not yet connected); /readyz stays ready either way. */
  redis: 'ok' | 'degraded' | 'disabled'
  breaker: BreakerState | 'disabled'
  memory: { enabled: boolean; entries: number; bytes: number }
}

export class TieredDecisionCache {
  readonly ttlDefaults: Readonly<TtlDefaults>
  readonly keyOptions: Readonly<NonNullable<CacheOptions['key']>>
  /** Which tiers are on (the proxy skips the remote lookup when Redis is off). */
  readonly tiers: Readonly<{ memory: boolean; redis: boolean }>
  readonly #memory: MemoryTier | undefined
  readonly #redis: RedisTier | undefined
  readonly #metrics: CacheMetrics
  readonly #log: CacheLogger | undefined

  constructor (options: CacheOptions, deps: CacheDeps = {}) {
    if (options === null || typeof options !== 'object') throw new BouncerError('BOUNCER_ERR_CACHE_OPTIONS', ['options must be an object'])
    const t = options.ttl
    if (t === undefined || !validSeconds(t.allowSeconds) || !validSeconds(t.denySeconds) || (t.maxSeconds !== undefined && !validSeconds(t.maxSeconds))) {
      throw new BouncerError('BOUNCER_ERR_CACHE_OPTIONS', ['ttl.allowSeconds and ttl.denySeconds (and ttl.maxSeconds if set) must be numbers >= 0'])
    }
    this.ttlDefaults = Object.freeze({ ...t })
    this.keyOptions = Object.freeze({ ...(options.key ?? {}) })
    this.#metrics = deps.metrics ?? {}
    this.#log = deps.log
    this.#memory = options.memory !== undefined && options.memory !== false ? new MemoryTier(options.memory) : undefined
    this.#redis = options.redis !== undefined && options.redis !== false ? new RedisTier(options.redis, deps) : undefined
    this.tiers = Object.freeze({ memory: this.#memory !== undefined, redis: this.#redis !== undefined })
  }

  /** Memory tier only, synchronous: lets the proxy skip a promise on the hottest path. */
  getMemory (key: string): CachedDecision | undefined {
    const m = this.#memory
    if (m === undefined) return undefined
    const e = m.get(key)
    if (e === undefined) { this.#metrics.misses?.inc({ tier: 'memory' }); return undefined }
    this.#metrics.hits?.inc({ tier: 'memory' })
    return e as MemoryHit
  }

  async get (key: string): Promise<CachedDecision | undefined> {
    try {
      const local = this.getMemory(key)
      if (local !== undefined) return local
      return await this.getRemote(key)
    } catch (err) {
      // Unreachable by design (every tier contains its own errors); kept so that a bug here
      // degrades to a miss instead of failing the request.
      this.#log?.warn({ err }, 'decision cache: lookup failed')
      return undefined
    }
  }

  /** Redis tier only (the memory tier is filled on a hit). Never throws. */
  async getRemote (key: string): Promise<CachedDecision | undefined> {
    const r = this.#redis
    if (r === undefined) return undefined
    const res = await r.get(key)
    if (res.kind !== 'hit') {
      if (res.kind === 'miss' || res.kind === 'error') this.#metrics.misses?.inc({ tier: 'redis' })
      return undefined
    }
    // The entry's expiry is the writer's: another pod's clock (ahead, it outlived Redis's own
    // relative expiry in this pod's memory) and its cache.ttl (during a rollout that lowers
    // allow_seconds to 0, old pods' hour-long entries). This pod serves an entry no longer
    // than it would have cached the decision itself, and not at all where it caches none.
    const now = Date.now()
    const own = ttlFor(res.decision, this.ttlDefaults)
    if (own <= 0) { this.#metrics.misses?.inc({ tier: 'redis' }); return undefined }
    const expiresAt = Math.min(res.expiresAt, now + Math.round(own * 1000))
    const decision = deepFreeze(res.decision)
    this.#memory?.set(key, new MemoryHit(decision, expiresAt), expiresAt - now, estimateEntryBytes(key, res.json))
    this.#metrics.hits?.inc({ tier: 'redis' })
    return { decision, tier: 'redis', expiresAt }
  }

  /**
   * Remembers a decision for ttlSeconds (use ttlFor()); <= 0 or non-finite does nothing. The
   * decision is copied through JSON, so later changes to the caller's object are not seen.
   */
  set (key: string, decision: unknown, ttlSeconds: number): void {
    if (typeof ttlSeconds !== 'number' || !Number.isFinite(ttlSeconds) || ttlSeconds <= 0) return
    if (this.#memory === undefined && this.#redis === undefined) return
    const ttlMs = Math.round(ttlSeconds * 1000)
    if (ttlMs < 1) return
    let json: string | undefined
    try {
      json = JSON.stringify(decision)
    } catch (err) {
      this.#log?.warn({ err }, 'decision cache: decision is not JSON-serialisable; not cached')
      return
    }
    if (json === undefined) return
    const expiresAt = Date.now() + ttlMs
    if (this.#memory !== undefined) {
      const copy = deepFreeze(parseJsonExact(json)) // a cached decision reads as the fresh one (exact-json.ts)
      this.#memory.set(key, new MemoryHit(copy, expiresAt), ttlMs, estimateEntryBytes(key, json))
    }
    this.#redis?.set(key, json, expiresAt)
  }

  /** Drops the memory tier (e.g. after a bundle activation: old-revision keys are never hit again). */
  clearMemory (): void { this.#memory?.clear() }

  /** Resolves true once Redis is in use; true at once when Redis is disabled. */
  whenRedisReady (timeoutMs: number): Promise<boolean> {
    return this.#redis === undefined ? Promise.resolve(true) : this.#redis.whenUsable(timeoutMs)
  }

  status (): CacheStatus {
    const r = this.#redis
    const m = this.#memory
    return {
      redis: r === undefined ? 'disabled' : r.state === 'closed' ? 'ok' : 'degraded',
      breaker: r === undefined ? 'disabled' : r.state,
      memory: { enabled: m !== undefined, entries: m?.entries ?? 0, bytes: m?.bytes ?? 0 },
    }
  }

  /** Releases Redis within `deadlineMs` (see RedisTier.close). */
  async close (deadlineMs?: number): Promise<void> {
    this.#memory?.clear()
    await this.#redis?.close(deadlineMs)
  }
}

// The memory tier stores objects that are already the CachedDecision a hit returns, so a hit
// allocates nothing.
class MemoryHit implements MemoryEntry, CachedDecision {
  readonly tier = 'memory' as const
  constructor (readonly decision: unknown, readonly expiresAt: number) {
    Object.freeze(this)
  }
}


function validSeconds (v: unknown): boolean {
  return typeof v === 'number' && Number.isFinite(v) && v >= 0
}
