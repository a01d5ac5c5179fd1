// json.verify_schema / json.match_schema: OPA's result shapes, gojsonschema's error wording,
// Go regular expressions for patterns, no network for $ref.
import t from 'tap'
import { evalAll, evalOne, lit } from './helpers.js'

const schema = {
  type: 'object',
  required: ['name'],
  properties: {
    name: { type: 'string', pattern: '^[a-z]+$', minLength: 2 },
    age: { type: 'integer', minimum: 0, maximum: 150 },
    role: { enum: ['admin', 'user'] },
    tags: { type: 'array', uniqueItems: true, maxItems: 3 },
    email: { type: 'string', format: 'email' },
  },
  additionalProperties: false,
}

t.test('verify_schema: [true, null] or [false, "jsonschema: ..."]', async t => {
  const [ok, asText, bad, badJson, wrongType] = await evalAll([
    `json.verify_schema(${lit(schema)})`,
    `json.verify_schema(${lit(JSON.stringify(schema))})`,
    'json.verify_schema({"type": "no-such-type"})',
    'json.verify_schema("{not json")',
    'json.verify_schema(input.five)',
  ], { five: 5 })
  t.same(ok.value, [true, null])
  t.same(asText.value, [true, null])
  t.match(bad.value, [false, /^jsonschema: schema is invalid/])
  t.same(badJson.value, [false, 'jsonschema: invalid JSON string'])
  t.same(wrongType.value, [false, 'jsonschema: wrong type, expected string or object'])
})

t.test('match_schema: [true, []] for a valid document', async t => {
  const [obj, text] = await evalAll([
    `json.match_schema({"name": "bob", "age": 30, "role": "admin", "email": "bob@example.com"}, ${lit(schema)})`,
    `json.match_schema(${lit(JSON.stringify({ name: 'ann' }))}, ${lit(JSON.stringify(schema))})`,
  ])
  t.same(obj.value, [true, []])
  t.same(text.value, [true, []])
})

t.test('match_schema: errors as OPA reports them', async t => {
  const doc = { age: 1.5, role: 'root', tags: ['a', 'a'], extra: 1, email: 'nope', name: 'B' }
  const [r] = await evalAll([`json.match_schema(${lit(doc)}, ${lit(schema)})`])
  const [valid, errors] = r.value as [boolean, Array<Record<string, string>>]
  t.equal(valid, false)
  const byType = (type: string) => errors.filter(e => e.type === type)
  t.same(byType('additional_property_not_allowed'), [{ error: '(root): Additional property extra is not allowed', type: 'additional_property_not_allowed', field: '(root)', desc: 'Additional property extra is not allowed' }])
  t.same(byType('invalid_type'), [{ error: 'age: Invalid type. Expected: integer, given: number', type: 'invalid_type', field: 'age', desc: 'Invalid type. Expected: integer, given: number' }])
  t.same(byType('enum').map(e => e.desc), ['role must be one of the following: "admin", "user"'])
  t.same(byType('unique').map(e => e.error), ['tags: array items[0,1] must be unique'])
  t.same(byType('format').map(e => e.error), ["email: Does not match format 'email'"])
  t.same(byType('pattern').map(e => e.error), ["name: Does not match pattern '^[a-z]+$'"])
  t.same(byType('string_gte').map(e => e.error), ['name: String length must be greater than or equal to 2'])
  const [missing] = await evalAll([`json.match_schema({}, ${lit(schema)})`])
  t.same(missing.value, [false, [{ error: '(root): name is required', type: 'required', field: '(root)', desc: 'name is required' }]])
  const [nested] = await evalAll(['json.match_schema({"a": [{"b": -1}]}, {"properties": {"a": {"items": {"properties": {"b": {"minimum": 0}}}}}})'])
  t.same(nested.value, [false, [{ error: 'a.0.b: Must be greater than or equal to 0', type: 'number_gte', field: 'a.0.b', desc: 'Must be greater than or equal to 0' }]])
})

t.test('combinators report themselves, not their branches', async t => {
  const [any, one, not] = await evalAll([
    'json.match_schema({"a": 1}, {"anyOf": [{"type": "string"}, {"required": ["b"]}]})',
    'json.match_schema({"n": 1}, {"properties": {"n": {"oneOf": [{"type": "integer"}, {"minimum": 0}]}}})',
    'json.match_schema({"s": "x"}, {"properties": {"s": {"not": {"type": "string"}}}})',
  ])
  t.same(any.value, [false, [{ error: '(root): Must validate at least one schema (anyOf)', type: 'number_any_of', field: '(root)', desc: 'Must validate at least one schema (anyOf)' }]])
  t.same((one.value as [boolean, Array<{ type: string }>])[1].map(e => e.type), ['number_one_of'])
  t.same((not.value as [boolean, Array<{ type: string }>])[1].map(e => e.type), ['number_not'])
})

