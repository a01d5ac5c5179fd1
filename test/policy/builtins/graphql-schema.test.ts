// Schema validation as OPA does it for the validating graphql.* builtins: the prelude merged first,
// then its library's checks in their order, with its messages and the positions it names.
import t from 'tap'
import { SchemaParser } from '../../../src/policy/builtins/graphql/parser.js'
import { buildSchema, GqlparserPanic, mergeSchemaDocuments, schemaErrorText, validateSchemaDocument } from '../../../src/policy/builtins/graphql/schema.js'
import { PRELUDE_FILE, PRELUDE_SDL } from '../../../src/policy/builtins/graphql/prelude.js'
import { GraphQLError, type Definition, type Schema, type SchemaDocument } from '../../../src/policy/builtins/graphql/types.js'

const parse = (sdl: string): SchemaDocument => new SchemaParser(sdl).document() as unknown as SchemaDocument
const build = (sdl: string): Schema => buildSchema(parse(sdl))
/** The text of the library's error (`input:<line>:<column>: <message>`), or 'ok'. */
function check (sdl: string): string {
  try {
    build(sdl)
    return 'ok'
  } catch (e) {
    if (e instanceof GraphQLError) return schemaErrorText(e)
    throw e
  }
}
const names = (defs: Definition[] | undefined): string[] | undefined => defs?.map(d => d.Name)
const fieldNames = (d: Definition | null | undefined): string[] | undefined => d?.Fields?.map(f => f.Name)

t.test('a valid schema: prelude types and directives, default roots, introspection fields on the query root', async t => {
  const s = build('type Query { a: Int }\ntype Mutation { m: String }\ntype Subscription { s: ID }')
  t.equal(s.Query?.Name, 'Query')
  t.equal(s.Mutation?.Name, 'Mutation')
  t.equal(s.Subscription?.Name, 'Subscription')
  t.same(fieldNames(s.Query), ['a', '__schema', '__type'])
  const typeField = s.Query!.Fields![2]
  t.same(typeField.Arguments?.map(a => [a.Name, a.Type?.NamedType, a.Type?.NonNull]), [['name', 'String', true]])
  t.same([s.Query!.Fields![1].Type?.NamedType, s.Query!.Fields![1].Type?.NonNull], ['__Schema', true])
  t.same(fieldNames(s.Mutation), ['m'], 'only the query root gets introspection fields')
  for (const n of ['Int', 'Float', 'String', 'Boolean', 'ID', '__Schema', '__Type', '__TypeKind', '__Field', '__InputValue', '__EnumValue', '__Directive', '__DirectiveLocation']) {
    t.equal(s.Types.get(n)?.BuiltIn, true, `${n} is built in`)
  }
  t.equal(s.Types.get('Query')?.BuiltIn, false)
  t.same([...s.Directives.keys()], ['defer', 'include', 'skip', 'deprecated', 'specifiedBy', 'oneOf'])
  t.same(s.Directives.get('deprecated')?.Arguments?.map(a => [a.Name, a.DefaultValue?.Raw]), [['reason', 'No longer supported']])
  t.same(s.Directives.get('include')?.Locations, ['FIELD', 'FRAGMENT_SPREAD', 'INLINE_FRAGMENT'])
  t.equal(s.Description, '')
})

t.test('an empty schema is valid and has no roots', async t => {
  const s = build('')
  t.equal(s.Query, null)
  t.equal(s.Mutation, null)
  t.equal(s.Subscription, null)
  t.equal(s.Types.size, 13)
})

t.test('a schema definition names the roots; Mutation and Subscription are then ordinary types', async t => {
  const s = build('"the API"\nschema { query: Root }\ntype Root { a: Int }\ntype Query { q: Int }\ntype Mutation { m: Int }\ntype Subscription { x: Int }')
  t.equal(s.Query?.Name, 'Root')
  t.equal(s.Mutation, null)
  t.equal(s.Subscription, null)
  t.equal(s.Description, 'the API')
  t.same(fieldNames(s.Types.get('Query')), ['q'], 'no introspection fields on a type that is not the root')
  t.same(fieldNames(s.Query), ['a', '__schema', '__type'])
})

