// From a schema document to the schema queries are validated against, as OPA does it for
// graphql.is_valid, graphql.parse, graphql.parse_and_verify and graphql.schema_is_valid: the
// library's prelude merged in first, then its ValidateSchemaDocument (vektah/gqlparser v2.5.31,
// the upstream module current OPA builds with). Every check runs in the library's order and fails
// with its message at the position it names, because OPA prints the first failure and policies may
// compare the text.
import { goQuote } from '../go-quote.js'
import { SchemaParser } from './parser.js'
import { PRELUDE_FILE, PRELUDE_SDL } from './prelude.js'
import {
  GraphQLError, ValueKind,
  type ArgumentDefinition, type Definition, type DefinitionKind, type Directive, type DirectiveDefinition,
  type FieldDefinition, type OperationTypeDefinition, type Position, type Schema, type SchemaDocument, type TypeRef,
} from './types.js'

/**
 * Where the library would not fail with an error but crash (a Go nil-pointer panic): a type
 * reference or node missing, or an undefined union member met while checking an interface's
 * field types. Only AST objects a policy builds can get here, or schemas that are invalid anyway.
 */
export class GqlparserPanic extends Error {
  constructor (message: string) {
    super(message)
    this.name = 'GqlparserPanic'
  }
}

/** The positions of prelude nodes: an error at one of them names the prelude's file. */
const preludePositions = new WeakSet<object>()

function fail (pos: Position | null, message: string): GraphQLError {
  // A node without a position (from an AST object a policy passed in): the library reports
  // line and column -1, in no named file.
  if (pos === null || pos === undefined) return new GraphQLError(message, -1, -1)
  const file = preludePositions.has(pos) ? PRELUDE_FILE : 'input'
  return new GraphQLError(message, pos.Line, pos.Column, file)
}

/** gqlerror's Error(): `<file>:<line>:<column>: <message>`, or `<file>: <message>` without a location. */
export function schemaErrorText (e: GraphQLError): string {
  const where = e.line === null ? '' : `:${e.line}:${e.column ?? 0}`
  return `${e.file}${where}: ${e.message}`
}

// ---- Merge ----

/** Go's append of two slices: nil when both are empty, else a new list. */
function concat<T> (a: T[] | null, b: T[] | null): T[] | null {
  const n = (a?.length ?? 0) + (b?.length ?? 0)
  return n === 0 ? null : [...(a ?? []), ...(b ?? [])]
}

/**
 * OPA's mergeSchemaDocuments: an empty SchemaDocument with `a` then `b` merged in (the library's
 * SchemaDocument.Merge appends each list; position and comment stay unset). The nodes are shared.
 */
export function mergeSchemaDocuments (a: SchemaDocument, b: SchemaDocument): SchemaDocument {
  return {
    Schema: concat(a.Schema, b.Schema),
    SchemaExtension: concat(a.SchemaExtension, b.SchemaExtension),
    Directives: concat(a.Directives, b.Directives),
    Definitions: concat(a.Definitions, b.Definitions),
    Extensions: concat(a.Extensions, b.Extensions),
    Position: null,
    Comment: null,
  }
}

// ---- Type references (ast.Type) ----

/** The named type at the bottom of a reference. */
function typeName (t: TypeRef | null): string {
  if (t === null || t === undefined) throw new GqlparserPanic('nil type reference')
  if (t.NamedType !== '') return t.NamedType
  return typeName(t.Elem)
}

/** The reference as SDL: `[Int!]!`. */
function typeString (t: TypeRef | null): string {
  if (t === null || t === undefined) throw new GqlparserPanic('nil type reference')
  const bang = t.NonNull ? '!' : ''
  return t.NamedType !== '' ? t.NamedType + bang : `[${typeString(t.Elem)}]${bang}`
}

/** ast.Type.IsCompatible, the library's argument-type check (non-null may not be dropped). */
function isCompatible (t: TypeRef, other: TypeRef): boolean {
  if (t.NamedType !== other.NamedType) return false
  if (t.Elem !== null && other.Elem === null) return false
  if (t.Elem !== null && !isCompatible(t.Elem, other.Elem!)) return false
  return other.NonNull ? t.NonNull : true
}

// ---- Building ----

