// `import future.keywords.not` (OPA 1.17) and `import rego.v2` (1.22): the negation covers the
// whole expression, and `not { ... }` negates a body. Without the import OPA evaluates the
// operands of a negated call in front of it (an undefined operand fails the rule; see
// src/compiler/planner/negation.ts); with it the negation succeeds. Modules with either import
// were refused at load before; the catch-all `import future.keywords` includes `not` (and
// `and`/`or`) in current OPA, so a module carrying it gets the new negation too.
import t from 'tap'
import { runRego, type RegoOutcome } from './run-rego.js'

const evalP = (source: string, input: unknown = {}): Promise<RegoOutcome> => runRego(source, input)

const RULE = 'default p := false\n\np if {\n  not input.x + input.y == input.z\n}\n'

t.test('with the import, an undefined operand makes the negation succeed', async t => {
  // the catch-all includes not (OPA PR #9093)
  for (const imp of ['import future.keywords.not', 'import rego.v2', 'import future.keywords']) {
    const src = `package test\n\n${imp}\n\n${RULE}`
    t.same(await evalP(src, { x: 1, y: 2, z: 3 }), { value: false }, `${imp}: the sum is z`)
    t.same(await evalP(src, { x: 1, y: 2, z: 0 }), { value: true }, `${imp}: it is not`)
    t.same(await evalP(src, {}), { value: true }, `${imp}: operands undefined`)
  }
  t.same(await evalP(`package test\n\n${RULE}`, {}), { value: false }, 'without it, as before (OPA 1.x): the rule fails')
})

t.test('not { body }', async t => {
  const src = (body: string): string => `package test\n\nimport future.keywords.not\n\ndefault p := false\n\np if ${body}\n`
  t.same(await evalP(src('not { input.a; input.b }'), { a: true, b: false }), { value: true })
  t.same(await evalP(src('not { input.a; input.b }'), { a: true, b: true }), { value: false })
  t.same(await evalP(src('not { some x in input.xs; x == 0 }'), { xs: [1, 2] }), { value: true }, 'every path must fail')
  t.same(await evalP(src('not { some x in input.xs; x == 0 }'), { xs: [1, 0] }), { value: false })
  t.same(await evalP(src('{\n  u := input.user\n  not {\n    v := u\n    v == "root"\n  }\n}'), { user: 'alice' }), { value: true }, 'outer variables reach the body')
  t.same(await evalP(src('not q with input.x as 1\n\nq if input.x == 1'), { x: 2 }), { value: false }, 'with covers the negation')
  t.match(await evalP(src('not x := 1'), {}), { error: /cannot assign vars inside negated expression/ })
  t.match(await evalP(src('not {}'), {}), { error: /found empty body/ })
})

t.test('import errors', async t => {
  t.match(await evalP('package test\n\nimport future.keywords.xor\n\np := 1\n'), { error: /unexpected keyword, must be one of \[and contains every if in not or\]/ })
  t.match(await evalP('package test\n\nimport rego.v3\n\np := 1\n'), { error: /invalid import, must be `rego.v1` or `rego.v2`/ })
})
