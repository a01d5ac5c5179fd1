// Literal values must fit the type expected where they stand: null only where nullable, the
// built-in scalars by literal kind (custom scalars take anything), enum values by name, input
// objects with their required fields and no unknown ones, and a @oneOf input object with
// exactly one non-null key. Variables are another rule's job (save a nullable one given as the
// key of a @oneOf object).
//
// Kept as the library has it: a literal Go cannot convert (an int past int64, a float past
// float64, or a list/object holding one) is reported first and then checked again as usual,
// so it can be reported twice; a list where a single value is expected is one error, its
// items are not checked.
import { ValueKind, type Definition, type Value } from '../../types.js'
import { forName, isOneOf, must, parsesInt, typeString, valueConverts, valueString } from '../ast.js'
import { orList, suggestionList } from '../messaging.js'
import type { AddError, Rule } from '../rule.js'
import { didYouMean } from './known-argument-names.js'

const INT32_MIN = -(2n ** 31n)
const INT32_MAX = 2n ** 31n - 1n

export const valuesOfCorrectType: Rule = {
  name: 'ValuesOfCorrectType',
  register (events, addError) {
    events.onValue((_walker, value) => {
      const def = value.Definition
      const expected = value.ExpectedType
      if (def === null || expected === null) return
      if (value.Kind === ValueKind.Null && expected.NonNull) {
        addError(`Expected value of type "${typeString(expected)}", found ${valueString(value)}.`, value.Position)
      }
      if (def.Kind === 'SCALAR' && !isOneOf(def, 'Int', 'Float', 'String', 'Boolean', 'ID')) return
      const enumValues = def.Kind === 'ENUM' ? (def.EnumValues ?? []).map(e => e.Name) : []
      if (!valueConverts(value)) unexpectedType(addError, value)

      switch (value.Kind) {
        case ValueKind.Null: case ValueKind.Variable:
          return
        case ValueKind.List:
          if (expected.Elem === null) unexpectedType(addError, value)
          return
        case ValueKind.Int:
          if (!isOneOf(def, 'Int', 'Float', 'ID')) unexpectedType(addError, value)
          return
        case ValueKind.Float:
          if (!isOneOf(def, 'Float')) unexpectedType(addError, value)
          return
        case ValueKind.String: case ValueKind.Block:
          if (def.Kind === 'ENUM') {
            addError(`Enum "${typeString(expected)}" cannot represent non-enum value: ${valueString(value)}.` +
              didYouMean(value.Raw, enumValues, 'Did you mean the enum value'), value.Position)
          } else if (!isOneOf(def, 'String', 'ID')) {
            unexpectedType(addError, value)
          }
          return
        case ValueKind.Enum:
          if (def.Kind !== 'ENUM') {
            // Unquoted suggestions, unlike the others.
            const suggested = suggestionList(value.Raw, enumValues)
            const hint = suggested.length > 0 ? ` Did you mean the enum value ${orList(suggested)}?` : ''
            addError(unexpectedTypeMessage(value) + hint, value.Position)
          } else if (forName(def.EnumValues, value.Raw) === null) {
            addError(`Value "${valueString(value)}" does not exist in "${typeString(expected)}" enum.` +
              didYouMean(value.Raw, enumValues, 'Did you mean the enum value'), value.Position)
          }
          return
        case ValueKind.Boolean:
          if (!isOneOf(def, 'Boolean')) unexpectedType(addError, value)
          return
        case ValueKind.Object: {
          for (const field of def.Fields ?? []) {
            if (field.Type === null || !field.Type.NonNull) continue
            const given = (value.Children ?? []).some(c => c.Name === field.Name)
            if (!given && field.DefaultValue === null) {
              addError(`Field "${def.Name}.${field.Name}" of required type "${typeString(field.Type)}" was not provided.`, value.Position)
            }
          }
          // Once per @oneOf the input type carries.
          for (const dir of def.Directives ?? []) {
            if (dir.Name === 'oneOf') checkOneOf(addError, value, def)
          }
          for (const child of value.Children ?? []) {
            if (forName(def.Fields, child.Name) !== null) continue
            const names = (def.Fields ?? []).map(f => f.Name)
            addError(`Field "${child.Name}" is not defined by type "${def.Name}".` + didYouMean(child.Name, names), child.Position)
          }
        }
      }
    })
  },
}

/**
 * A @oneOf input object literal: exactly one key, not null, and a variable there must be of a
 * non-null type. The null case names the type's first field whichever key was given, as the
 * library does; where the library dereferences something missing (no fields, a variable not
 * resolved to a definition) this throws GqlparserPanic.
 */
function checkOneOf (addError: AddError, value: Value, def: Definition): void {
  const children = value.Children ?? []
  if (children.length !== 1) {
    addError(`OneOf Input Object "${def.Name}" must specify exactly one key.`, value.Position)
    return
  }
  const given = must(children[0]!.Value, 'ChildValue.Value')
  if (given.Kind === ValueKind.Null) {
    const first = must((def.Fields ?? [])[0], 'Definition.Fields[0]')
    addError(`Field "${def.Name}.${first.Name}" must be non-null.`, given.Position)
    return
  }
  if (given.Kind !== ValueKind.Variable) return
  const variable = must(given.VariableDefinition, 'Value.VariableDefinition')
  if (!must(variable.Type, 'VariableDefinition.Type').NonNull) {
    addError(`Variable "${variable.Variable}" must be non-nullable to be used for OneOf Input Object "${def.Name}".`, given.Position)
  }
}

function unexpectedType (addError: AddError, value: Value): void {
  addError(unexpectedTypeMessage(value), value.Position)
}

/** The library's wording per expected type (only these exact spellings; the rest is generic). */
function unexpectedTypeMessage (value: Value): string {
  const shown = valueString(value)
  switch (typeString(value.ExpectedType)) {
    case 'Int': case 'Int!':
      // Out of 32-bit range (and still an integer) gets its own wording; no final period here.
      if (/^[+-]?\d+$/.test(value.Raw) && !parsesInt(value.Raw, INT32_MIN, INT32_MAX)) return `Int cannot represent non 32-bit signed integer value: ${shown}`
      return `Int cannot represent non-integer value: ${shown}`
    case 'String': case 'String!': case '[String]':
      return `String cannot represent a non string value: ${shown}`
    case 'Boolean': case 'Boolean!':
      return `Boolean cannot represent a non boolean value: ${shown}`
    case 'Float': case 'Float!':
      return `Float cannot represent non numeric value: ${shown}`
    case 'ID': case 'ID!':
      return `ID cannot represent a non-string and non-integer value: ${shown}`
    default:
      if (value.Definition?.Kind === 'ENUM') return `Enum "${typeString(value.ExpectedType)}" cannot represent non-enum value: ${shown}.`
      return `Expected value of type "${typeString(value.ExpectedType)}", found ${shown}.`
  }
}
