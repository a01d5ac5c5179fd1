// AST objects turned back into documents as OPA turns them (json.Marshal, then json.Unmarshal into
// its library's Go structs): Go's key matching, nulls and type errors, and the library's own
// decoders for selections and the nodes that hold them.
import t, { type Test } from 'tap'
import { queryDocumentFromObject, schemaDocumentFromObject, NilElementError, MAX_JSON_DEPTH } from '../../../src/policy/builtins/graphql/document.js'
import { QueryParser, SchemaParser } from '../../../src/policy/builtins/graphql/parser.js'
import { pruneAst } from '../../../src/policy/builtins/graphql/index.js'
import { GraphQLError } from '../../../src/policy/builtins/graphql/types.js'
import { rawJson } from '../../../src/exact-json.js'

type Obj = Record<string, unknown>
const query = (text: string): Obj => new QueryParser(text).document()
const schema = (text: string): Obj => new SchemaParser(text).document()
const q = (v: unknown): Obj => queryDocumentFromObject(v) as unknown as Obj
const s = (v: unknown): Obj => schemaDocumentFromObject(v) as unknown as Obj

/** Every object in `a` has exactly the keys of the object at the same place in `b`. */
function sameShape (t: Test, a: unknown, b: unknown, path = '$'): void {
  if (Array.isArray(a) && Array.isArray(b)) {
    a.forEach((x, i) => { if (i < b.length) sameShape(t, x, b[i], `${path}[${i}]`) })
    return
  }
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return
  const ka = Object.keys(a)
  const kb = Object.keys(b)
  if (ka.join() !== kb.join()) t.strictSame(ka, kb, `keys at ${path}`)
  for (const k of ka) sameShape(t, (a as Obj)[k], (b as Obj)[k], `${path}.${k}`)
}

/** Every Position in the tree, as path → value. */
function positions (v: unknown, path = '$', out: Record<string, unknown> = {}): Record<string, unknown> {
  if (Array.isArray(v)) v.forEach((x, i) => positions(x, `${path}[${i}]`, out))
  else if (v !== null && typeof v === 'object') {
    for (const [k, x] of Object.entries(v)) {
      if (k === 'Position') { if (x !== null) out[`${path}.Position`] = x } else positions(x, `${path}.${k}`, out)
    }
  }
  return out
}

/** What `f` throws (undefined when it returns). */
function thrown (f: () => unknown): unknown {
  try { f() } catch (e) { return e }
  return undefined
}

/** `f` fails as OPA's json.Unmarshal would, with exactly this message (or one matching it). */
function fails (t: Test, f: () => unknown, message: string | RegExp, name: string): void {
  const e = thrown(f)
  if (!(e instanceof GraphQLError)) {
    t.fail(`${name}: no GraphQLError (${String(e)})`)
    return
  }
  if (typeof message === 'string') t.equal(e.message, message, name)
  else t.match(e.message, message, name)
}

const QUERY_TEXT = `
query Q($a: [Int!]! = [1, 2], $b: In = {x: {y: "s"}, z: 1.5e3}, $c: Boolean! = false) @op(x: 1) {
  # a comment
  renamed: f(a: $a, e: RED, n: null, s: "str", b: """block""", l: [], o: {}) @skip(if: $c) {
    g
    h(i: -7) { k }
  }
}
mutation M { m }
subscription { s }
`

t.test('round trip: a query OPA returned comes back as the same document', async t => {
  const parsed = query(QUERY_TEXT)
  const doc = q(pruneAst(parsed))
  // The hand-written decoders (operation, field) never read Comment; nothing else is lost.
  const strip = (v: unknown): unknown => JSON.parse(JSON.stringify(v, (k, x: unknown) => (k === 'Comment' ? undefined : x)))
  t.strictSame(pruneAst(doc), strip(pruneAst(parsed)))
  t.equal((doc.Operations as Obj[])[0]!.Comment, null, 'an operation\'s comment is not decoded')
  t.strictSame(positions(doc), {}, 'no positions')
  sameShape(t, doc, parsed)
  const f = ((doc.Operations as Obj[])[0]!.SelectionSet as Obj[])[0]!
  t.equal(f.Alias, 'renamed')
  t.equal(f.Name, 'f')
  const args = f.Arguments as Obj[]
  t.strictSame(args.map(a => [a.Name, (a.Value as Obj).Kind, (a.Value as Obj).Raw]), [
    ['a', 0, 'a'], ['e', 7, 'RED'], ['n', 6, 'null'], ['s', 3, 'str'], ['b', 4, 'block'], ['l', 8, ''], ['o', 9, ''],
  ], 'every value kind')
  // OPA prunes an empty list's Children, so it comes back nil.
  t.equal((args[5]!.Value as Obj).Children, null)
})

