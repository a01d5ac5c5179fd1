// A GraphQL document given as an AST object (the value graphql.parse_query / graphql.parse_schema
// return, or one a policy builds) turned into the document the validator checks, as OPA turns it:
// OPA marshals the Rego object to JSON and unmarshals that into its library's Go structs with
// encoding/json. So this follows Go's decoder, not the parser:
//
// - A key names the struct field whose name it equals, else the one it equals ignoring case
//   (Go's folding, where U+017F is "s" and U+212A is "k"); other keys are ignored. Keys are seen
//   in sorted order (json.Marshal sorts a map's keys), so of two keys naming one field the later
//   wins, decoding into what the earlier one left (a pointer's struct or a slice's elements).
// - null leaves a string, number, bool or struct as it was and makes a pointer or slice nil.
// - A value of the wrong JSON kind is an error; decoding goes on and the first error is the
//   answer (the builtin then fails: false, or an unverified result).
// - Integer fields (a value's Kind, a position's Line) take only integer literals in int64 range.
// - Positions are `json:"-"` everywhere except on the four nodes whose decoders the library
//   writes by hand and on comments.
// - The library's hand-written decoders (Field, InlineFragment, OperationDefinition,
//   FragmentDefinition) match keys exactly, read only some fields (never Comment), and stop at
//   the first error. A selection set is decoded element by element as a Field, failing that a
//   FragmentSpread, failing that an InlineFragment; an element that is none is dropped. Since a
//   Field takes any object whose Field keys have the right kinds, a spread object becomes a Field
//   named after the fragment (no alias), and an inline fragment object a Field with no name,
//   unless one of those keys has the wrong kind.
// - A null selection set becomes an empty one (the library's decoder makes an empty slice).
//
// Not Go's: a null element in a list of nodes (Go keeps a nil pointer, and the library's
// validator dereferences it and panics) is refused with NilElementError. Null comments are
// dropped (nothing reads them; OPA's output prunes nulls).
import { GraphQLError, type QueryDocument, type SchemaDocument } from './types.js'
import { isRawJson } from '../../../exact-json.js'

/** A list of nodes held a null (a nil pointer in Go, which OPA's library would dereference). */
export class NilElementError extends GraphQLError {
  constructor (readonly goType: string) {
    super(`null element in ${goType} (a nil pointer OPA's library would dereference)`)
    this.name = 'NilElementError'
  }
}

export function queryDocumentFromObject (v: unknown): QueryDocument {
  return decodeDocument(QUERY_DOCUMENT, v) as unknown as QueryDocument
}

export function schemaDocumentFromObject (v: unknown): SchemaDocument {
  return decodeDocument(SCHEMA_DOCUMENT, v) as unknown as SchemaDocument
}

type Obj = Record<string, unknown>

// The Go types the decoder meets. `go` is the type as Go's messages print it.
interface StringSpec { kind: 'string'; go: string }
interface IntSpec { kind: 'int'; go: string }
interface BoolSpec { kind: 'bool' }
interface PtrSpec { kind: 'ptr'; to: () => StructSpec | CustomSpec }
interface SliceSpec { kind: 'slice'; go: string; of: () => Spec; dropNulls?: boolean }
interface FieldSpec { name: string; spec: () => Spec; keep: boolean }
interface StructSpec {
  kind: 'struct'
  go: string
  /** reflect's Name(), which error messages use for the struct holding the field. */
  name: string
  zero: () => Obj
  exact: Map<string, FieldSpec>
  folded: Map<string, FieldSpec>
}
/** A struct with the library's hand-written UnmarshalJSON: exact keys, each decoded on its own. */
interface CustomSpec { kind: 'custom'; go: string; zero: () => Obj; keys: Map<string, (() => Spec) | 'selections'> }
type Spec = StringSpec | IntSpec | BoolSpec | PtrSpec | SliceSpec | StructSpec | CustomSpec

