// GraphQL query documents and schema (SDL) documents parsed as OPA's library (vektah/gqlparser
// v2) parses them: the same grammar with its quirks, the first error only, with the library's
// message and the line:column of the token it blames. The result has the library's AST shape
// (its Go field names, nil as null), which graphql.ts turns into OPA's value.
//
// The quirks kept on purpose (OPA's answers depend on them): keywords are names everywhere,
// `on` excepted as a fragment name; a few keyword checks look at a token's text and not its
// kind; `schema` needs no braces; lists that may not be empty say "expected at least one
// definition"; comments attach to the node after them.
import { Lexer, type Kind, type Token } from './lexer.js'
import type { Position } from './types.js'
import { goQuote } from '../go-quote.js'

export class GraphQLSyntaxError extends Error {
  constructor (message: string, readonly line: number, readonly column: number) {
    super(message)
    this.name = 'GraphQLSyntaxError'
  }
}

type Node = Record<string, unknown>

const at = (t: Token): Position => ({ Line: t.line, Column: t.column })
type CommentGroup = { List: Node[] } | null

const OPERATIONS = new Set(['query', 'mutation', 'subscription'])
const DIRECTIVE_LOCATIONS = new Set([
  'QUERY', 'MUTATION', 'SUBSCRIPTION', 'FIELD', 'FRAGMENT_DEFINITION', 'FRAGMENT_SPREAD', 'INLINE_FRAGMENT',
  'VARIABLE_DEFINITION', 'SCHEMA', 'SCALAR', 'OBJECT', 'FIELD_DEFINITION', 'ARGUMENT_DEFINITION', 'INTERFACE',
  'UNION', 'ENUM', 'ENUM_VALUE', 'INPUT_OBJECT', 'INPUT_FIELD_DEFINITION',
])
const TYPE_KINDS: Record<string, string> = { scalar: 'SCALAR', type: 'OBJECT', interface: 'INTERFACE', union: 'UNION', enum: 'ENUM', input: 'INPUT_OBJECT' }

// ValueKind of the library's Value.
const VARIABLE = 0, INT = 1, FLOAT = 2, STRING = 3, BLOCK = 4, BOOLEAN = 5, NULL = 6, ENUM = 7, LIST = 8, OBJECT = 9


/** A token as the library names it in messages: `Name "x"`, `{`, `<EOF>`, `String` (empty). */
function describe (t: Token): string {
  return t.value === '' ? t.kind : `${t.kind} ${goQuote(t.value)}`
}

/**
 * Bouncer's own limit (OPA's library has none): lists, objects, selection sets and list types
 * nested deeper than this are an error. The AST of a deeper document is past the Wasm runtime's
 * JSON nesting limit (1,000) anyway, and the parser recurses per level.
 */
export const MAX_NESTING = 250

class Parser {
  private readonly lexer: Lexer
  private peeked: Token | null = null
  /** The last token consumed, a comment included (the library reads comments as it peeks). */
  protected prev: Token | null = null
  private depth = 0
  /** Comments read just before the peeked token (null once it is consumed). */
  protected comment: CommentGroup = null

  constructor (input: string) {
    this.lexer = new Lexer(input)
  }

  protected peek (): Token {
    if (this.peeked === null) {
      let t = this.lexer.next()
      if (t.kind === 'Comment') {
        const list: Node[] = []
        while (t.kind === 'Comment') {
          list.push({ Value: t.value, Position: null })
          this.prev = t
          t = this.lexer.next()
        }
        this.comment = { List: list }
      }
      this.peeked = t
    }
    return this.peeked
  }

  protected next (): Token {
    const t = this.peek()
    this.peeked = null
    this.comment = null
    if (t.kind === '<Invalid>') throw this.error(t, t.error!)
    this.prev = t
    return t
  }

  protected error (t: Token, message: string): GraphQLSyntaxError {
    return new GraphQLSyntaxError(message, t.line, t.column)
  }

  protected unexpected (t = this.peek()): never {
    throw this.error(t, `Unexpected ${describe(t)}`)
  }

  protected expect (kind: Kind): Token {
    const t = this.peek()
    if (t.kind !== kind) throw this.error(t, `Expected ${kind}, found ${t.kind}`)
    return this.next()
  }

  protected expectKeyword (word: string): Token {
    const t = this.peek()
    if (t.kind !== 'Name' || t.value !== word) throw this.error(t, `Expected "${word}", found ${describe(t)}`)
    return this.next()
  }

