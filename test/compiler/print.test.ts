// print() as OPA compiles it: arguments as sets (undefined prints <undefined>, never fails the
// body), values formatted as Rego prints them, one line per combination; the loader's onPrint
// receives the lines; printStatements: false removes the calls from the module.
import t from 'tap'
import { CompileError, compileModules } from '../../src/compiler/index.js'
import { loadWasmPolicy } from '../../src/policy/eval/index.js'
import { parseJsonExact } from '../../src/exact-json.js'

async function run (source: string, entrypoint: string, input: unknown = {}, opts: { printStatements?: boolean } = {}): Promise<{ result: unknown; lines: string[]; eps: unknown[] }> {
  const c = compileModules({ modules: [{ file: 'p.rego', source }], entrypoints: [entrypoint], ...opts })
  const lines: string[] = []
  const eps: unknown[] = []
  const p = await loadWasmPolicy(c.wasm, {}, { onPrint: (l, ctx) => { lines.push(l); eps.push(ctx.entrypoint) } })
  const rs = p.evaluate(input, entrypoint) as Array<{ result: unknown }>
  return { result: rs.length === 0 ? undefined : rs[0].result, lines, eps }
}

t.test('values print as OPA prints them; undefined arguments do not fail the body', async t => {
  const src = `package p
import rego.v1
allow if {
  print("str", 1, 2.5, true, null, [1, "a"], {"k": {"x"}}, {1, 2}, set(), input.missing)
  print()
}
`
  const r = await run(src, 'p/allow')
  t.equal(r.result, true)
  t.same(r.lines, ['str 1 2.5 true null [1, "a"] {"k": {"x"}} {1, 2} set() <undefined>', ''])
  t.same(r.eps, ['p/allow', 'p/allow'])
})

t.test('an argument with several values prints one line per combination', async t => {
  const src = `package p
import rego.v1
r if {
  print("x", input.xs[_], input.ys[_])
}
`
  const r = await run(src, 'p/r', { xs: [1, 2], ys: ['a', 'b'] })
  t.same(r.lines, ['x 1 a', 'x 1 b', 'x 2 a', 'x 2 b'])
})

t.test('print runs once per solution', async t => {
  const src = `package p
import rego.v1
s contains y if {
  x = input.xs[_]
  print("bound", x)
  y := x * 10
}
f(a) := b if {
  print("f", a)
  b := a + 1
}
g := [v | some v in [1, 2]; print("in comprehension", v)]
h := f(1)
`
  t.same((await run(src, 'p/s', { xs: [1, 2] })).lines, ['bound 1', 'bound 2'])
  t.same((await run(src, 'p/g')).lines, ['in comprehension 1', 'in comprehension 2'])
  t.same((await run(src, 'p/h')).lines, ['f 1'])
})

t.test('a failing body after print still printed; a print in an unreached rule does not', async t => {
  const src = `package p
import rego.v1
default r := false
r if {
  print("tried", input.x)
  input.x > 1
}
`
  const r = await run(src, 'p/r', { x: 0 })
  t.equal(r.result, false)
  t.same(r.lines, ['tried 0'])
})

t.test('printStatements: false compiles print out entirely', async t => {
  const src = `package p
import rego.v1
r if {
  print("gone")
  input.x == 1
}
only if print("only statement")
`
  const c = compileModules({ modules: [{ file: 'p.rego', source: src }], entrypoints: ['p/r', 'p/only'], printStatements: false })
  t.notOk(c.hostBuiltins.includes('internal.print'), 'no internal.print import')
  t.notOk(Object.values(c.builtinsUsed).flat().includes('sprintf'))
  const lines: string[] = []
  const p = await loadWasmPolicy(c.wasm, {}, { onPrint: l => lines.push(l) })
  t.same(p.evaluate({ x: 1 }, 'p/r'), [{ result: true }])
  t.same(p.evaluate({}, 'p/only'), [{ result: true }], 'a body of only print calls is true')
  t.same(lines, [])
})

t.test('without onPrint, print does nothing', async t => {
  const c = compileModules({ modules: [{ file: 'p.rego', source: 'package p\nimport rego.v1\nr if print("x")\n' }], entrypoints: ['p/r'] })
  const p = await loadWasmPolicy(c.wasm)
  t.same(p.evaluate({}, 'p/r'), [{ result: true }])
})

t.test('print in v0, print as a value, a user function named print', async t => {
  const v0 = compileModules({ modules: [{ file: 'p.rego', source: 'package p\nr { print("v0", 1) }\n', regoVersion: 0 }], entrypoints: ['p/r'] })
  const lines: string[] = []
  const p = await loadWasmPolicy(v0.wasm, {}, { onPrint: l => lines.push(l) })
  t.same(p.evaluate({}, 'p/r'), [{ result: true }])
  t.same(lines, ['v0 1'])
  t.throws(() => compileModules({ modules: [{ file: 'p.rego', source: 'package p\nimport rego.v1\nx := print(1)\n' }], entrypoints: [] }),
    { name: 'CompileError', message: /p\.rego:3:6: rego_type_error: print: can only be used as a statement/ })
  const own = `package p
import rego.v1
print(x) := x
r := y if { y := print(2) }
`
  t.equal((await run(own, 'p/r')).result, 2)
  t.ok(CompileError)
})

t.test('numbers print as written (OPA prints each operand with its String())', async t => {
  const r = await run(`package p
allow if {
  print(2.0, [1e2], {"a": 0.50}, 1e21, 0.00001, 1234567.5, input.n, 7)
}
`, 'p/allow', parseJsonExact('{"n": 3.0}'))
  t.same(r.lines, ['2.0 [1e2] {"a": 0.50} 1e21 0.00001 1234567.5 3.0 7'], 'sprintf("%v") printed 2 [1e2] {"a": 0.50} 1e+21 1e-05 1.2345675e+06')
})

t.test('a variable print reads must be bound before it, as OPA rewrites print before ordering a body', async t => {
  const errors = (source: string): string[] => {
    try {
      compileModules({ modules: [{ file: 'p.rego', source }], entrypoints: ['p/allow'] })
      return []
    } catch (e) { return (e as CompileError).diagnostics.map((d) => `${d.loc.line}:${d.loc.col}: ${d.code}: ${d.message}`) }
  }
  // OPA's TestCompilerRewritePrintCallsErrors ("declared after print")
  t.same(errors('package p\nallow if {\n  print(x)\n  x = 7\n}\n'), ['3:9: rego_compile_error: var x is undeclared'])
  t.same(errors('package p\nallow if {\n  print({"k": z})\n}\n'), ['3:9: rego_compile_error: var z is undeclared'], 'no internal $print names in the message')
  t.same(errors('package p\nallow if {\n  y := [1 | print(x); true]\n  x := 1\n}\n'), ['3:19: rego_compile_error: var x is undeclared'], 'in a comprehension, before the outer binding')
  t.same(errors('package p\nq := 1\nf(a) := a if print(a, q, input.x, data.p.q)\nallow if {\n  x := 1\n  print(x, [y | some y in [x]], f(1))\n  every v in [1] { print(v, x) }\n}\n'), [],
    'bound before it, a function argument, a rule, input, data, a comprehension of its own, an every body')
})