const STRING: StringSpec = { kind: 'string', go: 'string' }
const INT: IntSpec = { kind: 'int', go: 'int' }
const BOOL: BoolSpec = { kind: 'bool' }
const named = (go: string): StringSpec => ({ kind: 'string', go })
const ptr = (to: () => StructSpec | CustomSpec): PtrSpec => ({ kind: 'ptr', to })
const slice = (go: string, of: () => Spec, dropNulls = false): SliceSpec => ({ kind: 'slice', go, of, dropNulls })

/** Fields as [name, type]; a name starting with "-" is decoded (its errors count) but not kept. */
function struct (name: string, zero: () => Obj, fields: Array<[string, () => Spec]>): StructSpec {
  const exact = new Map<string, FieldSpec>()
  const folded = new Map<string, FieldSpec>()
  for (const [n, spec] of fields) {
    const f = { name: n.replace(/^-/, ''), spec, keep: !n.startsWith('-') }
    exact.set(f.name, f)
    folded.set(foldName(f.name), f)
  }
  return { kind: 'struct', go: `ast.${name}`, name, zero, exact, folded }
}

function custom (name: string, zero: () => Obj, keys: Array<[string, (() => Spec) | 'selections']>): CustomSpec {
  return { kind: 'custom', go: `ast.${name}`, zero, keys: new Map(keys) }
}

// Go's key folding: ASCII letters by case, and the two non-ASCII runes whose simple case
// folding reaches an ASCII letter (ſ → S, Kelvin sign → K); no field name has other runes.
function foldName (s: string): string {
  let out = ''
  for (const ch of s) {
    if (ch === '\u017f') out += 'S'
    else if (ch === '\u212a') out += 'K'
    else if (ch >= 'a' && ch <= 'z') out += ch.toUpperCase()
    else out += ch
  }
  return out
}

// ---- The library's AST (vektah/gqlparser v2 as OPA vendors it) ----

const described = { BeforeDescriptionComment: null, AfterDescriptionComment: null }

const POSITION: StructSpec = struct('Position', () => ({ Line: 0, Column: 0 }), [
  ['-Start', () => INT], ['-End', () => INT], ['Line', () => INT], ['Column', () => INT], ['-Src', () => ptr(() => SOURCE)],
])
const SOURCE: StructSpec = struct('Source', () => ({}), [['-Name', () => STRING], ['-Input', () => STRING], ['-BuiltIn', () => BOOL]])
const COMMENT: StructSpec = struct('Comment', () => ({ Value: '', Position: null }), [['Value', () => STRING], ['Position', () => ptr(() => POSITION)]])
const COMMENT_GROUP: StructSpec = struct('CommentGroup', () => ({ List: null }), [['List', () => slice('[]*ast.Comment', () => ptr(() => COMMENT), true)]])
const comment = (): PtrSpec => ptr(() => COMMENT_GROUP)

const TYPE: StructSpec = struct('Type', () => ({ NamedType: '', Elem: null, NonNull: false, Position: null }), [
  ['NamedType', () => STRING], ['Elem', () => ptr(() => TYPE)], ['NonNull', () => BOOL],
])

const VALUE: StructSpec = struct('Value', () => ({
  Raw: '', Children: null, Kind: 0, Position: null, Comment: null, Definition: null, VariableDefinition: null, ExpectedType: null, ExpectedTypeHasDefault: false,
}), [
  ['Raw', () => STRING], ['Children', () => slice('ast.ChildValueList', () => ptr(() => CHILD_VALUE))], ['Kind', () => VALUE_KIND],
  ['Comment', comment], ['Definition', () => ptr(() => DEFINITION)], ['VariableDefinition', () => ptr(() => VARIABLE_DEFINITION)],
  ['ExpectedType', () => ptr(() => TYPE)], ['ExpectedTypeHasDefault', () => BOOL],
])
const VALUE_KIND: IntSpec = { kind: 'int', go: 'ast.ValueKind' }
const CHILD_VALUE: StructSpec = struct('ChildValue', () => ({ Name: '', Value: null, Position: null, Comment: null }), [
  ['Name', () => STRING], ['Value', () => ptr(() => VALUE)], ['Comment', comment],
])
const ARGUMENT: StructSpec = struct('Argument', () => ({ Name: '', Value: null, Position: null, Comment: null }), [
  ['Name', () => STRING], ['Value', () => ptr(() => VALUE)], ['Comment', comment],
])
const ARGUMENTS = (): SliceSpec => slice('ast.ArgumentList', () => ptr(() => ARGUMENT))

