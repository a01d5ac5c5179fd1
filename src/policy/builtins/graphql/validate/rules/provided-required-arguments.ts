// A field or directive must be given every non-null argument that has no default. The error
// points at the field or directive.
import type { ArgumentDefinition, Argument } from '../../types.js'
import { typeString } from '../ast.js'
import type { Rule } from '../rule.js'

export const providedRequiredArguments: Rule = {
  name: 'ProvidedRequiredArguments',
  register (events, addError) {
    events.onField((_walker, field) => {
      if (field.Definition === null) return
      for (const def of missing(field.Definition.Arguments, field.Arguments)) {
        addError(`Field "${field.Name}" argument "${def.Name}" of type "${typeString(def.Type)}" is required, but it was not provided.`, field.Position)
      }
    })
    events.onDirective((_walker, directive) => {
      if (directive.Definition === null) return
      for (const def of missing(directive.Definition.Arguments, directive.Arguments)) {
        addError(`Directive "@${directive.Definition.Name}" argument "${def.Name}" of type "${typeString(def.Type)}" is required, but it was not provided.`, directive.Position)
      }
    })
  },
}

function missing (defs: ArgumentDefinition[] | null, given: Argument[] | null): ArgumentDefinition[] {
  return (defs ?? []).filter(d =>
    d.Type !== null && d.Type.NonNull && d.DefaultValue === null && !(given ?? []).some(a => a.Name === d.Name))
}
