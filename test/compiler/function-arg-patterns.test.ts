// The variables of a function's argument patterns (`f([user, _])`, `f({"k": v})`) are the
// function's own, even where a rule or an import of the package has the name: OPA never resolves
// a head's argument variables to globals (ast/compile.go, resolveRefsInRule: the args' vars are
// pushed on the ignore stack). They were resolved to the rule, so the pattern only matched the
// rule's value: a deny rule built on such a function did not apply (allow instead of deny).
import t from 'tap'
import { runRego } from './run-rego.js'

t.test('a pattern variable named like a rule is a new variable, not the rule', async (t) => {
  const src = `package test

user := input.user

blocked([user, _]) if user in {"mallory"}

deny if blocked([input.target, input.method])

p := {"deny": deny} if deny
default p := {"deny": false}
`
  t.same(await runRego(src, { user: 'alice', target: 'mallory', method: 'GET' }), { value: { deny: true } }, 'the target is blocked whoever the user is')
  t.same(await runRego(src, { user: 'mallory', target: 'bob', method: 'GET' }), { value: { deny: false } }, 'and only the target counts')
})

t.test('arrays, objects, else branches and imports', async (t) => {
  const rules = `package test

a := 10
b := 20

f([a, b]) := a + b

g({"k": a}) := a

h([a]) := "first" if a == 1
else := "other"

p := [f([1, 2]), g({"k": "v"}), h([1]), h([5])]
`
  t.same(await runRego(rules), { value: [3, 'v', 'first', 'other'] })
  const imported = `package test

import input.user

f([user]) := user

p := f(["x"])
`
  t.same(await runRego(imported, { user: 'alice' }), { value: 'x' }, 'an import of the name is shadowed too')
  const body = `package test

user := "global"

f([user]) := out if out := concat("-", [user, user])

p := f(["arg"])
`
  t.same(await runRego(body), { value: 'arg-arg' }, 'the body sees the argument, not the rule')
})
