// Query validation (validate/index.ts) against OPA's library (upstream vektah/gqlparser v2.5.31,
// as OPA uses it): per rule, a valid and an invalid query with the library's exact messages,
// positions and error order, and the quirks it has on purpose.
import t, { type Test } from 'tap'
import { queryDocumentFromObject } from '../../../src/policy/builtins/graphql/document.js'
import { QueryParser, SchemaParser } from '../../../src/policy/builtins/graphql/parser.js'
import { buildSchema } from '../../../src/policy/builtins/graphql/schema.js'
import type { QueryDocument, Schema, SchemaDocument } from '../../../src/policy/builtins/graphql/types.js'
import { validateQuery } from '../../../src/policy/builtins/graphql/validate/index.js'

const SDL = `
directive @onField on FIELD
directive @onQuery on QUERY
interface Pet { name: String }
interface Mammal { mother: Mammal }
type Dog implements Pet & Mammal { name: String, nickname: String, barkVolume: Int, mother: Dog, doesKnowCommand(dogCommand: DogCommand): Boolean, isHouseTrained(atOtherHomes: Boolean = true): Boolean }
type Cat implements Pet { name: String, nickname: String, meowVolume: Int }
union CatOrDog = Cat | Dog
enum DogCommand { SIT, HEEL, DOWN }
input ComplexInput { requiredField: Boolean!, nonNullField: Boolean! = false, intField: Int, stringListField: [String] }
type Args {
  intArg(i: Int): String
  nonNullIntArg(i: Int!): String
  withDefault(i: Int! = 0): String
  listArg(l: [String]): String
  complexArg(c: ComplexInput): String
  multipleReqs(req1: Int!, req2: Int!): String
  floatArg(f: Float): String
  idArg(id: ID): String
  boolArg(b: Boolean): String
  enumArg(e: DogCommand): String
  customArg(c: Custom): String
}
scalar Custom
type Query { dog: Dog, cat: Cat, pet: Pet, catOrDog: CatOrDog, args: Args, name: String }
type Subscription { a: String, b: String }
`
const schema: Schema = buildSchema(new SchemaParser(SDL).document() as unknown as SchemaDocument)

/** The errors as the library prints them, one `line:column: message` each, in its order. */
function errors (query: string, s: Schema = schema): string[] {
  const doc = new QueryParser(query).document() as unknown as QueryDocument
  return validateQuery(s, doc).map(e => `${e.line}:${e.column}: ${e.message}`)
}

/** Cases of [query, expected errors]; [] means valid. */
function cases (t: Test, list: Array<[string, string[]]>): void {
  for (const [query, want] of list) t.strictSame(errors(query), want, query)
}

t.test('valid queries give no errors', async t => {
  cases(t, [
    ['{ dog { name ... on Dog { barkVolume } } }', []],
    ['query Q($c: DogCommand = SIT) { dog { doesKnowCommand(dogCommand: $c) } }', []],
    ['{ catOrDog { __typename ... on Cat { meowVolume } ...D } } fragment D on Dog { nickname }', []],
    ['subscription { a }', []],
  ])
})

t.test('FieldsOnCorrectType: unknown fields, with type or field suggestions', async t => {
  cases(t, [
    ['{ dog { nam } }', ['1:9: Cannot query field "nam" on type "Dog". Did you mean "name"?']],
    ['{ pet { nickname } }', ['1:9: Cannot query field "nickname" on type "Pet". Did you mean to use an inline fragment on "Cat" or "Dog"?']],
    ['{ catOrDog { name } }', ['1:14: Cannot query field "name" on type "CatOrDog". Did you mean to use an inline fragment on "Pet", "Cat", or "Dog"?']],
    ['{ dog { zzzzzz } }', ['1:9: Cannot query field "zzzzzz" on type "Dog".']],
    // Nothing below an unknown field is checked: its type is unknown.
    ['{ nope { deeper } }', ['1:3: Cannot query field "nope" on type "Query". Did you mean "name"?']],
  ])
})