t.test('bad arguments: match_schema errors (undefined, or the error when strict)', async t => {
  t.same(await evalOne('json.match_schema("{", {})'), {})
  t.equal((await evalOne('json.match_schema("{", {})', { strict: true })).error, 'eval_builtin_error: json.match_schema: invalid JSON string')
  t.match((await evalOne('json.match_schema({}, {"type": 5})', { strict: true })).error, /^eval_builtin_error: json\.match_schema: schema is invalid/)
  t.equal((await evalOne('json.match_schema(input.n, {})', { strict: true, input: { n: 1 } })).error, 'eval_builtin_error: json.match_schema: wrong type, expected string or object')
})

t.test('untrusted schemas: Go regexps (linear time), no remote $ref, draft-04 accepted', async t => {
  // a pattern that backtracks exponentially in JS RegExp is linear in RE2
  const t0 = performance.now()
  const [evil] = await evalAll([`json.match_schema({"s": "${'a'.repeat(40)}!"}, {"properties": {"s": {"pattern": "^(a+)+$"}}})`])
  t.equal((evil.value as [boolean])[0], false)
  t.ok(performance.now() - t0 < 2000, 'no catastrophic backtracking')
  const [remote] = await evalAll(['json.verify_schema({"$ref": "https://example.com/schema.json"})'])
  t.match(remote.value, [false, /^jsonschema: .*(resolve|reference)/i])
  const [d4] = await evalAll(['json.match_schema({"a": 1}, {"$schema": "http://json-schema.org/draft-04/schema#", "properties": {"a": {"type": "string"}}})'])
  t.same((d4.value as [boolean])[0], false)
})

// gojsonschema knows drafts 04-07 and takes any other `$schema` URL as no draft: the schema is
// used with its default (never checked against a meta-schema). Ajv looked the URL up and refused
// 2020-12, so match_schema was undefined (Enterprise Contract's schema tests expect these).
t.test('a $schema of a later or unknown draft is used, not refused', async t => {
  const [verify, match, typo, ok] = await evalAll([
    'json.verify_schema({"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object"})',
    'json.match_schema({"a": "b"}, {"$schema": "https://json-schema.org/draft/2020-12/schema", "properties": {"a": {"type": "number"}}})',
    'json.verify_schema({"$schema": "not a url", "type": "string"})',
    'json.match_schema({"a": 1}, {"$schema": "https://json-schema.org/draft/2019-09/schema", "properties": {"a": {"type": "number"}}})',
  ])
  t.same(verify.value, [true, null])
  t.same(match.value, [false, [{ error: 'a: Invalid type. Expected: number, given: string', type: 'invalid_type', field: 'a', desc: 'Invalid type. Expected: number, given: string' }]])
  t.same(typo.value, [true, null])
  t.same(ok.value, [true, []])
})

// gojsonschema takes `enum: []` as a valid schema that nothing matches (OPA's case
// json_match_schema/empty enum rejects document); ajv refused it, so match_schema was
// undefined and verify_schema [false, ...]. A `const` or data that merely holds such an
// object is left as it is.
t.test('an empty enum is a valid schema that matches nothing', async t => {
  const [top, nested, verify, other, constant] = await evalAll([
    'json.match_schema({"value": "allow"}, {"enum": []})',
    'json.match_schema({"x": 1, "y": 2}, {"properties": {"x": {"enum": []}, "y": {"enum": [2]}}})',
    'json.verify_schema({"anyOf": [{"enum": []}, {"type": "string"}]})',
    'json.match_schema({"v": "a"}, {"properties": {"v": {"anyOf": [{"enum": []}, {"type": "string"}]}}})',
    'json.match_schema({"enum": []}, {"const": {"enum": []}})',
  ])
  t.same(top.value, [false, [{ error: '(root): (root) must be one of the following: ', type: 'enum', field: '(root)', desc: '(root) must be one of the following: ' }]])
  t.same(nested.value, [false, [{ error: 'x: x must be one of the following: ', type: 'enum', field: 'x', desc: 'x must be one of the following: ' }]])
  t.same(verify.value, [true, null])
  t.same(other.value, [true, []])
  t.same(constant.value, [true, []], 'a const value is data, not a schema')
})

