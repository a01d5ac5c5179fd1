// The type checker (src/compiler/checker): errors at file:line:col worded as OPA's type checker
// words them, and no error on policies OPA accepts (anything it cannot know is `any`).
import t from 'tap'
import { checkSources } from '../../src/compiler/check.js'
import { compileModules, CompileError, formatDiagnostic, loadSources } from '../../src/compiler/index.js'
import { checkTypes } from '../../src/compiler/checker/index.js'
import { anyOf, or, typeString, unifies } from '../../src/compiler/checker/types.js'
import { parseSources } from '../../src/compiler/index.js'

/** formatted type errors of one module */
function typeErrors (source: string): string[] {
  const parsed = parseSources([{ file: 'p.rego', source }])
  if (parsed.diagnostics.length > 0) throw new Error(parsed.diagnostics.map(formatDiagnostic).join('\n'))
  return checkTypes({ modules: parsed.modules }).map(formatDiagnostic)
}

const COLLECTION = 'any<string, array[any], object[any: any], set[any]>'

t.test('the issue\'s examples: count(5), "a" + 1, upper(5)', async t => {
  t.same(typeErrors('package p\n\nn := count(5)\n'), [
    `p.rego:3:6: rego_type_error: count: invalid argument(s)\n\thave: (number, ???)\n\twant: (collection: ${COLLECTION}, n: number)`,
  ])
  t.same(typeErrors('package p\n\ns := "a" + 1\n'), [
    'p.rego:3:6: rego_type_error: plus: invalid argument(s)\n\thave: (string, number, ???)\n\twant: (x: number, y: number, z: number)',
  ])
  t.same(typeErrors('package p\n\nu := upper(5)\n'), [
    'p.rego:3:6: rego_type_error: upper: invalid argument(s)\n\thave: (number, ???)\n\twant: (x: string, y: string)',
  ])
  t.same(typeErrors('package p\n\nallow if count(5)\n'), [
    `p.rego:3:10: rego_type_error: count: invalid argument(s)\n\thave: (number)\n\twant: (collection: ${COLLECTION}, n: number)`,
  ], 'a call that is an expression of its own has no output operand')
})

t.test('types flow through variables, rules, functions and comprehensions', async t => {
  t.same(typeErrors('package p\n\nallow if {\n  x := "a"\n  y := x * 2\n  y > 0\n}\n'), [
    'p.rego:5:8: rego_type_error: mul: invalid argument(s)\n\thave: (string, number, ???)\n\twant: (x: number, y: number, z: number)',
  ], 'a local variable')
  t.same(typeErrors('package p\n\nname := "x"\n\nn := name + 1\n'), [
    'p.rego:5:6: rego_type_error: plus: invalid argument(s)\n\thave: (string, number, ???)\n\twant: (x: number, y: number, z: number)',
  ], 'a rule\'s value')
  t.same(typeErrors('package p\n\nnames contains "a"\n\nn := upper(names)\n'), [
    'p.rego:5:6: rego_type_error: upper: invalid argument(s)\n\thave: (set[string], ???)\n\twant: (x: string, y: string)',
  ], 'a partial set')
  t.same(typeErrors('package p\n\ninc(x) := x + 1\n\nv := inc("s")\n'), [
    'p.rego:5:6: rego_type_error: data.p.inc: invalid argument(s)\n\thave: (string, ???)\n\twant: (number, number)',
  ], 'a function\'s argument type comes from how its body uses it')
  t.same(typeErrors('package p\n\nfn(x) := [x]\n\ng(x) := {"a": x}\n\nr contains v if {\n  fn(1, y)\n  v := y[0]\n  g(2, z)\n  z.a == 2\n}\n'), [],
    'an argument nothing types is any in the result: a call\'s output argument can be indexed (OPA\'s indirectreferences "user call")')
  t.same(typeErrors('package p\n\nxs := [x | some x in [1, 2]]\n\nv := lower(xs[0])\n'), [
    'p.rego:5:6: rego_type_error: lower: invalid argument(s)\n\thave: (number, ???)\n\twant: (x: string, y: string)',
  ], 'comprehensions and `some ... in`')
  t.same(typeErrors('package p\n\nallow if {\n  every x in ["a"] { x + 1 > 0 }\n}\n'), [
    'p.rego:4:22: rego_type_error: plus: invalid argument(s)\n\thave: (string, number, ???)\n\twant: (x: number, y: number, z: number)',
  ], '`every`')
  t.same(typeErrors('package p\n\nallow if {\n  [a, b] := split("a.b", ".")\n  a + b > 0\n}\n'), [
    'p.rego:5:3: rego_type_error: plus: invalid argument(s)\n\thave: (string, string, ???)\n\twant: (x: number, y: number, z: number)',
  ], 'array patterns take the element types')
  t.same(typeErrors('package p\n\nallow if {\n  x := 1\n  x = "a"\n}\n'), [
    'p.rego:5:3: rego_type_error: match error\n\tleft  : number\n\tright : string',
  ], 'unification of incompatible types')
})

