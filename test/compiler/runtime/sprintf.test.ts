// sprintf in the Wasm runtime (native, Go fmt semantics as OPA applies them), through real
// compiled policies. Each case is [format, Rego array literal of operands, expected].
import t, { type Test } from 'tap'
import { compileModules } from '../../../src/compiler/index.js'
import { loadWasmPolicy } from '../../../src/policy/eval/index.js'

type Case = [string, string, string]

async function run (cases: Case[]): Promise<Record<string, unknown>> {
  const lines = ['package s']
  cases.forEach(([f, args], i) => lines.push(`r${i} := sprintf(${JSON.stringify(f)}, ${args})`))
  const c = compileModules({ modules: [{ file: 's.rego', source: lines.join('\n') + '\n' }], entrypoints: ['s'] })
  const p = await loadWasmPolicy(c.wasm)
  const rs = p.evaluate({}, 's') as Array<{ result: Record<string, unknown> }>
  return rs[0].result
}

async function table (t: Test, cases: Case[]): Promise<void> {
  const out = await run(cases)
  cases.forEach(([f, args, want], i) => t.equal(out[`r${i}`], want, `sprintf(${JSON.stringify(f)}, ${args})`))
}

t.test('%v and %s of every kind of value', async t => {
  await table(t, [
    ['hi', '[]', 'hi'],
    ['%v', '[1]', '1'],
    ['%v', '[-42]', '-42'],
    ['%v', '[1.5]', '1.5'],
    ['%v', '[0.1]', '0.1'],
    ['%v', '[3.14]', '3.14'],
    ['%v', '[1e21]', '1e+21'],
    ['%v', '[1234567.5]', '1.2345675e+06'],
    ['%v', '[123456.5]', '123456.5'],
    ['%v', '[0.00001]', '1e-05'],
    ['%v', '[0.0001]', '0.0001'],
    ['%v', '["str"]', 'str'],
    ['%s', '["str"]', 'str'],
    ['%v', '[true]', 'true'],
    ['%s', '[false]', 'false'],
    ['%v', '[null]', 'null'],
    ['%v', '[["there", 5, 3.14]]', '["there", 5, 3.14]'],
    ['%v', '[[]]', '[]'],
    ['%v', '[{"b": [1, {"c": null}], "a": "x"}]', '{"a": "x", "b": [1, {"c": null}]}'],
    ['%v', '[{}]', '{}'],
    ['%v', '[{3, 1, "a"}]', '{1, 3, "a"}'],
    ['%v', '[set()]', 'set()'],
    ['%v', '[{1: "one"}]', '{1: "one"}'],
    ['%v', '[["tab\\there", "q\\"uote"]]', '["tab\\there", "q\\"uote"]'],
    ['%s', '[[1, 2]]', '[1, 2]'],
    ['%d', '[[1]]', '%!d(string=[1])'],
    ['%s and %v', '["a", 2]', 'a and 2'],
    ['100%%', '[]', '100%'],
  ])
})

t.test('integers: %d %b %o %O %x %X %c %q %U and flags', async t => {
  await table(t, [
    ['%d', '[42]', '42'],
    ['%d', '[-42]', '-42'],
    ['%5d|', '[42]', '   42|'],
    ['%-5d|', '[42]', '42   |'],
    ['%05d', '[42]', '00042'],
    ['%05d', '[-42]', '-0042'],
    ['%+d', '[42]', '+42'],
    ['% d', '[42]', ' 42'],
    ['%+05d', '[42]', '+0042'],
    ['%.3d', '[7]', '007'],
    ['%6.3d|', '[7]', '   007|'],
    ['%06.3d|', '[7]', '   007|'],
    ['%.0d|', '[0]', '|'],
    ['%3.0d|', '[0]', '   |'],
    ['%-05d|', '[3]', '3    |'],
    ['%b', '[5]', '101'],
    ['%#b', '[5]', '0b101'],
    ['%o', '[8]', '10'],
    ['%#o', '[8]', '010'],
    ['%O', '[8]', '0o10'],
    ['%x', '[255]', 'ff'],
    ['%X', '[255]', 'FF'],
    ['%#x', '[255]', '0xff'],
    ['%#X', '[255]', '0XFF'],
    ['%x', '[-255]', '-ff'],
    ['%08x', '[48879]', '0000beef'],
    ['%#08x', '[1]', '0x00000001'], // Go zero-pads the digits to the width, then adds 0x
    ['hi %02X.%02X', '[127, 1]', 'hi 7F.01'],
    ['%c', '[65]', 'A'],
    ['%c', '[128512]', '😀'],
    ['%q', '[65]', "'A'"],
    ['%q', '[10]', "'\\n'"],
    ['%U', '[65]', 'U+0041'],
    ['%#U', '[65]', "U+0041 'A'"],
    ['%U', '[128512]', 'U+1F600'],
    ['%v', '[9223372036854775807]', '9223372036854775807'],
    ['%d', '[-9223372036854775808]', '-9223372036854775808'],
    ['%x', '[-9223372036854775808]', '-8000000000000000'],
    ['%+v', '[5]', '5'],
    // an integer reaches Go's fmt as util.Atoi64's int64 since OPA v1.20 (an int before)
    ['%t', '[1]', '%!t(int64=1)'],
    ['%s', '[1]', '%!s(int64=1)'],
    ['%5s', '[1]', '%!s(int64=    1)'],
    ['%f', '[1]', '%!f(int64=1)'],
    ['%T', '[1]', 'int64'],
  ])
})

