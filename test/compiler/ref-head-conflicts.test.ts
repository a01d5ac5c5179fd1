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

t.test('reading one key evaluates only the rules that can give it (OPA regression test #6211)', async t => {
  // OPA's TestPartialRule, "intersecting key override rule (query into partial object)": the
  // conflict at baz is not seen when bar is asked for; the whole object, or baz, still is one
  const src = 'p.foo.q[y] := {"x": 7} if { y := ["bar", "baz"][_] }\np.foo.q.baz.y = 9 if { true }\n'
  const r = (ref: string): Promise<RegoOutcome> => runRego(`package test\n\n${src}r := ${ref}\n`, {}, 'test/r')
  t.same(await r('p.foo.q.bar'), { value: { x: 7 } }, 'p.foo.q.bar (it was eval_conflict_error)')
  t.same(await r('data.test.p.foo.q.bar.x'), { value: 7 }, 'deeper, through data')
  t.match(await r('p.foo.q.baz'), { error: /^eval_conflict_error/ }, 'the conflicting key')
  t.match(await r('p.foo.q'), { error: /^eval_conflict_error/ }, 'the whole object')
  t.same(await runRego(`package test\n\n${src}r := p.foo.q.nope\n`, {}, 'test/r'), {}, 'a key nothing gives is undefined')
  t.same(await runRego('package test\n\np.a[k] := 1 if { k := "x" }\np.a.y := 2\n', {}, 'test/p/a/y'), { value: 2 }, 'a child alone')
})
