// Variables and type conditions must name types the schema has. Only a fragment definition's
// message suggests names.
import { typeName } from '../ast.js'
import type { Rule } from '../rule.js'
import { didYouMean } from './known-argument-names.js'

export const knownTypeNames: Rule = {
  name: 'KnownTypeNames',
  register (events, addError) {
    events.onVariable((walker, variable) => {
      const name = typeName(variable.Type)
      if (walker.schema.Types.has(name)) return
      addError(`Unknown type "${name}".`, variable.Position)
    })
    events.onInlineFragment((walker, inline) => {
      const name = inline.TypeCondition
      if (name === '' || walker.schema.Types.has(name)) return
      addError(`Unknown type "${name}".`, inline.Position)
    })
    events.onFragment((walker, fragment) => {
      const name = fragment.TypeCondition
      if (walker.schema.Types.has(name)) return
      // The library iterates a Go map here, so equally close suggestions come in no fixed
      // order; the schema's order is used.
      const names = [...walker.schema.Types.values()].map(t => t.Name)
      addError(`Unknown type "${name}".` + didYouMean(name, names), fragment.Position)
    })
  },
}
