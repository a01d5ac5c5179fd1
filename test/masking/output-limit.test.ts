// The masked body has a limit too (maxBodyBytes in maskUpstreamResponse, maxOutputBytes in
// maskJsonText): rules that make a body longer (redact, hash, last4, null replace values by
// their text) cannot take a body within the input limit past it. Both scanners (the Wasm walk
// and the JavaScript scanner) refuse exactly the same bodies, in place or not, and any other
// refusal (invalid JSON, too deep) wins over this one.
import t, { type Test } from 'tap'
import http from 'node:http'
import { once } from 'node:events'
import { Readable } from 'node:stream'
import type { AddressInfo } from 'node:net'
import { Agent, request } from 'undici'
import {
  compileMaskRules, maskJsonText, maskUpstreamResponse, MaskFailClosedError, type MaskRule, type MaskResponseOptions,
} from '../../src/masking/index.js'
import { walkModulePath } from '../../src/masking/json-scan.js'

const hashKey = Buffer.from('output-limit-test-key-0123456789abcdef')
const SCANNERS = ['wasm', 'js'] as const

t.ok(walkModulePath() !== null, 'build/json-scan.wasm is there: the Wasm walk is tested, not only the fallback')

/** `{"a":[1,1,...]}` with k elements: 2k + 7 bytes. */
const ones = (k: number): string => '{"a":[' + Array(k).fill('1').join(',') + ']}'

/** Every way maskJsonText can produce a body: each scanner, a body of its own or written over. */
function maskAll (body: string | Buffer, rules: MaskRule[], limit: number, maxDepth = 128) {
  const mask = compileMaskRules(rules)
  return SCANNERS.flatMap((scanner) => [false, true].map((inPlace) => ({
    how: `${scanner}${inPlace ? ', in place' : ''}`,
    r: maskJsonText(Buffer.from(body), mask, { hashKey, maxDepth, lists: false, inPlace, scanner, maxOutputBytes: limit }),
  })))
}

/** A result as tap may print it: a body as its length (a failing comparison must not print megabytes). */
const outcome = (r: ReturnType<typeof maskJsonText>): unknown => r.ok ? { ok: true, bytes: r.body.length } : r

/** The masked body without a limit (the Wasm walk; the tests above compare it with the JavaScript scanner). */
function unlimited (body: string | Buffer, rules: MaskRule[]): Buffer {
  const r = maskJsonText(Buffer.from(body), compileMaskRules(rules), { hashKey, maxDepth: 128, lists: false })
  if (!r.ok) throw new Error(r.reason)
  return r.body
}

const growing: [string, string, MaskRule[]][] = [
  ['redact (a constant text)', ones(5000), [{ path: '/a/*', action: 'redact' }]],
  ['redact with a long replacement', ones(300), [{ path: '/a/*', action: 'redact', replacement: 'x'.repeat(1024) }]],
  ['null', ones(5000), [{ path: '/a/*', action: 'null' }]],
  ['hash (texts from JavaScript)', ones(2000), [{ path: '/a/*', action: 'hash' }]],
  ['last4 with a long prefix (strings, in place of their head)', JSON.stringify({ a: Array.from({ length: 3000 }, (_, i) => `id-${i}-0000`) }), [{ path: '/a/*', action: 'last4', replacement: '#'.repeat(40) }]],
  ['last4 of numbers and escaped strings (texts from JavaScript)', JSON.stringify({ a: Array.from({ length: 3000 }, (_, i) => i % 2 === 0 ? 123456789 : 'x\n123456') }), [{ path: '/a/*', action: 'last4', replacement: '*'.repeat(30) }]],
  ['two rules at one value, then a removal', JSON.stringify({ a: Array.from({ length: 2000 }, (_, i) => ({ v: i, w: 'w' })) }), [{ path: '/a/*/v', action: 'redact' }, { path: '/a/*/v', action: 'last4', replacement: '-'.repeat(20) }, { path: '/a/*/w', action: 'remove' }]],
  ['a body over 1 MiB (the walk\'s own instance)', ones(600_000), [{ path: '/a/*', action: 'redact' }]],
]

