// Safety and reordering: a name declared inside a comprehension (`some x`, `some x in xs`,
// `x := ...`, an `every` variable) is that comprehension's own local, so it never waits for
// an outer variable of the same name (which used to give a false "var x is unsafe").
import t from 'tap'
import { CompileError, compileModules } from '../../src/compiler/index.js'
import { loadWasmPolicy } from '../../src/policy/eval/index.js'

async function evalRego (source: string, entrypoint: string, input?: unknown): Promise<unknown> {
  const c = compileModules({ modules: [{ file: 'p.rego', source }], entrypoints: [entrypoint] })
  const p = await loadWasmPolicy(c.wasm)
  const rs = p.evaluate(input as object, entrypoint) as Array<{ result: unknown }>
  return rs.length === 0 ? undefined : rs[0].result
}

t.test('a comprehension variable named like a later `some x in ...` of the same body', async t => {
  const src = `package u
p if {
  xs := [x | some x in input.a]
  some x in xs
  x > 1
}
q contains x if {
  zs := [x | x := input.a[_]]
  some x in zs
  x > 1
}
r contains x if {
  zs := {x | some i; x := input.a[i]; every x in [1] { x > 0 }}
  some x in zs
}
s contains [x, ys] if {
  some x in input.b
  ys := {y | some y in input.a; y > x}
}
`
  const input = { a: [1, 2, 3], b: [1, 2] }
  t.equal(await evalRego(src, 'u/p', input), true)
  t.same(await evalRego(src, 'u/q', input), [2, 3])
  t.same(await evalRego(src, 'u/r', input), [1, 2, 3])
  t.same(await evalRego(src, 'u/s', input), [[1, [2, 3]], [2, [3]]], 'an outer variable used inside still waits for its binding')
})

t.test('a comprehension bound variable named like a later declaration is its own', async t => {
  // OPA scopes `some`/`:=` declarations from the declaration on: an x the comprehension
  // binds before the outer `some x` is the comprehension's own variable.
  const src = `package u
p contains x if {
  xs := [x | input.a[_] = x]
  some x in xs
  x > 1
}
q contains x if {
  xs := [x | x = input.a[_]]
  some x
  xs[x]
}
`
  const input = { a: [1, 2, 3] }
  t.same(await evalRego(src, 'u/p', input), [2, 3])
  t.same(await evalRego(src, 'u/q', input), [0, 1, 2])
})

t.test('a comprehension that reads an outer (undeclared) variable still waits for it', async t => {
  const src = `package w
p contains ys if {
  ys := [y | some y in input.a; y > x]
  x = input.b[_]
}
q contains ys if {
  some x in input.b
  ys := [y | some y in input.a; y > x]
}
`
  t.same(await evalRego(src, 'w/p', { a: [1, 2, 3], b: [2] }), [[3]])
  t.same(await evalRego(src, 'w/q', { a: [1, 2, 3], b: [2] }), [[3]])
})

t.test('a name used in a comprehension and nowhere bound is still unsafe', async t => {
  const src = `package v
p if {
  xs := [x | x > 1]
  count(xs) > 0
}
`
  try {
    compileModules({ modules: [{ file: 'p.rego', source: src }], entrypoints: ['v/p'] })
    t.fail('expected a compile error')
  } catch (e) {
    t.ok(e instanceof CompileError)
    t.match((e as CompileError).diagnostics.map(d => `${d.code}: ${d.message}`).join('\n'), /rego_unsafe_var_error: var x is unsafe/)
  }
})

t.test('a variable a reference in a call\'s arguments iterates over is bound for the whole call (OPA\'s planner-ir "fixpoint key/value")', async t => {
  const src = `package f
p := foo if {
  some foo
  foo == input.foos[foo]
}
q contains i if count(input.x[i]) > i
r contains [i, j] if input.a[i] == input.b[j]
`
  t.equal(await evalRego(src, 'f/p', { foos: [2, 1, 0] }), 1, 'the variable on the left of == is bound by the reference on the right')
  t.equal(await evalRego(src, 'f/p', { foos: ['foo'] }), undefined)
  t.same(await evalRego(src, 'f/q', { x: ['a', 'bbb', 'cc'] }), [0, 1], 'through a nested call')
  t.same(await evalRego(src, 'f/r', { a: [1, 2], b: [2, 1] }), [[0, 1], [1, 0]])
  t.throws(() => compileModules({ modules: [{ file: 'p.rego', source: 'package f\np if { some x; x == count(input) }\n' }], entrypoints: ['f/p'] }), CompileError, 'a variable nothing binds is still unsafe')
})