const DIRECTIVE: StructSpec = struct('Directive', () => ({ Name: '', Arguments: null, Position: null, ParentDefinition: null, Definition: null, Location: '' }), [
  ['Name', () => STRING], ['Arguments', ARGUMENTS], ['ParentDefinition', () => ptr(() => DEFINITION)],
  ['Definition', () => ptr(() => DIRECTIVE_DEFINITION)], ['Location', () => named('ast.DirectiveLocation')],
])
const DIRECTIVES = (): SliceSpec => slice('ast.DirectiveList', () => ptr(() => DIRECTIVE))

const VARIABLE_DEFINITION: StructSpec = struct('VariableDefinition', () => ({
  Variable: '', Type: null, DefaultValue: null, Directives: null, Position: null, Comment: null, Definition: null, Used: false,
}), [
  ['Variable', () => STRING], ['Type', () => ptr(() => TYPE)], ['DefaultValue', () => ptr(() => VALUE)], ['Directives', DIRECTIVES],
  ['Comment', comment], ['Definition', () => ptr(() => DEFINITION)], ['Used', () => BOOL],
])
const VARIABLE_DEFINITIONS = (): SliceSpec => slice('ast.VariableDefinitionList', () => ptr(() => VARIABLE_DEFINITION))
const POSITION_PTR = (): PtrSpec => ptr(() => POSITION)

const FIELD: CustomSpec = custom('Field', () => ({
  Alias: '', Name: '', Arguments: null, Directives: null, SelectionSet: null, Position: null, Comment: null, Definition: null, ObjectDefinition: null,
}), [
  ['Alias', () => STRING], ['Name', () => STRING], ['Arguments', ARGUMENTS], ['Directives', DIRECTIVES], ['SelectionSet', 'selections'],
  ['Position', POSITION_PTR], ['Definition', () => ptr(() => FIELD_DEFINITION)], ['ObjectDefinition', () => ptr(() => DEFINITION)],
])
const FRAGMENT_SPREAD: StructSpec = struct('FragmentSpread', () => ({ Name: '', Directives: null, ObjectDefinition: null, Definition: null, Position: null, Comment: null }), [
  ['Name', () => STRING], ['Directives', DIRECTIVES], ['ObjectDefinition', () => ptr(() => DEFINITION)],
  ['Definition', () => ptr(() => FRAGMENT_DEFINITION)], ['Comment', comment],
])
const INLINE_FRAGMENT: CustomSpec = custom('InlineFragment', () => ({ TypeCondition: '', Directives: null, SelectionSet: null, ObjectDefinition: null, Position: null, Comment: null }), [
  ['TypeCondition', () => STRING], ['Directives', DIRECTIVES], ['SelectionSet', 'selections'], ['ObjectDefinition', () => ptr(() => DEFINITION)], ['Position', POSITION_PTR],
])
const FRAGMENT_DEFINITION: CustomSpec = custom('FragmentDefinition', () => ({
  Name: '', VariableDefinition: null, TypeCondition: '', Directives: null, SelectionSet: null, Definition: null, Position: null, Comment: null,
}), [
  ['Name', () => STRING], ['VariableDefinition', VARIABLE_DEFINITIONS], ['TypeCondition', () => STRING], ['Directives', DIRECTIVES],
  ['SelectionSet', 'selections'], ['Definition', () => ptr(() => DEFINITION)], ['Position', POSITION_PTR],
])
const OPERATION_DEFINITION: CustomSpec = custom('OperationDefinition', () => ({
  Operation: '', Name: '', VariableDefinitions: null, Directives: null, SelectionSet: null, Position: null, Comment: null,
}), [
  ['Operation', () => named('ast.Operation')], ['Name', () => STRING], ['VariableDefinitions', VARIABLE_DEFINITIONS], ['Directives', DIRECTIVES],
  ['SelectionSet', 'selections'], ['Position', POSITION_PTR],
])
const QUERY_DOCUMENT: StructSpec = struct('QueryDocument', () => ({ Operations: null, Fragments: null, Position: null, Comment: null }), [
  ['Operations', () => slice('ast.OperationList', () => ptr(() => OPERATION_DEFINITION))],
  ['Fragments', () => slice('ast.FragmentDefinitionList', () => ptr(() => FRAGMENT_DEFINITION))],
  ['Comment', comment],
])