t.test('a body within the limit that masking makes longer than it is refused; exactly at the limit it passes', async (t) => {
  for (const [name, body, rules] of growing) {
    const want = unlimited(body, rules)
    t.ok(want.length > Buffer.byteLength(body), `${name}: masking makes the body longer (${Buffer.byteLength(body)} → ${want.length} bytes)`)
    for (const { how, r } of maskAll(body, rules, want.length)) {
      t.ok(r.ok && r.body.equals(want), `${name}, ${how}: exactly at the limit, the masked body`)
    }
    for (const limit of [want.length - 1, Buffer.byteLength(body)]) {
      for (const { how, r } of maskAll(body, rules, limit)) {
        t.same(outcome(r), { ok: false, reason: `the masked body would be larger than ${limit} bytes`, tooLarge: true }, `${name}, ${how}: a limit of ${limit} refuses it`)
      }
    }
  }
})

t.test('the Wasm walk counts growth past 4 GiB exactly (no 32-bit wrap makes a huge body look small)', async (t) => {
  // 4,190,212 values, each "1" redacted by a 1026-byte text: 4,294,967,300 bytes more, which
  // is 4 modulo 2^32. A 32-bit count took the masked body for n + 4 bytes, within the limit,
  // and the assembly then ran off Wasm memory (a RuntimeError, not a refusal).
  const k = 4_190_212
  const body = Buffer.from(ones(k))
  const rules = compileMaskRules([{ path: '/a/*', action: 'redact', replacement: 'y'.repeat(1024) }])
  for (const scanner of SCANNERS) {
    const r = maskJsonText(body, rules, { hashKey, maxDepth: 128, lists: false, scanner, maxOutputBytes: 16 * 1024 * 1024 })
    t.same(outcome(r), { ok: false, reason: 'the masked body would be larger than 16777216 bytes', tooLarge: true }, `${scanner}: refused`)
  }
})

t.test('masks that shrink the body pass near the limit', async (t) => {
  const body = JSON.stringify({ a: Array.from({ length: 3000 }, (_, i) => ({ id: i, ssn: `123-45-${String(i).padStart(4, '0')}` })), pad: 'p'.repeat(2000) })
  const n = Buffer.byteLength(body)
  const cases: MaskRule[][] = [
    [{ path: '/a/*/ssn', action: 'remove' }],
    [{ path: '/pad', action: 'remove' }, { path: '/a/*/id', action: 'null' }], // longer values, shorter body
    [{ path: '/a/*/ssn', action: 'last4' }], // 11 characters to 8
    [{ path: '/a/*/id', action: 'redact' }, { path: '/a/*', action: 'remove' }], // an outer removal wins over inner growth
  ]
  for (const rules of cases) {
    const want = unlimited(body, rules)
    t.ok(want.length < n, `${JSON.stringify(rules)}: shorter (${n} → ${want.length})`)
    for (const limit of [n, want.length]) {
      for (const { how, r } of maskAll(body, rules, limit)) t.ok(r.ok && r.body.equals(want), `${how}: passes with a limit of ${limit}`)
    }
  }
  // A body no rule matches is its own output: at the limit it passes, the same bytes.
  for (const { how, r } of maskAll(body, [{ path: '/nothing', action: 'redact' }], n)) t.ok(r.ok && r.body.toString() === body, `${how}: unchanged at the limit`)
})

t.test('other refusals win over the size, with both scanners', async (t) => {
  const rules: MaskRule[] = [{ path: '/a/*', action: 'redact' }]
  const big = ones(5000)
  const cases: [string, string, string][] = [
    ['invalid JSON after the growth', big.slice(0, -1) + ',}', 'body is not valid JSON'],
    ['truncated', big.slice(0, -2), 'body is not valid JSON'],
    ['nesting too deep after the growth', big.slice(0, -1) + ',"b":[[[[[[[[1]]]]]]]]}', 'nesting is deeper than 5 levels'],
  ]
  for (const [name, body, reason] of cases) {
    for (const { how, r } of maskAll(body, rules, 1000, 5)) t.same(outcome(r), { ok: false, reason }, `${name}, ${how}`)
  }
  // A value to hash nested too deeply (checked while hashing) is refused for that, too.
  const deepHash = '{"a":[' + Array(3000).fill('1').join(',') + '],"h":' + '['.repeat(600) + ']'.repeat(600) + '}'
  for (const { how, r } of maskAll(deepHash, [{ path: '/a/*', action: 'redact' }, { path: '/h', action: 'hash' }], 1000, 1000)) {
    t.same(outcome(r), { ok: false, reason: 'a value to hash is nested deeper than 512 levels' }, `a value to hash too deep, ${how}`)
  }
})

