// Introspection may not nest its list fields too deep: below any field named `__schema` or
// `__type` (by name alone, wherever it is selected), a chain of three `fields` / `interfaces` /
// `possibleTypes` / `inputFields` selections is reported once, at that field.
//
// The search looks into inline fragments and into spread fragments (through the definition the
// walk resolved for the spread; an unknown fragment is skipped, and a fragment already on the
// current path is not entered again). It runs wherever such a field is met, so a fragment
// holding one is checked both through its spreads and on its own.
import type { Field, Selection } from '../../types.js'
import { isField, isFragmentSpread } from '../../types.js'
import type { Rule } from '../rule.js'

const LIST_FIELDS = new Set(['fields', 'interfaces', 'possibleTypes', 'inputFields'])
const LIMIT = 3

export const maxIntrospectionDepth: Rule = {
  name: 'MaxIntrospectionDepth',
  register (events, addError) {
    events.onField((_walker, field) => {
      if (field.Name !== '__schema' && field.Name !== '__type') return
      if (tooDeep(field, new Set(), 0)) addError('Maximum introspection depth exceeded', field.Position)
    })
  },
}

/** Whether the limit is reached at or under `field`, `depth` list fields having been passed. */
function tooDeep (field: Field, onPath: Set<string>, depth: number): boolean {
  let reached = depth
  if (LIST_FIELDS.has(field.Name)) {
    reached++
    if (reached >= LIMIT) return true
  }
  return anyTooDeep(field.SelectionSet, onPath, reached)
}

function anyTooDeep (set: Selection[] | null, onPath: Set<string>, depth: number): boolean {
  for (const s of set ?? []) {
    if (isField(s)) {
      if (tooDeep(s, onPath, depth)) return true
    } else if (isFragmentSpread(s)) {
      const fragment = s.Definition
      if (onPath.has(s.Name) || fragment === null) continue
      onPath.add(s.Name)
      const found = anyTooDeep(fragment.SelectionSet, onPath, depth)
      onPath.delete(s.Name)
      if (found) return true
    } else if (anyTooDeep(s.SelectionSet, onPath, depth)) {
      return true
    }
  }
  return false
}
