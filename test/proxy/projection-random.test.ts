// The evaluator gets only the input paths the compiler recorded (src/proxy/projection.ts), and the
// decision cache keys on the same paths: if the record missed a path some construct reads, the
// policy would decide differently than OPA on the whole input, and two requests that differ in
// that path would share a cached decision. Here every way of reading `input` we could think of
// (whole-input builtins, walk, dynamic keys, iteration, patterns, aliases, functions, other
// rules, `with`, comprehensions, else chains, partial rules) is compiled by the project's
// compiler and evaluated on seeded random inputs twice — on the whole input and on its
// projection — and the two results (or errors) must be the same.
import t from 'tap'
import { loadPolicyFromRego } from '../../src/policy/load.js'
import { compileInputView, inputBytes } from '../../src/proxy/projection.js'
import { prng } from '../helpers/random.js'

// decision bodies (package bouncer; entrypoint bouncer/decision); helpers may follow on other lines
const POLICIES: string[] = [
  'decision := x if { x := input.a.b }',
  'decision := count(input)',
  'decision := object.keys(input)',
  'decision := json.marshal(input.a)',
  'decision := [p | walk(input, [p, v]); v == "x"]',
  'decision := object.get(input, ["a", "b"], "d")',
  'decision := object.get(input.a, "b", "d")',
  'decision := {k | some k, _ in input}',
  'decision := [v | some k; v := input.a[k]]',
  'decision := input[input.k]',
  'decision := x if { x := input.a; x.b == "x" }',
  'decision := x if { x := input.a; count(x) > 1 }',
  'decision := y if { [_, y] := input.arr }',
  'decision := y if { {"b": y} := input.a }',
  'decision := true if { every v in input.arr { v == "x" } }',
  'decision := f(input.a)\nf(x) := x.b',
  'decision := g(input)\ng(x) := x.a',
  'decision := r\nr := input.c',
  'decision := {k: v | some k, v in input.headers; startswith(k, "x")}',
  'decision := json.filter(input, ["a/b", "c"])',
  'decision := object.remove(input, ["a"])',
  'decision := object.union(input.a, {"z": 1})',
  'decision := is_object(input.a)',
  'decision := input.a == input.b',
  'decision := data.d[input.k]',
  'decision := x if { input.a.b = x }',
  'decision := sort(input.arr)',
  'decision := [x | x := input.arr[_]; x != null]',
  'decision := concat(",", [k | input.a[k]])',
  'decision := x if { x := input; x.a.b }',
  'decision := true if { not input.a.b }',
  'decision := {"v": input.a.b, "w": input.c}',
  'decision := v if { v := input.a.b with input.a.b as 5 }',
  'decision := v if { v := input.c with input.a as {} }',
  'decision := n if { n := count(input.a.b) }',
  'decision := x if { x := input.user.roles[_]; x == "admin" }',
  'decision := [i | some i; input.arr[i] == "x"]',
  'decision := type_name(input.a)',
  'decision := v if { v := input["a"]["b"] }',
  'decision := input.arr[0]',
  'decision := x if { o := object.get(input, "a", {}); x := o.b }',
  'decision := union({{s | s := input.arr[_]}, {"z"}})',
  'default decision := "d"\ndecision := input.a.b if input.c',
  'decision := 1 if { input.a.b == "x" } else := 2 if { input.c } else := 3',
  'decision := x if { x := input.a.b.c.d }',
  'decision := [x | some x in input.arr]',
  'decision := x if { x := [k | some k in object.keys(input.a)] }',
  'decision := sprintf("%v", [input.a])',
  'decision := z if { x := input.a; y := x.b; z := y.c }',
  'decision := s\ns contains v if { v := input.a[_] }',
  'decision := o\no[k] := v if { some k, v in input.headers }',
  'decision := x if { x := {k: true | input.headers[k]} }',
  'decision := [k | input.a[k] == input.b[k]]',
  'decision := x if { x := input.a[input.k] }',
  'decision := x if { x := data.d[input.k][input.a.b] }',
  'decision := true if { input.arr[_] == input.c }',
  'decision := x if { some x; input.headers[x] == "x" }',
  'decision := h(input.a, "b")\nh(o, k) := o[k]',
  'decision := x if { x := [y | y := input.user[_]] }',
  'decision := is_string(input.c)',
  'decision := x if { x := input.headers; x["x-a"] }',
  'decision := object.get(input, "user", {})',
  'decision := x if { x := input.a.b; is_string(x) } else := input.c',
  'decision := json.patch(input, [{"op": "add", "path": "/z", "value": 1}])',
  'decision := [v | walk(input.a, [_, v])]',
  'decision := numbers.range(0, count(input.arr))',
  'decision := x if { x := input.a.b } else := y if { y := input.c }',
  'decision := q\nq := x if { x := input.headers["x-a"] }',
  'decision := yaml.marshal(input.user)',
]