t.test('a container hashed after rules inside it grew it: its text has the same limit', async (t) => {
  // /h/* makes /h's text 13 times longer before /h is hashed to 78 bytes: the masked body is
  // short, but the text hashed is built whole, so it is held to the limit as well.
  const body = '{"h":[' + Array(2000).fill('1').join(',') + '],"k":1}'
  const rules: MaskRule[] = [{ path: '/h/*', action: 'redact' }, { path: '/h', action: 'hash' }]
  const want = unlimited(body, rules)
  t.ok(want.length < 200, 'the masked body is short')
  const inner = unlimited('[' + Array(2000).fill('1').join(',') + ']', [{ path: '/*', action: 'redact' }]).length
  for (const { how, r } of maskAll(body, rules, inner)) t.ok(r.ok && r.body.equals(want), `${how}: the text to hash at the limit: masked`)
  for (const { how, r } of maskAll(body, rules, inner - 1)) t.same(outcome(r), { ok: false, reason: `the masked body would be larger than ${inner - 1} bytes`, tooLarge: true }, `${how}: one byte over: refused`)
})

// --- maskUpstreamResponse ---------------------------------------------------------------------

const JSON_HEADERS = { 'content-type': 'application/json' }

async function refused (t: Test, p: Promise<unknown>, limit: number, status: number, label: string): Promise<void> {
  try {
    await p
    t.fail(`${label}: expected a refusal, got a response`)
  } catch (e) {
    if (!(e instanceof MaskFailClosedError)) { t.fail(`${label}: expected MaskFailClosedError, got ${String(e)}`); return }
    t.equal(e.code, 'BOUNCER_ERR_MASK_TOO_LARGE', `${label}: code`)
    t.equal(e.statusCode, status, `${label}: the configured fail status`)
    t.equal(e.message, `response body exceeds the masking limit of ${limit} bytes (after masking)`, `${label}: message`)
  }
}

/** One chunk (masked into a new buffer) or several (the proxy's own copy, masked in place). */
const sources = (body: Buffer): [string, () => Readable][] => [
  ['one chunk', () => Readable.from([body])],
  ['several chunks', () => Readable.from(Array.from({ length: Math.ceil(body.length / 1000) }, (_, i) => body.subarray(i * 1000, (i + 1) * 1000)))],
]

t.test('maskUpstreamResponse: growth past maxBodyBytes fails closed with fail_status, on both scanners; at the limit it passes', async (t) => {
  const body = Buffer.from(ones(5000)) // 10,007 bytes; 65,007 once redacted
  const rules = compileMaskRules([{ path: '/a/*', action: 'redact' }])
  const masked = unlimited(body, [{ path: '/a/*', action: 'redact' }])
  for (const scanner of SCANNERS) {
    for (const [how, source] of sources(body)) {
      const label = `${scanner}, ${how}`
      for (const maxBodyBytes of [20_000, masked.length - 1]) {
        await refused(t, maskUpstreamResponse({ statusCode: 200, headers: JSON_HEADERS, body: source() }, rules, { maxBodyBytes, failStatus: 503, scanner }), maxBodyBytes, 503, `${label}, limit ${maxBodyBytes}`)
      }
      const opts: MaskResponseOptions = { maxBodyBytes: masked.length, failStatus: 503, scanner }
      const ok = await maskUpstreamResponse({ statusCode: 200, headers: { ...JSON_HEADERS, 'content-length': String(body.length) }, body: source() }, rules, opts)
      t.ok(ok.body.equals(masked), `${label}: exactly at the limit: masked`)
      t.equal(ok.headers['content-length'], String(masked.length))
      t.equal(ok.masked.length, 5000, `${label}: and its lists are computed`)
    }
  }
})

