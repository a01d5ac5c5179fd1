// OPA's early exit (its rule index's EarlyExit, topdown's findOne): a complete rule or a
// function whose rules all have one ground value stops at its first solution — later
// iterations of the body and later rules are never evaluated, so an error or a print() they
// would cause does not happen. These policies all raise eval_conflict_error (f(2) has two
// values) when every solution is evaluated; OPA answers them.
import t from 'tap'
import { compileModules } from '../../src/compiler/index.js'
import { evaluationMessage, loadWasmPolicy } from '../../src/policy/eval/index.js'
import { printPlan } from '../../src/compiler/planner/ir-print.js'
import { parseSources } from '../../src/compiler/index.js'
import { planPolicy } from '../../src/compiler/planner/index.js'
import { Diagnostics } from '../../src/compiler/diagnostics.js'
import { runRego } from './run-rego.js'

// f(1) is 1; f(2) is a conflict (1 and 2)
const CONFLICT = `f(x) := 1 if x >= 1
f(x) := 2 if x == 2
`
const CONFLICT_ERROR = 'eval_conflict_error: functions must not produce multiple outputs for same inputs'

t.test('the first solution ends the body: later iterations are not evaluated', async t => {
  t.same(await runRego(`package test\n${CONFLICT}p if { some x in [1, 2]; f(x) != 0 }`), { value: true })
  // the same body with a non-literal value evaluates every solution (no early exit in OPA either)
  t.same(await runRego(`package test\n${CONFLICT}p := x if { some x in [1, 2]; f(x) != 0 }`), { error: CONFLICT_ERROR })
})

t.test('a value found ends the rule group: later rules are not evaluated', async t => {
  t.same(await runRego(`package test\n${CONFLICT}p := 7 if true\np := 7 if f(2)`), { value: 7 })
  t.same(await runRego(`package test\n${CONFLICT}default p := false\np if input.a\np if f(2)`, { a: true }), { value: true })
  // else branches count: all the same literal
  t.same(await runRego(`package test\n${CONFLICT}p := 1 if false else := 1\np := 1 if f(2)`), { value: 1 })
  // different values (here in an else branch): every rule is evaluated, the conflict surfaces
  t.same(await runRego(`package test\n${CONFLICT}p := 7 if true\np := 8 if f(2)`), { error: CONFLICT_ERROR })
  t.same(await runRego(`package test\n${CONFLICT}p := 7 if true\np := 7 if f(2) else := 8`), { error: CONFLICT_ERROR })
})

t.test('functions exit early too, per call', async t => {
  t.same(await runRego(`package test\n${CONFLICT}g(y) if { some x in [y, 2]; f(x) != 0 }\np := g(1)`), { value: true })
  t.same(await runRego(`package test\n${CONFLICT}g(_) := "ok"\ng(y) := "ok" if f(2)\np := g(1)`), { value: 'ok' })
  t.same(await runRego(`package test\n${CONFLICT}g(y) := y if { some x in [y, 2]; f(x) != 0 }\np := g(1)`), { error: CONFLICT_ERROR })
})

t.test('later solutions print nothing', async t => {
  const lines: string[] = []
  const { wasm } = compileModules({ modules: [{ file: 'p.rego', source: 'package test\np if { some x in [1, 2, 3]; print(x) }\nq contains x if { some x in [1, 2]; print(x) }' }], entrypoints: ['test/p', 'test/q'] })
  const policy = await loadWasmPolicy(wasm, {}, { onPrint: (line) => lines.push(line) })
  t.same(policy.evaluate({}, 'test/p'), [{ result: true }])
  t.same(lines, ['1'], 'the complete rule stops after x = 1')
  lines.length = 0
  t.same(policy.evaluate({}, 'test/q'), [{ result: [1, 2] }])
  t.same(lines, ['1', '2'], 'a partial set is never cut short')
})

t.test('the plan marks exactly the groups OPA exits early from', async t => {
  const source = `package test
a if input.x
a if input.y
b := 1 if input.x
b := 2 if input.y
c := [1, {"k": null}] if input.x
d := input.x if input.y
e contains 1 if input.x
f(x) if x > 1
g(x) := x
h := 1 if input.x else := 1
i := 1 if input.x else := 2
default j := false
j if input.x
k := {1} if input.x
`
  const parsed = parseSources([{ file: 'p.rego', source }])
  const diags = new Diagnostics()
  const { plan } = planPolicy({ modules: parsed.modules, entrypoints: ['test'] }, diags)
  t.same(diags.list, [])
  const marked = printPlan(plan).split('\n').filter(l => l.startsWith('func ') && l.includes('early exit')).map(l => l.split(' ')[2])
  // k: a set literal is planned as a built value; no early exit (conservative: only errors that
  // OPA would skip can surface, as before)
  t.same(marked.sort(), ['data.test.a', 'data.test.c', 'data.test.f', 'data.test.h', 'data.test.j'])
})

