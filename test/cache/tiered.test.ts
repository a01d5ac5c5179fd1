// TieredDecisionCache against a real redis-server started by the test.
import t, { type Test } from 'tap'
import { setTimeout as sleep } from 'node:timers/promises'
import { Redis } from 'ioredis'
import { Counter, Gauge, Registry } from 'prom-client'
import {
  TieredDecisionCache, compileDecisionKey, CACHE_METRIC_LABELS, type CacheOptions, type CacheMetrics,
} from '../../src/cache/index.js'
import { freePort, redisServerMissing, redisWithClient, startRedis, type RedisProcess } from './fixtures/redis-server.js'

const missing = redisServerMissing()
if (missing !== undefined) {
  t.plan(0, `Redis integration tests skipped: ${missing}`)
} else {
  await main()
}

async function main (): Promise<void> {
  const COMMAND_TIMEOUT_MS = 50

  // the server, and a plain client to look behind the cache's back
  const { redis, url, raw } = await redisWithClient(t)

  const logs: Array<{ level: string; msg: string }> = []
  const log = {
    warn: (_o: object, msg: string) => { logs.push({ level: 'warn', msg }) },
    info: (_o: object, msg: string) => { logs.push({ level: 'info', msg }) },
  }

  function options (over: Partial<CacheOptions> = {}, redisOver: Record<string, unknown> = {}): CacheOptions {
    return {
      memory: { maxEntries: 1000, maxBytes: 1 << 20 },
      redis: {
        url,
        commandTimeoutMs: COMMAND_TIMEOUT_MS,
        maxReconnectDelayMs: 100,
        breaker: { failureThreshold: 3, openMs: 100, maxOpenMs: 400 },
        ...redisOver,
      },
      ttl: { allowSeconds: 60, denySeconds: 10 },
      ...over,
    }
  }

  // Caches are closed when the subtest that opened them ends.
  async function open (tt: Test, over: Partial<CacheOptions> = {}, redisOver: Record<string, unknown> = {}, metrics?: CacheMetrics): Promise<TieredDecisionCache> {
    const c = new TieredDecisionCache(options(over, redisOver), { log, ...(metrics !== undefined ? { metrics } : {}) })
    tt.teardown(() => c.close())
    if (over.redis !== false && !await c.whenRedisReady(5000)) throw new Error('Redis not in use after 5 s')
    return c
  }

  // A set is fire-and-forget, so a second cache sees it a moment later.
  async function eventually (c: TieredDecisionCache, key: string, ms = 1000) {
    const end = Date.now() + ms
    for (;;) {
      const v = await c.getRemote(key)
      if (v !== undefined || Date.now() > end) return v
      await sleep(5)
    }
  }

  let n = 0
  const freshKey = (): string => compileDecisionKey({ revision: `rev-${++n}`, contentDigest: 'd', entrypoint: 'authz/decision', inputPaths: [['user']] })({ user: 'alice' })

  t.test('miss, then memory hit; another pod gets a Redis hit, then a memory hit', async t => {
    const podA = await open(t)
    const podB = await open(t)
    const key = freshKey()
    t.equal(await podA.get(key), undefined, 'cold miss')
    const decision = { allow: true, headers: { 'x-user': 'alice' } }
    podA.set(key, decision, 60)
    decision.headers['x-user'] = 'mallory' // the cache keeps its own copy

    const local = await podA.get(key)
    t.equal(local?.tier, 'memory')
    t.same(local?.decision, { allow: true, headers: { 'x-user': 'alice' } })

    const remote = await eventually(podB, key)
    t.equal(remote?.tier, 'redis')
    t.same(remote?.decision, { allow: true, headers: { 'x-user': 'alice' } })
    t.equal((await podB.get(key))?.tier, 'memory', 'a Redis hit fills the memory tier')

    // Shared between requests, so frozen: a handler that mutates it fails loudly instead of
    // corrupting every later hit.
    t.throws(() => { (local?.decision as { allow: boolean }).allow = false })
    t.throws(() => { (remote?.decision as { headers: Record<string, string> }).headers['x-user'] = 'x' })
  })

  t.test('a Redis hit lives no longer than this pod would cache the decision itself (the writer\'s clock ahead, its longer TTLs)', async t => {
    const podA = await open(t, { ttl: { allowSeconds: 60, denySeconds: 10, maxSeconds: 86400 } })
    const podB = await open(t, { ttl: { allowSeconds: 2, denySeconds: 0, maxSeconds: 5 } })
    // The writer's clock runs an hour ahead: its entry's expiry is an hour off for this pod.
    const k1 = freshKey()
    const realNow = Date.now
    Date.now = () => realNow() + 3_600_000
    try { podA.set(k1, { allow: true }, 60) } finally { Date.now = realNow }
    const h1 = await eventually(podB, k1)
    t.equal(h1?.tier, 'redis')
    const left = h1!.expiresAt - Date.now()
    t.ok(left > 0 && left <= 2000, `kept for this pod's allow_seconds (2 s), not the writer's hour and a minute: ${left} ms`)
    const mem = podB.getMemory(k1)
    t.ok(mem !== undefined && mem.expiresAt - Date.now() <= 2000, 'its memory copy too')
    // A result's cache_ttl is capped by this pod's max_seconds.
    const k2 = freshKey()
    podA.set(k2, { allow: true, cache_ttl: 3600 }, 3600)
    const h2 = await eventually(podB, k2)
    t.ok(h2 !== undefined && h2.expiresAt - Date.now() <= 5000, 'cache_ttl 3600 kept for max_seconds 5')
    // deny_seconds 0 here: another pod's cached deny is evaluated again, not served.
    const k3 = freshKey()
    podA.set(k3, { allow: false }, 10)
    for (let i = 0; i < 200 && await raw.exists('bouncer:dc:' + k3) === 0; i++) await sleep(5)
    t.equal(await raw.exists('bouncer:dc:' + k3), 1, 'the deny is in Redis')
    t.equal(await podB.get(k3), undefined, 'a miss for a pod that caches no denies')
    t.equal((await podA.getRemote(k3))?.tier, 'redis', 'a hit for one that does')
  })

  t.test('TTL: entries expire in both tiers; a Redis hit only lives as long as it has left', async t => {
    const podA = await open(t)
    const podB = await open(t)
    const key = freshKey()
    const ttlMs = 600
    const tSet = Date.now()
    podA.set(key, { allow: false }, ttlMs / 1000)
    const pttl = await raw.pttl('bouncer:dc:' + key).then(async v => v > 0 ? v : (await sleep(20), raw.pttl('bouncer:dc:' + key)))
    t.ok(pttl > 0 && pttl <= ttlMs, `Redis TTL set (${pttl} ms)`)

    await sleep(250)
    const remote = await podB.get(key)
    const tRead = Date.now()
    t.equal(remote?.tier, 'redis', 'still valid in Redis')
    await sleep(tSet + ttlMs + 30 - Date.now())
    // Past the writer's expiry but before tRead + ttl: had podB kept its copy for a full TTL
    // from its own read, it would still hit now. Timers on a very slow machine can overshoot
    // that window, in which case the check proves nothing and is skipped rather than faked.
    const conclusive = Date.now() < tRead + ttlMs
    t.equal(podB.getMemory(key), undefined, 'the memory copy expired with the Redis entry',
      { skip: conclusive ? false : 'timers overshot the window; inconclusive on this machine' })
    t.equal(await podA.get(key), undefined, 'expired in the writer\'s memory tier')
    t.equal(await podA.getRemote(key), undefined, 'expired in Redis')

    const k2 = freshKey()
    podA.set(k2, { allow: true }, 0)
    podA.set(k2, { allow: true }, -5)
    podA.set(k2, { allow: true }, Number.NaN)
    await sleep(30)
    t.equal(await podA.get(k2), undefined, 'ttl <= 0 is never stored')
    t.equal(await raw.exists('bouncer:dc:' + k2), 0)
  })

  t.test('the key drives the cache: revision, read and unread fields', async t => {
    const cache = await open(t)
    const spec = { entrypoint: 'authz/decision', inputPaths: [['attributes', 'request', 'http', 'method'], ['identity', 'sub']] }
    const r1 = compileDecisionKey({ revision: 'bundle-1', contentDigest: 'd', ...spec })
    const r2 = compileDecisionKey({ revision: 'bundle-2', contentDigest: 'd', ...spec })
    const input = (method: string, sub: string, id: string) => ({ attributes: { request: { http: { method, id } } }, identity: { sub } })

    cache.set(r1(input('GET', 'alice', 'a')), { allow: true }, 60)
    t.equal((await cache.get(r1(input('GET', 'alice', 'b'))))?.tier, 'memory', 'differs only in an unread field: shared')
    t.equal(await cache.get(r1(input('GET', 'bob', 'a'))), undefined, 'differs in a read field: not shared')
    t.equal(await cache.get(r1(input('DELETE', 'alice', 'a'))), undefined, 'differs in a read field: not shared')
    t.equal(await cache.get(r2(input('GET', 'alice', 'a'))), undefined, 'a new bundle revision invalidates')
    await sleep(30)
    t.equal(await cache.getRemote(r2(input('GET', 'alice', 'a'))), undefined, 'also in Redis')
  })

  t.test('memory tier is bounded by entries and by bytes', async t => {
    const byCount = await open(t, { memory: { maxEntries: 3, maxBytes: 1 << 20 }, redis: false })
    const keys = [freshKey(), freshKey(), freshKey(), freshKey()]
    for (const k of keys) byCount.set(k, { allow: true }, 60)
    t.equal(byCount.status().memory.entries, 3)
    t.equal(byCount.getMemory(keys[0]), undefined, 'least recently used went first')
    t.ok(byCount.getMemory(keys[3]))

    const budget = 8 * 1024
    const byBytes = await open(t, { memory: { maxEntries: 1000, maxBytes: budget }, redis: false })
    const big = { allow: false, body: 'x'.repeat(1500) }
    for (let i = 0; i < 20; i++) byBytes.set(freshKey(), big, 60)
    const s = byBytes.status().memory
    t.ok(s.bytes <= budget, `${s.bytes} <= ${budget}`)
    t.ok(s.entries > 0 && s.entries < 20, `byte budget limits entries (${s.entries})`)
    const huge = freshKey()
    byBytes.set(huge, { allow: false, body: 'x'.repeat(budget) }, 60)
    t.equal(byBytes.getMemory(huge), undefined, 'an entry over the whole budget is not kept')
  })

  t.test('either tier can be off', async t => {
    const memOnly = await open(t, { redis: false })
    const k = freshKey()
    memOnly.set(k, true, 60)
    t.equal((await memOnly.get(k))?.tier, 'memory')
    t.same(memOnly.status(), { redis: 'disabled', breaker: 'disabled', memory: { enabled: true, entries: 1, bytes: memOnly.status().memory.bytes } })

    const redisOnly = await open(t, { memory: false })
    const k2 = freshKey()
    redisOnly.set(k2, true, 60)
    t.equal((await eventually(redisOnly, k2))?.tier, 'redis')
    t.equal((await redisOnly.get(k2))?.tier, 'redis', 'nothing kept in process')
    t.equal(redisOnly.status().memory.enabled, false)

    const none = await open(t, { memory: false, redis: false })
    none.set(k, true, 60)
    t.equal(await none.get(k), undefined)
  })

  t.test('integrity key: forged, moved or extended values are misses', async t => {
    const integrityKey = 'a-shared-secret-of-32-bytes-long'
    const errors = new Counter({ name: 'e_integrity', help: 'h', labelNames: CACHE_METRIC_LABELS.redisErrors, registers: [] })
    const podA = await open(t, {}, { integrityKey })
    const podB = await open(t, { memory: false }, { integrityKey }, { redisErrors: errors })
    const kDeny = freshKey()
    const kOther = freshKey()
    podA.set(kDeny, { allow: false }, 60)
    t.same((await eventually(podB, kDeny))?.decision, { allow: false }, 'genuine value accepted')

    const stored = await raw.get('bouncer:dc:' + kDeny) as string
    // Flip the decision but keep the MAC.
    await raw.set('bouncer:dc:' + kDeny, stored.replace('"allow":false', '"allow":true'), 'PX', 60_000)
    t.equal(await podB.get(kDeny), undefined, 'edited decision rejected')
    // Copy a genuine value to another key.
    await raw.set('bouncer:dc:' + kOther, stored, 'PX', 60_000)
    t.equal(await podB.get(kOther), undefined, 'value moved to another key rejected')
    // Extend its life.
    const [fmt, , mac, ...rest] = stored.split('|')
    await raw.set('bouncer:dc:' + kDeny, [fmt, String(Date.now() + 3_600_000), mac, ...rest].join('|'), 'PX', 60_000)
    t.equal(await podB.get(kDeny), undefined, 'extended expiry rejected')
    // Junk.
    await raw.set('bouncer:dc:' + kDeny, 'not a cache value', 'PX', 60_000)
    t.equal(await podB.get(kDeny), undefined, 'garbage rejected')
    t.equal((await errors.get()).values.find(v => v.labels.op === 'get')?.value, 4, 'each rejection counted')
    t.throws(() => new TieredDecisionCache(options({}, { integrityKey: 'short' })), { code: 'BOUNCER_ERR_CACHE_OPTIONS' })
  })

  t.test('metrics via prom-client objects and status()', async t => {
    const registry = new Registry()
    const metrics = {
      hits: new Counter({ name: 'cache_hits', help: 'h', labelNames: CACHE_METRIC_LABELS.hits, registers: [registry] }),
      misses: new Counter({ name: 'cache_misses', help: 'h', labelNames: CACHE_METRIC_LABELS.misses, registers: [registry] }),
      redisErrors: new Counter({ name: 'cache_redis_errors', help: 'h', labelNames: CACHE_METRIC_LABELS.redisErrors, registers: [registry] }),
      redisTimeouts: new Counter({ name: 'cache_redis_timeouts', help: 'h', labelNames: CACHE_METRIC_LABELS.redisTimeouts, registers: [registry] }),
      redisSkipped: new Counter({ name: 'cache_redis_skipped', help: 'h', registers: [registry] }),
      breakerState: new Gauge({ name: 'cache_breaker_state', help: 'h', registers: [registry] }),
    } satisfies CacheMetrics
    const podA = await open(t, {}, {}, metrics)
    const podB = await open(t, {}, {}, metrics)
    const k = freshKey()
    await podA.get(k) // memory miss + redis miss
    podA.set(k, true, 60)
    await podA.get(k) // memory hit
    await eventually(podB, k) // redis hit (getRemote: no memory lookup)
    const text = await registry.metrics()
    t.match(text, /cache_hits\{tier="memory"\} 1/)
    t.match(text, /cache_hits\{tier="redis"\} 1/)
    t.match(text, /cache_misses\{tier="memory"\} 1/)
    t.match(text, /cache_misses\{tier="redis"\} 1/)
    t.match(text, /cache_breaker_state 0/)
    t.same(podA.status(), { redis: 'ok', breaker: 'closed', memory: podA.status().memory })
  })

  t.test('a hung Redis (SIGSTOP): every call still returns within the timeout; the breaker opens and recovers', async t => {
    const skipped = new Counter({ name: 'skipped_hung', help: 'h', registers: [] })
    const timeouts = new Counter({ name: 'timeouts_hung', help: 'h', labelNames: CACHE_METRIC_LABELS.redisTimeouts, registers: [] })
    const cache = await open(t, { memory: false }, {}, { redisSkipped: skipped, redisTimeouts: timeouts })
    const k = freshKey()
    cache.set(k, true, 60)
    t.ok(await eventually(cache, k))
    redis.pause()
    try {
      // Redis answers nothing until resume() below, so every get that resolves here was ended
      // by the tier's own timer (or skipped by the breaker): bounded by the command timeout by
      // construction, whatever this machine's speed. No elapsed time is asserted.
      const timedOut = async () => (await timeouts.get()).values.find(v => v.labels.op === 'get')?.value ?? 0
      const skippedNow = async () => (await skipped.get()).values[0]?.value ?? 0
      const [t0, s0] = [await timedOut(), await skippedNow()]
      const values = await Promise.all(Array.from({ length: 20 }, () => cache.get(k)))
      t.ok(values.every(v => v === undefined), 'timeouts are misses')
      t.equal((await timedOut()) - t0 + (await skippedNow()) - s0, 20, 'each get ended by the timeout or skipped, none answered by the hung server')
      t.ok((await timedOut()) - t0 >= 3, 'counted as timeouts')
      t.not(cache.status().breaker, 'closed', 'breaker left closed')
      t.equal(cache.status().redis, 'degraded')
      // While open, lookups are not sent at all (so they cannot wait).
      const before = (await skipped.get()).values[0]?.value ?? 0
      t.equal(await cache.get(k), undefined)
      t.equal((await skipped.get()).values[0]?.value, before + 1, 'skipped while open')
    } finally {
      redis.resume()
    }
    t.ok(await cache.whenRedisReady(5000), 'probe closes the breaker after SIGCONT')
    t.same((await cache.get(k))?.decision, true)
  })

  t.test('redis-server killed during a burst of 200 gets/sets, then restarted on the same port', async t => {
    const errors = new Counter({ name: 'e_burst', help: 'h', labelNames: CACHE_METRIC_LABELS.redisErrors, registers: [] })
    const state = new Gauge({ name: 'g_burst', help: 'h', registers: [] })
    const cache = await open(t, { memory: { maxEntries: 10, maxBytes: 1 << 20 } }, {}, { redisErrors: errors, breakerState: state })
    const rejections: unknown[] = []
    const onUnhandled = (e: unknown): void => { rejections.push(e) }
    process.on('unhandledRejection', onUnhandled)
    t.teardown(() => { process.off('unhandledRejection', onUnhandled) })

    // Each "request": lookup, and on a miss remember the decision — what the proxy does.
    // 200 of them in waves of 10, 5 ms apart; the server dies after the 5th wave.
    const results: Array<Promise<{ ms: number; threw: boolean }>> = []
    let killed: Promise<void> | undefined
    for (let wave = 0; wave < 20; wave++) {
      for (let i = 0; i < 10; i++) {
        const key = freshKey()
        results.push((async () => {
          const t0 = performance.now()
          try {
            const hit = await cache.get(key)
            if (hit === undefined) cache.set(key, { allow: true }, 60)
            return { ms: performance.now() - t0, threw: false }
          } catch {
            return { ms: performance.now() - t0, threw: true }
          }
        })())
      }
      if (wave === 4) killed = redis.kill()
      await sleep(5)
    }
    const done = await Promise.all(results)
    await killed
    t.equal(done.length, 200)
    t.equal(done.filter(r => r.threw).length, 0, 'zero thrown errors')
    // A lookup never waits for the dead server (it fails at once or on the command timeout);
    // the bound here only catches a hang, it is no latency measurement.
    const worst = Math.max(...done.map(r => r.ms))
    t.ok(worst < 5000, `no request hung (slowest ${worst.toFixed(1)} ms)`)
    await sleep(20)
    t.same(rejections, [], 'no unhandled rejections from fire-and-forget writes')
    t.not(cache.status().breaker, 'closed', 'breaker opened')
    t.equal(cache.status().redis, 'degraded')
    t.ok((await state.get()).values[0].value >= 1, 'breaker gauge shows it')
    t.ok(logs.some(l => l.level === 'warn' && /unavailable/.test(l.msg)), 'logged once as a warning')

    // Still answering from memory while Redis is gone.
    const k = freshKey()
    cache.set(k, { allow: true }, 60)
    t.equal((await cache.get(k))?.tier, 'memory')

    await redis.restart()
    t.ok(await cache.whenRedisReady(5000), 'breaker closes once the server is back')
    t.same(cache.status(), { redis: 'ok', breaker: 'closed', memory: cache.status().memory })
    // And Redis is really used again: a write lands and another pod reads it from Redis.
    const other = await open(t, { memory: false })
    const k2 = freshKey()
    cache.set(k2, { allow: false }, 60)
    t.same((await eventually(other, k2))?.decision, { allow: false })
    t.equal(await raw.exists('bouncer:dc:' + k2), 1)
  })

  t.test('starting while Redis is down: misses at once, Redis used once it appears', async t => {
    const port = await freePort()
    const skipped = new Counter({ name: 'skipped_start', help: 'h', registers: [] })
    const cache = new TieredDecisionCache(options({}, { url: `redis://127.0.0.1:${port}` }), { log, metrics: { redisSkipped: skipped } })
    t.teardown(() => cache.close())
    t.equal(await cache.get(freshKey()), undefined)
    t.equal((await skipped.get()).values[0]?.value, 1, 'not sent: no waiting for a connection')
    t.equal(cache.status().redis, 'degraded')
    const late = await startRedis({ port })
    t.teardown(() => late.stop())
    t.ok(await cache.whenRedisReady(5000))
    t.equal(cache.status().redis, 'ok')
  })

  t.test('after close(): lookups are misses, writes are dropped, nothing throws', async t => {
    // Requests still in flight during shutdown may touch the cache after it closed.
    const cache = await open(t)
    const k = freshKey()
    cache.set(k, true, 60)
    await cache.close()
    t.equal(await cache.get(k), undefined)
    t.doesNotThrow(() => cache.set(k, true, 60))
    t.equal(await cache.whenRedisReady(1000), false)
    await cache.close() // idempotent
  })

  t.test('bad options fail at construction', async t => {
    t.throws(() => new TieredDecisionCache({ ttl: { allowSeconds: -1, denySeconds: 0 } }), { code: 'BOUNCER_ERR_CACHE_OPTIONS' })
    t.throws(() => new TieredDecisionCache({ ttl: { allowSeconds: 1, denySeconds: 1 }, memory: { maxEntries: 0, maxBytes: 1 } }), { code: 'BOUNCER_ERR_CACHE_OPTIONS' })
    t.throws(() => new TieredDecisionCache({ ttl: { allowSeconds: 1, denySeconds: 1 }, redis: { url: 'redis://h', production: true } }), { code: 'BOUNCER_ERR_CACHE_REDIS_INSECURE' })
  })
}
