// crypto.* (standard test vectors: FIPS 180, RFC 1321, RFC 2202, RFC 4231), base64.is_valid,
// urlquery.*, json.marshal_with_options.
import t from 'tap'
import { E, table, V } from './helpers.js'

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
