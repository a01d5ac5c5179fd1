import t from 'tap'
import { compareDecimals, isRawJson, losesDigits, mayLoseDigits, parseJsonExact, rawJsonText } from '../src/exact-json.js'
import { canonicalJson as cacheCanonical } from '../src/cache/canonical-json.js'
import { canonicalJson as logCanonical, sealEvent } from '../src/decision-log/index.js'
import { computeHash } from '../src/decision-log/chain.js'
import { applyMask, compileMaskRules, maskJsonText } from '../src/masking/index.js'
import { canonicalJson as maskCanonical } from '../src/masking/json.js'
import { hashValue, last4 } from '../src/masking/actions.js'
import { eraseKeysDeep, compileNameMatcher } from '../src/decision-log/erase.js'
import { compileInputView } from '../src/proxy/projection.js'

const BIG = '9007199254740993' // 2^53 + 1: a double reads 9007199254740992

t.test('parseJsonExact keeps integers past 2^53 as their digits, and numbers in a form JavaScript would print otherwise', async (t) => {
  const v = parseJsonExact(`{"a": ${BIG}, "b": [-${BIG}, 9007199254740991, 1.5, 1e300, 12345678901234567890123], "c": "${BIG}"}`) as Record<string, unknown[] | unknown>
  t.ok(isRawJson(v.a), 'an unsafe integer is raw')
  t.equal(JSON.stringify(v), `{"a":${BIG},"b":[-${BIG},9007199254740991,1.5,1e300,12345678901234567890123],"c":"${BIG}"}`, 'JSON.stringify writes the digits back')
  const b = v.b as unknown[]
  t.ok(isRawJson(b[0]), 'negative too')
  t.equal(b[1], 9007199254740991, 'the largest safe integer stays a number')
  t.equal(b[2], 1.5, 'fractions stay numbers')
  t.ok(isRawJson(b[3]), 'an exponent form is its text (JavaScript prints 1e+300; OPA keeps 1e300)')
  const far = parseJsonExact('[1e400, -2E+308, 1e-400, 1.7976931348623157e308]') as unknown[]
  t.ok(isRawJson(far[0]) && isRawJson(far[1]), 'past the double range: the text (JSON.parse gives Infinity, written as null)')
  t.ok(isRawJson(far[2]), 'an underflow is the text: JSON.parse gives 0, and in OPA 1e-400 > 0')
  t.equal(JSON.stringify(far), '[1e400,-2E+308,1e-400,1.7976931348623157e308]', 'the largest double as written')
  t.equal(rawJsonText(far[0] as { rawJSON: string }), '1e400', 'canonical text: as written')
  t.ok(isRawJson(b[4]), 'past 64 bits: still the digits')
  t.equal(v.c, BIG, 'strings are strings')
  t.same(parseJsonExact('{"a": 1, "b": [2.5, "x"]}'), { a: 1, b: [2.5, 'x'] }, 'ordinary JSON is JSON.parse\'s value')
  t.notOk(mayLoseDigits('{"a": 900719925474099}'), 'fifteen digits: plain JSON.parse is exact')
  t.ok(mayLoseDigits(`{"a": ${BIG}}`))
  t.ok(mayLoseDigits(`[1,\n -${BIG}]`) && mayLoseDigits(` ${BIG}`) && mayLoseDigits(`[${BIG}]`), 'after ",", "[" and at the start')
  t.notOk(mayLoseDigits('{"card": "4111111111111111"}'), 'sixteen digits in a string: plain JSON.parse')
  t.ok(mayLoseDigits('{"a": 1e400}') && mayLoseDigits('[2.5E-400]'), 'a three-digit exponent')
  t.ok(mayLoseDigits('{"a": 1e99}') && mayLoseDigits('[-2.5E-10]'), 'an exponent: the text is kept')
  t.ok(isRawJson(parseJsonExact(BIG)), 'a top-level number too')
  t.equal(JSON.stringify(parseJsonExact(`\t${BIG} `)), BIG)
  t.throws(() => parseJsonExact(`{"a": ${BIG}`), SyntaxError, 'malformed JSON throws as JSON.parse does')
  const neg = (parseJsonExact(`[-${BIG}]`) as unknown[])[0]
  t.equal(isRawJson(neg) ? rawJsonText(neg) : neg, `-${BIG}`, 'canonical text: the digits')
  t.equal(rawJsonText({ rawJSON: '-0' }), '0', 'canonical: -0 is 0')
})

