// Every variable used in an operation (or a fragment it spreads) must be defined by it.
import { ValueKind } from '../../types.js'
import { valueString } from '../ast.js'
import type { Rule } from '../rule.js'

export const noUndefinedVariables: Rule = {
  name: 'NoUndefinedVariables',
  register (events, addError) {
    events.onValue((walker, value) => {
      const op = walker.currentOperation
      if (op === null || value.Kind !== ValueKind.Variable || value.VariableDefinition !== null) return
      const by = op.Name !== '' ? ` by operation "${op.Name}"` : ''
      addError(`Variable "${valueString(value)}" is not defined${by}.`, value.Position)
    })
  },
}
