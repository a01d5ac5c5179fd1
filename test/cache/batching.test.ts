// The Redis tier's lookups travel in batches (one pipeline of GETRANGEs per event-loop turn) under one deadline
// timer; against a real redis-server started by the test.
import t, { type Test } from 'tap'
import { setTimeout as sleep } from 'node:timers/promises'
import { Redis } from 'ioredis'
import { Counter } from 'prom-client'
import {
  RedisTier, TieredDecisionCache, CACHE_METRIC_LABELS, type CacheMetrics, type RedisTierOptions,
} from '../../src/cache/index.js'
import { redisServerMissing, redisWithClient, startRedis } from './fixtures/redis-server.js'

const missing = redisServerMissing()
if (missing !== undefined) {
  t.plan(0, `Redis integration tests skipped: ${missing}`)
} else {
  await main()
}

async function main (): Promise<void> {
  const COMMAND_TIMEOUT_MS = 25
  // the server, and a plain client to look behind the cache's back
  const { redis, url, raw } = await redisWithClient(t)

  // Calls per command since the last CONFIG RESETSTAT, from the server's own count.
  async function calls (cmd: string): Promise<number> {
    const info = await raw.info('commandstats')
    const m = new RegExp(`cmdstat_${cmd}:calls=(\\d+)`).exec(info)
    return m === null ? 0 : Number(m[1])
  }

  async function tier (tt: Test, over: Partial<RedisTierOptions> = {}, metrics?: CacheMetrics): Promise<RedisTier> {
    const r = new RedisTier({
      url,
      commandTimeoutMs: COMMAND_TIMEOUT_MS,
      maxReconnectDelayMs: 100,
      breaker: { failureThreshold: 3, openMs: 100, maxOpenMs: 400 },
      ...over,
    }, metrics !== undefined ? { metrics } : {})
    tt.teardown(() => r.close())
    if (!await r.whenUsable(5000)) throw new Error('Redis not in use after 5 s')
    return r
  }

  let n = 0
  const fresh = (): string => `batch-${process.pid}-${++n}`

  /** Counts the pipelines (round trips) the tier's client sends from now on. */
  function countPipelines (r: RedisTier): () => number {
    const client = r.client as Redis
    const real = client.pipeline.bind(client)
    let count = 0
    client.pipeline = ((...args: Parameters<Redis['pipeline']>) => { count++; return real(...args) }) as Redis['pipeline']
    return () => count
  }

  t.test('lookups of one turn are one pipeline; each gets its own answer (hit, miss, expired, garbage)', async t => {
    const errors = new Counter({ name: 'e_batch', help: 'h', labelNames: CACHE_METRIC_LABELS.redisErrors, registers: [] })
    const r = await tier(t, {}, { redisErrors: errors })
    const [kHit, kMiss, kExpired, kJunk] = [fresh(), fresh(), fresh(), fresh()]
    r.set(kHit, '{"allow":true}', Date.now() + 60_000)
    await raw.set(r.keyPrefix + kExpired, `1|${Date.now() - 1000}||{"allow":true}`, 'PX', 60_000)
    await raw.set(r.keyPrefix + kJunk, 'not a cache value', 'PX', 60_000)
    for (let i = 0; i < 100 && await raw.exists(r.keyPrefix + kHit) === 0; i++) await sleep(5)

    await raw.config('RESETSTAT')
    const pipelines = countPipelines(r)
    const out = await Promise.all([kHit, kMiss, kExpired, kJunk, kHit].map(k => r.get(k)))
    t.match(out[0], { kind: 'hit', decision: { allow: true }, json: '{"allow":true}' })
    t.same(out[1], { kind: 'miss' })
    t.same(out[2], { kind: 'miss' }, 'expired value is a miss')
    t.same(out[3], { kind: 'miss' }, 'garbage is a miss')
    t.match(out[4], { kind: 'hit' })
    t.equal((await errors.get()).values.find(v => v.labels.op === 'get')?.value, 1, 'the garbage counted as an error, nothing else')
    t.equal(pipelines(), 1, 'one pipeline (one round trip) for the five lookups')
    t.equal(await calls('getrange'), 5, 'each read bounded by GETRANGE')
    t.equal(await calls('get') + await calls('mget'), 0, 'no GET, no MGET (they read a value whole)')

    // Lookups in separate turns are separate batches.
    t.match(await r.get(kHit), { kind: 'hit' })
    t.match(await r.get(kHit), { kind: 'hit' })
    t.equal(pipelines(), 3)
  })

  t.test('a key of another type (a hash under our prefix) is a miss for its lookup alone, not a failed batch', async t => {
    // WRONGTYPE for one key failed every lookup batched with it and counted against the
    // breaker (review, session 52).
    const errors = new Counter({ name: 'e_wrongtype', help: 'h', labelNames: CACHE_METRIC_LABELS.redisErrors, registers: [] })
    const r = await tier(t, { breaker: { failureThreshold: 1, openMs: 60_000, maxOpenMs: 60_000 } }, { redisErrors: errors })
    const [kHit, kHash, kList] = [fresh(), fresh(), fresh()]
    r.set(kHit, '{"allow":true}', Date.now() + 60_000)
    await raw.hset(r.keyPrefix + kHash, 'f', 'v')
    await raw.rpush(r.keyPrefix + kList, 'x')
    for (let i = 0; i < 100 && await raw.exists(r.keyPrefix + kHit) === 0; i++) await sleep(5)
    const out = await Promise.all([kHit, kHash, kList, kHit].map(k => r.get(k)))
    t.match(out[0], { kind: 'hit', decision: { allow: true } }, 'the other lookups of the batch are answered')
    t.same(out[1], { kind: 'miss' }, 'a hash is a miss')
    t.same(out[2], { kind: 'miss' }, 'a list is a miss')
    t.match(out[3], { kind: 'hit' })
    t.equal((await errors.get()).values.find(v => v.labels.op === 'get')?.value, 2, 'each counted as an error')
    t.equal(r.state, 'closed', 'the breaker (threshold 1) did not open')
    t.match(await r.get(kHit), { kind: 'hit' }, 'Redis still in use')
  })

  t.test('closing the tier is not reported as Redis going unavailable', async t => {
    const warnings: string[] = []
    const log = { warn: (_o: object, msg: string) => { warnings.push(msg) }, info: () => {} }
    const r = new RedisTier({ url, commandTimeoutMs: COMMAND_TIMEOUT_MS }, { log })
    t.ok(await r.whenUsable(5000))
    await r.close()
    // ioredis emits 'close' for the connection our close() ended, after close() resolved.
    for (let i = 0; i < 20; i++) await sleep(5)
    t.same(warnings, [], 'no "Redis unavailable" warning after a clean close')
  })

  t.test('a value far over maxValueBytes is a miss, and is never read whole', async t => {
    // Someone who can write to Redis makes a hot key huge (SETRANGE): reading it whole put a pod
    // at 1.7 GB RSS for one lookup. The lookup reads maxValueBytes + 1 bytes and stops.
    const errors = new Counter({ name: 'e_huge', help: 'h', labelNames: CACHE_METRIC_LABELS.redisErrors, registers: [] })
    const r = await tier(t, { maxValueBytes: 4096 }, { redisErrors: errors })
    const k = fresh()
    await raw.setrange(r.keyPrefix + k, 8 * 1024 * 1024 - 1, 'x') // 8 MiB
    const sent = async (): Promise<number> => Number(/total_net_output_bytes:(\d+)/.exec(await raw.info('stats'))?.[1])
    const before = await sent()
    t.same(await r.get(k), { kind: 'miss' }, 'a miss')
    const bytes = await sent() - before
    t.ok(bytes < 64 * 1024, `Redis sent ${bytes} bytes for the lookup (and this INFO), not the 8 MiB value`)
    t.equal((await errors.get()).values.find(v => v.labels.op === 'get')?.value, 1, 'counted as an unusable value')
  })

  t.test('a turn with more lookups than one batch holds is split, every lookup answered', async t => {
    const r = await tier(t)
    const keys = Array.from({ length: 300 }, () => fresh())
    for (let i = 0; i < keys.length; i += 2) r.set(keys[i], JSON.stringify({ i }), Date.now() + 60_000)
    for (let i = 0; i < 100 && await raw.exists(r.keyPrefix + keys[298]) === 0; i++) await sleep(5)
    const pipelines = countPipelines(r)
    const out = await Promise.all(keys.map(k => r.get(k)))
    for (let i = 0; i < keys.length; i++) {
      const o = out[i]
      if (i % 2 === 0) {
        if (o.kind !== 'hit' || (o.decision as { i: number }).i !== i) { t.fail(`lookup ${i}: ${JSON.stringify(o)}`); return }
      } else if (o.kind !== 'miss') { t.fail(`lookup ${i}: ${JSON.stringify(o)}`); return }
    }
    t.pass('300 answers, each for its own key')
    t.ok(pipelines() >= 3 && pipelines() < 300, `a few pipelines (${pipelines()}), not one per key`)
  })

  t.test('a reply that arrived while the loop was busy is a hit, not a timeout', async t => {
    // The lookup is sent, then this process blocks for several command timeouts while Redis
    // answers. The deadline timer is then due before the loop reads the reply (after a check
    // phase, timers run before the next poll); the tier acts on a deadline only after the loop
    // has read its sockets, so the answer counts. Redis is given 6 timeouts to answer; the
    // attempt is repeated in case this machine is so loaded that it did not — a real timeout
    // is a correct outcome, just not the one tested here.
    const timeouts = new Counter({ name: 't_busy', help: 'h', labelNames: CACHE_METRIC_LABELS.redisTimeouts, registers: [] })
    const r = await tier(t, {}, { redisTimeouts: timeouts })
    const k = fresh()
    r.set(k, '{"allow":true}', Date.now() + 60_000)
    for (let i = 0; i < 100 && await raw.exists(r.keyPrefix + k) === 0; i++) await sleep(5)
    const busy = (): void => {
      const until = performance.now() + 6 * COMMAND_TIMEOUT_MS
      while (performance.now() < until) { /* the loop cannot read the reply */ }
    }
    let hit = false
    for (let attempt = 0; attempt < 5 && !hit; attempt++) {
      const p = await new Promise<Promise<{ kind: string }>>(resolve => setImmediate(() => {
        // In a check phase: the lookup is sent at once (were it sent unbatched, the busy wait
        // here would already cover its reply) or by the tier's flush, which setImmediate
        // queues for the next check phase, before the busy wait queued just after it.
        const lookup = r.get(k)
        busy()
        setImmediate(busy)
        resolve(lookup)
      }))
      hit = (await p).kind === 'hit'
      if (!hit) await r.whenUsable(5000)
    }
    t.ok(hit, 'answered from Redis although the deadline passed while the reply sat unread')
    t.equal(r.state, 'closed', 'breaker still closed')
  })

  t.test('hung Redis (SIGSTOP): batched lookups and writes end on the deadline, the breaker opens, and recovers', async t => {
    const timeouts = new Counter({ name: 't_hung', help: 'h', labelNames: CACHE_METRIC_LABELS.redisTimeouts, registers: [] })
    const skipped = new Counter({ name: 's_hung', help: 'h', registers: [] })
    const r = await tier(t, {}, { redisTimeouts: timeouts, redisSkipped: skipped })
    const k = fresh()
    r.set(k, '{"allow":true}', Date.now() + 60_000)
    for (let i = 0; i < 100 && await raw.exists(r.keyPrefix + k) === 0; i++) await sleep(5)
    const count = async (op: string): Promise<number> => (await timeouts.get()).values.find(v => v.labels.op === op)?.value ?? 0
    redis.pause()
    try {
      // Nothing is answered until resume(): every lookup that ends here was ended by the tier.
      // Two batches (two turns), the second sent while the first is still waiting; and one
      // write. The breaker threshold is 3, so it opens on the first batch.
      const first = Array.from({ length: 2 }, () => r.get(k))
      r.set(fresh(), '{"allow":true}', Date.now() + 60_000)
      await new Promise<void>(resolve => setImmediate(resolve))
      const second = Array.from({ length: 2 }, () => r.get(k))
      const out = await Promise.all([...first, ...second])
      t.same(out.map(o => o.kind), ['error', 'error', 'error', 'error'], 'each lookup ended as an error (a miss to the proxy)')
      t.equal(await count('get'), 4, 'each lookup counted as a timeout')
      for (let i = 0; i < 200 && await count('set') === 0; i++) await sleep(5)
      t.equal(await count('set'), 1, 'the write timed out too')
      t.equal(r.state, 'open', 'breaker opened')
      const s0 = (await skipped.get()).values[0]?.value ?? 0
      t.same(await r.get(k), { kind: 'skipped' }, 'not sent while open')
      t.equal((await skipped.get()).values[0]?.value, s0 + 1)
    } finally {
      redis.resume()
    }
    t.ok(await r.whenUsable(5000), 'probe closes the breaker after SIGCONT')
    t.match(await r.get(k), { kind: 'hit', decision: { allow: true } })
  })

  t.test('the same value read again is the same frozen object; verification still runs on every read', async t => {
    const integrityKey = 'a-shared-secret-of-32-bytes-long'
    const r = await tier(t, { integrityKey })
    const [k1, k2] = [fresh(), fresh()]
    const json = '{"allow":true,"headers":{"x-user":"alice"}}'
    r.set(k1, json, Date.now() + 60_000)
    r.set(k2, json, Date.now() + 60_000)
    for (let i = 0; i < 100 && await raw.exists(r.keyPrefix + k2) === 0; i++) await sleep(5)
    const [a, b] = await Promise.all([r.get(k1), r.get(k2)])
    if (a.kind !== 'hit' || b.kind !== 'hit') { t.fail('both hits expected'); return }
    t.equal(a.decision, b.decision, 'one object for one value')
    t.ok(Object.isFrozen(a.decision) && Object.isFrozen((a.decision as { headers: object }).headers), 'deep-frozen')

    // A value Redis returns with the same decision text but a bad MAC, another key's MAC, or
    // a longer life is still refused, although its text was seen (and decoded) before.
    const stored = await raw.get(r.keyPrefix + k1) as string
    const [fmt, exp, mac] = stored.split('|')
    await raw.set(r.keyPrefix + k2, stored, 'PX', 60_000)
    t.same(await r.get(k2), { kind: 'miss' }, "k1's value under k2 refused")
    await raw.set(r.keyPrefix + k1, [fmt, String(Number(exp) + 3_600_000), mac, json].join('|'), 'PX', 60_000)
    t.same(await r.get(k1), { kind: 'miss' }, 'extended life refused')
    await raw.set(r.keyPrefix + k1, [fmt, exp, 'A'.repeat(mac.length), json].join('|'), 'PX', 60_000)
    t.same(await r.get(k1), { kind: 'miss' }, 'bad MAC refused')
    await raw.set(r.keyPrefix + k1, `1|${Date.now() - 1}|${mac}|${json}`, 'PX', 60_000)
    t.same(await r.get(k1), { kind: 'miss' }, 'expired refused')
  })

  t.test('TieredDecisionCache: a shared decoded value does not leak between keys through mutation', async t => {
    const c = new TieredDecisionCache({ memory: false, redis: { url, commandTimeoutMs: COMMAND_TIMEOUT_MS }, ttl: { allowSeconds: 60, denySeconds: 10 } })
    t.teardown(() => c.close())
    t.ok(await c.whenRedisReady(5000))
    const [k1, k2] = [fresh(), fresh()]
    c.set(k1, { allow: true, tags: ['a'] }, 60)
    c.set(k2, { allow: true, tags: ['a'] }, 60)
    for (let i = 0; i < 100 && await raw.exists('bouncer:dc:' + k2) === 0; i++) await sleep(5)
    const h1 = await c.get(k1)
    t.throws(() => { (h1!.decision as { tags: string[] }).tags.push('b') }, TypeError, 'frozen: a caller cannot change it')
    t.same((await c.get(k2))?.decision, { allow: true, tags: ['a'] })
  })

  t.test("ioredis' own timeout still guards a handshake that hangs, on the first connection and after a reconnect", async t => {
    // The tier turns ioredis' per-command timer off while the connection is ready (it bounds
    // its own commands); a server that accepts the connection but never answers the handshake
    // must still be dropped and retried. A stopped redis-server does exactly that: the kernel
    // accepts the TCP connection, nobody answers.
    const own = await startRedis()
    t.teardown(() => own.stop())
    const timedOut = (r: RedisTier): Promise<void> => new Promise((resolve, reject) => {
      const guard = setTimeout(() => reject(new Error('no command timeout within 10 s')), 10_000)
      const onError = (e: Error): void => {
        if (!/timed out/i.test(e.message)) return
        clearTimeout(guard)
        r.client.off('error', onError)
        resolve()
      }
      r.client.on('error', onError)
    })

    own.pause()
    const r = new RedisTier({ url: `redis://127.0.0.1:${own.port}`, commandTimeoutMs: 10, maxReconnectDelayMs: 50, breaker: { openMs: 50 } })
    t.teardown(() => r.close())
    try {
      await timedOut(r)
      t.pass('first handshake timed out (and is retried)')
    } finally {
      own.resume()
    }
    t.ok(await r.whenUsable(5000), 'usable once the server answers')

    // Ready, then the connection is cut and the server stops: the next handshake hangs.
    const admin = new Redis({ port: own.port, host: '127.0.0.1', maxRetriesPerRequest: 0 })
    admin.on('error', () => {})
    t.teardown(() => { admin.disconnect() })
    const again = timedOut(r)
    await admin.call('CLIENT', 'KILL', 'TYPE', 'normal', 'SKIPME', 'yes')
    own.pause()
    try {
      await again
      t.pass('the handshake after a reconnect timed out too')
    } finally {
      own.resume()
    }
    t.ok(await r.whenUsable(5000), 'usable again')
    t.match(await r.get(fresh()), { kind: 'miss' })
  })

  t.test('close(): lookups of the current turn not yet sent are skipped', async t => {
    const r = await tier(t)
    const k = fresh()
    const p = r.get(k)
    await r.close()
    t.same(await p, { kind: 'skipped' })
    t.same(await r.get(k), { kind: 'skipped' })
  })
}