t.test('FragmentsOnCompositeTypes and KnownTypeNames', async t => {
  cases(t, [
    // Fields under a scalar are looked up on it (and fail) before the fragment's own error.
    ['{ dog { ... on Boolean { name } } }', [
      '1:26: Cannot query field "name" on type "Boolean".',
      '1:13: Fragment cannot condition on non composite type "Boolean".',
    ]],
    // A fragment is walked through each spread and once by itself: its field errors come twice.
    ['{ dog { ...F } } fragment F on DogCommand { name }', [
      '1:45: Cannot query field "name" on type "DogCommand".',
      '1:45: Cannot query field "name" on type "DogCommand".',
      '1:18: Fragment "F" cannot condition on non composite type "DogCommand".',
    ]],
    ['query ($x: Dgo) { name }', ['1:8: Unknown type "Dgo".', '1:8: Variable "$x" is never used.']],
    ['{ dog { ... on Dgo { name } } }', ['1:13: Unknown type "Dgo".']],
    // Only a fragment definition's message suggests names.
    ['{ dog { ...F } } fragment F on Dgo { name }', ['1:18: Unknown type "Dgo". Did you mean "Dog"?']],
  ])
})

t.test('KnownArgumentNames and ProvidedRequiredArguments point at the field or directive', async t => {
  cases(t, [
    ['{ args { intArg(j: 1) } }', ['1:10: Unknown argument "j" on field "Args.intArg". Did you mean "i"?']],
    ['{ dog @skip(iff: true) { name } }', [
      '1:8: Unknown argument "iff" on directive "@skip". Did you mean "if"?',
      '1:8: Directive "@skip" argument "if" of type "Boolean!" is required, but it was not provided.',
    ]],
    ['{ args { multipleReqs(req1: 1) withDefault } }', ['1:10: Field "multipleReqs" argument "req2" of type "Int!" is required, but it was not provided.']],
  ])
})

t.test('KnownDirectives: unknown, misplaced (reported once per position)', async t => {
  cases(t, [
    ['{ dog @unknown { name } }', ['1:8: Unknown directive "@unknown".']],
    // A directive's position is its name's, after the '@'.
    ['query @onField { name @onQuery }', ['1:8: Directive "@onField" may not be used on QUERY.', '1:24: Directive "@onQuery" may not be used on FIELD.']],
    // The fragment is walked by its spread and by itself; one error.
    ['{ dog { ...F } } fragment F on Dog { name @onQuery }', ['1:44: Directive "@onQuery" may not be used on FIELD.']],
  ])
})

t.test('KnownFragmentNames, NoUnusedFragments, UniqueFragmentNames, NoFragmentCycles', async t => {
  cases(t, [
    ['{ dog { ...Nope } }', ['1:12: Unknown fragment "Nope".']],
    ['{ name } fragment F on Dog { name }', ['1:10: Fragment "F" is never used.']],
    ['{ dog { ...F } } fragment F on Dog { name } fragment F on Dog { nickname }', ['1:45: There can be only one fragment named "F".']],
    // A spread's position is its name's, after the '...'.
    ['{ dog { ...A } } fragment A on Dog { ...B } fragment B on Dog { ...A }', ['1:68: Cannot spread fragment "A" within itself via "B".']],
    ['{ dog { ...A } } fragment A on Dog { name ...A }', ['1:46: Cannot spread fragment "A" within itself.']],
  ])
})

t.test('KnownRootType, LoneAnonymousOperation, UniqueOperationNames', async t => {
  cases(t, [
    // No final period in this one.
    ['mutation { name }', ['1:1: Schema does not support operation type "mutation"']],
    ['{ name } { name }', [
      '1:1: This anonymous operation must be the only defined operation.',
      '1:10: This anonymous operation must be the only defined operation.',
      '1:10: There can be only one operation named "".',
    ]],
    ['query A { name } query A { name }', ['1:18: There can be only one operation named "A".']],
  ])
})

