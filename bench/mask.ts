// Micro-benchmark: cost of masking a ~100 KB JSON response body.
//   npx tsx bench/mask.ts [--runs 9] [--iterations 200]
// Each contender runs `iterations` times per run; the table shows the median over `runs` of the
// mean CPU ms per operation (wall ms alongside), scaled to exactly 100 KB of JSON, and each
// row's speed relative to the slowest. JSON.parse + JSON.stringify is the floor any
// parse-and-serialise rewrite pays (the old path); the byte-level masker (maskJsonText) copies
// the bytes and rewrites only the masked values; without pointer lists (as the proxy masks) it
// runs in Wasm (src/masking/json-scan.ts). Rows marked "JavaScript scanner only" run the
// JavaScript scanner instead, side by side. `hash` rows are dominated by one HMAC per value.
import os from 'node:os'
import zlib from 'node:zlib'
import { performance } from 'node:perf_hooks'
import { parseArgs } from 'node:util'
import { applyMask, compileMaskRules, maskJsonText, maskUpstreamResponse, parseStrictJson } from '../src/masking/index.js'

const { values } = parseArgs({ options: { runs: { type: 'string', default: '9' }, iterations: { type: 'string', default: '200' } } })
const RUNS = Number(values.runs)
const ITER = Number(values.iterations)
const TARGET = 100 * 1024

// A realistic API page: customers with PII, nested orders, a few top-level fields.
function makeBody (): Buffer {
  const customers: unknown[] = []
  const doc = { page: 1, total: 0, customers }
  for (let i = 0; JSON.stringify(doc).length < TARGET; i++) {
    customers.push({
      id: 100000 + i,
      name: `Customer ${i}`,
      email: `customer${i}@example.com`,
      ssn: `${100 + (i % 800)}-${10 + (i % 89)}-${1000 + i}`,
      card: String(4111111111111111 + i * 7919),
      address: { street: `${i} Main St`, city: 'Springfield', zip: String(10000 + i) },
      orders: [{ id: i * 2, total: 12.5 + i, items: ['a', 'b'] }, { id: i * 2 + 1, total: 3.25, items: ['c'] }],
      notes: i % 3 === 0 ? 'prefers email' : null,
    })
    doc.total = customers.length
  }
  return Buffer.from(JSON.stringify(doc))
}

const body = makeBody()
const gz = zlib.gzipSync(body)
const br = zlib.brotliCompressSync(body, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 5 } })
const mask = compileMaskRules([
  { path: '/customers/*/ssn', action: 'redact' },
  { path: '/customers/*/card', action: 'last4' },
  { path: '/customers/*/email', action: 'hash' },
  { path: '/customers/*/address/street', action: 'remove' },
  { path: '/customers/*/orders/*/total', action: 'null' },
])
const noHash = compileMaskRules(mask.rules.map((r) => ({ path: r.path, action: r.action === 'hash' ? 'redact' as const : r.action })))
const nothing = compileMaskRules([{ path: '/customers/*/no_such_field', action: 'redact' }])
const hashKey = Buffer.alloc(32, 7)
const scale = TARGET / body.length
const scratch = Buffer.alloc(body.length)

/** The body as the proxy sees it: an async iterable of 16 KiB chunks. */
function chunks (buf: Buffer): AsyncIterable<Uint8Array> {
  return (async function * () { for (let i = 0; i < buf.length; i += 16384) yield buf.subarray(i, i + 16384) })()
}
const response = (buf: Buffer, encoding?: string) => ({
  statusCode: 200,
  headers: { 'content-type': 'application/json', ...(encoding ? { 'content-encoding': encoding } : {}), 'content-length': String(buf.length) },
  body: chunks(buf),
})

