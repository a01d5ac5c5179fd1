// A directive may appear once per location, every repeat reported. The library exempts only a
// directive literally named "repeatable", not directives declared repeatable.
import type { Rule } from '../rule.js'

export const uniqueDirectivesPerLocation: Rule = {
  name: 'UniqueDirectivesPerLocation',
  register (events, addError) {
    events.onDirectiveList((_walker, directives) => {
      const seen = new Set<string>()
      for (const dir of directives) {
        if (dir.Name !== 'repeatable' && seen.has(dir.Name)) {
          addError(`The directive "@${dir.Name}" can only be used once at this location.`, dir.Position)
        }
        seen.add(dir.Name)
      }
    })
  },
}