t.test('schema extensions add and replace roots; without a schema definition the default names fill the rest', async t => {
  const s = build('type Query { a: Int }\ntype Q2 { b: Int }\ntype Mutation { m: Int }\nextend schema { query: Q2 }')
  t.equal(s.Query?.Name, 'Q2', 'an extension root is kept over the default name')
  t.equal(s.Mutation?.Name, 'Mutation')
  t.same(fieldNames(s.Types.get('Query')), ['a'])
  const d = build('type Query { a: Int }\ndirective @tag(v: String) on SCHEMA\nschema @tag(v: "1") { query: Query }\nextend schema @tag(v: "2")')
  t.same(d.SchemaDirectives.map(x => x.Arguments?.[0].Value?.Raw), ['1', '2'])
})

t.test('root operation types must exist', async t => {
  t.equal(check('schema { query: Query }'), 'input:1:10: Schema root query refers to a type Query that does not exist.')
  t.equal(check('type Query { a: Int }\nextend schema { mutation: Mutation }'), 'input:2:17: Schema root mutation refers to a type Mutation that does not exist.')
  t.equal(check('type Query { a: Int }\nschema { query: Query }\nschema { query: Query }'), 'input:3:8: Cannot have multiple schema entry points, consider schema extensions instead.')
})

t.test('types and directives are declared once, except the spec\'s own directives', async t => {
  t.equal(check('type A { a: Int }\ntype A { b: Int }'), 'input:2:6: Cannot redeclare type A.')
  t.equal(check('scalar String'), 'input:1:8: Cannot redeclare type String.')
  t.equal(check('directive @d on FIELD\ndirective @d on FIELD'), 'input:2:12: Cannot redeclare directive d.')
  t.equal(check('directive @defer on FIELD'), 'ok', '@defer is one of the built-in directives that may be defined again')
  // A redefinition of a spec directive replaces the prelude's.
  t.equal(check('directive @deprecated on OBJECT\ntype A @deprecated { a: Int }'), 'ok')
  t.equal(check('directive @deprecated on OBJECT\ntype A { a: Int @deprecated }'), 'input:2:18: Directive deprecated is not applicable on FIELD_DEFINITION.')
  t.equal(build('directive @skip(if: Boolean!) on FIELD').Directives.get('skip')?.Locations?.length, 1)
})

t.test('extensions: appended to their type, and a type that does not exist is made by its extension', async t => {
  const s = build('type Dog { name: String }\nextend type Dog { owner: String }\ninterface Pet { name: String }\nextend type Dog implements Pet\nextend type Cat { id: ID }\nextend enum Color { RED }')
  t.same(fieldNames(s.Types.get('Dog')), ['name', 'owner'])
  t.same(s.Types.get('Dog')?.Interfaces, ['Pet'])
  const cat = s.Types.get('Cat')!
  t.same([cat.Kind, cat.BuiltIn, cat.Position], ['OBJECT', false, { Line: 5, Column: 13 }])
  t.same(s.Types.get('Color')?.EnumValues?.map(v => v.Name), ['RED'])
  t.same(names(s.PossibleTypes.get('Cat')), ['Cat'], 'a made type takes part in PossibleTypes')
  t.equal(check('extend type Query { a: Int }'), 'ok')
  t.equal(build('extend type Query { a: Int }').Query?.Name, 'Query', 'an extension-made Query is the default root')
  t.equal(check('type A { a: Int }\nextend input A { b: Int }'), 'input:2:14: Cannot extend type A because the base type is a OBJECT, not INPUT_OBJECT.')
  t.equal(check('extend scalar String @specifiedBy(url: "x")'), 'ok')
  t.equal(check('extend type Hello implements Greeting'), 'input:1:13: Undefined type "Greeting".')
  t.equal(check('directive @d on OBJECT\nextend type Hello @d'), 'input:2:13: OBJECT Hello: must define one or more fields.')
})