  protected skip (kind: Kind): boolean {
    if (this.peek().kind !== kind) return false
    this.next()
    return true
  }

  /** start item* end (may be empty); nothing when start is not next. */
  protected many (start: Kind, end: Kind, item: () => void): void {
    if (this.peek().kind !== start) return
    this.next()
    while (this.peek().kind !== end) item()
    this.next()
  }

  /** start item+ end; nothing when start is not next. Returns the comments before `end`. */
  protected some (start: Kind, end: Kind, item: () => void): CommentGroup {
    if (this.peek().kind !== start) return null
    this.next()
    let any = false
    while (this.peek().kind !== end) { any = true; item() }
    if (!any) throw this.error(this.peek(), `expected at least one definition, found ${this.peek().kind}`)
    const closing = this.comment
    this.next()
    return closing
  }

  protected name (): string { return this.expect('Name').value }

  /** Where the next token starts: the library's peekPos(), which most nodes take as theirs. */
  protected peekPos (): Position { return at(this.peek()) }

  /** `inner` one level deeper (see MAX_NESTING). */
  protected nested<T> (t: Token, inner: () => T): T {
    if (++this.depth > MAX_NESTING) throw this.error(t, `nested deeper than ${MAX_NESTING} levels (Bouncer's limit)`)
    try { return inner() } finally { this.depth-- }
  }

  /** Consumes one token, whatever it is: its text must name an operation. */
  protected operationType (): string {
    const t = this.next()
    if (!OPERATIONS.has(t.value)) this.unexpected(t)
    return t.value
  }

  protected directives (isConst: boolean): Node[] {
    const out: Node[] = []
    while (this.peek().kind === '@') {
      this.next()
      const Position = this.peekPos()
      out.push({ Name: this.name(), Arguments: this.arguments(isConst), Position, ParentDefinition: null, Definition: null, Location: '' })
    }
    return out
  }

  protected arguments (isConst: boolean): Node[] {
    const out: Node[] = []
    this.some('(', ')', () => { out.push(this.namedValue(isConst)) })
    return out
  }

  /** `name: value`, an argument or an object's field (the library's Argument and ChildValue have one shape). */
  private namedValue (isConst: boolean): Node {
    const Position = this.peekPos()
    const comment = this.comment
    const Name = this.name()
    this.expect(':')
    return { Name, Value: this.value(isConst), Position, Comment: comment }
  }

  protected value (isConst: boolean): Node {
    const t = this.peek()
    const comment = this.comment
    const node = (Kind: number, Raw: string, Children: Node[] | null = null, Comment: CommentGroup = null): Node => ({
      Raw, Children, Kind, Position: at(t), Comment, Definition: null, VariableDefinition: null, ExpectedType: null, ExpectedTypeHasDefault: false,
    })
    switch (t.kind) {
      case '[': return this.nested(t, () => {
        const items: Node[] = []
        this.many('[', ']', () => { items.push({ Name: '', Value: this.value(isConst), Position: null, Comment: null }) })
        return node(LIST, '', items, comment)
      })
      case '{': return this.nested(t, () => {
        const fields: Node[] = []
        this.many('{', '}', () => { fields.push(this.namedValue(isConst)) })
        return node(OBJECT, '', fields, comment)
      })
      case '$':
        if (isConst) this.unexpected()
        this.next()
        return node(VARIABLE, this.name())
      case 'Int': this.next(); return node(INT, t.value)
      case 'Float': this.next(); return node(FLOAT, t.value)
      case 'String': this.next(); return node(STRING, t.value)
      case 'BlockString': this.next(); return node(BLOCK, t.value)
      case 'Name':
        this.next()
        return node(t.value === 'true' || t.value === 'false' ? BOOLEAN : t.value === 'null' ? NULL : ENUM, t.value)
      default:
        return this.unexpected()
    }
  }

  protected type (): Node {
    // Positions as the library takes them: the token after '[' for a list, the name for a named
    // type ('!' leaves it there).
    let t: Node
    const open = this.peek()
    if (this.skip('[')) {
      const Position = this.peekPos()
      const Elem = this.nested(open, () => this.type())
      this.expect(']')
      t = { NamedType: '', Elem, NonNull: false, Position }
    } else {
      const Position = this.peekPos()
      t = { NamedType: this.name(), Elem: null, NonNull: false, Position }
    }
    if (this.skip('!')) t.NonNull = true
    return t
  }
}

