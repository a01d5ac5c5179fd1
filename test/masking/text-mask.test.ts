// The byte-level masker: outside masked values the body keeps the upstream's exact bytes;
// inside, the same results as applyMask on the parsed document.
import t from 'tap'
import { createHmac } from 'node:crypto'
import { Readable } from 'node:stream'
import {
  applyMask, compileMaskRules, maskJsonText, maskUpstreamResponse, type MaskAction, type MaskRule,
} from '../../src/masking/index.js'

const hashKey = Buffer.from('text-mask-test-key-0123456789abcdef')
const hmac = (s: string): string => 'hmac-sha256:' + createHmac('sha256', hashKey).update(s).digest('hex')

/** Masks `body` as the proxy does (maskUpstreamResponse) and returns the body text. */
async function viaResponse (body: string | Buffer, rules: MaskRule[]): Promise<{ text: string; masked: string[]; erased: string[] }> {
  const r = await maskUpstreamResponse({ statusCode: 200, headers: { 'content-type': 'application/json' }, body: Readable.from([Buffer.from(body)]) }, compileMaskRules(rules), { hashKey })
  return { text: r.body.toString('utf8'), masked: r.masked, erased: r.erased }
}

function text (body: string | Buffer, rules: MaskRule[], maxDepth = 128): string {
  const r = maskJsonText(Buffer.from(body), compileMaskRules(rules), { hashKey, maxDepth })
  if (!r.ok) throw new Error(r.reason)
  return r.body.toString('utf8')
}

function reason (body: string | Buffer, rules: MaskRule[] = [{ path: '/a', action: 'redact' }], maxDepth = 128): string | null {
  const r = maskJsonText(Buffer.from(body), compileMaskRules(rules), { hashKey, maxDepth })
  return r.ok ? null : r.reason
}

t.test('numbers, escapes and whitespace outside masked values keep their exact text', async (t) => {
  const body = '{ "id": 12345678901234567891, "amount": 1e400, "z": -0, "f": 1.50, "e": 2E-3,\n' +
    '  "s": "caf\\u00e9 \\ud83d\\ude00 \\/ \\"q\\"", "u": "żółw 🐢", "ssn": "123-45-6789",\t"list": [ 1 , 2 ] }'
  const r = await viaResponse(body, [{ path: '/ssn', action: 'redact' }])
  t.equal(r.text, body.replace('"123-45-6789"', '"[REDACTED]"'), 'only the masked value changed')
  t.strictSame(r.masked, ['/ssn'])
  // What the old parse-and-serialise path did to the same bytes:
  t.not(r.text.includes('12345678901234567000'), true)
  t.ok(r.text.includes('12345678901234567891'))
  t.ok(r.text.includes('1e400'), '1e400 is not turned into null')
  t.ok(r.text.includes('"z": -0'), '-0 stays -0')
  t.ok(r.text.includes('\\u00e9'), 'escapes are not decoded')
})

t.test('a body no rule matches comes back as the same bytes (no copy)', async (t) => {
  const body = Buffer.from(' [ {"a" : 1e400} , 12345678901234567891 ]\n')
  const r = maskJsonText(body, compileMaskRules([{ path: '/x/y', action: 'redact' }]), { hashKey, maxDepth: 128 })
  t.ok(r.ok && r.body === body)
  const bom = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"a":"s","b":1}')])
  const m = maskJsonText(bom, compileMaskRules([{ path: '/a', action: 'null' }]), { hashKey, maxDepth: 128 })
  t.ok(m.ok)
  if (m.ok) t.ok(m.body.equals(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"a":null,"b":1}')])), 'a BOM is skipped by the scanner and kept')
})

t.test('actions on numbers use their exact digits', async (t) => {
  const body = '{"big": 12345678901234567891, "big2": 12345678901234567892, "neg": -0, "f": 1.50, "inf": 1e400, "n": 42, "s": "42", "c": {"b": 1.0, "a": [12345678901234567891]}}'
  const hashed = JSON.parse(text(body, ['/big', '/big2', '/neg', '/f', '/inf', '/n', '/s', '/c'].map((path) => ({ path, action: 'hash' as const })))) as Record<string, string>
  t.equal(hashed.big, hmac('12345678901234567891'), 'big integers hash as their digits, not a rounded double')
  t.not(hashed.big, hashed.big2, 'so two ids that round alike do not hash alike')
  t.equal(hashed.neg, hmac('0'), '-0 hashes as 0 (as before)')
  t.equal(hashed.f, hmac('1.5'), 'other numbers hash as their double, as before')
  t.equal(hashed.inf, hmac('1e400'), 'a number no double can hold hashes as its text (used to throw)')
  t.equal(hashed.n, hashed.s, '42 and "42" still hash alike')
  t.equal(hashed.c, hmac('{"a":[12345678901234567891],"b":1}'), 'containers hash as canonical JSON, numbers exact')
  t.equal(text('{"card": 12345678901234567891, "f": 1234.5678, "x": 1e400}', [{ path: '/card', action: 'last4' }, { path: '/f', action: 'last4' }, { path: '/x', action: 'last4' }]),
    '{"card": "****7891", "f": "****5678", "x": "****e400"}')
})