const SCHEMA_TEXT = `
"described" type Query implements I & J @x { f(a: Int = 3 @y, "arg" b: [In!]): [String!]! }
# before
"d2"
# after
interface I { f: Int }
enum E { A @deprecated B }
union U = Query | Other
input In { x: Int = 1, y: [E!] = [A] }
scalar Date
directive @x(a: Int = 2) repeatable on FIELD | OBJECT
schema @x { query: Query mutation: M }
extend schema { subscription: S }
extend type Query { g: Int }
`

t.test('round trip: a schema OPA returned comes back as the same document, comments included', async t => {
  const parsed = schema(SCHEMA_TEXT)
  const doc = s(pruneAst(parsed))
  t.strictSame(pruneAst(doc), pruneAst(parsed))
  t.strictSame(positions(doc), {}, 'no positions')
  sameShape(t, doc, parsed)
  const i = (doc.Definitions as Obj[])[1]!
  t.strictSame(i.BeforeDescriptionComment, { List: [{ Value: '# before', Position: null }] })
  t.strictSame(i.AfterDescriptionComment, { List: [{ Value: '# after', Position: null }] })
})

t.test('nodes have every field the parser gives them, zero when absent', async t => {
  t.strictSame(q({}), { Operations: null, Fragments: null, Position: null, Comment: null })
  t.strictSame(s({}), { Schema: null, SchemaExtension: null, Directives: null, Definitions: null, Extensions: null, Position: null, Comment: null })
  const doc = q({ Operations: [{ SelectionSet: [{ Arguments: [{ Value: {} }], Directives: [{}] }], VariableDefinitions: [{ Type: {} }] }] })
  const op = (doc.Operations as Obj[])[0]!
  t.strictSame(op, {
    Operation: '', Name: '', VariableDefinitions: [{ Variable: '', Type: { NamedType: '', Elem: null, NonNull: false, Position: null }, DefaultValue: null, Directives: null, Position: null, Comment: null, Definition: null, Used: false }],
    Directives: null,
    SelectionSet: [{
      Alias: '', Name: '',
      Arguments: [{ Name: '', Value: { Raw: '', Children: null, Kind: 0, Position: null, Comment: null, Definition: null, VariableDefinition: null, ExpectedType: null, ExpectedTypeHasDefault: false }, Position: null, Comment: null }],
      Directives: [{ Name: '', Arguments: null, Position: null, ParentDefinition: null, Definition: null, Location: '' }],
      SelectionSet: null, Position: null, Comment: null, Definition: null, ObjectDefinition: null,
    }],
    Position: null, Comment: null,
  })
  const sd = s({ Definitions: [{ Fields: [{ Arguments: [{}] }], EnumValues: [{}] }], Directives: [{}], Schema: [{ OperationTypes: [{}] }] })
  t.strictSame((sd.Definitions as Obj[])[0], {
    Kind: '', Description: '', Name: '', Directives: null, Interfaces: null,
    Fields: [{
      Description: '', Name: '',
      Arguments: [{ Description: '', Name: '', DefaultValue: null, Type: null, Directives: null, Position: null, BeforeDescriptionComment: null, AfterDescriptionComment: null }],
      DefaultValue: null, Type: null, Directives: null, Position: null, BeforeDescriptionComment: null, AfterDescriptionComment: null,
    }],
    Types: null,
    EnumValues: [{ Description: '', Name: '', Directives: null, Position: null, BeforeDescriptionComment: null, AfterDescriptionComment: null }],
    Position: null, BuiltIn: false, BeforeDescriptionComment: null, AfterDescriptionComment: null, EndOfDefinitionComment: null,
  })
  t.strictSame((sd.Directives as Obj[])[0], { Description: '', Name: '', Arguments: null, Locations: null, IsRepeatable: false, Position: null, BeforeDescriptionComment: null, AfterDescriptionComment: null })
  t.strictSame((sd.Schema as Obj[])[0], {
    Description: '', Directives: null, OperationTypes: [{ Operation: '', Type: '', Position: null, Comment: null }], Position: null,
    BeforeDescriptionComment: null, AfterDescriptionComment: null, EndOfDefinitionComment: null,
  })
})

