import t from 'tap'
import { parseStrictJson, canonicalJson } from '../../src/masking/index.js'

const parse = (s: string | Uint8Array, depth = 128) => parseStrictJson(typeof s === 'string' ? Buffer.from(s) : s, depth)

t.test('valid JSON parses like JSON.parse', async (t) => {
  const samples = [
    '{}', '[]', '1', '"s"', 'null', ' {"a": [1, {"b": "c"}], "d": {"e": null}} ',
    '{"a":{"a":{"a":1}},"b":{"a":2}}', // the same key in different objects is fine
    '[{"k":1},{"k":2}]',
    '{"q":"a \\" quote","q2":"\\\\","q3":"\\\\\\"x"}', // escaped quotes and backslashes before quotes
    '{"a\\\\":1,"a":2}', // "a\" and "a" differ
    '{"k":"{\\"k\\":1}"}', // JSON text inside a string is not structure
  ]
  for (const s of samples) {
    const r = parse(s)
    t.same(r, { ok: true, value: JSON.parse(s) }, s)
  }
})

t.test('a UTF-8 BOM is ignored', async (t) => {
  t.same(parse(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"a":1}')])), { ok: true, value: { a: 1 } })
})

t.test('duplicate keys are refused, including escaped spellings', async (t) => {
  for (const s of ['{"a":1,"a":2}', '{"a":1,"\\u0061":2}', '{"x":{"ssn":"1","b":2,"ssn":"2"}}', '[{"k":1,"k":1}]', '{"":1,"":2}', '{"a\\/b":1,"a/b":2}']) {
    const r = parse(s)
    t.equal(r.ok, false, s)
    if (!r.ok) t.match(r.reason, /duplicate object key at offset \d+/)
  }
})

t.test('keys equal ignoring case are refused as Go would read them as one (its case folding)', async (t) => {
  // ASCII case, the long s and the Kelvin sign (Go folds them to S and K), İ (Go: ToLower → i),
  // escaped spellings, nested objects.
  for (const s of ['{"role":"user","ROLE":"admin"}', '{"is":1,"iſ":2}', '{"kid":1,"\u212aid":2}', '{"İd":1,"id":2}', '{"Ab":1,"\u0061B":2}',
    '{"x":{"y":1,"Y":2}}', '[{"Σa":1,"σA":2}]']) {
    const r = parse(s)
    t.equal(r.ok, false, s)
    if (!r.ok) t.match(r.reason, /object key at offset \d+ equals another ignoring case/)
  }
  // Not the same: other objects, other letters, ß and ss (no simple case mapping between them).
  for (const s of ['{"a":{"k":1},"b":{"K":2}}', '{"a":1,"b":2}', '[{"k":1},{"K":2}]', '{"ß":1,"ss":2}', '{"é":1,"e":2}']) {
    t.equal(parse(s).ok, true, s)
  }
})

t.test('nesting depth is bounded before parsing', async (t) => {
  t.equal(parse('[[[1]]]', 3).ok, true, 'exactly at the bound')
  const r = parse('[[[[1]]]]', 3)
  t.same(r, { ok: false, reason: 'nesting is deeper than 3 levels' })
  const deep = '['.repeat(100_000) + ']'.repeat(100_000)
  t.same(parse(deep), { ok: false, reason: 'nesting is deeper than 128 levels' }, '100k levels refused without recursion')
  t.equal(parse('{"a":"' + '['.repeat(1000) + '"}', 2).ok, true, 'brackets inside strings are not nesting')
})

t.test('invalid UTF-8 and invalid JSON are refused without quoting the body', async (t) => {
  t.same(parse(Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xc3, 0x28, 0x22, 0x7d])), { ok: false, reason: 'body is not valid UTF-8' })
  t.same(parse(Buffer.from([0x22, 0xed, 0xa0, 0x80, 0x22])), { ok: false, reason: 'body is not valid UTF-8' }, 'encoded surrogate')
  t.same(parse(Buffer.from([0x22, 0xc0, 0xaf, 0x22])), { ok: false, reason: 'body is not valid UTF-8' }, 'overlong encoding')
  for (const s of ['{"ssn": 123-45-6789}', '{"a":1', '{"a":1}}', "{'a':1}", '{"a":1,}', 'NaN', '"unterminated']) {
    t.same(parse(s), { ok: false, reason: 'body is not valid JSON' }, s)
  }
})

t.test('canonicalJson sorts keys and refuses non-JSON values', async (t) => {
  t.equal(canonicalJson({ b: [1, { d: 1, c: 2 }], a: 'x', u: undefined }), '{"a":"x","b":[1,{"c":2,"d":1}]}')
  t.throws(() => canonicalJson(Number.NaN))
  t.throws(() => canonicalJson(10n))
  t.throws(() => canonicalJson([undefined]))
})
