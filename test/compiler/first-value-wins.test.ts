// Several rules giving equal values: the first one stays, as in OPA (topdown evalValueRule
// keeps the first result; a partial object's reduce does not insert an equal value again).
// Equal numbers can differ in their text (403.0 and 403), which sprintf and the decision's JSON
// show; the last one used to win.
import t from 'tap'
import { runRego } from './run-rego.js'

t.test('complete rules and partial objects keep the first of equal values', async (t) => {
  const src = `package test

status := 403.0 if input.a
status := 403 if input.b

codes[k] := 403.0 if k := "x"
codes[k] := 403 if k := "x"

p := {"status": status, "codes": codes, "header": sprintf("%d", [status]), "json": json.marshal([status, codes.x])}
`
  const r = await runRego(src, { a: true, b: true })
  t.same(r.error, undefined)
  const v = r.value as Record<string, unknown>
  t.equal(v.header, '%!d(float64=403)', 'the first value (403.0) is the one sprintf formats')
  t.equal(v.json, '[403.0,403.0]', 'and the one the JSON carries')
  t.same(await runRego('package test\n\nq := 1 if input.a\nq := 2 if input.b\n\np := q\n', { a: true, b: true }), { error: 'eval_conflict_error: complete rules must not produce multiple outputs' }, 'unequal values are still a conflict')
})