/** The schema under construction; union members and interfaces not defined are nulls until checked. */
interface Building {
  schema: Schema
  possible: Map<string, Array<Definition | null>>
  implementsOf: Map<string, Array<Definition | null>>
}

function addTo (m: Map<string, Array<Definition | null>>, name: string, def: Definition | null): void {
  const list = m.get(name)
  if (list === undefined) m.set(name, [def])
  else list.push(def)
}

const list = <T>(xs: T[] | null | undefined): T[] => xs ?? []

/** Appends an extension's list to its type's, as Go's append does (nil stays nil when nothing is added). */
function appendTo<T> (base: T[] | null, more: T[] | null): T[] | null {
  if (more === null || more === undefined || more.length === 0) return base
  return [...list(base), ...more]
}

function registerTypes (b: Building, doc: SchemaDocument): Definition[] {
  const types = b.schema.Types
  for (const def of list(doc.Definitions)) {
    if (types.has(def.Name)) throw fail(def.Position, `Cannot redeclare type ${def.Name}.`)
    types.set(def.Name, def)
  }
  return [...list(doc.Definitions)]
}

/**
 * Applies the extensions. Extending a type that does not exist is accepted: the library makes an
 * empty type of the extension's kind (not built in) at the extension's position.
 */
function applyExtensions (b: Building, doc: SchemaDocument, defs: Definition[]): void {
  const types = b.schema.Types
  for (const ext of list(doc.Extensions)) {
    let def = types.get(ext.Name)
    if (def === undefined) {
      def = emptyDefinition(ext.Kind, ext.Name, ext.Position)
      types.set(ext.Name, def)
      defs.push(def)
    }
    if (def.Kind !== ext.Kind) {
      throw fail(ext.Position, `Cannot extend type ${ext.Name} because the base type is a ${def.Kind}, not ${ext.Kind}.`)
    }
    def.Directives = appendTo(def.Directives, ext.Directives)
    def.Interfaces = appendTo(def.Interfaces, ext.Interfaces)
    def.Fields = appendTo(def.Fields, ext.Fields)
    def.Types = appendTo(def.Types, ext.Types)
    def.EnumValues = appendTo(def.EnumValues, ext.EnumValues)
  }
}

function emptyDefinition (Kind: DefinitionKind, Name: string, Position: Position | null): Definition {
  return {
    Kind, Name, Position, Description: '', Directives: null, Interfaces: null, Fields: null, Types: null, EnumValues: null,
    BuiltIn: false, BeforeDescriptionComment: null, AfterDescriptionComment: null, EndOfDefinitionComment: null,
  }
}

/**
 * PossibleTypes and Implements, over the definitions and then the types extensions created. An
 * object (or input object) is a possible type of itself; interfaces get their implementers.
 */
function linkTypes (b: Building, defs: Definition[]): void {
  const types = b.schema.Types
  for (const def of defs) {
    switch (def.Kind) {
      case 'UNION':
        for (const t of list(def.Types)) {
          addTo(b.possible, def.Name, types.get(t) ?? null)
          addTo(b.implementsOf, t, def)
        }
        break
      case 'INPUT_OBJECT':
      case 'OBJECT':
        linkInterfaces(b, def)
        addTo(b.possible, def.Name, def)
        break
      case 'INTERFACE':
        linkInterfaces(b, def)
        break
    }
  }
}

function linkInterfaces (b: Building, def: Definition): void {
  for (const intf of list(def.Interfaces)) {
    addTo(b.possible, intf, def)
    addTo(b.implementsOf, def.Name, b.schema.Types.get(intf) ?? null)
  }
}

/** Directive definitions; the built-in directives may be defined again, and the last one wins. */
function registerDirectives (b: Building, doc: SchemaDocument): void {
  const dirs = b.schema.Directives
  for (const dir of list(doc.Directives)) {
    if (dirs.has(dir.Name) && !REDEFINABLE_DIRECTIVES.has(dir.Name)) {
      throw fail(dir.Position, `Cannot redeclare directive ${dir.Name}.`)
    }
    dirs.set(dir.Name, dir)
  }
}
const REDEFINABLE_DIRECTIVES = new Set(['include', 'skip', 'deprecated', 'specifiedBy', 'defer', 'oneOf'])

