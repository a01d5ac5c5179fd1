// Every rule OPA's copy of the library registers, in its registration order: Go runs the rules
// package's init functions file by file in file-name order, and observers of one event fire in
// that order, so errors found at the same node come out in this order.
import type { Rule } from '../rule.js'
import { fieldsOnCorrectType } from './fields-on-correct-type.js'
import { fragmentsOnCompositeTypes } from './fragments-on-composite-types.js'
import { knownArgumentNames } from './known-argument-names.js'
import { knownDirectives } from './known-directives.js'
import { knownFragmentNames } from './known-fragment-names.js'
import { knownRootType } from './known-root-type.js'
import { knownTypeNames } from './known-type-names.js'
import { loneAnonymousOperation } from './lone-anonymous-operation.js'
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

export const RULES: readonly Rule[] = [
  fieldsOnCorrectType,
  fragmentsOnCompositeTypes,
  knownArgumentNames,
  knownDirectives,
  knownFragmentNames,
  knownRootType,
  knownTypeNames,
  loneAnonymousOperation,
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
