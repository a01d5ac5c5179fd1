// Canonical JSON and chain sealing: the hash must not depend on how an event was serialised,
// must change with any edit, and stored lines must expose seq/prev_hash/hash up front.
import { createHash } from 'node:crypto'
import t from 'tap'
import { canonicalJson } from '../../src/decision-log/canonical.js'
import { computeHash, GENESIS_HASH, parseChainPrefix, parseChainPrefixBytes, sealEvent } from '../../src/decision-log/chain.js'

t.test('canonical JSON: sorted keys, no whitespace, JSON.stringify escapes and numbers', async (t) => {
  t.equal(canonicalJson({ b: 1, a: [true, null, 'x'], c: { z: 0, y: -0 } }), '{"a":[true,null,"x"],"b":1,"c":{"y":0,"z":0}}')
  t.equal(canonicalJson({ é: 1, Z: 2, a: 3, '': 4, '10': 5, '9': 6 }), '{"":4,"10":5,"9":6,"Z":2,"a":3,"é":1}',
    'UTF-16 code unit order, integer-like keys as strings (not V8\'s numeric-first order)')
  t.equal(canonicalJson('line\nbreak "quoted" \\ \u0001 \ud800'), '"line\\nbreak \\"quoted\\" \\\\ \\u0001 \\ud800"')
  t.equal(canonicalJson([1e21, 0.1, 1.5e-7, 123456789012]), '[1e+21,0.1,1.5e-7,123456789012]')
  t.equal(canonicalJson({ a: undefined, b: () => 1, c: [undefined] }), '{"c":[null]}', 'undefined members left out, as JSON.stringify')
  t.equal(canonicalJson({ d: new Date(0) }), '{"d":"1970-01-01T00:00:00.000Z"}', 'toJSON honoured')
  t.throws(() => canonicalJson({ x: NaN }), /non-finite/)
  t.throws(() => canonicalJson({ x: Infinity }), /non-finite/)
  t.throws(() => canonicalJson({ x: 1n }), /bigint/)
})

t.test('canonical form survives a JSON round trip and any key order', async (t) => {
  const doc = { z: [{ b: 2, a: 1 }, 'ü\u2028'], a: { nested: { k: null, j: [1.25, -3] } }, m: '✓' }
  const reordered = JSON.parse('{"m":"✓","a":{"nested":{"j":[1.25,-3],"k":null}},"z":[{"a":1,"b":2},"ü\\u2028"]}')
  t.equal(canonicalJson(JSON.parse(JSON.stringify(doc))), canonicalJson(doc))
  t.equal(canonicalJson(reordered), canonicalJson(doc))
})

