// Numbers keep the text they were written with, as OPA's json.Number does: 1.0, 1e2 and 0.50
// print as written (json.Marshal, results, strings.render_template), and 1.0 is no integer
// operand (OPA's Number.Int fails for it: an array index or substring's position of 1.0 is
// undefined, sprintf's %d of it is "%!d(float64=1)"), while its value compares as 1. A number
// computed by arithmetic is OPA's big.Float Text('g', -1): 1.0 + 1 is 2, an integer again.
// Through real compiled policies; the inputs are read by exact-json as the proxy reads them.
import t from 'tap'
import { compileModules } from '../../src/compiler/index.js'
import { loadWasmPolicy } from '../../src/policy/eval/index.js'
import { parseJsonExact } from '../../src/exact-json.js'

async function evaluate (source: string, inputText: string): Promise<Record<string, unknown>> {
  const c = compileModules({ modules: [{ file: 'n.rego', source }], entrypoints: ['n'] })
  const p = await loadWasmPolicy(c.wasm)
  const rs = p.evaluate(parseJsonExact(inputText), 'n') as Array<{ result: Record<string, unknown> }>
  return rs[0]!.result
}

t.test('a number from the input keeps its text', async t => {
  const r = await evaluate(`package n
marshal := json.marshal(input)
d := sprintf("%d", [input.x])
v := sprintf("%v", [input.x])
idx := input.arr[input.x]
sub := substring("hello", input.x, 2)
rng := numbers.range(1, input.three)
eq if input.x == 1
member if input.x in {1}
sum := input.x + 1
sumd := sprintf("%d", [input.x + 1])
echo := input.x
big := input.big
`, '{"x": 1.0, "three": 3.0, "arr": [10, 20], "e": 1e2, "half": 0.50, "tiny": 0.0000001, "big": 9007199254740993}')
  t.equal(r.marshal, '{"arr":[10,20],"big":9007199254740993,"e":1e2,"half":0.50,"three":3.0,"tiny":0.0000001,"x":1.0}', 'json.marshal prints each number as written')
  t.equal(r.d, '%!d(float64=1)', "sprintf's %d of 1.0 is Go's %d of a float64")
  t.equal(r.v, '1', "sprintf's %v of 1.0 is the float64's shortest form")
  t.notOk('idx' in r, 'arr[1.0] is undefined (Array.Get needs Number.Int)')
  t.notOk('sub' in r, 'substring at 1.0 is an operand error (IntOperand)')
  t.same(r.rng, [1, 2, 3], 'numbers.range takes 3.0 (BigIntOperand: an integral big.Float)')
  t.equal(r.eq, true, '1.0 == 1')
  t.equal(r.member, true, '1.0 in {1}')
  t.equal(r.sum, 2, '1.0 + 1 is 2')
  t.equal(r.sumd, '2', "1.0 + 1 is an integer for sprintf's %d (FloatToNumber prints 2)")
  t.equal(JSON.stringify(r.echo), '1.0', 'the result carries 1.0 as written')
  t.equal(JSON.stringify(r.big), '9007199254740993', 'and a big integer exactly')
})

t.test('a number literal in the policy keeps its text', async t => {
  const r = await evaluate(`package n
marshal := json.marshal([1.0, 1e2, 0.50, 1.5, 0.0000001, 7])
d := sprintf("%d|%d", [1.0, 7])
idx := [10, 20][1.0]
less if 1.0 < 1.5
`, '{}')
  t.equal(r.marshal, '[1.0,1e2,0.50,1.5,0.0000001,7]')
  t.equal(r.d, '%!d(float64=1)|7')
  t.notOk('idx' in r, '[10, 20][1.0] is undefined')
  t.equal(r.less, true)
})

t.test('to_number keeps the text it parsed', async t => {
  const r = await evaluate(`package n
m := json.marshal([to_number("2.0"), to_number("2"), to_number("1e3")])
d := sprintf("%d", [to_number("2.0")])
`, '{}')
  t.equal(r.m, '[2.0,2,1e3]')
  t.equal(r.d, '%!d(float64=2)')
})