t.test('uniqueItems: every repeated item, paired with the latest earlier equal one (gojsonschema)', async t => {
  const unique = { type: 'array', uniqueItems: true }
  const errs = (r: { value?: unknown }) => (r.value as [boolean, Array<{ error: string }>])[1].map(e => e.error)
  const [three, objects, numbers, nested, distinct, off, big] = await evalAll([
    `json.match_schema([1, 1, 1], ${lit(unique)})`,
    // key order does not make two objects different
    `json.match_schema([{"a": 1, "b": [2, {"c": 3}]}, "x", {"b": [2, {"c": 3}], "a": 1}], ${lit(unique)})`,
    // 1 and 1.0 are one float64; "1" is a string
    `json.match_schema(input.numbers, ${lit(unique)})`,
    `json.match_schema({"tags": ["a", "b", "a", "b", "a"]}, {"properties": {"tags": {"items": {"type": "string"}, "uniqueItems": true}}})`,
    `json.match_schema([[1, 2], [2, 1], {"a": null}, {"a": false}, "null", null], ${lit(unique)})`,
    `json.match_schema([1, 1], {"uniqueItems": false})`,
    'json.match_schema(input.big, {"uniqueItems": true})',
  ], { numbers: JSON.parse('[1, "1", 1.0, 2]'), big: ['id-0', ...Array.from({ length: 20000 }, (_, i) => `id-${i}`)] })
  t.same(errs(three), ['(root): array items[0,1] must be unique', '(root): array items[1,2] must be unique'])
  t.same(errs(objects), ['(root): array items[0,2] must be unique'])
  t.same(errs(numbers), ['(root): array items[0,2] must be unique'])
  t.same(errs(nested), ['tags: array items[0,2] must be unique', 'tags: array items[1,3] must be unique', 'tags: array items[2,4] must be unique'])
  t.same(distinct.value, [true, []])
  t.same(off.value, [true, []])
  // 20,001 items, the repeat at the front: one pass (ajv compared them pairwise from the end)
  t.same(errs(big), ['(root): array items[0,1] must be unique'])
})

t.test('uniqueItems that is not a boolean stays a schema error', async t => {
  const [r] = await evalAll(['json.verify_schema({"uniqueItems": "yes"})'])
  t.match(r.value, [false, /^jsonschema: /])
})

t.test('uniqueItems wherever a schema puts it, on any nesting, with exact numbers', async t => {
  const errs = (r: { value?: unknown }) => (r.value as [boolean, Array<{ error: string }>])[1].map(e => e.error)
  const body = '{"tags": [' + '['.repeat(20000) + '0' + ']'.repeat(20000) + ']}'
  const required = '{"required": ["role"], "properties": {"tags": {"type": "array", "uniqueItems": true}}}'
  const [deep, denies, viaRef, exact, surrogates, falseOff] = await evalAll([
    // one item nested 20,000 deep: the check must still answer (a stack overflow made it undefined)
    `json.match_schema(input.body, ${lit(required)})`,
    `count([1 | [ok, _] := json.match_schema(input.body, ${lit(required)}); not ok])`,
    // a $ref to a location that is no keyword: still this check (ajv's reported one pair)
    'json.match_schema([1, 1, 1], {"$ref": "#/x", "x": {"uniqueItems": true}})',
    // 1.0, 1 and an integer past 2^53 (read exactly): the first two are one float64
    'json.match_schema([1.0, 1, 9007199254740993, 9007199254740992], {"uniqueItems": true})',
    // lone surrogates are U+FFFD to Go
    'json.match_schema(["\\ud800", "\\udc00", "\\ufffd"], {"uniqueItems": true})',
    'json.match_schema([1, 1], {"items": {"uniqueItems": false}, "uniqueItems": false})',
  ], { body })
  t.same(errs(deep), ['(root): role is required'])
  t.equal(denies.value, 1, 'a deny rule on `not ok` fires')
  t.same(errs(viaRef), ['(root): array items[0,1] must be unique', '(root): array items[1,2] must be unique'])
  t.same(errs(exact), ['(root): array items[0,1] must be unique', '(root): array items[2,3] must be unique'])
  t.same(errs(surrogates), ['(root): array items[0,1] must be unique', '(root): array items[1,2] must be unique'])
  t.same(falseOff.value, [true, []])
})
