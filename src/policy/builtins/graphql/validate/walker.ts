// The library's walk over a query document (upstream gqlparser v2.5.31, validator/core): the
// order nodes are visited in, what it resolves against the schema and writes onto the nodes
// (Definition, ObjectDefinition, Location, ExpectedType and whether the spot has a default,
// ...), and when each event fires. Every event fires after the node's children were walked,
// and rules observe nodes in that state.
import {
  isField, isFragmentSpread, ValueKind,
  type ArgumentDefinition, type Argument, type Definition, type Directive, type Field, type FieldDefinition,
  type FragmentDefinition, type FragmentSpread, type InlineFragment, type OperationDefinition, type QueryDocument,
  type Schema, type Selection, type Value, type VariableDefinition,
} from '../types.js'
import { forName, must, typeFor, typeName } from './ast.js'

type On<T> = (walker: Walker, node: T) => void

/** The observers rules register, per event, in registration order. */
export class Events {
  readonly operation: Array<On<OperationDefinition>> = []
  readonly field: Array<On<Field>> = []
  readonly fragment: Array<On<FragmentDefinition>> = []
  readonly inlineFragment: Array<On<InlineFragment>> = []
  readonly fragmentSpread: Array<On<FragmentSpread>> = []
  readonly directive: Array<On<Directive>> = []
  readonly directiveList: Array<On<Directive[]>> = []
  readonly value: Array<On<Value>> = []
  readonly variable: Array<On<VariableDefinition>> = []

  onOperation (f: On<OperationDefinition>): void { this.operation.push(f) }
  onField (f: On<Field>): void { this.field.push(f) }
  onFragment (f: On<FragmentDefinition>): void { this.fragment.push(f) }
  onInlineFragment (f: On<InlineFragment>): void { this.inlineFragment.push(f) }
  onFragmentSpread (f: On<FragmentSpread>): void { this.fragmentSpread.push(f) }
  onDirective (f: On<Directive>): void { this.directive.push(f) }
  onDirectiveList (f: On<Directive[]>): void { this.directiveList.push(f) }
  onValue (f: On<Value>): void { this.value.push(f) }
  onVariable (f: On<VariableDefinition>): void { this.variable.push(f) }
}

/** The type `__typename` resolves to wherever it is selected (it has no arguments). */
function typenameField (): FieldDefinition {
  return {
    Name: '__typename', Arguments: null, DefaultValue: null, Directives: null, Position: null,
    Type: { NamedType: 'String', Elem: null, NonNull: false, Position: null },
    Description: '', BeforeDescriptionComment: null, AfterDescriptionComment: null,
  }
}

/** A default that is there and not `null` (what lets a nullable variable fill a non-null spot). */
const hasDefault = (d: Value | null): boolean => d !== null && d.Kind !== ValueKind.Null

export class Walker {
  /** The operation being walked; null while a fragment definition is walked by itself. */
  currentOperation: OperationDefinition | null = null
  /** Fragments already walked through a spread since the current top-level definition began. */
  private spreadsWalked = new Set<string>()

  constructor (readonly schema: Schema, readonly document: QueryDocument, private readonly events: Events) {}

  walk (): void {
    for (const op of this.document.Operations ?? []) {
      this.spreadsWalked = new Set()
      this.walkOperation(op)
    }
    for (const frag of this.document.Fragments ?? []) {
      this.spreadsWalked = new Set()
      this.walkFragment(frag)
    }
  }

  private fire<T> (observers: Array<On<T>>, node: T): void {
    for (const o of observers) o(this, node)
  }

  private walkOperation (op: OperationDefinition): void {
    this.currentOperation = op
    const vars = op.VariableDefinitions ?? []
    for (const v of vars) {
      v.Definition = typeFor(this.schema, typeName(v.Type))
      this.fire(this.events.variable, v)
      if (v.DefaultValue !== null) {
        v.DefaultValue.ExpectedType = v.Type
        v.DefaultValue.Definition = typeFor(this.schema, typeName(v.Type))
      }
    }

    let root: Definition | null = null
    let location = ''
    switch (op.Operation) {
      case 'query': case '': root = this.schema.Query; location = 'QUERY'; break
      case 'mutation': root = this.schema.Mutation; location = 'MUTATION'; break
      case 'subscription': root = this.schema.Subscription; location = 'SUBSCRIPTION'; break
    }

    for (const v of vars) {
      if (v.DefaultValue !== null) this.walkValue(v.DefaultValue)
      this.walkDirectives(v.Definition, v.Directives, 'VARIABLE_DEFINITION')
    }
    this.walkDirectives(root, op.Directives, location)
    this.walkSelectionSet(root, op.SelectionSet)
    this.fire(this.events.operation, op)
    this.currentOperation = null
  }

