// Builtin error reporting, OPA style. With strict builtin errors (set by the interpreter
// from the plan) an error aborts evaluation with the OPA message, optionally prefixed with
// the location the interpreter set; otherwise the call is undefined (null) and the message
// is kept for lastBuiltinError().
//   eval_builtin_error: <name>: <msg>
//   eval_type_error: <name>: operand <n> must be <type> but got <type>

import { Value, typeName } from "../value";
import { abortWith } from "../abi-host";

let strict: bool = false;
let location: string = "";
let lastError: string | null = null;

/** Set by the interpreter (from the plan / evaluation options). */
export function setStrictBuiltinErrors (on: bool): void { strict = on; }
export function strictBuiltinErrors (): bool { return strict; }

/** Prefix for strict-mode messages, e.g. "policy.rego:12" (empty: none). */
export function setBuiltinErrorLocation (loc: string): void { location = loc; }

/** The message of the most recent builtin error (strict or not), or null. */
export function lastBuiltinError (): string | null { return lastError; }
export function clearBuiltinError (): void { lastError = null; }

function raise (msg: string): Value | null {
  lastError = msg;
  if (strict) abortWith(location.length > 0 ? location + ": " + msg : msg);
  return null;
}

/** `eval_builtin_error: <name>: <msg>`; returns null (undefined) when not strict. */
export function builtinError (name: string, msg: string): Value | null {
  return raise("eval_builtin_error: " + name + ": " + msg);
}

/** `eval_type_error: <name>: operand <n> must be <want> but got <type of got>` (n is 1-based). */
export function typeError (name: string, operand: i32, want: string, got: Value): Value | null {
  return raise("eval_type_error: " + name + ": operand " + operand.toString() + " must be " + want + " but got " + typeName(got));
}

/** `... operand <n> must be <coll> of <want>s but got <coll> containing <type of elem>`. */
export function elementError (name: string, operand: i32, coll: Value, want: string, elem: Value): Value | null {
  let c = typeName(coll);
  return raise("eval_type_error: " + name + ": operand " + operand.toString() + " must be " + c + " of " + want + "s but got " + c + " containing " + typeName(elem));
}

/** `eval_type_error: <name>: <msg>` for free-form type errors. */
export function typeErrorMsg (name: string, msg: string): Value | null {
  return raise("eval_type_error: " + name + ": " + msg);
}