t.test('field, argument and directive references', async t => {
  t.equal(check('type A { a: [Foo!] }'), 'input:1:14: Undefined type Foo.')
  t.equal(check('type A { a(x: Nope): Int }'), 'input:1:15: Undefined type Nope.')
  t.equal(check('type O { o: Int }\ntype A { a(x: [O!]): Int }'), 'input:2:12: cannot use [O!] as argument x because OBJECT is not a valid input type')
  t.equal(check('type A { a: Int @nope }'), 'input:1:18: Undefined directive nope.')
  t.equal(check('directive @d on OBJECT\ntype A { a: Int @d }'), 'input:2:18: Directive d is not applicable on FIELD_DEFINITION.')
  t.equal(check('directive @d on INPUT_FIELD_DEFINITION\ninput I { a: Int @d }\ntype A { a(i: I @d): Int }'), 'input:3:18: Directive d is not applicable on ARGUMENT_DEFINITION.')
  t.equal(check('directive @d(a: Int @d) on ARGUMENT_DEFINITION'), 'input:1:22: Directive d cannot refer to itself.')
  t.equal(check('directive @d(a: Int @e) on ARGUMENT_DEFINITION\ndirective @e(a: Int @d) on ARGUMENT_DEFINITION'), 'ok', 'only a directive\'s own name is refused')
  t.equal(check('directive @d(a: Nope) on FIELD'), 'input:1:17: Undefined type Nope.')
  t.equal(check('scalar S @deprecated'), 'input:1:11: Directive deprecated is not applicable on SCALAR.')
  const s = build('directive @d(n: Int) on OBJECT\ntype A @d(n: 1) { a: Int }')
  t.equal(s.Types.get('A')!.Directives![0].Definition, s.Directives.get('d'), 'a directive use gets its definition')
})

t.test('what each kind must contain', async t => {
  t.equal(check('type A'), 'input:1:6: OBJECT A: must define one or more fields.')
  t.equal(check('interface I'), 'input:1:11: INTERFACE I: must define one or more fields.')
  t.equal(check('enum E'), 'input:1:6: ENUM E: must define one or more unique enum values.')
  t.equal(check('input I'), 'input:1:7: INPUT_OBJECT I: must define one or more input fields.')
  t.equal(check('enum E { A true }'), 'input:1:6: ENUM E: non-enum value true.')
  t.equal(check('input In { a: Int }\ninterface I { a: In }'), 'input:2:15: INTERFACE I: field must be one of SCALAR, OBJECT, INTERFACE, UNION, ENUM.')
  // For an input object the library names the field's type's kind and the field.
  t.equal(check('type P { a: Int }\ninput In { friends: [P] }'), 'input:2:12: OBJECT friends: field must be one of SCALAR, ENUM, INPUT_OBJECT.')
  t.equal(check('input In { a: Int, e: E, i: In2 }\ninput In2 { s: String }\nenum E { X }'), 'ok')
})

t.test('unions', async t => {
  t.equal(check('union U = A | B\ntype A { a: Int }'), 'input:1:7: Undefined type "B".')
  t.equal(check('union U = A | S\ntype A { a: Int }\nscalar S'), 'input:1:7: UNION type "S" must be OBJECT.')
  const s = build('union U = A | B\ntype A { a: Int }\ntype B { b: Int }\nextend union U = C\ntype C { c: Int }')
  t.same(names(s.PossibleTypes.get('U')), ['A', 'B', 'C'])
  t.same(names(s.Implements.get('C')), ['U'])
})

t.test('field names: unique per type, and none reserved', async t => {
  t.equal(check('type A { a: Int a: String }'), 'input:1:17: Field A.a can only be defined once.')
  t.equal(check('type A { a: Int b: Int }\nextend type A { b: Int }'), 'input:2:17: Field A.b can only be defined once.')
  t.equal(check('type A { __a: Int }'), 'input:1:10: Name "__a" must not begin with "__", which is reserved by GraphQL introspection.')
  t.equal(check('type A { a(__x: Int): Int }'), 'input:1:12: Name "__x" must not begin with "__", which is reserved by GraphQL introspection.')
  t.equal(check('type __A { a: Int }'), 'input:1:6: Name "__A" must not begin with "__", which is reserved by GraphQL introspection.')
  t.equal(check('directive @__d on FIELD'), 'input:1:12: Name "__d" must not begin with "__", which is reserved by GraphQL introspection.')
  t.equal(check('extend type __Type { extra: Int }'), 'ok', 'a built-in type keeps its reserved name when extended')
})

