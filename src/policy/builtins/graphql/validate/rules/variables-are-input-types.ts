// Variables must be of input types (scalar, enum, input object). Unknown types are skipped
// (KnownTypeNames reports them).
import { isInputType, typeString } from '../ast.js'
import type { Rule } from '../rule.js'

export const variablesAreInputTypes: Rule = {
  name: 'VariablesAreInputTypes',
  register (events, addError) {
    events.onOperation((_walker, op) => {
      for (const v of op.VariableDefinitions ?? []) {
        if (v.Definition === null || isInputType(v.Definition)) continue
        addError(`Variable "$${v.Variable}" cannot be non-input type "${typeString(v.Type)}".`, v.Position)
      }
    })
  },
}