// Iterating a document of packages (`data.pkgs[name].ok`) builds each package's value when the
// iteration reaches it, as OPA's evaluator does: with an early exit, the packages after the
// first match are never evaluated. Here package b's `ok` is a conflict.
const PACKAGES = [
  { file: 'a.rego', source: 'package pkgs.a\nok if true' },
  { file: 'b.rego', source: `package pkgs.b\n${CONFLICT}ok if f(2)` },
]

async function evalModules (modules: Array<{ file: string, source: string }>, entrypoint: string, data: unknown = {}, input: unknown = {}): Promise<unknown> {
  const { wasm } = compileModules({ modules, entrypoints: [entrypoint] })
  const policy = await loadWasmPolicy(wasm, data)
  try {
    return { value: policy.evaluate(input, entrypoint)[0]?.result }
  } catch (e) {
    return { error: evaluationMessage(e) }
  }
}

t.test('a document of packages is iterated key by key', async t => {
  const mods = (body: string) => [...PACKAGES, { file: 't.rego', source: `package test\n${body}` }]
  t.same(await evalModules(mods('allow if { data.pkgs[_].ok }'), 'test/allow'), { value: true })
  t.same(await evalModules(mods('allow if { some name; data.pkgs[name].ok }'), 'test/allow'), { value: true })
  // `some x in data.pkgs` is `x = data.pkgs[_]` in OPA: the same walk
  t.same(await evalModules(mods('allow if { some pkg in data.pkgs; pkg.ok }'), 'test/allow'), { value: true })
  t.same(await evalModules(mods('import data.pkgs\nallow if { some name, pkg in pkgs; pkg.ok; name == "a" }'), 'test/allow'), { value: true })
  // every key is needed here (a partial set): b's conflict surfaces, as in OPA
  t.same(await evalModules(mods('oks contains name if data.pkgs[name].ok'), 'test/oks'), { error: CONFLICT_ERROR })
  // a later key first: b (the conflict) is reached before any match
  t.same(await evalModules([...PACKAGES, { file: 'c.rego', source: 'package pkgs.c\nok if true' }, { file: 't.rego', source: 'package test\nallow if { some name; data.pkgs[name].ok; name != "a" }' }], 'test/allow'), { error: CONFLICT_ERROR })
})

t.test('key by key gives the same document: base data, packages and with', async t => {
  const modules = [
    { file: 'a.rego', source: 'package pkgs.a\nok := 1' },
    { file: 'c.rego', source: 'package pkgs.c\nok := 3\nother := 4' },
    { file: 't.rego', source: 'package test\noks[name] := v if { v := data.pkgs[name].ok }\nreplaced[name] := v if { v := data.pkgs[name].ok with data.pkgs as {"z": {"ok": 26}} }' },
  ]
  const data = { pkgs: { b: { ok: 2 }, d: { ok: 4 }, e: { no: 5 } } }
  t.same(await evalModules(modules, 'test/oks', data), { value: { a: 1, b: 2, c: 3, d: 4 } })
  t.same(await evalModules(modules, 'test/replaced', data), { value: { z: 26 } })
  const some = [...modules, { file: 's.rego', source: 'package s\nnames contains [name, v] if { some name, pkg in data.pkgs; v := pkg.ok }\nvalues contains v if { some v in data.pkgs.c }' }]
  t.same(await evalModules(some, 's/names', data), { value: [['a', 1], ['b', 2], ['c', 3], ['d', 4]] })
  t.same(await evalModules(some, 's/values', data), { value: [3, 4] })
})

// OPA's `not` evaluates every solution of the negated expression (its evalNot does not stop at
// the first), so an error a later one raises surfaces; `every` stops at the first element whose
// body fails, and its body at the first solution.
t.test('not evaluates every solution; every stops at the first failing element', async t => {
  const mods = (body: string) => [...PACKAGES, { file: 't.rego', source: `package test\n${CONFLICT}${body}` }]
  // a.ok is a solution, b.ok a conflict: OPA reaches it
  t.same(await evalModules(mods('p if { not data.pkgs[_].ok }'), 'test/p'), { error: CONFLICT_ERROR })
  t.same(await evalModules(mods('p if { not input.xs[_] == f(input.k) }'), 'test/p', {}, { xs: [1], k: 1 }), { value: undefined })
  // every: x = 1 fails (f(1) is 1), x = 2's body (a conflict) is never evaluated
  t.same(await evalModules(mods('p if { every x in [1, 2] { f(x) == 7 } }'), 'test/p'), { value: undefined })
  // its body stops at the first solution: y = 1 passes, y = 2 (a conflict) is not tried
  t.same(await evalModules(mods('p if { every x in [1] { some y in [1, 2]; f(y) == x } }'), 'test/p'), { value: true })
})
