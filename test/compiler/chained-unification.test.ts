// Array unification whose variables are bound through each other, as OPA's unifier allows
// (v1/ast/unify.go links var pairs and marks them safe once one is bound): `[a, b] = [b, 1]`
// binds b, then a. It was an unsafe-var error here (found by an adversarial review helper).
import t from 'tap'
import { runRego } from './run-rego.js'

const run = (body: string, input: unknown = {}) => runRego(`package test\n\n${body}\n`, input)

t.test('variables bound through another pair of the same unification', async (t) => {
  t.same(await run('p := [a, b] if { [a, b] = [b, 1] }'), { value: [1, 1] })
  t.same(await run('p := [a, b] if { [b, a] = [1, b] }'), { value: [1, 1] })
  t.same(await run('p := [a, b] if { [a, 1] = [b, b] }'), { value: [1, 1] })
  t.same(await run('p := [a, b, c] if { [a, b, c] = [b, c, 3] }'), { value: [3, 3, 3] })
  t.same(await run('p := [a, b] if { [a, b] = [b, input.arr[0]] }', { arr: [7] }), { value: [7, 7] })
  t.same(await run('p := [a, b] if { [[a], b] = [[b], 1] }'), { value: [1, 1] }, 'nested')
  t.same(await run('p := [x, y] if { [[x, 1]] = [[2, y]] }'), { value: [2, 1] }, 'both sides patterns, part by part')
  t.same(await run('p := [x, y] if { [{"k": x}, y] = [{"k": y}, 3] }'), { value: [3, 3] }, 'through an object')
  t.same(await run('p := [y, z, w] if { [[y], [z, 1]] = [[z], [2, w]] }'), { value: [2, 2, 1] }, 'a later pair of one shape first')
  t.same(await run('p := [a, b] if { [a, b] = [b, 1]; a == 2 }'), {}, 'bound values still compared')
  t.match((await run('p := [a, b] if { [a, b] = [b, a] }')).error, /rego_unsafe_var_error: var a is unsafe/, 'nothing binds either: unsafe, as in OPA')
})
