// sealEvent serialises events through a JSON.stringify fast path (canonical.ts canonicalRuns):
// its line and hash must be exactly what the reference serialiser (canonicalJson) gives, for
// any event — random documents with every kind of value, and the shapes the fast path must
// hand back to the reference serialiser (array-index keys, "__proto__", boxed primitives,
// JSON.rawJSON, class instances, toJSON, null prototypes).
import { createHash } from 'node:crypto'
import t, { type Test } from 'tap'
import { canonicalJson } from '../../src/decision-log/canonical.js'
import { computeHash, parseChainPrefix, sealEvent } from '../../src/decision-log/chain.js'
import { parseJsonExact } from '../../src/exact-json.js'

const PREV = 'cd'.repeat(32)

/** What sealEvent must produce, from the reference serialiser alone. */
function expected (event: Record<string, unknown>, seq: number, prev: string): { line: string; hash: string } {
  const body = canonicalJson({ ...event, seq, prev_hash: prev })
  const hash = createHash('sha256').update(body, 'utf8').digest('hex')
  const rest = canonicalJson(event)
  const line = `{"seq":${seq},"prev_hash":"${prev}","hash":"${hash}"` + (rest === '{}' ? '}' : ',' + rest.slice(1))
  return { line, hash }
}

function check (t: Test, event: Record<string, unknown>, what: string): void {
  const s = sealEvent(event, 42, PREV)
  const e = expected(event, 42, PREV)
  t.equal(s.line, e.line, `${what}: line`)
  t.equal(s.hash, e.hash, `${what}: hash`)
}

// xorshift32: deterministic, every bit usable.
function rng (seed: number): () => number {
  let x = seed >>> 0 || 1
  return () => { x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0; return x / 2 ** 32 }
}

const KEY_POOL = ['a', 'b', 'Z', 'é', '', 'x-tenant', 'user-agent', 'prev_hash', 'seq', 'hash', 'path', 'result', 'k\u0001', 'q"uote', 'back\\slash', '\ud83d\ude00', '\ud800', 'zz', 'A', '-x', ' sp']
const STR_POOL = ['', 'plain', 'line\nbreak', 'tab\there', 'quote"d', 'back\\', '\u0000\u001f', 'ü\u2028\u2029', '\ud83d\ude00 emoji', 'lone \udc00 low', 'lone \ud800', 'e\u0301', '</script>']

function randomValue (r: () => number, depth: number): unknown {
  const k = Math.floor(r() * (depth > 3 ? 6 : 9))
  switch (k) {
    case 0: return STR_POOL[Math.floor(r() * STR_POOL.length)]! + (r() < 0.3 ? String(Math.floor(r() * 1000)) : '')
    case 1: return [0, -0, 1.5e-7, 1e21, 123456789012, -3.25, 2 ** 53, Number.MIN_VALUE, parseJsonExact('9007199254740993')][Math.floor(r() * 9)]
    case 2: return r() < 0.5
    case 3: return null
    case 4: return r() < 0.5 ? undefined : () => 1
    case 5: return 'x'.repeat(Math.floor(r() * 50))
    case 6: case 7: {
      const o: Record<string, unknown> = {}
      const n = Math.floor(r() * 8)
      for (let i = 0; i < n; i++) o[KEY_POOL[Math.floor(r() * KEY_POOL.length)]! + (r() < 0.2 ? String(i) : '')] = randomValue(r, depth + 1)
      return o
    }
    default: {
      const n = Math.floor(r() * 5)
      const a: unknown[] = []
      for (let i = 0; i < n; i++) a.push(randomValue(r, depth + 1))
      if (r() < 0.1) a.length += 1 // a hole
      return a
    }
  }
}

t.test('random events: the fast path gives the reference line and hash', async (t) => {
  const r = rng(0x5eed)
  for (let i = 0; i < 400; i++) {
    const event: Record<string, unknown> = {}
    const n = 1 + Math.floor(r() * 8)
    for (let j = 0; j < n; j++) {
      const key = ['path', 'input', 'result', 'labels', 'bundles', 'decision_id', 'timestamp', 'metrics', 'request_id', 'requested_by', 'shadow', 'span_id', 'trace_id', 'erased', 'a', 'zz', 'é'][Math.floor(r() * 17)]!
      event[key] = randomValue(r, 0)
    }
    check(t, event, `event ${i}`)
    // A JSON round trip (what a control plane and verify-log see) hashes the same.
    const s = sealEvent(event, 42, PREV)
    t.equal(computeHash(parseJsonExact(s.line) as Record<string, unknown>), s.hash, `event ${i}: verifies after a round trip`)
    t.same(parseChainPrefix(s.line), { seq: 42, prevHash: PREV, hash: s.hash })
  }
})