  private walkFragment (frag: FragmentDefinition): void {
    const def = typeFor(this.schema, frag.TypeCondition)
    frag.Definition = def
    this.walkDirectives(def, frag.Directives, 'FRAGMENT_DEFINITION')
    this.walkSelectionSet(def, frag.SelectionSet)
    this.fire(this.events.fragment, frag)
  }

  private walkDirectives (parent: Definition | null, directives: Directive[] | null, location: string): void {
    for (const dir of directives ?? []) {
      const def = this.schema.Directives.get(dir.Name) ?? null
      dir.Definition = def
      dir.ParentDefinition = parent
      dir.Location = location
      for (const arg of dir.Arguments ?? []) this.walkArgument(def === null ? null : forName(def.Arguments, arg.Name), arg)
      this.fire(this.events.directive, dir)
    }
    // Fires for every directive position, even one without directives.
    this.fire(this.events.directiveList, directives ?? [])
  }

  private walkArgument (argDef: ArgumentDefinition | null, arg: Argument): void {
    const value = must(arg.Value, 'Argument.Value')
    if (argDef !== null) {
      value.ExpectedType = argDef.Type
      value.ExpectedTypeHasDefault = hasDefault(argDef.DefaultValue)
      value.Definition = typeFor(this.schema, typeName(argDef.Type))
    }
    this.walkValue(value)
  }

  private walkValue (value: Value): void {
    if (value.Kind === ValueKind.Variable && this.currentOperation !== null) {
      // Outside an operation the reference keeps whatever the last operation resolved it to.
      value.VariableDefinition = varForName(this.currentOperation.VariableDefinitions, value.Raw)
      if (value.VariableDefinition !== null) value.VariableDefinition.Used = true
    }
    if (value.Kind === ValueKind.Object) {
      for (const child of value.Children ?? []) {
        const childValue = must(child.Value, 'ChildValue.Value')
        if (value.Definition !== null) {
          const fieldDef = forName(value.Definition.Fields, child.Name)
          if (fieldDef !== null) {
            childValue.ExpectedType = fieldDef.Type
            childValue.ExpectedTypeHasDefault = hasDefault(fieldDef.DefaultValue)
            childValue.Definition = typeFor(this.schema, typeName(fieldDef.Type))
          }
        }
        this.walkValue(childValue)
      }
    }
    if (value.Kind === ValueKind.List) {
      for (const child of value.Children ?? []) {
        const childValue = must(child.Value, 'ChildValue.Value')
        if (value.ExpectedType !== null && value.ExpectedType.Elem !== null) {
          childValue.ExpectedType = value.ExpectedType.Elem
          childValue.Definition = value.Definition
        }
        this.walkValue(childValue)
      }
    }
    this.fire(this.events.value, value)
  }

  private walkSelectionSet (parent: Definition | null, set: Selection[] | null): void {
    for (const s of set ?? []) this.walkSelection(parent, s)
  }

  private walkSelection (parent: Definition | null, s: Selection): void {
    if (isField(s)) {
      let def: FieldDefinition | null = null
      if (s.Name === '__typename') def = typenameField()
      else if (parent !== null) def = forName(parent.Fields, s.Name)
      s.Definition = def
      s.ObjectDefinition = parent
      const next = def === null ? null : typeFor(this.schema, typeName(def.Type))
      for (const arg of s.Arguments ?? []) this.walkArgument(def === null ? null : forName(def.Arguments, arg.Name), arg)
      this.walkDirectives(next, s.Directives, 'FIELD')
      this.walkSelectionSet(next, s.SelectionSet)
      this.fire(this.events.field, s)
    } else if (isFragmentSpread(s)) {
      const def = forName(this.document.Fragments, s.Name)
      s.Definition = def
      s.ObjectDefinition = parent
      const next = def === null ? null : typeFor(this.schema, def.TypeCondition)
      this.walkDirectives(next, s.Directives, 'FRAGMENT_SPREAD')
      // Each fragment's selections are walked once per top-level definition (cycles end here).
      if (def !== null && !this.spreadsWalked.has(def.Name)) {
        this.spreadsWalked.add(def.Name)
        this.walkSelectionSet(next, def.SelectionSet)
      }
      this.fire(this.events.fragmentSpread, s)
    } else {
      s.ObjectDefinition = parent
      const next = s.TypeCondition !== '' ? typeFor(this.schema, s.TypeCondition) : parent
      this.walkDirectives(next, s.Directives, 'INLINE_FRAGMENT')
      this.walkSelectionSet(next, s.SelectionSet)
      this.fire(this.events.inlineFragment, s)
    }
  }
}

function varForName (list: VariableDefinition[] | null, name: string): VariableDefinition | null {
  for (const v of list ?? []) if (v.Variable === name) return v
  return null
}
