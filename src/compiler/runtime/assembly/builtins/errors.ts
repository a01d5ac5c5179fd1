// Builtin error reporting. OPA raises builtin errors only in strict mode
// (strict-builtin-errors); otherwise a failing builtin call is simply undefined.

import { Value, typeName } from "../value";
import { abortWith } from "../abi-host";

let strict: bool = false;

/** Set by the interpreter (from the plan / evaluation options). */
export function setStrictBuiltinErrors (on: bool): void { strict = on; }
export function strictBuiltinErrors (): bool { return strict; }

/** `eval_builtin_error: <name>: <msg>` when strict; returns null (undefined) otherwise. */
export function builtinError (name: string, msg: string): Value | null {
  if (strict) abortWith("eval_builtin_error: " + name + ": " + msg);
  return null;
}

/** `eval_type_error: <name>: operand <n> must be <want> but got <got>` (n is 1-based). */
export function typeError (name: string, operand: i32, want: string, got: Value): Value | null {
  if (strict) abortWith("eval_type_error: " + name + ": operand " + operand.toString() + " must be " + want + " but got " + typeName(got));
  return null;
}

/** Type error with a free-form message: `eval_type_error: <name>: <msg>`. */
export function typeErrorMsg (name: string, msg: string): Value | null {
  if (strict) abortWith("eval_type_error: " + name + ": " + msg);
  return null;
}
