// crypto.* (standard test vectors: FIPS 180, RFC 1321, RFC 2202, RFC 4231), base64.is_valid,
// urlquery.*, json.marshal_with_options.
import t from 'tap'
import { E, table, V, type Want } from './helpers.js'

const DATA = 'what do ya want for nothing?'

t.test('crypto', async t => {
  await table(t, [
    ['crypto.md5("")', V('d41d8cd98f00b204e9800998ecf8427e')],
    ['crypto.md5("abc")', V('900150983cd24fb0d6963f7d28e17f72')],
    ['crypto.sha1("abc")', V('a9993e364706816aba3e25717850c26c9cd0d89d')],
    ['crypto.sha256("abc")', V('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad')],
    ['crypto.sha512("abc")', V('ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f')],
    ['crypto.sha256("é")', V('4a99557e4033c3539de2eb65472017cad5f9557f7a0625a09f1c3f6e2ba69c4c')], // UTF-8 bytes c3 a9
    [`crypto.hmac.md5(${JSON.stringify(DATA)}, "Jefe")`, V('750c783e6ab0b503eaa86e310a5db738')],
    [`crypto.hmac.sha1(${JSON.stringify(DATA)}, "Jefe")`, V('effcdf6ae5eb2fa2d27416d5f184df9c259a7c79')],
    [`crypto.hmac.sha256(${JSON.stringify(DATA)}, "Jefe")`, V('5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843')],
    [`crypto.hmac.sha512(${JSON.stringify(DATA)}, "Jefe")`, V('164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea2505549758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737')],
    ['crypto.hmac.equal("abc", "abc")', V(true)],
    ['crypto.hmac.equal("abc", "abd")', V(false)],
    ['crypto.hmac.equal("abc", "abcd")', V(false)],
    ['crypto.sha256(input.n)', E(/^eval_type_error: crypto\.sha256: operand 1 must be string but got number$/)],
    ['crypto.hmac.sha256("x", input.n)', E(/^eval_type_error: crypto\.hmac\.sha256: operand 2 must be string but got number$/)],
  ], { n: 1 })
})

t.test('strict errors with text that is not ASCII read back as UTF-8', async t => {
  // The SDK reads the runtime's abort message as signed chars: "é" came out "\uffc3\uffa9"
  // (review helper, 2026-12-07). OPA pads base64url by the length in bytes: "_gé_" is 5.
  await table(t, [
    ['base64url.decode("_gé_")', E(/^eval_builtin_error: base64url\.decode: illegal base64url string: _gé_$/)],
    ['to_number("é")', E(/^eval_builtin_error: to_number: strconv\.ParseFloat: parsing "é": invalid syntax$/)],
  ])
})

t.test('base64.is_valid (Go StdEncoding)', async t => {
  await table(t, [
    ['base64.is_valid("YWJj")', V(true)],
    ['base64.is_valid("YW==")', V(true)],
    ['base64.is_valid("YWJj\\n")', V(true)],
    ['base64.is_valid("YWJ")', V(false)],
    ['base64.is_valid("Y===")', V(false)],
    ['base64.is_valid("YW-_")', V(false)],
    ['base64.is_valid("")', V(true)],
  ])
})

t.test('urlquery (Go net/url)', async t => {
  await table(t, [
    ['urlquery.encode("a b&c=d/é~_.-")', V('a+b%26c%3Dd%2F%C3%A9~_.-')],
    ['urlquery.decode("a+b%26c%3Dd%2F%C3%A9")', V('a b&c=d/é')],
    ['urlquery.decode("%zz")', E(/^eval_builtin_error: urlquery\.decode: invalid URL escape "%zz"$/)],
    ['urlquery.encode_object({"d": ["e", "f g"], "a": "b&c"})', V('a=b%26c&d=e&d=f+g')],
    ['urlquery.encode_object({"a": {"x"}})', V('a=x')],
    ['urlquery.encode_object({"a": 1})', E(/^eval_type_error: urlquery\.encode_object: operand 1 must be/)],
    ['urlquery.decode_object("a=1&b=2&a=3")', V({ a: ['1', '3'], b: ['2'] })],
    ['urlquery.decode_object("a&b=x+y")', V({ a: [''], b: ['x y'] })],
    ['urlquery.decode_object("a=%zz")', E(/invalid URL escape "%zz"/)],
  ])
})

t.test('json.marshal_with_options (Go json.MarshalIndent)', async t => {
  await table(t, [
    ['json.marshal_with_options({"b": [1, 2], "a": "<"}, {"pretty": true})', V('{\n\t"a": "\\u003c",\n\t"b": [\n\t\t1,\n\t\t2\n\t]\n}')],
    // the prefix starts every line, the first too (OPA adds it where Go's MarshalIndent does not)
    ['json.marshal_with_options({"a": [1]}, {"indent": "  ", "prefix": "> "})', V('> {\n>   "a": [\n>     1\n>   ]\n> }')],
    ['json.marshal_with_options([], {"indent": "    ", "prefix": "---"})', V('---[]')],
    ['json.marshal_with_options({"a": [1]}, {"pretty": false, "indent": "  "})', V('{"a":[1]}')],
    ['json.marshal_with_options([], {"pretty": true})', V('[]')],
    ['json.marshal_with_options({}, {"foo": 1})', E(/^eval_type_error: json\.marshal_with_options: object contained unknown key "foo"$/)],
  ])
})

