// The library's default rule set, in the order it runs it: validation sorts the rules by name
// (plain byte order) before they register their observers, and observers of one event fire in
// registration order, so errors found at the same node come out in this order.
import type { Rule } from '../rule.js'
import { fieldsOnCorrectType } from './fields-on-correct-type.js'
import { fragmentsOnCompositeTypes } from './fragments-on-composite-types.js'
import { knownArgumentNames } from './known-argument-names.js'
import { knownDirectives } from './known-directives.js'
import { knownFragmentNames } from './known-fragment-names.js'
import { knownRootType } from './known-root-type.js'
import { knownTypeNames } from './known-type-names.js'
import { loneAnonymousOperation } from './lone-anonymous-operation.js'
import { maxIntrospectionDepth } from './max-introspection-depth.js'
import { noFragmentCycles } from './no-fragment-cycles.js'
import { noUndefinedVariables } from './no-undefined-variables.js'
import { noUnusedFragments } from './no-unused-fragments.js'
import { noUnusedVariables } from './no-unused-variables.js'
import { overlappingFieldsCanBeMerged } from './overlapping-fields-can-be-merged.js'
import { possibleFragmentSpreads } from './possible-fragment-spreads.js'
import { providedRequiredArguments } from './provided-required-arguments.js'
import { scalarLeafs } from './scalar-leafs.js'
import { singleFieldSubscriptions } from './single-field-subscriptions.js'
import { uniqueArgumentNames } from './unique-argument-names.js'
import { uniqueDirectivesPerLocation } from './unique-directives-per-location.js'
import { uniqueFragmentNames } from './unique-fragment-names.js'
import { uniqueInputFieldNames } from './unique-input-field-names.js'
import { uniqueOperationNames } from './unique-operation-names.js'
import { uniqueVariableNames } from './unique-variable-names.js'
import { valuesOfCorrectType } from './values-of-correct-type.js'
import { variablesAreInputTypes } from './variables-are-input-types.js'
import { variablesInAllowedPosition } from './variables-in-allowed-position.js'

const DEFAULT_RULES: readonly Rule[] = [
  fieldsOnCorrectType,
  fragmentsOnCompositeTypes,
  knownArgumentNames,
  knownDirectives,
  knownFragmentNames,
  knownRootType,
  knownTypeNames,
  loneAnonymousOperation,
  maxIntrospectionDepth,
  noFragmentCycles,
  noUndefinedVariables,
  noUnusedFragments,
  noUnusedVariables,
  overlappingFieldsCanBeMerged,
  possibleFragmentSpreads,
  providedRequiredArguments,
  scalarLeafs,
  singleFieldSubscriptions,
  uniqueArgumentNames,
  uniqueDirectivesPerLocation,
  uniqueFragmentNames,
  uniqueInputFieldNames,
  uniqueOperationNames,
  uniqueVariableNames,
  valuesOfCorrectType,
  variablesAreInputTypes,
  variablesInAllowedPosition,
]

/** Sorted by name as the library sorts them (names are ASCII, so code-unit order is byte order). */
export const RULES: readonly Rule[] = [...DEFAULT_RULES].sort((a, b) => a.name < b.name ? -1 : a.name > b.name ? 1 : 0)