t.test('selections: a Field if it decodes as one, else a FragmentSpread, else an InlineFragment', async t => {
  const sel = (items: unknown[]): Obj[] => ((q({ Operations: [{ SelectionSet: items }] }).Operations as Obj[])[0]!.SelectionSet as Obj[])
  // A spread or an inline fragment as OPA returns them decodes as a Field: the library tries
  // Field first and Field takes any object.
  const [spread, inline] = sel([{ Name: 'Frag' }, { TypeCondition: 'T', SelectionSet: [{ Alias: 'x', Name: 'x' }] }])
  t.strictSame(Object.keys(spread!), ['Alias', 'Name', 'Arguments', 'Directives', 'SelectionSet', 'Position', 'Comment', 'Definition', 'ObjectDefinition'])
  t.equal(spread!.Name, 'Frag')
  t.equal(spread!.Alias, '')
  t.ok('Alias' in inline!, 'an inline fragment object is a Field too')
  t.equal(inline!.Name, '')
  t.strictSame((inline!.SelectionSet as Obj[]).map(x => x.Name), ['x'])
  // A key Field reads with the wrong kind makes it a FragmentSpread (which ignores Alias).
  const [fs] = sel([{ Alias: 1, Name: 'Frag', Directives: [{ Name: 'd' }] }])
  t.strictSame(Object.keys(fs!), ['Name', 'Directives', 'ObjectDefinition', 'Definition', 'Position', 'Comment'])
  t.equal(fs!.Name, 'Frag')
  t.equal((fs!.Directives as Obj[])[0]!.Name, 'd')
  // ...and FragmentSpread matches keys ignoring case, where Field does not.
  const [fold] = sel([{ name: 'Lower', Alias: false }])
  t.equal(fold!.Name, 'Lower')
  // FragmentSpread is a plain struct: it decodes its Comment, and a bad one fails it too.
  const [withComment, noSpread] = sel([{ Alias: 1, Name: 'F', Comment: { List: [{ Value: '# c' }] } }, { Alias: 1, Name: 'F', Comment: 5 }])
  t.strictSame(withComment!.Comment, { List: [{ Value: '# c', Position: null }] })
  t.strictSame(Object.keys(noSpread!), ['TypeCondition', 'Directives', 'SelectionSet', 'ObjectDefinition', 'Position', 'Comment'])
  t.strictSame([noSpread!.TypeCondition, noSpread!.Comment], ['', null])
  // When Field and FragmentSpread both fail: an InlineFragment.
  const [inl] = sel([{ Alias: 1, Name: 2, TypeCondition: 'T', SelectionSet: [{ Name: 'y' }], Position: { Line: 4, Column: 9 } }])
  t.strictSame(Object.keys(inl!), ['TypeCondition', 'Directives', 'SelectionSet', 'ObjectDefinition', 'Position', 'Comment'])
  t.equal(inl!.TypeCondition, 'T')
  t.strictSame(inl!.Position, { Line: 4, Column: 9 })
  // None of the three: the element is dropped, not an error.
  t.strictSame(sel(['x', 1, true, [], { Alias: 1, Name: 2, TypeCondition: 3 }, { Name: 'kept' }]).map(x => x.Name), ['kept'])
  // null decodes as an empty Field.
  const [empty] = sel([null])
  t.strictSame(empty, { Alias: '', Name: '', Arguments: null, Directives: null, SelectionSet: null, Position: null, Comment: null, Definition: null, ObjectDefinition: null })
  // A null selection set is an empty one; an absent one stays nil.
  t.strictSame((q({ Operations: [{ SelectionSet: null }] }).Operations as Obj[])[0]!.SelectionSet, [])
  t.equal((q({ Operations: [{}] }).Operations as Obj[])[0]!.SelectionSet, null)
  fails(t, () => q({ Operations: [{ SelectionSet: {} }] }), 'json: cannot unmarshal object into Go struct field QueryDocument.Operations of type []json.RawMessage', 'a selection set that is no list')
})