t.test('sealEvent: chain fields first on the line, hash over the canonical event without hash', async (t) => {
  const prev = 'ab'.repeat(32)
  const ev = { path: 'envoy/authz/allow', decision_id: 'd1', input: { b: 1, a: 2 }, result: true, timestamp: '2024-01-01T00:00:00.000000000Z' }
  const s = sealEvent(ev, 7, prev)
  t.match(s.line, /^\{"seq":7,"prev_hash":"(ab){32}","hash":"[0-9a-f]{64}","decision_id":"d1",/)
  const parsed = JSON.parse(s.line) as Record<string, unknown>
  t.equal(parsed.hash, s.hash)
  const { hash, ...rest } = parsed
  const expected = createHash('sha256').update(canonicalJson(rest)).digest('hex')
  t.equal(hash, expected, 'hash = SHA-256 of canonical JSON of the event (with seq, prev_hash) without hash')
  t.equal(computeHash(parsed), s.hash)
  // Re-serialised by someone else: pretty-printed, keys reversed.
  const reversed = Object.fromEntries(Object.entries(parsed).reverse())
  t.equal(computeHash(JSON.parse(JSON.stringify(reversed, null, 2))), s.hash)
  t.same(parseChainPrefix(s.line), { seq: 7, prevHash: prev, hash: s.hash })
})

t.test('any edit changes the hash', async (t) => {
  const s = sealEvent({ decision_id: 'd', result: { allow: false }, labels: { id: 'x' } }, 1, GENESIS_HASH)
  const base = JSON.parse(s.line) as Record<string, any>
  const edits: Array<(e: Record<string, any>) => void> = [
    (e) => { e.result.allow = true },
    (e) => { e.labels.id = 'y' },
    (e) => { e.seq = 2 },
    (e) => { e.prev_hash = '1'.repeat(64) },
    (e) => { e.extra = 1 },
    (e) => { delete e.labels },
  ]
  for (const edit of edits) {
    const e = structuredClone(base)
    edit(e)
    t.not(computeHash(e), s.hash, String(edit))
  }
})

t.test('sealEvent refuses events that already carry chain fields; prefix parser rejects other lines', async (t) => {
  t.throws(() => sealEvent({ seq: 1 }, 1, GENESIS_HASH), /must not carry "seq"/)
  t.throws(() => sealEvent({ hash: 'x' }, 1, GENESIS_HASH), /must not carry "hash"/)
  t.equal(parseChainPrefix('{"a":1}'), null)
  t.equal(parseChainPrefix('{"seq":0,"prev_hash":"' + '0'.repeat(64) + '","hash":"' + '0'.repeat(64) + '"}'), null, 'seq starts at 1')
  t.equal(parseChainPrefix('{"seq":1,"prev_hash":"' + 'g'.repeat(64) + '","hash":"' + '0'.repeat(64) + '"}'), null, 'hex only')
  t.equal(parseChainPrefix('{"seq":1,"prev_hash":"' + '0'.repeat(64) + '","hash":"' + '0'.repeat(63)), null, 'truncated')
})

t.test('an event with no members still seals (chain fields in canonical order)', async (t) => {
  const s = sealEvent({}, 3, GENESIS_HASH)
  t.equal(s.line, `{"seq":3,"prev_hash":"${GENESIS_HASH}","hash":"${s.hash}"}`)
  t.equal(s.hash, createHash('sha256').update(`{"prev_hash":"${GENESIS_HASH}","seq":3}`).digest('hex'))
})

t.test('the prefix parser reads lines as bytes exactly as it reads them as text', async (t) => {
  const prev = 'ab'.repeat(32)
  const sealed = [1, 9, 10, 123456789, 2 ** 53 - 1].map((seq) => sealEvent({ note: 'café 🦀', n: seq }, seq, prev))
  const odd = [
    '', '{', '{"seq":', '{"seq":1', '{"seq":01,"prev_hash":"' + '0'.repeat(64) + '","hash":"' + '0'.repeat(64) + '"}',
    '{"seq":1,"prev_hash":"' + 'A'.repeat(64) + '","hash":"' + '0'.repeat(64) + '"}',
    '{"seq":1,"prev_hash":"' + '0'.repeat(64) + '","hash":"' + '0'.repeat(64),
    '{"seq":1,"prev_hash":"' + '0'.repeat(64) + '","hash":"' + '0'.repeat(64) + '"',
    '{"seq":12345678901234567890,"prev_hash":"' + '0'.repeat(64) + '","hash":"' + '1'.repeat(64) + '"}',
    '{"seq":1x,"prev_hash":"' + '0'.repeat(64) + '","hash":"' + '0'.repeat(64) + '"}',
    '{"seq":7,"prev_hash":"' + '0'.repeat(63) + 'é","hash":"' + '0'.repeat(64) + '"}',
  ]
  for (const line of [...sealed.map((s) => s.line), ...odd]) {
    const text = parseChainPrefix(line)
    // The line in the middle of a larger buffer, as the spool reader sees it.
    const buf = Buffer.from('xx\n' + line + '\nyy')
    const bytes = parseChainPrefixBytes(buf, 3, buf.length - 3)
    t.same(bytes, text, JSON.stringify(line.slice(0, 40)))
  }
  t.same(parseChainPrefixBytes(Buffer.from(sealed[3]!.line)), { seq: 123456789, prevHash: prev, hash: sealed[3]!.hash })
  t.equal(parseChainPrefix(odd[8]!)?.seq, 12345678901234567890, 'a seq past 15 digits is read as Number() reads it')
  // A well-formed prefix cut short by the end of the range is not a prefix.
  const whole = Buffer.from(sealed[0]!.line)
  t.equal(parseChainPrefixBytes(whole, 0, 100), null)
})
