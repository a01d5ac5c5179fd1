import t from 'tap'
import { validateRedisUrl, validateRedisOptions, redactRedisUrl } from '../../src/cache/index.js'

t.test('parses redis:// and rediss:// URLs', async t => {
  t.same(validateRedisUrl('redis://cache.local'), { tls: false, host: 'cache.local', port: 6379 })
  t.same(validateRedisUrl('rediss://u:p%40ss@cache.local:6380/2'), { tls: true, host: 'cache.local', port: 6380, username: 'u', password: 'p@ss', db: 2 })
  t.same(validateRedisUrl('rediss://:secret@[::1]:7000'), { tls: true, host: '::1', port: 7000, password: 'secret' })
  t.equal(validateRedisUrl('redis://s1', { defaultPort: 26379 }).port, 26379)
})

t.test('refuses what is not a usable Redis URL', async t => {
  for (const bad of ['', 'cache.local:6379', 'http://cache.local', 'redis://', 'redis://h/x', 'redis://h/0?tls=true', 'unix:///tmp/redis.sock']) {
    t.throws(() => validateRedisUrl(bad), { code: 'BOUNCER_ERR_CACHE_REDIS_URL' }, bad)
  }
})

t.test('production refuses plaintext unless allowInsecure', async t => {
  t.throws(() => validateRedisUrl('redis://cache.local', { production: true }), { code: 'BOUNCER_ERR_CACHE_REDIS_INSECURE' })
  t.equal(validateRedisUrl('redis://cache.local', { production: true, allowInsecure: true }).tls, false)
  t.equal(validateRedisUrl('rediss://cache.local', { production: true }).tls, true)
  t.equal(validateRedisUrl('redis://cache.local', { production: false }).tls, false, 'development allows plaintext')
  // TLS without certificate verification is as good as plaintext against an active attacker.
  t.throws(() => validateRedisOptions({ url: 'rediss://c', tls: { rejectUnauthorized: false }, production: true }), { code: 'BOUNCER_ERR_CACHE_REDIS_INSECURE' })
  t.doesNotThrow(() => validateRedisOptions({ url: 'rediss://c', tls: { rejectUnauthorized: false }, production: true, allowInsecure: true }))
  // Every sentinel / cluster node is checked, not just the first.
  t.throws(() => validateRedisOptions({ mode: 'cluster', nodes: ['rediss://a', 'redis://b'], production: true }), { code: 'BOUNCER_ERR_CACHE_REDIS_INSECURE' })
})

t.test('mode-specific options', async t => {
  t.throws(() => validateRedisOptions({}), { code: 'BOUNCER_ERR_CACHE_OPTIONS' })
  t.throws(() => validateRedisOptions({ mode: 'sentinel', nodes: ['redis://s1'] }), { code: 'BOUNCER_ERR_CACHE_OPTIONS' }, 'needs sentinelName')
  t.throws(() => validateRedisOptions({ mode: 'cluster', nodes: [] }), { code: 'BOUNCER_ERR_CACHE_OPTIONS' })
  t.throws(() => validateRedisOptions({ mode: 'cluster', nodes: ['rediss://a', 'redis://b'] }), { code: 'BOUNCER_ERR_CACHE_OPTIONS' }, 'mixed schemes')
  t.throws(() => validateRedisOptions({ url: 'redis://a', commandTimeoutMs: 0 }), { code: 'BOUNCER_ERR_CACHE_OPTIONS' })
  t.throws(() => validateRedisOptions({ mode: 'bogus' as 'single', url: 'redis://a' }), { code: 'BOUNCER_ERR_CACHE_OPTIONS' })
  t.equal(validateRedisOptions({ mode: 'sentinel', nodes: ['rediss://s1', 'rediss://s2:26380'], sentinelName: 'mymaster' }).tls, true)
})

t.test('passwords never reach error messages', async t => {
  t.equal(redactRedisUrl('redis://u:hunter2@h:1/0'), 'redis://***:***@h:1/0')
  try {
    validateRedisUrl('redis://u:hunter2@h:1/0', { production: true })
    t.fail('should throw')
  } catch (e) {
    t.notMatch((e as Error).message, /hunter2/)
    t.match((e as Error).message, /\*\*\*/)
  }
})