t.test("to_number reads Go's float syntax: underscores and hexadecimal floats", async t => {
  // OPA's to_number accepts what strconv.ParseFloat reads and keeps the text, which compares
  // and computes as big.Float reads it. A deny rule on the number must fire for "1_000" as in
  // OPA: here it was undefined, so the rule did not fire.
  const r = await evaluate(`package n
import rego.v1
deny contains s if { some s in input.limits; to_number(s) > 100 }
vals := json.marshal([to_number("0x1p4"), to_number("0x1.8p-1"), to_number("-0x_1p4"), to_number("0x1P+2"), to_number("0x.8p1"), to_number("0x1e2p0"), to_number("1_000.5_5"), to_number("1e1_0")])
rounded := json.marshal(to_number("0xffffffffffffffffffp0"))
tiny := [to_number("0x1p-1074") > 0, to_number("0x1p-1074") < 5e-324, to_number("0x1p-5000") > 0]
refused := [s | some s in ["0x10", "1__0", "_1", "1_", "0x1p1024", "0x_p1", "0x1.8.p1", "1_.5"]; to_number(s)]
`, '{"limits": ["1_000", "0x1p10", "99", "0x1.8p6"]}')
  t.same(r.deny, ['0x1p10', '1_000'], '1_000 and 0x1p10 (1024) are over the limit; 0x1.8p6 is 96')
  t.equal(r.vals, '[16,0.75,-16,4,1,482,1000.55,1e10]', 'as decimal text (OPA prints the text it was given)')
  t.equal(r.rounded, '4722366482869645213696', '72 one-bits round to 2^72 at big.Float\'s 64-bit mantissa')
  t.same(r.tiny, [true, true, true], '2^-1074 is exact, 2^-5000 stays above 0 (big.Float)')
  t.same(r.refused, [], 'no p exponent, misplaced underscores, past the doubles: ParseFloat errors')
})

t.test('strings.render_template prints numbers as written', async t => {
  const r = await evaluate(`package n
out := strings.render_template("{{.a}} {{.b}} {{.c}} {{.d}} {{.e}} {{.f}}", input)
`, '{"a": 9007199254740993, "b": 1e23, "c": 0.0000001, "d": 1.50, "e": 2, "f": 0.5}')
  t.equal(r.out, '9007199254740993 1e23 0.0000001 1.50 2 0.5', "OPA hands the template json.Numbers: each number's text")
})

t.test("a computed number is OPA's 64-bit big.Float and its FloatToNumber text", async t => {
  // OPA's abs of a non-integer is arithUnary: big.Float, printed with Text('g', -1); format_int
  // of a non-integer past int64 reads it through that 64-bit big.Float too (1e20, 9.3e40), but
  // an integer is formatted exactly since OPA PR #8857 (July 2026; before it,
  // 18446744073709551617 came out as ...616). Values from Go's math/big semantics, checked
  // against an independent Python model (Fraction, round half to even at 64 bits).
  const r = await evaluate(`package n
abs_frac := json.marshal([abs(-1234567.5), abs(-0.00001), abs(-1.5), abs(-3), abs(1.0)])
fmt_big := [format_int(18446744073709551617, 10), format_int(123456789012345678901234567890, 16), format_int(-9223372036854775809, 10), format_int(18446744073709551617, 16), format_int(-18446744073709551617, 2), format_int(1e20, 16), format_int(-15.9, 16)]
over := to_number("1e400")
under := to_number("1e-400") > 0
`, '{}')
  t.equal(r.abs_frac, '[1.2345675e+06,1e-05,1.5,3,1]')
  t.same(r.fmt_big, ['18446744073709551617', '18ee90ff6c373e0ee4e3f0ad2', '-9223372036854775809', '10000000000000001',
    '-10000000000000000000000000000000000000000000000000000000000000001', '56bc75e2d63100000', '-f'])
  t.notOk('over' in r, "to_number past the doubles is ParseFloat's range error (undefined)")
  t.equal(r.under, true, 'an underflow is no error in ParseFloat, and the number stays above 0')
})

t.test('json.marshal of an object with non-string keys is the Go map OPA makes of it', async t => {
  // ast.JSON turns each key into its JSON text (a later key with the same text replaces an
  // earlier one) and json.Marshal sorts the map's keys as strings.
  const r = await evaluate(`package n
dup := json.marshal({1: "a", "1": "b"})
order := json.marshal({"$x": 1, 5: 2, null: 3, "a": 4})
nested := json.marshal([{[1]: 2, "z": {true: 1}}])
plain := json.marshal({"b": 1, "a": 2})
`, '{}')
  t.equal(r.dup, '{"1":"b"}')
  t.equal(r.order, '{"$x":1,"5":2,"a":4,"null":3}')
  t.equal(r.nested, '[{"[1]":2,"z":{"true":1}}]')
  t.equal(r.plain, '{"a":2,"b":1}')
})

t.test('numbers.range and range_step past int64 step through big integers, as OPA', async t => {
  const r = await evaluate(`package n
up := numbers.range(9223372036854775807, 9223372036854775809)
down := numbers.range(18446744073709551617, 18446744073709551614)
neg := numbers.range_step(-9223372036854775809, -9223372036854775808, 1)
wide := numbers.range_step(1, 18446744073709551617, 9223372036854775807)
small := numbers.range(1, 3)
huge := numbers.range(0, 100000000000000000000)
`, '{}')
  const text = (v: unknown): string => JSON.stringify(v)
  t.equal(text(r.up), '[9223372036854775807,9223372036854775808,9223372036854775809]')
  t.equal(text(r.down), '[18446744073709551617,18446744073709551616,18446744073709551615,18446744073709551614]')
  t.equal(text(r.neg), '[-9223372036854775809,-9223372036854775808]')
  t.equal(text(r.wide), '[1,9223372036854775808,18446744073709551615]', 'a step that does not reach the end')
  t.same(r.small, [1, 2, 3])
  t.notOk('huge' in r, 'a range of 10^20 elements is "range too large" (undefined), not built')
})

