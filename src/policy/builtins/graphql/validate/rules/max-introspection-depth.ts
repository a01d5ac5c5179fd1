// Introspection may not nest its list fields too deep: below any field named `__schema` or
// `__type` (by name alone, wherever it is selected), a chain of three `fields` / `interfaces` /
// `possibleTypes` / `inputFields` selections is reported once, at that field.
//
// The search looks into inline fragments and into spread fragments (through the definition the
// walk resolved for the spread; an unknown fragment is skipped, and a fragment already on the
// current path is not entered again). It runs wherever such a field is met, so a fragment
// holding one is checked both through its spreads and on its own.
import type { Field, Selection } from '../../types.js'
import { GraphQLLimitError, isField, isFragmentSpread } from '../../types.js'
import type { Rule } from '../rule.js'

const LIST_FIELDS = new Set(['fields', 'interfaces', 'possibleTypes', 'inputFields'])
const LIMIT = 3

/**
 * Bouncer's own limit (the library has none): selections the search may visit for one field. A
 * fragment is entered once per path to it, so fragments that each spread the next twice make
 * the search exponential: 26 of them (2 KB of query) took ~8 s here.
 */
export const MAX_INTROSPECTION_VISITS = 100_000

export const maxIntrospectionDepth: Rule = {
  name: 'MaxIntrospectionDepth',
  register (events, addError) {
    events.onField((_walker, field) => {
      if (field.Name !== '__schema' && field.Name !== '__type') return
      if (tooDeep(field, { onPath: new Set(), visits: 0 }, 0)) addError('Maximum introspection depth exceeded', field.Position)
    })
  },
}

interface Search { readonly onPath: Set<string>; visits: number }

/** Whether the limit is reached at or under `field`, `depth` list fields having been passed. */
function tooDeep (field: Field, search: Search, depth: number): boolean {
  let reached = depth
  if (LIST_FIELDS.has(field.Name)) {
    reached++
    if (reached >= LIMIT) return true
  }
  return anyTooDeep(field.SelectionSet, search, reached)
}

function anyTooDeep (set: Selection[] | null, search: Search, depth: number): boolean {
  for (const s of set ?? []) {
    if (++search.visits > MAX_INTROSPECTION_VISITS) {
      throw new GraphQLLimitError(`more than ${MAX_INTROSPECTION_VISITS} selections to visit for the introspection depth (Bouncer's limit)`)
    }
    if (isField(s)) {
      if (tooDeep(s, search, depth)) return true
    } else if (isFragmentSpread(s)) {
      const fragment = s.Definition
      const { onPath } = search
      if (onPath.has(s.Name) || fragment === null) continue
      onPath.add(s.Name)
      const found = anyTooDeep(fragment.SelectionSet, search, depth)
      onPath.delete(s.Name)
      if (found) return true
    } else if (anyTooDeep(s.SelectionSet, search, depth)) {
      return true
    }
  }
  return false
}