t.test('implementing interfaces', async t => {
  const intf = 'interface I { f(a: Int): Node }\ninterface Node { id: ID }\n'
  t.equal(check('type A implements I { f: Int }'), 'input:1:6: Undefined type "I".')
  t.equal(check('scalar I\ntype A implements I { f: Int }'), 'input:2:6: "I" is a non interface type SCALAR.')
  t.equal(check(intf + 'type A implements I { g: Int }'), 'input:3:6: For A to implement I it must have a field called f.')
  t.equal(check(intf + 'type A implements I { f(a: Int): Int }'), 'input:3:23: For A to implement I the field f must have type Node.')
  t.equal(check(intf + 'type A implements I { f: Node }'), 'input:3:23: For A to implement I the field f must have the same arguments but it is missing a.')
  t.equal(check(intf + 'type A implements I { f(a: String): Node }'), 'input:3:25: For A to implement I the field f must have the same arguments but a has the wrong type.')
  t.equal(check(intf + 'type A implements I { f(a: Int!): Node }'), 'input:3:25: For A to implement I the field f must have the same arguments but a has the wrong type.')
  t.equal(check(intf + 'type A implements I { f(a: Int, b: Int!): Node }'), 'input:3:33: For A to implement I any additional arguments on f must be optional or have a default value but b is required.')
  t.equal(check(intf + 'type A implements I { f(a: Int, b: Int! = 1, c: Int): Node }'), 'ok')
  // Covariant field types: an implementer of the interface, non-null for nullable.
  t.equal(check(intf + 'type N implements Node { id: ID }\ntype A implements I { f(a: Int): N! }'), 'ok')
  t.equal(check('interface I { f: [Int] }\ntype A implements I { f: [Int!]! }'), 'ok')
  t.equal(check('interface I { f: [Int]! }\ntype A implements I { f: [Int] }'), 'input:2:23: For A to implement I the field f must have type [Int]!.')
  t.equal(check('interface I { f: [Int] }\ntype A implements I { f: Int }'), 'input:2:23: For A to implement I the field f must have type [Int].')
  t.equal(check('union U = X\ntype X { x: Int }\ninterface I { f: U }\ntype A implements I { f: X }'), 'ok', 'a union member is covariant')
})

t.test('interfaces implemented by interfaces', async t => {
  const s = build('interface A { id: ID }\ninterface B implements A { id: ID }\ntype C implements B & A { id: ID }')
  t.same(names(s.PossibleTypes.get('A')), ['B', 'C'], 'an interface is a possible type of the interface it implements')
  t.same(names(s.PossibleTypes.get('B')), ['C'])
  t.same(names(s.PossibleTypes.get('C')), ['C'])
  t.same(names(s.Implements.get('C')), ['B', 'A'])
  t.same(names(s.Implements.get('B')), ['A'])
  t.equal(s.PossibleTypes.has('B') && !s.PossibleTypes.get('B')!.some(d => d.Name === 'B'), true, 'an interface is not its own possible type')
  t.equal(check('interface A { id: ID }\ninterface B implements A { id: ID }\ntype C implements B { id: ID }'), 'input:3:6: Type C must implement A because it is implemented by B.')
  t.equal(check('interface A implements B { id: ID }\ninterface B implements A { id: ID }'), 'input:1:11: Type A cannot implement B because it would create a circular reference.')
})

t.test('checks run type by type in name order, then directive definitions', async t => {
  t.equal(check('type B { b: Nope }\ntype A { a: Nope2 }'), 'input:2:13: Undefined type Nope2.')
  t.equal(check('directive @a(x: Nope) on FIELD\ntype Z { z: Nope2 }'), 'input:2:13: Undefined type Nope2.')
  // Within a type: fields, union members, interfaces, kind contents, duplicates, the name, its directives.
  t.equal(check('type __A implements Nope @nope { a: Int a: Int }'), 'input:1:6: Undefined type "Nope".')
  t.equal(check('type __A @nope { a: Int a: Int }'), 'input:1:25: Field __A.a can only be defined once.')
  t.equal(check('type __A @nope { a: Int }'), 'input:1:6: Name "__A" must not begin with "__", which is reserved by GraphQL introspection.')
})

t.test('errors at built-in definitions name the prelude', async t => {
  const text = check('interface I { x: Int }\nextend type __Type implements I')
  t.match(text, new RegExp(`^${PRELUDE_FILE.replace('.', '\\.')}:\\d+:6: For __Type to implement I it must have a field called x\\.$`))
  t.notMatch(check('type A { a: Nope }'), /prelude/)
})