const describedFields = (): Array<[string, () => Spec]> => [['BeforeDescriptionComment', comment], ['AfterDescriptionComment', comment]]
const ARGUMENT_DEFINITION: StructSpec = struct('ArgumentDefinition', () => ({
  Description: '', Name: '', DefaultValue: null, Type: null, Directives: null, Position: null, ...described,
}), [
  ['Description', () => STRING], ['Name', () => STRING], ['DefaultValue', () => ptr(() => VALUE)], ['Type', () => ptr(() => TYPE)],
  ['Directives', DIRECTIVES], ...describedFields(),
])
const ARGUMENT_DEFINITIONS = (): SliceSpec => slice('ast.ArgumentDefinitionList', () => ptr(() => ARGUMENT_DEFINITION))
const FIELD_DEFINITION: StructSpec = struct('FieldDefinition', () => ({
  Description: '', Name: '', Arguments: null, DefaultValue: null, Type: null, Directives: null, Position: null, ...described,
}), [
  ['Description', () => STRING], ['Name', () => STRING], ['Arguments', ARGUMENT_DEFINITIONS], ['DefaultValue', () => ptr(() => VALUE)],
  ['Type', () => ptr(() => TYPE)], ['Directives', DIRECTIVES], ...describedFields(),
])
const ENUM_VALUE_DEFINITION: StructSpec = struct('EnumValueDefinition', () => ({ Description: '', Name: '', Directives: null, Position: null, ...described }), [
  ['Description', () => STRING], ['Name', () => STRING], ['Directives', DIRECTIVES], ...describedFields(),
])
const DEFINITION: StructSpec = struct('Definition', () => ({
  Kind: '', Description: '', Name: '', Directives: null, Interfaces: null, Fields: null, Types: null, EnumValues: null,
  Position: null, BuiltIn: false, ...described, EndOfDefinitionComment: null,
}), [
  ['Kind', () => named('ast.DefinitionKind')], ['Description', () => STRING], ['Name', () => STRING], ['Directives', DIRECTIVES],
  ['Interfaces', () => slice('[]string', () => STRING)], ['Fields', () => slice('ast.FieldList', () => ptr(() => FIELD_DEFINITION))],
  ['Types', () => slice('[]string', () => STRING)], ['EnumValues', () => slice('ast.EnumValueList', () => ptr(() => ENUM_VALUE_DEFINITION))],
  ['BuiltIn', () => BOOL], ...describedFields(), ['EndOfDefinitionComment', comment],
])
const DIRECTIVE_DEFINITION: StructSpec = struct('DirectiveDefinition', () => ({
  Description: '', Name: '', Arguments: null, Locations: null, IsRepeatable: false, Position: null, ...described,
}), [
  ['Description', () => STRING], ['Name', () => STRING], ['Arguments', ARGUMENT_DEFINITIONS],
  ['Locations', () => slice('[]ast.DirectiveLocation', () => named('ast.DirectiveLocation'))], ['IsRepeatable', () => BOOL], ...describedFields(),
])
const OPERATION_TYPE_DEFINITION: StructSpec = struct('OperationTypeDefinition', () => ({ Operation: '', Type: '', Position: null, Comment: null }), [
  ['Operation', () => named('ast.Operation')], ['Type', () => STRING], ['Comment', comment],
])
const SCHEMA_DEFINITION: StructSpec = struct('SchemaDefinition', () => ({
  Description: '', Directives: null, OperationTypes: null, Position: null, ...described, EndOfDefinitionComment: null,
}), [
  ['Description', () => STRING], ['Directives', DIRECTIVES],
  ['OperationTypes', () => slice('ast.OperationTypeDefinitionList', () => ptr(() => OPERATION_TYPE_DEFINITION))],
  ...describedFields(), ['EndOfDefinitionComment', comment],
])
const SCHEMA_DEFINITIONS = (): SliceSpec => slice('ast.SchemaDefinitionList', () => ptr(() => SCHEMA_DEFINITION))
const DEFINITIONS = (): SliceSpec => slice('ast.DefinitionList', () => ptr(() => DEFINITION))
const SCHEMA_DOCUMENT: StructSpec = struct('SchemaDocument', () => ({
  Schema: null, SchemaExtension: null, Directives: null, Definitions: null, Extensions: null, Position: null, Comment: null,
}), [
  ['Schema', SCHEMA_DEFINITIONS], ['SchemaExtension', SCHEMA_DEFINITIONS],
  ['Directives', () => slice('ast.DirectiveDefinitionList', () => ptr(() => DIRECTIVE_DEFINITION))],
  ['Definitions', DEFINITIONS], ['Extensions', DEFINITIONS], ['Comment', comment],
])

