// An input object literal may give each field once; every repeat is reported.
import { ValueKind } from '../../types.js'
import type { Rule } from '../rule.js'

export const uniqueInputFieldNames: Rule = {
  name: 'UniqueInputFieldNames',
  register (events, addError) {
    events.onValue((_walker, value) => {
      if (value.Kind !== ValueKind.Object) return
      const seen = new Set<string>()
      for (const child of value.Children ?? []) {
        if (seen.has(child.Name)) addError(`There can be only one input field named "${child.Name}".`, child.Position)
        seen.add(child.Name)
      }
    })
  },
}