t.test('references a known value cannot have', async t => {
  t.same(typeErrors('package p\n\nobj := {"a": 1}\n\nallow if obj.b == 1\n'), [
    'p.rego:5:10: rego_type_error: undefined ref: data.p.obj.b\n\tdata.p.obj.b\n\t           ^\n\t           have: "b"\n\t           want (one of): ["a"]',
  ])
  t.same(typeErrors('package p\n\nn := 5\n\nallow if n.x\n'), [
    'p.rego:5:10: rego_type_error: undefined ref: data.p.n.x\n\tdata.p.n.x\n\t^^^^^^^^\n\thave: number',
  ])
  t.same(typeErrors('package p\n\nallow if {\n  x := {"a": 1}\n  x.a == 1\n  input.anything.goes == 1\n  data.other.tree[_] == 1\n}\n'), [], 'known keys, input and base data are fine')
  // A collection literal indexed directly: OPA moves it into a local (__local0__) and checks the
  // key against its type; we name the literal itself.
  t.same(typeErrors('package p\n\nv := [1, 2]["a"]\n'), [
    'p.rego:3:6: rego_type_error: undefined ref: [1, 2].a\n\t[1, 2].a\n\t       ^\n\t       have: "a"\n\t       want (type): number',
  ], 'an array literal has number keys')
  t.same(typeErrors('package p\n\nv := {"a": 1}.b\n'), [
    'p.rego:3:6: rego_type_error: undefined ref: {"a": 1}.b\n\t{"a": 1}.b\n\t         ^\n\t         have: "b"\n\t         want (one of): ["a"]',
  ], 'an object literal has its keys')
  t.equal(typeErrors('package p\n\nv := [1][5]\n').length, 1, 'past the end of an array literal')
  t.same(typeErrors('package p\n\nv := [1, 2][1]\nw := {"a": {"b": 1}}.a.b\nx := {k: 1 | k := input[_]}.b\ny := [x | x := input[_]][3]\nz := [1][i] if i := input.i\n'), [],
    'keys a literal has, comprehensions with any keys, variable keys')
})

t.test('a rule with a ground reference has no rules below it (OPA\'s CheckRuleConflicts)', async t => {
  const diag = (...sources: string[]): string[] =>
    checkSources({ modules: sources.map((source, i) => ({ file: `m${i}.rego`, source })) }).map(formatDiagnostic)
  t.same(diag('package t\n\na.b := 1\n\na.b.c := 2\n'), ['m0.rego:3:1: rego_type_error: rule data.t.a.b conflicts with [data.t.a.b.c]'],
    'both were merged into {"b": {"c": 2}} before, dropping a.b := 1')
  t.same(diag('package t\n\na.b contains 1\n\na.b.c := 2\n\na.b.d.e := 3\n'), ['m0.rego:3:1: rego_type_error: rule data.t.a.b conflicts with [data.t.a.b.c data.t.a.b.d.e]'], 'a multi-value rule too')
  t.same(diag('package t\n\nf(x) := x\n\nf.g := 1\n'), ['m0.rego:3:1: rego_type_error: rule data.t.f conflicts with [data.t.f.g]'], 'a function')
  t.same(diag('package t\n\na := 1\n', 'package t.a\n\nb := 2\n'), [
    'm0.rego:3:1: rego_type_error: rule data.t.a conflicts with [data.t.a.b]',
    'm1.rego:1:1: rego_type_error: package t.a conflicts with rule a defined at m0.rego:3',
  ], 'a package below a rule')
  // OPA's TestCompilerCheckRuleConflictsDotsInRuleHeads, "module conflict: non-ref rule" / "ref rule"
  t.same(diag('package pkg.q\n\nr if true\n', 'package pkg.q.r\n'), ['m1.rego:1:1: rego_type_error: package pkg.q.r conflicts with rule r defined at m0.rego:3'], 'an empty package at a rule\'s path')
  t.same(diag('package pkg\n\np.q.r if true\n', 'package pkg.p.q.r\n'), ['m1.rego:1:1: rego_type_error: package pkg.p.q.r conflicts with rule p.q.r defined at m0.rego:3'], 'at a ref-head rule\'s path')
  t.same(diag('package pkg.q\n\nr if true\n', 'package pkg.q.s\n'), [], 'a sibling package is fine')
  t.same(diag('package t\n\na.b[x] := 1 if some x in ["y"]\n\na.b.c := 2\n', 'package t.u\n\nv := 1\n\nw.z := 2\n'), [], 'a reference with a variable may have rules below it; siblings are fine')
})