// ---- Go's decoder ----

/** json.UnmarshalTypeError: Struct and Field are filled in from where the decoder was. */
class GoTypeError {
  constructor (readonly value: string, readonly type: string, public struct = '', public field = '') {}
  message (): string {
    return this.struct !== '' || this.field !== ''
      ? `json: cannot unmarshal ${this.value} into Go struct field ${this.struct}.${this.field} of type ${this.type}`
      : `json: cannot unmarshal ${this.value} into Go value of type ${this.type}`
  }
}

/** An error a hand-written UnmarshalJSON returned: it ends the whole json.Unmarshal call. */
class Abort {
  constructor (readonly err: GoTypeError) {}
}

/** The state of one json.Unmarshal call: its first saved error and where it is (errorContext). */
class Call {
  saved: GoTypeError | null = null
  stack: string[] = []
  struct = ''

  /** addErrorContext: the innermost struct and the field path from the call's root. */
  context (err: GoTypeError): GoTypeError {
    if (this.struct !== '' || this.stack.length > 0) {
      err.struct = this.struct
      err.field = (err.field === '' ? this.stack : [...this.stack, err.field]).join('.')
    }
    return err
  }

  save (value: string, type: string): void {
    if (this.saved === null) this.saved = this.context(new GoTypeError(value, type))
  }
}

type JsonKind = 'null' | 'bool' | 'number' | 'string' | 'array' | 'object'

function kindOf (v: unknown): JsonKind {
  if (v === null) return 'null'
  if (Array.isArray(v)) return 'array'
  switch (typeof v) {
    case 'boolean': return 'bool'
    case 'number': case 'bigint': return 'number'
    case 'string': return 'string'
    default: return isRawJson(v) ? 'number' : 'object'
  }
}

/** A number's JSON text (a raw value keeps the text the policy wrote). */
function numberText (v: unknown): string {
  if (isRawJson(v)) return v.rawJSON
  if (typeof v === 'bigint') return v.toString()
  return JSON.stringify(v)
}

const INT64_MIN = -(2n ** 63n)
const INT64_MAX = 2n ** 63n - 1n

