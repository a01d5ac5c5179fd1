// The schema must have a root type for the operation's kind (a mutation needs a mutation type).
import type { Definition } from '../../types.js'
import { GqlparserPanic } from '../../schema.js'
import type { Rule } from '../rule.js'

export const knownRootType: Rule = {
  name: 'KnownRootType',
  register (events, addError) {
    events.onOperation((walker, op) => {
      let root: Definition | null
      switch (op.Operation) {
        case 'query': case '': root = walker.schema.Query; break
        case 'mutation': root = walker.schema.Mutation; break
        case 'subscription': root = walker.schema.Subscription; break
        default: throw new GqlparserPanic(`got unknown operation type "${op.Operation}"`)
      }
      // No final period, unlike the other messages.
      if (root === null) addError(`Schema does not support operation type "${op.Operation}"`, op.Position)
    })
  },
}
