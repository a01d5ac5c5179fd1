// A field must exist on the type it is selected from; the message suggests the types that do
// have it (when selecting from an interface or union) or else similarly named fields.
import type { Definition } from '../../types.js'
import { forName, isAbstractType, possibleTypes } from '../ast.js'
import { quotedOrList, suggestionList } from '../messaging.js'
import type { Rule } from '../rule.js'
import type { Walker } from '../walker.js'

export const fieldsOnCorrectType: Rule = {
  name: 'FieldsOnCorrectType',
  register (events, addError) {
    events.onField((walker, field) => {
      if (field.ObjectDefinition === null || field.Definition !== null) return
      const parent = field.ObjectDefinition
      let message = `Cannot query field "${field.Name}" on type "${parent.Name}".`
      const types = suggestedTypeNames(walker, parent, field.Name)
      if (types.length > 0) {
        message += ` Did you mean to use an inline fragment on ${quotedOrList(types)}?`
      } else {
        const fields = suggestedFieldNames(parent, field.Name)
        if (fields.length > 0) message += ` Did you mean ${quotedOrList(fields)}?`
      }
      addError(message, field.Position)
    })
  },
}

/**
 * For an abstract type: the interfaces (of its possible types) and the possible types that
 * have the field, the most used interfaces first, then by name.
 */
function suggestedTypeNames (walker: Walker, parent: Definition, name: string): string[] {
  if (!isAbstractType(parent)) return []
  const objects: string[] = []
  const interfaces: string[] = []
  const usage = new Map<string, number>()
  for (const possible of possibleTypes(walker.schema, parent)) {
    if (forName(possible.Fields, name) === null) continue
    objects.push(possible.Name)
    for (const iface of possible.Interfaces ?? []) {
      const def = walker.schema.Types.get(iface)
      if (def === undefined || forName(def.Fields, name) === null) continue
      if (!usage.has(iface)) interfaces.push(iface)
      usage.set(iface, (usage.get(iface) ?? 0) + 1)
    }
  }
  const count = (n: string): number => usage.get(n) ?? 0
  // A stable sort, as the library's: usage descending, then byte order of the names.
  return [...interfaces, ...objects].sort((a, b) => count(b) - count(a) || byteCompare(a, b))
}

function suggestedFieldNames (parent: Definition, name: string): string[] {
  if (parent.Kind !== 'OBJECT' && parent.Kind !== 'INTERFACE') return []
  return suggestionList(name, (parent.Fields ?? []).map(f => f.Name))
}

/** Go's strings.Compare (UTF-8 byte order; the same as code point order). */
function byteCompare (a: string, b: string): number {
  const x = [...a].map(c => c.codePointAt(0)!)
  const y = [...b].map(c => c.codePointAt(0)!)
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i]! - y[i]!
  return x.length - y.length
}
