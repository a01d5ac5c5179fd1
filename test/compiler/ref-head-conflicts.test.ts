// Rules with ref heads (p[q].r := v) build objects from their paths; a rule's value is not a
// path. OPA reports eval_conflict_error when another rule's path reaches inside a rule's value,
// and merges only the path objects (its case "refheads/general, overlapping rule, deep injection
// into other rule object value, conflict"). We merged the two, giving a value neither rule wrote.
import t from 'tap'
import { runRego, type RegoOutcome } from './run-rego.js'

const evalP = (source: string, input: unknown = {}): Promise<RegoOutcome> => runRego(`package test\n\n${source}`, input)

t.test('a rule path reaching inside another rule\'s value is a conflict', async t => {
  // a generic rule above, a static rule below
  t.match(await evalP('p[q].r := v if { q := "q"; v := {"s": {"t": 1}} }\np.q.r.s.u := 42\n'), { error: /^eval_conflict_error/ })
  // two generic rules of one group: the deeper one would add to the other's value
  t.match(await evalP('p[q].r := {"s": 1} if q := input.a\np[q].r.t := 2 if q := input.a\n', { a: 'x' }), { error: /^eval_conflict_error/ })
  t.match(await evalP('p[q] := {"s": 1} if q := input.a\np[q].t := 2 if q := input.b\n', { a: 'x', b: 'x' }), { error: /^eval_conflict_error/ })
})

t.test('paths merge, equal values agree, sets unite', async t => {
  t.same(await evalP('p[q].r := 1 if q := "a"\np.a.s := 2\np.b.r := 3\n'), { value: { a: { r: 1, s: 2 }, b: { r: 3 } } })
  t.same(await evalP('p[q].r := {"s": 1} if q := input.a\np[q].t := 2 if q := input.a\n', { a: 'x' }), { value: { x: { r: { s: 1 }, t: 2 } } })
  t.same(await evalP('p[q].r := {"s": 1} if q := "a"\np.a.r := {"s": 1}\n'), { value: { a: { r: { s: 1 } } } }, 'the same value from both rules')
  t.same(await evalP('p[q] contains r if { q := "a"; r := 1 }\np.a contains 2\n'), { value: { a: [1, 2] } })
  // the same keys on different inputs do not meet
  t.same(await evalP('p[q] := {"s": 1} if q := input.a\np[q].t := 2 if q := input.b\n', { a: 'x', b: 'y' }), { value: { x: { s: 1 }, y: { t: 2 } } })
})
