// Numbers compare as the decimals they denote, as in OPA (ast.Compare: exact, through big.Rat).
// A double cannot tell 1000.00000000000000001 from 1000, nor 1e-400 from 0, nor 1e400 from
// 1e399: a policy's `amount <= 1000` held where OPA's fails. Literals and input both keep such
// numbers as their text (the runtime's NumV.dec, the host's JSON.rawJSON), and the text is what
// comes back out.
import t from 'tap'
import { parseJsonExact } from '../../src/exact-json.js'
import { runRego } from './run-rego.js'
import { compileModules } from '../../src/compiler/index.js'
import { InputJson, loadWasmPolicy } from '../../src/policy/eval/index.js'

async function evalP (source: string, inputText = '{}'): Promise<unknown> {
  const r = await runRego(`package test\n\n${source}`, parseJsonExact(inputText))
  if (r.error !== undefined) throw new Error(r.error)
  return r.value
}

const ORDER = `p := {k: order(pair[0], pair[1]) | some k, pair in input.pairs}
order(a, b) := -1 if a < b
order(a, b) := 1 if a > b
order(a, b) := 0 if a == b
`

t.test('input numbers order as decimals', async t => {
  const got = await evalP(ORDER, `{"pairs": {
    "more digits than a double": [1000.00000000000000001, 1000],
    "below, by a hair": [99.99999999999999999, 100],
    "underflow": [1e-400, 0],
    "negative underflow": [-1e-400, 0],
    "past the range": [1e400, 1e399],
    "19 digits": [0.1234567890123456789, 0.1234567890123456788],
    "text vs double, equal": [0.30000000000000004, 0.30000000000000004],
    "trailing zeros": [1.50000000000000000000, 1.5],
    "big integer vs fraction": [18446744073709551617, 18446744073709551616.5],
    "ordinary": [2.5, 3]
  }}`)
  t.same(got, {
    'more digits than a double': 1, 'below, by a hair': -1, underflow: 1, 'negative underflow': -1, 'past the range': 1,
    '19 digits': 1, 'text vs double, equal': 0, 'trailing zeros': 0, 'big integer vs fraction': 1, ordinary: -1,
  })
})

t.test('literals too, and sets and keys treat equal decimals as one', async t => {
  t.same(await evalP(`p := [1000.00000000000000001 > 1000, 1e-400 > 0, 1e400 > 1e399, 0.1234567890123456789 == 0.1234567890123456788, count({3.5, 3.50, 35e-1, 1000.00000000000000001, 1000})]`),
    [true, true, true, false, 3])
  t.same(await evalP('p := input.amount <= 1000', '{"amount": 1000.00000000000000001}'), false, 'the bypass this closes: a double would say true')
  t.same(await evalP('p := input.amount <= 1000', '{"amount": 1000.000000000001}'), false, 'fifteen digits: a double already says so')
})

t.test('a kept number comes back as its text', async t => {
  const got = await evalP('p := [input.a, 1e-400, abs(input.b)]', '{"a": 1000.00000000000000001, "b": -0.1234567890123456789}')
  t.equal(JSON.stringify(got), '[1000.00000000000000001,1e-400,0.1234567890123456789]')
})

// OPA's integer arithmetic is math/big: exact at any size. Ours is i64, and went to doubles past
// it, so 18446744073709551617 + 1 was 18446744073709551616 and a sum of ids or amounts past
// 2^63 came out rounded.
t.test('integer arithmetic past 64 bits is exact', async t => {
  const got = await evalP(`p := [
    18446744073709551617 + 1, 18446744073709551617 - 1, 18446744073709551617 * 2, -18446744073709551617 - 1,
    9223372036854775807 + 1, -9223372036854775808 - 1, 3037000500 * 3037000500, abs(-9223372036854775808),
    1e30 + 1, 18446744073709551617 % 18446744073709551616, 100 % -18446744073709551616, -18446744073709551617 % 10,
    sum([9223372036854775807, 1, 2]), product([4294967296, 4294967296, 3]), input.id + 1, 2.5 + 1,
  ]`, '{"id": 123456789012345678901234567890}')
  t.equal(JSON.stringify(got), '[18446744073709551618,18446744073709551616,36893488147419103234,-18446744073709551618,' +
    '9223372036854775808,-9223372036854775809,9223372037000250000,9223372036854775808,' +
    '1000000000000000000000000000001,1,100,-7,' +
    '9223372036854775810,55340232221128654848,123456789012345678901234567891,3.5]')
  t.same(await evalP('p := [x | x := 9223372036854775807 + 1; x > 9223372036854775807]'), [rawBig('9223372036854775808')], 'and compares as the integer it is')
})