t.test('unicode escapes: in keys they match rules; in masked strings they are decoded first', async (t) => {
  t.equal(text('{"\\u0073sn": "x", "k\\u00e9y": "y", "n": "\\u0041BCDEF"}', [
    { path: '/ssn', action: 'redact' }, { path: '/kéy', action: 'null' }, { path: '/n', action: 'last4' },
  ]), '{"\\u0073sn": "[REDACTED]", "k\\u00e9y": null, "n": "****CDEF"}')
  t.equal(text('{"e": "a\\ud83d\\ude00"}', [{ path: '/e', action: 'hash' }]), `{"e": "${hmac('a😀')}"}`)
  const r = await viaResponse('{"k\\u00e9y": 1}', [{ path: '/kéy', action: 'null' }])
  t.strictSame(r.masked, ['/kéy'], 'reported paths use the decoded key')
})

t.test('keys with ~0 / ~1 escapes and a literal "*"', async (t) => {
  const r = await viaResponse('{"a/b": 1, "c~d": 2, "*": 3, "x": {"e/f~": 4}}', [
    { path: '/a~1b', action: 'null' }, { path: '/c~0d', action: 'null' }, { path: '/~2', action: 'null' }, { path: '/x/*', action: 'redact' },
  ])
  t.equal(r.text, '{"a/b": null, "c~d": null, "*": null, "x": {"e/f~": "[REDACTED]"}}')
  t.strictSame(r.masked, ['/a~1b', '/c~0d', '/~2', '/x/e~1f~0'])
})

t.test('remove keeps the JSON valid: first, middle, last, several, all', async (t) => {
  const arr = '[1, 2, 3, 4]'
  const rm = (idx: number[]): string => text(`{"a": ${arr}}`, idx.map((i) => ({ path: `/a/${i}`, action: 'remove' as const })))
  t.equal(rm([0]), '{"a": [2, 3, 4]}', 'first')
  t.equal(rm([1]), '{"a": [1, 3, 4]}', 'middle')
  t.equal(rm([3]), '{"a": [1, 2, 3]}', 'last')
  t.equal(rm([0, 1]), '{"a": [3, 4]}', 'first two')
  t.equal(rm([2, 3]), '{"a": [1, 2]}', 'last two')
  t.equal(rm([0, 2]), '{"a": [2, 4]}', 'indices are the original ones')
  t.equal(rm([1, 3]), '{"a": [1, 3]}')
  t.equal(rm([0, 1, 2, 3]), '{"a": []}', 'all')
  t.equal(text('{"a":1,"b":2,"c":3}', [{ path: '/a', action: 'remove' }]), '{"b":2,"c":3}')
  t.equal(text('{"a":1,"b":2,"c":3}', [{ path: '/b', action: 'remove' }]), '{"a":1,"c":3}')
  t.equal(text('{"a":1,"b":2,"c":3}', [{ path: '/c', action: 'remove' }]), '{"a":1,"b":2}')
  t.equal(text('{"a":1,"b":2,"c":3}', [{ path: '/*', action: 'remove' }]), '{}')
  t.equal(text('{"a":{"x":[1,{"y":2}]},"b":2}', [{ path: '/a', action: 'remove' }]), '{"b":2}', 'a container member')
  const pretty = '{\n  "a": 1,\n  "b": [\n    1,\n    2\n  ],\n  "c": 3\n}'
  t.equal(text(pretty, [{ path: '/a', action: 'remove' }]), '{\n  "b": [\n    1,\n    2\n  ],\n  "c": 3\n}')
  t.equal(text(pretty, [{ path: '/c', action: 'remove' }]), '{\n  "a": 1,\n  "b": [\n    1,\n    2\n  ]\n}')
  t.equal(text(pretty, [{ path: '/b/1', action: 'remove' }]), '{\n  "a": 1,\n  "b": [\n    1\n  ],\n  "c": 3\n}')
  t.equal(text(pretty, [{ path: '/b/0', action: 'remove' }]), '{\n  "a": 1,\n  "b": [\n    2\n  ],\n  "c": 3\n}')
  for (const rules of [[0], [1], [2], [0, 1], [1, 2], [0, 2], [0, 1, 2]]) {
    const out = text('[ {"k": 1} , [2] ,"3" ]', rules.map((i) => ({ path: `/${i}`, action: 'remove' as const })))
    t.doesNotThrow(() => JSON.parse(out), `removing ${rules.join(',')} gives valid JSON: ${out}`)
  }
})

