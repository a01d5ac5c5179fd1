// How "undefined" propagates where a decision depends on it, compared with OPA's answers.
// Every expected value below is OPA 1.x's; the comment on each names the rule that gives it.
// The negation cases follow OPA's compiler rewrites (RewriteExprTerms, RewriteWithValues,
// RewriteEquals, RewriteDynamicTerms): parts of a negated expression are evaluated before the
// `not` (OPA issues #1877, #4743, #5793, #7558, #8387). src/compiler/planner/negation.ts.
import t, { type Test } from 'tap'
import { compileModules } from '../../src/compiler/index.js'
import { loadWasmPolicy } from '../../src/policy/eval/index.js'

const U = undefined

async function evalRego (source: string, entrypoint: string, input?: unknown): Promise<unknown> {
  const c = compileModules({ modules: [{ file: 'p.rego', source }], entrypoints: [entrypoint] })
  const p = await loadWasmPolicy(c.wasm)
  const rs = p.evaluate(input as object, entrypoint) as Array<{ result: unknown }>
  return rs.length === 0 ? undefined : rs[0].result
}

/** evaluates every rule named in `cases` of one module, with one input */
async function check (t: Test, src: string, input: unknown, cases: Record<string, unknown>): Promise<void> {
  for (const [rule, want] of Object.entries(cases)) {
    t.same(await evalRego(src, `t/${rule}`, input), want, `${rule} with input ${JSON.stringify(input)}`)
  }
}

t.test('not: call arguments are evaluated outside the negation', async t => {
  const src = `package t
blocked(x) if x == "evil"
object_has_key(o, k) if { _ = o[k] }
# OPA #1877: not f(input.x) is rewritten to __l = input.x; not f(__l)
r_call if not blocked(input.user)
# OPA #5793
default r_has_key := false
r_has_key if not object_has_key(input.data, "foo")
# != < and "in" are calls too: their reference arguments move out
r_neq if not input.x != "a"
r_lt if not input.age < 18
r_in if not "admin" in input.roles
r_builtin if not startswith(input.path, "/admin")
# a call nested in an operand moves out whole (RewriteExprTerms)
r_count if not count(input.xs) == 0
# bound locals stay what they are
r_local if { u := "bob"; not blocked(u) }
`
  await check(t, src, {}, { r_call: U, r_has_key: false, r_neq: U, r_lt: U, r_in: U, r_builtin: U, r_count: U, r_local: true })
  await check(t, src, { user: 'bob', data: {}, x: 'a', age: 30, roles: ['u'], path: '/x', xs: [1] },
    { r_call: true, r_has_key: true, r_neq: true, r_lt: true, r_in: true, r_builtin: true, r_count: true })
  await check(t, src, { user: 'evil', x: 'b', age: 3, roles: ['admin'], path: '/admin/x', xs: [] },
    { r_call: U, r_neq: U, r_lt: U, r_in: U, r_builtin: U, r_count: U })
})

t.test('not: references in brackets move out, a bare reference stays inside', async t => {
  const src = `package t
obj := {"a": 1}
v := {"foo": true}
variable := v if false
function(_) := v if false
# OPA #4743: not obj[input.k] is rewritten to __l = input.k; not obj[__l]
r_index if not obj[input.k]
r_index_call if not obj[lower(input.k)]
# a bare reference is the negated expression itself (RewriteDynamics keeps the ref)
r_bare if not input.x
r_rule if not variable.foo
# OPA #7558: a call at the head of a reference moves out
r_fn_ref if not function("bar").foo
# == becomes = (RewriteEquals); a side that is a reference stays (#1877, second example)
r_eq if not input.x == "a"
r_eq_both if not input.a == input.b
r_eq_index if not obj[input.k] == 1
# an array operand: its references move out
r_array if not [input.x]
`
  await check(t, src, {}, {
    r_index: U, r_index_call: U, r_bare: true, r_rule: true, r_fn_ref: U, r_eq: true, r_eq_both: true, r_eq_index: U, r_array: U,
  })
  await check(t, src, { k: 'B', x: false }, { r_index: true, r_index_call: true, r_bare: true, r_eq: true, r_eq_index: true, r_array: U })
  await check(t, src, { k: 'A', x: 'a' }, { r_index: true, r_index_call: U, r_bare: U, r_eq: U, r_eq_index: true })
})