t.test('host builtins read numbers as written: integer operands refuse 2.0, output keeps the text', async t => {
  // The SDK hands host builtins doubles; these read their arguments exactly (the builtin table's `exact` flag).
  // OPA: rand.intn, regex.find_n, regex.find_all_string_submatch_n and time.add_date take
  // IntOperands; json.marshal_with_options and io.jwt.encode_sign marshal json.Numbers.
  const r = await evaluate(`package n
intn_float := rand.intn("x", 1.0)
intn_int := rand.intn("x", 1)
find_float := regex.find_n("a", "aaaa", 2.0)
find_int := regex.find_n("a", "aaaa", 2)
sub_float := regex.find_all_string_submatch_n("a(b)", "ababab", 2.0)
add_float := time.add_date(0, 1.0, 0, 0)
add_int := time.add_date(0, 1, 0, 0)
date_exp := time.date(1e18)
format_exp := time.format(1e18)
date_input := time.date(input.ns)
marshal_opts := json.marshal_with_options({"a": 2.0, "b": [1e2, 0.50]}, {"pretty": false})
jwt_payload := io.jwt.decode(io.jwt.encode_sign({"alg": "HS256"}, {"exp": 2.0, "h": 0.50}, {"kty": "oct", "k": "c2VjcmV0"}))[1]
jwt_text := base64url.decode(split(io.jwt.encode_sign({"alg": "HS256"}, {"exp": 2.0}, {"kty": "oct", "k": "c2VjcmV0"}), ".")[1])
`, '{"ns": 1000000000000000000.0}')
  for (const k of ['intn_float', 'find_float', 'sub_float', 'add_float']) t.notOk(k in r, `${k}: 2.0 is no integer operand (undefined)`)
  t.equal(r.intn_int, 0)
  t.same(r.find_int, ['a', 'a'])
  t.equal(JSON.stringify(r.add_int), '31536000000000000')
  t.same(r.date_exp, [2001, 9, 9], 'nanoseconds written 1e18 are an exact int64 (was "timestamp too big")')
  t.equal(r.format_exp, '2001-09-09T01:46:40Z')
  t.same(r.date_input, [2001, 9, 9], 'and 1000000000000000000.0 from the input')
  t.equal(r.marshal_opts, '{"a":2.0,"b":[1e2,0.50]}')
  t.equal(r.jwt_text, '{"exp":2.0}', 'the signed payload carries 2.0 as written')
  t.equal(JSON.stringify(r.jwt_payload), '{"exp":2.0,"h":0.50}')
})

t.test('json.patch, json.remove and json.filter address array elements as OPA does', async t => {
  // json.patch's edit tree wants an integer (Number.Int: 1.0 is none); json.remove and
  // json.filter look an array position up by its decimal string, so a number never matches.
  const r = await evaluate(`package n
patch_float := json.patch(["a", "b", "c"], [{"op": "replace", "path": [1.0], "value": "X"}])
patch_int := json.patch(["a", "b", "c"], [{"op": "replace", "path": [1], "value": "X"}])
patch_keeps := json.patch({"a": 2.0}, [{"op": "add", "path": "/b", "value": 1e2}])
patch_test := json.patch({"a": 2.0}, [{"op": "test", "path": "/a", "value": 2}])
remove_num := json.remove({"a": ["x", "y"]}, [["a", 1]])
remove_str := json.remove({"a": ["x", "y"]}, [["a", "1"]])
filter_num := json.filter({"a": ["x", "y"]}, [["a", 1]])
filter_str := json.filter({"a": ["x", "y"]}, ["a/1"])
max_min := json.marshal([max([2.0, 2]), max([2, 2.0]), min([2, 2.0]), min([2.0, 2])])
big := numbers.range(1e20, 1e20)
`, '{}')
  t.notOk('patch_float' in r, 'path [1.0] is no index (undefined)')
  t.same(r.patch_int, ['a', 'X', 'c'])
  t.equal(JSON.stringify(r.patch_keeps), '{"a":2.0,"b":1e2}', 'numbers keep their text through a patch')
  t.equal(JSON.stringify(r.patch_test), '{"a":2.0}', 'test compares values: 2.0 equals 2')
  t.same(r.remove_num, { a: ['x', 'y'] }, 'a number segment does not address an array element')
  t.same(r.remove_str, { a: ['x'] })
  t.same(r.filter_num, { a: [] })
  t.same(r.filter_str, { a: ['y'] })
  t.equal(r.max_min, '[2,2.0,2.0,2]', 'of equal elements max and min return the last, as OPA')
  t.equal(JSON.stringify(r.big), '[100000000000000000000]', '1e20 is an integer past int64 (BigIntOperand)')
})
