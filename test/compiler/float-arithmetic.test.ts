// Non-integer arithmetic in compiled policies gives OPA's answers (64-bit big.Float, through the
// host call the planner adds), not a double's: at the boundary of a limit the two disagree, and a
// policy's decision with them.
import t from 'tap'
import { compileModules } from '../../src/compiler/index.js'
import { evaluationMessage, loadWasmPolicy } from '../../src/policy/eval/index.js'
import { FLOAT_BUILTIN } from '../../src/compiler/float-builtin.js'
import { parseJsonExact, rawJson } from '../../src/exact-json.js'
import { runRego } from './run-rego.js'

async function evalP (source: string, inputText = '{}'): Promise<unknown> {
  const r = await runRego(`package test\n\n${source}`, parseJsonExact(inputText))
  if (r.error !== undefined) throw new Error(r.error)
  return r.value
}

t.test('results are OPA\'s numbers, with their digits', async t => {
  const got = await evalP(`p := {
    "sum": 0.1 + 0.2,
    "third": 10 / 3,
    "minus": 0.3 - 0.1,
    "tenth": input.cent * 10,
    "half": 7 / 2,
    "agg_sum": sum([0.1, 0.2, 0.3]),
    "agg_sum_set": sum({1, 0.5, 0.25}),
    "agg_product": product([0.1, 3]),
    "ints": 6 * 7,
    "int_div": 12 / 4,
    "tiny": input.tiny * 3
  }`, '{"cent": 0.01, "tiny": 1e-400}')
  t.equal(JSON.stringify(got), JSON.stringify({
    agg_product: 0.30000000000000004, // product() multiplies at 53 bits, as OPA's big.NewFloat(1) does
    agg_sum: 0.6,
    agg_sum_set: 1.75,
    half: 3.5,
    int_div: 3,
    ints: 42,
    minus: rawJson('0.20000000000000000002'),
    sum: 0.3,
    tenth: rawJson('0.099999999999999999995'),
    third: rawJson('3.3333333333333333333'),
    tiny: rawJson('3e-400'),
  }))
})

t.test('a limit checked on a computed amount decides as OPA decides', async t => {
  const policy = `default allow := false
allow if input.unit_price * input.quantity >= input.minimum
exact if input.unit_price * input.quantity == input.minimum
p := {"allow": allow, "exact": exact} if true
exact := false if not input.unit_price * input.quantity == input.minimum`
  // 0.01 * 10 is 0.099999999999999999995 in OPA: below the minimum of 0.1 (doubles: equal).
  t.same(await evalP(policy, '{"unit_price": 0.01, "quantity": 10, "minimum": 0.1}'), { allow: false, exact: false })
  // 0.07 * 100 is 7 in OPA too.
  t.same(await evalP(policy, '{"unit_price": 0.07, "quantity": 100, "minimum": 7}'), { allow: true, exact: true })
  t.same(await evalP('p := 0.1 + 0.2 == 0.3'), true, 'OPA: 0.1 + 0.2 is 0.3 (doubles: false)')
})

t.test('division: a zero divisor of any spelling fails, a tiny one does not', async t => {
  t.equal((await runRego('package test\n\np := 1 / input.z', { z: 0 })).value, undefined, '1 / 0 is undefined')
  const zeroFloat = await runRego('package test\n\nimport rego.v1\n\np := x if { x := 1 / 0.0 }', {})
  t.equal(zeroFloat.value, undefined, "1 / 0.0 is undefined")
  t.equal(JSON.stringify(await evalP('p := 1e-400 / 1e-400')), '1', '1e-400 is not zero')
})

