// Rego v0 as OPA 1.x accepts it with --v0-compatible or a manifest's rego_version: 0
// (src/compiler/parser: ParseModuleOptions.regoVersion, CompileOptions.regoVersion).
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import type { Module } from '../../src/compiler/ast/index.js'
import { CompileError, compileModules, parseSources, type SourceFile } from '../../src/compiler/index.js'
import { loadWasmPolicy } from '../../src/policy/eval/index.js'
import { parseModule } from '../../src/compiler/parser/index.js'

const here = path.dirname(fileURLToPath(import.meta.url))

async function evalV0 (source: string, query: string, input?: unknown): Promise<unknown> {
  const c = compileModules({ modules: [{ file: 'p.rego', source }], entrypoints: [], query, regoVersion: 0 })
  const p = await loadWasmPolicy(c.wasm)
  const rs = p.evaluate(input as object, '$query') as Array<{ result: Array<Record<string, unknown>> }>
  return rs[0].result.map(r => r.x)
}

function v0Errors (source: string, regoVersion: 0 | 1 = 0): string[] {
  return parseModule(source, 'p.rego', { regoVersion }).diagnostics.map(d => `${d.loc.line}: ${d.message}`)
}

t.test('a v0 module is a parse error in v1 and parses as v0', async t => {
  const src = 'package a\np { true }\n'
  t.match(v0Errors(src, 1), ['2: `if` keyword is required before rule body'])
  t.same(v0Errors(src, 0), [])
  t.equal(parseModule(src, 'p.rego', { regoVersion: 0 }).module?.regoVersion, 0)
  t.equal(parseModule(src.replace('p {', 'p if {'), 'p.rego').module?.regoVersion, 1)
})

t.test('v0 rule kinds: partial sets, partial objects, complete rules, ref heads', async t => {
  const src = `package a
s[x] { x := input.xs[_] }
s["lit"]
o[k] = v { v := input.m[k] }
c { input.xs[0] == 1 }
c2 = 7 { true }
r.q.t { true }
f(x) { x > 1 }
g(x) = y { y := x * 2 }
`
  t.same(await evalV0(src, 'x = data.a.s', { xs: [1, 2] }), [[1, 2, 'lit']])
  t.same(await evalV0(src, 'x = data.a.o', { m: { a: 1 } }), [{ a: 1 }])
  t.same(await evalV0(src, 'x = data.a.c', { xs: [1] }), [true])
  t.same(await evalV0(src, 'x = data.a.c2', {}), [7])
  t.same(await evalV0(src, 'x = data.a.r', {}), [{ q: { t: true } }])
  t.same(await evalV0(src, 'x = data.a.f(2)', {}), [true])
  t.same(await evalV0(src, 'x = data.a.g(2)', {}), [4])
})

t.test('`p[x] if` is a single-value rule (p[x] = true) in v0 too, as in OPA', async t => {
  const src = `package a
import future.keywords.if
p[x] if { x := input.xs[_] }
q[x] { x := input.xs[_] }
`
  t.same(await evalV0(src, 'x = data.a.p', { xs: ['a'] }), [{ a: true }])
  t.same(await evalV0(src, 'x = data.a.q', { xs: ['a'] }), [['a']])
})

t.test('future.keywords imports enable keywords; without them they are names', async t => {
  const names = `package a
in := 1
if = 2
contains[x] { x := 3 }
every := 4
`
  t.same(await evalV0(names, 'x = data.a', {}), [{ in: 1, if: 2, contains: [3], every: 4 }])
  const one = `package a
import future.keywords.in
p { 1 in input.xs }
if := "still a name"
`
  t.same(await evalV0(one, 'x = [data.a.p, data.a.if]', { xs: [1] }), [[true, 'still a name']])
  const all = `package a
import future.keywords
p contains x if { some x in input.xs; x > 1 }
q if { every x in input.xs { x > 0 } }
`
  t.same(await evalV0(all, 'x = [data.a.p, data.a.q]', { xs: [1, 2] }), [[[2], true]])
  const every = `package a
import future.keywords.every
q { every x in input.xs { x > 0 } }
in := "a name still"
`
  t.same(await evalV0(every, 'x = [data.a.q, data.a.in]', { xs: [1] }), [[true, 'a name still']])
  t.match(v0Errors('package a\np { 1 in [1] }\n'), [/unexpected/])
  t.match(v0Errors('package a\nimport future.keywords.bogus\n'), ['2: unexpected keyword, must be one of [and contains every if in not or]'])
  t.match(v0Errors('package a\nimport future.keywords.in as x\n'), ['2: `future` imports cannot be aliased'])
  t.match(v0Errors('package a\nimport future.stuff\n'), ['2: invalid import, must be `future.keywords`'])
})

