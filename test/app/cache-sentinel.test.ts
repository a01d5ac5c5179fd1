// cache.redis.sentinel.password_file reaches the sentinels (it was accepted by the schema and
// then never used). Real redis-server processes: a master and one password-protected sentinel.
import t from 'tap'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startBouncer, startUpstream, type StartedBouncer } from '../helpers/index.js'
import { freePort, redisServerMissing, startRedis } from '../cache/fixtures/redis-server.js'

const POLICY = 'package bouncer\n\ndecision := {"allow": true}\n'

async function redisState (b: StartedBouncer, waitForOk: boolean, ms: number): Promise<string | undefined> {
  const until = Date.now() + ms
  for (;;) {
    const s = (b.app.health.readiness().components.cache as { redis?: string } | undefined)?.redis
    if ((waitForOk && s === 'ok') || Date.now() > until) return s
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

t.test('the sentinel password from its file is used; without it the sentinel refuses', { skip: redisServerMissing() ?? false }, async (t) => {
  const master = await startRedis()
  t.teardown(() => master.stop())
  const sentinelPort = await freePort()
  const sentinel = await startRedis({
    port: sentinelPort,
    sentinelConfig: `requirepass sentinel-secret-1\nsentinel monitor mymaster 127.0.0.1 ${master.port} 1\nsentinel down-after-milliseconds mymaster 60000\n`,
    args: ['--bind', '127.0.0.1'],
    readyPattern: /\+monitor master mymaster/,
  })
  t.teardown(() => sentinel.stop())
  const up = await startUpstream()
  t.teardown(() => up.close())
  const dir = mkdtempSync(join(tmpdir(), 'bouncer-sentinel-'))
  writeFileSync(join(dir, 'sentinel-password'), 'sentinel-secret-1\n')
  const config = (passwordFile?: string) => ({
    cache: {
      enabled: true, l1: { enabled: false },
      redis: {
        enabled: true, command_timeout_seconds: 0.2,
        sentinel: { name: 'mymaster', sentinels: [`127.0.0.1:${sentinelPort}`], ...(passwordFile !== undefined ? { password_file: passwordFile } : {}) },
      },
    },
  })
  const withPassword = await startBouncer({ upstream: up.url, rego: { 'p.rego': POLICY }, config: config(join(dir, 'sentinel-password')) })
  const without = await startBouncer({ upstream: up.url, rego: { 'p.rego': POLICY }, config: config() })
  t.teardown(async () => { await withPassword.close(); await without.close() })
  t.equal(await redisState(withPassword, true, 5000), 'ok', 'the master is found through the password-protected sentinel')
  t.not(await redisState(without, false, 1000), 'ok', 'without the password the sentinel does not answer')
})