t.test('nested arrays and wildcards', async (t) => {
  const body = '{"m": [[{"v": 1, "k": "a"}, {"v": 2}], [], [{"v": 3}, 4, [5]]]}'
  const r = await viaResponse(body, [{ path: '/m/*/*/v', action: 'remove' }, { path: '/m/2/2/0', action: 'hash' }])
  t.equal(r.text, `{"m": [[{"k": "a"}, {}], [], [{}, 4, ["${hmac('5')}"]]]}`)
  t.strictSame(r.erased, ['/m/0/0/v', '/m/0/1/v', '/m/2/0/v'])
  t.strictSame(r.masked, ['/m/2/2/0'])
})

t.test('duplicate keys: every occurrence is masked; nested rules reach into each', async (t) => {
  t.equal(text('{"a": {"s": 1}, "a": {"s": 2, "t": 3}}', [{ path: '/a/s', action: 'null' }]), '{"a": {"s": null}, "a": {"s": null, "t": 3}}')
  t.equal(text('{"s": 1, "x": 0, "s": 2}', [{ path: '/s', action: 'remove' }]), '{"x": 0}')
  t.equal(text('[{"s":1,"s":2,"s":3}]', [{ path: '/0/s', action: 'remove' }]), '[{}]')
  const r = await viaResponse('{"a": {"s": 1}, "\\u0061": {"s": 2}, "b": [{"t": 1, "t": 2}]}', [{ path: '/a/s', action: 'null' }, { path: '/b/*/t', action: 'remove' }])
  t.equal(r.text, '{"a": {"s": null}, "\\u0061": {"s": null}, "b": [{}]}')
  t.strictSame([r.masked, r.erased], [['/a/s'], ['/b/0/t']], 'each pointer is listed once')
})

t.test('rule order at one location matches applyMask', async (t) => {
  // inner rule first, then the outer one: both run, the outer's hash sees the inner's result
  const body = '{"a": {"b": "x", "c": 1}, "z": [1,  2.0]}'
  const doc = JSON.parse(body) as unknown
  const cases: MaskRule[][] = [
    [{ path: '/a/b', action: 'redact' }, { path: '/a', action: 'hash' }],
    [{ path: '/a', action: 'hash' }, { path: '/a/b', action: 'redact' }],
    [{ path: '/a/b', action: 'remove' }, { path: '/a', action: 'remove' }],
    [{ path: '/a', action: 'hash' }, { path: '/a', action: 'remove' }],
    [{ path: '/a', action: 'redact' }, { path: '/*', action: 'hash' }],
    [{ path: '/a/*', action: 'last4' }, { path: '/a/c', action: 'hash' }, { path: '/*/b', action: 'remove' }],
  ]
  for (const rules of cases) {
    const want = applyMask(doc, compileMaskRules(rules), { hashKey })
    const got = await viaResponse(body, rules)
    t.strictSame(JSON.parse(got.text), want.value, JSON.stringify(rules))
    t.strictSame([got.masked, got.erased], [want.masked, want.erased], `lists: ${JSON.stringify(rules)}`)
    if (!want.masked.includes('/z')) t.ok(got.text.endsWith('"z": [1,  2.0]}'), 'the rest keeps its text')
  }
})

t.test('deep nesting is refused without recursion, masked or not', async (t) => {
  const deep = '['.repeat(1_000_000) + ']'.repeat(1_000_000)
  t.equal(reason(deep), 'nesting is deeper than 128 levels')
  t.equal(reason('{"a":' + deep + '}'), 'nesting is deeper than 128 levels', 'inside a value a rule replaces')
  t.equal(reason('{"a":' + deep + '}', [{ path: '/a', action: 'hash' }], 2_000_000), 'a value to hash is nested deeper than 512 levels', 'hashing a deep value is bounded too')
  t.equal(reason('[[[1]]]', undefined, 3), null, 'exactly at the bound')
  t.equal(reason('[[[[1]]]]', undefined, 3), 'nesting is deeper than 3 levels')
  t.equal(reason('{"a":"' + '['.repeat(1000) + '"}', undefined, 2), null, 'brackets inside strings are not nesting')
})

