// cache.redis.integrity_key_file: values the bouncer stores in a shared Redis carry an HMAC, and a
// value someone else wrote (or edited) is a miss, never a decision. Real redis-server, real policy.
import t from 'tap'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { request } from 'undici'
import { memoryLogger, startBouncer, startUpstream, redisReady } from '../helpers/index.js'
import { redisServerMissing, redisWithClient } from '../cache/fixtures/redis-server.js'

const POLICY = `package bouncer

decision := {"allow": true} if input.parsed_path[0] == "open"
decision := {"allow": false, "status": 403} if input.parsed_path[0] != "open"
`


t.test('a planted or edited Redis value is a miss with an integrity key, and is served without one', { skip: redisServerMissing() ?? false }, async (t) => {
  const { url, raw } = await redisWithClient(t)
  const up = await startUpstream()
  t.teardown(() => up.close())
  const dir = mkdtempSync(join(tmpdir(), 'bouncer-integrity-'))
  const keyFile = join(dir, 'key')
  writeFileSync(keyFile, 'a-shared-secret-of-32-bytes-long\n')
  const cache = (prefix: string, withKey: boolean) => ({
    cache: {
      enabled: true, l1: { enabled: false }, ttl: { allow_seconds: 60, deny_seconds: 60 },
      redis: { enabled: true, url, key_prefix: prefix, ...(withKey ? { integrity_key_file: keyFile } : {}) },
    },
  })
  const logs = memoryLogger('warn')
  const signed = await startBouncer({ upstream: up.url, rego: { 'p.rego': POLICY }, config: cache('signed:', true) })
  const unsigned = await startBouncer({ upstream: up.url, rego: { 'p.rego': POLICY }, config: cache('unsigned:', false), deps: { logger: logs.logger } })
  t.teardown(async () => { await signed.close(); await unsigned.close() })
  await redisReady(signed)
  await redisReady(unsigned)
  t.match(logs.text(), /cache\.redis\.integrity_key_file/, 'a Redis tier without a key is named at start')

  for (const [b, prefix] of [[signed, 'signed:'], [unsigned, 'unsigned:']] as const) {
    const first = await request(`${b.url}/closed`)
    t.equal(first.statusCode, 403)
    await first.body.dump()
    // The deny is written to Redis after the response: wait for it.
    let keys: string[] = []
    for (let i = 0; i < 100 && keys.length === 0; i++) { keys = await raw.keys(`${prefix}*`); if (keys.length === 0) await new Promise((resolve) => setTimeout(resolve, 10)) }
    t.equal(keys.length, 1, `${prefix} one cached decision`)
    const value = (await raw.get(keys[0]!))!
    const [format, expiresAt, mac] = value.split('|')
    t.equal(mac === '', prefix === 'unsigned:', `${prefix} value ${mac === '' ? 'without' : 'with'} a MAC`)
    // Someone with write access to the Redis turns the deny into an allow, keeping the MAC.
    await raw.set(keys[0]!, `${format}|${expiresAt}|${mac}|{"allow":true}`)
  }
  up.requests.length = 0
  const s = await request(`${signed.url}/closed`)
  t.equal(s.statusCode, 403, 'with a key: the edited value does not verify; the policy decides again')
  await s.body.dump()
  t.equal(up.requests.length, 0, 'nothing reached the upstream')
  const u = await request(`${unsigned.url}/closed`)
  t.equal(u.statusCode, 200, 'without a key the planted allow is served: what the start-up warning is about')
  await u.body.dump()
  t.equal(up.requests.length, 1)

  // An untouched value verifies and is served from Redis.
  await raw.flushall()
  await (await request(`${signed.url}/open`)).body.dump()
  let n = 0
  for (let i = 0; i < 100 && n === 0; i++) { n = (await raw.keys('signed:*')).length; if (n === 0) await new Promise((resolve) => setTimeout(resolve, 10)) }
  const metrics = async () => (await (await request(`${signed.adminUrl}/metrics`)).body.text()).match(/bouncer_decision_cache_hits_total\{tier="redis"\} (\d+)/)?.[1]
  const before = Number(await metrics() ?? 0)
  const hit = await request(`${signed.url}/open`)
  t.equal(hit.statusCode, 200)
  await hit.body.dump()
  t.equal(Number(await metrics()), before + 1, 'a value the bouncer wrote verifies: a Redis hit')
})

t.test('an integrity key shorter than 16 bytes stops the start with the setting named', { skip: redisServerMissing() ?? false }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'bouncer-integrity-'))
  writeFileSync(join(dir, 'key'), 'short')
  await t.rejects(startBouncer({
    upstream: 'http://127.0.0.1:1', rego: { 'p.rego': POLICY },
    config: { cache: { enabled: true, redis: { enabled: true, url: 'redis://127.0.0.1:1', integrity_key_file: join(dir, 'key') } } },
  }), /cache\.redis\.integrity_key_file: .*key holds 5 bytes; the secret must be at least 16 bytes/)
})

t.test('a binary integrity key is used as its bytes: two different keys never verify each other\'s values', { skip: redisServerMissing() ?? false }, async (t) => {
  // Read as UTF-8 text, every invalid byte became U+FFFD: 32 bytes of 0xff and 32 of 0xfe were
  // one HMAC key, and a 6-byte binary key passed the 16-byte minimum (18 bytes once decoded).
  const { url, raw } = await redisWithClient(t)
  const up = await startUpstream()
  t.teardown(() => up.close())
  const dir = mkdtempSync(join(tmpdir(), 'bouncer-integrity-'))
  writeFileSync(join(dir, 'key1'), Buffer.alloc(32, 0xff))
  writeFileSync(join(dir, 'key2'), Buffer.alloc(32, 0xfe))
  const cache = (file: string) => ({ cache: { enabled: true, l1: { enabled: false }, ttl: { allow_seconds: 60, deny_seconds: 60 }, redis: { enabled: true, url, key_prefix: 'bin:', integrity_key_file: join(dir, file) } } })
  const a = await startBouncer({ upstream: up.url, rego: { 'p.rego': POLICY }, config: cache('key1') })
  const b = await startBouncer({ upstream: up.url, rego: { 'p.rego': POLICY }, config: cache('key2') })
  t.teardown(async () => { await a.close(); await b.close() })
  await redisReady(a)
  await redisReady(b)
  await (await request(`${a.url}/open`)).body.dump()
  let keys: string[] = []
  for (let i = 0; i < 100 && keys.length === 0; i++) { keys = await raw.keys('bin:*'); if (keys.length === 0) await new Promise((resolve) => setTimeout(resolve, 10)) }
  t.equal(keys.length, 1, 'A\'s decision is in Redis')
  await (await request(`${b.url}/open`)).body.dump()
  const hits = (await (await request(`${b.adminUrl}/metrics`)).body.text()).match(/bouncer_decision_cache_hits_total\{tier="redis"\} (\d+)/)?.[1]
  t.equal(Number(hits ?? 0), 0, 'B, with another key, does not accept A\'s value')

  writeFileSync(join(dir, 'short'), Buffer.from([0xff, 0xfe, 0xfd, 0xfc, 0xfb, 0xfa]))
  await t.rejects(startBouncer({ upstream: up.url, rego: { 'p.rego': POLICY }, config: cache('short') }),
    /cache\.redis\.integrity_key_file: .*short holds 6 bytes; the secret must be at least 16 bytes/, 'a 6-byte binary key is 6 bytes')
})