t.test('local variables declared after use or twice, as OPA\'s compiler reports them (and stops)', async t => {
  const diag = (body: string): string[] =>
    checkSources({ modules: [{ file: 'd.rego', source: `package t\n\n${body}\n` }] }).map(formatDiagnostic)
  t.same(diag('p if {\n  x == 1\n  x := 2\n}'), ['d.rego:5:3: rego_compile_error: var x referenced above'], 'used, then declared with :=')
  t.same(diag('q := 1\np if {\n  q == 1\n  q := 2\n}'), ['d.rego:6:3: rego_compile_error: var q referenced above'], 'a rule\'s name used, then declared')
  t.same(diag('p if {\n  some x\n  x := 1\n}'), ['d.rego:5:3: rego_compile_error: var x declared above'])
  t.same(diag('p if {\n  some x\n  some x\n  input[x]\n}'), ['d.rego:5:3: rego_compile_error: var x declared above'], 'at the second some')
  t.same(diag('p if {\n  x := 1\n  some x\n  x == 1\n}'), ['d.rego:5:3: rego_compile_error: var x assigned above'])
  t.same(diag('p if {\n  x := 1\n  x := x\n}'), ['d.rego:5:3: rego_compile_error: var x assigned above'], 'the right side is read first')
  t.same(diag('f(a) if {\n  some a\n  a == 1\n}'), ['d.rego:4:3: rego_compile_error: arg a redeclared'])
  t.same(diag('f([a, {"k": b}]) if {\n  b := 1\n  a == b\n}'), ['d.rego:4:3: rego_compile_error: arg b redeclared'], 'arguments inside arrays and object values')
  t.same(diag('p if {\n  x == 1\n  some x in [1]\n}'), ['d.rego:5:3: rego_compile_error: var x referenced above'], 'some ... in declares')
  t.same(diag([
    'p if {\n  x := 1\n  ys := [y | x := 2; y := x]\n  count(ys) == x\n}',
    'q if {\n  x := 1\n  every x in [1] { x > 0 }\n}',
    'f(a) := b if {\n  b := [a | some a in [1]]\n}',
    'r if {\n  ys := [x | x := input[_]]\n  x := count(ys)\n  x > 0\n}',
    's := y if {\n  some x in input\n  y := x\n} else := z if {\n  z := 1\n}',
  ].join('\n\n')), [], 'comprehensions and every may shadow outer names (arguments too); a name only used inside a comprehension is free outside; else branches are scopes of their own')
  t.same(diag('p if {\n  input.a := 1\n}'), ['d.rego:4:3: rego_compile_error: cannot assign to ref'], 'was "var input is unsafe"')
  t.same(diag('p if {\n  "a" := 1\n}'), ['d.rego:4:3: rego_compile_error: cannot assign to string'])
  t.same(diag('p if {\n  not x := 1\n}'), ['d.rego:4:3: rego_compile_error: cannot assign vars inside negated expression'], 'was "var x is unsafe"')
  t.same(diag('p if {\n  [x, _] := [2, 1]\n  {"k": y} := {"k": x}\n  y == 2\n}'), [], 'arrays and objects may be assigned to')
  t.same(diag('f({{a | a := 1; a := 2}}) if true'), ['d.rego:3:17: rego_compile_error: var a assigned above'], 'a comprehension in a function argument is a body too')
  t.same(diag('g({x | x := 1}) if true'), [], 'and may declare its own names')
  // OPA's TestRewriteLocalVarDeclarationErrors: `[z, 1] := [1, 2]` assigns to a number
  t.same(diag('p if {\n  [z, 1] := [1, 1]\n  z == 1\n}'), ['d.rego:4:7: rego_compile_error: cannot assign to number'], 'a constant inside an array')
  t.same(diag('p if {\n  {"a": z, "b": "x"} := {"a": 1, "b": "x"}\n  z == 1\n}'), ['d.rego:4:17: rego_compile_error: cannot assign to string'], 'an object value (keys may be constants)')
  t.same(diag('p if {\n  [z, [y, input.x]] := [1, [2, 3]]\n  z == y\n}'), ['d.rego:4:11: rego_compile_error: cannot assign to ref'], 'nested')
  // the same mistakes in a v0 module
  t.same(checkSources({ modules: [{ file: 'v0.rego', source: 'package t\n\np { x = 1; x := 2 }\n' }], regoVersion: 0 }).map(formatDiagnostic),
    ['v0.rego:3:12: rego_compile_error: var x referenced above'])
})

