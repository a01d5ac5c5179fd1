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
