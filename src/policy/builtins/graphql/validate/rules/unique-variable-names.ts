// An operation may define each variable once; only the second definition is reported.
import type { Rule } from '../rule.js'

export const uniqueVariableNames: Rule = {
  name: 'UniqueVariableNames',
  register (events, addError) {
    events.onOperation((_walker, op) => {
      const count = new Map<string, number>()
      for (const v of op.VariableDefinitions ?? []) {
        const n = count.get(v.Variable) ?? 0
        if (n === 1) addError(`There can be only one variable named "$${v.Variable}".`, v.Position)
        count.set(v.Variable, n + 1)
      }
    })
  },
}