t.test('import rego.v1 in a v0 module switches it to v1 syntax', async t => {
  t.match(v0Errors('package a\nimport rego.v1\np { true }\n'), ['3: `if` keyword is required before rule body'])
  t.same(v0Errors('package a\nimport rego.v1\np if { true }\nq contains 1\n'), [])
  t.equal(parseModule('package a\nimport rego.v1\np := 1\n', 'p.rego', { regoVersion: 0 }).module?.regoVersion, 1)
  t.match(v0Errors('package a\nimport rego.v3\n'), ['2: invalid import, must be `rego.v1` or `rego.v2`'])
  t.same(v0Errors('package a\nimport rego.v2\np if { not { input.a } }\n'), [], 'rego.v2 (OPA 1.22) implies rego.v1 in a v0 module')
  t.equal(parseModule('package a\nimport rego.v2\np := 1\n', 'p.rego', { regoVersion: 0 }).module?.regoVersion, 1)
})

t.test('v0 chained bodies, else chains, default', async t => {
  const src = `package a
default d = "none"
d = "x" { input.x }
p { input.a } { input.b }
sev(n) = "high" { n > 2 } else = "low" { true }
e { false } else { true }
`
  t.same(await evalV0(src, 'x = [data.a.d, data.a.sev(3), data.a.sev(1), data.a.e]', { b: true }), [['none', 'high', 'low', true]])
  t.same(await evalV0(src, 'x = data.a.p', { b: true }), [true])
  t.same(await evalV0(src, 'x = data.a.p', { a: true }), [true])
  t.same(await evalV0(src, 'x = data.a.p', {}), [])
})

// OPA reads a module-level call as a function that is true for matching arguments
// (ParseRuleFromCallExpr), in v0 and v1: Gatekeeper's psp users policy (v0) declares
// accept_users("RunAsAny", _) that way, Regal's library (v1) parse_bool("1").
t.test('a bare function head is f(args) = true, in v0 and v1', async t => {
  const src = `package a
accept("RunAsAny", _)
accept("MustRunAs", n) { n > 0 }
`
  t.same(await evalV0(src, 'x = [y | y := data.a.accept("RunAsAny", 0)]'), [[true]])
  t.same(await evalV0(src, 'x = [y | y := data.a.accept("Other", 1)]'), [[]])
  t.same(await evalV0(src, 'x = [y | y := data.a.accept("MustRunAs", 1)]'), [[true]])
  t.same(v0Errors('package a\naccept("RunAsAny", _)\n', 1), [], 'v1 too')
  const c = compileModules({ modules: [{ file: 'p.rego', source: 'package b\nis_one(1)\nyes if is_one(1)\nno if is_one(2)\n' }], entrypoints: ['b'] })
  const p = await loadWasmPolicy(c.wasm)
  t.same((p.evaluate({}, 'b') as Array<{ result: unknown }>)[0]!.result, { yes: true }, 'v1: true for a matching argument, undefined otherwise')
  t.match(v0Errors('package a\nf()\n', 0), ['2: rule f must have a value, a contains term or an if body'], 'an empty argument list is no function head (OPA: at least one argument)')
})

// OPA reads `f() := v` as the rule `f := v` (issue #6315): a value, part of the package's
// document, and `f()` gives it too. Gatekeeper's psp seccomp policy uses its
// canonicalize_runtime_default_profile() that way; it was "function ... used as a value".
t.test('a rule declared with an empty argument list is a rule, in v0 and v1', async t => {
  const v0 = `package a
profile() = out { out := "runtime/default" }
uses_value := profile
uses_call := profile()
`
  t.same(await evalV0(v0, 'x = [data.a.uses_value, data.a.uses_call, data.a.profile]'), [['runtime/default', 'runtime/default', 'runtime/default']])
  t.same(await evalV0(v0, 'x = data.a'), [{ profile: 'runtime/default', uses_call: 'runtime/default', uses_value: 'runtime/default' }], 'in the package document, as OPA lists it')
  const c = compileModules({ modules: [{ file: 'p.rego', source: 'package b\nf() := 2 if input.on\ng := f\nh := f()\n' }], entrypoints: ['b'] })
  const p = await loadWasmPolicy(c.wasm)
  t.same((p.evaluate({ on: true }, 'b') as Array<{ result: unknown }>)[0]!.result, { f: 2, g: 2, h: 2 })
  t.same((p.evaluate({ on: false }, 'b') as Array<{ result: unknown }>)[0]!.result, {}, 'undefined when its body fails, as a rule')
})

