// Fragments (inline or named) may only have an object, interface or union as type condition.
import { isCompositeType } from '../ast.js'
import type { Rule } from '../rule.js'

export const fragmentsOnCompositeTypes: Rule = {
  name: 'FragmentsOnCompositeTypes',
  register (events, addError) {
    events.onInlineFragment((walker, inline) => {
      const type = walker.schema.Types.get(inline.TypeCondition)
      if (type === undefined || isCompositeType(type)) return
      addError(`Fragment cannot condition on non composite type "${inline.TypeCondition}".`, inline.Position)
    })
    events.onFragment((_walker, fragment) => {
      if (fragment.Definition === null || fragment.TypeCondition === '' || isCompositeType(fragment.Definition)) return
      addError(`Fragment "${fragment.Name}" cannot condition on non composite type "${fragment.TypeCondition}".`, fragment.Position)
    })
  },
}
