// The shapes the GraphQL builtins share: the library's AST nodes as parser.ts builds them (OPA's
// library is vektah/gqlparser v2, v2.5.31 in current OPA; the Go field names are kept because
// OPA returns these objects to policies), the schema the validator checks queries against, and
// the validation error.

/** Where a node starts (1-based), as the library's parser records it; null for nodes that came
 * from an AST object a policy passed in (OPA unmarshals those without positions). */
export interface Position { readonly Line: number; readonly Column: number }

export interface CommentGroup { List: Array<{ Value: string; Position: Position | null }> }

/** ast.ValueKind */
export const enum ValueKind { Variable = 0, Int = 1, Float = 2, String = 3, Block = 4, Boolean = 5, Null = 6, Enum = 7, List = 8, Object = 9 }

export interface TypeRef {
  NamedType: string
  Elem: TypeRef | null
  NonNull: boolean
  Position: Position | null
}

export interface ChildValue { Name: string; Value: Value | null; Position: Position | null; Comment: CommentGroup | null }

export interface Value {
  Raw: string
  Children: ChildValue[] | null
  Kind: ValueKind
  Position: Position | null
  Comment: CommentGroup | null
  /** Set by the validator's walk (never part of what a policy gets back). */
  Definition: Definition | null
  VariableDefinition: VariableDefinition | null
  ExpectedType: TypeRef | null
  ExpectedTypeHasDefault: boolean
}

export interface Argument { Name: string; Value: Value | null; Position: Position | null; Comment: CommentGroup | null }

export interface Directive {
  Name: string
  Arguments: Argument[] | null
  Position: Position | null
  /** Set by the walk. */
  ParentDefinition: Definition | null
  Definition: DirectiveDefinition | null
  Location: string
}

export interface Field {
  Alias: string
  Name: string
  Arguments: Argument[] | null
  Directives: Directive[] | null
  SelectionSet: Selection[] | null
  Position: Position | null
  Comment: CommentGroup | null
  /** Set by the walk. */
  Definition: FieldDefinition | null
  ObjectDefinition: Definition | null
}

export interface FragmentSpread {
  Name: string
  Directives: Directive[] | null
  Position: Position | null
  Comment: CommentGroup | null
  /** Set by the walk. */
  ObjectDefinition: Definition | null
  Definition: FragmentDefinition | null
}

export interface InlineFragment {
  TypeCondition: string
  Directives: Directive[] | null
  SelectionSet: Selection[] | null
  Position: Position | null
  Comment: CommentGroup | null
  /** Set by the walk. */
  ObjectDefinition: Definition | null
}

/** A selection is told apart as the library's JSON would be: a field has `Alias`, a spread has
 * `Name` and no `Alias`, an inline fragment has `TypeCondition` and no `Name`
 * (see isField/isFragmentSpread below). */
export type Selection = Field | FragmentSpread | InlineFragment

export interface VariableDefinition {
  Variable: string
  Type: TypeRef | null
  DefaultValue: Value | null
  Directives: Directive[] | null
  Position: Position | null
  Comment: CommentGroup | null
  /** Set by the walk. */
  Definition: Definition | null
  Used: boolean
}

export interface OperationDefinition {
  Operation: string // query | mutation | subscription
  Name: string
  VariableDefinitions: VariableDefinition[] | null
  Directives: Directive[] | null
  SelectionSet: Selection[] | null
  Position: Position | null
  Comment: CommentGroup | null
}

export interface FragmentDefinition {
  Name: string
  /** Experimental fragment variables (the library's field name is singular). */
  VariableDefinition: VariableDefinition[] | null
  TypeCondition: string
  Directives: Directive[] | null
  SelectionSet: Selection[] | null
  /** Set by the walk. */
  Definition: Definition | null
  Position: Position | null
  Comment: CommentGroup | null
}

export interface QueryDocument {
  Operations: OperationDefinition[] | null
  Fragments: FragmentDefinition[] | null
  Position: Position | null
  Comment: CommentGroup | null
}