t.test('big integers stay exact', async t => {
  await table(t, [
    ['%s', '[123456789123456789123]', '123456789123456789123'],
    ['%d', '[1208925819614629174706175]', '1208925819614629174706175'],
    ['%v', '[-123456789123456789123]', '-123456789123456789123'],
    ['%x', '[1208925819614629174706175]', 'ffffffffffffffffffff'],
    ['%#X', '[1208925819614629174706175]', '0XFFFFFFFFFFFFFFFFFFFF'],
    ['%b', '[18446744073709551616]', '1' + '0'.repeat(64)],
    ['%o', '[18446744073709551616]', '2000000000000000000000'],
    ['%+d', '[18446744073709551616]', '+18446744073709551616'],
    ['%25d|', '[18446744073709551616]', '     18446744073709551616|'],
    ['%-25d|', '[18446744073709551616]', '18446744073709551616     |'],
    ['%025d', '[-18446744073709551616]', '-000018446744073709551616'],
    ['%.22d', '[18446744073709551616]', '0018446744073709551616'],
    ['%f', '[18446744073709551616]', '%!f(big.Int=18446744073709551616)'],
    ['%T', '[18446744073709551616]', '*big.Int'],
    ['%v %v', '[1, 18446744073709551616, 2]', '1 18446744073709551616%!(EXTRA int64=2)'],
    ['%d', '[[18446744073709551616]]', '%!d(string=[18446744073709551616])'],
  ])
})

// OPA converts a number to a float64 only when that succeeds: past the doubles the operand is
// the number's text, a Go string (a double would print +Inf). Below them it is 0, as Go parses it.
t.test('numbers past the doubles are their text', async t => {
  await table(t, [
    ['hi %v', '[2e308]', 'hi 2e308'],
    ['%s', '[-2E308]', '-2E308'],
    ['%d', '[2e308]', '%!d(string=2e308)'],
    ['%T', '[1e400]', 'string'],
    ['%v', '[1e-400]', '0'],
    ['%T', '[1e-400]', 'float64'],
  ])
})

t.test('floats: %f %e %E %g %G %x %b and flags', async t => {
  await table(t, [
    ['hi %.2f', '[3.1415]', 'hi 3.14'],
    ['%f', '[3.1415]', '3.141500'],
    ['%f', '[1.5]', '1.500000'],
    ['%.0f', '[2.5]', '2'],
    ['%.0f', '[3.5]', '4'],
    ['%.1f', '[0.05]', '0.1'],
    ['%.1f', '[0.25]', '0.2'],
    ['%.3f', '[0.0005]', '0.001'],
    ['%.2f', '[0.001]', '0.00'],
    ['%8.3f|', '[3.14159]', '   3.142|'],
    ['%-8.3f|', '[3.14159]', '3.142   |'],
    ['%08.3f', '[-3.14159]', '-003.142'],
    ['%+.1f', '[2.5]', '+2.5'],
    ['% .1f', '[2.5]', ' 2.5'],
    ['%#.0f', '[3.5]', '4.'],
    ['%f', '[1e21]', '1000000000000000000000.000000'],
    ['%.20f', '[0.1]', '0.10000000000000000555'],
    ['%e', '[1234.5678]', '1.234568e+03'],
    ['%E', '[1234.5678]', '1.234568E+03'],
    ['%.2e', '[0.000123]', '1.23e-04'],
    ['%e', '[1e100]', '1.000000e+100'],
    ['%g', '[1234.5678]', '1234.5678'],
    ['%g', '[0.00001234]', '1.234e-05'],
    ['%.3g', '[1234.5678]', '1.23e+03'],
    ['%G', '[1e-10]', '1E-10'],
    ['%#g', '[1.5]', '1.50000'],
    ['%v', '[1.0e-7]', '1e-07'],
    ['%v', '[2.5e-324]', '5e-324'],
    ['%v', '[1.7976931348623157e308]', '1.7976931348623157e+308'],
    ['%v', '[0.30000000000000004]', '0.30000000000000004'],
    ['%x', '[1.5]', '0x1.8p+00'],
    ['%.1x', '[1.25]', '0x1.4p+00'],
    ['%.1x', '[1.03125]', '0x1.0p+00'],
    ['%#.3x', '[1.5]', '0x1.800p+00'],
    ['%X', '[-10.25]', '-0X1.48P+03'],
    ['%b', '[1.5]', '6755399441055744p-52'],
    ['%d', '[1.5]', '%!d(float64=1.5)'],
    ['%s', '[2.5]', '%!s(float64=2.5)'],
    ['%T', '[2.5]', 'float64'],
    ['%6.2v|', '[3.14159]', '   3.1|'],
  ])
})