t.test('variables: undefined, unused, unique, input types, allowed positions', async t => {
  cases(t, [
    ['query Q { args { intArg(i: $v) } }', ['1:28: Variable "$v" is not defined by operation "Q".']],
    ['{ args { intArg(i: $v) } }', ['1:20: Variable "$v" is not defined.']],
    ['query Q($v: Int) { name }', ['1:9: Variable "$v" is never used in operation "Q".']],
    // Uses resolve to the first definition; the repeats are unused too.
    ['query ($v: Int, $v: Int, $v: Int) { args { intArg(i: $v) } }', [
      '1:17: Variable "$v" is never used.',
      '1:26: Variable "$v" is never used.',
      '1:17: There can be only one variable named "$v".',
    ]],
    ['query ($d: Dog) { name }', ['1:8: Variable "$d" is never used.', '1:8: Variable "$d" cannot be non-input type "Dog".']],
    ['query ($v: Int) { args { nonNullIntArg(i: $v) } }', ['1:43: Variable "$v" of type "Int" used in position expecting type "Int!".']],
    // A non-null default on the variable, or a default on the argument, lets a nullable variable in.
    ['query ($v: Int = 1) { args { nonNullIntArg(i: $v) } }', []],
    ['query ($v: Int) { args { withDefault(i: $v) } }', []],
    // The same for an input object field with a default; a required one without a default does not.
    ['query ($b: Boolean) { args { complexArg(c: {requiredField: true, nonNullField: $b}) } }', []],
    ['query ($b: Boolean) { args { complexArg(c: {requiredField: $b}) } }', ['1:60: Variable "$b" of type "Boolean" used in position expecting type "Boolean!".']],
    ['query ($v: Int = null) { args { nonNullIntArg(i: $v) } }', ['1:50: Variable "$v" of type "Int" used in position expecting type "Int!".']],
    ['query ($v: [String]) { args { complexArg(c: {requiredField: true, stringListField: $v}) } }', []],
    ['query ($s: String) { args { listArg(l: [$s]) } }', []],
  ])
})

t.test('OverlappingFieldsCanBeMerged', async t => {
  cases(t, [
    ['{ dog { name: nickname name } }', ['1:24: Fields "name" conflict because "nickname" and "name" are different fields. Use different aliases on the fields to fetch both if this was intentional.']],
    ['{ dog { doesKnowCommand(dogCommand: SIT) doesKnowCommand(dogCommand: HEEL) } }', ['1:42: Fields "doesKnowCommand" conflict because they have differing arguments. Use different aliases on the fields to fetch both if this was intentional.']],
    ['{ pet { ... on Dog { x: barkVolume } ... on Cat { x: name } } }', ['1:51: Fields "x" conflict because they return conflicting types "Int" and "String". Use different aliases on the fields to fetch both if this was intentional.']],
    ['{ dog { mother { name } mother { name: nickname } } }', ['1:25: Fields "mother" conflict because subfields "name" conflict because "name" and "nickname" are different fields. Use different aliases on the fields to fetch both if this was intentional.']],
    // Different object types can never both apply: different fields under one name are fine.
    ['{ pet { ... on Dog { x: nickname } ... on Cat { x: name } } }', []],
  ])
})

t.test('OverlappingFieldsCanBeMerged: a spread fragment whose fields equal the set\'s is not compared with it', async t => {
  // The library tells "the same fields" by deep equality, not identity. A parsed document's
  // fields all differ (positions); a decoded AST object's need not. The spread's Position of the
  // wrong kind makes the decoder take it as a spread rather than a field named "F".
  const dog = (names: string[]): unknown => ({ Alias: 'dog', Name: 'dog', SelectionSet: names.map(n => ({ Alias: 'name', Name: n })) })
  const doc = (fragmentNames: string[]): QueryDocument => queryDocumentFromObject({
    Operations: [{ Operation: 'query', SelectionSet: [dog(['nickname', 'name']), { Name: 'F', Position: 'not a position' }] }],
    Fragments: [{ Name: 'F', TypeCondition: 'Query', SelectionSet: [dog(fragmentNames)] }],
  })
  const run = (d: QueryDocument): string[] => validateQuery(schema, d).map(e => e.message.replace(/\. Use different.*/, ''))
  // Written alike: only each dog's own conflict.
  t.strictSame(run(doc(['nickname', 'name'])), [
    'Fields "name" conflict because "nickname" and "name" are different fields',
    'Fields "name" conflict because "nickname" and "name" are different fields',
  ])
  // Written differently: the two dogs are compared as well.
  t.strictSame(run(doc(['name', 'nickname'])), [
    'Fields "name" conflict because "nickname" and "name" are different fields',
    'Fields "name" conflict because "name" and "nickname" are different fields',
    'Fields "dog" conflict because subfields "name" conflict because "nickname" and "name" are different fields and subfields "name" conflict because "name" and "nickname" are different fields',
  ])
})

t.test('PossibleFragmentSpreads', async t => {
  cases(t, [
    ['{ dog { ... on Cat { name } } }', ['1:13: Fragment cannot be spread here as objects of type "Dog" can never be of type "Cat".']],
    ['{ dog { ...C } } fragment C on Cat { name }', ['1:12: Fragment "C" cannot be spread here as objects of type "Dog" can never be of type "Cat".']],
    ['{ pet { ... on CatOrDog { __typename } } }', []],
  ])
})

