// The evidence report hashes a record from the text it was read from when that text is the
// logger's canonical layout (textHash), and from the parsed record otherwise. textHash must
// give computeHash's answer whenever it gives one, and must give one for what the logger
// writes (or the fast path would silently never be taken).
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { computeHash, DecisionLogger, GENESIS_HASH, sealEvent } from '../../src/decision-log/index.js'
import { textHash } from '../../src/evidence/hash.js'
import { tempDir } from '../decision-log/fixtures/control-plane.js'

/** textHash's contract on one text JSON.parse accepts. */
function agrees (line: string): boolean {
  const h = textHash(line)
  return h === null || h === computeHash(JSON.parse(line) as Record<string, unknown>)
}

// A small deterministic PRNG (mulberry32), so a failure reproduces.
function rng (seed: number): () => number {
  let a = seed
  return () => {
    a = (a + 0x6d2b79f5) | 0
    let x = Math.imul(a ^ (a >>> 15), 1 | a)
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296
  }
}

const PIECES = ['a', 'Z', '0', ' ', '"', '\\', '\n', '\t', '\u0001', '\u001f', '\u007f', 'é', '日', '\u2028', '🚀', '/', '<', '\u00a0']
/** A random JSON value; with `plain`, no number with a fraction and no key that needs an escape
 * (what textHash declines), so its sealed text must be hashed the fast way. */
function randomValue (r: () => number, depth: number, plain: boolean): unknown {
  const k = r()
  if (depth > 3 || k < 0.3) {
    const s = Math.floor(r() * 6)
    if (s === 0) return Math.floor(r() * 2e6) - 1e6
    if (s === 1) return plain ? Math.floor(r() * 1e15) : r() < 0.5 ? r() * 100 : 1e21 * r()
    if (s === 2) return r() < 0.5
    if (s === 3) return null
    return Array.from({ length: Math.floor(r() * 6) }, () => PIECES[Math.floor(r() * PIECES.length)]).join('')
  }
  if (k < 0.5) return Array.from({ length: Math.floor(r() * 4) }, () => randomValue(r, depth + 1, plain))
  const o: Record<string, unknown> = {}
  for (let i = Math.floor(r() * 5); i > 0; i--) {
    const key = r() < 0.2 ? String(Math.floor(r() * 20)) : Array.from({ length: 1 + Math.floor(r() * 3) }, () => (plain ? 'abcé_Z' : 'abcé"_')[Math.floor(r() * 6)]).join('')
    o[key] = randomValue(r, depth + 1, plain)
  }
  return o
}

t.test('lines the logger writes are hashed from their text', async (t) => {
  const dir = join(tempDir(t), 'spool')
  const down = { kind: 'none', batchBytes: () => 1 << 20, send: async () => ({ ok: false as const, error: 'down' }), probe: async () => ({ ok: false as const, error: 'down' }), close: async () => {} }
  const lg = new DecisionLogger({ spool_dir: dir, sinks: ['console'], min_delay_seconds: 3600, max_delay_seconds: 3600 }, { sink: down })
  await lg.start()
  const agents = ['curl/8', 'say "hi" \\ there', 'tab\there\nnewline', 'ünïcödé 日本 🚀', '\u0001\u001f control']
  for (let i = 0; i < 20; i++) {
    lg.record({
      path: 'bouncer/decision',
      input: { attributes: { request: { http: { method: 'GET', path: `/v1/x/${i}`, headers: { 'user-agent': agents[i % agents.length]!, accept: '*/*' } } } }, parsed_path: ['v1', 'x', String(i)], parsed_body: { '10': 1, '9': [true, false, null], n: -i, z: {} } },
      result: i % 2 === 0 ? { allow: true } : false,
      bundles: { main: { revision: 'r1' } },
      eval_ns: 1000 + i,
    })
  }
  await lg.written()
  await lg.stop(0)
  const lines = readdirSync(dir).filter((n) => n.startsWith('seg-')).sort().flatMap((n) => readFileSync(join(dir, n), 'utf8').split('\n').filter((l) => l !== ''))
  t.equal(lines.length, 20)
  for (const line of lines) t.equal(textHash(line), (JSON.parse(line) as { hash: string }).hash)
})