t.test('keys: any case on plain structs (the later of two wins), exact only on hand-decoded nodes', async t => {
  const doc = s({ dEfInItIoNs: [{ kind: 'OBJECT', NAME: 'Query', fields: [{ name: 'f', TYPE: { namedtype: 'Int', NONNULL: true } }] }] })
  t.strictSame(pruneAst(doc), { Definitions: [{ Kind: 'OBJECT', Name: 'Query', Description: '', BuiltIn: false, Fields: [{ Name: 'f', Description: '', Type: { NamedType: 'Int', NonNull: true } }] }] })
  // Go's folding: ſ is s and the Kelvin sign is k.
  t.equal((s({ Definitions: [{ '\u212aind': 'ENUM' }] }).Definitions as Obj[])[0]!.Kind, 'ENUM')
  t.strictSame((s({ '\u017fchema': [{ Description: 'x' }] }).Schema as Obj[]).length, 1)
  t.equal((s({ Definitions: [{ Kïnd: 'ENUM' }] }).Definitions as Obj[])[0]!.Kind, '', 'no other folding')
  // Keys are decoded in sorted order ("NAME" < "Name" < "name"): the last one wins.
  t.equal((s({ Definitions: [{ name: 'c', NAME: 'a', Name: 'b' }] }).Definitions as Obj[])[0]!.Name, 'c')
  t.equal((s({ Definitions: [{ NAME: 'a', Name: 'b' }] }).Definitions as Obj[])[0]!.Name, 'b')
  // A later key decodes into what the earlier one left: the list's elements are merged.
  const merged = s({ Definitions: [{ Name: 'A', Kind: 'OBJECT' }, { Name: 'B' }], definitions: [{ Description: 'd' }] })
  t.strictSame((merged.Definitions as Obj[]).map(d => [d.Name, d.Kind, d.Description]), [['A', 'OBJECT', 'd']])
  // The hand-written decoders compare keys exactly: these keys are unknown there.
  const op = (q({ operations: [{ operation: 'mutation', name: 'N', selectionSet: [{ Name: 'f' }], Name: 'Kept' }] }).Operations as Obj[])[0]!
  t.strictSame([op.Operation, op.Name, op.SelectionSet], ['', 'Kept', null])
  sameShape(t, op, (q({ Operations: [{}] }).Operations as Obj[])[0])
  const fld = (q({ Operations: [{ SelectionSet: [{ name: 'x', alias: 'y', Name: 'n' }] }] }).Operations as Obj[])[0]!.SelectionSet as Obj[]
  t.strictSame([fld[0]!.Name, fld[0]!.Alias], ['n', ''])
  const frag = (q({ fragments: [{ name: 'F', typeCondition: 'T', TypeCondition: 'U' }] }).Fragments as Obj[])[0]!
  t.strictSame([frag.Name, frag.TypeCondition], ['', 'U'])
})

t.test('unknown keys are ignored, whatever their value', async t => {
  t.strictSame(q({ Foo: { Bar: [1, 'x', null] }, Operations: [{ Extra: 1, SelectionSet: [{ Name: 'a', Unknown: {} }] }] }).Operations, q({ Operations: [{ SelectionSet: [{ Name: 'a' }] }] }).Operations)
  // Keys a node's Go struct has but never decodes: Position where it is json:"-", Comment on the
  // hand-decoded nodes.
  const doc = q({ Operations: [{ Comment: 5, SelectionSet: [{ Name: 'f', Comment: 'x', Arguments: [{ Name: 'a', Position: 'x', Value: { Kind: 1, Raw: '1', Position: [] } }] }] }] })
  const f = ((doc.Operations as Obj[])[0]!.SelectionSet as Obj[])[0]!
  t.equal(f.Comment, null)
  t.equal((f.Arguments as Obj[])[0]!.Position, null)
  t.equal(((f.Arguments as Obj[])[0]!.Value as Obj).Position, null)
  t.strictSame(s({ Definitions: [{ Name: 'T', Position: { Line: 1, Column: 2 } }] }).Definitions, [(s({ Definitions: [{ Name: 'T' }] }).Definitions as Obj[])[0]])
})

