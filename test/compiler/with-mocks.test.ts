// `with` replacing functions and builtins: which mocks are in force inside a replacement.
// OPA evaluates a replacement with no function mocks at all (its call gets an empty frame of
// mocks): the mocked function means the original again, a mock set by an outer `with` does
// not reach into it, and a `with` written inside it applies as usual. input and data
// replacements stay in force.
import t from 'tap'
import { runRego } from './run-rego.js'

const policy = `package test

fake_count(_) := 100
tagged(s) := concat("", [s, sprintf("%d", [count(s)])])

# tagged replaces upper while count is replaced outside: inside tagged, count is the builtin
builtin_outer := v if { v := inner_builtin with count as fake_count }
inner_builtin := v if { v := upper("abc") with upper as tagged }

inc(x) := x + 1
times_ten(x) := x * 10
via_inc(x) := inc(x) + 1000
ident(x) := x

# via_inc replaces ident while inc is replaced outside: inside via_inc, inc is the function
function_outer := v if { v := inner_function with inc as times_ten }
inner_function := v if { v := ident(1) with ident as via_inc }

# a with written inside the replacement applies
own_with(x) := y if { y := inc(x) with inc as times_ten }
inside_with := v if { v := ident(1) with ident as own_with }

# the mocked builtin means the original inside its own replacement
wrap(s) := concat("", ["<", upper(s), ">"])
self_call := v if { v := upper("a") with upper as wrap }

# input replaced outside is still replaced inside the replacement
from_input(_) := input.v
input_kept := v if { v := ident(1) with ident as from_input with input.v as 7 }
`

const cases: Array<[string, unknown]> = [
  ['builtin_outer', 'abc3'],
  ['function_outer', 1002],
  ['inside_with', 10],
  ['self_call', '<A>'],
  ['input_kept', 7],
]

for (const [rule, want] of cases) {
  t.test(rule, async t => {
    const r = await runRego(policy, { v: 1 }, `test/${rule}`)
    t.equal(r.error, undefined, 'evaluates')
    t.same(r.value, want)
  })
}

// What OPA's compiler refuses in a `with` (validateWith, validateWithBuiltinTarget and the type
// checker's checkExprWith). Each of these compiled here before and evaluated to something; one
// (`count` replaced by `concat`) crashed the evaluation.
t.test('with targets and replacements OPA refuses', async t => {
  const refused: Array<[string, RegExp]> = [
    ['p := {"a": 1}\nr := x if { x := p with p.a as 2 }', /rego_compile_error: with keyword cannot partially replace virtual document\(s\)/],
    ['deny contains "x" if true\nr if { deny with data.test.deny.x as 1 }', /rego_compile_error: with keyword cannot partially replace virtual document\(s\)/],
    ['r if { 1 in [1] with internal.member_2 as false }', /rego_compile_error: with keyword replacing built-in function: replacement of internal function "internal\.member_2" invalid/],
    ['w(_) := 1\nr := y if { y := [p | walk({"a": 1}, [p, _])] with walk as w }', /with keyword replacing built-in function: target must not be a relation/],
    ['r if { true with rego.metadata.rule as {} }', /with keyword replacing built-in function: replacement of "rego\.metadata\.rule" invalid/],
    ['r if { true with eq as true }', /with keyword replacing built-in function: replacement of "eq" invalid/],
    ['r if { true with print as true }', /with keyword replacing built-in function: target must not be a void function/],
    ['f(x) := x\ng(x, y) := x\nr := y if { y := f(1) with f as g }', /rego_type_error: data\.test\.f: arity mismatch\n\thave: \(any, any\)\n\twant: \(any\)/],
    ['r := y if { y := count([1]) with count as concat }', /rego_type_error: count: arity mismatch\n\thave: \(string, any<array\[string\], set\[string\]>\)\n\twant: \(collection: any<string, array\[any\], object\[any: any\], set\[any\]>\)/],
    ['r := y if { y := concat(",", ["a"]) with concat as count }', /rego_type_error: concat: arity mismatch/],
    // a dotted builtin as the replacement is checked too (OPA compile_test.go; it was not)
    ['r := y if { y := count([1]) with count as array.concat }', /rego_type_error: count: arity mismatch/],
    ['r := y if { y := upper("a") with upper as array.reverse }', /rego_type_error: upper: arity mismatch/],
  ]
  for (const [body, want] of refused) {
    const out = await runRego(`package test\n${body}\n`, {}, 'test/r')
    t.match(out.error ?? '', want, body)
    t.notOk('value' in out, `${body}: not evaluated`)
  }
  // Still allowed: a whole rule replaced; a ref-head rule's own path; a value mock; functions
  // whose arguments unify (the results are not compared); a builtin by one of the same arity.
  const allowed: Array<[string, unknown]> = [
    ['p := {"a": 1}\nr := x if { x := p with p as {"a": 2} }', { a: 2 }],
    ['a.b.c := 1\nr := x if { x := a.b.c with data.test.a.b.c as 2 }', 2],
    ['r := y if { y := count([1]) with count as 7 }', 7],
    ['f(x) := x\ng(_) := "g"\nr := y if { y := f(1) with f as g }', 'g'],
    ['r := y if { y := count([1, 2]) with count as sum }', 3],
  ]
  for (const [body, want] of allowed) t.same(await runRego(`package test\n${body}\n`, {}, 'test/r'), { value: want }, body)
})

t.test('a with target may have variable keys bound before it (OPA rewrites them like any term)', async t => {
  // OPA's TestRewriteDeclaredVars, "with: rewrite target" and the every case (they were
  // "with keyword target must be a static reference" here)
  const cases: Array<[string, unknown]> = [
    ['r if { x := "foo"; input[x] == 1 with input[x] as 1 }', true],
    ['r := v if { x := "k"; v := input.k with input[x] as 7 }', 7],
    ['r := v if { x := "z"; v := data.d.z with data.d[x] as 9 }', 9],
    ['r if { every x, y in {"a": "b"} { data.q[x][y] == 100 with data.q[x][y] as 100 } }', true],
    ['r := v if { some i in [1, 2]; v := input.a[i] with input.a[i] as "set" }', 'set'],
  ]
  for (const [body, want] of cases) t.same(await runRego(`package test\n${body}\n`, { a: { 1: 'x', 2: 'y' } }, 'test/r'), { value: want }, body)
  const unbound = await runRego('package test\nr := v if { v := input.k with input[x] as 7 }\n', {}, 'test/r')
  t.match(unbound.error ?? '', /var x is unsafe/, 'a key bound nowhere is unsafe, named')
  const partial = await runRego('package test\nq := 1\nr := v if { x := "k"; v := q with data.test.q[x] as 3 }\n', {}, 'test/r')
  t.match(partial.error ?? '', /with keyword cannot partially replace virtual document\(s\)/, 'below a rule, whatever the key')
})
