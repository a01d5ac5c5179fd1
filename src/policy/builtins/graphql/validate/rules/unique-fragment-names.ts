// Fragment names must be unique; every repeat is reported.
import type { Rule } from '../rule.js'

export const uniqueFragmentNames: Rule = {
  name: 'UniqueFragmentNames',
  register (events, addError) {
    const seen = new Set<string>()
    events.onFragment((_walker, fragment) => {
      if (seen.has(fragment.Name)) addError(`There can be only one fragment named "${fragment.Name}".`, fragment.Position)
      seen.add(fragment.Name)
    })
  },
}