t.test('positions: decoded on operations, fields, inline fragments, fragment definitions and comments only', async t => {
  const doc = q({
    Operations: [{ Position: { Line: 1, Column: 2, Start: 0, End: 3, Src: { Name: 'x', Input: 'y', BuiltIn: true } }, SelectionSet: [{ Name: 'f', Position: { line: 3, column: 4 } }] }],
    Fragments: [{ Name: 'F', Position: {} }],
    Comment: { List: [{ Value: '# c', Position: { Line: 7, Column: 1 } }] },
  })
  t.strictSame(positions(doc), {
    '$.Operations[0].Position': { Line: 1, Column: 2 },
    '$.Operations[0].SelectionSet[0].Position': { Line: 3, Column: 4 },
    '$.Fragments[0].Position': { Line: 0, Column: 0 },
    '$.Comment.List[0].Position': { Line: 7, Column: 1 },
  })
  t.equal((q({ Operations: [{ Position: null }] }).Operations as Obj[])[0]!.Position, null)
  fails(t, () => q({ Operations: [{ Position: { Line: 'x' } }] }), 'json: cannot unmarshal string into Go struct field QueryDocument.Operations.Line of type int', 'a position\'s line must be a number')
  fails(t, () => q({ Operations: [{ Position: { Src: { BuiltIn: 1 } } }] }), /cannot unmarshal number into Go struct field .*Src\.BuiltIn of type bool$/, 'unused position fields are still decoded')
})

t.test('nulls leave the zero value; nil elements of node lists are refused', async t => {
  const doc = s({ Definitions: [{ Kind: null, Name: null, Fields: null, BuiltIn: null, Interfaces: ['A', null], Types: [] }] })
  t.strictSame((doc.Definitions as Obj[])[0], (s({ Definitions: [{ Interfaces: ['A', ''], Types: [] }] }).Definitions as Obj[])[0])
  t.strictSame(q({ Operations: null, Fragments: null, Comment: null }), q({}))
  // A null comment is dropped (nothing reads comments; OPA's output prunes nulls).
  t.strictSame(s({ Comment: { List: [null, { Value: '# x' }] } }).Comment, { List: [{ Value: '# x', Position: null }] })
  for (const [doc, list] of [
    [{ Operations: [null] }, 'ast.OperationList'],
    [{ Fragments: [{ Name: 'F', SelectionSet: [{ Name: 'f', Arguments: [null] }] }] }, 'ast.ArgumentList'],
    [{ Operations: [{ SelectionSet: [{ Name: 'f', Arguments: [{ Name: 'a', Value: { Kind: 8, Children: [null] } }] }] }] }, 'ast.ChildValueList'],
  ] as Array<[Obj, string]>) {
    const e = thrown(() => q(doc))
    t.ok(e instanceof NilElementError && e instanceof GraphQLError, `${list}: NilElementError`)
    t.equal((e as NilElementError).goType, list)
  }
  t.equal((thrown(() => s({ Definitions: [{ Fields: [null] }] })) as NilElementError).goType, 'ast.FieldList')
  // A nil left by a selection that then failed to decode as a Field does not count.
  const [sp] = ((q({ Operations: [{ SelectionSet: [{ Arguments: [null], Name: 'F', SelectionSet: 5 }] }] }).Operations as Obj[])[0]!.SelectionSet as Obj[])
  t.equal(sp!.Name, 'F')
  t.notOk('Alias' in sp!, 'a FragmentSpread')
})

