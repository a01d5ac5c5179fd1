// yaml.is_valid / yaml.unmarshal / yaml.marshal answer as OPA does (src/policy/builtins/yaml.ts
// over src/opa-yaml.ts): YAML 1.1 as go-yaml v2 reads it, through compiled policies.
import t from 'tap'
import { E, evalOne, table, V } from './helpers.js'

t.test('yaml.is_valid and yaml.unmarshal answer as OPA does', async t => {
  await table(t, [
    ['yaml.is_valid("a: 1\\nb: [x, z]")', V(true)],
    ['yaml.is_valid("[1,2,3")', V(false)],
    ['yaml.is_valid(input.n)', V(false)], // OPA: false for a non-string (the SDK answered undefined)
    ['yaml.is_valid("a: .inf")', V(false)], // no JSON form: sigs.k8s.io/yaml fails, so OPA's is_valid is false
    ['yaml.unmarshal("a: 1\\nb: [x, z]")', V({ a: 1, b: ['x', 'z'] })],
    ['yaml.unmarshal("[1,2,3")', E(/^eval_builtin_error: yaml\.unmarshal: yaml: /)], // the SDK was undefined even when strict
    ['yaml.unmarshal("~: 1")', E(/^eval_builtin_error: yaml\.unmarshal: yaml: a map key cannot be null at line 1, column 1$/)],
    ['yaml.unmarshal(input.n)', E(/^eval_type_error: yaml\.unmarshal: operand 1 must be string but got number$/)],
  ], { n: 1 })
})

t.test('yaml.unmarshal reads YAML 1.1 scalars as OPA (go-yaml v2) does; the SDK read YAML 1.2', async t => {
  await table(t, [
    // booleans: y/yes/on and n/no/off in their three cases (the SDK: strings)
    ['yaml.unmarshal("[y, Yes, ON, n, NO, off, \\"on\\", \'yes\']")', V([true, true, true, false, false, false, 'on', 'yes'])],
    // integers: Go's ParseInt with base 0 after removing "_"; a leading 0 is octal (the SDK: 10, "1_000", "0X1F", "0b11")
    ['yaml.unmarshal("[010, 1_000, 0X1F, 0o17, 0b11, -0b101, +12, 08]")', V([8, 1000, 31, 15, 3, -5, 12, 8])],
    // 1e400 overflows Go's ParseFloat and stays a string (the SDK: null, and null < 100 in Rego)
    ['yaml.unmarshal("amount: 1e400").amount', V('1e400')],
    ['yaml.unmarshal("[1e3, .5, 1., 2001-12-14, 190:20:30]")', V([1000, 0.5, 1, '2001-12-14', '190:20:30'])],
    // keys become strings as sigs.k8s.io/yaml makes them
    ['yaml.unmarshal("on: push\\n10: a\\n1.5: b")', V({ true: 'push', 10: 'a', 1.5: 'b' })],
    // merges in place, later duplicate keys win
    ['yaml.unmarshal("b: &b {x: 1, z: 2}\\no: {x: 0, <<: *b, z: 9}\\nd: 1\\nd: 2")', V({ b: { x: 1, z: 2 }, o: { x: 1, z: 9 }, d: 2 })],
  ])
})

t.test('a policy reading a YAML config decides as OPA would', async t => {
  // With YAML 1.2 `debug: on` was the string "on", so this allowed a config OPA denies.
  const expr = '{ x | x := "allow"; not yaml.unmarshal(input.config).debug == true }'
  t.same(await evalOne(expr, { input: { config: 'debug: on\n' } }), { value: [] }, 'debug: on is true: denied')
  t.same(await evalOne(expr, { input: { config: 'debug: "on"\n' } }), { value: ['allow'] }, 'a quoted "on" is a string')
  t.same(await evalOne(expr, { input: { config: 'debug: off\n' } }), { value: ['allow'] })
})

t.test('yaml.marshal quotes what a YAML 1.1 reader would not read back as the same string', async t => {
  const strings = ['yes', 'on', 'N', '010', '1_000', '0X1F', '0o17', '1e3', '2001-12-14', '190:20:30', '~', '', 'plain', '.5', '-.inf']
  const obj = Object.fromEntries(strings.map((s, i) => [`k${i}`, s]))
  const text = await evalOne(`yaml.marshal(${JSON.stringify(obj)})`)
  t.match(String(text.value), /^k0: "yes"\n/)
  t.match(String(text.value), /\nk12: plain\n/)
  await table(t, [
    [`yaml.unmarshal(yaml.marshal(${JSON.stringify(obj)}))`, V(obj)],
    // go-yaml v2's layout: a sequence is not indented under its key
    ['yaml.marshal({"a": [1, 2]})', V('a:\n- 1\n- 2\n')],
  ])
})