t.test('ScalarLeafs', async t => {
  cases(t, [
    ['{ dog }', ['1:3: Field "dog" of type "Dog" must have a selection of subfields. Did you mean "dog { ... }"?']],
    ['{ name { x } }', ['1:10: Cannot query field "x" on type "String".', '1:3: Field "name" must not have a selection since type "String" has no subfields.']],
  ])
})

t.test('SingleFieldSubscriptions', async t => {
  cases(t, [
    ['subscription S { a b }', ['1:20: Subscription "S" must select only one top level field.']],
    ['subscription { __typename }', ['1:16: Anonymous Subscription must not select an introspection top level field.']],
  ])
})

t.test('UniqueArgumentNames, UniqueDirectivesPerLocation, UniqueInputFieldNames', async t => {
  cases(t, [
    // Only the second occurrence is reported.
    ['{ args { intArg(i: 1, i: 2, i: 3) } }', ['1:23: There can be only one argument named "i".']],
    ['{ dog @onField @onField @onField { name } }', [
      '1:17: The directive "@onField" can only be used once at this location.',
      '1:26: The directive "@onField" can only be used once at this location.',
    ]],
    ['{ args { complexArg(c: {requiredField: true, intField: 1, intField: 2}) } }', ['1:59: There can be only one input field named "intField".']],
  ])
})

t.test('ValuesOfCorrectType', async t => {
  cases(t, [
    ['{ args { intArg(i: "3") } }', ['1:21: Int cannot represent non-integer value: "3"']],
    ['{ args { intArg(i: 829384293849283498239482938) } }', ['1:20: Int cannot represent non 32-bit signed integer value: 829384293849283498239482938']],
    // Past 32 bits but within 64: the library lets it through.
    ['{ args { intArg(i: 3000000000) } }', []],
    ['{ args { floatArg(f: true) } }', ['1:22: Float cannot represent non numeric value: true']],
    ['{ args { idArg(id: 1.5) } }', ['1:20: ID cannot represent a non-string and non-integer value: 1.5']],
    ['{ args { boolArg(b: "t\\n") } }', ['1:22: Boolean cannot represent a non boolean value: "t\\n"']],
    ['{ args { enumArg(e: sit) } }', ['1:21: Value "sit" does not exist in "DogCommand" enum. Did you mean the enum value "SIT"?']],
    ['{ args { enumArg(e: "SIT") } }', ['1:22: Enum "DogCommand" cannot represent non-enum value: "SIT". Did you mean the enum value "SIT"?']],
    ['{ args { intArg(i: SIT) } }', ['1:20: Int cannot represent non-integer value: SIT']],
    ['{ args { nonNullIntArg(i: null) } }', ['1:27: Expected value of type "Int!", found null.']],
    ['{ args { listArg(l: ["a", 2]) } }', ['1:27: String cannot represent a non string value: 2']],
    ['{ args { intArg(i: [1]) } }', ['1:20: Int cannot represent non-integer value: [1]']],
    ['{ args { complexArg(c: {intField: 4, nope: 1}) } }', [
      '1:24: Field "ComplexInput.requiredField" of required type "Boolean!" was not provided.',
      '1:38: Field "nope" is not defined by type "ComplexInput".',
    ]],
    ['{ args { complexArg(c: "x") } }', ['1:25: Expected value of type "ComplexInput", found "x".']],
    // Custom scalars take anything.
    ['{ args { customArg(c: {a: [1, "b"]}) } }', []],
  ])
})