t.test('type mismatches fail with Go\'s message', async t => {
  const cases: Array<[() => unknown, string]> = [
    [() => s({ Definitions: [{ Kind: 1 }] }), 'json: cannot unmarshal number into Go struct field Definition.Definitions.Kind of type ast.DefinitionKind'],
    [() => s({ Definitions: [{ Fields: {} }] }), 'json: cannot unmarshal object into Go struct field Definition.Definitions.Fields of type ast.FieldList'],
    [() => s({ Definitions: [{ BuiltIn: 'true' }] }), 'json: cannot unmarshal string into Go struct field Definition.Definitions.BuiltIn of type bool'],
    [() => s({ Definitions: ['x'] }), 'json: cannot unmarshal string into Go struct field SchemaDocument.Definitions of type ast.Definition'],
    [() => s({ Definitions: [{ Fields: [{ Type: { Elem: { NonNull: [] } } }] }] }), 'json: cannot unmarshal array into Go struct field Type.Definitions.Fields.Type.Elem.NonNull of type bool'],
    [() => s({ Directives: [{ Locations: [true] }] }), 'json: cannot unmarshal bool into Go struct field DirectiveDefinition.Directives.Locations of type ast.DirectiveLocation'],
    [() => s({ Schema: [{ OperationTypes: [{ Operation: {} }] }] }), 'json: cannot unmarshal object into Go struct field OperationTypeDefinition.Schema.OperationTypes.Operation of type ast.Operation'],
    [() => s([]), 'json: cannot unmarshal array into Go value of type ast.SchemaDocument'],
    [() => q('x'), 'json: cannot unmarshal string into Go value of type ast.QueryDocument'],
    // Inside a hand-decoded node the message names where the outer decoder stood.
    [() => q({ Operations: [{ Name: 5 }] }), 'json: cannot unmarshal number into Go struct field QueryDocument.Operations of type string'],
    [() => q({ Operations: ['op'] }), 'json: cannot unmarshal string into Go struct field QueryDocument.Operations of type map[string]json.RawMessage'],
    [() => q({ Operations: [{ VariableDefinitions: [{ Type: { NonNull: 'x' } }] }] }), 'json: cannot unmarshal string into Go struct field QueryDocument.Operations.Type.NonNull of type bool'],
    [() => q({ Fragments: [{ Definition: { Kind: false } }] }), 'json: cannot unmarshal bool into Go struct field QueryDocument.Fragments.Kind of type ast.DefinitionKind'],
  ]
  for (const [f, m] of cases) fails(t, f, m, m)
  // The first error in key order is the one reported.
  fails(t, () => s({ Definitions: [{ Name: 1, Kind: 2 }] }), 'json: cannot unmarshal number into Go struct field Definition.Definitions.Kind of type ast.DefinitionKind', 'first error')
})

t.test('integer fields take integer literals in int64 range only', async t => {
  const kind = (k: unknown): unknown => ((((q({ Operations: [{ SelectionSet: [{ Alias: 'f', Arguments: [{ Value: { Kind: k } }] }] }] }).Operations as Obj[])[0]!.SelectionSet as Obj[])[0]!.Arguments as Obj[])[0]!.Value as Obj).Kind
  t.equal(kind(7), 7)
  t.equal(kind(-3), -3, 'any int (the validator sees an unknown kind)')
  t.equal(kind(9n), 9)
  t.equal(kind(rawJson('9223372036854775807')), 9223372036854775807)
  t.equal(kind(null), 0)
  // Through Field these make the selection fall back to FragmentSpread (which has no Arguments);
  // on a schema default value they fail the document.
  const dv = (k: unknown): unknown => ((((s({ Definitions: [{ Fields: [{ DefaultValue: { Kind: k } }] }] }).Definitions as Obj[])[0]!.Fields as Obj[])[0]!.DefaultValue as Obj).Kind)
  t.equal(dv(3), 3)
  for (const [k, text] of [[1.5, '1.5'], [rawJson('1.0'), '1.0'], [rawJson('1e2'), '1e2'], [rawJson('9223372036854775808'), '9223372036854775808'], [1e21, '1e+21']] as Array<[unknown, string]>) {
    fails(t, () => dv(k), `json: cannot unmarshal number ${text} into Go struct field Value.Definitions.Fields.DefaultValue.Kind of type ast.ValueKind`, `Kind ${text}`)
  }
  fails(t, () => dv('1'), 'json: cannot unmarshal string into Go struct field Value.Definitions.Fields.DefaultValue.Kind of type ast.ValueKind', 'a string Kind')
  const [sp] = ((q({ Operations: [{ SelectionSet: [{ Name: 'F', Arguments: [{ Value: { Kind: 1.5 } }] }] }] }).Operations as Obj[])[0]!.SelectionSet as Obj[])
  t.notOk('Alias' in sp!, 'a bad Kind under a Field makes a FragmentSpread')
})

