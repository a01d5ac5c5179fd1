// yaml.is_valid / yaml.unmarshal / yaml.marshal answer as OPA does (src/policy/builtins/yaml.ts
// over src/opa-yaml.ts): the YAML 1.2 core schema as current OPA's go-yaml v3 reads it (OPA PR
// #9174; OPA up to 1.20 read YAML 1.1 through go-yaml v2), through compiled policies.
import t from 'tap'
import { E, evalOne, table, V } from './helpers.js'

t.test('yaml.is_valid and yaml.unmarshal answer as OPA does', async t => {
  await table(t, [
    ['yaml.is_valid("a: 1\\nb: [x, z]")', V(true)],
    ['yaml.is_valid("[1,2,3")', V(false)],
    ['yaml.is_valid(input.n)', V(false)], // OPA: false for a non-string (the SDK answered undefined)
    ['yaml.is_valid("a: .inf")', V(false)], // no JSON form: OPA's conversion fails, so is_valid is false
    ['yaml.is_valid("a: 1\\n---\\nb: [")', V(false)], // every document must parse (OPA issue 6854)
    ['yaml.unmarshal("a: 1\\nb: [x, z]")', V({ a: 1, b: ['x', 'z'] })],
    ['yaml.unmarshal("[1,2,3")', E(/^eval_builtin_error: yaml\.unmarshal: yaml: /)], // the SDK was undefined even when strict
    ['yaml.unmarshal("~: 1")', E(/^eval_builtin_error: yaml\.unmarshal: yaml: a map key cannot be null at line 1, column 1$/)],
    ['yaml.unmarshal(input.n)', E(/^eval_type_error: yaml\.unmarshal: operand 1 must be string but got number$/)],
  ], { n: 1 })
})

t.test('yaml.unmarshal reads scalars as current OPA (go-yaml v3) does', async t => {
  await table(t, [
    // booleans: only true/false in three cases; y/yes/on and n/no/off are strings
    ['yaml.unmarshal("[y, Yes, ON, n, NO, off, True, FALSE, \\"on\\", \'yes\']")', V(['y', 'Yes', 'ON', 'n', 'NO', 'off', true, false, 'on', 'yes'])],
    // integers: Go's ParseInt with base 0 after removing "_"; a leading 0 is octal (the SDK: 10, "1_000", "0X1F", "0b11")
    ['yaml.unmarshal("[010, 1_000, 0X1F, 0o17, 0b11, -0b101, +12, 08]")', V([8, 1000, 31, 15, 3, -5, 12, 8])],
    // 1e400 overflows Go's ParseFloat and stays a string (the SDK: null, and null < 100 in Rego)
    ['yaml.unmarshal("amount: 1e400").amount', V('1e400')],
    ['yaml.unmarshal("[1e3, .5, 1., 2001-12-14, 190:20:30]")', V([1000, 0.5, 1, '2001-12-14', '190:20:30'])],
    // keys become strings as OPA's keyString makes them; on: push is the key "on" (OPA issue 5754)
    ['yaml.unmarshal("on: push\\n10: a\\n1.5: b\\ntrue: c")', V({ on: 'push', 10: 'a', 1.5: 'b', true: 'c' })],
    // the mapping's own keys win over merged ones, later duplicate keys win
    ['yaml.unmarshal("b: &b {x: 1, z: 2}\\no: {x: 0, <<: *b, z: 9}\\nd: 1\\nd: 2")', V({ b: { x: 1, z: 2 }, o: { x: 0, z: 9 }, d: 2 })],
  ])
})

t.test('a policy reading a YAML config decides as OPA would', async t => {
  // Current OPA reads `debug: on` as the string "on" (go-yaml v3), `debug: true` as true.
  const expr = '{ x | x := "allow"; not yaml.unmarshal(input.config).debug == true }'
  t.same(await evalOne(expr, { input: { config: 'debug: true\n' } }), { value: [] }, 'debug: true: denied')
  t.same(await evalOne(expr, { input: { config: 'debug: on\n' } }), { value: ['allow'] }, 'debug: on is the string "on"')
  t.same(await evalOne(expr, { input: { config: 'debug: off\n' } }), { value: ['allow'] })
})

t.test('yaml.marshal quotes what go-yaml would not read back as the same string (and YAML 1.1 booleans)', async t => {
  const strings = ['yes', 'on', 'N', '010', '1_000', '0X1F', '0o17', '1e3', '2001-12-14', '190:20:30', '~', '', 'plain', '.5', '-.inf']
  const obj = Object.fromEntries(strings.map((s, i) => [`k${i}`, s]))
  const text = await evalOne(`yaml.marshal(${JSON.stringify(obj)})`)
  t.match(String(text.value), /^k0: "yes"\n/)
  t.match(String(text.value), /\nk12: plain\n/)
  await table(t, [
    [`yaml.unmarshal(yaml.marshal(${JSON.stringify(obj)}))`, V(obj)],
    // go-yaml v3's layout at OPA's indent of 2: a sequence is indented under its key
    ['yaml.marshal({"a": [1, 2]})', V('a:\n  - 1\n  - 2\n')],
  ])
})