function rawBig (t: string): unknown { return parseJsonExact(t) }

t.test('a number of 100,000 digits compares in linear memory', async t => {
  // Comparing two number texts split their digits a character at a time: memory quadratic in
  // the digits (the runtime frees nothing during an evaluation), so a 20,000-digit number in a
  // request took 2 GB and half a second, and this one ran out of memory.
  const { wasm } = compileModules({ modules: [{ file: 'p.rego', source: 'package test\np if input.x > 5\nq := input.x == input.y' }], entrypoints: ['test'] })
  const policy = await loadWasmPolicy(wasm)
  const digits = '1' + '0'.repeat(100_000)
  t.same(policy.evaluator('test')(new InputJson(`{"x": ${digits}, "y": ${digits}.0}`)), { p: true, q: true })
  t.ok(policy.memoryBytes() <= 16 * 1024 * 1024, `memory ${policy.memoryBytes()} bytes`)
})

t.test('arithmetic on a 20,000-digit integer is exact and small', async t => {
  // Results were written a digit at a time (quadratic memory): this ran out of memory.
  const { wasm } = compileModules({ modules: [{ file: 'p.rego', source: 'package test\nsum := input.x + 1\nproduct := input.x * 3' }], entrypoints: ['test'] })
  const policy = await loadWasmPolicy(wasm)
  const zeros = '0'.repeat(20_000)
  const out = policy.evaluator('test')(new InputJson(`{"x": 1${zeros}}`)) as { sum: unknown, product: unknown }
  t.equal(JSON.stringify(out.sum), `1${zeros.slice(1)}1`)
  t.equal(JSON.stringify(out.product), `3${zeros}`)
  t.ok(policy.memoryBytes() <= 16 * 1024 * 1024, `memory ${policy.memoryBytes()} bytes`)
})

t.test('big-integer multiplication and remainder are charged to the step budget', async t => {
  // |a| x |b| digit steps: two 20,000-digit numbers would block the event loop for ~0.7 s; the
  // default budget (10,000,000 steps) stops them first, as it stops any runaway evaluation
  const { wasm } = compileModules({ modules: [{ file: 'p.rego', source: 'package test\nproduct := input.x * input.y\nremainder := input.x % input.y' }], entrypoints: ['test/product', 'test/remainder'] })
  const policy = await loadWasmPolicy(wasm)
  const big = new InputJson(`{"x": 7${'3'.repeat(20_000)}, "y": 9${'1'.repeat(20_000)}}`)
  for (const ep of ['test/product', 'test/remainder']) {
    t.throws(() => policy.evaluator(ep)(big), { code: 'BOUNCER_ERR_POLICY_EVAL_TIMEOUT' }, ep)
  }
  // the remainder in linear memory, exactly (it copied the running remainder at every digit)
  const mid = `{"x": 7${'3'.repeat(4000)}, "y": 9${'1'.repeat(3997)}}`
  t.equal(JSON.stringify(policy.evaluator('test/remainder')(new InputJson(mid))), (BigInt(`7${'3'.repeat(4000)}`) % BigInt(`9${'1'.repeat(3997)}`)).toString())
  t.ok(policy.memoryBytes() <= 16 * 1024 * 1024, `memory ${policy.memoryBytes()} bytes`)
})