t.test('schemaErrorText prints the library\'s Error()', async t => {
  t.equal(schemaErrorText(new GraphQLError('m.', 3, 6)), 'input:3:6: m.')
  t.equal(schemaErrorText(new GraphQLError('m.', 3, 6, PRELUDE_FILE)), 'prelude.graphql:3:6: m.')
  t.equal(schemaErrorText(new GraphQLError('m.')), 'input: m.')
})

t.test('nodes without positions (AST objects) fail at line and column -1', async t => {
  const doc = parse('type A { a: Nope }')
  const strip = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(strip)
    else if (v !== null && typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) {
        if (k === 'Position') (v as Record<string, unknown>)[k] = null
        else strip(x)
      }
    }
  }
  strip(doc)
  t.equal(check2(doc), 'input:-1:-1: Undefined type Nope.')
  const noType = parse('type A { a: Int }')
  noType.Definitions![0].Fields![0].Type = null
  t.throws(() => buildSchema(noType), GqlparserPanic, 'a missing type reference is a crash in the library')
  // An undefined union member met while checking an interface field crashes the library too.
  t.throws(() => build('interface J { g: V }\ntype C implements J { g: Int }\nunion V = Missing'), GqlparserPanic)
})
function check2 (doc: SchemaDocument): string {
  try {
    buildSchema(doc)
    return 'ok'
  } catch (e) {
    if (e instanceof GraphQLError) return schemaErrorText(e)
    throw e
  }
}

t.test('mergeSchemaDocuments appends each list, first document first, and shares the nodes', async t => {
  const a = parse('schema { query: Q }\ntype A { a: Int }\ndirective @x on FIELD\nextend type A { b: Int }')
  const b = parse('extend schema { mutation: M }\ntype B { b: Int }\ndirective @y on FIELD')
  const m = mergeSchemaDocuments(a, b)
  t.same(m.Definitions?.map(d => d.Name), ['A', 'B'])
  t.same(m.Directives?.map(d => d.Name), ['x', 'y'])
  t.equal(m.Schema?.length, 1)
  t.equal(m.SchemaExtension?.length, 1)
  t.equal(m.Extensions?.length, 1)
  t.equal(m.Definitions![0], a.Definitions![0])
  t.equal(m.Position, null)
  const empty = mergeSchemaDocuments(parse(''), parse(''))
  t.same([empty.Schema, empty.Definitions, empty.Extensions, empty.Directives, empty.SchemaExtension], [null, null, null, null, null])
})

t.test('buildSchema leaves the user\'s document and the cached prelude as they were', async t => {
  const doc = parse('type Query { a: Int }\nextend type Query { b: Int }')
  const s = buildSchema(doc)
  t.same(fieldNames(s.Query), ['a', 'b', '__schema', '__type'])
  t.same(doc.Definitions![0].Fields!.map(f => f.Name), ['a'], 'the document keeps its own fields')
  build('extend type __Type { extra: Int }\nextend enum __TypeKind { MORE }')
  const again = build('')
  t.notOk(fieldNames(again.Types.get('__Type'))?.includes('extra'), 'an extension of a prelude type does not leak into the next schema')
  t.notOk(again.Types.get('__TypeKind')?.EnumValues?.some(v => v.Name === 'MORE'))
  t.equal(build('').Types.get('Int') === again.Types.get('Int'), false, 'each schema has its own prelude nodes')
})

t.test('validateSchemaDocument alone has no prelude', async t => {
  t.throws(() => validateSchemaDocument(parse('type Query { a: Int }')), { message: 'Undefined type Int.' })
  const doc = parse('scalar ID\ntype Query { a: ID }\nextend type Query { b: ID }\nextend type Cat { id: ID }')
  t.equal(validateSchemaDocument(doc).Types.get('Cat')?.Kind, 'OBJECT')
  t.same(doc.Definitions?.map(d => d.Name), ['ID', 'Query'], 'types made by extensions are not added to the document')
  t.same(fieldNames(doc.Definitions![1]), ['a', 'b', '__schema', '__type'], 'like the library, it changes the document\'s definitions')
  // Parsed as a user's document, the prelude's types are not built in and their names are reserved.
  t.throws(() => validateSchemaDocument(mergeSchemaDocuments(parse(PRELUDE_SDL), parse('type Query { a: Int }'))),
    { message: 'Name "__Directive" must not begin with "__", which is reserved by GraphQL introspection.' })
})

// ---- gqlparser v2.5.31 (what current OPA builds with) over v2.5.1 ----