t.test('unused `some` and `every` variables are errors without --strict, in v0 modules too (OPA\'s RewriteLocalVars)', async t => {
  const diag = (body: string, regoVersion: 0 | 1 = 1): string[] =>
    checkSources({ modules: [{ file: 'd.rego', source: `package d\n\n${body}\n` }], regoVersion }).map(formatDiagnostic)
  t.same(diag('p if {\n  some x\n  input.a == 1\n}'), ['d.rego:4:3: rego_compile_error: declared var x unused'], 'at the some expression')
  t.same(diag('p if {\n  some x, y\n  input.a[x] == 1\n}'), ['d.rego:4:3: rego_compile_error: declared var y unused'], 'one of two')
  t.same(diag('p if {\n  every x in [1] {\n    true\n  }\n}'), ['d.rego:5:5: rego_compile_error: declared var x unused'], 'an every value, at the body\'s first expression')
  t.same(diag('p if {\n  every k, v in {"a": 1} { v == 1 }\n}'), ['d.rego:4:28: rego_compile_error: declared var k unused'], 'an every key')
  t.same(diag('p if {\n  x := [1 | some y; true]\n  x[0] == 1\n}'), ['d.rego:4:13: rego_compile_error: declared var y unused'], 'inside a comprehension')
  t.same(diag('p {\n  some x\n  input.a == 1\n}', 0), ['d.rego:4:3: rego_compile_error: declared var x unused'], 'a v0 module')
  t.same(diag([
    'p if {\n  every _, v in {"a": 1} { v == 1 }\n}',
    'q if {\n  some x in [1]\n  true\n}',
    'r if {\n  some k, v in {"a": 1}\n  v == 1\n}',
    's contains x if {\n  some x\n  input.a[x]\n}',
    't if {\n  some x\n  ys := [y | y := input.a[x]]\n  count(ys) > 0\n}',
    'u if {\n  some x\n  input.b[x]\n  every y in input.a { y != x }\n}',
    'v := o if {\n  some k\n  o := {k: 1 | input.a[k]}\n}',
  ].join('\n\n')), [], 'used later, in the head, in a comprehension or an every body; some ... in always uses its variables')
})

t.test('argument counts, with OPA\'s have/want', async t => {
  t.same(typeErrors('package p\n\nv := upper("a", "b", "c")\n'), [
    'p.rego:3:6: rego_type_error: upper: too many arguments\n\thave: (string, string, string, ???)\n\twant: (x: string, y: string)',
  ])
  t.same(typeErrors('package p\n\nv := replace("a", "b")\n'), [
    'p.rego:3:6: rego_type_error: replace: too few arguments\n\thave: (string, string, ???)\n\twant: (x: string, old: string, new: string, y: string)',
  ])
  // A nested call's implicit output counts, as in OPA's rewritten call: the output argument
  // is allowed only where the call is an expression of its own (it then unifies the result).
  t.same(typeErrors('package p\n\nv := upper("a", "b")\n'), [
    'p.rego:3:6: rego_type_error: upper: too many arguments\n\thave: (string, string, ???)\n\twant: (x: string, y: string)',
  ])
  t.same(typeErrors('package p\n\nv := [count([1], 1)]\n'), [
    'p.rego:3:7: rego_type_error: count: too many arguments\n\thave: (array<number>, number, ???)\n\twant: (collection: any<string, array[any], object[any: any], set[any]>, n: number)',
  ])
  t.same(typeErrors('package p\n\nf(x) := x\n\nv := f(1, 2)\n'), [
    'p.rego:5:6: rego_type_error: data.p.f: too many arguments\n\thave: (number, number, ???)\n\twant: (any, any)',
  ])
  t.same(typeErrors('package p\n\nf(x) := x\n\nv if {\n  upper("a", "A")\n  count([1], 1)\n  f(1, 1)\n}\n'), [], 'an expression of its own may give the output')
  // compileModules reports it once (the planner's own arity message is dropped)
  try {
    compileModules({ modules: [{ file: 'p.rego', source: 'package p\n\nv := upper("a", "b", "c")\n' }], entrypoints: [] })
    t.fail('expected an error')
  } catch (e) {
    t.same((e as CompileError).diagnostics.map(d => d.message), ['upper: too many arguments'])
  }
})

