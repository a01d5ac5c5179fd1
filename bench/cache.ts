// Decision cache micro-benchmark: cost of a key derivation and of a memory-tier hit.
//   npx tsx bench/cache.ts            (add --redis to include a Redis round trip when
//                                      redis-server is on PATH)
// One process, contenders side by side, ratios against the slowest of each group, machine
// footer. Numbers are per operation on the calling thread.
import { createHash } from 'node:crypto'
import { spawn } from 'node:child_process'
import { createServer } from 'node:net'
import { cpus, platform, release, totalmem } from 'node:os'
import { setTimeout as sleep } from 'node:timers/promises'
import { LRUCache } from 'lru-cache'
import { compileDecisionKey, decisionCacheKey, DEFAULT_IGNORE_PATHS, TieredDecisionCache, type InputPath } from '../src/cache/index.js'

// A realistic request input: Envoy-style attributes, a dozen headers, a JWT, parsed path and
// query, verified identity claims (DESIGN.md "Policy input").
const jwt = 'eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0.' + 'eyJzdWIiOiJhbGljZSIsInRlbmFudCI6ImFjbWUiLCJyb2xlcyI6WyJhZG1pbiJdfQ'.repeat(3) + '.' + 'sig'.repeat(100)
function makeInput (i: number): unknown {
  return {
    attributes: {
      request: {
        http: {
          id: `req-${i}`,
          method: 'GET',
          path: '/v1/accounts/42/transactions?limit=50&cursor=abc',
          host: 'api.internal',
          scheme: 'http',
          protocol: 'HTTP/1.1',
          headers: {
            authorization: `Bearer ${jwt}`,
            'x-tenant': 'acme',
            'x-request-id': `req-${i}`,
            'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36',
            accept: 'application/json',
            'accept-encoding': 'gzip, deflate, br',
            'accept-language': 'en-GB,en;q=0.9',
            'content-type': 'application/json',
            'x-forwarded-for': '203.0.113.9',
            'x-b3-traceid': '80f198ee56343ba864fe8b2a57d3eff7',
            'x-b3-spanid': 'e457b5a2e4d86bd1',
            host: 'api.internal',
          },
        },
      },
      source: { address: `10.0.0.7:${40000 + (i % 20000)}` },
      destination: { address: '127.0.0.1:8080' },
    },
    parsed_path: ['v1', 'accounts', '42', 'transactions'],
    parsed_query: { limit: ['50'], cursor: ['abc'] },
    identity: { sub: 'alice', tenant: 'acme', roles: ['admin', 'auditor'], iss: 'https://idp.example', exp: 1893456000 },
  }
}

// What a typical policy reads (as the compiler would record it).
const READ_PATHS: InputPath[] = [
  ['attributes', 'request', 'http', 'method'],
  ['attributes', 'request', 'http', 'headers', 'x-tenant'],
  ['parsed_path'],
  ['identity', 'sub'],
  ['identity', 'roles'],
  ['identity', 'tenant'],
]

interface Row { group: string; name: string; nsPerOp: number }
const rows: Row[] = []

function bench (group: string, name: string, fn: (i: number) => unknown, iterations: number): void {
  let sink: unknown
  for (let i = 0; i < Math.min(iterations, 20_000); i++) sink = fn(i) // warm-up (JIT)
  const t0 = process.hrtime.bigint()
  for (let i = 0; i < iterations; i++) sink = fn(i)
  const ns = Number(process.hrtime.bigint() - t0)
  if (sink === Symbol.for('never')) console.log(sink)
  rows.push({ group, name, nsPerOp: ns / iterations })
}

async function benchAsync (group: string, name: string, fn: (i: number) => Promise<unknown>, iterations: number): Promise<void> {
  for (let i = 0; i < Math.min(iterations, 2_000); i++) await fn(i)
  const t0 = process.hrtime.bigint()
  for (let i = 0; i < iterations; i++) await fn(i)
  rows.push({ group, name, nsPerOp: Number(process.hrtime.bigint() - t0) / iterations })
}