/**
 * The schema definition's root operation types, then those of schema extensions (later ones win).
 * After each one's roots, its directives are checked (as used on SCHEMA) and kept.
 */
function assignRoots (b: Building, doc: SchemaDocument): void {
  const schemas = list(doc.Schema)
  if (schemas.length > 1) {
    throw fail(schemas[1].Position, 'Cannot have multiple schema entry points, consider schema extensions instead.')
  }
  const parts = schemas.length === 1 ? [schemas[0], ...list(doc.SchemaExtension)] : list(doc.SchemaExtension)
  if (schemas.length === 1) b.schema.Description = schemas[0].Description
  for (const part of parts) {
    assignOperationTypes(b, part.OperationTypes)
    validateDirectives(b.schema, part.Directives, 'SCHEMA', null)
    b.schema.SchemaDirectives.push(...list(part.Directives))
  }
}

function assignOperationTypes (b: Building, ops: OperationTypeDefinition[] | null): void {
  for (const entry of list(ops)) {
    const def = b.schema.Types.get(entry.Type)
    if (def === undefined) {
      throw fail(entry.Position, `Schema root ${entry.Operation} refers to a type ${entry.Type} that does not exist.`)
    }
    if (entry.Operation === 'query') b.schema.Query = def
    else if (entry.Operation === 'mutation') b.schema.Mutation = def
    else if (entry.Operation === 'subscription') b.schema.Subscription = def
  }
}

/** Without a schema definition, types named Query, Mutation and Subscription are the roots. */
function defaultRoots (schema: Schema, doc: SchemaDocument): void {
  if (list(doc.Schema).length !== 0) return
  schema.Query ??= schema.Types.get('Query') ?? null
  schema.Mutation ??= schema.Types.get('Mutation') ?? null
  schema.Subscription ??= schema.Types.get('Subscription') ?? null
}

/** The introspection fields the library adds to the query root once the schema is valid. */
function addIntrospectionFields (schema: Schema): void {
  if (schema.Query === null) return
  const ref = (NamedType: string, NonNull: boolean): TypeRef => ({ NamedType, Elem: null, NonNull, Position: null })
  const nameArg: ArgumentDefinition = {
    Name: 'name', Type: ref('String', true), DefaultValue: null, Directives: null, Position: null,
    Description: '', BeforeDescriptionComment: null, AfterDescriptionComment: null,
  }
  schema.Query.Fields = [
    ...list(schema.Query.Fields),
    introspectionField('__schema', ref('__Schema', true), null),
    introspectionField('__type', ref('__Type', false), [nameArg]),
  ]
}

function introspectionField (Name: string, Type: TypeRef, Arguments: ArgumentDefinition[] | null): FieldDefinition {
  return {
    Name, Type, Arguments, DefaultValue: null, Directives: null, Position: null,
    Description: '', BeforeDescriptionComment: null, AfterDescriptionComment: null,
  }
}

// ---- Checks ----

/** Go's sort.Strings: byte order, which for GraphQL names (ASCII) is code-unit order. */
function sortedKeys (m: Map<string, unknown>): string[] {
  return [...m.keys()].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0))
}

function validateName (pos: Position | null, name: string): void {
  if (name.startsWith('__')) {
    throw fail(pos, `Name "${name}" must not begin with "__", which is reserved by GraphQL introspection.`)
  }
}

function validateTypeRef (schema: Schema, t: TypeRef | null): void {
  const name = typeName(t)
  if (!schema.Types.has(name)) throw fail(t!.Position, `Undefined type ${name}.`)
}

const INPUT_KINDS: readonly DefinitionKind[] = ['SCALAR', 'ENUM', 'INPUT_OBJECT']
const OUTPUT_KINDS: readonly DefinitionKind[] = ['SCALAR', 'OBJECT', 'INTERFACE', 'UNION', 'ENUM']

function validateArgs (schema: Schema, args: ArgumentDefinition[] | null, current: DirectiveDefinition | null): void {
  for (const arg of list(args)) {
    validateName(arg.Position, arg.Name)
    validateTypeRef(schema, arg.Type)
    const def = schema.Types.get(typeName(arg.Type))!
    if (!INPUT_KINDS.includes(def.Kind)) {
      throw fail(arg.Position, `cannot use ${typeString(arg.Type)} as argument ${arg.Name} because ${def.Kind} is not a valid input type`)
    }
    validateDirectives(schema, arg.Directives, 'ARGUMENT_DEFINITION', current)
  }
}