t.test('the prelude is v2.5.31\'s: @oneOf, and the introspection fields of the October 2021 spec and after', async t => {
  const s = build('type Query { a: Int }')
  const oneOf = s.Directives.get('oneOf')!
  t.same([oneOf.Arguments?.length ?? 0, oneOf.Locations, oneOf.IsRepeatable], [0, ['INPUT_OBJECT'], false])
  t.equal(check('input I @oneOf { a: Int, b: String }\ntype Query { f(i: I): Int }'), 'ok')
  t.equal(check('type Query @oneOf { a: Int }'), 'input:1:13: Directive oneOf is not applicable on OBJECT.')
  const fields = (n: string): string[] | undefined => fieldNames(s.Types.get(n))
  t.same(fields('__Type'), ['kind', 'name', 'description', 'specifiedByURL', 'fields', 'interfaces', 'possibleTypes', 'enumValues', 'inputFields', 'ofType', 'isOneOf'])
  t.same(fields('__Directive'), ['name', 'description', 'isRepeatable', 'locations', 'args'])
  t.same(fields('__InputValue'), ['name', 'description', 'type', 'defaultValue', 'isDeprecated', 'deprecationReason'])
  const args = (type: string, field: string): Array<[string, string | undefined, string | undefined]> | undefined =>
    s.Types.get(type)?.Fields?.find(f => f.Name === field)?.Arguments?.map(a => [a.Name, a.Type?.NamedType, a.DefaultValue?.Raw])
  t.same(args('__Type', 'inputFields'), [['includeDeprecated', 'Boolean', 'false']])
  t.same(args('__Field', 'args'), [['includeDeprecated', 'Boolean', 'false']])
  t.same(args('__Directive', 'args'), [['includeDeprecated', 'Boolean', 'false']])
  t.same([...s.Types.keys()].slice(5), ['__Schema', '__Type', '__TypeKind', '__Field', '__InputValue', '__EnumValue', '__Directive', '__DirectiveLocation', 'Query'])
})

t.test('@defer and @oneOf may be defined again, and the last definition is the one used', async t => {
  t.equal(check('directive @oneOf on INPUT_OBJECT\ninput I @oneOf { a: Int }'), 'ok')
  t.equal(check('directive @oneOf on OBJECT\ninput I @oneOf { a: Int }'), 'input:2:10: Directive oneOf is not applicable on INPUT_OBJECT.')
  t.same(build('directive @defer(label: String) on INLINE_FRAGMENT').Directives.get('defer')?.Arguments?.map(a => a.Name), ['label'])
  t.equal(check('directive @d on FIELD\ndirective @d on FIELD'), 'input:2:12: Cannot redeclare directive d.', 'others still may not')
})

t.test('errors at built-in definitions give the line and column they have in the library\'s prelude file', async t => {
  t.equal(check('interface I { x: Int }\nextend type __Type implements I'), 'prelude.graphql:92:6: For __Type to implement I it must have a field called x.')
  t.equal(check('interface I { isRepeatable: String }\nextend type __Directive implements I'), 'prelude.graphql:185:3: For __Directive to implement I the field isRepeatable must have type String.')
  t.equal(check('interface I { args(includeDeprecated: String): [__InputValue!]! }\nextend type __Field implements I'), 'prelude.graphql:145:8: For __Field to implement I the field args must have the same arguments but includeDeprecated has the wrong type.')
  t.equal(check('interface I { args: [__InputValue!]! }\nextend type __Field implements I'), 'ok', 'includeDeprecated has a default')
  t.equal(check('extend enum __TypeKind { true }'), 'prelude.graphql:107:6: ENUM __TypeKind: non-enum value true.')
})