t.test('valid policies are accepted: unknown is any, unions unify', async t => {
  const valid = `package v

import data.lib
import input.attributes.request.http as req

default allow := false

allow if {
  req.method == "GET"
  startswith(req.path, "/api/")
  some role in input.user.roles
  role in data.roles[req.path]
}

allow if {
  [_, payload, _] := io.jwt.decode(input.token)
  payload.sub == "admin"
  time.now_ns() < payload.exp * 1000000000
}

level := "admin" if input.admin else := 3

mixed := level
bump := mixed + 1 if is_number(mixed)
shout := upper(mixed) if is_string(mixed)

deny contains msg if {
  some i, c in input.containers
  not startswith(c.image, "registry.local/")
  msg := sprintf("container %d (%s) uses %v", [i, c.name, c.image])
}

count_denied := count(deny)
names := {n | some c in input.containers; n := c.name}
by_name := {c.name: c | some c in input.containers}
first := names_list[0] if names_list := sort(names)
paths contains p if walk(input, [p, _])
total := sum([x | some x in input.amounts])
pairs := [[k, v] | some k, v in {"a": 1}]
kv := object.get(input, ["a", "b"], "default")
ok if concat(",", ["a", lib.name]) != ""
ok if glob.match("*.x", [], input.host)
ok if regex.match("^a", input.s)
ok if net.cidr_contains("10.0.0.0/8", input.ip)
ok if count(input.list) > count({"a"})
ok if { x := input.n; x + 1 > 0; count(x) > 0 }
ok if lib.f(1) == lib.f("a")
f(x) := x
g := f(1) + f(2)
h := upper(f("a"))
`
  t.same(typeErrors(valid), [])
  // the shipped policies and the v0 Gatekeeper fixture
  for (const [p, v0] of [['policies', false], ['test/compiler/fixtures/v0-k8s', true]] as const) {
    const { modules } = await loadSources([p])
    t.same(checkSources({ modules, ...(v0 ? { regoVersion: 0 as const } : {}) }).map(formatDiagnostic), [], `${p} checks clean`)
  }
})