/**
 * Directives used in the schema: defined, not on their own definition, allowed where used, given
 * only arguments their definition has, and given every required argument (non-null without a
 * default) a value other than null.
 */
function validateDirectives (schema: Schema, dirs: Directive[] | null, location: string, current: DirectiveDefinition | null): void {
  for (const dir of list(dirs)) {
    validateName(dir.Position, dir.Name)
    if (current !== null && dir.Name === current.Name) throw fail(dir.Position, `Directive ${current.Name} cannot refer to itself.`)
    const def = schema.Directives.get(dir.Name)
    if (def === undefined) throw fail(dir.Position, `Undefined directive ${dir.Name}.`)
    if (!list(def.Locations).includes(location)) throw fail(dir.Position, `Directive ${dir.Name} is not applicable on ${location}.`)
    validateDirectiveArguments(dir, def)
    dir.Definition = def
  }
}

function validateDirectiveArguments (dir: Directive, def: DirectiveDefinition): void {
  for (const arg of list(dir.Arguments)) {
    if (byName(def.Arguments, arg.Name) === undefined) {
      throw fail(arg.Position, `Undefined argument ${arg.Name} for directive ${dir.Name}.`)
    }
  }
  for (const param of list(def.Arguments)) {
    if (param.Type === null) throw new GqlparserPanic('nil type reference')
    if (!param.Type.NonNull || param.DefaultValue !== null) continue
    const given = byName(dir.Arguments, param.Name)
    if (given !== undefined && given.Value === null) throw new GqlparserPanic(`argument ${param.Name} without a value`)
    if (given === undefined || given.Value!.Kind === ValueKind.Null) {
      throw fail(dir.Position, `Argument ${param.Name} for directive ${dir.Name} cannot be null.`)
    }
  }
}

function validateFields (schema: Schema, def: Definition): void {
  const location = def.Kind === 'INPUT_OBJECT' ? 'INPUT_FIELD_DEFINITION' : 'FIELD_DEFINITION'
  for (const field of list(def.Fields)) {
    validateName(field.Position, field.Name)
    validateTypeRef(schema, field.Type)
    validateArgs(schema, field.Arguments, null)
    validateDirectives(schema, field.Directives, location, null)
  }
}

function validateUnionMembers (schema: Schema, def: Definition): void {
  for (const t of list(def.Types)) {
    const member = schema.Types.get(t)
    if (member === undefined) throw fail(def.Position, `Undefined type ${goQuote(t)}.`)
    if (member.Kind !== 'OBJECT') throw fail(def.Position, `${def.Kind} type ${goQuote(t)} must be OBJECT.`)
  }
}

/** The checks that depend on the kind: something defined, and fields of a kind that fits. */
function validateKindContents (schema: Schema, def: Definition): void {
  const fields = list(def.Fields)
  switch (def.Kind) {
    case 'OBJECT':
    case 'INTERFACE':
      if (fields.length === 0) throw fail(def.Position, `${def.Kind} ${def.Name}: must define one or more fields.`)
      for (const field of fields) {
        const t = schema.Types.get(typeName(field.Type))
        if (t !== undefined && !OUTPUT_KINDS.includes(t.Kind)) {
          throw fail(field.Position, `${def.Kind} ${def.Name}: field must be one of ${OUTPUT_KINDS.join(', ')}.`)
        }
      }
      break
    case 'ENUM':
      if (list(def.EnumValues).length === 0) throw fail(def.Position, `${def.Kind} ${def.Name}: must define one or more unique enum values.`)
      for (const value of list(def.EnumValues)) {
        if (value.Name === 'true' || value.Name === 'false' || value.Name === 'null') {
          throw fail(def.Position, `${def.Kind} ${def.Name}: non-enum value ${value.Name}.`)
        }
        validateDirectives(schema, value.Directives, 'ENUM_VALUE', null)
      }
      break
    case 'INPUT_OBJECT':
      if (fields.length === 0) throw fail(def.Position, `${def.Kind} ${def.Name}: must define one or more input fields.`)
      for (const field of fields) {
        const t = schema.Types.get(typeName(field.Type))
        // The library names the field's type's kind and the field here, not the input object.
        if (t !== undefined && !INPUT_KINDS.includes(t.Kind)) {
          throw fail(field.Position, `${t.Kind} ${field.Name}: field must be one of ${INPUT_KINDS.join(', ')}.`)
        }
      }
      break
  }
}