t.test(':= reads its right-hand side: the left-hand side never makes it safe (OPA PR #8874, issue #3546)', async t => {
  const compileError = (body: string): string => {
    try {
      compileModules({ modules: [{ file: 'p.rego', source: `package a\n\np if {\n  ${body}\n}\n` }], entrypoints: ['a/p'] })
      return ''
    } catch (e) {
      t.type(e, CompileError)
      return (e as Error).message
    }
  }
  // Before, the checker reordered `x = 7` first and then let `x := y` bind y to 7.
  t.match(compileError('x := y\n  x = 7'), /rego_unsafe_var_error: var y is unsafe/)
  t.match(compileError('[a, b] := [c, 1]\n  a = 2'), /var c is unsafe/, 'destructuring too')
  // Other expressions still make the right-hand side safe, in any order, and references on the
  // right still iterate.
  t.equal(compileError('x := y\n  y = 7'), '')
  t.equal(compileError('some k\n  v := input.obj[k]'), '')
  t.equal(compileError('[a, b] := [c, 1]\n  c = 2'), '')
  t.equal(await evalRego('package a\n\np := x if {\n  x := y\n  y = 7\n}\n', 'a/p', {}), 7)
})

// A call given as many arguments as it takes has no output argument: its arguments are inputs,
// and the expression that binds them goes first, as OPA orders it (a Gatekeeper library
// policy builds `[s | s = concat(":", [key, val]); val = obj.spec.selector[key]]`). Before,
// `upper(v)` inside `=`, `:=` or `==` was taken for the output form `upper(out)` and the body
// failed to compile with "var v is unsafe".
t.test('a nested call waits for the expression that binds its arguments', async t => {
  const src = `package n
obj := {"a": "b", "c": "d"}
xs := [s | s = upper(v); v = obj[_]]
unify if { s = abs(v); v = -2; s == 2 }
assign := s if { s := abs(v); v = -2 }
compare if { abs(v) == 2; v = -2 }
f(x) := x * 10
user := s if { s = f(v); v = 2 }
pairs contains s if { s = concat(":", [k, "x"]); obj[k] }
output if { count([1, 2], n); n == 2 }
`
  t.same(await evalRego(src, 'n/xs'), ['B', 'D'])
  t.equal(await evalRego(src, 'n/unify'), true)
  t.equal(await evalRego(src, 'n/assign'), 2)
  t.equal(await evalRego(src, 'n/compare'), true)
  t.equal(await evalRego(src, 'n/user'), 20)
  t.same(await evalRego(src, 'n/pairs'), ['a:x', 'c:x'])
  t.equal(await evalRego(src, 'n/output'), true, 'a call with one more argument still binds it')
  t.throws(() => compileModules({ modules: [{ file: 'p.rego', source: 'package m\ne if { s = upper(q) }\n' }], entrypoints: ['m/e'] }), /var q is unsafe/, 'an argument nothing binds is still unsafe')
})

// A reference inside a composite term binds its key variables for the whole term, wherever the
// variable stands in it, as OPA (which pulls the reference out of the term first). Before, a
// variable written ahead of the reference that binds it was unsafe.
t.test('a variable bound by a reference later in the same term', async t => {
  const src = `package c
obj := {"a": "b", "c": "d"}
in_call contains s if { s = concat(":", [k, obj[k]]) }
in_array contains x if { x = [k, obj[k]] }
in_object contains x if { x := {"k": k, "v": obj[k]} }
in_nested_call contains x if { x = [k, upper(obj[k])] }
in_set contains x if { x = {k, obj[k]} }
compared if { [k, obj[k]] == ["c", "d"] }
filtered contains x if { x = [k, obj[k]]; k == "a" }
`
  t.same(await evalRego(src, 'c/in_call'), ['a:b', 'c:d'])
  t.same(await evalRego(src, 'c/in_array'), [['a', 'b'], ['c', 'd']])
  t.same(await evalRego(src, 'c/in_object'), [{ k: 'a', v: 'b' }, { k: 'c', v: 'd' }])
  t.same(await evalRego(src, 'c/in_nested_call'), [['a', 'B'], ['c', 'D']])
  t.same(await evalRego(src, 'c/in_set'), [['a', 'b'], ['c', 'd']])
  t.equal(await evalRego(src, 'c/compared'), true)
  t.same(await evalRego(src, 'c/filtered'), [['a', 'b']])
})

