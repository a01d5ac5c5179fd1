// Every argument given to a field or directive must be one it declares. Errors point at the
// field or directive, not at the argument.
import { forName } from '../ast.js'
import { quotedOrList, suggestionList } from '../messaging.js'
import type { Rule } from '../rule.js'

export const knownArgumentNames: Rule = {
  name: 'KnownArgumentNames',
  register (events, addError) {
    events.onField((_walker, field) => {
      if (field.Definition === null || field.ObjectDefinition === null) return
      for (const arg of field.Arguments ?? []) {
        if (forName(field.Definition.Arguments, arg.Name) !== null) continue
        const names = (field.Definition.Arguments ?? []).map(a => a.Name)
        addError(`Unknown argument "${arg.Name}" on field "${field.ObjectDefinition.Name}.${field.Name}".` + didYouMean(arg.Name, names), field.Position)
      }
    })
    events.onDirective((_walker, directive) => {
      if (directive.Definition === null) return
      for (const arg of directive.Arguments ?? []) {
        if (forName(directive.Definition.Arguments, arg.Name) !== null) continue
        const names = (directive.Definition.Arguments ?? []).map(a => a.Name)
        addError(`Unknown argument "${arg.Name}" on directive "@${directive.Name}".` + didYouMean(arg.Name, names), directive.Position)
      }
    })
  },
}

/** The library's SuggestListQuoted("Did you mean", ...): nothing when nothing is close. */
export function didYouMean (typed: string, options: readonly string[], prefix = 'Did you mean'): string {
  const suggested = suggestionList(typed, options)
  return suggested.length > 0 ? ` ${prefix} ${quotedOrList(suggested)}?` : ''
}