t.test('values of every kind, nested, with what the validator may read', async t => {
  const v = { Kind: 9, Raw: '', Children: [{ Name: 'l', Value: { Kind: 8, Children: [{ Value: { Kind: 2, Raw: '1.5' } }, { Value: { Kind: 4, Raw: 'b' } }] } }, { Name: 'v', Value: { Kind: 0, Raw: 'x', VariableDefinition: { Variable: 'x', Type: { NamedType: 'Int' } } } }], ExpectedType: { NamedType: 'In' }, ExpectedTypeHasDefault: true, Definition: { Kind: 'INPUT_OBJECT', Name: 'In' } }
  const doc = s({ Definitions: [{ Fields: [{ Name: 'f', DefaultValue: v }] }] })
  const got = (((doc.Definitions as Obj[])[0]!.Fields as Obj[])[0]!.DefaultValue as Obj)
  t.strictSame(pruneAst(got), { ...v, Children: [{ Name: 'l', Value: { Kind: 8, Raw: '', ExpectedTypeHasDefault: false, Children: [{ Name: '', Value: { Kind: 2, Raw: '1.5', ExpectedTypeHasDefault: false } }, { Name: '', Value: { Kind: 4, Raw: 'b', ExpectedTypeHasDefault: false } }] } }, { Name: 'v', Value: { Kind: 0, Raw: 'x', ExpectedTypeHasDefault: false, VariableDefinition: { Variable: 'x', Used: false, Type: { NamedType: 'Int', NonNull: false } } } }], ExpectedType: { NamedType: 'In', NonNull: false }, Definition: { Kind: 'INPUT_OBJECT', Name: 'In', Description: '', BuiltIn: false } })
})

