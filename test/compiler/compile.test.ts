// End-to-end compiler tests: Rego source -> our Wasm -> opa-wasm's loadPolicy -> results.
import t from 'tap'
import { CompileError, compileModules } from '../../src/compiler/index.js'
import { compileBundle } from '../../src/compiler/bundle/index.js'
import { loadWasmPolicy } from '../../src/policy/eval/index.js'

async function evalRego (source: string, entrypoint: string, input?: unknown, data: object = {}): Promise<unknown> {
  const c = compileModules({ modules: [{ file: 'p.rego', source }], entrypoints: [entrypoint] })
  const p = await loadWasmPolicy(c.wasm)
  p.setData(data)
  const rs = p.evaluate(input as object, entrypoint) as Array<{ result: unknown }>
  return rs.length === 0 ? undefined : rs[0].result
}

t.test('complete, default, else, partial set and object rules', async t => {
  const src = `package a
default allow := false
allow if input.user == "alice"
level := "admin" if input.role == "root" else := "user" if input.role == "dev" else := "guest"
roles contains r if { some r in input.roles; not r == "x" }
byname[k] := v if { some k, v in input.m }
deep.x[y] := 1 if { some y in ["p", "q"] }
`
  t.equal(await evalRego(src, 'a/allow', { user: 'alice' }), true)
  t.equal(await evalRego(src, 'a/allow', { user: 'bob' }), false)
  t.equal(await evalRego(src, 'a/level', { role: 'root' }), 'admin')
  t.equal(await evalRego(src, 'a/level', { role: 'dev' }), 'user')
  t.equal(await evalRego(src, 'a/level', {}), 'guest')
  t.same(await evalRego(src, 'a/roles', { roles: ['b', 'x', 'a', 'b'] }), ['a', 'b'])
  t.same(await evalRego(src, 'a/byname', { m: { k: 1, j: [2] } }), { j: [2], k: 1 })
  t.same(await evalRego(src, 'a', { user: 'alice', m: {} }), {
    allow: true, level: 'guest', roles: [], byname: {}, deep: { x: { p: 1, q: 1 } },
  })
})

t.test('functions, comprehensions, every, with', async t => {
  const src = `package f
double(x) := y if y := x * 2
pairs := [[k, v] | some k, v in input.m]
allpos if every v in input.xs { v > 0 }
mocked := r if r := data.f.allpos with input.xs as [1, 2]
out := double(21)
`
  t.same(await evalRego(src, 'f/pairs', { m: { a: 1, b: 2 } }), [['a', 1], ['b', 2]])
  t.equal(await evalRego(src, 'f/allpos', { xs: [1, 2, 3] }), true)
  t.equal(await evalRego(src, 'f/allpos', { xs: [1, -2] }), undefined)
  t.equal(await evalRego(src, 'f/mocked', { xs: [-1] }), true)
  t.equal(await evalRego(src, 'f/out'), 42)
})

t.test('conflicts are evaluation errors', async t => {
  const src = `package c
p := x if { some x in input.xs }
`
  await t.rejects(evalRego(src, 'c/p', { xs: [1, 2] }), /eval_conflict_error: complete rules must not produce multiple outputs/)
  t.equal(await evalRego(src, 'c/p', { xs: [1, 1] }), 1)
  const fsrc = `package c
f(x) := 1 if x > 0
f(x) := 2 if x > 1
p := f(input.x)
`
  await t.rejects(evalRego(fsrc, 'c/p', { x: 5 }), /eval_conflict_error: functions must not produce multiple outputs for same inputs/, 'OPA\'s wording (topdown functionConflictErr)')
  t.equal(await evalRego(fsrc, 'c/p', { x: 1 }), 1)
})

t.test('an object literal with a key written twice is one key, not a conflict (as OPA\'s parser)', async t => {
  const src = `package d
p := {"a": x, "a": y} if { x := input.x; y := input.y }
q := {input.k: 1, input.k: 2}
`
  t.same(await evalRego(src, 'd/p', { x: 1, y: 2 }), { a: 2 }, 'the last value')
  t.same(await evalRego(src, 'd/q', { k: 'z' }), { z: 2 }, 'the same reference twice')
  // Keys that only turn out equal during evaluation: OPA keeps one value, which one depends on
  // its generated variable names; we refuse (fails closed) when the values differ.
  const late = `package e
p := {input.k1: 1, input.k2: 2}
`
  await t.rejects(evalRego(late, 'e/p', { k1: 'a', k2: 'a' }), /eval_conflict_error: object keys must be unique/)
  t.same(await evalRego(late, 'e/p', { k1: 'a', k2: 'b' }), { a: 1, b: 2 })
})

t.test('compile errors carry file:line:col and codes', async t => {
  const bad = `package b
p if { x := 1; x > 0 }
q if { y > 1 }
r := nosuch(1)
`
  try {
    compileModules({ modules: [{ file: 'bad.rego', source: bad }], entrypoints: ['b/p'] })
    t.fail('expected CompileError')
  } catch (e) {
    t.ok(e instanceof CompileError)
    const ds = (e as CompileError).diagnostics
    t.ok(ds.some(d => d.code === 'rego_unsafe_var_error' && d.message.includes('y') && d.loc.file === 'bad.rego' && d.loc.line === 3), 'unsafe var y on line 3')
    t.ok(ds.some(d => d.code === 'rego_type_error' && d.message.includes('nosuch')), 'unknown function')
  }
  // A local variable declared twice stops compilation at that stage, as OPA's compiler does
  try {
    compileModules({ modules: [{ file: 'l.rego', source: 'package l\np if { x := 1; x := 2 }\nq if { y > 1 }\n' }], entrypoints: ['l/p'] })
    t.fail('expected CompileError')
  } catch (e) {
    t.same((e as CompileError).diagnostics, [{ code: 'rego_compile_error', message: 'var x assigned above', loc: { file: 'l.rego', line: 2, col: 16 } }], 'only that error: the unsafe y is not reached')
  }
  t.throws(() => compileModules({ modules: [{ file: 'r.rego', source: 'package r\np if q\nq if p\n' }], entrypoints: ['r/p'] }), /rego_recursion_error/)
})