t.test('ValuesOfCorrectType: @oneOf input objects', async t => {
  const oneOf = buildSchema(new SchemaParser(
    'input Pick @oneOf { first: String, second: Int }\ntype Query { pick(p: Pick): String, name: String }',
  ).document() as unknown as SchemaDocument)
  const list: Array<[string, string[]]> = [
    ['{ pick(p: {second: 2}) }', []],
    ['query ($s: String!) { pick(p: {first: $s}) }', []],
    // Reported at the object.
    ['{ pick(p: {first: "a", second: 2}) }', ['1:11: OneOf Input Object "Pick" must specify exactly one key.']],
    ['{ pick(p: {}) }', ['1:11: OneOf Input Object "Pick" must specify exactly one key.']],
    // Reported at the null; the message names the type's first field, whichever key was given.
    ['{ pick(p: {second: null}) }', ['1:20: Field "Pick.first" must be non-null.']],
    // Reported at the variable, named without its `$`.
    ['query ($n: Int) { pick(p: {second: $n}) }', ['1:36: Variable "n" must be non-nullable to be used for OneOf Input Object "Pick".']],
    // An unknown single key passes the @oneOf check and fails as an unknown field.
    ['{ pick(p: {third: 3}) }', ['1:12: Field "third" is not defined by type "Pick".']],
    // A variable of the @oneOf type itself is not looked into.
    ['query ($p: Pick) { pick(p: $p) }', []],
  ]
  for (const [query, want] of list) t.strictSame(errors(query, oneOf), want, query)
  // A variable the operation does not define (or any variable in a fragment no operation
  // spreads) has no definition to read: the library dereferences nil there.
  for (const query of ['{ pick(p: {second: $n}) }', '{ name } fragment F on Query { pick(p: {second: $n}) }']) {
    t.throws(() => errors(query, oneOf), { name: 'GqlparserPanic' }, query)
  }
})

t.test('MaxIntrospectionDepth: three nested introspection list fields', async t => {
  const deep = '{ fields { type { fields { type { interfaces { name } } } } } }'
  cases(t, [
    ['{ __schema { types { fields { type { fields { name } } } } } }', []],
    [`{ __schema { types ${deep} } }`, ['1:3: Maximum introspection depth exceeded']],
    // Counted through inline fragments and spread fragments; reported at the introspection field.
    ['{ name ... { __schema { types { inputFields { type { ...T } } } } } } fragment T on __Type { possibleTypes { interfaces { name } } }',
      ['1:14: Maximum introspection depth exceeded']],
    // A fragment holding the field is checked through its spread and again by itself.
    [`{ ...Q } fragment Q on Query { __schema { types ${deep} } }`, [
      '1:32: Maximum introspection depth exceeded',
      '1:32: Maximum introspection depth exceeded',
    ]],
    // At one field, rules report in name order: MaxIntrospectionDepth before ProvidedRequiredArguments.
    [`{ __type ${deep} }`, [
      '1:3: Maximum introspection depth exceeded',
      '1:3: Field "__type" argument "name" of type "String!" is required, but it was not provided.',
    ]],
  ])
})

t.test('errors come in walk order: a node\'s children first, then rules in registration order', async t => {
  cases(t, [
    ['query Q($u: Int) { dog { nam } args { intArg(i: "x", i: 1) } }', [
      '1:26: Cannot query field "nam" on type "Dog". Did you mean "name"?',
      '1:50: Int cannot represent non-integer value: "x"',
      '1:54: There can be only one argument named "i".',
      '1:9: Variable "$u" is never used in operation "Q".',
    ]],
  ])
})

t.test('the walk records what it resolved on the document', async t => {
  const doc = new QueryParser('query ($v: Int) { args { intArg(i: $v) } }').document() as unknown as QueryDocument
  t.strictSame(validateQuery(schema, doc), [])
  const field = doc.Operations![0]!.SelectionSet![0]! as unknown as { Definition: { Name: string }, ObjectDefinition: { Name: string } }
  t.equal(field.Definition.Name, 'args')
  t.equal(field.ObjectDefinition.Name, 'Query')
  const v = doc.Operations![0]!.VariableDefinitions![0]!
  t.equal(v.Used, true)
  t.equal(v.Definition?.Name, 'Int')
})

t.test('OverlappingFieldsCanBeMerged: repeated spreads of one fragment add nothing and are compared once', async (t) => {
  const { hostBuiltins } = await import('../../../src/policy/builtins/index.js')
  const isValid = hostBuiltins['graphql.is_valid'] as unknown as (q: string, s: string) => boolean
  const schema = 'type Query { a(x: String): String b: Query }'
  // 12,800 spreads of f: every pair of spreads was visited (64 KB took 25 s).
  t.equal(isValid('{...f ' + '...f '.repeat(12800) + '} fragment f on Query {a b{a}}', schema), true)
  // A conflict between two fragments is still found with the spreads repeated around it.
  t.equal(isValid('{...f ...g ...f ...g} fragment f on Query {a(x: "1")} fragment g on Query {a(x: "2")}', schema), false)
  t.equal(isValid('{...f ...g ...f ...g} fragment f on Query {a(x: "1")} fragment g on Query {a(x: "1")}', schema), true)
})