// OPA's parseHeadFinish skips whitespace between a rule's name and the "[", "(" or "." that
// continues it; kubescape's regolibrary writes `deny [msga] {` (it was a parse error here).
t.test('whitespace between a rule name and its key or arguments, as OPA', async t => {
  t.same(await evalV0('package a\ndeny [msg] {\n  input.user == "mallory"\n  msg := "blocked"\n}\n', 'x = data.a.deny', { user: 'mallory' }), [['blocked']])
  t.same(await evalV0('package a\nf (x) = y {\n  y := x + 1\n}\nr = f(1)\n', 'x = data.a.r'), [2])
  t.same(await evalV0('package a\nimport rego.v1\ndeny [msg] := "x" if msg := "k"\n', 'x = data.a.deny'), [{ k: 'x' }])
  t.same(await evalV0('package a\np .q = 1\n', 'x = data.a.p.q'), [1])
  // only right after the name: a further segment after whitespace is not part of the head
  t.equal(v0Errors('package a\np[1] [2] = 1\n').length > 0, true)
})

t.test('duplicate imports are allowed in v0, an error in v1', async t => {
  const src = 'package a\nimport data.x\nimport data.x\np { true }\n'
  t.doesNotThrow(() => compileModules({ modules: [{ file: 'p.rego', source: src }], entrypoints: ['a/p'], regoVersion: 0 }))
  t.throws(() => compileModules({ modules: [{ file: 'p.rego', source: src.replace('p {', 'p if {') }], entrypoints: ['a/p'] }),
    { name: 'CompileError', message: /import must not shadow/ })
})

t.test('the version is per module: a v0 module and a v1 module compile together', async t => {
  const modules: SourceFile[] = [
    { file: 'old.rego', source: 'package old\nallow { input.ok }\n', regoVersion: 0 },
    { file: 'new.rego', source: 'package new\nimport data.old\nallow if old.allow\n' },
  ]
  const c = compileModules({ modules, entrypoints: ['new/allow'] })
  const p = await loadWasmPolicy(c.wasm)
  t.same(p.evaluate({ ok: true }, 'new/allow'), [{ result: true }])
  // without its own version the default applies: v1, so the v0 module fails
  t.throws(() => compileModules({ modules: [{ file: 'old.rego', source: modules[0].source }], entrypoints: [] }), CompileError)
})

// What `bouncer test` does, through the compiler API: every test_* rule is an entrypoint;
// true passes, anything else fails.
async function runV0Tests (files: string[]): Promise<Record<string, 'PASS' | 'FAIL' | 'ERROR'>> {
  const modules: SourceFile[] = files.map(f => ({ file: f, source: readFileSync(f, 'utf8'), regoVersion: 0 }))
  const parsed = parseSources(modules)
  t.same(parsed.diagnostics, [])
  const tests: string[] = []
  for (const m of parsed.modules as Module[]) {
    const pkg = m.package.path.map(p => (p as { value: string }).value)
    for (const r of m.rules) {
      const head = r.ref[0]
      if (r.ref.length === 1 && head.type === 'var' && head.name.startsWith('test_')) tests.push([...pkg, head.name].join('/'))
    }
  }
  const c = compileModules({ modules, entrypoints: tests })
  const p = await loadWasmPolicy(c.wasm)
  const out: Record<string, 'PASS' | 'FAIL' | 'ERROR'> = {}
  for (const ep of tests) {
    try {
      const rs = p.evaluate({}, ep) as Array<{ result: unknown }>
      out[ep.split('/').pop() as string] = rs.length > 0 && rs[0].result === true ? 'PASS' : 'FAIL'
    } catch {
      out[ep.split('/').pop() as string] = 'ERROR'
    }
  }
  return out
}

t.test('a Gatekeeper-style v0 policy passes its own v0 tests', async t => {
  const dir = path.join(here, 'fixtures/v0-k8s')
  const results = await runV0Tests([path.join(dir, 'policy.rego'), path.join(dir, 'policy_test.rego')])
  t.same(results, {
    test_compliant_deployment_has_no_violation: 'PASS',
    test_foreign_registry: 'PASS',
    test_missing_memory_limit: 'PASS',
    test_missing_labels_are_listed_sorted: 'PASS',
    test_replicas_over_parameter: 'PASS',
    test_default_max_replicas: 'PASS',
    test_images_object: 'PASS',
    test_not_privileged: 'PASS',
    test_else_chain: 'PASS',
    test_keyword_names_are_names: 'PASS',
    test_expected_failure: 'FAIL',
  })
  // the same policy as an entrypoint: the violation set an admission controller reads
  const c = compileModules({ modules: [{ file: 'policy.rego', source: readFileSync(path.join(dir, 'policy.rego'), 'utf8') }], entrypoints: ['k8s/workloads/violation'], regoVersion: 0 })
  const p = await loadWasmPolicy(c.wasm)
  const input = {
    review: { object: { metadata: { labels: { team: 'a' } }, spec: { replicas: 1, template: { spec: { containers: [{ name: 'c', image: 'registry.internal/c' }] } } } } },
    parameters: { registries: ['registry.internal/'], labels: ['team', 'app'] },
  }
  t.same(p.evaluate(input, 'k8s/workloads/violation'), [{ result: [
    { msg: 'container <c> has no memory limit' },
    { msg: 'missing required labels: ["app"]' },
  ] }])
})