t.test('strict mode (opa check --strict)', async t => {
  const source = `package s

import data.used
import data.unused
import input.x as alias

f(a, b) := a

p if {
  v := 1
  some w
  input.z == used.q
}

data := 1

q if {
  input := 2
  cast_string(1) == "1"
}

r := any([true])
`
  const lax = checkSources({ modules: [{ file: 's.rego', source }] })
  t.same(lax.map(formatDiagnostic), [
    's.rego:15:1: rego_compile_error: rules must not shadow data (use a different rule name)',
    's.rego:18:3: rego_compile_error: variables must not shadow input (use a different variable name)',
    's.rego:19:3: rego_type_error: deprecated built-in function calls in expression: cast_string',
    's.rego:22:6: rego_type_error: deprecated built-in function calls in expression: any',
  ], 'without --strict, what OPA 1.x rejects in any Rego v1 module (its parser stops there: the unused some variable is not reached)')
  t.same(checkSources({ modules: [{ file: 'v0.rego', source: 'package s\n\nr := any([true])\n\ndata := 1\n' }], regoVersion: 0 }).map(formatDiagnostic), [], 'a v0 module may use them')
  t.same(checkSources({ modules: [{ file: 'u.rego', source: 'package u\n\nany(xs) := true if { some x in xs; x }\n\np := any([true])\n' }], strict: true }).map(formatDiagnostic), [], 'a function of the package named like a deprecated builtin')
  const strict = checkSources({ modules: [{ file: 's.rego', source }], strict: true })
  t.same(strict.map(formatDiagnostic), [
    's.rego:4:1: rego_compile_error: import data.unused unused',
    's.rego:5:1: rego_compile_error: import input.x as alias unused',
    's.rego:7:6: rego_compile_error: unused argument b. (hint: use _ (wildcard variable) instead)',
    's.rego:10:3: rego_compile_error: assigned var v unused',
    's.rego:11:3: rego_compile_error: declared var w unused',
    's.rego:15:1: rego_compile_error: rules must not shadow data (use a different rule name)',
    's.rego:18:3: rego_compile_error: variables must not shadow input (use a different variable name)',
    's.rego:19:3: rego_type_error: deprecated built-in function calls in expression: cast_string',
    's.rego:22:6: rego_type_error: deprecated built-in function calls in expression: any',
  ])
  const v0dup = checkSources({ modules: [{ file: 'd.rego', source: 'package d\n\nimport data.a.x\nimport data.b.x\n\np { x }\n' }], regoVersion: 0, strict: true })
  t.same(v0dup.map(formatDiagnostic), ['d.rego:4:1: rego_compile_error: import must not shadow import data.a.x'], 'duplicate imports (a v0 module)')
})

t.test('type algebra: OPA\'s printing, unions and unification', async t => {
  const S = { type: 'string' } as const
  const N = { type: 'number' } as const
  t.equal(typeString(anyOf([{ type: 'set', of: { type: 'any' } }, N, S])), 'any<number, string, set[any]>', 'members in OPA\'s order')
  t.equal(typeString({ type: 'object', static: [{ key: 'b', value: N }, { key: 'a', value: S }], dynamic: { key: S, value: N } }), 'object<a: string, b: number>[string: number]')
  t.equal(typeString({ type: 'array', static: [N, S] }), 'array<number, string>')
  t.equal(typeString(undefined), '???')
  t.same(or(N, N), N)
  t.equal(typeString(or(or(N, S), N)), 'any<number, string>')
  t.ok(unifies(or(N, S), S))
  t.notOk(unifies(N, S))
  t.ok(unifies({ type: 'any' }, N))
  t.notOk(unifies(undefined, N), 'an unknown type unifies with nothing')
  t.ok(unifies({ type: 'array', static: [N, N] }, { type: 'array', dynamic: N }))
  t.notOk(unifies({ type: 'array', static: [N, S] }, { type: 'array', dynamic: N }))
})

t.test('a rule reference starting with input or data shadows it (OPA: checkKeywordOverrides, the leading term of a rule ref)', async t => {
  const diag = (body: string): string[] =>
    checkSources({ modules: [{ file: 'k.rego', source: `package t\n\n${body}\n` }] }).map(formatDiagnostic)
  t.same(diag('input.a if true'), ['k.rego:3:1: rego_compile_error: rules must not shadow input (use a different rule name)'])
  t.same(diag('input.a := 1 if true'), ['k.rego:3:1: rego_compile_error: rules must not shadow input (use a different rule name)'])
  t.same(diag('data.b.c := "foo" if true'), ['k.rego:3:1: rego_compile_error: rules must not shadow data (use a different rule name)'])
  t.same(diag('a.input := 1 if true'), [], 'only the leading term')
})

t.test('a typed variable key the value cannot have is an undefined ref (OPA: TestCheckRefErrInvalid)', async t => {
  const diag = (body: string): string[] =>
    checkSources({ modules: [{ file: 'r.rego', source: `package test\n\n${body}\n` }] }).map(formatDiagnostic)
  t.same(diag('obj := {"a": 1, "b": 2}\np if { k := 1; obj[k] }'),
    ['r.rego:4:16: rego_type_error: undefined ref: data.test.obj[k]\n\tdata.test.obj[k]\n\t              ^\n\t              have (type): number\n\t              want (one of): ["a" "b"]'])
  t.same(diag('arr := [1, 2]\np if { k := "a"; arr[k] }'),
    ['r.rego:4:18: rego_type_error: undefined ref: data.test.arr[k]\n\tdata.test.arr[k]\n\t              ^\n\t              have (type): string\n\t              want (type): number'])
  t.same(diag('obj := {"a": 1, "b": 2}\np if { k := "a"; obj[k] }\nq if { some k; obj[k] }\nr if { k := 1; input.x[k] }'), [], 'a key it can have, an untyped variable, input')
})

