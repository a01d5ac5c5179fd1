// Every variable an operation defines must be used in it (or in a fragment it spreads).
import type { Rule } from '../rule.js'

export const noUnusedVariables: Rule = {
  name: 'NoUnusedVariables',
  register (events, addError) {
    events.onOperation((_walker, op) => {
      for (const v of op.VariableDefinitions ?? []) {
        if (v.Used) continue
        const inOp = op.Name !== '' ? ` in operation "${op.Name}"` : ''
        addError(`Variable "$${v.Variable}" is never used${inOp}.`, v.Position)
      }
    })
  },
}