t.test('directives on the schema definition and schema extensions are checked as used on SCHEMA', async t => {
  t.equal(check('type Q { a: Int }\nschema @nope { query: Q }'), 'input:2:9: Undefined directive nope.')
  t.equal(check('directive @d on OBJECT\ntype Q { a: Int }\nschema @d { query: Q }'), 'input:3:9: Directive d is not applicable on SCHEMA.')
  t.equal(check('type Query { a: Int }\nextend schema @nope'), 'input:2:16: Undefined directive nope.')
  t.equal(check('directive @d(v: String!) on SCHEMA\ntype Query { a: Int }\nextend schema @d'), 'input:3:16: Argument v for directive d cannot be null.')
  // Each part's roots come first, then its directives; all of it before any type is checked.
  t.equal(check('schema @nope { query: Missing }'), 'input:1:16: Schema root query refers to a type Missing that does not exist.')
  t.equal(check('type Q { a: Int }\nschema @nope { query: Q }\nextend schema { mutation: Missing }'), 'input:2:9: Undefined directive nope.')
  t.equal(check('type Q { a: Nope }\nschema @nope { query: Q }'), 'input:2:9: Undefined directive nope.')
  const s = build('directive @d(v: Int) on SCHEMA\ntype Q { a: Int }\nschema @d(v: 1) { query: Q }\nextend schema @d(v: 2)')
  t.same(s.SchemaDirectives.map(d => [d.Name, d.Definition === s.Directives.get('d')]), [['d', true], ['d', true]], 'each use gets its definition')
})

t.test('directives on enum values are checked as used on ENUM_VALUE, value by value', async t => {
  t.equal(check('enum E { A @nope }'), 'input:1:13: Undefined directive nope.')
  t.equal(check('directive @d on FIELD_DEFINITION\nenum E { A @d }'), 'input:2:13: Directive d is not applicable on ENUM_VALUE.')
  t.equal(check('enum E { A @deprecated(reason: "old") B }'), 'ok')
  t.equal(check('enum E { A @nope true }'), 'input:1:13: Undefined directive nope.', 'a value\'s directives before the next value')
  t.equal(check('enum E { true A @nope }'), 'input:1:6: ENUM E: non-enum value true.')
  t.equal(check('enum E { A @nope }\ntype __T { a: Int }'), 'input:1:13: Undefined directive nope.', 'before the type\'s own name')
  const s = build('directive @d on ENUM_VALUE\nenum E { A @d }')
  t.equal(s.Types.get('E')!.EnumValues![0].Directives![0].Definition, s.Directives.get('d'))
})

t.test('a directive use gives only arguments its definition has, and every required one a non-null value', async t => {
  t.equal(check('directive @d(a: Int) on FIELD_DEFINITION\ntype P { f: Int @d(b: 1) }'), 'input:2:20: Undefined argument b for directive d.')
  t.equal(check('directive @d(a: Int!) on FIELD_DEFINITION\ntype P { f: Int @d }'), 'input:2:18: Argument a for directive d cannot be null.')
  t.equal(check('directive @d(a: Int!) on FIELD_DEFINITION\ntype P { f: Int @d(a: null) }'), 'input:2:18: Argument a for directive d cannot be null.')
  t.equal(check('directive @d(a: Int!) on FIELD_DEFINITION\ntype P { f: Int @d(x: 1) }'), 'input:2:20: Undefined argument x for directive d.', 'unknown arguments first')
  t.equal(check('directive @d(a: Int! = 1, b: Int) on FIELD_DEFINITION\ntype P { f: Int @d(b: null) }'), 'ok', 'a default or a nullable type makes it optional')
  t.equal(check('directive @d(a: Int!) on FIELD_DEFINITION\ntype P { f: Int @d(a: "x") }'), 'ok', 'the value\'s type is not checked')
  t.equal(check('scalar S @specifiedBy'), 'input:1:11: Argument url for directive specifiedBy cannot be null.')
  t.equal(check('type P { f: Int @deprecated(why: "x") }'), 'input:1:29: Undefined argument why for directive deprecated.')
  t.equal(check('directive @e(v: Int!) on ARGUMENT_DEFINITION\ndirective @d(a: Int @e) on FIELD'), 'input:2:22: Argument v for directive e cannot be null.', 'in directive definitions too')
  // From an AST object a policy passed in: a required argument without a value is a crash in the library.
  const doc = parse('directive @d(a: Int!) on FIELD_DEFINITION\ntype P { f: Int @d(a: 1) }')
  doc.Definitions![0].Fields![0].Directives![0].Arguments![0].Value = null
  t.throws(() => buildSchema(doc), GqlparserPanic)
  const optional = parse('directive @d(a: Int) on FIELD_DEFINITION\ntype P { f: Int @d(a: 1) }')
  optional.Definitions![0].Fields![0].Directives![0].Arguments![0].Value = null
  t.equal(check2(optional), 'ok', 'an optional argument\'s value is not read')
})