/** Go reads strings as UTF-8: a lone surrogate is U+FFFD there (as OPA's JSON decoding makes it). */
function wellFormed (s: string): string {
  return /[\ud800-\udfff]/.test(s) ? s.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd') : s
}

/** Keys in the order json.Marshal writes them: by UTF-8 bytes, i.e. by code point. */
function goSortedKeys (o: Obj): string[] {
  return Object.keys(o).sort(compareCodePoints)
}

function compareCodePoints (a: string, b: string): number {
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i)
    const y = b.charCodeAt(i)
    if (x !== y) return rank(x) - rank(y)
  }
  return a.length - b.length
}
// Surrogates (code points past U+FFFF) sort after U+E000..U+FFFF in code point order.
const rank = (u: number): number => (u >= 0xd800 && u <= 0xdfff ? u + 0x2000 : u >= 0xe000 ? u - 0x800 : u)

function isPlainObject (v: object): boolean {
  const p = Object.getPrototypeOf(v) as unknown
  return p === Object.prototype || p === null
}

/**
 * Bouncer's own limit (Go's decoder allows 10,000 levels): JSON nested deeper than this is an
 * error. The Wasm runtime's JSON cannot nest past 1,000 levels, so no policy value reaches it;
 * it keeps the recursive decoder within the stack.
 */
export const MAX_JSON_DEPTH = 1200

/** What json.Marshal of OPA's value would refuse (only non-JSON JS values can be that here). */
function checkJson (v: unknown, depth = 0): void {
  if (depth > MAX_JSON_DEPTH) throw new GraphQLError(`json: nested deeper than ${MAX_JSON_DEPTH} levels (Bouncer's limit)`)
  if (v === null || typeof v === 'string' || typeof v === 'boolean' || typeof v === 'bigint') return
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new GraphQLError(`json: unsupported value: ${String(v)}`)
    return
  }
  if (Array.isArray(v)) {
    for (const x of v) checkJson(x, depth + 1)
    return
  }
  if (typeof v === 'object' && !isRawJson(v) && isPlainObject(v)) {
    for (const x of Object.values(v)) checkJson(x, depth + 1)
    return
  }
  if (isRawJson(v)) return
  throw new GraphQLError(`json: unsupported value of type ${typeof v === 'object' ? (v.constructor?.name ?? 'object') : typeof v}`)
}

function zeroOf (spec: Spec): unknown {
  switch (spec.kind) {
    case 'string': return ''
    case 'int': return 0
    case 'bool': return false
    case 'ptr': case 'slice': return null
    case 'struct': case 'custom': return spec.zero()
  }
}

class Decoder {
  /** The list types that ended up holding a nil pointer (see NilElementError). */
  nils: string[] = []

  /** One json.Unmarshal call into a variable of type `spec` holding `cur`. */
  unmarshal (spec: Spec, json: unknown, cur: unknown): { value: unknown; err: GoTypeError | null } {
    const call = new Call()
    try {
      const value = this.value(spec, json, cur, call)
      return { value, err: call.saved }
    } catch (e) {
      // The error context is where decoding stood when the inner decoder failed (Go does not
      // unwind it on that path).
      if (e instanceof Abort) return { value: cur, err: call.context(e.err) }
      throw e
    }
  }

  private value (spec: Spec, json: unknown, cur: unknown, call: Call): unknown {
    const k = kindOf(json)
    switch (spec.kind) {
      case 'string':
        if (k === 'string') return wellFormed(json as string)
        if (k !== 'null') call.save(k, spec.go)
        return cur
      case 'int': {
        if (k === 'number') {
          const text = numberText(json)
          if (/^-?[0-9]+$/.test(text)) {
            const n = BigInt(text)
            if (n >= INT64_MIN && n <= INT64_MAX) return Number(n)
          }
          call.save(`number ${text}`, spec.go)
        } else if (k !== 'null') call.save(k, spec.go)
        return cur
      }
      case 'bool':
        if (k === 'bool') return json
        if (k !== 'null') call.save(k, 'bool')
        return cur
      case 'ptr': {
        if (k === 'null') return null
        const to = spec.to()
        // Go decodes into the struct a pointer already points at.
        return this.value(to, json, cur ?? to.zero(), call)
      }
      case 'slice':
        return this.slice(spec, json, k, cur, call)
      case 'struct':
        return this.struct(spec, json, k, cur as Obj, call)
      case 'custom':
        return this.custom(spec, json, k, cur as Obj)
    }
  }