t.test('maskUpstreamResponse: a body of exactly maxBodyBytes passes when its mask removes or keeps its length', async (t) => {
  const body = Buffer.from(JSON.stringify({ a: Array.from({ length: 2000 }, (_, i) => ({ id: i, ssn: '123-45-6789' })), r: '[REDACTED]' }))
  const limit = body.length
  for (const scanner of SCANNERS) {
    for (const [how, source] of sources(body)) {
      const removed = await maskUpstreamResponse({ statusCode: 200, headers: JSON_HEADERS, body: source() }, compileMaskRules([{ path: '/a/*/ssn', action: 'remove' }]), { maxBodyBytes: limit, scanner })
      t.ok(removed.body.length < limit && !removed.body.includes('123-45'), `${scanner}, ${how}: remove at the limit passes`)
      const same = await maskUpstreamResponse({ statusCode: 200, headers: JSON_HEADERS, body: source() }, compileMaskRules([{ path: '/r', action: 'redact' }]), { maxBodyBytes: limit, scanner })
      t.equal(same.body.length, limit, `${scanner}, ${how}: a mask of the same length at the limit passes`)
      await refused(t, maskUpstreamResponse({ statusCode: 200, headers: JSON_HEADERS, body: source() }, compileMaskRules([{ path: '/r', action: 'null' }, { path: '/a/0/id', action: 'redact' }]), { maxBodyBytes: limit, scanner }),
        limit, 502, `${scanner}, ${how}: eight bytes shorter here, eleven longer there: three over`)
    }
  }
})

t.test('maskUpstreamResponse: a real upstream connection refused this way serves the next response', async (t) => {
  const body = Buffer.from(ones(20_000))
  const server = http.createServer((req, res) => {
    if (req.url === '/grow') { res.writeHead(200, { ...JSON_HEADERS, 'content-length': body.length }); res.end(body); return }
    res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' })
    res.write('{"a":[1,')
    res.end('2]}')
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  const agent = new Agent({ connections: 1 })
  t.teardown(async () => { await agent.close(); server.closeAllConnections(); server.close() })
  const rules = compileMaskRules([{ path: '/a/*', action: 'redact' }])
  for (let i = 0; i < 3; i++) {
    for (const scanner of SCANNERS) {
      const res = await request(`${base}/grow`, { dispatcher: agent, headersTimeout: 5000, bodyTimeout: 5000 })
      await refused(t, maskUpstreamResponse(res, rules, { maxBodyBytes: 100_000, scanner }), 100_000, 502, `${scanner} ${i}`)
    }
  }
  // One connection in the pool: had a refused body been left unread, this would wait for good.
  const res = await request(`${base}/small`, { dispatcher: agent, headersTimeout: 5000, bodyTimeout: 5000 })
  const ok = await maskUpstreamResponse(res, rules, { maxBodyBytes: 100_000 })
  t.equal(ok.body.toString(), '{"a":["[REDACTED]","[REDACTED]"]}', 'the next response on the same connection is masked')
})

t.test('once the output is over its limit, no more replacements are computed (an HMAC per value held the event loop)', async (t) => {
  // A spy on node:crypto's createHmac (the hash action's), counting the HMACs one refusal costs.
  let hmacs = 0
  const crypto = await import('node:crypto')
  const m = await t.mockImport<typeof import('../../src/masking/index.js')>('../../src/masking/index.js', {
    'node:crypto': { ...crypto, createHmac: (...args: Parameters<typeof crypto.createHmac>) => { hmacs++; return crypto.createHmac(...args) } },
  })
  const body = ones(100_000) // 200 KB, 100,000 values to hash
  const mask = m.compileMaskRules([{ path: '/a/*', action: 'hash' }])
  for (const scanner of SCANNERS) {
    hmacs = 0
    const r = m.maskJsonText(Buffer.from(body), mask, { hashKey, maxDepth: 128, lists: false, scanner, maxOutputBytes: 10_000 })
    t.notOk(r.ok, `${scanner}: refused, over the limit`)
    t.ok(hmacs > 0 && hmacs < 1000, `${scanner}: ${hmacs} HMACs computed for the refusal, not one per value`)
  }
})