/** An executable document (graphql.parse_query): the library's QueryDocument. */
export class QueryParser extends Parser {
  document (): Node {
    const Operations: Node[] = []
    const Fragments: Node[] = []
    let Position: Position | null = null // the library leaves the last definition's start here
    for (let t = this.peek(); t.kind !== '<EOF>'; t = this.peek()) {
      Position = at(t)
      if (t.kind === '{') Operations.push(this.operation())
      else if (t.kind === 'Name' && OPERATIONS.has(t.value)) Operations.push(this.operation())
      else if (t.kind === 'Name' && t.value === 'fragment') Fragments.push(this.fragmentDefinition())
      else this.unexpected()
    }
    return { Operations, Fragments, Position, Comment: null }
  }

  private operation (): Node {
    const comment = this.comment
    const Position = this.peekPos()
    if (this.peek().kind === '{') {
      // The library reads the comment only once the selection set is parsed (Go evaluates the
      // calls in a composite literal before its plain loads), when none is pending any more:
      // a shorthand query never keeps the comments before it.
      return { Operation: 'query', Name: '', VariableDefinitions: null, Directives: null, SelectionSet: this.selectionSet(), Position, Comment: null }
    }
    const Operation = this.operationType()
    const Name = this.peek().kind === 'Name' ? this.next().value : ''
    const VariableDefinitions = this.variableDefinitions()
    const Directives = this.directives(false)
    return { Operation, Name, VariableDefinitions, Directives, SelectionSet: this.selectionSet(), Position, Comment: comment }
  }

  private variableDefinitions (): Node[] {
    const out: Node[] = []
    this.some('(', ')', () => {
      const Position = this.peekPos()
      const comment = this.comment
      this.expect('$')
      const Variable = this.name()
      this.expect(':')
      const Type = this.type()
      const DefaultValue = this.skip('=') ? this.value(true) : null
      out.push({ Variable, Type, DefaultValue, Directives: this.directives(false), Position, Comment: comment, Definition: null, Used: false })
    })
    return out
  }

  /** A selection set that must be there. */
  private selectionSet (): Node[] {
    const t = this.peek()
    if (t.kind !== '{') throw this.error(t, `Expected {, found ${t.kind}`)
    return this.nested(t, () => {
      const out: Node[] = []
      this.some('{', '}', () => { out.push(this.selection()) })
      return out
    })
  }

  private selection (): Node {
    return this.peek().kind === '...' ? this.fragment() : this.field()
  }

  private field (): Node {
    const Position = this.peekPos()
    const comment = this.comment
    const Alias = this.name()
    const Name = this.skip(':') ? this.name() : Alias
    const Arguments = this.arguments(false)
    const Directives = this.directives(false)
    const SelectionSet = this.peek().kind === '{' ? this.selectionSet() : null
    return { Alias, Name, Arguments, Directives, SelectionSet, Position, Comment: comment, Definition: null, ObjectDefinition: null }
  }

  private fragment (): Node {
    const comment = this.comment
    this.expect('...')
    const t = this.peek()
    const Position = at(t) // the token after "...", for both kinds
    if (t.kind === 'Name' && t.value !== 'on') {
      return { Name: this.fragmentName(), Directives: this.directives(false), ObjectDefinition: null, Definition: null, Position, Comment: comment }
    }
    let TypeCondition = ''
    if (t.value === 'on') { // the text, whatever the token's kind
      this.next()
      TypeCondition = this.name()
    }
    const Directives = this.directives(false)
    return { TypeCondition, Directives, SelectionSet: this.selectionSet(), ObjectDefinition: null, Position, Comment: comment }
  }

  private fragmentName (): string {
    if (this.peek().value === 'on') this.unexpected()
    return this.name()
  }

  private fragmentDefinition (): Node {
    const comment = this.comment
    const Position = this.peekPos()
    this.expectKeyword('fragment')
    const Name = this.fragmentName()
    const VariableDefinition = this.variableDefinitions()
    this.expectKeyword('on')
    const TypeCondition = this.name()
    const Directives = this.directives(false)
    return { Name, VariableDefinition, TypeCondition, Directives, SelectionSet: this.selectionSet(), Definition: null, Position, Comment: comment }
  }
}

interface Described { description: string; before: CommentGroup; after: CommentGroup }