t.test('parseJsonExact keeps fractions with more digits than a double keeps', async (t) => {
  const v = parseJsonExact('[1000.00000000000000001, 0.1234567890123456789, 0.30000000000000004, 1.50000000000000000000, 123456789.1234567, 0.0000000000000001, -1000.00000000000000001]') as unknown[]
  t.ok(isRawJson(v[0]) && isRawJson(v[1]) && isRawJson(v[6]), 'a double would read 1000 (so 1000.00000000000000001 <= 1000 would hold; in OPA it does not)')
  t.equal(JSON.stringify(v), '[1000.00000000000000001,0.1234567890123456789,0.30000000000000004,1.50000000000000000000,123456789.1234567,0.0000000000000001,-1000.00000000000000001]',
    'written back as read')
  t.equal(v[2], 0.30000000000000004, "a double's own shortest form stays a number")
  t.equal(v[4], 123456789.1234567)
  t.equal(rawJsonText(v[0] as { rawJSON: string }), '1000.00000000000000001', 'canonical text: as written (no shorter form is exact)')
  t.not(cacheCanonical(v[0]), cacheCanonical(1000), 'its cache key is not that of 1000')
  t.ok(mayLoseDigits('{"amount": 1000.00000000000000001}') && mayLoseDigits('[0.1234567890123456789]'), 'sixteen digits in a fraction: the exact path')
  t.notOk(mayLoseDigits('{"amount": 1000.000000001, "b": 0.12345}'), 'short fractions: plain JSON.parse')
  t.equal(losesDigits('2.5'), false)
  t.equal(losesDigits('1e30'), false, '1e30 is what its double prints as')
  t.equal(losesDigits('9007199254740993.0'), true, 'an integral fraction past 2^53')
  t.equal(compareDecimals('1e400', '1e399'), 1)
  t.equal(compareDecimals('-0.05', '-0.5'), 1)
  t.equal(compareDecimals('-0', '0.0e7'), 0)
  t.equal(compareDecimals('3.50', '35E-1'), 0)
  t.equal(compareDecimals('1e-400', '0'), 1)
})

t.test('a number written otherwise than JavaScript prints it keeps its text (OPA json.Number)', async (t) => {
  const v = parseJsonExact('{"a": 1.0, "b": 1.5, "c": "1.0", "d": -0, "e": 1E5, "f": 0.50, "g": 0.0000001, "h": 0.000001, "i": 22}') as Record<string, unknown>
  t.equal(JSON.stringify(v), '{"a":1.0,"b":1.5,"c":"1.0","d":-0,"e":1E5,"f":0.50,"g":0.0000001,"h":0.000001,"i":22}', 'written back as read')
  for (const k of ['a', 'd', 'e', 'f', 'g']) t.ok(isRawJson(v[k]), `${k}: its text`)
  t.same([v.b, v.c, v.h, v.i], [1.5, '1.0', 0.000001, 22], 'what JavaScript prints as written stays a number; a string stays a string')
  for (const text of ['{"a": 1.0}', '[-1.0]', '{"a":0.50}', '[1e2]', '[-0]', '[0.0000001]']) t.ok(mayLoseDigits(text), `${text}: the exact path`)
  for (const text of ['{"v": "1.0"}', '[1.05]', '[0.000001]', '[10]', '{"a": 1.5, "b": -0.25}']) t.notOk(mayLoseDigits(text), `${text}: plain JSON.parse`)
  // The policy can tell 22.0 from 22 (json.marshal, sprintf's %d, arr[1.0]): the evaluation
  // input and the cache key keep the text. The decision log's chain hashes the value (22), so a
  // receiver that re-serialises the number still verifies.
  const x = parseJsonExact('{"port": 22.0}')
  const y = parseJsonExact('{"port": 22}')
  t.equal(cacheCanonical(x), '{"port":22.0}', 'cache key and evaluation input: as written')
  t.not(cacheCanonical(x), cacheCanonical(y), '22.0 and 22 have different cache keys')
  t.equal(logCanonical(x), logCanonical(y), 'the decision-log hash reads the value')
  t.equal(rawJsonText((x as { port: { rawJSON: string } }).port), '22')
})

