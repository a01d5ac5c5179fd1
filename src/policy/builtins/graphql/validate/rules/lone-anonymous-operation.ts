// An operation without a name must be the document's only operation.
import type { Rule } from '../rule.js'

export const loneAnonymousOperation: Rule = {
  name: 'LoneAnonymousOperation',
  register (events, addError) {
    events.onOperation((walker, op) => {
      if (op.Name === '' && (walker.document.Operations ?? []).length > 1) {
        addError('This anonymous operation must be the only defined operation.', op.Position)
      }
    })
  },
}