/** A schema document (graphql.parse_schema): the library's SchemaDocument. */
export class SchemaParser extends Parser {
  document (): Node {
    const doc = { Schema: [] as Node[], SchemaExtension: [] as Node[], Directives: [] as Node[], Definitions: [] as Node[], Extensions: [] as Node[], Position: this.peekPos(), Comment: null as CommentGroup }
    for (let t = this.peek(); t.kind !== '<EOF>'; t = this.peek()) {
      const d = this.described(true)
      const k = this.peek()
      if (k.kind !== 'Name') this.unexpected()
      if (Object.prototype.hasOwnProperty.call(TYPE_KINDS, k.value)) doc.Definitions.push(this.typeDefinition(k.value, d))
      else if (k.value === 'schema') doc.Schema.push(this.schemaDefinition(d))
      else if (k.value === 'directive') doc.Directives.push(this.directiveDefinition(d))
      else if (k.value === 'extend') {
        // A description before `extend` is an error, unless it is empty. The library blames the
        // last token it read: the description, or the last comment after it.
        if (d.description !== '') this.unexpected(this.prev!)
        this.extension(doc, d.after)
      } else this.unexpected()
    }
    doc.Comment = this.comment // comments after the last definition
    return doc
  }

  /**
   * An optional description, with the comments before it and after it. Before a definition the
   * comments before a description are kept even when it is empty; inside one they are not.
   */
  private described (topLevel = false): Described {
    this.peek()
    const first = this.comment
    const t = this.peek()
    if (t.kind !== 'String' && t.kind !== 'BlockString') return { description: '', before: null, after: first }
    this.next()
    this.peek()
    return { description: t.value, before: t.value === '' && !topLevel ? null : first, after: this.comment }
  }

  /** A type's definition or extension, at its name (where the library puts its position). */
  private definition (Kind: string, d: Described): Node {
    const Position = this.peekPos()
    return {
      Kind, Description: d.description, Name: this.name(), Directives: null, Interfaces: null, Fields: null, Types: null, EnumValues: null,
      Position, BuiltIn: false, BeforeDescriptionComment: d.before, AfterDescriptionComment: d.after, EndOfDefinitionComment: null,
    }
  }

  private typeDefinition (keyword: string, d: Described): Node {
    this.expectKeyword(keyword)
    const def = this.definition(TYPE_KINDS[keyword]!, d)
    this.typeBody(keyword, def)
    return def
  }

  /**
   * What follows a type's name, in a definition or an extension. An interface's extension takes
   * no `implements`, and an input's extension takes directives with variables (the library's).
   */
  private typeBody (keyword: string, def: Node, extension = false): void {
    if (keyword === 'type' || (keyword === 'interface' && !extension)) def.Interfaces = this.implementsInterfaces()
    def.Directives = this.directives(!(extension && keyword === 'input'))
    switch (keyword) {
      case 'type': case 'interface': {
        const fields: Node[] = []
        def.EndOfDefinitionComment = this.some('{', '}', () => { fields.push(this.fieldDefinition()) })
        def.Fields = fields
        break
      }
      case 'union':
        def.Types = this.unionMembers()
        break
      case 'enum': {
        const values: Node[] = []
        def.EndOfDefinitionComment = this.some('{', '}', () => { values.push(this.enumValueDefinition()) })
        def.EnumValues = values
        break
      }
      case 'input': {
        const fields: Node[] = []
        def.EndOfDefinitionComment = this.some('{', '}', () => { fields.push(this.inputValueDefinition()) })
        def.Fields = fields
        break
      }
    }
  }

  private implementsInterfaces (): string[] | null {
    if (this.peek().value !== 'implements') return null // the text, whatever the token's kind
    this.next()
    this.skip('&')
    const out = [this.name()]
    while (this.skip('&')) out.push(this.name())
    return out
  }

  private unionMembers (): string[] | null {
    if (!this.skip('=')) return null
    this.skip('|')
    const out = [this.name()]
    while (this.skip('|')) out.push(this.name())
    return out
  }

  private fieldDefinition (): Node {
    const Position = this.peekPos()
    const d = this.described()
    const Name = this.name()
    const Arguments = this.argumentDefinitions()
    this.expect(':')
    const Type = this.type()
    return {
      Description: d.description, Name, Arguments, DefaultValue: null, Type, Directives: this.directives(true),
      Position, BeforeDescriptionComment: d.before, AfterDescriptionComment: d.after,
    }
  }

