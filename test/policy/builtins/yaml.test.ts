// yaml.is_valid / yaml.unmarshal: the SDK's YAML reading with OPA's answers for non-strings and
// invalid documents (src/policy/builtins/yaml.ts), through compiled policies.
import t from 'tap'
import { E, table, V } from './helpers.js'

t.test('yaml.is_valid and yaml.unmarshal answer as OPA does', async t => {
  await table(t, [
    ['yaml.is_valid("a: 1\\nb: [x, y]")', V(true)],
    ['yaml.is_valid("[1,2,3")', V(false)],
    ['yaml.is_valid(input.n)', V(false)], // OPA: false for a non-string (the SDK answered undefined)
    ['yaml.unmarshal("a: 1\\nb: [x, y]")', V({ a: 1, b: ['x', 'y'] })],
    ['yaml.unmarshal("[1,2,3")', E(/^eval_builtin_error: yaml\.unmarshal: yaml: /)], // the SDK was undefined even when strict
    ['yaml.unmarshal(input.n)', E(/^eval_type_error: yaml\.unmarshal: operand 1 must be string but got number$/)],
  ], { n: 1 })
})