async function main (): Promise<void> {
  const N = 200_000
  // Pre-build inputs so the benchmark measures hashing, not object construction.
  const inputs = Array.from({ length: 1024 }, (_, i) => makeInput(i))
  const inp = (i: number): unknown => inputs[i & 1023]
  const spec = { revision: 'bundle-2024-06-01T12:00:00Z-9f3c2a', contentDigest: '3f1c0e6b5a2d', entrypoint: 'bouncer/authz/decision' }

  const paths = compileDecisionKey({ ...spec, inputPaths: READ_PATHS })
  const whole = compileDecisionKey({ ...spec, inputPaths: null, ignorePaths: [...DEFAULT_IGNORE_PATHS, ['attributes', 'request', 'http', 'headers', 'x-request-id'], ['attributes', 'source']] })
  bench('key derivation', 'compiled, 6 read paths', i => paths(inp(i)), N)
  bench('key derivation', 'compiled, whole input minus ignore paths', i => whole(inp(i)), N)
  // Built as a literal, the way a caller would: an object spread here costs more than the key.
  const { revision, entrypoint } = spec
  bench('key derivation', 'decisionCacheKey() one-shot (memo hit)', i => decisionCacheKey({ revision, contentDigest: spec.contentDigest, entrypoint, inputPaths: READ_PATHS, input: inp(i) }), N)
  // Reference only: not canonical (key order matters) and keeps the noise fields.
  bench('key derivation', 'naive sha256(JSON.stringify(input))', i => createHash('sha256').update(JSON.stringify(inp(i))).digest('base64url'), N)

  const cache = new TieredDecisionCache({ memory: { maxEntries: 10_000, maxBytes: 16 << 20 }, redis: false, ttl: { allowSeconds: 60, denySeconds: 10 } })
  const keys = inputs.map(x => paths(x))
  // 64 distinct hot keys (distinct tenants/users), all cached.
  const hot = Array.from({ length: 64 }, (_, j) => compileDecisionKey({ ...spec, inputPaths: [['u']] })({ u: j }))
  for (const k of hot) cache.set(k, { allow: true, headers: { 'x-user': 'alice' }, cache_ttl: 60 }, 60)
  const lru = new LRUCache<string, object>({ max: 10_000 })
  for (const k of hot) lru.set(k, { allow: true })
  bench('memory-tier hit', 'getMemory() (sync)', i => cache.getMemory(hot[i & 63]), N * 5)
  await benchAsync('memory-tier hit', 'await get()', i => cache.get(hot[i & 63]), N)
  bench('memory-tier hit', 'lru-cache get() alone (floor)', i => lru.get(hot[i & 63]), N * 5)
  bench('memory-tier hit', 'key derivation + getMemory()', i => cache.getMemory(paths(inp(i))) ?? keys[0], N)
  await cache.close()

  if (process.argv.includes('--redis')) await redisRoundTrip()

  print()
}

async function redisRoundTrip (): Promise<void> {
  const port = await new Promise<number>(resolve => {
    const s = createServer().listen(0, '127.0.0.1', () => { const a = s.address(); s.close(() => resolve(typeof a === 'object' && a !== null ? a.port : 0)) })
  })
  const proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' })
  proc.on('error', () => {})
  try {
    await sleep(300)
    const cache = new TieredDecisionCache({ memory: false, redis: { url: `redis://127.0.0.1:${port}` }, ttl: { allowSeconds: 60, denySeconds: 10 } })
    if (!await cache.whenRedisReady(3000)) { console.log('(redis-server did not start; Redis row skipped)'); return }
    cache.set('bench', { allow: true }, 60)
    await sleep(20)
    await benchAsync('redis-tier hit (loopback)', 'await get() → GET round trip', () => cache.get('bench'), 20_000)
    await cache.close()
  } finally {
    proc.kill('SIGKILL')
  }
}

function print (): void {
  const groups = [...new Set(rows.map(r => r.group))]
  const w = Math.max(...rows.map(r => r.name.length))
  for (const g of groups) {
    const gr = rows.filter(r => r.group === g)
    const slowest = Math.max(...gr.map(r => r.nsPerOp))
    console.log(`\n${g}`)
    console.log(`  ${'contender'.padEnd(w)}  ${'µs/op'.padStart(8)}  ${'ops/s'.padStart(11)}  ${'vs slowest'.padStart(10)}`)
    for (const r of gr) {
      console.log(`  ${r.name.padEnd(w)}  ${(r.nsPerOp / 1000).toFixed(3).padStart(8)}  ${Math.round(1e9 / r.nsPerOp).toLocaleString('en-US').padStart(11)}  ${(slowest / r.nsPerOp).toFixed(2).padStart(9)}x`)
    }
  }
  const cpu = cpus()[0]?.model ?? 'unknown CPU'
  console.log(`\nnode ${process.version} · ${platform()} ${release()} · ${cpu} × ${cpus().length} · ${(totalmem() / 2 ** 30).toFixed(1)} GiB`)
}

await main()