  private argumentDefinitions (): Node[] {
    const out: Node[] = []
    this.some('(', ')', () => {
      const Position = this.peekPos()
      const d = this.described()
      const Name = this.name()
      this.expect(':')
      const Type = this.type()
      const DefaultValue = this.skip('=') ? this.value(true) : null
      out.push({
        Description: d.description, Name, DefaultValue, Type, Directives: this.directives(true),
        Position, BeforeDescriptionComment: d.before, AfterDescriptionComment: d.after,
      })
    })
    return out
  }

  /** An input object's field: the library's FieldDefinition, with a default value and no arguments. */
  private inputValueDefinition (): Node {
    const Position = this.peekPos()
    const d = this.described()
    const Name = this.name()
    this.expect(':')
    const Type = this.type()
    const DefaultValue = this.skip('=') ? this.value(true) : null
    return {
      Description: d.description, Name, Arguments: null, DefaultValue, Type, Directives: this.directives(true),
      Position, BeforeDescriptionComment: d.before, AfterDescriptionComment: d.after,
    }
  }

  private enumValueDefinition (): Node {
    const Position = this.peekPos()
    const d = this.described()
    const Name = this.name()
    return {
      Description: d.description, Name, Directives: this.directives(true),
      Position, BeforeDescriptionComment: d.before, AfterDescriptionComment: d.after,
    }
  }

  private schemaDefinition (d: Described): Node {
    this.expectKeyword('schema')
    const Position = this.peekPos()
    const Directives = this.directives(true)
    const OperationTypes: Node[] = []
    const end = this.some('{', '}', () => { OperationTypes.push(this.operationTypeDefinition()) })
    return {
      Description: d.description, Directives, OperationTypes, Position,
      BeforeDescriptionComment: d.before, AfterDescriptionComment: d.after, EndOfDefinitionComment: end,
    }
  }

  private operationTypeDefinition (): Node {
    const Position = this.peekPos()
    const comment = this.comment
    const Operation = this.operationType()
    this.expect(':')
    return { Operation, Type: this.name(), Position, Comment: comment }
  }

  private directiveDefinition (d: Described): Node {
    this.expectKeyword('directive')
    this.expect('@')
    const Position = this.peekPos()
    const Name = this.name()
    const Arguments = this.argumentDefinitions()
    let IsRepeatable = false
    const r = this.peek()
    if (r.kind === 'Name' && r.value === 'repeatable') { this.next(); IsRepeatable = true }
    this.expectKeyword('on')
    this.skip('|')
    const Locations = [this.directiveLocation()]
    while (this.skip('|')) Locations.push(this.directiveLocation())
    return { Description: d.description, Name, Arguments, Locations, IsRepeatable, Position, BeforeDescriptionComment: d.before, AfterDescriptionComment: d.after }
  }

  private directiveLocation (): string {
    const t = this.expect('Name')
    if (!DIRECTIVE_LOCATIONS.has(t.value)) this.unexpected(t)
    return t.value
  }

  /** `extend ...`: each form must add something (a directive, an operation type, a member...). */
  private extension (doc: { SchemaExtension: Node[]; Extensions: Node[] }, after: CommentGroup): void {
    this.expectKeyword('extend')
    const keyword = this.peek().value // the text, whatever the token's kind
    if (keyword === 'schema') {
      this.expectKeyword('schema')
      const Position = this.peekPos()
      const Directives = this.directives(true)
      const OperationTypes: Node[] = []
      const end = this.some('{', '}', () => { OperationTypes.push(this.operationTypeDefinition()) })
      if (Directives.length === 0 && OperationTypes.length === 0) this.unexpected()
      doc.SchemaExtension.push({
        Description: '', Directives, OperationTypes, Position,
        BeforeDescriptionComment: null, AfterDescriptionComment: after, EndOfDefinitionComment: end,
      })
      return
    }
    if (!Object.prototype.hasOwnProperty.call(TYPE_KINDS, keyword)) this.unexpected()
    this.expectKeyword(keyword)
    const def = this.definition(TYPE_KINDS[keyword]!, { description: '', before: null, after })
    this.typeBody(keyword, def, true)
    const empty = (k: string): boolean => def[k] === null || (def[k] as unknown[]).length === 0
    if (['Interfaces', 'Directives', 'Fields', 'Types', 'EnumValues'].every(empty)) this.unexpected()
    doc.Extensions.push(def)
  }
}