interface Described {
  Description: string
  BeforeDescriptionComment: CommentGroup | null
  AfterDescriptionComment: CommentGroup | null
}

/** ast.ArgumentDefinition */
export interface ArgumentDefinition extends Described {
  Name: string
  DefaultValue: Value | null
  Type: TypeRef | null
  Directives: Directive[] | null
  Position: Position | null
}

/** ast.FieldDefinition: an object's or interface's field (Arguments), or an input object's field (DefaultValue). */
export interface FieldDefinition extends Described {
  Name: string
  Arguments: ArgumentDefinition[] | null
  DefaultValue: Value | null
  Type: TypeRef | null
  Directives: Directive[] | null
  Position: Position | null
}

export interface EnumValueDefinition extends Described {
  Name: string
  Directives: Directive[] | null
  Position: Position | null
}

export type DefinitionKind = 'SCALAR' | 'OBJECT' | 'INTERFACE' | 'UNION' | 'ENUM' | 'INPUT_OBJECT'

/** ast.Definition: a named type (or an extension of one, in SchemaDocument.Extensions). */
export interface Definition extends Described {
  Kind: DefinitionKind
  Name: string
  Directives: Directive[] | null
  Interfaces: string[] | null
  Fields: FieldDefinition[] | null
  Types: string[] | null
  EnumValues: EnumValueDefinition[] | null
  Position: Position | null
  /** From the prelude. */
  BuiltIn: boolean
  EndOfDefinitionComment: CommentGroup | null
}

export interface DirectiveDefinition extends Described {
  Name: string
  Arguments: ArgumentDefinition[] | null
  Locations: string[] | null
  IsRepeatable: boolean
  Position: Position | null
}

export interface OperationTypeDefinition { Operation: string; Type: string; Position: Position | null; Comment: CommentGroup | null }

export interface SchemaDefinition extends Described {
  Directives: Directive[] | null
  OperationTypes: OperationTypeDefinition[] | null
  Position: Position | null
  EndOfDefinitionComment: CommentGroup | null
}

export interface SchemaDocument {
  Schema: SchemaDefinition[] | null
  SchemaExtension: SchemaDefinition[] | null
  Directives: DirectiveDefinition[] | null
  Definitions: Definition[] | null
  Extensions: Definition[] | null
  Position: Position | null
  Comment: CommentGroup | null
}

/** ast.Schema: what the library's ValidateSchemaDocument builds and its Validate checks queries against. */
export interface Schema {
  Query: Definition | null
  Mutation: Definition | null
  Subscription: Definition | null
  SchemaDirectives: Directive[]
  /** By name, in the order the library would iterate where that order shows (insertion order). */
  Types: Map<string, Definition>
  Directives: Map<string, DirectiveDefinition>
  /** Object types by the abstract type (interface or union) they belong to; an object type by itself. */
  PossibleTypes: Map<string, Definition[]>
  /** The interfaces and unions a type belongs to. */
  Implements: Map<string, Definition[]>
  Description: string
}

/**
 * One error of the library (gqlerror.Error): its message and the position it names, if any. The
 * library prints it as `input:<line>:<column>: <message>` (`input: <message>` without a
 * position); OPA then rewords it (index.ts).
 */
export class GraphQLError extends Error {
  constructor (message: string, readonly line: number | null = null, readonly column: number | null = null, readonly file = 'input') {
    super(message)
    this.name = 'GraphQLError'
  }
}

/** A document past one of Bouncer's own limits on the work validation may do (the library has
 * none): it is refused, so the proxy denies instead of spending seconds on a client's query. */
export class GraphQLLimitError extends GraphQLError {
  constructor (message: string) {
    super(message)
    this.name = 'GraphQLLimitError'
  }
}

export function isField (s: Selection): s is Field { return 'Alias' in s }
export function isFragmentSpread (s: Selection): s is FragmentSpread { return !('Alias' in s) && 'Name' in s }
export function isInlineFragment (s: Selection): s is InlineFragment { return !('Alias' in s) && !('Name' in s) }