const contenders: [string, () => unknown][] = [
  ['JSON.parse only', () => JSON.parse(body.toString('utf8'))],
  ['JSON.parse + JSON.stringify (floor of a rewrite)', () => JSON.stringify(JSON.parse(body.toString('utf8')))],
  ['strict parse (UTF-8, depth, dup keys) + stringify', () => { const r = parseStrictJson(body, 128); if (!r.ok) throw new Error(r.reason); return JSON.stringify(r.value) }],
  ['applyMask only (parsed doc, copy-on-write)', ((doc) => () => applyMask(doc, mask, { hashKey }))(JSON.parse(body.toString('utf8')))],
  // Before the byte-level masker, maskUpstreamResponse did this: parse, mask the tree, serialise.
  ['parse + applyMask + stringify (old path)', () => { const r = parseStrictJson(body, 128); if (!r.ok) throw new Error(r.reason); return Buffer.from(JSON.stringify(applyMask(r.value, mask, { hashKey, inPlace: true }).value)) }],
  ['maskJsonText (byte-level), with pointer lists', () => maskJsonText(body, mask, { hashKey, maxDepth: 128 })],
  ['maskJsonText, no lists (as the proxy runs it)', () => maskJsonText(body, mask, { hashKey, maxDepth: 128, lists: false })],
  ['maskJsonText, no lists, hash -> redact', () => maskJsonText(body, noHash, { hashKey, maxDepth: 128, lists: false })],
  // In place over a scratch copy, as the proxy masks a body it assembled itself (the copy is ~1 µs).
  ['  the same, in place', () => maskJsonText(scratch.set(body) ?? scratch, noHash, { hashKey, maxDepth: 128, lists: false, inPlace: true })],
  ['  the same, in place, JavaScript scanner only', () => maskJsonText(scratch.set(body) ?? scratch, noHash, { hashKey, maxDepth: 128, lists: false, inPlace: true, scanner: 'js' })],
  ['maskJsonText, no rule matches (validate only)', () => maskJsonText(body, nothing, { hashKey, maxDepth: 128 })],
  ['  the same, JavaScript scanner only', () => maskJsonText(body, nothing, { hashKey, maxDepth: 128, scanner: 'js' })],
  ['maskUpstreamResponse identity', () => maskUpstreamResponse(response(body), mask, { hashKey })],
  ['maskUpstreamResponse identity, hash -> redact', () => maskUpstreamResponse(response(body), noHash, { hashKey })],
  ['maskUpstreamResponse gzip', () => maskUpstreamResponse(response(gz, 'gzip'), mask, { hashKey })],
  ['maskUpstreamResponse br', () => maskUpstreamResponse(response(br, 'br'), mask, { hashKey })],
]

/** Mean wall and CPU ms per operation. CPU time (this process, zlib's threads included) is the
 * steadier number on a shared machine, where wall time also counts waiting for a core. */
async function measure (fn: () => unknown): Promise<{ wall: number; cpu: number }> {
  const c0 = process.cpuUsage()
  const t0 = performance.now()
  for (let i = 0; i < ITER; i++) await fn()
  const wall = (performance.now() - t0) / ITER
  const c = process.cpuUsage(c0)
  return { wall, cpu: (c.user + c.system) / 1000 / ITER }
}

const median = (xs: number[]): number => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2 }

const sample = await maskUpstreamResponse(response(body), mask, { hashKey })
for (const [, fn] of contenders) for (let i = 0; i < Math.max(20, ITER >> 2); i++) await fn() // warm-up (JIT, zlib)
// Runs are interleaved across contenders so a burst of load elsewhere hits them all alike.
const wallBy = contenders.map((): number[] => [])
const cpuBy = contenders.map((): number[] => [])
for (let r = 0; r < RUNS; r++) {
  for (let c = 0; c < contenders.length; c++) {
    const m = await measure(contenders[c]![1])
    wallBy[c]!.push(m.wall * scale)
    cpuBy[c]!.push(m.cpu * scale)
  }
}
const results = contenders.map(([name], c) => ({ name, ms: median(cpuBy[c]!), runs: cpuBy[c]!, wall: median(wallBy[c]!) }))

const slowest = Math.max(...results.map((r) => r.ms))
const w = Math.max(...results.map((r) => r.name.length))
console.log(`masking a JSON body: ms per 100 KB, median of ${RUNS} runs x ${ITER} iterations (CPU time; wall time alongside)`)
console.log(`body ${body.length} B (${(body.length / 1024).toFixed(1)} KiB, gzip ${gz.length} B, br ${br.length} B), ${mask.rules.length} rules, ${sample.masked.length} masked + ${sample.erased.length} erased locations`)
console.log('')
// Issue 18's masking target is stated against JSON.parse of the same body (<= 1.2x for the rows without hash).
const parseMs = results[0]!.ms
console.log(`${'contender'.padEnd(w)}  cpu ms   (min..max)        wall ms   x slowest  x JSON.parse`)
for (const r of results) {
  const lo = Math.min(...r.runs), hi = Math.max(...r.runs)
  console.log(`${r.name.padEnd(w)}  ${r.ms.toFixed(3).padStart(6)}   ${`(${lo.toFixed(3)}..${hi.toFixed(3)})`.padEnd(16)}  ${r.wall.toFixed(3).padStart(7)}   ${(slowest / r.ms).toFixed(2).padStart(6)}x  ${(r.ms / parseMs).toFixed(2).padStart(10)}x`)
}
console.log('')
const cpus = os.cpus()
console.log(`node ${process.version}, load average ${os.loadavg().map((x) => x.toFixed(1)).join(' ')}, ${os.platform()} ${os.arch()}, ${cpus.length} x ${cpus[0]?.model ?? 'unknown cpu'}, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB`)
