// A field or directive may be given each argument once; the second occurrence is reported
// (later ones are not).
import type { Argument } from '../../types.js'
import type { AddError, Rule } from '../rule.js'

export const uniqueArgumentNames: Rule = {
  name: 'UniqueArgumentNames',
  register (events, addError) {
    events.onField((_walker, field) => { checkUnique(field.Arguments, addError) })
    events.onDirective((_walker, directive) => { checkUnique(directive.Arguments, addError) })
  },
}

function checkUnique (args: Argument[] | null, addError: AddError): void {
  const count = new Map<string, number>()
  for (const arg of args ?? []) {
    const n = count.get(arg.Name) ?? 0
    if (n === 1) addError(`There can be only one argument named "${arg.Name}".`, arg.Position)
    count.set(arg.Name, n + 1)
  }
}