t.test('shapes the fast path hands to the reference serialiser', async (t) => {
  class Point { constructor (public y: number, public x: number) {} }
  const nullProto = Object.assign(Object.create(null) as Record<string, unknown>, { b: 1, a: 2 })
  const cases: Array<[string, Record<string, unknown>]> = [
    ['array-index keys (V8 puts them first, numerically)', { input: { b: 1, 10: 'ten', 9: 'nine', a: [{ 2: 'x', '-1': 'y' }] } }],
    ['a "__proto__" own key (JSON.parse makes one)', { input: JSON.parse('{"z":1,"__proto__":{"b":2,"a":1},"a":0}') as unknown }],
    // Sorted, so the object is copied only once a later member needs it: the "__proto__" member
    // before that point was assigned into the copy, set its prototype and was lost from the line.
    ['a "__proto__" own key before a member that needs a copy', { input: JSON.parse('{"__proto__":{"a":1},"b":{"z":1,"y":2}}') as unknown }],
    ['"__proto__" at the top level', JSON.parse('{"path":"p","__proto__":{"b":1,"a":2}}') as Record<string, unknown>],
    ['boxed primitives', { input: { s: new String('ab'), n: new Number(3), b: new Boolean(false) } }],
    ['class instance', { input: { p: new Point(2, 1) } }],
    ['null prototype, unsorted', { input: { o: nullProto } }],
    // copied into a plain object on the fast path (JSON.stringify is slower on dictionary-mode objects)
    ['null prototype, sorted and empty (the proxy\'s parsed_query)', { input: { q: Object.assign(Object.create(null) as object, { a: ['1'], b: ['2'] }), e: Object.create(null) as object } }],
    ['null prototype holding a "__proto__" key', { input: { q: Object.assign(Object.create(null) as object, { ['__proto__']: ['x'], a: 1 }) } }],
    ['Date and nested toJSON', { input: { d: new Date(0), t: { toJSON: () => ({ z: 1, a: [new Date(1000)] }) } } }],
    ['toJSON returning a primitive or undefined', { input: { a: { toJSON: () => 'x' }, b: { toJSON: () => undefined } }, result: [{ toJSON: () => undefined }] }],
    ['Map and Set (no enumerable keys)', { input: { m: new Map([['a', 1]]), s: new Set([1]) } }],
    ['already sorted, nothing to copy', { input: { a: 1, b: { c: [1, 2, { d: 'e' }] } }, path: 'x' }],
    ['sorted object whose child needs a copy', { input: { a: 1, b: { z: 1, y: 2 }, c: 3 } }],
    ['empty runs', { path: 'only' }],
    ['members on both sides of prev_hash and seq', { a: 1, prev: 2, prev_hasi: 3, prev_hasz: 4, sep: 5, seq0: 6, sez: 7, zz: 8 }],
    ['undefined, functions and symbols', { input: { u: undefined, f: () => 1, s: Symbol('s'), arr: [undefined, () => 1, Symbol('t')] }, result: undefined }],
  ]
  const raw = (JSON as unknown as { rawJSON?: (s: string) => unknown }).rawJSON
  // Exact integers past 2^53 (src/exact-json.ts): their digits, on both paths.
  if (raw !== undefined) cases.push(['JSON.rawJSON integers', { input: { r: raw('9007199254740993'), n: [raw('-123456789012345678901234')], z: raw('-0') } }])
  for (const [what, event] of cases) check(t, event, what)
  if (raw !== undefined) {
    const line = sealEvent({ input: { r: raw('9007199254740993'), z: raw('-0') } }, 1, PREV).line
    t.match(line, '"input":{"r":9007199254740993,"z":0}', 'the digits, and -0 as 0')
    // A number past the double range keeps its text (no shorter form is exact), and a line
    // holding one verifies when read back as parseJsonExact reads it; raw text that is not a
    // number (parseJsonExact never makes one) is refused.
    const huge = sealEvent({ input: { r: raw('1e1000'), f: raw('1.50') } }, 1, PREV)
    t.match(huge.line, '"input":{"f":1.5,"r":1e1000}')
    t.equal(computeHash(parseJsonExact(huge.line) as Record<string, unknown>), huge.hash)
    t.throws(() => sealEvent({ input: { s: raw('"x"') } }, 1, PREV), /is not a number/)
  }
})

t.test('refusals stay refusals', async (t) => {
  t.throws(() => sealEvent({ input: { x: NaN } }, 1, PREV), /non-finite/)
  t.throws(() => sealEvent({ input: [Infinity] }, 1, PREV), /non-finite/)
  t.throws(() => sealEvent({ input: { x: 1n } }, 1, PREV), /bigint/)
  t.throws(() => sealEvent({ input: { x: { toJSON: () => NaN } } }, 1, PREV), /non-finite/)
  t.throws(() => sealEvent({ seq: 3 }, 1, PREV), /must not carry "seq"/)
  t.throws(() => sealEvent({ hash: 'x' }, 1, PREV), /must not carry "hash"/)
  t.throws(() => sealEvent({ prev_hash: 'x' }, 1, PREV), /must not carry "prev_hash"/)
  t.doesNotThrow(() => sealEvent({ seq: undefined, path: 'p' }, 1, PREV), 'an undefined reserved member is left out, as before')
})

t.test('the caller\'s event is not changed', async (t) => {
  const input = { z: { b: 1, a: 2 }, a: [{ y: 1, x: 2 }] }
  const before = JSON.stringify(input)
  sealEvent({ input, path: 'p' }, 1, PREV)
  t.equal(JSON.stringify(input), before)
  t.same(Object.keys(input.z), ['b', 'a'])
})
