// PLACEHOLDER owned by the lead: the plan interpreter. This stub only exists so the ABI layer
// can be built and tested before the evaluator lands. Contract (do not change signatures):
//   planInit(plan)            called once from the start function with the parsed plan JSON
//                             (null when the module carries no plan)
//   entrypointsValue()        object: entrypoint name -> numeric id
//   builtinsValue()           object: host builtin name -> numeric id (ids used with opa_builtinN)
//   evalEntrypoint(ep, data, input)  the entrypoint's value, or null when undefined
import { Value, ObjV, mkInt, mkStr, newObject } from '../value'

let eps: ObjV = newObject()
let bis: ObjV = newObject()

export function planInit (plan: Value | null): void {
  eps = newObject()
  bis = newObject()
  eps.set(mkStr('stub/echo'), mkInt(0))
}

export function entrypointsValue (): Value { return eps }
export function builtinsValue (): Value { return bis }

export function evalEntrypoint (ep: i32, data: Value, input: Value | null): Value | null {
  return input
}
