// Sentinel and Cluster modes against real processes: a master watched by one sentinel, and a
// one-node cluster that owns all 16384 slots (the smallest real cluster ioredis will accept).
import t, { type Test } from 'tap'
import { setTimeout as sleep } from 'node:timers/promises'
import { Redis } from 'ioredis'
import { TieredDecisionCache, compileDecisionKey, type RedisTierOptions } from '../../src/cache/index.js'
import { freePort, redisServerMissing, startRedis } from './fixtures/redis-server.js'

const missing = redisServerMissing()
if (missing !== undefined) {
  t.plan(0, `Sentinel/Cluster tests skipped: ${missing}`)
} else {
  await main()
}

async function main (): Promise<void> {
  const key = (rev: string): string => compileDecisionKey({ revision: rev, contentDigest: 'd', entrypoint: 'authz/decision', inputPaths: [['user']] })({ user: 'alice' })

  function cache (tt: Test, redis: RedisTierOptions): TieredDecisionCache {
    const c = new TieredDecisionCache({ memory: false, redis: { commandTimeoutMs: 100, maxReconnectDelayMs: 100, breaker: { openMs: 50, failureThreshold: 2 }, ...redis }, ttl: { allowSeconds: 60, denySeconds: 10 } })
    tt.teardown(() => c.close())
    return c
  }

  async function roundTrip (tt: Test, writer: TieredDecisionCache, reader: TieredDecisionCache, k: string): Promise<void> {
    writer.set(k, { allow: true, reason: 'topology' }, 60)
    let hit
    for (let i = 0; i < 200 && hit === undefined; i++) { hit = await reader.get(k); if (hit === undefined) await sleep(5) }
    tt.equal(hit?.tier, 'redis')
    tt.same(hit?.decision, { allow: true, reason: 'topology' })
  }

  t.test('Sentinel: the master is found through the sentinel', async t => {
    const master = await startRedis()
    t.teardown(() => master.stop())
    const sentinelPort = await freePort()
    const sentinel = await startRedis({
      port: sentinelPort,
      sentinelConfig: `sentinel monitor mymaster 127.0.0.1 ${master.port} 1\nsentinel down-after-milliseconds mymaster 60000\n`,
      args: ['--bind', '127.0.0.1'],
      readyPattern: /\+monitor master mymaster/,
    })
    t.teardown(() => sentinel.stop())
    const opts: RedisTierOptions = { mode: 'sentinel', nodes: [`redis://127.0.0.1:${sentinelPort}`], sentinelName: 'mymaster' }
    const a = cache(t, opts)
    const b = cache(t, opts)
    t.ok(await a.whenRedisReady(5000), 'connected via sentinel')
    t.ok(await b.whenRedisReady(5000))
    await roundTrip(t, a, b, key('sentinel'))
    // The value really lives on the master the sentinel pointed at.
    const direct = new Redis({ port: master.port, host: '127.0.0.1' })
    direct.on('error', () => {})
    t.teardown(() => { direct.disconnect() })
    t.equal(await direct.exists('bouncer:dc:' + key('sentinel')), 1)
  })

  t.test('Cluster: slots are followed; a dead cluster is a fast miss', async t => {
    // A lone node does not know its own address and reports "" in CLUSTER SLOTS; announcing
    // it keeps ioredis from chasing an empty host.
    const node = await startRedis({ args: ['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--cluster-announce-ip', '127.0.0.1'] })
    t.teardown(() => node.stop())
    const admin = new Redis({ port: node.port, host: '127.0.0.1', maxRetriesPerRequest: 0 })
    admin.on('error', () => {})
    t.teardown(() => { admin.disconnect() })
    await admin.call('CLUSTER', 'ADDSLOTSRANGE', '0', '16383')
    for (let i = 0; i < 200; i++) {
      const info = await admin.call('CLUSTER', 'INFO') as string
      if (/cluster_state:ok/.test(info)) break
      await sleep(25)
    }
    const opts: RedisTierOptions = { mode: 'cluster', nodes: [`redis://127.0.0.1:${node.port}`] }
    const a = cache(t, opts)
    const b = cache(t, opts)
    t.ok(await a.whenRedisReady(5000), 'cluster ready')
    t.ok(await b.whenRedisReady(5000))
    await roundTrip(t, a, b, key('cluster'))

    // Lookups of one turn on a cluster: keys in many slots (no MGET across slots), each
    // answered with its own value or miss.
    const keys = Array.from({ length: 40 }, (_, i) => key(`cluster-batch-${i}`))
    for (let i = 0; i < keys.length; i += 2) a.set(keys[i], { allow: true, i }, 60)
    for (let i = 0; i < 200 && await admin.exists('bouncer:dc:' + keys[38]) === 0; i++) await sleep(5)
    const got = await Promise.all(keys.map(k => b.get(k)))
    t.same(got.map(h => h === undefined ? null : h.decision), keys.map((_, i) => i % 2 === 0 ? { allow: true, i } : null), 'one turn of lookups across slots')

    await node.kill()
    const durations: number[] = []
    for (let i = 0; i < 10; i++) {
      const t0 = performance.now()
      t.equal(await a.get(key(`cluster-${i}`)), undefined)
      durations.push(performance.now() - t0)
    }
    // Only catches a hang (a lookup waiting for the dead cluster); no latency is asserted.
    const worst = Math.max(...durations)
    t.ok(worst < 5000, `no lookup hung with the cluster down (slowest ${worst.toFixed(1)} ms)`)
    t.equal(a.status().redis, 'degraded')
  })
}