t.test('not with `with`: generated expressions carry the modifiers; with values move out', async t => {
  const src = `package t
blocked(x) if x == "evil"
allowed if input.user == "alice"
r_with if not blocked(input.user) with input as {"user": "bob"}
r_with_evil if not blocked(input.user) with input as {"user": "evil"}
r_with_ref if not blocked(input.user) with input as input.wrap
r_with_rule if not allowed with input.user as "bob"
`
  await check(t, src, {}, { r_with: true, r_with_evil: U, r_with_ref: U, r_with_rule: true })
  await check(t, src, { wrap: { user: 'bob' } }, { r_with_ref: true })
})

t.test('every: undefined or non-collection domain, vacuous truth; not every is a compile error', async t => {
  const src = `package t
r_undef if every x in input.missing { x > 0 }
r_scalar if every x in input.n { x > 0 }
r_empty if every x in [] { x == false }
r_all if every x in input.xs { x > 0 }
`
  // an undefined domain fails the body; a scalar domain too (conformance every/non_iterable_domain)
  await check(t, src, { xs: [1, 2], n: 5 }, { r_undef: U, r_scalar: U, r_empty: true, r_all: true })
  await check(t, src, { xs: [1, -2] }, { r_all: U })
  // OPA rejects it as well: "illegal negation of 'every'" (OPA #6761)
  t.throws(() => compileModules({ modules: [{ file: 'p.rego', source: 'package t\nr if not every x in [1] { x > 1 }\n' }], entrypoints: ['t/r'] }),
    /p\.rego:2:\d+: rego_parse_error/)
})

t.test('comprehensions are always defined, also inside not', async t => {
  const src = `package t
r_count if count([x | x := input.missing[_]]) == 0
# a comprehension is a value (an empty array is not false), so not [...] fails
r_not_compr if not [x | x := input.missing]
r_set := {x | some x in input.xs}
`
  await check(t, src, {}, { r_count: true, r_not_compr: U, r_set: [] })
})

t.test('else chains and default with undefined bodies or values', async t => {
  const src = `package t
r_else := 1 if input.a else := 2 if input.b
# the head value is evaluated as part of the body (RewriteRefsInHead): undefined moves on to else
r_else_value := input.x if true else := 2
default r_default := false
r_default if input.user == "admin"
default r_default_value := 1
r_default_value := input.x
fn(x) := 1 if x == 1 else := 2 if x == 2
r_fn_else := fn(input.n)
`
  await check(t, src, {}, { r_else: U, r_else_value: 2, r_default: false, r_default_value: 1, r_fn_else: U })
  await check(t, src, { b: true, x: 7, user: 'admin', n: 2 }, { r_else: 2, r_else_value: 7, r_default: true, r_default_value: 7, r_fn_else: 2 })
  await check(t, src, { n: 3 }, { r_fn_else: U })
})

t.test('collections built from undefined elements are undefined', async t => {
  const src = `package t
r_arr := [input.missing, 1]
r_obj := {"a": input.missing}
r_set := {input.missing}
r_nested := [[1, input.missing]]
`
  await check(t, src, {}, { r_arr: U, r_obj: U, r_set: U, r_nested: U })
})

t.test('in / some in over undefined or scalar collections', async t => {
  const src = `package t
r_some if { some x in input.missing }
r_some_scalar if { some x in input.n }
r_in if "a" in input.missing
r_not_in if not "a" in input.missing
r_some_kv if { some k, v in input.m; k == "a"; v == 1 }
`
  await check(t, src, { n: 5, m: { a: 1 } }, { r_some: U, r_some_scalar: U, r_in: U, r_not_in: U, r_some_kv: true })
})

t.test('partial rules whose keys or values are undefined contribute nothing', async t => {
  const src = `package t
s contains input.missing
s contains "x"
o[input.missing] := 1
o.k := input.missing
o.j := 2
r_member if not s["a"]
`
  await check(t, src, {}, { s: ['x'], o: { j: 2 }, r_member: true })
})

t.test('function arguments: an undefined argument makes the call undefined', async t => {
  const src = `package t
inc(x) := x + 1
default r_default := 0
r_default := inc(input.missing)
r_call := inc(input.n)
r_partial if { y := inc(input.missing); y > 0 }
`
  await check(t, src, { n: 1 }, { r_default: 0, r_call: 2, r_partial: U })
})