// OPA's strings are Go byte strings: decoding invalid UTF-8 keeps the bytes (held as U+DC00+byte
// in Bouncer), so distinct bytes stay distinct (a MAC compare cannot be forged with bytes that
// all became U+FFFD) and hashes/encoders see the bytes. Expected values are OPA's.
t.test('invalid UTF-8 bytes from decoders stay bytes', async t => {
  await table(t, [
    ['base64.decode("/w==") == base64.decode("/g==")', V(false)],
    ['hex.decode("ff") == hex.decode("fe")', V(false)],
    ['urlquery.decode("%C3") == urlquery.decode("%FF")', V(false)],
    ['base64.decode("/w==") == "\\ufffd"', V(false)],
    ['urlquery.decode("%FF") == hex.decode("ff")', V(true)], // host-made and native bytes are the same
    // ...by Go's rules of which bytes are invalid (overlong, surrogate, past U+10FFFF, cut short)
    ...['e08080', 'eda080', 'f4908080', 'f09f98', 'c3a9ff', 'f09f9880'].map((h): [string, Want] =>
      [`urlquery.decode(${JSON.stringify(h.replace(/../g, '%$&'))}) == hex.decode(${JSON.stringify(h)})`, V(true)]),
    ['count(urlquery.decode("%E0%80%80"))', V(3)],
    ['crypto.hmac.equal(hex.decode("ff"), hex.decode("fe"))', V(false)],
    ['crypto.hmac.equal(hex.decode("ff"), urlquery.decode("%FF"))', V(true)],
    ['crypto.sha256(hex.decode("ff"))', V('a8100ae6aa1940d0b663bb31cd466142ebbdbd5187131b92d93818987832eb89')],
    ['crypto.md5(hex.decode("ff"))', V('00594fd4f42ba43fc1ca0427a0576295')],
    ['crypto.sha1(hex.decode("ff"))', V('85e53271e14006f0265921d02d4d736cdc580b0b')],
    ['crypto.sha512(hex.decode("fffe"))', V('98c5f56f3de340690c139e58eb7dac111979f0d4dffe9c4b24ff849510f4b6ffa9fd608c0a3de9ac3c9fd2190f0efaf715309061490f9755a9bfdf1c54ca0d84')],
    ['crypto.hmac.sha1(hex.decode("80"), hex.decode("ff"))', V('909ce5472d7e3450b1e6baa7ead9be3810a8350c')],
    ['crypto.sha256("\\ufffd") == crypto.sha256(hex.decode("ff"))', V(false)],
    ['hex.encode(hex.decode("ff"))', V('ff')],
    ['base64.encode(base64.decode("gA=="))', V('gA==')],
    ['urlquery.encode(urlquery.decode("%FF"))', V('%FF')],
    ['hex.encode(urlquery.decode("%FFa%C3%A9"))', V('ff61c3a9')],
    ['urlquery.encode_object({"k": hex.decode("ff")})', V('k=%FF')],
    ['base64url.encode(hex.decode("fffe"))', V('__4=')],
    ['base64url.encode_no_pad(hex.decode("fffe"))', V('__4')],
    ['count(hex.decode("ff41"))', V(2)],
    // how such a byte leaves: Go's encoding/json writes \ufffd (six characters)
    ['json.marshal(hex.decode("ff"))', V('"\\ufffd"')],
    ['json.marshal_with_options([hex.decode("ff")], {"pretty": false})', V('["\\ufffd"]')],
    ['hex.decode("ff")', V('\ufffd')],
    // a lone-surrogate escape in a literal is U+FFFD, as Go reads it
    ['hex.encode("\\udcff")', V('efbfbd')],
  ])
})

t.test('pemDecode: blocks found as Go finds them, and repeated BEGIN lines without an END read in one pass', async (t) => {
  const { pemDecode } = await import('../../../src/policy/builtins/pem.js')
  t.equal(pemDecode('-----BEGIN A-----\n-----BEGIN B-----\nAAAA\n-----END B-----\n')?.type, 'B', 'a BEGIN without its END is skipped')
  t.equal(pemDecode('x\n-----BEGIN A-----\nAAAA\n-----END A-----\ntail')?.rest, 'tail')
  t.equal(pemDecode('-----BEGIN A-----\nAAAA\n-----END A----- x\n-----BEGIN A-----\nAAAA\n-----END A-----\n')?.der.length, 3, 'an END line with more on it is not an end; the next block is read')
  // 1 MB of BEGIN lines: each searched the rest of the text for its END before (11 s).
  t.equal(pemDecode('-----BEGIN A-----\n'.repeat(58254)), null)
})
