// Fields of scalar or enum type take no selection set; fields of other types need one.
import { isLeafType, typeName, typeString } from '../ast.js'
import type { Rule } from '../rule.js'

export const scalarLeafs: Rule = {
  name: 'ScalarLeafs',
  register (events, addError) {
    events.onField((walker, field) => {
      if (field.Definition === null) return
      const type = walker.schema.Types.get(typeName(field.Definition.Type))
      if (type === undefined) return
      const selections = (field.SelectionSet ?? []).length
      if (isLeafType(type) && selections > 0) {
        addError(`Field "${field.Name}" must not have a selection since type "${type.Name}" has no subfields.`, field.Position)
      }
      if (!isLeafType(type) && selections === 0) {
        addError(`Field "${field.Name}" of type "${typeString(field.Definition.Type)}" must have a selection of subfields. Did you mean "${field.Name} { ... }"?`, field.Position)
      }
    })
  },
}