t.test('memory does not grow across evaluations', async t => {
  const src = `package m
allow if { some r in input.roles; r == "admin" }
names := {n | some n in input.roles}
`
  const c = compileModules({ modules: [{ file: 'm.rego', source: src }], entrypoints: ['m/allow', 'm/names'] })
  const p = await loadWasmPolicy(c.wasm)
  p.setData({})
  const input = { roles: ['a', 'b', 'admin', 'c'] }
  for (let i = 0; i < 200; i++) p.evaluate(input, 'm/names')
  const before = p.memoryBytes()
  for (let i = 0; i < 5000; i++) p.evaluate(input, i % 2 === 0 ? 'm/allow' : 'm/names')
  const after = p.memoryBytes()
  t.equal(after, before, `memory stayed at ${before} bytes`)
})

t.test('input paths recorded for the cache key', async t => {
  const c = compileModules({
    modules: [{ file: 'i.rego', source: 'package i\na if input.user.name == "x"\nb if input.headers[input.k]\nc if f(input)\nf(x) := true if x.z\n' }],
    entrypoints: ['i/a', 'i/b', 'i/c'],
  })
  t.same(c.inputPaths['i/a'], [['user', 'name']])
  t.same(c.inputPaths['i/b'], [['headers'], ['k']])
  t.equal(c.inputPaths['i/c'], null, 'input passed to a function widens to the whole input')
})

t.test('results stay identical across thousands of evaluations (no state leaks across heap resets)', async t => {
  // Regression: a lazily filled global cache in the interpreter lived in the per-evaluation
  // heap and was overwritten after the SDK reset the heap, corrupting later results.
  const b = await compileBundle({ paths: [new URL('../../policies', import.meta.url).pathname], entrypoints: ['bouncer/decision'] })
  const p = await loadWasmPolicy(b.wasm)
  p.setData(b.data as object)
  const req = (path: string, pad: number) => ({
    attributes: { request: { http: { id: 'r', method: 'GET', path, host: 'api.local', scheme: 'http', protocol: 'HTTP/1.1', headers: { 'x-tenant': 'acme', 'x-pad': 'x'.repeat(pad) } } }, source: { address: '127.0.0.1:5000' }, destination: { address: '127.0.0.1:8080' } },
    parsed_path: path.split('/').filter(Boolean), parsed_query: {},
  })
  const inputs = [
    { ...req('/v1/customers/42', 10), identity: { sub: 'u1', roles: ['support'], tenant: 'acme' } },
    { ...req('/v1/customers', 700), identity: { sub: 'admin-7', roles: ['admin'], tenant: 'acme' } },
    req('/healthz', 0),
  ]
  const first = inputs.map(i => JSON.stringify(p.evaluate(i, 'bouncer/decision')))
  let mismatches = 0
  for (let n = 0; n < 3000; n++) {
    const i = n % inputs.length
    if (JSON.stringify(p.evaluate(inputs[i], 'bouncer/decision')) !== first[i]) mismatches++
  }
  t.equal(mismatches, 0)
  t.match(JSON.parse(first[0])[0].result, { allow: true, headers: { 'x-bouncer-subject': 'u1', 'x-bouncer-tenant': 'acme' } })
})

t.test('an integer key into base data reads its digits, as OPA\'s storage does (data[2] is data["2"])', async t => {
  const src = `package d
p := data[2]
q := data.nested[2]
obj := {2: "number key"}
r := data.d.obj[2]
s := o[2] if o := data.nested
`
  const data = { 2: 'bar', nested: { 2: 'baz' } }
  t.equal(await evalRego(src, 'd/p', {}, data), 'bar', 'at the root: not a recursion through every rule')
  t.equal(await evalRego(src, 'd/q', {}, data), 'baz')
  t.equal(await evalRego(src, 'd/r', {}, data), 'number key', 'inside a rule\'s value the key stays a number')
  t.equal(await evalRego(src, 'd/s', {}, data), undefined, 'a value taken out of data is indexed as a value')
})

t.test('a package exists as a document even when nothing in it is defined, as in OPA (its fix 1863)', async t => {
  const c = compileModules({
    modules: [
      { file: 'empty.rego', source: 'package a.b\n\n# nothing here\n' },
      { file: 'undef.rego', source: 'package a.u\n\nr if false\n' },
      { file: 'x.rego', source: 'package x\n\np := data.a.b\n\nq if not data.a.b\n\nall := data.a\n' },
    ],
    entrypoints: ['x/p', 'x/q', 'x/all', 'a/b'],
  })
  const p = await loadWasmPolicy(c.wasm)
  const one = (ep: string): unknown => { const rs = p.evaluate({}, ep) as Array<{ result: unknown }>; return rs.length === 0 ? undefined : rs[0].result }
  t.same(one('x/p'), {}, 'data.a.b of an empty package is {}, not undefined')
  t.equal(one('x/q'), undefined, 'so `not data.a.b` is false')
  t.same(one('x/all'), { b: {}, u: {} }, 'the enclosing document lists it, and a package whose rules are undefined')
  t.same(one('a/b'), {}, 'an entrypoint may name it')
})
