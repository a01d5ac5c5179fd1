// A fragment may not spread itself, directly or through other fragments. Each cycle is reported
// once, at the spread that closes it, naming the fragments in between.
import type { FragmentDefinition, FragmentSpread, Selection } from '../../types.js'
import { isFragmentSpread } from '../../types.js'
import { forName } from '../ast.js'
import type { Rule } from '../rule.js'

export const noFragmentCycles: Rule = {
  name: 'NoFragmentCycles',
  register (events, addError) {
    // Shared by all fragments: a fragment is explored from the first one that reaches it.
    const visited = new Set<string>()
    events.onFragment((walker, start) => {
      const path: FragmentSpread[] = []
      const indexInPath = new Map<string, number>()
      const explore = (fragment: FragmentDefinition): void => {
        if (visited.has(fragment.Name)) return
        visited.add(fragment.Name)
        const spreads = spreadsIn(fragment.SelectionSet)
        if (spreads.length === 0) return
        indexInPath.set(fragment.Name, path.length)
        for (const spread of spreads) {
          const cycleStart = indexInPath.get(spread.Name)
          path.push(spread)
          if (cycleStart === undefined) {
            const next = forName(walker.document.Fragments, spread.Name)
            if (next !== null) explore(next)
          } else {
            const via = path.slice(cycleStart, path.length - 1).map(s => `"${s.Name}"`)
            addError(`Cannot spread fragment "${spread.Name}" within itself${via.length > 0 ? ` via ${via.join(', ')}` : ''}.`, spread.Position)
          }
          path.pop()
        }
        indexInPath.delete(fragment.Name)
      }
      explore(start)
    })
  },
}

/**
 * The spreads in a selection set and the sets nested in it, in the library's order: a set's
 * own spreads first, then its nested sets taken from a stack (the last one found first).
 */
function spreadsIn (set: Selection[] | null): FragmentSpread[] {
  const spreads: FragmentSpread[] = []
  const stack: Array<Selection[] | null> = [set]
  while (stack.length > 0) {
    for (const s of stack.pop() ?? []) {
      if (isFragmentSpread(s)) spreads.push(s)
      else stack.push(s.SelectionSet)
    }
  }
  return spreads
}
