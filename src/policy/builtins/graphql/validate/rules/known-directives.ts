// A directive must be defined and allowed where it is used. A misplaced directive is reported
// once per name and position: a fragment's directives are walked again for each spread.
import { must } from '../ast.js'
import type { Rule } from '../rule.js'

export const knownDirectives: Rule = {
  name: 'KnownDirectives',
  register (events, addError) {
    const reported = new Set<string>()
    events.onDirective((_walker, directive) => {
      if (directive.Definition === null) {
        addError(`Unknown directive "@${directive.Name}".`, directive.Position)
        return
      }
      if ((directive.Definition.Locations ?? []).includes(directive.Location)) return
      const at = must(directive.Position, 'Directive.Position')
      const key = `${directive.Name}\u0000${at.Line}:${at.Column}`
      if (reported.has(key)) return
      addError(`Directive "@${directive.Name}" may not be used on ${directive.Location}.`, directive.Position)
      reported.add(key)
    })
  },
}
