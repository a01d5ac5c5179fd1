// cache.ttl.max_seconds: a decision's own cache_ttl is cut to it. A policy asking for 1e18 s
// had every Redis SET refused (PX 1e+21) and counted as a Redis error, and nothing let an
// operator cap what a policy may ask for.
import t from 'tap'
import { pino } from 'pino'
import { createConfig } from '../../src/config/index.js'
import { createMetrics } from '../../src/metrics/index.js'
import { PolicyHolder } from '../../src/policy/holder.js'
import { loadPolicyFromRego } from '../../src/policy/load.js'
import { decisionKeys, evaluationScope, fromConfig } from '../../src/app/cache.js'

t.test('a policy\'s cache_ttl is capped by cache.ttl.max_seconds (default one day)', async (t) => {
  for (const [settings, expected] of [[{}, 86400], [{ max_seconds: 120 }, 120]] as const) {
    const config = createConfig({ upstream: { url: 'http://127.0.0.1:1' }, cache: { enabled: true, ttl: settings } })
    const cache = fromConfig(config.cache, { metrics: createMetrics(), log: pino({ level: 'silent' }), production: false, allowInsecure: false })!
    const holder = new PolicyHolder()
    const keys = decisionKeys(config.cache, { holder, cache, log: pino({ level: 'silent' }), evaluation: evaluationScope(config.policy) })
    holder.activate(await loadPolicyFromRego([{ file: 'p.rego', source: 'package bouncer\n\ndecision := {"allow": true, "cache_ttl": 1e18}\n' }], {}, 'bouncer/decision', { source: 'test' }))
    const policy = holder.current!
    t.equal(keys.ttlFor({ allow: true, cache_ttl: 1e18 }, policy), expected, `cut to ${expected} s`)
    t.equal(keys.ttlFor({ allow: true, cache_ttl: 30 }, policy), 30, 'a shorter one is kept')
  }
})

t.test('the cache scope holds the process time zone and the zone data: pods on one Redis with another TZ share no time.clock([t, "Local"]) answers', async (t) => {
  const config = createConfig({ upstream: { url: 'http://127.0.0.1:1' } })
  const saved = { TZ: process.env.TZ, ZONEINFO: process.env.ZONEINFO }
  t.teardown(() => {
    for (const [k, v] of Object.entries(saved)) { if (v === undefined) delete process.env[k]; else process.env[k] = v }
  })
  process.env.TZ = 'UTC'
  const utc = evaluationScope(config.policy)
  t.equal(evaluationScope(config.policy), utc, 'the same settings, the same scope')
  for (const same of ['Etc/UTC', 'Zulu', 'Etc/Universal']) {
    process.env.TZ = same
    t.equal(evaluationScope(config.policy), utc, `${same}: UTC spelt otherwise, the same scope`)
  }
  // GMT is UTC's offset under another name, which time.format prints: a scope of its own.
  process.env.TZ = 'GMT'
  t.not(evaluationScope(config.policy), utc, 'GMT: another abbreviation, another scope')
  process.env.TZ = 'Asia/Tokyo'
  const tokyo = evaluationScope(config.policy)
  t.not(tokyo, utc, 'another process zone, another scope')
  process.env.ZONEINFO = '/opt/zoneinfo'
  t.not(evaluationScope(config.policy), tokyo, 'zone files read from elsewhere, another scope')
})