const KEYS = ['a', 'b', 'c', 'd', 'k', 'x', 'arr', 'headers', 'user', 'roles', 'x-a', 'x-b']
const SCALARS: unknown[] = ['x', 'a', 'b', 'c', 'k', 'admin', '', 0, 1, 2.5, -1, true, false, null]

function value (rnd: () => number, depth: number): unknown {
  const r = rnd()
  if (depth >= 3 || r < 0.45) return SCALARS[Math.floor(rnd() * SCALARS.length)]
  if (r < 0.65) return Array.from({ length: Math.floor(rnd() * 4) }, () => value(rnd, depth + 1))
  return object(rnd, depth + 1)
}

function object (rnd: () => number, depth: number): Record<string, unknown> {
  const o: Record<string, unknown> = {}
  const n = Math.floor(rnd() * 5)
  for (let i = 0; i < n; i++) o[KEYS[Math.floor(rnd() * KEYS.length)]!] = value(rnd, depth)
  return o
}

/** A random input: mostly the keys the policies read, sometimes missing or of the wrong type. */
function input (rnd: () => number): Record<string, unknown> {
  const o = object(rnd, 0)
  if (rnd() < 0.7) o.a = rnd() < 0.8 ? object(rnd, 1) : value(rnd, 1)
  if (rnd() < 0.5) (o.a as Record<string, unknown> | null)?.constructor === Object && ((o.a as Record<string, unknown>).b = value(rnd, 2))
  if (rnd() < 0.5) o.arr = Array.from({ length: Math.floor(rnd() * 4) }, () => value(rnd, 2))
  if (rnd() < 0.5) o.headers = Object.fromEntries(['x-a', 'x-b', 'y'].filter(() => rnd() < 0.6).map((h) => [h, SCALARS[Math.floor(rnd() * 3)]]))
  if (rnd() < 0.5) o.k = KEYS[Math.floor(rnd() * KEYS.length)]
  if (rnd() < 0.3) o.user = { roles: ['admin', 'x'].filter(() => rnd() < 0.5), name: 'x' }
  if (rnd() < 0.15) o.a = { b: { c: { d: value(rnd, 3) } } } // deep enough for a.b.c.d
  if (rnd() < 0.2 && Array.isArray(o.arr) && o.arr.length > 0) o.c = o.arr[0] // arr[_] == c can hold
  if (rnd() < 0.2) o.k = 'k' // data.d.k is an object: data.d[input.k][input.a.b] can be defined
  return o
}

type Outcome = { ok: true; value: string } | { ok: false; error: string }
function outcome (f: () => unknown): Outcome {
  try { return { ok: true, value: JSON.stringify(f()) ?? 'undefined' } } catch (e) { return { ok: false, error: (e as Error).message } }
}

t.test('every way of reading input decides the same on the projection as on the whole input', async (t) => {
  const data = { d: { a: { x: 1 }, b: 2, k: { a: 3 }, x: 'dx' } }
  const INPUTS = 80
  const mismatches: string[] = []
  let projected = 0
  for (const [i, body] of POLICIES.entries()) {
    const source = `package bouncer\n\n${body}\n`
    const p = await loadPolicyFromRego([{ file: `p${i}.rego`, source }], data, 'bouncer/decision', { source: `p${i}` })
    const view = compileInputView(p.inputPaths)
    if (!view.whole) projected++
    const rnd = prng(0x1a2b + i)
    for (let n = 0; n < INPUTS && mismatches.length < 20; n++) {
      const inp = input(rnd)
      const whole = outcome(() => p.evaluate(inp))
      const proj = outcome(() => p.evaluate(inputBytes(view.text(inp))))
      if (JSON.stringify(whole) !== JSON.stringify(proj)) {
        mismatches.push(`${JSON.stringify(body)} reading ${JSON.stringify(p.inputPaths)} on ${JSON.stringify(inp)}: whole input ${JSON.stringify(whole)}, projection ${view.text(inp)} ${JSON.stringify(proj)}`)
        break
      }
    }
  }
  t.same(mismatches, [], 'no construct reads a path the compiler did not record')
  // Most policies are projected (the rest widen to the whole input, which is trivially the same).
  t.ok(projected >= POLICIES.length / 2, `${projected} of ${POLICIES.length} policies evaluate on a projection`)
})