/** The first field (in order) that has a later namesake, reported at that later one. */
function validateUniqueFields (def: Definition): void {
  const fields = list(def.Fields)
  for (let i = 0; i < fields.length; i++) {
    for (let j = i + 1; j < fields.length; j++) {
      if (fields[i].Name === fields[j].Name) {
        throw fail(fields[j].Position, `Field ${def.Name}.${fields[j].Name} can only be defined once.`)
      }
    }
  }
}

function validateDefinition (schema: Schema, def: Definition, possible: Building['possible']): void {
  validateFields(schema, def)
  validateUnionMembers(schema, def)
  for (const intf of list(def.Interfaces)) validateImplements(schema, def, intf, possible)
  validateKindContents(schema, def)
  validateUniqueFields(def)
  // Built-in types may have reserved names; the user's may not.
  if (!def.BuiltIn) validateName(def.Position, def.Name)
  validateDirectives(schema, def.Directives, def.Kind, null)
}

/** The first field of that name (ast.FieldList.ForName and ArgumentDefinitionList.ForName). */
function byName<T extends { Name: string }> (xs: T[] | null, name: string): T | undefined {
  return list(xs).find((x) => x.Name === name)
}

/**
 * A field's type may be narrower than the interface's: the same named type or one of its possible
 * types, non-null where the interface has non-null, a list where it has a list.
 */
function isCovariant (possible: Building['possible'], required: TypeRef | null, actual: TypeRef | null): boolean {
  if (required === null || actual === null) throw new GqlparserPanic('nil type reference')
  if (required.NonNull && !actual.NonNull) return false
  if (required.NamedType !== '') {
    if (required.NamedType === actual.NamedType) return true
    for (const pt of possible.get(required.NamedType) ?? []) {
      if (pt === null) throw new GqlparserPanic(`undefined possible type of ${required.NamedType}`)
      if (pt.Name === actual.NamedType) return true
    }
    return false
  }
  if (required.Elem !== null && actual.Elem === null) return false
  return isCovariant(possible, required.Elem, actual.Elem)
}

function validateImplements (schema: Schema, def: Definition, intfName: string, possible: Building['possible']): void {
  const intf = schema.Types.get(intfName)
  if (intf === undefined) throw fail(def.Position, `Undefined type ${goQuote(intfName)}.`)
  if (intf.Kind !== 'INTERFACE') throw fail(def.Position, `${goQuote(intfName)} is a non interface type ${intf.Kind}.`)
  const prefix = `For ${def.Name} to implement ${intf.Name}`
  for (const required of list(intf.Fields)) {
    const found = byName(def.Fields, required.Name)
    if (found === undefined) throw fail(def.Position, `${prefix} it must have a field called ${required.Name}.`)
    if (!isCovariant(possible, required.Type, found.Type)) {
      throw fail(found.Position, `${prefix} the field ${required.Name} must have type ${typeString(required.Type)}.`)
    }
    validateImplementedArgs(prefix, required, found)
  }
  validateAncestors(schema, def, intfName)
}

/** The interface field's arguments, of compatible types; any extra argument optional. */
function validateImplementedArgs (prefix: string, required: FieldDefinition, found: FieldDefinition): void {
  for (const arg of list(required.Arguments)) {
    const foundArg = byName(found.Arguments, arg.Name)
    if (foundArg === undefined) {
      throw fail(found.Position, `${prefix} the field ${required.Name} must have the same arguments but it is missing ${arg.Name}.`)
    }
    if (arg.Type === null || foundArg.Type === null) throw new GqlparserPanic('nil type reference')
    if (!isCompatible(arg.Type, foundArg.Type)) {
      throw fail(foundArg.Position, `${prefix} the field ${required.Name} must have the same arguments but ${arg.Name} has the wrong type.`)
    }
  }
  for (const extra of list(found.Arguments)) {
    if (extra.Type === null) throw new GqlparserPanic('nil type reference')
    if (byName(required.Arguments, extra.Name) === undefined && extra.Type.NonNull && extra.DefaultValue === null) {
      throw fail(extra.Position, `${prefix} any additional arguments on ${found.Name} must be optional or have a default value but ${extra.Name} is required.`)
    }
  }
}