// OPA rewrites `some <term> in xs` to `<term> = xs[_]` and declares only that equality's output
// variables: a reference on the left is compared with each element (Spacelift's allowlist
// example, `some input.cmd in allowlist`). It was "var input is unsafe" here.
t.test('some <reference> in xs: the reference is compared, not declared', async t => {
  const src = `package s
import rego.v1
allowlist := ["ls", "ps"]
approve if some input.cmd in allowlist
pair if { some [input.a, x] in [[1, 2], [3, 4]]; x > 2 }
keyed if some input.k, "ps" in allowlist
`
  t.equal(await evalRego(src, 's/approve', { cmd: 'ls' }), true)
  t.equal(await evalRego(src, 's/approve', { cmd: 'rm' }), undefined)
  t.equal(await evalRego(src, 's/pair', { a: 3 }), true)
  t.equal(await evalRego(src, 's/pair', { a: 1 }), undefined)
  t.equal(await evalRego(src, 's/keyed', { k: 1 }), true)
  t.equal(await evalRego(src, 's/keyed', { k: 0 }), undefined)
})

t.test('two literals unify part by part, as OPA pairs them: objects by identical keys, arrays of one length', async t => {
  const unsafe = (src: string): string[] => {
    try {
      compileModules({ modules: [{ file: 'p.rego', source: `package u\n${src}\n` }], entrypoints: ['u/p'] })
      return []
    } catch (e) { return (e as CompileError).diagnostics.map(d => d.message).sort() }
  }
  // OPA's TestCompilerCheckSafetyBodyErrors, "unordered-object-keys"
  t.same(unsafe('p if { x = "a"; [{x: y, z: a}] = [{"a": 1, "b": 2}] }'), ['var a is unsafe', 'var y is unsafe', 'var z is unsafe'])
  t.same(unsafe('p if { x = "a"; {x: y} = {"a": 1} }'), ['var y is unsafe'], 'a variable key pairs with no constant key (it evaluated to undefined)')
  t.same(unsafe('p if { [y] = [1, 2] }'), ['var y is unsafe'], 'arrays of different lengths pair nothing')
  t.same(await evalRego('package u\np := [y, z] if { {"a": y, "b": z} = {"b": 2, "a": 1} }\n', 'u/p'), [1, 2], 'identical keys pair, in any order')
  t.same(await evalRego('package u\np if { x := "a"; {x: 1} = {"a": 1} }\n', 'u/p'), true, 'all bound: a comparison')
  t.same(await evalRego('package u\np := y if { {"k": [y, 2]} = {"k": [1, 2]} }\n', 'u/p'), 1, 'nested')
})

t.test('a comprehension re-declaring an enclosing variable reads the enclosing one on its right side', async t => {
  // OPA's rewriteDeclaredAssignment rewrites the right-hand side against the enclosing scope
  // before declaring the new variable (TestCompilerCheckUnusedAssignedVar, "rule with nested
  // array comprehension and shadowing"); this was "var x is unsafe"
  t.same(await evalRego('package u\np := y if { x := 2; y := [x | x := 2 * x] }\n', 'u/p'), [4])
  t.same(await evalRego('package u\np := y if { x := 2; y := {x | x := x + 1} }\n', 'u/p'), [3])
  t.same(await evalRego('package u\np := y if { x := 2; y := {x: v | x := x * 10; v := [x | x := x + 1]} }\n', 'u/p'), { 20: [21] }, 'nested, each level its own')
  t.same(await evalRego('package u\np := y if { x := 2; y := [z | x := x + 1; z := [x, 7]] }\n', 'u/p'), [[3, 7]], 'later expressions read the new one')
  t.same(await evalRego('package u\np if { x := 1; every v in [1] { x := x + v; x == 2 } }\n', 'u/p'), true, 'in an every body too')
  t.same(await evalRego('package u\np := y if { x := 2; y := [x | some x in [5]] }\n', 'u/p'), [5], 'a plain re-declaration is untouched')
})