  private slice (spec: SliceSpec, json: unknown, k: JsonKind, cur: unknown, call: Call): unknown {
    if (k === 'null') return null
    if (k !== 'array') {
      call.save(k, spec.go)
      return cur
    }
    // Go decodes element i into the slice's element i when there is one (a later key naming
    // the same field), else into a zero element.
    const prev = Array.isArray(cur) ? cur : []
    const el = spec.of()
    const out: unknown[] = []
    for (const [i, x] of (json as unknown[]).entries()) {
      const v = this.value(el, x, i < prev.length ? prev[i] : zeroOf(el), call)
      if (v === null && el.kind === 'ptr') {
        if (spec.dropNulls === true) continue
        this.nils.push(spec.go)
      }
      out.push(v)
    }
    return out
  }

  private struct (spec: StructSpec, json: unknown, k: JsonKind, cur: Obj, call: Call): Obj {
    if (k === 'null') return cur
    if (k !== 'object') {
      call.save(k, spec.go)
      return cur
    }
    const o = json as Obj
    const depth = call.stack.length
    const outer = call.struct
    for (const key of goSortedKeys(o)) {
      const f = spec.exact.get(key) ?? spec.folded.get(foldName(key))
      if (f === undefined) continue
      call.stack.push(f.name)
      call.struct = spec.name
      const fs = f.spec()
      const v = this.value(fs, o[key], f.keep ? cur[f.name] : zeroOf(fs), call)
      if (f.keep) cur[f.name] = v
      call.stack.length = depth
      call.struct = outer
    }
    return cur
  }

  /** The library's UnmarshalJSON: the object read as a map, then each known key on its own. */
  private custom (spec: CustomSpec, json: unknown, k: JsonKind, cur: Obj): Obj {
    if (k === 'null') return cur
    if (k !== 'object') throw new Abort(new GoTypeError(k, 'map[string]json.RawMessage'))
    const o = json as Obj
    // Go ranges over a map here, in no set order; sorted keys make the first error stable.
    for (const key of goSortedKeys(o)) {
      const f = spec.keys.get(key)
      if (f === undefined) continue
      const r = f === 'selections' ? this.selections(o[key]) : this.unmarshal(f(), o[key], cur[key])
      if (r.err !== null) throw new Abort(r.err)
      cur[key] = r.value
    }
    return cur
  }

  /** The library's UnmarshalSelectionSet. */
  private selections (json: unknown): { value: unknown; err: GoTypeError | null } {
    const k = kindOf(json)
    if (k === 'null') return { value: [], err: null }
    if (k !== 'array') return { value: null, err: new GoTypeError(k, '[]json.RawMessage') }
    const out: unknown[] = []
    for (const item of json as unknown[]) {
      for (const spec of [FIELD, FRAGMENT_SPREAD, INLINE_FRAGMENT]) {
        const mark = this.nils.length
        const r = this.unmarshal(spec, item, spec.zero())
        if (r.err === null) {
          out.push(r.value)
          break
        }
        this.nils.length = mark // a failed try leaves nothing behind
      }
    }
    return { value: out, err: null }
  }
}

function decodeDocument (spec: StructSpec, v: unknown): Obj {
  checkJson(v)
  const d = new Decoder()
  const r = d.unmarshal(spec, v, spec.zero())
  if (r.err !== null) throw new GraphQLError(r.err.message())
  if (d.nils.length > 0) throw new NilElementError(d.nils[0]!)
  return r.value as Obj
}