/** A type must also implement the interfaces its interfaces implement. */
function validateAncestors (schema: Schema, def: Definition, intfName: string): void {
  const intf = schema.Types.get(intfName)!
  for (const transitive of list(intf.Interfaces)) {
    if (list(def.Interfaces).includes(transitive)) continue
    if (transitive === def.Name) {
      throw fail(def.Position, `Type ${def.Name} cannot implement ${intfName} because it would create a circular reference.`)
    }
    throw fail(def.Position, `Type ${def.Name} must implement ${transitive} because it is implemented by ${intfName}.`)
  }
}

function validateDirectiveDefinition (schema: Schema, def: DirectiveDefinition): void {
  validateName(def.Position, def.Name)
  validateArgs(schema, def.Arguments, def)
}

/**
 * The library's ValidateSchemaDocument. Like it, this changes the document's nodes: extensions are
 * appended to their types, directives get their Definition, and the query root gets __schema and
 * __type. Throws GraphQLError (the library's first error) or GqlparserPanic.
 */
export function validateSchemaDocument (doc: SchemaDocument): Schema {
  try {
    return validate(doc)
  } catch (e) {
    // A node missing where the library dereferences it: a Go panic there too.
    if (e instanceof TypeError) throw new GqlparserPanic(e.message)
    throw e
  }
}

function validate (doc: SchemaDocument): Schema {
  const schema: Schema = {
    Query: null, Mutation: null, Subscription: null, SchemaDirectives: [], Description: '',
    Types: new Map(), Directives: new Map(), PossibleTypes: new Map(), Implements: new Map(),
  }
  const b: Building = { schema, possible: new Map(), implementsOf: new Map() }
  const defs = registerTypes(b, doc)
  applyExtensions(b, doc, defs)
  linkTypes(b, defs)
  registerDirectives(b, doc)
  assignRoots(b, doc)
  for (const name of sortedKeys(schema.Types)) validateDefinition(schema, schema.Types.get(name)!, b.possible)
  for (const name of sortedKeys(schema.Directives)) validateDirectiveDefinition(schema, schema.Directives.get(name)!)
  defaultRoots(schema, doc)
  addIntrospectionFields(schema)
  // Every null (an undefined member or interface) would have failed a check above.
  schema.PossibleTypes = b.possible as Map<string, Definition[]>
  schema.Implements = b.implementsOf as Map<string, Definition[]>
  return schema
}

// ---- The prelude and OPA's convertSchema ----

let preludeTemplate: SchemaDocument | null = null

/** The parsed prelude, once per process; never handed out (callers get a copy). */
function prelude (): SchemaDocument {
  if (preludeTemplate === null) {
    const doc = new SchemaParser(PRELUDE_SDL).document() as unknown as SchemaDocument
    // As the library's ParseSchema does for a built-in source.
    for (const def of list(doc.Definitions)) def.BuiltIn = true
    for (const def of list(doc.Extensions)) def.BuiltIn = true
    preludeTemplate = doc
  }
  const copy = structuredClone(preludeTemplate)
  markPreludePositions(copy)
  return copy
}

/** Records every Position object of a prelude copy, so errors there name the prelude's file. */
function markPreludePositions (v: unknown): void {
  if (Array.isArray(v)) {
    for (const x of v) markPreludePositions(x)
  } else if (v !== null && typeof v === 'object') {
    for (const [k, x] of Object.entries(v)) {
      if (k === 'Position' && x !== null && typeof x === 'object') preludePositions.add(x)
      else markPreludePositions(x)
    }
  }
}

/**
 * OPA's convertSchema: the prelude merged before the user's document, then validated. The user's
 * document is copied first, so validation leaves it as it was (OPA has already turned it into the
 * value it returns by then).
 */
export function buildSchema (userDoc: SchemaDocument): Schema {
  return validateSchemaDocument(mergeSchemaDocuments(prelude(), structuredClone(userDoc)))
}
