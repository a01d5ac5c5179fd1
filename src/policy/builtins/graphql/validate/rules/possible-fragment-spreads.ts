// A fragment may only be spread where its type and the enclosing type can overlap (share a
// possible object type).
import type { Definition } from '../../types.js'
import { isCompositeType, possibleTypes } from '../ast.js'
import type { Rule } from '../rule.js'
import type { Walker } from '../walker.js'

export const possibleFragmentSpreads: Rule = {
  name: 'PossibleFragmentSpreads',
  register (events, addError) {
    events.onInlineFragment((walker, inline) => {
      const parent = inline.ObjectDefinition
      if (parent === null || overlaps(walker, parent, inline.TypeCondition)) return
      addError(`Fragment cannot be spread here as objects of type "${parent.Name}" can never be of type "${inline.TypeCondition}".`, inline.Position)
    })
    events.onFragmentSpread((walker, spread) => {
      const parent = spread.ObjectDefinition
      if (spread.Definition === null || parent === null) return
      const condition = spread.Definition.TypeCondition
      if (overlaps(walker, parent, condition)) return
      addError(`Fragment "${spread.Name}" cannot be spread here as objects of type "${parent.Name}" can never be of type "${condition}".`, spread.Position)
    })
  },
}

/** True unless both sides are known composite types with no possible type in common. */
function overlaps (walker: Walker, parent: Definition, condition: string): boolean {
  let parents: Definition[]
  switch (parent.Kind) {
    case 'OBJECT': parents = [parent]; break
    case 'INTERFACE': case 'UNION': parents = possibleTypes(walker.schema, parent); break
    default: return true
  }
  const fragmentType = walker.schema.Types.get(condition)
  // An unknown type, and a non-composite one, are other rules' errors.
  if (fragmentType === undefined || !isCompositeType(fragmentType)) return true
  const names = new Set(parents.map(p => p.Name))
  return possibleTypes(walker.schema, fragmentType).some(t => names.has(t.Name))
}
