// A spread must name a fragment defined in the document.
import type { Rule } from '../rule.js'

export const knownFragmentNames: Rule = {
  name: 'KnownFragmentNames',
  register (events, addError) {
    events.onFragmentSpread((_walker, spread) => {
      if (spread.Definition === null) addError(`Unknown fragment "${spread.Name}".`, spread.Position)
    })
  },
}