t.test('invalid JSON and UTF-8 are refused exactly where JSON.parse refuses', async (t) => {
  const samples = [
    '{}', '[]', '0', '-0', '1', '-1.5e+10', '1E-2', '"s"', 'true', 'false', 'null', ' \t\r\n{ "a" : [ ] }\n ',
    '"\\u00e9\\"\\\\\\/\\b\\f\\n\\r\\t"', '"\\ud800"', '{"a":{"b":[{"c":null}]}}', '[1,[2,[3]]]', '{"":""}',
    '', ' ', '{', '}', '[', ']', '{"a"}', '{"a":}', '{"a":1,}', '[1,]', '[,1]', '{,}', '{"a" 1}', '{a:1}', "{'a':1}",
    '01', '1.', '.5', '+1', '-', '1e', '1e+', '0x10', 'NaN', 'Infinity', '-Infinity', 'tru', 'nul', 'True', 'nulll', 'truex',
    '"\\x"', '"\\u12"', '"\\u12G4"', '"a\tb"', '"a\nb"', '"\u0001"', '"unterminated', '"\\"', '1 2', '{}{}', '[]]', '{}]',
    '\f1', '\u00a01', '[1 2]', '{"a":1 "b":2}', '[1,,2]', '"\u2028"', '-01', '1.e5', '1e5.5', '[-]', '["a",]',
  ]
  for (const s of samples) {
    let parses = true
    try { JSON.parse(s) } catch { parses = false }
    if (parses) t.equal(text(s, [{ path: '/zz', action: 'redact' }]), s, 'a valid body no rule matches is passed through as is')
    t.equal(reason(s), parses ? null : 'body is not valid JSON', JSON.stringify(s).replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`))
  }
  t.equal(reason(Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xc3, 0x28, 0x22, 0x7d])), 'body is not valid UTF-8')
  t.equal(reason(Buffer.from([0x22, 0xed, 0xa0, 0x80, 0x22])), 'body is not valid UTF-8', 'an encoded surrogate')
})

// Randomised comparison with applyMask on the parsed document (seeded: every run is the same),
// with the Wasm walk where it applies (no pointer lists; the default) and with the JavaScript
// scanner alone.
for (const scanner of ['wasm', 'js'] as const) t.test(`same results as applyMask on random documents and rules (${scanner} scanner)`, async (t) => {
  // xorshift32: the low bits of a power-of-two LCG repeat with tiny periods, which left most
  // shapes (strings in particular) out of the documents.
  let seed = 12345
  const rnd = (n: number): number => { seed ^= seed << 13; seed ^= seed >>> 17; seed ^= seed << 5; return (seed >>> 0) % n }
  const keys = ['a', 'b', 'c', 'k/1', 'é']
  const ws = (): string => [' ', '', '\n  ', '\t'][rnd(4)]!
  function value (depth: number): unknown {
    const r = rnd(depth > 3 ? 5 : 8)
    if (r === 0) return rnd(1000) - 500
    if (r === 1) return ['x', 'hello world', 'żółw', 'q"uote', '', '🐢🐢x', 'ab🐢', '12🐢34', 'line\nbreak\\', 'tab\there', 'cafe\u0301!', '{"a":"x"}', '"b":[1,{"c":2}]', '\\"a\\":'][rnd(14)]
    if (r === 2) return [true, false, null][rnd(3)]
    if (r === 3) return rnd(100) / 8
    if (r === 4) return '4111111111111111'
    if (r === 5 || r === 6) {
      const o: Record<string, unknown> = {}
      for (let i = rnd(6); i > 0; i--) o[keys[rnd(keys.length)]!] = value(depth + 1)
      return o
    }
    return Array.from({ length: rnd(4) }, () => value(depth + 1))
  }
  /** A JSON string, some characters written as \uXXXX escapes (every UTF-16 unit of them). */
  function str (s: string): string {
    if (rnd(3) !== 0) return JSON.stringify(s)
    return '"' + [...s].map((ch) => rnd(3) === 0
      ? [...Array(ch.length).keys()].map((k) => '\\u' + ch.charCodeAt(k).toString(16).padStart(4, '0')).join('')
      : JSON.stringify(ch).slice(1, -1)).join('') + '"'
  }
  /** JSON text with random whitespace between tokens. */
  function write (v: unknown): string {
    if (typeof v === 'string') return str(v)
    if (Array.isArray(v)) return '[' + ws() + v.map((x) => write(x)).join(ws() + ',' + ws()) + ws() + ']'
    if (v !== null && typeof v === 'object') return '{' + ws() + Object.entries(v).map(([k, x]) => str(k) + ws() + ':' + ws() + write(x)).join(',' + ws()) + ws() + '}'
    return JSON.stringify(v)
  }
  const actions: MaskAction[] = ['redact', 'remove', 'null', 'hash', 'last4']
  const tokens = ['a', 'b', 'c', 'k~11', 'é', '*', '*', '*', '0', '1', '2']
  let compared = 0
  let touched = 0
  let inPlaceRounds = 0
  for (let round = 0; round < 3000; round++) {
    const doc = { a: value(0), b: value(0), c: [value(1), value(1), value(1)] }
    const body = write(doc)
    const rules: MaskRule[] = Array.from({ length: 1 + rnd(4) }, () => ({
      path: '/' + Array.from({ length: 1 + rnd(3) }, () => tokens[rnd(tokens.length)]).join('/'),
      action: actions[rnd(actions.length)]!,
    }))
    const r = maskJsonText(Buffer.from(body), compileMaskRules(rules), { hashKey, maxDepth: 128, scanner })
    if (!r.ok) { t.fail(`refused: ${r.reason}`); continue }
    const want = applyMask(JSON.parse(body), compileMaskRules(rules), { hashKey })
    const got = JSON.parse(r.body.toString()) as unknown
    if (JSON.stringify(got) !== JSON.stringify(want.value) || JSON.stringify([r.masked, r.erased]) !== JSON.stringify([want.masked, want.erased])) {
      t.fail('differs from applyMask', { body, rules, got, want: want.value, lists: [r.masked, r.erased], wantLists: [want.masked, want.erased] })
      break
    }
    const quick = maskJsonText(Buffer.from(body), compileMaskRules(rules), { hashKey, maxDepth: 128, lists: false, scanner })
    if (!quick.ok || !quick.body.equals(r.body)) { t.fail('without lists the body differs', { body, rules }); break }
    // Written over the body: the same bytes, whether the output stays behind the reading
    // position throughout or passes it (a replacement longer than the value) and moves out.
    const scratch = Buffer.alloc(Buffer.byteLength(body), body) // not from the shared pool
    const inPlace = maskJsonText(scratch, compileMaskRules(rules), { hashKey, maxDepth: 128, lists: false, inPlace: true, scanner })
    if (!inPlace.ok || !inPlace.body.equals(r.body)) { t.fail('masked in place, the body differs', { body, rules, got: inPlace.ok ? inPlace.body.toString() : inPlace }); break }
    if (inPlace.body.buffer === scratch.buffer && r.masked.length + r.erased.length > 0) inPlaceRounds++
    compared++
    if (r.masked.length + r.erased.length > 0) touched++
    else if (!r.body.equals(Buffer.from(body))) { t.fail('nothing masked, yet the bytes changed', { body, out: r.body.toString() }); break }
  }
  t.equal(compared, 3000, 'every round compared with applyMask')
  t.ok(touched > 500, `${touched} rounds masked something`)
  t.ok(inPlaceRounds > 300 && inPlaceRounds < touched, `${inPlaceRounds} rounds masked entirely in place, the rest moved to a buffer of their own`)
})

t.test('refusals: a body broken at a random place, or nested too deeply, is refused alike whether rules reach into it or not', async (t) => {
  // Containers no rule reaches are validated by a separate loop (skipContainer): it must accept
  // and refuse exactly what JSON.parse does, with the same first error as the full scanner.
  let seed = 987654
  const rnd = (n: number): number => { seed ^= seed << 13; seed ^= seed >>> 17; seed ^= seed << 5; return (seed >>> 0) % n }
  const pieces = ['{', '}', '[', ']', ',', ':', '"', '\\', '\\u12', '1', '-', '.', 'e', 'tru', 'null', ' ', '\u0001', '"a"', '0x1', '01']
  const base = [
    '{"a": [1, {"b": "x", "c": [true, null, -1.5e3]}], "b": {"a": {"a": "\\u0073sn"}}, "c": [[[]], {}, "y"]}',
    '[{"a": 1, "b": [2, 3]}, [{"c": {"d": "e"}}], "s\\"q", 12345678901234567891]',
    '{"ssn": {"inner": [{"ssn": "1"}, "ssn"]}, "x": "\\"ssn\\": 1"}',
    // Keys longer than a vector step, escapes past it (skipContainer scans keys a byte at a time).
    '{"q": {"a_rather_long_key_name_\\u0041bc": {"another_long_key_with_a_\\"quote": [1, "a_long_value_string_\\n_with_escape"]}, "k": {"\\\\": "v"}}}',
  ]
  const everywhere = compileMaskRules([{ path: '/' + Array(12).fill('*').join('/'), action: 'redact' }]) // reaches inside every container, matches nothing here
  const nowhere = compileMaskRules([{ path: '/zz', action: 'redact' }]) // reaches inside no container
  const some = compileMaskRules([{ path: '/a/*/c', action: 'null' }, { path: '/0/b', action: 'remove' }, { path: '/ssn/inner/0/ssn', action: 'redact' }])
  let refused = 0
  let deep = 0
  for (let round = 0; round < 4000; round++) {
    let text = base[rnd(base.length)]!
    for (let k = rnd(3); k >= 0; k--) {
      const at = rnd(text.length + 1)
      const op = rnd(3)
      if (op === 0) text = text.slice(0, at) + text.slice(at + 1 + rnd(3))
      else if (op === 1) text = text.slice(0, at) + pieces[rnd(pieces.length)]! + text.slice(at)
      else text = text.slice(0, at) + pieces[rnd(pieces.length)]! + text.slice(at + 1)
    }
    const maxDepth = rnd(2) === 0 ? 128 : 1 + rnd(5)
    let parses = true
    try { JSON.parse(text) } catch { parses = false }
    const body = Buffer.from(text)
    // Each mask with the Wasm walk and with the JavaScript scanner alone.
    const results = [everywhere, nowhere, some].flatMap((m) => (['wasm', 'js'] as const).map((scanner) => maskJsonText(body, m, { hashKey, maxDepth, lists: false, scanner })))
    const reasons = results.map((r) => r.ok ? 'ok' : r.reason)
    if (new Set(reasons).size !== 1) { t.fail('the masks or the scanners disagree', { text, maxDepth, reasons }); break }
    const bodies = results.map((r) => r.ok ? r.body.toString('latin1') : '')
    if (bodies[4] !== bodies[5]) { t.fail('the scanners mask differently', { text, bodies }); break }
    if (reasons[0]!.startsWith('nesting')) { deep++; continue }
    if (parses !== results[0]!.ok) { t.fail('accepts what JSON.parse refuses, or the reverse', { text, reasons }); break }
    if (!results[2]!.ok) refused++
    else if (!results[2]!.body.equals(body) || !results[3]!.ok || !results[3].body.equals(body)) { t.fail('no rule matched, yet the bytes changed', { text }); break }
  }
  t.ok(refused > 1000 && refused < 3000 && deep > 300, `${refused} of 4000 refused as invalid, ${deep} as too deep`)
})

t.test('the Wasm walk: a body cut short is judged by its own bytes, whatever a longer body left after its end', async (t) => {
  // The walk reads past the body's end into zero padding instead of checking bounds. Each cut
  // of a body is walked right after the whole body, whose bytes past the cut would otherwise
  // be read: a valid cut (a number, trailing whitespace) must be accepted, the rest refused.
  const wholes = ['123456', '-12.5e+34 ', '{"a": [true, false, null, -12.5e+3, "s\\u0041\\n"], "b": {"c": "x"}, "d": 1}   ', '[1]\n\n\n', 'true  ', '"ab\\"c"  ']
  const rules = [compileMaskRules([{ path: '/zz', action: 'redact' }]), compileMaskRules([{ path: '/a/*', action: 'null' }, { path: '/b/c', action: 'redact' }])]
  let accepted = 0
  let refused = 0
  for (const m of rules) {
    for (const whole of wholes) {
      for (let cut = 1; cut <= whole.length; cut++) {
        const prefix = whole.slice(0, cut)
        let parses = true
        try { JSON.parse(prefix) } catch { parses = false }
        if (!maskJsonText(Buffer.from(whole), m, { hashKey, maxDepth: 8, lists: false }).ok) t.fail('whole body refused', { whole })
        const r = maskJsonText(Buffer.from(prefix), m, { hashKey, maxDepth: 8, lists: false })
        if (r.ok !== parses) t.fail(parses ? 'refused a valid cut' : 'accepted an invalid cut', { prefix })
        if (r.ok) accepted++
        else refused++
      }
    }
  }
  t.same([accepted, refused], [52, 176], 'valid cuts accepted, the rest refused')
})

t.test('the Wasm walk: bodies past its shared memory, and back, mask as the JavaScript scanner does', async (t) => {
  // Over 1 MiB a body gets an instance of its own; the shared one keeps serving smaller bodies.
  const rows = (n: number): string => '{"rows": [' + Array.from({ length: n }, (_, i) => `{"id": ${i}, "ssn": "123-45-${String(i).padStart(4, '0')}", "note": "x\\u0041${'y'.repeat(i % 40)}"}`).join(',\n') + ']}'
  const rules = compileMaskRules([{ path: '/rows/*/ssn', action: 'last4' }, { path: '/rows/*/note', action: 'remove' }])
  for (const n of [3, 30_000, 40, 20_000, 5]) {
    const body = Buffer.from(rows(n))
    const wasm = maskJsonText(body, rules, { hashKey, maxDepth: 8, lists: false })
    const js = maskJsonText(body, rules, { hashKey, maxDepth: 8, lists: false, scanner: 'js' })
    if (!wasm.ok || !js.ok) { t.fail('refused', { n }); continue }
    t.ok(wasm.body.equals(js.body), `${body.length} bytes: the same masked body`)
    const doc = JSON.parse(wasm.body.toString()) as { rows: { ssn: string, note?: string }[] }
    t.same([doc.rows.length, doc.rows[n - 1]!.ssn, doc.rows.some((r) => 'note' in r)], [n, '****' + String(n - 1).padStart(4, '0').slice(-4), false])
  }
  // A broken body past the limit is refused like a small one.
  const broken = Buffer.from(rows(30_000).slice(0, -2))
  t.same(maskJsonText(broken, rules, { hashKey, maxDepth: 8, lists: false }), { ok: false, reason: 'body is not valid JSON' })
  t.same(maskJsonText(Buffer.from(rows(30_000)), rules, { hashKey, maxDepth: 2, lists: false }), { ok: false, reason: 'nesting is deeper than 2 levels' })
})

t.test('the Wasm walk: more edits than its first guess of room, replacements from JavaScript among them', async (t) => {
  // Room for edits starts at 64 + 1 per 32 bytes; these bodies need one or two edits per element,
  // so the walk runs out, gets more room and starts over (the texts JavaScript supplied with it).
  const elements = (n: number): string => '[' + Array.from({ length: n }, (_, i) => i % 3 === 0 ? `{"k": "v${i}"}` : `"s${i}"`).join(',') + ']'
  const cases: MaskRule[][] = [
    [{ path: '/*', action: 'redact' }],
    [{ path: '/*', action: 'hash' }],
    [{ path: '/*/k', action: 'remove' }, { path: '/*', action: 'last4' }],
    [{ path: '/*', action: 'remove' }],
  ]
  for (const rules of cases) {
    const body = Buffer.from(elements(6000))
    const wasm = maskJsonText(body, compileMaskRules(rules), { hashKey, maxDepth: 8, lists: false })
    const js = maskJsonText(body, compileMaskRules(rules), { hashKey, maxDepth: 8, lists: false, scanner: 'js' })
    t.ok(wasm.ok && js.ok && wasm.body.equals(js.body), `${JSON.stringify(rules)}: the same body`)
    const want = applyMask(JSON.parse(body.toString()), compileMaskRules(rules), { hashKey }).value
    t.same(wasm.ok ? JSON.parse(wasm.body.toString()) : null, want, 'as applyMask has it')
  }
})

t.test('the Wasm walk: a value to hash nested too deeply is refused with the reason the JavaScript scanner gives', async (t) => {
  const deep = (n: number): string => '{"a": ' + '['.repeat(n) + '1' + ']'.repeat(n) + ', "b": "x"}'
  const rules = compileMaskRules([{ path: '/a', action: 'hash' }])
  for (const n of [10, 600]) {
    const body = Buffer.from(deep(n))
    const [wasm, js] = (['wasm', 'js'] as const).map((scanner) => maskJsonText(body, rules, { hashKey, maxDepth: 1000, lists: false, scanner }))
    t.same(wasm, js, `${n} levels: the same result`)
    if (n === 600) t.same(wasm, { ok: false, reason: 'a value to hash is nested deeper than 512 levels' })
    else t.match(wasm, { ok: true })
  }
  // The walk's instance serves the next body as usual.
  const again = maskJsonText(Buffer.from('{"a": [1, 2], "b": 3}'), rules, { hashKey, maxDepth: 8, lists: false })
  t.ok(again.ok && JSON.parse(again.body.toString()).a.startsWith('hmac-sha256:'), 'and the next body is masked')
})

t.test('the Wasm walk: rules as deep as a pointer may be (128 segments) reach their values', async (t) => {
  const nested = (n: number, open: string, close: string, leaf: string): string => open.repeat(n) + leaf + close.repeat(n)
  const cases: [string, MaskRule[]][] = [
    [nested(128, '{"a": ', '}', '"x"'), [{ path: '/' + Array(128).fill('a').join('/'), action: 'redact' }]],
    [nested(128, '[', ']', '"x"'), [{ path: '/' + Array(128).fill('*').join('/'), action: 'last4' }]],
    [nested(127, '{"a": ', '}', '{"a": "x", "b": 1}'), [{ path: '/' + Array(128).fill('a').join('/'), action: 'remove' }]],
  ]
  for (const [text, rules] of cases) {
    const body = Buffer.from(text)
    const [wasm, js] = (['wasm', 'js'] as const).map((scanner) => maskJsonText(body, compileMaskRules(rules), { hashKey, maxDepth: 200, lists: false, scanner }))
    t.ok(wasm.ok && js.ok && wasm.body.equals(js.body) && !wasm.body.equals(body), `${rules[0]!.action} at depth 128: masked, as the JavaScript scanner masks it`)
  }
})

t.test('an index past 2^31 in a rule is a key only: it never stands for element 0 (the Wasm walk wrapped it) nor hides another rule', async (t) => {
  const body = Buffer.from('{"customers":[{"name":"Ann","ssn":"123-45-6789"}],"m":{"4294967296":"x"}}')
  const mask = compileMaskRules([
    { path: '/customers/4294967296/name', action: 'redact' },
    { path: '/customers/0/ssn', action: 'redact' },
    { path: '/m/4294967296', action: 'redact' },
  ])
  for (const scanner of ['wasm', 'js'] as const) {
    const r = maskJsonText(body, mask, { maxDepth: 128, lists: false, scanner })
    t.ok(r.ok)
    t.equal(r.ok && r.body.toString(), '{"customers":[{"name":"Ann","ssn":"[REDACTED]"}],"m":{"4294967296":"[REDACTED]"}}', `${scanner}: element 0 by its own rule only; the long index still names an object key`)
  }
  const removeAt = compileMaskRules([{ path: '/customers/4294967296', action: 'remove' }])
  const r = maskJsonText(body, removeAt, { maxDepth: 128, lists: false })
  t.equal(r.ok && r.body.toString(), body.toString(), 'nothing removed')
})

t.test('rules whose matches multiply per level (review, session 53): linear for index paths, the JavaScript scanner past the walk table\'s limit; the same masked bytes', async (t) => {
  const proxyMask = (body: string, rules: MaskRule[], scanner?: 'js') => {
    const r = maskJsonText(Buffer.from(body), compileMaskRules(rules), { hashKey, maxDepth: 128, lists: false, ...(scanner === undefined ? {} : { scanner }) })
    if (!r.ok) throw new Error(r.reason)
    return r.body.toString('utf8')
  }
  // `/0/0/…/0`: an index and its key built a match each, and each its own child: 2^k dispatches
  // (k = 24 blocked the event loop for a minute, then V8 ran out of memory).
  const k = 100
  const deep = '['.repeat(k) + '"secret"' + ']'.repeat(k)
  const indexRule: MaskRule[] = [{ path: '/' + Array(k).fill('0').join('/'), action: 'redact' }]
  t.equal(proxyMask(deep, indexRule), '['.repeat(k) + '"[REDACTED]"' + ']'.repeat(k))
  t.equal(proxyMask('{"ok":1}', indexRule), '{"ok":1}')
  // n rules, each with its key at another level and wildcards elsewhere: every subset of them
  // is a reachable rule set (2^n dispatches), more than the walk's table holds.
  const n = 16
  const rules: MaskRule[] = Array.from({ length: n }, (_, i) => ({ path: '/' + Array.from({ length: n }, (_, j) => (j === i ? 'x' : '*')).join('/'), action: 'redact' as MaskAction }))
  let body = '"leaf"'
  for (let d = n - 1; d >= 0; d--) body = `{"x":${body},"y":${d === n - 1 ? '"other"' : body}}`
  const viaWalkOrFallback = proxyMask(body, rules)
  t.equal(viaWalkOrFallback, proxyMask(body, rules, 'js'), 'the same bytes as the JavaScript scanner')
  t.same(JSON.parse(viaWalkOrFallback), applyMask(JSON.parse(body), compileMaskRules(rules)).value, 'and as applyMask')
})