t.test('every canonical serialiser writes the digits', async (t) => {
  const doc = parseJsonExact(`{"z": 1, "id": ${BIG}, "list": [${BIG}]}`) as Record<string, unknown>
  const want = `{"id":${BIG},"list":[${BIG}],"z":1}`
  t.equal(cacheCanonical(doc), want, 'cache key')
  t.equal(logCanonical(doc), want, 'decision-log chain')
  t.equal(maskCanonical(doc), want, 'masking (hash of a container)')
  t.not(cacheCanonical(parseJsonExact('{"id": 9007199254740992}')), cacheCanonical(doc), 'two ids a double merges have different cache keys')

  // The chain: the line carries the digits and its hash is the hash of the canonical text.
  const entry = sealEvent({ input: doc, path: 'p' }, 1, '0'.repeat(64))
  t.match(entry.line, `"input":${want}`)
  const reread = parseJsonExact(entry.line) as Record<string, unknown>
  t.equal(computeHash(reread), entry.hash, 'a line read back exactly has the hash it was sealed with')
  t.not(computeHash(JSON.parse(entry.line) as Record<string, unknown>), entry.hash, 'read as doubles, it would not (which is why verify-log reads exactly)')
})

t.test('the evaluator input view and erasure treat a raw integer as a value', async (t) => {
  const input = parseJsonExact(`{"parsed_body": {"account": ${BIG}, "token": "s"}}`) as Record<string, unknown>
  const view = compileInputView([['parsed_body', 'account', 'x']])
  t.equal(view.text(input), `{"parsed_body":{"account":${BIG}}}`, 'a path into a number: the number itself, not an object')
  const erased: string[] = []
  const out = eraseKeysDeep((input as { parsed_body: unknown }).parsed_body, compileNameMatcher(['token', 'rawJSON']), '/input/parsed_body', erased)
  t.same(erased, ['/input/parsed_body/token'], 'the raw value\'s internal key is never a member')
  t.equal(JSON.stringify(out), `{"account":${BIG}}`)
})

t.test('masking a raw integer uses its digits', async (t) => {
  const key = Buffer.alloc(32, 7)
  const big = (parseJsonExact(`[${BIG}]`) as unknown[])[0]
  t.equal(last4(big, '****'), '****0993', 'last4 of the digits')
  t.equal(hashValue(big, key), hashValue(BIG, key), 'hash of an integer hashes its digits (as 42 and "42" hash alike)')
  // The parsed-document masker (decision-log mask rules) and the byte-level masker agree.
  const rules = compileMaskRules([{ path: '/card', action: 'last4' }, { path: '/id/*', action: 'redact' }])
  const doc = parseJsonExact(`{"card": ${BIG}, "id": ${BIG}}`)
  const masked = applyMask(doc, rules, {})
  t.equal(JSON.stringify(masked.value), `{"card":"****0993","id":${BIG}}`, 'a wildcard does not reach inside a number')
  const text = maskJsonText(Buffer.from(`{"card": ${BIG}, "id": ${BIG}}`), rules, { maxDepth: 16 })
  t.ok(text.ok)
  if (text.ok) t.equal(text.body.toString(), `{"card": "****0993", "id": ${BIG}}`)
})
