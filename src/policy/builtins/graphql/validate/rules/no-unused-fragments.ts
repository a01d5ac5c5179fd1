// Every fragment must be spread by some operation. Only spreads met while walking operations
// count (operations are walked before fragments, and through the fragments they spread).
import type { Rule } from '../rule.js'

export const noUnusedFragments: Rule = {
  name: 'NoUnusedFragments',
  register (events, addError) {
    let inFragments = false
    const used = new Set<string>()
    events.onFragmentSpread((_walker, spread) => {
      if (!inFragments) used.add(spread.Name)
    })
    events.onFragment((_walker, fragment) => {
      inFragments = true
      if (!used.has(fragment.Name)) addError(`Fragment "${fragment.Name}" is never used.`, fragment.Position)
    })
  },
}
