// A variable's type must fit where it is used. A nullable variable may fill a non-null spot
// when the variable has a non-null default, or the argument / input field has a default.
import { ValueKind } from '../../types.js'
import { isCompatible, must, typeString, valueString } from '../ast.js'
import type { Rule } from '../rule.js'

export const variablesInAllowedPosition: Rule = {
  name: 'VariablesInAllowedPosition',
  register (events, addError) {
    events.onValue((walker, value) => {
      const expected = value.ExpectedType
      const def = value.VariableDefinition
      if (value.Kind !== ValueKind.Variable || expected === null || def === null || walker.currentOperation === null) return
      let nonNull = expected.NonNull
      if (def.DefaultValue !== null && def.DefaultValue.Kind !== ValueKind.Null) nonNull = false
      if (value.ExpectedTypeHasDefault) nonNull = false
      // A copy of the expected type, loosened at the top only.
      if (isCompatible(must(def.Type, 'VariableDefinition.Type'), { ...expected, NonNull: nonNull })) return
      addError(`Variable "${valueString(value)}" of type "${typeString(def.Type)}" used in position expecting type "${typeString(expected)}".`, value.Position)
    })
  },
}