t.test('text that is not canonical is left to the parsed record', async (t) => {
  const sealed = sealEvent({ input: { a: 1, b: 'x', c: [1, 2] }, path: 'p', result: true, timestamp: 't' }, 7, 'a'.repeat(64))
  const line = sealed.line
  t.equal(textHash(line), sealed.hash)
  const variants: Array<[string, string]> = [
    ['a space after a colon', line.replace('"a":1', '"a": 1')],
    ['a space before the end', line.replace(/}$/, ' }')],
    ['keys out of order', line.replace('"a":1,"b":"x"', '"b":"x","a":1')],
    ['a duplicate key', line.replace('"a":1', '"a":1,"a":1')],
    ['a chain field again', line.replace('"path":"p"', '"path":"p","seq":7')],
    ['hash again', line.replace('"input"', '"hash":"x","input"')],
    ['__proto__', line.replace('"input"', '"__proto__":{},"input"')],
    ['an escaped letter', line.replace('"x"', '"\\u0078"')],
    ['an escaped slash', line.replace('"p"', '"\\/"')],
    ['an escaped key', line.replace('"b":', '"\\u0062":')],
    ['a fraction', line.replace('"a":1', '"a":1.0')],
    ['an exponent', line.replace('"a":1', '"a":1e0')],
    ['minus zero', line.replace('"a":1', '"a":-0')],
    ['a long integer', line.replace('"a":1', '"a":12345678901234567')],
    ['the chain fields in another order', line.replace(/^\{"seq":7,("prev_hash":"a+"),/, '{$1,"seq":7,')],
    ['upper-case hex escape', line.replace('"x"', '"\\u001F"')],
  ]
  for (const [what, v] of variants) {
    t.not(v, line, `${what}: the variant differs`)
    JSON.parse(v) // still JSON
    t.equal(textHash(v), null, what)
  }
  // a canonical control-character escape is followed
  const ctl = sealEvent({ s: '\u0001\u001f\b\n"\\' }, 1, GENESIS_HASH)
  t.match(ctl.line, /\\u0001\\u001f\\b\\n\\"\\\\/)
  t.equal(textHash(ctl.line), ctl.hash)
})

t.test('random records and random edits: textHash is computeHash or declines', async (t) => {
  const r = rng(21)
  let fast = 0
  let edits = 0
  let declined = 0
  let bad = 0
  for (let n = 0; n < 400; n++) {
    const plain = n % 2 === 0
    const ev = randomValue(r, 0, plain)
    const event = ev !== null && typeof ev === 'object' && !Array.isArray(ev) ? ev as Record<string, unknown> : { v: ev }
    for (const k of ['seq', 'prev_hash', 'hash']) delete event[k]
    const s = sealEvent(event, 1 + Math.floor(r() * 1e6), GENESIS_HASH)
    const h = textHash(s.line)
    if (h !== null && h !== s.hash) bad++
    if (plain && h === s.hash) fast++
    // one-character edits that leave valid JSON
    for (let e = 0; e < 20; e++) {
      const at = Math.floor(r() * s.line.length)
      const c = ' :,"0123456789.e-{}[]\\ntuab'[Math.floor(r() * 27)]!
      const op = Math.floor(r() * 3)
      const v = op === 0 ? s.line.slice(0, at) + c + s.line.slice(at) : op === 1 ? s.line.slice(0, at) + s.line.slice(at + 1) : s.line.slice(0, at) + c + s.line.slice(at + 1)
      try { JSON.parse(v) } catch { continue }
      if (v === s.line) continue
      edits++
      if (textHash(v) === null) declined++
      if (!agrees(v)) { bad++; t.fail(`disagrees: ${JSON.stringify(v)}`) }
    }
  }
  t.equal(bad, 0, 'never a different hash')
  t.equal(fast, 200, 'every sealed record without fractions or escaped keys is hashed from its text')
  t.ok(edits > 500, `${edits} edits kept valid JSON (${declined} declined)`)
})

t.test('a "__proto__" member added to a logger line changes the record\'s hash, by text and by the parsed record', async (t) => {
  const { recordHash } = await import('../../src/evidence/hash.js')
  const s = sealEvent({ decision_id: 'd1', path: 'p', input: { a: 1 }, result: { allow: false }, labels: {}, timestamp: '2024-01-01T00:00:00.000000000Z' }, 1, GENESIS_HASH)
  for (const line of [s.line.slice(0, -1) + ',"__proto__":{"result":{"allow":true}}}', s.line.replace('{"seq":1,', '{"__proto__":{"x":1},"seq":1,')]) {
    const parsed = JSON.parse(line) as Record<string, unknown>
    t.not(recordHash(parsed), s.hash, 'the parsed record no longer matches its hash')
    t.not(computeHash(parsed), s.hash)
    const h = textHash(line)
    t.ok(h === null || h !== s.hash, 'nor does its text')
  }
})

t.test('numbers written another way hash as verify-log hashes them (their canonical value), read exactly', async (t) => {
  const { recordHash } = await import('../../src/evidence/hash.js')
  const { parseJsonExact } = await import('../../src/exact-json.js')
  const sealed = sealEvent({ decision_id: 'd', labels: { id: 'x' }, timestamp: 't', metrics: { a: 1.5e-7, b: 100, c: 0, d: 12345678901234567890n.toString() } }, 1, GENESIS_HASH)
  for (const [from, to] of [['"a":1.5e-7', '"a":1.5e-07'], ['"b":100', '"b":100.0'], ['"c":0', '"c":-0'], ['"b":100', '"b":1e2']]) {
    const line = sealed.line.replace(from, to)
    t.not(line, sealed.line)
    const exact = parseJsonExact(line) as Record<string, unknown>
    t.equal(recordHash(exact), sealed.hash, `${to}: the record's hash`)
    t.equal(computeHash(exact), sealed.hash, `${to}: verify-log's hash`)
  }
  // and the other way: a record sealed over a literal another reader keeps (1.0) is an edit to both
  const literal = sealed.line.replace('"b":100', '"b":100.0')
  const exact = parseJsonExact(literal) as Record<string, unknown>
  t.equal(recordHash(exact), computeHash(exact))
})