t.test('duplicate imports are checked by name, input too (OPA: checkDuplicateImports)', async t => {
  const diag = (source: string): string[] => checkSources({ modules: [{ file: 'i.rego', source }] }).map(formatDiagnostic)
  t.same(diag('package t\nimport input\nimport input\np := input.x\n'), ['i.rego:3:1: rego_compile_error: import must not shadow import input'])
  t.same(diag('package t\nimport data.a\nimport data.b as a\np := a\n'), ['i.rego:3:1: rego_compile_error: import must not shadow import data.a'], 'the message names the first import as written')
})

t.test('object.* and json.filter/remove results are typed as OPA types them since PR #8849', async t => {
  // They were `any`, so these compiled and were undefined at run time.
  t.same(typeErrors('package p\n\nn := count(object.subset({"a": 1}, {"a": 1}))\n'), [
    `p.rego:3:6: rego_type_error: count: invalid argument(s)\n\thave: (boolean, ???)\n\twant: (collection: ${COLLECTION}, n: number)`,
  ])
  t.same(typeErrors('package p\n\nn := object.union({"a": 1}, {"b": 2}) + 1\n'), [
    'p.rego:3:6: rego_type_error: plus: invalid argument(s)\n\thave: (object[any: any], number, ???)\n\twant: (x: number, y: number, z: number)',
  ])
  t.same(typeErrors('package p\n\nn := upper(json.remove({"a": 1}, ["a"]))\n'), [
    'p.rego:3:6: rego_type_error: upper: invalid argument(s)\n\thave: (object[any: any], ???)\n\twant: (x: string, y: string)',
  ])
  t.same(typeErrors('package p\n\nallow if object.subset(input.claims, {"admin": true})\n\nb := object.filter({"a": 1}, ["a"]).a\n\nc := object.union_n([{"a": 1}])\n'), [], 'the usual uses still type-check')
})

t.test('function arguments OPA refuses: calls, and input or data (its compile_test.go cases)', async t => {
  // Both compiled here: f(2) returned 7, and `f(input)` shadowed the input document.
  const diag = (source: string, regoVersion?: 0): string[] =>
    checkSources({ modules: [{ file: 'a.rego', source: `package test\n\n${source}\n` }], ...(regoVersion === 0 ? { regoVersion } : {}) }).map(formatDiagnostic)
  t.same(diag('f(1+1) := 7'), ['a.rego:3:3: rego_compile_error: rule arguments cannot contain calls'])
  t.same(diag('f(1+1) = 7', 0), ['a.rego:3:3: rego_compile_error: rule arguments cannot contain calls'], 'Rego v0 too')
  t.same(diag('f([count([1])]) := 7'), ['a.rego:3:4: rego_compile_error: rule arguments cannot contain calls'], 'inside an array')
  t.same(diag('f([input]) if { true }'), ['a.rego:3:1: rego_compile_error: args must not shadow input (use a different variable name)'])
  t.same(diag('f(data) if { true }'), ['a.rego:3:1: rego_compile_error: args must not shadow data (use a different variable name)'])
  t.same(diag('f({"k": input}) if { true }'), ['a.rego:3:1: rego_compile_error: args must not shadow input (use a different variable name)'], 'an object value')
  t.same(diag('f(input.x) := 1\n\nf([1][0]) := 2\n\ng({count([1])}) := 3\n\np := [f(1), g({1})]'), [], 'a reference into input, an indirect reference and a set are fine')
})