t.test('shapes OPA\'s tests pass: hand-written schema and query ASTs, parse results', async t => {
  // A schema written as an object, with BuiltIn and Description as OPA's output has them.
  const sd = s({ Definitions: [
    { BuiltIn: false, Description: '', Kind: 'OBJECT', Name: 'Query', Fields: [{ Description: '', Name: 'q', Type: { NamedType: 'Int', NonNull: true } }] },
    { BuiltIn: false, Description: '', Kind: 'OBJECT', Name: 'Mutation', Fields: [{ Description: '', Name: 'y', Type: { NamedType: 'Int', NonNull: false } }] },
  ] })
  t.strictSame((sd.Definitions as Obj[]).map(d => [d.Kind, d.Name, ((d.Fields as Obj[])[0]!.Type as Obj).NamedType]), [['OBJECT', 'Query', 'Int'], ['OBJECT', 'Mutation', 'Int']])
  // A query written as an object: a value without ExpectedTypeHasDefault, a variable definition
  // with Used and a default, a directive with its empty Location.
  const qd = q({ Operations: [{ Name: 'Op', Operation: 'mutation', VariableDefinitions: [{ Variable: 'v', Used: false, Type: { NamedType: 'Color', NonNull: true }, DefaultValue: { Kind: 7, Raw: 'RED' } }], SelectionSet: [{ Alias: 'y', Name: 'y', Arguments: [{ Name: 'a', Value: { Kind: 7, Raw: 'b' } }], Directives: [{ Location: '', Name: 'include', Arguments: [{ Name: 'if', Value: { Kind: 0, Raw: 'v' } }] }] }] }] })
  const op = (qd.Operations as Obj[])[0]!
  t.strictSame([op.Operation, op.Name], ['mutation', 'Op'])
  t.strictSame(((op.VariableDefinitions as Obj[])[0]!.DefaultValue as Obj).Raw, 'RED')
  const y = (op.SelectionSet as Obj[])[0]!
  t.strictSame([y.Alias, ((y.Arguments as Obj[])[0]!.Value as Obj).Kind, ((y.Directives as Obj[])[0]!.Arguments as Obj[]).length], ['y', 7, 1])
  // graphql.parse_query / parse_schema results handed back (an employee lookup).
  const sText = 'type Person { id: String! pay: Int! }\nschema { query: Query }\ntype Query { personByID(id: String): Person }'
  const qText = 'query { personByID(id: "bob") { pay } }'
  t.strictSame(pruneAst(s(pruneAst(schema(sText)))), pruneAst(schema(sText)))
  t.strictSame(pruneAst(q(pruneAst(query(qText)))), pruneAst(query(qText)))
  // A query whose fragments OPA returned: the definitions come back, the spread as a Field.
  const withFrag = q(pruneAst(query('query Foo($f: Boolean!) { ...Bar } fragment Bar on Query { bar @include(if: $f) }')))
  t.strictSame(pruneAst((withFrag.Fragments as Obj[])[0]), { Name: 'Bar', TypeCondition: 'Query', SelectionSet: [{ Alias: 'bar', Name: 'bar', Directives: [{ Name: 'include', Location: '', Arguments: [{ Name: 'if', Value: { Kind: 0, Raw: 'f', ExpectedTypeHasDefault: false } }] }] }] })
  t.strictSame(pruneAst((withFrag.Operations as Obj[])[0]!.SelectionSet), [{ Alias: '', Name: 'Bar' }])
})

t.test('only JSON values: what json.Marshal could not write is an error; strings are read as UTF-8', async t => {
  for (const bad of [new Map(), new Set(['a']), undefined, Number.NaN, Infinity, new Date(0), () => 1]) {
    t.ok(thrown(() => q({ Foo: [bad] })) instanceof GraphQLError, `${String(bad)} anywhere`)
  }
  t.ok(thrown(() => s(Object.assign(Object.create({ inherited: 1 }) as Obj, { Definitions: [] }))) instanceof GraphQLError, 'an object with a prototype')
  t.equal((s({ Definitions: [{ Name: 'a\ud800b' }] }).Definitions as Obj[])[0]!.Name, 'a\ufffdb')
  t.equal((s({ Definitions: [{ Name: '\ud83d\ude00' }] }).Definitions as Obj[])[0]!.Name, '\ud83d\ude00')
  t.strictSame(s(Object.assign(Object.create(null) as Obj, { Definitions: [{ Name: 'N' }] })).Definitions, s({ Definitions: [{ Name: 'N' }] }).Definitions)
})

t.test('nesting: as deep as the Wasm runtime\'s JSON goes and more; past Bouncer\'s limit an error', async t => {
  const arrays = (n: number): unknown => { let x: unknown = 1; for (let i = 0; i < n; i++) x = [x]; return x }
  t.strictSame(q({ Foo: arrays(MAX_JSON_DEPTH - 1) }), q({}))
  fails(t, () => q({ Foo: arrays(MAX_JSON_DEPTH) }), `json: nested deeper than ${MAX_JSON_DEPTH} levels (Bouncer's limit)`, 'too deep')
  // A list value nested to the limit decodes (three JSON levels per list).
  let v: unknown = { Kind: 1, Raw: '1' }
  for (let i = 0; i < (MAX_JSON_DEPTH - 6) / 3; i++) v = { Kind: 8, Children: [{ Value: v }] }
  const doc = s({ Definitions: [{ Fields: [{ DefaultValue: v }] }] })
  let d = (((doc.Definitions as Obj[])[0]!.Fields as Obj[])[0]!.DefaultValue as Obj)
  let levels = 0
  while (d.Kind === 8) { d = (d.Children as Obj[])[0]!.Value as Obj; levels++ }
  t.equal(levels, (MAX_JSON_DEPTH - 6) / 3)
})
