// A subscription selects exactly one top-level field (fragments looked through), and not an
// introspection one. Only checked when the schema has a subscription type.
import { goQuote } from '../../../go-quote.js'
import { isField, isFragmentSpread, type Position, type Selection } from '../../types.js'
import type { Rule } from '../rule.js'

export const singleFieldSubscriptions: Rule = {
  name: 'SingleFieldSubscriptions',
  register (events, addError) {
    events.onOperation((walker, op) => {
      if (walker.schema.Subscription === null || op.Operation !== 'subscription') return
      const fields = topFields(op.SelectionSet)
      const name = op.Name !== '' ? `Subscription ${goQuote(op.Name)}` : 'Anonymous Subscription'
      if (fields.length > 1) addError(`${name} must select only one top level field.`, fields[1]!.position)
      for (const f of fields) {
        if (f.name.startsWith('__')) addError(`${name} must not select an introspection top level field.`, f.position)
      }
    })
  },
}

interface TopField { name: string, position: Position | null }

/** The top-level fields by name (first occurrence of each), in document order. */
function topFields (set: Selection[] | null): TopField[] {
  const fields: TopField[] = []
  const spreadSeen = new Set<string>()
  const walk = (selections: Selection[] | null): void => {
    for (const s of selections ?? []) {
      if (isField(s)) {
        fields.push({ name: s.Name, position: s.Position })
      } else if (isFragmentSpread(s)) {
        // The library stops reading this selection set at a spread of an unknown fragment.
        if (s.Definition === null) return
        if (!spreadSeen.has(s.Definition.Name)) {
          spreadSeen.add(s.Definition.Name)
          walk(s.Definition.SelectionSet)
        }
      } else {
        walk(s.SelectionSet)
      }
    }
  }
  walk(set)
  const seen = new Set<string>()
  return fields.filter(f => !seen.has(f.name) && (seen.add(f.name), true))
}