t.test('--strict: a local of the same name is not a use of an import or an argument (OPA compile_test.go)', async t => {
  const strict = (source: string, regoVersion?: 0): string[] =>
    checkSources({ modules: [{ file: 's.rego', source: `package test\n\n${source}\n` }], strict: true, ...(regoVersion === 0 ? { regoVersion } : {}) }).map(formatDiagnostic)
  t.same(strict('import data.foo\n\nr { f(1) }\n\nf(foo) = foo == 1', 0), ['s.rego:3:1: rego_compile_error: import data.foo unused'], 'an argument named like the import')
  t.same(strict('import data.foo\n\nr { foo := true; foo }', 0), ['s.rego:3:1: rego_compile_error: import data.foo unused'], 'a local assigned')
  t.same(strict('import data.foo\n\nr if { x := [foo | true]; x }'), [], 'read inside a comprehension: used')
  t.same(strict('import data.foo\n\nf(foo.bar) := 1'), [], 'a reference argument reads it')
  t.same(strict('a := {"foo": 1}\n\nfunc(x) := {x: v | x := "foo"; v := a[x]} if { input.test == "foo" }'),
    ['s.rego:5:6: rego_compile_error: unused argument x. (hint: use _ (wildcard variable) instead)'], 'the comprehension\'s own x')
  t.same(strict('f(x) := y if { y := x }\n\ng(x, x) := 1\n\nh(x) := 1 if { true } else := x'), [], 'read in the body, repeated, read in an else')
})

t.test('a composite or reference key a typed value cannot have is an undefined ref (OPA check_test.go TestCheckRefErrInvalid)', async t => {
  // Only a typed variable key was checked: these compiled and were undefined.
  const errs = (body: string): string[] => checkSources({ modules: [
    { file: 'a.rego', source: 'package test\n\nq := {"foo": 1, "bar": 2}\n' },
    { file: 'b.rego', source: `package other\n\nr if {\n  ${body}\n}\n` },
  ] }).map(d => d.message)
  t.same(errs('data.test.q[[1, 2]]'), ['undefined ref: data.test.q[...]'])
  t.same(errs('arr := [1]\n  data.test.q[arr[0]]'), ['undefined ref: data.test.q[...]'])
  t.same(errs('o := {"a": 1}\n  arr := [1]\n  o[arr[0]]'), ['undefined ref: o[...]'])
  t.same(errs('a := {[1], [2]}\n  a[["foo"]]'), ['undefined ref: a[...]'])
  t.same(errs('arr := ["foo"]\n  data.test.q[arr[0]]\n  data.test[arr[0]]\n  data[2]\n  data.test.q["bar"]'), [], 'string keys, and data[2] (OPA reads data["2"])')
})

// Review helper, 2026-12-07: two programs OPA compiles that we refused.
t.test('a package below a rule with a variable in its reference is no conflict (OPA exempts such rules)', async t => {
  const diag = (...sources: string[]): string[] =>
    checkSources({ modules: sources.map((source, i) => ({ file: `m${i}.rego`, source })) }).map(formatDiagnostic)
  t.same(diag('package a.b\n\nc := 1\n', 'package a\n\nb[k] := 2 if k := input.k\n'), [])
  t.same(diag('package a.b\n\nc := 1\n', 'package a\n\nb := 2\n'), [
    'm0.rego:1:1: rego_type_error: package a.b conflicts with rule b defined at m1.rego:3',
    'm1.rego:3:1: rego_type_error: rule data.a.b conflicts with [data.a.b.c]',
  ], 'a ground rule still conflicts')
  const { loadRego } = await import('../../src/policy/eval/rego.js')
  const { policy } = await loadRego({ modules: [{ file: 'a.rego', source: 'package a.b\n\nc := 1\n' }, { file: 'b.rego', source: 'package a\n\nb[k] := 2 if k := input.k\n' }], entrypoints: ['a'] }, {})
  t.same(policy.evaluate({ k: 'z' }, 'a')[0]?.result, { b: { c: 1, z: 2 } }, 'both documents, as OPA evaluates data.a')
  t.throws(() => policy.evaluate({ k: 'c' }, 'a'), /eval_conflict_error/, 'a clash on a key is an error when evaluated')
})

t.test('every waits for the outer variables its body reads, as OPA orders closures', async t => {
  const { runRego } = await import('./run-rego.js')
  const src = 'package test\n\np if {\n  every r in input.roles { r in allowed }\n  allowed = {"a", "b"}\n}\n'
  t.same(await runRego(src, { roles: ['a'] }), { value: true })
  t.same(await runRego(src, { roles: ['a', 'c'] }), {}, 'a role outside the set: undefined')
  t.same(await runRego(src, { roles: [] }), { value: true })
  const assigned = await runRego(src.replace('allowed = ', 'allowed := '), { roles: ['a'] })
  t.match(assigned.error, /var allowed is unsafe/, 'declared with := after its use: unsafe, as in OPA')
})
