// Operation names must be unique; every repeat is reported. Anonymous operations count as
// named "" here (two of them are also LoneAnonymousOperation's error).
import type { Rule } from '../rule.js'

export const uniqueOperationNames: Rule = {
  name: 'UniqueOperationNames',
  register (events, addError) {
    const seen = new Set<string>()
    events.onOperation((_walker, op) => {
      if (seen.has(op.Name)) addError(`There can be only one operation named "${op.Name}".`, op.Position)
      seen.add(op.Name)
    })
  },
}