t.test('strings: %s %q %x %X with width and precision', async t => {
  await table(t, [
    ['%5s|', '["ab"]', '   ab|'],
    ['%-5s|', '["ab"]', 'ab   |'],
    ['%05s', '["ab"]', '000ab'],
    ['%.2s', '["héllo"]', 'hé'],
    ['%5.1s|', '["héllo"]', '    h|'],
    ['%3s|', '["日本"]', ' 日本|'],
    ['%q', '["hi \\"there\\"\\n"]', '"hi \\"there\\"\\n"'],
    ['%q', '["é\\u0001"]', '"é\\x01"'],
    ['%+q', '["é"]', '"\\u00e9"'],
    ['%#q', '["back"]', '`back`'],
    ['%#q', '["a`b"]', '"a`b"'],
    ['%#v', '["x"]', '"x"'],
    ['%x', '["hello"]', '68656c6c6f'],
    ['%X', '["hi"]', '6869'],
    ['% x', '["hi"]', '68 69'],
    ['%#x', '["hi"]', '0x6869'],
    ['%# x', '["hi"]', '0x68 0x69'],
    ['%.1x', '["hi"]', '68'],
    ['%d', '["x"]', '%!d(string=x)'],
    ['%t', '[true]', '%!t(string=true)'],
    ['%T', '["x"]', 'string'],
  ])
})

t.test('missing, extra, indexed and bad operands', async t => {
  await table(t, [
    ['%d %d', '[1]', '1 %!d(MISSING)'],
    ['%s', '[]', '%!s(MISSING)'],
    ['x', '[1, "a"]', 'x%!(EXTRA int64=1, string=a)'],
    ['%d', '[1, 2.5]', '1%!(EXTRA float64=2.5)'],
    ['%[2]d %[1]d', '[1, 2]', '2 1'],
    ['%[2]d', '[1, 2, 3]', '2'],
    ['%[3]d', '[1]', '%!d(BADINDEX)'],
    ['%*d|', '[5, 42]', '   42|'],
    ['%-*d|', '[5, 42]', '42   |'],
    ['%*d|', '[-5, 42]', '42   |'],
    ['%.*f', '[2, 3.14159]', '3.14'],
    ['%*d', '["x", 42]', '%!(BADWIDTH)42'],
    ['%', '[]', '%!(NOVERB)'],
    ['%z', '[1]', '%!z(int64=1)'],
    ['%!', '[]', '%!!(MISSING)'],
  ])
})

t.test('type errors', async t => {
  const src = 'package e\nr := sprintf(input.f, input.a)\n'
  const c = compileModules({ modules: [{ file: 'e.rego', source: src }], entrypoints: ['e/r'], strictBuiltinErrors: true })
  const p = await loadWasmPolicy(c.wasm)
  t.throws(() => p.evaluate({ f: 1, a: [] }, 'e/r'), /sprintf: operand 1 must be string but got number/)
  t.throws(() => p.evaluate({ f: '%v', a: 'x' }, 'e/r'), /sprintf: operand 2 must be array but got string/)
  t.throws(() => p.evaluate({ f: '%v', a: { x: 1 } }, 'e/r'), /sprintf: operand 2 must be array but got object/)
  t.same(p.evaluate({ f: '%v-%v', a: ['a', 1] }, 'e/r'), [{ result: 'a-1' }])

  const lax = await loadWasmPolicy(compileModules({ modules: [{ file: 'e.rego', source: src }], entrypoints: ['e/r'] }).wasm)
  t.same(lax.evaluate({ f: 1, a: [] }, 'e/r'), [])
})

t.test('formatting many numbers in one evaluation stays within the module\'s memory', async t => {
  // Each %v of a fraction once allocated ~17 KB of scratch numbers that an evaluation never
  // frees: 20,000 of them exhausted the module's memory and the evaluation failed.
  const c = compileModules({ modules: [{ file: 's.rego', source: 'package s\n\np := [sprintf("%v", [x]) | some x in input.xs]\n' }], entrypoints: ['s/p'] })
  const p = await loadWasmPolicy(c.wasm)
  const xs = Array.from({ length: 20000 }, (_, i) => i / 7 + 0.5)
  const rs = p.evaluate({ xs }, 's/p') as Array<{ result: string[] }>
  t.equal(rs[0]!.result.length, 20000)
  t.equal(rs[0]!.result.filter((s, i) => s !== String(xs[i])).length, 0, 'each the shortest text of its number')
})