t.test('the planner adds the host call only to plans doing arithmetic', async t => {
  const withArith = compileModules({ modules: [{ file: 'p.rego', source: 'package test\n\np := input.x * 2' }], entrypoints: ['test/p'] })
  const without = compileModules({ modules: [{ file: 'p.rego', source: 'package test\n\np := input.x == 2' }], entrypoints: ['test/p'] })
  t.ok(withArith.hostBuiltins.includes(FLOAT_BUILTIN), `${FLOAT_BUILTIN} with *`)
  t.notOk(without.hostBuiltins.includes(FLOAT_BUILTIN), 'not without')
  t.match((await runRego(`package test\n\np := ${FLOAT_BUILTIN.replace(/\./g, '_')}(1)`)).error, /undefined function/, 'a policy cannot call it by name')
})

t.test('round, ceil and floor: OPA\'s answers, for long numbers and between -1 and 0', async t => {
  const got = await evalP(`p := {
    "round_long": round(input.long),
    "round_half_up": round(2.5),
    "round_half_down": round(-2.5),
    "ceil_neg_fraction": ceil(-0.5),
    "floor_neg_fraction": floor(-0.5),
    "ceil_neg": ceil(-1.5),
    "floor_neg": floor(-1.5),
    "floor_tiny_neg": floor(input.tiny_neg),
    "ceil_tiny": ceil(input.tiny)
  }`, '{"long": 2.4999999999999999, "tiny_neg": -1e-400, "tiny": 1e-400}')
  t.same(got, {
    // 2.4999999999999999 is 2.5 as a double; OPA reads it at 64 bits, below 2.5
    round_long: 2,
    round_half_up: 3,
    round_half_down: -3,
    // arithCeil/arithFloor: the integer part of -0.5 is +0, which they do not adjust
    ceil_neg_fraction: 1,
    floor_neg_fraction: 0,
    ceil_neg: -1,
    floor_neg: -2,
    floor_tiny_neg: 0,
    ceil_tiny: 1,
  })
})

t.test('operands the runtime keeps as text reach the arithmetic as their digits, in collections too', async t => {
  // Expected from the independent model of the big-float tests: a double would have lost the
  // digits (0.30000000000000000001 is 0.3; 9007199254740993 is 9007199254740992).
  const got = await evalP(`p := {
    "long_plus": input.long + 1,
    "sum_long": sum([0.1, input.long]),
    "big_int_plus_half": input.big + 0.5
  }`, '{"long": 0.30000000000000000001, "big": 9007199254740993}')
  t.equal(JSON.stringify(got), JSON.stringify({ big_int_plus_half: rawJson('9.0071992547409935e+15'), long_plus: 1.3, sum_long: 0.4 }))
})

t.test('abs, round, ceil and floor of numbers past an i64 or a double: OPA\'s 64-bit big.Float, which rounds', async t => {
  // OPA's arithUnary keeps only int32-window integers exact; the rest go through NumberToFloat.
  const got = await evalP(`p := [
    abs(-18446744073709551617), round(18446744073709551617), abs(input.long), floor(18446744073709551617.5), abs(-9223372036854775808)
  ]`, '{"long": -0.30000000000000000001}')
  t.equal(JSON.stringify(got), '[18446744073709551616,18446744073709551616,0.3,18446744073709551618,9223372036854775808]')
})

t.test('an operand a request could use to stall the evaluation is refused: undefined, or an error with strict builtin errors', async t => {
  const src = 'package test\n\np := input.x * 3'
  const input = parseJsonExact('{"x": 1.5e-20000}')
  t.equal((await runRego(src, input)).value, undefined, 'undefined: the policy\'s default decides (a deny)')
  const c = compileModules({ modules: [{ file: 'p.rego', source: src }], entrypoints: ['test/p'], strictBuiltinErrors: true })
  const p = await loadWasmPolicy(c.wasm, {}, { strictBuiltinErrors: true })
  let message = ''
  try { p.evaluate(input, 'test/p') } catch (e) { message = evaluationMessage(e) }
  t.match(message, /eval_builtin_error: mul: number exponent out of range/)
  t.equal(JSON.stringify((await runRego(src, parseJsonExact('{"x": 1.5e-2000}'))).value), '4.5000000000000000003e-2000', 'within the limits (the independent model\'s value)')
})
